//! The return on a year of Early Help for each partner, from earlyhelp's own outcomes.
//!
//! A scenario says which of the year's outcome counts to value (a [`Source`]), how many units
//! of a unit value each outcome stands for (with the evidence for it), at which unit value
//! from the library, with what deadweight, attribution, optimism bias and drop-off, and what
//! each partner spent that year. [`build`] turns it into a model for `engines/cba`: the year's
//! costs in year 0, and the year's outcomes counted in every year they last, fading by their
//! drop-off. Pure: counts, library and scenario in; a model out.

use crate::measures::RowError;
use earlyhelp_cba::{Benefit, Cost, Input, Kind, Model, Range};
use serde::{Deserialize, Serialize};

choices!(
    /// An outcome count earlyhelp takes from its own records, for a twelve-month period.
    Source {
        FamiliesNeedsMet => ("families_needs_met", "Families whose case closed with their needs met"),
        ChildrenNeedsMet => ("children_needs_met", "Children in families whose case closed with their needs met"),
        SenSupportNeedsMet => ("sen_support_needs_met", "Children on SEN support in families whose case closed with their needs met"),
        SupportingFamiliesOutcomes => ("supporting_families_outcomes", "Supporting Families outcomes achieved"),
        StepDowns => ("step_downs", "Families stepped down from children's social care to early help"),
        ConnectionsNeedMet => ("connections_need_met", "Connections to community support completed with the need met"),
    }
);

/// One value in the unit value library: what one unit of an outcome is worth, to whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitValue {
    pub code: String,
    pub description: String,
    pub agency: String,
    /// `fiscal`, `economic` or `social`.
    pub kind: String,
    pub cashable: bool,
    pub unit: String,
    /// Pounds, in `price_year`'s prices.
    pub value: f64,
    pub price_year: i32,
    pub source: String,
}

/// The columns of a unit value library file, in order.
pub const UNIT_VALUE_COLUMNS: [&str; 9] = [
    "code",
    "description",
    "agency",
    "kind",
    "cashable",
    "unit",
    "value",
    "price_year",
    "source",
];

/// The only values earlyhelp ships: the seed business case's own figures, with their source.
/// Others (the GMCA unit cost database, say) are loaded by whoever holds them.
pub const SHIPPED_UNIT_VALUES: &str = include_str!("../data/unit_values.csv");

fn kind_of(kind: &str) -> Option<Kind> {
    match kind {
        "fiscal" => Some(Kind::Fiscal),
        "economic" => Some(Kind::Economic),
        "social" => Some(Kind::Social),
        _ => None,
    }
}

/// Reads a unit value library in CSV: every problem by row and field, or every value.
pub fn read_unit_values(text: &str) -> Result<Vec<UnitValue>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(_) => return Err(vec![RowError::new(0, "file", "The file is not CSV")]),
    };
    if header != UNIT_VALUE_COLUMNS {
        return Err(vec![RowError::new(
            0,
            "file",
            format!(
                "The first row must be the columns {}",
                UNIT_VALUE_COLUMNS.join(",")
            ),
        )]);
    }
    let mut values: Vec<UnitValue> = Vec::new();
    let mut problems = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 1;
        let Ok(record) = record else {
            problems.push(RowError::new(row, "file", "This row is not valid CSV"));
            continue;
        };
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let before = problems.len();
        let code = field(0);
        if code.is_empty() || code.len() > 64 {
            problems.push(RowError::new(
                row,
                "code",
                "Enter a code of up to 64 characters",
            ));
        } else if values.iter().any(|v| v.code == code) {
            problems.push(RowError::new(
                row,
                "code",
                "This code is already in the file",
            ));
        }
        for (i, name) in [
            (1, "description"),
            (2, "agency"),
            (5, "unit"),
            (8, "source"),
        ] {
            if field(i).is_empty() || field(i).chars().count() > 500 {
                problems.push(RowError::new(row, name, "Enter up to 500 characters"));
            }
        }
        if kind_of(&field(3)).is_none() {
            problems.push(RowError::new(
                row,
                "kind",
                "Enter fiscal, economic or social",
            ));
        }
        let cashable = match field(4).to_lowercase().as_str() {
            "yes" | "true" => Some(true),
            "no" | "false" => Some(false),
            _ => None,
        };
        if cashable.is_none() {
            problems.push(RowError::new(row, "cashable", "Enter yes or no"));
        }
        let value = field(6).replace([',', '£'], "").parse::<f64>().ok();
        if !value.is_some_and(|v| v.is_finite() && v >= 0.0) {
            problems.push(RowError::new(
                row,
                "value",
                "Enter an amount in pounds, 0 or more",
            ));
        }
        let price_year = field(7).parse::<i32>().ok();
        if price_year.is_none_or(|y| earlyhelp_cba::deflator(y).is_none()) {
            problems.push(RowError::new(
                row,
                "price_year",
                "Enter a year the GDP deflator table covers",
            ));
        }
        if problems.len() == before {
            values.push(UnitValue {
                code,
                description: field(1),
                agency: field(2),
                kind: field(3),
                cashable: cashable.unwrap_or_default(),
                unit: field(5),
                value: value.unwrap_or_default(),
                price_year: price_year.unwrap_or_default(),
                source: field(8),
            });
        }
    }
    if values.is_empty() && problems.is_empty() {
        problems.push(RowError::new(0, "file", "The file has no unit values"));
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// What one partner spent on Early Help in the year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioCost {
    pub name: String,
    pub agency: String,
    /// Pounds in the scenario's price year.
    pub annual: f64,
    pub optimism_bias: f64,
}

/// One valued outcome: a count, how many units of a unit value each stands for, and how much
/// of it Early Help can claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioLine {
    pub name: String,
    pub source: Source,
    /// Units of the unit value one counted outcome stands for (a placement-year avoided per
    /// child, say), and the evidence for that figure.
    pub per_outcome: f64,
    pub evidence: String,
    /// The code of a value in the library.
    pub unit_value: String,
    pub deadweight: f64,
    pub deadweight_range: [f64; 2],
    pub attribution: f64,
    pub attribution_range: [f64; 2],
    pub optimism_bias: f64,
    pub drop_off: f64,
    /// The count to use instead of the one from the records, for a what-if.
    pub count_override: Option<f64>,
}

/// A saved set of assumptions: the costs and the valued outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    /// The year the costs fall in (year 0).
    pub first_year: i32,
    /// Every value is reported in this year's prices: a year the GDP deflator table covers.
    pub price_year: i32,
    /// How many years the outcomes are counted for, year 0 included.
    pub years: usize,
    /// A constant rate; none for the Green Book schedule (3.5% to year 30, then lower).
    pub discount_rate: Option<f64>,
    pub costs: Vec<ScenarioCost>,
    pub lines: Vec<ScenarioLine>,
}

/// The latest year of HM Treasury's GDP deflator table we ship: the baseline's price year.
pub const LATEST_PRICE_YEAR: i32 = 2024;

/// The seed business case's assumptions for a demo city a tenth of the city's size; every
/// figure names where it comes from, so a board can challenge it.
pub fn baseline(first_year: i32) -> Scenario {
    let line = |name: &str, source, per_outcome, evidence: &str, unit_value: &str| ScenarioLine {
        name: name.into(),
        source,
        per_outcome,
        evidence: evidence.into(),
        unit_value: unit_value.into(),
        deadweight: 0.2,
        deadweight_range: [0.1, 0.35],
        attribution: 0.5,
        attribution_range: [0.3, 0.7],
        optimism_bias: 0.2,
        drop_off: 0.3,
        count_override: None,
    };
    let cost = |name: &str, agency: &str, annual| ScenarioCost {
        name: name.into(),
        agency: agency.into(),
        annual,
        optimism_bias: 0.0,
    };
    Scenario {
        name: "Baseline: the business case's assumptions".into(),
        first_year,
        price_year: LATEST_PRICE_YEAR,
        years: 5,
        discount_rate: Some(0.035),
        costs: vec![
            cost(
                "Locality early help teams (a tenth of the 2021/22 £2.83m)",
                "Birmingham Children's Trust",
                283_000.0,
            ),
            cost(
                "VCS locality leads (a tenth of the 2020 £0.7m)",
                "Birmingham City Council",
                70_000.0,
            ),
            cost(
                "Mental health and wellbeing (a tenth of the 2021/22 £0.943m)",
                "NHS Birmingham and Solihull",
                94_300.0,
            ),
        ],
        lines: vec![
            line(
                "Children kept out of care",
                Source::ChildrenNeedsMet,
                0.008,
                "Supporting Families national evaluation: 1.7% of children looked after against 2.5% in the comparison group",
                "placement_year",
            ),
            line(
                "EHC plans not needed",
                Source::SenSupportNeedsMet,
                0.025,
                "Seed 003: a conservative 2.5% reduction in SEND demand",
                "ehcp_year",
            ),
        ],
    }
}

/// A problem with a scenario, named by its form field (`line-0-deadweight`, `cost-1-annual`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A scenario's outcome line as built: the count it used and what it is worth a year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuiltLine {
    pub name: String,
    pub source: Source,
    /// The count from the records, or the override.
    pub count: f64,
    pub overridden: bool,
    /// Units a year: count × per outcome.
    pub units: f64,
    pub unit_value: UnitValue,
}

/// Checks a scenario: every problem named by its form field (`line-N-field`, `cost-N-field`).
pub fn check(scenario: &Scenario) -> Vec<Problem> {
    let mut errors = Vec::new();
    let share = |v: f64| (0.0..=1.0).contains(&v);
    if scenario.name.trim().is_empty() || scenario.name.chars().count() > 200 {
        errors.push(Problem::new("name", "Enter a name of up to 200 characters"));
    }
    if !(1..=60).contains(&scenario.years) {
        errors.push(Problem::new("years", "Enter from 1 to 60 years"));
    }
    if !(2000..=2100).contains(&scenario.first_year) {
        errors.push(Problem::new("first_year", "Enter a year from 2000 to 2100"));
    }
    if earlyhelp_cba::deflator(scenario.price_year).is_none() {
        errors.push(Problem::new(
            "price_year",
            "Enter a year the GDP deflator table covers",
        ));
    }
    if scenario
        .discount_rate
        .is_some_and(|r| !(0.0..=0.2).contains(&r))
    {
        errors.push(Problem::new(
            "discount_rate",
            "Enter a rate from 0% to 20%, or leave it empty for the Green Book schedule",
        ));
    }
    for (i, cost) in scenario.costs.iter().enumerate() {
        if !(cost.annual.is_finite() && cost.annual >= 0.0) {
            errors.push(Problem::new(
                format!("cost-{i}-annual"),
                "Enter an amount in pounds, 0 or more",
            ));
        }
        if !(0.0..=2.0).contains(&cost.optimism_bias) {
            errors.push(Problem::new(
                format!("cost-{i}-optimism_bias"),
                "Enter from 0% to 200%",
            ));
        }
    }
    for (i, line) in scenario.lines.iter().enumerate() {
        let mut need = |ok: bool, field: &str, message: &str| {
            if !ok {
                errors.push(Problem::new(format!("line-{i}-{field}"), message));
            }
        };
        need(
            line.per_outcome.is_finite() && line.per_outcome >= 0.0,
            "per_outcome",
            "Enter 0 or more",
        );
        for (value, field) in [
            (line.deadweight, "deadweight"),
            (line.attribution, "attribution"),
            (line.optimism_bias, "optimism_bias"),
            (line.drop_off, "drop_off"),
        ] {
            need(share(value), field, "Enter a percentage from 0 to 100");
        }
        for (value, [low, high], field) in [
            (line.deadweight, line.deadweight_range, "deadweight_range"),
            (
                line.attribution,
                line.attribution_range,
                "attribution_range",
            ),
        ] {
            need(
                share(low) && share(high) && low <= value && value <= high,
                field,
                "Enter a low and a high from 0 to 100 either side of the value",
            );
        }
        need(
            line.count_override
                .is_none_or(|c| c.is_finite() && c >= 0.0),
            "count_override",
            "Enter a count of 0 or more, or leave it empty to use the records",
        );
    }
    errors
}

/// The model for `engines/cba`, and each outcome line as built. `count` gives the records'
/// count for a source. A line whose unit value is not in the library is refused by name.
pub fn build(
    scenario: &Scenario,
    count: impl Fn(Source) -> f64,
    library: &[UnitValue],
) -> Result<(Model, Vec<BuiltLine>), Vec<Problem>> {
    let mut errors = check(scenario);
    let years = scenario.years.clamp(1, 60);
    let costs = scenario
        .costs
        .iter()
        .map(|c| Cost {
            name: c.name.clone(),
            agency: c.agency.clone(),
            values: std::iter::once(c.annual)
                .chain(std::iter::repeat(0.0))
                .take(years)
                .collect(),
            optimism_bias: c.optimism_bias,
        })
        .collect();
    let mut benefits = Vec::new();
    let mut built = Vec::new();
    for (i, line) in scenario.lines.iter().enumerate() {
        let Some(value) = library.iter().find(|v| v.code == line.unit_value) else {
            errors.push(Problem::new(
                format!("line-{i}-unit_value"),
                format!(
                    "{}: no unit value '{}' in the library",
                    line.name, line.unit_value
                ),
            ));
            continue;
        };
        let counted = line.count_override.unwrap_or_else(|| count(line.source));
        let units = counted * line.per_outcome;
        benefits.push(Benefit {
            name: line.name.clone(),
            agency: value.agency.clone(),
            kind: kind_of(&value.kind).unwrap_or(Kind::Fiscal),
            cashable: value.cashable,
            unit_value: value.value,
            unit_value_year: value.price_year,
            volumes: vec![units; years],
            deadweight: line.deadweight,
            attribution: line.attribution,
            optimism_bias: line.optimism_bias,
            drop_off: line.drop_off,
        });
        built.push(BuiltLine {
            name: line.name.clone(),
            source: line.source,
            count: counted,
            overridden: line.count_override.is_some(),
            units,
            unit_value: value.clone(),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let model = Model {
        name: scenario.name.clone(),
        price_year: scenario.price_year,
        first_year: scenario.first_year,
        years,
        discount_rate: scenario.discount_rate,
        costs,
        benefits,
    };
    Ok((model, built))
}

/// The uncertain inputs of each built line: deadweight and attribution between the scenario's
/// low and high, and the count from 20% under to 20% over.
pub fn ranges(scenario: &Scenario) -> Vec<Range> {
    scenario
        .lines
        .iter()
        .enumerate()
        .flat_map(|(benefit, line)| {
            [
                (Input::Deadweight, line.deadweight_range),
                (Input::Attribution, line.attribution_range),
                (Input::Volume, [0.8, 1.2]),
            ]
            .map(|(input, [low, high])| Range {
                benefit,
                input,
                low,
                high,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use earlyhelp_cba::appraise;

    fn library() -> Vec<UnitValue> {
        read_unit_values(SHIPPED_UNIT_VALUES).expect("the shipped library reads")
    }

    #[test]
    fn the_shipped_library_holds_only_the_seeds_figures() {
        let values = library();
        let placement = values.iter().find(|v| v.code == "placement_year").unwrap();
        assert_eq!(placement.value, 843.0 * 52.0, "£843 a week");
        assert!(values.iter().all(|v| v.source.contains("Seed 003")));
    }

    #[test]
    fn a_bad_library_is_refused_by_row_and_field() {
        let wrong_header = read_unit_values("code,value\nx,1\n").unwrap_err();
        assert_eq!((wrong_header[0].row, wrong_header[0].field), (0, "file"));
        let text = format!(
            "{}\nx,A thing,Council,fiscal,yes,each,10,2021,me\nx,Again,Council,moral,maybe,each,-1,1700,me\n",
            UNIT_VALUE_COLUMNS.join(",")
        );
        let problems = read_unit_values(&text).unwrap_err();
        let named: Vec<(usize, &str)> = problems.iter().map(|p| (p.row, p.field)).collect();
        assert_eq!(
            named,
            [
                (2, "code"),
                (2, "kind"),
                (2, "cashable"),
                (2, "value"),
                (2, "price_year")
            ]
        );
    }

    #[test]
    fn a_scenario_becomes_a_model_of_one_years_costs_and_lasting_outcomes() {
        let scenario = baseline(2025);
        let (model, built) = build(&scenario, |_| 1000.0, &library()).unwrap();
        assert_eq!((model.years, model.price_year), (5, LATEST_PRICE_YEAR));
        assert!(
            earlyhelp_cba::deflator(LATEST_PRICE_YEAR + 1).is_none(),
            "the latest"
        );
        assert_eq!(model.costs[0].values, [283_000.0, 0.0, 0.0, 0.0, 0.0]);
        let children = &model.benefits[0];
        assert_eq!(children.volumes, [8.0; 5], "1000 children × 0.008");
        assert_eq!(children.agency, "Birmingham Children's Trust");
        assert_eq!(built[0].units, 8.0);
        // The engine reads back what the page shows.
        let reread = earlyhelp_cba::parse(&earlyhelp_cba::to_toml(&model)).unwrap();
        assert_eq!(appraise(&reread), appraise(&model));
    }

    #[test]
    fn more_deadweight_means_less_return_for_the_partner_that_gains() {
        let mut scenario = baseline(2025);
        let roi = |s: &Scenario| {
            let (model, _) = build(s, |_| 1000.0, &library()).unwrap();
            appraise(&model)
                .by_agency
                .into_iter()
                .find(|a| a.agency == "Birmingham Children's Trust")
                .and_then(|a| a.fiscal_roi)
                .unwrap()
        };
        let before = roi(&scenario);
        scenario.lines[0].deadweight = 0.3;
        let after = roi(&scenario);
        assert!(
            (after / before - 0.7 / 0.8).abs() < 1e-12,
            "{before} -> {after}"
        );
    }

    #[test]
    fn an_override_replaces_the_count_and_a_missing_value_is_named() {
        let mut scenario = baseline(2025);
        scenario.lines[1].count_override = Some(40.0);
        let (_, built) = build(&scenario, |_| 1000.0, &library()).unwrap();
        assert!(built[1].overridden && built[1].count == 40.0);
        scenario.lines[0].unit_value = "nothing".into();
        scenario.lines[0].deadweight = 1.5;
        let errors = build(&scenario, |_| 1.0, &library()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"line-0-unit_value"), "{fields:?}");
        assert!(fields.contains(&"line-0-deadweight"), "{fields:?}");
    }

    #[test]
    fn each_line_is_uncertain_in_deadweight_attribution_and_count() {
        let scenario = baseline(2025);
        let ranges = ranges(&scenario);
        assert_eq!(ranges.len(), 3 * scenario.lines.len());
        assert!(ranges.iter().all(|r| r.low <= r.high));
    }
}

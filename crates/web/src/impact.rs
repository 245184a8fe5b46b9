//! The return on Early Help for each partner, for commissioners and the partnership board: a
//! saved scenario values the last twelve months' outcomes from the records at the unit value
//! library's values and sets them against what each partner spent (`earlyhelp_domain::impact`),
//! and `engines/cba` appraises it: return by partner, NPV, BCR and payback, a tornado of the
//! uncertain inputs and a Monte Carlo of the chance each partner gets back more than it spends.
//! Aggregates only. CSV and the model as TOML beside it, so any figure reruns with `earlyhelp cba`.

use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, Multipart, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use earlyhelp_cba::{Appraisal, Chances, Input, Model, Swing, appraise, monte_carlo, tornado};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::impact::{
    BuiltLine, Problem, Scenario, Source, UnitValue, baseline, build, ranges, read_unit_values,
};
use earlyhelp_domain::measures::RowError;
use earlyhelp_storage::gate::{Authorised, Request, authorise, authorise_read};
use earlyhelp_storage::impact::{self as store, Period};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

pub fn routes() -> Routes {
    Routes::new()
        .route("/impact", get(page))
        .route("/impact.csv", get(csv_download))
        .route("/impact/model.toml", get(toml_download))
        .route("/impact/compare", get(compare))
        .long_form("/impact/edit", get(edit_page).post(save))
        .upload(
            "/impact/unit-values",
            get(unit_values_page).post(load_unit_values),
        )
}

/// Draws of the Monte Carlo on the page, and its seed: the same page gives the same answer.
const DRAWS: usize = 5_000;
const SEED: u64 = 2026;
const YEAR_MICROS: i64 = 365 * 86_400_000_000;

/// The last twelve months, to now.
fn last_year() -> Period {
    let to_micros = earlyhelp_storage::now_micros();
    let today = earlyhelp_storage::cases::today();
    let iso = earlyhelp_domain::cases::iso;
    Period {
        from_micros: to_micros - YEAR_MICROS,
        to_micros,
        from_date: iso(today - time::Duration::days(365)),
        to_date: iso(today + time::Duration::days(1)),
    }
}

async fn open(
    state: &AppState,
    signed: &Signed,
    action: Action,
    purpose: &str,
) -> Result<Authorised, AppError> {
    let request = Request {
        action,
        resource: Resource::Impact,
        subject: "impact",
        purpose,
    };
    Ok(match action {
        Action::List | Action::Read => authorise_read(&state.db, &signed.who(), request).await?,
        _ => authorise(&state.db, &signed.who(), request).await?,
    })
}

/// A scenario appraised on the records' counts.
struct Appraised {
    id: Option<Uuid>,
    scenario: Scenario,
    scenarios: Vec<(Uuid, Scenario)>,
    counts: Vec<(Source, f64)>,
    library: Vec<UnitValue>,
    /// The model and its lines, or why the scenario cannot be built.
    built: Result<(Model, Vec<BuiltLine>), Vec<Problem>>,
}

impl Appraised {
    fn count(&self, source: Source) -> f64 {
        self.counts
            .iter()
            .find(|(s, _)| *s == source)
            .map_or(0.0, |(_, n)| *n)
    }
}

/// The saved scenario `chosen` (else the first saved, else the baseline, unsaved), its counts
/// and library, through the gate as aggregates.
async fn appraised(
    state: &AppState,
    signed: &Signed,
    chosen: &str,
    purpose: &str,
) -> Result<Appraised, AppError> {
    let mut authorised = open(state, signed, Action::Read, purpose).await?;
    let scenarios = store::scenarios(&mut authorised).await?;
    let counts = store::counts(&mut authorised, &last_year()).await?;
    let library = store::unit_values(&mut authorised).await?;
    authorised.tx.commit().await?;
    let wanted = Uuid::parse_str(chosen.trim()).ok();
    let (id, scenario) = match scenarios
        .iter()
        .find(|(id, _)| Some(*id) == wanted)
        .or(scenarios.first())
    {
        Some((id, s)) => (Some(*id), s.clone()),
        None => (None, baseline(earlyhelp_storage::cases::today().year())),
    };
    let mut appraised = Appraised {
        id,
        scenario,
        scenarios,
        counts,
        library,
        built: Err(Vec::new()),
    };
    appraised.built = build(
        &appraised.scenario,
        |s| appraised.count(s),
        &appraised.library,
    );
    Ok(appraised)
}

#[derive(Deserialize, Default)]
struct Chosen {
    #[serde(default)]
    scenario: String,
}

/// Pounds, whole, with thousands separated.
fn pounds(value: f64) -> String {
    let sign = if value < -0.5 { "-" } else { "" };
    let whole = earlyhelp_domain::limits::thousands(value.abs().round() as usize);
    format!("{sign}£{whole}")
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// The return per pound, or a dash where there is nothing to divide by.
fn per_pound(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("£{v:.2}"))
}

/// Benefits over costs, or a dash without costs.
fn ratio(bcr: Option<f64>) -> String {
    bcr.map_or("–".into(), |r| format!("{r:.2}"))
}

/// One partner's row: what it spent, what it gets back, and how sure that is.
struct PartnerRow {
    agency: String,
    spent: String,
    fiscal: String,
    cashable: String,
    non_cashable: String,
    roi: String,
    chance: String,
    /// The bar's length on the chart, in the chart's units (0 to 100).
    bar: f64,
}

struct LineRow {
    name: String,
    source: String,
    count: String,
    overridden: bool,
    per_outcome: String,
    evidence: String,
    units: String,
    unit_value: String,
    unit_source: String,
    agency: String,
    deadweight: String,
    attribution: String,
    optimism_bias: String,
    drop_off: String,
}

/// One bar of the tornado, placed on a 0-100 scale with the scenario's NPV at `base`.
struct TornadoRow {
    label: String,
    at_low: String,
    at_high: String,
    from: f64,
    width: f64,
}

#[derive(Template)]
#[template(path = "impact.html")]
struct ImpactPage {
    layout: Layout,
    scenarios: Vec<SelectOption>,
    id: String,
    name: String,
    period: String,
    price_year: i32,
    discounting: String,
    years: usize,
    problems: Vec<Problem>,
    headline: Vec<(&'static str, String)>,
    partners: Vec<PartnerRow>,
    /// Where £1 back for £1 spent falls on the chart (0-100).
    break_even: f64,
    lines: Vec<LineRow>,
    tornado: Vec<TornadoRow>,
    tornado_base: f64,
    draws: usize,
    chance_overall: String,
    unvalued: Vec<(String, String)>,
    may_change: bool,
}

fn period_words() -> String {
    let p = last_year();
    format!("{} to {}", p.from_date, earlyhelp_storage::cases::today())
}

fn partner_rows(appraisal: &Appraisal, chances: &Chances) -> (Vec<PartnerRow>, f64) {
    let top = appraisal
        .by_agency
        .iter()
        .filter_map(|a| a.fiscal_roi)
        .fold(1.0_f64, f64::max)
        * 1.1;
    let rows = appraisal
        .by_agency
        .iter()
        .map(|a| PartnerRow {
            agency: a.agency.clone(),
            spent: pounds(a.pv_costs),
            fiscal: pounds(a.pv_fiscal_benefits),
            cashable: pounds(a.pv_cashable_benefits),
            non_cashable: pounds(a.pv_benefits - a.pv_cashable_benefits),
            roi: per_pound(a.fiscal_roi),
            chance: chances
                .by_agency
                .iter()
                .find(|(agency, _)| *agency == a.agency)
                .map_or("–".into(), |(_, share)| percent(*share)),
            bar: a.fiscal_roi.map_or(0.0, |roi| roi / top * 100.0),
        })
        .collect();
    (rows, 100.0 / top)
}

fn line_rows(scenario: &Scenario, built: &[BuiltLine]) -> Vec<LineRow> {
    scenario
        .lines
        .iter()
        .zip(built)
        .map(|(line, b)| LineRow {
            name: line.name.clone(),
            source: line.source.label().into(),
            count: format!("{:.0}", b.count),
            overridden: b.overridden,
            per_outcome: format!("{}", line.per_outcome),
            evidence: line.evidence.clone(),
            units: format!("{:.1}", b.units),
            unit_value: format!(
                "{} a {} ({} prices)",
                pounds(b.unit_value.value),
                b.unit_value.unit,
                b.unit_value.price_year
            ),
            unit_source: b.unit_value.source.clone(),
            agency: b.unit_value.agency.clone(),
            deadweight: format!(
                "{} ({}–{})",
                percent(line.deadweight),
                percent(line.deadweight_range[0]),
                percent(line.deadweight_range[1])
            ),
            attribution: format!(
                "{} ({}–{})",
                percent(line.attribution),
                percent(line.attribution_range[0]),
                percent(line.attribution_range[1])
            ),
            optimism_bias: percent(line.optimism_bias),
            drop_off: percent(line.drop_off),
        })
        .collect()
}

fn tornado_rows(model: &Model, swings: &[Swing], base: f64) -> (Vec<TornadoRow>, f64) {
    let lowest = swings
        .iter()
        .map(|s| s.npv_at_low.min(s.npv_at_high))
        .fold(base, f64::min);
    let highest = swings
        .iter()
        .map(|s| s.npv_at_low.max(s.npv_at_high))
        .fold(base, f64::max);
    let span = (highest - lowest).max(1.0);
    let at = |v: f64| (v - lowest) / span * 100.0;
    let rows = swings
        .iter()
        .map(|s| {
            let line = &model.benefits[s.range.benefit].name;
            let what = match s.range.input {
                Input::Volume => "count 20% under to 20% over".to_string(),
                input => format!(
                    "{} {}–{}",
                    input.label(),
                    percent(s.range.low),
                    percent(s.range.high)
                ),
            };
            let (a, b) = (at(s.npv_at_low), at(s.npv_at_high));
            TornadoRow {
                label: format!("{line}: {what}"),
                at_low: pounds(s.npv_at_low),
                at_high: pounds(s.npv_at_high),
                from: a.min(b),
                width: (a - b).abs(),
            }
        })
        .collect();
    (rows, at(base))
}

fn scenario_options(appraised: &Appraised) -> Vec<SelectOption> {
    if appraised.scenarios.is_empty() {
        return vec![SelectOption::new("", &appraised.scenario.name, true)];
    }
    appraised
        .scenarios
        .iter()
        .map(|(id, s)| SelectOption::new(id.to_string(), &s.name, Some(*id) == appraised.id))
        .collect()
}

async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(chosen): Query<Chosen>,
) -> Result<Html<String>, AppError> {
    let appraised = appraised(&state, &signed, &chosen.scenario, "impact").await?;
    let scenario = &appraised.scenario;
    let valued: Vec<Source> = scenario.lines.iter().map(|l| l.source).collect();
    let unvalued = Source::ALL
        .iter()
        .filter(|s| !valued.contains(s))
        .map(|s| (s.label().to_string(), format!("{:.0}", appraised.count(*s))))
        .collect();
    let mut page = ImpactPage {
        layout: Layout::for_user(&signed, "/impact"),
        scenarios: scenario_options(&appraised),
        id: appraised.id.map(|id| id.to_string()).unwrap_or_default(),
        name: scenario.name.clone(),
        period: period_words(),
        price_year: scenario.price_year,
        discounting: scenario
            .discount_rate
            .map_or("the Green Book schedule (3.5% to year 30)".into(), |r| {
                format!("{:.1}% a year", r * 100.0)
            }),
        years: scenario.years,
        problems: Vec::new(),
        headline: Vec::new(),
        partners: Vec::new(),
        break_even: 0.0,
        lines: Vec::new(),
        tornado: Vec::new(),
        tornado_base: 0.0,
        draws: DRAWS,
        chance_overall: String::new(),
        unvalued,
        may_change: earlyhelp_domain::access::decide(
            &signed.user.actor,
            Action::Update,
            &Resource::Impact,
        )
        .allowed,
    };
    match &appraised.built {
        Err(problems) => page.problems = problems.clone(),
        Ok((model, built)) => {
            let appraisal = appraise(model);
            let uncertain = ranges(scenario);
            let chances = monte_carlo(model, &uncertain, DRAWS, SEED);
            page.headline = vec![
                ("Spent (present value)", pounds(appraisal.pv_costs)),
                ("Benefits (present value)", pounds(appraisal.pv_benefits)),
                ("Net present value", pounds(appraisal.npv)),
                ("Benefit-cost ratio", ratio(appraisal.bcr)),
                (
                    "Pays back in",
                    appraisal
                        .payback_year
                        .map_or("not within the years counted".into(), |y| y.to_string()),
                ),
            ];
            (page.partners, page.break_even) = partner_rows(&appraisal, &chances);
            page.lines = line_rows(scenario, built);
            (page.tornado, page.tornado_base) =
                tornado_rows(model, &tornado(model, &uncertain), appraisal.npv);
            page.chance_overall = percent(chances.bcr_above_one);
        }
    }
    Ok(Html(page.render()?))
}

/// The model behind a page, or a 422 naming what stops it being built.
async fn model_for(
    state: &AppState,
    signed: &Signed,
    chosen: &str,
    purpose: &str,
) -> Result<Model, AppError> {
    let appraised = appraised(state, signed, chosen, purpose).await?;
    appraised
        .built
        .map(|(model, _)| model)
        .map_err(|problems| AppError::Rejected {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            problem: problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        })
}

fn attachment(content_type: &'static str, disposition: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

async fn csv_download(
    State(state): State<AppState>,
    signed: Signed,
    Query(chosen): Query<Chosen>,
) -> Result<Response, AppError> {
    let model = model_for(&state, &signed, &chosen.scenario, "impact (CSV)").await?;
    let appraisal = appraise(&model);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| AppError::Internal(e.into());
    writer
        .write_record([
            "partner",
            "pv_costs",
            "pv_benefits",
            "pv_fiscal_benefits",
            "pv_cashable_benefits",
            "fiscal_roi",
        ])
        .map_err(internal)?;
    let number = |v: f64| format!("{v:.2}");
    for a in &appraisal.by_agency {
        writer
            .write_record([
                a.agency.clone(),
                number(a.pv_costs),
                number(a.pv_benefits),
                number(a.pv_fiscal_benefits),
                number(a.pv_cashable_benefits),
                a.fiscal_roi.map(|r| format!("{r:.4}")).unwrap_or_default(),
            ])
            .map_err(internal)?;
    }
    writer
        .write_record([
            "all partners".to_string(),
            number(appraisal.pv_costs),
            number(appraisal.pv_benefits),
            number(appraisal.by_kind.fiscal),
            number(appraisal.cashable),
            appraisal.bcr.map(|r| format!("{r:.4}")).unwrap_or_default(),
        ])
        .map_err(internal)?;
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(attachment(
        "text/csv; charset=utf-8",
        "attachment; filename=\"impact.csv\"",
        body,
    ))
}

async fn toml_download(
    State(state): State<AppState>,
    signed: Signed,
    Query(chosen): Query<Chosen>,
) -> Result<Response, AppError> {
    let model = model_for(&state, &signed, &chosen.scenario, "impact (model)").await?;
    let body = earlyhelp_cba::to_toml(&model).into_bytes();
    Ok(attachment(
        "application/toml",
        "attachment; filename=\"impact-model.toml\"",
        body,
    ))
}

// ---------------------------------------------------------------------------------------------
// Comparing scenarios

#[derive(Deserialize, Default)]
struct Pair {
    #[serde(default)]
    a: String,
    #[serde(default)]
    b: String,
}

#[derive(Template)]
#[template(path = "impact_compare.html")]
struct ComparePage {
    layout: Layout,
    left: SelectChoice,
    right: SelectChoice,
    /// (partner or total, left's return, right's return).
    rows: Vec<(String, String, String)>,
}

struct SelectChoice {
    name: String,
    options: Vec<SelectOption>,
}

async fn compare(
    State(state): State<AppState>,
    signed: Signed,
    Query(pair): Query<Pair>,
) -> Result<Html<String>, AppError> {
    let left = appraised(&state, &signed, &pair.a, "impact: compare").await?;
    let right_default = left
        .scenarios
        .iter()
        .map(|(id, _)| id.to_string())
        .find(|id| Some(id.as_str()) != left.id.map(|i| i.to_string()).as_deref())
        .unwrap_or_default();
    let right_chosen = if pair.b.is_empty() {
        right_default
    } else {
        pair.b.clone()
    };
    let right = appraised(&state, &signed, &right_chosen, "impact: compare").await?;
    let figures = |a: &Appraised| a.built.as_ref().ok().map(|(model, _)| appraise(model));
    let (l, r) = (figures(&left), figures(&right));
    let mut agencies: Vec<String> = Vec::new();
    for appraisal in [&l, &r].into_iter().flatten() {
        for a in &appraisal.by_agency {
            if !agencies.contains(&a.agency) {
                agencies.push(a.agency.clone());
            }
        }
    }
    let roi = |appraisal: &Option<Appraisal>, agency: &str| {
        appraisal.as_ref().map_or("–".into(), |x| {
            per_pound(
                x.by_agency
                    .iter()
                    .find(|a| a.agency == agency)
                    .and_then(|a| a.fiscal_roi),
            )
        })
    };
    let total = |appraisal: &Option<Appraisal>, pick: fn(&Appraisal) -> String| {
        appraisal.as_ref().map_or("–".into(), pick)
    };
    let mut rows: Vec<(String, String, String)> = vec![
        (
            "Net present value".into(),
            total(&l, |x| pounds(x.npv)),
            total(&r, |x| pounds(x.npv)),
        ),
        (
            "Benefit-cost ratio".into(),
            total(&l, |x| ratio(x.bcr)),
            total(&r, |x| ratio(x.bcr)),
        ),
    ];
    rows.extend(agencies.iter().map(|agency| {
        (
            format!("{agency}: fiscal return per £1"),
            roi(&l, agency),
            roi(&r, agency),
        )
    }));
    let choice = |a: &Appraised| SelectChoice {
        name: a.scenario.name.clone(),
        options: scenario_options(a),
    };
    let page = ComparePage {
        layout: Layout::for_user(&signed, "/impact"),
        left: choice(&left),
        right: choice(&right),
        rows,
    };
    Ok(Html(page.render()?))
}

// ---------------------------------------------------------------------------------------------
// Changing the assumptions

/// One number on the form: its field, label, what is typed (or held), and any problem.
struct Field {
    id: String,
    label: String,
    value: String,
    error: Option<String>,
    /// "%" for a share typed as a percentage, "£" for pounds, "" for a plain number.
    unit: &'static str,
}

/// The fields for one cost or one outcome line.
struct Group {
    heading: String,
    hint: String,
    fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "impact_edit.html")]
struct EditPage {
    layout: Layout,
    id: String,
    /// The name and the years.
    top: Vec<Field>,
    groups: Vec<Group>,
    errors: Vec<Problem>,
}

fn share_text(share: f64) -> String {
    format!("{}", (share * 1000.0).round() / 10.0)
}

impl EditPage {
    /// The form for `scenario`, keeping what was `typed` and naming each problem at its field.
    fn new(
        signed: &Signed,
        id: Option<Uuid>,
        scenario: &Scenario,
        typed: &HashMap<String, String>,
        problems: Vec<Problem>,
    ) -> EditPage {
        let field = |id: String, label: &str, held: String, unit: &'static str| Field {
            value: typed.get(&id).cloned().unwrap_or(held),
            error: problems
                .iter()
                .find(|p| p.field == id)
                .map(|p| p.message.clone()),
            label: label.to_string(),
            id,
            unit,
        };
        let mut groups: Vec<Group> = scenario
            .costs
            .iter()
            .enumerate()
            .map(|(i, c)| Group {
                heading: format!("Spent by {}: {}", c.agency, c.name),
                hint: String::new(),
                fields: vec![
                    field(
                        format!("cost-{i}-annual"),
                        "In the year",
                        format!("{}", c.annual),
                        "£",
                    ),
                    field(
                        format!("cost-{i}-optimism_bias"),
                        "Optimism bias",
                        share_text(c.optimism_bias),
                        "%",
                    ),
                ],
            })
            .collect();
        groups.extend(scenario.lines.iter().enumerate().map(|(i, l)| {
            let share = |name: &str, label: &str, value: f64| {
                field(format!("line-{i}-{name}"), label, share_text(value), "%")
            };
            Group {
                heading: l.name.clone(),
                hint: format!(
                    "{}. Each counts as {} units: {}",
                    l.source.label(),
                    l.per_outcome,
                    l.evidence
                ),
                fields: vec![
                    field(
                        format!("line-{i}-per_outcome"),
                        "Units of the unit value each outcome stands for",
                        format!("{}", l.per_outcome),
                        "",
                    ),
                    share("deadweight", "Deadweight", l.deadweight),
                    share(
                        "deadweight_low",
                        "Deadweight at its lowest",
                        l.deadweight_range[0],
                    ),
                    share(
                        "deadweight_high",
                        "Deadweight at its highest",
                        l.deadweight_range[1],
                    ),
                    share("attribution", "Attribution", l.attribution),
                    share(
                        "attribution_low",
                        "Attribution at its lowest",
                        l.attribution_range[0],
                    ),
                    share(
                        "attribution_high",
                        "Attribution at its highest",
                        l.attribution_range[1],
                    ),
                    share("optimism_bias", "Optimism bias", l.optimism_bias),
                    share("drop_off", "Drop-off a year", l.drop_off),
                    field(
                        format!("line-{i}-count_override"),
                        "Count instead of the records' (leave empty to use the records)",
                        l.count_override.map(|c| format!("{c}")).unwrap_or_default(),
                        "",
                    ),
                ],
            }
        }));
        EditPage {
            layout: Layout::for_user(signed, "/impact"),
            id: id.map(|id| id.to_string()).unwrap_or_default(),
            top: vec![
                field("name".into(), "Name", scenario.name.clone(), ""),
                field(
                    "years".into(),
                    "Years the outcomes are counted for",
                    scenario.years.to_string(),
                    "",
                ),
            ],
            groups,
            errors: problems,
        }
    }
}

/// Whether this person sets the assumptions, asked of the gate (and so audited) before a form
/// to change them is shown or read.
async fn may_set_assumptions(state: &AppState, signed: &Signed) -> Result<(), AppError> {
    let authorised = open(
        state,
        signed,
        Action::Update,
        "impact: change the assumptions",
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(())
}

async fn edit_page(
    State(state): State<AppState>,
    signed: Signed,
    Query(chosen): Query<Chosen>,
) -> Result<Response, AppError> {
    may_set_assumptions(&state, &signed).await?;
    let appraised = appraised(&state, &signed, &chosen.scenario, "impact: assumptions").await?;
    let page = EditPage::new(
        &signed,
        appraised.id,
        &appraised.scenario,
        &HashMap::new(),
        Vec::new(),
    );
    Ok(Html(page.render()?).into_response())
}

/// Reads the form into the scenario it changes: shares typed as percentages; every unreadable
/// number is a problem named by its field.
fn read_form(base: &Scenario, form: &HashMap<String, String>) -> (Scenario, Vec<Problem>) {
    let mut scenario = base.clone();
    let mut problems = Vec::new();
    let text = |field: &str| form.get(field).map(|v| v.trim().to_string());
    let mut number = |field: String, scale: f64, into: &mut f64| {
        if let Some(raw) = text(&field) {
            match raw.replace([',', '£', '%'], "").parse::<f64>() {
                Ok(v) if v.is_finite() => *into = v / scale,
                _ => problems.push(Problem {
                    field,
                    message: "Enter a number".into(),
                }),
            }
        }
    };
    if let Some(name) = text("name") {
        scenario.name = name;
    }
    let mut years = scenario.years as f64;
    number("years".into(), 1.0, &mut years);
    scenario.years = years.clamp(0.0, 1000.0) as usize;
    for (i, cost) in scenario.costs.iter_mut().enumerate() {
        number(format!("cost-{i}-annual"), 1.0, &mut cost.annual);
        number(
            format!("cost-{i}-optimism_bias"),
            100.0,
            &mut cost.optimism_bias,
        );
    }
    for (i, line) in scenario.lines.iter_mut().enumerate() {
        number(format!("line-{i}-per_outcome"), 1.0, &mut line.per_outcome);
        number(format!("line-{i}-deadweight"), 100.0, &mut line.deadweight);
        number(
            format!("line-{i}-deadweight_low"),
            100.0,
            &mut line.deadweight_range[0],
        );
        number(
            format!("line-{i}-deadweight_high"),
            100.0,
            &mut line.deadweight_range[1],
        );
        number(
            format!("line-{i}-attribution"),
            100.0,
            &mut line.attribution,
        );
        number(
            format!("line-{i}-attribution_low"),
            100.0,
            &mut line.attribution_range[0],
        );
        number(
            format!("line-{i}-attribution_high"),
            100.0,
            &mut line.attribution_range[1],
        );
        number(
            format!("line-{i}-optimism_bias"),
            100.0,
            &mut line.optimism_bias,
        );
        number(format!("line-{i}-drop_off"), 100.0, &mut line.drop_off);
        match text(&format!("line-{i}-count_override")).as_deref() {
            None => {}
            Some("") => line.count_override = None,
            Some(_) => {
                let mut count = 0.0;
                number(format!("line-{i}-count_override"), 1.0, &mut count);
                line.count_override = Some(count);
            }
        }
    }
    (scenario, problems)
}

async fn save(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    signed.check_csrf(form.get("csrf_token").map_or("", String::as_str))?;
    // The gate first, so someone who may not set the assumptions learns nothing from checks.
    may_set_assumptions(&state, &signed).await?;
    let chosen = form.get("scenario").cloned().unwrap_or_default();
    let appraised = appraised(&state, &signed, &chosen, "impact: assumptions").await?;
    let (scenario, mut problems) = read_form(&appraised.scenario, &form);
    let as_new = form.get("save_as").is_some_and(|v| v == "new") || appraised.id.is_none();
    if as_new && appraised.id.is_some() && scenario.name == appraised.scenario.name {
        problems.push(Problem {
            field: "name".into(),
            message: "Give the new scenario a name of its own".into(),
        });
    }
    // A field that could not be read keeps that problem, not the checks' on its old value.
    let checked = build(&scenario, |s| appraised.count(s), &appraised.library)
        .err()
        .unwrap_or_default();
    for problem in checked {
        if !problems.iter().any(|p| p.field == problem.field) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        let mut authorised =
            open(&state, &signed, Action::Update, "impact: save a scenario").await?;
        let id = if as_new { None } else { appraised.id };
        match store::save_scenario(&mut authorised, id, &scenario, &signed.user.name).await {
            Ok(id) => {
                authorised.tx.commit().await?;
                return Ok(Redirect::to(&format!("/impact?scenario={id}")).into_response());
            }
            Err(earlyhelp_storage::StorageError::Conflict(message)) => problems.push(Problem {
                field: "name".into(),
                message,
            }),
            Err(other) => return Err(other.into()),
        }
    }
    let page = EditPage::new(&signed, appraised.id, &appraised.scenario, &form, problems);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

// ---------------------------------------------------------------------------------------------
// The unit value library

#[derive(Template)]
#[template(path = "impact_unit_values.html")]
struct UnitValuesPage {
    layout: Layout,
    values: Vec<UnitValue>,
    problems: Vec<String>,
    loaded: Option<usize>,
    filename: String,
    may_change: bool,
}

async fn show_unit_values(
    state: &AppState,
    signed: &Signed,
    problems: Vec<String>,
    loaded: Option<usize>,
    filename: String,
) -> Result<Response, AppError> {
    let mut authorised = open(state, signed, Action::Read, "impact: unit values").await?;
    let values = store::unit_values(&mut authorised).await?;
    authorised.tx.commit().await?;
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = UnitValuesPage {
        layout: Layout::for_user(signed, "/impact"),
        values,
        problems,
        loaded,
        filename,
        may_change: earlyhelp_domain::access::decide(
            &signed.user.actor,
            Action::Update,
            &Resource::Impact,
        )
        .allowed,
    };
    Ok((status, Html(page.render()?)).into_response())
}

async fn unit_values_page(
    State(state): State<AppState>,
    signed: Signed,
) -> Result<Response, AppError> {
    show_unit_values(&state, &signed, Vec::new(), None, String::new()).await
}

async fn load_unit_values(
    State(state): State<AppState>,
    signed: Signed,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = multipart.csv_upload("unit-values.csv").await?;
    let (csrf, filename, content) = (upload.csrf, upload.filename, upload.content);
    signed.check_csrf(&csrf)?;
    let mut authorised = open(&state, &signed, Action::Update, "impact: load unit values").await?;
    let values = match read_unit_values(&content) {
        Ok(values) => values,
        Err(problems) => {
            // The attempt stays in the audit trail; nothing is loaded.
            authorised.tx.commit().await?;
            let words = problems.iter().map(RowError::to_string).collect();
            return show_unit_values(&state, &signed, words, None, filename).await;
        }
    };
    store::load_unit_values(&mut authorised, &values, &signed.user.name).await?;
    authorised.tx.commit().await?;
    show_unit_values(&state, &signed, Vec::new(), Some(values.len()), filename).await
}

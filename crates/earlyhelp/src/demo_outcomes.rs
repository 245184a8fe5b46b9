//! The demo's outcomes framework: the business case's nine outcomes and 30 indicators with
//! their real 2020 values (from the seed, `demo/indicator_values.csv`), and, so that the charts
//! have something to judge, **synthetic** data clearly marked as such:
//!
//! - 2019 history for indicators whose 2020 series starts in January (not for the cumulative
//!   count, nor for services that began in 2020), loaded by `demo: synthetic history` and noted
//!   on each chart;
//! - values for each of the ten localities (a split of the city's counts, or the city's rate
//!   with a local offset), loaded by `demo: synthetic localities`;
//! - breakdowns by ethnic group with populations for three indicators, loaded by
//!   `demo: synthetic ethnicity`;
//! - illustrative targets on three indicators, so the assurance icons show.
//!
//! The indicators computed from case data (`EH1`–`EH3`) count the demo's requests and families,
//! which the cases demo has loaded by then.
//!
//! Deterministic: the same every time.

use anyhow::{Context, Result};
use earlyhelp_domain::access::Action;
use earlyhelp_storage::Db;
use earlyhelp_storage::gate;
use earlyhelp_storage::outcomes::{self, Annotation, CITY, Indicator, NewValue, Outcome};
use std::collections::BTreeMap;

const OUTCOMES_CSV: &str = include_str!("../demo/outcomes.csv");
const VALUES_CSV: &str = include_str!("../demo/indicator_values.csv");

/// Who "loaded" each kind of demo value: the charts and corrections tables show it.
pub const SEED: &str = "demo: business case 2020";
pub const SYNTHETIC_HISTORY: &str = "demo: synthetic history";
pub const SYNTHETIC_LOCALITIES: &str = "demo: synthetic localities";
pub const SYNTHETIC_ETHNICITY: &str = "demo: synthetic ethnicity";

/// Indicators that get no invented history: a cumulative count, and services that began in 2020.
const NO_HISTORY: &[&str] = &["1.7", "4.16", "4.17", "5.10", "5.11", "7.1"];

/// Illustrative targets (not from the business case).
const TARGETS: &[(&str, f64)] = &[("4.7", 95.0), ("4.8", 90.0), ("4.24", 20.0)];

/// Indicators with a synthetic breakdown by ethnic group.
const BY_ETHNICITY: &[&str] = &["3.6", "3.7", "4.18"];

/// Ethnic groups of the city's children, their share of the child population, and an invented
/// relative rate so the disparity ratios have something to show.
const ETHNIC_GROUPS: &[(&str, f64, f64)] = &[
    ("White", 0.42, 1.0),
    ("Asian", 0.36, 0.55),
    ("Black", 0.09, 1.7),
    ("Mixed", 0.09, 2.1),
    ("Other", 0.04, 0.9),
];
const CHILD_POPULATION: f64 = 290_000.0;

/// Each locality's share of the city's counts, in the order of the localities file.
const LOCALITY_SHARES: &[(&str, f64)] = &[
    ("sutton-coldfield", 0.06),
    ("perry-barr", 0.12),
    ("ladywood", 0.13),
    ("edgbaston", 0.08),
    ("northfield", 0.10),
    ("erdington", 0.10),
    ("hodge-hill", 0.14),
    ("yardley", 0.10),
    ("hall-green", 0.09),
    ("selly-oak", 0.08),
];

/// A deterministic number in [-1, 1) from a text key (splitmix64 over FNV-1a).
fn noise(key: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

struct Seed {
    indicators: Vec<Indicator>,
    /// City values by indicator, in period order.
    values: BTreeMap<String, Vec<(String, f64)>>,
}

fn read_seed() -> Result<Seed> {
    let mut reader = csv::Reader::from_reader(VALUES_CSV.as_bytes());
    let mut indicators: Vec<Indicator> = Vec::new();
    let mut values: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for (row, record) in reader.records().enumerate() {
        let record =
            record.with_context(|| format!("reading demo indicator values row {}", row + 1))?;
        let field = |i: usize| record.get(i).unwrap_or_default().trim().to_string();
        let reference = field(0);
        if !indicators.iter().any(|i| i.reference == reference) {
            let unit = field(3);
            indicators.push(Indicator {
                reference: reference.clone(),
                outcome_number: field(1).parse().context("outcome number")?,
                name: field(2),
                better: match field(4).as_str() {
                    "higher" => "higher",
                    "lower" => "lower",
                    _ => "neither",
                }
                .into(),
                data_owner: field(5),
                frequency: "monthly".into(),
                source: "uploaded".into(),
                target: TARGETS
                    .iter()
                    .find(|(r, _)| *r == reference)
                    .map(|(_, t)| *t),
                small_number_threshold: (unit == "count").then_some(5),
                public: true,
                spc_rules: "mdc".into(),
                spc_baseline: None,
                unit,
            });
        }
        let value: f64 = field(7)
            .parse()
            .with_context(|| format!("value on row {}", row + 1))?;
        values.entry(reference).or_default().push((field(6), value));
    }
    for series in values.values_mut() {
        series.sort_by(|a, b| a.0.cmp(&b.0));
    }
    Ok(Seed { indicators, values })
}

fn round_for(indicator: &Indicator, value: f64) -> f64 {
    match indicator.unit.as_str() {
        "percent" => value.clamp(0.0, 100.0).round(),
        _ => value.max(0.0).round(),
    }
}

fn value(indicator: &Indicator, period: &str, area: &str, v: f64) -> NewValue {
    NewValue {
        indicator_ref: indicator.reference.clone(),
        period: period.to_string(),
        area: area.to_string(),
        dimension: String::new(),
        group: String::new(),
        value: v,
        denominator: None,
    }
}

/// Loads the demo outcomes framework into a database that has the demo city's localities.
pub async fn load(db: &Db) -> Result<()> {
    let seed = read_seed()?;
    let mut authorised = gate::operator(
        db,
        "indicators",
        Action::Create,
        "load the demo outcomes framework",
    )
    .await?;
    let mut reader = csv::Reader::from_reader(OUTCOMES_CSV.as_bytes());
    for record in reader.records() {
        let record = record.context("reading the demo outcomes")?;
        let outcome = Outcome {
            number: record
                .get(0)
                .unwrap_or_default()
                .trim()
                .parse()
                .context("outcome number")?,
            name: record.get(1).unwrap_or_default().trim().to_string(),
        };
        outcomes::upsert_outcome(&mut authorised, &outcome).await?;
    }
    for indicator in &seed.indicators {
        outcomes::upsert_indicator(&mut authorised, indicator).await?;
    }

    let mut real = Vec::new();
    let mut history = Vec::new();
    let mut localities = Vec::new();
    let mut ethnicity = Vec::new();
    let mut notes = Vec::new();
    for indicator in &seed.indicators {
        let series = &seed.values[&indicator.reference];
        let mut city: Vec<(String, f64)> = Vec::new();
        let synthesise = !NO_HISTORY.contains(&indicator.reference.as_str())
            && series.first().is_some_and(|(p, _)| p == "2020-01");
        if synthesise {
            // Around the level of the first quarter of 2020, before the pandemic.
            let base = series.iter().take(3).map(|(_, v)| v).sum::<f64>() / 3.0;
            for month in 1..=12 {
                let period = format!("2019-{month:02}");
                let wobble = 0.07 * noise(&format!("{}:{period}", indicator.reference));
                let v = round_for(indicator, base * (1.0 + wobble));
                history.push(value(indicator, &period, CITY, v));
                city.push((period, v));
            }
            notes.push((
                indicator.reference.clone(),
                "2019-01".to_string(),
                "Synthetic demo data from January to December 2019: the business case starts in 2020"
                    .to_string(),
            ));
        }
        for (period, v) in series {
            real.push(value(indicator, period, CITY, *v));
            city.push((period.clone(), *v));
        }
        for (period, v) in &city {
            for (slug, share) in LOCALITY_SHARES {
                let wobble = noise(&format!("{}:{slug}:{period}", indicator.reference));
                let local = if indicator.unit == "count" {
                    v * share * (1.0 + 0.15 * wobble)
                } else {
                    let offset = 0.12 * noise(&format!("{}:{slug}", indicator.reference));
                    v * (1.0 + offset + 0.04 * wobble)
                };
                localities.push(value(indicator, period, slug, round_for(indicator, local)));
            }
        }
        if BY_ETHNICITY.contains(&indicator.reference.as_str()) {
            let weight: f64 = ETHNIC_GROUPS
                .iter()
                .map(|(_, share, rate)| share * rate)
                .sum();
            for (period, v) in &city {
                for (group, share, rate) in ETHNIC_GROUPS {
                    let wobble = 0.08 * noise(&format!("{}:{group}:{period}", indicator.reference));
                    let count = round_for(indicator, v * share * rate / weight * (1.0 + wobble));
                    ethnicity.push(NewValue {
                        dimension: "ethnicity".into(),
                        group: group.to_string(),
                        denominator: Some((CHILD_POPULATION * share).round()),
                        ..value(indicator, period, CITY, count)
                    });
                }
            }
        }
        if series.iter().any(|(p, _)| p == "2020-03") && indicator.outcome_number != 8 {
            notes.push((
                indicator.reference.clone(),
                "2020-03".to_string(),
                "First national lockdown: schools closed to most pupils from 23 March".to_string(),
            ));
        }
    }
    outcomes::insert_new_values(&mut authorised, &real, SEED).await?;
    outcomes::insert_new_values(&mut authorised, &history, SYNTHETIC_HISTORY).await?;
    outcomes::insert_new_values(&mut authorised, &localities, SYNTHETIC_LOCALITIES).await?;
    outcomes::insert_new_values(&mut authorised, &ethnicity, SYNTHETIC_ETHNICITY).await?;
    for (reference, period, note) in notes {
        outcomes::add_annotation(
            &mut authorised,
            &Annotation {
                id: uuid::Uuid::now_v7(),
                indicator_ref: reference,
                period,
                area: CITY.into(),
                note,
                created_by: "demo".into(),
                created_micros: earlyhelp_storage::now_micros(),
            },
        )
        .await?;
    }
    authorised.tx.commit().await?;
    // The demo's cases are loaded first: count them into the computed indicators now.
    outcomes::computed::refresh(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_has_thirty_indicators_in_nine_outcomes() {
        let seed = read_seed().unwrap();
        assert_eq!(seed.indicators.len(), 30);
        let outcomes: std::collections::BTreeSet<i32> =
            seed.indicators.iter().map(|i| i.outcome_number).collect();
        assert!(outcomes.len() <= 9 && outcomes.iter().all(|o| (1..=9).contains(o)));
        let da = &seed.values["7.2"];
        assert_eq!(da.first(), Some(&("2020-01".to_string(), 2898.0)));
        assert_eq!(da.len(), 12);
        assert_eq!(
            seed.indicators
                .iter()
                .find(|i| i.reference == "3.5")
                .unwrap()
                .better,
            "neither"
        );
    }

    #[test]
    fn noise_is_deterministic_and_bounded() {
        assert_eq!(noise("a"), noise("a"));
        assert_ne!(noise("a"), noise("b"));
        for i in 0..1000 {
            let n = noise(&i.to_string());
            assert!((-1.0..1.0).contains(&n));
        }
    }

    #[test]
    fn locality_shares_add_up_to_the_city() {
        let total: f64 = LOCALITY_SHARES.iter().map(|(_, s)| s).sum();
        assert!((total - 1.0).abs() < 1e-9);
        let population: f64 = ETHNIC_GROUPS.iter().map(|(_, s, _)| s).sum();
        assert!((population - 1.0).abs() < 1e-9);
    }
}

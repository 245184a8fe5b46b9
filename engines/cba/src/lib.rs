//! Cost-benefit appraisal in the UK public-sector method: the HM Treasury Green Book and the
//! GMCA cost-benefit model built on it. Pure: a model in, an appraisal out, no IO.
//!
//! A cost in year `t` counts `value × (1 + optimism_bias) × DF(t)`. A benefit in year `t`
//! counts `volume × unit_value × D(price_year)/D(unit_value_year) × (1 − deadweight) ×
//! attribution × (1 − optimism_bias) × (1 − drop_off)^t × DF(t)`, where `D` is the GDP
//! deflator and `DF` the discount factor: `1/(1+r)^t` with a constant `discount_rate`, else the
//! Green Book schedule (`DF(0) = 1`, `DF(t) = DF(t−1)/(1 + r(t))`, `r(t)` the rate of the band
//! holding year `t`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

mod uncertainty;
pub use uncertainty::{Chances, Input, Range, Swing, monte_carlo, set_input, tornado, with_input};

const SCHEDULE_CSV: &str = include_str!("../data/green_book_stpr_schedule.csv");
const DEFLATOR_CSV: &str = include_str!("../data/hmt_gdp_deflator_2024eq100.csv");

/// What a benefit is worth to: the public purse, the economy, or people's wellbeing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Fiscal,
    Economic,
    Social,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub name: String,
    pub agency: String,
    pub values: Vec<f64>,
    pub optimism_bias: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benefit {
    pub name: String,
    pub agency: String,
    pub kind: Kind,
    pub cashable: bool,
    pub unit_value: f64,
    pub unit_value_year: i32,
    pub volumes: Vec<f64>,
    pub deadweight: f64,
    pub attribution: f64,
    pub optimism_bias: f64,
    pub drop_off: f64,
}

/// A checked model. Serialised (with [`to_toml`]) in the form [`parse`] reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Model {
    pub name: String,
    pub price_year: i32,
    pub first_year: i32,
    pub years: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_rate: Option<f64>,
    pub costs: Vec<Cost>,
    pub benefits: Vec<Benefit>,
}

/// A model refused, with where: the line (from 1) and the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, {}: {}", self.line, self.key, self.message)
    }
}

impl std::error::Error for ModelError {}

#[derive(Deserialize)]
struct RawModel {
    name: String,
    price_year: Spanned<i32>,
    first_year: i32,
    years: Spanned<usize>,
    discount_rate: Option<Spanned<f64>>,
    #[serde(default)]
    costs: Vec<RawCost>,
    #[serde(default)]
    benefits: Vec<RawBenefit>,
}

#[derive(Deserialize)]
struct RawCost {
    name: String,
    agency: String,
    values: Spanned<Vec<f64>>,
    optimism_bias: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
struct RawBenefit {
    name: String,
    agency: String,
    kind: Spanned<String>,
    #[serde(default)]
    cashable: bool,
    unit_value: f64,
    unit_value_year: Option<Spanned<i32>>,
    volumes: Spanned<Vec<f64>>,
    deadweight: Option<Spanned<f64>>,
    attribution: Option<Spanned<f64>>,
    optimism_bias: Option<Spanned<f64>>,
    drop_off: Option<Spanned<f64>>,
}

fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// The model as TOML that [`parse`] reads back to the same model, so a figure shown anywhere
/// can be rerun with `earlyhelp cba`.
pub fn to_toml(model: &Model) -> String {
    toml::to_string(model).expect("a model of strings, numbers and lists is valid TOML")
}

/// Reads and checks a model in TOML; every refusal names the line and the key.
pub fn parse(source: &str) -> Result<Model, ModelError> {
    let raw: RawModel = toml::from_str(source).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(source, s.start));
        // The key is what the offending line assigns, or the table it opens.
        let text = source.lines().nth(line - 1).unwrap_or_default();
        let key = text.split('=').next().unwrap_or_default();
        ModelError {
            line,
            key: key.trim().trim_matches(['[', ']']).to_string(),
            message: e.message().to_string(),
        }
    })?;
    let refuse = |span: std::ops::Range<usize>, key: &str, message: String| ModelError {
        line: line_of(source, span.start),
        key: key.to_string(),
        message,
    };
    let years = *raw.years.get_ref();
    if years == 0 {
        return Err(refuse(
            raw.years.span(),
            "years",
            "must be at least 1".into(),
        ));
    }
    let price_year = *raw.price_year.get_ref();
    if deflator(price_year).is_none() {
        return Err(refuse(
            raw.price_year.span(),
            "price_year",
            deflator_range(),
        ));
    }
    let rate = |value: &Option<Spanned<f64>>, key: &str, default: f64, at_most: Option<f64>| {
        let Some(value) = value else {
            return Ok(default);
        };
        let v = *value.get_ref();
        if !v.is_finite() || v < 0.0 {
            return Err(refuse(
                value.span(),
                key,
                format!("must not be negative (it is {v})"),
            ));
        }
        if let Some(max) = at_most
            && v > max
        {
            return Err(refuse(
                value.span(),
                key,
                format!("is a share, so at most {max} (it is {v})"),
            ));
        }
        Ok(v)
    };
    let length = |list: &Spanned<Vec<f64>>, key: &str| {
        let n = list.get_ref().len();
        if n == years {
            Ok(list.get_ref().clone())
        } else {
            Err(refuse(
                list.span(),
                key,
                format!("has {n} values; the model has {years} years"),
            ))
        }
    };
    let discount_rate = match &raw.discount_rate {
        Some(_) => Some(rate(&raw.discount_rate, "discount_rate", 0.0, None)?),
        None => None,
    };
    let mut costs = Vec::new();
    for (i, c) in raw.costs.iter().enumerate() {
        let at = |key: &str| format!("costs[{i}].{key}");
        costs.push(Cost {
            name: c.name.clone(),
            agency: c.agency.clone(),
            values: length(&c.values, &at("values"))?,
            optimism_bias: rate(&c.optimism_bias, &at("optimism_bias"), 0.0, None)?,
        });
    }
    let mut benefits = Vec::new();
    for (i, b) in raw.benefits.iter().enumerate() {
        let at = |key: &str| format!("benefits[{i}].{key}");
        let kind = match b.kind.get_ref().as_str() {
            "fiscal" => Kind::Fiscal,
            "economic" => Kind::Economic,
            "social" => Kind::Social,
            other => {
                let message = format!("{other:?} is not fiscal, economic or social");
                return Err(refuse(b.kind.span(), &at("kind"), message));
            }
        };
        let unit_value_year = match &b.unit_value_year {
            Some(year) if deflator(*year.get_ref()).is_none() => {
                return Err(refuse(
                    year.span(),
                    &at("unit_value_year"),
                    deflator_range(),
                ));
            }
            Some(year) => *year.get_ref(),
            None => price_year,
        };
        benefits.push(Benefit {
            name: b.name.clone(),
            agency: b.agency.clone(),
            kind,
            cashable: b.cashable,
            unit_value: b.unit_value,
            unit_value_year,
            volumes: length(&b.volumes, &at("volumes"))?,
            deadweight: rate(&b.deadweight, &at("deadweight"), 0.0, Some(1.0))?,
            attribution: rate(&b.attribution, &at("attribution"), 1.0, Some(1.0))?,
            optimism_bias: rate(&b.optimism_bias, &at("optimism_bias"), 0.0, Some(1.0))?,
            drop_off: rate(&b.drop_off, &at("drop_off"), 0.0, Some(1.0))?,
        });
    }
    Ok(Model {
        name: raw.name,
        price_year,
        first_year: raw.first_year,
        years,
        discount_rate,
        costs,
        benefits,
    })
}

/// The deflator table, read once.
fn deflator_table() -> impl Iterator<Item = (i32, f64)> {
    static TABLE: std::sync::OnceLock<Vec<(i32, f64)>> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| {
            DEFLATOR_CSV
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let (year, value) = line.split_once(',')?;
                    Some((year.trim().parse().ok()?, value.trim().parse().ok()?))
                })
                .collect()
        })
        .iter()
        .copied()
}

/// The GDP deflator for `year` (2024 = 100), if the table holds it.
pub fn deflator(year: i32) -> Option<f64> {
    deflator_table().find(|(y, _)| *y == year).map(|(_, v)| v)
}

fn deflator_range() -> String {
    let years: Vec<i32> = deflator_table().map(|(y, _)| y).collect();
    format!(
        "the GDP deflator table runs from {} to {}",
        years.first().copied().unwrap_or_default(),
        years.last().copied().unwrap_or_default()
    )
}

/// The Green Book's standard rate for year `t` from its schedule (read once); past its last
/// band, the last band's rate.
pub fn schedule_rate(t: usize) -> f64 {
    static BANDS: std::sync::OnceLock<Vec<(usize, usize, f64)>> = std::sync::OnceLock::new();
    let bands = BANDS.get_or_init(|| {
        SCHEDULE_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let cells: Vec<&str> = line.split(',').collect();
                let from: usize = cells.first()?.trim().parse().ok()?;
                let to: usize = cells.get(1)?.trim().parse().ok()?;
                let rate: f64 = cells.get(2)?.trim().parse().ok()?;
                Some((from, to, rate))
            })
            .collect()
    });
    bands
        .iter()
        .find(|(from, to, _)| (*from..=*to).contains(&t))
        .or(bands.last())
        .map_or(0.0, |(_, _, rate)| *rate)
}

/// Discount factors for years `0..years`.
pub fn discount_factors(years: usize, constant: Option<f64>) -> Vec<f64> {
    let mut factors = Vec::with_capacity(years);
    for t in 0..years {
        factors.push(match (constant, t) {
            (Some(r), _) => 1.0 / (1.0 + r).powi(t as i32),
            (None, 0) => 1.0,
            (None, _) => factors[t - 1] / (1.0 + schedule_rate(t)),
        });
    }
    factors
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ByKind {
    pub fiscal: f64,
    pub economic: f64,
    pub social: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyLine {
    pub agency: String,
    pub pv_costs: f64,
    pub pv_benefits: f64,
    pub pv_fiscal_benefits: f64,
    pub pv_cashable_benefits: f64,
    /// Fiscal benefits over the agency's own costs; `None` where it bears no cost.
    pub fiscal_roi: Option<f64>,
}

/// The appraisal: present values in the price year's prices, full precision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Appraisal {
    pub pv_costs: f64,
    pub pv_benefits: f64,
    pub npv: f64,
    pub bcr: Option<f64>,
    pub payback_year: Option<i32>,
    pub by_kind: ByKind,
    pub cashable: f64,
    pub non_cashable: f64,
    /// Every agency named on a cost or a benefit, by name.
    pub by_agency: Vec<AgencyLine>,
}

/// A benefit's present value in each year.
fn benefit_by_year(model: &Model, benefit: &Benefit, factors: &[f64]) -> Vec<f64> {
    let deflate = deflator(model.price_year).unwrap_or(100.0)
        / deflator(benefit.unit_value_year).unwrap_or(100.0);
    let kept = (1.0 - benefit.deadweight) * benefit.attribution * (1.0 - benefit.optimism_bias);
    benefit
        .volumes
        .iter()
        .zip(factors)
        .enumerate()
        .map(|(t, (volume, df))| {
            volume
                * benefit.unit_value
                * deflate
                * kept
                * (1.0 - benefit.drop_off).powi(t as i32)
                * df
        })
        .collect()
}

fn cost_by_year(cost: &Cost, factors: &[f64]) -> Vec<f64> {
    cost.values
        .iter()
        .zip(factors)
        .map(|(value, df)| value * (1.0 + cost.optimism_bias) * df)
        .collect()
}

/// Appraises a checked model.
pub fn appraise(model: &Model) -> Appraisal {
    let factors = discount_factors(model.years, model.discount_rate);
    let mut costs_by_year = vec![0.0; model.years];
    let mut benefits_by_year = vec![0.0; model.years];
    let mut agencies: BTreeMap<&str, AgencyLine> = BTreeMap::new();
    let line = |agency: &str| AgencyLine {
        agency: agency.to_string(),
        pv_costs: 0.0,
        pv_benefits: 0.0,
        pv_fiscal_benefits: 0.0,
        pv_cashable_benefits: 0.0,
        fiscal_roi: None,
    };
    for cost in &model.costs {
        let by_year = cost_by_year(cost, &factors);
        for (total, v) in costs_by_year.iter_mut().zip(&by_year) {
            *total += v;
        }
        let entry = agencies
            .entry(&cost.agency)
            .or_insert_with(|| line(&cost.agency));
        entry.pv_costs += by_year.iter().sum::<f64>();
    }
    let mut by_kind = ByKind {
        fiscal: 0.0,
        economic: 0.0,
        social: 0.0,
    };
    let mut cashable = 0.0;
    for benefit in &model.benefits {
        let by_year = benefit_by_year(model, benefit, &factors);
        for (total, v) in benefits_by_year.iter_mut().zip(&by_year) {
            *total += v;
        }
        let pv: f64 = by_year.iter().sum();
        match benefit.kind {
            Kind::Fiscal => by_kind.fiscal += pv,
            Kind::Economic => by_kind.economic += pv,
            Kind::Social => by_kind.social += pv,
        }
        if benefit.cashable {
            cashable += pv;
        }
        let entry = agencies
            .entry(&benefit.agency)
            .or_insert_with(|| line(&benefit.agency));
        entry.pv_benefits += pv;
        if benefit.kind == Kind::Fiscal {
            entry.pv_fiscal_benefits += pv;
        }
        if benefit.cashable {
            entry.pv_cashable_benefits += pv;
        }
    }
    let pv_costs: f64 = costs_by_year.iter().sum();
    let pv_benefits: f64 = benefits_by_year.iter().sum();
    let mut payback_year = None;
    let (mut paid, mut got) = (0.0, 0.0);
    for t in 0..model.years {
        paid += costs_by_year[t];
        got += benefits_by_year[t];
        if paid > 0.0 && got >= paid {
            payback_year = Some(model.first_year + t as i32);
            break;
        }
    }
    Appraisal {
        pv_costs,
        pv_benefits,
        npv: pv_benefits - pv_costs,
        bcr: (pv_costs > 0.0).then(|| pv_benefits / pv_costs),
        payback_year,
        by_kind,
        cashable,
        non_cashable: pv_benefits - cashable,
        by_agency: agencies
            .into_values()
            .map(|mut a| {
                a.fiscal_roi = (a.pv_costs > 0.0).then(|| a.pv_fiscal_benefits / a.pv_costs);
                a
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;

//! The equality view: an indicator by ethnic group, age band, sex or SEND in one area, the
//! latest month in a table and every month in a chart with its data table.
//!
//! Where the groups' populations are loaded (denominators), each group has a rate per 1,000
//! and a disparity ratio against a comparison group. Case-data indicators have no population
//! figures, so they show each group's share of everyone counted instead: a ratio of counts
//! would compare group sizes, not how often each group is reached.

use super::charts::{self, Line, number};
use super::pages::{
    GridRow, LegendItem, Loaded, area_name, area_options, known_area, load_indicator,
};
use super::{
    Icon, chart, period_label, period_long, signed_may, suppressed, suppressed_words,
    variation_icon,
};
use crate::AppState;
use crate::error::AppError;
use crate::extract::{Path, Query};
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::equality;
use earlyhelp_storage::outcomes::computed::is_provisional;
use earlyhelp_storage::outcomes::{Indicator, Value};
use serde::Deserialize;

struct EqualityLine {
    group: String,
    count: String,
    population: String,
    rate: String,
    /// The disparity ratio, or the share of everyone counted when there are no populations.
    ratio: String,
    comparison: bool,
    variation: Option<Icon>,
}

#[derive(Template)]
#[template(path = "outcomes_equality.html")]
struct EqualityPage {
    layout: Layout,
    indicator: Indicator,
    area: String,
    area_name: String,
    area_options: Vec<SelectOption>,
    dimension_options: Vec<SelectOption>,
    /// The breakdown's label in a sentence: "ethnic group".
    dimension_words: String,
    comparison_options: Vec<SelectOption>,
    comparison: String,
    with_rates: bool,
    rate_words: String,
    latest_period: String,
    lines: Vec<EqualityLine>,
    chart_svg: String,
    legend: Vec<LegendItem>,
    columns: Vec<String>,
    grid: Vec<GridRow>,
}

#[derive(Deserialize, Default)]
pub struct EqualityQuery {
    #[serde(default)]
    area: Option<String>,
    #[serde(default)]
    dimension: Option<String>,
    #[serde(default)]
    comparison: Option<String>,
}

/// Rate per 1,000 of the group's population when a denominator is known, else the value.
fn rate(v: &Value) -> f64 {
    match v.denominator {
        Some(d) if d > 0.0 => v.value / d * 1000.0,
        _ => v.value,
    }
}

fn sorted_unique(mut items: Vec<String>) -> Vec<String> {
    items.sort();
    items.dedup();
    items
}

pub async fn equality(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
    Query(query): Query<EqualityQuery>,
) -> Result<Html<String>, AppError> {
    signed_may(&signed, Action::Read)?;
    let Loaded {
        indicator,
        values,
        localities,
        recalculations,
    } = load_indicator(&state, &reference).await?;
    let area = known_area(&localities, query.area.as_deref());
    // The breakdowns this indicator has anywhere, in the order the framework lists them.
    let offered: Vec<(&str, &str)> = equality::DIMENSIONS
        .iter()
        .copied()
        .filter(|(d, _)| values.iter().any(|v| v.dimension == *d))
        .collect();
    let (dimension, dimension_label) = offered
        .iter()
        .copied()
        .find(|(d, _)| query.dimension.as_deref() == Some(*d))
        .or(offered.first().copied())
        .unwrap_or(equality::DIMENSIONS[0]);
    let rows: Vec<&Value> = values
        .iter()
        .filter(|v| v.area == area && v.dimension == dimension)
        .collect();
    let groups = sorted_unique(rows.iter().map(|v| v.grp.clone()).collect());
    let mut periods = sorted_unique(rows.iter().map(|v| v.period.clone()).collect());
    // A computed indicator's month in progress is still counting: never charted or judged,
    // and in the table only until there is a whole month.
    let so_far = periods
        .pop_if(|p| is_provisional(&indicator, p))
        .filter(|_| periods.is_empty());
    let with_rates = rows.iter().any(|v| v.denominator.is_some());
    // The comparison group: asked for, else White (as the seed's deep dive), else the largest.
    let comparison = query
        .comparison
        .filter(|c| groups.contains(c))
        .or_else(|| {
            groups
                .iter()
                .find(|g| g.eq_ignore_ascii_case("white"))
                .cloned()
        })
        .or_else(|| {
            rows.iter()
                .max_by(|a, b| {
                    a.denominator
                        .unwrap_or(a.value)
                        .total_cmp(&b.denominator.unwrap_or(b.value))
                })
                .map(|v| v.grp.clone())
        })
        .unwrap_or_default();
    let latest = so_far
        .clone()
        .or_else(|| periods.last().cloned())
        .unwrap_or_default();
    let find = |group: &str, period: &str| {
        rows.iter()
            .find(|v| v.grp == group && v.period == period)
            .copied()
    };
    let hidden = |v: &Value| suppressed(&indicator, &area, dimension, v.value, false);
    let comparison_rate = find(&comparison, &latest).filter(|v| !hidden(v)).map(rate);
    let latest_total: f64 = rows
        .iter()
        .filter(|v| v.period == latest)
        .map(|v| v.value)
        .sum();
    let months: Vec<&str> = periods.iter().map(String::as_str).collect();
    let mut lines = Vec::new();
    let mut chart_lines = Vec::new();
    for group in &groups {
        let series: Vec<Option<f64>> = periods
            .iter()
            .map(|p| find(group, p).filter(|v| !hidden(v)).map(rate))
            .collect();
        let complete: Option<Vec<f64>> = series.iter().copied().collect();
        let variation = complete.as_ref().and_then(|values| {
            chart(&indicator, &recalculations, values, &months)
                .variation_icon()
                .map(variation_icon)
        });
        let (count, population, group_rate, ratio) = match find(group, &latest) {
            Some(v) if hidden(v) => (
                suppressed_words(&indicator),
                String::new(),
                "suppressed".into(),
                String::new(),
            ),
            Some(v) if with_rates => (
                number(v.value, 1),
                v.denominator.map(|d| number(d, 0)).unwrap_or_default(),
                number(rate(v), 2),
                comparison_rate
                    .filter(|c| *c > 0.0)
                    .map(|c| number(rate(v) / c, 2))
                    .unwrap_or_default(),
            ),
            Some(v) => (
                number(v.value, 1),
                String::new(),
                String::new(),
                if latest_total > 0.0 {
                    format!("{}%", number(100.0 * v.value / latest_total, 1))
                } else {
                    String::new()
                },
            ),
            None => (
                "No data".into(),
                String::new(),
                String::new(),
                String::new(),
            ),
        };
        lines.push(EqualityLine {
            group: group.clone(),
            count,
            population,
            rate: group_rate,
            ratio,
            comparison: with_rates && *group == comparison,
            variation,
        });
        chart_lines.push(Line { values: series });
    }
    let dimension_words = dimension_label.to_lowercase().replace("send", "SEND");
    let rate_words = if with_rates {
        "rate per 1,000 people in the group".to_string()
    } else {
        format!("value ({})", indicator.unit)
    };
    let labels: Vec<String> = periods.iter().map(|p| period_label(p)).collect();
    let name = area_name(&localities, &area);
    let chart_svg = if periods.is_empty() {
        String::new()
    } else {
        charts::line_chart(
            "equality",
            &format!("{} by {dimension_words}: {name}", indicator.name),
            &format!(
                "Line chart of the {rate_words} for {} groups from {} to {}. The table after the chart gives every value.",
                groups.len(),
                period_long(&periods[0]),
                period_long(&periods[periods.len() - 1])
            ),
            &labels,
            &chart_lines,
        )
    };
    let legend = groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let (colour, dash) = charts::series_style(i);
            LegendItem {
                name: g.clone(),
                colour,
                dash,
            }
        })
        .collect();
    let grid = periods
        .iter()
        .enumerate()
        .map(|(i, p)| GridRow {
            period: period_long(p),
            cells: chart_lines
                .iter()
                .map(|l| {
                    l.values[i]
                        .map(|v| number(v, 2))
                        .unwrap_or_else(|| "–".into())
                })
                .collect(),
        })
        .collect();
    let page = EqualityPage {
        layout: Layout::for_user(&signed, "/outcomes"),
        area_options: area_options(&localities, &area),
        dimension_options: offered
            .iter()
            .map(|(d, label)| SelectOption::new(*d, *label, *d == dimension))
            .collect(),
        dimension_words,
        comparison_options: groups
            .iter()
            .map(|g| SelectOption::new(g.clone(), g.clone(), *g == comparison))
            .collect(),
        comparison,
        with_rates,
        rate_words,
        latest_period: match so_far {
            Some(_) => format!("{} so far", period_long(&latest)),
            None => period_long(&latest),
        },
        lines,
        chart_svg,
        legend,
        columns: groups,
        grid,
        area_name: name,
        area,
        indicator,
    };
    Ok(Html(page.render()?))
}

//! The board's grid: every indicator by the city and its ten localities on one screen, each
//! cell the latest whole month's value, SPC's variation icon and the direction since the month
//! before, linking to that area's chart.

use super::pages::{Judged, area_name, indicator_href, judge, outcome_options};
use super::{Icon, signed_may};
use crate::AppState;
use crate::error::AppError;
use crate::extract::Query;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use earlyhelp_domain::access::Action;
use earlyhelp_storage::accounts;
use earlyhelp_storage::outcomes::{self, CITY, Value};
use serde::Deserialize;
use std::collections::HashMap;

struct Cell {
    href: String,
    /// The value as the cell shows it: short, so eleven fit across a laptop's screen.
    shown: String,
    /// Everything the cell says, for a screen reader: area, value, month, variation, change.
    words: String,
    variation: Option<Icon>,
    /// `▲` or `▼` (or nothing) and the change's GOV.UK tag colour.
    arrow: &'static str,
    tag: &'static str,
}

struct Row {
    reference: String,
    name: String,
    cells: Vec<Cell>,
}

struct OutcomeRows {
    number: i32,
    name: String,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "outcomes_board.html")]
struct BoardPage {
    layout: Layout,
    areas: Vec<String>,
    groups: Vec<OutcomeRows>,
    outcome_options: Vec<SelectOption>,
    /// Only indicators whose city series shows special cause (the home page's number).
    special: bool,
}

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    #[serde(default)]
    outcome: Option<String>,
    /// `yes`: only indicators with special cause, improving or concerning, in the city's
    /// latest whole month.
    #[serde(default)]
    special: String,
}

/// Special cause that is improvement or concern (blue or orange), not the neither-way purple.
fn improving_or_concerning(icon: Option<&Icon>) -> bool {
    icon.is_some_and(|i| matches!(i.tag, "blue" | "orange"))
}

/// How many indicators' city series show special cause, improving or concerning, in their
/// latest whole month, judged as the board judges them.
pub(crate) async fn special_cause_count(state: &AppState) -> Result<i64, AppError> {
    let indicators = outcomes::list_indicators(&state.db).await?;
    let values = outcomes::current_values_by_area(&state.db).await?;
    let recalculations = outcomes::all_recalculations(&state.db).await?;
    let count = indicators
        .iter()
        .filter(|indicator| {
            let series = values
                .iter()
                .filter(|v| v.indicator_ref == indicator.reference && v.area == CITY)
                .collect();
            let judged = judge(indicator, series, CITY, &recalculations);
            improving_or_concerning(judged.variation.as_ref())
        })
        .count();
    Ok(count as i64)
}

fn cell(reference: &str, area: &str, area_name: &str, judged: Judged) -> Cell {
    let href = indicator_href(reference, area);
    let shown = if judged.hidden {
        // "fewer than 5" would not fit; the words below say it in full.
        "<5".to_string()
    } else if judged.latest_period.is_empty() {
        "–".to_string()
    } else {
        judged.latest.clone()
    };
    let mut words = format!("{area_name}: {}", judged.latest);
    if !judged.latest_period.is_empty() {
        words.push_str(&format!(" in {}", judged.latest_period));
    }
    if let Some(icon) = &judged.variation {
        words.push_str(&format!(", {}", icon.words));
    }
    let (arrow, tag) = match &judged.travel {
        Some(t) => {
            words.push_str(&format!(
                ", {} since the month before",
                t.words.to_lowercase()
            ));
            if !judged.travel_label.is_empty() && t.judgement != "none" {
                words.push_str(&format!(" ({})", judged.travel_label.to_lowercase()));
            }
            let arrow = match t.words.split(' ').next() {
                Some("Up") => "▲",
                Some("Down") => "▼",
                _ => "",
            };
            (arrow, t.tag)
        }
        None => ("", "grey"),
    };
    Cell {
        href,
        shown,
        words,
        variation: judged.variation,
        arrow,
        tag,
    }
}

pub async fn board(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<BoardQuery>,
) -> Result<Html<String>, AppError> {
    signed_may(&signed, Action::List)?;
    let localities = accounts::list_localities(&state.db).await?;
    let outcome_list = outcomes::list_outcomes(&state.db).await?;
    let indicators = outcomes::list_indicators(&state.db).await?;
    let values = outcomes::current_values_by_area(&state.db).await?;
    let recalculations = outcomes::all_recalculations(&state.db).await?;
    let outcome_filter: Option<i32> = query.outcome.as_deref().and_then(|o| o.parse().ok());
    let special = match query.special.trim() {
        "" => false,
        "yes" => true,
        _ => {
            return Err(AppError::Invalid(vec![
                earlyhelp_domain::people::FieldError::new(
                    "special",
                    "Choose special=yes or no filter",
                ),
            ]));
        }
    };
    let mut series: HashMap<(&str, &str), Vec<&Value>> = HashMap::new();
    for v in &values {
        series
            .entry((v.indicator_ref.as_str(), v.area.as_str()))
            .or_default()
            .push(v);
    }
    let areas: Vec<(String, String)> = std::iter::once(CITY.to_string())
        .chain(localities.iter().map(|l| l.slug.clone()))
        .map(|slug| (area_name(&localities, &slug), slug))
        .collect();
    let groups = outcome_list
        .iter()
        .filter(|o| outcome_filter.is_none_or(|f| f == o.number))
        .map(|o| OutcomeRows {
            number: o.number,
            name: o.name.clone(),
            rows: indicators
                .iter()
                .filter(|i| i.outcome_number == o.number)
                .map(|indicator| Row {
                    reference: indicator.reference.clone(),
                    name: indicator.name.clone(),
                    cells: areas
                        .iter()
                        .map(|(name, slug)| {
                            let values = series
                                .get(&(indicator.reference.as_str(), slug.as_str()))
                                .cloned()
                                .unwrap_or_default();
                            let judged = judge(indicator, values, slug, &recalculations);
                            cell(&indicator.reference, slug, name, judged)
                        })
                        .collect(),
                })
                // The city's cell comes first.
                .filter(|row: &Row| {
                    !special || improving_or_concerning(row.cells[0].variation.as_ref())
                })
                .collect(),
        })
        .collect();
    let page = BoardPage {
        layout: Layout::for_user(&signed, "/outcomes"),
        areas: areas.into_iter().map(|(name, _)| name).collect(),
        groups,
        outcome_options: outcome_options(&outcome_list, outcome_filter),
        special,
    };
    Ok(Html(page.render()?))
}

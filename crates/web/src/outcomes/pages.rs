//! The pages: the board's dashboard, an indicator's SPC chart and the public explorer, with their CSV and SVG downloads.

use super::charts::{self, Line, SpcPoint, number};
use super::{
    CUMULATIVE_NOTE, Icon, assurance_icon, chart, colour_words, cumulative, dimension_label,
    period_label, period_long, signed_may, suppressed, suppressed_words, variation_icon, with_unit,
    year_before,
};
use crate::AppState;
use crate::error::AppError;
use crate::extract::{Form, MultiQuery, Path, Query};
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::equality;
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::accounts::{self, Locality};
use earlyhelp_storage::gate::{Request, authorise};
use earlyhelp_storage::outcomes::computed::is_provisional;
use earlyhelp_storage::outcomes::{
    self, Annotation, CITY, Indicator, Outcome, Recalculation, Value,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// How many months a sparkline shows.
const SPARK_MONTHS: usize = 24;

pub(super) fn area_name(localities: &[Locality], area: &str) -> String {
    if area == CITY {
        return "The whole city".into();
    }
    localities
        .iter()
        .find(|l| l.slug == area)
        .map(|l| l.name.clone())
        .unwrap_or_else(|| area.to_string())
}

/// The area asked for, if it is one we know; otherwise the city.
pub(super) fn known_area(localities: &[Locality], asked: Option<&str>) -> String {
    match asked {
        Some(a) if localities.iter().any(|l| l.slug == a) => a.to_string(),
        _ => CITY.to_string(),
    }
}

pub(super) fn area_options(localities: &[Locality], selected: &str) -> Vec<SelectOption> {
    let mut options = vec![SelectOption::new(CITY, "The whole city", selected == CITY)];
    options.extend(
        localities
            .iter()
            .map(|l| SelectOption::new(l.slug.clone(), l.name.clone(), l.slug == selected)),
    );
    options
}

pub(super) fn csv_response(filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A series' whole months, and a computed indicator's month in progress, which is still
/// counting: shown as "so far", never charted or judged.
fn whole_months<'a>(
    indicator: &Indicator,
    mut series: Vec<&'a Value>,
) -> (Vec<&'a Value>, Option<&'a Value>) {
    let so_far = series
        .last()
        .filter(|v| is_provisional(indicator, &v.period))
        .copied();
    if so_far.is_some() {
        series.pop();
    }
    (series, so_far)
}

/// "December 2026 so far: 240", or the words for a suppressed value.
fn so_far_words(indicator: &Indicator, value: &Value, area: &str) -> String {
    let shown = if suppressed(indicator, area, &value.dimension, value.value, false) {
        suppressed_words(indicator)
    } else {
        with_unit(indicator, value.value)
    };
    format!("{} so far: {shown}", period_long(&value.period))
}

use crate::dates::day_of as micros_to_date;

/// Direction of travel since the last period, judged by the indicator's polarity.
pub struct Travel {
    pub words: String,
    /// `better`, `worse`, `same` or `none` (no judgement for "neither").
    pub judgement: &'static str,
    pub tag: &'static str,
}

fn travel(indicator: &Indicator, previous: f64, latest: f64) -> Travel {
    let change = latest - previous;
    if change.abs() < 1e-9 {
        return Travel {
            words: "No change".into(),
            judgement: "same",
            tag: "grey",
        };
    }
    let up = change > 0.0;
    let words = format!(
        "{} {}",
        if up { "Up" } else { "Down" },
        with_unit(indicator, change.abs())
    );
    let (judgement, tag) = match (indicator.better.as_str(), up) {
        ("higher", true) | ("lower", false) => ("better", "green"),
        ("higher", false) | ("lower", true) => ("worse", "red"),
        _ => ("none", "grey"),
    };
    Travel {
        words,
        judgement,
        tag,
    }
}

pub(super) fn travel_words(t: &Travel) -> &'static str {
    match t.judgement {
        "better" => "Better",
        "worse" => "Worse",
        "same" => "Same",
        _ => "No judgement",
    }
}

// ---------------------------------------------------------------------------------------
// Dashboard

struct DashRow {
    reference: String,
    name: String,
    href: String,
    latest_period: String,
    latest: String,
    travel: Option<Travel>,
    travel_label: &'static str,
    variation: Option<Icon>,
    assurance: Option<Icon>,
    sparkline: String,
    data_owner: String,
    updated: String,
    note: String,
    /// The month in progress of a computed indicator.
    so_far: String,
}

struct OutcomeGroup {
    number: i32,
    name: String,
    rows: Vec<DashRow>,
}

#[derive(Template)]
#[template(path = "outcomes_dashboard.html")]
struct DashboardPage {
    layout: Layout,
    groups: Vec<OutcomeGroup>,
    outcome_options: Vec<SelectOption>,
    area_options: Vec<SelectOption>,
    area_name: String,
    indicators: usize,
    can_load: bool,
}

#[derive(Deserialize, Default)]
pub struct DashboardQuery {
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    area: Option<String>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<DashboardQuery>,
) -> Result<Html<String>, AppError> {
    signed_may(&signed, Action::List)?;
    let localities = accounts::list_localities(&state.db).await?;
    let area = known_area(&localities, query.area.as_deref());
    let outcome_filter: Option<i32> = query.outcome.as_deref().and_then(|o| o.parse().ok());
    let outcome_list = outcomes::list_outcomes(&state.db).await?;
    let indicators = outcomes::list_indicators(&state.db).await?;
    let values = outcomes::current_values_for_area(&state.db, &area).await?;
    let recalculations = outcomes::all_recalculations(&state.db).await?;
    let mut by_indicator: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for v in &values {
        by_indicator
            .entry(v.indicator_ref.as_str())
            .or_default()
            .push(v);
    }
    let mut groups: Vec<OutcomeGroup> = outcome_list
        .iter()
        .filter(|o| outcome_filter.is_none_or(|f| f == o.number))
        .map(|o| OutcomeGroup {
            number: o.number,
            name: o.name.clone(),
            rows: Vec::new(),
        })
        .collect();
    let mut shown = 0;
    for indicator in &indicators {
        let Some(group) = groups
            .iter_mut()
            .find(|g| g.number == indicator.outcome_number)
        else {
            continue;
        };
        let series = by_indicator
            .get(indicator.reference.as_str())
            .cloned()
            .unwrap_or_default();
        group
            .rows
            .push(dash_row(indicator, series, &area, &recalculations));
        shown += 1;
    }
    let page = DashboardPage {
        layout: Layout::for_user(&signed, "/outcomes"),
        groups,
        outcome_options: outcome_options(&outcome_list, outcome_filter),
        area_options: area_options(&localities, &area),
        area_name: area_name(&localities, &area),
        indicators: shown,
        can_load: signed_may(&signed, Action::Create).is_ok(),
    };
    Ok(Html(page.render()?))
}

/// What the dashboard and the board's grid say of one area's series of an indicator: its
/// latest whole month, the change since the month before and SPC's judgement, with the months
/// charted for a sparkline.
pub(super) struct Judged {
    pub latest_period: String,
    pub latest: String,
    /// The latest value is a small number, hidden.
    pub hidden: bool,
    pub travel: Option<Travel>,
    pub travel_label: &'static str,
    pub variation: Option<Icon>,
    pub assurance: Option<Icon>,
    pub note: String,
    /// The month in progress of a computed indicator.
    pub so_far: String,
    values: Vec<f64>,
    periods: Vec<String>,
    last_colour: spc::Colour,
}

pub(super) fn judge(
    indicator: &Indicator,
    series: Vec<&Value>,
    area: &str,
    recalculations: &[Recalculation],
) -> Judged {
    let mut judged = Judged {
        latest_period: String::new(),
        latest: "No data".into(),
        hidden: false,
        travel: None,
        travel_label: "",
        variation: None,
        assurance: None,
        note: String::new(),
        so_far: String::new(),
        values: Vec::new(),
        periods: Vec::new(),
        last_colour: spc::Colour::default(),
    };
    let (series, so_far) = whole_months(indicator, series);
    if let Some(v) = so_far {
        judged.so_far = so_far_words(indicator, v, area);
        judged.latest = "No whole month yet".into();
    }
    let Some(last) = series.last() else {
        return judged;
    };
    judged.latest_period = period_label(&last.period);
    // A series with a suppressed value shows no chart, limits or change: each could give the
    // small number away.
    if series
        .iter()
        .any(|v| suppressed(indicator, area, "", v.value, false))
    {
        judged.hidden = suppressed(indicator, area, "", last.value, false);
        judged.latest = if judged.hidden {
            suppressed_words(indicator)
        } else {
            with_unit(indicator, last.value)
        };
        judged.note = "Small numbers suppressed: no chart for this area".into();
        return judged;
    }
    judged.latest = with_unit(indicator, last.value);
    let values: Vec<f64> = series.iter().map(|v| v.value).collect();
    let periods: Vec<&str> = series.iter().map(|v| v.period.as_str()).collect();
    let chart = chart(indicator, recalculations, &values, &periods);
    if values.len() >= 2 {
        let mut t = travel(
            indicator,
            values[values.len() - 2],
            values[values.len() - 1],
        );
        judged.travel_label = travel_words(&t);
        // Red or green for a month that SPC calls the usual ups and downs would tell the
        // board the opposite of the variation icon beside it.
        if chart.variation_icon() == Some(spc::VariationIcon::CommonCause) && t.tag != "grey" {
            t.tag = "grey";
            judged.travel_label = match t.judgement {
                "better" => "Better, within the usual range",
                _ => "Worse, within the usual range",
            };
        }
        judged.travel = Some(t);
    }
    judged.variation = chart.variation_icon().map(variation_icon);
    judged.assurance = chart.assurance_icon().map(assurance_icon);
    if judged.variation.is_none() {
        judged.note = if values.len() < spc::MIN_POINTS {
            format!("{} months: SPC needs {}", values.len(), spc::MIN_POINTS)
        } else {
            format!(
                "Limits recalculated: SPC needs {} months since",
                spc::MIN_POINTS
            )
        };
    }
    judged.last_colour = chart.points.last().map(|p| p.colour).unwrap_or_default();
    judged.periods = periods.iter().map(|p| p.to_string()).collect();
    judged.values = values;
    judged
}

/// The outcome filter's choices: all, or one of the nine.
pub(super) fn outcome_options(outcomes: &[Outcome], chosen: Option<i32>) -> Vec<SelectOption> {
    std::iter::once(SelectOption::new("", "All outcomes", chosen.is_none()))
        .chain(outcomes.iter().map(|o| {
            SelectOption::new(
                o.number.to_string(),
                format!("{}. {}", o.number, o.name),
                chosen == Some(o.number),
            )
        }))
        .collect()
}

/// An indicator's page for an area.
pub(super) fn indicator_href(reference: &str, area: &str) -> String {
    if area == CITY {
        format!("/outcomes/indicators/{reference}")
    } else {
        format!("/outcomes/indicators/{reference}?area={area}")
    }
}

fn dash_row(
    indicator: &Indicator,
    series: Vec<&Value>,
    area: &str,
    recalculations: &[Recalculation],
) -> DashRow {
    let href = indicator_href(&indicator.reference, area);
    let updated = series
        .iter()
        .map(|v| v.loaded_micros)
        .max()
        .map(micros_to_date)
        .unwrap_or_default();
    let judged = judge(indicator, series, area, recalculations);
    let start = judged.values.len().saturating_sub(SPARK_MONTHS);
    let sparkline = match (judged.values.get(start), judged.values.last()) {
        (Some(first), Some(last)) => {
            let label = format!(
                "Trend from {} in {} to {} in {}",
                with_unit(indicator, *first),
                period_label(&judged.periods[start]),
                with_unit(indicator, *last),
                judged.latest_period
            );
            charts::sparkline(&judged.values[start..], judged.last_colour, &label)
        }
        _ => String::new(),
    };
    DashRow {
        reference: indicator.reference.clone(),
        name: indicator.name.clone(),
        href,
        latest_period: judged.latest_period,
        latest: judged.latest,
        travel: judged.travel,
        travel_label: judged.travel_label,
        variation: judged.variation,
        assurance: judged.assurance,
        sparkline,
        data_owner: indicator.data_owner.clone(),
        updated,
        note: judged.note,
        so_far: judged.so_far,
    }
}

// ---------------------------------------------------------------------------------------
// Indicator page

struct TableRow {
    row_id: String,
    period: String,
    value: String,
    mean: String,
    lower: String,
    upper: String,
    colour: &'static str,
    colour_key: &'static str,
    notes: String,
}

struct AnnotationLine {
    period: String,
    area: String,
    note: String,
    by: String,
}

struct CorrectionLine {
    period: String,
    area: String,
    group: String,
    revision: i32,
    value: String,
    current: bool,
    by: String,
    when: String,
}

struct LocalityLine {
    name: String,
    href: String,
    value: String,
}

/// The latest month of one breakdown (reasons for request, say) in the area shown.
struct BreakdownTable {
    dimension: String,
    title: String,
    rows: Vec<(String, String)>,
}

struct RecalculationLine {
    period: String,
    month: String,
    reason: String,
    by: String,
}

/// What a person typed into the page's forms, shown again beside an error.
#[derive(Default)]
pub(super) struct Typed {
    pub note: String,
    pub baseline: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "outcomes_indicator.html")]
struct IndicatorPage {
    layout: Layout,
    indicator: Indicator,
    outcome: String,
    better: &'static str,
    target: String,
    area: String,
    area_name: String,
    area_options: Vec<SelectOption>,
    chart_svg: String,
    spc_note: String,
    /// A running total, charted without process limits.
    running_total: bool,
    rows: Vec<TableRow>,
    variation: Option<Icon>,
    assurance: Option<Icon>,
    annotations: Vec<AnnotationLine>,
    corrections: Vec<CorrectionLine>,
    localities: Vec<LocalityLine>,
    latest_period: String,
    breakdowns: Vec<BreakdownTable>,
    has_groups: bool,
    so_far: String,
    can_annotate: bool,
    errors: Vec<FieldError>,
    typed: Typed,
    period_options: Vec<SelectOption>,
    rules_nhsr: bool,
    rules_words: &'static str,
    baseline_words: String,
    recalculations: Vec<RecalculationLine>,
}

impl IndicatorPage {
    fn error(&self, field: &str) -> Option<&str> {
        crate::views::error_for(&self.errors, field)
    }
}

#[derive(Deserialize, Default)]
pub struct AreaQuery {
    #[serde(default)]
    area: Option<String>,
}

fn better_words(indicator: &Indicator) -> &'static str {
    match indicator.better.as_str() {
        "higher" => "Higher is better",
        "lower" => "Lower is better",
        _ => "Neither higher nor lower is better",
    }
}

/// The SPC chart of one series, as SVG, with the rows of its table.
struct Drawn {
    svg: String,
    rows: Vec<TableRow>,
    chart: spc::Chart,
    note: String,
}

fn draw(
    indicator: &Indicator,
    area_name: &str,
    series: &[&Value],
    annotations: &[Annotation],
    recalculations: &[Recalculation],
    area: &str,
    headed: bool,
) -> Drawn {
    let values: Vec<f64> = series.iter().map(|v| v.value).collect();
    let periods: Vec<&str> = series.iter().map(|v| v.period.as_str()).collect();
    let chart = chart(indicator, recalculations, &values, &periods);
    // Why each new phase starts, in the words of whoever recalculated it.
    let recalculated: Vec<String> = (0..series.len())
        .map(|i| {
            if !chart.phases.iter().skip(1).any(|ph| ph.start == i) {
                return String::new();
            }
            let reasons: Vec<&str> = recalculations
                .iter()
                .filter(|r| periods.iter().position(|p| *p >= r.period.as_str()) == Some(i))
                .map(|r| r.reason.as_str())
                .collect();
            format!("Limits recalculated from here: {}", reasons.join("; "))
        })
        .collect();
    let mut rows = Vec::with_capacity(series.len());
    let mut points = Vec::with_capacity(series.len());
    for ((v, p), recalculation) in series.iter().zip(&chart.points).zip(&recalculated) {
        let mut notes: Vec<&str> = annotations
            .iter()
            .filter(|a| a.period == v.period && (a.area == area || a.area == CITY))
            .map(|a| a.note.as_str())
            .collect();
        if !recalculation.is_empty() {
            notes.push(recalculation);
        }
        let row_id = format!("point-{}", v.period);
        let words = colour_words(p.colour);
        let mut description = format!(
            "{}: {}. {}.",
            period_long(&v.period),
            with_unit(indicator, v.value),
            words
        );
        if !notes.is_empty() {
            description.push_str(&format!(" Note: {}.", notes.join("; ")));
        }
        points.push(SpcPoint {
            label: period_label(&v.period),
            description,
            row_id: row_id.clone(),
            annotated: !notes.is_empty(),
        });
        let limit = |f: fn(&spc::Limits) -> f64| {
            p.limits
                .as_ref()
                .map(|l| number(f(l), 1))
                .unwrap_or_default()
        };
        rows.push(TableRow {
            row_id,
            period: period_long(&v.period),
            value: with_unit(indicator, v.value),
            mean: number(p.mean, 1),
            lower: limit(|l| l.lower),
            upper: limit(|l| l.upper),
            colour: words,
            colour_key: p.colour.as_str(),
            notes: notes.join("; "),
        });
    }
    let note = if cumulative(indicator) {
        CUMULATIVE_NOTE.to_string()
    } else if values.len() < spc::MIN_POINTS {
        format!(
            "There are {} months of data. Process limits and special causes need at least {}, as in NHS England's Making Data Count.",
            values.len(),
            spc::MIN_POINTS
        )
    } else if chart.phases.iter().any(|ph| ph.limits.is_none()) {
        format!(
            "Part of the chart, after a recalculation, has fewer than {} months: it has no process limits or special causes yet.",
            spc::MIN_POINTS
        )
    } else {
        String::new()
    };
    let title = format!(
        "{} ({}): {}",
        indicator.name, indicator.reference, area_name
    );
    let description = match (series.first(), series.last(), chart.points.last()) {
        (Some(first), Some(last), Some(p)) => format!(
            "Statistical process control chart of {} months from {} to {}. Latest value {}. Mean {}{}. {}. The table after the chart gives every value.",
            series.len(),
            period_long(&first.period),
            period_long(&last.period),
            with_unit(indicator, last.value),
            number(p.mean, 1),
            p.limits
                .map(|l| format!(
                    ", process limits {} to {}",
                    number(l.lower, 1),
                    number(l.upper, 1)
                ))
                .unwrap_or_default(),
            chart
                .variation_icon()
                .map(|i| variation_icon(i).words)
                .unwrap_or("Too few points for limits"),
        ),
        _ => "No values yet.".into(),
    };
    let svg = charts::spc_chart("spc", &title, &description, &chart, &points, headed);
    Drawn {
        svg,
        rows,
        chart,
        note,
    }
}

/// An indicator with its current values (every area and group), the localities and the
/// indicator's recalculation points.
pub(super) struct Loaded {
    pub indicator: Indicator,
    pub values: Vec<Value>,
    pub localities: Vec<Locality>,
    pub recalculations: Vec<Recalculation>,
}

pub(super) async fn load_indicator(state: &AppState, reference: &str) -> Result<Loaded, AppError> {
    let indicator = outcomes::indicator(&state.db, reference)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Loaded {
        values: outcomes::current_values(&state.db, reference).await?,
        localities: accounts::list_localities(&state.db).await?,
        recalculations: outcomes::recalculations(&state.db, reference).await?,
        indicator,
    })
}

fn series_of<'a>(values: &'a [Value], area: &str, dimension: &str, group: &str) -> Vec<&'a Value> {
    values
        .iter()
        .filter(|v| v.area == area && v.dimension == dimension && v.grp == group)
        .collect()
}

pub async fn indicator(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
    Query(query): Query<AreaQuery>,
) -> Result<Response, AppError> {
    signed_may(&signed, Action::Read)?;
    let page = indicator_page(
        &state,
        &signed,
        &reference,
        query.area.as_deref(),
        Vec::new(),
        Typed::default(),
    )
    .await?;
    Ok(Html(page.render()?).into_response())
}

async fn indicator_page(
    state: &AppState,
    signed: &Signed,
    reference: &str,
    asked_area: Option<&str>,
    errors: Vec<FieldError>,
    typed: Typed,
) -> Result<IndicatorPage, AppError> {
    let Loaded {
        indicator,
        values,
        localities,
        recalculations,
    } = load_indicator(state, reference).await?;
    let area = known_area(&localities, asked_area);
    let name = area_name(&localities, &area);
    let outcome = outcomes::list_outcomes(&state.db)
        .await?
        .into_iter()
        .find(|o| o.number == indicator.outcome_number)
        .map(|o| format!("{}. {}", o.number, o.name))
        .unwrap_or_default();
    let annotation_rows = outcomes::annotations(&state.db, reference).await?;
    let (series, so_far) = whole_months(&indicator, series_of(&values, &area, "", ""));
    let hidden = series
        .iter()
        .any(|v| suppressed(&indicator, &area, "", v.value, false));
    let (chart_svg, rows, variation, assurance, spc_note) = if series.is_empty() {
        // A computed indicator's first month says "so far" already.
        let words = if so_far.is_some() {
            ""
        } else {
            "There are no values yet."
        };
        (String::new(), Vec::new(), None, None, words.to_string())
    } else if hidden {
        (
            String::new(),
            Vec::new(),
            None,
            None,
            format!(
                "Some values for {name} are {}, so they are suppressed and no chart is drawn: they could identify people.",
                suppressed_words(&indicator)
            ),
        )
    } else {
        let drawn = draw(
            &indicator,
            &name,
            &series,
            &annotation_rows,
            &recalculations,
            &area,
            false,
        );
        (
            drawn.svg,
            drawn.rows,
            drawn.chart.variation_icon().map(variation_icon),
            drawn.chart.assurance_icon().map(assurance_icon),
            drawn.note,
        )
    };
    let latest_period = values
        .iter()
        .map(|v| v.period.as_str())
        .max()
        .unwrap_or("")
        .to_string();
    let breakdowns = breakdown_tables(&indicator, &values, &area, &latest_period);
    let so_far = so_far
        .map(|v| {
            format!(
                "{}. The month is not over, so it is not on the chart.",
                so_far_words(&indicator, v, &area)
            )
        })
        .unwrap_or_default();
    let mut locality_lines = Vec::new();
    if !latest_period.is_empty() {
        for l in &localities {
            let value = values
                .iter()
                .find(|v| v.area == l.slug && v.dimension.is_empty() && v.period == latest_period);
            let Some(value) = value else { continue };
            locality_lines.push(LocalityLine {
                name: l.name.clone(),
                href: format!(
                    "/outcomes/indicators/{}?area={}",
                    indicator.reference, l.slug
                ),
                value: if suppressed(&indicator, &l.slug, "", value.value, false) {
                    suppressed_words(&indicator)
                } else {
                    with_unit(&indicator, value.value)
                },
            });
        }
    }
    let corrections = outcomes::corrections(&state.db, reference)
        .await?
        .into_iter()
        .map(|r| CorrectionLine {
            period: period_long(&r.period),
            area: area_name(&localities, &r.area),
            group: if r.dimension.is_empty() {
                "Everyone".into()
            } else {
                format!("{}: {}", dimension_label(&r.dimension), r.grp)
            },
            revision: r.revision,
            value: if suppressed(&indicator, &r.area, &r.dimension, r.value, false) {
                suppressed_words(&indicator)
            } else {
                with_unit(&indicator, r.value)
            },
            current: r.current,
            by: r.loaded_by,
            when: micros_to_date(r.loaded_micros),
        })
        .collect();
    let annotations = annotation_rows
        .iter()
        .map(|a| AnnotationLine {
            period: period_long(&a.period),
            area: area_name(&localities, &a.area),
            note: a.note.clone(),
            by: a.created_by.clone(),
        })
        .collect();
    let mut period_options: Vec<SelectOption> = series
        .iter()
        .rev()
        .map(|v| SelectOption::new(v.period.clone(), period_long(&v.period), false))
        .collect();
    if let Some(first) = period_options.first_mut() {
        first.selected = true;
    }
    Ok(IndicatorPage {
        layout: Layout::for_user(signed, "/outcomes"),
        better: better_words(&indicator),
        target: indicator
            .target
            .map(|t| with_unit(&indicator, t))
            .unwrap_or_default(),
        outcome,
        area_options: area_options(&localities, &area),
        area_name: name,
        area,
        chart_svg,
        spc_note,
        running_total: cumulative(&indicator),
        rows,
        variation,
        assurance,
        annotations,
        corrections,
        localities: locality_lines,
        latest_period: if is_provisional(&indicator, &latest_period) {
            format!("{} so far", period_long(&latest_period))
        } else {
            period_long(&latest_period)
        },
        breakdowns,
        has_groups: values
            .iter()
            .any(|v| equality::DIMENSIONS.iter().any(|(d, _)| *d == v.dimension)),
        so_far,
        can_annotate: signed_may(signed, Action::Create).is_ok(),
        errors,
        typed,
        period_options,
        rules_nhsr: super::rules(&indicator) == spc::Rules::Nhsr,
        rules_words: rules_words(super::rules(&indicator)),
        baseline_words: match indicator.spc_baseline {
            Some(months) => format!(
                "From the first {months} months of the chart, and of each recalculated part of it"
            ),
            None => "From every month of the chart, or of each recalculated part of it".into(),
        },
        recalculations: recalculations
            .iter()
            .map(|r| RecalculationLine {
                period: r.period.clone(),
                month: period_long(&r.period),
                reason: r.reason.clone(),
                by: r.created_by.clone(),
            })
            .collect(),
        indicator,
    })
}

fn rules_words(rules: spc::Rules) -> &'static str {
    match rules {
        spc::Rules::Mdc => {
            "NHS England's Making Data Count: a shift or a trend is 6 months in a row"
        }
        spc::Rules::Nhsr => {
            "NHS-R (NHSRplotthedots): a shift or a trend is 7 months in a row, and unusually large month-to-month jumps are left out of the limits"
        }
    }
}

/// Each breakdown but ethnicity (which has its own page) for the latest month in the area.
fn breakdown_tables(
    indicator: &Indicator,
    values: &[Value],
    area: &str,
    latest: &str,
) -> Vec<BreakdownTable> {
    let mut tables: Vec<BreakdownTable> = Vec::new();
    for v in values.iter().filter(|v| {
        v.area == area
            && v.period == latest
            && !v.dimension.is_empty()
            && v.dimension != "ethnicity"
    }) {
        let shown = if suppressed(indicator, area, &v.dimension, v.value, false) {
            suppressed_words(indicator)
        } else {
            with_unit(indicator, v.value)
        };
        match tables.iter_mut().find(|t| t.dimension == v.dimension) {
            Some(table) => table.rows.push((v.grp.clone(), shown)),
            None => tables.push(BreakdownTable {
                dimension: v.dimension.clone(),
                title: dimension_label(&v.dimension).to_string(),
                rows: vec![(v.grp.clone(), shown)],
            }),
        }
    }
    tables
}

#[derive(Deserialize, Default)]
pub struct AnnotationForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    note: String,
}

pub async fn add_annotation(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
    Form(form): Form<AnnotationForm>,
) -> Result<Response, AppError> {
    signed.check_csrf(&form.csrf_token)?;
    signed_may(&signed, Action::Create)?;
    let (indicator, area) = indicator_and_area(&state, &reference, &form.area).await?;
    let note = form.note.trim().to_string();
    let mut errors = Vec::new();
    let period = super::load::parse_period(&form.period);
    if period.is_none() {
        errors.push(FieldError::new(
            "period",
            "Choose the month the note is about",
        ));
    }
    if note.is_empty() {
        errors.push(FieldError::new(
            "note",
            "Enter the note, for example \u{201c}Schools closed\u{201d}",
        ));
    } else if note.chars().count() > 200 {
        errors.push(FieldError::new(
            "note",
            "The note must be 200 characters or fewer",
        ));
    }
    let Some(period) = period.filter(|_| errors.is_empty()) else {
        let typed = Typed {
            note,
            ..Typed::default()
        };
        return refuse(&state, &signed, &reference, &area, errors, typed).await;
    };
    let mut authorised =
        authorise_update(&state, &signed, &indicator, "annotate an indicator").await?;
    outcomes::add_annotation(
        &mut authorised,
        &Annotation {
            id: Uuid::now_v7(),
            indicator_ref: indicator.reference.clone(),
            period,
            area: area.clone(),
            note,
            created_by: signed.user.actor.email.clone(),
            created_micros: earlyhelp_storage::now_micros(),
        },
    )
    .await?;
    authorised.tx.commit().await?;
    Ok(back_to(&indicator, &area, "annotations"))
}

/// The indicator a form is about, and the area it was posted from.
pub(super) async fn indicator_and_area(
    state: &AppState,
    reference: &str,
    area: &str,
) -> Result<(Indicator, String), AppError> {
    let indicator = outcomes::indicator(&state.db, reference)
        .await?
        .ok_or(AppError::NotFound)?;
    let localities = accounts::list_localities(&state.db).await?;
    Ok((indicator, known_area(&localities, Some(area))))
}

/// The indicator page again, with what was typed and what is wrong with it.
pub(super) async fn refuse(
    state: &AppState,
    signed: &Signed,
    reference: &str,
    area: &str,
    errors: Vec<FieldError>,
    typed: Typed,
) -> Result<Response, AppError> {
    let page = indicator_page(state, signed, reference, Some(area), errors, typed).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
}

/// The gate's check, audited, that the signed-in person may change the indicator.
pub(super) async fn authorise_update(
    state: &AppState,
    signed: &Signed,
    indicator: &Indicator,
    purpose: &str,
) -> Result<earlyhelp_storage::gate::Authorised, AppError> {
    let subject = format!("indicator:{}", indicator.reference);
    Ok(authorise(
        &state.db,
        &signed.who(),
        Request {
            action: Action::Update,
            resource: Resource::Indicators,
            subject: &subject,
            purpose,
        },
    )
    .await?)
}

/// Back to the indicator page for the area, at the section `anchor`.
pub(super) fn back_to(indicator: &Indicator, area: &str, anchor: &str) -> Response {
    let query = if area == CITY {
        String::new()
    } else {
        format!("?area={area}")
    };
    // Built from stored values, but through the one check all the same.
    let back = format!(
        "/outcomes/indicators/{}{query}#{anchor}",
        indicator.reference
    );
    crate::redirect::to(&back, "/outcomes").into_response()
}

fn csv_line(fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
    out
}

/// Every current value of the indicator, every area and group; small numbers suppressed.
pub async fn indicator_csv(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
) -> Result<Response, AppError> {
    signed_may(&signed, Action::Read)?;
    let Loaded {
        indicator, values, ..
    } = load_indicator(&state, &reference).await?;
    let mut body = csv_line(&[
        "indicator",
        "period",
        "area",
        "dimension",
        "group",
        "value",
        "denominator",
        "revision",
        "note",
    ]);
    for v in &values {
        let hidden = suppressed(&indicator, &v.area, &v.dimension, v.value, false);
        let value = if hidden {
            String::new()
        } else {
            v.value.to_string()
        };
        let denominator = v.denominator.map(|d| d.to_string()).unwrap_or_default();
        let revision = v.revision.to_string();
        let note = if hidden {
            suppressed_words(&indicator)
        } else if is_provisional(&indicator, &v.period) {
            "so far: the month is not over".to_string()
        } else {
            String::new()
        };
        body.push_str(&csv_line(&[
            &indicator.reference,
            &v.period,
            &v.area,
            &v.dimension,
            &v.grp,
            &value,
            &denominator,
            &revision,
            &note,
        ]));
    }
    Ok(csv_response(
        &format!("indicator-{}.csv", indicator.reference),
        body,
    ))
}

/// The chart on its own, to put in a board paper: as SVG, or as PNG for documents and slides
/// that take no SVG.
pub async fn indicator_svg(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
    Query(query): Query<AreaQuery>,
) -> Result<Response, AppError> {
    let (name, svg) = chart_alone(&state, &signed, &reference, query).await?;
    Ok(download(
        "image/svg+xml",
        &format!("{name}.svg"),
        svg.into_bytes(),
    ))
}

pub async fn indicator_png(
    State(state): State<AppState>,
    signed: Signed,
    Path(reference): Path<String>,
    Query(query): Query<AreaQuery>,
) -> Result<Response, AppError> {
    let (name, svg) = chart_alone(&state, &signed, &reference, query).await?;
    let png = tokio::task::spawn_blocking(move || charts::png(&svg))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    Ok(download("image/png", &format!("{name}.png"), png))
}

/// The file name and SVG of an area's chart; 404 where small numbers hide the chart.
async fn chart_alone(
    state: &AppState,
    signed: &Signed,
    reference: &str,
    query: AreaQuery,
) -> Result<(String, String), AppError> {
    signed_may(signed, Action::Read)?;
    let loaded = load_indicator(state, reference).await?;
    let indicator = &loaded.indicator;
    let area = known_area(&loaded.localities, query.area.as_deref());
    let (series, _) = whole_months(indicator, series_of(&loaded.values, &area, "", ""));
    if series
        .iter()
        .any(|v| suppressed(indicator, &area, "", v.value, false))
    {
        return Err(AppError::NotFound);
    }
    let annotations = outcomes::annotations(&state.db, reference).await?;
    let drawn = draw(
        indicator,
        &area_name(&loaded.localities, &area),
        &series,
        &annotations,
        &loaded.recalculations,
        &area,
        true,
    );
    Ok((
        format!("indicator-{}-{area}", indicator.reference),
        drawn.svg,
    ))
}

fn download(content_type: &str, filename: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Explore: public

/// A line's entry in a chart's key.
pub(super) struct LegendItem {
    pub name: String,
    pub colour: &'static str,
    pub dash: &'static str,
}

/// A month's row of a chart's data table.
pub(super) struct GridRow {
    pub period: String,
    pub cells: Vec<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct ExploreQuery {
    #[serde(default)]
    indicator: Option<String>,
    #[serde(default)]
    area: Vec<String>,
    #[serde(default)]
    breakdown: Option<String>,
}

struct OptGroup {
    label: String,
    options: Vec<SelectOption>,
}

struct ExploreResult {
    title: String,
    summary: Vec<String>,
    chart_svg: String,
    legend: Vec<LegendItem>,
    columns: Vec<String>,
    grid: Vec<GridRow>,
    csv_href: String,
    share_href: String,
    suppressed_note: String,
    month_note: String,
}

#[derive(Template)]
#[template(path = "outcomes_explore.html")]
struct ExplorePage {
    layout: Layout,
    indicator_groups: Vec<OptGroup>,
    area_options: Vec<SelectOption>,
    breakdown_options: Vec<SelectOption>,
    result: Option<ExploreResult>,
}

/// One line of the explorer: an area, or a group within the first area.
struct ExploreSeries {
    name: String,
    area: String,
    dimension: String,
    group: String,
}

struct Explored {
    indicator: Indicator,
    periods: Vec<String>,
    series: Vec<ExploreSeries>,
    /// `None` where there is no value or it is suppressed.
    cells: Vec<Vec<Option<f64>>>,
    suppressed_any: bool,
    /// A computed indicator's month in progress was left out.
    month_in_progress: bool,
    recalculations: Vec<Recalculation>,
    query: ExploreQuery,
}

fn explore_query_string(q: &ExploreQuery) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(i) = &q.indicator {
        pairs.push(("indicator", i));
    }
    for a in &q.area {
        pairs.push(("area", a));
    }
    if let Some(b) = q.breakdown.as_deref().filter(|b| !b.is_empty()) {
        pairs.push(("breakdown", b));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

async fn explore_data(
    state: &AppState,
    mut query: ExploreQuery,
    localities: &[Locality],
) -> Result<Option<Explored>, AppError> {
    let Some(reference) = query.indicator.clone().filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let Some(indicator) = outcomes::indicator(&state.db, &reference)
        .await?
        .filter(|i| i.public)
    else {
        return Ok(None);
    };
    let mut areas: Vec<String> = query
        .area
        .iter()
        .filter(|a| *a == CITY || localities.iter().any(|l| l.slug == **a))
        .cloned()
        .collect();
    areas.dedup();
    if areas.is_empty() {
        areas.push(CITY.into());
    }
    query.area = areas.clone();
    let mut values = outcomes::current_values(&state.db, &indicator.reference).await?;
    let before = values.len();
    values.retain(|v| !is_provisional(&indicator, &v.period));
    let month_in_progress = values.len() < before;
    let recalculations = outcomes::recalculations(&state.db, &indicator.reference).await?;
    let breakdown = query
        .breakdown
        .clone()
        .filter(|b| super::dimensions().any(|(d, _)| d == b));
    query.breakdown = breakdown.clone();
    let series: Vec<ExploreSeries> = match &breakdown {
        Some(dimension) => {
            let area = areas[0].clone();
            let mut groups: Vec<String> = values
                .iter()
                .filter(|v| v.area == area && v.dimension == *dimension)
                .map(|v| v.grp.clone())
                .collect();
            groups.sort();
            groups.dedup();
            groups
                .into_iter()
                .map(|g| ExploreSeries {
                    name: format!("{g} ({})", area_name(localities, &area)),
                    area: area.clone(),
                    dimension: dimension.clone(),
                    group: g,
                })
                .collect()
        }
        None => areas
            .iter()
            .map(|a| ExploreSeries {
                name: area_name(localities, a),
                area: a.clone(),
                dimension: String::new(),
                group: String::new(),
            })
            .collect(),
    };
    let mut periods: Vec<String> = values
        .iter()
        .filter(|v| {
            series
                .iter()
                .any(|s| s.area == v.area && s.dimension == v.dimension && s.group == v.grp)
        })
        .map(|v| v.period.clone())
        .collect();
    periods.sort();
    periods.dedup();
    let mut suppressed_any = false;
    let cells = series
        .iter()
        .map(|s| {
            periods
                .iter()
                .map(|p| {
                    let v = values.iter().find(|v| {
                        v.area == s.area
                            && v.dimension == s.dimension
                            && v.grp == s.group
                            && v.period == *p
                    })?;
                    if suppressed(&indicator, &v.area, &v.dimension, v.value, true) {
                        suppressed_any = true;
                        None
                    } else {
                        Some(v.value)
                    }
                })
                .collect()
        })
        .collect();
    Ok(Some(Explored {
        indicator,
        periods,
        series,
        cells,
        suppressed_any,
        month_in_progress,
        recalculations,
        query,
    }))
}

/// Plain words on how the latest month compares with a year before and with the start of
/// the year, and what SPC makes of it: "how have incidents changed this year in my area".
fn summary_of(e: &Explored, k: usize) -> Option<String> {
    let ind = &e.indicator;
    let s = &e.series[k];
    let cells = &e.cells[k];
    let last = cells.iter().rposition(|c| c.is_some())?;
    let latest = cells[last]?;
    let period = &e.periods[last];
    let mut text = format!(
        "{}: {} in {}",
        s.name,
        with_unit(ind, latest),
        period_long(period)
    );
    let compare = |other: &str, words: &str| -> Option<String> {
        let i = e.periods.iter().position(|p| p == other)?;
        let before = e.cells[k][i]?;
        let change = latest - before;
        let pct = if before.abs() > 1e-9 {
            format!(
                " ({}{}%)",
                if change > 0.0 { "+" } else { "" },
                number(change / before * 100.0, 1)
            )
        } else {
            String::new()
        };
        Some(format!(
            "; {} {} {}{}",
            if change.abs() < 1e-9 {
                "the same as"
            } else if change > 0.0 {
                "up from"
            } else {
                "down from"
            },
            with_unit(ind, before),
            words,
            pct
        ))
    };
    if let Some(p) = year_before(period) {
        text.push_str(&compare(&p, &format!("in {}", period_long(&p))).unwrap_or_default());
    }
    let january = format!("{}-01", &period[..4]);
    if january != *period {
        text.push_str(
            &compare(&january, &format!("in {}", period_long(&january))).unwrap_or_default(),
        );
    }
    text.push('.');
    // SPC only where no value is hidden: a mean or limit could give a suppressed one away.
    if let Some(values) = cells.iter().copied().collect::<Option<Vec<f64>>>() {
        let months: Vec<&str> = e.periods.iter().map(String::as_str).collect();
        let chart = chart(ind, &e.recalculations, &values, &months);
        if let Some(icon) = chart.variation_icon() {
            let words = match icon {
                spc::VariationIcon::CommonCause => {
                    "within its usual range (common cause variation): no sign of real change"
                        .to_string()
                }
                other => format!(
                    "a sign of real change ({})",
                    variation_icon(other).words.to_lowercase()
                ),
            };
            text.push_str(&format!(
                " Statistical process control: the latest month is {words}."
            ));
        }
    }
    Some(text)
}

pub async fn explore(
    State(state): State<AppState>,
    MultiQuery(query): MultiQuery<ExploreQuery>,
) -> Result<Html<String>, AppError> {
    let localities = accounts::list_localities(&state.db).await?;
    let indicators = outcomes::list_indicators(&state.db).await?;
    let outcome_list = outcomes::list_outcomes(&state.db).await?;
    let explored = explore_data(&state, query.clone(), &localities).await?;
    let chosen = explored
        .as_ref()
        .map(|e| e.indicator.reference.clone())
        .unwrap_or_default();
    let indicator_groups = outcome_list
        .iter()
        .map(|o| OptGroup {
            label: format!("{}. {}", o.number, o.name),
            options: indicators
                .iter()
                .filter(|i| i.public && i.outcome_number == o.number)
                .map(|i| {
                    SelectOption::new(
                        i.reference.clone(),
                        format!("{} {}", i.reference, i.name),
                        i.reference == chosen,
                    )
                })
                .collect(),
        })
        .filter(|g| !g.options.is_empty())
        .collect();
    let chosen_areas = explored
        .as_ref()
        .map(|e| e.query.area.clone())
        .unwrap_or_else(|| vec![CITY.into()]);
    let mut area_options = vec![SelectOption::new(
        CITY,
        "The whole city",
        chosen_areas.iter().any(|a| a == CITY),
    )];
    area_options.extend(localities.iter().map(|l| {
        SelectOption::new(
            l.slug.clone(),
            l.name.clone(),
            chosen_areas.contains(&l.slug),
        )
    }));
    let breakdown = explored
        .as_ref()
        .and_then(|e| e.query.breakdown.clone())
        .unwrap_or_default();
    let mut breakdown_options = vec![SelectOption::new("", "No breakdown", breakdown.is_empty())];
    breakdown_options
        .extend(super::dimensions().map(|(d, label)| SelectOption::new(d, label, breakdown == d)));
    let result = explored.map(|e| {
        let labels: Vec<String> = e.periods.iter().map(|p| period_label(p)).collect();
        let lines: Vec<Line> = e
            .series
            .iter()
            .zip(&e.cells)
            .map(|(_, c)| Line { values: c.clone() })
            .collect();
        let title = e.indicator.name.clone();
        let names: Vec<String> = e.series.iter().map(|s| s.name.clone()).collect();
        let chart_svg = if e.periods.is_empty() || e.series.is_empty() {
            String::new()
        } else {
            charts::line_chart(
                "explore",
                &title,
                &format!(
                    "Line chart of {} for {} from {} to {}. The table after the chart gives every value.",
                    e.indicator.name,
                    names.join(", "),
                    period_long(&e.periods[0]),
                    period_long(e.periods.last().map(String::as_str).unwrap_or_default())
                ),
                &labels,
                &lines,
            )
        };
        let words = suppressed_words(&e.indicator);
        let grid = e
            .periods
            .iter()
            .enumerate()
            .map(|(i, p)| GridRow {
                period: period_long(p),
                cells: e
                    .cells
                    .iter()
                    .map(|c| match c[i] {
                        Some(v) => with_unit(&e.indicator, v),
                        None => "–".into(),
                    })
                    .collect(),
            })
            .collect();
        let qs = explore_query_string(&e.query);
        ExploreResult {
            summary: (0..e.series.len()).filter_map(|k| summary_of(&e, k)).collect(),
            chart_svg,
            legend: names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let (colour, dash) = charts::series_style(i);
                    LegendItem { name: n.clone(), colour, dash }
                })
                .collect(),
            columns: names,
            grid,
            csv_href: format!("/explore/data.csv?{qs}"),
            share_href: format!("/explore?{qs}"),
            suppressed_note: if e.suppressed_any {
                format!("Some values are {words}. They are not shown (–) because they could identify people.")
            } else {
                String::new()
            },
            month_note: if e.month_in_progress {
                "This month is still being counted, so it is not shown yet.".into()
            } else {
                String::new()
            },
            title: format!("{} ({})", title, e.indicator.reference),
        }
    });
    let page = ExplorePage {
        layout: Layout::anonymous(String::new()),
        indicator_groups,
        area_options,
        breakdown_options,
        result,
    };
    Ok(Html(page.render()?))
}

pub async fn explore_csv(
    State(state): State<AppState>,
    MultiQuery(query): MultiQuery<ExploreQuery>,
) -> Result<Response, AppError> {
    let localities = accounts::list_localities(&state.db).await?;
    let e = explore_data(&state, query, &localities)
        .await?
        .ok_or(AppError::NotFound)?;
    let words = suppressed_words(&e.indicator);
    let mut body = csv_line(&[
        "indicator",
        "name",
        "period",
        "area",
        "dimension",
        "group",
        "value",
        "note",
    ]);
    for (s, cells) in e.series.iter().zip(&e.cells) {
        for (p, c) in e.periods.iter().zip(cells) {
            let (value, note) = match c {
                Some(v) => (v.to_string(), String::new()),
                None => (String::new(), format!("suppressed ({words}) or missing")),
            };
            body.push_str(&csv_line(&[
                &e.indicator.reference,
                &e.indicator.name,
                p,
                &s.area,
                &s.dimension,
                &s.group,
                &value,
                &note,
            ]));
        }
    }
    Ok(csv_response(
        &format!("explore-{}.csv", e.indicator.reference),
        body,
    ))
}

//! The outcomes framework: the board's dashboard of every indicator with statistical process
//! control, an indicator's full chart, the equality view, the public "explore the data" pages,
//! and loading values (CSV uploads and the JSON API).
//!
//! Indicator values are aggregates, never person-level: reading them is decided by the
//! domain's access rules (`Resource::Indicators`) without an audit event per page; every load
//! and annotation passes the gate and is audited. Counts of people under an indicator's
//! threshold (default 5) are suppressed wherever they are shown by locality or group, and
//! everywhere on the public pages.

pub(crate) mod board;
mod charts;
mod equality;
pub(crate) mod load;
mod pages;
mod settings;

use crate::error::AppError;
use crate::routes::Routes;
use crate::session::Signed;
use axum::routing::{get, post};
use earlyhelp_domain::access::{Action, Resource, decide};
use earlyhelp_storage::outcomes::{CITY, Indicator, Recalculation, computed};
use utoipa::OpenApi;

pub use charts::{esc, number};

pub fn routes() -> Routes {
    Routes::new()
        .route("/outcomes", get(pages::dashboard))
        .route("/outcomes/board", get(board::board))
        .route("/outcomes/indicators/{reference}", get(pages::indicator))
        .route(
            "/outcomes/indicators/{reference}/annotations",
            post(pages::add_annotation),
        )
        .route(
            "/outcomes/indicators/{reference}/data.csv",
            get(pages::indicator_csv),
        )
        .route(
            "/outcomes/indicators/{reference}/chart.svg",
            get(pages::indicator_svg),
        )
        .route(
            "/outcomes/indicators/{reference}/chart.png",
            get(pages::indicator_png),
        )
        .route(
            "/outcomes/indicators/{reference}/spc",
            post(settings::set_rules),
        )
        .route(
            "/outcomes/indicators/{reference}/recalculations",
            post(settings::add_recalculation),
        )
        .route(
            "/outcomes/indicators/{reference}/recalculations/remove",
            post(settings::remove_recalculation),
        )
        .route(
            "/outcomes/indicators/{reference}/equality",
            get(equality::equality),
        )
        .upload("/outcomes/uploads", post(load::receive_upload))
        .route("/outcomes/uploads/new", get(load::new_upload))
        .route("/outcomes/uploads/template.csv", get(load::template_csv))
        .route("/outcomes/uploads/{id}", get(load::show_upload))
        .route("/outcomes/uploads/{id}/commit", post(load::commit_upload))
        .route("/explore", get(pages::explore))
        .route("/explore/data.csv", get(pages::explore_csv))
        .upload("/api/indicators/values", post(load::api_load))
}

/// The outcomes part of the OpenAPI description, merged into `/api/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    paths(load::api_load),
    components(schemas(
        load::ApiLoad,
        load::ApiValue,
        load::ApiLoaded,
        load::ApiProblems,
        load::RowProblem
    ))
)]
pub struct OutcomesApi;

/// May the signed-in person do `action` to indicators? The rule lives in the domain.
pub(crate) fn signed_may(signed: &Signed, action: Action) -> Result<(), AppError> {
    if decide(&signed.user.actor, action, &Resource::Indicators).allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn split_period(period: &str) -> Option<(&str, usize)> {
    let (year, month) = period.split_once('-')?;
    let month: usize = month.parse().ok()?;
    (1..=12).contains(&month).then_some((year, month))
}

/// `2020-01` → `Jan 2020`.
pub fn period_label(period: &str) -> String {
    match split_period(period) {
        Some((year, month)) => format!("{} {year}", &MONTHS[month - 1][..3]),
        None => period.to_string(),
    }
}

/// `2020-01` → `January 2020`.
pub fn period_long(period: &str) -> String {
    match split_period(period) {
        Some((year, month)) => format!("{} {year}", MONTHS[month - 1]),
        None => period.to_string(),
    }
}

/// The same month a year earlier.
pub fn year_before(period: &str) -> Option<String> {
    let (year, month) = split_period(period)?;
    let year: i32 = year.parse().ok()?;
    Some(format!("{:04}-{month:02}", year - 1))
}

/// Breakdowns a value may carry, with their labels: the equality groups and the reasons for
/// a request.
pub fn dimensions() -> impl Iterator<Item = (&'static str, &'static str)> {
    earlyhelp_domain::equality::DIMENSIONS
        .iter()
        .copied()
        .chain(std::iter::once((computed::REASON, "Reason for request")))
}

pub fn dimension_label(dimension: &str) -> &str {
    dimensions()
        .find(|(d, _)| *d == dimension)
        .map_or(dimension, |(_, label)| label)
}

pub fn direction(indicator: &Indicator) -> spc::Direction {
    match indicator.better.as_str() {
        "higher" => spc::Direction::Higher,
        "lower" => spc::Direction::Lower,
        _ => spc::Direction::Neither,
    }
}

/// How to chart a series of the indicator: its direction and target, and the rule set, baseline
/// and recalculation points chosen for it. `periods` are the series' months in order; a
/// recalculation applies from the first of them on or after its month.
pub fn spc_options(
    indicator: &Indicator,
    recalculations: &[Recalculation],
    periods: &[&str],
) -> spc::Options {
    let recalculate_at = recalculations
        .iter()
        .filter(|r| r.indicator_ref == indicator.reference)
        .filter_map(|r| periods.iter().position(|p| *p >= r.period.as_str()))
        .collect();
    spc::Options {
        rules: rules(indicator),
        direction: direction(indicator),
        target: indicator.target,
        baseline: indicator.spc_baseline.and_then(|b| usize::try_from(b).ok()),
        recalculate_at,
    }
}

/// Whether the indicator is a running total, as its name says ("... (cumulative)"): EH1 and
/// the business case's 1.7. A running total only rises, so process limits and special cause
/// rules mean nothing on it; it is charted as a run chart instead.
pub fn cumulative(indicator: &Indicator) -> bool {
    indicator
        .name
        .trim_end()
        .to_lowercase()
        .ends_with("(cumulative)")
}

/// The indicator's chart of `values` (months `periods`): XmR with its options, or a run chart
/// without limits for a running total.
pub fn chart(
    indicator: &Indicator,
    recalculations: &[Recalculation],
    values: &[f64],
    periods: &[&str],
) -> spc::Chart {
    let chart = spc::xmr(values, &spc_options(indicator, recalculations, periods));
    if cumulative(indicator) {
        chart.without_limits()
    } else {
        chart
    }
}

/// Why a running total has no process limits, as the indicator page says it.
pub const CUMULATIVE_NOTE: &str = "This indicator is a running total: each month adds to the last, so it only rises. Process limits and special causes (statistical process control) would flag its growth as a change every month, so the chart shows the values and their mean only.";

pub fn rules(indicator: &Indicator) -> spc::Rules {
    match indicator.spc_rules.as_str() {
        "nhsr" => spc::Rules::Nhsr,
        _ => spc::Rules::Mdc,
    }
}

/// A value with its unit: `2,898`, `17%`, `12 days`.
pub fn with_unit(indicator: &Indicator, value: f64) -> String {
    let n = number(value, 1);
    match indicator.unit.as_str() {
        "percent" => format!("{n}%"),
        "days" => format!("{n} days"),
        _ => n,
    }
}

/// Whether a value must be hidden: a count of people under the indicator's threshold, by
/// locality or group, or anywhere on a public page. Zero is shown: it identifies nobody.
pub fn suppressed(
    indicator: &Indicator,
    area: &str,
    dimension: &str,
    value: f64,
    public: bool,
) -> bool {
    let Some(threshold) = indicator.small_number_threshold else {
        return false;
    };
    let small = value > 0.0 && value < f64::from(threshold);
    small && (public || area != CITY || !dimension.is_empty())
}

/// The words shown instead of a suppressed value.
pub fn suppressed_words(indicator: &Indicator) -> String {
    format!(
        "fewer than {}",
        indicator.small_number_threshold.unwrap_or(5)
    )
}

/// An MDC icon as the templates draw it: a mark and a GOV.UK tag with the words.
pub struct Icon {
    pub key: &'static str,
    pub words: &'static str,
    /// GOV.UK tag colour.
    pub tag: &'static str,
    pub letter: &'static str,
    pub hex: &'static str,
}

pub fn variation_icon(icon: spc::VariationIcon) -> Icon {
    use spc::VariationIcon::*;
    let (words, tag, letter, colour) = match icon {
        CommonCause => ("Common cause variation", "grey", "~", spc::Colour::Grey),
        ImprovementHigh => ("Improvement, high", "blue", "H", spc::Colour::Blue),
        ImprovementLow => ("Improvement, low", "blue", "L", spc::Colour::Blue),
        ConcernHigh => ("Concern, high", "orange", "H", spc::Colour::Orange),
        ConcernLow => ("Concern, low", "orange", "L", spc::Colour::Orange),
        NeitherHigh => ("Special cause, high", "purple", "H", spc::Colour::Purple),
        NeitherLow => ("Special cause, low", "purple", "L", spc::Colour::Purple),
    };
    Icon {
        key: icon.as_str(),
        words,
        tag,
        letter,
        hex: charts::colour_hex(colour),
    }
}

pub fn assurance_icon(icon: spc::AssuranceIcon) -> Icon {
    let (words, tag, letter, colour) = match icon {
        spc::AssuranceIcon::Pass => (
            "Consistently passes the target",
            "blue",
            "P",
            spc::Colour::Blue,
        ),
        spc::AssuranceIcon::Fail => (
            "Consistently fails the target",
            "orange",
            "F",
            spc::Colour::Orange,
        ),
        spc::AssuranceIcon::HitOrMiss => (
            "Hit or miss against the target",
            "grey",
            "?",
            spc::Colour::Grey,
        ),
    };
    Icon {
        key: icon.as_str(),
        words,
        tag,
        letter,
        hex: charts::colour_hex(colour),
    }
}

/// What a point's colour means, in words.
pub fn colour_words(colour: spc::Colour) -> &'static str {
    match colour {
        spc::Colour::Grey => "Common cause",
        spc::Colour::Blue => "Special cause: improvement",
        spc::Colour::Orange => "Special cause: concern",
        spc::Colour::Purple => "Special cause",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indicator(threshold: Option<i32>) -> Indicator {
        Indicator {
            reference: "4.15".into(),
            outcome_number: 4,
            name: "Reported child deaths".into(),
            unit: "count".into(),
            better: "lower".into(),
            data_owner: "o".into(),
            frequency: "monthly".into(),
            source: "uploaded".into(),
            target: None,
            small_number_threshold: threshold,
            public: true,
            spc_rules: "mdc".into(),
            spc_baseline: None,
        }
    }

    #[test]
    fn periods_read_as_months() {
        assert_eq!(period_label("2020-01"), "Jan 2020");
        assert_eq!(period_long("2020-12"), "December 2020");
        assert_eq!(year_before("2020-03").as_deref(), Some("2019-03"));
        assert_eq!(period_label("rubbish"), "rubbish");
    }

    #[test]
    fn small_counts_of_people_are_suppressed_by_area_group_and_in_public() {
        let counted = indicator(Some(5));
        assert!(
            !suppressed(&counted, CITY, "", 3.0, false),
            "the board sees city totals"
        );
        assert!(
            suppressed(&counted, CITY, "", 3.0, true),
            "the public does not"
        );
        assert!(suppressed(&counted, "ladywood", "", 4.0, false));
        assert!(suppressed(&counted, CITY, "ethnicity", 1.0, false));
        assert!(
            !suppressed(&counted, "ladywood", "", 5.0, true),
            "5 is not under 5"
        );
        assert!(
            !suppressed(&counted, "ladywood", "", 0.0, true),
            "zero identifies nobody"
        );
        let not_people = indicator(None);
        assert!(!suppressed(&not_people, "ladywood", "", 3.0, true));
        let stricter = indicator(Some(10));
        assert!(suppressed(&stricter, "ladywood", "", 9.0, false));
        assert_eq!(suppressed_words(&stricter), "fewer than 10");
    }

    #[test]
    fn values_carry_their_units() {
        let mut i = indicator(None);
        assert_eq!(with_unit(&i, 2898.0), "2,898");
        i.unit = "percent".into();
        assert_eq!(with_unit(&i, 17.26), "17.3%");
        i.unit = "days".into();
        assert_eq!(with_unit(&i, 6.0), "6 days");
    }
}

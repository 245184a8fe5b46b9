//! Spend against need (`/spend-against-need`): each locality's share of spend (payments to
//! families approved or paid, and community grant awards) beside its share of the city's most
//! deprived LSOAs (deciles 1 and 2 of an edition of the Indices of Deprivation), flagging a gap
//! over six percentage points; a map of the money over the deciles with its tables; the same
//! as CSV and as JSON (`/api/spend-against-need`). Payments are read as the background job last
//! counted them by place (within a minute of a change), so the page never reads every payment.
//! Aggregates only, read through the gate as
//! spend (`Resource::Spend`): those who see aggregates and grants officers, never a
//! practitioner.

mod map;

use crate::AppState;
use crate::error::{ApiError, AppError};
use crate::extract::{Json, Query};
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::{Layout, SelectOption};
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::deprivation::{
    self as rules, DecileLine, Edition, GAP_POINTS, LocalityLine, SpendAgainstNeed,
};
use earlyhelp_domain::money::{ProgrammeKind, pounds};
use earlyhelp_domain::people::FieldError;
use earlyhelp_storage::deprivation::{self as store, EditionRow};
use earlyhelp_storage::gate::{Request, authorise_read};
use earlyhelp_storage::payments::{self as payments, ProgrammeRow};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(paths(api))]
pub struct NeedApi;

pub fn routes() -> Routes {
    Routes::new()
        .route("/spend-against-need", get(page))
        .route("/spend-against-need.csv", get(csv_download))
        .route("/api/spend-against-need", get(api))
}

/// What to count: one programme or all, and which edition's deciles (the newest loaded if none).
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    /// A programme's id; empty or absent for every programme.
    #[serde(default)]
    programme: String,
    /// `2019` or `2025`: an edition that is loaded; absent for the newest.
    #[serde(default)]
    edition: String,
}

/// The figures, and what they were counted from.
struct Figures {
    programmes: Vec<ProgrammeRow>,
    editions: Vec<EditionRow>,
    programme: Option<Uuid>,
    edition: Option<EditionRow>,
    /// (slug, name) of every locality.
    localities: Vec<(String, String)>,
    need: SpendAgainstNeed,
    /// When the background job last counted payments by place (none: not yet).
    payments_counted: Option<i64>,
}

impl Figures {
    fn locality_name(&self, slug: &str) -> String {
        self.localities
            .iter()
            .find(|(s, _)| s == slug)
            .map_or_else(|| slug.to_string(), |(_, name)| name.clone())
    }
}

/// Through the gate as spend, then every count in its one read transaction. A programme or an
/// edition that is not on file is refused by field (422), after the gate.
async fn figures(
    state: &AppState,
    signed: &Signed,
    filter: &Filter,
    purpose: &str,
) -> Result<Figures, AppError> {
    let request = Request {
        action: Action::List,
        resource: Resource::Spend,
        subject: "spend",
        purpose,
    };
    let mut authorised = authorise_read(&state.db, &signed.who(), request).await?;
    let tx = &mut authorised.tx;
    let programmes = payments::programmes(tx).await?;
    let editions = store::editions(tx).await?;
    let mut problems = Vec::new();
    let programme = match filter.programme.trim() {
        "" => None,
        raw => {
            let found = Uuid::parse_str(raw)
                .ok()
                .filter(|id| programmes.iter().any(|p| p.id == *id));
            if found.is_none() {
                problems.push(FieldError::new(
                    "programme",
                    "Choose a programme from the list",
                ));
            }
            found
        }
    };
    let edition = match filter.edition.trim() {
        "" => editions.first().cloned(),
        raw => {
            let found = Edition::parse(raw)
                .and_then(|e| editions.iter().find(|l| l.edition == i64::from(e.year())))
                .cloned();
            if found.is_none() {
                let loaded: Vec<String> = editions.iter().map(|e| e.edition.to_string()).collect();
                let loaded = match loaded.is_empty() {
                    true => "none is loaded yet".to_string(),
                    false => format!("loaded: {}", loaded.join(", ")),
                };
                problems.push(FieldError::new(
                    "edition",
                    format!(
                        "Choose an edition of the Indices of Deprivation that is loaded ({loaded})"
                    ),
                ));
            }
            found
        }
    };
    if !problems.is_empty() {
        return Err(AppError::Invalid(problems));
    }
    let chosen = edition
        .as_ref()
        .and_then(|e| i32::try_from(e.edition).ok())
        .and_then(Edition::from_year);
    let areas = store::areas(tx, chosen).await?;
    let (paid, payments_counted) = store::payments(tx, programme).await?;
    let awarded = store::awards(tx, programme).await?;
    authorised.tx.commit().await?;
    let localities: Vec<(String, String)> = earlyhelp_storage::accounts::list_localities(&state.db)
        .await?
        .into_iter()
        .map(|l| (l.slug, l.name))
        .collect();
    let need = rules::spend_against_need(&localities, areas, &paid, &awarded);
    Ok(Figures {
        programmes,
        editions,
        programme,
        edition,
        localities,
        need,
        payments_counted,
    })
}

fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}%")).unwrap_or_default()
}

fn points(value: Option<f64>) -> String {
    value.map(|v| format!("{v:+.1}")).unwrap_or_default()
}

/// A locality's line as the table and the CSV show it.
struct Line {
    name: String,
    payments: String,
    awards: String,
    spend: String,
    spend_share: String,
    lsoas: i64,
    most_deprived: i64,
    need_share: String,
    gap: String,
    /// (words, GOV.UK tag colour) when the gap is over the limit.
    flag: Option<(&'static str, &'static str)>,
}

fn line(l: &LocalityLine) -> Line {
    Line {
        name: l.name.clone(),
        payments: pounds(l.payments_pence),
        awards: pounds(l.awards_pence),
        spend: pounds(l.spend_pence),
        spend_share: percent(l.share.spend_percent),
        lsoas: l.lsoas,
        most_deprived: l.most_deprived_lsoas,
        need_share: percent(l.share.need_percent),
        gap: points(l.share.gap_points),
        flag: l.share.flag.map(|gap| {
            let colour = match gap {
                rules::Gap::Above => "govuk-tag--orange",
                rules::Gap::Below => "govuk-tag--red",
            };
            (gap.label(), colour)
        }),
    }
}

fn decile_words(decile: Option<u8>) -> String {
    match decile {
        Some(1) => "1 (most deprived)".into(),
        Some(10) => "10 (least deprived)".into(),
        Some(d) => d.to_string(),
        None => "No decile".into(),
    }
}

#[derive(Template)]
#[template(path = "deprivation.html")]
struct NeedPage {
    layout: Layout,
    programmes: Vec<SelectOption>,
    editions: Vec<SelectOption>,
    edition: Option<EditionRow>,
    /// The filter as a query string, for the CSV link.
    query: String,
    lines: Vec<Line>,
    total: Line,
    /// Both payments and awards are counted: each line says how much of each.
    both_kinds: bool,
    flagged: usize,
    deciles: Vec<(String, &'static str, i64, String, String)>,
    /// (LSOA, locality, decile, payments, awards) for the map's table.
    areas: Vec<(String, String, String, String, String)>,
    map_svg: String,
    largest: String,
    notes: Vec<String>,
    gap_points: i64,
    /// When payments were last counted, or that they have not been yet.
    counted: String,
    colours: Vec<(String, &'static str)>,
    payments_colour: &'static str,
    awards_colour: &'static str,
}

/// The city's totals as a line of the table.
fn total(need: &SpendAgainstNeed) -> Line {
    let sum = |f: fn(&LocalityLine) -> i64| need.localities.iter().map(f).sum::<i64>();
    let counted = |present: bool| present.then_some(100.0);
    Line {
        name: "The city".into(),
        payments: pounds(sum(|l| l.payments_pence)),
        awards: pounds(sum(|l| l.awards_pence)),
        spend: pounds(sum(|l| l.spend_pence)),
        spend_share: percent(counted(sum(|l| l.spend_pence) > 0)),
        lsoas: sum(|l| l.lsoas),
        most_deprived: sum(|l| l.most_deprived_lsoas),
        need_share: percent(counted(sum(|l| l.most_deprived_lsoas) > 0)),
        gap: String::new(),
        flag: None,
    }
}

/// What the map leaves out, in words.
fn notes(figures: &Figures) -> Vec<String> {
    let n = &figures.need.not_drawn;
    let mut notes = Vec::new();
    if n.payments_unplaced > 0 {
        notes.push(format!(
            "{} payments ({}) to families whose postcode is not in the postcode directory are counted in their locality but not on the map or by decile.",
            n.payments_unplaced,
            pounds(n.payments_unplaced_pence)
        ));
    }
    if n.payments_few_families > 0 {
        notes.push(format!(
            "{} payments ({}) in LSOAs where fewer than {} families were paid are counted by locality and decile but not drawn, so no mark on the map is one family.",
            n.payments_few_families,
            pounds(n.payments_few_families_pence),
            earlyhelp_domain::disclosure::K
        ));
    }
    if n.awards_unplaced > 0 {
        notes.push(format!(
            "{} awards ({}) for beneficiaries in a ward, or an LSOA outside the city's postcodes, are counted in their locality but not on the map or by decile.",
            n.awards_unplaced,
            pounds(n.awards_unplaced_pence)
        ));
    }
    notes
}

/// The map's text alternative, in brief: the tables beside it give every figure.
fn summary(figures: &Figures) -> String {
    let need = &figures.need;
    let most: i64 = need.localities.iter().map(|l| l.most_deprived_lsoas).sum();
    let places = |f: fn(&rules::AreaSpend) -> bool| need.areas.iter().filter(|a| f(a)).count();
    format!(
        "{} of the city's LSOAs, each a dot at the middle of its postcodes coloured by its \
         deprivation decile ({most} in deciles 1 and 2); payments to families drawn as circles \
         at {} of them and community grant awards as squares at {}, their area in proportion \
         to the money. North is up. The tables beside the map give the figures.",
        need.areas.len(),
        places(|a| a.payments_pence.is_some_and(|p| p > 0)),
        places(|a| a.awards_pence > 0),
    )
}

fn filter_query(figures: &Figures) -> String {
    let mut pairs = Vec::new();
    if let Some(id) = figures.programme {
        pairs.push(("programme", id.to_string()));
    }
    if let Some(edition) = &figures.edition {
        pairs.push(("edition", edition.edition.to_string()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Query(filter): Query<Filter>,
) -> Result<Html<String>, AppError> {
    let figures = figures(&state, &signed, &filter, "spend against need").await?;
    let name = |slug: &str| figures.locality_name(slug);
    let drawn = map::draw(&figures.need.areas, name, &summary(&figures));
    let programmes = std::iter::once(SelectOption::new(
        "",
        "All programmes",
        figures.programme.is_none(),
    ))
    .chain(figures.programmes.iter().map(|p| {
        let kind = ProgrammeKind::from_slug(&p.kind).map_or("", ProgrammeKind::label);
        SelectOption::new(
            p.id.to_string(),
            format!("{} ({})", p.name, kind.to_lowercase()),
            figures.programme == Some(p.id),
        )
    }))
    .collect();
    let editions = figures
        .editions
        .iter()
        .map(|e| {
            let synthetic = if e.synthetic { " (synthetic)" } else { "" };
            let chosen = figures
                .edition
                .as_ref()
                .is_some_and(|c| c.edition == e.edition);
            SelectOption::new(
                e.edition.to_string(),
                format!("IMD {}{synthetic}", e.edition),
                chosen,
            )
        })
        .collect();
    let lines: Vec<Line> = figures.need.localities.iter().map(line).collect();
    let page = NeedPage {
        layout: Layout::for_user(&signed, "/programmes"),
        programmes,
        editions,
        edition: figures.edition.clone(),
        query: filter_query(&figures),
        flagged: lines.iter().filter(|l| l.flag.is_some()).count(),
        both_kinds: figures.need.localities.iter().any(|l| l.payments_pence > 0)
            && figures.need.localities.iter().any(|l| l.awards_pence > 0),
        total: total(&figures.need),
        lines,
        deciles: figures
            .need
            .deciles
            .iter()
            .map(|d: &DecileLine| {
                (
                    decile_words(d.decile),
                    map::decile_colour(d.decile),
                    d.lsoas,
                    pounds(d.payments_pence + d.awards_pence),
                    percent(d.spend_percent),
                )
            })
            .collect(),
        areas: figures
            .need
            .areas
            .iter()
            .map(|a| {
                (
                    a.area.lsoa.clone(),
                    figures.locality_name(&a.area.locality),
                    a.area.decile.map(|d| d.to_string()).unwrap_or_default(),
                    a.payments_pence
                        .map_or_else(|| "Fewer than 5 families".into(), pounds),
                    pounds(a.awards_pence),
                )
            })
            .collect(),
        map_svg: drawn.svg,
        largest: pounds(drawn.largest_pence),
        notes: notes(&figures),
        gap_points: GAP_POINTS,
        counted: match figures.payments_counted {
            Some(micros) => format!(
                "Payments to families as counted at {} (they are counted again within a minute of a change).",
                crate::governance::when(micros)
            ),
            None => "Payments to families have not been counted yet: the server counts them within a minute of starting.".into(),
        },
        colours: (1..=10u8)
            .map(|d| (decile_words(Some(d)), map::decile_colour(Some(d))))
            .collect(),
        payments_colour: map::PAYMENTS,
        awards_colour: map::AWARDS,
    };
    Ok(Html(page.render()?))
}

async fn csv_download(
    State(state): State<AppState>,
    signed: Signed,
    Query(filter): Query<Filter>,
) -> Result<Response, AppError> {
    let figures = figures(&state, &signed, &filter, "spend against need (CSV)").await?;
    let internal = |e: csv::Error| AppError::Internal(e.into());
    let mut writer = csv::Writer::from_writer(Vec::new());
    let edition = figures
        .edition
        .as_ref()
        .map(|e| e.edition.to_string())
        .unwrap_or_default();
    let synthetic = figures.edition.as_ref().is_some_and(|e| e.synthetic);
    writer
        .write_record([
            "counted_under",
            "name",
            "imd_edition",
            "synthetic_deciles",
            "payments_pence",
            "awards_pence",
            "spend_pence",
            "spend_share_percent",
            "lsoas",
            "most_deprived_lsoas",
            "most_deprived_share_percent",
            "gap_points",
            "flag",
        ])
        .map_err(internal)?;
    let number = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
    for l in &figures.need.localities {
        writer
            .write_record([
                "locality",
                &l.name,
                &edition,
                &synthetic.to_string(),
                &l.payments_pence.to_string(),
                &l.awards_pence.to_string(),
                &l.spend_pence.to_string(),
                &number(l.share.spend_percent),
                &l.lsoas.to_string(),
                &l.most_deprived_lsoas.to_string(),
                &number(l.share.need_percent),
                &number(l.share.gap_points),
                l.share.flag.map_or("", |g| g.label()),
            ])
            .map_err(internal)?;
    }
    for d in &figures.need.deciles {
        let name = d.decile.map(|d| d.to_string()).unwrap_or_default();
        writer
            .write_record([
                "decile",
                &name,
                &edition,
                &synthetic.to_string(),
                &d.payments_pence.to_string(),
                &d.awards_pence.to_string(),
                &(d.payments_pence + d.awards_pence).to_string(),
                &number(d.spend_percent),
                &d.lsoas.to_string(),
                "",
                "",
                "",
                "",
            ])
            .map_err(internal)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"spend-against-need.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The JSON answer: what was counted, and the figures.
#[derive(Serialize)]
struct NeedBody {
    programme: Option<Uuid>,
    edition: Option<i64>,
    synthetic_deciles: bool,
    /// When payments were last counted by place (microseconds since 1970; null: not yet).
    payments_counted_micros: Option<i64>,
    most_deprived_deciles: [u8; 2],
    gap_points: i64,
    #[serde(flatten)]
    need: SpendAgainstNeed,
}

/// Spend against need: each locality's share of spend (payments to families approved or paid,
/// and community grant awards; amounts in pence; payments as last counted by the background
/// job, at `payments_counted_micros`) beside its share of the city's LSOAs in IMD
/// deciles 1 and 2, with `flag` (`above` or `below`) where they are more than `gap_points`
/// apart; spend by decile; and each LSOA's spend (`payments_pence` null where fewer than five
/// families were paid). For those who see aggregates and grants officers.
#[utoipa::path(get, path = "/api/spend-against-need", security(("bearer" = [])),
    params(("programme" = Option<Uuid>, Query, description = "One programme; absent for every programme"),
        ("edition" = Option<i32>, Query, description = "2019 or 2025, an edition that is loaded; absent for the newest")),
    responses((status = 200, body = Object), (status = 403, body = crate::cases::api::Problems),
        (status = 422, body = crate::cases::api::Problems)))]
async fn api(
    State(state): State<AppState>,
    signed: Signed,
    Query(filter): Query<Filter>,
) -> Result<Json<NeedBody>, ApiError> {
    let figures = figures(&state, &signed, &filter, "spend against need (API)").await?;
    Ok(Json(NeedBody {
        programme: figures.programme,
        edition: figures.edition.as_ref().map(|e| e.edition),
        synthetic_deciles: figures.edition.as_ref().is_some_and(|e| e.synthetic),
        payments_counted_micros: figures.payments_counted,
        most_deprived_deciles: rules::MOST_DEPRIVED,
        gap_points: GAP_POINTS,
        need: figures.need,
    }))
}

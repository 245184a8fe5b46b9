//! The connections dashboard for locality leads, commissioners and the board: referrals in the
//! last twelve months by locality and by the organisation answering them, how often they were
//! accepted, how soon answered, and how often the need was met. Counts only; shares from five
//! referrals. The monthly counts are charted with SPC on the outcomes framework's own pages
//! (EH4 and EH5). CSV beside it.

use crate::AppState;
use crate::error::AppError;
use crate::routes::Routes;
use crate::session::Signed;
use crate::views::Layout;
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use earlyhelp_domain::access::{Action, Resource};
use earlyhelp_domain::connections::{DashboardLine, FIGURES_FROM, dashboard};
use earlyhelp_storage::connections as store;
use earlyhelp_storage::gate::{Request, authorise_read};
use earlyhelp_storage::outcomes::computed::{CONNECTIONS, CONNECTIONS_MET};

pub fn routes() -> Routes {
    Routes::new()
        .route("/connections", get(page))
        .route("/connections.csv", get(csv_download))
}

const YEAR_MICROS: i64 = 365 * 86_400_000_000;

/// The dashboard's two tables, through the gate as aggregates.
async fn lines(
    state: &AppState,
    signed: &Signed,
    purpose: &str,
) -> Result<(Vec<DashboardLine>, Vec<DashboardLine>), AppError> {
    let mut authorised = authorise_read(
        &state.db,
        &signed.who(),
        Request {
            action: Action::List,
            resource: Resource::Indicators,
            subject: "connections_dashboard",
            purpose,
        },
    )
    .await?;
    let since = earlyhelp_storage::now_micros() - YEAR_MICROS;
    let (by_locality, by_organisation) = store::figures_since(&mut authorised, since).await?;
    authorised.tx.commit().await?;
    Ok((dashboard(&by_locality), dashboard(&by_organisation)))
}

/// A share or a median as the tables show it: blank below five referrals.
fn shown(value: Option<f64>, unit: &str) -> String {
    value.map(|v| format!("{v:.0}{unit}")).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "connections_dashboard.html")]
struct DashboardPage {
    layout: Layout,
    /// (heading, table id, rows of cells).
    tables: Vec<(&'static str, &'static str, Vec<[String; 6]>)>,
    figures_from: usize,
    connections: &'static str,
    connections_met: &'static str,
}

fn cells(line: &DashboardLine) -> [String; 6] {
    [
        line.under.clone(),
        line.sent.to_string(),
        shown(line.accepted_percent, "%"),
        shown(line.median_reply_days, ""),
        line.completed.to_string(),
        shown(line.met_percent, "%"),
    ]
}

async fn page(State(state): State<AppState>, signed: Signed) -> Result<Html<String>, AppError> {
    let (by_locality, by_organisation) = lines(&state, &signed, "connections dashboard").await?;
    let page = DashboardPage {
        layout: Layout::for_user(&signed, "/outcomes"),
        tables: vec![
            (
                "By locality",
                "by-locality",
                by_locality.iter().map(cells).collect(),
            ),
            (
                "By the organisation answering",
                "by-organisation",
                by_organisation.iter().map(cells).collect(),
            ),
        ],
        figures_from: FIGURES_FROM,
        connections: CONNECTIONS,
        connections_met: CONNECTIONS_MET,
    };
    Ok(Html(page.render()?))
}

async fn csv_download(State(state): State<AppState>, signed: Signed) -> Result<Response, AppError> {
    let (by_locality, by_organisation) =
        lines(&state, &signed, "connections dashboard (CSV)").await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| AppError::Internal(e.into());
    writer
        .write_record([
            "counted_under",
            "name",
            "referrals",
            "accepted_percent",
            "median_reply_days",
            "completed",
            "need_met_percent",
        ])
        .map_err(internal)?;
    for (under, lines) in [
        ("locality", &by_locality),
        ("organisation", &by_organisation),
    ] {
        for line in lines {
            let [name, sent, accepted, reply, completed, met] = cells(line);
            writer
                .write_record([under, &name, &sent, &accepted, &reply, &completed, &met])
                .map_err(internal)?;
        }
    }
    let body = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"connections.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

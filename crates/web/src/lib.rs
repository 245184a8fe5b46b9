//! earlyhelp's web layer: server-rendered GOV.UK-style pages, the JSON API and its OpenAPI
//! description. Handlers are thin: they read the request, call storage through the gate, and
//! render.

mod access_requests;
mod admin;
mod api;
mod assets;
mod audit;
mod auth;
mod budgeting;
mod cases;
mod cohorts;
mod connector;
mod dates;
mod deprivation;
mod directory;
pub mod error;
pub mod extract;
mod extracts;
mod giving;
pub mod governance;
mod help;
mod home;
mod impact;
mod listing_form;
mod matching;
pub mod observe;
mod openreferral;
mod outcomes;
mod pdf;
pub mod redirect;
mod refusals;
pub mod routes;
pub mod sar_register;
mod second_factor;
pub mod session;
mod social_value;
mod surveys;
pub mod throttle;
pub mod views;
mod young_people;

/// The parsers of untrusted input, for the fuzz targets in `fuzz/` (`scripts/fuzz.sh`): not an
/// API.
#[doc(hidden)]
pub mod parsers {
    pub use crate::cases::measures::check_file as readings_csv;
    pub use crate::directory::{SearchQuery, parse_search};
    pub use crate::openreferral::{ListQuery, parse_list_query};
    pub use crate::outcomes::load::read_csv as outcomes_csv;
}

/// Reads and checks a CSV of outcome readings, for `earlyhelp import readings` as for the page.
pub use cases::measures::check_file as check_readings_file;

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use earlyhelp_storage::Db;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Clone, Debug)]
pub struct Config {
    /// Mark cookies `Secure`. Off only for plain-http loopback (the demo on a laptop).
    pub secure_cookies: bool,
    pub session_idle: Duration,
    pub session_lifetime: Duration,
    /// Sign-in attempts for one email checked within `lockout_window`; later ones are refused
    /// unchecked until the window ends (a right password within them clears the count).
    pub lockout_threshold: i64,
    pub lockout_window: Duration,
    /// Self-referrals accepted from one client address in an hour (0: no limit).
    pub self_referrals_per_hour: u32,
    /// Sign-in attempts from one client address in 15 minutes, whatever the account (0: none).
    pub sign_ins_per_15_minutes: u32,
    /// Proxies whose `X-Forwarded-For` names the client; from no one else is it believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The early help front door's phone number, given when a form cannot be sent.
    pub contact_phone: String,
    /// Everyone whose role can read a person's record, and administrators, must set up a
    /// second factor at sign-in. Off, it is asked only of those who have set one up.
    pub second_factor_required: bool,
    /// How cases are worked: the seed's four levels of need, or Family Help (levels from
    /// universal plus to child protection, the family network, family group decision making).
    pub practice_model: earlyhelp_domain::family_help::PracticeModel,
    /// The key agreed with agencies for privacy-preserving matching (`EARLYHELP_LINKAGE_KEY_FILE`
    /// or `EARLYHELP_LINKAGE_KEY`); without it encoded lists are refused. Its `Debug` shows
    /// nothing of it.
    pub linkage_key: Option<earlyhelp_storage::encoded::LinkageKey>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: true,
            session_idle: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 60 * 60),
            lockout_threshold: 5,
            lockout_window: Duration::from_secs(15 * 60),
            self_referrals_per_hour: earlyhelp_domain::limits::SELF_REFERRALS_PER_HOUR,
            sign_ins_per_15_minutes: earlyhelp_domain::limits::SIGN_INS_PER_15_MINUTES,
            trusted_proxies: Vec::new(),
            contact_phone: String::new(),
            second_factor_required: true,
            practice_model: earlyhelp_domain::family_help::PracticeModel::LevelsOfNeed,
            linkage_key: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    case_workers: Arc<cases::CaseWorkerLists>,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> AppState {
        AppState {
            db,
            config: Arc::new(config),
            case_workers: Arc::default(),
        }
    }
}

/// Every route of the router, with its body limit: the same table [`router`] serves.
pub fn route_table() -> Vec<routes::Route> {
    all_routes().into_parts().1
}

fn all_routes() -> routes::Routes {
    routes::Routes::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(assets::routes())
        .merge(auth::routes())
        .merge(second_factor::routes())
        .merge(home::routes())
        .merge(help::routes())
        .merge(admin::routes())
        .merge(access_requests::routes())
        .merge(audit::routes())
        .merge(api::routes())
        .merge(cases::routes())
        .merge(deprivation::routes())
        .merge(extracts::routes())
        .merge(matching::routes())
        .merge(cohorts::routes())
        .merge(impact::routes())
        .merge(social_value::routes())
        .merge(surveys::routes())
        .merge(budgeting::routes())
        .merge(directory::routes())
        .merge(young_people::routes())
        .merge(openreferral::routes())
        .merge(connector::routes())
        .merge(outcomes::routes())
        .merge(governance::routes())
        .merge(sar_register::routes())
        .merge(giving::routes())
}

pub fn router(state: AppState) -> Router {
    let (routes, _) = all_routes().into_parts();
    let throttle = Arc::new(throttle::Throttle::new(&state.config));
    routes
        .route_layer(middleware::from_fn(error::note_route))
        .fallback(|| async { error::AppError::NotFound })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            refusals::audit_refusals,
        ))
        .layer(Extension(throttle))
        .layer(middleware::from_fn(same_origin_writes))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; \
                 form-action 'self'; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // Each route reads at most its own limit (the route table); this stops any body
        // beyond the largest (with room for a form's fields beside a file) before it is read.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            earlyhelp_domain::limits::UPLOAD_BODY.max(earlyhelp_domain::matching::MAX_LIST_BYTES)
                + earlyhelp_domain::limits::FORM_BODY,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // A panic is a bug of ours: a 500 page, not a dropped connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                error::AppError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
            },
        ))
        .layer(middleware::from_fn(error::answer_in_kind))
        .layer(tower_http::compression::CompressionLayer::new())
        // Outermost, so the request id is on every line the layers within log.
        .layer(middleware::from_fn(observe::observe))
        .with_state(state)
}

/// A second line of defence against cross-site requests: a browser always says where a
/// write came from, and it must be here.
async fn same_origin_writes(request: Request, next: Next) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if writes {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        if let (Some(host), Some(origin)) = (host, origin) {
            let origin_host = origin
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(origin);
            if origin_host != host {
                return error::AppError::BadCsrf.into_response();
            }
        }
    }
    next.run(request).await
}

/// Serves until the future `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod operator_authority {
    /// Operator permits are for the command line and background jobs: no page a visitor opens
    /// may act with one. Read from the source itself, so a new handler cannot drift past it.
    #[test]
    fn no_web_code_makes_an_operator_permit() {
        fn sources(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    found.push(path);
                }
            }
        }
        let mut files = Vec::new();
        sources(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 10, "read the web crate's sources");
        // Built from pieces, so this test's own source does not match.
        let calls = ["(", "_on", "_record", "_many", "_also"].map(|s| format!("operator{s}"));
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for call in &calls {
                assert!(
                    !text.contains(call.as_str()),
                    "{} calls gate::{call}",
                    file.display()
                );
            }
        }
    }
}

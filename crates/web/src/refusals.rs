//! Every refusal is in the audit log. The gate writes the refusals it decides; this layer
//! writes the rest: any 403 answered to a signed-in person without a gate refusal (a page their
//! role may not open at all, a form whose CSRF token is wrong), with who, what and why. It also
//! writes a `failed` event for each read the gate allowed in a request that then failed (a
//! server error), so the log does not read as if the record had been seen.

use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use earlyhelp_domain::access::Action;
use earlyhelp_storage::gate::{Who, noting_decisions, record_failed_read, record_refusal};
use std::sync::{Arc, Mutex};

tokio::task_local! {
    /// The signed-in person this request is from, once the session has been read.
    static SIGNED_IN: Arc<Mutex<Option<Who>>>;
}

/// Called when a request's session is read: a refusal later in the request names them.
pub fn note_signed_in(who: Who) {
    let _ = SIGNED_IN.try_with(|signed| {
        if let Ok(mut signed) = signed.lock() {
            *signed = Some(who);
        }
    });
}

pub async fn audit_refusals(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let action = match *request.method() {
        Method::GET | Method::HEAD | Method::OPTIONS => Action::Read,
        _ => Action::Update,
    };
    // The path names the record (ids, never names); the query is left out.
    let path: String = request.uri().path().chars().take(200).collect();
    let signed = Arc::new(Mutex::new(None));
    let (response, noted) =
        noting_decisions(SIGNED_IN.scope(signed.clone(), next.run(request))).await;
    let failed = response.status().is_server_error();
    if !failed && (response.status() != StatusCode::FORBIDDEN || noted.refused()) {
        return response;
    }
    let Some(who) = signed.lock().ok().and_then(|mut s| s.take()) else {
        return response;
    };
    if failed {
        for read in noted.allowed_reads() {
            if let Err(error) = record_failed_read(&state.db, &who, &read).await {
                tracing::warn!(%error, "could not audit a failed read");
            }
        }
    } else {
        let purpose = format!("open {path}");
        let reason = "the role may not open this page or send this form";
        if let Err(error) = record_refusal(&state.db, &who, &path, action, &purpose, reason).await {
            tracing::warn!(%error, "could not audit a refusal");
        }
    }
    response
}

//! What operators see of each request: a request id (the caller's `x-request-id` when it is a
//! short plain token, else a new one), answered on the response and carried by a span onto
//! every log line of the request; one log line when it is answered; and its count and latency
//! for `/metrics`. Only the matched route pattern is recorded (`/families/{id}`), never the
//! path or query string, which can carry ids, names and search words.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, Response};
use axum::middleware::Next;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The label of a request no route matched (a 404 from the fallback).
pub const NO_ROUTE: &str = "(no route)";

/// The route pattern a response answered, or [`NO_ROUTE`].
pub fn route_of<B>(response: &Response<B>) -> &str {
    response
        .extensions()
        .get::<MatchedPath>()
        .map_or(NO_ROUTE, |m| m.as_str())
}

/// A caller's id is kept only if it cannot carry much: up to 64 letters, digits, `-`, `_`, `.`.
fn plain_token(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The method as a label: any other is one label, so a caller cannot make labels without end.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

pub async fn observe(request: Request, next: Next) -> axum::response::Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| plain_token(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let method = method_label(request.method());
    let span = tracing::info_span!("request", request_id = %id, method);
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let route = route_of(&response).to_owned();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            %route,
            status,
            millis = elapsed.as_secs_f64() * 1000.0,
            "answered"
        );
    });
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route.clone())
        .record(elapsed.as_secs_f64());
    metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status.to_string())
        .increment(1);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::plain_token;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        assert!(plain_token("0b7c6f1e-2f1d-4a53-9d0c-3c2f0e6b1a22"));
        assert!(plain_token("lb.abc_123"));
        assert!(!plain_token(""));
        assert!(!plain_token(&"a".repeat(65)));
        assert!(!plain_token("Amira Khan"));
        assert!(!plain_token("a\"}{\"injected"));
    }
}

//! `/metrics` for operators, in Prometheus's text format, on an address of its own
//! (`EARLYHELP_METRICS_ADDR`), never on the public listener. Off unless that is set.
//!
//! The web crate counts requests and their latency by route pattern; here, at each scrape, the
//! queues are counted in the database (the outbox, and the referrals the background jobs have
//! yet to expire or remind about) and the connection pool is read. Counts only: no label holds
//! anything a person typed.

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use earlyhelp_domain::connections::DEFAULT_EXPIRY_DAYS;
use earlyhelp_storage::{Db, connections, outbox};
use metrics::gauge;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::time::Duration;

/// Latency buckets, in seconds: pages should answer well within a quarter of a second.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The address from `EARLYHELP_METRICS_ADDR`, or `None` (metrics off).
pub fn address_from_env() -> Result<Option<SocketAddr>> {
    match std::env::var("EARLYHELP_METRICS_ADDR") {
        Ok(raw) if !raw.trim().is_empty() => raw.trim().parse().map(Some).with_context(|| {
            format!("EARLYHELP_METRICS_ADDR={raw:?} is not an address (for example 127.0.0.1:9187)")
        }),
        _ => Ok(None),
    }
}

/// Binds the metrics address (so a port in use fails at start), installs the recorder the web
/// crate's counters go to, and serves `/metrics` there until the runtime stops. Answers the
/// bound address.
pub async fn start(address: SocketAddr, db: Db) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot serve metrics on {address} (EARLYHELP_METRICS_ADDR)"))?;
    describe();
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("http_request_duration_seconds".into()),
            &BUCKETS,
        )?
        .install_recorder()
        .context("installing the metrics recorder")?;
    // The recorder keeps raw samples until upkeep folds them into the buckets.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = axum::Router::new()
        .route("/metrics", get(scrape))
        .with_state((handle, db));
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

async fn scrape(State((handle, db)): State<(PrometheusHandle, Db)>) -> impl IntoResponse {
    // A failed count is logged and the rest still answered: the scrape shows the stale value.
    if let Err(error) = count_queues(&db).await {
        tracing::warn!(
            error = format!("{error:#}"),
            "counting queues for /metrics failed"
        );
    }
    let pool = db.pool_use();
    gauge!("earlyhelp_db_pool_connections").set(pool.size);
    gauge!("earlyhelp_db_pool_idle").set(pool.idle as f64);
    gauge!("earlyhelp_db_pool_max").set(pool.max);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}

async fn count_queues(db: &Db) -> Result<()> {
    let (unsent, retrying) = outbox::depth(db).await?;
    gauge!("earlyhelp_outbox_unsent").set(unsent as f64);
    gauge!("earlyhelp_outbox_retrying").set(retrying as f64);
    let now = earlyhelp_storage::now_micros();
    let (expiring, reminders) = connections::jobs_due(db, now, DEFAULT_EXPIRY_DAYS).await?;
    gauge!("earlyhelp_jobs_due", "job" => "expire_referrals").set(expiring as f64);
    gauge!("earlyhelp_jobs_due", "job" => "remind_services").set(reminders as f64);
    Ok(())
}

/// The `# HELP` line of each metric.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "Requests answered, by method, route pattern and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer a request, by method and route pattern"
    );
    describe_gauge!(
        "earlyhelp_outbox_unsent",
        "Emails in the outbox not yet sent"
    );
    describe_gauge!(
        "earlyhelp_outbox_retrying",
        "Unsent emails that have failed at least once"
    );
    describe_gauge!(
        "earlyhelp_jobs_due",
        "Work waiting for the background jobs: referrals to expire, services to remind"
    );
    describe_gauge!("earlyhelp_db_pool_connections", "Database connections open");
    describe_gauge!(
        "earlyhelp_db_pool_idle",
        "Database connections open and idle"
    );
    describe_gauge!(
        "earlyhelp_db_pool_max",
        "The most database connections the pool opens"
    );
}

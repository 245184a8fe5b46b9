//! Background work that runs beside the web server, as the operator (the computed indicators,
//! payments counted by place for spend against need, reminding services of referrals they have
//! not answered and expiring them, and sending the outbox): the web crate itself never
//! holds operator authority, so no page a visitor opens can act with it.
//!
//! With several app servers on one database: the periodic jobs run under a lease
//! ([`earlyhelp_storage::leases`]), so one server at a time runs them, and each is safe to run
//! again anyway (if a lease runs out mid-job): a refresh is one audited transaction that writes
//! the same values whoever runs it, and expiring and reminding read what is due again inside
//! their transaction, after its audit event has taken the audit chain's lock (PostgreSQL's
//! advisory lock, SQLite's one writer), so a second server finds it done. The outbox is
//! drained by every server: each message is claimed for a lease of its own
//! ([`earlyhelp_storage::outbox::claim`]), so it is sent once. Matching runs are claimed the
//! same way, one at a time by each server ([`earlyhelp_storage::matching::claim`]); a server
//! that dies mid-run leaves its lease to run out and another starts the run again.

use crate::mail::{Sending, drain};
use earlyhelp_domain::connections::DEFAULT_EXPIRY_DAYS;
use earlyhelp_storage::encoded::LinkageKey;
use earlyhelp_storage::outcomes::computed;
use earlyhelp_storage::{Db, connections, leases};
use std::time::Duration;

/// How often the indicators computed from case data are brought up to date, unless
/// `EARLYHELP_REFRESH_SECONDS` says otherwise.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(60);

/// The refresh interval from the environment, or the default.
pub fn refresh_interval() -> Duration {
    std::env::var("EARLYHELP_REFRESH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_REFRESH)
}

/// Starts the background jobs; they stop when the runtime does, or (all but the matching
/// worker, which is spawned beside them) when the handle is aborted.
/// Without `sending`, the outbox is left for another worker (a test drives it on a clock of its
/// own).
/// `linkage_key` is the key encoded lists are matched with (none: their runs fail, saying why).
pub fn spawn(
    db: Db,
    refresh: Duration,
    sending: Option<Sending>,
    linkage_key: Option<LinkageKey>,
) -> tokio::task::JoinHandle<()> {
    // This server's name on the lease.
    let holder = uuid::Uuid::new_v4().to_string();
    spawn_matching(
        db.clone(),
        refresh.min(MATCHING_POLL),
        holder.clone(),
        linkage_key,
    );
    tokio::spawn(async move {
        let mut every = tokio::time::interval(refresh);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now = earlyhelp_storage::now_micros();
            match leases::take(&db, PERIODIC_LEASE, &holder, now, LEASE_MICROS).await {
                Ok(true) => {
                    periodic(&db, now).await;
                    if let Err(error) = leases::give_back(&db, PERIODIC_LEASE, &holder).await {
                        tracing::warn!(%error, "giving back the background jobs' lease failed");
                    }
                }
                Ok(false) => {} // another server is running them now
                Err(error) => tracing::warn!(%error, "taking the background jobs' lease failed"),
            }
            if let Some(sending) = &sending
                && let Err(error) = drain(&db, sending, now).await
            {
                tracing::warn!(%error, "draining the outbox failed");
            }
        }
    })
}

/// How often a server with nothing to do looks for a queued matching run, at most.
const MATCHING_POLL: Duration = Duration::from_secs(2);

/// The matching worker: claims a queued run (or one whose worker died), runs it, and looks
/// again at once; when there is none, waits `poll`.
fn spawn_matching(db: Db, poll: Duration, holder: String, key: Option<LinkageKey>) {
    tokio::spawn(async move {
        loop {
            match earlyhelp_storage::matching::work_once(&db, &holder, key.as_ref()).await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "running a matching job failed"),
            }
            tokio::time::sleep(poll).await;
        }
    });
}

/// The lease the periodic jobs run under, and how long a server holds it at most: a server
/// that dies running them holds up the others this long.
const PERIODIC_LEASE: &str = "periodic jobs";
const LEASE_MICROS: i64 = 5 * 60 * 1_000_000;

/// The computed indicators, payments by place, and expiring and reminding of referrals. A
/// failure is logged, not fatal: pages show the values of the last refresh.
async fn periodic(db: &Db, now: i64) {
    if let Err(error) = computed::refresh_if_stale(db).await {
        tracing::warn!(%error, "refreshing the indicators computed from case data failed");
    }
    if let Err(error) = earlyhelp_storage::deprivation::refresh_if_stale(db).await {
        tracing::warn!(%error, "counting payments by place failed");
    }
    if let Err(error) = connections::expire_due(db, now, DEFAULT_EXPIRY_DAYS).await {
        tracing::warn!(%error, "expiring unanswered referrals failed");
    }
    if let Err(error) = connections::nudge_due(db, now).await {
        tracing::warn!(%error, "reminding services of unanswered referrals failed");
    }
    if let Err(error) = earlyhelp_storage::budgeting::count_closed(db).await {
        tracing::warn!(%error, "counting closed voting rounds failed");
    }
}

//! Benchmark of the indicators computed from case data: the demo city plus synthetic requests
//! for support and family cases spread over three years, then
//!
//! - a first refresh (every month, area and reason written),
//! - a refresh after one more request (the counts of this month change in place),
//! - the check every indicator page makes when nothing has changed.
//!
//! ```text
//! cargo run --release -p earlyhelp --example computed_refresh -- [REQUESTS] [DATABASE_URL]
//! ```
//!
//! The database defaults to a fresh SQLite file in the temporary directory; give a
//! `postgres://` URL of an empty database to measure PostgreSQL.

use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::Reason;
use earlyhelp_storage::outcomes::computed;
use earlyhelp_storage::{accounts, gate, now_micros, on_tx};
use std::time::{Duration, Instant};

const MONTHS: i64 = 36;
const MICROS_PER_MONTH: i64 = 30 * 24 * 3600 * 1_000_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let requests: usize = args
        .get(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let url = args.get(2).cloned().unwrap_or_else(|| {
        let path =
            std::env::temp_dir().join(format!("eh-computed-bench-{}.db", std::process::id()));
        format!("sqlite://{}", path.display())
    });
    let db = earlyhelp::server::open(&url).await?;
    earlyhelp::demo::load(&db, earlyhelp::demo_cases::DEMO_SCALE).await?;
    let localities: Vec<String> = accounts::list_localities(&db)
        .await?
        .into_iter()
        .map(|l| l.slug)
        .collect();

    // Synthetic requests (and a family for every third) over the last three years.
    let started = Instant::now();
    let mut authorised =
        gate::operator(&db, "benchmark", Action::Create, "synthetic case data").await?;
    let now = now_micros();
    for i in 0..requests {
        let at = now - (i as i64 * 7919) % (MONTHS * MICROS_PER_MONTH);
        let locality = &localities[i % localities.len()];
        let reasons = format!(
            "{},{}",
            Reason::ALL[i % Reason::ALL.len()].slug(),
            Reason::ALL[(i / 7) % Reason::ALL.len()].slug()
        );
        let tx = &mut authorised.tx;
        on_tx!(tx, c => {
            sqlx::query(
                "INSERT INTO support_requests (id, locality_slug, address, postcode, reasons, \
                 need_level, summary, consent_given_by, consent_method, consent_date, requester, \
                 contact, self_referral, status, created_micros) VALUES ($1, $2, 'synthetic', \
                 'B1 1AA', $3, 'additional', 'synthetic', 'synthetic', 'verbal', '2026-01-01', \
                 'benchmark', '', FALSE, 'new', $4)",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(locality)
            .bind(&reasons)
            .bind(at)
            .execute(&mut *c)
            .await?;
            if i % 3 == 0 {
                sqlx::query(
                    "INSERT INTO families (id, locality_slug, address, postcode, need_level, \
                     state, consent_withdrawn, created_micros, updated_micros) VALUES ($1, $2, \
                     'synthetic', 'B1 1AA', 'additional', $3, FALSE, $4, $4)",
                )
                .bind(uuid::Uuid::now_v7())
                .bind(locality)
                .bind(if i % 2 == 0 { "open" } else { "closed" })
                .bind(at)
                .execute(&mut *c)
                .await?;
            }
        });
    }
    authorised.tx.commit().await?;
    println!(
        "{} backend: {requests} synthetic requests and {} families over {MONTHS} months, \
         loaded in {:.1} s",
        db.backend(),
        requests.div_ceil(3),
        started.elapsed().as_secs_f64()
    );

    let time = |label: &str, took: Duration| {
        println!("{label}: {:.1} ms", took.as_secs_f64() * 1e3);
    };
    let started = Instant::now();
    computed::refresh(&db).await?;
    time("first refresh, every value written", started.elapsed());

    let mut authorised = gate::operator(&db, "benchmark", Action::Create, "one more").await?;
    let tx = &mut authorised.tx;
    on_tx!(tx, c => {
        sqlx::query(
            "INSERT INTO support_requests (id, locality_slug, address, postcode, reasons, \
             need_level, summary, consent_given_by, consent_method, consent_date, requester, \
             contact, self_referral, status, created_micros) VALUES ($1, $2, 'synthetic', \
             'B1 1AA', 'education', 'additional', 'synthetic', 'synthetic', 'verbal', \
             '2026-01-01', 'benchmark', '', FALSE, 'new', $3)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(&localities[0])
        .bind(now_micros())
        .execute(&mut *c)
        .await?;
    });
    authorised.tx.commit().await?;
    let started = Instant::now();
    anyhow::ensure!(
        computed::refresh_if_stale(&db).await?,
        "a new request is a change"
    );
    time("refresh after one new request", started.elapsed());

    let mut checks = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        anyhow::ensure!(!computed::refresh_if_stale(&db).await?, "nothing changed");
        checks.push(started.elapsed());
    }
    checks.sort();
    time("check with nothing changed, median of 200", checks[100]);
    time("check with nothing changed, slowest of 200", checks[199]);

    db.close().await;
    if let Some(path) = url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
    Ok(())
}

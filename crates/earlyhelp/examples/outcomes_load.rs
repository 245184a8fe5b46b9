//! Load driver for the outcomes dashboard: the demo city plus synthetic indicators up to 100,
//! served on a random port, then GET /outcomes as a signed-in commissioner many times.
//!
//! ```text
//! cargo run --release -p earlyhelp --example outcomes_load -- [REQUESTS] [CONCURRENCY] [DATABASE_URL]
//! ```
//!
//! The database defaults to a fresh SQLite file in the temporary directory; give a
//! `postgres://` URL of an empty database to measure PostgreSQL.

use earlyhelp_domain::access::Action;
use earlyhelp_storage::outcomes::{self, CITY, Indicator, NewValue};
use earlyhelp_storage::{accounts, gate};
use earlyhelp_web::{AppState, Config};
use std::time::{Duration, Instant};

const INDICATORS: usize = 100;
const MONTHS: usize = 24;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let requests: usize = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let concurrency: usize = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(8);
    let url = args.get(3).cloned().unwrap_or_else(|| {
        let path =
            std::env::temp_dir().join(format!("eh-outcomes-bench-{}.db", std::process::id()));
        format!("sqlite://{}", path.display())
    });
    let db = earlyhelp::server::open(&url).await?;
    earlyhelp::demo::load(&db, earlyhelp::demo_cases::DEMO_SCALE).await?;

    // Synthetic indicators up to 100, each with 24 months of city values.
    let existing = outcomes::list_indicators(&db).await?.len();
    let mut authorised =
        gate::operator(&db, "indicators", Action::Create, "benchmark data").await?;
    let mut values = Vec::new();
    for k in existing..INDICATORS {
        let indicator = Indicator {
            reference: format!("9.{}", 100 + k),
            outcome_number: (k % 9) as i32 + 1,
            name: format!("Synthetic benchmark indicator {k}"),
            unit: "count".into(),
            better: ["higher", "lower", "neither"][k % 3].into(),
            data_owner: "Benchmark".into(),
            frequency: "monthly".into(),
            source: "uploaded".into(),
            target: (k % 4 == 0).then_some(120.0),
            small_number_threshold: Some(5),
            public: true,
            spc_rules: "mdc".into(),
            spc_baseline: None,
        };
        outcomes::upsert_indicator(&mut authorised, &indicator).await?;
        for m in 0..MONTHS {
            let wobble = ((k * 31 + m * 17) % 23) as f64 - 11.0;
            values.push(NewValue {
                indicator_ref: indicator.reference.clone(),
                period: format!("{}-{:02}", 2019 + m / 12, m % 12 + 1),
                area: CITY.into(),
                dimension: String::new(),
                group: String::new(),
                value: 100.0 + wobble + if m > 18 { 15.0 } else { 0.0 },
                denominator: None,
            });
        }
    }
    outcomes::insert_new_values(&mut authorised, &values, "benchmark").await?;
    authorised.tx.commit().await?;
    let shown = outcomes::list_indicators(&db).await?.len();

    let commissioner = accounts::user_id_by_email(&db, "commissioner@earlyhelp.test")
        .await?
        .expect("the demo has a commissioner");
    let (token, _) = accounts::create_session(&db, commissioner, false).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}/outcomes", listener.local_addr()?);
    let state = AppState::new(
        db.clone(),
        Config {
            secure_cookies: false,
            ..Config::default()
        },
    );
    tokio::spawn(earlyhelp_web::serve(
        listener,
        state,
        std::future::pending(),
    ));

    let client = reqwest::Client::builder().build()?;
    let cookie = format!("eh_session={token}");
    let fetch = |client: reqwest::Client, cookie: String, address: String| async move {
        let started = Instant::now();
        let response = client.get(&address).header("cookie", cookie).send().await?;
        let status = response.status();
        let body = response.bytes().await?;
        anyhow::ensure!(status == 200, "status {status}");
        Ok::<_, anyhow::Error>((started.elapsed(), body.len()))
    };
    // Warm up, and check the page holds every indicator.
    let page = client
        .get(&address)
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    let rows = page.matches("data-indicator=").count();
    anyhow::ensure!(rows == shown, "the page shows {rows} of {shown} indicators");
    for _ in 0..20 {
        fetch(client.clone(), cookie.clone(), address.clone()).await?;
    }

    let started = Instant::now();
    let per_task = requests / concurrency;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, cookie, address) = (client.clone(), cookie.clone(), address.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                times.push(fetch(client.clone(), cookie.clone(), address.clone()).await?);
            }
            Ok::<_, anyhow::Error>(times)
        }));
    }
    let mut times: Vec<Duration> = Vec::new();
    let mut bytes = 0;
    for task in tasks {
        for (time, size) in task.await?? {
            times.push(time);
            bytes = size;
        }
    }
    let elapsed = started.elapsed();
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!(
        "{} backend, {rows} indicators x {MONTHS} months, page {} KiB (uncompressed)",
        db.backend(),
        bytes / 1024
    );
    println!(
        "{} requests, {concurrency} concurrent: {:.0} requests/s; latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        times.len(),
        times.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3,
    );
    db.close().await;
    if let Some(path) = url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
    Ok(())
}

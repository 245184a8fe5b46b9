//! Directory search benchmark: 20,000 services, the public search and the ORUK `/services`
//! endpoint, in-process and over HTTP on loopback; median and p99 latency, and memory.
//!
//!     cargo run --release -p earlyhelp --example directory_bench [-- SERVICES [QUERIES]]
//!
//! Set EARLYHELP_BENCH_SQLITE_FILE=PATH to keep the SQLite database (it must not exist yet).
//! Set EARLYHELP_BENCH_POSTGRES_URL=postgres://USER@HOST/DATABASE (an empty database it may
//! fill) to measure PostgreSQL as well as SQLite.

use earlyhelp_domain::directory::{self as rules, need_id};
use earlyhelp_storage::Db;
use earlyhelp_storage::directory::{self as store, Filter};
use earlyhelp_storage::gate;
use earlyhelp_web::{AppState, Config};
use std::time::{Duration, Instant};

const WORDS: &[&str] = &[
    "food",
    "parenting",
    "youth",
    "advice",
    "counselling",
    "baby",
    "autism",
    "club",
];
const NEEDS: &[&str] = &[
    "food",
    "parenting",
    "youth-activities",
    "debt-benefits",
    "counselling",
    "baby-bank",
    "send-autism",
    "youth-activities",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "| {label} | {} | {:.2} | {:.2} | {:.2} |",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1000.0,
        percentile(&times, 0.99).as_secs_f64() * 1000.0,
        times.last().unwrap().as_secs_f64() * 1000.0
    );
}

fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fills the directory to `total` services by copying the demo's, moved a little.
async fn fill(db: &Db, total: usize) -> anyhow::Result<()> {
    let ids = store::all_service_ids(db, "").await?;
    let mut templates = Vec::new();
    for id in &ids {
        templates.push(store::load_service(db, *id).await?.unwrap());
    }
    let mut made = ids.len();
    let mut n: u64 = 0;
    while made < total {
        let mut authorised = gate::operator(
            db,
            "directory",
            earlyhelp_domain::access::Action::Create,
            "benchmark",
        )
        .await?;
        for _ in 0..1000.min(total - made) {
            n += 1;
            let mut s = templates[(n as usize * 7919) % templates.len()].clone();
            s.id = uuid::Uuid::now_v7();
            s.name = format!(
                "{} {}",
                s.name,
                ["North", "South", "East", "West", "Central"][(n % 5) as usize]
            );
            let shift = ((n % 97) as f64 - 48.0) * 0.0004;
            for l in &mut s.locations {
                l.id = uuid::Uuid::now_v7();
                l.location_id = uuid::Uuid::now_v7();
                l.latitude = l.latitude.map(|v| v + shift);
                l.longitude = l.longitude.map(|v| v - shift);
            }
            for sc in &mut s.schedules {
                sc.id = uuid::Uuid::now_v7();
            }
            store::save_service(&mut authorised, &s).await?;
            made += 1;
        }
        authorised.tx.commit().await?;
    }
    Ok(())
}

async fn bench(label: &str, url: &str, services: usize, queries: usize) -> anyhow::Result<()> {
    let db = earlyhelp::server::open(url).await?;
    let started = Instant::now();
    earlyhelp::demo::load(&db, earlyhelp::demo_cases::DEMO_SCALE).await?;
    fill(&db, services).await?;
    // A live PostgreSQL has its statistics; without this, autovacuum analyses the freshly
    // loaded tables in the middle of the measurements and the plans change under them.
    if let Db::Postgres(pool, _) = &db {
        sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    }
    println!(
        "\n### {label}: {} services loaded in {:.1} s ({})\n",
        store::count_services(&db).await?,
        started.elapsed().as_secs_f64(),
        memory()
    );
    let postcodes = earlyhelp::demo_directory::postcodes();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(
        db.clone(),
        Config {
            secure_cookies: false,
            // The benchmark measures pages, not sign-in: the demo accounts use a password alone.
            second_factor_required: false,
            ..Config::default()
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(earlyhelp_web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let today = store::today();
    println!("| what | queries | median ms | p99 ms | max ms |\n|---|---|---|---|---|");
    // In-process: the storage search (SQL prefilter, exact distance, ranking) and the page of 10.
    for (name, with_text) in [
        (
            "in-process search: words + need + postcode, first page",
            true,
        ),
        ("in-process search: need + postcode, first page", false),
    ] {
        let (mut times, mut searched) = (Vec::new(), Vec::new());
        for i in 0..queries {
            let p = &postcodes[(i * 31) % postcodes.len()];
            let filter = Filter {
                words: if with_text {
                    rules::search_words(WORDS[i % WORDS.len()])
                } else {
                    Vec::new()
                },
                term_id: need_id(NEEDS[i % NEEDS.len()]),
                near: Some((p.latitude, p.longitude)),
                ..Filter::default()
            };
            let t = Instant::now();
            let hits = store::search(&db, &filter, today).await?;
            searched.push(t.elapsed());
            let page: Vec<uuid::Uuid> = hits.iter().take(10).map(|h| h.id).collect();
            store::load_services(&db, &page, true).await?;
            times.push(t.elapsed());
        }
        report(name, times);
        report("  of which the search (every hit ranked)", searched);
    }
    // Over HTTP on loopback: the whole request, rendering included.
    for (name, path) in [
        ("HTTP /find-support?q=..&need=..&postcode=..", "public"),
        (
            "HTTP /openreferral/services?search=..&taxonomy_term_id=..&postcode=..&proximity=5000",
            "oruk",
        ),
        (
            "HTTP /openreferral/services?page=N (no filter, 50 a page)",
            "oruk-all",
        ),
    ] {
        let mut times = Vec::new();
        for i in 0..queries {
            let p = &postcodes[(i * 31) % postcodes.len()];
            let postcode = p.postcode.replace(' ', "+");
            let url = match path {
                "public" => format!(
                    "{address}/find-support?q={}&need={}&postcode={postcode}",
                    WORDS[i % WORDS.len()],
                    NEEDS[i % NEEDS.len()]
                ),
                "oruk" => format!(
                    "{address}/openreferral/services?search={}&taxonomy_term_id={}&postcode={postcode}&proximity=5000",
                    WORDS[i % WORDS.len()],
                    need_id(NEEDS[i % NEEDS.len()]).unwrap()
                ),
                _ => format!("{address}/openreferral/services?page={}", 1 + i % 50),
            };
            let t = Instant::now();
            let response = client.get(&url).send().await?;
            assert!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            response.bytes().await?;
            times.push(t.elapsed());
        }
        report(name, times);
    }
    println!("\nmemory after the runs: {}", memory());
    let _ = stop.send(());
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let services: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let queries: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300);
    // EARLYHELP_BENCH_SQLITE_FILE keeps the SQLite database there, for a look at query plans.
    let keep = std::env::var("EARLYHELP_BENCH_SQLITE_FILE").ok();
    let path = keep
        .clone()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("directory-bench-{}.db", std::process::id()))
        });
    let url = format!("sqlite://{}", path.display());
    bench("SQLite", &url, services, queries).await?;
    if keep.is_none() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    if let Ok(url) = std::env::var("EARLYHELP_BENCH_POSTGRES_URL") {
        bench("PostgreSQL", &url, services, queries).await?;
    }
    Ok(())
}

//! City-scale case management benchmark: loads a synthetic city (the demo city plus, by default,
//! 100,000 families with 300,000+ people and 1,000,000+ notes, and a year of audit events),
//! starts the real `earlyhelp serve` on it, and measures the family page and the triage queue
//! over HTTP on loopback with concurrent signed-in clients (and a static route, as the ceiling):
//! median, p99, throughput and the server's memory.
//!
//!     cargo build --release -p earlyhelp --bin earlyhelp --example cases_bench
//!     target/release/examples/cases_bench load --database sqlite:///tmp/city.db
//!     target/release/examples/cases_bench run --database sqlite:///tmp/city.db --clients 32
//!
//! `load` needs an empty database (SQLite or PostgreSQL); `run` may be repeated on it (each run
//! adds audit events, as real reading does).

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use earlyhelp::demo_cases::{self, Scale};
use earlyhelp_domain::access::Action;
use earlyhelp_storage::Db;
use earlyhelp_storage::case_load;
use earlyhelp_storage::gate::{self, NewEvent};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::{Duration, Instant};

mod common;
use common::{drive, percentile, sign_in};
use uuid::Uuid;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the synthetic city in an empty database.
    Load {
        #[arg(long)]
        database: String,
        /// Families beyond the demo's, spread over the ten localities.
        #[arg(long, default_value_t = 100_000)]
        families: usize,
        /// Practitioners added to each locality to hold them.
        #[arg(long, default_value_t = 100)]
        practitioners: usize,
        /// Requests waiting for triage in each locality.
        #[arg(long, default_value_t = 150)]
        waiting: usize,
        /// Notes beyond each family's own story.
        #[arg(long, default_value_t = 4)]
        extra_notes: usize,
        /// Earlier reads of each family already in the audit log.
        #[arg(long, default_value_t = 5)]
        audit_reads: usize,
    },
    /// Serve the city with the release binary and measure it.
    Run {
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Measured seconds per page (after two seconds of warm-up).
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Each client pauses this long after each page, as a person reading it does; 0 (the
        /// default) asks back to back, which measures saturation rather than a day's use.
        #[arg(long, default_value_t = 0)]
        think_ms: u64,
        /// The earlyhelp binary; by default the release build beside this example.
        #[arg(long)]
        server: Option<std::path::PathBuf>,
    },
}

fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The machine's busy CPU time so far, all cores, in milliseconds: `/proc/stat`'s user, nice,
/// system, irq and softirq (steal is another guest's), in ticks of 10 ms. Divided by the pages
/// served it is what a page costs, server, database and load generator together: steadier
/// than latency on a machine whose speed varies from minute to minute.
fn busy_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    [0, 1, 2, 5, 6]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum::<u64>()
        * 10
}

async fn count(db: &Db, sql: &'static str) -> Result<i64> {
    Ok(earlyhelp_storage::on_pool!(db, pool => {
        sqlx::query_scalar(sql).fetch_one(pool).await?
    }))
}

async fn print_counts(db: &Db) -> Result<()> {
    for (what, sql) in [
        ("families", "SELECT COUNT(*) FROM families"),
        ("people in families", "SELECT COUNT(*) FROM family_members"),
        ("notes", "SELECT COUNT(*) FROM family_notes"),
        ("readings (one score each)", "SELECT COUNT(*) FROM readings"),
        ("plan actions", "SELECT COUNT(*) FROM plan_actions"),
        ("requests", "SELECT COUNT(*) FROM support_requests"),
        (
            "requests waiting for triage",
            "SELECT COUNT(*) FROM support_requests WHERE status = 'new'",
        ),
        ("audit events", "SELECT COUNT(*) FROM audit_events"),
    ] {
        println!("| {what} | {} |", count(db, sql).await?);
    }
    Ok(())
}

async fn load(
    url: &str,
    families: usize,
    practitioners: usize,
    scale: Scale,
    audit_reads: usize,
) -> Result<()> {
    let started = Instant::now();
    let db = earlyhelp::server::open(url).await?;
    if !earlyhelp_storage::accounts::list_organisations(&db)
        .await?
        .is_empty()
    {
        bail!("{url} already holds data; load needs an empty database");
    }
    earlyhelp::demo::load(&db, demo_cases::DEMO_SCALE).await?;
    let demo = started.elapsed();
    let mut staff = demo_cases::leads(&db).await?;
    let password_hash = earlyhelp_storage::secrets::hash_password(earlyhelp::demo::PASSWORD);
    // Numbered after the demo's own four practitioners in each locality.
    demo_cases::add_practitioners(&db, &mut staff, 101, practitioners, &password_hash).await?;
    let today = earlyhelp_storage::cases::today();
    let scale = Scale {
        families_per_locality: families / staff.len(),
        ..scale
    };
    let mut loaded = 0;
    for histories in demo_cases::city(&staff, scale, today, 2_000) {
        let mut authorised =
            gate::operator(&db, "benchmark", Action::Create, "load the synthetic city").await?;
        case_load::load(&mut authorised, &histories).await?;
        // Earlier reads by the lead practitioner, so the audit log is the size a city's is.
        for h in &histories {
            let Some(family) = h.triage.as_ref().and_then(|t| t.family.as_ref()) else {
                continue;
            };
            let subject = format!("family:{}", family.id);
            for _ in 0..audit_reads {
                gate::append(
                    &mut authorised.tx,
                    &NewEvent {
                        actor: "practitioner@benchmark",
                        actor_organisation: "Benchmark",
                        actor_role: "practitioner",
                        subject: &subject,
                        action: "read",
                        purpose: "case record",
                        outcome: "allowed",
                        remote_addr: "127.0.0.1",
                    },
                )
                .await?;
            }
        }
        authorised.tx.commit().await?;
        loaded += histories.len();
        eprint!("\r{loaded} requests and families loaded");
    }
    eprintln!();
    if let Db::Postgres(pool, _) = &db {
        sqlx::query("ANALYZE").execute(pool).await?;
    }
    println!(
        "loaded in {:.0} s (the demo city in {:.1} s)\n\n| what | rows |\n|---|---|",
        started.elapsed().as_secs_f64(),
        demo.as_secs_f64()
    );
    print_counts(&db).await?;
    db.close().await;
    Ok(())
}

async fn run(
    url: &str,
    clients: usize,
    seconds: u64,
    think: Duration,
    server: std::path::PathBuf,
) -> Result<()> {
    let db = Db::connect(url).await?;
    // Each practitioner with the families they lead; the locality leads.
    let rows: Vec<(String, Uuid)> = earlyhelp_storage::on_pool!(&db, pool => {
        sqlx::query_as(
            "SELECT u.email, f.id FROM families f JOIN users u ON u.id = f.lead_practitioner \
             WHERE u.email LIKE 'practitioner1__.%' ORDER BY u.email, f.id",
        )
        .fetch_all(pool)
        .await?
    });
    let leads: Vec<String> = earlyhelp_storage::on_pool!(&db, pool => {
        sqlx::query_scalar("SELECT email FROM users WHERE email LIKE 'lead.%' ORDER BY email")
            .fetch_all(pool)
            .await?
    });
    db.close().await;
    let mut caseloads: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for (email, family) in rows {
        caseloads.entry(email).or_default().push(family);
    }
    if caseloads.len() < clients || leads.is_empty() {
        bail!("{url} has no benchmark city: run `load` first");
    }

    let mut child = std::process::Command::new(&server)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", url])
        // The benchmark measures pages, not sign-in: its accounts use a password alone.
        .env("EARLYHELP_SECOND_FACTOR", "optional")
        // 64 sign-ins from one address would meet the sign-in throttle's 429.
        .env("EARLYHELP_SIGN_INS_PER_15_MINUTES", "0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", server.display()))?;
    let pid = child.id();
    let stdout = child.stdout.take().context("the server's output")?;
    let mut address = String::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(rest) = line.split("listening on ").nth(1) {
            address = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            break;
        }
    }
    if address.is_empty() {
        let _ = child.kill();
        bail!("the server did not say where it listens");
    }
    let result = measure(&address, pid, &caseloads, &leads, clients, seconds, think).await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

async fn measure(
    address: &str,
    pid: u32,
    caseloads: &BTreeMap<String, Vec<Uuid>>,
    leads: &[String],
    clients: usize,
    seconds: u64,
    think: Duration,
) -> Result<()> {
    println!("server started: {}", memory(pid));
    // Practitioners spread across the localities, each reading the families they lead.
    let step = caseloads.len() / clients;
    let mut family_clients = Vec::new();
    for (email, families) in caseloads.iter().step_by(step).take(clients) {
        let paths = families
            .iter()
            .map(|f| format!("{address}/families/{f}"))
            .collect();
        family_clients.push((sign_in(address, email).await?, paths));
    }
    let mut queue_clients = Vec::new();
    // The same signed-in sessions asking for a route that reads nothing: the ceiling the HTTP
    // stack, the session check and the load generator leave on these cores.
    let mut static_clients = Vec::new();
    for c in 0..clients {
        let lead = &leads[c % leads.len()];
        let client = sign_in(address, lead).await?;
        static_clients.push((client.clone(), vec![format!("{address}/healthz")]));
        queue_clients.push((client, vec![format!("{address}/triage")]));
    }
    println!("{clients} clients signed in: {}", memory(pid));
    println!(
        "\n| page | clients | pause ms | requests | median ms | p90 ms | p99 ms | max ms | requests/s | CPU ms a page | load average before | server memory after |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for (page, clients) in [
        ("static route `/healthz` (ceiling)", static_clients),
        ("family page `/families/{id}`", family_clients),
        ("triage queue `/triage`", queue_clients),
    ] {
        let load = load_average();
        let n = clients.len();
        // CPU is counted from the end of the two seconds of warm-up, as the pages are.
        let warmed = tokio::spawn(async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            busy_ms()
        });
        let (times, throughput) = drive(clients, seconds, think).await?;
        let cpu_per_page = (busy_ms() - warmed.await?) as f64 / times.len().max(1) as f64;
        println!(
            "| {page} | {n} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {throughput:.0} | {cpu_per_page:.2} | {load} | {} |",
            think.as_millis(),
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            percentile(&times, 0.99),
            percentile(&times, 1.0),
            memory(pid)
        );
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Load {
            database,
            families,
            practitioners,
            waiting,
            extra_notes,
            audit_reads,
        } => {
            let scale = Scale {
                families_per_locality: 0,
                waiting_per_locality: waiting,
                extra_notes,
            };
            load(&database, families, practitioners, scale, audit_reads).await
        }
        Command::Run {
            database,
            clients,
            seconds,
            think_ms,
            server,
        } => {
            let server = match server {
                Some(path) => path,
                None => std::env::current_exe()?
                    .parent()
                    .and_then(|examples| examples.parent())
                    .context("where this example is")?
                    .join("earlyhelp"),
            };
            run(
                &database,
                clients,
                seconds,
                Duration::from_millis(think_ms),
                server,
            )
            .await
        }
    }
}

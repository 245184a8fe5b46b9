//! Money benchmark: the duplicate check for one household, and the spend-against-need page,
//! with 100,000 payments on file.
//!
//!     cargo run --release -p earlyhelp --example money_bench -- --families 40000 --payments 100000
//!
//! It builds a fresh SQLite demo city in a temporary file (or uses `--database`, which must be
//! empty; one that already holds a city is measured as it is), adds `--families` more families across the ten localities, spreads `--payments`
//! payments over them in the last eleven months, and then runs the check (the indexed
//! candidate queries and the linkage engine's scoring, exactly as the approval page does) for
//! `--checks` households, printing the median, p95, p99 and the largest time. Then it serves
//! the city and has `--clients` signed-in grants officers open the approval pages of the last
//! `--waiting` payments (each runs the check) for `--seconds`: median and p99 over HTTP.
//! Last, spend against need: the background job's count of payments by place once, the
//! page's counts and figures `--need-checks` times straight against storage, then
//! `/spend-against-need` over HTTP by `--clients` grants officers for `--seconds`.

use anyhow::{Context, Result};
use clap::Parser;
use earlyhelp::demo_cases::{self, Scale};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::money::{CheckedProgramme, PaymentState, ProgrammeKind};
use earlyhelp_storage::payments::{self, Historic};
use earlyhelp_storage::{case_load, gate, now_micros};
use std::time::{Duration, Instant};

mod common;
use common::{drive, percentile, sign_in};

#[derive(Parser)]
struct Cli {
    #[arg(long)]
    database: Option<String>,
    #[arg(long, default_value_t = 40_000)]
    families: usize,
    #[arg(long, default_value_t = 100_000)]
    payments: usize,
    #[arg(long, default_value_t = 500)]
    checks: usize,
    #[arg(long, default_value_t = 200)]
    waiting: usize,
    #[arg(long, default_value_t = 4)]
    clients: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 200)]
    need_checks: usize,
}

const DAY: i64 = 86_400_000_000;

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let url = match &cli.database {
        Some(url) => url.clone(),
        None => {
            let file = std::env::temp_dir().join(format!("money-bench-{}.db", std::process::id()));
            format!("sqlite://{}", file.display())
        }
    };
    let started = Instant::now();
    let db = earlyhelp::server::open(&url).await?;
    let reuse = !earlyhelp_storage::accounts::list_organisations(&db)
        .await?
        .is_empty();
    if reuse {
        println!("{url} already holds a city: measuring it as it is");
    } else {
        load(&db, &cli).await?;
        println!("loaded in {:.0} s", started.elapsed().as_secs_f64());
    }
    let mut authorised = gate::operator(&db, "benchmark", Action::List, "benchmark").await?;
    let families = payments::families_with_leads(&mut authorised).await?;
    authorised.tx.commit().await?;
    let now = now_micros();
    let since = now - 365 * DAY;
    let mut times = Vec::with_capacity(cli.checks);
    let mut flagged = 0;
    for n in 0..cli.checks {
        let family = families[(n * 104_729) % families.len()].0;
        let mut tx = db.begin_read().await?;
        let t = Instant::now();
        let found = payments::duplicates_of_family(&mut tx, family, since).await?;
        times.push(t.elapsed());
        if !found.is_empty() {
            flagged += 1;
        }
        tx.commit().await?;
    }
    times.sort();
    let total: Duration = times.iter().sum();
    println!(
        "duplicate check, {} households: median {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms, mean {:.1} ms; {flagged} had a likely duplicate",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times.last().context("at least one check")?.as_secs_f64() * 1000.0,
        total.as_secs_f64() * 1000.0 / times.len() as f64,
    );

    let mut authorised = gate::operator(&db, "payments", Action::List, "benchmark").await?;
    let waiting = payments::queue(&mut authorised, cli.waiting as i64).await?;
    authorised.tx.commit().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = format!("http://{}", listener.local_addr()?);
    let state = earlyhelp_web::AppState::new(
        db.clone(),
        earlyhelp_web::Config {
            secure_cookies: false,
            // The benchmark measures pages, not sign-in: the demo accounts use a password alone.
            second_factor_required: false,
            sign_ins_per_15_minutes: 0,
            ..earlyhelp_web::Config::default()
        },
    );
    tokio::spawn(earlyhelp_web::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let pages: Vec<String> = waiting
        .iter()
        .map(|p| format!("{address}/payments/{}", p.id))
        .collect();
    let mut clients = Vec::new();
    for _ in 0..cli.clients {
        let officer = sign_in(&address, earlyhelp::demo_money::GRANTS_OFFICER).await?;
        clients.push((officer, pages.clone()));
    }
    let (mut times, per_second) = drive(clients, cli.seconds, Duration::ZERO).await?;
    times.sort();
    println!(
        "approval page over HTTP, {} clients, {} pages: {} requests, {per_second:.0} a second, median {:.1} ms, p99 {:.1} ms",
        cli.clients,
        pages.len(),
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
    );
    spend_against_need(&db, &cli, &address).await
}

/// The page's counts and figures straight against storage, as its handler makes them, then
/// the page over HTTP.
async fn spend_against_need(db: &earlyhelp_storage::Db, cli: &Cli, address: &str) -> Result<()> {
    use earlyhelp_domain::deprivation::{Edition, spend_against_need};
    use earlyhelp_storage::deprivation as need;
    let localities: Vec<(String, String)> = earlyhelp_storage::accounts::list_localities(db)
        .await?
        .into_iter()
        .map(|l| (l.slug, l.name))
        .collect();
    // What the background job does when payments change: count them by place.
    let t = Instant::now();
    need::refresh(db).await?;
    println!(
        "payments counted by place (the background job, after a change) in {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut times = Vec::with_capacity(cli.need_checks);
    let mut counted = (0, 0, 0);
    for _ in 0..cli.need_checks {
        let t = Instant::now();
        let mut tx = db.begin_read().await?;
        let areas = need::areas(&mut tx, Some(Edition::E2025)).await?;
        let (paid, _) = need::payments(&mut tx, None).await?;
        let awarded = need::awards(&mut tx, None).await?;
        tx.commit().await?;
        let figures = spend_against_need(&localities, areas, &paid, &awarded);
        times.push(t.elapsed());
        counted = (
            figures.areas.len(),
            paid.iter().map(|p| p.payments).sum::<i64>(),
            figures.not_drawn.payments_unplaced,
        );
    }
    times.sort();
    println!(
        "spend against need, {} times: median {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} LSOAs, {} payments counted, {} of them unplaced",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        times.last().context("at least one")?.as_secs_f64() * 1000.0,
        counted.0,
        counted.1,
        counted.2,
    );
    let mut clients = Vec::new();
    for _ in 0..cli.clients {
        let officer = sign_in(address, earlyhelp::demo_money::GRANTS_OFFICER).await?;
        let pages = vec![
            format!("{address}/spend-against-need"),
            format!("{address}/spend-against-need?edition=2019"),
        ];
        clients.push((officer, pages));
    }
    let (mut times, per_second) = drive(clients, cli.seconds, Duration::ZERO).await?;
    times.sort();
    println!(
        "spend-against-need page over HTTP, {} clients: {} requests, {per_second:.0} a second, median {:.1} ms, p99 {:.1} ms",
        cli.clients,
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
    );
    Ok(())
}

/// The demo city, `--families` more families, and `--payments` payments spread over them.
async fn load(db: &earlyhelp_storage::Db, cli: &Cli) -> Result<()> {
    earlyhelp::demo::load(db, demo_cases::DEMO_SCALE).await?;
    let mut staff = demo_cases::leads(db).await?;
    let password_hash = earlyhelp_storage::secrets::hash_password(earlyhelp::demo::PASSWORD);
    // Numbered after the demo's own four practitioners in each locality.
    demo_cases::add_practitioners(db, &mut staff, 101, 4, &password_hash).await?;
    let scale = Scale {
        families_per_locality: cli.families / staff.len(),
        waiting_per_locality: 0,
        extra_notes: 0,
    };
    let today = earlyhelp_storage::cases::today();
    for histories in demo_cases::city(&staff, scale, today, 2_000) {
        let mut authorised =
            gate::operator(db, "benchmark", Action::Create, "load the synthetic city").await?;
        case_load::load(&mut authorised, &histories).await?;
        authorised.tx.commit().await?;
    }
    let mut authorised =
        gate::operator(db, "benchmark", Action::Create, "benchmark payments").await?;
    let families = payments::families_with_leads(&mut authorised).await?;
    let fund = CheckedProgramme {
        name: "Benchmark fund".into(),
        kind: ProgrammeKind::FamilyPayments,
        funder: "City Council".into(),
        budget: 1_000_000_000,
        locality_budgets: Vec::new(),
        opens_on: today - time::Duration::days(400),
        closes_on: today + time::Duration::days(30),
        cap: 15_000,
        threshold: 10_000,
        identifier_prefix: "360G-earlyhelp".into(),
        regrant_type: None,
        crisis: false,
        eligibility: String::new(),
        criteria: Vec::new(),
    };
    let now = now_micros();
    let history: Vec<Historic> = (0..cli.payments)
        .map(|n| {
            let (family_id, locality, lead, lead_name) = &families[(n * 7919) % families.len()];
            let requested = now - (n as i64 % 330) * DAY;
            Historic {
                programme: 0,
                family_id: *family_id,
                locality: locality.clone(),
                amount: 13_300,
                purposes: "GTIP070",
                reason: "GTIR010",
                state: if n + cli.waiting >= cli.payments {
                    PaymentState::Requested
                } else {
                    PaymentState::Paid
                },
                requested_by: (*lead, lead_name.clone()),
                requested_micros: requested,
                decided_by: Some((*lead, lead_name.clone())),
                decided_micros: Some(requested),
                paid: None,
            }
        })
        .collect();
    payments::load_history(&mut authorised, &[fund], &history).await?;
    authorised.tx.commit().await?;
    // The new families' postcodes placed, and the synthetic deciles set again over all spend.
    earlyhelp::demo_deprivation::load(db).await?;
    println!(
        "{} families, {} payments (and the demo's)",
        families.len(),
        cli.payments
    );
    Ok(())
}

//! Connections benchmark: an inbox of 10,000 referrals for one organisation, read by signed-in
//! clients over HTTP on loopback (median and p99), and the outbox sending 1,000 messages to a
//! local SMTP server (aiosmtpd; `pip install aiosmtpd`).
//!
//!     cargo run --release -p earlyhelp --example connections_bench -- --clients 8
//!
//! It builds a fresh SQLite demo city in a temporary file, adds the referrals, and serves it in
//! this process with the release build's code.

use anyhow::{Context, Result};
use clap::Parser;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::connections::{ReferralState, Side};
use earlyhelp_storage::connections::{self, Historic};
use earlyhelp_storage::{Db, gate, now_micros, outbox};
use earlyhelp_web::{AppState, Config};
use std::time::{Duration, Instant};

mod common;
use common::{drive, percentile, sign_in};

#[derive(Parser)]
struct Cli {
    #[arg(long, default_value_t = 10_000)]
    referrals: usize,
    #[arg(long, default_value_t = 8)]
    clients: usize,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    #[arg(long, default_value_t = 1_000)]
    messages: usize,
}

const VCS_WORKER: &str = "vcs@earlyhelp.test";

async fn add_referrals(db: &Db, count: usize) -> Result<()> {
    let mut authorised =
        gate::operator(db, "benchmark", Action::Create, "benchmark referrals").await?;
    let found = connections::candidates(&mut authorised).await?;
    let user = earlyhelp_storage::accounts::user_id_by_email(db, VCS_WORKER)
        .await?
        .context("the demo VCS worker")?;
    let organisation = earlyhelp_storage::accounts::user_organisation(db, user)
        .await?
        .context("their organisation")?;
    let target = found
        .services
        .iter()
        .map(|(t, _)| t)
        .find(|t| t.organisation == organisation)
        .context("a service of theirs")?
        .clone();
    let now = now_micros();
    let states = [
        ReferralState::Sent,
        ReferralState::Accepted,
        ReferralState::Completed,
    ];
    let history: Vec<Historic> = (0..count)
        .map(|n| {
            let (family, locality, lead, lead_name, member) =
                &found.families[n % found.families.len()];
            let sent = now - (n as i64 % 400 + 1) * 86_400_000_000;
            let mut steps = vec![(ReferralState::Sent, Side::Referrer, sent)];
            let last = states[n % states.len()];
            if last != ReferralState::Sent {
                steps.push((last, Side::Service, sent + 86_400_000_000));
            }
            Historic {
                family_id: *family,
                target: target.clone(),
                referrer: (*lead, lead_name.clone()),
                locality: locality.clone(),
                why: "Benchmark".into(),
                member: member.clone(),
                steps,
                decline_reason: None,
                outcome: None,
            }
        })
        .collect();
    connections::load_history(&mut authorised, &history).await?;
    authorised.tx.commit().await?;
    Ok(())
}

async fn outbox_run(db: &Db, messages: usize) -> Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let maildir = std::env::temp_dir().join(format!("eh-bench-mail-{}", uuid::Uuid::new_v4()));
    let mut server = std::process::Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .spawn()
        .context("start aiosmtpd (pip install aiosmtpd)")?;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut tx = db.begin().await?;
    for n in 0..messages {
        outbox::enqueue(
            &mut tx,
            "bench@example.test",
            &format!("Referral CN-{n}"),
            "A referral",
            "/referrals",
        )
        .await?;
    }
    tx.commit().await?;
    let sending = earlyhelp::mail::Sending {
        mailer: earlyhelp::mail::Mailer::Smtp(earlyhelp::mail::smtp(&format!(
            "smtp://127.0.0.1:{port}"
        ))?),
        from: "earlyhelp <bench@earlyhelp.test>".into(),
        site: "http://bench".into(),
    };
    let started = Instant::now();
    let mut sent = 0;
    while sent < messages {
        sent += earlyhelp::mail::drain(db, &sending, now_micros()).await?;
    }
    let elapsed = started.elapsed();
    let delivered = std::fs::read_dir(maildir.join("new"))?.count();
    println!(
        "outbox: {sent} messages sent in {:.2} s ({:.0} a second); {delivered} delivered",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&maildir);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let file =
        std::env::temp_dir().join(format!("eh-connections-bench-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}", file.display());
    let db = earlyhelp::server::open(&url).await?;
    let started = Instant::now();
    earlyhelp::demo::load(&db, earlyhelp::demo_cases::TEST_SCALE).await?;
    add_referrals(&db, cli.referrals).await?;
    println!(
        "loaded the demo city and {} referrals in {:.1} s",
        cli.referrals,
        started.elapsed().as_secs_f64()
    );

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
    tokio::spawn(earlyhelp_web::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let mut clients = Vec::new();
    for _ in 0..cli.clients {
        clients.push((
            sign_in(&address, VCS_WORKER).await?,
            vec![format!("{address}/referrals")],
        ));
    }
    let (times, throughput) = drive(clients, cli.seconds, Duration::ZERO).await?;
    println!(
        "inbox of {} referrals (50 a page), {} clients back to back: median {:.1} ms, p99 {:.1} ms, {:.0} pages/s",
        cli.referrals,
        cli.clients,
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        throughput
    );
    outbox_run(&db, cli.messages).await?;
    db.close().await;
    let _ = std::fs::remove_file(&file);
    Ok(())
}

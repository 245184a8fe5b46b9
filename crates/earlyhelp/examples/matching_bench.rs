//! Matching benchmark: an agency's list of 200,000 records matched against the demo city's
//! people, in the product (issue 14): the upload read and stored as the page does, then the
//! run as the background worker does it, its progress printed as the page would show it.
//!
//!     cargo run --release -p earlyhelp --example matching_bench -- --records 200000
//!
//! The list holds every family member of the demo city as recorded (true pairs), and the
//! rest from the linkage engine's own generator (people earlyhelp does not know). It builds a
//! fresh SQLite demo city in a temporary file, or uses `--database` (a PostgreSQL address
//! works too; an empty database is given the demo city first).

use anyhow::Result;
use clap::Parser;
use earlyhelp::demo_cases;
use earlyhelp_domain::access::Action;
use earlyhelp_domain::matching::TermsInput;
use earlyhelp_storage::{Db, gate, matching};
use std::time::{Duration, Instant};
use uuid::Uuid;

#[derive(Parser)]
struct Cli {
    #[arg(long)]
    database: Option<String>,
    #[arg(long, default_value_t = 200_000)]
    records: usize,
}

type Person = (String, String, String, String, String);

async fn family_members(db: &Db) -> Result<Vec<Person>> {
    let sql = "SELECT m.given_name, m.family_name, m.date_of_birth, f.postcode, f.address \
               FROM family_members m JOIN families f ON f.id = m.family_id";
    Ok(match db {
        Db::Sqlite(pool, _) => sqlx::query_as(sql).fetch_all(pool).await?,
        Db::Postgres(pool, _) => sqlx::query_as(sql).fetch_all(pool).await?,
    })
}

async fn progress(db: &Db, run: Uuid) -> Result<(String, i64)> {
    let sql = "SELECT stage, percent FROM match_runs WHERE id = $1";
    Ok(match db {
        Db::Sqlite(pool, _) => sqlx::query_as(sql).bind(run).fetch_one(pool).await?,
        Db::Postgres(pool, _) => sqlx::query_as(sql).bind(run).fetch_one(pool).await?,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let url = match &cli.database {
        Some(url) => url.clone(),
        None => {
            let path = std::env::temp_dir().join(format!("matching-bench-{}.db", Uuid::new_v4()));
            format!("sqlite://{}", path.display())
        }
    };
    let db = earlyhelp::server::open(&url).await?;
    if family_members(&db).await?.is_empty() {
        let clock = Instant::now();
        earlyhelp::demo::load(&db, demo_cases::DEMO_SCALE).await?;
        eprintln!("demo city loaded in {:.1} s", clock.elapsed().as_secs_f64());
    }
    let known = family_members(&db).await?;

    // The list: the demo's family members, then generated strangers up to `--records`.
    let strangers = cli.records.saturating_sub(known.len());
    let generated = linkage::generate::link_data(&linkage::generate::GeneratorSettings {
        people: strangers,
        seed: 14,
    });
    let mut csv = String::from("id,given_name,family_name,date_of_birth,postcode,address\n");
    let mut writer = csv::Writer::from_writer(Vec::new());
    for (n, (given, family, born, postcode, address)) in known.iter().enumerate() {
        writer.write_record([&format!("D{n}"), given, family, born, postcode, address])?;
    }
    for row in &generated.left {
        // id, given_name, family_name, date_of_birth, sex, address, postcode, phone
        writer.write_record([&row[0], &row[1], &row[2], &row[3], &row[6], &row[5]])?;
    }
    csv.push_str(std::str::from_utf8(&writer.into_inner()?)?);
    let records = known.len() + generated.left.len();
    eprintln!(
        "list: {records} records ({} known to earlyhelp), {:.1} MB",
        known.len(),
        csv.len() as f64 / 1e6
    );

    // The upload, as the page does it: read and checked, then stored.
    let clock = Instant::now();
    let list = matching::read_list("bench.csv", csv.as_bytes())
        .map_err(|problems| anyhow::anyhow!(problems.join("; ")))?;
    let read = clock.elapsed();
    let terms = earlyhelp_domain::matching::check_terms(
        &TermsInput {
            source: "Benchmark".into(),
            purpose: "Benchmark".into(),
            article6: "public_task".into(),
            article9: String::new(),
            dpia_reference: "DPIA-BENCH".into(),
            // Four months from today, so the benchmark never expires (review L9).
            delete_by: earlyhelp_domain::cases::iso(
                earlyhelp_storage::cases::today() + time::Duration::days(120),
            ),
        },
        earlyhelp_storage::cases::today(),
    )
    .map_err(|_| anyhow::anyhow!("the benchmark's terms"))?;
    let (list_id, run_id) = (Uuid::now_v7(), Uuid::now_v7());
    let subject = format!("matching:list:{list_id}");
    let mut authorised = gate::operator(&db, &subject, Action::Create, "benchmark").await?;
    matching::create_list(
        &mut authorised,
        list_id,
        &terms,
        "bench.csv",
        &list,
        "bench",
    )
    .await?;
    matching::queue_run(&mut authorised, run_id, list_id, None, "bench").await?;
    authorised.tx.commit().await?;
    let stored = clock.elapsed() - read;
    eprintln!(
        "upload: read and checked in {:.1} s, stored in {:.1} s",
        read.as_secs_f64(),
        stored.as_secs_f64()
    );

    // The run, as the worker does it, watched as the page watches it.
    let clock = Instant::now();
    let watcher = {
        let db = db.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(2)).await;
                if let Ok((stage, percent)) = progress(&db, run_id).await {
                    eprintln!(
                        "  {:>5.1} s  {stage} {percent}%",
                        clock.elapsed().as_secs_f64()
                    );
                }
            }
        })
    };
    let ran = matching::work_once(&db, "bench").await?;
    watcher.abort();
    let seconds = clock.elapsed().as_secs_f64();
    anyhow::ensure!(ran, "the run was not claimed");
    let mut authorised = gate::operator(&db, "bench", Action::Read, "benchmark").await?;
    let run = matching::run(&mut authorised, run_id).await?;
    let counts = matching::counts(&mut authorised, &run).await?;
    authorised.tx.commit().await?;
    println!(
        "run: {seconds:.1} s ({}): {} records, {} matches, {} possible, {} unmatched; {} known to earlyhelp",
        run.stage,
        counts.records,
        counts.matches,
        counts.possible,
        counts.unmatched,
        known.len()
    );
    if let Some(problem) = run.problem {
        println!("problem: {problem}");
    }
    if let Some(report) = run.report {
        println!("report: {report}");
    }
    db.close().await;
    Ok(())
}

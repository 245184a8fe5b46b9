//! Disclosure control on the analysts' extract at city scale: builds the demo's families in
//! memory (the same generator as `earlyhelp demo`, at any size), derives each family's
//! quasi-identifiers as the extract does, and runs the extract's k-anonymity (k = 5). Prints the
//! share of families unique before, the k reached, what was generalised and the share of rows
//! suppressed.
//!
//!     cargo run --release -p earlyhelp --example extract_disclosure -- --families 100000
//!
//! Numbers are recorded in docs/benchmarks/extracts.md.

use clap::Parser;
use earlyhelp::demo_cases::{self, LocalityStaff, Scale, Worker};
use earlyhelp_domain::cases::{CaseEvent, CaseState, MemberRole, next_state};
use earlyhelp_domain::disclosure::{self, QuasiRow};
use earlyhelp_domain::sharing::age_band;
use std::time::Instant;
use uuid::Uuid;

#[derive(Parser)]
struct Cli {
    /// Families with a case, spread over the ten localities (the demo has 3,000).
    #[arg(long, default_value_t = 100_000)]
    families: usize,
}

fn month_of(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000)
        .map(|t| format!("{:04}-{:02}", t.year(), t.month() as u8))
        .unwrap_or_default()
}

fn main() {
    let cli = Cli::parse();
    let worker = |name: &str| Worker {
        id: Uuid::now_v7(),
        email: format!("{name}@example.test"),
        name: name.into(),
    };
    let staff: Vec<LocalityStaff> = demo_cases::locality_slugs()
        .into_iter()
        .map(|slug| LocalityStaff {
            slug,
            lead: worker("Lead"),
            practitioners: (0..5).map(|i| worker(&format!("P{i}"))).collect(),
        })
        .collect();
    let scale = Scale {
        families_per_locality: cli.families.div_ceil(staff.len()),
        waiting_per_locality: 0,
        extra_notes: 0,
    };
    let today = time::OffsetDateTime::now_utc().date();
    let started = Instant::now();
    let mut rows: Vec<QuasiRow> = Vec::new();
    for batch in demo_cases::city(&staff, scale, today, 5_000) {
        for history in batch {
            let Some((triage, family)) = history
                .triage
                .as_ref()
                .and_then(|t| Some((t, t.family.as_ref()?)))
            else {
                continue;
            };
            let request = &history.request;
            let mut state = CaseState::Open;
            let mut closure = String::new();
            for event in &family.events {
                state = next_state(state, *event).unwrap_or(state);
                closure = match event {
                    CaseEvent::Close(reason) => reason.slug().to_string(),
                    _ => String::new(),
                };
            }
            let children = request
                .members
                .iter()
                .filter(|m| m.relationship == MemberRole::Child)
                .count();
            let youngest = request.members.iter().map(|m| m.date_of_birth).max();
            rows.push([
                request.locality.to_string(),
                request.need_level.slug().to_string(),
                state.slug().to_string(),
                closure,
                month_of(triage.micros),
                children.to_string(),
                (request.members.len() - children).to_string(),
                youngest
                    .map(|dob| age_band(dob, today).to_string())
                    .unwrap_or_default(),
                request
                    .reasons
                    .iter()
                    .map(|r| r.slug())
                    .collect::<Vec<_>>()
                    .join(";"),
                disclosure::ethnic_groups(
                    request
                        .members
                        .iter()
                        .filter_map(|m| m.ethnicity.map(|e| e.slug())),
                ),
                disclosure::most_send(
                    request
                        .members
                        .iter()
                        .filter(|m| m.relationship == MemberRole::Child)
                        .filter_map(|m| m.send.map(|s| s.slug())),
                ),
            ]);
        }
    }
    let built = started.elapsed();
    let started = Instant::now();
    let out = disclosure::anonymise(&rows, disclosure::K, disclosure::MAX_SUPPRESSED_SHARE);
    let took = started.elapsed();
    let n = rows.len().max(1) as f64;
    println!("families: {}", rows.len());
    println!(
        "unique before: {} ({:.1}%), k before: {:?}",
        out.unique_before,
        100.0 * out.unique_before as f64 / n,
        out.k_before
    );
    println!("k reached: {:?}", out.k);
    println!(
        "suppressed: {} ({:.2}%)",
        out.suppressed_count(),
        100.0 * out.suppressed_count() as f64 / n
    );
    for (quasi, rung) in out.generalisations() {
        println!("generalised {}: {rung}", quasi.column());
    }
    println!("built in {built:.2?}, anonymised in {took:.2?}");
}

//! `earlyhelp retention ...`: the retention schedule, applied, and legal holds.
//!
//! - `retention apply --dry-run|--apply [--schedule FILE.toml] [--as-of DATE]`: says which
//!   records are past their retention date (dry run) or anonymises them (apply), by id.
//! - `retention schedule`: prints the default schedule as TOML, to copy and change.
//! - `retention hold place|lift|list`: legal holds, which keep a due record as it is.
//!
//! The rules are `earlyhelp_domain::retention`; every run and hold is audited as the operator.

use crate::server::DbArgs;
use anyhow::{Context, Result, anyhow, bail};
use clap::{ArgGroup, Args, Subcommand};
use earlyhelp_domain::access::Action;
use earlyhelp_domain::cases::{iso, parse_date};
use earlyhelp_domain::retention::{Schedule, Verdict};
use earlyhelp_storage::matching;
use earlyhelp_storage::retention::{self, RecordKind, RecordRef, Review};
use earlyhelp_storage::{StorageError, gate};
use std::path::{Path, PathBuf};
use time::Date;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Anonymise the records past their retention date, or with --dry-run only list them.
    Apply(ApplyArgs),
    /// Print the default retention schedule as TOML.
    Schedule,
    /// Legal holds: a held record is never anonymised.
    #[command(subcommand)]
    Hold(HoldCommand),
}

#[derive(Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["dry_run", "apply"])))]
pub struct ApplyArgs {
    /// Change nothing: report what would be anonymised.
    #[arg(long)]
    pub dry_run: bool,
    /// Anonymise, in one transaction, with an audit event per record.
    #[arg(long)]
    pub apply: bool,
    /// A TOML schedule (see `earlyhelp retention schedule`); the default otherwise.
    #[arg(long)]
    pub schedule: Option<PathBuf>,
    /// Judge the records as of this date (YYYY-MM-DD) instead of today.
    #[arg(long, value_parser = date_arg)]
    pub as_of: Option<Date>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Subcommand)]
pub enum HoldCommand {
    /// Place a legal hold on a record (family:ID, request:ID or match_list:ID); prints the
    /// hold's id.
    Place {
        record: String,
        /// Why it must be kept: the court case, complaint or review.
        #[arg(long)]
        reason: String,
        /// Who asked for the hold.
        #[arg(long)]
        by: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Lift a legal hold by its id.
    Lift {
        id: Uuid,
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long)]
        by: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List every legal hold, those in force first.
    List {
        #[command(flatten)]
        db: DbArgs,
    },
}

fn date_arg(s: &str) -> Result<Date, String> {
    parse_date(s).ok_or_else(|| format!("{s:?} is not a date (expected YYYY-MM-DD)"))
}

/// The schedule from `path`, checked field by field; the default without one.
fn read_schedule(path: Option<&Path>) -> Result<Schedule> {
    let Some(path) = path else {
        return Ok(Schedule::default());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let schedule: Schedule =
        toml::from_str(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    schedule.check().map_err(|errors| {
        let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        anyhow!("{}: {}", path.display(), messages.join("; "))
    })?;
    Ok(schedule)
}

pub async fn run(command: RetentionCommand) -> Result<()> {
    match command {
        RetentionCommand::Apply(args) => apply(args).await,
        RetentionCommand::Schedule => {
            print!("{}", toml::to_string(&Schedule::default())?);
            Ok(())
        }
        RetentionCommand::Hold(command) => hold(command).await,
    }
}

async fn apply(args: ApplyArgs) -> Result<()> {
    let schedule = read_schedule(args.schedule.as_deref())?;
    let today = args
        .as_of
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let db = crate::server::open(&args.db.database).await?;
    let (action, purpose) = if args.apply {
        (
            Action::Update,
            "retention run: anonymise records past their date",
        )
    } else {
        (Action::List, "retention dry run")
    };
    let mut authorised = gate::operator(&db, "retention", action, purpose).await?;
    let review = retention::review(&mut authorised, &schedule, today).await?;
    if args.apply {
        retention::apply(&mut authorised, &review).await?;
    }
    let lists = matching::delete_due(&mut authorised, today, args.apply).await?;
    authorised.tx.commit().await?;
    print!("{}", report(&review, args.apply));
    println!(
        "{} {} uploaded lists for matching at their delete-by date",
        if args.apply {
            "deleted"
        } else {
            "would delete"
        },
        lists.len()
    );
    for (id, source) in &lists {
        println!("  match_list:{id} ({source})");
    }
    Ok(())
}

/// What a run found or did, by record: counts, then one `kind:ID` per line.
fn report(review: &Review, applied: bool) -> String {
    let mut out = format!(
        "retention {} as of {}: {}\n",
        if applied { "run" } else { "dry run" },
        iso(review.as_of),
        review.schedule.describe()
    );
    let anonymise = review.matching(|v| matches!(v, Verdict::Anonymise(_)));
    let held = review.matching(|v| *v == Verdict::Held);
    let kept = review.matching(|v| matches!(v, Verdict::KeepUntil(_)));
    let live = review.matching(|v| *v == Verdict::Live);
    let count = |list: &[&retention::Decided], kind: RecordKind| {
        list.iter().filter(|d| d.record.kind == kind).count()
    };
    out.push_str(&format!(
        "{} {} family records and {} requests\n",
        if applied {
            "anonymised"
        } else {
            "would anonymise"
        },
        count(&anonymise, RecordKind::Family),
        count(&anonymise, RecordKind::Request),
    ));
    for decided in &anonymise {
        if let Some(due) = decided.due {
            out.push_str(&format!(
                "  {} (due {}, {})\n",
                decided.record,
                iso(due.on),
                due.rule.slug()
            ));
        }
    }
    out.push_str(&format!("kept under a legal hold: {}\n", held.len()));
    for decided in &held {
        out.push_str(&format!("  {}\n", decided.record));
    }
    out.push_str(&format!(
        "not yet due: {} family records and {} requests{}\n",
        count(&kept, RecordKind::Family),
        count(&kept, RecordKind::Request),
        review
            .next_due()
            .map(|d| format!(" (the next falls due on {})", iso(d)))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "live (open cases, requests waiting for triage): {}\n",
        live.len()
    ));
    out
}

/// A missing record, in words; any other storage error as it is.
fn missing(what: String) -> impl FnOnce(StorageError) -> anyhow::Error {
    move |error| match error {
        StorageError::NotFound => anyhow!("there is no {what}"),
        other => other.into(),
    }
}

async fn hold(command: HoldCommand) -> Result<()> {
    match command {
        HoldCommand::Place {
            record,
            reason,
            by,
            db,
        } => {
            let target = RecordRef::parse(&record).with_context(|| {
                format!("{record:?} is not a record: use family:ID or request:ID")
            })?;
            if reason.trim().is_empty() || by.trim().is_empty() {
                bail!("say why the record must be kept (--reason) and who asked (--by)");
            }
            let db = crate::server::open(&db.database).await?;
            let mut authorised = gate::operator(
                &db,
                &target.to_string(),
                Action::Create,
                "place a legal hold",
            )
            .await?;
            let id = retention::place_hold(&mut authorised, target, reason.trim(), by.trim())
                .await
                .map_err(missing(format!("record {target}")))?;
            authorised.tx.commit().await?;
            println!("{id}");
        }
        HoldCommand::Lift { id, reason, by, db } => {
            let db = crate::server::open(&db.database).await?;
            let mut authorised = gate::operator(
                &db,
                &format!("legal_hold:{id}"),
                Action::Update,
                "lift a legal hold",
            )
            .await?;
            let hold = retention::lift_hold(&mut authorised, id, &reason, by.trim())
                .await
                .map_err(missing(format!("legal hold {id}")))?;
            authorised.tx.commit().await?;
            println!("lifted the legal hold on {}", hold.record());
        }
        HoldCommand::List { db } => {
            let db = crate::server::open(&db.database).await?;
            let mut authorised =
                gate::operator(&db, "legal_holds", Action::List, "review legal holds").await?;
            let holds = retention::holds(&mut authorised).await?;
            authorised.tx.commit().await?;
            for hold in holds {
                let status = if hold.lifted_micros.is_some() {
                    "lifted"
                } else {
                    "in force"
                };
                println!(
                    "{}\t{}\t{status}\t{}\t{}",
                    hold.id,
                    hold.record(),
                    hold.placed_by,
                    hold.reason
                );
            }
        }
    }
    Ok(())
}

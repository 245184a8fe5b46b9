//! `earlyhelp sar PERSON_ID`: everything held about one person, for a subject access request,
//! as the readable narrative (HTML) or JSON, with other people's details marked for redaction.
//! The operator's access is audited against the person's family record, like the officer's.

use crate::server::DbArgs;
use anyhow::{Context, Result};
use clap::Args;
use earlyhelp_domain::access::Action;
use earlyhelp_storage::gate::{self, Ask, PersonRecord};
use earlyhelp_storage::{StorageError, sar};
use std::path::PathBuf;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Json,
}

#[derive(Args)]
pub struct SarArgs {
    /// The person's id (a family member; the governance page's search shows it).
    pub person: Uuid,
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

pub async fn run(args: SarArgs) -> Result<()> {
    let db = crate::server::open(&args.db.database).await?;
    let person = args.person;
    let purpose = format!("subject access request for person:{person} (command line)");
    let ask = Ask {
        id: person,
        action: Action::Read,
        purpose: &purpose,
    };
    let authorised = match gate::operator_on::<PersonRecord>(&db, ask).await {
        Err(StorageError::NotFound) => {
            anyhow::bail!("there is no person {person} (use a family member's id)")
        }
        other => other?,
    };
    let found = sar::subject_access(authorised)
        .await?
        .with_context(|| format!("there is no person {person}"))?;

    let body = match args.format {
        Format::Html => earlyhelp_web::governance::sar_document(&found)?,
        Format::Json => serde_json::to_string_pretty(&found)?,
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "wrote the subject access request for person {person} to {}: {} entries in the \
                 narrative, {} names and dates marked for redaction",
                path.display(),
                found.narrative.len(),
                found.marked_terms.len()
            );
        }
        None => println!("{body}"),
    }
    Ok(())
}

//! `earlyhelp directory check-links`: the stored websites that are not web links.
//!
//! Every way in (the listing form, the services spreadsheet, an Open Referral UK feed) now
//! refuses a website that is not an http or https address, and no page or feed links one. Rows
//! written before that may still hold one (a `javascript:` address, say); this lists them so
//! someone can correct them, and exits non-zero while any remain.

use crate::server::DbArgs;
use anyhow::{Result, bail};
use clap::Subcommand;
use earlyhelp_storage::directory::bad_links;

#[derive(Subcommand)]
pub enum DirectoryCommand {
    /// List stored websites that are not http or https addresses (not shown as links anywhere).
    CheckLinks {
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(command: DirectoryCommand) -> Result<()> {
    let DirectoryCommand::CheckLinks { db } = command;
    let db = crate::server::open(&db.database).await?;
    let bad = bad_links(&db).await?;
    for link in &bad {
        println!(
            "{} {} ({}), {}: {:?} {}",
            link.kind, link.id, link.name, link.field, link.value, link.problem
        );
    }
    if bad.is_empty() {
        println!("every stored website is an http or https address");
        Ok(())
    } else {
        bail!(
            "{} stored website(s) are not web links: none is shown as a link; correct them in the directory",
            bad.len()
        )
    }
}

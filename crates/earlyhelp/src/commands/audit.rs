//! `earlyhelp audit verify` and `earlyhelp audit checkpoint`: the hash chain, held to the
//! signed checkpoints kept outside the database.

use crate::server::{self, DbArgs};
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use earlyhelp_storage::checkpoint::{self, Settings};
use earlyhelp_storage::gate;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's hash chain and hold it to the signed checkpoints: report any
    /// event that was changed or removed, a recomputed chain and a log cut short.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        checkpoints: CheckpointPaths,
    },
    /// Sign the audit chain's head now and write it to the checkpoint directories.
    Checkpoint {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        checkpoints: CheckpointPaths,
    },
}

/// Where the audit signing key and the checkpoints live (defaults under
/// `$XDG_DATA_HOME/earlyhelp`, else `~/.local/share/earlyhelp`).
#[derive(Args, Clone, Debug)]
pub struct CheckpointPaths {
    /// The Ed25519 private key that signs checkpoints (made at first start, mode 0600); its
    /// public key is beside it, KEY.pub. [default: ~/.local/share/earlyhelp/audit-key]
    #[arg(long = "audit-key", env = "EARLYHELP_AUDIT_KEY")]
    pub key: Option<PathBuf>,
    /// The directory checkpoints are written to and read from.
    /// [default: ~/.local/share/earlyhelp/checkpoints]
    #[arg(long = "checkpoints", env = "EARLYHELP_CHECKPOINT_DIR")]
    pub dir: Option<PathBuf>,
    /// A second directory that gets every checkpoint too (another disk, another machine's mount).
    #[arg(long = "checkpoint-copy", env = "EARLYHELP_CHECKPOINT_COPY_DIR")]
    pub copy: Option<PathBuf>,
}

impl CheckpointPaths {
    pub fn settings(&self) -> Result<Settings> {
        Settings::new(self.key.clone(), self.dir.clone(), self.copy.clone())
    }
}

pub async fn run(command: AuditCommand) -> Result<()> {
    match command {
        AuditCommand::Verify { db, checkpoints } => verify(&db, &checkpoints).await,
        AuditCommand::Checkpoint { db, checkpoints } => {
            let settings = checkpoints.settings()?;
            let key = checkpoint::signing_key(&settings)?;
            let db = server::open(&db.database).await?;
            match checkpoint::write(&db, &settings, &key).await? {
                Some(written) => println!(
                    "checkpoint of event {} signed and written to {}",
                    written.seq,
                    list(&settings.dirs)
                ),
                None => println!("the audit log is empty: nothing to checkpoint"),
            }
            Ok(())
        }
    }
}

fn list(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ")
}

async fn verify(db: &DbArgs, checkpoints: &CheckpointPaths) -> Result<()> {
    let settings = checkpoints.settings()?;
    let db = server::open(&db.database).await?;
    let chain = gate::verify_chain(&db).await?;
    let signed = checkpoint::check(&db, &settings).await?;
    for problem in chain.problems.iter().chain(&signed.problems) {
        println!("{problem}");
    }
    let newest = match &signed.newest {
        Some(newest) => {
            let ago = newest
                .signed_at()
                .map(|at| checkpoint::how_long(time::OffsetDateTime::now_utc() - at))
                .unwrap_or_else(|| "an unknown time".into());
            let since = (signed.last_seq - newest.seq).max(0);
            format!(
                "the newest checkpoint (event {}) was signed {ago} ago; {since} event(s) since",
                newest.seq
            )
        }
        None => "there is no checkpoint of it".into(),
    };
    let first_bad = [chain.first_bad, signed.first_bad]
        .into_iter()
        .flatten()
        .min();
    if let Some(first_bad) = first_bad {
        bail!(
            "audit log has been tampered with: the first bad event is {first_bad}; {} problem(s) \
             in {} events; {newest}",
            chain.problems.len() + signed.problems.len(),
            chain.events
        )
    }
    if !signed.problems.is_empty() {
        bail!(
            "the audit log's hash chain holds ({} events) but it cannot be trusted: {newest}",
            chain.events
        )
    }
    println!(
        "audit log intact: {} events, hash chain verified against {} signed checkpoint(s); {newest}",
        chain.events, signed.checkpoints
    );
    Ok(())
}

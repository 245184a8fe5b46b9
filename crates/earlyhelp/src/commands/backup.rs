//! `earlyhelp backup --out FILE` and `earlyhelp restore FILE`: a consistent copy of the whole
//! database while the servers run, and that copy back into a new, empty database, with the
//! audit chain verified after.
//!
//! SQLite's backup is `VACUUM INTO`, one read transaction: every write committed before it
//! starts is in the copy, and writers carry on meanwhile. PostgreSQL's is `pg_dump` in its
//! custom format, which likewise reads one snapshot; `pg_restore` puts it back.

use crate::commands::audit::CheckpointPaths;
use crate::server::{self, DbArgs, sqlite_path};
use anyhow::{Context, Result, bail};
use clap::Args;
use earlyhelp_storage::db::redact;
use earlyhelp_storage::{Db, checkpoint, gate};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct BackupArgs {
    /// The file to write (a new one: a backup never overwrites).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A file written by `earlyhelp backup`.
    pub file: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub checkpoints: CheckpointPaths,
}

pub async fn backup(args: &BackupArgs) -> Result<()> {
    let url = &args.db.database;
    let out = &args.out;
    if out.exists() {
        bail!(
            "{} already exists: name a new file (a backup never overwrites one)",
            out.display()
        );
    }
    // Written beside the destination and renamed when whole, so a failed backup leaves no file
    // that looks like one.
    let partial = sibling(out, "partial");
    let _ = std::fs::remove_file(&partial);
    let written = match sqlite_path(url) {
        Some(path) => {
            if !Path::new(path).exists() {
                bail!("there is no SQLite database at {path}");
            }
            let db = Db::connect(url).await?;
            let copied = db.sqlite_copy_into(&partial.to_string_lossy()).await;
            db.close().await;
            copied.context("copying the SQLite database")
        }
        None => {
            let (dbname, password) = libpq_address(url)?;
            let mut command = std::process::Command::new(postgres_tool("pg_dump")?);
            command
                .arg("--format=custom")
                .arg(format!("--file={}", partial.display()))
                .arg(format!("--dbname={dbname}"));
            run_tool(command, password.as_deref(), "pg_dump").await
        }
    };
    if let Err(error) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    std::fs::rename(&partial, out)?;
    let bytes = std::fs::metadata(out)?.len();
    println!(
        "backed up {} to {} ({bytes} bytes)",
        redact(url),
        out.display()
    );
    Ok(())
}

/// What kind of backup a file is, from its first bytes.
#[derive(PartialEq, Eq)]
enum Kind {
    Sqlite,
    PgDump,
}

fn kind_of(file: &Path) -> Result<Kind> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut opened =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let read = opened.read(&mut head)?;
    if &head[..read] == b"SQLite format 3\0" {
        Ok(Kind::Sqlite)
    } else if head[..read].starts_with(b"PGDMP") {
        Ok(Kind::PgDump)
    } else {
        bail!(
            "{} is not a backup earlyhelp wrote: it is neither an SQLite database nor a \
             pg_dump custom-format file",
            file.display()
        )
    }
}

pub async fn restore(args: &RestoreArgs) -> Result<()> {
    let url = &args.db.database;
    let file = &args.file;
    let kind = kind_of(file)?;
    let target = sqlite_path(url);
    match (&kind, target) {
        (Kind::Sqlite, None) => bail!(
            "{} is an SQLite backup and {} is PostgreSQL: restore it into an sqlite:// database",
            file.display(),
            redact(url)
        ),
        (Kind::PgDump, Some(_)) => bail!(
            "{} is a PostgreSQL backup (pg_dump) and {url} is SQLite: restore it into a \
             postgres:// database",
            file.display()
        ),
        _ => {}
    }
    refuse_unless_empty(url).await?;
    match target {
        Some(path) => {
            // The empty database just checked may have been made by that check: replace it.
            let partial = sibling(Path::new(path), "partial");
            std::fs::copy(file, &partial)
                .with_context(|| format!("copying {} to {path}", file.display()))?;
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
            std::fs::rename(&partial, path)?;
        }
        None => {
            let (dbname, password) = libpq_address(url)?;
            let mut command = std::process::Command::new(postgres_tool("pg_restore")?);
            // One transaction: a restore that fails leaves the database as empty as it was.
            command
                .args([
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                ])
                .arg(format!("--dbname={dbname}"))
                .arg(file);
            run_tool(command, password.as_deref(), "pg_restore").await?;
        }
    }
    // A backup from an older earlyhelp is brought up to this one's migrations.
    let db = server::open(url).await?;
    println!("restored {} into {}", file.display(), redact(url));
    let verified = verify(&db, &args.checkpoints).await;
    db.close().await;
    verified
}

/// Refuses a target that holds any table: a restore goes only into a new, empty database.
async fn refuse_unless_empty(url: &str) -> Result<()> {
    if let Some(path) = sqlite_path(url)
        && !Path::new(path).exists()
    {
        return Ok(());
    }
    let db = Db::connect(url).await?;
    let tables = db.table_count().await;
    db.close().await;
    let tables = tables?;
    if tables > 0 {
        bail!(
            "{} is not empty ({tables} tables): restore only into a new, empty database \
             (create one, or name another with --database)",
            redact(url)
        );
    }
    Ok(())
}

/// The restored audit log: its hash chain must hold, and agree with every signed checkpoint
/// up to the backup's last event. Checkpoints of later events are expected (they were signed
/// after the backup was taken), and so are none at all on a machine without the audit key.
async fn verify(db: &Db, paths: &CheckpointPaths) -> Result<()> {
    let chain = gate::verify_chain(db).await?;
    if let Some(first_bad) = chain.first_bad {
        for problem in &chain.problems {
            println!("{problem}");
        }
        bail!(
            "the restored audit log's hash chain is broken: the first bad event is {first_bad}; \
             {} problem(s) in {} events",
            chain.problems.len(),
            chain.events
        );
    }
    let signed = match paths.settings() {
        Ok(settings) => checkpoint::check(db, &settings).await,
        Err(error) => Err(error),
    };
    let against = match signed {
        Err(error) => format!("its signed checkpoints not checked ({error:#})"),
        Ok(report) => {
            let tampered = report.first_bad.filter(|seq| *seq <= report.last_seq);
            if let Some(first_bad) = tampered {
                for problem in &report.problems {
                    println!("{problem}");
                }
                bail!(
                    "the restored audit log disagrees with its signed checkpoints: the first \
                     bad event is {first_bad}"
                );
            }
            match report.newest {
                None => "no signed checkpoint of it found here".to_string(),
                Some(newest) if newest.seq > report.last_seq => format!(
                    "it agrees with {} signed checkpoint(s); the newest saw event {}, written \
                     after this backup was taken",
                    report.checkpoints, newest.seq
                ),
                Some(_) => format!("it agrees with {} signed checkpoint(s)", report.checkpoints),
            }
        }
    };
    println!(
        "audit log intact: {} events, hash chain verified; {against}",
        chain.events
    );
    Ok(())
}

/// `path.WHAT`, beside it.
fn sibling(path: &Path, what: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{what}"));
    PathBuf::from(name)
}

/// The address for libpq without its password (which goes in `PGPASSWORD`, out of the process
/// list), and the password.
fn libpq_address(url: &str) -> Result<(String, Option<String>)> {
    let mut parsed = url::Url::parse(url)
        .with_context(|| format!("{} is not a database address", redact(url)))?;
    let password = parsed.password().map(|p| {
        percent_encoding::percent_decode_str(p)
            .decode_utf8_lossy()
            .into_owned()
    });
    let _ = parsed.set_password(None);
    Ok((parsed.to_string(), password))
}

/// One of PostgreSQL's client programs: on the `PATH`, else in Debian's
/// `/usr/lib/postgresql/VERSION/bin` (the newest), else a message naming the package.
fn postgres_tool(name: &str) -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin").join(name)))
        })
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_values()
        .rev();
    on_path
        .chain(debian)
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "{name} is not installed: install PostgreSQL's client programs (on Debian and \
             Ubuntu the package postgresql-client, of the server's version or newer) or put \
             {name} on the PATH"
            )
        })
}

/// Runs a PostgreSQL client program; its error output becomes the error.
async fn run_tool(
    mut command: std::process::Command,
    password: Option<&str>,
    name: &str,
) -> Result<()> {
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await?
        .with_context(|| format!("cannot run {name}"))?;
    if !output.status.success() {
        bail!(
            "{name} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

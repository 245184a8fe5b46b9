//! Signed checkpoints of the audit chain's head, kept outside the database.
//!
//! The hash chain shows an edited event unless the editor recomputes every hash after it, and
//! whoever holds the database can. So the server signs the chain's head (its id, newest seq and
//! hash, the time) every minute, at shutdown and on `earlyhelp audit checkpoint`, with an
//! Ed25519 key the database never holds, and writes it to one or two directories. [`check`]
//! then holds the database to every checkpoint: a recomputed chain no longer has the signed
//! hash at a checkpoint's seq, and a log cut short no longer reaches the newest checkpoint.
//!
//! Checkpoints are filed by the chain's own id (the hash of its first event), never by the
//! database's path, so a copy of the database taken anywhere finds them with default settings.

use crate::{Db, StorageError, on_pool};
use anyhow::{Context, Result, anyhow, bail};
use earlyhelp_domain::audit::Checkpoint;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use futures_util::TryStreamExt;
use rand::RngCore;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Where the signing key and the checkpoints live.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The private key, PEM (PKCS #8), mode 0600. The public key is beside it: `KEY.pub`.
    pub key: PathBuf,
    /// Where checkpoints go: the first directory, then the second destination if there is one.
    pub dirs: Vec<PathBuf>,
}

impl Settings {
    /// The paths given, or the defaults under `$XDG_DATA_HOME/earlyhelp` (else
    /// `~/.local/share/earlyhelp`): `audit-key`, `audit-key.pub` and `checkpoints/`.
    pub fn new(key: Option<PathBuf>, dir: Option<PathBuf>, copy: Option<PathBuf>) -> Result<Self> {
        let default = |name: &str| {
            data_dir().map(|d| d.join(name)).ok_or_else(|| {
                anyhow!(
                    "neither XDG_DATA_HOME nor HOME is set: give the audit key and checkpoint \
                     directory (EARLYHELP_AUDIT_KEY, EARLYHELP_CHECKPOINT_DIR)"
                )
            })
        };
        let key = match key {
            Some(key) => key,
            None => default("audit-key")?,
        };
        let mut dirs = vec![match dir {
            Some(dir) => dir,
            None => default("checkpoints")?,
        }];
        dirs.extend(copy);
        Ok(Settings { key, dirs })
    }

    pub fn public_key(&self) -> PathBuf {
        let mut name = self.key.clone().into_os_string();
        name.push(".pub");
        PathBuf::from(name)
    }
}

fn data_dir() -> Option<PathBuf> {
    let set = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    set("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| Path::new(&home).join(".local/share")))
        .map(|dir| dir.join("earlyhelp"))
}

/// The signing key, made at first use (mode 0600, its public key beside it).
pub fn signing_key(settings: &Settings) -> Result<SigningKey> {
    let path = &settings.key;
    if !path.exists() {
        create_key(path)?;
    }
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "the audit signing key {} can be read by others (mode {:o}): make it private with chmod 600",
            path.display(),
            mode & 0o777
        );
    }
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("reading the audit signing key {}", path.display()))?;
    let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
        anyhow!(
            "{} is not an Ed25519 private key in PEM: {e}",
            path.display()
        )
    })?;
    let public = settings.public_key();
    if !public.exists() {
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| anyhow!("{e}"))?;
        write_new(&public, pem.as_bytes(), 0o644)?;
    }
    Ok(key)
}

fn create_key(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .with_context(|| format!("making the directory {}", parent.display()))?;
    }
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let pem = SigningKey::from_bytes(&seed)
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow!("{e}"))?;
    write_new(path, pem.as_bytes(), 0o600)
}

/// Writes a whole file under a temporary name, then links it into place unless one is there
/// already: two servers starting at once agree on one key, and nobody reads half a file.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let temporary = sibling(path, "new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&temporary, path);
    std::fs::remove_file(&temporary)?;
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(e).with_context(|| format!("writing {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn sibling(path: &Path, what: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{what}-{}", uuid::Uuid::new_v4().simple()));
    PathBuf::from(name)
}

pub fn public_key(settings: &Settings) -> Result<VerifyingKey> {
    let path = settings.public_key();
    let pem = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading the audit public key {} (it is made beside the signing key when the \
             server first starts; give the key's path with --audit-key or EARLYHELP_AUDIT_KEY)",
            path.display()
        )
    })?;
    VerifyingKey::from_public_key_pem(&pem).map_err(|e| {
        anyhow!(
            "{} is not an Ed25519 public key in PEM: {e}",
            path.display()
        )
    })
}

/// The chain's id: the hash of its first event. Hex only, as it names a directory.
async fn chain_id(db: &Db) -> Result<Option<String>, StorageError> {
    let first: Option<String> = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT hash FROM audit_events WHERE seq = 1")
            .fetch_optional(pool)
            .await?
    });
    Ok(first.filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit())))
}

/// Signs the chain's head now and writes it to every directory, replacing a checkpoint of the
/// same seq (several servers on one database write the same one, harmlessly). `None` for an
/// empty log. Fails, after writing what it can, if any directory could not be written.
pub async fn write(db: &Db, settings: &Settings, key: &SigningKey) -> Result<Option<Checkpoint>> {
    let Some(chain) = chain_id(db).await? else {
        return Ok(None);
    };
    let head: Option<(i64, String)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_optional(pool)
            .await?
    });
    let Some((seq, hash)) = head else {
        return Ok(None);
    };
    let checkpoint = Checkpoint::sign(key, &chain, seq, &hash, OffsetDateTime::now_utc());
    let json = serde_json::to_string_pretty(&checkpoint)? + "\n";
    let dirs = settings.dirs.clone();
    let name = file_name(seq);
    let failures = tokio::task::spawn_blocking(move || {
        dirs.iter()
            .filter_map(|dir| {
                write_checkpoint(&dir.join(&chain), &name, &json)
                    .err()
                    .map(|e| format!("{}: {e:#}", dir.display()))
            })
            .collect::<Vec<_>>()
    })
    .await?;
    if !failures.is_empty() {
        bail!(
            "could not write the audit checkpoint to {}",
            failures.join("; ")
        );
    }
    Ok(Some(checkpoint))
}

/// Zero-padded, so the files of a chain list in order.
fn file_name(seq: i64) -> String {
    format!("{seq:020}.json")
}

fn write_checkpoint(dir: &Path, name: &str, json: &str) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)?;
    let path = dir.join(name);
    let temporary = sibling(&path, "new");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(json.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, &path)?;
    Ok(())
}

/// What the checkpoints say about the database's chain.
#[derive(Debug, Default)]
pub struct Report {
    /// The chain's id, if it has a first event.
    pub chain: Option<String>,
    /// Checkpoints read and signed by the key.
    pub checkpoints: usize,
    /// The newest of them.
    pub newest: Option<Checkpoint>,
    /// The stored chain's newest seq.
    pub last_seq: i64,
    /// Each disagreement, in words, naming its event.
    pub problems: Vec<String>,
    /// The first event that is bad (at or before which the chain was rewritten).
    pub first_bad: Option<i64>,
}

impl Report {
    fn problem(&mut self, seq: Option<i64>, message: String) {
        self.problems.push(message);
        if let Some(seq) = seq {
            self.first_bad = Some(self.first_bad.map_or(seq, |first| first.min(seq)));
        }
    }
}

/// Holds the database's chain to every checkpoint of it, in every directory.
pub async fn check(db: &Db, settings: &Settings) -> Result<Report> {
    let mut report = Report::default();
    let any_event: Option<i64> = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT MAX(seq) FROM audit_events").fetch_one(pool).await?
    });
    let Some(last_seq) = any_event else {
        return Ok(report);
    };
    report.last_seq = last_seq;
    let Some(chain) = chain_id(db).await? else {
        report.problem(
            Some(1),
            "event 1: missing, and with it the chain's id, so its checkpoints cannot be found"
                .into(),
        );
        return Ok(report);
    };
    report.chain = Some(chain.clone());
    let key = public_key(settings)?;
    let checkpoints = read_checkpoints(settings, &chain, &key, &mut report)?;
    report.checkpoints = checkpoints.values().map(Vec::len).sum();
    report.newest = checkpoints
        .values()
        .flatten()
        .max_by_key(|c| (c.seq, c.signed_at()))
        .cloned();
    if checkpoints.is_empty() {
        let dirs: Vec<_> = settings
            .dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        report.problem(
            None,
            format!(
                "no signed checkpoint of this chain (id {chain}) in {}: a chain recomputed from \
                 its first event cannot be told from the original (the server writes checkpoints \
                 every minute; `earlyhelp audit checkpoint` writes one now)",
                dirs.join(" or ")
            ),
        );
        return Ok(report);
    }

    // One pass over the stored hashes, in order, against the checkpoints' seqs.
    let mut agrees: Option<i64> = None;
    let mut first_mismatch: Option<(i64, Checkpoint)> = None;
    let mut later_mismatches = 0;
    let mut compare = |seq: i64, hash: &str| {
        for checkpoint in checkpoints.get(&seq).into_iter().flatten() {
            if checkpoint.hash == hash {
                if first_mismatch.is_none() {
                    agrees = Some(seq);
                }
            } else if first_mismatch.is_none() {
                first_mismatch = Some((seq, checkpoint.clone()));
            } else {
                later_mismatches += 1;
            }
        }
    };
    let sql = "SELECT seq, hash FROM audit_events ORDER BY seq";
    on_pool!(db, pool => {
        let mut rows = sqlx::query_as::<_, (i64, String)>(sql).fetch(pool);
        while let Some((seq, hash)) = rows.try_next().await.map_err(StorageError::from)? {
            if checkpoints.contains_key(&seq) {
                compare(seq, &hash);
            }
        }
    });
    if let Some((seq, checkpoint)) = first_mismatch {
        let after = agrees
            .map(|a| format!(", after event {a} (the last checkpoint that agrees)"))
            .unwrap_or_default();
        let later = if later_mismatches > 0 {
            format!("; {later_mismatches} later checkpoint(s) disagree too")
        } else {
            String::new()
        };
        report.problem(
            Some(seq),
            format!(
                "event {seq}: its hash is not the one signed in the checkpoint of {}: the chain \
                 was rewritten at or before this event{after}{later}",
                checkpoint.at
            ),
        );
    }
    if let Some((&seq, signed)) = checkpoints.range(last_seq + 1..).next_back() {
        report.problem(
            Some(last_seq + 1),
            format!(
                "event {}: missing, and every event after it up to {seq}, which the checkpoint \
                 of {} saw: the end of the log was cut off",
                last_seq + 1,
                signed[0].at
            ),
        );
    }
    Ok(report)
}

/// Every checkpoint of `chain` in every directory, by seq; a file that is not one signed by
/// `key` for this chain is a problem (forged, altered or misfiled), not evidence.
fn read_checkpoints(
    settings: &Settings,
    chain: &str,
    key: &VerifyingKey,
    report: &mut Report,
) -> Result<BTreeMap<i64, Vec<Checkpoint>>> {
    let mut found: BTreeMap<i64, Vec<Checkpoint>> = BTreeMap::new();
    for dir in &settings.dirs {
        let dir = dir.join(chain);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let parsed = std::fs::read_to_string(&path)
                .map_err(anyhow::Error::from)
                .and_then(|text| Ok(serde_json::from_str::<Checkpoint>(&text)?));
            match parsed {
                Ok(c) if c.chain == chain && c.is_signed_by(key) => {
                    found.entry(c.seq).or_default().push(c)
                }
                Ok(_) => report.problem(
                    None,
                    format!(
                        "{}: not signed by the audit key for this chain: forged or altered",
                        path.display()
                    ),
                ),
                Err(e) => {
                    report.problem(None, format!("{}: not a checkpoint ({e})", path.display()))
                }
            }
        }
    }
    Ok(found)
}

/// "40 seconds", "3 minutes", "2 hours", "5 days".
pub fn how_long(duration: time::Duration) -> String {
    let seconds = duration.whole_seconds().max(0);
    let (n, unit) = match seconds {
        0..120 => (seconds, "second"),
        120..7_200 => (seconds / 60, "minute"),
        7_200..172_800 => (seconds / 3_600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(how_long(time::Duration::seconds(1)), "1 second");
        assert_eq!(how_long(time::Duration::seconds(45)), "45 seconds");
        assert_eq!(how_long(time::Duration::minutes(3)), "3 minutes");
        assert_eq!(how_long(time::Duration::hours(5)), "5 hours");
        assert_eq!(how_long(time::Duration::days(9)), "9 days");
    }

    #[test]
    fn a_key_is_made_once_private_and_kept() {
        let dir = std::env::temp_dir().join(format!("eh-key-{}", uuid::Uuid::new_v4()));
        let settings =
            Settings::new(Some(dir.join("keys/audit-key")), Some(dir.clone()), None).unwrap();
        let made = signing_key(&settings).unwrap();
        let mode = std::fs::metadata(&settings.key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(signing_key(&settings).unwrap().to_bytes(), made.to_bytes());
        assert_eq!(public_key(&settings).unwrap(), made.verifying_key());

        std::fs::set_permissions(&settings.key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = signing_key(&settings).unwrap_err().to_string();
        assert!(refused.contains("chmod 600"), "{refused}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

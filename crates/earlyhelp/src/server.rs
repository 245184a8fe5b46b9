//! Opening the database and serving the web application, shared by `serve` and `demo`.

use crate::demo;
use anyhow::{Context, Result, bail};
use clap::Args;
use earlyhelp_storage::Db;
use earlyhelp_storage::checkpoint::{self, Settings};
use earlyhelp_storage::encoded::LinkageKey;
use earlyhelp_web::{AppState, Config};
use ed25519_dalek::SigningKey;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Args, Clone)]
pub struct ListenArgs {
    /// The address to listen on.
    #[arg(long, env = "EARLYHELP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
}

#[derive(Args, Clone)]
pub struct DbArgs {
    /// sqlite://FILE (the default) or postgres://USER@HOST/DATABASE.
    #[arg(
        long = "database",
        env = "EARLYHELP_DATABASE_URL",
        default_value = "sqlite://earlyhelp.db"
    )]
    pub database: String,
}

/// Signed checkpoints of the audit chain: where, and how often the server writes them.
#[derive(Args, Clone)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub paths: crate::commands::audit::CheckpointPaths,
    /// Seconds between signed checkpoints of the audit chain (one is also written at start and
    /// at shutdown).
    #[arg(
        long = "checkpoint-every",
        env = "EARLYHELP_CHECKPOINT_EVERY",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub every: u64,
}

/// Connects and applies migrations.
pub async fn open(url: &str) -> Result<Db> {
    let db = Db::connect(url).await?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

/// The file of an `sqlite://FILE` address (without its `?options`), or `None` for another
/// database.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(path.split('?').next().unwrap_or(path))
}

/// SQLite is for one server: a second `serve` on the same file refuses to start, rather than
/// share it. SQLite itself would stay consistent, but each server queues its writers only among
/// its own, so two would contend on SQLite's busy timeout, and the limits per client address
/// are counted in each process. The lock is the operating system's, on `FILE.lock` beside the
/// database, so it goes with the process however that ends; commands other than `serve` (a
/// backup, `audit verify`) do not take it.
fn lock_sqlite_file(url: &str) -> Result<Option<std::fs::File>> {
    let Some(path) = sqlite_path(url).filter(|p| !p.is_empty() && !p.starts_with(":memory:"))
    else {
        return Ok(None);
    };
    let lock_path = format!("{path}.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .with_context(|| format!("cannot open the lock file {lock_path}"))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            bail!(
                "another earlyhelp server is already serving {path} (process {}; it holds \
                 {lock_path}). SQLite is for one server at a time: to run several servers, use \
                 PostgreSQL (see docs/operations.md)",
                holder.trim()
            )
        }
        Err(std::fs::TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("cannot lock {lock_path}"));
        }
    }
    use std::io::Write;
    file.set_len(0)?;
    write!(file, "{}", std::process::id())?;
    Ok(Some(file))
}

/// Removes an SQLite demo database so the demo starts fresh; refuses to wipe PostgreSQL.
async fn fresh_demo_database(url: &str) -> Result<Db> {
    if let Some(path) = sqlite_path(url) {
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{path}{suffix}");
            if std::path::Path::new(&file).exists() {
                std::fs::remove_file(&file)
                    .with_context(|| format!("removing the old demo database {file}"))?;
            }
        }
    }
    let db = open(url).await?;
    if !earlyhelp_storage::accounts::list_organisations(&db)
        .await?
        .is_empty()
    {
        bail!("the demo needs an empty database, and {url} already holds data");
    }
    Ok(db)
}

/// A number from the environment variable `name`, or `default` when it is unset.
fn number_from_env(name: &str, default: u32) -> Result<u32> {
    match std::env::var(name) {
        Ok(raw) => raw
            .trim()
            .parse()
            .with_context(|| format!("{name}={raw:?} is not a whole number (0 for no limit)")),
        Err(_) => Ok(default),
    }
}

/// The key agreed with agencies for matching encoded lists: the file named by
/// `EARLYHELP_LINKAGE_KEY_FILE` (read as `link encode --key-file` reads it) or the value of
/// `EARLYHELP_LINKAGE_KEY`; none when neither is set. Held in memory only: never stored in
/// the database, printed or logged (no message here quotes it).
pub fn linkage_key_from_env() -> Result<Option<LinkageKey>> {
    let set = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let bytes = match (
        set("EARLYHELP_LINKAGE_KEY_FILE"),
        set("EARLYHELP_LINKAGE_KEY"),
    ) {
        (Some(_), Some(_)) => {
            bail!("set EARLYHELP_LINKAGE_KEY_FILE or EARLYHELP_LINKAGE_KEY, not both")
        }
        (Some(path), None) => std::fs::read(&path).with_context(|| {
            format!(
                "EARLYHELP_LINKAGE_KEY_FILE: cannot read the linkage key from {}",
                std::path::Path::new(&path).display()
            )
        })?,
        (None, Some(value)) => value.into_encoded_bytes(),
        (None, None) => return Ok(None),
    };
    LinkageKey::new(&bytes).map(Some).map_err(|e| {
        anyhow::anyhow!(
            "the linkage key (EARLYHELP_LINKAGE_KEY_FILE or EARLYHELP_LINKAGE_KEY): {e}"
        )
    })
}

/// The rate limits, trusted proxies and front door phone, from the environment.
fn limits_from_env(config: Config, with_demo: bool) -> Result<Config> {
    let trusted = std::env::var("EARLYHELP_TRUSTED_PROXIES").unwrap_or_default();
    let contact_phone = std::env::var("EARLYHELP_CONTACT_PHONE").unwrap_or_else(|_| {
        if with_demo {
            demo::FRONT_DOOR_PHONE.into()
        } else {
            String::new()
        }
    });
    // Required unless said otherwise; the demo's accounts sign in with a password alone.
    let second_factor_required = match std::env::var("EARLYHELP_SECOND_FACTOR").as_deref() {
        Ok("required") => true,
        Ok("optional") => false,
        Ok(other) => anyhow::bail!("EARLYHELP_SECOND_FACTOR={other:?}: say required or optional"),
        Err(_) => !with_demo,
    };
    let practice_model = earlyhelp_domain::family_help::PracticeModel::from_setting(
        std::env::var("EARLYHELP_PRACTICE_MODEL").ok().as_deref(),
    )
    .map_err(|e| anyhow::anyhow!("EARLYHELP_PRACTICE_MODEL: {e}"))?;
    Ok(Config {
        second_factor_required,
        practice_model,
        self_referrals_per_hour: number_from_env(
            "EARLYHELP_SELF_REFERRALS_PER_HOUR",
            config.self_referrals_per_hour,
        )?,
        sign_ins_per_15_minutes: number_from_env(
            "EARLYHELP_SIGN_INS_PER_15_MINUTES",
            config.sign_ins_per_15_minutes,
        )?,
        trusted_proxies: earlyhelp_web::throttle::parse_trusted_proxies(&trusted)
            .map_err(|e| anyhow::anyhow!("EARLYHELP_TRUSTED_PROXIES: {e}"))?,
        contact_phone,
        ..config
    })
}

pub async fn serve(
    listen: &ListenArgs,
    url: &str,
    checkpoints: &CheckpointArgs,
    with_demo: bool,
) -> Result<()> {
    let address: SocketAddr = listen.listen.parse().with_context(|| {
        format!(
            "{:?} is not an address to listen on (for example 127.0.0.1:8080)",
            listen.listen
        )
    })?;
    // Bind before touching the database, so a port in use fails fast and changes nothing.
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| {
            format!("cannot listen on {address} (is another program using that port?)")
        })?;
    let metrics_address = crate::metrics::address_from_env()?;
    // Held until the server stops (dropped at the end of this function, or with the process).
    let _one_server = lock_sqlite_file(url)?;
    // A server that cannot sign its audit checkpoints, or read the linkage key it is given,
    // does not start.
    let settings = checkpoints.paths.settings()?;
    let linkage_key = linkage_key_from_env()?;
    let key = checkpoint::signing_key(&settings)?;
    let db = if with_demo {
        fresh_demo_database(url).await?
    } else {
        open(url).await?
    };
    if let Some(address) = metrics_address {
        let bound = crate::metrics::start(address, db.clone()).await?;
        println!("metrics for operators at http://{bound}/metrics");
    }
    if with_demo {
        let sign_ins = demo::load(&db, crate::demo_cases::DEMO_SCALE).await?;
        println!(
            "Demo city loaded. Sign in with any of these (password: {}):",
            demo::PASSWORD
        );
        for (email, role) in sign_ins {
            println!("  {email:<44} {role}");
        }
    }
    let secure_cookies = match std::env::var("EARLYHELP_SECURE_COOKIES") {
        Ok(value) => value != "false" && value != "0",
        // Browsers drop Secure cookies on plain http, which is all a laptop demo has.
        Err(_) => !address.ip().is_loopback(),
    };
    let state = AppState::new(
        db.clone(),
        limits_from_env(
            Config {
                secure_cookies,
                linkage_key: linkage_key.clone(),
                ..Config::default()
            },
            with_demo,
        )?,
    );
    checkpoint::write(&db, &settings, &key).await?;
    println!(
        "audit checkpoints: signed with {} every {} s, written to {}",
        settings.key.display(),
        checkpoints.every,
        settings
            .dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" and ")
    );
    let writer = tokio::spawn(write_checkpoints(
        db.clone(),
        settings.clone(),
        key.clone(),
        Duration::from_secs(checkpoints.every),
    ));
    let local = listener.local_addr()?;
    let sending = crate::mail::Sending::from_env(&format!("http://{local}"))?;
    let jobs = crate::jobs::spawn(
        db.clone(),
        crate::jobs::refresh_interval(),
        Some(sending),
        linkage_key,
    );
    let shutdown = shutdown_signal();
    println!(
        "earlyhelp is listening on http://{local} ({} database)",
        db.backend()
    );
    earlyhelp_web::serve(listener, state, shutdown).await?;
    // Stopped before the pool closes, so they do not log its closing as a failure.
    writer.abort();
    jobs.abort();
    checkpoint::write(&db, &settings, &key)
        .await
        .context("writing the audit checkpoint at shutdown")?;
    db.close().await;
    Ok(())
}

/// Every `every`, a signed checkpoint of the audit chain's head. A failure is logged and
/// tried again next time, so a full disk does not stop the service.
async fn write_checkpoints(db: Db, settings: Settings, key: SigningKey, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is now, and start-up has just written one
    loop {
        ticker.tick().await;
        if let Err(error) = checkpoint::write(&db, &settings, &key).await {
            tracing::error!("audit checkpoint not written: {error:#}");
        }
    }
}

/// Ctrl-C, or the SIGTERM a service manager sends. Both are registered when this is called,
/// before the server says it listens, so a signal sent just after that is not lost.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async fn received(signal: Option<Signal>) {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    }
    async move {
        tokio::select! {
            _ = received(interrupt) => {}
            _ = received(terminate) => {}
        }
    }
}

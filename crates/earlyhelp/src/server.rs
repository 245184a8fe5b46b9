//! Opening the database and serving the web application, shared by `serve` and `demo`.

use crate::demo;
use anyhow::{Context, Result, bail};
use clap::Args;
use earlyhelp_storage::Db;
use earlyhelp_web::{AppState, Config};
use std::net::SocketAddr;
use std::sync::Arc;

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

/// Connects and applies migrations.
pub async fn open(url: &str) -> Result<Db> {
    let db = Db::connect(url).await?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

/// Removes an SQLite demo database so the demo starts fresh; refuses to wipe PostgreSQL.
async fn fresh_demo_database(url: &str) -> Result<Db> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
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

pub async fn serve(listen: &ListenArgs, url: &str, with_demo: bool) -> Result<()> {
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
    let db = if with_demo {
        fresh_demo_database(url).await?
    } else {
        open(url).await?
    };
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
    let state = AppState {
        db: db.clone(),
        config: Arc::new(Config {
            secure_cookies,
            ..Config::default()
        }),
    };
    let local = listener.local_addr()?;
    let sending = crate::mail::Sending::from_env(&format!("http://{local}"))?;
    crate::jobs::spawn(db.clone(), crate::jobs::refresh_interval(), Some(sending));
    println!(
        "earlyhelp is listening on http://{local} ({} database)",
        db.backend()
    );
    earlyhelp_web::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    db.close().await;
    Ok(())
}

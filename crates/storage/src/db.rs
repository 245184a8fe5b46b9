//! One `Db` over two typed pools: SQLite (the embedded default) and PostgreSQL (production).
//!
//! Queries are written once, with `$1` placeholders that both databases accept, and run on
//! whichever pool or transaction is at hand through the [`on_pool!`] and [`on_tx!`] macros.
//! sqlx's `Any` driver is avoided on purpose: it cannot decode PostgreSQL's uuid and
//! timestamptz types.

use crate::StorageError;
use crate::gate::AuditQueue;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, WriteQueue),
    /// With this process's audit events waiting to be appended together (see [`AuditQueue`]).
    Postgres(PgPool, AuditQueue),
}

/// SQLite has one writer at a time. Writers in this process wait their turn here, first come
/// first served, before `BEGIN IMMEDIATE`: SQLite's own busy handler polls with growing sleeps
/// and is not fair, so under many concurrent writers one could wait out the busy timeout.
/// Audit events written in transactions of their own (every read's) are appended together,
/// as on PostgreSQL: one write transaction for many reads.
#[derive(Clone, Debug, Default)]
pub struct WriteQueue {
    turn: Arc<Mutex<()>>,
    pub(crate) audit: AuditQueue,
}

pub enum Tx {
    /// With its place at the head of the write queue, if it may write.
    Sqlite(
        sqlx::Transaction<'static, Sqlite>,
        Option<OwnedMutexGuard<()>>,
    ),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

/// Runs `$body` with `$pool` bound to the backend's own pool.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool, _) => $body,
            $crate::Db::Postgres($pool, _) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite(t, _) => {
                let $conn = &mut **t;
                $body
            }
            $crate::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}

/// How much of a SQLite database file is read through a memory map (the city benchmark's is
/// 1.2 GB; SQLite's own ceiling is just above 2 GB); beyond it, reads fall back to `pread`.
const SQLITE_MMAP_BYTES: u64 = 2_000_000_000;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl Db {
    /// Connects to `sqlite://PATH` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Db, StorageError> {
        Db::connect_pooled(url, None).await
    }

    /// As [`Db::connect`], with at most `connections` in the pool rather than the default
    /// (8 on SQLite, 16 on PostgreSQL): a small pool shows a request that holds one connection
    /// while it waits for another.
    pub async fn connect_pooled(url: &str, connections: Option<u32>) -> Result<Db, StorageError> {
        let bad_url = |e: sqlx::Error| StorageError::BadUrl(url.to_string(), e.to_string());
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(bad_url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Reads through a memory map rather than a `pread` and a copy into each
                // connection's own small page cache (measured in docs/benchmarks/cases.md).
                .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string());
            let pool = SqlitePoolOptions::new()
                .max_connections(connections.unwrap_or(8))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(|e| StorageError::Unreachable(url.to_string(), e.to_string()))?;
            Ok(Db::Sqlite(pool, WriteQueue::default()))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url).map_err(bad_url)?;
            let pool = PgPoolOptions::new()
                .max_connections(connections.unwrap_or(16))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(|e| StorageError::Unreachable(redact(url), e.to_string()))?;
            Ok(Db::Postgres(pool, AuditQueue::default()))
        } else {
            Err(StorageError::BadUrl(
                redact(url),
                "use sqlite://FILE or postgres://USER@HOST/DATABASE".into(),
            ))
        }
    }

    pub async fn migrate(&self) -> Result<(), StorageError> {
        match self {
            Db::Sqlite(pool, _) => SQLITE_MIGRATIONS.run(pool).await?,
            Db::Postgres(pool, _) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(..) => "sqlite",
            Db::Postgres(..) => "postgres",
        }
    }

    /// A transaction that may write. SQLite's is `BEGIN IMMEDIATE` so that a read followed by
    /// a write never fails half-way on a lock upgrade; PostgreSQL's is an ordinary one.
    pub async fn begin(&self) -> Result<Tx, StorageError> {
        Ok(match self {
            Db::Sqlite(pool, queue) => {
                let turn = queue.turn.clone().lock_owned().await;
                Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, Some(turn))
            }
            Db::Postgres(pool, _) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// A transaction that only reads: a consistent snapshot that, on SQLite's write-ahead log,
    /// runs beside other readers and the one writer instead of queueing behind them.
    /// PostgreSQL's is `READ ONLY`, so a write slipped into a read path fails its tests.
    pub async fn begin_read(&self) -> Result<Tx, StorageError> {
        Ok(match self {
            Db::Sqlite(pool, _) => Tx::Sqlite(pool.begin_with("BEGIN DEFERRED").await?, None),
            Db::Postgres(pool, _) => Tx::Postgres(pool.begin_with("BEGIN READ ONLY").await?),
        })
    }

    /// How many tables the database holds (a restore goes only into one that holds none).
    pub async fn table_count(&self) -> Result<i64, StorageError> {
        Ok(match self {
            Db::Sqlite(pool, _) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
                    .fetch_one(pool)
                    .await?
            }
            Db::Postgres(pool, _) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_tables \
                     WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
                )
                .fetch_one(pool)
                .await?
            }
        })
    }

    /// SQLite only: a consistent copy of the whole database into the new file `path`, in one
    /// read transaction (every write committed before it is in the copy; writers carry on).
    pub async fn sqlite_copy_into(&self, path: &str) -> Result<(), StorageError> {
        match self {
            Db::Sqlite(pool, _) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(path)
                    .execute(pool)
                    .await?;
                Ok(())
            }
            Db::Postgres(..) => Err(StorageError::Refused(
                "a PostgreSQL database is copied with pg_dump".into(),
            )),
        }
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    /// How the connection pool is used now, for the operators' metrics.
    pub fn pool_use(&self) -> PoolUse {
        on_pool!(self, pool => PoolUse {
            size: pool.size(),
            idle: pool.num_idle(),
            max: pool.options().get_max_connections(),
        })
    }
}

/// Connections open, of them idle, and the most the pool opens.
#[derive(Clone, Copy, Debug)]
pub struct PoolUse {
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

impl Tx {
    pub async fn commit(self) -> Result<(), StorageError> {
        match self {
            Tx::Sqlite(tx, _turn) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// The URL without its password, fit for an error message or a log.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://eh:secret@db/earlyhelp"),
            "postgres://eh:***@db/earlyhelp"
        );
        assert_eq!(
            redact("postgres://eh@db/earlyhelp"),
            "postgres://eh@db/earlyhelp"
        );
        assert_eq!(redact("sqlite://earlyhelp.db"), "sqlite://earlyhelp.db");
    }

    #[test]
    fn migrations_stay_in_step() {
        let versions = |m: &sqlx::migrate::Migrator| {
            m.iter()
                .map(|migration| (migration.version, migration.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(versions(&SQLITE_MIGRATIONS), versions(&POSTGRES_MIGRATIONS));
        assert!(SQLITE_MIGRATIONS.iter().next().is_some());
    }
}

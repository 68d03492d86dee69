//! Connecting to SQLite or PostgreSQL.

pub use crate::dialect::Dialect;
use crate::tx::{Actor, Tx};
use crate::Result;
use kernel::Clock;
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Executor};
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::sync::Notify;

/// How to connect.
#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
}

impl DbConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 16 }
    }
}

/// The database handle every service receives. Cheap to clone.
///
/// SQLite allows one writer at a time, and a transaction that starts reading and then
/// writes fails at once ("database is locked") if another writer got in first. So on
/// SQLite writes go through a pool of exactly one connection, and a writer waits its turn
/// in the pool queue instead of failing; reads use their own pool and see a consistent
/// snapshot thanks to WAL. On PostgreSQL both pools are the same pool.
#[derive(Clone, Debug)]
pub struct Db {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    clock: Clock,
    /// Wakes the background checkpoint after a commit (SQLite only; see `checkpoint.rs`).
    checkpoint: Option<Arc<Notify>>,
}

static DRIVERS: Once = Once::new();

impl Db {
    pub async fn connect(config: &DbConfig, clock: Clock) -> Result<Db> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let dialect = Dialect::from_url(&config.url).ok_or_else(|| {
            kernel::DomainError::Invalid(vec![kernel::error::FieldError::new(
                "database_url",
                "error.database_url.scheme",
                config.url.clone(),
            )])
        })?;
        let options = AnyConnectOptions::from_str(&config.url)?;
        let pool = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .min_connections(0)
                .acquire_timeout(Duration::from_secs(30))
                // A pooled SQLite connection is a file handle in this process: asking it
                // whether it is still alive before each use cost a round trip to its thread
                // on every transaction. A PostgreSQL server may have gone away meanwhile.
                .test_before_acquire(dialect == Dialect::Postgres)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if dialect == Dialect::Sqlite {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            // The log is folded into the database file in the background;
                            // a writer does it itself only past this size.
                            let fallback = crate::checkpoint::FALLBACK_PAGES;
                            conn.execute(format!("PRAGMA wal_autocheckpoint = {fallback}").as_str()).await?;
                            let limit = crate::checkpoint::LOG_SIZE_LIMIT;
                            conn.execute(format!("PRAGMA journal_size_limit = {limit}").as_str()).await?;
                            // Reads through memory-mapped pages share the operating system's
                            // cache across connections. With only each connection's own page
                            // cache (2 MB), a report over a million rows ran 3–4 times slower on
                            // some pooled connections than on others (0.45 s against 1.9 s for
                            // one statement); mapped, every connection took 0.4 s.
                            conn.execute("PRAGMA mmap_size = 2147418112").await?;
                        }
                        Ok(())
                    })
                })
        };
        let (read, write, checkpoint) = match dialect {
            Dialect::Sqlite => {
                let write = pool(1).connect_with(options.clone()).await?;
                let read = pool(config.max_connections).connect_with(options).await?;
                let checkpoint = crate::checkpoint::spawn(read.clone());
                (read, write, Some(checkpoint))
            }
            Dialect::Postgres => {
                let both = pool(config.max_connections).connect_with(options).await?;
                (both.clone(), both, None)
            }
        };
        Ok(Db { read, write, dialect, clock, checkpoint })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The pool for reads outside a transaction (lists, reports, lookups).
    pub fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// Runs a read on the read pool and returns its rows, its task staying awake while it
    /// waits on SQLite as a transaction's calls do (`wait.rs`): for the reads every request
    /// makes before its handler runs (who is asking, with what grants).
    pub async fn read_all<'q>(&self, query: Query<'q, Any, AnyArguments<'q>>) -> Result<Vec<AnyRow>> {
        Ok(crate::wait::Attentive::new(query.fetch_all(&self.read), self.dialect).await?)
    }

    /// Begins a write transaction on behalf of `actor`. Every business operation is one of
    /// these: its rows, its audit rows, its events and its sequence numbers commit together
    /// or not at all.
    pub async fn begin(&self, actor: Actor) -> Result<Tx> {
        // On SQLite the write lock is taken at once (BEGIN IMMEDIATE): a deferred transaction
        // that reads and then writes fails outright when another process wrote in between,
        // while an immediate one waits for the lock within the busy timeout.
        let inner = match self.dialect {
            Dialect::Sqlite => {
                crate::wait::Attentive::new(self.write.begin_with("BEGIN IMMEDIATE"), Dialect::Sqlite).await?
            }
            // Stated, not assumed: the chain head and sequence rows rely on READ COMMITTED
            // (a waiting writer re-reads the locked row instead of failing to serialise).
            Dialect::Postgres => self.write.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED").await?,
        };
        Ok(Tx::new(inner, actor, self.clock.now_text(), self.dialect, self.checkpoint.clone()))
    }

    /// Connections in use and idle, for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        let size = self.read.size() + if self.dialect == Dialect::Sqlite { self.write.size() } else { 0 };
        let idle = self.read.num_idle() + if self.dialect == Dialect::Sqlite { self.write.num_idle() } else { 0 };
        (size, idle)
    }

    /// Settles the database after a bulk load (demo data, a restore, a benchmark's rows):
    /// refreshes the query planner's statistics — otherwise it guesses from empty tables (on
    /// PostgreSQL the party list went from 97 ms to 1.3 ms at 100k rows once analysed) — and
    /// on SQLite folds the write-ahead log back into the database file, as the regular
    /// checkpoints of a running server do: until then every page a reader needs is looked up
    /// in a log as large as the load.
    pub async fn analyze(&self) -> Result<()> {
        // The same statement on both: SQLite fills sqlite_stat1, PostgreSQL pg_statistic.
        sqlx::query("ANALYZE").execute(&self.write).await?;
        if self.dialect == Dialect::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.write).await?;
        }
        Ok(())
    }

    /// Checks the database answers, for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        // Lets the background checkpoint see the closed pool and end.
        if let Some(checkpoint) = &self.checkpoint {
            checkpoint.notify_one();
        }
        self.write.close().await;
    }
}

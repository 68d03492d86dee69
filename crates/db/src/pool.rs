//! Connecting to SQLite or PostgreSQL.

use crate::conn::Conn;
pub use crate::dialect::Dialect;
use crate::direct::Writer;
use crate::tx::{Actor, Tx};
use crate::Result;
use kernel::Clock;
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Executor};
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::sync::{Mutex, Notify, OwnedMappedMutexGuard, OwnedMutexGuard};

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
/// SQLite every write transaction goes through one connection (`direct.rs`), and a writer
/// waits its turn for it instead of failing; reads use their own pool and see a consistent
/// snapshot thanks to WAL. On PostgreSQL reads and writes share one pool.
#[derive(Clone, Debug)]
pub struct Db {
    read: AnyPool,
    write: Writes,
    dialect: Dialect,
    clock: Clock,
    /// Wakes the background checkpoint after a commit (SQLite only; see `checkpoint.rs`).
    checkpoint: Option<Arc<Notify>>,
}

/// Where write transactions run.
#[derive(Clone, Debug)]
enum Writes {
    /// SQLite's one write connection, taken by one transaction at a time (empty once closed).
    Writer(Arc<Mutex<Option<Writer>>>),
    /// PostgreSQL's pool, the same as the reads'.
    Pool(AnyPool),
}

/// How long an operation waits for a connection (on SQLite, for its turn to write).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

static DRIVERS: Once = Once::new();

/// The settings of every SQLite connection, the writer's and the readers'.
fn sqlite_pragmas() -> Vec<String> {
    vec![
        "PRAGMA journal_mode = WAL".into(),
        "PRAGMA synchronous = NORMAL".into(),
        format!("PRAGMA busy_timeout = {}", crate::direct::BUSY_TIMEOUT_MS),
        "PRAGMA foreign_keys = ON".into(),
        // The log is folded into the database file in the background; a writer does it itself
        // only past this size.
        format!("PRAGMA wal_autocheckpoint = {}", crate::checkpoint::FALLBACK_PAGES),
        format!("PRAGMA journal_size_limit = {}", crate::checkpoint::LOG_SIZE_LIMIT),
        // Reads through memory-mapped pages share the operating system's cache across
        // connections. With only each connection's own page cache (2 MB), a report over a
        // million rows ran 3–4 times slower on some pooled connections than on others (0.45 s
        // against 1.9 s for one statement); mapped, every connection took 0.4 s.
        "PRAGMA mmap_size = 2147418112".into(),
    ]
}

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
                .acquire_timeout(ACQUIRE_TIMEOUT)
                // A pooled SQLite connection is a file handle in this process: asking it
                // whether it is still alive before each use cost a round trip to its thread
                // on every transaction. A PostgreSQL server may have gone away meanwhile.
                .test_before_acquire(dialect == Dialect::Postgres)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if dialect == Dialect::Sqlite {
                            for pragma in sqlite_pragmas() {
                                conn.execute(pragma.as_str()).await?;
                            }
                        }
                        Ok(())
                    })
                })
        };
        let (read, write, checkpoint) = match dialect {
            Dialect::Sqlite => {
                // The writer first: with `mode=rwc` it creates the file the readers open.
                let writer = Writer::open(&config.url, &sqlite_pragmas()).await?;
                let read = pool(config.max_connections).connect_with(options).await?;
                let checkpoint = crate::checkpoint::spawn(read.clone());
                (read, Writes::Writer(Arc::new(Mutex::new(Some(writer)))), Some(checkpoint))
            }
            Dialect::Postgres => {
                let both = pool(config.max_connections).connect_with(options).await?;
                (both.clone(), Writes::Pool(both), None)
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

    /// Runs a read on a read connection ([`Db::read_conn`], whose task stays awake while it
    /// waits on SQLite) and returns its rows: for the reads every request makes before its
    /// handler runs (who is asking, with what grants).
    pub async fn read_all<'q>(&self, query: Query<'q, Any, AnyArguments<'q>>) -> Result<Vec<AnyRow>> {
        Ok(query.fetch_all(&mut self.read_conn().await?).await?)
    }

    /// A connection of the read pool, for functions that take a [`Conn`] and are called
    /// both inside and outside a transaction.
    pub async fn read_conn(&self) -> Result<Conn> {
        Ok(Conn::reader(self.read.acquire().await?, self.dialect))
    }

    /// Begins a write transaction on behalf of `actor`. Every business operation is one of
    /// these: its rows, its audit rows, its events and its sequence numbers commit together
    /// or not at all.
    pub async fn begin(&self, actor: Actor) -> Result<Tx> {
        let conn = match &self.write {
            Writes::Writer(writer) => Conn::begin_writing(self.writer_turn(writer).await?).await?,
            // Stated, not assumed: the chain head and sequence rows rely on READ COMMITTED
            // (a waiting writer re-reads the locked row instead of failing to serialise).
            Writes::Pool(pool) => Conn::transaction(pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED").await?),
        };
        Ok(Tx::new(conn, actor, self.clock.now_text(), self.checkpoint.clone()))
    }

    /// Waits for the SQLite writer, in the order asked, as long as a pool would.
    async fn writer_turn(
        &self,
        writer: &Arc<Mutex<Option<Writer>>>,
    ) -> Result<OwnedMappedMutexGuard<Option<Writer>, Writer>> {
        let turn = tokio::time::timeout(ACQUIRE_TIMEOUT, writer.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        Ok(OwnedMutexGuard::try_map(turn, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)?)
    }

    /// Connections in use and idle, for `/metrics`.
    pub fn pool_stats(&self) -> (u32, usize) {
        let (size, idle) = (self.read.size(), self.read.num_idle());
        match &self.write {
            Writes::Writer(writer) => (size + 1, idle + usize::from(writer.try_lock().is_ok())),
            Writes::Pool(_) => (size, idle),
        }
    }

    /// Settles the database after a bulk load (demo data, a restore, a benchmark's rows):
    /// refreshes the query planner's statistics — otherwise it guesses from empty tables (on
    /// PostgreSQL the party list went from 97 ms to 1.3 ms at 100k rows once analysed) — and
    /// on SQLite folds the write-ahead log back into the database file, as the regular
    /// checkpoints of a running server do: until then every page a reader needs is looked up
    /// in a log as large as the load.
    pub async fn analyze(&self) -> Result<()> {
        match &self.write {
            // The same statement on both: SQLite fills sqlite_stat1, PostgreSQL pg_statistic.
            Writes::Writer(writer) => {
                let mut writer = self.writer_turn(writer).await?;
                writer.run_plain("ANALYZE")?;
                writer.run_plain("PRAGMA wal_checkpoint(TRUNCATE)")?;
            }
            Writes::Pool(pool) => {
                sqlx::query("ANALYZE").execute(pool).await?;
            }
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
        match &self.write {
            Writes::Writer(writer) => {
                let writer = writer.lock().await.take();
                if let Some(writer) = writer {
                    if let Err(error) = writer.close().await {
                        tracing::warn!(%error, "closing the SQLite writer failed");
                    }
                }
            }
            Writes::Pool(pool) => pool.close().await,
        }
    }
}

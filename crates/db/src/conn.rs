//! A connection as the modules' queries use it: a transaction's ([`crate::Tx::conn`]) or a
//! read connection ([`crate::Db::read_conn`]). It is a sqlx executor, so a query runs on it as
//! on any sqlx connection (`query.fetch_all(conn)`), and a function that works on either kind
//! takes `&mut Conn`.
//!
//! Behind it: on PostgreSQL a sqlx transaction on a pooled connection; on SQLite, for writes,
//! the one write connection driven from the task's own thread (`direct.rs`), and for reads a
//! pooled connection whose calls keep the task awake while they wait (`wait.rs`).

use crate::dialect::Dialect;
use crate::direct::{Outcome, Writer};
use crate::wait::{Attentive, AttentiveStream};
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::pool::PoolConnection;
use sqlx::{Any, Either, Executor, Transaction};
use tokio::sync::OwnedMappedMutexGuard;

pub struct Conn {
    link: Link,
}

enum Link {
    /// A PostgreSQL transaction.
    Transaction(Transaction<'static, Any>),
    /// SQLite's write connection, held from `BEGIN` to `COMMIT` or rollback.
    Writer(WriterTransaction),
    /// A connection of the read pool, outside any transaction.
    Reader(PoolConnection<Any>, Dialect),
}

/// The write connection lent to one transaction. Dropped before its commit, it rolls back.
pub(crate) struct WriterTransaction {
    writer: OwnedMappedMutexGuard<Option<Writer>, Writer>,
}

impl Drop for WriterTransaction {
    fn drop(&mut self) {
        if self.writer.in_transaction() {
            // Nothing to report to: the operation already failed or was abandoned. Should the
            // rollback fail, the next transaction's begin ends what is left open.
            let _ = self.writer.run_plain("ROLLBACK");
        }
    }
}

impl Conn {
    /// A PostgreSQL transaction, already begun.
    pub(crate) fn transaction(tx: Transaction<'static, Any>) -> Conn {
        Conn { link: Link::Transaction(tx) }
    }

    /// Begins a transaction on SQLite's write connection. It takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails outright
    /// when another process wrote in between, while an immediate one waits for the lock
    /// within the busy timeout.
    pub(crate) async fn begin_writing(
        mut writer: OwnedMappedMutexGuard<Option<Writer>, Writer>,
    ) -> Result<Conn, sqlx::Error> {
        writer.begin().await?;
        Ok(Conn { link: Link::Writer(WriterTransaction { writer }) })
    }

    pub(crate) fn reader(conn: PoolConnection<Any>, dialect: Dialect) -> Conn {
        Conn { link: Link::Reader(conn, dialect) }
    }

    pub fn dialect(&self) -> Dialect {
        match &self.link {
            Link::Transaction(_) => Dialect::Postgres,
            Link::Writer(_) => Dialect::Sqlite,
            Link::Reader(_, dialect) => *dialect,
        }
    }

    /// Commits the transaction (a read connection has none to commit).
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self.link {
            Link::Transaction(tx) => tx.commit().await,
            Link::Writer(mut writing) => writing.writer.run_plain("COMMIT"),
            Link::Reader(..) => Ok(()),
        }
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.link {
            Link::Transaction(_) => "transaction",
            Link::Writer(_) => "writer",
            Link::Reader(..) => "reader",
        };
        f.debug_struct("Conn").field("kind", &kind).field("dialect", &self.dialect()).finish()
    }
}

/// Runs a query on the write connection at once and returns its results as a list.
///
/// The callers first spend a unit of the task's cooperative budget: a statement never waits,
/// so an operation of many statements would otherwise keep its runtime thread from every other
/// task until it commits; this way it lets them run after every 128 or so.
fn run_on_writer<'q, E>(writer: &mut Writer, mut query: E, first_row_only: bool) -> Result<Vec<Outcome>, sqlx::Error>
where
    E: 'q + sqlx::Execute<'q, Any>,
{
    let (sql, keep) = (query.sql(), query.persistent());
    let arguments = query.take_arguments().map_err(sqlx::Error::Encode)?;
    writer.run(sql, arguments, keep, first_row_only)
}

impl<'c> Executor<'c> for &'c mut Conn {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Any>,
    {
        match &mut self.link {
            // Each statement spends a unit of the task's cooperative budget here too: a reply that
            // is already in the socket's buffer never makes the task wait, so without it a long
            // transaction could keep its thread's other tasks waiting to the end, as on SQLite.
            Link::Transaction(tx) => Box::pin(
                futures_util::stream::once(async move {
                    tokio::task::coop::consume_budget().await;
                    (&mut **tx).fetch_many(query)
                })
                .flatten(),
            ),
            Link::Writer(writing) => Box::pin(
                futures_util::stream::once(async move {
                    tokio::task::coop::consume_budget().await;
                    match run_on_writer(&mut writing.writer, query, false) {
                        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
                        Err(error) => vec![Err(error)],
                    }
                })
                .flat_map(futures_util::stream::iter),
            ),
            Link::Reader(conn, dialect) => {
                let dialect = *dialect;
                Box::pin(AttentiveStream::new((&mut **conn).fetch_many(query), dialect))
            }
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + sqlx::Execute<'q, Any>,
    {
        match &mut self.link {
            Link::Transaction(tx) => Box::pin(async move {
                tokio::task::coop::consume_budget().await;
                (&mut **tx).fetch_optional(query).await
            }),
            Link::Writer(writing) => Box::pin(async move {
                tokio::task::coop::consume_budget().await;
                // As sqlx answers: the row if the text's first result is one.
                let outcomes = run_on_writer(&mut writing.writer, query, true)?;
                Ok(match outcomes.into_iter().next() {
                    Some(Either::Right(row)) => Some(row),
                    _ => None,
                })
            }),
            Link::Reader(conn, dialect) => {
                let dialect = *dialect;
                Box::pin(Attentive::new((&mut **conn).fetch_optional(query), dialect))
            }
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        match &mut self.link {
            Link::Transaction(tx) => (&mut **tx).prepare_with(sql, parameters),
            Link::Writer(_) => Box::pin(std::future::ready(Err(unsupported("prepare")))),
            Link::Reader(conn, _) => (&mut **conn).prepare_with(sql, parameters),
        }
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<sqlx::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match &mut self.link {
            Link::Transaction(tx) => (&mut **tx).describe(sql),
            Link::Writer(_) => Box::pin(std::future::ready(Err(unsupported("describe")))),
            Link::Reader(conn, _) => (&mut **conn).describe(sql),
        }
    }
}

/// Statements are prepared and kept by the write connection itself; nothing here asks it for
/// a separate statement object or a description.
fn unsupported(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("{what} is not offered by the SQLite write connection"))
}

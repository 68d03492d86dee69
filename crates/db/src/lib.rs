//! The database layer: one pool over SQLite or PostgreSQL, the migration runner, the
//! transaction helper every service uses, and the platform tables every module writes
//! through it: the audit chain, the event outbox and gapless sequences.
//!
//! Both databases are reached through sqlx's `Any` types with portable SQL: `$1`
//! placeholders (SQLite accepts them too), `INTEGER`/`TEXT` values only, and `{{id}}` in
//! migrations for the one piece of DDL that differs. Where a query must differ by dialect,
//! the branch sits next to the query and names [`Dialect`]. Module code runs its queries on a
//! [`Conn`]: on PostgreSQL and for SQLite reads a sqlx connection, for SQLite writes the one
//! write connection driven from the task's own thread (`direct.rs`).

pub mod audit;
pub mod backup;
mod checkpoint;
mod conn;
mod dialect;
mod direct;
pub mod document;
mod error;
pub mod events;
pub mod jobs;
pub mod migrate;
mod pool;
pub mod query;
pub mod rules;
pub mod stored_file;
pub mod throttle;
mod tx;
mod wait;

pub use conn::Conn;
pub use error::{Error, Result};
pub use pool::{Db, DbConfig, Dialect};
pub use query::SqlBuilder;
pub use sqlx;
pub use sqlx::any::AnyRow as Row;
pub use sqlx::Row as RowExt;
pub use tx::{Actor, Sequence, Tx};

/// The platform's own migrations: companies, accounts, audit, sequences, outbox, webhooks,
/// rate limits.
pub fn platform_migrations() -> Vec<migrate::Migration> {
    vec![
        migrate::Migration {
            module: "platform",
            version: 1,
            name: "platform",
            sql: include_str!("../migrations/0001_platform.sql"),
        },
        migrate::Migration {
            module: "platform",
            version: 2,
            name: "rate limits for public endpoints",
            sql: include_str!("../migrations/0002_throttle.sql"),
        },
    ]
}

/// Reads a yes/no column computed by SQL (`EXISTS (…)`, a comparison): PostgreSQL returns a
/// boolean, SQLite an integer 0/1. Stored flags are 0/1 integers on both and read as `i64`.
pub fn flag(row: &Row, column: &str) -> std::result::Result<bool, sqlx::Error> {
    row.try_get::<bool, _>(column).or_else(|_| row.try_get::<i64, _>(column).map(|v| v != 0))
}

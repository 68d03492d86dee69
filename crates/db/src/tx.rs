//! The transaction helper. A [`Tx`] carries who is acting and the instant the operation
//! happens, and offers what every business operation needs besides its own rows: an audit
//! row, an event in the outbox, and the next gapless number of a sequence.

use crate::conn::Conn;
use crate::dialect::Dialect;
use crate::{Result, SqlBuilder};
use kernel::audit::{chain_hash, AuditRecord};
use kernel::DomainError;
use serde_json::Value;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};
use std::sync::Arc;
use tokio::sync::Notify;

/// Who performs an operation: a user in a company, or the system (migrations, the
/// dispatcher, the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub login: String,
    pub company_id: Option<i64>,
}

impl Actor {
    pub fn system() -> Self {
        Self { user_id: None, login: "system".into(), company_id: None }
    }

    pub fn user(user_id: i64, login: impl Into<String>, company_id: i64) -> Self {
        Self { user_id: Some(user_id), login: login.into(), company_id: Some(company_id) }
    }
}

/// An audit row waiting for its place in the chain (taken when the transaction commits).
struct PendingAudit {
    company_id: Option<i64>,
    actor_id: Option<i64>,
    actor: String,
    action: String,
    resource: String,
    resource_id: Option<String>,
    changes: String,
}

/// An event waiting to be written to the outbox.
struct PendingEvent {
    company_id: Option<i64>,
    aggregate: String,
    aggregate_id: String,
    event_type: String,
    payload: String,
}

/// Rows per multi-row insert: well under SQLite's limit of bound values per statement.
const CHUNK: usize = 200;

/// A write transaction with its actor. Dropped without [`Tx::commit`], it rolls back, and its
/// audit rows and events go with it.
pub struct Tx {
    inner: Conn,
    actor: Actor,
    now: String,
    audit: Vec<PendingAudit>,
    events: Vec<PendingEvent>,
    /// Told after the commit, so the write-ahead log is folded back in the background (SQLite).
    checkpoint: Option<Arc<Notify>>,
}

impl Tx {
    pub(crate) fn new(inner: Conn, actor: Actor, now: String, checkpoint: Option<Arc<Notify>>) -> Self {
        Self { inner, actor, now, audit: Vec::new(), events: Vec::new(), checkpoint }
    }

    /// The connection, for the operation's own queries: `query.execute(tx.conn())`, or passed
    /// to a function that takes a connection.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.inner
    }

    /// Runs a statement and returns how many rows it changed.
    pub async fn execute<'q>(&mut self, query: Query<'q, Any, AnyArguments<'q>>) -> Result<u64> {
        Ok(query.execute(&mut self.inner).await?.rows_affected())
    }

    /// Runs a query that returns exactly one row.
    pub async fn fetch_one<'q>(&mut self, query: Query<'q, Any, AnyArguments<'q>>) -> Result<AnyRow> {
        Ok(query.fetch_one(&mut self.inner).await?)
    }

    /// Runs a query that returns at most one row.
    pub async fn fetch_optional<'q>(&mut self, query: Query<'q, Any, AnyArguments<'q>>) -> Result<Option<AnyRow>> {
        Ok(query.fetch_optional(&mut self.inner).await?)
    }

    /// Runs a query and returns all its rows.
    pub async fn fetch_all<'q>(&mut self, query: Query<'q, Any, AnyArguments<'q>>) -> Result<Vec<AnyRow>> {
        Ok(query.fetch_all(&mut self.inner).await?)
    }

    /// The same transaction acting for someone else (a login learns who acts midway).
    pub fn with_actor(mut self, actor: Actor) -> Self {
        self.actor = actor;
        self
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The instant of this operation (RFC 3339 UTC text), the same for every row it writes.
    pub fn now(&self) -> &str {
        &self.now
    }

    pub fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }

    /// Runs statements whose results the caller does not need, in order.
    pub async fn execute_all(&mut self, statements: &[SqlBuilder]) -> Result<()> {
        for statement in statements {
            self.execute(statement.build()).await?;
        }
        Ok(())
    }

    /// Writes the audit rows and events of the operation, then commits. The audit rows take
    /// their places in the chain here, at the very end: the chain head is locked for the few
    /// statements of the append rather than for the whole operation, which keeps concurrent
    /// writers on PostgreSQL from queueing behind each other's business logic.
    pub async fn commit(mut self) -> Result<()> {
        let mut writes = self.event_inserts();
        writes.extend(self.chain_audit().await?);
        self.execute_all(&writes).await?;
        self.inner.commit().await?;
        if let Some(checkpoint) = self.checkpoint {
            checkpoint.notify_one();
        }
        Ok(())
    }

    /// Records an audit row of this operation; it joins the hash chain when the transaction
    /// commits, in the order recorded.
    pub async fn audit(
        &mut self,
        action: &str,
        resource: &str,
        resource_id: Option<&str>,
        changes: &Value,
    ) -> Result<()> {
        self.audit.push(PendingAudit {
            company_id: self.actor.company_id,
            actor_id: self.actor.user_id,
            actor: self.actor.login.clone(),
            action: action.to_string(),
            resource: resource.to_string(),
            resource_id: resource_id.map(str::to_string),
            changes: changes.to_string(),
        });
        Ok(())
    }

    /// Takes the places of the pending audit rows in the chain and returns the statements that
    /// write them and move the chain's head.
    async fn chain_audit(&mut self) -> Result<Vec<SqlBuilder>> {
        if self.audit.is_empty() {
            return Ok(Vec::new());
        }
        let pending = std::mem::take(&mut self.audit);
        // Reserving the sequence numbers locks the head row until commit, so appends are linear.
        let head = self
            .fetch_one(
                sqlx::query(
                    "UPDATE audit_chain_head SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq, last_hash",
                )
                .bind(pending.len() as i64),
            )
            .await?;
        let last_seq: i64 = head.try_get("last_seq")?;
        let mut prev_hash: String = head.try_get("last_hash")?;
        let first_seq = last_seq - pending.len() as i64 + 1;
        let mut rows = Vec::with_capacity(pending.len());
        for (i, p) in pending.into_iter().enumerate() {
            let record = AuditRecord {
                seq: first_seq + i as i64,
                at: self.now.clone(),
                company_id: p.company_id,
                actor_id: p.actor_id,
                actor: p.actor,
                action: p.action,
                resource: p.resource,
                resource_id: p.resource_id,
                changes: p.changes,
                prev_hash: prev_hash.clone(),
            };
            let hash = chain_hash(&record);
            prev_hash = hash.clone();
            rows.push((record, hash));
        }
        let mut writes = Vec::new();
        for chunk in rows.chunks(CHUNK) {
            let mut q = SqlBuilder::new(
                "INSERT INTO audit_log (seq, at, company_id, actor_id, actor, action, resource, resource_id, changes, prev_hash, hash) VALUES ",
            );
            for (i, (r, hash)) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" });
                q.bind(r.seq).push(", ").bind(r.at.clone()).push(", ").bind(r.company_id).push(", ").bind(r.actor_id);
                q.push(", ")
                    .bind(r.actor.clone())
                    .push(", ")
                    .bind(r.action.clone())
                    .push(", ")
                    .bind(r.resource.clone());
                q.push(", ")
                    .bind(r.resource_id.clone())
                    .push(", ")
                    .bind(r.changes.clone())
                    .push(", ")
                    .bind(r.prev_hash.clone());
                q.push(", ").bind(hash.clone()).push(")");
            }
            writes.push(q);
        }
        writes.push(SqlBuilder::with_values(
            "UPDATE audit_chain_head SET last_hash = $1 WHERE id = 1",
            vec![prev_hash.into()],
        ));
        Ok(writes)
    }

    /// Records an event of this operation; it is written to the outbox when the transaction
    /// commits, and the dispatcher delivers it after that.
    pub async fn emit(&mut self, aggregate: &str, aggregate_id: &str, event_type: &str, payload: &Value) -> Result<()> {
        self.events.push(PendingEvent {
            company_id: self.actor.company_id,
            aggregate: aggregate.to_string(),
            aggregate_id: aggregate_id.to_string(),
            event_type: event_type.to_string(),
            payload: payload.to_string(),
        });
        Ok(())
    }

    /// The statements that write the pending events to the outbox.
    fn event_inserts(&mut self) -> Vec<SqlBuilder> {
        let pending = std::mem::take(&mut self.events);
        let mut writes = Vec::new();
        for chunk in pending.chunks(CHUNK) {
            let mut q = SqlBuilder::new(
                "INSERT INTO outbox (company_id, aggregate, aggregate_id, event_type, payload, created_at) VALUES ",
            );
            for (i, e) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" });
                q.bind(e.company_id).push(", ").bind(e.aggregate.clone()).push(", ").bind(e.aggregate_id.clone());
                q.push(", ")
                    .bind(e.event_type.clone())
                    .push(", ")
                    .bind(e.payload.clone())
                    .push(", ")
                    .bind(self.now.clone())
                    .push(")");
            }
            writes.push(q);
        }
        writes
    }

    /// The next number of a gapless sequence per (company, code, year), formatted with a
    /// pattern such as `PTY/{year}/{seq:06}`. The number is taken inside this transaction:
    /// if the transaction fails, the number is not used up, and a concurrent transaction
    /// waits on the sequence row rather than taking the same number. One statement: the
    /// first number creates the row, later ones increment it.
    pub async fn next_number(&mut self, company_id: i64, code: &str, year: i32, pattern: &str) -> Result<String> {
        let mut numbers = self.next_numbers(company_id, &[Sequence { code, year, pattern }]).await?;
        numbers.pop().ok_or_else(|| DomainError::Internal(format!("no number taken of {code}")).into())
    }

    /// The next numbers of several sequences (of different codes) in one statement, in the
    /// order asked: a document that needs its own number and its voucher's takes both in one
    /// call.
    pub async fn next_numbers(&mut self, company_id: i64, wanted: &[Sequence<'_>]) -> Result<Vec<String>> {
        let mut q = SqlBuilder::new("INSERT INTO sequences (company_id, code, year, next_value) VALUES ");
        for (i, s) in wanted.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(company_id).push(", ").bind(s.code.to_string()).push(", ").bind(i64::from(s.year)).push(", 2)");
        }
        q.push(
            " ON CONFLICT (company_id, code, year) DO UPDATE SET next_value = sequences.next_value + 1 \
             RETURNING code, year, next_value - 1 AS taken",
        );
        // RETURNING gives the rows in no promised order: they are matched to the sequences asked.
        let mut taken = std::collections::BTreeMap::new();
        for row in self.fetch_all(q.build()).await? {
            taken.insert(
                (row.try_get::<String, _>("code")?, row.try_get::<i64, _>("year")?),
                row.try_get::<i64, _>("taken")?,
            );
        }
        wanted
            .iter()
            .map(|s| {
                let seq = taken
                    .get(&(s.code.to_string(), i64::from(s.year)))
                    .ok_or_else(|| DomainError::Internal(format!("no number taken of {}", s.code)))?;
                Ok(format_sequence(s.pattern, s.year, *seq)?)
            })
            .collect()
    }
}

/// A gapless sequence per (company, code, year), and how its numbers read (`PTY/{year}/{seq:06}`).
#[derive(Debug, Clone, Copy)]
pub struct Sequence<'a> {
    pub code: &'a str,
    pub year: i32,
    pub pattern: &'a str,
}

/// Fills `{year}` and `{seq}` / `{seq:0N}` in a sequence pattern.
pub fn format_sequence(pattern: &str, year: i32, seq: i64) -> std::result::Result<String, DomainError> {
    let mut out = pattern.replace("{year}", &year.to_string());
    if let Some(start) = out.find("{seq") {
        let end = out[start..]
            .find('}')
            .map(|e| start + e)
            .ok_or_else(|| DomainError::invalid("pattern", "error.sequence.pattern", pattern))?;
        let spec = &out[start + 4..end];
        let width: usize = match spec.strip_prefix(":0") {
            Some(w) => w.parse().map_err(|_| DomainError::invalid("pattern", "error.sequence.pattern", pattern))?,
            None if spec.is_empty() => 0,
            None => return Err(DomainError::invalid("pattern", "error.sequence.pattern", pattern)),
        };
        out.replace_range(start..=end, &format!("{seq:0width$}"));
        Ok(out)
    } else {
        Err(DomainError::invalid("pattern", "error.sequence.pattern", pattern))
    }
}

#[cfg(test)]
mod tests {
    use super::format_sequence;

    #[test]
    fn patterns_fill_year_and_padded_number() {
        assert_eq!(format_sequence("PTY/{year}/{seq:06}", 2026, 42).unwrap(), "PTY/2026/000042");
        assert_eq!(format_sequence("记-{seq}", 2026, 7).unwrap(), "记-7");
        assert!(format_sequence("PTY/{year}", 2026, 1).is_err());
    }
}

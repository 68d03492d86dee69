//! The transaction helper. A [`Tx`] carries who is acting and the instant the operation
//! happens, and offers what every business operation needs besides its own rows: an audit
//! row, an event in the outbox, and the next gapless number of a sequence.

use crate::dialect::Dialect;
use crate::Result;
use kernel::audit::{chain_hash, AuditRecord};
use kernel::DomainError;
use serde_json::Value;
use sqlx::AnyConnection;
use sqlx::{Any, Row, Transaction};

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

/// A write transaction with its actor. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: Transaction<'static, Any>,
    actor: Actor,
    now: String,
    dialect: Dialect,
}

impl Tx {
    pub(crate) fn new(inner: Transaction<'static, Any>, actor: Actor, now: String, dialect: Dialect) -> Self {
        Self { inner, actor, now, dialect }
    }

    /// The connection, for the operation's own queries.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.inner
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
        self.dialect
    }

    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        Ok(())
    }

    /// Appends an audit row to the chain. The chain head row is locked by the update, so
    /// concurrent transactions append one after the other and the chain stays linear.
    pub async fn audit(
        &mut self,
        action: &str,
        resource: &str,
        resource_id: Option<&str>,
        changes: &Value,
    ) -> Result<()> {
        let head = sqlx::query(
            "UPDATE audit_chain_head SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq, last_hash",
        )
        .fetch_one(&mut *self.inner)
        .await?;
        let record = AuditRecord {
            seq: head.try_get("last_seq")?,
            at: self.now.clone(),
            company_id: self.actor.company_id,
            actor_id: self.actor.user_id,
            actor: self.actor.login.clone(),
            action: action.to_string(),
            resource: resource.to_string(),
            resource_id: resource_id.map(str::to_string),
            changes: changes.to_string(),
            prev_hash: head.try_get("last_hash")?,
        };
        let hash = chain_hash(&record);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, company_id, actor_id, actor, action, resource, resource_id, changes, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(record.seq)
        .bind(&record.at)
        .bind(record.company_id)
        .bind(record.actor_id)
        .bind(&record.actor)
        .bind(&record.action)
        .bind(&record.resource)
        .bind(&record.resource_id)
        .bind(&record.changes)
        .bind(&record.prev_hash)
        .bind(&hash)
        .execute(&mut *self.inner)
        .await?;
        sqlx::query("UPDATE audit_chain_head SET last_hash = $1 WHERE id = 1")
            .bind(&hash)
            .execute(&mut *self.inner)
            .await?;
        Ok(())
    }

    /// Writes an event to the outbox; the dispatcher delivers it after this transaction commits.
    pub async fn emit(
        &mut self,
        aggregate: &str,
        aggregate_id: &str,
        event_type: &str,
        payload: &Value,
    ) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO outbox (company_id, aggregate, aggregate_id, event_type, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(self.actor.company_id)
        .bind(aggregate)
        .bind(aggregate_id)
        .bind(event_type)
        .bind(payload.to_string())
        .bind(&self.now)
        .fetch_one(&mut *self.inner)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// The next number of a gapless sequence per (company, code, year), formatted with a
    /// pattern such as `PTY/{year}/{seq:06}`. The number is taken inside this transaction:
    /// if the transaction fails, the number is not used up, and a concurrent transaction
    /// waits on the sequence row rather than taking the same number.
    pub async fn next_number(&mut self, company_id: i64, code: &str, year: i32, pattern: &str) -> Result<String> {
        sqlx::query(
            "INSERT INTO sequences (company_id, code, year, next_value) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (company_id, code, year) DO NOTHING",
        )
        .bind(company_id)
        .bind(code)
        .bind(i64::from(year))
        .execute(&mut *self.inner)
        .await?;
        let row = sqlx::query(
            "UPDATE sequences SET next_value = next_value + 1 WHERE company_id = $1 AND code = $2 AND year = $3 \
             RETURNING next_value - 1 AS taken",
        )
        .bind(company_id)
        .bind(code)
        .bind(i64::from(year))
        .fetch_one(&mut *self.inner)
        .await?;
        let taken: i64 = row.try_get("taken")?;
        format_sequence(pattern, year, taken).map_err(Into::into)
    }
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

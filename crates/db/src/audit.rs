//! Reading and verifying the audit chain.

use crate::pool::Db;
use crate::query::SqlBuilder;
use crate::Result;
use kernel::audit::{chain_hash, AuditRecord, GENESIS_HASH};
use sqlx::any::AnyRow;
use sqlx::Row;

/// What `audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every row links to the one before and hashes to what it stores.
    Intact { rows: i64, last_hash: String },
    /// The first row where the chain breaks, and how.
    Broken { seq: i64, reason: String },
}

/// A stored audit row with its hash.
#[derive(Debug, Clone)]
pub struct StoredAudit {
    pub record: AuditRecord,
    pub hash: String,
}

pub(crate) fn from_row(row: &AnyRow) -> std::result::Result<StoredAudit, sqlx::Error> {
    Ok(StoredAudit {
        record: AuditRecord {
            seq: row.try_get("seq")?,
            at: row.try_get("at")?,
            company_id: row.try_get("company_id")?,
            actor_id: row.try_get("actor_id")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            resource: row.try_get("resource")?,
            resource_id: row.try_get("resource_id")?,
            changes: row.try_get("changes")?,
            prev_hash: row.try_get("prev_hash")?,
        },
        hash: row.try_get("hash")?,
    })
}

const COLUMNS: &str = "seq, at, company_id, actor_id, actor, action, resource, resource_id, changes, prev_hash, hash";

/// Recomputes the whole chain in batches. An edited row fails its own hash; a deleted row
/// leaves a gap in `seq`; an inserted row breaks the link of the row after it; a deleted
/// tail no longer matches the chain head.
pub async fn verify(db: &Db) -> Result<Verdict> {
    // One snapshot for the whole check: the head first, then the rows up to it, so rows a
    // running server appends meanwhile are neither seen nor mistaken for tampering.
    let mut tx = db.reader().begin().await?;
    if db.dialect() == crate::Dialect::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY").execute(&mut *tx).await?;
    }
    let head = sqlx::query("SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1").fetch_one(&mut *tx).await?;
    let head_seq: i64 = head.try_get("last_seq")?;
    let head_hash: String = head.try_get("last_hash")?;
    let mut expected_seq = 1i64;
    let mut prev_hash = GENESIS_HASH.to_string();
    loop {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 5000"))
            .bind(expected_seq)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let stored = from_row(row)?;
            let seq = stored.record.seq;
            if seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!("row {expected_seq} is missing (next row is {seq})"),
                });
            }
            if stored.record.prev_hash != prev_hash {
                return Ok(Verdict::Broken { seq, reason: "does not link to the row before it".into() });
            }
            if chain_hash(&stored.record) != stored.hash {
                return Ok(Verdict::Broken {
                    seq,
                    reason: "its contents do not match its hash (the row was edited)".into(),
                });
            }
            prev_hash = stored.hash;
            expected_seq += 1;
        }
    }
    tx.commit().await?;
    let rows = expected_seq - 1;
    if head_seq != rows || head_hash != prev_hash {
        return Ok(Verdict::Broken {
            seq: rows.min(head_seq) + 1,
            reason: format!("the chain ends at row {rows} but its head records row {head_seq} (rows were removed or added at the end)"),
        });
    }
    Ok(Verdict::Intact { rows, last_hash: prev_hash })
}

/// Filters for reading the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub company_id: Option<i64>,
    /// Also rows with no company (command-line and system actions), for administrators.
    pub include_system: bool,
    pub actor_id: Option<i64>,
    pub resource: Option<String>,
    pub resource_id: Option<String>,
    /// Inclusive lower bound, a date `YYYY-MM-DD` or an instant.
    pub from: Option<String>,
    /// Exclusive upper bound.
    pub until: Option<String>,
    /// Keyset cursor: only rows older than this sequence number.
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// Audit rows matching a filter, newest first.
pub async fn list(db: &Db, filter: &AuditFilter) -> Result<Vec<StoredAudit>> {
    let mut q = SqlBuilder::new(format!("SELECT {COLUMNS} FROM audit_log WHERE 1 = 1"));
    if let Some(company) = filter.company_id {
        q.push(" AND (company_id = ").bind(company);
        q.push(if filter.include_system { " OR company_id IS NULL)" } else { ")" });
    }
    if let Some(actor) = filter.actor_id {
        q.push(" AND actor_id = ").bind(actor);
    }
    if let Some(resource) = &filter.resource {
        q.push(" AND resource = ").bind(resource.clone());
    }
    if let Some(id) = &filter.resource_id {
        q.push(" AND resource_id = ").bind(id.clone());
    }
    if let Some(from) = &filter.from {
        q.push(" AND at >= ").bind(from.clone());
    }
    if let Some(until) = &filter.until {
        q.push(" AND at < ").bind(until.clone());
    }
    if let Some(seq) = filter.before_seq {
        q.push(" AND seq < ").bind(seq);
    }
    q.push(&format!(" ORDER BY seq DESC LIMIT {}", filter.limit.clamp(1, 1000)));
    let rows = q.build().fetch_all(db.reader()).await?;
    rows.iter().map(|r| from_row(r).map_err(Into::into)).collect()
}

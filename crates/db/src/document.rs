//! Documents with a status (purchase and sales orders, later contracts and work orders): the
//! row lock every operation on one document takes first, and audited status changes. The
//! table and resource names are the calling module's constants, never input.

use crate::{Result, RowExt, Tx};
use kernel::permission::{Principal, RecordOwner, RowFilter};
use kernel::DomainError;
use serde::Serialize;
use serde_json::json;

/// A table of documents with `company_id`, `number`, `status`, `order_date`, `total` and
/// `version` columns and a party column.
pub struct Documents {
    pub table: &'static str,
    /// The column naming the document's party (`supplier_id`, `customer_id`).
    pub party_column: &'static str,
    /// The audit log's resource name, e.g. `purchase.order`.
    pub resource: &'static str,
    /// What a missing one is called in the 404.
    pub noun: &'static str,
    /// The column naming the user who owns a document for record rules (`created_by`): a
    /// salesperson with an own-records scope sees and works the orders they wrote.
    pub owner_column: &'static str,
}

impl Documents {
    /// Locks a document's row until the transaction ends (a no-op update), so two operations on
    /// one document (two receipts, two deliveries) run one after the other and the second sees
    /// what the first did. A document of another company is not found.
    pub async fn lock(&self, tx: &mut Tx, company: i64, id: i64) -> Result<()> {
        let sql = format!("UPDATE {} SET version = version WHERE company_id = $1 AND id = $2", self.table);
        let locked = sqlx::query(&sql).bind(company).bind(id).execute(tx.conn()).await?.rows_affected();
        if locked != 1 {
            return Err(DomainError::NotFound(self.noun).into());
        }
        Ok(())
    }

    /// Whether `permission` reaches this document under the principal's record rules. One out
    /// of reach is not found, so its existence is not revealed.
    pub async fn reach(&self, conn: &mut crate::Conn, principal: &Principal, permission: &str, id: i64) -> Result<()> {
        let sql = format!(
            "SELECT d.{owner} AS owner_id, u.team, u.department FROM {table} d LEFT JOIN users u ON u.id = d.{owner} \
             WHERE d.company_id = $1 AND d.id = $2",
            owner = self.owner_column,
            table = self.table
        );
        let row = sqlx::query(&sql)
            .bind(principal.company_id.0)
            .bind(id)
            .fetch_optional(conn)
            .await?
            .ok_or(DomainError::NotFound(self.noun))?;
        let owner = RecordOwner {
            company_id: principal.company_id,
            user_id: row.try_get::<Option<i64>, _>("owner_id")?.map(kernel::ids::UserId),
            team: row.try_get("team")?,
            department: row.try_get("department")?,
        };
        principal.reaches(permission, &owner).map_err(|_| DomainError::NotFound(self.noun).into())
    }

    /// Moves a locked document from status `from` to `to`, with its audit row.
    pub async fn set_status(&self, tx: &mut Tx, id: i64, from: &str, to: &str) -> Result<()> {
        if from == to {
            return Ok(());
        }
        let sql = format!("UPDATE {} SET status = $1, version = version + 1 WHERE id = $2", self.table);
        sqlx::query(&sql).bind(to).bind(id).execute(tx.conn()).await?;
        tx.audit("state", self.resource, Some(&id.to_string()), &json!({"status": [from, to]})).await
    }
}

/// A line of a list of documents.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: i64,
    pub number: String,
    pub party_name: String,
    pub date: String,
    pub status: String,
    /// In fen.
    pub total: i64,
}

impl Documents {
    /// The latest 500 documents the record rule reaches, or those in one status, newest first.
    pub async fn list(&self, conn: &mut crate::Conn, filter: &RowFilter, status: Option<&str>) -> Result<Vec<Summary>> {
        let mut q = crate::SqlBuilder::new(format!(
            "SELECT d.id, d.number, p.name, d.order_date, d.status, d.total FROM {} d JOIN parties p ON p.id = d.{} WHERE 1 = 1",
            self.table, self.party_column
        ));
        crate::rules::push_filter(&mut q, filter, "d.company_id", &format!("d.{}", self.owner_column));
        if let Some(status) = status {
            q.push(" AND d.status = ").bind(status.to_string());
        }
        q.push(" ORDER BY d.id DESC LIMIT 500");
        q.build()
            .fetch_all(conn)
            .await?
            .iter()
            .map(|r| {
                Ok(Summary {
                    id: r.try_get("id")?,
                    number: r.try_get("number")?,
                    party_name: r.try_get("name")?,
                    date: r.try_get("order_date")?,
                    status: r.try_get("status")?,
                    total: r.try_get("total")?,
                })
            })
            .collect()
    }
}

/// The refusal of an operation the document's status does not allow.
pub fn wrong_status(status: &str) -> crate::Error {
    DomainError::invalid("status", "error.document.status", status).into()
}

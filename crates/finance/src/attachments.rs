//! Documents attached to a voucher (原始凭证): the receipts, e-invoices and contracts an
//! auditor asks to see behind an entry.
//!
//! Anyone who may enter vouchers may attach a document to one, draft or posted: attaching
//! changes no amount, and a printed voucher counts them (附单据 N 张). A posted voucher's
//! documents are never removed, as the voucher itself is never edited; a draft's may be.
//! Every attachment and removal is in the audit trail with the file's SHA-256, so a document
//! shown later can be proved to be the one attached.

use crate::permissions::{CREATE, READ};
use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// The largest document accepted: a scanned page or an e-invoice is far smaller.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// The kinds of document accepted, by extension, with the type they are served as. The
/// browser's claimed type is not trusted; the extension decides how the file is served back.
const KINDS: [(&str, &str); 7] = [
    ("pdf", "application/pdf"),
    ("ofd", "application/ofd"),
    ("xml", "application/xml"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
];

/// A document as uploaded.
pub struct NewAttachment<'a> {
    pub file_name: &'a str,
    pub bytes: &'a [u8],
}

/// An attached document, without its content.
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub id: i64,
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub sha256: String,
    pub created_at: String,
}

fn kind_of(file_name: &str) -> Option<&'static str> {
    let extension = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
    KINDS.iter().find(|(ext, _)| *ext == extension).map(|(_, kind)| *kind)
}

/// The voucher's status, or not found when it is not this company's. The voucher is taken for
/// this transaction, so a signature given at the same moment is given either before its
/// documents change (and taken away with them) or after, on the version they left.
async fn entry_status(tx: &mut Tx, company: i64, entry: i64) -> Result<String> {
    let sql = format!(
        "SELECT e.status FROM fin_entries e WHERE e.company_id = $1 AND e.id = $2{}",
        tx.dialect().update_lock_of("e")
    );
    let row =
        tx.fetch_optional(sqlx::query(&sql).bind(company).bind(entry)).await?.ok_or(DomainError::NotFound("entry"))?;
    Ok(row.try_get("status")?)
}

/// Attaches a document to a voucher. Refused: an empty or oversized file, a kind not
/// accepted, the same document twice on one voucher.
pub async fn attach(tx: &mut Tx, principal: &Principal, entry: i64, file: &NewAttachment<'_>) -> Result<i64> {
    principal.authorize(CREATE)?;
    let company = principal.company_id.0;
    entry_status(tx, company, entry).await?;
    let mut p = Problems::default();
    let name = file.file_name.trim().rsplit(['/', '\\']).next().unwrap_or("").to_string();
    let kind = kind_of(&name);
    if name.is_empty() || file.bytes.is_empty() {
        p.add("file", "error.finance.attachment_empty", "");
    } else if kind.is_none() {
        p.add("file", "error.finance.attachment_kind", &name);
    } else if file.bytes.len() > MAX_BYTES {
        p.add("file", "error.finance.attachment_size", (MAX_BYTES / 1024 / 1024).to_string());
    } else if name.chars().count() > 200 {
        p.add("file", "error.too_long", "200");
    }
    let sha256: String = Sha256::digest(file.bytes).iter().map(|b| format!("{b:02x}")).collect();
    let again = sqlx::query("SELECT file_name FROM fin_attachments WHERE entry_id = $1 AND sha256 = $2")
        .bind(entry)
        .bind(&sha256)
        .fetch_optional(tx.conn())
        .await?;
    if let Some(row) = again {
        p.add("file", "error.finance.attachment_again", row.try_get::<String, _>("file_name")?);
    }
    p.finish()?;
    let content = db::stored_file::to_column(file.bytes);
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let id: i64 = sqlx::query(
        "INSERT INTO fin_attachments (company_id, entry_id, file_name, file_type, file_size, sha256, content_base64, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(company)
    .bind(entry)
    .bind(&name)
    .bind(kind.unwrap_or_default())
    .bind(file.bytes.len() as i64)
    .bind(&sha256)
    .bind(content)
    .bind(now)
    .bind(user)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "finance.attachment",
        Some(&id.to_string()),
        &json!({"entry_id": [null, entry], "file_name": [null, name], "size": [null, file.bytes.len()], "sha256": [null, sha256]}),
    )
    .await?;
    crate::review::withdraw(tx, entry).await?;
    Ok(id)
}

/// A voucher's documents, oldest first.
pub async fn list(conn: &mut db::Conn, company: i64, entry: i64) -> Result<Vec<Attachment>> {
    let rows = sqlx::query(
        "SELECT id, file_name, file_type, file_size, sha256, created_at FROM fin_attachments \
         WHERE company_id = $1 AND entry_id = $2 ORDER BY id",
    )
    .bind(company)
    .bind(entry)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attachment {
                id: r.try_get("id")?,
                file_name: r.try_get("file_name")?,
                file_type: r.try_get("file_type")?,
                file_size: r.try_get("file_size")?,
                sha256: r.try_get("sha256")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// A document's name, type and bytes.
pub async fn content(
    conn: &mut db::Conn,
    principal: &Principal,
    entry: i64,
    id: i64,
) -> Result<(String, String, Vec<u8>)> {
    principal.authorize(READ)?;
    let row = sqlx::query(
        "SELECT file_name, file_type, content_base64 FROM fin_attachments WHERE company_id = $1 AND entry_id = $2 AND id = $3",
    )
    .bind(principal.company_id.0)
    .bind(entry)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("attachment"))?;
    let bytes = db::stored_file::from_column(&row.try_get::<String, _>("content_base64")?)?;
    Ok((row.try_get("file_name")?, row.try_get("file_type")?, bytes))
}

/// Removes a document from a draft voucher; a posted voucher keeps its documents.
pub async fn remove(tx: &mut Tx, principal: &Principal, entry: i64, id: i64) -> Result<()> {
    principal.authorize(CREATE)?;
    let company = principal.company_id.0;
    let status = entry_status(tx, company, entry).await?;
    if status != "draft" {
        return Err(DomainError::Conflict("a posted voucher keeps its documents".into()).into());
    }
    let row = sqlx::query(
        "SELECT file_name, sha256 FROM fin_attachments WHERE company_id = $1 AND entry_id = $2 AND id = $3",
    )
    .bind(company)
    .bind(entry)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(DomainError::NotFound("attachment"))?;
    sqlx::query("DELETE FROM fin_attachments WHERE id = $1").bind(id).execute(tx.conn()).await?;
    tx.audit(
        "delete",
        "finance.attachment",
        Some(&id.to_string()),
        &json!({"entry_id": [entry, null], "file_name": [row.try_get::<String, _>("file_name")?, null], "sha256": [row.try_get::<String, _>("sha256")?, null]}),
    )
    .await?;
    crate::review::withdraw(tx, entry).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_decides_the_kind() {
        assert_eq!(kind_of("发票-2026-03.PDF"), Some("application/pdf"));
        assert_eq!(kind_of("电子发票.ofd"), Some("application/ofd"));
        assert_eq!(kind_of("receipt.jpeg"), Some("image/jpeg"));
        assert_eq!(kind_of("macro.xlsm"), None);
        assert_eq!(kind_of("no-extension"), None);
    }
}

//! Voucher review (凭证审核): where a company asks for it, a voucher entered by hand is checked
//! by a second person before it is posted, as 会计基础工作规范 has the preparer (制单), the
//! reviewer (审核) and the bookkeeper (记账) sign it.
//!
//! The rule is a setting of the books, off until the company turns it on. While it is on:
//! - a hand-entered draft is posted only once reviewed, so "save and post" at once is refused;
//! - the reviewer needs the grant [`REVIEW`] and is neither the voucher's preparer nor the
//!   last person who changed it, and reviews the version they read (the page sends it);
//! - changing a reviewed draft, or its attached documents, takes its review away, as what
//!   was reviewed is gone;
//! - the rule is turned on or off only by someone who may both manage the books and review,
//!   so the people it checks cannot turn it off;
//! - a line of a bank statement is booked straight into the ledger only by a reviewer;
//! - a review can be cancelled (取消审核) by anyone with the grant while the draft is unposted;
//! - a voucher made by hand and posted at once (`service::post`) is refused, as "save and
//!   post" is;
//! - the red-ink reversal of a voucher made by hand (entered, or booked from a bank line) waits
//!   as a draft for its own review and posting, as 用友 reviews 冲销凭证 like any other.
//!
//! Every review and cancellation is audited. Vouchers that documents post (invoices, receipts,
//! the month-end steps, other modules' postings through `service::post_document_entry`) are
//! checked through their documents' own rules and are not reviewed here.

use crate::permissions::REVIEW;
use db::{Result, Tx};
use kernel::permission::Principal;
use kernel::DomainError;
use serde_json::json;
use sqlx::Row;

/// The kinds of draft review checks: a voucher entered by hand, and a red-ink reversal, which
/// is a draft only while the rule is on.
pub const REVIEWED_KINDS: [&str; 2] = ["manual", "reversal"];

/// The kinds of posted voucher a person made by hand, whose reversal waits for a review
/// while the rule is on: entered through the ledger's form or API, or booked from a line of a
/// bank statement. The month-end steps' vouchers are undone and run again at once.
pub const HAND_MADE_KINDS: [&str; 2] = ["manual", "bank"];

/// Whether the company's hand-entered vouchers must be reviewed before they are posted.
pub async fn required(conn: &mut db::Conn, company: i64) -> Result<bool> {
    let row = sqlx::query("SELECT review_vouchers FROM fin_books WHERE company_id = $1")
        .bind(company)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64, _>("review_vouchers")? != 0,
        None => false,
    })
}

/// Turns the review rule on or off for the vouchers posted from now on; only someone who may
/// both manage the books and review may. Audited.
pub async fn set_required(tx: &mut Tx, principal: &Principal, on: bool) -> Result<()> {
    principal.authorize(crate::permissions::ACCOUNTS)?;
    principal.authorize(REVIEW)?;
    let company = principal.company_id.0;
    let before = required(tx.conn(), company).await?;
    if before == on {
        return Ok(());
    }
    let changes = json!({"review_vouchers": [before, on]});
    crate::chart::update_books(
        tx,
        company,
        "review_vouchers = $1",
        vec![i64::from(on).into()],
        "review_vouchers",
        changes,
    )
    .await
}

/// A hand-entered draft as review reads it, taken for this transaction.
struct Draft {
    prepared_by: Option<i64>,
    changed_by: Option<i64>,
    reviewed_by: Option<i64>,
    version: i64,
}

async fn take_draft(tx: &mut Tx, company: i64, id: i64) -> Result<Draft> {
    let sql = format!(
        "SELECT e.status, e.kind, e.created_by, e.changed_by, e.reviewed_by, e.version FROM fin_entries e \
         WHERE e.company_id = $1 AND e.id = $2{}",
        tx.dialect().update_lock_of("e")
    );
    let row =
        tx.fetch_optional(sqlx::query(&sql).bind(company).bind(id)).await?.ok_or(DomainError::NotFound("entry"))?;
    let kind: String = row.try_get("kind")?;
    if row.try_get::<String, _>("status")? != "draft" || !REVIEWED_KINDS.contains(&kind.as_str()) {
        return Err(DomainError::invalid("review", "error.finance.review_posted", "").into());
    }
    Ok(Draft {
        prepared_by: row.try_get("created_by")?,
        changed_by: row.try_get("changed_by")?,
        reviewed_by: row.try_get("reviewed_by")?,
        version: row.try_get("version")?,
    })
}

/// Reviews a hand-entered draft (审核): the reviewer signs it, and it may be posted. Neither
/// its preparer nor whoever changed it last may review it, and a reviewed draft is not
/// reviewed again. `version` is the draft's version the reviewer read, when known: a draft
/// changed since is refused, so nobody signs what they did not see.
pub async fn review(tx: &mut Tx, principal: &Principal, id: i64, version: Option<i64>) -> Result<()> {
    principal.authorize(REVIEW)?;
    let company = principal.company_id.0;
    let draft = take_draft(tx, company, id).await?;
    let me = principal.user_id.0;
    if let Some(read) = version.filter(|v| *v != draft.version) {
        return Err(DomainError::StaleVersion { resource: "entry", expected: read, actual: draft.version }.into());
    }
    if draft.prepared_by == Some(me) || draft.changed_by == Some(me) {
        return Err(DomainError::invalid("review", "error.finance.review_own", "").into());
    }
    if draft.reviewed_by.is_some() {
        return Err(DomainError::invalid("review", "error.finance.review_twice", "").into());
    }
    let now = tx.now().to_string();
    tx.execute(
        sqlx::query("UPDATE fin_entries SET reviewed_by = $1, reviewed_at = $2, version = version + 1 WHERE id = $3")
            .bind(me)
            .bind(&now)
            .bind(id),
    )
    .await?;
    tx.audit("state", "finance.entry", Some(&id.to_string()), &json!({"reviewed_by": [null, me]})).await?;
    Ok(())
}

/// Cancels the review of a draft not posted yet (取消审核), so it can be changed and reviewed
/// again.
pub async fn cancel(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(REVIEW)?;
    let company = principal.company_id.0;
    let Some(reviewer) = take_draft(tx, company, id).await?.reviewed_by else {
        return Err(DomainError::invalid("review", "error.finance.review_none", "").into());
    };
    clear(tx, id, reviewer).await
}

/// Takes away the review of a draft whose attached documents changed (what was reviewed is
/// gone). Nothing happens to a draft not reviewed, or a posted voucher.
pub(crate) async fn withdraw(tx: &mut Tx, id: i64) -> Result<()> {
    let row = tx
        .fetch_optional(
            sqlx::query(
                "SELECT reviewed_by FROM fin_entries WHERE id = $1 AND status = 'draft' AND reviewed_by IS NOT NULL",
            )
            .bind(id),
        )
        .await?;
    let Some(row) = row else { return Ok(()) };
    clear(tx, id, row.try_get("reviewed_by")?).await
}

/// Takes `reviewer`'s review off a draft, audited.
async fn clear(tx: &mut Tx, id: i64, reviewer: i64) -> Result<()> {
    tx.execute(
        sqlx::query(
            "UPDATE fin_entries SET reviewed_by = NULL, reviewed_at = NULL, version = version + 1 WHERE id = $1",
        )
        .bind(id),
    )
    .await?;
    tx.audit("state", "finance.entry", Some(&id.to_string()), &json!({"reviewed_by": [reviewer, null]})).await?;
    Ok(())
}

/// Whether the reversal of a posted voucher of `kind` waits as a draft for its own review.
pub(crate) async fn reversal_waits(tx: &mut Tx, company: i64, kind: &str) -> Result<bool> {
    Ok(HAND_MADE_KINDS.contains(&kind) && required(tx.conn(), company).await?)
}

/// Refuses to book a statement line straight into the ledger for someone who may not review
/// while the rule is on: booking makes a voucher by hand, posted at once.
pub(crate) async fn require_reviewer_to_book(tx: &mut Tx, principal: &Principal) -> Result<()> {
    if required(tx.conn(), principal.company_id.0).await? && !principal.may(REVIEW) {
        return Err(DomainError::invalid("account", "error.finance.book_needs_review", "").into());
    }
    Ok(())
}

/// Refuses to post a hand-entered draft that the company's rule wants reviewed and nobody
/// reviewed. The draft is taken for this transaction, so a review cancelled at the same
/// moment is either before the posting or finds it posted.
pub(crate) async fn require_reviewed(tx: &mut Tx, company: i64, id: i64) -> Result<()> {
    if !required(tx.conn(), company).await? {
        return Ok(());
    }
    let sql = format!(
        "SELECT e.status, e.kind, e.reviewed_by FROM fin_entries e WHERE e.company_id = $1 AND e.id = $2{}",
        tx.dialect().update_lock_of("e")
    );
    // A voucher that is not a hand-entered draft is refused, or let through, by the posting.
    let Some(row) = tx.fetch_optional(sqlx::query(&sql).bind(company).bind(id)).await? else { return Ok(()) };
    let unreviewed = row.try_get::<String, _>("status")? == "draft"
        && REVIEWED_KINDS.contains(&row.try_get::<String, _>("kind")?.as_str())
        && row.try_get::<Option<i64>, _>("reviewed_by")?.is_none();
    if unreviewed {
        return Err(DomainError::invalid("post", "error.finance.needs_review", "").into());
    }
    Ok(())
}

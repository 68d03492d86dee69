//! The signatures a voucher made by hand collects before it is posted, where a company asks
//! for them, as 会计基础工作规范 has the preparer (制单), the reviewer (审核), the cashier (出纳)
//! and the bookkeeper (记账) sign it:
//! - voucher review (凭证审核): a second person checks every hand-made voucher;
//! - the cashier's signature (出纳签字): the cashier confirms that a voucher moving cash (a line
//!   on 库存现金, 银行存款 or 其他货币资金) says what the money did, as 用友's "出纳凭证必须经由
//!   出纳签字" has it.
//!
//! Each is a rule of the books ([`Signature`]), off until the company turns it on. While one is on:
//! - a hand-made draft it applies to is posted only once signed, so "save and post" at once is
//!   refused, and so is a hand voucher made and posted in one step by code (`service::post`);
//! - the signer needs the signature's grant ([`REVIEW`], [`SIGN_CASH`]) and signs the version
//!   they read (the page sends it); a reviewer is neither the voucher's preparer nor the last
//!   person who changed it, while a cashier may sign what they entered, as in 用友;
//! - changing a signed draft, or its attached documents, takes its signatures away, as what
//!   was signed is gone;
//! - a rule is turned on or off only by the books' supervisor, someone who may both manage the
//!   books and review (the chief accountant), so the accountants and cashiers it checks cannot
//!   turn it off; the change is audited;
//! - a line of a bank statement is booked straight into the ledger, and taxes are paid from
//!   the bank, only by someone who may give the signatures the rules ask for, the cashier's
//!   then given by the booking; anyone else booking a line gets a draft from it
//!   (`bank::Booked::Drafted`), to be signed and posted, then matched;
//! - a signature can be cancelled (取消审核, 取消签字) by anyone with its grant while the draft
//!   is unposted;
//! - the red-ink reversal of a voucher made by hand ([`HAND_MADE_KINDS`]) waits as a draft for
//!   its own signatures and posting, as 用友 treats 冲销凭证 like any other; until it is posted
//!   the reversed voucher shows it as pending and still counts as not reversed.
//!
//! Every signature and cancellation is audited. Vouchers that documents post (invoices,
//! receipts, the month-end steps, other modules' postings through
//! `service::post_document_entry`) are checked through their documents' own rules and are not
//! signed here.

pub use crate::permissions::{REVIEW, SIGN_CASH};
use db::{Result, Tx};
use kernel::permission::Principal;
use kernel::DomainError;
use serde_json::json;
use sqlx::Row;

/// The kinds of draft the signatures apply to: a voucher entered by hand, and a red-ink
/// reversal, which is a draft only while a rule is on.
pub const REVIEWED_KINDS: [&str; 2] = ["manual", "reversal"];

/// The kinds of posted voucher a person made by hand, whose reversal waits for its signatures
/// while a rule is on: entered through the ledger's form or API, booked from a line of a bank
/// statement, or a tax payment. The month-end steps' vouchers are undone and run again at once.
pub const HAND_MADE_KINDS: [&str; 3] = ["manual", "bank", "tax_payment"];

/// A signature a hand-made draft may need before it is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// 审核: a second person checks any hand-made voucher.
    Review,
    /// 出纳签字: the cashier confirms a voucher that moves cash.
    Cashier,
}

impl Signature {
    /// The grant that gives it.
    pub fn grant(self) -> &'static str {
        match self {
            Signature::Review => REVIEW,
            Signature::Cashier => SIGN_CASH,
        }
    }

    /// The books' setting that asks for it, as the API and the settings form name it.
    pub fn setting(self) -> &'static str {
        match self {
            Signature::Review => "review_vouchers",
            Signature::Cashier => "cashier_signs",
        }
    }

    /// The voucher's columns of who signed and when.
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Signature::Review => ("reviewed_by", "reviewed_at"),
            Signature::Cashier => ("cashier_by", "cashier_at"),
        }
    }

    /// The field its refusals are shown beside.
    pub fn field(self) -> &'static str {
        match self {
            Signature::Review => "review",
            Signature::Cashier => "cashier",
        }
    }

    /// The message of a setting that is neither on nor off.
    pub fn setting_refusal(self) -> &'static str {
        match self {
            Signature::Review => "error.finance.review_setting",
            Signature::Cashier => "error.finance.cashier_setting",
        }
    }

    fn refusal(self, why: Refusal) -> db::Error {
        let key = match (self, why) {
            (Signature::Review, Refusal::NotADraft) => "error.finance.review_posted",
            (Signature::Review, Refusal::Twice) => "error.finance.review_twice",
            (Signature::Review, Refusal::Unsigned) => "error.finance.review_none",
            (Signature::Cashier, Refusal::NotADraft) => "error.finance.cashier_posted",
            (Signature::Cashier, Refusal::Twice) => "error.finance.cashier_twice",
            (Signature::Cashier, Refusal::Unsigned) => "error.finance.cashier_none",
        };
        DomainError::invalid(self.field(), key, "").into()
    }
}

/// Why a draft cannot be signed, or its signature cancelled, whichever signature it is.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// The voucher is posted, or not made by hand.
    NotADraft,
    Twice,
    /// Cancelling a signature not given.
    Unsigned,
}

/// Every signature, in the order the voucher's foot and the settings show them.
pub const SIGNATURES: [Signature; 2] = [Signature::Review, Signature::Cashier];

/// Which signatures the company's hand-made vouchers need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    pub review: bool,
    pub cashier: bool,
}

impl Rules {
    pub fn asks_for(self, signature: Signature) -> bool {
        match signature {
            Signature::Review => self.review,
            Signature::Cashier => self.cashier,
        }
    }

    /// Whether a voucher the ledger makes for `principal` from a statement line or a tax
    /// payment is posted at once: they may post, no review is asked for (a voucher is never
    /// reviewed by its own maker, so under review it waits for a second person like any
    /// other), and they may sign as cashier where that is asked for (the cashier may sign
    /// her own, as in 用友). Anyone else gets a draft.
    pub fn books_at_once(self, principal: &Principal) -> bool {
        principal.may(crate::permissions::POST) && !self.review && (!self.cashier || principal.may(SIGN_CASH))
    }

    /// Whether `principal` may book a statement line or pay taxes at all: at once, or as a
    /// draft, which needs the right to enter vouchers. The pages offer the buttons by it.
    pub fn may_book(self, principal: &Principal) -> bool {
        self.books_at_once(principal) || principal.may(crate::permissions::CREATE)
    }

    /// Whether any signature is asked for.
    pub fn any(self) -> bool {
        self.review || self.cashier
    }
}

/// The company's rules, read from its books (none before they are set up).
pub async fn rules(conn: &mut db::Conn, company: i64) -> Result<Rules> {
    let row = sqlx::query("SELECT review_vouchers, cashier_signs FROM fin_books WHERE company_id = $1")
        .bind(company)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => Rules {
            review: r.try_get::<i64, _>("review_vouchers")? != 0,
            cashier: r.try_get::<i64, _>("cashier_signs")? != 0,
        },
        None => Rules::default(),
    })
}

/// Turns a rule on or off for the vouchers posted from now on; only someone who may both
/// manage the books and review may. Audited.
pub async fn set_rule(tx: &mut Tx, principal: &Principal, signature: Signature, on: bool) -> Result<()> {
    principal.authorize(crate::permissions::ACCOUNTS)?;
    principal.authorize(REVIEW)?;
    let company = principal.company_id.0;
    let before = rules(tx.conn(), company).await?.asks_for(signature);
    if before == on {
        return Ok(());
    }
    let setting = signature.setting();
    crate::chart::update_books(
        tx,
        company,
        &format!("{setting} = $1"),
        vec![i64::from(on).into()],
        setting,
        json!({ setting: [before, on] }),
    )
    .await
}

/// A hand-made draft as the signers read it, taken for this transaction.
struct Draft {
    prepared_by: Option<i64>,
    changed_by: Option<i64>,
    reviewed_by: Option<i64>,
    cashier_by: Option<i64>,
    version: i64,
    moves_cash: bool,
}

impl Draft {
    fn signed_by(&self, signature: Signature) -> Option<i64> {
        match signature {
            Signature::Review => self.reviewed_by,
            Signature::Cashier => self.cashier_by,
        }
    }
}

/// The voucher `e` as signing reads it; `None` when it is not a hand-made draft.
async fn take_draft(tx: &mut Tx, company: i64, id: i64) -> Result<Option<Draft>> {
    let sql = format!(
        "SELECT e.status, e.kind, e.created_by, e.changed_by, e.reviewed_by, e.cashier_by, e.version, \
         EXISTS (SELECT 1 FROM fin_entry_lines l JOIN fin_accounts a ON a.id = l.account_id \
           WHERE l.entry_id = e.id AND {}) AS moves_cash \
         FROM fin_entries e WHERE e.company_id = $1 AND e.id = $2{}",
        crate::chart::cash_condition("a.code"),
        tx.dialect().update_lock_of("e")
    );
    let row =
        tx.fetch_optional(sqlx::query(&sql).bind(company).bind(id)).await?.ok_or(DomainError::NotFound("entry"))?;
    let kind: String = row.try_get("kind")?;
    if row.try_get::<String, _>("status")? != "draft" || !REVIEWED_KINDS.contains(&kind.as_str()) {
        return Ok(None);
    }
    Ok(Some(Draft {
        prepared_by: row.try_get("created_by")?,
        changed_by: row.try_get("changed_by")?,
        reviewed_by: row.try_get("reviewed_by")?,
        cashier_by: row.try_get("cashier_by")?,
        version: row.try_get("version")?,
        moves_cash: db::flag(&row, "moves_cash")?,
    }))
}

/// Signs a hand-made draft: reviews it (审核), or signs it for the cashier (出纳签字). A draft
/// is signed once for each; a reviewer is neither its preparer nor whoever changed it last;
/// the cashier signs only a voucher that moves cash. `version` is the draft's version the
/// signer read, when known: a draft changed since is refused, so nobody signs what they did
/// not see.
pub async fn sign(
    tx: &mut Tx,
    principal: &Principal,
    signature: Signature,
    id: i64,
    version: Option<i64>,
) -> Result<()> {
    principal.authorize(signature.grant())?;
    let draft =
        take_draft(tx, principal.company_id.0, id).await?.ok_or_else(|| signature.refusal(Refusal::NotADraft))?;
    let me = principal.user_id.0;
    if let Some(read) = version.filter(|v| *v != draft.version) {
        return Err(DomainError::StaleVersion { resource: "entry", expected: read, actual: draft.version }.into());
    }
    match signature {
        Signature::Review if draft.prepared_by == Some(me) || draft.changed_by == Some(me) => {
            return Err(DomainError::invalid("review", "error.finance.review_own", "").into());
        }
        Signature::Cashier if !draft.moves_cash => {
            return Err(DomainError::invalid("cashier", "error.finance.cashier_no_cash", "").into());
        }
        _ => {}
    }
    if draft.signed_by(signature).is_some() {
        return Err(signature.refusal(Refusal::Twice));
    }
    stamp(tx, id, signature, me).await
}

/// Writes `signer`'s signature on a voucher, audited. The version stays: it counts changes of
/// what is signed, so one signature given does not refuse the other signer's page.
async fn stamp(tx: &mut Tx, id: i64, signature: Signature, signer: i64) -> Result<()> {
    let (by, at) = signature.columns();
    let now = tx.now().to_string();
    tx.execute(
        sqlx::query(&format!("UPDATE fin_entries SET {by} = $1, {at} = $2 WHERE id = $3"))
            .bind(signer)
            .bind(&now)
            .bind(id),
    )
    .await?;
    tx.audit("state", "finance.entry", Some(&id.to_string()), &json!({ by: [null, signer] })).await?;
    Ok(())
}

/// Cancels a signature of a draft not posted yet (取消审核, 取消签字), so it can be changed and
/// signed again.
pub async fn cancel(tx: &mut Tx, principal: &Principal, signature: Signature, id: i64) -> Result<()> {
    principal.authorize(signature.grant())?;
    let draft =
        take_draft(tx, principal.company_id.0, id).await?.ok_or_else(|| signature.refusal(Refusal::NotADraft))?;
    let Some(signer) = draft.signed_by(signature) else {
        return Err(signature.refusal(Refusal::Unsigned));
    };
    clear(tx, id, signature, signer).await
}

/// A draft whose attached documents changed: its version moves on, so a signer who read it
/// before is refused, and its signatures are taken away (what was signed is gone). Nothing
/// happens to a posted voucher.
pub(crate) async fn withdraw(tx: &mut Tx, id: i64) -> Result<()> {
    tx.execute(sqlx::query("UPDATE fin_entries SET version = version + 1 WHERE id = $1 AND status = 'draft'").bind(id))
        .await?;
    let row = tx
        .fetch_optional(
            sqlx::query("SELECT reviewed_by, cashier_by FROM fin_entries WHERE id = $1 AND status = 'draft'").bind(id),
        )
        .await?;
    let Some(row) = row else { return Ok(()) };
    for signature in SIGNATURES {
        if let Some(signer) = row.try_get::<Option<i64>, _>(signature.columns().0)? {
            clear(tx, id, signature, signer).await?;
        }
    }
    Ok(())
}

/// Takes `signer`'s signature off a draft, audited.
async fn clear(tx: &mut Tx, id: i64, signature: Signature, signer: i64) -> Result<()> {
    let (by, at) = signature.columns();
    tx.execute(sqlx::query(&format!("UPDATE fin_entries SET {by} = NULL, {at} = NULL WHERE id = $1")).bind(id)).await?;
    tx.audit("state", "finance.entry", Some(&id.to_string()), &json!({ by: [signer, null] })).await?;
    Ok(())
}

/// Whether the reversal of a posted voucher of `kind` waits as a draft for signatures of its
/// own: it was made by hand, and a rule asks for a signature of it (`moves_cash` for the
/// cashier's).
pub(crate) async fn reversal_waits(tx: &mut Tx, company: i64, kind: &str, moves_cash: bool) -> Result<bool> {
    if !HAND_MADE_KINDS.contains(&kind) {
        return Ok(false);
    }
    let rules = rules(tx.conn(), company).await?;
    Ok(rules.review || (rules.cashier && moves_cash))
}

/// Signs a voucher just booked from a statement line, or a tax payment, for the cashier who
/// made it, where the rule asks for it.
pub(crate) async fn sign_booked(tx: &mut Tx, principal: &Principal, rules: Rules, id: i64) -> Result<()> {
    if rules.cashier {
        stamp(tx, id, Signature::Cashier, principal.user_id.0).await?;
    }
    Ok(())
}

/// Refuses to post a hand-made draft that lacks a signature the company's rules ask for. The
/// draft is taken for this transaction, so a signature cancelled at the same moment is either
/// before the posting or finds it posted.
pub(crate) async fn require_signed(tx: &mut Tx, company: i64, id: i64) -> Result<()> {
    let rules = rules(tx.conn(), company).await?;
    if !rules.any() {
        return Ok(());
    }
    // A voucher that is not a hand-made draft is refused, or let through, by the posting.
    let Some(draft) = take_draft(tx, company, id).await.or_else(|e| match e {
        db::Error::Domain(DomainError::NotFound(_)) => Ok(None),
        other => Err(other),
    })?
    else {
        return Ok(());
    };
    if rules.review && draft.reviewed_by.is_none() {
        return Err(DomainError::invalid("post", "error.finance.needs_review", "").into());
    }
    if rules.cashier && draft.moves_cash && draft.cashier_by.is_none() {
        return Err(DomainError::invalid("post", "error.finance.needs_cashier", "").into());
    }
    Ok(())
}

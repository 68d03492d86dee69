//! Receipts and payments pages: the month's list, and the form that records one receipt (or
//! payment) over any of the party's open invoices, what is left over kept as an advance.

use super::{figures_or_refusal, typed};
use crate::invoicing::{self, AllocationForm, InvoiceSummary, PaymentForm, PaymentSummary};
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use serde::Deserialize;
use web::page::{finish_form, render, Refused};
use web::{AppResult, Ctx, FormPairs, PageCtx};

/// (payment kind, the invoice kind it settles, title key) for `?kind=receipt|payment`.
fn kind_of(kind: Option<&str>) -> (&'static str, &'static str, &'static str) {
    match kind {
        Some("payment") => ("payment", "supplier", "finance.payments"),
        _ => ("receipt", "customer", "finance.receipts"),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    kind: Option<String>,
    month: Option<String>,
}

#[derive(Template)]
#[template(path = "finance/payments.html")]
struct ListPage {
    page: PageCtx,
    kind: &'static str,
    month: String,
    items: Vec<PaymentSummary>,
    can_pay: bool,
    /// A month that could not be read, shown beside its field.
    errors: Vec<(String, String)>,
    /// Why an advance carried over could not be taken back, shown above the list.
    refused: Vec<String>,
    /// The refund form of one advance just refused (named `refund-{id}`), shown open on its
    /// row with each message beside its field.
    refund: Refused,
    /// The account a refund goes through unless another is typed.
    bank: &'static str,
    today: String,
}

impl ListPage {
    /// Whether the refund form of advance `id` is the one just refused.
    fn refund_refused(&self, id: &i64) -> bool {
        !self.refund.messages_of(&format!("refund-{id}")).is_empty()
    }

    /// What the refund form of advance `id` held in `field` when it was refused, else `usual`.
    fn refund_typed(&self, id: &i64, field: &str, usual: &str) -> String {
        self.refund.typed(&format!("refund-{id}:{field}"), usual)
    }

    /// The refusal of `field` of advance `id`'s refund form.
    fn refund_error(&self, id: &i64, field: &str) -> Option<&str> {
        self.refund.message(&format!("refund-{id}:{field}"))
    }

    /// The account a refund of `p` goes through unless another is typed: the one its money
    /// came in by, or the chart's bank for an advance carried over.
    fn refund_bank<'a>(&'a self, p: &'a PaymentSummary) -> &'a str {
        if p.bank_account.is_empty() {
            self.bank
        } else {
            &p.bank_account
        }
    }

    /// Refusals of advance `id`'s refund that name no field of its form.
    fn refund_other_errors(&self, id: &i64) -> Vec<&str> {
        let form = format!("refund-{id}");
        let own = ["date", "amount", "bank_account", "memo"].map(|f| format!("{form}:{f}"));
        self.refund
            .errors
            .iter()
            .filter(|(field, _)| field.split(':').next() == Some(form.as_str()) && !own.contains(field))
            .map(|(_, message)| message.as_str())
            .collect()
    }
}

pub async fn list(ctx: Ctx, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let page = list_page(&ctx, q.kind.as_deref(), q.month.as_deref(), Vec::new(), Refused::default()).await?;
    let refused = !page.errors.is_empty();
    web::page::render_answer(&page, refused)
}

/// The receipts (payments) of a month, with `refused` shown above them and a refused `refund`
/// form on its advance's row.
async fn list_page(
    ctx: &Ctx,
    kind: Option<&str>,
    month: Option<&str>,
    refused: Vec<String>,
    refund: Refused,
) -> AppResult<ListPage> {
    ctx.require(invoicing::READ)?;
    let (kind, _, title) = kind_of(kind);
    let read: AppResult<_> = async {
        let month = match month.filter(|m| !m.is_empty()) {
            Some(m) => crate::domain::parse_period("month", m).map_err(|e| kernel::DomainError::Invalid(vec![e]))?,
            None => ctx.today().format("%Y-%m").to_string(),
        };
        let mut conn = ctx.db().read_conn().await?;
        Ok((invoicing::payments(&mut conn, ctx.company_id(), kind, &month).await?, month))
    }
    .await;
    let ((items, month), errors) = match figures_or_refusal(ctx, read)? {
        Ok(figures) => (figures, Vec::new()),
        Err(errors) => ((Vec::new(), typed(&month.map(str::to_string))), errors),
    };
    let bank = crate::chart::code(&mut ctx.db().read_conn().await?, ctx.company_id(), crate::chart::Role::Bank).await?;
    let page = PageCtx::new(ctx, title, "/finance/payments").await?;
    let can_pay = ctx.principal.may(invoicing::PAYMENTS);
    let today = ctx.today().to_string();
    Ok(ListPage { page, kind, month, items, can_pay, errors, refused, refund, bank, today })
}

/// The kind and month of the list a receipt or payment is shown in, to go back to it.
async fn kind_and_month(ctx: &Ctx, id: i64) -> AppResult<(String, String)> {
    let mut conn = ctx.db().read_conn().await?;
    // A refund of an advance is listed with its advance: its kind and month are the advance's.
    let row = sqlx::query(
        "SELECT COALESCE(a.kind, p.kind) AS kind, COALESCE(a.payment_date, p.payment_date) AS payment_date \
         FROM fin_payments p LEFT JOIN fin_payments a ON a.id = p.refunds_advance WHERE p.company_id = $1 AND p.id = $2",
    )
        .bind(ctx.company_id())
        .bind(id)
        .fetch_optional(&mut conn)
        .await?;
    Ok(match row {
        Some(r) => (
            sqlx::Row::try_get::<String, _>(&r, "kind")?,
            sqlx::Row::try_get::<String, _>(&r, "payment_date")?[..7].to_string(),
        ),
        None => (String::from("receipt"), String::new()),
    })
}

/// Undoes a receipt or payment recorded by mistake from its row ([`invoicing::cancel_payment`]),
/// going back to its month; or shows the month again with the refusal above the list.
pub async fn cancel(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id = super::path_id(&id, "payment")?;
    // Read before the transaction, which on SQLite holds the only writer.
    let (kind, month) = kind_and_month(&ctx, id).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = super::gone_as_refusal(invoicing::cancel_payment(&mut tx, &ctx.principal, id).await);
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| (format!("/finance/payments?kind={kind}&month={month}"), "finance.payment_cancelled_ok"),
        async |errors| {
            let refused = web::page::field_messages(&ctx, &errors).into_iter().map(|(_, m)| m).collect();
            list_page(&ctx, Some(&kind), Some(&month), refused, Refused::default()).await
        },
    )
    .await
}

/// Gives back what is left of an advance from its row ([`invoicing::refund_advance`]), going
/// back to its month with the refund listed beside it; or shows the month again with the form
/// open on the advance's row, as typed, each refusal beside its field.
pub async fn refund(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id = super::path_id(&id, "payment")?;
    let form = invoicing::AdvanceRefundForm {
        date: pairs.text("date"),
        amount: pairs.text("amount"),
        bank_account: pairs.text("bank_account"),
        memo: pairs.text("memo"),
    };
    // Read before the transaction, which on SQLite holds the only writer.
    let (kind, month) = kind_and_month(&ctx, id).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = invoicing::refund_advance(&mut tx, &ctx.principal, id, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| (format!("/finance/payments?kind={kind}&month={month}"), "finance.advance_refunded_ok"),
        async |errors| {
            let refused = Refused::new(&ctx, &format!("refund-{id}"), errors, pairs);
            list_page(&ctx, Some(&kind), Some(&month), Vec::new(), refused).await
        },
    )
    .await
}

/// Takes back an advance carried over by mistake ([`invoicing::withdraw_carried`]), going to
/// the opening balances' page, where the voucher is corrected; or shows the advance's month
/// again with the refusal above it.
pub async fn withdraw(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id = super::path_id(&id, "payment")?;
    let (kind, month) = kind_and_month(&ctx, id).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = invoicing::withdraw_carried(&mut tx, &ctx.principal, id, true).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| ("/finance/opening".into(), "finance.withdrawn_ok"),
        async |errors| {
            let refused = web::page::field_messages(&ctx, &errors).into_iter().map(|(_, m)| m).collect();
            list_page(&ctx, Some(&kind), Some(&month), refused, Refused::default()).await
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct NewQuery {
    kind: Option<String>,
    party_id: Option<String>,
}

#[derive(Template)]
#[template(path = "finance/payment_form.html")]
struct FormPage {
    page: PageCtx,
    kind: &'static str,
    parties: Vec<(i64, String)>,
    /// The party chosen; 0 before one is.
    party_id: i64,
    /// Its open invoices (bills), each with a field for what this receipt settles of it.
    open: Vec<InvoiceSummary>,
    /// What it has paid in advance already and not yet applied.
    advance: i64,
    bank: &'static str,
    today: String,
    refused: Refused,
}

impl FormPage {
    /// The messages about the allocation to one invoice.
    fn allocation_errors(&self, invoice: &i64) -> Vec<&str> {
        self.refused.messages_of(&format!("invoice {invoice}"))
    }

    /// Whether the receipt is in `code`: as sent, or CNY at first.
    fn paid_in(&self, code: &str) -> bool {
        let sent = self.refused.typed("currency", "CNY");
        sent.eq_ignore_ascii_case(code) || (sent.trim().is_empty() && code == "CNY")
    }

    /// Whether any of the open invoices is in a foreign currency (the form then asks for one).
    fn any_foreign(&self) -> bool {
        self.open.iter().any(|i| i.currency != "CNY")
    }
}

async fn form_page(ctx: &Ctx, kind: &'static str, party_id: i64, refused: Refused) -> AppResult<FormPage> {
    let (_, invoice_kind, title) = kind_of(Some(kind));
    let mut conn = ctx.db().read_conn().await?;
    let (open, advance) = if party_id > 0 {
        let open = invoicing::open_invoices(&mut conn, ctx.company_id(), party_id, invoice_kind).await?;
        let advances = invoicing::advances(&mut conn, ctx.company_id(), party_id, invoice_kind, None).await?;
        (open, advances.iter().map(|(_, _, rest)| rest).sum())
    } else {
        (Vec::new(), 0)
    };
    let bank = crate::chart::code(&mut conn, ctx.company_id(), crate::chart::Role::Bank).await?;
    drop(conn);
    Ok(FormPage {
        page: PageCtx::new(ctx, title, "/finance/payments").await?.titled(ctx.t(if kind == "receipt" {
            "finance.record_receipt"
        } else {
            "finance.record_payment"
        })),
        kind,
        parties: super::invoices::parties(ctx, invoice_kind).await?,
        party_id,
        open,
        advance,
        bank,
        today: ctx.today().to_string(),
        refused,
    })
}

/// The form: first the party, then its open invoices with what the receipt settles of each.
pub async fn new(ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    ctx.require(invoicing::PAYMENTS)?;
    let (kind, _, _) = kind_of(q.kind.as_deref());
    let party_id = q.party_id.and_then(|p| p.parse().ok()).unwrap_or(0);
    render(&form_page(&ctx, kind, party_id, Refused::default()).await?)
}

/// Records the receipt (payment). Each invoice's field says how much of it this settles;
/// with every field empty the oldest invoices are settled first. Whatever the allocations
/// leave of the amount is kept as the party's advance (预收 / 预付).
pub async fn create(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let (kind, _, _) = kind_of(pairs.get("kind"));
    let party_id = pairs.get("party_id").and_then(|p| p.trim().parse().ok()).unwrap_or(0);
    let allocations: Vec<AllocationForm> = pairs
        .0
        .iter()
        .filter_map(|(field, value)| {
            let invoice_id = field.strip_prefix("allocate_")?.parse().ok()?;
            Some(AllocationForm { invoice_id, amount: value.trim().to_string() })
        })
        .filter(|a| !a.amount.is_empty())
        .collect();
    let form = PaymentForm {
        kind: kind.into(),
        party_id,
        date: pairs.text("date"),
        amount: pairs.text("amount"),
        bank_account: pairs.text("bank_account"),
        allocations: if allocations.is_empty() { None } else { Some(allocations.clone()) },
        memo: pairs.text("memo"),
        currency: pairs.text("currency"),
        rate: pairs.text("rate"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = invoicing::record_payment(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| {
            (
                format!("/finance/payments?kind={kind}&month={}", pairs.text("date").get(..7).unwrap_or_default()),
                "common.saved",
            )
        },
        async |errors| {
            // A refused allocation is reported on `allocations[i]`; it shows on its invoice's row.
            let errors = errors
                .into_iter()
                .map(|mut e| {
                    let row = e.field.strip_prefix("allocations[").and_then(|r| r.strip_suffix(']'));
                    if let Some(invoice) = row.and_then(|i| i.parse::<usize>().ok()).and_then(|i| allocations.get(i)) {
                        e.field = format!("invoice {}:amount", invoice.invoice_id);
                    }
                    e
                })
                .collect();
            form_page(&ctx, kind, party_id, Refused::new(&ctx, "", errors, pairs.clone())).await
        },
    )
    .await
}

//! The bank reconciliation page: import a statement from the bank's CSV export (the file
//! itself, or its text pasted) with a column mapping, then reconcile each line with one of its
//! suggested receipts, payments or vouchers, or book a line nothing booked yet against an
//! account.

use crate::bank::{self, BankLine, Mapping, StatementForm, Suggestion};
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use kernel::DomainError;
use web::page::{render, render_status, Refused};
use web::{AppError, AppResult, Ctx, FormPairs, PageCtx, Upload};

/// A statement line with its suggestions, as the page shows it.
struct Row {
    line: BankLine,
    suggestions: Vec<Suggestion>,
}

#[derive(Template)]
#[template(path = "finance/bank.html")]
struct BankPage {
    page: PageCtx,
    rows: Vec<Row>,
    form: StatementForm,
    /// Refusals of the import that name no field of its form (a row of the file), as shown.
    errors: Vec<String>,
    /// Refusals of the import by field (`mapping.date` …), shown beside it.
    field_errors: Vec<(String, String)>,
    imported: Option<String>,
    /// A match or unmatch refused, on its line's row (`line {id}`).
    refused: Refused,
    /// May book a line: post it at once, or make a draft of it (the cashier, who may not post).
    can_book: bool,
    /// The chart's financial expenses account, which a bank fee is booked to: the booking
    /// form's example.
    fee_account: &'static str,
}

impl BankPage {
    /// The import's refusal of one field of the form, if any.
    fn field_error(&self, field: &str) -> Option<&str> {
        web::page::message_for(&self.field_errors, field)
    }

    /// What was refused on one statement line.
    fn line_errors(&self, line: &i64) -> Vec<&str> {
        self.refused.messages_of(&format!("line {line}"))
    }
}

async fn bank_page(
    ctx: &Ctx,
    form: StatementForm,
    errors: Vec<String>,
    imported: Option<String>,
) -> AppResult<BankPage> {
    let mut conn = ctx.db().read_conn().await?;
    let lines = bank::lines(&mut conn, ctx.company_id(), false).await?;
    let (unmatched, matched): (Vec<_>, Vec<_>) = lines.into_iter().partition(|l| l.matched_with().is_none());
    let suggestions = bank::suggestions_for(&mut conn, ctx.company_id(), &unmatched).await?;
    let mut rows: Vec<Row> =
        unmatched.into_iter().zip(suggestions).map(|(line, suggestions)| Row { line, suggestions }).collect();
    rows.extend(matched.into_iter().map(|line| Row { line, suggestions: Vec::new() }));
    Ok(BankPage {
        page: PageCtx::new(ctx, "finance.bank", "/finance/bank").await?,
        rows,
        form,
        errors,
        field_errors: Vec::new(),
        imported,
        refused: Refused::default(),
        // Posting it at once, or making a draft of it for someone who may not (the cashier).
        can_book: crate::review::rules(&mut conn, ctx.company_id()).await?.may_book(&ctx.principal),
        fee_account: crate::chart::code(&mut conn, ctx.company_id(), crate::chart::Role::FinancialExpense).await?,
    })
}

fn default_form(bank_account: &str) -> StatementForm {
    StatementForm {
        bank_account: bank_account.into(),
        csv: String::new(),
        mapping: Mapping {
            date: "1".into(),
            amount: "2".into(),
            counterparty: "3".into(),
            memo: "4".into(),
            has_header: true,
            ..Default::default()
        },
        currency: String::new(),
    }
}

/// The company's bank account (银行存款) in its chart, which the form offers first.
async fn bank_account(ctx: &Ctx) -> AppResult<&'static str> {
    let mut conn = ctx.db().read_conn().await?;
    Ok(crate::chart::code(&mut conn, ctx.company_id(), crate::chart::Role::Bank).await?)
}

pub async fn page(ctx: Ctx) -> AppResult<Response> {
    ctx.require(crate::invoicing::PAYMENTS)?;
    render(&bank_page(&ctx, default_form(bank_account(&ctx).await?), Vec::new(), None).await?)
}

/// Imports the statement the form sends: the uploaded export if a file was chosen (UTF-8 or,
/// as Chinese banks' exports mostly are, GBK), otherwise the pasted text.
pub async fn import(ctx: Ctx, upload: Upload) -> AppResult<Response> {
    let pairs = &upload.fields;
    let csv = match &upload.file {
        Some(file) => bank::decode_export(&file.bytes),
        None => pairs.text("csv"),
    };
    let form = StatementForm {
        bank_account: pairs.text("bank_account"),
        csv,
        mapping: Mapping {
            date: pairs.text("date"),
            amount: pairs.text("amount"),
            money_in: pairs.text("money_in"),
            money_out: pairs.text("money_out"),
            counterparty: pairs.text("counterparty"),
            reference: pairs.text("reference"),
            memo: pairs.text("memo"),
            has_header: pairs.get("has_header") == Some("true"),
        },
        currency: pairs.text("currency"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match bank::import(&mut tx, &ctx.principal, &form).await {
        Ok(count) => {
            tx.commit().await?;
            let message = ctx.state.messages.format(ctx.lang, "finance.imported", &count.to_string());
            render(&bank_page(&ctx, default_form(bank_account(&ctx).await?), Vec::new(), Some(message)).await?)
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            // A field of the form is marked beside it; a row of the file is named by its number.
            let (on_fields, on_rows): (Vec<_>, Vec<_>) =
                errors.into_iter().partition(|e| !e.field.starts_with("row ") && !e.field.is_empty());
            let text = on_rows
                .iter()
                .map(|e| {
                    let message = ctx.state.messages.format(ctx.lang, e.key, &e.detail);
                    match e.field.strip_prefix("row ") {
                        Some(row) => {
                            format!("{}: {message}", ctx.state.messages.format(ctx.lang, "finance.bank_row", row))
                        }
                        None => message,
                    }
                })
                .collect();
            let mut page = bank_page(&ctx, form, text, None).await?;
            page.field_errors = web::page::field_messages(&ctx, &on_fields);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// Matches a statement line with a suggested receipt, payment or voucher, or with the receipt
/// or payment whose number was typed; a refusal (another amount, already matched) shows on the
/// line's row.
pub async fn reconcile(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = async {
        if let Some(entry) = pairs.get("entry_id").and_then(|e| e.parse().ok()) {
            return bank::reconcile_voucher(&mut tx, &ctx.principal, id, entry).await;
        }
        let payment = match pairs.get("payment_id").and_then(|p| p.parse().ok()) {
            Some(payment) => payment,
            None => bank::payment_by_number(&mut tx, ctx.company_id(), &pairs.text("number")).await?,
        };
        bank::reconcile(&mut tx, &ctx.principal, id, payment).await
    }
    .await;
    line_changed(&ctx, tx, outcome, id, pairs).await
}

/// Books a line nothing booked yet against the account typed: the voucher posted and matched,
/// back to the page, or a draft to be signed and posted, shown on its own page; a refusal (an
/// unknown account, a closed month) shows on the line's row, the account's beside it.
pub async fn book(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let form = bank::BookForm { account: pairs.text("account"), memo: pairs.text("memo"), rate: pairs.text("rate") };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = bank::book(&mut tx, &ctx.principal, id, &form).await;
    let shown = |booked: bank::Booked| match booked {
        bank::Booked::Posted(_) => ("/finance/bank".to_string(), "common.saved"),
        // The draft's page, to be signed and posted; the line waits to be matched.
        bank::Booked::Drafted(entry) => (format!("/finance/entries/{entry}"), "finance.booked_draft"),
    };
    web::page::finish_form(&ctx, tx, outcome, shown, async |errors| {
        let mut page = bank_page(&ctx, default_form(bank_account(&ctx).await?), Vec::new(), None).await?;
        page.refused = Refused::new(&ctx, &format!("line {id}"), errors, pairs.clone());
        Ok(page)
    })
    .await
}

/// Undoes a line's reconciliation.
pub async fn unreconcile(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = bank::unreconcile(&mut tx, &ctx.principal, id).await;
    line_changed(&ctx, tx, outcome, id, FormPairs::default()).await
}

/// Commits a change to one line and goes back to the page, or shows the page again (422)
/// with the refusal on that line's row; nothing is stored then.
async fn line_changed(
    ctx: &Ctx,
    tx: db::Tx,
    outcome: db::Result<()>,
    line: i64,
    pairs: FormPairs,
) -> AppResult<Response> {
    web::page::finish_form(
        ctx,
        tx,
        outcome,
        |()| ("/finance/bank".into(), "common.saved"),
        async |errors| {
            let mut page = bank_page(ctx, default_form(bank_account(ctx).await?), Vec::new(), None).await?;
            page.refused = Refused::new(ctx, &format!("line {line}"), errors, pairs);
            Ok(page)
        },
    )
    .await
}

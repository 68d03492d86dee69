//! The bank reconciliation page: import a statement from the bank's CSV export (the file
//! itself, or its text pasted) with a column mapping, then reconcile each line with one of its
//! suggested receipts or payments.

use crate::bank::{self, BankLine, Mapping, StatementForm, Suggestion};
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use kernel::DomainError;
use web::page::{flash_redirect, render, render_status};
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
    errors: Vec<String>,
    imported: Option<String>,
}

async fn bank_page(
    ctx: &Ctx,
    form: StatementForm,
    errors: Vec<String>,
    imported: Option<String>,
) -> AppResult<BankPage> {
    let mut conn = ctx.db().read_conn().await?;
    let lines = bank::lines(&mut conn, ctx.company_id(), false).await?;
    let mut rows = Vec::with_capacity(lines.len());
    for line in lines {
        let suggestions = if line.payment_id.is_none() {
            bank::suggestions(&mut conn, ctx.company_id(), line.id).await?
        } else {
            Vec::new()
        };
        rows.push(Row { line, suggestions });
    }
    Ok(BankPage { page: PageCtx::new(ctx, "finance.bank", "/finance/bank").await?, rows, form, errors, imported })
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
            let text = errors
                .iter()
                .map(|e| format!("{} {}", e.field, ctx.state.messages.format(ctx.lang, e.key, &e.detail)))
                .collect();
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &bank_page(&ctx, form, text, None).await?)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn reconcile(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let payment: i64 = pairs.get("payment_id").and_then(|p| p.parse().ok()).unwrap_or(0);
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    bank::reconcile(&mut tx, &ctx.principal, id, payment).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, "/finance/bank", "common.saved"))
}

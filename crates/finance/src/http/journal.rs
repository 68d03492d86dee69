//! The cashier's journal pages (现金日记账, 银行存款日记账) and their API: a cash or bank account
//! chosen among the company's, a range of days (this month to today unless given), downloads
//! and print.

use super::figures_or_refusal;
use crate::chart::{self, Role};
use crate::domain::yuan;
use crate::journal::{self, Journal};
use crate::service;
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use axum::Json;
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::{AppResult, Ctx, PageCtx};

#[derive(Debug, Default, Deserialize)]
pub struct JournalQuery {
    account: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// The most lines a page holds (at most, and by default, `journal::MAX_LINES`).
    lines: Option<String>,
    /// `csv` or `xlsx` downloads the page instead of showing it.
    format: Option<String>,
}

#[derive(Template)]
#[template(path = "finance/journal.html")]
struct JournalPage {
    page: PageCtx,
    /// The company's cash and bank accounts, as (code, name), to choose from.
    accounts: Vec<(String, String)>,
    account: String,
    from: String,
    to: String,
    journal: Option<Journal>,
    /// Refusals of the fields, by field, shown beside them.
    errors: Vec<(String, String)>,
}

impl JournalPage {
    /// Whether the account asked for is among those offered (one typed into the address, say
    /// an expense account, is shown as asked, beside its refusal).
    fn listed(&self) -> bool {
        self.accounts.iter().any(|a| a.0 == self.account)
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

/// What the query asks for, with the defaults filled in: the company's bank, this month's
/// first day, today.
async fn asked(ctx: &Ctx, q: &JournalQuery) -> AppResult<(String, String, String)> {
    let today = ctx.today().to_string();
    let filled = |v: &Option<String>| v.clone().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let account = match filled(&q.account) {
        Some(account) => account,
        None => chart::code(&mut ctx.db().read_conn().await?, ctx.company_id(), Role::Bank).await?.to_string(),
    };
    let from = filled(&q.from).unwrap_or_else(|| format!("{}-01", &today[..7]));
    Ok((account, from, filled(&q.to).unwrap_or(today)))
}

pub async fn page(ctx: Ctx, Query(q): Query<JournalQuery>) -> AppResult<Response> {
    require(&ctx)?;
    let (account, from, to) = asked(&ctx, &q).await?;
    let mut conn = ctx.db().read_conn().await?;
    let read: AppResult<Journal> =
        journal::journal(&mut conn, ctx.company_id(), &account, (&from, &to), q.lines.as_deref().unwrap_or_default())
            .await
            .map_err(Into::into);
    let accounts = service::accounts(&mut conn, ctx.company_id())
        .await?
        .into_iter()
        .filter(|a| chart::is_cash_account(&a.code) && !a.archived)
        .map(|a| {
            let name = if ctx.lang == kernel::Lang::En { a.name_en } else { a.name_zh };
            (a.code, name)
        })
        .collect();
    drop(conn);
    let (journal, errors) = match figures_or_refusal(&ctx, read)? {
        Ok(journal) => (Some(journal), Vec::new()),
        Err(errors) => (None, errors),
    };
    if let (Some(format), Some(journal)) = (q.format.as_deref().filter(|f| matches!(*f, "csv" | "xlsx")), &journal) {
        return download(&ctx, format, journal);
    }
    let title = ctx.t(journal.as_ref().map_or("finance.cash_journal", |j| journal::title_key(&j.account)));
    let page = PageCtx::new(&ctx, "finance.cash_journal", "/finance/reports/cash-journal").await?.titled(title);
    let page = match &journal {
        Some(j) => {
            let name = if ctx.lang == kernel::Lang::En { &j.name_en } else { &j.name_zh };
            page.as_report(format!("{} {name} · {} — {}", j.account, j.from, j.to), "")
        }
        None => page,
    };
    let refused = !errors.is_empty();
    web::page::render_answer(&JournalPage { page, accounts, account, from, to, journal, errors }, refused)
}

/// The journal as CSV or XLSX: the opening balance, each line, each day's and month's totals,
/// the range's.
fn download(ctx: &Ctx, format: &str, journal: &Journal) -> AppResult<Response> {
    let header: Vec<String> = [
        "finance.date",
        "finance.number",
        "finance.memo",
        "finance.counter_accounts",
        "finance.received",
        "finance.paid",
        "finance.balance",
        "finance.foreign_amount",
        "finance.foreign_balance",
    ]
    .iter()
    .map(|k| ctx.t(k))
    .collect();
    let blank = String::new;
    let mut rows = vec![vec![
        journal.from.clone(),
        blank(),
        ctx.t("finance.opening"),
        blank(),
        blank(),
        blank(),
        yuan(journal.opening),
        blank(),
        journal.in_currency(&journal.foreign_opening),
    ]];
    for month in &journal.months {
        for day in &month.days {
            for l in &day.lines {
                rows.push(vec![
                    day.date.clone(),
                    l.number.clone(),
                    l.memo.clone(),
                    l.counter.join(" "),
                    yuan(l.received),
                    yuan(l.paid),
                    yuan(l.balance),
                    l.foreign_text(),
                    journal.balance_in_currency(l),
                ]);
            }
            let total = ctx.t("finance.day_total");
            rows.push(vec![
                day.date.clone(),
                blank(),
                total,
                blank(),
                yuan(day.received),
                yuan(day.paid),
                yuan(day.balance),
            ]);
        }
        let (total, year) = (ctx.t("finance.month_total"), ctx.t("finance.year_total"));
        let (received, paid, balance) = (yuan(month.received), yuan(month.paid), yuan(month.balance));
        rows.push(vec![month.month.clone(), blank(), total, blank(), received, paid, balance.clone()]);
        let (received, paid) = (yuan(month.year_received), yuan(month.year_paid));
        rows.push(vec![month.month.clone(), blank(), year, blank(), received, paid, balance]);
    }
    rows.push(vec![
        journal.to.clone(),
        blank(),
        ctx.t("finance.total"),
        blank(),
        yuan(journal.received),
        yuan(journal.paid),
        yuan(journal.closing),
        blank(),
        journal.in_currency(&journal.foreign_closing),
    ]);
    // Only the lines carry a foreign amount, and the lines, the opening and the total a
    // foreign balance; the day's and month's totals leave them blank.
    for row in &mut rows {
        row.resize(header.len(), String::new());
    }
    let name = format!("journal-{}-{}-{}", journal.account, journal.from, journal.to);
    web::page::download(format, &name, &header, &rows)
}

/// `GET /api/v1/finance/reports/cash-journal?account&from&to`.
pub async fn api(ctx: Ctx, Query(q): Query<JournalQuery>) -> AppResult<Json<Value>> {
    require(&ctx)?;
    let (account, from, to) = asked(&ctx, &q).await?;
    let mut conn = ctx.db().read_conn().await?;
    let j =
        journal::journal(&mut conn, ctx.company_id(), &account, (&from, &to), q.lines.as_deref().unwrap_or_default())
            .await?;
    // An amount in the account's foreign currency as the API sends amounts; none for yuan.
    let in_currency = |amount: i64| -> Option<String> {
        let currency = kernel::Currency::from_code(j.currency.as_deref()?)?;
        Some(crate::domain::decimal_text(amount, currency))
    };
    let day = |d: &journal::JournalDay| -> Value {
        let lines: Vec<Value> = d
            .lines
            .iter()
            .map(|l| {
                let foreign = l.foreign.as_ref().map(|(code, amount, rate)| {
                    let currency = kernel::Currency::from_code(code).unwrap_or(kernel::Currency::CNY);
                    json!({"currency": code, "amount": crate::domain::decimal_text(*amount, currency), "rate": rate})
                });
                json!({"entry_id": l.entry_id, "number": l.number, "memo": l.memo, "counter_accounts": l.counter,
                    "received": yuan(l.received), "paid": yuan(l.paid), "balance": yuan(l.balance), "foreign": foreign,
                    "foreign_balance": l.foreign_balance.and_then(in_currency)})
            })
            .collect();
        json!({"date": d.date, "lines": lines, "received": yuan(d.received), "paid": yuan(d.paid), "balance": yuan(d.balance)})
    };
    let months: Vec<Value> = j
        .months
        .iter()
        .map(|m| {
            json!({"month": m.month, "days": m.days.iter().map(day).collect::<Vec<_>>(),
                "received": yuan(m.received), "paid": yuan(m.paid), "year_received": yuan(m.year_received),
                "year_paid": yuan(m.year_paid), "balance": yuan(m.balance)})
        })
        .collect();
    Ok(Json(json!({
        "account": j.account, "name_zh": j.name_zh, "name_en": j.name_en, "from": j.from, "to": j.to,
        "opening": yuan(j.opening), "months": months, "received": yuan(j.received), "paid": yuan(j.paid), "closing": yuan(j.closing),
        "continues_from": j.continues_from, "currency": j.currency,
        "foreign_opening": in_currency(j.foreign_opening), "foreign_closing": in_currency(j.foreign_closing),
    })))
}

/// The journal is the cashier's (the bank clerk's grant) or any reader of the reports'.
fn require(ctx: &Ctx) -> AppResult<()> {
    if journal::may_read(&ctx.principal) {
        Ok(())
    } else {
        Err(DomainError::Forbidden(crate::invoicing::PAYMENTS.into()).into())
    }
}

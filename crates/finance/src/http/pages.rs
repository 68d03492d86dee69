//! Finance pages: chart of accounts, vouchers (list, entry form without JavaScript, detail
//! with post and reverse), trial balance, balance sheet, income statement, periods.

use crate::chart;
use crate::domain::{self, yuan, EntryForm, LineForm, WORDS};
use crate::service::{self, Account, EntrySummary, StatementRow, StoredEntry, TrialBalanceRow};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use kernel::error::FieldError;
use kernel::DomainError;
use serde::Deserialize;
use web::page::{download, field_messages, flash_redirect, render, render_status};
use web::{AppError, AppResult, Ctx, FormPairs, PageCtx};

/// Lines shown on a new voucher form; a longer voucher is entered through the API or in parts.
const FORM_LINES: usize = 8;

async fn conn(ctx: &Ctx) -> AppResult<sqlx::pool::PoolConnection<sqlx::Any>> {
    Ok(ctx.db().reader().acquire().await.map_err(db::Error::from)?)
}

/// This month in China Standard Time, the default period of the pages.
fn this_period(ctx: &Ctx) -> String {
    (ctx.db().clock().now() + chrono::Duration::hours(8)).format("%Y-%m").to_string()
}

fn errors_text(ctx: &Ctx, errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(|e| format!("{} {}", e.field, ctx.state.messages.format(ctx.lang, e.key, &e.detail))).collect()
}

#[derive(Template)]
#[template(path = "finance/accounts.html")]
struct AccountsPage {
    page: PageCtx,
    accounts: Vec<Account>,
    errors: Vec<String>,
    year: String,
    can_manage: bool,
    /// The chart the books were set up from, and the keys offered when they are not yet.
    template: &'static str,
    templates: Vec<&'static str>,
}

async fn accounts_page(ctx: &Ctx, errors: Vec<String>) -> AppResult<AccountsPage> {
    let mut conn = conn(ctx).await?;
    Ok(AccountsPage {
        page: PageCtx::new(ctx, "finance.accounts", "/finance/accounts").await?,
        template: chart::template(&mut conn, ctx.company_id()).await?.key(),
        templates: chart::TEMPLATES.iter().map(|t| t.key()).collect(),
        accounts: service::accounts(&mut conn, ctx.company_id()).await?,
        errors,
        year: this_period(ctx)[..4].to_string(),
        can_manage: ctx.principal.may(service::ACCOUNTS),
    })
}

pub async fn accounts(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::READ)?;
    render(&accounts_page(&ctx, Vec::new()).await?)
}

pub async fn setup(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let year: i32 = pairs.get("year").and_then(|y| y.parse().ok()).unwrap_or(0);
    if !(2000..=2100).contains(&year) {
        return Err(DomainError::invalid("year", "error.finance.period", pairs.text("year")).into());
    }
    let template = chart::Template::chosen(pairs.get("template"))?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let first_month: u32 = pairs.get("first_month").and_then(|m| m.parse().ok()).unwrap_or(1);
    service::set_up_books(&mut tx, &ctx.principal, template, year, first_month).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, "/finance/accounts", "common.created"))
}

pub async fn add_account(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = service::AccountForm {
        parent: pairs.text("parent"),
        code: pairs.text("code"),
        name_zh: pairs.text("name_zh"),
        name_en: pairs.text("name_en"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match service::add_sub_account(&mut tx, &ctx.principal, &form).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(flash_redirect(&ctx, "/finance/accounts", "common.created"))
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            let text = errors_text(&ctx, &errors);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &accounts_page(&ctx, text).await?)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PeriodQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// `csv` downloads the report instead of showing it.
    format: Option<String>,
    /// An account code, for the account ledger.
    code: Option<String>,
}

/// The download format asked for (`csv` or `xlsx`), if any.
fn export(q: &PeriodQuery) -> Option<&str> {
    q.format.as_deref().filter(|f| *f == "csv" || *f == "xlsx")
}

fn chosen_period(ctx: &Ctx, field: &str, value: Option<&str>) -> Result<String, AppError> {
    match value.filter(|v| !v.is_empty()) {
        Some(v) => domain::parse_period(field, v).map_err(|e| AppError::Domain(DomainError::Invalid(vec![e]))),
        None => Ok(this_period(ctx)),
    }
}

#[derive(Template)]
#[template(path = "finance/entries.html")]
struct EntriesPage {
    page: PageCtx,
    period: String,
    entries: Vec<EntrySummary>,
}

pub async fn entries(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::READ)?;
    let period = chosen_period(&ctx, "period", q.period.as_deref())?;
    let mut conn = conn(&ctx).await?;
    let entries = service::entries(&mut conn, ctx.company_id(), &period).await?;
    render(&EntriesPage { page: PageCtx::new(&ctx, "finance.entries", "/finance/entries").await?, period, entries })
}

#[derive(Template)]
#[template(path = "finance/entry_form.html")]
struct EntryFormPage {
    page: PageCtx,
    form: EntryForm,
    words: Vec<&'static str>,
    errors: Vec<String>,
    accounts: Vec<Account>,
}

async fn entry_form_page(ctx: &Ctx, mut form: EntryForm, errors: Vec<String>) -> AppResult<EntryFormPage> {
    while form.lines.len() < FORM_LINES {
        form.lines.push(LineForm::default());
    }
    let mut conn = conn(ctx).await?;
    let accounts = service::accounts(&mut conn, ctx.company_id()).await?.into_iter().filter(|a| !a.archived).collect();
    Ok(EntryFormPage {
        page: PageCtx::new(ctx, "finance.entry_new", "/finance/entries").await?,
        form,
        words: WORDS.to_vec(),
        errors,
        accounts,
    })
}

pub async fn new_entry(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::CREATE)?;
    let form = EntryForm { date: ctx.today().to_string(), word: "记".into(), memo: String::new(), lines: Vec::new() };
    render(&entry_form_page(&ctx, form, Vec::new()).await?)
}

pub async fn create_entry(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let accounts = pairs.all("account");
    let debits = pairs.all("debit");
    let credits = pairs.all("credit");
    let centers = pairs.all("cost_center");
    let memos = pairs.all("line_memo");
    let (currencies, foreign_amounts, rates) = (pairs.all("currency"), pairs.all("foreign_amount"), pairs.all("rate"));
    let lines = (0..accounts.len())
        .map(|i| LineForm {
            account: accounts[i].clone(),
            debit: debits.get(i).cloned().unwrap_or_default(),
            credit: credits.get(i).cloned().unwrap_or_default(),
            cost_center: centers.get(i).cloned().unwrap_or_default(),
            memo: memos.get(i).cloned().unwrap_or_default(),
            currency: currencies.get(i).cloned().unwrap_or_default(),
            foreign_amount: foreign_amounts.get(i).cloned().unwrap_or_default(),
            rate: rates.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let form = EntryForm { date: pairs.text("date"), word: pairs.text("word"), memo: pairs.text("memo"), lines };
    let post_now = pairs.get("post") == Some("true");
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let result = match service::create_draft(&mut tx, &ctx.principal, &form).await {
        Ok(id) if post_now => service::post_entry(&mut tx, &ctx.principal, id).await.map(|_| id),
        other => other,
    };
    match result {
        Ok(id) => {
            tx.commit().await?;
            Ok(flash_redirect(
                &ctx,
                &format!("/finance/entries/{id}"),
                if post_now { "finance.posted_ok" } else { "common.created" },
            ))
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            let text = errors_text(&ctx, &errors);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &entry_form_page(&ctx, form, text).await?)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "finance/entry.html")]
struct EntryPage {
    page: PageCtx,
    entry: StoredEntry,
    attachments: Vec<crate::attachments::Attachment>,
    /// Why the last document was refused, shown at the file field.
    attachment_error: Option<String>,
    today: String,
    can_post: bool,
    can_attach: bool,
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::Domain(DomainError::NotFound("entry")))
}

pub async fn entry(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    render(&entry_view(&ctx, parse_id(&id)?, None).await?)
}

async fn entry_view(ctx: &Ctx, id: i64, attachment_error: Option<String>) -> AppResult<EntryPage> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let entry = service::load_entry(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("entry"))?;
    let attachments = crate::attachments::list(&mut conn, ctx.company_id(), id).await?;
    let title =
        format!("{} {}", ctx.t("finance.entry"), entry.number.clone().unwrap_or_else(|| ctx.t("finance.status.draft")));
    Ok(EntryPage {
        page: PageCtx::new(ctx, "finance.entries", "/finance/entries").await?.titled(title),
        entry,
        attachments,
        attachment_error,
        today: ctx.today().to_string(),
        can_post: ctx.principal.may(service::POST),
        can_attach: ctx.principal.may(service::CREATE),
    })
}

/// Attaches the uploaded document to the voucher; a refusal shows at the file field.
pub async fn attach(ctx: Ctx, Path(id): Path<String>, upload: web::Upload) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let (name, bytes) = upload.file.map(|f| (f.name, f.bytes)).unwrap_or_default();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let file = crate::attachments::NewAttachment { file_name: &name, bytes: &bytes };
    match crate::attachments::attach(&mut tx, &ctx.principal, id, &file).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(flash_redirect(&ctx, &format!("/finance/entries/{id}"), "common.saved"))
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            let message = errors.first().map(|e| ctx.state.messages.format(ctx.lang, e.key, &e.detail));
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &entry_view(&ctx, id, message).await?)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn attachment(ctx: Ctx, Path((id, attachment)): Path<(String, String)>) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let (name, kind, bytes) =
        crate::attachments::content(&mut conn, &ctx.principal, parse_id(&id)?, parse_id(&attachment)?).await?;
    Ok(web::page::file_download(&name, &kind, bytes))
}

pub async fn remove_attachment(ctx: Ctx, Path((id, attachment)): Path<(String, String)>) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::attachments::remove(&mut tx, &ctx.principal, id, parse_id(&attachment)?).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, &format!("/finance/entries/{id}"), "common.saved"))
}

pub async fn post_entry(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::post_entry(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, &format!("/finance/entries/{id}"), "finance.posted_ok"))
}

pub async fn reverse_entry(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let (reversal, _) = service::reverse_entry(&mut tx, &ctx.principal, id, &pairs.text("date")).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, &format!("/finance/entries/{reversal}"), "finance.posted_ok"))
}

#[derive(Template)]
#[template(path = "finance/trial_balance.html")]
struct TrialBalancePage {
    page: PageCtx,
    from: String,
    to: String,
    rows: Vec<TrialBalanceRow>,
    totals: (i64, i64, i64, i64),
}

pub async fn trial_balance(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let to = chosen_period(&ctx, "to", q.to.as_deref())?;
    let from = match q.from.as_deref().filter(|v| !v.is_empty()) {
        Some(_) => chosen_period(&ctx, "from", q.from.as_deref())?,
        None => format!("{}-01", &to[..4]),
    };
    let mut conn = conn(&ctx).await?;
    let rows = service::trial_balance(&mut conn, ctx.company_id(), &from, &to).await?;
    let totals =
        rows.iter().fold((0, 0, 0, 0), |t, r| (t.0 + r.opening, t.1 + r.debit, t.2 + r.credit, t.3 + r.closing));
    if let Some(format) = export(&q) {
        let header: Vec<String> = [
            "finance.code",
            "finance.name",
            "finance.opening",
            "finance.movement_debit",
            "finance.movement_credit",
            "finance.closing",
        ]
        .iter()
        .map(|k| ctx.t(k))
        .collect();
        let data: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![r.code.clone(), r.name_zh.clone(), yuan(r.opening), yuan(r.debit), yuan(r.credit), yuan(r.closing)]
            })
            .collect();
        return download(format, &format!("trial-balance-{from}-{to}"), &header, &data);
    }
    render(&TrialBalancePage {
        page: PageCtx::new(&ctx, "finance.trial_balance", "/finance/reports/trial-balance")
            .await?
            .as_report(format!("{from} — {to}"), ""),
        from,
        to,
        rows,
        totals,
    })
}

#[derive(Template)]
#[template(path = "finance/statement.html")]
struct StatementPage {
    page: PageCtx,
    action: &'static str,
    statement: &'static str,
    /// The first month a figure's drill-down covers: the balance sheet's from January.
    drill_from: String,
    from: Option<String>,
    to: String,
    rows: Vec<StatementRow>,
    current_label: String,
    comparison_label: String,
}

fn statement_download(
    ctx: &Ctx,
    format: &str,
    name: &str,
    rows: &[StatementRow],
    current: &str,
    comparison: &str,
) -> AppResult<Response> {
    let header = vec![ctx.t("finance.line"), current.to_string(), comparison.to_string()];
    let data: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                if ctx.lang == kernel::Lang::En { r.label_en } else { r.label_zh }.to_string(),
                yuan(r.amount),
                yuan(r.comparison),
            ]
        })
        .collect();
    download(format, name, &header, &data)
}

pub async fn balance_sheet(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let period = chosen_period(&ctx, "period", q.period.as_deref().or(q.to.as_deref()))?;
    let mut conn = conn(&ctx).await?;
    let rows = service::balance_sheet(&mut conn, ctx.company_id(), &period).await?;
    let (form_number, _) = chart::template(&mut conn, ctx.company_id()).await?.form_numbers();
    if let Some(format) = export(&q) {
        return statement_download(
            &ctx,
            format,
            &format!("balance-sheet-{period}"),
            &rows,
            &ctx.t("finance.balance_end"),
            &ctx.t("finance.balance_last_year"),
        );
    }
    render(&StatementPage {
        page: PageCtx::new(&ctx, "finance.balance_sheet", "/finance/reports/balance-sheet")
            .await?
            .as_report(service::last_day(&period), form_number),
        action: "/finance/reports/balance-sheet",
        statement: service::Statement::BalanceSheet.key(),
        drill_from: format!("{}-01", &period[..4]),
        from: None,
        to: period,
        rows,
        current_label: ctx.t("finance.balance_end"),
        comparison_label: ctx.t("finance.balance_last_year"),
    })
}

pub async fn income_statement(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let to = chosen_period(&ctx, "to", q.to.as_deref())?;
    let from = match q.from.as_deref().filter(|v| !v.is_empty()) {
        Some(_) => chosen_period(&ctx, "from", q.from.as_deref())?,
        None => to.clone(),
    };
    let mut conn = conn(&ctx).await?;
    let rows = service::income_statement(&mut conn, ctx.company_id(), &from, &to).await?;
    let (_, form_number) = chart::template(&mut conn, ctx.company_id()).await?.form_numbers();
    if let Some(format) = export(&q) {
        return statement_download(
            &ctx,
            format,
            &format!("income-statement-{from}-{to}"),
            &rows,
            &ctx.t("finance.current"),
            &ctx.t("finance.comparison"),
        );
    }
    render(&StatementPage {
        page: PageCtx::new(&ctx, "finance.income_statement", "/finance/reports/income-statement")
            .await?
            .as_report(format!("{from} — {to}"), form_number),
        action: "/finance/reports/income-statement",
        statement: service::Statement::IncomeStatement.key(),
        drill_from: from.clone(),
        from: Some(from),
        to,
        rows,
        current_label: ctx.t("finance.current"),
        comparison_label: ctx.t("finance.comparison"),
    })
}

#[derive(Template)]
#[template(path = "finance/statement_line.html")]
struct StatementLinePage {
    page: PageCtx,
    statement: &'static str,
    from: String,
    to: String,
    detail: service::LineDetail,
}

#[derive(Deserialize)]
pub struct LineQuery {
    statement: String,
    line: String,
    from: Option<String>,
    to: Option<String>,
}

/// The drill-down of a balance-sheet or income-statement figure: the accounts behind it (each
/// opening its ledger, and from there its vouchers) or the lines a subtotal adds.
pub async fn statement_line(ctx: Ctx, Query(q): Query<LineQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let statement = service::Statement::parse(&q.statement).ok_or(DomainError::NotFound("statement"))?;
    let to = chosen_period(&ctx, "to", q.to.as_deref())?;
    let from = match q.from.as_deref().filter(|v| !v.is_empty()) {
        Some(_) => chosen_period(&ctx, "from", q.from.as_deref())?,
        None => format!("{}-01", &to[..4]),
    };
    let mut conn = conn(&ctx).await?;
    let detail = service::statement_line(&mut conn, ctx.company_id(), statement, &q.line, &from, &to).await?;
    let (title_key, path, subtitle) = match statement {
        service::Statement::BalanceSheet => {
            ("finance.balance_sheet", "/finance/reports/balance-sheet", service::last_day(&to))
        }
        service::Statement::IncomeStatement => {
            ("finance.income_statement", "/finance/reports/income-statement", format!("{from} — {to}"))
        }
    };
    let label = if ctx.lang == kernel::Lang::En { detail.label_en } else { detail.label_zh };
    let title = format!("{} · {}", ctx.t(title_key), label.trim_start_matches(['一', '二', '三', '四', '、']));
    let page = PageCtx::new(&ctx, title_key, path).await?.titled(title).as_report(subtitle, "");
    render(&StatementLinePage { page, statement: statement.key(), from, to, detail })
}

#[derive(Template)]
#[template(path = "finance/periods.html")]
struct PeriodsPage {
    page: PageCtx,
    periods: Vec<(String, String)>,
    can_close: bool,
    can_reopen: bool,
    /// Whether the revaluation form shows: the user may post and a month is open.
    can_revalue: bool,
    /// Why the revaluation just sent was refused (the one form on the page that can be).
    errors: Vec<(String, String)>,
    /// The revaluation form as sent (month and rate rows), or empty: a refused form keeps what
    /// was typed into it.
    sent: (String, Vec<service::RateForm>),
}

impl PeriodsPage {
    /// The rate rows to show: what was sent, then empty rows up to three, each with an example
    /// currency as its placeholder.
    fn rate_rows(&self) -> Vec<(&'static str, &str, &str)> {
        let examples = ["USD", "EUR", "HKD"];
        let mut rows: Vec<(&'static str, &str, &str)> =
            self.sent.1.iter().map(|r| ("", r.currency.as_str(), r.rate.as_str())).collect();
        for example in examples.iter().skip(rows.len()) {
            rows.push((example, "", ""));
        }
        rows
    }
}

pub async fn periods(ctx: Ctx) -> AppResult<Response> {
    render(&periods_page(&ctx, Vec::new(), (String::new(), Vec::new())).await?)
}

async fn periods_page(
    ctx: &Ctx,
    errors: Vec<(String, String)>,
    sent: (String, Vec<service::RateForm>),
) -> AppResult<PeriodsPage> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let periods = service::periods(&mut conn, ctx.company_id()).await?;
    let can_revalue = ctx.principal.may(service::POST) && periods.iter().any(|(_, status)| status == "open");
    Ok(PeriodsPage {
        page: PageCtx::new(ctx, "finance.periods", "/finance/periods").await?,
        periods,
        can_close: ctx.principal.may(service::CLOSE),
        can_reopen: ctx.principal.may(service::REOPEN),
        can_revalue,
        errors,
        sent,
    })
}

pub async fn close(ctx: Ctx, Path(period): Path<String>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::close_period(&mut tx, &ctx.principal, &period).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, "/finance/periods", "finance.closed_ok"))
}

/// Revalues foreign-currency balances at the end of a month, from the periods page: one rate
/// per row, rows left empty ignored.
pub async fn revalue(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let period = pairs.text("period");
    let rates: Vec<service::RateForm> = pairs
        .rows(&["currency", "rate"])
        .into_iter()
        .filter(|[currency, rate]| !currency.trim().is_empty() || !rate.trim().is_empty())
        .map(|[currency, rate]| service::RateForm { currency, rate })
        .collect();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let posted = match service::revalue_foreign(&mut tx, &ctx.principal, &period, &rates).await {
        Ok((posted, _)) => posted,
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            let errors = field_messages(&ctx, &errors);
            let page = periods_page(&ctx, errors, (period, rates)).await?;
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(match posted {
        Some((id, _)) => flash_redirect(&ctx, &format!("/finance/entries/{id}"), "finance.posted_ok"),
        None => flash_redirect(&ctx, "/finance/periods", "finance.revalue_nothing"),
    })
}

pub async fn reopen(ctx: Ctx, Path(period): Path<String>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::reopen_period(&mut tx, &ctx.principal, &period).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, "/finance/periods", "common.saved"))
}

#[derive(Template)]
#[template(path = "finance/account_ledger.html")]
struct LedgerPage {
    page: PageCtx,
    code: String,
    from: String,
    to: String,
    opening: i64,
    lines: Vec<service::LedgerLine>,
}

/// The range of a report: `to` defaults to this month, `from` to January of that year.
fn range(ctx: &Ctx, q: &PeriodQuery) -> Result<(String, String), AppError> {
    let to = chosen_period(ctx, "to", q.to.as_deref())?;
    let from = match q.from.as_deref().filter(|v| !v.is_empty()) {
        Some(_) => chosen_period(ctx, "from", q.from.as_deref())?,
        None => format!("{}-01", &to[..4]),
    };
    Ok((from, to))
}

/// The entries behind a trial-balance figure.
pub async fn account_ledger(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let (from, to) = range(&ctx, &q)?;
    let code = q.code.clone().unwrap_or_default();
    let mut conn = conn(&ctx).await?;
    let (opening, lines) = service::account_ledger(&mut conn, ctx.company_id(), &code, &from, &to).await?;
    if let Some(format) = export(&q) {
        let header: Vec<String> = [
            "finance.date",
            "finance.number",
            "finance.account",
            "finance.memo",
            "finance.debit",
            "finance.credit",
            "finance.balance",
        ]
        .iter()
        .map(|k| ctx.t(k))
        .collect();
        let data: Vec<Vec<String>> = lines
            .iter()
            .map(|l| {
                vec![
                    l.date.clone(),
                    l.number.clone().unwrap_or_default(),
                    l.account.clone(),
                    l.memo.clone(),
                    yuan(l.debit),
                    yuan(l.credit),
                    yuan(l.balance),
                ]
            })
            .collect();
        return download(format, &format!("account-{code}-{from}-{to}"), &header, &data);
    }
    let title = format!("{} {code}", ctx.t("finance.account_ledger"));
    let page = PageCtx::new(&ctx, "finance.trial_balance", "/finance/reports/trial-balance")
        .await?
        .titled(title)
        .as_report(format!("{from} — {to}"), "");
    render(&LedgerPage { page, code, from, to, opening, lines })
}

#[derive(Template)]
#[template(path = "finance/cost_centers.html")]
struct CostPage {
    page: PageCtx,
    from: String,
    to: String,
    rows: Vec<service::CostRow>,
}

/// Costs and expenses by cost centre.
pub async fn cost_centers(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let (from, to) = range(&ctx, &q)?;
    let mut conn = conn(&ctx).await?;
    let rows = service::costs_by_center(&mut conn, ctx.company_id(), &from, &to).await?;
    if let Some(format) = export(&q) {
        let header: Vec<String> = ["finance.cost_center", "finance.code", "finance.name", "finance.amount"]
            .iter()
            .map(|k| ctx.t(k))
            .collect();
        let data: Vec<Vec<String>> = rows
            .iter()
            .map(|r| vec![r.cost_center.clone(), r.code.clone(), r.name_zh.clone(), yuan(r.amount)])
            .collect();
        return download(format, &format!("cost-centres-{from}-{to}"), &header, &data);
    }
    render(&CostPage {
        page: PageCtx::new(&ctx, "finance.cost_centers", "/finance/reports/cost-centers")
            .await?
            .as_report(format!("{from} — {to}"), ""),
        from,
        to,
        rows,
    })
}

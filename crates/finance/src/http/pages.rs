//! Finance pages: chart of accounts, vouchers (list, entry form without JavaScript, detail
//! with post and reverse), trial balance, balance sheet, income statement, periods.

use super::api::{slice_choice, slice_query, LineQuery, PeriodQuery};
use super::{figures_or_refusal, typed};
use crate::budgets::{self, BudgetForm, BudgetReport, Execution};
use crate::chart;
use crate::costs::{self, CostReport};
use crate::dimensions::{self, Dimension};
use crate::domain::{self, yuan, EntryForm, LineForm, WORDS};
use crate::invoicing;
use crate::review::{Rules, Signature, SIGNATURES};
use crate::service::{self, Account, EntrySummary, StatementRow, StoredEntry, TrialBalanceRow};
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use kernel::DomainError;
use web::page::{
    download, field_messages, finish_form, flash_redirect, messages_elsewhere, messages_for, render, Refused,
};
use web::{AppError, AppResult, Ctx, FormPairs, PageCtx};

/// Lines shown on a new voucher form; a longer voucher is entered through the API or in parts.
const FORM_LINES: usize = 8;

async fn conn(ctx: &Ctx) -> AppResult<db::Conn> {
    Ok(ctx.db().read_conn().await?)
}

/// This month in China Standard Time, the default period of the pages.
pub(super) fn this_period(ctx: &Ctx) -> String {
    (ctx.db().clock().now() + chrono::Duration::hours(8)).format("%Y-%m").to_string()
}

#[derive(Template)]
#[template(path = "finance/accounts.html")]
struct AccountsPage {
    page: PageCtx,
    accounts: Vec<Account>,
    /// The form just refused (setting up the books, or adding a sub-account; their fields do
    /// not collide, so they keep their own names): it shows again as typed, messages beside.
    refused: Refused,
    year: String,
    can_manage: bool,
    /// The chart the books were set up from, and the keys offered when they are not yet.
    template: &'static str,
    templates: Vec<&'static str>,
    /// The company's VAT rounding, `line` or `document`.
    vat_rounding: &'static str,
    /// `general`, `small_scale` or `small_scale_quarterly`.
    taxpayer: &'static str,
    /// The company's surtax settings.
    surtaxes: crate::surtaxes::Settings,
    /// The signatures hand-made vouchers need before posting, each as its setting's name
    /// (`review_vouchers`, `cashier_signs`) and `on` or `off`.
    rules: Vec<(&'static str, &'static str)>,
}

impl AccountsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    /// Refusals that name no field of the forms, shown above them.
    fn other_errors(&self) -> Vec<&str> {
        let shown = [
            "template",
            "year",
            "first_month",
            "parent",
            "code",
            "name_zh",
            "name_en",
            "vat_rounding",
            "taxpayer",
            "urban_tax_rate",
            "surtax_relief",
        ];
        messages_elsewhere(&self.refused.errors, &shown)
            .into_iter()
            .filter(|m| !self.refused.errors.iter().any(|(f, shown)| f.starts_with("account ") && shown == m))
            .collect()
    }

    /// The refusal of archiving, restoring or deleting one account, shown on its row.
    fn row_errors(&self, code: &str) -> Vec<&str> {
        self.refused.messages_of(&format!("account {code}"))
    }

    /// The urban construction tax rates offered: (value as sent, label key).
    fn urban_rates(&self) -> Vec<(String, String)> {
        crate::surtaxes::URBAN_RATES_BP
            .iter()
            .map(|bp| (rust_decimal::Decimal::new(*bp, 2).normalize().to_string(), format!("finance.urban_rate.{bp}")))
            .collect()
    }

    /// The company's urban construction tax rate as its select sends it: `7`.
    fn urban_rate(&self) -> String {
        rust_decimal::Decimal::new(self.surtaxes.urban_rate_bp, 2).normalize().to_string()
    }

    /// What the refused form held in a field, or the field's usual value.
    fn typed(&self, field: &str, usual: &str) -> String {
        self.refused.typed(field, usual)
    }
}

async fn accounts_page(ctx: &Ctx, refused: Refused) -> AppResult<AccountsPage> {
    let mut conn = conn(ctx).await?;
    Ok(AccountsPage {
        page: PageCtx::new(ctx, "finance.accounts", "/finance/accounts").await?,
        template: chart::template(&mut conn, ctx.company_id()).await?.key(),
        templates: chart::TEMPLATES.iter().map(|t| t.key()).collect(),
        vat_rounding: invoicing::vat_rounding(&mut conn, ctx.company_id()).await?.key(),
        taxpayer: invoicing::taxpayer(&mut conn, ctx.company_id()).await?.key(),
        surtaxes: crate::surtaxes::settings(&mut conn, ctx.company_id()).await?,
        rules: {
            let rules = crate::review::rules(&mut conn, ctx.company_id()).await?;
            SIGNATURES.iter().map(|s| (s.setting(), if rules.asks_for(*s) { "on" } else { "off" })).collect()
        },
        accounts: service::accounts(&mut conn, ctx.company_id()).await?,
        refused,
        year: this_period(ctx)[..4].to_string(),
        can_manage: ctx.principal.may(service::ACCOUNTS),
    })
}

pub async fn accounts(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::READ)?;
    render(&accounts_page(&ctx, Refused::default()).await?)
}

/// Sets up the books from the chosen chart, for a year from its first month.
pub async fn setup(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = async {
        let year: i32 = pairs.get("year").and_then(|y| y.trim().parse().ok()).unwrap_or(0);
        if !(2000..=2100).contains(&year) {
            return Err(DomainError::invalid("year", "error.finance.period", pairs.text("year")).into());
        }
        let template = chart::Template::chosen(pairs.get("template"))?;
        let first_month: u32 = match pairs.get("first_month").map(str::trim).filter(|m| !m.is_empty()) {
            None => 1,
            Some(m) => m.parse().unwrap_or(0),
        };
        service::set_up_books(&mut tx, &ctx.principal, template, year, first_month).await
    }
    .await;
    accounts_changed(&ctx, tx, outcome, pairs).await
}

/// Commits a change to the chart and goes back to it, or shows the chart again (422) with
/// each refusal beside its field and the form as it was sent; nothing is stored then.
async fn accounts_changed<T>(ctx: &Ctx, tx: db::Tx, outcome: db::Result<T>, pairs: FormPairs) -> AppResult<Response> {
    finish_form(
        ctx,
        tx,
        outcome,
        |_| ("/finance/accounts".into(), "common.created"),
        async |errors| accounts_page(ctx, Refused::new(ctx, "", errors, pairs)).await,
    )
    .await
}

pub async fn add_account(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = service::AccountForm {
        parent: pairs.text("parent"),
        code: pairs.text("code"),
        name_zh: pairs.text("name_zh"),
        name_en: pairs.text("name_en"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::add_sub_account(&mut tx, &ctx.principal, &form).await;
    accounts_changed(&ctx, tx, outcome, pairs).await
}

/// Saves the books' settings: VAT rounding per line or per document, and the surtaxes'.
pub async fn settings(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let mut problems = kernel::error::Problems::default();
    let rounding = match pairs.get("vat_rounding") {
        None => None,
        Some(key @ ("line" | "document")) => Some(crate::vat::VatRounding::from_key(key)),
        Some(other) => {
            problems.add("vat_rounding", "error.finance.vat_rounding", other);
            None
        }
    };
    let mut rules = Vec::new();
    for signature in SIGNATURES {
        let setting = signature.setting();
        match pairs.get(setting) {
            None => {}
            Some("on") => rules.push((signature, true)),
            Some("off") => rules.push((signature, false)),
            Some(other) => problems.add(setting, signature.setting_refusal(), other),
        }
    }
    let surtaxes = crate::surtaxes::SettingsForm {
        urban_tax_rate: pairs.get("urban_tax_rate").map(str::to_string),
        surtax_relief: pairs.get("surtax_relief").map(str::to_string),
    };
    let taxpayer = pairs.get("taxpayer").map(str::to_string);
    let settings = super::BooksSettings { vat_rounding: rounding, taxpayer, surtaxes, rules };
    let outcome = super::change_settings(&mut tx, &ctx.principal, &settings, problems).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| ("/finance/accounts".into(), "common.saved"),
        async |errors| accounts_page(&ctx, Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

/// Archives, restores or deletes one account from its row of the chart; a refusal (an
/// account with entries cannot be deleted, say) shows on that row.
pub async fn change_account(ctx: Ctx, Path((code, action)): Path<(String, String)>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = match action.as_str() {
        "archive" => service::archive_account(&mut tx, &ctx.principal, &code).await,
        "restore" => service::restore_account(&mut tx, &ctx.principal, &code).await,
        "delete" => service::delete_account(&mut tx, &ctx.principal, &code).await,
        _ => Err(DomainError::NotFound("page").into()),
    };
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| ("/finance/accounts".into(), "common.saved"),
        async |errors| {
            accounts_page(&ctx, Refused::new(&ctx, &format!("account {code}"), errors, FormPairs::default())).await
        },
    )
    .await
}

/// The download format asked for (`csv` or `xlsx`), if any.
pub(super) fn export(q: &PeriodQuery) -> Option<&str> {
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
    /// The stage shown (`service::Stage` key), and those offered.
    stage: &'static str,
    stages: [service::Stage; 6],
    entries: Vec<EntrySummary>,
    /// A month that could not be read, by field, shown beside it.
    errors: Vec<(String, String)>,
}

pub async fn entries(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::READ)?;
    // Drafts wait in whatever month they were dated, so a list of them covers every month
    // unless one is named; any other list shows this month by default.
    let read: AppResult<_> = async {
        let stage = service::Stage::parse("stage", q.stage.as_deref())?;
        let period = match q.period.as_deref().filter(|p| !p.is_empty()) {
            None if stage.spans_months() => None,
            given => Some(chosen_period(&ctx, "period", given)?),
        };
        let mut conn = conn(&ctx).await?;
        let entries = service::entries(&mut conn, ctx.company_id(), period.as_deref(), stage).await?;
        Ok((entries, period.unwrap_or_default(), stage.key()))
    }
    .await;
    let ((entries, period, stage), errors) = match figures_or_refusal(&ctx, read)? {
        Ok(figures) => (figures, Vec::new()),
        Err(errors) => ((Vec::new(), typed(&q.period), service::Stage::All.key()), errors),
    };
    let page = PageCtx::new(&ctx, "finance.entries", "/finance/entries").await?;
    let refused = !errors.is_empty();
    let stages = service::Stage::ALL;
    web::page::render_answer(&EntriesPage { page, period, stage, stages, entries, errors }, refused)
}

#[derive(Template)]
#[template(path = "finance/entry_form.html")]
struct EntryFormPage {
    page: PageCtx,
    /// Where the form goes: a new voucher, or the draft being changed.
    action: String,
    form: EntryForm,
    words: Vec<&'static str>,
    /// Refusals of the voucher sent, by field (`lines[i]` for the i-th line, `lines` for the
    /// voucher as a whole: one that does not balance, with the difference).
    errors: Vec<(String, String)>,
    accounts: Vec<Account>,
    /// Customers and suppliers a line may name, as (number, name).
    parties: Vec<(String, String)>,
    /// The active cost centres and projects a line may name, offered as the field is typed.
    cost_centers: Vec<dimensions::Tag>,
    projects: Vec<dimensions::Tag>,
    /// Whether a voucher may need a signature before it is posted (a review, or the cashier's
    /// when it moves cash), so "save and post" is not offered.
    signatures_required: bool,
    /// Set when the form enters opening balances.
    opening: Option<OpeningMode>,
}

/// The opening balances' form: the month they stand in, the opening vouchers posted so far,
/// as (id, number, total), and the open document typed on each line (in place of its cost
/// centre and project, which opening balances do not take).
struct OpeningMode {
    period: String,
    vouchers: Vec<(i64, String, i64)>,
    documents: Vec<invoicing::OpeningDocumentForm>,
    /// For books started after January, the year-to-date figures of the months before them
    /// (stored, or as typed when refused), the last of those months, and the refusals.
    year_to_date: Option<YearToDateForm>,
}

/// The form of the income and expense figures of the year's months before the books' first.
struct YearToDateForm {
    through: String,
    lines: Vec<crate::opening::YearToDateLine>,
    errors: Vec<(String, String)>,
}

impl YearToDateForm {
    fn errors_for(&self, field: &str) -> Vec<&str> {
        messages_for(&self.errors, field)
    }
}

impl OpeningMode {
    /// The document typed on line `i`, blank if none.
    fn document(&self, i: &usize) -> invoicing::OpeningDocumentForm {
        self.documents.get(*i).cloned().unwrap_or_default()
    }
}

impl EntryFormPage {
    fn errors_for(&self, field: &str) -> Vec<&str> {
        messages_for(&self.errors, field)
    }

    /// Refusals of what the form has no field for, shown above it.
    fn other_errors(&self) -> Vec<&str> {
        messages_elsewhere(&self.errors, &["date", "word", "memo", "lines", "lines[]"])
    }
}

async fn entry_form_page(
    ctx: &Ctx,
    draft: Option<i64>,
    mut form: EntryForm,
    errors: Vec<(String, String)>,
) -> AppResult<EntryFormPage> {
    // Room for two more lines than are filled in, and never fewer than a new form has.
    while form
        .lines
        .last()
        .is_some_and(|l| l.account.trim().is_empty() && l.debit.trim().is_empty() && l.credit.trim().is_empty())
    {
        form.lines.pop();
    }
    let shown = FORM_LINES.max(form.lines.len() + 2);
    form.lines.resize(shown, LineForm::default());
    let mut conn = conn(ctx).await?;
    let accounts = service::accounts(&mut conn, ctx.company_id()).await?.into_iter().filter(|a| !a.archived).collect();
    let parties = sqlx::query(
        "SELECT p.number, p.name FROM parties p WHERE p.company_id = $1 AND p.archived_at IS NULL \
         AND EXISTS (SELECT 1 FROM party_roles r WHERE r.party_id = p.id AND r.role IN ('customer', 'supplier')) \
         ORDER BY p.name LIMIT 1000",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|r| Ok((sqlx::Row::try_get(r, "number")?, sqlx::Row::try_get(r, "name")?)))
    .collect::<Result<Vec<(String, String)>, sqlx::Error>>()?;
    let cost_centers = dimensions::offered(&mut conn, ctx.company_id(), Dimension::CostCenter).await?;
    let projects = dimensions::offered(&mut conn, ctx.company_id(), Dimension::Project).await?;
    let (title, action) = match draft {
        None => ("finance.entry_new", "/finance/entries".to_string()),
        Some(id) => ("finance.entry_edit", format!("/finance/entries/{id}/edit")),
    };
    Ok(EntryFormPage {
        page: PageCtx::new(ctx, title, "/finance/entries").await?,
        action,
        form,
        words: WORDS.to_vec(),
        errors,
        accounts,
        parties,
        cost_centers,
        projects,
        signatures_required: crate::review::rules(&mut conn, ctx.company_id()).await?.any(),
        opening: None,
    })
}

/// The opening balances' form (期初余额): the voucher form without its day and word, which the
/// ledger sets, and the opening vouchers posted so far.
async fn opening_page(
    ctx: &Ctx,
    form: EntryForm,
    documents: Vec<invoicing::OpeningDocumentForm>,
    errors: Vec<(String, String)>,
    typed_year_to_date: Option<YearToDateForm>,
) -> AppResult<EntryFormPage> {
    let mut page = entry_form_page(ctx, None, form, errors).await?;
    let mut conn = conn(ctx).await?;
    let first = service::first_period(&mut conn, ctx.company_id()).await?;
    let period = first.as_deref().map(service::opening_period).unwrap_or_default();
    let year_to_date = match first.as_deref() {
        Some(first) if !first.ends_with("-01") => {
            let (mut lines, errors) = match typed_year_to_date {
                Some(typed) => (typed.lines, typed.errors),
                None => {
                    let stored = crate::opening::year_to_date(&mut conn, ctx.company_id()).await?;
                    let text = |fen: i64| if fen == 0 { String::new() } else { domain::yuan(fen) };
                    let lines = stored
                        .iter()
                        .map(|f| crate::opening::YearToDateLine {
                            account: f.code.clone(),
                            debit: text(f.debit),
                            credit: text(f.credit),
                        })
                        .collect();
                    (lines, Vec::new())
                }
            };
            lines.resize(FORM_LINES.max(lines.len() + 2), crate::opening::YearToDateLine::default());
            Some(YearToDateForm { through: domain::previous_month(first), lines, errors })
        }
        // Books from January have no such form: a refusal of figures sent anyway shows above.
        _ => {
            page.errors.extend(typed_year_to_date.map(|typed| typed.errors).unwrap_or_default());
            None
        }
    };
    let vouchers = sqlx::query(
        "SELECT e.id, e.number, CAST(SUM(l.debit) AS BIGINT) AS total FROM fin_entries e \
         JOIN fin_entry_lines l ON l.entry_id = e.id WHERE e.company_id = $1 AND e.kind = $2 AND e.status = 'posted' \
         GROUP BY e.id, e.number ORDER BY e.id",
    )
    .bind(ctx.company_id())
    .bind(service::OPENING)
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|r| Ok((sqlx::Row::try_get(r, "id")?, sqlx::Row::try_get(r, "number")?, sqlx::Row::try_get(r, "total")?)))
    .collect::<Result<Vec<(i64, String, i64)>, sqlx::Error>>()?;
    page.page = PageCtx::new(ctx, "finance.opening_balances", "/finance/opening").await?;
    page.action = "/finance/opening".into();
    page.opening = Some(OpeningMode { period, vouchers, documents, year_to_date });
    Ok(page)
}

pub async fn opening(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::ACCOUNTS)?;
    let form = EntryForm { date: String::new(), word: "转".into(), memo: String::new(), lines: Vec::new() };
    render(&opening_page(&ctx, form, Vec::new(), Vec::new(), None).await?)
}

/// Sets the year-to-date figures of the months before the books' first, going back to the
/// opening balances' page, or shows it again with each refusal beside its line.
pub async fn set_year_to_date(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let (accounts, debits, credits) = (pairs.all("ytd_account"), pairs.all("ytd_debit"), pairs.all("ytd_credit"));
    let lines: Vec<_> = (0..accounts.len())
        .map(|i| crate::opening::YearToDateLine {
            account: accounts[i].clone(),
            debit: debits.get(i).cloned().unwrap_or_default(),
            credit: credits.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let result = crate::opening::set_year_to_date(&mut tx, &ctx.principal, &lines).await;
    finish_form(
        &ctx,
        tx,
        result,
        |_| ("/finance/opening#year-to-date".to_string(), "common.saved"),
        async |errors| {
            let blank = EntryForm { date: String::new(), word: "转".into(), memo: String::new(), lines: Vec::new() };
            let typed = YearToDateForm { through: String::new(), lines, errors: field_messages(&ctx, &errors) };
            opening_page(&ctx, blank, Vec::new(), Vec::new(), Some(typed)).await
        },
    )
    .await
}

/// Posts the opening balances typed, going to their voucher, or shows the form again with each
/// refusal beside its line.
pub async fn post_opening(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = entry_form_from(&pairs);
    let (numbers, dates, due_dates) = (pairs.all("document_number"), pairs.all("document_date"), pairs.all("due_date"));
    let documents: Vec<_> = (0..form.lines.len())
        .map(|i| invoicing::OpeningDocumentForm {
            number: numbers.get(i).cloned().unwrap_or_default(),
            date: dates.get(i).cloned().unwrap_or_default(),
            due_date: due_dates.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let result = crate::opening::post_opening(&mut tx, &ctx.principal, &form, &documents).await;
    finish_form(
        &ctx,
        tx,
        result,
        |opened| (format!("/finance/entries/{}", opened.voucher.entry_id), "finance.posted_ok"),
        async |errors| opening_page(&ctx, form, documents, field_messages(&ctx, &errors), None).await,
    )
    .await
}

/// The new-voucher form: empty, or a copy of voucher `copy` (复制凭证) dated today, to save as
/// a new draft.
pub async fn new_entry(ctx: Ctx, Query(q): Query<NewEntryQuery>) -> AppResult<Response> {
    ctx.require(service::CREATE)?;
    let form = match q.copy.as_deref() {
        None => EntryForm { date: ctx.today().to_string(), word: "记".into(), memo: String::new(), lines: Vec::new() },
        Some(id) => {
            let mut conn = conn(&ctx).await?;
            let entry = service::load_entry(&mut conn, ctx.company_id(), super::path_id(id, "entry")?)
                .await?
                .ok_or(DomainError::NotFound("entry"))?;
            EntryForm { date: ctx.today().to_string(), ..as_form(entry) }
        }
    };
    render(&entry_form_page(&ctx, None, form, Vec::new()).await?)
}

#[derive(serde::Deserialize)]
pub struct NewEntryQuery {
    /// The voucher to copy.
    copy: Option<String>,
}

/// A stored voucher as its form shows it: amounts in yuan (blank for none), each line's party
/// by its number.
fn as_form(entry: StoredEntry) -> EntryForm {
    let amount = |fen: i64| if fen == 0 { String::new() } else { yuan(fen) };
    let lines = entry
        .lines
        .iter()
        .zip(&entry.line_parties)
        .map(|(l, party)| {
            let (currency, foreign_amount, rate) = match &l.foreign {
                Some((code, minor, rate)) => {
                    let shown = kernel::Currency::from_code(code)
                        .map(|c| kernel::Money::from_minor(*minor, c).to_decimal().to_string())
                        .unwrap_or_default();
                    (code.clone(), shown, rate.clone())
                }
                None => ("CNY".to_string(), String::new(), String::new()),
            };
            LineForm {
                account: l.account.clone(),
                debit: amount(l.debit),
                credit: amount(l.credit),
                cost_center: l.cost_center.clone(),
                project: l.project.clone(),
                memo: l.memo.clone(),
                currency,
                foreign_amount,
                rate,
                party: party.as_ref().map(|(number, _)| number.clone()).unwrap_or_default(),
            }
        })
        .collect();
    EntryForm { date: entry.date, word: entry.word, memo: entry.memo, lines }
}

/// The voucher a form sent: its header and lines as typed.
fn entry_form_from(pairs: &FormPairs) -> EntryForm {
    let accounts = pairs.all("account");
    let debits = pairs.all("debit");
    let credits = pairs.all("credit");
    let centers = pairs.all("cost_center");
    let projects = pairs.all("project");
    let memos = pairs.all("line_memo");
    let (currencies, foreign_amounts, rates) = (pairs.all("currency"), pairs.all("foreign_amount"), pairs.all("rate"));
    let parties = pairs.all("party");
    let lines = (0..accounts.len())
        .map(|i| LineForm {
            account: accounts[i].clone(),
            debit: debits.get(i).cloned().unwrap_or_default(),
            credit: credits.get(i).cloned().unwrap_or_default(),
            cost_center: centers.get(i).cloned().unwrap_or_default(),
            project: projects.get(i).cloned().unwrap_or_default(),
            memo: memos.get(i).cloned().unwrap_or_default(),
            currency: currencies.get(i).cloned().unwrap_or_default(),
            foreign_amount: foreign_amounts.get(i).cloned().unwrap_or_default(),
            rate: rates.get(i).cloned().unwrap_or_default(),
            party: parties.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    EntryForm { date: pairs.text("date"), word: pairs.text("word"), memo: pairs.text("memo"), lines }
}

pub async fn create_entry(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = entry_form_from(&pairs);
    let post_now = pairs.get("post") == Some("true");
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let result = match service::create_draft(&mut tx, &ctx.principal, &form).await {
        Ok(id) if post_now => crate::drafts::post(&mut tx, &ctx.principal, id).await.map(|_| id),
        other => other,
    };
    let flash = if post_now { "finance.posted_ok" } else { "common.created" };
    finish_form(
        &ctx,
        tx,
        result,
        |id| (format!("/finance/entries/{id}"), flash),
        async |errors| entry_form_page(&ctx, None, form, field_messages(&ctx, &errors)).await,
    )
    .await
}

/// The form of a draft voucher, filled with what it holds.
pub async fn edit_entry(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    ctx.require(service::CREATE)?;
    let id = super::path_id(&id, "entry")?;
    let mut conn = conn(&ctx).await?;
    let entry = service::load_entry(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("entry"))?;
    drop(conn);
    if entry.status != "draft" {
        return Err(DomainError::Conflict("a posted voucher never changes; reverse it instead".into()).into());
    }
    if entry.reversal_of.is_some() {
        return Err(DomainError::Conflict(service::REVERSAL_UNCHANGED.into()).into());
    }
    render(&entry_form_page(&ctx, Some(id), as_form(entry), Vec::new()).await?)
}

/// Saves the changed draft (and posts it, when asked), or shows the form again with each
/// refusal beside its line.
pub async fn update_entry(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let form = entry_form_from(&pairs);
    let post_now = pairs.get("post") == Some("true");
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let result = match service::update_draft(&mut tx, &ctx.principal, id, &form).await {
        Ok(()) if post_now => crate::drafts::post(&mut tx, &ctx.principal, id).await.map(|_| id),
        other => other.map(|()| id),
    };
    let flash = if post_now { "finance.posted_ok" } else { "common.saved" };
    finish_form(
        &ctx,
        tx,
        result,
        |id| (format!("/finance/entries/{id}"), flash),
        async |errors| entry_form_page(&ctx, Some(id), form, field_messages(&ctx, &errors)).await,
    )
    .await
}

/// Deletes a draft voucher from its page.
pub async fn delete_entry(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::delete_draft(&mut tx, &ctx.principal, id).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| ("/finance/entries".into(), "finance.draft_deleted"),
        async |errors| entry_view(&ctx, id, Refused::new(&ctx, "delete", errors, FormPairs::default())).await,
    )
    .await
}

#[derive(Template)]
#[template(path = "finance/entry.html")]
struct EntryPage {
    page: PageCtx,
    entry: StoredEntry,
    attachments: Vec<crate::attachments::Attachment>,
    /// The form just refused, if any: `attach` (the document), `post` or `reverse`.
    refused: Refused,
    today: String,
    can_post: bool,
    /// May change or delete a draft (and attach documents).
    can_attach: bool,
    /// The signatures the company's hand-made vouchers need before posting.
    rules: Rules,
    /// May review vouchers (and cancel a review) …
    may_review: bool,
    /// … and is neither this one's preparer nor its last editor, so may review it.
    can_review: bool,
    /// May sign vouchers for the cashier (and cancel the signature).
    may_sign_cash: bool,
    /// Whether the voucher has a line on a cash account.
    moves_cash: bool,
}

impl EntryPage {
    /// Whether the voucher has no document behind it and so is reversed as itself.
    fn stands_alone(&self) -> bool {
        service::STANDALONE_KINDS.contains(&self.entry.kind.as_str())
    }

    /// Whether this draft waits for a review before it can be posted.
    fn awaits_review(&self) -> bool {
        self.rules.review && self.reviewable() && self.entry.signatures.reviewed_by.is_none()
    }

    /// Whether this draft waits for the cashier's signature before it can be posted.
    fn awaits_cashier(&self) -> bool {
        self.rules.cashier && self.reviewable() && self.moves_cash && self.entry.signatures.cashier_by.is_none()
    }

    /// Whether the voucher is a draft of a kind review checks.
    fn reviewable(&self) -> bool {
        self.entry.status == "draft" && crate::review::REVIEWED_KINDS.contains(&self.entry.kind.as_str())
    }

    /// A signature as shown at the voucher's foot: the user's name, or blank.
    fn signed(&self, who: &Option<(i64, String)>) -> String {
        who.as_ref().map(|s| s.1.clone()).unwrap_or_default()
    }
}

pub async fn entry(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    render(&entry_view(&ctx, super::path_id(&id, "entry")?, Refused::default()).await?)
}

async fn entry_view(ctx: &Ctx, id: i64, refused: Refused) -> AppResult<EntryPage> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let entry = service::load_entry(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("entry"))?;
    let attachments = crate::attachments::list(&mut conn, ctx.company_id(), id).await?;
    let title =
        format!("{} {}", ctx.t("finance.entry"), entry.number.clone().unwrap_or_else(|| ctx.t("finance.status.draft")));
    let me = ctx.principal.user_id.0;
    let own = entry.signatures.prepared_by.as_ref().is_some_and(|s| s.0 == me) || entry.changed_by == Some(me);
    Ok(EntryPage {
        page: PageCtx::new(ctx, "finance.entries", "/finance/entries").await?.titled(title),
        rules: crate::review::rules(&mut conn, ctx.company_id()).await?,
        may_review: ctx.principal.may(Signature::Review.grant()),
        can_review: ctx.principal.may(Signature::Review.grant()) && !own,
        may_sign_cash: ctx.principal.may(Signature::Cashier.grant()),
        moves_cash: entry.lines.iter().any(|l| chart::is_cash_account(&l.account)),
        entry,
        attachments,
        refused,
        today: ctx.today().to_string(),
        can_post: ctx.principal.may(service::POST),
        can_attach: ctx.principal.may(service::CREATE),
    })
}

/// Attaches the uploaded document to the voucher; a refusal shows at the file field.
pub async fn attach(ctx: Ctx, Path(id): Path<String>, upload: web::Upload) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let (name, bytes) = upload.file.map(|f| (f.name, f.bytes)).unwrap_or_default();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let file = crate::attachments::NewAttachment { file_name: &name, bytes: &bytes };
    let outcome = crate::attachments::attach(&mut tx, &ctx.principal, id, &file).await;
    entry_changed(&ctx, tx, outcome, (id, "attach"), FormPairs::default(), "common.saved").await
}

/// Commits a form sent from a voucher's page and goes to the voucher it made (the same one, or
/// its reversal); a refusal shows the page again (422) with the message beside the form and
/// the values as sent, and nothing is stored.
async fn entry_changed(
    ctx: &Ctx,
    tx: db::Tx,
    outcome: db::Result<i64>,
    (id, form): (i64, &str),
    pairs: FormPairs,
    flash: &'static str,
) -> AppResult<Response> {
    finish_form(
        ctx,
        tx,
        outcome,
        |shown| (format!("/finance/entries/{shown}"), flash),
        async |errors| entry_view(ctx, id, Refused::new(ctx, form, errors, pairs)).await,
    )
    .await
}

pub async fn attachment(ctx: Ctx, Path((id, attachment)): Path<(String, String)>) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let (name, kind, bytes) = crate::attachments::content(
        &mut conn,
        &ctx.principal,
        super::path_id(&id, "entry")?,
        super::path_id(&attachment, "entry")?,
    )
    .await?;
    Ok(web::page::file_download(&name, &kind, bytes))
}

pub async fn remove_attachment(ctx: Ctx, Path((id, attachment)): Path<(String, String)>) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::attachments::remove(&mut tx, &ctx.principal, id, super::path_id(&attachment, "entry")?).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, &format!("/finance/entries/{id}"), "common.saved"))
}

/// Posts a draft voucher from its page; a refusal (the month is closed) shows beside the button.
pub async fn post_entry(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = crate::drafts::post(&mut tx, &ctx.principal, id).await.map(|_| id);
    entry_changed(&ctx, tx, outcome, (id, "post"), FormPairs::default(), "finance.posted_ok").await
}

/// Reviews a hand-made draft from its page; a refusal shows beside the button.
pub async fn review_entry(ctx: Ctx, id: Path<String>, pairs: FormPairs) -> AppResult<Response> {
    sign_entry(ctx, id, pairs, Signature::Review).await
}

/// Signs a hand-made draft for the cashier from its page; a refusal shows beside the button.
pub async fn sign_for_cashier(ctx: Ctx, id: Path<String>, pairs: FormPairs) -> AppResult<Response> {
    sign_entry(ctx, id, pairs, Signature::Cashier).await
}

async fn sign_entry(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs, signature: Signature) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    // The page sends the version it showed, so what is signed is what was read.
    let version = pairs.get("version").and_then(|v| v.trim().parse().ok());
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = crate::review::sign(&mut tx, &ctx.principal, signature, id, version).await.map(|()| id);
    let done = match signature {
        Signature::Review => "finance.reviewed_ok",
        Signature::Cashier => "finance.cashier_signed_ok",
    };
    entry_changed(&ctx, tx, outcome, (id, signature.field()), FormPairs::default(), done).await
}

/// Cancels a draft's review from its page.
pub async fn cancel_review(ctx: Ctx, id: Path<String>) -> AppResult<Response> {
    cancel_signature(ctx, id, Signature::Review).await
}

/// Cancels a draft's cashier's signature from its page.
pub async fn cancel_cashier(ctx: Ctx, id: Path<String>) -> AppResult<Response> {
    cancel_signature(ctx, id, Signature::Cashier).await
}

async fn cancel_signature(ctx: Ctx, Path(id): Path<String>, signature: Signature) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = crate::review::cancel(&mut tx, &ctx.principal, signature, id).await.map(|()| id);
    entry_changed(&ctx, tx, outcome, (id, signature.field()), FormPairs::default(), "common.saved").await
}

/// Reverses a posted voucher in red ink on the date given, and shows the reversal.
pub async fn reverse_entry(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::reverse_entry(&mut tx, &ctx.principal, id, &pairs.text("date")).await;
    entry_changed(&ctx, tx, outcome, (id, "reverse"), pairs, "finance.reversed_ok").await
}

#[derive(Template)]
#[template(path = "finance/trial_balance.html")]
struct TrialBalancePage {
    page: PageCtx,
    from: String,
    to: String,
    /// The books' first month: an opening balance is drilled into from there to the month
    /// before `from`.
    first_period: String,
    rows: Vec<TrialBalanceRow>,
    totals: (i64, i64, i64, i64),
    /// Months that could not be read, by field, shown beside them.
    errors: Vec<(String, String)>,
    /// The chooser of a cost centre or project, and the one chosen (`cost_center:SAL`).
    slices: Vec<(String, String)>,
    chosen_slice: String,
    /// The chosen one as its links carry it on (`&cost_center=SAL`); empty for all lines.
    within: String,
}

impl TrialBalancePage {
    /// The month before `from`, where the entries behind an opening balance end.
    fn before_from(&self) -> String {
        let (year, month): (i32, u32) = (self.from[..4].parse().unwrap_or(0), self.from[5..].parse().unwrap_or(1));
        if month == 1 {
            format!("{}-12", year - 1)
        } else {
            format!("{year}-{:02}", month - 1)
        }
    }
}

pub async fn trial_balance(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let ((from, to), asked) = range(&ctx, &q.from, &q.to);
    let slice = q.slice();
    let read: AppResult<_> = async {
        let (from, to) = asked?;
        let mut conn = conn(&ctx).await?;
        let rows = service::trial_balance_of(&mut conn, ctx.company_id(), &from, &to, slice).await?;
        let first_period = service::periods(&mut conn, ctx.company_id())
            .await?
            .into_iter()
            .next()
            .map_or_else(|| from.clone(), |(p, _)| p);
        Ok((first_period, rows))
    }
    .await;
    let ((first_period, rows), errors) = match figures_or_refusal(&ctx, read)? {
        Ok(figures) => (figures, Vec::new()),
        Err(errors) => ((String::new(), Vec::new()), errors),
    };
    let totals =
        rows.iter().fold((0, 0, 0, 0), |t, r| (t.0 + r.opening, t.1 + r.debit, t.2 + r.credit, t.3 + r.closing));
    if let Some(format) = export(&q).filter(|_| errors.is_empty()) {
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
        let plain = |c: char| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' };
        let of = slice.param().map(|(key, code)| format!("-{key}-{}", code.chars().map(plain).collect::<String>()));
        return download(format, &format!("trial-balance-{from}-{to}{}", of.unwrap_or_default()), &header, &data);
    }
    let page = PageCtx::new(&ctx, "finance.trial_balance", "/finance/reports/trial-balance")
        .await?
        .as_report(format!("{from} — {to}{}", slice_subtitle(&ctx, slice)), "");
    let refused = !errors.is_empty();
    let slices = slice_choices(&ctx, &mut conn(&ctx).await?).await?;
    let (chosen_slice, within) = (slice_choice(slice), slice_query(slice));
    let shown = TrialBalancePage { page, from, to, first_period, rows, totals, errors, slices, chosen_slice, within };
    web::page::render_answer(&shown, refused)
}

#[derive(Template)]
#[template(path = "finance/general_ledger.html")]
struct GeneralLedgerPage {
    page: PageCtx,
    from: String,
    to: String,
    /// The one account asked for, as typed; empty for every first-level account.
    code: String,
    accounts: Vec<service::LedgerAccount>,
    errors: Vec<(String, String)>,
}

impl GeneralLedgerPage {
    /// A balance as the books write it: 借 or 贷 and the amount, 平 at zero.
    fn side(&self, balance: &i64) -> String {
        let key = match balance.signum() {
            1 => "finance.side_debit",
            -1 => "finance.side_credit",
            _ => "finance.side_even",
        };
        self.page.t(key)
    }
}

/// The general ledger (总分类账): each first-level account's opening balance, then per month
/// 本月合计 and 本年累计 with the balance; one account with `code`. Downloads as CSV or XLSX.
pub async fn general_ledger(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let ((from, to), asked) = range(&ctx, &q.from, &q.to);
    let code = q.code.clone().unwrap_or_default();
    let read: AppResult<_> = async {
        let (from, to) = asked?;
        let mut conn = conn(&ctx).await?;
        Ok(service::general_ledger(&mut conn, ctx.company_id(), &from, &to, Some(code.as_str())).await?)
    }
    .await;
    let (accounts, errors) = match figures_or_refusal(&ctx, read)? {
        Ok(accounts) => (accounts, Vec::new()),
        Err(errors) => (Vec::new(), errors),
    };
    if let Some(format) = export(&q).filter(|_| errors.is_empty()) {
        let header: Vec<String> = [
            "finance.code",
            "finance.name",
            "finance.period",
            "finance.summary",
            "finance.movement_debit",
            "finance.movement_credit",
            "finance.balance",
        ]
        .iter()
        .map(|k| ctx.t(k))
        .collect();
        let mut data = Vec::new();
        for a in &accounts {
            let row = |period: &str, summary: &str, debit: String, credit: String, balance: i64| {
                vec![
                    a.code.clone(),
                    a.name_zh.clone(),
                    period.to_string(),
                    ctx.t(summary),
                    debit,
                    credit,
                    yuan(balance),
                ]
            };
            data.push(row(&from, "finance.opening", String::new(), String::new(), a.opening));
            for m in &a.months {
                data.push(row(&m.period, "finance.month_total", yuan(m.debit), yuan(m.credit), m.balance));
                data.push(row(&m.period, "finance.year_total", yuan(m.year_debit), yuan(m.year_credit), m.balance));
            }
        }
        return download(format, &format!("general-ledger-{from}-{to}"), &header, &data);
    }
    let page = PageCtx::new(&ctx, "finance.general_ledger", "/finance/reports/general-ledger")
        .await?
        .as_report(format!("{from} — {to}"), "");
    let refused = !errors.is_empty();
    web::page::render_answer(&GeneralLedgerPage { page, from, to, code, accounts, errors }, refused)
}

#[derive(Template)]
#[template(path = "finance/statement.html")]
struct StatementPage {
    page: PageCtx,
    action: &'static str,
    statement: &'static str,
    /// The first month a figure's drill-down covers: the balance sheet's from January.
    drill_from: String,
    /// The range behind the comparison column: the end of last year for the balance sheet,
    /// the same months a year earlier for the income statement.
    comparison_range: (String, String),
    from: Option<String>,
    to: String,
    rows: Vec<StatementRow>,
    current_label: String,
    comparison_label: String,
    /// The income statement's chooser: every cost centre and project as (`cost_center:SAL`,
    /// label), the one shown, and the query its figures' links carry on (see [`within`]).
    slices: Vec<(String, String)>,
    chosen_slice: String,
    within: String,
    /// Months that could not be read, by field, shown beside them.
    errors: Vec<(String, String)>,
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

/// The same month a year earlier (`2026-03` → `2025-03`), for the comparison column's drill-down.
fn year_earlier(period: &str) -> String {
    let year: i32 = period[..4].parse().unwrap_or(0);
    format!("{}{}", year - 1, &period[4..])
}

pub async fn balance_sheet(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let asked = q.period.as_ref().or(q.to.as_ref());
    let read: AppResult<_> = async {
        let period = chosen_period(&ctx, "period", asked.map(String::as_str))?;
        let mut conn = conn(&ctx).await?;
        let rows = service::balance_sheet(&mut conn, ctx.company_id(), &period).await?;
        let (form_number, _) = chart::template(&mut conn, ctx.company_id()).await?.form_numbers();
        Ok((period, rows, form_number))
    }
    .await;
    let labels = (ctx.t("finance.balance_end"), ctx.t("finance.balance_last_year"));
    let page = PageCtx::new(&ctx, "finance.balance_sheet", "/finance/reports/balance-sheet").await?;
    let mut shown = StatementPage {
        page,
        action: "/finance/reports/balance-sheet",
        statement: service::Statement::BalanceSheet.key(),
        drill_from: String::new(),
        comparison_range: (String::new(), String::new()),
        from: None,
        to: typed(&asked.cloned()),
        rows: Vec::new(),
        current_label: labels.0,
        comparison_label: labels.1,
        slices: Vec::new(),
        chosen_slice: String::new(),
        within: String::new(),
        errors: Vec::new(),
    };
    let (period, rows, form_number) = match figures_or_refusal(&ctx, read)? {
        Ok(figures) => figures,
        Err(errors) => {
            shown.errors = errors;
            return web::page::render_answer(&shown, true);
        }
    };
    if let Some(format) = export(&q) {
        let name = format!("balance-sheet-{period}");
        return statement_download(&ctx, format, &name, &rows, &shown.current_label, &shown.comparison_label);
    }
    let year = &period[..4];
    shown.page = shown.page.as_report(service::last_day(&period), form_number);
    shown.drill_from = format!("{year}-01");
    shown.comparison_range = (year_earlier(&format!("{year}-01")), year_earlier(&format!("{year}-12")));
    shown.rows = rows;
    shown.to = period;
    render(&shown)
}

pub async fn income_statement(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let slice = q.slice();
    // A single month unless a first month is given.
    let ((from, to), asked) = asked_range(&ctx, &q.from, &q.to, str::to_string);
    let read: AppResult<_> = async {
        let (from, to) = asked?;
        let mut conn = conn(&ctx).await?;
        let rows = service::income_statement(&mut conn, ctx.company_id(), &from, &to, slice).await?;
        let (_, form_number) = chart::template(&mut conn, ctx.company_id()).await?.form_numbers();
        Ok((from, to, rows, form_number))
    }
    .await;
    let mut conn = conn(&ctx).await?;
    let page = PageCtx::new(&ctx, "finance.income_statement", "/finance/reports/income-statement").await?;
    let mut shown = StatementPage {
        page,
        action: "/finance/reports/income-statement",
        statement: service::Statement::IncomeStatement.key(),
        drill_from: String::new(),
        comparison_range: (String::new(), String::new()),
        from: Some(from),
        to,
        rows: Vec::new(),
        current_label: ctx.t("finance.current"),
        comparison_label: ctx.t("finance.comparison"),
        slices: slice_choices(&ctx, &mut conn).await?,
        chosen_slice: slice_choice(slice),
        within: slice_query(slice),
        errors: Vec::new(),
    };
    drop(conn);
    let (from, to, rows, form_number) = match figures_or_refusal(&ctx, read)? {
        Ok(figures) => figures,
        Err(errors) => {
            shown.errors = errors;
            return web::page::render_answer(&shown, true);
        }
    };
    if let Some(format) = export(&q) {
        // The code as typed may hold anything; a file name keeps to plain letters and digits.
        let plain = |c: char| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' };
        let of = slice.param().map(|(key, code)| format!("-{key}-{}", code.chars().map(plain).collect::<String>()));
        let name = format!("income-statement-{from}-{to}{}", of.unwrap_or_default());
        return statement_download(&ctx, format, &name, &rows, &shown.current_label, &shown.comparison_label);
    }
    shown.page = shown.page.as_report(format!("{from} — {to}{}", slice_subtitle(&ctx, slice)), form_number);
    shown.drill_from = from.clone();
    shown.comparison_range = (year_earlier(&from), year_earlier(&to));
    shown.rows = rows;
    (shown.from, shown.to) = (Some(from), to);
    render(&shown)
}

/// Every cost centre and project, archived ones too (a report reads history), as the
/// income statement's chooser offers them: (`cost_center:SAL`, `成本中心 SAL 销售部`).
/// The lines that name no cost centre come first among the centres.
async fn slice_choices(ctx: &Ctx, conn: &mut db::Conn) -> AppResult<Vec<(String, String)>> {
    let untagged = service::LedgerSlice::CostCenter("");
    let mut choices = vec![(slice_choice(untagged), slice_label(ctx, untagged))];
    for tag in dimensions::list(conn, ctx.company_id(), Dimension::CostCenter).await? {
        let slice = service::LedgerSlice::CostCenter(&tag.code);
        choices.push((slice_choice(slice), format!("{} {}", slice_label(ctx, slice), tag.name)));
    }
    for tag in dimensions::list(conn, ctx.company_id(), Dimension::Project).await? {
        let slice = service::LedgerSlice::Project(&tag.code);
        choices.push((slice_choice(slice), format!("{} {}", slice_label(ctx, slice), tag.name)));
    }
    Ok(choices)
}

#[derive(Template)]
#[template(path = "finance/statement_line.html")]
struct StatementLinePage {
    page: PageCtx,
    statement: &'static str,
    /// The figure's line key, as asked.
    line: String,
    from: String,
    to: String,
    /// The figure taken apart; none when its range was refused.
    detail: Option<service::LineDetail>,
    /// Why the range was refused, beside its fields.
    errors: Vec<(String, String)>,
    /// The cost centre or project the figure is of, as (`cost_center` or `project`, code).
    slice: Option<(&'static str, String)>,
    /// The cost centre or project the figure is of, as the query its links carry on
    /// (`&project=EXPO-2026`, see `slice_query`); empty for the whole company.
    within: String,
}

impl StatementLinePage {
    /// Refusals that name neither month: a line the statement does not have.
    fn other_errors(&self) -> Vec<&str> {
        messages_elsewhere(&self.errors, &["from", "to"])
    }
}

/// A slice as a report names it (`项目 EXPO-2026`, `成本中心 未指定` for the lines naming no
/// centre); empty for all lines.
fn slice_label(ctx: &Ctx, slice: service::LedgerSlice<'_>) -> String {
    let Some((key, code)) = slice.param() else { return String::new() };
    let dimension = Dimension::parse(key, key).map(Dimension::label_key).unwrap_or("finance.cost_center");
    let code = if code.is_empty() { ctx.t("finance.untagged") } else { code.to_string() };
    format!("{} {code}", ctx.t(dimension))
}

/// A slice as a report's subtitle adds it (` · 项目 EXPO-2026`); empty for all lines.
fn slice_subtitle(ctx: &Ctx, slice: service::LedgerSlice<'_>) -> String {
    match slice {
        service::LedgerSlice::All => String::new(),
        _ => format!(" · {}", slice_label(ctx, slice)),
    }
}

/// The drill-down of a balance-sheet or income-statement figure: the accounts behind it (each
/// opening its ledger, and from there its vouchers) or the lines a subtotal adds.
pub async fn statement_line(ctx: Ctx, Query(q): Query<LineQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let statement = service::Statement::parse(&q.statement).ok_or(DomainError::NotFound("statement"))?;
    let ((shown_from, shown_to), asked) = range(&ctx, &q.from, &q.to);
    let slice = q.slice();
    let read: AppResult<_> = async {
        let (from, to) = asked?;
        let mut conn = conn(&ctx).await?;
        let detail =
            service::statement_line(&mut conn, ctx.company_id(), statement, &q.line, &from, &to, slice).await?;
        Ok((detail, from, to))
    }
    .await;
    // A range edited into one that cannot be read comes back beside the month fields, as on
    // the statements themselves.
    let (detail, from, to, errors) = match figures_or_refusal(&ctx, read)? {
        Ok((detail, from, to)) => (Some(detail), from, to, Vec::new()),
        Err(errors) => (None, shown_from, shown_to, errors),
    };
    let (title_key, path, subtitle) = match statement {
        service::Statement::BalanceSheet => ("finance.balance_sheet", "/finance/reports/balance-sheet", to.clone()),
        service::Statement::IncomeStatement => (
            "finance.income_statement",
            "/finance/reports/income-statement",
            format!("{from} — {to}{}", slice_subtitle(&ctx, slice)),
        ),
    };
    let mut page = PageCtx::new(&ctx, title_key, path).await?;
    if let Some(detail) = &detail {
        let label = if ctx.lang == kernel::Lang::En { &detail.label_en } else { &detail.label_zh };
        page =
            page.titled(format!("{} · {}", ctx.t(title_key), label.trim_start_matches(['一', '二', '三', '四', '、'])));
    }
    let subtitle = if detail.is_some() && statement == service::Statement::BalanceSheet {
        service::last_day(&to)
    } else {
        subtitle
    };
    let page = page.as_report(subtitle, "");
    let within = slice_query(slice);
    let refused = !errors.is_empty();
    let slice = slice.param().map(|(key, value)| (key, value.to_string()));
    let shown = StatementLinePage {
        page,
        statement: statement.key(),
        line: q.line.clone(),
        from,
        to,
        detail,
        within,
        errors,
        slice,
    };
    web::page::render_answer(&shown, refused)
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
    /// The form just refused, if any: `revalue`, or `close <period>` and `reopen <period>`
    /// for a month's buttons.
    refused: Refused,
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
    render(&periods_page(&ctx, Refused::default(), (String::new(), Vec::new())).await?)
}

async fn periods_page(ctx: &Ctx, refused: Refused, sent: (String, Vec<service::RateForm>)) -> AppResult<PeriodsPage> {
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
        refused,
        sent,
    })
}

/// Closes a month from the periods page; a refusal (drafts left in it, an earlier month still
/// open) shows beside that month's button.
pub async fn close(ctx: Ctx, Path(period): Path<String>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::close_period(&mut tx, &ctx.principal, &period).await.map(|_| ());
    month_changed(&ctx, tx, outcome, &format!("close {period}"), "finance.closed_ok").await
}

/// Commits a month's close or reopening and goes back to the periods page, or shows the page
/// again (422) with the refusal beside the month's button; nothing is stored then.
async fn month_changed(
    ctx: &Ctx,
    tx: db::Tx,
    outcome: db::Result<()>,
    form: &str,
    flash: &'static str,
) -> AppResult<Response> {
    finish_form(
        ctx,
        tx,
        outcome,
        |()| ("/finance/periods".into(), flash),
        async |errors| {
            let refused = Refused::new(ctx, form, errors, FormPairs::default());
            periods_page(ctx, refused, (String::new(), Vec::new())).await
        },
    )
    .await
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
    let outcome = service::revalue_foreign(&mut tx, &ctx.principal, &period, &rates).await;
    let saved = |(posted, _)| match posted {
        Some((id, _)) => (format!("/finance/entries/{id}"), "finance.posted_ok"),
        None => ("/finance/periods".into(), "finance.revalue_nothing"),
    };
    finish_form(&ctx, tx, outcome, saved, async |errors| {
        let refused = Refused::new(&ctx, "revalue", errors, FormPairs::default());
        periods_page(&ctx, refused, (period, rates)).await
    })
    .await
}

/// Reopens the latest closed month (反结账); refused for any other month, beside its button.
/// Opens the twelve months of the next fiscal year, from the periods page.
pub async fn open_next_year(ctx: Ctx) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::open_next_year(&mut tx, &ctx.principal).await.map(|_| ());
    month_changed(&ctx, tx, outcome, "next_year", "finance.year_opened").await
}

pub async fn reopen(ctx: Ctx, Path(period): Path<String>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::reopen_period(&mut tx, &ctx.principal, &period).await.map(|_| ());
    month_changed(&ctx, tx, outcome, &format!("reopen {period}"), "common.saved").await
}

#[derive(Template)]
#[template(path = "finance/account_ledger.html")]
struct LedgerPage {
    page: PageCtx,
    code: String,
    /// The one cost centre or project shown, as (`cost_center` or `project`, code), when the
    /// ledger was opened from the cost report.
    slice: Option<(&'static str, String)>,
    from: String,
    to: String,
    opening: i64,
    lines: Vec<service::LedgerLine>,
    /// Months that could not be read, by field, shown beside them.
    errors: Vec<(String, String)>,
    /// What the year's months before the books moved the account, when the range covers
    /// them: the income statement counts it, the ledger's lines do not hold it.
    earlier: Option<service::EarlierMonths>,
}

/// The months a report asked for, `to` defaulting to this month and `from` to January of
/// that year: as read, or as typed when they cannot be read, beside whether they were read.
fn range(ctx: &Ctx, from: &Option<String>, to: &Option<String>) -> ((String, String), AppResult<(String, String)>) {
    asked_range(ctx, from, to, |to| format!("{}-01", &to[..4]))
}

/// The months a report asked for, `to` defaulting to this month and `from` to
/// `first_month(to)`: (what the page shows in its fields, the range or why it was refused).
/// A page refused later (a range too wide for the report) still shows the months it read.
/// Refused beside each month that cannot be read, and beside `to` when it comes before `from`.
pub(super) fn asked_range(
    ctx: &Ctx,
    from: &Option<String>,
    to: &Option<String>,
    first_month: impl Fn(&str) -> String,
) -> ((String, String), AppResult<(String, String)>) {
    // A month left empty is shown as filled in; one typed, as typed. An empty `from` is filled
    // in from `to`, so when `to` cannot be read it alone is refused.
    let last = to.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| this_period(ctx));
    let first = match from.clone().filter(|v| !v.is_empty()) {
        Some(first) => Ok(first),
        None => domain::parse_period("to", &last).map(|last| first_month(&last)),
    };
    let read = match &first {
        Ok(first) => domain::period_range(first, &last),
        Err(unread) => Err(DomainError::Invalid(vec![unread.clone()])),
    };
    let shown = match &read {
        Ok(months) => months.clone(),
        Err(_) => (first.unwrap_or_default(), last),
    };
    (shown, read.map_err(AppError::from))
}

/// The entries behind a trial-balance figure.
pub async fn account_ledger(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let code = q.code.clone().unwrap_or_default();
    let ((from, to), asked) = range(&ctx, &q.from, &q.to);
    let read: AppResult<_> = async {
        let (from, to) = asked?;
        let mut conn = conn(&ctx).await?;
        let (opening, lines) =
            service::account_ledger(&mut conn, ctx.company_id(), &code, &from, &to, q.slice()).await?;
        let earlier = match q.slice() {
            service::LedgerSlice::All => {
                service::earlier_months(&mut conn, ctx.company_id(), &code, &from, &to).await?
            }
            _ => None,
        };
        Ok((opening, lines, earlier))
    }
    .await;
    let ((opening, lines, earlier), errors) = match figures_or_refusal(&ctx, read)? {
        Ok(figures) => (figures, Vec::new()),
        Err(errors) => ((0, Vec::new(), None), errors),
    };
    if let Some(format) = export(&q).filter(|_| errors.is_empty()) {
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
        let mut data: Vec<Vec<String>> = earlier
            .iter()
            .map(|e| {
                let label = format!("{} {}", ctx.t("finance.earlier_months"), e.through);
                vec![String::new(), String::new(), code.clone(), label, yuan(e.debit), yuan(e.credit), String::new()]
            })
            .collect();
        data.extend(lines.iter().map(|l| {
            vec![
                l.date.clone(),
                l.number.clone().unwrap_or_default(),
                l.account.clone(),
                l.memo.clone(),
                yuan(l.debit),
                yuan(l.credit),
                yuan(l.balance),
            ]
        }));
        return download(format, &format!("account-{code}-{from}-{to}"), &header, &data);
    }
    let title = format!("{} {code}", ctx.t("finance.account_ledger"));
    let page = PageCtx::new(&ctx, "finance.trial_balance", "/finance/reports/trial-balance")
        .await?
        .titled(title)
        .as_report(format!("{from} — {to}"), "");
    let slice = q.slice().param().map(|(key, value)| (key, value.to_string()));
    let refused = !errors.is_empty();
    web::page::render_answer(&LedgerPage { page, code, slice, from, to, opening, lines, errors, earlier }, refused)
}

#[derive(Template)]
#[template(path = "finance/cost_report.html")]
struct CostPage {
    page: PageCtx,
    from: String,
    to: String,
    dimensions: [Dimension; 2],
    report: CostReport,
    /// Refusals of the range, by field (`from`, `to`), shown beside it.
    errors: Vec<(String, String)>,
}

/// Costs and expenses by cost centre or project, account and month, with each figure opening
/// the lines behind it.
pub async fn cost_report(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let dimension = q.dimension()?;
    let mut conn = conn(&ctx).await?;
    let ((from, to), asked) = range(&ctx, &q.from, &q.to);
    let read: AppResult<_> = async {
        let (from, to) = asked?;
        Ok(costs::cost_report(&mut conn, ctx.company_id(), dimension, &from, &to).await?)
    }
    .await;
    let report = match figures_or_refusal(&ctx, read)? {
        Ok(figures) => figures,
        // A range the report cannot show (months the wrong way round, more than two years, a
        // month mistyped): the page again with the range as typed and the message beside it.
        Err(errors) => {
            let report = CostReport { dimension, periods: Vec::new(), groups: Vec::new() };
            let page = PageCtx::new(&ctx, "finance.cost_centers", "/finance/reports/cost-centers").await?;
            return web::page::render_answer(
                &CostPage { page, from, to, dimensions: Dimension::ALL, report, errors },
                true,
            );
        }
    };
    if let Some(format) = export(&q) {
        let mut header: Vec<String> =
            [dimension.label_key(), "finance.dimension_name", "finance.account", "finance.account_name"]
                .iter()
                .map(|k| ctx.t(k))
                .collect();
        header.extend(report.periods.iter().cloned());
        header.push(ctx.t("finance.total"));
        let mut data = Vec::new();
        for g in &report.groups {
            for r in &g.rows {
                let account_name = if ctx.lang == kernel::Lang::En { &r.name_en } else { &r.name_zh };
                let mut row = vec![g.code.clone(), g.name.clone(), r.code.clone(), account_name.clone()];
                row.extend(r.amounts.iter().map(|a| yuan(*a)));
                row.push(yuan(r.total));
                data.push(row);
            }
        }
        return download(format, &format!("costs-by-{}-{from}-{to}", dimension.key()), &header, &data);
    }
    render(&CostPage {
        page: PageCtx::new(&ctx, "finance.cost_centers", "/finance/reports/cost-centers")
            .await?
            .as_report(format!("{from} — {to}"), ""),
        from,
        to,
        dimensions: Dimension::ALL,
        report,
        errors: Vec::new(),
    })
}

#[derive(Template)]
#[template(path = "finance/dimensions.html")]
struct DimensionsPage {
    page: PageCtx,
    dimension: Dimension,
    dimensions: [Dimension; 2],
    tags: Vec<dimensions::Tag>,
    refused: Refused,
    can_manage: bool,
    /// May open the reports the list links to.
    can_report: bool,
}

impl DimensionsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn other_errors(&self) -> Vec<&str> {
        messages_elsewhere(&self.refused.errors, &["code", "name"])
            .into_iter()
            .filter(|m| !self.refused.errors.iter().any(|(f, shown)| f.starts_with("tag ") && shown == m))
            .collect()
    }

    /// The refusal of archiving or restoring one code, shown on its row.
    fn row_errors(&self, code: &str) -> Vec<&str> {
        self.refused.messages_of(&format!("tag {code}"))
    }

    fn typed(&self, field: &str) -> String {
        self.refused.typed(field, "")
    }

    /// A row's name as its refused rename sent it, or as stored.
    fn row_name(&self, tag: &dimensions::Tag) -> String {
        self.refused.typed(&format!("tag {}:name", tag.code), &tag.name)
    }
}

async fn dimensions_page(ctx: &Ctx, dimension: Dimension, refused: Refused) -> AppResult<DimensionsPage> {
    let mut conn = conn(ctx).await?;
    let href = format!("/finance/dimensions/{}", dimension.key());
    Ok(DimensionsPage {
        page: PageCtx::new(ctx, "finance.dimensions", &href).await?.titled(ctx.t(dimension.label_key())),
        dimension,
        dimensions: Dimension::ALL,
        tags: dimensions::list(&mut conn, ctx.company_id(), dimension).await?,
        refused,
        can_manage: ctx.principal.may(service::ACCOUNTS),
        can_report: ctx.principal.may(service::REPORTS),
    })
}

/// The company's cost centres or projects, with the form that adds one.
pub async fn dimensions(ctx: Ctx, Path(dimension): Path<String>) -> AppResult<Response> {
    ctx.require(service::READ)?;
    render(&dimensions_page(&ctx, Dimension::from_path(&dimension)?, Refused::default()).await?)
}

pub async fn add_dimension(ctx: Ctx, Path(dimension): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let dimension = Dimension::from_path(&dimension)?;
    let form = dimensions::TagForm { code: pairs.text("code"), name: pairs.text("name") };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = dimensions::create(&mut tx, &ctx.principal, dimension, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| (format!("/finance/dimensions/{}", dimension.key()), "common.created"),
        async |errors| dimensions_page(&ctx, dimension, Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

/// Renames, archives or restores one cost centre or project from its row; a refusal shows
/// there, with the name as typed.
pub async fn change_dimension(
    ctx: Ctx,
    Path((dimension, code, action)): Path<(String, String, String)>,
    pairs: FormPairs,
) -> AppResult<Response> {
    let dimension = Dimension::from_path(&dimension)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = match action.as_str() {
        "rename" => dimensions::rename(&mut tx, &ctx.principal, dimension, &code, &pairs.text("name")).await,
        _ => {
            let archive = dimensions::archiving(&action)?;
            dimensions::set_archived(&mut tx, &ctx.principal, dimension, &code, archive).await
        }
    };
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| (format!("/finance/dimensions/{}", dimension.key()), "common.saved"),
        async |errors| {
            dimensions_page(&ctx, dimension, Refused::new(&ctx, &format!("tag {code}"), errors, pairs.clone())).await
        },
    )
    .await
}

#[derive(serde::Deserialize, Default)]
pub struct BudgetQuery {
    dimension: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    /// A row's 调整: the code, account and year whose budget the form starts from.
    revise: Option<String>,
    account: Option<String>,
    year: Option<String>,
}

#[derive(Template)]
#[template(path = "finance/budgets.html")]
struct BudgetPage {
    page: PageCtx,
    from: String,
    to: String,
    dimensions: [Dimension; 2],
    report: BudgetReport,
    /// Refusals of the range, by field (`from`, `to`), shown beside it.
    errors: Vec<(String, String)>,
    /// The budget form: as refused (typed, with messages), or as a row's 调整 filled it in.
    refused: Refused,
    revising: BudgetForm,
    /// The listed active codes and the cost and expense accounts the form offers.
    codes: Vec<dimensions::Tag>,
    accounts: Vec<Account>,
    can_manage: bool,
}

impl BudgetPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn typed(&self, field: &str) -> String {
        let usual = match field {
            "code" => self.revising.code.clone(),
            "account" => self.revising.account.clone(),
            "year" => self.revising.year.clone(),
            "annual" => self.revising.annual.clone(),
            "action" => self.revising.action.clone(),
            _ => field
                .strip_prefix("months[")
                .and_then(|i| i.trim_end_matches(']').parse::<usize>().ok())
                .and_then(|i| self.revising.months.get(i).cloned())
                .unwrap_or_default(),
        };
        self.refused.typed(field, usual)
    }

    /// Refusals that name no field of the form (none expected; shown rather than lost).
    fn other_errors(&self) -> Vec<&str> {
        let fields: Vec<String> = ["code", "account", "year", "annual", "months", "action"]
            .into_iter()
            .map(String::from)
            .chain((0..12).map(|i| format!("months[{i}]")))
            .collect();
        let shown: Vec<&str> = fields.iter().map(String::as_str).collect();
        messages_elsewhere(&self.refused.errors, &shown)
    }
}

/// The budget against actual of cost centres or projects over a range, with the form that sets
/// a year's budget for one code and account; a download of the report with `format`.
pub async fn budgets(ctx: Ctx, Query(q): Query<BudgetQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    let dimension = Dimension::chosen(q.dimension.as_deref())?;
    let mut revising = BudgetForm::default();
    if let (Some(code), Some(account), Some(year)) = (&q.revise, &q.account, &q.year) {
        let mut conn = conn(&ctx).await?;
        let (months, action) = budgets::year_of(&mut conn, ctx.company_id(), dimension, code, account, year).await?;
        // A year spread evenly comes back as its amount; one set month by month, as its months.
        let total: i64 = months.iter().sum();
        let (annual, months) = if budgets::spread(total) == months {
            (yuan(total), Vec::new())
        } else {
            (String::new(), months.iter().map(|m| yuan(*m)).collect())
        };
        let action = action.key().to_string();
        revising =
            BudgetForm { code: code.clone(), account: account.clone(), year: year.clone(), annual, months, action };
    }
    let shown = budget_view(&ctx, dimension, &q, Refused::default(), revising).await?;
    if let Some(format) = q.format.as_deref().filter(|f| shown.errors.is_empty() && (*f == "csv" || *f == "xlsx")) {
        return budget_download(&ctx, format, &shown);
    }
    let refused = !shown.errors.is_empty();
    web::page::render_answer(&shown, refused)
}

/// The budget report as CSV or XLSX, a row per code and account.
fn budget_download(ctx: &Ctx, format: &str, shown: &BudgetPage) -> AppResult<Response> {
    let dimension = shown.report.dimension;
    let header: Vec<String> = [
        dimension.label_key(),
        "finance.dimension_name",
        "finance.account",
        "finance.account_name",
        "finance.budget",
        "finance.actual",
        "finance.remaining",
        "finance.used",
    ]
    .iter()
    .map(|k| ctx.t(k))
    .collect();
    let mut data = Vec::new();
    for g in &shown.report.groups {
        for r in &g.rows {
            let used = r.used_percent().map(|p| format!("{p}%")).unwrap_or_default();
            let (budget, actual, left) = (yuan(r.budget), yuan(r.actual), yuan(r.remaining()));
            let account_name = if ctx.lang == kernel::Lang::En { &r.name_en } else { &r.name_zh };
            let names = [g.code.clone(), g.name.clone(), r.account.clone(), account_name.clone()];
            data.push(names.into_iter().chain([budget, actual, left, used]).collect());
        }
    }
    let name = format!("budget-{}-{}-{}", dimension.key(), shown.from, shown.to);
    download(format, &name, &header, &data)
}

/// The budget page: the report over the range asked for (or why the range cannot be read) and
/// the form, as refused or as a row's 调整 filled it in.
async fn budget_view(
    ctx: &Ctx,
    dimension: Dimension,
    q: &BudgetQuery,
    refused: Refused,
    mut revising: BudgetForm,
) -> AppResult<BudgetPage> {
    // Also when shown again under a refused form: the figures are a report's.
    ctx.require(service::REPORTS)?;
    let ((from, to), asked) = range(ctx, &q.from, &q.to);
    let mut conn = conn(ctx).await?;
    let read: AppResult<_> = async {
        let (from, to) = asked?;
        Ok(budgets::budget_report(&mut conn, ctx.company_id(), dimension, &from, &to).await?)
    }
    .await;
    let (report, errors) = match figures_or_refusal(ctx, read)? {
        Ok(report) => (report, Vec::new()),
        Err(errors) => (BudgetReport { dimension, groups: Vec::new(), budget: 0, actual: 0 }, errors),
    };
    if revising.year.is_empty() {
        revising.year = from.get(..4).unwrap_or_default().to_string();
    }
    let codes = dimensions::offered(&mut conn, ctx.company_id(), dimension).await?;
    let accounts = service::accounts(&mut conn, ctx.company_id())
        .await?
        .into_iter()
        .filter(|a| !a.archived && (a.class == "cost" || a.class == "expense"))
        .collect();
    drop(conn);
    let page = PageCtx::new(ctx, "finance.budgets", "/finance/budgets").await?.as_report(format!("{from} — {to}"), "");
    Ok(BudgetPage {
        page,
        from,
        to,
        dimensions: Dimension::ALL,
        report,
        errors,
        refused,
        revising,
        codes,
        accounts,
        can_manage: ctx.principal.may(service::ACCOUNTS),
    })
}

/// Sets a year's budget of one code and account from the page's form; refused, the page again
/// with the form as typed.
pub async fn set_budget(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let dimension = Dimension::parse("dimension", &pairs.text("dimension"))?;
    let form = BudgetForm {
        code: pairs.text("code"),
        account: pairs.text("account"),
        year: pairs.text("year"),
        annual: pairs.text("annual"),
        months: (0..12).map(|i| pairs.text(&format!("months[{i}]"))).collect(),
        action: pairs.text("action"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = budgets::set_budget(&mut tx, &ctx.principal, dimension, &form).await;
    let year = form.year.trim();
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| (format!("/finance/budgets?dimension={}&from={year}-01&to={year}-12", dimension.key()), "common.saved"),
        async |errors| {
            let refused = Refused::new(&ctx, "", errors, pairs.clone());
            let q = BudgetQuery { dimension: Some(dimension.key().into()), ..BudgetQuery::default() };
            budget_view(&ctx, dimension, &q, refused, BudgetForm::default()).await
        },
    )
    .await
}

//! `/api/v1/finance/…`: amounts in JSON are decimal strings ("1234.50"), never floats.

use crate::dimensions::{self, Dimension};
use crate::domain::{self, yuan, EntryForm};
use crate::review::Signature;
use crate::service::{self, StatementRow, StoredEntry};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::{ApiJson, AppError, AppResult, Ctx};

pub fn docs() -> Vec<ApiRoute> {
    let route = |method, path, summary, permission: &'static str, request: Option<fn() -> Value>| ApiRoute {
        method,
        path,
        summary,
        tag: "finance",
        permission: Some(permission),
        query: &[],
        request,
        response: object,
    };
    let mut trial = route("GET", "/api/v1/finance/reports/trial-balance", "Trial balance", service::REPORTS, None);
    trial.query = &[
        ("from", "First period, YYYY-MM"),
        ("to", "Last period, YYYY-MM"),
        ("cost_center", "only the lines of this cost centre (their debits and credits need not agree)"),
        ("project", "only the lines of this project"),
    ];
    let mut sheet = route(
        "GET",
        "/api/v1/finance/reports/balance-sheet",
        "资产负债表 at the end of a period",
        service::REPORTS,
        None,
    );
    sheet.query = &[("period", "YYYY-MM")];
    let mut income = route(
        "GET",
        "/api/v1/finance/reports/income-statement",
        "利润表 for a range of periods",
        service::REPORTS,
        None,
    );
    income.query = &[
        ("from", "YYYY-MM"),
        ("to", "YYYY-MM"),
        ("cost_center", "only this cost centre's revenue and costs (empty: the lines naming none)"),
        ("project", "only this project's revenue and costs"),
    ];
    let mut cash_flow = route(
        "GET",
        "/api/v1/finance/reports/cash-flow",
        "现金流量表 (direct method) for a range of periods, with the same months of the year before; each line's accounts",
        service::REPORTS,
        None,
    );
    cash_flow.query = &[("from", "YYYY-MM"), ("to", "YYYY-MM")];
    let mut entries = route("GET", "/api/v1/finance/entries", "Vouchers of a period", service::READ, None);
    entries.query = &[("period", "YYYY-MM")];
    vec![
        route(
            "POST",
            "/api/v1/finance/setup",
            "Install a chart (CAS, small-enterprise or generic English) and open a year's periods",
            service::ACCOUNTS,
            Some(setup_schema),
        ),
        route(
            "GET",
            "/api/v1/finance/settings",
            "The books' chart template, VAT rounding, surtax settings and the signatures hand-made vouchers need before posting",
            service::READ,
            None,
        ),
        route(
            "PATCH",
            "/api/v1/finance/settings",
            "Set the VAT rounding (line or document) for documents issued from now on, the urban construction tax rate (7, 5 or 1) and the surtax relief (none or half), which an open month's next month-end run applies to it, whether hand-made vouchers must be reviewed by a second person before they are posted (review_vouchers) and whether those that move cash must be signed by the cashier (cashier_signs); fields left out keep their value",
            service::ACCOUNTS,
            Some(settings_schema),
        ),
        route("GET", "/api/v1/finance/accounts", "The chart of accounts", service::READ, None),
        route("POST", "/api/v1/finance/accounts", "Add a sub-account", service::ACCOUNTS, Some(object)),
        route(
            "DELETE",
            "/api/v1/finance/accounts/{code}",
            "Delete an account nothing refers to (no entries, no sub-accounts, no module posts to it)",
            service::ACCOUNTS,
            None,
        ),
        route(
            "POST",
            "/api/v1/finance/accounts/{code}/archive",
            "Archive an account: no new postings, history kept",
            service::ACCOUNTS,
            None,
        ),
        route(
            "POST",
            "/api/v1/finance/accounts/{code}/restore",
            "Take an archived account back into use",
            service::ACCOUNTS,
            None,
        ),
        route(
            "POST",
            "/api/v1/finance/years",
            "Open the twelve months of the year after the latest",
            service::CLOSE,
            None,
        ),
        entries,
        route("POST", "/api/v1/finance/entries", "Save a draft voucher", service::CREATE, Some(entry_schema)),
        route(
            "PUT",
            "/api/v1/finance/entries/{id}",
            "Change a draft voucher (its header and every line)",
            service::CREATE,
            Some(entry_schema),
        ),
        route("DELETE", "/api/v1/finance/entries/{id}", "Delete a draft voucher", service::CREATE, None),
        route(
            "GET",
            "/api/v1/finance/entries/{id}",
            "A voucher with its lines and attached documents",
            service::READ,
            None,
        ),
        route(
            "POST",
            "/api/v1/finance/entries/{id}/attachments",
            "Attach a document (PDF, OFD, XML, JPG, PNG, WEBP; at most 5 MB) to a voucher, its content base64",
            service::CREATE,
            Some(attach_schema),
        ),
        route(
            "GET",
            "/api/v1/finance/entries/{id}/attachments/{attachment}",
            "An attached document, as it was uploaded",
            service::READ,
            None,
        ),
        route(
            "POST",
            "/api/v1/finance/entries/{id}/post",
            "Post a draft: number it and update balances (once it has the signatures the books' rules ask for)",
            service::POST,
            None,
        ),
        route(
            "POST",
            "/api/v1/finance/entries/{id}/review",
            "Review a hand-entered draft (凭证审核), with the version read; never by its preparer or its last editor",
            crate::permissions::REVIEW,
            Some(review_schema),
        ),
        route(
            "DELETE",
            "/api/v1/finance/entries/{id}/review",
            "Cancel the review of a draft not yet posted (取消审核)",
            crate::permissions::REVIEW,
            None,
        ),
        route(
            "POST",
            "/api/v1/finance/entries/{id}/cashier",
            "Sign a hand-made draft that moves cash as the cashier (出纳签字), with the version read",
            crate::permissions::SIGN_CASH,
            Some(review_schema),
        ),
        route(
            "DELETE",
            "/api/v1/finance/entries/{id}/cashier",
            "Cancel the cashier's signature of a draft not yet posted (取消出纳签字)",
            crate::permissions::SIGN_CASH,
            None,
        ),
        route(
            "POST",
            "/api/v1/finance/entries/{id}/reverse",
            "Reverse a posted voucher (红字冲销) on a date",
            service::POST,
            Some(reverse_schema),
        ),
        trial,
        sheet,
        income,
        cash_flow,
        route("GET", "/api/v1/finance/periods", "Periods and their status", service::READ, None),
        route("POST", "/api/v1/finance/periods/{period}/close", "Close a month (结账)", service::CLOSE, None),
        route(
            "POST",
            "/api/v1/finance/periods/{period}/revalue",
            "Revalue foreign-currency balances at month-end rates (期末调汇)",
            service::POST,
            Some(revalue_schema),
        ),
        route(
            "POST",
            "/api/v1/finance/periods/{period}/reopen",
            "Reopen the latest closed month (反结账)",
            service::REOPEN,
            None,
        ),
    ]
}

fn setup_schema() -> Value {
    json!({"type": "object", "required": ["year"], "properties": {"year": {"type": "integer"}, "first_month": {"type": "integer", "minimum": 1, "maximum": 12}, "template": {"enum": ["cas", "small_enterprise", "generic_en"]}}})
}

fn attach_schema() -> Value {
    json!({"type": "object", "required": ["file_name", "content_base64"], "properties": {
        "file_name": {"type": "string"}, "content_base64": {"type": "string", "contentEncoding": "base64"}}})
}

fn entry_schema() -> Value {
    json!({"type": "object", "required": ["date", "lines"], "properties": {
        "date": {"type": "string", "format": "date"}, "word": {"enum": domain::WORDS}, "memo": {"type": "string"},
        "lines": {"type": "array", "minItems": 2, "items": {"type": "object", "required": ["account"], "properties": {
            "account": {"type": "string"}, "debit": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"},
            "credit": {"type": "string"}, "memo": {"type": "string"},
            "cost_center": {"type": "string", "description": "code of a listed, active cost centre"},
            "project": {"type": "string", "description": "code of a listed, active project"},
            "party": {"type": "string", "description": "number of the customer or supplier a receivable, payable or advance line is owed by or to"},
            "currency": {"type": "string"}, "foreign_amount": {"type": "string"}, "rate": {"type": "string"}}}}}})
}

fn reverse_schema() -> Value {
    json!({"type": "object", "required": ["date"], "properties": {"date": {"type": "string", "format": "date"}}})
}

fn line_json(l: &crate::domain::Line) -> Value {
    let mut line = json!({"account": l.account, "debit": yuan(l.debit), "credit": yuan(l.credit), "cost_center": l.cost_center, "project": l.project, "memo": l.memo, "party_id": l.party});
    if let Some((code, amount, rate)) = &l.foreign {
        let currency = kernel::Currency::from_code(code).unwrap_or(kernel::Currency::CNY);
        line["currency"] = json!(code);
        line["foreign_amount"] = json!(crate::domain::decimal_text(*amount, currency));
        line["rate"] = json!(rate);
    }
    line
}

fn entry_json(entry: &StoredEntry) -> Value {
    json!({
        "id": entry.id, "period": entry.period, "date": entry.date, "word": entry.word, "number": entry.number,
        "status": entry.status, "kind": entry.kind, "memo": entry.memo, "reversal_of": entry.reversal_of,
        "reversed_by": entry.reversed_by, "pending_reversal": entry.pending_reversal, "total": yuan(entry.total),
        "prepared_by": entry.signatures.prepared_by.as_ref().map(|s| &s.1),
        "reviewed_by": entry.signatures.reviewed_by.as_ref().map(|s| &s.1),
        "reviewed_at": entry.signatures.reviewed_at,
        "cashier_by": entry.signatures.cashier_by.as_ref().map(|s| &s.1),
        "cashier_at": entry.signatures.cashier_at,
        "posted_by": entry.signatures.posted_by.as_ref().map(|s| &s.1), "version": entry.version,
        "lines": entry.lines.iter().map(line_json).collect::<Vec<_>>(),
    })
}

async fn conn(ctx: &Ctx) -> AppResult<db::Conn> {
    Ok(ctx.db().read_conn().await?)
}

#[derive(Deserialize)]
pub struct SetupBody {
    year: i32,
    /// The first month the books cover (default January).
    #[serde(default = "january")]
    first_month: u32,
    /// `cas` (the default), `small_enterprise` or `generic_en`.
    #[serde(default)]
    template: Option<String>,
}

fn january() -> u32 {
    1
}

pub async fn setup(ctx: Ctx, ApiJson(body): ApiJson<SetupBody>) -> AppResult<Response> {
    let template = crate::chart::Template::chosen(body.template.as_deref())?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let accounts = service::set_up_books(&mut tx, &ctx.principal, template, body.year, body.first_month).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"accounts": accounts, "year": body.year, "template": template.key()})))
        .into_response())
}

pub async fn accounts(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": service::accounts(&mut conn, ctx.company_id()).await?})))
}

pub async fn add_account(ctx: Ctx, ApiJson(form): ApiJson<service::AccountForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::add_sub_account(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

/// The books' settings: the chart they were set up from, how VAT is rounded, and the
/// surtaxes' urban construction tax rate and relief.
pub async fn settings(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let template = crate::chart::template(&mut conn, ctx.company_id()).await?;
    let rounding = crate::invoicing::vat_rounding(&mut conn, ctx.company_id()).await?;
    let taxpayer = crate::invoicing::taxpayer(&mut conn, ctx.company_id()).await?;
    let surtaxes = crate::surtaxes::settings(&mut conn, ctx.company_id()).await?;
    let rules = crate::review::rules(&mut conn, ctx.company_id()).await?;
    Ok(Json(json!({
        "template": template.key(), "vat_rounding": rounding.key(), "taxpayer": taxpayer.key(),
        "urban_tax_rate": rust_decimal::Decimal::new(surtaxes.urban_rate_bp, 2).normalize().to_string(),
        "surtax_relief": surtaxes.relief.key(),
        "review_vouchers": rules.review,
        "cashier_signs": rules.cashier,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    #[serde(default)]
    vat_rounding: Option<crate::vat::VatRounding>,
    #[serde(default)]
    taxpayer: Option<String>,
    #[serde(default)]
    urban_tax_rate: Option<String>,
    #[serde(default)]
    surtax_relief: Option<String>,
    #[serde(default)]
    review_vouchers: Option<bool>,
    #[serde(default)]
    cashier_signs: Option<bool>,
}

/// Changes how VAT is rounded on the documents issued from now on, and the surtax settings.
pub async fn change_settings(ctx: Ctx, ApiJson(body): ApiJson<SettingsBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let surtaxes =
        crate::surtaxes::SettingsForm { urban_tax_rate: body.urban_tax_rate, surtax_relief: body.surtax_relief };
    let rules = [(Signature::Review, body.review_vouchers), (Signature::Cashier, body.cashier_signs)]
        .into_iter()
        .filter_map(|(signature, on)| on.map(|on| (signature, on)))
        .collect();
    let changed = super::BooksSettings { vat_rounding: body.vat_rounding, taxpayer: body.taxpayer, surtaxes, rules };
    super::change_settings(&mut tx, &ctx.principal, &changed, Default::default()).await?;
    tx.commit().await?;
    settings(ctx).await
}

/// Changes a draft voucher; answers with it as it is now.
pub async fn update_entry(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<EntryForm>,
) -> AppResult<Json<Value>> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::update_draft(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let entry = service::load_entry(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("entry"))?;
    Ok(Json(entry_json(&entry)))
}

/// Deletes a draft voucher.
pub async fn delete_entry(ctx: Ctx, Path(id): Path<String>) -> AppResult<StatusCode> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::delete_draft(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Archives an account: it takes no new postings and keeps its history.
pub async fn archive_account(ctx: Ctx, Path(code): Path<String>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::archive_account(&mut tx, &ctx.principal, &code).await?;
    tx.commit().await?;
    Ok(Json(json!({"code": code, "archived": true})))
}

/// Takes an archived account back into use.
pub async fn restore_account(ctx: Ctx, Path(code): Path<String>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::restore_account(&mut tx, &ctx.principal, &code).await?;
    tx.commit().await?;
    Ok(Json(json!({"code": code, "archived": false})))
}

/// Deletes an account nothing refers to; one with entries is refused (archive it instead).
pub async fn delete_account(ctx: Ctx, Path(code): Path<String>) -> AppResult<StatusCode> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::delete_account(&mut tx, &ctx.principal, &code).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Opens the twelve months of the year after the latest one.
pub async fn open_next_year(ctx: Ctx) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let year = service::open_next_year(&mut tx, &ctx.principal).await?;
    tx.commit().await?;
    let periods: Vec<String> = (1..=12).map(|m| format!("{year}-{m:02}")).collect();
    Ok((StatusCode::CREATED, Json(json!({"year": year, "periods": periods}))).into_response())
}

/// The query of a report, page or API alike: each reads the fields it needs.
#[derive(Deserialize)]
pub struct PeriodQuery {
    pub(super) period: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    /// `csv` or `xlsx` downloads a report page instead of showing it.
    pub(super) format: Option<String>,
    /// An account code, for the account ledger.
    pub(super) code: Option<String>,
    pub(super) cost_center: Option<String>,
    pub(super) project: Option<String>,
    /// `cost_center` (the default) or `project`, for the cost report.
    pub(super) dimension: Option<String>,
    /// The income statement page's chooser of a cost centre or project (see [`slice_of`]).
    pub(super) slice: Option<String>,
    /// The cash flow statement's line whose accounts are opened.
    pub(super) line: Option<String>,
    /// The vouchers' stage a list shows (`service::Stage`): `draft`, `awaiting_review`, ….
    pub(super) stage: Option<String>,
}

/// The lines a ledger or income statement keeps: from a page's chooser, `chosen` as
/// `cost_center:SAL` or `project:EXPO-2026` (empty: all); else a cost centre's when
/// `cost_center` is given (empty: the lines that name none, the cost report's "—" row), a
/// project's when `project` names one, else all.
pub(super) fn slice_of<'a>(
    chosen: Option<&'a str>,
    cost_center: Option<&'a str>,
    project: Option<&'a str>,
) -> service::LedgerSlice<'a> {
    match chosen.and_then(|c| c.split_once(':')) {
        Some(("cost_center", centre)) => service::LedgerSlice::CostCenter(centre),
        Some(("project", project)) if !project.is_empty() => service::LedgerSlice::Project(project),
        _ if chosen.is_some() => service::LedgerSlice::All,
        _ => match (cost_center, project.filter(|p| !p.is_empty())) {
            (Some(centre), _) => service::LedgerSlice::CostCenter(centre),
            (None, Some(project)) => service::LedgerSlice::Project(project),
            (None, None) => service::LedgerSlice::All,
        },
    }
}

/// A slice as a page's chooser names it (`project:EXPO-2026`; the inverse of [`slice_of`]'s
/// `chosen`); empty for all lines.
pub(super) fn slice_choice(slice: service::LedgerSlice<'_>) -> String {
    slice.param().map(|(key, value)| format!("{key}:{value}")).unwrap_or_default()
}

/// A slice as the query its report's links carry on (`&project=EXPO-2026`, the code made safe
/// for a web address); empty for all lines.
pub(super) fn slice_query(slice: service::LedgerSlice<'_>) -> String {
    slice.param().map(|(key, value)| format!("&{key}={}", web::page::url_component(value))).unwrap_or_default()
}

impl PeriodQuery {
    /// The lines a ledger or income statement shows (see [`slice_of`]).
    pub fn slice(&self) -> service::LedgerSlice<'_> {
        slice_of(self.slice.as_deref(), self.cost_center.as_deref(), self.project.as_deref())
    }

    /// The dimension of the cost report: cost centres unless `dimension` names another.
    pub fn dimension(&self) -> Result<Dimension, AppError> {
        Ok(Dimension::chosen(self.dimension.as_deref())?)
    }
}

fn period(field: &str, value: Option<&str>) -> Result<String, AppError> {
    domain::parse_period(field, value.unwrap_or_default()).map_err(|e| AppError::Domain(DomainError::Invalid(vec![e])))
}

/// A report's months `from..=to`, both required (see [`domain::period_range`]).
fn months(from: Option<&str>, to: Option<&str>) -> Result<(String, String), AppError> {
    Ok(domain::period_range(from.unwrap_or_default(), to.unwrap_or_default())?)
}

/// The vouchers of a month, or of every month when `period` is left out of a list of drafts
/// (`stage=draft|awaiting_review|reviewed|awaiting_cashier`).
pub async fn entries(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let stage = service::Stage::parse("stage", q.stage.as_deref())?;
    let period = match q.period.as_deref().filter(|p| !p.is_empty()) {
        None if stage.spans_months() => None,
        given => Some(period("period", given)?),
    };
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = service::entries(&mut conn, ctx.company_id(), period.as_deref(), stage)
        .await?
        .iter()
        .map(|e| json!({"id": e.id, "date": e.date, "number": e.number, "status": e.status, "kind": e.kind, "memo": e.memo, "total": yuan(e.total), "reviewed": e.reviewed, "cashier_signed": e.cashier_signed}))
        .collect();
    Ok(Json(json!({"items": items})))
}

/// Opening balances as sent: the voucher's memo and lines; its day and word are the ledger's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningBody {
    #[serde(default)]
    memo: String,
    lines: Vec<OpeningLineBody>,
}

/// A line of opening balances: a voucher line, and on a receivable or payable line the open
/// invoice or bill of the earlier books it holds (`{"number", "date", "due_date"}`).
#[derive(Deserialize)]
pub struct OpeningLineBody {
    #[serde(flatten)]
    line: crate::domain::LineForm,
    #[serde(default)]
    document: Option<crate::invoicing::OpeningDocumentForm>,
}

/// `POST /api/v1/finance/opening-balances`: posts opening balances (`crate::opening::post_opening`),
/// answering with the voucher and the documents carried over (`id`, `kind`, `number`).
pub async fn post_opening(ctx: Ctx, ApiJson(body): ApiJson<OpeningBody>) -> AppResult<Response> {
    let documents: Vec<_> = body.lines.iter().map(|l| l.document.clone().unwrap_or_default()).collect();
    let lines = body.lines.into_iter().map(|l| l.line).collect();
    let form = EntryForm { date: String::new(), word: String::new(), memo: body.memo, lines };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let opened = crate::opening::post_opening(&mut tx, &ctx.principal, &form, &documents).await?;
    tx.commit().await?;
    let posted = opened.voucher;
    let body = json!({"entry_id": posted.entry_id, "number": posted.number, "period": opened.period,
        "amount": yuan(posted.amount), "documents": opened.documents});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The year-to-date figures of the months before the books' first, as JSON.
fn year_to_date_json(figures: &[crate::opening::YearToDate]) -> Value {
    let items: Vec<Value> = figures
        .iter()
        .map(|f| json!({"account": f.code, "name_zh": f.name_zh, "name_en": f.name_en, "debit": yuan(f.debit), "credit": yuan(f.credit)}))
        .collect();
    json!({"items": items})
}

/// `GET /api/v1/finance/opening-balances/year-to-date`: the income and expense figures of the
/// year's months before the books' first (`crate::opening::year_to_date`).
pub async fn year_to_date(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(year_to_date_json(&crate::opening::year_to_date(&mut conn, ctx.company_id()).await?)).into_response())
}

/// The year-to-date figures as sent: every line, replacing those set before.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearToDateBody {
    lines: Vec<crate::opening::YearToDateLine>,
}

/// `PUT /api/v1/finance/opening-balances/year-to-date`: sets them (`crate::opening::set_year_to_date`).
pub async fn set_year_to_date(ctx: Ctx, ApiJson(body): ApiJson<YearToDateBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let figures = crate::opening::set_year_to_date(&mut tx, &ctx.principal, &body.lines).await?;
    tx.commit().await?;
    Ok(Json(year_to_date_json(&figures)).into_response())
}

/// `POST /api/v1/finance/invoices/{id}/withdraw`: takes back an invoice or bill carried over
/// with the opening balances by mistake (`invoicing::withdraw_carried`).
pub async fn withdraw_invoice(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    withdraw_carried(ctx, super::path_id(&id, "invoice")?, false).await
}

/// `POST /api/v1/finance/payments/{id}/withdraw`: the same for an advance carried over.
pub async fn withdraw_payment(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    withdraw_carried(ctx, super::path_id(&id, "payment")?, true).await
}

async fn withdraw_carried(ctx: Ctx, id: i64, advance: bool) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::invoicing::withdraw_carried(&mut tx, &ctx.principal, id, advance).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn create_entry(ctx: Ctx, ApiJson(form): ApiJson<EntryForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::create_draft(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let entry = service::load_entry(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("entry"))?;
    Ok((StatusCode::CREATED, Json(entry_json(&entry))).into_response())
}

pub async fn entry(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let id = super::path_id(&id, "entry")?;
    let mut conn = conn(&ctx).await?;
    let entry = service::load_entry(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("entry"))?;
    let mut body = entry_json(&entry);
    let attachments = crate::attachments::list(&mut conn, ctx.company_id(), id).await?;
    body["attachments"] = json!(attachments
        .iter()
        .map(|a| json!({"id": a.id, "file_name": a.file_name, "file_type": a.file_type, "size": a.file_size, "sha256": a.sha256,
            "created_at": a.created_at, "href": format!("/api/v1/finance/entries/{id}/attachments/{}", a.id)}))
        .collect::<Vec<_>>());
    Ok(Json(body))
}

#[derive(Deserialize)]
pub struct AttachBody {
    file_name: String,
    /// The document's bytes, base64.
    content_base64: String,
}

/// Attaches a document to a voucher (JSON, the content base64).
pub async fn attach(ctx: Ctx, Path(id): Path<String>, ApiJson(body): ApiJson<AttachBody>) -> AppResult<Response> {
    use base64::Engine as _;
    let id = super::path_id(&id, "entry")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body.content_base64.trim())
        .map_err(|e| DomainError::invalid("content_base64", "error.finance.base64", e.to_string()))?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let file = crate::attachments::NewAttachment { file_name: &body.file_name, bytes: &bytes };
    let attachment = crate::attachments::attach(&mut tx, &ctx.principal, id, &file).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": attachment, "href": format!("/api/v1/finance/entries/{id}/attachments/{attachment}")})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// The draft's version as the reviewer read it; a draft changed since is refused (409).
    #[serde(default)]
    version: Option<i64>,
}

/// Reviews a hand-made draft; answers with it as it is now.
pub async fn review_entry(ctx: Ctx, id: Path<String>, body: ApiJson<ReviewBody>) -> AppResult<Json<Value>> {
    sign_entry(ctx, id, body, Signature::Review).await
}

/// Signs a hand-made draft that moves cash for the cashier; answers with it as it is now.
pub async fn sign_for_cashier(ctx: Ctx, id: Path<String>, body: ApiJson<ReviewBody>) -> AppResult<Json<Value>> {
    sign_entry(ctx, id, body, Signature::Cashier).await
}

async fn sign_entry(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReviewBody>,
    signature: Signature,
) -> AppResult<Json<Value>> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::review::sign(&mut tx, &ctx.principal, signature, id, body.version).await?;
    tx.commit().await?;
    entry(ctx, Path(id.to_string())).await
}

/// Cancels the review of a draft; answers with it as it is now.
pub async fn cancel_review(ctx: Ctx, id: Path<String>) -> AppResult<Json<Value>> {
    cancel_signature(ctx, id, Signature::Review).await
}

/// Cancels the cashier's signature of a draft; answers with it as it is now.
pub async fn cancel_cashier(ctx: Ctx, id: Path<String>) -> AppResult<Json<Value>> {
    cancel_signature(ctx, id, Signature::Cashier).await
}

async fn cancel_signature(ctx: Ctx, Path(id): Path<String>, signature: Signature) -> AppResult<Json<Value>> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::review::cancel(&mut tx, &ctx.principal, signature, id).await?;
    tx.commit().await?;
    entry(ctx, Path(id.to_string())).await
}

pub async fn post_entry(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::drafts::post(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let entry = service::load_entry(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("entry"))?;
    Ok(Json(entry_json(&entry)))
}

#[derive(Deserialize)]
pub struct ReverseBody {
    date: String,
}

pub async fn reverse_entry(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReverseBody>,
) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let reversal = service::reverse_entry(&mut tx, &ctx.principal, id, &body.date).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let entry =
        service::load_entry(&mut conn, ctx.company_id(), reversal).await?.ok_or(DomainError::NotFound("entry"))?;
    Ok((StatusCode::CREATED, Json(entry_json(&entry))).into_response())
}

fn statement_json(rows: &[StatementRow]) -> Value {
    json!(rows
        .iter()
        .map(|r| json!({"key": r.key, "label_zh": r.label_zh, "label_en": r.label_en, "amount": yuan(r.amount), "comparison": yuan(r.comparison), "total": r.total}))
        .collect::<Vec<_>>())
}

pub async fn trial_balance(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::REPORTS)?;
    let (from, to) = months(q.from.as_deref(), q.to.as_deref())?;
    let mut conn = conn(&ctx).await?;
    let rows = service::trial_balance_of(&mut conn, ctx.company_id(), &from, &to, q.slice()).await?;
    let totals =
        rows.iter().fold((0, 0, 0, 0), |t, r| (t.0 + r.opening, t.1 + r.debit, t.2 + r.credit, t.3 + r.closing));
    let items: Vec<Value> = rows
        .iter()
        .map(|r| json!({"code": r.code, "name_zh": r.name_zh, "name_en": r.name_en, "opening": yuan(r.opening), "debit": yuan(r.debit), "credit": yuan(r.credit), "closing": yuan(r.closing)}))
        .collect();
    Ok(Json(
        json!({"from": from, "to": to, "items": items, "totals": {"opening": yuan(totals.0), "debit": yuan(totals.1), "credit": yuan(totals.2), "closing": yuan(totals.3)}}),
    ))
}

pub async fn balance_sheet(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::REPORTS)?;
    let period = period("period", q.period.as_deref())?;
    let mut conn = conn(&ctx).await?;
    let rows = service::balance_sheet(&mut conn, ctx.company_id(), &period).await?;
    Ok(Json(json!({"period": period, "lines": statement_json(&rows)})))
}

pub async fn income_statement(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::REPORTS)?;
    let (from, to) = months(q.from.as_deref(), q.to.as_deref())?;
    let mut conn = conn(&ctx).await?;
    let rows = service::income_statement(&mut conn, ctx.company_id(), &from, &to, q.slice()).await?;
    let mut body = json!({"from": from, "to": to, "lines": statement_json(&rows)});
    if let Some((key, value)) = q.slice().param() {
        body[key] = json!(value);
    }
    Ok(Json(body))
}

/// The cash flow statement of a range of months.
pub async fn cash_flow(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::REPORTS)?;
    let (from, to) = months(q.from.as_deref(), q.to.as_deref())?;
    let mut conn = conn(&ctx).await?;
    let statement = crate::cash_flow::cash_flow_statement(&mut conn, ctx.company_id(), &from, &to).await?;
    let mut lines = statement_json(&statement.rows);
    for line in lines.as_array_mut().into_iter().flatten() {
        let accounts = line["key"].as_str().and_then(|key| statement.accounts.get(key));
        if let Some(accounts) = accounts {
            line["accounts"] = json!(accounts
                .iter()
                .map(|(code, amount)| json!({"code": code, "amount": yuan(*amount)}))
                .collect::<Vec<_>>());
        }
    }
    Ok(Json(json!({"from": from, "to": to, "lines": lines, "cash_in_ledger": yuan(statement.cash_in_ledger)})))
}

/// The query of a statement figure's drill-down, page or API alike.
#[derive(Deserialize)]
pub struct LineQuery {
    pub(super) statement: String,
    pub(super) line: String,
    pub(super) period: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    /// An income statement figure of one cost centre or project.
    pub(super) cost_center: Option<String>,
    pub(super) project: Option<String>,
}

impl LineQuery {
    /// The cost centre or project an income statement figure is of; a balance sheet figure is
    /// always the whole company's.
    pub fn slice(&self) -> service::LedgerSlice<'_> {
        match service::Statement::parse(&self.statement) {
            Some(service::Statement::IncomeStatement) => {
                slice_of(None, self.cost_center.as_deref(), self.project.as_deref())
            }
            _ => service::LedgerSlice::All,
        }
    }
}

/// A statement figure taken apart: its accounts (with what each adds) or the lines it sums.
pub async fn statement_line(ctx: Ctx, Query(q): Query<LineQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::REPORTS)?;
    let statement = service::Statement::parse(&q.statement)
        .ok_or_else(|| DomainError::invalid("statement", "error.finance.statement", &q.statement))?;
    let (from, to) = match statement {
        service::Statement::BalanceSheet => {
            let to = period("period", q.period.as_deref().or(q.to.as_deref()))?;
            (format!("{}-01", &to[..4]), to)
        }
        service::Statement::IncomeStatement => months(q.from.as_deref(), q.to.as_deref())?,
    };
    let mut conn = conn(&ctx).await?;
    let slice = q.slice();
    let detail = service::statement_line(&mut conn, ctx.company_id(), statement, &q.line, &from, &to, slice).await?;
    let within = slice_query(slice);
    let accounts: Vec<Value> = detail
        .accounts
        .iter()
        .map(|a| {
            json!({"code": a.code, "name_zh": a.name_zh, "name_en": a.name_en, "amount": yuan(a.amount),
            "ledger": format!("/api/v1/finance/reports/account-ledger?code={}&from={from}&to={to}{within}", a.code)})
        })
        .collect();
    let parts: Vec<Value> = detail
        .parts
        .iter()
        .map(|(r, sign)| json!({"key": r.key, "label_zh": r.label_zh, "label_en": r.label_en, "sign": sign, "amount": yuan(r.amount)}))
        .collect();
    Ok(Json(
        json!({"statement": statement.key(), "from": from, "to": to, "key": detail.key, "label_zh": detail.label_zh,
        "label_en": detail.label_en, "amount": yuan(detail.amount), "accounts": accounts, "parts": parts}),
    ))
}

pub async fn periods(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = service::periods(&mut conn, ctx.company_id())
        .await?
        .iter()
        .map(|(p, s)| json!({"period": p, "status": s}))
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn close(ctx: Ctx, Path(period): Path<String>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let number = service::close_period(&mut tx, &ctx.principal, &period).await?;
    tx.commit().await?;
    Ok(Json(json!({"period": period, "status": "closed", "closing_entry": number})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevalueBody {
    #[serde(default)]
    rates: Vec<service::RateForm>,
}

/// Revalues foreign-currency balances at the end of an open month.
pub async fn revalue(ctx: Ctx, Path(period): Path<String>, ApiJson(body): ApiJson<RevalueBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let (posted, revaluations) = service::revalue_foreign(&mut tx, &ctx.principal, &period, &body.rates).await?;
    tx.commit().await?;
    let status = if posted.is_some() { StatusCode::CREATED } else { StatusCode::OK };
    let (entry_id, number) = posted.map_or((None, None), |(id, number)| (Some(id), Some(number)));
    Ok((
        status,
        Json(json!({"period": period, "entry_id": entry_id, "number": number,
            "revaluations": revaluations.iter().map(|r| json!({"account": r.account, "currency": r.currency, "rate": r.rate,
                "foreign_balance": kernel::Currency::from_code(&r.currency).map(|c| kernel::Money::from_minor(r.foreign_balance, c).to_decimal().to_string()),
                "carrying": yuan(r.carrying), "revalued": yuan(r.revalued), "difference": yuan(r.difference)})).collect::<Vec<_>>()})),
    )
        .into_response())
}

fn revalue_schema() -> Value {
    json!({"type": "object", "properties": {"rates": {"type": "array", "items": {"type": "object",
        "required": ["currency", "rate"], "properties": {"currency": {"type": "string"}, "rate": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,6})?$"}}}}}})
}

pub async fn reopen(ctx: Ctx, Path(period): Path<String>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::reopen_period(&mut tx, &ctx.principal, &period).await?;
    tx.commit().await?;
    Ok(Json(json!({"period": period, "status": "open"})))
}

/// An invoice as the API answers it: `net`, `tax`, `total`, `settled` and `open` in CNY, as the
/// ledger carries them; its lines, and under `foreign` its figures, in the currency it is
/// written in (`currency`).
fn invoice_json(invoice: &crate::invoicing::Invoice) -> Value {
    let unit = kernel::Currency::from_code(invoice.currency()).unwrap_or(kernel::Currency::CNY);
    let amount = |minor: &i64| crate::domain::decimal_text(*minor, unit);
    json!({
        "currency": invoice.currency(),
        "foreign": invoice.foreign.as_ref().map(|f| json!({
            "rate": f.rate, "net": amount(&f.net), "tax": amount(&f.tax), "total": amount(&f.total),
            "settled": amount(&f.settled), "open": amount(&(f.total - f.settled)),
        })),
        "id": invoice.id, "kind": invoice.kind, "party_id": invoice.party_id, "party_name": invoice.party_name,
        "number": invoice.number, "status": invoice.status, "credit_of": invoice.credit_of, "date": invoice.date,
        "due_date": invoice.due_date, "tax_inclusive": invoice.tax_inclusive, "net": yuan(invoice.net), "tax": yuan(invoice.tax),
        "total": yuan(invoice.total), "settled": yuan(invoice.settled), "open": yuan(invoice.open_amount()),
        "entry_id": invoice.entry_id, "memo": invoice.memo, "opening": invoice.opening,
        "lines": invoice.lines.iter().map(|l| json!({
            "description": l.description, "quantity": kernel::Qty::from_scaled(l.quantity).to_string(), "unit_price": amount(&l.unit_price),
            "discount": format!("{}", rust_decimal::Decimal::new(l.discount_bp, 2).normalize()), "vat_rate": kernel::vat::choice(l.vat_rate_bp),
            "account": l.account, "product_id": l.product_id, "cost_center": l.cost_center, "project": l.project, "net": amount(&l.net), "tax": amount(&l.tax), "total": amount(&l.total),
        })).collect::<Vec<_>>(),
    })
}

pub fn invoice_docs() -> Vec<ApiRoute> {
    use crate::invoicing::{MANAGE, PAYMENTS, READ};
    let route = |method, path, summary, permission: &'static str, request: Option<fn() -> Value>| ApiRoute {
        method,
        path,
        summary,
        tag: "finance",
        permission: Some(permission),
        query: &[],
        request,
        response: object,
    };
    let mut list =
        route("GET", "/api/v1/finance/invoices", "Invoices (kind=customer) or bills (kind=supplier)", READ, None);
    list.query = &[("kind", "customer or supplier"), ("status", "draft, open, partial, paid or credited")];
    let mut ageing = route(
        "GET",
        "/api/v1/finance/reports/ageing",
        "Open amounts by party in 0–30/31–60/61–90/>90 days past due",
        READ,
        None,
    );
    ageing.query = &[
        ("kind", "receivable or payable"),
        ("date", "YYYY-MM-DD"),
        ("party_id", "one party's row, with the documents behind its figures (documents: open on the date, bucket)"),
        (
            "currency",
            "USD, EUR, HKD or JPY: only the documents written in it, in it (default CNY: every document in yuan)",
        ),
    ];
    let mut payments = route("GET", "/api/v1/finance/payments", "Receipts or payments of a month", READ, None);
    payments.query = &[("kind", "receipt or payment"), ("month", "YYYY-MM")];
    vec![
        list,
        route(
            "POST",
            "/api/v1/finance/invoices",
            "Save a draft invoice or bill; VAT is computed per line",
            MANAGE,
            Some(invoice_schema),
        ),
        route("GET", "/api/v1/finance/invoices/{id}", "An invoice with its lines", READ, None),
        route("POST", "/api/v1/finance/invoices/{id}/post", "Post: number it and post its voucher", MANAGE, None),
        route(
            "POST",
            "/api/v1/finance/invoices/{id}/credit-note",
            "Credit an invoice (红字发票): in full while unpaid, or the lines given (goods returned)",
            MANAGE,
            Some(credit_schema),
        ),
        route(
            "POST",
            "/api/v1/finance/invoices/{id}/refund",
            "Refund what a credit note owes back (all of it unless an amount is given)",
            PAYMENTS,
            Some(refund_schema),
        ),
        route(
            "POST",
            "/api/v1/finance/invoices/{id}/set-off",
            "Set what a credit note owes off against an open invoice of the same party (冲抵)",
            PAYMENTS,
            Some(set_off_schema),
        ),
        route(
            "POST",
            "/api/v1/finance/payments",
            "Record a receipt or payment and allocate it; what is not allocated is kept as an advance",
            PAYMENTS,
            Some(payment_schema),
        ),
        payments,
        route(
            "POST",
            "/api/v1/finance/payments/{id}/cancel",
            "Undo a receipt or payment (a refund too) recorded by mistake: its voucher reversed on its own date, what it settled open again (撤销收付款)",
            PAYMENTS,
            None,
        ),
        route(
            "POST",
            "/api/v1/finance/payments/{id}/refund",
            "Give back what is left of an advance (退还预收/预付款), all of it unless an amount is given",
            PAYMENTS,
            Some(refund_schema),
        ),
        route(
            "POST",
            "/api/v1/finance/invoices/{id}/apply-advance",
            "Apply the party's advance (预收/预付) to an open invoice, oldest advance first",
            PAYMENTS,
            Some(apply_advance_schema),
        ),
        ageing,
    ]
}

fn credit_schema() -> Value {
    json!({"type": "object", "required": ["date"], "properties": {"date": {"type": "string", "format": "date"},
        "memo": {"type": "string"}, "lines": {"type": "array", "items": {"type": "object",
        "required": ["description", "quantity", "unit_price", "vat_rate"], "properties": {"description": {"type": "string"},
        "quantity": {"type": "string"}, "unit_price": {"type": "string"}, "discount": {"type": "string"},
        "vat_rate": {"type": "string"}, "account": {"type": "string"}}}}}})
}

fn review_schema() -> Value {
    json!({"type": "object", "properties": {"version": {"type": "integer"}}})
}

fn settings_schema() -> Value {
    json!({"type": "object", "properties": {
        "vat_rounding": {"enum": ["line", "document"]}, "taxpayer": {"enum": ["general", "small_scale", "small_scale_quarterly"]}, "urban_tax_rate": {"enum": ["7", "5", "1"]},
        "surtax_relief": {"enum": ["none", "half"]}, "review_vouchers": {"type": "boolean"},
        "cashier_signs": {"type": "boolean"}}})
}

fn apply_advance_schema() -> Value {
    json!({"type": "object", "required": ["date"], "properties": {"date": {"type": "string", "format": "date"},
        "amount": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"}}})
}

/// Applies the party's advance to an open invoice; answers with the invoice as it is now.
pub async fn apply_advance(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<crate::invoicing::ApplyAdvanceForm>,
) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let voucher = crate::invoicing::apply_advance(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let invoice =
        crate::invoicing::load(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("invoice"))?;
    Ok(Json(json!({"voucher": voucher, "invoice": invoice_json(&invoice)})).into_response())
}

#[derive(Deserialize)]
pub struct PaymentsQuery {
    kind: Option<String>,
    month: Option<String>,
}

/// Receipts or payments dated in a month, with what of each is still an advance.
pub async fn payments(ctx: Ctx, Query(q): Query<PaymentsQuery>) -> AppResult<Json<Value>> {
    ctx.require(crate::invoicing::READ)?;
    let kind = q.kind.unwrap_or_else(|| "receipt".into());
    if kind != "receipt" && kind != "payment" {
        return Err(AppError::BadListParam { key: "error.unknown_filter", detail: kind });
    }
    let month = period("month", q.month.as_deref())?;
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = crate::invoicing::payments(&mut conn, ctx.company_id(), &kind, &month)
        .await?
        .iter()
        .map(|p| {
            json!({"id": p.id, "number": p.number, "party_id": p.party_id, "party_name": p.party_name, "date": p.date,
            "amount": yuan(p.amount), "unallocated": yuan(p.unallocated), "refunded": yuan(p.refunded), "entry_id": p.entry_id, "opening": p.opening,
            "refunds": p.refunds.iter().map(|(id, number, date, amount)| json!({"id": id, "number": number, "date": date, "amount": yuan(*amount)})).collect::<Vec<_>>(),
            "foreign": p.foreign.as_ref().map(|(code, amount)| json!({"currency": code,
                "amount": crate::domain::decimal_text(*amount, kernel::Currency::from_code(code).unwrap_or(kernel::Currency::CNY))}))})
        })
        .collect();
    Ok(Json(json!({"kind": kind, "month": month, "items": items})))
}

fn set_off_schema() -> Value {
    json!({"type": "object", "required": ["invoice_id", "date"], "properties": {"invoice_id": {"type": "integer"},
        "date": {"type": "string", "format": "date"}, "amount": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"}}})
}

/// Sets what a credit note owes off against an open invoice of the same party.
pub async fn set_off(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<crate::invoicing::SetOffForm>,
) -> AppResult<Response> {
    let note: i64 = id.parse().map_err(|_| DomainError::NotFound("invoice"))?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = crate::invoicing::set_off(&mut tx, &ctx.principal, note, &form).await?;
    tx.commit().await?;
    let row = sqlx::query("SELECT amount, setoff_date FROM fin_setoffs WHERE id = $1")
        .bind(id)
        .fetch_one(ctx.db().reader())
        .await?;
    use db::RowExt;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "note_id": note, "invoice_id": form.invoice_id, "amount": yuan(row.try_get("amount")?),
            "date": row.try_get::<String, _>("setoff_date")?})),
    )
        .into_response())
}

fn refund_schema() -> Value {
    json!({"type": "object", "required": ["date"], "properties": {"date": {"type": "string", "format": "date"},
        "amount": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"}, "bank_account": {"type": "string"}, "memo": {"type": "string"}}})
}

/// Refunds what a credit note owes.
pub async fn refund(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<crate::invoicing::RefundForm>,
) -> AppResult<Response> {
    let note: i64 = id.parse().map_err(|_| DomainError::NotFound("invoice"))?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = crate::invoicing::refund(&mut tx, &ctx.principal, note, &form).await?;
    tx.commit().await?;
    refund_created(&ctx, id, ("refund_of", note)).await
}

/// The answer to a refund made: its id, number, amount and voucher, and what it gave back.
async fn refund_created(ctx: &Ctx, id: i64, (gives_back, of): (&str, i64)) -> AppResult<Response> {
    let row = sqlx::query("SELECT number, amount, entry_id FROM fin_payments WHERE id = $1")
        .bind(id)
        .fetch_one(ctx.db().reader())
        .await?;
    use db::RowExt;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "number": row.try_get::<String, _>("number")?, "amount": yuan(row.try_get("amount")?),
            "entry_id": row.try_get::<i64, _>("entry_id")?, gives_back: of})),
    )
        .into_response())
}

/// `POST /api/v1/finance/payments/{id}/cancel`: undoes a receipt or payment recorded by
/// mistake (`invoicing::cancel_payment`).
pub async fn cancel_payment(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id = super::path_id(&id, "payment")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::invoicing::cancel_payment(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/finance/payments/{id}/refund`: gives back what is left of an advance.
pub async fn refund_advance(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<crate::invoicing::AdvanceRefundForm>,
) -> AppResult<Response> {
    let advance = super::path_id(&id, "payment")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = crate::invoicing::refund_advance(&mut tx, &ctx.principal, advance, &form).await?;
    tx.commit().await?;
    refund_created(&ctx, id, ("refunds_advance", advance)).await
}

fn invoice_schema() -> Value {
    json!({"type": "object", "required": ["kind", "party_id", "date", "lines"], "properties": {
        "kind": {"enum": ["customer", "supplier"]}, "party_id": {"type": "integer"}, "date": {"type": "string", "format": "date"},
        "due_date": {"type": "string", "format": "date"}, "tax_inclusive": {"type": "boolean"}, "vat_rounding": {"enum": ["line", "document"]},
        "memo": {"type": "string"},
        "currency": {"enum": ["CNY", "USD", "EUR", "HKD", "JPY", ""], "description": "the currency the invoice and its prices are in; default CNY"},
        "rate": {"type": "string", "description": "for a foreign currency: its rate to CNY, at most six decimals"},
        "lines": {"type": "array", "items": {"type": "object", "required": ["description", "quantity", "unit_price", "vat_rate"], "properties": {
            "description": {"type": "string"}, "quantity": {"type": "string"}, "unit_price": {"type": "string"},
            "discount": {"type": "string"}, "vat_rate": {"enum": ["13", "9", "6", "5", "3", "1", "0", "exempt", ""]}, "account": {"type": "string"},
            "product_id": {"type": "integer", "description": "a catalog product; its name, VAT rate and (on an invoice) sale price fill what the line leaves empty"},
            "cost_center": {"type": "string", "description": "code of a listed, active cost centre"},
            "project": {"type": "string", "description": "code of a listed, active project"}}}}}})
}

fn payment_schema() -> Value {
    json!({"type": "object", "required": ["kind", "party_id", "date", "amount"], "properties": {
        "kind": {"enum": ["receipt", "payment"]}, "party_id": {"type": "integer"}, "date": {"type": "string", "format": "date"},
        "amount": {"type": "string", "description": "in the payment's currency"}, "bank_account": {"type": "string"}, "memo": {"type": "string"},
        "currency": {"enum": ["CNY", "USD", "EUR", "HKD", "JPY", ""], "description": "a foreign currency settles invoices in it only, allocated in full"},
        "rate": {"type": "string", "description": "for a foreign currency: its rate to CNY on the day paid"},
        "allocations": {"type": "array", "items": {"type": "object", "properties": {"invoice_id": {"type": "integer"}, "amount": {"type": "string"}}}}}})
}

#[derive(Deserialize)]
pub struct InvoiceQuery {
    kind: Option<String>,
    status: Option<String>,
}

pub async fn invoices(ctx: Ctx, Query(q): Query<InvoiceQuery>) -> AppResult<Json<Value>> {
    ctx.require(crate::invoicing::READ)?;
    let kind = q.kind.unwrap_or_else(|| "customer".into());
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = crate::invoicing::list(&mut conn, ctx.company_id(), &kind, q.status.as_deref().filter(|s| !s.is_empty()))
        .await?
        .iter()
        .map(|i| json!({"id": i.id, "number": i.number, "party_name": i.party_name, "date": i.date, "due_date": i.due_date, "status": i.status, "total": yuan(i.total), "settled": yuan(i.settled), "currency": i.currency, "opening": i.opening,
            "document_total": crate::domain::decimal_text(i.document_total, kernel::Currency::from_code(&i.currency).unwrap_or(kernel::Currency::CNY))}))
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn create_invoice(ctx: Ctx, ApiJson(form): ApiJson<crate::invoicing::InvoiceForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = crate::invoicing::create_invoice(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let invoice =
        crate::invoicing::load(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("invoice"))?;
    Ok((StatusCode::CREATED, Json(invoice_json(&invoice))).into_response())
}

pub async fn invoice(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    ctx.require(crate::invoicing::READ)?;
    let mut conn = conn(&ctx).await?;
    let invoice = crate::invoicing::load(&mut conn, ctx.company_id(), super::path_id(&id, "entry")?)
        .await?
        .ok_or(DomainError::NotFound("invoice"))?;
    Ok(Json(invoice_json(&invoice)))
}

pub async fn post_invoice(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::invoicing::post_invoice(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let invoice =
        crate::invoicing::load(&mut conn, ctx.company_id(), id).await?.ok_or(DomainError::NotFound("invoice"))?;
    Ok(Json(invoice_json(&invoice)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditBody {
    date: String,
    /// The lines to credit (goods returned, a price corrected); none: the whole invoice.
    #[serde(default)]
    lines: Vec<crate::vat::InvoiceLineForm>,
    #[serde(default)]
    memo: String,
}

/// Credits an invoice: in full (red ink, only while nothing is paid), or the lines given.
pub async fn credit_note(ctx: Ctx, Path(id): Path<String>, ApiJson(body): ApiJson<CreditBody>) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let note = if body.lines.is_empty() {
        crate::invoicing::credit_note(&mut tx, &ctx.principal, id, &body.date).await?
    } else {
        crate::invoicing::credit_part(&mut tx, &ctx.principal, id, &body.date, &body.lines, &body.memo).await?
    };
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let invoice =
        crate::invoicing::load(&mut conn, ctx.company_id(), note).await?.ok_or(DomainError::NotFound("invoice"))?;
    Ok((StatusCode::CREATED, Json(invoice_json(&invoice))).into_response())
}

pub async fn record_payment(ctx: Ctx, ApiJson(form): ApiJson<crate::invoicing::PaymentForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = crate::invoicing::record_payment(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let row = sqlx::query(
        "SELECT p.number, p.amount, p.unallocated, p.entry_id, c.currency, c.rate, c.amount AS foreign_amount \
         FROM fin_payments p LEFT JOIN fin_payment_currency c ON c.payment_id = p.id WHERE p.id = $1",
    )
    .bind(id)
    .fetch_one(ctx.db().reader())
    .await?;
    use db::RowExt;
    // `amount` is what the ledger booked, in CNY; a payment in a foreign currency also says
    // what was paid in it.
    let foreign = match row.try_get::<Option<String>, _>("currency")? {
        Some(code) => {
            let currency = kernel::Currency::from_code(&code).unwrap_or(kernel::Currency::CNY);
            json!({"currency": code, "rate": row.try_get::<String, _>("rate")?,
                   "amount": crate::domain::decimal_text(row.try_get("foreign_amount")?, currency)})
        }
        None => Value::Null,
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id,
            "number": row.try_get::<String, _>("number")?,
            "amount": yuan(row.try_get("amount")?),
            "unallocated": yuan(row.try_get("unallocated")?),
            "entry_id": row.try_get::<i64, _>("entry_id")?,
            "foreign": foreign,
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct AgeingQuery {
    kind: Option<String>,
    date: Option<String>,
    /// One party's row, with the documents behind its figures.
    party_id: Option<i64>,
    /// A foreign currency: the documents written in it, in it.
    currency: Option<String>,
}

pub async fn ageing(ctx: Ctx, Query(q): Query<AgeingQuery>) -> AppResult<Json<Value>> {
    ctx.require(crate::invoicing::READ)?;
    let kind = q.kind.unwrap_or_else(|| "receivable".into());
    if kind != "receivable" && kind != "payable" {
        return Err(AppError::BadListParam { key: "error.unknown_filter", detail: kind });
    }
    let date = q.date.unwrap_or_default();
    let currency = super::asked_currency(q.currency.as_deref())?;
    let amount = |minor: i64| crate::domain::decimal_text(minor, currency);
    let mut conn = conn(&ctx).await?;
    let mut rows = crate::invoicing::ageing(&mut conn, ctx.company_id(), &kind, &date, currency).await?;
    let mut body = json!({"kind": kind, "date": date, "currency": currency.code()});
    if let Some(party_id) = q.party_id {
        rows.retain(|r| r.party_id == party_id);
        let documents =
            crate::invoicing::ageing_documents(&mut conn, ctx.company_id(), &kind, &date, party_id, currency).await?;
        body["party_id"] = json!(party_id);
        body["documents"] = documents
            .iter()
            .map(|d| {
                json!({"id": d.id, "number": d.number, "date": d.date, "due_date": d.due_date,
                "days_past_due": d.days_past_due, "bucket": AGEING_BUCKETS[d.bucket], "open": amount(d.open)})
            })
            .collect();
    }
    body["items"] = rows
        .iter()
        .map(|r| {
            let mut row = json!({"party_id": r.party_id, "party_name": r.party_name, "total": amount(r.total)});
            for (bucket, figure) in AGEING_BUCKETS.iter().zip(r.buckets) {
                row[*bucket] = json!(amount(figure));
            }
            row
        })
        .collect();
    body["total"] = json!(amount(rows.iter().map(|r| r.total).sum()));
    Ok(Json(body))
}

/// The ageing's buckets as the API names them.
const AGEING_BUCKETS: [&str; 4] = ["0_30", "31_60", "61_90", "over_90"];

pub fn report_docs() -> Vec<ApiRoute> {
    let ledger = ApiRoute {
        method: "GET",
        path: "/api/v1/finance/reports/account-ledger",
        summary: "The posted lines behind an account's figure, with a running balance",
        tag: "finance",
        permission: Some(service::REPORTS),
        query: &[
            ("code", "Account code (sub-accounts included)"),
            ("from", "YYYY-MM"),
            ("to", "YYYY-MM"),
            ("cost_center", "only the lines of this cost centre (empty: those naming none)"),
            ("project", "only the lines of this project"),
        ],
        request: None,
        response: object,
    };
    let centres = ApiRoute {
        path: "/api/v1/finance/reports/cost-centers",
        summary: "Costs and expenses per cost centre or project, account and month",
        query: &[
            ("dimension", "cost_center (default) | project"),
            ("from", "YYYY-MM"),
            ("to", "YYYY-MM (at most 24 months)"),
        ],
        ..ledger.clone()
    };
    let list = ApiRoute {
        path: "/api/v1/finance/dimensions/{dimension}",
        summary: "The company's cost centres (dimension cost_center) or projects (project)",
        permission: Some(service::READ),
        query: &[],
        ..ledger.clone()
    };
    let create = ApiRoute {
        method: "POST",
        summary: "Add a cost centre or project",
        permission: Some(service::ACCOUNTS),
        request: Some(
            || json!({"type": "object", "required": ["code", "name"], "properties": {"code": {"type": "string", "maxLength": 50}, "name": {"type": "string", "maxLength": 100}}}),
        ),
        ..list.clone()
    };
    let archive = ApiRoute {
        method: "POST",
        path: "/api/v1/finance/dimensions/{dimension}/{code}/archive",
        summary: "Archive a cost centre or project: it takes no new lines, its history stays",
        permission: Some(service::ACCOUNTS),
        ..list.clone()
    };
    let restore = ApiRoute {
        path: "/api/v1/finance/dimensions/{dimension}/{code}/restore",
        summary: "Take an archived cost centre or project back into use",
        ..archive.clone()
    };
    let rename = ApiRoute {
        method: "PATCH",
        path: "/api/v1/finance/dimensions/{dimension}/{code}",
        summary: "Rename a cost centre or project (its code stays)",
        request: Some(
            || json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 100}}}),
        ),
        ..archive.clone()
    };
    let line = ApiRoute {
        path: "/api/v1/finance/reports/statement-line",
        summary: "A balance-sheet or income-statement figure taken apart: its accounts, or the lines it sums",
        query: &[
            ("statement", "balance-sheet | income-statement"),
            ("line", "line key, as in the statement"),
            ("period", "YYYY-MM (balance sheet)"),
            ("from", "YYYY-MM (income statement)"),
            ("to", "YYYY-MM (income statement)"),
            ("cost_center", "an income statement figure of this cost centre only"),
            ("project", "an income statement figure of this project only"),
        ],
        ..ledger.clone()
    };
    let budgets = ApiRoute {
        path: "/api/v1/finance/budgets",
        summary: "Budget against actual per cost centre or project and account: budget, spending (sub-accounts included), remaining, per cent used",
        query: &[
            ("dimension", "cost_center (default) | project"),
            ("from", "YYYY-MM"),
            ("to", "YYYY-MM (at most 24 months)"),
        ],
        ..ledger.clone()
    };
    let set_budget = ApiRoute {
        method: "POST",
        path: "/api/v1/finance/budgets/{dimension}",
        summary: "Set (replace) a year's budget of one cost centre or project and a cost or expense account: a year's amount spread evenly, or twelve monthly amounts; all zero removes it",
        permission: Some(service::ACCOUNTS),
        query: &[],
        request: Some(
            || json!({"type": "object", "required": ["code", "account", "year"], "properties": {"code": {"type": "string"}, "account": {"type": "string"}, "year": {"type": "string", "example": "2026"}, "annual": {"type": "string", "example": "120000.00"}, "months": {"type": "array", "items": {"type": "string"}, "minItems": 12, "maxItems": 12}, "action": {"type": "string", "enum": ["warn", "stop"], "description": "stop: a posting that would take the year's spending to its month beyond the budget of those months is refused"}}}),
        ),
        ..ledger.clone()
    };
    let journal = ApiRoute {
        path: "/api/v1/finance/reports/cash-journal",
        summary: "The cash or bank journal (现金日记账, 银行存款日记账): an account's posted lines day by day with their counter accounts, each day's and month's totals (本日合计, 本月合计, 本年累计) and the balance after each line; for the bank clerk's grant or finance.report.read",
        permission: Some(crate::invoicing::PAYMENTS),
        query: &[
            ("account", "a cash or bank account code (the company's bank when left out)"),
            ("from", "YYYY-MM-DD (this month's first day when left out)"),
            ("to", "YYYY-MM-DD (today when left out)"),
            ("lines", "the most lines a page holds, 1 to 5000 (5000 when left out); a longer range ends with the last whole day that fits, and continues_from names the day the next page starts with"),
        ],
        ..ledger.clone()
    };
    vec![ledger, centres, line, journal, list, create, archive, restore, rename, budgets, set_budget]
}

pub async fn account_ledger(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::REPORTS)?;
    let (from, to) = months(q.from.as_deref(), q.to.as_deref())?;
    let code = q.code.clone().unwrap_or_default();
    let mut conn = conn(&ctx).await?;
    let slice = q.slice();
    let (opening, lines) = service::account_ledger(&mut conn, ctx.company_id(), &code, &from, &to, slice).await?;
    let items: Vec<Value> = lines
        .iter()
        .map(|l| json!({"entry_id": l.entry_id, "date": l.date, "number": l.number, "account": l.account, "memo": l.memo, "debit": yuan(l.debit), "credit": yuan(l.credit), "balance": yuan(l.balance)}))
        .collect();
    let earlier = match slice {
        service::LedgerSlice::All => service::earlier_months(&mut conn, ctx.company_id(), &code, &from, &to).await?,
        _ => None,
    };
    let earlier = earlier.map(|e| json!({"through": e.through, "debit": yuan(e.debit), "credit": yuan(e.credit)}));
    Ok(Json(
        json!({"code": code, "from": from, "to": to, "opening": yuan(opening), "items": items, "earlier_months": earlier}),
    ))
}

/// Costs and expenses by cost centre or project, account and month.
pub async fn cost_report(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::REPORTS)?;
    let (from, to) = months(q.from.as_deref(), q.to.as_deref())?;
    let dimension = q.dimension()?;
    let mut conn = conn(&ctx).await?;
    let report = crate::costs::cost_report(&mut conn, ctx.company_id(), dimension, &from, &to).await?;
    let by_month = |amounts: &[i64]| -> Value {
        report
            .periods
            .iter()
            .zip(amounts)
            .map(|(p, a)| (p.clone(), json!(yuan(*a))))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let groups: Vec<Value> = report
        .groups
        .iter()
        .map(|g| {
            let accounts: Vec<Value> = g
                .rows
                .iter()
                .map(|r| json!({"code": r.code, "name_zh": r.name_zh, "name_en": r.name_en, "months": by_month(&r.amounts), "amount": yuan(r.total)}))
                .collect();
            json!({dimension.key(): g.code, "name": g.name, "months": by_month(&g.amounts), "amount": yuan(g.total), "accounts": accounts})
        })
        .collect();
    Ok(Json(json!({"dimension": dimension.key(), "from": from, "to": to, "periods": report.periods, "groups": groups})))
}

/// The company's cost centres or projects.
pub async fn dimension_list(ctx: Ctx, Path(dimension): Path<String>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let dimension = Dimension::from_path(&dimension)?;
    let mut conn = conn(&ctx).await?;
    let items = dimensions::list(&mut conn, ctx.company_id(), dimension).await?;
    Ok(Json(json!({"dimension": dimension.key(), "items": items})))
}

/// Adds a cost centre or project.
pub async fn dimension_create(
    ctx: Ctx,
    Path(dimension): Path<String>,
    ApiJson(form): ApiJson<dimensions::TagForm>,
) -> AppResult<Response> {
    let dimension = Dimension::from_path(&dimension)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    dimensions::create(&mut tx, &ctx.principal, dimension, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"code": form.code.trim(), "name": form.name.trim()}))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    name: String,
}

/// Renames a cost centre or project.
pub async fn dimension_rename(
    ctx: Ctx,
    Path((dimension, code)): Path<(String, String)>,
    ApiJson(body): ApiJson<RenameBody>,
) -> AppResult<Json<Value>> {
    let dimension = Dimension::from_path(&dimension)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    dimensions::rename(&mut tx, &ctx.principal, dimension, &code, &body.name).await?;
    tx.commit().await?;
    Ok(Json(json!({"code": code, "name": body.name.trim()})))
}

/// Archives (`archive`) or restores (`restore`) a cost centre or project.
pub async fn dimension_change(
    ctx: Ctx,
    Path((dimension, code, action)): Path<(String, String, String)>,
) -> AppResult<Json<Value>> {
    let (dimension, archive) = (Dimension::from_path(&dimension)?, dimensions::archiving(&action)?);
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    dimensions::set_archived(&mut tx, &ctx.principal, dimension, &code, archive).await?;
    tx.commit().await?;
    Ok(Json(json!({"code": code, "archived": archive})))
}

pub fn bank_docs() -> Vec<ApiRoute> {
    let base = ApiRoute {
        method: "POST",
        path: "/api/v1/finance/bank-statements",
        summary: "Import a bank statement (CSV text with a column mapping)",
        tag: "finance",
        permission: Some(crate::invoicing::PAYMENTS),
        query: &[],
        request: Some(object),
        response: object,
    };
    vec![
        base.clone(),
        ApiRoute {
            method: "GET",
            path: "/api/v1/finance/bank-lines",
            summary: "Statement lines (unmatched=true for the open ones)",
            query: &[("unmatched", "true or false")],
            request: None,
            ..base.clone()
        },
        ApiRoute {
            method: "GET",
            path: "/api/v1/finance/bank-lines/{id}/suggestions",
            summary: "Receipts or payments that may match a line",
            request: None,
            ..base.clone()
        },
        ApiRoute {
            method: "POST",
            path: "/api/v1/finance/bank-lines/{id}/match",
            summary: "Reconcile a line with a receipt or payment (payment_id) or, for a line in yuan, with a voucher no payment made (entry_id) that moves its amount on its account within ten days",
            ..base
        },
        ApiRoute {
            method: "POST",
            path: "/api/v1/finance/bank-lines/{id}/book",
            summary: "Book a line that nothing booked yet (a bank fee, interest) against an account (account, memo), one voucher on its day; a foreign-currency line at rate, or the exchange-rate table's on its day: posted and matched (status posted) for someone the books' rules let book at once, else a draft to be signed and posted, which matches it (status draft)",
            ..base
        },
    ]
}

pub async fn import_statement(ctx: Ctx, ApiJson(form): ApiJson<crate::bank::StatementForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let count = crate::bank::import(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"lines": count}))).into_response())
}

#[derive(Deserialize)]
pub struct BankQuery {
    unmatched: Option<bool>,
}

pub async fn bank_lines(ctx: Ctx, Query(q): Query<BankQuery>) -> AppResult<Json<Value>> {
    ctx.require(crate::invoicing::PAYMENTS)?;
    let mut conn = conn(&ctx).await?;
    let lines = crate::bank::lines(&mut conn, ctx.company_id(), q.unmatched.unwrap_or(false)).await?;
    let items: Vec<Value> = lines
        .iter()
        .map(|l| json!({"id": l.id, "bank_account": l.bank_account, "date": l.date, "amount": l.amount_decimal(), "currency": l.currency, "counterparty": l.counterparty, "reference": l.reference, "memo": l.memo, "payment_id": l.payment_id, "payment_number": l.payment_number, "entry_id": l.entry_id, "entry_number": l.entry_number, "waiting_draft": l.waiting_draft}))
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn bank_suggestions(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    ctx.require(crate::invoicing::PAYMENTS)?;
    let mut conn = conn(&ctx).await?;
    let found = crate::bank::suggestions(&mut conn, ctx.company_id(), super::path_id(&id, "entry")?).await?;
    let items: Vec<Value> = found
        .iter()
        .map(|s| json!({"payment_id": s.payment_id, "entry_id": s.entry_id, "number": s.number, "party_name": s.party_name, "date": s.date, "amount": crate::domain::decimal_text(s.amount, kernel::Currency::from_code(&s.currency).unwrap_or(kernel::Currency::CNY)), "currency": s.currency, "days_apart": s.days_apart, "name_matches": s.name_matches}))
        .collect();
    Ok(Json(json!({"items": items})))
}

/// A match of a statement line: with a receipt or payment, or with a voucher.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchBody {
    #[serde(default)]
    payment_id: Option<i64>,
    #[serde(default)]
    entry_id: Option<i64>,
}

pub async fn bank_match(ctx: Ctx, Path(id): Path<String>, ApiJson(body): ApiJson<MatchBody>) -> AppResult<Json<Value>> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match (body.payment_id, body.entry_id) {
        (Some(payment), None) => crate::bank::reconcile(&mut tx, &ctx.principal, id, payment).await?,
        (None, Some(entry)) => crate::bank::reconcile_voucher(&mut tx, &ctx.principal, id, entry).await?,
        _ => return Err(DomainError::invalid("payment_id", "error.bank.match_one", "").into()),
    }
    tx.commit().await?;
    Ok(Json(json!({"id": id, "payment_id": body.payment_id, "entry_id": body.entry_id})))
}

/// Books a statement line nothing booked yet against an account, and matches it.
pub async fn bank_book(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<crate::bank::BookForm>,
) -> AppResult<Response> {
    let id = super::path_id(&id, "entry")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let booked = crate::bank::book(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    let (entry_id, status) = match booked {
        crate::bank::Booked::Posted(entry) => (entry, "posted"),
        crate::bank::Booked::Drafted(entry) => (entry, "draft"),
    };
    Ok((StatusCode::CREATED, Json(json!({"id": id, "entry_id": entry_id, "status": status}))).into_response())
}

pub fn rate_docs() -> Vec<ApiRoute> {
    let list = ApiRoute {
        method: "GET",
        path: "/api/v1/finance/exchange-rates",
        summary: "The exchange-rate table (汇率表), latest first; with date, each currency's rate in force that day",
        tag: "finance",
        permission: Some(crate::invoicing::READ),
        query: &[
            ("currency", "USD, EUR, HKD or JPY: that currency's rates only"),
            ("date", "YYYY-MM-DD: the rates in force on that day (the latest on or before it)"),
        ],
        request: None,
        response: object,
    };
    let set = ApiRoute {
        method: "POST",
        summary: "Enter a currency's rate to CNY from a day on (or correct that day's); documents left without a rate take the one in force on their date",
        permission: Some(service::ACCOUNTS),
        query: &[],
        request: Some(
            || json!({"type": "object", "required": ["currency", "date", "rate"], "properties": {"currency": {"type": "string", "example": "USD"}, "date": {"type": "string", "format": "date"}, "rate": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,6})?$", "example": "7.1"}}}),
        ),
        ..list.clone()
    };
    let remove = ApiRoute {
        method: "DELETE",
        path: "/api/v1/finance/exchange-rates/{currency}/{date}",
        summary: "Take a rate out of the table; the one before it holds from that day",
        request: None,
        ..set.clone()
    };
    vec![list, set, remove]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesQuery {
    currency: Option<String>,
    date: Option<String>,
}

/// The most rows one answer of the table holds.
const RATES_LISTED: i64 = 1000;

/// The exchange-rate table, or the rates in force on a day.
pub async fn exchange_rates(ctx: Ctx, Query(q): Query<RatesQuery>) -> AppResult<Json<Value>> {
    ctx.require(crate::invoicing::READ)?;
    let currency = match q.currency.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Some(
            kernel::Currency::from_code(code)
                .filter(|c| *c != kernel::Currency::CNY)
                .ok_or_else(|| AppError::BadListParam { key: "error.finance.currency", detail: code.to_string() })?,
        ),
        None => None,
    };
    let mut conn = conn(&ctx).await?;
    let items = match q.date.as_deref() {
        Some(date) => {
            let day = kernel::dates::parse("date", date).map_err(|e| DomainError::Invalid(vec![e]))?;
            let mut rates = crate::fx::rates_on(&mut conn, ctx.company_id(), &day.to_string()).await?;
            rates.retain(|r| currency.is_none_or(|c| c.code() == r.currency));
            rates
        }
        None => crate::fx::table(&mut conn, ctx.company_id(), currency, RATES_LISTED).await?,
    };
    Ok(Json(json!({"items": items})))
}

/// Enters a rate into the table.
pub async fn set_exchange_rate(ctx: Ctx, ApiJson(form): ApiJson<crate::fx::TableRateForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let row = crate::fx::set_rate(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!(row))).into_response())
}

/// Takes a rate out of the table.
pub async fn remove_exchange_rate(ctx: Ctx, Path((currency, date)): Path<(String, String)>) -> AppResult<StatusCode> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::fx::remove_rate(&mut tx, &ctx.principal, &currency, &date).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The general ledger (总分类账) of a range of months.
pub async fn general_ledger(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::REPORTS)?;
    let (from, to) = (q.from.clone().unwrap_or_default(), q.to.clone().unwrap_or_default());
    domain::period_range(&from, &to).map_err(AppError::Domain)?;
    let mut conn = conn(&ctx).await?;
    let accounts = service::general_ledger(&mut conn, ctx.company_id(), &from, &to, q.code.as_deref()).await?;
    let items: Vec<Value> = accounts
        .iter()
        .map(|a| {
            json!({"code": a.code, "name_zh": a.name_zh, "name_en": a.name_en, "opening": yuan(a.opening),
                "months": a.months.iter().map(|m| json!({"period": m.period, "debit": yuan(m.debit), "credit": yuan(m.credit),
                    "balance": yuan(m.balance), "year_debit": yuan(m.year_debit), "year_credit": yuan(m.year_credit)})).collect::<Vec<_>>()})
        })
        .collect();
    Ok(Json(json!({"from": from, "to": to, "items": items})))
}

pub fn vat_docs() -> Vec<ApiRoute> {
    let report = ApiRoute {
        method: "GET",
        path: "/api/v1/finance/reports/vat",
        summary: "VAT return (增值税申报): sales and purchases by rate, output and input VAT from the ledger, payable, credit carried forward, still to transfer",
        tag: "finance",
        permission: Some(service::REPORTS),
        query: &[("from", "YYYY-MM"), ("to", "YYYY-MM")],
        request: None,
        response: object,
    };
    let transfer = ApiRoute {
        method: "POST",
        path: "/api/v1/finance/periods/{period}/vat-transfer",
        summary: "Transfer the month's unpaid VAT (月末结转未交增值税): Dr 转出未交增值税, Cr 未交增值税, and accrue its surtaxes (计提附加税费): Dr 税金及附加, Cr each surtax payable; 201 with the transfer's voucher and the accrual's under surtaxes, or 200 with none when there is nothing to post",
        permission: Some(service::POST),
        query: &[],
        ..report.clone()
    };
    let ledger = ApiRoute {
        method: "GET",
        path: "/api/v1/finance/reports/general-ledger",
        summary: "General ledger (总分类账): per first-level account (or one account with code) the opening balance and each month's debit, credit, balance and year-to-date totals; balances debit positive",
        tag: "finance",
        permission: Some(service::REPORTS),
        query: &[("from", "YYYY-MM"), ("to", "YYYY-MM (at most 24 months)"), ("code", "one account, its sub-accounts included")],
        request: None,
        response: object,
    };
    let payment = ApiRoute {
        method: "POST",
        path: "/api/v1/finance/periods/{period}/tax-payment",
        summary: "Pay the month's unpaid VAT, simplified-method VAT and surtaxes (缴纳税款) on a day after the month: Dr 未交增值税, 简易计税 and the surtax payables, Cr the bank (bank_account, the company's bank when left out); 201 with the voucher, posted (status posted) by someone who may post and give the signatures the books ask for, else a draft (status draft, no number) signed by its maker as cashier where they may; 200 with none when nothing is owed; 422 on date while a draft paying taxes (of any month) waits",
        permission: Some(service::CREATE),
        query: &[],
        request: Some(tax_payment_schema),
        ..report.clone()
    };
    vec![report, transfer, payment, ledger]
}

fn tax_payment_schema() -> Value {
    json!({"type": "object", "required": ["date"], "properties": {
        "date": {"type": "string", "format": "date"}, "bank_account": {"type": "string"}}})
}

/// A month's taxes owed or paid, as the API sends them.
fn owed_json(owed: &crate::surtaxes::Owed) -> Value {
    let mut by_tax = serde_json::Map::new();
    by_tax.insert("vat".into(), json!(yuan(owed.vat.1)));
    by_tax.insert("simplified_vat".into(), json!(yuan(owed.simplified.0)));
    for (tax, _, amount) in &owed.surtaxes {
        by_tax.insert(tax.key().into(), json!(yuan(*amount)));
    }
    by_tax.insert("total".into(), json!(yuan(owed.total())));
    Value::Object(by_tax)
}

/// The VAT return of a range of months (one month when `from` is left out).
pub async fn vat_return(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::REPORTS)?;
    let to = q.to.clone().unwrap_or_default();
    let from = q.from.clone().filter(|f| !f.is_empty()).unwrap_or_else(|| to.clone());
    let mut conn = conn(&ctx).await?;
    let r = crate::vat_return::vat_return(&mut conn, ctx.company_id(), &from, &to).await?;
    let owed = crate::surtaxes::owed(&mut conn, ctx.company_id(), &r.to).await?;
    let surtaxes: Vec<Value> = r
        .surtaxes
        .iter()
        .map(|s| {
            json!({"tax": s.tax.key(), "rate": s.rate_text(), "account": s.account, "due": yuan(s.due),
                "accrued": yuan(s.accrued), "to_accrue": yuan(s.to_accrue())})
        })
        .collect();
    // Only a sale is taxed under the simplified method; a purchase at its rates is input VAT.
    let rows = |rows: &[crate::vat_return::RateRow], sales: bool| -> Vec<Value> {
        rows.iter()
            .map(|r| {
                json!({"vat_rate": r.rate_text(), "simplified_method": sales && kernel::vat::simplified_method(r.rate_bp),
                    "documents": r.documents, "net": yuan(r.net), "tax": yuan(r.tax)})
            })
            .collect()
    };
    Ok(Json(json!({
        "from": r.from, "to": r.to, "sales": rows(&r.sales, true), "purchases": rows(&r.purchases, false),
        "sales_documents": r.sales_documents, "purchase_documents": r.purchase_documents,
        "output": yuan(r.output), "input": yuan(r.input), "input_reversed": yuan(r.input_reversed), "reduction": yuan(r.reduction), "output_deduction": yuan(r.output_deduction), "opening": yuan(r.opening), "credit_carried_in": yuan(r.credit_carried_in), "untransferred_before": yuan(r.untransferred_before), "payable": yuan(r.payable),
        "simplified": yuan(r.simplified), "tax_due": yuan(r.tax_due()),
        "settled": yuan(r.settled), "to_transfer": yuan(r.to_transfer()), "carried_forward": yuan(r.carried_forward()), "paid_ahead": yuan(r.paid_ahead),
        "sales_without_deduction": yuan(r.sales_without_deduction()), "input_share_to_take_back": yuan(r.input_share_to_take_back()),
        "surtax_base": yuan(r.surtax_base), "surtaxes": surtaxes, "education_exempt_months": r.surtax_exempt_months, "to_pay": owed_json(&owed),
        "taxpayer": r.taxpayer.key(), "vat_exempt": yuan(r.exempt_total()),
        "vat_exempt_months": r.vat_exempt.iter().map(|e| json!({"month": e.month, "exempt": yuan(e.exempt), "exempted": yuan(e.exempted)})).collect::<Vec<_>>(),
    })))
}

/// Transfers a month's unpaid VAT and accrues its surtaxes.
pub async fn vat_transfer(ctx: Ctx, Path(period): Path<String>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let posted = crate::vat_return::transfer_unpaid(&mut tx, &ctx.principal, &period).await?;
    tx.commit().await?;
    let status = if posted.is_empty() { StatusCode::OK } else { StatusCode::CREATED };
    let voucher = |t: &Option<crate::domain::PostedVoucher>| match t {
        Some(t) => json!({"entry_id": t.entry_id, "number": t.number, "amount": yuan(t.amount)}),
        None => json!({"entry_id": null, "number": null, "amount": yuan(0)}),
    };
    let mut body = voucher(&posted.transfer);
    body["period"] = json!(period);
    body["surtaxes"] = voucher(&posted.surtaxes);
    body["exemption"] = voucher(&posted.exemption);
    Ok((status, Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxPaymentBody {
    #[serde(default)]
    date: String,
    #[serde(default)]
    bank_account: String,
}

/// Pays a month's unpaid VAT and surtaxes.
pub async fn tax_payment(
    ctx: Ctx,
    Path(period): Path<String>,
    ApiJson(body): ApiJson<TaxPaymentBody>,
) -> AppResult<Response> {
    let form =
        crate::surtaxes::PaymentForm { period: period.clone(), date: body.date, bank_account: body.bank_account };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let paid = crate::surtaxes::pay(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok(match paid {
        Some(p) => {
            let status = if p.number.is_some() { "posted" } else { "draft" };
            let body = json!({"period": period, "entry_id": p.entry_id, "number": p.number, "status": status,
                "paid": owed_json(&p.owed)});
            (StatusCode::CREATED, Json(body)).into_response()
        }
        None => Json(json!({"period": period, "entry_id": null, "number": null, "paid": null})).into_response(),
    })
}

pub fn statement_docs() -> Vec<ApiRoute> {
    vec![ApiRoute {
        method: "GET",
        path: "/api/v1/finance/reports/party-statement",
        summary: "Statement of account (对账单) of a customer or supplier between two dates",
        tag: "finance",
        permission: Some(crate::invoicing::READ),
        query: &[("party_id", "The party"), ("from", "YYYY-MM-DD"), ("to", "YYYY-MM-DD")],
        request: None,
        response: object,
    }]
}

pub async fn party_statement(ctx: Ctx, Query(q): Query<super::invoices::StatementQuery>) -> AppResult<Json<Value>> {
    ctx.require(crate::invoicing::READ)?;
    let party = q.party_id.ok_or_else(|| AppError::Domain(DomainError::invalid("party_id", "error.required", "")))?;
    let currency = q.currency()?;
    let (from, to) = (q.from.unwrap_or_default(), q.to.unwrap_or_default());
    let mut conn = conn(&ctx).await?;
    let (opening, lines) =
        crate::invoicing::party_statement(&mut conn, ctx.company_id(), party, &from, &to, currency).await?;
    let closing = lines.last().map(|l| l.balance).unwrap_or(opening);
    let amount = |minor: i64| crate::domain::decimal_text(minor, currency);
    let items: Vec<Value> = lines
        .iter()
        .map(|l| json!({"date": l.date, "kind": l.kind, "number": l.number, "charge": amount(l.charge), "credit": amount(l.credit), "balance": amount(l.balance)}))
        .collect();
    Ok(Json(
        json!({"party_id": party, "currency": currency.code(), "from": from, "to": to, "opening": amount(opening), "items": items, "closing": amount(closing)}),
    ))
}

#[derive(Deserialize)]
pub struct BudgetQuery {
    dimension: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The budget against actual of cost centres or projects over a range.
pub async fn budget_report(ctx: Ctx, Query(q): Query<BudgetQuery>) -> AppResult<Json<Value>> {
    use crate::budgets::Execution;
    ctx.require(service::REPORTS)?;
    let dimension = Dimension::chosen(q.dimension.as_deref())?;
    let (from, to) = months(q.from.as_deref(), q.to.as_deref())?;
    let mut conn = conn(&ctx).await?;
    let report = crate::budgets::budget_report(&mut conn, ctx.company_id(), dimension, &from, &to).await?;
    let figures = |e: &dyn Execution| {
        let (budget, actual) = e.figures();
        json!({"budget": yuan(budget), "actual": yuan(actual), "remaining": yuan(e.remaining()), "used_percent": e.used_percent(), "over": e.over()})
    };
    let groups: Vec<Value> = report
        .groups
        .iter()
        .map(|g| {
            let accounts: Vec<Value> = g
                .rows
                .iter()
                .map(|r| {
                    let mut row = figures(r);
                    row["account"] = json!(r.account);
                    row["name_zh"] = json!(r.name_zh);
                    row["name_en"] = json!(r.name_en);
                    row["action"] = json!(if r.stops { "stop" } else { "warn" });
                    row
                })
                .collect();
            let mut group = figures(g);
            group[dimension.key()] = json!(g.code);
            group["name"] = json!(g.name);
            group["accounts"] = json!(accounts);
            group
        })
        .collect();
    let mut body = figures(&report);
    body["dimension"] = json!(dimension.key());
    body["from"] = json!(from);
    body["to"] = json!(to);
    body["groups"] = json!(groups);
    Ok(Json(body))
}

/// Sets (replaces) a year's budget of one cost centre or project and account.
pub async fn set_budget(
    ctx: Ctx,
    Path(dimension): Path<String>,
    ApiJson(form): ApiJson<crate::budgets::BudgetForm>,
) -> AppResult<Json<Value>> {
    let dimension = Dimension::from_path(&dimension)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::budgets::set_budget(&mut tx, &ctx.principal, dimension, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let (code, account, year) = (form.code.trim(), form.account.trim(), form.year.trim());
    let (months, action) = crate::budgets::year_of(&mut conn, ctx.company_id(), dimension, code, account, year).await?;
    Ok(Json(json!({
        "dimension": dimension.key(), "code": code, "account": account, "year": year, "action": action,
        "months": months.iter().map(|m| yuan(*m)).collect::<Vec<_>>(),
        "total": yuan(months.iter().sum()),
    })))
}

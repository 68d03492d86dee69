//! Payroll pages and API: runs, payslips (HR sees a run's; everyone their own), the bank
//! payment file, salary structures, city rules, and the tax calculator HR answers employees'
//! questions with.

use super::{conn, finish_page, route, this_year, YearQuery};
use crate::domain::{self, TaxMonth, TaxYear};
use crate::org::PAY_READ;
use crate::payroll::{
    self, CityRuleForm, ComponentForm, InputForm, Payslip, Run, RunForm, Structure, StructureForm, PAYROLL_MANAGE,
    PAYROLL_POST,
};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use finance::domain::yuan;
use kernel::error::Problems;
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::page::{csv_download, field_messages, finish_form, message_for, render, render_status};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hr/payroll", get(runs_page).post(create_run_page))
        .route("/hr/payroll/settings", get(settings_page).post(settings_action_page))
        .route("/hr/payroll/{id}", get(run_page))
        .route("/hr/payroll/{id}/{action}", post(run_action_page))
        .route("/hr/payroll/{id}/bank-file", get(bank_file))
        .route("/hr/payslips/{id}", get(payslip_page))
        .route("/hr/my/payslips", get(my_payslips_page))
        .route("/hr/iit", get(iit_page).post(iit_form_page))
        .route("/api/v1/hr/structures", get(structures_api).post(create_structure_api))
        .route("/api/v1/hr/structures/{id}", axum::routing::put(update_structure_api))
        .route("/api/v1/hr/city-rules", get(city_rules_api).post(save_city_rule_api))
        .route("/api/v1/hr/payroll-runs", get(runs_api).post(create_run_api))
        .route("/api/v1/hr/payroll-runs/{id}", get(run_api))
        .route("/api/v1/hr/payroll-runs/{id}/recompute", post(recompute_api))
        .route("/api/v1/hr/payroll-runs/{id}/post", post(post_api))
        .route("/api/v1/hr/payroll-runs/{id}/bank-file", get(bank_file))
        .route("/api/v1/hr/payslips", get(payslips_api))
        .route("/api/v1/hr/payslips/{id}", get(payslip_api))
        .route("/api/v1/hr/iit/preview", post(iit_preview_api))
}

pub fn docs() -> Vec<ApiRoute> {
    vec![
        route("GET", "/api/v1/hr/structures", "Salary structures and their formula components", PAY_READ, None),
        route("POST", "/api/v1/hr/structures", "Create a salary structure", PAYROLL_MANAGE, Some(object)),
        route(
            "PUT",
            "/api/v1/hr/structures/{id}",
            "Replace a structure's name and components (its code stays)",
            PAYROLL_MANAGE,
            Some(object),
        ),
        route(
            "GET",
            "/api/v1/hr/city-rules",
            "Social insurance and housing fund rules per city for a year",
            PAY_READ,
            None,
        ),
        route(
            "POST",
            "/api/v1/hr/city-rules",
            "Create or replace a city's social insurance and housing fund rule for a year",
            PAYROLL_MANAGE,
            Some(object),
        ),
        route("GET", "/api/v1/hr/payroll-runs", "Payroll runs", PAY_READ, None),
        route(
            "POST",
            "/api/v1/hr/payroll-runs",
            "Compute a month's run (all or nothing)",
            PAYROLL_MANAGE,
            Some(object),
        ),
        route("GET", "/api/v1/hr/payroll-runs/{id}", "A run with its totals", PAY_READ, None),
        route("POST", "/api/v1/hr/payroll-runs/{id}/recompute", "Compute a draft run again", PAYROLL_MANAGE, None),
        route("POST", "/api/v1/hr/payroll-runs/{id}/post", "Post the run's voucher and freeze it", PAYROLL_POST, None),
        route("GET", "/api/v1/hr/payroll-runs/{id}/bank-file", "The bank payment file (CSV)", PAY_READ, None),
        ApiRoute {
            query: &[("run", "a run id")],
            ..route("GET", "/api/v1/hr/payslips", "Payslips (HR: a run's; anyone else: their own)", PAY_READ, None)
        },
        route("GET", "/api/v1/hr/payslips/{id}", "A payslip with its lines (HR or its employee)", PAY_READ, None),
        route(
            "POST",
            "/api/v1/hr/iit/preview",
            "Each month's IIT withholding for months of wages and deductions",
            PAY_READ,
            Some(object),
        ),
    ]
}

fn run_json(r: &Run) -> Value {
    json!({"id": r.id, "number": r.number, "period": r.period, "kind": r.kind, "status": r.status, "pay_date": r.pay_date,
        "employees": r.employees, "gross": yuan(r.gross), "net": yuan(r.net), "employer_cost": yuan(r.employer_cost),
        "entry_number": r.entry_number, "created_at": r.created_at, "posted_at": r.posted_at})
}

fn payslip_json(s: &Payslip) -> Value {
    json!({"id": s.id, "run_id": s.run_id, "run_number": s.run_number, "period": s.period, "status": s.status,
        "employee_id": s.employee_id, "employee_number": s.employee_number, "name": s.name, "department": s.department,
        "gross": yuan(s.gross), "bonus": yuan(s.bonus), "pension_employee": yuan(s.pension_employee),
        "medical_employee": yuan(s.medical_employee), "unemployment_employee": yuan(s.unemployment_employee),
        "housing_employee": yuan(s.housing_employee), "employer_contributions": yuan(s.employer_contributions),
        "additional_deductions": yuan(s.additional_deductions), "iit": yuan(s.iit), "bonus_iit": yuan(s.bonus_iit),
        "other_deductions": yuan(s.other_deductions), "net": yuan(s.net), "months": s.months,
        "cumulative_wages": yuan(s.cumulative_wages), "cumulative_deductions": yuan(s.cumulative_deductions),
        "cumulative_taxable": yuan(s.cumulative_taxable), "cumulative_tax": yuan(s.cumulative_tax),
        "contribution_base": yuan(s.contribution_base),
        "lines": s.lines.iter().map(|l| json!({"code": l.code, "name": l.name, "kind": l.kind, "amount": yuan(l.amount)})).collect::<Vec<_>>()})
}

async fn structures_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(PAY_READ)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::pay_rules::ensure_defaults(&mut tx, ctx.company_id(), this_year(&ctx)).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": payroll::structures(&mut conn, ctx.company_id()).await?})))
}

async fn create_structure_api(ctx: Ctx, ApiJson(form): ApiJson<StructureForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| payroll::create_structure(&mut tx, &ctx.principal, &form));
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn update_structure_api(
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(form): ApiJson<StructureForm>,
) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| payroll::update_structure(&mut tx, &ctx.principal, id, &form));
    let mut conn = conn(&ctx).await?;
    let found = payroll::structures(&mut conn, ctx.company_id()).await?.into_iter().find(|s| s.id == id);
    Ok(Json(json!(found.ok_or(DomainError::NotFound("structure"))?)))
}

async fn city_rules_api(ctx: Ctx, Query(q): Query<YearQuery>) -> AppResult<Json<Value>> {
    ctx.require(PAY_READ)?;
    let year = q.year.unwrap_or_else(|| this_year(&ctx));
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::pay_rules::ensure_defaults(&mut tx, ctx.company_id(), year).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"year": year, "items": crate::pay_rules::city_rules(&mut conn, ctx.company_id(), year).await?})))
}

async fn save_city_rule_api(ctx: Ctx, ApiJson(form): ApiJson<CityRuleForm>) -> AppResult<Response> {
    in_tx!(ctx, |tx| payroll::save_city_rule(&mut tx, &ctx.principal, &form));
    Ok(StatusCode::CREATED.into_response())
}

async fn runs_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = payroll::runs(&mut conn, &ctx.principal).await?.iter().map(run_json).collect();
    Ok(Json(json!({"items": items})))
}

async fn run_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(run_json(&payroll::run(&mut conn, &ctx.principal, id).await?)))
}

async fn create_run_api(ctx: Ctx, ApiJson(form): ApiJson<RunForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| payroll::create_run(&mut tx, &ctx.principal, &form));
    Ok((StatusCode::CREATED, run_api(ctx, Path(id)).await?).into_response())
}

async fn recompute_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| payroll::recompute(&mut tx, &ctx.principal, id));
    run_api(ctx, Path(id)).await
}

async fn post_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| payroll::post(&mut tx, &ctx.principal, id));
    run_api(ctx, Path(id)).await
}

async fn bank_file(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let (name, rows) = in_tx!(ctx, |tx| payroll::bank_file(&mut tx, &ctx.principal, id));
    let header: Vec<String> = payroll::BANK_FILE_HEADER.iter().map(|h| h.to_string()).collect();
    csv_download(&format!("bank-{name}.csv"), &header, &rows)
}

#[derive(Deserialize, Default)]
pub struct PayslipsQuery {
    run: Option<i64>,
}

async fn payslips_api(ctx: Ctx, Query(q): Query<PayslipsQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> =
        payroll::payslips(&mut conn, &ctx.principal, q.run, None).await?.iter().map(payslip_json).collect();
    Ok(Json(json!({"items": items})))
}

async fn payslip_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(payslip_json(&payroll::payslip(&mut conn, &ctx.principal, id).await?)))
}

// ---- The tax calculator ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    months: Vec<PreviewMonth>,
    /// A separately taxed annual bonus to price as well.
    #[serde(default)]
    annual_bonus: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct PreviewMonth {
    wages: String,
    #[serde(default)]
    special: String,
    #[serde(default)]
    additional: String,
    #[serde(default)]
    other: String,
}

/// Each month's withholding from the first month worked this year, in order.
fn preview(body: &PreviewBody) -> Result<Value, DomainError> {
    let mut p = Problems::default();
    if body.months.is_empty() || body.months.len() > 12 {
        p.add("months", "error.hr.preview_months", body.months.len().to_string());
    }
    let amount = |p: &mut Problems, field: String, text: &str| match text.trim() {
        "" => 0,
        t => p.amount(&field, t),
    };
    let months: Vec<TaxMonth> = body
        .months
        .iter()
        .enumerate()
        .map(|(i, m)| TaxMonth {
            wages: amount(&mut p, format!("months[{i}].wages"), &m.wages),
            special: amount(&mut p, format!("months[{i}].special"), &m.special),
            additional: amount(&mut p, format!("months[{i}].additional"), &m.additional),
            other: amount(&mut p, format!("months[{i}].other"), &m.other),
        })
        .collect();
    let bonus = amount(&mut p, "annual_bonus".into(), &body.annual_bonus);
    p.finish()?;
    let mut year = TaxYear::default();
    let mut out = Vec::new();
    for month in &months {
        let w = domain::withhold(&year, month);
        out.push(json!({"month": w.months, "cumulative_wages": yuan(w.cumulative_wages),
            "cumulative_deductions": yuan(w.cumulative_deductions), "cumulative_taxable": yuan(w.cumulative_taxable),
            "rate": format!("{}%", w.rate_bp / 100), "quick_deduction": yuan(w.quick_deduction),
            "cumulative_tax": yuan(w.cumulative_tax), "tax": yuan(w.tax)}));
        year = year.after(&w);
    }
    Ok(json!({"months": out, "total": yuan(year.withheld), "annual_bonus_tax": yuan(domain::annual_bonus_tax(bonus))}))
}

async fn iit_preview_api(ctx: Ctx, ApiJson(body): ApiJson<PreviewBody>) -> AppResult<Json<Value>> {
    ctx.require(PAY_READ)?;
    Ok(Json(preview(&body)?))
}

#[derive(Template)]
#[template(path = "hr/iit.html")]
struct IitPage {
    page: PageCtx,
    rows: Vec<[String; 4]>,
    bonus: String,
    result: Option<Value>,
    errors: Vec<(String, String)>,
}

impl IitPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    /// The computed months, if any.
    fn months(&self) -> &[Value] {
        self.result.as_ref().and_then(|r| r["months"].as_array()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// What was typed in month `i`'s column `j`.
    fn typed(&self, i: impl std::borrow::Borrow<usize>, j: impl std::borrow::Borrow<usize>) -> &str {
        self.rows.get(*i.borrow()).map(|r| r[*j.borrow()].as_str()).unwrap_or("")
    }

    fn cell(&self, row: &Value, key: &str) -> String {
        row[key].as_str().map(str::to_string).unwrap_or_else(|| row[key].to_string())
    }
}

async fn iit_page(ctx: Ctx) -> AppResult<Response> {
    ctx.require(PAY_READ)?;
    let rows = vec![["20000".to_string(), "3000".to_string(), "2000".to_string(), String::new()]; 5];
    let page = PageCtx::new(&ctx, "hr.iit", "/hr/iit").await?;
    render(&IitPage { page, rows, bonus: String::new(), result: None, errors: Vec::new() })
}

async fn iit_form_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(PAY_READ)?;
    let rows: Vec<[String; 4]> = pairs
        .rows(&["wages", "special", "additional", "other"])
        .into_iter()
        .filter(|r| !r[0].trim().is_empty())
        .collect();
    let body = PreviewBody {
        months: rows
            .iter()
            .map(|[wages, special, additional, other]| PreviewMonth {
                wages: wages.clone(),
                special: special.clone(),
                additional: additional.clone(),
                other: other.clone(),
            })
            .collect(),
        annual_bonus: pairs.text("annual_bonus"),
    };
    let page = PageCtx::new(&ctx, "hr.iit", "/hr/iit").await?;
    match preview(&body) {
        Ok(result) => {
            render(&IitPage { page, rows, bonus: body.annual_bonus, result: Some(result), errors: Vec::new() })
        }
        Err(DomainError::Invalid(errors)) => {
            let errors = field_messages(&ctx, &errors);
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &IitPage { page, rows, bonus: body.annual_bonus, result: None, errors },
            )
        }
        Err(e) => Err(e.into()),
    }
}

// ---- Run pages ----

#[derive(Template)]
#[template(path = "hr/payroll.html")]
struct RunsPage {
    page: PageCtx,
    runs: Vec<Run>,
    period: String,
    kind: String,
    pay_date: String,
    inputs: String,
    errors: Vec<(String, String)>,
    can_manage: bool,
}

impl RunsPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn runs_view(ctx: &Ctx, typed: [String; 4], errors: Vec<(String, String)>) -> AppResult<RunsPage> {
    let [period, kind, pay_date, inputs] = typed;
    let mut conn = conn(ctx).await?;
    let runs = payroll::runs(&mut conn, &ctx.principal).await?;
    drop(conn);
    Ok(RunsPage {
        page: PageCtx::new(ctx, "hr.payroll", "/hr/payroll").await?,
        runs,
        period,
        kind,
        pay_date,
        inputs,
        errors,
        can_manage: ctx.principal.may(PAYROLL_MANAGE),
    })
}

async fn runs_page(ctx: Ctx) -> AppResult<Response> {
    let period = ctx.today().format("%Y-%m").to_string();
    render(&runs_view(&ctx, [period, String::new(), String::new(), String::new()], Vec::new()).await?)
}

/// Inputs typed one per line as `EMP/000001, overtime_hours, 12`.
fn parse_inputs(text: &str) -> Vec<InputForm> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.split([',', '，', '\t']).map(str::trim);
            InputForm {
                employee: parts.next().unwrap_or_default().to_string(),
                code: parts.next().unwrap_or_default().to_string(),
                amount: parts.next().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

async fn create_run_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = RunForm {
        period: pairs.text("period"),
        kind: pairs.text("kind"),
        pay_date: pairs.text("pay_date"),
        inputs: parse_inputs(&pairs.text("inputs")),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = payroll::create_run(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/hr/payroll/{id}"), "common.created"),
        async |errors| {
            // Input lines are named by their line on the page: inputs[2].amount is line 3.
            let errors: Vec<_> = errors
                .into_iter()
                .map(|mut e| {
                    if e.field.starts_with("inputs[") {
                        let line = e.field[7..].split(']').next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
                        e.detail = format!("{} ({})", e.detail, line + 1);
                        e.field = "inputs".into();
                    }
                    e
                })
                .collect();
            let text = field_messages(&ctx, &errors);
            runs_view(&ctx, [form.period, form.kind, form.pay_date, pairs.text("inputs")], text).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "hr/payroll_run.html")]
struct RunPage {
    page: PageCtx,
    run: Run,
    payslips: Vec<Payslip>,
    errors: Vec<(String, String)>,
    can_manage: bool,
    can_post: bool,
}

impl RunPage {
    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn run_view(ctx: &Ctx, id: i64, errors: Vec<(String, String)>) -> AppResult<RunPage> {
    let mut conn = conn(ctx).await?;
    let run = payroll::run(&mut conn, &ctx.principal, id).await?;
    let payslips = payroll::payslips(&mut conn, &ctx.principal, Some(id), None).await?;
    drop(conn);
    Ok(RunPage {
        page: PageCtx::new(ctx, "hr.payroll_run", "/hr/payroll")
            .await?
            .titled(format!("{} {}", run.number, run.period)),
        run,
        payslips,
        errors,
        can_manage: ctx.principal.may(PAYROLL_MANAGE),
        can_post: ctx.principal.may(PAYROLL_POST),
    })
}

async fn run_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    render(&run_view(&ctx, id, Vec::new()).await?)
}

async fn run_action_page(ctx: Ctx, Path((id, action)): Path<(i64, String)>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = match action.as_str() {
        "post" => payroll::post(&mut tx, &ctx.principal, id).await.map(|_| ()),
        "recompute" => payroll::recompute(&mut tx, &ctx.principal, id).await,
        _ => return Err(DomainError::NotFound("action").into()),
    };
    let to = format!("/hr/payroll/{id}");
    finish_page(&ctx, tx, outcome, (&to, ""), FormPairs::default(), async |refused| {
        run_view(&ctx, id, refused.errors).await
    })
    .await
}

#[derive(Template)]
#[template(path = "hr/payslip.html")]
struct PayslipPage {
    page: PageCtx,
    s: Payslip,
}

impl PayslipPage {
    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn payslip_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let s = payroll::payslip(&mut conn, &ctx.principal, id).await?;
    drop(conn);
    let page = PageCtx::new(&ctx, "hr.payslip", "/hr/my/payslips")
        .await?
        .titled(format!("{} {} {}", s.period, s.employee_number, s.name));
    render(&PayslipPage { page, s })
}

#[derive(Template)]
#[template(path = "hr/my_payslips.html")]
struct MyPayslipsPage {
    page: PageCtx,
    payslips: Vec<Payslip>,
    linked: bool,
}

impl MyPayslipsPage {
    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn my_payslips_page(ctx: Ctx) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let own = crate::org::own_employee(&mut conn, &ctx.principal).await?;
    // Even HR sees only their own here: this is the self-service page.
    let mut payslips = Vec::new();
    if let Some(own) = own {
        payslips = payroll::payslips(&mut conn, &ctx.principal, None, Some(own)).await?;
    }
    drop(conn);
    let page = PageCtx::new(&ctx, "hr.my_payslips", "/hr/my/payslips").await?;
    render(&MyPayslipsPage { page, payslips, linked: own.is_some() })
}

// ---- Settings: salary structures and city rules ----

/// Empty component rows a new structure's form offers.
const COMPONENT_ROWS: usize = 8;
/// Rows the form may send back (an edited structure shows its rows and two empty ones).
const MAX_COMPONENT_ROWS: usize = 52;

#[derive(Template)]
#[template(path = "hr/payroll_settings.html")]
struct SettingsPage {
    page: PageCtx,
    structures: Vec<Structure>,
    rules: Vec<domain::CityRule>,
    year: i32,
    structure: StructureForm,
    /// The structure the form edits; none: a new one.
    editing: Option<i64>,
    rule: CityRuleForm,
    errors: Vec<(String, String)>,
    can_manage: bool,
}

impl SettingsPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    fn component_error(&self, row: &usize, field: &str) -> Option<&str> {
        message_for(&self.errors, &format!("structure:components[{row}].{field}"))
    }

    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }

    fn percent(&self, bp: impl std::borrow::Borrow<i64>) -> String {
        format!("{} %", yuan(*bp.borrow()))
    }
}

#[derive(Deserialize, Default)]
struct SettingsQuery {
    year: Option<i32>,
    /// The city whose rule fills the form, to edit it.
    city: Option<String>,
    /// The structure whose rows fill the form, to edit it.
    structure: Option<i64>,
}

async fn settings_view(
    ctx: &Ctx,
    year: i32,
    (structure, editing): (Option<StructureForm>, Option<i64>),
    rule: Option<CityRuleForm>,
    errors: Vec<(String, String)>,
) -> AppResult<SettingsPage> {
    ctx.require(PAY_READ)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::pay_rules::ensure_defaults(&mut tx, ctx.company_id(), year).await?;
    tx.commit().await?;
    let mut conn = conn(ctx).await?;
    let structures = payroll::structures(&mut conn, ctx.company_id()).await?;
    let rules = crate::pay_rules::city_rules(&mut conn, ctx.company_id(), year).await?;
    drop(conn);
    let mut structure = structure.unwrap_or_default();
    structure.components.resize(COMPONENT_ROWS.max(structure.components.len()), ComponentForm::default());
    let rule = rule.unwrap_or_else(|| {
        let mut form = CityRuleForm::of(&domain::sample_city(year));
        form.city.clear();
        form
    });
    Ok(SettingsPage {
        page: PageCtx::new(ctx, "hr.payroll_settings", "/hr/payroll").await?,
        structures,
        rules,
        year,
        structure,
        editing,
        rule,
        errors,
        can_manage: ctx.principal.may(PAYROLL_MANAGE),
    })
}

async fn settings_page(ctx: Ctx, Query(q): Query<SettingsQuery>) -> AppResult<Response> {
    let year = q.year.unwrap_or_else(|| this_year(&ctx));
    let mut view = settings_view(&ctx, year, (None, None), None, Vec::new()).await?;
    if let Some(rule) = q.city.and_then(|city| view.rules.iter().find(|r| r.city == city)) {
        view.rule = CityRuleForm::of(rule);
    }
    if let Some(structure) = q.structure.and_then(|id| view.structures.iter().find(|s| s.id == id)) {
        let mut form = StructureForm {
            code: structure.code.clone(),
            name: structure.name.clone(),
            components: structure
                .components
                .iter()
                .map(|c| ComponentForm {
                    code: c.code.clone(),
                    name: c.name.clone(),
                    kind: c.kind.clone(),
                    formula: c.formula.clone(),
                })
                .collect(),
        };
        form.components.resize(COMPONENT_ROWS.max(form.components.len() + 2), ComponentForm::default());
        view.editing = Some(structure.id);
        view.structure = form;
    }
    render(&view)
}

async fn settings_action_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let action = pairs.text("action");
    let year = pairs.text("year").trim().parse().unwrap_or(0);
    let (mut structure, mut rule) = (None, None);
    let editing = pairs.get("structure_id").and_then(|v| v.trim().parse::<i64>().ok());
    let outcome = match action.as_str() {
        "structure" => {
            // Rows left empty are not components.
            let components: Vec<ComponentForm> = (0..MAX_COMPONENT_ROWS)
                .map(|i| ComponentForm {
                    code: pairs.text(&format!("components[{i}].code")),
                    name: pairs.text(&format!("components[{i}].name")),
                    kind: pairs.text(&format!("components[{i}].kind")),
                    formula: pairs.text(&format!("components[{i}].formula")),
                })
                .filter(|c| !(c.code.trim().is_empty() && c.formula.trim().is_empty()))
                .collect();
            let form = StructureForm { code: pairs.text("code"), name: pairs.text("name"), components };
            let outcome = match editing {
                Some(id) => payroll::update_structure(&mut tx, &ctx.principal, id, &form).await,
                None => payroll::create_structure(&mut tx, &ctx.principal, &form).await.map(|_| ()),
            };
            structure = Some(form);
            outcome
        }
        "city_rule" => {
            let form = CityRuleForm {
                city: pairs.text("city"),
                year,
                floor: pairs.text("floor"),
                cap: pairs.text("cap"),
                pension_employee: pairs.text("pension_employee"),
                medical_employee: pairs.text("medical_employee"),
                unemployment_employee: pairs.text("unemployment_employee"),
                pension_employer: pairs.text("pension_employer"),
                medical_employer: pairs.text("medical_employer"),
                unemployment_employer: pairs.text("unemployment_employer"),
                injury_employer: pairs.text("injury_employer"),
                housing_fund: pairs.text("housing_fund"),
                rounding: pairs.text("rounding"),
            };
            let outcome = payroll::save_city_rule(&mut tx, &ctx.principal, &form).await;
            rule = Some(form);
            outcome
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    let back = format!("/hr/payroll/settings?year={year}");
    let shown_year = if (2000..=2100).contains(&year) { year } else { this_year(&ctx) };
    finish_page(&ctx, tx, outcome, (&back, &action), FormPairs::default(), async |refused| {
        settings_view(&ctx, shown_year, (structure, editing), rule, refused.errors).await
    })
    .await
}

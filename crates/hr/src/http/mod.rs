//! HR pages and API: the organisation and employees, the headcount plan and requisitions,
//! and reviews here; payroll, payslips and the tax calculator in `payroll`. (Named `http` so
//! it cannot be confused with the `web` crate.)

/// Runs one operation in a transaction and commits it.
macro_rules! in_tx {
    ($ctx:expr, |$tx:ident| $body:expr) => {{
        let mut $tx = $ctx.db().begin($ctx.actor()).await?;
        let out = $body.await?;
        $tx.commit().await?;
        out
    }};
}

mod attendance;
mod payroll;
mod recruiting;

use crate::careers;
use crate::org::{self, ChangeForm, DepartmentForm, Employee, EmployeeRow, HireForm, PositionForm};
use crate::planning::{
    self, Forecast, ForecastForm, ForecastLineForm, PlanForm, PlanLineForm, PlanRow, Requisition, RequisitionForm,
};
use crate::reviews::{self, FinaliseForm, GoalForm, Review, ReviewForm, ScoresForm};
use crate::training;
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use finance::domain::yuan;
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::page::{field_messages, finish_form, message_for, render, Refused};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hr/employees", get(employees_page).post(hire_page))
        .route("/hr/employees/{id}", get(employee_page))
        .route("/hr/employees/{id}/{action}", post(employee_action_page))
        .route("/hr/organisation", get(organisation_page).post(organisation_action_page))
        .route("/hr/headcount", get(headcount_page).post(headcount_action_page))
        .route("/hr/reviews", get(reviews_page).post(review_action_page))
        .route("/hr/forecasts", get(forecasts_page).post(forecast_action_page))
        .route("/hr/careers", get(careers_page).post(career_step_page))
        .route("/hr/training", get(training_page).post(training_action_page))
        .route("/api/v1/hr/courses", get(courses_api).post(create_course_api))
        .route("/api/v1/hr/courses/{id}/sessions", post(schedule_api))
        .route("/api/v1/hr/sessions", get(sessions_api))
        .route("/api/v1/hr/sessions/{id}/enrolments", post(enrol_api))
        .route("/api/v1/hr/sessions/{id}/evaluations", post(evaluate_api))
        .route("/api/v1/hr/training/needs", get(needs_api))
        .route("/api/v1/hr/training/effectiveness", get(effectiveness_api))
        .route("/api/v1/hr/training/plan", get(training_plan_api).post(plan_training_api))
        .route("/api/v1/hr/career-paths", get(career_paths_api).post(set_step_api))
        .route("/api/v1/hr/career-paths/eligible", get(eligible_api))
        .route("/api/v1/hr/forecasts", get(forecasts_api).post(create_forecast_api))
        .route("/api/v1/hr/forecasts/{id}/apply", post(apply_forecast_api))
        .route("/api/v1/hr/departments", get(departments_api).post(create_department_api))
        .route("/api/v1/hr/positions", get(positions_api).post(create_position_api))
        .route("/api/v1/hr/employees", get(employees_api).post(hire_api))
        .route("/api/v1/hr/employees/{id}", get(employee_api))
        .route("/api/v1/hr/employees/{id}/changes", post(change_api))
        .route("/api/v1/hr/employees/{id}/onboarding", post(onboarding_api))
        .route("/api/v1/hr/headcount-plan", get(plan_api).post(set_plan_api))
        .route("/api/v1/hr/requisitions", get(requisitions_api).post(request_api))
        .route("/api/v1/hr/requisitions/{id}/{decision}", post(decide_api))
        .route("/api/v1/hr/reviews", get(reviews_api).post(create_review_api))
        .route("/api/v1/hr/reviews/{id}/scores", post(score_api))
        .route("/api/v1/hr/reviews/{id}/finalise", post(finalise_api))
        .merge(payroll::routes())
        .merge(recruiting::routes())
        .merge(attendance::routes())
}

/// One documented HR API route without query parameters.
fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    permission: &'static str,
    request: Option<fn() -> Value>,
) -> ApiRoute {
    ApiRoute { method, path, summary, tag: "hr", permission: Some(permission), query: &[], request, response: object }
}

pub fn docs() -> Vec<ApiRoute> {
    use crate::org::{EMPLOYEE_MANAGE, EMPLOYEE_READ};
    use crate::planning::{PLAN_MANAGE, PLAN_READ, REQUISITION_APPROVE};
    use crate::reviews::REVIEW_MANAGE;
    let mut all = vec![
        route("GET", "/api/v1/hr/departments", "Departments in tree order with headcount", EMPLOYEE_READ, None),
        route("POST", "/api/v1/hr/departments", "Create a department under a parent", EMPLOYEE_MANAGE, Some(object)),
        route("GET", "/api/v1/hr/positions", "Positions by job family and grade", EMPLOYEE_READ, None),
        route("POST", "/api/v1/hr/positions", "Create a position", EMPLOYEE_MANAGE, Some(object)),
        ApiRoute {
            query: &[
                ("department", "a department id: it and its sub-departments"),
                ("status", "active, on_leave or exited"),
                ("after", "the last employee id of the previous page"),
            ],
            ..route("GET", "/api/v1/hr/employees", "Employees (no pay; ID numbers masked)", EMPLOYEE_READ, None)
        },
        route(
            "POST",
            "/api/v1/hr/employees",
            "Hire: a new person with the employee role, terms and onboarding",
            EMPLOYEE_MANAGE,
            Some(object),
        ),
        route(
            "GET",
            "/api/v1/hr/employees/{id}",
            "An employee; pay terms only for HR/payroll or the employee",
            EMPLOYEE_READ,
            None,
        ),
        route(
            "POST",
            "/api/v1/hr/employees/{id}/changes",
            "Transfer, promote, leave, return or exit",
            EMPLOYEE_MANAGE,
            Some(object),
        ),
        route("POST", "/api/v1/hr/employees/{id}/onboarding", "Tick an onboarding item", EMPLOYEE_MANAGE, Some(object)),
        ApiRoute {
            query: &[("year", "the plan's year (default this year)")],
            ..route(
                "GET",
                "/api/v1/hr/headcount-plan",
                "Approved vs actual vs open requisitions per department and position",
                PLAN_READ,
                None,
            )
        },
        route(
            "POST",
            "/api/v1/hr/headcount-plan",
            "Set approved heads for cells of a year's plan",
            PLAN_MANAGE,
            Some(object),
        ),
        route(
            "GET",
            "/api/v1/hr/career-paths",
            "Promotion ladders: steps with months in grade and the rating they need",
            PLAN_READ,
            None,
        ),
        route("POST", "/api/v1/hr/career-paths", "Set the step that leads from a position", PLAN_MANAGE, Some(object)),
        route("GET", "/api/v1/hr/career-paths/eligible", "Employees who meet their next step today", PLAN_READ, None),
        route("GET", "/api/v1/hr/courses", "Courses", EMPLOYEE_READ, None),
        route("POST", "/api/v1/hr/courses", "Create a course", crate::training::TRAINING_MANAGE, Some(object)),
        route(
            "POST",
            "/api/v1/hr/courses/{id}/sessions",
            "Schedule a session of a course",
            crate::training::TRAINING_MANAGE,
            Some(object),
        ),
        route("GET", "/api/v1/hr/sessions", "Sessions with their participants and evaluations", EMPLOYEE_READ, None),
        route(
            "POST",
            "/api/v1/hr/sessions/{id}/enrolments",
            "Enrol employees (up to the capacity)",
            crate::training::TRAINING_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/hr/sessions/{id}/evaluations",
            "Attendance and the four levels of evaluation",
            crate::training::TRAINING_MANAGE,
            Some(object),
        ),
        route(
            "GET",
            "/api/v1/hr/training/needs",
            "Training needs from performance gaps and career steps",
            EMPLOYEE_READ,
            None,
        ),
        route(
            "GET",
            "/api/v1/hr/training/plan",
            "The year's training plan against heads trained and cost spent (?year=)",
            org::EMPLOYEE_READ,
            None,
        ),
        route(
            "POST",
            "/api/v1/hr/training/plan",
            "Plan a course for a department: heads and budget (replaces the same line)",
            crate::training::TRAINING_MANAGE,
            Some(object),
        ),
        route(
            "GET",
            "/api/v1/hr/training/effectiveness",
            "Per course: attendance, reaction, learning gain, behaviour, result",
            EMPLOYEE_READ,
            None,
        ),
        route("GET", "/api/v1/hr/forecasts", "Demand forecasts with their lines", PLAN_READ, None),
        route(
            "POST",
            "/api/v1/hr/forecasts",
            "Forecast next year's need from drivers less expected attrition",
            PLAN_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/hr/forecasts/{id}/apply",
            "Make a forecast the year's headcount plan",
            PLAN_MANAGE,
            None,
        ),
        route("GET", "/api/v1/hr/requisitions", "Requisitions", PLAN_READ, None),
        route(
            "POST",
            "/api/v1/hr/requisitions",
            "Request hires (beyond plan needs the extra approval)",
            PLAN_MANAGE,
            Some(object),
        ),
        route("POST", "/api/v1/hr/requisitions/{id}/approve", "Approve a requisition", REQUISITION_APPROVE, None),
        route("POST", "/api/v1/hr/requisitions/{id}/reject", "Reject a requisition", REQUISITION_APPROVE, None),
        route("GET", "/api/v1/hr/reviews", "Reviews (HR: all; else one's own and one's reports')", REVIEW_MANAGE, None),
        route("POST", "/api/v1/hr/reviews", "Open a review with weighted goals", REVIEW_MANAGE, Some(object)),
        route("POST", "/api/v1/hr/reviews/{id}/scores", "Self or manager scores per goal", REVIEW_MANAGE, Some(object)),
        route(
            "POST",
            "/api/v1/hr/reviews/{id}/finalise",
            "Final rating, calibrated with a reason",
            REVIEW_MANAGE,
            Some(object),
        ),
    ];
    all.extend(payroll::docs());
    all.extend(recruiting::docs());
    all.extend(attendance::docs());
    all
}

async fn conn(ctx: &Ctx) -> AppResult<db::Conn> {
    Ok(ctx.db().read_conn().await?)
}

fn employee_json(e: &Employee) -> Value {
    let mut v = json!(e.row);
    v["user_id"] = json!(e.user_id);
    v["contract_kind"] = json!(e.contract_kind);
    v["contract_end"] = json!(e.contract_end);
    v["grade_since"] = json!(e.grade_since);
    v["version"] = json!(e.version);
    v["manager"] = json!(e.manager);
    v["onboarding"] =
        json!(e.onboarding.iter().map(|(item, done)| json!({"item": item, "done_at": done})).collect::<Vec<_>>());
    v["events"] = json!(e.events);
    if let Some(pay) = &e.pay {
        v["id_number"] = json!(pay.id_number);
        v["pay"] = json!({
            "base_salary": yuan(pay.base_salary), "contribution_base": pay.contribution_base.map(yuan),
            "housing_fund_rate": pay.housing_fund_bp.map(|bp| format!("{}.{:02}", bp / 100, bp % 100)),
            "additional_deductions": yuan(pay.additional_deductions), "target_bonus": yuan(pay.target_bonus),
            "bank_name": pay.bank_name, "bank_account": pay.bank_account, "city": pay.city, "structure": pay.structure,
        });
    }
    v
}

// ---- Organisation API ----

async fn departments_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(org::EMPLOYEE_READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": org::departments(&mut conn, ctx.company_id()).await?})))
}

async fn create_department_api(ctx: Ctx, ApiJson(form): ApiJson<DepartmentForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| org::create_department(&mut tx, &ctx.principal, &form));
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn positions_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(org::EMPLOYEE_READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": org::positions(&mut conn, ctx.company_id()).await?})))
}

async fn create_position_api(ctx: Ctx, ApiJson(form): ApiJson<PositionForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| org::create_position(&mut tx, &ctx.principal, &form));
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

#[derive(Deserialize, Default)]
pub struct EmployeesQuery {
    department: Option<i64>,
    status: Option<String>,
    after: Option<i64>,
    limit: Option<i64>,
}

async fn employees_api(ctx: Ctx, Query(q): Query<EmployeesQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let items =
        org::employees(&mut conn, &ctx.principal, q.department, q.status.as_deref(), q.after.unwrap_or(0), limit)
            .await?;
    let next = (items.len() as i64 == limit).then(|| items.last().map(|e| e.id)).flatten();
    Ok(Json(json!({"items": items, "next_after": next})))
}

async fn hire_api(ctx: Ctx, ApiJson(form): ApiJson<HireForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| org::hire(&mut tx, &ctx.principal, &form));
    Ok((StatusCode::CREATED, employee_api(ctx, Path(id)).await?).into_response())
}

async fn employee_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    Ok(Json(employee_json(&org::employee(ctx.db(), &ctx.principal, id).await?)))
}

async fn change_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<ChangeForm>) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| org::change(&mut tx, &ctx.principal, id, &form));
    employee_api(ctx, Path(id)).await
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OnboardingBody {
    item: String,
}

async fn onboarding_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(b): ApiJson<OnboardingBody>) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| org::complete_onboarding(&mut tx, &ctx.principal, id, &b.item));
    employee_api(ctx, Path(id)).await
}

// ---- Planning API ----

#[derive(Deserialize, Default)]
pub struct YearQuery {
    year: Option<i32>,
}

fn this_year(ctx: &Ctx) -> i32 {
    chrono::Datelike::year(&ctx.today())
}

fn plan_json(rows: &[PlanRow], year: i32) -> Value {
    let total = |f: fn(&PlanRow) -> i64| rows.iter().map(f).sum::<i64>();
    json!({"year": year, "items": rows, "totals": {"approved": total(|r| r.approved), "actual": total(|r| r.actual),
        "open": total(|r| r.open), "remaining": total(|r| r.remaining)}})
}

async fn plan_api(ctx: Ctx, Query(q): Query<YearQuery>) -> AppResult<Json<Value>> {
    let year = q.year.unwrap_or_else(|| this_year(&ctx));
    let mut conn = conn(&ctx).await?;
    Ok(Json(plan_json(&planning::plan(&mut conn, &ctx.principal, year).await?, year)))
}

async fn set_plan_api(ctx: Ctx, ApiJson(form): ApiJson<PlanForm>) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| planning::set_plan(&mut tx, &ctx.principal, &form));
    plan_api(ctx, Query(YearQuery { year: Some(form.year) })).await
}

async fn requisitions_api(ctx: Ctx, Query(q): Query<YearQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": planning::requisitions(&mut conn, &ctx.principal, q.year).await?})))
}

async fn request_api(ctx: Ctx, ApiJson(form): ApiJson<RequisitionForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| planning::request(&mut tx, &ctx.principal, &form));
    requisition_response(&ctx, id, StatusCode::CREATED).await
}

async fn requisition_response(ctx: &Ctx, id: i64, status: StatusCode) -> AppResult<Response> {
    let mut conn = conn(ctx).await?;
    let found = planning::requisitions(&mut conn, &ctx.principal, None).await?.into_iter().find(|r| r.id == id);
    let found = found.ok_or(DomainError::NotFound("requisition"))?;
    Ok((status, Json(json!(found))).into_response())
}

async fn decide_api(ctx: Ctx, Path((id, decision)): Path<(i64, String)>) -> AppResult<Response> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(DomainError::NotFound("action").into()),
    };
    in_tx!(ctx, |tx| planning::decide(&mut tx, &ctx.principal, id, approve));
    requisition_response(&ctx, id, StatusCode::OK).await
}

// ---- Career paths ----

async fn career_paths_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": careers::steps(&mut conn, &ctx.principal).await?})))
}

async fn set_step_api(ctx: Ctx, ApiJson(form): ApiJson<careers::StepForm>) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| careers::set_step(&mut tx, &ctx.principal, &form));
    career_paths_api(ctx).await
}

async fn eligible_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": careers::eligible(&mut conn, &ctx.principal, ctx.today()).await?})))
}

#[derive(Template)]
#[template(path = "hr/careers.html")]
struct CareersPage {
    page: PageCtx,
    steps: Vec<careers::Step>,
    eligible: Vec<careers::Eligible>,
    positions: Vec<org::Position>,
    courses: Vec<training::Course>,
    ratings: [&'static str; 5],
    refused: Refused,
    can_manage: bool,
}

impl CareersPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }
}

async fn careers_view(ctx: &Ctx, refused: Refused) -> AppResult<CareersPage> {
    let mut conn = conn(ctx).await?;
    let steps = careers::steps(&mut conn, &ctx.principal).await?;
    let eligible = careers::eligible(&mut conn, &ctx.principal, ctx.today()).await?;
    let positions = org::positions(&mut conn, ctx.company_id()).await?;
    let courses = training::courses(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(CareersPage {
        page: PageCtx::new(ctx, "hr.careers", "/hr/careers").await?,
        steps,
        eligible,
        positions,
        courses,
        ratings: crate::domain::RATINGS,
        refused,
        can_manage: ctx.principal.may(planning::PLAN_MANAGE),
    })
}

async fn careers_page(ctx: Ctx) -> AppResult<Response> {
    render(&careers_view(&ctx, Refused::default()).await?)
}

async fn career_step_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = careers::StepForm {
        from_position_id: id_of(&pairs, "from_position_id"),
        to_position_id: id_of(&pairs, "to_position_id"),
        min_months: pairs.get("min_months").and_then(|m| m.trim().parse().ok()).unwrap_or(-1),
        min_rating: pairs.text("min_rating"),
        required_course_id: optional_id(&pairs, "required_course_id"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = careers::set_step(&mut tx, &ctx.principal, &form).await;
    finish_page(&ctx, tx, outcome, ("/hr/careers", ""), pairs, async |refused| careers_view(&ctx, refused).await).await
}

// ---- Training ----

async fn courses_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(org::EMPLOYEE_READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": training::courses(&mut conn, ctx.company_id()).await?})))
}

async fn create_course_api(ctx: Ctx, ApiJson(form): ApiJson<training::CourseForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| training::create_course(&mut tx, &ctx.principal, &form));
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn schedule_api(
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(form): ApiJson<training::SessionForm>,
) -> AppResult<Response> {
    let session = in_tx!(ctx, |tx| training::schedule(&mut tx, &ctx.principal, id, &form));
    Ok((StatusCode::CREATED, Json(json!({"id": session}))).into_response())
}

async fn sessions_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": training::sessions(&mut conn, &ctx.principal).await?})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    employee_ids: Vec<i64>,
}

async fn enrol_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(b): ApiJson<EnrolBody>) -> AppResult<Json<Value>> {
    let added = in_tx!(ctx, |tx| training::enrol(&mut tx, &ctx.principal, id, &b.employee_ids));
    Ok(Json(json!({"enrolled": added})))
}

async fn evaluate_api(
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(form): ApiJson<training::EvaluationForm>,
) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| training::evaluate(&mut tx, &ctx.principal, id, &form));
    sessions_api(ctx).await
}

async fn needs_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": training::needs(&mut conn, &ctx.principal).await?})))
}

fn hundredths(x: Option<i64>) -> Value {
    x.map(|v| json!(format!("{}{}.{:02}", if v < 0 { "-" } else { "" }, v.abs() / 100, v.abs() % 100)))
        .unwrap_or(Value::Null)
}

async fn effectiveness_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = training::effectiveness(&mut conn, &ctx.principal)
        .await?
        .iter()
        .map(|e| {
            json!({"course_id": e.course_id, "course": e.course, "enrolled": e.enrolled, "attended": e.attended,
                "completed": e.completed, "reaction": hundredths(e.reaction_x100), "pre_score": hundredths(e.pre_x100),
                "post_score": hundredths(e.post_x100), "gain": hundredths(e.gain_x100), "behaviour": hundredths(e.behaviour_x100),
                "result": hundredths(e.result_x100)})
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

async fn training_plan_api(ctx: Ctx, Query(q): Query<YearQuery>) -> AppResult<Json<Value>> {
    let year = q.year.unwrap_or_else(|| this_year(&ctx));
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = training::plan_lines(&mut conn, &ctx.principal, year)
        .await?
        .iter()
        .map(|l| {
            json!({"department_id": l.department_id, "department": l.department, "course_id": l.course_id,
                "course": l.course, "heads": l.heads, "trained": l.trained, "budget": yuan(l.budget),
                "spent": yuan(l.spent), "left": yuan(l.budget - l.spent)})
        })
        .collect();
    Ok(Json(json!({"year": year, "items": items})))
}

async fn plan_training_api(ctx: Ctx, ApiJson(form): ApiJson<training::PlanForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| training::plan(&mut tx, &ctx.principal, &form));
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

#[derive(Template)]
#[template(path = "hr/training.html")]
struct TrainingPage {
    page: PageCtx,
    year: i32,
    plan: Vec<training::PlanLine>,
    departments: Vec<org::Department>,
    courses: Vec<training::Course>,
    sessions: Vec<training::Session>,
    needs: Vec<training::Need>,
    effectiveness: Vec<training::Effectiveness>,
    employees: Vec<EmployeeRow>,
    refused: Refused,
    can_manage: bool,
    today: String,
}

impl TrainingPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn average(&self, x: impl std::borrow::Borrow<Option<i64>>) -> String {
        hundredths(*x.borrow()).as_str().unwrap_or("—").to_string()
    }

    fn score(&self, x: impl std::borrow::Borrow<Option<i64>>) -> String {
        x.borrow().map(|v| v.to_string()).unwrap_or_default()
    }

    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn training_view(ctx: &Ctx, refused: Refused) -> AppResult<TrainingPage> {
    let mut conn = conn(ctx).await?;
    let courses = training::courses(&mut conn, ctx.company_id()).await?;
    let sessions = training::sessions(&mut conn, &ctx.principal).await?;
    let needs = training::needs(&mut conn, &ctx.principal).await?;
    let effectiveness = training::effectiveness(&mut conn, &ctx.principal).await?;
    let employees = org::employees(&mut conn, &ctx.principal, None, Some("active"), 0, 500).await?;
    let year = this_year(ctx);
    let plan = training::plan_lines(&mut conn, &ctx.principal, year).await?;
    let departments = org::departments(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(TrainingPage {
        page: PageCtx::new(ctx, "hr.training", "/hr/training").await?,
        year,
        plan,
        departments,
        courses,
        sessions,
        needs,
        effectiveness,
        employees,
        refused,
        can_manage: ctx.principal.may(training::TRAINING_MANAGE),
        today: ctx.today().to_string(),
    })
}

async fn training_page(ctx: Ctx) -> AppResult<Response> {
    render(&training_view(&ctx, Refused::default()).await?)
}

async fn training_action_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let number = |name: &str| pairs.get(name).and_then(|v| v.trim().parse::<i64>().ok());
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let action = pairs.text("action");
    let outcome = match action.as_str() {
        "course" => {
            let form = training::CourseForm {
                code: pairs.text("code"),
                title: pairs.text("title"),
                hours: number("hours").unwrap_or(0),
            };
            training::create_course(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "session" => {
            let form = training::SessionForm {
                starts_on: pairs.text("starts_on"),
                trainer: pairs.text("trainer"),
                capacity: number("capacity").unwrap_or(0),
                cost: pairs.text("cost"),
            };
            training::schedule(&mut tx, &ctx.principal, id_of(&pairs, "course_id"), &form).await.map(|_| ())
        }
        "plan" => {
            let form = training::PlanForm {
                year: number("year").unwrap_or(0) as i32,
                department_id: id_of(&pairs, "department_id"),
                course_id: id_of(&pairs, "course_id"),
                heads: number("heads").unwrap_or(0),
                budget: pairs.text("budget"),
            };
            training::plan(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "enrol" => {
            training::enrol(&mut tx, &ctx.principal, id_of(&pairs, "session_id"), &[id_of(&pairs, "employee_id")])
                .await
                .map(|_| ())
        }
        "evaluate" => {
            let form = training::EvaluationForm {
                employee_id: id_of(&pairs, "employee_id"),
                attended: pairs.get("attended").is_some(),
                reaction: number("reaction"),
                pre_score: number("pre_score"),
                post_score: number("post_score"),
                behaviour: number("behaviour"),
                result: number("result"),
            };
            training::evaluate(&mut tx, &ctx.principal, id_of(&pairs, "session_id"), &form).await
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_page(&ctx, tx, outcome, ("/hr/training", &action), pairs, async |refused| training_view(&ctx, refused).await)
        .await
}

// ---- Forecasts ----

async fn forecasts_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": planning::forecasts(&mut conn, &ctx.principal).await?})))
}

async fn forecast_response(ctx: &Ctx, id: i64, status: StatusCode) -> AppResult<Response> {
    let mut conn = conn(ctx).await?;
    let found = planning::forecasts(&mut conn, &ctx.principal).await?.into_iter().find(|f| f.id == id);
    Ok((status, Json(json!(found.ok_or(DomainError::NotFound("forecast"))?))).into_response())
}

async fn create_forecast_api(ctx: Ctx, ApiJson(form): ApiJson<ForecastForm>) -> AppResult<Response> {
    let today = ctx.today();
    let id = in_tx!(ctx, |tx| planning::create_forecast(&mut tx, &ctx.principal, &form, today));
    forecast_response(&ctx, id, StatusCode::CREATED).await
}

async fn apply_forecast_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    in_tx!(ctx, |tx| planning::apply_forecast(&mut tx, &ctx.principal, id));
    forecast_response(&ctx, id, StatusCode::OK).await
}

#[derive(Template)]
#[template(path = "hr/forecasts.html")]
struct ForecastsPage {
    page: PageCtx,
    forecasts: Vec<Forecast>,
    departments: Vec<org::Department>,
    positions: Vec<org::Position>,
    next_year: i32,
    refused: Refused,
    can_manage: bool,
}

impl ForecastsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    /// What the refused form held in `field` on row `row` (rows are read in order, so a
    /// line's message and its values stand on the same row); empty otherwise.
    fn typed_cell(&self, field: &str, row: &usize) -> String {
        self.refused.sent_rows(field).get(*row).map_or_else(String::new, |v| v.to_string())
    }

    fn percent(&self, bp: impl std::borrow::Borrow<i64>) -> String {
        let bp = *bp.borrow();
        format!("{}.{:02}%", bp / 100, bp % 100)
    }
}

async fn forecasts_view(ctx: &Ctx, refused: Refused) -> AppResult<ForecastsPage> {
    let mut conn = conn(ctx).await?;
    let forecasts = planning::forecasts(&mut conn, &ctx.principal).await?;
    let departments = org::departments(&mut conn, ctx.company_id()).await?;
    let positions = org::positions(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(ForecastsPage {
        page: PageCtx::new(ctx, "hr.forecasts", "/hr/forecasts").await?,
        forecasts,
        departments,
        positions,
        next_year: this_year(ctx) + 1,
        refused,
        can_manage: ctx.principal.may(planning::PLAN_MANAGE),
    })
}

async fn forecasts_page(ctx: Ctx) -> AppResult<Response> {
    render(&forecasts_view(&ctx, Refused::default()).await?)
}

async fn forecast_action_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = match pairs.text("action").as_str() {
        "create" => {
            // Rows up to the last one typed, so a refusal names the row it is on.
            let mut rows = pairs.rows(&["department_id", "position_id", "driver", "value", "per_head"]);
            while rows.last().is_some_and(|r| r[2].trim().is_empty() && r[3].trim().is_empty()) {
                rows.pop();
            }
            let lines = rows
                .into_iter()
                .map(|[department_id, position_id, driver, value, per_head]| ForecastLineForm {
                    department_id: department_id.trim().parse().unwrap_or(0),
                    position_id: position_id.trim().parse().unwrap_or(0),
                    driver,
                    value,
                    per_head,
                })
                .collect();
            let year = pairs.get("year").and_then(|y| y.trim().parse().ok()).unwrap_or(0);
            let form = ForecastForm { year, lines };
            planning::create_forecast(&mut tx, &ctx.principal, &form, ctx.today()).await.map(|_| ())
        }
        "apply" => planning::apply_forecast(&mut tx, &ctx.principal, id_of(&pairs, "forecast_id")).await,
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_page(&ctx, tx, outcome, ("/hr/forecasts", ""), pairs, async |refused| forecasts_view(&ctx, refused).await)
        .await
}

// ---- Reviews API ----

#[derive(Deserialize, Default)]
pub struct ReviewsQuery {
    employee: Option<i64>,
}

async fn reviews_api(ctx: Ctx, Query(q): Query<ReviewsQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": reviews::reviews(&mut conn, &ctx.principal, q.employee).await?})))
}

async fn review_response(ctx: &Ctx, id: i64, status: StatusCode) -> AppResult<Response> {
    let mut conn = conn(ctx).await?;
    let found = reviews::reviews(&mut conn, &ctx.principal, None).await?.into_iter().find(|r| r.id == id);
    Ok((status, Json(json!(found.ok_or(DomainError::NotFound("review"))?))).into_response())
}

async fn create_review_api(ctx: Ctx, ApiJson(form): ApiJson<ReviewForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| reviews::create(&mut tx, &ctx.principal, &form));
    review_response(&ctx, id, StatusCode::CREATED).await
}

async fn score_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<ScoresForm>) -> AppResult<Response> {
    in_tx!(ctx, |tx| reviews::score(&mut tx, &ctx.principal, id, &form));
    review_response(&ctx, id, StatusCode::OK).await
}

async fn finalise_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<FinaliseForm>) -> AppResult<Response> {
    in_tx!(ctx, |tx| reviews::finalise(&mut tx, &ctx.principal, id, &form));
    review_response(&ctx, id, StatusCode::OK).await
}

// ---- Pages ----

/// Commits and redirects to `to` with a flash, or re-renders the page with the refused form
/// `form` as it was sent (`pairs`) and each refusal next to its field (422); anything else is
/// an error page. On a page with several forms each field is named `<form>:<field>`.
async fn finish_page<T: Template>(
    ctx: &Ctx,
    tx: db::Tx,
    outcome: db::Result<()>,
    (to, form): (&str, &str),
    pairs: FormPairs,
    rerender: impl AsyncFnOnce(Refused) -> AppResult<T>,
) -> AppResult<Response> {
    finish_form(
        ctx,
        tx,
        outcome,
        |()| (to.to_string(), "common.saved"),
        async |errors| rerender(Refused::new(ctx, form, errors, pairs)).await,
    )
    .await
}

fn id_of(pairs: &FormPairs, name: &str) -> i64 {
    pairs.get(name).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

fn optional_id(pairs: &FormPairs, name: &str) -> Option<i64> {
    pairs.get(name).and_then(|v| v.trim().parse().ok())
}

#[derive(Template)]
#[template(path = "hr/employees.html")]
struct EmployeesPage {
    page: PageCtx,
    employees: Vec<EmployeeRow>,
    departments: Vec<org::Department>,
    positions: Vec<org::Position>,
    requisitions: Vec<Requisition>,
    /// Current employees, for the manager select.
    managers: Vec<EmployeeRow>,
    /// The company's users, to link the employee to a login (their own payslips).
    users: Vec<(i64, String)>,
    department: Option<i64>,
    next_after: Option<i64>,
    form: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    can_manage: bool,
    today: String,
}

impl EmployeesPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    fn value(&self, field: &str) -> &str {
        message_for(&self.form, field).unwrap_or("")
    }
    fn indent(&self, depth: impl std::borrow::Borrow<usize>) -> String {
        "　".repeat(*depth.borrow())
    }
}

#[derive(Deserialize, Default)]
pub struct EmployeesPageQuery {
    department: Option<i64>,
    after: Option<i64>,
}

async fn employees_view(
    ctx: &Ctx,
    q: EmployeesPageQuery,
    form: Vec<(String, String)>,
    errors: Vec<(String, String)>,
) -> AppResult<EmployeesPage> {
    let mut conn = conn(ctx).await?;
    let employees = org::employees(&mut conn, &ctx.principal, q.department, None, q.after.unwrap_or(0), 100).await?;
    let departments = org::departments(&mut conn, ctx.company_id()).await?;
    let positions = org::positions(&mut conn, ctx.company_id()).await?;
    let requisitions = if ctx.principal.may(planning::PLAN_READ) {
        planning::requisitions(&mut conn, &ctx.principal, None)
            .await?
            .into_iter()
            .filter(|r| r.status == "approved")
            .collect()
    } else {
        Vec::new()
    };
    let (managers, users) = if ctx.principal.may(org::EMPLOYEE_MANAGE) {
        (
            org::employees(&mut conn, &ctx.principal, None, Some("active"), 0, 500).await?,
            crm::service_desk::agents(&mut conn, ctx.company_id()).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    drop(conn);
    let next_after = (employees.len() == 100).then(|| employees.last().map(|e| e.id)).flatten();
    Ok(EmployeesPage {
        page: PageCtx::new(ctx, "hr.employees", "/hr/employees").await?,
        employees,
        departments,
        positions,
        requisitions,
        managers,
        users,
        department: q.department,
        next_after,
        form,
        errors,
        can_manage: ctx.principal.may(org::EMPLOYEE_MANAGE),
        today: ctx.today().to_string(),
    })
}

async fn employees_page(ctx: Ctx, Query(q): Query<EmployeesPageQuery>) -> AppResult<Response> {
    render(&employees_view(&ctx, q, Vec::new(), Vec::new()).await?)
}

/// The hire form's fields, as the page posts them.
const HIRE_FIELDS: [&str; 18] = [
    "user_id",
    "name",
    "id_number",
    "mobile",
    "department_id",
    "position_id",
    "manager_id",
    "hire_date",
    "contract_kind",
    "contract_end",
    "city",
    "base_salary",
    "contribution_base",
    "housing_fund_rate",
    "additional_deductions",
    "target_bonus",
    "bank_name",
    "bank_account",
];

async fn hire_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = HireForm {
        name: pairs.text("name"),
        id_number: pairs.text("id_number"),
        mobile: pairs.text("mobile"),
        department_id: id_of(&pairs, "department_id"),
        position_id: id_of(&pairs, "position_id"),
        manager_id: optional_id(&pairs, "manager_id"),
        hire_date: pairs.text("hire_date"),
        contract_kind: pairs.text("contract_kind"),
        contract_end: pairs.text("contract_end"),
        city: pairs.text("city"),
        structure: String::new(),
        base_salary: pairs.text("base_salary"),
        contribution_base: pairs.text("contribution_base"),
        housing_fund_rate: pairs.text("housing_fund_rate"),
        additional_deductions: pairs.text("additional_deductions"),
        target_bonus: pairs.text("target_bonus"),
        bank_name: pairs.text("bank_name"),
        bank_account: pairs.text("bank_account"),
        user_id: optional_id(&pairs, "user_id"),
        requisition_id: optional_id(&pairs, "requisition_id"),
        party_id: None,
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = org::hire(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/hr/employees/{id}"), "common.created"),
        async |errors| {
            let typed = HIRE_FIELDS.iter().map(|f| (f.to_string(), pairs.text(f))).collect();
            employees_view(&ctx, EmployeesPageQuery::default(), typed, field_messages(&ctx, &errors)).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "hr/employee.html")]
struct EmployeePage {
    page: PageCtx,
    emp: Employee,
    departments: Vec<org::Department>,
    positions: Vec<org::Position>,
    changes: [&'static str; 5],
    refused: Refused,
    can_manage: bool,
    today: String,
}

impl EmployeePage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn employee_view(ctx: &Ctx, id: i64, refused: Refused) -> AppResult<EmployeePage> {
    let e = org::employee(ctx.db(), &ctx.principal, id).await?;
    let mut conn = conn(ctx).await?;
    let departments = org::departments(&mut conn, ctx.company_id()).await?;
    let positions = org::positions(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(EmployeePage {
        page: PageCtx::new(ctx, "hr.employee", "/hr/employees")
            .await?
            .titled(format!("{} {}", e.row.number, e.row.name)),
        emp: e,
        departments,
        positions,
        changes: org::CHANGES,
        refused,
        can_manage: ctx.principal.may(org::EMPLOYEE_MANAGE),
        today: ctx.today().to_string(),
    })
}

async fn employee_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    render(&employee_view(&ctx, id, Refused::default()).await?)
}

async fn employee_action_page(
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    pairs: FormPairs,
) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = match action.as_str() {
        "change" => {
            let form = ChangeForm {
                kind: pairs.text("kind"),
                effective_date: pairs.text("effective_date"),
                department_id: optional_id(&pairs, "department_id"),
                position_id: optional_id(&pairs, "position_id"),
                manager_id: None,
                base_salary: pairs.text("base_salary"),
                reason: pairs.text("reason"),
                version: id_of(&pairs, "version"),
            };
            org::change(&mut tx, &ctx.principal, id, &form).await
        }
        "onboarding" => org::complete_onboarding(&mut tx, &ctx.principal, id, &pairs.text("item")).await,
        _ => return Err(DomainError::NotFound("action").into()),
    };
    let to = format!("/hr/employees/{id}");
    finish_page(&ctx, tx, outcome, (&to, ""), pairs, async |refused| employee_view(&ctx, id, refused).await).await
}

#[derive(Template)]
#[template(path = "hr/organisation.html")]
struct OrganisationPage {
    page: PageCtx,
    departments: Vec<org::Department>,
    positions: Vec<org::Position>,
    /// The expense accounts a department may use: code and label key.
    accounts: Vec<(&'static str, &'static str)>,
    refused: Refused,
    can_manage: bool,
}

impl OrganisationPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn indent(&self, depth: impl std::borrow::Borrow<usize>) -> String {
        "　".repeat(*depth.borrow())
    }
}

async fn organisation_view(ctx: &Ctx, refused: Refused) -> AppResult<OrganisationPage> {
    ctx.require(org::EMPLOYEE_READ)?;
    let mut conn = conn(ctx).await?;
    let departments = org::departments(&mut conn, ctx.company_id()).await?;
    let positions = org::positions(&mut conn, ctx.company_id()).await?;
    let accounts = org::expense_accounts(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(OrganisationPage {
        page: PageCtx::new(ctx, "hr.organisation", "/hr/organisation").await?,
        departments,
        positions,
        accounts,
        refused,
        can_manage: ctx.principal.may(org::EMPLOYEE_MANAGE),
    })
}

async fn organisation_page(ctx: Ctx) -> AppResult<Response> {
    render(&organisation_view(&ctx, Refused::default()).await?)
}

async fn organisation_action_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = match pairs.text("action").as_str() {
        "department" => {
            let form = DepartmentForm {
                code: pairs.text("code"),
                name: pairs.text("name"),
                parent: pairs.text("parent"),
                expense_account: pairs.text("expense_account"),
            };
            org::create_department(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "position" => {
            let form = PositionForm {
                code: pairs.text("code"),
                title: pairs.text("title"),
                job_family: pairs.text("job_family"),
                grade: pairs.text("grade"),
                band: pairs.text("band"),
            };
            org::create_position(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    let form = pairs.text("action");
    finish_page(&ctx, tx, outcome, ("/hr/organisation", &form), pairs, async |refused| {
        organisation_view(&ctx, refused).await
    })
    .await
}

#[derive(Template)]
#[template(path = "hr/headcount.html")]
struct HeadcountPage {
    page: PageCtx,
    year: i32,
    rows: Vec<PlanRow>,
    chart: String,
    requisitions: Vec<Requisition>,
    departments: Vec<org::Department>,
    positions: Vec<org::Position>,
    refused: Refused,
    can_manage: bool,
    can_approve: bool,
}

impl HeadcountPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }
}

/// A bar chart of approved, actual and open heads per department (server-rendered SVG).
fn plan_chart(rows: &[PlanRow]) -> String {
    let mut by_department: Vec<(String, [i64; 3])> = Vec::new();
    for r in rows {
        match by_department.iter_mut().find(|(name, _)| *name == r.department) {
            Some((_, sums)) => {
                sums[0] += r.approved;
                sums[1] += r.actual;
                sums[2] += r.open;
            }
            None => by_department.push((r.department.clone(), [r.approved, r.actual, r.open])),
        }
    }
    by_department.truncate(40);
    let max = by_department.iter().flat_map(|(_, s)| [s[0], s[1] + s[2]]).max().unwrap_or(1).max(1);
    let row_height = 26;
    let height = by_department.len() as i64 * row_height + 10;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 640 {height}\" width=\"640\" height=\"{height}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, (name, [approved, actual, open])) in by_department.iter().enumerate() {
        let y = i as i64 * row_height + 5;
        let scale = |n: i64| n * 440 / max;
        let name = name.replace('&', "&amp;").replace('<', "&lt;");
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{name}</text>\
             <rect x=\"150\" y=\"{y}\" width=\"{}\" height=\"9\" fill=\"#9db4d6\"><title>{approved}</title></rect>\
             <rect x=\"150\" y=\"{}\" width=\"{}\" height=\"9\" fill=\"#2f6db5\"><title>{actual}</title></rect>\
             <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"9\" fill=\"#e0a030\"><title>{open}</title></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\">{actual}+{open}/{approved}</text>",
            y + 14,
            scale(*approved),
            y + 10,
            scale(*actual),
            150 + scale(*actual),
            y + 10,
            scale(*open),
            160 + scale((*approved).max(actual + open)),
            y + 14,
        ));
    }
    svg.push_str("</svg>");
    svg
}

async fn headcount_view(ctx: &Ctx, year: i32, refused: Refused) -> AppResult<HeadcountPage> {
    let mut conn = conn(ctx).await?;
    let rows = planning::plan(&mut conn, &ctx.principal, year).await?;
    let requisitions = planning::requisitions(&mut conn, &ctx.principal, Some(year)).await?;
    let departments = org::departments(&mut conn, ctx.company_id()).await?;
    let positions = org::positions(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(HeadcountPage {
        page: PageCtx::new(ctx, "hr.headcount", "/hr/headcount").await?,
        year,
        chart: plan_chart(&rows),
        rows,
        requisitions,
        departments,
        positions,
        refused,
        can_manage: ctx.principal.may(planning::PLAN_MANAGE),
        can_approve: ctx.principal.may(planning::REQUISITION_APPROVE),
    })
}

async fn headcount_page(ctx: Ctx, Query(q): Query<YearQuery>) -> AppResult<Response> {
    let year = q.year.unwrap_or_else(|| this_year(&ctx));
    render(&headcount_view(&ctx, year, Refused::default()).await?)
}

async fn headcount_action_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let year: i32 = pairs.get("year").and_then(|y| y.trim().parse().ok()).unwrap_or_else(|| this_year(&ctx));
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let heads = |name: &str| pairs.get(name).and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(-1);
    let outcome = match pairs.text("action").as_str() {
        "plan" => {
            let form = PlanForm {
                year,
                rows: vec![PlanLineForm {
                    department_id: id_of(&pairs, "department_id"),
                    position_id: id_of(&pairs, "position_id"),
                    approved: heads("approved"),
                }],
            };
            planning::set_plan(&mut tx, &ctx.principal, &form).await.map_err(|e| match e {
                // The page has one row: its fields are the form's.
                db::Error::Domain(DomainError::Invalid(errors)) => db::Error::Domain(DomainError::Invalid(
                    errors
                        .into_iter()
                        .map(|mut f| {
                            f.field = f.field.trim_start_matches("rows[0].").to_string();
                            f
                        })
                        .collect(),
                )),
                other => other,
            })
        }
        "request" => {
            let form = RequisitionForm {
                year,
                department_id: id_of(&pairs, "department_id"),
                position_id: id_of(&pairs, "position_id"),
                heads: heads("heads"),
                reason: pairs.text("reason"),
            };
            planning::request(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "approve" | "reject" => {
            planning::decide(
                &mut tx,
                &ctx.principal,
                id_of(&pairs, "requisition_id"),
                pairs.text("action") == "approve",
            )
            .await
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    let to = format!("/hr/headcount?year={year}");
    let form = match pairs.text("action").as_str() {
        "approve" | "reject" => "decide".to_string(),
        action => action.to_string(),
    };
    finish_page(&ctx, tx, outcome, (&to, &form), pairs, async |refused| headcount_view(&ctx, year, refused).await).await
}

#[derive(Template)]
#[template(path = "hr/reviews.html")]
struct ReviewsPage {
    page: PageCtx,
    reviews: Vec<Review>,
    employees: Vec<EmployeeRow>,
    refused: Refused,
    can_manage: bool,
    ratings: [&'static str; 5],
}

impl ReviewsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    /// What the refused `form` held in a field that repeats, on row `row` (rows are read in
    /// order, so a row's message and values stand together); empty otherwise.
    fn typed_cell(&self, form: &str, field: &str, row: &usize) -> String {
        self.refused.sent_rows(&format!("{form}:{field}")).get(*row).map_or_else(String::new, |v| v.to_string())
    }

    /// What one review's refused form held in `field` when it was that `action`'s form (the
    /// scores or the finalising), else `usual`.
    fn typed(&self, review: &i64, action: &str, field: &str, usual: &str) -> String {
        self.refused.typed_in(&format!("review-{review}"), action, field, usual)
    }

    /// A review's score form's row `row` as typed, when that form was refused.
    fn typed_score(&self, review: &i64, row: &usize) -> String {
        let form = format!("review-{review}");
        if self.refused.sent_by(&form, "score") {
            self.typed_cell(&form, "score", row)
        } else {
            String::new()
        }
    }
}

async fn reviews_view(ctx: &Ctx, refused: Refused) -> AppResult<ReviewsPage> {
    let mut conn = conn(ctx).await?;
    let reviews = reviews::reviews(&mut conn, &ctx.principal, None).await?;
    let can_manage = ctx.principal.may(reviews::REVIEW_MANAGE);
    let employees = if can_manage && ctx.principal.may(org::EMPLOYEE_READ) {
        org::employees(&mut conn, &ctx.principal, None, Some("active"), 0, 500).await?
    } else {
        Vec::new()
    };
    drop(conn);
    Ok(ReviewsPage {
        page: PageCtx::new(ctx, "hr.reviews", "/hr/reviews").await?,
        reviews,
        employees,
        refused,
        can_manage,
        ratings: crate::domain::RATINGS,
    })
}

async fn reviews_page(ctx: Ctx) -> AppResult<Response> {
    render(&reviews_view(&ctx, Refused::default()).await?)
}

async fn review_action_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = id_of(&pairs, "review_id");
    let outcome = match pairs.text("action").as_str() {
        "create" => {
            // Rows up to the last one typed, so a refusal names the row it is on.
            let mut rows = pairs.rows(&["goal_title", "goal_weight", "goal_target"]);
            while rows.last().is_some_and(|[t, w, g]| t.trim().is_empty() && w.trim().is_empty() && g.trim().is_empty())
            {
                rows.pop();
            }
            let goals = rows
                .into_iter()
                .map(|[title, weight, target]| GoalForm { title, weight: weight.trim().parse().unwrap_or(0), target })
                .collect();
            let form = ReviewForm {
                employee_id: id_of(&pairs, "employee_id"),
                cycle: pairs.text("cycle"),
                period: pairs.text("period"),
                goals,
            };
            reviews::create(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "score" => {
            let scores = pairs.all("score").iter().map(|s| s.trim().parse().unwrap_or(-1)).collect();
            reviews::score(&mut tx, &ctx.principal, id, &ScoresForm { by: pairs.text("by"), scores }).await
        }
        "finalise" => {
            let form = FinaliseForm { rating: pairs.text("rating"), reason: pairs.text("reason") };
            reviews::finalise(&mut tx, &ctx.principal, id, &form).await.map(|_| ())
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    let form = match pairs.text("action").as_str() {
        "create" => "create".to_string(),
        _ => format!("review-{id}"),
    };
    finish_page(&ctx, tx, outcome, ("/hr/reviews", &form), pairs, async |refused| reviews_view(&ctx, refused).await)
        .await
}

//! Attendance and leave pages and API.

use super::{conn, finish_page, id_of, route, this_year, YearQuery};
use crate::attendance::{self, LeaveForm, RosterForm, ShiftForm};
use crate::org::{self, EmployeeRow};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::page::{render, Refused};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hr/attendance", get(attendance_page).post(attendance_action_page))
        .route("/api/v1/hr/shifts", get(shifts_api).post(create_shift_api))
        .route("/api/v1/hr/roster", post(roster_api))
        .route("/api/v1/hr/clock-records", post(record_clock_api))
        .route("/api/v1/hr/clock-records/import", post(import_api))
        .route("/api/v1/hr/leave-requests", get(leave_api).post(request_leave_api))
        .route("/api/v1/hr/leave-requests/{id}/{decision}", post(decide_api))
        .route("/api/v1/hr/leave-balances", get(balances_api))
}

pub fn docs() -> Vec<ApiRoute> {
    use crate::org::{EMPLOYEE_MANAGE, EMPLOYEE_READ};
    vec![
        route("GET", "/api/v1/hr/shifts", "Shifts", EMPLOYEE_READ, None),
        route("POST", "/api/v1/hr/shifts", "Create a shift", EMPLOYEE_MANAGE, Some(object)),
        route(
            "POST",
            "/api/v1/hr/roster",
            "Roster an employee on a shift for a range of days",
            EMPLOYEE_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/hr/clock-records",
            "Enter one day's clock record by hand, with the reason",
            EMPLOYEE_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/hr/clock-records/import",
            "Import a time clock's CSV (all or nothing)",
            EMPLOYEE_MANAGE,
            Some(object),
        ),
        route("GET", "/api/v1/hr/leave-requests", "Leave requests", EMPLOYEE_READ, None),
        route(
            "POST",
            "/api/v1/hr/leave-requests",
            "Ask for leave (the employee, or HR for them)",
            EMPLOYEE_READ,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/hr/leave-requests/{id}/approve",
            "Approve leave (the manager or HR)",
            EMPLOYEE_MANAGE,
            None,
        ),
        route(
            "POST",
            "/api/v1/hr/leave-requests/{id}/reject",
            "Reject leave (the manager or HR)",
            EMPLOYEE_MANAGE,
            None,
        ),
        ApiRoute {
            query: &[("year", "the year (default this year)")],
            ..route("GET", "/api/v1/hr/leave-balances", "Leave balances per employee and type", EMPLOYEE_READ, None)
        },
    ]
}

async fn shifts_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(org::EMPLOYEE_READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": attendance::shifts(&mut conn, ctx.company_id()).await?})))
}

async fn create_shift_api(ctx: Ctx, ApiJson(form): ApiJson<ShiftForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| attendance::create_shift(&mut tx, &ctx.principal, &form));
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn roster_api(ctx: Ctx, ApiJson(form): ApiJson<RosterForm>) -> AppResult<Json<Value>> {
    let days = in_tx!(ctx, |tx| attendance::roster(&mut tx, &ctx.principal, &form));
    Ok(Json(json!({"days": days})))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    csv: String,
}

async fn import_api(ctx: Ctx, ApiJson(b): ApiJson<ImportBody>) -> AppResult<Json<Value>> {
    let rows = in_tx!(ctx, |tx| attendance::import_clock(&mut tx, &ctx.principal, &b.csv));
    Ok(Json(json!({"imported": rows})))
}

async fn record_clock_api(ctx: Ctx, ApiJson(form): ApiJson<attendance::ClockForm>) -> AppResult<Response> {
    in_tx!(ctx, |tx| attendance::record_clock(&mut tx, &ctx.principal, &form));
    Ok(StatusCode::CREATED.into_response())
}

async fn leave_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": attendance::leave_requests(&mut conn, &ctx.principal).await?})))
}

async fn request_leave_api(ctx: Ctx, ApiJson(form): ApiJson<LeaveForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| attendance::request_leave(&mut tx, &ctx.principal, &form));
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn decide_api(ctx: Ctx, Path((id, decision)): Path<(i64, String)>) -> AppResult<Json<Value>> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(DomainError::NotFound("action").into()),
    };
    in_tx!(ctx, |tx| attendance::decide_leave(&mut tx, &ctx.principal, id, approve));
    Ok(Json(json!({"id": id, "status": if approve { "approved" } else { "rejected" }})))
}

async fn balances_api(ctx: Ctx, Query(q): Query<YearQuery>) -> AppResult<Json<Value>> {
    let year = q.year.unwrap_or_else(|| this_year(&ctx));
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"year": year, "items": attendance::balances(&mut conn, &ctx.principal, year).await?})))
}

#[derive(Template)]
#[template(path = "hr/attendance.html")]
struct AttendancePage {
    page: PageCtx,
    shifts: Vec<attendance::Shift>,
    requests: Vec<attendance::LeaveRequest>,
    balances: Vec<attendance::Balance>,
    employees: Vec<EmployeeRow>,
    leave_types: [&'static str; 4],
    refused: Refused,
    can_manage: bool,
    today: String,
}

impl AttendancePage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    /// Every refusal of one form (the clock import names its lines).
    fn errors_of(&self, form: &str) -> Vec<&str> {
        self.refused.messages_of(form)
    }
}

async fn attendance_view(ctx: &Ctx, refused: Refused) -> AppResult<AttendancePage> {
    let mut conn = conn(ctx).await?;
    let shifts = attendance::shifts(&mut conn, ctx.company_id()).await?;
    let requests = attendance::leave_requests(&mut conn, &ctx.principal).await?;
    let balances = attendance::balances(&mut conn, &ctx.principal, this_year(ctx)).await?;
    let employees = org::employees(&mut conn, &ctx.principal, None, Some("active"), 0, 500).await?;
    drop(conn);
    Ok(AttendancePage {
        page: PageCtx::new(ctx, "hr.attendance", "/hr/attendance").await?,
        shifts,
        requests,
        balances,
        employees,
        leave_types: ["annual", "sick", "personal", "marriage"],
        refused,
        can_manage: ctx.principal.may(org::EMPLOYEE_MANAGE),
        today: ctx.today().to_string(),
    })
}

async fn attendance_page(ctx: Ctx) -> AppResult<Response> {
    render(&attendance_view(&ctx, Refused::default()).await?)
}

async fn attendance_action_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let action = pairs.text("action");
    let outcome = match action.as_str() {
        "shift" => {
            let form = ShiftForm {
                code: pairs.text("code"),
                name: pairs.text("name"),
                starts: pairs.text("starts"),
                ends: pairs.text("ends"),
            };
            attendance::create_shift(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "roster" => {
            let form = RosterForm {
                employee_id: id_of(&pairs, "employee_id"),
                shift_id: id_of(&pairs, "shift_id"),
                first_day: pairs.text("first_day"),
                last_day: pairs.text("last_day"),
                weekdays_only: pairs.get("weekdays_only").is_some(),
            };
            attendance::roster(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "import" => attendance::import_clock(&mut tx, &ctx.principal, &pairs.text("csv")).await.map(|_| ()),
        "clock" => {
            let form = attendance::ClockForm {
                employee_id: id_of(&pairs, "employee_id"),
                day: pairs.text("day"),
                clock_in: pairs.text("clock_in"),
                clock_out: pairs.text("clock_out"),
                reason: pairs.text("reason"),
            };
            attendance::record_clock(&mut tx, &ctx.principal, &form).await
        }
        "leave" => {
            let form = LeaveForm {
                employee_id: id_of(&pairs, "employee_id"),
                leave_type: pairs.text("leave_type"),
                first_day: pairs.text("first_day"),
                last_day: pairs.text("last_day"),
                reason: pairs.text("reason"),
            };
            attendance::request_leave(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "approve" | "reject" => {
            attendance::decide_leave(&mut tx, &ctx.principal, id_of(&pairs, "request_id"), action == "approve").await
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_page(&ctx, tx, outcome, ("/hr/attendance", &action), pairs, async |refused| {
        attendance_view(&ctx, refused).await
    })
    .await
}

//! Ticket, survey and satisfaction pages and API, and the public ticket form and survey page.

use super::conn;
use crate::domain::{CATEGORIES, PRIORITIES};
use crate::service_desk::{self, Answer, PartForm, PolicyForm, Satisfaction, Ticket, TicketForm};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::{DomainError, Qty};
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::page::{field_messages, finish_form, message_for, render, render_status, Refused};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

/// Survey answers one address may send per hour.
pub const SURVEYS_PER_ADDRESS: i64 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/crm/tickets", get(tickets_page).post(create_ticket_page))
        .route("/crm/tickets/{id}", get(ticket_page))
        .route("/crm/tickets/{id}/{action}", post(ticket_action_page))
        .route("/crm/satisfaction", get(satisfaction_page))
        .route("/public/crm/surveys/{token}", get(survey_page).post(answer_survey))
        .route("/public/crm/forms/{token}/tickets", post(public_ticket))
        .route("/api/v1/crm/tickets", get(tickets_api).post(create_ticket_api))
        .route("/api/v1/crm/tickets/{id}", get(ticket_api))
        .route("/api/v1/crm/tickets/{id}/reply", post(reply_api))
        .route("/api/v1/crm/tickets/{id}/status", post(status_api))
        .route("/api/v1/crm/tickets/{id}/assign", post(assign_api))
        .route("/api/v1/crm/tickets/{id}/escalate", post(escalate_api))
        .route("/api/v1/crm/tickets/{id}/parts", post(part_api))
        .route("/api/v1/crm/sla-policies", get(policies_api).post(set_policy_api))
        .route("/api/v1/crm/holidays", get(holidays_api).post(add_holiday_api))
        .route("/api/v1/crm/reports/satisfaction", get(satisfaction_api))
}

pub fn docs() -> Vec<ApiRoute> {
    use crate::service::SETTINGS;
    use service_desk::{SURVEY_READ, TICKET_MANAGE, TICKET_READ};
    let route = |method, path, summary, permission: &'static str, request: Option<fn() -> Value>| ApiRoute {
        method,
        path,
        summary,
        tag: "crm",
        permission: Some(permission),
        query: &[],
        request,
        response: object,
    };
    vec![
        ApiRoute {
            query: &[("status", "new, open, pending, resolved or closed (default: all but closed)")],
            ..route(
                "GET",
                "/api/v1/crm/tickets",
                "The ticket queue with SLA state, most urgent first",
                TICKET_READ,
                None,
            )
        },
        route("POST", "/api/v1/crm/tickets", "Raise a ticket", TICKET_MANAGE, Some(object)),
        route("GET", "/api/v1/crm/tickets/{id}", "A ticket with its notes, parts and SLA state", TICKET_READ, None),
        route(
            "POST",
            "/api/v1/crm/tickets/{id}/reply",
            "Reply (the first reply is the first response)",
            TICKET_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/crm/tickets/{id}/status",
            "Move through the workflow (resolving sends a survey)",
            TICKET_MANAGE,
            Some(object),
        ),
        route("POST", "/api/v1/crm/tickets/{id}/assign", "Assign to an agent", TICKET_MANAGE, Some(object)),
        route(
            "POST",
            "/api/v1/crm/tickets/{id}/escalate",
            "Escalate to someone higher up, with the reason",
            TICKET_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/crm/tickets/{id}/parts",
            "Record a part used on a repair (moves it out of stock)",
            TICKET_MANAGE,
            Some(object),
        ),
        route("GET", "/api/v1/crm/sla-policies", "SLA targets per priority, in business minutes", TICKET_READ, None),
        route("POST", "/api/v1/crm/sla-policies", "Set a priority's SLA targets", SETTINGS, Some(object)),
        route("GET", "/api/v1/crm/holidays", "Holidays the SLA clocks skip", TICKET_READ, None),
        route("POST", "/api/v1/crm/holidays", "Add a holiday", SETTINGS, Some(object)),
        ApiRoute {
            query: &[("by", "agent, category, product or month"), ("from", "First day"), ("to", "Last day")],
            ..route("GET", "/api/v1/crm/reports/satisfaction", "CSAT and NPS of answered surveys", SURVEY_READ, None)
        },
        ApiRoute {
            permission: None,
            ..route(
                "POST",
                "/public/crm/forms/{token}/tickets",
                "The public service form: a ticket (contact, subject, description, category; rate-limited)",
                TICKET_MANAGE,
                Some(object),
            )
        },
        ApiRoute {
            permission: None,
            ..route(
                "POST",
                "/public/crm/surveys/{token}",
                "Answer a survey once (CSAT 1–5, NPS 0–10, comment)",
                TICKET_MANAGE,
                Some(object),
            )
        },
    ]
}

fn ticket_json(t: &Ticket) -> Value {
    json!(t)
}

#[derive(Deserialize, Default)]
pub struct StatusQuery {
    status: Option<String>,
}

async fn tickets_api(ctx: Ctx, Query(q): Query<StatusQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let now = ctx.db().clock().now_text();
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    let items: Vec<Value> =
        service_desk::tickets(&mut conn, &ctx.principal, status, &now).await?.iter().map(ticket_json).collect();
    Ok(Json(json!({"items": items})))
}

async fn create_ticket_api(ctx: Ctx, ApiJson(form): ApiJson<TicketForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service_desk::create_ticket(&mut tx, &ctx.principal, &form, "api").await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ticket_api(ctx, Path(id)).await?).into_response())
}

async fn ticket_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let now = ctx.db().clock().now_text();
    let ticket = service_desk::ticket(&mut conn, &ctx.principal, id, &now).await?;
    let (notes, parts) = service_desk::history(&mut conn, id).await?;
    let mut body = ticket_json(&ticket);
    body["notes"] = json!(notes
        .iter()
        .map(|(at, author, text)| json!({"at": at, "author": author, "body": text}))
        .collect::<Vec<_>>());
    body["parts"] = json!(parts
        .iter()
        .map(|(code, quantity, mv)| json!({"product_code": code, "quantity": Qty::from_scaled(*quantity).to_string(), "move": mv}))
        .collect::<Vec<_>>());
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyText {
    body: String,
}

async fn reply_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(b): ApiJson<BodyText>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service_desk::reply(&mut tx, &ctx.principal, id, &b.body).await?;
    tx.commit().await?;
    ticket_api(ctx, Path(id)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: String,
}

async fn status_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(b): ApiJson<StatusBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let survey = service_desk::set_status(&mut tx, &ctx.principal, id, &b.status).await?;
    tx.commit().await?;
    let mut body = ticket_api(ctx, Path(id)).await?.0;
    if let Some(token) = survey {
        body["survey"] = json!(format!("/public/crm/surveys/{token}"));
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    user_id: i64,
    #[serde(default)]
    reason: String,
}

// Assigning or escalating may hand the ticket to someone the caller cannot see afterwards, so
// the answer says what was done rather than reading the ticket back.
async fn assign_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(b): ApiJson<AssignBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service_desk::assign(&mut tx, &ctx.principal, id, b.user_id).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "assignee_id": b.user_id})))
}

async fn escalate_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(b): ApiJson<AssignBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service_desk::escalate(&mut tx, &ctx.principal, id, b.user_id, &b.reason).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "assignee_id": b.user_id, "escalated": true})))
}

async fn part_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<PartForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service_desk::use_part(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, ticket_api(ctx, Path(id)).await?).into_response())
}

async fn policies_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service_desk::TICKET_READ)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service_desk::ensure_policies(&mut tx, ctx.company_id()).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": service_desk::policies(&mut conn, ctx.company_id()).await?})))
}

async fn set_policy_api(ctx: Ctx, ApiJson(form): ApiJson<PolicyForm>) -> AppResult<StatusCode> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service_desk::set_policy(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn holidays_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service_desk::TICKET_READ)?;
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = service_desk::holidays(&mut conn, ctx.company_id())
        .await?
        .iter()
        .map(|(d, n)| json!({"day": d, "name": n}))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayBody {
    day: String,
    name: String,
}

async fn add_holiday_api(ctx: Ctx, ApiJson(b): ApiJson<HolidayBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service_desk::add_holiday(&mut tx, &ctx.principal, &b.day, &b.name).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"day": b.day, "name": b.name}))).into_response())
}

#[derive(Deserialize, Default)]
pub struct SatisfactionQuery {
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn satisfaction_json(rows: &[Satisfaction]) -> Value {
    let hundredths = crate::domain::hundredths;
    json!({"items": rows.iter().map(|r| json!({"key": r.key, "answers": r.answers, "csat": hundredths(r.csat_x100), "nps": hundredths(r.nps_bp)})).collect::<Vec<_>>()})
}

fn period(ctx: &Ctx, q: &SatisfactionQuery) -> (String, String) {
    let today = ctx.today();
    let from =
        q.from.clone().filter(|f| !f.is_empty()).unwrap_or_else(|| format!("{}-01-01", chrono::Datelike::year(&today)));
    let to = q.to.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| today.to_string());
    (from, to)
}

async fn satisfaction_api(ctx: Ctx, Query(q): Query<SatisfactionQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let (from, to) = period(&ctx, &q);
    let rows =
        service_desk::satisfaction(&mut conn, &ctx.principal, q.by.as_deref().unwrap_or("agent"), &from, &to).await?;
    Ok(Json(satisfaction_json(&rows)))
}

// ---- Pages ----

#[derive(Template)]
#[template(path = "crm/tickets.html")]
struct TicketsPage {
    page: PageCtx,
    tickets: Vec<Ticket>,
    customers: Vec<(i64, String)>,
    categories: [&'static str; 5],
    priorities: [&'static str; 4],
    form: TicketForm,
    errors: Vec<(String, String)>,
    can_manage: bool,
}

impl TicketsPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

async fn tickets_view(ctx: &Ctx, form: TicketForm, errors: Vec<(String, String)>) -> AppResult<TicketsPage> {
    let mut conn = conn(ctx).await?;
    let now = ctx.db().clock().now_text();
    let tickets = service_desk::tickets(&mut conn, &ctx.principal, None, &now).await?;
    drop(conn);
    Ok(TicketsPage {
        page: PageCtx::new(ctx, "crm.tickets", "/crm/tickets").await?,
        tickets,
        customers: super::customers(ctx).await?,
        categories: CATEGORIES,
        priorities: PRIORITIES,
        form,
        errors,
        can_manage: ctx.principal.may(service_desk::TICKET_MANAGE),
    })
}

async fn tickets_page(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service_desk::TICKET_READ)?;
    render(&tickets_view(&ctx, TicketForm::default(), Vec::new()).await?)
}

async fn create_ticket_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = TicketForm {
        party_id: pairs.get("party_id").and_then(|p| p.parse().ok()),
        contact: pairs.text("contact"),
        subject: pairs.text("subject"),
        description: pairs.text("description"),
        category: pairs.text("category"),
        priority: pairs.text("priority"),
        product_id: None,
        serial: pairs.text("serial"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service_desk::create_ticket(&mut tx, &ctx.principal, &form, "staff").await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/crm/tickets/{id}"), "common.created"),
        async |errors| {
            let text = field_messages(&ctx, &errors);
            tickets_view(&ctx, form, text).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "crm/ticket.html")]
struct TicketPage {
    page: PageCtx,
    t: Ticket,
    notes: Vec<(String, String, String)>,
    parts: Vec<(String, i64, String)>,
    agents: Vec<(i64, String)>,
    warehouses: Vec<String>,
    today: String,
    /// The form just refused (fields named `<action>:<field>`): shown again as typed.
    refused: Refused,
    can_manage: bool,
}

impl TicketPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn typed(&self, field: &str) -> String {
        self.refused.typed(field, "")
    }

    fn qty(&self, scaled: impl std::borrow::Borrow<i64>) -> String {
        Qty::from_scaled(*scaled.borrow()).to_string()
    }
}

async fn ticket_view(ctx: &Ctx, id: i64, refused: Refused) -> AppResult<TicketPage> {
    let mut conn = conn(ctx).await?;
    let now = ctx.db().clock().now_text();
    let t = service_desk::ticket(&mut conn, &ctx.principal, id, &now).await?;
    let (notes, parts) = service_desk::history(&mut conn, id).await?;
    let agents = service_desk::agents(&mut conn, ctx.company_id()).await?;
    let warehouses = sqlx::query("SELECT code FROM stk_warehouses WHERE company_id = $1 ORDER BY code")
        .bind(ctx.company_id())
        .fetch_all(&mut conn)
        .await?
        .iter()
        .filter_map(|r| db::RowExt::try_get(r, "code").ok())
        .collect();
    drop(conn);
    Ok(TicketPage {
        page: PageCtx::new(ctx, "crm.ticket", "/crm/tickets").await?.titled(format!("{} {}", t.number, t.subject)),
        t,
        notes,
        parts,
        agents,
        warehouses,
        today: ctx.today().to_string(),
        refused,
        can_manage: ctx.principal.may(service_desk::TICKET_MANAGE),
    })
}

async fn ticket_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    render(&ticket_view(&ctx, id, Refused::default()).await?)
}

async fn ticket_action_page(
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    pairs: FormPairs,
) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let user = pairs.get("user_id").and_then(|u| u.parse().ok()).unwrap_or(0);
    let outcome: db::Result<()> = match action.as_str() {
        "reply" => service_desk::reply(&mut tx, &ctx.principal, id, &pairs.text("body")).await,
        "status" => service_desk::set_status(&mut tx, &ctx.principal, id, &pairs.text("status")).await.map(|_| ()),
        "assign" => service_desk::assign(&mut tx, &ctx.principal, id, user).await,
        "escalate" => service_desk::escalate(&mut tx, &ctx.principal, id, user, &pairs.text("reason")).await,
        "parts" => {
            let form = PartForm {
                product_id: pairs.get("product_id").and_then(|p| p.parse().ok()).unwrap_or(0),
                quantity: pairs.text("quantity"),
                warehouse: pairs.text("warehouse"),
                date: pairs.text("date"),
                lot: pairs.text("lot"),
            };
            service_desk::use_part(&mut tx, &ctx.principal, id, &form).await.map(|_| ())
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    let saved = |()| {
        // A ticket handed on may be out of the agent's sight now: back to the queue.
        let to = if action == "assign" || action == "escalate" {
            "/crm/tickets".to_string()
        } else {
            format!("/crm/tickets/{id}")
        };
        (to, "common.saved")
    };
    finish_form(&ctx, tx, outcome, saved, async |errors| {
        ticket_view(&ctx, id, Refused::new(&ctx, &action, errors, pairs.clone())).await
    })
    .await
}

#[derive(Template)]
#[template(path = "crm/satisfaction.html")]
struct SatisfactionPage {
    page: PageCtx,
    rows: Vec<Satisfaction>,
    by: String,
    from: String,
    to: String,
}

impl SatisfactionPage {
    fn hundredths(&self, v: impl std::borrow::Borrow<i64>) -> String {
        crate::domain::hundredths(*v.borrow())
    }
}

async fn satisfaction_page(ctx: Ctx, Query(q): Query<SatisfactionQuery>) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let (from, to) = period(&ctx, &q);
    let by =
        q.by.clone()
            .filter(|b| service_desk::SATISFACTION_GROUPS.contains(&b.as_str()))
            .unwrap_or_else(|| "agent".into());
    let rows = service_desk::satisfaction(&mut conn, &ctx.principal, &by, &from, &to).await?;
    drop(conn);
    render(&SatisfactionPage {
        page: PageCtx::new(&ctx, "crm.satisfaction", "/crm/satisfaction").await?,
        rows,
        by,
        from,
        to,
    })
}

// ---- Public: the survey page and the service form ----

#[derive(Template)]
#[template(path = "crm/survey.html")]
struct SurveyPage {
    token: String,
    company: String,
    subject: String,
    answered: bool,
    thanks: bool,
    errors: Vec<(String, String)>,
    /// A refused answer as given, to correct.
    typed: Answer,
}

impl SurveyPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    /// Whether a score was the one given in a refused answer.
    fn given(&self, given: &str, score: &i32) -> bool {
        given.trim() == score.to_string()
    }
}

async fn survey_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<Response> {
    let mut conn = state.db.read_conn().await?;
    let (_, company, subject, answered) =
        service_desk::survey_subject(&mut conn, &token).await?.ok_or(DomainError::NotFound("survey"))?;
    render(&SurveyPage {
        token,
        company,
        subject,
        answered,
        thanks: false,
        errors: Vec::new(),
        typed: Answer::default(),
    })
}

/// A survey answer, from the page (form-encoded) or JSON: once per link, rate-limited per
/// address, nothing but the three fields accepted.
async fn answer_survey(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: axum::extract::Request,
) -> AppResult<Response> {
    let (address, json_body, body) = super::read_public(&state, request, 16 * 1024).await?;
    let subject = {
        let mut conn = state.db.read_conn().await?;
        service_desk::survey_subject(&mut conn, &token).await?
    };
    let Some((company_id, company, subject, _)) = subject else {
        return Err(DomainError::NotFound("survey").into());
    };
    let actor = || db::Actor { user_id: None, login: "survey".into(), company_id: Some(company_id) };
    let mut tx = state.db.begin(actor()).await?;
    let allowed = db::throttle::allow(&mut tx, &format!("crm.survey:{address}"), SURVEYS_PER_ADDRESS, 3_600).await?;
    tx.commit().await?;
    if !allowed {
        return Err(DomainError::Throttled.into());
    }
    let answer: Answer = if json_body {
        serde_json::from_slice(&body).map_err(|e| DomainError::invalid("body", "error.crm.form_body", e.to_string()))?
    } else {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
        Answer { csat: get("csat"), nps: get("nps"), comment: get("comment") }
    };
    let mut tx = state.db.begin(actor()).await?;
    match service_desk::answer(&mut tx, &token, &answer).await {
        Ok(()) => {
            tx.commit().await?;
            if json_body {
                Ok((StatusCode::ACCEPTED, Json(json!({"received": true}))).into_response())
            } else {
                let typed = Answer::default();
                render(&SurveyPage { token, company, subject, answered: true, thanks: true, errors: Vec::new(), typed })
            }
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) if !json_body => {
            drop(tx);
            // The page has no session, so it answers in both languages.
            let errors = errors
                .iter()
                .map(|e| {
                    let zh = state.messages.format(kernel::Lang::ZhCn, e.key, &e.detail);
                    let en = state.messages.format(kernel::Lang::En, e.key, &e.detail);
                    (e.field.to_string(), format!("{zh} {en}"))
                })
                .collect();
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SurveyPage { token, company, subject, answered: false, thanks: false, errors, typed: answer },
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// The public service form (at the web form's secret address): a ticket from someone outside,
/// matched to a customer by mobile or e-mail when one has it.
async fn public_ticket(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: axum::extract::Request,
) -> AppResult<Response> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Submission {
        name: String,
        #[serde(default)]
        mobile: String,
        #[serde(default)]
        email: String,
        subject: String,
        #[serde(default)]
        description: String,
        #[serde(default)]
        category: String,
        #[serde(default)]
        serial: String,
        #[serde(default)]
        website: String,
    }
    let (address, _, body) = super::read_public(&state, request, 64 * 1024).await?;
    let owner = {
        let mut conn = state.db.read_conn().await?;
        crate::service::form_owner(&mut conn, &token).await?
    };
    let Some((company, _)) = owner else {
        return Err(DomainError::NotFound("form").into());
    };
    let actor = || db::Actor { user_id: None, login: "web-form".into(), company_id: Some(company) };
    let mut tx = state.db.begin(actor()).await?;
    let allowed =
        db::throttle::allow(&mut tx, &format!("crm.ticket:{company}:{address}"), super::PUBLIC_PER_ADDRESS, 3_600)
            .await?
            && db::throttle::allow(&mut tx, &format!("crm.ticket:{company}"), super::PUBLIC_PER_COMPANY, 3_600).await?;
    tx.commit().await?;
    if !allowed {
        return Err(DomainError::Throttled.into());
    }
    let s: Submission = serde_json::from_slice(&body)
        .map_err(|e| DomainError::invalid("body", "error.crm.form_body", e.to_string()))?;
    if crate::domain::looks_like_spam(&s.website, &s.description) {
        return Ok((StatusCode::ACCEPTED, Json(json!({"received": true}))).into_response());
    }
    let mut p = kernel::error::Problems::default();
    if s.name.trim().is_empty() || s.name.chars().count() > 100 {
        p.add("name", "error.required", "");
    }
    let mobile = match s.mobile.trim() {
        "" => String::new(),
        text => p.check(kernel::identifiers::mobile("mobile", text)).unwrap_or_default(),
    };
    let email = match s.email.trim() {
        "" => String::new(),
        text => p.check(kernel::identifiers::email("email", text)).unwrap_or_default(),
    };
    if mobile.is_empty() && email.is_empty() {
        p.add("mobile", "error.crm.no_contact", "");
    }
    p.finish()?;
    let mut tx = state.db.begin(actor()).await?;
    let mut party = None;
    for value in [&mobile, &email].into_iter().filter(|v| !v.is_empty()) {
        if party.is_none() {
            party = sqlx::query(
                "SELECT p.id FROM parties p JOIN party_contacts c ON c.party_id = p.id WHERE p.company_id = $1 AND c.value = $2 ORDER BY p.id LIMIT 1",
            )
            .bind(company)
            .bind(value)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| db::RowExt::try_get::<i64, _>(&r, "id"))
            .transpose()?;
        }
    }
    let form = TicketForm {
        party_id: party,
        contact: format!("{} {} {}", s.name.trim(), mobile, email).trim().to_string(),
        subject: s.subject,
        description: s.description,
        category: if s.category.is_empty() { "question".into() } else { s.category },
        priority: "normal".into(),
        product_id: None,
        serial: s.serial,
    };
    service_desk::record_ticket(&mut tx, company, &form, "web").await?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"received": true}))).into_response())
}

//! CRM pages and API, and the public lead form. (Named `http` so it cannot be confused with
//! the `web` crate.)

mod contracts;
mod marketing;
mod service_desk;

use crate::domain::{self, LeadForm};
use crate::service::{self, ActivityForm, ConvertForm, Lead, Opportunity, OpportunityForm, RuleForm, Stage};
use crate::timeline::{self, Customer};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use db::RowExt;
use finance::domain::yuan;
use kernel::error::FieldError;
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::page::{field_messages, finish_form, flash_redirect, message_for, render, Refused};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

/// How many submissions the public form takes from one address, and from everyone, per hour.
pub const PUBLIC_PER_ADDRESS: i64 = 10;
pub const PUBLIC_PER_COMPANY: i64 = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/crm/leads", get(leads_page).post(create_lead_page))
        .route("/crm/leads/import", post(import_page))
        .route("/crm/leads/{id}", get(lead_page))
        .route("/crm/leads/{id}/{action}", post(lead_action_page))
        .route("/crm/pipeline", get(pipeline_page).post(create_opportunity_page))
        .route("/crm/opportunities/{id}", get(opportunity_page))
        .route("/crm/opportunities/{id}/{action}", post(opportunity_action_page))
        .route("/crm/customers/{id}", get(customer_page))
        .route("/crm/customers/{id}/activity", post(customer_activity_page))
        .route("/crm/tasks", get(tasks_page))
        .route("/crm/activities/{id}/done", post(done_page))
        .route("/crm/forecast", get(forecast_page))
        .route("/crm/settings", get(settings_page).post(settings_action_page))
        .route("/public/crm/forms/{token}", get(public_form_page))
        .route("/public/crm/forms/{token}/leads", post(public_lead))
        .route("/api/v1/crm/web-form", get(web_form_api).post(enable_web_form_api).delete(disable_web_form_api))
        .route("/api/v1/crm/leads", get(leads_api).post(create_lead_api))
        .route("/api/v1/crm/leads/import", post(import_api))
        .route("/api/v1/crm/leads/{id}", get(lead_api))
        .route("/api/v1/crm/leads/{id}/qualify", post(qualify_api))
        .route("/api/v1/crm/leads/{id}/lose", post(lose_lead_api))
        .route("/api/v1/crm/leads/{id}/convert", post(convert_api))
        .route("/api/v1/crm/opportunities", get(board_api).post(create_opportunity_api))
        .route("/api/v1/crm/opportunities/{id}", get(opportunity_api))
        .route("/api/v1/crm/opportunities/{id}/stage", post(stage_api))
        .route("/api/v1/crm/opportunities/{id}/won", post(won_api))
        .route("/api/v1/crm/opportunities/{id}/lost", post(lost_api))
        .route("/api/v1/crm/opportunities/{id}/quote", post(quote_api))
        .route("/api/v1/crm/forecast", get(forecast_api))
        .route("/api/v1/crm/activities", get(tasks_api).post(activity_api))
        .route("/api/v1/crm/activities/{id}/done", post(done_api))
        .route("/api/v1/crm/customers/{id}/timeline", get(timeline_api))
        .route("/api/v1/crm/stages", get(stages_api))
        .route("/api/v1/crm/stages/{id}", post(probability_api))
        .route("/api/v1/crm/assignment-rules", get(rules_api).post(add_rule_api))
        .route("/api/v1/crm/assignment-rules/{id}", delete(delete_rule_api))
        .route("/crm/performance", get(performance_page).post(target_page))
        .route("/api/v1/crm/reports/sales-performance", get(performance_api))
        .route("/api/v1/crm/targets", post(target_api))
        .merge(marketing::routes())
        .merge(contracts::routes())
        .merge(service_desk::routes())
}

pub fn docs() -> Vec<ApiRoute> {
    let mut all = own_docs();
    all.extend(marketing::docs());
    all.extend(contracts::docs());
    all.extend(service_desk::docs());
    all
}

fn own_docs() -> Vec<ApiRoute> {
    use service::{CUSTOMER_READ, LEAD_MANAGE, LEAD_READ, OPPORTUNITY_MANAGE, OPPORTUNITY_READ, SETTINGS};
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
            query: &[("status", "new, qualified, converted or lost (optional)")],
            ..route("GET", "/api/v1/crm/leads", "Leads the record rule reaches", LEAD_READ, None)
        },
        route(
            "POST",
            "/api/v1/crm/leads",
            "Enter a lead (assigned by the rules unless own scope)",
            LEAD_MANAGE,
            Some(object),
        ),
        route("POST", "/api/v1/crm/leads/import", "Import leads from CSV (all or nothing)", LEAD_MANAGE, Some(object)),
        route("GET", "/api/v1/crm/leads/{id}", "A lead", LEAD_READ, None),
        route("POST", "/api/v1/crm/leads/{id}/qualify", "Qualify a new lead", LEAD_MANAGE, None),
        route("POST", "/api/v1/crm/leads/{id}/lose", "Mark a lead lost, with the reason", LEAD_MANAGE, Some(object)),
        route(
            "POST",
            "/api/v1/crm/leads/{id}/convert",
            "Convert a lead into a customer and an opportunity in one step",
            OPPORTUNITY_MANAGE,
            Some(object),
        ),
        ApiRoute {
            query: &[
                ("stage", "One stage's id (optional)"),
                ("after", "The last opportunity id seen in that stage (paging)"),
                ("per_stage", "Cards per stage, 1–200 (default 50)"),
            ],
            ..route(
                "GET",
                "/api/v1/crm/opportunities",
                "The pipeline: open opportunities per stage",
                OPPORTUNITY_READ,
                None,
            )
        },
        route("POST", "/api/v1/crm/opportunities", "Open an opportunity", OPPORTUNITY_MANAGE, Some(object)),
        route(
            "GET",
            "/api/v1/crm/opportunities/{id}",
            "An opportunity with its quotations and activities",
            OPPORTUNITY_READ,
            None,
        ),
        route(
            "POST",
            "/api/v1/crm/opportunities/{id}/stage",
            "Move to another stage",
            OPPORTUNITY_MANAGE,
            Some(object),
        ),
        route("POST", "/api/v1/crm/opportunities/{id}/won", "Mark won", OPPORTUNITY_MANAGE, None),
        route(
            "POST",
            "/api/v1/crm/opportunities/{id}/lost",
            "Mark lost, with the reason",
            OPPORTUNITY_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/crm/opportunities/{id}/quote",
            "Make a sales quotation for the opportunity's customer",
            OPPORTUNITY_MANAGE,
            Some(object),
        ),
        route(
            "GET",
            "/api/v1/crm/forecast",
            "Weighted forecast by close month and salesperson",
            OPPORTUNITY_READ,
            None,
        ),
        ApiRoute {
            query: &[("from", "First month, YYYY-MM (default: January)"), ("to", "Last month (default: this month)")],
            ..route(
                "GET",
                "/api/v1/crm/reports/sales-performance",
                "Per salesperson: target, revenue, orders, win rate, deal size, cycle, pipeline coverage, rank",
                OPPORTUNITY_READ,
                None,
            )
        },
        route("POST", "/api/v1/crm/targets", "Set a salesperson's target for a month", SETTINGS, Some(object)),
        route("GET", "/api/v1/crm/activities", "My open tasks, most overdue first", OPPORTUNITY_READ, None),
        route(
            "POST",
            "/api/v1/crm/activities",
            "Log a call, meeting, e-mail, note or task",
            OPPORTUNITY_MANAGE,
            Some(object),
        ),
        route("POST", "/api/v1/crm/activities/{id}/done", "Mark one's task done", OPPORTUNITY_MANAGE, None),
        ApiRoute {
            query: &[("after", "Cursor of the last item seen (paging)"), ("limit", "Items, 1–200 (default 50)")],
            ..route(
                "GET",
                "/api/v1/crm/customers/{id}/timeline",
                "A customer's figures and timeline, newest first",
                CUSTOMER_READ,
                None,
            )
        },
        route("GET", "/api/v1/crm/stages", "The pipeline's stages", OPPORTUNITY_READ, None),
        route("POST", "/api/v1/crm/stages/{id}", "Set a stage's probability (percent)", SETTINGS, Some(object)),
        route("GET", "/api/v1/crm/web-form", "The public web form's address, when it is on", SETTINGS, None),
        route("POST", "/api/v1/crm/web-form", "Turn the public web form on under a fresh address", SETTINGS, None),
        route("DELETE", "/api/v1/crm/web-form", "Turn the public web form off", SETTINGS, None),
        route("GET", "/api/v1/crm/assignment-rules", "Lead assignment rules", SETTINGS, None),
        route("POST", "/api/v1/crm/assignment-rules", "Add a lead assignment rule", SETTINGS, Some(object)),
        route("DELETE", "/api/v1/crm/assignment-rules/{id}", "Remove a lead assignment rule", SETTINGS, None),
        ApiRoute {
            permission: None,
            ..route(
                "POST",
                "/public/crm/forms/{token}/leads",
                "The public web form: a lead (name, mobile or e-mail, message; rate-limited, spam-checked)",
                LEAD_MANAGE,
                Some(object),
            )
        },
    ]
}

async fn conn(ctx: &Ctx) -> AppResult<db::Conn> {
    Ok(ctx.db().read_conn().await?)
}

fn lead_json(l: &Lead) -> Value {
    json!(l)
}

fn opportunity_json(o: &Opportunity) -> Value {
    json!({
        "id": o.id, "number": o.number, "title": o.title, "party_id": o.party_id, "party_name": o.party_name,
        "lead_id": o.lead_id, "stage_id": o.stage_id, "stage": o.stage_name, "probability": o.probability_bp / 100,
        "expected_revenue": yuan(o.expected_revenue), "weighted_revenue": yuan(o.weighted()), "close_date": o.close_date,
        "status": o.status, "lost_reason": o.lost_reason, "owner_id": o.owner_id, "owner_name": o.owner_name,
        "version": o.version, "quotations": o.quotations.iter().map(|(id, number, status, total)| json!({"id": id, "number": number, "status": status, "total": yuan(*total)})).collect::<Vec<_>>(),
    })
}

// ---- Leads ----

#[derive(Deserialize, Default)]
pub struct StatusQuery {
    status: Option<String>,
}

async fn leads_api(ctx: Ctx, Query(q): Query<StatusQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    let items: Vec<Value> = service::leads(&mut conn, &ctx.principal, status).await?.iter().map(lead_json).collect();
    Ok(Json(json!({"items": items})))
}

async fn lead_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(lead_json(&service::lead(&mut conn, &ctx.principal, id).await?)))
}

async fn create_lead_api(ctx: Ctx, ApiJson(form): ApiJson<LeadForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::create_lead(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok((StatusCode::CREATED, Json(lead_json(&service::lead(&mut conn, &ctx.principal, id).await?))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvBody {
    csv: String,
}

async fn import_api(ctx: Ctx, ApiJson(body): ApiJson<CsvBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let count = service::import_leads(&mut tx, &ctx.principal, &body.csv).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"imported": count}))).into_response())
}

async fn qualify_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::qualify(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    lead_api(ctx, Path(id)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    reason: String,
}

async fn lose_lead_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<ReasonBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::lose_lead(&mut tx, &ctx.principal, id, &body.reason).await?;
    tx.commit().await?;
    lead_api(ctx, Path(id)).await
}

async fn convert_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<ConvertForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let (party, opportunity) = service::convert(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"party_id": party, "opportunity_id": opportunity}))).into_response())
}

#[derive(Template)]
#[template(path = "crm/leads.html")]
struct LeadsPage {
    page: PageCtx,
    leads: Vec<Lead>,
    status: String,
    form: LeadForm,
    errors: Vec<(String, String)>,
    can_manage: bool,
    /// The CSV of a refused import, kept to correct.
    csv: String,
}

impl LeadsPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

async fn leads_view(ctx: &Ctx, status: String, form: LeadForm, errors: Vec<(String, String)>) -> AppResult<LeadsPage> {
    let mut conn = conn(ctx).await?;
    let leads = service::leads(&mut conn, &ctx.principal, Some(status.as_str()).filter(|s| !s.is_empty())).await?;
    drop(conn);
    Ok(LeadsPage {
        page: PageCtx::new(ctx, "crm.leads", "/crm/leads").await?,
        leads,
        status,
        form,
        errors,
        can_manage: ctx.principal.may(service::LEAD_MANAGE),
        csv: String::new(),
    })
}

async fn leads_page(ctx: Ctx, Query(q): Query<StatusQuery>) -> AppResult<Response> {
    render(&leads_view(&ctx, q.status.unwrap_or_default(), LeadForm::default(), Vec::new()).await?)
}

fn lead_form(pairs: &FormPairs) -> LeadForm {
    LeadForm {
        name: pairs.text("name"),
        organization: pairs.text("organization"),
        mobile: pairs.text("mobile"),
        email: pairs.text("email"),
        region: pairs.text("region"),
        source: pairs.text("source"),
        campaign: pairs.text("campaign"),
        message: pairs.text("message"),
    }
}

async fn create_lead_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = lead_form(&pairs);
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::create_lead(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/crm/leads/{id}"), "common.created"),
        async |errors| {
            let text = field_messages(&ctx, &errors);
            leads_view(&ctx, String::new(), form, text).await
        },
    )
    .await
}

async fn import_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::import_leads(&mut tx, &ctx.principal, &pairs.text("csv")).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| ("/crm/leads".into(), "crm.imported"),
        async |errors| {
            let located: Vec<FieldError> = errors
                .into_iter()
                .map(|mut e| {
                    e.field = "csv".into();
                    e
                })
                .collect();
            let text = field_messages(&ctx, &located[..1.min(located.len())]);
            let view = leads_view(&ctx, String::new(), LeadForm::default(), text).await?;
            Ok(LeadsPage { csv: pairs.text("csv"), ..view })
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "crm/lead.html")]
struct LeadPage {
    page: PageCtx,
    lead: Lead,
    today: String,
    /// The form just refused (converting, or losing the lead): shown again as typed.
    refused: Refused,
    can_manage: bool,
    can_convert: bool,
    lost_reasons: [&'static str; 5],
}

impl LeadPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn typed(&self, field: &str, usual: &str) -> String {
        self.refused.typed(field, usual)
    }

    fn open(&self) -> bool {
        self.lead.status == "new" || self.lead.status == "qualified"
    }
}

async fn lead_view(ctx: &Ctx, id: i64, refused: Refused) -> AppResult<LeadPage> {
    let mut conn = conn(ctx).await?;
    let lead = service::lead(&mut conn, &ctx.principal, id).await?;
    drop(conn);
    Ok(LeadPage {
        page: PageCtx::new(ctx, "crm.lead", "/crm/leads").await?.titled(format!("{} {}", lead.number, lead.name)),
        lead,
        today: ctx.today().to_string(),
        refused,
        can_manage: ctx.principal.may(service::LEAD_MANAGE),
        can_convert: ctx.principal.may(service::OPPORTUNITY_MANAGE),
        lost_reasons: domain::LOST_REASONS,
    })
}

async fn lead_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    render(&lead_view(&ctx, id, Refused::default()).await?)
}

async fn lead_action_page(ctx: Ctx, Path((id, action)): Path<(i64, String)>, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome: db::Result<String> = match action.as_str() {
        "qualify" => service::qualify(&mut tx, &ctx.principal, id).await.map(|_| format!("/crm/leads/{id}")),
        "lose" => service::lose_lead(&mut tx, &ctx.principal, id, &pairs.text("reason"))
            .await
            .map(|_| format!("/crm/leads/{id}")),
        "convert" => {
            let form = ConvertForm {
                party_id: pairs.get("party_id").and_then(|p| p.parse().ok()),
                title: pairs.text("title"),
                expected_revenue: pairs.text("expected_revenue"),
                close_date: pairs.text("close_date"),
            };
            service::convert(&mut tx, &ctx.principal, id, &form).await.map(|(_, o)| format!("/crm/opportunities/{o}"))
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_form(
        &ctx,
        tx,
        outcome,
        |to| (to, "common.saved"),
        async |errors| lead_view(&ctx, id, Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

// ---- The public web form ----

/// The public form's submission: a lead's own fields and the honeypot, nothing else.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct Submission {
    name: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    campaign: String,
    #[serde(default)]
    message: String,
    /// A field people never see; only robots fill it in.
    #[serde(default)]
    website: String,
}

/// A lead from the company's website, at the form's secret address. No session: it accepts
/// only the lead's own fields (JSON or form-encoded), counts submissions per address and then
/// per company (an address over its limit does not use up the company's), answers what looks
/// like spam like a success while recording nothing, and records the lead as the web form's,
/// assigned by the rules. The answer is a receipt and nothing more.
async fn public_lead(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: axum::extract::Request,
) -> AppResult<Response> {
    let (address, json_body, body) = read_public(&state, request, 64 * 1024).await?;
    let owner = {
        let mut conn = state.db.read_conn().await?;
        service::form_owner(&mut conn, &token).await?
    };
    let Some((company, owner_name)) = owner else {
        return Err(DomainError::NotFound("form").into());
    };
    let actor = || db::Actor { user_id: None, login: "web-form".into(), company_id: Some(company) };
    // The hits are counted in their own transaction, so refused and invalid submissions count too.
    let mut tx = state.db.begin(actor()).await?;
    let allowed = db::throttle::allow(&mut tx, &format!("crm.lead:{company}:{address}"), PUBLIC_PER_ADDRESS, 3_600)
        .await?
        && db::throttle::allow(&mut tx, &format!("crm.lead:{company}"), PUBLIC_PER_COMPANY, 3_600).await?;
    tx.commit().await?;
    if !allowed {
        return Err(DomainError::Throttled.into());
    }
    let submission: Submission = if json_body {
        serde_json::from_slice(&body).map_err(|e| DomainError::invalid("body", "error.crm.form_body", e.to_string()))?
    } else {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
        Submission {
            name: get("name"),
            organization: get("organization"),
            mobile: get("mobile"),
            email: get("email"),
            region: get("region"),
            campaign: get("campaign"),
            message: get("message"),
            website: get("website"),
        }
    };
    if domain::looks_like_spam(&submission.website, &submission.message) {
        // Answered like a success, so a robot learns nothing; nothing is recorded.
        if !json_body {
            let thanks = PublicForm {
                token,
                name: owner_name,
                errors: Vec::new(),
                typed: Submission::default(),
                received: true,
            };
            return render(&thanks);
        }
        return Ok((StatusCode::ACCEPTED, Json(json!({"received": true}))).into_response());
    }
    let typed = submission.clone();
    let form = LeadForm {
        name: submission.name,
        organization: submission.organization,
        mobile: submission.mobile,
        email: submission.email,
        region: submission.region,
        source: "web".into(),
        campaign: submission.campaign,
        message: submission.message,
    };
    let mut tx = state.db.begin(actor()).await?;
    let recorded = service::record_lead(&mut tx, company, &form, None).await;
    // A website's script sends JSON and reads JSON; a visitor sends the page's form and reads
    // the page: thanked, or shown the form again as typed with the reason beside each field.
    let page = |errors, typed, received| PublicForm {
        token: token.clone(),
        name: owner_name.clone(),
        errors,
        typed,
        received,
    };
    match recorded {
        Ok(_) => {
            tx.commit().await?;
            if json_body {
                Ok((StatusCode::ACCEPTED, Json(json!({"received": true}))).into_response())
            } else {
                render(&page(Vec::new(), Submission::default(), true))
            }
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) if !json_body => {
            drop(tx);
            let errors = web::page::public_messages(&state.messages, &errors);
            web::page::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(errors, typed, false))
        }
        Err(e) => Err(e.into()),
    }
}

/// What a public endpoint needs of a request: the client's address (for its rate limits),
/// whether the body is JSON (else form-encoded), and the body, at most `limit` bytes.
pub(crate) async fn read_public(
    state: &AppState,
    request: axum::extract::Request,
    limit: usize,
) -> AppResult<(String, bool, axum::body::Bytes)> {
    let peer = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
    let address = state.config.client_network(request.headers(), peer);
    let json_body = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| web::AppError::TooLarge)?;
    Ok((address, json_body, body))
}

#[derive(Template)]
#[template(path = "crm/public_form.html")]
struct PublicForm {
    token: String,
    name: String,
    /// Refusals of a submission, by field, shown beside it.
    errors: Vec<(String, String)>,
    /// The submission refused, as typed.
    typed: Submission,
    /// Thanked for a submission taken.
    received: bool,
}

impl PublicForm {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

/// A bare page with the form, for a website to link to or embed.
async fn public_form_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<Response> {
    let mut conn = state.db.read_conn().await?;
    let (_, name) = service::form_owner(&mut conn, &token).await?.ok_or(DomainError::NotFound("form"))?;
    render(&PublicForm { token, name, errors: Vec::new(), typed: Submission::default(), received: false })
}

async fn web_form_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::SETTINGS)?;
    let mut conn = conn(&ctx).await?;
    let token = service::web_form(&mut conn, ctx.company_id()).await?;
    Ok(Json(form_json(token)))
}

fn form_json(token: Option<String>) -> Value {
    match token {
        Some(token) => {
            json!({"enabled": true, "page": format!("/public/crm/forms/{token}"), "submit": format!("/public/crm/forms/{token}/leads")})
        }
        None => json!({"enabled": false}),
    }
}

async fn enable_web_form_api(ctx: Ctx) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let token = service::enable_web_form(&mut tx, &ctx.principal).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(form_json(Some(token)))).into_response())
}

async fn disable_web_form_api(ctx: Ctx) -> AppResult<StatusCode> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::disable_web_form(&mut tx, &ctx.principal).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- Opportunities ----

#[derive(Deserialize, Default)]
pub struct BoardQuery {
    stage: Option<i64>,
    after: Option<i64>,
    per_stage: Option<i64>,
}

async fn board_api(ctx: Ctx, Query(q): Query<BoardQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::OPPORTUNITY_READ)?;
    ensure_stages(&ctx).await?;
    let mut conn = conn(&ctx).await?;
    let per_stage = q.per_stage.unwrap_or(50).clamp(1, 200);
    let board = service::board(&mut conn, &ctx.principal, q.stage, q.after, per_stage).await?;
    let stages: Vec<Value> = board
        .iter()
        .map(|(s, cards, total)| {
            json!({"id": s.id, "name": s.name, "name_en": s.name_en, "probability": s.probability_bp / 100, "open": total,
                "items": cards.iter().map(opportunity_json).collect::<Vec<_>>(),
                "next_after": if (cards.len() as i64) == per_stage { cards.last().map(|c| c.id) } else { None }})
        })
        .collect();
    Ok(Json(json!({"stages": stages})))
}

async fn create_opportunity_api(ctx: Ctx, ApiJson(form): ApiJson<OpportunityForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::create_opportunity(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok((StatusCode::CREATED, Json(opportunity_json(&service::opportunity(&mut conn, &ctx.principal, id).await?)))
        .into_response())
}

async fn opportunity_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let opportunity = service::opportunity(&mut conn, &ctx.principal, id).await?;
    let activities = service::opportunity_activities(&mut conn, ctx.company_id(), id).await?;
    let mut body = opportunity_json(&opportunity);
    body["activities"] = json!(activities);
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    stage_id: i64,
    #[serde(default)]
    version: Option<i64>,
}

async fn stage_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<StageBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::move_stage(&mut tx, &ctx.principal, id, body.stage_id, body.version).await?;
    tx.commit().await?;
    opportunity_api(ctx, Path(id)).await
}

async fn won_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::win(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    opportunity_api(ctx, Path(id)).await
}

async fn lost_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<ReasonBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::lose(&mut tx, &ctx.principal, id, &body.reason).await?;
    tx.commit().await?;
    opportunity_api(ctx, Path(id)).await
}

async fn quote_api(
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(form): ApiJson<sales::service::OrderForm>,
) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let order = service::quote(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"order_id": order}))).into_response())
}

async fn forecast_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let rows = service::forecast(&mut conn, &ctx.principal).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| json!({"month": r.month, "owner": r.owner, "count": r.count, "expected": yuan(r.expected), "weighted": yuan(r.weighted)}))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Template)]
#[template(path = "crm/pipeline.html")]
struct PipelinePage {
    page: PageCtx,
    board: Vec<(Stage, Vec<Opportunity>, i64)>,
    stages: Vec<Stage>,
    customers: Vec<(i64, String)>,
    form: OpportunityForm,
    errors: Vec<(String, String)>,
    can_manage: bool,
}

impl PipelinePage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

/// Customers (and prospects) an opportunity may be for.
async fn customers(ctx: &Ctx) -> AppResult<Vec<(i64, String)>> {
    // Without the permission to read parties there is nobody to choose from.
    let Ok(filter) = ctx.principal.row_filter(party::service::READ) else {
        return Ok(Vec::new());
    };
    let mut conn = conn(ctx).await?;
    let mut q = db::SqlBuilder::new(
        "SELECT p.id, p.name FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'customer' WHERE p.archived_at IS NULL",
    );
    db::rules::push_filter(&mut q, &filter, "p.company_id", "p.owner_id");
    q.push(" ORDER BY p.name LIMIT 1000");
    Ok(q.build()
        .fetch_all(&mut conn)
        .await?
        .iter()
        .filter_map(|r| Some((r.try_get("id").ok()?, r.try_get("name").ok()?)))
        .collect())
}

async fn pipeline_view(ctx: &Ctx, form: OpportunityForm, errors: Vec<(String, String)>) -> AppResult<PipelinePage> {
    ctx.require(service::OPPORTUNITY_READ)?;
    ensure_stages(ctx).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::service_desk::ensure_policies(&mut tx, ctx.company_id()).await?;
    tx.commit().await?;
    let mut conn = conn(ctx).await?;
    let board = service::board(&mut conn, &ctx.principal, None, None, 50).await?;
    drop(conn);
    let stages = board.iter().map(|(s, _, _)| s.clone()).collect();
    Ok(PipelinePage {
        page: PageCtx::new(ctx, "crm.pipeline", "/crm/pipeline").await?,
        board,
        stages,
        customers: customers(ctx).await?,
        form,
        errors,
        can_manage: ctx.principal.may(service::OPPORTUNITY_MANAGE),
    })
}

async fn pipeline_page(ctx: Ctx) -> AppResult<Response> {
    render(&pipeline_view(&ctx, OpportunityForm::default(), Vec::new()).await?)
}

async fn create_opportunity_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = OpportunityForm {
        title: pairs.text("title"),
        party_id: pairs.get("party_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        expected_revenue: pairs.text("expected_revenue"),
        close_date: pairs.text("close_date"),
        stage_id: pairs.get("stage_id").and_then(|p| p.parse().ok()),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::create_opportunity(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/crm/opportunities/{id}"), "common.created"),
        async |errors| {
            let text = field_messages(&ctx, &errors);
            pipeline_view(&ctx, form, text).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "crm/opportunity.html")]
struct OpportunityPage {
    page: PageCtx,
    o: Opportunity,
    stages: Vec<Stage>,
    activities: Vec<service::Activity>,
    products: Vec<(i64, String)>,
    warehouses: Vec<String>,
    /// The active cost centres and projects a quotation may name, as the sales order form offers them.
    cost_centers: Vec<finance::dimensions::Tag>,
    projects: Vec<finance::dimensions::Tag>,
    kinds: [&'static str; 5],
    lost_reasons: [&'static str; 5],
    today: String,
    /// The form just refused (fields named `<form>:<field>`): shown again as typed, each
    /// message beside its field.
    refused: Refused,
    can_manage: bool,
}

/// Rows of the quotation form: three empty ones, or a refused form's lines as typed.
const QUOTE_ROWS: usize = 3;

impl OpportunityPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn typed(&self, field: &str, usual: &str) -> String {
        self.refused.typed(field, usual)
    }

    /// Whether an option shows as chosen: the one the refused form sent, else the usual one.
    fn chosen(&self, field: &str, value: &str, usual: bool) -> bool {
        self.refused.chosen(field, value, usual)
    }

    /// Whether the quotation form is the one refused (its unticked box then stays unticked).
    fn quote_refused(&self) -> bool {
        !self.refused.messages_of("quote").is_empty()
    }

    /// The quotation's rows as (product, quantity, unit price): the lines of a refused form as
    /// typed, rows left empty dropped as the form reads them (so a line's message stands on
    /// its row), then empty rows up to [`QUOTE_ROWS`].
    fn quote_rows(&self) -> Vec<(String, String, String)> {
        let column = |name: &str| self.refused.sent_rows(&format!("quote:{name}"));
        let (products, quantities, prices) = (column("product_id"), column("quantity"), column("unit_price"));
        let mut rows: Vec<(String, String, String)> = (0..products.len())
            .map(|i| {
                let cell = |c: &[&str]| c.get(i).map_or_else(String::new, |v| v.to_string());
                (cell(&products), cell(&quantities), cell(&prices))
            })
            .filter(|(p, q, _)| !(p.trim().is_empty() && q.trim().is_empty()))
            .collect();
        while rows.len() < QUOTE_ROWS {
            rows.push(Default::default());
        }
        rows
    }

    fn money(&self, fen: i64) -> String {
        self.page.money(&fen)
    }
}

async fn opportunity_view(ctx: &Ctx, id: i64, refused: Refused) -> AppResult<OpportunityPage> {
    let mut conn = conn(ctx).await?;
    let o = service::opportunity(&mut conn, &ctx.principal, id).await?;
    let stages = service::stages(&mut conn, ctx.company_id()).await?;
    let activities = service::opportunity_activities(&mut conn, ctx.company_id(), id).await?;
    let products = sqlx::query(
        "SELECT id, code || ' ' || name AS label FROM cat_products WHERE company_id = $1 AND archived_at IS NULL ORDER BY code LIMIT 1000",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .filter_map(|r| Some((r.try_get("id").ok()?, r.try_get("label").ok()?)))
    .collect();
    let warehouses = sqlx::query("SELECT code FROM stk_warehouses WHERE company_id = $1 ORDER BY code")
        .bind(ctx.company_id())
        .fetch_all(&mut conn)
        .await?
        .iter()
        .filter_map(|r| r.try_get("code").ok())
        .collect();
    use finance::dimensions::{offered, Dimension};
    let cost_centers = offered(&mut conn, ctx.company_id(), Dimension::CostCenter).await?;
    let projects = offered(&mut conn, ctx.company_id(), Dimension::Project).await?;
    drop(conn);
    Ok(OpportunityPage {
        cost_centers,
        projects,
        page: PageCtx::new(ctx, "crm.opportunity", "/crm/pipeline").await?.titled(format!("{} {}", o.number, o.title)),
        o,
        stages,
        activities,
        products,
        warehouses,
        kinds: domain::ACTIVITY_KINDS,
        lost_reasons: domain::LOST_REASONS,
        today: ctx.today().to_string(),
        refused,
        can_manage: ctx.principal.may(service::OPPORTUNITY_MANAGE),
    })
}

async fn opportunity_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    render(&opportunity_view(&ctx, id, Refused::default()).await?)
}

fn activity_form(pairs: &FormPairs) -> ActivityForm {
    ActivityForm {
        kind: pairs.text("kind"),
        subject: pairs.text("subject"),
        body: pairs.text("body"),
        due_date: pairs.text("due_date"),
        ..Default::default()
    }
}

async fn opportunity_action_page(
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    pairs: FormPairs,
) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let back =
        if pairs.text("back") == "pipeline" { "/crm/pipeline".to_string() } else { format!("/crm/opportunities/{id}") };
    let outcome: db::Result<String> = match action.as_str() {
        "stage" => {
            let stage = pairs.get("stage_id").and_then(|s| s.parse().ok()).unwrap_or(0);
            let version = pairs.get("version").and_then(|v| v.parse().ok());
            service::move_stage(&mut tx, &ctx.principal, id, stage, version).await.map(|_| back)
        }
        "won" => service::win(&mut tx, &ctx.principal, id).await.map(|_| back),
        "lost" => service::lose(&mut tx, &ctx.principal, id, &pairs.text("reason")).await.map(|_| back),
        "activity" => {
            let form = ActivityForm { opportunity_id: Some(id), ..activity_form(&pairs) };
            service::log_activity(&mut tx, &ctx.principal, &form).await.map(|_| back)
        }
        "quote" => {
            let lines = pairs
                .rows(&["product_id", "quantity", "unit", "unit_price"])
                .into_iter()
                .filter(|[p, q, _, _]| !(p.trim().is_empty() && q.trim().is_empty()))
                .map(|[p, q, unit, u]| sales::service::OrderLineForm {
                    product_id: p.parse().unwrap_or(0),
                    quantity: q,
                    unit,
                    unit_price: u,
                })
                .collect();
            let form = sales::service::OrderForm {
                customer_id: 0,
                warehouse: pairs.text("warehouse"),
                date: pairs.text("date"),
                tax_inclusive: pairs.get("tax_inclusive").is_some(),
                memo: String::new(),
                cost_center: pairs.text("cost_center"),
                project: pairs.text("project"),
                lines,
            };
            service::quote(&mut tx, &ctx.principal, id, &form).await.map(|order| format!("/sales/orders/{order}"))
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_form(
        &ctx,
        tx,
        outcome,
        |to| (to, "common.saved"),
        async |errors| opportunity_view(&ctx, id, Refused::new(&ctx, &action, errors, pairs.clone())).await,
    )
    .await
}

// ---- Customer 360 ----

#[derive(Deserialize, Default)]
pub struct TimelineQuery {
    after: Option<String>,
    limit: Option<i64>,
}

async fn timeline_api(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<TimelineQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let customer = timeline::customer(&mut conn, &ctx.principal, id, q.after.as_deref(), limit).await?;
    Ok(Json(json!({
        "party_id": customer.party_id, "number": customer.number, "name": customer.name, "tags": customer.tags,
        "salesperson": customer.salesperson, "lifetime_value": customer.lifetime_value.map(yuan),
        "open_receivables": customer.open_receivables.map(yuan), "last_purchase": customer.last_purchase,
        "open_opportunities": customer.open_opportunities, "weighted_pipeline": customer.weighted_pipeline.map(yuan),
        "items": customer.items.iter().map(|i| json!({"at": i.at, "kind": i.kind, "id": i.id, "title": i.title, "detail": i.detail,
            "amount": i.amount.map(yuan), "link": i.link()})).collect::<Vec<_>>(),
        "next": customer.next,
    })))
}

#[derive(Template)]
#[template(path = "crm/customer.html")]
struct CustomerPage {
    page: PageCtx,
    c: Customer,
    kinds: [&'static str; 5],
    /// The activity just refused: shown again as typed, each message beside its field.
    refused: Refused,
    can_log: bool,
}

impl CustomerPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn typed(&self, field: &str) -> String {
        self.refused.typed(field, "")
    }

    fn kind_label(&self, kind: &str) -> String {
        self.page.t(&format!("crm.timeline.{kind}"))
    }
}

async fn customer_view(ctx: &Ctx, id: i64, after: Option<&str>, refused: Refused) -> AppResult<CustomerPage> {
    let mut conn = conn(ctx).await?;
    let c = timeline::customer(&mut conn, &ctx.principal, id, after, 50).await?;
    drop(conn);
    Ok(CustomerPage {
        page: PageCtx::new(ctx, "crm.customer", "/crm/pipeline").await?.titled(c.name.clone()),
        c,
        kinds: domain::ACTIVITY_KINDS,
        refused,
        can_log: ctx.principal.may(service::OPPORTUNITY_MANAGE) || ctx.principal.may(service::LEAD_MANAGE),
    })
}

async fn customer_page(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<TimelineQuery>) -> AppResult<Response> {
    render(&customer_view(&ctx, id, q.after.as_deref(), Refused::default()).await?)
}

async fn customer_activity_page(ctx: Ctx, Path(id): Path<i64>, pairs: FormPairs) -> AppResult<Response> {
    let form = ActivityForm { party_id: Some(id), ..activity_form(&pairs) };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::log_activity(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| (format!("/crm/customers/{id}"), "common.saved"),
        async |errors| customer_view(&ctx, id, None, Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

// ---- Activities ----

async fn activity_api(ctx: Ctx, ApiJson(form): ApiJson<ActivityForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::log_activity(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn tasks_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::OPPORTUNITY_READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": service::my_tasks(&mut conn, &ctx.principal).await?})))
}

async fn done_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::complete_activity(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "done": true})))
}

#[derive(Template)]
#[template(path = "crm/tasks.html")]
struct TasksPage {
    page: PageCtx,
    tasks: Vec<service::Activity>,
    today: String,
}

async fn tasks_page(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::OPPORTUNITY_READ)?;
    let mut conn = conn(&ctx).await?;
    let tasks = service::my_tasks(&mut conn, &ctx.principal).await?;
    drop(conn);
    render(&TasksPage {
        page: PageCtx::new(&ctx, "crm.tasks", "/crm/tasks").await?,
        tasks,
        today: ctx.today().to_string(),
    })
}

async fn done_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::complete_activity(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, "/crm/tasks", "common.saved"))
}

// ---- Forecast ----

#[derive(Template)]
#[template(path = "crm/forecast.html")]
struct ForecastPage {
    page: PageCtx,
    rows: Vec<service::ForecastRow>,
    chart: String,
}

async fn forecast_page(ctx: Ctx) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let rows = service::forecast(&mut conn, &ctx.principal).await?;
    drop(conn);
    let mut months: Vec<web::chart::Bar> = Vec::new();
    for r in &rows {
        match months.iter_mut().find(|b| b.label == r.month) {
            Some(bar) => bar.value += r.weighted,
            None => months.push(web::chart::Bar { label: r.month.clone(), value: r.weighted }),
        }
    }
    let page = PageCtx::new(&ctx, "crm.forecast", "/crm/forecast").await?;
    let chart = web::chart::bars(&page.t("crm.weighted"), &months, yuan);
    render(&ForecastPage { page, rows, chart })
}

// ---- Settings ----

/// A company's first look at its pipeline gives it the default stages.
async fn ensure_stages(ctx: &Ctx) -> AppResult<()> {
    // Looked up on the reader first: a GET opens a write transaction only that first time.
    let mut conn = conn(ctx).await?;
    if !service::stages(&mut conn, ctx.company_id()).await?.is_empty() {
        return Ok(());
    }
    drop(conn);
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::ensure_stages(&mut tx, ctx.company_id()).await?;
    tx.commit().await?;
    Ok(())
}

async fn stages_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::OPPORTUNITY_READ)?;
    ensure_stages(&ctx).await?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": service::stages(&mut conn, ctx.company_id()).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbabilityBody {
    probability: String,
}

async fn probability_api(
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ProbabilityBody>,
) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::set_probability(&mut tx, &ctx.principal, id, &body.probability).await?;
    tx.commit().await?;
    stages_api(ctx).await
}

async fn rules_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::SETTINGS)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": service::rules(&mut conn, ctx.company_id()).await?})))
}

async fn add_rule_api(ctx: Ctx, ApiJson(form): ApiJson<RuleForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::add_rule(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn delete_rule_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::delete_rule(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Template)]
#[template(path = "crm/settings.html")]
struct SettingsPage {
    page: PageCtx,
    stages: Vec<Stage>,
    rules: Vec<service::AssignmentRule>,
    sources: [&'static str; 6],
    /// The web form's token when it is on.
    web_form: Option<String>,
    policies: Vec<crate::service_desk::Policy>,
    agents: Vec<(i64, String)>,
    holidays: Vec<(String, String)>,
    /// The form just refused (their fields do not collide): shown again as typed.
    refused: Refused,
}

impl SettingsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn typed(&self, field: &str) -> String {
        self.refused.typed(field, "")
    }
}

async fn settings_view(ctx: &Ctx, refused: Refused) -> AppResult<SettingsPage> {
    ctx.require(service::SETTINGS)?;
    ensure_stages(ctx).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::service_desk::ensure_policies(&mut tx, ctx.company_id()).await?;
    tx.commit().await?;
    let mut conn = conn(ctx).await?;
    let stages = service::stages(&mut conn, ctx.company_id()).await?;
    let rules = service::rules(&mut conn, ctx.company_id()).await?;
    let web_form = service::web_form(&mut conn, ctx.company_id()).await?;
    let policies = crate::service_desk::policies(&mut conn, ctx.company_id()).await?;
    let agents = crate::service_desk::agents(&mut conn, ctx.company_id()).await?;
    let holidays = crate::service_desk::holidays(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(SettingsPage {
        page: PageCtx::new(ctx, "crm.settings", "/crm/settings").await?,
        stages,
        rules,
        sources: domain::SOURCES,
        web_form,
        policies,
        agents,
        holidays,
        refused,
    })
}

async fn settings_page(ctx: Ctx) -> AppResult<Response> {
    render(&settings_view(&ctx, Refused::default()).await?)
}

async fn settings_action_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = match pairs.text("action").as_str() {
        "probability" => {
            let stage = pairs.get("stage_id").and_then(|s| s.parse().ok()).unwrap_or(0);
            service::set_probability(&mut tx, &ctx.principal, stage, &pairs.text("probability")).await
        }
        "add_rule" => {
            let form =
                RuleForm { source: pairs.text("source"), region: pairs.text("region"), team: pairs.text("team") };
            service::add_rule(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "policy" => {
            let form = crate::service_desk::PolicyForm {
                priority: pairs.text("priority"),
                first_response_minutes: pairs.text("first_response_minutes"),
                resolution_minutes: pairs.text("resolution_minutes"),
                escalate_to: pairs.text("escalate_to"),
            };
            crate::service_desk::set_policy(&mut tx, &ctx.principal, &form).await
        }
        "holiday" => {
            crate::service_desk::add_holiday(&mut tx, &ctx.principal, &pairs.text("day"), &pairs.text("name")).await
        }
        "enable_form" => service::enable_web_form(&mut tx, &ctx.principal).await.map(|_| ()),
        "disable_form" => service::disable_web_form(&mut tx, &ctx.principal).await,
        "delete_rule" => {
            let rule = pairs.get("rule_id").and_then(|s| s.parse().ok()).unwrap_or(0);
            service::delete_rule(&mut tx, &ctx.principal, rule).await
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| ("/crm/settings".into(), "common.saved"),
        async |errors| settings_view(&ctx, Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

// ---- Sales performance ----

#[derive(Deserialize, Default)]
pub struct MonthsQuery {
    from: Option<String>,
    to: Option<String>,
}

fn months(ctx: &Ctx, q: &MonthsQuery) -> (String, String) {
    let today = ctx.today().to_string();
    let from = q.from.clone().filter(|f| !f.is_empty()).unwrap_or_else(|| format!("{}-01", &today[..4]));
    let to = q.to.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| today[..7].to_string());
    (from, to)
}

fn performance_json(rows: &[crate::performance::Row]) -> Value {
    let percent = |bp: Option<i64>| bp.map(crate::domain::hundredths);
    json!({"items": rows.iter().map(|r| json!({
        "rank": r.rank, "user_id": r.user_id, "name": r.name, "target": yuan(r.target), "revenue": yuan(r.revenue),
        "attainment": percent(r.attainment_bp), "orders": r.orders, "won": r.won, "lost": r.lost, "win_rate": percent(r.win_rate_bp),
        "average_deal": r.average_deal.map(yuan), "cycle_days": r.cycle_days, "pipeline": yuan(r.pipeline),
        "weighted_pipeline": yuan(r.weighted_pipeline), "coverage": percent(r.coverage_bp),
    })).collect::<Vec<_>>()})
}

async fn performance_api(ctx: Ctx, Query(q): Query<MonthsQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let (from, to) = months(&ctx, &q);
    Ok(Json(performance_json(&crate::performance::report(&mut conn, &ctx.principal, &from, &to).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    user_id: i64,
    month: String,
    amount: String,
}

async fn target_api(ctx: Ctx, ApiJson(b): ApiJson<TargetBody>) -> AppResult<StatusCode> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::performance::set_target(&mut tx, &ctx.principal, b.user_id, &b.month, &b.amount).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Template)]
#[template(path = "crm/performance.html")]
struct PerformancePage {
    page: PageCtx,
    rows: Vec<crate::performance::Row>,
    chart: String,
    from: String,
    to: String,
    users: Vec<(i64, String)>,
    /// The target just refused: shown again as typed, each message beside its field.
    refused: Refused,
    can_set: bool,
}

impl PerformancePage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn percent(&self, bp: &Option<i64>) -> String {
        bp.map(|bp| format!("{}%", crate::domain::hundredths(bp))).unwrap_or_default()
    }

    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn performance_view(ctx: &Ctx, q: &MonthsQuery, refused: Refused) -> AppResult<PerformancePage> {
    let mut conn = conn(ctx).await?;
    let (from, to) = months(ctx, q);
    let rows = crate::performance::report(&mut conn, &ctx.principal, &from, &to).await?;
    let users = sqlx::query(
        "SELECT u.id, u.display_name FROM users u JOIN user_companies c ON c.user_id = u.id WHERE c.company_id = $1 AND u.disabled_at IS NULL ORDER BY u.display_name",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .filter_map(|r| Some((r.try_get("id").ok()?, r.try_get("display_name").ok()?)))
    .collect();
    drop(conn);
    let page = PageCtx::new(ctx, "crm.performance", "/crm/performance").await?;
    let bars: Vec<web::chart::Bar> =
        rows.iter().map(|r| web::chart::Bar { label: r.name.clone(), value: r.revenue }).collect();
    let chart = web::chart::bars(&page.t("crm.salesperson_revenue"), &bars, yuan);
    Ok(PerformancePage { page, rows, chart, from, to, users, refused, can_set: ctx.principal.may(service::SETTINGS) })
}

async fn performance_page(ctx: Ctx, Query(q): Query<MonthsQuery>) -> AppResult<Response> {
    render(&performance_view(&ctx, &q, Refused::default()).await?)
}

async fn target_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let user = pairs.get("user_id").and_then(|u| u.parse().ok()).unwrap_or(0);
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome =
        crate::performance::set_target(&mut tx, &ctx.principal, user, &pairs.text("month"), &pairs.text("amount"))
            .await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| ("/crm/performance".into(), "common.saved"),
        async |errors| {
            let refused = Refused::new(&ctx, "", errors, pairs.clone());
            performance_view(&ctx, &MonthsQuery::default(), refused).await
        },
    )
    .await
}

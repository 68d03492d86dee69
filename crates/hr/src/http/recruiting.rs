//! Recruiting pages and API, and the public job page with its application form.

use super::{conn, finish_page, id_of, route};
use crate::recruiting::{self, ApplicationForm, Candidate, InterviewForm, Posting, PostingForm, ResumeFile};
use askama::Template;
use axum::extract::{FromRequest, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::page::{message_for, render, render_status, Refused};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

/// Applications one address may send per hour, and a posting may take per hour.
pub const APPLICATIONS_PER_ADDRESS: i64 = 5;
pub const APPLICATIONS_PER_POSTING: i64 = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/hr/recruiting", get(postings_page).post(recruiting_action_page))
        .route("/hr/recruiting/{id}", get(posting_page))
        .route("/hr/applications/{id}/resume", get(resume_download))
        // The application form carries a file: its own body limit, above the site's for forms.
        .route(
            "/public/hr/jobs/{token}",
            get(public_job_page)
                .post(public_apply)
                .layer(axum::extract::DefaultBodyLimit::max(recruiting::MAX_FILE_BYTES + 256 * 1024)),
        )
        .route("/api/v1/hr/postings", get(postings_api).post(create_posting_api))
        .route("/api/v1/hr/candidates", get(candidates_api))
        .route("/api/v1/hr/applications/{id}/stage", post(stage_api))
        .route("/api/v1/hr/applications/{id}/interviews", post(interview_api))
        .route("/api/v1/hr/applications/{id}/hire", post(hire_api))
        .route("/api/v1/hr/applications/{id}/offer", get(offer_api).post(make_offer_api))
        .route("/api/v1/hr/applications/{id}/offer/{answer}", post(answer_offer_api))
        .route("/hr/applications/{id}/offer", get(offer_letter_page))
}

pub fn docs() -> Vec<ApiRoute> {
    use crate::org::EMPLOYEE_MANAGE;
    use crate::planning::{PLAN_MANAGE, PLAN_READ};
    vec![
        route("GET", "/api/v1/hr/postings", "Job postings with their funnels", PLAN_READ, None),
        route(
            "POST",
            "/api/v1/hr/postings",
            "Publish a posting for an approved requisition",
            PLAN_MANAGE,
            Some(object),
        ),
        ApiRoute {
            query: &[("posting", "a posting id")],
            ..route(
                "GET",
                "/api/v1/hr/candidates",
                "Candidates by screening score, each score explained",
                PLAN_READ,
                None,
            )
        },
        route(
            "POST",
            "/api/v1/hr/applications/{id}/stage",
            "Screen, invite, offer or reject",
            PLAN_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/hr/applications/{id}/interviews",
            "A scorecard from an assessment or interview",
            PLAN_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/hr/applications/{id}/hire",
            "Hire a candidate who accepted their offer (on its terms unless given)",
            EMPLOYEE_MANAGE,
            Some(object),
        ),
        route("GET", "/api/v1/hr/applications/{id}/offer", "An application's offer", PLAN_READ, None),
        route(
            "POST",
            "/api/v1/hr/applications/{id}/offer",
            "Make an offer after the interviews: pay, start date, until when it stands, contract",
            PLAN_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/hr/applications/{id}/offer/accept",
            "Record that the candidate accepted the offer (not after it expired)",
            PLAN_MANAGE,
            None,
        ),
        route(
            "POST",
            "/api/v1/hr/applications/{id}/offer/decline",
            "Record that the candidate declined: the application is rejected at the offer",
            PLAN_MANAGE,
            None,
        ),
    ]
}

async fn postings_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": recruiting::postings(&mut conn, &ctx.principal).await?})))
}

async fn create_posting_api(ctx: Ctx, ApiJson(form): ApiJson<PostingForm>) -> AppResult<Response> {
    let id = in_tx!(ctx, |tx| recruiting::create_posting(&mut tx, &ctx.principal, &form));
    let mut conn = conn(&ctx).await?;
    let posting = recruiting::postings(&mut conn, &ctx.principal).await?.into_iter().find(|p| p.id == id);
    let mut body = json!(posting.ok_or(DomainError::NotFound("posting"))?);
    body["page"] = json!(format!("/public/hr/jobs/{}", body["token"].as_str().unwrap_or("")));
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize, Default)]
pub struct CandidatesQuery {
    posting: Option<i64>,
}

async fn candidates_api(ctx: Ctx, Query(q): Query<CandidatesQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": recruiting::candidates(&mut conn, &ctx.principal, q.posting).await?})))
}

async fn candidate_response(ctx: &Ctx, id: i64) -> AppResult<Json<Value>> {
    let mut conn = conn(ctx).await?;
    let found = recruiting::candidates(&mut conn, &ctx.principal, None).await?.into_iter().find(|c| c.id == id);
    Ok(Json(json!(found.ok_or(DomainError::NotFound("application"))?)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StageBody {
    stage: String,
}

async fn stage_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(b): ApiJson<StageBody>) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| recruiting::advance(&mut tx, &ctx.principal, id, &b.stage));
    candidate_response(&ctx, id).await
}

async fn interview_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<InterviewForm>) -> AppResult<Json<Value>> {
    in_tx!(ctx, |tx| recruiting::record_interview(&mut tx, &ctx.principal, id, &form));
    candidate_response(&ctx, id).await
}

async fn hire_api(
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(terms): ApiJson<recruiting::HireTerms>,
) -> AppResult<Response> {
    let employee = in_tx!(ctx, |tx| recruiting::hire(&mut tx, &ctx.principal, id, &terms));
    Ok((StatusCode::CREATED, Json(json!({"employee_id": employee, "application_id": id}))).into_response())
}

fn offer_json(o: &recruiting::Offer) -> Value {
    json!({"application_id": o.application_id, "candidate": o.candidate, "title": o.title, "department": o.department,
        "position": o.position, "base_salary": finance::domain::yuan(o.base_salary),
        "target_bonus": finance::domain::yuan(o.target_bonus), "start_date": o.start_date, "expires_on": o.expires_on,
        "contract_kind": o.contract_kind, "contract_end": o.contract_end, "notes": o.notes, "status": o.status,
        "created_at": o.created_at, "answered_at": o.answered_at})
}

async fn offer_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(offer_json(&recruiting::offer(&mut conn, &ctx.principal, id).await?)))
}

async fn make_offer_api(
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(form): ApiJson<recruiting::OfferForm>,
) -> AppResult<Response> {
    in_tx!(ctx, |tx| recruiting::make_offer(&mut tx, &ctx.principal, id, &form));
    Ok((StatusCode::CREATED, offer_api(ctx, Path(id)).await?).into_response())
}

async fn answer_offer_api(ctx: Ctx, Path((id, answer)): Path<(i64, String)>) -> AppResult<Json<Value>> {
    let accepted = match answer.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(DomainError::NotFound("answer").into()),
    };
    in_tx!(ctx, |tx| recruiting::answer_offer(&mut tx, &ctx.principal, id, accepted));
    offer_api(ctx, Path(id)).await
}

#[derive(Template)]
#[template(path = "hr/offer_letter.html")]
struct OfferLetterPage {
    page: PageCtx,
    o: recruiting::Offer,
}

impl OfferLetterPage {
    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

/// The offer letter (录用通知书), to print or save as PDF and send.
async fn offer_letter_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let o = recruiting::offer(&mut conn, &ctx.principal, id).await?;
    drop(conn);
    let page =
        PageCtx::new(&ctx, "hr.offer_letter", "/hr/recruiting").await?.titled(format!("{} · {}", o.candidate, o.title));
    render(&OfferLetterPage { page, o })
}

async fn resume_download(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let (name, kind, bytes) = recruiting::resume_file(&mut conn, &ctx.principal, id).await?;
    Ok(web::page::file_download(&name, &kind, bytes))
}

// ---- The public job page ----

#[derive(Template)]
#[template(path = "hr/public_job.html")]
struct PublicJob {
    token: String,
    posting: Posting,
    education: [&'static str; 5],
    errors: Vec<(String, String)>,
    received: bool,
    /// The application just refused, as typed (the file must be chosen again: a browser
    /// never fills in a file field).
    typed: recruiting::ApplicationForm,
}

impl PublicJob {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

async fn public_job_page(State(state): State<AppState>, Path(token): Path<String>) -> AppResult<Response> {
    let mut conn = state.db.read_conn().await?;
    let (_, posting) = recruiting::public_posting(&mut conn, &token).await?.ok_or(DomainError::NotFound("posting"))?;
    render(&PublicJob {
        token,
        posting,
        education: crate::domain::EDUCATION,
        errors: Vec::new(),
        received: false,
        typed: Default::default(),
    })
}

/// An application: JSON from a job board, or the page's multipart form with the résumé file.
/// Rate-limited per address and per posting; a filled honeypot is answered like a success.
async fn public_apply(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: axum::extract::Request,
) -> AppResult<Response> {
    let peer = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
    let address = state.config.client_network(request.headers(), peer);
    let content_type = request.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let found = {
        let mut conn = state.db.read_conn().await?;
        recruiting::public_posting(&mut conn, &token).await?
    };
    let Some((company, posting)) = found else {
        return Err(DomainError::NotFound("posting").into());
    };
    let actor = || db::Actor { user_id: None, login: "job-form".into(), company_id: Some(company) };
    let mut tx = state.db.begin(actor()).await?;
    // Per address before anything is read; the posting's budget only for applications that
    // pass the checks, so junk cannot close a posting's form.
    let allowed =
        db::throttle::allow(&mut tx, &format!("hr.apply:{}:{address}", posting.id), APPLICATIONS_PER_ADDRESS, 3_600)
            .await?;
    tx.commit().await?;
    if !allowed {
        return Err(DomainError::Throttled.into());
    }
    let json_body = content_type.starts_with("application/json");
    let (form, file) = if json_body {
        let body = axum::body::to_bytes(request.into_body(), 64 * 1024).await.map_err(|_| web::AppError::TooLarge)?;
        let form: ApplicationForm = serde_json::from_slice(&body)
            .map_err(|e| DomainError::invalid("body", "error.hr.form_body", e.to_string()))?;
        (form, None)
    } else {
        match read_multipart(&state, request).await {
            Ok(read) => read,
            Err(_) => {
                // A body over the limit or a broken upload: the form again, with the reason.
                let message = state.messages.format(kernel::Lang::ZhCn, "error.hr.upload", "");
                let errors = vec![("file".to_string(), message)];
                let typed = Default::default();
                let page =
                    PublicJob { token, posting, education: crate::domain::EDUCATION, errors, received: false, typed };
                return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
        }
    };
    if !form.website.trim().is_empty() {
        return Ok((StatusCode::ACCEPTED, Json(json!({"received": true}))).into_response());
    }
    let mut tx = state.db.begin(actor()).await?;
    match recruiting::apply(&mut tx, company, &posting, &form, file.as_ref()).await {
        Ok(_) => {
            let bucket = format!("hr.apply:{}", posting.id);
            if !db::throttle::allow(&mut tx, &bucket, APPLICATIONS_PER_POSTING, 3_600).await? {
                return Err(DomainError::Throttled.into());
            }
            tx.commit().await?;
            if json_body {
                Ok((StatusCode::ACCEPTED, Json(json!({"received": true}))).into_response())
            } else {
                render(&PublicJob {
                    token,
                    posting,
                    education: crate::domain::EDUCATION,
                    errors: Vec::new(),
                    received: true,
                    typed: Default::default(),
                })
            }
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) if !json_body => {
            drop(tx);
            let errors = web::page::public_messages(&state.messages, &errors);
            let page =
                PublicJob { token, posting, education: crate::domain::EDUCATION, errors, received: false, typed: form };
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads the page's multipart form: its text fields and at most one file (over the size
/// limit is refused before it is all read).
async fn read_multipart(
    state: &AppState,
    request: axum::extract::Request,
) -> AppResult<(ApplicationForm, Option<ResumeFile>)> {
    let bad = |detail: String| web::AppError::from(DomainError::invalid("body", "error.hr.form_body", detail));
    let mut multipart = axum::extract::Multipart::from_request(request, state).await.map_err(|e| bad(e.to_string()))?;
    let mut form = ApplicationForm::default();
    let mut file = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| bad(e.to_string()))? {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("").to_string();
            let content_type = field.content_type().unwrap_or("").to_string();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| bad(e.to_string()))? {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > recruiting::MAX_FILE_BYTES {
                    break;
                }
            }
            if !file_name.is_empty() && !bytes.is_empty() {
                file = Some(ResumeFile { name: file_name, content_type, bytes });
            }
            continue;
        }
        let value = field.text().await.map_err(|e| bad(e.to_string()))?;
        if value.len() > 100_000 {
            return Err(bad(format!("{name} is too long")));
        }
        match name.as_str() {
            "name" => form.name = value,
            "mobile" => form.mobile = value,
            "email" => form.email = value,
            "years" => form.years = value,
            "education" => form.education = value,
            "resume" => form.resume = value,
            "website" => form.website = value,
            _ => {}
        }
    }
    Ok((form, file))
}

// ---- Staff pages ----

#[derive(Template)]
#[template(path = "hr/recruiting.html")]
struct PostingsPage {
    page: PageCtx,
    postings: Vec<Posting>,
    requisitions: Vec<crate::planning::Requisition>,
    education: [&'static str; 5],
    stages: [&'static str; 5],
    refused: Refused,
    can_manage: bool,
}

impl PostingsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }
}

async fn postings_view(ctx: &Ctx, refused: Refused) -> AppResult<PostingsPage> {
    let mut conn = conn(ctx).await?;
    let postings = recruiting::postings(&mut conn, &ctx.principal).await?;
    let requisitions = crate::planning::requisitions(&mut conn, &ctx.principal, None)
        .await?
        .into_iter()
        .filter(|r| r.status == "approved")
        .collect();
    drop(conn);
    Ok(PostingsPage {
        page: PageCtx::new(ctx, "hr.recruiting", "/hr/recruiting").await?,
        postings,
        requisitions,
        education: crate::domain::EDUCATION,
        stages: recruiting::STAGES,
        refused,
        can_manage: ctx.principal.may(crate::planning::PLAN_MANAGE),
    })
}

async fn postings_page(ctx: Ctx) -> AppResult<Response> {
    render(&postings_view(&ctx, Refused::default()).await?)
}

#[derive(Template)]
#[template(path = "hr/posting.html")]
struct PostingPage {
    page: PageCtx,
    posting: Posting,
    candidates: Vec<Candidate>,
    refused: Refused,
    can_manage: bool,
    today: String,
}

impl PostingPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    /// What one candidate's refused form held in `field` when it was that `action`'s form (an
    /// interview's notes are not an offer's), else `usual`.
    fn typed(&self, candidate: &i64, action: &str, field: &str, usual: &str) -> String {
        self.refused.typed_in(&format!("application-{candidate}"), action, field, usual)
    }
}

async fn posting_view(ctx: &Ctx, id: i64, refused: Refused) -> AppResult<PostingPage> {
    let mut conn = conn(ctx).await?;
    let posting = recruiting::postings(&mut conn, &ctx.principal).await?.into_iter().find(|p| p.id == id);
    let posting = posting.ok_or(DomainError::NotFound("posting"))?;
    let candidates = recruiting::candidates(&mut conn, &ctx.principal, Some(id)).await?;
    drop(conn);
    Ok(PostingPage {
        page: PageCtx::new(ctx, "hr.recruiting", "/hr/recruiting")
            .await?
            .titled(format!("{} {}", posting.number, posting.title)),
        posting,
        candidates,
        refused,
        can_manage: ctx.principal.may(crate::planning::PLAN_MANAGE),
        today: ctx.today().to_string(),
    })
}

async fn posting_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    render(&posting_view(&ctx, id, Refused::default()).await?)
}

async fn recruiting_action_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let action = pairs.text("action");
    let application = id_of(&pairs, "application_id");
    let posting = id_of(&pairs, "posting_id");
    let outcome = match action.as_str() {
        "posting" => {
            let form = PostingForm {
                requisition_id: id_of(&pairs, "requisition_id"),
                title: pairs.text("title"),
                description: pairs.text("description"),
                keywords: pairs.text("keywords"),
                min_years: pairs.get("min_years").and_then(|y| y.trim().parse().ok()).unwrap_or(-1),
                education: pairs.text("education"),
            };
            recruiting::create_posting(&mut tx, &ctx.principal, &form).await.map(|_| ())
        }
        "stage" => recruiting::advance(&mut tx, &ctx.principal, application, &pairs.text("stage")).await,
        "interview" => {
            let form = InterviewForm {
                kind: pairs.text("kind"),
                interviewer: pairs.text("interviewer"),
                score: pairs.get("score").and_then(|s| s.trim().parse().ok()).unwrap_or(0),
                notes: pairs.text("notes"),
            };
            recruiting::record_interview(&mut tx, &ctx.principal, application, &form).await
        }
        "offer" => {
            let form = recruiting::OfferForm {
                base_salary: pairs.text("base_salary"),
                target_bonus: pairs.text("target_bonus"),
                start_date: pairs.text("start_date"),
                expires_on: pairs.text("expires_on"),
                contract_kind: pairs.text("contract_kind"),
                contract_end: pairs.text("contract_end"),
                notes: pairs.text("notes"),
            };
            recruiting::make_offer(&mut tx, &ctx.principal, application, &form).await
        }
        "accept" | "decline" => {
            recruiting::answer_offer(&mut tx, &ctx.principal, application, action == "accept").await
        }
        "hire" => {
            let terms = recruiting::HireTerms {
                hire_date: pairs.text("hire_date"),
                base_salary: pairs.text("base_salary"),
                contract_kind: pairs.text("contract_kind"),
                contract_end: pairs.text("contract_end"),
                id_number: pairs.text("id_number"),
                ..Default::default()
            };
            recruiting::hire(&mut tx, &ctx.principal, application, &terms).await.map(|_| ())
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    if action == "posting" {
        finish_page(&ctx, tx, outcome, ("/hr/recruiting", "posting"), pairs, async |refused| {
            postings_view(&ctx, refused).await
        })
        .await
    } else {
        let to = format!("/hr/recruiting/{posting}");
        let form = format!("application-{application}");
        finish_page(&ctx, tx, outcome, (&to, &form), pairs, async |refused| posting_view(&ctx, posting, refused).await)
            .await
    }
}

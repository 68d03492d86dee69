//! The shell's own routes: login and logout, language and company switches, the home page,
//! health, metrics, the OpenAPI document and static files; and the request layer
//! ([`identify`]) around every route, which finishes each response with [`finish`], rendering
//! errors in the request's language.

use crate::accounts;
use crate::auth::{self, Ctx, RequestInfo, FLASH_COOKIE, LANG_COOKIE, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::{AppError, AppResult, PendingError};
use crate::extract::HtmlForm;
use crate::openapi::{self, ApiRoute};
use crate::page::{render, render_status, PageCtx};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::{DomainError, Lang};
use serde::Deserialize;
use serde_json::json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", post(switch_language))
        .route("/company", post(switch_company))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/me", get(me))
        .route("/static/app.css", get(stylesheet))
}

pub(crate) fn docs() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: "GET",
            path: "/api/v1/openapi.json",
            summary: "This document",
            tag: "platform",
            permission: None,
            query: &[],
            request: None,
            response: openapi::object,
        },
        ApiRoute {
            method: "GET",
            path: "/api/v1/me",
            summary: "Who the token or session belongs to, with its grants",
            tag: "platform",
            permission: None,
            query: &[],
            request: None,
            response: openapi::object,
        },
    ]
}

/// The request layer. Order of work: a request id, the language, identity (bearer token or
/// session), the CSRF check on unsafe methods, the handler, then rendering of any error in
/// the request's language, and one structured log line.
pub async fn identify(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| accounts::random_hex(8));
    let method = request.method().clone();
    let target = request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let path = request.uri().path().to_string();
    let (response, info) = match auth::identify_inner(&state, request).await {
        Ok((mut request, info)) => {
            request.extensions_mut().insert(info.clone());
            (next.run(request).await, info)
        }
        Err((error, info)) => (axum::response::IntoResponse::into_response(error), info),
    };
    let mut response = finish(&state, &info, &path, &target, response);
    if let Ok(value) = header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        user = info.principal.as_ref().map(|p| p.login.as_str()).unwrap_or("-"),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// Renders a pending error in the request's language and clears a shown flash message.
pub(crate) fn finish(
    state: &AppState,
    info: &RequestInfo,
    path: &str,
    target: &str,
    mut response: Response,
) -> Response {
    if let Some(PendingError(error)) = response.extensions_mut().remove::<PendingError>() {
        return render_error(state, info, path, target, &error);
    }
    if info.flash.is_some() && response.status() == StatusCode::OK {
        if let Ok(v) = header::HeaderValue::from_str(&auth::set_cookie(state, FLASH_COOKIE, "", Some(0))) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn render_error(state: &AppState, info: &RequestInfo, path: &str, target: &str, error: &AppError) -> Response {
    let status = error.status();
    let (key, detail) = error.message();
    let message = state.messages.format(info.lang, key, &detail);
    if auth::is_api(path) {
        let errors: Vec<_> = error
            .field_errors()
            .iter()
            .map(|f| json!({"field": f.field, "code": f.key, "message": state.messages.format(info.lang, f.key, &f.detail)}))
            .collect();
        let mut body = json!({
            "type": error.problem_type(),
            "title": state.messages.get(Lang::En, key).replace("{0}", &detail),
            "status": status.as_u16(),
            "detail": message,
            "instance": path,
        });
        if !errors.is_empty() {
            body["errors"] = json!(errors);
        }
        if let AppError::Domain(DomainError::StaleVersion { expected, actual, .. }) = error {
            body["expected_version"] = json!(expected);
            body["current_version"] = json!(actual);
        }
        return (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response();
    }
    if matches!(error, AppError::Domain(DomainError::Unauthenticated)) {
        let next = crate::page::url_component(target);
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    let page = PageCtx::public(state.messages.clone(), info.lang, "error.title", info.csrf.clone());
    let template = ErrorPage { page, status: status.as_u16(), message };
    match template.render() {
        Ok(html) => (status, axum::response::Html(html)).into_response(),
        Err(_) => (status, message_text(state, info.lang)).into_response(),
    }
}

fn message_text(state: &AppState, lang: Lang) -> String {
    state.messages.get(lang, "error.internal")
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: PageCtx,
    status: u16,
    message: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageCtx,
}

async fn home(ctx: Ctx) -> AppResult<Response> {
    render(&HomePage { page: PageCtx::new(&ctx, "home.title", "/").await? })
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageCtx,
    next: String,
    login: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths are followed after login, so a link cannot send a user elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        // A browser drops tabs and newlines, so "/\t/evil.example" would become "//evil.example".
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

async fn login_page(
    State(state): State<AppState>,
    info: RequestInfo,
    Query(query): Query<NextQuery>,
) -> AppResult<Response> {
    if info.principal.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let csrf = if info.csrf.is_empty() { accounts::random_hex(16) } else { info.csrf.clone() };
    let page = PageCtx::public(state.messages.clone(), info.lang, "login.title", csrf.clone());
    let mut response =
        render(&LoginPage { page, next: safe_next(query.next.as_deref()), login: String::new(), error: None })?;
    if info.csrf.is_empty() {
        let cookie = auth::set_cookie(&state, PRE_SESSION_CSRF_COOKIE, &csrf, Some(3600));
        response
            .headers_mut()
            .append(header::SET_COOKIE, header::HeaderValue::from_str(&cookie).map_err(|_| AppError::NotFound)?);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    info: RequestInfo,
    HtmlForm(form): HtmlForm<LoginForm>,
) -> AppResult<Response> {
    match accounts::login(&state.db, &form.login, &form.password).await {
        Ok(session) => {
            let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
            let cookies = [
                auth::set_cookie(&state, SESSION_COOKIE, &session.token, Some(accounts::SESSION_HOURS * 3600)),
                auth::set_cookie(&state, PRE_SESSION_CSRF_COOKIE, "", Some(0)),
            ];
            for c in cookies {
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, header::HeaderValue::from_str(&c).map_err(|_| AppError::NotFound)?);
            }
            Ok(response)
        }
        Err(db::Error::Domain(e @ (DomainError::Unauthenticated | DomainError::Throttled))) => {
            let (status, key) = match e {
                DomainError::Throttled => (StatusCode::TOO_MANY_REQUESTS, "login.throttled"),
                _ => (StatusCode::UNAUTHORIZED, "login.failed"),
            };
            let page = PageCtx::public(state.messages.clone(), info.lang, "login.title", info.csrf.clone());
            let error = Some(page.t(key));
            render_status(
                status,
                &LoginPage {
                    page,
                    next: safe_next(form.next.as_deref()),
                    login: form.login.chars().take(64).collect(),
                    error,
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(State(state): State<AppState>, info: RequestInfo) -> AppResult<Response> {
    if let Some(session) = &info.session {
        accounts::end_session(&state.db, &session.token_hash).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    let cookie = auth::set_cookie(&state, SESSION_COOKIE, "", Some(0));
    response
        .headers_mut()
        .append(header::SET_COOKIE, header::HeaderValue::from_str(&cookie).map_err(|_| AppError::NotFound)?);
    Ok(response)
}

#[derive(Deserialize)]
struct LangForm {
    lang: String,
    next: Option<String>,
}

async fn switch_language(
    State(state): State<AppState>,
    info: RequestInfo,
    HtmlForm(form): HtmlForm<LangForm>,
) -> AppResult<Response> {
    let lang = Lang::from_tag(&form.lang);
    if let Some(principal) = &info.principal {
        accounts::set_language(&state.db, principal.user_id.0, lang).await?;
    }
    let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let cookie = auth::set_cookie(&state, LANG_COOKIE, lang.tag(), Some(365 * 24 * 3600));
    response
        .headers_mut()
        .append(header::SET_COOKIE, header::HeaderValue::from_str(&cookie).map_err(|_| AppError::NotFound)?);
    Ok(response)
}

#[derive(Deserialize)]
struct CompanyForm {
    company_id: i64,
}

async fn switch_company(ctx: Ctx, HtmlForm(form): HtmlForm<CompanyForm>) -> AppResult<Response> {
    let session = ctx.session.clone().ok_or(DomainError::Unauthenticated)?;
    accounts::switch_company(ctx.db(), &session, form.company_id).await?;
    Ok(Redirect::to("/").into_response())
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => {
            (StatusCode::OK, Json(json!({"status": "ok", "database": state.db.dialect().name()}))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable"}))).into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> AppResult<Response> {
    let mut text = state.metrics.render();
    let (size, idle) = state.db.pool_stats();
    text += &format!(
        "# HELP db_pool_connections Open database connections.\n# TYPE db_pool_connections gauge\ndb_pool_connections{{state=\"idle\"}} {idle}\ndb_pool_connections{{state=\"busy\"}} {}\n",
        (size as usize).saturating_sub(idle)
    );
    let (pending, age) = db::events::outbox_lag(&state.db).await?;
    text += &format!(
        "# HELP outbox_pending_events Events not yet dispatched.\n# TYPE outbox_pending_events gauge\noutbox_pending_events {pending}\n\
         # HELP outbox_oldest_pending_seconds Age of the oldest undispatched event.\n# TYPE outbox_oldest_pending_seconds gauge\noutbox_oldest_pending_seconds {age}\n"
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn openapi_json(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(openapi::document(&state.api))
}

async fn me(ctx: Ctx) -> Json<serde_json::Value> {
    Json(json!({
        "user_id": ctx.principal.user_id,
        "login": ctx.principal.login,
        "company_id": ctx.principal.company_id,
        "is_admin": ctx.principal.is_admin,
        "grants": ctx.principal.grants(),
        "lang": ctx.lang.tag(),
    }))
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/app.css"),
    )
        .into_response()
}

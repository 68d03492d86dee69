//! Administration API: the same operations as the administration pages, as JSON.

use crate::accounts::{self, RoleForm, UserForm, UserUpdate};
use crate::admin::{
    audit_filter, ensure_grants_within_reach, ensure_roles_within_reach, ensure_user_in_company, AuditQuery, AUDIT,
    COMPANIES, ROLES, TOKENS, USERS, WEBHOOKS,
};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::openapi::{object, ApiRoute};
use crate::state::AppState;
use crate::webhooks::{self, WebhookForm};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use kernel::{DomainError, Grant};
use serde::Deserialize;
use serde_json::{json, Value};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/companies", get(list_companies).post(create_company))
        .route("/api/v1/users/{id}/companies", put(set_user_companies))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", get(get_user).patch(update_user))
        .route("/api/v1/users/{id}/password", post(reset_password))
        .route("/api/v1/roles", get(list_roles).post(create_role))
        .route("/api/v1/roles/{id}/grants", put(set_grants))
        .route("/api/v1/permissions", get(list_permissions))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/api/v1/audit", get(audit_log))
        .route("/api/v1/webhooks", get(list_webhooks).post(create_webhook))
        .route("/api/v1/webhooks/{id}/deliveries", get(webhook_deliveries))
}

fn user_schema() -> Value {
    json!({"type": "object", "required": ["login", "display_name", "password"], "properties": {
        "login": {"type": "string"}, "display_name": {"type": "string"}, "email": {"type": ["string", "null"]},
        "password": {"type": "string", "minLength": accounts::MIN_PASSWORD}, "team": {"type": ["string", "null"]},
        "department": {"type": ["string", "null"]}, "roles": {"type": "array", "items": {"type": "string"}},
        "is_admin": {"type": "boolean"}, "lang": {"enum": ["zh-CN", "en"]}}})
}

fn user_update_schema() -> Value {
    json!({"type": "object", "required": ["version"], "properties": {
        "version": {"type": "integer"}, "display_name": {"type": "string"}, "email": {"type": ["string", "null"]},
        "team": {"type": ["string", "null"]}, "department": {"type": ["string", "null"]},
        "roles": {"type": "array", "items": {"type": "string"}}, "disabled": {"type": "boolean"}, "is_admin": {"type": "boolean"}}})
}

fn role_schema() -> Value {
    json!({"type": "object", "required": ["code", "name"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
        "grants": {"type": "array", "items": {"type": "object", "properties": {"permission": {"type": "string"}, "scope": {"enum": ["own", "team", "department", "company"]}}}}}})
}

fn grants_schema() -> Value {
    json!({"type": "array", "items": {"type": "object", "properties": {"permission": {"type": "string"}, "scope": {"enum": ["own", "team", "department", "company"]}}}})
}

fn token_schema() -> Value {
    json!({"type": "object", "required": ["user_id", "name"], "properties": {"user_id": {"type": "integer"}, "name": {"type": "string"}}})
}

fn webhook_schema() -> Value {
    json!({"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}, "event_types": {"type": "string", "description": "comma separated, or *"}}})
}

fn company_schema() -> Value {
    json!({"type": "object", "required": ["legal_name", "short_name"], "properties": {
        "legal_name": {"type": "string"}, "short_name": {"type": "string"}, "credit_code": {"type": ["string", "null"]},
        "base_currency": {"type": "string", "default": "CNY"}, "time_zone": {"enum": accounts::TIME_ZONES}}})
}

fn company_ids_schema() -> Value {
    json!({"type": "array", "items": {"type": "integer"}})
}

fn password_schema() -> Value {
    json!({"type": "object", "required": ["password"], "properties": {"password": {"type": "string"}}})
}

pub(crate) fn docs() -> Vec<ApiRoute> {
    let route = |method, path, summary, permission, request: Option<fn() -> Value>| ApiRoute {
        method,
        path,
        summary,
        tag: "administration",
        permission: Some(permission),
        query: &[],
        request,
        response: object,
    };
    let mut audit = route("GET", "/api/v1/audit", "Read the audit log, newest first", AUDIT, None);
    audit.query = &[
        ("user_id", "Only this user's actions"),
        ("resource", "e.g. party.party"),
        ("resource_id", "One record"),
        ("from", "First day, YYYY-MM-DD"),
        ("until", "Last day, YYYY-MM-DD"),
        ("before", "Sequence number to page from (next_before of the previous page)"),
        ("limit", "1–1000, default 100"),
    ];
    vec![
        route("GET", "/api/v1/companies", "The companies the caller may enter", COMPANIES, None),
        route(
            "POST",
            "/api/v1/companies",
            "Create a company (the caller gets access to it)",
            COMPANIES,
            Some(company_schema),
        ),
        route(
            "PUT",
            "/api/v1/users/{id}/companies",
            "Set which of the caller's companies a user may enter",
            USERS,
            Some(company_ids_schema),
        ),
        route("GET", "/api/v1/users", "List the company's users", USERS, None),
        route("POST", "/api/v1/users", "Create a user", USERS, Some(user_schema)),
        route("GET", "/api/v1/users/{id}", "Read a user", USERS, None),
        route(
            "PATCH",
            "/api/v1/users/{id}",
            "Change a user (roles, disable, …); `version` must be current",
            USERS,
            Some(user_update_schema),
        ),
        route(
            "POST",
            "/api/v1/users/{id}/password",
            "Reset a user's password (ends their sessions)",
            USERS,
            Some(password_schema),
        ),
        route("GET", "/api/v1/roles", "List roles with their grants", ROLES, None),
        route("POST", "/api/v1/roles", "Create a role", ROLES, Some(role_schema)),
        route("PUT", "/api/v1/roles/{id}/grants", "Replace a role's grants", ROLES, Some(grants_schema)),
        route("GET", "/api/v1/permissions", "Every permission the running modules check", ROLES, None),
        route("GET", "/api/v1/tokens", "List API tokens (never their secrets)", TOKENS, None),
        route(
            "POST",
            "/api/v1/tokens",
            "Create an API token; the secret is in this response only",
            TOKENS,
            Some(token_schema),
        ),
        route("DELETE", "/api/v1/tokens/{id}", "Revoke an API token", TOKENS, None),
        audit,
        route("GET", "/api/v1/webhooks", "List webhooks", WEBHOOKS, None),
        route(
            "POST",
            "/api/v1/webhooks",
            "Register a webhook; the signing secret is in this response only",
            WEBHOOKS,
            Some(webhook_schema),
        ),
        route("GET", "/api/v1/webhooks/{id}/deliveries", "Delivery log of a webhook", WEBHOOKS, None),
    ]
}

fn parse_id(id: &str, what: &'static str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::Domain(DomainError::NotFound(what)))
}

async fn list_users(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(USERS)?;
    Ok(Json(json!({"items": accounts::list_users(ctx.db(), ctx.company_id()).await?})))
}

async fn create_user(ctx: Ctx, ApiJson(form): ApiJson<UserForm>) -> AppResult<Response> {
    ctx.require(USERS)?;
    // Only an administrator makes administrators.
    if form.is_admin && !ctx.principal.is_admin {
        return Err(DomainError::Forbidden("admin".into()).into());
    }
    ensure_roles_within_reach(&ctx, &form.roles).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = accounts::create_user(&mut tx, ctx.company_id(), &form).await?;
    tx.commit().await?;
    let user = accounts::get_user(ctx.db(), id).await?;
    Ok((StatusCode::CREATED, Json(json!(user))).into_response())
}

async fn get_user(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    ctx.require(USERS)?;
    let id = parse_id(&id, "user")?;
    ensure_user_in_company(&ctx, id).await?;
    Ok(Json(json!(accounts::get_user(ctx.db(), id).await?)))
}

async fn update_user(ctx: Ctx, Path(id): Path<String>, ApiJson(update): ApiJson<UserUpdate>) -> AppResult<Json<Value>> {
    ctx.require(USERS)?;
    let id = parse_id(&id, "user")?;
    ensure_user_in_company(&ctx, id).await?;
    if update.is_admin.is_some() && !ctx.principal.is_admin {
        return Err(DomainError::Forbidden("admin".into()).into());
    }
    if id == ctx.principal.user_id.0 && update.disabled == Some(true) {
        // Disabling oneself could lock the last administrator out.
        return Err(DomainError::Conflict("a user cannot disable themself".into()).into());
    }
    ensure_roles_within_reach(&ctx, update.roles.as_deref().unwrap_or_default()).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    accounts::update_user(&mut tx, id, &update).await?;
    tx.commit().await?;
    Ok(Json(json!(accounts::get_user(ctx.db(), id).await?)))
}

#[derive(Deserialize)]
struct PasswordBody {
    password: String,
}

async fn reset_password(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> AppResult<Json<Value>> {
    ctx.require(USERS)?;
    let id = parse_id(&id, "user")?;
    ensure_user_in_company(&ctx, id).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    accounts::set_password(&mut tx, id, &body.password).await?;
    tx.commit().await?;
    Ok(Json(json!({"ok": true})))
}

async fn list_roles(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(ROLES)?;
    Ok(Json(json!({"items": accounts::list_roles(ctx.db()).await?})))
}

async fn create_role(ctx: Ctx, ApiJson(form): ApiJson<RoleForm>) -> AppResult<Response> {
    ctx.require(ROLES)?;
    ensure_grants_within_reach(&ctx, &form.grants)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = accounts::create_role(&mut tx, &ctx.state.permissions, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn set_grants(ctx: Ctx, Path(id): Path<String>, ApiJson(grants): ApiJson<Vec<Grant>>) -> AppResult<Json<Value>> {
    ctx.require(ROLES)?;
    let id = parse_id(&id, "role")?;
    ensure_grants_within_reach(&ctx, &grants)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    accounts::set_grants(&mut tx, &ctx.state.permissions, id, &grants).await?;
    tx.commit().await?;
    Ok(Json(json!({"ok": true})))
}

async fn list_permissions(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(ROLES)?;
    let items: Vec<Value> =
        ctx.state.permissions.iter().map(|p| json!({"permission": p, "label": ctx.t(&format!("perm.{p}"))})).collect();
    Ok(Json(json!({"items": items})))
}

async fn list_tokens(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(TOKENS)?;
    Ok(Json(json!({"items": accounts::list_tokens(ctx.db(), ctx.company_id(), None).await?})))
}

#[derive(Deserialize)]
struct TokenBody {
    user_id: i64,
    name: String,
}

async fn create_token(ctx: Ctx, ApiJson(body): ApiJson<TokenBody>) -> AppResult<Response> {
    ctx.require(TOKENS)?;
    ensure_user_in_company(&ctx, body.user_id).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let (id, secret) = accounts::create_token(&mut tx, body.user_id, &body.name).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "token": secret}))).into_response())
}

async fn revoke_token(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    ctx.require(TOKENS)?;
    let id = parse_id(&id, "token")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    accounts::revoke_token(&mut tx, ctx.company_id(), id, None).await?;
    tx.commit().await?;
    Ok(Json(json!({"ok": true})))
}

async fn audit_log(ctx: Ctx, Query(query): Query<Vec<(String, String)>>) -> AppResult<Json<Value>> {
    ctx.require(AUDIT)?;
    let query = AuditQuery::parse(&query)?;
    let filter = audit_filter(&ctx, &query)?;
    let rows = db::audit::list(ctx.db(), &filter).await?;
    let next_before = if rows.len() as i64 == filter.limit { rows.last().map(|r| r.record.seq) } else { None };
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "seq": r.record.seq, "at": r.record.at, "actor": r.record.actor, "actor_id": r.record.actor_id,
                "action": r.record.action, "resource": r.record.resource, "resource_id": r.record.resource_id,
                "changes": serde_json::from_str::<Value>(&r.record.changes).unwrap_or(Value::Null), "hash": r.hash,
            })
        })
        .collect();
    Ok(Json(json!({"items": items, "next_before": next_before})))
}

async fn list_webhooks(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(WEBHOOKS)?;
    Ok(Json(json!({"items": webhooks::list_webhooks(ctx.db(), ctx.company_id()).await?})))
}

async fn create_webhook(ctx: Ctx, ApiJson(form): ApiJson<WebhookForm>) -> AppResult<Response> {
    ctx.require(WEBHOOKS)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let (id, secret) = webhooks::create_webhook(&mut tx, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "secret": secret}))).into_response())
}

async fn webhook_deliveries(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    ctx.require(WEBHOOKS)?;
    let id = parse_id(&id, "webhook")?;
    Ok(Json(json!({"items": webhooks::deliveries(ctx.db(), ctx.company_id(), id).await?})))
}

async fn list_companies(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(COMPANIES)?;
    Ok(Json(json!({"items": accounts::list_companies(ctx.db(), ctx.principal.user_id.0).await?})))
}

async fn create_company(ctx: Ctx, ApiJson(form): ApiJson<accounts::CompanyForm>) -> AppResult<Response> {
    ctx.require(COMPANIES)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = accounts::create_company(&mut tx, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn set_user_companies(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(chosen): ApiJson<Vec<i64>>,
) -> AppResult<Json<Value>> {
    ctx.require(USERS)?;
    let id = parse_id(&id, "user")?;
    ensure_user_in_company(&ctx, id).await?;
    let visible = accounts::company_ids_of(ctx.db(), ctx.principal.user_id.0).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    accounts::set_user_companies(&mut tx, id, &visible, &chosen).await?;
    tx.commit().await?;
    Ok(Json(json!({"companies": accounts::company_ids_of(ctx.db(), id).await?})))
}

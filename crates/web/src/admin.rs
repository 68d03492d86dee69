//! Administration pages: users, roles and grants, API tokens, the audit log, webhooks.
//! Each page calls the same `accounts` and `webhooks` functions as the API.

use crate::accounts::{self, RoleForm, User, UserForm, UserUpdate};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::FormPairs;
use crate::page::{
    flash_redirect, history, history_entry, local_time, render, render_status, FieldView, FormBuilder, HistoryEntry,
    PageCtx, Refused,
};
use crate::state::AppState;
use crate::webhooks::{self, Delivery, Webhook, WebhookForm};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{Duration, NaiveDate};
use db::RowExt;
use kernel::error::FieldError;
use kernel::{DomainError, Grant, Scope};

/// The permissions of administration, checked by these pages and by the administration API.
pub const USERS: &str = "web.user.manage";
pub const ROLES: &str = "web.role.manage";
pub const TOKENS: &str = "web.token.manage";
pub const AUDIT: &str = "web.audit.read";
pub const WEBHOOKS: &str = "web.webhook.manage";
pub const COMPANIES: &str = "web.company.manage";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/companies", get(companies).post(create_company))
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/new", get(new_user))
        .route("/admin/users/{id}", get(user).post(save_user))
        .route("/admin/users/{id}/password", post(reset_password))
        .route("/admin/roles", get(roles).post(create_role))
        .route("/admin/roles/new", get(new_role))
        .route("/admin/roles/{id}", get(role).post(save_role))
        .route("/admin/tokens", get(tokens).post(create_token))
        .route("/admin/tokens/{id}/revoke", post(revoke_token))
        .route("/admin/audit", get(audit))
        .route("/admin/webhooks", get(webhook_list).post(create_webhook))
        .route("/admin/webhooks/{id}", get(webhook_detail))
        .route("/admin/webhooks/{id}/active", post(toggle_webhook))
}

fn parse_id(id: &str, what: &'static str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::Domain(DomainError::NotFound(what)))
}

/// Whether the caller may manage this user: the user must belong to the caller's company (a
/// user outside it does not exist for them), may not reach into companies the caller cannot
/// enter (or resetting their password would open those), and only an administrator manages
/// an administrator.
pub(crate) async fn ensure_user_in_company(ctx: &Ctx, user_id: i64) -> AppResult<()> {
    let theirs = accounts::company_ids_of(ctx.db(), user_id).await?;
    if !theirs.contains(&ctx.company_id()) {
        return Err(AppError::Domain(DomainError::NotFound("user")));
    }
    if ctx.principal.is_admin {
        return Ok(());
    }
    let mine = accounts::company_ids_of(ctx.db(), ctx.principal.user_id.0).await?;
    let target = accounts::get_user(ctx.db(), user_id).await?;
    if target.is_admin || theirs.iter().any(|c| !mine.contains(c)) {
        return Err(AppError::Domain(DomainError::Forbidden("admin".into())));
    }
    Ok(())
}

/// Roles a non-administrator hands out may grant only what the caller holds, at no wider scope.
pub(crate) async fn ensure_roles_within_reach(ctx: &Ctx, codes: &[String]) -> AppResult<()> {
    if ctx.principal.is_admin {
        return Ok(());
    }
    let roles = accounts::list_roles(ctx.db()).await?;
    for code in codes {
        if let Some(role) = roles.iter().find(|r| &r.code == code) {
            ensure_grants_within_reach(ctx, &role.grants)?;
        }
    }
    Ok(())
}

/// Grants a non-administrator writes into a role must be ones the caller holds, at no wider scope.
pub(crate) fn ensure_grants_within_reach(ctx: &Ctx, grants: &[Grant]) -> AppResult<()> {
    if ctx.principal.is_admin {
        return Ok(());
    }
    for grant in grants {
        match ctx.principal.authorize(&grant.permission) {
            Ok(scope) if scope >= grant.scope => {}
            _ => return Err(AppError::Domain(DomainError::Forbidden(grant.permission.clone()))),
        }
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: PageCtx,
    users: Vec<User>,
}

async fn users(ctx: Ctx) -> AppResult<Response> {
    ctx.require(USERS)?;
    let users = accounts::list_users(ctx.db(), ctx.company_id()).await?;
    render(&UsersPage { page: PageCtx::new(&ctx, "nav.users", "/admin/users").await?, users })
}

#[derive(Template)]
#[template(path = "admin/form.html")]
struct FormPage {
    page: PageCtx,
    action: String,
    fields: Vec<FieldView>,
    general_errors: Vec<String>,
    hidden: Vec<(String, String)>,
    history: Vec<HistoryEntry>,
    extra: Option<ExtraForm>,
}

/// A second, smaller form below the main one (the password reset).
struct ExtraForm {
    title: String,
    action: String,
    fields: Vec<FieldView>,
}

async fn role_choices(ctx: &Ctx, selected: &[String]) -> AppResult<Vec<(String, String, bool)>> {
    Ok(accounts::list_roles(ctx.db())
        .await?
        .into_iter()
        .map(|r| {
            let checked = selected.contains(&r.code);
            (r.code, r.name, checked)
        })
        .collect())
}

async fn user_form_page(ctx: &Ctx, form: &UserForm, errors: &[FieldError]) -> AppResult<FormPage> {
    let roles = role_choices(ctx, &form.roles).await?;
    let mut b = FormBuilder::new(ctx, errors);
    b.field("text", "login", "user.login", &form.login, true);
    b.field("text", "display_name", "user.display_name", &form.display_name, true);
    b.field("email", "email", "user.email", form.email.as_deref().unwrap_or(""), false);
    b.field("password", "password", "user.password", "", true);
    b.field("text", "team", "user.team", form.team.as_deref().unwrap_or(""), false);
    b.field("text", "department", "user.department", form.department.as_deref().unwrap_or(""), false);
    b.choice("checkboxes", "roles", "user.roles", roles);
    if ctx.principal.is_admin {
        b.field("checkbox", "is_admin", "user.is_admin", if form.is_admin { "true" } else { "" }, false);
    }
    let general_errors = b.general_errors();
    Ok(FormPage {
        page: PageCtx::new(ctx, "user.new", "/admin/users").await?,
        action: "/admin/users".into(),
        fields: b.finish(),
        general_errors,
        hidden: Vec::new(),
        history: Vec::new(),
        extra: None,
    })
}

async fn new_user(ctx: Ctx) -> AppResult<Response> {
    ctx.require(USERS)?;
    render(&user_form_page(&ctx, &UserForm::default(), &[]).await?)
}

fn blank_none(value: String) -> Option<String> {
    Some(value).filter(|v| !v.trim().is_empty())
}

async fn create_user(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(USERS)?;
    let form = UserForm {
        login: pairs.text("login"),
        display_name: pairs.text("display_name"),
        email: blank_none(pairs.text("email")),
        password: pairs.text("password"),
        team: blank_none(pairs.text("team")),
        department: blank_none(pairs.text("department")),
        roles: pairs.all("roles"),
        is_admin: ctx.principal.is_admin && pairs.get("is_admin") == Some("true"),
        lang: None,
    };
    ensure_roles_within_reach(&ctx, &form.roles).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match accounts::create_user(&mut tx, ctx.company_id(), &form).await {
        Ok(id) => {
            tx.commit().await?;
            Ok(flash_redirect(&ctx, &format!("/admin/users/{id}"), "common.created"))
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &user_form_page(&ctx, &form, &errors).await?)
        }
        Err(e) => Err(e.into()),
    }
}

async fn user_edit_page(ctx: &Ctx, user: &User, errors: &[FieldError]) -> AppResult<FormPage> {
    let roles = role_choices(ctx, &user.roles).await?;
    let mut b = FormBuilder::new(ctx, errors);
    b.field("text", "display_name", "user.display_name", &user.display_name, true);
    b.field("email", "email", "user.email", user.email.as_deref().unwrap_or(""), false);
    b.field("text", "team", "user.team", user.team.as_deref().unwrap_or(""), false);
    b.field("text", "department", "user.department", user.department.as_deref().unwrap_or(""), false);
    b.choice("checkboxes", "roles", "user.roles", roles);
    let theirs = accounts::company_ids_of(ctx.db(), user.id).await?;
    let companies = accounts::companies_of(ctx.db(), ctx.principal.user_id.0)
        .await?
        .into_iter()
        .map(|(id, name)| (id.to_string(), name, theirs.contains(&id)))
        .collect();
    b.choice("checkboxes", "companies", "user.companies", companies);
    b.field("checkbox", "disabled", "user.disable", if user.disabled { "true" } else { "" }, false);
    if ctx.principal.is_admin {
        b.field("checkbox", "is_admin", "user.is_admin", if user.is_admin { "true" } else { "" }, false);
    }
    let general_errors = b.general_errors();
    let mut password = FormBuilder::new(ctx, errors);
    password.field("password", "password", "user.new_password", "", true);
    Ok(FormPage {
        page: PageCtx::new(ctx, "nav.users", "/admin/users")
            .await?
            .titled(format!("{} ({})", user.display_name, user.login)),
        action: format!("/admin/users/{}", user.id),
        fields: b.finish(),
        general_errors,
        hidden: vec![("version".into(), user.version.to_string())],
        history: history(ctx, "web.user", &user.id.to_string()).await?,
        extra: Some(ExtraForm {
            title: ctx.t("user.reset_password"),
            action: format!("/admin/users/{}/password", user.id),
            fields: password.finish(),
        }),
    })
}

async fn user(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    ctx.require(USERS)?;
    let id = parse_id(&id, "user")?;
    ensure_user_in_company(&ctx, id).await?;
    let user = accounts::get_user(ctx.db(), id).await?;
    render(&user_edit_page(&ctx, &user, &[]).await?)
}

async fn save_user(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(USERS)?;
    let id = parse_id(&id, "user")?;
    ensure_user_in_company(&ctx, id).await?;
    let update = UserUpdate {
        version: pairs.get("version").and_then(|v| v.parse().ok()).unwrap_or(0),
        display_name: Some(pairs.text("display_name")),
        email: Some(pairs.text("email")),
        team: Some(pairs.text("team")),
        department: Some(pairs.text("department")),
        roles: Some(pairs.all("roles")),
        disabled: Some(pairs.get("disabled") == Some("true")),
        is_admin: ctx.principal.is_admin.then(|| pairs.get("is_admin") == Some("true")),
    };
    if id == ctx.principal.user_id.0 && update.disabled == Some(true) {
        // Disabling oneself would lock the last administrator out.
        return Err(DomainError::Conflict(ctx.t("user.disable")).into());
    }
    ensure_roles_within_reach(&ctx, update.roles.as_deref().unwrap_or_default()).await?;
    let chosen: Vec<i64> = pairs.all("companies").iter().filter_map(|c| c.parse().ok()).collect();
    let visible = accounts::company_ids_of(ctx.db(), ctx.principal.user_id.0).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let saved = match accounts::update_user(&mut tx, id, &update).await {
        Ok(()) => accounts::set_user_companies(&mut tx, id, &visible, &chosen).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => {
            tx.commit().await?;
            Ok(flash_redirect(&ctx, &format!("/admin/users/{id}"), "common.saved"))
        }
        Err(db::Error::Domain(e @ (DomainError::Invalid(_) | DomainError::StaleVersion { .. }))) => {
            drop(tx);
            let errors = match e {
                DomainError::Invalid(errors) => errors,
                _ => vec![FieldError::new("version", "error.stale_version", "")],
            };
            let user = accounts::get_user(ctx.db(), id).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &user_edit_page(&ctx, &user, &errors).await?)
        }
        Err(e) => Err(e.into()),
    }
}

async fn reset_password(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(USERS)?;
    let id = parse_id(&id, "user")?;
    ensure_user_in_company(&ctx, id).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match accounts::set_password(&mut tx, id, &pairs.text("password")).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(flash_redirect(&ctx, &format!("/admin/users/{id}"), "common.saved"))
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            let user = accounts::get_user(ctx.db(), id).await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &user_edit_page(&ctx, &user, &errors).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// One permission row of the grants matrix.
struct GrantRow {
    permission: String,
    label: String,
    /// (scope value, label, selected), with "" for none.
    scopes: Vec<(String, String, bool)>,
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
struct RolesPage {
    page: PageCtx,
    roles: Vec<accounts::Role>,
}

async fn roles(ctx: Ctx) -> AppResult<Response> {
    ctx.require(ROLES)?;
    let roles = accounts::list_roles(ctx.db()).await?;
    render(&RolesPage { page: PageCtx::new(&ctx, "nav.roles", "/admin/roles").await?, roles })
}

#[derive(Template)]
#[template(path = "admin/role.html")]
struct RolePage {
    page: PageCtx,
    action: String,
    fields: Vec<FieldView>,
    rows: Vec<GrantRow>,
    general_errors: Vec<String>,
    history: Vec<HistoryEntry>,
}

fn grant_rows(ctx: &Ctx, grants: &[Grant]) -> Vec<GrantRow> {
    ctx.state
        .permissions
        .iter()
        .map(|p| {
            let current = grants.iter().find(|g| g.permission == *p).map(|g| g.scope);
            let mut scopes = vec![(String::new(), ctx.t("scope.none"), current.is_none())];
            scopes.extend(
                Scope::ALL
                    .iter()
                    .map(|s| (s.as_str().to_string(), ctx.t(&format!("scope.{}", s.as_str())), current == Some(*s))),
            );
            GrantRow { permission: p.to_string(), label: ctx.t(&format!("perm.{p}")), scopes }
        })
        .collect()
}

/// Reads the grants matrix: one `grant:<permission>` select per permission.
fn grants_from(pairs: &FormPairs) -> Result<Vec<Grant>, AppError> {
    let mut grants = Vec::new();
    for (key, value) in &pairs.0 {
        if let Some(permission) = key.strip_prefix("grant:") {
            if value.is_empty() {
                continue;
            }
            let scope = Scope::parse(value)
                .ok_or_else(|| AppError::Domain(DomainError::invalid("grants", "error.scope", value.clone())))?;
            grants.push(Grant { permission: permission.to_string(), scope });
        }
    }
    Ok(grants)
}

async fn role_page(
    ctx: &Ctx,
    role: Option<&accounts::Role>,
    form: &RoleForm,
    errors: &[FieldError],
) -> AppResult<RolePage> {
    let mut b = FormBuilder::new(ctx, errors);
    if role.is_none() {
        b.field("text", "code", "common.code", &form.code, true);
    }
    b.field("text", "name", "common.name", &form.name, true);
    b.field("text", "description", "common.description", &form.description, false);
    let general_errors = b.general_errors();
    let (title, action, history) = match role {
        Some(r) => {
            (r.name.clone(), format!("/admin/roles/{}", r.id), history(ctx, "web.role", &r.id.to_string()).await?)
        }
        None => (ctx.t("role.new"), "/admin/roles".to_string(), Vec::new()),
    };
    Ok(RolePage {
        page: PageCtx::new(ctx, "nav.roles", "/admin/roles").await?.titled(title),
        action,
        fields: b.finish(),
        rows: grant_rows(ctx, &form.grants),
        general_errors,
        history,
    })
}

async fn new_role(ctx: Ctx) -> AppResult<Response> {
    ctx.require(ROLES)?;
    render(&role_page(&ctx, None, &RoleForm::default(), &[]).await?)
}

async fn create_role(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(ROLES)?;
    let form = RoleForm {
        code: pairs.text("code"),
        name: pairs.text("name"),
        description: pairs.text("description"),
        grants: grants_from(&pairs)?,
    };
    ensure_grants_within_reach(&ctx, &form.grants)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match accounts::create_role(&mut tx, &ctx.state.permissions, &form).await {
        Ok(id) => {
            tx.commit().await?;
            Ok(flash_redirect(&ctx, &format!("/admin/roles/{id}"), "common.created"))
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &role_page(&ctx, None, &form, &errors).await?)
        }
        Err(e) => Err(e.into()),
    }
}

async fn find_role(ctx: &Ctx, id: i64) -> AppResult<accounts::Role> {
    accounts::list_roles(ctx.db())
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(AppError::Domain(DomainError::NotFound("role")))
}

async fn role(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    ctx.require(ROLES)?;
    let role = find_role(&ctx, parse_id(&id, "role")?).await?;
    let form = RoleForm {
        code: role.code.clone(),
        name: role.name.clone(),
        description: role.description.clone(),
        grants: role.grants.clone(),
    };
    render(&role_page(&ctx, Some(&role), &form, &[]).await?)
}

async fn save_role(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(ROLES)?;
    let role = find_role(&ctx, parse_id(&id, "role")?).await?;
    let grants = grants_from(&pairs)?;
    ensure_grants_within_reach(&ctx, &grants)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match accounts::set_grants(&mut tx, &ctx.state.permissions, role.id, &grants).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(flash_redirect(&ctx, &format!("/admin/roles/{}", role.id), "common.saved"))
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            let form = RoleForm {
                code: role.code.clone(),
                name: role.name.clone(),
                description: role.description.clone(),
                grants,
            };
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &role_page(&ctx, Some(&role), &form, &errors).await?)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/tokens.html")]
struct TokensPage {
    page: PageCtx,
    tokens: Vec<accounts::ApiToken>,
    users: Vec<(i64, String)>,
    new_secret: Option<String>,
    /// A refused new token: its user and name as typed, the reason beside the name.
    refused: Refused,
}

async fn tokens_page(ctx: &Ctx, new_secret: Option<String>, refused: Refused) -> AppResult<TokensPage> {
    let users = accounts::list_users(ctx.db(), ctx.company_id()).await?.into_iter().map(|u| (u.id, u.login)).collect();
    Ok(TokensPage {
        page: PageCtx::new(ctx, "nav.tokens", "/admin/tokens").await?,
        tokens: accounts::list_tokens(ctx.db(), ctx.company_id(), None).await?,
        users,
        new_secret,
        refused,
    })
}

async fn tokens(ctx: Ctx) -> AppResult<Response> {
    ctx.require(TOKENS)?;
    render(&tokens_page(&ctx, None, Refused::default()).await?)
}

async fn create_token(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(TOKENS)?;
    let user_id: i64 = pairs.get("user_id").and_then(|v| v.parse().ok()).unwrap_or(0);
    ensure_user_in_company(&ctx, user_id).await?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match accounts::create_token(&mut tx, user_id, &pairs.text("name")).await {
        Ok((_, secret)) => {
            tx.commit().await?;
            // The secret is shown on this response only; it is never stored in clear.
            render(&tokens_page(&ctx, Some(secret), Refused::default()).await?)
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            let refused = Refused::new(&ctx, "", errors, pairs);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &tokens_page(&ctx, None, refused).await?)
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke_token(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    ctx.require(TOKENS)?;
    let id = parse_id(&id, "token")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    accounts::revoke_token(&mut tx, ctx.company_id(), id, None).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, "/admin/tokens", "common.saved"))
}

/// The audit log's filters, from the page or the API.
#[derive(Debug, Default)]
pub(crate) struct AuditQuery {
    pub user_id: Option<i64>,
    pub resource: Option<String>,
    pub resource_id: Option<String>,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub before: Option<i64>,
    pub limit: i64,
}

impl AuditQuery {
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<AuditQuery, AppError> {
        let mut q = AuditQuery { limit: 100, ..Default::default() };
        let date = |v: &str| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| AppError::Domain(DomainError::invalid("date", "error.date.format", v)))
        };
        let number = |v: &str| {
            v.parse::<i64>().map_err(|_| AppError::BadListParam { key: "error.bad_limit", detail: v.to_string() })
        };
        for (key, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key.as_str() {
                "user_id" => q.user_id = Some(number(value)?),
                "resource" => q.resource = Some(value.to_string()),
                "resource_id" => q.resource_id = Some(value.to_string()),
                "from" => q.from = Some(date(value)?),
                "until" => q.until = Some(date(value)?),
                "before" => q.before = Some(number(value)?),
                "limit" => q.limit = number(value)?.clamp(1, 1000),
                other => return Err(AppError::BadListParam { key: "error.unknown_filter", detail: other.to_string() }),
            }
        }
        Ok(q)
    }
}

/// Local dates (Asia/Shanghai) become UTC bounds; `until` includes its whole day.
pub(crate) fn audit_filter(ctx: &Ctx, q: &AuditQuery) -> Result<db::audit::AuditFilter, AppError> {
    let start_of = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0).map(|t| kernel::clock::format_instant((t - Duration::hours(8)).and_utc()))
    };
    Ok(db::audit::AuditFilter {
        company_id: Some(ctx.company_id()),
        include_system: ctx.principal.is_admin,
        actor_id: q.user_id,
        resource: q.resource.clone(),
        resource_id: q.resource_id.clone(),
        from: q.from.and_then(start_of),
        until: q.until.and_then(|d| d.succ_opt()).and_then(start_of),
        before_seq: q.before,
        limit: q.limit,
    })
}

/// A row of the audit log page.
struct AuditRow {
    seq: i64,
    resource: String,
    resource_id: String,
    entry: HistoryEntry,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: PageCtx,
    rows: Vec<AuditRow>,
    users: Vec<(i64, String, bool)>,
    resources: Vec<(String, bool)>,
    from: String,
    until: String,
    next_link: Option<String>,
}

async fn audit(ctx: Ctx, Query(pairs): Query<Vec<(String, String)>>) -> AppResult<Response> {
    ctx.require(AUDIT)?;
    let q = AuditQuery::parse(&pairs)?;
    let filter = audit_filter(&ctx, &q)?;
    let records = db::audit::list(ctx.db(), &filter).await?;
    let next_link = (records.len() as i64 == filter.limit).then(|| {
        let kept: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "before").cloned().collect();
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(kept);
        if let Some(last) = records.last() {
            query.append_pair("before", &last.record.seq.to_string());
        }
        format!("/admin/audit?{}", query.finish())
    });
    let rows = records
        .iter()
        .map(|r| AuditRow {
            seq: r.record.seq,
            resource: r.record.resource.clone(),
            resource_id: r.record.resource_id.clone().unwrap_or_default(),
            entry: history_entry(&ctx, &r.record),
        })
        .collect();
    let users = accounts::list_users(ctx.db(), ctx.company_id())
        .await?
        .into_iter()
        .map(|u| (u.id, u.login, q.user_id == Some(u.id)))
        .collect();
    let resource_rows = sqlx::query("SELECT DISTINCT resource FROM audit_log WHERE company_id = $1 ORDER BY resource")
        .bind(ctx.company_id())
        .fetch_all(ctx.db().reader())
        .await?;
    let resources = resource_rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>("resource").ok())
        .map(|r| {
            let selected = q.resource.as_deref() == Some(r.as_str());
            (r, selected)
        })
        .collect();
    render(&AuditPage {
        page: PageCtx::new(&ctx, "nav.audit", "/admin/audit").await?,
        rows,
        users,
        resources,
        from: q.from.map(|d| d.to_string()).unwrap_or_default(),
        until: q.until.map(|d| d.to_string()).unwrap_or_default(),
        next_link,
    })
}

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    page: PageCtx,
    webhooks: Vec<Webhook>,
    fields: Vec<FieldView>,
    new_secret: Option<String>,
}

async fn webhooks_page(
    ctx: &Ctx,
    form: &WebhookForm,
    errors: &[FieldError],
    new_secret: Option<String>,
) -> AppResult<WebhooksPage> {
    let mut b = FormBuilder::new(ctx, errors);
    b.field("text", "url", "webhook.url", &form.url, true);
    b.field("text", "event_types", "webhook.event_types", &form.event_types, false);
    Ok(WebhooksPage {
        page: PageCtx::new(ctx, "nav.webhooks", "/admin/webhooks").await?,
        webhooks: webhooks::list_webhooks(ctx.db(), ctx.company_id()).await?,
        fields: b.finish(),
        new_secret,
    })
}

async fn webhook_list(ctx: Ctx) -> AppResult<Response> {
    ctx.require(WEBHOOKS)?;
    render(&webhooks_page(&ctx, &WebhookForm::default(), &[], None).await?)
}

async fn create_webhook(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(WEBHOOKS)?;
    let form = WebhookForm { url: pairs.text("url"), event_types: pairs.text("event_types") };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match webhooks::create_webhook(&mut tx, &form).await {
        Ok((_, secret)) => {
            tx.commit().await?;
            render(&webhooks_page(&ctx, &WebhookForm::default(), &[], Some(secret)).await?)
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &webhooks_page(&ctx, &form, &errors, None).await?)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/webhook.html")]
struct WebhookPage {
    page: PageCtx,
    webhook: Webhook,
    deliveries: Vec<Delivery>,
}

async fn webhook_detail(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    ctx.require(WEBHOOKS)?;
    let id = parse_id(&id, "webhook")?;
    let webhook = webhooks::list_webhooks(ctx.db(), ctx.company_id())
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or(AppError::Domain(DomainError::NotFound("webhook")))?;
    let mut deliveries = webhooks::deliveries(ctx.db(), ctx.company_id(), id).await?;
    for d in &mut deliveries {
        d.next_attempt_at = local_time(&d.next_attempt_at);
        d.delivered_at = d.delivered_at.as_deref().map(local_time);
    }
    render(&WebhookPage {
        page: PageCtx::new(&ctx, "nav.webhooks", "/admin/webhooks").await?.titled(webhook.url.clone()),
        webhook,
        deliveries,
    })
}

async fn toggle_webhook(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(WEBHOOKS)?;
    let id = parse_id(&id, "webhook")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    webhooks::set_active(&mut tx, ctx.company_id(), id, pairs.get("active") == Some("true")).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, &format!("/admin/webhooks/{id}"), "common.saved"))
}

#[derive(Template)]
#[template(path = "admin/companies.html")]
struct CompaniesPage {
    page: PageCtx,
    companies: Vec<accounts::Company>,
    fields: Vec<FieldView>,
}

async fn companies_page(ctx: &Ctx, form: &accounts::CompanyForm, errors: &[FieldError]) -> AppResult<CompaniesPage> {
    let mut b = FormBuilder::new(ctx, errors);
    b.field("text", "legal_name", "company.legal_name", &form.legal_name, true);
    b.field("text", "short_name", "company.short_name", &form.short_name, true);
    b.field("text", "credit_code", "company.credit_code", form.credit_code.as_deref().unwrap_or(""), false);
    let currency = form.base_currency.clone().unwrap_or_else(|| "CNY".into());
    b.choice(
        "select",
        "base_currency",
        "company.base_currency",
        ["CNY", "HKD", "USD", "EUR", "JPY"].iter().map(|c| (c.to_string(), c.to_string(), currency == *c)).collect(),
    );
    let zone = form.time_zone.clone().unwrap_or_else(|| "Asia/Shanghai".into());
    b.choice(
        "select",
        "time_zone",
        "company.time_zone",
        accounts::TIME_ZONES.iter().map(|z| (z.to_string(), z.to_string(), zone == *z)).collect(),
    );
    Ok(CompaniesPage {
        page: PageCtx::new(ctx, "nav.companies", "/admin/companies").await?,
        companies: accounts::list_companies(ctx.db(), ctx.principal.user_id.0).await?,
        fields: b.finish(),
    })
}

async fn companies(ctx: Ctx) -> AppResult<Response> {
    ctx.require(COMPANIES)?;
    render(&companies_page(&ctx, &accounts::CompanyForm::default(), &[]).await?)
}

async fn create_company(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    ctx.require(COMPANIES)?;
    let form = accounts::CompanyForm {
        legal_name: pairs.text("legal_name"),
        short_name: pairs.text("short_name"),
        credit_code: blank_none(pairs.text("credit_code")),
        base_currency: blank_none(pairs.text("base_currency")),
        time_zone: blank_none(pairs.text("time_zone")),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    match accounts::create_company(&mut tx, &form).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(flash_redirect(&ctx, "/admin/companies", "common.created"))
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            drop(tx);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &companies_page(&ctx, &form, &errors).await?)
        }
        Err(e) => Err(e.into()),
    }
}

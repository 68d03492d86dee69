//! Accounts: users, roles and grants, sessions, API tokens and login throttling. The
//! command line, the admin pages and the API all call these functions, so each rule lives
//! once. Every change is one transaction with its audit row.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Duration;
use db::{Actor, Db, Result, RowExt, Tx};
use kernel::clock::format_instant;
use kernel::error::Problems;
use kernel::ids::{CompanyId, UserId};
use kernel::permission::{Grant, Principal};
use kernel::{DomainError, Scope};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Minimum password length.
pub const MIN_PASSWORD: usize = 10;
/// Failed logins within [`THROTTLE_WINDOW_MINUTES`] after which a login is refused.
pub const THROTTLE_FAILURES: i64 = 5;
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Internal(format!("hashing a password: {e}")).into())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A random secret as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A user as administrators see it.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub login: String,
    pub display_name: String,
    pub email: Option<String>,
    pub lang: String,
    pub team: Option<String>,
    pub department: Option<String>,
    pub is_admin: bool,
    pub default_company_id: i64,
    pub disabled: bool,
    pub roles: Vec<String>,
    pub version: i64,
    pub created_at: String,
}

/// Input for a new user.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserForm {
    pub login: String,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    /// Role codes.
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub is_admin: bool,
    #[serde(default)]
    pub lang: Option<String>,
}

fn empty_to_none(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn check_login(problems: &mut Problems, login: &str) {
    let ok = (2..=64).contains(&login.len())
        && login.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        problems.add("login", "error.login.format", login);
    }
}

fn check_password(problems: &mut Problems, field: &str, password: &str) {
    if password.chars().count() < MIN_PASSWORD {
        problems.add(field, "error.password.too_short", MIN_PASSWORD.to_string());
    }
}

/// Creates a user in a company with roles. The login is unique across the site.
pub async fn create_user(tx: &mut Tx, company_id: i64, form: &UserForm) -> Result<i64> {
    let login = form.login.trim().to_string();
    let mut problems = Problems::default();
    check_login(&mut problems, &login);
    if form.display_name.trim().is_empty() {
        problems.add("display_name", "error.required", "");
    } else if form.display_name.chars().count() > 100 {
        problems.add("display_name", "error.too_long", "100");
    }
    check_password(&mut problems, "password", &form.password);
    let email = match empty_to_none(&form.email) {
        Some(e) => problems.check(kernel::identifiers::email("email", &e)),
        None => None,
    };
    let exists = sqlx::query("SELECT 1 FROM users WHERE login = $1").bind(&login).fetch_optional(tx.conn()).await?;
    if exists.is_some() {
        problems.add("login", "error.login.taken", &login);
    }
    let role_ids = role_ids(tx, &form.roles, &mut problems).await?;
    problems.finish()?;

    let hash = hash_password(&form.password)?;
    let now = tx.now().to_string();
    let lang = kernel::Lang::from_tag(form.lang.as_deref().unwrap_or("zh-CN")).tag();
    let id: i64 = sqlx::query(
        "INSERT INTO users (login, display_name, email, password_hash, lang, team, department, is_admin, default_company_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&login)
    .bind(form.display_name.trim())
    .bind(&email)
    .bind(&hash)
    .bind(lang)
    .bind(empty_to_none(&form.team))
    .bind(empty_to_none(&form.department))
    .bind(i64::from(form.is_admin))
    .bind(company_id)
    .bind(&now)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    sqlx::query("INSERT INTO user_companies (user_id, company_id) VALUES ($1, $2)")
        .bind(id)
        .bind(company_id)
        .execute(tx.conn())
        .await?;
    for role_id in &role_ids {
        sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
            .bind(id)
            .bind(role_id)
            .execute(tx.conn())
            .await?;
    }
    let changes = json!({
        "login": [null, login], "display_name": [null, form.display_name.trim()], "email": [null, email],
        "team": [null, empty_to_none(&form.team)], "department": [null, empty_to_none(&form.department)],
        "is_admin": [null, form.is_admin], "roles": [null, form.roles],
    });
    tx.audit("create", "web.user", Some(&id.to_string()), &changes).await?;
    Ok(id)
}

async fn role_ids(tx: &mut Tx, codes: &[String], problems: &mut Problems) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for code in codes.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        match sqlx::query("SELECT id FROM roles WHERE code = $1").bind(code).fetch_optional(tx.conn()).await? {
            Some(row) => ids.push(row.try_get::<i64, _>("id")?),
            None => problems.add("roles", "error.role.unknown", code),
        }
    }
    Ok(ids)
}

/// Changes of a user's profile and roles by an administrator.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserUpdate {
    pub version: i64,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub team: Option<String>,
    pub department: Option<String>,
    pub roles: Option<Vec<String>>,
    pub disabled: Option<bool>,
    pub is_admin: Option<bool>,
}

/// Updates a user, refusing a stale version.
pub async fn update_user(tx: &mut Tx, id: i64, update: &UserUpdate) -> Result<()> {
    let before = get_user_tx(tx, id).await?;
    if before.version != update.version {
        return Err(
            DomainError::StaleVersion { resource: "user", expected: update.version, actual: before.version }.into()
        );
    }
    let mut problems = Problems::default();
    let display_name = update.display_name.clone().map(|s| s.trim().to_string()).unwrap_or(before.display_name.clone());
    if display_name.is_empty() {
        problems.add("display_name", "error.required", "");
    }
    let email = match &update.email {
        Some(e) if !e.trim().is_empty() => problems.check(kernel::identifiers::email("email", e)),
        Some(_) => None,
        None => before.email.clone(),
    };
    let role_ids = match &update.roles {
        Some(codes) => Some(role_ids(tx, codes, &mut problems).await?),
        None => None,
    };
    problems.finish()?;
    let team = update.team.as_ref().map(|t| empty_to_none(&Some(t.clone()))).unwrap_or(before.team.clone());
    let department =
        update.department.as_ref().map(|d| empty_to_none(&Some(d.clone()))).unwrap_or(before.department.clone());
    let disabled = update.disabled.unwrap_or(before.disabled);
    let is_admin = update.is_admin.unwrap_or(before.is_admin);
    let disabled_at = if disabled { Some(tx.now().to_string()) } else { None };
    sqlx::query(
        "UPDATE users SET display_name = $1, email = $2, team = $3, department = $4, is_admin = $5, \
         disabled_at = CASE WHEN $6 = 1 THEN COALESCE(disabled_at, $7) ELSE NULL END, version = version + 1 WHERE id = $8",
    )
    .bind(&display_name)
    .bind(&email)
    .bind(&team)
    .bind(&department)
    .bind(i64::from(is_admin))
    .bind(i64::from(disabled))
    .bind(disabled_at)
    .bind(id)
    .execute(tx.conn())
    .await?;
    if let Some(role_ids) = role_ids {
        sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(id).execute(tx.conn()).await?;
        for role_id in role_ids {
            sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
                .bind(id)
                .bind(role_id)
                .execute(tx.conn())
                .await?;
        }
    }
    if disabled {
        // A disabled user is signed out everywhere at once.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(tx.conn()).await?;
    }
    let after = get_user_tx(tx, id).await?;
    let diff = kernel::audit::diff(
        &serde_json::to_value(&before).unwrap_or_default(),
        &serde_json::to_value(&after).unwrap_or_default(),
    );
    tx.audit("update", "web.user", Some(&id.to_string()), &diff).await?;
    Ok(())
}

/// Sets a new password (reset by an administrator, or `zhongshu user passwd`).
pub async fn set_password(tx: &mut Tx, id: i64, password: &str) -> Result<()> {
    let mut problems = Problems::default();
    check_password(&mut problems, "password", password);
    problems.finish()?;
    get_user_tx(tx, id).await?;
    let hash = hash_password(password)?;
    sqlx::query("UPDATE users SET password_hash = $1, version = version + 1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(tx.conn()).await?;
    // A reset after a compromise must shut out the intruder's API tokens too.
    let now = tx.now().to_string();
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "update",
        "web.user",
        Some(&id.to_string()),
        &json!({"password": ["***", "***"], "api_tokens": "revoked"}),
    )
    .await?;
    Ok(())
}

const USER_COLUMNS: &str = "id, login, display_name, email, lang, team, department, is_admin, default_company_id, disabled_at, version, created_at";

fn user_from_row(row: &db::Row, roles: Vec<String>) -> std::result::Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        login: row.try_get("login")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        lang: row.try_get("lang")?,
        team: row.try_get("team")?,
        department: row.try_get("department")?,
        is_admin: row.try_get::<i64, _>("is_admin")? == 1,
        default_company_id: row.try_get("default_company_id")?,
        disabled: row.try_get::<Option<String>, _>("disabled_at")?.is_some(),
        roles,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
    })
}

async fn roles_of(conn: &mut db::Conn, id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT r.code FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE ur.user_id = $1 ORDER BY r.code",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(|r| r.try_get("code")).collect::<std::result::Result<_, _>>()?)
}

async fn get_user_tx(tx: &mut Tx, id: i64) -> Result<User> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("user"))?;
    let roles = roles_of(tx.conn(), id).await?;
    Ok(user_from_row(&row, roles)?)
}

/// One user.
pub async fn get_user(db: &Db, id: i64) -> Result<User> {
    let mut conn = db.read_conn().await?;
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut conn)
        .await?
        .ok_or(DomainError::NotFound("user"))?;
    let roles = roles_of(&mut conn, id).await?;
    Ok(user_from_row(&row, roles)?)
}

/// Users of a company, by login.
pub async fn list_users(db: &Db, company_id: i64) -> Result<Vec<User>> {
    let rows = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id IN (SELECT user_id FROM user_companies WHERE company_id = $1) ORDER BY login"
    ))
    .bind(company_id)
    .fetch_all(db.reader())
    .await?;
    let role_rows =
        sqlx::query("SELECT ur.user_id, r.code FROM user_roles ur JOIN roles r ON r.id = ur.role_id ORDER BY r.code")
            .fetch_all(db.reader())
            .await?;
    let mut users = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let roles = role_rows
            .iter()
            .filter(|r| r.try_get::<i64, _>("user_id").ok() == Some(id))
            .filter_map(|r| r.try_get("code").ok())
            .collect();
        users.push(user_from_row(row, roles)?);
    }
    Ok(users)
}

pub async fn find_user_id(db: &Db, login: &str) -> Result<i64> {
    let row = sqlx::query("SELECT id FROM users WHERE login = $1")
        .bind(login)
        .fetch_optional(db.reader())
        .await?
        .ok_or(DomainError::NotFound("user"))?;
    Ok(row.try_get("id")?)
}

/// A role with its grants.
#[derive(Debug, Clone, Serialize)]
pub struct Role {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub grants: Vec<Grant>,
}

/// Input for a role: its code, name and the grants it gives.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoleForm {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub grants: Vec<Grant>,
}

fn check_grants(problems: &mut Problems, known: &[&str], grants: &[Grant]) {
    for grant in grants {
        if kernel::Permission::parse(&grant.permission).is_err() || !known.contains(&grant.permission.as_str()) {
            problems.add("grants", "error.permission.malformed", &grant.permission);
        }
    }
}

/// Creates a role. `known` lists the permissions the running modules define.
pub async fn create_role(tx: &mut Tx, known: &[&str], form: &RoleForm) -> Result<i64> {
    let mut problems = Problems::default();
    let code = form.code.trim();
    if code.is_empty() || code.len() > 64 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        problems.add("code", "error.login.format", code);
    }
    if form.name.trim().is_empty() {
        problems.add("name", "error.required", "");
    }
    check_grants(&mut problems, known, &form.grants);
    if sqlx::query("SELECT 1 FROM roles WHERE code = $1").bind(code).fetch_optional(tx.conn()).await?.is_some() {
        problems.add("code", "error.role.taken", code);
    }
    problems.finish()?;
    let now = tx.now().to_string();
    let id: i64 =
        sqlx::query("INSERT INTO roles (code, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(code)
            .bind(form.name.trim())
            .bind(form.description.trim())
            .bind(now)
            .fetch_one(tx.conn())
            .await?
            .try_get("id")?;
    write_grants(tx, id, &form.grants).await?;
    tx.audit(
        "create",
        "web.role",
        Some(&id.to_string()),
        &json!({"code": [null, code], "name": [null, form.name.trim()], "grants": [null, form.grants]}),
    )
    .await?;
    Ok(id)
}

async fn write_grants(tx: &mut Tx, role_id: i64, grants: &[Grant]) -> Result<()> {
    sqlx::query("DELETE FROM role_grants WHERE role_id = $1").bind(role_id).execute(tx.conn()).await?;
    for grant in grants {
        sqlx::query("INSERT INTO role_grants (role_id, permission, scope) VALUES ($1, $2, $3) ON CONFLICT (role_id, permission) DO UPDATE SET scope = excluded.scope")
            .bind(role_id)
            .bind(&grant.permission)
            .bind(grant.scope.as_str())
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Replaces a role's grants.
pub async fn set_grants(tx: &mut Tx, known: &[&str], role_id: i64, grants: &[Grant]) -> Result<()> {
    let mut problems = Problems::default();
    check_grants(&mut problems, known, grants);
    problems.finish()?;
    let before = role_grants(tx.conn(), role_id).await?;
    if sqlx::query("SELECT 1 FROM roles WHERE id = $1").bind(role_id).fetch_optional(tx.conn()).await?.is_none() {
        return Err(DomainError::NotFound("role").into());
    }
    write_grants(tx, role_id, grants).await?;
    tx.audit("update", "web.role", Some(&role_id.to_string()), &json!({"grants": [before, grants]})).await?;
    Ok(())
}

async fn role_grants(conn: &mut db::Conn, role_id: i64) -> Result<Vec<Grant>> {
    let rows = sqlx::query("SELECT permission, scope FROM role_grants WHERE role_id = $1 ORDER BY permission")
        .bind(role_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            let scope: String = r.try_get("scope")?;
            Ok(Grant { permission: r.try_get("permission")?, scope: Scope::parse(&scope).unwrap_or(Scope::Own) })
        })
        .collect()
}

pub async fn list_roles(db: &Db) -> Result<Vec<Role>> {
    let mut conn = db.read_conn().await?;
    let rows = sqlx::query("SELECT id, code, name, description FROM roles ORDER BY code").fetch_all(&mut conn).await?;
    let mut roles = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        roles.push(Role {
            id,
            code: row.try_get("code")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            grants: role_grants(&mut conn, id).await?,
        });
    }
    Ok(roles)
}

/// Loads who a user is in a company, with the grants of all their roles: one read, a row per
/// grant (or one row without a grant), since every request makes it before its handler runs.
pub async fn load_principal(db: &Db, user_id: i64, company_id: i64) -> Result<Principal> {
    let rows = db
        .read_all(
            sqlx::query(
                "SELECT u.login, u.team, u.department, u.is_admin, u.disabled_at, \
                 EXISTS (SELECT 1 FROM user_companies c WHERE c.user_id = u.id AND c.company_id = $2) AS allowed, \
                 rg.permission, rg.scope FROM users u \
                 LEFT JOIN user_roles ur ON ur.user_id = u.id LEFT JOIN role_grants rg ON rg.role_id = ur.role_id \
                 WHERE u.id = $1",
            )
            .bind(user_id)
            .bind(company_id),
        )
        .await?;
    let row = rows.first().ok_or(DomainError::Unauthenticated)?;
    if row.try_get::<Option<String>, _>("disabled_at")?.is_some() {
        return Err(DomainError::Unauthenticated.into());
    }
    if !db::flag(row, "allowed")? {
        return Err(DomainError::Forbidden("company".into()).into());
    }
    let grants = rows
        .iter()
        .filter_map(|r| {
            let scope: String = r.try_get::<Option<String>, _>("scope").ok()??;
            Some(Grant {
                permission: r.try_get::<Option<String>, _>("permission").ok()??,
                scope: Scope::parse(&scope)?,
            })
        })
        .collect::<Vec<_>>();
    Ok(Principal::new(
        UserId(user_id),
        row.try_get("login")?,
        CompanyId(company_id),
        row.try_get("team")?,
        row.try_get("department")?,
        row.try_get::<i64, _>("is_admin")? == 1,
        grants,
    ))
}

/// A started session: the cookie value (secret) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub user_id: i64,
}

/// Checks a login and password and starts a session. Refuses after too many failures,
/// even with the right password, until the window has passed.
pub async fn login(db: &Db, login: &str, password: &str) -> Result<NewSession> {
    let login = login.trim();
    let now = db.clock().now();
    let window_start = format_instant(now - Duration::minutes(THROTTLE_WINDOW_MINUTES));
    // The attempt is recorded as a failure before the password is checked, and counted in the
    // same write: parallel guesses each see the ones before them, so a burst cannot slip past
    // the limit. A success then marks its own record.
    let mut tx = db.begin(Actor::system()).await?;
    let at = tx.now().to_string();
    let attempt: i64 = sqlx::query("INSERT INTO login_attempts (login, at, succeeded) VALUES ($1, $2, 0) RETURNING id")
        .bind(login)
        .bind(&at)
        .fetch_one(tx.conn())
        .await?
        .try_get("id")?;
    let failures: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM login_attempts WHERE login = $1 AND at >= $2 AND succeeded = 0")
            .bind(login)
            .bind(&window_start)
            .fetch_one(tx.conn())
            .await?
            .try_get("n")?;
    tx.commit().await?;
    if failures > THROTTLE_FAILURES {
        return Err(DomainError::Throttled.into());
    }
    let user = sqlx::query("SELECT id, password_hash, disabled_at, default_company_id FROM users WHERE login = $1")
        .bind(login)
        .fetch_optional(db.reader())
        .await?;
    let verified = match &user {
        Some(row) => {
            let hash: String = row.try_get("password_hash")?;
            verify_password(password, &hash) && row.try_get::<Option<String>, _>("disabled_at")?.is_none()
        }
        None => {
            // Spend the same time as a real check, so timing does not reveal which logins exist.
            let _ = hash_password(password);
            false
        }
    };
    let mut tx = db.begin(Actor::system()).await?;
    if verified {
        sqlx::query("UPDATE login_attempts SET succeeded = 1 WHERE id = $1").bind(attempt).execute(tx.conn()).await?;
    }
    let Some(row) = user.filter(|_| verified) else {
        tx.commit().await?;
        return Err(DomainError::Unauthenticated.into());
    };
    let user_id: i64 = row.try_get("id")?;
    let company_id: i64 = row.try_get("default_company_id")?;
    let token = random_hex(32);
    let csrf = random_hex(16);
    let expires = format_instant(now + Duration::hours(SESSION_HOURS));
    sqlx::query("INSERT INTO sessions (token_hash, user_id, company_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(sha256_hex(&token))
        .bind(user_id)
        .bind(company_id)
        .bind(&csrf)
        .bind(&at)
        .bind(expires)
        .execute(tx.conn())
        .await?;
    let mut tx = retag(tx, Actor::user(user_id, login, company_id));
    tx.audit("login", "web.session", Some(&user_id.to_string()), &json!({})).await?;
    tx.commit().await?;
    Ok(NewSession { token, csrf, user_id })
}

/// The actor of a transaction is fixed when it begins; a login learns who acts midway.
fn retag(tx: Tx, actor: Actor) -> Tx {
    tx.with_actor(actor)
}

/// A live session found by its cookie.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub token_hash: String,
    pub user_id: i64,
    pub company_id: i64,
    pub csrf: String,
    pub lang: String,
    pub display_name: String,
}

pub async fn find_session(db: &Db, token: &str) -> Result<Option<SessionInfo>> {
    let hash = sha256_hex(token);
    let row = db
        .read_all(
            sqlx::query(
                "SELECT s.user_id, s.company_id, s.csrf_token, u.lang, u.display_name FROM sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
            )
            .bind(&hash)
            .bind(db.clock().now_text()),
        )
        .await?
        .into_iter()
        .next();
    Ok(match row {
        Some(row) => Some(SessionInfo {
            token_hash: hash,
            user_id: row.try_get("user_id")?,
            company_id: row.try_get("company_id")?,
            csrf: row.try_get("csrf_token")?,
            lang: row.try_get("lang")?,
            display_name: row.try_get("display_name")?,
        }),
        None => None,
    })
}

pub async fn end_session(db: &Db, token_hash: &str) -> Result<()> {
    let mut tx = db.begin(Actor::system()).await?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(tx.conn()).await?;
    tx.commit().await
}

/// Switches the session to another of the user's companies.
pub async fn switch_company(db: &Db, session: &SessionInfo, company_id: i64) -> Result<()> {
    let allowed = sqlx::query("SELECT 1 FROM user_companies WHERE user_id = $1 AND company_id = $2")
        .bind(session.user_id)
        .bind(company_id)
        .fetch_optional(db.reader())
        .await?;
    if allowed.is_none() {
        return Err(DomainError::invalid("company_id", "error.company.not_allowed", "").into());
    }
    let mut tx = db.begin(Actor::user(session.user_id, "", company_id)).await?;
    sqlx::query("UPDATE sessions SET company_id = $1 WHERE token_hash = $2")
        .bind(company_id)
        .bind(&session.token_hash)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// Stores a user's interface language.
pub async fn set_language(db: &Db, user_id: i64, lang: kernel::Lang) -> Result<()> {
    let mut tx = db.begin(Actor::system()).await?;
    sqlx::query("UPDATE users SET lang = $1 WHERE id = $2").bind(lang.tag()).bind(user_id).execute(tx.conn()).await?;
    tx.commit().await
}

/// Companies a user may work in: (id, short name).
pub async fn companies_of(db: &Db, user_id: i64) -> Result<Vec<(i64, String)>> {
    // Read for every page (the company switch in its header), so the attentive way.
    let rows = db
        .read_all(
            sqlx::query("SELECT c.id, c.short_name FROM companies c JOIN user_companies uc ON uc.company_id = c.id WHERE uc.user_id = $1 ORDER BY c.id")
                .bind(user_id),
        )
        .await?;
    rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("short_name")?))).collect()
}

/// An API token as listed (never with its secret).
#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub login: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// Creates an API token for a user and returns (id, secret). The secret is shown once;
/// only its SHA-256 is stored (a 256-bit random secret needs no slow hash).
pub async fn create_token(tx: &mut Tx, user_id: i64, name: &str) -> Result<(i64, String)> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "error.required", "").into());
    }
    if name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "error.too_long", "100").into());
    }
    let secret = format!("zs_{}", random_hex(32));
    let prefix: String = secret.chars().take(10).collect();
    let now = tx.now().to_string();
    let id: i64 = sqlx::query("INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
        .bind(user_id)
        .bind(name)
        .bind(&prefix)
        .bind(sha256_hex(&secret))
        .bind(now)
        .fetch_one(tx.conn())
        .await?
        .try_get("id")?;
    tx.audit(
        "create",
        "web.token",
        Some(&id.to_string()),
        &json!({"user_id": [null, user_id], "name": [null, name], "prefix": [null, prefix]}),
    )
    .await?;
    Ok((id, secret))
}

/// Revokes a token of one of the company's users.
pub async fn revoke_token(tx: &mut Tx, company_id: i64, id: i64, only_user: Option<i64>) -> Result<()> {
    let row = sqlx::query(
        "SELECT user_id, revoked_at FROM api_tokens WHERE id = $1 AND user_id IN (SELECT user_id FROM user_companies WHERE company_id = $2)",
    )
    .bind(id)
    .bind(company_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("token"))?;
    let owner: i64 = row.try_get("user_id")?;
    if only_user.is_some_and(|u| u != owner) {
        return Err(DomainError::NotFound("token").into());
    }
    let now = tx.now().to_string();
    sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
        .bind(&now)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit("state", "web.token", Some(&id.to_string()), &json!({"revoked_at": [null, now]})).await?;
    Ok(())
}

/// Tokens of the company's users (or of one user), newest first.
pub async fn list_tokens(db: &Db, company_id: i64, only_user: Option<i64>) -> Result<Vec<ApiToken>> {
    let mut q = db::SqlBuilder::new(
        "SELECT t.id, t.user_id, u.login, t.name, t.prefix, t.created_at, t.last_used_at, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.user_id IN (SELECT user_id FROM user_companies WHERE company_id = ",
    );
    q.bind(company_id).push(")");
    if let Some(user) = only_user {
        q.push(" AND t.user_id = ").bind(user);
    }
    q.push(" ORDER BY t.id DESC");
    let rows = q.build().fetch_all(db.reader()).await?;
    rows.iter()
        .map(|r| {
            Ok(ApiToken {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                login: r.try_get("login")?,
                name: r.try_get("name")?,
                prefix: r.try_get("prefix")?,
                created_at: r.try_get("created_at")?,
                last_used_at: r.try_get("last_used_at")?,
                revoked: r.try_get::<Option<String>, _>("revoked_at")?.is_some(),
            })
        })
        .collect()
}

/// The user behind a bearer token, if the token is live.
pub async fn user_of_token(db: &Db, secret: &str) -> Result<Option<(i64, i64)>> {
    let rows = db
        .read_all(
            sqlx::query(
                "SELECT t.id, t.user_id, t.last_used_at, u.default_company_id FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
            )
            .bind(sha256_hex(secret)),
        )
        .await?;
    let Some(row) = rows.into_iter().next() else { return Ok(None) };
    let token_id: i64 = row.try_get("id")?;
    // Recording every use would make each API read a write; a minute's precision is enough.
    let stale_before = format_instant(db.clock().now() - Duration::minutes(1));
    let last_used: Option<String> = row.try_get("last_used_at")?;
    if last_used.is_none_or(|t| t < stale_before) {
        let mut tx = db.begin(Actor::system()).await?;
        let now = tx.now().to_string();
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(token_id)
            .execute(tx.conn())
            .await?;
        tx.commit().await?;
    }
    Ok(Some((row.try_get("user_id")?, row.try_get("default_company_id")?)))
}

/// Time zones a company may choose. Dates are shown at UTC+8, which all of these observe all
/// year; zones with other offsets come with per-company display.
pub const TIME_ZONES: [&str; 5] = ["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei", "Asia/Singapore"];

/// A company as administrators see it.
#[derive(Debug, Clone, Serialize)]
pub struct Company {
    pub id: i64,
    pub legal_name: String,
    pub short_name: String,
    pub credit_code: Option<String>,
    pub base_currency: String,
    pub time_zone: String,
    pub created_at: String,
}

/// Input for a new company.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CompanyForm {
    pub legal_name: String,
    pub short_name: String,
    #[serde(default)]
    pub credit_code: Option<String>,
    #[serde(default)]
    pub base_currency: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// Creates a company and gives the acting user access to it.
pub async fn create_company(tx: &mut Tx, form: &CompanyForm) -> Result<i64> {
    let mut problems = Problems::default();
    let legal_name = form.legal_name.trim();
    let short_name = form.short_name.trim();
    if legal_name.is_empty() {
        problems.add("legal_name", "error.required", "");
    } else if legal_name.chars().count() > 200 {
        problems.add("legal_name", "error.too_long", "200");
    }
    if short_name.is_empty() {
        problems.add("short_name", "error.required", "");
    } else if short_name.chars().count() > 50 {
        problems.add("short_name", "error.too_long", "50");
    }
    let credit_code = match empty_to_none(&form.credit_code) {
        Some(code) => problems.check(kernel::identifiers::credit_code("credit_code", &code)),
        None => None,
    };
    let currency = form.base_currency.clone().unwrap_or_else(|| "CNY".into());
    if kernel::Currency::from_code(&currency).is_none() {
        problems.add("base_currency", "error.company.currency", &currency);
    }
    let time_zone = form.time_zone.clone().filter(|z| !z.is_empty()).unwrap_or_else(|| "Asia/Shanghai".into());
    if !TIME_ZONES.contains(&time_zone.as_str()) {
        problems.add("time_zone", "error.company.time_zone", &time_zone);
    }
    problems.finish()?;
    let now = tx.now().to_string();
    let id: i64 = sqlx::query(
        "INSERT INTO companies (legal_name, short_name, credit_code, base_currency, time_zone, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(legal_name)
    .bind(short_name)
    .bind(&credit_code)
    .bind(currency.to_uppercase())
    .bind(&time_zone)
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    if let Some(user) = tx.actor().user_id {
        sqlx::query("INSERT INTO user_companies (user_id, company_id) VALUES ($1, $2)")
            .bind(user)
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    tx.audit(
        "create",
        "web.company",
        Some(&id.to_string()),
        &json!({"legal_name": [null, legal_name], "short_name": [null, short_name], "credit_code": [null, credit_code], "base_currency": [null, currency], "time_zone": [null, time_zone]}),
    )
    .await?;
    Ok(id)
}

/// Sets which companies a user may work in. `visible` are the companies of the administrator
/// doing it: access to other companies is left as it is.
pub async fn set_user_companies(tx: &mut Tx, user_id: i64, visible: &[i64], chosen: &[i64]) -> Result<()> {
    if chosen.is_empty() {
        return Err(DomainError::invalid("companies", "error.company.none", "").into());
    }
    if let Some(bad) = chosen.iter().find(|c| !visible.contains(c)) {
        return Err(DomainError::invalid("companies", "error.company.not_allowed", bad.to_string()).into());
    }
    let before: Vec<i64> = sqlx::query("SELECT company_id FROM user_companies WHERE user_id = $1 ORDER BY company_id")
        .bind(user_id)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| r.try_get("company_id"))
        .collect::<std::result::Result<_, _>>()?;
    for company in visible {
        let has = before.contains(company);
        let wants = chosen.contains(company);
        if has && !wants {
            sqlx::query("DELETE FROM user_companies WHERE user_id = $1 AND company_id = $2")
                .bind(user_id)
                .bind(company)
                .execute(tx.conn())
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND company_id = $2")
                .bind(user_id)
                .bind(company)
                .execute(tx.conn())
                .await?;
        } else if wants && !has {
            sqlx::query("INSERT INTO user_companies (user_id, company_id) VALUES ($1, $2)")
                .bind(user_id)
                .bind(company)
                .execute(tx.conn())
                .await?;
        }
    }
    let after: Vec<i64> = sqlx::query("SELECT company_id FROM user_companies WHERE user_id = $1 ORDER BY company_id")
        .bind(user_id)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| r.try_get("company_id"))
        .collect::<std::result::Result<_, _>>()?;
    // The default company must stay one the user may enter.
    if let Some(first) = after.first() {
        sqlx::query("UPDATE users SET default_company_id = $1 WHERE id = $2 AND default_company_id NOT IN (SELECT company_id FROM user_companies WHERE user_id = $2)")
            .bind(first)
            .bind(user_id)
            .execute(tx.conn())
            .await?;
    }
    tx.audit("update", "web.user", Some(&user_id.to_string()), &json!({"companies": [before, after]})).await?;
    Ok(())
}

const COMPANY_COLUMNS: &str = "id, legal_name, short_name, credit_code, base_currency, time_zone, created_at";

fn company_from_row(r: &db::Row) -> std::result::Result<Company, sqlx::Error> {
    Ok(Company {
        id: r.try_get("id")?,
        legal_name: r.try_get("legal_name")?,
        short_name: r.try_get("short_name")?,
        credit_code: r.try_get("credit_code")?,
        base_currency: r.try_get("base_currency")?,
        time_zone: r.try_get("time_zone")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The companies a user may enter, with their details.
pub async fn list_companies(db: &Db, user_id: i64) -> Result<Vec<Company>> {
    let rows = sqlx::query(&format!(
        "SELECT {COMPANY_COLUMNS} FROM companies WHERE id IN (SELECT company_id FROM user_companies WHERE user_id = $1) ORDER BY id"
    ))
    .bind(user_id)
    .fetch_all(db.reader())
    .await?;
    Ok(rows.iter().map(company_from_row).collect::<std::result::Result<_, _>>()?)
}

/// The ids of the companies a user may enter.
pub async fn company_ids_of(db: &Db, user_id: i64) -> Result<Vec<i64>> {
    Ok(companies_of(db, user_id).await?.into_iter().map(|(id, _)| id).collect())
}

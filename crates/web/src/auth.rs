//! Who is asking: reads the session cookie or bearer token, checks the CSRF token of every
//! state-changing form post, settles the language (`identify_inner`, which the shell's
//! request layer calls), and hands handlers a [`Ctx`].

use crate::accounts::{self, SessionInfo};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use kernel::permission::Principal;
use kernel::{DomainError, Lang};
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "zs_session";
pub const LANG_COOKIE: &str = "zs_lang";
/// Double-submit CSRF cookie for forms posted before there is a session (the login form).
pub const PRE_SESSION_CSRF_COOKIE: &str = "zs_csrf";

/// Paths under this prefix are called from outside without a session; see `identify_inner`.
pub const PUBLIC_PREFIX: &str = "/public/";
pub const FLASH_COOKIE: &str = "zs_flash";
/// Largest form body accepted (attachments go through their own routes).
pub const FORM_LIMIT: usize = 1024 * 1024;

/// What the request layer learned about a request.
#[derive(Clone)]
pub struct RequestInfo {
    pub lang: Lang,
    pub principal: Option<Arc<Principal>>,
    pub session: Option<SessionInfo>,
    /// The token forms must carry: the session's, or the pre-session cookie's.
    pub csrf: String,
    pub via_token: bool,
    pub flash: Option<String>,
    /// The path and query of this request, for links back to it (the language switch).
    pub target: String,
}

/// Reads one cookie from the headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value with the flags every cookie of ours carries.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_seconds: Option<i64>) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_seconds {
        cookie += &format!("; Max-Age={age}");
    }
    if state.config.secure_cookies {
        cookie += "; Secure";
    }
    cookie
}

/// Paths answered in JSON (problem+json on errors), never with pages or redirects: the API, and
/// the public endpoints machines call.
pub(crate) fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with(PUBLIC_PREFIX)
}

/// Who the request is from, before its handler runs: its language, its identity (bearer
/// token or session) and, for a state-changing request, the proof that it comes from our own
/// page (the CSRF token). Refused with the error and what was read so far.
pub(crate) async fn identify_inner(
    state: &AppState,
    request: Request,
) -> Result<(Request, RequestInfo), (AppError, RequestInfo)> {
    let headers = request.headers().clone();
    let mut info = RequestInfo {
        lang: cookie(&headers, LANG_COOKIE)
            .map(|t| Lang::from_tag(&t))
            .or_else(|| {
                headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language)
            })
            .unwrap_or_default(),
        principal: None,
        session: None,
        csrf: cookie(&headers, PRE_SESSION_CSRF_COOKIE).unwrap_or_default(),
        via_token: false,
        flash: cookie(&headers, FLASH_COOKIE).filter(|k| state.messages.contains(k)),
        target: request.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default(),
    };
    let fail = |e: AppError, info: &RequestInfo| (e, info.clone());

    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_string());
    if let Some(secret) = bearer {
        let found = accounts::user_of_token(&state.db, &secret).await.map_err(|e| fail(e.into(), &info))?;
        let Some((user_id, default_company)) = found else {
            return Err(fail(DomainError::Unauthenticated.into(), &info));
        };
        let company = headers
            .get("x-company-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_company);
        let principal =
            accounts::load_principal(&state.db, user_id, company).await.map_err(|e| fail(e.into(), &info))?;
        info.principal = Some(Arc::new(principal));
        info.via_token = true;
        return Ok((request, info));
    }

    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        if let Some(session) = accounts::find_session(&state.db, &token).await.map_err(|e| fail(e.into(), &info))? {
            match accounts::load_principal(&state.db, session.user_id, session.company_id).await {
                Ok(principal) => {
                    info.lang = Lang::from_tag(&session.lang);
                    info.csrf = session.csrf.clone();
                    info.principal = Some(Arc::new(principal));
                    info.session = Some(session);
                }
                Err(db::Error::Domain(_)) => {}
                Err(e) => return Err(fail(e.into(), &info)),
            }
        }
    }

    let unsafe_method = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !unsafe_method {
        return Ok((request, info));
    }
    // Calls from outside (a carrier's status callback, later public forms) carry no session to
    // forge: their handlers authenticate them by what they bring (a signature, a one-time
    // token) and act as no user.
    if request.uri().path().starts_with(PUBLIC_PREFIX) {
        return Ok((request, info));
    }
    // Every state-changing request without a bearer token must prove it comes from our own
    // page: a header for scripts, or the `_csrf` field for forms.
    let header_token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_string);
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let is_upload = content_type.starts_with("multipart/form-data");
    let (parts, body) = request.into_parts();
    let (provided, body) = if let Some(token) = header_token {
        (Some(token), body)
    } else if is_form {
        let bytes = to_bytes(body, FORM_LIMIT).await.map_err(|_| fail(AppError::TooLarge, &info))?;
        let token = form_urlencoded::parse(&bytes).find(|(k, _)| k == "_csrf").map(|(_, v)| v.into_owned());
        (token, Body::from(bytes))
    } else if is_upload {
        // A page form with a file: the whole body is read (up to the upload limit) to find
        // its token, then handed on unchanged.
        let bytes = to_bytes(body, crate::extract::UPLOAD_LIMIT).await.map_err(|_| fail(AppError::TooLarge, &info))?;
        (crate::extract::multipart_csrf(&content_type, bytes.clone()).await, Body::from(bytes))
    } else {
        (None, body)
    };
    let valid = !info.csrf.is_empty() && provided.as_deref() == Some(info.csrf.as_str());
    if !valid {
        // An API write with neither a token nor a session is simply unauthenticated; any
        // other unsafe request without a valid token is refused as a forgery.
        let error = if is_api(parts.uri.path()) && info.session.is_none() {
            DomainError::Unauthenticated.into()
        } else {
            AppError::Csrf
        };
        return Err(fail(error, &info));
    }
    Ok((Request::from_parts(parts, body), info))
}

/// A signed-in request's context: who, in which company, in which language.
#[derive(Clone)]
pub struct Ctx {
    pub principal: Arc<Principal>,
    pub lang: Lang,
    pub csrf: String,
    pub session: Option<SessionInfo>,
    pub flash: Option<String>,
    pub target: String,
    pub state: AppState,
}

impl Ctx {
    /// The policy check, as a `?`-able result.
    pub fn require(&self, permission: &str) -> AppResult<kernel::Scope> {
        Ok(self.principal.authorize(permission)?)
    }

    /// The transaction actor for this request.
    pub fn actor(&self) -> db::Actor {
        db::Actor::user(self.principal.user_id.0, self.principal.login.clone(), self.principal.company_id.0)
    }

    /// Today's business date where the company is (China Standard Time, UTC+8).
    pub fn today(&self) -> chrono::NaiveDate {
        (self.db().clock().now() + chrono::Duration::hours(8)).date_naive()
    }

    /// A report's period from `?from=&to=`: strict dates, by default this year up to today;
    /// a period that ends before it starts is refused on `to`.
    pub fn period(&self, from: Option<&str>, to: Option<&str>) -> AppResult<(String, String)> {
        let today = self.today();
        let pick = |text: Option<&str>, field: &str, default: chrono::NaiveDate| -> AppResult<chrono::NaiveDate> {
            match text.map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(default),
                Some(t) => Ok(kernel::dates::parse(field, t).map_err(|e| DomainError::Invalid(vec![e]))?),
            }
        };
        let first_of_year = chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&today), 1, 1).unwrap_or(today);
        let from = pick(from, "from", first_of_year)?;
        let to = pick(to, "to", today)?;
        if to < from {
            return Err(DomainError::invalid("to", "error.period_order", to.to_string()).into());
        }
        Ok((from.to_string(), to.to_string()))
    }

    pub fn company_id(&self) -> i64 {
        self.principal.company_id.0
    }

    pub fn t(&self, key: &str) -> String {
        self.state.messages.get(self.lang, key)
    }

    pub fn db(&self) -> &db::Db {
        &self.state.db
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let info = parts.extensions.get::<RequestInfo>().cloned().ok_or(DomainError::Unauthenticated)?;
        let principal = info.principal.clone().ok_or(DomainError::Unauthenticated)?;
        Ok(Ctx {
            principal,
            lang: info.lang,
            csrf: info.csrf,
            session: info.session,
            flash: info.flash,
            target: info.target,
            state: state.clone(),
        })
    }
}

impl FromRequestParts<AppState> for RequestInfo {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<RequestInfo>().cloned().ok_or(AppError::NotFound)
    }
}

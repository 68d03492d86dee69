//! Errors of requests. Handlers return [`AppError`] with `?`; the error layer turns it into
//! an RFC 9457 `application/problem+json` document under `/api/` and into a translated
//! error page elsewhere, in the language of the request. Nothing a user or the database
//! can cause becomes a bare 500: database failures are logged with the request id and
//! shown as a generic internal error.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::error::FieldError;
use kernel::DomainError;
use std::sync::Arc;

/// What went wrong with a request.
#[derive(Debug, Clone)]
pub enum AppError {
    /// A service refused or failed.
    Domain(DomainError),
    /// The body was not valid JSON or form data (message is the parser's).
    Malformed { json: bool, detail: String },
    /// The body exceeded the size limit.
    TooLarge,
    /// A list request named a filter or sort the resource does not have.
    BadListParam { key: &'static str, detail: String },
    /// The form's CSRF token was missing or wrong.
    Csrf,
    /// No route.
    NotFound,
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        AppError::Domain(e)
    }
}

impl From<db::Error> for AppError {
    fn from(e: db::Error) -> Self {
        match e {
            db::Error::Domain(d) => AppError::Domain(d),
            db::Error::Database(e) => {
                tracing::error!(error = %e, "database error");
                AppError::Domain(DomainError::Internal(e.to_string()))
            }
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        db::Error::Database(e).into()
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "template error");
        AppError::Domain(DomainError::Internal(e.to_string()))
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Domain(d) => match d {
                DomainError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                DomainError::NotFound(_) => StatusCode::NOT_FOUND,
                DomainError::StaleVersion { .. } | DomainError::Conflict(_) => StatusCode::CONFLICT,
                DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
                DomainError::Unauthenticated => StatusCode::UNAUTHORIZED,
                DomainError::Throttled => StatusCode::TOO_MANY_REQUESTS,
                DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            AppError::Malformed { .. } | AppError::BadListParam { .. } => StatusCode::BAD_REQUEST,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
        }
    }

    /// The stable problem type, part of the API contract.
    pub fn problem_type(&self) -> &'static str {
        match self {
            AppError::Domain(d) => match d {
                DomainError::Invalid(_) => "/problems/validation",
                DomainError::NotFound(_) => "/problems/not-found",
                DomainError::StaleVersion { .. } => "/problems/stale-version",
                DomainError::Conflict(_) => "/problems/conflict",
                DomainError::Forbidden(_) => "/problems/forbidden",
                DomainError::Unauthenticated => "/problems/unauthenticated",
                DomainError::Throttled => "/problems/throttled",
                DomainError::Internal(_) => "/problems/internal",
            },
            AppError::Malformed { .. } => "/problems/malformed-body",
            AppError::TooLarge => "/problems/too-large",
            AppError::BadListParam { .. } => "/problems/bad-list-parameter",
            AppError::Csrf => "/problems/csrf",
            AppError::NotFound => "/problems/not-found",
        }
    }

    /// The message key and its detail.
    pub fn message(&self) -> (&'static str, String) {
        match self {
            AppError::Domain(d) => match d {
                DomainError::Invalid(_) => ("error.invalid", String::new()),
                DomainError::NotFound(_) => ("error.not_found", String::new()),
                DomainError::StaleVersion { .. } => ("error.stale_version", String::new()),
                DomainError::Conflict(why) => ("error.conflict", why.clone()),
                DomainError::Forbidden(p) => ("error.forbidden", p.clone()),
                DomainError::Unauthenticated => ("error.unauthenticated", String::new()),
                DomainError::Throttled => ("error.throttled", String::new()),
                DomainError::Internal(_) => ("error.internal", String::new()),
            },
            AppError::Malformed { json: true, detail } => ("error.malformed_json", detail.clone()),
            AppError::Malformed { json: false, detail } => ("error.malformed_form", detail.clone()),
            AppError::TooLarge => ("error.too_large", String::new()),
            AppError::BadListParam { key, detail } => (key, detail.clone()),
            AppError::Csrf => ("error.csrf", String::new()),
            AppError::NotFound => ("error.not_found", String::new()),
        }
    }

    /// The field errors of a validation failure.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            AppError::Domain(DomainError::Invalid(fields)) => fields,
            _ => &[],
        }
    }
}

/// Carried from the handler to the error layer inside the response.
#[derive(Clone)]
pub(crate) struct PendingError(pub Arc<AppError>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(PendingError(Arc::new(self)));
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;

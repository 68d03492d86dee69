//! Administration pages: users, roles and grants, API tokens, the audit log, webhooks.

use crate::state::AppState;
use axum::Router;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}

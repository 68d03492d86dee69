//! Administration API: the same operations as the pages, as JSON.

use crate::openapi::ApiRoute;
use crate::state::AppState;
use axum::Router;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}

pub(crate) fn docs() -> Vec<ApiRoute> {
    Vec::new()
}

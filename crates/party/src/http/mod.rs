//! The party module's HTTP side: JSON API and HTML pages. (Named `http` rather than `web`
//! so it cannot be confused with the `web` crate it builds on.)

pub mod api;
mod pages;

use axum::routing::get;
use axum::Router;
use web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/parties", get(pages::list).post(pages::create))
        .route("/parties/new", get(pages::new))
        .route("/parties/export.csv", get(pages::export))
        .route("/parties/{id}", get(pages::detail).post(pages::save))
        .route("/parties/{id}/edit", get(pages::edit))
        .route("/api/v1/parties", get(api::list).post(api::create))
        .route("/api/v1/parties/{id}", get(api::get).patch(api::patch))
        .route("/api/v1/parties/{id}/history", get(api::history))
}

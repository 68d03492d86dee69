//! The catalog's pages and API. (Named `http` so it cannot be confused with the `web` crate.)

mod api;
mod pages;

pub use api::docs;

use axum::routing::{get, post, put};
use axum::Router;
use web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/catalog/products", get(pages::products).post(pages::create))
        .route("/catalog/products/new", get(pages::new))
        .route("/catalog/products/{id}", get(pages::product).post(pages::save))
        .route("/catalog/products/{id}/edit", get(pages::edit))
        .route("/catalog/products/{id}/suppliers", post(pages::add_supplier))
        .route("/catalog/uoms", get(pages::uoms).post(pages::create_uom))
        .route("/catalog/price-lists", get(pages::price_lists).post(pages::create_price_list))
        .route("/catalog/price-lists/{id}/items", post(pages::add_price_item))
        .route("/api/v1/catalog/price-lists", get(api::price_lists).post(api::create_price_list))
        .route("/api/v1/catalog/price-lists/{id}/items", put(api::set_price_item))
        .route("/api/v1/catalog/price", get(api::price))
        .route("/api/v1/catalog/products", get(api::products).post(api::create))
        .route("/api/v1/catalog/products/{id}", get(api::product).patch(api::patch))
        .route("/api/v1/catalog/products/{id}/suppliers", put(api::set_supplier))
        .route("/api/v1/catalog/products/{id}/archive", post(api::archive))
        .route("/catalog/products/{id}/archive", post(pages::archive))
        .route("/api/v1/catalog/uoms", get(api::uoms).post(api::create_uom))
        .route("/api/v1/catalog/convert", get(api::convert))
}

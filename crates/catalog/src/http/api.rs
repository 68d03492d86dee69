//! `/api/v1/catalog/…`.

use crate::domain::ProductForm;
use crate::service::{self, SupplierForm, UomForm};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::{ApiJson, AppError, AppResult, Ctx};

pub fn docs() -> Vec<ApiRoute> {
    let route = |method, path, summary, permission: &'static str, request: Option<fn() -> Value>| ApiRoute {
        method,
        path,
        summary,
        tag: "catalog",
        permission: Some(permission),
        query: &[],
        request,
        response: object,
    };
    let mut list = route("GET", "/api/v1/catalog/products", "Products (q: code, barcode or name)", service::READ, None);
    list.query = &[("q", "Search text")];
    let mut convert = route(
        "GET",
        "/api/v1/catalog/convert",
        "Convert a quantity between units, exactly or not at all",
        service::READ,
        None,
    );
    convert.query = &[("quantity", "Decimal, up to six places"), ("from", "Unit code"), ("to", "Unit code")];
    vec![
        list,
        route("POST", "/api/v1/catalog/products", "Create a product", service::MANAGE, Some(object)),
        route("GET", "/api/v1/catalog/products/{id}", "A product with its suppliers", service::READ, None),
        route(
            "PATCH",
            "/api/v1/catalog/products/{id}",
            "Change a product; `version` must be current (the code stays)",
            service::MANAGE,
            Some(object),
        ),
        route(
            "PUT",
            "/api/v1/catalog/products/{id}/suppliers",
            "Add or replace a supplier of a product",
            service::MANAGE,
            Some(object),
        ),
        route("GET", "/api/v1/catalog/uoms", "Units of measure", service::READ, None),
        route("POST", "/api/v1/catalog/uoms", "Create a unit of measure", service::MANAGE, Some(object)),
        convert,
        route("GET", "/api/v1/catalog/price-lists", "Price lists with their items", service::READ, None),
        route(
            "POST",
            "/api/v1/catalog/price-lists",
            "Create a price list (one customer, a tag, or everyone; validity dates)",
            service::MANAGE,
            Some(object),
        ),
        route(
            "PUT",
            "/api/v1/catalog/price-lists/{id}/items",
            "Set a product's price from a minimum quantity",
            service::MANAGE,
            Some(object),
        ),
        ApiRoute {
            query: &[
                ("product_id", "Product"),
                ("party_id", "Customer (optional)"),
                ("quantity", "Quantity in the sales unit"),
                ("date", "YYYY-MM-DD"),
            ],
            ..route(
                "GET",
                "/api/v1/catalog/price",
                "The price a customer pays for a quantity on a date, and the list it comes from",
                service::READ,
                None,
            )
        },
    ]
}

async fn conn(ctx: &Ctx) -> AppResult<db::Conn> {
    Ok(ctx.db().read_conn().await?)
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::Domain(DomainError::NotFound("product")))
}

#[derive(Deserialize)]
pub struct Search {
    q: Option<String>,
}

pub async fn products(ctx: Ctx, Query(s): Query<Search>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": service::products(&mut conn, ctx.company_id(), s.q.as_deref()).await?})))
}

pub async fn create(ctx: Ctx, ApiJson(form): ApiJson<ProductForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::create_product(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok((StatusCode::CREATED, Json(json!(service::product(&mut conn, ctx.company_id(), id).await?))).into_response())
}

pub async fn product(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!(service::product(&mut conn, ctx.company_id(), parse_id(&id)?).await?)))
}

pub async fn set_supplier(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<SupplierForm>,
) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::set_supplier(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!(service::product(&mut conn, ctx.company_id(), id).await?)))
}

pub async fn uoms(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::ensure_default_uoms(&mut tx, ctx.company_id()).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": service::uoms(&mut conn, ctx.company_id()).await?})))
}

pub async fn create_uom(ctx: Ctx, ApiJson(form): ApiJson<UomForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::create_uom(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

#[derive(Deserialize)]
pub struct ConvertQuery {
    quantity: String,
    from: String,
    to: String,
}

pub async fn convert(ctx: Ctx, Query(q): Query<ConvertQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::ensure_default_uoms(&mut tx, ctx.company_id()).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let result = service::convert(&mut conn, ctx.company_id(), &q.quantity, &q.from, &q.to).await?;
    Ok(Json(json!({"quantity": q.quantity, "from": q.from, "to": q.to, "result": result.to_string()})))
}

/// Merges the given fields into the stored product and saves it, refusing a stale version.
pub async fn patch(ctx: Ctx, Path(id): Path<String>, ApiJson(body): ApiJson<Value>) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let Value::Object(mut changes) = body else {
        return Err(AppError::Malformed { json: true, detail: "expected a JSON object".into() });
    };
    let version = changes
        .remove("version")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| AppError::Domain(DomainError::invalid("version", "error.required", "")))?;
    ctx.require(service::MANAGE)?;
    let mut reader = conn(&ctx).await?;
    let current = service::product(&mut reader, ctx.company_id(), id).await?;
    drop(reader);
    let mut merged = serde_json::to_value(service::form_of(&current))
        .map_err(|e| AppError::Domain(DomainError::Internal(e.to_string())))?;
    for (key, value) in changes {
        merged[key] = value;
    }
    let form: ProductForm =
        serde_json::from_value(merged).map_err(|e| AppError::Malformed { json: true, detail: e.to_string() })?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::update_product(&mut tx, &ctx.principal, id, version, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!(service::product(&mut conn, ctx.company_id(), id).await?)))
}

pub async fn price_lists(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": crate::pricing::lists(&mut conn, ctx.company_id()).await?})))
}

pub async fn create_price_list(ctx: Ctx, ApiJson(form): ApiJson<crate::pricing::PriceListForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = crate::pricing::create_list(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

pub async fn set_price_item(
    ctx: Ctx,
    Path(id): Path<String>,
    ApiJson(form): ApiJson<crate::pricing::ItemForm>,
) -> AppResult<Json<Value>> {
    let id: i64 = id.parse().map_err(|_| AppError::Domain(DomainError::NotFound("price list")))?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    crate::pricing::set_item(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok(Json(json!({"ok": true})))
}

#[derive(Deserialize)]
pub struct PriceQuery {
    product_id: i64,
    party_id: Option<i64>,
    quantity: Option<String>,
    date: String,
}

pub async fn price(ctx: Ctx, Query(q): Query<PriceQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let quantity = kernel::Qty::parse(q.quantity.as_deref().unwrap_or("1"))
        .map_err(|e| AppError::Domain(DomainError::Invalid(vec![e])))?;
    let mut conn = conn(&ctx).await?;
    let quote =
        crate::pricing::price_for(&mut conn, ctx.company_id(), q.product_id, q.party_id, quantity, &q.date).await?;
    let price = kernel::Money::from_minor(quote.price, kernel::Currency::CNY).to_decimal().to_string();
    Ok(Json(
        json!({"product_id": q.product_id, "party_id": q.party_id, "quantity": quantity.to_string(), "date": q.date, "price": price, "source": quote.source}),
    ))
}

#[derive(Deserialize)]
pub struct ArchiveBody {
    archived: bool,
}

pub async fn archive(ctx: Ctx, Path(id): Path<String>, ApiJson(body): ApiJson<ArchiveBody>) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::archive_product(&mut tx, &ctx.principal, id, body.archived).await?;
    tx.commit().await?;
    let mut reader = conn(&ctx).await?;
    Ok(Json(json!(service::product(&mut reader, ctx.company_id(), id).await?)))
}

//! Purchasing pages and API. (Named `http` so it cannot be confused with the `web` crate.)

use crate::service::{self, BillForm, Order, OrderForm, OrderLineForm, OrderSummary, ReceiptForm, Request};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use db::RowExt;
use finance::domain::yuan;
use kernel::error::FieldError;
use kernel::{DomainError, Qty};
use serde::Deserialize;
use serde_json::{json, Value};
use web::chart::ReportQuery;
use web::openapi::{object, ApiRoute};
use web::page::{finish_form, flash_redirect, render, Refused};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/purchase/orders", get(orders_page).post(create_order_page))
        .route("/purchase/orders/{id}", get(order_page))
        .route("/purchase/orders/{id}/{action}", post(order_action_page))
        .route("/purchase/bills/{id}/approve", post(approve_bill_page))
        .route("/purchase/requests", get(requests_page))
        .route("/purchase/requests/{id}/order", post(order_request_page))
        .route("/purchase/settings", get(settings_page).post(save_settings_page))
        .route("/purchase/analysis", get(analysis_page))
        .route("/api/v1/purchase/reports/analysis", get(analysis_api))
        .route("/api/v1/purchase/reports/open-orders", get(open_orders_api))
        .route("/api/v1/purchase/orders", get(orders_api).post(create_order_api))
        .route("/api/v1/purchase/orders/{id}", get(order_api))
        .route("/api/v1/purchase/orders/{id}/confirm", post(confirm_api))
        .route("/api/v1/purchase/orders/{id}/approve", post(approve_api))
        .route("/api/v1/purchase/orders/{id}/cancel", post(cancel_api))
        .route("/api/v1/purchase/orders/{id}/receive", post(receive_api))
        .route("/api/v1/purchase/orders/{id}/return", post(return_api))
        .route("/api/v1/purchase/orders/{id}/debit", post(debit_api))
        .route("/api/v1/purchase/orders/{id}/bill", post(bill_api))
        .route("/api/v1/purchase/bills/{id}/approve", post(approve_bill_api))
        .route("/api/v1/purchase/requests", get(requests_api))
        .route("/api/v1/purchase/requests/{id}/order", post(order_request_api))
        .route("/api/v1/purchase/requests/{id}/quotes", get(quotes_api).post(request_quotes_api))
        .route("/api/v1/purchase/orders/{id}/quote", post(quote_api))
        .route("/api/v1/purchase/orders/{id}/choose", post(choose_api))
        .route("/purchase/requests/{id}/quotes", post(request_quotes_page))
        .route("/api/v1/purchase/settings", get(settings_api).put(save_settings_api))
}

pub fn docs() -> Vec<ApiRoute> {
    let route = |method, path, summary, permission: &'static str, request: Option<fn() -> Value>| ApiRoute {
        method,
        path,
        summary,
        tag: "purchase",
        permission: Some(permission),
        query: &[],
        request,
        response: object,
    };
    use service::{APPROVE, MANAGE, READ};
    vec![
        ApiRoute {
            query: &[("status", "draft, to_approve, confirmed, received, closed or cancelled (optional)")],
            ..route("GET", "/api/v1/purchase/orders", "The latest purchase orders", READ, None)
        },
        route("POST", "/api/v1/purchase/orders", "Create a draft purchase order", MANAGE, Some(object)),
        route("GET", "/api/v1/purchase/orders/{id}", "A purchase order with its lines and bills", READ, None),
        route(
            "POST",
            "/api/v1/purchase/orders/{id}/confirm",
            "Confirm a draft (above the threshold it waits for approval)",
            MANAGE,
            None,
        ),
        route("POST", "/api/v1/purchase/orders/{id}/approve", "Approve an order above the threshold", APPROVE, None),
        route("POST", "/api/v1/purchase/orders/{id}/cancel", "Cancel an order, or close its backorder", MANAGE, None),
        route(
            "POST",
            "/api/v1/purchase/orders/{id}/receive",
            "Receive goods (all that is still to come, or the lines given)",
            MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/purchase/orders/{id}/return",
            "Return received goods to the supplier",
            MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/purchase/orders/{id}/debit",
            "Debit note for what was billed and sent back on a closed order",
            MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/purchase/orders/{id}/bill",
            "Record the supplier's bill, matched against order and receipts",
            MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/purchase/bills/{id}/approve",
            "Approve a bill held by the three-way match",
            APPROVE,
            None,
        ),
        route("GET", "/api/v1/purchase/requests", "Purchase requests drafted by the reorder rules", READ, None),
        route(
            "POST",
            "/api/v1/purchase/requests/{id}/order",
            "Turn a request into a draft purchase order",
            MANAGE,
            Some(object),
        ),
        ApiRoute {
            query: &[
                ("from", "First order date (default: 1 January)"),
                ("to", "Last order date (default: today)"),
                ("by", "supplier, product or month"),
            ],
            ..route(
                "GET",
                "/api/v1/purchase/reports/analysis",
                "Confirmed orders of a period grouped by supplier, product or month",
                READ,
                None,
            )
        },
        route(
            "GET",
            "/api/v1/purchase/reports/open-orders",
            "Orders with goods to come or receipts to bill",
            READ,
            None,
        ),
        route(
            "POST",
            "/api/v1/purchase/requests/{id}/quotes",
            "Ask several suppliers to quote for a request",
            MANAGE,
            Some(object),
        ),
        route("GET", "/api/v1/purchase/requests/{id}/quotes", "The request's quotations, cheapest first", READ, None),
        route("POST", "/api/v1/purchase/orders/{id}/quote", "Record a supplier's quoted prices", MANAGE, Some(object)),
        route(
            "POST",
            "/api/v1/purchase/orders/{id}/choose",
            "Choose this quotation: it becomes the order",
            MANAGE,
            None,
        ),
        route("GET", "/api/v1/purchase/settings", "Approval threshold and match tolerances", READ, None),
        route(
            "PUT",
            "/api/v1/purchase/settings",
            "Change the approval threshold and tolerances",
            APPROVE,
            Some(object),
        ),
    ]
}

async fn conn(ctx: &Ctx) -> AppResult<db::Conn> {
    Ok(ctx.db().read_conn().await?)
}

fn qty(scaled: i64) -> String {
    Qty::from_scaled(scaled).to_string()
}

fn order_json(o: &Order) -> Value {
    json!({
        "id": o.id, "number": o.number, "supplier_id": o.supplier_id, "supplier_name": o.supplier_name,
        "warehouse": o.warehouse, "status": o.status, "date": o.date, "memo": o.memo,
        "net": yuan(o.net), "tax": yuan(o.tax), "total": yuan(o.total),
        "lines": o.lines.iter().map(|l| json!({
            "id": l.id, "line_no": l.line_no, "product_id": l.product_id, "product_code": l.product_code,
            "quantity": qty(l.quantity), "unit": l.unit, "unit_price": yuan(l.unit_price), "vat_rate": kernel::vat::choice(l.vat_rate_bp),
            "net": yuan(l.net), "tax": yuan(l.tax), "received": qty(l.received), "billed": qty(l.billed),
            "to_receive": qty(l.to_receive()), "to_bill": qty(l.to_bill()), "to_debit": qty(o.to_debit(l)),
        })).collect::<Vec<_>>(),
        "debit_notes": o.debit_notes.iter().map(|(id, number, total)| json!({"invoice_id": id, "number": number, "total": yuan(*total)})).collect::<Vec<_>>(),
        "bills": o.bills.iter().map(|b| json!({
            "id": b.id, "invoice_id": b.invoice_id, "invoice_number": b.invoice_number, "supplier_reference": b.supplier_reference,
            "status": b.status, "mismatch": b.mismatch, "total": yuan(b.total),
        })).collect::<Vec<_>>(),
    })
}

fn summary_json(o: &OrderSummary) -> Value {
    json!({"id": o.id, "number": o.number, "supplier_name": o.party_name, "date": o.date, "status": o.status, "total": yuan(o.total)})
}

fn request_json(r: &Request) -> Value {
    json!({
        "id": r.id, "number": r.number, "status": r.status, "supplier_id": r.supplier_id, "supplier_name": r.supplier_name,
        "warehouse": r.warehouse, "order_id": r.order_id,
        "lines": r.lines.iter().map(|l| json!({"product_id": l.product_id, "product_code": l.product_code,
            "quantity": qty(l.quantity), "reason": l.reason})).collect::<Vec<_>>(),
    })
}

async fn load(ctx: &Ctx, id: i64) -> AppResult<Order> {
    let mut conn = conn(ctx).await?;
    Ok(service::order(&mut conn, &ctx.principal, id).await?)
}

#[derive(Deserialize, Default)]
pub struct StatusQuery {
    #[serde(default)]
    status: Option<String>,
}

async fn orders_api(ctx: Ctx, Query(q): Query<StatusQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let status = q.status.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let items: Vec<Value> =
        service::orders(&mut conn, &ctx.principal, status).await?.iter().map(summary_json).collect();
    Ok(Json(json!({"items": items})))
}

async fn create_order_api(ctx: Ctx, ApiJson(form): ApiJson<OrderForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::create_order(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let order = load(&ctx, id).await?;
    Ok((StatusCode::CREATED, Json(order_json(&order))).into_response())
}

async fn order_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    Ok(Json(order_json(&load(&ctx, id).await?)))
}

async fn confirm_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let status = service::confirm_order(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "status": status})))
}

async fn approve_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::approve_order(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "status": "confirmed"})))
}

async fn cancel_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let status = service::cancel_order(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "status": status})))
}

async fn receive_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<ReceiptForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let moves = service::receive(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    let order = load(&ctx, id).await?;
    Ok((StatusCode::CREATED, Json(json!({"moves": moves, "order": order_json(&order)}))).into_response())
}

async fn return_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<ReceiptForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let moves = service::return_goods(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    let order = load(&ctx, id).await?;
    Ok((StatusCode::CREATED, Json(json!({"moves": moves, "order": order_json(&order)}))).into_response())
}

async fn debit_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<DateBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let note = service::debit(&mut tx, &ctx.principal, id, &body.date).await?;
    tx.commit().await?;
    let order = load(&ctx, id).await?;
    Ok((StatusCode::CREATED, Json(json!({"debit_note_id": note, "order": order_json(&order)}))).into_response())
}

async fn bill_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<BillForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::bill(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!(outcome))).into_response())
}

async fn approve_bill_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let status = service::approve_bill(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "status": status})))
}

async fn requests_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = service::requests(&mut conn, ctx.company_id()).await?.iter().map(request_json).collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateBody {
    date: String,
}

async fn order_request_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<DateBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let order = service::order_from_request(&mut tx, &ctx.principal, id, &body.date).await?;
    tx.commit().await?;
    let order = load(&ctx, order).await?;
    Ok((StatusCode::CREATED, Json(order_json(&order))).into_response())
}

fn settings_json(s: &crate::domain::Settings) -> Value {
    json!({
        "approval_threshold": yuan(s.approval_threshold),
        "price_tolerance": yuan(s.price_tolerance_bp),
        "quantity_tolerance": yuan(s.quantity_tolerance_bp),
    })
}

async fn settings_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(settings_json(&service::settings(&mut conn, ctx.company_id()).await?)))
}

async fn save_settings_api(ctx: Ctx, ApiJson(form): ApiJson<service::SettingsForm>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::set_settings(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(settings_json(&service::settings(&mut conn, ctx.company_id()).await?)))
}

// ---- Pages ----

/// The refusals of a form as (field, message) in the reader's language.
fn messages(ctx: &Ctx, errors: &[FieldError]) -> Vec<(String, String)> {
    web::page::field_messages(ctx, errors)
}

/// How many line rows the new-order form offers.
const FORM_LINES: usize = 5;

#[derive(Template)]
#[template(path = "purchase/orders.html")]
struct OrdersPage {
    page: PageCtx,
    orders: Vec<OrderSummary>,
    suppliers: Vec<(i64, String)>,
    warehouses: Vec<String>,
    products: Vec<(i64, String)>,
    /// Unit codes and labels for a line's unit (empty: the product's purchase unit).
    units: Vec<(String, String)>,
    form: OrderForm,
    errors: Vec<(String, String)>,
    today: String,
    can_manage: bool,
}

impl OrdersPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    fn line_error(&self, index: &usize, name: &str) -> Option<&str> {
        self.error(&format!("lines[{index}].{name}"))
    }

    /// The form's line rows: what was entered, padded with empty rows.
    fn rows(&self) -> Vec<(usize, OrderLineForm)> {
        let mut rows: Vec<OrderLineForm> = self.form.lines.clone();
        rows.resize(FORM_LINES.max(rows.len()), OrderLineForm::default());
        rows.into_iter().enumerate().collect()
    }
}

async fn choices(ctx: &Ctx) -> AppResult<(Vec<(i64, String)>, Vec<String>, Vec<(i64, String)>)> {
    let mut conn = conn(ctx).await?;
    let pair =
        |r: &db::Row, label: &str| -> Option<(i64, String)> { Some((r.try_get("id").ok()?, r.try_get(label).ok()?)) };
    let suppliers = sqlx::query(
        "SELECT p.id, p.name FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'supplier' \
         WHERE p.company_id = $1 AND p.archived_at IS NULL ORDER BY p.name LIMIT 500",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .filter_map(|r| pair(r, "name"))
    .collect();
    let warehouses = service_warehouses(&mut conn, ctx.company_id()).await?;
    let products = sqlx::query(
        "SELECT id, code || ' ' || name AS label FROM cat_products WHERE company_id = $1 AND archived_at IS NULL AND kind <> 'service' ORDER BY code LIMIT 1000",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .filter_map(|r| pair(r, "label"))
    .collect();
    Ok((suppliers, warehouses, products))
}

async fn service_warehouses(conn: &mut db::Conn, company: i64) -> AppResult<Vec<String>> {
    Ok(stock::service::warehouses(conn, company).await?.into_iter().map(|(code, _, _)| code).collect())
}

async fn orders_view(ctx: &Ctx, form: OrderForm, errors: Vec<(String, String)>) -> AppResult<OrdersPage> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let orders = service::orders(&mut conn, &ctx.principal, None).await?;
    let units = catalog::service::unit_choices(&mut conn, ctx.company_id()).await?;
    drop(conn);
    let (suppliers, warehouses, products) = choices(ctx).await?;
    Ok(OrdersPage {
        page: PageCtx::new(ctx, "purchase.orders", "/purchase/orders").await?,
        orders,
        suppliers,
        warehouses,
        products,
        units,
        form,
        errors,
        today: ctx.today().to_string(),
        can_manage: ctx.principal.may(service::MANAGE),
    })
}

async fn orders_page(ctx: Ctx) -> AppResult<Response> {
    render(&orders_view(&ctx, OrderForm::default(), Vec::new()).await?)
}

async fn create_order_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    // Rows left empty are not lines.
    let lines = pairs
        .rows(&["product_id", "quantity", "unit", "unit_price"])
        .into_iter()
        .filter(|[p, q, _, u]| !(p.trim().is_empty() && q.trim().is_empty() && u.trim().is_empty()))
        .map(|[p, q, unit, u]| OrderLineForm { product_id: p.parse().unwrap_or(0), quantity: q, unit, unit_price: u })
        .collect();
    let form = OrderForm {
        supplier_id: pairs.get("supplier_id").and_then(|s| s.parse().ok()).unwrap_or(0),
        warehouse: pairs.text("warehouse"),
        date: pairs.text("date"),
        memo: pairs.text("memo"),
        lines,
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::create_order(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/purchase/orders/{id}"), "common.created"),
        async |errors| {
            let text = messages(&ctx, &errors);
            orders_view(&ctx, form, text).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "purchase/order.html")]
struct OrderPage {
    page: PageCtx,
    order: Order,
    today: String,
    /// The action just refused, if any, as typed: its fields and messages are `action:field`
    /// (`bill:bill_price_7`, a line's message `bill:7`), shown in its form.
    refused: Refused,
    can_manage: bool,
    can_approve: bool,
}

impl OrderPage {
    fn error(&self, key: &str) -> Option<&str> {
        self.refused.message(key)
    }

    fn line_error(&self, form: &str, line: &i64) -> Option<&str> {
        self.refused.message(&format!("{form}:{line}"))
    }

    /// What the refused `form` sent in `field`, or `usual`.
    fn typed(&self, form: &str, field: &str, usual: impl std::fmt::Display) -> String {
        self.refused.typed(&format!("{form}:{field}"), usual)
    }

    fn qty(&self, scaled: impl std::borrow::Borrow<i64>) -> String {
        qty(*scaled.borrow())
    }

    fn cancellable(&self) -> bool {
        ["draft", "to_approve", "confirmed"].contains(&self.order.status.as_str())
    }

    fn open_to_receive(&self) -> bool {
        self.order.status == "confirmed" && self.order.lines.iter().any(|l| l.to_receive() > 0)
    }

    fn debitable(&self) -> bool {
        self.order.lines.iter().any(|l| self.order.to_debit(l) > 0)
    }

    fn open_to_bill(&self) -> bool {
        ["confirmed", "received", "closed"].contains(&self.order.status.as_str())
            && self.order.lines.iter().any(|l| l.to_bill() > 0)
    }

    /// A refused return reopens its folded form, so its messages are seen.
    fn return_refused(&self) -> bool {
        !self.refused.messages_of("return").is_empty()
    }

    fn returnable(&self) -> bool {
        ["confirmed", "received", "closed"].contains(&self.order.status.as_str())
            && self.order.lines.iter().any(|l| l.received > 0)
    }
}

async fn order_view(ctx: &Ctx, id: i64, refused: Refused) -> AppResult<OrderPage> {
    ctx.require(service::READ)?;
    let order = load(ctx, id).await?;
    Ok(OrderPage {
        page: PageCtx::new(ctx, "purchase.order", "/purchase/orders").await?.titled(order.number.clone()),
        order,
        today: ctx.today().to_string(),
        refused,
        can_manage: ctx.principal.may(service::MANAGE),
        can_approve: ctx.principal.may(service::APPROVE),
    })
}

async fn order_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    render(&order_view(&ctx, id, Refused::default()).await?)
}

/// The lines of a receive, return or bill form: per order line a quantity input
/// `<form>_qty_<line id>` and a second one `<form>_<second>_<line id>` (the lot of a receipt,
/// the billed price of a bill); lines left empty are skipped. Returns (line id, quantity,
/// second value) in the order submitted, to put refusals back in their rows.
fn posted_lines(pairs: &FormPairs, order: &Order, form: &str, second: &str) -> Vec<(i64, String, String)> {
    order
        .lines
        .iter()
        .filter_map(|l| {
            let quantity = pairs.text(&format!("{form}_qty_{}", l.id));
            let extra = pairs.text(&format!("{form}_{second}_{}", l.id));
            (!quantity.trim().is_empty()).then_some((l.id, quantity, extra))
        })
        .collect()
}

async fn order_action_page(ctx: Ctx, Path((id, action)): Path<(i64, String)>, pairs: FormPairs) -> AppResult<Response> {
    let order = load(&ctx, id).await?;
    let mut submitted: Vec<i64> = Vec::new();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome: db::Result<&str> = match action.as_str() {
        "confirm" => service::confirm_order(&mut tx, &ctx.principal, id).await.map(|_| "common.saved"),
        "quote" => {
            // One price per line, `quote_price_<line id>`; lines left empty keep theirs.
            let lines: Vec<service::QuoteLineForm> = order
                .lines
                .iter()
                .map(|l| service::QuoteLineForm {
                    line_id: l.id,
                    unit_price: pairs.text(&format!("quote_price_{}", l.id)),
                })
                .filter(|l| !l.unit_price.trim().is_empty())
                .collect();
            submitted = lines.iter().map(|l| l.line_id).collect();
            let form = service::QuoteForm { lines };
            service::record_quote(&mut tx, &ctx.principal, id, &form).await.map(|_| "purchase.quote_saved")
        }
        "choose" => service::choose_quote(&mut tx, &ctx.principal, id).await.map(|_| "purchase.quote_chosen"),
        "approve" => service::approve_order(&mut tx, &ctx.principal, id).await.map(|_| "purchase.approved"),
        "cancel" => service::cancel_order(&mut tx, &ctx.principal, id).await.map(|_| "common.saved"),
        "receive" | "return" => {
            let lines = posted_lines(&pairs, &order, &action, "lot");
            submitted = lines.iter().map(|l| l.0).collect();
            let form = ReceiptForm {
                date: pairs.text("date"),
                lines: lines
                    .into_iter()
                    .map(|(line_id, quantity, lot)| service::ReceiptLineForm {
                        line_id,
                        quantity,
                        lot,
                        expiry: pairs.text(&format!("{action}_expiry_{line_id}")),
                    })
                    .collect(),
            };
            if action == "receive" {
                if form.lines.is_empty() {
                    Err(DomainError::invalid("lines", "error.purchase.nothing_to_receive", &order.number).into())
                } else {
                    service::receive(&mut tx, &ctx.principal, id, &form).await.map(|_| "purchase.received_flash")
                }
            } else {
                service::return_goods(&mut tx, &ctx.principal, id, &form).await.map(|_| "purchase.returned")
            }
        }
        "debit" => {
            service::debit(&mut tx, &ctx.principal, id, &pairs.text("date")).await.map(|_| "purchase.debited_flash")
        }
        "bill" => {
            let lines = posted_lines(&pairs, &order, "bill", "price");
            submitted = lines.iter().map(|l| l.0).collect();
            let form = BillForm {
                date: pairs.text("date"),
                supplier_reference: pairs.text("supplier_reference"),
                lines: lines
                    .into_iter()
                    .map(|(line_id, quantity, unit_price)| service::BillLineForm { line_id, quantity, unit_price })
                    .collect(),
            };
            if form.lines.is_empty() {
                Err(DomainError::invalid("lines", "error.purchase.nothing_to_bill", &order.number).into())
            } else {
                service::bill(&mut tx, &ctx.principal, id, &form).await.map(|b| {
                    if b.status == "posted" {
                        "purchase.bill_posted"
                    } else {
                        "purchase.bill_held"
                    }
                })
            }
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_form(
        &ctx,
        tx,
        outcome,
        |key| (format!("/purchase/orders/{id}"), key),
        async |errors| {
            // `lines[2].quantity` of the submitted lines becomes `receive:<line id>`, shown in
            // that line's row; other fields stay with the form (`receive:date`).
            let located: Vec<FieldError> = errors
                .into_iter()
                .map(|mut e| {
                    let line = e
                        .field
                        .strip_prefix("lines[")
                        .and_then(|rest| rest.split(']').next())
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| submitted.get(i));
                    if let Some(line) = line {
                        e.field = line.to_string();
                    }
                    e
                })
                .collect();
            order_view(&ctx, id, Refused::new(&ctx, &action, located, pairs.clone())).await
        },
    )
    .await
}

async fn approve_bill_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let order: i64 = sqlx::query("SELECT order_id FROM pur_bills WHERE company_id = $1 AND id = $2")
        .bind(ctx.company_id())
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("bill"))?
        .try_get("order_id")?;
    service::approve_bill(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, &format!("/purchase/orders/{order}"), "purchase.approved"))
}

#[derive(Template)]
#[template(path = "purchase/requests.html")]
struct RequestsPage {
    page: PageCtx,
    requests: Vec<Request>,
    /// Per request being quoted, its quotations cheapest first.
    quotes: Vec<(i64, Vec<service::Quote>)>,
    suppliers: Vec<(i64, String)>,
    /// A refused request for quotes: the request and its messages, shown in its block.
    refused: Option<(i64, Vec<(String, String)>)>,
    today: String,
    can_manage: bool,
}

impl RequestsPage {
    fn qty(&self, scaled: &i64) -> String {
        qty(*scaled)
    }

    fn quotes_of(&self, request: &i64) -> Vec<&service::Quote> {
        self.quotes.iter().filter(|(r, _)| r == request).flat_map(|(_, q)| q.iter()).collect()
    }

    fn refusals_of(&self, request: &i64) -> Vec<&str> {
        match &self.refused {
            Some((r, messages)) if r == request => messages.iter().map(|(_, m)| m.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// Why a line was requested, in the reader's language.
    fn reason(&self, reason: &Value) -> String {
        let text = |key: &str| reason[key].as_str().unwrap_or("").to_string();
        // Reasons recorded before reservations counted carry no forecast: on hand was it.
        let forecast = if reason["forecast"].is_string() { text("forecast") } else { text("on_hand") };
        let mut out = self.page.t("purchase.reason_below");
        for (i, value) in [forecast, text("min"), text("max"), text("move")].iter().enumerate() {
            out = out.replace(&format!("{{{i}}}"), value);
        }
        out
    }
}

async fn requests_view(ctx: &Ctx, refused: Option<(i64, Vec<(String, String)>)>) -> AppResult<RequestsPage> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let requests = service::requests(&mut conn, ctx.company_id()).await?;
    let mut quotes = Vec::new();
    for r in requests.iter().filter(|r| r.status == "quoting") {
        quotes.push((r.id, service::quotes(&mut conn, ctx.company_id(), r.id).await?));
    }
    drop(conn);
    let (suppliers, _, _) = choices(ctx).await?;
    Ok(RequestsPage {
        page: PageCtx::new(ctx, "purchase.requests", "/purchase/requests").await?,
        requests,
        quotes,
        suppliers,
        refused,
        today: ctx.today().to_string(),
        can_manage: ctx.principal.may(service::MANAGE),
    })
}

async fn requests_page(ctx: Ctx) -> AppResult<Response> {
    render(&requests_view(&ctx, None).await?)
}

async fn order_request_page(ctx: Ctx, Path(id): Path<i64>, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let order = service::order_from_request(&mut tx, &ctx.principal, id, &pairs.text("date")).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, &format!("/purchase/orders/{order}"), "common.created"))
}

#[derive(Template)]
#[template(path = "purchase/settings.html")]
struct SettingsPage {
    page: PageCtx,
    form: service::SettingsForm,
    errors: Vec<(String, String)>,
}

impl SettingsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

async fn settings_page(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::APPROVE)?;
    let mut conn = conn(&ctx).await?;
    let s = service::settings(&mut conn, ctx.company_id()).await?;
    drop(conn);
    let form = service::SettingsForm {
        approval_threshold: yuan(s.approval_threshold),
        price_tolerance: yuan(s.price_tolerance_bp),
        quantity_tolerance: yuan(s.quantity_tolerance_bp),
    };
    render(&SettingsPage {
        page: PageCtx::new(&ctx, "purchase.settings", "/purchase/settings").await?,
        form,
        errors: Vec::new(),
    })
}

async fn save_settings_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = service::SettingsForm {
        approval_threshold: pairs.text("approval_threshold"),
        price_tolerance: pairs.text("price_tolerance"),
        quantity_tolerance: pairs.text("quantity_tolerance"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::set_settings(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| ("/purchase/settings".into(), "common.saved"),
        async |errors| {
            let errors = messages(&ctx, &errors);
            let page = PageCtx::new(&ctx, "purchase.settings", "/purchase/settings").await?;
            Ok(SettingsPage { page, form, errors })
        },
    )
    .await
}

// ---- Analysis ----

async fn analysis_api(ctx: Ctx, Query(q): Query<ReportQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let (from, to) = q.period(&ctx)?;
    let by = q.grouping("month");
    let mut conn = conn(&ctx).await?;
    let groups = crate::analysis::by(&mut conn, &ctx.principal.row_filter(service::READ)?, &from, &to, &by).await?;
    let items: Vec<Value> = groups
        .iter()
        .map(|g| json!({"key": g.key, "orders": g.orders, "quantity": qty(g.quantity), "received": qty(g.received), "net": yuan(g.net)}))
        .collect();
    Ok(Json(json!({"from": from, "to": to, "by": by, "items": items})))
}

async fn open_orders_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = crate::analysis::open_orders(&mut conn, &ctx.principal.row_filter(service::READ)?)
        .await?
        .iter()
        .map(|o| json!({"id": o.id, "number": o.number, "supplier_name": o.supplier_name, "date": o.date, "total": yuan(o.total), "lines_to_receive": o.lines_to_receive, "lines_to_bill": o.lines_to_bill}))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Template)]
#[template(path = "purchase/analysis.html")]
struct AnalysisPage {
    page: PageCtx,
    /// A refused `from` or `to`, shown next to its field (the default period is shown instead).
    period_errors: Vec<(String, String)>,
    from: String,
    to: String,
    by: String,
    groupings: [&'static str; 3],
    groups: Vec<crate::analysis::Group>,
    open: Vec<crate::analysis::OpenOrder>,
    chart: String,
}

impl AnalysisPage {
    fn period_error(&self, field: &str) -> Option<&str> {
        self.period_errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
    fn qty(&self, scaled: &i64) -> String {
        qty(*scaled)
    }
}

async fn analysis_page(ctx: Ctx, Query(q): Query<ReportQuery>) -> AppResult<Response> {
    ctx.require(service::READ)?;
    let ((from, to), period_errors) = q.period_for_page(&ctx)?;
    let by = q.grouping("month");
    let mut conn = conn(&ctx).await?;
    let groups = crate::analysis::by(&mut conn, &ctx.principal.row_filter(service::READ)?, &from, &to, &by).await?;
    let open = crate::analysis::open_orders(&mut conn, &ctx.principal.row_filter(service::READ)?).await?;
    drop(conn);
    let page = PageCtx::new(&ctx, "purchase.analysis", "/purchase/analysis").await?;
    let bars: Vec<web::chart::Bar> =
        groups.iter().take(24).map(|g| web::chart::Bar { label: g.key.clone(), value: g.net }).collect();
    let chart = web::chart::bars(&page.t(&format!("purchase.by.{by}")), &bars, |fen| page.money(&fen));
    render(&AnalysisPage {
        page,
        period_errors,
        from,
        to,
        by,
        groupings: crate::analysis::GROUPINGS,
        groups,
        open,
        chart,
    })
}

// ---- Requests for quotation ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotesBody {
    supplier_ids: Vec<i64>,
    date: String,
}

async fn request_quotes_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<QuotesBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let rfqs = service::request_quotes(&mut tx, &ctx.principal, id, &body.supplier_ids, &body.date).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"rfqs": rfqs}))).into_response())
}

fn quote_json(q: &service::Quote) -> Value {
    json!({"order_id": q.order_id, "number": q.number, "supplier_name": q.supplier_name, "status": q.status,
        "total": yuan(q.total), "unpriced_lines": q.unpriced_lines, "lead_days": q.lead_days})
}

async fn quotes_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = service::quotes(&mut conn, ctx.company_id(), id).await?.iter().map(quote_json).collect();
    Ok(Json(json!({"request_id": id, "items": items})))
}

async fn quote_api(
    ctx: Ctx,
    Path(id): Path<i64>,
    ApiJson(form): ApiJson<service::QuoteForm>,
) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::record_quote(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok(Json(order_json(&load(&ctx, id).await?)))
}

async fn choose_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::choose_quote(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(Json(order_json(&load(&ctx, id).await?)))
}

async fn request_quotes_page(ctx: Ctx, Path(id): Path<i64>, pairs: FormPairs) -> AppResult<Response> {
    let suppliers: Vec<i64> = pairs.all("supplier_id").iter().filter_map(|s| s.parse().ok()).collect();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::request_quotes(&mut tx, &ctx.principal, id, &suppliers, &pairs.text("date")).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| ("/purchase/requests".into(), "purchase.quotes_requested"),
        async |errors| {
            let text = messages(&ctx, &errors);
            requests_view(&ctx, Some((id, text))).await
        },
    )
    .await
}

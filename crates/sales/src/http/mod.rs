//! Sales pages and API. (Named `http` so it cannot be confused with the `web` crate.)

use crate::service::{self, DeliveryForm, DeliveryLineForm, Order, OrderForm, OrderLineForm, OrderSummary};
use crate::shipping::{self, Carrier, CarrierCall, Delivery, TrackingForm};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
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
use web::page::{finish_form, render, Refused};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sales/orders", get(orders_page).post(create_page))
        .route("/sales/orders/{id}", get(order_page))
        .route("/sales/orders/{id}/{action}", post(action_page))
        .route("/sales/credit-limits", get(limits_page).post(save_limit_page))
        .route("/sales/analysis", get(analysis_page))
        .route("/api/v1/sales/reports/analysis", get(analysis_api))
        .route("/api/v1/sales/reports/open-orders", get(open_orders_api))
        .route("/sales/carriers", get(carriers_page).post(create_carrier_page))
        .route("/sales/tracking-import", post(import_page))
        .route("/sales/deliveries/{id}/{action}", post(delivery_action_page))
        .route("/api/v1/sales/carriers", get(carriers_api).post(create_carrier_api))
        .route("/api/v1/sales/tracking-imports", post(import_api))
        .route("/api/v1/sales/deliveries/{id}/tracking", post(tracking_api))
        .route("/api/v1/sales/deliveries/{id}/events", post(event_api))
        .route("/api/v1/sales/deliveries/{id}/pack", post(pack_api))
        .route("/api/v1/sales/deliveries/{id}/ship", post(ship_api))
        .route("/api/v1/sales/deliveries/{id}/cancel", post(cancel_delivery_api))
        .route("/api/v1/sales/orders/{id}/pick", post(pick_api))
        .route("/public/carriers/{company}/{carrier}/events", post(carrier_callback))
        .route("/api/v1/sales/orders", get(orders_api).post(create_api))
        .route("/api/v1/sales/orders/{id}", get(order_api))
        .route("/api/v1/sales/orders/{id}/confirm", post(confirm_api))
        .route("/api/v1/sales/orders/{id}/cancel", post(cancel_api))
        .route("/api/v1/sales/orders/{id}/deliver", post(deliver_api))
        .route("/api/v1/sales/orders/{id}/invoice", post(invoice_api))
        .route("/api/v1/sales/orders/{id}/return", post(return_api))
        .route("/api/v1/sales/orders/{id}/credit", post(credit_api))
        .route("/api/v1/sales/credit-limits", get(limits_api).put(save_limit_api))
}

pub fn docs() -> Vec<ApiRoute> {
    let route = |method, path, summary, permission: &'static str, request: Option<fn() -> Value>| ApiRoute {
        method,
        path,
        summary,
        tag: "sales",
        permission: Some(permission),
        query: &[],
        request,
        response: object,
    };
    use service::{CREDIT, MANAGE, READ};
    vec![
        ApiRoute {
            query: &[("status", "quotation, confirmed, done or cancelled (optional)")],
            ..route("GET", "/api/v1/sales/orders", "The latest quotations and sales orders", READ, None)
        },
        route(
            "POST",
            "/api/v1/sales/orders",
            "Write a quotation (prices from the customer's price list; optional cost_center and project from the finance lists)",
            MANAGE,
            Some(object),
        ),
        route("GET", "/api/v1/sales/orders/{id}", "A quotation or order with its lines and invoices", READ, None),
        route(
            "POST",
            "/api/v1/sales/orders/{id}/confirm",
            "Confirm: check the credit limit and reserve the goods",
            MANAGE,
            None,
        ),
        route("POST", "/api/v1/sales/orders/{id}/cancel", "Cancel a quotation or an untouched order", MANAGE, None),
        route(
            "POST",
            "/api/v1/sales/orders/{id}/deliver",
            "Deliver goods (everything still to deliver, or the lines given)",
            MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/sales/orders/{id}/pick",
            "Start a delivery in the warehouse: a pick list (the lines given, or everything still to pick)",
            MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/sales/deliveries/{id}/pack",
            "Pack a picked delivery: parcels and weight",
            MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/sales/deliveries/{id}/ship",
            "Ship a picked or packed delivery: the goods leave the warehouse",
            MANAGE,
            Some(object),
        ),
        route("POST", "/api/v1/sales/deliveries/{id}/cancel", "Cancel a delivery not shipped yet", MANAGE, None),
        route(
            "POST",
            "/api/v1/sales/orders/{id}/invoice",
            "Invoice what was delivered or ordered",
            MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/sales/orders/{id}/return",
            "Take delivered goods back from the customer",
            MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/sales/orders/{id}/credit",
            "Credit note for what was invoiced and returned (or dropped)",
            MANAGE,
            Some(object),
        ),
        ApiRoute {
            query: &[
                ("from", "First order date (default: 1 January)"),
                ("to", "Last order date (default: today)"),
                ("by", "customer, product or month"),
            ],
            ..route(
                "GET",
                "/api/v1/sales/reports/analysis",
                "Confirmed orders of a period grouped by customer, product or month",
                READ,
                None,
            )
        },
        route(
            "GET",
            "/api/v1/sales/reports/open-orders",
            "Confirmed orders with goods to deliver or amounts to invoice",
            READ,
            None,
        ),
        route("GET", "/api/v1/sales/carriers", "Carriers with their callback secrets", MANAGE, None),
        route("POST", "/api/v1/sales/carriers", "Add a carrier", MANAGE, Some(object)),
        route(
            "POST",
            "/api/v1/sales/deliveries/{id}/tracking",
            "Set a delivery's carrier and tracking number",
            MANAGE,
            Some(object),
        ),
        route("POST", "/api/v1/sales/deliveries/{id}/events", "Record a tracking event by hand", MANAGE, Some(object)),
        route(
            "POST",
            "/api/v1/sales/tracking-imports",
            "Import a carrier's CSV of tracking events (all or nothing)",
            MANAGE,
            Some(object),
        ),
        ApiRoute {
            permission: None,
            ..route(
                "POST",
                "/public/carriers/{company}/{carrier}/events",
                "A carrier's signed status callback (X-Zhongshu-Signature: t=<unix>,v1=<HMAC-SHA256 of \"t.body\">)",
                MANAGE,
                Some(object),
            )
        },
        route("GET", "/api/v1/sales/credit-limits", "Customers' credit limits with their exposure", CREDIT, None),
        route("PUT", "/api/v1/sales/credit-limits", "Set or remove a customer's credit limit", CREDIT, Some(object)),
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
        "id": o.id, "number": o.number, "customer_id": o.customer_id, "customer_name": o.customer_name,
        "warehouse": o.warehouse, "status": o.status, "date": o.date, "tax_inclusive": o.tax_inclusive, "memo": o.memo,
        "cost_center": o.cost_center, "project": o.project,
        "net": yuan(o.net), "tax": yuan(o.tax), "total": yuan(o.total),
        "lines": o.lines.iter().map(|l| json!({
            "id": l.id, "line_no": l.line_no, "product_id": l.product_id, "product_code": l.product_code,
            "quantity": qty(l.quantity), "unit": l.unit, "unit_price": yuan(l.unit_price), "price_source": l.price_source,
            "vat_rate": kernel::vat::choice(l.vat_rate_bp), "net": yuan(l.net), "tax": yuan(l.tax),
            "delivered": qty(l.delivered), "invoiced": qty(l.invoiced), "to_credit": qty(o.to_credit(l)),
            "to_deliver": qty(l.to_deliver()), "preparing": qty(l.preparing), "to_pick": qty(l.to_pick()), "to_invoice": qty(l.to_invoice()),
        })).collect::<Vec<_>>(),
        "invoices": o.invoices.iter().map(|(id, number)| json!({"id": id, "number": number})).collect::<Vec<_>>(),
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
    let items: Vec<Value> = service::orders(&mut conn, &ctx.principal, status)
        .await?
        .iter()
        .map(|o| json!({"id": o.id, "number": o.number, "customer_name": o.party_name, "date": o.date, "status": o.status, "total": yuan(o.total)}))
        .collect();
    Ok(Json(json!({"items": items})))
}

async fn create_api(ctx: Ctx, ApiJson(form): ApiJson<OrderForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::create_quotation(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(order_json(&load(&ctx, id).await?))).into_response())
}

async fn order_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut body = order_json(&load(&ctx, id).await?);
    let mut conn = conn(&ctx).await?;
    body["deliveries"] = json!(shipping::deliveries(&mut conn, ctx.company_id(), id).await?);
    Ok(Json(body))
}

async fn confirm_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::confirm_order(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(Json(order_json(&load(&ctx, id).await?)))
}

async fn cancel_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::cancel_order(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(Json(order_json(&load(&ctx, id).await?)))
}

async fn deliver_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<DeliveryForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let delivery = service::deliver(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    let order = load(&ctx, id).await?;
    Ok((StatusCode::CREATED, Json(json!({"delivery": delivery, "order": order_json(&order)}))).into_response())
}

async fn credit_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<DateBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let note = service::credit(&mut tx, &ctx.principal, id, &body.date).await?;
    tx.commit().await?;
    let order = load(&ctx, id).await?;
    Ok((StatusCode::CREATED, Json(json!({"credit_note_id": note, "order": order_json(&order)}))).into_response())
}

async fn pick_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<DeliveryForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let delivery = service::pick(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(delivery_json(&ctx, delivery).await?)).into_response())
}

/// A delivery with its order, after a warehouse step.
async fn delivery_json(ctx: &Ctx, delivery: i64) -> AppResult<Value> {
    let mut conn = conn(ctx).await?;
    let order: i64 = sqlx::query("SELECT order_id FROM sal_deliveries WHERE company_id = $1 AND id = $2")
        .bind(ctx.company_id())
        .bind(delivery)
        .fetch_optional(&mut conn)
        .await?
        .ok_or(DomainError::NotFound("delivery"))?
        .try_get("order_id")?;
    let found = shipping::deliveries(&mut conn, ctx.company_id(), order).await?.into_iter().find(|d| d.id == delivery);
    drop(conn);
    let order = load(ctx, order).await?;
    Ok(json!({"delivery": found, "order": order_json(&order)}))
}

async fn pack_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<service::PackForm>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::pack(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok(Json(delivery_json(&ctx, id).await?))
}

async fn ship_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<service::ShipForm>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::ship(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok(Json(delivery_json(&ctx, id).await?))
}

async fn cancel_delivery_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::cancel_delivery(&mut tx, &ctx.principal, id).await?;
    tx.commit().await?;
    Ok(Json(delivery_json(&ctx, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateBody {
    date: String,
}

async fn return_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<DeliveryForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let moves = service::return_goods(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    let order = load(&ctx, id).await?;
    Ok((StatusCode::CREATED, Json(json!({"moves": moves, "order": order_json(&order)}))).into_response())
}

async fn invoice_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<DateBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let invoice = service::invoice(&mut tx, &ctx.principal, id, &body.date).await?;
    tx.commit().await?;
    let order = load(&ctx, id).await?;
    Ok((StatusCode::CREATED, Json(json!({"invoice_id": invoice, "order": order_json(&order)}))).into_response())
}

/// Customers with a credit limit: (id, name, limit, exposure without a new order).
async fn limits(ctx: &Ctx) -> AppResult<Vec<(i64, String, i64, i64)>> {
    let mut conn = conn(ctx).await?;
    let rows = sqlx::query(
        "SELECT c.party_id, p.name, c.credit_limit FROM sal_credit_limits c JOIN parties p ON p.id = c.party_id \
         WHERE c.company_id = $1 ORDER BY p.name LIMIT 1000",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let party: i64 = r.try_get("party_id")?;
        let exposure = service::exposure(&mut conn, ctx.company_id(), party, 0).await?;
        out.push((party, r.try_get("name")?, r.try_get("credit_limit")?, exposure.total()));
    }
    Ok(out)
}

async fn limits_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::CREDIT)?;
    let items: Vec<Value> = limits(&ctx)
        .await?
        .iter()
        .map(|(id, name, limit, exposure)| json!({"customer_id": id, "name": name, "credit_limit": yuan(*limit), "exposure": yuan(*exposure)}))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitBody {
    customer_id: i64,
    /// Yuan; empty removes the limit.
    #[serde(default)]
    credit_limit: String,
}

async fn save_limit_api(ctx: Ctx, ApiJson(body): ApiJson<LimitBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::set_credit_limit(&mut tx, &ctx.principal, body.customer_id, &body.credit_limit).await?;
    tx.commit().await?;
    Ok(Json(json!({"customer_id": body.customer_id, "credit_limit": body.credit_limit})))
}

// ---- Pages ----

fn messages(ctx: &Ctx, errors: &[FieldError]) -> Vec<(String, String)> {
    web::page::field_messages(ctx, errors)
}

fn find<'a>(errors: &'a [(String, String)], field: &str) -> Option<&'a str> {
    web::page::message_for(errors, field)
}

/// How many line rows the new-quotation form offers.
const FORM_LINES: usize = 5;

#[derive(Template)]
#[template(path = "sales/orders.html")]
struct OrdersPage {
    page: PageCtx,
    orders: Vec<OrderSummary>,
    customers: Vec<(i64, String)>,
    warehouses: Vec<String>,
    products: Vec<(i64, String)>,
    /// Unit codes and labels for a line's unit (empty: the product's sales unit).
    units: Vec<(String, String)>,
    /// The active cost centres and projects an order may name, offered as the field is typed.
    cost_centers: Vec<finance::dimensions::Tag>,
    projects: Vec<finance::dimensions::Tag>,
    form: OrderForm,
    errors: Vec<(String, String)>,
    today: String,
    can_manage: bool,
}

impl OrdersPage {
    fn error(&self, field: &str) -> Option<&str> {
        find(&self.errors, field)
    }

    fn line_error(&self, index: &usize, name: &str) -> Option<&str> {
        find(&self.errors, &format!("lines[{index}].{name}"))
    }

    fn rows(&self) -> Vec<(usize, OrderLineForm)> {
        let mut rows = self.form.lines.clone();
        rows.resize(FORM_LINES.max(rows.len()), OrderLineForm::default());
        rows.into_iter().enumerate().collect()
    }
}

async fn orders_view(ctx: &Ctx, form: OrderForm, errors: Vec<(String, String)>) -> AppResult<OrdersPage> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let orders = service::orders(&mut conn, &ctx.principal, None).await?;
    let pair =
        |r: &db::Row, label: &str| -> Option<(i64, String)> { Some((r.try_get("id").ok()?, r.try_get(label).ok()?)) };
    let customers = sqlx::query(
        "SELECT p.id, p.name FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'customer' \
         WHERE p.company_id = $1 AND p.archived_at IS NULL ORDER BY p.name LIMIT 1000",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .filter_map(|r| pair(r, "name"))
    .collect();
    let products = sqlx::query(
        "SELECT id, code || ' ' || name AS label FROM cat_products WHERE company_id = $1 AND archived_at IS NULL ORDER BY code LIMIT 1000",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .filter_map(|r| pair(r, "label"))
    .collect();
    let warehouses =
        stock::service::warehouses(&mut conn, ctx.company_id()).await?.into_iter().map(|(c, _, _)| c).collect();
    let units = catalog::service::unit_choices(&mut conn, ctx.company_id()).await?;
    use finance::dimensions::{offered, Dimension};
    let cost_centers = offered(&mut conn, ctx.company_id(), Dimension::CostCenter).await?;
    let projects = offered(&mut conn, ctx.company_id(), Dimension::Project).await?;
    drop(conn);
    Ok(OrdersPage {
        cost_centers,
        projects,
        page: PageCtx::new(ctx, "sales.orders", "/sales/orders").await?,
        orders,
        customers,
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

async fn create_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    // Rows left empty are not lines.
    let lines = pairs
        .rows(&["product_id", "quantity", "unit", "unit_price"])
        .into_iter()
        .filter(|[p, q, _, u]| !(p.trim().is_empty() && q.trim().is_empty() && u.trim().is_empty()))
        .map(|[p, q, unit, u]| OrderLineForm { product_id: p.parse().unwrap_or(0), quantity: q, unit, unit_price: u })
        .collect();
    let form = OrderForm {
        customer_id: pairs.get("customer_id").and_then(|s| s.parse().ok()).unwrap_or(0),
        warehouse: pairs.text("warehouse"),
        date: pairs.text("date"),
        tax_inclusive: pairs.get("tax_inclusive").is_some(),
        memo: pairs.text("memo"),
        cost_center: pairs.text("cost_center"),
        project: pairs.text("project"),
        lines,
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::create_quotation(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/sales/orders/{id}"), "common.created"),
        async |errors| {
            let text = messages(&ctx, &errors);
            orders_view(&ctx, form, text).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "sales/order.html")]
struct OrderPage {
    page: PageCtx,
    order: Order,
    deliveries: Vec<Delivery>,
    carriers: Vec<Carrier>,
    statuses: [&'static str; 4],
    today: String,
    /// The form just refused, if any, as typed: its fields and messages are `action:field`
    /// (`deliver:deliver_qty_7`, a line's message `deliver:7`) for the order's forms, and
    /// `delivery<id>-<form>:field` for a delivery's (pack, ship, tracking, event).
    refused: Refused,
    can_manage: bool,
    /// May open the income statement of the order's cost centre or project.
    can_report: bool,
}

impl OrderPage {
    /// The cost centre and project the order names, as (dimension key, code): its income
    /// statement since the order's month is a link away.
    fn tags(&self) -> Vec<(&'static str, &str)> {
        [("cost_center", self.order.cost_center.as_str()), ("project", self.order.project.as_str())]
            .into_iter()
            .filter(|(_, code)| !code.is_empty())
            .collect()
    }

    /// The months that income statement covers: from the order's month to this one (or just
    /// the order's, for an order dated ahead).
    fn statement_months(&self) -> (String, String) {
        let month = |date: &str| date.get(..7).unwrap_or_default().to_string();
        let (from, now) = (month(&self.order.date), month(&self.today));
        let to = if now > from { now } else { from.clone() };
        (from, to)
    }

    fn error(&self, key: &str) -> Option<&str> {
        self.refused.message(key)
    }

    fn line_error(&self, action: &str, line: &i64) -> Option<&str> {
        self.refused.message(&format!("{action}:{line}"))
    }

    /// What the refused `form` of the order sent in `field`, or `usual`.
    fn typed(&self, form: &str, field: &str, usual: impl std::fmt::Display) -> String {
        self.refused.typed(&format!("{form}:{field}"), usual)
    }

    fn delivery_error(&self, delivery: &i64, form: &str, field: &str) -> Option<&str> {
        self.refused.message(&format!("{}:{field}", delivery_form(*delivery, form)))
    }

    /// What a delivery's refused `form` sent in `field`, or `usual`.
    fn delivery_typed(&self, delivery: &i64, form: &str, field: &str, usual: impl std::fmt::Display) -> String {
        self.refused.typed(&format!("{}:{field}", delivery_form(*delivery, form)), usual)
    }

    /// Whether a delivery's refused `form` chose `value` in `field` (none chosen otherwise).
    fn delivery_chosen(&self, delivery: &i64, form: &str, field: &str, value: &str) -> bool {
        self.refused.chosen(&format!("{}:{field}", delivery_form(*delivery, form)), value, false)
    }

    fn qty(&self, scaled: impl std::borrow::Borrow<i64>) -> String {
        qty(*scaled.borrow())
    }

    /// A refused return opens its folded form, so its messages are seen.
    fn return_refused(&self) -> bool {
        !self.refused.messages_of("return").is_empty()
    }

    fn returnable(&self) -> bool {
        ["confirmed", "done", "closed"].contains(&self.order.status.as_str())
            && self.order.lines.iter().any(|l| l.stocked && l.delivered > 0)
    }

    fn deliverable(&self) -> bool {
        self.order.status == "confirmed" && self.order.lines.iter().any(|l| l.to_deliver() > 0)
    }

    fn creditable(&self) -> bool {
        self.order.lines.iter().any(|l| self.order.to_credit(l) > 0)
    }

    fn invoiceable(&self) -> bool {
        ["confirmed", "done", "closed"].contains(&self.order.status.as_str())
            && self.order.lines.iter().any(|l| l.to_invoice() > 0)
    }
}

/// The name under which a delivery's form is refused: `delivery12-ship`.
fn delivery_form(delivery: i64, form: &str) -> String {
    format!("delivery{delivery}-{form}")
}

async fn order_view(ctx: &Ctx, id: i64, refused: Refused) -> AppResult<OrderPage> {
    ctx.require(service::READ)?;
    let order = load(ctx, id).await?;
    let mut conn = conn(ctx).await?;
    let deliveries = shipping::deliveries(&mut conn, ctx.company_id(), id).await?;
    let carriers = shipping::carriers(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(OrderPage {
        page: PageCtx::new(ctx, "sales.order", "/sales/orders").await?.titled(order.number.clone()),
        order,
        deliveries,
        carriers,
        statuses: shipping::STATUSES,
        today: ctx.today().to_string(),
        refused,
        can_manage: ctx.principal.may(service::MANAGE),
        can_report: ctx.principal.may(finance::permissions::REPORTS),
    })
}

async fn order_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    render(&order_view(&ctx, id, Refused::default()).await?)
}

async fn action_page(ctx: Ctx, Path((id, action)): Path<(i64, String)>, pairs: FormPairs) -> AppResult<Response> {
    let order = load(&ctx, id).await?;
    // Picking submits the delivery form (its other button), so it reads and answers as that form.
    let form_name = if action == "pick" { "deliver" } else { action.as_str() };
    // Delivery and return lines (`<form>_qty_<line id>`, `<form>_lot_<line id>`) in the
    // order the form lists them, to put refusals back in their rows.
    let submitted: Vec<(i64, String, String)> = order
        .lines
        .iter()
        .filter_map(|l| {
            let quantity = pairs.text(&format!("{form_name}_qty_{}", l.id));
            (!quantity.trim().is_empty()).then(|| (l.id, quantity, pairs.text(&format!("{form_name}_lot_{}", l.id))))
        })
        .collect();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome: db::Result<&str> = match action.as_str() {
        "confirm" => service::confirm_order(&mut tx, &ctx.principal, id).await.map(|_| "sales.confirmed"),
        "cancel" => service::cancel_order(&mut tx, &ctx.principal, id).await.map(|_| "common.saved"),
        "invoice" => {
            service::invoice(&mut tx, &ctx.principal, id, &pairs.text("date")).await.map(|_| "sales.invoiced_flash")
        }
        "credit" => {
            service::credit(&mut tx, &ctx.principal, id, &pairs.text("date")).await.map(|_| "sales.credited_flash")
        }
        "pick" if submitted.is_empty() => {
            Err(DomainError::invalid("lines", "error.sales.nothing_to_deliver", &order.number).into())
        }
        "pick" => {
            let form = DeliveryForm {
                date: pairs.text("date"),
                carrier: pairs.text("carrier"),
                tracking_number: pairs.text("tracking_number"),
                lines: submitted
                    .iter()
                    .map(|(line_id, quantity, lot)| DeliveryLineForm {
                        line_id: *line_id,
                        quantity: quantity.clone(),
                        lot: lot.clone(),
                    })
                    .collect(),
            };
            service::pick(&mut tx, &ctx.principal, id, &form).await.map(|_| "sales.picked_flash")
        }
        "deliver" if submitted.is_empty() => {
            Err(DomainError::invalid("lines", "error.sales.nothing_to_deliver", &order.number).into())
        }
        "deliver" => {
            let form = DeliveryForm {
                date: pairs.text("date"),
                carrier: pairs.text("carrier"),
                tracking_number: pairs.text("tracking_number"),
                lines: submitted
                    .iter()
                    .map(|(line_id, quantity, lot)| DeliveryLineForm {
                        line_id: *line_id,
                        quantity: quantity.clone(),
                        lot: lot.clone(),
                    })
                    .collect(),
            };
            service::deliver(&mut tx, &ctx.principal, id, &form).await.map(|_| "sales.delivered_flash")
        }
        "return" => {
            let form = DeliveryForm {
                date: pairs.text("date"),
                lines: submitted
                    .iter()
                    .map(|(line_id, quantity, lot)| DeliveryLineForm {
                        line_id: *line_id,
                        quantity: quantity.clone(),
                        lot: lot.clone(),
                    })
                    .collect(),
                ..Default::default()
            };
            service::return_goods(&mut tx, &ctx.principal, id, &form).await.map(|_| "sales.returned")
        }
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_form(
        &ctx,
        tx,
        outcome,
        |key| (format!("/sales/orders/{id}"), key),
        async |errors| {
            // `lines[i].x` is about the i-th line submitted (a delivery) or the i-th line of the
            // order (a confirmation's reservations); either way it is shown in that line's row.
            let located: Vec<FieldError> = errors
                .into_iter()
                .map(|mut e| {
                    let index = e
                        .field
                        .strip_prefix("lines[")
                        .and_then(|rest| rest.split(']').next())
                        .and_then(|i| i.parse::<usize>().ok());
                    // A delivery's lines are those submitted, an invoice's those with something
                    // to invoice, a confirmation's all of the order's.
                    let line = index.and_then(|i| match action.as_str() {
                        "deliver" | "pick" | "return" => submitted.get(i).map(|s| s.0),
                        "invoice" => order.lines.iter().filter(|l| l.to_invoice() > 0).nth(i).map(|l| l.id),
                        _ => order.lines.get(i).map(|l| l.id),
                    });
                    if let Some(line) = line {
                        e.field = line.to_string();
                    }
                    e
                })
                .collect();
            order_view(&ctx, id, Refused::new(&ctx, form_name, located, pairs.clone())).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "sales/credit_limits.html")]
struct LimitsPage {
    page: PageCtx,
    limits: Vec<(i64, String, i64, i64)>,
    customers: Vec<(i64, String)>,
    /// The limit just refused: shown again as typed, the reason beside its field.
    refused: Refused,
}

impl LimitsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }
}

async fn limits_view(ctx: &Ctx, refused: Refused) -> AppResult<LimitsPage> {
    ctx.require(service::CREDIT)?;
    let limits = limits(ctx).await?;
    let mut conn = conn(ctx).await?;
    let customers = sqlx::query(
        "SELECT p.id, p.name FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = 'customer' \
         WHERE p.company_id = $1 AND p.archived_at IS NULL ORDER BY p.name LIMIT 1000",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .filter_map(|r| Some((r.try_get("id").ok()?, r.try_get("name").ok()?)))
    .collect();
    drop(conn);
    Ok(LimitsPage {
        page: PageCtx::new(ctx, "sales.credit_limits", "/sales/credit-limits").await?,
        limits,
        customers,
        refused,
    })
}

async fn limits_page(ctx: Ctx) -> AppResult<Response> {
    render(&limits_view(&ctx, Refused::default()).await?)
}

async fn save_limit_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let customer = pairs.get("customer_id").and_then(|c| c.parse().ok()).unwrap_or(0);
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::set_credit_limit(&mut tx, &ctx.principal, customer, &pairs.text("credit_limit")).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| ("/sales/credit-limits".into(), "common.saved"),
        async |errors| limits_view(&ctx, Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

// ---- Shipping ----

async fn carriers_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::MANAGE)?;
    let mut conn = conn(&ctx).await?;
    Ok(Json(json!({"items": shipping::carriers(&mut conn, ctx.company_id()).await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierBody {
    code: String,
    name: String,
}

async fn create_carrier_api(ctx: Ctx, ApiJson(body): ApiJson<CarrierBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = shipping::create_carrier(&mut tx, &ctx.principal, &body.code, &body.name).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let carrier = shipping::carriers(&mut conn, ctx.company_id()).await?.into_iter().find(|c| c.id == id);
    Ok((StatusCode::CREATED, Json(json!(carrier))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingBody {
    carrier: String,
    tracking_number: String,
}

async fn tracking_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<TrackingBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    shipping::set_tracking(&mut tx, &ctx.principal, id, &body.carrier, &body.tracking_number).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "carrier": body.carrier, "tracking_number": body.tracking_number})))
}

async fn event_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(form): ApiJson<TrackingForm>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let status = shipping::add_event(&mut tx, &ctx.principal, id, &form).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "status": status})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    carrier: String,
    csv: String,
}

async fn import_api(ctx: Ctx, ApiJson(body): ApiJson<ImportBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let recorded = shipping::import_events(&mut tx, &ctx.principal, &body.carrier, &body.csv).await?;
    tx.commit().await?;
    Ok(Json(json!({"recorded": recorded})))
}

/// A carrier's status callback. No session: the call proves itself with the carrier's
/// signature over the body, made within the last five minutes; the change is recorded as done
/// by the carrier.
async fn carrier_callback(
    State(state): State<AppState>,
    Path((company, carrier)): Path<(i64, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<Value>> {
    let mut conn = state.db.read_conn().await?;
    // An unknown company or carrier answers like a bad signature, so the callback does not
    // tell outsiders which companies and carriers exist.
    let secret = shipping::carrier_secret(&mut conn, company, &carrier).await?.ok_or(DomainError::Unauthenticated)?;
    drop(conn);
    let text = std::str::from_utf8(&body).map_err(|_| DomainError::invalid("body", "error.sales.callback_body", ""))?;
    let signature = headers.get("x-zhongshu-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let now = state.db.clock().now().timestamp();
    if !web::webhooks::verify(&secret, signature, text, now, shipping::CALLBACK_TOLERANCE_SECONDS) {
        return Err(DomainError::Unauthenticated.into());
    }
    let call: CarrierCall = serde_json::from_str(text)
        .map_err(|e| DomainError::invalid("body", "error.sales.callback_body", e.to_string()))?;
    let actor =
        db::Actor { user_id: None, login: format!("carrier:{}", carrier.to_uppercase()), company_id: Some(company) };
    let mut tx = state.db.begin(actor).await?;
    shipping::remember_call(&mut tx, signature).await?;
    let status = shipping::carrier_event(&mut tx, company, &carrier, &call).await?;
    tx.commit().await?;
    Ok(Json(json!({"tracking_number": call.tracking_number, "status": status})))
}

#[derive(Template)]
#[template(path = "sales/carriers.html")]
struct CarriersPage {
    page: PageCtx,
    carriers: Vec<Carrier>,
    company: i64,
    /// The form just refused (a new carrier, or a tracking import; their fields do not
    /// collide): shown again as typed, each message beside its field.
    refused: Refused,
}

impl CarriersPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn typed(&self, field: &str, usual: &str) -> String {
        self.refused.typed(field, usual)
    }

    /// Import refusals with the CSV line they are about: `rows[3].status` is line 5, after the header.
    fn import_errors(&self) -> Vec<String> {
        self.refused
            .errors
            .iter()
            .filter_map(|(field, message)| {
                if field == "csv" {
                    return Some(message.clone());
                }
                let row: usize = field.strip_prefix("rows[")?.split(']').next()?.parse().ok()?;
                Some(format!("#{} {message}", row + 2))
            })
            .collect()
    }
}

async fn carriers_view(ctx: &Ctx, refused: Refused) -> AppResult<CarriersPage> {
    ctx.require(service::MANAGE)?;
    let mut conn = conn(ctx).await?;
    let carriers = shipping::carriers(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(CarriersPage {
        page: PageCtx::new(ctx, "sales.carriers", "/sales/carriers").await?,
        carriers,
        company: ctx.company_id(),
        refused,
    })
}

async fn carriers_page(ctx: Ctx) -> AppResult<Response> {
    render(&carriers_view(&ctx, Refused::default()).await?)
}

async fn refused_or(
    ctx: &Ctx,
    outcome: db::Result<()>,
    tx: db::Tx,
    (to, key): (&str, &'static str),
    pairs: &FormPairs,
) -> AppResult<Response> {
    finish_form(
        ctx,
        tx,
        outcome,
        |()| (to.to_string(), key),
        async |errors| carriers_view(ctx, Refused::new(ctx, "", errors, pairs.clone())).await,
    )
    .await
}

async fn create_carrier_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome =
        shipping::create_carrier(&mut tx, &ctx.principal, &pairs.text("code"), &pairs.text("name")).await.map(|_| ());
    refused_or(&ctx, outcome, tx, ("/sales/carriers", "common.created"), &pairs).await
}

async fn import_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome =
        shipping::import_events(&mut tx, &ctx.principal, &pairs.text("carrier"), &pairs.text("csv")).await.map(|_| ());
    refused_or(&ctx, outcome, tx, ("/sales/carriers", "sales.imported"), &pairs).await
}

/// Tracking on the order page: `tracking` sets carrier and number, `event` records an event.
async fn delivery_action_page(
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    pairs: FormPairs,
) -> AppResult<Response> {
    let order: i64 = {
        let mut conn = conn(&ctx).await?;
        sqlx::query("SELECT order_id FROM sal_deliveries WHERE company_id = $1 AND id = $2")
            .bind(ctx.company_id())
            .bind(id)
            .fetch_optional(&mut conn)
            .await?
            .ok_or(DomainError::NotFound("delivery"))?
            .try_get("order_id")?
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = match action.as_str() {
        "tracking" => {
            shipping::set_tracking(&mut tx, &ctx.principal, id, &pairs.text("carrier"), &pairs.text("tracking_number"))
                .await
        }
        "event" => {
            let form = TrackingForm {
                status: pairs.text("status"),
                time: pairs.text("time").replace('T', " "),
                location: pairs.text("location"),
                note: pairs.text("note"),
            };
            shipping::add_event(&mut tx, &ctx.principal, id, &form).await.map(|_| ())
        }
        "pack" => {
            let form = service::PackForm { packages: pairs.text("packages"), weight: pairs.text("weight") };
            service::pack(&mut tx, &ctx.principal, id, &form).await
        }
        "ship" => {
            let form = service::ShipForm {
                date: pairs.text("date"),
                carrier: pairs.text("carrier"),
                tracking_number: pairs.text("tracking_number"),
            };
            service::ship(&mut tx, &ctx.principal, id, &form).await.map(|_| ())
        }
        "cancel" => service::cancel_delivery(&mut tx, &ctx.principal, id).await,
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| (format!("/sales/orders/{order}"), "common.saved"),
        async |errors| {
            // Shown in that delivery's block, beside the form sent (cancelling is a button of
            // the shipping form).
            let form = delivery_form(id, if action == "cancel" { "ship" } else { action.as_str() });
            order_view(&ctx, order, Refused::new(&ctx, &form, errors, pairs.clone())).await
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
        .map(|g| json!({"key": g.key, "orders": g.orders, "quantity": qty(g.quantity), "net": yuan(g.net)}))
        .collect();
    Ok(Json(json!({"from": from, "to": to, "by": by, "items": items})))
}

async fn open_orders_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = crate::analysis::open_orders(&mut conn, &ctx.principal.row_filter(service::READ)?)
        .await?
        .iter()
        .map(|o| json!({"id": o.id, "number": o.number, "customer_name": o.customer_name, "date": o.date, "total": yuan(o.total), "lines_to_deliver": o.lines_to_deliver, "not_invoiced": yuan(o.not_invoiced)}))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Template)]
#[template(path = "sales/analysis.html")]
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
    let page = PageCtx::new(&ctx, "sales.analysis", "/sales/analysis").await?;
    let bars: Vec<web::chart::Bar> =
        groups.iter().take(24).map(|g| web::chart::Bar { label: g.key.clone(), value: g.net }).collect();
    let chart = web::chart::bars(&page.t(&format!("sales.by.{by}")), &bars, |fen| page.money(&fen));
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

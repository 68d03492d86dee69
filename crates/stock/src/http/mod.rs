//! Stock pages and API. (Named `http` so it cannot be confused with the `web` crate.)

use crate::service::{self, LedgerLine, MoveForm, OnHand, ReorderForm, Replenishment, Valuation};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use db::RowExt;
use finance::domain::yuan;
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::chart::ReportQuery;
use web::openapi::{object, ApiRoute};
use web::page::{finish_form, render, Refused};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stock/on-hand", get(on_hand_page))
        .route("/stock/moves", get(moves_page).post(create_move))
        .route("/stock/count", post(count_page))
        .route("/stock/replenishment", get(replenishment_page).post(set_rule_page))
        .route("/api/v1/stock/reorder-rules", get(rules_api).post(set_rule_api))
        .route("/api/v1/stock/replenishment", get(replenishment_api))
        .route("/stock/warehouses", get(warehouses_page).post(create_warehouse))
        .route("/stock/moves/{id}/reverse", post(reverse_page))
        .route("/stock/valuation", get(valuation_page))
        .route("/api/v1/stock/quantities", get(quantities_api))
        .route("/api/v1/stock/valuation", get(valuation_api))
        .route("/api/v1/stock/availability", get(availability_api))
        .route("/api/v1/stock/fefo", get(fefo_api))
        .route("/stock/analysis", get(analysis_page))
        .route("/api/v1/stock/reports/turnover", get(turnover_api))
        .route("/api/v1/stock/reports/slow-movers", get(slow_movers_api))
        .route("/api/v1/stock/moves", post(move_api))
        .route("/api/v1/stock/moves/{id}/reverse", post(reverse_api))
        .route("/api/v1/stock/ledger", get(ledger_api))
        .route("/api/v1/stock/counts", post(count_api))
        .route("/api/v1/stock/warehouses", get(warehouses_api).post(warehouse_api))
}

pub fn docs() -> Vec<ApiRoute> {
    let route = |method, path, summary, permission: &'static str, request: Option<fn() -> Value>| ApiRoute {
        method,
        path,
        summary,
        tag: "stock",
        permission: Some(permission),
        query: &[],
        request,
        response: object,
    };
    vec![
        ApiRoute {
            query: &[("product_id", "One product (optional)"), ("location", "One location code (optional)")],
            ..route(
                "GET",
                "/api/v1/stock/quantities",
                "Quantities on hand per product, location and lot",
                service::READ,
                None,
            )
        },
        route(
            "GET",
            "/api/v1/stock/valuation",
            "Quantity, value and average cost per product, with the stock account's ledger balance",
            service::READ,
            None,
        ),
        ApiRoute {
            query: &[("product_id", "The product")],
            ..route(
                "GET",
                "/api/v1/stock/availability",
                "A product's on-hand, reserved and available quantity per warehouse",
                service::READ,
                None,
            )
        },
        ApiRoute {
            query: &[("from", "First day, YYYY-MM-DD (default: 1 January)"), ("to", "Last day (default: today)")],
            ..route(
                "GET",
                "/api/v1/stock/reports/turnover",
                "Per product: opening and closing value, cost of sales, turnover and days of cover",
                service::READ,
                None,
            )
        },
        ApiRoute {
            query: &[("days", "No delivery for this many days (default 90)")],
            ..route(
                "GET",
                "/api/v1/stock/reports/slow-movers",
                "Products held but not delivered lately",
                service::READ,
                None,
            )
        },
        ApiRoute {
            query: &[("product_id", "The product"), ("warehouse", "Warehouse code"), ("quantity", "How much to take")],
            ..route("GET", "/api/v1/stock/fefo", "Which lots to take, first expiring first", service::READ, None)
        },
        route("POST", "/api/v1/stock/moves", "Record a done move between two locations", service::MOVE, Some(object)),
        route(
            "POST",
            "/api/v1/stock/moves/{id}/reverse",
            "Reverse a done move with a move the other way round",
            service::MOVE,
            Some(object),
        ),
        ApiRoute {
            query: &[("product_id", "The product")],
            ..route("GET", "/api/v1/stock/ledger", "A product's moves with the running quantity", service::READ, None)
        },
        route(
            "POST",
            "/api/v1/stock/counts",
            "Record a stock count; the difference moves to or from inventory loss",
            service::MOVE,
            Some(object),
        ),
        route("GET", "/api/v1/stock/warehouses", "Warehouses and their stock locations", service::READ, None),
        route("POST", "/api/v1/stock/warehouses", "Create a warehouse", service::MANAGE, Some(object)),
        route("GET", "/api/v1/stock/reorder-rules", "Reorder rules with the quantity on hand", service::READ, None),
        route(
            "POST",
            "/api/v1/stock/reorder-rules",
            "Set a product's minimum and maximum in a warehouse",
            service::MANAGE,
            Some(object),
        ),
        route(
            "GET",
            "/api/v1/stock/replenishment",
            "What is below its minimum, how much to order and from whom",
            service::READ,
            None,
        ),
    ]
}

async fn conn(ctx: &Ctx) -> AppResult<db::Conn> {
    Ok(ctx.db().read_conn().await?)
}

/// The refusals of a form as (field, message) in the reader's language, for the page to show
/// each next to its field.
fn messages(ctx: &Ctx, errors: &[kernel::error::FieldError]) -> Vec<(String, String)> {
    errors.iter().map(|e| (e.field.to_string(), ctx.state.messages.format(ctx.lang, e.key, &e.detail))).collect()
}

fn message_for<'a>(messages: &'a [(String, String)], field: &str) -> Option<&'a str> {
    messages.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
}

/// `?product_id=`: one product, or (empty, as the filter's "—" sends it) all of them;
/// `?location=`: one location.
#[derive(Deserialize, Default)]
pub struct ProductQuery {
    /// Also accepted as `product`, the short name the API listing uses.
    #[serde(default, alias = "product")]
    product_id: Option<String>,
    #[serde(default)]
    location: Option<String>,
}

impl ProductQuery {
    fn product(&self) -> AppResult<Option<i64>> {
        match self.product_id.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => Ok(None),
            Some(p) => {
                Ok(Some(p.parse().map_err(|_| DomainError::invalid("product_id", "error.catalog.unknown_product", p))?))
            }
        }
    }
}

#[derive(Template)]
#[template(path = "stock/on_hand.html")]
struct OnHandPage {
    page: PageCtx,
    rows: Vec<OnHand>,
    ledger: Vec<LedgerLine>,
    /// The selected product's on hand, reserved and available per warehouse.
    availability: Vec<(String, service::Availability)>,
    products: Vec<(i64, String)>,
    locations: Vec<LocationChoice>,
    today: String,
    can_move: bool,
    /// What was entered in the count form, shown again after a refusal.
    count: CountBody,
    /// (field, message) of a refused count, shown next to its field.
    errors: Vec<(String, String)>,
}

impl OnHandPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

/// A location as a form offers it: code (the value), label (code and name), whether it holds stock.
pub struct LocationChoice {
    code: String,
    label: String,
    internal: bool,
}

async fn products_and_locations(ctx: &Ctx) -> AppResult<(Vec<(i64, String)>, Vec<LocationChoice>)> {
    let mut conn = conn(ctx).await?;
    let products = sqlx::query("SELECT id, code, name FROM cat_products WHERE company_id = $1 AND archived_at IS NULL AND kind <> 'service' ORDER BY code LIMIT 1000")
        .bind(ctx.company_id())
        .fetch_all(&mut conn)
        .await?
        .iter()
        .filter_map(|r| Some((r.try_get("id").ok()?, format!("{} {}", r.try_get::<String, _>("code").ok()?, r.try_get::<String, _>("name").ok()?))))
        .collect();
    let locations = sqlx::query(
        "SELECT code, name, kind FROM stk_locations WHERE company_id = $1 ORDER BY kind <> 'internal', code",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?
    .iter()
    .filter_map(|r| {
        let (code, name, kind): (String, String, String) =
            (r.try_get("code").ok()?, r.try_get("name").ok()?, r.try_get("kind").ok()?);
        Some(LocationChoice { label: format!("{code} {name}"), code, internal: kind == "internal" })
    })
    .collect();
    Ok((products, locations))
}

async fn on_hand_page(ctx: Ctx, Query(q): Query<ProductQuery>) -> AppResult<Response> {
    ctx.require(service::READ)?;
    render(&on_hand_view(&ctx, q, CountBody::default(), Vec::new()).await?)
}

async fn on_hand_view(
    ctx: &Ctx,
    q: ProductQuery,
    count: CountBody,
    errors: Vec<(String, String)>,
) -> AppResult<OnHandPage> {
    let mut conn = conn(ctx).await?;
    let rows = service::on_hand(&mut conn, ctx.company_id(), q.product()?, None).await?;
    let (ledger, availability) = match q.product()? {
        Some(p) => (
            service::ledger(&mut conn, ctx.company_id(), p).await?,
            service::availability(&mut conn, ctx.company_id(), p).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    drop(conn);
    let (products, locations) = products_and_locations(ctx).await?;
    Ok(OnHandPage {
        page: PageCtx::new(ctx, "stock.on_hand", "/stock/on-hand").await?,
        rows,
        ledger,
        availability,
        products,
        locations,
        today: ctx.today().to_string(),
        can_move: ctx.principal.may(service::MOVE),
        count,
        errors,
    })
}

#[derive(Template)]
#[template(path = "stock/moves.html")]
struct MovesPage {
    page: PageCtx,
    moves: Vec<MoveRow>,
    products: Vec<(i64, String)>,
    locations: Vec<LocationChoice>,
    today: String,
    /// What was entered, shown again after a refusal.
    form: MoveForm,
    /// (field, message) of a refused move, shown next to its field.
    errors: Vec<(String, String)>,
    can_move: bool,
}

impl MovesPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

/// A line of the list of moves.
pub struct MoveRow {
    id: i64,
    number: String,
    date: String,
    product: String,
    quantity: String,
    from: String,
    to: String,
    lot: String,
    value: String,
    reference: String,
    /// A reversal, or a move already reversed: neither can be reversed (again).
    reversible: bool,
}

async fn moves_view(ctx: &Ctx, form: MoveForm, errors: Vec<(String, String)>) -> AppResult<MovesPage> {
    let mut conn = conn(ctx).await?;
    let rows = sqlx::query(
        "SELECT m.id, m.number, m.move_date, p.code, m.quantity, f.code AS f, t.code AS t, m.lot, m.value, m.reference, m.reversal_of, \
           EXISTS (SELECT 1 FROM stk_moves r WHERE r.reversal_of = m.id) AS reversed FROM stk_moves m JOIN cat_products p ON p.id = m.product_id \
         JOIN stk_locations f ON f.id = m.from_location_id JOIN stk_locations t ON t.id = m.to_location_id WHERE m.company_id = $1 ORDER BY m.id DESC LIMIT 200",
    )
    .bind(ctx.company_id())
    .fetch_all(&mut conn)
    .await?;
    let moves = rows
        .iter()
        .map(|r| {
            Ok(MoveRow {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                date: r.try_get("move_date")?,
                product: r.try_get("code")?,
                quantity: kernel::Qty::from_scaled(r.try_get("quantity")?).to_string(),
                from: r.try_get("f")?,
                to: r.try_get("t")?,
                lot: r.try_get("lot")?,
                value: yuan(r.try_get("value")?),
                reference: r.try_get("reference")?,
                reversible: r.try_get::<Option<i64>, _>("reversal_of")?.is_none() && !db::flag(r, "reversed")?,
            })
        })
        .collect::<db::Result<Vec<_>>>()?;
    drop(conn);
    let (products, locations) = products_and_locations(ctx).await?;
    Ok(MovesPage {
        page: PageCtx::new(ctx, "stock.moves", "/stock/moves").await?,
        moves,
        products,
        locations,
        today: ctx.today().to_string(),
        form,
        errors,
        can_move: ctx.principal.may(service::MOVE),
    })
}

async fn moves_page(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::READ)?;
    render(&moves_view(&ctx, MoveForm::default(), Vec::new()).await?)
}

fn move_form(pairs: &FormPairs) -> MoveForm {
    MoveForm {
        product_id: pairs.get("product_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        quantity: pairs.text("quantity"),
        from: pairs.text("from"),
        to: pairs.text("to"),
        lot: pairs.text("lot"),
        reference: pairs.text("reference"),
        date: pairs.text("date"),
        unit_cost: pairs.text("unit_cost"),
        expiry: pairs.text("expiry"),
        tags: Default::default(),
    }
}

async fn create_move(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = move_form(&pairs);
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::move_stock(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| ("/stock/moves".into(), "common.created"),
        async |errors| {
            let text = messages(&ctx, &errors);
            // The refusal is shown on the page with the list of moves, which needs reading rights.
            ctx.require(service::READ)?;
            moves_view(&ctx, form, text).await
        },
    )
    .await
}

async fn count_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let body = CountBody {
        product_id: pairs.get("product_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        location: pairs.text("location"),
        lot: pairs.text("lot"),
        counted: pairs.text("counted"),
        date: pairs.text("date"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome =
        service::count(&mut tx, &ctx.principal, body.product_id, &body.location, &body.lot, &body.counted, &body.date)
            .await;
    let product_id = body.product_id;
    let saved = |made: Option<_>| {
        let key = if made.is_some() { "common.saved" } else { "stock.nothing_to_adjust" };
        (format!("/stock/on-hand?product_id={product_id}"), key)
    };
    finish_form(&ctx, tx, outcome, saved, async |errors| {
        let text = messages(&ctx, &errors);
        ctx.require(service::READ)?;
        let query = ProductQuery { product_id: Some(body.product_id.to_string()), location: None };
        on_hand_view(&ctx, query, body, text).await
    })
    .await
}

#[derive(Template)]
#[template(path = "stock/warehouses.html")]
struct WarehousesPage {
    page: PageCtx,
    warehouses: Vec<(String, String, String)>,
    /// The new warehouse just refused: shown again as typed, each message beside its field.
    refused: Refused,
    can_manage: bool,
}

impl WarehousesPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }
}

async fn warehouses_page(ctx: Ctx) -> AppResult<Response> {
    render(&warehouses_view(&ctx, Refused::default()).await?)
}

async fn warehouses_view(ctx: &Ctx, refused: Refused) -> AppResult<WarehousesPage> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let warehouses = service::warehouses(&mut conn, ctx.company_id()).await?;
    drop(conn);
    Ok(WarehousesPage {
        page: PageCtx::new(ctx, "stock.warehouses", "/stock/warehouses").await?,
        warehouses,
        refused,
        can_manage: ctx.principal.may(service::MANAGE),
    })
}

async fn create_warehouse(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::create_warehouse(&mut tx, &ctx.principal, &pairs.text("code"), &pairs.text("name")).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| ("/stock/warehouses".into(), "common.created"),
        async |errors| warehouses_view(&ctx, Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

async fn quantities_api(ctx: Ctx, Query(q): Query<ProductQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let location = q.location.as_deref().map(str::trim).filter(|l| !l.is_empty());
    let rows = service::on_hand(&mut conn, ctx.company_id(), q.product()?, location).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| json!({"product_id": r.product_id, "product_code": r.product_code, "location": r.location, "lot": r.lot, "expiry": r.expiry, "quantity": kernel::Qty::from_scaled(r.quantity).to_string()}))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
pub struct FefoQuery {
    product_id: i64,
    warehouse: String,
    quantity: String,
}

async fn fefo_api(ctx: Ctx, Query(q): Query<FefoQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let quantity = kernel::Qty::parse(&q.quantity).map_err(|e| DomainError::Invalid(vec![e]))?.scaled();
    let mut conn = conn(&ctx).await?;
    let picks = service::fefo(&mut conn, ctx.company_id(), q.product_id, &q.warehouse, quantity).await?;
    let items: Vec<Value> = picks
        .iter()
        .map(|p| json!({"lot": p.lot, "expiry": p.expiry, "available": kernel::Qty::from_scaled(p.available).to_string(), "take": kernel::Qty::from_scaled(p.take).to_string()}))
        .collect();
    Ok(Json(json!({"product_id": q.product_id, "items": items})))
}

async fn availability_api(ctx: Ctx, Query(q): Query<ProductQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let product = q.product()?.ok_or_else(|| DomainError::invalid("product_id", "error.required", ""))?;
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = service::availability(&mut conn, ctx.company_id(), product)
        .await?
        .iter()
        .map(|(warehouse, a)| {
            json!({"warehouse": warehouse, "on_hand": kernel::Qty::from_scaled(a.on_hand).to_string(),
                "reserved": kernel::Qty::from_scaled(a.reserved).to_string(), "available": kernel::Qty::from_scaled(a.available()).to_string()})
        })
        .collect();
    Ok(Json(json!({"product_id": product, "items": items})))
}

async fn move_api(ctx: Ctx, ApiJson(form): ApiJson<MoveForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let (id, number) = service::move_stock(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "number": number}))).into_response())
}

async fn ledger_api(ctx: Ctx, Query(q): Query<ProductQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let product = q.product()?.ok_or_else(|| DomainError::invalid("product_id", "error.required", ""))?;
    let mut conn = conn(&ctx).await?;
    let lines = service::ledger(&mut conn, ctx.company_id(), product).await?;
    let items: Vec<Value> = lines
        .iter()
        .map(|l| json!({"number": l.number, "date": l.date, "from": l.from, "to": l.to, "lot": l.lot, "change": kernel::Qty::from_scaled(l.change).to_string(), "balance": kernel::Qty::from_scaled(l.balance).to_string(), "value_change": yuan(l.value_change), "value_balance": yuan(l.value_balance)}))
        .collect();
    Ok(Json(json!({"product_id": product, "items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReverseBody {
    date: String,
}

async fn reverse_api(ctx: Ctx, Path(id): Path<i64>, ApiJson(body): ApiJson<ReverseBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let (id, number) = service::reverse_move(&mut tx, &ctx.principal, id, &body.date).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "number": number}))).into_response())
}

async fn reverse_page(ctx: Ctx, Path(id): Path<i64>, pairs: FormPairs) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::reverse_move(&mut tx, &ctx.principal, id, &pairs.text("date")).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |_| ("/stock/moves".into(), "stock.reversed"),
        async |errors| {
            let text = messages(&ctx, &errors);
            ctx.require(service::READ)?;
            moves_view(&ctx, MoveForm::default(), text).await
        },
    )
    .await
}

/// The valuation report with its total and the stock account's balance beside it.
struct ValuationReport {
    rows: Vec<Valuation>,
    total: i64,
    ledger: Option<i64>,
    /// The code of the stock account (库存商品) in the company's chart.
    account: &'static str,
}

async fn valuation_report(ctx: &Ctx) -> AppResult<ValuationReport> {
    ctx.require(service::READ)?;
    let mut conn = conn(ctx).await?;
    let rows = service::valuation(&mut conn, ctx.company_id()).await?;
    // The ledger's figure is for those who may read the ledger's reports.
    let ledger = if ctx.principal.may(finance::service::REPORTS) {
        service::stock_account_balance(&mut conn, ctx.company_id()).await?
    } else {
        None
    };
    let total = rows.iter().map(|r| r.value).sum();
    let account = finance::chart::code(&mut conn, ctx.company_id(), finance::chart::Role::Inventory).await?;
    Ok(ValuationReport { rows, total, ledger, account })
}

async fn valuation_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let report = valuation_report(&ctx).await?;
    let items: Vec<Value> = report
        .rows
        .iter()
        .map(|r| json!({"product_id": r.product_id, "product_code": r.product_code, "product_name": r.product_name, "costing": r.costing, "quantity": kernel::Qty::from_scaled(r.quantity).to_string(), "value": yuan(r.value), "average_cost": kernel::Qty::from_scaled(r.average_cost).to_string()}))
        .collect();
    Ok(Json(json!({
        "items": items,
        "total": yuan(report.total),
        "account": report.account,
        "ledger_balance": report.ledger.map(yuan),
    })))
}

#[derive(Template)]
#[template(path = "stock/valuation.html")]
struct ValuationPage {
    page: PageCtx,
    report: ValuationReport,
    account: &'static str,
}

impl ValuationPage {
    fn money(&self, fen: &i64) -> String {
        yuan(*fen)
    }

    fn qty(&self, scaled: &i64) -> String {
        kernel::Qty::from_scaled(*scaled).to_string()
    }

    /// The ledger balance less the valuation: zero while the two agree.
    fn difference(&self, ledger: &i64) -> String {
        yuan(*ledger - self.report.total)
    }
}

async fn valuation_page(ctx: Ctx) -> AppResult<Response> {
    let report = valuation_report(&ctx).await?;
    render(&ValuationPage {
        page: PageCtx::new(&ctx, "stock.valuation", "/stock/valuation").await?,
        account: report.account,
        report,
    })
}

#[derive(Deserialize, Default)]
pub struct CountBody {
    product_id: i64,
    location: String,
    #[serde(default)]
    lot: String,
    counted: String,
    date: String,
}

async fn count_api(ctx: Ctx, ApiJson(body): ApiJson<CountBody>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let made =
        service::count(&mut tx, &ctx.principal, body.product_id, &body.location, &body.lot, &body.counted, &body.date)
            .await?;
    tx.commit().await?;
    Ok(Json(json!({"adjustment": made})))
}

async fn warehouses_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = service::warehouses(&mut conn, ctx.company_id())
        .await?
        .iter()
        .map(|(c, n, l)| json!({"code": c, "name": n, "location": l}))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
pub struct WarehouseBody {
    code: String,
    name: String,
}

async fn warehouse_api(ctx: Ctx, ApiJson(body): ApiJson<WarehouseBody>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = service::create_warehouse(&mut tx, &ctx.principal, &body.code, &body.name).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

#[derive(Template)]
#[template(path = "stock/replenishment.html")]
struct ReplenishmentPage {
    page: PageCtx,
    rules: Vec<Replenishment>,
    products: Vec<(i64, String)>,
    warehouses: Vec<String>,
    form: ReorderForm,
    /// (field, message) of a refused rule, shown next to its field.
    errors: Vec<(String, String)>,
    can_manage: bool,
}

impl ReplenishmentPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    fn qty(&self, scaled: &i64) -> String {
        kernel::Qty::from_scaled(*scaled).to_string()
    }

    /// Why a line is on the list, in the reader's language.
    fn reason(&self, r: &Replenishment) -> String {
        let args = [self.qty(&r.on_hand), self.qty(&r.min), self.qty(&r.max), self.qty(&r.reserved)];
        let key = if r.reserved > 0 { "stock.reason_below_reserved" } else { "stock.reason_below" };
        let mut text = self.page.t(key);
        for (i, a) in args.iter().enumerate() {
            text = text.replace(&format!("{{{i}}}"), a);
        }
        text
    }

    fn due(&self) -> Vec<&Replenishment> {
        self.rules.iter().filter(|r| r.on_hand - r.reserved < r.min).collect()
    }
}

async fn replenishment_view(
    ctx: &Ctx,
    form: ReorderForm,
    errors: Vec<(String, String)>,
) -> AppResult<ReplenishmentPage> {
    let mut conn = conn(ctx).await?;
    let rules = service::reorder_rules(&mut conn, ctx.company_id(), false).await?;
    let warehouses =
        service::warehouses(&mut conn, ctx.company_id()).await?.into_iter().map(|(code, _, _)| code).collect();
    drop(conn);
    let (products, _) = products_and_locations(ctx).await?;
    Ok(ReplenishmentPage {
        page: PageCtx::new(ctx, "stock.replenishment", "/stock/replenishment").await?,
        rules,
        products,
        warehouses,
        form,
        errors,
        can_manage: ctx.principal.may(service::MANAGE),
    })
}

async fn replenishment_page(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::READ)?;
    render(&replenishment_view(&ctx, ReorderForm::default(), Vec::new()).await?)
}

async fn set_rule_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = ReorderForm {
        product_id: pairs.get("product_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        warehouse: pairs.text("warehouse"),
        min: pairs.text("min"),
        max: pairs.text("max"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = service::set_reorder_rule(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| ("/stock/replenishment".into(), "common.saved"),
        async |errors| {
            let text = messages(&ctx, &errors);
            ctx.require(service::READ)?;
            replenishment_view(&ctx, form, text).await
        },
    )
    .await
}

fn rule_json(r: &Replenishment) -> Value {
    let q = |v: i64| kernel::Qty::from_scaled(v).to_string();
    json!({"product_id": r.product_id, "product_code": r.product_code, "product_name": r.product_name, "warehouse": r.warehouse,
        "on_hand": q(r.on_hand), "reserved": q(r.reserved), "forecast": q(r.on_hand - r.reserved), "min": q(r.min), "max": q(r.max), "to_order": q(r.to_order), "supplier": r.supplier, "lead_days": r.lead_days})
}

async fn rules_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let rules = service::reorder_rules(&mut conn, ctx.company_id(), false).await?;
    Ok(Json(json!({"items": rules.iter().map(rule_json).collect::<Vec<_>>()})))
}

async fn replenishment_api(ctx: Ctx) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let mut conn = conn(&ctx).await?;
    let due = service::reorder_rules(&mut conn, ctx.company_id(), true).await?;
    Ok(Json(json!({"items": due.iter().map(rule_json).collect::<Vec<_>>()})))
}

async fn set_rule_api(ctx: Ctx, ApiJson(form): ApiJson<ReorderForm>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    service::set_reorder_rule(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok(Json(json!({"product_id": form.product_id, "warehouse": form.warehouse.trim().to_uppercase()})))
}

// ---- Analysis ----

/// The first day that still counts as recent for slow movers: `?days=` (90 by default) before today.
fn since(q: &ReportQuery, ctx: &Ctx) -> AppResult<(i64, String)> {
    let days = match q.days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => 90,
        Some(d) => d
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=3650).contains(d))
            .ok_or_else(|| DomainError::invalid("days", "error.stock.days", d))?,
    };
    Ok((days, (ctx.today() - chrono::Duration::days(days)).to_string()))
}

fn turnover_json(t: &crate::reports::Turnover) -> Value {
    json!({
        "product_id": t.product_id, "product_code": t.product_code, "product_name": t.product_name,
        "opening_value": yuan(t.opening_value), "closing_value": yuan(t.closing_value), "cost_of_sales": yuan(t.cost_of_sales),
        "delivered": kernel::Qty::from_scaled(t.delivered).to_string(), "closing_quantity": kernel::Qty::from_scaled(t.closing_quantity).to_string(),
        "turnover": t.turnover_x100.map(yuan), "days_of_cover": t.days_of_cover,
    })
}

async fn turnover_api(ctx: Ctx, Query(q): Query<ReportQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let (from, to) = q.period(&ctx)?;
    let mut conn = conn(&ctx).await?;
    let rows = crate::reports::turnover(&mut conn, ctx.company_id(), &from, &to).await?;
    Ok(Json(json!({"from": from, "to": to, "items": rows.iter().map(turnover_json).collect::<Vec<_>>()})))
}

async fn slow_movers_api(ctx: Ctx, Query(q): Query<ReportQuery>) -> AppResult<Json<Value>> {
    ctx.require(service::READ)?;
    let (days, since) = since(&q, &ctx)?;
    let mut conn = conn(&ctx).await?;
    let rows = crate::reports::slow_movers(&mut conn, ctx.company_id(), &since).await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|m| json!({"product_id": m.product_id, "product_code": m.product_code, "quantity": kernel::Qty::from_scaled(m.quantity).to_string(), "value": yuan(m.value), "last_delivery": m.last_delivery}))
        .collect();
    Ok(Json(json!({"days": days, "since": since, "items": items})))
}

#[derive(Template)]
#[template(path = "stock/analysis.html")]
struct AnalysisPage {
    page: PageCtx,
    /// A refused `from` or `to`, shown next to its field (the default period is shown instead).
    period_errors: Vec<(String, String)>,
    from: String,
    to: String,
    days: i64,
    turnover: Vec<crate::reports::Turnover>,
    slow: Vec<crate::reports::SlowMover>,
    /// The ten most valuable products held, as an SVG bar chart.
    value_chart: String,
    /// The ten products with the largest cost of sales in the period.
    sales_chart: String,
}

impl AnalysisPage {
    fn period_error(&self, field: &str) -> Option<&str> {
        self.period_errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
    fn money(&self, fen: &i64) -> String {
        yuan(*fen)
    }

    fn qty(&self, scaled: &i64) -> String {
        kernel::Qty::from_scaled(*scaled).to_string()
    }

    fn ratio(&self, x100: &Option<i64>) -> String {
        x100.map(yuan).unwrap_or_else(|| "—".into())
    }

    fn days_text(&self, days: &Option<i64>) -> String {
        days.map(|d| d.to_string()).unwrap_or_else(|| "—".into())
    }
}

/// The ten largest of `rows` by `value`, as bars.
fn top_ten<T>(rows: &[T], label: impl Fn(&T) -> String, value: impl Fn(&T) -> i64) -> Vec<web::chart::Bar> {
    let mut bars: Vec<web::chart::Bar> =
        rows.iter().map(|r| web::chart::Bar { label: label(r), value: value(r) }).filter(|b| b.value > 0).collect();
    bars.sort_by_key(|b| std::cmp::Reverse(b.value));
    bars.truncate(10);
    bars
}

async fn analysis_page(ctx: Ctx, Query(q): Query<ReportQuery>) -> AppResult<Response> {
    ctx.require(service::READ)?;
    let ((from, to), mut period_errors) = q.period_for_page(&ctx)?;
    let (days, since) = match since(&q, &ctx) {
        Ok(found) => found,
        Err(web::AppError::Domain(DomainError::Invalid(errors))) => {
            period_errors.extend(messages(&ctx, &errors));
            since(&ReportQuery::default(), &ctx)?
        }
        Err(e) => return Err(e),
    };
    let mut conn = conn(&ctx).await?;
    let turnover = crate::reports::turnover(&mut conn, ctx.company_id(), &from, &to).await?;
    let slow = crate::reports::slow_movers(&mut conn, ctx.company_id(), &since).await?;
    let held = service::valuation(&mut conn, ctx.company_id()).await?;
    drop(conn);
    let page = PageCtx::new(&ctx, "stock.analysis", "/stock/analysis").await?;
    let value_chart = web::chart::bars(
        &page.t("stock.chart_value"),
        &top_ten(&held, |v| v.product_code.clone(), |v| v.value),
        |fen| page.money(&fen),
    );
    let sales_chart = web::chart::bars(
        &page.t("stock.chart_cost_of_sales"),
        &top_ten(&turnover, |t| t.product_code.clone(), |t| t.cost_of_sales),
        |fen| page.money(&fen),
    );
    render(&AnalysisPage { page, period_errors, from, to, days, turnover, slow, value_chart, sales_chart })
}

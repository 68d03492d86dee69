//! Stock operations. A move is done when it is recorded: it takes a gapless number, changes
//! the two quants in the same transaction, refuses to take an internal location below zero
//! (the check and the change are one conditional update, so concurrent deliveries cannot both
//! take the last piece), writes its audit row and emits `stock.MoveDone`.

use crate::domain::{self, Layer};
use db::{Result, RowExt, Tx};
use finance::chart::Role;
use finance::domain::{yuan, Entry, Line};
use kernel::permission::Principal;
use kernel::{DomainError, Qty};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const READ: &str = "stock.move.read";
pub const MOVE: &str = "stock.move.create";
pub const MANAGE: &str = "stock.warehouse.manage";

/// The largest quantity one move or count may carry (a billion units, in millionths), so that
/// sums of quants stay far from the 64-bit limit.
pub const MAX_QUANTITY: i64 = 1_000_000_000 * 1_000_000;

/// Virtual locations every company has: (code, name, kind).
pub const VIRTUAL: [(&str, &str, &str); 5] = [
    ("SUPPLIER", "供应商 Suppliers", "supplier"),
    ("CUSTOMER", "客户 Customers", "customer"),
    ("LOSS", "盘亏盘盈 Inventory loss", "inventory_loss"),
    ("PRODUCTION", "生产 Production", "production"),
    ("SCRAP", "报废 Scrap", "scrap"),
];

async fn ensure_virtual_locations(tx: &mut Tx, company: i64) -> Result<()> {
    for (code, name, kind) in VIRTUAL {
        sqlx::query("INSERT INTO stk_locations (company_id, code, name, kind) VALUES ($1, $2, $3, $4) ON CONFLICT (company_id, code) DO NOTHING")
            .bind(company)
            .bind(code)
            .bind(name)
            .bind(kind)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// Creates a warehouse with its stock location `<CODE>/STOCK`.
pub async fn create_warehouse(tx: &mut Tx, principal: &Principal, code: &str, name: &str) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let code = code.trim().to_uppercase();
    let mut p = kernel::error::Problems::default();
    if code.is_empty() || code.len() > 10 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        p.add("code", "error.catalog.code", &code);
    }
    if name.trim().is_empty() {
        p.add("name", "error.required", "");
    }
    if sqlx::query("SELECT 1 FROM stk_warehouses WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(&code)
        .fetch_optional(tx.conn())
        .await?
        .is_some()
    {
        p.add("code", "error.catalog.code_taken", &code);
    }
    p.finish()?;
    ensure_virtual_locations(tx, company).await?;
    let now = tx.now().to_string();
    let inserted = sqlx::query(
        "INSERT INTO stk_warehouses (company_id, code, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(company)
    .bind(&code)
    .bind(name.trim())
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(db::Error::from);
    // Two people creating the same code at once: the second meets the unique key, not a 500.
    let id: i64 = match inserted {
        Err(e) if e.is_unique_violation() => {
            return Err(DomainError::invalid("code", "error.catalog.code_taken", &code).into())
        }
        other => other?.try_get("id")?,
    };
    sqlx::query(
        "INSERT INTO stk_locations (company_id, warehouse_id, code, name, kind) VALUES ($1, $2, $3, $4, 'internal')",
    )
    .bind(company)
    .bind(id)
    .bind(format!("{code}/STOCK"))
    .bind(format!("{} 库存", name.trim()))
    .execute(tx.conn())
    .await?;
    tx.audit(
        "create",
        "stock.warehouse",
        Some(&id.to_string()),
        &json!({"code": [null, code], "name": [null, name.trim()]}),
    )
    .await?;
    Ok(id)
}

/// A move as entered. Locations by code; the quantity in the product's stock unit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveForm {
    pub product_id: i64,
    pub quantity: String,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub lot: String,
    #[serde(default)]
    pub reference: String,
    pub date: String,
    /// The cost of one unit in yuan (up to six decimals), for goods coming into the warehouses.
    /// Required from the supplier location; elsewhere the current average cost is the default.
    #[serde(default)]
    pub unit_cost: String,
    /// A new lot's expiry date (`YYYY-MM-DD`), for goods coming in; required for a product that
    /// tracks expiry when its lot is first received.
    #[serde(default)]
    pub expiry: String,
    /// The cost centre and project the move's value is charged to on the side outside the
    /// warehouse (the cost of sales of a delivery). Named by the document that moves the stock,
    /// a sales order's delivery or return; the stock pages and API do not take them.
    #[serde(skip)]
    pub tags: MoveTags,
}

/// The cost centre and project of a move (see [`MoveForm::tags`]); empty: none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MoveTags {
    pub cost_center: String,
    pub project: String,
    /// The move takes back an earlier one of the same document (a customer's return): it
    /// carries the codes the earlier move carried even when they have been archived since, as
    /// a reversal does.
    pub undoing: bool,
}

struct Location {
    id: i64,
    kind: String,
    warehouse: Option<i64>,
}

impl Location {
    fn internal(&self) -> bool {
        self.kind == "internal"
    }
}

async fn location(tx: &mut Tx, company: i64, code: &str, field: &str) -> Result<Location> {
    let row = sqlx::query("SELECT id, kind, warehouse_id FROM stk_locations WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(code.trim())
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| DomainError::invalid(field, "error.stock.location", code))?;
    Ok(Location { id: row.try_get("id")?, kind: row.try_get("kind")?, warehouse: row.try_get("warehouse_id")? })
}

/// Records a done move, values it and, when the company keeps its books, posts its value to the
/// ledger. Returns its id and number.
pub async fn move_stock(tx: &mut Tx, principal: &Principal, form: &MoveForm) -> Result<(i64, String)> {
    record_move(tx, principal, form, None).await
}

/// A move that undoes another: the other way round, with the same quantity and lot.
struct Reversal {
    of: i64,
    /// The value the original took out, brought back exactly when the reversal brings goods in.
    value: i64,
}

async fn record_move(
    tx: &mut Tx,
    principal: &Principal,
    form: &MoveForm,
    reversal: Option<Reversal>,
) -> Result<(i64, String)> {
    principal.authorize(MOVE)?;
    let company = principal.company_id.0;
    ensure_virtual_locations(tx, company).await?;
    let mut p = kernel::error::Problems::default();
    let quantity = p.check(Qty::parse(&form.quantity));
    if quantity.is_some_and(|q| q.scaled() <= 0) {
        p.add("quantity", "error.catalog.quantity_positive", &form.quantity);
    }
    if quantity.is_some_and(|q| q.scaled() > MAX_QUANTITY) {
        p.add("quantity", "error.stock.too_large", &form.quantity);
    }
    let date = p.check(kernel::dates::parse("date", &form.date));
    let product = sqlx::query(
        "SELECT code, kind, track_lot, track_serial, track_expiry, costing FROM cat_products WHERE company_id = $1 AND id = $2 AND archived_at IS NULL",
    )
    .bind(company)
    .bind(form.product_id)
    .fetch_optional(tx.conn())
    .await?;
    let lot = form.lot.trim().to_string();
    match &product {
        None => p.add("product_id", "error.catalog.unknown_product", form.product_id.to_string()),
        Some(row) => {
            if row.try_get::<String, _>("kind")? == "service" {
                p.add("product_id", "error.stock.service", form.product_id.to_string());
            }
            if row.try_get::<i64, _>("track_lot")? == 1 && lot.is_empty() {
                p.add("lot", "error.stock.lot_required", "");
            }
            // A serial number is one unit: it moves alone and is on hand at most once.
            if row.try_get::<i64, _>("track_serial")? == 1 {
                if lot.is_empty() {
                    p.add("lot", "error.stock.serial_required", "");
                }
                if quantity.is_some_and(|q| q.scaled() != domain::ONE) {
                    p.add("quantity", "error.stock.serial_one", "");
                }
            }
        }
    }
    if lot.chars().count() > 50 {
        p.add("lot", "error.too_long", "50");
    }
    if form.reference.chars().count() > 100 {
        p.add("reference", "error.too_long", "100");
    }
    if form.from.trim() == form.to.trim() {
        p.add("to", "error.stock.same_location", &form.to);
    }
    let unit_cost = match form.unit_cost.trim() {
        "" => None,
        text => p.check(domain::parse_unit_cost("unit_cost", text)),
    };
    let expiry = match form.expiry.trim() {
        "" => None,
        text => p.check(kernel::dates::parse("expiry", text)).map(|d| d.to_string()),
    };
    p.finish()?;
    let from = location(tx, company, &form.from, "from").await?;
    let to = location(tx, company, &form.to, "to").await?;
    if from.kind == "supplier" && to.internal() && unit_cost.is_none() && reversal.is_none() {
        return Err(DomainError::invalid("unit_cost", "error.stock.unit_cost_required", "").into());
    }
    // Only goods coming in carry a cost; one typed on a delivery would be silently ignored.
    let inbound = to.internal() && !from.internal();
    if unit_cost.is_some() && !inbound {
        return Err(DomainError::invalid("unit_cost", "error.stock.unit_cost_inbound", &form.unit_cost).into());
    }
    if expiry.is_some() && !inbound {
        return Err(DomainError::invalid("expiry", "error.stock.expiry_inbound", &form.expiry).into());
    }
    let (product_code, costing) = match &product {
        Some(row) => (row.try_get::<String, _>("code")?, row.try_get::<String, _>("costing")?),
        None => (String::new(), String::new()),
    };
    let tracks_expiry = match &product {
        Some(row) => row.try_get::<i64, _>("track_expiry")? == 1,
        None => false,
    };
    if inbound && !lot.is_empty() {
        register_lot(tx, company, form.product_id, &lot, expiry.as_deref(), tracks_expiry).await?;
    }
    let quantity = quantity.map(|q| q.scaled()).unwrap_or(0);
    let date = date.map(|d| d.to_string()).unwrap_or_default();
    // The number first: its sequence row is the first lock every move takes, so moves that go
    // on to lock several products' quants (a receipt of many lines) cannot deadlock with
    // single moves on PostgreSQL; the order is sequence → quants → valuation → period.
    let year: i32 = date.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let number = tx.next_number(company, "stock.move", year, "MV/{year}/{seq:06}").await?;
    lock_quants(tx, company, form.product_id, &lot, &[from.id, to.id]).await?;
    let tracks_serial = match &product {
        Some(row) => row.try_get::<i64, _>("track_serial")? == 1,
        None => false,
    };
    if tracks_serial && inbound {
        // Checked under the quant locks, so two receipts of one serial into one location
        // cannot both pass.
        let on_hand: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(q.quantity), 0) AS BIGINT) AS n FROM stk_quants q JOIN stk_locations l ON l.id = q.location_id \
             WHERE q.company_id = $1 AND q.product_id = $2 AND q.lot = $3 AND l.kind = 'internal'",
        )
        .bind(company)
        .bind(form.product_id)
        .bind(&lot)
        .fetch_one(tx.conn())
        .await?
        .try_get("n")?;
        if on_hand > 0 {
            return Err(DomainError::invalid("lot", "error.stock.serial_on_hand", &lot).into());
        }
    }
    // Take from the source first. From an internal location only if enough is there: the check
    // and the change are one statement, so two deliveries cannot both take the last piece.
    if from.internal() {
        let taken = sqlx::query(
            "UPDATE stk_quants SET quantity = quantity - $1 WHERE company_id = $2 AND product_id = $3 AND location_id = $4 AND lot = $5 AND quantity >= $1",
        )
        .bind(quantity)
        .bind(company)
        .bind(form.product_id)
        .bind(from.id)
        .bind(&lot)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if taken == 0 {
            return Err(DomainError::invalid(
                "quantity",
                "error.stock.not_enough",
                Qty::from_scaled(quantity).to_string(),
            )
            .into());
        }
    } else {
        add_to_quant(tx, company, form.product_id, from.id, &lot, -quantity).await?;
    }
    add_to_quant(tx, company, form.product_id, to.id, &lot, quantity).await?;
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let inserted = sqlx::query(
        "INSERT INTO stk_moves (company_id, number, product_id, quantity, from_location_id, to_location_id, lot, reference, move_date, created_at, created_by, reversal_of, cost_center, project) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(form.product_id)
    .bind(quantity)
    .bind(from.id)
    .bind(to.id)
    .bind(&lot)
    .bind(form.reference.trim())
    .bind(&date)
    .bind(now)
    .bind(user)
    .bind(reversal.as_ref().map(|r| r.of))
    .bind(&form.tags.cost_center)
    .bind(&form.tags.project)
    .fetch_one(tx.conn())
    .await
    .map_err(db::Error::from);
    // Two people reversing one move at once: the second meets the unique key.
    let id: i64 = match inserted {
        Err(e) if e.is_unique_violation() => {
            return Err(DomainError::Conflict("the move is already reversed".into()).into())
        }
        other => other?.try_get("id")?,
    };
    let valued = Valued {
        id,
        number: &number,
        date: &date,
        product: form.product_id,
        product_code: &product_code,
        costing: &costing,
        quantity,
        tags: &form.tags,
    };
    let value = value_move(tx, company, &valued, &from, &to, unit_cost, reversal.as_ref().map(|r| r.value)).await?;
    let summary = json!({"number": number, "product_id": form.product_id, "quantity": Qty::from_scaled(quantity).to_string(), "from": form.from, "to": form.to, "lot": lot, "value": yuan(value), "reversal_of": reversal.as_ref().map(|r| r.of), "cost_center": form.tags.cost_center, "project": form.tags.project});
    tx.audit("create", "stock.move", Some(&id.to_string()), &json!({"move": [null, summary]})).await?;
    tx.emit("stock.product", &form.product_id.to_string(), "stock.MoveDone", &summary).await?;
    // Stock leaving a warehouse can take it below its minimum, stock coming in can lift it
    // back (which re-arms the alert); a move within one warehouse changes neither.
    if from.warehouse != to.warehouse {
        for warehouse in [from.warehouse, to.warehouse].into_iter().flatten() {
            refresh_alert(tx, company, form.product_id, warehouse, &number).await?;
        }
    }
    Ok((id, number))
}

/// The move being valued.
struct Valued<'a> {
    id: i64,
    number: &'a str,
    date: &'a str,
    product: i64,
    product_code: &'a str,
    costing: &'a str,
    quantity: i64,
    tags: &'a MoveTags,
}

/// The account on the other side of the stock account (库存商品) for a move to or from each
/// kind of location outside the warehouses: a receipt waits in 在途物资 for its supplier bill,
/// a delivery is the cost of the sale, count differences and scrap wait in 待处理财产损溢 for
/// approval, goods for production become production cost.
pub fn counterpart_role(kind: &str) -> Role {
    match kind {
        "supplier" => Role::GoodsInTransit,
        "customer" => Role::CostOfSales,
        "production" => Role::ProductionCost,
        _ => Role::PendingDisposal,
    }
}

/// Values a move that crosses the warehouses' boundary, keeps the product's quantity and value
/// (and FIFO layers), and posts the value to the ledger when the company keeps its books.
/// Transfers between warehouses change neither. Returns the move's value in fen.
async fn value_move(
    tx: &mut Tx,
    company: i64,
    mv: &Valued<'_>,
    from: &Location,
    to: &Location,
    unit_cost: Option<i64>,
    fixed_value: Option<i64>,
) -> Result<i64> {
    let inbound = !from.internal() && to.internal();
    let outbound = from.internal() && !to.internal();
    if !inbound && !outbound {
        return Ok(0);
    }
    // Locks the product's valuation row (creating it on first use) after the quants, the same
    // order for every move, so concurrent moves of one product queue instead of deadlocking.
    let row = sqlx::query(
        "INSERT INTO stk_valuations (company_id, product_id, quantity, value) VALUES ($1, $2, 0, 0) \
         ON CONFLICT (company_id, product_id) DO UPDATE SET quantity = stk_valuations.quantity RETURNING quantity, value",
    )
    .bind(company)
    .bind(mv.product)
    .fetch_one(tx.conn())
    .await?;
    let (on_hand, held): (i64, i64) = (row.try_get("quantity")?, row.try_get("value")?);
    let fifo = mv.costing == "fifo";
    let value = if inbound {
        let value = match (fixed_value, unit_cost) {
            (Some(value), _) => value,
            (None, Some(cost)) => domain::value_at(mv.quantity, cost),
            (None, None) => domain::value_at(mv.quantity, domain::average_cost(on_hand, held)),
        };
        if fifo {
            sqlx::query(
                "INSERT INTO stk_layers (company_id, product_id, move_id, quantity, value) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(company)
            .bind(mv.product)
            .bind(mv.id)
            .bind(mv.quantity)
            .bind(value)
            .execute(tx.conn())
            .await?;
        }
        value
    } else if fifo {
        take_fifo(tx, company, mv, on_hand, held).await?
    } else {
        domain::share_of(held, mv.quantity, on_hand)
    };
    let (quantity_change, value_change) = if inbound { (mv.quantity, value) } else { (-mv.quantity, -value) };
    sqlx::query(
        "UPDATE stk_valuations SET quantity = quantity + $1, value = value + $2 WHERE company_id = $3 AND product_id = $4",
    )
    .bind(quantity_change)
    .bind(value_change)
    .bind(company)
    .bind(mv.product)
    .execute(tx.conn())
    .await?;
    if to.kind == "customer" {
        // Kept for the slow-mover list: the latest delivery, whatever order moves are entered in.
        sqlx::query(
            "UPDATE stk_valuations SET last_delivery = $1 WHERE company_id = $2 AND product_id = $3 \
             AND (last_delivery IS NULL OR last_delivery < $1)",
        )
        .bind(mv.date)
        .bind(company)
        .bind(mv.product)
        .execute(tx.conn())
        .await?;
    }
    let entry_id = if value != 0 && keeps_books(tx, company).await? {
        let template = finance::chart::template(tx.conn(), company).await?;
        let stock = template.code(Role::Inventory);
        let counterpart = template.code(counterpart_role(if inbound { &from.kind } else { &to.kind }));
        let (debit, credit) = if inbound { (stock, counterpart) } else { (counterpart, stock) };
        let memo = format!("{} {}", mv.number, mv.product_code);
        let mut lines = vec![Line::cny(debit, value, 0), Line::cny(credit, 0, value)];
        for line in &mut lines {
            line.memo = memo.clone();
        }
        // The side outside the warehouses (the cost of sales, say) carries the document's cost
        // centre and project; the stock account is the company's, whoever's sale it was.
        let outside = if inbound { &mut lines[1] } else { &mut lines[0] };
        outside.cost_center = mv.tags.cost_center.clone();
        outside.project = mv.tags.project.clone();
        let entry = Entry {
            date: mv.date.to_string(),
            period: finance::domain::period_of(mv.date),
            word: "转".into(),
            memo,
            lines,
        };
        let posted = if mv.tags.undoing {
            finance::service::post_undoing_document_entry(tx, company, &entry, "stock").await?
        } else {
            finance::service::post_document_entry(tx, company, &entry, "stock").await?
        };
        Some(posted.0)
    } else {
        None
    };
    sqlx::query("UPDATE stk_moves SET value = $1, entry_id = $2 WHERE id = $3")
        .bind(value)
        .bind(entry_id)
        .bind(mv.id)
        .execute(tx.conn())
        .await?;
    Ok(value)
}

/// Takes a FIFO product's oldest layers. Stock that came in before the product was FIFO has no
/// layers; it goes last, at its average value.
async fn take_fifo(tx: &mut Tx, company: i64, mv: &Valued<'_>, on_hand: i64, held: i64) -> Result<i64> {
    let rows = sqlx::query(
        "SELECT id, quantity, value FROM stk_layers WHERE company_id = $1 AND product_id = $2 AND quantity > 0 ORDER BY id",
    )
    .bind(company)
    .bind(mv.product)
    .fetch_all(tx.conn())
    .await?;
    let layers: Vec<Layer> = rows
        .iter()
        .map(|r| Ok(Layer { id: r.try_get("id")?, quantity: r.try_get("quantity")?, value: r.try_get("value")? }))
        .collect::<Result<_>>()?;
    let (taken, mut value) = domain::consume_fifo(&layers, mv.quantity);
    for layer in &taken {
        sqlx::query("UPDATE stk_layers SET quantity = quantity - $1, value = value - $2 WHERE id = $3")
            .bind(layer.quantity)
            .bind(layer.value)
            .bind(layer.id)
            .execute(tx.conn())
            .await?;
    }
    let from_layers: i64 = taken.iter().map(|l| l.quantity).sum();
    if from_layers < mv.quantity {
        let (layer_qty, layer_value) = layers.iter().fold((0, 0), |(q, v), l| (q + l.quantity, v + l.value));
        value += domain::share_of(held - layer_value, mv.quantity - from_layers, on_hand - layer_qty);
    }
    Ok(value)
}

/// A company keeps its books here once its chart of accounts is set up; its stock moves then
/// post their value to the ledger (perpetual inventory).
async fn keeps_books(tx: &mut Tx, company: i64) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM fin_books WHERE company_id = $1")
        .bind(company)
        .fetch_optional(tx.conn())
        .await?
        .is_some())
}

/// Reverses a done move (冲销): a new move the other way round with the same quantity and lot,
/// dated `date`. Goods brought back come back at exactly the value they left with; goods taken
/// out leave by the costing method, like any delivery. A move is reversed once.
pub async fn reverse_move(tx: &mut Tx, principal: &Principal, id: i64, date: &str) -> Result<(i64, String)> {
    principal.authorize(MOVE)?;
    let company = principal.company_id.0;
    let row = sqlx::query(
        "SELECT m.number, m.product_id, m.quantity, m.lot, m.value, m.reversal_of, m.cost_center, m.project, f.code AS from_code, t.code AS to_code, t.kind AS to_kind, \
           EXISTS (SELECT 1 FROM stk_moves r WHERE r.reversal_of = m.id) AS reversed \
         FROM stk_moves m JOIN stk_locations f ON f.id = m.from_location_id JOIN stk_locations t ON t.id = m.to_location_id \
         WHERE m.company_id = $1 AND m.id = $2",
    )
    .bind(company)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(DomainError::NotFound("move"))?;
    if db::flag(&row, "reversed")? {
        return Err(DomainError::Conflict("the move is already reversed".into()).into());
    }
    // A reversal is undone by recording the move again, not by reversing the reversal.
    if row.try_get::<Option<i64>, _>("reversal_of")?.is_some() {
        return Err(DomainError::Conflict("a reversal cannot be reversed".into()).into());
    }
    let number: String = row.try_get("number")?;
    let form = MoveForm {
        product_id: row.try_get("product_id")?,
        quantity: Qty::from_scaled(row.try_get("quantity")?).to_string(),
        from: row.try_get("to_code")?,
        to: row.try_get("from_code")?,
        lot: row.try_get("lot")?,
        reference: format!("冲销 {number}"),
        date: date.to_string(),
        unit_cost: String::new(),
        expiry: String::new(),
        tags: MoveTags { cost_center: row.try_get("cost_center")?, project: row.try_get("project")?, undoing: true },
    };
    let done = record_move(tx, principal, &form, Some(Reversal { of: id, value: row.try_get("value")? })).await?;
    if row.try_get::<String, _>("to_kind")? == "customer" {
        // A delivery undone is no sale: the product's latest delivery is the latest one left.
        sqlx::query(
            "UPDATE stk_valuations SET last_delivery = (SELECT MAX(m.move_date) FROM stk_moves m \
               JOIN stk_locations t ON t.id = m.to_location_id WHERE m.company_id = $1 AND m.product_id = $2 AND t.kind = 'customer' \
               AND NOT EXISTS (SELECT 1 FROM stk_moves r WHERE r.reversal_of = m.id)) \
             WHERE company_id = $1 AND product_id = $2",
        )
        .bind(company)
        .bind(form.product_id)
        .execute(tx.conn())
        .await?;
    }
    Ok(done)
}

/// The value of one product's stock.
#[derive(Debug, Clone, Serialize)]
pub struct Valuation {
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub costing: String,
    pub quantity: i64,
    /// In fen.
    pub value: i64,
    /// Millionths of a yuan.
    pub average_cost: i64,
}

/// The stock valuation report: quantity and value per product, read from the kept rows.
pub async fn valuation(conn: &mut db::Conn, company: i64) -> Result<Vec<Valuation>> {
    let rows = sqlx::query(
        "SELECT v.product_id, p.code, p.name, p.costing, v.quantity, v.value FROM stk_valuations v \
         JOIN cat_products p ON p.id = v.product_id WHERE v.company_id = $1 AND (v.quantity <> 0 OR v.value <> 0) ORDER BY p.code",
    )
    .bind(company)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let (quantity, value): (i64, i64) = (r.try_get("quantity")?, r.try_get("value")?);
            Ok(Valuation {
                product_id: r.try_get("product_id")?,
                product_code: r.try_get("code")?,
                product_name: r.try_get("name")?,
                costing: r.try_get("costing")?,
                quantity,
                value,
                average_cost: domain::average_cost(quantity, value),
            })
        })
        .collect()
}

/// The ledger balance of the stock account (debit minus credit, all periods), when the company
/// keeps its books: the valuation report's total must equal it.
pub async fn stock_account_balance(conn: &mut db::Conn, company: i64) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(b.debit - b.credit), 0) AS BIGINT) AS net, COUNT(a.id) AS accounts FROM fin_accounts a \
         LEFT JOIN fin_balances b ON b.account_id = a.id WHERE a.company_id = $1 AND a.code = $2",
    )
    .bind(company)
    .bind(finance::chart::code(conn, company, Role::Inventory).await?)
    .fetch_one(&mut *conn)
    .await?;
    let accounts: i64 = row.try_get("accounts")?;
    Ok(if accounts > 0 { Some(row.try_get("net")?) } else { None })
}

/// Registers a lot the first time it comes in, with its expiry date (required when the product
/// tracks expiry); a lot that comes in again must not claim another date.
async fn register_lot(
    tx: &mut Tx,
    company: i64,
    product: i64,
    lot: &str,
    expiry: Option<&str>,
    tracks_expiry: bool,
) -> Result<()> {
    let known: Option<Option<String>> =
        sqlx::query("SELECT expiry_date FROM stk_lots WHERE company_id = $1 AND product_id = $2 AND lot = $3")
            .bind(company)
            .bind(product)
            .bind(lot)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get("expiry_date"))
            .transpose()?;
    match (known, expiry) {
        (Some(Some(stored)), Some(given)) if stored != given => {
            Err(DomainError::invalid("expiry", "error.stock.expiry_mismatch", stored).into())
        }
        (Some(_), _) => Ok(()),
        (None, None) if tracks_expiry => Err(DomainError::invalid("expiry", "error.stock.expiry_required", lot).into()),
        (None, expiry) => {
            sqlx::query(
                "INSERT INTO stk_lots (company_id, product_id, lot, expiry_date, created_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (company_id, product_id, lot) DO NOTHING",
            )
            .bind(company)
            .bind(product)
            .bind(lot)
            .bind(expiry)
            .bind(tx.now().to_string())
            .execute(tx.conn())
            .await?;
            Ok(())
        }
    }
}

/// A lot to take, first expiring first (FEFO): what it holds in the warehouse and how much of
/// the quantity asked to take from it.
#[derive(Debug, Clone, Serialize)]
pub struct LotPick {
    pub lot: String,
    pub expiry: Option<String>,
    pub available: i64,
    pub take: i64,
}

/// Which lots to take `quantity` from in a warehouse: those that expire first, then those
/// without a date, each up to what it holds. Refused on `quantity` when all lots together hold
/// less.
pub async fn fefo(
    conn: &mut db::Conn,
    company: i64,
    product: i64,
    warehouse: &str,
    quantity: i64,
) -> Result<Vec<LotPick>> {
    let rows = sqlx::query(
        "SELECT q.lot, k.expiry_date, CAST(SUM(q.quantity) AS BIGINT) AS available FROM stk_quants q \
         JOIN stk_locations l ON l.id = q.location_id JOIN stk_warehouses w ON w.id = l.warehouse_id \
         LEFT JOIN stk_lots k ON k.company_id = q.company_id AND k.product_id = q.product_id AND k.lot = q.lot \
         WHERE q.company_id = $1 AND q.product_id = $2 AND w.code = $3 AND l.kind = 'internal' AND q.quantity > 0 \
         GROUP BY q.lot, k.expiry_date ORDER BY CASE WHEN k.expiry_date IS NULL THEN 1 ELSE 0 END, k.expiry_date, q.lot",
    )
    .bind(company)
    .bind(product)
    .bind(warehouse.trim().to_uppercase())
    .fetch_all(conn)
    .await?;
    let mut left = quantity;
    let mut picks = Vec::new();
    for r in rows {
        if left <= 0 {
            break;
        }
        let available: i64 = r.try_get("available")?;
        let take = left.min(available);
        picks.push(LotPick { lot: r.try_get("lot")?, expiry: r.try_get("expiry_date")?, available, take });
        left -= take;
    }
    if left > 0 {
        let held = quantity - left;
        return Err(
            DomainError::invalid("quantity", "error.stock.not_enough", Qty::from_scaled(held).to_string()).into()
        );
    }
    Ok(picks)
}

/// Takes the row locks on a product's quants at these locations, creating empty ones as needed,
/// always in ascending location order. On PostgreSQL two moves in opposite directions (a
/// transfer and its return) would otherwise lock the same two rows in opposite orders and
/// deadlock; and a count reads the quantity only after holding the lock, so two identical
/// counts cannot both book the same difference. (SQLite serialises writers anyway.)
async fn lock_quants(tx: &mut Tx, company: i64, product: i64, lot: &str, locations: &[i64]) -> Result<()> {
    let mut ids = locations.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for location in ids {
        add_to_quant(tx, company, product, location, lot, 0).await?;
    }
    Ok(())
}

async fn add_to_quant(tx: &mut Tx, company: i64, product: i64, location: i64, lot: &str, quantity: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO stk_quants (company_id, product_id, location_id, lot, quantity) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (company_id, product_id, location_id, lot) DO UPDATE SET quantity = stk_quants.quantity + excluded.quantity",
    )
    .bind(company)
    .bind(product)
    .bind(location)
    .bind(lot)
    .bind(quantity)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A stock count (盘点): sets what is on hand at a location to what was counted, by a move from
/// or to the inventory-loss location for the difference. Returns the move, if there was one.
pub async fn count(
    tx: &mut Tx,
    principal: &Principal,
    product: i64,
    location_code: &str,
    lot: &str,
    counted: &str,
    date: &str,
) -> Result<Option<String>> {
    principal.authorize(MOVE)?;
    let company = principal.company_id.0;
    let counted = Qty::parse(counted).map_err(|mut e| {
        e.field = "counted".into();
        DomainError::Invalid(vec![e])
    })?;
    if counted.scaled() < 0 {
        return Err(DomainError::invalid("counted", "error.finance.negative", "").into());
    }
    if counted.scaled() > MAX_QUANTITY {
        return Err(DomainError::invalid("counted", "error.stock.too_large", counted.to_string()).into());
    }
    let loc = location(tx, company, location_code, "location").await?;
    if !loc.internal() {
        return Err(DomainError::invalid("location", "error.stock.location", location_code).into());
    }
    ensure_virtual_locations(tx, company).await?;
    let loss = location(tx, company, "LOSS", "location").await?;
    lock_quants(tx, company, product, lot.trim(), &[loc.id, loss.id]).await?;
    let on_hand: i64 = sqlx::query(
        "SELECT quantity FROM stk_quants WHERE company_id = $1 AND product_id = $2 AND location_id = $3 AND lot = $4",
    )
    .bind(company)
    .bind(product)
    .bind(loc.id)
    .bind(lot.trim())
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.try_get("quantity"))
    .transpose()?
    .unwrap_or(0);
    let difference = counted.scaled() - on_hand;
    if difference == 0 {
        return Ok(None);
    }
    let (from, to) = if difference > 0 {
        ("LOSS".to_string(), location_code.to_string())
    } else {
        (location_code.to_string(), "LOSS".to_string())
    };
    let form = MoveForm {
        product_id: product,
        quantity: Qty::from_scaled(difference.abs()).to_string(),
        from,
        to,
        lot: lot.to_string(),
        reference: "盘点 stock count".into(),
        date: date.to_string(),
        unit_cost: String::new(),
        expiry: String::new(),
        tags: Default::default(),
    };
    let (_, number) = move_stock(tx, principal, &form).await?;
    Ok(Some(number))
}

/// Quantity on hand per product, internal location and lot.
#[derive(Debug, Clone, Serialize)]
pub struct OnHand {
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub location: String,
    pub lot: String,
    /// The lot's expiry date, if it has one.
    pub expiry: Option<String>,
    pub quantity: i64,
}

pub async fn on_hand(
    conn: &mut db::Conn,
    company: i64,
    product: Option<i64>,
    location: Option<&str>,
) -> Result<Vec<OnHand>> {
    let mut q = db::SqlBuilder::new(
        "SELECT q.product_id, p.code, p.name, l.code AS location, q.lot, k.expiry_date, q.quantity FROM stk_quants q JOIN cat_products p ON p.id = q.product_id \
         JOIN stk_locations l ON l.id = q.location_id \
         LEFT JOIN stk_lots k ON k.company_id = q.company_id AND k.product_id = q.product_id AND k.lot = q.lot \
         WHERE l.kind = 'internal' AND q.quantity <> 0 AND q.company_id = ",
    );
    q.bind(company);
    if let Some(product) = product {
        q.push(" AND q.product_id = ").bind(product);
    }
    if let Some(location) = location {
        q.push(" AND l.code = ").bind(location.trim().to_uppercase());
    }
    q.push(" ORDER BY p.code, l.code, q.lot LIMIT 2000");
    let rows = q.build().fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(OnHand {
                product_id: r.try_get("product_id")?,
                product_code: r.try_get("code")?,
                product_name: r.try_get("name")?,
                location: r.try_get("location")?,
                lot: r.try_get("lot")?,
                expiry: r.try_get("expiry_date")?,
                quantity: r.try_get("quantity")?,
            })
        })
        .collect()
}

/// A line of a product's stock ledger: the move, and the running quantity and value in the
/// warehouses (values in fen).
#[derive(Debug, Clone, Serialize)]
pub struct LedgerLine {
    pub number: String,
    pub date: String,
    pub from: String,
    pub to: String,
    pub lot: String,
    pub change: i64,
    pub balance: i64,
    pub value_change: i64,
    pub value_balance: i64,
    pub reference: String,
}

pub async fn ledger(conn: &mut db::Conn, company: i64, product: i64) -> Result<Vec<LedgerLine>> {
    let rows = sqlx::query(
        "SELECT m.number, m.move_date, f.code AS from_code, f.kind AS from_kind, t.code AS to_code, t.kind AS to_kind, m.lot, m.quantity, m.value, m.reference \
         FROM stk_moves m JOIN stk_locations f ON f.id = m.from_location_id JOIN stk_locations t ON t.id = m.to_location_id \
         WHERE m.company_id = $1 AND m.product_id = $2 ORDER BY m.move_date, m.id LIMIT 5000",
    )
    .bind(company)
    .bind(product)
    .fetch_all(conn)
    .await?;
    let (mut balance, mut value_balance) = (0i64, 0i64);
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let quantity: i64 = r.try_get("quantity")?;
        let value: i64 = r.try_get("value")?;
        let inward = r.try_get::<String, _>("to_kind")? == "internal";
        let outward = r.try_get::<String, _>("from_kind")? == "internal";
        let (change, value_change) = match (inward, outward) {
            (true, false) => (quantity, value),
            (false, true) => (-quantity, -value),
            _ => (0, 0),
        };
        balance += change;
        value_balance += value_change;
        out.push(LedgerLine {
            number: r.try_get("number")?,
            date: r.try_get("move_date")?,
            from: r.try_get("from_code")?,
            to: r.try_get("to_code")?,
            lot: r.try_get("lot")?,
            change,
            balance,
            value_change,
            value_balance,
            reference: r.try_get("reference")?,
        });
    }
    Ok(out)
}

/// Warehouses and their stock locations: (code, name, location code).
pub async fn warehouses(conn: &mut db::Conn, company: i64) -> Result<Vec<(String, String, String)>> {
    let rows = sqlx::query(
        "SELECT w.code, w.name, l.code AS location FROM stk_warehouses w JOIN stk_locations l ON l.warehouse_id = w.id WHERE w.company_id = $1 ORDER BY w.code",
    )
    .bind(company)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("code")?, r.try_get("name")?, r.try_get("location")?))).collect()
}

/// Keeps a reorder rule's alert in step with the forecast (on hand less reserved): when the
/// forecast is below the minimum and the rule has not alerted yet, it emits
/// `stock.StockBelowMinimum` and remembers it; when the forecast is back at or above the
/// minimum it forgets, so the next fall alerts again. Ten deliveries below the minimum raise
/// one alert, not ten; a reservation that takes the forecast below raises it as a delivery
/// would. `reference` names what changed it (a move number, an order number).
async fn refresh_alert(tx: &mut Tx, company: i64, product: i64, warehouse: i64, reference: &str) -> Result<()> {
    update_alert(tx, company, product, warehouse, reference, true).await
}

/// Like `refresh_alert`, but with `may_alert` false it only re-arms a rule whose forecast is
/// back at or above its minimum (a rule just set or changed: it alerts at the next change of
/// stock, not at once).
async fn update_alert(
    tx: &mut Tx,
    company: i64,
    product: i64,
    warehouse: i64,
    reference: &str,
    may_alert: bool,
) -> Result<()> {
    // The no-op update locks the rule, so two changes that cross the minimum together see each
    // other's quantities and exactly one of them raises the alert.
    let Some(rule) = sqlx::query(
        "UPDATE stk_reorder_rules SET min_qty = min_qty WHERE company_id = $1 AND product_id = $2 AND warehouse_id = $3 \
         RETURNING min_qty, max_qty, alerted",
    )
    .bind(company)
    .bind(product)
    .bind(warehouse)
    .fetch_optional(tx.conn())
    .await?
    else {
        return Ok(());
    };
    let (min, max, alerted): (i64, i64, i64) =
        (rule.try_get("min_qty")?, rule.try_get("max_qty")?, rule.try_get("alerted")?);
    let on_hand = warehouse_on_hand(tx.conn(), company, product, warehouse).await?;
    let reserved = warehouse_reserved(tx.conn(), company, product, warehouse).await?;
    let forecast = on_hand - reserved;
    let below = forecast < min;
    if below == (alerted == 1) || (below && !may_alert) {
        return Ok(());
    }
    sqlx::query(
        "UPDATE stk_reorder_rules SET alerted = $1 WHERE company_id = $2 AND product_id = $3 AND warehouse_id = $4",
    )
    .bind(i64::from(below))
    .bind(company)
    .bind(product)
    .bind(warehouse)
    .execute(tx.conn())
    .await?;
    if below {
        let shown = |q: i64| Qty::from_scaled(q).to_string();
        let payload = json!({
            "product_id": product,
            "warehouse_id": warehouse,
            "on_hand": shown(on_hand),
            "reserved": shown(reserved),
            "forecast": shown(forecast),
            "min": shown(min),
            "max": shown(max),
            "to_order": shown(max - forecast),
            "move": reference,
        });
        tx.emit("stock.product", &product.to_string(), "stock.StockBelowMinimum", &payload).await?;
    }
    Ok(())
}

async fn warehouse_reserved(conn: &mut db::Conn, company: i64, product: i64, warehouse: i64) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT reserved FROM stk_reservations WHERE company_id = $1 AND product_id = $2 AND warehouse_id = $3",
    )
    .bind(company)
    .bind(product)
    .bind(warehouse)
    .fetch_optional(conn)
    .await?
    .map(|r| r.try_get("reserved"))
    .transpose()?
    .unwrap_or(0))
}

async fn warehouse_on_hand(conn: &mut db::Conn, company: i64, product: i64, warehouse: i64) -> Result<i64> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(q.quantity), 0) AS BIGINT) AS n FROM stk_quants q JOIN stk_locations l ON l.id = q.location_id \
         WHERE q.company_id = $1 AND q.product_id = $2 AND l.warehouse_id = $3 AND l.kind = 'internal'",
    )
    .bind(company)
    .bind(product)
    .bind(warehouse)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("n")?)
}

/// A reorder rule as entered: quantities in the product's stock unit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReorderForm {
    pub product_id: i64,
    pub warehouse: String,
    pub min: String,
    pub max: String,
}

/// Sets (or replaces) the reorder rule of a product in a warehouse.
pub async fn set_reorder_rule(tx: &mut Tx, principal: &Principal, form: &ReorderForm) -> Result<()> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let mut p = kernel::error::Problems::default();
    let min = p.check(Qty::parse(&form.min).map_err(|mut e| {
        e.field = "min".into();
        e
    }));
    let max = p.check(Qty::parse(&form.max).map_err(|mut e| {
        e.field = "max".into();
        e
    }));
    if min.is_some_and(|m| m.scaled() < 0) {
        p.add("min", "error.finance.negative", &form.min);
    }
    if let (Some(min), Some(max)) = (min, max) {
        if max.scaled() <= 0 || max.scaled() < min.scaled() {
            p.add("max", "error.stock.max_below_min", &form.max);
        }
    }
    let kind: Option<String> =
        sqlx::query("SELECT kind FROM cat_products WHERE company_id = $1 AND id = $2 AND archived_at IS NULL")
            .bind(company)
            .bind(form.product_id)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get("kind"))
            .transpose()?;
    match kind.as_deref() {
        None => p.add("product_id", "error.catalog.unknown_product", form.product_id.to_string()),
        Some("service") => p.add("product_id", "error.stock.service", form.product_id.to_string()),
        Some(_) => {}
    }
    let warehouse: Option<i64> = sqlx::query("SELECT id FROM stk_warehouses WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(form.warehouse.trim().to_uppercase())
        .fetch_optional(tx.conn())
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?;
    if warehouse.is_none() {
        p.add("warehouse", "error.stock.location", &form.warehouse);
    }
    p.finish()?;
    let (min, max, warehouse) =
        (min.map(|m| m.scaled()).unwrap_or(0), max.map(|m| m.scaled()).unwrap_or(0), warehouse.unwrap_or(0));
    let previous = sqlx::query("SELECT min_qty, max_qty FROM stk_reorder_rules WHERE company_id = $1 AND product_id = $2 AND warehouse_id = $3")
        .bind(company)
        .bind(form.product_id)
        .bind(warehouse)
        .fetch_optional(tx.conn())
        .await?
        .map(|r| -> Result<(i64, i64)> { Ok((r.try_get("min_qty")?, r.try_get("max_qty")?)) })
        .transpose()?;
    sqlx::query(
        "INSERT INTO stk_reorder_rules (company_id, product_id, warehouse_id, min_qty, max_qty, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (company_id, product_id, warehouse_id) DO UPDATE SET min_qty = excluded.min_qty, max_qty = excluded.max_qty, updated_at = excluded.updated_at",
    )
    .bind(company)
    .bind(form.product_id)
    .bind(warehouse)
    .bind(min)
    .bind(max)
    .bind(tx.now().to_string())
    .execute(tx.conn())
    .await?;
    let shown = |q: i64| Qty::from_scaled(q).to_string();
    let changes = json!({
        "min": [previous.map(|p| shown(p.0)), shown(min)],
        "max": [previous.map(|p| shown(p.1)), shown(max)],
    });
    let key = format!("{}/{}", form.product_id, warehouse);
    tx.audit(if previous.is_some() { "update" } else { "create" }, "stock.reorder_rule", Some(&key), &changes).await?;
    // A lowered minimum the forecast now meets re-arms the alert; a rule below its minimum
    // alerts at the next change of stock.
    update_alert(tx, company, form.product_id, warehouse, "", false).await
}

/// A line of the replenishment list: a rule whose warehouse is below its minimum.
#[derive(Debug, Clone, Serialize)]
pub struct Replenishment {
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub warehouse: String,
    pub on_hand: i64,
    /// Held by confirmed sales orders: the forecast is on hand less this.
    pub reserved: i64,
    pub min: i64,
    pub max: i64,
    /// Up to the maximum, from the forecast.
    pub to_order: i64,
    /// The preferred supplier, if the product has one.
    pub supplier: Option<String>,
    pub lead_days: Option<i64>,
}

/// Every reorder rule with what is on hand; `below_only` keeps those under their minimum.
pub async fn reorder_rules(conn: &mut db::Conn, company: i64, below_only: bool) -> Result<Vec<Replenishment>> {
    let rows = sqlx::query(
        "SELECT r.product_id, p.code, p.name, w.code AS warehouse, r.min_qty, r.max_qty, \
           CAST(COALESCE((SELECT SUM(q.quantity) FROM stk_quants q JOIN stk_locations l ON l.id = q.location_id \
             WHERE q.product_id = r.product_id AND l.warehouse_id = r.warehouse_id AND l.kind = 'internal'), 0) AS BIGINT) AS on_hand, \
           CAST(COALESCE((SELECT v.reserved FROM stk_reservations v WHERE v.company_id = r.company_id AND v.product_id = r.product_id \
             AND v.warehouse_id = r.warehouse_id), 0) AS BIGINT) AS reserved, \
           (SELECT pa.name FROM cat_product_suppliers s JOIN parties pa ON pa.id = s.party_id WHERE s.product_id = r.product_id AND s.preferred = 1 ORDER BY s.party_id LIMIT 1) AS supplier, \
           (SELECT s.lead_days FROM cat_product_suppliers s WHERE s.product_id = r.product_id AND s.preferred = 1 ORDER BY s.party_id LIMIT 1) AS lead_days \
         FROM stk_reorder_rules r JOIN cat_products p ON p.id = r.product_id JOIN stk_warehouses w ON w.id = r.warehouse_id \
         WHERE r.company_id = $1 ORDER BY p.code, w.code LIMIT 2000",
    )
    .bind(company)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let (on_hand, reserved, min, max): (i64, i64, i64, i64) =
            (r.try_get("on_hand")?, r.try_get("reserved")?, r.try_get("min_qty")?, r.try_get("max_qty")?);
        let forecast = on_hand - reserved;
        if below_only && forecast >= min {
            continue;
        }
        out.push(Replenishment {
            product_id: r.try_get("product_id")?,
            product_code: r.try_get("code")?,
            product_name: r.try_get("name")?,
            warehouse: r.try_get("warehouse")?,
            on_hand,
            reserved,
            min,
            max,
            to_order: (max - forecast).max(0),
            supplier: r.try_get("supplier")?,
            lead_days: r.try_get("lead_days")?,
        });
    }
    Ok(out)
}

/// What a warehouse holds of a product: on hand, reserved by confirmed orders, available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Availability {
    pub on_hand: i64,
    pub reserved: i64,
}

impl Availability {
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

async fn warehouse_id(tx: &mut Tx, company: i64, code: &str) -> Result<i64> {
    Ok(sqlx::query("SELECT id FROM stk_warehouses WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(code.trim().to_uppercase())
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| DomainError::invalid("warehouse", "error.stock.location", code))?
        .try_get("id")?)
}

/// Reserves `quantity` of a product in a warehouse for an order, refusing (on the field
/// `quantity`, naming what is available) when on hand less what is already reserved is not
/// enough. The reservation row is locked first, so concurrent reservations of the last pieces
/// run one after the other and never promise more than is there. The caller checked its own
/// permission (confirming a sales order).
pub async fn reserve(
    tx: &mut Tx,
    company: i64,
    product: i64,
    warehouse: &str,
    quantity: i64,
    reference: &str,
) -> Result<()> {
    let warehouse = warehouse_id(tx, company, warehouse).await?;
    let reserved: i64 = sqlx::query(
        "INSERT INTO stk_reservations (company_id, product_id, warehouse_id, reserved) VALUES ($1, $2, $3, 0) \
         ON CONFLICT (company_id, product_id, warehouse_id) DO UPDATE SET reserved = stk_reservations.reserved RETURNING reserved",
    )
    .bind(company)
    .bind(product)
    .bind(warehouse)
    .fetch_one(tx.conn())
    .await?
    .try_get("reserved")?;
    let on_hand = warehouse_on_hand(tx.conn(), company, product, warehouse).await?;
    let available = on_hand - reserved;
    if quantity > available {
        return Err(DomainError::invalid(
            "quantity",
            "error.stock.not_available",
            Qty::from_scaled(available.max(0)).to_string(),
        )
        .into());
    }
    sqlx::query("UPDATE stk_reservations SET reserved = reserved + $1 WHERE company_id = $2 AND product_id = $3 AND warehouse_id = $4")
        .bind(quantity)
        .bind(company)
        .bind(product)
        .bind(warehouse)
        .execute(tx.conn())
        .await?;
    refresh_alert(tx, company, product, warehouse, reference).await
}

/// Takes the lock on a product's reservation row in a warehouse (creating it), for an operation
/// that will change the reservation after moving stock: the row is locked first, in product
/// order, as every reservation takes it, so such an operation cannot deadlock with deliveries.
pub async fn lock_reservation(tx: &mut Tx, company: i64, product: i64, warehouse: &str) -> Result<()> {
    let warehouse = warehouse_id(tx, company, warehouse).await?;
    sqlx::query(
        "INSERT INTO stk_reservations (company_id, product_id, warehouse_id, reserved) VALUES ($1, $2, $3, 0) \
         ON CONFLICT (company_id, product_id, warehouse_id) DO UPDATE SET reserved = stk_reservations.reserved",
    )
    .bind(company)
    .bind(product)
    .bind(warehouse)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Re-checks a product's reorder alert in a warehouse after reservations were given back by a
/// cancelled order (which lifts the forecast and so may re-arm the alert).
pub async fn refresh_forecast(tx: &mut Tx, company: i64, product: i64, warehouse: &str, reference: &str) -> Result<()> {
    let warehouse = warehouse_id(tx, company, warehouse).await?;
    refresh_alert(tx, company, product, warehouse, reference).await
}

/// Gives back a reservation (the goods were delivered, or the order cancelled). A delivery's
/// move follows at once and lowers on hand by as much, so the forecast is checked by the move;
/// a cancellation's release lifts the forecast, which the next change of stock sees.
pub async fn release(tx: &mut Tx, company: i64, product: i64, warehouse: &str, quantity: i64) -> Result<()> {
    let warehouse = warehouse_id(tx, company, warehouse).await?;
    sqlx::query(
        "UPDATE stk_reservations SET reserved = CASE WHEN reserved > $1 THEN reserved - $1 ELSE 0 END \
         WHERE company_id = $2 AND product_id = $3 AND warehouse_id = $4",
    )
    .bind(quantity)
    .bind(company)
    .bind(product)
    .bind(warehouse)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// On hand, reserved and available per warehouse of one product: (warehouse code, figures).
pub async fn availability(conn: &mut db::Conn, company: i64, product: i64) -> Result<Vec<(String, Availability)>> {
    let rows = sqlx::query(
        "SELECT w.code, \
           CAST(COALESCE((SELECT SUM(q.quantity) FROM stk_quants q JOIN stk_locations l ON l.id = q.location_id \
             WHERE q.company_id = w.company_id AND q.product_id = $2 AND l.warehouse_id = w.id AND l.kind = 'internal'), 0) AS BIGINT) AS on_hand, \
           CAST(COALESCE((SELECT r.reserved FROM stk_reservations r WHERE r.company_id = w.company_id AND r.product_id = $2 AND r.warehouse_id = w.id), 0) AS BIGINT) AS reserved \
         FROM stk_warehouses w WHERE w.company_id = $1 ORDER BY w.code",
    )
    .bind(company)
    .bind(product)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((r.try_get("code")?, Availability { on_hand: r.try_get("on_hand")?, reserved: r.try_get("reserved")? }))
        })
        .collect()
}

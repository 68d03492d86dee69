//! Purchasing operations, one transaction each. An order is numbered when it is created
//! (PO/2026/00001), confirmed (or sent for approval above the company's threshold), received
//! in parts through stock moves that value the goods at the order price and post Dr 1405 /
//! Cr 1402, and billed through finance: the bill's lines go to 1402, so a bill at the order
//! price clears what the receipt put there. A bill that does not match the order and the
//! receipts is held in finance until a manager approves it.

use crate::domain::{self, BillLine, Mismatch, Settings};
use db::{Result, RowExt, Tx};
use finance::domain::yuan;
use finance::vat::InvoiceLineForm;
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::{Currency, DomainError, Money, Qty};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const READ: &str = "purchase.order.read";
pub const MANAGE: &str = "purchase.order.manage";
pub const APPROVE: &str = "purchase.order.approve";

/// A company's settings, or the defaults until someone saves them.
pub async fn settings(conn: &mut db::Conn, company: i64) -> Result<Settings> {
    let row = sqlx::query(
        "SELECT approval_threshold, price_tolerance_bp, quantity_tolerance_bp FROM pur_settings WHERE company_id = $1",
    )
    .bind(company)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => Settings {
            approval_threshold: r.try_get("approval_threshold")?,
            price_tolerance_bp: r.try_get("price_tolerance_bp")?,
            quantity_tolerance_bp: r.try_get("quantity_tolerance_bp")?,
        },
        None => Settings::default(),
    })
}

/// Settings as entered: the threshold in yuan, tolerances in percent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsForm {
    pub approval_threshold: String,
    pub price_tolerance: String,
    pub quantity_tolerance: String,
}

/// A percentage with up to two decimals, 0–100, as basis points.
fn percent(p: &mut Problems, field: &str, text: &str) -> i64 {
    match Money::parse(text, Currency::CNY) {
        Ok(m) if (0..=10_000).contains(&m.minor()) => m.minor(),
        _ => {
            p.add(field, "error.purchase.percent", text);
            0
        }
    }
}

pub async fn set_settings(tx: &mut Tx, principal: &Principal, form: &SettingsForm) -> Result<()> {
    principal.authorize(APPROVE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let threshold = p.amount("approval_threshold", &form.approval_threshold);
    let price = percent(&mut p, "price_tolerance", &form.price_tolerance);
    let quantity = percent(&mut p, "quantity_tolerance", &form.quantity_tolerance);
    p.finish()?;
    let before = settings(tx.conn(), company).await?;
    sqlx::query(
        "INSERT INTO pur_settings (company_id, approval_threshold, price_tolerance_bp, quantity_tolerance_bp, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (company_id) DO UPDATE SET approval_threshold = excluded.approval_threshold, price_tolerance_bp = excluded.price_tolerance_bp, \
         quantity_tolerance_bp = excluded.quantity_tolerance_bp, updated_at = excluded.updated_at",
    )
    .bind(company)
    .bind(threshold)
    .bind(price)
    .bind(quantity)
    .bind(tx.now().to_string())
    .execute(tx.conn())
    .await?;
    let after = Settings { approval_threshold: threshold, price_tolerance_bp: price, quantity_tolerance_bp: quantity };
    tx.audit("update", "purchase.settings", Some(&company.to_string()), &json!({"settings": [before, after]})).await?;
    Ok(())
}

/// An order as entered. Quantities in the product's stock unit; a unit price in yuan, or
/// empty for the supplier's price from the catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderForm {
    pub supplier_id: i64,
    pub warehouse: String,
    pub date: String,
    #[serde(default)]
    pub memo: String,
    pub lines: Vec<OrderLineForm>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLineForm {
    pub product_id: i64,
    /// In the line's unit.
    pub quantity: String,
    /// A unit code (`box12`, `pc` …) of the product's unit category; empty: its purchase unit.
    #[serde(default)]
    pub unit: String,
    /// Yuan per the line's unit; empty: the supplier's catalog price (per purchase unit),
    /// converted to the line's unit when that is a whole number of fen.
    #[serde(default)]
    pub unit_price: String,
}

pub async fn create_order(tx: &mut Tx, principal: &Principal, form: &OrderForm) -> Result<i64> {
    insert_order(tx, principal, form, false).await
}

/// Writes an order, or with `rfq` a request for quotation (询价单): the same document in status
/// `rfq`, where a line without a known price waits at 0.00 for the supplier's quote.
async fn insert_order(tx: &mut Tx, principal: &Principal, form: &OrderForm, rfq: bool) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let goods_in_transit =
        finance::chart::code(tx.conn(), principal.company_id.0, finance::chart::Role::GoodsInTransit).await?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let date = p.check(kernel::dates::parse("date", &form.date));
    finance::invoicing::check_party(tx, company, form.supplier_id, "supplier", &mut p).await?;
    for e in &mut p.0 {
        if e.field == "party_id" {
            e.field = "supplier_id".into();
        }
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
    if form.memo.chars().count() > 200 {
        p.add("memo", "error.too_long", "200");
    }
    if form.lines.is_empty() {
        p.add("lines", "error.document.no_lines", "");
    }
    let mut invoice_lines = Vec::with_capacity(form.lines.len());
    let mut products = Vec::with_capacity(form.lines.len());
    let units = catalog::service::Units::load(tx.conn(), company).await?;
    for (i, line) in form.lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let product = sqlx::query(
            "SELECT p.code, p.name, p.kind, p.vat_rate_bp, p.uom_id, p.purchase_uom_id, s.price AS supplier_price FROM cat_products p \
             LEFT JOIN cat_product_suppliers s ON s.product_id = p.id AND s.party_id = $3 \
             WHERE p.company_id = $1 AND p.id = $2 AND p.archived_at IS NULL",
        )
        .bind(company)
        .bind(line.product_id)
        .bind(form.supplier_id)
        .fetch_optional(tx.conn())
        .await?;
        let Some(product) = product else {
            p.add(&field("product_id"), "error.catalog.unknown_product", line.product_id.to_string());
            continue;
        };
        if product.try_get::<String, _>("kind")? == "service" {
            p.add(&field("product_id"), "error.stock.service", line.product_id.to_string());
        }
        let Some((unit, purchase_unit)) = p.check(
            units.line(product.try_get("uom_id")?, product.try_get("purchase_uom_id")?, &line.unit).map_err(|mut e| {
                e.field = field("unit");
                e
            }),
        ) else {
            continue;
        };
        let qty = p.quantity(&field("quantity"), &line.quantity, stock::service::MAX_QUANTITY);
        if unit.to_stock(qty).is_none() {
            p.add(&field("quantity"), "error.catalog.inexact", format!("{} {}", Qty::from_scaled(qty), unit.code));
        }
        // The catalog's supplier price is per purchase unit.
        let catalog_price: Option<i64> = product
            .try_get::<Option<i64>, _>("supplier_price")?
            .and_then(|price| unit.price_from(price, &purchase_unit));
        let price = match (line.unit_price.trim(), catalog_price) {
            ("", Some(price)) => price,
            ("", _) if rfq => 0,
            ("", _) => {
                p.add(&field("unit_price"), "error.purchase.price_required", "");
                0
            }
            (text, _) => p.amount(&field("unit_price"), text),
        };
        let vat: i64 = product.try_get("vat_rate_bp")?;
        invoice_lines.push(InvoiceLineForm {
            description: format!("{} {}", product.try_get::<String, _>("code")?, product.try_get::<String, _>("name")?),
            quantity: Qty::from_scaled(qty).to_string(),
            unit_price: yuan(price),
            discount: String::new(),
            vat_rate: kernel::vat::choice(vat),
            account: goods_in_transit.into(),
            product_id: Some(line.product_id),
            ..Default::default()
        });
        products.push((line.product_id, qty, price, vat, unit));
    }
    p.finish()?;
    // The company's rounding, kept on the order: its bills round the same way, so the order's
    // VAT is what they carry.
    let rounding = finance::invoicing::vat_rounding(tx.conn(), principal.company_id.0).await?;
    let (computed, totals) =
        finance::vat::compute(&invoice_lines, false, rounding, goods_in_transit, kernel::Currency::CNY)?;
    let date = date.map(|d| d.to_string()).unwrap_or_default();
    let year: i32 = date[..4].parse().unwrap_or(0);
    let number = tx.next_number(company, "purchase.order", year, "PO/{year}/{seq:05}").await?;
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let id: i64 = sqlx::query(
        "INSERT INTO pur_orders (company_id, number, supplier_id, warehouse_id, status, order_date, memo, net, tax, total, created_at, created_by, vat_rounding) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(form.supplier_id)
    .bind(warehouse.unwrap_or(0))
    .bind(if rfq { "rfq" } else { "draft" })
    .bind(&date)
    .bind(form.memo.trim())
    .bind(totals.net)
    .bind(totals.tax)
    .bind(totals.total)
    .bind(now)
    .bind(user)
    .bind(rounding.key())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    for (i, ((product, qty, price, vat, unit), line)) in products.iter().zip(&computed).enumerate() {
        sqlx::query(
            "INSERT INTO pur_order_lines (order_id, line_no, product_id, quantity, unit_price, vat_rate_bp, net, tax, uom_id, stock_num, stock_den) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(i as i64 + 1)
        .bind(*product)
        .bind(*qty)
        .bind(*price)
        .bind(*vat)
        .bind(line.net)
        .bind(line.tax)
        .bind(unit.uom_id)
        .bind(unit.num)
        .bind(unit.den)
        .execute(tx.conn())
        .await?;
    }
    tx.audit(
        "create",
        "purchase.order",
        Some(&id.to_string()),
        &json!({"number": [null, number], "supplier_id": [null, form.supplier_id], "total": [null, yuan(totals.total)]}),
    )
    .await?;
    Ok(id)
}

/// An order with its lines and bills.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: i64,
    pub number: String,
    pub supplier_id: i64,
    pub supplier_name: String,
    pub warehouse: String,
    pub status: String,
    pub date: String,
    /// How the order's VAT was rounded; its bills and repricing round the same way.
    pub vat_rounding: finance::vat::VatRounding,
    pub memo: String,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub created_by: Option<i64>,
    pub lines: Vec<OrderLine>,
    pub bills: Vec<Bill>,
    /// Debit notes (红字发票 from the supplier) for goods sent back after billing: (invoice
    /// id, number, total — negative).
    pub debit_notes: Vec<(i64, Option<String>, i64)>,
}

impl Order {
    /// Billed beyond what was kept (goods returned after billing) on an order that expects no
    /// replacement: what a debit note takes back. On a running order the returned goods are
    /// open again and their replacement is already billed.
    pub fn to_debit(&self, line: &OrderLine) -> i64 {
        if self.status == "closed" {
            (line.billed - line.received).max(0)
        } else {
            0
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderLine {
    pub id: i64,
    pub line_no: i64,
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    /// The product is tracked by serial number: it moves one serial at a time.
    pub track_serial: bool,
    /// The unit the line is written in (its quantities and price are per this unit) and how
    /// many stock units one of it is (`stock_num / stock_den`).
    pub unit: String,
    pub stock_num: i64,
    pub stock_den: i64,
    pub quantity: i64,
    pub unit_price: i64,
    pub vat_rate_bp: i64,
    pub net: i64,
    pub tax: i64,
    pub received: i64,
    pub billed: i64,
}

impl OrderLine {
    /// The line's unit relative to the stock unit.
    pub fn line_unit(&self) -> catalog::domain::LineUnit {
        catalog::domain::LineUnit { uom_id: 0, code: self.unit.clone(), num: self.stock_num, den: self.stock_den }
    }

    /// A quantity of this line (in its unit) in the stock unit; exact, since every quantity a
    /// line takes was checked to convert exactly.
    pub fn in_stock_unit(&self, quantity: i64) -> i64 {
        let stock = i128::from(quantity) * i128::from(self.stock_num) / i128::from(self.stock_den);
        i64::try_from(stock).unwrap_or(i64::MAX)
    }

    /// The moves of `quantity` (in the line's unit) of the form's `i`-th line with `lot`: one
    /// per serial number for a serial-tracked product, else one.
    pub fn parts(&self, i: usize, lot: &str, quantity: i64) -> Result<Vec<(String, i64)>> {
        stock::domain::move_parts(self.track_serial, &format!("lines[{i}].lot"), lot, self.in_stock_unit(quantity))
            .map_err(|e| DomainError::Invalid(vec![e]).into())
    }

    /// Still to come (the backorder).
    pub fn to_receive(&self) -> i64 {
        (self.quantity - self.received).max(0)
    }

    /// Received and not billed yet.
    pub fn to_bill(&self) -> i64 {
        (self.received - self.billed).max(0)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Bill {
    pub id: i64,
    pub invoice_id: i64,
    pub invoice_number: Option<String>,
    pub supplier_reference: String,
    pub status: String,
    pub mismatch: String,
    pub total: i64,
}

pub async fn load_order(conn: &mut db::Conn, company: i64, id: i64) -> Result<Option<Order>> {
    let Some(r) = sqlx::query(
        "SELECT o.*, p.name AS supplier_name, w.code AS warehouse FROM pur_orders o JOIN parties p ON p.id = o.supplier_id \
         JOIN stk_warehouses w ON w.id = o.warehouse_id WHERE o.company_id = $1 AND o.id = $2",
    )
    .bind(company)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let lines = sqlx::query(
        "SELECT l.*, p.code, p.name, p.track_serial, u.code AS unit FROM pur_order_lines l JOIN cat_products p ON p.id = l.product_id \
         JOIN cat_uoms u ON u.id = l.uom_id WHERE l.order_id = $1 ORDER BY l.line_no",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|l| {
        Ok(OrderLine {
            id: l.try_get("id")?,
            line_no: l.try_get("line_no")?,
            product_id: l.try_get("product_id")?,
            product_code: l.try_get("code")?,
            product_name: l.try_get("name")?,
            track_serial: db::flag(l, "track_serial")?,
            unit: l.try_get("unit")?,
            stock_num: l.try_get("stock_num")?,
            stock_den: l.try_get("stock_den")?,
            quantity: l.try_get("quantity")?,
            unit_price: l.try_get("unit_price")?,
            vat_rate_bp: l.try_get("vat_rate_bp")?,
            net: l.try_get("net")?,
            tax: l.try_get("tax")?,
            received: l.try_get("received")?,
            billed: l.try_get("billed")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let bills = sqlx::query(
        "SELECT b.id, b.invoice_id, b.supplier_reference, b.status, b.mismatch, i.number, i.total FROM pur_bills b \
         JOIN fin_invoices i ON i.id = b.invoice_id WHERE b.order_id = $1 ORDER BY b.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|b| {
        Ok(Bill {
            id: b.try_get("id")?,
            invoice_id: b.try_get("invoice_id")?,
            invoice_number: b.try_get("number")?,
            supplier_reference: b.try_get("supplier_reference")?,
            status: b.try_get("status")?,
            mismatch: b.try_get("mismatch")?,
            total: b.try_get("total")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let debit_notes = sqlx::query(
        "SELECT i.id, i.number, i.total FROM fin_invoices i JOIN pur_bills b ON b.invoice_id = i.credit_of WHERE b.order_id = $1 ORDER BY i.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|d| Ok((d.try_get("id")?, d.try_get("number")?, d.try_get("total")?)))
    .collect::<Result<Vec<_>>>()?;
    Ok(Some(Order {
        id,
        number: r.try_get("number")?,
        supplier_id: r.try_get("supplier_id")?,
        supplier_name: r.try_get("supplier_name")?,
        warehouse: r.try_get("warehouse")?,
        status: r.try_get("status")?,
        date: r.try_get("order_date")?,
        vat_rounding: finance::vat::VatRounding::from_key(&r.try_get::<String, _>("vat_rounding")?),
        memo: r.try_get("memo")?,
        net: r.try_get("net")?,
        tax: r.try_get("tax")?,
        total: r.try_get("total")?,
        created_by: r.try_get("created_by")?,
        lines,
        bills,
        debit_notes,
    }))
}

/// A line of the order list.
pub type OrderSummary = db::document::Summary;

/// The latest 500 orders the principal's record rule reaches, or those in one status.
pub async fn orders(conn: &mut db::Conn, principal: &Principal, status: Option<&str>) -> Result<Vec<OrderSummary>> {
    ORDERS.list(conn, &principal.row_filter(READ)?, status).await
}

/// One order the principal may read.
pub async fn order(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Order> {
    principal.authorize(READ)?;
    ORDERS.reach(&mut *conn, principal, READ, id).await?;
    load_order(conn, principal.company_id.0, id).await?.ok_or_else(|| DomainError::NotFound("purchase order").into())
}

/// The orders table as a document table: locks and status changes.
const ORDERS: db::document::Documents = db::document::Documents {
    table: "pur_orders",
    party_column: "supplier_id",
    resource: "purchase.order",
    noun: "purchase order",
    owner_column: "created_by",
};

/// Locks the order row for the rest of the transaction, then loads it: two operations on one
/// order run one after the other.
async fn lock_order(tx: &mut Tx, principal: &Principal, id: i64) -> Result<Order> {
    lock_order_as(tx, principal, MANAGE, id).await
}

/// [`lock_order`] for someone who works the order under another permission (an approver).
async fn lock_order_as(tx: &mut Tx, principal: &Principal, permission: &str, id: i64) -> Result<Order> {
    let company = principal.company_id.0;
    ORDERS.lock(tx, company, id).await?;
    ORDERS.reach(tx.conn(), principal, permission, id).await?;
    load_order(tx.conn(), company, id).await?.ok_or_else(|| DomainError::NotFound("purchase order").into())
}

async fn set_status(tx: &mut Tx, order: &Order, status: &str) -> Result<()> {
    ORDERS.set_status(tx, order.id, &order.status, status).await
}

async fn announce_confirmed(tx: &mut Tx, order: &Order) -> Result<()> {
    tx.emit(
        "purchase.order",
        &order.id.to_string(),
        "purchase.OrderConfirmed",
        &json!({"id": order.id, "number": order.number, "supplier_id": order.supplier_id, "total": yuan(order.total)}),
    )
    .await
}

/// Confirms a draft: above the approval threshold it waits for a manager (`to_approve`),
/// otherwise it is confirmed at once. Returns the new status.
pub async fn confirm_order(tx: &mut Tx, principal: &Principal, id: i64) -> Result<String> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let order = lock_order(tx, principal, id).await?;
    if order.status != "draft" {
        return Err(db::document::wrong_status(&order.status));
    }
    let rules = settings(tx.conn(), company).await?;
    let status = if rules.needs_approval(order.total) { "to_approve" } else { "confirmed" };
    set_status(tx, &order, status).await?;
    if status == "confirmed" {
        announce_confirmed(tx, &order).await?;
    }
    Ok(status.into())
}

/// A manager approves an order above the threshold. Whoever created an order cannot approve it.
pub async fn approve_order(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(APPROVE)?;
    let order = lock_order_as(tx, principal, APPROVE, id).await?;
    if order.status != "to_approve" {
        return Err(db::document::wrong_status(&order.status));
    }
    if order.created_by == Some(principal.user_id.0) {
        return Err(DomainError::invalid("status", "error.purchase.own_order", &order.number).into());
    }
    sqlx::query("UPDATE pur_orders SET approved_by = $1, approved_at = $2 WHERE id = $3")
        .bind(principal.user_id.0)
        .bind(tx.now().to_string())
        .bind(id)
        .execute(tx.conn())
        .await?;
    set_status(tx, &order, "confirmed").await?;
    announce_confirmed(tx, &order).await
}

/// Cancels an order. One with goods already received is closed instead: the backorder is
/// cancelled, what arrived stays.
pub async fn cancel_order(tx: &mut Tx, principal: &Principal, id: i64) -> Result<String> {
    principal.authorize(MANAGE)?;
    let order = lock_order(tx, principal, id).await?;
    if !["rfq", "draft", "to_approve", "confirmed"].contains(&order.status.as_str()) {
        return Err(db::document::wrong_status(&order.status));
    }
    let status = if order.lines.iter().any(|l| l.received > 0 || l.billed > 0) { "closed" } else { "cancelled" };
    set_status(tx, &order, status).await?;
    if order.status == "rfq" {
        // The last quotation of a request withdrawn: the request is open again, to order or
        // to ask others.
        sqlx::query(
            "UPDATE pur_requests SET status = 'open' WHERE status = 'quoting' AND id = (SELECT request_id FROM pur_orders WHERE id = $1) \
             AND NOT EXISTS (SELECT 1 FROM pur_orders o WHERE o.request_id = pur_requests.id AND o.status = 'rfq')",
        )
        .bind(id)
        .execute(tx.conn())
        .await?;
    }
    Ok(status.into())
}

/// Goods arriving (or going back): quantities per order line, in the stock unit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptForm {
    pub date: String,
    /// Empty: everything still to come (for a receipt) or nothing (a return needs lines).
    #[serde(default)]
    pub lines: Vec<ReceiptLineForm>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiptLineForm {
    pub line_id: i64,
    pub quantity: String,
    #[serde(default)]
    pub lot: String,
    /// A new lot's expiry date, for a product that tracks expiry.
    #[serde(default)]
    pub expiry: String,
}

/// Checks the lines of a receipt or return against the order: each names a line of this
/// order, with a positive quantity no larger than `limit(line)`. Returns (line, quantity, lot).
fn receipt_lines<'a>(
    order: &'a Order,
    form: &ReceiptForm,
    limit: impl Fn(&OrderLine) -> i64,
    too_much: &'static str,
) -> Result<Vec<(&'a OrderLine, i64, String)>> {
    let mut p = Problems::default();
    let mut out = Vec::new();
    for (i, line) in form.lines.iter().enumerate() {
        let Some(ordered) = order.lines.iter().find(|l| l.id == line.line_id) else {
            p.add(&format!("lines[{i}].line_id"), "error.document.line", line.line_id.to_string());
            continue;
        };
        let qty = p.quantity(&format!("lines[{i}].quantity"), &line.quantity, stock::service::MAX_QUANTITY);
        if qty > limit(ordered) {
            p.add(&format!("lines[{i}].quantity"), too_much, Qty::from_scaled(limit(ordered)).to_string());
        }
        // What moves is in the stock unit, so the line's quantity must convert exactly.
        if ordered.line_unit().to_stock(qty).is_none() {
            p.add(
                &format!("lines[{i}].quantity"),
                "error.catalog.inexact",
                format!("{} {}", Qty::from_scaled(qty), ordered.unit),
            );
        }
        out.push((ordered, qty, line.lot.trim().to_string()));
    }
    // The same order line twice adds up: the limit holds for the total.
    for (i, (line, _, _)) in out.iter().enumerate() {
        let total: i64 = out.iter().filter(|(l, _, _)| l.id == line.id).map(|(_, q, _)| q).sum();
        if total > limit(line) && !out[..i].iter().any(|(l, _, _)| l.id == line.id) {
            p.add(&format!("lines[{i}].quantity"), too_much, Qty::from_scaled(limit(line)).to_string());
        }
    }
    p.finish()?;
    Ok(out)
}

/// What a receipt values a stock unit of an order line at, in millionths of a yuan: the order
/// price, which is per line unit, per stock unit; with its VAT added (`costs_vat`) for a
/// small-scale taxpayer, who deducts none, so that the receipt moves out of 1402 在途物资 what
/// the bill put there.
fn receipt_unit_cost(line: &OrderLine, costs_vat: bool) -> i64 {
    let net = line.line_unit().stock_unit_cost(line.unit_price);
    let rate_bp = if costs_vat && !kernel::vat::is_exempt(line.vat_rate_bp) { line.vat_rate_bp } else { 0 };
    let exact = i128::from(net) * i128::from(10_000 + rate_bp);
    i64::try_from((exact + 5_000) / 10_000).unwrap_or(i64::MAX)
}

/// Receives goods against a confirmed order: one stock move per line from the supplier into
/// the order's warehouse, valued at the order price (which posts Dr 1405 / Cr 1402 when the
/// books are kept), with its VAT for a small-scale taxpayer, whose bill puts the VAT into
/// 1402 too ([`receipt_unit_cost`]). What is still to come stays open as the backorder; when
/// nothing is, the order is `received`. Returns the move numbers.
pub async fn receive(tx: &mut Tx, principal: &Principal, id: i64, form: &ReceiptForm) -> Result<Vec<String>> {
    principal.authorize(MANAGE)?;
    let order = lock_order(tx, principal, id).await?;
    if order.status != "confirmed" {
        return Err(db::document::wrong_status(&order.status));
    }
    let mut form = form.clone();
    if form.lines.is_empty() {
        form.lines = order
            .lines
            .iter()
            .filter(|l| l.to_receive() > 0)
            .map(|l| ReceiptLineForm {
                line_id: l.id,
                quantity: Qty::from_scaled(l.to_receive()).to_string(),
                lot: String::new(),
                expiry: String::new(),
            })
            .collect();
    }
    if form.lines.is_empty() {
        return Err(DomainError::invalid("lines", "error.purchase.nothing_to_receive", &order.number).into());
    }
    let lines = receipt_lines(&order, &form, OrderLine::to_receive, "error.purchase.over_receipt")?;
    let costs_vat = finance::invoicing::taxpayer(tx.conn(), principal.company_id.0).await?.costs_input_vat();
    let mut numbers = Vec::new();
    for (i, (line, qty, lot)) in lines.iter().enumerate() {
        for (lot, part) in line.parts(i, lot, *qty)? {
            let mv = stock::service::MoveForm {
                product_id: line.product_id,
                quantity: Qty::from_scaled(part).to_string(),
                from: "SUPPLIER".into(),
                to: format!("{}/STOCK", order.warehouse),
                lot,
                reference: order.number.clone(),
                date: form.date.clone(),
                unit_cost: Qty::from_scaled(receipt_unit_cost(line, costs_vat)).to_string(),
                // The checked lines keep the form's order, so the i-th is the form's i-th.
                expiry: form.lines[i].expiry.clone(),
                tags: Default::default(),
            };
            let (_, number) = stock::service::move_stock(tx, principal, &mv).await.map_err(|e| e.within_line(i))?;
            numbers.push(number);
        }
        sqlx::query("UPDATE pur_order_lines SET received = received + $1 WHERE id = $2")
            .bind(*qty)
            .bind(line.id)
            .execute(tx.conn())
            .await?;
    }
    let done = order.lines.iter().all(|l| {
        let now = lines.iter().filter(|(r, _, _)| r.id == l.id).map(|(_, q, _)| q).sum::<i64>();
        l.received + now >= l.quantity
    });
    if done {
        set_status(tx, &order, "received").await?;
    }
    let received: Vec<_> = lines
        .iter()
        .map(|(l, q, _)| json!({"product_id": l.product_id, "quantity": Qty::from_scaled(*q).to_string()}))
        .collect();
    tx.audit(
        "receive",
        "purchase.order",
        Some(&id.to_string()),
        &json!({"moves": [null, numbers], "lines": [null, received]}),
    )
    .await?;
    tx.emit(
        "purchase.order",
        &id.to_string(),
        "purchase.GoodsReceived",
        &json!({"id": id, "number": order.number, "lines": received, "complete": done}),
    )
    .await?;
    Ok(numbers)
}

/// Sends received goods back to the supplier: moves from the warehouse to the supplier, at
/// the current cost. The returned quantity is open again, so a replacement can be received;
/// cancel the order to close it instead.
pub async fn return_goods(tx: &mut Tx, principal: &Principal, id: i64, form: &ReceiptForm) -> Result<Vec<String>> {
    principal.authorize(MANAGE)?;
    let order = lock_order(tx, principal, id).await?;
    if !["confirmed", "received", "closed"].contains(&order.status.as_str()) {
        return Err(db::document::wrong_status(&order.status));
    }
    if form.lines.is_empty() {
        return Err(DomainError::invalid("lines", "error.document.no_lines", "").into());
    }
    let lines = receipt_lines(&order, form, |l| l.received, "error.purchase.over_return")?;
    let mut numbers = Vec::new();
    for (i, (line, qty, lot)) in lines.iter().enumerate() {
        for (lot, part) in line.parts(i, lot, *qty)? {
            let mv = stock::service::MoveForm {
                product_id: line.product_id,
                quantity: Qty::from_scaled(part).to_string(),
                from: format!("{}/STOCK", order.warehouse),
                to: "SUPPLIER".into(),
                lot,
                reference: format!("退货 {}", order.number),
                date: form.date.clone(),
                unit_cost: String::new(),
                expiry: String::new(),
                tags: Default::default(),
            };
            let (_, number) = stock::service::move_stock(tx, principal, &mv).await.map_err(|e| e.within_line(i))?;
            numbers.push(number);
        }
        sqlx::query("UPDATE pur_order_lines SET received = received - $1 WHERE id = $2")
            .bind(*qty)
            .bind(line.id)
            .execute(tx.conn())
            .await?;
    }
    if order.status == "received" {
        set_status(tx, &order, "confirmed").await?;
    }
    tx.audit("return", "purchase.order", Some(&id.to_string()), &json!({"moves": [null, numbers]})).await?;
    Ok(numbers)
}

/// Takes back from the supplier what was billed and sent back, on a closed order (no
/// replacement coming): a debit note — the supplier's red-ink bill — against the order's latest
/// posted bill, at the order prices (Dr 2202 / Cr 1402 / Cr 22210101). It settles what is still
/// unpaid on that bill; what was paid already is owed back by the supplier. Returns the note's
/// invoice id.
pub async fn debit(tx: &mut Tx, principal: &Principal, id: i64, date: &str) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let goods_in_transit =
        finance::chart::code(tx.conn(), principal.company_id.0, finance::chart::Role::GoodsInTransit).await?;
    let order = lock_order(tx, principal, id).await?;
    let lines: Vec<(&OrderLine, i64)> =
        order.lines.iter().map(|l| (l, order.to_debit(l))).filter(|(_, q)| *q > 0).collect();
    // The latest bill posted in finance (one held or approved but not posted cannot be credited).
    let bill = order.bills.iter().rev().find(|b| b.invoice_number.is_some());
    let (Some(bill), false) = (bill, lines.is_empty()) else {
        return Err(DomainError::invalid("lines", "error.purchase.nothing_to_debit", &order.number).into());
    };
    let forms: Vec<InvoiceLineForm> = lines
        .iter()
        .map(|(l, q)| InvoiceLineForm {
            description: format!("{} {} ({})", l.product_code, l.product_name, l.unit),
            quantity: Qty::from_scaled(*q).to_string(),
            unit_price: yuan(l.unit_price),
            discount: String::new(),
            vat_rate: kernel::vat::choice(l.vat_rate_bp),
            account: goods_in_transit.into(),
            product_id: Some(l.product_id),
            ..Default::default()
        })
        .collect();
    let note = finance::invoicing::credit_part(tx, principal, bill.invoice_id, date, &forms, &order.number).await?;
    for (line, quantity) in &lines {
        sqlx::query("UPDATE pur_order_lines SET billed = billed - $1 WHERE id = $2")
            .bind(*quantity)
            .bind(line.id)
            .execute(tx.conn())
            .await?;
    }
    let debited: Vec<_> = lines
        .iter()
        .map(|(l, q)| json!({"product_id": l.product_id, "quantity": Qty::from_scaled(*q).to_string(), "unit": l.unit}))
        .collect();
    tx.audit(
        "debit",
        "purchase.order",
        Some(&id.to_string()),
        &json!({"debit_note": [null, note], "lines": [null, debited]}),
    )
    .await?;
    Ok(note)
}

/// A supplier's bill for an order: per order line the quantity and unit price billed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillForm {
    pub date: String,
    /// The supplier's invoice number (发票号码).
    #[serde(default)]
    pub supplier_reference: String,
    /// Empty: everything received and not yet billed, at the order price.
    #[serde(default)]
    pub lines: Vec<BillLineForm>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillLineForm {
    pub line_id: i64,
    pub quantity: String,
    /// Empty: the order price.
    #[serde(default)]
    pub unit_price: String,
}

/// A recorded bill: its id, its status (`posted` or `on_hold`) and why it does not match.
#[derive(Debug, Clone, Serialize)]
pub struct BillOutcome {
    pub id: i64,
    pub invoice_id: i64,
    pub status: String,
    pub mismatches: Vec<Mismatch>,
}

fn describe(mismatches: &[Mismatch]) -> String {
    mismatches
        .iter()
        .map(|m| match m {
            Mismatch::Quantity { line_no, billed, open } => {
                format!("#{line_no} qty {} > {}", Qty::from_scaled(*billed), Qty::from_scaled(*open))
            }
            Mismatch::Price { line_no, billed, ordered } => {
                format!("#{line_no} price {} ≠ {}", yuan(*billed), yuan(*ordered))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Records a supplier bill against an order (three-way match: order price, received quantity,
/// billed). It becomes a supplier invoice in finance with its lines on 1402; when every line
/// matches within the company's tolerances it posts at once (Dr 1402 and 进项税额, Cr 2202),
/// otherwise it is held until a manager approves it.
pub async fn bill(tx: &mut Tx, principal: &Principal, id: i64, form: &BillForm) -> Result<BillOutcome> {
    principal.authorize(MANAGE)?;
    let goods_in_transit =
        finance::chart::code(tx.conn(), principal.company_id.0, finance::chart::Role::GoodsInTransit).await?;
    let company = principal.company_id.0;
    let order = lock_order(tx, principal, id).await?;
    if !["confirmed", "received", "closed"].contains(&order.status.as_str()) {
        return Err(db::document::wrong_status(&order.status));
    }
    let mut p = Problems::default();
    let mut wanted: Vec<(&OrderLine, i64, i64)> = Vec::new();
    if form.lines.is_empty() {
        wanted = order.lines.iter().filter(|l| l.to_bill() > 0).map(|l| (l, l.to_bill(), l.unit_price)).collect();
        if wanted.is_empty() {
            p.add("lines", "error.purchase.nothing_to_bill", &order.number);
        }
    }
    for (i, line) in form.lines.iter().enumerate() {
        let Some(ordered) = order.lines.iter().find(|l| l.id == line.line_id) else {
            p.add(&format!("lines[{i}].line_id"), "error.document.line", line.line_id.to_string());
            continue;
        };
        let qty = p.quantity(&format!("lines[{i}].quantity"), &line.quantity, stock::service::MAX_QUANTITY);
        let price = if line.unit_price.trim().is_empty() {
            ordered.unit_price
        } else {
            p.amount(&format!("lines[{i}].unit_price"), &line.unit_price)
        };
        wanted.push((ordered, qty, price));
    }
    if form.supplier_reference.chars().count() > 50 {
        p.add("supplier_reference", "error.too_long", "50");
    }
    p.finish()?;
    let rules = settings(tx.conn(), company).await?;
    // One order line billed on several bill lines is matched on its total quantity.
    let to_match: Vec<BillLine> = wanted
        .iter()
        .enumerate()
        .map(|(i, (l, _, price))| BillLine {
            line_no: l.line_no,
            ordered_price: l.unit_price,
            open_quantity: l.to_bill(),
            billed_quantity: if wanted[..i].iter().any(|(e, _, _)| e.id == l.id) {
                0
            } else {
                wanted.iter().filter(|(e, _, _)| e.id == l.id).map(|(_, q, _)| q).sum()
            },
            billed_price: *price,
        })
        .collect();
    let mismatches = domain::three_way_match(&to_match, &rules);
    let invoice = finance::invoicing::InvoiceForm {
        kind: "supplier".into(),
        party_id: order.supplier_id,
        date: form.date.clone(),
        vat_rounding: Some(order.vat_rounding),
        memo: format!("{} {}", order.number, form.supplier_reference.trim()).trim().to_string(),
        lines: wanted
            .iter()
            .map(|(l, qty, price)| InvoiceLineForm {
                description: format!("{} {} ({})", l.product_code, l.product_name, l.unit),
                quantity: Qty::from_scaled(*qty).to_string(),
                unit_price: yuan(*price),
                discount: String::new(),
                vat_rate: kernel::vat::choice(l.vat_rate_bp),
                account: goods_in_transit.into(),
                product_id: Some(l.product_id),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let invoice_id = finance::invoicing::create_invoice(tx, principal, &invoice).await?;
    let status = if mismatches.is_empty() { "posted" } else { "on_hold" };
    let reason = describe(&mismatches);
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let bill_id: i64 = sqlx::query(
        "INSERT INTO pur_bills (company_id, order_id, invoice_id, supplier_reference, status, mismatch, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(company)
    .bind(id)
    .bind(invoice_id)
    .bind(form.supplier_reference.trim())
    .bind(status)
    .bind(&reason)
    .bind(now)
    .bind(user)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    // Lines billed twice on one bill are added up: the key is (bill, order line).
    let mut per_line: Vec<(i64, i64, i64)> = Vec::new();
    for (l, qty, price) in &wanted {
        match per_line.iter_mut().find(|(line, _, _)| *line == l.id) {
            Some(entry) => entry.1 += qty,
            None => per_line.push((l.id, *qty, *price)),
        }
    }
    for (line, qty, price) in per_line {
        sqlx::query(
            "INSERT INTO pur_bill_lines (bill_id, order_line_id, quantity, unit_price) VALUES ($1, $2, $3, $4)",
        )
        .bind(bill_id)
        .bind(line)
        .bind(qty)
        .bind(price)
        .execute(tx.conn())
        .await?;
        sqlx::query("UPDATE pur_order_lines SET billed = billed + $1 WHERE id = $2")
            .bind(qty)
            .bind(line)
            .execute(tx.conn())
            .await?;
    }
    if mismatches.is_empty() {
        finance::invoicing::post_invoice(tx, principal, invoice_id).await?;
    } else {
        finance::invoicing::hold(tx, company, invoice_id, &reason).await?;
    }
    tx.audit(
        "create",
        "purchase.bill",
        Some(&bill_id.to_string()),
        &json!({"order": [null, order.number], "status": [null, status], "mismatch": [null, reason]}),
    )
    .await?;
    tx.emit(
        "purchase.order",
        &id.to_string(),
        "purchase.BillRecorded",
        &json!({"id": bill_id, "order": order.number, "invoice_id": invoice_id, "status": status}),
    )
    .await?;
    Ok(BillOutcome { id: bill_id, invoice_id, status: status.into(), mismatches })
}

/// A manager approves a held bill: the hold is released and, if the manager may also post
/// invoices, the bill is posted; otherwise accounts payable posts it. Returns the new status.
pub async fn approve_bill(tx: &mut Tx, principal: &Principal, bill_id: i64) -> Result<String> {
    principal.authorize(APPROVE)?;
    let company = principal.company_id.0;
    let row = sqlx::query("SELECT invoice_id, created_by FROM pur_bills WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(bill_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("bill"))?;
    let invoice_id: i64 = row.try_get("invoice_id")?;
    if row.try_get::<Option<i64>, _>("created_by")? == Some(principal.user_id.0) {
        return Err(DomainError::invalid("status", "error.purchase.own_bill", bill_id.to_string()).into());
    }
    let claimed = sqlx::query(
        "UPDATE pur_bills SET status = 'approved', approved_by = $1, approved_at = $2 WHERE id = $3 AND status = 'on_hold'",
    )
    .bind(principal.user_id.0)
    .bind(tx.now().to_string())
    .bind(bill_id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if claimed != 1 {
        return Err(DomainError::Conflict("the bill is not on hold".into()).into());
    }
    finance::invoicing::release(tx, company, invoice_id).await?;
    let status = if principal.may(finance::invoicing::MANAGE) {
        finance::invoicing::post_invoice(tx, principal, invoice_id).await?;
        sqlx::query("UPDATE pur_bills SET status = 'posted' WHERE id = $1").bind(bill_id).execute(tx.conn()).await?;
        "posted"
    } else {
        "approved"
    };
    tx.audit("state", "purchase.bill", Some(&bill_id.to_string()), &json!({"status": ["on_hold", status]})).await?;
    Ok(status.into())
}

/// An open purchase request: what the reorder rules asked for, per supplier and warehouse.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub id: i64,
    pub number: String,
    pub status: String,
    pub supplier_id: Option<i64>,
    pub supplier_name: Option<String>,
    pub warehouse: String,
    pub order_id: Option<i64>,
    pub lines: Vec<RequestLine>,
}

impl Request {
    /// An order (or RFQ) for the request's lines from `supplier`, at the catalog prices.
    fn order_form(&self, supplier: i64, date: &str) -> OrderForm {
        OrderForm {
            supplier_id: supplier,
            warehouse: self.warehouse.clone(),
            date: date.to_string(),
            memo: self.number.clone(),
            lines: self
                .lines
                .iter()
                .map(|l| OrderLineForm {
                    product_id: l.product_id,
                    // Reorder quantities are in the stock unit.
                    quantity: Qty::from_scaled(l.quantity).to_string(),
                    unit: l.unit.clone(),
                    unit_price: String::new(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestLine {
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub quantity: i64,
    /// The product's stock unit, which the quantity is in.
    pub unit: String,
    /// Why: `{"on_hand", "min", "max", "move"}` from the stock alert.
    pub reason: serde_json::Value,
}

pub async fn requests(conn: &mut db::Conn, company: i64) -> Result<Vec<Request>> {
    load_requests(conn, company, None).await
}

/// One request of the company, or none.
pub async fn request(conn: &mut db::Conn, company: i64, id: i64) -> Result<Option<Request>> {
    Ok(load_requests(conn, company, Some(id)).await?.pop())
}

/// The latest 200 requests (open ones first), or the one asked for, with their lines: two
/// queries whatever the number of requests.
async fn load_requests(conn: &mut db::Conn, company: i64, only: Option<i64>) -> Result<Vec<Request>> {
    let mut q = db::SqlBuilder::new(
        "SELECT r.id, r.number, r.status, r.supplier_id, p.name, w.code, r.order_id FROM pur_requests r \
         LEFT JOIN parties p ON p.id = r.supplier_id JOIN stk_warehouses w ON w.id = r.warehouse_id WHERE r.company_id = ",
    );
    q.bind(company);
    if let Some(id) = only {
        q.push(" AND r.id = ").bind(id);
    }
    q.push(" ORDER BY r.status <> 'open', r.id DESC LIMIT 200");
    let mut out = Vec::new();
    for r in q.build().fetch_all(&mut *conn).await? {
        out.push(Request {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            status: r.try_get("status")?,
            supplier_id: r.try_get("supplier_id")?,
            supplier_name: r.try_get("name")?,
            warehouse: r.try_get("code")?,
            order_id: r.try_get("order_id")?,
            lines: Vec::new(),
        });
    }
    if out.is_empty() {
        return Ok(out);
    }
    let mut lines = db::SqlBuilder::new(
        "SELECT l.request_id, l.product_id, p.code, p.name, l.quantity, u.code AS unit, l.reason FROM pur_request_lines l \
         JOIN cat_products p ON p.id = l.product_id JOIN cat_uoms u ON u.id = p.uom_id WHERE l.request_id IN (",
    );
    for (i, request) in out.iter().enumerate() {
        if i > 0 {
            lines.push(", ");
        }
        lines.bind(request.id);
    }
    lines.push(") ORDER BY p.code");
    for l in lines.build().fetch_all(&mut *conn).await? {
        let request_id: i64 = l.try_get("request_id")?;
        let reason: String = l.try_get("reason")?;
        if let Some(request) = out.iter_mut().find(|r| r.id == request_id) {
            request.lines.push(RequestLine {
                product_id: l.try_get("product_id")?,
                product_code: l.try_get("code")?,
                product_name: l.try_get("name")?,
                quantity: l.try_get("quantity")?,
                unit: l.try_get("unit")?,
                reason: serde_json::from_str(&reason).unwrap_or(serde_json::Value::Null),
            });
        }
    }
    Ok(out)
}

/// Drafts a purchase request from a `stock.StockBelowMinimum` alert: for the product's
/// preferred supplier and the warehouse, adding to the open request if there is one (a product
/// already on it keeps the larger quantity), so a week of alerts becomes one order.
pub async fn request_replenishment(tx: &mut Tx, company: i64, alert: &serde_json::Value) -> Result<()> {
    let product = alert["product_id"].as_i64().ok_or_else(|| DomainError::Internal("alert without product".into()))?;
    let warehouse =
        alert["warehouse_id"].as_i64().ok_or_else(|| DomainError::Internal("alert without warehouse".into()))?;
    let to_order =
        Qty::parse(alert["to_order"].as_str().unwrap_or("0")).map_err(|e| DomainError::Invalid(vec![e]))?.scaled();
    if to_order <= 0 {
        return Ok(());
    }
    let supplier: Option<i64> = sqlx::query(
        "SELECT party_id FROM cat_product_suppliers WHERE product_id = $1 AND preferred = 1 ORDER BY party_id LIMIT 1",
    )
    .bind(product)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.try_get("party_id"))
    .transpose()?;
    let open = match supplier {
        Some(s) => sqlx::query("SELECT id FROM pur_requests WHERE company_id = $1 AND warehouse_id = $2 AND status = 'open' AND supplier_id = $3")
            .bind(company)
            .bind(warehouse)
            .bind(s)
            .fetch_optional(tx.conn())
            .await?,
        None => sqlx::query("SELECT id FROM pur_requests WHERE company_id = $1 AND warehouse_id = $2 AND status = 'open' AND supplier_id IS NULL")
            .bind(company)
            .bind(warehouse)
            .fetch_optional(tx.conn())
            .await?,
    };
    let request = match open {
        Some(r) => r.try_get("id")?,
        None => {
            let now = tx.now().to_string();
            let year: i32 = now.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
            let number = tx.next_number(company, "purchase.request", year, "PR/{year}/{seq:05}").await?;
            let id: i64 = sqlx::query(
                "INSERT INTO pur_requests (company_id, number, status, supplier_id, warehouse_id, created_at) VALUES ($1, $2, 'open', $3, $4, $5) RETURNING id",
            )
            .bind(company)
            .bind(&number)
            .bind(supplier)
            .bind(warehouse)
            .bind(&now)
            .fetch_one(tx.conn())
            .await?
            .try_get("id")?;
            tx.audit("create", "purchase.request", Some(&id.to_string()), &json!({"number": [null, number]})).await?;
            id
        }
    };
    let reason = json!({"on_hand": alert["on_hand"], "reserved": alert["reserved"], "forecast": alert["forecast"], "min": alert["min"], "max": alert["max"], "move": alert["move"]}).to_string();
    sqlx::query(
        "INSERT INTO pur_request_lines (request_id, product_id, quantity, reason) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (request_id, product_id) DO UPDATE SET quantity = CASE WHEN excluded.quantity > pur_request_lines.quantity \
         THEN excluded.quantity ELSE pur_request_lines.quantity END, reason = excluded.reason",
    )
    .bind(request)
    .bind(product)
    .bind(to_order)
    .bind(&reason)
    .execute(tx.conn())
    .await?;
    tx.audit(
        "update",
        "purchase.request",
        Some(&request.to_string()),
        &json!({"line": [null, {"product_id": product, "quantity": Qty::from_scaled(to_order).to_string()}]}),
    )
    .await?;
    Ok(())
}

/// Turns an open request into a draft order for its supplier at the catalog prices.
pub async fn order_from_request(tx: &mut Tx, principal: &Principal, id: i64, date: &str) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let request = request(tx.conn(), company, id).await?.ok_or(DomainError::NotFound("purchase request"))?;
    if request.status != "open" {
        return Err(db::document::wrong_status(&request.status));
    }
    let Some(supplier_id) = request.supplier_id else {
        return Err(DomainError::invalid("supplier_id", "error.purchase.no_supplier", &request.number).into());
    };
    let order = create_order(tx, principal, &request.order_form(supplier_id, date)).await?;
    let claimed =
        sqlx::query("UPDATE pur_requests SET status = 'ordered', order_id = $1 WHERE id = $2 AND status = 'open'")
            .bind(order)
            .bind(id)
            .execute(tx.conn())
            .await?
            .rows_affected();
    if claimed != 1 {
        return Err(DomainError::Conflict("the request was ordered meanwhile".into()).into());
    }
    sqlx::query("UPDATE pur_orders SET request_id = $1 WHERE id = $2").bind(id).bind(order).execute(tx.conn()).await?;
    tx.audit(
        "state",
        "purchase.request",
        Some(&id.to_string()),
        &json!({"status": ["open", "ordered"], "order_id": [null, order]}),
    )
    .await?;
    Ok(order)
}

/// Asks several suppliers to quote for an open request (询价): one request for quotation per
/// supplier with the request's lines, at the supplier's catalog price where there is one.
/// Returns the RFQs' ids.
pub async fn request_quotes(
    tx: &mut Tx,
    principal: &Principal,
    id: i64,
    suppliers: &[i64],
    date: &str,
) -> Result<Vec<i64>> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let request = request(tx.conn(), company, id).await?.ok_or(DomainError::NotFound("purchase request"))?;
    if request.status != "open" {
        return Err(db::document::wrong_status(&request.status));
    }
    let mut unique: Vec<i64> = suppliers.to_vec();
    unique.sort_unstable();
    unique.dedup();
    if unique.is_empty() {
        return Err(DomainError::invalid("supplier_ids", "error.purchase.no_suppliers", "").into());
    }
    // Claimed before anything is written: of two people asking for quotes (or ordering) at
    // once, the second finds the request no longer open.
    let claimed = sqlx::query("UPDATE pur_requests SET status = 'quoting' WHERE id = $1 AND status = 'open'")
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if claimed != 1 {
        return Err(DomainError::Conflict("the request was taken up meanwhile".into()).into());
    }
    let mut rfqs = Vec::with_capacity(unique.len());
    for supplier in unique {
        let rfq = insert_order(tx, principal, &request.order_form(supplier, date), true).await?;
        sqlx::query("UPDATE pur_orders SET request_id = $1 WHERE id = $2")
            .bind(id)
            .bind(rfq)
            .execute(tx.conn())
            .await?;
        rfqs.push(rfq);
    }
    tx.audit(
        "state",
        "purchase.request",
        Some(&id.to_string()),
        &json!({"status": ["open", "quoting"], "rfqs": [null, rfqs]}),
    )
    .await?;
    Ok(rfqs)
}

/// A supplier's quote: a unit price per line of the RFQ.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteForm {
    pub lines: Vec<QuoteLineForm>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteLineForm {
    pub line_id: i64,
    pub unit_price: String,
}

/// Records a supplier's quoted prices on its RFQ and works the totals out again.
pub async fn record_quote(tx: &mut Tx, principal: &Principal, id: i64, form: &QuoteForm) -> Result<()> {
    principal.authorize(MANAGE)?;
    let goods_in_transit =
        finance::chart::code(tx.conn(), principal.company_id.0, finance::chart::Role::GoodsInTransit).await?;
    let order = lock_order(tx, principal, id).await?;
    if order.status != "rfq" {
        return Err(db::document::wrong_status(&order.status));
    }
    let mut p = Problems::default();
    let mut prices: Vec<i64> = order.lines.iter().map(|l| l.unit_price).collect();
    for (i, line) in form.lines.iter().enumerate() {
        match order.lines.iter().position(|l| l.id == line.line_id) {
            Some(at) => prices[at] = p.amount(&format!("lines[{i}].unit_price"), &line.unit_price),
            None => p.add(&format!("lines[{i}].line_id"), "error.document.line", line.line_id.to_string()),
        }
    }
    p.finish()?;
    let invoice_lines: Vec<InvoiceLineForm> = order
        .lines
        .iter()
        .zip(&prices)
        .map(|(l, price)| InvoiceLineForm {
            description: format!("{} {}", l.product_code, l.product_name),
            quantity: Qty::from_scaled(l.quantity).to_string(),
            unit_price: yuan(*price),
            discount: String::new(),
            vat_rate: kernel::vat::choice(l.vat_rate_bp),
            account: goods_in_transit.into(),
            product_id: Some(l.product_id),
            ..Default::default()
        })
        .collect();
    // The order's own rounding, which its bills follow.
    let (computed, totals) =
        finance::vat::compute(&invoice_lines, false, order.vat_rounding, goods_in_transit, kernel::Currency::CNY)?;
    for ((line, price), priced) in order.lines.iter().zip(&prices).zip(&computed) {
        sqlx::query("UPDATE pur_order_lines SET unit_price = $1, net = $2, tax = $3 WHERE id = $4")
            .bind(*price)
            .bind(priced.net)
            .bind(priced.tax)
            .bind(line.id)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query("UPDATE pur_orders SET net = $1, tax = $2, total = $3, version = version + 1 WHERE id = $4")
        .bind(totals.net)
        .bind(totals.tax)
        .bind(totals.total)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "update",
        "purchase.order",
        Some(&id.to_string()),
        &json!({"quote": [yuan(order.total), yuan(totals.total)]}),
    )
    .await?;
    Ok(())
}

/// One supplier's answer to a request, for comparing.
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    pub order_id: i64,
    pub number: String,
    pub supplier_name: String,
    pub status: String,
    pub total: i64,
    /// Lines still at 0.00: not quoted yet.
    pub unpriced_lines: i64,
    pub lead_days: Option<i64>,
}

/// The RFQs of a request, cheapest first (those not fully quoted last).
pub async fn quotes(conn: &mut db::Conn, company: i64, request: i64) -> Result<Vec<Quote>> {
    let rows = sqlx::query(
        "SELECT o.id, o.number, p.name, o.status, o.total, \
           (SELECT COUNT(*) FROM pur_order_lines l WHERE l.order_id = o.id AND l.unit_price = 0) AS unpriced, \
           (SELECT MAX(s.lead_days) FROM pur_order_lines l JOIN cat_product_suppliers s ON s.product_id = l.product_id AND s.party_id = o.supplier_id \
             WHERE l.order_id = o.id) AS lead_days \
         FROM pur_orders o JOIN parties p ON p.id = o.supplier_id WHERE o.company_id = $1 AND o.request_id = $2 \
         ORDER BY (SELECT COUNT(*) FROM pur_order_lines l WHERE l.order_id = o.id AND l.unit_price = 0) > 0, o.total, o.id",
    )
    .bind(company)
    .bind(request)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Quote {
                order_id: r.try_get("id")?,
                number: r.try_get("number")?,
                supplier_name: r.try_get("name")?,
                status: r.try_get("status")?,
                total: r.try_get("total")?,
                unpriced_lines: r.try_get("unpriced")?,
                lead_days: r.try_get("lead_days")?,
            })
        })
        .collect()
}

/// Chooses one supplier's quote: its RFQ becomes a draft order (to confirm as any order), the
/// other RFQs of the request are cancelled and the request is ordered.
pub async fn choose_quote(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let request: Option<i64> = sqlx::query("SELECT request_id FROM pur_orders WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("purchase order"))?
        .try_get("request_id")?;
    // The request first, then its RFQs in id order: two people choosing two quotes of one
    // request at once queue on the request, and the second finds it ordered.
    let mut siblings: Vec<i64> = Vec::new();
    if let Some(request) = request {
        let claimed = sqlx::query(
            "UPDATE pur_requests SET status = 'ordered', order_id = $1 WHERE id = $2 AND status = 'quoting'",
        )
        .bind(id)
        .bind(request)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if claimed != 1 {
            return Err(DomainError::Conflict("a quote of this request was chosen meanwhile".into()).into());
        }
        siblings = sqlx::query("SELECT id FROM pur_orders WHERE company_id = $1 AND request_id = $2 ORDER BY id")
            .bind(company)
            .bind(request)
            .fetch_all(tx.conn())
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        for sibling in &siblings {
            ORDERS.lock(tx, company, *sibling).await?;
        }
    }
    let order = lock_order(tx, principal, id).await?;
    if order.status != "rfq" {
        return Err(db::document::wrong_status(&order.status));
    }
    if order.lines.iter().any(|l| l.unit_price == 0) {
        return Err(DomainError::invalid("lines", "error.purchase.not_quoted", &order.number).into());
    }
    set_status(tx, &order, "draft").await?;
    if let Some(request) = request {
        for other in siblings.into_iter().filter(|s| *s != id) {
            let status: String = sqlx::query("SELECT status FROM pur_orders WHERE id = $1")
                .bind(other)
                .fetch_one(tx.conn())
                .await?
                .try_get("status")?;
            if status == "rfq" {
                ORDERS.set_status(tx, other, "rfq", "cancelled").await?;
            }
        }
        tx.audit(
            "state",
            "purchase.request",
            Some(&request.to_string()),
            &json!({"status": ["quoting", "ordered"], "order_id": [null, id]}),
        )
        .await?;
    }
    Ok(())
}

//! Sales operations, one transaction each. A quotation is numbered when it is written
//! (SO/2026/00001) with prices from the customer's price list; confirming it checks the
//! customer's credit limit and reserves the goods in the warehouse (refused when not enough is
//! available); delivering moves the goods to the customer through stock, which values them and
//! posts the cost of sales; invoicing makes a customer invoice in finance for what was
//! delivered (goods) or ordered (services) and posts it.

use crate::domain::{self, Exposure};
use db::{Result, RowExt, Tx};
use finance::domain::yuan;
use finance::vat::InvoiceLineForm;
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::{DomainError, Qty};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::permissions::ORDERS;
pub use crate::permissions::{CREDIT, MANAGE, READ};

/// A quotation as entered. Each line in a unit of its own (empty: the product's sales unit),
/// with a unit price in yuan per that unit, or empty for the customer's price-list price (or
/// the product's own price), converted to the line's unit when it is a whole number of fen.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderForm {
    pub customer_id: i64,
    pub warehouse: String,
    pub date: String,
    /// Prices include VAT (the usual way prices are quoted to consumers in China).
    #[serde(default)]
    pub tax_inclusive: bool,
    #[serde(default)]
    pub memo: String,
    /// The cost centre (department) and project the sale belongs to, from the finance lists;
    /// its invoices' revenue and its deliveries' cost of sales carry them. Empty: none.
    #[serde(default)]
    pub cost_center: String,
    #[serde(default)]
    pub project: String,
    pub lines: Vec<OrderLineForm>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLineForm {
    pub product_id: i64,
    pub quantity: String,
    /// A unit code (`box12`, `pc` …) of the product's unit category; empty: its sales unit.
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub unit_price: String,
}

/// Writes a quotation.
pub async fn create_quotation(tx: &mut Tx, principal: &Principal, form: &OrderForm) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let revenue = finance::chart::code(tx.conn(), principal.company_id.0, finance::chart::Role::Revenue).await?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let date = p.check(kernel::dates::parse("date", &form.date));
    finance::invoicing::check_party(tx, company, form.customer_id, "customer", &mut p).await?;
    for e in &mut p.0 {
        if e.field == "party_id" {
            e.field = "customer_id".into();
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
    let (cost_center, project) = (form.cost_center.trim(), form.project.trim());
    finance::dimensions::check_document_tags(tx, company, cost_center, project, &mut p).await?;
    if form.lines.is_empty() {
        p.add("lines", "error.document.no_lines", "");
    }
    let date_text = date.map(|d| d.to_string()).unwrap_or_else(|| "2000-01-01".into());
    let mut invoice_lines = Vec::with_capacity(form.lines.len());
    let mut lines = Vec::with_capacity(form.lines.len());
    let units = catalog::service::Units::load(tx.conn(), company).await?;
    let taxpayer = finance::invoicing::taxpayer(tx.conn(), company).await?;
    for (i, line) in form.lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let product =
            sqlx::query("SELECT code, name, kind, vat_rate_bp, invoice_policy, uom_id, sales_uom_id FROM cat_products WHERE company_id = $1 AND id = $2 AND archived_at IS NULL")
                .bind(company)
                .bind(line.product_id)
                .fetch_optional(tx.conn())
                .await?;
        let Some(product) = product else {
            p.add(&field("product_id"), "error.catalog.unknown_product", line.product_id.to_string());
            continue;
        };
        let Some((unit, sales_unit)) = p.check(
            units.line(product.try_get("uom_id")?, product.try_get("sales_uom_id")?, &line.unit).map_err(|mut e| {
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
        let (price, source) = if line.unit_price.trim().is_empty() {
            // The catalog's prices and quantity breaks are per sales unit.
            let in_sales_units =
                unit.to_stock(qty).map(|q| i128::from(q) * i128::from(sales_unit.den) / i128::from(sales_unit.num));
            let quote = catalog::pricing::price_for(
                tx.conn(),
                company,
                line.product_id,
                Some(form.customer_id),
                Qty::from_scaled(in_sales_units.and_then(|q| i64::try_from(q).ok()).unwrap_or(0)),
                &date_text,
            )
            .await?;
            let Some(price) = unit.price_from(quote.price, &sales_unit) else {
                p.add(
                    &field("unit_price"),
                    "error.sales.price_per_unit",
                    format!("{}/{}", yuan(quote.price), sales_unit.code),
                );
                continue;
            };
            (price, quote.source.unwrap_or_default())
        } else {
            (p.amount(&field("unit_price"), &line.unit_price), String::new())
        };
        // The rate the company charges for the product: a small-scale taxpayer sells what it
        // keeps at 13 % at its collection rate.
        let vat = taxpayer.rate_charged(product.try_get("vat_rate_bp")?, &date_text);
        let stocked = product.try_get::<String, _>("kind")? != "service";
        // The product's policy, kept on the line: changing the product later does not change
        // what an order already written invoices.
        let invoice_ordered = product.try_get::<String, _>("invoice_policy")? == "ordered";
        invoice_lines.push(InvoiceLineForm {
            description: format!("{} {}", product.try_get::<String, _>("code")?, product.try_get::<String, _>("name")?),
            quantity: Qty::from_scaled(qty).to_string(),
            unit_price: yuan(price),
            discount: String::new(),
            vat_rate: kernel::vat::choice(vat),
            account: revenue.into(),
            product_id: Some(line.product_id),
            ..Default::default()
        });
        lines.push((line.product_id, stocked, invoice_ordered, qty, price, source, vat, unit));
    }
    p.finish()?;
    // The company's rounding, kept on the order: its invoices round the same way, so the
    // order's VAT is what they carry.
    let rounding = finance::invoicing::vat_rounding(tx.conn(), company).await?;
    let (computed, totals) =
        finance::vat::compute(&invoice_lines, form.tax_inclusive, rounding, revenue, kernel::Currency::CNY)?;
    let year: i32 = date_text[..4].parse().unwrap_or(0);
    let number = tx.next_number(company, "sales.order", year, "SO/{year}/{seq:05}").await?;
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let id: i64 = sqlx::query(
        "INSERT INTO sal_orders (company_id, number, customer_id, warehouse_id, status, order_date, tax_inclusive, memo, net, tax, total, created_at, created_by, vat_rounding, cost_center, project) \
         VALUES ($1, $2, $3, $4, 'quotation', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(form.customer_id)
    .bind(warehouse.unwrap_or(0))
    .bind(&date_text)
    .bind(i64::from(form.tax_inclusive))
    .bind(form.memo.trim())
    .bind(totals.net)
    .bind(totals.tax)
    .bind(totals.total)
    .bind(now)
    .bind(user)
    .bind(rounding.key())
    .bind(cost_center)
    .bind(project)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    for (i, ((product, stocked, invoice_ordered, qty, price, source, vat, unit), line)) in
        lines.iter().zip(&computed).enumerate()
    {
        sqlx::query(
            "INSERT INTO sal_order_lines (order_id, line_no, product_id, stocked, quantity, unit_price, price_source, vat_rate_bp, net, tax, invoice_ordered, uom_id, stock_num, stock_den) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(id)
        .bind(i as i64 + 1)
        .bind(*product)
        .bind(i64::from(*stocked))
        .bind(*qty)
        .bind(*price)
        .bind(source)
        .bind(*vat)
        .bind(line.net)
        .bind(line.tax)
        .bind(i64::from(*invoice_ordered))
        .bind(unit.uom_id)
        .bind(unit.num)
        .bind(unit.den)
        .execute(tx.conn())
        .await?;
    }
    tx.audit(
        "create",
        "sales.order",
        Some(&id.to_string()),
        &json!({"number": [null, number], "customer_id": [null, form.customer_id], "total": [null, yuan(totals.total)],
            "cost_center": [null, cost_center], "project": [null, project]}),
    )
    .await?;
    Ok(id)
}

/// An order with its lines.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: i64,
    pub number: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub warehouse: String,
    pub status: String,
    pub date: String,
    pub tax_inclusive: bool,
    /// How the order's VAT was rounded; its invoices round the same way.
    pub vat_rounding: finance::vat::VatRounding,
    pub memo: String,
    /// The cost centre and project the sale belongs to (see [`OrderForm::cost_center`]).
    pub cost_center: String,
    pub project: String,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub lines: Vec<OrderLine>,
    /// Invoices made from the order: (id, number).
    pub invoices: Vec<(i64, Option<String>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrderLine {
    pub id: i64,
    pub line_no: i64,
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub stocked: bool,
    /// Invoiced as ordered (services, goods billed in advance) rather than as delivered.
    pub invoice_ordered: bool,
    /// The product is tracked by lot: a delivery without a lot takes the first-expiring ones.
    pub track_lot: bool,
    /// The product is tracked by serial number: it moves one serial at a time.
    pub track_serial: bool,
    /// The unit the line is written in (its quantities and price are per this unit) and how
    /// many stock units one of it is (`stock_num / stock_den`).
    pub unit: String,
    pub stock_num: i64,
    pub stock_den: i64,
    pub quantity: i64,
    pub unit_price: i64,
    pub price_source: String,
    pub vat_rate_bp: i64,
    pub net: i64,
    pub tax: i64,
    pub delivered: i64,
    pub invoiced: i64,
    /// On deliveries being picked or packed, not shipped yet (in the line's unit).
    pub preparing: i64,
}

impl OrderLine {
    /// A quantity of this line (in its unit) in the stock unit; exact, since every quantity a
    /// line takes was checked to convert exactly.
    pub fn in_stock_unit(&self, quantity: i64) -> i64 {
        let stock = i128::from(quantity) * i128::from(self.stock_num) / i128::from(self.stock_den);
        i64::try_from(stock).unwrap_or(i64::MAX)
    }

    /// The line's unit, for checking a delivered or returned quantity converts exactly.
    pub fn line_unit(&self) -> catalog::domain::LineUnit {
        catalog::domain::LineUnit { uom_id: 0, code: self.unit.clone(), num: self.stock_num, den: self.stock_den }
    }

    /// Still to deliver (the backorder); nothing for what is not stocked.
    pub fn to_deliver(&self) -> i64 {
        if self.stocked {
            (self.quantity - self.delivered).max(0)
        } else {
            0
        }
    }

    /// Still to deliver and on no delivery being prepared: what a new delivery may take.
    pub fn to_pick(&self) -> i64 {
        (self.to_deliver() - self.preparing).max(0)
    }

    pub fn to_invoice(&self) -> i64 {
        domain::invoiceable(self.invoice_ordered, self.quantity, self.delivered, self.invoiced)
    }
}

impl Order {
    /// The cost centre and project its deliveries' and returns' cost of sales is charged to.
    pub fn tags(&self) -> stock::service::MoveTags {
        let (cost_center, project) = (self.cost_center.clone(), self.project.clone());
        stock::service::MoveTags { cost_center, project, undoing: false }
    }

    /// Invoiced beyond what the customer has and will get (returned, or dropped with the
    /// backorder): what a credit note owes back. A line invoiced as ordered on a running order
    /// is only ahead of its delivery, not owed.
    pub fn to_credit(&self, line: &OrderLine) -> i64 {
        if line.invoice_ordered && self.status != "closed" {
            0
        } else {
            (line.invoiced - line.delivered).max(0)
        }
    }
}

pub async fn load_order(conn: &mut db::Conn, company: i64, id: i64) -> Result<Option<Order>> {
    let Some(r) = sqlx::query(
        "SELECT o.*, p.name AS customer_name, w.code AS warehouse FROM sal_orders o JOIN parties p ON p.id = o.customer_id \
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
        "SELECT l.*, p.code, p.name, p.track_lot, p.track_serial, u.code AS unit, \
           (SELECT CAST(COALESCE(SUM(k.quantity), 0) AS BIGINT) FROM sal_pick_lines k JOIN sal_deliveries d ON d.id = k.delivery_id \
            WHERE k.order_line_id = l.id AND d.status IN ('picked', 'packed')) AS preparing \
         FROM sal_order_lines l JOIN cat_products p ON p.id = l.product_id \
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
            stocked: db::flag(l, "stocked")?,
            invoice_ordered: db::flag(l, "invoice_ordered")?,
            track_lot: db::flag(l, "track_lot")?,
            track_serial: db::flag(l, "track_serial")?,
            unit: l.try_get("unit")?,
            stock_num: l.try_get("stock_num")?,
            stock_den: l.try_get("stock_den")?,
            quantity: l.try_get("quantity")?,
            unit_price: l.try_get("unit_price")?,
            price_source: l.try_get("price_source")?,
            vat_rate_bp: l.try_get("vat_rate_bp")?,
            net: l.try_get("net")?,
            tax: l.try_get("tax")?,
            delivered: l.try_get("delivered")?,
            invoiced: l.try_get("invoiced")?,
            preparing: l.try_get("preparing")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let invoices = sqlx::query(
        "SELECT i.id, i.number FROM sal_order_invoices s JOIN fin_invoices i ON i.id = s.invoice_id WHERE s.order_id = $1 ORDER BY i.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("number")?)))
    .collect::<Result<Vec<_>>>()?;
    Ok(Some(Order {
        id,
        number: r.try_get("number")?,
        customer_id: r.try_get("customer_id")?,
        customer_name: r.try_get("customer_name")?,
        warehouse: r.try_get("warehouse")?,
        status: r.try_get("status")?,
        date: r.try_get("order_date")?,
        tax_inclusive: db::flag(&r, "tax_inclusive")?,
        vat_rounding: finance::vat::VatRounding::from_key(&r.try_get::<String, _>("vat_rounding")?),
        memo: r.try_get("memo")?,
        cost_center: r.try_get("cost_center")?,
        project: r.try_get("project")?,
        net: r.try_get("net")?,
        tax: r.try_get("tax")?,
        total: r.try_get("total")?,
        lines,
        invoices,
    }))
}

/// A line of the order list.
pub type OrderSummary = db::document::Summary;

/// The latest 500 orders, or those in one status.
/// The latest orders the principal's record rule reaches (a salesperson's own, a manager's
/// team's), or those in one status.
pub async fn orders(conn: &mut db::Conn, principal: &Principal, status: Option<&str>) -> Result<Vec<OrderSummary>> {
    ORDERS.list(conn, &principal.row_filter(READ)?, status).await
}

/// One order the principal may read.
pub async fn order(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Order> {
    principal.authorize(READ)?;
    ORDERS.reach(&mut *conn, principal, READ, id).await?;
    load_order(conn, principal.company_id.0, id).await?.ok_or_else(|| DomainError::NotFound("sales order").into())
}

/// Locks the order row for the rest of the transaction, then loads it: two operations on one
/// order run one after the other.
/// Whoever works an order must reach it with `sales.order.manage` under the record rules.
async fn lock_order(tx: &mut Tx, principal: &Principal, id: i64) -> Result<Order> {
    let company = principal.company_id.0;
    ORDERS.lock(tx, company, id).await?;
    ORDERS.reach(tx.conn(), principal, MANAGE, id).await?;
    load_order(tx.conn(), company, id).await?.ok_or_else(|| DomainError::NotFound("sales order").into())
}

async fn set_status(tx: &mut Tx, order: &Order, status: &str) -> Result<()> {
    ORDERS.set_status(tx, order.id, &order.status, status).await
}

/// The customer's credit limit, if one is set.
pub async fn credit_limit(conn: &mut db::Conn, company: i64, customer: i64) -> Result<Option<i64>> {
    Ok(sqlx::query("SELECT credit_limit FROM sal_credit_limits WHERE company_id = $1 AND party_id = $2")
        .bind(company)
        .bind(customer)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("credit_limit"))
        .transpose()?)
}

/// Sets a customer's credit limit in yuan; empty removes it.
pub async fn set_credit_limit(tx: &mut Tx, principal: &Principal, customer: i64, limit: &str) -> Result<()> {
    principal.authorize(CREDIT)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    finance::invoicing::check_party(tx, company, customer, "customer", &mut p).await?;
    let limit = if limit.trim().is_empty() { None } else { Some(p.amount("credit_limit", limit)) };
    p.finish()?;
    let before = credit_limit(tx.conn(), company, customer).await?;
    match limit {
        Some(limit) => {
            sqlx::query(
                "INSERT INTO sal_credit_limits (company_id, party_id, credit_limit, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (company_id, party_id) DO UPDATE SET credit_limit = excluded.credit_limit, updated_at = excluded.updated_at",
            )
            .bind(company)
            .bind(customer)
            .bind(limit)
            .bind(tx.now().to_string())
            .execute(tx.conn())
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM sal_credit_limits WHERE company_id = $1 AND party_id = $2")
                .bind(company)
                .bind(customer)
                .execute(tx.conn())
                .await?;
        }
    }
    tx.audit(
        "update",
        "sales.credit_limit",
        Some(&customer.to_string()),
        &json!({"credit_limit": [before.map(yuan), limit.map(yuan)]}),
    )
    .await?;
    Ok(())
}

/// What the customer owes and will owe: open posted invoices (less credit notes and receipts)
/// and what confirmed orders have not invoiced yet, in fen.
pub async fn exposure(conn: &mut db::Conn, company: i64, customer: i64, this_order: i64) -> Result<Exposure> {
    let receivables: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(total - settled), 0) AS BIGINT) AS open FROM fin_invoices \
         WHERE company_id = $1 AND party_id = $2 AND kind = 'customer' AND status IN ('open', 'partial')",
    )
    .bind(company)
    .bind(customer)
    .fetch_one(&mut *conn)
    .await?
    .try_get("open")?;
    // The part of each confirmed order's lines not yet invoiced, pro rata, added up in i128 so
    // that no product of amount and quantity can overflow.
    let rows = sqlx::query(
        "SELECT l.net + l.tax AS amount, l.quantity, l.invoiced FROM sal_order_lines l JOIN sal_orders o ON o.id = l.order_id \
         WHERE o.company_id = $1 AND o.customer_id = $2 AND o.status = 'confirmed' AND l.quantity > l.invoiced",
    )
    .bind(company)
    .bind(customer)
    .fetch_all(&mut *conn)
    .await?;
    let mut orders: i128 = 0;
    for r in rows {
        let (amount, quantity, invoiced): (i64, i64, i64) =
            (r.try_get("amount")?, r.try_get("quantity")?, r.try_get("invoiced")?);
        orders += i128::from(amount) * i128::from(quantity - invoiced) / i128::from(quantity.max(1));
    }
    let orders = i64::try_from(orders).unwrap_or(i64::MAX);
    Ok(Exposure { open_receivables: receivables, open_orders: orders, this_order })
}

/// Confirms a quotation: the customer's exposure with this order must stay within the credit
/// limit, and every stocked line is reserved in the warehouse (all or nothing). Emits
/// `sales.OrderConfirmed`.
pub async fn confirm_order(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let order = lock_order(tx, principal, id).await?;
    if order.status != "quotation" {
        return Err(db::document::wrong_status(&order.status));
    }
    // The customer's limit row is locked first, so two orders of one customer confirmed at the
    // same moment are checked one after the other, each seeing the other's exposure.
    sqlx::query("UPDATE sal_credit_limits SET credit_limit = credit_limit WHERE company_id = $1 AND party_id = $2")
        .bind(company)
        .bind(order.customer_id)
        .execute(tx.conn())
        .await?;
    let limit = credit_limit(tx.conn(), company, order.customer_id).await?;
    let exposure = exposure(tx.conn(), company, order.customer_id, order.total).await?;
    if !exposure.within(limit) {
        return Err(DomainError::invalid(
            "customer_id",
            "error.sales.credit_limit",
            format!("{} > {}", yuan(exposure.total()), yuan(limit.unwrap_or(0))),
        )
        .into());
    }
    let mut p = Problems::default();
    // Reservation rows are locked in product order, the same order every operation uses, so
    // two orders sharing products cannot deadlock on PostgreSQL.
    let mut stocked: Vec<(usize, &OrderLine)> = order.lines.iter().enumerate().filter(|(_, l)| l.stocked).collect();
    stocked.sort_by_key(|(_, l)| l.product_id);
    for (i, line) in stocked {
        let quantity = line.in_stock_unit(line.quantity);
        match stock::service::reserve(tx, company, line.product_id, &order.warehouse, quantity, &order.number).await {
            Ok(()) => {}
            Err(db::Error::Domain(DomainError::Invalid(errors))) => {
                for mut e in errors {
                    e.field = format!("lines[{i}].{}", e.field);
                    p.0.push(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    // Any line short: the whole transaction rolls back, so no line stays reserved.
    p.finish()?;
    sqlx::query("UPDATE sal_orders SET confirmed_at = $1 WHERE id = $2")
        .bind(tx.now().to_string())
        .bind(id)
        .execute(tx.conn())
        .await?;
    set_status(tx, &order, "confirmed").await?;
    tx.emit(
        "sales.order",
        &id.to_string(),
        "sales.OrderConfirmed",
        &json!({"id": id, "number": order.number, "customer_id": order.customer_id, "total": yuan(order.total)}),
    )
    .await
}

/// Cancels a quotation, or a confirmed order nothing of which was delivered or invoiced. An
/// order partly delivered or invoiced is closed instead: its backorder is dropped (what was
/// delivered can still be invoiced). Either way what was still reserved is given back.
/// Returns the new status.
pub async fn cancel_order(tx: &mut Tx, principal: &Principal, id: i64) -> Result<String> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let order = lock_order(tx, principal, id).await?;
    if order.status != "quotation" && order.status != "confirmed" {
        return Err(db::document::wrong_status(&order.status));
    }
    if order.status == "confirmed" {
        let mut reserved: Vec<&OrderLine> = order.lines.iter().filter(|l| l.to_deliver() > 0).collect();
        reserved.sort_by_key(|l| l.product_id);
        for line in &reserved {
            let quantity = line.in_stock_unit(line.to_deliver());
            stock::service::release(tx, company, line.product_id, &order.warehouse, quantity).await?;
        }
        for line in &reserved {
            stock::service::refresh_forecast(tx, company, line.product_id, &order.warehouse, &order.number).await?;
        }
    }
    // Deliveries still in the warehouse will not leave.
    sqlx::query(
        "UPDATE sal_deliveries SET status = 'cancelled' WHERE order_id = $1 AND status IN ('picked', 'packed')",
    )
    .bind(id)
    .execute(tx.conn())
    .await?;
    let touched = order.lines.iter().any(|l| l.delivered > 0 || l.invoiced > 0);
    let status = if touched { "closed" } else { "cancelled" };
    set_status(tx, &order, status).await?;
    Ok(status.into())
}

/// A delivery (or a return): quantities per order line, in the line's unit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryForm {
    pub date: String,
    /// Empty: everything still to deliver.
    #[serde(default)]
    pub lines: Vec<DeliveryLineForm>,
    /// The carrier's code (see `shipping::carriers`), if known now.
    #[serde(default)]
    pub carrier: String,
    #[serde(default)]
    pub tracking_number: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryLineForm {
    pub line_id: i64,
    pub quantity: String,
    #[serde(default)]
    pub lot: String,
}

/// Checks the lines of a delivery or a pick list against the order: each a stocked line of it
/// with a quantity that converts exactly to the stock unit, together no more than what is
/// still to pick (to deliver, less what deliveries being prepared hold). No lines: everything
/// still to pick. Returns (line, quantity in the line's unit, lot).
fn delivery_lines<'a>(order: &'a Order, form: &DeliveryForm) -> Result<Vec<(&'a OrderLine, i64, String)>> {
    if form.lines.is_empty() {
        let all: Vec<_> =
            order.lines.iter().filter(|l| l.to_pick() > 0).map(|l| (l, l.to_pick(), String::new())).collect();
        if all.is_empty() {
            return Err(DomainError::invalid("lines", "error.sales.nothing_to_deliver", &order.number).into());
        }
        return Ok(all);
    }
    let mut p = Problems::default();
    let mut wanted: Vec<(&OrderLine, i64, String)> = Vec::new();
    for (i, line) in form.lines.iter().enumerate() {
        let Some(ordered) = order.lines.iter().find(|l| l.id == line.line_id && l.stocked) else {
            p.add(&format!("lines[{i}].line_id"), "error.document.line", line.line_id.to_string());
            continue;
        };
        let qty = p.quantity(&format!("lines[{i}].quantity"), &line.quantity, stock::service::MAX_QUANTITY);
        // The same line twice adds up: the limit holds for the total.
        let before: i64 = wanted.iter().filter(|(w, _, _)| w.id == ordered.id).map(|(_, q, _)| q).sum();
        if before + qty > ordered.to_pick() {
            p.add(
                &format!("lines[{i}].quantity"),
                "error.sales.over_delivery",
                Qty::from_scaled(ordered.to_pick()).to_string(),
            );
        }
        exact(&mut p, i, ordered, qty);
        wanted.push((ordered, qty, line.lot.trim().to_string()));
    }
    p.finish()?;
    Ok(wanted)
}

/// Sends checked lines to the customer: per line, its reservation is given back and stock
/// moves take the goods from the warehouse to the customer (valued, posting Dr 6401 / Cr
/// 1405); a lot-tracked product without a lot named leaves by the lots that expire first.
/// Returns (order line, quantity in the stock unit, move number) per move.
async fn send(
    tx: &mut Tx,
    principal: &Principal,
    order: &Order,
    wanted: &[(&OrderLine, i64, String)],
    date: &str,
) -> Result<Vec<(i64, i64, String)>> {
    let company = principal.company_id.0;
    // Reservations first, in product order (as confirmation takes them), then the moves.
    let mut releases: Vec<(i64, i64)> = wanted.iter().map(|(l, q, _)| (l.product_id, l.in_stock_unit(*q))).collect();
    releases.sort_unstable();
    for (product, qty) in releases {
        stock::service::release(tx, company, product, &order.warehouse, qty).await?;
    }
    let mut moved: Vec<(i64, i64, String)> = Vec::new();
    for (i, (line, qty, lot)) in wanted.iter().enumerate() {
        let in_stock = line.in_stock_unit(*qty);
        // A lot- or serial-tracked product delivered without naming them takes the lots that
        // expire first (FEFO) or the serials on hand, as many as the quantity needs.
        let lots: Vec<(String, i64)> = if (line.track_lot || line.track_serial) && lot.is_empty() {
            stock::service::fefo(tx.conn(), company, line.product_id, &order.warehouse, in_stock)
                .await
                .map_err(|e| e.within_line(i))?
                .into_iter()
                .map(|pick| (pick.lot, pick.take))
                .collect()
        } else {
            stock::domain::move_parts(line.track_serial, &format!("lines[{i}].lot"), lot, in_stock)
                .map_err(|e| DomainError::Invalid(vec![e]))?
        };
        for (lot, part) in lots {
            let mv = stock::service::MoveForm {
                product_id: line.product_id,
                quantity: Qty::from_scaled(part).to_string(),
                from: format!("{}/STOCK", order.warehouse),
                to: "CUSTOMER".into(),
                lot,
                reference: order.number.clone(),
                date: date.to_string(),
                unit_cost: String::new(),
                expiry: String::new(),
                tags: order.tags(),
            };
            let (_, number) = stock::service::move_stock(tx, principal, &mv).await.map_err(|e| e.within_line(i))?;
            moved.push((line.id, part, number));
        }
        sqlx::query("UPDATE sal_order_lines SET delivered = delivered + $1 WHERE id = $2")
            .bind(*qty)
            .bind(line.id)
            .execute(tx.conn())
            .await?;
    }
    Ok(moved)
}

/// After goods left: audited, `sales.OrderDelivered` emitted, and the order done if nothing
/// is left to do.
async fn delivered(
    tx: &mut Tx,
    company: i64,
    order: &Order,
    wanted: &[(&OrderLine, i64, String)],
    delivery: &str,
    moved: &[(i64, i64, String)],
) -> Result<()> {
    let complete = order.lines.iter().filter(|l| l.stocked).all(|l| {
        let now: i64 = wanted.iter().filter(|(w, _, _)| w.id == l.id).map(|(_, q, _)| q).sum();
        l.delivered + now >= l.quantity
    });
    let lines: Vec<_> = wanted
        .iter()
        .map(|(l, q, _)| json!({"product_id": l.product_id, "quantity": Qty::from_scaled(*q).to_string(), "unit": l.unit}))
        .collect();
    let numbers: Vec<&str> = moved.iter().map(|(_, _, n)| n.as_str()).collect();
    let id = order.id;
    tx.audit(
        "deliver",
        "sales.order",
        Some(&id.to_string()),
        &json!({"delivery": [null, delivery], "moves": [null, numbers], "lines": [null, lines]}),
    )
    .await?;
    tx.emit(
        "sales.order",
        &id.to_string(),
        "sales.OrderDelivered",
        &json!({"id": id, "number": order.number, "customer_id": order.customer_id, "delivery": delivery, "lines": lines, "complete": complete}),
    )
    .await?;
    finish_if_done(tx, company, id).await
}

/// Delivers goods of a confirmed order in one go (picked, packed and shipped at once): the
/// moves are made now and the delivery document (DO/2026/00001) starts its timeline as
/// shipped. What is not delivered stays reserved as the backorder. Emits
/// `sales.OrderDelivered`. Returns the delivery's number.
pub async fn deliver(tx: &mut Tx, principal: &Principal, id: i64, form: &DeliveryForm) -> Result<String> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let order = lock_order(tx, principal, id).await?;
    if order.status != "confirmed" {
        return Err(db::document::wrong_status(&order.status));
    }
    let wanted = delivery_lines(&order, form)?;
    let moved = send(tx, principal, &order, &wanted, &form.date).await?;
    let (delivery_id, number) =
        crate::shipping::create_delivery(tx, company, id, &form.date, &form.carrier, &form.tracking_number, "shipped")
            .await?;
    crate::shipping::mark_shipped(tx, company, delivery_id, &form.date, "", "", &moved).await?;
    delivered(tx, company, &order, &wanted, &number, &moved).await?;
    Ok(number)
}

/// Starts a delivery in the warehouse (拣货): a pick list of order lines, quantities and lots,
/// as a delivery document in status `picked`. Nothing moves yet and the goods stay reserved for
/// the order; what is on the list cannot be picked again until it ships or is cancelled.
/// Returns the delivery's id.
pub async fn pick(tx: &mut Tx, principal: &Principal, id: i64, form: &DeliveryForm) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let order = lock_order(tx, principal, id).await?;
    if order.status != "confirmed" {
        return Err(db::document::wrong_status(&order.status));
    }
    let mut p = Problems::default();
    let date = p.check(kernel::dates::parse("date", &form.date));
    p.finish()?;
    let wanted = delivery_lines(&order, form)?;
    let date = date.map(|d| d.to_string()).unwrap_or_default();
    let (delivery, number) =
        crate::shipping::create_delivery(tx, company, id, &date, &form.carrier, &form.tracking_number, "picked")
            .await?;
    for (line, qty, lot) in &wanted {
        sqlx::query("INSERT INTO sal_pick_lines (delivery_id, order_line_id, quantity, lot) VALUES ($1, $2, $3, $4)")
            .bind(delivery)
            .bind(line.id)
            .bind(*qty)
            .bind(lot)
            .execute(tx.conn())
            .await?;
    }
    let lines: Vec<_> = wanted
        .iter()
        .map(|(l, q, lot)| json!({"line_id": l.id, "quantity": Qty::from_scaled(*q).to_string(), "lot": lot}))
        .collect();
    tx.audit(
        "pick",
        "sales.delivery",
        Some(&delivery.to_string()),
        &json!({"number": [null, number], "order": [null, order.number], "lines": [null, lines]}),
    )
    .await?;
    Ok(delivery)
}

/// A delivery being prepared, locked with its order: the order row first, as every order
/// operation takes it, then the delivery. Returns (order, delivery number, status).
async fn lock_delivery(tx: &mut Tx, principal: &Principal, delivery: i64) -> Result<(Order, String, String)> {
    let company = principal.company_id.0;
    let order_id: i64 = sqlx::query("SELECT order_id FROM sal_deliveries WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(delivery)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("delivery"))?
        .try_get("order_id")?;
    let order = lock_order(tx, principal, order_id).await?;
    let row = sqlx::query("SELECT number, status FROM sal_deliveries WHERE id = $1")
        .bind(delivery)
        .fetch_one(tx.conn())
        .await?;
    Ok((order, row.try_get("number")?, row.try_get("status")?))
}

/// Packing a picked delivery (包装): how many parcels and what they weigh.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackForm {
    pub packages: String,
    /// Kilograms, up to six places; empty when not weighed.
    #[serde(default)]
    pub weight: String,
}

/// Records the parcels of a picked (or already packed) delivery: status `packed`.
pub async fn pack(tx: &mut Tx, principal: &Principal, delivery: i64, form: &PackForm) -> Result<()> {
    principal.authorize(MANAGE)?;
    let (_, number, status) = lock_delivery(tx, principal, delivery).await?;
    if !crate::shipping::PREPARING.contains(&status.as_str()) {
        return Err(db::document::wrong_status(&status));
    }
    let mut p = Problems::default();
    let packages = match form.packages.trim().parse::<i64>() {
        Ok(n) if (1..=9_999).contains(&n) => n,
        _ => {
            p.add("packages", "error.sales.packages", &form.packages);
            0
        }
    };
    let weight = if form.weight.trim().is_empty() { 0 } else { p.quantity("weight", &form.weight, 100_000_000_000) };
    p.finish()?;
    sqlx::query("UPDATE sal_deliveries SET status = 'packed', packages = $1, weight = $2 WHERE id = $3")
        .bind(packages)
        .bind(weight)
        .bind(delivery)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "pack",
        "sales.delivery",
        Some(&delivery.to_string()),
        &json!({"number": [null, number], "status": [status, "packed"], "packages": [null, packages], "weight": [null, Qty::from_scaled(weight).to_string()]}),
    )
    .await?;
    Ok(())
}

/// Shipping a prepared delivery (发运): the date it leaves and, if known now, its carrier and
/// tracking number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipForm {
    pub date: String,
    #[serde(default)]
    pub carrier: String,
    #[serde(default)]
    pub tracking_number: String,
}

/// Ships a picked or packed delivery: its pick lines become stock moves to the customer (as a
/// delivery in one go makes them) and its timeline starts. Emits `sales.OrderDelivered`.
pub async fn ship(tx: &mut Tx, principal: &Principal, delivery: i64, form: &ShipForm) -> Result<String> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let (order, number, status) = lock_delivery(tx, principal, delivery).await?;
    if !crate::shipping::PREPARING.contains(&status.as_str()) {
        return Err(db::document::wrong_status(&status));
    }
    if order.status != "confirmed" {
        return Err(db::document::wrong_status(&order.status));
    }
    let picks = sqlx::query("SELECT order_line_id, quantity, lot FROM sal_pick_lines WHERE delivery_id = $1")
        .bind(delivery)
        .fetch_all(tx.conn())
        .await?;
    let mut wanted = Vec::with_capacity(picks.len());
    for k in &picks {
        let line_id: i64 = k.try_get("order_line_id")?;
        let line = order.lines.iter().find(|l| l.id == line_id).ok_or(DomainError::NotFound("order line"))?;
        wanted.push((line, k.try_get::<i64, _>("quantity")?, k.try_get::<String, _>("lot")?));
    }
    let moved = send(tx, principal, &order, &wanted, &form.date).await?;
    crate::shipping::mark_shipped(tx, company, delivery, &form.date, &form.carrier, &form.tracking_number, &moved)
        .await?;
    delivered(tx, company, &order, &wanted, &number, &moved).await?;
    Ok(number)
}

/// Cancels a delivery not shipped yet: its pick lines are free to pick again (the goods were
/// never given up by the order's reservation).
pub async fn cancel_delivery(tx: &mut Tx, principal: &Principal, delivery: i64) -> Result<()> {
    principal.authorize(MANAGE)?;
    let (_, number, status) = lock_delivery(tx, principal, delivery).await?;
    if !crate::shipping::PREPARING.contains(&status.as_str()) {
        return Err(db::document::wrong_status(&status));
    }
    sqlx::query("UPDATE sal_deliveries SET status = 'cancelled' WHERE id = $1")
        .bind(delivery)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "state",
        "sales.delivery",
        Some(&delivery.to_string()),
        &json!({"number": [null, number], "status": [status, "cancelled"]}),
    )
    .await
}

/// Takes goods back from the customer (退货): one move per line from `CUSTOMER` into the
/// order's warehouse, valued at the current cost (Dr 1405 / Cr 6401: the cost of sales is
/// undone). What came back is delivered no more: on an order still running (or done) it is
/// reserved again as a backorder to send anew, unless the order is closed; an invoiced quantity
/// now above the delivered one is shown as to credit. Emits `sales.GoodsReturned`. Returns the
/// move numbers.
pub async fn return_goods(tx: &mut Tx, principal: &Principal, id: i64, form: &DeliveryForm) -> Result<Vec<String>> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let order = lock_order(tx, principal, id).await?;
    if !["confirmed", "done", "closed"].contains(&order.status.as_str()) {
        return Err(db::document::wrong_status(&order.status));
    }
    if form.lines.is_empty() {
        return Err(DomainError::invalid("lines", "error.document.no_lines", "").into());
    }
    let mut p = Problems::default();
    let mut wanted: Vec<(&OrderLine, i64, String)> = Vec::new();
    for (i, line) in form.lines.iter().enumerate() {
        let Some(ordered) = order.lines.iter().find(|l| l.id == line.line_id && l.stocked) else {
            p.add(&format!("lines[{i}].line_id"), "error.document.line", line.line_id.to_string());
            continue;
        };
        let qty = p.quantity(&format!("lines[{i}].quantity"), &line.quantity, stock::service::MAX_QUANTITY);
        let before: i64 = wanted.iter().filter(|(w, _, _)| w.id == ordered.id).map(|(_, q, _)| q).sum();
        if before + qty > ordered.delivered {
            p.add(
                &format!("lines[{i}].quantity"),
                "error.sales.over_return",
                Qty::from_scaled(ordered.delivered).to_string(),
            );
        }
        exact(&mut p, i, ordered, qty);
        wanted.push((ordered, qty, line.lot.trim().to_string()));
    }
    p.finish()?;
    // Reservation rows first, in product order, as confirmations and deliveries take them.
    let mut products: Vec<i64> = wanted.iter().map(|(l, _, _)| l.product_id).collect();
    products.sort_unstable();
    products.dedup();
    if order.status != "closed" {
        for product in &products {
            stock::service::lock_reservation(tx, company, *product, &order.warehouse).await?;
        }
    }
    let mut numbers = Vec::new();
    for (i, (line, qty, lot)) in wanted.iter().enumerate() {
        // Back at the cost they left with on this order's deliveries, so the cost of sales
        // is undone exactly (not at today's average, which may be nothing when sold out).
        let sent = sqlx::query(
            "SELECT CAST(COALESCE(SUM(m.value), 0) AS BIGINT) AS value, CAST(COALESCE(SUM(m.quantity), 0) AS BIGINT) AS quantity \
             FROM stk_moves m JOIN stk_locations t ON t.id = m.to_location_id \
             WHERE m.company_id = $1 AND m.product_id = $2 AND m.reference = $3 AND t.kind = 'customer'",
        )
        .bind(company)
        .bind(line.product_id)
        .bind(&order.number)
        .fetch_one(tx.conn())
        .await?;
        let unit_cost = stock::domain::average_cost(sent.try_get("quantity")?, sent.try_get("value")?);
        let parts =
            stock::domain::move_parts(line.track_serial, &format!("lines[{i}].lot"), lot, line.in_stock_unit(*qty))
                .map_err(|e| DomainError::Invalid(vec![e]))?;
        for (lot, part) in parts {
            let mv = stock::service::MoveForm {
                product_id: line.product_id,
                quantity: Qty::from_scaled(part).to_string(),
                from: "CUSTOMER".into(),
                to: format!("{}/STOCK", order.warehouse),
                lot,
                reference: format!("退货 {}", order.number),
                date: form.date.clone(),
                unit_cost: Qty::from_scaled(unit_cost).to_string(),
                expiry: String::new(),
                tags: stock::service::MoveTags { undoing: true, ..order.tags() },
            };
            let (_, number) = stock::service::move_stock(tx, principal, &mv).await.map_err(|e| e.within_line(i))?;
            numbers.push(number);
        }
        sqlx::query("UPDATE sal_order_lines SET delivered = delivered - $1 WHERE id = $2")
            .bind(*qty)
            .bind(line.id)
            .execute(tx.conn())
            .await?;
    }
    if order.status != "closed" {
        // The goods just came back into the warehouse, so they can be promised again.
        let mut again: Vec<(i64, i64)> = wanted.iter().map(|(l, q, _)| (l.product_id, l.in_stock_unit(*q))).collect();
        again.sort_unstable();
        for (product, qty) in again {
            stock::service::reserve(tx, company, product, &order.warehouse, qty, &order.number).await?;
        }
        set_status(tx, &order, "confirmed").await?;
    }
    let returned: Vec<_> = wanted
        .iter()
        .map(|(l, q, _)| json!({"product_id": l.product_id, "quantity": Qty::from_scaled(*q).to_string()}))
        .collect();
    tx.audit(
        "return",
        "sales.order",
        Some(&id.to_string()),
        &json!({"moves": [null, numbers], "lines": [null, returned]}),
    )
    .await?;
    tx.emit(
        "sales.order",
        &id.to_string(),
        "sales.GoodsReturned",
        &json!({"id": id, "number": order.number, "customer_id": order.customer_id, "lines": returned}),
    )
    .await?;
    Ok(numbers)
}

/// An order whose goods are all delivered and everything invoiced is done.
async fn finish_if_done(tx: &mut Tx, company: i64, id: i64) -> Result<()> {
    let order = load_order(tx.conn(), company, id).await?.ok_or(DomainError::NotFound("sales order"))?;
    let done = order.lines.iter().all(|l| l.to_deliver() == 0 && l.invoiced >= l.quantity);
    if done && order.status == "confirmed" {
        set_status(tx, &order, "done").await?;
    }
    Ok(())
}

/// Invoices what may be invoiced now (goods delivered, services ordered, less what was
/// invoiced before): a customer invoice in finance at the order's prices, posted at once
/// (Dr 1122, Cr 6001, Cr 22210102, or 222107 for lines at the simplified method's rates). Emits `sales.OrderInvoiced`. Returns the invoice id.
pub async fn invoice(tx: &mut Tx, principal: &Principal, id: i64, date: &str) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let revenue = finance::chart::code(tx.conn(), principal.company_id.0, finance::chart::Role::Revenue).await?;
    let company = principal.company_id.0;
    let order = lock_order(tx, principal, id).await?;
    if !["confirmed", "done", "closed"].contains(&order.status.as_str()) {
        return Err(db::document::wrong_status(&order.status));
    }
    let lines: Vec<&OrderLine> = order.lines.iter().filter(|l| l.to_invoice() > 0).collect();
    if lines.is_empty() {
        return Err(DomainError::invalid("lines", "error.sales.nothing_to_invoice", &order.number).into());
    }
    let form = finance::invoicing::InvoiceForm {
        kind: "customer".into(),
        party_id: order.customer_id,
        date: date.to_string(),
        tax_inclusive: order.tax_inclusive,
        vat_rounding: Some(order.vat_rounding),
        memo: order.number.clone(),
        lines: lines
            .iter()
            .map(|l| InvoiceLineForm {
                description: format!("{} {} ({})", l.product_code, l.product_name, l.unit),
                quantity: Qty::from_scaled(l.to_invoice()).to_string(),
                unit_price: yuan(l.unit_price),
                discount: String::new(),
                vat_rate: kernel::vat::choice(l.vat_rate_bp),
                account: revenue.into(),
                product_id: Some(l.product_id),
                cost_center: order.cost_center.clone(),
                project: order.project.clone(),
            })
            .collect(),
        ..Default::default()
    };
    let invoice_id = finance::invoicing::create_invoice(tx, principal, &form).await?;
    let number = finance::invoicing::post_invoice(tx, principal, invoice_id).await?;
    for line in &lines {
        sqlx::query("UPDATE sal_order_lines SET invoiced = invoiced + $1 WHERE id = $2")
            .bind(line.to_invoice())
            .bind(line.id)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query("INSERT INTO sal_order_invoices (order_id, invoice_id) VALUES ($1, $2)")
        .bind(id)
        .bind(invoice_id)
        .execute(tx.conn())
        .await?;
    tx.audit("invoice", "sales.order", Some(&id.to_string()), &json!({"invoice": [null, number]})).await?;
    tx.emit(
        "sales.order",
        &id.to_string(),
        "sales.OrderInvoiced",
        &json!({"id": id, "number": order.number, "customer_id": order.customer_id, "invoice_id": invoice_id, "invoice": number}),
    )
    .await?;
    finish_if_done(tx, company, id).await?;
    Ok(invoice_id)
}

/// Credits what the customer was invoiced and does not have (goods returned, or a backorder
/// dropped after it was invoiced): a credit note in finance against the order's latest invoice,
/// at the order's prices, posted in red ink (Dr 6001, Dr 22210102 or 222107 / Cr 1122). The
/// simplified method's tax comes off where that invoice put it, so goods of an older invoice
/// of the order, posted before 222107 held it, come off 222107 all the same. It settles what
/// is still open on that invoice; what was paid already is owed back to the customer. Emits
/// `sales.OrderCredited`. Returns the credit note's id.
pub async fn credit(tx: &mut Tx, principal: &Principal, id: i64, date: &str) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let revenue = finance::chart::code(tx.conn(), principal.company_id.0, finance::chart::Role::Revenue).await?;
    let company = principal.company_id.0;
    let order = lock_order(tx, principal, id).await?;
    let lines: Vec<(&OrderLine, i64)> =
        order.lines.iter().map(|l| (l, order.to_credit(l))).filter(|(_, q)| *q > 0).collect();
    // The latest invoice of the order (not one of its credit notes) is the one credited.
    let invoice_id: Option<i64> = sqlx::query(
        "SELECT i.id FROM sal_order_invoices s JOIN fin_invoices i ON i.id = s.invoice_id \
         WHERE s.order_id = $1 AND i.credit_of IS NULL AND i.number IS NOT NULL ORDER BY i.id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.try_get("id"))
    .transpose()?;
    let (Some(invoice_id), false) = (invoice_id, lines.is_empty()) else {
        return Err(DomainError::invalid("lines", "error.sales.nothing_to_credit", &order.number).into());
    };
    let forms: Vec<InvoiceLineForm> = lines
        .iter()
        .map(|(l, q)| InvoiceLineForm {
            description: format!("{} {} ({})", l.product_code, l.product_name, l.unit),
            quantity: Qty::from_scaled(*q).to_string(),
            unit_price: yuan(l.unit_price),
            discount: String::new(),
            vat_rate: kernel::vat::choice(l.vat_rate_bp),
            account: revenue.into(),
            product_id: Some(l.product_id),
            cost_center: order.cost_center.clone(),
            project: order.project.clone(),
        })
        .collect();
    let note = finance::invoicing::credit_part(tx, principal, invoice_id, date, &forms, &order.number).await?;
    for (line, quantity) in &lines {
        sqlx::query("UPDATE sal_order_lines SET invoiced = invoiced - $1 WHERE id = $2")
            .bind(*quantity)
            .bind(line.id)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query("INSERT INTO sal_order_invoices (order_id, invoice_id) VALUES ($1, $2)")
        .bind(id)
        .bind(note)
        .execute(tx.conn())
        .await?;
    let credited: Vec<_> = lines
        .iter()
        .map(|(l, q)| json!({"product_id": l.product_id, "quantity": Qty::from_scaled(*q).to_string(), "unit": l.unit}))
        .collect();
    tx.audit(
        "credit",
        "sales.order",
        Some(&id.to_string()),
        &json!({"credit_note": [null, note], "lines": [null, credited]}),
    )
    .await?;
    tx.emit(
        "sales.order",
        &id.to_string(),
        "sales.OrderCredited",
        &json!({"id": id, "number": order.number, "customer_id": order.customer_id, "credit_note_id": note, "lines": credited}),
    )
    .await?;
    finish_if_done(tx, company, id).await?;
    Ok(note)
}

/// A delivered or returned quantity in a line's unit must be a whole number of millionths of
/// the stock unit, since that is what moves: 0.5 box of 12 is 6 pieces, 0.1 g of a product
/// counted in kg is 0.0001 kg, but a millionth of a gram is no quantity the warehouse can hold.
fn exact(p: &mut Problems, i: usize, line: &OrderLine, quantity: i64) {
    if line.line_unit().to_stock(quantity).is_none() {
        p.add(
            &format!("lines[{i}].quantity"),
            "error.catalog.inexact",
            format!("{} {}", Qty::from_scaled(quantity), line.unit),
        );
    }
}

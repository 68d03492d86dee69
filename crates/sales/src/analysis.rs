//! Sales analysis: confirmed and finished orders of a period grouped by customer, product or
//! month, and the open orders (something still to deliver or to invoice). Both are one grouped
//! query each.

use db::{Result, RowExt};
use kernel::permission::RowFilter;
use serde::Serialize;

/// What the analysis groups by.
pub const GROUPINGS: [&str; 3] = ["customer", "product", "month"];

/// One group: its label, how many orders, the quantity (millionths of the stock unit, whatever
/// unit each line was written in; meaningful per product) and the net amount ordered (fen).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub key: String,
    pub orders: i64,
    pub quantity: i64,
    pub net: i64,
}

/// Orders dated `from..=to` that were confirmed (cancelled ones and bare quotations are not
/// sales), grouped by `by` (one of [`GROUPINGS`]).
pub async fn by(conn: &mut db::Conn, filter: &RowFilter, from: &str, to: &str, by: &str) -> Result<Vec<Group>> {
    let key = match by {
        "customer" => "p.name",
        "product" => "c.code || ' ' || c.name",
        "month" => "SUBSTR(o.order_date, 1, 7)",
        other => return Err(kernel::DomainError::invalid("by", "error.sales.grouping", other).into()),
    };
    let order = if by == "month" { "key" } else { "net DESC, key" };
    let mut q = db::SqlBuilder::new(format!(
        "SELECT {key} AS key, COUNT(DISTINCT o.id) AS orders, CAST(SUM(l.quantity * l.stock_num / l.stock_den) AS BIGINT) AS quantity, CAST(SUM(l.net) AS BIGINT) AS net \
         FROM sal_orders o JOIN sal_order_lines l ON l.order_id = o.id JOIN parties p ON p.id = o.customer_id JOIN cat_products c ON c.id = l.product_id \
         WHERE o.status IN ('confirmed', 'done') AND o.order_date >= "
    ));
    q.bind(from.to_string()).push(" AND o.order_date <= ").bind(to.to_string());
    // Salespeople read the figures of the orders their scope reaches.
    db::rules::push_filter(&mut q, filter, "o.company_id", "o.created_by");
    q.push(&format!(" GROUP BY {key} ORDER BY {order} LIMIT 500"));
    q.build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Group {
                key: r.try_get("key")?,
                orders: r.try_get("orders")?,
                quantity: r.try_get("quantity")?,
                net: r.try_get("net")?,
            })
        })
        .collect()
}

/// A confirmed order with goods still to deliver or amounts still to invoice.
#[derive(Debug, Clone, Serialize)]
pub struct OpenOrder {
    pub id: i64,
    pub number: String,
    pub customer_name: String,
    pub date: String,
    pub total: i64,
    /// Order lines with something left to deliver.
    pub lines_to_deliver: i64,
    /// The part of the total not yet invoiced (fen), pro rata of each line's quantity.
    pub not_invoiced: i64,
}

pub async fn open_orders(conn: &mut db::Conn, filter: &RowFilter) -> Result<Vec<OpenOrder>> {
    let mut q = db::SqlBuilder::new(
        "SELECT o.id, o.number, p.name, o.order_date, o.total, l.stocked, l.quantity, l.delivered, l.invoiced, l.net + l.tax AS amount \
         FROM sal_orders o JOIN parties p ON p.id = o.customer_id JOIN sal_order_lines l ON l.order_id = o.id \
         WHERE o.status = 'confirmed'",
    );
    db::rules::push_filter(&mut q, filter, "o.company_id", "o.created_by");
    q.push(" ORDER BY o.order_date, o.id, l.line_no");
    let rows = q.build().fetch_all(conn).await?;
    let mut out: Vec<OpenOrder> = Vec::new();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        if out.last().is_none_or(|o| o.id != id) {
            out.push(OpenOrder {
                id,
                number: r.try_get("number")?,
                customer_name: r.try_get("name")?,
                date: r.try_get("order_date")?,
                total: r.try_get("total")?,
                lines_to_deliver: 0,
                not_invoiced: 0,
            });
        }
        let (quantity, delivered, invoiced, amount): (i64, i64, i64, i64) =
            (r.try_get("quantity")?, r.try_get("delivered")?, r.try_get("invoiced")?, r.try_get("amount")?);
        let open = out.last_mut().expect("pushed above");
        if db::flag(&r, "stocked")? && delivered < quantity {
            open.lines_to_deliver += 1;
        }
        let share = i128::from(amount) * i128::from((quantity - invoiced).max(0)) / i128::from(quantity.max(1));
        open.not_invoiced += i64::try_from(share).unwrap_or(i64::MAX);
    }
    Ok(out)
}

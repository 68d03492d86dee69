//! Purchase analysis: confirmed orders of a period grouped by supplier, product or month, and
//! the open orders (goods still to come or received goods not yet billed). One grouped query
//! each.

use db::{Result, RowExt};
use kernel::permission::RowFilter;
use serde::Serialize;

/// What the analysis groups by.
pub const GROUPINGS: [&str; 3] = ["supplier", "product", "month"];

/// One group: its label, how many orders, the quantity ordered (millionths of the stock unit,
/// whatever unit each line was written in; meaningful per product), the net amount ordered and
/// the quantity received (fen, millionths).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub key: String,
    pub orders: i64,
    pub quantity: i64,
    pub received: i64,
    pub net: i64,
}

/// Orders dated `from..=to` that were confirmed (drafts, orders waiting for approval and
/// cancelled ones are not purchases), grouped by `by` (one of [`GROUPINGS`]).
pub async fn by(conn: &mut db::Conn, filter: &RowFilter, from: &str, to: &str, by: &str) -> Result<Vec<Group>> {
    let key = match by {
        "supplier" => "p.name",
        "product" => "c.code || ' ' || c.name",
        "month" => "SUBSTR(o.order_date, 1, 7)",
        other => return Err(kernel::DomainError::invalid("by", "error.purchase.grouping", other).into()),
    };
    let order = if by == "month" { "key" } else { "net DESC, key" };
    let mut q = db::SqlBuilder::new(format!(
        "SELECT {key} AS key, COUNT(DISTINCT o.id) AS orders, CAST(SUM(l.quantity * l.stock_num / l.stock_den) AS BIGINT) AS quantity, \
           CAST(SUM(l.received * l.stock_num / l.stock_den) AS BIGINT) AS received, CAST(SUM(l.net) AS BIGINT) AS net \
         FROM pur_orders o JOIN pur_order_lines l ON l.order_id = o.id JOIN parties p ON p.id = o.supplier_id JOIN cat_products c ON c.id = l.product_id \
         WHERE o.status IN ('confirmed', 'received', 'closed') AND o.order_date >= "
    ));
    q.bind(from.to_string()).push(" AND o.order_date <= ").bind(to.to_string());
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
                received: r.try_get("received")?,
                net: r.try_get("net")?,
            })
        })
        .collect()
}

/// A confirmed order with goods still to come (the backorder) or received goods not billed.
#[derive(Debug, Clone, Serialize)]
pub struct OpenOrder {
    pub id: i64,
    pub number: String,
    pub supplier_name: String,
    pub date: String,
    pub total: i64,
    pub lines_to_receive: i64,
    pub lines_to_bill: i64,
}

pub async fn open_orders(conn: &mut db::Conn, filter: &RowFilter) -> Result<Vec<OpenOrder>> {
    let mut q = db::SqlBuilder::new(
        "SELECT o.id, o.number, p.name, o.order_date, o.total, \
           SUM(CASE WHEN o.status = 'confirmed' AND l.received < l.quantity THEN 1 ELSE 0 END) AS to_receive, \
           SUM(CASE WHEN l.billed < l.received THEN 1 ELSE 0 END) AS to_bill \
         FROM pur_orders o JOIN parties p ON p.id = o.supplier_id JOIN pur_order_lines l ON l.order_id = o.id \
         WHERE o.status IN ('confirmed', 'received', 'closed')",
    );
    db::rules::push_filter(&mut q, filter, "o.company_id", "o.created_by");
    q.push(
        " GROUP BY o.id, o.number, p.name, o.order_date, o.total \
         HAVING SUM(CASE WHEN o.status = 'confirmed' AND l.received < l.quantity THEN 1 ELSE 0 END) > 0 \
             OR SUM(CASE WHEN l.billed < l.received THEN 1 ELSE 0 END) > 0 \
         ORDER BY o.order_date, o.id LIMIT 500",
    );
    let rows = q.build().fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(OpenOrder {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                supplier_name: r.try_get("name")?,
                date: r.try_get("order_date")?,
                total: r.try_get("total")?,
                lines_to_receive: r.try_get("to_receive")?,
                lines_to_bill: r.try_get("to_bill")?,
            })
        })
        .collect()
}

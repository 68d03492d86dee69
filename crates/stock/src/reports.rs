//! Stock reports: turnover and days of cover over a period, and slow movers. They read the kept
//! quantity and value per product and, for a period, the moves of that period and after it
//! (by the date index), never the whole history: the value at a date is today's value less
//! what moved after it.

use db::{Result, RowExt};
use serde::Serialize;

/// A product's turnover over a period. Values in fen, quantities in millionths.
#[derive(Debug, Clone, Serialize)]
pub struct Turnover {
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub opening_value: i64,
    pub closing_value: i64,
    /// Net of goods customers sent back.
    pub cost_of_sales: i64,
    pub delivered: i64,
    pub closing_quantity: i64,
    /// Cost of sales over the average of opening and closing value, in hundredths
    /// (`235` is 2.35 times); none when nothing was held.
    pub turnover_x100: Option<i64>,
    /// Days the closing quantity lasts at the period's rate of delivery; none without deliveries.
    pub days_of_cover: Option<i64>,
}

/// Turnover per product from `from` to `to` (inclusive dates), for products held or moved.
pub async fn turnover(conn: &mut db::Conn, company: i64, from: &str, to: &str) -> Result<Vec<Turnover>> {
    let days = match (
        chrono::NaiveDate::parse_from_str(from, "%Y-%m-%d"),
        chrono::NaiveDate::parse_from_str(to, "%Y-%m-%d"),
    ) {
        (Ok(f), Ok(t)) if t >= f => (t - f).num_days() + 1,
        _ => return Err(kernel::DomainError::invalid("to", "error.stock.period", format!("{from} – {to}")).into()),
    };
    let rows = sqlx::query(
        "SELECT p.id, p.code, p.name, CAST(COALESCE(v.quantity, 0) AS BIGINT) AS quantity, CAST(COALESCE(v.value, 0) AS BIGINT) AS value, \
           CAST(COALESCE(m.after_value, 0) AS BIGINT) AS after_value, CAST(COALESCE(m.after_quantity, 0) AS BIGINT) AS after_quantity, \
           CAST(COALESCE(m.period_value, 0) AS BIGINT) AS period_value, CAST(COALESCE(m.cost_of_sales, 0) AS BIGINT) AS cost_of_sales, \
           CAST(COALESCE(m.delivered, 0) AS BIGINT) AS delivered \
         FROM cat_products p LEFT JOIN stk_valuations v ON v.company_id = p.company_id AND v.product_id = p.id \
         LEFT JOIN ( \
           SELECT m.product_id, \
             SUM(CASE WHEN m.move_date > $3 THEN (CASE WHEN t.kind = 'internal' THEN m.value ELSE -m.value END) ELSE 0 END) AS after_value, \
             SUM(CASE WHEN m.move_date > $3 THEN (CASE WHEN t.kind = 'internal' THEN m.quantity ELSE -m.quantity END) ELSE 0 END) AS after_quantity, \
             SUM(CASE WHEN m.move_date <= $3 THEN (CASE WHEN t.kind = 'internal' THEN m.value ELSE -m.value END) ELSE 0 END) AS period_value, \
             SUM(CASE WHEN m.move_date <= $3 AND t.kind = 'customer' THEN m.value WHEN m.move_date <= $3 AND f.kind = 'customer' THEN -m.value ELSE 0 END) AS cost_of_sales, \
             SUM(CASE WHEN m.move_date <= $3 AND t.kind = 'customer' THEN m.quantity WHEN m.move_date <= $3 AND f.kind = 'customer' THEN -m.quantity ELSE 0 END) AS delivered \
           FROM stk_moves m JOIN stk_locations f ON f.id = m.from_location_id JOIN stk_locations t ON t.id = m.to_location_id \
           WHERE m.company_id = $1 AND m.move_date >= $2 AND ((f.kind = 'internal' AND t.kind <> 'internal') OR (f.kind <> 'internal' AND t.kind = 'internal')) \
           GROUP BY m.product_id \
         ) m ON m.product_id = p.id \
         WHERE p.company_id = $1 AND (v.quantity <> 0 OR v.value <> 0 OR m.product_id IS NOT NULL) ORDER BY p.code LIMIT 5000",
    )
    .bind(company)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let (value, after_value, period_value): (i64, i64, i64) =
                (r.try_get("value")?, r.try_get("after_value")?, r.try_get("period_value")?);
            let closing_value = value - after_value;
            let opening_value = closing_value - period_value;
            let closing_quantity = r.try_get::<i64, _>("quantity")? - r.try_get::<i64, _>("after_quantity")?;
            let (cost_of_sales, delivered): (i64, i64) = (r.try_get("cost_of_sales")?, r.try_get("delivered")?);
            let average_x2 = i128::from(opening_value) + i128::from(closing_value);
            Ok(Turnover {
                product_id: r.try_get("id")?,
                product_code: r.try_get("code")?,
                product_name: r.try_get("name")?,
                opening_value,
                closing_value,
                cost_of_sales,
                delivered,
                closing_quantity,
                turnover_x100: (average_x2 > 0)
                    .then(|| i64::try_from(i128::from(cost_of_sales) * 200 / average_x2).unwrap_or(i64::MAX)),
                days_of_cover: (delivered > 0).then(|| {
                    i64::try_from(i128::from(closing_quantity.max(0)) * i128::from(days) / i128::from(delivered))
                        .unwrap_or(i64::MAX)
                }),
            })
        })
        .collect()
}

/// A product held but not delivered to a customer for a while.
#[derive(Debug, Clone, Serialize)]
pub struct SlowMover {
    pub product_id: i64,
    pub product_code: String,
    pub product_name: String,
    pub quantity: i64,
    pub value: i64,
    /// The latest delivery to a customer, if there ever was one.
    pub last_delivery: Option<String>,
}

/// Products on hand with no delivery since `since` (or none ever), the most valuable first.
pub async fn slow_movers(conn: &mut db::Conn, company: i64, since: &str) -> Result<Vec<SlowMover>> {
    let rows = sqlx::query(
        "SELECT v.product_id, p.code, p.name, v.quantity, v.value, v.last_delivery FROM stk_valuations v \
         JOIN cat_products p ON p.id = v.product_id WHERE v.company_id = $1 AND v.quantity > 0 \
         AND (v.last_delivery IS NULL OR v.last_delivery < $2) ORDER BY v.value DESC, p.code LIMIT 1000",
    )
    .bind(company)
    .bind(since)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SlowMover {
                product_id: r.try_get("product_id")?,
                product_code: r.try_get("code")?,
                product_name: r.try_get("name")?,
                quantity: r.try_get("quantity")?,
                value: r.try_get("value")?,
                last_delivery: r.try_get("last_delivery")?,
            })
        })
        .collect()
}

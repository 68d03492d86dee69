//! Shipping: carriers, the delivery documents a delivery makes, and their tracking timelines.
//! Events come by hand, from a carrier's CSV, or from the carrier's signed callback; each is
//! one transaction that adds the event, sets the delivery's status to its latest event's and
//! emits `sales.ShipmentUpdated`, so the customer's order (and later the CRM timeline) shows
//! where the goods are.

use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::permissions::MANAGE;

/// The statuses of a delivery's timeline, in their usual order.
pub const STATUSES: [&str; 4] = ["shipped", "in_transit", "delivered", "exception"];

/// The statuses of a delivery being prepared in the warehouse, before its timeline starts.
pub const PREPARING: [&str; 2] = ["picked", "packed"];

/// How old a carrier's signed call may be before it is refused as a replay.
pub const CALLBACK_TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, Serialize)]
pub struct Carrier {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// The key the carrier signs its callbacks with; shown to those who manage sales.
    pub webhook_secret: String,
}

pub async fn carriers(conn: &mut db::Conn, company: i64) -> Result<Vec<Carrier>> {
    sqlx::query("SELECT id, code, name, webhook_secret FROM sal_carriers WHERE company_id = $1 ORDER BY code")
        .bind(company)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Carrier {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                webhook_secret: r.try_get("webhook_secret")?,
            })
        })
        .collect()
}

/// Adds a carrier (SF 顺丰, JD 京东物流 …) with a fresh callback secret.
pub async fn create_carrier(tx: &mut Tx, principal: &Principal, code: &str, name: &str) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let code = code.trim().to_uppercase();
    let mut p = Problems::default();
    if code.is_empty() || code.len() > 10 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        p.add("code", "error.catalog.code", &code);
    }
    if name.trim().is_empty() {
        p.add("name", "error.required", "");
    }
    p.finish()?;
    let inserted = sqlx::query(
        "INSERT INTO sal_carriers (company_id, code, name, webhook_secret, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(company)
    .bind(&code)
    .bind(name.trim())
    .bind(web::accounts::random_hex(24))
    .bind(tx.now().to_string())
    .fetch_one(tx.conn())
    .await
    .map_err(db::Error::from);
    let id: i64 = match inserted {
        Err(e) if e.is_unique_violation() => {
            return Err(DomainError::invalid("code", "error.catalog.code_taken", &code).into())
        }
        other => other?.try_get("id")?,
    };
    tx.audit(
        "create",
        "sales.carrier",
        Some(&id.to_string()),
        &json!({"code": [null, code], "name": [null, name.trim()]}),
    )
    .await?;
    Ok(id)
}

async fn carrier_id(tx: &mut Tx, company: i64, code: &str) -> Result<Option<i64>> {
    Ok(sqlx::query("SELECT id FROM sal_carriers WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(code.trim().to_uppercase())
        .fetch_optional(tx.conn())
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?)
}

/// The carrier named on a delivery form (none when empty) and a tracking number's length.
async fn carrier_and_tracking(tx: &mut Tx, company: i64, carrier: &str, tracking_number: &str) -> Result<Option<i64>> {
    let carrier = match carrier.trim() {
        "" => None,
        code => Some(
            carrier_id(tx, company, code)
                .await?
                .ok_or_else(|| DomainError::invalid("carrier", "error.sales.carrier", code))?,
        ),
    };
    if tracking_number.chars().count() > 50 {
        return Err(DomainError::invalid("tracking_number", "error.too_long", "50").into());
    }
    Ok(carrier)
}

/// Makes the delivery document (called by `service::deliver` or `service::pick` in their
/// transaction), `picked` or `shipped`; a shipped one gets its lines and first event from
/// [`mark_shipped`]. Returns its id and number.
pub(crate) async fn create_delivery(
    tx: &mut Tx,
    company: i64,
    order: i64,
    date: &str,
    carrier: &str,
    tracking_number: &str,
    status: &str,
) -> Result<(i64, String)> {
    let carrier = carrier_and_tracking(tx, company, carrier, tracking_number).await?;
    let year: i32 = date.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let number = tx.next_number(company, "sales.delivery", year, "DO/{year}/{seq:05}").await?;
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let id: i64 = sqlx::query(
        "INSERT INTO sal_deliveries (company_id, order_id, number, delivery_date, carrier_id, tracking_number, status, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(company)
    .bind(order)
    .bind(&number)
    .bind(date)
    .bind(carrier)
    .bind(tracking_number.trim())
    .bind(status)
    .bind(&now)
    .bind(user)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    Ok((id, number))
}

/// A delivery leaves: its moves (order line, quantity in the stock unit, move number) are
/// written on it, its date becomes the day it left, and its timeline starts with `shipped`.
/// A carrier and tracking number given now replace those entered when it was picked.
pub(crate) async fn mark_shipped(
    tx: &mut Tx,
    company: i64,
    id: i64,
    date: &str,
    carrier: &str,
    tracking_number: &str,
    lines: &[(i64, i64, String)],
) -> Result<()> {
    let carrier = carrier_and_tracking(tx, company, carrier, tracking_number).await?;
    let now = tx.now().to_string();
    sqlx::query(
        "UPDATE sal_deliveries SET status = 'shipped', delivery_date = $1, carrier_id = COALESCE($2, carrier_id), \
         tracking_number = CASE WHEN $3 = '' THEN tracking_number ELSE $3 END WHERE id = $4",
    )
    .bind(date)
    .bind(carrier)
    .bind(tracking_number.trim())
    .bind(id)
    .execute(tx.conn())
    .await?;
    for (line, quantity, mv) in lines {
        sqlx::query("INSERT INTO sal_delivery_lines (delivery_id, order_line_id, quantity, move_number) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(*line)
            .bind(*quantity)
            .bind(mv)
            .execute(tx.conn())
            .await?;
    }
    sqlx::query(
        "INSERT INTO sal_tracking_events (delivery_id, status, occurred_at, source, recorded_at) VALUES ($1, 'shipped', $2, 'manual', $3)",
    )
    .bind(id)
    .bind(format!("{date} 00:00"))
    .bind(&now)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Whoever updates a delivery must reach its order under the record rules.
async fn reach_delivery(tx: &mut Tx, principal: &Principal, delivery: i64) -> Result<()> {
    let order: i64 = sqlx::query("SELECT order_id FROM sal_deliveries WHERE company_id = $1 AND id = $2")
        .bind(principal.company_id.0)
        .bind(delivery)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("delivery"))?
        .try_get("order_id")?;
    crate::permissions::ORDERS.reach(tx.conn(), principal, MANAGE, order).await
}

/// Sets (or corrects) a delivery's carrier and tracking number.
pub async fn set_tracking(
    tx: &mut Tx,
    principal: &Principal,
    delivery: i64,
    carrier: &str,
    tracking: &str,
) -> Result<()> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    reach_delivery(tx, principal, delivery).await?;
    let mut p = Problems::default();
    let carrier_id = carrier_id(tx, company, carrier).await?;
    if carrier_id.is_none() {
        p.add("carrier", "error.sales.carrier", carrier);
    }
    if tracking.trim().is_empty() {
        p.add("tracking_number", "error.required", "");
    }
    if tracking.chars().count() > 50 {
        p.add("tracking_number", "error.too_long", "50");
    }
    p.finish()?;
    let changed = sqlx::query(
        "UPDATE sal_deliveries SET carrier_id = $1, tracking_number = $2 WHERE company_id = $3 AND id = $4",
    )
    .bind(carrier_id)
    .bind(tracking.trim())
    .bind(company)
    .bind(delivery)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed != 1 {
        return Err(DomainError::NotFound("delivery").into());
    }
    tx.audit(
        "update",
        "sales.delivery",
        Some(&delivery.to_string()),
        &json!({"carrier": [null, carrier.trim().to_uppercase()], "tracking_number": [null, tracking.trim()]}),
    )
    .await?;
    Ok(())
}

/// A tracking event as reported.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingForm {
    /// One of [`STATUSES`].
    pub status: String,
    /// When it happened, local time: `YYYY-MM-DD HH:MM` (or with `T` and seconds).
    pub time: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub note: String,
}

/// A carrier's call: the tracking number and the event.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarrierCall {
    pub tracking_number: String,
    pub status: String,
    pub time: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub note: String,
}

/// A time as `YYYY-MM-DD HH:MM`, from the forms people and carriers send.
fn parse_time(text: &str) -> Option<String> {
    let text = text.trim();
    ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
        .filter(|t| (2000..=2100).contains(&chrono::Datelike::year(t)))
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
}

fn check(form: &TrackingForm) -> std::result::Result<String, DomainError> {
    let mut p = Problems::default();
    if !STATUSES.contains(&form.status.trim()) {
        p.add("status", "error.sales.tracking_status", &form.status);
    }
    let time = parse_time(&form.time);
    if time.is_none() {
        p.add("time", "error.sales.tracking_time", &form.time);
    }
    if form.location.chars().count() > 100 {
        p.add("location", "error.too_long", "100");
    }
    if form.note.chars().count() > 200 {
        p.add("note", "error.too_long", "200");
    }
    p.finish()?;
    Ok(time.unwrap_or_default())
}

/// Adds an event to a delivery's timeline and sets its status to its latest event's.
async fn record(tx: &mut Tx, company: i64, delivery: i64, form: &TrackingForm, source: &str) -> Result<String> {
    let time = check(form)?;
    // The delivery's row first: two events arriving together are recorded one after the other,
    // so the second sees the first when it works out the latest status.
    sqlx::query("UPDATE sal_deliveries SET status = status WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(delivery)
        .execute(tx.conn())
        .await?;
    let row = sqlx::query(
        "SELECT d.number, d.status, d.tracking_number, o.id AS order_id, o.number AS order_number, o.customer_id FROM sal_deliveries d \
         JOIN sal_orders o ON o.id = d.order_id WHERE d.company_id = $1 AND d.id = $2",
    )
    .bind(company)
    .bind(delivery)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(DomainError::NotFound("delivery"))?;
    let current: String = row.try_get("status")?;
    if PREPARING.contains(&current.as_str()) || current == "cancelled" {
        return Err(
            DomainError::invalid("status", "error.sales.not_shipped", row.try_get::<String, _>("number")?).into()
        );
    }
    sqlx::query(
        "INSERT INTO sal_tracking_events (delivery_id, status, occurred_at, location, note, source, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(delivery)
    .bind(form.status.trim())
    .bind(&time)
    .bind(form.location.trim())
    .bind(form.note.trim())
    .bind(source)
    .bind(tx.now().to_string())
    .execute(tx.conn())
    .await?;
    // An event reported late (a scan from yesterday arriving after today's) does not turn the
    // clock back: the status is the latest event's by when it happened.
    let status: String = sqlx::query(
        "SELECT status FROM sal_tracking_events WHERE delivery_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT 1",
    )
    .bind(delivery)
    .fetch_one(tx.conn())
    .await?
    .try_get("status")?;
    sqlx::query("UPDATE sal_deliveries SET status = $1 WHERE id = $2")
        .bind(&status)
        .bind(delivery)
        .execute(tx.conn())
        .await?;
    let number: String = row.try_get("number")?;
    tx.audit(
        "track",
        "sales.delivery",
        Some(&delivery.to_string()),
        &json!({"event": [null, {"status": form.status.trim(), "time": time, "source": source}], "status": [null, status]}),
    )
    .await?;
    tx.emit(
        "sales.order",
        &row.try_get::<i64, _>("order_id")?.to_string(),
        "sales.ShipmentUpdated",
        &json!({"delivery": number, "order": row.try_get::<String, _>("order_number")?, "customer_id": row.try_get::<i64, _>("customer_id")?,
            "tracking_number": row.try_get::<String, _>("tracking_number")?, "status": status, "event": form.status.trim(), "time": time}),
    )
    .await?;
    Ok(status)
}

/// Someone records a tracking event by hand. Returns the delivery's status.
pub async fn add_event(tx: &mut Tx, principal: &Principal, delivery: i64, form: &TrackingForm) -> Result<String> {
    principal.authorize(MANAGE)?;
    reach_delivery(tx, principal, delivery).await?;
    record(tx, principal.company_id.0, delivery, form, "manual").await
}

async fn delivery_by_tracking(tx: &mut Tx, company: i64, carrier: i64, tracking: &str) -> Result<Option<i64>> {
    Ok(sqlx::query("SELECT id FROM sal_deliveries WHERE company_id = $1 AND carrier_id = $2 AND tracking_number = $3 ORDER BY id DESC LIMIT 1")
        .bind(company)
        .bind(carrier)
        .bind(tracking.trim())
        .fetch_optional(tx.conn())
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?)
}

/// Imports a carrier's CSV of events (header `tracking_number,status,time,location,note`),
/// all or nothing: a row with an unknown tracking number or a bad status or time refuses the
/// file, naming the row (`rows[3].status`). Returns how many events were recorded.
pub async fn import_events(tx: &mut Tx, principal: &Principal, carrier: &str, csv_text: &str) -> Result<usize> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let carrier = carrier_id(tx, company, carrier)
        .await?
        .ok_or_else(|| DomainError::invalid("carrier", "error.sales.carrier", carrier))?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(csv_text.as_bytes());
    let mut p = Problems::default();
    let mut rows = Vec::new();
    for (i, record) in reader.deserialize::<CarrierCall>().enumerate() {
        match record {
            Ok(call) => rows.push((i, call)),
            Err(_) => p.add(&format!("rows[{i}]"), "error.sales.csv_row", (i + 2).to_string()),
        }
    }
    if rows.is_empty() && p.0.is_empty() {
        p.add("csv", "error.sales.csv_empty", "");
    }
    let mut found = Vec::new();
    for (i, call) in &rows {
        if call.tracking_number.trim().is_empty() {
            p.add(&format!("rows[{i}].tracking_number"), "error.required", "");
            continue;
        }
        match delivery_by_tracking(tx, company, carrier, &call.tracking_number).await? {
            Some(id) => found.push((id, call)),
            None => p.add(&format!("rows[{i}].tracking_number"), "error.sales.tracking_unknown", &call.tracking_number),
        }
        let form = tracking_form(call);
        if let Err(DomainError::Invalid(errors)) = check(&form) {
            for mut e in errors {
                e.field = format!("rows[{i}].{}", e.field);
                p.0.push(e);
            }
        }
    }
    p.finish()?;
    for (delivery, call) in &found {
        record(tx, company, *delivery, &tracking_form(call), "csv").await?;
    }
    Ok(found.len())
}

fn tracking_form(call: &CarrierCall) -> TrackingForm {
    TrackingForm {
        status: call.status.clone(),
        time: call.time.clone(),
        location: call.location.clone(),
        note: call.note.clone(),
    }
}

/// The secret a company's carrier signs with, if there is such a carrier.
pub async fn carrier_secret(conn: &mut db::Conn, company: i64, code: &str) -> Result<Option<String>> {
    Ok(sqlx::query("SELECT webhook_secret FROM sal_carriers WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(code.trim().to_uppercase())
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("webhook_secret"))
        .transpose()?)
}

/// Records a signed call's signature, refusing one seen before: a call captured on the way
/// cannot be replayed within its five minutes.
pub async fn remember_call(tx: &mut Tx, signature: &str) -> Result<()> {
    let inserted = sqlx::query("INSERT INTO sal_carrier_calls (signature, received_at) VALUES ($1, $2)")
        .bind(signature)
        .bind(tx.now().to_string())
        .execute(tx.conn())
        .await
        .map_err(db::Error::from);
    match inserted {
        Err(e) if e.is_unique_violation() => Err(DomainError::Conflict("this call was received before".into()).into()),
        other => other.map(|_| ()),
    }
}

/// A carrier's signed call, after its signature was checked: the event for its tracking number.
/// Returns the delivery's status.
pub async fn carrier_event(tx: &mut Tx, company: i64, carrier: &str, call: &CarrierCall) -> Result<String> {
    if call.tracking_number.trim().is_empty() {
        return Err(DomainError::invalid("tracking_number", "error.required", "").into());
    }
    let carrier = carrier_id(tx, company, carrier).await?.ok_or(DomainError::NotFound("carrier"))?;
    let delivery = delivery_by_tracking(tx, company, carrier, &call.tracking_number).await?.ok_or_else(|| {
        DomainError::invalid("tracking_number", "error.sales.tracking_unknown", &call.tracking_number)
    })?;
    record(tx, company, delivery, &tracking_form(call), "webhook").await
}

/// A delivery with its timeline, for the order page and API.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub number: String,
    pub date: String,
    pub carrier: Option<String>,
    pub tracking_number: String,
    pub status: String,
    /// Parcels and their weight (millionths of a kilogram), once packed.
    pub packages: i64,
    pub weight: i64,
    /// While it is prepared: what was picked, (product code, quantity in the line's unit, unit, lot).
    pub picks: Vec<(String, i64, String, String)>,
    /// (status, time, location, note, source), oldest first.
    pub events: Vec<(String, String, String, String, String)>,
}

impl Delivery {
    pub fn preparing(&self) -> bool {
        PREPARING.contains(&self.status.as_str())
    }
}

pub async fn deliveries(conn: &mut db::Conn, company: i64, order: i64) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(
        "SELECT d.id, d.number, d.delivery_date, c.name AS carrier, d.tracking_number, d.status, d.packages, d.weight FROM sal_deliveries d \
         LEFT JOIN sal_carriers c ON c.id = d.carrier_id WHERE d.company_id = $1 AND d.order_id = $2 ORDER BY d.id",
    )
    .bind(company)
    .bind(order)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let events = sqlx::query(
            "SELECT status, occurred_at, location, note, source FROM sal_tracking_events WHERE delivery_id = $1 ORDER BY occurred_at, id",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|e| Ok((e.try_get("status")?, e.try_get("occurred_at")?, e.try_get("location")?, e.try_get("note")?, e.try_get("source")?)))
        .collect::<Result<Vec<_>>>()?;
        let picks = sqlx::query(
            "SELECT p.code, k.quantity, u.code AS unit, k.lot FROM sal_pick_lines k JOIN sal_order_lines l ON l.id = k.order_line_id \
             JOIN cat_products p ON p.id = l.product_id JOIN cat_uoms u ON u.id = l.uom_id WHERE k.delivery_id = $1 ORDER BY l.line_no",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|k| Ok((k.try_get("code")?, k.try_get("quantity")?, k.try_get("unit")?, k.try_get("lot")?)))
        .collect::<Result<Vec<_>>>()?;
        out.push(Delivery {
            id,
            number: r.try_get("number")?,
            date: r.try_get("delivery_date")?,
            carrier: r.try_get("carrier")?,
            tracking_number: r.try_get("tracking_number")?,
            status: r.try_get("status")?,
            packages: r.try_get("packages")?,
            weight: r.try_get("weight")?,
            picks,
            events,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_come_in_several_shapes_and_leave_in_one() {
        assert_eq!(parse_time("2026-03-18 09:30").as_deref(), Some("2026-03-18 09:30"));
        assert_eq!(parse_time("2026-03-18T09:30:15").as_deref(), Some("2026-03-18 09:30"));
        assert_eq!(parse_time("18/03/2026"), None);
        assert_eq!(parse_time("2026-02-30 09:30"), None);
    }
}

//! The event dispatcher: delivers outbox events to in-process subscribers and queues them
//! for webhooks.
//!
//! Delivery is at least once and idempotent by event id: a subscriber's handler runs in a
//! transaction that also records (subscriber, event) in `event_deliveries`, so a second
//! delivery of the same event finds the record and does nothing. Events of one aggregate are
//! delivered in order: a dispatcher claims only the oldest pending event of each aggregate.
//! Several dispatchers (one per `serve` process) share the outbox: a claim is a conditional
//! update that only one of them can win, and it expires if its dispatcher dies.

use crate::pool::Db;
use crate::tx::{Actor, Tx};
use crate::Result;
use chrono::Duration;
use kernel::clock::format_instant;
use serde_json::Value;
use sqlx::Row;
use std::future::Future;
use std::pin::Pin;

/// An event as delivered to subscribers.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub company_id: Option<i64>,
    pub aggregate: String,
    pub aggregate_id: String,
    pub event_type: String,
    pub payload: Value,
    pub created_at: String,
}

/// The future a handler returns.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// A module's reaction to events of other modules. The handler runs inside the delivery
/// transaction: whatever it writes commits together with the delivery record.
#[derive(Clone, Copy)]
pub struct Subscriber {
    /// Unique, stable name: `module.reaction`.
    pub name: &'static str,
    /// Event types it wants, e.g. `party.PartyCreated`.
    pub event_types: &'static [&'static str],
    pub handle: for<'a> fn(&'a mut Tx, &'a Event) -> HandlerFuture<'a>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber").field("name", &self.name).finish()
    }
}

/// How long a claim holds before another dispatcher may take the event over.
const CLAIM_SECONDS: i64 = 60;

/// Claims and delivers one batch. Returns how many events were fully dispatched.
pub async fn dispatch_batch(db: &Db, subscribers: &[Subscriber], worker: &str) -> Result<usize> {
    let now = db.clock().now();
    let now_text = format_instant(now);
    let until = format_instant(now + Duration::seconds(CLAIM_SECONDS));
    // The outer condition repeats the inner one: on PostgreSQL a second dispatcher that
    // waited for the first one's row locks re-checks it and skips rows already claimed.
    let claim = "UPDATE outbox SET claimed_by = $1, claimed_until = $2 \
         WHERE id IN ( \
             SELECT o.id FROM outbox o \
             WHERE o.dispatched_at IS NULL AND (o.claimed_until IS NULL OR o.claimed_until < $3) \
               AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.aggregate = o.aggregate \
                   AND p.aggregate_id = o.aggregate_id AND p.dispatched_at IS NULL AND p.id < o.id) \
             ORDER BY o.id LIMIT 100) \
           AND dispatched_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3) \
         RETURNING id, company_id, aggregate, aggregate_id, event_type, payload, created_at";
    let mut tx = db.begin(Actor::system()).await?;
    let rows = sqlx::query(claim).bind(worker).bind(&until).bind(&now_text).fetch_all(tx.conn()).await?;
    tx.commit().await?;
    let mut events = rows
        .iter()
        .map(|row| {
            let payload: String = row.try_get("payload")?;
            Ok(Event {
                id: row.try_get("id")?,
                company_id: row.try_get("company_id")?,
                aggregate: row.try_get("aggregate")?,
                aggregate_id: row.try_get("aggregate_id")?,
                event_type: row.try_get("event_type")?,
                payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<std::result::Result<Vec<Event>, sqlx::Error>>()?;
    events.sort_by_key(|e| e.id);

    let mut done = 0;
    for event in &events {
        match deliver(db, subscribers, event).await {
            Ok(()) => done += 1,
            Err(error) => {
                // Left pending: the claim expires and the event is tried again, and later
                // events of the same aggregate wait behind it.
                tracing::warn!(event_id = event.id, event_type = %event.event_type, %error, "event delivery failed");
            }
        }
    }
    Ok(done)
}

async fn deliver(db: &Db, subscribers: &[Subscriber], event: &Event) -> Result<()> {
    for subscriber in subscribers.iter().filter(|s| s.event_types.contains(&event.event_type.as_str())) {
        // The reaction acts for the event's company: its audit rows and the events it emits in
        // turn belong to that company (and reach that company's webhooks).
        let actor = Actor { company_id: event.company_id, ..Actor::system() };
        let mut tx = db.begin(actor).await?;
        let now = tx.now().to_string();
        let fresh = sqlx::query(
            "INSERT INTO event_deliveries (subscriber, event_id, delivered_at) VALUES ($1, $2, $3) \
             ON CONFLICT (subscriber, event_id) DO NOTHING",
        )
        .bind(subscriber.name)
        .bind(event.id)
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        if fresh {
            (subscriber.handle)(&mut tx, event).await?;
        }
        tx.commit().await?;
    }

    let mut tx = db.begin(Actor::system()).await?;
    let now = tx.now().to_string();
    // Queue one delivery per matching active webhook of the event's company.
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, status, attempts, next_attempt_at, created_at) \
         SELECT w.id, $1, 'pending', 0, $2, $2 FROM webhooks w \
         WHERE w.active = 1 AND w.company_id = $3 \
           AND (w.event_types = '*' OR ',' || w.event_types || ',' LIKE '%,' || $4 || ',%') \
         ON CONFLICT (webhook_id, event_id) DO NOTHING",
    )
    .bind(event.id)
    .bind(&now)
    .bind(event.company_id)
    .bind(&event.event_type)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE outbox SET dispatched_at = $1, claimed_until = NULL WHERE id = $2")
        .bind(&now)
        .bind(event.id)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Pending events and the age in seconds of the oldest, for `/metrics`.
pub async fn outbox_lag(db: &Db) -> Result<(i64, i64)> {
    let row =
        sqlx::query("SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox WHERE dispatched_at IS NULL")
            .fetch_one(db.reader())
            .await?;
    let pending: i64 = row.try_get("pending")?;
    let oldest: Option<String> = row.try_get("oldest")?;
    let age = oldest
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| (db.clock().now() - t.with_timezone(&chrono::Utc)).num_seconds().max(0))
        .unwrap_or(0);
    Ok((pending, age))
}

//! Rate limits for public endpoints, kept in the database so every app process sharing it
//! counts the same hits: a web form or survey link answers at most `limit` times per `window`
//! seconds per bucket (e.g. `crm.lead:1:203.0.113.7`, and one bucket for the whole company).
//! Windows are fixed (aligned to multiples of `window`); each is one counter row incremented
//! by a single upsert, so two requests at once on PostgreSQL cannot both read the old count.

use crate::{Result, RowExt, Tx};

/// Counters older than this are purged as new hits arrive; no window may be longer.
pub const KEEP_SECONDS: i64 = 86_400;

/// Counts a hit in `bucket` and says whether it is within `limit` hits of the current
/// `window`. Callers check the narrowest bucket first and stop at its refusal, so one noisy
/// source cannot use up a shared bucket (the company's) for everyone else.
pub async fn allow(tx: &mut Tx, bucket: &str, limit: i64, window: i64) -> Result<bool> {
    let now = chrono::DateTime::parse_from_rfc3339(tx.now()).map(|t| t.timestamp()).unwrap_or(0);
    let window = window.clamp(1, KEEP_SECONDS);
    let start = now - now.rem_euclid(window);
    sqlx::query("DELETE FROM throttle_counters WHERE window_start < $1")
        .bind(now - KEEP_SECONDS)
        .execute(tx.conn())
        .await?;
    let hits: i64 = sqlx::query(
        "INSERT INTO throttle_counters (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = throttle_counters.hits + 1 RETURNING hits",
    )
    .bind(bucket)
    .bind(start)
    .fetch_one(tx.conn())
    .await?
    .try_get("hits")?;
    Ok(hits <= limit)
}

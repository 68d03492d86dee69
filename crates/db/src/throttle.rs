//! Rate limits for public endpoints, kept in the database so every app process sharing it
//! counts the same hits: a web form or survey link answers at most `limit` times per `window`
//! seconds per bucket (e.g. `crm.lead:1:203.0.113.7`, and one bucket for the whole company).

use crate::{Result, RowExt, Tx};

/// Records a hit in `bucket` and says whether it is within `limit` hits in the last `window`
/// seconds. A refused hit is counted too, so hammering keeps the door shut. Old hits of the
/// bucket are cleared as it goes.
pub async fn allow(tx: &mut Tx, bucket: &str, limit: i64, window: i64) -> Result<bool> {
    let now = chrono::DateTime::parse_from_rfc3339(tx.now()).map(|t| t.timestamp()).unwrap_or(0);
    sqlx::query("DELETE FROM throttle_hits WHERE bucket = $1 AND at_second <= $2")
        .bind(bucket)
        .bind(now - window)
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO throttle_hits (bucket, at_second) VALUES ($1, $2)")
        .bind(bucket)
        .bind(now)
        .execute(tx.conn())
        .await?;
    let hits: i64 = sqlx::query("SELECT COUNT(*) AS n FROM throttle_hits WHERE bucket = $1")
        .bind(bucket)
        .fetch_one(tx.conn())
        .await?
        .try_get("n")?;
    Ok(hits <= limit)
}

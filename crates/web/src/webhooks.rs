//! Webhook delivery: sends queued deliveries (the dispatcher queues one per matching
//! webhook and event) as signed HTTP POSTs, retrying with exponential backoff.
//!
//! The body is the event as JSON. The header `X-Zhongshu-Signature: t=<unix seconds>,
//! v1=<hex HMAC-SHA256 of "<t>.<body>" with the webhook's secret>` lets the receiver check
//! origin and freshness; `X-Zhongshu-Event` and `X-Zhongshu-Delivery` name the event
//! and the delivery (receivers deduplicate on it: delivery is at least once).

use chrono::Duration;
use db::{Actor, Db, RowExt};
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kernel::clock::format_instant;
use serde_json::json;
use sha2::Sha256;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 8;

/// The signature header value for a body sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a signature header made the same way by a sender (a carrier calling us back): the
/// HMAC must match in constant time and the timestamp be within `tolerance_seconds` of `now`,
/// so a captured call cannot be replayed later.
pub fn verify(secret: &str, header: &str, body: &str, now: i64, tolerance_seconds: i64) -> bool {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => given = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(given)) = (timestamp, given) else {
        return false;
    };
    if now.abs_diff(timestamp) > tolerance_seconds.unsigned_abs() {
        return false;
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{timestamp}.{body}").as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// Backoff after `attempts` failures: 30 s, 1 min, 2 min, … capped at 6 h.
pub fn backoff(attempts: i64) -> Duration {
    Duration::seconds((30i64 << attempts.clamp(0, 20)).min(6 * 3600))
}

struct Due {
    id: i64,
    url: String,
    secret: String,
    attempts: i64,
    event_id: i64,
    event_type: String,
    payload: String,
    created_at: String,
}

/// Sends every delivery that is due. Returns how many were attempted.
/// Where webhooks may be sent. Public addresses only by default, so a webhook cannot be aimed at
/// the server's own network (its database, a cloud metadata service); a site whose receivers
/// live inside its network turns on `allow_private` (`ZHONGSHU_WEBHOOKS_PRIVATE=1`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reach {
    pub allow_private: bool,
}

fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Refuses a URL whose host resolves to a private, loopback or link-local address.
async fn check_reach(url: &str, reach: Reach) -> Result<(), String> {
    if reach.allow_private {
        return Ok(());
    }
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let host = uri.host().ok_or("no host")?.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(80);
    let addresses =
        tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for address in addresses {
        if is_private(address.ip()) {
            return Err(format!("refused: {host} is a private address ({})", address.ip()));
        }
    }
    Ok(())
}

pub async fn send_due(db: &Db, reach: Reach) -> db::Result<usize> {
    let now = db.clock().now();
    let now_text = format_instant(now);
    // Claim by pushing next_attempt_at forward, so another process does not send the same
    // delivery at the same time.
    let lease = format_instant(now + Duration::seconds(120));
    let mut tx = db.begin(Actor::system()).await?;
    let rows = sqlx::query(
        "UPDATE webhook_deliveries SET next_attempt_at = $1 WHERE id IN ( \
           SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT 20) \
         AND status = 'pending' AND next_attempt_at <= $2 RETURNING id",
    )
    .bind(&lease)
    .bind(&now_text)
    .fetch_all(tx.conn())
    .await?;
    tx.commit().await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Ok(0);
    }
    let mut due = Vec::new();
    for id in &ids {
        let r = sqlx::query(
            "SELECT d.id, w.url, w.secret, d.attempts, o.id AS event_id, o.event_type, o.payload, o.created_at \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN outbox o ON o.id = d.event_id WHERE d.id = $1",
        )
        .bind(id)
        .fetch_one(db.reader())
        .await?;
        due.push(Due {
            id: r.try_get("id")?,
            url: r.try_get("url")?,
            secret: r.try_get("secret")?,
            attempts: r.try_get("attempts")?,
            event_id: r.try_get("event_id")?,
            event_type: r.try_get("event_type")?,
            payload: r.try_get("payload")?,
            created_at: r.try_get("created_at")?,
        });
    }
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    for d in &due {
        let body = json!({
            "id": d.event_id,
            "type": d.event_type,
            "created_at": d.created_at,
            "data": serde_json::from_str::<serde_json::Value>(&d.payload).unwrap_or_default(),
        })
        .to_string();
        let result = match check_reach(&d.url, reach).await {
            Ok(()) => send_one(&client, d, &body, now.timestamp()).await,
            Err(refused) => Err(refused),
        };
        let mut tx = db.begin(Actor::system()).await?;
        let at = tx.now().to_string();
        let attempts = d.attempts + 1;
        match result {
            Ok(code) if (200..300).contains(&code) => {
                sqlx::query("UPDATE webhook_deliveries SET status = 'delivered', attempts = $1, last_status_code = $2, last_error = NULL, delivered_at = $3 WHERE id = $4")
                    .bind(attempts)
                    .bind(i64::from(code))
                    .bind(&at)
                    .bind(d.id)
                    .execute(tx.conn())
                    .await?;
            }
            outcome => {
                let (code, error) = match outcome {
                    Ok(code) => (Some(i64::from(code)), format!("HTTP {code}")),
                    Err(e) => (None, e),
                };
                let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "pending" };
                let next = format_instant(db.clock().now() + backoff(attempts - 1));
                sqlx::query("UPDATE webhook_deliveries SET status = $1, attempts = $2, last_status_code = $3, last_error = $4, next_attempt_at = $5 WHERE id = $6")
                    .bind(status)
                    .bind(attempts)
                    .bind(code)
                    .bind(error.chars().take(500).collect::<String>())
                    .bind(next)
                    .bind(d.id)
                    .execute(tx.conn())
                    .await?;
            }
        }
        tx.commit().await?;
    }
    Ok(due.len())
}

async fn send_one(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    d: &Due,
    body: &str,
    timestamp: i64,
) -> Result<u16, String> {
    if !d.url.starts_with("http://") {
        return Err("only http:// endpoints are supported by this build; put a TLS-terminating proxy in front of https endpoints".into());
    }
    let request = hyper::Request::post(&d.url)
        .header("content-type", "application/json")
        .header("user-agent", "zhongshu-webhooks")
        .header("x-zhongshu-event", &d.event_type)
        .header("x-zhongshu-delivery", d.id.to_string())
        .header("x-zhongshu-signature", signature(&d.secret, timestamp, body))
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(std::time::Duration::from_secs(10), client.request(request)).await {
        Ok(Ok(response)) => Ok(response.status().as_u16()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out after 10 s".into()),
    }
}

/// Runs [`send_due`] until told to stop.
pub async fn send_loop(db: Db, reach: Reach, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let sent = send_due(&db, reach).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "webhook sender");
            0
        });
        if sent == 0 {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = stop.changed() => return,
            }
        } else if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_time_and_body() {
        let a = signature("s3cret", 1_764_000_000, r#"{"id":1}"#);
        assert!(a.starts_with("t=1764000000,v1="));
        assert_ne!(a, signature("s3cret", 1_764_000_001, r#"{"id":1}"#));
        assert_ne!(a, signature("other", 1_764_000_000, r#"{"id":1}"#));
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(30), Duration::hours(6));
        for private in ["127.0.0.1", "10.1.2.3", "192.168.0.9", "169.254.169.254", "100.64.0.1", "::1", "fd00::1"] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        assert!(!is_private("114.114.114.114".parse().unwrap()));
    }
}

/// A webhook as listed (its secret is shown only when created).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub event_types: String,
    pub active: bool,
    pub created_at: String,
}

/// One delivery attempt record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: String,
    pub delivered_at: Option<String>,
}

/// Input for a webhook.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct WebhookForm {
    pub url: String,
    /// Comma-separated event types, or `*`.
    #[serde(default)]
    pub event_types: String,
}

/// Registers a webhook for the actor's company; returns (id, signing secret).
pub async fn create_webhook(tx: &mut db::Tx, form: &WebhookForm) -> db::Result<(i64, String)> {
    let url = form.url.trim();
    let mut problems = kernel::error::Problems::default();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.len() > 500
        || url.contains(char::is_whitespace)
    {
        problems.add("url", "error.url.format", url);
    }
    let types: Vec<String> =
        form.event_types.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
    let event_types = if types.is_empty() { "*".to_string() } else { types.join(",") };
    if event_types.len() > 1000 {
        problems.add("event_types", "error.too_long", "1000");
    }
    problems.finish()?;
    let company = tx.actor().company_id.ok_or_else(|| kernel::DomainError::Forbidden("web.webhook.manage".into()))?;
    let secret = crate::accounts::random_hex(24);
    let now = tx.now().to_string();
    let id: i64 = sqlx::query(
        "INSERT INTO webhooks (company_id, url, secret, event_types, active, created_at) VALUES ($1, $2, $3, $4, 1, $5) RETURNING id",
    )
    .bind(company)
    .bind(url)
    .bind(&secret)
    .bind(&event_types)
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "web.webhook",
        Some(&id.to_string()),
        &json!({"url": [null, url], "event_types": [null, event_types]}),
    )
    .await?;
    Ok((id, secret))
}

/// Turns a webhook on or off.
pub async fn set_active(tx: &mut db::Tx, company_id: i64, id: i64, active: bool) -> db::Result<()> {
    let changed = sqlx::query("UPDATE webhooks SET active = $1 WHERE id = $2 AND company_id = $3")
        .bind(i64::from(active))
        .bind(id)
        .bind(company_id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(kernel::DomainError::NotFound("webhook").into());
    }
    tx.audit("state", "web.webhook", Some(&id.to_string()), &json!({"active": [!active, active]})).await?;
    Ok(())
}

pub async fn list_webhooks(db: &Db, company_id: i64) -> db::Result<Vec<Webhook>> {
    let rows =
        sqlx::query("SELECT id, url, event_types, active, created_at FROM webhooks WHERE company_id = $1 ORDER BY id")
            .bind(company_id)
            .fetch_all(db.reader())
            .await?;
    rows.iter()
        .map(|r| {
            Ok(Webhook {
                id: r.try_get("id")?,
                url: r.try_get("url")?,
                event_types: r.try_get("event_types")?,
                active: r.try_get::<i64, _>("active")? == 1,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

/// The newest deliveries of one webhook of the company.
pub async fn deliveries(db: &Db, company_id: i64, webhook_id: i64) -> db::Result<Vec<Delivery>> {
    let rows = sqlx::query(
        "SELECT d.id, d.event_id, o.event_type, d.status, d.attempts, d.last_status_code, d.last_error, d.next_attempt_at, d.delivered_at \
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN outbox o ON o.id = d.event_id \
         WHERE w.company_id = $1 AND w.id = $2 ORDER BY d.id DESC LIMIT 200",
    )
    .bind(company_id)
    .bind(webhook_id)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Delivery {
                id: r.try_get("id")?,
                event_id: r.try_get("event_id")?,
                event_type: r.try_get("event_type")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                last_status_code: r.try_get("last_status_code")?,
                last_error: r.try_get("last_error")?,
                next_attempt_at: r.try_get("next_attempt_at")?,
                delivered_at: r.try_get("delivered_at")?,
            })
        })
        .collect()
}

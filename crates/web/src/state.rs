//! The state every handler receives.

use crate::i18n::Messages;
use crate::metrics::Metrics;
use crate::module::MenuItem;
use crate::openapi::ApiRoute;
use std::sync::Arc;

/// Settings of the web tier.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Mark cookies `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// Served behind a reverse proxy that appends the client's address to `X-Forwarded-For`:
    /// rate limits then trust the hop it appended (the header's last), never what a client
    /// wrote in front of it. Otherwise the connection's peer address counts.
    pub trusted_proxy: bool,
}

impl WebConfig {
    /// The address a request came from, for rate limits on public endpoints.
    pub fn client_address(&self, headers: &axum::http::HeaderMap, peer: Option<std::net::SocketAddr>) -> String {
        if self.trusted_proxy {
            let forwarded =
                headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
            if let Some(hop) = forwarded.rsplit(',').map(str::trim).find(|h| !h.is_empty()) {
                return hop.chars().filter(|c| c.is_ascii_hexdigit() || *c == '.' || *c == ':').take(45).collect();
            }
        }
        peer.map(|p| p.ip().to_string()).unwrap_or_else(|| "unknown".into())
    }
}

/// A menu section: a module's title and its entries.
#[derive(Debug, Clone)]
pub struct MenuSection {
    pub title_key: &'static str,
    pub items: Vec<MenuItem>,
}

#[derive(Clone)]
pub struct AppState {
    pub db: db::Db,
    pub messages: Arc<Messages>,
    pub menu: Arc<Vec<MenuSection>>,
    pub api: Arc<Vec<ApiRoute>>,
    pub permissions: Arc<Vec<&'static str>>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<WebConfig>,
}

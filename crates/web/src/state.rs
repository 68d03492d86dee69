//! The state every handler receives.

use crate::i18n::Messages;
use crate::menu::MenuSection;
use crate::metrics::Metrics;
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

    /// What public endpoints count requests by: the client's IPv4 address, or the /64 network
    /// of its IPv6 address — one subscriber is handed a whole /64 and could otherwise take a
    /// new address for every request.
    pub fn client_network(&self, headers: &axum::http::HeaderMap, peer: Option<std::net::SocketAddr>) -> String {
        network_of(&self.client_address(headers, peer))
    }
}

/// An address's rate-limit key: IPv4 (also IPv4 mapped into IPv6) as it is, IPv6 as its /64.
fn network_of(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => address.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::network_of;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network() {
        assert_eq!(network_of("2408:8207:1850:a1e0:5d2f:11aa:3b4c:9e01"), "2408:8207:1850:a1e0::/64");
        assert_eq!(network_of("2408:8207:1850:a1e0::2"), "2408:8207:1850:a1e0::/64");
        assert_eq!(network_of("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(network_of("203.0.113.7"), "203.0.113.7");
        assert_eq!(network_of("unknown"), "unknown");
    }
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

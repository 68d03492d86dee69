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

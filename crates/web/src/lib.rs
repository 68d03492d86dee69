//! The web shell. It owns everything a request meets before and after a module's handler:
//! identity (sessions, API tokens), CSRF checks, the language, the policy check, error
//! rendering (pages and RFC 9457 problems), the layout and shared page components, list
//! conventions, metrics, the OpenAPI document, and the platform's own pages and API for
//! accounts, roles, tokens, the audit log and webhooks.
//!
//! [`app`] assembles whatever modules it is given; this crate names no business crate.

pub mod accounts;
mod admin;
mod admin_api;
pub mod auth;
pub mod chart;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod list;
pub mod menu;
pub mod metrics;
pub mod module;
pub mod openapi;
pub mod page;
mod shell;
pub mod state;
pub mod webhooks;
pub mod xlsx;

pub use auth::Ctx;
pub use error::{AppError, AppResult};
pub use extract::{ApiJson, FormPairs, HtmlForm, Upload, UploadedFile};
pub use menu::MenuItem;
pub use module::Module;
pub use page::{FieldView, FormBuilder, PageCtx};
pub use state::{AppState, WebConfig};

use axum::extract::DefaultBodyLimit;
use axum::Router;
use db::events::Subscriber;
use db::migrate::Migration;
use std::sync::Arc;

/// The shell's own part: migrations come from `db`, the rest from here.
pub fn platform_module() -> Module {
    Module {
        name: "web",
        title_key: "nav.admin",
        migrations: db::platform_migrations(),
        permissions: &[
            "web.user.manage",
            "web.role.manage",
            "web.token.manage",
            "web.audit.read",
            "web.webhook.manage",
            "web.company.manage",
        ],
        menu: vec![
            MenuItem { label_key: "nav.companies", href: "/admin/companies", permission: "web.company.manage" },
            MenuItem { label_key: "nav.users", href: "/admin/users", permission: "web.user.manage" },
            MenuItem { label_key: "nav.roles", href: "/admin/roles", permission: "web.role.manage" },
            MenuItem { label_key: "nav.tokens", href: "/admin/tokens", permission: "web.token.manage" },
            MenuItem { label_key: "nav.audit", href: "/admin/audit", permission: "web.audit.read" },
            MenuItem { label_key: "nav.webhooks", href: "/admin/webhooks", permission: "web.webhook.manage" },
        ],
        routes: || admin::routes().merge(admin_api::routes()),
        api: admin_api::docs(),
        subscribers: Vec::new(),
        jobs: Vec::new(),
        messages: i18n::PLATFORM,
    }
}

/// The modules' migrations in order, platform first.
pub fn migrations(modules: &[Module]) -> Vec<Migration> {
    modules.iter().flat_map(|m| m.migrations.iter().copied()).collect()
}

/// Every event subscriber of the modules.
pub fn subscribers(modules: &[Module]) -> Vec<Subscriber> {
    modules.iter().flat_map(|m| m.subscribers.iter().copied()).collect()
}

/// Every module's periodic jobs.
pub fn jobs(modules: &[Module]) -> Vec<db::jobs::Job> {
    modules.iter().flat_map(|m| m.jobs.iter().copied()).collect()
}

/// Builds the shared state for a list of modules.
pub fn state(db: db::Db, modules: &[Module], config: WebConfig) -> AppState {
    let tables: Vec<i18n::MessageTable> = modules.iter().map(|m| m.messages).collect();
    AppState {
        db,
        messages: Arc::new(i18n::Messages::new(&tables)),
        menu: Arc::new(
            modules.iter().map(|m| menu::MenuSection { title_key: m.title_key, items: m.menu.clone() }).collect(),
        ),
        api: Arc::new(modules.iter().flat_map(|m| m.api.iter().cloned()).chain(shell::docs()).collect()),
        permissions: Arc::new(modules.iter().flat_map(|m| m.permissions.iter().copied()).collect()),
        metrics: Arc::new(metrics::Metrics::default()),
        config: Arc::new(config),
    }
}

/// The whole application: shell routes, every module's routes, then the layers that every
/// request passes (metrics on routed requests, identity + CSRF + error rendering, body limit).
pub fn app(state: AppState, modules: &[Module]) -> Router {
    let mut router: Router<AppState> = shell::routes();
    for module in modules {
        router = router.merge((module.routes)());
    }
    router
        .route_layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .fallback(|| async { AppError::NotFound })
        .layer(axum::middleware::from_fn_with_state(state.clone(), shell::identify))
        .layer(DefaultBodyLimit::max(auth::FORM_LIMIT))
        .with_state(state)
}

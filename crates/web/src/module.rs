//! What a business module hands the shell: its migrations, permissions, menu entries,
//! routes, API documentation, event subscribers and translations. The server passes an
//! explicit list of these to [`crate::app`]; nothing registers itself.

use crate::i18n::MessageTable;
use crate::menu::MenuItem;
use crate::openapi::ApiRoute;
use crate::state::AppState;
use axum::Router;
use db::events::Subscriber;
use db::migrate::Migration;

/// A module of the suite.
pub struct Module {
    pub name: &'static str,
    /// Key of the menu section title.
    pub title_key: &'static str,
    pub migrations: Vec<Migration>,
    /// Permissions the module checks; each needs a `perm.<name>` message.
    pub permissions: &'static [&'static str],
    pub menu: Vec<MenuItem>,
    /// Its pages and API routes, mounted at the root.
    pub routes: fn() -> Router<AppState>,
    /// Its API routes, for the OpenAPI document (a test checks none is missing).
    pub api: Vec<ApiRoute>,
    pub subscribers: Vec<Subscriber>,
    /// Work it does because time passed (run by the server every `every`).
    pub jobs: Vec<db::jobs::Job>,
    pub messages: MessageTable,
}

//! Parties: the one address book of the suite. A customer, supplier, employee, patient or
//! candidate is a party with that role; later modules keep their own data behind the role
//! and never copy names, phones or addresses.
//!
//! The module owns persons and organisations, their roles, tags, contacts and addresses,
//! validation of credit codes, resident IDs, mobiles and e-mail addresses, the duplicate
//! warning, the list with search and keyset pagination, CSV export and change history.
//! It emits `party.PartyCreated` and `party.PartyUpdated`.

pub mod domain;
mod http;
mod i18n;
pub mod service;
pub mod store;

use web::{MenuItem, Module};

/// The party module, for the server's list of modules.
pub fn module() -> Module {
    Module {
        name: "party",
        title_key: "party.menu",
        migrations: vec![
            db::migrate::Migration {
                module: "party",
                version: 1,
                name: "parties",
                sql: include_str!("../migrations/0001_party.sql"),
            },
            db::migrate::Migration {
                module: "party",
                version: 2,
                name: "tag names",
                sql: include_str!("../migrations/0002_party_tag_names.sql"),
            },
        ],
        permissions: &[service::READ, service::CREATE, service::UPDATE, service::EXPORT, service::READ_SENSITIVE],
        menu: vec![MenuItem { label_key: "party.list", href: "/parties", permission: service::READ }],
        routes: http::routes,
        api: http::api::docs(),
        subscribers: Vec::new(),
        jobs: Vec::new(),
        messages: i18n::MESSAGES,
    }
}

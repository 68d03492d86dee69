//! Catalog: products (goods, services, consumables) with codes, barcodes, categories, VAT
//! rates, costing method and lot/serial/expiry flags; units of measure whose sizes are exact
//! fractions of a reference unit, so conversions (箱 = 12 个, kg ↔ g) are exact or refused; and
//! each product's suppliers with price, lead time and minimum quantity. It emits
//! `catalog.ProductCreated`. Stock, purchasing and sales build on it.

pub mod domain;
mod http;
mod i18n;
pub mod pricing;
pub mod service;

use web::{MenuItem, Module};

pub fn module() -> Module {
    Module {
        name: "catalog",
        title_key: "catalog.menu",
        migrations: vec![
            db::migrate::Migration {
                module: "catalog",
                version: 1,
                name: "products and units",
                sql: include_str!("../migrations/0001_catalog.sql"),
            },
            db::migrate::Migration {
                module: "catalog",
                version: 2,
                name: "price lists",
                sql: include_str!("../migrations/0002_price_lists.sql"),
            },
            db::migrate::Migration {
                module: "catalog",
                version: 3,
                name: "invoicing policy",
                sql: include_str!("../migrations/0003_invoice_policy.sql"),
            },
        ],
        permissions: &[service::READ, service::MANAGE],
        menu: vec![
            MenuItem { label_key: "catalog.products", href: "/catalog/products", permission: service::READ },
            MenuItem { label_key: "catalog.price_lists", href: "/catalog/price-lists", permission: service::READ },
            MenuItem { label_key: "catalog.uoms", href: "/catalog/uoms", permission: service::READ },
        ],
        routes: http::routes,
        api: http::docs(),
        subscribers: Vec::new(),
        jobs: Vec::new(),
        messages: i18n::MESSAGES,
    }
}

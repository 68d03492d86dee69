//! Stock: warehouses and locations, and quantities kept like a ledger. Every change is a done
//! move from one location to another (a receipt comes from the supplier location, a delivery
//! goes to the customer location, a count difference to or from inventory loss), numbered
//! gaplessly; quantities per (product, location, lot) are kept in the move's transaction and
//! always equal the sum of the moves. An internal location never goes below zero. It emits
//! `stock.MoveDone`. Reorder rules keep a product between a minimum and a maximum per warehouse:
//! a move that takes it below the minimum emits `stock.StockBelowMinimum`, and the replenishment
//! list says what to buy from whom. Each move that crosses the warehouses' boundary values itself
//! (moving average or FIFO, per product), keeps the product's quantity and value, and, when the
//! company keeps its books, posts its value to the ledger in the same transaction (receipt Dr
//! 1405 / Cr 1402, delivery Dr 6401 / Cr 1405), so the valuation report equals the stock
//! account. A done move is undone by a reversal, never edited. Confirmed sales orders reserve
//! stock per product and warehouse; what is available is what is on hand less what is reserved.

pub mod domain;
mod http;
mod i18n;
pub mod reports;
pub mod service;

use web::{MenuItem, Module};

pub fn module() -> Module {
    Module {
        name: "stock",
        title_key: "stock.menu",
        migrations: vec![
            db::migrate::Migration {
                module: "stock",
                version: 1,
                name: "locations, moves and quants",
                sql: include_str!("../migrations/0001_stock.sql"),
            },
            db::migrate::Migration {
                module: "stock",
                version: 2,
                name: "reorder rules",
                sql: include_str!("../migrations/0002_reorder_rules.sql"),
            },
            db::migrate::Migration {
                module: "stock",
                version: 3,
                name: "valuation",
                sql: include_str!("../migrations/0003_valuation.sql"),
            },
            db::migrate::Migration {
                module: "stock",
                version: 4,
                name: "reservations",
                sql: include_str!("../migrations/0004_reservations.sql"),
            },
            db::migrate::Migration {
                module: "stock",
                version: 5,
                name: "stock on hand before valuation",
                sql: include_str!("../migrations/0005_opening_valuation.sql"),
            },
            db::migrate::Migration {
                module: "stock",
                version: 6,
                name: "reports",
                sql: include_str!("../migrations/0006_reports.sql"),
            },
            db::migrate::Migration {
                module: "stock",
                version: 7,
                name: "ledger index",
                sql: include_str!("../migrations/0007_ledger_index.sql"),
            },
            db::migrate::Migration {
                module: "stock",
                version: 8,
                name: "reorder alerts on the forecast",
                sql: include_str!("../migrations/0008_reorder_alerts.sql"),
            },
            db::migrate::Migration {
                module: "stock",
                version: 9,
                name: "lots with expiry dates",
                sql: include_str!("../migrations/0009_lots.sql"),
            },
            db::migrate::Migration {
                module: "stock",
                version: 10,
                name: "moves carry the cost centre and project of their document",
                sql: include_str!("../migrations/0010_move_tags.sql"),
            },
        ],
        permissions: &[service::READ, service::MOVE, service::MANAGE],
        menu: vec![
            MenuItem { label_key: "stock.on_hand", href: "/stock/on-hand", permission: service::READ },
            MenuItem { label_key: "stock.moves", href: "/stock/moves", permission: service::READ },
            MenuItem { label_key: "stock.replenishment", href: "/stock/replenishment", permission: service::READ },
            MenuItem { label_key: "stock.valuation", href: "/stock/valuation", permission: service::READ },
            MenuItem { label_key: "stock.analysis", href: "/stock/analysis", permission: service::READ },
            MenuItem { label_key: "stock.warehouses", href: "/stock/warehouses", permission: service::READ },
        ],
        routes: http::routes,
        api: http::docs(),
        subscribers: Vec::new(),
        jobs: Vec::new(),
        messages: i18n::MESSAGES,
    }
}

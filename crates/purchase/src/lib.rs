//! Purchasing: from a stock alert to a paid supplier bill. A `stock.StockBelowMinimum` alert
//! drafts a purchase request for the product's preferred supplier (or adds to the open one);
//! a request becomes a purchase order at the catalog prices; an order above the company's
//! threshold waits for a manager's approval; goods are received in parts through stock moves
//! valued at the order price (posting Dr 1405 / Cr 1402) and can be returned; the supplier's
//! bill is matched three ways (order price, received quantity, billed) and becomes a supplier
//! invoice in finance on 1402, posted at once when it matches and held for approval when it
//! does not. Emits `purchase.OrderConfirmed`, `purchase.GoodsReceived`, `purchase.BillRecorded`.

pub mod analysis;
pub mod domain;
mod http;
mod i18n;
pub mod service;

use db::events::{Event, HandlerFuture, Subscriber};
use db::Tx;
use web::{MenuItem, Module};

fn on_stock_below_minimum<'a>(tx: &'a mut Tx, event: &'a Event) -> HandlerFuture<'a> {
    Box::pin(async move {
        let Some(company) = event.company_id else {
            return Ok(());
        };
        service::request_replenishment(tx, company, &event.payload).await
    })
}

pub fn module() -> Module {
    Module {
        name: "purchase",
        title_key: "purchase.menu",
        migrations: vec![
            db::migrate::Migration {
                module: "purchase",
                version: 1,
                name: "requests, orders and bills",
                sql: include_str!("../migrations/0001_purchase.sql"),
            },
            db::migrate::Migration {
                module: "purchase",
                version: 2,
                name: "one open request per warehouse and supplier",
                sql: include_str!("../migrations/0002_one_open_request.sql"),
            },
            db::migrate::Migration {
                module: "purchase",
                version: 3,
                name: "order lines in a unit of their own",
                sql: include_str!("../migrations/0003_line_units.sql"),
            },
            db::migrate::Migration {
                module: "purchase",
                version: 4,
                name: "orders keep their VAT rounding",
                sql: include_str!("../migrations/0004_order_vat_rounding.sql"),
            },
        ],
        permissions: &[service::READ, service::MANAGE, service::APPROVE],
        menu: vec![
            MenuItem { label_key: "purchase.orders", href: "/purchase/orders", permission: service::READ },
            MenuItem { label_key: "purchase.requests", href: "/purchase/requests", permission: service::READ },
            MenuItem { label_key: "purchase.analysis", href: "/purchase/analysis", permission: service::READ },
            MenuItem { label_key: "purchase.settings", href: "/purchase/settings", permission: service::APPROVE },
        ],
        routes: http::routes,
        api: http::docs(),
        subscribers: vec![Subscriber {
            name: "purchase.replenish",
            event_types: &["stock.StockBelowMinimum"],
            handle: on_stock_below_minimum,
        }],
        jobs: Vec::new(),
        messages: i18n::MESSAGES,
    }
}

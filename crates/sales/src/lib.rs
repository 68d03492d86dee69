//! Sales: order-to-cash. A quotation (priced from the customer's price list) is confirmed
//! when the customer's credit limit allows it and the goods can be reserved in the warehouse;
//! deliveries move the goods to the customer through stock (valued, posting the cost of
//! sales), in parts, the rest staying reserved as the backorder; invoices are made in finance
//! for what was delivered (goods) or ordered (services) and posted at once; payment is
//! finance's receipt. Emits `sales.OrderConfirmed`, `sales.OrderDelivered` and
//! `sales.OrderInvoiced` for the CRM and production modules above.

pub mod domain;
mod http;
mod i18n;
pub mod service;

use web::{MenuItem, Module};

pub fn module() -> Module {
    Module {
        name: "sales",
        title_key: "sales.menu",
        migrations: vec![db::migrate::Migration {
            module: "sales",
            version: 1,
            name: "orders and credit limits",
            sql: include_str!("../migrations/0001_sales.sql"),
        }],
        permissions: &[service::READ, service::MANAGE, service::CREDIT],
        menu: vec![
            MenuItem { label_key: "sales.orders", href: "/sales/orders", permission: service::READ },
            MenuItem { label_key: "sales.credit_limits", href: "/sales/credit-limits", permission: service::CREDIT },
        ],
        routes: http::routes,
        api: http::docs(),
        subscribers: Vec::new(),
        messages: i18n::MESSAGES,
    }
}

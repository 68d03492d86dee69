//! Sales: order-to-cash. A quotation (priced from the customer's price list) is confirmed
//! when the customer's credit limit allows it and the goods can be reserved in the warehouse;
//! deliveries move the goods to the customer through stock (valued, posting the cost of
//! sales), in parts, the rest staying reserved as the backorder; invoices are made in finance
//! for what was delivered (goods) or ordered (services) and posted at once; payment is
//! finance's receipt. Each delivery is a document with a carrier, a tracking number and a
//! timeline updated by hand, by CSV or by the carrier's signed callback. Emits
//! `sales.OrderConfirmed`, `sales.OrderDelivered`, `sales.OrderInvoiced` and
//! `sales.ShipmentUpdated` for the CRM and production modules above.

pub mod analysis;
pub mod domain;
mod http;
mod i18n;
pub mod permissions;
pub mod service;
pub mod shipping;

use web::{MenuItem, Module};

pub fn module() -> Module {
    Module {
        name: "sales",
        title_key: "sales.menu",
        migrations: vec![
            db::migrate::Migration {
                module: "sales",
                version: 1,
                name: "orders and credit limits",
                sql: include_str!("../migrations/0001_sales.sql"),
            },
            db::migrate::Migration {
                module: "sales",
                version: 2,
                name: "deliveries, carriers and tracking",
                sql: include_str!("../migrations/0002_shipping.sql"),
            },
            db::migrate::Migration {
                module: "sales",
                version: 3,
                name: "carrier calls received",
                sql: include_str!("../migrations/0003_carrier_calls.sql"),
            },
            db::migrate::Migration {
                module: "sales",
                version: 4,
                name: "invoicing policy per line",
                sql: include_str!("../migrations/0004_invoice_policy.sql"),
            },
            db::migrate::Migration {
                module: "sales",
                version: 5,
                name: "order lines in a unit of their own",
                sql: include_str!("../migrations/0005_line_units.sql"),
            },
            db::migrate::Migration {
                module: "sales",
                version: 6,
                name: "deliveries picked and packed before they ship",
                sql: include_str!("../migrations/0006_pick_pack.sql"),
            },
            db::migrate::Migration {
                module: "sales",
                version: 7,
                name: "orders keep their VAT rounding",
                sql: include_str!("../migrations/0007_order_vat_rounding.sql"),
            },
            db::migrate::Migration {
                module: "sales",
                version: 8,
                name: "orders name a cost centre and project",
                sql: include_str!("../migrations/0008_order_tags.sql"),
            },
        ],
        permissions: &[service::READ, service::MANAGE, service::CREDIT],
        menu: vec![
            MenuItem { label_key: "sales.orders", href: "/sales/orders", permission: service::READ },
            MenuItem { label_key: "sales.analysis", href: "/sales/analysis", permission: service::READ },
            MenuItem { label_key: "sales.carriers", href: "/sales/carriers", permission: service::MANAGE },
            MenuItem { label_key: "sales.credit_limits", href: "/sales/credit-limits", permission: service::CREDIT },
        ],
        routes: http::routes,
        api: http::docs(),
        subscribers: Vec::new(),
        jobs: Vec::new(),
        messages: i18n::MESSAGES,
    }
}

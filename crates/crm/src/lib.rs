//! CRM: the sales face of the same data. The customer 360 page reads one customer's timeline
//! from where each fact lives (activities logged here; quotations, orders, deliveries from
//! sales; invoices, credit notes and receipts from finance) without copying it. Leads come by
//! hand, by CSV or from the public web form (rate-limited, spam-checked), are matched against
//! the parties, assigned by rules (round robin within a team by source and region), qualified
//! and converted in one step into a customer and an opportunity. Opportunities move through
//! configurable stages on a kanban board; a quotation made from one is a sales quotation, and
//! confirming its order wins the opportunity (`sales.OrderConfirmed`). Leads and opportunities
//! follow the record rules by their owner. Emits `crm.LeadCreated`, `crm.LeadConverted`,
//! `crm.OpportunityWon`, `crm.OpportunityLost`.

pub mod contracts;
pub mod domain;
mod http;
mod i18n;
pub mod marketing;
pub mod performance;
pub mod service;
pub mod service_desk;
pub mod timeline;

use db::events::{Event, HandlerFuture, Subscriber};
use db::Tx;
use web::{MenuItem, Module};

fn on_order_confirmed<'a>(tx: &'a mut Tx, event: &'a Event) -> HandlerFuture<'a> {
    Box::pin(async move {
        let Some(company) = event.company_id else {
            return Ok(());
        };
        service::order_confirmed(tx, company, &event.payload).await
    })
}

fn on_order_delivered<'a>(tx: &'a mut Tx, event: &'a Event) -> HandlerFuture<'a> {
    Box::pin(async move {
        let Some(company) = event.company_id else {
            return Ok(());
        };
        service_desk::order_delivered(tx, company, &event.payload).await
    })
}

pub fn module() -> Module {
    Module {
        name: "crm",
        title_key: "crm.menu",
        migrations: vec![
            db::migrate::Migration {
                module: "crm",
                version: 1,
                name: "activities, leads and the pipeline",
                sql: include_str!("../migrations/0001_crm.sql"),
            },
            db::migrate::Migration {
                module: "crm",
                version: 2,
                name: "the public web form's address",
                sql: include_str!("../migrations/0002_web_form.sql"),
            },
            db::migrate::Migration {
                module: "crm",
                version: 3,
                name: "segments and campaigns",
                sql: include_str!("../migrations/0003_marketing.sql"),
            },
            db::migrate::Migration {
                module: "crm",
                version: 4,
                name: "service tickets, SLAs and surveys",
                sql: include_str!("../migrations/0004_service.sql"),
            },
            db::migrate::Migration {
                module: "crm",
                version: 5,
                name: "sales targets",
                sql: include_str!("../migrations/0005_targets.sql"),
            },
            db::migrate::Migration {
                module: "crm",
                version: 6,
                name: "one survey per ticket or order",
                sql: include_str!("../migrations/0006_survey_once.sql"),
            },
            db::migrate::Migration {
                module: "crm",
                version: 7,
                name: "contracts and collection",
                sql: include_str!("../migrations/0007_contracts.sql"),
            },
            db::migrate::Migration {
                module: "crm",
                version: 8,
                name: "a customer's open opportunities",
                sql: include_str!("../migrations/0008_party_opportunities.sql"),
            },
            db::migrate::Migration {
                module: "crm",
                version: 9,
                name: "automatic escalation on an SLA breach",
                sql: include_str!("../migrations/0009_auto_escalation.sql"),
            },
        ],
        permissions: &[
            service::LEAD_READ,
            service::LEAD_MANAGE,
            service::OPPORTUNITY_READ,
            service::OPPORTUNITY_MANAGE,
            service::CUSTOMER_READ,
            service::SETTINGS,
            marketing::READ,
            marketing::MANAGE,
            service_desk::TICKET_READ,
            service_desk::TICKET_MANAGE,
            service_desk::SURVEY_READ,
        ],
        menu: vec![
            MenuItem { label_key: "crm.leads", href: "/crm/leads", permission: service::LEAD_READ },
            MenuItem { label_key: "crm.pipeline", href: "/crm/pipeline", permission: service::OPPORTUNITY_READ },
            MenuItem { label_key: "crm.forecast", href: "/crm/forecast", permission: service::OPPORTUNITY_READ },
            MenuItem { label_key: "crm.contracts", href: "/crm/contracts", permission: service::OPPORTUNITY_READ },
            MenuItem { label_key: "crm.performance", href: "/crm/performance", permission: service::OPPORTUNITY_READ },
            MenuItem { label_key: "crm.tasks", href: "/crm/tasks", permission: service::OPPORTUNITY_READ },
            MenuItem { label_key: "crm.segments", href: "/crm/segments", permission: marketing::READ },
            MenuItem { label_key: "crm.campaigns", href: "/crm/campaigns", permission: marketing::READ },
            MenuItem { label_key: "crm.tickets", href: "/crm/tickets", permission: service_desk::TICKET_READ },
            MenuItem {
                label_key: "crm.satisfaction",
                href: "/crm/satisfaction",
                permission: service_desk::SURVEY_READ,
            },
            MenuItem { label_key: "crm.settings", href: "/crm/settings", permission: service::SETTINGS },
        ],
        routes: http::routes,
        api: http::docs(),
        subscribers: vec![
            Subscriber { name: "crm.win_on_order", event_types: &["sales.OrderConfirmed"], handle: on_order_confirmed },
            Subscriber {
                name: "crm.survey_on_delivery",
                event_types: &["sales.OrderDelivered"],
                handle: on_order_delivered,
            },
        ],
        jobs: vec![db::jobs::Job {
            name: "crm.escalate_breaches",
            every: std::time::Duration::from_secs(60),
            run: |db| Box::pin(service_desk::escalate_breaches(db)),
        }],
        messages: i18n::MESSAGES,
    }
}

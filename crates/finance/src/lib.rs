//! Finance: the general ledger every other module posts to.
//!
//! The crate owns the chart of accounts (CAS, small-enterprise or generic English template,
//! with the accounts other modules post to named by role in `chart`), monthly
//! periods, opening balances of books started mid-way with the open documents of the earlier
//! books (`opening`), vouchers (凭证) with gapless numbers per word and period, posting that keeps
//! balance rows per (company, account, period, cost centre), per party and per project in the
//! same transaction, the cost centre and project lists (`dimensions`) and costs by them per
//! month (`costs`), budgets against them (`budgets`), red-ink reversal, the trial balance, the
//! CAS balance sheet and income statement, and the month and year close; invoices, bills,
//! receipts and payments (`invoicing`) in CNY or a foreign currency (`fx`: the document's own
//! figures beside the ledger's, realised exchange differences, the exchange-rate table), and
//! bank statements (`bank`), the cashier's cash and bank journals (`journal`); the review and the cashier's signature of hand-made vouchers
//! before posting (`review`);
//! the VAT return and the month-end transfer of unpaid VAT (`vat_return`), the surtaxes on it
//! and the payment of both (`surtaxes`).
//! `service::post_document_entry(tx, company, entry, kind)` is the posting API for the modules
//! above, which post their documents' vouchers under kinds of their own; the crate emits
//! `finance.EntryPosted` and `finance.PeriodClosed`.

pub mod attachments;
pub mod bank;
pub mod budgets;
pub mod cash_flow;
pub mod chart;
pub mod costs;
pub mod dimensions;
pub mod domain;
pub mod drafts;
pub mod fx;
mod http;
mod i18n;
pub mod invoicing;
pub mod journal;
pub mod opening;
pub mod permissions;
pub mod review;
pub mod service;
pub mod spend;
pub mod surtaxes;
pub mod vat;
pub mod vat_return;

use web::{MenuItem, Module};

pub fn module() -> Module {
    Module {
        name: "finance",
        title_key: "finance.menu",
        migrations: vec![
            db::migrate::Migration {
                module: "finance",
                version: 1,
                name: "ledger",
                sql: include_str!("../migrations/0001_ledger.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 2,
                name: "invoices and payments",
                sql: include_str!("../migrations/0002_invoices.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 3,
                name: "bank statements",
                sql: include_str!("../migrations/0003_bank.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 4,
                name: "foreign currency lines",
                sql: include_str!("../migrations/0004_foreign_currency.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 5,
                name: "one credit note per invoice",
                sql: include_str!("../migrations/0005_one_credit_note.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 6,
                name: "bills on hold",
                sql: include_str!("../migrations/0006_invoice_hold.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 7,
                name: "a party's invoices by kind and status",
                sql: include_str!("../migrations/0007_party_invoices.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 8,
                name: "customers' spend by date from one index",
                sql: include_str!("../migrations/0008_spend_index.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 9,
                name: "each customer's spend over twelve months",
                sql: include_str!("../migrations/0009_customer_spend.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 10,
                name: "the chart template of each company's books",
                sql: include_str!("../migrations/0010_books_template.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 11,
                name: "documents attached to vouchers",
                sql: include_str!("../migrations/0011_attachments.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 12,
                name: "refunds of credit notes",
                sql: include_str!("../migrations/0012_refunds.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 13,
                name: "set-offs of credit notes against invoices",
                sql: include_str!("../migrations/0013_setoffs.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 14,
                name: "index of foreign-currency lines for revaluation",
                sql: include_str!("../migrations/0014_foreign_lines.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 15,
                name: "covering index for the ageing report",
                sql: include_str!("../migrations/0015_ageing_index.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 16,
                name: "indexes of posted invoices leave drafts out",
                sql: include_str!("../migrations/0016_posted_invoice_indexes.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 17,
                name: "VAT rounding per line or per document as a company setting",
                sql: include_str!("../migrations/0017_vat_rounding_setting.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 18,
                name: "ageing on any date: advance applications, credit notes' settled part, date indexes",
                sql: include_str!("../migrations/0018_ageing_on_any_date.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 19,
                name: "several credit notes per invoice",
                sql: include_str!("../migrations/0019_several_credit_notes.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 20,
                name: "receivable and payable lines name their party; balances per party",
                sql: include_str!("../migrations/0020_party_balances.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 21,
                name: "invoice lines name their catalog product",
                sql: include_str!("../migrations/0021_invoice_line_products.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 22,
                name: "cost centre and project lists, project balances",
                sql: include_str!("../migrations/0022_analytic_dimensions.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 23,
                name: "invoice lines name a cost centre and project",
                sql: include_str!("../migrations/0023_invoice_line_dimensions.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 24,
                name: "budgets per cost centre or project, account and month",
                sql: include_str!("../migrations/0024_budgets.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 25,
                name: "invoices and payments in a foreign currency",
                sql: include_str!("../migrations/0025_foreign_documents.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 26,
                name: "bank statements of foreign-currency accounts",
                sql: include_str!("../migrations/0026_foreign_bank_lines.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 27,
                name: "exchange-rate table",
                sql: include_str!("../migrations/0027_exchange_rates.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 28,
                name: "budgets that stop an overspending posting",
                sql: include_str!("../migrations/0028_budget_control.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 29,
                name: "the generic chart's transferred-out VAT account",
                sql: include_str!("../migrations/0029_generic_vat_transfer_account.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 30,
                name: "invoices by their voucher",
                sql: include_str!("../migrations/0030_invoice_vouchers_index.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 31,
                name: "surtaxes on VAT: settings and accounts",
                sql: include_str!("../migrations/0031_surtaxes.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 32,
                name: "bank lines matched with vouchers",
                sql: include_str!("../migrations/0032_bank_lines_vouchers.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 33,
                name: "cash flows kept as balance rows",
                sql: include_str!("../migrations/0033_cash_flows.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 34,
                name: "input VAT reversed",
                sql: include_str!("../migrations/0034_input_vat_reversed.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 35,
                name: "voucher review",
                sql: include_str!("../migrations/0035_voucher_review.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 36,
                name: "cashier signature",
                sql: include_str!("../migrations/0036_cashier_signature.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 37,
                name: "simplified-method VAT",
                sql: include_str!("../migrations/0037_simplified_vat.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 38,
                name: "bank line drafts",
                sql: include_str!("../migrations/0038_bank_line_drafts.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 39,
                name: "tax payment drafts",
                sql: include_str!("../migrations/0039_tax_payment_drafts.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 40,
                name: "bank line drafts index",
                sql: include_str!("../migrations/0040_bank_line_drafts_index.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 41,
                name: "small-scale taxpayer",
                sql: include_str!("../migrations/0041_small_scale_taxpayer.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 42,
                name: "VAT reduction columns",
                sql: include_str!("../migrations/0042_vat_reduction_columns.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 43,
                name: "opening documents",
                sql: include_str!("../migrations/0043_opening_documents.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 44,
                name: "opening year to date",
                sql: include_str!("../migrations/0044_opening_year_to_date.sql"),
            },
            db::migrate::Migration {
                module: "finance",
                version: 45,
                name: "advance refunds",
                sql: include_str!("../migrations/0045_advance_refunds.sql"),
            },
        ],
        permissions: &[
            service::ACCOUNTS,
            service::READ,
            service::CREATE,
            service::POST,
            permissions::REVIEW,
            permissions::SIGN_CASH,
            service::REPORTS,
            service::CLOSE,
            service::REOPEN,
            invoicing::READ,
            invoicing::MANAGE,
            invoicing::PAYMENTS,
        ],
        menu: vec![
            MenuItem { label_key: "finance.invoices", href: "/finance/invoices", permission: invoicing::READ },
            MenuItem { label_key: "finance.bills", href: "/finance/bills", permission: invoicing::READ },
            MenuItem { label_key: "finance.payments_menu", href: "/finance/payments", permission: invoicing::READ },
            MenuItem { label_key: "finance.ageing", href: "/finance/reports/ageing", permission: invoicing::READ },
            MenuItem { label_key: "finance.bank", href: "/finance/bank", permission: invoicing::PAYMENTS },
            MenuItem {
                label_key: "finance.cash_journal",
                href: "/finance/reports/cash-journal",
                permission: invoicing::PAYMENTS,
            },
            // The journal is the cashier's and the reports' reader's alike (`journal::may_read`).
            MenuItem {
                label_key: "finance.cash_journal",
                href: "/finance/reports/cash-journal",
                permission: service::REPORTS,
            },
            MenuItem { label_key: "finance.rates", href: "/finance/rates", permission: invoicing::READ },
            MenuItem { label_key: "finance.entries", href: "/finance/entries", permission: service::READ },
            MenuItem { label_key: "finance.accounts", href: "/finance/accounts", permission: service::READ },
            MenuItem { label_key: "finance.opening_balances", href: "/finance/opening", permission: service::ACCOUNTS },
            MenuItem {
                label_key: "finance.trial_balance",
                href: "/finance/reports/trial-balance",
                permission: service::REPORTS,
            },
            MenuItem {
                label_key: "finance.general_ledger",
                href: "/finance/reports/general-ledger",
                permission: service::REPORTS,
            },
            MenuItem {
                label_key: "finance.balance_sheet",
                href: "/finance/reports/balance-sheet",
                permission: service::REPORTS,
            },
            MenuItem {
                label_key: "finance.income_statement",
                href: "/finance/reports/income-statement",
                permission: service::REPORTS,
            },
            MenuItem {
                label_key: "finance.cash_flow",
                href: "/finance/reports/cash-flow",
                permission: service::REPORTS,
            },
            MenuItem {
                label_key: "finance.cost_centers",
                href: "/finance/reports/cost-centers",
                permission: service::REPORTS,
            },
            MenuItem { label_key: "finance.vat_return", href: "/finance/reports/vat", permission: service::REPORTS },
            MenuItem { label_key: "finance.budgets", href: "/finance/budgets", permission: service::REPORTS },
            MenuItem {
                label_key: "finance.dimensions",
                href: "/finance/dimensions/cost_center",
                permission: service::READ,
            },
            MenuItem { label_key: "finance.periods", href: "/finance/periods", permission: service::READ },
        ],
        routes: http::routes,
        api: http::api::docs()
            .into_iter()
            .chain(http::api::invoice_docs())
            .chain(http::api::report_docs())
            .chain(http::api::bank_docs())
            .chain(http::api::statement_docs())
            .chain(http::api::rate_docs())
            .chain(http::api::vat_docs())
            .collect(),
        subscribers: Vec::new(),
        jobs: vec![db::jobs::Job {
            name: "finance.roll_customer_spend",
            every: std::time::Duration::from_secs(60),
            run: |db| Box::pin(spend::roll(db)),
        }],
        messages: i18n::MESSAGES,
    }
}

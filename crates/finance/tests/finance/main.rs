//! The finance module's scenario tests, one test binary (link time matters on two cores).

mod bank;
mod budgets;
mod cash_flow;
mod charts;
mod foreign;
mod invoicing;
mod ledger;
mod opening;
mod pages;
mod review;
mod small_scale;
mod vat_return;

//! The exchange-rate table's page (汇率表): the rates in force today, the form that enters a
//! currency's rate from a day on, and the table itself, latest first, with a removal button on
//! each row.

use crate::fx::{self, TableRate, TableRateForm};
use crate::invoicing;
use crate::permissions::ACCOUNTS;
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use kernel::Currency;
use web::page::{finish_form, messages_elsewhere, render, Refused};
use web::{AppResult, Ctx, FormPairs, PageCtx};

/// The most rows the page lists; older ones are read through the API or by currency.
const SHOWN: i64 = 200;

/// The foreign currencies the ledger knows, as the form offers them.
const FOREIGN: [&str; 4] = ["USD", "EUR", "HKD", "JPY"];

#[derive(Template)]
#[template(path = "finance/rates.html")]
struct RatesPage {
    page: PageCtx,
    /// Each currency's rate in force today.
    in_force: Vec<TableRate>,
    /// The table, latest first, of `currency` or of all.
    rows: Vec<TableRate>,
    currency: String,
    currencies: [&'static str; 4],
    today: String,
    can_manage: bool,
    /// The form just refused: the new rate's (its own fields), or a row's removal
    /// (`row {currency} {date}`).
    refused: Refused,
}

impl RatesPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.refused.message(field)
    }

    fn other_errors(&self) -> Vec<&str> {
        messages_elsewhere(&self.refused.errors, &["currency", "date", "rate"])
            .into_iter()
            .filter(|m| !self.refused.errors.iter().any(|(f, shown)| f.starts_with("row ") && shown == m))
            .collect()
    }

    fn row_errors(&self, row: &TableRate) -> Vec<&str> {
        self.refused.messages_of(&format!("row {} {}", row.currency, row.date))
    }

    fn typed(&self, field: &str, usual: &str) -> String {
        self.refused.typed(field, usual)
    }
}

#[derive(serde::Deserialize, Default)]
pub struct RatesQuery {
    currency: Option<String>,
}

async fn rates_page(ctx: &Ctx, currency: &str, refused: Refused) -> AppResult<RatesPage> {
    ctx.require(invoicing::READ)?;
    let mut conn = ctx.db().read_conn().await?;
    let today = ctx.today().to_string();
    let chosen = Currency::from_code(currency).filter(|c| *c != Currency::CNY);
    Ok(RatesPage {
        page: PageCtx::new(ctx, "finance.rates", "/finance/rates").await?,
        in_force: fx::rates_on(&mut conn, ctx.company_id(), &today).await?,
        rows: fx::table(&mut conn, ctx.company_id(), chosen, SHOWN).await?,
        currency: chosen.map_or(String::new(), |c| c.code().to_string()),
        currencies: FOREIGN,
        today,
        can_manage: ctx.principal.may(ACCOUNTS),
        refused,
    })
}

pub async fn page(ctx: Ctx, Query(q): Query<RatesQuery>) -> AppResult<Response> {
    render(&rates_page(&ctx, q.currency.as_deref().unwrap_or(""), Refused::default()).await?)
}

/// Enters a rate from the page; refused, the form shows again as typed.
pub async fn set(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = TableRateForm { currency: pairs.text("currency"), date: pairs.text("date"), rate: pairs.text("rate") };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = fx::set_rate(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |row| (format!("/finance/rates?currency={}", row.currency), "common.saved"),
        async |errors| rates_page(&ctx, "", Refused::new(&ctx, "", errors, pairs.clone())).await,
    )
    .await
}

/// Takes one rate out of the table, from its row.
pub async fn remove(ctx: Ctx, Path((currency, date)): Path<(String, String)>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = fx::remove_rate(&mut tx, &ctx.principal, &currency, &date).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| (format!("/finance/rates?currency={currency}"), "finance.rate_removed"),
        async |errors| {
            let refused = Refused::new(&ctx, &format!("row {currency} {date}"), errors, FormPairs::default());
            rates_page(&ctx, &currency, refused).await
        },
    )
    .await
}

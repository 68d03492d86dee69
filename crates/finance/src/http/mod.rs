//! The finance module's HTTP side. (Named `http` rather than `web` so it cannot be confused
//! with the `web` crate it builds on.)

pub mod api;
mod bank;
mod cash_flow;
mod invoices;
mod journal;
mod pages;
mod payments;
mod rates;
mod vat;

use axum::routing::{delete, get, patch, post};
use axum::Router;
use web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/finance/accounts", get(pages::accounts).post(pages::add_account))
        .route("/finance/setup", post(pages::setup))
        .route("/finance/settings", post(pages::settings))
        .route("/finance/accounts/{code}/{action}", post(pages::change_account))
        .route("/finance/entries", get(pages::entries).post(pages::create_entry))
        .route("/finance/opening", get(pages::opening).post(pages::post_opening))
        .route("/finance/opening/year-to-date", post(pages::set_year_to_date))
        .route("/finance/entries/new", get(pages::new_entry))
        .route("/finance/entries/{id}", get(pages::entry))
        .route("/finance/entries/{id}/post", post(pages::post_entry))
        .route("/finance/entries/{id}/review", post(pages::review_entry))
        .route("/finance/entries/{id}/unreview", post(pages::cancel_review))
        .route("/finance/entries/{id}/cashier", post(pages::sign_for_cashier))
        .route("/finance/entries/{id}/uncashier", post(pages::cancel_cashier))
        .route("/finance/entries/{id}/edit", get(pages::edit_entry).post(pages::update_entry))
        .route("/finance/entries/{id}/delete", post(pages::delete_entry))
        .route("/finance/entries/{id}/reverse", post(pages::reverse_entry))
        .route(
            "/finance/entries/{id}/attachments",
            post(pages::attach).layer(axum::extract::DefaultBodyLimit::max(web::extract::UPLOAD_LIMIT)),
        )
        .route("/finance/entries/{id}/attachments/{attachment}", get(pages::attachment))
        .route("/finance/entries/{id}/attachments/{attachment}/delete", post(pages::remove_attachment))
        .route(
            "/api/v1/finance/entries/{id}/attachments",
            post(api::attach).layer(axum::extract::DefaultBodyLimit::max(web::extract::UPLOAD_LIMIT)),
        )
        .route("/api/v1/finance/entries/{id}/attachments/{attachment}", get(pages::attachment))
        .route("/finance/reports/trial-balance", get(pages::trial_balance))
        .route("/finance/reports/general-ledger", get(pages::general_ledger))
        .route("/api/v1/finance/reports/general-ledger", get(api::general_ledger))
        .route("/finance/reports/balance-sheet", get(pages::balance_sheet))
        .route("/finance/reports/income-statement", get(pages::income_statement))
        .route("/finance/periods", get(pages::periods))
        .route("/finance/periods/{period}/close", post(pages::close))
        .route("/finance/periods/revalue", post(pages::revalue))
        .route("/finance/periods/next-year", post(pages::open_next_year))
        .route("/finance/periods/{period}/reopen", post(pages::reopen))
        .route(
            "/finance/bank",
            get(bank::page).post(bank::import).layer(axum::extract::DefaultBodyLimit::max(web::extract::UPLOAD_LIMIT)),
        )
        .route("/finance/bank/{id}/match", post(bank::reconcile))
        .route("/finance/bank/{id}/unmatch", post(bank::unreconcile))
        .route("/finance/bank/{id}/book", post(bank::book))
        .route("/api/v1/finance/bank-lines/{id}/book", post(api::bank_book))
        .route("/api/v1/finance/bank-statements", post(api::import_statement))
        .route("/api/v1/finance/bank-lines", get(api::bank_lines))
        .route("/api/v1/finance/bank-lines/{id}/suggestions", get(api::bank_suggestions))
        .route("/api/v1/finance/bank-lines/{id}/match", post(api::bank_match))
        .route("/finance/reports/ageing", get(invoices::ageing))
        .route("/finance/reports/cash-flow", get(cash_flow::page))
        .route("/api/v1/finance/reports/cash-flow", get(api::cash_flow))
        .route("/finance/reports/vat", get(vat::page))
        .route("/finance/reports/vat/transfer", post(vat::transfer))
        .route("/api/v1/finance/reports/vat", get(api::vat_return))
        .route("/api/v1/finance/periods/{period}/vat-transfer", post(api::vat_transfer))
        .route("/api/v1/finance/periods/{period}/tax-payment", post(api::tax_payment))
        .route("/finance/reports/vat/pay", post(vat::pay))
        .route("/finance/reports/party-statement", get(invoices::party_statement))
        .route("/api/v1/finance/reports/party-statement", get(api::party_statement))
        .route("/finance/reports/account", get(pages::account_ledger))
        .route("/finance/reports/cash-journal", get(journal::page))
        .route("/finance/reports/statement-line", get(pages::statement_line))
        .route("/api/v1/finance/reports/statement-line", get(api::statement_line))
        .route("/finance/reports/cost-centers", get(pages::cost_report))
        .route("/api/v1/finance/reports/account-ledger", get(api::account_ledger))
        .route("/api/v1/finance/reports/cash-journal", get(journal::api))
        .route("/api/v1/finance/reports/cost-centers", get(api::cost_report))
        .route("/finance/budgets", get(pages::budgets).post(pages::set_budget))
        .route("/api/v1/finance/budgets", get(api::budget_report))
        .route("/api/v1/finance/budgets/{dimension}", post(api::set_budget))
        .route("/finance/dimensions/{dimension}", get(pages::dimensions).post(pages::add_dimension))
        .route("/finance/dimensions/{dimension}/{code}/{action}", post(pages::change_dimension))
        .route("/api/v1/finance/dimensions/{dimension}", get(api::dimension_list).post(api::dimension_create))
        .route("/api/v1/finance/dimensions/{dimension}/{code}", patch(api::dimension_rename))
        .route("/api/v1/finance/dimensions/{dimension}/{code}/{action}", post(api::dimension_change))
        .route("/finance/rates", get(rates::page).post(rates::set))
        .route("/finance/rates/{currency}/{date}/remove", post(rates::remove))
        .route("/api/v1/finance/exchange-rates", get(api::exchange_rates).post(api::set_exchange_rate))
        .route("/api/v1/finance/exchange-rates/{currency}/{date}", delete(api::remove_exchange_rate))
        .route("/finance/payments", get(payments::list).post(payments::create))
        .route("/finance/payments/new", get(payments::new))
        .route("/finance/payments/{id}/withdraw", post(payments::withdraw))
        .route("/finance/payments/{id}/refund", post(payments::refund))
        .route("/finance/payments/{id}/cancel", post(payments::cancel))
        .route("/finance/{which}", get(invoices::list).post(invoices::create))
        .route("/finance/{which}/new", get(invoices::new))
        .route("/finance/{which}/{id}", get(invoices::detail))
        .route("/finance/{which}/{id}/post", post(invoices::post))
        .route("/finance/{which}/{id}/credit-note", post(invoices::credit))
        .route("/finance/{which}/{id}/pay", post(invoices::pay))
        .route("/finance/{which}/{id}/apply-advance", post(invoices::apply_advance))
        .route("/finance/{which}/{id}/refund", post(invoices::refund))
        .route("/finance/{which}/{id}/set-off", post(invoices::set_off))
        .route("/finance/{which}/{id}/payments/{payment}/cancel", post(invoices::cancel_payment))
        .route("/finance/{which}/{id}/withdraw", post(invoices::withdraw))
        .route("/api/v1/finance/invoices/{id}/withdraw", post(api::withdraw_invoice))
        .route("/api/v1/finance/payments/{id}/withdraw", post(api::withdraw_payment))
        .route("/api/v1/finance/payments/{id}/refund", post(api::refund_advance))
        .route("/api/v1/finance/payments/{id}/cancel", post(api::cancel_payment))
        .route("/api/v1/finance/invoices/{id}/refund", post(api::refund))
        .route("/api/v1/finance/invoices/{id}/set-off", post(api::set_off))
        .route("/api/v1/finance/setup", post(api::setup))
        .route("/api/v1/finance/settings", get(api::settings).patch(api::change_settings))
        .route("/api/v1/finance/accounts", get(api::accounts).post(api::add_account))
        .route("/api/v1/finance/accounts/{code}", delete(api::delete_account))
        .route("/api/v1/finance/accounts/{code}/archive", post(api::archive_account))
        .route("/api/v1/finance/accounts/{code}/restore", post(api::restore_account))
        .route("/api/v1/finance/years", post(api::open_next_year))
        .route("/api/v1/finance/entries", get(api::entries).post(api::create_entry))
        .route("/api/v1/finance/opening-balances", post(api::post_opening))
        .route("/api/v1/finance/opening-balances/year-to-date", get(api::year_to_date).put(api::set_year_to_date))
        .route("/api/v1/finance/entries/{id}", get(api::entry).put(api::update_entry).delete(api::delete_entry))
        .route("/api/v1/finance/entries/{id}/post", post(api::post_entry))
        .route("/api/v1/finance/entries/{id}/review", post(api::review_entry).delete(api::cancel_review))
        .route("/api/v1/finance/entries/{id}/cashier", post(api::sign_for_cashier).delete(api::cancel_cashier))
        .route("/api/v1/finance/entries/{id}/reverse", post(api::reverse_entry))
        .route("/api/v1/finance/reports/trial-balance", get(api::trial_balance))
        .route("/api/v1/finance/reports/balance-sheet", get(api::balance_sheet))
        .route("/api/v1/finance/reports/income-statement", get(api::income_statement))
        .route("/api/v1/finance/invoices", get(api::invoices).post(api::create_invoice))
        .route("/api/v1/finance/invoices/{id}", get(api::invoice))
        .route("/api/v1/finance/invoices/{id}/post", post(api::post_invoice))
        .route("/api/v1/finance/invoices/{id}/credit-note", post(api::credit_note))
        .route("/api/v1/finance/payments", get(api::payments).post(api::record_payment))
        .route("/api/v1/finance/invoices/{id}/apply-advance", post(api::apply_advance))
        .route("/api/v1/finance/reports/ageing", get(api::ageing))
        .route("/api/v1/finance/periods", get(api::periods))
        .route("/api/v1/finance/periods/{period}/close", post(api::close))
        .route("/api/v1/finance/periods/{period}/revalue", post(api::revalue))
        .route("/api/v1/finance/periods/{period}/reopen", post(api::reopen))
}

/// What a report or list page shows: its figures, or, when what it was asked for cannot be
/// read (a month or date mistyped, months the wrong way round), the messages to show beside
/// the fields that asked, so the reader corrects the field rather than meeting an error page.
/// Any other failure stays an error.
fn figures_or_refusal<T>(
    ctx: &web::Ctx,
    outcome: web::AppResult<T>,
) -> web::AppResult<Result<T, Vec<(String, String)>>> {
    match outcome {
        Ok(figures) => Ok(Ok(figures)),
        Err(web::AppError::Domain(kernel::DomainError::Invalid(errors))) => {
            Ok(Err(web::page::field_messages(ctx, &errors)))
        }
        Err(other) => Err(other),
    }
}

/// The id in a page's or call's path; one that is not a number names no `what` there.
fn path_id(id: &str, what: &'static str) -> Result<i64, web::AppError> {
    id.parse().map_err(|_| web::AppError::Domain(kernel::DomainError::NotFound(what)))
}

/// The currency a report is asked in (`currency=`): CNY unless a known foreign one is named,
/// refused beside the field otherwise.
fn asked_currency(typed: Option<&str>) -> Result<kernel::Currency, web::AppError> {
    match typed.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(kernel::Currency::CNY),
        Some(code) => kernel::Currency::from_code(code).ok_or_else(|| {
            web::AppError::Domain(kernel::DomainError::invalid("currency", "error.finance.currency", code))
        }),
    }
}

/// A payment undone meanwhile (the button pressed twice) is said so on the page it was undone
/// from, not answered with a page of its own.
fn gone_as_refusal(outcome: db::Result<()>) -> db::Result<()> {
    match outcome {
        Err(db::Error::Domain(kernel::DomainError::NotFound("payment"))) => {
            Err(kernel::DomainError::invalid("cancel", "error.finance.payment_gone", "").into())
        }
        other => other,
    }
}

/// What was typed into a query field, for showing it again when refused.
fn typed(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// Changes the books' settings from the page's form or the API: the VAT rounding, the kind of
/// taxpayer, the surtaxes' and the voucher review, each left as stored when not given. `problems` holds what the caller refused
/// already, so that every bad field is named at once; nothing is stored then.
pub(crate) async fn change_settings(
    tx: &mut db::Tx,
    principal: &kernel::permission::Principal,
    settings: &BooksSettings,
    mut problems: kernel::error::Problems,
) -> db::Result<()> {
    principal.authorize(crate::permissions::ACCOUNTS)?;
    let company = principal.company_id.0;
    let stored = crate::surtaxes::settings(tx.conn(), company).await?;
    let changed = settings.surtaxes.applied_to(stored, &mut problems);
    let taxpayer = settings.taxpayer.as_deref().and_then(|key| {
        let taxpayer = crate::vat::Taxpayer::parse(key);
        if taxpayer.is_none() {
            problems.add("taxpayer", "error.finance.taxpayer", key);
        }
        taxpayer
    });
    problems.finish()?;
    if let Some(rounding) = settings.vat_rounding {
        crate::invoicing::set_vat_rounding(tx, principal, rounding).await?;
    }
    if let Some(taxpayer) = taxpayer {
        crate::invoicing::set_taxpayer(tx, principal, taxpayer).await?;
    }
    for (signature, on) in &settings.rules {
        crate::review::set_rule(tx, principal, *signature, *on).await?;
    }
    crate::surtaxes::set_settings(tx, principal, changed).await
}

/// A change of the books' settings as typed on the page or sent to the API; what is left out
/// keeps its value.
#[derive(Debug, Default)]
pub(crate) struct BooksSettings {
    pub vat_rounding: Option<crate::vat::VatRounding>,
    /// `general`, `small_scale` or `small_scale_quarterly`.
    pub taxpayer: Option<String>,
    pub surtaxes: crate::surtaxes::SettingsForm,
    /// The signature rules to turn on or off.
    pub rules: Vec<(crate::review::Signature, bool)>,
}

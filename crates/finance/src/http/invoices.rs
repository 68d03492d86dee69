//! Invoice pages: lists of invoices and bills, the entry form (five lines, no JavaScript),
//! the invoice with its voucher, post, credit note and receipt forms (also a print view), and
//! the ageing report.

use super::figures_or_refusal;
use crate::dimensions::Dimension;
use crate::invoicing::{self, AgeingRow, Invoice, InvoiceForm, InvoiceSummary, PaymentForm};
use crate::vat::{InvoiceLineForm, VatRounding};
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::Response;
use db::RowExt;
use kernel::error::FieldError;
use kernel::DomainError;
use serde::Deserialize;
use web::page::{field_messages, finish_form, message_for, messages_elsewhere, messages_for, render, Refused};
use web::{AppError, AppResult, Ctx, FormPairs, PageCtx};

const FORM_LINES: usize = 5;

/// (invoice kind, list path, title key) for `/finance/invoices` and `/finance/bills`.
fn kind_of(path_kind: &str) -> Result<(&'static str, &'static str, &'static str), AppError> {
    match path_kind {
        "invoices" => Ok(("customer", "/finance/invoices", "finance.invoices")),
        "bills" => Ok(("supplier", "/finance/bills", "finance.bills")),
        _ => Err(AppError::NotFound),
    }
}

#[derive(Template)]
#[template(path = "finance/invoices.html")]
struct ListPage {
    page: PageCtx,
    base: &'static str,
    items: Vec<InvoiceSummary>,
    status: String,
    can_manage: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

pub async fn list(ctx: Ctx, Path(which): Path<String>, Query(q): Query<ListQuery>) -> AppResult<Response> {
    ctx.require(invoicing::READ)?;
    let (kind, base, title) = kind_of(&which)?;
    let status = q.status.unwrap_or_default();
    let mut conn = ctx.db().read_conn().await?;
    let items =
        invoicing::list(&mut conn, ctx.company_id(), kind, Some(status.as_str()).filter(|s| !s.is_empty())).await?;
    render(&ListPage {
        page: PageCtx::new(&ctx, title, base).await?,
        base,
        items,
        status,
        can_manage: ctx.principal.may(invoicing::MANAGE),
    })
}

#[derive(Template)]
#[template(path = "finance/invoice_form.html")]
struct FormPage {
    page: PageCtx,
    base: &'static str,
    form: InvoiceForm,
    parties: Vec<(i64, String)>,
    /// Catalog products a line may name, as (id, "code name"); a product fills the line's
    /// description and, on an invoice, its price where they are left empty.
    products: Vec<(i64, String)>,
    /// Refusals of the form sent, by field (`lines[i]` for the i-th line).
    errors: Vec<(String, String)>,
    /// The active cost centres and projects a line may name, offered as the field is typed.
    cost_centers: Vec<crate::dimensions::Tag>,
    projects: Vec<crate::dimensions::Tag>,
    /// The VAT rates a line offers ([`kernel::vat::RATE_CHOICES`]): on a small-scale
    /// taxpayer's invoice only those it may charge.
    rates: Vec<&'static str>,
    /// The accounts a line may name ([`invoicing::line_accounts`]), and the one a line naming
    /// none goes to (revenue on an invoice, stock on a bill).
    accounts: Vec<crate::service::Account>,
    default_account: String,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    /// Every refusal of the i-th line (a line may be refused for its quantity and its rate).
    fn line_errors(&self, i: usize) -> Vec<&str> {
        messages_for(&self.errors, &format!("lines[{i}]"))
    }

    /// Refusals of what the form has no field for, shown above it.
    fn other_errors(&self) -> Vec<&str> {
        messages_elsewhere(
            &self.errors,
            &["party_id", "date", "due_date", "memo", "currency", "rate", "lines", "lines[]"],
        )
    }

    fn per_document(&self) -> bool {
        self.form.vat_rounding == Some(VatRounding::Document)
    }

    /// Whether the form is written in `code` (CNY when it names none).
    fn written_in(&self, code: &str) -> bool {
        let chosen = self.form.currency.trim();
        chosen.eq_ignore_ascii_case(code) || (chosen.is_empty() && code == "CNY")
    }
}

/// The company's products in use, for the invoice form's lines.
async fn products(ctx: &Ctx) -> AppResult<Vec<(i64, String)>> {
    let rows = sqlx::query(
        "SELECT id, code, name FROM cat_products WHERE company_id = $1 AND archived_at IS NULL ORDER BY code LIMIT 1000",
    )
    .bind(ctx.company_id())
    .fetch_all(ctx.db().reader())
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some((
                r.try_get("id").ok()?,
                format!("{} {}", r.try_get::<String, _>("code").ok()?, r.try_get::<String, _>("name").ok()?),
            ))
        })
        .collect())
}

pub(super) async fn parties(ctx: &Ctx, kind: &str) -> AppResult<Vec<(i64, String)>> {
    let role = if kind == "supplier" { "supplier" } else { "customer" };
    let rows = sqlx::query(
        "SELECT p.id, p.name FROM parties p JOIN party_roles r ON r.party_id = p.id AND r.role = $2 \
         WHERE p.company_id = $1 AND p.archived_at IS NULL ORDER BY p.name LIMIT 1000",
    )
    .bind(ctx.company_id())
    .bind(role)
    .fetch_all(ctx.db().reader())
    .await?;
    Ok(rows.iter().filter_map(|r| Some((r.try_get("id").ok()?, r.try_get("name").ok()?))).collect())
}

async fn form_page(
    ctx: &Ctx,
    base: &'static str,
    mut form: InvoiceForm,
    errors: Vec<FieldError>,
) -> AppResult<FormPage> {
    let mut conn = ctx.db().read_conn().await?;
    let taxpayer = invoicing::taxpayer(&mut conn, ctx.company_id()).await?;
    let sale = form.kind == "customer";
    let rates = offered_rates(taxpayer, sale);
    let usual = if sale { taxpayer.rate_charged(1300, &form.date) } else { 1300 };
    while form.lines.len() < FORM_LINES {
        form.lines.push(InvoiceLineForm { vat_rate: kernel::vat::choice(usual), ..Default::default() });
    }
    let title = if form.kind == "supplier" { "finance.bill_new" } else { "finance.invoice_new" };
    let errors = field_messages(ctx, &errors);
    let accounts = invoicing::line_accounts(&mut conn, ctx.company_id(), &form.kind).await?;
    let default_account = invoicing::default_line_account(&mut conn, ctx.company_id(), &form.kind).await?;
    let offered =
        async |conn: &mut db::Conn, dimension| crate::dimensions::offered(conn, ctx.company_id(), dimension).await;
    Ok(FormPage {
        page: PageCtx::new(ctx, title, base).await?,
        base,
        parties: parties(ctx, &form.kind).await?,
        products: products(ctx).await?,
        cost_centers: offered(&mut conn, Dimension::CostCenter).await?,
        projects: offered(&mut conn, Dimension::Project).await?,
        form,
        errors,
        rates,
        accounts,
        default_account,
    })
}

pub async fn new(ctx: Ctx, Path(which): Path<String>) -> AppResult<Response> {
    ctx.require(invoicing::MANAGE)?;
    let (kind, base, _) = kind_of(&which)?;
    // The form starts from the company's rounding; the accountant may choose otherwise.
    let rounding = invoicing::vat_rounding(&mut ctx.db().read_conn().await?, ctx.company_id()).await?;
    let form = InvoiceForm {
        kind: kind.into(),
        date: ctx.today().to_string(),
        vat_rounding: Some(rounding),
        ..Default::default()
    };
    render(&form_page(&ctx, base, form, Vec::new()).await?)
}

pub async fn create(ctx: Ctx, Path(which): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let (kind, base, _) = kind_of(&which)?;
    let column = |name: &str| pairs.all(name);
    let (descriptions, quantities, prices, discounts, rates) =
        (column("description"), column("quantity"), column("unit_price"), column("discount"), column("vat_rate"));
    let products = column("product_id");
    let (centres, projects, accounts) = (column("cost_center"), column("project"), column("account"));
    let lines = (0..descriptions.len())
        .map(|i| InvoiceLineForm {
            description: descriptions[i].clone(),
            quantity: quantities.get(i).cloned().unwrap_or_default(),
            unit_price: prices.get(i).cloned().unwrap_or_default(),
            discount: discounts.get(i).cloned().unwrap_or_default(),
            vat_rate: rates.get(i).cloned().unwrap_or_default(),
            account: accounts.get(i).cloned().unwrap_or_default(),
            product_id: products.get(i).and_then(|p| p.trim().parse().ok()),
            cost_center: centres.get(i).cloned().unwrap_or_default(),
            project: projects.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let form = InvoiceForm {
        kind: kind.into(),
        party_id: pairs.get("party_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        date: pairs.text("date"),
        due_date: Some(pairs.text("due_date")),
        tax_inclusive: pairs.get("tax_inclusive") == Some("true"),
        vat_rounding: pairs.get("vat_rounding").map(VatRounding::from_key),
        memo: pairs.text("memo"),
        currency: pairs.text("currency"),
        rate: pairs.text("rate"),
        lines,
    };
    let post_now = pairs.get("post") == Some("true");
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let result = match invoicing::create_invoice(&mut tx, &ctx.principal, &form).await {
        Ok(id) if post_now => invoicing::post_invoice(&mut tx, &ctx.principal, id).await.map(|_| id),
        other => other,
    };
    let flash = if post_now { "finance.posted_ok" } else { "common.created" };
    finish_form(
        &ctx,
        tx,
        result,
        |id| (format!("{base}/{id}"), flash),
        async |errors| form_page(&ctx, base, form, errors).await,
    )
    .await
}

#[derive(Template)]
#[template(path = "finance/invoice.html")]
struct DetailPage {
    page: PageCtx,
    base: &'static str,
    invoice: Invoice,
    today: String,
    can_manage: bool,
    can_pay: bool,
    company: String,
    /// The chart's bank account, which payment forms offer.
    bank: &'static str,
    /// Set-offs this document took part in.
    set_offs: Vec<invoicing::SetOffLine>,
    /// The receipts, payments and refunds that settled it.
    settled_by: Vec<invoicing::SettledBy>,
    /// For a credit note that owes money: the party's open invoices it can be set off against.
    set_off_candidates: Vec<(i64, String, i64)>,
    /// What the party paid in advance and has not applied yet (for an open invoice).
    advance: i64,
    /// For a document in a foreign currency: the rate its payment and refund forms start from,
    /// the exchange-rate table's in force today, or the document's own when the table has none.
    day_rate: String,
    /// The form just refused, if any: `post`, `pay`, `advance`, `credit`, `refund`, `set_off`
    /// or `withdraw`.
    refused: Refused,
    /// For a document carried over, the VAT rates its credit note's typed lines offer, the
    /// accounts they may name and the one they go to when they name none.
    credit_rates: Vec<&'static str>,
    credit_accounts: Vec<crate::service::Account>,
    default_account: String,
}

/// The VAT rates a line offers: on a sale those the company may charge (a small-scale
/// taxpayer its collection rates), on a bill every rate.
fn offered_rates(taxpayer: crate::vat::Taxpayer, sale: bool) -> Vec<&'static str> {
    kernel::vat::RATE_CHOICES
        .into_iter()
        .filter(|choice| !sale || kernel::vat::parse_rate(choice).is_some_and(|rate| taxpayer.may_charge(rate)))
        .collect()
}

/// Rows of the credit note form of a document carried over, whose lines are typed.
const CREDIT_LINES: usize = 3;

impl DetailPage {
    /// The credit note form's refusals that are not about one line's quantity (those show
    /// on their line): the date, the whole note, a conflict.
    fn credit_errors(&self) -> Vec<&str> {
        self.refused
            .errors
            .iter()
            .filter(|(field, _)| {
                field.strip_prefix("credit").is_some_and(|rest| rest.starts_with(':'))
                    && !field.starts_with("credit:credit_qty_")
                    && !field.starts_with("credit:credit_line_")
            })
            .map(|(_, message)| message.as_str())
            .collect()
    }
}

pub async fn detail(ctx: Ctx, Path((which, id)): Path<(String, String)>) -> AppResult<Response> {
    render(&detail_page(&ctx, &which, super::path_id(&id, "invoice")?, Refused::default()).await?)
}

async fn detail_page(ctx: &Ctx, which: &str, id: i64, refused: Refused) -> AppResult<DetailPage> {
    ctx.require(invoicing::READ)?;
    let (kind, base, title) = kind_of(which)?;
    let mut conn = ctx.db().read_conn().await?;
    let invoice = invoicing::load(&mut conn, ctx.company_id(), id)
        .await?
        .filter(|i| i.kind == kind)
        .ok_or(DomainError::NotFound("invoice"))?;
    let company: String = sqlx::query("SELECT legal_name FROM companies WHERE id = $1")
        .bind(ctx.company_id())
        .fetch_one(&mut conn)
        .await?
        .try_get("legal_name")?;
    let bank = crate::chart::code(&mut conn, ctx.company_id(), crate::chart::Role::Bank).await?;
    let set_offs = invoicing::set_offs(&mut conn, ctx.company_id(), invoice.id).await?;
    let settled_by = invoicing::settled_by(&mut conn, ctx.company_id(), invoice.id).await?;
    let owes = invoice.status == "open" && invoice.credit_of.is_some() && invoice.open_amount() < 0;
    let set_off_candidates = if owes && ctx.principal.may(invoicing::PAYMENTS) {
        invoicing::set_off_candidates(&mut conn, ctx.company_id(), &invoice).await?
    } else {
        Vec::new()
    };
    let open = ["open", "partial"].contains(&invoice.status.as_str()) && invoice.credit_of.is_none();
    let advance = if open && ctx.principal.may(invoicing::PAYMENTS) {
        invoicing::advances(&mut conn, ctx.company_id(), invoice.party_id, &invoice.kind, None)
            .await?
            .iter()
            .map(|a| a.2)
            .sum()
    } else {
        0
    };
    let day_rate = match invoice.document_rate()? {
        Some(rate) => crate::fx::rate_on(&mut conn, ctx.company_id(), rate.currency, &ctx.today().to_string())
            .await?
            .unwrap_or(rate.rate)
            .to_string(),
        None => String::new(),
    };
    let (credit_rates, credit_accounts, default_account) = if invoice.opening {
        (
            offered_rates(invoicing::taxpayer(&mut conn, ctx.company_id()).await?, invoice.kind == "customer"),
            invoicing::line_accounts(&mut conn, ctx.company_id(), &invoice.kind).await?,
            invoicing::default_line_account(&mut conn, ctx.company_id(), &invoice.kind).await?,
        )
    } else {
        (Vec::new(), Vec::new(), String::new())
    };
    drop(conn);
    let heading = invoice.number.clone().unwrap_or_else(|| ctx.t("finance.status.draft"));
    Ok(DetailPage {
        page: PageCtx::new(ctx, title, base).await?.titled(format!("{} {heading}", ctx.t("finance.invoice"))),
        base,
        invoice,
        today: ctx.today().to_string(),
        can_manage: ctx.principal.may(invoicing::MANAGE),
        can_pay: ctx.principal.may(invoicing::PAYMENTS),
        company,
        bank,
        set_offs,
        settled_by,
        set_off_candidates,
        advance,
        day_rate,
        refused,
        credit_rates,
        credit_accounts,
        default_account,
    })
}

/// Posts a draft from its page; a refusal (the month is closed, the draft is on hold) shows
/// beside the button.
pub async fn post(ctx: Ctx, Path((which, id)): Path<(String, String)>, pairs: FormPairs) -> AppResult<Response> {
    let (_, base, _) = kind_of(&which)?;
    let id = super::path_id(&id, "invoice")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = invoicing::post_invoice(&mut tx, &ctx.principal, id).await.map(|_| id);
    let saved = |_| (format!("{base}/{id}"), "finance.posted_ok");
    document_form(&ctx, tx, outcome, (&which, id, "post"), pairs, saved).await
}

/// Takes back an invoice or bill carried over by mistake ([`invoicing::withdraw_carried`]),
/// going to the opening balances' page, where the voucher is corrected; or shows the
/// document again with the refusal beside the button.
pub async fn withdraw(ctx: Ctx, Path((which, id)): Path<(String, String)>, pairs: FormPairs) -> AppResult<Response> {
    kind_of(&which)?;
    let id = super::path_id(&id, "invoice")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = invoicing::withdraw_carried(&mut tx, &ctx.principal, id, false).await;
    let saved = |_| ("/finance/opening".to_string(), "finance.withdrawn_ok");
    document_form(&ctx, tx, outcome, (&which, id, "withdraw"), pairs, saved).await
}

/// Issues a credit note from the invoice's page: for the quantities typed against its lines
/// (goods returned), or, with none typed, for the whole invoice (in red ink when nothing was
/// paid yet; what was paid then stays on the note as money owed back).
pub async fn credit(ctx: Ctx, Path((which, id)): Path<(String, String)>, pairs: FormPairs) -> AppResult<Response> {
    let (_, base, _) = kind_of(&which)?;
    let id = super::path_id(&id, "invoice")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let date = pairs.text("date");
    let outcome = match invoicing::load(tx.conn(), ctx.company_id(), id).await? {
        // A document carried over: the lines typed, each refusal on its row.
        Some(invoice) if invoice.opening => {
            let (rows, typed): (Vec<usize>, Vec<InvoiceLineForm>) = (0..CREDIT_LINES)
                .map(|i| {
                    let field = |name: &str| pairs.text(&format!("credit_{name}_{i}")).trim().to_string();
                    let line = InvoiceLineForm {
                        description: field("description"),
                        quantity: field("quantity"),
                        unit_price: field("price"),
                        vat_rate: field("vat"),
                        account: field("account"),
                        ..Default::default()
                    };
                    (i, line)
                })
                .filter(|(_, l)| !(l.description.is_empty() && l.quantity.is_empty() && l.unit_price.is_empty()))
                .unzip();
            invoicing::credit_part(&mut tx, &ctx.principal, id, &date, &typed, "")
                .await
                .map_err(|e| e.on_fields(|field| note_line_field(field, &rows, "credit_line_")))
        }
        Some(invoice) => {
            // The invoice lines a quantity was typed against, in order: the note's k-th line is
            // the invoice's `rows[k]`-th, which is where its refusal shows.
            let (rows, typed): (Vec<usize>, Vec<InvoiceLineForm>) = invoice
                .lines
                .iter()
                .enumerate()
                .filter_map(|(i, line)| {
                    let quantity = pairs.text(&format!("credit_qty_{i}"));
                    (!quantity.trim().is_empty()).then(|| (i, invoicing::credit_line(&invoice, line, quantity.trim())))
                })
                .unzip();
            if !typed.is_empty() {
                invoicing::credit_part(&mut tx, &ctx.principal, id, &date, &typed, "")
                    .await
                    .map_err(|e| e.on_fields(|field| note_line_field(field, &rows, "credit_qty_")))
            } else if invoice.document_figures().3 == 0 {
                invoicing::credit_note(&mut tx, &ctx.principal, id, &date).await
            } else {
                let all: Vec<InvoiceLineForm> = invoice
                    .lines
                    .iter()
                    .map(|l| invoicing::credit_line(&invoice, l, &kernel::Qty::from_scaled(l.quantity).to_string()))
                    .collect();
                invoicing::credit_part(&mut tx, &ctx.principal, id, &date, &all, "").await
            }
        }
        None => Err(DomainError::NotFound("invoice").into()),
    };
    let saved = |note| (format!("{base}/{note}"), "finance.posted_ok");
    document_form(&ctx, tx, outcome, (&which, id, "credit"), pairs, saved).await
}

/// The field of the invoice's page a refusal of the credit note's k-th line belongs to: the
/// form row it came from (`rows[k]`), named `{prefix}{row}`: the quantity typed against an
/// invoice line (`credit_qty_`), or a typed line of a document carried over (`credit_line_`).
fn note_line_field(field: &str, rows: &[usize], prefix: &str) -> Option<String> {
    let k: usize = field.strip_prefix("lines[")?.split(']').next()?.parse().ok()?;
    rows.get(k).map(|i| format!("{prefix}{i}"))
}

/// Refunds what a credit note owes, from its page.
pub async fn refund(ctx: Ctx, Path((which, id)): Path<(String, String)>, pairs: FormPairs) -> AppResult<Response> {
    kind_of(&which)?;
    let id = super::path_id(&id, "invoice")?;
    let form = invoicing::RefundForm {
        date: pairs.text("date"),
        amount: pairs.text("amount"),
        bank_account: pairs.text("bank_account"),
        memo: String::new(),
        rate: pairs.text("rate"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = invoicing::refund(&mut tx, &ctx.principal, id, &form).await;
    saved(&ctx, tx, outcome, (&which, id, "refund"), pairs).await
}

/// Commits a form sent from a document's page and goes back to that page.
async fn saved<T>(
    ctx: &Ctx,
    tx: db::Tx,
    outcome: db::Result<T>,
    (which, id, form): (&str, i64, &str),
    pairs: FormPairs,
) -> AppResult<Response> {
    let (_, base, _) = kind_of(which)?;
    let saved = |_| (format!("{base}/{id}"), "common.saved");
    document_form(ctx, tx, outcome, (which, id, form), pairs, saved).await
}

/// Ends a form sent from a document's page: stored, the browser goes where `saved` says;
/// refused, the document's page shows again (422) with each message beside its field and the
/// values as they were sent, and nothing is stored.
async fn document_form<T>(
    ctx: &Ctx,
    tx: db::Tx,
    outcome: db::Result<T>,
    (which, id, form): (&str, i64, &str),
    pairs: FormPairs,
    saved: impl FnOnce(T) -> (String, &'static str),
) -> AppResult<Response> {
    finish_form(ctx, tx, outcome, saved, async |errors| {
        detail_page(ctx, which, id, Refused::new(ctx, form, errors, pairs)).await
    })
    .await
}

/// Undoes a receipt, payment or refund that settled this document ([`invoicing::cancel_payment`])
/// from the document's page, which shows it open again; a refusal shows beside the list of
/// what settled it.
pub async fn cancel_payment(
    ctx: Ctx,
    Path((which, id, payment)): Path<(String, String, String)>,
    pairs: FormPairs,
) -> AppResult<Response> {
    let (_, base, _) = kind_of(&which)?;
    let id = super::path_id(&id, "invoice")?;
    let payment = super::path_id(&payment, "payment")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    // Only one that settled this document is undone from its page.
    let settled_it = tx
        .fetch_optional(
            sqlx::query("SELECT 1 AS one FROM fin_allocations WHERE payment_id = $1 AND invoice_id = $2")
                .bind(payment)
                .bind(id),
        )
        .await?
        .is_some();
    let outcome = match settled_it {
        true => invoicing::cancel_payment(&mut tx, &ctx.principal, payment).await,
        false => Err(DomainError::NotFound("payment").into()),
    };
    let outcome = super::gone_as_refusal(outcome);
    let saved = |_| (format!("{base}/{id}"), "finance.payment_cancelled_ok");
    document_form(&ctx, tx, outcome, (&which, id, "cancel"), pairs, saved).await
}

/// Sets what a credit note owes off against an open invoice, from the note's page.
pub async fn set_off(ctx: Ctx, Path((which, id)): Path<(String, String)>, pairs: FormPairs) -> AppResult<Response> {
    kind_of(&which)?;
    let id = super::path_id(&id, "invoice")?;
    let form = invoicing::SetOffForm {
        invoice_id: pairs.get("invoice_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        date: pairs.text("date"),
        amount: pairs.text("amount"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = invoicing::set_off(&mut tx, &ctx.principal, id, &form).await;
    saved(&ctx, tx, outcome, (&which, id, "set_off"), pairs).await
}

/// Records a receipt (payment) of this invoice from its page, in the invoice's currency.
/// Whatever is more than the open amount is kept as the party's advance, as a customer who
/// pays a round sum expects (in CNY; a foreign-currency receipt is refused for it).
pub async fn pay(ctx: Ctx, Path((which, id)): Path<(String, String)>, pairs: FormPairs) -> AppResult<Response> {
    let (kind, _, _) = kind_of(&which)?;
    let id = super::path_id(&id, "invoice")?;
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let invoice = invoicing::load(tx.conn(), ctx.company_id(), id).await?;
    let (open, currency) = invoice.as_ref().map_or((0, "CNY"), |i| (i.document_open(), i.currency()));
    let unit = kernel::Currency::from_code(currency).unwrap_or(kernel::Currency::CNY);
    let typed = pairs.text("amount");
    let allocation = match kernel::Money::parse(&typed, unit) {
        Ok(amount) if amount.minor() > open => kernel::Money::from_minor(open, unit).to_string(),
        _ => typed.clone(),
    };
    let form = PaymentForm {
        kind: if kind == "customer" { "receipt" } else { "payment" }.into(),
        party_id: pairs.get("party_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        date: pairs.text("date"),
        amount: typed,
        bank_account: pairs.text("bank_account"),
        allocations: Some(vec![invoicing::AllocationForm { invoice_id: id, amount: allocation }]),
        memo: String::new(),
        currency: currency.to_string(),
        rate: pairs.text("rate"),
    };
    let outcome = invoicing::record_payment(&mut tx, &ctx.principal, &form).await;
    saved(&ctx, tx, outcome, (&which, id, "pay"), pairs).await
}

/// Applies the party's advance to this invoice, from its page.
pub async fn apply_advance(
    ctx: Ctx,
    Path((which, id)): Path<(String, String)>,
    pairs: FormPairs,
) -> AppResult<Response> {
    kind_of(&which)?;
    let id = super::path_id(&id, "invoice")?;
    let form = invoicing::ApplyAdvanceForm { date: pairs.text("date"), amount: pairs.text("amount") };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = invoicing::apply_advance(&mut tx, &ctx.principal, id, &form).await;
    saved(&ctx, tx, outcome, (&which, id, "advance"), pairs).await
}

#[derive(Template)]
#[template(path = "finance/ageing.html")]
struct AgeingPage {
    page: PageCtx,
    kind: String,
    date: String,
    rows: Vec<AgeingRow>,
    totals: [i64; 5],
    /// A date that could not be read, shown beside its field.
    errors: Vec<(String, String)>,
    /// The party whose figure was opened, with the documents behind it: those of one bucket,
    /// or (its total opened) all.
    opened: Option<Opened>,
    /// The currency the report is in: CNY for every document at the ledger's figures, or a
    /// foreign one for the documents written in it.
    currency: kernel::Currency,
}

impl AgeingPage {
    /// An amount of the report's currency as shown; blank for zero, as money columns are.
    fn amount(&self, minor: &i64) -> String {
        if *minor == 0 {
            String::new()
        } else {
            kernel::Money::from_minor(*minor, self.currency).to_string()
        }
    }

    /// The report's currency as its links carry it: nothing for CNY.
    fn currency_param(&self) -> String {
        if self.is_in("CNY") {
            String::new()
        } else {
            format!("&currency={}", self.currency.code())
        }
    }

    /// Whether the report is in `code`.
    fn is_in(&self, code: &str) -> bool {
        self.currency.code() == code
    }

    /// The currencies the report may be asked in.
    fn currencies(&self) -> [&'static str; 5] {
        ["CNY", "USD", "EUR", "HKD", "JPY"]
    }
}

/// One party's figure of the ageing taken apart.
struct Opened {
    name: String,
    bucket: Option<usize>,
    documents: Vec<invoicing::AgeingDocument>,
    /// Where a document's page is: `/finance/invoices` or `/finance/bills`.
    base: &'static str,
}

impl Opened {
    fn total(&self) -> i64 {
        self.documents.iter().map(|d| d.open).sum()
    }
}

#[derive(Deserialize)]
pub struct AgeingQuery {
    kind: Option<String>,
    date: Option<String>,
    /// `csv` or `xlsx` downloads the report.
    format: Option<String>,
    /// A figure opened: its party, and its bucket (0–3; none for the party's total).
    party_id: Option<String>,
    bucket: Option<String>,
    /// A foreign currency: the documents written in it, in it.
    currency: Option<String>,
}

pub async fn ageing(ctx: Ctx, Query(q): Query<AgeingQuery>) -> AppResult<Response> {
    ctx.require(invoicing::READ)?;
    let kind = if q.kind.as_deref() == Some("payable") { "payable" } else { "receivable" }.to_string();
    let date = q.date.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| ctx.today().to_string());
    let party_id = q.party_id.as_deref().and_then(|p| p.parse::<i64>().ok());
    let bucket = q.bucket.as_deref().and_then(|b| b.parse::<usize>().ok()).filter(|b| *b < 4);
    let asked = super::asked_currency(q.currency.as_deref());
    let currency = *asked.as_ref().unwrap_or(&kernel::Currency::CNY);
    let read: AppResult<_> = async {
        let currency = asked?;
        let mut conn = ctx.db().read_conn().await?;
        let rows = invoicing::ageing(&mut conn, ctx.company_id(), &kind, &date, currency).await?;
        let opened = match party_id.and_then(|id| rows.iter().find(|r| r.party_id == id)) {
            Some(row) => {
                let mut documents =
                    invoicing::ageing_documents(&mut conn, ctx.company_id(), &kind, &date, row.party_id, currency)
                        .await?;
                documents.retain(|d| bucket.is_none_or(|b| d.bucket == b));
                let base = if kind == "payable" { "/finance/bills" } else { "/finance/invoices" };
                Some(Opened { name: row.party_name.clone(), bucket, documents, base })
            }
            None => None,
        };
        Ok((rows, opened))
    }
    .await;
    let (rows, opened, errors) = match figures_or_refusal(&ctx, read)? {
        Ok((rows, opened)) => (rows, opened, Vec::new()),
        Err(errors) => (Vec::new(), None, errors),
    };
    let mut totals = [0i64; 5];
    for r in &rows {
        for (i, b) in r.buckets.iter().enumerate() {
            totals[i] += b;
        }
        totals[4] += r.total;
    }
    if let Some(format) = q.format.as_deref().filter(|f| errors.is_empty() && (*f == "csv" || *f == "xlsx")) {
        let header: Vec<String> = [
            "finance.party",
            "finance.bucket.0",
            "finance.bucket.1",
            "finance.bucket.2",
            "finance.bucket.3",
            "finance.total",
        ]
        .iter()
        .map(|k| ctx.t(k))
        .collect();
        let amount = |minor: i64| crate::domain::decimal_text(minor, currency);
        let data: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut row = vec![r.party_name.clone()];
                row.extend(r.buckets.iter().chain([&r.total]).map(|b| amount(*b)));
                row
            })
            .collect();
        let name = match currency {
            kernel::Currency::CNY => format!("ageing-{kind}-{date}"),
            foreign => format!("ageing-{kind}-{date}-{}", foreign.code()),
        };
        return web::page::download(format, &name, &header, &data);
    }
    let page = PageCtx::new(&ctx, "finance.ageing", "/finance/reports/ageing").await?.as_report(date.clone(), "");
    let refused = !errors.is_empty();
    web::page::render_answer(&AgeingPage { page, kind, date, rows, totals, errors, opened, currency }, refused)
}

#[derive(Template)]
#[template(path = "finance/party_statement.html")]
struct StatementPage {
    page: PageCtx,
    party_id: i64,
    party_name: String,
    from: String,
    to: String,
    opening: i64,
    lines: Vec<invoicing::StatementLine>,
    closing: i64,
    /// Dates that could not be read, by field, shown beside them.
    errors: Vec<(String, String)>,
    /// The currency the statement is in, and those the party has documents in.
    currency: kernel::Currency,
    currencies: Vec<String>,
}

impl StatementPage {
    /// An amount of the statement's currency as shown; blank for zero, as money columns are.
    fn amount(&self, minor: &i64) -> String {
        if *minor == 0 {
            String::new()
        } else {
            kernel::Money::from_minor(*minor, self.currency).to_string()
        }
    }
}

#[derive(Deserialize)]
pub struct StatementQuery {
    pub(super) party_id: Option<i64>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    /// `csv` or `xlsx` downloads the statement (the page's).
    format: Option<String>,
    /// A foreign currency: the statement of the documents written in it, in it.
    currency: Option<String>,
}

impl StatementQuery {
    /// The currency asked for: CNY unless a known foreign one is named.
    pub fn currency(&self) -> Result<kernel::Currency, AppError> {
        super::asked_currency(self.currency.as_deref())
    }
}

/// The statement of account of one customer or supplier, printable.
pub async fn party_statement(ctx: Ctx, Query(q): Query<StatementQuery>) -> AppResult<Response> {
    ctx.require(invoicing::READ)?;
    let party_id = q.party_id.ok_or(AppError::NotFound)?;
    let to = q.to.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| ctx.today().to_string());
    let from =
        q.from.clone().filter(|d| !d.is_empty()).unwrap_or_else(|| format!("{}-01-01", to.get(..4).unwrap_or("")));
    let party_name: String = sqlx::query("SELECT name FROM parties WHERE company_id = $1 AND id = $2")
        .bind(ctx.company_id())
        .bind(party_id)
        .fetch_optional(ctx.db().reader())
        .await?
        .ok_or(AppError::NotFound)?
        .try_get("name")?;
    let currency = q.currency()?;
    let currencies = invoicing::party_currencies(&mut ctx.db().read_conn().await?, ctx.company_id(), party_id).await?;
    let read: AppResult<_> = async {
        let mut conn = ctx.db().read_conn().await?;
        Ok(invoicing::party_statement(&mut conn, ctx.company_id(), party_id, &from, &to, currency).await?)
    }
    .await;
    let ((opening, lines), errors) = match figures_or_refusal(&ctx, read)? {
        Ok(figures) => (figures, Vec::new()),
        Err(errors) => ((0, Vec::new()), errors),
    };
    let closing = lines.last().map(|l| l.balance).unwrap_or(opening);
    let amount = |minor: i64| crate::domain::decimal_text(minor, currency);
    if let Some(format) = q.format.as_deref().filter(|f| errors.is_empty() && (*f == "csv" || *f == "xlsx")) {
        let header: Vec<String> =
            ["finance.date", "finance.invoice_number", "finance.charge", "finance.paid", "finance.balance"]
                .iter()
                .map(|k| ctx.t(k))
                .collect();
        let edge = |label: &str, balance: i64| {
            vec![String::new(), ctx.t(label), String::new(), String::new(), amount(balance)]
        };
        let mut data = vec![edge("finance.opening", opening)];
        data.extend(lines.iter().map(|l| {
            let document = format!("{} {}", ctx.t(&format!("finance.doc.{}", l.kind)), l.number);
            vec![l.date.clone(), document, amount(l.charge), amount(l.credit), amount(l.balance)]
        }));
        data.push(edge("finance.closing", closing));
        return web::page::download(format, &format!("statement-{party_id}-{from}-{to}"), &header, &data);
    }
    let page = PageCtx::new(&ctx, "finance.party_statement", "/finance/reports/ageing")
        .await?
        .titled(format!("{} · {party_name}", ctx.t("finance.party_statement")));
    let refused = !errors.is_empty();
    web::page::render_answer(
        &StatementPage { page, party_id, party_name, from, to, opening, lines, closing, errors, currency, currencies },
        refused,
    )
}

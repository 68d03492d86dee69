//! Customer invoices and supplier bills, credit notes, receipts and payments. Each posts its
//! voucher through the ledger in the same transaction:
//! - invoice: Dr 1122 total / Cr revenue (6001 …) net / Cr 22210102 销项税额 tax, and the tax of
//!   lines at the simplified method's rates Cr 222107 简易计税 (or the books' own code for it);
//! - bill: Dr stock or expense (1405 …) net / Dr 22210101 进项税额 tax / Cr 2202 total;
//! - credit note: the invoice's voucher in red ink (negated), settling the invoice;
//! - receipt: Dr bank / Cr 1122 for what is allocated / Cr 2203 预收账款 for the rest;
//! - payment: Dr 2202 allocated / Dr 1123 预付账款 the rest / Cr bank.
//!
//! An invoice goes open → partial → paid as receipts are allocated to it.

use crate::chart::{self, Role, Template};
use crate::domain::{self, Entry, Line};
use crate::fx::{self, DocumentRate};
use crate::service;
use crate::vat::{self, InvoiceLine, InvoiceLineForm, Taxpayer, VatRounding};
use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::{Currency, DomainError, Money};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const READ: &str = "finance.invoice.read";
pub const MANAGE: &str = "finance.invoice.manage";
pub const PAYMENTS: &str = "finance.payment.manage";

/// An invoice or bill as entered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceForm {
    /// `customer` (sales invoice) or `supplier` (purchase bill).
    pub kind: String,
    pub party_id: i64,
    pub date: String,
    /// Default: 30 days after the date.
    #[serde(default)]
    pub due_date: Option<String>,
    #[serde(default)]
    pub tax_inclusive: bool,
    /// Absent: the company's setting.
    #[serde(default)]
    pub vat_rounding: Option<VatRounding>,
    #[serde(default)]
    pub memo: String,
    /// The currency the invoice is written in and its lines priced in: empty or `CNY`, or
    /// USD, EUR, HKD, JPY (see [`crate::fx`]).
    #[serde(default)]
    pub currency: String,
    /// For a foreign currency: its rate to CNY, at most six decimals (`7.1`).
    #[serde(default)]
    pub rate: String,
    pub lines: Vec<InvoiceLineForm>,
}

/// A stored invoice with its lines.
#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    pub id: i64,
    pub kind: String,
    pub party_id: i64,
    pub party_name: String,
    pub number: Option<String>,
    pub status: String,
    pub credit_of: Option<i64>,
    pub date: String,
    pub due_date: String,
    pub tax_inclusive: bool,
    /// How its VAT was rounded; its credit notes round the same way.
    pub vat_rounding: VatRounding,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub settled: i64,
    pub entry_id: Option<i64>,
    pub memo: String,
    /// Why the draft may not be posted yet (a bill that does not match its order), if held.
    pub hold_reason: Option<String>,
    /// Carried over open from the books kept before these, with the opening balances: it has
    /// no lines, its voucher is the opening one, and it cannot be credited here.
    pub opening: bool,
    /// For an invoice written in a foreign currency: its figures in it. Its lines are in it
    /// too; `net`, `tax`, `total` and `settled` above are the ledger's CNY.
    pub foreign: Option<ForeignFigures>,
    pub lines: Vec<InvoiceLine>,
}

/// What an invoice written in a foreign currency amounts to in that currency.
#[derive(Debug, Clone, Serialize)]
pub struct ForeignFigures {
    pub currency: String,
    /// Its rate to CNY, as the invoice was written.
    pub rate: String,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
    pub settled: i64,
}

impl Invoice {
    /// What is still owed, in CNY.
    pub fn open_amount(&self) -> i64 {
        self.total - self.settled
    }

    /// The currency and rate of an invoice written in a foreign currency; none for CNY.
    pub fn document_rate(&self) -> std::result::Result<Option<DocumentRate>, DomainError> {
        self.foreign.as_ref().map(|f| DocumentRate::stored(&f.currency, &f.rate)).transpose()
    }

    /// The invoice's figures in the currency it is written in: net, tax, total, settled.
    pub fn document_figures(&self) -> (i64, i64, i64, i64) {
        match &self.foreign {
            Some(f) => (f.net, f.tax, f.total, f.settled),
            None => (self.net, self.tax, self.total, self.settled),
        }
    }

    /// What is still owed, in the currency the invoice is written in.
    pub fn document_open(&self) -> i64 {
        let (_, _, total, settled) = self.document_figures();
        total - settled
    }

    /// The currency the invoice is written in: `CNY` or the foreign one.
    pub fn currency(&self) -> &str {
        self.foreign.as_ref().map_or("CNY", |f| f.currency.as_str())
    }

    /// An amount of the invoice's currency as shown (`1,234.50`; yen without decimals).
    pub fn amount_text(&self, amount: &i64) -> String {
        let currency = self.foreign.as_ref().and_then(|f| kernel::Currency::from_code(&f.currency));
        Money::from_minor(*amount, currency.unwrap_or(Currency::CNY)).to_string()
    }
}

/// Where a line without an account of its own goes: sales revenue on a customer invoice,
/// merchandise on a supplier bill.
fn default_account(template: Template, kind: &str) -> &'static str {
    template.code(if kind == "customer" { Role::Revenue } else { Role::Inventory })
}

/// The account a line of a document of `kind` naming none goes to, in the company's chart.
pub async fn default_line_account(conn: &mut db::Conn, company: i64, kind: &str) -> Result<String> {
    Ok(default_account(chart::template(conn, company).await?, kind).to_string())
}

/// Checks that the party of a document exists, is not archived and is a customer (a supplier
/// for a bill `kind`), adding a problem otherwise; returns its name.
pub async fn check_party(
    tx: &mut Tx,
    company: i64,
    party_id: i64,
    kind: &str,
    problems: &mut Problems,
) -> Result<Option<String>> {
    Ok(party_and_chart(tx, company, party_id, kind, problems).await?.0)
}

/// [`check_party`], and the chart template of the company's books in the same call.
async fn party_and_chart(
    tx: &mut Tx,
    company: i64,
    party_id: i64,
    kind: &str,
    problems: &mut Problems,
) -> Result<(Option<String>, Template, VatRounding, Taxpayer)> {
    let role = if kind == "supplier" { "supplier" } else { "customer" };
    // One row whether or not the party exists: its name is null when it does not.
    let row = tx
        .fetch_one(
            sqlx::query(
                "SELECT b.template, b.vat_rounding, b.taxpayer, p.name, \
                 EXISTS (SELECT 1 FROM party_roles r WHERE r.party_id = p.id AND r.role = $3) AS has_role \
                 FROM (SELECT 1 AS one) here LEFT JOIN fin_books b ON b.company_id = $1 \
                 LEFT JOIN parties p ON p.company_id = $1 AND p.id = $2 AND p.archived_at IS NULL",
            )
            .bind(company)
            .bind(party_id)
            .bind(role),
        )
        .await?;
    let template = chart::stored_template(row.try_get("template")?)?;
    let rounding = VatRounding::from_key(&row.try_get::<Option<String>, _>("vat_rounding")?.unwrap_or_default());
    let taxpayer = Taxpayer::from_key(&row.try_get::<Option<String>, _>("taxpayer")?.unwrap_or_default());
    let name: Option<String> = row.try_get("name")?;
    if name.is_none() {
        problems.add("party_id", "error.finance.party", party_id.to_string());
    } else if !db::flag(&row, "has_role")? {
        problems.add(
            "party_id",
            if role == "supplier" { "error.finance.not_supplier" } else { "error.finance.not_customer" },
            party_id.to_string(),
        );
    }
    Ok((name, template, rounding, taxpayer))
}

/// A text setting of the company's books (`column` of `fin_books`, named by this crate); none
/// before the books are set up.
async fn books_setting(conn: &mut db::Conn, company: i64, column: &'static str) -> Result<String> {
    let sql = format!("SELECT {column} AS setting FROM fin_books WHERE company_id = $1");
    let row = sqlx::query(&sql).bind(company).fetch_optional(conn).await?;
    Ok(row.map(|r| r.try_get::<String, _>("setting")).transpose()?.unwrap_or_default())
}

/// Whether the company is a general or a small-scale VAT taxpayer (general unless it said so).
pub async fn taxpayer(conn: &mut db::Conn, company: i64) -> Result<Taxpayer> {
    Ok(Taxpayer::from_key(&books_setting(conn, company, "taxpayer").await?))
}

/// Sets whether the company is a general or a small-scale taxpayer, for the documents posted
/// from now on: those posted keep the vouchers they have, and a credit note follows its
/// invoice. The VAT of the months still open is reckoned by the kind of taxpayer as it is now,
/// so the change is refused, beside it, while an open month holds posted invoices, bills or
/// VAT vouchers: the accountant closes those months first. Audited.
pub async fn set_taxpayer(tx: &mut Tx, principal: &Principal, taxpayer: Taxpayer) -> Result<()> {
    principal.authorize(crate::permissions::ACCOUNTS)?;
    let company = principal.company_id.0;
    let before = self::taxpayer(tx.conn(), company).await?;
    if before == taxpayer {
        return Ok(());
    }
    let open = tx
        .fetch_one(
            sqlx::query(
                "SELECT MIN(e.period) AS period FROM fin_entries e JOIN fin_periods p ON p.company_id = e.company_id \
                 AND p.period = e.period WHERE e.company_id = $1 AND p.status = 'open' AND e.status = 'posted' \
                 AND e.kind IN ('invoice', 'credit_note', 'vat_transfer', 'vat_exemption', 'surtax_accrual', 'tax_payment')",
            )
            .bind(company),
        )
        .await?;
    if let Some(period) = open.try_get::<Option<String>, _>("period")? {
        return Err(DomainError::invalid("taxpayer", "error.finance.taxpayer_open_month", period).into());
    }
    let changes = json!({"taxpayer": [before.key(), taxpayer.key()]});
    chart::update_books(tx, company, "taxpayer = $1", vec![taxpayer.key().to_string().into()], "taxpayer", changes)
        .await
}

/// Refuses, beside each line, a sale at a rate the company may not charge: a small-scale
/// taxpayer charges the collection rates or sells exempt. Lines whose rate is no rate at all
/// are refused by [`vat::compute`].
fn check_rates_charged(taxpayer: Taxpayer, kind: &str, lines: &[InvoiceLineForm], problems: &mut Problems) {
    if kind != "customer" {
        return;
    }
    for (i, line) in lines.iter().enumerate() {
        if let Some(rate) = vat::rate_typed(&line.vat_rate) {
            taxpayer.check_charged(&format!("lines[{i}]"), rate, problems);
        }
    }
}

/// Checks the accounts a document's lines name (a line naming none goes to the revenue or
/// stock account; a blank line, which [`vat::compute`] skips, is not checked): each must
/// exist, be in use and have no sub-accounts, and fit the document ([`fits_line`]). Each
/// refusal is on its line (`lines[i]`).
async fn check_line_accounts(
    tx: &mut Tx,
    company: i64,
    template: Template,
    kind: &str,
    lines: &[InvoiceLineForm],
    problems: &mut Problems,
) -> Result<()> {
    let named: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.is_blank())
        .map(|(i, l)| (i, l.account.trim()))
        .filter(|(_, code)| !code.is_empty())
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let mut q = db::SqlBuilder::new(
        "SELECT a.code, a.class, a.normal_side, a.archived_at, EXISTS (SELECT 1 FROM fin_accounts c WHERE c.parent_id = a.id) AS has_children \
         FROM fin_accounts a WHERE a.company_id = ",
    );
    q.bind(company).push(" AND a.code IN ").bind_list(named.iter().map(|(_, code)| *code));
    let mut found = std::collections::BTreeMap::new();
    for r in tx.fetch_all(q.build()).await? {
        let archived = r.try_get::<Option<String>, _>("archived_at")?.is_some();
        found.insert(
            r.try_get::<String, _>("code")?,
            (
                (r.try_get::<String, _>("class")?, r.try_get::<String, _>("normal_side")?),
                archived,
                db::flag(&r, "has_children")?,
            ),
        );
    }
    for (i, code) in named {
        let field = format!("lines[{i}]");
        match found.get(code) {
            None => problems.add(&field, "error.finance.unknown_account", code),
            Some((_, true, _)) => problems.add(&field, "error.finance.archived_account", code),
            Some((_, _, true)) => problems.add(&field, "error.finance.parent_account", code),
            Some(((class, side), _, _)) if !fits_line(template, kind, code, class, side) => {
                let message = if kind == "customer" {
                    "error.finance.sale_line_account"
                } else {
                    "error.finance.bill_line_account"
                };
                problems.add(&field, message, code)
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Whether an account of `class`, normally on `side`, may take a line of a document of `kind`.
/// A sale's lines are income (主营业务收入, 其他业务收入, …), or 固定资产清理 when a used
/// machine is sold. A bill's are what was bought: stock, fixed assets, costs or expenses, on
/// the debit side (never a contra account such as 累计折旧 or 坏账准备), and never under an
/// account the document itself settles through (money, receivables, prepayments, with their
/// sub-accounts), which would put a debt in two places and leave the party's balance wrong.
fn fits_line(template: Template, kind: &str, code: &str, class: &str, side: &str) -> bool {
    if kind == "customer" {
        return class == "income" || template.fixed_asset_disposal().is_some_and(|disposal| code.starts_with(disposal));
    }
    let settled_through = [Role::Cash, Role::Bank, Role::OtherMonetaryFunds, Role::Receivable, Role::SupplierAdvance];
    ["asset", "cost", "expense"].contains(&class)
        && side == "debit"
        && !settled_through.iter().any(|role| code.starts_with(template.code(*role)))
}

/// The accounts a line of a document of `kind` may name, for its form to offer: in use,
/// without sub-accounts, fitting the document.
pub async fn line_accounts(conn: &mut db::Conn, company: i64, kind: &str) -> Result<Vec<service::Account>> {
    let template = chart::template(conn, company).await?;
    let accounts = service::accounts(conn, company).await?;
    let parents: std::collections::BTreeSet<&str> = accounts.iter().filter_map(|a| a.parent_code.as_deref()).collect();
    let usable = |a: &&service::Account| {
        !a.archived
            && !parents.contains(a.code.as_str())
            && fits_line(template, kind, &a.code, &a.class, &a.normal_side)
    };
    Ok(accounts.iter().filter(usable).cloned().collect())
}

/// The company's VAT rounding (per line unless it chose per document).
pub async fn vat_rounding(conn: &mut db::Conn, company: i64) -> Result<VatRounding> {
    Ok(VatRounding::from_key(&books_setting(conn, company, "vat_rounding").await?))
}

/// Sets the company's VAT rounding for the documents it issues from now on (those already
/// saved keep theirs). Audited.
pub async fn set_vat_rounding(tx: &mut Tx, principal: &Principal, rounding: VatRounding) -> Result<()> {
    principal.authorize(crate::permissions::ACCOUNTS)?;
    let company = principal.company_id.0;
    let before = vat_rounding(tx.conn(), company).await?;
    let changes = json!({"vat_rounding": [before.key(), rounding.key()]});
    chart::update_books(
        tx,
        company,
        "vat_rounding = $1",
        vec![rounding.key().to_string().into()],
        "vat_rounding",
        changes,
    )
    .await
}

/// The lines with what their catalog products fill in where a line left it empty: the
/// description (code and name), the VAT rate (on a customer invoice the rate the company
/// charges for it, `sold_at`) and, on a customer invoice, the sale price. A
/// product that is unknown or archived is refused on its line. Lines without a product, as
/// every line of a form before products were offered, cost no query.
async fn with_products(
    tx: &mut Tx,
    company: i64,
    kind: &str,
    foreign: bool,
    lines: &[InvoiceLineForm],
    sold_at: &(dyn Fn(i64) -> i64 + Sync),
    problems: &mut Problems,
) -> Result<Vec<InvoiceLineForm>> {
    let wanted: Vec<i64> = lines.iter().filter_map(|l| l.product_id).collect();
    if wanted.is_empty() {
        return Ok(lines.to_vec());
    }
    let mut q = db::SqlBuilder::new(
        "SELECT id, code, name, vat_rate_bp, sale_price FROM cat_products WHERE archived_at IS NULL AND company_id = ",
    );
    q.bind(company).push(" AND id IN ").bind_list(wanted.iter().copied());
    let mut products = std::collections::BTreeMap::new();
    for r in tx.fetch_all(q.build()).await? {
        let id: i64 = r.try_get("id")?;
        let name = format!("{} {}", r.try_get::<String, _>("code")?, r.try_get::<String, _>("name")?);
        products.insert(id, (name, r.try_get::<i64, _>("vat_rate_bp")?, r.try_get::<i64, _>("sale_price")?));
    }
    let mut filled = lines.to_vec();
    for (i, line) in filled.iter_mut().enumerate() {
        let Some(id) = line.product_id else { continue };
        let Some((name, vat_bp, sale_price)) = products.get(&id) else {
            problems.add(&format!("lines[{i}]"), "error.finance.product", id.to_string());
            continue;
        };
        if line.description.trim().is_empty() {
            line.description = name.clone();
        }
        if line.vat_rate.trim().is_empty() {
            // A sale at the rate the company charges for it (a small-scale taxpayer's
            // collection rate for goods kept at 13 %); a purchase at the product's.
            line.vat_rate = kernel::vat::choice(if kind == "customer" { sold_at(*vat_bp) } else { *vat_bp });
        }
        // A sale price is in yuan: an invoice in another currency names its own.
        if line.unit_price.trim().is_empty() && kind == "customer" {
            if foreign {
                problems.add(&format!("lines[{i}]"), "error.finance.foreign_price", name);
            } else {
                line.unit_price = domain::yuan(*sale_price);
            }
        }
    }
    Ok(filled)
}

/// Saves a draft invoice or bill with its computed lines.
pub async fn create_invoice(tx: &mut Tx, principal: &Principal, form: &InvoiceForm) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let mut problems = Problems::default();
    if form.kind != "customer" && form.kind != "supplier" {
        problems.add("kind", "error.finance.invoice_kind", &form.kind);
    }
    let date = problems.check(kernel::dates::parse("date", &form.date));
    let due = match form.due_date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => match kernel::dates::parse("due_date", d) {
            Ok(due) if date.is_none_or(|date| due >= date) => Some(due),
            Ok(_) => {
                problems.add("due_date", "error.finance.due_before_date", d);
                None
            }
            Err(_) => {
                problems.add("due_date", "error.date.format", d);
                None
            }
        },
        None => date.map(|d| d + chrono::Duration::days(30)),
    };
    if form.memo.chars().count() > 200 {
        problems.add("memo", "error.too_long", "200");
    }
    let written_in = fx::document_rate(tx.conn(), company, &form.currency, &form.rate, date, &mut problems).await?;
    let (_, template, company_rounding, taxpayer) =
        party_and_chart(tx, company, form.party_id, &form.kind, &mut problems).await?;
    let rounding = form.vat_rounding.unwrap_or(company_rounding);
    let sold_at = |rate_bp: i64| taxpayer.rate_charged(rate_bp, &form.date);
    let lines =
        with_products(tx, company, &form.kind, written_in.is_some(), &form.lines, &sold_at, &mut problems).await?;
    check_rates_charged(taxpayer, &form.kind, &lines, &mut problems);
    check_line_accounts(tx, company, template, &form.kind, &lines, &mut problems).await?;
    let tags = lines.iter().map(|l| (l.cost_center.trim(), l.project.trim()));
    crate::dimensions::check_listed(tx, company, tags, &mut problems).await?;
    let unit = written_in.map_or(Currency::CNY, |r| r.currency);
    let computed = match vat::compute(&lines, form.tax_inclusive, rounding, default_account(template, &form.kind), unit)
    {
        Ok(c) => Some(c),
        Err(DomainError::Invalid(errors)) => {
            problems.0.extend(errors);
            None
        }
        Err(e) => return Err(e.into()),
    };
    problems.finish()?;
    let (Some(date), Some(due), Some((lines, document_totals))) = (date, due, computed) else {
        return Err(DomainError::Internal("validated input is incomplete".into()).into());
    };
    let totals = match &written_in {
        Some(rate) => in_ledger(rate, document_totals)?,
        None => document_totals,
    };
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let rounding = rounding.key();
    let id: i64 = tx.fetch_one(
        sqlx::query(
            "INSERT INTO fin_invoices (company_id, kind, party_id, status, invoice_date, due_date, tax_inclusive, vat_rounding, net, tax, total, memo, created_at, created_by) \
             VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(company)
        .bind(&form.kind)
        .bind(form.party_id)
        .bind(date.to_string())
        .bind(due.to_string())
        .bind(i64::from(form.tax_inclusive))
        .bind(rounding)
        .bind(totals.net)
        .bind(totals.tax)
        .bind(totals.total)
        .bind(form.memo.trim())
        .bind(&now)
        .bind(user),
    )
    .await?
    .try_get("id")?;
    insert_lines(tx, id, &lines).await?;
    let mut audited = json!({"kind": [null, form.kind], "party_id": [null, form.party_id], "total": [null, domain::yuan(totals.total)]});
    if let Some(rate) = &written_in {
        insert_foreign(tx, id, rate, document_totals).await?;
        audited["currency"] = json!([null, rate.code()]);
        audited["rate"] = json!([null, rate.rate_text()]);
        audited["foreign_total"] = json!([null, crate::domain::decimal_text(document_totals.total, rate.currency)]);
    }
    tx.audit("create", "finance.invoice", Some(&id.to_string()), &audited).await?;
    Ok(id)
}

/// A document's totals in its foreign currency, in the ledger's CNY at its rate: the total and
/// the tax each rounded once, the net what is left, so the voucher balances.
fn in_ledger(rate: &DocumentRate, totals: vat::Totals) -> Result<vat::Totals> {
    let total = rate.in_cny(totals.total)?;
    let tax = rate.in_cny(totals.tax)?;
    Ok(vat::Totals { net: total - tax, tax, total })
}

/// Keeps the figures of an invoice (credit note) written in a foreign currency.
async fn insert_foreign(tx: &mut Tx, invoice: i64, rate: &DocumentRate, totals: vat::Totals) -> Result<()> {
    tx.execute(
        sqlx::query(
            "INSERT INTO fin_invoice_currency (invoice_id, currency, rate, net, tax, total) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(invoice)
        .bind(rate.code())
        .bind(rate.rate_text())
        .bind(totals.net)
        .bind(totals.tax)
        .bind(totals.total),
    )
    .await?;
    Ok(())
}

async fn insert_lines(tx: &mut Tx, invoice: i64, lines: &[InvoiceLine]) -> Result<()> {
    let mut q = db::SqlBuilder::new(
        "INSERT INTO fin_invoice_lines (invoice_id, line_no, description, quantity, unit_price, discount_bp, vat_rate_bp, account, net, tax, total, product_id, cost_center, project) VALUES ",
    );
    for (i, l) in lines.iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", (" });
        q.bind(invoice)
            .push(", ")
            .bind(i as i64 + 1)
            .push(", ")
            .bind(l.description.clone())
            .push(", ")
            .bind(l.quantity);
        q.push(", ")
            .bind(l.unit_price)
            .push(", ")
            .bind(l.discount_bp)
            .push(", ")
            .bind(l.vat_rate_bp)
            .push(", ")
            .bind(l.account.clone());
        q.push(", ").bind(l.net).push(", ").bind(l.tax).push(", ").bind(l.total);
        q.push(", ").bind(l.product_id).push(", ").bind(l.cost_center.clone());
        q.push(", ").bind(l.project.clone()).push(")");
    }
    tx.execute(q.build()).await?;
    Ok(())
}
/// An open document of the books kept before these, carried over with the opening balances
/// (期初未清单据) on the line that holds it: an invoice or bill not yet settled, or money
/// received or paid in advance not yet applied; its number, date and due date as the earlier
/// books had them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct OpeningDocumentForm {
    #[serde(default)]
    pub number: String,
    /// `YYYY-MM-DD`, on or before the day the opening balances stand on.
    #[serde(default)]
    pub date: String,
    /// `YYYY-MM-DD` for an invoice or bill, the document's date when left empty; none for an
    /// advance.
    #[serde(default)]
    pub due_date: String,
}

impl OpeningDocumentForm {
    pub fn is_blank(&self) -> bool {
        self.number.trim().is_empty() && self.date.trim().is_empty() && self.due_date.trim().is_empty()
    }
}

/// What an opening line carries: an invoice (`customer`) or bill (`supplier`), or an advance
/// received (`receipt`) or paid (`payment`). The kind is the one the document's own table
/// (`fin_invoices` or `fin_payments`) gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    Invoice(&'static str),
    Advance(&'static str),
}

impl Carried {
    /// The kind of document a line on `account`, on the debit side or not, carries.
    fn of(template: Template, account: &str, debit: bool) -> Option<Carried> {
        let is = |role: Role| template.code(role) == account;
        match debit {
            true if is(Role::Receivable) => Some(Carried::Invoice("customer")),
            false if is(Role::Payable) => Some(Carried::Invoice("supplier")),
            false if is(Role::CustomerAdvance) => Some(Carried::Advance("receipt")),
            true if is(Role::SupplierAdvance) => Some(Carried::Advance("payment")),
            _ => None,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Carried::Invoice(kind) | Carried::Advance(kind) => kind,
        }
    }

    /// The role the line's party must have.
    fn party_role(self) -> &'static str {
        match self.kind() {
            "customer" | "receipt" => "customer",
            _ => "supplier",
        }
    }

    /// The document's table.
    fn table(self) -> &'static str {
        match self {
            Carried::Invoice(_) => "fin_invoices",
            Carried::Advance(_) => "fin_payments",
        }
    }

    /// Whether a document of this kind numbered `number` for `party` would take the number of
    /// one already stored or typed (`other`: its table, kind, party and number). Invoices are
    /// numbered by the company, so their numbers are its own; a bill keeps its supplier's
    /// number, which another supplier may use too; receipts and payments are looked up by
    /// number alone (a bank line names one), so one number is one payment of either kind.
    fn clashes(self, party: i64, number: &str, other: &(String, String, i64, String)) -> bool {
        let (table, kind, other_party, other_number) = other;
        table == self.table()
            && other_number == number
            && match self {
                Carried::Invoice("supplier") => kind == "supplier" && *other_party == party,
                Carried::Invoice(mine) => kind == mine,
                Carried::Advance(_) => true,
            }
    }
}

/// Whether `number` is shaped like the numbers this ledger gives its own documents
/// (`INV/2026/00001`, `BILL/…`, `REC/…`, `PAY/…`, `RFD/…`): a document carried over under such
/// a number would meet one of them later.
fn own_number(number: &str) -> bool {
    let parts: Vec<&str> = number.split('/').collect();
    matches!(parts.as_slice(), [prefix, year, seq]
        if ["INV", "BILL", "REC", "PAY", "RFD"].contains(prefix)
            && year.len() == 4 && year.chars().all(|c| c.is_ascii_digit())
            && !seq.is_empty() && seq.chars().all(|c| c.is_ascii_digit()))
}

/// An open document checked, ready to be written once its opening voucher is posted.
pub(crate) struct CarriedDocument {
    carried: Carried,
    party_id: i64,
    number: String,
    date: String,
    due_date: String,
    /// What is open of it, in CNY, and in its currency for one written in a foreign one.
    amount: i64,
    foreign: Option<(DocumentRate, i64)>,
    memo: String,
}

/// Checks the open documents carried over on an opening voucher's lines (`carried`: the form
/// row, the checked line, the party's number as typed and the document typed on it), each
/// refusal on its row: a customer's invoice is a debit of the receivable account (1122), a
/// supplier's bill a credit of the payable one (2202), an advance received a credit of 2203
/// and one paid a debit of 1123 (in yuan, as advances are kept); each names a party of its
/// role, not archived; its number is not shaped like this ledger's own and is new among the
/// company's documents of its kind and in the voucher ([`Carried::clashes`]); its date is on or
/// before `opening_day`, an invoice's due date not before its date. Carrying invoices or bills
/// needs the grant to manage them, carrying advances the grant to record payments. The books'
/// row is taken for the transaction, so two opening vouchers carrying the same number one
/// after the other see each other's.
pub(crate) async fn check_carried(
    tx: &mut Tx,
    principal: &Principal,
    opening_day: &str,
    carried: &[(usize, &Line, &str, &OpeningDocumentForm)],
    problems: &mut Problems,
) -> Result<Vec<CarriedDocument>> {
    if carried.is_empty() {
        return Ok(Vec::new());
    }
    let company = principal.company_id.0;
    let template = chart::template(tx.conn(), company).await?;
    let kinds: Vec<Option<Carried>> =
        carried.iter().map(|(_, line, _, _)| Carried::of(template, &line.account, line.debit > 0)).collect();
    if kinds.iter().any(|k| matches!(k, Some(Carried::Invoice(_)))) {
        principal.authorize(MANAGE)?;
    }
    if kinds.iter().any(|k| matches!(k, Some(Carried::Advance(_)))) {
        principal.authorize(PAYMENTS)?;
    }
    let lock =
        format!("SELECT company_id FROM fin_books WHERE company_id = $1{}", tx.dialect().update_lock_of("fin_books"));
    tx.fetch_optional(sqlx::query(&lock).bind(company)).await?;
    let named: Vec<i64> = carried.iter().filter_map(|(_, line, _, _)| line.party).collect();
    let mut roles: Vec<(i64, String)> = Vec::new();
    if !named.is_empty() {
        let mut q = db::SqlBuilder::new(
            "SELECT r.party_id, r.role FROM party_roles r JOIN parties p ON p.id = r.party_id \
             WHERE p.archived_at IS NULL AND r.role IN ('customer', 'supplier') AND r.party_id IN ",
        );
        q.bind_list(named);
        for r in tx.fetch_all(q.build()).await? {
            roles.push((r.try_get("party_id")?, r.try_get("role")?));
        }
    }
    let numbers = || carried.iter().map(|(_, _, _, d)| d.number.trim().to_string());
    let mut q = db::SqlBuilder::new(
        "SELECT 'fin_invoices' AS stored_in, kind, party_id, number FROM fin_invoices WHERE company_id = ",
    );
    q.bind(company).push(" AND number IN ").bind_list(numbers());
    q.push(" UNION ALL SELECT 'fin_payments', kind, party_id, number FROM fin_payments WHERE company_id = ")
        .bind(company);
    q.push(" AND number IN ").bind_list(numbers());
    let mut taken: Vec<(String, String, i64, String)> = tx
        .fetch_all(q.build())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("stored_in")?, r.try_get("kind")?, r.try_get("party_id")?, r.try_get("number")?)))
        .collect::<std::result::Result<_, sqlx::Error>>()?;
    let mut documents = Vec::with_capacity(carried.len());
    for ((row, line, party_number, document), kind) in carried.iter().zip(kinds) {
        let field = format!("lines[{row}]");
        let before = problems.0.len();
        let Some(kind) = kind else {
            let holders = [Role::Receivable, Role::Payable, Role::CustomerAdvance, Role::SupplierAdvance];
            if holders.iter().any(|role| template.code(*role) == line.account) {
                problems.add(&field, "error.finance.opening_document_side", &line.account);
            } else {
                let codes: Vec<&str> = holders.iter().map(|role| template.code(*role)).collect();
                problems.add(&field, "error.finance.opening_document_account", codes.join(" / "));
            }
            continue;
        };
        let party_id = match line.party {
            None => {
                problems.add(&field, "error.finance.opening_document_party", "");
                0
            }
            Some(party) if !roles.iter().any(|(p, role)| *p == party && role == kind.party_role()) => {
                let refusal = if kind.party_role() == "supplier" {
                    "error.finance.not_supplier"
                } else {
                    "error.finance.not_customer"
                };
                problems.add(&field, refusal, *party_number);
                0
            }
            Some(party) => party,
        };
        let number = document.number.trim().to_string();
        if number.is_empty() {
            problems.add(&field, "error.finance.opening_document_number", "");
        } else if number.chars().count() > 40 {
            problems.add(&field, "error.finance.opening_document_number_long", &number);
        } else if own_number(&number) {
            problems.add(&field, "error.finance.opening_document_own_number", &number);
        } else if taken.iter().any(|other| kind.clashes(party_id, &number, other)) {
            problems.add(&field, "error.finance.document_number_taken", &number);
        } else {
            taken.push((kind.table().to_string(), kind.kind().to_string(), party_id, number.clone()));
        }
        let date = match kernel::dates::parse(&field, document.date.trim()) {
            Ok(day) if day.to_string().as_str() <= opening_day => Some(day),
            _ => {
                problems.add(&field, "error.finance.opening_document_date", opening_day);
                None
            }
        };
        let due_date = match (kind, date, document.due_date.trim()) {
            (Carried::Advance(_), _, "") | (Carried::Invoice(_), None, _) => date,
            (Carried::Advance(_), _, _) => {
                problems.add(&field, "error.finance.opening_advance_due", "");
                None
            }
            (Carried::Invoice(_), Some(date), "") => Some(date),
            (Carried::Invoice(_), Some(date), due) => match kernel::dates::parse(&field, due) {
                Ok(due) if due < date => {
                    problems.add(&field, "error.finance.due_before_date", due.to_string());
                    None
                }
                Ok(due) => Some(due),
                Err(_) => {
                    problems.add(&field, "error.finance.opening_document_due", due);
                    None
                }
            },
        };
        let foreign = match (&line.foreign, kind) {
            (Some(_), Carried::Advance(_)) => {
                problems.add(&field, "error.finance.opening_advance_foreign", "");
                None
            }
            (Some((code, amount, rate)), _) => Some((DocumentRate::stored(code, rate)?, *amount)),
            (None, _) => None,
        };
        if problems.0.len() > before {
            continue;
        }
        let (Some(date), Some(due_date)) = (date, due_date) else { continue };
        documents.push(CarriedDocument {
            carried: kind,
            party_id,
            number,
            date: date.to_string(),
            due_date: due_date.to_string(),
            amount: line.debit + line.credit,
            foreign,
            memo: line.memo.clone(),
        });
    }
    Ok(documents)
}

/// Writes the open documents carried over by the opening voucher `entry_id`, each audited: an
/// invoice or bill open as the earlier books left it, settled by receipts and payments from
/// then on as any other (a customer's invoice counts in its twelve-month spend, as a posted
/// one does); an advance unapplied, through no bank, applied to invoices as any other.
/// Returns them.
pub(crate) async fn insert_carried(
    tx: &mut Tx,
    company: i64,
    entry_id: i64,
    documents: &[CarriedDocument],
) -> Result<Vec<CarriedId>> {
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let rounding = vat_rounding(tx.conn(), company).await?.key();
    let mut ids = Vec::with_capacity(documents.len());
    for d in documents {
        let mut audited = json!({"kind": [null, d.carried.kind()], "opening": [null, true], "number": [null, d.number],
            "party_id": [null, d.party_id], "date": [null, d.date], "amount": [null, domain::yuan(d.amount)]});
        let (id, resource): (i64, &str) = match d.carried {
            Carried::Invoice(kind) => {
                let id = tx.fetch_one(
                    sqlx::query(
                        "INSERT INTO fin_invoices (company_id, kind, party_id, number, status, invoice_date, due_date, tax_inclusive, vat_rounding, \
                         net, tax, total, entry_id, memo, created_at, created_by, posted_at, opening) \
                         VALUES ($1, $2, $3, $4, 'open', $5, $6, 1, $7, $8, 0, $8, $9, $10, $11, $12, $11, 1) RETURNING id",
                    )
                    .bind(company)
                    .bind(kind)
                    .bind(d.party_id)
                    .bind(&d.number)
                    .bind(&d.date)
                    .bind(&d.due_date)
                    .bind(rounding)
                    .bind(d.amount)
                    .bind(entry_id)
                    .bind(&d.memo)
                    .bind(&now)
                    .bind(user),
                )
                .await?
                .try_get("id")?;
                audited["due_date"] = json!([null, d.due_date]);
                if kind == "customer" {
                    let spend = crate::spend::addition(tx.dialect(), company, d.party_id, &d.date, d.amount)?;
                    tx.execute(spend.build()).await?;
                }
                if let Some((rate, amount)) = &d.foreign {
                    insert_foreign(tx, id, rate, vat::Totals { net: *amount, tax: 0, total: *amount }).await?;
                    audited["currency"] = json!([null, rate.code()]);
                    audited["rate"] = json!([null, rate.rate_text()]);
                    audited["foreign_amount"] = json!([null, crate::domain::decimal_text(*amount, rate.currency)]);
                }
                (id, "finance.invoice")
            }
            Carried::Advance(kind) => {
                let id = tx.fetch_one(
                    sqlx::query(
                        "INSERT INTO fin_payments (company_id, kind, party_id, number, payment_date, amount, bank_account, unallocated, \
                         entry_id, memo, created_at, created_by, opening) \
                         VALUES ($1, $2, $3, $4, $5, $6, '', $6, $7, $8, $9, $10, 1) RETURNING id",
                    )
                    .bind(company)
                    .bind(kind)
                    .bind(d.party_id)
                    .bind(&d.number)
                    .bind(&d.date)
                    .bind(d.amount)
                    .bind(entry_id)
                    .bind(&d.memo)
                    .bind(&now)
                    .bind(user),
                )
                .await?
                .try_get("id")?;
                (id, "finance.payment")
            }
        };
        tx.audit("create", resource, Some(&id.to_string()), &audited).await?;
        ids.push(CarriedId { id, kind: d.carried.kind(), number: d.number.clone() });
    }
    Ok(ids)
}

/// Refuses an opening voucher after which a party's carried documents of a kind come to more
/// than its opening balance on their account ([`within_opening_balance`]): checked for every
/// party a line of a receivable, payable or advance account names, whether the line carries a
/// document or lowers a balance others carry.
pub(crate) async fn within_opening_balances(tx: &mut Tx, company: i64, period: &str, lines: &[Line]) -> Result<()> {
    let template = chart::template(tx.conn(), company).await?;
    let mut checked: Vec<(Carried, i64)> = Vec::new();
    for line in lines {
        let Some(party) = line.party else { continue };
        let kind = Carried::of(template, &line.account, true).or(Carried::of(template, &line.account, false));
        let Some(kind) = kind.filter(|k| !checked.contains(&(*k, party))) else { continue };
        checked.push((kind, party));
        within_opening_balance(tx, company, period, kind, party).await?;
    }
    Ok(())
}

/// Takes back a document carried over by mistake (a wrong amount, party, number or date)
/// while the books' first month is open and nothing has settled it: the invoice or bill
/// (`fin_invoices`) or the advance (`fin_payments`, per `advance`) is deleted, audited with
/// what it was. The opening voucher that carried it stays as posted, the line then an opening
/// balance without a document; the accountant corrects it with another opening voucher, which
/// may carry the right document. Needs the grants carrying it needed: to manage the books, to
/// post, and to manage invoices (to record payments, for an advance).
pub async fn withdraw_carried(tx: &mut Tx, principal: &Principal, id: i64, advance: bool) -> Result<()> {
    // As carrying it did: the books' grants, and the documents'.
    principal.authorize(service::ACCOUNTS)?;
    principal.authorize(service::POST)?;
    principal.authorize(if advance { PAYMENTS } else { MANAGE })?;
    let company = principal.company_id.0;
    service::open_first_month(tx, company, "withdraw").await?;
    let (select, untouched, delete) = if advance {
        (
            "SELECT kind, party_id, number, payment_date AS day, amount FROM fin_payments WHERE company_id = $1 AND id = $2 AND opening = 1",
            "DELETE FROM fin_payments WHERE id = $1 AND unallocated = amount \
             AND NOT EXISTS (SELECT 1 FROM fin_advance_applications a WHERE a.payment_id = fin_payments.id)",
            "",
        )
    } else {
        (
            "SELECT kind, party_id, number, invoice_date AS day, total AS amount FROM fin_invoices WHERE company_id = $1 AND id = $2 AND opening = 1",
            "DELETE FROM fin_invoices WHERE id = $1 AND settled = 0 AND status = 'open' \
             AND NOT EXISTS (SELECT 1 FROM fin_invoices n WHERE n.credit_of = fin_invoices.id) \
             AND NOT EXISTS (SELECT 1 FROM fin_setoffs s WHERE s.invoice_id = fin_invoices.id)",
            "DELETE FROM fin_invoice_currency WHERE invoice_id = $1",
        )
    };
    let row = tx
        .fetch_optional(sqlx::query(select).bind(company).bind(id))
        .await?
        .ok_or(DomainError::NotFound("document"))?;
    let (kind, party, amount, day): (String, i64, i64, String) =
        (row.try_get("kind")?, row.try_get("party_id")?, row.try_get("amount")?, row.try_get("day")?);
    if !delete.is_empty() {
        tx.execute(sqlx::query(delete).bind(id)).await?;
    }
    if tx.execute(sqlx::query(untouched).bind(id)).await? != 1 {
        return Err(DomainError::invalid("withdraw", "error.finance.opening_document_settled", "").into());
    }
    if kind == "customer" {
        let spend = crate::spend::addition(tx.dialect(), company, party, &day, -amount)?;
        tx.execute(spend.build()).await?;
    }
    let resource = if advance { "finance.payment" } else { "finance.invoice" };
    let audited = json!({"kind": [kind, null], "opening": [true, null], "number": [row.try_get::<String, _>("number")?, null],
        "party_id": [party, null], "date": [day, null], "amount": [domain::yuan(amount), null]});
    tx.audit("delete", resource, Some(&id.to_string()), &audited).await?;
    Ok(())
}

/// A document carried over, as [`insert_carried`] wrote it: its id in its table (`fin_invoices`
/// for the kinds `customer` and `supplier`, `fin_payments` for `receipt` and `payment`).
#[derive(Debug, Clone, Serialize)]
pub struct CarriedId {
    pub id: i64,
    pub kind: &'static str,
    pub number: String,
}

/// Refuses when the party's carried documents of a kind come to more than its opening balance
/// on their account, on that account's side (a receivable's debit, an advance received's
/// credit …), across every opening voucher: the documents say what makes up the balance, so
/// they cannot exceed it.
async fn within_opening_balance(tx: &mut Tx, company: i64, period: &str, kind: Carried, party: i64) -> Result<()> {
    let template = chart::template(tx.conn(), company).await?;
    let (role, debit_side) = match kind {
        Carried::Invoice("customer") => (Role::Receivable, true),
        Carried::Invoice(_) => (Role::Payable, false),
        Carried::Advance("receipt") => (Role::CustomerAdvance, false),
        Carried::Advance(_) => (Role::SupplierAdvance, true),
    };
    let amount = if matches!(kind, Carried::Invoice(_)) { "total" } else { "amount" };
    let documents = format!(
        "SELECT CAST(COALESCE(SUM({amount}), 0) AS BIGINT) AS carried FROM {} \
         WHERE company_id = $1 AND party_id = $2 AND kind = $3 AND opening = 1",
        kind.table()
    );
    let carried: i64 =
        tx.fetch_one(sqlx::query(&documents).bind(company).bind(party).bind(kind.kind())).await?.try_get("carried")?;
    let row = tx
        .fetch_one(
            sqlx::query(
                "SELECT CAST(COALESCE(SUM(b.debit - b.credit), 0) AS BIGINT) AS net, MIN(p.name) AS name FROM parties p \
                 LEFT JOIN fin_accounts a ON a.company_id = $1 AND a.code = $4 \
                 LEFT JOIN fin_party_balances b ON b.company_id = $1 AND b.party_id = p.id AND b.period = $3 AND b.account_id = a.id \
                 WHERE p.id = $2",
            )
            .bind(company)
            .bind(party)
            .bind(period)
            .bind(template.code(role)),
        )
        .await?;
    let net: i64 = row.try_get("net")?;
    let balance = if debit_side { net } else { -net };
    if carried > balance {
        let name: String = row.try_get::<Option<String>, _>("name")?.unwrap_or_default();
        let detail = format!("{name} {} {} > {}", template.code(role), domain::yuan(carried), domain::yuan(balance));
        return Err(DomainError::invalid("lines", "error.finance.opening_documents_exceed", detail).into());
    }
    Ok(())
}

/// The voucher lines of an invoice: net per account, cost centre and project, tax, and the
/// receivable or payable. Of an invoice in a foreign currency, the receivable (payable) line
/// carries its total in that currency; the net per account is its share of the CNY net.
/// `simplified_apart` is false for a credit note of an invoice posted before the simplified
/// method's tax had an account of its own: the note takes back the tax where the invoice put it.
/// `input_costed` puts a bill's tax on its lines' accounts with their net, as a small-scale
/// taxpayer deducts none ([`input_vat_costed`]).
fn invoice_voucher_lines(
    accounts: &VatAccounts,
    invoice: &Invoice,
    simplified_apart: bool,
    input_costed: bool,
) -> Result<Vec<Line>> {
    let template = accounts.template;
    let customer = invoice.kind == "customer";
    let written_in = invoice.document_rate()?;
    let mut by_account: Vec<((&str, &str, &str), i64)> = Vec::new();
    for l in &invoice.lines {
        let key = (l.account.as_str(), l.cost_center.as_str(), l.project.as_str());
        let cost = if input_costed { l.net + l.tax } else { l.net };
        match by_account.iter_mut().find(|(k, _)| *k == key) {
            Some((_, amount)) => *amount += cost,
            None => by_account.push((key, cost)),
        }
    }
    if let Some(rate) = &written_in {
        let in_ledger = if input_costed { invoice.net + invoice.tax } else { invoice.net };
        let parts: Vec<i64> = by_account.iter().map(|(_, amount)| *amount).collect();
        for ((_, amount), share) in by_account.iter_mut().zip(rate.split(&parts, in_ledger)?) {
            *amount = share;
        }
    }
    let side = |amount: i64, debit: bool| if debit { (amount, 0) } else { (0, amount) };
    let mut lines = Vec::new();
    let (d, c) = side(invoice.total, customer);
    lines.push(Line {
        account: template.code(if customer { Role::Receivable } else { Role::Payable }).into(),
        debit: d,
        credit: c,
        cost_center: String::new(),
        project: String::new(),
        memo: invoice.party_name.clone(),
        foreign: written_in.and_then(|rate| rate.on_line(invoice.document_figures().2)),
        party: Some(invoice.party_id),
    });
    for ((account, cost_center, project), net) in by_account {
        let (d, c) = side(net, !customer);
        lines.push(Line {
            account: account.into(),
            debit: d,
            credit: c,
            cost_center: cost_center.into(),
            project: project.into(),
            memo: String::new(),
            foreign: None,
            party: None,
        });
    }
    // A sale's tax at the simplified method's rates goes to its own payable; a purchase's at
    // those rates is input VAT as any other.
    let simplified = if customer && simplified_apart { simplified_tax(invoice, written_in.as_ref())? } else { 0 };
    let general = template.code(if customer { Role::OutputVat } else { Role::InputVat });
    let general_tax = if input_costed { 0 } else { invoice.tax - simplified };
    for (account, tax) in [(general, general_tax), (accounts.simplified.as_str(), simplified)] {
        if tax == 0 {
            continue;
        }
        let (d, c) = side(tax, !customer);
        lines.push(Line {
            account: account.into(),
            debit: d,
            credit: c,
            cost_center: String::new(),
            project: String::new(),
            memo: String::new(),
            foreign: None,
            party: None,
        });
    }
    Ok(lines)
}

/// The part of an invoice's tax, in CNY, on lines at the simplified method's rates
/// ([`kernel::vat::simplified_method`]): their tax as it stands, or for an invoice in a
/// foreign currency their rates' shares of its CNY tax, shared per rate as the VAT return's
/// schedules share it, so the two agree to the fen.
fn simplified_tax(invoice: &Invoice, written_in: Option<&DocumentRate>) -> Result<i64> {
    let mut by_rate: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for l in &invoice.lines {
        *by_rate.entry(l.vat_rate_bp).or_default() += l.tax;
    }
    let simplified = |rates: &mut dyn Iterator<Item = (i64, i64)>| -> i64 {
        rates.filter(|(rate, _)| kernel::vat::simplified_method(*rate)).map(|(_, tax)| tax).sum()
    };
    match written_in {
        Some(rate) if by_rate.keys().any(|r| kernel::vat::simplified_method(*r)) => {
            let taxes: Vec<i64> = by_rate.values().copied().collect();
            let shares = rate.split(&taxes, invoice.tax)?;
            Ok(simplified(&mut by_rate.keys().copied().zip(shares)))
        }
        Some(_) => Ok(0),
        None => Ok(simplified(&mut by_rate.into_iter())),
    }
}

/// Whether a supplier bill's VAT is part of its cost ([`Taxpayer::costs_input_vat`]): a bill's
/// when the company is a small-scale taxpayer; a credit note's when the bill it credits put no
/// input VAT on the books, whatever the company is now.
async fn input_vat_costed(tx: &mut Tx, accounts: &VatAccounts, invoice: &Invoice) -> Result<bool> {
    match invoice.credit_of {
        Some(original) if !carried_over(tx, original).await? => {
            Ok(invoice.tax != 0 && !posted_to(tx, original, accounts.template.code(Role::InputVat)).await?)
        }
        _ => Ok(accounts.taxpayer.costs_input_vat()),
    }
}

/// Whether the invoice a credit note credits put its simplified method's tax on that account;
/// one posted before the account existed put it on output VAT.
async fn credited_apart(tx: &mut Tx, accounts: &VatAccounts, invoice: &Invoice) -> Result<bool> {
    match invoice.credit_of {
        Some(original) if !carried_over(tx, original).await? => posted_to(tx, original, &accounts.simplified).await,
        _ => Ok(true),
    }
}

/// Whether the invoice `id` was carried over with the opening balances: its voucher is the
/// opening one, which says nothing of where its tax went, so its credit notes book their tax
/// as a new document of the company would.
async fn carried_over(tx: &mut Tx, id: i64) -> Result<bool> {
    let row = tx.fetch_optional(sqlx::query("SELECT opening FROM fin_invoices WHERE id = $1").bind(id)).await?;
    Ok(row.map(|r| r.try_get::<i64, _>("opening")).transpose()?.unwrap_or(0) == 1)
}

/// Whether the voucher of the posted invoice `id` has a line on the account `code`.
async fn posted_to(tx: &mut Tx, id: i64, code: &str) -> Result<bool> {
    let row = tx
        .fetch_optional(
            sqlx::query(
                "SELECT 1 AS found FROM fin_invoices o JOIN fin_entry_lines l ON l.entry_id = o.entry_id \
                 JOIN fin_accounts a ON a.id = l.account_id WHERE o.id = $1 AND a.code = $2",
            )
            .bind(id)
            .bind(code),
        )
        .await?;
    Ok(row.is_some())
}

/// Posts a draft: numbers it (INV/2026/00001 for invoices, BILL/… for bills), posts its voucher
/// and emits `finance.InvoicePosted`.
pub async fn post_invoice(tx: &mut Tx, principal: &Principal, id: i64) -> Result<String> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    // Loaded for this transaction alone: a second posting of the same invoice waits here until
    // this one commits, then finds it posted.
    let (invoice, accounts) = load_for_posting(tx, company, id).await?.ok_or(DomainError::NotFound("invoice"))?;
    if invoice.status != "draft" {
        return Err(DomainError::Conflict("the invoice is already posted".into()).into());
    }
    if let Some(reason) = invoice.hold_reason {
        return Err(DomainError::invalid("status", "error.finance.invoice_on_hold", reason).into());
    }
    // A draft saved before the company became a small-scale taxpayer; a credit note takes back
    // what its invoice charged, whatever that was.
    if invoice.kind == "customer" && invoice.credit_of.is_none() {
        let mut problems = Problems::default();
        for (i, line) in invoice.lines.iter().enumerate() {
            accounts.taxpayer.check_charged(&format!("lines[{i}]"), line.vat_rate_bp, &mut problems);
        }
        problems.finish()?;
    }
    let year: i32 = invoice.date.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let (code, prefix) =
        if invoice.kind == "customer" { ("invoice.customer", "INV") } else { ("invoice.supplier", "BILL") };
    // The invoice's number and its voucher's, in one statement.
    let period = domain::period_of(&invoice.date);
    let (voucher_code, voucher_year, voucher_pattern) = service::voucher_sequence(&period, "转")?;
    let pattern = format!("{prefix}/{{year}}/{{seq:05}}");
    let wanted = [
        db::Sequence { code, year, pattern: &pattern },
        db::Sequence { code: &voucher_code, year: voucher_year, pattern: &voucher_pattern },
    ];
    let [number, voucher_number]: [String; 2] = tx
        .next_numbers(company, &wanted)
        .await?
        .try_into()
        .map_err(|_| DomainError::Internal("two numbers asked, other than two taken".into()))?;
    // Only a credit note of a sale at the simplified method's rates asks where its invoice put
    // that tax: other postings cost no query for it.
    let simplified_sale =
        invoice.kind == "customer" && invoice.lines.iter().any(|l| kernel::vat::simplified_method(l.vat_rate_bp));
    let simplified_apart = !simplified_sale || credited_apart(tx, &accounts, &invoice).await?;
    let input_costed = invoice.kind == "supplier" && input_vat_costed(tx, &accounts, &invoice).await?;
    let entry = Entry {
        date: invoice.date.clone(),
        period,
        word: "转".into(),
        memo: format!("{number} {}", invoice.party_name),
        lines: invoice_voucher_lines(&accounts, &invoice, simplified_apart, input_costed)?,
    };
    let spend = match invoice.kind.as_str() {
        "customer" => {
            Some(crate::spend::addition(tx.dialect(), company, invoice.party_id, &invoice.date, invoice.total)?)
        }
        _ => None,
    };
    let (now, posted_number) = (tx.now().to_string(), number.clone());
    let with_entry: service::WithEntry = Box::new(move |entry_id| {
        let posted = db::SqlBuilder::with_values(
            "UPDATE fin_invoices SET status = 'open', number = $1, entry_id = $2, posted_at = $3, version = version + 1 WHERE id = $4",
            vec![posted_number.into(), entry_id.into(), now.into(), id.into()],
        );
        std::iter::once(posted).chain(spend).collect()
    });
    // A credit note undoes its invoice's lines, under their cost centres and projects even if
    // one was archived since.
    let (kind, tags) = match invoice.credit_of {
        Some(_) => ("credit_note", service::Tags::Undoing),
        None => ("invoice", service::Tags::Check),
    };
    service::post_entry_of(tx, company, &entry, kind, Some(voucher_number), with_entry, tags).await?;
    tx.audit(
        "state",
        "finance.invoice",
        Some(&id.to_string()),
        &json!({"status": ["draft", "open"], "number": [null, number]}),
    )
    .await?;
    tx.emit(
        "finance.invoice",
        &id.to_string(),
        "finance.InvoicePosted",
        &json!({"id": id, "number": number, "kind": invoice.kind, "party_id": invoice.party_id, "total": domain::yuan(invoice.total)}),
    )
    .await?;
    Ok(number)
}

/// Holds a draft back from posting, saying why (a purchase bill that does not match its order
/// and receipt). The module that holds it checked its own permission.
pub async fn hold(tx: &mut Tx, company: i64, id: i64, reason: &str) -> Result<()> {
    let held = tx
        .execute(
            sqlx::query(
                "UPDATE fin_invoices SET hold_reason = $1 WHERE company_id = $2 AND id = $3 AND status = 'draft'",
            )
            .bind(reason)
            .bind(company)
            .bind(id),
        )
        .await?;
    if held != 1 {
        return Err(DomainError::Conflict("only a draft can be held".into()).into());
    }
    tx.audit("state", "finance.invoice", Some(&id.to_string()), &json!({"hold_reason": [null, reason]})).await?;
    Ok(())
}

/// Releases a hold, so the draft can be posted. The caller checked who may approve it.
pub async fn release(tx: &mut Tx, company: i64, id: i64) -> Result<()> {
    let reason: Option<String> = tx
        .fetch_optional(
            sqlx::query("SELECT hold_reason FROM fin_invoices WHERE company_id = $1 AND id = $2")
                .bind(company)
                .bind(id),
        )
        .await?
        .ok_or(DomainError::NotFound("invoice"))?
        .try_get("hold_reason")?;
    tx.execute(sqlx::query("UPDATE fin_invoices SET hold_reason = NULL WHERE id = $1").bind(id)).await?;
    tx.audit("state", "finance.invoice", Some(&id.to_string()), &json!({"hold_reason": [reason, null]})).await?;
    Ok(())
}

/// A document carried over with the opening balances has no lines of this ledger to undo
/// (what it sold was booked in the earlier books), so it is not credited whole: its credit
/// notes are typed line by line ([`credit_part`]).
fn refuse_opening_credit(invoice: &Invoice) -> Result<()> {
    if invoice.opening {
        return Err(DomainError::invalid("date", "error.finance.opening_document_credit", "").into());
    }
    Ok(())
}

/// Issues a credit note for the whole of an unpaid invoice: a new document with the lines
/// negated, posted in red ink on `date`, settling the invoice.
pub async fn credit_note(tx: &mut Tx, principal: &Principal, id: i64, date: &str) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    let invoice = load(tx.conn(), company, id).await?.ok_or(DomainError::NotFound("invoice"))?;
    refuse_opening_credit(&invoice)?;
    if invoice.status != "open"
        || invoice.settled != 0
        || invoice.document_open() != invoice.document_figures().2
        || invoice.credit_of.is_some()
    {
        return Err(
            DomainError::Conflict("only a posted invoice without receipts can be credited in full".into()).into()
        );
    }
    // A note issued before took part of it: the rest is credited line by line (`credit_part`,
    // which counts what earlier notes took), never the whole again.
    let earlier = tx
        .fetch_optional(
            sqlx::query("SELECT id FROM fin_invoices WHERE credit_of = $1 AND status <> 'draft' LIMIT 1").bind(id),
        )
        .await?;
    if earlier.is_some() {
        return Err(DomainError::Conflict(
            "the invoice was credited in part already; credit the rest by its lines".into(),
        )
        .into());
    }
    kernel::dates::parse("date", date).map_err(|e| DomainError::Invalid(vec![e]))?;
    let lines = invoice.lines.clone();
    let totals = vat::Totals { net: invoice.net, tax: invoice.tax, total: invoice.total };
    let written_in = invoice.document_rate()?.map(|rate| {
        let (net, tax, total, _) = invoice.document_figures();
        (rate, vat::Totals { net, tax, total })
    });
    let note = insert_credit(tx, principal, &invoice, date, &lines, totals, written_in, "").await?;
    let credited = tx.execute(
        sqlx::query(
            "UPDATE fin_invoices SET settled = total, status = 'credited', version = version + 1 WHERE id = $1 AND status = 'open' AND settled = 0",
        )
        .bind(id),
    )
    .await?;
    if credited != 1 {
        return Err(DomainError::Conflict("the invoice was settled meanwhile".into()).into());
    }
    tx.execute(
        sqlx::query("UPDATE fin_invoices SET settled = total, credit_applied = -total, status = 'paid' WHERE id = $1")
            .bind(note),
    )
    .await?;
    if written_in.is_some() {
        tx.execute(
            sqlx::query("UPDATE fin_invoice_currency SET settled = total WHERE invoice_id IN ($1, $2)")
                .bind(id)
                .bind(note),
        )
        .await?;
    }
    tx.audit(
        "state",
        "finance.invoice",
        Some(&id.to_string()),
        &json!({"status": ["open", "credited"], "credit_note": [null, note]}),
    )
    .await?;
    Ok(note)
}

/// Writes and posts a credit note of `invoice` for `lines` (positive amounts, negated here):
/// the invoice's voucher in red ink for those lines. `totals` are in CNY; of an invoice in a
/// foreign currency, `written_in` is its rate and the note's totals in that currency. Returns
/// the note's id, posted and not yet settled.
#[allow(clippy::too_many_arguments)]
async fn insert_credit(
    tx: &mut Tx,
    principal: &Principal,
    invoice: &Invoice,
    date: &str,
    lines: &[InvoiceLine],
    totals: vat::Totals,
    written_in: Option<(DocumentRate, vat::Totals)>,
    memo: &str,
) -> Result<i64> {
    let company = principal.company_id.0;
    let negated: Vec<InvoiceLine> = lines
        .iter()
        .map(|l| InvoiceLine { net: -l.net, tax: -l.tax, total: -l.total, quantity: -l.quantity, ..l.clone() })
        .collect();
    let memo = match memo.trim() {
        "" => format!("红字 {}", invoice.number.clone().unwrap_or_default()),
        text => format!("红字 {} {text}", invoice.number.clone().unwrap_or_default()),
    };
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let note: i64 = tx.fetch_one(
        sqlx::query(
            "INSERT INTO fin_invoices (company_id, kind, party_id, status, credit_of, invoice_date, due_date, tax_inclusive, vat_rounding, net, tax, total, settled, memo, created_at, created_by) \
             VALUES ($1, $2, $3, 'draft', $4, $5, $5, $6, $13, $7, $8, $9, 0, $10, $11, $12) RETURNING id",
        )
        .bind(company)
        .bind(&invoice.kind)
        .bind(invoice.party_id)
        .bind(invoice.id)
        .bind(date)
        .bind(i64::from(invoice.tax_inclusive))
        .bind(-totals.net)
        .bind(-totals.tax)
        .bind(-totals.total)
        .bind(memo)
        .bind(&now)
        .bind(user)
        .bind(invoice.vat_rounding.key()),
    )
    .await?
    .try_get("id")?;
    insert_lines(tx, note, &negated).await?;
    if let Some((rate, foreign)) = written_in {
        let negated = vat::Totals { net: -foreign.net, tax: -foreign.tax, total: -foreign.total };
        insert_foreign(tx, note, &rate, negated).await?;
    }
    tx.audit(
        "create",
        "finance.invoice",
        Some(&note.to_string()),
        &json!({"credit_of": [null, invoice.id], "total": [null, domain::yuan(-totals.total)]}),
    )
    .await?;
    post_invoice(tx, principal, note).await?;
    Ok(note)
}

/// What earlier credit notes of an invoice took of it, in CNY and in the invoice's currency.
struct Credited {
    total: i64,
    tax: i64,
    document_total: i64,
    document_tax: i64,
}

/// A credit note of an invoice written in a foreign currency, in CNY: the open rest of the
/// invoice when it closes it, what is left of the invoice when it credits the last of it, and
/// otherwise its totals at the invoice's rate (no more than is open, when it settles part of
/// it), so a document closed in its currency is closed in CNY too.
fn credit_in_ledger(
    rate: &DocumentRate,
    invoice: &Invoice,
    before: &Credited,
    note: vat::Totals,
) -> Result<vat::Totals> {
    let (_, document_tax, document_total, _) = invoice.document_figures();
    let open = invoice.document_open();
    let total = if open > 0 && note.total == open {
        invoice.open_amount()
    } else {
        let share = rate.part_in_cny(note.total, before.document_total, document_total, before.total, invoice.total)?;
        // A note that settles part of what is open takes no more of the invoice's CNY than is
        // open, so the note and the invoice close in CNY when they close in their currency.
        if note.total < open {
            share.min(invoice.open_amount())
        } else {
            share
        }
    };
    let tax = rate.part_in_cny(note.tax, before.document_tax, document_tax, before.tax, invoice.tax)?;
    Ok(vat::Totals { net: total - tax, tax, total })
}

/// A line of a credit note for `quantity` of an invoice's line, at its price, discount, VAT
/// rate, account, cost centre and project.
pub fn credit_line(invoice: &Invoice, line: &InvoiceLine, quantity: &str) -> InvoiceLineForm {
    InvoiceLineForm {
        description: line.description.clone(),
        quantity: quantity.to_string(),
        unit_price: invoice.amount_text(&line.unit_price),
        discount: rust_decimal::Decimal::new(line.discount_bp, 2).normalize().to_string(),
        vat_rate: kernel::vat::choice(line.vat_rate_bp),
        account: line.account.clone(),
        product_id: line.product_id,
        cost_center: line.cost_center.clone(),
        project: line.project.clone(),
    }
}

/// Credits part of a posted invoice (goods returned, a price corrected): a credit note for
/// `lines` at the invoice's VAT treatment, no more than what is left of the invoice after
/// earlier credit notes. It settles what is still open on the invoice first; what the customer
/// had already paid stays on the credit note as money owed back (a negative open amount, in
/// the ageing and the statement until refunded or set off). Returns the note's id.
pub async fn credit_part(
    tx: &mut Tx,
    principal: &Principal,
    id: i64,
    date: &str,
    lines: &[InvoiceLineForm],
    memo: &str,
) -> Result<i64> {
    principal.authorize(MANAGE)?;
    let company = principal.company_id.0;
    // The invoice's row first: two credit notes of one invoice are issued one after the other.
    tx.execute(
        sqlx::query("UPDATE fin_invoices SET version = version WHERE company_id = $1 AND id = $2")
            .bind(company)
            .bind(id),
    )
    .await?;
    let invoice = load(tx.conn(), company, id).await?.ok_or(DomainError::NotFound("invoice"))?;
    if !["open", "partial", "paid"].contains(&invoice.status.as_str()) || invoice.credit_of.is_some() {
        return Err(db::document::wrong_status(&invoice.status));
    }
    let mut p = Problems::default();
    p.check(kernel::dates::parse("date", date));
    if lines.is_empty() {
        p.add("lines", "error.document.no_lines", "");
    }
    let template = chart::template(tx.conn(), company).await?;
    // The note undoes lines of its invoice, so each of its lines names the account, cost
    // centre and project of one of them (the codes may have been archived since), no other.
    // A document carried over has none here: its note's lines are as typed (what was sold is
    // in the earlier books), on the revenue (stock) account unless another is named, and are
    // checked as a new invoice's are (products, listed tags, the rates the company charges).
    let typed;
    let lines = if invoice.opening {
        let taxpayer = taxpayer(tx.conn(), company).await?;
        let sold_at = |rate_bp: i64| taxpayer.rate_charged(rate_bp, date);
        let foreign = invoice.foreign.is_some();
        typed = with_products(tx, company, &invoice.kind, foreign, lines, &sold_at, &mut p).await?;
        check_rates_charged(taxpayer, &invoice.kind, &typed, &mut p);
        check_line_accounts(tx, company, template, &invoice.kind, &typed, &mut p).await?;
        let tags = typed.iter().map(|l| (l.cost_center.trim(), l.project.trim()));
        crate::dimensions::check_listed(tx, company, tags, &mut p).await?;
        &typed[..]
    } else {
        lines
    };
    let default = default_account(template, &invoice.kind);
    for (i, line) in lines.iter().enumerate().filter(|_| !invoice.opening) {
        let account = Some(line.account.trim()).filter(|a| !a.is_empty()).unwrap_or(default);
        let undoes = (account, line.cost_center.trim(), line.project.trim());
        if !invoice.lines.iter().any(|l| (l.account.as_str(), l.cost_center.as_str(), l.project.as_str()) == undoes) {
            let named = format!("{} {} {}", undoes.0, undoes.1, undoes.2);
            p.add(
                &format!("lines[{i}]"),
                "error.finance.credit_tags",
                named.split_whitespace().collect::<Vec<_>>().join(" "),
            );
        }
    }
    p.finish()?;
    // Of an invoice in a foreign currency the note is computed in that currency, and its CNY
    // is its share of the invoice's (see `credit_in_ledger`).
    let written_in = invoice.document_rate()?;
    let unit = written_in.map_or(Currency::CNY, |r| r.currency);
    let (computed, document_totals) = vat::compute(
        lines,
        invoice.tax_inclusive,
        invoice.vat_rounding,
        default_account(template, &invoice.kind),
        unit,
    )?;
    let before = tx.fetch_one(
        sqlx::query(
            "SELECT CAST(COALESCE(SUM(-i.total), 0) AS BIGINT) AS credited, CAST(COALESCE(SUM(-i.tax), 0) AS BIGINT) AS credited_tax, \
             CAST(COALESCE(SUM(-COALESCE(c.total, i.total)), 0) AS BIGINT) AS document_credited, \
             CAST(COALESCE(SUM(-COALESCE(c.tax, i.tax)), 0) AS BIGINT) AS document_credited_tax \
             FROM fin_invoices i LEFT JOIN fin_invoice_currency c ON c.invoice_id = i.id WHERE i.credit_of = $1 AND i.status <> 'draft'",
        )
        .bind(id),
    )
    .await?;
    let credited_before = Credited {
        total: before.try_get("credited")?,
        tax: before.try_get("credited_tax")?,
        document_total: before.try_get("document_credited")?,
        document_tax: before.try_get("document_credited_tax")?,
    };
    let (_, _, document_total, document_settled) = invoice.document_figures();
    if credited_before.document_total + document_totals.total > document_total {
        return Err(DomainError::invalid(
            "lines",
            "error.finance.over_credit",
            crate::domain::decimal_text(document_total - credited_before.document_total, unit),
        )
        .into());
    }
    // A document carried over holds no tax of its own to share: its note's yuan are its
    // figures at the document's rate, as a new document's would be.
    let totals = match &written_in {
        Some(rate) if invoice.opening => in_ledger(rate, document_totals)?,
        Some(rate) => credit_in_ledger(rate, &invoice, &credited_before, document_totals)?,
        None => document_totals,
    };
    let note =
        insert_credit(tx, principal, &invoice, date, &computed, totals, written_in.map(|r| (r, document_totals)), memo)
            .await?;
    // The note settles what is still open on the invoice first. In a foreign currency, what
    // it settles of the invoice's CNY is what is left when it closes the invoice.
    let document_applied = document_totals.total.min(invoice.document_open());
    let applied = match written_in {
        Some(_) if document_applied == invoice.document_open() => invoice.open_amount(),
        Some(_) => totals.total.min(invoice.open_amount()),
        None => document_applied,
    };
    let settled = invoice.settled + applied;
    let fully_credited = credited_before.document_total + document_totals.total == document_total;
    let status = match (document_settled + document_applied == document_total, fully_credited) {
        (true, true) => "credited",
        (true, false) => "paid",
        (false, _) => "partial",
    };
    tx.execute(
        sqlx::query("UPDATE fin_invoices SET settled = $1, status = $2, version = version + 1 WHERE id = $3")
            .bind(settled)
            .bind(status)
            .bind(id),
    )
    .await?;
    let note_status = if document_applied == document_totals.total { "paid" } else { "open" };
    tx.execute(
        sqlx::query("UPDATE fin_invoices SET settled = $1, credit_applied = $2, status = $3 WHERE id = $4")
            .bind(-applied)
            .bind(applied)
            .bind(note_status)
            .bind(note),
    )
    .await?;
    if written_in.is_some() {
        for (document, change) in [(id, document_applied), (note, -document_applied)] {
            tx.execute(
                sqlx::query("UPDATE fin_invoice_currency SET settled = settled + $1 WHERE invoice_id = $2")
                    .bind(change)
                    .bind(document),
            )
            .await?;
        }
    }
    tx.audit(
        "state",
        "finance.invoice",
        Some(&id.to_string()),
        &json!({"status": [invoice.status, status], "settled": [domain::yuan(invoice.settled), domain::yuan(settled)], "credit_note": [null, note]}),
    )
    .await?;
    Ok(note)
}

/// An allocation of a payment to an invoice, as entered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AllocationForm {
    pub invoice_id: i64,
    pub amount: String,
}

/// A receipt from a customer or a payment to a supplier, as entered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentForm {
    /// `receipt` (from a customer) or `payment` (to a supplier).
    pub kind: String,
    pub party_id: i64,
    pub date: String,
    pub amount: String,
    /// The bank or cash account; default 1002.
    #[serde(default)]
    pub bank_account: String,
    /// Which invoices it settles; absent: the oldest open invoices first.
    #[serde(default)]
    pub allocations: Option<Vec<AllocationForm>>,
    #[serde(default)]
    pub memo: String,
    /// The currency paid in: empty or `CNY`, or a foreign one, which settles only invoices in
    /// it, in full (no advance is kept in a foreign currency).
    #[serde(default)]
    pub currency: String,
    /// For a foreign currency: its rate to CNY on the day paid.
    #[serde(default)]
    pub rate: String,
}

/// An invoice a receipt or payment may settle: what is open of it in CNY and in its currency.
struct OpenInvoice {
    id: i64,
    open: i64,
    total: i64,
    settled: i64,
    /// Its currency and rate, and its total and settled in that currency; none for CNY.
    foreign: Option<(DocumentRate, i64, i64)>,
}

/// The columns [`open_invoice`] reads, from `fin_invoices i` and `fin_invoice_currency c`.
const OPEN_COLUMNS: &str =
    "i.id, i.total, i.settled, c.currency, c.rate, c.total AS document_total, c.settled AS document_settled";

fn open_invoice(r: &db::Row) -> Result<OpenInvoice> {
    let (total, settled): (i64, i64) = (r.try_get("total")?, r.try_get("settled")?);
    let foreign = match r.try_get::<Option<String>, _>("currency")? {
        Some(code) => Some((
            DocumentRate::stored(&code, &r.try_get::<String, _>("rate")?)?,
            r.try_get("document_total")?,
            r.try_get("document_settled")?,
        )),
        None => None,
    };
    Ok(OpenInvoice { id: r.try_get("id")?, open: total - settled, total, settled, foreign })
}

impl OpenInvoice {
    fn currency(&self) -> &str {
        self.foreign.as_ref().map_or("CNY", |(rate, _, _)| rate.code())
    }

    fn document_open(&self) -> i64 {
        self.foreign.as_ref().map_or(self.open, |(_, total, settled)| total - settled)
    }

    /// What `amount` of its currency clears of its CNY (see [`DocumentRate::part_in_cny`]).
    fn clears(&self, amount: i64) -> Result<i64> {
        Ok(match &self.foreign {
            Some((rate, total, settled)) => rate.part_in_cny(amount, *settled, *total, self.settled, self.total)?,
            None => amount,
        })
    }
}

/// Records a receipt or payment, allocates it, posts its voucher and emits
/// `finance.PaymentReceived` or `finance.PaymentMade`. What is not allocated becomes an advance.
pub async fn record_payment(tx: &mut Tx, principal: &Principal, form: &PaymentForm) -> Result<i64> {
    principal.authorize(PAYMENTS)?;
    let company = principal.company_id.0;
    let mut problems = Problems::default();
    let receipt = form.kind == "receipt";
    if !receipt && form.kind != "payment" {
        problems.add("kind", "error.finance.payment_kind", &form.kind);
    }
    let invoice_kind = if receipt { "customer" } else { "supplier" };
    let date = problems.check(kernel::dates::parse("date", &form.date));
    let paid_in = fx::document_rate(tx.conn(), company, &form.currency, &form.rate, date, &mut problems).await?;
    let unit = paid_in.map_or(Currency::CNY, |r| r.currency);
    let currency = unit.code();
    let amount = problems.check(Money::parse(&form.amount, unit).map_err(|mut e| {
        e.field = "amount".into();
        e
    }));
    if amount.is_some_and(|a| a.minor() <= 0) {
        problems.add("amount", "error.finance.amount_positive", &form.amount);
    }
    let party_name = check_party(tx, company, form.party_id, invoice_kind, &mut problems).await?;
    let template = chart::template(tx.conn(), company).await?;
    let bank = template.bank_account(&form.bank_account, &mut problems);
    problems.finish()?;
    let amount = amount.map(|a| a.minor()).unwrap_or(0);

    let open_sql = format!(
        "SELECT {OPEN_COLUMNS} FROM fin_invoices i LEFT JOIN fin_invoice_currency c ON c.invoice_id = i.id \
         WHERE i.company_id = $1 AND i.party_id = $2 AND i.kind = $3 AND i.status IN ('open', 'partial') AND i.credit_of IS NULL \
         ORDER BY i.due_date, i.id"
    );
    let rows = tx.fetch_all(sqlx::query(&open_sql).bind(company).bind(form.party_id).bind(invoice_kind)).await?;
    let mut open = rows.iter().map(open_invoice).collect::<Result<Vec<_>>>()?;
    // (invoice, amount in the payment's currency, CNY cleared of the invoice)
    let mut allocations: Vec<(i64, i64, i64)> = Vec::new();
    let amount_text = |minor: i64| crate::domain::decimal_text(minor, unit);
    match &form.allocations {
        Some(given) => {
            let mut problems = Problems::default();
            for (i, a) in given.iter().enumerate() {
                let field = format!("allocations[{i}]");
                let Some(value) = problems.check(Money::parse(&a.amount, unit).map_err(|mut e| {
                    e.field = field.clone();
                    e
                })) else {
                    continue;
                };
                match open.iter().find(|o| o.id == a.invoice_id) {
                    None => problems.add(&field, "error.finance.invoice_not_open", a.invoice_id.to_string()),
                    Some(o) if o.currency() != currency => {
                        problems.add(&field, "error.finance.allocation_currency", o.currency())
                    }
                    Some(o) if value.minor() > o.document_open() || value.minor() <= 0 => {
                        problems.add(&field, "error.finance.allocation_too_large", amount_text(o.document_open()))
                    }
                    Some(_) if allocations.iter().any(|(id, _, _)| *id == a.invoice_id) => {
                        problems.add(&field, "error.finance.allocation_twice", a.invoice_id.to_string())
                    }
                    Some(o) => allocations.push((o.id, value.minor(), o.clears(value.minor())?)),
                }
            }
            if allocations.iter().map(|(_, a, _)| a).sum::<i64>() > amount {
                problems.add("allocations", "error.finance.allocations_exceed", amount_text(amount));
            }
            problems.finish()?;
        }
        None => {
            let mut left = amount;
            for o in open.iter().filter(|o| o.currency() == currency) {
                if left == 0 {
                    break;
                }
                let take = left.min(o.document_open());
                allocations.push((o.id, take, o.clears(take)?));
                left -= take;
            }
        }
    }
    let allocated: i64 = allocations.iter().map(|(_, a, _)| a).sum();
    let unallocated = amount - allocated;
    // An advance is kept in CNY only: what a foreign receipt does not settle has no invoice of
    // its currency to wait for.
    if paid_in.is_some() && unallocated > 0 {
        return Err(
            DomainError::invalid("amount", "error.finance.foreign_unallocated", amount_text(unallocated)).into()
        );
    }
    if paid_in.is_some() {
        // What a foreign receipt clears of each invoice depends on what was settled of it
        // before: the invoices are taken for this transaction and read again, so a receipt of
        // the same invoice committed meanwhile is counted. (CNY receipts clear what they pay and
        // need no lock; the guard in `settle` keeps them within the open amount.)
        let mut ids: Vec<i64> = allocations.iter().map(|(id, _, _)| *id).collect();
        ids.sort_unstable();
        let mut q = db::SqlBuilder::new(format!(
            "SELECT {OPEN_COLUMNS} FROM fin_invoices i JOIN fin_invoice_currency c ON c.invoice_id = i.id WHERE i.id IN ("
        ));
        for (k, id) in ids.iter().enumerate() {
            if k > 0 {
                q.push(", ");
            }
            q.bind(*id);
        }
        q.push(") ORDER BY i.id").push(&tx.dialect().update_lock_of("i, c"));
        open = tx.fetch_all(q.build()).await?.iter().map(open_invoice).collect::<Result<Vec<_>>>()?;
        for (invoice, paid, clears) in allocations.iter_mut() {
            match open.iter().find(|o| o.id == *invoice) {
                Some(o) if o.document_open() >= *paid => *clears = o.clears(*paid)?,
                _ => {
                    return Err(DomainError::Conflict(format!(
                        "invoice {invoice} was settled meanwhile; record the payment again"
                    ))
                    .into())
                }
            }
        }
    }
    // In the ledger: the money at the payment's rate, each invoice's share at the invoice's,
    // and the difference realised as an exchange gain or loss.
    let (amount_in_ledger, cleared) = match &paid_in {
        Some(rate) => (rate.in_cny(amount)?, allocations.iter().map(|(_, _, c)| c).sum::<i64>()),
        None => (amount, allocated),
    };
    let exchange_gain = match &paid_in {
        Some(_) if receipt => amount_in_ledger - cleared,
        Some(_) => cleared - amount_in_ledger,
        None => 0,
    };
    let year: i32 = chrono::NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d")
        .map(|d| chrono::Datelike::year(&d))
        .unwrap_or(0);
    let (code, prefix) = if receipt { ("payment.receipt", "REC") } else { ("payment.payment", "PAY") };
    let number = tx.next_number(company, code, year, &format!("{prefix}/{{year}}/{{seq:05}}")).await?;
    let party_name = party_name.unwrap_or_default();
    // The bank line names no party; the receivable, payable and advance lines name the payer.
    let line = |account: &str, debit: i64, credit: i64| Line {
        account: account.into(),
        debit,
        credit,
        cost_center: String::new(),
        project: String::new(),
        memo: party_name.clone(),
        foreign: None,
        party: (account != bank).then_some(form.party_id),
    };
    let mut lines = Vec::new();
    let mut bank_line = if receipt { line(&bank, amount_in_ledger, 0) } else { line(&bank, 0, amount_in_ledger) };
    bank_line.foreign = paid_in.and_then(|rate| rate.on_line(amount));
    let counter = template.code(if receipt { Role::Receivable } else { Role::Payable });
    let side = |amount: i64| if receipt { (0, amount) } else { (amount, 0) };
    let mut counter_lines = Vec::new();
    if paid_in.is_some() {
        // One receivable (payable) line per invoice, each at its invoice's rate, so 期末调汇
        // finds what is left of each at what it is carried at.
        for (invoice, paid, clears) in &allocations {
            let (debit, credit) = side(*clears);
            let mut settled = line(counter, debit, credit);
            let invoice_rate = open.iter().find(|o| o.id == *invoice).and_then(|o| o.foreign.as_ref()).map(|f| f.0);
            settled.foreign = invoice_rate.and_then(|rate| rate.on_line(*paid));
            counter_lines.push(settled);
        }
    } else if allocated > 0 {
        let (debit, credit) = side(allocated);
        counter_lines.push(line(counter, debit, credit));
    }
    if unallocated > 0 {
        let (debit, credit) = side(unallocated);
        let advance = template.code(if receipt { Role::CustomerAdvance } else { Role::SupplierAdvance });
        counter_lines.push(line(advance, debit, credit));
    }
    if exchange_gain != 0 {
        // A gain lowers 财务费用: credited; a loss debited.
        let (debit, credit) = if exchange_gain > 0 { (0, exchange_gain) } else { (-exchange_gain, 0) };
        let mut difference = Line::cny(template.code(Role::FinancialExpense), debit, credit);
        difference.memo = "汇兑损益".into();
        counter_lines.push(difference);
    }
    if receipt {
        lines.push(bank_line);
        lines.extend(counter_lines);
    } else {
        lines.extend(counter_lines);
        lines.push(bank_line);
    }
    let entry = Entry {
        date: form.date.trim().to_string(),
        period: domain::period_of(form.date.trim()),
        word: if receipt { "收" } else { "付" }.into(),
        memo: format!("{number} {party_name} {}", form.memo.trim()).trim().to_string(),
        lines,
    };
    let (entry_id, _) = service::post_document_entry(tx, company, &entry, "payment").await?;
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let id: i64 = tx.fetch_one(
        sqlx::query(
            "INSERT INTO fin_payments (company_id, kind, party_id, number, payment_date, amount, bank_account, unallocated, entry_id, memo, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(company)
        .bind(&form.kind)
        .bind(form.party_id)
        .bind(&number)
        .bind(form.date.trim())
        .bind(amount_in_ledger)
        .bind(&bank)
        .bind(unallocated)
        .bind(entry_id)
        .bind(form.memo.trim())
        .bind(&now)
        .bind(user),
    )
    .await?
    .try_get("id")?;
    if let Some(rate) = &paid_in {
        tx.execute(
            sqlx::query(
                "INSERT INTO fin_payment_currency (payment_id, currency, rate, amount) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(rate.code())
            .bind(rate.rate_text())
            .bind(amount),
        )
        .await?;
    }
    for (invoice, paid, clears) in &allocations {
        tx.execute(
            sqlx::query(
                "INSERT INTO fin_allocations (payment_id, invoice_id, amount, foreign_amount) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(invoice)
            .bind(clears)
            .bind(paid_in.map(|_| *paid)),
        )
        .await?;
        match paid_in {
            Some(_) => settle_foreign(tx, *invoice, *clears, *paid, "partial").await?,
            None => settle(tx, *invoice, *clears, "record the payment again").await?,
        }
    }
    let mut audited = json!({"kind": [null, form.kind], "number": [null, number], "amount": [null, domain::yuan(amount_in_ledger)], "allocations": [null, allocations.iter().map(|(i, _, c)| (i, c)).collect::<Vec<_>>()], "unallocated": [null, domain::yuan(unallocated)]});
    if let Some(rate) = &paid_in {
        audited["currency"] = json!([null, rate.code()]);
        audited["rate"] = json!([null, rate.rate_text()]);
        audited["foreign_amount"] = json!([null, amount_text(amount)]);
        audited["exchange_gain"] = json!([null, domain::yuan(exchange_gain)]);
    }
    tx.audit("create", "finance.payment", Some(&id.to_string()), &audited).await?;
    let event = if receipt { "finance.PaymentReceived" } else { "finance.PaymentMade" };
    tx.emit(
        "finance.payment",
        &id.to_string(),
        event,
        &json!({"id": id, "number": number, "party_id": form.party_id, "amount": domain::yuan(amount_in_ledger)}),
    )
    .await?;
    Ok(id)
}

/// Settles `amount` of an open invoice: partial, or paid once nothing is left. Guarded: money
/// recorded against it at the same moment cannot push it past its total; then this is refused,
/// saying to `again`.
async fn settle(tx: &mut Tx, invoice: i64, amount: i64, again: &str) -> Result<()> {
    let settled = tx
        .execute(
            sqlx::query(
                "UPDATE fin_invoices SET settled = settled + $1, status = CASE WHEN settled + $1 >= total THEN 'paid' ELSE 'partial' END, \
                 version = version + 1 WHERE id = $2 AND status IN ('open', 'partial') AND settled + $1 <= total",
            )
            .bind(amount)
            .bind(invoice),
        )
        .await?;
    if settled != 1 {
        return Err(DomainError::Conflict(format!("invoice {invoice} was settled meanwhile; {again}")).into());
    }
    Ok(())
}

/// Takes `amount` off what an open credit note owes (a refund, a set-off): open, or paid once
/// nothing is owed. Guarded as [`settle`], saying to `again`.
async fn settle_note(tx: &mut Tx, note: i64, amount: i64, again: &str) -> Result<()> {
    let settled = tx
        .execute(
            sqlx::query(
                "UPDATE fin_invoices SET settled = settled - $1, status = CASE WHEN settled - $1 = total THEN 'paid' ELSE 'open' END, \
                 version = version + 1 WHERE id = $2 AND status = 'open' AND settled - $1 >= total",
            )
            .bind(amount)
            .bind(note),
        )
        .await?;
    if settled != 1 {
        return Err(DomainError::Conflict(format!("credit note {note} was settled meanwhile; {again}")).into());
    }
    Ok(())
}

/// Settles `paid` of an open document written in a foreign currency and `clears` of its CNY
/// with it: `partly` (partial, or open for a credit note) while anything is left in its
/// currency, paid once nothing is. Both are signed as the document is: a refund of a credit
/// note takes back negative amounts. Guarded like [`settle`]: money recorded against it at the
/// same moment cannot take it past its total, and then this is refused.
async fn settle_foreign(tx: &mut Tx, document: i64, clears: i64, paid: i64, partly: &str) -> Result<()> {
    let taken = tx
        .execute(
            sqlx::query(
                "UPDATE fin_invoice_currency SET settled = settled + $1 WHERE invoice_id = $2 \
                 AND CASE WHEN total >= 0 THEN settled + $1 <= total ELSE settled + $1 >= total END",
            )
            .bind(paid)
            .bind(document),
        )
        .await?;
    let settled = tx
        .execute(
            sqlx::query(
                "UPDATE fin_invoices SET settled = settled + $1, \
                 status = CASE WHEN (SELECT c.total - c.settled FROM fin_invoice_currency c WHERE c.invoice_id = $2) = 0 THEN 'paid' ELSE $3 END, \
                 version = version + 1 WHERE id = $2 AND status IN ('open', 'partial')",
            )
            .bind(clears)
            .bind(document)
            .bind(partly),
        )
        .await?;
    if taken != 1 || settled != 1 {
        return Err(DomainError::Conflict(format!("document {document} was settled meanwhile; record it again")).into());
    }
    Ok(())
}

/// What a party had paid in advance by `on` (any date: `None`) and not yet applied: receipts
/// from a customer (payments to a supplier) with an unallocated rest, oldest first, as
/// (payment id, number, rest).
pub async fn advances(
    conn: &mut db::Conn,
    company: i64,
    party_id: i64,
    invoice_kind: &str,
    on: Option<&str>,
) -> Result<Vec<(i64, String, i64)>> {
    let payment_kind = if invoice_kind == "customer" { "receipt" } else { "payment" };
    let rows = sqlx::query(
        "SELECT id, number, unallocated FROM fin_payments WHERE company_id = $1 AND party_id = $2 AND kind = $3 \
         AND unallocated > 0 AND payment_date <= $4 ORDER BY payment_date, id",
    )
    .bind(company)
    .bind(party_id)
    .bind(payment_kind)
    .bind(on.unwrap_or("9999-12-31"))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("number")?, r.try_get("unallocated")?)))
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// An advance applied to an invoice, as entered: the date and how much (empty: as much as the
/// advances and the invoice allow).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyAdvanceForm {
    pub date: String,
    #[serde(default)]
    pub amount: String,
}

/// Applies what a party paid in advance to one of its open invoices (预收/预付冲抵), oldest
/// advance first: the invoice is settled by that much and a 转 voucher moves it from the
/// advance account to the receivable (Dr 2203 / Cr 1122 for a customer; Dr 2202 / Cr 1123
/// for a supplier), since the money came in before the invoice existed. Audited and emitted
/// as `finance.AdvanceApplied`. Returns the voucher number.
pub async fn apply_advance(
    tx: &mut Tx,
    principal: &Principal,
    invoice_id: i64,
    form: &ApplyAdvanceForm,
) -> Result<String> {
    principal.authorize(PAYMENTS)?;
    let company = principal.company_id.0;
    let invoice = load(tx.conn(), company, invoice_id).await?.ok_or(DomainError::NotFound("invoice"))?;
    if invoice.credit_of.is_some() || !["open", "partial"].contains(&invoice.status.as_str()) {
        return Err(DomainError::Conflict("only an open invoice can take an advance".into()).into());
    }
    refuse_foreign(&invoice)?;
    let mut problems = Problems::default();
    let date = problems.check(kernel::dates::parse("date", &form.date)).map(|d| d.to_string());
    if date.as_ref().is_some_and(|d| *d < invoice.date) {
        problems.add("date", "error.finance.setoff_date", &invoice.date);
    }
    // Only money received by the date can settle the invoice on it.
    let advances = advances(tx.conn(), company, invoice.party_id, &invoice.kind, date.as_deref()).await?;
    let available: i64 = advances.iter().map(|(_, _, rest)| rest).sum();
    if available == 0 {
        problems.add("amount", "error.finance.no_advance", &invoice.party_name);
    }
    let most = available.min(invoice.open_amount());
    let amount = amount_at_most(&mut problems, &form.amount, most, "error.finance.setoff_too_large");
    problems.finish()?;
    let customer = invoice.kind == "customer";
    let template = chart::template(tx.conn(), company).await?;
    let line = |account: &str, debit: i64, credit: i64| Line {
        account: account.into(),
        debit,
        credit,
        cost_center: String::new(),
        project: String::new(),
        memo: invoice.party_name.clone(),
        foreign: None,
        party: Some(invoice.party_id),
    };
    let lines = if customer {
        vec![line(template.code(Role::CustomerAdvance), amount, 0), line(template.code(Role::Receivable), 0, amount)]
    } else {
        vec![line(template.code(Role::Payable), amount, 0), line(template.code(Role::SupplierAdvance), 0, amount)]
    };
    let number = invoice.number.clone().unwrap_or_default();
    let date = form.date.trim();
    let entry = Entry {
        date: date.to_string(),
        period: domain::period_of(date),
        word: "转".into(),
        memo: format!("{number} {} 预收预付冲抵", invoice.party_name),
        lines,
    };
    // The advances are taken for the transaction before the voucher is posted: in the order an
    // undo or a refund takes them (the payment's row, then the ledger's balances), so on
    // PostgreSQL they wait for each other instead of deadlocking.
    lock_payments(tx, advances.iter().map(|(id, _, _)| *id)).await?;
    let (entry_id, voucher) = service::post_document_entry(tx, company, &entry, "advance").await?;
    let mut left = amount;
    let mut applied = Vec::new();
    for (payment, payment_number, rest) in advances {
        if left == 0 {
            break;
        }
        let take = left.min(rest);
        left -= take;
        // Guarded: an advance applied elsewhere at the same moment cannot be spent twice.
        let taken = tx
            .execute(
                sqlx::query(
                    "UPDATE fin_payments SET unallocated = unallocated - $1 WHERE id = $2 AND unallocated >= $1",
                )
                .bind(take)
                .bind(payment),
            )
            .await?;
        if taken != 1 {
            return Err(DomainError::Conflict("the advance was applied meanwhile; try again".into()).into());
        }
        tx.execute(
            sqlx::query(
                "INSERT INTO fin_advance_applications (company_id, payment_id, invoice_id, applied_on, amount, entry_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(company)
            .bind(payment)
            .bind(invoice_id)
            .bind(date)
            .bind(take)
            .bind(entry_id)
            .bind(tx.now().to_string()),
        )
        .await?;
        applied.push(json!({"payment": payment_number, "amount": domain::yuan(take)}));
    }
    settle(tx, invoice_id, amount, "apply the advance again").await?;
    tx.audit(
        "apply_advance",
        "finance.invoice",
        Some(&invoice_id.to_string()),
        &json!({"advance": [null, {"voucher": voucher, "date": date, "amount": domain::yuan(amount), "from": applied}]}),
    )
    .await?;
    tx.emit(
        "finance.invoice",
        &invoice_id.to_string(),
        "finance.AdvanceApplied",
        &json!({"invoice_id": invoice_id, "party_id": invoice.party_id, "amount": domain::yuan(amount), "voucher": voucher}),
    )
    .await?;
    Ok(voucher)
}

/// A posted credit note that still owes money, with what it owes (CNY); refused otherwise,
/// saying it cannot be `done` ("refunded", "set off"). `foreign_allowed`: a note in a foreign
/// currency is refunded in it; a set-off moves CNY only and refuses one.
async fn owing_note(
    tx: &mut Tx,
    company: i64,
    note_id: i64,
    done: &str,
    foreign_allowed: bool,
) -> Result<(Invoice, i64)> {
    let note = load(tx.conn(), company, note_id).await?.ok_or(DomainError::NotFound("invoice"))?;
    let owed = -note.open_amount();
    if note.credit_of.is_none() || note.status != "open" || owed <= 0 {
        return Err(DomainError::Conflict(format!("only a credit note that still owes money can be {done}")).into());
    }
    if !foreign_allowed {
        refuse_foreign(&note)?;
    }
    Ok((note, owed))
}

/// Refunds, set-offs and advances move CNY only: a document in a foreign currency is refused
/// for them, saying which currency it is in.
fn refuse_foreign(document: &Invoice) -> Result<()> {
    match &document.foreign {
        Some(f) => Err(DomainError::invalid("amount", "error.finance.foreign_document", &f.currency).into()),
        None => Ok(()),
    }
}

/// The amount a form asks for, in fen: empty means `most`; otherwise more than zero and at
/// most `most`, or `too_large` (with `most` shown) on the `amount` field.
fn amount_at_most(problems: &mut Problems, given: &str, most: i64, too_large: &'static str) -> i64 {
    amount_of_at_most(problems, given, most, too_large, Currency::CNY)
}

/// [`amount_at_most`] in `currency`'s minor units.
fn amount_of_at_most(
    problems: &mut Problems,
    given: &str,
    most: i64,
    too_large: &'static str,
    currency: Currency,
) -> i64 {
    match given.trim() {
        "" => most,
        given => match Money::parse(given, currency) {
            Ok(m) if m.minor() > 0 && m.minor() <= most => m.minor(),
            Ok(_) => {
                problems.add("amount", too_large, crate::domain::decimal_text(most, currency));
                0
            }
            Err(mut e) => {
                e.field = "amount".into();
                problems.0.push(e);
                0
            }
        },
    }
}

/// A refund of what a credit note owes, as entered: the amount (empty: all of it), the date
/// and the cash or bank account (empty: the chart's bank account).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundForm {
    pub date: String,
    /// In the note's currency.
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub bank_account: String,
    #[serde(default)]
    pub memo: String,
    /// For a note in a foreign currency: the rate to CNY on the day the money moves.
    #[serde(default)]
    pub rate: String,
}

/// Refunds what a posted credit note owes: to a customer, paid out of the bank (Dr receivable /
/// Cr bank); from a supplier, received (Dr bank / Cr payable). Recorded as a payment in the
/// money's direction (`RFD/…`), allocated to the note, which goes to paid when nothing is
/// owed any more. Emits `finance.PaymentMade` or `finance.PaymentReceived`. Returns the
/// payment's id.
pub async fn refund(tx: &mut Tx, principal: &Principal, note_id: i64, form: &RefundForm) -> Result<i64> {
    principal.authorize(PAYMENTS)?;
    let company = principal.company_id.0;
    let (note, _) = owing_note(tx, company, note_id, "refunded", true).await?;
    let customer = note.kind == "customer";
    let template = chart::template(tx.conn(), company).await?;
    let mut problems = Problems::default();
    let date = problems.check(kernel::dates::parse("date", &form.date));
    // A note in a foreign currency is refunded in it, at the day's rate: as typed, or the
    // table's.
    let written_in = note.document_rate()?;
    let paid_in = match written_in {
        Some(rate) => fx::document_rate(tx.conn(), company, rate.code(), &form.rate, date, &mut problems).await?,
        None => None,
    };
    let unit = written_in.map_or(Currency::CNY, |r| r.currency);
    let owed = -note.document_open();
    let amount = amount_of_at_most(&mut problems, &form.amount, owed, "error.finance.refund_too_large", unit);
    let bank = template.bank_account(&form.bank_account, &mut problems);
    if form.memo.chars().count() > 200 {
        problems.add("memo", "error.too_long", "200");
    }
    problems.finish()?;
    // In CNY: what the refund clears of the note (at the note's rate, the rest exactly when it
    // clears the rest) and what the money is worth on the day; the difference is realised.
    let (clears, in_ledger) = match (&written_in, &paid_in) {
        (Some(note_rate), Some(day_rate)) => {
            let (_, _, total, settled) = note.document_figures();
            (note_rate.part_in_cny(amount, -settled, -total, -note.settled, -note.total)?, day_rate.in_cny(amount)?)
        }
        _ => (amount, amount),
    };
    // Paying a customer back less yuan than the note carries is a gain; receiving more from a
    // supplier is one too.
    let exchange_gain = if customer { clears - in_ledger } else { in_ledger - clears };
    let date = form.date.trim();
    let number = next_refund_number(tx, company, date).await?;
    let counter = template.code(if customer { Role::Receivable } else { Role::Payable });
    let line = |account: &str, debit: i64, credit: i64| {
        party_line(account, (debit, credit), &note.party_name, (account != bank).then_some(note.party_id))
    };
    let (mut counter_line, mut bank_line) = if customer {
        (line(counter, clears, 0), line(&bank, 0, in_ledger))
    } else {
        (line(counter, 0, clears), line(&bank, in_ledger, 0))
    };
    counter_line.foreign = written_in.and_then(|rate| rate.on_line(amount));
    bank_line.foreign = paid_in.and_then(|rate| rate.on_line(amount));
    let mut lines = if customer { vec![counter_line, bank_line] } else { vec![bank_line, counter_line] };
    if exchange_gain != 0 {
        let (debit, credit) = if exchange_gain > 0 { (0, exchange_gain) } else { (-exchange_gain, 0) };
        let mut difference = Line::cny(template.code(Role::FinancialExpense), debit, credit);
        difference.memo = "汇兑损益".into();
        lines.push(difference);
    }
    let note_number = note.number.clone().unwrap_or_default();
    let entry = Entry {
        date: date.to_string(),
        period: domain::period_of(date),
        word: if customer { "付" } else { "收" }.into(),
        memo: format!("{number} {} {note_number}", note.party_name),
        lines,
    };
    let (entry_id, _) = service::post_document_entry(tx, company, &entry, "payment").await?;
    let refund = RefundRow {
        company,
        customer,
        party_id: note.party_id,
        number: &number,
        date,
        amount: in_ledger,
        bank: &bank,
        entry_id,
        memo: form.memo.trim(),
        gives_back: GivesBack::Note(note_id),
    };
    let id = refund.insert(tx).await?;
    if let Some(rate) = &paid_in {
        tx.execute(
            sqlx::query(
                "INSERT INTO fin_payment_currency (payment_id, currency, rate, amount) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(rate.code())
            .bind(rate.rate_text())
            .bind(amount),
        )
        .await?;
    }
    tx.execute(
        sqlx::query(
            "INSERT INTO fin_allocations (payment_id, invoice_id, amount, foreign_amount) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(note_id)
        .bind(clears)
        .bind(paid_in.map(|_| amount)),
    )
    .await?;
    // Guarded like a receipt: two refunds at once cannot pay back more than the note owes. A
    // note in a foreign currency is paid once nothing is owed in it.
    match paid_in {
        Some(_) => settle_foreign(tx, note_id, -clears, -amount, "open").await?,
        None => settle_note(tx, note_id, amount, "refund it again").await?,
    }
    let mut audited = refund.audited();
    if let Some(rate) = &paid_in {
        audited["currency"] = json!([null, rate.code()]);
        audited["rate"] = json!([null, rate.rate_text()]);
        audited["foreign_amount"] = json!([null, crate::domain::decimal_text(amount, rate.currency)]);
        audited["exchange_gain"] = json!([null, domain::yuan(exchange_gain)]);
    }
    tx.audit("create", "finance.payment", Some(&id.to_string()), &audited).await?;
    refund.emit(tx, id).await?;
    Ok(id)
}

/// Takes receipts or payments for the transaction, in id order (a no-op on SQLite, whose one
/// writer runs a write transaction alone).
async fn lock_payments(tx: &mut Tx, ids: impl Iterator<Item = i64>) -> Result<()> {
    let lock = tx.dialect().update_lock_of("fin_payments");
    if lock.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = ids.collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = db::SqlBuilder::new("SELECT id FROM fin_payments WHERE id IN ");
    q.bind_list(ids).push(" ORDER BY id").push(&lock);
    tx.fetch_all(q.build()).await?;
    Ok(())
}

/// The next refund's number, `RFD/{year}/…`, one sequence for the refunds of credit notes and
/// of advances.
async fn next_refund_number(tx: &mut Tx, company: i64, date: &str) -> Result<String> {
    let year: i32 = date.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    tx.next_number(company, "payment.refund", year, "RFD/{year}/{seq:05}").await
}

/// A voucher line in yuan of a payment's, its memo the party's name, naming the party where
/// it is a line of the party's account (not the bank's).
fn party_line(account: &str, (debit, credit): (i64, i64), party_name: &str, party: Option<i64>) -> Line {
    Line { memo: party_name.to_string(), party, ..Line::cny(account, debit, credit) }
}

/// What a refund gives back: what a credit note owes, or what is left of an advance.
#[derive(Debug, Clone, Copy)]
enum GivesBack {
    Note(i64),
    Advance(i64),
}

/// A refund as stored (a payment in the money's direction), shared by [`refund`] and
/// [`refund_advance`].
struct RefundRow<'a> {
    company: i64,
    /// To a customer (money out), or from a supplier (money in).
    customer: bool,
    party_id: i64,
    number: &'a str,
    date: &'a str,
    /// In CNY, as the ledger booked it.
    amount: i64,
    bank: &'a str,
    entry_id: i64,
    memo: &'a str,
    gives_back: GivesBack,
}

impl RefundRow<'_> {
    fn kind(&self) -> &'static str {
        if self.customer {
            "payment"
        } else {
            "receipt"
        }
    }

    /// The column naming what it gives back, and its id.
    fn gives_back(&self) -> (&'static str, i64) {
        match self.gives_back {
            GivesBack::Note(id) => ("refund_of", id),
            GivesBack::Advance(id) => ("refunds_advance", id),
        }
    }

    async fn insert(&self, tx: &mut Tx) -> Result<i64> {
        let (column, of) = self.gives_back();
        let (now, user) = (tx.now().to_string(), tx.actor().user_id);
        let row = tx
            .fetch_one(
                sqlx::query(&format!(
                    "INSERT INTO fin_payments (company_id, kind, party_id, number, payment_date, amount, bank_account, unallocated, entry_id, memo, created_at, created_by, {column}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12) RETURNING id"
                ))
                .bind(self.company)
                .bind(self.kind())
                .bind(self.party_id)
                .bind(self.number)
                .bind(self.date)
                .bind(self.amount)
                .bind(self.bank)
                .bind(self.entry_id)
                .bind(self.memo)
                .bind(&now)
                .bind(user)
                .bind(of),
            )
            .await?;
        Ok(row.try_get("id")?)
    }

    /// The audit record of its creation (a foreign refund adds its currency's figures).
    fn audited(&self) -> serde_json::Value {
        let (column, of) = self.gives_back();
        json!({"kind": [null, self.kind()], "number": [null, self.number], "amount": [null, domain::yuan(self.amount)], column: [null, of]})
    }

    /// `finance.PaymentMade` to a customer, `finance.PaymentReceived` from a supplier, naming
    /// what it gives back.
    async fn emit(&self, tx: &mut Tx, id: i64) -> Result<()> {
        let (column, of) = self.gives_back();
        let event = if self.customer { "finance.PaymentMade" } else { "finance.PaymentReceived" };
        let payload = json!({"id": id, "number": self.number, "party_id": self.party_id, "amount": domain::yuan(self.amount), column: of});
        tx.emit("finance.payment", &id.to_string(), event, &payload).await
    }
}

/// What is left of an advance given back, as entered: the date, how much (empty: all that is
/// left), the bank account the money leaves (or, from a supplier, comes back) through, a memo.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdvanceRefundForm {
    pub date: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub bank_account: String,
    #[serde(default)]
    pub memo: String,
}

/// Gives back money paid ahead and not applied: to a customer whose order fell through
/// (Dr 2203 预收账款 / Cr bank), or from a supplier returning a prepayment for goods it will not
/// deliver (Dr bank / Cr 1123 预付账款). Recorded as a payment in the money's direction
/// (`RFD/…`, numbered with the refunds of credit notes) that names the advance
/// (`refunds_advance`), which then keeps less to apply to invoices; through the account the
/// advance came in by unless another is named. An advance received in a foreign currency is
/// refused (none exists today, as such a receipt is applied in full, but the check keeps the
/// yuan-only unapplied part from being paid out in yuan should that change). Emits
/// `finance.PaymentMade` or `finance.PaymentReceived`. Returns the refund's id.
pub async fn refund_advance(
    tx: &mut Tx,
    principal: &Principal,
    advance_id: i64,
    form: &AdvanceRefundForm,
) -> Result<i64> {
    principal.authorize(PAYMENTS)?;
    let company = principal.company_id.0;
    // Taken first, so what it holds is read after any application or undo of it committed,
    // and in the order those take it (see `lock_payments`).
    lock_payments(tx, std::iter::once(advance_id)).await?;
    let advance = tx
        .fetch_optional(
            sqlx::query(
                "SELECT p.kind, p.party_id, pa.name, p.number, p.payment_date, p.unallocated, p.bank_account, \
                 CASE WHEN p.refund_of IS NULL AND p.refunds_advance IS NULL THEN 0 ELSE 1 END AS is_refund, \
                 EXISTS (SELECT 1 FROM fin_payment_currency c WHERE c.payment_id = p.id) AS in_foreign \
                 FROM fin_payments p JOIN parties pa ON pa.id = p.party_id WHERE p.company_id = $1 AND p.id = $2",
            )
            .bind(company)
            .bind(advance_id),
        )
        .await?
        .ok_or(DomainError::NotFound("payment"))?;
    let customer = advance.try_get::<String, _>("kind")? == "receipt";
    let (party_id, party_name): (i64, String) = (advance.try_get("party_id")?, advance.try_get("name")?);
    let (advance_number, advance_date): (String, String) =
        (advance.try_get("number")?, advance.try_get("payment_date")?);
    let left: i64 = advance.try_get("unallocated")?;
    if advance.try_get::<i64, _>("is_refund")? != 0 || left <= 0 {
        return Err(DomainError::invalid("refund", "error.finance.no_advance_left", &advance_number).into());
    }
    if db::flag(&advance, "in_foreign")? {
        return Err(DomainError::invalid("amount", "error.finance.foreign_advance_refund", &advance_number).into());
    }
    let template = chart::template(tx.conn(), company).await?;
    let mut problems = Problems::default();
    let date = problems.check(kernel::dates::parse("date", &form.date)).map(|d| d.to_string());
    if date.as_ref().is_some_and(|d| *d < advance_date) {
        problems.add("date", "error.finance.refund_before_advance", &advance_date);
    }
    let amount = amount_at_most(&mut problems, &form.amount, left, "error.finance.refund_too_large");
    // Unless another is named, the money goes back through the account it came in by (an
    // advance carried over came through none: the chart's bank).
    let came_through: String = advance.try_get("bank_account")?;
    let typed = if form.bank_account.trim().is_empty() { came_through.as_str() } else { form.bank_account.as_str() };
    let bank = template.bank_account(typed, &mut problems);
    if form.memo.chars().count() > 200 {
        problems.add("memo", "error.too_long", "200");
    }
    problems.finish()?;
    let date = date.unwrap_or_default();
    let number = next_refund_number(tx, company, &date).await?;
    let held = template.code(if customer { Role::CustomerAdvance } else { Role::SupplierAdvance });
    let line = |account: &str, debit: i64, credit: i64| {
        party_line(account, (debit, credit), &party_name, (account == held).then_some(party_id))
    };
    let lines = if customer {
        vec![line(held, amount, 0), line(&bank, 0, amount)]
    } else {
        vec![line(&bank, amount, 0), line(held, 0, amount)]
    };
    let entry = Entry {
        date: date.clone(),
        period: domain::period_of(&date),
        word: if customer { "付" } else { "收" }.into(),
        memo: format!("{number} {party_name} 退还 {advance_number}"),
        lines,
    };
    let (entry_id, _) = service::post_document_entry(tx, company, &entry, "payment").await?;
    // Guarded like an application: two refunds (or a refund and an application) at once
    // cannot give back more than the advance holds.
    let taken = tx
        .execute(
            sqlx::query("UPDATE fin_payments SET unallocated = unallocated - $1 WHERE id = $2 AND unallocated >= $1")
                .bind(amount)
                .bind(advance_id),
        )
        .await?;
    if taken != 1 {
        return Err(DomainError::Conflict(format!("{advance_number} was applied or refunded meanwhile")).into());
    }
    let refund = RefundRow {
        company,
        customer,
        party_id,
        number: &number,
        date: &date,
        amount,
        bank: &bank,
        entry_id,
        memo: form.memo.trim(),
        gives_back: GivesBack::Advance(advance_id),
    };
    let id = refund.insert(tx).await?;
    tx.audit("create", "finance.payment", Some(&id.to_string()), &refund.audited()).await?;
    tx.audit(
        "update",
        "finance.payment",
        Some(&advance_id.to_string()),
        &json!({"unallocated": [domain::yuan(left), domain::yuan(left - amount)]}),
    )
    .await?;
    refund.emit(tx, id).await?;
    Ok(id)
}

/// Undoes a receipt or payment recorded by mistake (撤销收付款), a refund of a credit note or of
/// an advance among them: its voucher is reversed in red ink on its own date, so the month it
/// was booked in must still be open; the invoices it settled are open again for what it paid
/// (in their currency too), the credit note it refunded owes again, the advance it gave back
/// holds it again; and it is deleted, audited with what it was. Refused while a bank
/// statement line is matched with it (unmatch that first), when what it left as an advance
/// has been applied or given back since, and for an advance carried over with the opening
/// balances (taken back with [`withdraw_carried`]). Emits `finance.PaymentCancelled`.
pub async fn cancel_payment(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(PAYMENTS)?;
    let company = principal.company_id.0;
    // Taken for the transaction first, so an advance applied or a statement line matched
    // meanwhile waits for this and then finds it gone; what uses it is read after, by a
    // statement of its own, which on PostgreSQL sees what committed while the lock was awaited.
    let read = format!(
        "SELECT p.kind, p.party_id, p.number, p.payment_date, p.amount, p.unallocated, p.entry_id, p.opening, \
         p.refund_of, p.refunds_advance, p.bank_account, p.memo FROM fin_payments p WHERE p.company_id = $1 AND p.id = $2{}",
        tx.dialect().update_lock_of("p")
    );
    let payment =
        tx.fetch_optional(sqlx::query(&read).bind(company).bind(id)).await?.ok_or(DomainError::NotFound("payment"))?;
    let number: String = payment.try_get("number")?;
    if payment.try_get::<i64, _>("opening")? != 0 {
        return Err(DomainError::invalid("cancel", "error.finance.cancel_carried", &number).into());
    }
    // A credit note or a set-off of an invoice it settled has taken part of that invoice since:
    // reopening the invoice for all it paid would let it be credited or paid twice.
    let uses = tx
        .fetch_one(
            sqlx::query(
                "SELECT EXISTS (SELECT 1 FROM fin_bank_lines b WHERE b.payment_id = $1) AS matched, \
                 EXISTS (SELECT 1 FROM fin_advance_applications a WHERE a.payment_id = $1) AS applied, \
                 EXISTS (SELECT 1 FROM fin_payments r WHERE r.refunds_advance = $1) AS refunded, \
                 EXISTS (SELECT 1 FROM fin_allocations al JOIN fin_invoices i ON i.id = al.invoice_id \
                   WHERE al.payment_id = $1 AND i.credit_of IS NULL \
                   AND (EXISTS (SELECT 1 FROM fin_invoices n WHERE n.credit_of = i.id AND n.status <> 'draft') \
                        OR EXISTS (SELECT 1 FROM fin_setoffs so WHERE so.invoice_id = i.id))) AS credited",
            )
            .bind(id),
        )
        .await?;
    for (what, refusal) in [
        ("matched", "error.finance.cancel_matched"),
        ("applied", "error.finance.cancel_advance_applied"),
        ("refunded", "error.finance.cancel_advance_refunded"),
        ("credited", "error.finance.cancel_credited"),
    ] {
        if db::flag(&uses, what)? {
            return Err(DomainError::invalid("cancel", refusal, &number).into());
        }
    }
    let entry_id: i64 = payment.try_get("entry_id")?;
    service::reverse_document_entry(tx, company, entry_id).await.map_err(|e| match e {
        // The month is closed (or an account archived since): said of the payment as a whole,
        // not of the voucher's date or lines.
        db::Error::Domain(DomainError::Invalid(mut errors)) => {
            errors.iter_mut().for_each(|e| e.field = "cancel".into());
            DomainError::Invalid(errors).into()
        }
        other => other,
    })?;
    // What it settled comes back open, in the document's currency too: an invoice (bill) is
    // open for more, a credit note it refunded owes again.
    let allocations = tx
        .fetch_all(
            sqlx::query(
                "SELECT al.invoice_id, al.amount, al.foreign_amount, i.credit_of IS NOT NULL AS is_note \
                 FROM fin_allocations al JOIN fin_invoices i ON i.id = al.invoice_id WHERE al.payment_id = $1",
            )
            .bind(id),
        )
        .await?;
    for a in &allocations {
        let (document, clears): (i64, i64) = (a.try_get("invoice_id")?, a.try_get("amount")?);
        let note = db::flag(a, "is_note")?;
        if let Some(paid) = a.try_get::<Option<i64>, _>("foreign_amount")? {
            let paid = if note { -paid } else { paid };
            tx.execute(
                sqlx::query("UPDATE fin_invoice_currency SET settled = settled - $1 WHERE invoice_id = $2")
                    .bind(paid)
                    .bind(document),
            )
            .await?;
        }
        let clears = if note { -clears } else { clears };
        tx.execute(
            sqlx::query(
                "UPDATE fin_invoices SET settled = settled - $1, \
                 status = CASE WHEN credit_of IS NOT NULL THEN 'open' WHEN settled - $1 = 0 THEN 'open' ELSE 'partial' END, \
                 version = version + 1 WHERE id = $2",
            )
            .bind(clears)
            .bind(document),
        )
        .await?;
    }
    let amount: i64 = payment.try_get("amount")?;
    if let Some(advance) = payment.try_get::<Option<i64>, _>("refunds_advance")? {
        tx.execute(
            sqlx::query("UPDATE fin_payments SET unallocated = unallocated + $1 WHERE id = $2")
                .bind(amount)
                .bind(advance),
        )
        .await?;
        tx.audit(
            "update",
            "finance.payment",
            Some(&advance.to_string()),
            &json!({"refund_cancelled": [number, null], "unallocated_added": domain::yuan(amount)}),
        )
        .await?;
    }
    tx.execute(sqlx::query("DELETE FROM fin_allocations WHERE payment_id = $1").bind(id)).await?;
    tx.execute(sqlx::query("DELETE FROM fin_payment_currency WHERE payment_id = $1").bind(id)).await?;
    tx.execute(sqlx::query("DELETE FROM fin_payments WHERE id = $1").bind(id)).await?;
    let party_id: i64 = payment.try_get("party_id")?;
    let settled = allocations
        .iter()
        .map(|a| Ok(json!([a.try_get::<i64, _>("invoice_id")?, domain::yuan(a.try_get("amount")?)])))
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    let kind: String = payment.try_get("kind")?;
    let (refund_of, refunds_advance): (Option<i64>, Option<i64>) =
        (payment.try_get("refund_of")?, payment.try_get("refunds_advance")?);
    let was = json!({"kind": [kind, null], "number": [number, null],
        "date": [payment.try_get::<String, _>("payment_date")?, null], "amount": [domain::yuan(amount), null],
        "party_id": [party_id, null], "settled": [settled, null], "entry_id": [entry_id, null],
        "unallocated": [domain::yuan(payment.try_get("unallocated")?), null],
        "bank_account": [payment.try_get::<String, _>("bank_account")?, null], "memo": [payment.try_get::<String, _>("memo")?, null],
        "refund_of": [refund_of, null], "refunds_advance": [refunds_advance, null]});
    tx.audit("delete", "finance.payment", Some(&id.to_string()), &was).await?;
    tx.emit(
        "finance.payment",
        &id.to_string(),
        "finance.PaymentCancelled",
        &json!({"id": id, "kind": kind, "number": number, "party_id": party_id, "amount": domain::yuan(amount),
            "refund_of": refund_of, "refunds_advance": refunds_advance}),
    )
    .await?;
    Ok(())
}

/// A set-off as entered: the open invoice that a credit note's owed amount goes to, the date,
/// and how much (empty: as much as both allow).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetOffForm {
    pub invoice_id: i64,
    pub date: String,
    #[serde(default)]
    pub amount: String,
}

/// Sets what a posted credit note owes off against another open invoice of the same party and
/// kind (冲抵), as a customer who returned goods takes the credit against the next invoice
/// instead of a refund. No money moves and no voucher is posted: both documents sit on the same
/// receivable (payable) account, so the ledger already nets them; the note owes less, the
/// invoice is open for less, and each goes to paid when nothing is left. Audited on both and
/// emitted as `finance.CreditSetOff`. Returns the set-off's id.
pub async fn set_off(tx: &mut Tx, principal: &Principal, note_id: i64, form: &SetOffForm) -> Result<i64> {
    principal.authorize(PAYMENTS)?;
    let company = principal.company_id.0;
    let (note, owed) = owing_note(tx, company, note_id, "set off", false).await?;
    let mut problems = Problems::default();
    let date = problems.check(kernel::dates::parse("date", &form.date));
    let invoice = load(tx.conn(), company, form.invoice_id).await?.filter(|i| {
        i.party_id == note.party_id
            && i.kind == note.kind
            && i.foreign.is_none()
            && i.credit_of.is_none()
            && ["open", "partial"].contains(&i.status.as_str())
    });
    if invoice.is_none() {
        problems.add("invoice_id", "error.finance.setoff_invoice", form.invoice_id.to_string());
    }
    if let (Some(date), Some(invoice)) = (date, &invoice) {
        let latest = note.date.as_str().max(invoice.date.as_str());
        if date.to_string().as_str() < latest {
            problems.add("date", "error.finance.setoff_date", latest);
        }
    }
    let most = invoice.as_ref().map_or(0, |i| owed.min(i.open_amount()));
    let amount = match invoice {
        Some(_) => amount_at_most(&mut problems, &form.amount, most, "error.finance.setoff_too_large"),
        None => 0,
    };
    problems.finish()?;
    let Some(invoice) = invoice else {
        return Err(DomainError::Internal("validated set-off without its invoice".into()).into());
    };
    let date = form.date.trim();
    let id: i64 = tx
        .fetch_one(
            sqlx::query(
                "INSERT INTO fin_setoffs (company_id, note_id, invoice_id, setoff_date, amount, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(company)
            .bind(note_id)
            .bind(invoice.id)
            .bind(date)
            .bind(amount)
            .bind(tx.now().to_string())
            .bind(tx.actor().user_id),
        )
        .await?
        .try_get("id")?;
    // Guarded like receipts and refunds: set-offs and payments at the same moment cannot take
    // either document past zero.
    settle_note(tx, note_id, amount, "set it off again").await?;
    settle(tx, invoice.id, amount, "set it off again").await?;
    let (note_number, invoice_number) = (note.number.unwrap_or_default(), invoice.number.unwrap_or_default());
    for (document, other) in [(note_id, &invoice_number), (invoice.id, &note_number)] {
        tx.audit(
            "set_off",
            "finance.invoice",
            Some(&document.to_string()),
            &json!({"set_off": [null, {"id": id, "against": other, "amount": domain::yuan(amount), "date": date}]}),
        )
        .await?;
    }
    tx.emit(
        "finance.invoice",
        &note_id.to_string(),
        "finance.CreditSetOff",
        &json!({"id": id, "note_id": note_id, "invoice_id": invoice.id, "party_id": note.party_id, "amount": domain::yuan(amount)}),
    )
    .await?;
    Ok(id)
}

/// A set-off of one document, for its page: the other document, the date and the amount.
#[derive(Debug, Clone, Serialize)]
pub struct SetOffLine {
    pub id: i64,
    pub other_id: i64,
    pub other_number: String,
    pub date: String,
    pub amount: i64,
}

/// The set-offs a credit note or an invoice took part in, oldest first.
pub async fn set_offs(conn: &mut db::Conn, company: i64, document: i64) -> Result<Vec<SetOffLine>> {
    let rows = sqlx::query(
        "SELECT s.id, s.setoff_date, s.amount, o.id AS other_id, o.number AS other_number FROM fin_setoffs s \
         JOIN fin_invoices o ON o.id = CASE WHEN s.note_id = $2 THEN s.invoice_id ELSE s.note_id END \
         WHERE s.company_id = $1 AND (s.note_id = $2 OR s.invoice_id = $2) ORDER BY s.setoff_date, s.id",
    )
    .bind(company)
    .bind(document)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SetOffLine {
                id: r.try_get("id")?,
                other_id: r.try_get("other_id")?,
                other_number: r.try_get::<Option<String>, _>("other_number")?.unwrap_or_default(),
                date: r.try_get("setoff_date")?,
                amount: r.try_get("amount")?,
            })
        })
        .collect()
}

/// A receipt, payment or refund that settled part of a document, for its page.
#[derive(Debug, Clone, Serialize)]
pub struct SettledBy {
    pub payment_id: i64,
    pub number: String,
    pub date: String,
    /// What it cleared of the document, in CNY as the ledger carries it.
    pub amount: i64,
    /// The voucher it posted.
    pub entry_id: i64,
}

/// The receipts, payments and refunds that settled a document, oldest first.
pub async fn settled_by(conn: &mut db::Conn, company: i64, document: i64) -> Result<Vec<SettledBy>> {
    let rows = sqlx::query(
        "SELECT p.id, p.number, p.payment_date, al.amount, p.entry_id FROM fin_allocations al \
         JOIN fin_payments p ON p.id = al.payment_id WHERE p.company_id = $1 AND al.invoice_id = $2 \
         ORDER BY p.payment_date, p.id",
    )
    .bind(company)
    .bind(document)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SettledBy {
                payment_id: r.try_get("id")?,
                number: r.try_get("number")?,
                date: r.try_get("payment_date")?,
                amount: r.try_get("amount")?,
                entry_id: r.try_get("entry_id")?,
            })
        })
        .collect()
}

/// The open invoices of a credit note's party and kind that it can be set off against, oldest
/// first: (id, number, open amount).
pub async fn set_off_candidates(conn: &mut db::Conn, company: i64, note: &Invoice) -> Result<Vec<(i64, String, i64)>> {
    let rows = sqlx::query(
        "SELECT i.id, i.number, i.total - i.settled AS open FROM fin_invoices i WHERE i.company_id = $1 AND i.party_id = $2 AND i.kind = $3 \
         AND i.credit_of IS NULL AND i.status IN ('open', 'partial') \
         AND NOT EXISTS (SELECT 1 FROM fin_invoice_currency c WHERE c.invoice_id = i.id) ORDER BY i.invoice_date, i.id LIMIT 100",
    )
    .bind(company)
    .bind(note.party_id)
    .bind(&note.kind)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((r.try_get("id")?, r.try_get::<Option<String>, _>("number")?.unwrap_or_default(), r.try_get("open")?))
        })
        .collect()
}

/// The query that reads an invoice and its lines in one call (the invoice's columns repeat on
/// each line's row), with `more` columns from `joins`, and `lock` at the end.
fn load_sql(more: &str, joins: &str, lock: &str) -> String {
    format!(
        "SELECT i.kind, i.party_id, p.name AS party_name, i.number, i.status, i.credit_of, i.invoice_date, i.due_date, i.tax_inclusive, i.vat_rounding, \
         i.net, i.tax, i.total, i.settled, i.entry_id, i.memo, i.hold_reason, i.opening, l.line_no, l.description, l.quantity, l.unit_price, \
         l.discount_bp, l.vat_rate_bp, l.account, l.product_id, l.cost_center, l.project, l.net AS line_net, l.tax AS line_tax, l.total AS line_total, \
         c.currency, c.rate, c.net AS doc_net, c.tax AS doc_tax, c.total AS doc_total, c.settled AS doc_settled{more} \
         FROM fin_invoices i JOIN parties p ON p.id = i.party_id LEFT JOIN fin_invoice_lines l ON l.invoice_id = i.id \
         LEFT JOIN fin_invoice_currency c ON c.invoice_id = i.id{joins} \
         WHERE i.company_id = $1 AND i.id = $2 ORDER BY l.line_no{lock}"
    )
}

/// One invoice with its lines.
pub async fn load(conn: &mut db::Conn, company: i64, id: i64) -> Result<Option<Invoice>> {
    let rows = sqlx::query(&load_sql("", "", "")).bind(company).bind(id).fetch_all(&mut *conn).await?;
    invoice_from_rows(id, &rows)
}

/// A draft about to be posted, taken for this transaction alone (PostgreSQL; SQLite's one
/// writer keeps it still), with the chart template of the company's books, which its voucher
/// needs: one call instead of three.
async fn load_for_posting(tx: &mut Tx, company: i64, id: i64) -> Result<Option<(Invoice, VatAccounts)>> {
    let sql = load_sql(
        ", b.template, b.simplified_vat_code, b.taxpayer",
        " LEFT JOIN fin_books b ON b.company_id = i.company_id",
        &tx.dialect().update_lock_of("i"),
    );
    let rows = tx.fetch_all(sqlx::query(&sql).bind(company).bind(id)).await?;
    let Some(invoice) = invoice_from_rows(id, &rows)? else { return Ok(None) };
    let template = chart::stored_template(rows[0].try_get("template")?)?;
    let stored: Option<String> = rows[0].try_get("simplified_vat_code")?;
    let simplified = chart::simplified_vat_code(template, &stored.unwrap_or_default());
    let taxpayer = Taxpayer::from_key(&rows[0].try_get::<Option<String>, _>("taxpayer")?.unwrap_or_default());
    Ok(Some((invoice, VatAccounts { template, simplified, taxpayer })))
}

/// The chart an invoice's voucher is posted in, with the account of the simplified method's
/// VAT in those books, and whether the company is a small-scale taxpayer.
struct VatAccounts {
    template: Template,
    simplified: String,
    taxpayer: Taxpayer,
}

/// The invoice in the rows of [`load_sql`]; none without rows.
fn invoice_from_rows(id: i64, rows: &[db::Row]) -> Result<Option<Invoice>> {
    let Some(r) = rows.first() else { return Ok(None) };
    let mut lines = Vec::with_capacity(rows.len());
    for l in rows {
        if l.try_get::<Option<i64>, _>("line_no")?.is_none() {
            continue;
        }
        lines.push(InvoiceLine {
            description: l.try_get("description")?,
            quantity: l.try_get("quantity")?,
            unit_price: l.try_get("unit_price")?,
            discount_bp: l.try_get("discount_bp")?,
            vat_rate_bp: l.try_get("vat_rate_bp")?,
            account: l.try_get("account")?,
            product_id: l.try_get("product_id")?,
            cost_center: l.try_get("cost_center")?,
            project: l.try_get("project")?,
            net: l.try_get("line_net")?,
            tax: l.try_get("line_tax")?,
            total: l.try_get("line_total")?,
        });
    }
    Ok(Some(Invoice {
        id,
        kind: r.try_get("kind")?,
        party_id: r.try_get("party_id")?,
        party_name: r.try_get("party_name")?,
        number: r.try_get("number")?,
        status: r.try_get("status")?,
        credit_of: r.try_get("credit_of")?,
        date: r.try_get("invoice_date")?,
        due_date: r.try_get("due_date")?,
        tax_inclusive: r.try_get::<i64, _>("tax_inclusive")? == 1,
        vat_rounding: VatRounding::from_key(&r.try_get::<String, _>("vat_rounding")?),
        net: r.try_get("net")?,
        tax: r.try_get("tax")?,
        total: r.try_get("total")?,
        settled: r.try_get("settled")?,
        entry_id: r.try_get("entry_id")?,
        memo: r.try_get("memo")?,
        hold_reason: r.try_get("hold_reason")?,
        opening: r.try_get::<i64, _>("opening")? == 1,
        foreign: match r.try_get::<Option<String>, _>("currency")? {
            Some(currency) => Some(ForeignFigures {
                currency,
                rate: r.try_get("rate")?,
                net: r.try_get("doc_net")?,
                tax: r.try_get("doc_tax")?,
                total: r.try_get("doc_total")?,
                settled: r.try_get("doc_settled")?,
            }),
            None => None,
        },
        lines,
    }))
}

/// An invoice as listed.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceSummary {
    pub id: i64,
    pub number: Option<String>,
    pub party_name: String,
    pub date: String,
    pub due_date: String,
    pub status: String,
    /// In CNY, as the ledger carries it.
    pub total: i64,
    pub settled: i64,
    /// The currency it is written in (`CNY` or a foreign one), and its total and settled in it.
    pub currency: String,
    pub document_total: i64,
    pub document_settled: i64,
    /// Carried over with the opening balances.
    pub opening: bool,
}

impl InvoiceSummary {
    /// An amount of the invoice's currency as shown (`1,234.50`; yen without decimals).
    pub fn amount_text(&self, amount: &i64) -> String {
        Money::from_minor(*amount, Currency::from_code(&self.currency).unwrap_or(Currency::CNY)).to_string()
    }
}

/// The columns of an [`InvoiceSummary`] from `fin_invoices i`, `parties p` and
/// `fin_invoice_currency c` left joined on the invoice.
const SUMMARY_COLUMNS: &str =
    "i.id, i.number, p.name AS party_name, i.invoice_date, i.due_date, i.status, i.total, i.settled, \
     COALESCE(c.currency, 'CNY') AS currency, COALESCE(c.total, i.total) AS document_total, \
     COALESCE(c.settled, i.settled) AS document_settled, i.opening";

/// Invoices of a kind, newest first (at most 500; filter by status).
pub async fn list(conn: &mut db::Conn, company: i64, kind: &str, status: Option<&str>) -> Result<Vec<InvoiceSummary>> {
    let mut q = db::SqlBuilder::new(format!(
        "SELECT {SUMMARY_COLUMNS} FROM fin_invoices i JOIN parties p ON p.id = i.party_id \
         LEFT JOIN fin_invoice_currency c ON c.invoice_id = i.id WHERE i.company_id = "
    ));
    q.bind(company).push(" AND i.kind = ").bind(kind);
    if let Some(status) = status {
        q.push(" AND i.status = ").bind(status);
    }
    q.push(" ORDER BY i.id DESC LIMIT 500");
    let rows = q.build().fetch_all(conn).await?;
    rows.iter().map(summary).collect::<std::result::Result<_, sqlx::Error>>().map_err(Into::into)
}

/// An invoice as listed, from a row with the columns of [`list`].
fn summary(r: &sqlx::any::AnyRow) -> std::result::Result<InvoiceSummary, sqlx::Error> {
    Ok(InvoiceSummary {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        party_name: r.try_get("party_name")?,
        date: r.try_get("invoice_date")?,
        due_date: r.try_get("due_date")?,
        status: r.try_get("status")?,
        total: r.try_get("total")?,
        settled: r.try_get("settled")?,
        currency: r.try_get("currency")?,
        document_total: r.try_get("document_total")?,
        document_settled: r.try_get("document_settled")?,
        opening: r.try_get::<i64, _>("opening")? == 1,
    })
}

/// A receipt or payment as listed.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentSummary {
    pub id: i64,
    pub number: String,
    pub party_id: i64,
    pub party_name: String,
    pub date: String,
    /// In CNY, as the ledger booked it.
    pub amount: i64,
    /// What is still an advance, not applied to any invoice.
    pub unallocated: i64,
    pub entry_id: i64,
    /// For one made in a foreign currency: the currency and the amount in it.
    pub foreign: Option<(String, i64)>,
    /// An advance carried over with the opening balances.
    pub opening: bool,
    /// How much of it was given back ([`refund_advance`]), and by which refunds: (id, number,
    /// date, amount).
    pub refunded: i64,
    pub refunds: Vec<(i64, String, String, i64)>,
    /// The cash or bank account the money moved through; empty for an advance carried over.
    pub bank_account: String,
}

impl PaymentSummary {
    /// The foreign amount as shown: `USD 2,000.00`; empty for a yuan payment.
    pub fn foreign_text(&self) -> String {
        match &self.foreign {
            Some((code, amount)) => {
                format!("{code} {}", Money::from_minor(*amount, Currency::from_code(code).unwrap_or(Currency::CNY)))
            }
            None => String::new(),
        }
    }
}

/// Receipts (`receipt`) or payments (`payment`) dated in a month, newest first; refunds of
/// credit notes are listed with their notes, refunds of advances with their advances
/// (`refunded`), not here.
pub async fn payments(conn: &mut db::Conn, company: i64, kind: &str, month: &str) -> Result<Vec<PaymentSummary>> {
    let rows = sqlx::query(
        "SELECT f.id, f.number, f.party_id, p.name AS party_name, f.payment_date, f.amount, f.unallocated, f.entry_id, f.opening, f.bank_account, \
         c.currency, c.amount AS foreign_amount, \
         (SELECT CAST(COALESCE(SUM(r.amount), 0) AS BIGINT) FROM fin_payments r WHERE r.refunds_advance = f.id) AS refunded \
         FROM fin_payments f JOIN parties p ON p.id = f.party_id LEFT JOIN fin_payment_currency c ON c.payment_id = f.id \
         WHERE f.company_id = $1 AND f.kind = $2 \
         AND f.refund_of IS NULL AND f.refunds_advance IS NULL AND f.payment_date >= $3 AND f.payment_date < $4 ORDER BY f.payment_date DESC, f.id DESC",
    )
    .bind(company)
    .bind(kind)
    .bind(format!("{month}-01"))
    .bind(format!("{month}-32"))
    .fetch_all(&mut *conn)
    .await?;
    let mut summaries = rows
        .iter()
        .map(|r| {
            Ok(PaymentSummary {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                party_id: r.try_get("party_id")?,
                party_name: r.try_get("party_name")?,
                date: r.try_get("payment_date")?,
                amount: r.try_get("amount")?,
                unallocated: r.try_get("unallocated")?,
                entry_id: r.try_get("entry_id")?,
                foreign: match r.try_get::<Option<String>, _>("currency")? {
                    Some(code) => Some((code, r.try_get("foreign_amount")?)),
                    None => None,
                },
                opening: r.try_get::<i64, _>("opening")? == 1,
                refunded: r.try_get("refunded")?,
                refunds: Vec::new(),
                bank_account: r.try_get("bank_account")?,
            })
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    let refunded: Vec<i64> = summaries.iter().filter(|p| p.refunded != 0).map(|p| p.id).collect();
    if !refunded.is_empty() {
        let mut q = db::SqlBuilder::new(
            "SELECT id, number, payment_date, amount, refunds_advance FROM fin_payments WHERE refunds_advance IN ",
        );
        q.bind_list(refunded.iter().copied()).push(" ORDER BY payment_date, id");
        for r in q.build().fetch_all(&mut *conn).await? {
            let advance: i64 = r.try_get("refunds_advance")?;
            if let Some(p) = summaries.iter_mut().find(|p| p.id == advance) {
                p.refunds.push((
                    r.try_get("id")?,
                    r.try_get("number")?,
                    r.try_get("payment_date")?,
                    r.try_get("amount")?,
                ));
            }
        }
    }
    Ok(summaries)
}

/// A party's open invoices (bills) a receipt (payment) can settle, oldest due first.
pub async fn open_invoices(
    conn: &mut db::Conn,
    company: i64,
    party_id: i64,
    kind: &str,
) -> Result<Vec<InvoiceSummary>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM fin_invoices i JOIN parties p ON p.id = i.party_id \
         LEFT JOIN fin_invoice_currency c ON c.invoice_id = i.id WHERE i.company_id = $1 AND i.party_id = $2 AND i.kind = $3 \
         AND i.status IN ('open', 'partial') AND i.credit_of IS NULL ORDER BY i.due_date, i.id"
    );
    let rows = sqlx::query(&sql).bind(company).bind(party_id).bind(kind).fetch_all(conn).await?;
    rows.iter().map(summary).collect::<std::result::Result<_, sqlx::Error>>().map_err(Into::into)
}

/// Open amounts per customer or supplier in the ageing buckets 0–30, 31–60, 61–90 and over 90
/// days past due on `date`, as they were on that date (amounts not yet due count in the first
/// bucket).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgeingRow {
    pub party_id: i64,
    pub party_name: String,
    pub buckets: [i64; 4],
    pub total: i64,
}

/// The statement of the ageing report's open part: (company, invoice kind, date, and the due
/// dates that start 30, 60 and 90 days past due). It reads `fin_invoices_ageing` alone, never
/// the invoice rows; a test checks SQLite's plan says so, since an index added later could
/// lure the planner away (one did: the report read every invoice row through the spend index,
/// 8 times slower).
pub fn ageing_sql() -> String {
    open_ageing_sql(Currency::CNY)
}

/// [`ageing_sql`] of the ageing in `currency`: in yuan every document at the ledger's figures;
/// in a foreign currency only the documents written in it (`$7`), at their figures in it.
fn open_ageing_sql(currency: Currency) -> String {
    let figures = AgeingFigures::of(currency);
    let (open, join, only) = (figures.open, figures.join, figures.only(7));
    format!(
        "SELECT a.party_id, p.name, a.b0, a.b1, a.b2, a.b3 FROM (SELECT i.party_id, \
         CAST(SUM(CASE WHEN i.due_date >= $4 THEN {open} ELSE 0 END) AS BIGINT) AS b0, \
         CAST(SUM(CASE WHEN i.due_date < $4 AND i.due_date >= $5 THEN {open} ELSE 0 END) AS BIGINT) AS b1, \
         CAST(SUM(CASE WHEN i.due_date < $5 AND i.due_date >= $6 THEN {open} ELSE 0 END) AS BIGINT) AS b2, \
         CAST(SUM(CASE WHEN i.due_date < $6 THEN {open} ELSE 0 END) AS BIGINT) AS b3 \
         FROM fin_invoices i{join} WHERE i.company_id = $1 AND i.kind = $2 AND i.status IN ('open', 'partial') AND i.invoice_date <= $3{only} \
         GROUP BY i.party_id) a JOIN parties p ON p.id = a.party_id ORDER BY p.name, a.party_id"
    )
}

/// What differs between the ageing in yuan and the ageing in a foreign currency: where a
/// document's open amount is read, and what settled it after the report's date.
struct AgeingFigures {
    /// A document `i`'s open amount now.
    open: &'static str,
    /// Joined to `fin_invoices i` for the figures in a foreign currency.
    join: &'static str,
    /// The later settlements: (company, kind, date) and, in a foreign currency, the currency
    /// as `$4`.
    later: &'static str,
    foreign: Option<Currency>,
}

impl AgeingFigures {
    fn of(currency: Currency) -> Self {
        if currency == Currency::CNY {
            Self { open: "i.total - i.settled", join: "", later: AGEING_LATER_SETTLEMENTS, foreign: None }
        } else {
            Self {
                open: "c.total - c.settled",
                join: " JOIN fin_invoice_currency c ON c.invoice_id = i.id",
                later: AGEING_LATER_SETTLEMENTS_FOREIGN,
                foreign: Some(currency),
            }
        }
    }

    /// The condition keeping the documents of the foreign currency bound as `$n`.
    fn only(&self, n: usize) -> String {
        if self.foreign.is_some() {
            format!(" AND c.currency = ${n}")
        } else {
            String::new()
        }
    }

    /// Binds the foreign currency, if any, as the next parameter.
    fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match self.foreign {
            Some(currency) => query.bind(currency.code().to_string()),
            None => query,
        }
    }
}

/// What settled the documents of the ageing report after its date, which was open on it:
/// receipts and payments (a refund, for a credit note), advances applied, set-offs and credit
/// notes dated later, as (document, party, its name, the document's due date, amount). Found through
/// date indexes, so on today's date there is nothing to read; kept apart from the open part so
/// that part stays one pass over its covering index.
const AGEING_LATER_SETTLEMENTS: &str = "SELECT o.document_id, o.party_id, p.name, o.due_date, o.amount FROM ( \
     SELECT inv.id AS document_id, inv.party_id, inv.due_date, CASE WHEN inv.credit_of IS NULL THEN al.amount ELSE -al.amount END AS amount \
     FROM fin_payments pay JOIN fin_allocations al ON al.payment_id = pay.id JOIN fin_invoices inv ON inv.id = al.invoice_id \
     WHERE pay.company_id = $1 AND pay.payment_date > $3 AND inv.kind = $2 AND inv.invoice_date <= $3 \
     UNION ALL SELECT inv.id, inv.party_id, inv.due_date, ap.amount \
     FROM fin_advance_applications ap JOIN fin_invoices inv ON inv.id = ap.invoice_id \
     WHERE ap.company_id = $1 AND ap.applied_on > $3 AND inv.kind = $2 AND inv.invoice_date <= $3 \
     UNION ALL SELECT inv.id, inv.party_id, inv.due_date, so.amount \
     FROM fin_setoffs so JOIN fin_invoices inv ON inv.id = so.invoice_id \
     WHERE so.company_id = $1 AND so.setoff_date > $3 AND inv.kind = $2 AND inv.invoice_date <= $3 \
     UNION ALL SELECT note.id, note.party_id, note.due_date, -so.amount \
     FROM fin_setoffs so JOIN fin_invoices note ON note.id = so.note_id \
     WHERE so.company_id = $1 AND so.setoff_date > $3 AND note.kind = $2 AND note.invoice_date <= $3 \
     UNION ALL SELECT inv.id, inv.party_id, inv.due_date, note.credit_applied \
     FROM fin_invoices note JOIN fin_invoices inv ON inv.id = note.credit_of \
     WHERE note.company_id = $1 AND note.credit_of IS NOT NULL AND note.invoice_date > $3 AND note.kind = $2 \
     AND note.status <> 'draft' AND inv.invoice_date <= $3 \
     ) o JOIN parties p ON p.id = o.party_id";

/// [`AGEING_LATER_SETTLEMENTS`] of the documents written in a foreign currency (`$4`), in it:
/// receipts and payments in it (a refund, for a credit note) and credit notes dated later.
/// Set-offs and advances move yuan only, so none settled such a document. What a later note
/// took off its invoice is what it settled of itself less what was refunded of it.
const AGEING_LATER_SETTLEMENTS_FOREIGN: &str = "SELECT o.document_id, o.party_id, p.name, o.due_date, o.amount FROM ( \
     SELECT inv.id AS document_id, inv.party_id, inv.due_date, \
     CAST(CASE WHEN inv.credit_of IS NULL THEN al.foreign_amount ELSE -al.foreign_amount END AS BIGINT) AS amount \
     FROM fin_payments pay JOIN fin_allocations al ON al.payment_id = pay.id JOIN fin_invoices inv ON inv.id = al.invoice_id \
     JOIN fin_invoice_currency c ON c.invoice_id = inv.id \
     WHERE pay.company_id = $1 AND pay.payment_date > $3 AND inv.kind = $2 AND inv.invoice_date <= $3 AND c.currency = $4 \
     UNION ALL SELECT inv.id, inv.party_id, inv.due_date, \
     CAST(-nc.settled - COALESCE((SELECT SUM(r.foreign_amount) FROM fin_allocations r WHERE r.invoice_id = note.id), 0) AS BIGINT) \
     FROM fin_invoices note JOIN fin_invoice_currency nc ON nc.invoice_id = note.id JOIN fin_invoices inv ON inv.id = note.credit_of \
     WHERE note.company_id = $1 AND note.credit_of IS NOT NULL AND note.invoice_date > $3 AND note.kind = $2 \
     AND note.status <> 'draft' AND inv.invoice_date <= $3 AND nc.currency = $4 \
     ) o JOIN parties p ON p.id = o.party_id";

/// Open amounts per party on `date`, as they were on that date: what is open now
/// ([`ageing_sql`]) plus whatever settled it after the date ([`AGEING_LATER_SETTLEMENTS`]).
/// In yuan it counts every document at the ledger's figures; in a foreign currency only the
/// documents written in it, in it.
pub async fn ageing(
    conn: &mut db::Conn,
    company: i64,
    kind: &str,
    date: &str,
    currency: Currency,
) -> Result<Vec<AgeingRow>> {
    let invoice_kind = if kind == "payable" { "supplier" } else { "customer" };
    let on = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("date", "error.date.format", date))?;
    // Compared with stored dates as text, so written as they are (`2026-02-01`).
    let date = &on.to_string();
    // Days past due = `on` − due date, so each bucket is a range of due dates: 0–30 days is due
    // on or after `on` − 30, and so on. The database sums each customer's buckets, so a
    // million open invoices come back as one row a customer.
    let since = |days: i64| (on - chrono::Duration::days(days)).to_string();
    let (d30, d60, d90) = (since(30), since(60), since(90));
    let figures = AgeingFigures::of(currency);
    let open = open_ageing_sql(currency);
    let query = sqlx::query(&open).bind(company).bind(invoice_kind).bind(date).bind(&d30).bind(&d60).bind(&d90);
    let rows = figures.bind(query).fetch_all(&mut *conn).await?;
    let mut by_party: std::collections::BTreeMap<i64, AgeingRow> = std::collections::BTreeMap::new();
    for r in &rows {
        let buckets: [i64; 4] = [r.try_get("b0")?, r.try_get("b1")?, r.try_get("b2")?, r.try_get("b3")?];
        let party_id: i64 = r.try_get("party_id")?;
        by_party.insert(party_id, AgeingRow { party_id, party_name: r.try_get("name")?, buckets, total: 0 });
    }
    let later =
        figures.bind(sqlx::query(figures.later).bind(company).bind(invoice_kind).bind(date)).fetch_all(conn).await?;
    for r in &later {
        let party_id: i64 = r.try_get("party_id")?;
        let due: String = r.try_get("due_date")?;
        let bucket = ageing_bucket(on, &due);
        let row = match by_party.entry(party_id) {
            std::collections::btree_map::Entry::Occupied(row) => row.into_mut(),
            std::collections::btree_map::Entry::Vacant(row) => {
                row.insert(AgeingRow { party_id, party_name: r.try_get("name")?, buckets: [0; 4], total: 0 })
            }
        };
        row.buckets[bucket] += r.try_get::<i64, _>("amount")?;
    }
    let mut rows: Vec<AgeingRow> = by_party
        .into_values()
        .map(|mut row| {
            row.total = row.buckets.iter().sum();
            row
        })
        .collect();
    rows.sort_by(|a, b| a.party_name.cmp(&b.party_name).then(a.party_id.cmp(&b.party_id)));
    Ok(rows)
}

/// The ageing bucket of an amount due on `due` (`YYYY-MM-DD`), seen on `on`: 0 for 0–30 days
/// past due (or not yet due), 1 for 31–60, 2 for 61–90, 3 for more.
fn ageing_bucket(on: chrono::NaiveDate, due: &str) -> usize {
    let since = |days: i64| (on - chrono::Duration::days(days)).to_string();
    if due >= since(30).as_str() {
        0
    } else if due >= since(60).as_str() {
        1
    } else if due >= since(90).as_str() {
        2
    } else {
        3
    }
}

/// One document behind a party's ageing figures: what of it was open on the report's date.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgeingDocument {
    pub id: i64,
    pub number: String,
    pub date: String,
    pub due_date: String,
    /// Days past due on the report's date; negative while not yet due.
    pub days_past_due: i64,
    /// 0–3, as the report's columns.
    pub bucket: usize,
    /// Open on the report's date: in CNY as the ledger carries it, or in the report's foreign
    /// currency.
    pub open: i64,
}

/// The documents behind one party's ageing row on `date`: each invoice, bill or credit note
/// open on that date, with what of it was open then and its bucket, oldest due first. Their
/// open amounts add up to the row's figures, bucket by bucket, as they are read the same way:
/// what is open now plus what settled it after the date.
pub async fn ageing_documents(
    conn: &mut db::Conn,
    company: i64,
    kind: &str,
    date: &str,
    party_id: i64,
    currency: Currency,
) -> Result<Vec<AgeingDocument>> {
    let invoice_kind = if kind == "payable" { "supplier" } else { "customer" };
    let on = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("date", "error.date.format", date))?;
    let date = &on.to_string();
    let figures = AgeingFigures::of(currency);
    let (open, join, only) = (figures.open, figures.join, figures.only(5));
    let open_now = format!(
        "SELECT i.id, i.number, i.invoice_date, i.due_date, {open} AS open FROM fin_invoices i{join} \
         WHERE i.company_id = $1 AND i.kind = $2 AND i.party_id = $3 AND i.status IN ('open', 'partial') AND i.invoice_date <= $4{only}"
    );
    let query = sqlx::query(&open_now).bind(company).bind(invoice_kind).bind(party_id).bind(date);
    let open_now = figures.bind(query).fetch_all(&mut *conn).await?;
    // Open amounts by document; the rows of documents settled in full since the date are
    // read when they turn up among the later settlements.
    let mut open: std::collections::BTreeMap<i64, (i64, Option<sqlx::any::AnyRow>)> = std::collections::BTreeMap::new();
    for r in open_now {
        open.insert(r.try_get("id")?, (r.try_get("open")?, Some(r)));
    }
    // The party is the last parameter: after the currency, when there is one.
    let party = if figures.foreign.is_some() { 5 } else { 4 };
    let later = format!("SELECT document_id, amount FROM ({}) later WHERE party_id = ${party}", figures.later);
    let later = figures
        .bind(sqlx::query(&later).bind(company).bind(invoice_kind).bind(date))
        .bind(party_id)
        .fetch_all(&mut *conn)
        .await?;
    for r in &later {
        open.entry(r.try_get("document_id")?).or_insert((0, None)).0 += r.try_get::<i64, _>("amount")?;
    }
    open.retain(|_, (amount, _)| *amount != 0);
    // The rows of those settled in full since, read together.
    let unread: Vec<i64> = open.iter().filter(|(_, (_, row))| row.is_none()).map(|(id, _)| *id).collect();
    if !unread.is_empty() {
        let mut q = db::SqlBuilder::new("SELECT id, number, invoice_date, due_date FROM fin_invoices WHERE id IN ");
        q.bind_list(unread.iter().copied());
        for r in q.build().fetch_all(&mut *conn).await? {
            if let Some(entry) = open.get_mut(&r.try_get::<i64, _>("id")?) {
                entry.1 = Some(r);
            }
        }
    }
    let mut documents = Vec::with_capacity(open.len());
    for (id, (amount, row)) in open {
        let row = row.ok_or_else(|| DomainError::Internal(format!("invoice {id} not found")))?;
        let due: String = row.try_get("due_date")?;
        let due_day = chrono::NaiveDate::parse_from_str(&due, "%Y-%m-%d")
            .map_err(|_| DomainError::Internal(format!("stored due date {due}")))?;
        documents.push(AgeingDocument {
            id,
            number: row.try_get::<Option<String>, _>("number")?.unwrap_or_default(),
            date: row.try_get("invoice_date")?,
            days_past_due: (on - due_day).num_days(),
            bucket: ageing_bucket(on, &due),
            due_date: due,
            open: amount,
        });
    }
    documents.sort_by(|a, b| a.due_date.cmp(&b.due_date).then(a.id.cmp(&b.id)));
    Ok(documents)
}

/// A line of a customer's (or supplier's) statement of account.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatementLine {
    pub date: String,
    /// `invoice`, `credit_note`, `receipt` or `payment`.
    pub kind: &'static str,
    pub number: String,
    /// What the party owes more (invoices) …
    pub charge: i64,
    /// … or less (receipts, credit notes).
    pub credit: i64,
    pub balance: i64,
    /// Where the line leads: the invoice's page, or the voucher of a receipt or payment.
    pub link: String,
}

/// The currencies a party has documents in: CNY first, then any foreign one.
pub async fn party_currencies(conn: &mut db::Conn, company: i64, party_id: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT c.currency FROM fin_invoices i JOIN fin_invoice_currency c ON c.invoice_id = i.id \
         WHERE i.company_id = $1 AND i.party_id = $2 ORDER BY c.currency",
    )
    .bind(company)
    .bind(party_id)
    .fetch_all(conn)
    .await?;
    let mut currencies = vec!["CNY".to_string()];
    for r in rows {
        currencies.push(r.try_get("currency")?);
    }
    Ok(currencies)
}

/// A statement of account (对账单) for one party between two dates: the balance owed at the
/// start, every invoice, credit note and receipt (or bill and payment) in between, and the
/// balance at the end. Advances show as a negative balance. Documents in a foreign currency
/// count in CNY at their own rates: a receipt counts what it cleared of the invoices it paid,
/// its exchange difference being the company's gain or loss, not the customer's debt.
///
/// In a foreign `currency`, the statement a customer abroad is sent: only the documents
/// written in it, in it (minor units of that currency).
pub async fn party_statement(
    conn: &mut db::Conn,
    company: i64,
    party_id: i64,
    from: &str,
    to: &str,
    currency: Currency,
) -> Result<(i64, Vec<StatementLine>)> {
    let mut problems = kernel::error::Problems::default();
    let mut read = |field: &str, date: &str| match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(day) => Some(day),
        Err(_) => {
            problems.add(field, "error.date.format", date);
            None
        }
    };
    let days = (read("from", from), read("to", to));
    if let (Some(first), Some(last)) = days {
        if first > last {
            problems.add("to", "error.finance.dates_reversed", to);
        }
    }
    problems.finish()?;
    // Read as dates, written as the ledger writes them (`2026-02-01`, not `2026-2-1`), since
    // they are compared with stored dates as text.
    let (from, to) = (days.0.unwrap_or_default().to_string(), days.1.unwrap_or_default().to_string());
    let (from, to) = (from.as_str(), to.as_str());
    let sql = if currency == Currency::CNY {
        "SELECT invoice_date AS day, CASE WHEN credit_of IS NULL THEN 'invoice' ELSE 'credit_note' END AS kind, number, total AS amount, id, \
           kind AS document, id AS target \
         FROM fin_invoices WHERE company_id = $1 AND party_id = $2 AND status <> 'draft' AND invoice_date <= $3 \
         UNION ALL \
         SELECT p.payment_date AS day, CASE WHEN p.refund_of IS NULL AND p.refunds_advance IS NULL THEN p.kind ELSE 'refund' END AS kind, p.number, \
           CASE WHEN p.refund_of IS NULL AND p.refunds_advance IS NULL THEN -1 ELSE 1 END * COALESCE(f.cleared, p.amount) AS amount, p.id, 'payment' AS document, p.entry_id AS target \
         FROM fin_payments p LEFT JOIN (SELECT a.payment_id, CAST(SUM(a.amount) AS BIGINT) AS cleared FROM fin_allocations a \
           JOIN fin_payment_currency c ON c.payment_id = a.payment_id GROUP BY a.payment_id) f ON f.payment_id = p.id \
         WHERE p.company_id = $1 AND p.party_id = $2 AND p.payment_date <= $3 \
         ORDER BY day, kind, id"
    } else {
        "SELECT i.invoice_date AS day, CASE WHEN i.credit_of IS NULL THEN 'invoice' ELSE 'credit_note' END AS kind, i.number, c.total AS amount, i.id, \
           i.kind AS document, i.id AS target \
         FROM fin_invoices i JOIN fin_invoice_currency c ON c.invoice_id = i.id \
         WHERE i.company_id = $1 AND i.party_id = $2 AND i.status <> 'draft' AND i.invoice_date <= $3 AND c.currency = $4 \
         UNION ALL \
         SELECT p.payment_date AS day, CASE WHEN p.refund_of IS NULL AND p.refunds_advance IS NULL THEN p.kind ELSE 'refund' END AS kind, p.number, \
           CASE WHEN p.refund_of IS NULL AND p.refunds_advance IS NULL THEN -1 ELSE 1 END * c.amount AS amount, p.id, 'payment' AS document, p.entry_id AS target \
         FROM fin_payments p JOIN fin_payment_currency c ON c.payment_id = p.id \
         WHERE p.company_id = $1 AND p.party_id = $2 AND p.payment_date <= $3 AND c.currency = $4 \
         ORDER BY day, kind, id"
    };
    let mut query = sqlx::query(sql).bind(company).bind(party_id).bind(to);
    if currency != Currency::CNY {
        query = query.bind(currency.code());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut opening = 0i64;
    let mut lines = Vec::new();
    let mut balance = 0i64;
    for r in rows {
        let day: String = r.try_get("day")?;
        let amount: i64 = r.try_get("amount")?;
        if day.as_str() < from {
            opening += amount;
            balance = opening;
            continue;
        }
        balance += amount;
        let kind: String = r.try_get("kind")?;
        lines.push(StatementLine {
            date: day,
            kind: match kind.as_str() {
                "invoice" => "invoice",
                "credit_note" => "credit_note",
                "receipt" => "receipt",
                "refund" => "refund",
                _ => "payment",
            },
            number: r.try_get::<Option<String>, _>("number")?.unwrap_or_default(),
            charge: amount.max(0),
            credit: (-amount).max(0),
            balance,
            link: {
                let target: i64 = r.try_get("target")?;
                match r.try_get::<String, _>("document")?.as_str() {
                    "customer" => format!("/finance/invoices/{target}"),
                    "supplier" => format!("/finance/bills/{target}"),
                    _ => format!("/finance/entries/{target}"),
                }
            },
        });
    }
    Ok((opening, lines))
}

//! The VAT return (增值税申报) a general taxpayer files each month, as the ledger shows it (a
//! small-scale taxpayer's, monthly or quarterly, is the simplified method's part of it, with
//! the exemption of small sales; see `vat::Taxpayer`):
//! its sales under the general method (13, 9, 6, 0 %) and under the simplified method (简易计税,
//! 5, 3, 1 %), whose tax stands on its own account and is paid as it is, and exempt sales (免税);
//! sales and purchases of the posted invoices, bills and credit notes by VAT rate (the
//! schedules, 附列资料), and from the VAT accounts the output and input tax, the input tax
//! taken back (进项税额转出, which adds to the tax), what was carried
//! in, the tax payable or the credit carried forward (留抵), and what is still to be
//! transferred; and the month-end transfer of unpaid VAT (月末结转未交增值税: Dr 应交税费—应交
//! 增值税（转出未交增值税）, Cr 应交税费—未交增值税), after which the VAT accounts hold only a
//! credit carried forward (or tax paid ahead) and 未交增值税 holds the tax to pay next month. The same step
//! accrues the surtaxes on the month's tax (`surtaxes`).
//!
//! The schedules read the invoices of the vouchers posted in the months asked for (so a
//! document counts in the month it was booked); the figures that count read the balance rows
//! of the VAT accounts, so a VAT line entered by hand counts too, and the difference shows.
//! The schedules start from the month's vouchers and reach their invoices by `entry_id`
//! (index `fin_invoices_entry`; `CROSS JOIN` keeps SQLite's planner to that order: left free,
//! it read every invoice of the company, 35 ms at a quarter of a million).

use crate::chart::{self, Role};
use crate::domain::{self, Entry, PostedVoucher};
use crate::fx::DocumentRate;
use crate::service;
use crate::surtaxes::{self, SurtaxRow, VatExemption};
use crate::vat::Taxpayer;
use db::{Result, Tx};
use kernel::permission::Principal;
use kernel::DomainError;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

/// One VAT rate's documents of one side (sales or purchases) in CNY.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RateRow {
    /// In basis points: 1300 is 13 %.
    pub rate_bp: i64,
    pub documents: i64,
    pub net: i64,
    pub tax: i64,
}

impl RateRow {
    /// The rate as sent: `13`, `0`, `exempt`.
    pub fn rate_text(&self) -> String {
        kernel::vat::choice(self.rate_bp)
    }
}

/// The VAT return of `from..=to` (months).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct VatReturn {
    pub from: String,
    pub to: String,
    /// Posted customer invoices and their credit notes, by rate, highest first.
    pub sales: Vec<RateRow>,
    /// Posted supplier bills and their credit notes, by rate.
    pub purchases: Vec<RateRow>,
    /// The output VAT account's credits less debits over the months.
    pub output: i64,
    /// The input VAT account's debits less credits.
    pub input: i64,
    /// Input VAT taken back (进项税额转出), credit positive: it adds to the tax.
    pub input_reversed: i64,
    /// VAT taken off the tax by law (减免税款) and output VAT taken off under the difference
    /// method (销项税额抵减), debit positive: they lower the tax.
    pub reduction: i64,
    pub output_deduction: i64,
    /// What the VAT accounts held before `from`, credit positive …
    pub opening: i64,
    /// … of it, as the months before filed it ([`filed_monthly`]): the input credit carried
    /// in (上期留抵), and the tax of earlier months still to transfer.
    pub credit_carried_in: i64,
    pub untransferred_before: i64,
    /// The tax payable, month by month added up: each month's output plus input taken back
    /// less input, reductions and output deductions, less the credit it carried in, never
    /// below zero ([`filed_monthly`]).
    pub payable: i64,
    /// The simplified method's VAT the months' sales credited (简易计税应纳税额): paid as it is,
    /// beside the general method's tax, never reduced by input VAT.
    pub simplified: i64,
    /// The VAT the surtaxes are levied on: what the months moved, or are still to move, to
    /// 未交增值税, and the simplified method's VAT (see [`surtaxes::rows`]).
    pub surtax_base: i64,
    /// The surtaxes on it (附加税费), and what of them was accrued.
    pub surtaxes: Vec<SurtaxRow>,
    /// The months exempted from the education surcharges by their small sales.
    pub surtax_exempt_months: Vec<String>,
    /// Whether the company files as a general or a small-scale taxpayer.
    pub taxpayer: Taxpayer,
    /// A small-scale taxpayer's months and the VAT their small sales exempt them from
    /// (免税额), with what the month-end moved for it already; none for a general taxpayer.
    pub vat_exempt: Vec<VatExemption>,
    /// Transferred out as unpaid or paid within the months (the VAT accounts' other debits).
    pub settled: i64,
    /// The documents of each schedule, each counted once whatever its rates.
    pub sales_documents: i64,
    pub purchase_documents: i64,
    /// What the VAT accounts hold at the end of `to`, credit positive: what is still to be
    /// transferred less the credit carried forward.
    pub closing: i64,
    /// The closing split as the months' returns split it (see [`filed_monthly`]): the tax
    /// still to be transferred, the input credit carried forward, and what was paid beyond
    /// what was owed (多缴).
    pub untransferred: i64,
    pub credit_carried: i64,
    pub paid_ahead: i64,
    /// The accounts the figures are read from, for their drill-down: output, input, input
    /// taken back.
    pub output_account: &'static str,
    pub input_account: &'static str,
    pub reversed_account: &'static str,
    pub reduction_account: &'static str,
    pub deduction_account: &'static str,
    pub simplified_account: String,
}

impl VatReturn {
    /// The credit carried forward (期末留抵税额), never below zero.
    pub fn carried_forward(&self) -> i64 {
        self.credit_carried
    }

    /// What is still to be transferred to 未交增值税 at the end of `to`.
    pub fn to_transfer(&self) -> i64 {
        self.untransferred
    }

    /// The surtaxes still to accrue, all three (negative: accrued too much, to take back).
    pub fn surtaxes_to_accrue(&self) -> i64 {
        self.surtaxes.iter().map(SurtaxRow::to_accrue).sum()
    }

    /// The surtaxes due, all three.
    pub fn surtaxes_due(&self) -> i64 {
        self.surtaxes.iter().map(|s| s.due).sum()
    }

    /// Whether the month-end button has something to post.
    pub fn month_end_pending(&self) -> bool {
        self.to_transfer() > 0
            || self.surtaxes.iter().any(|s| s.to_accrue() != 0)
            || self.vat_exempt.iter().any(|e| e.to_move() != 0)
    }

    /// The VAT a small-scale taxpayer's months of small sales are exempted from (本期免税额).
    pub fn exempt_total(&self) -> i64 {
        self.vat_exempt.iter().map(|e| e.exempt).sum()
    }

    /// The months of small sales, exempted from VAT, with their exempt tax.
    pub fn exempt_months(&self) -> Vec<&VatExemption> {
        self.vat_exempt.iter().filter(|e| e.exempt != 0).collect()
    }

    /// Whether the return is a small-scale taxpayer's, filed monthly or quarterly.
    pub fn small_scale(&self) -> bool {
        self.taxpayer.small_scale()
    }

    pub fn sales_total(&self) -> RateRow {
        RateRow { documents: self.sales_documents, ..total(&self.sales) }
    }

    /// The sales rows of one method: the general (13, 9, 6, 0 %) or the simplified (5, 3, 1 %).
    pub fn sales_of(&self, simplified: bool) -> Vec<&RateRow> {
        self.sales.iter().filter(|r| kernel::vat::simplified_method(r.rate_bp) == simplified).collect()
    }

    /// The tax to pay for the months under both methods, less what small sales exempt.
    pub fn tax_due(&self) -> i64 {
        self.payable + self.simplified - self.exempt_total()
    }

    pub fn purchases_total(&self) -> RateRow {
        RateRow { documents: self.purchase_documents, ..total(&self.purchases) }
    }

    /// Output VAT booked other than through invoices at the general method's rates (a
    /// voucher entered by hand).
    pub fn output_elsewhere(&self) -> i64 {
        self.output - self.sales_of(false).iter().map(|r| r.tax).sum::<i64>()
    }

    /// The simplified method's VAT booked other than through invoices at its rates.
    pub fn simplified_elsewhere(&self) -> i64 {
        self.simplified - self.sales_of(true).iter().map(|r| r.tax).sum::<i64>()
    }

    /// Input VAT booked other than through bills: all of it for a small-scale taxpayer, whose
    /// bills put their VAT into cost.
    pub fn input_elsewhere(&self) -> i64 {
        match self.taxpayer.costs_input_vat() {
            true => self.input,
            false => self.input - self.purchases_total().tax,
        }
    }

    /// The sales no input VAT may be set against: exempt (免税) and under the simplified
    /// method (简易计税).
    pub fn sales_without_deduction(&self) -> i64 {
        let exempt: i64 = self.sales.iter().filter(|r| kernel::vat::is_exempt(r.rate_bp)).map(|r| r.net).sum();
        exempt + self.sales_of(true).iter().map(|r| r.net).sum::<i64>()
    }

    /// The input VAT to take back (进项税额转出) for those sales when none of the months' input
    /// can be set apart for them (当期无法划分的全部进项税额 × (简易计税销售额 + 免税销售额) ÷
    /// 当期全部销售额), rounded half up to the fen; nothing without such sales.
    pub fn input_share_to_take_back(&self) -> i64 {
        let (share, all) = (self.sales_without_deduction(), self.sales_total().net);
        if share <= 0 || all <= 0 || self.input <= 0 {
            return 0;
        }
        let exact = rust_decimal::Decimal::from(self.input) * rust_decimal::Decimal::from(share)
            / rust_decimal::Decimal::from(all);
        let fen = exact.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        i64::try_from(fen).unwrap_or(0)
    }
}

fn total(rows: &[RateRow]) -> RateRow {
    rows.iter().fold(RateRow::default(), |sum, r| RateRow {
        rate_bp: 0,
        documents: sum.documents + r.documents,
        net: sum.net + r.net,
        tax: sum.tax + r.tax,
    })
}

/// Reads the VAT return of the months `from..=to`, for a quarterly filer of the quarters they
/// fall in.
pub async fn vat_return(conn: &mut db::Conn, company: i64, from: &str, to: &str) -> Result<VatReturn> {
    let (from, to) = domain::period_range(from, to)?;
    // A quarterly filer's return is the quarter's, whatever months of it were asked for.
    let taxpayer = crate::invoicing::taxpayer(&mut *conn, company).await?;
    let (from, to) = taxpayer.whole_returns(&from, &to);
    let template = chart::template(&mut *conn, company).await?;
    let mut sides: BTreeMap<(String, i64), RateRow> = BTreeMap::new();
    // Documents in yuan: their lines add up as stored.
    let yuan = sqlx::query(
        "SELECT i.kind, l.vat_rate_bp, COUNT(DISTINCT i.id) AS documents, \
         CAST(SUM(l.net) AS BIGINT) AS net, CAST(SUM(l.tax) AS BIGINT) AS tax \
         FROM fin_entries e CROSS JOIN fin_invoices i JOIN fin_invoice_lines l ON l.invoice_id = i.id \
         WHERE i.entry_id = e.id AND e.company_id = $1 AND e.kind IN ('invoice', 'credit_note') AND e.period >= $2 AND e.period <= $3 \
         AND e.status = 'posted' AND NOT EXISTS (SELECT 1 FROM fin_invoice_currency c WHERE c.invoice_id = i.id) \
         GROUP BY i.kind, l.vat_rate_bp",
    )
    .bind(company)
    .bind(&from)
    .bind(&to)
    .fetch_all(&mut *conn)
    .await?;
    for r in &yuan {
        let row = sides.entry((r.try_get("kind")?, r.try_get("vat_rate_bp")?)).or_default();
        row.documents += r.try_get::<i64, _>("documents")?;
        row.net += r.try_get::<i64, _>("net")?;
        row.tax += r.try_get::<i64, _>("tax")?;
    }
    // Each side's documents, and per month the sales in yuan the surtaxes' exemption reads
    // (as `surtaxes::monthly_sales` does on its own).
    let counted = sqlx::query(
        "SELECT i.kind, e.period, COUNT(*) AS documents, CAST(SUM(i.net) AS BIGINT) AS net, CAST(SUM(i.tax) AS BIGINT) AS tax \
         FROM fin_entries e CROSS JOIN fin_invoices i \
         WHERE i.entry_id = e.id AND e.company_id = $1 AND e.kind IN ('invoice', 'credit_note') AND e.period >= $2 AND e.period <= $3 \
         AND e.status = 'posted' GROUP BY i.kind, e.period",
    )
    .bind(company)
    .bind(&from)
    .bind(&to)
    .fetch_all(&mut *conn)
    .await?;
    let mut documents_of: BTreeMap<String, i64> = BTreeMap::new();
    let mut sales = Vec::new();
    for r in &counted {
        let kind: String = r.try_get("kind")?;
        *documents_of.entry(kind.clone()).or_default() += r.try_get::<i64, _>("documents")?;
        if kind == "customer" {
            sales.push(surtaxes::MonthSales {
                month: r.try_get("period")?,
                net: r.try_get::<Option<i64>, _>("net")?.unwrap_or(0),
                tax: r.try_get::<Option<i64>, _>("tax")?.unwrap_or(0),
            });
        }
    }
    // Documents in a foreign currency: each one's CNY net and tax, as booked, shared over its
    // rates by their amounts in its currency, so the schedules add up to the ledger's yuan.
    let foreign = sqlx::query(
        "SELECT i.id, i.kind, i.net AS cny_net, i.tax AS cny_tax, c.currency, c.rate, l.vat_rate_bp, l.net, l.tax \
         FROM fin_entries e CROSS JOIN fin_invoices i JOIN fin_invoice_currency c ON c.invoice_id = i.id \
         JOIN fin_invoice_lines l ON l.invoice_id = i.id \
         WHERE i.entry_id = e.id AND e.company_id = $1 AND e.kind IN ('invoice', 'credit_note') AND e.period >= $2 AND e.period <= $3 \
         AND e.status = 'posted' ORDER BY i.id, l.line_no",
    )
    .bind(company)
    .bind(&from)
    .bind(&to)
    .fetch_all(&mut *conn)
    .await?;
    let mut documents: BTreeMap<i64, ForeignDocument> = BTreeMap::new();
    for r in &foreign {
        let id: i64 = r.try_get("id")?;
        let document = match documents.entry(id) {
            std::collections::btree_map::Entry::Occupied(d) => d.into_mut(),
            std::collections::btree_map::Entry::Vacant(d) => d.insert(ForeignDocument {
                kind: r.try_get("kind")?,
                rate: DocumentRate::stored(&r.try_get::<String, _>("currency")?, &r.try_get::<String, _>("rate")?)?,
                cny_net: r.try_get("cny_net")?,
                cny_tax: r.try_get("cny_tax")?,
                by_rate: BTreeMap::new(),
            }),
        };
        let amounts = document.by_rate.entry(r.try_get("vat_rate_bp")?).or_insert((0, 0));
        amounts.0 += r.try_get::<i64, _>("net")?;
        amounts.1 += r.try_get::<i64, _>("tax")?;
    }
    for document in documents.into_values() {
        let rates: Vec<i64> = document.by_rate.keys().copied().collect();
        let nets: Vec<i64> = document.by_rate.values().map(|a| a.0).collect();
        let taxes: Vec<i64> = document.by_rate.values().map(|a| a.1).collect();
        let nets = document.rate.split(&nets, document.cny_net)?;
        let taxes = document.rate.split(&taxes, document.cny_tax)?;
        for (i, rate_bp) in rates.into_iter().enumerate() {
            let row = sides.entry((document.kind.clone(), rate_bp)).or_default();
            row.documents += 1;
            row.net += nets[i];
            row.tax += taxes[i];
        }
    }
    let side = |kind: &str| -> Vec<RateRow> {
        let mut rows: Vec<RateRow> = sides
            .iter()
            .filter(|((k, _), _)| k == kind)
            .map(|((_, rate_bp), row)| RateRow { rate_bp: *rate_bp, ..row.clone() })
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.rate_bp));
        rows
    };
    let (output_account, input_account) = (template.code(Role::OutputVat), template.code(Role::InputVat));
    let reversed_account = template.code(Role::InputVatReversed);
    let movement = |rows: &[(String, String, i64)], code: &str| -> i64 {
        rows.iter().filter(|(c, p, _)| c.starts_with(code) && p.as_str() >= from.as_str()).map(|r| r.2).sum()
    };
    let balances = vat_balances(conn, company, template, &to).await?;
    let credit = |code: &str| -movement(&balances, code);
    let output = credit(output_account);
    let input = -credit(input_account);
    let input_reversed = credit(reversed_account);
    let (reduction_account, deduction_account) =
        (template.code(Role::VatReduction), template.code(Role::OutputVatDeduction));
    let (reduction, output_deduction) = (-credit(reduction_account), -credit(deduction_account));
    let filed = filed_monthly(&balances, template);
    let months = crate::costs::months(&from, &to)?;
    let payable = months.iter().filter_map(|m| filed.due.get(m)).sum();
    let closing: i64 = balances.iter().map(|r| -r.2).sum();
    let surtaxes = surtaxes::rows(conn, company, template, &months, &filed.due, &sales, taxpayer).await?;
    // Credit positive, as the VAT accounts are liabilities.
    let earlier: Vec<(String, String, i64)> = balances.iter().filter(|(_, p, _)| *p < from).cloned().collect();
    let opening: i64 = earlier.iter().map(|r| -r.2).sum();
    let before = filed_monthly(&earlier, template);
    let moved = closing - opening;
    Ok(VatReturn {
        sales: side("customer"),
        purchases: side("supplier"),
        sales_documents: documents_of.get("customer").copied().unwrap_or(0),
        purchase_documents: documents_of.get("supplier").copied().unwrap_or(0),
        output,
        input,
        opening,
        credit_carried_in: before.credit,
        untransferred_before: before.untransferred,
        payable,
        simplified: surtaxes.simplified,
        surtax_base: surtaxes.base,
        surtaxes: surtaxes.rows,
        surtax_exempt_months: surtaxes.exempt_months,
        taxpayer,
        vat_exempt: surtaxes.vat_exempt,
        // What moved in the months beside the tax's own columns: transfers and payments (debits).
        settled: output + input_reversed - input - reduction - output_deduction - moved,
        closing,
        untransferred: filed.untransferred,
        credit_carried: filed.credit,
        paid_ahead: filed.ahead,
        output_account,
        input_account,
        reversed_account,
        simplified_account: surtaxes.simplified_account,
        input_reversed,
        reduction,
        output_deduction,
        reduction_account,
        deduction_account,
        from,
        to,
    })
}

/// A foreign-currency document of the schedules: its CNY figures and its amounts by VAT rate
/// in its currency (net, tax).
struct ForeignDocument {
    kind: String,
    rate: DocumentRate,
    cny_net: i64,
    cny_tax: i64,
    by_rate: BTreeMap<i64, (i64, i64)>,
}

/// The VAT accounts' movements up to `to` per account and month, as (code, period, debit less
/// credit), read from the balance rows.
/// The VAT accounts' months as returns filed month by month see them: each month's tax due
/// (its output and input taken back, less its input, reductions and output deductions and the
/// credit carried into it, never
/// below zero), and at the end what of it is still to be transferred to 未交增值税, the input
/// credit carried forward (留抵) and what was paid beyond what was owed (多缴). A month's tax
/// left untransferred is owed as it was filed: a later month's excess input does not pay it
/// but is carried forward, as on the return. Together they always make what the accounts
/// hold: untransferred less credit less paid ahead.
pub(crate) struct Filed {
    pub due: BTreeMap<String, i64>,
    pub untransferred: i64,
    pub credit: i64,
    pub ahead: i64,
}

/// Splits the VAT accounts' balance rows (code, period, debit less credit), from the first
/// month, as [`Filed`] says.
pub(crate) fn filed_monthly(balances: &[(String, String, i64)], template: chart::Template) -> Filed {
    let tax_accounts =
        [Role::OutputVat, Role::InputVat, Role::InputVatReversed, Role::VatReduction, Role::OutputVatDeduction]
            .map(|r| template.code(r));
    // Per month, credit positive: the tax, and what settled it (transfers out, payments).
    let mut months: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for (code, period, net) in balances {
        let month = months.entry(period.as_str()).or_default();
        match tax_accounts.iter().any(|a| code.starts_with(a)) {
            true => month.0 -= net,
            false => month.1 += net,
        }
    }
    let mut filed = Filed { due: BTreeMap::new(), untransferred: 0, credit: 0, ahead: 0 };
    for (month, (tax, settled)) in months {
        let net = tax - filed.credit;
        let due = net.max(0);
        filed.credit = (-net).max(0);
        let mut owed = filed.untransferred + due;
        // What was paid ahead pays what is owed now.
        let used = filed.ahead.min(owed);
        (owed, filed.ahead) = (owed - used, filed.ahead - used);
        if settled >= 0 {
            // Transferred or paid: what is owed first, the rest paid ahead.
            let paid = settled.min(owed);
            (owed, filed.ahead) = (owed - paid, filed.ahead + settled - paid);
        } else {
            // A transfer or payment undone (red ink): what it paid ahead first, then owed again.
            let back = (-settled).min(filed.ahead);
            (owed, filed.ahead) = (owed - settled - back, filed.ahead - back);
        }
        filed.untransferred = owed;
        filed.due.insert(month.to_string(), due);
    }
    filed
}

/// The balance rows of the VAT accounts (`chart::Template::vat_accounts`, with their
/// sub-accounts) up to `to`, as (code, period, debit less credit).
async fn vat_balances(
    conn: &mut db::Conn,
    company: i64,
    template: chart::Template,
    to: &str,
) -> Result<Vec<(String, String, i64)>> {
    let mut out = Vec::new();
    for prefix in template.vat_accounts() {
        let rows = sqlx::query(
            "SELECT a.code, b.period, CAST(SUM(b.debit - b.credit) AS BIGINT) AS net FROM fin_balances b \
             JOIN fin_accounts a ON a.id = b.account_id WHERE b.company_id = $1 AND b.period <= $2 \
             AND (a.code = $3 OR a.code LIKE $4) GROUP BY a.code, b.period",
        )
        .bind(company)
        .bind(to)
        .bind(*prefix)
        .bind(format!("{prefix}%"))
        .fetch_all(&mut *conn)
        .await?;
        for r in &rows {
            out.push((r.try_get("code")?, r.try_get("period")?, r.try_get("net")?));
        }
    }
    Ok(out)
}

/// What a month's end posted for its VAT: the transfer of the unpaid VAT, a small-scale
/// taxpayer's exemption of a month of small sales and the accrual of its surtaxes, each when
/// there was something to post.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonthEnd {
    pub transfer: Option<PostedVoucher>,
    pub exemption: Option<PostedVoucher>,
    pub surtaxes: Option<PostedVoucher>,
}

impl MonthEnd {
    /// Whether nothing was posted: the month was done already, or owes no VAT.
    pub fn is_empty(&self) -> bool {
        self.transfer.is_none() && self.exemption.is_none() && self.surtaxes.is_none()
    }
}

/// Transfers a month's unpaid VAT (月末结转未交增值税): what is still to transfer at the end
/// of `period`, as the months filed it ([`filed_monthly`]), goes to 未交增值税 with one voucher
/// (转) on the month's last day, Dr 转出未交增值税, Cr 未交增值税, so the tax to pay next month
/// stands on its own account; then accrues the surtaxes on the month's tax payable not accrued
/// yet (see [`surtaxes`]), or takes back what was accrued too much. A small-scale taxpayer's
/// month of small sales owes no VAT: its tax goes from the simplified method's account to
/// non-operating income (Dr 简易计税, Cr 营业外收入), and back in red ink if later invoices of
/// the month took its sales past the limit. Nothing is posted when
/// nothing is left to transfer and the surtaxes are accrued, as after an earlier transfer; a
/// closed month is refused, beside the button.
pub async fn transfer_unpaid(tx: &mut Tx, principal: &Principal, period: &str) -> Result<MonthEnd> {
    principal.authorize(service::POST)?;
    let company = principal.company_id.0;
    let period = domain::parse_period("period", period).map_err(|e| DomainError::Invalid(vec![e]))?;
    // The month is taken for this transaction before its balance is read, so a second
    // transfer at the same moment waits, then finds nothing left to transfer.
    service::claim_open_period(tx, company, &period).await?;
    let template = chart::template(tx.conn(), company).await?;
    // A later month's transfer may have moved this month's tax already (January's, left
    // untransferred, goes with February's): no more is moved than the books still hold.
    let balances = vat_balances(tx.conn(), company, template, "9999-12").await?;
    let to_month: Vec<(String, String, i64)> = balances.iter().filter(|(_, p, _)| *p <= period).cloned().collect();
    let filed = filed_monthly(&to_month, template);
    let unpaid = filed.untransferred.min(filed_monthly(&balances, template).untransferred);
    let transfer = if unpaid > 0 { Some(post_transfer(tx, company, template, &period, unpaid).await?) } else { None };
    // The surtaxes are levied on the month's tax as filed, whatever of it was transferred or
    // paid within the month.
    // A quarterly filer's sales from the quarter's first month, as its return reads them.
    let taxpayer = crate::invoicing::taxpayer(tx.conn(), company).await?;
    let (first, _) = taxpayer.whole_returns(&period, &period);
    let sales = surtaxes::monthly_sales(tx.conn(), company, &first, &period).await?;
    let months = std::slice::from_ref(&period);
    let surtaxes = surtaxes::rows(tx.conn(), company, template, months, &filed.due, &sales, taxpayer).await?;
    let exemption = match surtaxes.vat_exempt.first().map(VatExemption::to_move) {
        Some(amount) if amount != 0 => {
            Some(post_exemption(tx, company, template, &surtaxes.simplified_account, &period, amount).await?)
        }
        _ => None,
    };
    let surtaxes = surtaxes::accrue(tx, company, template, &period, &surtaxes.rows).await?;
    Ok(MonthEnd { transfer, exemption, surtaxes })
}

/// Moves `amount` of a small-scale taxpayer's VAT for `period`, exempted, from the simplified
/// method's account to non-operating income (red ink when negative).
async fn post_exemption(
    tx: &mut Tx,
    company: i64,
    template: chart::Template,
    simplified_account: &str,
    period: &str,
    amount: i64,
) -> Result<PostedVoucher> {
    let memo = format!("免征 {period} 增值税");
    let mut lines = vec![
        domain::Line::cny(simplified_account, amount, 0),
        domain::Line::cny(template.code(Role::NonOperatingIncome), 0, amount),
    ];
    for line in &mut lines {
        line.memo = memo.clone();
    }
    let entry = Entry { date: service::last_day(period), period: period.to_string(), word: "转".into(), memo, lines };
    let (entry_id, number) = service::post_document_entry(tx, company, &entry, "vat_exemption").await?;
    Ok(PostedVoucher { entry_id, number, amount })
}

/// Posts the transfer of `unpaid` VAT at the end of `period`.
async fn post_transfer(
    tx: &mut Tx,
    company: i64,
    template: chart::Template,
    period: &str,
    unpaid: i64,
) -> Result<PostedVoucher> {
    let line = |role: Role, debit: i64, credit: i64| domain::Line {
        account: template.code(role).into(),
        debit,
        credit,
        cost_center: String::new(),
        project: String::new(),
        memo: format!("结转 {period} 未交增值税"),
        foreign: None,
        party: None,
    };
    let entry = Entry {
        date: service::last_day(period),
        period: period.to_string(),
        word: "转".into(),
        memo: format!("结转 {period} 未交增值税"),
        lines: vec![line(Role::VatTransferredOut, unpaid, 0), line(Role::UnpaidVat, 0, unpaid)],
    };
    let (entry_id, number) = service::post_document_entry(tx, company, &entry, "vat_transfer").await?;
    Ok(PostedVoucher { entry_id, number, amount: unpaid })
}

//! The surtaxes on VAT (附加税费) and the payment of a month's VAT with them (缴纳税款).
//!
//! Three taxes are levied on the VAT a company owes for a month (the general method's, and
//! the simplified method's on its own account): urban construction tax
//! (城市维护建设税: 7 % in a city, 5 % in a county town, 1 % elsewhere), the education surcharge
//! (教育费附加, 3 %) and the local education surcharge (地方教育附加, 2 %). Small taxpayers are
//! granted half of each (六税两费减半, through 2027-12-31). Where the company is and whether it
//! has the halving are settings of its books.
//!
//! The month's surtaxes are accrued together with the month-end transfer of its unpaid VAT
//! (`vat_return::transfer_unpaid`): Dr 税金及附加, Cr each surtax's payable. Next month both are
//! paid at once, as the tax office debits them together: Dr 未交增值税, 简易计税 and the three
//! payables, Cr the bank ([`pay`]).
//!
//! A month whose sales come to no more than 100,000.00 owes no education surcharges
//! (财税〔2016〕12号: 月销售额不超过10万元的免征教育费附加、地方教育附加); the urban construction
//! tax stays due. The sales are those of the VAT return's schedules, and a month whose output
//! VAT was partly booked by hand is never exempted, as its sales are not known.
//!
//! What a month's accrual leaves wrong (its transfer reversed, the settings changed, the
//! exemption gained) is put right by the next month-end run of that month: a red-ink line
//! (红字冲回) takes back what was accrued too much, so an account's credits within the month
//! stay what was accrued for it.

use crate::chart::{self, Role};
use crate::domain::{self, Entry, PostedVoucher};
use crate::service;
use db::{Result, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;

/// One of the three surtaxes on VAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Surtax {
    UrbanConstruction,
    Education,
    LocalEducation,
}

impl Surtax {
    pub const ALL: [Surtax; 3] = [Surtax::UrbanConstruction, Surtax::Education, Surtax::LocalEducation];

    /// As sent by the API and used in message keys: `urban_construction`, …
    pub fn key(self) -> &'static str {
        match self {
            Surtax::UrbanConstruction => "urban_construction",
            Surtax::Education => "education",
            Surtax::LocalEducation => "local_education",
        }
    }

    /// The payable account it is accrued to.
    pub fn role(self) -> Role {
        match self {
            Surtax::UrbanConstruction => Role::UrbanConstructionTax,
            Surtax::Education => Role::EducationSurcharge,
            Surtax::LocalEducation => Role::LocalEducationSurcharge,
        }
    }
}

/// The urban construction tax rates the law knows, in basis points: a city, a county town or a
/// market town, anywhere else.
pub const URBAN_RATES_BP: [i64; 3] = [700, 500, 100];

/// The last month the halving is granted for (财税〔2023〕12号: through 31 December 2027); from
/// the next one a company with the relief pays in full until a new rule says otherwise.
pub const HALVING_UNTIL: &str = "2027-12";

/// The monthly sales, in fen, up to which a company owes no education surcharges, and a
/// small-scale taxpayer no VAT (three times that for a quarter): 100,000.00.
pub const EXEMPTION_SALES_LIMIT: i64 = 10_000_000;

impl Surtax {
    /// Whether a month of small sales is exempted from it (the two education surcharges).
    pub fn exempted_on_small_sales(self) -> bool {
        self != Surtax::UrbanConstruction
    }
}

/// Whether the company pays the surtaxes in full or is granted half (六税两费减半).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Relief {
    #[default]
    None,
    Half,
}

impl Relief {
    pub fn key(self) -> &'static str {
        match self {
            Relief::None => "none",
            Relief::Half => "half",
        }
    }

    fn parse(key: &str) -> Option<Relief> {
        [Relief::None, Relief::Half].into_iter().find(|r| r.key() == key)
    }
}

/// A company's surtax settings, kept in its books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settings {
    pub urban_rate_bp: i64,
    pub relief: Relief,
}

impl Default for Settings {
    /// A company in a city paying in full, as most are until they say otherwise.
    fn default() -> Settings {
        Settings { urban_rate_bp: 700, relief: Relief::None }
    }
}

impl Settings {
    /// The statutory rate of `tax` here, in basis points, before any relief.
    pub fn rate_bp(&self, tax: Surtax) -> i64 {
        match tax {
            Surtax::UrbanConstruction => self.urban_rate_bp,
            Surtax::Education => 300,
            Surtax::LocalEducation => 200,
        }
    }

    /// What `tax` comes to on the VAT of `month` (`YYYY-MM`) of `base` fen: base × rate,
    /// halved under the relief while it is granted ([`HALVING_UNTIL`]), rounded half up to the
    /// fen once.
    pub fn due(&self, tax: Surtax, base: i64, month: &str) -> i64 {
        let divisor = match self.relief {
            Relief::Half if month <= HALVING_UNTIL => 20_000,
            _ => 10_000,
        };
        let exact = i128::from(base.max(0)) * i128::from(self.rate_bp(tax));
        i64::try_from((exact + divisor / 2) / divisor).unwrap_or(i64::MAX)
    }
}

/// The company's surtax settings; books without any read as the default.
pub async fn settings(conn: &mut db::Conn, company: i64) -> Result<Settings> {
    let row = sqlx::query("SELECT urban_tax_rate_bp, surtax_relief FROM fin_books WHERE company_id = $1")
        .bind(company)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => Settings {
            urban_rate_bp: r.try_get("urban_tax_rate_bp")?,
            relief: Relief::parse(&r.try_get::<String, _>("surtax_relief")?).unwrap_or_default(),
        },
        None => Settings::default(),
    })
}

/// A change of the surtax settings as typed: the urban construction tax rate in percent (`7`,
/// `5`, `1`) and the relief (`none`, `half`); either left out keeps the stored one.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub urban_tax_rate: Option<String>,
    #[serde(default)]
    pub surtax_relief: Option<String>,
}

impl SettingsForm {
    /// The settings the form makes of `stored`, each bad field refused beside itself.
    pub fn applied_to(&self, stored: Settings, problems: &mut Problems) -> Settings {
        let mut settings = stored;
        if let Some(text) = self.urban_tax_rate.as_deref().map(|t| t.trim().trim_end_matches('%')) {
            let rate = text.parse::<rust_decimal::Decimal>().ok().map(|r| r * rust_decimal::Decimal::from(100));
            match rate.and_then(|r| i64::try_from(r).ok()).filter(|bp| URBAN_RATES_BP.contains(bp)) {
                Some(bp) => settings.urban_rate_bp = bp,
                None => problems.add("urban_tax_rate", "error.finance.urban_tax_rate", text),
            }
        }
        if let Some(key) = self.surtax_relief.as_deref().map(str::trim) {
            match Relief::parse(key) {
                Some(relief) => settings.relief = relief,
                None => problems.add("surtax_relief", "error.finance.surtax_relief", key),
            }
        }
        settings
    }
}

/// Stores the surtax settings. They apply to every month's figures: a month already accrued
/// under other settings shows what is now due, and its next month-end run, while it is open,
/// puts its accrual right (a closed month keeps what it posted). Audited.
pub async fn set_settings(tx: &mut Tx, principal: &Principal, settings: Settings) -> Result<()> {
    principal.authorize(crate::permissions::ACCOUNTS)?;
    let company = principal.company_id.0;
    let before = self::settings(tx.conn(), company).await?;
    if before == settings {
        return Ok(());
    }
    let changes = json!({
        "urban_tax_rate_bp": [before.urban_rate_bp, settings.urban_rate_bp],
        "surtax_relief": [before.relief.key(), settings.relief.key()],
    });
    let values = vec![settings.urban_rate_bp.into(), settings.relief.key().to_string().into()];
    chart::update_books(tx, company, "urban_tax_rate_bp = $1, surtax_relief = $2", values, "urban_tax_rate", changes)
        .await
}

/// One surtax over the months of a VAT return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurtaxRow {
    pub tax: Surtax,
    /// The statutory rate, in basis points, before any relief.
    pub rate_bp: i64,
    /// Its payable account.
    pub account: &'static str,
    /// What the months' VAT payable brings, each month's rounded on its own.
    pub due: i64,
    /// What was accrued to its account within the months (its credits, red-ink lines
    /// taking back what was accrued too much).
    pub accrued: i64,
}

impl SurtaxRow {
    /// What is still to accrue; negative when too much was accrued, which the month-end
    /// takes back.
    pub fn to_accrue(&self) -> i64 {
        self.due - self.accrued
    }

    /// The rate as shown and sent: `7`.
    pub fn rate_text(&self) -> String {
        rust_decimal::Decimal::new(self.rate_bp, 2).normalize().to_string()
    }
}

/// The surtaxes of a range of months, as the VAT return shows them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Surtaxes {
    /// The VAT they are levied on: the months' general-method tax as filed, and the
    /// simplified method's VAT they credited.
    pub base: i64,
    /// The simplified method's VAT the months credited (简易计税), which is paid as it is, and
    /// the books' account of it.
    pub simplified: i64,
    pub simplified_account: String,
    pub rows: Vec<SurtaxRow>,
    /// The months whose small sales exempted them from the education surcharges.
    pub exempt_months: Vec<String>,
    /// A small-scale taxpayer's months, each with the VAT its small sales exempt it from and
    /// what was moved off the simplified method's account for it already (see
    /// [`crate::vat::Taxpayer`]); none for a general taxpayer.
    pub vat_exempt: Vec<VatExemption>,
}

/// A small-scale taxpayer's month and its exemption from VAT (免征增值税).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VatExemption {
    pub month: String,
    /// The VAT its sales charged, when they stay within [`EXEMPTION_SALES_LIMIT`]; else
    /// nothing.
    pub exempt: i64,
    /// What its exemption vouchers moved to non-operating income already, red ink taken off.
    pub exempted: i64,
}

impl VatExemption {
    /// What the month-end still has to move (negative: to take back, the month's sales having
    /// outgrown the limit since).
    pub fn to_move(&self) -> i64 {
        self.exempt - self.exempted
    }
}

/// The surtaxes of the months `from..=to` and the VAT they are levied on (the base), with
/// `due` each month's general-method tax as filed (`vat_return::filed_monthly`); `sales` are
/// the months' sales on the schedules, as [`monthly_sales`] reads them (the VAT return reads
/// them with its schedules), from the first month of the quarter for a quarterly `taxpayer`.
///
/// The base of a month is the VAT due for it: its general-method tax, whether transferred to
/// 未交增值税 at the month's end, paid within the month into 已交税金 or still to transfer, and
/// the simplified method's VAT the month's sales credited (credit notes' red ink taken off), as
/// it is paid with the month's taxes too. A small-scale taxpayer's month of small
/// sales owes no VAT, so no surtaxes either.
pub async fn rows(
    conn: &mut db::Conn,
    company: i64,
    template: chart::Template,
    months: &[String],
    due: &std::collections::BTreeMap<String, i64>,
    sales: &[MonthSales],
    taxpayer: crate::vat::Taxpayer,
) -> Result<Surtaxes> {
    let settings = settings(&mut *conn, company).await?;
    let codes = Surtax::ALL.map(|t| template.code(t.role()));
    let simplified_account = chart::simplified_vat_account(&mut *conn, company).await?;
    let simplified_vat = simplified_account.as_str();
    let output_vat = template.code(Role::OutputVat);
    let (Some(from), Some(to)) = (months.first(), months.last()) else { return Ok(Surtaxes::default()) };
    // The return filed at the end of each month, if one is: a quarterly filer's covers the
    // quarter, whose first months may lie before `from`, so the figures are read from there.
    let returns: Vec<Option<Vec<String>>> = months.iter().map(|m| taxpayer.return_months(m)).collect();
    let read_from = returns.iter().flatten().flatten().min().unwrap_or(from).min(from).clone();
    let movements = sqlx::query(
        "SELECT a.code, b.period, CAST(SUM(b.credit) AS BIGINT) AS credit, CAST(SUM(b.debit) AS BIGINT) AS debit \
         FROM fin_balances b JOIN fin_accounts a ON a.id = b.account_id WHERE b.company_id = $1 AND b.period >= $2 \
         AND b.period <= $3 AND (a.code IN ($4, $5, $6, $9) OR a.code = $7 OR a.code LIKE $8) GROUP BY a.code, b.period",
    )
    .bind(company)
    .bind(&read_from)
    .bind(to)
    .bind(codes[0])
    .bind(codes[1])
    .bind(codes[2])
    .bind(output_vat)
    .bind(format!("{output_vat}%"))
    .bind(simplified_vat)
    .fetch_all(&mut *conn)
    .await?;
    // (code, period, credit, debit)
    let mut by_code: Vec<(String, String, i64, i64)> = Vec::with_capacity(movements.len());
    for r in &movements {
        by_code.push((
            r.try_get("code")?,
            r.try_get("period")?,
            r.try_get::<Option<i64>, _>("credit")?.unwrap_or(0),
            r.try_get::<Option<i64>, _>("debit")?.unwrap_or(0),
        ));
    }
    // An account's credits in a month, or over the months asked.
    let credited = |code: &str, month: Option<&str>| -> i64 {
        by_code.iter().filter(|(c, p, ..)| c == code && month.map_or(p >= from, |m| p == m)).map(|r| r.2).sum()
    };
    // The simplified method's VAT of a month's sales: its credits, credit notes' in red ink
    // taken off (its debits are payments of earlier months and exemptions).
    let simplified_of = |month: Option<&str>| credited(simplified_vat, month);
    // The invoices' tax of a month as the ledger booked it: output VAT, and the simplified
    // method's.
    let output_of = |month: &str| -> i64 {
        let output: i64 =
            by_code.iter().filter(|(c, p, ..)| c.starts_with(output_vat) && p == month).map(|r| r.2 - r.3).sum();
        output + simplified_of(Some(month))
    };
    // Whether a return's sales stay within the limit, each of its months at most 100,000.00
    // on average, and its output VAT is all its invoices'.
    let exempt: Vec<bool> = returns
        .iter()
        .map(|filed| {
            let Some(filed) = filed else { return false };
            let of_return = sales.iter().filter(|s| filed.contains(&s.month));
            let (net, tax) = of_return.fold((0, 0), |(net, tax), s| (net + s.net, tax + s.tax));
            let limit = EXEMPTION_SALES_LIMIT * i64::try_from(filed.len()).unwrap_or(1);
            net <= limit && tax == filed.iter().map(|m| output_of(m)).sum::<i64>()
        })
        .collect();
    let simplified_of_return = |filed: &[String]| -> i64 { filed.iter().map(|m| simplified_of(Some(m))).sum() };
    let vat_exempt: Vec<VatExemption> = match taxpayer.exempt_on_small_sales() {
        false => Vec::new(),
        true => {
            // What was exempted in any month of the return (a month filed monthly before the
            // company filed by the quarter), so that nothing is exempted twice.
            let exempted = exempted(&mut *conn, company, simplified_vat, &read_from, to).await?;
            months
                .iter()
                .zip(&returns)
                .zip(&exempt)
                .map(|((m, filed), exempt)| {
                    let counted = filed.clone().unwrap_or_else(|| vec![m.clone()]);
                    VatExemption {
                        month: m.clone(),
                        exempt: match filed {
                            Some(filed) if *exempt => simplified_of_return(filed),
                            _ => 0,
                        },
                        exempted: exempted
                            .iter()
                            .filter(|(month, _)| counted.contains(month))
                            .map(|(_, net)| net)
                            .sum(),
                    }
                })
                .collect()
        }
    };
    let bases: Vec<i64> = months
        .iter()
        .zip(&returns)
        .enumerate()
        .map(|(i, (_, filed))| match filed {
            Some(filed) => {
                let general: i64 = filed.iter().filter_map(|m| due.get(m)).sum();
                match taxpayer.exempt_on_small_sales() && exempt[i] {
                    true => general,
                    false => general + simplified_of_return(filed),
                }
            }
            None => 0,
        })
        .collect();
    let due = |tax: Surtax| -> i64 {
        (0..months.len())
            .filter(|&i| !(exempt[i] && tax.exempted_on_small_sales()))
            .map(|i| settings.due(tax, bases[i], &months[i]))
            .sum()
    };
    let rows = Surtax::ALL
        .into_iter()
        .zip(codes)
        .map(|(tax, account)| SurtaxRow {
            tax,
            rate_bp: settings.rate_bp(tax),
            account,
            due: due(tax),
            accrued: credited(account, None),
        })
        .collect();
    // A month with no VAT to pay owes no surtaxes whatever its sales; only a month whose
    // exemption takes something off is named.
    let exempt_months = months
        .iter()
        .zip(&exempt)
        .zip(&bases)
        .filter(|((_, exempt), base)| **exempt && **base > 0)
        .map(|((m, _), _)| m.clone())
        .collect();
    let simplified = simplified_of(None);
    Ok(Surtaxes { base: bases.iter().sum(), simplified, simplified_account, rows, exempt_months, vat_exempt })
}

/// What the exemption vouchers (`vat_exemption`) of `from..=to` and their reversals moved off
/// the simplified method's account, per month as (month, debits less credits). Read from the
/// vouchers of those kinds alone (index `fin_entries_kind`), few beside the months' invoices.
async fn exempted(
    conn: &mut db::Conn,
    company: i64,
    simplified_vat: &str,
    from: &str,
    to: &str,
) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT e.period, CAST(SUM(l.debit - l.credit) AS BIGINT) AS net \
         FROM fin_entries e JOIN fin_entry_lines l ON l.entry_id = e.id JOIN fin_accounts a ON a.id = l.account_id \
         LEFT JOIN fin_entries r ON r.id = e.reversal_of \
         WHERE e.company_id = $1 AND e.kind IN ('vat_exemption', 'reversal') AND e.period >= $2 AND e.period <= $3 \
         AND e.status = 'posted' AND a.code = $4 AND (e.kind = 'vat_exemption' OR r.kind = 'vat_exemption') \
         GROUP BY e.period",
    )
    .bind(company)
    .bind(from)
    .bind(to)
    .bind(simplified_vat)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push((r.try_get("period")?, r.try_get::<Option<i64>, _>("net")?.unwrap_or(0)));
    }
    Ok(out)
}

/// A month's sales on the VAT return's schedules, in yuan: the net and the tax of the customer
/// invoices and credit notes whose vouchers were posted in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthSales {
    pub month: String,
    pub net: i64,
    pub tax: i64,
}

/// Each month's sales of `from..=to` (see [`MonthSales`]).
pub async fn monthly_sales(conn: &mut db::Conn, company: i64, from: &str, to: &str) -> Result<Vec<MonthSales>> {
    let rows = sqlx::query(
        "SELECT e.period, CAST(SUM(i.net) AS BIGINT) AS net, CAST(SUM(i.tax) AS BIGINT) AS tax \
         FROM fin_entries e CROSS JOIN fin_invoices i WHERE i.entry_id = e.id AND e.company_id = $1 \
         AND e.kind IN ('invoice', 'credit_note') AND e.period >= $2 AND e.period <= $3 AND e.status = 'posted' \
         AND i.kind = 'customer' GROUP BY e.period",
    )
    .bind(company)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(MonthSales {
            month: r.try_get("period")?,
            net: r.try_get::<Option<i64>, _>("net")?.unwrap_or(0),
            tax: r.try_get::<Option<i64>, _>("tax")?.unwrap_or(0),
        });
    }
    Ok(out)
}

/// Posts what is still to accrue of a month's surtaxes (计提附加税费), one voucher (转) on the
/// month's last day: Dr 税金及附加, Cr each surtax's payable; what was accrued too much is
/// taken back in red ink (negative amounts on the same sides). The caller took the month.
pub(crate) async fn accrue(
    tx: &mut Tx,
    company: i64,
    template: chart::Template,
    period: &str,
    rows: &[SurtaxRow],
) -> Result<Option<PostedVoucher>> {
    if rows.iter().all(|r| r.to_accrue() == 0) {
        return Ok(None);
    }
    let total: i64 = rows.iter().map(SurtaxRow::to_accrue).sum();
    let memo = if rows.iter().all(|r| r.to_accrue() >= 0) {
        format!("计提 {period} 附加税费")
    } else if rows.iter().all(|r| r.to_accrue() <= 0) {
        format!("冲回 {period} 多计提附加税费")
    } else {
        format!("调整 {period} 附加税费")
    };
    let mut lines = Vec::new();
    if total != 0 {
        lines.push(domain::Line::cny(template.code(Role::TaxesAndSurcharges), total, 0));
    }
    for row in rows.iter().filter(|r| r.to_accrue() != 0) {
        lines.push(domain::Line::cny(row.account, 0, row.to_accrue()));
    }
    for line in &mut lines {
        line.memo = memo.clone();
    }
    let entry = Entry { date: service::last_day(period), period: period.into(), word: "转".into(), memo, lines };
    let (entry_id, number) = service::post_document_entry(tx, company, &entry, "surtax_accrual").await?;
    Ok(Some(PostedVoucher { entry_id, number, amount: total }))
}

/// What a month's taxes leave to pay: the unpaid VAT, the simplified method's VAT and each
/// surtax standing on their accounts at the month's end, less what was paid into them since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub period: String,
    /// (account, amount) of 未交增值税, of 简易计税, then of each surtax in [`Surtax::ALL`]'s
    /// order.
    pub vat: (&'static str, i64),
    /// (amount, account): the simplified method's account is the books' own.
    pub simplified: (i64, String),
    pub surtaxes: Vec<(Surtax, &'static str, i64)>,
}

impl Owed {
    pub fn total(&self) -> i64 {
        self.vat.1 + self.simplified.0 + self.surtaxes.iter().map(|s| s.2).sum::<i64>()
    }
}

/// What the month `period` leaves to pay (see [`Owed`]).
pub async fn owed(conn: &mut db::Conn, company: i64, period: &str) -> Result<Owed> {
    let period = domain::parse_period("period", period).map_err(|e| DomainError::Invalid(vec![e]))?;
    let template = chart::template(&mut *conn, company).await?;
    let vat_code = template.code(Role::UnpaidVat);
    let simplified_code = chart::simplified_vat_account(&mut *conn, company).await?;
    let codes = Surtax::ALL.map(|t| template.code(t.role()));
    let rows = sqlx::query(
        "SELECT a.code, CAST(SUM(CASE WHEN b.period <= $2 THEN b.credit - b.debit ELSE 0 END) AS BIGINT) AS owed_then, \
         CAST(SUM(CASE WHEN b.period > $2 THEN b.debit ELSE 0 END) AS BIGINT) AS paid_since \
         FROM fin_balances b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND a.code IN ($3, $4, $5, $6, $7) GROUP BY a.code",
    )
    .bind(company)
    .bind(&period)
    .bind(vat_code)
    .bind(codes[0])
    .bind(codes[1])
    .bind(codes[2])
    .bind(&simplified_code)
    .fetch_all(conn)
    .await?;
    let left = |code: &str| -> Result<i64> {
        let mut left = 0;
        for r in rows.iter().filter(|r| r.try_get::<String, _>("code").is_ok_and(|c| c == code)) {
            left += r.try_get::<Option<i64>, _>("owed_then")?.unwrap_or(0)
                - r.try_get::<Option<i64>, _>("paid_since")?.unwrap_or(0);
        }
        Ok(left.max(0))
    };
    let mut surtaxes = Vec::new();
    for (tax, code) in Surtax::ALL.into_iter().zip(codes) {
        surtaxes.push((tax, code, left(code)?));
    }
    Ok(Owed {
        vat: (vat_code, left(vat_code)?),
        simplified: (left(&simplified_code)?, simplified_code),
        surtaxes,
        period,
    })
}

/// A payment of a month's taxes as typed: the month they are for, the day paid and the cash
/// or bank account paid from (the company's bank when empty).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PaymentForm {
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub bank_account: String,
}

/// A month's taxes paid: the voucher and what it paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub entry_id: i64,
    /// The voucher's number; none while it waits as a draft for the signatures or the
    /// posting its maker may not give.
    pub number: Option<String>,
    pub owed: Owed,
}

/// Pays what a month's VAT and surtaxes leave to pay (缴纳税款): one voucher (付) on the day
/// paid, Dr 未交增值税, 简易计税 and each surtax's payable, Cr the bank. The day must fall after the
/// month, in an open period. Nothing is made (`None`) when nothing is owed, as after a
/// payment already made.
///
/// Someone who may post, and give the signatures the books' rules ask for, posts it at once;
/// anyone else who may enter vouchers makes it a draft, signed by them as cashier where they
/// may, to be reviewed and posted as any hand-made voucher. While such a draft waits, no taxes
/// are drafted again nor paid at once: what it pays would be paid twice.
pub async fn pay(tx: &mut Tx, principal: &Principal, form: &PaymentForm) -> Result<Option<Payment>> {
    let rules = crate::review::rules(tx.conn(), principal.company_id.0).await?;
    let at_once = rules.books_at_once(principal);
    principal.authorize(if at_once { service::POST } else { service::CREATE })?;
    let company = principal.company_id.0;
    let mut problems = Problems::default();
    let period = problems.check(domain::parse_period("period", &form.period));
    let date = problems.check(kernel::dates::parse("date", &form.date));
    let template = chart::template(tx.conn(), company).await?;
    let bank = template.bank_account(&form.bank_account, &mut problems);
    if let (Some(period), Some(date)) = (&period, date) {
        if date.to_string() <= service::last_day(period) {
            problems.add("date", "error.finance.tax_paid_within_month", date.to_string());
        }
    }
    // A quarterly filer pays a quarter's taxes once it has ended, never a month's on its own.
    if let Some(period) = &period {
        let taxpayer = crate::invoicing::taxpayer(tx.conn(), company).await?;
        if taxpayer.return_months(period).is_none() {
            let (_, quarter_end) = taxpayer.whole_returns(period, period);
            problems.add("period", "error.finance.paid_by_quarter", quarter_end);
        }
    }
    problems.finish()?;
    let (period, date) = (period.unwrap_or_default(), date.map(|d| d.to_string()).unwrap_or_default());
    // The company's books are taken first, so two payments at the same moment (of one month,
    // on days of different months) are made one after the other and the second finds nothing
    // left to pay, or the first one's draft.
    tx.execute(sqlx::query("UPDATE fin_books SET company_id = company_id WHERE company_id = $1").bind(company)).await?;
    if let Some(draft) = waiting_draft(tx.conn(), company).await? {
        return Err(DomainError::invalid("date", "error.finance.tax_payment_drafted", draft.to_string()).into());
    }
    let owed = owed(tx.conn(), company, &period).await?;
    if owed.total() == 0 {
        return Ok(None);
    }
    let memo = format!("缴纳 {period} 增值税及附加税费");
    let mut lines = Vec::new();
    let simplified = (owed.simplified.1.as_str(), owed.simplified.0);
    for (account, amount) in [owed.vat, simplified].into_iter().chain(owed.surtaxes.iter().map(|s| (s.1, s.2))) {
        if amount > 0 {
            lines.push(domain::Line::cny(account, amount, 0));
        }
    }
    lines.push(domain::Line::cny(&bank, 0, owed.total()));
    for line in &mut lines {
        line.memo = memo.clone();
    }
    // The ledger names the voucher's lines; of them the form has only the bank account.
    let bank_line = format!("lines[{}]", lines.len() - 1);
    let refusals = [(bank_line.as_str(), "bank_account")];
    let entry = Entry { period: domain::period_of(&date), date, word: "付".into(), memo, lines };
    let (entry_id, number) = service::keep_built(tx, principal, rules, entry, ("tax_payment", &refusals)).await?;
    if number.is_none() {
        // The draft stands for the taxes it pays until it is posted or deleted.
        tx.execute(
            sqlx::query("INSERT INTO fin_tax_payment_drafts (entry_id, company_id, period) VALUES ($1, $2, $3)")
                .bind(entry_id)
                .bind(company)
                .bind(&period),
        )
        .await?;
    }
    Ok(Some(Payment { entry_id, number, owed }))
}

/// The draft voucher paying taxes that waits to be posted, if one does, of whichever month: a
/// month's payment pays what earlier months left unpaid too, so any draft waiting would pay
/// some of it twice.
pub async fn waiting_draft(conn: &mut db::Conn, company: i64) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT d.entry_id FROM fin_tax_payment_drafts d JOIN fin_entries e ON e.id = d.entry_id \
         WHERE d.company_id = $1 AND e.status = 'draft' ORDER BY d.entry_id LIMIT 1",
    )
    .bind(company)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| r.try_get("entry_id")).transpose()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_halving_ends_with_2027_and_each_tax_rounds_half_up() {
        let halved = Settings { urban_rate_bp: 700, relief: Relief::Half };
        // 671.00 × 7 % = 46.97; halved 23.485, rounded up to 23.49.
        assert_eq!(Settings::default().due(Surtax::UrbanConstruction, 67_100, "2026-03"), 4_697);
        assert_eq!(halved.due(Surtax::UrbanConstruction, 67_100, "2027-12"), 2_349);
        assert_eq!(halved.due(Surtax::UrbanConstruction, 67_100, "2028-01"), 4_697);
        assert_eq!(halved.due(Surtax::Education, 67_100, "2026-03"), 1_007);
        assert_eq!(halved.due(Surtax::LocalEducation, -5_000, "2026-03"), 0);
    }
}

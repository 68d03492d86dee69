//! Bank statements: import a CSV export of the bank with a column mapping, then reconcile each
//! line with the receipt or payment it records, or with the voucher that booked it (taxes,
//! wages, a transfer between the company's own accounts), helped by suggested matches; a line
//! nothing booked yet (a bank fee, interest) is booked from the line itself, against the
//! account the clerk names, and matched with the voucher that makes.
//!
//! The CSV format (documented in the README): one row per transaction, a header row (optional),
//! and columns the user names by their header or 1-based position: a date (YYYY-MM-DD,
//! YYYY/MM/DD or YYYYMMDD), either one signed amount column or separate money-in and money-out
//! columns, and optionally counterparty, reference and memo. Amounts are decimal text; a
//! thousands separator is allowed. A file with a bad row is refused whole, with the row named.
//! A statement of a foreign-currency account is imported in its currency (USD, EUR, HKD, JPY)
//! and its lines are matched with receipts and payments in that currency, by their amounts in
//! it.

use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::{Currency, DomainError, Money};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeSet;

/// How the columns of a bank's CSV map to statement fields. Each value is a header name or a
/// 1-based column number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Mapping {
    pub date: String,
    /// A signed amount (in positive, out negative) …
    #[serde(default)]
    pub amount: String,
    /// … or money in and money out in two columns.
    #[serde(default)]
    pub money_in: String,
    #[serde(default)]
    pub money_out: String,
    #[serde(default)]
    pub counterparty: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub memo: String,
    /// Whether the first row is a header.
    #[serde(default = "yes")]
    pub has_header: bool,
}

fn yes() -> bool {
    true
}

/// A statement to import.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementForm {
    /// The bank account code in the ledger (1002 or a sub-account).
    pub bank_account: String,
    pub csv: String,
    pub mapping: Mapping,
    /// The currency the account's statement is in: empty or `CNY`, or a foreign one.
    #[serde(default)]
    pub currency: String,
}

/// A parsed statement line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedLine {
    pub date: String,
    pub amount: i64,
    pub counterparty: String,
    pub reference: String,
    pub memo: String,
}

fn column(headers: &[String], wanted: &str) -> Option<usize> {
    let wanted = wanted.trim();
    if wanted.is_empty() {
        return None;
    }
    if let Ok(n) = wanted.parse::<usize>() {
        return n.checked_sub(1);
    }
    headers.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == wanted)
}

fn parse_date(text: &str) -> Option<String> {
    let t = text.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"]
        .iter()
        .find_map(|f| chrono::NaiveDate::parse_from_str(t, f).ok())
        .map(|d| d.to_string())
}

fn parse_amount(text: &str, currency: Currency) -> std::result::Result<i64, ()> {
    let t = text.trim().replace(['¥', '￥', '$', '€'], "");
    if t.is_empty() {
        return Ok(0);
    }
    Money::parse(&t, currency).map(|m| m.minor()).map_err(|_| ())
}

/// Parses a statement (pure: no I/O). Every bad row is reported with its row number.
/// The text of a bank's exported file: UTF-8 when it is (without its byte-order mark), else
/// GB18030, the superset of the GBK that most Chinese online banks export in.
pub fn decode_export(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

pub fn parse(
    csv_text: &str,
    mapping: &Mapping,
    currency: Currency,
) -> std::result::Result<Vec<ParsedLine>, DomainError> {
    let parse_amount = |text: &str| parse_amount(text, currency);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(csv_text.as_bytes());
    let mut rows: Vec<Vec<String>> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| DomainError::invalid("csv", "error.bank.csv", e.to_string()))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    let headers = if mapping.has_header && !rows.is_empty() { rows.remove(0) } else { Vec::new() };
    let mut problems = Problems::default();
    let date_col = column(&headers, &mapping.date);
    let amount_col = column(&headers, &mapping.amount);
    let in_col = column(&headers, &mapping.money_in);
    let out_col = column(&headers, &mapping.money_out);
    if date_col.is_none() {
        problems.add("mapping.date", "error.bank.column", &mapping.date);
    }
    if amount_col.is_none() && (in_col.is_none() || out_col.is_none()) {
        problems.add("mapping.amount", "error.bank.column", &mapping.amount);
    }
    problems.finish()?;
    let get = |row: &[String], col: Option<usize>| {
        col.and_then(|c| row.get(c)).map(|s| s.trim().to_string()).unwrap_or_default()
    };
    let mut problems = Problems::default();
    let mut lines = Vec::new();
    let first_row = if mapping.has_header { 2 } else { 1 };
    for (i, row) in rows.iter().enumerate() {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let field = format!("row {}", i + first_row);
        let Some(date) = parse_date(&get(row, date_col)) else {
            problems.add(&field, "error.bank.date", get(row, date_col));
            continue;
        };
        let amount = match amount_col {
            Some(_) => parse_amount(&get(row, amount_col)),
            None => parse_amount(&get(row, in_col)).and_then(|a| parse_amount(&get(row, out_col)).map(|b| a - b.abs())),
        };
        match amount {
            Ok(0) => problems.add(&field, "error.bank.amount", "0"),
            Ok(amount) => lines.push(ParsedLine {
                date,
                amount,
                counterparty: get(row, column(&headers, &mapping.counterparty)).chars().take(200).collect(),
                reference: get(row, column(&headers, &mapping.reference)).chars().take(100).collect(),
                memo: get(row, column(&headers, &mapping.memo)).chars().take(200).collect(),
            }),
            Err(()) => problems.add(&field, "error.bank.amount", get(row, amount_col.or(in_col))),
        }
    }
    if lines.is_empty() && problems.0.is_empty() {
        problems.add("csv", "error.bank.empty", "");
    }
    if lines.len() > 10_000 {
        problems.add("csv", "error.bank.too_many", "10000");
    }
    problems.finish()?;
    Ok(lines)
}

/// Imports a statement in one transaction. Returns the number of lines.
pub async fn import(tx: &mut Tx, principal: &Principal, form: &StatementForm) -> Result<usize> {
    principal.authorize(crate::invoicing::PAYMENTS)?;
    let company = principal.company_id.0;
    let bank = form.bank_account.trim();
    let mut problems = Problems::default();
    if !crate::chart::template(tx.conn(), company).await?.is_cash_or_bank(bank) {
        problems.add("bank_account", "error.finance.bank_account", bank);
    }
    let currency = match form.currency.trim().to_uppercase().as_str() {
        "" => Some(Currency::CNY),
        code => Currency::from_code(code).or_else(|| {
            problems.add("currency", "error.finance.currency", code);
            None
        }),
    };
    problems.finish()?;
    let currency = currency.unwrap_or(Currency::CNY);
    let lines = parse(&form.csv, &form.mapping, currency)?;
    let now = tx.now().to_string();
    let batch = format!("{}-{}", &now[..19], lines.len());
    for line in &lines {
        sqlx::query(
            "INSERT INTO fin_bank_lines (company_id, bank_account, line_date, amount, counterparty, reference, memo, batch, imported_at, currency) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(company)
        .bind(bank)
        .bind(&line.date)
        .bind(line.amount)
        .bind(&line.counterparty)
        .bind(&line.reference)
        .bind(&line.memo)
        .bind(&batch)
        .bind(&now)
        .bind(currency.code())
        .execute(tx.conn())
        .await?;
    }
    tx.audit(
        "create",
        "finance.bank_statement",
        Some(&batch),
        &json!({"bank_account": [null, bank], "currency": [null, currency.code()], "lines": [null, lines.len()]}),
    )
    .await?;
    Ok(lines.len())
}

/// A statement line with its match.
#[derive(Debug, Clone, Serialize)]
pub struct BankLine {
    pub id: i64,
    pub bank_account: String,
    pub date: String,
    /// In minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub counterparty: String,
    pub reference: String,
    pub memo: String,
    pub payment_id: Option<i64>,
    pub payment_number: Option<String>,
    /// The voucher it is matched with, when not a receipt or payment: its id, period and number.
    pub entry_id: Option<i64>,
    pub entry_number: Option<String>,
    /// The draft voucher booked from it that waits to be signed and posted, if one does: the
    /// line is matched with it when it is posted, and meanwhile with nothing else.
    pub waiting_draft: Option<i64>,
}

impl BankLine {
    /// What it is matched with, as shown: the receipt's or payment's number, or the voucher's
    /// period and number (`2026-04 付-0003`, as voucher numbers restart each month).
    pub fn matched_with(&self) -> Option<String> {
        self.payment_number.clone().or_else(|| self.entry_number.clone())
    }

    /// The amount as shown: `1,234.50`, in its currency's digits.
    pub fn amount_text(&self) -> String {
        Money::from_minor(self.amount, Currency::from_code(&self.currency).unwrap_or(Currency::CNY)).to_string()
    }

    /// The amount as the API sends it: `-1234.50`.
    pub fn amount_decimal(&self) -> String {
        crate::domain::decimal_text(self.amount, Currency::from_code(&self.currency).unwrap_or(Currency::CNY))
    }
}

/// What a statement line is read with: its match's number, receipt or voucher.
const LINE_SELECT: &str = "SELECT b.id, b.bank_account, b.line_date, b.amount, b.currency, b.counterparty, b.reference, \
     b.memo, b.payment_id, p.number, b.entry_id, e.period AS entry_period, e.number AS entry_number, \
     CASE WHEN d.status = 'draft' THEN d.id END AS waiting_draft \
     FROM fin_bank_lines b LEFT JOIN fin_payments p ON p.id = b.payment_id LEFT JOIN fin_entries e ON e.id = b.entry_id \
     LEFT JOIN fin_entries d ON d.id = b.draft_entry_id \
     WHERE b.company_id = $1";

/// Statement lines, unmatched first, newest first.
pub async fn lines(conn: &mut db::Conn, company: i64, only_unmatched: bool) -> Result<Vec<BankLine>> {
    let rows = sqlx::query(&format!(
        "{LINE_SELECT} {} \
         ORDER BY CASE WHEN b.payment_id IS NULL AND b.entry_id IS NULL THEN 0 ELSE 1 END, b.line_date DESC, b.id DESC LIMIT 500",
        if only_unmatched { "AND b.payment_id IS NULL AND b.entry_id IS NULL" } else { "" }
    ))
    .bind(company)
    .fetch_all(conn)
    .await?;
    rows.iter().map(bank_line).collect()
}

/// One statement line of the company.
pub async fn line(conn: &mut db::Conn, company: i64, id: i64) -> Result<BankLine> {
    let row = sqlx::query(&format!("{LINE_SELECT} AND b.id = $2"))
        .bind(company)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(DomainError::NotFound("bank line"))?;
    bank_line(&row)
}

fn bank_line(r: &db::Row) -> Result<BankLine> {
    Ok(BankLine {
        id: r.try_get("id")?,
        bank_account: r.try_get("bank_account")?,
        date: r.try_get("line_date")?,
        amount: r.try_get("amount")?,
        currency: r.try_get("currency")?,
        counterparty: r.try_get("counterparty")?,
        reference: r.try_get("reference")?,
        memo: r.try_get("memo")?,
        payment_id: r.try_get("payment_id")?,
        payment_number: r.try_get("number")?,
        entry_id: r.try_get("entry_id")?,
        entry_number: match (
            r.try_get::<Option<String>, _>("entry_period")?,
            r.try_get::<Option<String>, _>("entry_number")?,
        ) {
            (Some(period), Some(number)) => Some(format!("{period} {number}")),
            _ => None,
        },
        waiting_draft: r.try_get("waiting_draft")?,
    })
}

/// A receipt or payment, or a voucher, that may be what a statement line records.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Suggestion {
    /// The receipt or payment suggested, or …
    pub payment_id: Option<i64>,
    /// … the voucher.
    pub entry_id: Option<i64>,
    /// The payment's number, or the voucher's period and number.
    pub number: String,
    /// The payment's party, or the voucher's memo.
    pub party_name: String,
    pub date: String,
    /// In the statement line's currency.
    pub amount: i64,
    pub currency: String,
    /// Days between the payment and the statement line.
    pub days_apart: i64,
    /// Whether the counterparty text names the party.
    pub name_matches: bool,
}

/// How far from a statement line's day its receipt, payment or voucher may be dated.
const MATCH_DAYS: i64 = 10;

/// The days a line's matches may be dated: ten either side of it.
fn match_window(date: &str) -> Result<(chrono::NaiveDate, String, String)> {
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| DomainError::Internal(date.into()))?;
    let days = chrono::Duration::days(MATCH_DAYS);
    Ok((day, (day - days).to_string(), (day + days).to_string()))
}

/// The suggestions for one statement line (see [`suggestions_for`]).
pub async fn suggestions(conn: &mut db::Conn, company: i64, line_id: i64) -> Result<Vec<Suggestion>> {
    let line = line(&mut *conn, company, line_id).await?;
    Ok(suggestions_for(conn, company, std::slice::from_ref(&line)).await?.pop().unwrap_or_default())
}

/// The suggestions for each of `lines`, in their order: unmatched receipts (for money in) or
/// payments (for money out) of the same amount, currency and bank account within ten days,
/// the counterparty's name first, then the closest date; after them, for a line in yuan, the
/// unmatched vouchers of no payment that move the same amount in the same direction on that
/// account within those days, the closest first.
///
/// The page asks for all its unmatched lines at once, so this reads the candidates of all of
/// them with two queries, over the days from the first line's window to the last one's, for
/// their accounts and amounts only, and deals them out here: a page of 500 lines costs two
/// queries, not a thousand.
pub async fn suggestions_for(conn: &mut db::Conn, company: i64, lines: &[BankLine]) -> Result<Vec<Vec<Suggestion>>> {
    let mut windows = Vec::with_capacity(lines.len());
    for line in lines {
        windows.push(match_window(&line.date)?);
    }
    let (Some(from), Some(to)) = (windows.iter().map(|w| w.1.clone()).min(), windows.iter().map(|w| w.2.clone()).max())
    else {
        return Ok(Vec::new());
    };
    let banks: BTreeSet<&str> = lines.iter().map(|l| l.bank_account.as_str()).collect();
    let amounts: BTreeSet<i64> = lines.iter().map(|l| l.amount.abs()).collect();
    let mut q = db::SqlBuilder::new(
        "SELECT p.id, p.kind, p.bank_account, p.number, pa.name, p.payment_date, COALESCE(c.amount, p.amount) AS amount, \
         COALESCE(c.currency, 'CNY') AS currency \
         FROM fin_payments p JOIN parties pa ON pa.id = p.party_id LEFT JOIN fin_payment_currency c ON c.payment_id = p.id \
         WHERE p.company_id = ",
    );
    q.bind(company).push(" AND p.payment_date >= ").bind(from.clone()).push(" AND p.payment_date <= ").bind(to.clone());
    q.push(" AND p.bank_account IN ").bind_list(banks.iter().copied());
    q.push(" AND COALESCE(c.amount, p.amount) IN ").bind_list(amounts.iter().copied());
    q.push(" AND NOT EXISTS (SELECT 1 FROM fin_bank_lines b WHERE b.payment_id = p.id)");
    let payments = q.build().fetch_all(&mut *conn).await?;
    let yuan: Vec<&BankLine> = lines.iter().filter(|l| l.currency == Currency::CNY.code()).collect();
    let vouchers = match yuan.is_empty() {
        true => Vec::new(),
        false => {
            let banks: BTreeSet<&str> = yuan.iter().map(|l| l.bank_account.as_str()).collect();
            let moved: BTreeSet<i64> = yuan.iter().map(|l| l.amount).collect();
            voucher_moves(conn, company, (&banks, Currency::CNY), &moved, (&from, &to), None).await?
        }
    };
    let mut out = Vec::with_capacity(lines.len());
    for (line, (day, from, to)) in lines.iter().zip(&windows) {
        let kind = if line.amount > 0 { "receipt" } else { "payment" };
        let days_apart = |date: &str| {
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").map(|d| (d - *day).num_days().abs()).unwrap_or(99)
        };
        let mut found = Vec::new();
        for r in &payments {
            let paid: String = r.try_get("payment_date")?;
            let fits = r.try_get::<String, _>("kind")? == kind
                && r.try_get::<String, _>("bank_account")? == line.bank_account
                && r.try_get::<i64, _>("amount")? == line.amount.abs()
                && r.try_get::<String, _>("currency")? == line.currency
                && (from.as_str()..=to.as_str()).contains(&paid.as_str());
            if !fits {
                continue;
            }
            let party_name: String = r.try_get("name")?;
            let counterparty = &line.counterparty;
            found.push(Suggestion {
                payment_id: Some(r.try_get("id")?),
                entry_id: None,
                number: r.try_get("number")?,
                name_matches: !counterparty.is_empty()
                    && (counterparty.contains(&party_name) || party_name.contains(counterparty.as_str())),
                party_name,
                days_apart: days_apart(&paid),
                date: paid,
                amount: line.amount.abs(),
                currency: line.currency.clone(),
            });
        }
        found.sort_by_key(|s| (!s.name_matches, s.days_apart, s.payment_id));
        if line.currency == Currency::CNY.code() {
            let mut by_voucher: Vec<Suggestion> = vouchers
                .iter()
                .filter(|v| {
                    v.bank == line.bank_account
                        && v.moved == line.amount
                        && (from.as_str()..=to.as_str()).contains(&v.suggestion.date.as_str())
                })
                .map(|v| Suggestion { days_apart: days_apart(&v.suggestion.date), ..v.suggestion.clone() })
                .collect();
            by_voucher.sort_by_key(|s| (s.days_apart, s.entry_id));
            found.extend(by_voucher);
        }
        out.push(found);
    }
    Ok(out)
}

/// The kinds of voucher that move money through a bank account with no receipt or payment
/// record behind them: entered by hand (wages sent, transfers), booked from a statement line,
/// the month's taxes paid. Invoices, stock, payroll (which accrues), closing and the VAT's
/// month-end vouchers never do, and receipts and payments are matched through their own
/// record; reading only these kinds lets the suggestions use the vouchers' index by kind and
/// month instead of every voucher of the days. A module that comes to pay from the bank by a
/// voucher of its own kind adds it here.
pub const BANK_VOUCHER_KINDS: [&str; 3] = ["manual", "bank", "tax_payment"];

/// A voucher that moved money on one of the company's bank accounts.
struct VoucherMove {
    bank: String,
    /// Debit less credit on `bank`: money in positive.
    moved: i64,
    /// As suggested (its days apart left to the line's).
    suggestion: Suggestion,
}

/// Posted vouchers of [`BANK_VOUCHER_KINDS`], neither reversed nor reversals, dated
/// `from..=to`, that move one of `amounts` (money in positive) on one of the accounts `banks`
/// where no statement line of that account is matched with them yet; or only the voucher
/// `only`. A transfer between two of the company's accounts is one voucher on two statements,
/// matched once on each. The amounts are in `currency`: yuan, or a foreign currency's minor
/// units, read from the lines in it (a foreign-currency account's statement).
async fn voucher_moves(
    conn: &mut db::Conn,
    company: i64,
    (banks, currency): (&BTreeSet<&str>, Currency),
    amounts: &BTreeSet<i64>,
    (from, to): (&str, &str),
    only: Option<i64>,
) -> Result<Vec<VoucherMove>> {
    let moved = match currency {
        Currency::CNY => "SUM(l.debit - l.credit)",
        _ => "SUM(CASE WHEN l.debit <> 0 THEN l.foreign_amount ELSE -l.foreign_amount END)",
    };
    let mut q = db::SqlBuilder::new(format!(
        "SELECT e.id, e.period, e.number, e.entry_date, e.memo, a.code, CAST({moved} AS BIGINT) AS moved \
         FROM fin_entries e JOIN fin_entry_lines l ON l.entry_id = e.id JOIN fin_accounts a ON a.id = l.account_id \
         WHERE e.company_id = "
    ));
    q.bind(company).push(" AND e.kind IN ").bind_list(BANK_VOUCHER_KINDS);
    if currency != Currency::CNY {
        q.push(" AND l.currency = ").bind(currency.code());
    }
    q.push(" AND e.period >= ").bind(crate::domain::period_of(from));
    q.push(" AND e.period <= ").bind(crate::domain::period_of(to));
    q.push(" AND e.entry_date >= ").bind(from).push(" AND e.entry_date <= ").bind(to);
    q.push(" AND a.code IN ").bind_list(banks.iter().copied());
    if let Some(id) = only {
        q.push(" AND e.id = ").bind(id);
    }
    q.push(
        " AND e.status = 'posted' AND e.reversal_of IS NULL \
         AND NOT EXISTS (SELECT 1 FROM fin_entries r WHERE r.reversal_of = e.id AND r.status = 'posted') \
         AND NOT EXISTS (SELECT 1 FROM fin_bank_lines b WHERE b.entry_id = e.id AND b.bank_account = a.code) \
         GROUP BY e.id, e.period, e.number, e.entry_date, e.memo, a.code HAVING ",
    );
    q.push(moved).push(" IN ").bind_list(amounts.iter().copied());
    let rows = q.build().fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            let moved: i64 = r.try_get("moved")?;
            Ok(VoucherMove {
                bank: r.try_get("code")?,
                moved,
                suggestion: Suggestion {
                    payment_id: None,
                    entry_id: Some(r.try_get("id")?),
                    number: format!("{} {}", r.try_get::<String, _>("period")?, r.try_get::<String, _>("number")?),
                    party_name: r.try_get("memo")?,
                    date: r.try_get("entry_date")?,
                    amount: moved.abs(),
                    currency: Currency::CNY.code().into(),
                    days_apart: 0,
                    name_matches: false,
                },
            })
        })
        .collect()
}

/// Reconciles a statement line with a receipt or payment of the same amount, currency,
/// direction and bank account. Each is matched at most once.
pub async fn reconcile(tx: &mut Tx, principal: &Principal, line_id: i64, payment_id: i64) -> Result<()> {
    principal.authorize(crate::invoicing::PAYMENTS)?;
    let company = principal.company_id.0;
    let line = statement_line(tx, company, line_id).await?;
    require_unmatched(&line)?;
    require_no_other_voucher(tx, &line, None, "payment_id").await?;
    let payment = sqlx::query(
        "SELECT p.kind, COALESCE(c.amount, p.amount) AS amount, COALESCE(c.currency, 'CNY') AS currency, p.bank_account \
         FROM fin_payments p LEFT JOIN fin_payment_currency c ON c.payment_id = p.id WHERE p.company_id = $1 AND p.id = $2",
    )
        .bind(company)
        .bind(payment_id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("payment"))?;
    let signed = if payment.try_get::<String, _>("kind")? == "receipt" { 1 } else { -1 }
        * payment.try_get::<i64, _>("amount")?;
    let amount: i64 = line.try_get("amount")?;
    let currency: String = line.try_get("currency")?;
    if signed != amount
        || payment.try_get::<String, _>("currency")? != currency
        || payment.try_get::<String, _>("bank_account")? != line.try_get::<String, _>("bank_account")?
    {
        let unit = Currency::from_code(&currency).unwrap_or(Currency::CNY);
        let shown = format!("{currency} {}", crate::domain::decimal_text(amount, unit));
        return Err(DomainError::invalid("payment_id", "error.bank.mismatch", shown).into());
    }
    let taken = sqlx::query("SELECT 1 FROM fin_bank_lines WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_optional(tx.conn())
        .await?;
    if taken.is_some() {
        return Err(
            DomainError::Conflict("the payment is already reconciled with another statement line".into()).into()
        );
    }
    let now = tx.now().to_string();
    // The unique index on payment_id is the last word if two clerks match at the same moment.
    sqlx::query("UPDATE fin_bank_lines SET payment_id = $1, matched_at = $2 WHERE id = $3 AND payment_id IS NULL")
        .bind(payment_id)
        .bind(&now)
        .bind(line_id)
        .execute(tx.conn())
        .await?;
    tx.audit("state", "finance.bank_line", Some(&line_id.to_string()), &json!({"payment_id": [null, payment_id]}))
        .await?;
    Ok(())
}

/// A statement line as matching reads it, taken for this transaction (on PostgreSQL), so two
/// clerks matching it at once are served one after the other.
async fn statement_line(tx: &mut Tx, company: i64, line_id: i64) -> Result<db::Row> {
    let sql = format!(
        "SELECT b.bank_account, b.line_date, b.amount, b.currency, b.memo, b.payment_id, b.entry_id, b.draft_entry_id \
         FROM fin_bank_lines b \
         WHERE b.company_id = $1 AND b.id = $2{}",
        tx.dialect().update_lock_of("b")
    );
    Ok(tx
        .fetch_optional(sqlx::query(&sql).bind(company).bind(line_id))
        .await?
        .ok_or(DomainError::NotFound("bank line"))?)
}

fn require_unmatched(line: &db::Row) -> Result<()> {
    if line.try_get::<Option<i64>, _>("payment_id")?.is_some() || line.try_get::<Option<i64>, _>("entry_id")?.is_some()
    {
        return Err(DomainError::Conflict("the statement line is already reconciled".into()).into());
    }
    Ok(())
}

/// Refuses to match or book a line whose draft voucher (booked from it by someone who could
/// not post it) still waits, unless it is that voucher being matched: the money would be
/// booked twice. (Posting the draft matches the line with it, [`match_posted_draft`].)
/// `field` is the form's field the refusal is shown beside.
async fn require_no_other_voucher(tx: &mut Tx, line: &db::Row, matching: Option<i64>, field: &str) -> Result<()> {
    let Some(draft) = line.try_get::<Option<i64>, _>("draft_entry_id")? else {
        return Ok(());
    };
    let waits = tx
        .fetch_optional(sqlx::query("SELECT 1 FROM fin_entries WHERE id = $1 AND status = 'draft'").bind(draft))
        .await?
        .is_some();
    if waits && matching != Some(draft) {
        return Err(DomainError::invalid(field, "error.bank.draft_made", draft.to_string()).into());
    }
    Ok(())
}

/// Reconciles a statement line with a voucher that moved its amount (in its currency) on its
/// account in the same direction within ten days of it, and that no payment made. Each is
/// matched at most once. Audited.
pub async fn reconcile_voucher(tx: &mut Tx, principal: &Principal, line_id: i64, entry_id: i64) -> Result<()> {
    principal.authorize(crate::invoicing::PAYMENTS)?;
    let company = principal.company_id.0;
    let line = statement_line(tx, company, line_id).await?;
    require_unmatched(&line)?;
    require_no_other_voucher(tx, &line, Some(entry_id), "entry_id").await?;
    if !voucher_fits(tx, company, &line, entry_id).await? {
        let (bank, amount) = (line.try_get::<String, _>("bank_account")?, line.try_get::<i64, _>("amount")?);
        let currency = Currency::from_code(&line.try_get::<String, _>("currency")?).unwrap_or(Currency::CNY);
        let shown = format!("{bank} {} {}", currency.code(), crate::domain::decimal_text(amount, currency));
        return Err(DomainError::invalid("entry_id", "error.bank.voucher_mismatch", shown).into());
    }
    match_voucher(tx, line_id, entry_id).await
}

/// Whether a voucher may be matched with a statement line: it moved the line's amount, in
/// the line's currency, on its account in the same direction within ten days of it, and is
/// one [`voucher_moves`] offers.
async fn voucher_fits(tx: &mut Tx, company: i64, line: &db::Row, entry_id: i64) -> Result<bool> {
    let amount: i64 = line.try_get("amount")?;
    let currency = Currency::from_code(&line.try_get::<String, _>("currency")?).unwrap_or(Currency::CNY);
    let (_, from, to) = match_window(&line.try_get::<String, _>("line_date")?)?;
    let bank: String = line.try_get("bank_account")?;
    let (banks, amounts) = ([bank.as_str()].into(), [amount].into());
    let moves = voucher_moves(tx.conn(), company, (&banks, currency), &amounts, (&from, &to), Some(entry_id)).await?;
    Ok(!moves.is_empty())
}

/// Once a draft booked from a statement line is posted, matches the line with it, as the
/// booking would have had it been posted at once. A draft changed so that it no longer moves
/// the line's amount no longer stands for the line, which is open again to match or book.
pub(crate) async fn match_posted_draft(tx: &mut Tx, company: i64, entry_id: i64) -> Result<()> {
    let waiting = tx
        .fetch_optional(
            sqlx::query(
                "SELECT id FROM fin_bank_lines WHERE company_id = $1 AND draft_entry_id = $2 \
                 AND entry_id IS NULL AND payment_id IS NULL",
            )
            .bind(company)
            .bind(entry_id),
        )
        .await?;
    let Some(waiting) = waiting else { return Ok(()) };
    let line_id: i64 = waiting.try_get("id")?;
    let line = statement_line(tx, company, line_id).await?;
    if voucher_fits(tx, company, &line, entry_id).await? {
        return match_voucher(tx, line_id, entry_id).await;
    }
    tx.execute(sqlx::query("UPDATE fin_bank_lines SET draft_entry_id = NULL WHERE id = $1").bind(line_id)).await?;
    tx.audit("state", "finance.bank_line", Some(&line_id.to_string()), &json!({"draft_entry_id": [entry_id, null]}))
        .await?;
    Ok(())
}

/// Marks a line matched with a voucher, and audits it.
async fn match_voucher(tx: &mut Tx, line_id: i64, entry_id: i64) -> Result<()> {
    let now = tx.now().to_string();
    // The unique index on (entry_id, bank_account) is the last word if two lines of one
    // account take one voucher at once.
    tx.execute(
        sqlx::query(
            "UPDATE fin_bank_lines SET entry_id = $1, matched_at = $2, draft_entry_id = NULL WHERE id = $3 AND entry_id IS NULL",
        )
            .bind(entry_id)
            .bind(&now)
            .bind(line_id),
    )
    .await?;
    tx.audit("state", "finance.bank_line", Some(&line_id.to_string()), &json!({"entry_id": [null, entry_id]})).await?;
    Ok(())
}

/// What a line nothing booked yet is booked against: the other side's account (a bank fee to
/// 财务费用, interest received from it) and the voucher's memo (the line's own when empty).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BookForm {
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub memo: String,
    /// For a line in a foreign currency: its rate to CNY; empty takes the exchange-rate
    /// table's rate on the line's day.
    #[serde(default)]
    pub rate: String,
}

/// What booking a statement line made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Booked {
    /// A voucher posted and matched with the line.
    Posted(i64),
    /// A draft voucher (kind `manual`) for the signatures or the posting the booker may not
    /// give; the line stays open, is matched with it when it is posted, and meanwhile with
    /// nothing else.
    Drafted(i64),
}

/// Books a statement line that nothing booked yet (直接生成凭证): one voucher on the line's
/// day, money out Dr the account named, Cr the bank (付), money in the other way round (收).
/// A line of a foreign-currency account carries its amount and rate on the bank's side (the
/// rate typed, else the table's on the day), the yuan on both. The ledger's rules hold as for
/// any voucher: an open period, a usable account. Needs
/// the bank clerk's grant. Someone the books' rules let book at once
/// ([`crate::review::Rules::books_at_once`]) posts it and it is matched with the line (signed
/// by them as cashier where the rule asks); anyone else who may enter vouchers makes it a
/// draft, as 用友 makes a voucher from a bank line, signed by them as cashier where they may,
/// to be reviewed and posted, which matches it ([`match_posted_draft`]). While such a draft
/// stands for the line (until it is deleted), the line is neither booked again nor matched
/// with anything else.
pub async fn book(tx: &mut Tx, principal: &Principal, line_id: i64, form: &BookForm) -> Result<Booked> {
    principal.authorize(crate::invoicing::PAYMENTS)?;
    let rules = crate::review::rules(tx.conn(), principal.company_id.0).await?;
    let at_once = rules.books_at_once(principal);
    if !at_once {
        principal.authorize(crate::service::CREATE)?;
    }
    let company = principal.company_id.0;
    let line = statement_line(tx, company, line_id).await?;
    require_unmatched(&line)?;
    // One voucher a line: a second would book the money twice.
    require_no_other_voucher(tx, &line, None, "account").await?;
    let mut problems = Problems::default();
    let account = form.account.trim();
    if account.is_empty() {
        problems.add("account", "error.required", "");
    }
    let bank: String = line.try_get("bank_account")?;
    if account == bank {
        problems.add("account", "error.bank.book_same_account", account);
    }
    let amount: i64 = line.try_get("amount")?;
    let date: String = line.try_get("line_date")?;
    let day = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok();
    let currency: String = line.try_get("currency")?;
    let rate = crate::fx::document_rate(tx.conn(), company, &currency, &form.rate, day, &mut problems).await?;
    problems.finish()?;
    // The yuan on both sides; the foreign amount and its rate on the bank's.
    let (yuan, foreign) = match &rate {
        Some(rate) => (rate.in_cny(amount.abs())?, rate.on_line(amount.abs())),
        None => (amount.abs(), None),
    };
    let memo = match form.memo.trim() {
        "" => line.try_get::<String, _>("memo")?,
        typed => typed.to_string(),
    };
    let memo: String = memo.chars().take(200).collect();
    let (bank_line, other) = (
        crate::domain::Line { foreign, ..crate::domain::Line::cny(&bank, 0, 0) },
        crate::domain::Line::cny(account, 0, 0),
    );
    let (mut debit, mut credit) = if amount < 0 { (other, bank_line) } else { (bank_line, other) };
    (debit.debit, credit.credit) = (yuan, yuan);
    let mut lines = vec![debit, credit];
    for l in &mut lines {
        l.memo = memo.clone();
    }
    let word = if amount < 0 { "付" } else { "收" };
    // The ledger names the voucher's lines; the clerk typed one account, so its refusals
    // (unknown, archived, a parent) go beside it, and the bank's beside nothing.
    let account_line = if amount < 0 { "lines[0]" } else { "lines[1]" };
    let entry = crate::domain::Entry { period: crate::domain::period_of(&date), date, word: word.into(), memo, lines };
    let kept = crate::service::keep_built(tx, principal, rules, entry, ("bank", &[(account_line, "account")])).await?;
    match kept {
        (entry_id, Some(_)) => {
            match_voucher(tx, line_id, entry_id).await?;
            Ok(Booked::Posted(entry_id))
        }
        (entry_id, None) => {
            tx.execute(
                sqlx::query("UPDATE fin_bank_lines SET draft_entry_id = $1 WHERE id = $2").bind(entry_id).bind(line_id),
            )
            .await?;
            let changes = json!({"draft_entry_id": [null, entry_id]});
            tx.audit("state", "finance.bank_line", Some(&line_id.to_string()), &changes).await?;
            Ok(Booked::Drafted(entry_id))
        }
    }
}

/// The receipt or payment a number names (`REC/2026/00001`), for matching a statement line by
/// hand when no suggestion fits; refused on `payment` when there is none.
pub async fn payment_by_number(tx: &mut Tx, company: i64, number: &str) -> Result<i64> {
    let row = tx
        .fetch_optional(
            sqlx::query("SELECT id FROM fin_payments WHERE company_id = $1 AND number = $2")
                .bind(company)
                .bind(number.trim()),
        )
        .await?
        .ok_or_else(|| DomainError::invalid("payment", "error.bank.no_payment", number.trim()))?;
    Ok(row.try_get("id")?)
}

/// Undoes a reconciliation matched by mistake: the line is open again, and so is its receipt
/// or payment for another line. Audited.
pub async fn unreconcile(tx: &mut Tx, principal: &Principal, line_id: i64) -> Result<()> {
    principal.authorize(crate::invoicing::PAYMENTS)?;
    let company = principal.company_id.0;
    let row = statement_line(tx, company, line_id).await?;
    let (payment, entry) = (row.try_get::<Option<i64>, _>("payment_id")?, row.try_get::<Option<i64>, _>("entry_id")?);
    if payment.is_none() && entry.is_none() {
        return Err(DomainError::Conflict("the statement line is not reconciled".into()).into());
    }
    tx.execute(
        sqlx::query("UPDATE fin_bank_lines SET payment_id = NULL, entry_id = NULL, matched_at = NULL WHERE id = $1")
            .bind(line_id),
    )
    .await?;
    // A voucher booked from the line stays posted: it records money that did move, and it is
    // offered again for the line (or reversed, as any voucher).
    let change = match payment {
        Some(payment) => json!({"payment_id": [payment, null]}),
        None => json!({"entry_id": [entry, null]}),
    };
    tx.audit("state", "finance.bank_line", Some(&line_id.to_string()), &change).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_with_in_and_out_columns_is_parsed_by_header_names() {
        let csv = "交易日期,收入金额,支出金额,对方户名,摘要\n2026/03/20,\"30,000.00\",,北京华信科技有限公司,货款\n20260328,,113000.00,杭州新元电子有限公司,采购款\n";
        let mapping = Mapping {
            date: "交易日期".into(),
            money_in: "收入金额".into(),
            money_out: "支出金额".into(),
            counterparty: "对方户名".into(),
            memo: "摘要".into(),
            has_header: true,
            ..Default::default()
        };
        let lines = parse(csv, &mapping, Currency::CNY).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].date.as_str(), lines[0].amount), ("2026-03-20", 3_000_000));
        assert_eq!((lines[1].date.as_str(), lines[1].amount), ("2026-03-28", -11_300_000));
    }

    #[test]
    fn a_bad_row_is_named_and_the_file_refused() {
        let csv = "2026-03-01,100.00\n2026-02-30,5.00\n2026-03-02,abc\n";
        let mapping = Mapping { date: "1".into(), amount: "2".into(), has_header: false, ..Default::default() };
        let Err(DomainError::Invalid(errors)) = parse(csv, &mapping, Currency::CNY) else { panic!("refused") };
        assert_eq!((errors[0].field.as_str(), errors[0].key), ("row 2", "error.bank.date"));
        assert_eq!((errors[1].field.as_str(), errors[1].key), ("row 3", "error.bank.amount"));
    }

    #[test]
    fn an_export_reads_as_utf8_or_as_the_banks_gbk() {
        // "交易日期" in GBK, as an online bank writes it.
        let gbk = [0xBD, 0xBB, 0xD2, 0xD7, 0xC8, 0xD5, 0xC6, 0xDA, b',', b'1'];
        assert_eq!(decode_export(&gbk), "交易日期,1");
        assert_eq!(decode_export("\u{feff}交易日期,1".as_bytes()), "交易日期,1");
    }
}

//! Documents written in a foreign currency: an export invoice in USD, a bill from a Hong Kong
//! supplier in HKD, the receipt or payment that settles it.
//!
//! The ledger is kept in CNY. Such a document keeps its own figures beside the ledger's
//! (`fin_invoice_currency`, `fin_payment_currency`; its invoice lines are in its currency),
//! and its CNY figures are its amounts at the rate it was written at. Of its voucher, the
//! receivable, payable and bank lines carry the foreign amount and the rate, so 期末调汇
//! revalues them; revenue, stock, expense and VAT lines stay in CNY at the booking rate, as
//! CAS 19 asks of non-monetary items.
//!
//! A settlement pays at its own rate what the invoice carries at the invoice's: the realised
//! exchange difference goes to 财务费用 (6603) on the receipt's or payment's voucher, a gain
//! credited and a loss debited.
//!
//! The exchange-rate table (汇率表) keeps each currency's rate from a day on. A document whose
//! rate is left empty takes the rate in force on its date (`document_rate`), and the month-end
//! revaluation the rate in force on the month's last day for a currency it is not given.

use crate::permissions::ACCOUNTS;
use db::Tx;
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::{Currency, DomainError, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;

/// The largest rate accepted: a rate to CNY above this is a typing mistake, and products of
/// rates this size with the largest amounts still fit the ledger's integers.
const MAX_RATE: i64 = 10_000;

/// The currency a document is written in, and its rate to CNY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentRate {
    pub currency: Currency,
    pub rate: Decimal,
}

impl DocumentRate {
    /// What a form sent: an empty currency or `CNY` is a CNY document (`None`, the rate
    /// ignored); any other needs a known currency and a positive rate of at most six
    /// decimals. A problem is added beside `currency` or `rate` otherwise.
    pub fn read(currency: &str, rate: &str, problems: &mut Problems) -> Option<DocumentRate> {
        let code = currency.trim().to_uppercase();
        if code.is_empty() || code == "CNY" {
            return None;
        }
        let Some(currency) = Currency::from_code(&code) else {
            problems.add("currency", "error.finance.currency", &code);
            return None;
        };
        match parse_rate(rate) {
            Some(rate) => Some(DocumentRate { currency, rate }),
            None => {
                problems.add("rate", "error.finance.rate", rate);
                None
            }
        }
    }

    /// A rate as stored with its document.
    pub fn stored(code: &str, rate: &str) -> Result<DocumentRate, DomainError> {
        let currency =
            Currency::from_code(code).ok_or_else(|| DomainError::Internal(format!("stored currency {code}")))?;
        let rate = rate.parse().map_err(|_| DomainError::Internal(format!("stored rate {rate}")))?;
        Ok(DocumentRate { currency, rate })
    }

    pub fn code(&self) -> &str {
        self.currency.code()
    }

    /// The rate as stored and shown: `7.1`, no trailing zeros.
    pub fn rate_text(&self) -> String {
        self.rate.normalize().to_string()
    }

    /// An amount of the document's currency (minor units) in fen, rounded half up once.
    pub fn in_cny(&self, amount: i64) -> Result<i64, DomainError> {
        crate::domain::in_cny(Money::from_minor(amount, self.currency), self.rate)
            .ok_or_else(|| DomainError::invalid("rate", "error.amount.too_large", self.rate_text()))
    }

    /// What a voucher line carries of an amount of the document's currency.
    pub fn on_line(&self, amount: i64) -> Option<(String, i64, String)> {
        Some((self.code().to_string(), amount, self.rate_text()))
    }

    /// The CNY of `part` of a document whose `whole` is carried at `whole_cny`, when `done`
    /// of it (carried at `done_cny`) is already taken: the rest, to the fen, when `part` takes
    /// all that is left, so the parts add up to the whole; otherwise `part` at the rate, but
    /// no more than the rest.
    pub fn part_in_cny(
        &self,
        part: i64,
        done: i64,
        whole: i64,
        done_cny: i64,
        whole_cny: i64,
    ) -> Result<i64, DomainError> {
        let rest = whole_cny - done_cny;
        if done + part == whole {
            return Ok(rest);
        }
        let at_rate = self.in_cny(part)?;
        Ok(if rest >= 0 { at_rate.min(rest) } else { at_rate.max(rest) })
    }

    /// Splits `whole_cny` over `parts` of the document's currency: each part at the rate,
    /// and the rounding difference on the largest, so the shares add up to the whole.
    pub fn split(&self, parts: &[i64], whole_cny: i64) -> Result<Vec<i64>, DomainError> {
        let mut shares = parts.iter().map(|p| self.in_cny(*p)).collect::<Result<Vec<i64>, _>>()?;
        let difference = whole_cny - shares.iter().sum::<i64>();
        if let Some(largest) = (0..parts.len()).max_by_key(|i| parts[*i].abs()) {
            shares[largest] += difference;
        }
        Ok(shares)
    }
}

/// A rate to CNY as typed: positive, at most six decimals and at most `MAX_RATE`; trailing
/// zeros dropped (`7.1000` is `7.1`).
pub fn parse_rate(text: &str) -> Option<Decimal> {
    text.trim()
        .parse::<Decimal>()
        .ok()
        .filter(|r| *r > Decimal::ZERO && r.scale() <= 6 && *r <= Decimal::from(MAX_RATE))
        .map(|r| r.normalize())
}

/// The currency and rate of a document's form, as `DocumentRate::read` reads them, except that
/// a foreign currency whose rate is left empty takes the table's rate in force on the
/// document's `date`; when the table has none, the problem beside `rate` says so. Without a
/// date (its own problem already added) an empty rate is not looked up.
pub async fn document_rate(
    conn: &mut db::Conn,
    company: i64,
    currency: &str,
    rate: &str,
    date: Option<chrono::NaiveDate>,
    problems: &mut Problems,
) -> db::Result<Option<DocumentRate>> {
    let foreign = Currency::from_code(currency.trim()).filter(|c| *c != Currency::CNY);
    if let (Some(foreign), true) = (foreign, rate.trim().is_empty()) {
        let Some(date) = date else { return Ok(None) };
        return Ok(match rate_on(conn, company, foreign, &date.to_string()).await? {
            Some(rate) => Some(DocumentRate { currency: foreign, rate }),
            None => {
                problems.add("rate", "error.finance.no_table_rate", foreign.code());
                None
            }
        });
    }
    Ok(DocumentRate::read(currency, rate, problems))
}

/// One row of the exchange-rate table: from `date` on, one unit of `currency` is `rate` yuan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableRate {
    pub currency: String,
    pub date: String,
    pub rate: String,
}

/// A rate as entered into the table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRateForm {
    pub currency: String,
    /// `YYYY-MM-DD`: the first day the rate holds.
    pub date: String,
    pub rate: String,
}

/// Enters a currency's rate from a day on, or corrects the one entered for that day. Refused
/// beside each field: a currency that is not a foreign one the ledger knows, a date or rate
/// that cannot be read. Documents already written keep the rate they were written at.
/// Audited, with the rate it replaces.
pub async fn set_rate(tx: &mut Tx, principal: &Principal, form: &TableRateForm) -> db::Result<TableRate> {
    principal.authorize(ACCOUNTS)?;
    let company = principal.company_id.0;
    let mut problems = Problems::default();
    let code = form.currency.trim().to_uppercase();
    let currency = Currency::from_code(&code).filter(|c| *c != Currency::CNY);
    if currency.is_none() {
        problems.add("currency", "error.finance.currency", &code);
    }
    let date = problems.check(kernel::dates::parse("date", &form.date));
    let rate = parse_rate(&form.rate);
    if rate.is_none() {
        problems.add("rate", "error.finance.rate", form.rate.trim());
    }
    problems.finish()?;
    let (Some(currency), Some(date), Some(rate)) = (currency, date, rate) else {
        return Err(DomainError::Internal("validated input is incomplete".into()).into());
    };
    let row = TableRate { currency: currency.code().to_string(), date: date.to_string(), rate: rate.to_string() };
    let before = stored_rate(tx.conn(), company, &row.currency, &row.date).await?;
    tx.execute(
        sqlx::query(
            "INSERT INTO fin_exchange_rates (company_id, currency, rate_date, rate) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (company_id, currency, rate_date) DO UPDATE SET rate = excluded.rate",
        )
        .bind(company)
        .bind(&row.currency)
        .bind(&row.date)
        .bind(&row.rate),
    )
    .await?;
    tx.audit(
        if before.is_some() { "update" } else { "create" },
        "finance.exchange_rate",
        Some(&format!("{} {}", row.currency, row.date)),
        &json!({"rate": [before, row.rate]}),
    )
    .await?;
    Ok(row)
}

/// Takes a rate out of the table; the rate before it holds from its day on. Audited.
pub async fn remove_rate(tx: &mut Tx, principal: &Principal, currency: &str, date: &str) -> db::Result<()> {
    principal.authorize(ACCOUNTS)?;
    let company = principal.company_id.0;
    let currency = currency.trim().to_uppercase();
    let Some(before) = stored_rate(tx.conn(), company, &currency, date).await? else {
        return Err(DomainError::NotFound("exchange rate").into());
    };
    tx.execute(
        sqlx::query("DELETE FROM fin_exchange_rates WHERE company_id = $1 AND currency = $2 AND rate_date = $3")
            .bind(company)
            .bind(&currency)
            .bind(date),
    )
    .await?;
    tx.audit("delete", "finance.exchange_rate", Some(&format!("{currency} {date}")), &json!({"rate": [before, null]}))
        .await?;
    Ok(())
}

/// The rate entered for exactly that day, if any.
async fn stored_rate(conn: &mut db::Conn, company: i64, currency: &str, date: &str) -> db::Result<Option<String>> {
    let row =
        sqlx::query("SELECT rate FROM fin_exchange_rates WHERE company_id = $1 AND currency = $2 AND rate_date = $3")
            .bind(company)
            .bind(currency)
            .bind(date)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|r| r.try_get("rate")).transpose()?)
}

/// The rate of `currency` in force on `date` (`YYYY-MM-DD`): the latest entered on or before it.
pub async fn rate_on(conn: &mut db::Conn, company: i64, currency: Currency, date: &str) -> db::Result<Option<Decimal>> {
    let row = sqlx::query(
        "SELECT rate FROM fin_exchange_rates WHERE company_id = $1 AND currency = $2 AND rate_date <= $3 \
         ORDER BY rate_date DESC LIMIT 1",
    )
    .bind(company)
    .bind(currency.code())
    .bind(date)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        let text: String = r.try_get("rate")?;
        Ok(DocumentRate::stored(currency.code(), &text)?.rate)
    })
    .transpose()
}

/// Every currency's rate in force on `date`, by currency.
pub async fn rates_on(conn: &mut db::Conn, company: i64, date: &str) -> db::Result<Vec<TableRate>> {
    let rows = sqlx::query(
        "SELECT r.currency, r.rate_date, r.rate FROM fin_exchange_rates r WHERE r.company_id = $1 \
         AND r.rate_date = (SELECT MAX(x.rate_date) FROM fin_exchange_rates x \
         WHERE x.company_id = r.company_id AND x.currency = r.currency AND x.rate_date <= $2) \
         ORDER BY r.currency",
    )
    .bind(company)
    .bind(date)
    .fetch_all(conn)
    .await?;
    rows.iter().map(table_rate).collect()
}

/// The table, latest day first: of one currency, or of all. At most `limit` rows.
pub async fn table(
    conn: &mut db::Conn,
    company: i64,
    currency: Option<Currency>,
    limit: i64,
) -> db::Result<Vec<TableRate>> {
    let rows = sqlx::query(
        "SELECT currency, rate_date, rate FROM fin_exchange_rates WHERE company_id = $1 \
         AND ($2 = '' OR currency = $2) ORDER BY rate_date DESC, currency LIMIT $3",
    )
    .bind(company)
    .bind(currency.map_or(String::new(), |c| c.code().to_string()))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(table_rate).collect()
}

fn table_rate(row: &sqlx::any::AnyRow) -> db::Result<TableRate> {
    Ok(TableRate { currency: row.try_get("currency")?, date: row.try_get("rate_date")?, rate: row.try_get("rate")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(rate: &str) -> DocumentRate {
        DocumentRate::read("usd", rate, &mut Problems::default()).unwrap()
    }

    #[test]
    fn a_form_names_a_known_currency_and_a_positive_rate() {
        let mut problems = Problems::default();
        assert_eq!(DocumentRate::read("", "", &mut problems), None);
        assert_eq!(DocumentRate::read("CNY", "7", &mut problems), None);
        assert!(problems.0.is_empty());
        assert_eq!(usd("7.1000").rate_text(), "7.1");
        for (currency, rate, field) in [
            ("GBP", "9", "currency"),
            ("USD", "", "rate"),
            ("USD", "-7", "rate"),
            ("USD", "7.1234567", "rate"),
            ("USD", "20000", "rate"),
        ] {
            let mut problems = Problems::default();
            assert_eq!(DocumentRate::read(currency, rate, &mut problems), None, "{currency} {rate}");
            assert_eq!(problems.0[0].field, field, "{currency} {rate}");
        }
    }

    #[test]
    fn parts_of_a_document_add_up_to_its_cny_to_the_fen() {
        // $0.03 at 1.5 is ¥0.05 (0.045 rounded up); three cents paid one at a time clear
        // 0.02 (0.015 rounded up), then 0.02, then what is left: 0.01.
        let rate = usd("1.5");
        let whole = rate.in_cny(3).unwrap();
        assert_eq!(whole, 5);
        assert_eq!(rate.part_in_cny(1, 0, 3, 0, whole).unwrap(), 2);
        assert_eq!(rate.part_in_cny(1, 1, 3, 2, whole).unwrap(), 2);
        assert_eq!(rate.part_in_cny(1, 2, 3, 4, whole).unwrap(), 1);
        // Three revenue lines of $0.01 split ¥0.05 as 0.02 + 0.02 + 0.01 would not: the
        // difference goes on the largest.
        assert_eq!(rate.split(&[1, 1, 1], 5).unwrap().iter().sum::<i64>(), 5);
        assert_eq!(rate.split(&[100_000, 1], rate.in_cny(100_001).unwrap()).unwrap(), vec![150_000, 2]);
    }

    #[test]
    fn a_yen_amount_has_no_minor_unit() {
        let yen = DocumentRate::read("JPY", "0.0478", &mut Problems::default()).unwrap();
        // ¥100,000 (yen) at 0.0478 is ¥4,780.00.
        assert_eq!(yen.in_cny(100_000).unwrap(), 478_000);
        assert_eq!(crate::domain::decimal_text(100_000, yen.currency), "100000");
        assert_eq!(crate::domain::decimal_text(-123_450, Currency::USD), "-1234.50");
    }
}

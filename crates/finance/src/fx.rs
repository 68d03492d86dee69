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

use kernel::error::Problems;
use kernel::{Currency, DomainError, Money};
use rust_decimal::Decimal;

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
        match rate.trim().parse::<Decimal>() {
            Ok(r) if r > Decimal::ZERO && r.scale() <= 6 && r <= Decimal::from(MAX_RATE) => {
                Some(DocumentRate { currency, rate: r.normalize() })
            }
            _ => {
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

/// An amount of `currency` as the API sends it and messages quote it: `1234.50`, `-8.00`,
/// yen `100000`; CNY as `domain::yuan` writes it.
pub fn decimal_text(amount: i64, currency: Currency) -> String {
    Money::from_minor(amount, currency).to_decimal().to_string()
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
        assert_eq!(decimal_text(100_000, yen.currency), "100000");
        assert_eq!(decimal_text(-123_450, Currency::USD), "-1234.50");
    }
}

//! VAT on invoice lines, as `shared/domain/china-tax-payroll.md` states it: tax on a line is
//! round(net × rate, 2); from a tax-inclusive price, net = round(gross / (1 + rate), 2) and
//! tax = gross − net. Rounding per line by default, per document (per rate) as an option.
//! Pure arithmetic in `Decimal`; results in fen.

use kernel::error::{FieldError, Problems};
use kernel::{Currency, DomainResult, Money, Qty, Rounding};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// VAT rates in basis points ([`kernel::vat::RATES_BP`]): the general method's 13 %, 9 %, 6 %
/// and 0 % (exports), the simplified method's 5 %, 3 % and 1 %.
pub use kernel::vat::RATES_BP;

/// An invoice line as entered.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InvoiceLineForm {
    pub description: String,
    /// Decimal text, up to six places.
    pub quantity: String,
    /// Decimal text in the document's currency (yuan, up to two places, for CNY).
    pub unit_price: String,
    /// Percent as decimal text ("5" for 5 %); empty for none.
    #[serde(default)]
    pub discount: String,
    /// Percent, one of [`kernel::vat::RATE_CHOICES`].
    pub vat_rate: String,
    /// Revenue or expense account; default 6001 for sales, 1405 for purchases.
    #[serde(default)]
    pub account: String,
    /// The catalog product the line sells or buys, if any; its name, sale price and VAT rate
    /// fill what the line leaves empty.
    #[serde(default)]
    pub product_id: Option<i64>,
    /// The code of the cost centre the line's revenue or cost belongs to; empty for none.
    #[serde(default)]
    pub cost_center: String,
    /// The code of the project the line belongs to; empty for none.
    #[serde(default)]
    pub project: String,
}

impl InvoiceLineForm {
    /// A row of the form left empty (no description, quantity or price), which is skipped.
    pub fn is_blank(&self) -> bool {
        self.description.trim().is_empty() && self.quantity.trim().is_empty() && self.unit_price.trim().is_empty()
    }
}

/// A computed line, amounts in minor units of the document's currency (fen for CNY).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    pub description: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub discount_bp: i64,
    pub vat_rate_bp: i64,
    pub account: String,
    pub product_id: Option<i64>,
    pub cost_center: String,
    pub project: String,
    pub net: i64,
    pub tax: i64,
    pub total: i64,
}

/// Totals of an invoice, in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Totals {
    pub net: i64,
    pub tax: i64,
    pub total: i64,
}

/// Whether tax is rounded on each line or once per rate on the whole document. The company's
/// choice is kept in its books (`fin_books.vat_rounding`, [`crate::invoicing::vat_rounding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VatRounding {
    #[default]
    Line,
    Document,
}

impl VatRounding {
    /// As stored and sent: `line` or `document`.
    pub fn key(self) -> &'static str {
        match self {
            VatRounding::Line => "line",
            VatRounding::Document => "document",
        }
    }

    /// The stored key; anything but `document` is per line.
    pub fn from_key(key: &str) -> VatRounding {
        if key == "document" {
            VatRounding::Document
        } else {
            VatRounding::Line
        }
    }
}

/// Whether the company is a general VAT taxpayer (一般纳税人) or a small-scale one (小规模纳税人)
/// filing monthly or quarterly (按月 / 按季申报), a setting of its books
/// ([`crate::invoicing::taxpayer`]).
///
/// A small-scale taxpayer charges the collection rates only (征收率: 3 %, 1 % through 2027, 5 %
/// for property) or sells exempt; its tax stands on the simplified method's account and is
/// paid as it is. It deducts no input VAT: the tax on the bills it receives is part of what
/// it bought, so its bills put it on their lines' accounts. A return whose sales stay within
/// 100,000.00 a month (300,000.00 a quarter) owes no VAT (财政部 税务总局公告2023年第19号), and
/// the month-end of its last month moves its tax to non-operating income
/// (`vat_return::transfer_unpaid`). A quarterly filer's VAT and surtaxes are reckoned for the
/// quarter at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Taxpayer {
    #[default]
    General,
    SmallScale,
    SmallScaleQuarterly,
}

impl Taxpayer {
    pub const ALL: [Taxpayer; 3] = [Taxpayer::General, Taxpayer::SmallScale, Taxpayer::SmallScaleQuarterly];

    /// As stored and sent: `general`, `small_scale` or `small_scale_quarterly`.
    pub fn key(self) -> &'static str {
        match self {
            Taxpayer::General => "general",
            Taxpayer::SmallScale => "small_scale",
            Taxpayer::SmallScaleQuarterly => "small_scale_quarterly",
        }
    }

    pub fn parse(key: &str) -> Option<Taxpayer> {
        Taxpayer::ALL.into_iter().find(|t| t.key() == key.trim())
    }

    /// The stored key; anything unknown is a general taxpayer.
    pub fn from_key(key: &str) -> Taxpayer {
        Taxpayer::parse(key).unwrap_or_default()
    }

    /// Whether it is a small-scale taxpayer, filing monthly or quarterly.
    pub fn small_scale(self) -> bool {
        self != Taxpayer::General
    }

    /// Whether it may charge `rate_bp` on a sale: a small-scale taxpayer only the collection
    /// rates or exemption.
    pub fn may_charge(self, rate_bp: i64) -> bool {
        !self.small_scale() || kernel::vat::simplified_method(rate_bp) || kernel::vat::is_exempt(rate_bp)
    }

    /// Refuses, on `field`, a sale at a rate it may not charge ([`Taxpayer::may_charge`]).
    pub fn check_charged(self, field: &str, rate_bp: i64, problems: &mut Problems) {
        if !self.may_charge(rate_bp) {
            problems.add(field, "error.finance.small_scale_rate", kernel::vat::choice(rate_bp));
        }
    }

    /// The rate a sale on `date` (`YYYY-MM-DD`) of a product kept at `rate_bp` is charged at:
    /// the product's, unless it may not charge it; a small-scale taxpayer's goods and services
    /// bought at 13 % are sold at its collection rate, 3 %, reduced to 1 % through
    /// [`REDUCED_RATE_UNTIL`].
    pub fn rate_charged(self, rate_bp: i64, date: &str) -> i64 {
        match self.may_charge(rate_bp) {
            true => rate_bp,
            false if date <= REDUCED_RATE_UNTIL => 100,
            false => 300,
        }
    }

    /// Whether a return whose sales stay within the limit owes no VAT at all.
    pub fn exempt_on_small_sales(self) -> bool {
        self.small_scale()
    }

    /// Whether the VAT on its bills is part of their cost rather than input VAT to deduct.
    pub fn costs_input_vat(self) -> bool {
        self.small_scale()
    }

    /// The months `from..=to` (valid `YYYY-MM`) widened to whole returns: a quarterly filer's
    /// to whole quarters.
    pub fn whole_returns(self, from: &str, to: &str) -> (String, String) {
        match self {
            Taxpayer::SmallScaleQuarterly => (quarter_of(from)[0].clone(), quarter_of(to)[2].clone()),
            _ => (from.to_string(), to.to_string()),
        }
    }

    /// The months of the return filed at the end of `month` (valid `YYYY-MM`): the month
    /// itself, or for a quarterly filer the quarter it ends; none for a quarterly filer's first
    /// and second months, which file nothing of their own.
    pub fn return_months(self, month: &str) -> Option<Vec<String>> {
        match self {
            Taxpayer::SmallScaleQuarterly => Some(quarter_of(month)).filter(|q| q[2] == month).map(Vec::from),
            _ => Some(vec![month.to_string()]),
        }
    }
}

/// The last day small-scale taxpayers' 3 % is reduced to 1 % (财政部 税务总局公告2023年第19号).
pub const REDUCED_RATE_UNTIL: &str = "2027-12-31";

/// The three months of the quarter `month` (`YYYY-MM`) falls in.
fn quarter_of(month: &str) -> [String; 3] {
    let (year, number) = month.split_at(4.min(month.len()));
    let number: u32 = number.trim_start_matches('-').parse().unwrap_or(1).clamp(1, 12);
    let first = (number - 1) / 3 * 3 + 1;
    [first, first + 1, first + 2].map(|m| format!("{year}-{m:02}"))
}

/// A decimal amount in minor units of `currency`, rounded half up.
fn minor(value: Decimal, currency: Currency) -> i64 {
    Money::from_decimal(value, currency, Rounding::HalfUp).map(|m| m.minor()).unwrap_or(i64::MAX)
}

fn percent_bp(field: &str, text: &str, key: &'static str) -> Result<i64, FieldError> {
    if text.trim().is_empty() {
        return Ok(0);
    }
    let value: Decimal = text.trim().trim_end_matches('%').parse().map_err(|_| FieldError::new(field, key, text))?;
    let bp = value * Decimal::from(100);
    if bp.fract() != Decimal::ZERO || bp < Decimal::ZERO || bp > Decimal::from(10_000) {
        return Err(FieldError::new(field, key, text));
    }
    Ok(bp.trunc().try_into().unwrap_or(0))
}

/// The rate a line's VAT field names, in basis points: one of the choices
/// ([`kernel::vat::RATE_CHOICES`]), where `13.00` is 13 as well.
pub fn rate_typed(text: &str) -> Option<i64> {
    kernel::vat::parse_rate(text)
        .or_else(|| percent_bp("vat_rate", text, "error.finance.vat_rate").ok().filter(|r| RATES_BP.contains(r)))
}

/// Computes every line and the totals, in `currency` (CNY but for a document written in a
/// foreign one). `default_account` fills lines without an account.
pub fn compute(
    lines: &[InvoiceLineForm],
    tax_inclusive: bool,
    rounding: VatRounding,
    default_account: &str,
    currency: Currency,
) -> DomainResult<(Vec<InvoiceLine>, Totals)> {
    let fen = |value: Decimal| minor(value, currency);
    let digits = currency.minor_digits();
    let mut problems = Problems::default();
    let mut computed = Vec::new();
    // Unrounded tax per rate, for per-document rounding.
    let mut exact_tax_by_rate: Vec<(i64, Decimal)> = Vec::new();
    for (i, form) in lines.iter().enumerate() {
        if form.is_blank() {
            continue;
        }
        let field = format!("lines[{i}]");
        if form.description.trim().is_empty() {
            problems.add(&field, "error.required", "");
        }
        if form.description.chars().count() > 200 {
            problems.add(&field, "error.too_long", "200");
        }
        let quantity = problems.check(Qty::parse(&form.quantity).map_err(|mut e| {
            e.field = field.clone();
            e
        }));
        let price = problems.check(Money::parse(&form.unit_price, currency).map_err(|mut e| {
            e.field = field.clone();
            e
        }));
        let discount = problems.check(percent_bp(&field, &form.discount, "error.finance.discount"));
        let rate = rate_typed(&form.vat_rate);
        if rate.is_none() {
            problems.add(&field, "error.finance.vat_rate", &form.vat_rate);
        }
        if quantity.is_some_and(|q| q.scaled() <= 0) {
            problems.add(&field, "error.finance.quantity_positive", &form.quantity);
        }
        if price.is_some_and(|p| p.minor() < 0) {
            problems.add(&field, "error.finance.negative", "");
        }
        let (Some(quantity), Some(price), Some(discount), Some(rate)) = (quantity, price, discount, rate) else {
            continue;
        };
        let rate_dec = kernel::vat::fraction(rate);
        let gross = quantity.to_decimal() * price.to_decimal() * (Decimal::ONE - Decimal::new(discount, 4));
        let (net, tax, exact_tax) = if tax_inclusive {
            let total = fen(gross);
            let exact_net = Decimal::new(total, digits) / (Decimal::ONE + rate_dec);
            let net = fen(exact_net);
            (net, total - net, Decimal::new(total, digits) - exact_net)
        } else {
            let net = fen(gross);
            let exact = Decimal::new(net, digits) * rate_dec;
            (net, fen(exact), exact)
        };
        match exact_tax_by_rate.iter_mut().find(|(r, _)| *r == rate) {
            Some((_, sum)) => *sum += exact_tax,
            None => exact_tax_by_rate.push((rate, exact_tax)),
        }
        let account =
            if form.account.trim().is_empty() { default_account.to_string() } else { form.account.trim().to_string() };
        computed.push(InvoiceLine {
            product_id: form.product_id,
            description: form.description.trim().to_string(),
            quantity: quantity.scaled(),
            unit_price: price.minor(),
            discount_bp: discount,
            vat_rate_bp: rate,
            account,
            cost_center: form.cost_center.trim().to_string(),
            project: form.project.trim().to_string(),
            net,
            tax,
            total: net + tax,
        });
    }
    if computed.is_empty() && problems.0.is_empty() {
        problems.add("lines", "error.finance.no_lines", "");
    }
    problems.finish()?;
    if rounding == VatRounding::Document {
        // Round once per rate and put the difference on the largest line of that rate, so
        // the lines still add up to the document. From tax-inclusive prices the gross stays
        // as the customer was quoted it: the difference moves between tax and net.
        for (rate, exact) in &exact_tax_by_rate {
            let document_tax = fen(*exact);
            let line_tax: i64 = computed.iter().filter(|l| l.vat_rate_bp == *rate).map(|l| l.tax).sum();
            let difference = document_tax - line_tax;
            if difference != 0 {
                if let Some(line) = computed.iter_mut().filter(|l| l.vat_rate_bp == *rate).max_by_key(|l| l.net) {
                    line.tax += difference;
                    if tax_inclusive {
                        line.net -= difference;
                    } else {
                        line.total += difference;
                    }
                }
            }
        }
    }
    let totals = computed.iter().fold(Totals::default(), |t, l| Totals {
        net: t.net + l.net,
        tax: t.tax + l.tax,
        total: t.total + l.total,
    });
    Ok((computed, totals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarterly_filer_files_at_each_quarters_end_for_the_whole_quarter() {
        let quarterly = Taxpayer::SmallScaleQuarterly;
        assert_eq!(quarterly.return_months("2026-02"), None);
        assert_eq!(
            quarterly.return_months("2026-12"),
            Some(vec!["2026-10".into(), "2026-11".into(), "2026-12".into()])
        );
        assert_eq!(Taxpayer::SmallScale.return_months("2026-02"), Some(vec!["2026-02".to_string()]));
        assert_eq!(quarterly.whole_returns("2026-02", "2026-04"), ("2026-01".to_string(), "2026-06".to_string()));
        assert_eq!(
            Taxpayer::General.whole_returns("2026-02", "2026-04"),
            ("2026-02".to_string(), "2026-04".to_string())
        );
        assert!(Taxpayer::parse("small_scale_quarterly").is_some_and(|t| t.costs_input_vat() && !t.may_charge(1300)));
        assert!(Taxpayer::General.may_charge(1300) && !Taxpayer::General.costs_input_vat());
        let small = Taxpayer::SmallScale;
        assert_eq!((small.rate_charged(1300, "2027-12-31"), small.rate_charged(1300, "2028-01-01")), (100, 300));
        assert_eq!(
            (small.rate_charged(500, "2026-03-01"), Taxpayer::General.rate_charged(1300, "2026-03-01")),
            (500, 1300)
        );
    }

    fn line(qty: &str, price: &str, rate: &str) -> InvoiceLineForm {
        InvoiceLineForm {
            description: "办公椅".into(),
            quantity: qty.into(),
            unit_price: price.into(),
            vat_rate: rate.into(),
            ..Default::default()
        }
    }

    #[test]
    fn tax_exclusive_lines_round_tax_per_line() {
        // 3 × 33.33 = 99.99 net; 13 % = 12.9987 → 13.00.
        let (lines, totals) =
            compute(&[line("3", "33.33", "13")], false, VatRounding::Line, "6001", Currency::CNY).unwrap();
        assert_eq!((lines[0].net, lines[0].tax, totals.total), (9_999, 1_300, 11_299));
    }

    #[test]
    fn tax_inclusive_prices_split_gross_into_net_and_tax() {
        // 113.00 including 13 % is 100.00 + 13.00.
        let (_, totals) =
            compute(&[line("1", "113.00", "13")], true, VatRounding::Line, "6001", Currency::CNY).unwrap();
        assert_eq!(totals, Totals { net: 10_000, tax: 1_300, total: 11_300 });
    }

    #[test]
    fn document_rounding_differs_from_line_rounding_by_the_accumulated_fractions() {
        // Three lines of 0.10 at 6 %: per line 0.006 → 0.01 each (0.03); per document 0.018 → 0.02.
        let lines = vec![line("1", "0.10", "6"), line("1", "0.10", "6"), line("1", "0.10", "6")];
        let (_, per_line) = compute(&lines, false, VatRounding::Line, "6001", Currency::CNY).unwrap();
        let (_, per_document) = compute(&lines, false, VatRounding::Document, "6001", Currency::CNY).unwrap();
        assert_eq!((per_line.tax, per_document.tax), (3, 2));
    }

    #[test]
    fn document_rounding_from_tax_inclusive_prices_keeps_the_gross_and_moves_the_fen_to_net() {
        // Three lines of 1.00 including 6 %: per line 1.00 / 1.06 = 0.9434 → net 0.94, tax 0.06
        // each (0.18); per document 3.00 − 2.830189 = 0.169811 → 0.17, one fen less tax and
        // one more net on one line, the gross still 3.00.
        let lines = vec![line("1", "1.00", "6"), line("1", "1.00", "6"), line("1", "1.00", "6")];
        let (_, per_line) = compute(&lines, true, VatRounding::Line, "6001", Currency::CNY).unwrap();
        let (computed, per_document) = compute(&lines, true, VatRounding::Document, "6001", Currency::CNY).unwrap();
        assert_eq!(per_line, Totals { net: 282, tax: 18, total: 300 });
        assert_eq!(per_document, Totals { net: 283, tax: 17, total: 300 });
        assert!(computed.iter().all(|l| l.net + l.tax == l.total && l.total == 100));
    }

    #[test]
    fn discounts_and_bad_rates() {
        let mut discounted = line("10", "50.00", "9");
        discounted.discount = "5".into();
        let (lines, _) = compute(&[discounted], false, VatRounding::Line, "6001", Currency::CNY).unwrap();
        assert_eq!((lines[0].net, lines[0].tax), (47_500, 4_275));
        assert!(
            compute(&[line("1", "10", "17")], false, VatRounding::Line, "6001", Currency::CNY).is_err(),
            "17 % is no longer a rate"
        );
        assert!(compute(&[line("0", "10", "13")], false, VatRounding::Line, "6001", Currency::CNY).is_err());
        assert!(compute(&[line("1.0000001", "10", "13")], false, VatRounding::Line, "6001", Currency::CNY).is_err());
    }
}

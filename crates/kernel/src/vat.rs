//! China's VAT rates (增值税税率和征收率), which products, contracts and invoices all offer:
//! the general method's 13 %, 9 % and 6 %, and 0 % for exports (零税率); the simplified
//! method's 5 %, 3 % and 1 % (简易计税的征收率; 1 % is the reduced rate for small-scale
//! taxpayers through 2027); and exemption (免税), which is not a rate of nought but a sale the
//! tax does not reach: a hospital's medical services, a farmer's own produce. It bears no
//! tax, its invoice reads 免税 in the rate column, and the VAT return counts it apart from
//! zero-rated exports. `shared/domain/china-tax-payroll.md` has the rules.

use rust_decimal::Decimal;

/// Exemption (免税) as the rate columns store it: never a percentage, so it is told apart from
/// 0 % wherever a rate is read. Use [`fraction`] for arithmetic, never the value itself.
pub const EXEMPT_BP: i64 = -1;

/// The rates in basis points, highest first, exemption last: 1300 is 13 %.
pub const RATES_BP: [i64; 8] = [1300, 900, 600, 500, 300, 100, 0, EXEMPT_BP];

/// The rates as typed and sent: `13`, `5`, `0`, and `exempt`.
pub const RATE_CHOICES: [&str; 8] = ["13", "9", "6", "5", "3", "1", "0", "exempt"];

/// Whether a sale at `rate_bp` is taxed under the simplified method (简易计税): a general
/// taxpayer's output at these rates is kept apart from the general method's output VAT, and no
/// input VAT is set against it.
pub fn simplified_method(rate_bp: i64) -> bool {
    matches!(rate_bp, 500 | 300 | 100)
}

/// Whether `rate_bp` is exemption (免税).
pub fn is_exempt(rate_bp: i64) -> bool {
    rate_bp == EXEMPT_BP
}

/// The rate a choice names (`5` is 500; `exempt`, or 免税 as the invoice prints it, is
/// [`EXEMPT_BP`]), if it is one of [`RATE_CHOICES`].
pub fn parse_rate(text: &str) -> Option<i64> {
    if text.trim() == "免税" {
        return Some(EXEMPT_BP);
    }
    RATE_CHOICES.iter().position(|c| *c == text.trim()).map(|i| RATES_BP[i])
}

/// A stored rate as a form's choice and the API send it: `13`, `0`, `exempt`.
pub fn choice(rate_bp: i64) -> String {
    if is_exempt(rate_bp) {
        return "exempt".into();
    }
    Decimal::new(rate_bp, 2).normalize().to_string()
}

/// The rate as a fraction of the net to take as tax: 0.13 for 13 %, nothing for exemption.
pub fn fraction(rate_bp: i64) -> Decimal {
    if is_exempt(rate_bp) {
        return Decimal::ZERO;
    }
    Decimal::new(rate_bp, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_names_its_rate_and_only_the_collection_rates_are_simplified() {
        assert_eq!(parse_rate(" 5 "), Some(500));
        assert_eq!(parse_rate("13"), Some(1300));
        assert_eq!(parse_rate("17"), None);
        let simplified: Vec<i64> = RATES_BP.into_iter().filter(|r| simplified_method(*r)).collect();
        assert_eq!(simplified, vec![500, 300, 100]);
    }

    #[test]
    fn exemption_is_no_rate_of_nought_and_bears_no_tax() {
        assert_eq!(
            (parse_rate("exempt"), parse_rate("免税"), parse_rate("0")),
            (Some(EXEMPT_BP), Some(EXEMPT_BP), Some(0))
        );
        assert_eq!(
            (choice(EXEMPT_BP), choice(0), choice(1300)),
            ("exempt".to_string(), "0".to_string(), "13".to_string())
        );
        assert_eq!((fraction(EXEMPT_BP), fraction(900)), (Decimal::ZERO, Decimal::new(9, 2)));
        assert!(RATE_CHOICES.iter().all(|c| parse_rate(c).map(choice).as_deref() == Some(*c)));
    }
}

//! China's VAT rates (增值税税率和征收率), which products, contracts and invoices all offer:
//! the general method's 13 %, 9 % and 6 %, and 0 % for exports; the simplified method's 5 %,
//! 3 % and 1 % (简易计税的征收率; 1 % is the reduced rate for small-scale taxpayers through
//! 2027). `shared/domain/china-tax-payroll.md` has the rules.

/// The rates in basis points, highest first: 1300 is 13 %.
pub const RATES_BP: [i64; 7] = [1300, 900, 600, 500, 300, 100, 0];

/// The rates as typed and shown: `13`, `5`, `0`.
pub const RATE_CHOICES: [&str; 7] = ["13", "9", "6", "5", "3", "1", "0"];

/// Whether a sale at `rate_bp` is taxed under the simplified method (简易计税): a general
/// taxpayer's output at these rates is kept apart from the general method's output VAT, and no
/// input VAT is set against it.
pub fn simplified_method(rate_bp: i64) -> bool {
    matches!(rate_bp, 500 | 300 | 100)
}

/// The rate a choice names (`5` is 500), if it is one of [`RATE_CHOICES`].
pub fn parse_rate(text: &str) -> Option<i64> {
    RATE_CHOICES.iter().position(|c| *c == text.trim()).map(|i| RATES_BP[i])
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
}

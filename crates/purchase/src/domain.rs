//! Purchasing rules without I/O: when an order needs approval, and the three-way match of a
//! supplier bill against its order (the price agreed) and its receipts (the quantity that
//! arrived and is not billed yet).

use serde::Serialize;

/// A company's purchasing settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Orders whose total (VAT included, fen) is above this wait for a manager's approval.
    pub approval_threshold: i64,
    /// How far a billed unit price may differ from the ordered one, in basis points.
    pub price_tolerance_bp: i64,
    /// How far a billed quantity may exceed what was received and not yet billed, in basis points.
    pub quantity_tolerance_bp: i64,
}

impl Default for Settings {
    /// 50,000.00 yuan; prices within 2 %; quantities exactly.
    fn default() -> Self {
        Settings { approval_threshold: 5_000_000, price_tolerance_bp: 200, quantity_tolerance_bp: 0 }
    }
}

impl Settings {
    pub fn needs_approval(&self, total: i64) -> bool {
        total > self.approval_threshold
    }
}

/// Why a bill line does not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mismatch {
    /// More billed than received and not yet billed (millionths of the stock unit).
    Quantity { line_no: i64, billed: i64, open: i64 },
    /// A unit price (fen) outside the tolerance of the ordered one.
    Price { line_no: i64, billed: i64, ordered: i64 },
}

/// A bill line to match: what the order says and what the bill says.
#[derive(Debug, Clone, Copy)]
pub struct BillLine {
    pub line_no: i64,
    pub ordered_price: i64,
    /// Received (net of returns) less already billed.
    pub open_quantity: i64,
    pub billed_quantity: i64,
    pub billed_price: i64,
}

/// Matches each line; an empty result means the bill may post at once.
pub fn three_way_match(lines: &[BillLine], settings: &Settings) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for line in lines {
        let allowed = i128::from(line.open_quantity) * i128::from(10_000 + settings.quantity_tolerance_bp);
        if i128::from(line.billed_quantity) * 10_000 > allowed {
            out.push(Mismatch::Quantity {
                line_no: line.line_no,
                billed: line.billed_quantity,
                open: line.open_quantity,
            });
        }
        let difference = i128::from((line.billed_price - line.ordered_price).abs()) * 10_000;
        if difference > i128::from(line.ordered_price) * i128::from(settings.price_tolerance_bp) {
            out.push(Mismatch::Price { line_no: line.line_no, billed: line.billed_price, ordered: line.ordered_price });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: i64 = 1_000_000;

    fn line(open: i64, billed: i64, price: i64) -> BillLine {
        BillLine {
            line_no: 1,
            ordered_price: 1_000,
            open_quantity: open * UNIT,
            billed_quantity: billed * UNIT,
            billed_price: price,
        }
    }

    #[test]
    fn a_bill_for_what_arrived_at_the_agreed_price_matches() {
        assert!(three_way_match(&[line(100, 100, 1_000)], &Settings::default()).is_empty());
        // 10.20 is within 2 % of 10.00; 10.21 is not.
        assert!(three_way_match(&[line(100, 100, 1_020)], &Settings::default()).is_empty());
        assert_eq!(
            three_way_match(&[line(100, 100, 1_021)], &Settings::default()),
            vec![Mismatch::Price { line_no: 1, billed: 1_021, ordered: 1_000 }]
        );
    }

    #[test]
    fn billing_more_than_arrived_is_a_mismatch_unless_the_tolerance_allows_it() {
        let over = [line(100, 105, 1_000)];
        assert_eq!(
            three_way_match(&over, &Settings::default()),
            vec![Mismatch::Quantity { line_no: 1, billed: 105 * UNIT, open: 100 * UNIT }]
        );
        let lenient = Settings { quantity_tolerance_bp: 500, ..Settings::default() };
        assert!(three_way_match(&over, &lenient).is_empty());
    }

    #[test]
    fn orders_above_fifty_thousand_need_approval() {
        let settings = Settings::default();
        assert!(!settings.needs_approval(5_000_000));
        assert!(settings.needs_approval(5_000_001));
    }
}

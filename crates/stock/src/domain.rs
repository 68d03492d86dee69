//! Valuation rules without I/O: what a move is worth, in fen.
//!
//! Stock is valued per product and company. Goods coming in from outside the warehouses carry
//! a unit cost; goods going out take value away by the product's costing method:
//! - moving average (移动加权平均): the share of the value on hand that the quantity is of the
//!   quantity on hand, rounded half up to the fen; the last piece out takes whatever value is
//!   left, so an empty product is worth exactly zero and no rounding dust stays behind;
//! - FIFO (先进先出): the oldest receipt layers first, each at its own value.
//!
//! Quantities are in millionths of the stock unit, unit costs in millionths of a yuan, values in
//! fen. Every product is computed in `i128`, so no real quantity or cost can overflow.

use kernel::error::FieldError;
use kernel::Qty;

/// One unit, in millionths: what a serial number stands for.
pub const ONE: i64 = 1_000_000;

/// The serial numbers typed for a serial-tracked line ("SN-001, SN-002" or one per line), one
/// per unit of `quantity`: each becomes a move of one unit. Refused when the count differs,
/// a serial repeats, or the quantity is not whole.
pub fn serials(field: &str, text: &str, quantity: i64) -> Result<Vec<String>, FieldError> {
    let list: Vec<String> =
        text.split([',', '，', ';', '\n', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    let mut unique = list.clone();
    unique.sort();
    unique.dedup();
    if quantity % ONE != 0 || list.len() as i64 != quantity / ONE || unique.len() != list.len() {
        return Err(FieldError::new(field, "error.stock.serial_count", Qty::from_scaled(quantity).to_string()));
    }
    Ok(list)
}

/// The moves a document line makes: for a serial-tracked product one per serial typed (each
/// one unit), otherwise one of the whole quantity with its lot. (lot or serial, quantity.)
pub fn move_parts(serial: bool, field: &str, lot: &str, quantity: i64) -> Result<Vec<(String, i64)>, FieldError> {
    if serial {
        Ok(serials(field, lot, quantity)?.into_iter().map(|s| (s, ONE)).collect())
    } else {
        Ok(vec![(lot.trim().to_string(), quantity)])
    }
}

/// The largest unit cost accepted: ten million yuan a unit.
pub const MAX_UNIT_COST: i64 = 10_000_000 * 1_000_000;

/// Parses a unit cost in yuan with up to six decimals ("10", "12.5", "0.125"), refusing
/// negative and absurd costs. Returns millionths of a yuan.
pub fn parse_unit_cost(field: &str, text: &str) -> Result<i64, FieldError> {
    let cost = Qty::parse(text).map_err(|mut e| {
        e.field = field.into();
        e
    })?;
    if cost.scaled() < 0 {
        return Err(FieldError::new(field, "error.finance.negative", text));
    }
    if cost.scaled() > MAX_UNIT_COST {
        return Err(FieldError::new(field, "error.stock.cost_too_large", text));
    }
    Ok(cost.scaled())
}

/// `a × b / c`, rounded half up; `c` must be positive and `a`, `b` not negative.
fn mul_div(a: i64, b: i64, c: i64) -> i64 {
    let (a, b, c) = (i128::from(a), i128::from(b), i128::from(c));
    let value = (a * b * 2 + c) / (c * 2);
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The value in fen of `quantity` units at `unit_cost` (millionths of a yuan).
pub fn value_at(quantity: i64, unit_cost: i64) -> i64 {
    // quantity / 10^6 units × unit_cost / 10^6 yuan × 100 fen = quantity × unit_cost / 10^10.
    mul_div(quantity, unit_cost, 10_000_000_000)
}

/// The average unit cost of what is on hand, in millionths of a yuan (zero when nothing is).
pub fn average_cost(on_hand: i64, value: i64) -> i64 {
    if on_hand <= 0 || value <= 0 {
        return 0;
    }
    mul_div(value, 10_000_000_000, on_hand)
}

/// The value leaving with `taken` of `on_hand` units worth `value` in total (moving average).
pub fn share_of(value: i64, taken: i64, on_hand: i64) -> i64 {
    if taken >= on_hand {
        value
    } else if taken <= 0 || value <= 0 {
        0
    } else {
        mul_div(value, taken, on_hand)
    }
}

/// A FIFO layer: what is left of one receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    pub id: i64,
    pub quantity: i64,
    pub value: i64,
}

/// Takes `quantity` from the layers, oldest first. Returns what each touched layer gives up
/// (id, quantity, value) and the total value; a layer emptied gives all its value.
pub fn consume_fifo(layers: &[Layer], quantity: i64) -> (Vec<Layer>, i64) {
    let mut left = quantity;
    let mut taken = Vec::new();
    let mut total = 0;
    for layer in layers {
        if left <= 0 {
            break;
        }
        let take = left.min(layer.quantity);
        let value = share_of(layer.value, take, layer.quantity);
        taken.push(Layer { id: layer.id, quantity: take, value });
        total += value;
        left -= take;
    }
    (taken, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: i64 = 1_000_000;

    #[test]
    fn a_hundred_at_ten_is_worth_a_thousand_yuan() {
        let cost = parse_unit_cost("unit_cost", "10.00").unwrap();
        assert_eq!(value_at(100 * UNIT, cost), 100_000);
        assert_eq!(value_at(3 * UNIT, parse_unit_cost("unit_cost", "0.125").unwrap()), 38); // 0.375 → 0.38
        assert_eq!(parse_unit_cost("unit_cost", "-1").unwrap_err().key, "error.finance.negative");
        assert_eq!(parse_unit_cost("unit_cost", "abc").unwrap_err().field, "unit_cost");
    }

    #[test]
    fn moving_average_of_ten_and_thirteen_is_eleven() {
        // 100 at 10.00 and 50 at 13.00: 1,650.00 for 150 units.
        let (on_hand, value) = (150 * UNIT, 165_000);
        assert_eq!(average_cost(on_hand, value), 11 * UNIT);
        assert_eq!(share_of(value, 120 * UNIT, on_hand), 132_000);
        // Thirds: two of three pieces worth 10.00 take 6.67, the last takes the 3.33 left.
        assert_eq!(share_of(1_000, 2 * UNIT, 3 * UNIT), 667);
        assert_eq!(share_of(333, UNIT, UNIT), 333);
    }

    #[test]
    fn fifo_takes_the_oldest_layers_first() {
        let layers = [
            Layer { id: 1, quantity: 100 * UNIT, value: 100_000 },
            Layer { id: 2, quantity: 50 * UNIT, value: 65_000 },
        ];
        let (taken, total) = consume_fifo(&layers, 120 * UNIT);
        assert_eq!(total, 126_000);
        assert_eq!(
            taken,
            vec![
                Layer { id: 1, quantity: 100 * UNIT, value: 100_000 },
                Layer { id: 2, quantity: 20 * UNIT, value: 26_000 }
            ]
        );
    }
}

//! Exact amounts. Money is stored as an `i64` count of minor units (fen for CNY) and
//! quantities as an `i64` count of millionths, so SQL `SUM()` is exact on SQLite and
//! PostgreSQL alike. Arithmetic that can produce fractions goes through `Decimal` and is
//! rounded explicitly with a [`Rounding`] rule; nothing here ever touches a float.

use crate::error::{DomainError, FieldError};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency with its number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Currency {
    code: [u8; 3],
    minor_digits: u32,
}

impl Currency {
    pub const CNY: Currency = Currency::new(*b"CNY", 2);
    pub const USD: Currency = Currency::new(*b"USD", 2);
    pub const EUR: Currency = Currency::new(*b"EUR", 2);
    pub const HKD: Currency = Currency::new(*b"HKD", 2);
    pub const JPY: Currency = Currency::new(*b"JPY", 0);

    const fn new(code: [u8; 3], minor_digits: u32) -> Self {
        Self { code, minor_digits }
    }

    /// Looks a currency up by its code.
    pub fn from_code(code: &str) -> Option<Self> {
        [Self::CNY, Self::USD, Self::EUR, Self::HKD, Self::JPY]
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code))
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    pub fn minor_digits(&self) -> u32 {
        self.minor_digits
    }
}

/// How a fractional result is brought to the stored precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Rounding {
    /// 四舍五入: half away from zero, the default in Chinese accounting.
    #[default]
    HalfUp,
    /// Banker's rounding, for companies whose policy asks for it.
    HalfEven,
    /// Always towards zero (truncation).
    Down,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::Down => RoundingStrategy::ToZero,
        }
    }
}

/// An exact amount of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount from its stored minor units (e.g. fen).
    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// Rounds a decimal amount to the currency's minor unit.
    pub fn from_decimal(amount: Decimal, currency: Currency, rounding: Rounding) -> Result<Self, DomainError> {
        let scaled = amount.round_dp_with_strategy(currency.minor_digits, rounding.strategy())
            * Decimal::from(10i64.pow(currency.minor_digits));
        scaled
            .to_i64()
            .map(|minor| Self { minor, currency })
            .ok_or_else(|| DomainError::invalid("amount", "error.amount.too_large", amount.to_string()))
    }

    /// Parses user input such as `1234.56` or `1,234.56`; more decimals than the currency
    /// has are refused rather than silently rounded.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, FieldError> {
        let cleaned: String = text.trim().chars().filter(|c| *c != ',' && *c != ' ').collect();
        let amount =
            Decimal::from_str(&cleaned).map_err(|_| FieldError::new("amount", "error.amount.not_a_number", text))?;
        if amount.scale() > currency.minor_digits {
            return Err(FieldError::new("amount", "error.amount.too_many_decimals", currency.minor_digits.to_string()));
        }
        Money::from_decimal(amount, currency, Rounding::HalfUp)
            .map_err(|_| FieldError::new("amount", "error.amount.too_large", text))
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.minor_digits)
    }

    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// The sum, refusing mixed currencies and overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, DomainError> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money { minor, ..self })
            .ok_or_else(|| DomainError::invalid("amount", "error.amount.too_large", ""))
    }

    /// The difference, refusing mixed currencies and overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, DomainError> {
        self.checked_add(other.negate())
    }

    pub fn negate(self) -> Money {
        Money { minor: -self.minor, ..self }
    }

    /// This amount times a rate (a quantity, a tax rate, an exchange rate), rounded once.
    pub fn mul_decimal(self, factor: Decimal, rounding: Rounding) -> Result<Money, DomainError> {
        Money::from_decimal(self.to_decimal() * factor, self.currency, rounding)
    }

    fn same_currency(&self, other: Money) -> Result<(), DomainError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(DomainError::Conflict(format!(
                "cannot combine {} with {}",
                self.currency.code(),
                other.currency.code()
            )))
        }
    }
}

impl fmt::Display for Money {
    /// `1,234,567.89` — thousands separated, exactly the stored digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits as usize;
        let abs = self.minor.unsigned_abs().to_string();
        let padded = format!("{abs:0>width$}", width = digits + 1);
        let (int_part, frac_part) = padded.split_at(padded.len() - digits);
        let mut grouped = String::new();
        for (i, c) in int_part.chars().enumerate() {
            if i > 0 && (int_part.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if self.minor < 0 { "-" } else { "" };
        if digits == 0 {
            write!(f, "{sign}{grouped}")
        } else {
            write!(f, "{sign}{grouped}.{frac_part}")
        }
    }
}

/// An exact quantity at six decimal places (enough for grams of a kilogram-priced drug and
/// for unit-of-measure conversions), stored as an `i64` count of millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Qty(i64);

impl Qty {
    /// Decimal places kept.
    pub const SCALE: u32 = 6;
    const ONE: i64 = 1_000_000;

    pub const fn from_scaled(scaled: i64) -> Self {
        Self(scaled)
    }

    pub const fn from_units(units: i64) -> Self {
        Self(units * Self::ONE)
    }

    pub fn scaled(&self) -> i64 {
        self.0
    }

    /// An exact conversion: a quantity that needs more than six decimals is refused, never rounded.
    pub fn from_decimal(value: Decimal) -> Result<Self, FieldError> {
        let scaled = value * Decimal::from(Self::ONE);
        if scaled.fract() != Decimal::ZERO {
            return Err(FieldError::new("quantity", "error.quantity.too_precise", value.to_string()));
        }
        scaled
            .to_i64()
            .map(Qty)
            .ok_or_else(|| FieldError::new("quantity", "error.quantity.too_large", value.to_string()))
    }

    pub fn parse(text: &str) -> Result<Self, FieldError> {
        let value = Decimal::from_str(text.trim())
            .map_err(|_| FieldError::new("quantity", "error.quantity.not_a_number", text))?;
        Self::from_decimal(value)
    }

    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.0, Self::SCALE).normalize()
    }

    pub fn checked_add(self, other: Qty) -> Option<Qty> {
        self.0.checked_add(other.0).map(Qty)
    }

    pub fn checked_sub(self, other: Qty) -> Option<Qty> {
        self.0.checked_sub(other.0).map(Qty)
    }
}

impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_every_fen_of_a_large_amount() {
        // The figure that sea-orm's float storage turned into ...457.
        let m = Money::parse("1234567890123456.78", Currency::CNY).unwrap();
        assert_eq!(m.minor(), 123_456_789_012_345_678);
        assert_eq!(m.to_string(), "1,234,567,890,123,456.78");
    }

    #[test]
    fn vat_on_a_line_rounds_half_up_to_the_fen() {
        // 13% VAT on 99.50: 12.935 becomes 12.94.
        let net = Money::parse("99.50", Currency::CNY).unwrap();
        let vat = net.mul_decimal(Decimal::new(13, 2), Rounding::HalfUp).unwrap();
        assert_eq!(vat.to_string(), "12.94");
        assert_eq!(net.mul_decimal(Decimal::new(13, 2), Rounding::HalfEven).unwrap().to_string(), "12.94");
        assert_eq!(net.mul_decimal(Decimal::new(13, 2), Rounding::Down).unwrap().to_string(), "12.93");
    }

    #[test]
    fn money_refuses_what_it_cannot_hold_exactly() {
        assert_eq!(Money::parse("1.005", Currency::CNY).unwrap_err().key, "error.amount.too_many_decimals");
        assert_eq!(Money::parse("abc", Currency::CNY).unwrap_err().key, "error.amount.not_a_number");
        let cny = Money::from_minor(100, Currency::CNY);
        assert!(cny.checked_add(Money::from_minor(100, Currency::USD)).is_err());
        assert_eq!(Money::from_minor(-5, Currency::CNY).to_string(), "-0.05");
        assert_eq!(Money::from_minor(1200, Currency::JPY).to_string(), "1,200");
    }

    #[test]
    fn quantities_convert_exactly_or_not_at_all() {
        // One box of 12: a third of a box is not representable and is refused.
        assert_eq!(Qty::parse("2.5").unwrap().scaled(), 2_500_000);
        assert!(Qty::from_decimal(Decimal::ONE / Decimal::from(3)).is_err());
        assert_eq!(Qty::parse("0.000001").unwrap().to_string(), "0.000001");
        assert_eq!(Qty::from_units(12).to_string(), "12");
    }
}

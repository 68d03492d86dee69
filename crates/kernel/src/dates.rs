//! Business dates as people type them: `YYYY-MM-DD`, a real calendar day, in a year a business
//! record can have. chrono alone accepts `26-03-05` (the year 26) and `+20260-03-05`, which would
//! number a document in the wrong year; every module parses dates here instead.

use crate::error::FieldError;
use chrono::{Datelike, NaiveDate};

/// The years a business record may fall in.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Parses a business date for `field`, or says why not (`error.date.format`).
pub fn parse(field: &str, text: &str) -> Result<NaiveDate, FieldError> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| text.len() == 10 && YEARS.contains(&d.year()))
        .ok_or_else(|| FieldError::new(field, "error.date.format", text))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn only_full_dates_in_business_years_are_accepted() {
        assert_eq!(parse("date", " 2026-03-05 ").map(|d| d.to_string()), Ok("2026-03-05".into()));
        for bad in ["26-03-05", "+20260-03-05", "2026-02-30", "2026-3-5", "1999-12-31", ""] {
            assert_eq!(parse("date", bad).map_err(|e| e.key), Err("error.date.format"), "{bad}");
        }
    }
}

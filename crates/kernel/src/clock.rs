//! The clock. Services ask it for "now" instead of calling the system clock, so a test can
//! set the date (a period close on 31 December, an ageing report in March) and move it forward.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

/// A source of the current instant: the system clock, or a fixed instant a test controls.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The real clock.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock stopped at `at` until a test moves it with [`Clock::advance`] or [`Clock::set`].
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self { fixed: Some(Arc::new(Mutex::new(at))) }
    }

    /// The current instant in UTC.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.fixed {
            Some(at) => *at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => Utc::now(),
        }
    }

    /// Moves a fixed clock forward; the system clock ignores this.
    pub fn advance(&self, by: Duration) {
        if let Some(at) = &self.fixed {
            let mut at = at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *at += by;
        }
    }

    /// Sets a fixed clock to `to`; the system clock ignores this.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Some(at) = &self.fixed {
            *at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = to;
        }
    }

    /// The current instant as stored in the database: RFC 3339 UTC with microseconds, which
    /// sorts as text the same way it sorts as time on both databases.
    pub fn now_text(&self) -> String {
        format_instant(self.now())
    }
}

/// Formats an instant the one way the database stores instants.
pub fn format_instant(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let start = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 0).unwrap();
        let clock = Clock::fixed(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::minutes(2));
        assert_eq!(clock.now_text(), "2027-01-01T00:01:00.000000Z");
    }
}

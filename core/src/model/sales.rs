//! Monthly sales (銷售) per dealer: the target head office or the regional manager sets, the actual the manager enters or head office imports, and the achievement between them.

use std::fmt;
use std::str::FromStr;

use crate::calendar::{Day, Timestamp};
use crate::money::{Money, MoneyError};

/// The largest sales figure accepted, in minor units (one trillion in major units):
/// far above any dealer's month, low enough that sums over thousands of dealers and
/// years stay within `i64`.
pub const MAX_SALES_MINOR: i64 = 100_000_000_000_000;

/// Why a sales figure is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SalesError {
    #[error("'{0}' is not a month written YYYY-MM (2000-01 to 2099-12)")]
    BadMonth(String),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("{0} is larger than the largest sales figure accepted")]
    TooLarge(Money),
}

/// A calendar month, written `YYYY-MM`; ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: u16,
    month: u8,
    /// Its first day (kept, so that reading it never fails).
    first: Day,
}

impl Month {
    /// The month `year`-`month`, if it is one this product accepts (2000-01 to 2099-12).
    pub fn new(year: u16, month: u8) -> Option<Month> {
        if !(2000..=2099).contains(&year) {
            return None;
        }
        let first = Day::from_ymd(i32::from(year), month, 1).ok()?;
        Some(Month { year, month, first })
    }

    /// Its first day.
    pub fn first_day(self) -> Day {
        self.first
    }

    /// The month after it (2099-12 has none).
    pub fn next(self) -> Option<Month> {
        if self.month == 12 {
            Month::new(self.year + 1, 1)
        } else {
            Month::new(self.year, self.month + 1)
        }
    }

    /// The month before it (2000-01 has none).
    pub fn previous(self) -> Option<Month> {
        if self.month == 1 {
            Month::new(self.year.checked_sub(1)?, 12)
        } else {
            Month::new(self.year, self.month - 1)
        }
    }

    /// The month a day falls in.
    pub fn of(day: Day) -> Option<Month> {
        day.to_string().get(..7)?.parse().ok()
    }

    /// The instants it covers in UTC, as `[start, end)` epoch milliseconds (the month
    /// of a read-model timestamp is taken in UTC, as on head office's claims list).
    pub fn utc_range(self) -> (Timestamp, Option<Timestamp>) {
        (
            self.first_day().start(),
            self.next().map(|m| m.first_day().start()),
        )
    }
}

impl FromStr for Month {
    type Err = SalesError;
    fn from_str(s: &str) -> Result<Self, SalesError> {
        let bad = || SalesError::BadMonth(s.chars().take(16).collect());
        let b = s.as_bytes();
        if b.len() != 7 || b[4] != b'-' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let year: u16 = s[..4].parse().map_err(|_| bad())?;
        let month: u8 = s[5..].parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Checks a target or an actual: not negative, not absurdly large.
pub fn check_figure(m: &Money) -> Result<(), SalesError> {
    m.check()?;
    if m.minor > MAX_SALES_MINOR {
        return Err(SalesError::TooLarge(*m));
    }
    Ok(())
}

/// Achievement: the actual as a share of the target (1.0 = met). None without a
/// target, with a zero target, or without an actual yet.
pub fn achievement(target_minor: Option<i64>, actual_minor: Option<i64>) -> Option<f64> {
    match (target_minor, actual_minor) {
        (Some(t), Some(a)) if t > 0 => Some(a as f64 / t as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_read_and_write_as_yyyy_mm() {
        let m: Month = "2026-12".parse().unwrap();
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(m.next().unwrap().to_string(), "2027-01");
        assert_eq!(m.next().unwrap().previous(), Some(m));
        assert_eq!("2000-01".parse::<Month>().unwrap().previous(), None);
        assert_eq!(Month::of(Day::from_ymd(2026, 12, 31).unwrap()), Some(m));
        for bad in [
            "2026-13",
            "2026-00",
            "26-12",
            "2026/12",
            "2026-1",
            "1999-12",
            "2100-01",
            "２０２６-12",
            "",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad} accepted");
        }
        assert!("2026-11".parse::<Month>().unwrap() < m);
    }

    #[test]
    fn a_month_covers_its_days_in_utc() {
        let (start, end) = "2026-02".parse::<Month>().unwrap().utc_range();
        assert_eq!(start, Day::from_ymd(2026, 2, 1).unwrap().start());
        assert_eq!(end, Some(Day::from_ymd(2026, 3, 1).unwrap().start()));
        assert_eq!("2099-12".parse::<Month>().unwrap().utc_range().1, None);
    }

    #[test]
    fn figures_are_checked_and_achievement_needs_a_target() {
        let twd = "TWD".parse().unwrap();
        assert!(
            check_figure(&Money {
                minor: 0,
                currency: twd
            })
            .is_ok()
        );
        assert!(
            check_figure(&Money {
                minor: -1,
                currency: twd
            })
            .is_err()
        );
        assert!(
            check_figure(&Money {
                minor: MAX_SALES_MINOR + 1,
                currency: twd
            })
            .is_err()
        );
        assert_eq!(achievement(Some(200), Some(150)), Some(0.75));
        assert_eq!(achievement(Some(0), Some(150)), None);
        assert_eq!(achievement(None, Some(150)), None);
        assert_eq!(achievement(Some(100), None), None);
    }
}

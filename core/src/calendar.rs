//! Points in time (`Timestamp`, device milliseconds) and calendar days (`Day`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use time::{Date, OffsetDateTime};

/// Why a date or time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("'{0}' is not a date of the form YYYY-MM-DD")]
    BadDay(String),
    #[error("{0} ms is outside the supported range of time")]
    OutOfRange(i64),
}

/// Milliseconds since 1970-01-01T00:00:00Z, as a device's clock read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (Automerge's change time unit).
    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// The UTC calendar day this instant falls on.
    pub fn day(self) -> Result<Day, CalendarError> {
        let nanos = i128::from(self.0) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map(|t| Day(t.date()))
            .map_err(|_| CalendarError::OutOfRange(self.0))
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Timestamp) -> i64 {
        later.0.saturating_sub(self.0).div_euclid(86_400_000)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, e.g. `2026-11-27T08:30:00Z` (milliseconds shown when not zero).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.0) * 1_000_000;
        let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
            return write!(f, "{}ms", self.0);
        };
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            Day(t.date()),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        if t.millisecond() != 0 {
            write!(f, ".{:03}", t.millisecond())?;
        }
        f.write_str("Z")
    }
}

/// A calendar day, written `YYYY-MM-DD`, such as a commitment's due date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

impl Day {
    /// The day from its parts, if it exists.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Result<Self, CalendarError> {
        let bad = || CalendarError::BadDay(format!("{year:04}-{month:02}-{day:02}"));
        let month = time::Month::try_from(month).map_err(|_| bad())?;
        Date::from_calendar_date(year, month, day)
            .map(Day)
            .map_err(|_| bad())
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Day) -> i64 {
        (later.0 - self.0).whole_days()
    }

    /// The day `n` days later (earlier when `n` is negative), if it exists.
    pub fn add_days(self, n: i64) -> Option<Day> {
        self.0.checked_add(time::Duration::days(n)).map(Day)
    }

    /// Midnight UTC at the start of this day.
    pub fn start(self) -> Timestamp {
        let secs = self.0.midnight().assume_utc().unix_timestamp();
        Timestamp(secs * 1000)
    }
}

impl FromStr for Day {
    type Err = CalendarError;
    /// Reads `YYYY-MM-DD` (exactly four, two and two digits).
    fn from_str(s: &str) -> Result<Self, CalendarError> {
        let bad = || CalendarError::BadDay(s.chars().take(40).collect());
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = b.get(r)?;
            part.iter()
                .all(u8::is_ascii_digit)
                .then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
        };
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
            return Err(bad());
        };
        let (Ok(y), Ok(m), Ok(d)) = (i32::try_from(y), u8::try_from(m), u8::try_from(d)) else {
            return Err(bad());
        };
        Day::from_ymd(y, m, d).map_err(|_| bad())
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

crate::text_serde::serde_as_text!(Day);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_print() {
        let d: Day = "2026-11-27".parse().unwrap();
        assert_eq!(d.to_string(), "2026-11-27");
        assert!("2026-02-30".parse::<Day>().is_err());
        assert!("27/11/2026".parse::<Day>().is_err());
    }

    #[test]
    fn a_timestamp_falls_on_its_utc_day() {
        let d: Day = "2026-11-27".parse().unwrap();
        assert_eq!(d.start().day().unwrap(), d);
        assert_eq!(Timestamp(d.start().0 + 86_399_999).day().unwrap(), d);
        assert_eq!(d.start().to_string(), "2026-11-27T00:00:00Z");
        assert_eq!(
            Timestamp(d.start().0 + 3_723_004).to_string(),
            "2026-11-27T01:02:03.004Z"
        );
        assert!("2026-1-27".parse::<Day>().is_err());
        assert!("２０２６-11-27".parse::<Day>().is_err());
    }
}

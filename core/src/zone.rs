//! `Zone` and `Today`: a territory's IANA time zone, and the calendar day an instant falls on there.
//!
//! The core has no clock and no time-zone database: the caller gives the instant
//! and the zone's offset from UTC at that instant ([`Offsets`]; the server reads
//! the IANA database, the browser `Intl`). What "today", "overdue" and "how many
//! days old" mean is decided here, once, for the phone and head office alike.

use std::fmt;

use crate::calendar::{CalendarError, Day, Timestamp};

/// The zone of a territory that names none (every demo territory's).
pub const DEFAULT_ZONE: &str = "Asia/Taipei";

/// Why a time-zone name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("'{0}' is not an IANA time-zone name such as Asia/Taipei")]
    BadName(String),
}

/// An IANA time-zone name (`Asia/Taipei`, `UTC`), checked for its shape only:
/// whether the database knows it is the caller's [`Offsets`]' business.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Zone(String);

impl Zone {
    /// The zone named `name`, if it has the shape of an IANA name.
    pub fn new(name: &str) -> Result<Self, ZoneError> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && !name.starts_with('/')
            && !name.ends_with('/')
            && !name.contains("//")
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
        if ok {
            Ok(Zone(name.to_owned()))
        } else {
            Err(ZoneError::BadName(name.chars().take(70).collect()))
        }
    }

    /// The default zone, [`DEFAULT_ZONE`].
    pub fn default_zone() -> Self {
        Zone(DEFAULT_ZONE.to_owned())
    }

    /// The zone named by a territory (`None`: the default one).
    pub fn or_default(name: Option<&str>) -> Self {
        name.and_then(|n| Zone::new(n).ok())
            .unwrap_or_else(Zone::default_zone)
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Zone {
    type Err = ZoneError;
    fn from_str(s: &str) -> Result<Self, ZoneError> {
        Zone::new(s)
    }
}

/// The time-zone database, as the caller has it: a zone's offset from UTC, in
/// seconds east, at an instant; `None` for a zone it does not know.
pub trait Offsets {
    fn offset_s(&self, zone: &Zone, at: Timestamp) -> Option<i32>;
}

/// A fixed offset for every zone (UTC with 0): for tests and for callers without a database.
#[derive(Debug, Clone, Copy)]
pub struct FixedOffset(pub i32);

impl Offsets for FixedOffset {
    fn offset_s(&self, _: &Zone, _: Timestamp) -> Option<i32> {
        Some(self.0)
    }
}

/// The calendar day `at` falls on in `zone`; a zone the database does not know
/// falls back to the default zone, then to UTC.
pub fn local_day(offsets: &dyn Offsets, zone: &Zone, at: Timestamp) -> Result<Day, CalendarError> {
    let offset = offsets
        .offset_s(zone, at)
        .or_else(|| offsets.offset_s(&Zone::default_zone(), at))
        .unwrap_or(0);
    Timestamp(at.0.saturating_add(i64::from(offset) * 1000)).day()
}

/// "Now" in one zone: the instant, and the calendar day it is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Today {
    pub now: Timestamp,
    pub day: Day,
}

impl Today {
    /// Today in `zone` at `now`.
    pub fn at(offsets: &dyn Offsets, zone: &Zone, now: Timestamp) -> Result<Today, CalendarError> {
        Ok(Today {
            now,
            day: local_day(offsets, zone, now)?,
        })
    }

    /// Whole calendar days (in `zone`) from the day `since` fell on to today: 0
    /// on the same day, 1 the next day whatever the hour.
    pub fn days_since(&self, offsets: &dyn Offsets, zone: &Zone, since: Timestamp) -> i64 {
        match local_day(offsets, zone, since) {
            Ok(then) => then.days_until(self.day),
            Err(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Taipei: UTC+8 all year (no daylight saving since 1979).
    struct Taipei;
    impl Offsets for Taipei {
        fn offset_s(&self, zone: &Zone, _: Timestamp) -> Option<i32> {
            (zone.name() == "Asia/Taipei").then_some(8 * 3600)
        }
    }

    fn at(s: &str) -> Timestamp {
        // `YYYY-MM-DDTHH:MM` in UTC.
        let day: Day = s[..10].parse().unwrap();
        let h: i64 = s[11..13].parse().unwrap();
        let m: i64 = s[14..16].parse().unwrap();
        Timestamp(day.start().0 + (h * 60 + m) * 60_000)
    }

    #[test]
    fn names_are_checked_for_shape() {
        assert!(Zone::new("Asia/Taipei").is_ok());
        assert!(Zone::new("America/Argentina/Buenos_Aires").is_ok());
        assert!(Zone::new("Etc/GMT+8").is_ok());
        assert!(Zone::new("UTC").is_ok());
        for bad in ["", "/Asia", "Asia/", "Asia//Taipei", "Asia/Tai pei", "台北"] {
            assert!(Zone::new(bad).is_err(), "{bad}");
        }
        assert_eq!(Zone::or_default(None).name(), DEFAULT_ZONE);
        assert_eq!(Zone::or_default(Some("no good")).name(), DEFAULT_ZONE);
    }

    #[test]
    fn today_in_taipei_starts_at_16_00_utc() {
        let taipei = Zone::default_zone();
        // 15:59 UTC on the 27th is 23:59 on the 27th in Taipei; 16:00 UTC is the 28th there.
        let before = Today::at(&Taipei, &taipei, at("2026-11-27T15:59")).unwrap();
        let after = Today::at(&Taipei, &taipei, at("2026-11-27T16:00")).unwrap();
        assert_eq!(before.day.to_string(), "2026-11-27");
        assert_eq!(after.day.to_string(), "2026-11-28");
        // A zone the database does not know falls back to the default zone.
        let nowhere = Zone::new("Nowhere/Land").unwrap();
        assert_eq!(
            Today::at(&Taipei, &nowhere, at("2026-11-27T16:00"))
                .unwrap()
                .day,
            after.day
        );
    }

    #[test]
    fn age_counts_calendar_days_in_the_zone() {
        let taipei = Zone::default_zone();
        // Raised 23:30 Taipei on the 27th; at 00:10 Taipei on the 28th it is a day old.
        let raised = at("2026-11-27T15:30");
        let today = Today::at(&Taipei, &taipei, at("2026-11-27T16:10")).unwrap();
        assert_eq!(today.days_since(&Taipei, &taipei, raised), 1);
        // In UTC both instants fall on the 27th.
        let utc = Today::at(&FixedOffset(0), &taipei, at("2026-11-27T16:10")).unwrap();
        assert_eq!(utc.days_since(&FixedOffset(0), &taipei, raised), 0);
    }
}

//! `TzDb`: the IANA time-zone database (jiff's, bundled) as core's `Offsets`, and "today" per territory for head office's read model.

use std::collections::BTreeMap;

use fieldsync_core::calendar::{Day, Timestamp};
use fieldsync_core::zone::{Offsets, Today, Zone, local_day};

/// The IANA database compiled into the server (the same on every machine).
#[derive(Debug, Clone, Copy, Default)]
pub struct TzDb;

impl Offsets for TzDb {
    fn offset_s(&self, zone: &Zone, at: Timestamp) -> Option<i32> {
        let tz = jiff::tz::TimeZone::get(zone.name()).ok()?;
        let t = jiff::Timestamp::from_millisecond(at.millis()).ok()?;
        Some(tz.to_offset(t).seconds())
    }
}

/// Whether the database knows `zone`.
pub fn known(zone: &Zone) -> bool {
    jiff::tz::TimeZone::get(zone.name()).is_ok()
}

/// "Today" in every territory's zone at one instant: the default zone's, and the
/// territories whose zone makes it another day.
#[derive(Debug, Clone)]
pub struct Todays {
    pub now: Timestamp,
    /// Today in the default zone (every territory not listed in `other`).
    pub default: Today,
    /// Territories whose today differs from the default zone's.
    pub other: BTreeMap<String, Today>,
    /// Each territory's zone, as the read model holds it.
    zones: BTreeMap<String, Zone>,
}

impl Todays {
    /// Today for each territory of `zones` (territory id, zone name if it names one) at `now`.
    pub fn at(zones: impl IntoIterator<Item = (String, Option<String>)>, now: i64) -> Todays {
        let now = Timestamp(now);
        let today = |z: &Zone| {
            Today::at(&TzDb, z, now).unwrap_or(Today {
                now,
                day: now
                    .day()
                    .unwrap_or_else(|_| Day::from_ymd(1970, 1, 1).expect("a day")),
            })
        };
        let default = today(&Zone::default_zone());
        let zones: BTreeMap<String, Zone> = zones
            .into_iter()
            .map(|(t, z)| (t, Zone::or_default(z.as_deref())))
            .collect();
        let other = zones
            .iter()
            .map(|(t, z)| (t.clone(), today(z)))
            .filter(|(_, d)| d.day != default.day)
            .collect();
        Todays {
            now,
            default,
            other,
            zones,
        }
    }

    /// The zone of a territory (the default one if the read model names none).
    pub fn zone(&self, territory: &str) -> Zone {
        self.zones
            .get(territory)
            .cloned()
            .unwrap_or_else(Zone::default_zone)
    }

    /// Today in a territory's zone.
    pub fn today(&self, territory: &str) -> Today {
        self.other.get(territory).copied().unwrap_or(self.default)
    }

    /// `[(territory, its today as YYYY-MM-DD)]` of the territories not on the default zone's day.
    pub fn other_days(&self) -> Vec<(String, String)> {
        self.other
            .iter()
            .map(|(t, d)| (t.clone(), d.day.to_string()))
            .collect()
    }

    /// Whole calendar days, in the territory's zone, from `since` to today.
    pub fn days_since(&self, territory: &str, since: i64) -> i64 {
        self.today(territory)
            .days_since(&TzDb, &self.zone(territory), Timestamp(since))
    }

    /// Whole calendar days, in the territory's zone, from `from` to `until`.
    pub fn days_between(&self, territory: &str, from: i64, until: i64) -> i64 {
        let zone = self.zone(territory);
        match (
            local_day(&TzDb, &zone, Timestamp(from)),
            local_day(&TzDb, &zone, Timestamp(until)),
        ) {
            (Ok(a), Ok(b)) => a.days_until(b).max(0),
            _ => 0,
        }
    }

    /// The instant the day `days` before today starts in each territory's zone
    /// (`[(territory, ms)]` for the ones that differ from the default zone's,
    /// and the default zone's): a record made before it is at least `days` old.
    pub fn day_starts(&self, days: i64) -> (i64, Vec<(String, i64)>) {
        let start = |z: &Zone, today: Today| -> i64 {
            let day = today.day;
            let midnight = day.start().millis() - days * 86_400_000;
            // The zone's offset near that midnight (a day's start, local time).
            let off = TzDb.offset_s(z, Timestamp(midnight)).unwrap_or_default();
            midnight - i64::from(off) * 1000
        };
        let default_zone = Zone::default_zone();
        let default = start(&default_zone, self.default);
        let other = self
            .zones
            .iter()
            .map(|(t, z)| (t.clone(), start(z, self.today(t))))
            .filter(|(_, ms)| *ms != default)
            .collect();
        (default, other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn taipei_is_utc_plus_8_from_the_database() {
        let z = Zone::new("Asia/Taipei").unwrap();
        assert_eq!(
            TzDb.offset_s(&z, Timestamp(at("2026-07-01T00:00:00Z"))),
            Some(8 * 3600)
        );
        assert!(known(&z));
        assert!(!known(&Zone::new("Nowhere/Land").unwrap()));
    }

    #[test]
    fn today_differs_by_territory_on_the_boundary() {
        let zones = [
            ("t-north".to_owned(), None),
            ("t-london".to_owned(), Some("Europe/London".to_owned())),
        ];
        // 16:30 UTC: already the 28th in Taipei, still the 27th in London.
        let todays = Todays::at(zones, at("2026-11-27T16:30:00Z"));
        assert_eq!(todays.today("t-north").day.to_string(), "2026-11-28");
        assert_eq!(todays.today("t-london").day.to_string(), "2026-11-27");
        assert_eq!(
            todays.other_days(),
            vec![("t-london".to_owned(), "2026-11-27".to_owned())]
        );
        // A problem raised at 23:50 Taipei on the 27th is a day old ten minutes later.
        assert_eq!(todays.days_since("t-north", at("2026-11-27T15:50:00Z")), 1);
        assert_eq!(todays.days_since("t-london", at("2026-11-27T15:50:00Z")), 0);
        // Today's start in Taipei is 16:00 UTC the day before.
        let (taipei, other) = todays.day_starts(0);
        assert_eq!(taipei, at("2026-11-27T16:00:00Z"));
        assert_eq!(
            other,
            vec![("t-london".to_owned(), at("2026-11-27T00:00:00Z"))]
        );
    }
}

//! `Standing`: where a tracked record stands today — its status, whether it is open or overdue, and any concurrent status.
//!
//! The one place the phone (through the wasm bindings) and head office (the
//! server's read model and dealer page) read a record's status from, so both
//! always show the same: two steps of one rank taken concurrently (kept on one
//! device, broken on another) resolve by [`Lifecycle::current`] on both sides,
//! and are shown as conflicted.

use serde::Serialize;

use super::Tracked;
use crate::calendar::Day;
#[cfg(doc)]
use crate::lifecycle::Lifecycle;
use crate::lifecycle::{Decisions, Stage as _, conflict_key};

/// A tracked record's status as of a day (in its territory's zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// The current status (the furthest step; equal ranks resolve by `Lifecycle::current`).
    pub status: &'static str,
    /// Other statuses of the same rank reached concurrently (empty when not conflicted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<&'static str>,
    /// Nothing has ended it yet.
    pub open: bool,
    /// Open and past its due day (commitments only).
    pub overdue: bool,
}

impl Standing {
    /// Where `record` stands on `today`.
    pub fn of<R: Tracked>(record: &R, today: Day) -> Standing {
        Standing::from_steps(
            &Self::steps(record),
            record.decided(),
            record.is_overdue(today),
        )
    }

    /// The status alone (see [`Standing::of`]): what a record moves on from.
    pub fn status_of<R: Tracked>(record: &R) -> &'static str {
        Standing::from_steps(&Self::steps(record), record.decided(), false).status
    }

    /// Only this list is generic: the rest is compiled once (a smaller wasm).
    fn steps<R: Tracked>(record: &R) -> Vec<(&'static str, u8, bool)> {
        record
            .lifecycle()
            .0
            .keys()
            .map(|s| (s.name(), s.rank(), s.is_open()))
            .collect()
    }

    /// From the steps taken, in declaration order: the furthest wins, and among
    /// equally far ones the last declared, as [`Lifecycle::current`] decides,
    /// unless head office decided between them (`decided`: the stage chosen for
    /// exactly the concurrent stages there are, see `lifecycle::Decision`); a
    /// decided record is no longer conflicted.
    fn from_steps(
        steps: &[(&'static str, u8, bool)],
        decided: Option<&Decisions>,
        overdue: bool,
    ) -> Standing {
        let mut top: Option<(&'static str, u8, bool)> = None;
        for s in steps {
            if top.is_none_or(|t| s.1 >= t.1) {
                top = Some(*s);
            }
        }
        let (status, rank, open) = top.unwrap_or(("", 0, true));
        let tied: Vec<&str> = steps.iter().filter(|s| s.1 == rank).map(|s| s.0).collect();
        let decided = conflict_key(&tied)
            .and_then(|k| decided?.get(&k))
            .and_then(|d| d.get("step")?.as_str());
        if let Some(chosen) = steps.iter().find(|s| s.1 == rank && Some(s.0) == decided) {
            return Standing {
                status: chosen.0,
                also: Vec::new(),
                open: chosen.2,
                overdue: overdue && chosen.2,
            };
        }
        Standing {
            status,
            also: steps
                .iter()
                .filter(|s| s.1 == rank && s.0 != status)
                .map(|s| s.0)
                .collect(),
            open,
            overdue,
        }
    }

    /// True when two different statuses of the same rank were reached concurrently.
    pub fn conflicted(&self) -> bool {
        !self.also.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Timestamp;
    use crate::lifecycle::Step;
    use crate::model::{Commitment, CommitmentStatus};
    use crate::zone::{FixedOffset, Offsets, Today, Zone};

    /// Taipei: UTC+8 all year.
    struct Taipei;
    impl Offsets for Taipei {
        fn offset_s(&self, _: &Zone, _: Timestamp) -> Option<i32> {
            Some(8 * 3600)
        }
    }

    fn due_on(day: &str) -> Commitment {
        let made: crate::calendar::Day = "2026-11-01".parse().unwrap();
        Commitment::new(
            "送試用品",
            "林老闆",
            "lin".parse().unwrap(),
            made.start(),
            day.parse().unwrap(),
        )
    }

    fn utc(day: &str, hour: i64, minute: i64) -> Timestamp {
        let d: crate::calendar::Day = day.parse().unwrap();
        Timestamp(d.start().millis() + (hour * 60 + minute) * 60_000)
    }

    #[test]
    fn overdue_begins_at_midnight_in_taipei_not_in_utc() {
        let c = due_on("2026-11-27");
        let zone = Zone::default_zone();
        let standing = |offsets: &dyn Offsets, at| {
            Standing::of(&c, Today::at(offsets, &zone, at).unwrap().day)
        };
        // 23:59 on the due day in Taipei (15:59 UTC): due today, not overdue.
        assert!(!standing(&Taipei, utc("2026-11-27", 15, 59)).overdue);
        // 00:00 the next day in Taipei (16:00 UTC): overdue, though UTC is still on the due day.
        let late = standing(&Taipei, utc("2026-11-27", 16, 0));
        assert!(late.overdue && late.open);
        assert_eq!(late.status, "open");
        assert!(!standing(&FixedOffset(0), utc("2026-11-27", 16, 0)).overdue);
    }

    #[test]
    fn concurrent_kept_and_broken_stand_the_same_everywhere_and_show_as_conflicted() {
        let mut c = due_on("2026-11-27");
        let step = |who: &str| Step {
            by: who.parse().unwrap(),
            at: utc("2026-11-20", 1, 0),
        };
        c.status.0.insert(CommitmentStatus::Kept, step("lin"));
        c.status.0.insert(CommitmentStatus::Broken, step("chen"));
        let today = "2026-11-28".parse().unwrap();
        let s = Standing::of(&c, today);
        assert_eq!(s.status, c.status.current().name());
        assert_eq!(s.status, "broken");
        assert_eq!(s.also, vec!["kept"]);
        assert!(s.conflicted() && !s.open && !s.overdue);
        // The order the steps arrived in changes nothing.
        let mut other = due_on("2026-11-27");
        other
            .status
            .0
            .insert(CommitmentStatus::Broken, step("chen"));
        other.status.0.insert(CommitmentStatus::Kept, step("lin"));
        assert_eq!(Standing::of(&other, today), s);
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"status": "broken", "also": ["kept"], "open": false, "overdue": false})
        );
    }

    #[test]
    fn head_offices_decision_settles_kept_and_broken_until_a_new_concurrent_step() {
        let mut c = due_on("2026-11-27");
        let step = |who: &str| Step {
            by: who.parse().unwrap(),
            at: utc("2026-11-20", 1, 0),
        };
        c.status.0.insert(CommitmentStatus::Kept, step("lin"));
        c.status.0.insert(CommitmentStatus::Broken, step("chen"));
        let today = "2026-11-28".parse().unwrap();
        c.decided.insert(
            "broken+kept".into(),
            serde_json::json!({"step": "kept", "by": "hq", "at": utc("2026-11-21", 1, 0).0}),
        );
        let s = Standing::of(&c, today);
        assert_eq!((s.status, s.conflicted()), ("kept", false));
        // A third step of the same rank taken concurrently is a new conflict.
        c.status.0.insert(CommitmentStatus::Cancelled, step("wu"));
        let s = Standing::of(&c, today);
        assert!(s.conflicted());
        assert_eq!(
            Standing::status_of(&c),
            "cancelled",
            "the old decision no longer applies"
        );
    }
}

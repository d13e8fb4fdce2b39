//! Reconciliation ageing: a claim spent but not reconciled within head office's number of days is overdue.
//!
//! One rule, used by the server's read model (`GET /api/claims?overdue=true`)
//! and by the phone (through wasm). Days are counted by [`spent_on`], the one
//! place that turns the moment of spending into a calendar day (UTC today; a
//! territory's time zone can be passed there later without changing the rule).

use serde::{Deserialize, Serialize};

use super::claim::{ClaimStage, ExpenseClaim};
use crate::calendar::{Day, Timestamp};

/// How many days a spent claim may wait for reconciliation, as head office set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimAgeing {
    /// Days after the day of spending during which reconciling is on time.
    pub days: u32,
}

impl ClaimAgeing {
    /// Two weeks, until head office says otherwise.
    pub const DEFAULT: ClaimAgeing = ClaimAgeing { days: 14 };
    /// The longest period head office may set (ten years).
    pub const MAX_DAYS: u32 = 3_650;

    /// The latest day of spending that is overdue on `today`: a claim spent on
    /// or before it and still not reconciled is overdue. Spent on day S with N
    /// days: on time through S + N, overdue from S + N + 1.
    pub fn overdue_through(self, today: Day) -> Option<Day> {
        today.add_days(-i64::from(self.days) - 1)
    }

    /// Whether a claim spent on `spent` (and not reconciled) is overdue on `today`.
    pub fn is_late(self, spent: Day, today: Day) -> bool {
        self.overdue_through(today)
            .is_some_and(|last| spent <= last)
    }

    /// Whether `claim` is overdue on `today`: spent, not reconciled, and spent
    /// more than the allowed days before `today`.
    pub fn is_overdue(self, claim: &ExpenseClaim, today: Day) -> bool {
        if claim.status.current() != ClaimStage::Spent {
            return false;
        }
        claim
            .status
            .step(ClaimStage::Spent)
            .and_then(|s| spent_on(s.at))
            .is_some_and(|d| self.is_late(d, today))
    }
}

impl Default for ClaimAgeing {
    fn default() -> Self {
        ClaimAgeing::DEFAULT
    }
}

/// The calendar day ageing counts a moment in (today: its UTC day).
pub fn spent_on(at: Timestamp) -> Option<Day> {
    at.day().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use serde_json::json;

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    #[test]
    fn overdue_from_the_day_after_the_allowed_days() {
        let a = ClaimAgeing { days: 14 };
        let spent = day("2026-11-01");
        assert!(!a.is_late(spent, day("2026-11-01")));
        assert!(!a.is_late(spent, day("2026-11-15")));
        assert!(a.is_late(spent, day("2026-11-16")));
        let zero = ClaimAgeing { days: 0 };
        assert!(!zero.is_late(spent, spent));
        assert!(zero.is_late(spent, day("2026-11-02")));
        assert_eq!(day("2026-11-01").days_until(day("2026-12-01")), 30);
    }

    #[test]
    fn only_a_spent_claim_is_overdue() {
        let by: crate::ids::UserId = "m1".parse().unwrap();
        let at = day("2026-11-01").start();
        let mut c = ExpenseClaim::new(
            super::super::ExpenseCategory::Event,
            "x",
            Money::new(100, "TWD".parse().unwrap()).unwrap(),
            by.clone(),
            at,
        );
        let late = day("2026-12-01");
        let a = ClaimAgeing::DEFAULT;
        assert!(!a.is_overdue(&c, late));
        let step = json!({"by": "m1", "at": at.millis()});
        c.status =
            serde_json::from_value(json!({"requested": step, "approved": step, "spent": step}))
                .unwrap();
        assert!(a.is_overdue(&c, late));
        assert!(!a.is_overdue(&c, day("2026-11-15")));
        c.status = serde_json::from_value(
            json!({"requested": step, "approved": step, "spent": step, "reconciled": step}),
        )
        .unwrap();
        assert!(!a.is_overdue(&c, late));
    }
}

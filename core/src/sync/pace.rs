//! How much a push may carry once requests took too long (pure): halve on a timeout, double back on answers.
//!
//! A request that timed out (the server's 408, or no answer in time) says nothing
//! about any one change: it only says the request was too much work for now. So
//! unlike a 413 it never refuses anything: the next request carries half as
//! much, down to one. Each answer doubles the budget again, except that after a
//! doubling that timed out the next doubling waits for twice as many answers: a
//! device whose server stays slow settles on at least half of what the server
//! can answer in time, with a number of timeouts logarithmic in its backlog and
//! in its number of requests; a server that was only busy for a moment is back
//! to full requests in a few answers.

/// A bound on one dimension of a push (documents, or changes), learnt from
/// requests that took too long. No bound until the first timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// The most the next request may carry (`u64::MAX`: no bound).
    budget: u64,
    /// Answers needed before the budget doubles.
    wait: u32,
    /// Answers since the last timeout or doubling.
    streak: u32,
    /// The budget was just doubled: a timeout now means the doubling was too much.
    probing: bool,
}

impl Default for Pace {
    fn default() -> Self {
        Pace::new()
    }
}

impl Pace {
    /// No bound.
    pub const fn new() -> Self {
        Pace {
            budget: u64::MAX,
            wait: 1,
            streak: 0,
            probing: false,
        }
    }

    /// The most the next request may carry (`u64::MAX`: no bound); at least 1.
    pub fn budget(&self) -> u64 {
        self.budget.max(1)
    }

    /// A request of `size` took too long. Returns whether the next one is
    /// smaller: false when `size` was already 1 (nothing left to take out; the
    /// caller waits and tries again) or 0 (nothing was pushed).
    pub fn too_slow(&mut self, size: u64) -> bool {
        if size <= 1 {
            return false;
        }
        if self.probing {
            self.wait = self.wait.saturating_mul(2);
        }
        self.budget = size / 2;
        self.streak = 0;
        self.probing = false;
        true
    }

    /// A request was answered in time: the budget may grow back.
    pub fn answered(&mut self) {
        if self.budget == u64::MAX {
            return;
        }
        self.probing = false;
        self.streak += 1;
        if self.streak >= self.wait {
            self.budget = self.budget.saturating_mul(2);
            self.streak = 0;
            self.probing = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Requests of up to `capacity` are answered, larger ones time out; `want`
    /// is how much is pending. Returns (timeouts, answered requests).
    fn drain(capacity: u64, mut want: u64) -> (u32, u32) {
        let mut p = Pace::new();
        let (mut slow, mut ok) = (0, 0);
        while want > 0 {
            let size = want.min(p.budget());
            if size > capacity {
                assert!(p.too_slow(size), "{size} can shrink");
                assert!(p.budget() < size, "the next request is smaller");
                slow += 1;
            } else {
                p.answered();
                want -= size;
                ok += 1;
            }
            assert!(slow + ok < 100_000, "never drains");
        }
        (slow, ok)
    }

    #[test]
    fn unbounded_until_a_timeout_then_half_then_double_back() {
        let mut p = Pace::new();
        assert_eq!(p.budget(), u64::MAX);
        p.answered();
        assert_eq!(p.budget(), u64::MAX);
        assert!(!p.too_slow(0) && !p.too_slow(1), "nothing to shrink");
        assert!(p.too_slow(1000));
        assert_eq!(p.budget(), 500);
        p.answered();
        assert_eq!(p.budget(), 1000, "grows back");
        // That doubling timed out: back to half, and the next doubling waits for two answers.
        assert!(p.too_slow(1000));
        assert_eq!(p.budget(), 500);
        p.answered();
        assert_eq!(p.budget(), 500);
        p.answered();
        assert_eq!(p.budget(), 1000);
    }

    #[test]
    fn down_to_one_and_no_further_then_back_in_a_few_answers() {
        let mut p = Pace::new();
        let mut size = 5000;
        while p.too_slow(size) {
            assert!(p.budget() < size);
            size = p.budget();
        }
        assert_eq!(size, 1);
        assert_eq!(p.budget(), 1, "a single document is still sent");
        for _ in 0..13 {
            p.answered();
        }
        assert!(p.budget() >= 5000, "{}", p.budget());
    }

    proptest! {
        /// Whatever the server can answer in time and however much is pending,
        /// it drains with a number of timeouts logarithmic in the backlog and in
        /// the number of requests, each request (but the last) carrying at least
        /// half of what the server can take.
        #[test]
        fn any_backlog_drains_in_few_timeouts(capacity in 1u64..5_000, want in 1u64..50_000) {
            let (slow, ok) = drain(capacity, want);
            let log = |n: u64| 64 - n.leading_zeros();
            prop_assert!(slow <= log(want) + log(u64::from(ok)) + 1, "{slow} timeouts, {ok} answers");
            prop_assert!(u64::from(ok) <= want.div_ceil(capacity.div_ceil(2)) + u64::from(log(want)) + 1, "{ok} answers");
        }
    }
}

//! Small statistics for reports: percentiles of durations, rates, byte sizes.

use std::time::Duration;

/// The `p`th percentile (0..=100) of `v`, nearest-rank; zero when empty.
pub fn percentile(v: &[Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    let mut s = v.to_vec();
    s.sort();
    let rank = ((p / 100.0) * s.len() as f64).ceil() as usize;
    s[rank.clamp(1, s.len()) - 1]
}

/// p50/p95/p99/max of `v` in milliseconds, as a table cell.
pub fn summary(v: &[Duration]) -> String {
    format!(
        "p50 {} / p95 {} / p99 {} / max {} ms",
        ms(percentile(v, 50.0)),
        ms(percentile(v, 95.0)),
        ms(percentile(v, 99.0)),
        ms(percentile(v, 100.0))
    )
}

pub fn ms(d: Duration) -> String {
    let m = d.as_secs_f64() * 1000.0;
    if m >= 100.0 {
        format!("{m:.0}")
    } else {
        format!("{m:.1}")
    }
}

/// The median of `v` (zero when empty).
pub fn median(v: &[Duration]) -> Duration {
    percentile(v, 50.0)
}

/// `n` with thousands separators.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&v, 100.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
    }
}

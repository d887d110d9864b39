//! When things fall due: pure arithmetic over durations, so every rule of
//! SPEC section 7 is tested without a clock.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Nothing is scheduled sooner than this, so a zero-length lease cannot spin.
pub const MIN_DELAY: Duration = Duration::from_secs(1);

/// A uniform random number in [0, 1); std's hasher keys are random per
/// process, which is all the jitter needs.
pub fn unit_random() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A lease-free secret is read again after `interval` x (0.85..0.95).
pub fn static_delay(interval: Duration, unit: f64) -> Duration {
    interval
        .mul_f64(0.85 + 0.10 * unit.clamp(0.0, 1.0))
        .max(MIN_DELAY)
}

/// A renewable lease is renewed at two thirds of its length.
pub fn renew_delay(lease: Duration) -> Duration {
    lease.mul_f64(2.0 / 3.0).max(MIN_DELAY)
}

/// A lease that cannot be extended is replaced at `threshold` (+-0.05) of its
/// length, kept inside (0, 1) so the new secret comes before the old expires.
pub fn replace_delay(lease: Duration, threshold: f64, unit: f64) -> Duration {
    let fraction = (threshold + 0.10 * unit.clamp(0.0, 1.0) - 0.05).clamp(0.05, 0.95);
    lease.mul_f64(fraction).max(MIN_DELAY)
}

/// The wait after `failures` consecutive failures: `min` doubling, capped at
/// `cap`, with up to a quarter taken off at random so retries spread out.
pub fn backoff(failures: u32, min: Duration, cap: Duration, unit: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    let full = min.saturating_mul(1u32 << doublings).min(cap.max(min));
    full.mul_f64(1.0 - 0.25 * unit.clamp(0.0, 1.0))
        .max(MIN_DELAY.min(full))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn static_secrets_are_read_again_between_85_and_95_percent_of_the_interval() {
        let interval = 5 * MINUTE;
        assert_eq!(static_delay(interval, 0.0), interval.mul_f64(0.85));
        assert_eq!(static_delay(interval, 1.0), interval.mul_f64(0.95));
        let middle = static_delay(interval, 0.5);
        assert!(middle > interval.mul_f64(0.85) && middle < interval.mul_f64(0.95));
    }

    #[test]
    fn renewable_leases_renew_at_two_thirds() {
        assert_eq!(
            renew_delay(Duration::from_secs(90)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn non_renewable_leases_are_replaced_near_the_threshold() {
        let lease = Duration::from_secs(100);
        assert_eq!(replace_delay(lease, 0.9, 0.0), Duration::from_secs(85));
        assert_eq!(replace_delay(lease, 0.9, 1.0), Duration::from_secs(95));
        assert!(
            replace_delay(lease, 1.0, 1.0) < lease,
            "always before expiry"
        );
    }

    #[test]
    fn tiny_leases_still_wait_a_second() {
        assert_eq!(renew_delay(Duration::ZERO), MIN_DELAY);
        assert_eq!(replace_delay(Duration::ZERO, 0.9, 0.5), MIN_DELAY);
    }

    #[test]
    fn backoff_doubles_from_the_minimum_up_to_the_cap() {
        let (min, cap) = (Duration::from_secs(1), 5 * MINUTE);
        assert_eq!(backoff(1, min, cap, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(2, min, cap, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(4, min, cap, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(20, min, cap, 0.0), cap);
        assert_eq!(backoff(u32::MAX, min, cap, 0.0), cap);
    }

    #[test]
    fn backoff_jitter_only_shortens() {
        let (min, cap) = (Duration::from_secs(1), 5 * MINUTE);
        assert_eq!(backoff(4, min, cap, 1.0), Duration::from_secs(6));
    }

    #[test]
    fn random_units_stay_in_range() {
        for _ in 0..1000 {
            let u = unit_random();
            assert!((0.0..1.0).contains(&u));
        }
    }
}

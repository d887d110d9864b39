//! What falls due and when (SPEC section 7), as pure functions: the clock
//! value and the jitter units come in as arguments, so every rule is tested
//! on a made-up clock. The loop in `mod.rs` reads the clock and does the I/O.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::timing;
use crate::content::{Fetched, Lease};
use crate::vault::RenewedLease;
use consul_funcs::SecretRequest;

/// Work due within this much of now runs in the same pass, so that secrets
/// and volumes due a few milliseconds apart do not each cost a wake-up.
pub const SLACK: Duration = Duration::from_millis(500);

/// The first wait after a failed refresh; it doubles per failure.
pub const FIRST_RETRY_WAIT: Duration = Duration::from_secs(1);

/// A failed refresh is retried at least this often, whatever the interval.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(300);

/// What to do with one secret when it falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read it again (lease-free).
    Reread,
    /// Renew its lease.
    Renew,
    /// Fetch a new one (a lease that cannot be extended, or a `pkiCert`).
    Replace,
}

/// When one secret of a volume falls due, and what happens then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretClock {
    /// When.
    pub due: Instant,
    /// What.
    pub action: Action,
}

/// The options of a volume that set its secrets' clocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cadence {
    /// `template-static-secret-render-interval`.
    pub render_interval: Duration,
    /// `lease-renewal-threshold`: the fraction of a lease after which a
    /// secret that cannot be renewed is replaced.
    pub renewal_threshold: f64,
}

/// The random units in [0, 1) a clock may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jitter {
    /// The jitter of the identity's shared read of the secret: volumes
    /// sharing one lease-free answer use the same one, so they fall due
    /// together and one request serves them all.
    pub shared: f64,
    /// A fresh unit, for a replacement time that belongs to one volume.
    pub fresh: f64,
}

/// What happens first to a secret just fetched: a `pkiCert` is replaced
/// when its certificate nears its end, a lease-free answer is read again,
/// a renewable lease is renewed, any other lease is replaced.
pub fn first_action(fetched: &Fetched) -> Action {
    if fetched.rotate_after.is_some() {
        Action::Replace
    } else if !fetched.lease.is_leased() {
        Action::Reread
    } else if fetched.lease.renewable {
        Action::Renew
    } else {
        Action::Replace
    }
}

/// The first clock of a secret just fetched (or taken from a shared read).
pub fn first_clock(fetched: &Fetched, cadence: Cadence, jitter: Jitter) -> SecretClock {
    let action = first_action(fetched);
    let wait = match (action, fetched.rotate_after) {
        (_, Some(left)) => left.max(timing::MIN_DELAY),
        (Action::Reread, None) => timing::static_delay(cadence.render_interval, jitter.shared),
        (Action::Renew, None) => timing::renew_delay(fetched.lease.duration),
        (Action::Replace, None) => timing::replace_delay(
            fetched.lease.duration,
            cadence.renewal_threshold,
            jitter.fresh,
        ),
    };
    SecretClock {
        due: fetched.at + wait,
        action,
    }
}

/// The clock of a lease Vault renewed at `now`. Once Vault stops extending
/// it (not renewable any more, or shorter than before: its max TTL is
/// near), the secret is replaced at the threshold; otherwise renewed again
/// at two thirds.
pub fn clock_after_renewal(
    before: &Lease,
    renewed: RenewedLease,
    now: Instant,
    threshold: f64,
    unit: f64,
) -> SecretClock {
    let capped = !renewed.renewable || renewed.duration < before.duration;
    if capped {
        SecretClock {
            due: now + timing::replace_delay(renewed.duration, threshold, unit),
            action: Action::Replace,
        }
    } else {
        SecretClock {
            due: now + timing::renew_delay(renewed.duration),
            action: Action::Renew,
        }
    }
}

/// Whether work due at `at` runs in a pass at `now`.
pub fn falls_due(at: Instant, now: Instant) -> bool {
    at <= now + SLACK
}

/// The secrets of a volume that a pass at `now` brings up to date.
pub fn due_secrets(
    clocks: &BTreeMap<SecretRequest, SecretClock>,
    now: Instant,
) -> Vec<(SecretRequest, Action)> {
    clocks
        .iter()
        .filter(|(_, clock)| falls_due(clock.due, now))
        .map(|(request, clock)| (request.clone(), clock.action))
        .collect()
}

/// When a volume next needs work: its earliest secret, or never for a
/// volume that is not refreshed (`agent-pre-populate-only`).
pub fn volume_due(
    refreshes: bool,
    clocks: &BTreeMap<SecretRequest, SecretClock>,
) -> Option<Instant> {
    if !refreshes {
        return None;
    }
    clocks.values().map(|clock| clock.due).min()
}

/// Where a volume or session stands in a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Its work runs in this pass.
    Now,
    /// Its work falls due later, at this instant.
    At(Instant),
    /// Nothing is scheduled (in flight, or never refreshed).
    Idle,
}

/// Where something due at `due` stands in a pass at `now`.
pub fn turn(due: Option<Instant>, now: Instant) -> Turn {
    match due {
        Some(at) if falls_due(at, now) => Turn::Now,
        Some(at) => Turn::At(at),
        None => Turn::Idle,
    }
}

/// The earliest of the due times a pass saw: when the loop wakes next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Earliest(Option<Instant>);

impl Earliest {
    /// Takes `at` into account.
    pub fn include(&mut self, at: Instant) {
        self.0 = Some(self.0.map_or(at, |earliest| earliest.min(at)));
    }

    /// The earliest instant seen, if any.
    pub fn get(self) -> Option<Instant> {
        self.0
    }
}

/// How long a volume waits after `failures` failed refreshes in a row:
/// 1 s doubling, capped at the smaller of 5 minutes and its render interval.
pub fn refresh_retry_wait(failures: u32, render_interval: Duration, unit: f64) -> Duration {
    let cap = render_interval.min(MAX_RETRY_WAIT);
    timing::backoff(failures, FIRST_RETRY_WAIT, cap, unit)
}

/// The random unit of a volume's retry wait after its `failures`-th failed
/// refresh, when its first due secret is a shared read with jitter
/// `shared`. Volumes of one identity fall due together for a shared read,
/// so they also fail together; with the same unit they retry together too,
/// and once Vault is back the first one's read serves the rest (the same
/// sharing as in steady state). Each volume drawing its own unit instead
/// makes the earliest of the identity's volumes decide, which crowds the
/// identities' reads into the first seconds after an outage. Other
/// identities have other shared units, so they stay spread. Stepping by the
/// golden ratio gives each failure of a series a different unit.
pub fn shared_retry_unit(shared: f64, failures: u32) -> f64 {
    const GOLDEN: f64 = 0.618_033_988_749_894_9;
    (shared.clamp(0.0, 1.0) + f64::from(failures) * GOLDEN).fract()
}

/// How long a session waits after `failures` failed logins in a row:
/// `auth-min-backoff` doubling up to `auth-max-backoff`.
pub fn login_retry_wait(failures: u32, min: Duration, max: Duration, unit: f64) -> Duration {
    timing::backoff(failures, min, max, unit)
}

/// Whether an answer fetched at `candidate` is newer than one from `than`
/// (none counts as older): a shared lease-free answer replaces a volume's
/// own only then, and a volume's answer replaces the shared one only then.
pub fn is_newer(candidate: Instant, than: Option<Instant>) -> bool {
    than.is_none_or(|at| candidate > at)
}

/// Whether a volume whose refresh began at `since` takes the failure of a
/// shared read that failed at `failed_at` as its own, without a request of
/// its own: only a failure that came after it began (it waited at the gate
/// meanwhile), just as only a newer answer serves it.
pub fn shares_failure(failed_at: Option<Instant>, since: Instant) -> bool {
    failed_at.is_some_and(|at| at >= since)
}

/// How far before its publish began a shared read may have been requested
/// and still serve the publish: a burst's Pods arrive over milliseconds
/// while one read per identity and path is in flight.
pub const PUBLISH_SHARE_REACH: Duration = Duration::from_secs(1);

/// Since when a publish that began at `started` may take shared lease-free
/// answers: requested after the Pod existed (`seen`: when the node's Pod
/// watch first saw this incarnation; kubelet publishes only for a Pod that
/// exists, so `started` is such a time too), so that a Pod never starts
/// with an answer older than itself, and at most [`PUBLISH_SHARE_REACH`]
/// before the publish began.
pub fn known_since(seen: Option<Instant>, started: Instant) -> Instant {
    let reach = started.checked_sub(PUBLISH_SHARE_REACH).unwrap_or(started);
    seen.map_or(started, |seen| seen.clamp(reach, started))
}

/// Whether a shared lease-free answer requested at `fetched_at` may serve
/// a publish whose Pod is known to exist since `since` ([`known_since`]).
pub fn serves_publish(fetched_at: Instant, since: Instant) -> bool {
    fetched_at >= since
}

#[cfg(test)]
mod tests {
    use super::*;
    use consul_funcs::RequestKind;

    const SECOND: Duration = Duration::from_secs(1);
    const MINUTE: Duration = Duration::from_secs(60);

    fn cadence() -> Cadence {
        Cadence {
            render_interval: 5 * MINUTE,
            renewal_threshold: 0.9,
        }
    }

    fn jitter(shared: f64, fresh: f64) -> Jitter {
        Jitter { shared, fresh }
    }

    fn kv(at: Instant) -> Fetched {
        Fetched {
            lease: Lease {
                id: String::new(),
                duration: 768 * 3600 * SECOND,
                renewable: false,
            },
            at,
            rotate_after: None,
        }
    }

    fn leased(at: Instant, seconds: u64, renewable: bool) -> Fetched {
        Fetched {
            lease: Lease {
                id: "database/creds/app/abc".into(),
                duration: Duration::from_secs(seconds),
                renewable,
            },
            at,
            rotate_after: None,
        }
    }

    fn request(path: &str) -> SecretRequest {
        SecretRequest {
            kind: RequestKind::Read,
            path: path.into(),
            args: Vec::new(),
        }
    }

    fn clock(due: Instant, action: Action) -> SecretClock {
        SecretClock { due, action }
    }

    #[test]
    fn a_lease_free_secret_is_read_again_between_85_and_95_percent_of_the_interval() {
        let t0 = Instant::now();
        let earliest = first_clock(&kv(t0), cadence(), jitter(0.0, 0.5));
        let latest = first_clock(&kv(t0), cadence(), jitter(1.0, 0.5));
        assert_eq!(earliest, clock(t0 + 255 * SECOND, Action::Reread));
        assert_eq!(latest, clock(t0 + 285 * SECOND, Action::Reread));
    }

    #[test]
    fn volumes_sharing_a_read_fall_due_together() {
        // Same answer, same shared jitter: each volume's own random unit
        // plays no part, so the first one's read serves the others.
        let t0 = Instant::now();
        let a = first_clock(&kv(t0), cadence(), jitter(0.3, 0.1));
        let b = first_clock(&kv(t0), cadence(), jitter(0.3, 0.9));
        assert_eq!(a, b);
    }

    #[test]
    fn a_renewable_lease_is_renewed_at_two_thirds() {
        let t0 = Instant::now();
        let clock_of = first_clock(&leased(t0, 90, true), cadence(), jitter(0.5, 0.5));
        assert_eq!(clock_of, clock(t0 + 60 * SECOND, Action::Renew));
    }

    #[test]
    fn a_non_renewable_lease_is_replaced_at_the_threshold_give_or_take_five_percent() {
        let t0 = Instant::now();
        let fetched = leased(t0, 100, false);
        let soonest = first_clock(&fetched, cadence(), jitter(0.5, 0.0));
        let latest = first_clock(&fetched, cadence(), jitter(0.5, 1.0));
        assert_eq!(soonest, clock(t0 + 85 * SECOND, Action::Replace));
        assert_eq!(latest, clock(t0 + 95 * SECOND, Action::Replace));
    }

    #[test]
    fn the_threshold_comes_from_the_volume() {
        let t0 = Instant::now();
        let cadence = Cadence {
            renewal_threshold: 0.5,
            ..cadence()
        };
        let replaced = first_clock(&leased(t0, 100, false), cadence, jitter(0.5, 0.5));
        assert_eq!(replaced.due, t0 + 50 * SECOND);
    }

    #[test]
    fn a_pki_cert_is_replaced_at_its_rotate_after() {
        let t0 = Instant::now();
        let fetched = Fetched {
            rotate_after: Some(42 * SECOND),
            ..leased(t0, 100, false)
        };
        let clock_of = first_clock(&fetched, cadence(), jitter(0.5, 0.5));
        assert_eq!(clock_of, clock(t0 + 42 * SECOND, Action::Replace));
    }

    #[test]
    fn a_pki_cert_that_must_go_now_still_waits_a_second() {
        let t0 = Instant::now();
        let fetched = Fetched {
            rotate_after: Some(Duration::ZERO),
            ..kv(t0)
        };
        let clock_of = first_clock(&fetched, cadence(), jitter(0.5, 0.5));
        assert_eq!(clock_of, clock(t0 + SECOND, Action::Replace));
    }

    #[test]
    fn a_renewed_lease_is_renewed_again_at_two_thirds_of_its_new_length() {
        let now = Instant::now();
        let before = leased(now, 90, true).lease;
        let renewed = RenewedLease {
            duration: 90 * SECOND,
            renewable: true,
        };
        assert_eq!(
            clock_after_renewal(&before, renewed, now, 0.9, 0.5),
            clock(now + 60 * SECOND, Action::Renew)
        );
    }

    #[test]
    fn a_lease_vault_no_longer_extends_is_replaced_at_the_threshold() {
        let now = Instant::now();
        let before = leased(now, 90, true).lease;
        // Near its max TTL Vault grants less than asked.
        let shortened = RenewedLease {
            duration: 20 * SECOND,
            renewable: true,
        };
        assert_eq!(
            clock_after_renewal(&before, shortened, now, 0.9, 0.5),
            clock(now + 18 * SECOND, Action::Replace)
        );
    }

    #[test]
    fn a_lease_vault_stops_marking_renewable_is_replaced_at_the_threshold() {
        let now = Instant::now();
        let before = leased(now, 90, true).lease;
        let last = RenewedLease {
            duration: 90 * SECOND,
            renewable: false,
        };
        assert_eq!(
            clock_after_renewal(&before, last, now, 0.9, 0.0),
            clock(now + 76_500 * Duration::from_millis(1), Action::Replace)
        );
    }

    #[test]
    fn a_lease_is_renewed_until_its_max_ttl_then_replaced_before_it_ends() {
        // 4 s leases and a 10 s max TTL, as the database test role has them.
        let t0 = Instant::now();
        let max_end = t0 + 10 * SECOND;
        let fetched = leased(t0, 4, true);
        let mut next = first_clock(&fetched, cadence(), jitter(0.5, 0.5));
        let mut renewals = 0;
        while next.action == Action::Renew && renewals < 10 {
            let now = next.due;
            // Vault grants what is asked, but never past the max TTL.
            let granted = (max_end - now).min(4 * SECOND).as_secs();
            let renewed = RenewedLease {
                duration: Duration::from_secs(granted),
                renewable: true,
            };
            next = clock_after_renewal(&fetched.lease, renewed, now, 0.9, 0.5);
            renewals += 1;
        }
        // Renewed at ~2.7 s, ~5.3 s and 8 s; the last grants 2 s only.
        assert_eq!(renewals, 3);
        assert_eq!(next.action, Action::Replace);
        assert!(next.due < max_end, "replaced before the max TTL");
    }

    #[test]
    fn work_due_within_the_slack_runs_in_the_same_pass() {
        let now = Instant::now();
        assert_eq!(turn(Some(now), now), Turn::Now);
        assert_eq!(turn(Some(now - SECOND), now), Turn::Now);
        assert_eq!(turn(Some(now + SLACK), now), Turn::Now);
    }

    #[test]
    fn work_due_after_the_slack_waits_for_its_time() {
        let now = Instant::now();
        let later = now + SLACK + Duration::from_millis(1);
        assert_eq!(turn(Some(later), now), Turn::At(later));
    }

    #[test]
    fn nothing_scheduled_is_never_due() {
        assert_eq!(turn(None, Instant::now()), Turn::Idle);
    }

    #[test]
    fn a_pass_updates_every_secret_due_within_the_slack_and_no_other() {
        let now = Instant::now();
        let clocks = BTreeMap::from([
            (request("a"), clock(now - SECOND, Action::Reread)),
            (request("b"), clock(now + SLACK / 2, Action::Renew)),
            (request("c"), clock(now + 2 * SLACK, Action::Replace)),
        ]);
        assert_eq!(
            due_secrets(&clocks, now),
            vec![
                (request("a"), Action::Reread),
                (request("b"), Action::Renew)
            ]
        );
    }

    #[test]
    fn a_volume_falls_due_with_its_earliest_secret() {
        let now = Instant::now();
        let clocks = BTreeMap::from([
            (request("a"), clock(now + 9 * SECOND, Action::Reread)),
            (request("b"), clock(now + 3 * SECOND, Action::Renew)),
        ]);
        assert_eq!(volume_due(true, &clocks), Some(now + 3 * SECOND));
        assert_eq!(volume_due(true, &BTreeMap::new()), None);
    }

    #[test]
    fn a_pre_populate_only_volume_never_falls_due() {
        let now = Instant::now();
        let clocks = BTreeMap::from([(request("a"), clock(now, Action::Reread))]);
        assert_eq!(volume_due(false, &clocks), None);
    }

    #[test]
    fn the_loop_wakes_for_the_earliest_of_what_it_saw() {
        let now = Instant::now();
        let mut earliest = Earliest::default();
        assert_eq!(earliest.get(), None);
        earliest.include(now + 5 * SECOND);
        earliest.include(now + 2 * SECOND);
        earliest.include(now + 7 * SECOND);
        assert_eq!(earliest.get(), Some(now + 2 * SECOND));
    }

    #[test]
    fn failures_back_off_up_to_the_interval() {
        let interval = 10 * SECOND;
        let waits: Vec<Duration> = (1..=6)
            .map(|failures| refresh_retry_wait(failures, interval, 0.0))
            .collect();
        let seconds = [1, 2, 4, 8, 10, 10].map(|s| s * SECOND);
        assert_eq!(waits, seconds);
    }

    #[test]
    fn failures_back_off_at_most_five_minutes() {
        let interval = 3600 * SECOND;
        assert_eq!(refresh_retry_wait(9, interval, 0.0), 256 * SECOND);
        assert_eq!(refresh_retry_wait(10, interval, 0.0), 5 * MINUTE);
        assert_eq!(refresh_retry_wait(100, interval, 0.0), 5 * MINUTE);
    }

    #[test]
    fn failure_backoff_jitter_only_shortens_the_wait() {
        let interval = 3600 * SECOND;
        for unit in [0.0, 0.3, 0.99] {
            let wait = refresh_retry_wait(3, interval, unit);
            assert!(wait <= 4 * SECOND && wait >= 3 * SECOND, "{wait:?}");
        }
    }

    #[test]
    fn identities_failing_on_different_shared_reads_retry_apart() {
        let interval = 3600 * SECOND;
        let a = refresh_retry_wait(8, interval, shared_retry_unit(0.1, 8));
        let b = refresh_retry_wait(8, interval, shared_retry_unit(0.6, 8));
        assert_ne!(a, b);
    }

    #[test]
    fn shared_retry_units_stay_in_range_and_change_per_failure() {
        let units: Vec<f64> = (1..=20).map(|n| shared_retry_unit(0.9, n)).collect();
        assert!(units.iter().all(|u| (0.0..1.0).contains(u)), "{units:?}");
        assert!(units.windows(2).all(|w| w[0] != w[1]), "{units:?}");
    }

    #[test]
    fn failed_logins_back_off_from_auth_min_to_auth_max_backoff() {
        let (min, max) = (5 * SECOND, 60 * SECOND);
        assert_eq!(login_retry_wait(1, min, max, 0.0), 5 * SECOND);
        assert_eq!(login_retry_wait(2, min, max, 0.0), 10 * SECOND);
        assert_eq!(login_retry_wait(4, min, max, 0.0), 40 * SECOND);
        assert_eq!(login_retry_wait(5, min, max, 0.0), 60 * SECOND);
    }

    #[test]
    fn a_shared_answer_serves_a_due_volume_only_when_newer_than_its_own() {
        let t0 = Instant::now();
        assert!(is_newer(t0 + SECOND, Some(t0)));
        assert!(!is_newer(t0, Some(t0)));
        assert!(!is_newer(t0, Some(t0 + SECOND)));
        assert!(is_newer(t0, None));
    }

    #[test]
    fn a_volume_shares_a_failure_only_if_it_came_after_its_refresh_began() {
        let since = Instant::now();
        assert!(shares_failure(Some(since), since));
        assert!(shares_failure(Some(since + SECOND), since));
        assert!(!shares_failure(Some(since - SECOND), since));
        assert!(!shares_failure(None, since));
    }

    #[test]
    fn a_publish_may_share_reads_requested_since_its_pod_was_seen() {
        let started = Instant::now() + MINUTE;
        let seen = started - 200 * Duration::from_millis(1);
        assert_eq!(known_since(Some(seen), started), seen);
    }

    #[test]
    fn a_publish_shares_no_read_requested_more_than_the_reach_before_it() {
        let started = Instant::now() + MINUTE;
        let seen = started - 30 * SECOND;
        assert_eq!(
            known_since(Some(seen), started),
            started - PUBLISH_SHARE_REACH
        );
    }

    #[test]
    fn a_publish_of_a_pod_the_watch_has_not_seen_shares_reads_since_it_began() {
        let started = Instant::now() + MINUTE;
        assert_eq!(known_since(None, started), started);
    }

    #[test]
    fn a_publish_takes_a_shared_answer_only_if_fetched_after_it_started() {
        let since = Instant::now();
        assert!(serves_publish(since, since));
        assert!(serves_publish(since + SECOND, since));
        assert!(!serves_publish(since, since + SECOND));
    }
}

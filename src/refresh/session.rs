//! Vault tokens per identity: one login serves every volume of the same
//! identity (SPEC section 3), renewed before it expires, replaced by a new
//! login with the freshest Pod token when renewal fails.

use std::time::{Duration, Instant};

use super::{schedule, timing};
use crate::csi::context::PodRef;
use crate::inject::Plan;
use crate::vault::{Target, VaultToken};

/// Who Vault sees: the same key means the same policies, so one token serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey {
    /// Vault address.
    pub address: String,
    /// Vault namespace.
    pub namespace: Option<String>,
    /// Auth mount.
    pub auth_path: String,
    /// Vault role.
    pub role: String,
    /// Pod namespace.
    pub pod_namespace: String,
    /// ServiceAccount.
    pub service_account: String,
    /// Token audience.
    pub audience: String,
}

impl IdentityKey {
    /// The identity of a Pod's Plan at a Vault target.
    pub fn new(plan: &Plan, target: &Target, pod: &PodRef, audience: &str) -> Self {
        Self {
            address: target.address().to_string(),
            namespace: target.namespace().map(str::to_string),
            auth_path: plan.identity.auth_path.as_str().to_string(),
            role: plan.identity.role.clone(),
            pod_namespace: pod.namespace.clone(),
            service_account: pod.service_account.clone(),
            audience: audience.to_string(),
        }
    }
}

/// Which token a volume uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionKey {
    /// Shared by every volume of the identity.
    Shared(IdentityKey),
    /// The volume's own: its token is handed to the app (`agent-inject-token`)
    /// or revoked at unpublish (`agent-revoke-on-shutdown`), so no other
    /// volume may depend on it.
    Private(String),
}

/// A session's Vault token, its clock, and its failed logins.
#[derive(Debug, Default)]
pub struct Session {
    held: Option<HeldToken>,
    /// Consecutive failed logins (and renewals Vault could not answer).
    failures: u32,
    /// When to try again after a failed attempt.
    retry_at: Option<Instant>,
}

#[derive(Debug)]
struct HeldToken {
    token: VaultToken,
    /// When the token was obtained or last renewed.
    since: Instant,
}

/// What a session does when its token falls due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenStep {
    /// Ask Vault to extend this token (`renew-self`).
    Renew(VaultToken),
    /// Log in again with the freshest Pod token.
    Login,
}

/// Tokens are treated as gone this long before Vault says they expire
/// (at most a quarter of their TTL, for short-lived tokens).
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

impl Session {
    /// A session with no token yet.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The token, whether or not it is still good.
    pub fn token(&self) -> Option<&VaultToken> {
        self.held.as_ref().map(|held| &held.token)
    }

    /// Forgets the token (Vault refused it), so the next use logs in.
    pub fn forget(&mut self) {
        self.held = None;
    }

    /// The token, if at `now` it is still good for a while.
    pub fn usable(&self, now: Instant) -> Option<&VaultToken> {
        let HeldToken { token, since } = self.held.as_ref()?;
        // A zero TTL is a root-like token that never expires.
        let margin = EXPIRY_MARGIN.min(token.lease_duration / 4);
        if token.lease_duration.is_zero()
            || now < *since + token.lease_duration.saturating_sub(margin)
        {
            Some(token)
        } else {
            None
        }
    }

    /// When the token expires, if it ever does.
    pub fn expires_at(&self) -> Option<Instant> {
        let HeldToken { token, since } = self.held.as_ref()?;
        (!token.lease_duration.is_zero()).then(|| *since + token.lease_duration)
    }

    /// When the token should be renewed (two thirds of its TTL), if ever.
    pub fn renew_at(&self) -> Option<Instant> {
        let HeldToken { token, since } = self.held.as_ref()?;
        if token.lease_duration.is_zero() {
            return None;
        }
        Some(*since + timing::renew_delay(token.lease_duration))
    }

    /// When the session next needs work: the retry after a failed login,
    /// else the token's renewal.
    pub fn due_at(&self) -> Option<Instant> {
        self.retry_at.or_else(|| self.renew_at())
    }

    /// What to do now that the session is due: renew a renewable token,
    /// log in again otherwise.
    pub fn step(&self) -> TokenStep {
        match self.token() {
            Some(token) if token.renewable => TokenStep::Renew(token.clone()),
            _ => TokenStep::Login,
        }
    }

    /// Stores a fresh token obtained at `now`.
    pub fn set(&mut self, token: VaultToken, now: Instant) {
        self.held = Some(HeldToken { token, since: now });
        self.failures = 0;
        self.retry_at = None;
    }

    /// Takes the answer of a renewal made at `now` if Vault still extends
    /// the token; `false` means it is near its max TTL and a login is due.
    pub fn renewed(&mut self, renewed: VaultToken, now: Instant) -> bool {
        let extends = self
            .token()
            .is_some_and(|before| renewal_extends(before, &renewed));
        if extends {
            self.set(renewed, now);
        }
        extends
    }

    /// Whether, after a renewal failed at `now`, the session renews again
    /// later instead of logging in: a Vault that could not be reached (or
    /// failed on its side) has not refused the token, and a login would
    /// fail the same way, so while the token is still good it is kept; a
    /// refusal, or a token about to go, means a login now.
    pub fn renews_again(&self, unreachable: bool, now: Instant) -> bool {
        unreachable && self.usable(now).is_some()
    }

    /// Records a failed attempt (a login, or a renewal Vault could not
    /// answer) at `now`; returns the wait before the next try
    /// (`auth-min-backoff` doubling up to `auth-max-backoff`, jittered by `unit`).
    pub fn login_failed(
        &mut self,
        now: Instant,
        min: Duration,
        max: Duration,
        unit: f64,
    ) -> Duration {
        self.failures += 1;
        let wait = schedule::login_retry_wait(self.failures, min, max, unit);
        self.retry_at = Some(now + wait);
        wait
    }
}

/// Whether a renewal still extends a token: Vault stops doing so near the
/// token's max TTL, granting less than half the TTL it had.
pub fn renewal_extends(before: &VaultToken, after: &VaultToken) -> bool {
    after.lease_duration >= before.lease_duration.mul_f64(0.5)
}

/// Of the candidates, the one whose Pod token expires last: a re-login uses
/// the freshest token kubelet handed in (RFC 3339 times compare as text;
/// an unknown expiry counts as the oldest).
pub fn freshest<T>(
    candidates: impl IntoIterator<Item = T>,
    expires: impl Fn(&T) -> Option<&str>,
) -> Option<T> {
    candidates
        .into_iter()
        .max_by(|a, b| expires(a).cmp(&expires(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn token(ttl: u64, renewable: bool) -> VaultToken {
        let mut token = VaultToken::from_secret("s.test");
        token.lease_duration = Duration::from_secs(ttl);
        token.renewable = renewable;
        token
    }

    fn logged_in(ttl: u64, renewable: bool, at: Instant) -> Session {
        let mut session = Session::empty();
        session.set(token(ttl, renewable), at);
        session
    }

    #[test]
    fn a_renewal_vault_could_not_answer_is_retried_while_the_token_is_good() {
        let t0 = Instant::now();
        let session = logged_in(3600, true, t0);
        let now = t0 + Duration::from_secs(2400);
        assert!(session.renews_again(true, now));
    }

    #[test]
    fn a_refused_renewal_logs_in_again() {
        let t0 = Instant::now();
        let session = logged_in(3600, true, t0);
        let now = t0 + Duration::from_secs(2400);
        assert!(!session.renews_again(false, now));
    }

    #[test]
    fn an_unanswered_renewal_logs_in_once_the_token_is_about_to_go() {
        let t0 = Instant::now();
        let session = logged_in(3600, true, t0);
        let now = t0 + Duration::from_secs(3599);
        assert!(!session.renews_again(true, now));
    }

    #[test]
    fn a_token_is_usable_until_just_before_it_expires() {
        let t0 = Instant::now();
        let session = logged_in(60, true, t0);
        assert!(session.usable(t0 + 50 * SECOND).is_some());
        assert!(session.usable(t0 + 56 * SECOND).is_none());
    }

    #[test]
    fn a_short_lived_token_is_usable_for_most_of_its_ttl() {
        let t0 = Instant::now();
        let session = logged_in(2, true, t0);
        assert!(session.usable(t0 + Duration::from_millis(1400)).is_some());
        assert!(session.usable(t0 + Duration::from_millis(1600)).is_none());
    }

    #[test]
    fn a_token_without_ttl_is_always_usable_and_never_renewed() {
        let t0 = Instant::now();
        let session = logged_in(0, false, t0);
        assert!(session.usable(t0 + 365 * 24 * 3600 * SECOND).is_some());
        assert_eq!(session.due_at(), None);
    }

    #[test]
    fn a_token_falls_due_at_two_thirds_of_its_ttl() {
        let t0 = Instant::now();
        let session = logged_in(90, true, t0);
        assert_eq!(session.renew_at(), Some(t0 + 60 * SECOND));
        assert_eq!(session.due_at(), Some(t0 + 60 * SECOND));
    }

    #[test]
    fn a_token_past_two_thirds_is_renewed() {
        let t0 = Instant::now();
        let session = logged_in(90, true, t0);
        let now = t0 + 61 * SECOND;
        assert!(schedule::falls_due(session.due_at().unwrap(), now));
        assert_eq!(session.step(), TokenStep::Renew(token(90, true)));
    }

    #[test]
    fn a_token_before_two_thirds_is_left_alone() {
        let t0 = Instant::now();
        let session = logged_in(90, true, t0);
        assert!(!schedule::falls_due(
            session.due_at().unwrap(),
            t0 + 45 * SECOND
        ));
    }

    #[test]
    fn a_renewal_restarts_the_token_clock() {
        let t0 = Instant::now();
        let mut session = logged_in(90, true, t0);
        let now = t0 + 60 * SECOND;
        assert!(session.renewed(token(90, true), now));
        assert_eq!(session.due_at(), Some(now + 60 * SECOND));
        assert!(session.usable(now + 80 * SECOND).is_some());
    }

    #[test]
    fn a_token_at_max_ttl_needs_a_login() {
        let t0 = Instant::now();
        let mut session = logged_in(90, true, t0);
        // Near the max TTL Vault extends by less than half the TTL.
        let capped = token(30, true);
        assert!(!renewal_extends(&token(90, true), &capped));
        assert!(!session.renewed(capped, t0 + 60 * SECOND));
        assert_eq!(session.token(), Some(&token(90, true)), "old token kept");
    }

    #[test]
    fn a_renewal_of_at_least_half_the_ttl_still_extends() {
        assert!(renewal_extends(&token(90, true), &token(45, true)));
        assert!(renewal_extends(&token(90, true), &token(90, true)));
    }

    #[test]
    fn a_non_renewable_token_is_replaced_by_a_login() {
        let t0 = Instant::now();
        let session = logged_in(90, false, t0);
        assert_eq!(session.due_at(), Some(t0 + 60 * SECOND));
        assert_eq!(session.step(), TokenStep::Login);
    }

    #[test]
    fn a_forgotten_token_needs_a_login() {
        let t0 = Instant::now();
        let mut session = logged_in(90, true, t0);
        session.forget();
        assert!(session.usable(t0).is_none());
        assert_eq!(session.step(), TokenStep::Login);
    }

    #[test]
    fn a_failed_login_is_retried_after_the_auth_backoff() {
        let t0 = Instant::now();
        let mut session = logged_in(90, true, t0);
        let now = t0 + 60 * SECOND;
        let wait = session.login_failed(now, SECOND, 300 * SECOND, 0.0);
        assert_eq!(wait, SECOND);
        // The retry, not the token's renewal time, decides when it is due.
        assert_eq!(session.due_at(), Some(now + SECOND));
    }

    #[test]
    fn repeated_failed_logins_back_off_up_to_auth_max_backoff() {
        let t0 = Instant::now();
        let mut session = Session::empty();
        let waits: Vec<Duration> = (0..5)
            .map(|_| session.login_failed(t0, 2 * SECOND, 10 * SECOND, 0.0))
            .collect();
        assert_eq!(waits, [2, 4, 8, 10, 10].map(|s| s * SECOND));
    }

    #[test]
    fn a_successful_login_clears_the_retry() {
        let t0 = Instant::now();
        let mut session = Session::empty();
        session.login_failed(t0, SECOND, 10 * SECOND, 0.0);
        session.login_failed(t0, SECOND, 10 * SECOND, 0.0);
        session.set(token(90, true), t0 + 5 * SECOND);
        assert_eq!(session.due_at(), Some(t0 + 65 * SECOND));
        // Failures start again from the minimum.
        let wait = session.login_failed(t0 + 70 * SECOND, SECOND, 10 * SECOND, 0.0);
        assert_eq!(wait, SECOND);
    }

    #[test]
    fn an_empty_session_has_nothing_to_use_or_renew() {
        let session = Session::empty();
        assert!(session.usable(Instant::now()).is_none());
        assert!(session.renew_at().is_none());
        assert!(session.due_at().is_none());
    }

    #[test]
    fn a_login_uses_the_freshest_pod_token() {
        let tokens = [
            ("a", Some("2026-01-01T10:00:00Z")),
            ("b", Some("2026-01-01T11:00:00Z")),
            ("c", None),
        ];
        assert_eq!(freshest(tokens, |(_, e)| *e).map(|(n, _)| n), Some("b"));
        let unknown = [("c", None)];
        assert_eq!(freshest(unknown, |(_, e)| *e).map(|(n, _)| n), Some("c"));
    }
}

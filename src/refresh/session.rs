//! Vault tokens per identity: one login serves every volume of the same
//! identity (SPEC section 3), renewed before it expires, replaced by a new
//! login with the freshest Pod token when renewal fails.

use std::time::{Duration, Instant};

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

/// A live Vault token and its clock.
#[derive(Debug)]
pub struct Session {
    /// The token, when logged in.
    pub token: Option<VaultToken>,
    /// When the token was obtained or last renewed.
    pub since: Instant,
    /// Consecutive failed logins or renewals.
    pub failures: u32,
    /// When to try again after a failure.
    pub retry_at: Option<Instant>,
}

/// Tokens are treated as gone this long before Vault says they expire
/// (at most a quarter of their TTL, for short-lived tokens).
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

impl Session {
    /// A session with no token yet.
    pub fn empty() -> Self {
        Self {
            token: None,
            since: Instant::now(),
            failures: 0,
            retry_at: None,
        }
    }

    /// The token, if it is still good for a while.
    pub fn usable(&self, now: Instant) -> Option<&VaultToken> {
        let token = self.token.as_ref()?;
        // A zero TTL is a root-like token that never expires.
        let margin = EXPIRY_MARGIN.min(token.lease_duration / 4);
        if token.lease_duration.is_zero()
            || now < self.since + token.lease_duration.saturating_sub(margin)
        {
            Some(token)
        } else {
            None
        }
    }

    /// When the token should be renewed (two thirds of its TTL), if ever.
    pub fn renew_at(&self) -> Option<Instant> {
        let token = self.token.as_ref()?;
        if token.lease_duration.is_zero() {
            return None;
        }
        Some(self.since + super::timing::renew_delay(token.lease_duration))
    }

    /// Stores a fresh token.
    pub fn set(&mut self, token: VaultToken) {
        self.token = Some(token);
        self.since = Instant::now();
        self.failures = 0;
        self.retry_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(ttl: u64) -> VaultToken {
        let mut token = VaultToken::from_secret("s.test");
        token.lease_duration = Duration::from_secs(ttl);
        token
    }

    #[test]
    fn a_token_is_usable_until_just_before_it_expires() {
        let mut session = Session::empty();
        session.set(token(60));
        let start = session.since;
        assert!(session.usable(start + Duration::from_secs(50)).is_some());
        assert!(session.usable(start + Duration::from_secs(56)).is_none());
    }

    #[test]
    fn a_short_lived_token_is_usable_for_most_of_its_ttl() {
        let mut session = Session::empty();
        session.set(token(2));
        let start = session.since;
        assert!(
            session
                .usable(start + Duration::from_millis(1400))
                .is_some()
        );
        assert!(
            session
                .usable(start + Duration::from_millis(1600))
                .is_none()
        );
    }

    #[test]
    fn renewal_falls_due_at_two_thirds_of_the_ttl() {
        let mut session = Session::empty();
        session.set(token(90));
        assert_eq!(
            session.renew_at(),
            Some(session.since + Duration::from_secs(60))
        );
    }

    #[test]
    fn an_empty_session_has_nothing_to_use_or_renew() {
        let session = Session::empty();
        assert!(session.usable(Instant::now()).is_none());
        assert!(session.renew_at().is_none());
    }
}

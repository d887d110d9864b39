//! The Vault token a login gives, kept out of logs.

use std::fmt;
use std::time::Duration;

/// A Vault token with what the login or renewal said about it.
///
/// `Debug` never shows the token and there is no `Display`; use
/// [`VaultToken::expose_secret`] only where the token must leave the process.
#[derive(Clone, PartialEq, Eq)]
pub struct VaultToken {
    /// The token itself; the login and renewal answers set it.
    pub(super) secret: String,
    /// The token's accessor (not a credential by itself).
    pub accessor: String,
    /// How long the token is valid from the login or last renewal; zero means no expiry.
    pub lease_duration: Duration,
    /// Whether `renew-self` can extend it.
    pub renewable: bool,
    /// Policies attached to the token.
    pub policies: Vec<String>,
    /// The identity entity the login resolved to, if any.
    pub entity_id: String,
}

impl VaultToken {
    /// Wraps a token obtained elsewhere (tests, a root token); lease details unknown.
    pub fn from_secret(secret: impl Into<String>) -> Self {
        Self {
            secret: secret.into(),
            accessor: String::new(),
            lease_duration: Duration::ZERO,
            renewable: false,
            policies: Vec::new(),
            entity_id: String::new(),
        }
    }

    /// The token itself, for the `X-Vault-Token` header or the `token` file.
    pub fn expose_secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for VaultToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultToken")
            .field("token", &"<redacted>")
            .field("accessor", &self.accessor)
            .field("lease_duration", &self.lease_duration)
            .field("renewable", &self.renewable)
            .field("policies", &self.policies)
            .field("entity_id", &self.entity_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted() {
        let token = VaultToken::from_secret("s.supersecret-token-value");
        let shown = format!("{token:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}

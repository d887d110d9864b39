//! Where one request goes: Vault address, namespace, timeout and retries.

use std::time::Duration;

use super::error::VaultError;

/// Default per-request timeout (`client-timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default number of retries after the first attempt (`client-max-retries`).
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// Where and how one request goes: Vault address, namespace, timeout and retries.
///
/// Per-Pod values (`service`, `namespace`, `client-timeout`, `client-max-retries`)
/// live here, so they never need a client of their own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    address: reqwest::Url,
    namespace: Option<String>,
    timeout: Duration,
    max_retries: u32,
}

impl Target {
    /// A target at `address` (scheme, host and port; any path is ignored, as Vault's
    /// own client does) with the default timeout and retries and no namespace.
    pub fn new(address: &str) -> Result<Self, VaultError> {
        let mut url = reqwest::Url::parse(address.trim()).map_err(|e| {
            VaultError::InvalidInput(format!("invalid Vault address {address:?}: {e}"))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(VaultError::InvalidInput(format!(
                "invalid Vault address {address:?}: expected http(s)://host[:port]"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(VaultError::InvalidInput(
                "invalid Vault address: credentials in the URL are not allowed".to_owned(),
            ));
        }
        url.set_path("");
        url.set_query(None);
        url.set_fragment(None);
        Ok(Self {
            address: url,
            namespace: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
        })
    }

    /// Sets the Vault namespace; blank means none. Outer `/` are trimmed.
    pub fn with_namespace(mut self, namespace: Option<&str>) -> Result<Self, VaultError> {
        self.namespace = match namespace.map(|n| n.trim().trim_matches('/')) {
            None | Some("") => None,
            Some(ns) => {
                if ns
                    .split('/')
                    .any(|seg| seg.is_empty() || seg == "." || seg == "..")
                    || ns.contains(['?', '#', '%'])
                    || ns.chars().any(char::is_whitespace)
                {
                    return Err(VaultError::InvalidInput(format!(
                        "invalid Vault namespace {ns:?}"
                    )));
                }
                Some(ns.to_owned())
            }
        };
        Ok(self)
    }

    /// Sets the per-request timeout (`client-timeout`).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the retries after the first attempt (`client-max-retries`).
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// The address as `scheme://host:port`.
    pub fn address(&self) -> &str {
        self.address.as_str().trim_end_matches('/')
    }

    /// The Vault namespace, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The address as a URL, for building request URLs.
    pub(super) fn url(&self) -> &reqwest::Url {
        &self.address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_drops_path_and_query_of_address() {
        let t = Target::new("https://vault.example:8200/ui/?x=1").unwrap();
        assert_eq!(t.address(), "https://vault.example:8200");
    }

    #[test]
    fn target_refuses_non_http_scheme() {
        assert!(Target::new("unix:///run/vault.sock").is_err());
        assert!(Target::new("vault:8200").is_err());
    }

    #[test]
    fn target_refuses_credentials_in_address() {
        let err = Target::new("https://user:pw@vault:8200").unwrap_err();
        assert!(!err.to_string().contains("pw"));
    }

    #[test]
    fn namespace_is_trimmed_and_blank_means_none() {
        let t = Target::new("http://127.0.0.1:8200").unwrap();
        let t = t.with_namespace(Some(" /team-a/sub/ ")).unwrap();
        assert_eq!(t.namespace(), Some("team-a/sub"));
        let t = t.with_namespace(Some("  ")).unwrap();
        assert_eq!(t.namespace(), None);
    }

    #[test]
    fn namespace_with_dot_segments_is_refused() {
        let t = Target::new("http://127.0.0.1:8200").unwrap();
        assert!(t.clone().with_namespace(Some("a/../b")).is_err());
        assert!(t.with_namespace(Some("a//b")).is_err());
    }
}

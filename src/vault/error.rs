//! The one error type of the Vault client and its mapping to caller-facing kinds.

use std::time::Duration;

/// What a caller should do with a failure; maps one-to-one onto gRPC status codes
/// (SPEC section 8) without this module knowing about gRPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request itself is wrong (bad path, bad template argument, rejected by Vault as malformed).
    InvalidArgument,
    /// Vault refused the login or the token's policies deny the path.
    PermissionDenied,
    /// Nothing exists at the path.
    NotFound,
    /// Vault could not be reached or answered with a server-side failure; retrying may help.
    Unavailable,
    /// Anything else: broken settings, answers that do not parse.
    Internal,
}

/// Every failure of the Vault client.
///
/// Messages name the Vault path at fault and carry Vault's own `errors` text when it
/// helps, but never a token, a JWT or a response body (which could hold secret data).
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The client settings cannot produce a working client (unreadable CA file, key without certificate, ...).
    #[error("Vault client settings: {0}")]
    Config(String),

    /// Caller input that cannot become a request (empty path, template argument without `=`, bad auth path).
    #[error("{0}")]
    InvalidInput(String),

    /// The auth method refused the login (HTTP 403, or 400 such as an unknown role).
    #[error("Vault login at {path} refused (HTTP {status}){}", detail_suffix(.detail))]
    LoginRefused {
        /// The login path, e.g. `auth/kubernetes/login`.
        path: String,
        /// HTTP status Vault answered with.
        status: u16,
        /// Vault's `errors` text.
        detail: String,
    },

    /// The token may not use this path (HTTP 403), or the token itself is no longer valid.
    #[error("permission denied for {path} (HTTP 403){}", detail_suffix(.detail))]
    PermissionDenied {
        /// The Vault path that was denied.
        path: String,
        /// Vault's `errors` text.
        detail: String,
    },

    /// Nothing exists at the path (HTTP 404, an empty answer, or a deleted KV v2 version).
    #[error("no secret exists at {path}")]
    NotFound {
        /// The Vault path that was read.
        path: String,
    },

    /// No HTTP answer at all: connection refused, reset, DNS or TLS failure.
    #[error("Vault at {address} is unreachable: {detail}")]
    Unreachable {
        /// Scheme, host and port of the Vault server.
        address: String,
        /// What went wrong on the wire.
        detail: String,
    },

    /// No complete answer within the request timeout.
    #[error("Vault at {address} did not answer {path} within {after:?}")]
    Timeout {
        /// Scheme, host and port of the Vault server.
        address: String,
        /// The Vault path of the request.
        path: String,
        /// The timeout that expired.
        after: Duration,
    },

    /// Vault answered with a server-side failure (5xx, 429, or 412 after all retries).
    #[error("Vault failed on {path} (HTTP {status}){}", detail_suffix(.detail))]
    Server {
        /// The Vault path of the request.
        path: String,
        /// HTTP status Vault answered with.
        status: u16,
        /// Vault's `errors` text.
        detail: String,
    },

    /// Vault rejected the request as invalid (a 4xx other than 403/404/412/429).
    #[error("Vault rejected the request for {path} (HTTP {status}){}", detail_suffix(.detail))]
    Rejected {
        /// The Vault path of the request.
        path: String,
        /// HTTP status Vault answered with.
        status: u16,
        /// Vault's `errors` text.
        detail: String,
    },

    /// Vault's answer did not have the expected shape.
    #[error("unexpected answer from Vault for {path}: {detail}")]
    Protocol {
        /// The Vault path of the request.
        path: String,
        /// What was wrong with the answer (never the answer itself).
        detail: String,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl VaultError {
    /// The kind of failure, for mapping onto a gRPC status code.
    pub fn code(&self) -> ErrorKind {
        match self {
            VaultError::Config(_) | VaultError::Protocol { .. } => ErrorKind::Internal,
            VaultError::InvalidInput(_) | VaultError::Rejected { .. } => ErrorKind::InvalidArgument,
            VaultError::LoginRefused { .. } | VaultError::PermissionDenied { .. } => {
                ErrorKind::PermissionDenied
            }
            VaultError::NotFound { .. } => ErrorKind::NotFound,
            VaultError::Unreachable { .. }
            | VaultError::Timeout { .. }
            | VaultError::Server { .. } => ErrorKind::Unavailable,
        }
    }

    /// A short, fixed label for counting failures by kind in metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            VaultError::Config(_) => "config",
            VaultError::InvalidInput(_) => "invalid_input",
            VaultError::LoginRefused { .. } => "login_refused",
            VaultError::PermissionDenied { .. } => "permission_denied",
            VaultError::NotFound { .. } => "not_found",
            VaultError::Unreachable { .. } => "unreachable",
            VaultError::Timeout { .. } => "timeout",
            VaultError::Server { .. } => "server_error",
            VaultError::Rejected { .. } => "rejected",
            VaultError::Protocol { .. } => "protocol",
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.code() == ErrorKind::Unavailable
    }
}

/// Longest `errors` text kept in a message; Vault's own texts are far shorter.
const MAX_DETAIL: usize = 400;

/// Joins Vault's `errors` array from an error answer, with every given secret
/// (token, JWT) blanked out in case an auth method ever echoes it.
pub(crate) fn vault_errors_text(body: &[u8], secrets: &[&str]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return String::new();
    };
    let mut text = parsed
        .errors
        .iter()
        .map(|e| match e {
            serde_json::Value::String(s) => flatten_multierror(s),
            other => other.to_string(),
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        if text.contains(secret) {
            text = text.replace(secret, "<redacted>");
        }
    }
    truncate_chars(&mut text, MAX_DETAIL);
    text
}

/// Go's multierror text ("1 error occurred:\n\t* permission denied\n\n") as one
/// line ("permission denied"), so it reads well in a Pod event.
fn flatten_multierror(text: &str) -> String {
    let text = text.trim();
    let Some((head, rest)) = text.split_once('\n') else {
        return text.to_owned();
    };
    if !(head.ends_with(" error occurred:") || head.ends_with(" errors occurred:")) {
        return text.to_owned();
    }
    rest.lines()
        .filter_map(|line| line.trim().strip_prefix("* "))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ")
}

fn truncate_chars(text: &mut String, max: usize) {
    if let Some((idx, _)) = text.char_indices().nth(max) {
        text.truncate(idx);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_array_is_joined() {
        let body = br#"{"errors":["permission denied","invalid token"]}"#;
        assert_eq!(
            vault_errors_text(body, &[]),
            "permission denied; invalid token"
        );
    }

    #[test]
    fn go_multierror_is_flattened() {
        let body =
            br#"{"errors":["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"]}"#;
        assert_eq!(
            vault_errors_text(body, &[]),
            "permission denied; invalid token"
        );
    }

    #[test]
    fn empty_errors_array_gives_empty_detail() {
        assert_eq!(vault_errors_text(br#"{"errors":[]}"#, &[]), "");
    }

    #[test]
    fn body_that_is_not_an_error_object_gives_empty_detail() {
        assert_eq!(vault_errors_text(b"<html>proxy error</html>", &[]), "");
        assert_eq!(vault_errors_text(br#"{"data":{"password":"x"}}"#, &[]), "");
    }

    #[test]
    fn echoed_secret_is_redacted() {
        let body = br#"{"errors":["bad jwt eyJhbGciOiJFUzI1NiJ9.payload.sig"]}"#;
        let text = vault_errors_text(body, &["eyJhbGciOiJFUzI1NiJ9.payload.sig"]);
        assert_eq!(text, "bad jwt <redacted>");
    }

    #[test]
    fn long_detail_is_truncated() {
        let long = "x".repeat(2000);
        let body = format!(r#"{{"errors":["{long}"]}}"#);
        assert_eq!(
            vault_errors_text(body.as_bytes(), &[]).chars().count(),
            MAX_DETAIL + 1
        );
    }

    #[test]
    fn login_refused_maps_to_permission_denied() {
        let err = VaultError::LoginRefused {
            path: "auth/kubernetes/login".into(),
            status: 400,
            detail: "invalid role name \"x\"".into(),
        };
        assert_eq!(err.code(), ErrorKind::PermissionDenied);
        assert_eq!(err.metric_label(), "login_refused");
        assert_eq!(
            err.to_string(),
            "Vault login at auth/kubernetes/login refused (HTTP 400): invalid role name \"x\""
        );
    }

    #[test]
    fn server_errors_are_transient() {
        let err = VaultError::Server {
            path: "secret/data/x".into(),
            status: 503,
            detail: String::new(),
        };
        assert!(err.is_transient());
        assert_eq!(err.code(), ErrorKind::Unavailable);
        assert_eq!(err.to_string(), "Vault failed on secret/data/x (HTTP 503)");
    }
}

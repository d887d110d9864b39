//! One Vault request and its answer as plain data, and the rules that turn an
//! answer into a value or an error. No I/O: the client sends what is here.

use bytes::Bytes;
use reqwest::Method;

use super::error::{VaultError, vault_errors_text};
use super::token::VaultToken;

/// One request before it is sent.
pub(crate) struct Call<'a> {
    pub method: Method,
    /// Vault path after `/v1/`, without a leading `/`.
    pub path: &'a str,
    /// Already encoded query string.
    pub query: Option<&'a str>,
    pub token: Option<&'a VaultToken>,
    /// Send `X-Vault-Namespace`; logins put the namespace in the path instead.
    pub namespace_header: bool,
    /// JSON body.
    pub body: Option<Vec<u8>>,
}

/// A complete HTTP answer, any status.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// Turns a non-success answer into an error, for every request but logins.
/// `secrets` are blanked out of Vault's error text should it ever echo them.
pub(crate) fn status_error(path: &str, reply: &Reply, secrets: &[&str]) -> VaultError {
    let detail = || vault_errors_text(&reply.body, secrets);
    let path = path.to_owned();
    match reply.status {
        403 => VaultError::PermissionDenied {
            path,
            detail: detail(),
        },
        404 => VaultError::NotFound { path },
        412 | 429 | 500..=599 => VaultError::Server {
            path,
            status: reply.status,
            detail: detail(),
        },
        400..=499 => VaultError::Rejected {
            path,
            status: reply.status,
            detail: detail(),
        },
        300..=399 => VaultError::Protocol {
            path,
            detail: format!("redirect (HTTP {}) not followed", reply.status),
        },
        status => VaultError::Protocol {
            path,
            detail: format!("unexpected HTTP status {status}"),
        },
    }
}

/// Decodes a JSON answer into `T`, naming the path (never the body) on failure.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    path: &str,
    body: &[u8],
) -> Result<T, VaultError> {
    serde_json::from_slice(body).map_err(|e| VaultError::Protocol {
        path: path.to_owned(),
        // serde_json's message names line/column and the expected type, not the data.
        detail: format!("answer is not the expected JSON ({})", e.classify_name()),
    })
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::ErrorKind;
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    #[test]
    fn status_403_is_permission_denied_with_vault_text() {
        let err = status_error(
            "secret/data/x",
            &reply(403, r#"{"errors":["permission denied"]}"#),
            &[],
        );
        assert_eq!(
            err.to_string(),
            "permission denied for secret/data/x (HTTP 403): permission denied"
        );
    }

    #[test]
    fn status_404_is_not_found() {
        let err = status_error("secret/data/x", &reply(404, r#"{"errors":[]}"#), &[]);
        assert!(matches!(err, VaultError::NotFound { .. }));
    }

    #[test]
    fn status_400_is_rejected() {
        let err = status_error(
            "pki/issue/r",
            &reply(400, r#"{"errors":["common name not allowed"]}"#),
            &[],
        );
        assert_eq!(err.code(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn status_429_is_unavailable() {
        let err = status_error("secret/x", &reply(429, ""), &[]);
        assert_eq!(err.code(), ErrorKind::Unavailable);
    }

    #[test]
    fn decode_error_does_not_quote_the_body() {
        let err = decode::<Vec<u8>>("secret/x", br#"{"data":{"password":"hunter2"}}"#).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

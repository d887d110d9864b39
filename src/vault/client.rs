//! The pooled HTTP client and the one request path every Vault call goes through:
//! URL building, headers, timeout, retries and status classification.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue};

use super::error::VaultError;
use super::http::{Call, Reply};
use super::mounts::MountCache;
use super::target::{DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Target};
use super::tls::{self, VaultTlsConfig};
use super::token::VaultToken;

/// Largest answer read from Vault; real answers are a few KiB.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// First retry delay; doubled per retry up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(100);
/// Longest delay between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Connecting never waits longer than this, even with a long request timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Node-wide settings of the Vault client.
#[derive(Debug, Clone)]
pub struct VaultSettings {
    /// The node's default Vault address, e.g. `https://vault.vault.svc:8200`.
    pub address: String,
    /// TLS trust and client identity.
    pub tls: VaultTlsConfig,
    /// Default per-request timeout; a [`Target`] may override it.
    pub timeout: Duration,
    /// Default retries after the first attempt; a [`Target`] may override it.
    pub max_retries: u32,
}

impl Default for VaultSettings {
    fn default() -> Self {
        Self {
            address: "https://127.0.0.1:8200".to_owned(),
            tls: VaultTlsConfig::default(),
            timeout: DEFAULT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
        }
    }
}

/// The node's Vault client: one connection pool and one TLS trust, shared by all
/// volumes. Cheap to clone.
#[derive(Clone)]
pub struct VaultClient {
    http: reqwest::Client,
    default_target: Target,
    pub(crate) mounts: MountCache,
}

impl std::fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultClient")
            .field("default_target", &self.default_target)
            .finish_non_exhaustive()
    }
}

/// An answer as read off the wire, before the size check.
struct RawReply {
    status: u16,
    body: Option<Bytes>,
}

impl VaultClient {
    /// Builds the node's client. Fails on unusable TLS files or an invalid address.
    pub fn new(settings: &VaultSettings) -> Result<Self, VaultError> {
        let default_target = Target::new(&settings.address)?
            .with_timeout(settings.timeout)
            .with_max_retries(settings.max_retries);
        let tls = tls::client_config(&settings.tls)?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(concat!("vault-csi-driver/", env!("CARGO_PKG_VERSION")))
            // The token header is not one reqwest strips on redirect, so a redirect
            // could carry it to another host: redirects are not followed.
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .connect_timeout(settings.timeout.min(MAX_CONNECT_TIMEOUT))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| VaultError::Config(format!("HTTP client: {}", innermost(&e))))?;
        Ok(Self {
            http,
            default_target,
            mounts: MountCache::default(),
        })
    }

    /// The node's default address with the node's timeout and retries.
    pub fn default_target(&self) -> &Target {
        &self.default_target
    }

    /// Sends a request, retrying connection failures, 412 and 5xx other than 501,
    /// and returns the final answer whatever its status.
    pub(crate) async fn send(&self, target: &Target, call: Call<'_>) -> Result<Reply, VaultError> {
        let mut url = target.url().clone();
        // Paths are kept unescaped; `%` is the one byte `set_path` would not escape.
        url.set_path(&format!("/v1/{}", call.path.replace('%', "%25")));
        url.set_query(call.query);

        let token_header = match call.token {
            Some(token) => {
                let mut value = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
                    VaultError::InvalidInput(
                        "Vault token has characters not allowed in a header".into(),
                    )
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let namespace_header = match (call.namespace_header, target.namespace()) {
            (true, Some(ns)) => Some(HeaderValue::from_str(ns).map_err(|_| {
                VaultError::InvalidInput(format!("invalid Vault namespace {ns:?}"))
            })?),
            _ => None,
        };

        let mut attempt = 0u32;
        loop {
            let mut request = self
                .http
                .request(call.method.clone(), url.clone())
                .timeout(target.timeout());
            if let Some(value) = &token_header {
                request = request.header("X-Vault-Token", value.clone());
            }
            if let Some(value) = &namespace_header {
                request = request.header("X-Vault-Namespace", value.clone());
            }
            if let Some(body) = &call.body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }

            let started = std::time::Instant::now();
            let outcome = match request.send().await {
                Ok(response) => match read_reply(response).await {
                    Ok(RawReply { body: None, .. }) => {
                        return Err(VaultError::Protocol {
                            path: call.path.to_owned(),
                            detail: format!("answer larger than {MAX_BODY} bytes"),
                        });
                    }
                    Ok(RawReply {
                        status,
                        body: Some(body),
                    }) => Ok(Reply { status, body }),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            crate::metrics::global().vault_request(
                request_kind(&call.method, call.path),
                outcome.as_ref().ok().map(|r| r.status),
                started.elapsed(),
            );
            let retryable = match &outcome {
                Ok(reply) => is_retryable_status(reply.status),
                // A timeout already used the whole budget of this request.
                Err(e) => !e.is_timeout(),
            };
            if !retryable || attempt >= target.max_retries() {
                return match outcome {
                    Ok(reply) => {
                        tracing::debug!(
                            method = %call.method,
                            path = call.path,
                            status = reply.status,
                            attempt,
                            "vault request"
                        );
                        Ok(reply)
                    }
                    Err(e) => Err(transport_error(target, call.path, &e)),
                };
            }
            let delay = backoff(attempt);
            match &outcome {
                Ok(reply) => tracing::debug!(
                    method = %call.method, path = call.path, status = reply.status, attempt,
                    ?delay, "vault request failed, retrying"
                ),
                Err(e) => tracing::debug!(
                    method = %call.method, path = call.path, error = %innermost(e), attempt,
                    ?delay, "vault request failed, retrying"
                ),
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

/// What a request is, for metrics: paths hold secret names, kinds do not.
fn request_kind(method: &Method, path: &str) -> &'static str {
    if path.ends_with("/login") {
        "login"
    } else if path.starts_with("sys/internal/ui/mounts") {
        "mount_lookup"
    } else if path.starts_with("auth/token/renew") || path.starts_with("sys/leases/renew") {
        "renew"
    } else if path.contains("/revoke") {
        "revoke"
    } else if path.starts_with("sys/") || path.starts_with("auth/") {
        "other"
    } else if method == Method::GET {
        "read"
    } else if method.as_str() == "LIST" {
        "list"
    } else {
        "write"
    }
}

impl VaultClient {
    /// Whether the node's Vault answers as an active or standby server
    /// (`sys/health`), for the readiness probe.
    pub async fn health(&self) -> Result<(), VaultError> {
        let reply = self
            .send(
                &self.default_target,
                Call {
                    method: Method::GET,
                    path: "sys/health",
                    query: Some("standbyok=true&perfstandbyok=true"),
                    token: None,
                    namespace_header: false,
                    body: None,
                },
            )
            .await?;
        match reply.status {
            200 => Ok(()),
            status => Err(VaultError::Server {
                path: "sys/health".into(),
                status,
                detail: "sealed, uninitialised or not ready".into(),
            }),
        }
    }

    /// Sends a request that carries `token` (and the namespace header).
    pub(crate) async fn token_call(
        &self,
        target: &Target,
        token: &VaultToken,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, VaultError> {
        self.send(
            target,
            Call {
                method,
                path,
                query: None,
                token: Some(token),
                namespace_header: true,
                body,
            },
        )
        .await
    }
}

/// Vault's own client retries exactly these: 412 (a follower not yet caught up)
/// and 5xx except 501 (not initialised, which waiting does not fix).
fn is_retryable_status(status: u16) -> bool {
    status == 412 || ((500..600).contains(&status) && status != 501)
}

fn backoff(attempt: u32) -> Duration {
    let base = BASE_BACKOFF.saturating_mul(1u32 << attempt.min(10));
    // Jitter so that many volumes retrying at once do not stay in step.
    let jitter_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos() % 50))
        .unwrap_or(0);
    (base + Duration::from_millis(jitter_ms)).min(MAX_BACKOFF)
}

/// Reads the whole answer; `body` is `None` when it exceeds [`MAX_BODY`].
async fn read_reply(mut response: reqwest::Response) -> Result<RawReply, reqwest::Error> {
    let status = response.status().as_u16();
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY {
            return Ok(RawReply { status, body: None });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawReply {
        status,
        body: Some(body.freeze()),
    })
}

/// The innermost cause of an error chain, e.g. "Connection refused (os error 111)".
/// reqwest's own message embeds the URL, the innermost cause never does.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

fn transport_error(target: &Target, path: &str, err: &reqwest::Error) -> VaultError {
    if err.is_timeout() {
        VaultError::Timeout {
            address: target.address().to_owned(),
            path: path.to_owned(),
            after: target.timeout(),
        }
    } else {
        VaultError::Unreachable {
            address: target.address().to_owned(),
            detail: innermost(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_412_and_5xx_but_not_501() {
        assert!(is_retryable_status(412));
        assert!(is_retryable_status(500));
        assert!(is_retryable_status(503));
        assert!(!is_retryable_status(501));
        assert!(!is_retryable_status(400));
        assert!(!is_retryable_status(429));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) < Duration::from_millis(160));
        assert!(backoff(1) >= Duration::from_millis(200));
        assert_eq!(backoff(20), MAX_BACKOFF);
    }
}

//! Login with a Pod's JWT (kubernetes and jwt auth methods) and the token's upkeep.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use super::client::VaultClient;
use super::error::{VaultError, vault_errors_text};
use super::http::{Call, Reply, decode, status_error};
use super::target::Target;
use super::token::VaultToken;

/// An auth method's mount path, always starting with `auth/` (the annotation may
/// leave it out), e.g. `auth/kubernetes`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthMethodPath(String);

impl AuthMethodPath {
    /// Parses an `auth-path` annotation value: outer spaces and `/` trimmed, a leading
    /// `auth/` optional. Refuses empty, `.`/`..` or empty segments, `?`, `#`, `%` and spaces.
    pub fn new(raw: &str) -> Result<Self, VaultError> {
        let trimmed = raw.trim().trim_matches('/');
        let rest = trimmed.strip_prefix("auth/").unwrap_or(trimmed);
        let invalid = rest.is_empty()
            || rest == "auth"
            || rest
                .split('/')
                .any(|seg| seg.is_empty() || seg == "." || seg == "..")
            || rest.contains(['?', '#', '%'])
            || rest.chars().any(|c| c.is_whitespace() || c.is_control());
        if invalid {
            return Err(VaultError::InvalidInput(format!(
                "invalid auth path {raw:?}"
            )));
        }
        Ok(Self(format!("auth/{rest}")))
    }

    /// `auth/kubernetes`, the default for `auth-type` kubernetes.
    pub fn kubernetes() -> Self {
        Self("auth/kubernetes".to_owned())
    }

    /// `auth/jwt`, the default for `auth-type` jwt.
    pub fn jwt() -> Self {
        Self("auth/jwt".to_owned())
    }

    /// The path, e.g. `auth/kubernetes`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Target {
    /// The path of a login request: the namespace goes into the path (SPEC 3),
    /// because the login carries no `X-Vault-Namespace` header.
    pub fn login_path(&self, auth: &AuthMethodPath) -> String {
        match self.namespace() {
            Some(ns) => format!("{ns}/{}/login", auth.as_str()),
            None => format!("{}/login", auth.as_str()),
        }
    }
}

impl fmt::Display for AuthMethodPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `lookup-self` says about a token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenInfo {
    /// The token's accessor.
    #[serde(default)]
    pub accessor: String,
    /// Seconds left before the token expires; zero means no expiry.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ttl: u64,
    /// Whether the token can be renewed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub renewable: bool,
    /// Policies attached to the token.
    #[serde(default, deserialize_with = "null_as_default")]
    pub policies: Vec<String>,
    /// RFC 3339 expiry time, if the token expires.
    #[serde(default)]
    pub expire_time: Option<String>,
    /// Hard limit on the token's life in seconds; zero means none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub explicit_max_ttl: u64,
    /// The identity entity, if any.
    #[serde(default, deserialize_with = "null_as_default")]
    pub entity_id: String,
    /// Display name, e.g. `kubernetes-ns-sa`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub display_name: String,
    /// Auth metadata, e.g. `role`, `service_account_name`, `service_account_namespace`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub meta: BTreeMap<String, String>,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The `auth` block of a login or renewal answer.
#[derive(Deserialize)]
struct AuthBlock {
    client_token: String,
    #[serde(default)]
    accessor: String,
    #[serde(default, deserialize_with = "null_as_default")]
    policies: Vec<String>,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    entity_id: String,
}

#[derive(Deserialize)]
struct AuthAnswer {
    auth: Option<AuthBlock>,
}

#[derive(Deserialize)]
struct DataAnswer<T> {
    data: Option<T>,
}

impl AuthBlock {
    fn into_token(self) -> VaultToken {
        VaultToken {
            secret: self.client_token,
            accessor: self.accessor,
            lease_duration: Duration::from_secs(self.lease_duration),
            renewable: self.renewable,
            policies: self.policies,
            entity_id: self.entity_id,
        }
    }
}

fn token_from_answer(path: &str, reply: &Reply) -> Result<VaultToken, VaultError> {
    let answer: AuthAnswer = decode(path, &reply.body)?;
    match answer.auth {
        Some(auth) if !auth.client_token.is_empty() => Ok(auth.into_token()),
        _ => Err(VaultError::Protocol {
            path: path.to_owned(),
            detail: "answer has no auth.client_token".to_owned(),
        }),
    }
}

impl VaultClient {
    /// Logs in with a Pod's JWT: `PUT /v1/<ns>/<auth-path>/login` with
    /// `{"role","jwt"}`, the same body for the kubernetes and jwt auth methods.
    ///
    /// A 403, or a 400 (unknown role, JWT refused by the jwt method), is
    /// [`VaultError::LoginRefused`].
    pub async fn login(
        &self,
        target: &Target,
        auth: &AuthMethodPath,
        role: &str,
        jwt: &str,
    ) -> Result<VaultToken, VaultError> {
        if role.trim().is_empty() {
            return Err(VaultError::InvalidInput("Vault role is empty".to_owned()));
        }
        if jwt.is_empty() {
            return Err(VaultError::InvalidInput(
                "no ServiceAccount token to log in with".to_owned(),
            ));
        }
        let path = target.login_path(auth);
        let body = serde_json::to_vec(&serde_json::json!({ "role": role, "jwt": jwt }))
            .map_err(|e| VaultError::InvalidInput(format!("login body: {e}")))?;
        let reply = self
            .send(
                target,
                Call {
                    method: Method::PUT,
                    path: &path,
                    query: None,
                    token: None,
                    namespace_header: false,
                    body: Some(body),
                },
            )
            .await?;
        match reply.status {
            200 => token_from_answer(&path, &reply),
            400 | 403 => Err(VaultError::LoginRefused {
                detail: vault_errors_text(&reply.body, &[jwt]),
                path,
                status: reply.status,
            }),
            _ => Err(status_error(&path, &reply, &[jwt])),
        }
    }

    /// Extends the token's lease: `PUT auth/token/renew-self`, optionally asking for
    /// `increment`. Returns the token with the new lease.
    pub async fn renew_self(
        &self,
        target: &Target,
        token: &VaultToken,
        increment: Option<Duration>,
    ) -> Result<VaultToken, VaultError> {
        const PATH: &str = "auth/token/renew-self";
        let body = match increment {
            Some(inc) => format!(r#"{{"increment":"{}s"}}"#, inc.as_secs()).into_bytes(),
            None => b"{}".to_vec(),
        };
        let reply = self
            .token_call(target, token, Method::PUT, PATH, Some(body))
            .await?;
        if reply.status != 200 {
            return Err(status_error(PATH, &reply, &[token.expose_secret()]));
        }
        let renewed = token_from_answer(PATH, &reply)?;
        Ok(VaultToken {
            // Renewal never changes the token; keep ours even if the answer differs.
            secret: token.secret.clone(),
            ..renewed
        })
    }

    /// Revokes the token and every lease it created: `PUT auth/token/revoke-self`.
    pub async fn revoke_self(&self, target: &Target, token: &VaultToken) -> Result<(), VaultError> {
        const PATH: &str = "auth/token/revoke-self";
        let reply = self
            .token_call(target, token, Method::PUT, PATH, None)
            .await?;
        match reply.status {
            200 | 204 => Ok(()),
            _ => Err(status_error(PATH, &reply, &[token.expose_secret()])),
        }
    }

    /// Describes the token: `GET auth/token/lookup-self`. The answer's `id` (the
    /// token itself) is not kept.
    pub async fn lookup_self(
        &self,
        target: &Target,
        token: &VaultToken,
    ) -> Result<TokenInfo, VaultError> {
        const PATH: &str = "auth/token/lookup-self";
        let reply = self
            .token_call(target, token, Method::GET, PATH, None)
            .await?;
        if reply.status != 200 {
            return Err(status_error(PATH, &reply, &[token.expose_secret()]));
        }
        let answer: DataAnswer<TokenInfo> = decode(PATH, &reply.body)?;
        answer.data.ok_or_else(|| VaultError::Protocol {
            path: PATH.to_owned(),
            detail: "answer has no data".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_path_gets_auth_prefix() {
        assert_eq!(
            AuthMethodPath::new("kubernetes").unwrap().as_str(),
            "auth/kubernetes"
        );
        assert_eq!(
            AuthMethodPath::new("auth/kubernetes").unwrap().as_str(),
            "auth/kubernetes"
        );
        assert_eq!(
            AuthMethodPath::new(" /auth/k8s/prod/ ").unwrap().as_str(),
            "auth/k8s/prod"
        );
    }

    #[test]
    fn auth_path_refuses_traversal_and_blank() {
        for bad in [
            "", "  ", "/", "auth", "auth/", "a/../b", "a//b", "k8s?x=1", "k 8s", "a/./b",
        ] {
            assert!(AuthMethodPath::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn login_path_carries_namespace() {
        let auth = AuthMethodPath::new("kubernetes").unwrap();
        let t = Target::new("http://127.0.0.1:8200").unwrap();
        assert_eq!(t.login_path(&auth), "auth/kubernetes/login");
        let t = t.with_namespace(Some("team-a")).unwrap();
        assert_eq!(t.login_path(&auth), "team-a/auth/kubernetes/login");
    }

    #[test]
    fn lookup_answer_drops_the_token_id() {
        let body = br#"{"data":{"id":"s.secret","accessor":"acc","ttl":30,"renewable":true,
            "policies":["default"],"expire_time":null,"explicit_max_ttl":0,"entity_id":"",
            "display_name":"token","meta":null}}"#;
        let answer: DataAnswer<TokenInfo> = decode("auth/token/lookup-self", body).unwrap();
        let info = answer.data.unwrap();
        assert_eq!(info.accessor, "acc");
        assert_eq!(info.ttl, 30);
        assert!(info.meta.is_empty());
        assert!(!format!("{info:?}").contains("s.secret"));
    }

    #[test]
    fn login_answer_without_auth_is_protocol_error() {
        let reply = Reply {
            status: 200,
            body: bytes::Bytes::from_static(br#"{"auth":null,"warnings":["mfa required"]}"#),
        };
        let err = token_from_answer("auth/jwt/login", &reply).unwrap_err();
        assert_eq!(err.metric_label(), "protocol");
    }
}

//! What kubelet tells us about the Pod in a NodePublishVolume request: its
//! identity (`podInfoOnMount`) and its ServiceAccount token (`tokenRequests`).

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;

use super::redact::TOKENS_KEY;
use crate::error::{Error, Result};

const POD_NAME: &str = "csi.storage.k8s.io/pod.name";
const POD_NAMESPACE: &str = "csi.storage.k8s.io/pod.namespace";
const POD_UID: &str = "csi.storage.k8s.io/pod.uid";
const SERVICE_ACCOUNT: &str = "csi.storage.k8s.io/serviceAccount.name";
const EPHEMERAL: &str = "csi.storage.k8s.io/ephemeral";

/// The Pod a volume is for, as kubelet identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PodRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID (checked against the API server's copy).
    pub uid: String,
    /// ServiceAccount name.
    pub service_account: String,
}

/// A Pod's projected ServiceAccount token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PodToken {
    jwt: String,
    /// When kubelet says it expires (RFC 3339), if it said.
    pub expires: Option<String>,
}

impl PodToken {
    /// The raw JWT, for the Vault login body only.
    pub fn jwt(&self) -> &str {
        &self.jwt
    }
}

impl fmt::Debug for PodToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PodToken")
            .field("jwt", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

/// The parts of a publish request that say whose volume it is.
#[derive(Debug, Clone)]
pub struct PublishContext {
    /// The Pod.
    pub pod: PodRef,
    /// Its token for the configured audience.
    pub token: PodToken,
}

#[derive(Deserialize)]
struct TokenEntry {
    token: String,
    #[serde(rename = "expirationTimestamp", default)]
    expiration_timestamp: Option<String>,
}

/// Reads the Pod identity and its token for `audience` from a request.
/// The token comes from `secrets` first (newer kubelets), then `volume_context`.
pub fn parse(
    volume_context: &HashMap<String, String>,
    secrets: &HashMap<String, String>,
    audience: &str,
) -> Result<PublishContext> {
    if volume_context.get(EPHEMERAL).map(String::as_str) != Some("true") {
        return Err(Error::InvalidArgument(format!(
            "only inline ephemeral volumes are served ({EPHEMERAL} is not \"true\"): declare the volume inline in the Pod spec"
        )));
    }
    let field = |key: &str| -> Result<String> {
        match volume_context.get(key) {
            Some(value) if !value.is_empty() => Ok(value.clone()),
            _ => Err(Error::InvalidArgument(format!(
                "volume_context lacks {key}: the CSIDriver object needs podInfoOnMount: true"
            ))),
        }
    };
    let pod = PodRef {
        namespace: field(POD_NAMESPACE)?,
        name: field(POD_NAME)?,
        uid: field(POD_UID)?,
        service_account: field(SERVICE_ACCOUNT)?,
    };
    let token = secrets
        .get(TOKENS_KEY)
        .or_else(|| volume_context.get(TOKENS_KEY))
        .ok_or_else(|| no_token(audience))
        .and_then(|json| token_for(json, audience))?;
    Ok(PublishContext { pod, token })
}

fn token_for(json: &str, audience: &str) -> Result<PodToken> {
    // serde's messages may quote the input, which holds tokens: say only where.
    let mut tokens: HashMap<String, TokenEntry> = serde_json::from_str(json).map_err(|e| {
        Error::InvalidArgument(format!(
            "{TOKENS_KEY} is not the JSON kubelet writes (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let entry = tokens.remove(audience).ok_or_else(|| no_token(audience))?;
    if entry.token.is_empty() {
        return Err(no_token(audience));
    }
    Ok(PodToken {
        jwt: entry.token,
        expires: entry.expiration_timestamp,
    })
}

fn no_token(audience: &str) -> Error {
    Error::InvalidArgument(format!(
        "no ServiceAccount token for audience {audience:?} in the request: the CSIDriver object needs tokenRequests: [{{audience: {audience:?}}}]"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(tokens: Option<&str>) -> HashMap<String, String> {
        let mut map: HashMap<String, String> = [
            (POD_NAME, "web-0"),
            (POD_NAMESPACE, "shop"),
            (POD_UID, "uid-1"),
            (SERVICE_ACCOUNT, "web"),
            (EPHEMERAL, "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        if let Some(tokens) = tokens {
            map.insert(TOKENS_KEY.to_string(), tokens.to_string());
        }
        map
    }

    const TOKENS: &str =
        r#"{"vault":{"token":"eyJ.a.b","expirationTimestamp":"2026-11-28T14:00:00Z"}}"#;

    #[test]
    fn pod_identity_and_token_are_read() {
        let parsed = parse(&context(Some(TOKENS)), &HashMap::new(), "vault").unwrap();
        assert_eq!(parsed.pod.name, "web-0");
        assert_eq!(parsed.pod.namespace, "shop");
        assert_eq!(parsed.pod.service_account, "web");
        assert_eq!(parsed.token.jwt(), "eyJ.a.b");
        assert_eq!(
            parsed.token.expires.as_deref(),
            Some("2026-11-28T14:00:00Z")
        );
    }

    #[test]
    fn the_secrets_map_wins_over_volume_context() {
        let secrets = HashMap::from([(
            TOKENS_KEY.to_string(),
            r#"{"vault":{"token":"from-secrets"}}"#.to_string(),
        )]);
        let parsed = parse(&context(Some(TOKENS)), &secrets, "vault").unwrap();
        assert_eq!(parsed.token.jwt(), "from-secrets");
    }

    #[test]
    fn a_token_for_another_audience_is_not_used() {
        let err = parse(&context(Some(TOKENS)), &HashMap::new(), "openbao").unwrap_err();
        assert!(err.to_string().contains("\"openbao\""));
        assert!(matches!(err, Error::InvalidArgument(_)));
    }

    #[test]
    fn missing_tokens_name_the_csidriver_setting() {
        let err = parse(&context(None), &HashMap::new(), "vault").unwrap_err();
        assert!(err.to_string().contains("tokenRequests"));
    }

    #[test]
    fn malformed_token_json_is_reported_without_its_content() {
        let err = parse(
            &context(Some("{\"vault\": \"eyJSECRET")),
            &HashMap::new(),
            "vault",
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("eyJSECRET"), "{err}");
    }

    #[test]
    fn missing_pod_info_names_pod_info_on_mount() {
        let mut map = context(Some(TOKENS));
        map.remove(POD_UID);
        let err = parse(&map, &HashMap::new(), "vault")
            .unwrap_err()
            .to_string();
        assert!(err.contains("podInfoOnMount"), "{err}");
    }

    #[test]
    fn persistent_volumes_are_refused() {
        let mut map = context(Some(TOKENS));
        map.remove(EPHEMERAL);
        let err = parse(&map, &HashMap::new(), "vault")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ephemeral"), "{err}");
    }

    #[test]
    fn debug_never_shows_the_jwt() {
        let parsed = parse(&context(Some(TOKENS)), &HashMap::new(), "vault").unwrap();
        assert!(!format!("{parsed:?}").contains("eyJ.a.b"));
    }
}

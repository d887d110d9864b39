//! Request views that are safe to log: the ServiceAccount tokens kubelet
//! hands in, and the whole `secrets` map, never reach a log line.

use std::collections::HashMap;
use std::fmt;

use super::proto::NodePublishVolumeRequest;

/// The `volume_context` key under which kubelet passes ServiceAccount tokens.
pub const TOKENS_KEY: &str = "csi.storage.k8s.io/serviceAccount.tokens";

const REDACTED: &str = "<redacted>";

/// A loggable view of a NodePublishVolume request.
pub struct PublishRequestLog<'a>(pub &'a NodePublishVolumeRequest);

impl fmt::Debug for PublishRequestLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = self.0;
        f.debug_struct("NodePublishVolumeRequest")
            .field("volume_id", &request.volume_id)
            .field("target_path", &request.target_path)
            .field("readonly", &request.readonly)
            .field("volume_capability", &request.volume_capability)
            .field("volume_context", &ContextLog(&request.volume_context))
            .field("secrets", &SecretsLog(&request.secrets))
            .finish()
    }
}

/// `volume_context` with the token entry's value hidden.
struct ContextLog<'a>(&'a HashMap<String, String>);

impl fmt::Debug for ContextLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<_> = self.0.iter().collect();
        entries.sort();
        f.debug_map()
            .entries(entries.into_iter().map(|(k, v)| {
                let shown = if k == TOKENS_KEY {
                    REDACTED
                } else {
                    v.as_str()
                };
                (k, shown)
            }))
            .finish()
    }
}

/// The `secrets` map with keys only.
struct SecretsLog<'a>(&'a HashMap<String, String>);

impl fmt::Debug for SecretsLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.0.keys().collect();
        keys.sort();
        f.debug_map()
            .entries(keys.into_iter().map(|k| (k, REDACTED)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_secrets_are_hidden_but_keys_stay() {
        let request = NodePublishVolumeRequest {
            volume_id: "csi-1".into(),
            volume_context: HashMap::from([
                (
                    TOKENS_KEY.to_string(),
                    "{\"vault\":{\"token\":\"eyJSECRET\"}}".to_string(),
                ),
                (
                    "csi.storage.k8s.io/pod.name".to_string(),
                    "web-0".to_string(),
                ),
            ]),
            secrets: HashMap::from([(TOKENS_KEY.to_string(), "eyJOTHER".to_string())]),
            ..Default::default()
        };
        let logged = format!("{:?}", PublishRequestLog(&request));
        assert!(!logged.contains("eyJSECRET"));
        assert!(!logged.contains("eyJOTHER"));
        assert!(logged.contains("web-0"));
        assert!(logged.contains(TOKENS_KEY));
        assert!(logged.contains(REDACTED));
    }
}

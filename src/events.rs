//! Kubernetes Events on Pods, de-duplicated and rate-limited: the same
//! reason and message on the same Pod bump one Event's count instead of
//! making a new Event each time, and an Event is written at most every
//! [`MIN_INTERVAL`], so a volume failing every second cannot flood the API.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::kube::{KubeClient, PodEvent};
use crate::pod::Pod;

/// Least time between two writes of one Event.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_secs(30);
/// After this long without a repeat, a repeat makes a new Event.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// Bound on remembered Events.
const MAX_KEYS: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    pod_uid: String,
    reason: String,
    message: String,
}

#[derive(Debug)]
struct Seen {
    name: Option<String>,
    count: u32,
    written: u32,
    last_write: Instant,
    last_seen: Instant,
}

/// What to do with one more occurrence.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Create,
    Patch { name: String, count: u32 },
    Hold,
}

/// Posts Events for the driver.
#[derive(Debug, Clone)]
pub(crate) struct EventRecorder {
    kube: KubeClient,
    seen: Arc<Mutex<HashMap<Key, Seen>>>,
}

impl EventRecorder {
    /// A recorder writing through `kube`.
    pub(crate) fn new(kube: KubeClient) -> Self {
        Self {
            kube,
            seen: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Records one occurrence; the write (if any) happens in the background.
    pub(crate) fn record(&self, pod: &Pod, event: PodEvent) {
        let key = Key {
            pod_uid: pod.metadata.uid.clone(),
            reason: event.reason.clone(),
            message: event.message.clone(),
        };
        let decision = self.decide(&key, Instant::now());
        if decision == Decision::Hold {
            return;
        }
        let (recorder, pod) = (self.clone(), pod.clone());
        tokio::spawn(async move {
            let result = match decision {
                Decision::Create => recorder.kube.post_event(&pod, &event).await.map(Some),
                Decision::Patch { name, count } => recorder
                    .kube
                    .patch_event_count(&pod.metadata.namespace, &name, count)
                    .await
                    .map(|()| None),
                Decision::Hold => return,
            };
            match result {
                Ok(Some(name)) => {
                    if let Some(seen) = lock(&recorder.seen).get_mut(&key) {
                        seen.name = Some(name);
                    }
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "could not write an event"),
            }
        });
    }

    fn decide(&self, key: &Key, now: Instant) -> Decision {
        let mut seen = lock(&self.seen);
        if seen.len() >= MAX_KEYS {
            seen.retain(|_, s| now.duration_since(s.last_seen) < FORGET_AFTER);
        }
        match seen.get_mut(key) {
            Some(s) if now.duration_since(s.last_seen) < FORGET_AFTER => {
                s.count += 1;
                s.last_seen = now;
                match &s.name {
                    Some(name) if now.duration_since(s.last_write) >= MIN_INTERVAL => {
                        s.last_write = now;
                        s.written = s.count;
                        Decision::Patch {
                            name: name.clone(),
                            count: s.count,
                        }
                    }
                    _ => Decision::Hold,
                }
            }
            _ => {
                seen.insert(
                    key.clone(),
                    Seen {
                        name: None,
                        count: 1,
                        written: 1,
                        last_write: now,
                        last_seen: now,
                    },
                );
                Decision::Create
            }
        }
    }
}

/// The Normal Event a refresh posts when it switched a volume to new files:
/// the files by their path in the volume, never their content, and the
/// volume's new version (its `.vault-csi-version`).
pub(crate) fn secrets_rotated(
    volume: &str,
    changed: &[std::path::PathBuf],
    version: u64,
) -> PodEvent {
    let names: Vec<String> = changed
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    PodEvent {
        kind: "Normal",
        reason: "SecretsRotated".into(),
        message: format!(
            "volume {volume}: new content in {} (version {version})",
            if names.is_empty() {
                "no file; files were removed".to_string()
            } else {
                names.join(", ")
            }
        ),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recorder whose API server is never reached (kube's client needs a
    /// runtime to start).
    fn recorder() -> EventRecorder {
        let args = crate::kube::KubeArgs {
            kube_api_url: Some("http://127.0.0.1:1".into()),
            kube_ca_file: None,
            kube_token_file: None,
        };
        EventRecorder::new(KubeClient::new(&args, "node").unwrap())
    }

    fn key(message: &str) -> Key {
        Key {
            pod_uid: "u".into(),
            reason: "SecretRefreshFailed".into(),
            message: message.into(),
        }
    }

    #[tokio::test]
    async fn the_first_occurrence_creates_an_event() {
        let r = recorder();
        assert_eq!(r.decide(&key("m"), Instant::now()), Decision::Create);
    }

    #[tokio::test]
    async fn repeats_within_the_interval_are_held() {
        let r = recorder();
        let t = Instant::now();
        r.decide(&key("m"), t);
        lock(&r.seen).get_mut(&key("m")).unwrap().name = Some("pod.1".into());
        assert_eq!(
            r.decide(&key("m"), t + Duration::from_secs(1)),
            Decision::Hold
        );
    }

    #[tokio::test]
    async fn a_repeat_after_the_interval_patches_the_count() {
        let r = recorder();
        let t = Instant::now();
        r.decide(&key("m"), t);
        lock(&r.seen).get_mut(&key("m")).unwrap().name = Some("pod.1".into());
        r.decide(&key("m"), t + Duration::from_secs(1));
        let later = t + MIN_INTERVAL + Duration::from_secs(1);
        assert_eq!(
            r.decide(&key("m"), later),
            Decision::Patch {
                name: "pod.1".into(),
                count: 3
            }
        );
    }

    #[test]
    fn a_rotation_names_the_files_and_the_version() {
        let event = secrets_rotated("vault-secrets", &["db".into(), "conf/app.env".into()], 7);
        assert_eq!(event.kind, "Normal");
        assert_eq!(event.reason, "SecretsRotated");
        assert_eq!(
            event.message,
            "volume vault-secrets: new content in db, conf/app.env (version 7)"
        );
    }

    #[tokio::test]
    async fn another_message_is_another_event() {
        let r = recorder();
        let t = Instant::now();
        r.decide(&key("a"), t);
        assert_eq!(r.decide(&key("b"), t), Decision::Create);
    }
}

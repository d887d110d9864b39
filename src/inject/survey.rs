//! What a Pod says before any plan is made of it: the driver's volumes and
//! where they are mounted, the secret NAMEs its annotations define, the
//! warnings and notices about the Pod as a whole, and the files of its
//! `agent-configmap`. Both ways of planning (annotations, an agent config)
//! read these.

use std::collections::{BTreeMap, BTreeSet};

use super::annotations::Annotations;
use super::catalog::{self, Answer, When};
use super::error::{Echo, PlanError};
use super::keys;
use super::path;
use super::prefix::VAULT_PREFIX;
use super::value;
use super::warning::{PlanWarning, WarningKind};
use super::{AgentConfigMap, CONFIGMAP_MOUNT_PATH, Defaults};
use crate::pod::Pod;

/// The catalog's spelling of `agent-inject-command-NAME`.
const COMMAND_KEY: &str = "agent-inject-command-NAME";

/// The CSI volumes of this driver in the Pod, each with the cleaned paths at
/// which containers mount it.
pub(super) fn driver_mounts<'p>(
    pod: &'p Pod,
    defaults: &Defaults,
) -> BTreeMap<&'p str, BTreeSet<String>> {
    let mut mounts: BTreeMap<&str, BTreeSet<String>> = pod
        .spec
        .volumes
        .iter()
        .filter(|v| {
            v.csi.as_ref().is_some_and(|csi| {
                defaults
                    .driver_name
                    .as_deref()
                    .is_none_or(|d| d == csi.driver)
            })
        })
        .map(|v| (v.name.as_str(), BTreeSet::new()))
        .collect();
    for mount in pod.spec.all_containers().flat_map(|c| &c.volume_mounts) {
        if let Some(paths) = mounts.get_mut(mount.name.as_str()) {
            paths.insert(path::clean(&mount.mount_path));
        }
    }
    mounts
}

/// Raw NAMEs defined by the Pod, each with the first key that defines it.
/// A key matches the first defining prefix that fits, as in the injector, so
/// `agent-inject-template-file-x` defines `x`, not `file-x`.
pub(super) fn secret_names<'s>(
    ann: &'s Annotations<'_>,
) -> Result<BTreeMap<&'s str, &'s str>, PlanError> {
    let mut names = BTreeMap::new();
    for (key, _) in ann.present() {
        let Some(raw) = keys::DEFINING.iter().find_map(|p| key.strip_prefix(p)) else {
            continue;
        };
        let valid_chars = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if raw.is_empty() || raw == "." || raw == ".." || !valid_chars {
            return Err(PlanError::InvalidName {
                key: key.to_owned(),
            });
        }
        names.entry(raw).or_insert(key);
    }
    Ok(names)
}

/// Warnings about the Pod as a whole; every volume of the Pod reports them.
pub(super) fn pod_warnings(
    ann: &Annotations<'_>,
    names: &BTreeMap<&str, &str>,
) -> Vec<PlanWarning> {
    let mut warnings = Vec::new();
    for (key, value) in ann.present() {
        let kind = if keys::NODE_TRUST_KEYS.contains(&key) {
            Some(WarningKind::NodeTrustSetting)
        } else if key == keys::TLS_SKIP_VERIFY {
            // Asking to keep verification on changes nothing.
            (value::bool(value.trim()) != Some(false)).then_some(WarningKind::NodeTrustSetting)
        } else if key == keys::CONFIGMAP {
            Some(WarningKind::AgentConfigMap)
        } else if key == keys::EXTRA_SECRET {
            Some(WarningKind::ExtraSecret)
        } else if key == keys::PROXY_ADDRESS {
            Some(WarningKind::ProxyAddress)
        } else {
            keys::REFINING
                .iter()
                .find_map(|p| key.strip_prefix(p))
                .filter(|raw| !names.contains_key(raw))
                .map(|raw| WarningKind::UnknownSecretName {
                    name: raw.to_owned(),
                })
        };
        if let Some(kind) = kind {
            warnings.push(PlanWarning::new(key, kind));
        }
    }
    warnings
}

/// Keys the driver ignores without a Warning event, for admission and
/// `render`: those of the agent containers, those not served that nothing in
/// `warned` covers, and keys the injector does not know.
pub(super) fn notices(ann: &Annotations<'_>, warned: &[PlanWarning]) -> Vec<PlanWarning> {
    let mut notices = Vec::new();
    for (key, value) in ann.present() {
        if warned.iter().any(|w| w.annotation == key) {
            continue;
        }
        let suffix = key.strip_prefix(VAULT_PREFIX).unwrap_or(key);
        let kind = match catalog::lookup(suffix) {
            None => WarningKind::UnknownAnnotation,
            Some(entry) => match entry.answer {
                Answer::Served => continue,
                // Its NAME's volume warns about it, with the file's context.
                Answer::Differs { .. } if entry.key == COMMAND_KEY => continue,
                Answer::Differs { why, when } if when.matches(value) => {
                    WarningKind::NotServed { why }
                }
                // Asking for what the driver does anyway, e.g. checking certificates.
                Answer::Differs {
                    when: When::NotFalse,
                    ..
                } => continue,
                Answer::Differs { .. } | Answer::AgentOnly => WarningKind::AgentContainerOnly,
            },
        };
        notices.push(PlanWarning::new(key, kind));
    }
    notices
}

/// The text of a file of the `agent-configmap` at `path` in the agent
/// container: `/vault/configs/<key>` is the ConfigMap's `key`.
pub(super) fn configmap_file<'c>(cm: &'c AgentConfigMap, path: &str) -> Result<&'c str, String> {
    let cleaned = path::clean(path);
    let key = cleaned
        .strip_prefix(CONFIGMAP_MOUNT_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|key| !key.is_empty() && !key.contains('/'));
    let Some(key) = key else {
        return Err(format!(
            "{:?} is not a file of the agent-configmap {:?}, which the injector mounts at {CONFIGMAP_MOUNT_PATH}: the CSI driver reads template files only from there",
            Echo::new(path).as_str(),
            cm.name
        ));
    };
    cm.data.get(key).map(String::as_str).ok_or_else(|| {
        format!(
            "ConfigMap {:?} has no key {key:?} (the file {cleaned})",
            cm.name
        )
    })
}

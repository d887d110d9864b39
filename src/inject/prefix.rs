//! The two spellings of the injector's keys: HashiCorp's and OpenBao's.
//!
//! openbao-k8s reads the same keys as vault-k8s under its own prefix. Both
//! are served alike; inside this module tree every key is spelled with
//! [`VAULT_PREFIX`] and renamed to what the Pod wrote only in messages.

use std::collections::BTreeMap;

/// The Vault Agent Injector's prefix; the constants in `keys` use it.
pub const VAULT_PREFIX: &str = "vault.hashicorp.com/";
/// OpenBao's injector (openbao-k8s) prefix for the same keys.
pub const OPENBAO_PREFIX: &str = "openbao.openbao.org/";
/// Every prefix served, the canonical one first.
pub const PREFIXES: [&str; 2] = [VAULT_PREFIX, OPENBAO_PREFIX];

/// The served prefix `key` starts with, and the rest of the key.
pub fn split(key: &str) -> Option<(&'static str, &str)> {
    PREFIXES
        .iter()
        .find_map(|p| key.strip_prefix(p).map(|suffix| (*p, suffix)))
}

/// `key` (any served prefix) spelled with `prefix` instead.
pub(super) fn respell(key: &str, prefix: &str) -> String {
    match split(key) {
        Some((_, suffix)) => format!("{prefix}{suffix}"),
        None => key.to_owned(),
    }
}

/// The non-blank value of the key `suffix` (e.g. `agent-inject-status`) under
/// any served prefix, with the key as written. When both prefixes carry it,
/// the canonical one is returned; planning refuses such a Pod anyway.
pub fn lookup<'a>(
    annotations: &'a BTreeMap<String, String>,
    suffix: &str,
) -> Option<(&'a str, &'a str)> {
    PREFIXES.iter().find_map(|p| {
        annotations
            .get_key_value(&format!("{p}{suffix}"))
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    })
}

/// The prefix a Pod selects injection with (that of its `agent-inject`),
/// where the webhook writes `agent-inject-status`; the canonical one when
/// neither is set.
pub fn selecting(annotations: &BTreeMap<String, String>) -> &'static str {
    lookup(annotations, "agent-inject")
        .and_then(|(key, _)| split(key))
        .map_or(VAULT_PREFIX, |(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn split_knows_both_prefixes_and_nothing_else() {
        assert_eq!(
            split("vault.hashicorp.com/role"),
            Some((VAULT_PREFIX, "role"))
        );
        assert_eq!(
            split("openbao.openbao.org/role"),
            Some((OPENBAO_PREFIX, "role"))
        );
        assert_eq!(split("example.com/role"), None);
    }

    #[test]
    fn lookup_skips_blank_values_and_names_the_key_as_written() {
        let a = map(&[
            ("vault.hashicorp.com/agent-inject-status", " "),
            ("openbao.openbao.org/agent-inject-status", "injected"),
        ]);
        assert_eq!(
            lookup(&a, "agent-inject-status"),
            Some(("openbao.openbao.org/agent-inject-status", "injected"))
        );
        assert_eq!(lookup(&a, "role"), None);
    }

    #[test]
    fn the_selecting_prefix_is_that_of_agent_inject() {
        let bao = map(&[("openbao.openbao.org/agent-inject", "true")]);
        assert_eq!(selecting(&bao), OPENBAO_PREFIX);
        assert_eq!(selecting(&BTreeMap::new()), VAULT_PREFIX);
    }
}

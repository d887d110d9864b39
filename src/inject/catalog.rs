//! Every key of the injector (vault-k8s `agent-inject/agent/annotations.go`)
//! and what the driver does with it. docs/annotations.md lists the same keys;
//! a test keeps the two equal.

/// What the driver does with one injector key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Served as the injector serves it (some values may be refused).
    Served,
    /// Not served, and a Pod may notice: ignored with a warning, and
    /// `check` reports the Pod as `differs` when the value is one that
    /// matters.
    Differs {
        /// Why the driver cannot do what the key asks.
        why: &'static str,
        /// Which values matter.
        when: When,
    },
    /// Only shapes the injector's agent containers, which the driver
    /// replaces: ignored with a warning, files are the same.
    AgentOnly,
}

/// Which values of a [`Answer::Differs`] key change what the Pod gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Any value.
    Always,
    /// A true Go boolean.
    True,
    /// Anything but a false Go boolean.
    NotFalse,
}

impl When {
    /// Whether `value` (trimmed, non-blank) is one that matters.
    pub fn matches(self, value: &str) -> bool {
        match self {
            When::Always => true,
            When::True => super::value::bool(value.trim()) == Some(true),
            When::NotFalse => super::value::bool(value.trim()) != Some(false),
        }
    }
}

/// One injector key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key after its prefix, as docs/annotations.md spells it: per-secret
    /// keys end in `-NAME`, open families (any suffix) in `-*`.
    pub key: &'static str,
    /// What the driver does with it.
    pub answer: Answer,
}

const fn served(key: &'static str) -> Key {
    Key {
        key,
        answer: Answer::Served,
    }
}

const fn agent_only(key: &'static str) -> Key {
    Key {
        key,
        answer: Answer::AgentOnly,
    }
}

const fn differs(key: &'static str, when: When, why: &'static str) -> Key {
    Key {
        key,
        answer: Answer::Differs { why, when },
    }
}

const TRUST: &str =
    "it names files of the agent container; trust in Vault is the node's setting, never a Pod's";

/// Every key the injector knows, with the driver's answer.
pub const KEYS: &[Key] = &[
    // Selection and identity.
    served("agent-inject"),
    served("agent-inject-status"),
    served("agent-inject-containers"),
    served("role"),
    served("auth-config-role"),
    served("auth-type"),
    served("auth-path"),
    served("namespace"),
    served("service"),
    // Files.
    served("agent-inject-secret-NAME"),
    served("agent-inject-template-NAME"),
    served("agent-inject-template-file-NAME"),
    served("agent-configmap"),
    served("agent-inject-default-template"),
    served("agent-inject-file-NAME"),
    served("agent-inject-perms-NAME"),
    served("agent-template-left-delim-NAME"),
    served("agent-template-right-delim-NAME"),
    served("error-on-missing-key-NAME"),
    served("preserve-secret-case"),
    served("preserve-secret-case-NAME"),
    served("agent-inject-token"),
    served("secret-volume-path"),
    served("secret-volume-path-NAME"),
    served("agent-run-as-user"),
    served("agent-run-as-group"),
    served("agent-run-as-same-user"),
    served("agent-set-security-context"),
    // Refresh and the Vault client.
    served("agent-pre-populate-only"),
    served("agent-revoke-on-shutdown"),
    served("template-static-secret-render-interval"),
    served("template-lease-renewal-threshold"),
    served("template-config-exit-on-retry-failure"),
    served("auth-min-backoff"),
    served("auth-max-backoff"),
    served("client-max-retries"),
    served("client-timeout"),
    // Not served, and the Pod may notice.
    differs(
        "agent-inject-command-NAME",
        When::Always,
        "no process runs beside the app to run a command",
    ),
    differs("ca-cert", When::Always, TRUST),
    differs("ca-key", When::Always, TRUST),
    differs("client-cert", When::Always, TRUST),
    differs("client-key", When::Always, TRUST),
    differs(
        "tls-secret",
        When::Always,
        "it mounts a Secret into the agent container; trust in Vault is the node's setting, never a Pod's",
    ),
    differs(
        "tls-server-name",
        When::Always,
        "trust in Vault is the node's setting, never a Pod's",
    ),
    differs(
        "tls-skip-verify",
        When::NotFalse,
        "a Pod cannot turn off the node's certificate checks",
    ),
    differs(
        "agent-extra-secret",
        When::Always,
        "it mounts a Secret into the agent container",
    ),
    differs(
        "proxy-address",
        When::Always,
        "the node decides how Vault is reached",
    ),
    differs(
        "agent-cache-enable",
        When::True,
        "there is no agent listening in the Pod, so the app cannot use its cache or proxy at localhost",
    ),
    differs(
        "agent-enable-quit",
        When::True,
        "there is no agent in the Pod whose quit endpoint the app could call",
    ),
    differs(
        "agent-share-process-namespace",
        When::True,
        "the injector sets shareProcessNamespace on the Pod; the driver's webhook does not",
    ),
    differs(
        "agent-service-account-token-volume-name",
        When::Always,
        "the injector logs in with the token in that volume; the driver logs in with a token kubelet issues for the audience vault, so check the role's audience",
    ),
    // Only the agent containers.
    agent_only("agent-image"),
    agent_only("agent-init-first"),
    agent_only("agent-pre-populate"),
    agent_only("agent-request-namespace"),
    agent_only("agent-limits-cpu"),
    agent_only("agent-limits-mem"),
    agent_only("agent-limits-ephemeral"),
    agent_only("agent-requests-cpu"),
    agent_only("agent-requests-mem"),
    agent_only("agent-requests-ephemeral"),
    agent_only("agent-cache-use-auto-auth-token"),
    agent_only("agent-cache-listener-port"),
    agent_only("agent-cache-exit-on-err"),
    agent_only("agent-copy-volume-mounts"),
    agent_only("agent-json-patch"),
    agent_only("agent-init-json-patch"),
    agent_only("agent-revoke-grace"),
    agent_only("agent-disable-idle-connections"),
    agent_only("agent-disable-keep-alives"),
    agent_only("agent-auto-auth-exit-on-err"),
    agent_only("agent-telemetry-*"),
    agent_only("auth-config-*"),
    agent_only("log-level"),
    agent_only("log-format"),
    agent_only("go-max-procs"),
    agent_only("template-max-connections-per-host"),
];

/// The catalog entry for a key given without its prefix (`role`,
/// `agent-inject-file-db`): an exact key first, then the longest family
/// whose stem it extends with a non-empty rest.
pub fn lookup(suffix: &str) -> Option<&'static Key> {
    if let Some(exact) = KEYS.iter().find(|k| k.key == suffix) {
        return Some(exact);
    }
    KEYS.iter()
        .filter_map(|k| {
            let stem = k
                .key
                .strip_suffix("NAME")
                .or_else(|| k.key.strip_suffix('*'))?;
            suffix
                .strip_prefix(stem)
                .filter(|rest| !rest.is_empty())
                .map(|_| (stem.len(), k))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_keys_win_over_families() {
        assert_eq!(lookup("auth-config-role").unwrap().answer, Answer::Served);
        assert_eq!(
            lookup("auth-config-role-id-file-path").unwrap().key,
            "auth-config-*"
        );
        assert_eq!(lookup("agent-inject").unwrap().key, "agent-inject");
        assert_eq!(
            lookup("preserve-secret-case").unwrap().key,
            "preserve-secret-case"
        );
    }

    #[test]
    fn the_longest_family_wins() {
        assert_eq!(
            lookup("agent-inject-template-file-db").unwrap().key,
            "agent-inject-template-file-NAME"
        );
        assert_eq!(
            lookup("agent-inject-template-db").unwrap().key,
            "agent-inject-template-NAME"
        );
        assert_eq!(
            lookup("secret-volume-path-db").unwrap().key,
            "secret-volume-path-NAME"
        );
    }

    #[test]
    fn unknown_keys_and_bare_family_stems_are_not_found() {
        assert_eq!(lookup("agent-inject-secrets-db"), None);
        assert_eq!(lookup("agent-telemetry-"), None);
        assert_eq!(lookup("rolle"), None);
    }

    #[test]
    fn every_key_is_listed_once() {
        let mut keys: Vec<&str> = KEYS.iter().map(|k| k.key).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(before, keys.len());
    }

    /// The rows of the table under `## Every key` in docs/annotations.md:
    /// each key with its answer.
    fn documented() -> Vec<(&'static str, &'static str)> {
        let doc = include_str!("../../docs/annotations.md");
        let section = doc
            .split("\n## Every key\n")
            .nth(1)
            .expect("docs/annotations.md has a section `## Every key`");
        let section = section.split("\n## ").next().unwrap_or(section);
        section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split_once("` | "))
            .map(|(key, answer)| (key, answer.trim_end_matches(" |")))
            .collect()
    }

    #[test]
    fn the_docs_list_exactly_the_keys_of_the_catalog() {
        let listed: std::collections::BTreeSet<&str> =
            documented().iter().map(|(k, _)| *k).collect();
        let known: std::collections::BTreeSet<&str> = KEYS.iter().map(|k| k.key).collect();
        assert_eq!(
            listed.difference(&known).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "documented, unknown to the code"
        );
        assert_eq!(
            known.difference(&listed).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "known to the code, not documented"
        );
        assert_eq!(documented().len(), KEYS.len(), "each key once");
    }

    #[test]
    fn the_docs_give_each_key_the_answer_of_the_catalog() {
        for (key, answer) in documented() {
            let entry = lookup(key).unwrap_or_else(|| panic!("{key}"));
            let agrees = match entry.answer {
                Answer::Served => answer.starts_with("served"),
                Answer::AgentOnly => answer.starts_with("ignored, notice: agent containers only"),
                Answer::Differs { .. } => {
                    answer.starts_with("ignored, ")
                        && !answer.starts_with("ignored, notice: agent containers only")
                }
            };
            assert!(
                agrees,
                "{key}: docs say {answer:?}, the code {:?}",
                entry.answer
            );
        }
    }

    #[test]
    fn which_values_matter() {
        assert!(When::True.matches("true") && !When::True.matches("false"));
        assert!(!When::True.matches("yes"));
        assert!(When::NotFalse.matches("yes") && !When::NotFalse.matches("0"));
        assert!(When::Always.matches("anything"));
    }
}

//! Why a Pod's annotations cannot be turned into a plan.
//!
//! Messages end up in the Pod's FailedMount event, so each names the annotation
//! (or volume) at fault and says what would be accepted. Values are echoed only
//! for scalar keys (booleans, numbers, modes, durations, names, paths), shortened;
//! template text and anything like it is never echoed.

use std::fmt;
use std::time::Duration;

use super::path::PathProblem;

/// How the caller should report a [`PlanError`] (see SPEC section 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The Pod is not one the driver serves (gRPC `FailedPrecondition`).
    FailedPrecondition,
    /// The Pod asks for something invalid (gRPC `InvalidArgument`).
    InvalidArgument,
}

/// Why a Pod is not selected for injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotInjectedReason {
    /// `agent-inject` is absent or blank.
    Missing,
    /// `agent-inject` is a false boolean.
    Disabled,
}

impl fmt::Display for NotInjectedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotInjectedReason::Missing => "missing",
            NotInjectedReason::Disabled => "false",
        })
    }
}

/// An annotation value as shown in a message: quoted, escaped and cut short.
#[derive(Clone, PartialEq, Eq)]
pub struct Echo(String);

impl Echo {
    /// Longest prefix (in characters) kept in a message.
    const MAX_CHARS: usize = 64;

    /// Keeps at most the first 64 characters of `value`.
    pub fn new(value: &str) -> Echo {
        match value.char_indices().nth(Self::MAX_CHARS) {
            Some((cut, _)) => Echo(format!("{}...", &value[..cut])),
            None => Echo(value.to_owned()),
        }
    }

    /// The shortened value, without quotes.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Echo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl fmt::Debug for Echo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Everything that can be wrong with a Pod's injector annotations for one volume.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The Pod does not ask for injection.
    #[error(
        "the Pod is not selected for Vault injection: annotation {key} is {reason}; set it to \"true\" to use this volume"
    )]
    NotInjected {
        /// Absent or false.
        reason: NotInjectedReason,
        /// The `agent-inject` annotation, as the Pod spells it.
        key: String,
    },

    /// One key is set under both served prefixes.
    #[error(
        "{vault_key} and {openbao_key} are both set: the Vault and OpenBao spellings of one annotation; keep one of them"
    )]
    PrefixConflict {
        /// The key with the `vault.hashicorp.com/` prefix.
        vault_key: String,
        /// The same key with the `openbao.openbao.org/` prefix.
        openbao_key: String,
    },

    /// A boolean key holds something Go's `ParseBool` refuses.
    #[error("{key}: {value} is not a boolean (use true or false)")]
    InvalidBool {
        /// The annotation.
        key: String,
        /// Its value.
        value: Echo,
    },

    /// A numeric key holds something out of range or not a number.
    #[error("{key}: {value} is not {expected}")]
    InvalidNumber {
        /// The annotation.
        key: String,
        /// Its value.
        value: Echo,
        /// What would be accepted.
        expected: &'static str,
    },

    /// A duration key holds something that is not an accepted duration.
    #[error("{key}: {value} is not {expected}")]
    InvalidDuration {
        /// The annotation.
        key: String,
        /// Its value.
        value: Echo,
        /// What would be accepted.
        expected: &'static str,
    },

    /// `auth-min-backoff` is longer than `auth-max-backoff`.
    #[error("{min_source} ({min:?}) is longer than {max_source} ({max:?})")]
    BackoffOrder {
        /// Effective minimum.
        min: Duration,
        /// Effective maximum.
        max: Duration,
        /// Where the minimum comes from: the annotation or the cluster setting.
        min_source: String,
        /// Where the maximum comes from: the annotation or the cluster setting.
        max_source: String,
    },

    /// A perms key is not a 12-bit octal mode.
    #[error("{key}: {value} is not an octal file mode like 0644 (at most 7777)")]
    InvalidPerms {
        /// The annotation.
        key: String,
        /// Its value.
        value: Echo,
    },

    /// `auth-type` names a method the driver does not implement.
    #[error("{key}: auth type {value} is not supported; use kubernetes or jwt")]
    UnknownAuthType {
        /// The annotation.
        key: String,
        /// Its value.
        value: Echo,
    },

    /// `agent-inject-default-template` is neither `map` nor `json`.
    #[error("{key}: default template {value} is unknown; use map or json")]
    UnknownDefaultTemplate {
        /// The annotation.
        key: String,
        /// Its value.
        value: Echo,
    },

    /// No role to log in with.
    #[error("no Vault role: set annotation vault.hashicorp.com/role")]
    MissingRole,

    /// An auth mount path or Vault namespace that cannot be used in a URL.
    #[error("{key}: {value} {reason}")]
    InvalidVaultPath {
        /// The annotation.
        key: String,
        /// Its value.
        value: Echo,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A secret NAME (the part of a key after its prefix) with characters
    /// outside letters, digits, `.`, `_`, `-`, or that is `.` or `..`.
    #[error(
        "{key}: the secret name after the prefix must be letters, digits, '.', '_' or '-', and not '.' or '..'"
    )]
    InvalidName {
        /// The annotation whose key holds the NAME.
        key: String,
    },

    /// The file a secret would be written to is not a safe path inside the volume.
    #[error("{key}: file name {value} {problem}")]
    InvalidFilePath {
        /// The annotation the name comes from (`agent-inject-file-NAME`, or
        /// the key defining NAME when the file is named after it).
        key: String,
        /// The name as written.
        value: Echo,
        /// What is wrong with it.
        problem: PathProblem,
    },

    /// A Vault path that the default template cannot quote.
    #[error(
        "{key}: the Vault path contains a double quote, a backslash or a control character, which the default template cannot carry"
    )]
    InvalidSecretPath {
        /// The `agent-inject-secret-NAME` annotation.
        key: String,
    },

    /// Two outputs of one volume need the same path, or one needs the other as
    /// a directory.
    #[error(
        "files collide in volume: {first_key} writes {first_path} and {second_key} writes {second_path}"
    )]
    FileConflict {
        /// Annotation behind the first file.
        first_key: String,
        /// First file.
        first_path: String,
        /// Annotation behind the second file.
        second_key: String,
        /// Second file.
        second_path: String,
    },

    /// `agent-run-as-same-user` cannot find a usable user id.
    #[error("{source_key} is true but {problem}")]
    RunAsSameUser {
        /// What is missing or wrong.
        problem: String,
        /// Where the setting comes from: the annotation or the cluster setting.
        source_key: String,
    },

    /// The Pod has no CSI volume of this name (for this driver).
    #[error("the Pod has no CSI volume named {volume:?} for this driver")]
    VolumeNotInPod {
        /// Volume name from the target path.
        volume: String,
    },

    /// Several secret paths are in use and no container mounts this volume,
    /// so nothing says which secrets it holds.
    #[error(
        "volume {volume:?} is mounted in no container, so the driver cannot tell which secrets it holds: the Pod uses several secret-volume-path values ({})",
        .paths_in_use.join(", ")
    )]
    VolumeNotMounted {
        /// Volume name.
        volume: String,
        /// The distinct secret-volume-path values in use.
        paths_in_use: Vec<String>,
    },

    /// Several secret paths are in use and this volume is mounted at more than
    /// one path, so the choice of secrets is ambiguous.
    #[error(
        "volume {volume:?} is mounted at several paths ({}); when the Pod uses several secret-volume-path values ({}), mount each volume at one of them",
        .mount_paths.join(", "), .paths_in_use.join(", ")
    )]
    VolumeMountedAtSeveralPaths {
        /// Volume name.
        volume: String,
        /// Its distinct mount paths.
        mount_paths: Vec<String>,
        /// The distinct secret-volume-path values in use.
        paths_in_use: Vec<String>,
    },

    /// The `agent-configmap` lacks the agent config the Pod needs.
    #[error(
        "vault.hashicorp.com/agent-configmap: ConfigMap {configmap:?} has no key {key:?}, which {why}"
    )]
    ConfigKeyMissing {
        /// The ConfigMap's name.
        configmap: String,
        /// `config.hcl` or `config-init.hcl`.
        key: &'static str,
        /// Which agent of the injector would read it.
        why: &'static str,
    },

    /// The agent config is not valid HCL.
    #[error(
        "vault.hashicorp.com/agent-configmap: ConfigMap {configmap:?} key {key}: HCL syntax error at line {line}, column {column}: {message}"
    )]
    ConfigSyntax {
        /// The ConfigMap's name.
        configmap: String,
        /// The key holding the config.
        key: &'static str,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },

    /// A stanza of the agent config cannot be served as written.
    #[error(
        "vault.hashicorp.com/agent-configmap: ConfigMap {configmap:?} key {key}, {stanza}: {problem}"
    )]
    ConfigStanza {
        /// The ConfigMap's name.
        configmap: String,
        /// The key holding the config.
        key: &'static str,
        /// The stanza, e.g. `template stanza 2 (destination "/etc/x")`.
        stanza: String,
        /// What is wrong.
        problem: String,
    },

    /// `agent-inject-template-file-NAME` names no file of the `agent-configmap`.
    #[error("{key}: {problem}")]
    TemplateFile {
        /// The annotation.
        key: String,
        /// What is wrong.
        problem: String,
    },

    /// Nothing would be written to this volume.
    #[error("{}", empty_message(.volume, .mount_path.as_deref(), .paths_in_use))]
    EmptyVolume {
        /// Volume name.
        volume: String,
        /// Where it is mounted, when several paths are in use.
        mount_path: Option<String>,
        /// The distinct secret-volume-path values in use.
        paths_in_use: Vec<String>,
    },
}

fn empty_message(volume: &str, mount_path: Option<&str>, paths_in_use: &[String]) -> String {
    match mount_path {
        None => format!(
            "volume {volume:?} would be empty: the Pod has no vault.hashicorp.com/agent-inject-secret-NAME or agent-inject-template-NAME annotation the driver can render (agent-inject-template-file-NAME is not supported), and agent-inject-token is not true"
        ),
        Some(mount) => format!(
            "volume {volume:?} mounted at {mount} would be empty: no secret has secret-volume-path {mount} (paths in use: {}), and the token file goes to the global secret-volume-path",
            paths_in_use.join(", ")
        ),
    }
}

impl PlanError {
    /// The injector key at fault, as docs/annotations.md lists it (without
    /// prefix, per-secret keys ending in `-NAME`): a label of bounded
    /// cardinality for metrics.
    pub fn metric_key(&self) -> &'static str {
        use PlanError::*;
        let key = match self {
            NotInjected { key, .. }
            | InvalidBool { key, .. }
            | InvalidNumber { key, .. }
            | InvalidDuration { key, .. }
            | InvalidPerms { key, .. }
            | UnknownAuthType { key, .. }
            | UnknownDefaultTemplate { key, .. }
            | InvalidVaultPath { key, .. }
            | InvalidName { key }
            | InvalidFilePath { key, .. }
            | InvalidSecretPath { key }
            | TemplateFile { key, .. } => key.as_str(),
            BackoffOrder { min_source, .. } => min_source.as_str(),
            FileConflict { first_key, .. } => first_key.as_str(),
            RunAsSameUser { source_key, .. } => source_key.as_str(),
            PrefixConflict { vault_key, .. } => vault_key.as_str(),
            MissingRole => return "role",
            ConfigKeyMissing { .. } | ConfigSyntax { .. } | ConfigStanza { .. } => {
                return "agent-configmap";
            }
            VolumeNotInPod { .. }
            | VolumeNotMounted { .. }
            | VolumeMountedAtSeveralPaths { .. }
            | EmptyVolume { .. } => return "secret-volume-path",
        };
        super::prefix::split(key)
            .and_then(|(_, suffix)| super::catalog::lookup(suffix))
            .map_or("other", |entry| entry.key)
    }

    /// The error with every annotation key it names passed through `name`
    /// (from the canonical spelling to the Pod's).
    pub(super) fn renamed(self, name: impl Fn(&str) -> String) -> PlanError {
        use PlanError::*;
        match self {
            NotInjected { reason, key } => NotInjected {
                reason,
                key: name(&key),
            },
            InvalidBool { key, value } => InvalidBool {
                key: name(&key),
                value,
            },
            InvalidNumber {
                key,
                value,
                expected,
            } => InvalidNumber {
                key: name(&key),
                value,
                expected,
            },
            InvalidDuration {
                key,
                value,
                expected,
            } => InvalidDuration {
                key: name(&key),
                value,
                expected,
            },
            BackoffOrder {
                min,
                max,
                min_source,
                max_source,
            } => BackoffOrder {
                min,
                max,
                min_source: name(&min_source),
                max_source: name(&max_source),
            },
            InvalidPerms { key, value } => InvalidPerms {
                key: name(&key),
                value,
            },
            UnknownAuthType { key, value } => UnknownAuthType {
                key: name(&key),
                value,
            },
            UnknownDefaultTemplate { key, value } => UnknownDefaultTemplate {
                key: name(&key),
                value,
            },
            InvalidVaultPath { key, value, reason } => InvalidVaultPath {
                key: name(&key),
                value,
                reason,
            },
            InvalidName { key } => InvalidName { key: name(&key) },
            InvalidFilePath {
                key,
                value,
                problem,
            } => InvalidFilePath {
                key: name(&key),
                value,
                problem,
            },
            InvalidSecretPath { key } => InvalidSecretPath { key: name(&key) },
            FileConflict {
                first_key,
                first_path,
                second_key,
                second_path,
            } => FileConflict {
                first_key: name(&first_key),
                first_path,
                second_key: name(&second_key),
                second_path,
            },
            RunAsSameUser {
                problem,
                source_key,
            } => RunAsSameUser {
                problem,
                source_key: name(&source_key),
            },
            TemplateFile { key, problem } => TemplateFile {
                key: name(&key),
                problem,
            },
            other @ (PrefixConflict { .. }
            | ConfigKeyMissing { .. }
            | ConfigSyntax { .. }
            | ConfigStanza { .. }
            | MissingRole
            | VolumeNotInPod { .. }
            | VolumeNotMounted { .. }
            | VolumeMountedAtSeveralPaths { .. }
            | EmptyVolume { .. }) => other,
        }
    }

    /// Which gRPC status family the error belongs to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PlanError::NotInjected { .. } => ErrorKind::FailedPrecondition,
            _ => ErrorKind::InvalidArgument,
        }
    }
}

//! Annotations the driver accepts but cannot honour; each becomes a Warning
//! event on the Pod, so the messages are written for `kubectl describe pod`.

use std::fmt;

/// One annotation that is ignored, or only partly honoured, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanWarning {
    /// The annotation key the warning is about.
    pub annotation: String,
    /// What is ignored.
    pub kind: WarningKind,
}

/// The reasons an annotation is not (fully) honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningKind {
    /// `agent-inject-command-NAME`: no process runs in the Pod; the file is
    /// still written.
    CommandNotRun,
    /// `agent-inject-template-file-NAME` without an inline template: the file
    /// would be inside the agent container; NAME is not written.
    TemplateFileNotRead {
        /// The skipped NAME, as written in its keys.
        name: String,
    },
    /// A per-Pod TLS key: trust is a node setting.
    NodeTrustSetting,
    /// `agent-configmap` where the ConfigMap is not read (admission, a
    /// `render` without `--configmap`): what it holds is checked at mount.
    AgentConfigMap,
    /// A stanza or setting of the `agent-configmap`'s agent config that the
    /// driver does not serve.
    AgentConfigUnserved {
        /// The ConfigMap's name.
        configmap: String,
        /// The key holding the config.
        key: &'static str,
        /// The stanza or setting.
        stanza: String,
        /// Why, as the end of a sentence.
        why: &'static str,
    },
    /// A per-secret annotation, which the `agent-configmap`'s agent config
    /// replaces, as it does under the injector.
    ReplacedByAgentConfig {
        /// The ConfigMap's name.
        configmap: String,
        /// The key holding the config.
        key: &'static str,
    },
    /// `agent-extra-secret`: it mounts files into the agent container.
    ExtraSecret,
    /// `proxy-address`: the node decides how Vault is reached.
    ProxyAddress,
    /// Custom delimiters on a secret that uses the default template: the agent
    /// parses `{{ }}` as text then, and so does the driver.
    DelimitersWithDefaultTemplate {
        /// The NAME, as written in its keys.
        name: String,
    },
    /// A per-secret key whose NAME no `agent-inject-secret-` or
    /// `agent-inject-template-` key defines.
    UnknownSecretName {
        /// The NAME as written in the key.
        name: String,
    },
    /// Secrets live at a secret-volume-path where no volume of this driver is
    /// mounted, so they are written nowhere.
    SecretsNotPlaced {
        /// The path.
        path: String,
    },
    /// The token file belongs at the global secret-volume-path, where no
    /// volume of this driver is mounted.
    TokenNotPlaced {
        /// The path.
        path: String,
    },
    /// A key that only configures the injector's agent containers.
    AgentContainerOnly,
    /// A key the driver does not serve, which the Pod may notice.
    NotServed {
        /// Why it cannot be served.
        why: &'static str,
    },
    /// A key under an injector prefix that the injector does not know.
    UnknownAnnotation,
}

impl PlanWarning {
    pub(super) fn new(annotation: impl Into<String>, kind: WarningKind) -> PlanWarning {
        PlanWarning {
            annotation: annotation.into(),
            kind,
        }
    }
}

impl fmt::Display for PlanWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.annotation;
        // Keys suggested in a message are spelled like the key it is about.
        let prefix = super::prefix::split(key).map_or(super::prefix::VAULT_PREFIX, |(p, _)| p);
        match &self.kind {
            WarningKind::CommandNotRun => write!(
                f,
                "{key} is ignored: a command cannot run in the app container, as no agent runs beside it; the file is still written and refreshed, so to act on a change watch the volume's .vault-csi-version file (it changes with every new set of files) or have a restart controller roll the workload"
            ),
            WarningKind::TemplateFileNotRead { name } => write!(
                f,
                "{key} is ignored and secret {name:?} is not written: the template file would be inside an agent container, which the CSI driver does not run; put the template in {prefix}agent-inject-template-{name} instead"
            ),
            WarningKind::NodeTrustSetting => write!(
                f,
                "{key} is ignored: TLS trust for Vault is configured on the node for the CSI driver, not per Pod"
            ),
            WarningKind::AgentConfigMap => write!(
                f,
                "{key}: the agent config in this ConfigMap is read when the volume is mounted; this check did not read it"
            ),
            WarningKind::AgentConfigUnserved {
                configmap,
                key: config_key,
                stanza,
                why,
            } => write!(
                f,
                "{key}: ConfigMap {configmap:?} key {config_key}: {stanza} {why}"
            ),
            WarningKind::ReplacedByAgentConfig {
                configmap,
                key: config_key,
            } => write!(
                f,
                "{key} is ignored: the agent config in ConfigMap {configmap:?} ({config_key}) replaces the config generated from the annotations, as it does under the injector"
            ),
            WarningKind::ExtraSecret => write!(
                f,
                "{key} is ignored: it mounts files into an agent container, which the CSI driver does not run"
            ),
            WarningKind::ProxyAddress => write!(
                f,
                "{key} is ignored: the CSI driver reaches Vault with the node's network settings"
            ),
            WarningKind::DelimitersWithDefaultTemplate { name } => write!(
                f,
                "{key} applies to the default template of secret {name:?}, which is written with {{{{ and }}}}: the file will contain that template text unrendered, as the agent would write it; set {prefix}agent-inject-template-{name} or remove the delimiter"
            ),
            WarningKind::UnknownSecretName { name } => write!(
                f,
                "{key} is ignored: no {prefix}agent-inject-secret-{name} or agent-inject-template-{name} annotation defines a secret named {name:?}"
            ),
            WarningKind::SecretsNotPlaced { path } => write!(
                f,
                "{key}: no volume of the CSI driver is mounted at {path}, so the secrets for that path are not written"
            ),
            WarningKind::TokenNotPlaced { path } => write!(
                f,
                "{key}: the token file belongs at the global secret-volume-path {path}, where no volume of the CSI driver is mounted, so it is not written"
            ),
            WarningKind::AgentContainerOnly => write!(
                f,
                "{key} is ignored: it only configures the injector's agent containers, which the CSI driver replaces"
            ),
            WarningKind::NotServed { why } => write!(f, "{key} is ignored: {why}"),
            WarningKind::UnknownAnnotation => write!(
                f,
                "{key} is ignored: neither the Vault Agent Injector nor OpenBao's knows this annotation; check its spelling"
            ),
        }
    }
}

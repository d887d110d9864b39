//! `vault-csi-driver render`: a Pod manifest in, the volume's files out.

mod support;

use std::process::Command;

use serde_json::json;
use support::fixture;
use support::pods::{TestPod, kv1_secret};

fn render(args: &[&str]) -> std::process::Output {
    let fx = fixture();
    Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"))
        .arg("render")
        .args(["--vault-addr", &fx.bao.addr()])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_pod_manifest_and_its_jwt_render_the_files_it_would_get() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"user": "bob"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    let dir = tempfile::tempdir().unwrap();
    let manifest = support::pods::pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", &pod.role),
            ("agent-inject-secret-creds", &path),
            ("agent-inject-file-creds", "app/creds.txt"),
        ],
    );
    // A YAML manifest, as users keep them.
    let yaml = serde_yaml_ng::to_string(&manifest).unwrap();
    std::fs::write(dir.path().join("pod.yaml"), yaml).unwrap();
    std::fs::write(dir.path().join("jwt"), pod.token(fx)).unwrap();
    let out = dir.path().join("out");
    let output = render(&[
        "--pod",
        dir.path().join("pod.yaml").to_str().unwrap(),
        "--jwt-file",
        dir.path().join("jwt").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("app/creds.txt")).unwrap(),
        "user: bob\n"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("app/creds.txt (644"));
}

#[test]
fn a_vault_token_can_stand_in_for_the_login() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let dir = tempfile::tempdir().unwrap();
    let pod = TestPod::kubernetes(fx, &[&path]);
    let manifest = support::pods::pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", "unused"),
            ("agent-inject-secret-s", &path),
        ],
    );
    std::fs::write(dir.path().join("pod.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.path().join("token"), fx.bao.root_token()).unwrap();
    let out = dir.path().join("out");
    let output = render(&[
        "--pod",
        dir.path().join("pod.json").to_str().unwrap(),
        "--vault-token-file",
        dir.path().join("token").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read_to_string(out.join("s")).unwrap(), "k: v\n");
}

#[test]
fn a_bad_annotation_fails_with_a_message_naming_it() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let pod = TestPod::kubernetes(fx, &["nothing/*"]);
    let manifest = support::pods::pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", "r"),
            ("agent-inject-secret-s", "kv/x"),
            ("agent-inject-perms-s", "999"),
        ],
    );
    std::fs::write(dir.path().join("pod.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.path().join("token"), "unused").unwrap();
    let output = render(&[
        "--pod",
        dir.path().join("pod.json").to_str().unwrap(),
        "--vault-token-file",
        dir.path().join("token").to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("agent-inject-perms-s"));
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_file_that_is_not_a_pod_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pod.yaml"), "- just\n- a list\n").unwrap();
    std::fs::write(dir.path().join("token"), "t").unwrap();
    let output = render(&[
        "--pod",
        dir.path().join("pod.yaml").to_str().unwrap(),
        "--vault-token-file",
        dir.path().join("token").to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a Pod manifest"));
}

#[test]
fn an_agent_configmap_is_rendered_from_its_manifest_with_its_warnings() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"user": "cm"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    let dir = tempfile::tempdir().unwrap();
    let manifest = support::pods::pod_json(
        &pod.id,
        &[("agent-inject", "true"), ("agent-configmap", "agent")],
    );
    std::fs::write(dir.path().join("pod.json"), manifest.to_string()).unwrap();
    let config = format!(
        "auto_auth {{\n  method \"kubernetes\" {{\n    config = {{ role = \"{}\" }}\n  }}\n}}\ncache {{}}\ntemplate {{\n  destination = \"/vault/secrets/user\"\n  source = \"/vault/configs/user.tmpl\"\n}}\n",
        pod.role
    );
    let configmap = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "agent", "namespace": pod.id.namespace},
        "data": {
            "config.hcl": config,
            "user.tmpl": format!("{{{{ with secret \"{path}\" }}}}{{{{ .Data.user }}}}{{{{ end }}}}"),
        },
    });
    std::fs::write(
        dir.path().join("cm.yaml"),
        serde_yaml_ng::to_string(&configmap).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("jwt"), pod.token(fx)).unwrap();
    let out = dir.path().join("out");
    let args = |with_configmap: bool| {
        let mut args = vec![
            "--pod".to_string(),
            dir.path().join("pod.json").display().to_string(),
            "--jwt-file".to_string(),
            dir.path().join("jwt").display().to_string(),
            "--out".to_string(),
            out.display().to_string(),
        ];
        if with_configmap {
            args.push("--configmap".into());
            args.push(dir.path().join("cm.yaml").display().to_string());
        }
        args
    };
    let without: Vec<String> = args(false);
    let output = render(&without.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("give its manifest with --configmap"));

    let with: Vec<String> = args(true);
    let output = render(&with.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(std::fs::read_to_string(out.join("user")).unwrap(), "cm");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("warning: vault.hashicorp.com/agent-configmap: ConfigMap \"agent\" key config.hcl: cache needs a running agent"),
        "{stdout}"
    );
}

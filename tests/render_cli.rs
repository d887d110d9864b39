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

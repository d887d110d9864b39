//! Owners and modes as the injector's agent leaves them in its emptyDir, and
//! the proof that matters: an app user reads its secrets on the real tmpfs
//! after a publish through the socket exactly when it could under the
//! injector (`setpriv` drops root and every capability before `cat`).
//!
//! The expectations are the injector's, worked out by hand per case (see
//! docs/security.md): the agent runs as agent-run-as-user:-group (100:1000)
//! while agent-set-security-context is true, else as the Pod's user (root in
//! the agent image); files it writes into the setgid emptyDir of a Pod with
//! fsGroup take the fsGroup.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::driver::Driver;
use support::fixture;
use support::pods::{TestPod, VOLUME, kv1_secret, pod_json};

/// How the app container runs: user, group, and the supplementary groups
/// the runtime gives it (the Pod's fsGroup).
#[derive(Clone, Copy)]
struct App {
    uid: u32,
    gid: u32,
    fs_group: Option<u32>,
}

/// Whether `app` can read `file`, tried as that user without privileges.
fn can_read(app: App, file: &Path) -> bool {
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={}", app.uid))
        .arg(format!("--regid={}", app.gid));
    match app.fs_group {
        Some(group) => command.arg(format!("--groups={group}")),
        None => command.arg("--clear-groups"),
    };
    let output = command
        .args(["--inh-caps=-all", "--", "cat"])
        .arg(file)
        .output()
        .expect("run setpriv");
    output.status.success()
}

/// `(uid, gid, mode)` of what `path` resolves to.
fn owned(path: &Path) -> (u32, u32, u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (meta.uid(), meta.gid(), meta.permissions().mode() & 0o7777)
}

/// Publishes a Pod with `annotations`, the app container running as `app`
/// (`runAsUser`/`runAsGroup` on the container), the Pod-level security
/// context `pod_security`, and returns the volume's target.
async fn publish(
    driver: &Driver,
    app: App,
    pod_security: Value,
    annotations: &[(&str, &str)],
) -> PathBuf {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    let mut all = vec![
        ("agent-inject", "true"),
        ("role", pod.role.as_str()),
        ("agent-inject-secret-s", path.as_str()),
    ];
    all.extend_from_slice(annotations);
    let mut object = pod_json(&pod.id, &all);
    object["spec"]["containers"][0]["securityContext"] =
        json!({"runAsUser": app.uid, "runAsGroup": app.gid});
    object["spec"]["securityContext"] = pod_security;
    fx.kube.put_pod(object);
    pod.publish(driver, VOLUME, &pod.token(fx)).await.unwrap();
    // The test's temporary directory is 0700; a container reaches the mount
    // directly, so let the app users through to it.
    std::fs::set_permissions(driver.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    pod.target(driver, VOLUME)
}

const APP: App = App {
    uid: 1234,
    gid: 4321,
    fs_group: None,
};

#[tokio::test]
async fn by_default_files_are_100_1000_0644_and_any_app_user_reads_them() {
    let driver = Driver::start().await;
    let target = publish(&driver, APP, json!(null), &[]).await;
    assert_eq!(owned(&target.join("s")), (100, 1000, 0o644));
    assert_eq!(owned(&target), (0, 0, 0o755));
    assert!(can_read(APP, &target.join("s")));
}

#[tokio::test]
async fn restrictive_perms_keep_other_users_out_as_under_the_injector() {
    let driver = Driver::start().await;
    let target = publish(
        &driver,
        APP,
        json!(null),
        &[("agent-inject-perms-s", "0400")],
    )
    .await;
    assert_eq!(owned(&target.join("s")), (100, 1000, 0o400));
    assert!(!can_read(APP, &target.join("s")));
    let agent_user = App {
        uid: 100,
        gid: 1000,
        fs_group: None,
    };
    assert!(can_read(agent_user, &target.join("s")));
}

#[tokio::test]
async fn with_fs_group_files_take_the_group_and_group_perms_let_the_app_read() {
    let driver = Driver::start().await;
    let app = App {
        fs_group: Some(2000),
        ..APP
    };
    let target = publish(
        &driver,
        app,
        json!({"fsGroup": 2000}),
        &[
            ("agent-inject-perms-s", "0440"),
            ("agent-inject-secret-nested", "unused"),
            ("agent-inject-template-nested", "n"),
            ("agent-inject-file-nested", "conf/app/n.txt"),
            ("agent-inject-perms-nested", "0440"),
        ],
    )
    .await;
    assert_eq!(owned(&target.join("s")), (100, 2000, 0o440));
    assert_eq!(owned(&target), (0, 2000, 0o2755));
    assert_eq!(owned(&target.join("conf")), (100, 2000, 0o2755));
    assert_eq!(owned(&target.join("conf/app")), (100, 2000, 0o2755));
    assert_eq!(owned(&target.join("conf/app/n.txt")), (100, 2000, 0o440));
    assert!(can_read(app, &target.join("s")));
    assert!(can_read(app, &target.join("conf/app/n.txt")));
    // Without the fsGroup among its groups the same user is kept out.
    assert!(!can_read(APP, &target.join("s")));
}

#[tokio::test]
async fn run_as_same_user_lets_the_app_read_owner_only_files() {
    let driver = Driver::start().await;
    let target = publish(
        &driver,
        APP,
        json!(null),
        &[
            ("agent-run-as-same-user", "true"),
            ("agent-inject-perms-s", "0400"),
        ],
    )
    .await;
    assert_eq!(owned(&target.join("s")), (1234, 1000, 0o400));
    assert!(can_read(APP, &target.join("s")));
    let other = App { uid: 5555, ..APP };
    assert!(!can_read(other, &target.join("s")));
}

#[tokio::test]
async fn run_as_user_and_group_decide_who_reads_group_only_files() {
    let driver = Driver::start().await;
    let target = publish(
        &driver,
        APP,
        json!(null),
        &[
            ("agent-run-as-user", "2000"),
            ("agent-run-as-group", "4321"),
            ("agent-inject-perms-s", "0040"),
        ],
    )
    .await;
    assert_eq!(owned(&target.join("s")), (2000, 4321, 0o040));
    assert!(can_read(APP, &target.join("s")), "same group");
    let other_group = App { gid: 999, ..APP };
    assert!(!can_read(other_group, &target.join("s")));
}

#[tokio::test]
async fn without_a_security_context_the_agent_runs_as_the_pod_user() {
    let driver = Driver::start().await;
    let target = publish(
        &driver,
        APP,
        json!({"runAsUser": 1234, "runAsGroup": 4321}),
        &[
            ("agent-set-security-context", "false"),
            // Not applied to the agent without its security context.
            ("agent-run-as-user", "2000"),
            ("agent-inject-perms-s", "0400"),
        ],
    )
    .await;
    assert_eq!(owned(&target.join("s")), (1234, 4321, 0o400));
    assert!(can_read(APP, &target.join("s")));
}

#[tokio::test]
async fn without_a_security_context_or_pod_user_the_files_are_roots() {
    let driver = Driver::start().await;
    let target = publish(
        &driver,
        APP,
        json!(null),
        &[
            ("agent-set-security-context", "false"),
            ("agent-inject-perms-s", "0600"),
        ],
    )
    .await;
    assert_eq!(owned(&target.join("s")), (0, 0, 0o600));
    assert!(!can_read(APP, &target.join("s")));
}

#[tokio::test]
async fn with_a_security_context_the_pod_user_does_not_matter() {
    let driver = Driver::start().await;
    let target = publish(
        &driver,
        APP,
        json!({"runAsUser": 1234, "runAsGroup": 4321}),
        &[("agent-inject-perms-s", "0400")],
    )
    .await;
    assert_eq!(owned(&target.join("s")), (100, 1000, 0o400));
    assert!(!can_read(APP, &target.join("s")));
}

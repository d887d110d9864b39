//! Logs as log collectors read them, and log settings checked at startup.

mod support;

use std::process::Command;

use support::driver::{Driver, DriverOptions};

#[tokio::test]
async fn json_logs_put_event_fields_at_the_top_level() {
    let driver = Driver::start_with(DriverOptions {
        args: vec!["--log-format".into(), "json".into()],
        env: vec![("RUST_LOG".into(), "info".into())],
        ..Default::default()
    })
    .await;
    let log = driver.log();
    let serving = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|event| event["message"] == "serving metrics and health")
        .unwrap_or_else(|| panic!("no JSON event with a top-level message:\n{log}"));
    assert_eq!(serving["level"], "INFO");
    assert!(
        serving["addr"].is_string(),
        "fields at the top level: {serving}"
    );
    assert!(serving.get("fields").is_none(), "{serving}");
}

#[test]
fn an_invalid_rust_log_stops_startup_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"))
        .args([
            "serve",
            "--node-id",
            "n1",
            "--vault-addr",
            "http://127.0.0.1:1",
        ])
        .arg("--endpoint")
        .arg(format!("unix://{}", dir.path().join("csi.sock").display()))
        .arg("--state-dir")
        .arg(dir.path())
        .args(["--metrics-addr", ""])
        .env("RUST_LOG", "info,vault_csi_driver=loud")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(r#"RUST_LOG="info,vault_csi_driver=loud" is not a valid log filter"#),
        "{stderr}"
    );
    assert!(!dir.path().join("csi.sock").exists(), "nothing was served");
}

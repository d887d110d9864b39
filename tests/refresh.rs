//! Keeping volumes current: static re-reads, token renewal and re-login,
//! PKI re-issue, outages, and driver restarts, against a real OpenBao.

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use support::bao::BaoServer;
use support::driver::{Driver, DriverOptions, mounts_below};
use support::pods::{TestPod, VOLUME, kv2_secret};
use support::{KUBE_AUTH, fixture, unique};
use vault_csi_driver::csi::proto::{NodeGetVolumeStatsRequest, VolumeCondition};

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref()).unwrap_or_default()
}

/// Polls `check` every 100 ms until it holds or `limit` passes.
async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn condition(driver: &Driver, pod: &TestPod) -> VolumeCondition {
    let request = pod.publish_request(driver, VOLUME, "unused");
    driver
        .node()
        .await
        .node_get_volume_stats(NodeGetVolumeStatsRequest {
            volume_id: request.volume_id,
            volume_path: request.target_path,
            staging_target_path: String::new(),
        })
        .await
        .expect("volume stats")
        .into_inner()
        .volume_condition
        .expect("a condition")
}

/// The driver's volume refreshes so far, from its `/metrics`: (succeeded, failed).
fn refreshes(driver: &Driver) -> (u64, u64) {
    let (_, body) = driver.http_get("/metrics");
    let (mut ok, mut failed) = (0, 0);
    for line in body.lines() {
        let Some(rest) = line.strip_prefix("vault_csi_refreshes_total{") else {
            continue;
        };
        let Some((labels, value)) = rest.split_once("} ") else {
            continue;
        };
        let value = value.trim().parse::<f64>().unwrap_or(0.0) as u64;
        if labels == r#"result="ok""# {
            ok += value;
        } else {
            failed += value;
        }
    }
    (ok, failed)
}

/// How many secrets the driver read from Vault so far.
fn vault_reads(driver: &Driver) -> f64 {
    driver.vault_requests().get("read").map_or(0.0, |r| r.0)
}

/// The generation directory `..data` points at.
fn generation(target: &Path) -> std::path::PathBuf {
    std::fs::read_link(target.join("..data")).unwrap()
}

#[tokio::test]
async fn a_changed_kv2_secret_reaches_the_file_within_the_interval() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"v": "one"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let template =
        format!(r#"{{{{ with secret "{mount}/{key}" }}}}{{{{ .Data.data.v }}}}{{{{ end }}}}"#);
    pod.register(
        fx,
        &[
            ("agent-inject-template-v", &template),
            ("template-static-secret-render-interval", "2s"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let file = pod.target(&driver, VOLUME).join("v");
    assert_eq!(read(&file), "one");
    fx.bao.write_kv2(&mount, &key, json!({"v": "two"}));
    eventually(Duration::from_secs(6), "file updated", || {
        read(&file) == "two"
    })
    .await;
}

#[tokio::test]
async fn an_unchanged_secret_is_not_rewritten() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"v": "same"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-s", &format!("{mount}/{key}")),
            ("template-static-secret-render-interval", "1s"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let target = pod.target(&driver, VOLUME);
    let before = (
        generation(&target),
        std::fs::metadata(target.join("s")).unwrap().ino(),
    );
    let reads = vault_reads(&driver);
    // Two refreshes (every second) that read the secret again and rendered it.
    eventually(Duration::from_secs(6), "two refreshes", || {
        refreshes(&driver).0 >= 2
    })
    .await;
    assert!(
        vault_reads(&driver) >= reads + 2.0,
        "the secret was read again"
    );
    let after = (
        generation(&target),
        std::fs::metadata(target.join("s")).unwrap().ino(),
    );
    assert_eq!(before, after, "no new generation, same inode");
}

#[tokio::test]
async fn tokens_are_renewed_and_replaced_by_a_new_login_at_max_ttl() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"v": "one"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    fx.bao.api(
        "PUT",
        &format!("auth/{KUBE_AUTH}/role/{}", pod.role),
        Some(json!({
            "bound_service_account_names": [pod.id.service_account],
            "bound_service_account_namespaces": [pod.id.namespace],
            "token_policies": fx.bao.api("GET", &format!("auth/{KUBE_AUTH}/role/{}", pod.role), None)["data"]["token_policies"],
            "token_ttl": "3s",
            "token_max_ttl": "6s",
        })),
    );
    let template =
        format!(r#"{{{{ with secret "{mount}/{key}" }}}}{{{{ .Data.data.v }}}}{{{{ end }}}}"#);
    pod.register(
        fx,
        &[
            ("agent-inject-template-v", &template),
            ("agent-inject-token", "true"),
            ("template-static-secret-render-interval", "1s"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let target = pod.target(&driver, VOLUME);
    let first_token = read(target.join("token"));
    // Past the max TTL the first token is dead; the file holds a new, working one.
    eventually(Duration::from_secs(15), "a new token after max TTL", || {
        let now = read(target.join("token"));
        !now.is_empty() && now != first_token
    })
    .await;
    fx.bao.write_kv2(&mount, &key, json!({"v": "two"}));
    eventually(Duration::from_secs(6), "refresh still works", || {
        read(target.join("v")) == "two"
    })
    .await;
    let token = read(target.join("token"));
    let (status, _) = support::bao::http_request(
        fx.bao.port(),
        "GET",
        "/v1/auth/token/lookup-self",
        &[("X-Vault-Token", token.as_str())],
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "the token in the file works");
    assert!(!driver.log().contains(&token), "tokens are never logged");
}

#[tokio::test]
async fn a_short_lived_pki_certificate_is_reissued_near_its_threshold() {
    let fx = fixture();
    let pki = unique("pki");
    fx.bao.enable_pki(&pki, "web", "example.test");
    let pod = TestPod::kubernetes(fx, &[&format!("{pki}/issue/web")]);
    let template = format!(
        r#"{{{{ with secret "{pki}/issue/web" "common_name=app.example.test" "ttl=4s" }}}}{{{{ .Data.serial_number }}}}{{{{ end }}}}"#
    );
    pod.register(fx, &[("agent-inject-template-serial", &template)]);
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let file = pod.target(&driver, VOLUME).join("serial");
    let first = read(&file);
    assert!(!first.is_empty());
    // Non-renewable lease of 4 s, threshold 0.9 +- 0.05: a new one by ~3.8 s.
    eventually(Duration::from_secs(8), "a new certificate", || {
        let now = read(&file);
        !now.is_empty() && now != first
    })
    .await;
    let condition = condition(&driver, &pod).await;
    assert!(!condition.abnormal, "{condition:?}");
}

#[tokio::test]
async fn during_an_outage_files_stay_the_volume_turns_abnormal_and_recovers() {
    let fx = fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut bao = BaoServer::start_persistent(dir.path());
    bao.enable_kubernetes_auth(KUBE_AUTH, &fx.kube);
    bao.enable_kv("kv", 2);
    bao.write_kv2("kv", "app", json!({"v": "before"}));
    bao.read_policy("app", &["kv/*"]);
    let pod = TestPod {
        id: support::jwt::PodIdentity::new(&unique("ns"), &unique("sa"), &unique("pod")),
        role: "app".into(),
    };
    bao.kubernetes_role(
        KUBE_AUTH,
        "app",
        &support::bao::KubeRole::new(&pod.id.namespace, &pod.id.service_account, &["app"]),
    );
    let template = r#"{{ with secret "kv/app" }}{{ .Data.data.v }}{{ end }}"#;
    pod.register(
        fx,
        &[
            ("agent-inject-template-v", template),
            ("template-static-secret-render-interval", "1s"),
            ("client-max-retries", "0"),
        ],
    );
    let driver = Driver::start_with(DriverOptions {
        vault_addr: Some(bao.addr()),
        ..Default::default()
    })
    .await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let file = pod.target(&driver, VOLUME).join("v");
    assert_eq!(read(&file), "before");

    bao.stop();
    // Retries every second or so (backoff capped at the 1 s interval).
    eventually(Duration::from_secs(10), "three failed refreshes", || {
        assert_eq!(read(&file), "before", "files keep their last content");
        refreshes(&driver).1 >= 3
    })
    .await;
    assert_eq!(read(&file), "before", "files keep their last content");
    let down = condition(&driver, &pod).await;
    assert!(down.abnormal, "{down:?}");
    assert!(
        down.message.contains("keep their last content"),
        "{}",
        down.message
    );
    let failures: Vec<_> = fx
        .kube
        .events()
        .into_iter()
        .filter(|e| {
            e["involvedObject"]["uid"] == pod.id.pod_uid.as_str()
                && e["reason"] == "SecretRefreshFailed"
        })
        .collect();
    assert_eq!(
        failures.len(),
        1,
        "one Warning event, however many retries: {failures:?}"
    );
    assert_eq!(failures[0]["type"], "Warning");

    bao.start();
    bao.write_kv2("kv", "app", json!({"v": "after"}));
    eventually(Duration::from_secs(20), "recovery", || {
        read(&file) == "after"
    })
    .await;
    let up = condition(&driver, &pod).await;
    assert!(!up.abnormal, "{up:?}");
}

#[tokio::test]
async fn after_a_sigkill_the_volume_survives_and_resumes_at_the_next_republish() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"v": "one"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let template =
        format!(r#"{{{{ with secret "{mount}/{key}" }}}}{{{{ .Data.data.v }}}}{{{{ end }}}}"#);
    pod.register(
        fx,
        &[
            ("agent-inject-template-v", &template),
            ("template-static-secret-render-interval", "1s"),
        ],
    );
    let mut driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let target = pod.target(&driver, VOLUME);
    // Killed while refreshing (every second): no torn file, mount stays.
    eventually(Duration::from_secs(5), "a refresh ran", || {
        refreshes(&driver).0 >= 1
    })
    .await;
    driver.kill();
    assert_eq!(read(target.join("v")), "one");
    assert_eq!(mounts_below(driver.dir()), vec![target.clone()]);

    driver.restart_with(DriverOptions::default()).await;
    let resumed = condition(&driver, &pod).await;
    assert!(!resumed.abnormal, "{resumed:?}");
    fx.bao.write_kv2(&mount, &key, json!({"v": "two"}));
    pod.publish(&driver, VOLUME, &pod.token(fx))
        .await
        .expect("republish after restart");
    eventually(Duration::from_secs(6), "refresh resumed", || {
        read(target.join("v")) == "two"
    })
    .await;
    driver
        .node()
        .await
        .node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
        .await
        .unwrap();
    assert!(mounts_below(driver.dir()).is_empty());
    assert!(!target.exists());
}

#[tokio::test]
async fn unpublish_works_for_a_volume_from_before_a_restart() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"v": "one"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(fx, &[("agent-inject-secret-s", &format!("{mount}/{key}"))]);
    let mut driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    driver.kill();
    driver.restart_with(DriverOptions::default()).await;
    driver
        .node()
        .await
        .node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
        .await
        .unwrap();
    assert!(mounts_below(driver.dir()).is_empty());
    let records = std::fs::read_dir(driver.state_dir()).unwrap().count();
    assert_eq!(records, 0, "the record is gone too");
}

#[tokio::test]
async fn pre_populate_only_volumes_are_never_refreshed() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"v": "one"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let template =
        format!(r#"{{{{ with secret "{mount}/{key}" }}}}{{{{ .Data.data.v }}}}{{{{ end }}}}"#);
    pod.register(
        fx,
        &[
            ("agent-inject-template-v", &template),
            ("agent-pre-populate-only", "true"),
            ("template-static-secret-render-interval", "1s"),
        ],
    );
    // A Pod that does refresh, on the same secret and driver: what it sees
    // shows the refresh loop ran (the rule itself is a schedule unit test).
    let control = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    control.register(
        fx,
        &[
            ("agent-inject-template-v", &template),
            ("template-static-secret-render-interval", "1s"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    control
        .publish(&driver, VOLUME, &control.token(fx))
        .await
        .unwrap();
    fx.bao.write_kv2(&mount, &key, json!({"v": "two"}));
    let passes = refreshes(&driver).0;
    // Two of its refreshes after the write: the pre-populated volume, published
    // first with the same interval, would have fallen due before the second.
    eventually(Duration::from_secs(6), "the other volume refreshed", || {
        read(control.target(&driver, VOLUME).join("v")) == "two"
            && refreshes(&driver).0 >= passes + 2
    })
    .await;
    assert_eq!(read(pod.target(&driver, VOLUME).join("v")), "one");
}

#[tokio::test]
async fn revoke_on_shutdown_revokes_the_token_at_unpublish() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"v": "one"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-s", &format!("{mount}/{key}")),
            ("agent-inject-token", "true"),
            ("agent-revoke-on-shutdown", "true"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let token = read(pod.target(&driver, VOLUME).join("token"));
    driver
        .node()
        .await
        .node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
        .await
        .unwrap();
    let (status, _) = support::bao::http_request(
        fx.bao.port(),
        "GET",
        "/v1/auth/token/lookup-self",
        &[("X-Vault-Token", token.as_str())],
        None,
    )
    .unwrap();
    assert_eq!(status, 403, "the token no longer works");
}

#[tokio::test]
async fn a_reader_never_sees_a_torn_or_missing_file_across_swaps() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"n": "0"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-config", &format!("{mount}/{key}")),
            ("agent-inject-default-template", "json"),
            ("template-static-secret-render-interval", "1s"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let file = pod.target(&driver, VOLUME).join("config");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let file = file.clone();
        std::thread::spawn(move || {
            let mut reads = 0u64;
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let text = std::fs::read_to_string(&file).expect("the file is always there");
                let doc: serde_json::Value =
                    serde_json::from_str(&text).expect("always whole JSON");
                seen.insert(doc["data"]["n"].as_str().unwrap().to_string());
                reads += 1;
            }
            (reads, seen)
        })
    };
    for n in 1..=4 {
        fx.bao.write_kv2(&mount, &key, json!({"n": n.to_string()}));
        let want = format!("\"n\":\"{n}\"");
        eventually(Duration::from_secs(5), "swap", || {
            read(&file).contains(&want)
        })
        .await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, seen) = reader.join().unwrap();
    assert!(reads > 100, "{reads}");
    assert!(seen.len() >= 5, "the reader saw every generation: {seen:?}");
}

#[tokio::test]
async fn database_credentials_are_renewed_then_replaced_at_max_ttl() {
    let fx = fixture();
    let pg = support::postgres::Postgres::start();
    let db = unique("db");
    fx.bao.api(
        "POST",
        &format!("sys/mounts/{db}"),
        Some(json!({"type": "database"})),
    );
    fx.bao.api(
        "PUT",
        &format!("{db}/config/pg"),
        Some(json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": pg.vault_connection_url(),
            "username": "postgres",
            "password": support::postgres::ADMIN_PASSWORD,
            "allowed_roles": "*",
            "verify_connection": true,
        })),
    );
    fx.bao.api(
        "PUT",
        &format!("{db}/roles/app"),
        Some(json!({
            "db_name": "pg",
            "creation_statements": "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
            "default_ttl": "4s",
            "max_ttl": "10s",
        })),
    );
    let pod = TestPod::kubernetes(fx, &[&format!("{db}/creds/app"), "sys/leases/renew"]);
    let template = format!(
        r#"{{{{ with secret "{db}/creds/app" }}}}{{{{ .Data.username }}}} {{{{ .Data.password }}}} {{{{ .LeaseID }}}}{{{{ end }}}}"#
    );
    pod.register(fx, &[("agent-inject-template-creds", &template)]);
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let file = pod.target(&driver, VOLUME).join("creds");
    let parse = |text: String| -> (String, String, String) {
        let mut parts = text.split(' ').map(str::to_string);
        (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        )
    };
    let (user, password, lease) = parse(read(&file));
    assert!(pg.can_login(&user, &password), "the first credential works");
    let expiry = |lease: &str| {
        fx.bao.api("PUT", "sys/leases/lookup", Some(json!({"lease_id": lease})))["data"]["expire_time"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first_expiry = expiry(&lease);
    // Renewed at ~2/3 of 4 s: same credential, later expiry.
    eventually(Duration::from_secs(5), "lease renewed", || {
        expiry(&lease) > first_expiry
    })
    .await;
    assert_eq!(parse(read(&file)).0, user, "renewal keeps the credential");
    // At the 10 s max TTL, a new credential, and it works.
    eventually(Duration::from_secs(15), "a new credential", || {
        parse(read(&file)).0 != user
    })
    .await;
    let (new_user, new_password, _) = parse(read(&file));
    assert!(
        pg.can_login(&new_user, &new_password),
        "the new credential works"
    );
}

#[tokio::test]
async fn a_removed_role_turns_the_volume_abnormal_and_keeps_its_files() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"v": "kept"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let role_path = format!("auth/{KUBE_AUTH}/role/{}", pod.role);
    let mut role = fx.bao.api("GET", &role_path, None)["data"].clone();
    role["token_ttl"] = json!("2s");
    role["token_max_ttl"] = json!("2s");
    fx.bao.api("PUT", &role_path, Some(role));
    let template =
        format!(r#"{{{{ with secret "{mount}/{key}" }}}}{{{{ .Data.data.v }}}}{{{{ end }}}}"#);
    pod.register(
        fx,
        &[
            ("agent-inject-template-v", &template),
            ("template-static-secret-render-interval", "1s"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    fx.bao.api("DELETE", &role_path, None);
    let file = pod.target(&driver, VOLUME).join("v");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert_eq!(read(&file), "kept", "files are never deleted");
        let now = condition(&driver, &pod).await;
        if now.abnormal {
            assert!(now.message.contains("login"), "{}", now.message);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the volume never turned abnormal"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn pki_cert_keeps_a_good_certificate_across_a_restart_and_replaces_it_near_its_end() {
    let fx = fixture();
    let pki = unique("pki");
    fx.bao.enable_pki(&pki, "web", "example.test");
    // Vault back-dates certificates by 30 s by default, which would count
    // toward the lifetime; 1 s keeps the arithmetic of this test plain.
    let role_path = format!("{pki}/roles/web");
    let mut role = fx.bao.api("GET", &role_path, None)["data"].clone();
    role["not_before_duration"] = json!("1s");
    fx.bao.api("PUT", &role_path, Some(role));
    let pod = TestPod::kubernetes(fx, &[&format!("{pki}/issue/web")]);
    let template = format!(
        r#"{{{{ with pkiCert "{pki}/issue/web" "common_name=app.example.test" "ttl=6s" }}}}{{{{ .Cert }}}}{{{{ .Key }}}}{{{{ .CA }}}}{{{{ end }}}}"#
    );
    pod.register(fx, &[("agent-inject-template-tls.pem", &template)]);
    let mut driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let file = pod.target(&driver, VOLUME).join("tls.pem");
    let first = read(&file);
    assert!(
        first.starts_with("-----BEGIN CERTIFICATE-----\n"),
        "{first}"
    );
    assert!(first.contains("PRIVATE KEY-----\n"));
    assert_eq!(first.matches("BEGIN CERTIFICATE").count(), 2, "leaf and CA");

    // A restarted driver's republish finds the certificate still good: kept.
    driver.kill();
    driver.restart_with(DriverOptions::default()).await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    assert_eq!(read(&file), first, "the good certificate is kept");

    // At 90% of its 6 s lifetime a new one replaces it.
    eventually(Duration::from_secs(10), "a new certificate", || {
        let now = read(&file);
        now.starts_with("-----BEGIN CERTIFICATE-----") && now != first
    })
    .await;
}

#[tokio::test]
async fn a_rotation_bumps_the_version_file_and_posts_an_event_naming_the_files() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"v": "first-value"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let template =
        format!(r#"{{{{ with secret "{mount}/{key}" }}}}{{{{ .Data.data.v }}}}{{{{ end }}}}"#);
    pod.register(
        fx,
        &[
            ("agent-inject-template-v", &template),
            ("agent-inject-file-v", "conf/v.txt"),
            ("agent-inject-secret-same", &format!("{mount}/{key}")),
            ("template-static-secret-render-interval", "1s"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let target = pod.target(&driver, VOLUME);
    let version = target.join(".vault-csi-version");
    assert_eq!(read(&version), "1\n");
    let meta = std::fs::metadata(&version).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o644);
    assert_eq!((meta.uid(), meta.gid()), (100, 1000));

    fx.bao.write_kv2(&mount, &key, json!({"v": "second-value"}));
    eventually(Duration::from_secs(8), "file updated", || {
        read(target.join("conf/v.txt")) == "second-value"
    })
    .await;
    // The version switched with the files: never ahead of them.
    assert_eq!(read(&version), "2\n");
    let rotated = || {
        fx.kube.events().into_iter().find(|e| {
            e["reason"] == "SecretsRotated" && e["involvedObject"]["uid"] == pod.id.pod_uid.as_str()
        })
    };
    eventually(Duration::from_secs(5), "SecretsRotated event", || {
        rotated().is_some()
    })
    .await;
    let event = rotated().unwrap();
    let message = event["message"].as_str().unwrap();
    assert_eq!(event["type"], "Normal");
    assert_eq!(
        message,
        format!("volume {VOLUME}: new content in conf/v.txt, same (version 2)")
    );
    assert!(!message.contains("value"), "no secret value in {message}");
}

//! The webhook over real TLS on loopback, with a real HTTP client that trusts
//! only the test CA: mutate round trips, bad input, and certificate rotation
//! on disk picked up by new connections without a restart.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::pki::{Leaf, Pki, replace};
use tokio::sync::oneshot;
use vault_csi_driver::webhook::patch::Settings;
use vault_csi_driver::webhook::server::{Handler, Server};
use vault_csi_driver::webhook::tls::{ReloadingCert, TlsError};
use vault_csi_driver::webhook::{DEFAULT_MAX_REQUEST_BYTES, review};

/// The name the API server would connect to.
const HOST: &str = "vault-csi-webhook.vault-csi.svc";
/// How often the test servers look at their certificate files.
const RELOAD: Duration = Duration::from_millis(50);

/// A webhook serving on loopback; stops when dropped.
struct Running {
    addr: SocketAddr,
    cert: PathBuf,
    key: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start(leaf: &Leaf) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("tls.crt");
    let key = dir.path().join("tls.key");
    replace(&key, &leaf.key_pem);
    replace(&cert, &leaf.cert_pem);
    let certs = ReloadingCert::load(&cert, &key).unwrap();
    let handler = Handler::new(settings(), DEFAULT_MAX_REQUEST_BYTES);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(Server::new(handler, certs, RELOAD).serve(listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        cert,
        key,
        _dir: dir,
        stop: Some(stop),
    }
}

fn settings() -> Settings {
    Settings {
        driver_name: "vault-csi-driver".into(),
        deny_invalid: true,
    }
}

/// A fresh client (so a fresh connection) that trusts only `ca_pem`.
fn client(ca_pem: &str, addr: SocketAddr) -> reqwest::Client {
    client_builder(ca_pem, addr).build().unwrap()
}

fn client_builder(ca_pem: &str, addr: SocketAddr) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .resolve(HOST, addr)
        .tls_info(true)
        .timeout(Duration::from_secs(5))
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("https://{HOST}:{}{path}", addr.port())
}

/// The certificate a new connection is served; `None` when the client
/// refuses it.
async fn served_certificate(ca_pem: &str, addr: SocketAddr) -> Option<Vec<u8>> {
    let response = client(ca_pem, addr)
        .get(url(addr, "/healthz"))
        .send()
        .await
        .ok()?;
    let info = response.extensions().get::<reqwest::tls::TlsInfo>()?;
    info.peer_certificate().map(<[u8]>::to_vec)
}

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/webhook", name]
        .iter()
        .collect();
    std::fs::read(path).unwrap()
}

async fn post(ca_pem: &str, addr: SocketAddr, body: Vec<u8>) -> reqwest::Response {
    client(ca_pem, addr)
        .post(url(addr, "/mutate"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

// ---- Round trips --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_round_trip_answers_with_the_same_uid_and_a_patch() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let body = fixture("docs-deployment.review.json");
    let response = post(&pki.ca_pem, server.addr, body.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let got: Value = response.json().await.unwrap();
    let want = review::answer(&body, &settings()).unwrap().review;
    assert_eq!(got, want);
    assert_eq!(
        got["response"]["uid"],
        "0f9e8d7c-6b5a-4c3d-8e1f-2a3b4c5d6e7f"
    );
    assert_eq!(got["response"]["patchType"], "JSONPatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_over_tls() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let response = client(&pki.ca_pem, server.addr)
        .get(url(server.addr, "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_is_negotiated_and_http1_still_works() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let h2 = client(&pki.ca_pem, server.addr)
        .get(url(server.addr, "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(h2.version(), reqwest::Version::HTTP_2);
    let h1 = client_builder(&pki.ca_pem, server.addr)
        .http1_only()
        .build()
        .unwrap()
        .post(url(server.addr, "/mutate"))
        .body(fixture("init-containers.review.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    assert_eq!(h1.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_that_does_not_trust_the_ca_is_refused() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let stranger = Pki::new();
    let result = client(&stranger.ca_pem, server.addr)
        .get(url(server.addr, "/healthz"))
        .send()
        .await;
    assert!(result.is_err());
}

// ---- Bad input --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_http_400() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let response = post(
        &pki.ca_pem,
        server.addr,
        b"{\"kind\": \"AdmissionRev".to_vec(),
    )
    .await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.text().await.unwrap(), "the body is not JSON\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_that_is_no_admission_review_is_http_400() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let response = post(&pki.ca_pem, server.addr, br#"{"kind":"Pod"}"#.to_vec()).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_api_version_is_allowed_unchanged() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let mut review: Value =
        serde_json::from_slice(&fixture("docs-deployment.review.json")).unwrap();
    review["apiVersion"] = json!("admission.k8s.io/v2");
    let response = post(
        &pki.ca_pem,
        server.addr,
        serde_json::to_vec(&review).unwrap(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let got: Value = response.json().await.unwrap();
    assert_eq!(got["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(got["response"]["allowed"], true);
    assert!(got["response"].get("patch").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_pod_kind_is_allowed_unchanged() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let response = post(
        &pki.ca_pem,
        server.addr,
        fixture("deployment-kind.review.json"),
    )
    .await;
    let got: Value = response.json().await.unwrap();
    assert_eq!(
        got["response"],
        json!({"uid": "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e", "allowed": true})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_the_limit_is_http_413() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    // A review padded past the limit: an annotation of 5 MiB.
    let mut review: Value =
        serde_json::from_slice(&fixture("docs-deployment.review.json")).unwrap();
    review["request"]["object"]["metadata"]["annotations"]["padding"] = json!("x".repeat(5 << 20));
    let response = post(
        &pki.ca_pem,
        server.addr,
        serde_json::to_vec(&review).unwrap(),
    )
    .await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.text().await.unwrap(),
        format!("request body is larger than the limit of {DEFAULT_MAX_REQUEST_BYTES} bytes\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_near_the_api_server_maximum_is_answered() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let mut review: Value =
        serde_json::from_slice(&fixture("docs-deployment.review.json")).unwrap();
    review["request"]["object"]["metadata"]["annotations"]["padding"] = json!("x".repeat(3 << 20));
    let response = post(
        &pki.ca_pem,
        server.addr,
        serde_json::to_vec(&review).unwrap(),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_on_mutate_is_http_405() {
    let pki = Pki::new();
    let server = start(&pki.leaf_for(HOST)).await;
    let response = client(&pki.ca_pem, server.addr)
        .get(url(server.addr, "/mutate"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

// ---- Certificate rotation ------------------------------------------------------

/// Polls new connections until `want` is served, or panics after 5 s.
async fn wait_for_certificate(ca_pem: &str, addr: SocketAddr, want: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while served_certificate(ca_pem, addr).await.as_deref() != Some(want) {
        assert!(
            Instant::now() < deadline,
            "the rotated certificate was not served"
        );
        tokio::time::sleep(RELOAD).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_certificate_is_served_to_new_connections_without_restart() {
    let pki = Pki::new();
    let first = pki.leaf_for(HOST);
    let server = start(&first).await;
    assert_eq!(
        served_certificate(&pki.ca_pem, server.addr).await,
        Some(first.der.clone())
    );

    let second = pki.leaf_for(HOST);
    replace(&server.key, &second.key_pem);
    replace(&server.cert, &second.cert_pem);
    wait_for_certificate(&pki.ca_pem, server.addr, &second.der).await;

    // And the rotated server still answers reviews.
    let response = post(
        &pki.ca_pem,
        server.addr,
        fixture("learn-status-update.review.json"),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_rotated_pair_keeps_the_previous_certificate_until_it_matches() {
    let pki = Pki::new();
    let first = pki.leaf_for(HOST);
    let server = start(&first).await;
    let second = pki.leaf_for(HOST);

    // New key, old certificate: not a usable pair.
    replace(&server.key, &second.key_pem);
    tokio::time::sleep(RELOAD * 6).await;
    assert_eq!(
        served_certificate(&pki.ca_pem, server.addr).await,
        Some(first.der.clone())
    );

    replace(&server.cert, &second.cert_pem);
    wait_for_certificate(&pki.ca_pem, server.addr, &second.der).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_from_a_new_ca_is_trusted_by_clients_of_the_new_ca() {
    let old_pki = Pki::new();
    let server = start(&old_pki.leaf_for(HOST)).await;
    let new_pki = Pki::new();
    let leaf = new_pki.leaf_for(HOST);
    replace(&server.key, &leaf.key_pem);
    replace(&server.cert, &leaf.cert_pem);
    wait_for_certificate(&new_pki.ca_pem, server.addr, &leaf.der).await;
    let old_client = client(&old_pki.ca_pem, server.addr)
        .get(url(server.addr, "/healthz"))
        .send()
        .await;
    assert!(old_client.is_err());
}

// ---- Loading ---------------------------------------------------------------

fn write_pair(dir: &Path, cert: &str, key: &str) -> (PathBuf, PathBuf) {
    let (c, k) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key).unwrap();
    (c, k)
}

#[test]
fn missing_files_are_a_read_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = ReloadingCert::load(&dir.path().join("nope.crt"), &dir.path().join("nope.key"))
        .unwrap_err();
    assert!(matches!(e, TlsError::Read { .. }), "{e}");
    assert!(e.to_string().contains("nope.crt"), "{e}");
}

#[test]
fn file_without_a_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = Pki::new().leaf_for(HOST);
    let (c, k) = write_pair(dir.path(), "not a certificate", &leaf.key_pem);
    let e = ReloadingCert::load(&c, &k).unwrap_err();
    assert!(matches!(e, TlsError::NoCertificate { .. }), "{e}");
}

#[test]
fn file_without_a_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = Pki::new().leaf_for(HOST);
    let (c, k) = write_pair(dir.path(), &leaf.cert_pem, &leaf.cert_pem);
    let e = ReloadingCert::load(&c, &k).unwrap_err();
    assert!(matches!(e, TlsError::BadKey { .. }), "{e}");
}

#[test]
fn key_of_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let (a, b) = (pki.leaf_for(HOST), pki.leaf_for(HOST));
    let (c, k) = write_pair(dir.path(), &a.cert_pem, &b.key_pem);
    let e = ReloadingCert::load(&c, &k).unwrap_err();
    assert!(matches!(e, TlsError::Mismatch { .. }), "{e}");
}

#[test]
fn reload_reports_whether_the_files_changed() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let first = pki.leaf_for(HOST);
    let (c, k) = write_pair(dir.path(), &first.cert_pem, &first.key_pem);
    let certs = ReloadingCert::load(&c, &k).unwrap();
    assert!(!certs.reload().unwrap());
    let second = pki.leaf_for(HOST);
    write_pair(dir.path(), &second.cert_pem, &second.key_pem);
    assert!(certs.reload().unwrap());
    assert_eq!(
        certs.current_certificate().unwrap().as_ref(),
        second.der.as_slice()
    );
}

// ---- The openssl script in deploy/webhook ----------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_cert_script_output_is_served_and_trusted_through_its_ca() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        println!("SKIPPED: openssl is not installed, so deploy/webhook/issue-cert.sh cannot run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "deploy/webhook/issue-cert.sh"]
        .iter()
        .collect();
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(["--days", "2", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
    let certs =
        ReloadingCert::load(&dir.path().join("tls.crt"), &dir.path().join("tls.key")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = Server::new(
        Handler::new(settings(), DEFAULT_MAX_REQUEST_BYTES),
        Arc::clone(&certs),
        RELOAD,
    );
    tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    let response = client(&read("ca.crt"), addr)
        .get(url(addr, "/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let _ = stop.send(());
}

// ---- The webhook binary's metrics ---------------------------------------------

/// The `vault-csi-driver webhook` process; killed when dropped.
struct WebhookProcess {
    child: std::process::Child,
    addr: SocketAddr,
    metrics_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for WebhookProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_binary(leaf: &Leaf) -> WebhookProcess {
    let dir = tempfile::tempdir().unwrap();
    replace(&dir.path().join("tls.crt"), &leaf.cert_pem);
    replace(&dir.path().join("tls.key"), &leaf.key_pem);
    let port = support::bao::free_port();
    let metrics_port = support::bao::free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"))
        .arg("webhook")
        .args(["--webhook-addr", &format!("127.0.0.1:{port}")])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics_port}")])
        .arg("--tls-cert-file")
        .arg(dir.path().join("tls.crt"))
        .arg("--tls-key-file")
        .arg(dir.path().join("tls.key"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let process = WebhookProcess {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        metrics_port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while support::bao::http_request(metrics_port, "GET", "/readyz", &[], None)
        .map(|(status, _)| status)
        .unwrap_or(0)
        != 200
    {
        assert!(
            Instant::now() < deadline,
            "the webhook did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    process
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_counts_reviews_by_result_denials_by_key_and_latency() {
    let pki = Pki::new();
    let webhook = start_binary(&pki.leaf_for(HOST)).await;
    for (body, status) in [
        (fixture("docs-deployment.review.json"), 200),
        (fixture("invalid-perms.review.json"), 200),
        (fixture("no-annotations.review.json"), 200),
        (b"not json".to_vec(), 400),
    ] {
        assert_eq!(post(&pki.ca_pem, webhook.addr, body).await.status(), status);
    }
    let (status, text) =
        support::bao::http_request(webhook.metrics_port, "GET", "/metrics", &[], None).unwrap();
    assert_eq!(status, 200);
    for line in [
        "vault_csi_webhook_admissions_total{result=\"patched\"} 1",
        "vault_csi_webhook_admissions_total{result=\"denied\"} 1",
        "vault_csi_webhook_admissions_total{result=\"unchanged\"} 1",
        "vault_csi_webhook_admissions_total{result=\"error\"} 1",
        "vault_csi_webhook_denials_total{key=\"agent-inject-perms-NAME\"} 1",
        "vault_csi_webhook_admission_duration_seconds_count{result=\"patched\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    assert!(
        !text.contains("vault_csi_vault_up"),
        "the webhook exports only its own metrics"
    );
}

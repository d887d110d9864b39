//! The node's Vault trust and client identity follow their files: a CA
//! bundle and a client certificate rotated under a running driver are used
//! for the next connection, against OpenBao served over mutual TLS.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::bao::{BaoServer, free_port};
use support::driver::{Driver, DriverOptions};
use support::pki::{Pki, replace};

/// OpenBao (dev mode) with a second listener on `tls_port` that serves the
/// certificate in `dir` and requires a client certificate from the CA in
/// `dir/client-ca.pem`.
fn bao_with_mutual_tls(tls_port: u16, dir: &Path) -> BaoServer {
    BaoServer::start_dev_with_config(&format!(
        r#"listener "tcp" {{
  address = "127.0.0.1:{tls_port}"
  tls_cert_file = "{dir}/server.pem"
  tls_key_file = "{dir}/server-key.pem"
  tls_client_ca_file = "{dir}/client-ca.pem"
  tls_require_and_verify_client_cert = true
}}
"#,
        dir = dir.display()
    ))
}

/// Writes a server identity from `server_ca` and the client CA OpenBao trusts.
fn write_server_side(dir: &Path, server_ca: &Pki, client_ca: &Pki) {
    let leaf = server_ca.leaf_for("127.0.0.1");
    replace(&dir.join("server.pem"), &leaf.cert_pem);
    replace(&dir.join("server-key.pem"), &leaf.key_pem);
    replace(&dir.join("client-ca.pem"), &client_ca.ca_pem);
}

/// Writes what the driver trusts (`server_ca`) and presents (from `client_ca`).
fn write_driver_side(dir: &Path, server_ca: &Pki, client_ca: &Pki) {
    let client = client_ca.leaf_for("vault-csi-driver");
    replace(&dir.join("ca.pem"), &server_ca.ca_pem);
    replace(&dir.join("client.pem"), &client.cert_pem);
    replace(&dir.join("client-key.pem"), &client.key_pem);
}

/// Health probes Vault answered.
fn answered_probes(driver: &Driver) -> f64 {
    driver
        .metric("vault_csi_vault_requests_total{kind=\"other\",status=\"200\"}")
        .unwrap_or(0.0)
}

/// Waits until Vault answers a health probe made after `before` answered ones.
async fn wait_for_an_answered_probe(driver: &Driver, before: f64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while answered_probes(driver) <= before {
        assert!(
            Instant::now() < deadline,
            "{what}: Vault did not answer the driver\n{}",
            driver.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(driver.metric("vault_csi_vault_up"), Some(1.0));
}

#[tokio::test]
async fn a_rotated_ca_bundle_and_client_certificate_are_used_without_a_restart() {
    let server_files = tempfile::tempdir().unwrap();
    let driver_files = tempfile::tempdir().unwrap();
    let (server_ca, client_ca) = (Pki::named("Vault CA 1"), Pki::named("client CA 1"));
    write_server_side(server_files.path(), &server_ca, &client_ca);
    write_driver_side(driver_files.path(), &server_ca, &client_ca);
    let tls_port = free_port();
    let bao = bao_with_mutual_tls(tls_port, server_files.path());
    let path = |name: &str| driver_files.path().join(name).display().to_string();
    let driver = Driver::start_with(DriverOptions {
        vault_addr: Some(format!("https://127.0.0.1:{tls_port}")),
        args: vec![
            "--vault-ca-file".into(),
            path("ca.pem"),
            "--vault-client-cert".into(),
            path("client.pem"),
            "--vault-client-key".into(),
            path("client-key.pem"),
            "--vault-health-interval".into(),
            "200ms".into(),
        ],
        ..Default::default()
    })
    .await;
    wait_for_an_answered_probe(&driver, 0.0, "first CA and client certificate").await;

    // Both sides move to new CAs: OpenBao restarts with them (so the
    // driver's next request needs a new connection), the driver's files
    // are replaced under it.
    drop(bao);
    let (server_ca, client_ca) = (Pki::named("Vault CA 2"), Pki::named("client CA 2"));
    write_server_side(server_files.path(), &server_ca, &client_ca);
    write_driver_side(driver_files.path(), &server_ca, &client_ca);
    let _bao = bao_with_mutual_tls(tls_port, server_files.path());
    // Probes answered so far went to the first server, over a connection
    // it closed when it stopped.
    let before = answered_probes(&driver);
    wait_for_an_answered_probe(&driver, before, "rotated CA and client certificate").await;
    assert!(
        driver.log().contains("Vault TLS files changed"),
        "{}",
        driver.log()
    );
}

//! `make demo`: the driver doing its job on this machine.
//!
//! Starts an OpenBao dev server and a stand-in Kubernetes API server, seeds
//! two secrets and a kubernetes-auth role for the Pod in
//! `deploy/examples/pod.yaml`, starts the driver, makes the NodePublishVolume
//! call kubelet would make for that Pod, prints the volume, then unpublishes
//! and stops everything. Needs root (it mounts a tmpfs).

#[path = "../tests/support/mod.rs"]
mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use support::bao::KubeRole;
use support::driver::{Driver, mounts_below};
use support::jwt::PodIdentity;
use support::pods::{TestPod, VOLUME};
use support::{KUBE_AUTH, fixture};

const POD_MANIFEST: &str = "deploy/examples/pod.yaml";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if !nix::unistd::geteuid().is_root() {
        return Err("the demo mounts a tmpfs: run it as root (sudo make demo)".into());
    }
    step("starting OpenBao (dev server) and a stand-in Kubernetes API server");
    let fx = fixture();
    println!(
        "  OpenBao at {}, API server at {}",
        fx.bao.addr(),
        fx.kube.url()
    );

    step(
        "seeding Vault: two KV v2 secrets, a policy, and role \"web\" for ServiceAccount shop/web",
    );
    fx.bao.write_kv2(
        "secret",
        "web/db",
        json!({"username": "app", "password": "s3cr3t-p@ss"}),
    );
    fx.bao.write_kv2(
        "secret",
        "web/api",
        json!({"api-key": "k-123", "endpoint": "https://api.example"}),
    );
    fx.bao.read_policy("web", &["secret/data/web/*"]);
    fx.bao
        .kubernetes_role(KUBE_AUTH, "web", &KubeRole::new("shop", "web", &["web"]));

    step(&format!(
        "registering the Pod from {POD_MANIFEST} with the API server"
    ));
    let mut manifest: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(POD_MANIFEST)?)?;
    let pod = TestPod {
        id: PodIdentity::new("shop", "web", "web-0"),
        role: "web".into(),
    };
    manifest["metadata"]["uid"] = json!(pod.id.pod_uid);
    for (key, value) in manifest["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
    {
        println!("  {key}: {value}");
    }
    fx.kube.put_pod(manifest);

    step("starting vault-csi-driver serve");
    let driver = Driver::start().await;
    println!("  socket {}", driver.socket.display());

    step("NodePublishVolume, as kubelet sends it (Pod info + projected token, audience vault)");
    let jwt = fx.kube.mint(&pod.id, "vault", Duration::from_secs(3600));
    let started = std::time::Instant::now();
    driver
        .node()
        .await
        .node_publish_volume(pod.publish_request(&driver, VOLUME, &jwt))
        .await?;
    println!(
        "  published in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );

    let target = pod.target(&driver, VOLUME);
    step(&format!(
        "the volume, as the app sees it at /vault/secrets ({})",
        target.display()
    ));
    show_tree(&target, &target)?;

    step("NodeUnpublishVolume");
    driver
        .node()
        .await
        .node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
        .await?;
    println!(
        "  mounts left: {}, target exists: {}",
        mounts_below(driver.dir()).len(),
        target.exists()
    );
    step("done: stopping the driver, the API stand-in and OpenBao");
    Ok(())
}

fn step(text: &str) {
    println!("\n==> {text}");
}

/// Prints every file below `dir` (following the `..data` links), skipping
/// the generation directories that make the atomic switch.
fn show_tree(root: &Path, dir: &Path) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with("..") {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path)?;
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        if meta.is_dir() {
            show_tree(root, &path)?;
            continue;
        }
        println!(
            "\n  {relative}  (mode {:o}, owner {}:{}, {} bytes)",
            meta.permissions().mode() & 0o7777,
            meta.uid(),
            meta.gid(),
            meta.len()
        );
        let text = std::fs::read_to_string(&path)?;
        if relative == "token" {
            // The demo shows that the token is there, not the token itself.
            println!(
                "    {}… (a Vault token, {} characters)",
                &text[..4.min(text.len())],
                text.len()
            );
        } else {
            for line in text.lines() {
                println!("    | {line}");
            }
        }
    }
    Ok(())
}

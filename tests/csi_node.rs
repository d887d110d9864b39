//! The CSI node plugin as kubelet sees it: the real binary, a real unix
//! socket, real tmpfs mounts (run as root).

mod support;

use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, PermissionsExt, symlink};
use std::path::Path;

use support::driver::{Driver, DriverOptions, mounts_below};
use support::fixture;
use support::pods::{TestPod, VOLUME, kv1_secret};
use tonic::Code;
use vault_csi_driver::csi::proto::{
    GetPluginCapabilitiesRequest, GetPluginInfoRequest, NodeExpandVolumeRequest,
    NodeGetCapabilitiesRequest, NodeGetInfoRequest, NodeGetVolumeStatsRequest,
    NodePublishVolumeRequest, NodeStageVolumeRequest, NodeUnpublishVolumeRequest,
    NodeUnstageVolumeRequest, ProbeRequest, VolumeCapability, node_service_capability,
    volume_capability,
};

const TOKENS_KEY: &str = "csi.storage.k8s.io/serviceAccount.tokens";

/// A Pod with one KV secret, registered with the stand-in, and a token for it.
fn injected_pod() -> (TestPod, String) {
    let fx = fixture();
    let path = kv1_secret(fx, serde_json::json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(fx, &[("agent-inject-secret-s", &path)]);
    let jwt = pod.token(fx);
    (pod, jwt)
}

fn publish_request(volume_id: &str, target: &Path) -> NodePublishVolumeRequest {
    NodePublishVolumeRequest {
        volume_id: volume_id.into(),
        target_path: target.display().to_string(),
        volume_capability: Some(VolumeCapability {
            access_type: Some(volume_capability::AccessType::Mount(
                volume_capability::MountVolume::default(),
            )),
            access_mode: Some(volume_capability::AccessMode {
                mode: volume_capability::access_mode::Mode::SingleNodeWriter as i32,
            }),
        }),
        readonly: true,
        ..Default::default()
    }
}

fn unpublish_request(volume_id: &str, target: &Path) -> NodeUnpublishVolumeRequest {
    NodeUnpublishVolumeRequest {
        volume_id: volume_id.into(),
        target_path: target.display().to_string(),
    }
}

/// The mountinfo line for `path`, if mounted.
fn mount_line(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    text.lines()
        .find(|l| l.split(' ').nth(4) == Some(path.to_str().unwrap()))
        .map(str::to_string)
}

#[tokio::test]
async fn plugin_info_names_the_driver_and_version() {
    let driver = Driver::start().await;
    let info = driver
        .identity()
        .await
        .get_plugin_info(GetPluginInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.name, "vault-csi-driver");
    assert_eq!(info.vendor_version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn plugin_advertises_no_controller_service() {
    let driver = Driver::start().await;
    let caps = driver
        .identity()
        .await
        .get_plugin_capabilities(GetPluginCapabilitiesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(caps.capabilities.is_empty());
}

#[tokio::test]
async fn probe_reports_ready_while_serving() {
    let driver = Driver::start().await;
    let probe = driver
        .identity()
        .await
        .probe(ProbeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(probe.ready, Some(true));
}

#[tokio::test]
async fn node_info_reports_the_node_id() {
    let driver = Driver::start().await;
    let info = driver
        .node()
        .await
        .node_get_info(NodeGetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.node_id, "test-node");
    assert_eq!(info.max_volumes_per_node, 0);
}

#[tokio::test]
async fn node_capabilities_are_volume_stats_and_conditions() {
    let driver = Driver::start().await;
    let caps = driver
        .node()
        .await
        .node_get_capabilities(NodeGetCapabilitiesRequest {})
        .await
        .unwrap()
        .into_inner();
    let kinds: Vec<i32> = caps
        .capabilities
        .iter()
        .filter_map(|c| {
            c.r#type
                .as_ref()
                .map(|node_service_capability::Type::Rpc(rpc)| rpc.r#type)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            node_service_capability::rpc::Type::GetVolumeStats as i32,
            node_service_capability::rpc::Type::VolumeCondition as i32
        ]
    );
}

#[tokio::test]
async fn stage_unstage_and_expand_are_unimplemented() {
    let driver = Driver::start().await;
    let mut node = driver.node().await;
    let codes = [
        node.node_stage_volume(NodeStageVolumeRequest::default())
            .await
            .unwrap_err()
            .code(),
        node.node_unstage_volume(NodeUnstageVolumeRequest::default())
            .await
            .unwrap_err()
            .code(),
        node.node_expand_volume(NodeExpandVolumeRequest::default())
            .await
            .unwrap_err()
            .code(),
    ];
    assert_eq!(codes, [Code::Unimplemented; 3]);
}

#[tokio::test]
async fn volume_stats_report_usage_and_a_normal_condition() {
    let driver = Driver::start().await;
    let (pod, jwt) = injected_pod();
    let mut node = driver.node().await;
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &jwt))
        .await
        .unwrap();
    let stats = node
        .node_get_volume_stats(NodeGetVolumeStatsRequest {
            volume_id: pod.publish_request(&driver, VOLUME, &jwt).volume_id,
            volume_path: pod.target(&driver, VOLUME).display().to_string(),
            staging_target_path: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let bytes = &stats.usage[0];
    assert_eq!(bytes.total, 8 << 20);
    assert!(bytes.used > 0 && bytes.available < bytes.total);
    let condition = stats.volume_condition.unwrap();
    assert!(!condition.abnormal, "{condition:?}");
}

#[tokio::test]
async fn volume_stats_of_an_unknown_volume_are_not_found() {
    let driver = Driver::start().await;
    let target = driver.target("pod-uid-1", "v");
    let status = driver
        .node()
        .await
        .node_get_volume_stats(NodeGetVolumeStatsRequest {
            volume_id: "csi-unknown".into(),
            volume_path: target.display().to_string(),
            staging_target_path: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn publish_mounts_a_read_only_data_tmpfs_at_the_target() {
    let driver = Driver::start().await;
    let (pod, jwt) = injected_pod();
    let target = pod.target(&driver, VOLUME);
    driver
        .node()
        .await
        .node_publish_volume(pod.publish_request(&driver, VOLUME, &jwt))
        .await
        .unwrap();

    let line = mount_line(&target).expect("tmpfs mounted at target");
    let (mount_options, super_block) = line.split_once(" - ").unwrap();
    assert!(super_block.starts_with("tmpfs "), "{line}");
    for flag in ["nosuid", "nodev", "noexec"] {
        assert!(mount_options.contains(flag), "{flag} missing: {line}");
    }
    assert!(super_block.contains("size=8192k"), "{line}");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755);
}

#[tokio::test]
async fn tmpfs_size_follows_the_flag() {
    let options = support::driver::DriverOptions {
        args: vec!["--tmpfs-size".into(), "1Mi".into()],
        ..Default::default()
    };
    let driver = Driver::start_with(options).await;
    let (pod, jwt) = injected_pod();
    let target = pod.target(&driver, VOLUME);
    driver
        .node()
        .await
        .node_publish_volume(pod.publish_request(&driver, VOLUME, &jwt))
        .await
        .unwrap();
    assert!(mount_line(&target).unwrap().contains("size=1024k"));
}

#[tokio::test]
async fn republish_with_the_same_arguments_succeeds_without_a_second_mount() {
    let driver = Driver::start().await;
    let (pod, jwt) = injected_pod();
    let target = pod.target(&driver, VOLUME);
    let mut node = driver.node().await;
    for _ in 0..3 {
        node.node_publish_volume(pod.publish_request(&driver, VOLUME, &jwt))
            .await
            .unwrap();
    }
    assert_eq!(mounts_below(driver.dir()), vec![target]);
}

#[tokio::test]
async fn unpublish_leaves_nothing_in_mountinfo_or_on_disk() {
    let driver = Driver::start().await;
    let (pod, jwt) = injected_pod();
    let target = pod.target(&driver, VOLUME);
    let mut node = driver.node().await;
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &jwt))
        .await
        .unwrap();
    node.node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
        .await
        .unwrap();
    assert!(mounts_below(driver.dir()).is_empty());
    assert!(!target.exists());
    assert!(
        target.parent().unwrap().exists(),
        "kubelet's parent dir is kubelet's"
    );
}

#[tokio::test]
async fn unpublish_twice_and_of_unknown_volumes_succeeds() {
    let driver = Driver::start().await;
    let (pod, jwt) = injected_pod();
    let mut node = driver.node().await;
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &jwt))
        .await
        .unwrap();
    node.node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
        .await
        .unwrap();
    node.node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
        .await
        .unwrap();
    let never = driver.target("pod-uid-2", "never-published");
    node.node_unpublish_volume(unpublish_request("csi-unknown", &never))
        .await
        .unwrap();
}

#[tokio::test]
async fn unpublish_of_a_plain_directory_removes_it() {
    let driver = Driver::start().await;
    let target = driver.target("pod-uid-1", "v");
    std::fs::create_dir(&target).unwrap();
    driver
        .node()
        .await
        .node_unpublish_volume(unpublish_request("csi-1", &target))
        .await
        .unwrap();
    assert!(!target.exists());
}

#[tokio::test]
async fn unpublish_requires_volume_id_and_target_path() {
    let driver = Driver::start().await;
    let mut node = driver.node().await;
    let target = driver.target("pod-uid-1", "v");
    let no_id = node
        .node_unpublish_volume(unpublish_request("", &target))
        .await
        .unwrap_err();
    assert_eq!(no_id.code(), Code::InvalidArgument);
    assert!(no_id.message().contains("volume_id"));
    let no_path = node
        .node_unpublish_volume(NodeUnpublishVolumeRequest {
            volume_id: "csi-1".into(),
            target_path: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(no_path.code(), Code::InvalidArgument);
    assert!(no_path.message().contains("target_path"));
}

#[tokio::test]
async fn unpublish_outside_the_pods_dir_is_refused_and_touches_nothing() {
    let driver = Driver::start().await;
    let outside = driver.dir().join("precious");
    std::fs::create_dir(&outside).unwrap();
    let err = driver
        .node()
        .await
        .node_unpublish_volume(unpublish_request("csi-1", &outside))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(outside.exists());
}

#[tokio::test]
async fn publish_without_required_fields_is_invalid() {
    let driver = Driver::start().await;
    let target = driver.target("pod-uid-1", "v");
    let mut node = driver.node().await;
    let cases: Vec<(&str, NodePublishVolumeRequest)> = vec![
        ("volume_id", publish_request("", &target)),
        (
            "target_path",
            NodePublishVolumeRequest {
                target_path: String::new(),
                ..publish_request("csi-1", &target)
            },
        ),
        (
            "volume_capability",
            NodePublishVolumeRequest {
                volume_capability: None,
                ..publish_request("csi-1", &target)
            },
        ),
    ];
    for (field, request) in cases {
        let err = node.node_publish_volume(request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    assert!(mounts_below(driver.dir()).is_empty());
}

#[tokio::test]
async fn publish_of_a_block_volume_is_invalid() {
    let driver = Driver::start().await;
    let target = driver.target("pod-uid-1", "v");
    let mut request = publish_request("csi-1", &target);
    request.volume_capability = Some(VolumeCapability {
        access_type: Some(volume_capability::AccessType::Block(
            volume_capability::BlockVolume {},
        )),
        access_mode: None,
    });
    let err = driver
        .node()
        .await
        .node_publish_volume(request)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("block"));
}

#[tokio::test]
async fn publish_of_a_writable_volume_is_invalid() {
    let driver = Driver::start().await;
    let target = driver.target("pod-uid-1", "v");
    let mut request = publish_request("csi-1", &target);
    request.readonly = false;
    let err = driver
        .node()
        .await
        .node_publish_volume(request)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("readonly"));
    assert!(mounts_below(driver.dir()).is_empty());
}

#[tokio::test]
async fn publish_outside_the_pods_dir_is_invalid() {
    let driver = Driver::start().await;
    let mut node = driver.node().await;
    let dot_dot = driver.kubelet_dir.join("pods/uid/../../../escape/mount");
    let elsewhere = driver.dir().join("elsewhere/mount");
    let link_parent = driver
        .target("pod-uid-1", "v")
        .parent()
        .unwrap()
        .join("link");
    let outside = driver.dir().join("outside");
    std::fs::create_dir(&outside).unwrap();
    symlink(&outside, &link_parent).unwrap();
    let via_symlink = link_parent.join("mount");
    let (pod, jwt) = injected_pod();
    for target in [dot_dot, elsewhere, via_symlink] {
        let mut request = pod.publish_request(&driver, VOLUME, &jwt);
        request.target_path = target.display().to_string();
        let err = node.node_publish_volume(request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{}", target.display());
        assert!(err.message().contains("not under"), "{}", err.message());
    }
    assert!(mounts_below(driver.dir()).is_empty());
    assert!(!outside.join("mount").exists());
}

#[tokio::test]
async fn a_second_operation_while_one_runs_is_aborted() {
    // An API server that accepts connections and never answers keeps the
    // first publish busy.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let driver = Driver::start_with(DriverOptions {
        kube_api_url: Some(format!("http://{}", silent.local_addr().unwrap())),
        ..Default::default()
    })
    .await;
    let (pod, jwt) = injected_pod();
    let channel = driver.channel().await;
    let start_publish = || {
        let mut client =
            vault_csi_driver::csi::proto::node_client::NodeClient::new(channel.clone());
        let request = pod.publish_request(&driver, VOLUME, &jwt);
        tokio::spawn(async move { client.node_publish_volume(request).await })
    };
    let mut busy = start_publish();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut node = driver.node().await;
    // Until the first publish holds the volume, an unpublish finds nothing
    // to do and succeeds (or wins the lock, and the publish is the one
    // ABORTED: then publish again); once the publish holds it, the
    // unpublish is ABORTED.
    loop {
        if busy.is_finished() {
            busy = start_publish();
        }
        match node
            .node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
            .await
        {
            Err(status) if status.code() == Code::Aborted => break,
            Err(status) => panic!("unexpected {status:?}"),
            Ok(_) => {}
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never saw the volume busy"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let again = node
        .node_publish_volume(pod.publish_request(&driver, VOLUME, &jwt))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::Aborted);
    busy.abort();
}

#[tokio::test]
async fn concurrent_operations_on_one_volume_are_aborted_or_succeed_with_one_mount() {
    let driver = Driver::start().await;
    let (pod, jwt) = injected_pod();
    let channel = driver.channel().await;
    let calls = (0..32).map(|_| {
        let mut node = vault_csi_driver::csi::proto::node_client::NodeClient::new(channel.clone());
        let request = pod.publish_request(&driver, VOLUME, &jwt);
        tokio::spawn(async move { node.node_publish_volume(request).await })
    });
    let mut ok = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(status) => assert_eq!(status.code(), Code::Aborted, "{status:?}"),
        }
    }
    assert!(ok >= 1);
    assert_eq!(mounts_below(driver.dir()).len(), 1);
}

#[tokio::test]
async fn request_logs_redact_tokens_and_secrets() {
    let driver = Driver::start().await;
    let (pod, jwt) = injected_pod();
    let mut request = pod.publish_request(&driver, VOLUME, &jwt);
    request.secrets = HashMap::from([(
        TOKENS_KEY.to_string(),
        serde_json::json!({"vault": {"token": jwt}}).to_string(),
    )]);
    driver
        .node()
        .await
        .node_publish_volume(request)
        .await
        .unwrap();
    let log = driver.log();
    assert!(
        log.contains(&pod.id.pod_name),
        "the request is logged:\n{log}"
    );
    assert!(log.contains("<redacted>"), "{log}");
    assert!(!log.contains(&jwt), "{log}");
    assert!(
        !log.contains(jwt.split('.').nth(1).unwrap()),
        "no part of the JWT: {log}"
    );
}

#[tokio::test]
async fn socket_is_private_to_root() {
    let driver = Driver::start().await;
    let meta = std::fs::metadata(&driver.socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

#[tokio::test]
async fn a_stale_socket_is_replaced_on_restart() {
    let mut driver = Driver::start().await;
    driver.kill();
    assert!(driver.socket.exists(), "SIGKILL leaves the socket behind");
    driver.restart_with(Default::default()).await;
    let probe = driver
        .identity()
        .await
        .probe(ProbeRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(probe.ready, Some(true));
}

#[tokio::test]
async fn a_regular_file_at_the_socket_path_is_not_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("csi.sock");
    std::fs::write(&path, "not a socket").unwrap();
    std::fs::create_dir(dir.path().join("pods")).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"))
        .args([
            "serve",
            "--node-id",
            "n",
            "--vault-addr",
            "http://127.0.0.1:1",
        ])
        .args(["--kube-api-url", "http://127.0.0.1:1", "--endpoint"])
        .arg(&path)
        .arg("--kubelet-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a socket"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a socket");
}

#[tokio::test]
async fn sigterm_stops_gracefully_and_removes_the_socket() {
    let mut driver = Driver::start().await;
    let status = driver.terminate();
    assert!(status.success(), "{status}");
    assert!(!driver.socket.exists());
    assert!(driver.log().contains("SIGTERM"));
}

#[test]
fn version_and_help_describe_the_binary() {
    let bin = env!("CARGO_BIN_EXE_vault-csi-driver");
    let version = std::process::Command::new(bin)
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
    let help = std::process::Command::new(bin)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--endpoint",
        "--driver-name",
        "--node-id",
        "--kubelet-dir",
        "--tmpfs-size",
        "--log-format",
    ] {
        assert!(help.contains(flag), "{flag} missing from help");
    }
    for env in ["CSI_ENDPOINT", "NODE_NAME", "KUBELET_DIR", "TMPFS_SIZE"] {
        assert!(help.contains(env), "{env} missing from help");
    }
}

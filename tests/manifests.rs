//! The deployment manifests: deploy/daemonset (what `kubectl apply -k`
//! installs) and deploy/examples.
//!
//! First the invariants kubelet, the driver and its sidecars rely on, read
//! from the YAML itself; then the Kubernetes schemas (kubernetes-validate)
//! and a security scan (checkov), the tools cluster admins' CI runs; last,
//! vault-setup.sh against a real OpenBao and the examples' annotations
//! rendered by the driver.

mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml_ng::Value;
use support::checkov;

const DRIVER: &str = "vault-csi-driver";
const NAMESPACE: &str = "vault-csi";
const KUBELET_DIR: &str = "/var/lib/kubelet";
const AUDIENCE: &str = "vault";
/// The schemas the manifests are checked against; `deploy/compat/before-1.35`
/// is checked against [`OLDEST_KUBERNETES`].
const KUBERNETES_VERSION: &str = "1.35.0";
/// The oldest API server the manifests support, with the compat component.
const OLDEST_KUBERNETES: &str = "1.34.0";

// ---- reading the manifests --------------------------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn install_dir() -> PathBuf {
    repo().join("deploy/daemonset")
}

fn examples_dir() -> PathBuf {
    repo().join("deploy/examples")
}

/// Every YAML document in a file (a file may hold several).
fn documents(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| {
            Value::deserialize(doc).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml") || name.ends_with(".yml"))
        .collect()
}

fn kustomization() -> Value {
    documents(&install_dir().join("kustomization.yaml")).remove(0)
}

/// The resource files the kustomization lists, in order.
fn resource_files() -> Vec<String> {
    strings(&kustomization()["resources"])
}

/// Every object `kubectl apply -k deploy/daemonset` creates.
fn install() -> Vec<Value> {
    resource_files()
        .iter()
        .flat_map(|file| documents(&install_dir().join(file)))
        .collect()
}

fn objects_of_kind(objects: &[Value], kind: &str) -> Vec<Value> {
    objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some(kind))
        .cloned()
        .collect()
}

/// The one object of `kind` in the install.
fn object(kind: &str) -> Value {
    let mut found = objects_of_kind(&install(), kind);
    assert_eq!(found.len(), 1, "expected exactly one {kind} in the install");
    found.remove(0)
}

fn pod_spec() -> Value {
    object("DaemonSet")["spec"]["template"]["spec"].clone()
}

fn containers() -> Vec<Value> {
    seq(&pod_spec()["containers"]).to_vec()
}

fn container(name: &str) -> Value {
    containers()
        .into_iter()
        .find(|c| c["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no container {name:?} in the DaemonSet"))
}

fn driver() -> Value {
    container(DRIVER)
}

fn registrar() -> Value {
    container("node-driver-registrar")
}

fn liveness_probe() -> Value {
    container("liveness-probe")
}

fn seq(value: &Value) -> &[Value] {
    value.as_sequence().map(Vec::as_slice).unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    seq(value)
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

fn str_of<'a>(value: &'a Value, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value:?}"))
}

/// The value of `--name=value` in a container's args.
fn flag(container: &Value, name: &str) -> String {
    let prefix = format!("{name}=");
    strings(&container["args"])
        .into_iter()
        .find_map(|arg| arg.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("{} has no {name}=", container["name"].as_str().unwrap()))
}

/// The port of an address like `:9810` or `0.0.0.0:9810`.
fn port_of(address: &str) -> u64 {
    address
        .rsplit_once(':')
        .and_then(|(_, port)| port.parse().ok())
        .unwrap_or_else(|| panic!("{address:?} has no port"))
}

/// A probe's port as a number, resolving a named port of the container.
fn probe_port(container: &Value, probe: &str) -> u64 {
    let handler = &container[probe];
    let port = match &handler["httpGet"] {
        Value::Null => &handler["tcpSocket"]["port"],
        http => &http["port"],
    };
    match port {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(name) => seq(&container["ports"])
            .iter()
            .find(|p| p["name"].as_str() == Some(name))
            .and_then(|p| p["containerPort"].as_u64())
            .unwrap_or_else(|| panic!("no port named {name:?}")),
        other => panic!("{probe} has no port: {other:?}"),
    }
}

fn volume(name: &str) -> Value {
    seq(&pod_spec()["volumes"])
        .iter()
        .find(|v| v["name"].as_str() == Some(name))
        .cloned()
        .unwrap_or_else(|| panic!("no volume {name:?} in the DaemonSet"))
}

fn host_path(volume_name: &str) -> String {
    let volume = volume(volume_name);
    normalise(str_of(&volume["hostPath"]["path"], "hostPath.path"))
}

/// The mount of `volume_name` in `container`.
fn mount(container: &Value, volume_name: &str) -> Value {
    seq(&container["volumeMounts"])
        .iter()
        .find(|m| m["name"].as_str() == Some(volume_name))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{} does not mount {volume_name:?}",
                container["name"].as_str().unwrap()
            )
        })
}

/// The volume mounted at `path` in `container`.
fn volume_mounted_at(container: &Value, path: &str) -> String {
    seq(&container["volumeMounts"])
        .iter()
        .find(|m| m["mountPath"].as_str().map(normalise) == Some(normalise(path)))
        .and_then(|m| m["name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            panic!(
                "{} mounts nothing at {path}",
                container["name"].as_str().unwrap()
            )
        })
}

fn normalise(path: &str) -> String {
    match path.trim_end_matches('/') {
        "" => "/".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

fn config_map_data() -> Value {
    let name = str_of(
        &seq(&driver()["envFrom"])[0]["configMapRef"]["name"],
        "envFrom configMapRef",
    )
    .to_owned();
    let map = objects_of_kind(&install(), "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"].as_str() == Some(&name))
        .unwrap_or_else(|| panic!("the install has no ConfigMap {name:?}"));
    map["data"].clone()
}

/// A container's socket path: `/csi/csi.sock` from `unix:///csi/csi.sock`.
fn socket_in_container(endpoint: &str) -> String {
    endpoint
        .strip_prefix("unix://")
        .unwrap_or(endpoint)
        .to_owned()
}

/// Where `path` inside `container` lives on the host, through its hostPath mounts.
fn host_path_of(container: &Value, path: &str) -> String {
    let path = Path::new(path);
    let dir = path.parent().unwrap().to_str().unwrap();
    let volume = volume_mounted_at(container, dir);
    format!(
        "{}/{}",
        host_path(&volume),
        path.file_name().unwrap().to_str().unwrap()
    )
}

// ---- the install ------------------------------------------------------------

#[test]
fn kustomization_lists_every_manifest_of_its_directory() {
    let mut on_disk = yaml_files(&install_dir());
    on_disk.remove("kustomization.yaml");
    let listed: BTreeSet<String> = resource_files().into_iter().collect();
    assert_eq!(listed, on_disk);
}

#[test]
fn the_install_has_every_object_the_driver_needs() {
    let kinds: BTreeSet<String> = install()
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "CSIDriver",
        "ConfigMap",
        "DaemonSet",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
}

#[test]
fn namespaced_objects_live_in_the_driver_namespace() {
    assert_eq!(kustomization()["namespace"].as_str(), Some(NAMESPACE));
    assert_eq!(
        object("Namespace")["metadata"]["name"].as_str(),
        Some(NAMESPACE)
    );
    let cluster_scoped = [
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CSIDriver",
    ];
    for o in install() {
        let kind = o["kind"].as_str().unwrap();
        if !cluster_scoped.contains(&kind) {
            assert_eq!(
                o["metadata"]["namespace"].as_str(),
                Some(NAMESPACE),
                "{kind}"
            );
        }
    }
}

#[test]
fn the_namespace_admits_privileged_pods() {
    let labels = &object("Namespace")["metadata"]["labels"];
    assert_eq!(
        labels["pod-security.kubernetes.io/enforce"].as_str(),
        Some("privileged")
    );
}

#[test]
fn the_webhook_component_is_offered_commented_out() {
    let text = std::fs::read_to_string(install_dir().join("kustomization.yaml")).unwrap();
    assert!(
        kustomization()["components"].is_null(),
        "must stay optional"
    );
    let commented: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .collect();
    assert!(commented.iter().any(|l| l.contains("components:")));
    assert!(commented.iter().any(|l| l.ends_with("- ../webhook")));
}

// ---- CSIDriver ----------------------------------------------------------------

#[test]
fn csidriver_spec_is_exactly_spec_section_1() {
    let expected: Value = serde_yaml_ng::from_str(
        r#"
        attachRequired: false
        podInfoOnMount: true
        volumeLifecycleModes: [Ephemeral]
        requiresRepublish: true
        tokenRequests: [{audience: vault, expirationSeconds: 3600}]
        serviceAccountTokenInSecrets: true
        fsGroupPolicy: None
        "#,
    )
    .unwrap();
    assert_eq!(object("CSIDriver")["spec"], expected);
}

#[test]
fn csidriver_name_is_the_name_the_driver_registers() {
    assert_eq!(
        object("CSIDriver")["metadata"]["name"].as_str(),
        Some(DRIVER)
    );
    assert_eq!(flag(&driver(), "--driver-name"), DRIVER);
}

#[test]
fn the_driver_logs_in_with_the_audience_the_csidriver_requests() {
    let requested = str_of(
        &object("CSIDriver")["spec"]["tokenRequests"][0]["audience"],
        "audience",
    )
    .to_owned();
    // The flag's default is "vault"; the ConfigMap may set it.
    let configured = config_map_data()["VAULT_AUDIENCE"]
        .as_str()
        .unwrap_or(AUDIENCE)
        .to_owned();
    assert_eq!(configured, requested);
}

// ---- sockets and kubelet's directories ----------------------------------------

#[test]
fn registrar_and_livenessprobe_connect_to_the_driver_socket() {
    let socket = socket_in_container(&flag(&driver(), "--endpoint"));
    assert_eq!(flag(&registrar(), "--csi-address"), socket);
    assert_eq!(flag(&liveness_probe(), "--csi-address"), socket);
    // ... through the same host directory.
    let dir = Path::new(&socket).parent().unwrap().to_str().unwrap();
    let driver_volume = volume_mounted_at(&driver(), dir);
    assert_eq!(volume_mounted_at(&registrar(), dir), driver_volume);
    assert_eq!(volume_mounted_at(&liveness_probe(), dir), driver_volume);
}

#[test]
fn kubelet_registration_path_is_the_driver_socket_on_the_host() {
    let socket = socket_in_container(&flag(&driver(), "--endpoint"));
    let on_host = host_path_of(&driver(), &socket);
    assert_eq!(on_host, format!("{KUBELET_DIR}/plugins/{DRIVER}/csi.sock"));
    assert_eq!(flag(&registrar(), "--kubelet-registration-path"), on_host);
}

#[test]
fn the_registrar_registers_in_kubelets_plugin_registry() {
    let volume = volume_mounted_at(&registrar(), "/registration");
    assert_eq!(
        host_path(&volume),
        format!("{KUBELET_DIR}/plugins_registry")
    );
}

#[test]
fn kubelet_pods_dir_is_mounted_bidirectionally_at_its_host_path() {
    let pods = format!("{KUBELET_DIR}/pods");
    assert_eq!(flag(&driver(), "--kubelet-dir"), KUBELET_DIR);
    let volume = volume_mounted_at(&driver(), &pods);
    assert_eq!(host_path(&volume), pods);
    assert_eq!(
        mount(&driver(), &volume)["mountPropagation"].as_str(),
        Some("Bidirectional")
    );
}

#[test]
fn no_sidecar_sees_kubelets_pods_dir() {
    for c in [registrar(), liveness_probe()] {
        for m in seq(&c["volumeMounts"]) {
            let name = m["name"].as_str().unwrap();
            if let Some(path) = volume(name)["hostPath"]["path"].as_str() {
                assert!(
                    !normalise(path).starts_with(&format!("{KUBELET_DIR}/pods")),
                    "{} mounts {path}",
                    c["name"].as_str().unwrap()
                );
            }
        }
    }
}

#[test]
fn the_state_dir_is_on_the_host_so_volumes_outlive_the_driver() {
    let state_dir = flag(&driver(), "--state-dir");
    let volume = volume_mounted_at(&driver(), &state_dir);
    assert_eq!(host_path(&volume), normalise(&state_dir));
}

#[test]
fn the_state_dir_is_under_run_so_records_end_with_the_boot_like_the_volumes() {
    let state_dir = flag(&driver(), "--state-dir");
    let volume = volume_mounted_at(&driver(), &state_dir);
    assert!(host_path(&volume).starts_with("/run/"), "{state_dir}");
}

#[test]
fn the_node_id_comes_from_the_downward_api() {
    let env = seq(&driver()["env"])
        .iter()
        .find(|e| e["name"].as_str() == Some("NODE_NAME"))
        .cloned()
        .expect("NODE_NAME");
    assert_eq!(
        env["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
        Some("spec.nodeName")
    );
}

/// `vault-csi-driver <args> --help`: clap refuses an unknown flag before it
/// prints the help, so success means every flag exists.
fn driver_help_with(args: &[String]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"))
        .args(args)
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the driver refuses the DaemonSet's arguments: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_driver_binary_accepts_the_daemonsets_arguments() {
    let args = strings(&driver()["args"]);
    assert_eq!(args[0], "serve");
    driver_help_with(&args);
    let metrics = flag(&driver(), "--metrics-addr");
    assert!(
        metrics.parse::<std::net::SocketAddr>().is_ok(),
        "{metrics:?} is not a socket address"
    );
}

#[test]
fn config_map_keys_are_variables_the_driver_reads() {
    let help = driver_help_with(&["serve".to_owned()]);
    let data = config_map_data();
    for key in data.as_mapping().unwrap().keys() {
        let key = key.as_str().unwrap();
        // RUST_LOG is read by the log filter, not by a flag.
        if key != "RUST_LOG" {
            assert!(help.contains(&format!("[env: {key}=")), "{key}");
        }
    }
}

// ---- settings and trust -------------------------------------------------------

#[test]
fn settings_come_from_one_config_map_with_the_vault_address() {
    assert_eq!(seq(&driver()["envFrom"]).len(), 1);
    let address = str_of(&config_map_data()["VAULT_ADDR"], "VAULT_ADDR").to_owned();
    assert!(address.starts_with("https://"), "{address}");
}

#[test]
fn tls_material_for_vault_is_mounted_read_only() {
    let m = mount(&driver(), "vault-tls");
    assert_eq!(m["readOnly"].as_bool(), Some(true));
    let sources = seq(&volume("vault-tls")["projected"]["sources"]).to_vec();
    assert!(sources.iter().any(|s| !s["configMap"].is_null()));
    assert!(sources.iter().any(|s| !s["secret"].is_null()));
}

#[test]
fn the_config_map_never_turns_off_tls_verification() {
    assert!(config_map_data()["VAULT_SKIP_VERIFY"].is_null());
}

// ---- RBAC and the driver's own token --------------------------------------------

#[test]
fn the_cluster_role_grants_reading_pods_create_patch_events_and_get_configmaps_only() {
    let mut granted = BTreeSet::new();
    for rule in seq(&object("ClusterRole")["rules"]) {
        assert!(rule["resourceNames"].is_null() && rule["nonResourceURLs"].is_null());
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    granted.insert(format!("{group}/{resource}:{verb}"));
                }
            }
        }
    }
    let allowed: BTreeSet<String> = [
        "/pods:get",
        "/pods:list",
        "/pods:watch",
        "/events:create",
        "/events:patch",
        "/configmaps:get",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(granted, allowed);
}

#[test]
fn the_cluster_role_binding_binds_the_daemonsets_service_account() {
    let binding = object("ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["kind"].as_str(), Some("ClusterRole"));
    assert_eq!(
        binding["roleRef"]["name"],
        object("ClusterRole")["metadata"]["name"]
    );
    let subjects = seq(&binding["subjects"]);
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0]["kind"].as_str(), Some("ServiceAccount"));
    assert_eq!(subjects[0]["name"], pod_spec()["serviceAccountName"]);
    assert_eq!(
        subjects[0]["name"],
        object("ServiceAccount")["metadata"]["name"]
    );
    assert_eq!(subjects[0]["namespace"].as_str(), Some(NAMESPACE));
}

#[test]
fn only_the_driver_container_gets_an_api_token() {
    assert_eq!(
        pod_spec()["automountServiceAccountToken"].as_bool(),
        Some(false)
    );
    let token_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    let volume_name = volume_mounted_at(&driver(), token_dir);
    let sources = seq(&volume(&volume_name)["projected"]["sources"]).to_vec();
    assert!(sources.iter().any(|s| !s["serviceAccountToken"].is_null()));
    for c in [registrar(), liveness_probe()] {
        assert!(
            seq(&c["volumeMounts"])
                .iter()
                .all(|m| m["name"].as_str() != Some(volume_name.as_str())),
            "{}",
            c["name"].as_str().unwrap()
        );
    }
}

// ---- security contexts ------------------------------------------------------------

#[test]
fn only_the_driver_container_is_privileged() {
    for c in containers() {
        let privileged = c["securityContext"]["privileged"].as_bool() == Some(true);
        assert_eq!(
            privileged,
            c["name"].as_str() == Some(DRIVER),
            "{}",
            c["name"].as_str().unwrap()
        );
    }
}

#[test]
fn sidecars_hold_no_capability_and_cannot_escalate() {
    for c in [registrar(), liveness_probe()] {
        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
        assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"]);
        assert!(sc["capabilities"]["add"].is_null());
    }
}

#[test]
fn every_container_has_a_read_only_root_filesystem() {
    for c in containers() {
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"].as_bool(),
            Some(true),
            "{}",
            c["name"].as_str().unwrap()
        );
    }
}

#[test]
fn the_pod_uses_the_runtime_default_seccomp_profile() {
    assert_eq!(
        pod_spec()["securityContext"]["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );
}

// ---- images ---------------------------------------------------------------------------

#[test]
fn every_image_is_pinned_to_a_version() {
    for c in containers() {
        let image = str_of(&c["image"], "image");
        let name_and_tag = image.split('@').next().unwrap();
        let tag = name_and_tag
            .rsplit_once(':')
            .filter(|(_, tag)| !tag.contains('/'))
            .map(|(_, tag)| tag)
            .unwrap_or_else(|| panic!("{image} has no tag"));
        assert_ne!(tag, "latest", "{image}");
    }
}

#[test]
fn sidecar_images_are_pinned_by_digest() {
    for c in [registrar(), liveness_probe()] {
        let image = str_of(&c["image"], "image");
        let digest = image
            .split_once("@sha256:")
            .map(|(_, d)| d)
            .unwrap_or_else(|| panic!("{image} has no digest"));
        assert!(
            digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
            "{image}"
        );
    }
}

#[test]
fn the_driver_image_is_set_in_the_kustomization() {
    let image = str_of(&driver()["image"], "image").to_owned();
    let (name, tag) = image.rsplit_once(':').unwrap();
    let entry = seq(&kustomization()["images"])
        .iter()
        .find(|i| i["name"].as_str() == Some(name))
        .cloned()
        .unwrap_or_else(|| panic!("no images entry for {name}"));
    assert_eq!(entry["newTag"].as_str(), Some(tag));
    assert_eq!(tag, env!("CARGO_PKG_VERSION"));
}

// ---- scheduling and updates ------------------------------------------------------------

#[test]
fn the_daemonset_tolerates_every_taint() {
    let tolerations = seq(&pod_spec()["tolerations"]).to_vec();
    assert!(
        tolerations
            .iter()
            .any(|t| t["operator"].as_str() == Some("Exists") && t["key"].is_null()),
        "{tolerations:?}"
    );
}

#[test]
fn the_daemonset_runs_at_node_critical_priority() {
    assert_eq!(
        pod_spec()["priorityClassName"].as_str(),
        Some("system-node-critical")
    );
}

#[test]
fn updates_roll_node_by_node_without_two_drivers_on_a_node() {
    let strategy = &object("DaemonSet")["spec"]["updateStrategy"];
    assert_eq!(strategy["type"].as_str(), Some("RollingUpdate"));
    assert!(!strategy["rollingUpdate"]["maxUnavailable"].is_null());
    assert_eq!(strategy["rollingUpdate"]["maxSurge"].as_u64(), Some(0));
}

// ---- probes and resources -----------------------------------------------------------

#[test]
fn driver_liveness_is_a_csi_probe_through_the_livenessprobe_sidecar() {
    let sidecar_port = port_of(&flag(&liveness_probe(), "--http-endpoint"));
    assert_eq!(probe_port(&driver(), "livenessProbe"), sidecar_port);
    assert_eq!(
        driver()["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
}

#[test]
fn driver_readiness_and_startup_are_served_on_the_metrics_address() {
    let metrics_port = port_of(&flag(&driver(), "--metrics-addr"));
    assert_eq!(probe_port(&driver(), "readinessProbe"), metrics_port);
    assert_eq!(
        driver()["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(probe_port(&driver(), "startupProbe"), metrics_port);
    assert_eq!(
        driver()["startupProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
}

#[test]
fn the_registrar_is_probed_on_its_http_endpoint() {
    let port = port_of(&flag(&registrar(), "--http-endpoint"));
    assert_eq!(probe_port(&registrar(), "livenessProbe"), port);
}

#[test]
fn every_container_has_liveness_and_readiness_probes() {
    for c in containers() {
        for probe in ["livenessProbe", "readinessProbe"] {
            assert!(
                !c[probe].is_null(),
                "{} has no {probe}",
                c["name"].as_str().unwrap()
            );
        }
    }
}

#[test]
fn the_metrics_port_is_the_only_one_the_network_policy_admits() {
    let policy = object("NetworkPolicy");
    let rules = seq(&policy["spec"]["ingress"]);
    assert_eq!(rules.len(), 1);
    let ports = seq(&rules[0]["ports"]);
    assert_eq!(ports.len(), 1);
    let port = match &ports[0]["port"] {
        Value::String(name) => {
            let c = driver();
            seq(&c["ports"])
                .iter()
                .find(|p| p["name"].as_str() == Some(name))
                .and_then(|p| p["containerPort"].as_u64())
                .expect("named port")
        }
        other => other.as_u64().expect("port"),
    };
    assert_eq!(port, port_of(&flag(&driver(), "--metrics-addr")));
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        object("DaemonSet")["spec"]["selector"]["matchLabels"]
    );
}

#[test]
fn every_container_requests_resources_and_limits_memory() {
    for c in containers() {
        let r = &c["resources"];
        let name = c["name"].as_str().unwrap();
        assert!(!r["requests"]["cpu"].is_null(), "{name}");
        assert!(!r["requests"]["memory"].is_null(), "{name}");
        assert!(!r["limits"]["memory"].is_null(), "{name}");
    }
}

#[test]
fn driver_resources_fit_its_measured_footprint() {
    // ~25 MiB resident with 110 volumes, ~2% of a core per refresh cycle.
    let r = &driver()["resources"];
    assert_eq!(r["requests"]["cpu"].as_str(), Some("20m"));
    assert_eq!(r["requests"]["memory"].as_str(), Some("48Mi"));
    assert_eq!(r["limits"]["memory"].as_str(), Some("256Mi"));
}

// ---- examples -------------------------------------------------------------------------

/// Every Pod spec in the examples, with its metadata: Pods as they are,
/// workloads' Pod templates.
fn example_pods() -> Vec<(String, Value, Value)> {
    let mut pods = Vec::new();
    for file in yaml_files(&examples_dir()) {
        for o in documents(&examples_dir().join(&file)) {
            let (meta, spec) = match o["kind"].as_str() {
                Some("Pod") => (o["metadata"].clone(), o["spec"].clone()),
                Some("Deployment" | "Job" | "StatefulSet" | "DaemonSet") => (
                    o["spec"]["template"]["metadata"].clone(),
                    o["spec"]["template"]["spec"].clone(),
                ),
                _ => continue,
            };
            pods.push((
                format!("{file}: {}", o["kind"].as_str().unwrap()),
                meta,
                spec,
            ));
        }
    }
    pods
}

#[test]
fn examples_cover_a_pod_a_deployment_and_a_job() {
    let names: Vec<String> = example_pods().into_iter().map(|(n, _, _)| n).collect();
    for kind in ["Pod", "Deployment", "Job"] {
        assert!(names.iter().any(|n| n.ends_with(kind)), "{names:?}");
    }
}

#[test]
fn example_pods_declare_an_inline_read_only_volume_of_the_driver() {
    for (name, _, spec) in example_pods() {
        let volumes: Vec<&Value> = seq(&spec["volumes"])
            .iter()
            .filter(|v| v["csi"]["driver"].as_str() == Some(DRIVER))
            .collect();
        assert!(!volumes.is_empty(), "{name}");
        for v in volumes {
            assert_eq!(v["csi"]["readOnly"].as_bool(), Some(true), "{name}");
            for c in seq(&spec["containers"]) {
                for m in seq(&c["volumeMounts"]) {
                    if m["name"] == v["name"] {
                        assert_eq!(m["readOnly"].as_bool(), Some(true), "{name}");
                    }
                }
            }
        }
    }
}

#[test]
fn example_pods_are_selected_for_injection_with_a_role() {
    for (name, meta, _) in example_pods() {
        let a = &meta["annotations"];
        assert_eq!(
            a["vault.hashicorp.com/agent-inject"].as_str(),
            Some("true"),
            "{name}"
        );
        assert!(a["vault.hashicorp.com/role"].as_str().is_some(), "{name}");
    }
}

#[test]
fn the_example_job_runs_to_completion() {
    let job = documents(&examples_dir().join("job.yaml"))
        .into_iter()
        .find(|o| o["kind"].as_str() == Some("Job"))
        .expect("a Job");
    let spec = &job["spec"]["template"]["spec"];
    assert_eq!(spec["restartPolicy"].as_str(), Some("Never"));
    // No long-running container beside the one doing the work.
    assert_eq!(seq(&spec["containers"]).len(), 1);
}

#[test]
fn vault_setup_binds_its_roles_to_the_csidriver_audience_and_example_accounts() {
    let script = std::fs::read_to_string(examples_dir().join("vault-setup.sh")).unwrap();
    assert!(script.contains(&format!("AUDIENCE=\"${{AUDIENCE:-{AUDIENCE}}}\"")));
    let accounts: BTreeSet<String> = example_pods()
        .iter()
        .map(|(_, _, spec)| str_of(&spec["serviceAccountName"], "serviceAccountName").to_owned())
        .collect();
    for account in &accounts {
        assert!(
            script.contains(&format!("bound_service_account_names={account} ")),
            "no role for {account}"
        );
    }
}

// ---- kubernetes-validate and checkov ------------------------------------------------------

fn python_module_available(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Every Kubernetes manifest of the repository (kustomization.yaml is not one).
fn manifest_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [install_dir(), examples_dir()] {
        for name in yaml_files(&dir) {
            if name != "kustomization.yaml" {
                files.push(dir.join(name));
            }
        }
    }
    files
}

#[test]
fn kubernetes_validate_accepts_every_manifest_strictly() {
    assert!(
        python_module_available("kubernetes_validate"),
        "kubernetes-validate is missing: pip install kubernetes-validate (make deps installs it)"
    );
    let output = Command::new("python3")
        .args([
            "-m",
            "kubernetes_validate",
            "-k",
            KUBERNETES_VERSION,
            "--strict",
            "--quiet",
        ])
        .args(manifest_files())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn checkov_suppressions_are_the_reviewed_ones_and_give_reasons() {
    for o in install() {
        let Some(annotations) = o["metadata"]["annotations"].as_mapping() else {
            continue;
        };
        for (key, value) in annotations {
            let key = key.as_str().unwrap();
            if !key.starts_with("checkov.io/skip") {
                continue;
            }
            let value = str_of(value, key);
            let (id, reason) = value
                .split_once('=')
                .unwrap_or_else(|| panic!("{key}: no reason after the check id"));
            assert!(
                checkov::REVIEWED_SUPPRESSIONS.contains(&id),
                "{id} is not a reviewed suppression"
            );
            assert!(reason.split_whitespace().count() >= 5, "{id}: {reason:?}");
            assert_eq!(o["kind"].as_str(), Some("DaemonSet"), "{id}");
        }
    }
}

#[test]
fn checkov_finds_nothing_in_the_install_but_the_reviewed_suppressions() {
    // The examples stand for app teams' own workloads and are left out.
    let report = checkov::scan(
        &repo(),
        Path::new("deploy"),
        &["--skip-path", "deploy/examples"],
    );
    assert_eq!(report.failed, 0, "{:#?}", report.findings);
    assert_eq!(report.parsing_errors, 0);
    assert_eq!(
        report.skipped,
        suppressions_in(&[
            "daemonset",
            "webhook",
            "compat/before-1.35",
            "platform/gke",
            "platform/openshift"
        ])
    );
}

/// How many `checkov.io/skipN` annotations the manifests in these `deploy/`
/// folders carry: each must be what checkov skipped, no more.
fn suppressions_in(folders: &[&str]) -> u64 {
    let mut count = 0;
    for folder in folders {
        for entry in std::fs::read_dir(repo().join("deploy").join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                count += text.matches("checkov.io/skip").count() as u64;
            }
        }
    }
    count
}

// ---- vault-setup.sh and the examples against OpenBao ----------------------------------------

/// The Pod a manifest's workload would create, as the API server returns it.
fn pod_from(file: &str, kind: &str, id: &support::jwt::PodIdentity) -> serde_json::Value {
    let o = documents(&examples_dir().join(file))
        .into_iter()
        .find(|o| o["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} in {file}"));
    let (annotations, spec) = if kind == "Pod" {
        (o["metadata"]["annotations"].clone(), o["spec"].clone())
    } else {
        (
            o["spec"]["template"]["metadata"]["annotations"].clone(),
            o["spec"]["template"]["spec"].clone(),
        )
    };
    assert_eq!(
        spec["serviceAccountName"].as_str(),
        Some(id.service_account.as_str())
    );
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": id.pod_name,
            "namespace": id.namespace,
            "uid": id.pod_uid,
            "annotations": serde_json::to_value(&annotations).unwrap(),
        },
        "spec": serde_json::to_value(&spec).unwrap(),
    })
}

struct Rendered {
    dir: tempfile::TempDir,
    stdout: String,
}

impl Rendered {
    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}\n{}", self.stdout))
    }

    fn mode(&self, path: &str) -> u32 {
        std::fs::metadata(self.dir.path().join(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    fn uid(&self, path: &str) -> u32 {
        std::fs::metadata(self.dir.path().join(path)).unwrap().uid()
    }
}

/// `vault-csi-driver render` of the Pod into a fresh directory, logging in
/// with the Pod's token.
fn render(pod: &serde_json::Value, jwt: &str) -> (std::process::Output, tempfile::TempDir) {
    let work = tempfile::tempdir().unwrap();
    let pod_file = work.path().join("pod.json");
    let jwt_file = work.path().join("jwt");
    std::fs::write(&pod_file, pod.to_string()).unwrap();
    std::fs::write(&jwt_file, jwt).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"))
        .arg("render")
        .args(["--vault-addr", &examples_vault().bao.addr()])
        .arg("--pod")
        .arg(&pod_file)
        .arg("--jwt-file")
        .arg(&jwt_file)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    (output, dir)
}

/// A render that must succeed without warnings.
fn rendered(pod: &serde_json::Value, jwt: &str) -> Rendered {
    let (output, dir) = render(pod, jwt);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "render failed: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.contains("warning:"), "{stdout}");
    Rendered { dir, stdout }
}

/// An OpenBao set up by vault-setup.sh, and the stand-in API server whose
/// tokens it reviews.
struct ExamplesVault {
    bao: support::bao::BaoServer,
    kube: support::kube_api::KubeApi,
    ca_dir: tempfile::TempDir,
}

impl ExamplesVault {
    fn run_setup(&self) -> std::process::Output {
        let ca = self.ca_dir.path().join("kubernetes-ca.crt");
        Command::new("bash")
            .arg(examples_dir().join("vault-setup.sh"))
            .env("VAULT_BIN", support::bao::bao_binary())
            .env("VAULT_ADDR", self.bao.addr())
            .env("VAULT_TOKEN", self.bao.root_token())
            .env("BAO_ADDR", self.bao.addr())
            .env("BAO_TOKEN", self.bao.root_token())
            .env("K8S_HOST", self.kube.url())
            .env("K8S_CA_FILE", &ca)
            .env("K8S_ISSUER", support::jwt::ISSUER)
            .env(
                "REVIEWER_JWT",
                self.kube.api_token("kube-system", "vault-token-reviewer"),
            )
            .output()
            .unwrap()
    }

    /// A Pod identity in the examples' namespace and its token for the driver.
    fn pod(&self, account: &str, pod: &str) -> (support::jwt::PodIdentity, String) {
        let id = support::jwt::PodIdentity::new("shop", account, pod);
        let jwt = self.kube.mint(&id, AUDIENCE, Duration::from_secs(600));
        (id, jwt)
    }
}

fn examples_vault() -> &'static ExamplesVault {
    static VAULT: LazyLock<ExamplesVault> = LazyLock::new(|| {
        let vault = ExamplesVault {
            bao: support::bao::BaoServer::start_dev(),
            kube: support::kube_api::KubeApi::start(),
            ca_dir: tempfile::tempdir().unwrap(),
        };
        std::fs::write(
            vault.ca_dir.path().join("kubernetes-ca.crt"),
            support::bao::PLACEHOLDER_CA_PEM,
        )
        .unwrap();
        let setup = vault.run_setup();
        assert!(
            setup.status.success(),
            "vault-setup.sh failed:\n{}{}",
            String::from_utf8_lossy(&setup.stdout),
            String::from_utf8_lossy(&setup.stderr)
        );
        vault
    });
    &VAULT
}

fn is_env_file(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    text.ends_with('\n')
        && lines.len() == 2
        && lines[0] == "DB_USER=web"
        && lines[1]
            .strip_prefix("DB_PASSWORD=")
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[test]
fn vault_setup_binds_each_role_to_its_account_and_the_audience() {
    let bao = &examples_vault().bao;
    for role in ["web", "db-migrate"] {
        let data = &bao.api("GET", &format!("auth/kubernetes/role/{role}"), None)["data"];
        assert_eq!(data["audience"], AUDIENCE, "{role}");
        assert_eq!(
            data["bound_service_account_names"],
            serde_json::json!([role])
        );
        assert_eq!(
            data["bound_service_account_namespaces"],
            serde_json::json!(["shop"])
        );
    }
}

#[test]
fn vault_setup_can_run_again() {
    let again = examples_vault().run_setup();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn the_example_deployment_gets_an_owner_only_env_file_and_a_json_config() {
    let vault = examples_vault();
    let (id, jwt) = vault.pod("web", "web-7d4b9c-x2x8q");
    let files = rendered(&pod_from("deployment.yaml", "Deployment", &id), &jwt);
    assert!(is_env_file(&files.read("db.env")), "{}", files.stdout);
    assert_eq!(files.mode("db.env"), 0o400);
    if nix::unistd::geteuid().is_root() {
        assert_eq!(files.uid("db.env"), 10001);
    }
    let api: serde_json::Value = serde_json::from_str(&files.read("config/api.json")).unwrap();
    assert!(
        api["data"]["api-key"]
            .as_str()
            .is_some_and(|k| !k.is_empty())
    );
}

#[test]
fn the_example_job_gets_its_env_file() {
    let vault = examples_vault();
    let (id, jwt) = vault.pod("db-migrate", "db-migrate-5kq2d");
    let files = rendered(&pod_from("job.yaml", "Job", &id), &jwt);
    assert!(is_env_file(&files.read("db.env")), "{}", files.stdout);
    assert_eq!(files.mode("db.env"), 0o400);
}

#[test]
fn the_example_pod_gets_its_secrets_and_its_vault_token() {
    let vault = examples_vault();
    let (id, jwt) = vault.pod("web", "web-0");
    let files = rendered(&pod_from("pod.yaml", "Pod", &id), &jwt);
    assert!(files.read("db-creds").starts_with("data: map[password:"));
    assert_eq!(files.mode("config/api.txt"), 0o440);
    assert_eq!(files.mode("token"), 0o640);
    assert!(!files.read("token").is_empty());
}

#[test]
fn the_job_account_cannot_read_the_web_api_key() {
    let vault = examples_vault();
    // The Deployment's annotations, but the Job's account and role.
    let (_, jwt) = vault.pod("db-migrate", "sneaky-0");
    let (web, _) = vault.pod("web", "sneaky-0");
    let mut pod = pod_from("deployment.yaml", "Deployment", &web);
    pod["spec"]["serviceAccountName"] = serde_json::json!("db-migrate");
    pod["metadata"]["annotations"]["vault.hashicorp.com/role"] = serde_json::json!("db-migrate");
    let (output, _dir) = render(&pod, &jwt);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("permission denied for secret/data/web/api"),
        "{stderr}"
    );
}

#[test]
fn the_image_pins_its_bases_by_digest_and_carries_oci_labels() {
    let dockerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap();
    let bases: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("FROM "))
        .collect();
    assert_eq!(bases.len(), 2, "a build and a runtime stage");
    for base in bases {
        let image = base.split_whitespace().next().unwrap();
        let digest = image.split_once("@sha256:").map(|(_, d)| d).unwrap_or("");
        assert!(
            digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
            "{image} is not pinned by digest"
        );
    }
    for label in ["source", "version", "revision", "licenses"] {
        assert!(
            dockerfile.contains(&format!("org.opencontainers.image.{label}=")),
            "no OCI {label} label"
        );
    }
    assert!(dockerfile.contains("cargo auditable build"));
    assert!(dockerfile.contains("cargo cyclonedx"));
}

#[test]
fn the_csidriver_takes_tokens_in_secrets_and_a_component_serves_older_servers() {
    let path = install_dir().join("csidriver.yaml");
    let driver = &documents(&path)[0];
    assert_eq!(driver["spec"]["serviceAccountTokenInSecrets"], true);
    // The compat component's patch, applied as kustomize would.
    let component = &documents(&repo().join("deploy/compat/before-1.35/kustomization.yaml"))[0];
    let patch_text = component["patches"][0]["patch"].as_str().unwrap();
    let patch: json_patch::Patch = serde_yaml_ng::from_str(patch_text).unwrap();
    let mut older: serde_json::Value = serde_json::to_value(driver).unwrap();
    json_patch::patch(&mut older, &patch).unwrap();
    assert!(older["spec"].get("serviceAccountTokenInSecrets").is_none());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("csidriver.yaml");
    std::fs::write(&file, serde_yaml_ng::to_string(&older).unwrap()).unwrap();
    for (version, manifest, accepted) in [
        (OLDEST_KUBERNETES, &file, true),
        (OLDEST_KUBERNETES, &path, false),
        (KUBERNETES_VERSION, &path, true),
    ] {
        let output = Command::new("python3")
            .args([
                "-m",
                "kubernetes_validate",
                "-k",
                version,
                "--strict",
                "--quiet",
            ])
            .arg(manifest)
            .output()
            .unwrap();
        assert_eq!(
            output.status.success(),
            accepted,
            "{version} {}: {}{}",
            manifest.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

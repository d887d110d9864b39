//! `vault-csi-driver install`: every variant of the printed install passes
//! the tools admins' CI runs (kubernetes-validate, checkov), the options
//! reach every place they belong to, deploy/ is the default rendering, and
//! bad options are refused by name.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use serde_yaml_ng::Value;
use support::checkov;
use vault_csi_driver::install::{InstallOptions, tree};

const OTHER_NAMESPACE: &str = "secrets-system";
const K0S: &str = "/var/lib/k0s/kubelet";
const MICROK8S: &str = "/var/snap/microk8s/common/var/lib/kubelet";

/// Each variant: a name and its flags.
fn variants() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("default", vec![]),
        ("namespace", vec!["--namespace", OTHER_NAMESPACE]),
        ("kubelet-dir", vec!["--kubelet-dir", K0S]),
        ("webhook", vec!["--webhook"]),
        ("gke", vec!["--platform", "gke"]),
        ("openshift", vec!["--platform", "openshift"]),
        ("before-1.35", vec!["--kubernetes-version", "1.34"]),
        (
            "combined",
            vec![
                "--namespace",
                OTHER_NAMESPACE,
                "--kubelet-dir",
                MICROK8S,
                "--webhook",
                "--platform",
                "openshift",
                "--kubernetes-version",
                "1.34",
                "--image",
                "registry.example.com/platform/vault-csi-driver:0.1.0",
            ],
        ),
        (
            "gke-webhook",
            vec![
                "--namespace",
                OTHER_NAMESPACE,
                "--webhook",
                "--platform",
                "gke",
            ],
        ),
    ]
}

/// The Kubernetes version a variant's schemas come from.
fn schema_version(flags: &[&str]) -> &'static str {
    if flags.contains(&"1.34") {
        "1.34.0"
    } else {
        "1.35.0"
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vault-csi-driver"))
        .arg("install")
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

/// The install printed for these flags.
fn install(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "install {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn objects(stream: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(stream)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn of_kind(objects: &[Value], kind: &str) -> Vec<Value> {
    objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some(kind))
        .cloned()
        .collect()
}

fn one(objects: &[Value], kind: &str) -> Value {
    let mut found = of_kind(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}");
    found.remove(0)
}

fn seq(v: &Value) -> &[Value] {
    v.as_sequence().map(Vec::as_slice).unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    seq(v)
        .iter()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

/// Every string value in an object, with its path.
fn string_values(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                string_values(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Mapping(map) => {
            for (k, item) in map {
                string_values(item, &format!("{path}.{}", k.as_str().unwrap_or("?")), out);
            }
        }
        _ => {}
    }
}

fn pod_spec(o: &Value) -> &Value {
    &o["spec"]["template"]["spec"]
}

fn python_module(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

// ---- the tools --------------------------------------------------------------

/// Kinds no Kubernetes schema covers: cert-manager's (webhook certificate)
/// and OpenShift's SCC, checked structurally below.
const KINDS_WITHOUT_SCHEMA: [&str; 3] = ["Issuer", "Certificate", "SecurityContextConstraints"];

#[test]
fn every_variant_passes_kubernetes_validate_strictly_for_its_version() {
    assert!(
        python_module("kubernetes_validate"),
        "kubernetes-validate is missing: pip install kubernetes-validate (make deps installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    for version in ["1.34.0", "1.35.0"] {
        let mut files = Vec::new();
        for (name, flags) in variants() {
            if schema_version(&flags) == version {
                let file = dir.path().join(format!("{name}.yaml"));
                std::fs::write(&file, install(&flags)).unwrap();
                files.push(file);
            }
        }
        let out = Command::new("python3")
            .args(["-m", "kubernetes_validate", "-k", version, "--strict"])
            .args(["--quiet"])
            .args(&files)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{version}: {report}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // An unknown kind only warns: make sure each is one we expect,
        // not a misspelt apiVersion that escaped its schema.
        for line in report.lines().filter(|l| l.starts_with("WARN")) {
            assert!(
                KINDS_WITHOUT_SCHEMA
                    .iter()
                    .any(|k| line.contains(&format!("kind {k} with"))),
                "{line}"
            );
        }
    }
}

#[test]
fn every_variant_passes_checkov_with_only_the_reviewed_suppressions() {
    // checkov skips hidden directories, as tempdir()'s `.tmpXXXX` is.
    let dir = tempfile::Builder::new()
        .prefix("install-checkov-")
        .tempdir()
        .unwrap();
    let mut suppressions = 0;
    for (name, flags) in variants() {
        let stream = install(&flags);
        for o in objects(&stream) {
            let mut values = Vec::new();
            string_values(&o["metadata"]["annotations"], "", &mut values);
            for (key, value) in values {
                if key.starts_with(".checkov.io/skip") {
                    let id = value.split('=').next().unwrap();
                    assert!(checkov::REVIEWED_SUPPRESSIONS.contains(&id), "{name}: {id}");
                    suppressions += 1;
                }
            }
        }
        // One directory per variant, so a finding names its variant.
        let variant_dir = dir.path().join(name);
        std::fs::create_dir(&variant_dir).unwrap();
        std::fs::write(variant_dir.join("install.yaml"), stream).unwrap();
    }
    let report = checkov::scan(dir.path(), dir.path(), &[]);
    assert!(report.passed > 0, "checkov checked nothing");
    assert_eq!(report.failed, 0, "{:#?}", report.findings);
    assert_eq!(report.parsing_errors, 0);
    assert_eq!(report.skipped, suppressions);
}

// ---- the options reach every place --------------------------------------------

#[test]
fn another_namespace_leaves_no_vault_csi_namespace_anywhere() {
    let not_a_name = regex::Regex::new(r"vault-csi($|[^-\w])").unwrap();
    for platform in ["gke", "openshift"] {
        let stream = install(&[
            "--namespace",
            OTHER_NAMESPACE,
            "--webhook",
            "--platform",
            platform,
        ]);
        // Comments too: they show admins the commands to run.
        for (n, line) in stream.lines().enumerate() {
            assert!(!not_a_name.is_match(line), "{platform} line {n}: {line}");
        }
        for o in objects(&stream) {
            let mut values = Vec::new();
            string_values(&o, "", &mut values);
            for (path, value) in values {
                assert!(
                    !not_a_name.is_match(&value),
                    "{} {path}: {value}",
                    o["kind"].as_str().unwrap()
                );
            }
        }
    }
}

#[test]
fn another_namespace_reaches_every_reference_to_it() {
    let ns = OTHER_NAMESPACE;
    let all = objects(&install(&[
        "--namespace",
        ns,
        "--webhook",
        "--platform",
        "openshift",
    ]));
    assert_eq!(
        one(&all, "Namespace")["metadata"]["name"].as_str(),
        Some(ns)
    );
    let cluster_scoped = [
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CSIDriver",
        "MutatingWebhookConfiguration",
        "SecurityContextConstraints",
    ];
    for o in &all {
        let kind = o["kind"].as_str().unwrap();
        if !cluster_scoped.contains(&kind) {
            assert_eq!(o["metadata"]["namespace"].as_str(), Some(ns), "{kind}");
        }
        for subject in seq(&o["subjects"]) {
            assert_eq!(subject["namespace"].as_str(), Some(ns), "{kind} subject");
        }
    }
    let config = one(&all, "MutatingWebhookConfiguration");
    let hook = &config["webhooks"][0];
    assert_eq!(
        hook["clientConfig"]["service"]["namespace"].as_str(),
        Some(ns)
    );
    assert_eq!(
        hook["name"].as_str(),
        Some(format!("vault-csi-webhook.{ns}.svc").as_str())
    );
    assert!(
        strings(&hook["namespaceSelector"]["matchExpressions"][0]["values"])
            .contains(&ns.to_owned())
    );
    let inject = config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
        .as_str()
        .unwrap();
    assert_eq!(inject, format!("{ns}/vault-csi-webhook"));
    let cert = of_kind(&all, "Certificate")
        .into_iter()
        .find(|c| c["metadata"]["name"].as_str() == Some("vault-csi-webhook"))
        .unwrap();
    assert_eq!(
        strings(&cert["spec"]["dnsNames"]),
        [
            format!("vault-csi-webhook.{ns}.svc"),
            format!("vault-csi-webhook.{ns}.svc.cluster.local")
        ]
    );
}

/// The DaemonSet's hostPaths and the path flags of its containers.
fn host_paths_and_path_flags(all: &[Value]) -> (Vec<String>, Vec<(String, String)>) {
    let ds = one(all, "DaemonSet");
    let spec = pod_spec(&ds);
    let host_paths = seq(&spec["volumes"])
        .iter()
        .filter_map(|v| v["hostPath"]["path"].as_str().map(str::to_owned))
        .collect();
    let mut flags = Vec::new();
    for c in seq(&spec["containers"]) {
        for arg in strings(&c["args"]) {
            if let Some((flag, value)) = arg.split_once('=')
                && value.starts_with('/')
            {
                flags.push((flag.to_owned(), value.to_owned()));
            }
        }
    }
    (host_paths, flags)
}

#[test]
fn another_kubelet_dir_moves_every_host_path_and_path_flag_under_it() {
    for dir in [K0S, MICROK8S] {
        let all = objects(&install(&["--kubelet-dir", dir]));
        let (host_paths, flags) = host_paths_and_path_flags(&all);
        assert_eq!(host_paths.len(), 4, "{host_paths:?}");
        for path in host_paths {
            // The state directory is the driver's own, under /run.
            assert!(
                path.starts_with(&format!("{dir}/")) || path == "/run/vault-csi-driver",
                "{path}"
            );
        }
        let flag = |name: &str| {
            flags
                .iter()
                .find(|(f, _)| f == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no {name}"))
        };
        assert_eq!(flag("--kubelet-dir"), dir);
        assert_eq!(
            flag("--kubelet-registration-path"),
            format!("{dir}/plugins/vault-csi-driver/csi.sock")
        );
        // Kubelet's target paths are host paths: the driver sees them at
        // the same place.
        let ds = one(&all, "DaemonSet");
        let driver = &pod_spec(&ds)["containers"][0];
        let pods = seq(&driver["volumeMounts"])
            .iter()
            .find(|m| m["name"].as_str() == Some("pods-dir"))
            .unwrap();
        assert_eq!(
            pods["mountPath"].as_str(),
            Some(format!("{dir}/pods").as_str())
        );
        assert_eq!(pods["mountPropagation"].as_str(), Some("Bidirectional"));
    }
}

#[test]
fn another_kubelet_dir_leaves_no_mention_of_var_lib_kubelet() {
    let stream = install(&["--kubelet-dir", K0S, "--webhook"]);
    assert!(
        !stream.contains("/var/lib/kubelet"),
        "{}",
        stream
            .lines()
            .filter(|l| l.contains("/var/lib/kubelet"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_image_option_sets_the_driver_and_webhook_images_only() {
    let image = "registry.example.com/platform/vault-csi-driver:1.2.3";
    let all = objects(&install(&["--image", image, "--webhook"]));
    let ds = one(&all, "DaemonSet");
    let deployment = one(&all, "Deployment");
    assert_eq!(
        pod_spec(&ds)["containers"][0]["image"].as_str(),
        Some(image)
    );
    assert_eq!(
        pod_spec(&deployment)["containers"][0]["image"].as_str(),
        Some(image)
    );
    for sidecar in &seq(&pod_spec(&ds)["containers"])[1..] {
        assert!(
            sidecar["image"]
                .as_str()
                .unwrap()
                .starts_with("registry.k8s.io/")
        );
    }
}

// ---- variants ----------------------------------------------------------------------

fn apply_compat_patch(csidriver: &Value) -> serde_json::Value {
    let component = repo().join("deploy/compat/before-1.35/kustomization.yaml");
    let component: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(component).unwrap()).unwrap();
    let patch: json_patch::Patch =
        serde_yaml_ng::from_str(component["patches"][0]["patch"].as_str().unwrap()).unwrap();
    let mut patched = serde_json::to_value(csidriver).unwrap();
    json_patch::patch(&mut patched, &patch).unwrap();
    patched
}

#[test]
fn before_1_35_the_csidriver_is_the_compat_components_patch_of_the_default() {
    let default = one(&objects(&install(&[])), "CSIDriver");
    let older = one(
        &objects(&install(&["--kubernetes-version", "1.34"])),
        "CSIDriver",
    );
    assert_eq!(default["spec"]["serviceAccountTokenInSecrets"], true);
    assert_eq!(
        serde_json::to_value(&older).unwrap(),
        apply_compat_patch(&default)
    );
}

#[test]
fn gke_gets_a_quota_admitting_every_critical_priority_class_the_pods_use() {
    let all = objects(&install(&[
        "--platform",
        "gke",
        "--webhook",
        "--namespace",
        OTHER_NAMESPACE,
    ]));
    let quota = one(&all, "ResourceQuota");
    assert_eq!(
        quota["metadata"]["namespace"].as_str(),
        Some(OTHER_NAMESPACE)
    );
    let expr = &quota["spec"]["scopeSelector"]["matchExpressions"][0];
    assert_eq!(expr["scopeName"].as_str(), Some("PriorityClass"));
    assert_eq!(expr["operator"].as_str(), Some("In"));
    let admitted = strings(&expr["values"]);
    let used: BTreeSet<String> = all
        .iter()
        .filter_map(|o| pod_spec(o)["priorityClassName"].as_str().map(str::to_owned))
        .filter(|c| c == "system-node-critical" || c == "system-cluster-critical")
        .collect();
    assert!(used.contains("system-node-critical"), "{used:?}");
    for class in &used {
        assert!(admitted.contains(class), "{class} not in {admitted:?}");
    }
    // Applied before the Pods that need it.
    let position = |kind: &str| all.iter().position(|o| o["kind"].as_str() == Some(kind));
    assert!(position("ResourceQuota") < position("DaemonSet"));
}

#[test]
fn only_gke_gets_the_quota() {
    for platform in ["generic", "openshift"] {
        assert!(
            of_kind(
                &objects(&install(&["--platform", platform])),
                "ResourceQuota"
            )
            .is_empty()
        );
    }
}

/// SecurityContextConstraints' fields and their types in OpenShift's API
/// (security.openshift.io/v1, the CRD's openAPIV3Schema); `?`: nullable,
/// `strategy`: an object whose `type` names a strategy.
const SCC_FIELDS: [(&str, &str); 27] = [
    ("apiVersion", "string"),
    ("kind", "string"),
    ("metadata", "object"),
    ("allowHostDirVolumePlugin", "bool"),
    ("allowHostIPC", "bool"),
    ("allowHostNetwork", "bool"),
    ("allowHostPID", "bool"),
    ("allowHostPorts", "bool"),
    ("allowPrivilegeEscalation", "bool?"),
    ("allowPrivilegedContainer", "bool"),
    ("allowedCapabilities", "strings?"),
    ("allowedFlexVolumes", "objects?"),
    ("allowedUnsafeSysctls", "strings?"),
    ("defaultAddCapabilities", "strings?"),
    ("defaultAllowPrivilegeEscalation", "bool?"),
    ("forbiddenSysctls", "strings?"),
    ("fsGroup", "strategy"),
    ("groups", "strings?"),
    ("priority", "int?"),
    ("readOnlyRootFilesystem", "bool"),
    ("requiredDropCapabilities", "strings?"),
    ("runAsUser", "strategy"),
    ("seLinuxContext", "strategy"),
    ("seccompProfiles", "strings?"),
    ("supplementalGroups", "strategy"),
    ("users", "strings?"),
    ("volumes", "strings?"),
];

/// Required by the CRD (nullable ones may be null, not absent).
const SCC_REQUIRED: [&str; 12] = [
    "allowHostDirVolumePlugin",
    "allowHostIPC",
    "allowHostNetwork",
    "allowHostPID",
    "allowHostPorts",
    "allowPrivilegedContainer",
    "allowedCapabilities",
    "defaultAddCapabilities",
    "priority",
    "readOnlyRootFilesystem",
    "requiredDropCapabilities",
    "volumes",
];

/// Strategy types OpenShift knows, per strategy field.
fn strategy_types(field: &str) -> &'static [&'static str] {
    match field {
        "runAsUser" => &[
            "MustRunAs",
            "MustRunAsRange",
            "MustRunAsNonRoot",
            "RunAsAny",
        ],
        "seLinuxContext" => &["MustRunAs", "RunAsAny"],
        _ => &["MustRunAs", "RunAsAny"],
    }
}

fn openshift_scc() -> (Value, Vec<Value>) {
    let all = objects(&install(&["--platform", "openshift", "--webhook"]));
    (one(&all, "SecurityContextConstraints"), all)
}

#[test]
fn the_openshift_scc_has_only_fields_of_openshifts_api_with_their_types() {
    let (scc, _) = openshift_scc();
    assert_eq!(scc["apiVersion"].as_str(), Some("security.openshift.io/v1"));
    let map = scc.as_mapping().unwrap();
    for required in SCC_REQUIRED {
        assert!(map.contains_key(required), "{required} is required");
    }
    for (key, value) in map {
        let key = key.as_str().unwrap();
        let kind = SCC_FIELDS
            .iter()
            .find(|(f, _)| *f == key)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("{key} is not a field of SecurityContextConstraints"));
        let nullable = kind.ends_with('?') || kind == "strategy";
        if value.is_null() {
            assert!(nullable, "{key} may not be null");
            continue;
        }
        let ok = match kind.trim_end_matches('?') {
            "string" => value.is_string(),
            "object" => value.is_mapping(),
            "bool" => value.is_bool(),
            "int" => value.is_i64(),
            "strings" => value
                .as_sequence()
                .is_some_and(|s| s.iter().all(Value::is_string)),
            "objects" => value
                .as_sequence()
                .is_some_and(|s| s.iter().all(Value::is_mapping)),
            "strategy" => {
                let t = value["type"].as_str().unwrap_or_default();
                strategy_types(key).contains(&t)
            }
            other => panic!("{other}"),
        };
        assert!(ok, "{key}: {value:?} is not a {kind}");
    }
}

#[test]
fn the_openshift_scc_admits_the_daemonsets_pod_and_no_host_namespaces() {
    let (scc, all) = openshift_scc();
    let ds = one(&all, "DaemonSet");
    let spec = pod_spec(&ds);
    let containers = seq(&spec["containers"]);
    let privileged = containers
        .iter()
        .any(|c| c["securityContext"]["privileged"].as_bool() == Some(true));
    assert!(privileged);
    assert_eq!(scc["allowPrivilegedContainer"].as_bool(), Some(true));
    // Volume types the Pod uses, as SCC names them (the VolumeSource field).
    let allowed = strings(&scc["volumes"]);
    for v in seq(&spec["volumes"]) {
        let source = v
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(Value::as_str)
            .find(|k| *k != "name")
            .unwrap();
        assert!(
            allowed.iter().any(|a| a == source),
            "{source} not in {allowed:?}"
        );
        if source == "hostPath" {
            assert_eq!(scc["allowHostDirVolumePlugin"].as_bool(), Some(true));
        }
    }
    // Root containers (the socket is root's): any UID.
    assert_eq!(scc["runAsUser"]["type"].as_str(), Some("RunAsAny"));
    assert_eq!(
        spec["securityContext"]["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault")
    );
    assert!(strings(&scc["seccompProfiles"]).contains(&"runtime/default".to_owned()));
    for host in [
        "allowHostNetwork",
        "allowHostPID",
        "allowHostIPC",
        "allowHostPorts",
    ] {
        assert_eq!(scc[host].as_bool(), Some(false), "{host}");
    }
    assert!(spec["hostNetwork"].is_null() && spec["hostPID"].is_null());
}

/// The ServiceAccounts a RoleBinding lets `use` the SCC `name`.
fn granted_use_of(all: &[Value], name: &str) -> Vec<(String, String)> {
    let roles: Vec<String> = of_kind(all, "ClusterRole")
        .iter()
        .filter(|r| {
            seq(&r["rules"]).iter().any(|rule| {
                strings(&rule["apiGroups"]) == ["security.openshift.io"]
                    && strings(&rule["resources"]) == ["securitycontextconstraints"]
                    && strings(&rule["resourceNames"]) == [name]
                    && strings(&rule["verbs"]) == ["use"]
            })
        })
        .map(|r| r["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    of_kind(all, "RoleBinding")
        .iter()
        .filter(|b| {
            b["roleRef"]["kind"].as_str() == Some("ClusterRole")
                && roles
                    .iter()
                    .any(|r| Some(r.as_str()) == b["roleRef"]["name"].as_str())
        })
        .flat_map(|b| seq(&b["subjects"]).to_vec())
        .map(|s| {
            assert_eq!(s["kind"].as_str(), Some("ServiceAccount"));
            (
                s["namespace"].as_str().unwrap().to_owned(),
                s["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_openshift_scc_is_granted_through_rbac_to_the_driver_account_only() {
    let (scc, all) = openshift_scc();
    assert_eq!(strings(&scc["users"]), Vec::<String>::new());
    assert_eq!(strings(&scc["groups"]), Vec::<String>::new());
    let ds = one(&all, "DaemonSet");
    let account = pod_spec(&ds)["serviceAccountName"].as_str().unwrap();
    let namespace = ds["metadata"]["namespace"].as_str().unwrap();
    assert_eq!(
        granted_use_of(&all, scc["metadata"]["name"].as_str().unwrap()),
        [(namespace.to_owned(), account.to_owned())]
    );
}

#[test]
fn on_openshift_the_webhook_account_may_use_nonroot_v2_which_fits_its_pod() {
    let (_, all) = openshift_scc();
    let deployment = one(&all, "Deployment");
    let spec = pod_spec(&deployment);
    let account = spec["serviceAccountName"].as_str().unwrap();
    let namespace = deployment["metadata"]["namespace"].as_str().unwrap();
    assert_eq!(
        granted_use_of(&all, "nonroot-v2"),
        [(namespace.to_owned(), account.to_owned())]
    );
    // nonroot-v2: a non-root UID, every capability dropped, no escalation.
    assert!(
        spec["securityContext"]["runAsUser"]
            .as_u64()
            .is_some_and(|u| u > 0)
    );
    for c in seq(&spec["containers"]) {
        let sc = &c["securityContext"];
        assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"]);
        assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    }
    // Without the webhook, no grant for it.
    let plain = objects(&install(&["--platform", "openshift"]));
    assert!(granted_use_of(&plain, "nonroot-v2").is_empty());
}

#[test]
fn the_webhook_comes_only_with_its_flag() {
    let kinds = |flags: &[&str]| -> BTreeSet<String> {
        objects(&install(flags))
            .iter()
            .map(|o| o["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!kinds(&[]).contains("MutatingWebhookConfiguration"));
    assert!(kinds(&["--webhook"]).contains("MutatingWebhookConfiguration"));
}

// ---- deploy/ is the default rendering ----------------------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn deploy_is_the_rendering_of_the_default_options() {
    let mut stale = Vec::new();
    for m in tree(&InstallOptions::default()) {
        let path = repo().join("deploy").join(m.path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(m.text.as_str()) {
            stale.push(m.path);
        }
    }
    assert!(
        stale.is_empty(),
        "deploy/ differs from src/install/templates in {stale:?}: run `make manifests`"
    );
}

#[test]
fn deploy_holds_no_manifest_the_templates_do_not_render() {
    let rendered: BTreeSet<String> = tree(&InstallOptions::default())
        .iter()
        .map(|m| m.path.to_owned())
        .collect();
    let mut extra = Vec::new();
    for folder in ["daemonset", "webhook", "compat", "platform"] {
        walk(
            &repo().join("deploy"),
            &repo().join("deploy").join(folder),
            &mut |rel| {
                if rel.ends_with(".yaml") && !rendered.contains(rel) {
                    extra.push(rel.to_owned());
                }
            },
        );
    }
    assert!(
        extra.is_empty(),
        "{extra:?} in deploy/ have no template: add one under src/install/templates, or remove them"
    );
}

fn walk(root: &Path, dir: &Path, found: &mut dyn FnMut(&str)) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, found);
        } else {
            found(path.strip_prefix(root).unwrap().to_str().unwrap());
        }
    }
}

/// The files a kustomization lists, in order, read from deploy/.
fn listed(kustomization: &str) -> Vec<String> {
    let dir = repo().join("deploy").join(kustomization);
    let k: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap())
            .unwrap();
    strings(&k["resources"])
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
        .collect()
}

#[test]
fn the_default_install_is_deploy_daemonset_then_deploy_webhook_in_kustomization_order() {
    assert_eq!(install(&[]), listed("daemonset").join("---\n"));
    let mut both = listed("daemonset");
    both.extend(listed("webhook"));
    assert_eq!(install(&["--webhook"]), both.join("---\n"));
}

#[test]
fn output_dir_writes_the_layout_listing_the_chosen_components() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = run(&["--output-dir", out_dir, "--webhook", "--platform", "gke"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let k: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(dir.path().join("daemonset/kustomization.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(strings(&k["components"]), ["../webhook", "../platform/gke"]);
    assert!(
        dir.path()
            .join("platform/openshift/kustomization.yaml")
            .is_file()
    );
}

#[test]
fn the_output_is_the_same_on_every_run() {
    let flags = &variants()[7].1;
    assert_eq!(install(flags), install(flags));
}

// ---- bad options -------------------------------------------------------------------

#[test]
fn bad_options_exit_2_with_an_error_naming_the_flag() {
    let cases: [(&[&str], &str); 9] = [
        (&["--namespace", "Vault_CSI"], "--namespace"),
        (&["--namespace", "kube-system"], "--namespace"),
        (&["--kubelet-dir", "var/lib/kubelet"], "--kubelet-dir"),
        (&["--kubelet-dir", "/var/lib/../kubelet"], "--kubelet-dir"),
        (&["--image", "vault-csi-driver"], "--image"),
        (&["--image", "vault-csi-driver:latest"], "--image"),
        (&["--kubernetes-version", "1.30"], "--kubernetes-version"),
        (&["--kubernetes-version", "one"], "--kubernetes-version"),
        (&["--platform", "aws"], "--platform"),
    ];
    for (args, flag) in cases {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

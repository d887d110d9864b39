//! The manifests in deploy/webhook: valid against the Kubernetes schemas
//! (kubernetes-validate, as cluster admins' CI runs it), buildable as a
//! kustomize Component, and consistent with each other and with the flags of
//! `vault-csi-driver webhook`.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args as _;
use serde_yaml_ng::Value;
use vault_csi_driver::webhook::WebhookArgs;

fn dir() -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "deploy/webhook"]
        .iter()
        .collect()
}

/// Every manifest file of the component (the kustomization itself excluded).
fn manifest_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "kustomization.yaml"))
        .collect();
    files.sort();
    files
}

/// Every object in every manifest file.
fn objects() -> Vec<Value> {
    let mut out = Vec::new();
    for file in manifest_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = <Value as serde::Deserialize>::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            if !value.is_null() {
                out.push(value);
            }
        }
    }
    out
}

fn object(kind: &str, name: &str) -> Value {
    objects()
        .into_iter()
        .find(|o| o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/webhook"))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_sequence()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn has_python_module(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn kubernetes_validate(files: &[PathBuf]) -> std::process::Output {
    Command::new("python3")
        .args([
            "-m",
            "kubernetes_validate",
            "-k",
            "1.34.0",
            "--strict",
            "--quiet",
        ])
        .args(files)
        .output()
        .expect("python3 runs")
}

#[test]
fn manifests_validate_against_kubernetes_1_34_schemas() {
    if !has_python_module("kubernetes_validate") {
        println!(
            "SKIPPED: kubernetes-validate is not installed (python3 -m pip install kubernetes-validate)"
        );
        return;
    }
    let files = manifest_files();
    assert!(files.len() >= 6, "{files:?}");
    let out = kubernetes_validate(&files);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `kubectl kustomize` (or `kustomize build`) of an overlay that only adds
/// the component, or `None` when neither tool is installed.
fn build_component(tmp: &Path) -> Option<String> {
    let component = tmp.join("webhook");
    std::fs::create_dir(&component).unwrap();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, component.join(path.file_name().unwrap())).unwrap();
    }
    let overlay = tmp.join("overlay");
    std::fs::create_dir(&overlay).unwrap();
    std::fs::write(
        overlay.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\ncomponents:\n  - ../webhook\n",
    )
    .unwrap();
    let attempts: [(&str, &[&str]); 2] = [("kubectl", &["kustomize"]), ("kustomize", &["build"])];
    for (tool, args) in attempts {
        if let Ok(out) = Command::new(tool).args(args).arg(&overlay).output() {
            assert!(
                out.status.success(),
                "{tool}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return Some(String::from_utf8(out.stdout).unwrap());
        }
    }
    None
}

#[test]
fn component_builds_with_kustomize_into_valid_objects() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(built) = build_component(tmp.path()) else {
        println!("SKIPPED: neither kubectl nor kustomize is installed");
        return;
    };
    let kinds: Vec<String> = serde_yaml_ng::Deserializer::from_str(&built)
        .map(|doc| {
            let v = <Value as serde::Deserialize>::deserialize(doc).unwrap();
            v["kind"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    for kind in [
        "ServiceAccount",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
        "MutatingWebhookConfiguration",
        "Certificate",
        "Issuer",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing: {kinds:?}");
    }
    if has_python_module("kubernetes_validate") {
        let file = tmp.path().join("built.yaml");
        std::fs::write(&file, &built).unwrap();
        let out = kubernetes_validate(&[file]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn kustomization_is_a_component_listing_every_manifest() {
    let text = std::fs::read_to_string(dir().join("kustomization.yaml")).unwrap();
    let k: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_eq!(k["kind"].as_str(), Some("Component"));
    let mut listed = strings(&k["resources"]);
    listed.sort_unstable();
    let files: Vec<String> = manifest_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, files);
}

#[test]
fn webhook_matches_only_pod_create_with_the_agreed_settings() {
    let config = object("MutatingWebhookConfiguration", "vault-csi-webhook");
    let hooks = config["webhooks"].as_sequence().unwrap();
    assert_eq!(hooks.len(), 1);
    let hook = &hooks[0];
    assert_eq!(strings(&hook["admissionReviewVersions"]), ["v1"]);
    assert_eq!(hook["sideEffects"].as_str(), Some("None"));
    assert_eq!(hook["timeoutSeconds"].as_u64(), Some(5));
    assert_eq!(hook["reinvocationPolicy"].as_str(), Some("IfNeeded"));
    assert!(matches!(
        hook["failurePolicy"].as_str(),
        Some("Ignore" | "Fail")
    ));
    assert!(hook.get("objectSelector").is_none());
    let rules = hook["rules"].as_sequence().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(strings(&rules[0]["operations"]), ["CREATE"]);
    assert_eq!(strings(&rules[0]["apiGroups"]), [""]);
    assert_eq!(strings(&rules[0]["resources"]), ["pods"]);
    let expr = &hook["namespaceSelector"]["matchExpressions"][0];
    assert_eq!(expr["key"].as_str(), Some("kubernetes.io/metadata.name"));
    assert_eq!(expr["operator"].as_str(), Some("NotIn"));
    let excluded = strings(&expr["values"]);
    assert!(excluded.contains(&"kube-system") && excluded.contains(&"kube-public"));
}

#[test]
fn webhook_service_certificate_and_deployment_agree() {
    let config = object("MutatingWebhookConfiguration", "vault-csi-webhook");
    let target = &config["webhooks"][0]["clientConfig"]["service"];
    let (name, ns) = (
        target["name"].as_str().unwrap(),
        target["namespace"].as_str().unwrap(),
    );
    assert_eq!(target["path"].as_str(), Some("/mutate"));
    let service = object("Service", name);
    assert_eq!(service["metadata"]["namespace"].as_str(), Some(ns));
    assert_eq!(
        target["port"].as_u64(),
        service["spec"]["ports"][0]["port"].as_u64()
    );

    let inject_from = config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
        .as_str()
        .unwrap();
    let (cert_ns, cert_name) = inject_from.split_once('/').unwrap();
    assert_eq!(cert_ns, ns);
    let cert = object("Certificate", cert_name);
    assert!(strings(&cert["spec"]["dnsNames"]).contains(&format!("{name}.{ns}.svc").as_str()));

    let deployment = object("Deployment", "vault-csi-webhook");
    let pod = &deployment["spec"]["template"]["spec"];
    let secret = pod["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|v| v["secret"]["secretName"].as_str())
        .unwrap();
    assert_eq!(cert["spec"]["secretName"].as_str(), Some(secret));
    let selector = &service["spec"]["selector"];
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (k, v) in selector.as_mapping().unwrap() {
        assert_eq!(&labels[k.as_str().unwrap()], v);
    }
}

#[test]
fn deployment_runs_two_hardened_replicas_with_resources() {
    let deployment = object("Deployment", "vault-csi-webhook");
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(2));
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    let c = &pod["containers"][0];
    assert_eq!(strings(&c["args"]), ["webhook"]);
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"]);
    for field in ["requests", "limits"] {
        assert!(c["resources"][field]["memory"].is_string(), "{field}");
    }
    assert_eq!(
        c["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    let pdb = object("PodDisruptionBudget", "vault-csi-webhook");
    assert_eq!(pdb["spec"]["minAvailable"].as_u64(), Some(1));
}

#[test]
fn deployment_environment_names_only_webhook_flags() {
    let command = WebhookArgs::augment_args(clap::Command::new("webhook"));
    let known: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    let deployment = object("Deployment", "vault-csi-webhook");
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_sequence()
        .unwrap();
    for var in env {
        let name = var["name"].as_str().unwrap();
        assert!(
            name == "RUST_LOG" || known.iter().any(|k| k == name),
            "{name} is not a flag of `vault-csi-driver webhook` ({known:?})"
        );
    }
}

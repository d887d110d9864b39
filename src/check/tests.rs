//! Verdicts, one rule per test: Pods as they run under the injector in,
//! `identical`, `differs`, `refused` or `skipped` out.

use serde::Deserialize;
use serde_json::{Value, json};

use super::*;

const DRIVER: &str = "vault-csi-driver";

fn settings() -> CheckSettings {
    CheckSettings {
        driver_name: DRIVER.into(),
        vault_addr: Some("https://vault.example:8200".into()),
        ..CheckSettings::default()
    }
}

/// `vault.hashicorp.com/` + short keys; keys with a `/` as written.
fn annotations(pairs: &[(&str, &str)]) -> Value {
    let map: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| {
            let key = if k.contains('/') {
                (*k).to_owned()
            } else {
                format!("vault.hashicorp.com/{k}")
            };
            (key, Value::String((*v).to_owned()))
        })
        .collect();
    Value::Object(map)
}

/// A Pod of a workload's template: one app container, no volumes.
fn template_pod(extra: &[(&str, &str)]) -> Pod {
    let mut pairs = vec![
        ("agent-inject", "true"),
        ("role", "web"),
        ("agent-inject-secret-db", "kv/db"),
    ];
    pairs.extend_from_slice(extra);
    pod_of(json!({
        "metadata": {"name": "web-0", "namespace": "shop", "annotations": annotations(&pairs)},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]},
    }))
}

/// The same Pod as the injector left it running: its status annotation, the
/// agent containers, and their volumes mounted in the app.
fn injected_pod(extra: &[(&str, &str)]) -> Pod {
    let mut pairs = vec![
        ("agent-inject", "true"),
        ("role", "web"),
        ("agent-inject-secret-db", "kv/db"),
        ("agent-inject-status", "injected"),
    ];
    pairs.extend_from_slice(extra);
    let secrets = json!({"name": "vault-secrets", "mountPath": "/vault/secrets"});
    pod_of(json!({
        "metadata": {"name": "web-0", "namespace": "shop", "annotations": annotations(&pairs)},
        "spec": {
            "initContainers": [{"name": "vault-agent-init", "volumeMounts": [
                secrets, {"name": "home-init", "mountPath": "/home/vault"}]}],
            "containers": [
                {"name": "app", "volumeMounts": [secrets]},
                {"name": "vault-agent", "volumeMounts": [
                    secrets, {"name": "home-sidecar", "mountPath": "/home/vault"}]},
            ],
            "volumes": [
                {"name": "home-init", "emptyDir": {"medium": "Memory"}},
                {"name": "home-sidecar", "emptyDir": {"medium": "Memory"}},
                {"name": "vault-secrets", "emptyDir": {"medium": "Memory"}},
            ],
        },
    }))
}

fn pod_of(value: Value) -> Pod {
    Pod::deserialize(&value).unwrap()
}

fn differs(verdict: Verdict) -> Vec<String> {
    match verdict {
        Verdict::Differs(reasons) => reasons,
        other => panic!("expected differs, got {other:?}"),
    }
}

fn refused(verdict: Verdict) -> String {
    match verdict {
        Verdict::Refused(message) => message,
        other => panic!("expected refused, got {other:?}"),
    }
}

// ---- skipped ------------------------------------------------------------------

#[test]
fn pods_without_agent_inject_are_skipped() {
    let plain =
        pod_of(json!({"metadata": {"name": "db"}, "spec": {"containers": [{"name": "db"}]}}));
    assert!(matches!(classify(&plain, &settings()), Verdict::Skipped(_)));
    let off = template_pod(&[("agent-inject", "false")]);
    assert!(matches!(classify(&off, &settings()), Verdict::Skipped(_)));
    assert!(classify(&off, &settings()).is_ok());
}

#[test]
fn pods_in_system_namespaces_are_skipped() {
    let mut p = template_pod(&[]);
    p.metadata.namespace = "kube-system".into();
    assert!(matches!(classify(&p, &settings()), Verdict::Skipped(_)));
}

// ---- identical ----------------------------------------------------------------

#[test]
fn a_workload_template_is_identical() {
    assert_eq!(
        classify(&template_pod(&[]), &settings()),
        Verdict::Identical
    );
}

#[test]
fn a_pod_the_injector_runs_is_identical() {
    assert_eq!(
        classify(&injected_pod(&[]), &settings()),
        Verdict::Identical
    );
}

#[test]
fn without_injector_drops_the_agents_containers_volumes_and_mounts() {
    let p = without_injector(&injected_pod(&[]));
    let names: Vec<&str> = p.spec.all_containers().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["app"]);
    assert!(p.spec.volumes.is_empty());
    assert!(p.spec.containers[0].volume_mounts.is_empty());
}

#[test]
fn a_volume_of_the_driver_called_vault_secrets_is_kept() {
    let mut p = template_pod(&[]);
    p.spec.volumes.push(crate::pod::Volume {
        name: "vault-secrets".into(),
        csi: Some(crate::pod::CsiVolumeSource {
            driver: DRIVER.into(),
            read_only: true,
            volume_attributes: Default::default(),
        }),
    });
    p.spec.containers[0]
        .volume_mounts
        .push(crate::pod::VolumeMount {
            name: "vault-secrets".into(),
            mount_path: "/vault/secrets".into(),
            read_only: true,
        });
    assert_eq!(without_injector(&p), p);
    assert_eq!(classify(&p, &settings()), Verdict::Identical);
}

#[test]
fn keys_of_the_agent_containers_and_unknown_keys_do_not_make_a_difference() {
    let p = injected_pod(&[
        ("agent-limits-cpu", "500m"),
        ("agent-image", "hashicorp/vault:1.15"),
        ("agent-pre-populate", "false"),
        ("agent-cache-enable", "false"),
        ("log-level", "debug"),
        ("agent-inject-secretz-typo", "x"),
    ]);
    assert_eq!(classify(&p, &settings()), Verdict::Identical);
}

#[test]
fn openbaos_prefix_is_identical_too() {
    let p = pod_of(json!({
        "metadata": {"name": "web-0", "namespace": "shop", "annotations": {
            "openbao.openbao.org/agent-inject": "true",
            "openbao.openbao.org/role": "web",
            "openbao.openbao.org/agent-inject-secret-db": "kv/db",
        }},
        "spec": {"containers": [{"name": "app"}]},
    }));
    assert_eq!(classify(&p, &settings()), Verdict::Identical);
}

#[test]
fn a_service_the_nodes_allow_is_identical() {
    let own = template_pod(&[("service", "https://vault.example:8200/")]);
    assert_eq!(classify(&own, &settings()), Verdict::Identical);
    let dr = template_pod(&[("service", "https://vault-dr.example:8200")]);
    let allowed = CheckSettings {
        allowed_addrs: vec!["https://vault-dr.example:8200".into()],
        ..settings()
    };
    assert_eq!(classify(&dr, &allowed), Verdict::Identical);
}

// ---- differs ------------------------------------------------------------------

#[test]
fn agent_inject_command_differs_and_says_what_to_use() {
    let reasons = differs(classify(
        &injected_pod(&[("agent-inject-command-db", "kill -HUP 1")]),
        &settings(),
    ));
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].starts_with("vault.hashicorp.com/agent-inject-command-db"));
    assert!(reasons[0].contains(".vault-csi-version"));
}

#[test]
fn per_pod_tls_keys_differ() {
    for key in ["ca-cert", "tls-secret", "tls-skip-verify", "client-cert"] {
        let reasons = differs(classify(&template_pod(&[(key, "true")]), &settings()));
        assert!(reasons[0].contains(key), "{reasons:?}");
    }
}

#[test]
fn sidecar_features_the_app_may_use_differ() {
    for key in [
        "agent-cache-enable",
        "agent-enable-quit",
        "agent-share-process-namespace",
    ] {
        let reasons = differs(classify(&template_pod(&[(key, "true")]), &settings()));
        assert!(reasons[0].contains(key), "{reasons:?}");
    }
}

#[test]
fn a_service_without_known_node_addresses_differs() {
    let unknown = CheckSettings {
        vault_addr: None,
        ..settings()
    };
    let reasons = differs(classify(
        &template_pod(&[("service", "https://vault.example:8200")]),
        &unknown,
    ));
    assert!(reasons[0].contains("--vault-allowed-addrs"), "{reasons:?}");
}

#[test]
fn a_blank_namespace_under_a_cluster_namespace_differs() {
    let cluster = CheckSettings {
        cluster: ClusterDefaults {
            namespace: Some("team-a".into()),
            ..ClusterDefaults::default()
        },
        ..settings()
    };
    let reasons = differs(classify(&template_pod(&[("namespace", "")]), &cluster));
    assert!(reasons[0].contains("root namespace"), "{reasons:?}");
    assert_eq!(classify(&template_pod(&[]), &cluster), Verdict::Identical);
}

#[test]
fn a_container_with_its_own_volume_at_the_secret_path_differs() {
    let p = pod_of(json!({
        "metadata": {"name": "web-0", "namespace": "shop", "annotations": annotations(&[
            ("agent-inject", "true"), ("role", "web"), ("agent-inject-secret-db", "kv/db")])},
        "spec": {
            "containers": [
                {"name": "app"},
                {"name": "other", "volumeMounts": [{"name": "own", "mountPath": "/vault/secrets"}]},
            ],
            "volumes": [{"name": "own", "emptyDir": {}}],
        },
    }));
    let reasons = differs(classify(&p, &settings()));
    assert!(reasons[0].contains("already mounts volume"), "{reasons:?}");
}

// ---- refused ------------------------------------------------------------------

#[test]
fn a_bad_value_is_refused_naming_the_key() {
    let message = refused(classify(
        &injected_pod(&[("agent-inject-perms-db", "999")]),
        &settings(),
    ));
    assert!(
        message.starts_with("vault.hashicorp.com/agent-inject-perms-db"),
        "{message}"
    );
}

#[test]
fn an_auth_method_other_than_kubernetes_or_jwt_is_refused() {
    let message = refused(classify(
        &template_pod(&[("auth-type", "approle")]),
        &settings(),
    ));
    assert!(message.contains("auth-type"), "{message}");
}

#[test]
fn one_key_under_both_prefixes_is_refused() {
    let message = refused(classify(
        &template_pod(&[("openbao.openbao.org/role", "other")]),
        &settings(),
    ));
    assert!(message.contains("openbao.openbao.org/role"), "{message}");
}

#[test]
fn a_service_the_nodes_do_not_allow_is_refused() {
    let message = refused(classify(
        &template_pod(&[("service", "https://elsewhere:8200")]),
        &settings(),
    ));
    assert!(message.contains("elsewhere"), "{message}");
}

#[test]
fn cluster_settings_are_honoured() {
    let same_user = CheckSettings {
        cluster: ClusterDefaults {
            run_as_same_user: Some(true),
            ..ClusterDefaults::default()
        },
        ..settings()
    };
    let message = refused(classify(&template_pod(&[]), &same_user));
    assert!(
        message.starts_with("AGENT_INJECT_RUN_AS_SAME_USER"),
        "{message}"
    );
    let injector_addr = CheckSettings {
        vault_addr: None,
        cluster: ClusterDefaults {
            vault_addr: Some("https://vault.example:8200".into()),
            ..ClusterDefaults::default()
        },
        ..settings()
    };
    let p = template_pod(&[("service", "https://vault.example:8200")]);
    assert_eq!(classify(&p, &injector_addr), Verdict::Identical);
}

// ---- input ----------------------------------------------------------------------

const POD_YAML: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: n}\nspec: {containers: [{name: c}]}\n";

#[test]
fn a_single_pod_in_yaml_or_json_is_read() {
    assert_eq!(pods_from_text(POD_YAML, "-").unwrap().len(), 1);
    let json = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{}}"#;
    assert_eq!(pods_from_text(json, "-").unwrap()[0].metadata.name, "a");
}

#[test]
fn lists_and_pod_lists_are_read_item_by_item() {
    for kind in ["List", "PodList"] {
        let text = json!({"apiVersion": "v1", "kind": kind, "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}},
            {"metadata": {"name": "b"}},
        ]})
        .to_string();
        let pods = pods_from_text(&text, "-").unwrap();
        let names: Vec<&str> = pods.iter().map(|p| p.metadata.name.as_str()).collect();
        assert_eq!(names, ["a", "b"], "{kind}");
    }
}

#[test]
fn several_yaml_documents_are_read_in_order() {
    let text = format!(
        "{POD_YAML}---\n{}---\n",
        POD_YAML.replace("name: a", "name: b")
    );
    let pods = pods_from_text(&text, "-").unwrap();
    assert_eq!(pods.len(), 2);
    assert_eq!(pods[1].metadata.name, "b");
}

#[test]
fn other_kinds_are_refused_naming_the_document() {
    let text = format!("{POD_YAML}---\napiVersion: apps/v1\nkind: Deployment\n");
    let e = pods_from_text(&text, "pods.yaml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "pods.yaml: document 2 is a Deployment, not a Pod, List or PodList"
    );
}

#[test]
fn lines_name_each_pod_by_namespace_and_name() {
    let pods = [template_pod(&[]), pod_of(json!({"spec": {}}))];
    let lines: Vec<String> = check_pods(&pods, &settings())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        [
            "shop/web-0: identical",
            "#2: skipped: no agent-inject: \"true\""
        ]
    );
}

#[test]
fn check_settings_refuse_two_different_node_addresses() {
    let cluster = ClusterDefaults {
        vault_addr: Some("https://vault-a:8200".into()),
        ..ClusterDefaults::default()
    };
    assert!(crate::config::node_vault_addr(Some("https://vault-b:8200"), &cluster).is_err());
    assert_eq!(
        crate::config::node_vault_addr(None, &cluster)
            .unwrap()
            .as_deref(),
        Some("https://vault-a:8200")
    );
    assert_eq!(
        crate::config::node_vault_addr(None, &ClusterDefaults::default()).unwrap(),
        None
    );
}

#[test]
fn a_container_name_that_does_not_exist_makes_no_difference() {
    let p = template_pod(&[("agent-inject-containers", "app,gone")]);
    assert_eq!(classify(&p, &settings()), Verdict::Identical);
}

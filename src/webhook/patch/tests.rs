//! Behaviour of [`mutate`], one rule per test: Pod JSON in, patch out.

use serde_json::{Value, json};

use super::*;

const DRIVER: &str = "vault-csi-driver";

fn settings() -> Settings {
    Settings {
        driver_name: DRIVER.into(),
        deny_invalid: true,
    }
}

fn lenient() -> Settings {
    Settings {
        deny_invalid: false,
        ..settings()
    }
}

/// Expands short keys (`role`) to `vault.hashicorp.com/role`.
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

/// A Pod selected for injection with one secret, plus `extra` annotations,
/// and the given spec.
fn pod_with(extra: &[(&str, &str)], spec: Value) -> Value {
    let mut pairs = vec![
        ("agent-inject", "true"),
        ("role", "web"),
        ("agent-inject-secret-db", "database/creds/web"),
    ];
    pairs.extend_from_slice(extra);
    json!({
        "metadata": {"name": "web-0", "namespace": "shop", "annotations": annotations(&pairs)},
        "spec": spec,
    })
}

/// [`pod_with`] and one container `web` without mounts.
fn pod(extra: &[(&str, &str)]) -> Value {
    pod_with(
        extra,
        json!({"containers": [{"name": "web", "image": "web:1"}]}),
    )
}

fn patched(object: &Value, settings: &Settings) -> (Vec<AddOp>, Vec<String>) {
    match mutate(object, settings) {
        Decision::Patched { patch, warnings } => (patch, warnings),
        other => panic!("expected a patch, got {other:?}"),
    }
}

fn unchanged(object: &Value, settings: &Settings) -> Vec<String> {
    match mutate(object, settings) {
        Decision::Unchanged { warnings } => warnings,
        other => panic!("expected no change, got {other:?}"),
    }
}

fn denied(object: &Value) -> String {
    match mutate(object, &settings()) {
        Decision::Denied { message, .. } => message,
        other => panic!("expected a denial, got {other:?}"),
    }
}

/// Applies the patch with a real JSON Patch implementation.
fn apply(object: &Value, ops: &[AddOp]) -> Value {
    let patch: json_patch::Patch =
        serde_json::from_value(serde_json::to_value(ops).unwrap()).unwrap();
    let mut doc = object.clone();
    json_patch::patch(&mut doc, &patch).unwrap();
    doc
}

fn after(object: &Value) -> Value {
    let (ops, _) = patched(object, &settings());
    apply(object, &ops)
}

fn csi(name: &str) -> Value {
    json!({"name": name, "csi": {"driver": DRIVER, "readOnly": true}})
}

fn mount(name: &str, path: &str) -> Value {
    json!({"name": name, "mountPath": path, "readOnly": true})
}

/// The error `inject::plan` gives for the same Pod once it has its volume,
/// which is what the driver says at mount.
fn plan_error(object: &Value) -> String {
    let mut object = object.clone();
    object["spec"]["volumes"] = json!([csi("vault-secrets")]);
    object["spec"]["containers"][0]["volumeMounts"] =
        json!([mount("vault-secrets", "/vault/secrets")]);
    let pod = Pod::deserialize(&object).unwrap();
    let defaults = Defaults {
        driver_name: Some(DRIVER.into()),
        ..Defaults::default()
    };
    inject::plan(&pod, "vault-secrets", &defaults)
        .unwrap_err()
        .to_string()
}

// ---- Selection ---------------------------------------------------------------

#[test]
fn pod_without_annotations_is_unchanged() {
    let object = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}});
    assert_eq!(unchanged(&object, &settings()), Vec::<String>::new());
}

#[test]
fn agent_inject_false_is_unchanged() {
    let mut object = pod(&[]);
    object["metadata"]["annotations"]["vault.hashicorp.com/agent-inject"] = json!("false");
    assert!(unchanged(&object, &settings()).is_empty());
}

#[test]
fn agent_inject_that_is_not_a_boolean_is_denied() {
    let mut object = pod(&[]);
    object["metadata"]["annotations"]["vault.hashicorp.com/agent-inject"] = json!("yes");
    assert_eq!(
        denied(&object),
        "vault.hashicorp.com/agent-inject: \"yes\" is not a boolean (use true or false)"
    );
}

#[test]
fn already_injected_pod_is_unchanged() {
    let object = pod(&[("agent-inject-status", "injected")]);
    assert!(unchanged(&object, &settings()).is_empty());
}

#[test]
fn status_update_asks_for_injection_again() {
    let object = pod(&[("agent-inject-status", "update")]);
    let out = after(&object);
    assert_eq!(
        out["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-status"],
        "injected"
    );
    assert_eq!(out["spec"]["volumes"], json!([csi("vault-secrets")]));
}

#[test]
fn object_that_is_not_pod_shaped_is_unchanged_with_a_warning() {
    let object = json!({"metadata": {"annotations": {"vault.hashicorp.com/agent-inject": 424242}}});
    let warnings = unchanged(&object, &settings());
    assert_eq!(warnings.len(), 1);
    assert!(!warnings[0].contains("424242"), "{warnings:?}");
}

// ---- The patch ---------------------------------------------------------------

#[test]
fn default_path_gets_one_read_only_csi_volume_mounted_read_only() {
    let (ops, warnings) = patched(&pod(&[]), &settings());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        serde_json::to_value(&ops).unwrap(),
        json!([
            {"op": "add", "path": "/spec/volumes", "value": [csi("vault-secrets")]},
            {"op": "add", "path": "/spec/containers/0/volumeMounts",
             "value": [mount("vault-secrets", "/vault/secrets")]},
            {"op": "add", "path": "/metadata/annotations/vault.hashicorp.com~1agent-inject-status",
             "value": "injected"},
        ])
    );
}

#[test]
fn existing_arrays_are_appended_to() {
    let object = pod_with(
        &[],
        json!({
            "volumes": [{"name": "scratch", "emptyDir": {}}],
            "containers": [{"name": "web", "volumeMounts": [{"name": "scratch", "mountPath": "/tmp"}]}]
        }),
    );
    let (ops, _) = patched(&object, &settings());
    let paths: Vec<&str> = ops.iter().map(|op| op.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/spec/volumes/-",
            "/spec/containers/0/volumeMounts/-",
            "/metadata/annotations/vault.hashicorp.com~1agent-inject-status"
        ]
    );
    let out = apply(&object, &ops);
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": "scratch", "emptyDir": {}}, csi("vault-secrets")])
    );
}

#[test]
fn null_arrays_are_replaced_whole() {
    let object = pod_with(
        &[],
        json!({"volumes": null, "containers": [{"name": "web", "volumeMounts": null}]}),
    );
    let out = after(&object);
    assert_eq!(out["spec"]["volumes"], json!([csi("vault-secrets")]));
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"],
        json!([mount("vault-secrets", "/vault/secrets")])
    );
}

#[test]
fn volume_name_skips_names_the_pod_uses() {
    let object = pod_with(
        &[],
        json!({
            "volumes": [{"name": "vault-secrets", "emptyDir": {}}, {"name": "vault-secrets-1", "emptyDir": {}}],
            "containers": [{"name": "web"}]
        }),
    );
    let out = after(&object);
    assert_eq!(out["spec"]["volumes"][2], csi("vault-secrets-2"));
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"][0]["name"],
        "vault-secrets-2"
    );
}

#[test]
fn init_containers_always_get_the_mounts() {
    let object = pod_with(
        &[("agent-inject-containers", "web")],
        json!({
            "initContainers": [{"name": "migrate"}],
            "containers": [{"name": "web"}, {"name": "proxy"}]
        }),
    );
    let out = after(&object);
    assert_eq!(
        out["spec"]["initContainers"][0]["volumeMounts"],
        json!([mount("vault-secrets", "/vault/secrets")])
    );
}

#[test]
fn agent_inject_containers_chooses_the_app_containers() {
    let object = pod_with(
        &[("agent-inject-containers", " web , worker ")],
        json!({"containers": [{"name": "web"}, {"name": "proxy"}, {"name": "worker"}]}),
    );
    let out = after(&object);
    let has_mount = |i: usize| out["spec"]["containers"][i].get("volumeMounts").is_some();
    assert_eq!(
        (has_mount(0), has_mount(1), has_mount(2)),
        (true, false, true)
    );
}

#[test]
fn blank_agent_inject_containers_means_all() {
    let object = pod_with(
        &[("agent-inject-containers", " , ")],
        json!({"containers": [{"name": "web"}, {"name": "proxy"}]}),
    );
    let out = after(&object);
    assert!(out["spec"]["containers"][1].get("volumeMounts").is_some());
}

#[test]
fn unknown_name_in_agent_inject_containers_is_a_warning() {
    let object = pod(&[("agent-inject-containers", "web,wbe")]);
    let (_, warnings) = patched(&object, &settings());
    assert_eq!(
        warnings,
        [
            "vault.hashicorp.com/agent-inject-containers names \"wbe\", which is not a container of this Pod"
        ]
    );
}

#[test]
fn each_distinct_secret_volume_path_gets_its_own_volume_global_first() {
    let object = pod(&[
        ("agent-inject-secret-api", "secret/api"),
        ("secret-volume-path-api", "/etc/api/"),
        ("agent-inject-secret-cert", "pki/issue/web"),
        ("secret-volume-path-cert", "/etc/tls"),
        ("agent-inject-secret-other", "secret/other"),
        ("secret-volume-path-other", "/vault//secrets"),
    ]);
    let out = after(&object);
    assert_eq!(
        out["spec"]["volumes"],
        json!([
            csi("vault-secrets"),
            csi("vault-secrets-1"),
            csi("vault-secrets-2")
        ])
    );
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"],
        json!([
            mount("vault-secrets", "/vault/secrets"),
            mount("vault-secrets-1", "/etc/api"),
            mount("vault-secrets-2", "/etc/tls"),
        ])
    );
}

#[test]
fn global_secret_volume_path_moves_the_volume() {
    let out = after(&pod(&[("secret-volume-path", "/run/secrets/")]));
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"],
        json!([mount("vault-secrets", "/run/secrets")])
    );
}

#[test]
fn token_alone_gets_a_volume_at_the_global_path() {
    let object = json!({
        "metadata": {"annotations": annotations(&[
            ("agent-inject", "true"), ("role", "web"), ("agent-inject-token", "true")
        ])},
        "spec": {"containers": [{"name": "web"}]}
    });
    let out = after(&object);
    assert_eq!(out["spec"]["volumes"], json!([csi("vault-secrets")]));
}

#[test]
fn token_gets_the_global_path_even_when_secrets_live_elsewhere() {
    let object = pod(&[
        ("secret-volume-path-db", "/etc/db"),
        ("agent-inject-token", "true"),
    ]);
    let out = after(&object);
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"],
        json!([
            mount("vault-secrets", "/vault/secrets"),
            mount("vault-secrets-1", "/etc/db")
        ])
    );
}

#[test]
fn container_that_already_mounts_the_path_is_skipped_with_a_warning() {
    let object = pod_with(
        &[],
        json!({
            "volumes": [{"name": "old", "emptyDir": {"medium": "Memory"}}],
            "containers": [
                {"name": "web", "volumeMounts": [{"name": "old", "mountPath": "/vault/secrets/"}]},
                {"name": "worker"}
            ]
        }),
    );
    let (ops, warnings) = patched(&object, &settings());
    let out = apply(&object, &ops);
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"],
        json!([{"name": "old", "mountPath": "/vault/secrets/"}])
    );
    assert_eq!(
        out["spec"]["containers"][1]["volumeMounts"],
        json!([mount("vault-secrets", "/vault/secrets")])
    );
    assert_eq!(
        warnings,
        [
            "container \"web\" already mounts volume \"old\" at /vault/secrets, so the Vault secrets for that path are not mounted in it"
        ]
    );
}

#[test]
fn path_no_container_can_take_gets_no_volume() {
    let object = pod_with(
        &[],
        json!({
            "volumes": [{"name": "old", "emptyDir": {}}],
            "containers": [{"name": "web", "volumeMounts": [{"name": "old", "mountPath": "/vault/secrets"}]}]
        }),
    );
    let warnings = unchanged(&object, &settings());
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[1].starts_with("no container can take the Vault secrets for /vault/secrets"));
}

#[test]
fn pod_that_already_has_a_volume_of_the_driver_is_left_as_written() {
    let object = pod_with(
        &[],
        json!({
            "volumes": [csi("secrets")],
            "containers": [{"name": "web", "volumeMounts": [mount("secrets", "/vault/secrets")]}, {"name": "proxy"}]
        }),
    );
    assert!(unchanged(&object, &settings()).is_empty());
}

#[test]
fn pod_that_already_has_a_volume_of_the_driver_is_still_validated() {
    let object = pod_with(
        &[("agent-inject-perms-db", "0999")],
        json!({
            "volumes": [csi("secrets")],
            "containers": [{"name": "web", "volumeMounts": [mount("secrets", "/vault/secrets")]}]
        }),
    );
    assert_eq!(
        denied(&object),
        "vault.hashicorp.com/agent-inject-perms-db: \"0999\" is not an octal file mode like 0644 (at most 7777)"
    );
}

#[test]
fn csi_volume_of_another_driver_does_not_count_as_ours() {
    let object = pod_with(
        &[],
        json!({
            "volumes": [{"name": "store", "csi": {"driver": "secrets-store.csi.k8s.io"}}],
            "containers": [{"name": "web"}]
        }),
    );
    let out = after(&object);
    assert_eq!(out["spec"]["volumes"][1], csi("vault-secrets"));
}

#[test]
fn applying_the_patch_makes_the_next_review_a_no_op() {
    let out = after(&pod(&[]));
    assert!(unchanged(&out, &settings()).is_empty());
}

// ---- Invalid annotations ----------------------------------------------------------

#[test]
fn bad_perms_are_denied_with_the_mount_time_message() {
    let object = pod(&[("agent-inject-perms-db", "rw-r--r--")]);
    assert_eq!(denied(&object), plan_error(&object));
}

#[test]
fn unknown_auth_type_is_denied_with_the_mount_time_message() {
    let object = pod(&[("auth-type", "approle")]);
    assert_eq!(denied(&object), plan_error(&object));
}

#[test]
fn bad_secret_name_is_denied_with_the_mount_time_message() {
    let object = pod(&[(
        "vault.hashicorp.com/agent-inject-secret-db/creds",
        "database/creds/web",
    )]);
    assert_eq!(
        denied(&object),
        "vault.hashicorp.com/agent-inject-secret-db/creds: the secret name after the prefix must be letters, digits, '.', '_' or '-', and not '.' or '..'"
    );
}

#[test]
fn missing_role_is_denied() {
    let mut object = pod(&[]);
    object["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("vault.hashicorp.com/role");
    assert_eq!(
        denied(&object),
        "no Vault role: set annotation vault.hashicorp.com/role"
    );
}

#[test]
fn pod_with_nothing_to_write_is_denied_as_an_empty_volume() {
    let object = json!({
        "metadata": {"annotations": annotations(&[("agent-inject", "true"), ("role", "web")])},
        "spec": {"containers": [{"name": "web"}]}
    });
    assert!(denied(&object).starts_with("volume \"vault-secrets\" would be empty"));
}

#[test]
fn denial_never_echoes_template_text() {
    let object = pod(&[
        (
            "agent-inject-template-db",
            "password=hunter2-literal {{ .Data.password }}",
        ),
        ("agent-inject-perms-db", "bad"),
    ]);
    let message = denied(&object);
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn lenient_mode_admits_invalid_pods_with_the_volume_and_a_warning() {
    let object = pod(&[("auth-type", "approle")]);
    let (ops, warnings) = patched(&object, &lenient());
    let out = apply(&object, &ops);
    assert_eq!(out["spec"]["volumes"], json!([csi("vault-secrets")]));
    assert_eq!(
        warnings,
        [
            "the Vault CSI driver will refuse this Pod's secrets: vault.hashicorp.com/auth-type: auth type \"approle\" is not supported; use kubernetes or jwt"
        ]
    );
}

#[test]
fn lenient_mode_with_unreadable_secret_keys_still_mounts_the_global_path() {
    let object = pod(&[
        ("agent-inject-secret-bad name", "secret/x"),
        ("secret-volume-path-db", "/etc/db"),
    ]);
    let (ops, warnings) = patched(&object, &lenient());
    let out = apply(&object, &ops);
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"],
        json!([mount("vault-secrets", "/vault/secrets")])
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
}

#[test]
fn lenient_mode_leaves_a_non_boolean_agent_inject_alone() {
    let mut object = pod(&[]);
    object["metadata"]["annotations"]["vault.hashicorp.com/agent-inject"] = json!("yes");
    assert_eq!(unchanged(&object, &lenient()).len(), 1);
}

// ---- Warnings -----------------------------------------------------------------

#[test]
fn plan_warnings_are_reported_once_across_volumes() {
    let object = pod(&[
        ("tls-secret", "vault-tls-client"),
        ("agent-inject-secret-api", "secret/api"),
        ("secret-volume-path-api", "/etc/api"),
    ]);
    let (_, warnings) = patched(&object, &settings());
    assert_eq!(
        warnings,
        [
            "vault.hashicorp.com/tls-secret is ignored: TLS trust for Vault is configured on the node for the CSI driver, not per Pod"
        ]
    );
}

#[test]
fn command_annotation_is_a_warning() {
    let (_, warnings) = patched(
        &pod(&[("agent-inject-command-db", "kill -HUP 1")]),
        &settings(),
    );
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("vault.hashicorp.com/agent-inject-command-db is ignored"));
}

// ---- JSON Pointer ---------------------------------------------------------------

#[test]
fn pointer_token_escapes_tilde_before_slash() {
    assert_eq!(pointer_token("a/b"), "a~1b");
    assert_eq!(pointer_token("a~b"), "a~0b");
    assert_eq!(pointer_token("~/"), "~0~1");
    assert_eq!(pointer_token("~1"), "~01");
}

// ---- agent-configmap ------------------------------------------------------------

#[test]
fn an_agent_configmap_alone_gets_the_volume_at_the_secret_volume_path() {
    let object = json!({
        "metadata": {"name": "web-0", "namespace": "shop", "annotations": annotations(&[
            ("agent-inject", "true"),
            ("agent-configmap", "agent-config"),
            ("secret-volume-path", "/etc/secrets"),
        ])},
        "spec": {"containers": [{"name": "web", "image": "web:1"}]},
    });
    let (ops, warnings) = patched(&object, &settings());
    let pod = apply(&object, &ops);
    assert_eq!(pod["spec"]["volumes"], json!([csi("vault-secrets")]));
    assert_eq!(
        pod["spec"]["containers"][0]["volumeMounts"],
        json!([mount("vault-secrets", "/etc/secrets")])
    );
    // Admission does not read ConfigMaps: it says the mount will.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("vault.hashicorp.com/agent-configmap: the agent config in this ConfigMap is read when the volume is mounted"),
        "{warnings:?}"
    );
}

// ---- OpenBao's prefix, notices and cluster settings ------------------------------

/// A Pod whose keys all carry OpenBao's prefix.
fn bao_pod(extra: &[(&str, &str)]) -> Value {
    let mut pairs = vec![
        ("agent-inject", "true"),
        ("role", "web"),
        ("agent-inject-secret-db", "database/creds/web"),
    ];
    pairs.extend_from_slice(extra);
    let map: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| {
            (
                format!("openbao.openbao.org/{k}"),
                Value::String((*v).to_owned()),
            )
        })
        .collect();
    json!({
        "metadata": {"name": "web-0", "namespace": "shop", "annotations": map},
        "spec": {"containers": [{"name": "web", "image": "web:1"}]},
    })
}

#[test]
fn a_pod_with_openbaos_prefix_gets_its_volume_and_status_with_that_prefix() {
    let object = bao_pod(&[]);
    let doc = after(&object);
    assert_eq!(doc["spec"]["volumes"], json!([csi("vault-secrets")]));
    assert_eq!(
        doc["spec"]["containers"][0]["volumeMounts"],
        json!([mount("vault-secrets", "/vault/secrets")])
    );
    let annotations = &doc["metadata"]["annotations"];
    assert_eq!(
        annotations["openbao.openbao.org/agent-inject-status"],
        "injected"
    );
    assert!(annotations.get(STATUS_ANNOTATION).is_none());
}

#[test]
fn openbaos_status_injected_leaves_the_pod_alone() {
    let object = bao_pod(&[("agent-inject-status", "injected")]);
    assert_eq!(unchanged(&object, &settings()), Vec::<String>::new());
}

#[test]
fn openbaos_containers_key_picks_the_containers() {
    let mut object = bao_pod(&[("agent-inject-containers", "web")]);
    object["spec"]["containers"] = json!([{"name": "web"}, {"name": "proxy"}]);
    let doc = after(&object);
    assert!(doc["spec"]["containers"][1].get("volumeMounts").is_none());
}

#[test]
fn one_key_under_both_prefixes_is_denied_naming_both() {
    let mut object = pod(&[]);
    object["metadata"]["annotations"]["openbao.openbao.org/role"] = json!("other");
    let message = denied(&object);
    assert_eq!(
        message,
        "vault.hashicorp.com/role and openbao.openbao.org/role are both set: the Vault and OpenBao spellings of one annotation; keep one of them"
    );
}

#[test]
fn keys_of_the_agent_containers_are_warned_about_at_admission() {
    let (_, warnings) = patched(&pod(&[("agent-limits-cpu", "500m")]), &settings());
    assert_eq!(
        warnings,
        [
            "vault.hashicorp.com/agent-limits-cpu is ignored: it only configures the injector's agent containers, which the CSI driver replaces"
        ]
    );
}

#[test]
fn unknown_keys_are_named_at_admission() {
    let (_, warnings) = patched(&bao_pod(&[("agent-inject-secrets-db", "x")]), &settings());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("openbao.openbao.org/agent-inject-secrets-db is ignored"));
}

#[test]
fn the_command_warning_at_admission_says_what_to_use_instead() {
    let (_, warnings) = patched(
        &pod(&[("agent-inject-command-db", "kill -HUP 1")]),
        &settings(),
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(".vault-csi-version"), "{warnings:?}");
}

#[test]
fn cluster_settings_apply_at_admission() {
    let cluster = ClusterDefaults {
        auth_max_backoff: Some(std::time::Duration::from_secs(30)),
        ..ClusterDefaults::default()
    };
    let object = pod(&[("auth-min-backoff", "1m")]);
    assert!(matches!(
        mutate(&object, &settings()),
        Decision::Patched { .. }
    ));
    match mutate_with(&object, &settings(), &cluster) {
        Decision::Denied { message, .. } => {
            assert!(
                message.contains("AGENT_INJECT_AUTH_MAX_BACKOFF"),
                "{message}"
            )
        }
        other => panic!("expected a denial, got {other:?}"),
    }
}

#[test]
fn admitted_is_the_pod_the_patch_makes() {
    let object = pod(&[]);
    let admission = admitted(&Pod::deserialize(&object).unwrap(), DRIVER).unwrap();
    assert!(admission.warnings.is_empty());
    let mut doc = after(&object);
    doc["metadata"]["annotations"]
        .as_object_mut()
        .unwrap()
        .remove(STATUS_ANNOTATION);
    assert_eq!(admission.pod, Pod::deserialize(&doc).unwrap());
}

//! AdmissionReviews shaped like the API server's (tests/fixtures/webhook/
//! NAME.review.json) answered by the webhook; the returned JSON Patch is
//! applied with a real JSON Patch implementation and the result compared with
//! NAME.expected.json.
//!
//! An expected file holds `allowed`, the exact `warnings`, the `status` of a
//! denial, `object` (the Pod after the patch) when a patch is expected, and
//! optionally `settings` (`deny_invalid`).

use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{Value, json};
use vault_csi_driver::webhook::patch::Settings;
use vault_csi_driver::webhook::review;

fn fixture(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/webhook", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ops of a patch, decoded from the response.
fn ops(response: &Value) -> Vec<Value> {
    let encoded = response["patch"].as_str().expect("patch is a string");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("patch is base64");
    serde_json::from_slice(&bytes).expect("patch is a JSON array")
}

fn apply(object: &Value, ops: &[Value]) -> Value {
    let patch: json_patch::Patch =
        serde_json::from_value(Value::Array(ops.to_vec())).expect("ops are JSON Patch");
    let mut doc = object.clone();
    json_patch::patch(&mut doc, &patch).expect("patch applies to the request object");
    doc
}

/// Op paths the webhook may write: volumes, volume mounts, the status annotation.
fn allowed_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "spec", "volumes"] | ["", "spec", "volumes", "-"] => true,
        [
            "",
            "spec",
            "containers" | "initContainers",
            index,
            "volumeMounts",
            rest @ ..,
        ] => index.parse::<usize>().is_ok() && matches!(rest, [] | ["-"]),
        ["", "metadata", "annotations", key] => {
            *key == "vault.hashicorp.com~1agent-inject-status"
                || *key == "openbao.openbao.org~1agent-inject-status"
        }
        _ => false,
    }
}

/// The object with every place the webhook may write cleared, so that what
/// is left must serialise to the same bytes before and after the patch.
fn untouched(object: &Value) -> String {
    let mut o = object.clone();
    if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("volumes");
        for list in ["containers", "initContainers"] {
            if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
                for c in containers.iter_mut().filter_map(Value::as_object_mut) {
                    c.remove("volumeMounts");
                }
            }
        }
    }
    if let Some(a) = o
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        a.remove("vault.hashicorp.com/agent-inject-status");
        a.remove("openbao.openbao.org/agent-inject-status");
    }
    serde_json::to_string(&o).unwrap()
}

/// Existing volumes and mounts are kept in place, in order.
fn assert_lists_only_grew(before: &Value, after: &Value) {
    let prefix_kept = |pointer: &str| {
        let old = before.pointer(pointer).and_then(Value::as_array);
        let new = after.pointer(pointer).and_then(Value::as_array);
        if let Some(old) = old {
            let new = new.unwrap_or_else(|| panic!("{pointer} disappeared"));
            assert_eq!(&new[..old.len()], &old[..], "{pointer} changed");
        }
    };
    prefix_kept("/spec/volumes");
    for list in ["containers", "initContainers"] {
        let n = before
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..n {
            prefix_kept(&format!("/spec/{list}/{i}/volumeMounts"));
        }
    }
}

/// Answers NAME.review.json and checks the answer against NAME.expected.json.
fn check(name: &str) {
    let review_json = fixture(&format!("{name}.review.json"));
    let expected = fixture(&format!("{name}.expected.json"));
    let settings = Settings {
        driver_name: "vault-csi-driver".into(),
        deny_invalid: expected
            .pointer("/settings/deny_invalid")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    };
    let body = serde_json::to_vec(&review_json).unwrap();
    let answer = review::answer(&body, &settings).expect("an AdmissionReview answer");
    let out = &answer.review;
    assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(out["kind"], "AdmissionReview");
    let response = &out["response"];
    assert_eq!(response["uid"], review_json["request"]["uid"]);
    assert_eq!(response["allowed"], expected["allowed"]);
    assert_eq!(
        response.get("warnings").cloned().unwrap_or(json!([])),
        expected.get("warnings").cloned().unwrap_or(json!([])),
        "warnings"
    );
    assert_eq!(response.get("status"), expected.get("status"), "status");

    let object = &review_json["request"]["object"];
    match expected.get("object") {
        None => {
            assert!(response.get("patch").is_none(), "unexpected patch");
            assert!(response.get("patchType").is_none());
        }
        Some(want) => {
            assert_eq!(response["patchType"], "JSONPatch");
            let ops = ops(response);
            for op in &ops {
                assert_eq!(op["op"], "add", "{op}");
                let path = op["path"].as_str().unwrap_or_default();
                assert!(allowed_path(path), "op writes outside its lane: {path}");
            }
            let got = apply(object, &ops);
            assert_eq!(&got, want, "patched Pod differs from {name}.expected.json");
            assert_eq!(
                untouched(&got),
                untouched(object),
                "untouched fields changed"
            );
            assert_lists_only_grew(object, &got);
        }
    }
}

#[test]
fn docs_deployment_pod_gets_the_volume_and_tls_key_warnings() {
    check("docs-deployment");
}

#[test]
fn docs_env_template_pod_is_patched_in_a_dry_run_too() {
    check("docs-env-template-dry-run");
}

#[test]
fn learn_guide_status_update_is_injected_again() {
    check("learn-status-update");
}

#[test]
fn init_containers_get_the_mounts_and_containers_annotation_picks_app_containers() {
    check("init-containers");
}

#[test]
fn several_secret_volume_paths_get_one_volume_each_with_free_names() {
    check("several-volume-paths");
}

#[test]
fn container_already_mounting_the_path_is_skipped_with_a_warning() {
    check("existing-mount-at-path");
}

#[test]
fn pod_injected_by_the_agent_injector_is_left_alone() {
    check("already-injected");
}

#[test]
fn kube_system_pod_is_left_alone_with_a_warning() {
    check("kube-system");
}

#[test]
fn deployment_is_not_mutated() {
    check("deployment-kind");
}

#[test]
fn invalid_perms_are_denied_with_the_mount_time_message() {
    check("invalid-perms");
}

#[test]
fn a_pod_with_openbaos_prefix_gets_its_volume_and_status_with_that_prefix() {
    check("openbao-prefix");
}

#[test]
fn one_key_under_both_prefixes_is_denied_naming_both() {
    check("both-prefixes");
}

#[test]
fn invalid_perms_are_admitted_with_a_warning_when_deny_invalid_is_off() {
    check("invalid-perms-lenient");
}

#[test]
fn docs_approle_example_is_denied_for_its_auth_type() {
    check("docs-approle");
}

#[test]
fn secret_key_without_a_name_is_denied() {
    check("invalid-secret-name");
}

#[test]
fn pod_without_annotations_is_allowed_unchanged() {
    check("no-annotations");
}

#[test]
fn pod_update_is_allowed_unchanged() {
    check("update-operation");
}

#[test]
fn pod_without_volumes_gets_whole_arrays() {
    check("no-volumes-field");
}

#[test]
fn truncated_and_mangled_reviews_never_panic() {
    let settings = Settings {
        driver_name: "vault-csi-driver".into(),
        deny_invalid: true,
    };
    for name in ["docs-deployment", "several-volume-paths", "init-containers"] {
        let body = serde_json::to_vec(&fixture(&format!("{name}.review.json"))).unwrap();
        for cut in (0..body.len()).step_by(37) {
            let _ = review::answer(&body[..cut], &settings);
        }
        // Swap single bytes for JSON punctuation, deterministically.
        for (i, at) in (0..body.len()).step_by(13).enumerate() {
            let mut mangled = body.clone();
            mangled[at] = b"{}[]\",:0 "[i % 9];
            let _ = review::answer(&mangled, &settings);
        }
    }
}

#[test]
fn fields_of_unexpected_types_are_allowed_unchanged() {
    let settings = Settings {
        driver_name: "vault-csi-driver".into(),
        deny_invalid: true,
    };
    let mut review_json = fixture("docs-deployment.review.json");
    for (pointer, value) in [
        ("/request/object/spec/containers", json!({"name": "app"})),
        ("/request/object/spec/volumes", json!("vault")),
        ("/request/object/metadata/annotations", json!(["a"])),
        ("/request/kind", json!("Pod")),
        ("/request/operation", json!(1)),
        ("/request/object", json!("pod")),
    ] {
        let original = review_json.pointer(pointer).cloned().unwrap();
        *review_json.pointer_mut(pointer).unwrap() = value;
        let body = serde_json::to_vec(&review_json).unwrap();
        let answer = review::answer(&body, &settings).expect("answered");
        assert_eq!(answer.review["response"]["allowed"], true, "{pointer}");
        assert!(
            answer.review["response"].get("patch").is_none(),
            "{pointer}"
        );
        *review_json.pointer_mut(pointer).unwrap() = original;
    }
}

#[test]
fn every_fixture_has_a_test() {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/webhook"]
        .iter()
        .collect();
    let source = include_str!("webhook_review.rs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        if let Some(name) = file.strip_suffix(".review.json") {
            assert!(
                source.contains(&format!("check(\"{name}\")")),
                "{file} is not checked by any test"
            );
        }
    }
}

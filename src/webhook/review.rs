//! `admission.k8s.io/v1` AdmissionReview in, AdmissionReview out. Pure: the
//! server hands the body over and writes back what comes out.
//!
//! The webhook never blocks a Pod it does not own: anything that is not the
//! CREATE of a Pod asking for injection, outside the system namespaces, is
//! allowed as it is. Only a body without a request uid to answer to is
//! refused at the HTTP level, since no AdmissionReview can answer it.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::patch::{self, Decision, Settings};
use crate::inject::{self, ClusterDefaults};
use crate::pod::Pod;

/// The AdmissionReview version the webhook speaks (and registers for).
pub const API_VERSION: &str = "admission.k8s.io/v1";
/// The older version; its shape is the same, so it is answered in kind.
const API_VERSION_V1BETA1: &str = "admission.k8s.io/v1beta1";
/// Namespaces whose Pods are never changed, as with the injector.
pub const SYSTEM_NAMESPACES: [&str; 2] = ["kube-system", "kube-public"];

/// A body that no AdmissionReview response can answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadReview {
    /// Not JSON at all.
    #[error("the body is not JSON")]
    NotJson,
    /// JSON, but without `request.uid` to answer to.
    #[error("the body is not an AdmissionReview: it has no request.uid")]
    NoRequestUid,
}

/// What happened to one review, for the log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed as it is.
    Unchanged,
    /// Allowed with a patch.
    Patched,
    /// Refused.
    Denied,
}

/// The answer to one review.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The AdmissionReview to send back.
    pub review: Value,
    /// What was decided.
    pub verdict: Verdict,
    /// For a refusal, the injector key at fault (a metric label).
    pub denied_key: Option<&'static str>,
    /// `request.uid`.
    pub uid: String,
    /// `request.namespace`, possibly empty.
    pub namespace: String,
    /// The Pod's name, or its `generateName` prefix, possibly empty.
    pub name: String,
}

/// Answers one AdmissionReview body.
///
/// # Errors
///
/// [`BadReview`] when the body is not JSON or has no `request.uid`; every
/// other body gets an AdmissionReview answer.
pub fn answer(body: &[u8], settings: &Settings) -> Result<Answer, BadReview> {
    answer_with(body, settings, &ClusterDefaults::default())
}

/// [`answer`] under the injector's cluster-wide settings.
///
/// # Errors
///
/// As [`answer`].
pub fn answer_with(
    body: &[u8],
    settings: &Settings,
    cluster: &ClusterDefaults,
) -> Result<Answer, BadReview> {
    let review: Value = serde_json::from_slice(body).map_err(|_| BadReview::NotJson)?;
    let request = review.get("request").unwrap_or(&Value::Null);
    let uid = match request.get("uid").and_then(Value::as_str) {
        Some(uid) if !uid.is_empty() => uid.to_owned(),
        _ => return Err(BadReview::NoRequestUid),
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
    let namespace = text(request, "namespace");
    let object = request.get("object").unwrap_or(&Value::Null);
    let name = match text(request, "name") {
        n if n.is_empty() => text(
            object.get("metadata").unwrap_or(&Value::Null),
            "generateName",
        ),
        n => n,
    };

    let api_version = text(&review, "apiVersion");
    let decision = if api_version != API_VERSION || text(&review, "kind") != "AdmissionReview" {
        Decision::Unchanged {
            warnings: vec![format!(
                "the Vault CSI webhook speaks AdmissionReview {API_VERSION} only; this request was allowed unchanged"
            )],
        }
    } else {
        decide(request, &namespace, object, settings, cluster)
    };
    // Answer an old-style review in its own version; anything else in v1.
    let reply_version = if api_version == API_VERSION_V1BETA1 {
        API_VERSION_V1BETA1
    } else {
        API_VERSION
    };
    let (verdict, denied_key) = match decision {
        Decision::Unchanged { .. } => (Verdict::Unchanged, None),
        Decision::Patched { .. } => (Verdict::Patched, None),
        Decision::Denied { key, .. } => (Verdict::Denied, Some(key)),
    };
    Ok(Answer {
        review: response(reply_version, &uid, decision),
        verdict,
        denied_key,
        uid,
        namespace,
        name,
    })
}

/// The decision for a well-formed v1 request.
fn decide(
    request: &Value,
    namespace: &str,
    object: &Value,
    settings: &Settings,
    cluster: &ClusterDefaults,
) -> Decision {
    let unchanged = Decision::Unchanged {
        warnings: Vec::new(),
    };
    let kind = request.get("kind").unwrap_or(&Value::Null);
    let is = |v: &Value, key: &str, want: &str| v.get(key).and_then(Value::as_str) == Some(want);
    let is_pod = is(kind, "group", "")
        && is(kind, "version", "v1")
        && is(kind, "kind", "Pod")
        && request
            .get("subResource")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
    if !is_pod || !is(request, "operation", "CREATE") {
        return unchanged;
    }
    if !object.is_object() {
        return Decision::Unchanged {
            warnings: vec!["the request carries no Pod object; it is admitted unchanged".into()],
        };
    }
    if SYSTEM_NAMESPACES.contains(&namespace) {
        let asks = Pod::deserialize(object)
            .is_ok_and(|pod| inject::selected(pod.annotations()).unwrap_or(true));
        let warnings = if asks {
            vec![format!(
                "Vault secrets are not injected into Pods in namespace {namespace}; the annotations are ignored"
            )]
        } else {
            Vec::new()
        };
        return Decision::Unchanged { warnings };
    }
    patch::mutate_with(object, settings, cluster)
}

/// The AdmissionReview that carries `decision`.
fn response(api_version: &str, uid: &str, decision: Decision) -> Value {
    let mut response = Map::new();
    response.insert("uid".into(), Value::String(uid.to_owned()));
    let warnings = match decision {
        Decision::Unchanged { warnings } => {
            response.insert("allowed".into(), Value::Bool(true));
            warnings
        }
        Decision::Patched { patch, warnings } => {
            response.insert("allowed".into(), Value::Bool(true));
            response.insert("patchType".into(), Value::String("JSONPatch".into()));
            // Serialising a list of plain JSON values cannot fail.
            let bytes = serde_json::to_vec(&patch).unwrap_or_default();
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            response.insert("patch".into(), Value::String(encoded));
            warnings
        }
        Decision::Denied { message, .. } => {
            response.insert("allowed".into(), Value::Bool(false));
            response.insert(
                "status".into(),
                json!({
                    "status": "Failure",
                    "code": 400,
                    "reason": "BadRequest",
                    "message": message,
                }),
            );
            Vec::new()
        }
    };
    if !warnings.is_empty() {
        response.insert("warnings".into(), json!(warnings));
    }
    json!({
        "apiVersion": api_version,
        "kind": "AdmissionReview",
        "response": response,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            driver_name: "vault-csi-driver".into(),
            deny_invalid: true,
        }
    }

    fn review(api_version: &str, request: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "apiVersion": api_version,
            "kind": "AdmissionReview",
            "request": request,
        }))
        .unwrap()
    }

    fn pod_request(namespace: &str, annotations: Value) -> Value {
        json!({
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "object": {
                "metadata": {"generateName": "web-", "annotations": annotations},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]}
            }
        })
    }

    fn inject_annotations() -> Value {
        json!({
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/role": "web",
            "vault.hashicorp.com/agent-inject-secret-db": "database/creds/web"
        })
    }

    #[test]
    fn patched_answer_carries_uid_patch_type_and_base64_patch() {
        let body = review(API_VERSION, pod_request("shop", inject_annotations()));
        let a = answer(&body, &settings()).unwrap();
        assert_eq!(a.verdict, Verdict::Patched);
        let r = &a.review["response"];
        assert_eq!(a.review["apiVersion"], API_VERSION);
        assert_eq!(a.review["kind"], "AdmissionReview");
        assert_eq!(r["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(r["allowed"], true);
        assert_eq!(r["patchType"], "JSONPatch");
        let patch = base64::engine::general_purpose::STANDARD
            .decode(r["patch"].as_str().unwrap())
            .unwrap();
        let ops: Value = serde_json::from_slice(&patch).unwrap();
        assert!(ops.as_array().is_some_and(|ops| !ops.is_empty()));
        assert_eq!(a.namespace, "shop");
        assert_eq!(a.name, "web-");
    }

    #[test]
    fn denied_answer_has_code_400_and_the_plan_message() {
        let mut ann = inject_annotations();
        ann["vault.hashicorp.com/auth-type"] = json!("approle");
        let a = answer(&review(API_VERSION, pod_request("shop", ann)), &settings()).unwrap();
        assert_eq!(a.verdict, Verdict::Denied);
        let r = &a.review["response"];
        assert_eq!(r["allowed"], false);
        assert_eq!(r["status"]["code"], 400);
        assert_eq!(
            r["status"]["message"],
            "vault.hashicorp.com/auth-type: auth type \"approle\" is not supported; use kubernetes or jwt"
        );
        assert!(r.get("patch").is_none());
    }

    #[test]
    fn system_namespaces_are_left_alone_with_a_warning() {
        for ns in SYSTEM_NAMESPACES {
            let a = answer(
                &review(API_VERSION, pod_request(ns, inject_annotations())),
                &settings(),
            )
            .unwrap();
            assert_eq!(a.verdict, Verdict::Unchanged, "{ns}");
            assert_eq!(a.review["response"]["allowed"], true);
            assert_eq!(
                a.review["response"]["warnings"].as_array().unwrap().len(),
                1
            );
        }
    }

    #[test]
    fn other_kinds_operations_and_subresources_are_allowed_unchanged() {
        let mut deployment = pod_request("shop", inject_annotations());
        deployment["kind"] = json!({"group": "apps", "version": "v1", "kind": "Deployment"});
        let mut update = pod_request("shop", inject_annotations());
        update["operation"] = json!("UPDATE");
        let mut sub = pod_request("shop", inject_annotations());
        sub["subResource"] = json!("ephemeralcontainers");
        for request in [deployment, update, sub] {
            let a = answer(&review(API_VERSION, request), &settings()).unwrap();
            assert_eq!(a.verdict, Verdict::Unchanged);
            assert_eq!(
                a.review["response"],
                json!({"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": true})
            );
        }
    }

    #[test]
    fn v1beta1_review_is_allowed_and_answered_in_v1beta1() {
        let body = review(
            API_VERSION_V1BETA1,
            pod_request("shop", inject_annotations()),
        );
        let a = answer(&body, &settings()).unwrap();
        assert_eq!(a.verdict, Verdict::Unchanged);
        assert_eq!(a.review["apiVersion"], API_VERSION_V1BETA1);
        assert_eq!(a.review["response"]["allowed"], true);
    }

    #[test]
    fn unknown_api_version_is_allowed_and_answered_in_v1() {
        let body = review("example.com/v9", pod_request("shop", inject_annotations()));
        let a = answer(&body, &settings()).unwrap();
        assert_eq!(a.review["apiVersion"], API_VERSION);
        assert_eq!(a.review["response"]["allowed"], true);
        assert!(a.review["response"].get("patch").is_none());
    }

    #[test]
    fn request_without_object_is_allowed_with_a_warning() {
        let mut request = pod_request("shop", inject_annotations());
        request.as_object_mut().unwrap().remove("object");
        let a = answer(&review(API_VERSION, request), &settings()).unwrap();
        assert_eq!(a.verdict, Verdict::Unchanged);
        assert!(a.review["response"]["warnings"].is_array());
    }

    #[test]
    fn body_that_is_not_json_is_a_bad_review() {
        assert_eq!(
            answer(b"{\"apiVersion\":", &settings()),
            Err(BadReview::NotJson)
        );
    }

    #[test]
    fn deeply_nested_body_is_refused_without_overflowing_the_stack() {
        let body = "[".repeat(100_000);
        assert_eq!(
            answer(body.as_bytes(), &settings()),
            Err(BadReview::NotJson)
        );
    }

    #[test]
    fn body_without_request_uid_is_a_bad_review() {
        for body in [
            &b"{}"[..],
            b"[]",
            b"null",
            br#"{"request":{"uid":""}}"#,
            br#"{"request":{"uid":7}}"#,
        ] {
            assert_eq!(
                answer(body, &settings()),
                Err(BadReview::NoRequestUid),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

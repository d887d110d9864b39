//! Secrets on mount: a Pod's annotations, its own token, a real OpenBao, a
//! real tmpfs, and `bao agent` as the judge of every byte.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde_json::json;
use support::agent::render_with_agent;
use support::driver::{Driver, DriverOptions, mounts_below};
use support::fixture;
use support::pods::{TestPod, VOLUME, kv1_secret, kv2_secret};
use tonic::Code;
use vault_csi_driver::inject::DefaultFormat;

fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path.as_ref())
        .unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

/// What the agent renders for the injector's default template over `path`.
async fn agent_default(path: &str, format: DefaultFormat) -> String {
    let fx = fixture();
    let template = format.template(path);
    let out = render_with_agent(&fx.bao.addr(), fx.bao.root_token(), &[("f", &template)])
        .await
        .expect("agent renders");
    String::from_utf8(out["f"].clone()).unwrap()
}

#[tokio::test]
async fn kubernetes_auth_kv2_map_matches_the_agent_byte_for_byte() {
    let fx = fixture();
    let (mount, key) = kv2_secret(
        fx,
        json!({"username": "admin", "password": "p@ss w\"ord", "nested": "x"}),
    );
    let path = format!("{mount}/{key}");
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(fx, &[("agent-inject-secret-db", &path)]);
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let target = pod.target(&driver, VOLUME);
    assert_eq!(
        read(target.join("db")),
        agent_default(&path, DefaultFormat::Map).await
    );
    assert!(
        read(target.join("db"))
            .starts_with("data: map[nested:x password:p@ss w\"ord username:admin]\n")
    );
}

#[tokio::test]
async fn jwt_auth_kv1_json_matches_the_agent_byte_for_byte() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"placeholder": "x"}));
    // Raw text: a JSON literal like 1.50 must reach Vault as written.
    let raw = r#"{"user": "bob", "n": 1.50, "html": "<a>&", "none": null}"#;
    let (status, _) = fx.bao.api_raw(None, "PUT", &path, Some(raw));
    assert_eq!(status, 204);
    let pod = TestPod::jwt(fx, &[&path]);
    pod.register(
        fx,
        &[
            ("auth-type", "jwt"),
            ("agent-inject-secret-config", &path),
            ("agent-inject-default-template", "json"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let got = read(pod.target(&driver, VOLUME).join("config"));
    assert_eq!(got, agent_default(&path, DefaultFormat::Json).await);
    assert_eq!(
        got,
        "{\"html\":\"\\u003ca\\u003e\\u0026\",\"n\":1.50,\"none\":null,\"user\":\"bob\"}\n"
    );
}

#[tokio::test]
async fn kv1_map_keeps_numbers_as_written() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"user": "bob", "n": 3}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(fx, &[("agent-inject-secret-creds", &path)]);
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let got = read(pod.target(&driver, VOLUME).join("creds"));
    assert_eq!(got, "n: 3\nuser: bob\n");
    assert_eq!(got, agent_default(&path, DefaultFormat::Map).await);
}

#[tokio::test]
async fn kv2_paths_with_and_without_data_read_the_same_secret() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"a": "1"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let short = format!("{mount}/{key}");
    let long = format!("{mount}/data/{key}");
    pod.register(
        fx,
        &[
            ("agent-inject-secret-short", &short),
            ("agent-inject-secret-long", &long),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let target = pod.target(&driver, VOLUME);
    assert_eq!(read(target.join("short")), read(target.join("long")));
    assert!(read(target.join("short")).starts_with("data: map[a:1]\n"));
}

#[tokio::test]
async fn file_names_nested_paths_modes_and_owners_follow_the_annotations() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-Plain", &path),
            ("agent-inject-secret-nested", &path),
            ("agent-inject-file-nested", "/conf/app/settings.txt"),
            ("agent-inject-perms-nested", "0400"),
            ("agent-run-as-user", "2000"),
            ("agent-run-as-group", "3000"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let target = pod.target(&driver, VOLUME);
    let plain = std::fs::metadata(target.join("plain")).expect("NAME is lower-cased");
    assert_eq!(plain.permissions().mode() & 0o7777, 0o644);
    assert_eq!((plain.uid(), plain.gid()), (2000, 3000));
    let nested = std::fs::metadata(target.join("conf/app/settings.txt")).unwrap();
    assert_eq!(nested.permissions().mode() & 0o7777, 0o400);
    assert_eq!(read(target.join("conf/app/settings.txt")), "k: v\n");
}

#[tokio::test]
async fn files_belong_to_100_1000_by_default_and_to_the_app_user_with_run_as_same_user() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let default_pod = TestPod::kubernetes(fx, &[&path]);
    default_pod.register(fx, &[("agent-inject-secret-s", &path)]);
    let same_pod = TestPod::kubernetes(fx, &[&path]);
    same_pod.register(
        fx,
        &[
            ("agent-inject-secret-s", &path),
            ("agent-run-as-same-user", "true"),
        ],
    );
    let driver = Driver::start().await;
    let mut node = driver.node().await;
    for pod in [&default_pod, &same_pod] {
        node.node_publish_volume(pod.publish_request(&driver, VOLUME, &pod.token(fx)))
            .await
            .unwrap();
    }
    let default_meta = std::fs::metadata(default_pod.target(&driver, VOLUME).join("s")).unwrap();
    assert_eq!((default_meta.uid(), default_meta.gid()), (100, 1000));
    let same_meta = std::fs::metadata(same_pod.target(&driver, VOLUME).join("s")).unwrap();
    assert_eq!(same_meta.uid(), 1234, "the first container's runAsUser");
}

#[tokio::test]
async fn the_token_file_holds_a_working_vault_token_without_newline() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-s", &path),
            ("agent-inject-token", "true"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let token_path = pod.target(&driver, VOLUME).join("token");
    let token = read(&token_path);
    assert!(!token.ends_with('\n'));
    let meta = std::fs::metadata(&token_path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    let (status, _) = support::bao::http_request(
        fx.bao.port(),
        "GET",
        &format!("/v1/{path}"),
        &[("X-Vault-Token", token.as_str())],
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "the token reads the Pod's secret");
    assert!(!driver.log().contains(&token), "the token is never logged");
}

#[tokio::test]
async fn several_secret_volume_paths_make_one_volume_each() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    let mut spec = support::pods::pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", &pod.role),
            ("agent-inject-secret-a", &path),
            ("agent-inject-secret-b", &path),
            ("secret-volume-path-b", "/etc/b"),
        ],
    );
    spec["spec"]["containers"][0]["volumeMounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "vault-b", "mountPath": "/etc/b", "readOnly": true}));
    spec["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "vault-b", "csi": {"driver": "vault-csi-driver", "readOnly": true}}));
    fx.kube.put_pod(spec);
    let driver = Driver::start().await;
    let mut node = driver.node().await;
    let jwt = pod.token(fx);
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &jwt))
        .await
        .unwrap();
    node.node_publish_volume(pod.publish_request(&driver, "vault-b", &jwt))
        .await
        .unwrap();
    let first = pod.target(&driver, VOLUME);
    let second = pod.target(&driver, "vault-b");
    assert!(first.join("a").exists() && !first.join("b").exists());
    assert!(second.join("b").exists() && !second.join("a").exists());
}

#[tokio::test]
async fn republish_keeps_the_files_and_needs_no_api_server_round_trip() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v1"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(fx, &[("agent-inject-secret-s", &path)]);
    let driver = Driver::start().await;
    let mut node = driver.node().await;
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &pod.token(fx)))
        .await
        .unwrap();
    fx.bao.write_kv1(&path, json!({"k": "v2"}));
    fx.kube.delete_pod(&pod.id.namespace, &pod.id.pod_name);
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &pod.token(fx)))
        .await
        .expect("republish with a fresh token succeeds");
    assert_eq!(read(pod.target(&driver, VOLUME).join("s")), "k: v1\n");
    assert_eq!(mounts_below(driver.dir()).len(), 1);
}

#[tokio::test]
async fn unpublish_after_publish_leaves_nothing_behind() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(fx, &[("agent-inject-secret-s", &path)]);
    let driver = Driver::start().await;
    let mut node = driver.node().await;
    node.node_publish_volume(pod.publish_request(&driver, VOLUME, &pod.token(fx)))
        .await
        .unwrap();
    node.node_unpublish_volume(pod.unpublish_request(&driver, VOLUME))
        .await
        .unwrap();
    assert!(mounts_below(driver.dir()).is_empty());
    assert!(!pod.target(&driver, VOLUME).exists());
}

#[tokio::test]
async fn ignored_annotations_become_warning_events_on_the_pod() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-s", &path),
            ("tls-skip-verify", "true"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events = fx.kube.events();
        let ours: Vec<_> = events
            .iter()
            .filter(|e| e["involvedObject"]["uid"] == pod.id.pod_uid.as_str())
            .collect();
        if let Some(event) = ours.first() {
            assert_eq!(event["type"], "Warning");
            assert_eq!(event["reason"], "IgnoredAnnotation");
            assert_eq!(event["involvedObject"]["kind"], "Pod");
            assert!(
                event["message"]
                    .as_str()
                    .unwrap()
                    .contains("tls-skip-verify")
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no event posted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Publishes and expects a failure with `code` and a message containing
/// `needle`, no mount left, and neither the JWT nor `secret` in message or log.
async fn expect_failure(
    driver: &Driver,
    pod: &TestPod,
    jwt: &str,
    code: Code,
    needle: &str,
) -> tonic::Status {
    let status = driver
        .node()
        .await
        .node_publish_volume(pod.publish_request(driver, VOLUME, jwt))
        .await
        .expect_err("publish must fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(needle),
        "{:?} lacks {needle:?}",
        status.message()
    );
    assert!(!status.message().contains(jwt));
    assert!(!driver.log().contains(jwt), "the JWT reached the log");
    assert!(
        mounts_below(driver.dir()).is_empty(),
        "a failed publish left a mount"
    );
    assert!(!pod.target(driver, VOLUME).exists());
    status
}

#[tokio::test]
async fn a_pod_without_agent_inject_fails_precondition() {
    let fx = fixture();
    let pod = TestPod::kubernetes(fx, &["nothing/*"]);
    fx.kube
        .put_pod(support::pods::pod_json(&pod.id, &[("role", &pod.role)]));
    let driver = Driver::start().await;
    expect_failure(
        &driver,
        &pod,
        &pod.token(fx),
        Code::FailedPrecondition,
        "agent-inject",
    )
    .await;
}

#[tokio::test]
async fn a_missing_pod_is_not_found() {
    let fx = fixture();
    let pod = TestPod::kubernetes(fx, &["nothing/*"]);
    let driver = Driver::start().await;
    expect_failure(
        &driver,
        &pod,
        &pod.token(fx),
        Code::NotFound,
        &pod.id.pod_name,
    )
    .await;
}

#[tokio::test]
async fn a_replaced_pod_with_another_uid_fails_precondition() {
    let fx = fixture();
    let pod = TestPod::kubernetes(fx, &["nothing/*"]);
    let mut other = pod.id.clone();
    other.pod_uid = support::jwt::new_uid();
    fx.kube.put_pod(support::pods::pod_json(
        &other,
        &[("agent-inject", "true"), ("role", &pod.role)],
    ));
    let driver = Driver::start().await;
    expect_failure(
        &driver,
        &pod,
        &pod.token(fx),
        Code::FailedPrecondition,
        "uid",
    )
    .await;
}

#[tokio::test]
async fn a_request_without_a_token_for_the_audience_is_invalid() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(fx, &[("agent-inject-secret-s", &path)]);
    let driver = Driver::start().await;
    let mut request = pod.publish_request(&driver, VOLUME, "unused");
    request.volume_context.remove(support::pods::TOKENS_KEY);
    let status = driver
        .node()
        .await
        .node_publish_volume(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("audience \"vault\""),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn an_unknown_role_is_permission_denied() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    fx.kube.put_pod(support::pods::pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", "no-such-role"),
            ("agent-inject-secret-s", &path),
        ],
    ));
    let driver = Driver::start().await;
    expect_failure(
        &driver,
        &pod,
        &pod.token(fx),
        Code::PermissionDenied,
        "login",
    )
    .await;
}

#[tokio::test]
async fn a_role_bound_to_another_service_account_refuses_the_login() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let owner = TestPod::kubernetes(fx, &[&path]);
    let intruder = TestPod::kubernetes(fx, &["nothing/*"]);
    fx.kube.put_pod(support::pods::pod_json(
        &intruder.id,
        &[
            ("agent-inject", "true"),
            ("role", &owner.role),
            ("agent-inject-secret-s", &path),
        ],
    ));
    let driver = Driver::start().await;
    expect_failure(
        &driver,
        &intruder,
        &intruder.token(fx),
        Code::PermissionDenied,
        "refused",
    )
    .await;
}

#[tokio::test]
async fn a_denied_path_is_permission_denied_and_names_the_path() {
    let fx = fixture();
    let allowed = kv1_secret(fx, json!({"k": "v"}));
    let denied = kv1_secret(fx, json!({"k": "TOP-SECRET-VALUE"}));
    let pod = TestPod::kubernetes(fx, &[&allowed]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-ok", &allowed),
            ("agent-inject-secret-no", &denied),
        ],
    );
    let driver = Driver::start().await;
    expect_failure(
        &driver,
        &pod,
        &pod.token(fx),
        Code::PermissionDenied,
        &denied,
    )
    .await;
    assert!(!driver.log().contains("TOP-SECRET-VALUE"));
}

#[tokio::test]
async fn a_missing_secret_is_not_found() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let missing = format!("{path}-gone");
    let pod = TestPod::kubernetes(fx, &[&missing]);
    pod.register(fx, &[("agent-inject-secret-s", &missing)]);
    let driver = Driver::start().await;
    expect_failure(&driver, &pod, &pod.token(fx), Code::NotFound, &missing).await;
}

#[tokio::test]
async fn vault_down_is_unavailable() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-s", &path),
            ("client-max-retries", "0"),
        ],
    );
    let closed = format!("http://127.0.0.1:{}", support::bao::free_port());
    let driver = Driver::start_with(DriverOptions {
        vault_addr: Some(closed),
        ..Default::default()
    })
    .await;
    expect_failure(&driver, &pod, &pod.token(fx), Code::Unavailable, "").await;
}

#[tokio::test]
async fn api_server_down_is_unavailable() {
    let fx = fixture();
    let pod = TestPod::kubernetes(fx, &["nothing/*"]);
    let closed = format!("http://127.0.0.1:{}", support::bao::free_port());
    let driver = Driver::start_with(DriverOptions {
        kube_api_url: Some(closed),
        ..Default::default()
    })
    .await;
    expect_failure(
        &driver,
        &pod,
        &pod.token(fx),
        Code::Unavailable,
        "API server",
    )
    .await;
}

/// Registers the Pod with `annotations` and expects InvalidArgument naming `key`.
async fn expect_bad_annotation(annotations: &[(&str, &str)], key: &str) {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    let mut all = vec![("agent-inject-secret-s", path.as_str())];
    all.extend_from_slice(annotations);
    pod.register(fx, &all);
    let driver = Driver::start().await;
    expect_failure(&driver, &pod, &pod.token(fx), Code::InvalidArgument, key).await;
}

#[tokio::test]
async fn a_bad_perms_value_is_invalid_and_named() {
    expect_bad_annotation(
        &[("agent-inject-perms-s", "rw-r--r--")],
        "agent-inject-perms-s",
    )
    .await;
}

#[tokio::test]
async fn a_name_with_dot_dot_is_invalid() {
    expect_bad_annotation(
        &[("agent-inject-secret-..", "kv/x")],
        "agent-inject-secret-..",
    )
    .await;
}

#[tokio::test]
async fn a_file_name_escaping_the_volume_is_invalid() {
    expect_bad_annotation(
        &[("agent-inject-file-s", "../../etc/passwd")],
        "agent-inject-file-s",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_auth_type_is_invalid() {
    expect_bad_annotation(&[("auth-type", "ldap")], "auth-type").await;
}

#[tokio::test]
async fn an_unknown_default_template_is_invalid() {
    expect_bad_annotation(
        &[("agent-inject-default-template", "yaml")],
        "agent-inject-default-template",
    )
    .await;
}

#[tokio::test]
async fn a_service_outside_the_allow_list_is_invalid() {
    expect_bad_annotation(&[("service", "https://evil.example:8200")], "service").await;
}

#[tokio::test]
async fn a_service_in_the_allow_list_is_used() {
    let fx = fixture();
    let path = kv1_secret(fx, json!({"k": "v"}));
    let pod = TestPod::kubernetes(fx, &[&path]);
    let real = fx.bao.addr().replace("127.0.0.1", "localhost");
    pod.register(fx, &[("agent-inject-secret-s", &path), ("service", &real)]);
    let closed = format!("http://127.0.0.1:{}", support::bao::free_port());
    let driver = Driver::start_with(DriverOptions {
        vault_addr: Some(closed),
        args: vec!["--vault-allowed-addrs".into(), real.clone()],
        ..Default::default()
    })
    .await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    assert_eq!(read(pod.target(&driver, VOLUME).join("s")), "k: v\n");
}

#[tokio::test]
async fn a_custom_template_renders_like_the_agent_in_the_published_volume() {
    let fx = fixture();
    let (mount, key) = kv2_secret(
        fx,
        json!({"username": "app", "password": "p@ss\"w<rd>", "api-key": "k-1", "port": "5432"}),
    );
    let path = format!("{mount}/{key}");
    let template = format!(
        r#"{{{{- with secret "{path}" -}}}}
{{{{- range $k, $v := .Data.data }}}}
export {{{{ $k | toUpper | replaceAll "-" "_" }}}}={{{{ printf "%q" $v }}}}
{{{{- end }}}}
DSN=postgres://{{{{ .Data.data.username }}}}@db:{{{{ index .Data.data "port" }}}}/app
{{{{ end -}}}}"#
    );
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    pod.register(
        fx,
        &[
            ("agent-inject-secret-app.env", &path),
            ("agent-inject-template-app.env", &template),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let ours = read(pod.target(&driver, VOLUME).join("app.env"));
    let agent = render_with_agent(&fx.bao.addr(), fx.bao.root_token(), &[("f", &template)])
        .await
        .expect("agent renders");
    assert_eq!(ours, String::from_utf8(agent["f"].clone()).unwrap());
    assert!(ours.contains("export API_KEY=\"k-1\""), "{ours}");
}

#[tokio::test]
async fn a_pod_created_after_a_secret_changed_gets_the_new_value_at_once() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"password": "old"}));
    let path = format!("{mount}/{key}");
    let first = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    first.register(fx, &[("agent-inject-secret-db", &path)]);
    let driver = Driver::start().await;
    first
        .publish(&driver, VOLUME, &first.token(fx))
        .await
        .unwrap();
    fx.bao.write_kv2(&mount, &key, json!({"password": "new"}));
    // The next replica exists only after the change: the identity's read of
    // a moment ago is older than the Pod and must not serve it.
    let next = first.replica("next");
    next.register(fx, &[("agent-inject-secret-db", &path)]);
    next.publish(&driver, VOLUME, &next.token(fx))
        .await
        .unwrap();
    assert!(read(first.target(&driver, VOLUME).join("db")).contains("password:old"));
    assert!(read(next.target(&driver, VOLUME).join("db")).contains("password:new"));
}

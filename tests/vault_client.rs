//! The Vault client against a real OpenBao (and the harness it relies on).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::agent::{AgentTemplate, render_with_agent, render_with_agent_opts};
use support::bao::{BaoServer, KubeRole, PLACEHOLDER_CA_PEM};
use support::jwt::PodIdentity;
use support::kube_api::{KubeApi, Mode, pod_json};
use support::{fixture, unique};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vault_csi_driver::vault::{
    AuthMethodPath, ErrorKind, SecretResponse, Target, VaultClient, VaultError, VaultSettings,
    VaultTlsConfig, VaultToken,
};

const HOUR: Duration = Duration::from_secs(3600);

fn client_for(address: &str) -> VaultClient {
    VaultClient::new(&VaultSettings {
        address: address.to_owned(),
        ..VaultSettings::default()
    })
    .expect("client")
}

fn client() -> VaultClient {
    client_for(&fixture().bao.addr())
}

fn root() -> VaultToken {
    VaultToken::from_secret(fixture().bao.root_token())
}

fn no_args() -> &'static [&'static str] {
    &[]
}

/// A logged-in Pod identity allowed on `paths`.
async fn kube_login(paths: &[&str]) -> (VaultClient, Target, VaultToken) {
    let f = fixture();
    let (id, role) = f.kube_identity(paths);
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let client = client();
    let target = client.default_target().clone();
    let token = client
        .login(&target, &AuthMethodPath::kubernetes(), &role, &jwt)
        .await
        .expect("kubernetes login");
    (client, target, token)
}

fn data_of(response: &SecretResponse) -> Value {
    let body: Value = serde_json::from_str(&response.body).expect("JSON body");
    body["data"].clone()
}

async fn read(
    client: &VaultClient,
    target: &Target,
    token: &VaultToken,
    path: &str,
) -> Result<SecretResponse, VaultError> {
    client
        .read_secret(target, token, path, no_args())
        .await
        .map(|r| r.expect("a read always has a body"))
}

// ---- login ---------------------------------------------------------------

#[tokio::test]
async fn kubernetes_login_returns_token_with_role_policies() {
    let f = fixture();
    let (id, role) = f.kube_identity(&["secret/data/none"]);
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let client = client();
    let token = client
        .login(
            client.default_target(),
            &AuthMethodPath::kubernetes(),
            &role,
            &jwt,
        )
        .await
        .unwrap();
    assert!(token.renewable);
    assert_eq!(token.lease_duration, HOUR);
    assert!(!token.accessor.is_empty());
    assert!(
        token.policies.iter().any(|p| p.starts_with("policy-")),
        "{:?}",
        token.policies
    );
}

#[tokio::test]
async fn kubernetes_login_is_checked_with_token_review() {
    let f = fixture();
    let (id, role) = f.kube_identity(&["secret/data/none"]);
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let before = f.kube.token_reviews();
    client()
        .login(
            client().default_target(),
            &AuthMethodPath::kubernetes(),
            &role,
            &jwt,
        )
        .await
        .unwrap();
    assert!(f.kube.token_reviews() > before);
}

#[tokio::test]
async fn jwt_login_returns_token() {
    let f = fixture();
    let (id, role) = f.jwt_identity(&["secret/data/none"]);
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let client = client();
    let token = client
        .login(client.default_target(), &AuthMethodPath::jwt(), &role, &jwt)
        .await
        .unwrap();
    assert_eq!(token.lease_duration, HOUR);
    let info = client
        .lookup_self(client.default_target(), &token)
        .await
        .unwrap();
    assert_eq!(info.meta.get("role"), Some(&role));
}

#[tokio::test]
async fn unknown_kubernetes_role_is_refused_with_vault_text() {
    let f = fixture();
    let id = PodIdentity::new("ns", "sa", "pod");
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let err = client()
        .login(
            client().default_target(),
            &AuthMethodPath::kubernetes(),
            "no-such-role",
            &jwt,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied);
    assert_eq!(
        err.to_string(),
        r#"Vault login at auth/kubernetes/login refused (HTTP 400): invalid role name "no-such-role""#
    );
}

#[tokio::test]
async fn unknown_jwt_role_is_refused() {
    let f = fixture();
    let id = PodIdentity::new("ns", "sa", "pod");
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let err = client()
        .login(
            client().default_target(),
            &AuthMethodPath::jwt(),
            "no-such-role",
            &jwt,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("no-such-role"), "{err}");
}

#[tokio::test]
async fn kubernetes_login_with_wrong_audience_is_refused() {
    let f = fixture();
    let (id, role) = f.kube_identity(&["secret/data/none"]);
    let jwt = f.kube.mint(&id, "not-vault", HOUR);
    let err = client()
        .login(
            client().default_target(),
            &AuthMethodPath::kubernetes(),
            &role,
            &jwt,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
    assert!(!err.to_string().contains(&jwt));
}

#[tokio::test]
async fn jwt_login_with_wrong_audience_is_refused() {
    let f = fixture();
    let (id, role) = f.jwt_identity(&["secret/data/none"]);
    let jwt = f.kube.mint(&id, "not-vault", HOUR);
    let err = client()
        .login(
            client().default_target(),
            &AuthMethodPath::jwt(),
            &role,
            &jwt,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
}

#[tokio::test]
async fn kubernetes_login_with_expired_token_is_refused() {
    let f = fixture();
    let (id, role) = f.kube_identity(&["secret/data/none"]);
    let jwt = f
        .kube
        .issuer()
        .mint_expired(&id, "vault", Duration::from_secs(60));
    let err = client()
        .login(
            client().default_target(),
            &AuthMethodPath::kubernetes(),
            &role,
            &jwt,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
}

#[tokio::test]
async fn kubernetes_login_with_revoked_pod_token_is_refused() {
    let f = fixture();
    let (id, role) = f.kube_identity(&["secret/data/none"]);
    let jwt = f.kube.mint(&id, "vault", HOUR);
    f.kube.revoke_pod_tokens(&id.pod_uid);
    let err = client()
        .login(
            client().default_target(),
            &AuthMethodPath::kubernetes(),
            &role,
            &jwt,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Vault login at auth/kubernetes/login refused (HTTP 403): permission denied"
    );
}

#[tokio::test]
async fn kubernetes_login_for_other_service_account_is_refused() {
    let f = fixture();
    let (id, role) = f.kube_identity(&["secret/data/none"]);
    let other = PodIdentity::new(&id.namespace, "intruder", "pod");
    let jwt = f.kube.mint(&other, "vault", HOUR);
    let err = client()
        .login(
            client().default_target(),
            &AuthMethodPath::kubernetes(),
            &role,
            &jwt,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
}

#[tokio::test]
async fn opaque_string_is_refused_as_jwt() {
    let f = fixture();
    let (_, role) = f.kube_identity(&["secret/data/none"]);
    let err = client()
        .login(
            client().default_target(),
            &AuthMethodPath::kubernetes(),
            &role,
            "not-a-jwt-at-all",
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
    assert!(!err.to_string().contains("not-a-jwt-at-all"), "{err}");
}

#[tokio::test]
async fn login_on_unmounted_auth_path_is_refused() {
    let f = fixture();
    let id = PodIdentity::new("ns", "sa", "pod");
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let auth = AuthMethodPath::new("not-mounted").unwrap();
    let err = client()
        .login(client().default_target(), &auth, "r", &jwt)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
}

#[tokio::test]
async fn kubernetes_login_while_api_server_fails_is_refused_not_unavailable() {
    let f = fixture();
    let kube = KubeApi::start();
    let auth = unique("k8s-down");
    f.bao.enable_auth(&auth, "kubernetes");
    f.bao.api(
        "PUT",
        &format!("auth/{auth}/config"),
        Some(json!({
            "kubernetes_host": kube.url(),
            "kubernetes_ca_cert": PLACEHOLDER_CA_PEM,
            "disable_local_ca_jwt": true,
            "token_reviewer_jwt": kube.api_token("vault", "vault"),
        })),
    );
    let id = PodIdentity::new(&unique("ns"), "sa", "pod");
    f.bao.kubernetes_role(
        &auth,
        "r",
        &KubeRole::new(&id.namespace, "sa", &["default"]),
    );
    let jwt = kube.mint(&id, "vault", HOUR);
    kube.set_mode(Mode::Error500);
    let err = client()
        .login(
            client().default_target(),
            &AuthMethodPath::new(&auth).unwrap(),
            "r",
            &jwt,
        )
        .await
        .unwrap_err();
    // OpenBao hides the TokenReview failure behind a plain 403.
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
    kube.set_mode(Mode::Normal);
    client()
        .login(
            client().default_target(),
            &AuthMethodPath::new(&auth).unwrap(),
            "r",
            &jwt,
        )
        .await
        .expect("login once the API server is back");
}

#[tokio::test]
async fn login_errors_never_contain_the_jwt() {
    let f = fixture();
    let (id, role) = f.kube_identity(&["secret/data/none"]);
    let jwt = f.kube.mint(&id, "elsewhere", HOUR);
    for (auth, role) in [
        (AuthMethodPath::kubernetes(), role.as_str()),
        (AuthMethodPath::kubernetes(), "missing"),
        (AuthMethodPath::jwt(), role.as_str()),
        (AuthMethodPath::jwt(), "missing"),
    ] {
        let err = client()
            .login(client().default_target(), &auth, role, &jwt)
            .await
            .unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(&jwt), "{shown}");
        for part in jwt.split('.') {
            assert!(!shown.contains(part), "{shown}");
        }
    }
}

// ---- token upkeep --------------------------------------------------------

#[tokio::test]
async fn renew_self_extends_the_lease() {
    let (client, target, token) = kube_login(&["secret/data/none"]).await;
    let renewed = client
        .renew_self(&target, &token, Some(Duration::from_secs(600)))
        .await
        .unwrap();
    assert_eq!(renewed.expose_secret(), token.expose_secret());
    assert_eq!(renewed.lease_duration, Duration::from_secs(600));
    assert!(renewed.renewable);
}

#[tokio::test]
async fn renew_self_is_refused_once_the_login_jwt_is_revoked() {
    let f = fixture();
    let (id, role) = f.kube_identity(&["secret/data/none"]);
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let client = client();
    let target = client.default_target().clone();
    let token = client
        .login(&target, &AuthMethodPath::kubernetes(), &role, &jwt)
        .await
        .unwrap();
    let reviews = f.kube.token_reviews();
    f.kube.revoke_token(&jwt);
    // Renewal makes OpenBao review the login JWT again (SPEC 3).
    let err = client.renew_self(&target, &token, None).await.unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("during renewal"), "{err}");
    assert!(f.kube.token_reviews() > reviews);
}

#[tokio::test]
async fn revoke_self_invalidates_the_token() {
    let (client, target, token) = kube_login(&["secret/data/none"]).await;
    client.revoke_self(&target, &token).await.unwrap();
    let err = client.lookup_self(&target, &token).await.unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
    assert!(!err.to_string().contains(token.expose_secret()));
}

#[tokio::test]
async fn lookup_self_reports_kubernetes_identity() {
    let f = fixture();
    let (id, role) = f.kube_identity(&["secret/data/none"]);
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let client = client();
    let token = client
        .login(
            client.default_target(),
            &AuthMethodPath::kubernetes(),
            &role,
            &jwt,
        )
        .await
        .unwrap();
    let info = client
        .lookup_self(client.default_target(), &token)
        .await
        .unwrap();
    assert_eq!(info.meta["service_account_name"], id.service_account);
    assert_eq!(info.meta["service_account_namespace"], id.namespace);
    assert_eq!(info.meta["service_account_uid"], id.sa_uid);
    assert!(info.ttl > 3500 && info.ttl <= 3600, "{}", info.ttl);
    assert_eq!(info.accessor, token.accessor);
}

#[tokio::test]
async fn token_debug_never_shows_the_token() {
    let (_, _, token) = kube_login(&["secret/data/none"]).await;
    let shown = format!("{token:?}");
    assert!(!shown.contains(token.expose_secret()), "{shown}");
}

// ---- secrets ---------------------------------------------------------------

#[tokio::test]
async fn kv1_read_returns_raw_json_with_numbers_as_written() {
    let f = fixture();
    let mount = unique("kv1");
    f.bao.enable_kv(&mount, 1);
    f.bao.write_kv1_raw(
        &format!("{mount}/app"),
        r#"{"user": "bob", "n": 3, "price": 1.50, "none": null, "list": ["a", 1]}"#,
    );
    let (client, target, token) = kube_login(&[&format!("{mount}/*")]).await;
    let response = read(&client, &target, &token, &format!("{mount}/app"))
        .await
        .unwrap();
    assert_eq!(response.path, format!("{mount}/app"));
    assert!(
        response.body.contains(r#""price":1.50"#),
        "{}",
        response.body
    );
    assert_eq!(data_of(&response)["user"], "bob");
    assert_eq!(response.lease_id, "");
    assert!(!response.renewable);
    assert!(!response.request_id.is_empty());
}

#[tokio::test]
async fn kv2_logical_and_data_paths_read_the_same_secret() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    f.bao
        .write_kv2(&mount, "my/config", json!({"username": "admin"}));
    let (client, target, token) = kube_login(&[&format!("{mount}/data/*")]).await;
    let short = read(&client, &target, &token, &format!("{mount}/my/config"))
        .await
        .unwrap();
    let long = read(
        &client,
        &target,
        &token,
        &format!(" /{mount}/data/my/config/ "),
    )
    .await
    .unwrap();
    assert_eq!(short.path, format!("{mount}/data/my/config"));
    assert_eq!(long.path, short.path);
    assert_eq!(data_of(&short)["data"], json!({"username": "admin"}));
    assert_eq!(data_of(&short)["data"], data_of(&long)["data"]);
    assert_eq!(data_of(&short)["metadata"]["version"], 1);
}

#[tokio::test]
async fn openbao_refuses_a_mount_under_another_mount() {
    // The mount cache serves every path below a mount from one answer,
    // which holds because mounts cannot nest.
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    let (status, text) = f.bao.api_raw(
        None,
        "POST",
        &format!("sys/mounts/{mount}/nested"),
        Some(r#"{"type": "kv", "options": {"version": "1"}}"#),
    );
    assert_eq!(status, 400, "{text}");
}

#[tokio::test]
async fn a_second_path_on_a_kv2_mount_is_read_through_the_mount_already_known() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    f.bao.write_kv2(&mount, "team-a/db", json!({"user": "a"}));
    f.bao.write_kv2(&mount, "team-b/api", json!({"user": "b"}));
    let (client, target, token) = kube_login(&[&format!("{mount}/data/*")]).await;
    read(&client, &target, &token, &format!("{mount}/team-a/db"))
        .await
        .unwrap();
    let second = read(&client, &target, &token, &format!("{mount}/team-b/api"))
        .await
        .unwrap();
    assert_eq!(second.path, format!("{mount}/data/team-b/api"));
    assert_eq!(data_of(&second)["data"], json!({"user": "b"}));
}

#[tokio::test]
async fn a_kv1_mount_whose_name_extends_a_known_kv2_mount_is_not_taken_for_it() {
    let f = fixture();
    let v2 = unique("kv");
    let v1 = format!("{v2}-v1");
    f.bao.enable_kv(&v2, 2);
    f.bao.enable_kv(&v1, 1);
    f.bao.write_kv2(&v2, "app", json!({"user": "two"}));
    f.bao
        .write_kv1(&format!("{v1}/app"), json!({"user": "one"}));
    let (client, target, token) = kube_login(&[&format!("{v2}/data/*"), &format!("{v1}/*")]).await;
    read(&client, &target, &token, &format!("{v2}/app"))
        .await
        .unwrap();
    let plain = read(&client, &target, &token, &format!("{v1}/app"))
        .await
        .unwrap();
    assert_eq!(plain.path, format!("{v1}/app"));
    assert_eq!(data_of(&plain), json!({"user": "one"}));
}

#[tokio::test]
async fn kv2_version_query_reads_an_older_version() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    f.bao.write_kv2(&mount, "app", json!({"v": "one"}));
    f.bao.write_kv2(&mount, "app", json!({"v": "two"}));
    let (client, target, token) = kube_login(&[&format!("{mount}/data/*")]).await;
    let old = read(&client, &target, &token, &format!("{mount}/app?version=1"))
        .await
        .unwrap();
    let new = read(&client, &target, &token, &format!("{mount}/app"))
        .await
        .unwrap();
    assert_eq!(data_of(&old)["data"]["v"], "one");
    assert_eq!(data_of(&new)["data"]["v"], "two");
}

#[tokio::test]
async fn kv2_subkeys_path_is_rewritten_like_the_agent() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    f.bao.write_kv2(
        &mount,
        "subkeys/app",
        json!({"which": "secret named subkeys/app"}),
    );
    f.bao
        .write_kv2(&mount, "app", json!({"which": "secret named app"}));
    let (client, target, token) = kube_login(&[&format!("{mount}/*")]).await;
    let ours = read(&client, &target, &token, &format!("{mount}/subkeys/app"))
        .await
        .unwrap();
    assert_eq!(data_of(&ours)["data"]["which"], "secret named subkeys/app");

    let template = format!(
        "{{{{ with secret \"{mount}/subkeys/app\" }}}}{{{{ .Data.data.which }}}}{{{{ end }}}}"
    );
    let agent = render_with_agent(&f.bao.addr(), token.expose_secret(), &[("t", &template)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(agent["t"], b"secret named subkeys/app");
}

#[tokio::test]
async fn pki_issue_with_args_gives_a_non_renewable_lease() {
    let f = fixture();
    let mount = unique("pki");
    f.bao.enable_pki(&mount, "web", "example.com");
    let (client, target, token) = kube_login(&[&format!("{mount}/issue/web")]).await;
    let response = client
        .read_secret(
            &target,
            &token,
            &format!("{mount}/issue/web"),
            &["common_name=app.example.com", "ttl=2h"],
        )
        .await
        .unwrap()
        .expect("issued certificate");
    assert!(!response.renewable);
    // The lease runs to the certificate's NotAfter, so it can be a second short.
    let lease = response.lease_duration.as_secs();
    assert!((7190..=7200).contains(&lease), "{lease}");
    assert!(
        response
            .lease_id
            .starts_with(&format!("{mount}/issue/web/")),
        "{}",
        response.lease_id
    );
    assert!(
        data_of(&response)["certificate"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}

#[tokio::test]
async fn pki_issue_for_disallowed_name_is_invalid_argument() {
    let f = fixture();
    let mount = unique("pki");
    f.bao.enable_pki(&mount, "web", "example.com");
    let (client, target, token) = kube_login(&[&format!("{mount}/issue/web")]).await;
    let err = client
        .read_secret(
            &target,
            &token,
            &format!("{mount}/issue/web"),
            &["common_name=evil.org"],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::InvalidArgument, "{err}");
    assert!(err.to_string().contains("evil.org"), "{err}");
}

#[tokio::test]
async fn write_to_kv1_without_content_gives_none() {
    let f = fixture();
    let mount = unique("kv1");
    f.bao.enable_kv(&mount, 1);
    let (client, target, token) = kube_login(&[&format!("{mount}/*")]).await;
    let answer = client
        .read_secret(&target, &token, &format!("{mount}/written"), &["k=v=w"])
        .await
        .unwrap();
    assert!(answer.is_none());
    let stored = read(&client, &target, &token, &format!("{mount}/written"))
        .await
        .unwrap();
    assert_eq!(data_of(&stored), json!({"k": "v=w"}));
}

#[tokio::test]
async fn write_to_kv2_goes_to_data_and_returns_metadata() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    let (client, target, token) = kube_login(&[&format!("{mount}/*")]).await;
    let answer = client
        .read_secret(&target, &token, &format!("{mount}/w"), &["a=1"])
        .await
        .unwrap()
        .expect("KV v2 write answers with metadata");
    assert_eq!(data_of(&answer)["version"], 1);
    let stored = read(&client, &target, &token, &format!("{mount}/w"))
        .await
        .unwrap();
    assert_eq!(data_of(&stored)["data"], json!({"a": "1"}));
}

#[tokio::test]
async fn arg_without_equals_is_invalid_argument_before_any_request() {
    let (client, target, token) = kube_login(&["secret/data/none"]).await;
    let err = client
        .read_secret(&target, &token, "pki/issue/web", &["common_name"])
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::InvalidArgument);
    assert_eq!(err.to_string(), r#"not k=v pair "common_name""#);
}

#[tokio::test]
async fn denied_path_is_permission_denied() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    f.bao.write_kv2(&mount, "other", json!({"x": "y"}));
    let (client, target, token) = kube_login(&[&format!("{mount}/data/mine")]).await;
    let err = read(&client, &target, &token, &format!("{mount}/other"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied);
    assert_eq!(
        err.to_string(),
        format!("permission denied for {mount}/data/other (HTTP 403): permission denied")
    );
}

#[tokio::test]
async fn missing_kv2_secret_is_not_found() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    let (client, target, token) = kube_login(&[&format!("{mount}/*")]).await;
    let err = read(&client, &target, &token, &format!("{mount}/nothing"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!("no secret exists at {mount}/data/nothing")
    );
}

#[tokio::test]
async fn missing_kv1_secret_is_not_found() {
    let f = fixture();
    let mount = unique("kv1");
    f.bao.enable_kv(&mount, 1);
    let (client, target, token) = kube_login(&[&format!("{mount}/*")]).await;
    let err = read(&client, &target, &token, &format!("{mount}/nothing"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::NotFound);
}

#[tokio::test]
async fn deleted_kv2_version_is_not_found() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    f.bao.write_kv2(&mount, "gone", json!({"x": "y"}));
    f.bao.api("DELETE", &format!("{mount}/data/gone"), None);
    let (client, target, token) = kube_login(&[&format!("{mount}/*")]).await;
    let err = read(&client, &target, &token, &format!("{mount}/gone"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn kv1_secret_with_metadata_object_is_not_found_like_the_agent() {
    let f = fixture();
    let mount = unique("kv1");
    f.bao.enable_kv(&mount, 1);
    f.bao
        .write_kv1(&format!("{mount}/odd"), json!({"metadata": {"owner": "x"}}));
    let (client, target, token) = kube_login(&[&format!("{mount}/*")]).await;
    let err = read(&client, &target, &token, &format!("{mount}/odd"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::NotFound, "{err}");

    let template = format!("{{{{ with secret \"{mount}/odd\" }}}}{{{{ .Data }}}}{{{{ end }}}}");
    let agent = render_with_agent(&f.bao.addr(), token.expose_secret(), &[("t", &template)])
        .await
        .expect_err("the agent refuses it too");
    assert!(agent.output.contains("no secret exists at"), "{agent}");
}

#[tokio::test]
async fn list_kv2_secrets_is_sorted_and_missing_is_empty() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    for key in ["apps/b", "apps/a", "apps/sub/c"] {
        f.bao.write_kv2(&mount, key, json!({"x": "y"}));
    }
    let (client, target, token) = kube_login(&[&format!("{mount}/*")]).await;
    let keys = client
        .list_secrets(&target, &token, &format!("{mount}/apps"))
        .await
        .unwrap();
    assert_eq!(keys, ["a", "b", "sub/"]);
    let none = client
        .list_secrets(&target, &token, &format!("{mount}/nothing"))
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn mount_info_tells_kv_versions_apart() {
    let f = fixture();
    let (v1, v2) = (unique("kv1"), unique("kv2"));
    f.bao.enable_kv(&v1, 1);
    f.bao.enable_kv(&v2, 2);
    let client = client();
    let target = client.default_target();
    let info1 = client
        .kv_mount_info(target, &root(), &format!("{v1}/x"))
        .await
        .unwrap()
        .unwrap();
    let info2 = client
        .kv_mount_info(target, &root(), &format!("{v2}/x"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info1.path, format!("{v1}/"));
    assert!(!info1.is_kv_v2());
    assert!(info2.is_kv_v2());
}

#[tokio::test]
async fn mount_info_without_access_is_none() {
    let (client, target, token) = kube_login(&["secret/data/none"]).await;
    let info = client
        .kv_mount_info(&target, &token, "elsewhere/x")
        .await
        .unwrap();
    assert!(info.is_none());
}

// ---- namespaces ------------------------------------------------------------

#[tokio::test]
async fn namespace_login_and_read() {
    let f = fixture();
    let ns = unique("team");
    f.bao.create_namespace(&ns);
    f.bao.api_ns(
        &ns,
        "POST",
        "sys/mounts/kv",
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    );
    f.bao.api_ns(
        &ns,
        "PUT",
        "kv/data/app",
        Some(json!({"data": {"in": "namespace"}})),
    );
    f.bao.api_ns(
        &ns,
        "PUT",
        "sys/policies/acl/reader",
        Some(json!({"policy": "path \"kv/*\" { capabilities = [\"read\"] }"})),
    );
    f.bao.api_ns(
        &ns,
        "POST",
        "sys/auth/kubernetes",
        Some(json!({"type": "kubernetes"})),
    );
    f.bao.api_ns(
        &ns,
        "PUT",
        "auth/kubernetes/config",
        Some(json!({
            "kubernetes_host": f.kube.url(),
            "kubernetes_ca_cert": PLACEHOLDER_CA_PEM,
            "disable_local_ca_jwt": true,
            "token_reviewer_jwt": f.kube.api_token("vault", "vault"),
        })),
    );
    let id = PodIdentity::new(&unique("ns"), "app", "pod");
    f.bao.api_ns(
        &ns,
        "PUT",
        "auth/kubernetes/role/app",
        Some(json!({
            "bound_service_account_names": ["app"],
            "bound_service_account_namespaces": [id.namespace],
            "token_policies": ["reader"],
            "audience": "vault",
        })),
    );
    let client = client();
    let target = client
        .default_target()
        .clone()
        .with_namespace(Some(&ns))
        .unwrap();
    let jwt = f.kube.mint(&id, "vault", HOUR);
    let token = client
        .login(&target, &AuthMethodPath::kubernetes(), "app", &jwt)
        .await
        .unwrap();
    let response = read(&client, &target, &token, "kv/app").await.unwrap();
    assert_eq!(data_of(&response)["data"]["in"], "namespace");
    let agent = render_with_agent_opts(
        &f.bao.addr(),
        token.expose_secret(),
        Some(&ns),
        &[AgentTemplate::new(
            "t",
            r#"{{ with secret "kv/app" }}{{ .Data.data.in }}{{ end }}"#,
        )],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(agent["t"], b"namespace");
    // The same token without the namespace header is not valid at the root.
    let err = read(&client, client.default_target(), &token, "kv/app")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::PermissionDenied, "{err}");
}

// ---- failures on the wire ----------------------------------------------------

#[tokio::test]
async fn vault_down_is_unavailable_quickly() {
    let port = support::bao::free_port();
    let client = client_for(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let err = read(&client, client.default_target(), &root(), "secret/x")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::Unavailable);
    assert_eq!(err.metric_label(), "unreachable");
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// A server that answers every request with `status` and counts the requests.
async fn canned_server(status: u16) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                }
                counter.fetch_add(1, Ordering::SeqCst);
                if status == 0 {
                    // Never answer.
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let body = r#"{"errors":["canned failure"]}"#;
                let answer = format!(
                    "HTTP/1.1 {status} Canned\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    (addr, hits)
}

#[tokio::test]
async fn server_errors_are_retried_then_unavailable() {
    let (addr, hits) = canned_server(503).await;
    let client = client_for(&addr);
    let target = client.default_target().clone().with_max_retries(2);
    let err = client.lookup_self(&target, &root()).await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(err.code(), ErrorKind::Unavailable);
    assert_eq!(
        err.to_string(),
        "Vault failed on auth/token/lookup-self (HTTP 503): canned failure"
    );
}

#[tokio::test]
async fn precondition_failed_is_retried() {
    let (addr, hits) = canned_server(412).await;
    let client = client_for(&addr);
    let target = client.default_target().clone().with_max_retries(1);
    let err = client.lookup_self(&target, &root()).await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(err.code(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn not_implemented_is_not_retried() {
    let (addr, hits) = canned_server(501).await;
    let client = client_for(&addr);
    let err = client
        .lookup_self(client.default_target(), &root())
        .await
        .unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(err.code(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn silent_server_times_out_as_unavailable() {
    let (addr, hits) = canned_server(0).await;
    let client = client_for(&addr);
    let target = client
        .default_target()
        .clone()
        .with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = client.lookup_self(&target, &root()).await.unwrap_err();
    assert_eq!(err.metric_label(), "timeout");
    assert_eq!(err.code(), ErrorKind::Unavailable);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a timeout is not retried");
    assert!(started.elapsed() < Duration::from_secs(2));
}

// ---- TLS ---------------------------------------------------------------------

fn tls_client(server: &BaoServer, tls: VaultTlsConfig, host: &str) -> VaultClient {
    VaultClient::new(&VaultSettings {
        address: format!("https://{host}:{}", server.port()),
        tls,
        ..VaultSettings::default()
    })
    .expect("TLS client")
}

async fn tls_lookup(client: &VaultClient) -> Result<(), VaultError> {
    client
        .lookup_self(client.default_target(), &VaultToken::from_secret("root"))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn tls_trust_settings_against_a_real_tls_server() {
    let server = BaoServer::start_dev_tls();
    let dir = server.tls_dir();
    let ca = dir.join("vault-ca.pem");

    let with_ca = VaultTlsConfig {
        ca_file: Some(ca.clone()),
        ..Default::default()
    };
    tls_lookup(&tls_client(&server, with_ca.clone(), "127.0.0.1"))
        .await
        .expect("CA file");

    let ca_dir = tempfile::tempdir().unwrap();
    std::fs::copy(&ca, ca_dir.path().join("vault.crt")).unwrap();
    let with_dir = VaultTlsConfig {
        ca_dir: Some(ca_dir.path().to_owned()),
        ..Default::default()
    };
    tls_lookup(&tls_client(&server, with_dir, "localhost"))
        .await
        .expect("CA dir");

    let err = tls_lookup(&tls_client(&server, VaultTlsConfig::default(), "127.0.0.1"))
        .await
        .expect_err("system roots do not trust the dev CA");
    assert_eq!(err.code(), ErrorKind::Unavailable, "{err}");

    let renamed = VaultTlsConfig {
        server_name: Some("localhost".into()),
        ..with_ca.clone()
    };
    tls_lookup(&tls_client(&server, renamed, "127.0.0.1"))
        .await
        .expect("server name in cert");
    let misnamed = VaultTlsConfig {
        server_name: Some("vault.example.com".into()),
        ..with_ca.clone()
    };
    let err = tls_lookup(&tls_client(&server, misnamed, "127.0.0.1"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");

    let skip = VaultTlsConfig {
        skip_verify: true,
        ..Default::default()
    };
    tls_lookup(&tls_client(&server, skip, "127.0.0.1"))
        .await
        .expect("skip verify");

    let mtls = VaultTlsConfig {
        client_cert: Some(dir.join("vault-cert.pem")),
        client_key: Some(dir.join("vault-key.pem")),
        ..with_ca
    };
    tls_lookup(&tls_client(&server, mtls, "127.0.0.1"))
        .await
        .expect("client identity loads");
}

// ---- harness -------------------------------------------------------------------

#[tokio::test]
async fn agent_renders_what_the_client_reads() {
    let f = fixture();
    let mount = unique("kv2");
    f.bao.enable_kv(&mount, 2);
    f.bao
        .write_kv2_raw(&mount, "app", r#"{"password": "p@ss w\"ord", "n": 1.50}"#);
    let (_, _, token) = kube_login(&[&format!("{mount}/*")]).await;
    let templates = [
        AgentTemplate::new(
            "map",
            &format!(
                "{{{{ with secret \"{mount}/app\" }}}}{{{{ range $k, $v := .Data }}}}{{{{ $k }}}}: {{{{ $v }}}}\n{{{{ end }}}}{{{{ end }}}}"
            ),
        ),
        AgentTemplate {
            left_delim: Some("[[".into()),
            right_delim: Some("]]".into()),
            ..AgentTemplate::new(
                "delims",
                &format!(
                    "[[ with secret \"{mount}/app\" ]][[ .Data.data.n ]] ${{x}} %{{y}} \"q\"[[ end ]]"
                ),
            )
        },
    ];
    let out = render_with_agent_opts(&f.bao.addr(), token.expose_secret(), None, &templates)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // KV v2 re-encodes numbers on write (1.50 is stored as 1.5); KV v1 keeps them.
    let map = String::from_utf8(out["map"].clone()).unwrap();
    assert!(
        map.starts_with("data: map[n:1.5 password:p@ss w\"ord]\nmetadata: map[created_time:"),
        "{map}"
    );
    assert_eq!(out["delims"], b"1.5 ${x} %{y} \"q\"");
}

#[tokio::test]
async fn agent_failure_returns_its_error_text() {
    let f = fixture();
    let err = render_with_agent(&f.bao.addr(), f.bao.root_token(), &[("bad", "{{ if }}")])
        .await
        .expect_err("bad template");
    assert!(err.output.contains("missing value for if"), "{err}");
}

#[tokio::test]
async fn stand_in_serves_pods_only_with_a_bearer_token() {
    let f = fixture();
    let id = PodIdentity::new(&unique("ns"), "sa", &unique("pod"));
    f.kube.put_pod(pod_json(
        &id,
        &[(
            "vault.hashicorp.com/agent-inject".to_owned(),
            "true".to_owned(),
        )]
        .into(),
    ));
    let http = reqwest::Client::new();
    let url = format!(
        "{}/api/v1/namespaces/{}/pods/{}",
        f.kube.url(),
        id.namespace,
        id.pod_name
    );
    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let driver_token = f.kube.api_token("kube-system", "vault-csi-driver");
    let pod: Value = http
        .get(&url)
        .bearer_auth(&driver_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pod["metadata"]["uid"], id.pod_uid);
    let missing = http
        .get(format!(
            "{}/api/v1/namespaces/{}/pods/nope",
            f.kube.url(),
            id.namespace
        ))
        .bearer_auth(&driver_token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let status: Value = missing.json().await.unwrap();
    assert_eq!(status["reason"], "NotFound");
    assert_eq!(status["message"], "pods \"nope\" not found");
}

#[tokio::test]
async fn stand_in_records_events() {
    let kube = KubeApi::start();
    let token = kube.api_token("kube-system", "vault-csi-driver");
    let event = json!({
        "metadata": {"generateName": "app-"},
        "involvedObject": {"kind": "Pod", "name": "app", "namespace": "default"},
        "reason": "VaultRefreshFailed",
        "type": "Warning",
        "message": "permission denied for secret/data/x",
    });
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v1/namespaces/default/events", kube.url()))
        .bearer_auth(token)
        .json(&event)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let events = kube.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reason"], "VaultRefreshFailed");
    assert!(
        events[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("app-")
    );
}

#[tokio::test]
async fn stand_in_can_go_down_and_come_back() {
    let kube = KubeApi::start();
    let token = kube.api_token("kube-system", "driver");
    let url = format!("{}/api/v1/namespaces/x/pods/y", kube.url());
    let http = reqwest::Client::new();
    kube.go_down();
    assert!(
        http.get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap_err()
            .is_connect()
    );
    kube.come_back();
    let answer = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(answer.status(), 404);
}

#[tokio::test]
async fn persistent_server_keeps_data_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = BaoServer::start_persistent(dir.path());
    server.enable_kv("kv", 1);
    server.write_kv1("kv/app", json!({"kept": true}));
    let client = client_for(&server.addr());
    let token = VaultToken::from_secret(server.root_token());

    server.stop();
    let err = read(&client, client.default_target(), &token, "kv/app")
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorKind::Unavailable);

    server.start();
    let response = read(&client, client.default_target(), &token, "kv/app")
        .await
        .unwrap();
    assert_eq!(data_of(&response)["kept"], true);
}

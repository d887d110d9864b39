//! `agent-configmap`: the Pod's ConfigMap holds the agent config that
//! replaces the annotations, read through the API stand-in; the files must
//! be what `bao agent` renders with the same config (its `auto_auth` turned
//! into a token file so it runs here), byte for byte and mode for mode.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use support::agent::{render_agent_config, render_with_agent};
use support::driver::{Driver, DriverOptions};
use support::kube_api::KubeApi;
use support::pods::{TestPod, VOLUME, kv2_secret};
use support::{KUBE_AUTH, fixture};
use tonic::Code;

/// The part of the config every test shares but `auto_auth`: the Vault
/// address and templates of every kind the driver serves.
fn config_rest(vault_addr: &str, mount: &str, key: &str) -> String {
    format!(
        r#"vault {{
  address = "{vault_addr}"
}}
template_config {{
  static_secret_render_interval = "5m"
  exit_on_retry_failure = true
}}
template {{
  destination = "/vault/secrets/db.txt"
  contents = <<EOT
{{{{ with secret "{mount}/{key}" }}}}{{{{ range $k, $v := .Data.data }}}}{{{{ $k }}}}={{{{ $v }}}}
{{{{ end }}}}{{{{ end }}}}
EOT
  perms = "0640"
}}
template {{
  destination = "/vault/secrets/conf/app.env"
  source = "/vault/configs/app.ctmpl"
  left_delimiter = "[["
  right_delimiter = "]]"
}}
template {{
  destination = "/vault/secrets/missing.txt"
  contents = "{{{{ with secret \"{mount}/{key}\" }}}}{{{{ .Data.data.nope }}}}{{{{ end }}}}\tHOME=${{HOME}}\n"
  error_on_missing_key = false
}}
template {{
  destination = "/vault/secrets/json/data.json"
  contents = "{{{{ with secret \"{mount}/{key}\" }}}}{{{{ .Data.data | toJSON }}}}{{{{ end }}}}"
  perms = 0400
}}
"#
    )
}

const APP_TEMPLATE: &str = "[[ with secret \"MOUNT/KEY\" ]]USER=[[ .Data.data.username ]]\nPASS=\"[[ .Data.data.password ]]\"\n[[ end ]]";

fn kube_auto_auth(role: &str) -> String {
    format!(
        "auto_auth {{\n  method \"kubernetes\" {{\n    mount_path = \"auth/{KUBE_AUTH}\"\n    config = {{\n      role = \"{role}\"\n      token_path = \"/var/run/secrets/kubernetes.io/serviceaccount/token\"\n    }}\n  }}\n  sink \"file\" {{\n    config = {{\n      path = \"/home/vault/.vault-token\"\n    }}\n  }}\n}}\n"
    )
}

/// Every regular file in the volume, as `bao agent`'s listing has them:
/// path, bytes and mode, through the volume's links.
fn volume_files(target: &Path) -> std::collections::BTreeMap<String, (Vec<u8>, u32)> {
    let mut out = std::collections::BTreeMap::new();
    let mut pending = vec![String::new()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(target.join(&dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with("..") || name == ".vault-csi-version" {
                continue;
            }
            let relative = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            let meta = std::fs::metadata(target.join(&relative)).unwrap();
            if meta.is_dir() {
                pending.push(relative);
            } else {
                let bytes = std::fs::read(target.join(&relative)).unwrap();
                out.insert(relative, (bytes, meta.permissions().mode() & 0o7777));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_configmaps_templates_render_as_bao_agent_renders_them() {
    let fx = fixture();
    let (mount, key) = kv2_secret(
        fx,
        json!({"username": "admin", "password": "p@ss w\"ord<&>"}),
    );
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let rest = config_rest(&fx.bao.addr(), &mount, &key);
    let app_template = APP_TEMPLATE.replace("MOUNT", &mount).replace("KEY", &key);
    let config = format!("{}{rest}", kube_auto_auth(&pod.role));
    let namespace = pod.id.namespace.clone();
    fx.kube.put_config_map(
        &namespace,
        "agent-config",
        &[("config.hcl", &config), ("app.ctmpl", &app_template)],
    );
    // No role annotation: the ConfigMap's auto_auth names it.
    fx.kube.put_pod(support::pods::pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("agent-configmap", "agent-config"),
        ],
    ));
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let got = volume_files(&pod.target(&driver, VOLUME));

    let token = fx.bao.root_token().to_owned();
    let want = render_agent_config(
        &rest,
        &[("config.hcl", &config), ("app.ctmpl", &app_template)],
        &token,
    )
    .await
    .expect("bao agent renders the same config");
    let shown = |files: &std::collections::BTreeMap<String, (Vec<u8>, u32)>| {
        files
            .iter()
            .map(|(p, (b, m))| format!("{p} {m:o} {:?}", String::from_utf8_lossy(b)))
            .collect::<Vec<_>>()
    };
    assert_eq!(shown(&got), shown(&want));
    assert!(got.contains_key("conf/app.env") && got.contains_key("json/data.json"));
}

/// Polls until `check` holds, for up to `limit`.
async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn stanzas_that_need_an_agent_and_replaced_annotations_become_warning_events() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"username": "u", "password": "p"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let config = format!(
        "{}cache {{\n  use_auto_auth_token = true\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:8200\"\n}}\ntemplate {{\n  destination = \"/vault/secrets/u\"\n  contents = \"{{{{ with secret \\\"{mount}/{key}\\\" }}}}{{{{ .Data.data.username }}}}{{{{ end }}}}\"\n  command = \"pkill -HUP app\"\n}}\n",
        kube_auto_auth(&pod.role)
    );
    fx.kube.put_config_map(
        &pod.id.namespace,
        "agent-config",
        &[("config.hcl", &config)],
    );
    pod.register(
        fx,
        &[
            ("agent-configmap", "agent-config"),
            ("agent-inject-secret-old", "kv/old"),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(pod.target(&driver, VOLUME).join("u")).unwrap(),
        "u"
    );
    assert!(!pod.target(&driver, VOLUME).join("old").exists());
    let messages = || -> Vec<String> {
        fx.kube
            .events()
            .into_iter()
            .filter(|e| {
                e["involvedObject"]["uid"] == pod.id.pod_uid.as_str()
                    && e["reason"] == "IgnoredAnnotation"
            })
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let needles = [
        "key config.hcl: cache needs a running agent",
        "key config.hcl: listener needs a running agent",
        "template stanza 1 (destination \"/vault/secrets/u\"): command is not run",
        "vault.hashicorp.com/agent-inject-secret-old is ignored: the agent config in ConfigMap \"agent-config\"",
    ];
    // The recorder posts each warning on its own: wait for all of them.
    eventually(Duration::from_secs(5), "every warning", || {
        let messages = messages();
        needles
            .iter()
            .all(|needle| messages.iter().any(|m| m.contains(needle)))
    })
    .await;
    let messages = messages();
    for needle in needles {
        assert!(
            messages.iter().any(|m| m.contains(needle)),
            "{needle:?} not in {messages:#?}"
        );
    }
}

#[tokio::test]
async fn a_jwt_auto_auth_logs_in_at_its_mount() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"username": "jwt-user", "password": "p"}));
    let pod = TestPod::jwt(fx, &[&format!("{mount}/*")]);
    let config = format!(
        "auto_auth {{\n  method {{\n    type = \"jwt\"\n    mount_path = \"auth/jwt\"\n    config = {{\n      role = \"{}\"\n      path = \"/var/run/secrets/vault/token\"\n    }}\n  }}\n}}\ntemplate {{\n  destination = \"/vault/secrets/who\"\n  contents = \"{{{{ with secret \\\"{mount}/{key}\\\" }}}}{{{{ .Data.data.username }}}}{{{{ end }}}}\"\n}}\n",
        pod.role
    );
    fx.kube
        .put_config_map(&pod.id.namespace, "jwt-agent", &[("config.hcl", &config)]);
    fx.kube.put_pod(support::pods::pod_json(
        &pod.id,
        &[("agent-inject", "true"), ("agent-configmap", "jwt-agent")],
    ));
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(pod.target(&driver, VOLUME).join("who")).unwrap(),
        "jwt-user"
    );
}

#[tokio::test]
async fn template_files_come_from_a_configmap_of_templates_as_the_agent_renders_them() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"username": "tf", "password": "x<y"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let template = format!(
        "{{{{ with secret \"{mount}/{key}\" }}}}{{{{ .Data.data | toJSONPretty }}}}\n{{{{ end }}}}"
    );
    fx.kube
        .put_config_map(&pod.id.namespace, "templates", &[("creds.tmpl", &template)]);
    pod.register(
        fx,
        &[
            ("agent-configmap", "templates"),
            ("agent-inject-secret-creds", &format!("{mount}/{key}")),
            (
                "agent-inject-template-file-creds",
                "/vault/configs/creds.tmpl",
            ),
        ],
    );
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let got = std::fs::read(pod.target(&driver, VOLUME).join("creds")).unwrap();
    let want = render_with_agent(&fx.bao.addr(), fx.bao.root_token(), &[("c", &template)])
        .await
        .expect("agent renders");
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want["c"])
    );

    let outside = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    fx.kube.put_config_map(
        &outside.id.namespace,
        "templates",
        &[("creds.tmpl", &template)],
    );
    outside.register(
        fx,
        &[
            ("agent-configmap", "templates"),
            ("agent-inject-template-file-creds", "/etc/creds.tmpl"),
        ],
    );
    let status = outside
        .publish(&driver, VOLUME, &outside.token(fx))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("vault.hashicorp.com/agent-inject-template-file-creds: "),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn configmap_problems_name_the_annotation_key_or_stanza_with_the_right_code() {
    let fx = fixture();
    let driver = Driver::start().await;
    let publish = |config: Option<&str>| {
        let pod = TestPod::kubernetes(fx, &["kv/none"]);
        if let Some(config) = config {
            fx.kube
                .put_config_map(&pod.id.namespace, "agent", &[("config.hcl", config)]);
        }
        pod.register(fx, &[("agent-configmap", "agent")]);
        pod
    };

    let missing = publish(None);
    let status = missing
        .publish(&driver, VOLUME, &missing.token(fx))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(
        status.message(),
        format!(
            "annotation vault.hashicorp.com/agent-configmap: ConfigMap \"agent\" not found in namespace {:?}",
            missing.id.namespace
        )
    );

    let malformed = publish(Some(
        "template {\n  destination = \"/vault/secrets/a\"\n  contents = \n}\n",
    ));
    let status = malformed
        .publish(&driver, VOLUME, &malformed.token(fx))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with(
            "vault.hashicorp.com/agent-configmap: ConfigMap \"agent\" key config.hcl: HCL syntax error at line 3, column "
        ),
        "{}",
        status.message()
    );

    let outside = publish(Some(&format!(
        "{}template {{\n  destination = \"/etc/passwd\"\n  contents = \"x\"\n}}\n",
        kube_auto_auth("r")
    )));
    let status = outside
        .publish(&driver, VOLUME, &outside.token(fx))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains(
            "key config.hcl, template stanza 1 (destination \"/etc/passwd\"): destination is outside the volume"
        ),
        "{}",
        status.message()
    );
    assert!(support::driver::mounts_below(driver.dir()).is_empty());
}

#[tokio::test]
async fn without_rbac_for_configmaps_the_mount_fails_naming_the_permission() {
    let fx = fixture();
    // A stand-in of its own, so that no other test sees its RBAC.
    let api = KubeApi::start();
    api.forbid_config_maps(true);
    let pod = TestPod::kubernetes(fx, &["kv/none"]);
    api.put_pod(support::pods::pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("role", &pod.role),
            ("agent-configmap", "agent"),
        ],
    ));
    let driver = Driver::start_with(DriverOptions {
        kube_api_url: Some(api.url()),
        kube_token: Some(api.api_token("vault-csi", "vault-csi-driver")),
        args: vec!["--watch-pods=false".into()],
        ..DriverOptions::default()
    })
    .await;
    let status = pod
        .publish(&driver, VOLUME, &pod.token(fx))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().starts_with("annotation vault.hashicorp.com/agent-configmap: the API server refused the driver's request for ConfigMap \"agent\"")
            && status.message().contains("needs get on configmaps"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_file_sink_in_the_volume_writes_the_token_with_its_mode() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"username": "sink", "password": "p"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let config = format!(
        "auto_auth {{\n  method \"kubernetes\" {{\n    config = {{\n      role = \"{}\"\n    }}\n  }}\n  sink \"file\" {{\n    config = {{\n      path = \"/home/vault/.vault-token\"\n    }}\n  }}\n  sink \"file\" {{\n    config = {{\n      path = \"/vault/secrets/auth/token\"\n      mode = 0600\n    }}\n  }}\n}}\ntemplate {{\n  destination = \"/vault/secrets/u\"\n  contents = \"{{{{ with secret \\\"{mount}/{key}\\\" }}}}{{{{ .Data.data.username }}}}{{{{ end }}}}\"\n}}\n",
        pod.role
    );
    fx.kube
        .put_config_map(&pod.id.namespace, "agent", &[("config.hcl", &config)]);
    fx.kube.put_pod(support::pods::pod_json(
        &pod.id,
        &[("agent-inject", "true"), ("agent-configmap", "agent")],
    ));
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let token_path = pod.target(&driver, VOLUME).join("auth/token");
    let token = std::fs::read_to_string(&token_path).unwrap();
    let mode = std::fs::metadata(&token_path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    let (status, _) = support::bao::http_request(
        fx.bao.port(),
        "GET",
        &format!("/v1/{mount}/data/{key}"),
        &[("X-Vault-Token", token.as_str())],
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "the token reads the Pod's secret");
    assert!(!pod.target(&driver, VOLUME).join(".vault-token").exists());
}

#[tokio::test]
async fn pre_populate_only_renders_the_init_config_once() {
    let fx = fixture();
    let (mount, key) = kv2_secret(fx, json!({"username": "init", "password": "p"}));
    let pod = TestPod::kubernetes(fx, &[&format!("{mount}/*")]);
    let config = |destination: &str| {
        format!(
            "{}template {{\n  destination = \"/vault/secrets/{destination}\"\n  contents = \"{{{{ with secret \\\"{mount}/{key}\\\" }}}}{{{{ .Data.data.username }}}}{{{{ end }}}}\"\n}}\n",
            kube_auto_auth(&pod.role)
        )
    };
    fx.kube.put_config_map(
        &pod.id.namespace,
        "agent",
        &[
            ("config.hcl", &config("from-sidecar")),
            ("config-init.hcl", &config("from-init")),
        ],
    );
    fx.kube.put_pod(support::pods::pod_json(
        &pod.id,
        &[
            ("agent-inject", "true"),
            ("agent-configmap", "agent"),
            ("agent-pre-populate-only", "true"),
        ],
    ));
    let driver = Driver::start().await;
    pod.publish(&driver, VOLUME, &pod.token(fx)).await.unwrap();
    let target = pod.target(&driver, VOLUME);
    assert_eq!(
        std::fs::read_to_string(target.join("from-init")).unwrap(),
        "init"
    );
    assert!(!target.join("from-sidecar").exists());
}

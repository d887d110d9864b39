//! Behaviour of [`plan`], one rule per test, in SPEC order.

use std::time::Duration;

use super::*;
use crate::pod::{Container, CsiVolumeSource, Pod, SecurityContext, Volume, VolumeMount};

const DRIVER: &str = "vault.csi.example.com";

/// Expands a short key (`role`) to `vault.hashicorp.com/role`; keys with a `/`
/// are taken as written.
fn full_key(k: &str) -> String {
    if k.contains('/') {
        k.to_owned()
    } else {
        format!("vault.hashicorp.com/{k}")
    }
}

/// A Pod with exactly these annotations and one app container mounting the
/// CSI volume `vault` at /vault/secrets.
fn bare_pod(annotations: &[(&str, &str)]) -> Pod {
    let mut pod = Pod::default();
    pod.metadata.name = "app-0".into();
    pod.metadata.namespace = "shop".into();
    pod.metadata.annotations = annotations
        .iter()
        .map(|(k, v)| (full_key(k), (*v).to_owned()))
        .collect();
    pod.spec.volumes.push(csi_volume("vault", DRIVER));
    pod.spec
        .containers
        .push(container("app", &[("vault", "/vault/secrets")]));
    pod
}

/// [`bare_pod`] with `agent-inject: "true"` and a role, plus `annotations`.
fn pod(annotations: &[(&str, &str)]) -> Pod {
    let mut all = vec![("agent-inject", "true"), ("role", "app")];
    all.extend_from_slice(annotations);
    bare_pod(&all)
}

fn csi_volume(name: &str, driver: &str) -> Volume {
    Volume {
        name: name.into(),
        csi: Some(CsiVolumeSource {
            driver: driver.into(),
            read_only: true,
            volume_attributes: Default::default(),
        }),
    }
}

fn container(name: &str, mounts: &[(&str, &str)]) -> Container {
    Container {
        name: name.into(),
        volume_mounts: mounts
            .iter()
            .map(|(v, p)| VolumeMount {
                name: (*v).into(),
                mount_path: (*p).into(),
                read_only: true,
            })
            .collect(),
        security_context: None,
    }
}

/// A Pod with the given annotations and CSI volumes `(name, mount path)`,
/// each mounted in the one app container.
fn pod_with_volumes(annotations: &[(&str, &str)], volumes: &[(&str, &str)]) -> Pod {
    let mut p = pod(annotations);
    p.spec.volumes = volumes.iter().map(|(v, _)| csi_volume(v, DRIVER)).collect();
    p.spec.containers = vec![container("app", volumes)];
    p
}

fn plan_for(p: &Pod, volume: &str) -> Result<Plan, PlanError> {
    plan(p, volume, &Defaults::default())
}

fn ok(annotations: &[(&str, &str)]) -> Plan {
    plan_for(&pod(annotations), "vault").expect("plan")
}

fn err(annotations: &[(&str, &str)]) -> PlanError {
    plan_for(&pod(annotations), "vault").expect_err("error")
}

/// A plan with one secret `db` plus `annotations`.
fn ok_db(annotations: &[(&str, &str)]) -> Plan {
    let mut all = vec![("agent-inject-secret-db", "database/creds/app")];
    all.extend_from_slice(annotations);
    ok(&all)
}

fn err_db(annotations: &[(&str, &str)]) -> PlanError {
    let mut all = vec![("agent-inject-secret-db", "database/creds/app")];
    all.extend_from_slice(annotations);
    err(&all)
}

fn only_file(plan: &Plan) -> &FileSpec {
    assert_eq!(plan.files.len(), 1, "{:?}", plan.files);
    &plan.files[0]
}

fn paths(plan: &Plan) -> Vec<&str> {
    plan.files.iter().map(|f| f.path.as_str()).collect()
}

fn warning_kinds(plan: &Plan) -> Vec<(&str, &WarningKind)> {
    plan.warnings
        .iter()
        .map(|w| (w.annotation.as_str(), &w.kind))
        .collect()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---- Selection -------------------------------------------------------------

#[test]
fn pod_without_agent_inject_is_a_failed_precondition() {
    let e = plan_for(&bare_pod(&[("role", "app")]), "vault").unwrap_err();
    assert_eq!(
        e,
        PlanError::NotInjected {
            reason: NotInjectedReason::Missing,
            key: "vault.hashicorp.com/agent-inject".into(),
        }
    );
    assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
    assert!(
        e.to_string()
            .contains("vault.hashicorp.com/agent-inject is missing")
    );
}

#[test]
fn agent_inject_false_is_a_failed_precondition() {
    let e = plan_for(&bare_pod(&[("agent-inject", "false")]), "vault").unwrap_err();
    assert_eq!(
        e,
        PlanError::NotInjected {
            reason: NotInjectedReason::Disabled,
            key: "vault.hashicorp.com/agent-inject".into(),
        }
    );
    assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
}

#[test]
fn blank_agent_inject_counts_as_absent() {
    let e = plan_for(&bare_pod(&[("agent-inject", "  ")]), "vault").unwrap_err();
    assert_eq!(
        e,
        PlanError::NotInjected {
            reason: NotInjectedReason::Missing,
            key: "vault.hashicorp.com/agent-inject".into(),
        }
    );
}

#[test]
fn agent_inject_accepts_go_boolean_spellings() {
    for t in ["1", "t", "T", "TRUE", "true", "True"] {
        let p = bare_pod(&[
            ("agent-inject", t),
            ("role", "r"),
            ("agent-inject-token", "true"),
        ]);
        assert!(plan_for(&p, "vault").is_ok(), "{t}");
    }
}

#[test]
fn agent_inject_that_is_not_a_boolean_is_invalid_argument() {
    let e = plan_for(&bare_pod(&[("agent-inject", "yes")]), "vault").unwrap_err();
    assert!(
        matches!(&e, PlanError::InvalidBool { key, .. } if key == "vault.hashicorp.com/agent-inject")
    );
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn errors_other_than_not_injected_are_invalid_argument() {
    assert_eq!(
        err(&[("auth-type", "aws")]).kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(err(&[]).kind(), ErrorKind::InvalidArgument);
}

#[test]
fn unknown_volume_is_refused() {
    let e = plan_for(&pod(&[("agent-inject-token", "true")]), "other").unwrap_err();
    assert_eq!(
        e,
        PlanError::VolumeNotInPod {
            volume: "other".into()
        }
    );
}

#[test]
fn non_csi_volume_is_refused() {
    let mut p = pod(&[("agent-inject-token", "true")]);
    p.spec.volumes.push(Volume {
        name: "scratch".into(),
        csi: None,
    });
    assert!(matches!(
        plan_for(&p, "scratch"),
        Err(PlanError::VolumeNotInPod { .. })
    ));
}

#[test]
fn volume_of_another_driver_is_refused_when_the_driver_name_is_known() {
    let mut p = pod(&[("agent-inject-token", "true")]);
    p.spec.volumes = vec![csi_volume("vault", "secrets-store.csi.k8s.io")];
    let defaults = Defaults {
        driver_name: Some(DRIVER.into()),
        ..Defaults::default()
    };
    assert!(matches!(
        plan(&p, "vault", &defaults),
        Err(PlanError::VolumeNotInPod { .. })
    ));
    assert!(plan(&p, "vault", &Defaults::default()).is_ok());
}

// ---- Identity --------------------------------------------------------------

#[test]
fn identity_defaults_to_kubernetes_at_auth_kubernetes() {
    let id = ok_db(&[]).identity;
    assert_eq!(id.auth_type, AuthType::Kubernetes);
    assert_eq!(id.auth_path.as_str(), "auth/kubernetes");
    assert_eq!(id.role, "app");
    assert_eq!(id.namespace, None);
    assert_eq!(id.service, None);
}

#[test]
fn jwt_auth_type_defaults_to_auth_jwt() {
    let id = ok_db(&[("auth-type", "jwt")]).identity;
    assert_eq!(id.auth_type, AuthType::Jwt);
    assert_eq!(id.auth_path, AuthPath::jwt());
}

#[test]
fn auth_type_is_case_insensitive_and_trimmed() {
    assert_eq!(
        ok_db(&[("auth-type", " JWT ")]).identity.auth_type,
        AuthType::Jwt
    );
    assert_eq!(
        ok_db(&[("auth-type", "Kubernetes")]).identity.auth_type,
        AuthType::Kubernetes
    );
}

#[test]
fn unknown_auth_type_is_refused_and_named() {
    let e = err_db(&[("auth-type", "approle")]);
    assert!(matches!(&e, PlanError::UnknownAuthType { key, value }
        if key == "vault.hashicorp.com/auth-type" && value.as_str() == "approle"));
    assert!(e.to_string().contains("\"approle\""));
    assert!(e.to_string().contains("kubernetes or jwt"));
}

#[test]
fn auth_path_without_auth_prefix_gets_one() {
    let id = ok_db(&[("auth-path", "k8s-cluster-a")]).identity;
    assert_eq!(id.auth_path.as_str(), "auth/k8s-cluster-a");
}

#[test]
fn auth_path_with_auth_prefix_is_kept() {
    let id = ok_db(&[("auth-path", "auth/k8s/cluster-a")]).identity;
    assert_eq!(id.auth_path.as_str(), "auth/k8s/cluster-a");
    assert_eq!(id.auth_path.login_path(), "auth/k8s/cluster-a/login");
}

#[test]
fn auth_path_surrounding_slashes_are_trimmed() {
    let id = ok_db(&[("auth-path", "/auth/jwt-prod/")]).identity;
    assert_eq!(id.auth_path.as_str(), "auth/jwt-prod");
}

#[test]
fn auth_path_applies_to_jwt_too() {
    let id = ok_db(&[("auth-type", "jwt"), ("auth-path", "oidc")]).identity;
    assert_eq!(id.auth_path.as_str(), "auth/oidc");
}

#[test]
fn auth_path_with_a_bad_component_is_refused() {
    for bad in ["auth/../sys", "auth//k8s", "k8s?x=1", "k 8s", "/"] {
        let e = err_db(&[("auth-path", bad)]);
        let is_path_error = matches!(&e, PlanError::InvalidVaultPath { key, .. }
            if key == "vault.hashicorp.com/auth-path");
        // A lone "/" is blank once trimmed of slashes.
        assert!(is_path_error, "{bad}: {e}");
    }
}

#[test]
fn role_is_required() {
    let p = bare_pod(&[
        ("agent-inject", "true"),
        ("agent-inject-secret-db", "kv/db"),
    ]);
    let e = plan_for(&p, "vault").unwrap_err();
    assert_eq!(e, PlanError::MissingRole);
    assert!(e.to_string().contains("vault.hashicorp.com/role"));
}

#[test]
fn role_is_required_for_jwt() {
    let p = bare_pod(&[
        ("agent-inject", "true"),
        ("auth-type", "jwt"),
        ("agent-inject-secret-db", "kv/db"),
    ]);
    assert_eq!(plan_for(&p, "vault").unwrap_err(), PlanError::MissingRole);
}

#[test]
fn blank_role_counts_as_absent() {
    let p = bare_pod(&[
        ("agent-inject", "true"),
        ("role", " "),
        ("agent-inject-secret-db", "kv/db"),
    ]);
    assert_eq!(plan_for(&p, "vault").unwrap_err(), PlanError::MissingRole);
}

#[test]
fn auth_config_role_stands_in_for_role() {
    let p = bare_pod(&[
        ("agent-inject", "true"),
        ("auth-config-role", "from-config"),
        ("agent-inject-secret-db", "kv/db"),
    ]);
    assert_eq!(plan_for(&p, "vault").unwrap().identity.role, "from-config");
}

#[test]
fn role_wins_over_auth_config_role() {
    let id = ok_db(&[("auth-config-role", "other")]).identity;
    assert_eq!(id.role, "app");
}

#[test]
fn namespace_is_read_and_trimmed_of_slashes() {
    let id = ok_db(&[("namespace", "/team-a/child/")]).identity;
    assert_eq!(id.namespace.as_deref(), Some("team-a/child"));
}

#[test]
fn namespace_of_only_slashes_is_the_root() {
    assert_eq!(ok_db(&[("namespace", "/")]).identity.namespace, None);
}

#[test]
fn namespace_with_a_bad_component_is_refused() {
    let e = err_db(&[("namespace", "team-a/../admin")]);
    assert!(matches!(&e, PlanError::InvalidVaultPath { key, .. }
        if key == "vault.hashicorp.com/namespace"));
}

#[test]
fn service_is_passed_through_trimmed() {
    let id = ok_db(&[("service", " https://vault.example.com:8200 ")]).identity;
    assert_eq!(
        id.service.as_deref(),
        Some("https://vault.example.com:8200")
    );
}

#[test]
fn node_defaults_fill_auth_type_and_path() {
    let defaults = Defaults {
        auth_type: AuthType::Jwt,
        jwt_auth_path: AuthPath::new("jwt-node").unwrap(),
        ..Defaults::default()
    };
    let p = pod(&[("agent-inject-secret-db", "kv/db")]);
    let id = plan(&p, "vault", &defaults).unwrap().identity;
    assert_eq!(id.auth_type, AuthType::Jwt);
    assert_eq!(id.auth_path.as_str(), "auth/jwt-node");
}

#[test]
fn auth_path_constructor_refuses_empty() {
    assert_eq!(AuthPath::new(" / "), Err("is empty"));
}

// ---- Default template ------------------------------------------------------

#[test]
fn secret_annotation_renders_the_default_map_template_at_name() {
    let plan = ok(&[("agent-inject-secret-db", "database/creds/app")]);
    let f = only_file(&plan);
    assert_eq!(f.name, "db");
    assert_eq!(f.path.as_str(), "db");
    assert_eq!(
        f.source,
        Source::DefaultTemplate {
            secret_path: "database/creds/app".into(),
            format: DefaultFormat::Map
        }
    );
    assert_eq!(f.annotation, "vault.hashicorp.com/agent-inject-secret-db");
}

#[test]
fn default_template_text_matches_the_injector_byte_for_byte() {
    assert_eq!(
        DefaultFormat::Map.template("kv/app"),
        "{{ with secret \"kv/app\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}"
    );
    assert_eq!(
        DefaultFormat::Json.template("kv/app"),
        "{{ with secret \"kv/app\" }}{{ .Data | toJSON }}\n{{ end }}"
    );
}

#[test]
fn source_text_and_delimiters_for_default_template() {
    let plan = ok_db(&[]);
    let src = &only_file(&plan).source;
    assert_eq!(
        src.text(),
        DefaultFormat::Map.template("database/creds/app")
    );
    assert_eq!(src.delimiters(), ("{{", "}}"));
}

#[test]
fn secret_path_is_kept_as_written_apart_from_surrounding_whitespace() {
    let plan = ok(&[("agent-inject-secret-db", " /secret/data/app?version=2\n")]);
    assert!(matches!(&only_file(&plan).source,
        Source::DefaultTemplate { secret_path, .. } if secret_path == "/secret/data/app?version=2"));
}

#[test]
fn default_template_json_is_case_insensitive() {
    let plan = ok_db(&[("agent-inject-default-template", "JSON")]);
    assert!(matches!(
        only_file(&plan).source,
        Source::DefaultTemplate {
            format: DefaultFormat::Json,
            ..
        }
    ));
}

#[test]
fn unknown_default_template_is_refused() {
    let e = err_db(&[("agent-inject-default-template", "yaml")]);
    assert!(
        matches!(&e, PlanError::UnknownDefaultTemplate { key, value }
        if key == "vault.hashicorp.com/agent-inject-default-template" && value.as_str() == "yaml")
    );
    assert!(e.to_string().contains("map or json"));
}

#[test]
fn blank_default_template_means_map() {
    let plan = ok_db(&[("agent-inject-default-template", "")]);
    assert!(matches!(
        only_file(&plan).source,
        Source::DefaultTemplate {
            format: DefaultFormat::Map,
            ..
        }
    ));
}

#[test]
fn node_default_format_applies_when_absent() {
    let defaults = Defaults {
        default_format: DefaultFormat::Json,
        ..Defaults::default()
    };
    let p = pod(&[("agent-inject-secret-db", "kv/db")]);
    let plan = plan(&p, "vault", &defaults).unwrap();
    assert!(matches!(
        only_file(&plan).source,
        Source::DefaultTemplate {
            format: DefaultFormat::Json,
            ..
        }
    ));
}

#[test]
fn secret_path_that_the_default_template_cannot_quote_is_refused() {
    for bad in ["kv/a\"b", "kv/a\\b", "kv/a\nb"] {
        let e = err(&[("agent-inject-secret-db", bad)]);
        assert_eq!(
            e,
            PlanError::InvalidSecretPath {
                key: "vault.hashicorp.com/agent-inject-secret-db".into()
            }
        );
    }
}

// ---- NAMEs -----------------------------------------------------------------

#[test]
fn name_is_lower_cased() {
    let plan = ok(&[("agent-inject-secret-DB_Creds", "kv/db")]);
    let f = only_file(&plan);
    assert_eq!(f.name, "db_creds");
    assert_eq!(f.path.as_str(), "db_creds");
}

#[test]
fn preserve_secret_case_keeps_the_name() {
    let plan = ok(&[
        ("agent-inject-secret-DB_Creds", "kv/db"),
        ("preserve-secret-case", "true"),
    ]);
    assert_eq!(only_file(&plan).name, "DB_Creds");
}

#[test]
fn preserve_secret_case_per_name_uses_the_raw_name() {
    let plan = ok(&[
        ("agent-inject-secret-DB", "kv/db"),
        ("agent-inject-secret-Api", "kv/api"),
        ("preserve-secret-case-DB", "true"),
        ("preserve-secret-case-db", "false"),
    ]);
    let names: Vec<&str> = plan.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["api", "DB"]);
}

#[test]
fn per_name_preserve_secret_case_overrides_the_global_one() {
    let plan = ok(&[
        ("agent-inject-secret-DB", "kv/db"),
        ("preserve-secret-case", "true"),
        ("preserve-secret-case-DB", "false"),
    ]);
    assert_eq!(only_file(&plan).name, "db");
}

#[test]
fn preserve_secret_case_must_be_a_boolean() {
    let e = err_db(&[("preserve-secret-case", "sure")]);
    assert!(matches!(&e, PlanError::InvalidBool { key, .. }
        if key == "vault.hashicorp.com/preserve-secret-case"));
}

#[test]
fn per_name_keys_are_looked_up_by_the_raw_name() {
    let plan = ok(&[
        ("agent-inject-secret-MyDB", "kv/db"),
        ("agent-inject-perms-MyDB", "0400"),
        ("agent-inject-perms-mydb", "0600"),
    ]);
    let f = only_file(&plan);
    assert_eq!(f.name, "mydb");
    assert_eq!(f.mode, 0o400);
}

#[test]
fn name_with_a_slash_is_refused() {
    let e = err(&[("vault.hashicorp.com/agent-inject-secret-a/b", "kv/x")]);
    assert_eq!(
        e,
        PlanError::InvalidName {
            key: "vault.hashicorp.com/agent-inject-secret-a/b".into()
        }
    );
}

#[test]
fn name_with_characters_outside_the_allowed_set_is_refused() {
    for name in ["a b", "caf\u{e9}", "a:b", "a*"] {
        let key = format!("vault.hashicorp.com/agent-inject-template-{name}");
        let e = err(&[(key.as_str(), "x")]);
        assert_eq!(e, PlanError::InvalidName { key: key.clone() }, "{name}");
    }
}

#[test]
fn name_that_is_dots_only_is_refused() {
    for name in [".", ".."] {
        let key = format!("vault.hashicorp.com/agent-inject-secret-{name}");
        assert_eq!(
            err(&[(key.as_str(), "kv/x")]),
            PlanError::InvalidName { key: key.clone() }
        );
    }
}

#[test]
fn empty_name_is_refused() {
    let e = err(&[("agent-inject-secret-", "kv/x")]);
    assert!(matches!(e, PlanError::InvalidName { .. }));
}

#[test]
fn name_starting_with_two_dots_cannot_be_a_file_name() {
    let e = err(&[("agent-inject-secret-..data", "kv/x")]);
    assert!(matches!(
        e,
        PlanError::InvalidFilePath {
            problem: PathProblem::Reserved,
            ..
        }
    ));
}

#[test]
fn name_with_dots_underscores_and_dashes_is_fine() {
    let plan = ok(&[("agent-inject-secret-app.config_v2-prod", "kv/x")]);
    assert_eq!(only_file(&plan).path.as_str(), "app.config_v2-prod");
}

#[test]
fn files_are_sorted_by_raw_name() {
    let plan = ok(&[
        ("agent-inject-secret-zeta", "kv/z"),
        ("agent-inject-secret-alpha", "kv/a"),
        ("agent-inject-template-mid", "x"),
    ]);
    assert_eq!(paths(&plan), ["alpha", "mid", "zeta"]);
}

#[test]
fn blank_secret_annotation_defines_nothing() {
    let e = err(&[("agent-inject-secret-db", "  ")]);
    assert!(matches!(e, PlanError::EmptyVolume { .. }));
}

// ---- Templates -------------------------------------------------------------

#[test]
fn template_without_a_secret_annotation_is_a_file() {
    let plan = ok(&[(
        "agent-inject-template-app.env",
        "{{ with secret \"kv/app\" }}x{{ end }}",
    )]);
    let f = only_file(&plan);
    assert_eq!(f.name, "app.env");
    assert_eq!(
        f.annotation,
        "vault.hashicorp.com/agent-inject-template-app.env"
    );
    assert!(
        matches!(&f.source, Source::Template { text, left_delim, right_delim }
        if text.starts_with("{{ with") && left_delim == "{{" && right_delim == "}}")
    );
}

#[test]
fn template_replaces_the_default_template_of_its_secret() {
    let plan = ok(&[
        ("agent-inject-secret-db", "kv/db"),
        ("agent-inject-template-db", "custom"),
    ]);
    let f = only_file(&plan);
    assert_eq!(f.source.text(), "custom");
    assert_eq!(f.annotation, "vault.hashicorp.com/agent-inject-template-db");
}

#[test]
fn template_text_is_kept_exactly() {
    let text = "  line one\n{{- .x -}}\n\n";
    let plan = ok(&[("agent-inject-template-t", text)]);
    assert_eq!(only_file(&plan).source.text(), text);
}

#[test]
fn custom_delimiters_apply_to_a_template() {
    let plan = ok(&[
        ("agent-inject-template-t", "[[ .x ]]"),
        ("agent-template-left-delim-t", "[["),
        ("agent-template-right-delim-t", "]]"),
    ]);
    assert_eq!(only_file(&plan).source.delimiters(), ("[[", "]]"));
    assert!(plan.warnings.is_empty());
}

#[test]
fn one_custom_delimiter_keeps_the_other_default() {
    let plan = ok(&[
        ("agent-inject-template-t", "<< .x }}"),
        ("agent-template-left-delim-t", "<<"),
    ]);
    assert_eq!(only_file(&plan).source.delimiters(), ("<<", "}}"));
}

#[test]
fn delimiters_with_the_default_template_leave_it_unrendered_with_a_warning() {
    let plan = ok_db(&[
        ("agent-template-left-delim-db", "[["),
        ("agent-template-right-delim-db", "]]"),
    ]);
    let f = only_file(&plan);
    assert_eq!(
        f.source,
        Source::Template {
            text: DefaultFormat::Map.template("database/creds/app"),
            left_delim: "[[".into(),
            right_delim: "]]".into()
        }
    );
    assert_eq!(
        warning_kinds(&plan),
        [
            (
                "vault.hashicorp.com/agent-template-left-delim-db",
                &WarningKind::DelimitersWithDefaultTemplate { name: "db".into() }
            ),
            (
                "vault.hashicorp.com/agent-template-right-delim-db",
                &WarningKind::DelimitersWithDefaultTemplate { name: "db".into() }
            ),
        ]
    );
}

#[test]
fn template_file_without_inline_template_skips_the_name_with_a_warning() {
    let plan = ok(&[
        (
            "agent-inject-template-file-cfg",
            "/vault/templates/cfg.tmpl",
        ),
        ("agent-inject-secret-cfg", "kv/cfg"),
        ("agent-inject-secret-db", "kv/db"),
    ]);
    assert_eq!(paths(&plan), ["db"]);
    assert_eq!(
        warning_kinds(&plan),
        [(
            "vault.hashicorp.com/agent-inject-template-file-cfg",
            &WarningKind::TemplateFileNotRead { name: "cfg".into() }
        )]
    );
}

#[test]
fn template_file_warning_names_the_secret_as_written_in_its_keys() {
    let plan = ok(&[
        ("agent-inject-template-file-Cfg", "/t"),
        ("agent-inject-secret-db", "kv/db"),
    ]);
    assert!(
        matches!(&plan.warnings[0].kind, WarningKind::TemplateFileNotRead { name } if name == "Cfg")
    );
    assert!(
        plan.warnings[0]
            .to_string()
            .contains("agent-inject-template-Cfg instead")
    );
}

#[test]
fn template_file_with_an_inline_template_uses_the_inline_one() {
    let plan = ok(&[
        (
            "agent-inject-template-file-cfg",
            "/vault/templates/cfg.tmpl",
        ),
        ("agent-inject-template-cfg", "inline"),
    ]);
    assert_eq!(only_file(&plan).source.text(), "inline");
    assert!(plan.warnings.is_empty());
}

#[test]
fn template_file_key_defines_its_name_not_a_file_prefixed_name() {
    let plan = ok(&[
        ("agent-inject-template-file-x", "/t"),
        ("agent-inject-secret-db", "kv/db"),
    ]);
    assert_eq!(paths(&plan), ["db"]);
    assert!(
        matches!(&plan.warnings[0].kind, WarningKind::TemplateFileNotRead { name } if name == "x")
    );
}

#[test]
fn only_template_files_leave_the_volume_empty() {
    let e = err(&[("agent-inject-template-file-x", "/t")]);
    assert!(matches!(e, PlanError::EmptyVolume { .. }));
    assert!(
        e.to_string()
            .contains("agent-inject-template-file-NAME is not supported")
    );
}

// ---- File names ------------------------------------------------------------

#[test]
fn file_annotation_sets_a_relative_path() {
    let plan = ok_db(&[("agent-inject-file-db", "config/db.properties")]);
    let f = only_file(&plan);
    assert_eq!(f.path.as_str(), "config/db.properties");
    assert_eq!(f.name, "db");
}

#[test]
fn absolute_file_annotation_is_joined_under_the_volume() {
    let plan = ok_db(&[("agent-inject-file-db", "/etc/db.conf")]);
    assert_eq!(only_file(&plan).path.as_str(), "etc/db.conf");
}

#[test]
fn file_annotation_is_normalised() {
    let plan = ok_db(&[("agent-inject-file-db", "./conf//db/./x.env/")]);
    assert_eq!(only_file(&plan).path.as_str(), "conf/db/x.env");
}

#[test]
fn file_annotation_is_not_lower_cased() {
    let plan = ok_db(&[("agent-inject-file-db", "DB.Properties")]);
    assert_eq!(only_file(&plan).path.as_str(), "DB.Properties");
}

#[test]
fn file_name_escaping_the_volume_is_refused() {
    for bad in ["../x", "a/../../x", "/.."] {
        let e = err_db(&[("agent-inject-file-db", bad)]);
        assert!(
            matches!(&e, PlanError::InvalidFilePath { key, problem: PathProblem::ParentDir, .. }
                if key == "vault.hashicorp.com/agent-inject-file-db"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn file_name_that_names_no_file_is_refused() {
    for bad in ["/", ".", "./", "//./"] {
        let e = err_db(&[("agent-inject-file-db", bad)]);
        assert!(
            matches!(
                e,
                PlanError::InvalidFilePath {
                    problem: PathProblem::Empty,
                    ..
                }
            ),
            "{bad}"
        );
    }
}

#[test]
fn file_name_with_a_control_character_is_refused() {
    let e = err_db(&[("agent-inject-file-db", "a\u{0}b")]);
    assert!(matches!(
        e,
        PlanError::InvalidFilePath {
            problem: PathProblem::ControlChar,
            ..
        }
    ));
}

#[test]
fn file_name_in_the_volume_bookkeeping_namespace_is_refused() {
    let e = err_db(&[("agent-inject-file-db", "..data")]);
    assert!(matches!(
        e,
        PlanError::InvalidFilePath {
            problem: PathProblem::Reserved,
            ..
        }
    ));
}

#[test]
fn file_path_error_message_names_key_and_value() {
    let msg = err_db(&[("agent-inject-file-db", "../x")]).to_string();
    assert!(
        msg.starts_with("vault.hashicorp.com/agent-inject-file-db: file name \"../x\""),
        "{msg}"
    );
}

#[test]
fn two_names_writing_the_same_file_collide() {
    let e = err(&[
        ("agent-inject-secret-a", "kv/a"),
        ("agent-inject-secret-b", "kv/b"),
        ("agent-inject-file-b", "a"),
    ]);
    assert_eq!(
        e,
        PlanError::FileConflict {
            first_key: "vault.hashicorp.com/agent-inject-secret-a".into(),
            first_path: "a".into(),
            second_key: "vault.hashicorp.com/agent-inject-file-b".into(),
            second_path: "a".into(),
        }
    );
}

#[test]
fn names_differing_only_in_case_collide() {
    let e = err(&[
        ("agent-inject-secret-DB", "kv/a"),
        ("agent-inject-secret-db", "kv/b"),
    ]);
    assert!(matches!(e, PlanError::FileConflict { .. }));
}

#[test]
fn a_file_cannot_also_be_a_directory() {
    let e = err(&[
        ("agent-inject-secret-conf", "kv/a"),
        ("agent-inject-secret-db", "kv/b"),
        ("agent-inject-file-db", "conf/db"),
    ]);
    assert!(
        matches!(&e, PlanError::FileConflict { first_path, second_path, .. }
        if first_path == "conf" && second_path == "conf/db")
    );
}

#[test]
fn a_secret_file_named_token_collides_with_the_token_file() {
    let e = err(&[
        ("agent-inject-secret-token", "kv/a"),
        ("agent-inject-token", "true"),
    ]);
    assert!(matches!(&e, PlanError::FileConflict { second_key, .. }
        if second_key == "vault.hashicorp.com/agent-inject-token"));
}

#[test]
fn a_secret_file_under_token_collides_with_the_token_file() {
    let e = err_db(&[
        ("agent-inject-file-db", "token/db"),
        ("agent-inject-token", "true"),
    ]);
    assert!(matches!(e, PlanError::FileConflict { .. }));
}

#[test]
fn a_secret_named_token_is_fine_without_the_token_file() {
    let plan = ok(&[("agent-inject-secret-token", "kv/a")]);
    assert_eq!(paths(&plan), ["token"]);
}

#[test]
fn files_in_sibling_directories_do_not_collide() {
    let plan = ok(&[
        ("agent-inject-secret-a", "kv/a"),
        ("agent-inject-file-a", "conf/a"),
        ("agent-inject-secret-b", "kv/b"),
        ("agent-inject-file-b", "conf/b"),
    ]);
    assert_eq!(paths(&plan), ["conf/a", "conf/b"]);
}

#[test]
fn secret_volume_paths_ignore_surrounding_whitespace() {
    let p = pod_with_volumes(
        &[
            ("secret-volume-path", " /vault/secrets\n"),
            ("agent-inject-secret-a", "kv/a"),
            ("agent-inject-secret-b", "kv/b"),
            ("secret-volume-path-b", " /etc/b "),
        ],
        &[("main", "/vault/secrets"), ("extra", "/etc/b")],
    );
    assert_eq!(paths(&plan_for(&p, "main").unwrap()), ["a"]);
    assert_eq!(paths(&plan_for(&p, "extra").unwrap()), ["b"]);
}

// ---- Per-file settings -----------------------------------------------------

#[test]
fn perms_default_to_0644() {
    assert_eq!(only_file(&ok_db(&[])).mode, 0o644);
}

#[test]
fn perms_are_read_as_octal_with_or_without_a_leading_zero() {
    assert_eq!(
        only_file(&ok_db(&[("agent-inject-perms-db", "0400")])).mode,
        0o400
    );
    assert_eq!(
        only_file(&ok_db(&[("agent-inject-perms-db", "640")])).mode,
        0o640
    );
    assert_eq!(
        only_file(&ok_db(&[("agent-inject-perms-db", " 0600 ")])).mode,
        0o600
    );
}

#[test]
fn perms_must_be_octal() {
    for bad in ["0648", "rw-r--r--", "0x1a4", "-644", "0o644"] {
        let e = err_db(&[("agent-inject-perms-db", bad)]);
        assert!(
            matches!(&e, PlanError::InvalidPerms { key, value }
            if key == "vault.hashicorp.com/agent-inject-perms-db" && value.as_str() == bad),
            "{bad}"
        );
    }
}

#[test]
fn perms_above_7777_are_refused() {
    assert!(matches!(
        err_db(&[("agent-inject-perms-db", "10000")]),
        PlanError::InvalidPerms { .. }
    ));
    assert_eq!(
        only_file(&ok_db(&[("agent-inject-perms-db", "7777")])).mode,
        0o7777
    );
}

#[test]
fn error_on_missing_key_defaults_to_false() {
    assert!(!only_file(&ok_db(&[])).error_on_missing_key);
}

#[test]
fn error_on_missing_key_is_read_per_name() {
    let plan = ok_db(&[("error-on-missing-key-db", "true")]);
    assert!(only_file(&plan).error_on_missing_key);
}

#[test]
fn error_on_missing_key_must_be_a_boolean() {
    let e = err_db(&[("error-on-missing-key-db", "strict")]);
    assert!(matches!(&e, PlanError::InvalidBool { key, .. }
        if key == "vault.hashicorp.com/error-on-missing-key-db"));
}

#[test]
fn command_is_ignored_with_a_warning_and_the_file_is_still_rendered() {
    let plan = ok_db(&[("agent-inject-command-db", "pkill -HUP app")]);
    let f = only_file(&plan);
    assert!(f.command_ignored);
    assert_eq!(
        warning_kinds(&plan),
        [(
            "vault.hashicorp.com/agent-inject-command-db",
            &WarningKind::CommandNotRun
        )]
    );
    let msg = plan.warnings[0].to_string();
    assert!(msg.contains("agent-inject-command-db is ignored"), "{msg}");
    assert!(!msg.contains("pkill"), "{msg}");
}

#[test]
fn no_command_means_no_warning() {
    let plan = ok_db(&[]);
    assert!(!only_file(&plan).command_ignored);
    assert!(plan.warnings.is_empty());
}

// ---- Token file ------------------------------------------------------------

#[test]
fn token_file_is_off_by_default() {
    assert!(!ok_db(&[]).token_file);
}

#[test]
fn token_file_is_on_with_agent_inject_token() {
    assert!(ok_db(&[("agent-inject-token", "true")]).token_file);
}

#[test]
fn agent_inject_token_must_be_a_boolean() {
    assert!(matches!(
        err_db(&[("agent-inject-token", "please")]),
        PlanError::InvalidBool { .. }
    ));
}

#[test]
fn a_volume_with_only_the_token_is_valid() {
    let plan = ok(&[("agent-inject-token", "true")]);
    assert!(plan.files.is_empty());
    assert!(plan.token_file);
}

#[test]
fn a_volume_with_nothing_to_write_is_refused() {
    let e = err(&[]);
    assert_eq!(
        e,
        PlanError::EmptyVolume {
            volume: "vault".into(),
            mount_path: None,
            paths_in_use: vec![]
        }
    );
    assert!(e.to_string().contains("would be empty"));
}

// ---- secret-volume-path ----------------------------------------------------

#[test]
fn one_path_in_use_puts_every_name_in_the_volume_wherever_it_is_mounted() {
    let mut p = pod(&[
        ("agent-inject-secret-a", "kv/a"),
        ("agent-inject-secret-b", "kv/b"),
        ("agent-inject-token", "true"),
    ]);
    p.spec.containers = vec![container("app", &[("vault", "/etc/app/secrets")])];
    let plan = plan_for(&p, "vault").unwrap();
    assert_eq!(paths(&plan), ["a", "b"]);
    assert!(plan.token_file);
}

#[test]
fn one_per_name_path_shared_by_all_names_counts_as_one_path() {
    let plan = ok(&[
        ("agent-inject-secret-a", "kv/a"),
        ("secret-volume-path-a", "/etc/app"),
        ("agent-inject-token", "true"),
    ]);
    assert_eq!(paths(&plan), ["a"]);
    assert!(plan.token_file);
}

#[test]
fn one_path_in_use_does_not_need_the_volume_to_be_mounted() {
    let mut p = pod(&[("agent-inject-secret-a", "kv/a")]);
    p.spec.containers = vec![container("app", &[])];
    assert_eq!(paths(&plan_for(&p, "vault").unwrap()), ["a"]);
}

fn split_pod() -> Pod {
    pod_with_volumes(
        &[
            ("agent-inject-secret-a", "kv/a"),
            ("agent-inject-secret-b", "kv/b"),
            ("secret-volume-path-b", "/etc/b"),
            ("agent-inject-secret-c", "kv/c"),
            ("secret-volume-path-c", "/etc/b/"),
            ("agent-inject-token", "true"),
        ],
        &[("main", "/vault/secrets"), ("extra", "/etc/b")],
    )
}

#[test]
fn several_volume_paths_split_files_by_mount_path() {
    let p = split_pod();
    let main = plan_for(&p, "main").unwrap();
    assert_eq!(paths(&main), ["a"]);
    let extra = plan_for(&p, "extra").unwrap();
    assert_eq!(paths(&extra), ["b", "c"]);
}

#[test]
fn with_several_paths_the_token_goes_to_the_global_path_volume() {
    let p = split_pod();
    assert!(plan_for(&p, "main").unwrap().token_file);
    assert!(!plan_for(&p, "extra").unwrap().token_file);
}

#[test]
fn global_secret_volume_path_moves_the_default_location() {
    let p = pod_with_volumes(
        &[
            ("secret-volume-path", "/app/secrets"),
            ("agent-inject-secret-a", "kv/a"),
            ("agent-inject-secret-b", "kv/b"),
            ("secret-volume-path-b", "/other"),
        ],
        &[("main", "/app/secrets/"), ("other", "/other")],
    );
    assert_eq!(paths(&plan_for(&p, "main").unwrap()), ["a"]);
    assert_eq!(paths(&plan_for(&p, "other").unwrap()), ["b"]);
}

#[test]
fn mount_paths_are_compared_after_cleaning() {
    let p = pod_with_volumes(
        &[
            ("agent-inject-secret-a", "kv/a"),
            ("agent-inject-secret-b", "kv/b"),
            ("secret-volume-path-b", "/etc//b/."),
        ],
        &[("main", "/vault/secrets"), ("extra", "/etc/b/")],
    );
    assert_eq!(paths(&plan_for(&p, "extra").unwrap()), ["b"]);
}

#[test]
fn several_paths_and_an_unmounted_volume_is_refused() {
    let mut p = split_pod();
    p.spec.containers = vec![container("app", &[("main", "/vault/secrets")])];
    let e = plan_for(&p, "extra").unwrap_err();
    assert_eq!(
        e,
        PlanError::VolumeNotMounted {
            volume: "extra".into(),
            paths_in_use: vec!["/etc/b".into(), "/vault/secrets".into()]
        }
    );
}

#[test]
fn several_paths_and_a_volume_mounted_at_two_paths_is_refused() {
    let mut p = split_pod();
    p.spec
        .containers
        .push(container("sidecar", &[("extra", "/vault/secrets")]));
    let e = plan_for(&p, "extra").unwrap_err();
    assert!(
        matches!(&e, PlanError::VolumeMountedAtSeveralPaths { mount_paths, .. }
        if mount_paths == &["/etc/b".to_string(), "/vault/secrets".to_string()])
    );
}

#[test]
fn the_same_mount_path_in_two_containers_is_fine() {
    let mut p = split_pod();
    p.spec
        .containers
        .push(container("sidecar", &[("extra", "/etc/b")]));
    assert_eq!(paths(&plan_for(&p, "extra").unwrap()), ["b", "c"]);
}

#[test]
fn init_container_mounts_count() {
    let mut p = split_pod();
    p.spec.containers = vec![container("app", &[("main", "/vault/secrets")])];
    p.spec.init_containers = vec![container("init", &[("extra", "/etc/b")])];
    assert_eq!(paths(&plan_for(&p, "extra").unwrap()), ["b", "c"]);
}

#[test]
fn several_paths_and_a_volume_at_an_unused_path_is_empty() {
    let mut p = split_pod();
    p.spec.volumes.push(csi_volume("stray", DRIVER));
    p.spec
        .containers
        .push(container("x", &[("stray", "/opt/none")]));
    let e = plan_for(&p, "stray").unwrap_err();
    assert_eq!(
        e,
        PlanError::EmptyVolume {
            volume: "stray".into(),
            mount_path: Some("/opt/none".into()),
            paths_in_use: vec!["/etc/b".into(), "/vault/secrets".into()]
        }
    );
    assert!(
        e.to_string()
            .contains("no secret has secret-volume-path /opt/none")
    );
}

#[test]
fn skipped_template_file_names_do_not_count_as_a_path_in_use() {
    let mut p = pod(&[
        ("agent-inject-secret-a", "kv/a"),
        ("agent-inject-template-file-b", "/t"),
        ("secret-volume-path-b", "/etc/b"),
    ]);
    p.spec.containers = vec![container("app", &[("vault", "/anywhere")])];
    assert_eq!(paths(&plan_for(&p, "vault").unwrap()), ["a"]);
}

#[test]
fn per_name_warnings_are_reported_by_the_volume_holding_the_name() {
    let mut p = split_pod();
    p.metadata.annotations.insert(
        "vault.hashicorp.com/agent-inject-command-b".into(),
        "reload".into(),
    );
    assert!(plan_for(&p, "main").unwrap().warnings.is_empty());
    let extra = plan_for(&p, "extra").unwrap();
    assert_eq!(
        warning_kinds(&extra),
        [(
            "vault.hashicorp.com/agent-inject-command-b",
            &WarningKind::CommandNotRun
        )]
    );
}

#[test]
fn secrets_at_a_path_where_no_volume_is_mounted_are_warned_about() {
    let mut p = split_pod();
    p.metadata.annotations.insert(
        "vault.hashicorp.com/secret-volume-path-c".into(),
        "/nowhere".into(),
    );
    let plan = plan_for(&p, "main").unwrap();
    assert_eq!(
        warning_kinds(&plan),
        [(
            "vault.hashicorp.com/secret-volume-path-c",
            &WarningKind::SecretsNotPlaced {
                path: "/nowhere".into()
            }
        )]
    );
}

#[test]
fn a_token_whose_global_path_has_no_volume_is_warned_about() {
    let p = pod_with_volumes(
        &[
            ("agent-inject-secret-a", "kv/a"),
            ("secret-volume-path-a", "/etc/a"),
            ("agent-inject-secret-b", "kv/b"),
            ("secret-volume-path-b", "/etc/b"),
            ("agent-inject-token", "true"),
        ],
        &[("va", "/etc/a"), ("vb", "/etc/b")],
    );
    let plan = plan_for(&p, "va").unwrap();
    assert!(!plan.token_file);
    assert_eq!(
        warning_kinds(&plan),
        [(
            "vault.hashicorp.com/agent-inject-token",
            &WarningKind::TokenNotPlaced {
                path: "/vault/secrets".into()
            }
        )]
    );
}

#[test]
fn volumes_of_other_drivers_do_not_count_as_placing_secrets() {
    let mut p = split_pod();
    p.spec.volumes[1] = csi_volume("extra", "secrets-store.csi.k8s.io");
    let defaults = Defaults {
        driver_name: Some(DRIVER.into()),
        ..Defaults::default()
    };
    let plan = plan(&p, "main", &defaults).unwrap();
    assert!(
        matches!(&plan.warnings[..], [PlanWarning { kind: WarningKind::SecretsNotPlaced { path }, .. }]
        if path == "/etc/b")
    );
}

// ---- Options ---------------------------------------------------------------

#[test]
fn options_default_to_the_injector_values() {
    let o = ok_db(&[]).options;
    assert_eq!(o, Options::default());
    assert!(!o.pre_populate_only);
    assert_eq!((o.run_as_user, o.run_as_group), (100, 1000));
    assert!(!o.revoke_on_shutdown);
    assert_eq!(o.static_secret_render_interval, secs(300));
    assert_eq!(o.lease_renewal_threshold, 0.9);
    assert!(o.exit_on_retry_failure);
    assert_eq!(
        (o.auth_min_backoff, o.auth_max_backoff),
        (secs(1), secs(300))
    );
    assert_eq!(o.client_max_retries, 2);
    assert_eq!(o.client_timeout, secs(60));
}

#[test]
fn pre_populate_only_is_read() {
    assert!(
        ok_db(&[("agent-pre-populate-only", "true")])
            .options
            .pre_populate_only
    );
}

#[test]
fn revoke_on_shutdown_is_read() {
    assert!(
        ok_db(&[("agent-revoke-on-shutdown", "T")])
            .options
            .revoke_on_shutdown
    );
}

#[test]
fn exit_on_retry_failure_can_be_turned_off() {
    let o = ok_db(&[("template-config-exit-on-retry-failure", "false")]).options;
    assert!(!o.exit_on_retry_failure);
}

#[test]
fn bad_booleans_name_the_key_and_value() {
    let e = err_db(&[("agent-pre-populate-only", "yes")]);
    assert_eq!(
        e.to_string(),
        "vault.hashicorp.com/agent-pre-populate-only: \"yes\" is not a boolean (use true or false)"
    );
}

#[test]
fn run_as_user_and_group_are_read() {
    let o = ok_db(&[("agent-run-as-user", "2000"), ("agent-run-as-group", "0")]).options;
    assert_eq!((o.run_as_user, o.run_as_group), (2000, 0));
}

#[test]
fn run_as_user_must_be_a_user_id() {
    for bad in ["-1", "app", "4294967295", "1.5"] {
        let e = err_db(&[("agent-run-as-user", bad)]);
        assert!(
            matches!(&e, PlanError::InvalidNumber { key, .. }
            if key == "vault.hashicorp.com/agent-run-as-user"),
            "{bad}"
        );
    }
}

#[test]
fn node_defaults_set_the_owner_when_absent() {
    let defaults = Defaults {
        run_as_user: 7,
        run_as_group: 8,
        ..Defaults::default()
    };
    let p = pod(&[("agent-inject-secret-db", "kv/db")]);
    let o = plan(&p, "vault", &defaults).unwrap().options;
    assert_eq!((o.run_as_user, o.run_as_group), (7, 8));
}

fn same_user_pod(container_user: Option<i64>, pod_user: Option<i64>) -> Pod {
    let mut p = pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("agent-run-as-same-user", "true"),
        ("agent-run-as-user", "555"),
        ("agent-run-as-group", "3000"),
    ]);
    p.spec.containers[0].security_context = Some(SecurityContext {
        run_as_user: container_user,
        run_as_group: Some(9),
        fs_group: None,
    });
    p.spec.security_context = Some(SecurityContext {
        run_as_user: pod_user,
        run_as_group: None,
        fs_group: None,
    });
    p
}

#[test]
fn run_as_same_user_takes_the_first_containers_user_and_keeps_the_group() {
    let o = plan_for(&same_user_pod(Some(1001), Some(42)), "vault")
        .unwrap()
        .options;
    assert_eq!((o.run_as_user, o.run_as_group), (1001, 3000));
}

#[test]
fn run_as_same_user_falls_back_to_the_pods_run_as_user() {
    let o = plan_for(&same_user_pod(None, Some(42)), "vault")
        .unwrap()
        .options;
    assert_eq!(o.run_as_user, 42);
}

#[test]
fn run_as_same_user_without_run_as_user_is_refused() {
    let e = plan_for(&same_user_pod(None, None), "vault").unwrap_err();
    assert!(
        matches!(&e, PlanError::RunAsSameUser { problem, .. } if problem.contains("runAsUser"))
    );
    assert!(
        e.to_string()
            .starts_with("vault.hashicorp.com/agent-run-as-same-user is true but")
    );
}

#[test]
fn run_as_same_user_refuses_root() {
    let e = plan_for(&same_user_pod(Some(0), Some(42)), "vault").unwrap_err();
    assert!(matches!(&e, PlanError::RunAsSameUser { problem, .. } if problem.contains("root")));
}

#[test]
fn run_as_same_user_refuses_an_out_of_range_user() {
    let e = plan_for(&same_user_pod(Some(-5), None), "vault").unwrap_err();
    assert!(matches!(e, PlanError::RunAsSameUser { .. }));
}

#[test]
fn run_as_same_user_without_containers_is_refused() {
    let mut p = same_user_pod(Some(1), None);
    p.spec.init_containers = std::mem::take(&mut p.spec.containers);
    let e = plan_for(&p, "vault").unwrap_err();
    assert!(
        matches!(&e, PlanError::RunAsSameUser { problem, .. } if problem.contains("no containers"))
    );
}

#[test]
fn run_as_same_user_false_keeps_run_as_user() {
    let mut p = same_user_pod(None, None);
    p.metadata.annotations.insert(
        "vault.hashicorp.com/agent-run-as-same-user".into(),
        "false".into(),
    );
    assert_eq!(plan_for(&p, "vault").unwrap().options.run_as_user, 555);
}

#[test]
fn static_secret_render_interval_accepts_go_durations() {
    for (v, d) in [
        ("1h30m", secs(5400)),
        ("30s", secs(30)),
        ("500ms", Duration::from_millis(500)),
    ] {
        let o = ok_db(&[("template-static-secret-render-interval", v)]).options;
        assert_eq!(o.static_secret_render_interval, d, "{v}");
    }
}

#[test]
fn static_secret_render_interval_accepts_plain_seconds_and_days() {
    let o = ok_db(&[("template-static-secret-render-interval", "90")]).options;
    assert_eq!(o.static_secret_render_interval, secs(90));
    let o = ok_db(&[("template-static-secret-render-interval", "1d")]).options;
    assert_eq!(o.static_secret_render_interval, secs(86_400));
}

#[test]
fn static_secret_render_interval_of_zero_means_the_default() {
    let o = ok_db(&[("template-static-secret-render-interval", "0s")]).options;
    assert_eq!(o.static_secret_render_interval, secs(300));
}

#[test]
fn static_secret_render_interval_must_be_a_duration() {
    let e = err_db(&[("template-static-secret-render-interval", "often")]);
    assert!(matches!(&e, PlanError::InvalidDuration { key, .. }
        if key == "vault.hashicorp.com/template-static-secret-render-interval"));
    assert!(e.to_string().contains("number of seconds"));
}

#[test]
fn negative_durations_are_refused() {
    let e = err_db(&[("template-static-secret-render-interval", "-5m")]);
    assert!(matches!(
        e,
        PlanError::InvalidDuration {
            expected: "a duration of zero or more",
            ..
        }
    ));
}

#[test]
fn lease_renewal_threshold_is_read() {
    let o = ok_db(&[("template-lease-renewal-threshold", "0.5")]).options;
    assert_eq!(o.lease_renewal_threshold, 0.5);
    let o = ok_db(&[("template-lease-renewal-threshold", "1")]).options;
    assert_eq!(o.lease_renewal_threshold, 1.0);
}

#[test]
fn lease_renewal_threshold_outside_zero_one_is_refused() {
    for bad in ["0", "1.5", "-0.1", "NaN", "ninety"] {
        let e = err_db(&[("template-lease-renewal-threshold", bad)]);
        assert!(
            matches!(&e, PlanError::InvalidNumber { key, .. }
            if key == "vault.hashicorp.com/template-lease-renewal-threshold"),
            "{bad}"
        );
    }
}

#[test]
fn auth_backoffs_are_go_durations() {
    let o = ok_db(&[("auth-min-backoff", "2s"), ("auth-max-backoff", "1m30s")]).options;
    assert_eq!(
        (o.auth_min_backoff, o.auth_max_backoff),
        (secs(2), secs(90))
    );
}

#[test]
fn auth_backoffs_refuse_plain_integers_as_the_injector_does() {
    let e = err_db(&[("auth-min-backoff", "5")]);
    assert!(matches!(&e, PlanError::InvalidDuration { key, .. }
        if key == "vault.hashicorp.com/auth-min-backoff"));
}

#[test]
fn zero_auth_backoff_means_the_default() {
    let o = ok_db(&[("auth-min-backoff", "0")]).options;
    assert_eq!(o.auth_min_backoff, secs(1));
}

#[test]
fn auth_min_backoff_above_max_is_refused() {
    let e = err_db(&[("auth-min-backoff", "10m")]);
    assert_eq!(
        e,
        PlanError::BackoffOrder {
            min: secs(600),
            max: secs(300),
            min_source: "vault.hashicorp.com/auth-min-backoff".into(),
            max_source: "vault.hashicorp.com/auth-max-backoff".into(),
        }
    );
}

#[test]
fn client_max_retries_is_read() {
    assert_eq!(
        ok_db(&[("client-max-retries", "0")])
            .options
            .client_max_retries,
        0
    );
    assert_eq!(
        ok_db(&[("client-max-retries", "7")])
            .options
            .client_max_retries,
        7
    );
}

#[test]
fn client_max_retries_must_be_a_whole_number() {
    for bad in ["-1", "two", "+3", "1.0"] {
        let e = err_db(&[("client-max-retries", bad)]);
        assert!(
            matches!(&e, PlanError::InvalidNumber { key, .. }
            if key == "vault.hashicorp.com/client-max-retries"),
            "{bad}"
        );
    }
}

#[test]
fn client_timeout_accepts_seconds_and_durations() {
    assert_eq!(
        ok_db(&[("client-timeout", "15")]).options.client_timeout,
        secs(15)
    );
    assert_eq!(
        ok_db(&[("client-timeout", "2m")]).options.client_timeout,
        secs(120)
    );
}

#[test]
fn client_timeout_of_zero_is_refused() {
    let e = err_db(&[("client-timeout", "0s")]);
    assert!(matches!(
        e,
        PlanError::InvalidDuration {
            expected: "a duration greater than zero",
            ..
        }
    ));
}

#[test]
fn client_timeout_must_be_a_duration() {
    assert!(matches!(
        err_db(&[("client-timeout", "soon")]),
        PlanError::InvalidDuration { .. }
    ));
}

#[test]
fn whitespace_around_scalar_values_is_ignored() {
    let o = ok_db(&[
        ("agent-run-as-user", " 42 "),
        ("agent-pre-populate-only", "\ttrue\n"),
        ("client-timeout", " 5s "),
    ])
    .options;
    assert_eq!(o.run_as_user, 42);
    assert!(o.pre_populate_only);
    assert_eq!(o.client_timeout, secs(5));
}

#[test]
fn blank_option_values_count_as_absent() {
    let o = ok_db(&[
        ("agent-run-as-user", ""),
        ("template-lease-renewal-threshold", "  "),
        ("auth-max-backoff", ""),
    ])
    .options;
    assert_eq!(o, Options::default());
}

// ---- Warnings --------------------------------------------------------------

#[test]
fn per_pod_tls_keys_are_ignored_with_a_warning() {
    for key in [
        "ca-cert",
        "ca-key",
        "client-cert",
        "client-key",
        "tls-secret",
        "tls-server-name",
        "tls-skip-verify",
    ] {
        let plan = ok_db(&[(key, "true")]);
        assert_eq!(
            warning_kinds(&plan),
            [(full_key(key).as_str(), &WarningKind::NodeTrustSetting)],
            "{key}"
        );
        assert!(plan.warnings[0].to_string().contains("TLS trust"));
    }
}

#[test]
fn tls_skip_verify_false_changes_nothing_and_is_silent() {
    assert!(ok_db(&[("tls-skip-verify", "false")]).warnings.is_empty());
}

#[test]
fn agent_configmap_extra_secret_and_proxy_address_are_ignored_with_a_warning() {
    let plan = ok_db(&[
        ("agent-configmap", "agent-config"),
        ("agent-extra-secret", "extra"),
        ("proxy-address", "http://proxy:3128"),
    ]);
    assert_eq!(
        warning_kinds(&plan),
        [
            (
                "vault.hashicorp.com/agent-configmap",
                &WarningKind::AgentConfigMap
            ),
            (
                "vault.hashicorp.com/agent-extra-secret",
                &WarningKind::ExtraSecret
            ),
            (
                "vault.hashicorp.com/proxy-address",
                &WarningKind::ProxyAddress
            ),
        ]
    );
}

#[test]
fn keys_that_only_shape_the_agent_container_are_silent() {
    let plan = ok_db(&[
        ("agent-image", "hashicorp/vault:1.15"),
        ("agent-limits-cpu", "500m"),
        ("agent-requests-mem", "64Mi"),
        ("agent-cache-enable", "true"),
        ("agent-json-patch", "[]"),
        ("agent-share-process-namespace", "true"),
        ("agent-set-security-context", "false"),
        ("agent-init-first", "true"),
        ("agent-copy-volume-mounts", "app"),
        ("log-level", "debug"),
        ("log-format", "json"),
        ("agent-enable-quit", "true"),
        ("go-max-procs", "2"),
        ("agent-inject-containers", "app"),
        ("agent-pre-populate", "false"),
        ("agent-inject-status", "injected"),
        ("template-max-connections-per-host", "10"),
        ("agent-telemetry-prometheus_retention_time", "30s"),
        ("auth-config-token-path", "/var/run/token"),
        ("agent-revoke-grace", "5"),
    ]);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn a_per_name_key_for_an_undefined_name_is_warned_about() {
    let plan = ok_db(&[("agent-inject-perms-dbcreds", "0400")]);
    assert_eq!(
        warning_kinds(&plan),
        [(
            "vault.hashicorp.com/agent-inject-perms-dbcreds",
            &WarningKind::UnknownSecretName {
                name: "dbcreds".into()
            }
        )]
    );
    assert_eq!(only_file(&plan).mode, 0o644);
}

#[test]
fn per_name_keys_differing_in_case_from_the_name_are_undefined() {
    let plan = ok_db(&[("agent-inject-file-DB", "x")]);
    assert_eq!(only_file(&plan).path.as_str(), "db");
    assert!(
        matches!(&plan.warnings[0].kind, WarningKind::UnknownSecretName { name } if name == "DB")
    );
}

#[test]
fn warning_messages_name_the_annotation() {
    let plan = ok_db(&[("ca-cert", "/vault/tls/ca.crt")]);
    let msg = plan.warnings[0].to_string();
    assert!(
        msg.starts_with("vault.hashicorp.com/ca-cert is ignored"),
        "{msg}"
    );
    assert!(!msg.contains("/vault/tls/ca.crt"));
}

// ---- No secrets in messages, no panics -------------------------------------

#[test]
fn template_text_never_appears_in_errors_or_debug_output() {
    let secret = "password=hunter2-literal";
    let p = pod(&[
        ("agent-inject-template-a", secret),
        ("agent-inject-template-b", secret),
        ("agent-inject-file-b", "a"),
    ]);
    let e = plan_for(&p, "vault").unwrap_err();
    assert!(!e.to_string().contains("hunter2"));
    assert!(!format!("{e:?}").contains("hunter2"));

    let plan = ok(&[("agent-inject-template-a", secret)]);
    let debug = format!("{plan:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("<24 bytes>"), "{debug}");
}

#[test]
fn long_values_are_shortened_in_messages() {
    let long = "x".repeat(500);
    let e = err_db(&[("auth-type", long.as_str())]);
    let msg = e.to_string();
    assert!(msg.len() < 200, "{msg}");
    assert!(msg.contains("..."));
}

#[test]
fn echo_cuts_on_character_boundaries() {
    let v = "\u{e9}".repeat(100);
    assert_eq!(Echo::new(&v).as_str().chars().count(), 64 + 3);
    assert_eq!(Echo::new("short").as_str(), "short");
}

#[test]
fn odd_values_in_any_key_give_an_answer_not_a_panic() {
    let keys = [
        "agent-inject",
        "role",
        "auth-type",
        "auth-path",
        "namespace",
        "service",
        "agent-inject-default-template",
        "agent-inject-token",
        "secret-volume-path",
        "preserve-secret-case",
        "agent-pre-populate-only",
        "agent-run-as-user",
        "agent-run-as-group",
        "agent-run-as-same-user",
        "agent-revoke-on-shutdown",
        "template-static-secret-render-interval",
        "template-lease-renewal-threshold",
        "template-config-exit-on-retry-failure",
        "auth-min-backoff",
        "auth-max-backoff",
        "client-max-retries",
        "client-timeout",
        "agent-inject-secret-db",
        "agent-inject-template-db",
        "agent-inject-template-file-db",
        "agent-inject-file-db",
        "agent-inject-perms-db",
        "agent-template-left-delim-db",
        "agent-template-right-delim-db",
        "error-on-missing-key-db",
        "secret-volume-path-db",
        "agent-inject-command-db",
        "preserve-secret-case-db",
        "tls-skip-verify",
    ];
    let values = [
        "",
        " ",
        "\0",
        "\u{feff}",
        "..",
        "/",
        "//",
        "-",
        "+",
        "-0",
        "0",
        "1e309",
        "9".repeat(40).leak(),
        "\u{e9}\u{301}",
        "{{",
        "\"",
        "\\",
        "\n",
        "true",
        "-9223372036854775808ns",
        "1.5.5h",
        "\u{b5}",
        ".",
        "0x10",
        "NaN",
        "-inf",
        "🙂/../x",
    ];
    for key in keys {
        for value in values {
            let p = pod_with_volumes(
                &[("agent-inject-secret-base", "kv/base"), (key, value)],
                &[("vault", "/vault/secrets"), ("other", "/x")],
            );
            for volume in ["vault", "other", "missing"] {
                let _ = plan_for(&p, volume).map(|plan| plan.files.len());
            }
        }
    }
}

// ---- End to end --------------------------------------------------------------

#[test]
fn a_pod_as_the_api_server_returns_it_plans_its_volume() {
    let json = r#"{
      "apiVersion": "v1", "kind": "Pod",
      "metadata": {
        "name": "orders-5f7c9", "namespace": "shop", "uid": "5d0e2c1a-1111-4a2b-9c3d-000000000042",
        "annotations": {
          "vault.hashicorp.com/agent-inject": "true",
          "vault.hashicorp.com/role": "orders",
          "vault.hashicorp.com/namespace": "team-shop",
          "vault.hashicorp.com/agent-inject-secret-db-creds": "database/creds/orders",
          "vault.hashicorp.com/agent-inject-template-db-creds": "{{- with secret \"database/creds/orders\" -}}\npostgres://{{ .Data.username }}:{{ .Data.password }}@db:5432/orders\n{{- end }}\n",
          "vault.hashicorp.com/agent-inject-file-db-creds": "db/url",
          "vault.hashicorp.com/agent-inject-perms-db-creds": "0400",
          "vault.hashicorp.com/agent-inject-secret-config.json": "secret/data/orders/config",
          "vault.hashicorp.com/agent-inject-default-template": "json",
          "vault.hashicorp.com/agent-inject-token": "true",
          "vault.hashicorp.com/agent-run-as-same-user": "true",
          "vault.hashicorp.com/agent-limits-cpu": "250m",
          "vault.hashicorp.com/tls-skip-verify": "true"
        }
      },
      "spec": {
        "serviceAccountName": "orders",
        "securityContext": { "runAsGroup": 2000, "fsGroup": 2000 },
        "containers": [{
          "name": "orders", "image": "registry.example.com/orders:3",
          "securityContext": { "runAsUser": 10001, "readOnlyRootFilesystem": true },
          "volumeMounts": [
            { "name": "vault", "mountPath": "/vault/secrets", "readOnly": true },
            { "name": "kube-api-access-x", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true }
          ]
        }],
        "volumes": [
          { "name": "vault", "csi": { "driver": "vault.csi.example.com", "readOnly": true } },
          { "name": "kube-api-access-x", "projected": { "sources": [] } }
        ]
      },
      "status": { "phase": "Pending" }
    }"#;
    let p = Pod::from_json(json.as_bytes()).unwrap();
    let defaults = Defaults {
        driver_name: Some(DRIVER.into()),
        ..Defaults::default()
    };
    let plan = plan(&p, "vault", &defaults).unwrap();

    assert_eq!(plan.identity.role, "orders");
    assert_eq!(plan.identity.namespace.as_deref(), Some("team-shop"));
    assert_eq!(plan.identity.auth_path.as_str(), "auth/kubernetes");
    assert!(plan.token_file);
    assert_eq!(plan.options.run_as_user, 10001);
    assert_eq!(plan.options.run_as_group, 1000);

    assert_eq!(paths(&plan), ["config.json", "db/url"]);
    let config = &plan.files[0];
    assert_eq!(
        config.source,
        Source::DefaultTemplate {
            secret_path: "secret/data/orders/config".into(),
            format: DefaultFormat::Json
        }
    );
    assert_eq!(config.mode, 0o644);
    let db = &plan.files[1];
    assert_eq!(db.name, "db-creds");
    assert_eq!(db.mode, 0o400);
    assert!(db.source.text().starts_with("{{- with secret"));
    assert!(db.source.text().ends_with("{{- end }}\n"));

    assert_eq!(
        warning_kinds(&plan),
        [(
            "vault.hashicorp.com/tls-skip-verify",
            &WarningKind::NodeTrustSetting
        )]
    );
}

mod migration;

//! What a switch from the injector needs: OpenBao's prefix and the
//! cluster-wide settings, one rule per test.

use super::*;

const BAO: &str = "openbao.openbao.org/";

/// A Pod whose keys are all spelled with OpenBao's prefix.
fn bao_pod(annotations: &[(&str, &str)]) -> Pod {
    let mut all = vec![("agent-inject", "true"), ("role", "app")];
    all.extend_from_slice(annotations);
    let keys: Vec<(String, &str)> = all.iter().map(|(k, v)| (format!("{BAO}{k}"), *v)).collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    bare_pod(&pairs)
}

fn with_cluster(p: &Pod, cluster: ClusterDefaults) -> Result<Plan, PlanError> {
    plan(p, "vault", &Defaults::new(None, cluster))
}

// ---- OpenBao's prefix ---------------------------------------------------------

#[test]
fn openbao_keys_plan_like_vault_keys() {
    let keys = [
        ("agent-inject-secret-db", "kv/db"),
        ("agent-inject-file-db", "conf/db.env"),
        ("agent-inject-perms-db", "0400"),
        ("auth-path", "k8s-prod"),
        ("namespace", "team-a"),
        ("agent-run-as-user", "7"),
    ];
    let mut bao = plan_for(&bao_pod(&keys), "vault").unwrap();
    let vault = ok(&keys);
    assert_eq!(
        bao.files[0].annotation,
        "openbao.openbao.org/agent-inject-secret-db"
    );
    assert_eq!(
        bao.identity.service_annotation,
        "openbao.openbao.org/service"
    );
    bao.files[0].annotation = vault.files[0].annotation.clone();
    bao.identity.service_annotation = vault.identity.service_annotation.clone();
    assert_eq!(bao, vault);
    assert_eq!(bao.identity.auth_path.as_str(), "auth/k8s-prod");
    assert_eq!(only_file(&bao).mode, 0o400);
}

#[test]
fn the_two_prefixes_can_be_mixed_key_by_key() {
    let p = pod(&[("openbao.openbao.org/agent-inject-secret-db", "kv/db")]);
    assert_eq!(paths(&plan_for(&p, "vault").unwrap()), ["db"]);
}

#[test]
fn one_key_under_both_prefixes_is_refused_naming_both() {
    let p = pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("openbao.openbao.org/role", "other"),
    ]);
    let e = plan_for(&p, "vault").unwrap_err();
    assert_eq!(
        e,
        PlanError::PrefixConflict {
            vault_key: "vault.hashicorp.com/role".into(),
            openbao_key: "openbao.openbao.org/role".into(),
        }
    );
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let msg = e.to_string();
    assert!(msg.contains("vault.hashicorp.com/role") && msg.contains("openbao.openbao.org/role"));
}

#[test]
fn equal_values_under_both_prefixes_are_refused_too() {
    let p = pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("openbao.openbao.org/agent-inject-secret-db", "kv/db"),
    ]);
    assert!(matches!(
        plan_for(&p, "vault"),
        Err(PlanError::PrefixConflict { .. })
    ));
}

#[test]
fn a_blank_value_under_one_prefix_is_no_conflict() {
    let p = pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("openbao.openbao.org/role", " "),
    ]);
    assert_eq!(plan_for(&p, "vault").unwrap().identity.role, "app");
}

#[test]
fn errors_name_the_key_as_the_pod_spells_it() {
    let e = plan_for(
        &bao_pod(&[
            ("agent-inject-secret-db", "kv/db"),
            ("agent-inject-perms-db", "999"),
        ]),
        "vault",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("openbao.openbao.org/agent-inject-perms-db:"),
        "{e}"
    );
    assert!(!e.to_string().contains("vault.hashicorp.com"), "{e}");
}

#[test]
fn agent_inject_false_is_named_with_its_prefix() {
    let mut p = bare_pod(&[]);
    p.metadata
        .annotations
        .insert(format!("{BAO}agent-inject"), "false".into());
    let e = plan_for(&p, "vault").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
    assert!(
        e.to_string()
            .contains("annotation openbao.openbao.org/agent-inject is false"),
        "{e}"
    );
}

#[test]
fn a_conflict_on_a_pod_that_does_not_select_injection_is_not_reported() {
    let mut p = bare_pod(&[("agent-inject", "false"), ("role", "a")]);
    p.metadata
        .annotations
        .insert(format!("{BAO}role"), "b".into());
    assert_eq!(
        plan_for(&p, "vault").unwrap_err().kind(),
        ErrorKind::FailedPrecondition
    );
    assert_eq!(selected(&p.metadata.annotations), Ok(false));
}

#[test]
fn warnings_name_the_key_and_suggest_keys_with_its_prefix() {
    let plan = plan_for(
        &bao_pod(&[
            ("agent-inject-secret-db", "kv/db"),
            ("agent-inject-file-DB", "x"),
            ("ca-cert", "/vault/tls/ca.crt"),
        ]),
        "vault",
    )
    .unwrap();
    let messages: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("openbao.openbao.org/ca-cert is ignored")),
        "{messages:?}"
    );
    let unknown = messages
        .iter()
        .find(|m| m.starts_with("openbao.openbao.org/agent-inject-file-DB"))
        .expect("unknown NAME warned about");
    assert!(
        unknown.contains("openbao.openbao.org/agent-inject-secret-DB"),
        "{unknown}"
    );
    assert!(
        !messages.iter().any(|m| m.contains("vault.hashicorp.com")),
        "{messages:?}"
    );
}

#[test]
fn secret_volume_paths_read_both_prefixes() {
    let p = bao_pod(&[
        ("agent-inject-secret-a", "kv/a"),
        ("secret-volume-path-a", "/etc/a"),
        ("agent-inject-token", "true"),
    ]);
    let paths = secret_volume_paths(&p.metadata.annotations).unwrap();
    assert_eq!(
        paths.into_iter().collect::<Vec<_>>(),
        ["/etc/a", "/vault/secrets"]
    );
}

// ---- Cluster-wide settings ----------------------------------------------------

#[test]
fn cluster_auth_path_applies_to_pods_without_auth_path() {
    let cluster = ClusterDefaults {
        auth_path: Some(AuthPath::new("k8s-prod").unwrap()),
        ..ClusterDefaults::default()
    };
    let p = pod(&[("agent-inject-secret-db", "kv/db")]);
    let id = with_cluster(&p, cluster.clone()).unwrap().identity;
    assert_eq!(id.auth_path.as_str(), "auth/k8s-prod");
    // The injector writes its auth path into every Pod before it reads
    // auth-type, so jwt Pods get it as well.
    let jwt = pod(&[("agent-inject-secret-db", "kv/db"), ("auth-type", "jwt")]);
    let id = with_cluster(&jwt, cluster.clone()).unwrap().identity;
    assert_eq!(id.auth_path.as_str(), "auth/k8s-prod");
    let own = pod(&[("agent-inject-secret-db", "kv/db"), ("auth-path", "other")]);
    let id = with_cluster(&own, cluster).unwrap().identity;
    assert_eq!(id.auth_path.as_str(), "auth/other", "the annotation wins");
}

#[test]
fn cluster_namespace_applies_to_pods_without_namespace() {
    let cluster = ClusterDefaults {
        namespace: Some("team-a".into()),
        ..ClusterDefaults::default()
    };
    let p = pod(&[("agent-inject-secret-db", "kv/db")]);
    assert_eq!(
        with_cluster(&p, cluster.clone())
            .unwrap()
            .identity
            .namespace
            .as_deref(),
        Some("team-a")
    );
    let own = pod(&[("agent-inject-secret-db", "kv/db"), ("namespace", "team-b")]);
    assert_eq!(
        with_cluster(&own, cluster.clone())
            .unwrap()
            .identity
            .namespace
            .as_deref(),
        Some("team-b")
    );
    // "/" is what is left of a namespace annotation that names the root.
    let root = pod(&[("agent-inject-secret-db", "kv/db"), ("namespace", "/")]);
    assert_eq!(
        with_cluster(&root, cluster).unwrap().identity.namespace,
        None
    );
}

#[test]
fn cluster_default_template_owner_and_group_apply_below_annotations() {
    let cluster = ClusterDefaults {
        default_format: Some(DefaultFormat::Json),
        run_as_user: Some(2000),
        run_as_group: Some(3000),
        ..ClusterDefaults::default()
    };
    let p = pod(&[("agent-inject-secret-db", "kv/db")]);
    let plan = with_cluster(&p, cluster.clone()).unwrap();
    assert!(matches!(
        only_file(&plan).source,
        Source::DefaultTemplate {
            format: DefaultFormat::Json,
            ..
        }
    ));
    assert_eq!(
        (plan.options.run_as_user, plan.options.run_as_group),
        (2000, 3000)
    );
    let own = pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("agent-inject-default-template", "map"),
        ("agent-run-as-user", "5"),
    ]);
    let plan = with_cluster(&own, cluster).unwrap();
    assert!(matches!(
        only_file(&plan).source,
        Source::DefaultTemplate {
            format: DefaultFormat::Map,
            ..
        }
    ));
    assert_eq!(
        (plan.options.run_as_user, plan.options.run_as_group),
        (5, 3000)
    );
}

#[test]
fn cluster_run_as_same_user_takes_the_first_containers_user() {
    let cluster = ClusterDefaults {
        run_as_same_user: Some(true),
        ..ClusterDefaults::default()
    };
    let mut p = pod(&[("agent-inject-secret-db", "kv/db")]);
    p.spec.containers[0].security_context = Some(SecurityContext {
        run_as_user: Some(1234),
        run_as_group: None,
        fs_group: None,
    });
    assert_eq!(
        with_cluster(&p, cluster.clone())
            .unwrap()
            .options
            .run_as_user,
        1234
    );
    let off = pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("agent-run-as-same-user", "false"),
    ]);
    assert_eq!(
        with_cluster(&off, cluster.clone())
            .unwrap()
            .options
            .run_as_user,
        100
    );
    // Without a user to take, the error names the variable that asked.
    let e = with_cluster(&pod(&[("agent-inject-secret-db", "kv/db")]), cluster).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("AGENT_INJECT_RUN_AS_SAME_USER is true but"),
        "{e}"
    );
}

#[test]
fn cluster_set_security_context_off_is_turned_on_by_run_as_annotations() {
    let off = ClusterDefaults {
        set_security_context: Some(false),
        ..ClusterDefaults::default()
    };
    let plain = pod(&[("agent-inject-secret-db", "kv/db")]);
    assert!(
        !with_cluster(&plain, off.clone())
            .unwrap()
            .options
            .set_security_context
    );
    let user = pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("agent-run-as-user", "7"),
    ]);
    assert!(
        with_cluster(&user, off.clone())
            .unwrap()
            .options
            .set_security_context
    );
    let explicit = pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("agent-run-as-group", "7"),
        ("agent-set-security-context", "false"),
    ]);
    assert!(
        !with_cluster(&explicit, off)
            .unwrap()
            .options
            .set_security_context
    );
    assert!(ok_db(&[]).options.set_security_context, "built-in: on");
}

#[test]
fn cluster_refresh_backoff_and_revoke_settings_apply_below_annotations() {
    let cluster = ClusterDefaults {
        static_secret_render_interval: Some(secs(60)),
        auth_min_backoff: Some(secs(2)),
        auth_max_backoff: Some(secs(30)),
        exit_on_retry_failure: Some(false),
        revoke_on_shutdown: Some(true),
        ..ClusterDefaults::default()
    };
    let p = pod(&[("agent-inject-secret-db", "kv/db")]);
    let o = with_cluster(&p, cluster.clone()).unwrap().options;
    assert_eq!(o.static_secret_render_interval, secs(60));
    assert_eq!(
        (o.auth_min_backoff, o.auth_max_backoff),
        (secs(2), secs(30))
    );
    assert!(!o.exit_on_retry_failure);
    assert!(o.revoke_on_shutdown);
    let own = pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("template-static-secret-render-interval", "0"),
        ("auth-min-backoff", "3s"),
        ("agent-revoke-on-shutdown", "false"),
    ]);
    let o = with_cluster(&own, cluster).unwrap().options;
    assert_eq!(
        o.static_secret_render_interval,
        secs(300),
        "zero in the annotation means the built-in default"
    );
    assert_eq!(o.auth_min_backoff, secs(3));
    assert!(!o.revoke_on_shutdown);
}

#[test]
fn backoff_order_names_where_each_bound_comes_from() {
    let cluster = ClusterDefaults {
        auth_max_backoff: Some(secs(10)),
        ..ClusterDefaults::default()
    };
    let p = bao_pod(&[
        ("agent-inject-secret-db", "kv/db"),
        ("auth-min-backoff", "1m"),
    ]);
    let e = with_cluster(&p, cluster).unwrap_err();
    assert_eq!(
        e.to_string(),
        "openbao.openbao.org/auth-min-backoff (60s) is longer than AGENT_INJECT_AUTH_MAX_BACKOFF (10s)"
    );
}

#[test]
fn without_cluster_settings_defaults_new_is_the_built_in_default() {
    assert_eq!(
        Defaults::new(None, ClusterDefaults::default()),
        Defaults::default()
    );
}

// ---- Every injector key answered ------------------------------------------------

/// The keys of vault-k8s `agent-inject/agent/annotations.go` (its 74
/// `Annotation*` constants), without the prefix; those read per secret NAME
/// or as an open family are followed by `-x`, as a Pod would write them.
const INJECTOR_KEYS: [&str; 76] = [
    "agent-auto-auth-exit-on-err",
    "agent-cache-enable",
    "agent-cache-exit-on-err",
    "agent-cache-listener-port",
    "agent-cache-use-auto-auth-token",
    "agent-configmap",
    "agent-copy-volume-mounts",
    "agent-disable-idle-connections",
    "agent-disable-keep-alives",
    "agent-enable-quit",
    "agent-extra-secret",
    "agent-image",
    "agent-init-first",
    "agent-init-json-patch",
    "agent-inject",
    "agent-inject-command-x",
    "agent-inject-containers",
    "agent-inject-default-template",
    "agent-inject-file-x",
    "agent-inject-perms-x",
    "agent-inject-secret-x",
    "agent-inject-status",
    "agent-inject-template-x",
    "agent-inject-template-file-x",
    "agent-inject-token",
    "agent-json-patch",
    "agent-limits-cpu",
    "agent-limits-ephemeral",
    "agent-limits-mem",
    "agent-pre-populate",
    "agent-pre-populate-only",
    "agent-request-namespace",
    "agent-requests-cpu",
    "agent-requests-ephemeral",
    "agent-requests-mem",
    "agent-revoke-grace",
    "agent-revoke-on-shutdown",
    "agent-run-as-group",
    "agent-run-as-same-user",
    "agent-run-as-user",
    "agent-service-account-token-volume-name",
    "agent-set-security-context",
    "agent-share-process-namespace",
    "agent-telemetry-x",
    "agent-template-left-delim-x",
    "agent-template-right-delim-x",
    "auth-config-x",
    "auth-max-backoff",
    "auth-min-backoff",
    "auth-path",
    "auth-type",
    "ca-cert",
    "ca-key",
    "client-cert",
    "client-key",
    "client-max-retries",
    "client-timeout",
    "error-on-missing-key-x",
    "go-max-procs",
    "log-format",
    "log-level",
    "namespace",
    "preserve-secret-case",
    "proxy-address",
    "role",
    "secret-volume-path",
    "service",
    "template-config-exit-on-retry-failure",
    "template-lease-renewal-threshold",
    "template-max-connections-per-host",
    "template-static-secret-render-interval",
    "tls-secret",
    "tls-server-name",
    "tls-skip-verify",
    // Read per NAME by the injector as well (`annotationsSecretValue`).
    "preserve-secret-case-x",
    "secret-volume-path-x",
];

#[test]
fn every_injector_key_has_an_answer() {
    for key in INJECTOR_KEYS {
        assert!(catalog::lookup(key).is_some(), "{key} has no answer");
    }
    assert_eq!(
        catalog::KEYS.len(),
        INJECTOR_KEYS.len() + 1,
        "and auth-config-role"
    );
}

fn notice_kinds(plan: &Plan) -> Vec<(&str, &WarningKind)> {
    plan.notices
        .iter()
        .map(|n| (n.annotation.as_str(), &n.kind))
        .collect()
}

#[test]
fn served_keys_bring_no_warning_or_notice() {
    let plan = ok_db(&[
        ("agent-inject-file-db", "db.env"),
        ("agent-inject-perms-db", "0400"),
        ("agent-inject-token", "true"),
        ("agent-pre-populate-only", "true"),
        ("agent-inject-containers", "app"),
        ("agent-inject-status", "update"),
        ("agent-set-security-context", "true"),
        ("template-lease-renewal-threshold", "0.5"),
        ("auth-config-role", "ignored-as-role-is-set"),
        ("service", "https://vault.example:8200"),
    ]);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert!(plan.notices.is_empty(), "{:?}", plan.notices);
}

#[test]
fn agent_container_keys_are_ignored_with_a_notice_and_no_event() {
    let plan = ok_db(&[
        ("agent-image", "hashicorp/vault:1.15"),
        ("agent-limits-cpu", "500m"),
        ("agent-telemetry-prometheus_retention_time", "30s"),
        ("auth-config-token-path", "/var/run/token"),
        ("agent-cache-enable", "false"),
    ]);
    assert!(plan.warnings.is_empty(), "no Warning event at mount");
    assert_eq!(
        notice_kinds(&plan),
        [
            (
                "vault.hashicorp.com/agent-cache-enable",
                &WarningKind::AgentContainerOnly
            ),
            (
                "vault.hashicorp.com/agent-image",
                &WarningKind::AgentContainerOnly
            ),
            (
                "vault.hashicorp.com/agent-limits-cpu",
                &WarningKind::AgentContainerOnly
            ),
            (
                "vault.hashicorp.com/agent-telemetry-prometheus_retention_time",
                &WarningKind::AgentContainerOnly
            ),
            (
                "vault.hashicorp.com/auth-config-token-path",
                &WarningKind::AgentContainerOnly
            ),
        ]
    );
    assert!(
        plan.notices[1]
            .to_string()
            .starts_with("vault.hashicorp.com/agent-image is ignored: it only configures")
    );
}

#[test]
fn keys_not_served_that_the_pod_may_notice_get_a_notice_saying_why() {
    let plan = ok_db(&[
        ("agent-cache-enable", "true"),
        ("agent-enable-quit", "true"),
        ("agent-service-account-token-volume-name", "vault-token"),
    ]);
    let kinds = notice_kinds(&plan);
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert!(
        kinds
            .iter()
            .all(|(_, k)| matches!(k, WarningKind::NotServed { .. }))
    );
    assert!(plan.notices[0].to_string().contains("localhost"));
}

#[test]
fn keys_warned_about_at_mount_get_no_second_notice() {
    let plan = ok_db(&[
        ("ca-cert", "/vault/tls/ca.crt"),
        ("agent-inject-command-db", "kill -HUP 1"),
        ("tls-skip-verify", "false"),
    ]);
    assert_eq!(plan.warnings.len(), 2, "{:?}", plan.warnings);
    assert!(plan.notices.is_empty(), "{:?}", plan.notices);
}

#[test]
fn the_command_warning_says_what_to_use_instead() {
    let plan = ok_db(&[("agent-inject-command-db", "kill -HUP 1")]);
    let msg = plan.warnings[0].to_string();
    assert!(msg.contains("cannot run in the app container"), "{msg}");
    assert!(msg.contains(".vault-csi-version"), "{msg}");
    assert!(msg.contains("restart controller"), "{msg}");
    assert!(!msg.contains("kill"), "the command is not echoed: {msg}");
}

#[test]
fn unknown_keys_under_either_prefix_are_named_in_a_notice() {
    let plan = ok_db(&[
        ("agent-inject-secrets-db", "kv/typo"),
        ("openbao.openbao.org/agent-imag", "x"),
        ("example.com/other", "not ours"),
    ]);
    assert_eq!(
        notice_kinds(&plan),
        [
            (
                "openbao.openbao.org/agent-imag",
                &WarningKind::UnknownAnnotation
            ),
            (
                "vault.hashicorp.com/agent-inject-secrets-db",
                &WarningKind::UnknownAnnotation
            ),
        ]
    );
}

#[test]
fn refused_values_fail_with_the_key_named() {
    for (key, value) in [
        ("auth-type", "approle"),
        ("agent-inject-default-template", "yaml"),
        ("agent-inject-perms-db", "0999"),
    ] {
        let e = err_db(&[(key, value)]);
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().starts_with(&full_key(key)), "{e}");
    }
}

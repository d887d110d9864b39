//! The injector's default templates rendered by a real OpenBao agent and by
//! the driver's renderer from the decoded HTTP response, compared byte for
//! byte over secrets with numbers, nulls, nesting, escapes and odd keys.

mod support;

use consul_funcs::{RequestKind, SecretRequest, Secrets, secret_from_response};
use gotemplate::{Options, Template, decode_json};
use support::agent::render_with_agent;
use support::{fixture, unique};
use vault_csi_driver::inject::DefaultFormat;

/// The driver's rendering of `text`, with `body` as the answer to `request`.
fn ours(text: &str, request: &SecretRequest, body: &str) -> String {
    let funcs = consul_funcs::standard();
    let options = Options::default();
    let template = Template::parse(text, &funcs, &options).expect("parses");
    let mut secrets = Secrets::new();
    let response = decode_json(body).expect("Vault answers JSON");
    secrets.insert(request.clone(), secret_from_response(&response));
    let outcome = consul_funcs::execute(&template, &funcs, &options, &secrets, &Default::default())
        .expect("renders");
    assert!(outcome.missing.is_empty());
    String::from_utf8(outcome.output).expect("UTF-8")
}

/// KV v1 secrets written as raw JSON, covering numbers, nulls, nesting,
/// escapes, key order and unpaired surrogates.
const KV1_SECRETS: &[(&str, &str)] = &[
    (
        "mixed",
        r#"{"nul": null, "nested": {"z": [1, "a", null, true], "a": {}, "b": []}, "t": true, "f": false, "empty": "", "sp": "a b"}"#,
    ),
    (
        "nums",
        r#"{"n": 1.50, "big": 12345678901234567890, "neg": -0, "e": 1E5, "e2": 1.5e-7, "z": 0}"#,
    ),
    (
        "esc",
        r#"{"html": "<a>&b", "ctl": "\u0000\u0001\b\f\n\r\t\u001f\u007f", "ls": "x\u2028y\u2029z", "q": "\"\\/", "uni": "h\u00e9llo \u2713 \ud83d\ude00"}"#,
    ),
    (
        "keys",
        r#"{"B": 1, "a": 2, "_": 3, "Z": 4, "<k>": 5, "\u00e4": 6, "": 7}"#,
    ),
    ("lone", r#"{"a": "\ud800x\udc00y\ud83dz"}"#),
];

const KV2_SECRET: &str = r#"{"data": {"username": "admin", "password": "p<a>&ss", "nul": null, "n": 1.50, "list": [1, null]}}"#;

/// Renders `path` both ways in both formats and compares.
async fn compare(name: &str, template_path: &str, api_path: &str) {
    let fx = fixture();
    let (status, body) = fx.bao.api_raw(None, "GET", api_path, None);
    assert_eq!(status, 200, "{name}: GET {api_path}");
    let templates = [
        ("map", DefaultFormat::Map.template(template_path)),
        ("json", DefaultFormat::Json.template(template_path)),
    ];
    compare_rendered(name, &SecretRequest::read(template_path), &body, &templates).await;
}

async fn compare_rendered(
    name: &str,
    request: &SecretRequest,
    body: &str,
    templates: &[(&str, String); 2],
) {
    let fx = fixture();
    let pairs: Vec<(&str, &str)> = templates.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let agent = render_with_agent(&fx.bao.addr(), fx.bao.root_token(), &pairs)
        .await
        .expect("agent renders");
    for (file, text) in templates {
        assert_eq!(
            ours(text, request, body),
            String::from_utf8_lossy(&agent[*file]),
            "{name}: {file}"
        );
    }
}

#[tokio::test]
async fn kv1_values_render_like_the_agent() {
    let fx = fixture();
    let mount = unique("kv1");
    fx.bao.enable_kv(&mount, 1);
    for (name, raw) in KV1_SECRETS {
        let path = format!("{mount}/{name}");
        let (status, _) = fx.bao.api_raw(None, "PUT", &path, Some(raw));
        assert_eq!(status, 204, "writing {path}");
        compare(name, &path, &path).await;
    }
}

#[tokio::test]
async fn kv2_values_render_like_the_agent() {
    let fx = fixture();
    let mount = unique("kv2");
    fx.bao.enable_kv(&mount, 2);
    let (status, _) = fx
        .bao
        .api_raw(None, "PUT", &format!("{mount}/data/v2"), Some(KV2_SECRET));
    assert_eq!(status, 200);
    compare("kv2", &format!("{mount}/v2"), &format!("{mount}/data/v2")).await;
}

#[tokio::test]
async fn a_response_with_null_data_renders_like_the_agent() {
    // A write such as `sys/leases/tidy` answers with `"data": null`.
    let fx = fixture();
    let (status, body) = fx
        .bao
        .api_raw(None, "PUT", "sys/leases/tidy", Some(r#"{"x":"y"}"#));
    assert!((200..300).contains(&status), "HTTP {status}");
    let open = r#"{{ with secret "sys/leases/tidy" "x=y" }}"#;
    let templates = [
        (
            "map",
            format!(
                "{open}{{{{ range $k, $v := .Data }}}}{{{{ $k }}}}: {{{{ $v }}}}\n{{{{ end }}}}{{{{ end }}}}"
            ),
        ),
        (
            "json",
            format!("{open}{{{{ .Data | toJSON }}}}\n{{{{ end }}}}"),
        ),
    ];
    let request =
        SecretRequest::with_args(RequestKind::Write, "sys/leases/tidy", &["x=y".to_string()])
            .unwrap();
    compare_rendered("nil_data", &request, &body, &templates).await;
}

//! Template render throughput for typical Vault Agent templates: the two
//! default templates, an env file, a JSON config built with ranges, a YAML
//! config through `toYAML`, a printf-heavy properties file, and one built
//! with sprig helpers. Each is parsed once and executed against one KV v2
//! answer, as on every refresh.

use std::hint::black_box;

use consul_funcs::{SecretRequest, Secrets, execute, secret_from_response};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gotemplate::{Options, Template, decode_json};

const SECRET: &str = r#"{"request_id":"b1a1","lease_id":"","renewable":false,"lease_duration":0,
 "data":{"data":{"username":"app","password":"s3cr3t-p@ss<&>","host":"db.internal","port":"5432",
 "api-key":"k-1234567890","feature_flags":{"a":true,"b":false,"c":true},
 "replicas":["db-0","db-1","db-2"],"timeout":"30s","region":"eu-west-1","tier":"gold"},
 "metadata":{"created_time":"2026-11-28T12:25:01.836565268Z","custom_metadata":null,
 "deletion_time":"","destroyed":false,"version":3}},"wrap_info":null,"warnings":null,"auth":null}"#;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "default map",
        r#"{{ with secret "secret/app" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}
{{ end }}{{ end }}"#,
    ),
    (
        "default json",
        r#"{{ with secret "secret/app" }}{{ .Data | toJSON }}
{{ end }}"#,
    ),
    (
        "env file",
        r#"{{- with secret "secret/app" -}}
{{- range $k, $v := .Data.data }}
export {{ $k | toUpper | replaceAll "-" "_" }}="{{ $v }}"
{{- end }}
{{ end -}}"#,
    ),
    (
        "json config",
        r#"{{- with secret "secret/app" -}}
{
  "database": {"url": "postgres://{{ .Data.data.username }}:{{ .Data.data.password }}@{{ .Data.data.host }}:{{ .Data.data.port }}/app"},
  "replicas": [{{ range $i, $r := .Data.data.replicas }}{{ if $i }}, {{ end }}"{{ $r }}"{{ end }}],
  "flags": {{ .Data.data.feature_flags | toJSONPretty }},
  "apiKey": "{{ index .Data.data "api-key" }}"
}
{{ end -}}"#,
    ),
    (
        "yaml config",
        r#"{{ with secret "secret/app" }}{{ .Data.data | toYAML }}{{ end }}"#,
    ),
    (
        "printf properties",
        r#"{{- with secret "secret/app" -}}
{{ printf "%-20s = %s" "db.user" .Data.data.username }}
{{ printf "%-20s = %q" "db.password" .Data.data.password }}
{{ printf "%-20s = %s:%s" "db.address" .Data.data.host .Data.data.port }}
{{ printf "%-20s = %d" "db.replicas" (len .Data.data.replicas) }}
{{ printf "%-20s = %v" "flags" .Data.data.feature_flags }}
{{ end -}}"#,
    ),
    (
        "sprig helpers",
        r#"{{- with secret "secret/app" -}}
{{ $d := .Data.data -}}
user={{ $d.username | sprig_default "nobody" | sprig_upper | sprig_quote }}
replicas={{ $d.replicas | sprig_sortAlpha | sprig_join "," }} first={{ sprig_first $d.replicas }}
flags={{ sprig_keys $d.feature_flags | sprig_sortAlpha | sprig_toJson }}
config={{ sprig_dict "host" $d.host "port" $d.port "tier" $d.tier | sprig_toPrettyJson | sprig_nindent 2 }}
key={{ index $d "api-key" | sprig_sha256sum | sprig_trunc 16 }} timeout={{ $d.timeout | sprig_trimSuffix "s" | sprig_atoi | sprig_mul 1000 }}ms
{{ end -}}"#,
    ),
];

fn render_throughput(c: &mut Criterion) {
    let funcs = consul_funcs::standard();
    let options = Options::default();
    let mut secrets = Secrets::new();
    let response = decode_json(SECRET).expect("fixture is JSON");
    secrets.insert(
        SecretRequest::read("secret/app"),
        secret_from_response(&response),
    );
    let mut group = c.benchmark_group("render");
    for (name, text) in TEMPLATES {
        let template = Template::parse(text, &funcs, &options).expect("template parses");
        let env = Default::default();
        let output = execute(&template, &funcs, &options, &secrets, &env)
            .expect("renders")
            .output;
        group.throughput(Throughput::Bytes(output.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                execute(
                    black_box(&template),
                    &funcs,
                    &options,
                    black_box(&secrets),
                    &env,
                )
                .expect("renders")
            })
        });
    }
    group.finish();
    c.bench_function("parse json config", |b| {
        b.iter(|| Template::parse(black_box(TEMPLATES[3].1), &funcs, &options).expect("parses"))
    });
}

criterion_group!(benches, render_throughput);
criterion_main!(benches);

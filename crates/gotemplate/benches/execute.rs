//! Execution throughput of the engine alone (no host functions): data
//! given as dot, as Go's `Template.Execute(w, data)` takes it, through
//! ranges, conditionals, `printf` and nested templates.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gotemplate::{Funcs, Options, Template, decode_json};

const DATA: &str = r#"{"service":"billing","port":8443,"ratio":0.75,"debug":false,
 "replicas":["db-0","db-1","db-2"],"limits":{"cpu":"500m","memory":"256Mi"},
 "users":[{"name":"ann","admin":true},{"name":"bob","admin":false},{"name":"cy","admin":false}]}"#;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "range and printf",
        r#"{{ range $i, $u := .users }}{{ printf "%02d %-6s %t\n" $i $u.name $u.admin }}{{ end }}"#,
    ),
    (
        "conditionals",
        r#"{{ if and .port (gt (len .replicas) 1) (not .debug) }}prod {{ .service }}:{{ .port }}{{ else }}dev{{ end }}
{{ with .limits }}cpu={{ .cpu }} memory={{ .memory }}{{ end }}
"#,
    ),
    (
        "define and template",
        r#"{{ define "host" }}{{ . }}.internal{{ end }}{{ range .replicas }}{{ template "host" . }},{{ end }}"#,
    ),
    (
        "print values",
        r#"{{ . }} {{ printf "%v %q %.2f" .replicas .service .ratio }}"#,
    ),
];

fn execute(c: &mut Criterion) {
    let funcs: Funcs = Funcs::new();
    let options = Options::default();
    let data = decode_json(DATA).expect("fixture is JSON");
    let mut group = c.benchmark_group("engine");
    for (name, text) in TEMPLATES {
        let template = Template::parse(text, &funcs, &options).expect("template parses");
        let output = template
            .execute_with_dot(&funcs, &mut (), &options, data.clone())
            .expect("executes")
            .output;
        group.throughput(Throughput::Bytes(output.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                black_box(&template)
                    .execute_with_dot(&funcs, &mut (), &options, black_box(data.clone()))
                    .expect("executes")
            })
        });
    }
    group.finish();
    c.bench_function("engine parse", |b| {
        b.iter(|| Template::parse(black_box(TEMPLATES[0].1), &funcs, &options).expect("parses"))
    });
}

criterion_group!(benches, execute);
criterion_main!(benches);

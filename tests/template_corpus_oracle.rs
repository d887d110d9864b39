//! The differential corpus (`tests/corpus/*.corpus`): every template is
//! rendered by OpenBao's agent and by this engine against one seeded dev
//! server, and the bytes must be identical; a template the agent rejects
//! must be rejected here in the same phase with the same message (where
//! ours says `[redacted]`, the agent's may say anything). Templates that
//! render run in one agent, each rejected one in an agent of its own.
//! See `tests/corpus/README.md` for the file format and how PKI and
//! transit answers, which differ per call, are compared.

mod support;

use std::path::Path;

use serde_json::json;
use support::bao::BaoServer;
use support::oracle::{Case, Oracle, Pem, messages_match, seed_kv};

/// KV v2 secrets under `secret/`, written as raw JSON text.
const KV2: &[(&str, &str)] = &[
    (
        "app",
        r#"{"username":"admin","password":"p<a>&ss w\"ord","api-key":"k1","empty":"","port":5432,
           "ratio":1.50,"big":12345678901234567890,"exp":1E3,"neg":-3,"zero":0,"t":true,"f":false,
           "nul":null,"list":["a","b c",3,null,true,1.5],"strs":["x","y","z"],
           "nested":{"x":{"y":[1,2]},"k":"v","deep":{"a":{"b":"c"}}},"emptymap":{},"emptylist":[],
           "html":"<script>alert('x')&\"</script>","uni":"héllo ✓ 😀","ml":"line1\nline2\n",
           "csv":" a,b,,c ","kv":"a=1,b=2,c=3","b64":"aGVsbG8gd29ybGQ=","bin_b64":"/w==",
           "json":"{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null},\"n\":12345678901234567890,\"h\":\"<&>\"}",
           "yaml":"a: 1\nb:\n  - x\n  - 2\nc: {d: yes, e: ~}\n",
           "path/a":"1","path/b/c":"2","ws":"  padded\t\n","num_s":"42","float_s":"2.5",
           "bool_s":"true","nums":[3,1,2],"ctl":"tab\there\u0001bell\u007f\u2028",
           "users":[{"name":"ann","roles":["r1","r2"]},{"name":"bob","roles":[]}]}"#,
    ),
    (
        "db",
        r#"{"host":"db.local","port":"5432","user":"u1","pass":"s3cr3t"}"#,
    ),
    ("ref", r#"{"path":"secret/data/db"}"#),
    ("dir/one", r#"{"v":"1"}"#),
    ("dir/two", r#"{"v":"2"}"#),
];

/// KV v1 secrets under `kv1/`: numbers stay exactly as written.
const KV1: &[(&str, &str)] = &[
    (
        "cfg",
        r#"{"user":"bob","n":3,"f":1.50,"e":1E5,"s":"str","l":[1,"x"],"m":{"a":1},"neg":-0,
           "big":12345678901234567890,"frac":0.1,"u":18446744073709551615}"#,
    ),
    ("nulls", r#"{"a":null,"b":[null],"c":{"d":null}}"#),
];

/// The corpus files, in this order.
const FILES: &[&str] = &[
    "language",
    "numbers",
    "printf",
    "json",
    "yaml",
    "collections",
    "functions",
    "execute_template",
    "pki_transit",
    "realworld",
    "errors",
];

/// One case of a corpus file.
struct Entry {
    case: Case,
    /// Both sides must reject it.
    error: bool,
}

/// Reads a corpus file: cases start at lines `=== NAME [FLAG ...]`; a
/// case's text runs from the line after its header to the newline before
/// the next header (or the file's end).
fn read_corpus(file: &str, pem: &Pem) -> Vec<Entry> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(format!("{file}.corpus"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut entries = Vec::new();
    let mut current: Option<(String, Vec<String>, String)> = None;
    let mut finish = |current: Option<(String, Vec<String>, String)>| {
        let Some((name, flags, mut body)) = current else {
            return;
        };
        body.pop();
        entries.push(entry(file, &name, &flags, body, pem));
    };
    for line in text.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("=== ") {
            finish(current.take());
            let mut words = header.split_whitespace().map(str::to_string);
            let name = words.next().expect("case name");
            current = Some((name, words.collect(), String::new()));
        } else if let Some((_, _, body)) = &mut current {
            body.push_str(line);
        }
    }
    finish(current);
    entries
}

fn entry(file: &str, name: &str, flags: &[String], body: String, pem: &Pem) -> Entry {
    let mut case = Case::new(format!("{file}.{name}"), body);
    let mut error = false;
    for flag in flags {
        match flag.as_str() {
            "error" => error = true,
            "missingkey" => case.missing_key_error = true,
            "pem" => case.pem = Some(pem.clone()),
            "crlf" => case.text = case.text.replace('\n', "\r\n"),
            other => {
                let Some(delims) = other.strip_prefix("delims=") else {
                    panic!("{file}.{name}: unknown flag {other}");
                };
                let (left, right) = delims.split_once(',').expect("delims=L,R");
                case.delims = Some((left.to_string(), right.to_string()));
            }
        }
    }
    Entry { case, error }
}

fn seed(bao: &BaoServer) {
    seed_kv(bao, KV2, "kv1", KV1);
    bao.enable_pki("pki", "r", "example.com");
    bao.api(
        "POST",
        "sys/mounts/transit",
        Some(json!({"type": "transit"})),
    );
    bao.api("POST", "transit/keys/k", Some(json!({})));
    bao.api(
        "POST",
        "transit/keys/conv",
        Some(json!({"convergent_encryption": true, "derived": true})),
    );
    bao.api("POST", "transit/keys/ed", Some(json!({"type": "ed25519"})));
}

#[test]
fn the_corpus_renders_like_the_openbao_agent() {
    let oracle = Oracle::start(seed);
    let pem = Pem::issue(
        oracle.bao(),
        "pki/issue/r",
        json!({"common_name": "cert.example.com", "ttl": "48h"}),
    );
    let mut entries: Vec<Entry> = FILES.iter().flat_map(|f| read_corpus(f, &pem)).collect();
    entries.extend((1..=4).map(|seed| Entry {
        case: Case::new(
            format!("generated.printf_typed_{seed}"),
            printf_typed(seed, 80),
        ),
        error: false,
    }));
    let mut names = std::collections::BTreeSet::new();
    for e in &entries {
        assert!(
            names.insert(&e.case.name),
            "{}: duplicate name",
            e.case.name
        );
    }
    let only = std::env::var("CORPUS_ONLY").unwrap_or_default();
    let entries: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.case.name.contains(&only))
        .collect();
    let funcs = consul_funcs::standard();
    let (rejected, rendered): (Vec<&Entry>, Vec<&Entry>) =
        entries.iter().copied().partition(|e| e.error);

    let mut failures = Vec::new();
    let cases: Vec<Case> = rendered.iter().map(|e| e.case.clone()).collect();
    let run = oracle.run_agent(&cases);
    if !run.success && !cases.is_empty() {
        // Name the cases the agent refused, to fix the corpus.
        let refused: Vec<String> = oracle
            .run_each(&cases)
            .iter()
            .zip(&cases)
            .filter(|(r, _)| !r.success)
            .map(|(r, c)| format!("{}: {:?}", c.name, r.error()))
            .collect();
        panic!(
            "the agent failed on the corpus; refused:\n{}",
            refused.join("\n")
        );
    }
    for case in &cases {
        let want = &run.outputs[&case.name];
        match oracle.ours(&funcs, case) {
            Ok(got) if &got == want => {}
            Ok(got) => failures.push(format!(
                "{}: differs\n  agent: {:?}\n  ours:  {:?}",
                case.name,
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got)
            )),
            Err(e) => failures.push(format!(
                "{}: we failed: {e}\n  agent: {:?}",
                case.name,
                String::from_utf8_lossy(want)
            )),
        }
    }

    let cases: Vec<Case> = rejected.iter().map(|e| e.case.clone()).collect();
    for (case, run) in cases.iter().zip(oracle.run_each(&cases)) {
        if run.success {
            failures.push(format!(
                "{}: the agent rendered {:?}",
                case.name,
                String::from_utf8_lossy(&run.outputs[&case.name])
            ));
            continue;
        }
        let Some((phase, message)) = run.error() else {
            failures.push(format!("{}: no template error in:\n{}", case.name, run.log));
            continue;
        };
        match oracle.ours(&funcs, case) {
            Ok(out) => failures.push(format!(
                "{}: we rendered {:?}\n  agent: {phase}: {message}",
                case.name,
                String::from_utf8_lossy(&out)
            )),
            Err(ours) if ours.phase() != Some(phase) => failures.push(format!(
                "{}: agent fails at {phase}: {message}\n  ours: {ours}",
                case.name
            )),
            Err(ours) if !messages_match(&message, &ours.message) => failures.push(format!(
                "{}: message differs\n  agent: {message}\n  ours:  {}",
                case.name, ours.message
            )),
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}

/// `lines` random `printf` calls over the value types beyond JSON's:
/// complex numbers, `map[string]string`, `map[interface{}]interface{}`,
/// `int64`, `uint64`, with random flags, widths, precisions and verbs.
fn printf_typed(seed: u64, lines: usize) -> String {
    const FLAGS: &[&str] = &["", "-", "+", "#", " ", "0", "+0", "-#"];
    const WIDTHS: &[&str] = &["", "1", "6", "12"];
    const PRECISIONS: &[&str] = &["", ".0", ".2", ".5"];
    const VERBS: &[&str] = &[
        "v", "d", "s", "q", "x", "X", "o", "f", "e", "g", "G", "t", "b", "T", "+v", "#v",
    ];
    const ARGS: &[&str] = &[
        "1i",
        "-2.5+0.5i",
        "0i",
        "1e10-1e-10i",
        "(splitToMap \",\" \"=\" \"a=1,b=x y\")",
        "(parseYAML \"1: x\\ns: [1, y]\\n~: 2.5\\n\")",
        "(parseYAML \"- {on: 1}\\n- 2\\n\")",
        "(parseInt \"-5\")",
        "(parseUint \"18446744073709551615\")",
        "(parseFloat \"1e-7\")",
        "$d.list",
        "$d.nested",
        "$d.port",
        "(split \",\" \"p,q\")",
    ];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut out = String::from("{{ with secret \"secret/app\" }}{{ $d := .Data.data }}");
    for _ in 0..lines {
        let mut format = String::new();
        let mut args = Vec::new();
        for _ in 0..1 + next(3) {
            let verb = VERBS[next(VERBS.len())];
            let flag = if verb.len() > 1 {
                ""
            } else {
                FLAGS[next(FLAGS.len())]
            };
            format.push_str(&format!(
                "[%{flag}{}{}{verb}]",
                WIDTHS[next(WIDTHS.len())],
                PRECISIONS[next(PRECISIONS.len())]
            ));
            args.push(ARGS[next(ARGS.len())]);
        }
        out.push_str(&format!(
            "{{{{ printf \"{format}\" {} }}}}\n",
            args.join(" ")
        ));
        if next(4) == 0 {
            let (a, b) = (ARGS[next(ARGS.len())], ARGS[next(ARGS.len())]);
            out.push_str(&format!("{{{{ print {a} {b} }}}}|{{{{ println {a} }}}}"));
        }
    }
    out.push_str("{{ end }}");
    out
}

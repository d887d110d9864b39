//! Robustness: no input may panic the engine or exhaust the stack, and
//! hostile templates stop at a limit.

use crate::request::Secrets;
use crate::secret::secret_from_response;
use crate::test_support::{execute, render};
use gotemplate::ErrorKind;
use gotemplate::{Options, Template};
use gotemplate::{Value, decode_json};

const SEEDS: &[&str] = &[
    "{{ with secret \"secret/app\" }}export A=\"{{ .Data.data.a }}\"\n{{ end }}",
    "{{- range $k, $v := (secret \"x\").Data -}}\n{{ $k }}: {{ $v | printf \"%-5q\" }}{{ else }}none{{ end }}",
    "{{ define \"t\" }}{{ if . }}{{ len . }}{{ template \"t\" (slice . 1) }}{{ end }}{{ end }}{{ template \"t\" \"abc\" }}",
    "{{/* c */}}{{ $x := 1 }}{{ $x = 2 }}{{ if and $x (not 0) }}{{ eq $x 2 3 }}{{ else if lt 1 2 }}{{ end }}",
    "{{ block \"b\" . }}{{ index . \"k\" 0 }}{{ end }}{{ range 3 }}{{ break }}{{ continue }}{{ end }}",
    "{{ printf \"%[2]*.*f|%x|%#v|%!\" 1 2 3.5 \"s\" nil }}{{ html 'a' 0x1F 1e3 `raw` }}{{ js nil }}{{ urlquery }}",
    "{{ (secret \"a\" \"k=v\").Data.x.y }}{{ .A.B.C }}{{ $.X }}{{ nil }}{{ call .F 1 }}",
    "{{ define \"r\" }}{{ executeTemplate \"r\" . }}{{ end }}{{ executeTemplate \"r\" 1i }}{{ executeTemplate \"\" }}",
    "{{ $y := parseYAML \"1: a\\n~: b\\nx: {on: 1}\" }}{{ range $k, $v := $y }}{{ $k }}{{ end }}{{ toJSON $y }}{{ toYAML $y }}",
    "{{ $l := loop 3 }}{{ range $l }}{{ break }}{{ end }}{{ range $i, $e := $l }}{{ $i }}{{ end }}{{ len $l }}{{ toYAML $l }}{{ index $l 0 }}",
    "{{ $m := splitToMap \",\" \"=\" \"a=1\" }}{{ $m.b }}{{ index $m 1 }}{{ 1+2i | printf \"%8.2f\" }}{{ toJSON (base64Decode \"/w==\") }}",
];

/// A small deterministic generator (xorshift) for mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }
}

fn secrets() -> Secrets {
    let mut s = Secrets::new();
    let v = secret_from_response(
        &decode_json(r#"{"data":{"a":"x","k":[1,2],"data":{"a":1}}}"#).unwrap(),
    );
    for path in ["secret/app", "x", "a"] {
        s.insert(crate::request::SecretRequest::read(path), v.clone());
    }
    s
}

fn try_render(text: &str) {
    let funcs = crate::standard();
    let mut options = Options::default();
    options.limits.max_steps = 20_000;
    options.limits.max_output_bytes = 64 << 10;
    let Ok(template) = Template::parse(text, &funcs, &options) else {
        return;
    };
    let mut secrets = secrets();
    let _ = render(&template, &funcs, &options, &mut secrets, |_| {
        Ok::<_, String>(Value::Nil)
    });
}

#[test]
fn every_prefix_of_the_seeds_is_handled() {
    for seed in SEEDS {
        for (i, _) in seed.char_indices() {
            try_render(&seed[..i]);
        }
    }
}

#[test]
fn random_mutations_are_handled() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        "(",
        ")",
        "|",
        "$",
        "$x",
        ".",
        ".A",
        "\"",
        "`",
        "'",
        "1",
        "-1",
        "0x",
        "if",
        "else",
        "end",
        "range",
        "with",
        "define",
        "template",
        "block",
        "break",
        "continue",
        "nil",
        ":=",
        "=",
        ",",
        "/*",
        "*/",
        "\n",
        "é",
        "\u{0}",
        "printf",
        "index",
        "slice",
        "len",
        "eq",
        "and",
        "or",
        "secret",
        "\"secret/app\"",
        "%",
        "%v",
        "%!",
        "9999999999999999999999",
        "1e400",
        "'\\x'",
        "\\",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..3000 {
        let seed = SEEDS[round % SEEDS.len()];
        let mut text: Vec<&str> = Vec::new();
        let mut rest = seed;
        // Split the seed into a few chunks and splice random pieces in.
        while !rest.is_empty() {
            let mut cut = rng.below(rest.len() + 1).max(1);
            while !rest.is_char_boundary(cut) {
                cut += 1;
            }
            text.push(&rest[..cut]);
            rest = &rest[cut..];
            if rng.below(3) == 0 {
                text.push(PIECES[rng.below(PIECES.len())]);
            }
        }
        if rng.below(4) == 0 && !text.is_empty() {
            let i = rng.below(text.len());
            text.remove(i);
        }
        try_render(&text.concat());
    }
}

/// Runs `f` on a thread with the stack a tokio worker gets (2 MiB), so a
/// stack overflow shows up as a failed test.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic or overflow");
}

#[test]
fn deep_parentheses_fail_cleanly() {
    on_small_stack(|| {
        let text = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
        let e = Template::parse(&text, &crate::standard(), &Options::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Parse);
    });
}

#[test]
fn deep_control_nesting_fails_cleanly() {
    on_small_stack(|| {
        let text = format!("{}{}", "{{ if 1 }}".repeat(5000), "{{ end }}".repeat(5000));
        let e = Template::parse(&text, &crate::standard(), &Options::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Parse);
    });
}

#[test]
fn nesting_allowed_by_the_parser_runs_on_a_small_stack() {
    on_small_stack(|| {
        // Each call nests 90 bodies and, at the bottom, the deepest
        // pipeline the parser allows.
        let body = format!(
            "{}{{{{ {}1{} }}}}{{{{ template \"r\" . }}}}{}",
            "{{ with 1 }}{{ range 1 }}".repeat(45),
            "(".repeat(99),
            ")".repeat(99),
            "{{ end }}{{ end }}".repeat(45)
        );
        let text = format!("{{{{ define \"r\" }}}}{body}{{{{ end }}}}{{{{ template \"r\" }}}}");
        let funcs = crate::standard();
        let t = Template::parse(&text, &funcs, &Options::default()).unwrap();
        let e = execute(&t, &funcs, &Secrets::new(), &Options::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit);
    });
}

#[test]
fn deep_parentheses_within_the_limit_run_on_a_small_stack() {
    on_small_stack(|| {
        let text = format!("{{{{ {}1{} }}}}", "(".repeat(99), ")".repeat(99));
        let funcs = crate::standard();
        let t = Template::parse(&text, &funcs, &Options::default()).unwrap();
        let out = execute(&t, &funcs, &Secrets::new(), &Options::default()).unwrap();
        assert_eq!(out.output, b"1");
    });
}

#[test]
fn unbounded_recursion_stops_at_the_depth_limit() {
    on_small_stack(|| {
        let text = "{{ define \"r\" }}x{{ template \"r\" }}{{ end }}{{ template \"r\" }}";
        let funcs = crate::standard();
        let t = Template::parse(text, &funcs, &Options::default()).unwrap();
        let e = execute(&t, &funcs, &Secrets::new(), &Options::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit);
    });
}

#[test]
fn quadratic_output_stops_at_the_output_limit() {
    let text = "{{ define \"d\" }}{{ . }}{{ . }}{{ end }}{{ range 100000 }}{{ template \"d\" \"0123456789abcdef\" }}{{ end }}";
    let funcs = crate::standard();
    let mut options = Options::default();
    options.limits.max_output_bytes = 1 << 20;
    let t = Template::parse(text, &funcs, &options).unwrap();
    let e = execute(&t, &funcs, &Secrets::new(), &options).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
}

#[test]
fn copying_big_values_is_charged() {
    let big: Vec<String> = (0..2000).map(|i| format!("\"k{i}\":{i}")).collect();
    let body = format!("{{\"data\":{{{}}}}}", big.join(","));
    let mut secrets = Secrets::new();
    secrets.insert(
        crate::request::SecretRequest::read("big"),
        secret_from_response(&decode_json(&body).unwrap()),
    );
    let funcs = crate::standard();
    let mut options = Options::default();
    options.limits.max_steps = 1_000_000;
    let t = Template::parse(
        "{{ range 100000 }}{{ $x := secret \"big\" }}{{ end }}",
        &funcs,
        &options,
    )
    .unwrap();
    let e = execute(&t, &funcs, &secrets, &options).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
}

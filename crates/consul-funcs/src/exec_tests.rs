//! Execution tests; expected outputs and messages are what OpenBao 2.7.2's
//! agent produced for the same templates and data.

use crate::funcs::PodEnv;
use crate::funcs::{Func, FuncError, Funcs, Param};
use crate::request::{SecretRequest, Secrets};
use crate::secret::secret_from_response;
use crate::test_support::{execute, render, render_in};
use gotemplate::ErrorKind;
use gotemplate::{Options, Template};
use gotemplate::{Value, decode_json};

const APP: &str = r#"{"request_id":"rid-1","lease_id":"","lease_duration":0,"renewable":false,
 "data":{"data":{"username":"admin","password":"p<a>&ss","api-key":"k1","empty":"","port":5432,
 "ratio":1.5,"neg":-3,"t":true,"f":false,"nul":null,"list":["a","b c",3,null,true],
 "nested":{"x":{"y":[1,2]},"k":"v"},"emptymap":{},"emptylist":[],"ml":"line1\nline2\n","Upper":"U"},
 "metadata":{"version":1}},"warnings":null,"auth":null,"wrap_info":null}"#;

const CFG: &str = r#"{"request_id":"rid-2","lease_id":"","lease_duration":2764800,"renewable":false,
 "data":{"user":"bob","n":3,"f":1.50,"e":1E5,"s":"str","l":[1,"x"],"m":{"a":1}},"warnings":null}"#;

fn funcs() -> Funcs {
    let mut funcs = crate::standard();
    funcs.insert(
        "toUpper",
        Func::new(&[Param::String], |_, args| match &args[0] {
            Value::String(s) => Ok(Value::String(s.to_uppercase())),
            _ => Err(FuncError::new("not a string")),
        }),
    );
    funcs
}

fn secrets() -> Secrets {
    let mut s = Secrets::new();
    for (path, body) in [("secret/app", APP), ("kv1/cfg", CFG)] {
        let v = secret_from_response(&decode_json(body).unwrap());
        s.insert(SecretRequest::read(path), v);
    }
    s
}

fn run_with(text: &str, options: &Options) -> Result<String, (ErrorKind, String)> {
    run_in(text, options, &PodEnv::new())
}

fn run_in(text: &str, options: &Options, env: &PodEnv) -> Result<String, (ErrorKind, String)> {
    let funcs = funcs();
    let t = Template::parse(text, &funcs, options).map_err(|e| (e.kind(), e.to_string()))?;
    let mut s = secrets();
    render_in(&t, &funcs, options, env, &mut s, |r| {
        Err(format!("unexpected fetch of {}", r.path))
    })
    .map(|r| as_text(r.output))
    .map_err(|e| match e {
        crate::RenderError::Template { error: t, .. } => (t.kind(), t.to_string()),
        other => (ErrorKind::Exec, other.to_string()),
    })
}

/// Output bytes as text (tests render text).
fn as_text(output: Vec<u8>) -> String {
    String::from_utf8(output).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn run(text: &str) -> String {
    run_with(text, &Options::default()).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

fn err(text: &str) -> String {
    match run_with(text, &Options::default()) {
        Ok(out) => panic!("{text}: expected an error, got {out:?}"),
        Err((_, msg)) => msg,
    }
}

fn with_app(body: &str) -> String {
    run(&format!(
        "{{{{ with secret \"secret/app\" }}}}{body}{{{{ end }}}}"
    ))
}

#[test]
fn text_only_passes_through() {
    assert_eq!(run("plain\ntext\n"), "plain\ntext\n");
}

#[test]
fn env_file_shape() {
    assert_eq!(
        run(
            "{{ with secret \"secret/app\" }}export USER=\"{{ .Data.data.username }}\"\nexport KEY=\"{{ index .Data.data \"api-key\" }}\"\n{{ end }}"
        ),
        "export USER=\"admin\"\nexport KEY=\"k1\"\n"
    );
}

#[test]
fn secret_prints_as_struct_without_ampersand() {
    assert_eq!(
        run("{{ with secret \"kv1/cfg\" }}{{ . }}{{ end }}"),
        "{rid-2  2764800 false map[e:1E5 f:1.50 l:[1 x] m:map[a:1] n:3 s:str user:bob] [] <nil> <nil>}"
    );
}

#[test]
fn secret_printf_v_has_ampersand_and_type() {
    assert_eq!(
        run(
            "{{ with secret \"kv1/cfg\" }}{{ printf \"%T\" . }} {{ printf \"%v\" .Warnings }}{{ end }}"
        ),
        "*dependency.Secret []"
    );
}

#[test]
fn secret_fields() {
    assert_eq!(
        with_app(
            "{{ .Data.data.port }} {{ .LeaseDuration }} {{ .Renewable }} {{ .LeaseID }}|{{ .RequestID }}|{{ .Warnings }}|{{ .Auth }}|{{ .WrapInfo }}"
        ),
        "5432 0 false |rid-1|[]|<nil>|<nil>"
    );
}

#[test]
fn missing_and_null_keys_print_no_value() {
    assert_eq!(
        with_app(
            "{{ .Data.data.missing }}|{{ .Data.data.nul }}|{{ print .Data.data.missing }}|{{ html .Data.data.missing }}"
        ),
        "<no value>|<no value>|<nil>|&lt;no value&gt;"
    );
}

#[test]
fn json_number_printf_forms() {
    assert_eq!(
        with_app(
            "{{ .Data.data.port }}|{{ printf \"%d\" .Data.data.port }}|{{ printf \"%s %v %q %x\" .Data.data.port .Data.data.port .Data.data.port .Data.data.port }}|{{ printf \"%T\" .Data.data.port }}"
        ),
        "5432|%!d(json.Number=5432)|5432 5432 \"5432\" 35343332|json.Number"
    );
}

#[test]
fn kv1_numbers_and_print_spacing() {
    assert_eq!(
        run(
            "{{ with secret \"kv1/cfg\" }}{{ printf \"%d|%s|%v|%T|%5.2f\" .Data.n .Data.n .Data.f .Data.f .Data.f }}|{{ eq .Data.n \"3\" }}|{{ print .Data.n .Data.n 1 2 \"x\" 3 }}{{ end }}"
        ),
        "%!d(json.Number=3)|3|1.50|json.Number|%!f(json.Number=   1.)|true|331 2x3"
    );
}

#[test]
fn literal_printf_forms() {
    assert_eq!(
        run(
            "{{ printf \"%v %v %v %v\" 1.5 1e6 0x10 'a' }}|{{ printf \"%T %T %T %T %T\" 1 1.0 \"s\" true nil }}|{{ printf \"%s %d\" }}|{{ printf \"%d\" 1 2 }}|{{ printf \"%!\" }}|{{ printf \"%z\" 3 }}"
        ),
        "1.5 1e+06 16 97|int float64 string bool <nil>|%!s(MISSING) %!d(MISSING)|1%!(EXTRA int=2)|%!!(MISSING)|%!z(int=3)"
    );
}

#[test]
fn range_over_int() {
    assert_eq!(
        run(
            "{{ range 3 }}{{ . }},{{ end }}|{{ range $e := 2 }}{{ $e }}{{ end }}|{{ range -1 }}x{{ else }}neg{{ end }}|{{ range 0 }}{{ else }}zero{{ end }}"
        ),
        "0,1,2,|01|neg|zero"
    );
}

#[test]
fn range_over_int_with_two_variables_fails() {
    assert_eq!(
        err("{{ range $i, $e := 3 }}{{ end }}"),
        "template: :1:19: executing \"\" at <3>: can't use [redacted] to iterate over more than one variable"
    );
}

#[test]
fn range_map_in_key_order_with_variables() {
    assert_eq!(
        with_app("{{ range $k, $v := .Data.data.nested }}{{ $k }}={{ $v }};{{ end }}"),
        "k=v;x=map[y:[1 2]];"
    );
}

#[test]
fn range_list_with_index_and_else() {
    assert_eq!(
        with_app(
            "{{ range $i, $e := .Data.data.list }}{{ $i }}:{{ $e }} {{ end }}{{ range .Data.data.emptylist }}x{{ else }}empty{{ end }}"
        ),
        "0:a 1:b c 2:3 3:<no value> 4:true empty"
    );
}

#[test]
fn break_and_continue() {
    assert_eq!(
        run(
            "{{ range 10 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}"
        ),
        "013"
    );
}

#[test]
fn trim_markers() {
    assert_eq!(run("a  \n {{- 1 -}} \n  b"), "a1b");
    assert_eq!(run("a {{- /* comment */ -}} b"), "ab");
    assert_eq!(run("{{- 1 }} x {{ 2 -}}\n"), "1 x 2");
}

#[test]
fn variables_assign_and_scope() {
    assert_eq!(
        run("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ $y }}{{ end }}{{ $x }}"),
        "32"
    );
}

#[test]
fn define_template_and_block() {
    assert_eq!(
        run(
            "{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" 5 }}{{ block \"b\" \"x\" }}<{{ . }}>{{ end }}"
        ),
        "[5]<x>"
    );
}

#[test]
fn template_invocation_has_no_caller_variables() {
    assert!(
        Template::parse(
            "{{ define \"t\" }}{{ $x }}{{ end }}{{ $x := 1 }}",
            &funcs(),
            &Options::default()
        )
        .is_err()
    );
}

#[test]
fn undefined_template_fails_at_run_time() {
    assert_eq!(
        err("{{ template \"nope\" }}"),
        "template: :1:12: executing \"\" at <{{template \"nope\"}}>: template \"nope\" not defined"
    );
}

#[test]
fn recursion_depth_is_limited() {
    let e = run_with(
        "{{ define \"r\" }}{{ template \"r\" }}{{ end }}{{ template \"r\" }}",
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(e.0, ErrorKind::Limit);
    assert!(
        e.1.contains("exceeded maximum template depth (100)"),
        "{}",
        e.1
    );
}

#[test]
fn chained_field_on_pipeline() {
    assert_eq!(
        run("{{ (secret \"secret/app\").Data.data.username }}"),
        "admin"
    );
}

#[test]
fn and_or_short_circuit_and_return_operands() {
    assert_eq!(
        run("{{ and 1 0 2 }}|{{ or 0 \"\" \"x\" }}|{{ and 1 2 }}|{{ or 0 nil }}"),
        "0|x|2|<no value>"
    );
    assert_eq!(run("{{ or 1 (index nil 0) }}"), "1");
}

#[test]
fn not_and_truthiness() {
    assert_eq!(
        with_app(
            "{{ not .Data.data.empty }} {{ not .Data.data.emptymap }} {{ not .Data.data.list }} {{ if .Data.data.nul }}y{{ else }}n{{ end }}"
        ),
        "true true false n"
    );
}

#[test]
fn comparisons() {
    assert_eq!(
        run(
            "{{ eq 1 1 }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }} {{ eq \"a\" \"b\" \"a\" }}"
        ),
        "true true true true true false true"
    );
}

#[test]
fn comparison_type_errors() {
    assert_eq!(
        err("{{ eq 1 1.0 }}"),
        "template: :1:3: executing \"\" at <eq 1 1.0>: error calling eq: incompatible types for comparison: int and float64"
    );
    assert_eq!(
        err("{{ lt true false }}"),
        "template: :1:3: executing \"\" at <lt true false>: error calling lt: invalid type for comparison"
    );
}

#[test]
fn len_index_slice() {
    assert_eq!(
        with_app(
            "{{ len .Data.data.list }} {{ len .Data.data.username }} {{ index .Data.data.list 1 }} {{ slice .Data.data.username 1 3 }} {{ slice .Data.data.list 3 }}"
        ),
        "5 5 b c dm [<nil> true]"
    );
}

#[test]
fn html_js_urlquery() {
    assert_eq!(
        with_app(
            "{{ html .Data.data.password }}|{{ js .Data.data.password }}|{{ urlquery .Data.data.password }}|{{ .Data.data.password | html }}"
        ),
        "p&lt;a&gt;&amp;ss|p\\u003Ca\\u003E\\u0026ss|p%3Ca%3E%26ss|p&lt;a&gt;&amp;ss"
    );
}

#[test]
fn pipeline_value_is_last_argument() {
    assert_eq!(run("{{ \"%s-%s\" | printf \"%s/%s\" \"a\" }}"), "a/%s-%s");
}

#[test]
fn wrong_type_for_typed_parameter() {
    assert_eq!(
        run_with(
            "{{ with secret \"kv1/cfg\" }}{{ .Data.n | toUpper }}{{ end }}",
            &Options::default()
        )
        .unwrap_err()
        .1,
        "template: :1:40: executing \"\" at <toUpper>: wrong type for value; expected string; got json.Number"
    );
}

#[test]
fn nil_argument_to_typed_parameter() {
    assert_eq!(
        err("{{ with secret \"secret/app\" }}{{ toUpper .Data.data.nul }}{{ end }}"),
        "template: :1:46: executing \"\" at <.Data.data.nul>: wrong type for value; expected string; got interface {}"
    );
    assert_eq!(
        err("{{ with secret \"secret/app\" }}{{ .Data.data.nul | toUpper }}{{ end }}"),
        "template: :1:50: executing \"\" at <toUpper>: invalid value; expected string"
    );
}

#[test]
fn field_errors_match_go() {
    assert_eq!(
        err("{{ with secret \"secret/app\" }}{{ .data }}{{ end }}"),
        "template: :1:33: executing \"\" at <.data>: can't evaluate field data in type *dependency.Secret"
    );
    assert_eq!(
        err("{{ with secret \"secret/app\" }}{{ .Data.data.missing.x }}{{ end }}"),
        "template: :1:38: executing \"\" at <.Data.data.missing.x>: nil pointer evaluating interface {}.x"
    );
    assert_eq!(
        err("{{ with secret \"secret/app\" }}{{ .Data.data.port.x }}{{ end }}"),
        "template: :1:38: executing \"\" at <.Data.data.port.x>: can't evaluate field x in type interface {}"
    );
    assert_eq!(
        err("{{ with secret \"secret/app\" }}{{ .Auth.ClientToken }}{{ end }}"),
        "template: :1:38: executing \"\" at <.Auth.ClientToken>: nil pointer evaluating *dependency.SecretAuth.ClientToken"
    );
    assert_eq!(
        err(
            "{{ with secret \"secret/app\" }}{{ range .Data.data.list }}{{ .foo }}{{ end }}{{ end }}"
        ),
        "template: :1:60: executing \"\" at <.foo>: can't evaluate field foo in type interface {}"
    );
    assert_eq!(
        err("{{ with secret \"secret/app\" }}{{ $p := .Data.data.port }}{{ $p.x }}{{ end }}"),
        "template: :1:62: executing \"\" at <$p.x>: can't evaluate field x in type json.Number"
    );
    assert_eq!(
        err("{{ with secret \"secret/app\" }}{{ range .Data.data.port }}{{ end }}{{ end }}"),
        "template: :1:44: executing \"\" at <.Data.data.port>: range can't iterate over [redacted]"
    );
}

#[test]
fn error_in_discovery_round_is_fatal() {
    let funcs = funcs();
    let options = Options::default();
    let t = Template::parse(
        "{{ (secret \"secret/app\").Data.data.username | toUpper }}",
        &funcs,
        &options,
    )
    .unwrap();
    let mut fetched = 0;
    let e = render(&t, &funcs, &options, &mut Secrets::new(), |_| {
        fetched += 1;
        Ok::<_, String>(Value::Nil)
    })
    .unwrap_err();
    assert_eq!(fetched, 0);
    assert_eq!(
        e.to_string(),
        "template: :1:46: executing \"\" at <toUpper>: invalid value; expected string"
    );
}

#[test]
fn missing_key_error_mode() {
    let options = Options {
        missing_key_error: true,
        ..Options::default()
    };
    let e = run_with(
        "{{ with secret \"secret/app\" }}{{ .Data.data.nope }}{{ end }}",
        &options,
    )
    .unwrap_err();
    assert_eq!(
        e.1,
        "template: :1:38: executing \"\" at <.Data.data.nope>: map has no entry for key \"nope\""
    );
    let e = run_with("{{ .Foo }}", &options).unwrap_err();
    assert_eq!(
        e.1,
        "template: :1:3: executing \"\" at <.Foo>: nil data; no entry for key \"Foo\""
    );
}

#[test]
fn json_number_methods() {
    assert_eq!(
        with_app(
            "{{ .Data.data.port.Int64 }} {{ printf \"%T\" .Data.data.ratio.Float64 }} {{ .Data.data.port.String }}"
        ),
        "5432 float64 5432"
    );
}

#[test]
fn dependency_discovery_reports_missing_requests() {
    let funcs = funcs();
    let options = Options::default();
    let t = Template::parse("{{ with secret \"a/b\" }}{{ .Data }}{{ end }}{{ secret \"pki/issue/r\" \"common_name=x\" }}", &funcs, &options).unwrap();
    let outcome = execute(&t, &funcs, &Secrets::new(), &options).unwrap();
    assert_eq!(outcome.missing.len(), 2);
    assert_eq!(outcome.missing[0], SecretRequest::read("a/b"));
    assert_eq!(outcome.missing[1].args, ["common_name=x"]);
}

#[test]
fn secrets_depending_on_secrets_take_rounds() {
    let funcs = funcs();
    let options = Options::default();
    let t = Template::parse(
        "{{ with secret \"ref\" }}{{ with secret .Data.path }}{{ .Data.v }}{{ end }}{{ end }}",
        &funcs,
        &options,
    )
    .unwrap();
    let mut secrets = Secrets::new();
    let r = render(&t, &funcs, &options, &mut secrets, |req| {
        let body = match req.path.as_str() {
            "ref" => r#"{"data":{"path":"target"}}"#,
            _ => r#"{"data":{"v":"found"}}"#,
        };
        Ok::<_, String>(secret_from_response(&decode_json(body).unwrap()))
    })
    .unwrap();
    assert_eq!((as_text(r.output).as_str(), r.rounds), ("found", 3));
}

#[test]
fn output_limit_is_enforced() {
    let mut options = Options::default();
    options.limits.max_output_bytes = 10;
    let e = run_with("{{ range 100 }}xx{{ end }}", &options).unwrap_err();
    assert_eq!(e.0, ErrorKind::Limit);
}

#[test]
fn iteration_limit_is_enforced() {
    let mut options = Options::default();
    options.limits.max_range_iterations = 5;
    let e = run_with("{{ range 6 }}{{ end }}", &options).unwrap_err();
    assert_eq!(e.0, ErrorKind::Limit);
    assert!(run_with("{{ range 5 }}{{ end }}", &options).is_ok());
}

#[test]
fn step_limit_is_enforced() {
    let mut options = Options::default();
    options.limits.max_steps = 1000;
    let e = run_with("{{ range 10000 }}{{ end }}", &options).unwrap_err();
    assert_eq!(e.0, ErrorKind::Limit);
}

#[test]
fn template_size_limit_is_enforced() {
    let mut options = Options::default();
    options.limits.max_template_bytes = 4;
    let e = run_with("hello", &options).unwrap_err();
    assert_eq!(e.0, ErrorKind::Limit);
}

#[test]
fn parse_errors_are_distinguishable() {
    let e = run_with("{{ nope }}", &Options::default()).unwrap_err();
    assert_eq!(
        e,
        (
            ErrorKind::Parse,
            "template: :1: function \"nope\" not defined".to_string()
        )
    );
}

#[test]
fn custom_delimiters() {
    let options = Options {
        left_delim: "[[".into(),
        right_delim: "]]".into(),
        ..Options::default()
    };
    assert_eq!(run_with("{{ x }} [[ 1 ]]", &options).unwrap(), "{{ x }} 1");
}

#[test]
fn errors_never_contain_secret_values() {
    for text in [
        "{{ with secret \"secret/app\" }}{{ range .Data.data.password }}{{ end }}{{ end }}",
        "{{ with secret \"secret/app\" }}{{ eq .Data.data.list .Data.data.list }}{{ end }}",
        "{{ with secret \"secret/app\" }}{{ .Data.data.password.Int64 }}{{ end }}",
        "{{ with secret \"secret/app\" }}{{ if .Data.data.password }}{{ template \"x\" }}{{ end }}{{ end }}",
    ] {
        let e = err(text);
        assert!(!e.contains("p<a>") && !e.contains("&ss"), "{text}: {e}");
    }
}

#[test]
fn nil_struct_pointer_fields() {
    let funcs = funcs();
    let options = Options::default();
    let mut secrets = Secrets::new();
    secrets.insert(
        SecretRequest::with_args(crate::request::RequestKind::Write, "w", &["a=b".into()]).unwrap(),
        super::secret::secret_without_content(),
    );
    let run = |text: &str| {
        let t = Template::parse(text, &funcs, &options).unwrap();
        execute(&t, &funcs, &secrets, &options)
            .map(|o| as_text(o.output))
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        run("{{ with secret \"w\" \"a=b\" }}x{{ else }}none{{ end }}|{{ secret \"w\" \"a=b\" }}"),
        Ok("none|<nil>".into())
    );
    assert!(
        run("{{ (secret \"w\" \"a=b\").Data }}")
            .unwrap_err()
            .ends_with("nil pointer evaluating *dependency.Secret.Data")
    );
    assert!(
        run("{{ (secret \"w\" \"a=b\").Nope }}")
            .unwrap_err()
            .ends_with("can't evaluate field Nope in type *dependency.Secret")
    );
}

#[test]
fn string_slices_are_their_own_type() {
    let mut funcs = funcs();
    funcs.insert(
        "split",
        Func::new(&[Param::String, Param::String], |_, args| {
            match (&args[0], &args[1]) {
                (Value::String(sep), Value::String(s)) => Ok(Value::Strings(
                    s.split(sep.as_str()).map(str::to_string).collect(),
                )),
                _ => Err(FuncError::new("bad args")),
            }
        }),
    );
    funcs.insert(
        "join",
        Func::new(&[Param::String, Param::Strings], |_, args| {
            match (&args[0], &args[1]) {
                (Value::String(sep), Value::Strings(items)) => Ok(Value::String(items.join(sep))),
                _ => Err(FuncError::new("bad args")),
            }
        }),
    );
    let options = Options::default();
    let run = |text: &str| {
        let t = Template::parse(text, &funcs, &options).unwrap();
        execute(&t, &funcs, &secrets(), &options)
            .map(|o| as_text(o.output))
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        run("{{ $s := split \",\" \"a,b,c\" }}{{ $s }} {{ printf \"%T %q %#v\" $s $s $s }} {{ index $s 1 }} {{ len $s }} {{ range $s }}<{{ . }}>{{ end }} {{ $s | join \"-\" }} {{ slice $s 1 }}"),
        Ok("[a b c] []string [\"a\" \"b\" \"c\"] []string{\"a\", \"b\", \"c\"} b 3 <a><b><c> a-b-c [b c]".into())
    );
    assert_eq!(
        run("{{ with secret \"secret/app\" }}{{ .Data.data.list | join \",\" }}{{ end }}")
            .unwrap_err(),
        "template: :1:56: executing \"\" at <\",\">: wrong type for value; expected []string; got []interface {}"
    );
}

#[test]
fn env_reads_the_pod_environment_only() {
    let options = Options::default();
    let env: PodEnv = [
        ("POD_NAME".to_string(), "web-0".to_string()),
        ("EMPTY".to_string(), String::new()),
    ]
    .into();
    assert_eq!(
        run_in("{{ env \"POD_NAME\" }}|{{ env \"PATH\" }}|{{ envOrDefault \"EMPTY\" \"d\" }}|{{ envOrDefault \"NOPE\" \"d\" }}", &options, &env).unwrap(),
        "web-0|||d"
    );
    assert!(
        run_in("{{ mustEnv \"EMPTY\" }}", &options, &env)
            .unwrap_err()
            .1
            .ends_with("required environment variable EMPTY is empty")
    );
}

#[test]
fn node_access_functions_are_refused_when_called() {
    let e = err("{{ file \"/etc/passwd\" }}");
    assert!(
        e.contains("error calling file: file: reading files on the node is not allowed"),
        "{e}"
    );
}

/// The injector's two default templates over one secret's `.Data`, through
/// the engine; fixtures are `data` objects as OpenBao 2.7.2 served them and
/// the expected strings what its agent rendered.
mod default_templates {
    use super::*;

    const MAP: &str =
        "{{ with secret \"s\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}";
    const JSON: &str = "{{ with secret \"s\" }}{{ .Data | toJSON }}\n{{ end }}";

    const MIXED: &str = r#"{"empty":"","f":false,"nested":{"a":{},"b":[],"z":[1,"a",null,true]},"nul":null,"sp":"a b","t":true}"#;
    const NUMBERS: &str =
        r#"{"big":12345678901234567890,"e":1E5,"e2":1.5e-7,"n":1.50,"neg":-0,"z":0}"#;
    const KEYS: &str = r#"{"":7,"\u003ck\u003e":5,"B":1,"Z":4,"_":3,"a":2,"ä":6}"#;
    const ESCAPES: &str = "{\"ctl\":\"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\u{7f}\",\"html\":\"\\u003ca\\u003e\\u0026b\",\"ls\":\"x\\u2028y\\u2029z\",\"q\":\"\\\"\\\\/\",\"sur\":\"😀\",\"uni\":\"héllo ✓ 😀\"}";

    fn render_data(text: &str, data: &str) -> String {
        let funcs = crate::standard();
        let options = Options::default();
        let t = Template::parse(text, &funcs, &options).unwrap();
        let mut secrets = Secrets::new();
        let body = format!("{{\"data\":{data}}}");
        render(&t, &funcs, &options, &mut secrets, |_| {
            Ok::<_, String>(secret_from_response(&decode_json(&body).unwrap()))
        })
        .map(|r| as_text(r.output))
        .unwrap()
    }

    #[test]
    fn map_prints_null_member_as_no_value() {
        assert_eq!(
            render_data(MAP, MIXED),
            "empty: \nf: false\nnested: map[a:map[] b:[] z:[1 a <nil> true]]\nnul: <no value>\nsp: a b\nt: true\n"
        );
    }

    #[test]
    fn map_prints_numbers_as_stored() {
        assert_eq!(
            render_data(MAP, NUMBERS),
            "big: 12345678901234567890\ne: 1E5\ne2: 1.5e-7\nn: 1.50\nneg: -0\nz: 0\n"
        );
    }

    #[test]
    fn map_orders_keys_bytewise() {
        assert_eq!(
            render_data(MAP, KEYS),
            ": 7\n<k>: 5\nB: 1\nZ: 4\n_: 3\na: 2\nä: 6\n"
        );
    }

    #[test]
    fn map_writes_strings_unescaped() {
        assert_eq!(
            render_data(MAP, ESCAPES),
            "ctl: \u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}\nhtml: <a>&b\nls: x\u{2028}y\u{2029}z\nq: \"\\/\nsur: 😀\nuni: héllo ✓ 😀\n"
        );
    }

    #[test]
    fn json_is_compact_marshal_plus_newline() {
        for data in [MIXED, NUMBERS, KEYS, ESCAPES] {
            assert_eq!(render_data(JSON, data), format!("{data}\n"));
        }
    }

    #[test]
    fn empty_or_null_data_renders_nothing_for_map_and_null_for_json() {
        for data in ["{}", "null"] {
            assert_eq!(render_data(MAP, data), "");
            assert_eq!(render_data(JSON, data), "null\n");
        }
    }
}

#[test]
fn list_answers_are_sorted_string_slices() {
    let funcs = funcs();
    let options = Options::default();
    let t = Template::parse(
        "{{ secrets \"kv\" }} {{ printf \"%T\" (secrets \"kv\") }} {{ secrets \"none\" | toJSON }}",
        &funcs,
        &options,
    )
    .unwrap();
    let mut secrets = Secrets::new();
    let r = render(&t, &funcs, &options, &mut secrets, |req| {
        Ok::<_, String>(match req.path.as_str() {
            "kv" => decode_json(r#"["b","a/"]"#).unwrap(),
            _ => Value::NilStrings,
        })
    })
    .unwrap();
    assert_eq!(as_text(r.output), "[a/ b] []string null");
}

#[test]
fn binary_strings_are_written_unchanged() {
    let funcs = funcs();
    let options = Options::default();
    let t = Template::parse(
        "{{ base64Decode \"+/8AAQ==\" }}|{{ $b := base64Decode \"+/8=\" }}{{ len $b }} {{ index $b 1 }} {{ eq $b $b }} {{ slice \"héllo\" 0 2 }}",
        &funcs,
        &options,
    )
    .unwrap();
    let out = execute(&t, &funcs, &Secrets::new(), &options)
        .unwrap()
        .output;
    assert_eq!(out, b"\xfb\xff\x00\x01|2 255 true h\xc3");
}

#[test]
fn binary_strings_cannot_be_formatted() {
    let e = err("{{ printf \"%s\" (base64Decode \"+/8=\") }}");
    assert!(
        e.ends_with("error calling printf: binary (non-UTF-8) data can only be written as is"),
        "{e}"
    );
    let e = err("{{ base64Decode \"+/8=\" | toUpper }}");
    assert!(e.contains("binary (non-UTF-8) data"), "{e}");
}

#[test]
fn scratch_methods_keep_values_for_the_execution() {
    let out = run(
        r#"{{ scratch.Set "a" "1" }}{{ scratch.SetX "a" "2" }}{{ scratch.Get "a" }}|{{ scratch.Key "a" }}|{{ scratch.MapSet "m" "k" "v" }}{{ scratch.MapValues "m" }}"#,
    );
    assert_eq!(out, "1|true|[v]");
}

#[test]
fn an_unknown_scratch_method_is_an_error() {
    let e = err(r#"{{ scratch.Nope "a" }}"#);
    assert!(e.contains("can't evaluate field Nope"), "{e}");
}

#[test]
fn execute_template_renders_a_define_with_optional_data() {
    assert_eq!(
        run(
            r#"{{ define "g" }}hi {{ . }}{{ end }}{{ executeTemplate "g" "you" }}|{{ executeTemplate "g" | len }}"#
        ),
        "hi you|13"
    );
}

#[test]
fn execute_template_refuses_more_than_one_data_argument() {
    let e = err(r#"{{ define "t" }}x{{ end }}{{ executeTemplate "t" 1 2 }}"#);
    assert!(
        e.ends_with("executeTemplate: wrong number of arguments, expected 1 or 2, but got 3"),
        "{e}"
    );
}

#[test]
fn split_to_map_gives_a_string_map() {
    assert_eq!(
        run(
            r#"{{ $m := splitToMap "," "=" "x=1,y" }}{{ printf "%T" $m }} [{{ $m.nope }}] {{ $m }}"#
        ),
        "map[string]string [] map[x:1]"
    );
}

#[test]
fn string_map_is_no_map_of_interfaces_argument() {
    let e = err(r#"{{ mergeMap (splitToMap "," "=" "a=1") (parseJSON "{}") }}"#);
    assert!(
        e.ends_with("expected map[string]interface {}; got map[string]string"),
        "{e}"
    );
}

#[test]
fn parse_yaml_maps_keep_typed_keys() {
    assert_eq!(
        run(
            r#"{{ $y := parseYAML "1: one\ntrue: yes\n2.5: f\nnull: n\ns: str\n" }}{{ $y }}|{{ printf "%T" $y }}"#
        ),
        "map[<nil>:false s:str 1:one 2.5:f true:true]|map[interface {}]interface {}"
    );
}

#[test]
fn parse_yaml_maps_encode_string_and_integer_keys_only() {
    assert_eq!(
        run(r#"{{ parseYAML "9: y\n10: x\na: 1\n" | toJSON }}"#),
        r#"{"10":"x","9":true,"a":1}"#
    );
    assert!(err(r#"{{ parseYAML "yes: 1\n" | toJSON }}"#).ends_with(
        "toJSON: json: unsupported value: jsontext: object member name must be a string after offset 2"
    ));
    // `y` is a boolean key in YAML 1.1.
    let e = err(r#"{{ parseYAML "x: {y: {true: 1}}\n" | toJSON }}"#);
    assert!(
        e.ends_with("must be a string within \"/x\" after offset 7"),
        "{e}"
    );
}

#[test]
fn parse_yaml_maps_print_as_yaml_in_yaml_v2_key_order() {
    assert_eq!(
        run(r#"{{ parseYAML "1: one\ntrue: t\ns: str\nnull: n\n" | toYAML }}"#),
        "true: t\n1: one\nnull: false\ns: str"
    );
}

#[test]
fn parse_yaml_maps_are_refused_by_to_toml_and_map_parameters() {
    assert!(
        err(r#"{{ toTOML (parseYAML "a: 1") }}"#)
            .ends_with("toTOML: toml: cannot encode a map with non-string key type")
    );
    assert!(
        err(r#"{{ explodeMap (parseYAML "a: 1") }}"#)
            .ends_with("got map[interface {}]interface {}")
    );
}

#[test]
fn to_toml_of_nil_fails_as_in_go() {
    assert!(
        err("{{ toTOML nil }}")
            .ends_with("error calling toTOML: reflect: call of reflect.Value.Type on zero Value")
    );
}

#[test]
fn parse_json_errors_use_go_s_words_without_the_input() {
    assert!(err(r#"{{ parseJSON "{" }}"#).ends_with("unexpected end of JSON input"));
    assert!(
        err(r#"{{ parseJSON "{} x" }}"#)
            .ends_with("invalid character [redacted] after top-level value")
    );
}

#[test]
fn regexp_errors_use_go_s_codes() {
    assert!(
        err(r#"{{ regexMatch "(" "x" }}"#)
            .ends_with("error parsing regexp: missing closing ): [redacted]")
    );
    assert!(
        err(r#"{{ regexMatch "[" "x" }}"#)
            .ends_with("error parsing regexp: missing closing ]: [redacted]")
    );
}

#[test]
fn secret_argument_without_equals_is_named_redacted() {
    assert!(
        err(r#"{{ secret "secret/x" "noequals" }}"#)
            .ends_with("error calling secret: not k=v pair [redacted]")
    );
}

#[test]
fn scratch_method_errors_point_at_the_method() {
    assert_eq!(
        err(r#"{{ scratch.Set "k" "v" }}{{ scratch.MapSet "k" "a" "b" }}"#),
        "template: :1:35: executing \"\" at <scratch.MapSet>: error calling MapSet: \"k\" is not a map"
    );
    assert!(
        err(r#"{{ scratch.Nope "k" }}"#)
            .ends_with("can't evaluate field Nope in type *template.Scratch")
    );
}

#[test]
fn binary_strings_are_hashed_and_encoded_as_bytes() {
    assert_eq!(
        run(
            r#"{{ $b := base64Decode "/w==" }}{{ base64Encode $b }} {{ md5sum $b }} {{ toJSON $b }}"#
        ),
        "/w== 00594fd4f42ba43fc1ca0427a0576295 \"\u{FFFD}\""
    );
}

#[test]
fn pki_cert_value_has_cert_key_ca_and_a_data_method() {
    let mut funcs = crate::standard();
    funcs.insert(
        "cert",
        Func::new(&[], |_, _| Ok(crate::pem_encoded("C\n", "K\n", "A\n"))),
    );
    let options = Options::default();
    let t = Template::parse(
        "{{ with cert }}{{ printf \"%T\" . }}|{{ .Data.Cert }}{{ .Key }}{{ .CA }}|{{ printf \"%q\" . }}{{ end }}",
        &funcs,
        &options,
    )
    .unwrap();
    let out = execute(&t, &funcs, &Secrets::new(), &options)
        .unwrap()
        .output;
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "dependency.PemEncoded|C\nK\nA\n|{\"C\\n\" \"K\\n\" \"A\\n\"}"
    );
    let t = Template::parse("{{ cert.CAChain }}", &funcs, &options).unwrap();
    let e = execute(&t, &funcs, &Secrets::new(), &options).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("can't evaluate field CAChain in type dependency.PemEncoded"),
        "{e}"
    );
}

#[test]
fn parse_yaml_of_a_large_mapping_stays_fast() {
    let doc: String = (0..50_000).map(|i| format!("k{i}: {i}\n")).collect();
    let started = std::time::Instant::now();
    let value = crate::yaml_parse::parse_yaml(&doc).unwrap();
    assert!(matches!(&value, Value::AnyMap(e) if e.len() == 50_000));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn loop_is_a_channel_that_ranges_drain_once() {
    assert_eq!(
        run(
            r#"{{ len (loop 3) }} {{ printf "%T" (loop 2) }} {{ if loop 0 }}t{{ end }}|{{ $l := loop 4 }}{{ range $l }}{{ . }}{{ if eq . 1 }}{{ break }}{{ end }}{{ end }}|{{ range $i, $e := $l }}{{ $i }}{{ $e }}{{ end }}|{{ range $l }}x{{ else }}drained{{ end }}"#
        ),
        "0 <-chan int64 t|01|0213|drained"
    );
}

#[test]
fn loop_channels_compare_by_identity_and_are_not_indexable() {
    assert_eq!(
        run("{{ $a := loop 1 }}{{ eq $a $a }} {{ eq $a (loop 1) }}"),
        "true false"
    );
    assert!(err("{{ index (loop 3) 0 }}").ends_with("can't index item of type <-chan int64"));
    assert!(err("{{ loop 2 | toJSON }}").ends_with("json: unsupported type: <-chan int64"));
}

#[test]
fn loop_makes_its_values_lazily() {
    assert_eq!(
        run("{{ range loop 5 100000000000 }}{{ . }}{{ if ge . 7 }}{{ break }}{{ end }}{{ end }}"),
        "567"
    );
}

#[test]
fn to_yaml_and_to_toml_refuse_complex_and_channels_like_go() {
    assert!(
        err("{{ toYAML 1i }}").ends_with("error calling toYAML: cannot marshal type: complex128")
    );
    assert!(err("{{ toYAML (loop 1) }}").ends_with("cannot marshal type: <-chan int64"));
    assert!(err("{{ toTOML (loop 1) }}").ends_with("toTOML: unsupported type for key '': chan"));
    assert!(
        err(r#"{{ scratch.MapSet "t" "x" 1i }}{{ toTOML (scratch.Get "t") }}"#)
            .ends_with("toTOML: unsupported type: complex128")
    );
}

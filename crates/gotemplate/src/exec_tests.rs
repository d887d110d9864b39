//! Execution rules of the engine alone; expected texts are what OpenBao
//! 2.7.2's agent printed for the same templates.

use std::collections::BTreeMap;

use crate::{Func, FuncError, Funcs, GoStruct, Options, Param, Template, Value};

fn funcs() -> Funcs {
    let mut funcs = Funcs::new();
    funcs.insert(
        "run",
        Func::variadic(&[Param::String], Param::Any, |ctx, args| {
            let Value::String(name) = &args[0] else {
                return Err(FuncError::new("name"));
            };
            let dot = args.get(1).cloned().unwrap_or(Value::Nil);
            ctx.execute_template(name, dot).map(Value::from_bytes)
        }),
    );
    funcs.insert(
        "pairs",
        Func::new(&[], |_, _| {
            Ok(Value::StringMap(BTreeMap::from([
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "2".to_string()),
            ])))
        }),
    );
    funcs.insert(
        "mixed",
        Func::new(&[], |_, _| {
            Ok(Value::any_map(vec![
                (Value::Bool(true), Value::String("b".into())),
                (Value::Int(2), Value::String("two".into())),
                (Value::String("s".into()), Value::Int(1)),
                (Value::Nil, Value::Bool(false)),
                (Value::Uint(u64::MAX), Value::String("u".into())),
                (Value::Float(0.5), Value::String("half".into())),
            ]))
        }),
    );
    funcs.insert(
        "bin",
        Func::new(&[], |_, _| Ok(Value::Bytes(vec![0xff, b'a']))),
    );
    funcs.insert(
        "size",
        Func::new(&[Param::String], |_, args| match &args[0] {
            Value::Bytes(b) => Ok(Value::Int(b.len() as i64)),
            _ => Ok(Value::Int(-1)),
        })
        .binary(),
    );
    funcs.insert("strict", Func::new(&[Param::String], |_, _| Ok(Value::Nil)));
    funcs.insert(
        "pem",
        Func::new(&[], |_, _| {
            Ok(Value::Struct(Box::new(GoStruct::value(
                "dependency.PemEncoded",
                vec![("Cert".into(), Value::String("C".into()))],
            ))))
        }),
    );
    funcs.insert_method(
        "dependency.PemEncoded",
        "Data",
        Func::new(&[], |ctx, _| {
            Ok(ctx.receiver().cloned().unwrap_or(Value::Nil))
        }),
    );
    funcs.insert_method(
        "dependency.PemEncoded",
        "Fail",
        Func::new(&[], |_, _| Err(FuncError::new("no"))),
    );
    funcs
}

fn run_with(text: &str, options: &Options) -> Result<String, String> {
    let funcs = funcs();
    let t = Template::parse(text, &funcs, options).map_err(|e| e.to_string())?;
    t.execute(&funcs, &mut (), options)
        .map(|o| String::from_utf8_lossy(&o.output).into_owned())
        .map_err(|e| e.to_string())
}

fn run(text: &str) -> String {
    run_with(text, &Options::default()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str) -> String {
    run_with(text, &Options::default()).expect_err(text)
}

#[test]
fn imaginary_and_complex_constants_are_complex128() {
    assert_eq!(
        run("{{ 1i }} {{ 0i }} {{ 2.5i }} {{ 1+2i }} {{ -1-0.5i }} {{ printf \"%T\" 1i }}"),
        "(0+1i) (0+0i) (0+2.5i) (1+2i) (-1-0.5i) complex128"
    );
}

#[test]
fn complex_values_format_each_part_with_the_verb() {
    assert_eq!(
        run("{{ printf \"%v|%.2f|%g|%e|%8.1f\" 1+2i 1.5+2.25i 1e10+1i -3i 2i }}"),
        "(1+2i)|(1.50+2.25i)|(1e+10+1i)|(0.000000e+00-3.000000e+00i)|(     0.0    +2.0i)"
    );
}

#[test]
fn complex_values_compare_equal_but_not_ordered() {
    assert_eq!(run("{{ eq 1i 1i }} {{ ne 1i 2i }}"), "true true");
    assert!(err("{{ lt 1i 2i }}").ends_with("error calling lt: invalid type for comparison"));
}

#[test]
fn complex_constant_is_no_int_argument() {
    assert!(
        err("{{ slice \"abc\" 1i }}").contains("cannot index slice/array with type complex128")
    );
}

#[test]
fn string_map_missing_key_reads_empty_string() {
    assert_eq!(
        run(
            "{{ $m := pairs }}{{ printf \"%T\" $m }} {{ $m.a }} [{{ $m.nope }}] [{{ index $m \"nope\" }}] {{ $m }}"
        ),
        "map[string]string 1 [] [] map[a:1 b:2]"
    );
}

#[test]
fn string_map_missing_key_fails_with_missing_key_error() {
    let options = Options {
        missing_key_error: true,
        ..Options::default()
    };
    let e = run_with("{{ pairs.nope }}", &options).unwrap_err();
    assert!(e.ends_with("map has no entry for key \"nope\""), "{e}");
}

#[test]
fn string_map_ranges_over_strings_in_key_order() {
    assert_eq!(
        run("{{ range $k, $v := pairs }}{{ $k }}={{ $v }}:{{ printf \"%T\" $v }};{{ end }}"),
        "a=1:string;b=2:string;"
    );
}

#[test]
fn interface_keyed_map_prints_nil_string_uint_int_float_bool() {
    assert_eq!(
        run("{{ mixed }}|{{ printf \"%T\" mixed }}"),
        "map[<nil>:false s:1 18446744073709551615:u 2:two 0.5:half true:b]|map[interface {}]interface {}"
    );
}

#[test]
fn interface_keyed_map_indexes_by_typed_key() {
    assert_eq!(
        run(
            "{{ index mixed 2 }} {{ index mixed \"s\" }} {{ mixed.s }} {{ index mixed 3 }} {{ len mixed }}"
        ),
        "two 1 1 <no value> 6"
    );
}

#[test]
fn execute_template_runs_a_defined_template_with_its_own_scope() {
    assert_eq!(
        run(
            "{{ define \"t\" }}<{{ . }}|{{ $ }}>{{ end }}{{ $x := 1 }}{{ run \"t\" \"d\" }}{{ run \"t\" }}"
        ),
        "<d|d><<no value>|<no value>>"
    );
}

#[test]
fn execute_template_of_an_unknown_name_is_go_s_error() {
    let e = err("{{ run \"nope\" }}");
    assert!(
        e.ends_with(
            "error calling run: template: no template \"nope\" associated with template \"\""
        ),
        "{e}"
    );
}

#[test]
fn execute_template_errors_carry_the_inner_location() {
    let e = err("{{ define \"t\" }}{{ index . 5 }}{{ end }}{{ run \"t\" \"abc\" }}");
    assert_eq!(
        e,
        "template: :1:43: executing \"\" at <run \"t\" \"abc\">: error calling run: template: :1:19: executing \"t\" at <index . 5>: error calling index: index out of range: 5"
    );
}

#[test]
fn execute_template_recursion_is_bounded() {
    let e = err("{{ define \"r\" }}{{ run \"r\" }}{{ end }}{{ run \"r\" }}");
    assert!(e.contains("exceeded maximum template depth"), "{e}");
}

#[test]
fn methods_are_found_before_fields_and_see_their_receiver() {
    assert_eq!(
        run("{{ pem.Cert }} {{ pem.Data.Cert }} {{ printf \"%T %v\" pem.Data pem }}"),
        "C C dependency.PemEncoded {C}"
    );
}

#[test]
fn a_failing_method_is_reported_at_its_chain() {
    let e = err("{{ 1 }}{{ pem.Fail }}");
    assert_eq!(
        e,
        "template: :1:13: executing \"\" at <pem.Fail>: error calling Fail: no"
    );
}

#[test]
fn binary_strings_reach_only_functions_that_take_them() {
    assert_eq!(run("{{ size bin }}"), "2");
    assert!(err("{{ strict bin }}").contains("binary (non-UTF-8) data"));
}

#[test]
fn trim_markers_trim_crlf_and_tabs() {
    assert_eq!(run("a \t\r\n\t{{- 1 -}}\r\n\t b"), "a1b");
    assert_eq!(run("x\r\n{{- /* c */ -}}\r\n\ty"), "xy");
}

#[test]
fn nested_template_calls_inside_deep_parentheses_fit_a_small_stack() {
    let open = "(".repeat(90);
    let close = ")".repeat(90);
    let text = format!(
        "{{{{ define \"r\" }}}}{{{{ if . }}}}{{{{ with . }}}}{{{{ {open}run \"r\" .{close} }}}}{{{{ end }}}}{{{{ end }}}}{{{{ end }}}}{{{{ run \"r\" 1 }}}}"
    );
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || run_with(&text, &Options::default()))
        .unwrap();
    let result = handle.join().expect("no stack overflow");
    let e = result.expect_err("runs away");
    assert!(e.contains("exceeded maximum"), "{e}");
}

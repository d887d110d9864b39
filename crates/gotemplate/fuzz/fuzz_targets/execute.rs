//! Parse arbitrary text and execute it with JSON data as dot: no input may
//! panic, hang or blow the stack; limits turn runaway templates into errors.
#![no_main]

use std::sync::LazyLock;

use gotemplate::{Funcs, Limits, Options, Template, Value, decode_json};
use libfuzzer_sys::fuzz_target;

const DATA: &str = r#"{"s":"text","n":1.50,"i":-3,"b":true,"nil":null,
 "list":[1,"a",null,[2,3]],"m":{"k":"v","nested":{"x":[1]}}}"#;

static DOT: LazyLock<Value> = LazyLock::new(|| decode_json(DATA).expect("fixture"));

static OPTIONS: LazyLock<Options> = LazyLock::new(|| Options {
    // Small budgets keep each run fast while still exercising the checks.
    limits: Limits {
        max_steps: 200_000,
        max_range_iterations: 20_000,
        max_output_bytes: 1 << 20,
        ..Limits::default()
    },
    ..Options::default()
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let funcs: Funcs = Funcs::new();
    if let Ok(template) = Template::parse(text, &funcs, &OPTIONS) {
        let _ = template.execute_with_dot(&funcs, &mut (), &OPTIONS, DOT.clone());
    }
});

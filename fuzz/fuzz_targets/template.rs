//! Parse and execute arbitrary template text against one secret: no input
//! may panic, hang or blow the stack; limits must turn runaway templates
//! into errors.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use consul_funcs::{Funcs, PodEnv, SecretRequest, Secrets, execute, secret_from_response};
use gotemplate::{Limits, Options, Template, decode_json};

const SECRET: &str = r#"{"data":{"data":{"user":"app","n":1.50,"list":[1,"a",null],"m":{"k":"v"}},
"metadata":{"version":1}},"lease_id":"","renewable":false,"lease_duration":0}"#;

struct World {
    funcs: Funcs,
    secrets: Secrets,
    options: Options,
    env: Arc<PodEnv>,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let mut secrets = Secrets::new();
    let response = decode_json(SECRET).expect("fixture");
    secrets.insert(SecretRequest::read("secret/app"), secret_from_response(&response));
    World {
        funcs: consul_funcs::standard(),
        env: Arc::new(consul_funcs::pod_env("ns", "pod", "uid", "sa")),
        secrets,
        options: Options {
            // Small budgets keep each run fast while still exercising the checks.
            limits: Limits {
                max_steps: 200_000,
                max_range_iterations: 20_000,
                max_output_bytes: 1 << 20,
                ..Limits::default()
            },
            ..Options::default()
        },
    }
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let world = &*WORLD;
    if let Ok(template) = Template::parse(text, &world.funcs, &world.options) {
        let _ = execute(&template, &world.funcs, &world.options, &world.secrets, &world.env);
    }
});

//! This library's per-execution state ([`Execution`]) and the engine's
//! registry types bound to it, so every function of the library can reach
//! the fetched secrets, the Pod's environment and the scratch space.

use std::collections::BTreeMap;
use std::sync::Arc;

use gotemplate::Value;

use crate::request::{SecretRequest, Secrets};

pub(crate) use gotemplate::{FuncError, FuncResult, Param};

/// The functions a template may call, with this library's state.
pub type Funcs = gotemplate::Funcs<Execution>;
/// One function of the library.
pub type Func = gotemplate::Func<Execution>;
/// What a function of the library sees of an execution.
pub type Ctx<'a> = gotemplate::Ctx<'a, Execution>;

/// The Pod's environment as `env`, `envOrDefault` and `mustEnv` see it:
/// `NAMESPACE`, `POD_NAME`, `POD_UID`, `SERVICE_ACCOUNT`, never the node's.
pub type PodEnv = BTreeMap<String, String>;

/// The environment of a Pod, from the identity kubelet gives the driver.
pub fn pod_env(namespace: &str, pod_name: &str, pod_uid: &str, service_account: &str) -> PodEnv {
    [
        ("NAMESPACE", namespace),
        ("POD_NAME", pod_name),
        ("POD_UID", pod_uid),
        ("SERVICE_ACCOUNT", service_account),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The state one execution's functions share: the answers fetched so far,
/// what the template asked for, the Pod's environment and `scratch`.
#[derive(Debug)]
pub struct Execution {
    secrets: Secrets,
    env: Arc<PodEnv>,
    used: Vec<SecretRequest>,
    missing: Vec<SecretRequest>,
    scratch: BTreeMap<String, Value>,
}

impl Execution {
    /// A fresh execution over these answers and this environment.
    pub fn new(secrets: &Secrets, env: Arc<PodEnv>) -> Execution {
        Execution {
            secrets: secrets.clone(),
            env,
            used: Vec::new(),
            missing: Vec::new(),
            scratch: BTreeMap::new(),
        }
    }

    /// An environment variable of the Pod (never the node's).
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// The template's scratch space (consul-template's `scratch`).
    pub fn scratch(&mut self) -> &mut BTreeMap<String, Value> {
        &mut self.scratch
    }

    /// What the execution asked for (in first-use order), and what of it
    /// had no answer yet.
    pub fn into_requests(self) -> (Vec<SecretRequest>, Vec<SecretRequest>) {
        (self.used, self.missing)
    }
}

/// Records that the template needs `request` and returns its answer when
/// one was fetched; `None` means it is still missing (the function then
/// returns what consul-template returns for missing data, usually nil).
pub(crate) fn dependency(ctx: &mut Ctx<'_>, request: SecretRequest) -> Option<Value> {
    let host = ctx.host();
    if !host.used.contains(&request) {
        host.used.push(request.clone());
    }
    match host.secrets.get(&request).cloned() {
        Some(value) => {
            // Copying the answer costs in proportion to its size.
            let _ = ctx.charge(value.node_count());
            Some(value)
        }
        None => {
            if !host.missing.contains(&request) {
                host.missing.push(request);
            }
            None
        }
    }
}

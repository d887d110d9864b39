//! Integration-test harness: a real OpenBao, a stand-in Kubernetes API server,
//! projected-token minting, and OpenBao's agent as the rendering oracle.
//!
//! One OpenBao and one stand-in serve every test of a test binary; tests keep
//! apart by using [`unique`] names for mounts, roles, policies and identities.
#![allow(dead_code)]

pub(crate) mod agent;
pub(crate) mod bao;
pub(crate) mod bench;
pub(crate) mod checkov;
pub(crate) mod driver;
pub(crate) mod jwt;
pub(crate) mod kube_api;
pub(crate) mod oracle;
pub(crate) mod pki;
pub(crate) mod pods;
pub(crate) mod postgres;
pub(crate) mod process;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bao::{BaoServer, JwtRole, KubeRole};
use jwt::PodIdentity;
use kube_api::KubeApi;

/// Where `program` is on `PATH`, if it is.
pub(crate) fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// `n` random lowercase hex digits (no RNG crate needed: std's hasher keys are random).
pub(crate) fn random_hex(n: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::with_capacity(n + 16);
    while out.len() < n {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(n);
    out
}

/// A name unique within this test binary, e.g. `kv-7-3fa2`.
pub(crate) fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        COUNTER.fetch_add(1, Ordering::Relaxed),
        random_hex(4)
    )
}

/// The shared servers of this test binary, with kubernetes auth at
/// `auth/kubernetes` and jwt auth at `auth/jwt` already set up.
pub(crate) struct Fixture {
    /// The shared OpenBao dev server.
    pub bao: BaoServer,
    /// The shared stand-in API server.
    pub kube: KubeApi,
}

/// Mount path of the shared kubernetes auth method.
pub(crate) const KUBE_AUTH: &str = "kubernetes";
/// Mount path of the shared jwt auth method.
pub(crate) const JWT_AUTH: &str = "jwt";

/// The shared servers, started on first use. Their processes end with the test
/// binary (the bao process watches its stdin pipe).
pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
        let bao = BaoServer::start_dev();
        let kube = KubeApi::start();
        bao.enable_kubernetes_auth(KUBE_AUTH, &kube);
        bao.enable_jwt_auth(JWT_AUTH, &kube);
        Fixture { bao, kube }
    });
    &FIXTURE
}

impl Fixture {
    /// A fresh Pod identity with a kubernetes auth role and a policy that may
    /// read, list and write `paths`. Returns the identity and the role name.
    pub(crate) fn kube_identity(&self, paths: &[&str]) -> (PodIdentity, String) {
        self.kube_identity_at(KUBE_AUTH, paths)
    }

    /// Like [`Fixture::kube_identity`], with the role on the kubernetes auth
    /// mount `auth/<mount>`.
    pub(crate) fn kube_identity_at(&self, mount: &str, paths: &[&str]) -> (PodIdentity, String) {
        let (id, policy) = self.identity_with_policy(paths);
        let role = unique("k8s-role");
        self.bao.kubernetes_role(
            mount,
            &role,
            &KubeRole::new(&id.namespace, &id.service_account, &[&policy]),
        );
        (id, role)
    }

    /// Like [`Fixture::kube_identity`] with a jwt auth role bound to the `sub` claim.
    pub(crate) fn jwt_identity(&self, paths: &[&str]) -> (PodIdentity, String) {
        let (id, policy) = self.identity_with_policy(paths);
        let role = unique("jwt-role");
        self.bao.jwt_role(
            JWT_AUTH,
            &role,
            &JwtRole::for_service_account(&id.namespace, &id.service_account, &[&policy]),
        );
        (id, role)
    }

    fn identity_with_policy(&self, paths: &[&str]) -> (PodIdentity, String) {
        let id = PodIdentity::new(&unique("ns"), &unique("sa"), &unique("pod"));
        let policy = unique("policy");
        self.bao.read_policy(&policy, paths);
        (id, policy)
    }
}

//! ES256 ServiceAccount tokens shaped like kubelet's projected tokens, signed by a
//! key made at test start.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::random_hex;

/// The `iss` of the tokens, as a typical cluster's API server sets it.
pub(crate) const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// The API server's own audience: tokens for the API carry it.
pub(crate) const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

/// A Pod's identity as it appears in its projected token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodIdentity {
    /// Pod namespace.
    pub namespace: String,
    /// ServiceAccount name.
    pub service_account: String,
    /// ServiceAccount uid.
    pub sa_uid: String,
    /// Pod name.
    pub pod_name: String,
    /// Pod uid.
    pub pod_uid: String,
}

impl PodIdentity {
    /// An identity with fresh random uids.
    pub(crate) fn new(namespace: &str, service_account: &str, pod_name: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            service_account: service_account.to_owned(),
            sa_uid: new_uid(),
            pod_name: pod_name.to_owned(),
            pod_uid: new_uid(),
        }
    }

    /// `system:serviceaccount:<ns>:<sa>`.
    pub(crate) fn username(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }
}

/// A random RFC 4122-looking uid, as Kubernetes assigns.
pub(crate) fn new_uid() -> String {
    let h = random_hex(32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Signs and checks ES256 JWTs with one key pair.
pub(crate) struct JwtIssuer {
    key: EcdsaKeyPair,
    public_der: Vec<u8>,
    key_id: String,
    rng: SystemRandom,
}

impl Default for JwtIssuer {
    fn default() -> Self {
        Self::generate()
    }
}

impl JwtIssuer {
    /// A fresh P-256 key pair.
    pub(crate) fn generate() -> Self {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
        let public_der = key
            .public_key()
            .as_der()
            .expect("public key DER")
            .as_ref()
            .to_vec();
        Self {
            key,
            public_der,
            key_id: random_hex(16),
            rng: SystemRandom::new(),
        }
    }

    /// The public key as a PEM `PUBLIC KEY` block (for `jwt_validation_pubkeys`).
    pub(crate) fn public_key_pem(&self) -> String {
        let b64 = STANDARD.encode(&self.public_der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// A projected ServiceAccount token for `id`, valid for `ttl` from now.
    pub(crate) fn mint(&self, id: &PodIdentity, audience: &str, ttl: Duration) -> String {
        let now = now_secs();
        self.mint_claims(&self.claims(id, audience, now, now + ttl.as_secs() as i64))
    }

    /// Like [`JwtIssuer::mint`] but already expired (`exp` `ago` in the past).
    pub(crate) fn mint_expired(&self, id: &PodIdentity, audience: &str, ago: Duration) -> String {
        let now = now_secs();
        let exp = now - ago.as_secs() as i64;
        self.mint_claims(&self.claims(id, audience, exp - 3600, exp))
    }

    /// The claims kubelet's projected tokens carry.
    pub(crate) fn claims(&self, id: &PodIdentity, audience: &str, iat: i64, exp: i64) -> Value {
        json!({
            "aud": [audience],
            "exp": exp,
            "iat": iat,
            "iss": ISSUER,
            "jti": new_uid(),
            "kubernetes.io": {
                "namespace": id.namespace,
                "node": {"name": "node-1", "uid": "0b6a7f1e-1c55-4f3e-9a37-6f1f2c3d4e5f"},
                "pod": {"name": id.pod_name, "uid": id.pod_uid},
                "serviceaccount": {"name": id.service_account, "uid": id.sa_uid},
            },
            "nbf": iat,
            "sub": id.username(),
        })
    }

    /// Signs arbitrary claims (for malformed or unusual tokens).
    pub(crate) fn mint_claims(&self, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "kid": self.key_id});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .expect("sign");
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        )
    }

    /// The claims of a token this issuer signed, or `None` if the signature or
    /// shape is wrong. Expiry is not checked here.
    pub(crate) fn verify(&self, jwt: &str) -> Option<Value> {
        let mut parts = jwt.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let point = &self.public_der[self.public_der.len() - 65..];
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            .verify(format!("{header}.{payload}").as_bytes(), &signature)
            .ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

/// The current time as Unix seconds (for `exp` checks).
pub(crate) fn unix_now() -> i64 {
    now_secs()
}

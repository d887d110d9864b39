//! The driver's Vault/OpenBao client: login with a Pod's JWT, token upkeep, and the
//! reads behind consul-template's `secret` and `secrets` functions.
//!
//! One [`VaultClient`] (one connection pool) serves the whole node. The client is
//! address-agnostic: every call takes a [`Target`] naming the Vault address and
//! namespace, so a Pod's allowed `service` override reuses the same pool and trust.
//!
//! The files depend one way: `error` and `token` on nothing; `target`, `tls`
//! and `http` on those; `mounts` on `target`; `client` on all of these; `auth`,
//! `kv` and `leases` add calls to the client. This file only declares and
//! re-exports.

mod auth;
mod client;
mod error;
mod http;
mod kv;
mod leases;
mod mounts;
mod target;
mod tls;
mod token;

pub use auth::{AuthMethodPath, TokenInfo};
pub use client::{VaultClient, VaultSettings};
pub use error::{ErrorKind, VaultError};
pub use kv::{
    SecretRequest, SecretResponse, go_path_join, kv2_data_path, kv2_metadata_path,
    parse_secret_args,
};
pub use leases::RenewedLease;
pub use mounts::MountInfo;
pub use target::{DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, Target};
pub use tls::VaultTlsConfig;
pub use token::VaultToken;

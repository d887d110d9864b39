//! vault-csi-driver: a Kubernetes CSI node driver that serves Vault/OpenBao
//! secrets to Pods as files on a tmpfs, driven by the Vault Agent Injector's
//! `vault.hashicorp.com/*` annotations (or OpenBao's `openbao.openbao.org/*`).
#![forbid(unsafe_code)]

pub mod check;
pub mod config;
pub mod content;
pub mod csi;
mod error;
mod events;
mod gopath;
pub mod inject;
pub mod install;
pub mod kube;
pub mod metrics;
mod pki;
mod pod;
pub mod pod_cache;
pub mod preview;
pub mod publish;
mod quantity;
pub mod refresh;
pub mod state;
pub mod timefmt;
pub mod vault;
pub mod volume;
pub mod webhook;

pub use error::{Error, Result};

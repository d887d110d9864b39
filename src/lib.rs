//! vault-csi-driver: a Kubernetes CSI node driver that serves Vault/OpenBao
//! secrets to Pods as files on a tmpfs, driven by the Vault Agent Injector's
//! `vault.hashicorp.com/*` annotations.
#![forbid(unsafe_code)]

pub mod config;
pub mod content;
pub mod csi;
pub mod error;
pub mod events;
pub mod gopath;
pub mod inject;
pub mod kube;
pub mod metrics;
pub mod pki;
pub mod pod;
pub mod pod_cache;
pub mod preview;
pub mod publish;
pub mod quantity;
pub mod refresh;
pub mod state;
pub mod timefmt;
pub mod vault;
pub mod volume;
pub mod webhook;

pub use error::{Error, Result};

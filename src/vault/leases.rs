//! Leases of dynamic secrets: renew and revoke (`sys/leases/*`).

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use super::client::VaultClient;
use super::error::VaultError;
use super::http::{decode, status_error};
use super::target::Target;
use super::token::VaultToken;

/// A lease after renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewedLease {
    /// Its new length from now; shorter than asked once the secret's max TTL nears.
    pub duration: Duration,
    /// Whether it can be renewed again.
    pub renewable: bool,
}

#[derive(Deserialize)]
struct RenewAnswer {
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

impl VaultClient {
    /// `PUT sys/leases/renew` asking for `increment` more.
    pub async fn renew_lease(
        &self,
        target: &Target,
        token: &VaultToken,
        lease_id: &str,
        increment: Duration,
    ) -> Result<RenewedLease, VaultError> {
        const PATH: &str = "sys/leases/renew";
        let body = serde_json::json!({"lease_id": lease_id, "increment": increment.as_secs()});
        let reply = self
            .token_call(
                target,
                token,
                Method::PUT,
                PATH,
                Some(body.to_string().into_bytes()),
            )
            .await?;
        if reply.status != 200 {
            return Err(status_error(PATH, &reply, &[token.expose_secret()]));
        }
        let answer: RenewAnswer = decode(PATH, &reply.body)?;
        Ok(RenewedLease {
            duration: Duration::from_secs(answer.lease_duration),
            renewable: answer.renewable,
        })
    }

    /// `PUT sys/leases/revoke`: the credential stops working now.
    pub async fn revoke_lease(
        &self,
        target: &Target,
        token: &VaultToken,
        lease_id: &str,
    ) -> Result<(), VaultError> {
        const PATH: &str = "sys/leases/revoke";
        let body = serde_json::json!({"lease_id": lease_id});
        let reply = self
            .token_call(
                target,
                token,
                Method::PUT,
                PATH,
                Some(body.to_string().into_bytes()),
            )
            .await?;
        match reply.status {
            200 | 204 => Ok(()),
            _ => Err(status_error(PATH, &reply, &[token.expose_secret()])),
        }
    }
}

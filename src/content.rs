//! A volume's content: log in as the Pod's identity, fetch every secret the
//! Plan's files read (once per path, concurrently), render each file.
//! Used by the publish path and by the `render` command alike.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::inject::{self, Plan, Source};
use crate::render;
use crate::vault::{AuthMethodPath, Target, VaultClient, VaultToken};
use crate::volume::writer::{FileContent, Owner};

/// How to authenticate to Vault for one Plan.
pub enum Credential<'a> {
    /// Log in with the Pod's projected ServiceAccount token (the normal path).
    PodJwt(&'a str),
    /// Use an existing Vault token (the `render` command's preview mode).
    VaultToken(VaultToken),
}

/// Everything a volume holds after one render, ready to be written.
pub struct VolumeContent {
    /// The files, with the token file last when the Plan asks for it.
    pub files: Vec<FileContent>,
    /// Owner of the files.
    pub owner: Owner,
    /// The Vault token the secrets were read with.
    pub token: VaultToken,
}

/// Node-wide Vault access: the client, the node's Vault, and the addresses
/// Pods may pick with the `service` annotation.
#[derive(Debug, Clone)]
pub struct ContentBuilder {
    vault: VaultClient,
    allowed_addrs: Vec<String>,
}

impl ContentBuilder {
    /// A builder over the node's Vault client; `allowed_addrs` as given by
    /// `--vault-allowed-addrs`.
    pub fn new(vault: VaultClient, allowed_addrs: &[String]) -> Self {
        let allowed_addrs = allowed_addrs
            .iter()
            .map(|a| normalise_addr(a))
            .filter(|a| !a.is_empty())
            .collect();
        Self {
            vault,
            allowed_addrs,
        }
    }

    /// Logs in (or takes the given token), fetches and renders the Plan's files.
    pub async fn build(&self, plan: &Plan, credential: Credential<'_>) -> Result<VolumeContent> {
        let target = self.target_for(plan)?;
        let token = match credential {
            Credential::PodJwt(jwt) => self.login(plan, &target, jwt).await?,
            Credential::VaultToken(token) => token,
        };
        let bodies = self.fetch_default_sources(plan, &target, &token).await?;
        let mut files = Vec::with_capacity(plan.files.len() + 1);
        for spec in &plan.files {
            let bytes = match &spec.source {
                Source::DefaultTemplate {
                    secret_path,
                    format,
                } => {
                    let body = bodies.get(secret_path).and_then(|b| b.as_deref());
                    render::default_template(*format, body)
                        .map_err(|e| Error::InvalidArgument(format!("{}: {e}", spec.annotation)))?
                }
                Source::Template { .. } => {
                    return Err(Error::InvalidArgument(format!(
                        "annotation {}: custom templates are not served by this version yet",
                        spec.annotation
                    )));
                }
            };
            files.push(FileContent {
                path: spec.path.as_str().into(),
                bytes,
                mode: spec.mode,
            });
        }
        if plan.token_file {
            files.push(FileContent {
                path: "token".into(),
                bytes: token.expose_secret().as_bytes().to_vec(),
                mode: inject::TOKEN_FILE_MODE,
            });
        }
        Ok(VolumeContent {
            files,
            owner: Owner {
                uid: plan.options.run_as_user,
                gid: plan.options.run_as_group,
            },
            token,
        })
    }

    /// The Vault target the Plan's identity uses: the node's Vault, or the
    /// `service` annotation's when the node allows it.
    pub fn target_for(&self, plan: &Plan) -> Result<Target> {
        let default = self.vault.default_target();
        let base = match &plan.identity.service {
            None => default.clone(),
            Some(address) => {
                let normalised = normalise_addr(address);
                if !self.allowed_addrs.contains(&normalised)
                    && normalised != normalise_addr(default.address())
                {
                    return Err(Error::InvalidArgument(format!(
                        "annotation vault.hashicorp.com/service: {address:?} is not an allowed Vault address on this node (--vault-allowed-addrs)"
                    )));
                }
                Target::new(address)?
            }
        };
        Ok(base
            .with_namespace(plan.identity.namespace.as_deref())?
            .with_timeout(plan.options.client_timeout)
            .with_max_retries(plan.options.client_max_retries))
    }

    async fn login(&self, plan: &Plan, target: &Target, jwt: &str) -> Result<VaultToken> {
        let auth = AuthMethodPath::new(plan.identity.auth_path.as_str())?;
        Ok(self
            .vault
            .login(target, &auth, &plan.identity.role, jwt)
            .await?)
    }

    /// One read per distinct Vault path of the default-template files.
    async fn fetch_default_sources(
        &self,
        plan: &Plan,
        target: &Target,
        token: &VaultToken,
    ) -> Result<BTreeMap<String, Option<String>>> {
        let paths: BTreeSet<&str> = plan
            .files
            .iter()
            .filter_map(|f| match &f.source {
                Source::DefaultTemplate { secret_path, .. } => Some(secret_path.as_str()),
                Source::Template { .. } => None,
            })
            .collect();
        let fetches = paths.into_iter().map(|path| async move {
            let response = self
                .vault
                .read_secret::<&str>(target, token, path, &[])
                .await?;
            Ok::<_, Error>((path.to_string(), response.map(|r| r.body)))
        });
        Ok(futures_util::future::try_join_all(fetches)
            .await?
            .into_iter()
            .collect())
    }
}

/// `https://Vault:8200/` and `https://vault:8200` are the same address.
pub fn normalise_addr(address: &str) -> String {
    address.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::normalise_addr;

    #[test]
    fn addresses_compare_without_case_or_trailing_slash() {
        assert_eq!(
            normalise_addr(" https://Vault.svc:8200/ "),
            "https://vault.svc:8200"
        );
    }
}

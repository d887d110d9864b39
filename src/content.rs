//! A volume's content: every file's template parsed once into a [`Recipe`],
//! the secrets it needs fetched (concurrently, once each) into a
//! [`FetchedSet`], and the files rendered from them. Used by the publish
//! path, the refresh loop and the `render` command alike.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use consul_funcs::{
    Answers, Funcs, Job, PodEnv, RenderError, RequestKind, SecretRequest, Secrets,
    secret_from_response, secret_without_content,
};
use gotemplate::{Options, Template, TemplateError, Value, decode_json};

use crate::error::{Error, Result};
use crate::inject::{self, Plan};
use crate::vault::{AuthMethodPath, Target, VaultClient, VaultToken};
use crate::volume::writer::FileContent;

/// One file of a volume, parsed.
struct FileRecipe {
    path: PathBuf,
    mode: u32,
    annotation: String,
    template: Arc<Template>,
    options: Options,
}

/// What makes two parses the same: the text, the delimiters and the
/// missing-key option (the only options a Plan sets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ParseKey {
    text: String,
    left: String,
    right: String,
    missing_key_error: bool,
}

/// Parsed templates shared by every volume that uses the same text: the
/// replicas of a Deployment carry the same annotations, so a node with 110
/// volumes holds a handful of distinct trees rather than 110 copies of each.
/// Entries are weak: a template is freed with the last volume that uses it.
#[derive(Default)]
struct ParsedTemplates {
    entries: HashMap<ParseKey, Weak<Template>>,
    /// Dead entries are swept when the map grows past this.
    sweep_at: usize,
}

impl ParsedTemplates {
    fn get(&self, key: &ParseKey) -> Option<Arc<Template>> {
        self.entries.get(key).and_then(Weak::upgrade)
    }

    /// Keeps `template` for `key`, or returns the one another publish put
    /// there while this one was parsing.
    fn insert(&mut self, key: ParseKey, template: Template) -> Arc<Template> {
        if let Some(existing) = self.get(&key) {
            return existing;
        }
        let template = Arc::new(template);
        self.entries.insert(key, Arc::downgrade(&template));
        if self.entries.len() > self.sweep_at {
            self.entries.retain(|_, t| t.strong_count() > 0);
            self.sweep_at = (self.entries.len() * 2).max(64);
        }
        template
    }
}

/// Parses `text` or shares the tree parsed for an earlier volume. The lock
/// is not held while parsing, so a large template does not stall others.
fn shared_parse(
    key: ParseKey,
    options: &Options,
) -> std::result::Result<Arc<Template>, TemplateError> {
    let parsed = || PARSED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(template) = parsed().get(&key) {
        return Ok(template);
    }
    let template = Template::parse(&key.text, &*FUNCS, options)?;
    Ok(parsed().insert(key, template))
}

static PARSED: LazyLock<Mutex<ParsedTemplates>> = LazyLock::new(Mutex::default);

/// Every function a template may call: built once, shared by every volume.
static FUNCS: LazyLock<Funcs> = LazyLock::new(consul_funcs::standard);

/// Every file of a volume, parsed once, rendered on each publish and refresh.
pub struct Recipe {
    files: Vec<FileRecipe>,
    /// Where and with which mode the Vault token is written, if it is.
    token_file: Option<(PathBuf, u32)>,
    ownership: inject::Ownership,
    /// What `env` and friends see: the Pod's, never the node's.
    env: Arc<PodEnv>,
}

impl Recipe {
    /// Parses every file's template. `env` is what `env` and friends see:
    /// the Pod's, never the node's.
    pub fn new(plan: &Plan, env: PodEnv) -> Result<Recipe> {
        let mut files = Vec::with_capacity(plan.files.len());
        for spec in &plan.files {
            let (left, right) = spec.source.delimiters();
            let options = Options {
                left_delim: left.to_string(),
                right_delim: right.to_string(),
                missing_key_error: spec.error_on_missing_key,
                ..Options::default()
            };
            let key = ParseKey {
                text: spec.source.text().into_owned(),
                left: options.left_delim.clone(),
                right: options.right_delim.clone(),
                missing_key_error: options.missing_key_error,
            };
            let template =
                shared_parse(key, &options).map_err(|e| template_error(&spec.annotation, &e))?;
            files.push(FileRecipe {
                path: spec.path.as_str().into(),
                mode: spec.mode,
                annotation: spec.annotation.clone(),
                template,
                options,
            });
        }
        Ok(Recipe {
            files,
            token_file: plan
                .token_file
                .then(|| (plan.token_path.as_str().into(), plan.token_mode)),
            ownership: inject::ownership(&plan.options),
            env: Arc::new(env),
        })
    }

    /// Owners and modes of the volume's files and directories.
    pub fn ownership(&self) -> inject::Ownership {
        self.ownership
    }
}

/// A template's own message already says where (`template: :3:7: ...`);
/// the annotation (or the agent config's stanza) says which.
fn template_error(origin: &str, error: &TemplateError) -> Error {
    if origin.starts_with("vault.hashicorp.com/agent-configmap") {
        Error::InvalidArgument(format!("{origin}: {error}"))
    } else {
        Error::InvalidArgument(format!("annotation {origin}: {error}"))
    }
}

/// The lease a fetched secret came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Lease id; empty for secrets without a lease (KV).
    pub id: String,
    /// Lease length when fetched or last renewed.
    pub duration: Duration,
    /// Whether `sys/leases/renew` can extend it.
    pub renewable: bool,
}

impl Lease {
    /// Whether this is a real lease (KV answers carry a duration but no id).
    pub fn is_leased(&self) -> bool {
        !self.id.is_empty()
    }
}

/// What is known about one fetched request.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Its lease.
    pub lease: Lease,
    /// When it was fetched (or its lease last renewed).
    pub at: Instant,
    /// For `pkiCert`: how long after `at` the certificate must be replaced.
    pub rotate_after: Option<Duration>,
}

/// The answers a volume's templates read, with their leases.
#[derive(Debug, Default)]
pub struct FetchedSet {
    /// What the engine sees.
    pub secrets: Secrets,
    /// Lease and time of each answer.
    pub meta: BTreeMap<SecretRequest, Fetched>,
}

impl FetchedSet {
    /// Stores an answer.
    pub fn insert(&mut self, request: SecretRequest, value: Value, fetched: Fetched) {
        self.secrets.insert(request.clone(), value);
        self.meta.insert(request, fetched);
    }
}

impl Answers for FetchedSet {
    type Fetched = Fetched;

    fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    fn insert(&mut self, request: SecretRequest, value: Value, fetched: Fetched) {
        FetchedSet::insert(self, request, value, fetched);
    }
}

/// Node-wide Vault access: the client and the addresses Pods may pick with
/// the `service` annotation.
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

    /// The node's Vault client.
    pub fn vault(&self) -> &VaultClient {
        &self.vault
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
                        "annotation {}: {address:?} is not an allowed Vault address on this node (--vault-allowed-addrs)",
                        plan.identity.service_annotation
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

    /// Logs in as the Plan's identity with a Pod's JWT.
    pub async fn login(&self, plan: &Plan, target: &Target, jwt: &str) -> Result<VaultToken> {
        let auth = AuthMethodPath::new(plan.identity.auth_path.as_str())?;
        Ok(self
            .vault
            .login(target, &auth, &plan.identity.role, jwt)
            .await?)
    }

    /// Renders `recipe`, fetching whatever its templates ask for that
    /// `fetched` lacks, round after round (a secret's path may come from
    /// another secret), bounded.
    pub async fn build(
        &self,
        recipe: &Recipe,
        target: &Target,
        token: &VaultToken,
        fetched: &mut FetchedSet,
        root: &std::path::Path,
    ) -> Result<(Vec<FileContent>, BTreeSet<SecretRequest>)> {
        self.build_with(recipe, token, fetched, |request| async move {
            self.fetch(target, token, &request, root).await
        })
        .await
    }

    /// [`ContentBuilder::build`] with the caller's way of fetching one
    /// request (e.g. shared with other volumes of the identity).
    pub async fn build_with<F, Fut>(
        &self,
        recipe: &Recipe,
        token: &VaultToken,
        fetched: &mut FetchedSet,
        fetch: F,
    ) -> Result<(Vec<FileContent>, BTreeSet<SecretRequest>)>
    where
        F: FnMut(SecretRequest) -> Fut,
        Fut: std::future::Future<Output = Result<(Value, Fetched)>>,
    {
        let jobs: Vec<Job<'_>> = recipe
            .files
            .iter()
            .map(|file| Job {
                template: &file.template,
                options: &file.options,
            })
            .collect();
        let rendered = consul_funcs::render(&jobs, &FUNCS, &recipe.env, fetched, fetch)
            .await
            .map_err(|e| match e {
                RenderError::Template { index, error } => {
                    template_error(&recipe.files[index].annotation, &error)
                }
                RenderError::Fetch { error, .. } => error,
                too_many @ RenderError::TooManyRounds(_) => {
                    Error::InvalidArgument(too_many.to_string())
                }
            })?;
        let mut files: Vec<FileContent> = recipe
            .files
            .iter()
            .zip(rendered.outputs)
            .map(|(file, bytes)| FileContent {
                path: file.path.clone(),
                bytes,
                mode: file.mode,
            })
            .collect();
        if let Some((path, mode)) = &recipe.token_file {
            files.push(FileContent {
                path: path.clone(),
                bytes: token.expose_secret().as_bytes().to_vec(),
                mode: *mode,
            });
        }
        Ok((files, rendered.used))
    }

    /// Fetches one request and turns the answer into what the template
    /// function returns.
    /// `root` is the volume's directory, where `pkiCert` looks for a
    /// certificate it can keep.
    pub async fn fetch(
        &self,
        target: &Target,
        token: &VaultToken,
        request: &SecretRequest,
        root: &std::path::Path,
    ) -> Result<(Value, Fetched)> {
        let at = Instant::now();
        let no_lease = Lease {
            id: String::new(),
            duration: Duration::ZERO,
            renewable: false,
        };
        match request.kind {
            RequestKind::Read | RequestKind::Write => {
                let args: &[String] = match request.kind {
                    RequestKind::Write if request.args.is_empty() => &[String::new()],
                    _ => &request.args,
                };
                let response = self
                    .vault
                    .read_secret(target, token, &request.path, args)
                    .await?;
                let Some(response) = response else {
                    return Ok((
                        secret_without_content(),
                        Fetched {
                            lease: no_lease,
                            at,
                            rotate_after: None,
                        },
                    ));
                };
                let decoded = decode_json(&response.body).map_err(|e| {
                    Error::Internal(format!(
                        "Vault's answer for {} is not JSON ({e})",
                        request.path
                    ))
                })?;
                let lease = Lease {
                    id: response.lease_id,
                    duration: response.lease_duration,
                    renewable: response.renewable,
                };
                Ok((
                    secret_from_response(&decoded),
                    Fetched {
                        lease,
                        at,
                        rotate_after: None,
                    },
                ))
            }
            RequestKind::List => {
                let mut keys = self
                    .vault
                    .list_secrets(target, token, &request.path)
                    .await?;
                keys.sort();
                let value = Value::Strings(keys);
                Ok((
                    value,
                    Fetched {
                        lease: no_lease,
                        at,
                        rotate_after: None,
                    },
                ))
            }
            RequestKind::PkiCert => self.pki_cert(target, token, request, root).await,
        }
    }
}

impl ContentBuilder {
    /// `pkiCert`: the certificate already in the volume while it is good
    /// (90% of its lifetime), else a new one from `PUT <path>` with the args.
    async fn pki_cert(
        &self,
        target: &Target,
        token: &VaultToken,
        request: &SecretRequest,
        root: &std::path::Path,
    ) -> Result<(Value, Fetched)> {
        const THRESHOLD: f64 = 0.9;
        let at = Instant::now();
        let now = unix_now();
        let common_name = request
            .args
            .iter()
            .find_map(|a| a.strip_prefix("common_name="));
        let fetched = |left| Fetched {
            lease: Lease {
                id: String::new(),
                duration: Duration::ZERO,
                renewable: false,
            },
            at,
            rotate_after: Some(left),
        };
        if let Some((bundle, left)) = crate::pki::reusable(root, common_name, now, THRESHOLD) {
            return Ok((crate::pki::to_value(&bundle), fetched(left)));
        }
        let args: &[String] = if request.args.is_empty() {
            &[String::new()]
        } else {
            &request.args
        };
        let response = self
            .vault
            .read_secret(target, token, &request.path, args)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no secret exists at {}", request.path)))?;
        let decoded = decode_json(&response.body).map_err(|e| {
            Error::Internal(format!(
                "Vault's answer for {} is not JSON ({e})",
                request.path
            ))
        })?;
        let data = match &decoded {
            Value::Map(m) => m.get("data").cloned().unwrap_or(Value::Nil),
            _ => Value::Nil,
        };
        let (bundle, leaf) = crate::pki::parse_bundle(&crate::pki::pem_text_of_issue(&data))
            .map_err(|e| Error::Internal(format!("pkiCert {}: {e}", request.path)))?;
        // A certificate issued already past its threshold: try again in a minute.
        let left = leaf
            .and_then(|l| l.good_for(now, THRESHOLD))
            .unwrap_or(Duration::from_secs(60));
        Ok((crate::pki::to_value(&bundle), fetched(left)))
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `https://Vault:8200/` and `https://vault:8200` are the same address.
pub fn normalise_addr(address: &str) -> String {
    address.trim().trim_end_matches('/').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str, left: &str) -> ParseKey {
        ParseKey {
            text: text.into(),
            left: left.into(),
            right: "}}".into(),
            missing_key_error: false,
        }
    }

    fn options(left: &str) -> Options {
        Options {
            left_delim: left.into(),
            ..Options::default()
        }
    }

    #[test]
    fn volumes_with_the_same_template_share_one_parsed_tree() {
        let text = "{{ .shared_by_replicas }}";
        let a = shared_parse(key(text, "{{"), &options("{{")).unwrap();
        let b = shared_parse(key(text, "{{"), &options("{{")).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn other_delimiters_are_another_template() {
        let text = "[[ .other_delims }} {{ .x }}";
        let a = shared_parse(key(text, "{{"), &options("{{")).unwrap();
        let b = shared_parse(key(text, "[["), &options("[[")).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_template_no_volume_uses_is_freed() {
        let text = "{{ .freed_with_its_last_volume }}";
        let weak = Arc::downgrade(&shared_parse(key(text, "{{"), &options("{{")).unwrap());
        assert!(weak.upgrade().is_none());
    }

    #[test]
    fn a_parse_error_is_not_kept() {
        let text = "{{ .unclosed_parse_error ";
        assert!(shared_parse(key(text, "{{"), &options("{{")).is_err());
        assert!(shared_parse(key(text, "{{"), &options("{{")).is_err());
    }

    #[test]
    fn addresses_compare_without_case_or_trailing_slash() {
        assert_eq!(
            normalise_addr(" https://Vault.svc:8200/ "),
            "https://vault.svc:8200"
        );
    }
}

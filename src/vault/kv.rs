//! Reads behind the template functions `secret` and `secrets`, with the KV v2 path
//! rewriting and argument rules of OpenBao's agent (openbao-template v1.0.1, as
//! shipped in OpenBao 2.7.2).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use super::client::VaultClient;
use super::error::VaultError;
use super::http::{Call, Reply, decode, status_error};
use super::mounts::MountInfo;
use super::target::Target;
use super::token::VaultToken;

/// Go's `path.Join`, as the agent builds KV paths.
pub use crate::gopath::join as go_path_join;

/// The path to read or write a secret on a KV v2 mount: `data/` goes after the
/// mount unless `data/` or `metadata/` already follows it. `subkeys/` is rewritten
/// too, as OpenBao 2.7.2's agent does. `mount` is the mount path as Vault reports
/// it, with its trailing `/`.
pub fn kv2_data_path(raw: &str, mount: &str) -> String {
    if raw == mount || raw == mount.strip_suffix('/').unwrap_or(mount) {
        return go_path_join(&[mount, "data"]);
    }
    let rest = raw.strip_prefix(mount).unwrap_or(raw);
    if rest.starts_with("data/") || rest.starts_with("metadata/") {
        return raw.to_owned();
    }
    go_path_join(&[mount, "data", rest])
}

/// The path to list secrets on a KV v2 mount: `metadata/` after the mount unless
/// the path already starts with it.
pub fn kv2_metadata_path(raw: &str, mount: &str) -> String {
    let mount = mount.strip_suffix('/').unwrap_or(mount);
    if raw.starts_with(&go_path_join(&[mount, "metadata"])) {
        return raw.to_owned();
    }
    if raw == mount {
        return go_path_join(&[mount, "metadata"]);
    }
    let rest = raw.strip_prefix(mount).unwrap_or(raw);
    go_path_join(&[mount, "metadata", rest])
}

/// Parses `secret`'s extra arguments as the agent does: empty arguments are
/// skipped, each other one splits at its first `=` into a key and value (both
/// trimmed), so `k=v=w` gives `k` = `v=w`; an argument without `=` is an error.
pub fn parse_secret_args<S: AsRef<str>>(
    args: &[S],
) -> Result<BTreeMap<String, String>, VaultError> {
    let mut data = BTreeMap::new();
    for arg in args.iter().map(AsRef::as_ref).filter(|a| !a.is_empty()) {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(VaultError::InvalidInput(format!("not k=v pair {arg:?}")));
        };
        data.insert(key.trim().to_owned(), value.trim().to_owned());
    }
    Ok(data)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decoding as Go's `url.PathUnescape` (`plus_is_space` false) or
/// `url.QueryUnescape` (true). `None` on a malformed escape or non-UTF-8 result.
fn unescape(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hi = hex_value(*bytes.get(i + 1)?)?;
                let lo = hex_value(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `url.ParseQuery` followed by `Values.Encode`: malformed pairs dropped,
/// keys sorted, values kept in order per key, `None` when nothing is left.
fn normalize_query(raw: &str) -> Option<String> {
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        if piece.contains(';') {
            continue;
        }
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let (Some(key), Some(value)) = (unescape(key, true), unescape(value, true)) else {
            continue;
        };
        values.entry(key).or_default().push(value);
    }
    let encoded: Vec<String> = values
        .iter()
        .flat_map(|(k, vs)| {
            vs.iter()
                .map(move |v| format!("{}={}", query_escape(k), query_escape(v)))
        })
        .collect();
    (!encoded.is_empty()).then(|| encoded.join("&"))
}

/// One `secret` call: a read (no arguments) or a write (`k=v` arguments).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRequest {
    path: String,
    query: Option<String>,
    data: Option<BTreeMap<String, String>>,
}

impl fmt::Debug for SecretRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Argument values can be sensitive (e.g. transit plaintext); show keys only.
        f.debug_struct("SecretRequest")
            .field("path", &self.path)
            .field("query", &self.query)
            .field(
                "data_keys",
                &self.data.as_ref().map(|d| d.keys().collect::<Vec<_>>()),
            )
            .finish()
    }
}

impl SecretRequest {
    /// Parses `secret "path_spec" args...` the way the agent does: spaces and
    /// outer `/` trimmed. Without arguments it is a read and `?version=N` (any
    /// query) is kept as the query; with arguments (even only empty ones) it is a
    /// write of the `k=v` pairs and the path is taken literally.
    pub fn parse<S: AsRef<str>>(path_spec: &str, args: &[S]) -> Result<Self, VaultError> {
        let is_write = !args.is_empty();
        let data = parse_secret_args(args)?;
        let trimmed = path_spec.trim().trim_matches('/');
        let op = if is_write {
            "vault.write"
        } else {
            "vault.read"
        };
        if trimmed.is_empty() {
            return Err(VaultError::InvalidInput(format!(
                "{op}: invalid format: {trimmed:?}"
            )));
        }
        if trimmed.chars().any(|c| c.is_ascii_control()) {
            return Err(VaultError::InvalidInput(format!(
                "{op}: invalid control character in path {trimmed:?}"
            )));
        }
        if is_write {
            return Ok(Self {
                path: trimmed.to_owned(),
                query: None,
                data: Some(data),
            });
        }
        // A read's path is parsed as a URL reference: the fragment is dropped,
        // the query kept, the path percent-decoded.
        let without_fragment = trimmed.split_once('#').map_or(trimmed, |(p, _)| p);
        let (raw_path, raw_query) = without_fragment
            .split_once('?')
            .map_or((without_fragment, None), |(p, q)| (p, Some(q)));
        let first_segment = raw_path.split('/').next().unwrap_or_default();
        if first_segment.contains(':') {
            return Err(VaultError::InvalidInput(format!(
                "{op}: a ':' in the first path segment is not supported: {trimmed:?}"
            )));
        }
        let path = unescape(raw_path, false).ok_or_else(|| {
            VaultError::InvalidInput(format!("{op}: invalid URL escape in {trimmed:?}"))
        })?;
        Ok(Self {
            path,
            query: raw_query.and_then(normalize_query),
            data: None,
        })
    }

    /// The Vault path before any KV v2 rewriting.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The encoded query of a read, e.g. `version=1`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// Whether this is a write (`PUT` with the `k=v` pairs as JSON).
    pub fn is_write(&self) -> bool {
        self.data.is_some()
    }

    /// The `k=v` pairs of a write.
    pub fn data(&self) -> Option<&BTreeMap<String, String>> {
        self.data.as_ref()
    }

    /// The path actually requested, given the mount the path lives on.
    pub fn request_path(&self, mount: Option<&MountInfo>) -> String {
        match mount.filter(|m| m.is_kv_v2()) {
            Some(m) => kv2_data_path(&self.path, &m.path),
            None => self.path.clone(),
        }
    }
}

/// One secret as Vault returned it. `body` is the raw JSON text of the whole
/// answer: the template layer decodes it itself, with Go's number handling.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretResponse {
    /// The path that was requested, after KV v2 rewriting.
    pub path: String,
    /// The answer's JSON text.
    pub body: String,
    /// Lease id; empty when the secret has no lease (KV).
    pub lease_id: String,
    /// Lease length; zero when there is no lease.
    pub lease_duration: Duration,
    /// Whether the lease can be renewed.
    pub renewable: bool,
    /// Vault's request id.
    pub request_id: String,
}

impl fmt::Debug for SecretResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretResponse")
            .field("path", &self.path)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("lease_id", &self.lease_id)
            .field("lease_duration", &self.lease_duration)
            .field("renewable", &self.renewable)
            .field("request_id", &self.request_id)
            .finish()
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default, deserialize_with = "null_as_default")]
    request_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    lease_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    lease_duration: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    renewable: bool,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl Envelope {
    /// The agent's check for a deleted KV v2 version: a `metadata` object in the
    /// data whose `deletion_time` is anything but `""` (missing counts too).
    fn looks_deleted(&self) -> bool {
        match self.data.as_ref().and_then(|d| d.get("metadata")) {
            Some(serde_json::Value::Object(md)) => {
                md.get("deletion_time") != Some(&serde_json::Value::String(String::new()))
            }
            _ => false,
        }
    }
}

fn secret_from_reply(path: &str, reply: &Reply) -> Result<(SecretResponse, Envelope), VaultError> {
    let envelope: Envelope = decode(path, &reply.body)?;
    let body = String::from_utf8(reply.body.to_vec()).map_err(|_| VaultError::Protocol {
        path: path.to_owned(),
        detail: "answer is not UTF-8".to_owned(),
    })?;
    let response = SecretResponse {
        path: path.to_owned(),
        body,
        lease_id: envelope.lease_id.clone(),
        lease_duration: Duration::from_secs(envelope.lease_duration),
        renewable: envelope.renewable,
        request_id: envelope.request_id.clone(),
    };
    Ok((response, envelope))
}

fn is_empty_body(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

#[derive(Deserialize)]
struct MountAnswer {
    data: Option<MountData>,
}

#[derive(Deserialize)]
struct MountData {
    #[serde(default, deserialize_with = "null_as_default")]
    path: String,
    #[serde(default, rename = "type", deserialize_with = "null_as_default")]
    mount_type: String,
    #[serde(default)]
    options: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ListAnswer {
    data: Option<ListData>,
}

#[derive(Deserialize)]
struct ListData {
    #[serde(default)]
    keys: Option<serde_json::Value>,
}

impl VaultClient {
    /// Asks which mount holds `path` (`GET sys/internal/ui/mounts/<path>`).
    ///
    /// Any HTTP error (403 without access, 404 on old servers, ...) gives `None`:
    /// the agent then treats the path as a plain (KV v1) path. Only a failure to
    /// get an answer at all is an error.
    pub async fn kv_mount_info(
        &self,
        target: &Target,
        token: &VaultToken,
        path: &str,
    ) -> Result<Option<MountInfo>, VaultError> {
        let probe = format!("sys/internal/ui/mounts/{}", path.trim().trim_matches('/'));
        let reply = self.get(target, token, &probe, None).await?;
        if reply.status != 200 {
            tracing::debug!(
                path,
                status = reply.status,
                "no mount information, assuming KV v1"
            );
            return Ok(None);
        }
        let answer: MountAnswer = match decode(&probe, &reply.body) {
            Ok(answer) => answer,
            Err(_) => return Ok(None),
        };
        Ok(answer.data.map(|d| MountInfo {
            path: d.path,
            mount_type: d.mount_type,
            version: d
                .options
                .as_ref()
                .and_then(|o| o.get("version"))
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        }))
    }

    /// Runs `secret "path_spec" args...`: asks for the mount, rewrites KV v2 paths,
    /// then reads (`GET`) or, with arguments, writes (`PUT`, JSON body of the pairs).
    ///
    /// `Ok(None)` only for a write that Vault answered without content (the
    /// template then sees nil); a read of nothing is [`VaultError::NotFound`].
    pub async fn read_secret<S: AsRef<str>>(
        &self,
        target: &Target,
        token: &VaultToken,
        path_spec: &str,
        args: &[S],
    ) -> Result<Option<SecretResponse>, VaultError> {
        let request = SecretRequest::parse(path_spec, args)?;
        let mount = match self.mounts.get(target, request.path()) {
            Some(known) => Some(known),
            None => {
                let turn = self.mounts.lookup_turn(target, request.path());
                let _turn = turn.lock().await;
                match self.mounts.get(target, request.path()) {
                    Some(known) => Some(known),
                    None => {
                        let found = self.kv_mount_info(target, token, request.path()).await?;
                        if let Some(info) = &found {
                            self.mounts.put(target, request.path(), info.clone());
                        }
                        found
                    }
                }
            }
        };
        self.fetch_secret(target, token, &request, mount.as_ref())
            .await
    }

    /// Like [`VaultClient::read_secret`] with mount information the caller already
    /// has (or `None` for a plain path), saving one request.
    pub async fn fetch_secret(
        &self,
        target: &Target,
        token: &VaultToken,
        request: &SecretRequest,
        mount: Option<&MountInfo>,
    ) -> Result<Option<SecretResponse>, VaultError> {
        let path = request.request_path(mount);
        let secrets = [token.expose_secret()];
        let Some(data) = request.data() else {
            let reply = self.get(target, token, &path, request.query()).await?;
            return match reply.status {
                200 if !is_empty_body(&reply.body) => {
                    let (response, envelope) = secret_from_reply(&path, &reply)?;
                    if envelope.looks_deleted() {
                        Err(VaultError::NotFound { path })
                    } else {
                        Ok(Some(response))
                    }
                }
                200 | 204 => Err(VaultError::NotFound { path }),
                _ => Err(status_error(&path, &reply, &secrets)),
            };
        };

        let is_kv2 = mount.is_some_and(MountInfo::is_kv_v2);
        // A write on a KV v2 mount goes to data/ with the pairs under "data".
        let body = if is_kv2 {
            serde_json::to_vec(&serde_json::json!({ "data": data }))
        } else {
            serde_json::to_vec(data)
        }
        .map_err(|e| VaultError::InvalidInput(format!("write body for {path}: {e}")))?;
        let reply = self
            .send(
                target,
                Call {
                    method: Method::PUT,
                    path: &path,
                    query: None,
                    token: Some(token),
                    namespace_header: true,
                    body: Some(body),
                },
            )
            .await?;
        let no_content = match reply.status {
            200 => is_empty_body(&reply.body),
            204 => true,
            // Vault's client reads an empty 404 to a write as "no secret", not an error.
            404 => is_empty_body(&reply.body),
            _ => false,
        };
        if no_content {
            return if is_kv2 {
                Err(VaultError::NotFound {
                    path: request.path().to_owned(),
                })
            } else {
                Ok(None)
            };
        }
        if reply.status != 200 {
            return Err(status_error(&path, &reply, &secrets));
        }
        Ok(Some(secret_from_reply(&path, &reply)?.0))
    }

    /// Runs `secrets "path"`: lists the keys under a path (`metadata/` inserted on
    /// KV v2), sorted. Nothing at the path is an empty list, as for the agent.
    pub async fn list_secrets(
        &self,
        target: &Target,
        token: &VaultToken,
        path: &str,
    ) -> Result<Vec<String>, VaultError> {
        let trimmed = path.trim().trim_matches('/');
        if trimmed.is_empty() {
            return Err(VaultError::InvalidInput(format!(
                "vault.list: invalid format: {trimmed:?}"
            )));
        }
        // The agent ignores every failure of the mount lookup for lists.
        let mount = self
            .kv_mount_info(target, token, trimmed)
            .await
            .ok()
            .flatten();
        let list_path = match mount.filter(MountInfo::is_kv_v2) {
            Some(m) => kv2_metadata_path(trimmed, &m.path),
            None => trimmed.to_owned(),
        };
        // GET with list=true is what Vault's own client sends for LIST.
        let reply = self
            .get(target, token, &list_path, Some("list=true"))
            .await?;
        match reply.status {
            200 => {}
            204 | 404 => return Ok(Vec::new()),
            _ => return Err(status_error(&list_path, &reply, &[token.expose_secret()])),
        }
        if is_empty_body(&reply.body) {
            return Ok(Vec::new());
        }
        let answer: ListAnswer = decode(&list_path, &reply.body)?;
        let keys = match answer.data.and_then(|d| d.keys) {
            None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
            Some(serde_json::Value::Array(keys)) => keys,
            Some(_) => {
                return Err(VaultError::Protocol {
                    path: list_path,
                    detail: "keys is not a list".to_owned(),
                });
            }
        };
        let mut names = keys
            .into_iter()
            .map(|k| match k {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(VaultError::Protocol {
                    path: list_path.clone(),
                    detail: "non-string in list".to_owned(),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        names.sort();
        Ok(names)
    }

    async fn get(
        &self,
        target: &Target,
        token: &VaultToken,
        path: &str,
        query: Option<&str>,
    ) -> Result<Reply, VaultError> {
        self.send(
            target,
            Call {
                method: Method::GET,
                path,
                query,
                token: Some(token),
                namespace_header: true,
                body: None,
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv2(path: &str) -> MountInfo {
        MountInfo {
            path: path.to_owned(),
            mount_type: "kv".to_owned(),
            version: Some("2".to_owned()),
        }
    }

    #[test]
    fn kv2_inserts_data_after_mount() {
        assert_eq!(
            kv2_data_path("secret/my/config", "secret/"),
            "secret/data/my/config"
        );
    }

    #[test]
    fn kv2_keeps_explicit_data_path() {
        assert_eq!(
            kv2_data_path("secret/data/my/config", "secret/"),
            "secret/data/my/config"
        );
    }

    #[test]
    fn kv2_keeps_metadata_path() {
        assert_eq!(
            kv2_data_path("secret/metadata/x", "secret/"),
            "secret/metadata/x"
        );
    }

    #[test]
    fn kv2_rewrites_subkeys_like_openbao_agent() {
        assert_eq!(
            kv2_data_path("secret/subkeys/x", "secret/"),
            "secret/data/subkeys/x"
        );
    }

    #[test]
    fn kv2_mount_itself_reads_data_root() {
        assert_eq!(kv2_data_path("secret", "secret/"), "secret/data");
        assert_eq!(kv2_data_path("secret/", "secret/"), "secret/data");
    }

    #[test]
    fn kv2_data_without_slash_is_a_secret_name() {
        assert_eq!(kv2_data_path("secret/data", "secret/"), "secret/data/data");
    }

    #[test]
    fn kv2_nested_mount() {
        assert_eq!(
            kv2_data_path("team/kv/app/db", "team/kv/"),
            "team/kv/data/app/db"
        );
    }

    #[test]
    fn kv2_rewrite_cleans_like_go() {
        assert_eq!(kv2_data_path("secret/a//b", "secret/"), "secret/data/a/b");
    }

    #[test]
    fn kv2_list_inserts_metadata() {
        assert_eq!(
            kv2_metadata_path("secret/app", "secret/"),
            "secret/metadata/app"
        );
        assert_eq!(kv2_metadata_path("secret", "secret/"), "secret/metadata");
        assert_eq!(
            kv2_metadata_path("secret/metadata/app", "secret/"),
            "secret/metadata/app"
        );
    }

    #[test]
    fn args_split_at_first_equals() {
        let data = parse_secret_args(&["k=v=w"]).unwrap();
        assert_eq!(data["k"], "v=w");
    }

    #[test]
    fn args_are_trimmed_and_empty_ones_skipped() {
        let data = parse_secret_args(&["", " common_name = a.example.com ", "ttl="]).unwrap();
        assert_eq!(data.len(), 2);
        assert_eq!(data["common_name"], "a.example.com");
        assert_eq!(data["ttl"], "");
    }

    #[test]
    fn arg_without_equals_is_an_error() {
        let err = parse_secret_args(&["justakey"]).unwrap_err();
        assert_eq!(err.to_string(), r#"not k=v pair "justakey""#);
    }

    #[test]
    fn request_without_args_is_a_read_with_trimmed_path() {
        let req = SecretRequest::parse("  /secret/my/config/ ", &[] as &[&str]).unwrap();
        assert!(!req.is_write());
        assert_eq!(req.path(), "secret/my/config");
        assert_eq!(req.query(), None);
    }

    #[test]
    fn read_keeps_version_query() {
        let req = SecretRequest::parse("secret/x?version=1", &[] as &[&str]).unwrap();
        assert_eq!(req.path(), "secret/x");
        assert_eq!(req.query(), Some("version=1"));
    }

    #[test]
    fn read_query_is_reencoded_sorted() {
        let req = SecretRequest::parse("secret/x?z=1&a=b c&bad;=1#frag", &[] as &[&str]).unwrap();
        assert_eq!(req.query(), Some("a=b+c&z=1"));
    }

    #[test]
    fn read_path_is_percent_decoded() {
        let req = SecretRequest::parse("secret/a%20b", &[] as &[&str]).unwrap();
        assert_eq!(req.path(), "secret/a b");
        assert!(SecretRequest::parse("secret/%zz", &[] as &[&str]).is_err());
    }

    #[test]
    fn only_empty_args_still_make_a_write() {
        let req = SecretRequest::parse("transit/encrypt/k", &[""]).unwrap();
        assert!(req.is_write());
        assert!(req.data().unwrap().is_empty());
    }

    #[test]
    fn write_path_is_literal() {
        let req = SecretRequest::parse("pki/issue/web?x=1", &["common_name=a"]).unwrap();
        assert_eq!(req.path(), "pki/issue/web?x=1");
        assert_eq!(req.query(), None);
    }

    #[test]
    fn empty_path_is_an_error() {
        let err = SecretRequest::parse(" // ", &[] as &[&str]).unwrap_err();
        assert_eq!(err.to_string(), r#"vault.read: invalid format: """#);
    }

    #[test]
    fn request_path_uses_mount() {
        let req = SecretRequest::parse("secret/x", &[] as &[&str]).unwrap();
        assert_eq!(req.request_path(Some(&kv2("secret/"))), "secret/data/x");
        assert_eq!(req.request_path(None), "secret/x");
        let kv1 = MountInfo {
            version: None,
            ..kv2("secret/")
        };
        assert_eq!(req.request_path(Some(&kv1)), "secret/x");
    }

    #[test]
    fn request_debug_hides_arg_values() {
        let req = SecretRequest::parse("transit/encrypt/k", &["plaintext=topsecret"]).unwrap();
        assert!(!format!("{req:?}").contains("topsecret"));
    }

    #[test]
    fn response_debug_hides_body() {
        let resp = SecretResponse {
            path: "secret/data/x".into(),
            body: r#"{"data":{"password":"hunter2"}}"#.into(),
            lease_id: String::new(),
            lease_duration: Duration::ZERO,
            renewable: false,
            request_id: "r".into(),
        };
        assert!(!format!("{resp:?}").contains("hunter2"));
    }

    #[test]
    fn deletion_check_matches_agent() {
        let envelope = |data: &str| -> Envelope {
            serde_json::from_str(&format!(r#"{{"data":{data}}}"#)).unwrap()
        };
        assert!(!envelope(r#"{"data":{},"metadata":{"deletion_time":""}}"#).looks_deleted());
        assert!(
            envelope(r#"{"data":null,"metadata":{"deletion_time":"2026-01-01T00:00:00Z"}}"#)
                .looks_deleted()
        );
        assert!(envelope(r#"{"metadata":{}}"#).looks_deleted());
        assert!(!envelope(r#"{"metadata":"text"}"#).looks_deleted());
        assert!(!envelope(r#"{"user":"bob"}"#).looks_deleted());
    }
}

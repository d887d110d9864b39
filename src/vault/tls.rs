//! TLS trust for the node's Vault client, from node settings.
//!
//! The rustls configuration is built here rather than through reqwest's builder so
//! that a TLS server name override (Vault's `VAULT_TLS_SERVER_NAME`) can be honoured:
//! certificates are then checked against that name instead of the URL's host.
//!
//! The CA bundle and the client certificate and key are read again when their
//! files change (a rotated Secret volume swaps them under the running driver):
//! every new connection's handshake checks the files' stamps first. A change
//! that cannot be used (half-written, mismatched key) keeps the last good
//! material and logs why, once.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::VaultError;

/// TLS settings of the node's Vault client (trust is a node setting, never a Pod's).
#[derive(Debug, Clone, Default)]
pub struct VaultTlsConfig {
    /// PEM bundle of CA certificates; replaces the system roots when set.
    pub ca_file: Option<PathBuf>,
    /// Directory whose `*.pem` and `*.crt` files are CA certificates; replaces the system roots when set.
    pub ca_dir: Option<PathBuf>,
    /// PEM client certificate (chain) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Name the server certificate must carry, instead of the address's host.
    pub server_name: Option<String>,
    /// Accept any server certificate. The caller logs the warning.
    pub skip_verify: bool,
}

fn config_err(msg: impl Into<String>) -> VaultError {
    VaultError::Config(msg.into())
}

/// Reads every certificate of a PEM file; a file without any is an error.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, VaultError> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| config_err(format!("cannot read {}: {e}", path.display())))?;
    let certs = iter
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_err(format!("bad PEM in {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(config_err(format!(
            "no certificate found in {}",
            path.display()
        )));
    }
    Ok(certs)
}

/// The CA certificates of `ca_file` and `ca_dir`, or `None` when neither is set.
fn custom_roots(cfg: &VaultTlsConfig) -> Result<Option<RootCertStore>, VaultError> {
    if cfg.ca_file.is_none() && cfg.ca_dir.is_none() {
        return Ok(None);
    }
    let mut files = Vec::new();
    if let Some(file) = &cfg.ca_file {
        files.push(file.clone());
    }
    if let Some(dir) = &cfg.ca_dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| config_err(format!("cannot read CA directory {}: {e}", dir.display())))?;
        let mut in_dir: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("pem" | "crt"))
            })
            .collect();
        if in_dir.is_empty() {
            return Err(config_err(format!(
                "no *.pem or *.crt file in CA directory {}",
                dir.display()
            )));
        }
        in_dir.sort();
        files.extend(in_dir);
    }
    let mut store = RootCertStore::empty();
    for file in &files {
        for cert in read_certs(file)? {
            store.add(cert).map_err(|e| {
                config_err(format!(
                    "unusable CA certificate in {}: {e}",
                    file.display()
                ))
            })?;
        }
    }
    Ok(Some(store))
}

fn client_identity(
    cfg: &VaultTlsConfig,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, VaultError> {
    match (&cfg.client_cert, &cfg.client_key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert)?;
            // The key's parse error is not shown: it could quote key material.
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|_| config_err(format!("no usable private key in {}", key.display())))?;
            Ok(Some((chain, key)))
        }
        (Some(_), None) => Err(config_err("client certificate given without a client key")),
        (None, Some(_)) => Err(config_err("client key given without a client certificate")),
    }
}

/// What a file looked like when it was read: a change to any part means
/// read it again. `None` for a file that could not be stat'ed.
type FileStamp = Option<(SystemTime, u64, u64)>;

/// The stamps of every file the TLS material comes from, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp(Vec<(PathBuf, FileStamp)>);

impl Stamp {
    fn of(cfg: &VaultTlsConfig) -> Stamp {
        let mut paths: Vec<PathBuf> = Vec::new();
        paths.extend(cfg.ca_file.iter().cloned());
        if let Some(dir) = &cfg.ca_dir {
            paths.push(dir.clone());
            if let Ok(entries) = std::fs::read_dir(dir) {
                let mut files: Vec<PathBuf> =
                    entries.filter_map(Result::ok).map(|e| e.path()).collect();
                files.sort();
                paths.extend(files);
            }
        }
        paths.extend(cfg.client_cert.iter().cloned());
        paths.extend(cfg.client_key.iter().cloned());
        Stamp(
            paths
                .into_iter()
                .map(|path| {
                    // metadata follows symlinks, so a Secret volume's ..data
                    // swap shows as a new inode.
                    let stamp = std::fs::metadata(&path)
                        .ok()
                        .and_then(|m| Some((m.modified().ok()?, m.len(), m.ino())));
                    (path, stamp)
                })
                .collect(),
        )
    }
}

/// The trust and identity read from the files at one moment.
#[derive(Debug)]
struct Material {
    stamp: Stamp,
    verifier: Arc<dyn ServerCertVerifier>,
    identity: Option<Arc<CertifiedKey>>,
}

fn material(
    cfg: &VaultTlsConfig,
    provider: &Arc<CryptoProvider>,
    stamp: Stamp,
) -> Result<Material, VaultError> {
    let algorithms = provider.signature_verification_algorithms;
    let mut verifier: Arc<dyn ServerCertVerifier> = if cfg.skip_verify {
        Arc::new(AcceptAnyCertificate { algorithms })
    } else if let Some(roots) = custom_roots(cfg)? {
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| config_err(format!("CA certificates: {e}")))?
    } else {
        Arc::new(
            rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| config_err(format!("system CA certificates: {e}")))?,
        )
    };
    if let Some(name) = cfg.server_name.as_deref().filter(|n| !n.is_empty()) {
        let name = ServerName::try_from(name.to_owned())
            .map_err(|_| config_err(format!("invalid TLS server name {name:?}")))?;
        verifier = Arc::new(FixedServerName {
            inner: verifier,
            name,
        });
    }
    let identity = match client_identity(cfg)? {
        Some((chain, key)) => {
            let certified = CertifiedKey::from_der(chain, key, provider)
                .map_err(|e| config_err(format!("client certificate and key: {e}")))?;
            Some(Arc::new(certified))
        }
        None => None,
    };
    Ok(Material {
        stamp,
        verifier,
        identity,
    })
}

/// TLS material that follows its files.
#[derive(Debug)]
struct Reloading {
    cfg: VaultTlsConfig,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<Material>>,
    /// The stamp of a change that could not be used, so it is reported once.
    refused: Mutex<Option<Stamp>>,
}

impl Reloading {
    fn new(cfg: &VaultTlsConfig, provider: Arc<CryptoProvider>) -> Result<Reloading, VaultError> {
        let first = material(cfg, &provider, Stamp::of(cfg))?;
        Ok(Reloading {
            cfg: cfg.clone(),
            provider,
            current: RwLock::new(Arc::new(first)),
            refused: Mutex::new(None),
        })
    }

    /// The material as it is now, without looking at the files.
    fn loaded(&self) -> Arc<Material> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The material, read again first if any of its files changed.
    fn fresh(&self) -> Arc<Material> {
        let stamp = Stamp::of(&self.cfg);
        let loaded = self.loaded();
        if loaded.stamp == stamp {
            return loaded;
        }
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        if refused.as_ref() == Some(&stamp) {
            return loaded;
        }
        match material(&self.cfg, &self.provider, stamp.clone()) {
            Ok(new) => {
                tracing::info!(
                    "Vault TLS files changed: new CA certificates and client identity in use"
                );
                let new = Arc::new(new);
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&new);
                *refused = None;
                new
            }
            Err(error) => {
                tracing::warn!(%error, "Vault TLS files changed but cannot be used; keeping the previous ones");
                *refused = Some(stamp);
                loaded
            }
        }
    }
}

/// Verifies with the freshest CA certificates.
#[derive(Debug)]
struct ReloadingVerifier(Arc<Reloading>);

impl ServerCertVerifier for ReloadingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Each new connection starts here: the one place to look at the files.
        self.0.fresh().verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0
            .loaded()
            .verifier
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0
            .loaded()
            .verifier
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.loaded().verifier.supported_verify_schemes()
    }
}

/// Presents the freshest client certificate.
#[derive(Debug)]
struct ReloadingIdentity(Arc<Reloading>);

impl ResolvesClientCert for ReloadingIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0.fresh().identity.clone()
    }

    fn has_certs(&self) -> bool {
        self.0.cfg.client_cert.is_some()
    }
}

/// Builds the rustls configuration for the node's Vault client.
pub(crate) fn client_config(cfg: &VaultTlsConfig) -> Result<ClientConfig, VaultError> {
    // aws-lc-rs is the provider reqwest's `rustls` feature already brings in.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let reloading = Arc::new(Reloading::new(cfg, provider.clone())?);
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_err(format!("TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReloadingVerifier(Arc::clone(&reloading))));
    let mut config = builder.with_client_cert_resolver(Arc::new(ReloadingIdentity(reloading)));
    // A preconfigured TLS config bypasses reqwest's own ALPN setup.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Checks certificates against a fixed name instead of the one in the URL.
#[derive(Debug)]
struct FixedServerName {
    inner: Arc<dyn ServerCertVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for FixedServerName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Skip-verify: any certificate chain and name is accepted, but the handshake
/// signature must still match the presented certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_build_with_system_roots() {
        let config = client_config(&VaultTlsConfig::default()).expect("config");
        assert_eq!(config.alpn_protocols[0], b"h2");
    }

    #[test]
    fn missing_ca_file_is_a_config_error() {
        let cfg = VaultTlsConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        let err = client_config(&cfg).expect_err("must fail");
        assert!(matches!(err, VaultError::Config(_)));
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn client_key_without_certificate_is_refused() {
        let cfg = VaultTlsConfig {
            client_key: Some("/tmp/key.pem".into()),
            ..Default::default()
        };
        let err = client_config(&cfg).expect_err("must fail");
        assert!(err.to_string().contains("without a client certificate"));
    }

    fn ca_pem(name: &str) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.self_signed(&key).unwrap().pem()
    }

    fn reloading_over(ca_file: &Path) -> Reloading {
        let cfg = VaultTlsConfig {
            ca_file: Some(ca_file.to_path_buf()),
            ..Default::default()
        };
        Reloading::new(
            &cfg,
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
        .unwrap()
    }

    /// Replaces a file by rename, as a Secret volume update does.
    fn rotate(path: &Path, contents: &str) {
        let tmp = path.with_extension("new");
        std::fs::write(&tmp, contents).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    #[test]
    fn unchanged_files_keep_the_material_already_read() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem("one")).unwrap();
        let tls = reloading_over(&ca);
        assert!(Arc::ptr_eq(&tls.loaded(), &tls.fresh()));
    }

    #[test]
    fn a_replaced_ca_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem("one")).unwrap();
        let tls = reloading_over(&ca);
        let first = tls.loaded();
        rotate(&ca, &ca_pem("two"));
        let second = tls.fresh();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(second.stamp, Stamp::of(&tls.cfg));
    }

    #[test]
    fn an_unusable_change_keeps_the_last_good_material_and_is_tried_once() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem("one")).unwrap();
        let tls = reloading_over(&ca);
        let good = tls.loaded();
        rotate(&ca, "half a certificate");
        assert!(Arc::ptr_eq(&good, &tls.fresh()));
        let refused = tls.refused.lock().unwrap().clone();
        assert_eq!(refused, Some(Stamp::of(&tls.cfg)));
        // A later good file is taken up.
        rotate(&ca, &ca_pem("three"));
        assert!(!Arc::ptr_eq(&good, &tls.fresh()));
        assert_eq!(*tls.refused.lock().unwrap(), None);
    }

    #[test]
    fn invalid_server_name_is_refused() {
        let cfg = VaultTlsConfig {
            server_name: Some("not a name".into()),
            ..Default::default()
        };
        assert!(client_config(&cfg).is_err());
    }
}

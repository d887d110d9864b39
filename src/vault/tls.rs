//! TLS trust for the node's Vault client, built once from node settings.
//!
//! The rustls configuration is built here rather than through reqwest's builder so
//! that a TLS server name override (Vault's `VAULT_TLS_SERVER_NAME`) can be honoured:
//! certificates are then checked against that name instead of the URL's host.

use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Builds the rustls configuration for the node's Vault client.
pub(crate) fn client_config(cfg: &VaultTlsConfig) -> Result<ClientConfig, VaultError> {
    // aws-lc-rs is the provider reqwest's `rustls` feature already brings in.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
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

    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_err(format!("TLS versions: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client_identity(cfg)? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| config_err(format!("client certificate and key: {e}")))?,
        None => builder.with_no_client_auth(),
    };
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

    #[test]
    fn invalid_server_name_is_refused() {
        let cfg = VaultTlsConfig {
            server_name: Some("not a name".into()),
            ..Default::default()
        };
        assert!(client_config(&cfg).is_err());
    }
}

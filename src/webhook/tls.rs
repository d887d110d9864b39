//! The serving certificate, read from PEM files and read again when they
//! change, so that a rotated certificate (cert-manager, or a Secret updated by
//! hand) is served to new connections without a restart.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate and key pair cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file holds no PEM certificate.
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no usable PEM private key.
    #[error("{} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {reason}", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key does not belong to the certificate (e.g. caught between the
    /// two files being replaced).
    #[error("the private key in {} does not match the certificate in {}", key.display(), cert.display())]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The provider of every TLS operation of the webhook.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A certificate and key served from two PEM files, swapped in when the
/// files change and hold a matching pair again.
pub struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// The file contents behind `current`, to notice a change.
    seen: Mutex<Vec<u8>>,
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

impl ReloadingCert {
    /// Loads the pair once; the webhook does not start without it.
    ///
    /// # Errors
    ///
    /// A file is unreadable, holds no certificate or key, or they do not match.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<ReloadingCert>, TlsError> {
        let (cert_pem, key_pem) = read_pair(cert_path, key_path)?;
        let key = certified_key(cert_path, key_path, &cert_pem, &key_pem)?;
        Ok(Arc::new(ReloadingCert {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            current: RwLock::new(Arc::new(key)),
            seen: Mutex::new(fingerprint(&cert_pem, &key_pem)),
        }))
    }

    /// Reads the files again and serves them from the next handshake on if
    /// they changed. `Ok(true)` when a new pair was taken.
    ///
    /// # Errors
    ///
    /// The changed files cannot be used; the previous pair stays in service.
    pub fn reload(&self) -> Result<bool, TlsError> {
        let (cert_pem, key_pem) = read_pair(&self.cert_path, &self.key_path)?;
        let print = fingerprint(&cert_pem, &key_pem);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if *seen == print {
            return Ok(false);
        }
        let key = certified_key(&self.cert_path, &self.key_path, &cert_pem, &key_pem)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        *seen = print;
        Ok(true)
    }

    /// Calls [`ReloadingCert::reload`] every `interval`, logging what happens;
    /// runs until dropped.
    pub async fn watch(self: Arc<Self>, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        let mut last_error = String::new();
        loop {
            ticker.tick().await;
            let this = Arc::clone(&self);
            // File reads and key parsing block; keep them off the reactor.
            let result = tokio::task::spawn_blocking(move || this.reload()).await;
            match result {
                Ok(Ok(true)) => {
                    last_error.clear();
                    tracing::info!(cert = %self.cert_path.display(), "serving the renewed certificate");
                }
                Ok(Ok(false)) => last_error.clear(),
                Ok(Err(e)) => {
                    // A rotation can be seen half done; say it once, not every tick.
                    let message = e.to_string();
                    if message != last_error {
                        tracing::warn!(error = %message, "certificate files changed but cannot be used yet; still serving the previous certificate");
                        last_error = message;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "certificate reload task failed"),
            }
        }
    }

    /// The end-entity certificate served now (DER).
    pub fn current_certificate(&self) -> Option<CertificateDer<'static>> {
        let key = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        key.cert.first().cloned()
    }

    /// A rustls server configuration that asks this pair for every handshake
    /// and offers HTTP/2 and HTTP/1.1.
    ///
    /// # Errors
    ///
    /// rustls refuses the protocol versions (not expected with its defaults).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

fn read_pair(cert_path: &Path, key_path: &Path) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    Ok((read(cert_path)?, read(key_path)?))
}

/// The two files' contents side by side, to notice a change of either.
fn fingerprint(cert_pem: &[u8], key_pem: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cert_pem.len() + key_pem.len() + 8);
    out.extend_from_slice(&(cert_pem.len() as u64).to_le_bytes());
    out.extend_from_slice(cert_pem);
    out.extend_from_slice(key_pem);
    out
}

/// Parses a PEM chain and key and checks that they belong together.
fn certified_key(
    cert_path: &Path,
    key_path: &Path,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert_path.to_owned(),
        });
    }
    let bad_key = |reason: String| TlsError::BadKey {
        path: key_path.to_owned(),
        reason,
    };
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad_key(e.to_string()))?;
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| bad_key(e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(certified),
        Err(_) => Err(TlsError::Mismatch {
            cert: cert_path.to_owned(),
            key: key_path.to_owned(),
        }),
    }
}

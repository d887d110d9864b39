//! `pkiCert`: a certificate from a PKI role that is issued again only when
//! the one already in the volume nears its end (the agent reads its own
//! destination file for this). Pure: PEM bundles in, values and times out.

use std::time::Duration;

use base64::Engine;
use x509_parser::prelude::{FromDer, X509Certificate};

use gotemplate::Value;

/// The PEM blocks of a bundle, sorted the way the agent sorts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PemBundle {
    /// The leaf certificate.
    pub cert: String,
    /// Its private key.
    pub key: String,
    /// The last CA certificate, as the agent keeps it.
    pub ca: String,
}

/// What the driver needs to know about the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validity {
    /// Start, seconds since the epoch.
    pub not_before: i64,
    /// End, seconds since the epoch.
    pub not_after: i64,
    /// Subject common name, if any.
    pub common_name: Option<String>,
}

impl Validity {
    /// How long the certificate stays good: until `threshold` of its
    /// lifetime has passed. `None` when that is already the case.
    pub(crate) fn good_for(&self, now: i64, threshold: f64) -> Option<Duration> {
        let lifetime = (self.not_after - self.not_before).max(0) as f64;
        let rotate_at = self.not_before as f64 + lifetime * threshold;
        let left = rotate_at - now as f64;
        (self.not_after > now && left > 0.0).then(|| Duration::from_secs_f64(left))
    }
}

/// Splits `text` into PEM blocks: keys, the leaf certificate, CA
/// certificates; with the leaf's validity. Non-PEM text is skipped.
pub(crate) fn parse_bundle(text: &str) -> Result<(PemBundle, Option<Validity>), String> {
    let mut bundle = PemBundle::default();
    let mut validity = None;
    for (label, der) in pem_blocks(text) {
        let encoded = encode_pem(&label, &der);
        if label.ends_with("PRIVATE KEY") {
            bundle.key = encoded;
            continue;
        }
        let (_, cert) = X509Certificate::from_der(&der)
            .map_err(|_| "a PEM block is not an X.509 certificate".to_string())?;
        let is_ca = cert
            .basic_constraints()
            .ok()
            .flatten()
            .is_some_and(|bc| bc.value.ca);
        if is_ca {
            bundle.ca = encoded;
        } else {
            validity = Some(Validity {
                not_before: cert.validity().not_before.timestamp(),
                not_after: cert.validity().not_after.timestamp(),
                common_name: cert
                    .subject()
                    .iter_common_name()
                    .next()
                    .and_then(|cn| cn.as_str().ok())
                    .map(str::to_string),
            });
            bundle.cert = encoded;
        }
    }
    Ok((bundle, validity))
}

/// The PEM text of a PKI `issue` answer's `data` as the agent builds it:
/// its string members (`certificate`, `issuing_ca`, `private_key`; the
/// `ca_chain` list is not a string and is left out), in a fixed order.
pub(crate) fn pem_text_of_issue(data: &Value) -> String {
    let Value::Map(fields) = data else {
        return String::new();
    };
    let mut text = String::new();
    for key in ["certificate", "issuing_ca", "private_key"] {
        if let Some(Value::String(s)) = fields.get(key) {
            text.push_str(s);
            text.push('\n');
        }
    }
    text
}

/// The value `pkiCert` returns: `.Cert`, `.Key`, `.CA` and the method
/// `.Data`, as consul-template's `PemEncoded`.
pub(crate) fn to_value(bundle: &PemBundle) -> Value {
    consul_funcs::pem_encoded(&bundle.cert, &bundle.key, &bundle.ca)
}

fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_string();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else {
            break;
        };
        let body: String = body_start[..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body) {
            blocks.push((label, der));
        }
        rest = &body_start[end + end_marker.len()..];
    }
    blocks
}

/// PEM as Go's `pem.EncodeToMemory` writes it: 64-column base64 lines.
fn encode_pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A still-good certificate for `common_name` (any, if `None`) among the
/// files of a volume's current generation, the way the agent reuses the
/// certificate in its destination file.
pub(crate) fn reusable(
    root: &std::path::Path,
    common_name: Option<&str>,
    now: i64,
    threshold: f64,
) -> Option<(PemBundle, Duration)> {
    let data = root.join("..data");
    let mut pending = vec![data.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok((bundle, Some(leaf))) = parse_bundle(&text) else {
                continue;
            };
            let same_name = common_name.is_none_or(|cn| leaf.common_name.as_deref() == Some(cn));
            if let (true, false, Some(left)) = (
                same_name,
                bundle.key.is_empty(),
                leaf.good_for(now, threshold),
            ) {
                return Some((bundle, left));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_good_until_the_threshold_of_its_lifetime() {
        let v = Validity {
            not_before: 1000,
            not_after: 2000,
            common_name: None,
        };
        assert_eq!(v.good_for(1500, 0.9), Some(Duration::from_secs(400)));
        assert_eq!(v.good_for(1950, 0.9), None);
        assert_eq!(v.good_for(2500, 0.9), None);
    }

    #[test]
    fn pem_blocks_are_found_among_other_text() {
        let text = "junk\n-----BEGIN X-----\nAAEC\n-----END X-----\nmore";
        assert_eq!(pem_blocks(text), vec![("X".to_string(), vec![0, 1, 2])]);
    }

    #[test]
    fn keys_are_kept_and_non_certificates_refused() {
        let key = "-----BEGIN EC PRIVATE KEY-----\nAAEC\n-----END EC PRIVATE KEY-----\n";
        let (bundle, validity) = parse_bundle(key).unwrap();
        assert!(bundle.key.contains("EC PRIVATE KEY"));
        assert_eq!(validity, None);
        let bad = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        assert!(parse_bundle(bad).is_err());
    }

    #[test]
    fn pem_lines_wrap_at_64_columns() {
        let pem = encode_pem("CERTIFICATE", &[0u8; 60]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
    }
}

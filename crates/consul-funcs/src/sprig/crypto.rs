//! sprig's crypto helpers: `derivePassword` (Master Password over scrypt,
//! byte for byte), `encryptAES`/`decryptAES` (AES-256-CBC with a random IV
//! and PKCS#7 padding, the key being the password zero-padded or cut to 32
//! bytes), `bcrypt` and `htpasswd` (`$2a$`, cost 10, as Go's
//! `x/crypto/bcrypt` writes them). Key and certificate generation is
//! refused (see `REFUSED`).

use aes::Aes256;
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use gotemplate::value::Value;

use super::random::fill;
use super::{add, text_arg};
use crate::args::{charge_bytes, string};
use crate::encoding::Base64;
use crate::funcs::{Ctx, Func, FuncError, FuncResult, Funcs, Param};

use Param::{Any, String as S};

/// Go type name of sprig's certificate pair.
pub(super) const CERT_TYPE: &str = "sprig.certificate";

/// Budget units for one scrypt derivation (32 MiB of memory work).
const SCRYPT_COST: u64 = 2_000_000;
/// Budget units for one bcrypt hash at cost 10.
const BCRYPT_COST: u64 = 200_000;

/// Registers the functions.
pub(super) fn register(funcs: &mut Funcs) {
    add(
        funcs,
        "bcrypt",
        Func::new(&[S], |ctx, a| Ok(string(bcrypt(ctx, text_arg(a, 0))?))),
    );
    add(
        funcs,
        "htpasswd",
        Func::new(&[S, S], |ctx, a| {
            let (user, password) = (text_arg(a, 0), text_arg(a, 1));
            if user.contains(':') {
                return Ok(string(format!("invalid username: {user}")));
            }
            Ok(string(format!("{user}:{}", bcrypt(ctx, password)?)))
        }),
    );
    add(
        funcs,
        "derivePassword",
        Func::new(&[Any, S, S, S, S], |ctx, a| {
            let counter = match &a[0] {
                Value::Int(i) | Value::Int64(i) if *i >= 0 => *i as u32,
                Value::Uint(u) => *u as u32,
                Value::Int(i) | Value::Int64(i) => {
                    return Err(FuncError::new(format!(
                        "expected unsigned integer; found {i}"
                    )));
                }
                other => {
                    return Err(FuncError::new(format!(
                        "wrong type for value; expected uint32; got {}",
                        other.go_type()
                    )));
                }
            };
            ctx.charge(SCRYPT_COST)?;
            derive_password(
                counter,
                text_arg(a, 1),
                text_arg(a, 2),
                text_arg(a, 3),
                text_arg(a, 4),
            )
            .map(string)
        }),
    );
    add(
        funcs,
        "encryptAES",
        Func::new(&[S, S], |ctx, a| {
            encrypt_aes(ctx, text_arg(a, 0), text_arg(a, 1))
        }),
    );
    add(
        funcs,
        "decryptAES",
        Func::new(&[S, S], |ctx, a| {
            decrypt_aes(ctx, text_arg(a, 0), text_arg(a, 1))
        }),
    );
}

/// `bcrypt.GenerateFromPassword(password, 10)`, with sprig's text for a
/// failure in place of the hash.
fn bcrypt(ctx: &mut Ctx<'_>, password: &str) -> Result<String, FuncError> {
    if password.len() > 72 {
        return Ok(
            "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes".into(),
        );
    }
    ctx.charge(BCRYPT_COST)?;
    let mut salt = [0u8; 16];
    fill(&mut salt)?;
    let parts = bcrypt::hash_with_salt(password.as_bytes(), 10, salt)
        .map_err(|e| FuncError::new(format!("bcrypt: {e}")))?;
    Ok(parts.format_for_version(bcrypt::Version::TwoA))
}

const SEED: &str = "com.lyndir.masterpassword";

fn templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn characters(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// sprig's `derivePassword` (Master Password algorithm v3).
fn derive_password(
    counter: u32,
    kind: &str,
    password: &str,
    user: &str,
    site: &str,
) -> Result<String, FuncError> {
    let Some(templates) = templates(kind) else {
        return Ok(format!("cannot find password template {kind}"));
    };
    let mut salt = SEED.as_bytes().to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let params = scrypt::Params::new(15, 8, 2)
        .map_err(|e| FuncError::new(format!("failed to derive password: {e}")))?;
    let mut key = [0u8; 64];
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key)
        .map_err(|e| FuncError::new(format!("failed to derive password: {e}")))?;
    let mut message = SEED.as_bytes().to_vec();
    message.extend_from_slice(&(site.len() as u32).to_be_bytes());
    message.extend_from_slice(site.as_bytes());
    message.extend_from_slice(&counter.to_be_bytes());
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|e| FuncError::new(format!("failed to derive password: {e}")))?;
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    Ok(template
        .bytes()
        .enumerate()
        .map(|(i, class)| {
            let chars = characters(class);
            char::from(chars[usize::from(seed[i + 1]) % chars.len()])
        })
        .collect())
}

fn aes_key(password: &str) -> Aes256 {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    Aes256::new(&Array::from(key))
}

/// sprig's `encryptAES`.
fn encrypt_aes(ctx: &mut Ctx<'_>, password: &str, plaintext: &str) -> FuncResult {
    if plaintext.is_empty() {
        return Ok(string(""));
    }
    charge_bytes(ctx, plaintext.len().saturating_mul(4))?;
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut iv = [0u8; 16];
    fill(&mut iv)?;
    let mut out = iv.to_vec();
    let mut prev = iv;
    for block in content.chunks(16) {
        let mut b = [0u8; 16];
        for i in 0..16 {
            b[i] = block[i] ^ prev[i];
        }
        let mut arr = Array::from(b);
        cipher.encrypt_block(&mut arr);
        prev = arr.into();
        out.extend_from_slice(&prev);
    }
    Ok(string(Base64::Std.encode(&out)))
}

/// sprig's `decryptAES`, with Go's runtime failures on malformed input.
fn decrypt_aes(ctx: &mut Ctx<'_>, password: &str, crypt64: &str) -> FuncResult {
    if crypt64.is_empty() {
        return Ok(string(""));
    }
    charge_bytes(ctx, crypt64.len().saturating_mul(4))?;
    let crypt = Base64::Std
        .decode(crypt64.as_bytes())
        .map_err(|at| FuncError::new(format!("illegal base64 data at input byte {at}")))?;
    let n = crypt.len();
    let cap = crypt64.len() / 4 * 3;
    if n < 16 {
        return Err(FuncError::new(if cap < 16 {
            format!("runtime error: slice bounds out of range [:16] with capacity {cap}")
        } else {
            format!("runtime error: slice bounds out of range [16:{n}]")
        }));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(FuncError::new("crypto/cipher: input not full blocks"));
    }
    if body.is_empty() {
        return Err(FuncError::new("runtime error: index out of range [-1]"));
    }
    let cipher = aes_key(password);
    let mut prev: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    let mut plain = Vec::with_capacity(body.len());
    for block in body.chunks(16) {
        let b: [u8; 16] = block.try_into().unwrap_or([0; 16]);
        let mut arr = Array::from(b);
        cipher.decrypt_block(&mut arr);
        let d: [u8; 16] = arr.into();
        for i in 0..16 {
            plain.push(d[i] ^ prev[i]);
        }
        prev = b;
    }
    let pad = usize::from(plain[plain.len() - 1]);
    let Some(keep) = plain.len().checked_sub(pad) else {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:{}]",
            plain.len() as i64 - pad as i64
        )));
    };
    plain.truncate(keep);
    Ok(Value::from_bytes(plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_password_matches_sprig_test_vectors() {
        // From sprig's crypto_test.go.
        assert_eq!(
            derive_password(1, "long", "password", "user", "example.com").unwrap(),
            "ZedaFaxcZaso9*"
        );
        assert_eq!(
            derive_password(2, "long", "password", "user", "example.com").unwrap(),
            "Fovi2@JifpTupx"
        );
        assert_eq!(
            derive_password(1, "pin", "password", "user", "example.com").unwrap(),
            "6685"
        );
    }
}

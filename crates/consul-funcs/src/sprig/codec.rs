//! `b64enc`, `b64dec`, `b32enc`, `b32dec` (Go's padded standard
//! encodings; a decoding error becomes the output, as in sprig) and the
//! digests `sha1sum`, `sha256sum`, `adler32sum`.

use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{add, text_arg};
use crate::args::{charge_bytes, string};
use crate::encoding::Base64;
use crate::funcs::{Func, Funcs, Param};
use gotemplate::value::Value;

/// Registers the encoding and digest functions.
pub(super) fn register(funcs: &mut Funcs) {
    let one = |f: fn(&str) -> Value| {
        Func::new(&[Param::String], move |ctx, a| {
            let s = text_arg(a, 0);
            charge_bytes(ctx, s.len().saturating_mul(2))?;
            Ok(f(s))
        })
    };
    add(
        funcs,
        "b64enc",
        one(|s| string(Base64::Std.encode(s.as_bytes()))),
    );
    add(
        funcs,
        "b64dec",
        one(|s| match Base64::Std.decode(s.as_bytes()) {
            Ok(bytes) => Value::from_bytes(bytes),
            Err(at) => string(format!("illegal base64 data at input byte {at}")),
        }),
    );
    add(
        funcs,
        "b32enc",
        one(|s| string(base32_encode(s.as_bytes()))),
    );
    add(
        funcs,
        "b32dec",
        one(|s| match base32_decode(s.as_bytes()) {
            Ok(bytes) => Value::from_bytes(bytes),
            Err(at) => string(format!("illegal base32 data at input byte {at}")),
        }),
    );
    add(
        funcs,
        "sha1sum",
        one(|s| string(hex(&Sha1::digest(s.as_bytes())))),
    );
    add(
        funcs,
        "sha256sum",
        one(|s| string(hex(&Sha256::digest(s.as_bytes())))),
    );
    add(
        funcs,
        "adler32sum",
        one(|s| string(adler32(s.as_bytes()).to_string())),
    );
}

/// Lower-case hexadecimal.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hash/adler32.Checksum`.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `base32.StdEncoding.EncodeToString`.
fn base32_encode(src: &[u8]) -> String {
    let mut out = String::with_capacity(src.len().div_ceil(5) * 8);
    for chunk in src.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let symbols = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < symbols {
                let idx = (bits >> (35 - 5 * i)) & 0x1F;
                out.push(char::from(B32[idx as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base32.StdEncoding.DecodeString`: newlines are dropped first, then
/// Go's quantum decoder runs; on failure, the offset Go reports.
fn base32_decode(input: &[u8]) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = input
        .iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect();
    let olen = src.len();
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut end = false;
    while pos < olen && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0;
        while j < 8 {
            if pos == olen {
                return Err(olen - (olen - pos) - j);
            }
            let c = src[pos];
            pos += 1;
            let left = olen - pos;
            if c == b'=' && j >= 2 && left < 8 {
                if left + j < 7 {
                    return Err(olen);
                }
                for k in 0..(7 - j) {
                    if left > k && src[pos + k] != b'=' {
                        return Err(olen - left + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(olen - left - 1);
                }
                break;
            }
            match B32.iter().position(|&s| s == c) {
                Some(v) => dbuf[j] = v as u8,
                None => return Err(olen - left - 1),
            }
            j += 1;
        }
        let d = dbuf;
        let bytes = [
            (d[0] << 3) | (d[1] >> 2),
            (d[1] << 6) | (d[2] << 1) | (d[3] >> 4),
            (d[3] << 4) | (d[4] >> 1),
            (d[4] << 7) | (d[5] << 2) | (d[6] >> 3),
            (d[6] << 5) | d[7],
        ];
        let n = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..n]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_base32_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), coded);
            assert_eq!(
                base32_decode(coded.as_bytes()),
                Ok(plain.as_bytes().to_vec())
            );
        }
    }

    #[test]
    fn base32_errors_name_the_byte() {
        assert_eq!(base32_decode(b"MZXW6YQ"), Err(0));
        assert_eq!(base32_decode(b"MZ!W6YTB"), Err(2));
        assert_eq!(base32_decode(b"M======="), Err(1));
    }

    #[test]
    fn adler32_of_wikipedia() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
    }
}

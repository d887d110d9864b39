//! `base64Encode`, `base64Decode`, `base64URLEncode`, `base64URLDecode`
//! (Go's padded standard and URL alphabets) and the digests `sha256Hex`,
//! `md5sum`, `hmacSHA256Hex`.

use crate::args::{charge_bytes, string, text};
use crate::digest;
use crate::funcs::{Func, FuncError, Funcs, Param};
use gotemplate::value::Value;

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Registers the encoding and digest functions.
pub fn register(funcs: &mut Funcs) {
    for (name, alphabet) in [("base64Encode", STD), ("base64URLEncode", URL)] {
        funcs.insert(
            name,
            Func::new(&[Param::String], move |ctx, a| {
                let s = text(&a[0]);
                charge_bytes(ctx, s.len().saturating_mul(2))?;
                Ok(string(encode(s.as_bytes(), alphabet)))
            }),
        );
    }
    for (name, alphabet) in [("base64Decode", STD), ("base64URLDecode", URL)] {
        funcs.insert(
            name,
            Func::new(&[Param::String], move |ctx, a| {
                let s = text(&a[0]);
                charge_bytes(ctx, s.len())?;
                let bytes = decode(s.as_bytes(), alphabet).map_err(|at| {
                    FuncError::new(format!("{name}: illegal base64 data at input byte {at}"))
                })?;
                // Go keeps any bytes in a string; non-UTF-8 data becomes a
                // binary string the engine writes out as is.
                Ok(Value::from_bytes(bytes))
            }),
        );
    }
    funcs.insert(
        "sha256Hex",
        Func::new(&[Param::String], |ctx, a| {
            let s = text(&a[0]);
            charge_bytes(ctx, s.len())?;
            Ok(string(digest::hex(&digest::sha256(s.as_bytes()))))
        }),
    );
    funcs.insert(
        "md5sum",
        Func::new(&[Param::String], |ctx, a| {
            let s = text(&a[0]);
            charge_bytes(ctx, s.len())?;
            Ok(string(digest::hex(&digest::md5(s.as_bytes()))))
        }),
    );
    // hmacSHA256Hex(message, key): the key is last, so it can be piped.
    funcs.insert(
        "hmacSHA256Hex",
        Func::new(&[Param::String, Param::String], |ctx, a| {
            let (message, key) = (text(&a[0]), text(&a[1]));
            charge_bytes(ctx, message.len().saturating_add(key.len()))?;
            Ok(string(digest::hex(&digest::hmac_sha256(
                key.as_bytes(),
                message.as_bytes(),
            ))))
        }),
    );
}

/// Base64 with `=` padding.
pub fn encode(data: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let symbols = [n >> 18, n >> 12, n >> 6, n];
        for (i, s) in symbols.iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(alphabet[(s & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's `Encoding.DecodeString` for a padded encoding: `\r` and `\n` are
/// skipped anywhere, padding is required, bits after the last symbol are
/// ignored. On failure, the offset of the offending byte, as Go reports it.
pub fn decode(src: &[u8], alphabet: &[u8; 64]) -> Result<Vec<u8>, usize> {
    let mut map = [0xFFu8; 256];
    for (i, &c) in alphabet.iter().enumerate() {
        map[usize::from(c)] = i as u8;
    }
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        let mut quantum = [0u8; 4];
        let mut len = 4;
        let mut j = 0;
        let mut trailing_error = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                // A padded encoding needs full quanta.
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            let v = map[usize::from(c)];
            if v != 0xFF {
                quantum[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                trailing_error = Some(si);
            }
            len = j;
            break;
        }
        let n = u32::from(quantum[0]) << 18
            | u32::from(quantum[1]) << 12
            | u32::from(quantum[2]) << 6
            | u32::from(quantum[3]);
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..len - 1]);
        if let Some(at) = trailing_error {
            return Err(at);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_with_padding() {
        assert_eq!(encode(b"", STD), "");
        assert_eq!(encode(b"f", STD), "Zg==");
        assert_eq!(encode(b"fo", STD), "Zm8=");
        assert_eq!(encode(b"foo", STD), "Zm9v");
        assert_eq!(encode(&[0xfb, 0xff], URL), "-_8=");
    }

    #[test]
    fn decodes_across_line_breaks() {
        assert_eq!(decode(b"Zm9v\r\nYmFy", STD).unwrap(), b"foobar");
    }

    #[test]
    fn missing_padding_fails_at_the_quantum_start() {
        assert_eq!(decode(b"Zm9vYg", STD), Err(4));
    }

    #[test]
    fn data_after_padding_fails_where_it_starts() {
        assert_eq!(decode(b"Zg==Zg==", STD), Err(4));
    }

    #[test]
    fn foreign_symbol_fails_at_its_offset() {
        assert_eq!(decode(b"Zm9v*", STD), Err(4));
        assert_eq!(decode(b"-_8=", STD), Err(0));
    }

    #[test]
    fn single_symbol_padding_is_refused() {
        assert_eq!(decode(b"Z===", STD), Err(1));
    }
}

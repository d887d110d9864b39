//! `base64Encode`, `base64Decode`, `base64URLEncode`, `base64URLDecode`
//! (Go's padded standard and URL alphabets) and the digests `sha256Hex`,
//! `md5sum`, `hmacSHA256Hex` (RustCrypto's `sha2`, `md-5` and `hmac`).

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::args::{charge_bytes, string, text};
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
            Ok(string(hex(&Sha256::digest(s.as_bytes()))))
        }),
    );
    funcs.insert(
        "md5sum",
        Func::new(&[Param::String], |ctx, a| {
            let s = text(&a[0]);
            charge_bytes(ctx, s.len())?;
            Ok(string(hex(&Md5::digest(s.as_bytes()))))
        }),
    );
    // hmacSHA256Hex(message, key): the key is last, so it can be piped.
    funcs.insert(
        "hmacSHA256Hex",
        Func::new(&[Param::String, Param::String], |ctx, a| {
            let (message, key) = (text(&a[0]), text(&a[1]));
            charge_bytes(ctx, message.len().saturating_add(key.len()))?;
            // HMAC takes a key of any length; the error cannot happen.
            let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
                .map_err(|e| FuncError::new(format!("hmacSHA256Hex: {e}")))?;
            mac.update(message.as_bytes());
            Ok(string(hex(&mac.finalize().into_bytes())))
        }),
    );
}

/// Lower-case hexadecimal, as Go's `hex.EncodeToString`.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    out
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
    use crate::request::Secrets;
    use crate::test_support::execute;
    use gotemplate::{Options, Template};

    fn run(text: &str) -> Result<String, String> {
        let funcs = crate::standard();
        let options = Options::default();
        let template = Template::parse(text, &funcs, &options).map_err(|e| e.to_string())?;
        execute(&template, &funcs, &Secrets::new(), &options)
            .map(|outcome| String::from_utf8_lossy(&outcome.output).into_owned())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn standard_sha256_vector_for_empty_text() {
        assert_eq!(
            run(r#"{{ sha256Hex "" }}"#).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn standard_sha256_vector_for_abc() {
        assert_eq!(
            run(r#"{{ sha256Hex "abc" }}"#).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn standard_sha256_vector_across_two_blocks() {
        assert_eq!(
            run(r#"{{ sha256Hex "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" }}"#)
                .unwrap(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn rfc_1321_vectors_from_md5sum() {
        assert_eq!(
            run(r#"{{ md5sum "" }} {{ md5sum "abc" }}"#).unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e 900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            run(r#"{{ md5sum "12345678901234567890123456789012345678901234567890123456789012345678901234567890" }}"#)
                .unwrap(),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn hmac_sha256_hex_takes_the_message_first_rfc_4231_case_2() {
        assert_eq!(
            run(r#"{{ hmacSHA256Hex "what do ya want for nothing?" "Jefe" }}"#).unwrap(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The key last, so it can be piped.
        assert_eq!(
            run(r#"{{ "Jefe" | hmacSHA256Hex "what do ya want for nothing?" }}"#).unwrap(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_sha256_hex_matches_rfc_4231_case_1() {
        // The key is twenty 0x0b bytes: `\v` in a Go string.
        let key = "\\v".repeat(20);
        assert_eq!(
            run(&format!(r#"{{{{ hmacSHA256Hex "Hi There" "{key}" }}}}"#)).unwrap(),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

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

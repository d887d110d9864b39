//! `base64Encode`, `base64Decode`, `base64URLEncode`, `base64URLDecode`
//! (Go's padded standard and URL alphabets) and the digests `sha256Hex`,
//! `md5sum`, `hmacSHA256Hex` (RustCrypto's `sha2`, `md-5` and `hmac`).

use std::borrow::Cow;

use base64::Engine;
use base64::alphabet::{self, Alphabet};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::args::{bytes, charge_bytes, string, text};
use crate::funcs::{Func, FuncError, Funcs, Param};
use gotemplate::value::Value;

/// Go's padded encodings: decoding wants canonical `=` padding and, like
/// Go's (unless `.Strict()`), ignores the bits after the last symbol.
const GO_PADDED: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(true)
    .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
    .with_decode_allow_trailing_bits(true);
const STD_ENGINE: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, GO_PADDED);
const URL_ENGINE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, GO_PADDED);

/// One of Go's padded `encoding/base64` encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base64 {
    /// `base64.StdEncoding`: `+` and `/`.
    Std,
    /// `base64.URLEncoding`: `-` and `_`.
    Url,
}

impl Base64 {
    fn engine(self) -> &'static GeneralPurpose {
        match self {
            Base64::Std => &STD_ENGINE,
            Base64::Url => &URL_ENGINE,
        }
    }

    fn alphabet(self) -> &'static Alphabet {
        match self {
            Base64::Std => &alphabet::STANDARD,
            Base64::Url => &alphabet::URL_SAFE,
        }
    }

    /// Go's `EncodeToString`: `=`-padded.
    pub(crate) fn encode(self, data: &[u8]) -> String {
        self.engine().encode(data)
    }

    /// Go's `DecodeString`: `\r` and `\n` are skipped anywhere, padding is
    /// required, bits after the last symbol are ignored. On failure, the
    /// offset Go reports in `illegal base64 data at input byte N`.
    pub(crate) fn decode(self, src: &[u8]) -> Result<Vec<u8>, usize> {
        let symbols: Cow<'_, [u8]> = if src.iter().any(|&c| is_newline(c)) {
            Cow::Owned(src.iter().copied().filter(|&c| !is_newline(c)).collect())
        } else {
            Cow::Borrowed(src)
        };
        self.engine().decode(&symbols).map_err(|_| {
            // The crate and Go's rules refuse the same inputs (checked
            // exhaustively in the tests): the fallback is never taken.
            go_error_offset(src, self.alphabet()).unwrap_or(src.len())
        })
    }
}

/// Registers the encoding and digest functions.
pub(crate) fn register(funcs: &mut Funcs) {
    for (name, encoding) in [
        ("base64Encode", Base64::Std),
        ("base64URLEncode", Base64::Url),
    ] {
        funcs.insert(
            name,
            Func::new(&[Param::String], move |ctx, a| {
                let s = bytes(&a[0]);
                charge_bytes(ctx, s.len().saturating_mul(2))?;
                Ok(string(encoding.encode(s)))
            })
            .binary(),
        );
    }
    for (name, encoding) in [
        ("base64Decode", Base64::Std),
        ("base64URLDecode", Base64::Url),
    ] {
        funcs.insert(
            name,
            Func::new(&[Param::String], move |ctx, a| {
                let s = text(&a[0]);
                charge_bytes(ctx, s.len())?;
                let bytes = encoding.decode(s.as_bytes()).map_err(|at| {
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
            let s = bytes(&a[0]);
            charge_bytes(ctx, s.len())?;
            Ok(string(hex(&Sha256::digest(s))))
        })
        .binary(),
    );
    funcs.insert(
        "md5sum",
        Func::new(&[Param::String], |ctx, a| {
            let s = bytes(&a[0]);
            charge_bytes(ctx, s.len())?;
            Ok(string(hex(&Md5::digest(s))))
        })
        .binary(),
    );
    // hmacSHA256Hex(message, key): the key is last, so it can be piped.
    funcs.insert(
        "hmacSHA256Hex",
        Func::new(&[Param::String, Param::String], |ctx, a| {
            let (message, key) = (bytes(&a[0]), bytes(&a[1]));
            charge_bytes(ctx, message.len().saturating_add(key.len()))?;
            // HMAC takes a key of any length; the error cannot happen.
            let mut mac = Hmac::<Sha256>::new_from_slice(key)
                .map_err(|e| FuncError::new(format!("hmacSHA256Hex: {e}")))?;
            mac.update(message);
            Ok(string(hex(&mac.finalize().into_bytes())))
        })
        .binary(),
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

fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// Where Go's decoder (`decodeQuantum`) stops on bad input, `None` when it
/// accepts it. The base64 crate refuses the same inputs but reports other
/// offsets, or none: `Zm9vYg` (missing padding) is the crate's
/// `InvalidPadding` and Go's byte 4; `Zg==Zg==` is the crate's byte 2 and
/// Go's byte 4; `Zm9vY` is the crate's `InvalidLength` and Go's byte 4.
fn go_error_offset(src: &[u8], alphabet: &Alphabet) -> Option<usize> {
    let symbols = alphabet.as_str().as_bytes();
    let mut si = 0;
    loop {
        // One quantum of four symbols.
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                // A padded encoding needs full quanta.
                return (j > 0).then(|| si - j);
            }
            let c = src[si];
            si += 1;
            if symbols.contains(&c) {
                j += 1;
                continue;
            }
            if is_newline(c) {
                continue;
            }
            if c != b'=' || j < 2 {
                return Some(si - 1);
            }
            if j == 2 {
                // A second `=` must follow, newlines allowed between.
                while si < src.len() && is_newline(src[si]) {
                    si += 1;
                }
                if si == src.len() {
                    return Some(src.len());
                }
                if src[si] != b'=' {
                    return Some(si - 1);
                }
                si += 1;
            }
            // Only newlines may follow the padding.
            while si < src.len() && is_newline(src[si]) {
                si += 1;
            }
            return (si < src.len()).then_some(si);
        }
    }
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

    use Base64::{Std, Url};

    #[test]
    fn encodes_with_padding() {
        assert_eq!(Std.encode(b""), "");
        assert_eq!(Std.encode(b"f"), "Zg==");
        assert_eq!(Std.encode(b"fo"), "Zm8=");
        assert_eq!(Std.encode(b"foo"), "Zm9v");
        assert_eq!(Std.encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn url_alphabet_uses_dash_and_underscore() {
        assert_eq!(Url.encode(&[0xfb, 0xff]), "-_8=");
        assert_eq!(Url.decode(b"-_8="), Ok(vec![0xfb, 0xff]));
        assert_eq!(Url.decode(b"+/8="), Err(0));
    }

    #[test]
    fn decodes_with_both_paddings() {
        assert_eq!(Std.decode(b"Zg=="), Ok(b"f".to_vec()));
        assert_eq!(Std.decode(b"Zm8="), Ok(b"fo".to_vec()));
        assert_eq!(Std.decode(b"Zm9v"), Ok(b"foo".to_vec()));
        assert_eq!(Std.decode(b""), Ok(Vec::new()));
    }

    #[test]
    fn decodes_across_line_breaks() {
        assert_eq!(Std.decode(b"Zm9v\r\nYmFy"), Ok(b"foobar".to_vec()));
        assert_eq!(Std.decode(b"Zg=\n=\n"), Ok(b"f".to_vec()));
    }

    #[test]
    fn bits_after_the_last_symbol_are_ignored() {
        // Go checks them only with `.Strict()`.
        assert_eq!(Std.decode(b"Zh=="), Ok(b"f".to_vec()));
        assert_eq!(Std.decode(b"Zm9="), Ok(b"fo".to_vec()));
    }

    #[test]
    fn missing_padding_fails_at_the_quantum_start() {
        assert_eq!(Std.decode(b"Zm9vYg"), Err(4));
        assert_eq!(Std.decode(b"Zm9vY"), Err(4));
        assert_eq!(Std.decode(b"Z"), Err(0));
    }

    #[test]
    fn half_padding_fails_at_the_end() {
        assert_eq!(Std.decode(b"Zg="), Err(3));
        assert_eq!(Std.decode(b"Zg=\n"), Err(4));
    }

    #[test]
    fn symbol_after_a_single_pad_fails_at_the_pad() {
        assert_eq!(Std.decode(b"Zg=a"), Err(2));
    }

    #[test]
    fn data_after_padding_fails_where_it_starts() {
        assert_eq!(Std.decode(b"Zg==Zg=="), Err(4));
        assert_eq!(Std.decode(b"Zm8=\nZ"), Err(5));
    }

    #[test]
    fn foreign_symbol_fails_at_its_offset() {
        assert_eq!(Std.decode(b"Zm9v*"), Err(4));
        assert_eq!(Std.decode(b"-_8="), Err(0));
    }

    #[test]
    fn single_symbol_padding_is_refused() {
        assert_eq!(Std.decode(b"Z==="), Err(1));
        assert_eq!(Std.decode(b"Zm9v===="), Err(4));
    }

    #[test]
    fn base64_decode_error_names_the_byte() {
        let e = run(r#"{{ base64Decode "Zm9vYg" }}"#).unwrap_err();
        assert!(
            e.ends_with(
                "error calling base64Decode: base64Decode: illegal base64 data at input byte 4"
            ),
            "{e}"
        );
    }

    #[test]
    fn crate_and_go_rules_refuse_the_same_inputs() {
        // Every text of up to eight bytes over symbols, a symbol with
        // non-zero trailing bits, padding, a newline and a foreign byte.
        const BYTES: &[u8] = b"Ah=\n-";
        let mut text = Vec::new();
        for len in 0..=8u32 {
            for mut n in 0..BYTES.len().pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push(BYTES[n % BYTES.len()]);
                    n /= BYTES.len();
                }
                let symbols: Vec<u8> = text.iter().copied().filter(|&c| c != b'\n').collect();
                let crate_ok = STD_ENGINE.decode(&symbols).is_ok();
                let go_ok = go_error_offset(&text, &alphabet::STANDARD).is_none();
                assert_eq!(crate_ok, go_ok, "{:?}", String::from_utf8_lossy(&text));
            }
        }
    }
}

//! sprig's random functions, from the operating system's generator:
//! `randAlphaNum`, `randAlpha`, `randAscii`, `randNumeric` (goutils'
//! alphabets), `randBytes`, `randInt`, `shuffle` and `uuidv4`. Their
//! output has the agent's form (length, alphabet), not its bytes.

use gotemplate::value::Value;

use super::codec::hex;
use super::{add, int, text_arg};
use crate::args::{charge_bytes, string};
use crate::encoding::Base64;
use crate::funcs::{Ctx, Func, FuncError, Funcs, Param};

/// Random bytes from the operating system.
pub(super) fn fill(buf: &mut [u8]) -> Result<(), FuncError> {
    getrandom::fill(buf).map_err(|e| FuncError::new(format!("reading random bytes: {e}")))
}

/// A uniform random number below `n` (> 0).
fn below(n: u64) -> Result<u64, FuncError> {
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let mut b = [0u8; 8];
        fill(&mut b)?;
        let x = u64::from_le_bytes(b);
        if x < zone {
            return Ok(x % n);
        }
    }
}

/// `count` characters drawn from `alphabet`; nothing for a negative count
/// (goutils' error, which sprig drops).
fn random_string(ctx: &mut Ctx<'_>, count: i64, alphabet: &[u8]) -> Result<Value, FuncError> {
    let Ok(count) = usize::try_from(count) else {
        return Ok(string(""));
    };
    charge_bytes(ctx, count.saturating_mul(8))?;
    let mut out = String::with_capacity(count);
    for _ in 0..count {
        let i = below(alphabet.len() as u64)? as usize;
        out.push(char::from(alphabet[i]));
    }
    Ok(string(out))
}

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

/// Registers the random functions.
pub(super) fn register(funcs: &mut Funcs) {
    let alnum: Vec<u8> = [DIGITS, LETTERS].concat();
    let ascii: Vec<u8> = (32u8..127).collect();
    for (name, alphabet) in [
        ("randAlphaNum", alnum),
        ("randAlpha", LETTERS.to_vec()),
        ("randAscii", ascii),
        ("randNumeric", DIGITS.to_vec()),
    ] {
        add(
            funcs,
            name,
            Func::new(&[Param::Int], move |ctx, a| {
                random_string(ctx, int(&a[0]), &alphabet)
            }),
        );
    }
    add(
        funcs,
        "randBytes",
        Func::new(&[Param::Int], |ctx, a| {
            let Ok(count) = usize::try_from(int(&a[0])) else {
                return Err(FuncError::new("runtime error: makeslice: len out of range"));
            };
            charge_bytes(ctx, count.saturating_mul(2))?;
            let mut buf = vec![0u8; count];
            fill(&mut buf)?;
            Ok(string(Base64::Std.encode(&buf)))
        }),
    );
    add(
        funcs,
        "randInt",
        Func::new(&[Param::Int, Param::Int], |_, a| {
            let (min, max) = (int(&a[0]), int(&a[1]));
            let n = max.wrapping_sub(min);
            if n <= 0 {
                return Err(FuncError::new("invalid argument to Intn"));
            }
            Ok(Value::Int((below(n as u64)? as i64).wrapping_add(min)))
        }),
    );
    add(
        funcs,
        "shuffle",
        Func::new(&[Param::String], |ctx, a| {
            let s = text_arg(a, 0);
            charge_bytes(ctx, s.len().saturating_mul(8))?;
            let mut chars: Vec<char> = s.chars().collect();
            for i in (1..chars.len()).rev() {
                let j = below(i as u64 + 1)? as usize;
                chars.swap(i, j);
            }
            Ok(string(chars.into_iter().collect::<String>()))
        }),
    );
    add(
        funcs,
        "uuidv4",
        Func::new(&[], |_, _| Ok(string(uuid_v4()?))),
    );
}

/// A random (version 4, RFC 4122 variant) UUID in its lower-case form.
fn uuid_v4() -> Result<String, FuncError> {
    let mut b = [0u8; 16];
    fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_and_variant() {
        let u = uuid_v4().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!("89ab".contains(&u[19..20]));
    }
}

//! sprig v3.2.3's function map, which the OpenBao agent registers under
//! the `sprig_` prefix (`sprig_upper`, `sprig_dict`, `sprig_semver`, ...),
//! with Go's parameter types, conversions, output and error messages.
//!
//! A few functions are answered from the Pod's context instead of the
//! node's (`sprig_env`, `sprig_expandenv`), and a few are refused when
//! called, naming themselves and why ([`REFUSED`]). Functions whose output
//! is random or depends on the clock (`sprig_uuidv4`, `sprig_randAlpha`,
//! `sprig_now`, `sprig_bcrypt`, ...) produce output of the same form as
//! the agent's.

mod codec;
mod conv;
mod crypto;
mod date;
mod defaults;
mod dicts;
mod env;
mod lists;
mod numeric;
mod parsetime;
mod paths;
mod random;
mod regex;
mod semver;
mod strings;
mod url;

use gotemplate::value::Value;

use crate::args::{charge_bytes, text};
use crate::funcs::{Ctx, Func, FuncError, Funcs};
use crate::gotime::Clock;

/// Every name of sprig v3.2.3's `genericMap`, without the `sprig_` prefix.
pub const NAMES: &[&str] = &[
    "hello",
    "ago",
    "date",
    "date_in_zone",
    "date_modify",
    "dateInZone",
    "dateModify",
    "duration",
    "durationRound",
    "htmlDate",
    "htmlDateInZone",
    "must_date_modify",
    "mustDateModify",
    "mustToDate",
    "now",
    "toDate",
    "unixEpoch",
    "abbrev",
    "abbrevboth",
    "trunc",
    "trim",
    "upper",
    "lower",
    "title",
    "untitle",
    "substr",
    "repeat",
    "trimall",
    "trimAll",
    "trimSuffix",
    "trimPrefix",
    "nospace",
    "initials",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "swapcase",
    "shuffle",
    "snakecase",
    "camelcase",
    "kebabcase",
    "wrap",
    "wrapWith",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "quote",
    "squote",
    "cat",
    "indent",
    "nindent",
    "replace",
    "plural",
    "sha1sum",
    "sha256sum",
    "adler32sum",
    "toString",
    "atoi",
    "int64",
    "int",
    "float64",
    "seq",
    "toDecimal",
    "split",
    "splitList",
    "splitn",
    "toStrings",
    "until",
    "untilStep",
    "add1",
    "add",
    "sub",
    "div",
    "mod",
    "mul",
    "randInt",
    "add1f",
    "addf",
    "subf",
    "divf",
    "mulf",
    "biggest",
    "max",
    "min",
    "maxf",
    "minf",
    "ceil",
    "floor",
    "round",
    "join",
    "sortAlpha",
    "default",
    "empty",
    "coalesce",
    "all",
    "any",
    "compact",
    "mustCompact",
    "fromJson",
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "mustFromJson",
    "mustToJson",
    "mustToPrettyJson",
    "mustToRawJson",
    "ternary",
    "deepCopy",
    "mustDeepCopy",
    "typeOf",
    "typeIs",
    "typeIsLike",
    "kindOf",
    "kindIs",
    "deepEqual",
    "env",
    "expandenv",
    "getHostByName",
    "base",
    "dir",
    "clean",
    "ext",
    "isAbs",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "b64enc",
    "b64dec",
    "b32enc",
    "b32dec",
    "tuple",
    "list",
    "dict",
    "get",
    "set",
    "unset",
    "hasKey",
    "pluck",
    "keys",
    "pick",
    "omit",
    "merge",
    "mergeOverwrite",
    "mustMerge",
    "mustMergeOverwrite",
    "values",
    "append",
    "push",
    "mustAppend",
    "mustPush",
    "prepend",
    "mustPrepend",
    "first",
    "mustFirst",
    "rest",
    "mustRest",
    "last",
    "mustLast",
    "initial",
    "mustInitial",
    "reverse",
    "mustReverse",
    "uniq",
    "mustUniq",
    "without",
    "mustWithout",
    "has",
    "mustHas",
    "slice",
    "mustSlice",
    "concat",
    "dig",
    "chunk",
    "mustChunk",
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "randBytes",
    "uuidv4",
    "semver",
    "semverCompare",
    "fail",
    "regexMatch",
    "mustRegexMatch",
    "regexFindAll",
    "mustRegexFindAll",
    "regexFind",
    "mustRegexFind",
    "regexReplaceAll",
    "mustRegexReplaceAll",
    "regexReplaceAllLiteral",
    "mustRegexReplaceAllLiteral",
    "regexSplit",
    "mustRegexSplit",
    "regexQuoteMeta",
    "urlParse",
    "urlJoin",
];

/// The sprig functions refused here, and why (the message they fail with).
pub const REFUSED: &[(&str, &str)] = &[
    (
        "getHostByName",
        "sprig_getHostByName: DNS lookups from the node are not allowed in vault-csi-driver templates",
    ),
    (
        "genPrivateKey",
        "sprig_genPrivateKey: generating keys in templates is not supported by vault-csi-driver (no RSA/DSA/X.509 stack); issue keys and certificates with Vault's PKI (pkiCert)",
    ),
    (
        "buildCustomCert",
        "sprig_buildCustomCert: certificate handling in templates is not supported by vault-csi-driver (no X.509 stack); use Vault's PKI (pkiCert)",
    ),
    (
        "genCA",
        "sprig_genCA: generating certificates in templates is not supported by vault-csi-driver (no RSA/X.509 stack); use Vault's PKI (pkiCert)",
    ),
    (
        "genCAWithKey",
        "sprig_genCAWithKey: generating certificates in templates is not supported by vault-csi-driver (no X.509 stack); use Vault's PKI (pkiCert)",
    ),
    (
        "genSelfSignedCert",
        "sprig_genSelfSignedCert: generating certificates in templates is not supported by vault-csi-driver (no RSA/X.509 stack); use Vault's PKI (pkiCert)",
    ),
    (
        "genSelfSignedCertWithKey",
        "sprig_genSelfSignedCertWithKey: generating certificates in templates is not supported by vault-csi-driver (no X.509 stack); use Vault's PKI (pkiCert)",
    ),
    (
        "genSignedCert",
        "sprig_genSignedCert: generating certificates in templates is not supported by vault-csi-driver (no RSA/X.509 stack); use Vault's PKI (pkiCert)",
    ),
    (
        "genSignedCertWithKey",
        "sprig_genSignedCertWithKey: generating certificates in templates is not supported by vault-csi-driver (no X.509 stack); use Vault's PKI (pkiCert)",
    ),
];

/// Registers every sprig function under its `sprig_` name; `clock` is what
/// `sprig_now`, `sprig_date` of a non-time and `sprig_ago` read.
pub fn register(funcs: &mut Funcs, clock: Clock) {
    strings::register(funcs);
    codec::register(funcs);
    numeric::register(funcs);
    defaults::register(funcs);
    lists::register(funcs);
    dicts::register(funcs);
    paths::register(funcs);
    regex::register(funcs);
    url::register(funcs);
    semver::register(funcs);
    crypto::register(funcs);
    random::register(funcs);
    date::register(funcs, clock);
    env::register(funcs);
    for &(name, reason) in REFUSED {
        add(
            funcs,
            name,
            Func::variadic(&[], gotemplate::Param::Any, move |_, _| {
                Err(FuncError::new(reason))
            }),
        );
    }
}

/// Registers `func` as `sprig_NAME`.
fn add(funcs: &mut Funcs, name: &str, func: Func) {
    funcs.insert(&format!("sprig_{name}"), func);
}

/// The text of argument `i` (a `string` parameter).
fn text_arg(a: &[Value], i: usize) -> &str {
    a.get(i).map(text).unwrap_or("")
}

/// An `int` argument (the engine has checked the type).
fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

/// Go's `strings.Repeat`, charged to the budget before the work.
fn repeat_charged(ctx: &mut Ctx<'_>, s: &str, count: i64) -> Result<String, FuncError> {
    if count < 0 {
        return Err(FuncError::new("strings: negative Repeat count"));
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    let Some(size) = s.len().checked_mul(count) else {
        return Err(FuncError::new("strings: Repeat output length overflow"));
    };
    charge_bytes(ctx, size)?;
    Ok(s.repeat(count))
}

/// Checks a Go slice expression `s[from:to]` on a string of length
/// `len`, failing with the runtime's message when it is out of range.
fn bounds(from: i64, to: i64, len: i64) -> Result<(usize, usize), FuncError> {
    if to < 0 {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:{to}]"
        )));
    }
    if to > len {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:{to}] with length {len}"
        )));
    }
    if from < 0 || from > to {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [{from}:{to}]"
        )));
    }
    Ok((from as usize, to as usize))
}

#[cfg(test)]
mod tests {
    use super::NAMES;
    use crate::request::Secrets;
    use crate::test_support::execute;
    use gotemplate::{Options, Template};

    /// Arguments that probe types, signs, extremes and odd shapes.
    const ARGS: &[&str] = &[
        "nil",
        "0",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "1.5",
        "-1e308",
        "\"\"",
        "\"a,b$HOME/..é\"",
        "\"(\"",
        "true",
        "(sprig_list 1 \"a\" nil (sprig_list))",
        "(sprig_dict \"a\" (sprig_dict \"b\" 1))",
        "(sprig_splitList \",\" \"x,y\")",
        "sprig_now",
    ];

    /// Slow by design (scrypt, bcrypt): probed with fewer arguments.
    const SLOW: &[&str] = &["derivePassword", "bcrypt", "htpasswd"];

    fn run(text: &str) {
        static FUNCS: std::sync::LazyLock<crate::funcs::Funcs> =
            std::sync::LazyLock::new(crate::standard);
        let options = Options::default();
        if let Ok(template) = Template::parse(text, &FUNCS, &options) {
            let _ = execute(&template, &FUNCS, &Secrets::new(), &options);
        }
    }

    #[test]
    fn no_argument_combination_panics() {
        for name in NAMES {
            let slow = SLOW.contains(name);
            run(&format!("{{{{ sprig_{name} }}}}"));
            for a in ARGS {
                run(&format!("{{{{ sprig_{name} {a} }}}}"));
                if slow {
                    continue;
                }
                for b in ARGS {
                    run(&format!("{{{{ sprig_{name} {a} {b} }}}}"));
                }
            }
            if slow {
                continue;
            }
            // Three arguments: each value once in every position.
            for (i, a) in ARGS.iter().enumerate() {
                let b = ARGS[(i + 3) % ARGS.len()];
                let c = ARGS[(i + 7) % ARGS.len()];
                run(&format!("{{{{ sprig_{name} {a} {b} {c} }}}}"));
                run(&format!("{{{{ sprig_{name} {b} {c} {a} }}}}"));
                run(&format!("{{{{ sprig_{name} {c} {a} {b} \"x\" 1 }}}}"));
            }
        }
    }

    fn render(text: &str) -> String {
        let funcs = crate::standard();
        let options = Options::default();
        let template = Template::parse(text, &funcs, &options).expect("parses");
        let out = execute(&template, &funcs, &Secrets::new(), &options).expect("renders");
        String::from_utf8(out.output).expect("UTF-8")
    }

    #[test]
    fn random_functions_have_the_agents_form() {
        for _ in 0..20 {
            let out = render(
                "{{ sprig_randAlphaNum 16 }}\n{{ sprig_randAlpha 16 }}\n{{ sprig_randNumeric 16 }}\n{{ sprig_randAscii 16 }}\n{{ sprig_randBytes 9 }}\n{{ sprig_uuidv4 }}\n{{ sprig_randInt -3 3 }}\n{{ sprig_shuffle \"hello\" }}",
            );
            // Printable ASCII never holds a newline.
            let parts: Vec<&str> = out.split('\n').collect();
            assert!(parts[0].len() == 16 && parts[0].bytes().all(|c| c.is_ascii_alphanumeric()));
            assert!(parts[1].len() == 16 && parts[1].bytes().all(|c| c.is_ascii_alphabetic()));
            assert!(parts[2].len() == 16 && parts[2].bytes().all(|c| c.is_ascii_digit()));
            assert!(parts[3].len() == 16 && parts[3].bytes().all(|c| (32..127).contains(&c)));
            assert_eq!(
                crate::encoding::Base64::Std
                    .decode(parts[4].as_bytes())
                    .map(|b| b.len()),
                Ok(9)
            );
            let uuid = parts[5].as_bytes();
            assert_eq!(uuid.len(), 36);
            assert_eq!(
                (uuid[8], uuid[13], uuid[14], uuid[18], uuid[23]),
                (b'-', b'-', b'4', b'-', b'-')
            );
            assert!(b"89ab".contains(&uuid[19]));
            let n: i64 = parts[6].parse().expect("an int");
            assert!((-3..3).contains(&n));
            let mut letters: Vec<char> = parts[7].chars().collect();
            letters.sort_unstable();
            assert_eq!(letters.into_iter().collect::<String>(), "ehllo");
        }
    }

    #[test]
    fn bcrypt_and_htpasswd_hashes_verify() {
        let hash = render("{{ sprig_bcrypt \"s3cret\" }}");
        assert!(hash.starts_with("$2a$10$") && hash.len() == 60, "{hash}");
        assert!(bcrypt::verify("s3cret", &hash).expect("a bcrypt hash"));
        assert!(!bcrypt::verify("other", &hash).expect("a bcrypt hash"));
        let line = render("{{ sprig_htpasswd \"admin\" \"pw\" }}");
        let (user, hash) = line.split_once(':').expect("user:hash");
        assert_eq!(user, "admin");
        assert!(bcrypt::verify("pw", hash).expect("a bcrypt hash"));
    }

    #[test]
    fn aes_round_trips_and_decrypts_known_ciphertext() {
        let out =
            render("{{ sprig_encryptAES \"key\" \"vault says hi\" | sprig_decryptAES \"key\" }}");
        assert_eq!(out, "vault says hi");
        // AES-256-CBC of "vault says hi", key "secretkey" zero-padded, IV 00..0f.
        let known = render(
            "{{ sprig_decryptAES \"secretkey\" \"AAECAwQFBgcICQoLDA0OD1twxs25sOasX7G5190JAEk=\" }}",
        );
        assert_eq!(known, "vault says hi");
        let encrypted = render("{{ sprig_encryptAES \"key\" \"0123456789abcdef\" }}");
        assert_eq!(
            crate::encoding::Base64::Std
                .decode(encrypted.as_bytes())
                .map(|b| b.len()),
            Ok(48)
        );
    }

    #[test]
    fn huge_counts_are_charged_not_built() {
        for text in [
            "{{ sprig_repeat 1000000000 \"ab\" }}",
            "{{ sprig_until 1000000000 }}",
            "{{ sprig_untilStep -9223372036854775808 9223372036854775807 1 }}",
            "{{ sprig_seq 1000000000 }}",
            "{{ sprig_indent 1000000000 \"a\" }}",
            "{{ sprig_randAlpha 1000000000 }}",
            "{{ sprig_randBytes 1000000000 }}",
            "{{ sprig_wrapWith 1 (sprig_repeat 100000 \"-\") (sprig_repeat 100000 \"a \") }}",
        ] {
            let funcs = crate::standard();
            let options = Options::default();
            let template = Template::parse(text, &funcs, &options).expect("parses");
            let err = execute(&template, &funcs, &Secrets::new(), &options)
                .expect_err(text)
                .to_string();
            assert!(err.contains("limit"), "{text}: {err}");
        }
    }
}

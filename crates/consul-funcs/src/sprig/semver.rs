//! `semver` and `semverCompare`: Masterminds/semver v3.4.0, the version the
//! agent is built with, reproduced by hand because its rules differ from
//! the `semver` crate's (versions are coerced: `v1`, `1.2`, `01.2.3` are
//! accepted; constraints have `~`, `^`, x-ranges, hyphen ranges, `||` and
//! commas, with their own prerelease rules and error texts). The patterns
//! are Masterminds' own, compiled with Go's RE2 syntax.
//!
//! A `*semver.Version` is a struct here whose fields are its methods'
//! results (`.Major`, `.Minor`, `.Patch`, `.Prerelease`, `.Metadata`,
//! `.Original`).

use std::cmp::Ordering;
use std::sync::LazyLock;

use ::regex::Regex;

use gotemplate::error::REDACTED;
use gotemplate::value::{GoStruct, Value};

use super::{add, text_arg};
use crate::args::charge_bytes;
use crate::funcs::{Func, FuncError, Funcs, Param};
use crate::regex::compile;

/// Go type name of a version (`*semver.Version` in `%T`).
pub(crate) const VERSION_TYPE: &str = "semver.Version";

/// Registers the functions.
pub(super) fn register(funcs: &mut Funcs) {
    add(
        funcs,
        "semver",
        Func::new(&[Param::String], |ctx, a| {
            let v = text_arg(a, 0);
            charge_bytes(ctx, v.len())?;
            new_version(v).map(|v| v.to_value()).map_err(FuncError::new)
        }),
    );
    add(
        funcs,
        "semverCompare",
        Func::new(&[Param::String, Param::String], |ctx, a| {
            let (constraint, version) = (text_arg(a, 0), text_arg(a, 1));
            charge_bytes(
                ctx,
                constraint
                    .len()
                    .saturating_mul(16)
                    .saturating_add(version.len()),
            )?;
            let c = Constraints::new(constraint).map_err(FuncError::new)?;
            let v = new_version(version).map_err(FuncError::new)?;
            Ok(Value::Bool(c.check(&v)))
        }),
    );
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

fn re(pattern: String) -> Option<Regex> {
    compile(&pattern).ok()
}

static LOOSE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$".into())
});
static CONSTRAINT: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(format!(r"^\s*({OPS})\s*({CV})\s*$")));
static RANGE: LazyLock<Option<Regex>> = LazyLock::new(|| re(format!(r"\s*({CV})\s+-\s+({CV})\s*")));
static FIND: LazyLock<Option<Regex>> = LazyLock::new(|| re(format!(r"({OPS})\s*({CV})")));
static VALID: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(format!(
        r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
    ))
});

fn pattern(r: &'static LazyLock<Option<Regex>>) -> Result<&'static Regex, String> {
    r.as_ref()
        .ok_or_else(|| "semver: pattern does not compile".to_string())
}

const INVALID: &str = "invalid semantic version";
const ALLOWED: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

fn segment(text: &str) -> Result<u64, String> {
    let text = text.strip_prefix('.').unwrap_or(text);
    gotemplate::strconv::parse_uint(text, 10, 64).map_err(|e| {
        format!(
            "error parsing version segment: strconv.ParseUint: parsing {REDACTED}: {}",
            e.kind
        )
    })
}

fn only(s: &str, set: &str) -> bool {
    s.chars().all(|c| set.contains(c))
}

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err("invalid prerelease string".into());
        } else if only(part, "0123456789") {
            if part.len() > 1 && part.starts_with('0') {
                return Err("version segment starts with 0".into());
            }
        } else if !only(part, ALLOWED) {
            return Err("invalid prerelease string".into());
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), String> {
    if m.split('.').any(|p| p.is_empty() || !only(p, ALLOWED)) {
        return Err("invalid metadata string".into());
    }
    Ok(())
}

/// `semver.NewVersion` with `CoerceNewVersion` (the default).
fn new_version(v: &str) -> Result<Version, String> {
    let caps = pattern(&LOOSE)?.captures(v).ok_or(INVALID)?;
    let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let version = Version {
        major: segment(group(1))?,
        minor: if group(2).is_empty() {
            0
        } else {
            segment(group(2))?
        },
        patch: if group(3).is_empty() {
            0
        } else {
            segment(group(3))?
        },
        pre: group(5).to_string(),
        metadata: group(8).to_string(),
        original: v.to_string(),
    };
    if !version.pre.is_empty() {
        validate_prerelease(&version.pre)?;
    }
    if !version.metadata.is_empty() {
        validate_metadata(&version.metadata)?;
    }
    Ok(version)
}

impl Version {
    /// `Version.String()`.
    #[cfg(test)]
    fn text(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }

    fn to_value(&self) -> Value {
        let fields = vec![
            ("Major".to_string(), Value::Uint(self.major)),
            ("Minor".to_string(), Value::Uint(self.minor)),
            ("Patch".to_string(), Value::Uint(self.patch)),
            ("Prerelease".to_string(), Value::String(self.pre.clone())),
            ("Metadata".to_string(), Value::String(self.metadata.clone())),
            ("Original".to_string(), Value::String(self.original.clone())),
        ];
        Value::Struct(Box::new(GoStruct::new(VERSION_TYPE, fields)))
    }

    fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }
}

fn compare_prerelease(v: &str, o: &str) -> Ordering {
    let (s, t): (Vec<&str>, Vec<&str>) = (v.split('.').collect(), o.split('.').collect());
    for i in 0..s.len().max(t.len()) {
        let d = compare_pre_part(
            s.get(i).copied().unwrap_or(""),
            t.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    let parse = |x: &str| gotemplate::strconv::parse_uint(x, 10, 64).ok();
    match (parse(s), parse(o)) {
        (None, None) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(a), Some(b)) => {
            if a > b {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

#[derive(Debug)]
struct Constraint {
    con: Version,
    op: String,
    minor_dirty: bool,
    dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: new_version("0.0.0")?,
            op: String::new(),
            minor_dirty: false,
            dirty: true,
            patch_dirty: false,
        });
    }
    let caps = pattern(&CONSTRAINT)?
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {c}"))?;
    let g = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(g(3)) || g(3).is_empty() {
        dirty = true;
        format!("0.0.0{}", g(6))
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{}.0.0{}", g(3), g(6))
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{}{}.0{}", g(3), g(4), g(6))
    } else {
        g(2).to_string()
    };
    let con = new_version(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_string(),
        minor_dirty,
        dirty,
        patch_dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        let cmp = v.compare(c);
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    cmp == Ordering::Equal
                }
            }
            "!=" => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                cmp != Ordering::Equal
            }
            ">" => {
                if !self.dirty {
                    return cmp == Ordering::Greater;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    cmp == Ordering::Greater
                }
            }
            "<" => cmp == Ordering::Less,
            ">=" | "=>" => cmp != Ordering::Less,
            "<=" | "=<" => {
                if !self.dirty {
                    return cmp != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            "~" | "~>" => self.tilde(v),
            "^" => {
                if cmp == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
            _ => false,
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

struct Constraints {
    groups: Vec<(Vec<Constraint>, bool)>,
}

/// Masterminds' `rewriteRange`: `1 - 2` becomes `>= 1, <= 2 `.
fn rewrite_range(input: &str) -> Result<String, String> {
    let range = pattern(&RANGE)?;
    let mut out = input.to_string();
    let found: Vec<(String, String, String)> = range
        .captures_iter(input)
        .map(|c| {
            let g = |i: usize| c.get(i).map_or("", |m| m.as_str()).to_string();
            (g(0), g(1), g(11))
        })
        .collect();
    for (whole, from, to) in found {
        out = out.replacen(&whole, &format!(">= {from}, <= {to} "), 1);
    }
    Ok(out)
}

impl Constraints {
    /// `semver.NewConstraint`.
    fn new(c: &str) -> Result<Constraints, String> {
        let c = rewrite_range(c)?;
        let mut groups = Vec::new();
        for part in c.split("||") {
            if !pattern(&VALID)?.is_match(part) {
                return Err(format!("improper constraint: {part}"));
            }
            let mut found: Vec<&str> = pattern(&FIND)?
                .find_iter(part)
                .map(|m| m.as_str())
                .collect();
            if found.is_empty() {
                found.push(part);
            }
            let mut has_pre = false;
            let mut list = Vec::new();
            for s in found {
                let pc = parse_constraint(s)?;
                has_pre |= !pc.con.pre.is_empty();
                list.push(pc);
            }
            groups.push((list, has_pre));
        }
        Ok(Constraints { groups })
    }

    fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(list, pre)| list.iter().all(|c| c.check(v, *pre)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(c: &str, v: &str) -> bool {
        Constraints::new(c).unwrap().check(&new_version(v).unwrap())
    }

    #[test]
    fn versions_are_coerced() {
        let v = new_version("v1.2").unwrap();
        assert_eq!(v.text(), "1.2.0");
        assert_eq!(new_version("01.2.3").unwrap().major, 1);
        assert_eq!(
            new_version("1.2.3-beta.1+b5").unwrap().text(),
            "1.2.3-beta.1+b5"
        );
        assert_eq!(new_version("1.2.3.4"), Err(INVALID.into()));
        assert_eq!(
            new_version("1.2.3-01"),
            Err("version segment starts with 0".into())
        );
    }

    #[test]
    fn constraints_follow_masterminds() {
        assert!(check(">= 1.2.3", "1.2.3"));
        assert!(!check("> 1.2.3", "1.2.3"));
        assert!(check("~1.2.3", "1.2.9"));
        assert!(!check("~1.2.3", "1.3.0"));
        assert!(check("^1.2.3", "1.9.0"));
        assert!(!check("^0.2.3", "0.3.0"));
        assert!(check("1.2.x", "1.2.7"));
        assert!(check("1.2 - 1.4.5", "1.4.5"));
        assert!(!check("1.2 - 1.4.5", "1.4.6"));
        assert!(check("<1 || >=3", "3.1.0"));
        assert!(!check(">=1.0.0", "1.2.0-beta"));
        assert!(check(">=1.0.0-0", "1.2.0-beta"));
        assert!(check("!=1.2.x", "1.3.0"));
        assert!(check(">1.2, <2", "1.5.0"));
        assert!(check("*", "4.0.0"));
    }
}

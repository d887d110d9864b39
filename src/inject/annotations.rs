//! Reading a Pod's annotations: blank counts as absent, scalars are trimmed,
//! either served prefix is read, and every parse failure becomes an error
//! that names the key.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::error::{Echo, PlanError};
use super::prefix::{self, OPENBAO_PREFIX, VAULT_PREFIX};
use super::value::{self, DurationError};

/// The Pod's non-blank injector annotations, every key spelled with
/// [`VAULT_PREFIX`] whichever prefix the Pod wrote it with.
pub(super) struct Annotations<'a> {
    /// Value by canonical key.
    values: BTreeMap<String, &'a str>,
    /// Canonical keys the Pod wrote with [`OPENBAO_PREFIX`].
    openbao: BTreeSet<String>,
    /// The prefix for keys the Pod does not set: that of its `agent-inject`.
    preferred: &'static str,
}

impl<'a> Annotations<'a> {
    /// The Pod's injector annotations.
    ///
    /// # Errors
    ///
    /// [`PlanError::PrefixConflict`] when one key is set under both prefixes.
    pub(super) fn new(raw: &'a BTreeMap<String, String>) -> Result<Annotations<'a>, PlanError> {
        match Annotations::checked(raw) {
            (ann, None) => Ok(ann),
            (_, Some(conflict)) => Err(conflict),
        }
    }

    /// The Pod's injector annotations as [`Annotations::lenient`] reads
    /// them, and the error [`Annotations::new`] would give.
    pub(super) fn checked(
        raw: &'a BTreeMap<String, String>,
    ) -> (Annotations<'a>, Option<PlanError>) {
        let mut conflict = None;
        let ann = Annotations::read(raw, |vault_key, openbao_key| {
            conflict.get_or_insert(PlanError::PrefixConflict {
                vault_key,
                openbao_key,
            });
        });
        (ann, conflict)
    }

    /// Like [`Annotations::new`], keeping the canonical spelling's value when
    /// a key is set under both prefixes; for callers that cannot fail and
    /// whose Pod is refused elsewhere.
    pub(super) fn lenient(raw: &'a BTreeMap<String, String>) -> Annotations<'a> {
        Annotations::read(raw, |_, _| {})
    }

    fn read(
        raw: &'a BTreeMap<String, String>,
        mut on_conflict: impl FnMut(String, String),
    ) -> Annotations<'a> {
        let mut values = BTreeMap::new();
        let mut openbao = BTreeSet::new();
        for (key, value) in raw.iter().filter(|(_, v)| !v.trim().is_empty()) {
            let Some((prefix, suffix)) = prefix::split(key) else {
                continue;
            };
            let canonical = format!("{VAULT_PREFIX}{suffix}");
            if prefix == OPENBAO_PREFIX {
                if values.contains_key(&canonical) {
                    on_conflict(canonical, key.clone());
                    continue;
                }
                openbao.insert(canonical.clone());
            } else if openbao.remove(&canonical) {
                on_conflict(canonical.clone(), prefix::respell(key, OPENBAO_PREFIX));
            }
            values.insert(canonical, value.as_str());
        }
        let preferred = if openbao.contains(super::keys::INJECT) {
            OPENBAO_PREFIX
        } else {
            VAULT_PREFIX
        };
        Annotations {
            values,
            openbao,
            preferred,
        }
    }

    /// The value as written, or `None` when absent or blank.
    pub(super) fn get(&self, key: &str) -> Option<&'a str> {
        self.values.get(key).copied()
    }

    /// The trimmed value, or `None` when absent or blank.
    pub(super) fn scalar(&self, key: &str) -> Option<&'a str> {
        self.get(key).map(str::trim)
    }

    /// Non-blank entries, by canonical key.
    pub(super) fn present(&self) -> impl Iterator<Item = (&str, &'a str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The canonical `key` as the Pod spells it: with the prefix it was
    /// written with, or for a key it does not set, with the prefix of its
    /// `agent-inject`. Anything else (an environment variable) is kept.
    pub(super) fn name(&self, key: &str) -> String {
        if self.openbao.contains(key)
            || (!self.values.contains_key(key)
                && self.preferred == OPENBAO_PREFIX
                && key.starts_with(VAULT_PREFIX))
        {
            prefix::respell(key, OPENBAO_PREFIX)
        } else {
            key.to_owned()
        }
    }

    /// A Go boolean.
    pub(super) fn bool(&self, key: &str) -> Result<Option<bool>, PlanError> {
        self.scalar(key)
            .map(|v| {
                value::bool(v).ok_or_else(|| {
                    invalid(|key, value| PlanError::InvalidBool { key, value }, key, v)
                })
            })
            .transpose()
    }

    /// A user or group id.
    pub(super) fn id(&self, key: &str, default: u32) -> Result<u32, PlanError> {
        match self.scalar(key) {
            None => Ok(default),
            Some(v) => value::id(v).ok_or_else(|| PlanError::InvalidNumber {
                key: key.to_owned(),
                value: Echo::new(v),
                expected: "a user or group id from 0 to 4294967294",
            }),
        }
    }

    /// A duration parsed with `parse`; `expected` describes the syntax for
    /// the error message.
    pub(super) fn duration(
        &self,
        key: &str,
        parse: fn(&str) -> Result<Duration, DurationError>,
        expected: &'static str,
    ) -> Result<Option<Duration>, PlanError> {
        let Some(v) = self.scalar(key) else {
            return Ok(None);
        };
        parse(v).map(Some).map_err(|e| PlanError::InvalidDuration {
            key: key.to_owned(),
            value: Echo::new(v),
            expected: match e {
                DurationError::Syntax => expected,
                DurationError::Negative => "a duration of zero or more",
            },
        })
    }
}

/// Builds a `{ key, value }` error variant.
pub(super) fn invalid(make: fn(String, Echo) -> PlanError, key: &str, value: &str) -> PlanError {
    make(key.to_owned(), Echo::new(value))
}

//! Reading a Pod's annotations: blank counts as absent, scalars are trimmed,
//! and every parse failure becomes an error that names the key.

use std::collections::BTreeMap;
use std::time::Duration;

use super::error::{Echo, PlanError};
use super::value::{self, DurationError};

/// The Pod's annotations, read with "blank counts as absent".
pub(super) struct Annotations<'a>(pub(super) &'a BTreeMap<String, String>);

impl<'a> Annotations<'a> {
    /// The value as written, or `None` when absent or blank.
    pub(super) fn get(&self, key: &str) -> Option<&'a str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The trimmed value, or `None` when absent or blank.
    pub(super) fn scalar(&self, key: &str) -> Option<&'a str> {
        self.get(key).map(str::trim)
    }

    /// Non-blank entries.
    pub(super) fn present(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
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

//! Template errors, worded as Go words them so users can compare them with
//! the agent's, but never carrying a secret value.

use std::fmt;

/// Which phase failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not a valid template (`template: NAME:LINE: ...`).
    Parse,
    /// Execution failed (`template: NAME:LINE:COL: executing ...`).
    Exec,
    /// A [`Limits`](super::limits::Limits) bound was reached.
    Limit,
}

/// A parse, execution or limit error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    kind: ErrorKind,
    message: String,
}

impl TemplateError {
    /// An error of this kind with a finished message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> TemplateError {
        TemplateError {
            kind,
            message: message.into(),
        }
    }

    /// Which phase failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message (what `Display` prints).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

/// Stands in for a value in messages where Go would print it.
pub const REDACTED: &str = "[redacted]";

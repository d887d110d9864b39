//! Bounds that keep a template from exhausting the node: each violation
//! stops execution with an error of kind [`ErrorKind::Limit`].
//!
//! [`ErrorKind::Limit`]: super::error::ErrorKind::Limit

/// Resource limits for parsing and executing one template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest template text accepted, in bytes.
    pub max_template_bytes: usize,
    /// Largest output, in bytes.
    pub max_output_bytes: usize,
    /// Most `range` iterations in one execution, all loops together.
    pub max_range_iterations: u64,
    /// Deepest nesting of `{{template}}` calls (Go allows 100000; each
    /// level here costs native stack, so the default is far lower).
    pub max_template_depth: usize,
    /// Most evaluation steps (nodes walked, commands run, values copied).
    pub max_steps: u64,
    /// Most execute-fetch rounds when secrets depend on other secrets.
    pub max_rounds: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_template_bytes: 1 << 20,
            max_output_bytes: 4 << 20,
            max_range_iterations: 1_000_000,
            max_template_depth: 100,
            max_steps: 10_000_000,
            max_rounds: 10,
        }
    }
}

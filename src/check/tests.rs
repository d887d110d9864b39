//! Verdicts, one rule per test.

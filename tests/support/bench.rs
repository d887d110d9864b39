//! What benchmarks share: percentiles, and the figures each one leaves for
//! the summary table (`target/bench-results/<bench>.json`).

use std::path::PathBuf;
use std::time::Duration;

/// The `p` quantile (0..=1) of sorted samples, nearest rank.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Milliseconds, for printing.
pub(crate) fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Where benchmarks leave their figures.
pub(crate) fn results_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-results")
}

/// Leaves `figures` for the summary table under `bench`.
pub(crate) fn save(bench: &str, figures: &serde_json::Value) {
    let dir = results_dir();
    std::fs::create_dir_all(&dir).expect("bench results dir");
    let text = serde_json::to_string_pretty(figures).expect("figures are JSON");
    std::fs::write(dir.join(format!("{bench}.json")), text).expect("write bench results");
}

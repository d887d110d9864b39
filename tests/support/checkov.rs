//! checkov, the security scanner admins run on manifests: one run over a
//! directory, its JSON report, and the suppressions this project reviewed.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

/// The checkov findings a CSI node plugin cannot avoid, suppressed on the
/// DaemonSet with a reason each. Anything else must be fixed, not skipped.
pub(crate) const REVIEWED_SUPPRESSIONS: [&str; 8] = [
    "CKV_K8S_16", // privileged container
    "CKV_K8S_20", // privilege escalation, implied by privileged
    "CKV_K8S_37", // capabilities, all of them when privileged
    "CKV_K8S_28", // NET_RAW, as part of all capabilities
    "CKV_K8S_23", // root: mount(2), and the root-owned 0600 socket
    "CKV_K8S_40", // high UID: same reason
    "CKV_K8S_43", // digest: the driver image is built by its users
    "CKV_K8S_15", // pull policy Always would tie restarts to the registry
];

#[derive(Deserialize)]
struct Report {
    results: Results,
    summary: Summary,
}

#[derive(Deserialize)]
struct Results {
    failed_checks: Vec<Finding>,
}

#[derive(Deserialize)]
struct Finding {
    check_id: String,
    resource: String,
    file_path: String,
}

/// What one checkov run counted, and its failed checks as readable lines.
#[derive(Deserialize)]
pub(crate) struct Summary {
    /// Checks passed.
    pub passed: u64,
    /// Checks failed.
    pub failed: u64,
    /// Checks skipped by a `checkov.io/skipN` annotation.
    pub skipped: u64,
    /// Files checkov could not parse.
    pub parsing_errors: u64,
    /// `CHECK resource (file)` for each failed check.
    #[serde(skip)]
    pub findings: Vec<String>,
}

/// Runs checkov's Kubernetes checks over `dir` (with `extra` arguments,
/// e.g. `--skip-path`) from `cwd`.
pub(crate) fn scan(cwd: &Path, dir: &Path, extra: &[&str]) -> Summary {
    assert!(
        super::which("checkov").is_some(),
        "checkov is missing: pip install checkov (make deps installs it)"
    );
    let output = Command::new("checkov")
        .current_dir(cwd)
        .arg("-d")
        .arg(dir)
        .args(extra)
        .args(["--framework", "kubernetes", "--compact", "--quiet"])
        .args(["--skip-download", "--output", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov's output is not its JSON report ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let mut summary = report.summary;
    summary.findings = report
        .results
        .failed_checks
        .iter()
        .map(|f| format!("{} {} ({})", f.check_id, f.resource, f.file_path))
        .collect();
    summary
}

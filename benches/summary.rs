//! The one table `make bench` ends with: every figure the other benchmarks
//! left in `target/bench-results/` and criterion's render estimates, next to
//! its comparison and target, with the machine and the date. Also written to
//! `target/bench-results/table.md` for BENCHMARKS.md.

#[path = "../tests/support/bench.rs"]
#[allow(dead_code)]
mod bench;

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

fn load(name: &str) -> Value {
    let path = bench::results_dir().join(format!("{name}.json"));
    std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null)
}

fn num(figures: &Value, key: &str) -> Option<f64> {
    figures[key].as_f64()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, m)| m.trim().to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({model}), {mem_gib:.0} GiB, Linux {}",
        kernel.trim()
    )
}

fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    vault_csi_driver::timefmt::rfc3339(secs)
}

/// Criterion's median per render benchmark, in microseconds.
fn renders(dir: &Path) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let estimates = entry.path().join("new/estimates.json");
        let Some(median_ns) = std::fs::read_to_string(estimates)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|v| v["median"]["point_estimate"].as_f64())
        else {
            continue;
        };
        found.push((
            entry.file_name().to_string_lossy().into_owned(),
            median_ns / 1e3,
        ));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

fn main() {
    let publish = load("publish_latency");
    let refresh = load("refresh_load");
    let f = |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |x| format!("{x:.digits$}"));
    let mut table = String::new();
    let _ = writeln!(table, "Machine: {}. Run: {}.\n", machine(), today());
    let _ = writeln!(
        table,
        "| what | driver | compared with | ratio | target | |"
    );
    let _ = writeln!(table, "|---|---|---|---|---|---|");

    let (pm, fm) = (
        num(&publish, "publish_median_ms"),
        num(&publish, "floor_median_ms"),
    );
    let ratio = pm.zip(fm).map(|(p, f)| p / f);
    let overhead = pm.zip(fm).map(|(p, f)| p - f);
    let _ = writeln!(
        table,
        "| publish latency, median (login + 1 KV read) | {} ms | {} ms: keep-alive client, login + read | {}x, +{} ms | ≤ 1.2x, < +0.5 ms | {} |",
        f(pm, 2),
        f(fm, 2),
        f(ratio, 2),
        f(overhead, 2),
        verdict(ratio.zip(overhead).map(|(r, o)| r <= 1.2 && o < 0.5))
    );
    let (pp, fp) = (
        num(&publish, "publish_p99_ms"),
        num(&publish, "floor_p99_ms"),
    );
    let _ = writeln!(
        table,
        "| publish latency, p99 | {} ms | {} ms | {}x | | |",
        f(pp, 2),
        f(fp, 2),
        f(pp.zip(fp).map(|(p, f)| p / f), 2)
    );
    let (lm, rm) = (
        num(&publish, "live_identity_median_ms"),
        num(&publish, "read_floor_median_ms"),
    );
    let live = lm.zip(rm).map(|(l, r)| l / r);
    let _ = writeln!(
        table,
        "| publish latency, median, identity already on the node (no login) | {} ms | {} ms: keep-alive client, read with a known token | {}x, +{} ms | ≤ 1.2x | {} |",
        f(lm, 2),
        f(rm, 2),
        f(live, 2),
        f(lm.zip(rm).map(|(l, r)| l - r), 2),
        verdict(live.map(|r| r <= 1.2))
    );
    let _ = writeln!(
        table,
        "| what every publish pays besides Vault, median: gRPC round trip over the unix socket (NodeGetCapabilities, back to back / after an idle Vault read) / tmpfs mount + unmount with its directory | {} / {} / {} ms | | | | |",
        f(num(&publish, "grpc_round_trip_median_ms"), 2),
        f(num(&publish, "grpc_round_trip_after_idle_median_ms"), 2),
        f(num(&publish, "mount_umount_median_ms"), 2),
    );
    let am = num(&publish, "agent_median_ms");
    let cold = am.zip(pm).map(|(a, p)| a / p);
    let _ = writeln!(
        table,
        "| cold path, request to files | {} ms | {} ms: one `bao agent -exit-after-auth` run | {}x faster | ≥ 10x | {} |",
        f(pm, 2),
        f(am, 1),
        f(cold, 0),
        verdict(cold.map(|c| c >= 10.0))
    );
    let (bp, be) = (num(&refresh, "burst_p99_ms"), num(&refresh, "burst_errors"));
    let alone = num(&refresh, "burst_vault_alone_wall_ms");
    let burst = bp.zip(alone).map(|(p, a)| p / a);
    let _ = writeln!(
        table,
        "| burst of 110 publishes, p99 (median of {} rounds) | {} ms, {} errors | {} ms: OpenBao alone for the same 10 logins + 30 reads, on the same cores; {} ms p99: the sidecar model's 440 requests alone | {}x | ≤ 1.3x, 0 errors | {} |",
        f(num(&refresh, "burst_rounds"), 0),
        f(bp, 0),
        f(be, 0),
        f(alone, 0),
        f(num(&refresh, "sidecar_vault_alone_p99_ms"), 0),
        f(burst, 2),
        verdict(burst.zip(be).map(|(r, e)| r <= 1.3 && e == 0.0))
    );
    let (r110, r1000) = (num(&refresh, "rss_110_mib"), num(&refresh, "rss_1000_mib"));
    let _ = writeln!(
        table,
        "| memory (RSS) at 0 / 110 / 1000 volumes | {} / {} / {} MiB | 7040 MiB: 110 sidecars x 64 Mi requested | {}x less | < 24 / < 48 MiB at 110 / 1000 | {} |",
        f(num(&refresh, "rss_idle_mib"), 1),
        f(r110, 1),
        f(r1000, 1),
        f(r110.map(|r| 7040.0 / r), 0),
        verdict(r110.zip(r1000).map(|(a, b)| a < 24.0 && b < 48.0))
    );
    let _ = writeln!(
        table,
        "| memory per volume, 110 -> 1000 volumes | {} KiB | | | | |",
        f(r110.zip(r1000).map(|(a, b)| (b - a) * 1024.0 / 890.0), 1),
    );
    let (cycle, sidecar) = (
        num(&refresh, "cycle_requests"),
        num(&refresh, "sidecar_requests"),
    );
    let fewer = cycle.zip(sidecar).map(|(c, s)| s / c);
    let _ = writeln!(
        table,
        "| Vault requests per refresh cycle (110 volumes, 10 identities, 3 secrets; audit log) | {} | {}: 110 x (1 login + 3 reads) | {}x fewer | ≥ 20x | {} |",
        f(cycle, 0),
        f(sidecar, 0),
        f(fewer, 1),
        verdict(fewer.map(|x| x >= 20.0))
    );
    let cpu = num(&refresh, "cpu_per_cycle_s");
    let _ = writeln!(
        table,
        "| driver CPU per refresh cycle (110 volumes) | {} s | | | < 0.1 s | {} |",
        f(cpu, 3),
        verdict(cpu.map(|c| c < 0.1))
    );
    let fleet = load("fleet_model");
    let (driver, sidecar) = (&fleet["driver"], &fleet["sidecar"]);
    let _ = writeln!(
        table,
        "| fleet model, {} nodes x 110 volumes: Vault requests/s, steady | {} | {}: sidecars | {}x fewer | | |",
        f(num(&fleet, "nodes"), 0),
        f(num(driver, "steady_rps"), 1),
        f(num(sidecar, "steady_rps"), 1),
        f(
            num(sidecar, "steady_rps")
                .zip(num(driver, "steady_rps"))
                .map(|(s, d)| s / d),
            1
        ),
    );
    let _ = writeln!(
        table,
        "| fleet model: peak requests/s in the minute after a {} s outage (1 s / 10 s) | {} / {} | {} / {}: sidecars | | | |",
        f(num(&fleet, "outage_s"), 0),
        f(num(driver, "peak_1s_rps"), 0),
        f(num(driver, "peak_10s_rps"), 0),
        f(num(sidecar, "peak_1s_rps"), 0),
        f(num(sidecar, "peak_10s_rps"), 0),
    );
    let ratio = num(driver, "peak_ratio");
    let _ = writeln!(
        table,
        "| fleet model: post-outage peak / steady (1 s) | {}x | {}x: sidecars | | ≤ 3x | {} |",
        f(ratio, 1),
        f(num(sidecar, "peak_ratio"), 1),
        verdict(ratio.map(|r| r <= 3.0))
    );
    let criterion = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion/render");
    for (name, micros) in renders(&criterion) {
        let _ = writeln!(
            table,
            "| render `{name}` (criterion median) | {micros:.1} µs | | | | |"
        );
    }
    println!("\n{table}");
    let out = bench::results_dir().join("table.md");
    if std::fs::create_dir_all(bench::results_dir()).is_ok() && std::fs::write(&out, &table).is_ok()
    {
        println!("(also in {})", out.display());
    }
}

//! The machine's own ceiling, printed beside the figures: cores, memory,
//! single-core SHA-256 throughput (`openssl speed -evp sha256`) and the
//! sequential, fsync'd write speed of the disk the registries write to.

use std::io::Write;
use std::time::Instant;

/// What the machine can do at most.
#[derive(Debug, serde::Serialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cores: usize,
    /// Memory, in MiB.
    pub memory_mib: u64,
    /// Single-core SHA-256 over 16 KiB blocks, in MB/s (openssl).
    pub sha256_mb_s: Option<f64>,
    /// Sequential write with fsync in the temporary directory, in MB/s.
    pub disk_write_mb_s: f64,
}

impl Machine {
    /// Measures the machine (briefly when `quick`).
    pub fn measure(quick: bool) -> Machine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let memory_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .map_or(0, |kib| kib / 1024);
        Machine {
            cores,
            memory_mib,
            sha256_mb_s: openssl_sha256(if quick { 1 } else { 3 }),
            disk_write_mb_s: disk_write(if quick { 16 } else { 1024 }),
        }
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        format!(
            "machine: {} cores, {} MiB; SHA-256 one core {}; disk write+fsync {:.0} MB/s",
            self.cores,
            self.memory_mib,
            self.sha256_mb_s
                .map_or("unknown (no openssl)".into(), |v| format!("{v:.0} MB/s")),
            self.disk_write_mb_s
        )
    }
}

/// `openssl speed -evp sha256`: the 16 KiB column of its last line, in MB/s.
fn openssl_sha256(seconds: u32) -> Option<f64> {
    let output = std::process::Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "-evp", "sha256"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("sha256"))?;
    let kilobytes: f64 = last
        .split_whitespace()
        .last()?
        .trim_end_matches('k')
        .parse()
        .ok()?;
    Some(kilobytes * 1000.0 / 1e6)
}

/// Writes `mib` MiB in 1 MiB blocks to a temporary file, fsyncs, and times it.
fn disk_write(mib: usize) -> f64 {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("write-test");
    let block = vec![0x5au8; 1 << 20];
    let started = Instant::now();
    let mut file = std::fs::File::create(&path).expect("create the test file");
    for _ in 0..mib {
        file.write_all(&block).expect("write");
    }
    file.sync_all().expect("fsync");
    mib as f64 * 1.048_576 / started.elapsed().as_secs_f64()
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let output = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

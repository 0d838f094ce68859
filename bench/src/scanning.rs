//! The scanning workloads' data and the scanning process: a gzip image layer
//! of a wanted compressed size holding a Debian 12 `etc/os-release` and a
//! `var/lib/dpkg/status` in dpkg's own format, a zip of OSV records in
//! osv.dev's export format (`Debian:12` advisories), and `berth scan` run as
//! its own process, timed, with its peak memory sampled from /proc.
//!
//! Everything is generated from fixed seeds, so every run scans the same bytes.

use bytes::Bytes;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The media type of the pushed layers.
pub const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// The source package name of the `i`th installed package (also what the
/// advisories name).
fn source_name(i: usize) -> String {
    format!("bench-src-{i:05}")
}

/// The installed version of the `i`th package: Debian versions with
/// revisions, some with epochs and `+debNuM` security updates.
fn installed_version(i: usize) -> String {
    let base = format!("{}.{}.{}-{}", 1 + i % 9, i % 31, i % 7, 1 + i % 4);
    match i % 5 {
        0 => format!("1:{base}"),
        1 => format!("{base}+deb12u{}", 1 + i % 3),
        _ => base,
    }
}

/// `etc/os-release` as Debian 12 ships it.
const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n\
NAME=\"Debian GNU/Linux\"\n\
VERSION_ID=\"12\"\n\
VERSION=\"12 (bookworm)\"\n\
VERSION_CODENAME=bookworm\n\
ID=debian\n\
HOME_URL=\"https://www.debian.org/\"\n\
SUPPORT_URL=\"https://www.debian.org/support\"\n\
BUG_REPORT_URL=\"https://bugs.debian.org/\"\n";

/// A `var/lib/dpkg/status` of the packages numbered `packages`, each stanza
/// in the fields and order dpkg writes.
pub fn dpkg_status(packages: impl IntoIterator<Item = usize>) -> String {
    let mut out = String::new();
    for i in packages {
        out.push_str(&format!(
            "Package: bench-pkg-{i:05}\n\
             Status: install ok installed\n\
             Priority: optional\n\
             Section: libs\n\
             Installed-Size: {size}\n\
             Maintainer: Berth Bench <bench@example.org>\n\
             Architecture: amd64\n\
             Multi-Arch: same\n\
             Source: {source}\n\
             Version: {version}\n\
             Depends: libc6 (>= 2.34)\n\
             Description: benchmark package {i}\n \
             A package of the scanning benchmark's dpkg database.\n\n",
            size = 16 + i % 4000,
            source = source_name(i),
            version = installed_version(i),
        ));
    }
    out
}

/// One ustar entry (a regular file) of `size` bytes; the caller writes the
/// data and its padding.
fn tar_header(path: &str, size: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..path.len()].copy_from_slice(path.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"14700000000\0");
    h[148..156].copy_from_slice(b"        ");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn tar_file(out: &mut impl Write, path: &str, data: &[u8]) {
    out.write_all(&tar_header(path, data.len() as u64))
        .expect("tar");
    out.write_all(data).expect("tar");
    let pad = (512 - data.len() % 512) % 512;
    out.write_all(&[0u8; 512][..pad]).expect("tar");
}

/// A gzip tar layer of at least `compressed` bytes: `etc/os-release`, the
/// dpkg database of the packages numbered `packages`, then 1 MiB files of
/// filler that compresses about 2:1 (four bits of entropy a byte), as much
/// as makes the wanted compressed size.
pub fn layer(compressed: usize, packages: impl IntoIterator<Item = usize>, seed: u64) -> Bytes {
    let mut gz = GzEncoder::new(
        Vec::with_capacity(compressed + (1 << 20)),
        flate2::Compression::fast(),
    );
    tar_file(&mut gz, "etc/os-release", OS_RELEASE.as_bytes());
    tar_file(
        &mut gz,
        "var/lib/dpkg/status",
        dpkg_status(packages).as_bytes(),
    );
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut filler = vec![0u8; 1 << 20];
    let mut n = 0;
    while gz.get_ref().len() < compressed {
        for chunk in filler.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for (j, b) in chunk.iter_mut().enumerate() {
                *b = b'a' + ((state >> (8 * j)) & 15) as u8;
            }
        }
        tar_file(&mut gz, &format!("usr/share/bench/filler-{n:06}"), &filler);
        n += 1;
    }
    gz.write_all(&[0u8; 1024]).expect("tar end");
    Bytes::from(gz.finish().expect("gzip"))
}

/// The packages of the `n`th of the re-matching workload's layers: `count`
/// distinct numbers below `space` (a prime stride apart, from a start of
/// its own), so layers share some packages, as images of one distribution
/// do, and about `count × related / space` of them have advisories when
/// [`osv_zip`] was given `related` packages.
pub fn rematch_packages(n: usize, count: usize, space: usize) -> Vec<usize> {
    (0..count.min(space))
        .map(|j| (n * 7919 + j * 389) % space)
        .collect()
}

/// Writes `count` OSV records as osv.dev exports them (one `ID.json` per
/// record in a zip): `Debian:12` advisories in the Debian tracker's shape
/// (`DEBIAN-CVE-…`, the CVE as `upstream`, one ECOSYSTEM range from `0` to
/// the fixed version, or open where no fix exists). A tenth name the
/// image's source packages (some fixed above the installed version, so
/// found; some below, so not); the rest name packages the image lacks.
pub fn osv_zip(path: &Path, count: usize, packages: usize) {
    let file = std::fs::File::create(path).expect("create the OSV zip");
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let related = (count / 10).max(1);
    for n in 0..count {
        let (name, installed) = if n < related {
            let i = n % packages.max(1);
            (source_name(i), Some(installed_version(i)))
        } else {
            (format!("bench-other-{:06}", n % 100_000), None)
        };
        let fixed = match (&installed, n % 4) {
            (_, 3) => None,
            (Some(version), 0 | 1) => Some(format!("{version}+deb12u9")),
            (Some(_), _) => Some("0.1-1".to_string()),
            (None, _) => Some(format!("{}.{}-{}", 1 + n % 9, n % 13, 1 + n % 3)),
        };
        let cve = format!("CVE-{}-{}", 2000 + n % 25, 10_000 + n);
        let id = format!("DEBIAN-{cve}");
        let mut events = vec![serde_json::json!({"introduced": "0"})];
        if let Some(fixed) = fixed {
            events.push(serde_json::json!({ "fixed": fixed }));
        }
        let record = serde_json::json!({
            "id": id,
            "modified": "2026-11-30T12:00:00Z",
            "published": "2025-06-01T08:15:00Z",
            "upstream": [cve],
            "details": format!("A flaw in {name} ({cve}), generated by berth-bench."),
            "affected": [{
                "package": {
                    "name": name,
                    "ecosystem": "Debian:12",
                    "purl": format!("pkg:deb/debian/{name}?arch=source"),
                },
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }],
            "schema_version": "1.7.0",
        });
        zip.start_file(format!("{id}.json"), options)
            .expect("zip entry");
        zip.write_all(record.to_string().as_bytes()).expect("zip");
    }
    zip.finish().expect("finish the OSV zip");
}

/// How a `berth scan --json` run went.
pub struct ScanRun {
    /// Wall time of the process, start to exit.
    pub elapsed: Duration,
    /// CPU time of the process, user and system, from `wait4`'s rusage
    /// (`ru_utime` + `ru_stime` are the child's own, unlike `ru_maxrss`).
    pub cpu: Duration,
    /// Its peak resident memory, in bytes (`VmHWM`, sampled every 10 ms).
    pub max_rss: u64,
    /// Its JSON output.
    pub output: serde_json::Value,
}

/// Runs `berth scan IMAGE --json` on `data_dir` as its own process (no server
/// running, so it is this process that scans) and samples its peak memory
/// (`VmHWM`) every 10 ms until it exits; panics unless the scan is
/// `COMPLETE`.
///
/// Not `wait4`'s `ru_maxrss`: Linux keeps the high-water mark of the memory
/// the child had before `exec`, which is the harness's own (it holds the
/// gigabytes of the layer it pushed), and reported 2058 MiB for a scan whose
/// own peak was tens of MiB.
pub fn scan(berth: &Path, data_dir: &Path, image: &str) -> ScanRun {
    let started = Instant::now();
    let mut child = Command::new(berth)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["scan", image, "--json"])
        .env("RUST_LOG", "warn")
        .env_remove("BERTH_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", berth.display()));
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(crate::servers::hwm_of(pid));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak
        })
    };
    let (mut stdout, mut stderr) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).expect("read berth scan's output");
    let (status, cpu) = wait_with_cpu(&mut child);
    let elapsed = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let max_rss = sampler.join().expect("sampler");
    let errors = errors.join().unwrap_or_default();
    assert!(status == 0, "berth scan {image} failed: {text}{errors}");
    let output: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("berth scan --json printed {text:?}: {e}"));
    assert_eq!(
        output["imageScanStatus"]["status"], "COMPLETE",
        "berth scan {image}: {output}"
    );
    ScanRun {
        elapsed,
        cpu,
        max_rss,
        output,
    }
}

/// Waits for `child` with `wait4`; returns its wait status (0 when it
/// exited with 0) and the CPU time it used, user and system.
fn wait_with_cpu(child: &mut std::process::Child) -> (i32, Duration) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, and wait4 only writes
    // through the two pointers, which live for the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(
        waited,
        pid,
        "wait4 for berth scan: {}",
        std::io::Error::last_os_error()
    );
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (status, time(usage.ru_utime) + time(usage.ru_stime))
}

/// `berth vulndb import ZIP` on `data_dir`; returns how long it took.
pub fn import(berth: &Path, data_dir: &Path, zip: &Path) -> Duration {
    let started = Instant::now();
    let zip = zip.to_str().expect("a UTF-8 temporary path");
    berth_command(berth, data_dir, &["vulndb", "import", zip]);
    started.elapsed()
}

/// `berth vulndb rematch` on `data_dir` (no server running, so it is this
/// process that matches); returns how long it took and how many stored
/// inventories it matched again.
pub fn rematch(berth: &Path, data_dir: &Path) -> (Duration, usize) {
    let started = Instant::now();
    let output = berth_command(berth, data_dir, &["vulndb", "rematch"]);
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&output.stdout);
    let matched = text
        .trim()
        .strip_prefix("matched ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("berth vulndb rematch printed {text:?}"));
    (elapsed, matched)
}

/// Runs `berth ARGS --data-dir DATA_DIR`; panics unless it succeeds.
fn berth_command(berth: &Path, data_dir: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::new(berth)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("BERTH_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", berth.display()));
    succeeded(&format!("berth {}", args.join(" ")), output)
}

/// `output`, once it is known that its command succeeded; panics with what
/// it printed otherwise.
fn succeeded(what: &str, output: std::process::Output) -> std::process::Output {
    assert!(
        output.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Sets the registry's scanning configuration to `ENHANCED` with one
/// `CONTINUOUS_SCAN` rule for `filter` (scan on push and continuous
/// rescans), through the ECR API with the AWS CLI of the tools' venv
/// (`$BERTH_TOOLS/venv/bin/aws`), under a fresh access key of the admin.
pub fn continuous_scanning(berth: &Path, data_dir: &Path, url: &str, filter: &str) {
    let key: serde_json::Value = serde_json::from_slice(
        &berth_command(
            berth,
            data_dir,
            &["access-key", "create", crate::servers::USER, "--json"],
        )
        .stdout,
    )
    .expect("berth access-key create --json prints JSON");
    let tools = std::env::var_os("BERTH_TOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cache/berth-tools")
        });
    let aws = tools.join("venv/bin/aws");
    let rules = serde_json::json!([{
        "scanFrequency": "CONTINUOUS_SCAN",
        "repositoryFilters": [{"filter": filter, "filterType": "WILDCARD"}],
    }]);
    let output = Command::new(&aws)
        .args(["ecr", "put-registry-scanning-configuration", "--scan-type"])
        .args([
            "ENHANCED",
            "--rules",
            &rules.to_string(),
            "--endpoint-url",
            url,
        ])
        .args(["--region", "us-east-1", "--output", "json"])
        .env(
            "AWS_ACCESS_KEY_ID",
            key["accessKeyId"].as_str().expect("a key id"),
        )
        .env(
            "AWS_SECRET_ACCESS_KEY",
            key["secretAccessKey"].as_str().expect("a secret"),
        )
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", aws.display()));
    succeeded("aws ecr put-registry-scanning-configuration", output);
}

/// Waits until `count` scan jobs have ended (`berth jobs --kind scan`,
/// every second); panics if any failed or if none ends for 10 minutes.
pub fn wait_for_scans(berth: &Path, data_dir: &Path, count: usize) {
    let limit = (count + 100).to_string();
    let mut ended = 0;
    let mut progress = Instant::now();
    loop {
        let output = berth_command(
            berth,
            data_dir,
            &["jobs", "--kind", "scan", "--json", "--limit", &limit],
        );
        let jobs: Vec<serde_json::Value> =
            serde_json::from_slice(&output.stdout).expect("berth jobs --json prints JSON");
        let failed: Vec<_> = jobs.iter().filter(|j| j["status"] == "failed").collect();
        assert!(failed.is_empty(), "scans failed: {failed:?}");
        let now = jobs.iter().filter(|j| j["status"] == "succeeded").count();
        if now >= count {
            return;
        }
        if now > ended {
            ended = now;
            progress = Instant::now();
        }
        assert!(
            progress.elapsed() < Duration::from_secs(600),
            "{ended} of {count} scans ended, then none for 10 minutes"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Scan jobs pending or running now (`berth jobs --kind scan`).
pub fn scans_running(berth: &Path, data_dir: &Path) -> usize {
    let output = berth_command(berth, data_dir, &["jobs", "--kind", "scan", "--json"]);
    let jobs: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("berth jobs --json prints JSON");
    jobs.iter()
        .filter(|j| j["status"] == "pending" || j["status"] == "running")
        .count()
}

/// An OCI image manifest of a config and gzip layers, each given as
/// `(digest, size)`.
pub fn manifest(config: (&str, usize), layers: &[(&str, usize)]) -> Bytes {
    let layers: Vec<_> = layers
        .iter()
        .map(|(digest, size)| serde_json::json!({"mediaType": GZIP_LAYER, "digest": digest, "size": size}))
        .collect();
    Bytes::from(
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": crate::client::OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config.0,
                "size": config.1,
            },
            "layers": layers,
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn tar_headers_carry_a_valid_checksum() {
        let h = super::tar_header("etc/os-release", 10);
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let mut blank = h;
        blank[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, blank.iter().map(|&b| b as u32).sum::<u32>());
    }
}

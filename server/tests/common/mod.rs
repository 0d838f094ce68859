//! `TestServer`: the real `berth serve` binary on a free loopback port, with its
//! own temporary data directory, stopped and removed on drop.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this helper"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub mod console;
pub mod docker;
pub mod ecr;
pub mod garage;
pub mod oci;
pub mod raw;
pub mod scan_fixtures;

/// The admin password every test server starts with.
pub const ADMIN_PASSWORD: &str = "test-admin-password-1";

/// A running `berth serve`.
pub struct TestServer {
    child: Child,
    /// The data directory this server owns: `Some` until
    /// [`TestServer::into_data_dir`] takes it; `None` for a server started
    /// beside another ([`TestServerBuilder::start_beside`]).
    data_dir: Option<tempfile::TempDir>,
    /// The data directory's path.
    data_path: PathBuf,
    /// The S3 server holding this server's blobs, when `BERTH_TEST_STORAGE` asks for one.
    garage: Option<garage::Garage>,
    /// Settings every `berth` run on this installation needs (the S3 ones,
    /// and the builder's environment), so admin commands see the same store.
    store_env: Vec<(String, String)>,
    /// `127.0.0.1:PORT`, what docker and skopeo call the registry.
    pub host: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    logs: std::sync::Arc<std::sync::Mutex<String>>,
    /// The thread copying stderr into `logs`, done when the server has exited.
    log_reader: Option<std::thread::JoinHandle<()>>,
}

/// How to start a test server.
#[derive(Default)]
pub struct TestServerBuilder {
    env: Vec<(String, String)>,
    args: Vec<String>,
    clock: Option<String>,
}

impl TestServerBuilder {
    /// Sets an environment variable for the server (e.g. `BERTH_CREATE_ON_PUSH`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Adds a command-line argument after `serve`.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Runs the server with its wall clock moved by `offset` (see
    /// [`clock_moved`]); admin commands on its data directory keep the real clock.
    pub fn clock(mut self, offset: &str) -> Self {
        self.clock = Some(offset.into());
        self
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(self) -> TestServer {
        let data_dir = tempfile::tempdir().expect("temp data dir");
        self.start_in(data_dir)
    }

    /// Starts the server on an existing data directory (one a stopped server left).
    pub fn start_in(self, data_dir: tempfile::TempDir) -> TestServer {
        let path = data_dir.path().to_path_buf();
        TestServer::spawn(
            Some(data_dir),
            path,
            None,
            &self.env,
            &self.args,
            self.clock.as_deref(),
        )
    }

    /// Starts a second server on the installation `other` serves (same data
    /// directory and blob store), as a second process of one installation.
    pub fn start_beside(self, other: &TestServer) -> TestServer {
        TestServer::spawn(
            None,
            other.data_dir().to_path_buf(),
            Some(other.store_env.clone()),
            &self.env,
            &self.args,
            self.clock.as_deref(),
        )
    }
}

impl TestServer {
    /// A server with default settings.
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// A builder for a server with custom settings.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    fn spawn(
        data_dir: Option<tempfile::TempDir>,
        data_path: PathBuf,
        store_of: Option<Vec<(String, String)>>,
        env: &[(String, String)],
        args: &[String],
        clock: Option<&str>,
    ) -> Self {
        // `BERTH_TEST_STORAGE=s3` (or `s3-redirect`) runs the same tests with
        // the blobs in a Garage of the server's own: `make test` runs the docker
        // and skopeo tests that way too.
        let (garage, store_env) = match std::env::var("BERTH_TEST_STORAGE").as_deref() {
            _ if store_of.is_some() => (None, store_of.unwrap_or_default()),
            Ok(mode @ ("s3" | "s3-redirect")) => {
                let garage = garage::Garage::start();
                let mut store_env = garage.env();
                if mode == "s3-redirect" {
                    store_env.push(("BERTH_STORAGE_REDIRECT".into(), "true".into()));
                }
                (Some(garage), store_env)
            }
            Ok("" | "filesystem") | Err(_) => (None, Vec::new()),
            Ok(other) => panic!("BERTH_TEST_STORAGE={other:?}: use filesystem, s3 or s3-redirect"),
        };
        let mut command = Command::new(berth_binary());
        command
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data_path)
            .args(args)
            .env("BERTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "berth=info,warn")
            // Tests send requests as fast as they go; the rate limit is tested
            // on servers that set it (tests/rate_limits.rs), which wins over this.
            .env("BERTH_RATE_LIMIT", "0")
            // No test server downloads the vulnerability database from the
            // internet; tests/vulndb.rs sets loopback sources and an interval.
            .env("BERTH_VULNDB_INTERVAL", "0")
            .env_remove("BERTH_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let store_env: Vec<(String, String)> = store_env.into_iter().chain(env.to_vec()).collect();
        for (k, v) in &store_env {
            command.env(k, v);
        }
        if let Some(offset) = clock {
            command.envs(clock_moved(offset));
        }
        let mut child = command.spawn().expect("start berth");
        record_secret(ADMIN_PASSWORD);
        // With BERTH_TEST_LOG_DIR (make test), every line is also kept there
        // for the secrets grep (.ci/secrets-grep.sh).
        let kept = std::env::var_os("BERTH_TEST_LOG_DIR").map(|dir| {
            let name = format!("rust-{}.log", unique("server"));
            let file = std::fs::File::create(Path::new(&dir).join(name)).expect("log file");
            std::sync::Arc::new(std::sync::Mutex::new(file))
        });
        let keep = move |line: &str| {
            if let Some(file) = &kept {
                use std::io::Write as _;
                let _ = writeln!(file.lock().expect("log file lock"), "{line}");
            }
        };
        let keep_stderr = keep.clone();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            while let Some(Ok(line)) = lines.next() {
                if !sent {
                    if let Some(url) = line.strip_prefix("Berth is listening on ") {
                        let _ = tx.send(url.trim().to_string());
                        sent = true;
                    }
                }
                keep(&line);
                println!("[berth] {line}");
            }
        });
        let logs = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        let log_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                keep_stderr(&line);
                eprintln!("[berth] {line}");
                let mut logs = sink.lock().expect("log lock");
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("berth printed its address within 60 s");
        let host = url.trim_start_matches("http://").to_string();
        TestServer {
            child,
            data_dir,
            data_path,
            garage,
            store_env,
            host,
            url,
            logs,
            log_reader: Some(log_reader),
        }
    }

    /// Stops the server (SIGTERM) and returns everything it logged, to its last line.
    pub fn stop_and_collect_logs(&mut self) -> String {
        self.stop();
        if let Some(reader) = self.log_reader.take() {
            reader.join().expect("the log reader");
        }
        self.logs()
    }

    /// What the server has logged so far (its stderr).
    pub fn logs(&self) -> String {
        self.logs.lock().expect("log lock").clone()
    }

    /// The server's log once `logged` holds of it: a line is read from the
    /// server's stderr by another thread, a moment after the response that
    /// followed it may have arrived. Panics, showing the log, after 10 s.
    pub fn logs_once(&self, what: &str, logged: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let logs = self.logs();
            if logged(&logs) {
                return logs;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not log {what}:\n{logs}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_path
    }

    /// Stops the server (SIGTERM) and hands over its data directory, to start
    /// another server on it with [`TestServerBuilder::start_in`].
    pub fn into_data_dir(mut self) -> tempfile::TempDir {
        self.stop();
        self.data_dir.take().expect("the data directory")
    }

    /// Kills the server with SIGKILL, as a crash or the OOM killer would (no
    /// shutdown code runs), and hands over its data directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        self.child.kill().expect("SIGKILL berth");
        self.child.wait().expect("wait for berth");
        self.data_dir.take().expect("the data directory")
    }

    /// The server's process id (to read its memory use).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident set size of the server so far, in bytes (`VmHWM`).
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc status");
        kib * 1024
    }

    /// Runs an admin subcommand of `berth` against this server's data directory.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        self.admin_command(args)
            .output()
            .expect("run berth admin command")
    }

    /// Runs an admin subcommand with its wall clock moved by `offset` (see
    /// [`clock_moved`]): `admin_at("+2h", &["gc"])` collects as it will two
    /// hours from now, with the default grace period.
    pub fn admin_at(&self, offset: &str, args: &[&str]) -> std::process::Output {
        self.admin_command(args)
            .envs(clock_moved(offset))
            .output()
            .expect("run berth admin command")
    }

    /// The environment every admin command on this installation needs (the
    /// blob store's settings), for commands run away from `self`.
    pub fn admin_env(&self) -> Vec<(String, String)> {
        self.store_env.clone()
    }

    fn admin_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(berth_binary());
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .env_remove("BERTH_CONFIG")
            .envs(self.store_env.iter().map(|(k, v)| (k, v)));
        command
    }
}

impl TestServer {
    /// Creates a user with `berth user create`, with these managed policies.
    pub fn add_user(&self, name: &str, password: &str, policies: &[&str]) {
        let created = Command::new(berth_binary())
            .args(["user", "create", name])
            .args(policies.iter().flat_map(|p| ["--policy", p]))
            .arg("--data-dir")
            .arg(self.data_dir())
            .env("BERTH_USER_PASSWORD", password)
            .env_remove("BERTH_CONFIG")
            .envs(self.store_env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run berth user create");
        assert!(created.status.success(), "user create: {created:?}");
    }

    /// Stops the server the way an operator does (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        self.child.wait().expect("wait for berth")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// libfaketime (Debian package `faketime`), which moves the wall clock of the
/// process it is loaded into.
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The environment that runs a process with its wall clock moved by `offset`
/// (libfaketime's relative syntax: `-2d`, `+2h`, `+90m`). Monotonic time is
/// left alone, so timeouts and intervals behave.
pub fn clock_moved(offset: &str) -> [(&'static str, String); 3] {
    assert!(
        Path::new(LIBFAKETIME).exists(),
        "{LIBFAKETIME} is missing: install Debian's faketime (.ci/deps.sh does)"
    );
    [
        ("LD_PRELOAD", LIBFAKETIME.to_owned()),
        ("FAKETIME", offset.to_owned()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_owned()),
    ]
}

/// The `berth` binary cargo built for these tests.
pub fn berth_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_berth"))
}

/// Notes a secret the tests know, when `BERTH_TEST_LOG_DIR` asks for them:
/// `.ci/secrets-grep.sh` fails the run if any appears in a server's log.
pub fn record_secret(secret: &str) {
    let Some(dir) = std::env::var_os("BERTH_TEST_LOG_DIR") else {
        return;
    };
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(Path::new(&dir).join("secrets"))
        .expect("the secrets file");
    // One write per line, so concurrent tests never interleave inside one.
    file.write_all(format!("{secret}\n").as_bytes())
        .expect("record a secret");
}

/// A unique repository-name-safe suffix for a test.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// SHA-256 of every file under `dir` (except SQLite's shared-memory index,
/// which readers update and which holds no data): to show a command wrote nothing.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, String> {
    use sha2::{Digest as _, Sha256};
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.to_string_lossy().ends_with("-shm") {
                let bytes = std::fs::read(&path).expect("read file");
                out.insert(
                    path.strip_prefix(dir)
                        .expect("under dir")
                        .display()
                        .to_string(),
                    hex::encode(Sha256::digest(&bytes)),
                );
            }
        }
    }
    out
}

/// The id of the registry's own KMS key (which protects `AES256`
/// repositories), read from the installation's database.
pub async fn registry_key_id(data_dir: &Path) -> String {
    let url = format!("sqlite://{}?mode=ro", data_dir.join("berth.db").display());
    let db = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open berth.db");
    let id = sqlx::query_scalar("SELECT id FROM kms_keys WHERE manager = 'BERTH'")
        .fetch_one(&db)
        .await
        .expect("the registry key");
    db.close().await;
    id
}

/// The stored object that holds `digest`'s encrypted copy under key
/// `key_id`, as a digest: sha256 of the digest, a NUL and the key id
/// (`service::encryption::copy_object`).
pub fn copy_object(digest: &str, key_id: &str) -> String {
    use sha2::Digest as _;
    let mut name = sha2::Sha256::new();
    name.update(digest.as_bytes());
    name.update([0]);
    name.update(key_id.as_bytes());
    format!("sha256:{}", hex::encode(name.finalize()))
}

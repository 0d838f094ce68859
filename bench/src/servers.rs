//! The two registries under test, each on a free loopback port with its own
//! temporary directory and HTTP Basic auth for one user: Berth (`berth serve`)
//! and CNCF Distribution (`docker-registry serve`, filesystem storage,
//! htpasswd auth). Both are killed on drop.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user both registries accept.
pub const USER: &str = "admin";
/// Its password.
pub const PASSWORD: &str = "bench-password-123";

/// Which registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    /// Berth.
    Berth,
    /// CNCF Distribution.
    Distribution,
}

impl Kind {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Berth => "Berth",
            Kind::Distribution => "Distribution",
        }
    }
}

/// A running registry.
pub struct Server {
    /// Which one.
    pub kind: Kind,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`, for docker.
    pub host: String,
    child: Child,
    /// The program and arguments that start it again on the same port and data.
    again: (PathBuf, Vec<String>),
    /// Berth's data directory (`--data-dir`), for its CLI commands.
    pub data_dir: PathBuf,
    /// The binary it runs.
    pub binary: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts Berth from `binary` and waits until it serves.
    pub fn berth(binary: &Path) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = spawn(
            binary,
            &["serve", "--listen", "127.0.0.1:0", "--data-dir"],
            Some(&dir.path().join("data")),
            Stdio::piped(),
        );
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let (false, Some(url)) = (sent, line.strip_prefix("Berth is listening on ")) {
                    let _ = tx.send(url.trim().to_string());
                    sent = true;
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("Berth printed its address within 60 s");
        let host = url.trim_start_matches("http://").to_string();
        let again = vec![
            "serve".to_string(),
            "--listen".to_string(),
            host.clone(),
            "--data-dir".to_string(),
            dir.path().join("data").display().to_string(),
        ];
        Server {
            kind: Kind::Berth,
            url,
            host,
            child,
            again: (binary.to_owned(), again),
            data_dir: dir.path().join("data"),
            binary: binary.to_owned(),
            _dir: dir,
        }
    }

    /// Starts Distribution from `binary` with filesystem storage and htpasswd
    /// auth, and waits until it answers.
    pub fn distribution(binary: &Path) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        // Cost 5, what `htpasswd -B` writes by default (bcrypt's own default, 12,
        // would make Distribution spend ~0.2 s per request on it).
        let hash = bcrypt::hash(PASSWORD, 5).expect("bcrypt");
        std::fs::write(dir.path().join("htpasswd"), format!("{USER}:{hash}\n")).unwrap();
        let config = format!(
            "version: 0.1\n\
             log:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n\
             auth:\n  htpasswd:\n    realm: bench\n    path: {htpasswd}\n",
            root = dir.path().join("data").display(),
            htpasswd = dir.path().join("htpasswd").display(),
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (Debian package docker-registry)",
                    binary.display()
                )
            });
        let host = format!("127.0.0.1:{port}");
        wait_for_port(&host);
        Server {
            kind: Kind::Distribution,
            url: format!("http://{host}"),
            host,
            child,
            again: (
                binary.to_owned(),
                vec!["serve".to_string(), config_path.display().to_string()],
            ),
            data_dir: dir.path().join("data"),
            binary: binary.to_owned(),
            _dir: dir,
        }
    }

    /// Stops the server the way a service manager does (SIGTERM, then waits).
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Starts a stopped server again on the same port and data, without
    /// waiting for it to serve.
    pub fn start_again(&mut self) {
        let (binary, args) = &self.again;
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.child = spawn(binary, &args, None, Stdio::null());
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory now, in bytes (`VmRSS`).
    pub fn rss(&self) -> u64 {
        rss_of(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `binary` with `args` (then `last`, if any) and Berth's settings for
/// the bench; Distribution ignores them.
fn spawn(binary: &Path, args: &[&str], last: Option<&Path>, stdout: Stdio) -> Child {
    let mut command = Command::new(binary);
    command.args(args);
    if let Some(last) = last {
        command.arg(last);
    }
    command
        .env("BERTH_ADMIN_PASSWORD", PASSWORD)
        .env("RUST_LOG", "warn")
        // Equal settings: Distribution has no request-rate limit.
        .env("BERTH_RATE_LIMIT", "0")
        .env_remove("BERTH_CONFIG")
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()))
}

/// A process's resident memory now, in bytes (`VmRSS`; 0 once it is gone).
pub fn rss_of(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:") * 1024
}

/// A process's peak resident memory so far, in bytes (`VmHWM`; 0 once it is gone).
pub fn hwm_of(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM:") * 1024
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn wait_for_port(host: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(host).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens on {host} after 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The default Distribution binary (Debian's `docker-registry`).
pub fn default_distribution() -> PathBuf {
    PathBuf::from("/usr/bin/docker-registry")
}

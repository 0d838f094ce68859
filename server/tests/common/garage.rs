//! `Garage`: a real single-node Garage S3 server (the `garage` binary that
//! `.ci/garage.sh` installs into the tools cache) on free loopback ports, with
//! its own temporary directory, one bucket and one access key, for the tests of
//! Berth's S3 blob store. Killed on drop; never skipped.
//!
//! What the helper runs, once per `Garage::start` (about 0.35 s in all):
//! `garage server`, then `node id -q`, `layout assign -z dc1 -c 1G <node>`,
//! `layout apply --version 1`, `bucket create`, `key import` (a fixed key) and
//! `bucket allow --read --write --owner`.
//!
//! Garage 2.5 quirks the S3 store has to live with (seen with the AWS CLI):
//! - multipart: `CompleteMultipartUpload` does not enforce AWS's 5 MiB minimum
//!   part size, but `UploadPart` rejects an empty body, and `UploadPartCopy`
//!   rejects a source object under 3072 bytes (Garage stores those inline);
//! - `DeleteObject` on a key aborts that key's in-progress multipart uploads;
//! - `PutObject` ignores `If-None-Match: *` (it overwrites);
//! - only SigV4 is accepted (also for presigned URLs); an expired presigned URL
//!   gets 400 `InvalidRequest`, not 403;
//! - while the server is down, requests fail with "connection refused".

use super::docker::describe;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket every test Garage has.
pub const BUCKET: &str = "berth";
/// The region every test Garage serves (`s3_region`).
pub const REGION: &str = "us-east-1";
/// The access key id imported into every test Garage (`GK` + 24 hex digits).
pub const KEY_ID: &str = "GK0123456789abcdef01234567";
/// The secret of [`KEY_ID`] (64 hex digits).
pub const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// How long Garage may take until its S3 port answers (it takes ~0.1 s).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times `start` picks new ports when one was taken in between.
const START_ATTEMPTS: u32 = 3;
/// Variables that would make the `garage` CLI or server ignore our config.
const GARAGE_ENV: &[&str] = &[
    "GARAGE_CONFIG_FILE",
    "GARAGE_RPC_HOST",
    "GARAGE_RPC_SECRET",
    "GARAGE_RPC_SECRET_FILE",
    "GARAGE_ADMIN_TOKEN",
    "GARAGE_ADMIN_TOKEN_FILE",
    "GARAGE_METRICS_TOKEN",
    "GARAGE_METRICS_TOKEN_FILE",
    "GARAGE_ALLOW_WORLD_READABLE_SECRETS",
];

/// A running single-node Garage with a bucket and a read-write-owner key.
pub struct Garage {
    /// The `garage server` process; `None` while stopped.
    child: Option<Child>,
    /// Holds `garage.toml`, `meta/`, `data/` and one `garage-N.log` per launch.
    dir: tempfile::TempDir,
    config: PathBuf,
    binary: PathBuf,
    rpc_port: u16,
    s3_port: u16,
    /// How many times `garage server` was launched (names the log file).
    launches: u32,
    /// `http://127.0.0.1:PORT`, the S3 endpoint (path-style addressing).
    pub endpoint: String,
    /// The S3 region (`us-east-1`).
    pub region: String,
    /// The bucket Berth may use.
    pub bucket: String,
    /// The access key id (`AWS_ACCESS_KEY_ID`).
    pub key_id: String,
    /// The secret access key (`AWS_SECRET_ACCESS_KEY`).
    pub secret: String,
}

impl Garage {
    /// Starts a fresh Garage in a new temporary directory on free loopback
    /// ports and makes it ready for S3 use: layout applied, bucket created, key
    /// imported and allowed. Panics with the server log if anything fails.
    pub fn start() -> Garage {
        let dir = tempfile::Builder::new()
            .prefix("berth-garage.")
            .tempdir()
            .expect("create a temporary directory for Garage");
        let config = dir.path().join("garage.toml");
        let mut garage = Garage {
            child: None,
            dir,
            config,
            binary: garage_binary(),
            rpc_port: 0,
            s3_port: 0,
            launches: 0,
            endpoint: String::new(),
            region: REGION.into(),
            bucket: BUCKET.into(),
            key_id: KEY_ID.into(),
            secret: SECRET.into(),
        };
        let mut attempt = 1;
        loop {
            garage.configure();
            garage.launch();
            match garage.wait_ready() {
                Ok(()) => break,
                // Another process took a port between `free_ports` and Garage's bind.
                Err(_)
                    if attempt < START_ATTEMPTS
                        && garage.log().contains("Address already in use") =>
                {
                    garage.stop();
                    attempt += 1;
                }
                Err(why) => garage.fail(&why),
            }
        }
        garage.set_up();
        garage
    }

    /// Kills the server (SIGKILL) and waits for it; the data directory stays,
    /// so [`Garage::resume`] brings back the same bucket, key and objects.
    /// Does nothing if it is already stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same ports and data, and waits
    /// until its S3 port answers (about 0.05 s). Panics with the log on failure.
    pub fn resume(&mut self) {
        assert!(
            self.child.is_none(),
            "Garage::resume: the server at {} is still running (call stop() first)",
            self.endpoint
        );
        self.launch();
        if let Err(why) = self.wait_ready() {
            self.fail(&why);
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => child.try_wait().expect("poll garage").is_none(),
            None => false,
        }
    }

    /// The environment a `berth serve` needs to keep its blobs in this Garage.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("BERTH_STORAGE", "s3"),
            ("BERTH_S3_BUCKET", self.bucket.as_str()),
            ("BERTH_S3_REGION", self.region.as_str()),
            ("BERTH_S3_ENDPOINT", self.endpoint.as_str()),
            ("BERTH_S3_PATH_STYLE", "true"),
            ("AWS_ACCESS_KEY_ID", self.key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.as_str()),
            // No instance metadata lookups (and their timeouts) off EC2.
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// What the current (or last) `garage server` launch has logged so far.
    pub fn log(&self) -> String {
        std::fs::read(self.log_path())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// Picks free ports, empties `meta/` and `data/`, and writes `garage.toml`.
    fn configure(&mut self) {
        let (rpc_port, s3_port) = free_ports();
        self.rpc_port = rpc_port;
        self.s3_port = s3_port;
        self.endpoint = format!("http://127.0.0.1:{s3_port}");
        let meta = self.dir.path().join("meta");
        let data = self.dir.path().join("data");
        for dir in [&meta, &data] {
            match std::fs::remove_dir_all(dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    panic!("could not empty {}: {e}", dir.display())
                }
                _ => {}
            }
        }
        let config = format!(
            "# A single-node Garage for Berth's tests (tests/common/garage.rs).\n\
             metadata_dir = \"{meta}\"\n\
             data_dir = \"{data}\"\n\
             db_engine = \"sqlite\"\n\
             replication_factor = 1\n\
             rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\n\
             rpc_public_addr = \"127.0.0.1:{rpc_port}\"\n\
             rpc_secret = \"{secret}\"\n\
             \n\
             [s3_api]\n\
             api_bind_addr = \"127.0.0.1:{s3_port}\"\n\
             s3_region = \"{REGION}\"\n",
            meta = toml_escape(&meta.display().to_string()),
            data = toml_escape(&data.display().to_string()),
            secret = random_hex(32),
        );
        std::fs::write(&self.config, config).expect("write garage.toml");
    }

    /// Spawns `garage server`, logging to a new `garage-N.log`.
    fn launch(&mut self) {
        self.launches += 1;
        let log = File::create(self.log_path()).expect("create the Garage log file");
        let stderr = log.try_clone().expect("clone the Garage log file");
        let mut command = Command::new(&self.binary);
        command
            .arg("-c")
            .arg(&self.config)
            .arg("server")
            // Garage's own default, set explicitly: readiness looks for an INFO line.
            .env("RUST_LOG", "netapp=info,garage=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr);
        for var in GARAGE_ENV {
            command.env_remove(var);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("could not start `{} server`: {e}", self.binary.display()));
        self.child = Some(child);
    }

    /// Waits until this launch's S3 API listens on our port and answers HTTP.
    fn wait_ready(&mut self) -> Result<(), String> {
        let listening = format!(
            "S3 API server listening on http://127.0.0.1:{}",
            self.s3_port
        );
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let child = self.child.as_mut().expect("garage server launched");
            if let Some(status) = child.try_wait().expect("poll garage") {
                return Err(format!("`garage server` exited early ({status})"));
            }
            let log = self.log();
            // With its S3 port taken, Garage logs this and keeps running.
            if log.contains("S3 API server exited with error") {
                return Err(format!(
                    "Garage could not serve S3 on port {}",
                    self.s3_port
                ));
            }
            // The log line tells our server from whatever else may hold the port.
            if log.contains(&listening) && http_answers(self.s3_port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the S3 port {} did not answer within {READY_TIMEOUT:?}",
                    self.s3_port
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Gives the node a role, then creates the bucket and the key.
    fn set_up(&mut self) {
        let node_id = self.cli(&["node", "id", "-q"]);
        let node = node_id
            .trim()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string();
        if node.is_empty() {
            self.fail(&format!(
                "`garage node id -q` printed no node id: {node_id:?}"
            ));
        }
        self.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]);
        self.cli(&["layout", "apply", "--version", "1"]);
        self.cli(&["bucket", "create", BUCKET]);
        self.cli(&[
            "key",
            "import",
            "--yes",
            "-n",
            "berth-tests",
            KEY_ID,
            SECRET,
        ]);
        self.cli(&[
            "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", KEY_ID,
        ]);
        if !self.is_running() {
            self.fail("`garage server` exited during set-up");
        }
    }

    /// Runs `garage -c garage.toml ARGS…` and returns its stdout; panics on failure.
    fn cli(&self, args: &[&str]) -> String {
        let mut command = Command::new(&self.binary);
        command
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        for var in GARAGE_ENV {
            command.env_remove(var);
        }
        let output = command.output().unwrap_or_else(|e| {
            panic!(
                "could not run `{} {}`: {e}",
                self.binary.display(),
                args.join(" ")
            )
        });
        if !output.status.success() {
            self.fail(&format!(
                "`garage {}` failed:\n{}",
                args.join(" "),
                describe(&output)
            ));
        }
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn log_path(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("garage-{}.log", self.launches))
    }

    /// Panics with `why` and the server log.
    fn fail(&self, why: &str) -> ! {
        panic!(
            "Garage ({}, S3 {}, RPC port {}, dir {}): {why}\n--- {} ---\n{}",
            self.binary.display(),
            self.endpoint,
            self.rpc_port,
            self.dir.path().display(),
            self.log_path().display(),
            self.log()
        )
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `garage` binary: `$BERTH_GARAGE`, else `$BERTH_TOOLS/bin/garage`, else
/// `~/.cache/berth-tools/bin/garage`. Panics if it is not there.
pub fn garage_binary() -> PathBuf {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let path = if let Some(path) = set("BERTH_GARAGE") {
        PathBuf::from(path)
    } else if let Some(tools) = set("BERTH_TOOLS") {
        PathBuf::from(tools).join("bin/garage")
    } else {
        PathBuf::from(set("HOME").unwrap_or_default()).join(".cache/berth-tools/bin/garage")
    };
    assert!(
        path.is_file(),
        "Garage is not installed: run `make test` (it installs it into the tools cache); \
         there is no {}",
        path.display()
    );
    path
}

/// Two distinct free loopback ports (both bound at once, then released).
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("local address").port();
    (port(&a), port(&b))
}

/// Whether an HTTP server answers `GET /` on `127.0.0.1:port` (any status).
fn http_answers(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    let mut head = [0u8; 5];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && &head == b"HTTP/"
}

/// `n` random bytes from the kernel, as hex.
fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    bytes.iter().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// `s` escaped for a TOML basic string.
fn toml_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

impl Garage {
    /// Every object in the test's bucket, with its bytes, read with a client of
    /// the test's own (not through Berth's driver).
    pub async fn objects(&self) -> Vec<(String, Vec<u8>)> {
        let client = self.client().await;
        let garage = self;
        let listed = client
            .list_objects_v2()
            .bucket(&garage.bucket)
            .send()
            .await
            .expect("list the bucket");
        let mut objects = Vec::new();
        for object in listed.contents() {
            let key = object.key().expect("objects have keys").to_owned();
            let body = client
                .get_object()
                .bucket(&garage.bucket)
                .key(&key)
                .send()
                .await
                .expect("get an object")
                .body
                .collect()
                .await
                .expect("read an object")
                .into_bytes();
            objects.push((key, body.to_vec()));
        }
        objects
    }

    /// Replaces the object `key` in the test's bucket (to tamper with it).
    pub async fn put_object(&self, key: &str, bytes: Vec<u8>) {
        self.client()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .expect("put an object");
    }

    /// An S3 client of the test's own for this Garage.
    async fn client(&self) -> aws_sdk_s3::Client {
        let garage = self;
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .region(aws_config::Region::new(garage.region.clone()))
            .endpoint_url(&garage.endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &garage.key_id,
                &garage.secret,
                None,
                None,
                "test-garage",
            ))
            .load()
            .await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&shared)
                .force_path_style(true)
                .build(),
        )
    }
}

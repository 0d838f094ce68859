//! Monitoring (issue 19 §2): Debian's real `prometheus` scrapes Berth, on
//! `metrics_listen` and on the main port as an administrator, and its query
//! API sees the push and `up`; the counters move for each face; `/metrics`
//! on the main port is for administrators only; `/healthz` and `/readyz`,
//! the latter 503 with the reason when the blob store cannot be reached.

mod common;

use common::oci::Registry;
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's Prometheus (package `prometheus`, installed by .ci/deps.sh).
const PROMETHEUS: &str = "/usr/bin/prometheus";

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a free loopback port")
        .local_addr()
        .expect("its address")
        .port()
}

/// The sum of the samples of `name` whose labels include every one of
/// `labels` (`face="registry"`), or `None` when there is none.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, label_text) = match series.split_once('{') {
            Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let present: Vec<&str> = label_text.split(',').collect();
        if metric == name && labels.iter().all(|l| present.contains(l)) {
            *found.get_or_insert(0.0) += value.parse::<f64>().expect("a sample value");
        }
    }
    found
}

/// `GET url`, with HTTP Basic `(user, password)` when given; the status,
/// headers and body.
async fn get_as(url: &str, user: Option<(&str, &str)>) -> (StatusCode, HeaderMap, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some((user, password)) = user {
        request = request.basic_auth(user, Some(password));
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.expect("body"))
}

/// `GET url` with the admin's credentials; the status and body.
async fn get_as_admin(url: &str) -> (StatusCode, String) {
    let (status, _, body) = get_as(url, Some(("admin", ADMIN_PASSWORD))).await;
    (status, body)
}

/// The main port's `/metrics` once `holds` is true of it. The request
/// counters move when a response's last byte has gone, a moment after the
/// client has it, so this polls, for 10 s at most.
async fn metrics_once(server: &TestServer, what: &str, holds: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, text) = get_as_admin(&format!("{}/metrics", server.url)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        if holds(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "/metrics never showed {what}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_face_is_counted_by_operation_and_status() {
    let server = TestServer::start();
    let registry = Registry::new(&server);
    let repo = common::unique("metrics-faces");
    let image = registry.push_image(&repo, Some("v1")).await;
    let pulled = registry
        .send(
            registry
                .get(&format!("/v2/{repo}/manifests/v1"))
                .header("Accept", common::oci::OCI_MANIFEST),
        )
        .await;
    assert_eq!(pulled.status(), StatusCode::OK);
    let missing = registry.send(registry.get("/v2/no/such/thing")).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let described = common::ecr::call(&server, "admin", "DescribeRepositories", "{}".into()).await;
    assert_eq!(described.status(), StatusCode::OK);
    // The same image pushed under another tag and read through the ECR API.
    let manifest = String::from_utf8(image.manifest.clone()).expect("UTF-8");
    let put =
        serde_json::json!({"repositoryName": repo, "imageTag": "v2", "imageManifest": manifest});
    let put = common::ecr::call(&server, "admin", "PutImage", put.to_string()).await;
    assert_eq!(put.status(), StatusCode::OK);
    let get = serde_json::json!({"repositoryName": repo, "imageIds": [{"imageTag": "v2"}]});
    let got = common::ecr::call(&server, "admin", "BatchGetImage", get.to_string()).await;
    assert_eq!(got.status(), StatusCode::OK);
    let login = reqwest::get(format!("{}/login", server.url))
        .await
        .expect("GET /login");
    assert_eq!(login.status(), StatusCode::OK);

    let stored = (image.config.size + image.layers[0].size) as f64;
    let text = metrics_once(&server, "every request", |text| {
        sample(
            text,
            "berth_http_requests_total",
            &["face=\"console\"", "operation=\"/login\""],
        )
        .is_some()
            && sample(text, "berth_http_requests_total", &["face=\"ecr\""]) == Some(3.0)
    })
    .await;
    let count = |labels: &[&str]| sample(&text, "berth_http_requests_total", labels);
    assert_eq!(
        count(&[
            "face=\"registry\"",
            "operation=\"PutManifest\"",
            "status=\"201\""
        ]),
        Some(1.0)
    );
    assert_eq!(
        count(&[
            "face=\"registry\"",
            "operation=\"GetManifest\"",
            "status=\"200\""
        ]),
        Some(1.0)
    );
    assert_eq!(
        count(&[
            "face=\"registry\"",
            "operation=\"Invalid\"",
            "status=\"404\""
        ]),
        Some(1.0)
    );
    assert_eq!(
        count(&[
            "face=\"ecr\"",
            "operation=\"DescribeRepositories\"",
            "status=\"200\""
        ]),
        Some(1.0)
    );
    assert_eq!(
        count(&["face=\"console\"", "operation=\"/login\"", "status=\"200\""]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "berth_image_pushes_total", &["face=\"registry\""]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "berth_image_pulls_total", &["face=\"registry\""]),
        Some(1.0)
    );
    for counter in ["berth_image_pushes_total", "berth_image_pulls_total"] {
        assert_eq!(
            sample(&text, counter, &["face=\"ecr\""]),
            Some(1.0),
            "{counter}"
        );
    }
    assert!(
        sample(
            &text,
            "berth_http_request_duration_seconds_count",
            &["operation=\"PutManifest\""]
        ) == Some(1.0)
    );
    assert!(
        sample(
            &text,
            "berth_http_received_bytes_total",
            &["face=\"registry\""]
        )
        .is_some_and(|bytes| bytes >= stored + image.manifest.len() as f64),
        "the blobs and the manifest were received:\n{text}"
    );
    assert!(
        sample(&text, "berth_http_sent_bytes_total", &["face=\"registry\""])
            .is_some_and(|bytes| bytes >= image.manifest.len() as f64),
        "the manifest was sent:\n{text}"
    );
    // Bounded labels: no request series names the repository or a raw path.
    for line in text.lines().filter(|l| l.starts_with("berth_http_")) {
        assert!(!line.contains(&repo) && !line.contains("/v2/"), "{line}");
    }
    // Storage, read from the metadata at the scrape.
    let repository = format!("repository=\"{repo}\"");
    assert_eq!(
        sample(&text, "berth_repository_blobs", &[&repository]),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "berth_repository_bytes", &[&repository]),
        Some(stored)
    );
    assert_eq!(sample(&text, "berth_stored_blobs", &[]), Some(2.0));
    assert_eq!(sample(&text, "berth_stored_bytes", &[]), Some(stored));
    assert_eq!(sample(&text, "berth_uploads_in_progress", &[]), Some(0.0));
}

#[tokio::test]
async fn uploads_in_progress_rate_limit_refusals_and_gc_runs_are_counted() {
    let server = TestServer::builder()
        .env("BERTH_RATE_LIMIT", "1")
        .env("BERTH_RATE_BURST", "1")
        .env("BERTH_GC_INTERVAL", "1")
        .start();
    let registry = Registry::new(&server);
    let repo = common::unique("metrics-limits");
    // One upload left open, then requests over the rate limit of 1 a second.
    let _open = registry.start_upload(&repo).await;
    let mut refused = 0;
    for _ in 0..5 {
        let answer = registry.send(registry.get("/v2/")).await;
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused >= 1, "a burst of 1 refuses some of 5 requests");
    // The storage gauges are read at most every 10 s: the first scrape
    // (below) is the first reading, after the upload started.
    let text = metrics_once(&server, "a GC run and the refusals", |text| {
        sample(
            text,
            "berth_job_runs_total",
            &["kind=\"gc\"", "outcome=\"succeeded\""],
        )
        .is_some()
            && sample(text, "berth_http_requests_total", &["status=\"429\""])
                == Some(f64::from(refused))
    })
    .await;
    assert_eq!(
        sample(&text, "berth_rate_limited_total", &["reason=\"rate\""]),
        Some(f64::from(refused))
    );
    assert_eq!(sample(&text, "berth_uploads_in_progress", &[]), Some(1.0));
    assert!(sample(&text, "berth_job_duration_seconds_count", &["kind=\"gc\""]) >= Some(1.0));
    assert!(sample(&text, "berth_job_deletions_total", &["kind=\"gc\""]).is_some());
    assert_eq!(
        sample(
            &text,
            "berth_job_runs_total",
            &["kind=\"gc\"", "outcome=\"failed\""]
        ),
        None
    );
}

#[tokio::test]
async fn metrics_on_the_main_port_are_for_administrators_only() {
    let server = TestServer::start();
    server.add_user(
        "reader",
        "reader-password-1",
        &["AmazonEC2ContainerRegistryReadOnly"],
    );
    let url = format!("{}/metrics", server.url);

    let (status, headers, body) = get_as(&url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Basic realm=\"Berth metrics\"");
    assert!(body.contains("administrator"), "{body}");

    let (status, _, body) = get_as(&url, Some(("reader", "reader-password-1"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("not an administrator"), "{body}");

    let (status, headers, body) = get_as(&url, Some(("admin", ADMIN_PASSWORD))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    assert!(body.contains("# TYPE berth_http_requests_total counter"));
}

#[tokio::test]
async fn metrics_listen_serves_metrics_to_anyone_and_the_main_port_no_longer_does() {
    let port = free_port();
    let server = TestServer::builder()
        .env("BERTH_METRICS_LISTEN", &format!("127.0.0.1:{port}"))
        .start();
    let own = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("GET /metrics on metrics_listen");
    assert_eq!(own.status(), StatusCode::OK);
    assert!(own
        .text()
        .await
        .unwrap()
        .contains("# HELP berth_stored_bytes"));
    for path in ["/healthz", "/readyz"] {
        let answer = reqwest::get(format!("http://127.0.0.1:{port}{path}"))
            .await
            .expect("GET on metrics_listen");
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
    }
    let (status, body) = get_as_admin(&format!("{}/metrics", server.url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("metrics_listen"), "{body}");
    assert!(!body.contains("berth_http_requests_total"));
}

#[tokio::test]
async fn healthz_says_alive_and_readyz_says_why_the_store_cannot_be_reached() {
    let server = TestServer::start();
    let get = |path: &str| {
        let url = format!("{}{path}", server.url);
        async move {
            let answer = reqwest::get(&url).await.expect("GET");
            (answer.status(), answer.text().await.expect("body"))
        }
    };
    assert_eq!(get("/healthz").await, (StatusCode::OK, "ok\n".to_owned()));
    assert_eq!(get("/readyz").await, (StatusCode::OK, "ready\n".to_owned()));

    // The blob directory replaced by a file: every blob lookup fails
    // (ENOTDIR), as with a store whose disk is gone.
    let blobs = server.data_dir().join("blobs");
    let moved = server.data_dir().join("blobs.away");
    std::fs::rename(&blobs, &moved).expect("move the blobs away");
    std::fs::write(&blobs, b"not a directory").expect("a file in the way");
    let (status, body) = get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body.starts_with("not ready: the blob store (") && body.contains("failed"),
        "{body}"
    );
    assert_eq!(get("/healthz").await.0, StatusCode::OK, "still alive");

    std::fs::remove_file(&blobs).expect("remove the file");
    std::fs::rename(&moved, &blobs).expect("bring the blobs back");
    assert_eq!(get("/readyz").await, (StatusCode::OK, "ready\n".to_owned()));
    server.logs_once("the reason it was not ready", |logs| {
        logs.contains("not ready") && logs.contains("blob store")
    });
}

/// A Prometheus of the test's own: its configuration, its storage and its
/// process, stopped on drop.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(config: &str) -> Self {
        assert!(
            Path::new(PROMETHEUS).exists(),
            "{PROMETHEUS} is missing: install Debian's prometheus (.ci/deps.sh does)"
        );
        let dir = tempfile::tempdir().expect("a directory for Prometheus");
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, config).expect("write prometheus.yml");
        let port = free_port();
        let child = Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The value of `query`'s first series, when Prometheus answers one.
    async fn query(&self, query: &str) -> Option<f64> {
        let answer = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", query)])
            .send()
            .await
            .ok()?;
        let body: Value = answer.json().await.ok()?;
        body["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
    }

    /// Waits, 60 s at most, until `query` answers a value `holds` accepts.
    async fn wait_for(&mut self, query: &str, holds: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(value) = self.query(query).await.filter(|v| holds(*v)) {
                return value;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never answered {query}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn prometheus_scrapes_berth_and_sees_a_push() {
    // One Berth serving /metrics on metrics_listen, scraped as anyone; one
    // serving it on the main port, scraped with an administrator's password.
    let port = free_port();
    let own = TestServer::builder()
        .env("BERTH_METRICS_LISTEN", &format!("127.0.0.1:{port}"))
        .start();
    let main = TestServer::start();
    let config = format!(
        r#"global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: berth
    static_configs:
      - targets: ['127.0.0.1:{port}']
  - job_name: berth-main
    basic_auth:
      username: admin
      password: '{ADMIN_PASSWORD}'
    static_configs:
      - targets: ['{host}']
"#,
        host = main.host
    );
    let mut prometheus = Prometheus::start(&config);

    let registry = Registry::new(&own);
    registry
        .push_image(&common::unique("scraped"), Some("v1"))
        .await;
    prometheus.wait_for("up{job=\"berth\"}", |v| v == 1.0).await;
    prometheus
        .wait_for("up{job=\"berth-main\"}", |v| v == 1.0)
        .await;
    let pushes = prometheus
        .wait_for(
            "sum(berth_image_pushes_total{job=\"berth\",face=\"registry\"})",
            |v| v >= 1.0,
        )
        .await;
    assert_eq!(pushes, 1.0);
    prometheus
        .wait_for(
            "sum(berth_http_requests_total{job=\"berth\",face=\"registry\",operation=\"PutManifest\",status=\"201\"})",
            |v| v == 1.0,
        )
        .await;
    prometheus
        .wait_for("berth_stored_blobs{job=\"berth\"}", |v| v == 2.0)
        .await;
}

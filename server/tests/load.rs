//! A bounded load test on loopback, at ECR's default quota (200 requests a
//! second per user, 400 at once): for 60 seconds one user sends a mix of
//! pulls, pushes and ECR API calls at 195 a second, and every one must
//! succeed; then for 5 seconds at 500 a second, and every request must either
//! succeed or be a well-formed refusal (429 TOOMANYREQUESTS with Retry-After
//! on `/v2/`, ThrottlingException on the ECR API), with no more let through
//! than the quota allows. Latencies are printed, not asserted (speed lives in
//! `make bench`).

mod common;

use common::ecr::{call_headers, create_access_key, AccessKey};
use common::oci::{
    image_manifest, random_bytes, sha256_digest, to_bytes, Descriptor, Registry, OCI_LAYER,
    OCI_MANIFEST,
};
use common::{unique, TestServer};
use reqwest::{Method, StatusCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The quota the server runs with (ECR's defaults, set explicitly because
/// other tests' servers turn limiting off).
const RATE: u32 = 200;
const BURST: u32 = 400;

/// What one request came to.
#[derive(Debug)]
struct Outcome {
    what: &'static str,
    status: StatusCode,
    /// The error code (OCI `code` or ECR `__type`) when refused.
    code: Option<String>,
    retry_after: bool,
    latency: Duration,
}

/// The load: a client, the admin's access key, and an image to pull.
struct Load {
    reg: Registry,
    http: reqwest::Client,
    url: String,
    host: String,
    key: AccessKey,
    repo: String,
    layer: String,
    config: Descriptor,
    outcomes: Mutex<Vec<Outcome>>,
}

impl Load {
    async fn new(server: &TestServer) -> Arc<Self> {
        let reg = Registry::new(server);
        let repo = unique("load");
        let image = reg.push_image(&repo, Some("v1")).await;
        Arc::new(Self {
            reg,
            http: reqwest::Client::new(),
            url: server.url.clone(),
            host: server.host.clone(),
            key: create_access_key(server, "admin"),
            layer: image.layers[0].digest.clone(),
            config: image.config.clone(),
            repo,
            outcomes: Mutex::new(Vec::new()),
        })
    }

    /// Sends the `i`th request of the mix; a push takes two ticks' requests.
    async fn send(&self, i: u64) {
        let repo = &self.repo;
        match i % 10 {
            0..=3 => {
                let path = format!("/v2/{repo}/manifests/v1");
                let request = self.reg.get(&path).header("Accept", OCI_MANIFEST);
                self.registry("manifest GET", request).await;
            }
            4 | 5 => {
                let path = format!("/v2/{repo}/blobs/{}", self.layer);
                self.registry("blob GET", self.reg.get(&path)).await;
            }
            6 => {
                let body = format!(r#"{{"repositoryName":"{repo}","maxResults":10}}"#);
                self.ecr("ListImages", body).await;
            }
            7 => self.ecr("DescribeRepositories", "{}".into()).await,
            8 => {
                let layer = random_bytes(4096);
                let digest = sha256_digest(&layer);
                let path = format!("/v2/{repo}/blobs/uploads/?digest={digest}");
                let pushed = self
                    .registry("blob push", self.reg.post(&path).body(layer.clone()))
                    .await;
                if pushed {
                    let layers = [Descriptor::of(OCI_LAYER, &layer)];
                    let manifest = to_bytes(&image_manifest(&self.config, &layers));
                    let path = format!("/v2/{repo}/manifests/t{i}");
                    let request = self
                        .reg
                        .put(&path)
                        .header("Content-Type", OCI_MANIFEST)
                        .body(manifest);
                    self.registry("manifest PUT", request).await;
                }
            }
            _ => {} // the push's second request
        }
    }

    /// Sends a `/v2/` request; records it; returns whether it succeeded.
    async fn registry(&self, what: &'static str, request: reqwest::RequestBuilder) -> bool {
        let start = Instant::now();
        let response = self.reg.send(request).await;
        let status = response.status();
        let retry_after = response.headers().contains_key("retry-after");
        let code = if status.is_success() {
            let _ = response.bytes().await;
            None
        } else {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            body["errors"][0]["code"].as_str().map(str::to_owned)
        };
        self.record(what, status, code, retry_after, start)
    }

    /// Sends a signed ECR API call; records it.
    async fn ecr(&self, operation: &'static str, body: String) {
        let start = Instant::now();
        let mut request = self.http.request(Method::POST, format!("{}/", self.url));
        for (name, value) in call_headers(&self.key, &self.host, operation, body.as_bytes()) {
            if name != "host" {
                request = request.header(name, value);
            }
        }
        let response = request.body(body).send().await.expect("ECR call sent");
        let status = response.status();
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        let code = answer["__type"].as_str().map(str::to_owned);
        self.record(operation, status, code, false, start);
    }

    fn record(
        &self,
        what: &'static str,
        status: StatusCode,
        code: Option<String>,
        retry_after: bool,
        start: Instant,
    ) -> bool {
        self.outcomes.lock().unwrap().push(Outcome {
            what,
            status,
            code,
            retry_after,
            latency: start.elapsed(),
        });
        status.is_success()
    }

    fn take(&self) -> Vec<Outcome> {
        std::mem::take(&mut *self.outcomes.lock().unwrap())
    }
}

/// Sends the mix at `per_second` for `seconds`, each request on its own task
/// so a slow answer does not slow the pace; waits for all of them.
async fn run(load: &Arc<Load>, per_second: u64, seconds: u64) -> Duration {
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / per_second));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..per_second * seconds {
        tick.tick().await;
        let load = load.clone();
        tasks.spawn(async move { load.send(i).await });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("request task");
    }
    start.elapsed()
}

fn percentile(outcomes: &[Outcome], p: f64) -> Duration {
    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    latencies.sort();
    latencies[((latencies.len() - 1) as f64 * p) as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_at_the_quota_is_served_in_full_and_more_is_refused_cleanly() {
    let server = TestServer::builder()
        .env("BERTH_RATE_LIMIT", &RATE.to_string())
        .env("BERTH_RATE_BURST", &BURST.to_string())
        .start();
    let load = Load::new(&server).await;
    // The set-up used some of the burst; let it fill up again.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let elapsed = run(&load, 195, 60).await;
    let below = load.take();
    let failed: Vec<&Outcome> = below.iter().filter(|o| !o.status.is_success()).collect();
    println!(
        "below the quota: {} requests in {:.1} s, latency p50 {:?} p99 {:?}, {} failed",
        below.len(),
        elapsed.as_secs_f64(),
        percentile(&below, 0.5),
        percentile(&below, 0.99),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} requests below the quota failed, e.g. {:?}",
        failed.len(),
        below.len(),
        &failed[..failed.len().min(5)]
    );
    for what in [
        "manifest GET",
        "blob GET",
        "ListImages",
        "DescribeRepositories",
        "blob push",
        "manifest PUT",
    ] {
        assert!(
            below.iter().any(|o| o.what == what),
            "the mix included {what}"
        );
    }

    // Above it: 500 a second for 5 seconds, from a full bucket.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let elapsed = run(&load, 500, 5).await;
    let above = load.take();
    let passed = above.iter().filter(|o| o.status.is_success()).count();
    let refused: Vec<&Outcome> = above.iter().filter(|o| !o.status.is_success()).collect();
    println!(
        "above the quota: {} requests in {:.1} s, {passed} served, {} refused",
        above.len(),
        elapsed.as_secs_f64(),
        refused.len()
    );
    for o in &refused {
        let clean = match o.what {
            "ListImages" | "DescribeRepositories" => {
                o.status == StatusCode::BAD_REQUEST
                    && o.code.as_deref() == Some("ThrottlingException")
            }
            _ => {
                o.status == StatusCode::TOO_MANY_REQUESTS
                    && o.code.as_deref() == Some("TOOMANYREQUESTS")
                    && o.retry_after
            }
        };
        assert!(clean, "a refusal above the quota is not a clean one: {o:?}");
    }
    assert!(!refused.is_empty(), "500 a second is refused in part");
    let allowed = f64::from(BURST) + f64::from(RATE) * elapsed.as_secs_f64();
    assert!(
        passed as f64 <= allowed * 1.05,
        "{passed} served in {elapsed:?}: more than the quota's {allowed:.0}"
    );

    // And the user is served again once the pace drops.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = load.reg.send(load.reg.get("/v2/")).await;
    assert_eq!(after.status(), StatusCode::OK);
}

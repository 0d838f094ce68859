//! The registry API's workloads: pushes and pulls of big blobs, request
//! rates, docker, memory under concurrent uploads, listings and start-up.

use crate::client::{numbered, Blob, Client, OCI_MANIFEST};
use crate::servers::{Kind, Server, PASSWORD, USER};
use crate::workloads::{mib, Fixtures, Measure, Sizes, Workload, MIB};
use futures_util::future::LocalBoxFuture;
use futures_util::stream::{self, StreamExt};
use reqwest::{Method, StatusCode};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The registry API's workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// Monolithic blob push.
    PushMonolithic,
    /// Chunked blob push.
    PushChunked,
    /// Whole blob GET.
    PullWhole,
    /// Parallel ranged GETs.
    PullRanged,
    /// Manifest GET by tag under load.
    ManifestGet,
    /// Blob HEAD under load.
    BlobHead,
    /// docker push, then pull, of a many-layer image.
    Docker,
    /// Peak server memory during concurrent uploads.
    ConcurrentUploads,
    /// Paginated tags list of a big repository.
    TagsList,
    /// Paginated catalog of many repositories.
    Catalog,
    /// Start-up to serving with many images.
    Startup,
}

/// They, in the order they run.
pub const WORKLOADS: &[Workload] = &[
    &Registry::PushMonolithic,
    &Registry::PushChunked,
    &Registry::PullWhole,
    &Registry::PullRanged,
    &Registry::ManifestGet,
    &Registry::BlobHead,
    &Registry::Docker,
    &Registry::ConcurrentUploads,
    &Registry::TagsList,
    &Registry::Catalog,
    &Registry::Startup,
];

/// What they keep between rounds.
#[derive(Default)]
struct Kept {
    /// The blob the pulls read.
    pull_blob: Option<String>,
    /// The image the request-rate workloads ask for: (config, layer) digests.
    image: Option<(String, String)>,
}

/// A size for a title.
pub fn size(bytes: usize) -> String {
    if bytes >= 1024 * MIB {
        format!("{} GiB", bytes / (1024 * MIB))
    } else if bytes >= MIB {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

impl Measure for Registry {
    fn id(&self) -> &'static str {
        match self {
            Registry::PushMonolithic => "push-monolithic",
            Registry::PushChunked => "push-chunked",
            Registry::PullWhole => "pull-whole",
            Registry::PullRanged => "pull-ranged",
            Registry::ManifestGet => "manifest-get",
            Registry::BlobHead => "blob-head",
            Registry::Docker => "docker",
            Registry::ConcurrentUploads => "concurrent-uploads-rss",
            Registry::TagsList => "tags-list-page",
            Registry::Catalog => "catalog-page",
            Registry::Startup => "startup",
        }
    }

    fn title(&self, sizes: &Sizes) -> String {
        match self {
            Registry::PushMonolithic => format!("monolithic push, {}", size(sizes.blob)),
            Registry::PushChunked => format!(
                "chunked push, {} in {} PATCHes",
                size(sizes.blob),
                size(sizes.chunk)
            ),
            Registry::PullWhole => format!("pull, {} whole", size(sizes.blob)),
            Registry::PullRanged => format!(
                "pull, {} as {} parallel ranges",
                size(sizes.blob),
                sizes.ranges
            ),
            Registry::ManifestGet => format!("manifest GET by tag, {} conns", sizes.connections),
            Registry::BlobHead => format!("blob HEAD, {} conns", sizes.connections),
            Registry::Docker => format!(
                "docker push + pull, {} layers of {}",
                sizes.docker_layers,
                size(sizes.docker_layer_size)
            ),
            Registry::ConcurrentUploads => format!(
                "peak RSS, {} concurrent {} uploads",
                sizes.concurrent_uploads,
                size(sizes.concurrent_size)
            ),
            Registry::TagsList => format!("tags list page (n=100) of {} tags", sizes.listing),
            Registry::Catalog => format!("_catalog page (n=100) of {} repos", sizes.listing),
            Registry::Startup => format!("start-up to serving, {} images", sizes.startup_images),
        }
    }

    fn unit(&self) -> &'static str {
        match self {
            Registry::PushMonolithic
            | Registry::PushChunked
            | Registry::PullWhole
            | Registry::PullRanged => "MiB/s",
            Registry::ManifestGet | Registry::BlobHead => "req/s",
            Registry::Docker => "s",
            Registry::ConcurrentUploads => "MiB",
            Registry::TagsList | Registry::Catalog | Registry::Startup => "ms",
        }
    }

    /// Pulls take a second and vary with the machine's neighbours, so they
    /// are taken three times per turn.
    fn repeats(&self, smoke: bool) -> usize {
        match self {
            Registry::PullWhole | Registry::PullRanged if !smoke => 3,
            _ => 1,
        }
    }

    /// Start-up runs on Berth alone: its target is absolute (≤ 300 ms), and
    /// Distribution, which keeps no database and so has nothing to load,
    /// takes over 20 minutes here to be given 100,000 images through its API
    /// (it slows to about 60 manifest PUTs a second).
    fn berth_only(&self) -> bool {
        *self == Registry::Startup
    }

    fn run<'a>(
        &'a self,
        server: &'a mut Server,
        fixtures: &'a mut Fixtures,
        sizes: &'a Sizes,
        round: u64,
    ) -> LocalBoxFuture<'a, f64> {
        Box::pin(async move {
            let fixtures = fixtures.of::<Kept>();
            let client = Client::new(server);
            let seed = round * 2 + (server.kind == Kind::Distribution) as u64 + 1;
            match self {
                Registry::PushMonolithic => {
                    let blob = Blob::random(seed, sizes.blob);
                    let started = Instant::now();
                    client.push_monolithic("bench/push", &blob).await;
                    let rate = mib(sizes.blob, started.elapsed());
                    fixtures.pull_blob = Some(blob.digest);
                    rate
                }
                Registry::PushChunked => {
                    let blob = Blob::random(seed + 1000, sizes.blob);
                    let started = Instant::now();
                    client.push_chunked("bench/push", &blob, sizes.chunk).await;
                    mib(sizes.blob, started.elapsed())
                }
                Registry::PullWhole => {
                    let digest = pull_blob(&client, fixtures, sizes).await;
                    let started = Instant::now();
                    let got = client
                        .get_len_raw(&format!("/v2/bench/push/blobs/{digest}"))
                        .await;
                    assert_eq!(got, sizes.blob as u64, "the whole blob came back");
                    mib(sizes.blob, started.elapsed())
                }
                Registry::PullRanged => {
                    let digest = pull_blob(&client, fixtures, sizes).await;
                    let path = format!("/v2/bench/push/blobs/{digest}");
                    let part = sizes.blob.div_ceil(sizes.ranges);
                    let started = Instant::now();
                    let total: u64 = stream::iter(0..sizes.ranges)
                        .map(|i| {
                            let (client, path) = (client.clone(), path.clone());
                            let (start, end) = (i * part, ((i + 1) * part).min(sizes.blob) - 1);
                            async move {
                                client
                                    .get_len(
                                        client
                                            .request(Method::GET, &path)
                                            .header("Range", format!("bytes={start}-{end}")),
                                    )
                                    .await
                            }
                        })
                        .buffer_unordered(sizes.ranges)
                        .fold(0, |sum, n| async move { sum + n })
                        .await;
                    assert_eq!(total, sizes.blob as u64, "the ranges covered the blob");
                    mib(sizes.blob, started.elapsed())
                }
                Registry::ManifestGet => {
                    image(&client, fixtures).await;
                    load(&client, sizes, StatusCode::OK, |c| {
                        c.request(Method::GET, "/v2/bench/image/manifests/latest")
                            .header("Accept", OCI_MANIFEST)
                    })
                    .await
                }
                Registry::BlobHead => {
                    let layer = image(&client, fixtures).await.1;
                    let path = format!("/v2/bench/image/blobs/{layer}");
                    load(&client, sizes, StatusCode::OK, move |c| {
                        c.request(Method::HEAD, &path)
                    })
                    .await
                }
                Registry::Docker => docker_push_pull(server, sizes, seed).await,
                Registry::ConcurrentUploads => {
                    let blob = Blob::random(seed + 2000, sizes.concurrent_size);
                    let peak = Arc::new(AtomicU64::new(server.rss()));
                    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    let sampler = {
                        let (peak, done, pid) = (peak.clone(), done.clone(), server.pid());
                        std::thread::spawn(move || {
                            while !done.load(Ordering::Relaxed) {
                                let rss = crate::servers::rss_of(pid);
                                peak.fetch_max(rss, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(10));
                            }
                        })
                    };
                    stream::iter(0..sizes.concurrent_uploads)
                        .map(|i| {
                            let (client, blob) = (client.clone(), blob.clone());
                            async move {
                                client
                                    .push_monolithic(&format!("bench/many-{i}"), &blob)
                                    .await
                            }
                        })
                        .buffer_unordered(sizes.concurrent_uploads)
                        .collect::<Vec<_>>()
                        .await;
                    done.store(true, Ordering::Relaxed);
                    sampler.join().expect("sampler");
                    peak.load(Ordering::Relaxed) as f64 / MIB as f64
                }
                Registry::TagsList => {
                    if round == 0 {
                        seed_tags(&client, sizes).await;
                    }
                    median_ms(client.pages("/v2/bench/tags/tags/list?n=100").await)
                }
                Registry::Catalog => {
                    if round == 0 {
                        seed_repositories(&client, sizes).await;
                    }
                    median_ms(client.pages("/v2/_catalog?n=100").await)
                }
                Registry::Startup => {
                    if round == 0 {
                        seed_images(&client, sizes).await;
                    }
                    server.stop();
                    let started = Instant::now();
                    server.start_again();
                    client.first_answer("/v2/bench/img-0/manifests/i0").await;
                    started.elapsed().as_secs_f64() * 1000.0
                }
            }
        })
    }
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

async fn pull_blob(client: &Client, fixtures: &mut Kept, sizes: &Sizes) -> String {
    if fixtures.pull_blob.is_none() {
        let blob = Blob::random(7, sizes.blob);
        client.push_monolithic("bench/push", &blob).await;
        fixtures.pull_blob = Some(blob.digest);
    }
    fixtures.pull_blob.clone().expect("just set")
}

/// The image the request-rate workloads ask for: (config, layer) digests.
async fn image(client: &Client, fixtures: &mut Kept) -> (String, String) {
    if fixtures.image.is_none() {
        let (_, config, layer) = client.push_image("bench/image", "latest", 42).await;
        fixtures.image = Some((config, layer));
    }
    fixtures.image.clone().expect("just set")
}

/// Requests per second that `connections` clients get for `sizes.duration`.
async fn load<F>(client: &Client, sizes: &Sizes, want: StatusCode, request: F) -> f64
where
    F: Fn(&Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + sizes.duration;
    let tasks: Vec<_> = (0..sizes.connections)
        .map(|_| {
            let (client, request, count) = (client.clone(), request.clone(), count.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    client.call(request(&client), want).await;
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("load task");
    }
    count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// `sizes.listing` tags on one image in `bench/tags`.
async fn seed_tags(client: &Client, sizes: &Sizes) {
    let (manifest, _, _) = client.push_image("bench/tags", "t00000", 9).await;
    stream::iter(1..sizes.listing)
        .map(|i| {
            let (client, manifest) = (client.clone(), manifest.clone());
            async move {
                client
                    .put_manifest("bench/tags", &format!("t{i:05}"), manifest)
                    .await
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
}

/// `sizes.listing` repositories each holding one image (blobs mounted from
/// the first, not pushed again).
async fn seed_repositories(client: &Client, sizes: &Sizes) {
    let (manifest, config, layer) = client.push_image("bench/r00000", "v1", 9).await;
    stream::iter(1..sizes.listing)
        .map(|i| {
            let (client, manifest) = (client.clone(), manifest.clone());
            let (config, layer) = (config.clone(), layer.clone());
            async move {
                let repo = format!("bench/r{i:05}");
                client.mount(&repo, &config, "bench/r00000").await;
                client.mount(&repo, &layer, "bench/r00000").await;
                client.put_manifest(&repo, "v1", manifest).await;
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
}

/// `sizes.startup_images` distinct images (one annotation apart) spread over
/// 100 repositories, every one tagged; blobs are pushed once and mounted.
async fn seed_images(client: &Client, sizes: &Sizes) {
    let repos = sizes.startup_images.clamp(1, 100);
    let (manifest, config, layer) = client.push_image("bench/img-0", "base", 11).await;
    for r in 1..repos {
        let repo = format!("bench/img-{r}");
        client.mount(&repo, &config, "bench/img-0").await;
        client.mount(&repo, &layer, "bench/img-0").await;
    }
    stream::iter(0..sizes.startup_images)
        .map(|i| {
            let (client, manifest) = (client.clone(), manifest.clone());
            async move {
                let manifest = numbered(&manifest, i);
                let repo = format!("bench/img-{}", i % repos);
                client.put_manifest(&repo, &format!("i{i}"), manifest).await;
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
}

/// Seconds for `docker push`, `docker rmi` and `docker pull` of a fresh image
/// of `sizes.docker_layers` random layers (built `FROM scratch`, not timed).
async fn docker_push_pull(server: &Server, sizes: &Sizes, seed: u64) -> f64 {
    let config = tempfile::tempdir().expect("docker config dir");
    let context = tempfile::tempdir().expect("build context");
    let mut dockerfile = String::from("FROM scratch\n");
    for layer in 0..sizes.docker_layers {
        let name = format!("layer-{layer}.bin");
        let layer = Blob::random(seed * 100 + layer as u64, sizes.docker_layer_size);
        std::fs::write(context.path().join(&name), &layer.data).expect("write layer file");
        dockerfile.push_str(&format!("COPY {name} /{name}\n"));
    }
    std::fs::write(context.path().join("Dockerfile"), dockerfile).expect("write Dockerfile");
    let reference = format!("{}/bench/docker-{seed}:v1", server.host);
    let docker = |args: &[&str]| docker(config.path(), args);
    let mut login = std::process::Command::new("docker")
        .args(["login", &server.host, "-u", USER, "--password-stdin"])
        .env("DOCKER_CONFIG", config.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("docker login");
    {
        use std::io::Write;
        login
            .stdin
            .take()
            .expect("stdin")
            .write_all(PASSWORD.as_bytes())
            .expect("password");
    }
    assert!(
        login.wait().expect("docker login").success(),
        "docker login failed"
    );
    docker(&[
        "build",
        "-q",
        "-t",
        &reference,
        &context.path().display().to_string(),
    ]);
    let started = Instant::now();
    docker(&["push", &reference]);
    docker(&["rmi", &reference]);
    docker(&["pull", &reference]);
    let elapsed = started.elapsed().as_secs_f64();
    docker(&["rmi", &reference]);
    elapsed
}

fn docker(config: &Path, args: &[&str]) {
    let output = std::process::Command::new("docker")
        .args(args)
        .env("DOCKER_CONFIG", config)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("run docker");
    assert!(
        output.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

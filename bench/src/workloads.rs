//! The workloads, each measured on one registry at a time. A workload returns
//! one number; the harness runs it several times on both registries,
//! alternately, and compares medians.

use crate::client::{numbered, Blob, Client, OCI_MANIFEST};
use crate::servers::{Kind, Server, PASSWORD, USER};
use futures_util::stream::{self, StreamExt};
use reqwest::{Method, StatusCode};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

/// How big the workloads are: the full benchmark, or a seconds-long smoke run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sizes {
    /// Bytes of the pushed and pulled blob.
    pub blob: usize,
    /// Bytes per PATCH of the chunked push.
    pub chunk: usize,
    /// Parallel ranged GETs that cover the blob.
    pub ranges: usize,
    /// Connections of the request-rate workloads.
    pub connections: usize,
    /// How long each request-rate workload runs.
    pub duration: Duration,
    /// Concurrent uploads of the memory workload.
    pub concurrent_uploads: usize,
    /// Bytes of each of those uploads.
    pub concurrent_size: usize,
    /// Tags in one repository, and repositories, for the listings.
    pub listing: usize,
    /// Layers of the docker image, and bytes per layer.
    pub docker_layers: usize,
    /// Bytes per docker layer.
    pub docker_layer_size: usize,
    /// Distinct images in the registry when it starts.
    pub startup_images: usize,
    /// Compressed bytes of the image layer the inventory workload scans.
    pub scan_layer: usize,
    /// Packages in that layer's dpkg database (and the matching workload's).
    pub scan_packages: usize,
    /// OSV records the matching workload imports.
    pub scan_advisories: usize,
    /// Compressed bytes of the layer the scanning memory workload scans.
    pub scan_memory_layer: usize,
    /// Images (distinct manifests, each scanned on push) whose stored
    /// inventories the re-matching workload matches again.
    pub rematch_images: usize,
    /// Distinct layers among them.
    pub rematch_layers: usize,
    /// Packages in each of those layers' dpkg databases.
    pub rematch_packages: usize,
    /// Images the push and pull workloads with scan on push on or off push.
    pub push_scan_images: usize,
    /// Layers per image.
    pub push_scan_layers: usize,
    /// Compressed bytes of each layer.
    pub push_scan_layer: usize,
}

impl Sizes {
    /// The benchmark the issue describes.
    pub fn full() -> Sizes {
        Sizes {
            blob: 1024 * MIB,
            chunk: 8 * MIB,
            ranges: 64,
            connections: 64,
            duration: Duration::from_secs(20),
            concurrent_uploads: 32,
            concurrent_size: 256 * MIB,
            listing: 10_000,
            docker_layers: 10,
            docker_layer_size: 10 * MIB,
            startup_images: 100_000,
            scan_layer: 1024 * MIB,
            scan_packages: 2_000,
            scan_advisories: 500_000,
            scan_memory_layer: 2048 * MIB,
            rematch_images: 10_000,
            rematch_layers: 100,
            rematch_packages: 100,
            push_scan_images: 4,
            push_scan_layers: 4,
            push_scan_layer: 16 * MIB,
        }
    }

    /// Every workload, small: proves the harness works in seconds.
    pub fn smoke() -> Sizes {
        Sizes {
            blob: 8 * MIB,
            chunk: MIB,
            ranges: 8,
            connections: 8,
            duration: Duration::from_millis(500),
            concurrent_uploads: 4,
            concurrent_size: 2 * MIB,
            listing: 120,
            docker_layers: 2,
            docker_layer_size: 64 * 1024,
            startup_images: 200,
            scan_layer: 2 * MIB,
            scan_packages: 50,
            scan_advisories: 500,
            scan_memory_layer: 4 * MIB,
            rematch_images: 20,
            rematch_layers: 4,
            rematch_packages: 20,
            push_scan_images: 2,
            push_scan_layers: 2,
            push_scan_layer: MIB,
        }
    }
}

/// What one workload measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
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
    /// `berth scan` of a big image with an empty vulnerability database.
    ScanInventory,
    /// The same, per CPU-second of the `berth scan` process.
    ScanInventoryCpu,
    /// What matching adds to `berth scan` with many advisories.
    ScanMatch,
    /// Peak memory of `berth scan` of a big layer, above an idle server.
    ScanMemory,
    /// Matching many stored inventories again after an update.
    ScanRematch,
    /// Pushes of multi-layer images, scan on push off.
    PushScanOff,
    /// The same with scan on push on: each image is scanned as the next
    /// ones are pushed.
    PushScanOn,
    /// Pulls of those images' layers, no scan running.
    PullScanOff,
    /// The same while the images are being scanned.
    PullScanOn,
}

impl Workload {
    /// Every workload, in the order they run.
    pub const ALL: [Workload; 20] = [
        Workload::PushMonolithic,
        Workload::PushChunked,
        Workload::PullWhole,
        Workload::PullRanged,
        Workload::ManifestGet,
        Workload::BlobHead,
        Workload::Docker,
        Workload::ConcurrentUploads,
        Workload::TagsList,
        Workload::Catalog,
        Workload::Startup,
        Workload::ScanInventory,
        Workload::ScanInventoryCpu,
        Workload::ScanMatch,
        Workload::ScanMemory,
        Workload::ScanRematch,
        Workload::PushScanOff,
        Workload::PushScanOn,
        Workload::PullScanOff,
        Workload::PullScanOn,
    ];

    /// Its short, stable id (JSON, `--only`).
    pub fn id(self) -> &'static str {
        match self {
            Workload::PushMonolithic => "push-monolithic",
            Workload::PushChunked => "push-chunked",
            Workload::PullWhole => "pull-whole",
            Workload::PullRanged => "pull-ranged",
            Workload::ManifestGet => "manifest-get",
            Workload::BlobHead => "blob-head",
            Workload::Docker => "docker",
            Workload::ConcurrentUploads => "concurrent-uploads-rss",
            Workload::TagsList => "tags-list-page",
            Workload::Catalog => "catalog-page",
            Workload::Startup => "startup",
            Workload::ScanInventory => "scan-inventory",
            Workload::ScanInventoryCpu => "scan-inventory-cpu",
            Workload::ScanMatch => "scan-match",
            Workload::ScanMemory => "scan-memory-rss",
            Workload::ScanRematch => "scan-rematch",
            Workload::PushScanOff => "scan-push-off",
            Workload::PushScanOn => "scan-push-on",
            Workload::PullScanOff => "scan-pull-off",
            Workload::PullScanOn => "scan-pull-on",
        }
    }

    /// What the table calls it, with the sizes in use.
    pub fn title(self, sizes: &Sizes) -> String {
        let size = |bytes: usize| {
            if bytes >= 1024 * MIB {
                format!("{} GiB", bytes / (1024 * MIB))
            } else if bytes >= MIB {
                format!("{} MiB", bytes / MIB)
            } else {
                format!("{} KiB", bytes / 1024)
            }
        };
        match self {
            Workload::PushMonolithic => format!("monolithic push, {}", size(sizes.blob)),
            Workload::PushChunked => format!(
                "chunked push, {} in {} PATCHes",
                size(sizes.blob),
                size(sizes.chunk)
            ),
            Workload::PullWhole => format!("pull, {} whole", size(sizes.blob)),
            Workload::PullRanged => format!(
                "pull, {} as {} parallel ranges",
                size(sizes.blob),
                sizes.ranges
            ),
            Workload::ManifestGet => format!("manifest GET by tag, {} conns", sizes.connections),
            Workload::BlobHead => format!("blob HEAD, {} conns", sizes.connections),
            Workload::Docker => format!(
                "docker push + pull, {} layers of {}",
                sizes.docker_layers,
                size(sizes.docker_layer_size)
            ),
            Workload::ConcurrentUploads => format!(
                "peak RSS, {} concurrent {} uploads",
                sizes.concurrent_uploads,
                size(sizes.concurrent_size)
            ),
            Workload::TagsList => format!("tags list page (n=100) of {} tags", sizes.listing),
            Workload::Catalog => format!("_catalog page (n=100) of {} repos", sizes.listing),
            Workload::Startup => format!("start-up to serving, {} images", sizes.startup_images),
            Workload::ScanInventory => format!(
                "scan inventory, {} gzip layer, empty vulndb",
                size(sizes.scan_layer)
            ),
            Workload::ScanInventoryCpu => format!(
                "scan inventory per CPU-second, {} gzip layer",
                size(sizes.scan_layer)
            ),
            Workload::ScanMatch => format!(
                "scan matching, {} packages × {} advisories",
                sizes.scan_packages, sizes.scan_advisories
            ),
            Workload::ScanMemory => format!(
                "scan peak RSS above idle, {} layer",
                size(sizes.scan_memory_layer)
            ),
            Workload::ScanRematch => format!(
                "re-match {} stored inventories ({} packages each) × {} advisories",
                sizes.rematch_images, sizes.rematch_packages, sizes.scan_advisories
            ),
            Workload::PushScanOff
            | Workload::PushScanOn
            | Workload::PullScanOff
            | Workload::PullScanOn => {
                let (what, on) = match self {
                    Workload::PushScanOff => ("push", "off"),
                    Workload::PushScanOn => ("push", "on"),
                    Workload::PullScanOff => ("pull", "no scans"),
                    _ => ("pull", "while scanned"),
                };
                format!(
                    "{what} {} images of {} × {} layers, {on}",
                    sizes.push_scan_images,
                    sizes.push_scan_layers,
                    size(sizes.push_scan_layer)
                )
            }
        }
    }

    /// The unit of its number.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::PushMonolithic
            | Workload::PushChunked
            | Workload::PullWhole
            | Workload::PullRanged
            | Workload::PushScanOff
            | Workload::PushScanOn
            | Workload::PullScanOff
            | Workload::PullScanOn => "MiB/s",
            Workload::ManifestGet | Workload::BlobHead => "req/s",
            Workload::Docker | Workload::ScanRematch => "s",
            Workload::ConcurrentUploads | Workload::ScanMemory => "MiB",
            Workload::TagsList | Workload::Catalog | Workload::Startup | Workload::ScanMatch => {
                "ms"
            }
            Workload::ScanInventory | Workload::ScanInventoryCpu => "MiB/s",
        }
    }

    /// Measurements per turn: pulls take a second and vary with the machine's
    /// neighbours, so they are taken three times per turn.
    pub fn repeats(self, smoke: bool) -> usize {
        match self {
            Workload::PullWhole | Workload::PullRanged if !smoke => 3,
            _ => 1,
        }
    }

    /// Whether it runs on `kind`. Start-up runs on Berth alone: its target is
    /// absolute (≤ 300 ms), and Distribution, which keeps no database and so
    /// has nothing to load, takes over 20 minutes here to be given 100,000
    /// images through its API (it slows to about 60 manifest PUTs a second).
    ///
    /// The scanning workloads run on Berth alone too: Distribution does not
    /// scan, and their targets are absolute (issue 17).
    pub fn runs_on(self, kind: Kind) -> bool {
        kind == Kind::Berth
            || !matches!(
                self,
                Workload::Startup
                    | Workload::ScanInventory
                    | Workload::ScanInventoryCpu
                    | Workload::ScanMatch
                    | Workload::ScanMemory
                    | Workload::ScanRematch
                    | Workload::PushScanOff
                    | Workload::PushScanOn
                    | Workload::PullScanOff
                    | Workload::PullScanOn
            )
    }

    /// Whether a bigger number is better.
    pub fn higher_is_better(self) -> bool {
        matches!(self.unit(), "MiB/s" | "req/s")
    }
}

/// What a registry holds between workloads: the blob the pulls read, the
/// image the request-rate workloads ask for, whether the listings are seeded.
#[derive(Default)]
pub struct Fixtures {
    pull_blob: Option<String>,
    image: Option<(String, String)>,
    scan: ScanFixtures,
}

/// What the scanning workloads keep between rounds.
#[derive(Default)]
struct ScanFixtures {
    /// The pushed layer: digest and size.
    layer: Option<(String, usize)>,
    /// The server's resident memory when idle, just started.
    idle_rss: Option<u64>,
    /// Seconds of a scan of the matching image before any advisory was loaded.
    before: Option<f64>,
    /// Whether the server is stopped (`berth scan` runs with none, so that it
    /// is the process that scans).
    stopped: bool,
    /// Whether the re-matching workload's images are pushed and scanned.
    rematch_seeded: bool,
    /// Whether a `CONTINUOUS_SCAN` rule covers `bench/scanned-*`.
    scan_on_push: bool,
    /// The OSV zip the matching workloads import, and the directory that
    /// holds it.
    osv_zip: Option<(tempfile::TempDir, std::path::PathBuf)>,
}

/// Runs one workload once on one registry and returns its number.
pub async fn run(
    workload: Workload,
    server: &mut Server,
    fixtures: &mut Fixtures,
    sizes: &Sizes,
    round: u64,
) -> f64 {
    let client = Client::new(server);
    let seed = round * 2 + (server.kind == Kind::Distribution) as u64 + 1;
    let mib = |bytes: usize, elapsed: Duration| bytes as f64 / MIB as f64 / elapsed.as_secs_f64();
    match workload {
        Workload::PushMonolithic => {
            let blob = Blob::random(seed, sizes.blob);
            let started = Instant::now();
            client.push_monolithic("bench/push", &blob).await;
            let rate = mib(sizes.blob, started.elapsed());
            fixtures.pull_blob = Some(blob.digest);
            rate
        }
        Workload::PushChunked => {
            let blob = Blob::random(seed + 1000, sizes.blob);
            let started = Instant::now();
            client.push_chunked("bench/push", &blob, sizes.chunk).await;
            mib(sizes.blob, started.elapsed())
        }
        Workload::PullWhole => {
            let digest = pull_blob(&client, fixtures, sizes).await;
            let started = Instant::now();
            let got = client
                .get_len_raw(&format!("/v2/bench/push/blobs/{digest}"))
                .await;
            assert_eq!(got, sizes.blob as u64, "the whole blob came back");
            mib(sizes.blob, started.elapsed())
        }
        Workload::PullRanged => {
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
        Workload::ManifestGet => {
            image(&client, fixtures).await;
            load(&client, sizes, StatusCode::OK, |c| {
                c.request(Method::GET, "/v2/bench/image/manifests/latest")
                    .header("Accept", OCI_MANIFEST)
            })
            .await
        }
        Workload::BlobHead => {
            let layer = image(&client, fixtures).await.1;
            let path = format!("/v2/bench/image/blobs/{layer}");
            load(&client, sizes, StatusCode::OK, move |c| {
                c.request(Method::HEAD, &path)
            })
            .await
        }
        Workload::Docker => docker_push_pull(server, sizes, seed).await,
        Workload::ConcurrentUploads => {
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
        Workload::TagsList => {
            if round == 0 {
                seed_tags(&client, sizes).await;
            }
            median_ms(client.pages("/v2/bench/tags/tags/list?n=100").await)
        }
        Workload::Catalog => {
            if round == 0 {
                seed_repositories(&client, sizes).await;
            }
            median_ms(client.pages("/v2/_catalog?n=100").await)
        }
        Workload::ScanInventory | Workload::ScanInventoryCpu => {
            let layer = scan_layer(&client, server, fixtures, sizes.scan_layer, sizes).await;
            let image = scan_image(&client, server, fixtures, &layer, round).await;
            let run = crate::scanning::scan(&server.binary, &server.data_dir, &image);
            eprintln!(
                "  berth scan: {:.2} s wall, {:.2} s CPU (user + system)",
                run.elapsed.as_secs_f64(),
                run.cpu.as_secs_f64()
            );
            if workload == Workload::ScanInventory {
                mib(layer.1, run.elapsed)
            } else {
                mib(layer.1, run.cpu)
            }
        }
        Workload::ScanMatch => {
            // A small layer: the dpkg database alone, so the scan is mostly
            // the matching once advisories are loaded.
            let layer = scan_layer(&client, server, fixtures, 0, sizes).await;
            if fixtures.scan.before.is_none() {
                let image = scan_image(&client, server, fixtures, &layer, 1000).await;
                let before = crate::scanning::scan(&server.binary, &server.data_dir, &image);
                fixtures.scan.before = Some(before.elapsed.as_secs_f64());
                let zip = osv_zip(fixtures, sizes);
                let took = crate::scanning::import(&server.binary, &server.data_dir, &zip);
                eprintln!("  berth vulndb import: {:.1} s", took.as_secs_f64());
            }
            let image = scan_image(&client, server, fixtures, &layer, round).await;
            let after = crate::scanning::scan(&server.binary, &server.data_dir, &image);
            let findings = after.output["findings"].as_u64().unwrap_or(0);
            assert!(
                findings > 0,
                "the advisories matched nothing: {}",
                after.output
            );
            let before = fixtures.scan.before.expect("just set");
            (after.elapsed.as_secs_f64() - before).max(0.0) * 1000.0
        }
        Workload::ScanMemory => {
            let idle = *fixtures.scan.idle_rss.get_or_insert_with(|| server.rss());
            let layer = scan_layer(&client, server, fixtures, sizes.scan_memory_layer, sizes).await;
            let image = scan_image(&client, server, fixtures, &layer, round).await;
            let run = crate::scanning::scan(&server.binary, &server.data_dir, &image);
            run.max_rss.saturating_sub(idle) as f64 / MIB as f64
        }
        Workload::ScanRematch => {
            if !fixtures.scan.rematch_seeded {
                running(&client, server, fixtures).await;
                seed_rematch(&client, server, sizes).await;
                fixtures.scan.rematch_seeded = true;
            }
            // `berth vulndb rematch` is then the only process that matches.
            if !fixtures.scan.stopped {
                server.stop();
                fixtures.scan.stopped = true;
            }
            // Any import changes the database: every inventory is stale.
            let zip = osv_zip(fixtures, sizes);
            let took = crate::scanning::import(&server.binary, &server.data_dir, &zip);
            eprintln!("  berth vulndb import: {:.1} s", took.as_secs_f64());
            let (elapsed, matched) = crate::scanning::rematch(&server.binary, &server.data_dir);
            eprintln!(
                "  berth vulndb rematch: {matched} inventories in {:.1} s",
                elapsed.as_secs_f64()
            );
            assert_eq!(
                matched, sizes.rematch_images,
                "berth vulndb rematch matched {matched} of {} inventories",
                sizes.rematch_images
            );
            elapsed.as_secs_f64()
        }
        Workload::PushScanOff
        | Workload::PushScanOn
        | Workload::PullScanOff
        | Workload::PullScanOn => {
            let on = matches!(workload, Workload::PushScanOn | Workload::PullScanOn);
            if on && !fixtures.scan.scan_on_push {
                crate::scanning::continuous_scanning(
                    &server.binary,
                    &server.data_dir,
                    &server.url,
                    "bench/scanned-*",
                );
                fixtures.scan.scan_on_push = true;
            }
            let repo = format!("bench/{}-{round}", if on { "scanned" } else { "plain" });
            let images = scan_push_images(sizes, round);
            let bytes = sizes.push_scan_images * sizes.push_scan_layers * sizes.push_scan_layer;
            let pull = matches!(workload, Workload::PullScanOff | Workload::PullScanOn);
            let started = Instant::now();
            for (layers, _) in &images {
                for layer in layers {
                    client.push_monolithic(&repo, layer).await;
                }
            }
            if pull {
                // Untimed: the layers are there; the manifests queue the scans.
                push_scan_manifests(&client, &repo, &images).await;
                let started = Instant::now();
                for (layers, _) in &images {
                    for layer in layers {
                        let path = format!("/v2/{repo}/blobs/{}", layer.digest);
                        assert_eq!(client.get_len_raw(&path).await, layer.data.len() as u64);
                    }
                }
                let rate = mib(bytes, started.elapsed());
                if on {
                    let scanning = crate::scanning::scans_running(&server.binary, &server.data_dir);
                    eprintln!("  scans still pending or running after the pulls: {scanning}");
                }
                return rate;
            }
            push_scan_manifests(&client, &repo, &images).await;
            mib(bytes, started.elapsed())
        }
        Workload::Startup => {
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
}

/// The scanning workloads' layer (`compressed` bytes of gzip, with the dpkg
/// database of `sizes.scan_packages` packages), pushed once to `bench/scan`.
async fn scan_layer(
    client: &Client,
    server: &mut Server,
    fixtures: &mut Fixtures,
    compressed: usize,
    sizes: &Sizes,
) -> (String, usize) {
    if fixtures.scan.idle_rss.is_none() {
        fixtures.scan.idle_rss = Some(server.rss());
    }
    if fixtures.scan.layer.is_none() {
        let started = Instant::now();
        let data = crate::scanning::layer(compressed, 0..sizes.scan_packages, 17);
        let blob = Blob::new(data);
        eprintln!(
            "  made a {:.1} MiB gzip layer in {:.1} s",
            blob.data.len() as f64 / MIB as f64,
            started.elapsed().as_secs_f64()
        );
        running(client, server, fixtures).await;
        client.push_monolithic("bench/scan", &blob).await;
        fixtures.scan.layer = Some((blob.digest.clone(), blob.data.len()));
    }
    fixtures.scan.layer.clone().expect("just set")
}

/// Pushes an image of `layer` (made distinct by `n`) to `bench/scan`, stops
/// the server, and returns the image's name for `berth scan`.
async fn scan_image(
    client: &Client,
    server: &mut Server,
    fixtures: &mut Fixtures,
    layer: &(String, usize),
    n: u64,
) -> String {
    running(client, server, fixtures).await;
    let config = Blob::new(bytes::Bytes::from(format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"bench":{n}}}"#
    )));
    client.push_monolithic("bench/scan", &config).await;
    let manifest = crate::scanning::manifest(
        (config.digest.as_str(), config.data.len()),
        &[(layer.0.as_str(), layer.1)],
    );
    let tag = format!("v{n}");
    client.put_manifest("bench/scan", &tag, manifest).await;
    server.stop();
    fixtures.scan.stopped = true;
    format!("bench/scan:{tag}")
}

/// The images of the push and pull workloads of `round`: each
/// `sizes.push_scan_layers` gzip layers holding a dpkg database (so a scan
/// has packages to read) and filler, and its manifest; all distinct.
fn scan_push_images(sizes: &Sizes, round: u64) -> Vec<(Vec<Blob>, bytes::Bytes)> {
    let config = Blob::new(bytes::Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    ));
    (0..sizes.push_scan_images)
        .map(|i| {
            let mut layers = vec![config.clone()];
            for l in 0..sizes.push_scan_layers {
                let seed = 1_000_000 + round * 10_000 + (i * 100 + l) as u64;
                let data = crate::scanning::layer(sizes.push_scan_layer, 0..200, seed);
                layers.push(Blob::new(data));
            }
            let descriptors: Vec<(&str, usize)> = layers
                .iter()
                .map(|b| (b.digest.as_str(), b.data.len()))
                .collect();
            let manifest = crate::scanning::manifest(descriptors[0], &descriptors[1..]);
            (layers, manifest)
        })
        .collect()
}

/// Pushes the images' manifests, each tagged.
async fn push_scan_manifests(client: &Client, repo: &str, images: &[(Vec<Blob>, bytes::Bytes)]) {
    for (i, (_, manifest)) in images.iter().enumerate() {
        client
            .put_manifest(repo, &format!("i{i}"), manifest.clone())
            .await;
    }
}

/// The OSV zip of `sizes.scan_advisories` records over the first
/// `sizes.scan_packages` source packages, written once.
fn osv_zip(fixtures: &mut Fixtures, sizes: &Sizes) -> std::path::PathBuf {
    let (_, zip) = fixtures.scan.osv_zip.get_or_insert_with(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let zip = dir.path().join("osv-all.zip");
        let started = Instant::now();
        crate::scanning::osv_zip(&zip, sizes.scan_advisories, sizes.scan_packages);
        eprintln!(
            "  wrote {} OSV records in {:.1} s",
            sizes.scan_advisories,
            started.elapsed().as_secs_f64()
        );
        (dir, zip)
    });
    zip.clone()
}

/// The re-matching workload's images: `sizes.rematch_images` distinct
/// manifests (one annotation apart) over `sizes.rematch_layers` layers of a
/// dpkg database each, spread over 10 repositories that an `ENHANCED`
/// `CONTINUOUS_SCAN` rule covers, so each is scanned on push; waits until
/// every scan has ended. Layers draw their packages from 20 times the
/// source packages the advisories name, so about one in twenty has some.
async fn seed_rematch(client: &Client, server: &Server, sizes: &Sizes) {
    let started = Instant::now();
    crate::scanning::continuous_scanning(
        &server.binary,
        &server.data_dir,
        &server.url,
        "bench/rematch-*",
    );
    let repos: Vec<String> = (0..sizes.rematch_images.clamp(1, 10))
        .map(|r| format!("bench/rematch-{r}"))
        .collect();
    let config = Blob::new(bytes::Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    ));
    let space = 20 * sizes.scan_packages;
    let mut blobs = vec![config];
    for n in 0..sizes.rematch_layers {
        let packages = crate::scanning::rematch_packages(n, sizes.rematch_packages, space);
        blobs.push(Blob::new(crate::scanning::layer(0, packages, n as u64)));
    }
    for blob in &blobs {
        client.push_monolithic(&repos[0], blob).await;
        for repo in &repos[1..] {
            client.mount(repo, &blob.digest, &repos[0]).await;
        }
    }
    let config = &blobs[0];
    let manifests: Vec<bytes::Bytes> = blobs[1..]
        .iter()
        .map(|layer| {
            crate::scanning::manifest(
                (config.digest.as_str(), config.data.len()),
                &[(layer.digest.as_str(), layer.data.len())],
            )
        })
        .collect();
    stream::iter(0..sizes.rematch_images)
        .map(|i| {
            let client = client.clone();
            let repo = repos[i % repos.len()].clone();
            let manifest = numbered(&manifests[i % manifests.len()], i);
            async move { client.put_manifest(&repo, &format!("i{i}"), manifest).await }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let (binary, data_dir, images) = (
        server.binary.clone(),
        server.data_dir.clone(),
        sizes.rematch_images,
    );
    tokio::task::spawn_blocking(move || {
        crate::scanning::wait_for_scans(&binary, &data_dir, images)
    })
    .await
    .expect("waiting for the scans");
    eprintln!(
        "  pushed and scanned {} images in {:.1} s",
        sizes.rematch_images,
        started.elapsed().as_secs_f64()
    );
}

/// Starts the server again if a scan stopped it, and waits until it serves.
async fn running(client: &Client, server: &mut Server, fixtures: &mut Fixtures) {
    if fixtures.scan.stopped {
        server.start_again();
        client.first_answer("/v2/").await;
        fixtures.scan.stopped = false;
    }
}

fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

async fn pull_blob(client: &Client, fixtures: &mut Fixtures, sizes: &Sizes) -> String {
    if fixtures.pull_blob.is_none() {
        let blob = Blob::random(7, sizes.blob);
        client.push_monolithic("bench/push", &blob).await;
        fixtures.pull_blob = Some(blob.digest);
    }
    fixtures.pull_blob.clone().expect("just set")
}

/// The image the request-rate workloads ask for: (config, layer) digests.
async fn image(client: &Client, fixtures: &mut Fixtures) -> (String, String) {
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

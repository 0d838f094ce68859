//! The scanning workloads (issue 17): `berth scan`'s inventory rate, CPU
//! time and memory, what matching adds, re-matching stored inventories, and
//! pushes and pulls beside scans. Their data and the `berth` processes they
//! time are [`crate::scanning`]'s.

use crate::client::{numbered, Blob, Client};
use crate::registry::size;
use crate::servers::Server;
use crate::workloads::{mib, Fixtures, Measure, Sizes, Workload, MIB};
use futures_util::future::LocalBoxFuture;
use futures_util::stream::{self, StreamExt};
use std::time::Instant;

/// The scanning workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// `berth scan` of a big image with an empty vulnerability database.
    Inventory,
    /// The same, per CPU-second of the `berth scan` process.
    InventoryCpu,
    /// What matching adds to `berth scan` with many advisories.
    Match,
    /// Peak memory of `berth scan` of a big layer, above an idle server.
    Memory,
    /// Matching many stored inventories again after an update.
    Rematch,
    /// Pushes of multi-layer images, scan on push off.
    PushOff,
    /// The same with scan on push on: the images of one round are scanned
    /// as the next round's are pushed.
    PushOn,
    /// Pulls of those images' layers, no scan running.
    PullOff,
    /// The same while the images are being scanned.
    PullOn,
}

/// They, in the order they run.
pub const WORKLOADS: &[Workload] = &[
    &Scan::Inventory,
    &Scan::InventoryCpu,
    &Scan::Match,
    &Scan::Memory,
    &Scan::Rematch,
    &Scan::PushOff,
    &Scan::PushOn,
    &Scan::PullOff,
    &Scan::PullOn,
];

/// What the scanning workloads keep between rounds.
#[derive(Default)]
struct Kept {
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

impl Measure for Scan {
    fn id(&self) -> &'static str {
        match self {
            Scan::Inventory => "scan-inventory",
            Scan::InventoryCpu => "scan-inventory-cpu",
            Scan::Match => "scan-match",
            Scan::Memory => "scan-memory-rss",
            Scan::Rematch => "scan-rematch",
            Scan::PushOff => "scan-push-off",
            Scan::PushOn => "scan-push-on",
            Scan::PullOff => "scan-pull-off",
            Scan::PullOn => "scan-pull-on",
        }
    }

    fn title(&self, sizes: &Sizes) -> String {
        match self {
            Scan::Inventory => format!(
                "scan inventory, {} gzip layer, empty vulndb",
                size(sizes.scan_layer)
            ),
            Scan::InventoryCpu => format!(
                "scan inventory per CPU-second, {} gzip layer",
                size(sizes.scan_layer)
            ),
            Scan::Match => format!(
                "scan matching, {} packages × {} advisories",
                sizes.scan_packages, sizes.scan_advisories
            ),
            Scan::Memory => format!(
                "scan peak RSS above idle, {} layer",
                size(sizes.scan_memory_layer)
            ),
            Scan::Rematch => format!(
                "re-match {} stored inventories ({} packages each) × {} advisories",
                sizes.rematch_images, sizes.rematch_packages, sizes.scan_advisories
            ),
            Scan::PushOff | Scan::PushOn | Scan::PullOff | Scan::PullOn => {
                let (what, on) = match self {
                    Scan::PushOff => ("push", "off"),
                    Scan::PushOn => ("push", "on"),
                    Scan::PullOff => ("pull", "no scans"),
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

    fn unit(&self) -> &'static str {
        match self {
            Scan::Inventory
            | Scan::InventoryCpu
            | Scan::PushOff
            | Scan::PushOn
            | Scan::PullOff
            | Scan::PullOn => "MiB/s",
            Scan::Rematch => "s",
            Scan::Memory => "MiB",
            Scan::Match => "ms",
        }
    }

    /// On Berth alone: Distribution does not scan, and their targets are
    /// absolute (issue 17).
    fn berth_only(&self) -> bool {
        true
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
            match self {
                Scan::Inventory | Scan::InventoryCpu => {
                    let layer =
                        scan_layer(&client, server, fixtures, sizes.scan_layer, sizes).await;
                    let image = scan_image(&client, server, fixtures, &layer, round).await;
                    let run = crate::scanning::scan(&server.binary, &server.data_dir, &image);
                    eprintln!(
                        "  berth scan: {:.2} s wall, {:.2} s CPU (user + system)",
                        run.elapsed.as_secs_f64(),
                        run.cpu.as_secs_f64()
                    );
                    if *self == Scan::Inventory {
                        mib(layer.1, run.elapsed)
                    } else {
                        mib(layer.1, run.cpu)
                    }
                }
                Scan::Match => {
                    // A small layer: the dpkg database alone, so the scan is mostly
                    // the matching once advisories are loaded.
                    let layer = scan_layer(&client, server, fixtures, 0, sizes).await;
                    if fixtures.before.is_none() {
                        let image = scan_image(&client, server, fixtures, &layer, 1000).await;
                        let before =
                            crate::scanning::scan(&server.binary, &server.data_dir, &image);
                        fixtures.before = Some(before.elapsed.as_secs_f64());
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
                    let before = fixtures.before.expect("just set");
                    (after.elapsed.as_secs_f64() - before).max(0.0) * 1000.0
                }
                Scan::Memory => {
                    let idle = *fixtures.idle_rss.get_or_insert_with(|| server.rss());
                    let layer =
                        scan_layer(&client, server, fixtures, sizes.scan_memory_layer, sizes).await;
                    let image = scan_image(&client, server, fixtures, &layer, round).await;
                    let run = crate::scanning::scan(&server.binary, &server.data_dir, &image);
                    run.max_rss.saturating_sub(idle) as f64 / MIB as f64
                }
                Scan::Rematch => {
                    if !fixtures.rematch_seeded {
                        running(&client, server, fixtures).await;
                        seed_rematch(&client, server, sizes).await;
                        fixtures.rematch_seeded = true;
                    }
                    // `berth vulndb rematch` is then the only process that matches.
                    if !fixtures.stopped {
                        server.stop();
                        fixtures.stopped = true;
                    }
                    // Any import changes the database: every inventory is stale.
                    let zip = osv_zip(fixtures, sizes);
                    let took = crate::scanning::import(&server.binary, &server.data_dir, &zip);
                    eprintln!("  berth vulndb import: {:.1} s", took.as_secs_f64());
                    let (elapsed, matched) =
                        crate::scanning::rematch(&server.binary, &server.data_dir);
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
                Scan::PushOff | Scan::PushOn | Scan::PullOff | Scan::PullOn => {
                    let on = matches!(self, Scan::PushOn | Scan::PullOn);
                    if on && !fixtures.scan_on_push {
                        crate::scanning::continuous_scanning(
                            &server.binary,
                            &server.data_dir,
                            &server.url,
                            "bench/scanned-*",
                        );
                        fixtures.scan_on_push = true;
                    }
                    let repo = format!("bench/{}-{round}", if on { "scanned" } else { "plain" });
                    let images = scan_push_images(sizes, round);
                    let bytes =
                        sizes.push_scan_images * sizes.push_scan_layers * sizes.push_scan_layer;
                    let pull = matches!(self, Scan::PullOff | Scan::PullOn);
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
                                assert_eq!(
                                    client.get_len_raw(&path).await,
                                    layer.data.len() as u64
                                );
                            }
                        }
                        let rate = mib(bytes, started.elapsed());
                        if on {
                            let scanning =
                                crate::scanning::scans_running(&server.binary, &server.data_dir);
                            eprintln!(
                                "  scans still pending or running after the pulls: {scanning}"
                            );
                        }
                        return rate;
                    }
                    push_scan_manifests(&client, &repo, &images).await;
                    mib(bytes, started.elapsed())
                }
            }
        })
    }
}

/// The scanning workloads' layer (`compressed` bytes of gzip, with the dpkg
/// database of `sizes.scan_packages` packages), pushed once to `bench/scan`.
async fn scan_layer(
    client: &Client,
    server: &mut Server,
    fixtures: &mut Kept,
    compressed: usize,
    sizes: &Sizes,
) -> (String, usize) {
    if fixtures.idle_rss.is_none() {
        fixtures.idle_rss = Some(server.rss());
    }
    if fixtures.layer.is_none() {
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
        fixtures.layer = Some((blob.digest.clone(), blob.data.len()));
    }
    fixtures.layer.clone().expect("just set")
}

/// Pushes an image of `layer` (made distinct by `n`) to `bench/scan`, stops
/// the server, and returns the image's name for `berth scan`.
async fn scan_image(
    client: &Client,
    server: &mut Server,
    fixtures: &mut Kept,
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
    fixtures.stopped = true;
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
fn osv_zip(fixtures: &mut Kept, sizes: &Sizes) -> std::path::PathBuf {
    let (_, zip) = fixtures.osv_zip.get_or_insert_with(|| {
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
async fn running(client: &Client, server: &mut Server, fixtures: &mut Kept) {
    if fixtures.stopped {
        server.start_again();
        client.first_answer("/v2/").await;
        fixtures.stopped = false;
    }
}

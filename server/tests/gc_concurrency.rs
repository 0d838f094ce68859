//! Online GC against the race that bites registries: a pusher sees that a
//! layer exists (`HEAD`), skips uploading it, and pushes its manifest a little
//! later, while `berth gc` runs in another process. The layer is old and
//! unreferenced when the pusher looks at it, so only the touch the `HEAD`
//! leaves in the metadata keeps GC off it. Old links are made by a server whose
//! clock runs two days behind (libfaketime); control blobs of the same age
//! that nobody looks at must be collected, so no test here passes by GC doing
//! nothing.

mod common;

use common::oci::{
    image_manifest, random_bytes, sha256_digest, to_bytes, Descriptor, Registry, OCI_CONFIG,
    OCI_LAYER, OCI_MANIFEST,
};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const ROUNDS: usize = 500;
const REPO: &str = "gc/load";

/// How far behind the clock of the server that makes old links runs: well
/// past the default grace period (an hour).
const THE_PAST: &str = "-2d";

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A pusher's first step, as docker takes it: HEAD the layer and upload it
/// only if it is missing. An upload that commits the very moment a
/// collection removes an older copy of the same blob is refused with
/// `BLOB_UPLOAD_UNKNOWN` ("start the upload again"), and docker starts again,
/// as this does.
async fn head_or_upload(reg: &Registry, layer: &[u8]) {
    let digest = sha256_digest(layer);
    for _attempt in 0..3 {
        let head = reg
            .send(reg.head(&format!("/v2/{REPO}/blobs/{digest}")))
            .await;
        if head.status() == StatusCode::OK {
            return;
        }
        assert_eq!(head.status(), StatusCode::NOT_FOUND, "HEAD {digest}");
        let resp = reg.try_push_blob(REPO, layer).await;
        match resp.status() {
            StatusCode::CREATED => return,
            StatusCode::NOT_FOUND => {
                let body = resp.text().await.unwrap();
                assert!(body.contains("BLOB_UPLOAD_UNKNOWN"), "{body}");
            }
            other => panic!(
                "upload of {digest}: {other}: {}",
                resp.text().await.unwrap()
            ),
        }
    }
    panic!("{digest} could not be pushed in three attempts");
}

/// The end of a push: the manifest (which must succeed) of an image of
/// `layer` and `unique` with `config_bytes`, all uploaded before. Returns the
/// manifest's digest and the image's blobs.
async fn push_manifest(
    reg: &Registry,
    tag: &str,
    layer: &[u8],
    unique: &[u8],
    config_bytes: &[u8],
) -> (String, Vec<String>) {
    let config = Descriptor::of(OCI_CONFIG, config_bytes);
    let layers = vec![
        Descriptor::of(OCI_LAYER, layer),
        Descriptor::of(OCI_LAYER, unique),
    ];
    let manifest = to_bytes(&image_manifest(&config, &layers));
    let digest = reg.push_manifest(REPO, tag, OCI_MANIFEST, &manifest).await;
    let mut blobs = vec![config.digest];
    blobs.extend(layers.into_iter().map(|l| l.digest));
    (digest, blobs)
}

/// Asserts that every blob pulls whole.
async fn assert_pulls(reg: &Registry, what: &str, blobs: &[String]) {
    for blob in blobs {
        let resp = reg.send(reg.get(&format!("/v2/{REPO}/blobs/{blob}"))).await;
        assert_eq!(resp.status(), StatusCode::OK, "{what}: blob {blob} pulls");
        let bytes = resp.bytes().await.unwrap();
        assert_eq!(&sha256_digest(&bytes), blob, "{what}: blob {blob} is whole");
    }
}

/// The story of issue 16: an old, unreferenced layer that a pusher HEADs,
/// then `berth gc` with the default grace in another process, then the
/// pusher's manifest. The layer stays; the control blob of the same age goes.
#[tokio::test]
async fn a_layer_a_pusher_heads_survives_gc_in_another_process_until_its_manifest() {
    let past = TestServer::builder().clock(THE_PAST).start();
    let old = Registry::new(&past);
    let layer = random_bytes(2048);
    let control = random_bytes(1024);
    let layer_digest = old.push_blob(REPO, &layer).await;
    let control_digest = old.push_blob(REPO, &control).await;

    let server = TestServer::builder().start_in(past.into_data_dir());
    let reg = Registry::new(&server);
    head_or_upload(&reg, &layer).await;
    let unique = random_bytes(100);
    reg.push_blob(REPO, &unique).await;
    let config = to_bytes(&json!({"architecture": "amd64", "os": "linux"}));
    reg.push_blob(REPO, &config).await;

    let gc = server.admin(&["gc"]);
    let out = text(&gc);
    assert!(gc.status.success(), "{out}");
    assert!(
        out.contains(&format!("deleted {control_digest}")),
        "the old blob nobody looked at is collected: {out}"
    );
    assert!(
        !out.contains(&layer_digest),
        "the layer the pusher relies on is kept: {out}"
    );

    let (_, blobs) = push_manifest(&reg, "v1", &layer, &unique, &config).await;
    assert_pulls(&reg, "v1", &blobs).await;
    let gone = reg
        .send(reg.head(&format!("/v2/{REPO}/blobs/{control_digest}")))
        .await;
    assert_eq!(
        gone.status(),
        StatusCode::NOT_FOUND,
        "the control blob is gone"
    );
}

/// GC refuses a grace shorter than the guard needs, and says the minimum;
/// so does `serve`.
#[tokio::test]
async fn a_grace_shorter_than_the_guard_needs_is_refused_with_the_minimum() {
    let server = TestServer::start();
    for args in [
        &["gc", "--grace-seconds", "2"][..],
        &["gc", "--grace-seconds", "0", "--dry-run"][..],
    ] {
        let out = server.admin(args);
        assert!(!out.status.success(), "{args:?} is refused");
        assert!(
            text(&out).contains("needs at least 600 s"),
            "{args:?}: {}",
            text(&out)
        );
    }
    let serve = std::process::Command::new(common::berth_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--gc-grace", "599"])
        .arg("--data-dir")
        .arg(server.data_dir())
        .env_remove("BERTH_CONFIG")
        .output()
        .expect("run berth serve");
    assert!(!serve.status.success(), "serve refuses the grace");
    assert!(
        text(&serve).contains("599 s is too short") && text(&serve).contains("at least 600 s"),
        "{}",
        text(&serve)
    );
}

/// How long one `berth gc` may take here (a run takes well under a second).
const GC_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs `command` to its end, or fails the test naming where each of its
/// threads waits if it runs past `deadline`: a collection that never ends
/// is a defect this test must report, not wait out.
fn output_within(
    mut command: std::process::Command,
    deadline: std::time::Duration,
) -> std::process::Output {
    let dir = tempfile::tempdir().expect("output dir");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = command
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("run berth gc");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for berth gc") {
            break status;
        }
        if started.elapsed() > deadline {
            let tasks = std::fs::read_dir(format!("/proc/{}/task", child.id()))
                .map(|tasks| {
                    tasks
                        .flatten()
                        .map(|t| {
                            let read = |f: &str| {
                                std::fs::read_to_string(t.path().join(f)).unwrap_or_default()
                            };
                            format!("{} waits in {}", read("comm").trim(), read("wchan"))
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            let _ = child.kill();
            panic!(
                "berth gc ran past {deadline:?} ({tasks}); its log:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: std::fs::read(&out).unwrap_or_default(),
        stderr: std::fs::read(&err).unwrap_or_default(),
    }
}

/// That story many times while `berth gc` loops in its own process: each
/// round's layer and a control blob are uploaded, unreferenced, through a
/// second server of the installation whose clock runs two days behind; a
/// pusher on the present server HEADs the layer, skips it, and pushes the
/// rest and its manifest; older images are deleted on the way. Rounds in which
/// a whole collection ran between the HEAD and the manifest are counted (every
/// tenth round waits for one): without them the test would not have created
/// the race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_that_skip_old_unreferenced_layers_race_gc_and_lose_nothing() {
    let present = TestServer::start();
    let past = TestServer::builder().clock(THE_PAST).start_beside(&present);
    let reg = Registry::new(&present);
    let old = Registry::new(&past);

    // `berth gc` (default grace) in a loop, in its own process.
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let deleted = Arc::new(Mutex::new(BTreeSet::new()));
    let gc = {
        let (done, started, finished, deleted) = (
            done.clone(),
            started.clone(),
            finished.clone(),
            deleted.clone(),
        );
        let data_dir = present.data_dir().to_path_buf();
        let env = present.admin_env();
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                started.fetch_add(1, Ordering::SeqCst);
                let mut gc = std::process::Command::new(common::berth_binary());
                gc.args(["gc", "--data-dir"])
                    .arg(&data_dir)
                    .env_remove("BERTH_CONFIG")
                    .envs(env.iter().map(|(k, v)| (k, v)));
                let out = output_within(gc, GC_DEADLINE);
                assert!(out.status.success(), "gc failed: {}", text(&out));
                let mut deleted = deleted.lock().unwrap();
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    if let Some(digest) = line.strip_prefix("deleted sha256:") {
                        let hex = digest.split(' ').next().unwrap_or_default();
                        deleted.insert(format!("sha256:{hex}"));
                    }
                }
                finished.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    let mut live: Vec<(usize, String, Vec<String>)> = Vec::new();
    let mut controls = Vec::new();
    let mut raced = 0;
    for round in 0..ROUNDS {
        let layer = random_bytes(256 + round % 13);
        old.push_blob(REPO, &layer).await;
        controls.push(old.push_blob(REPO, &random_bytes(100 + round % 11)).await);

        head_or_upload(&reg, &layer).await;
        let before = started.load(Ordering::SeqCst);
        if round % 10 == 0 {
            // Let one whole collection run between the HEAD and the manifest.
            while finished.load(Ordering::SeqCst) <= before {
                assert!(
                    !gc.is_finished(),
                    "the `berth gc` loop stopped (see its panic)"
                );
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        let tag = format!("r{round}");
        let unique = random_bytes(64 + round % 7);
        reg.push_blob(REPO, &unique).await;
        let config = to_bytes(&json!({"architecture": "amd64", "os": "linux", "round": round}));
        reg.push_blob(REPO, &config).await;
        if finished.load(Ordering::SeqCst) > before {
            raced += 1;
        }
        let (digest, blobs) = push_manifest(&reg, &tag, &layer, &unique, &config).await;
        live.push((round, digest, blobs));

        // Keep three images; delete the oldest by digest.
        if live.len() > 3 {
            let (_, gone, _) = live.remove(0);
            let resp = reg
                .send(reg.delete(&format!("/v2/{REPO}/manifests/{gone}")))
                .await;
            assert_eq!(
                resp.status(),
                StatusCode::ACCEPTED,
                "round {round}: delete {gone}"
            );
        }
    }
    done.store(true, Ordering::SeqCst);
    gc.join().expect("gc thread");
    assert!(
        raced >= ROUNDS / 10,
        "a whole collection ran between HEAD and manifest in {raced} round(s)"
    );

    for (round, digest, blobs) in &live {
        let resp = reg
            .send(reg.get(&format!("/v2/{REPO}/manifests/r{round}")))
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "image r{round} is still there"
        );
        assert_eq!(
            common::oci::header(resp.headers(), "Docker-Content-Digest").as_deref(),
            Some(digest.as_str())
        );
        assert_pulls(&reg, &format!("r{round}"), blobs).await;
    }

    // The control blobs: the loop collected some while the pushes ran, and
    // one more collection takes the rest.
    let during = controls
        .iter()
        .filter(|c| deleted.lock().unwrap().contains(*c))
        .count();
    assert!(during > 0, "the concurrent collections deleted old garbage");
    let last = present.admin(&["gc"]);
    assert!(last.status.success(), "{}", text(&last));
    for control in &controls {
        let head = reg
            .send(reg.head(&format!("/v2/{REPO}/blobs/{control}")))
            .await;
        assert_eq!(
            head.status(),
            StatusCode::NOT_FOUND,
            "control {control} collected"
        );
    }
    let fsck = present.admin(&["fsck"]);
    assert!(
        fsck.status.success(),
        "fsck finds nothing wrong: {}",
        text(&fsck)
    );
    println!(
        "{ROUNDS} rounds, {raced} with a whole collection between HEAD and manifest, \
         {} collections, {during} control blob(s) collected during the pushes",
        finished.load(Ordering::SeqCst)
    );
    drop(past);
}

//! Online GC under load: pushes that share a layer (skipping it after a HEAD,
//! as docker does), deletes, and `berth gc` running in a loop at the same
//! time, for 500 rounds; then every image that should exist must pull whole.

mod common;

use common::oci::{
    image_manifest, random_bytes, to_bytes, Descriptor, Registry, OCI_CONFIG, OCI_LAYER,
    OCI_MANIFEST,
};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

const ROUNDS: usize = 500;
const REPO: &str = "gc/load";

/// Pushes one image whose first layer is shared: HEAD it, upload only if missing.
async fn push_round(reg: &Registry, round: usize, shared: &[u8]) -> (String, Vec<String>) {
    let shared_digest = common::oci::sha256_digest(shared);
    let head = reg
        .send(reg.head(&format!("/v2/{REPO}/blobs/{shared_digest}")))
        .await;
    if head.status() != StatusCode::OK {
        reg.push_blob(REPO, shared).await;
    }
    let unique = random_bytes(64 + round % 7);
    reg.push_blob(REPO, &unique).await;
    let config_bytes = to_bytes(&json!({"architecture": "amd64", "os": "linux", "round": round}));
    reg.push_blob(REPO, &config_bytes).await;
    let config = Descriptor::of(OCI_CONFIG, &config_bytes);
    let layers = vec![
        Descriptor::of(OCI_LAYER, shared),
        Descriptor::of(OCI_LAYER, &unique),
    ];
    let manifest = to_bytes(&image_manifest(&config, &layers));
    let digest = reg
        .push_manifest(REPO, &format!("r{round}"), OCI_MANIFEST, &manifest)
        .await;
    let mut blobs = vec![config.digest];
    blobs.extend(layers.into_iter().map(|l| l.digest));
    (digest, blobs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_deletes_and_gc_interleaved_lose_nothing() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let shared = random_bytes(4096);

    // `berth gc` in a loop, in its own process, for as long as the pushes run.
    let done = Arc::new(AtomicBool::new(false));
    let collections = Arc::new(AtomicUsize::new(0));
    let gc = {
        let (done, collections) = (done.clone(), collections.clone());
        let data_dir = server.data_dir().to_path_buf();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let out = std::process::Command::new(common::berth_binary())
                    .args(["gc", "--grace-seconds", "2", "--data-dir"])
                    .arg(&data_dir)
                    .output()
                    .expect("run berth gc");
                assert!(
                    out.status.success(),
                    "gc failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                collections.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let mut live: Vec<(usize, String, Vec<String>)> = Vec::new();
    for round in 0..ROUNDS {
        let (digest, blobs) = push_round(&reg, round, &shared).await;
        live.push((round, digest, blobs));
        // Keep three images; delete the oldest by digest.
        if live.len() > 3 {
            let (_, old, _) = live.remove(0);
            let resp = reg
                .send(reg.delete(&format!("/v2/{REPO}/manifests/{old}")))
                .await;
            assert_eq!(
                resp.status(),
                StatusCode::ACCEPTED,
                "round {round}: delete {old}"
            );
        }
    }
    done.store(true, Ordering::Relaxed);
    gc.join().expect("gc thread");
    assert!(
        collections.load(Ordering::Relaxed) > 0,
        "gc ran during the pushes"
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
        for blob in blobs {
            let resp = reg.send(reg.get(&format!("/v2/{REPO}/blobs/{blob}"))).await;
            assert_eq!(resp.status(), StatusCode::OK, "r{round}: blob {blob} pulls");
            let bytes = resp.bytes().await.unwrap();
            assert_eq!(
                &common::oci::sha256_digest(&bytes),
                blob,
                "r{round}: blob {blob} is whole"
            );
        }
    }
    let fsck = server.admin(&["fsck"]);
    assert!(
        fsck.status.success(),
        "fsck finds nothing wrong: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    println!(
        "{ROUNDS} rounds with {} concurrent collections",
        collections.load(Ordering::Relaxed)
    );
}

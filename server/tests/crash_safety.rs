//! Crash safety: 32 concurrent pushes over HTTP (shared and unique layers,
//! monolithic and chunked uploads, images and multi-arch indexes), the server
//! killed with SIGKILL at a random moment, again and again on one data
//! directory. After every kill `berth fsck` finds nothing wrong, everything the
//! server acknowledged (a `201`) is intact and pullable, every upload session it
//! acknowledged survives (its acknowledged chunks too) and can be resumed, and
//! abandoned uploads are gone, bytes and all, once they expire.

mod common;
mod crash;

use common::oci::{sha256_digest, Registry, XorShift};
use common::TestServer;
use crash::{
    assert_fsck_clean, call, expect, held, ledger, upload_files, verify_acked, Ledger, OpenUpload,
    Pusher, Shared, PARALLEL_CHECKS,
};
use futures_util::StreamExt;
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent pushers per round.
const PUSHERS: u64 = 32;
/// Kills, each at its own moment.
const ROUNDS: u64 = 24;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_pushes_survive_sigkill_at_random_moments_and_abandoned_uploads_expire() {
    let started = Instant::now();
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::random::<u64>() | 1);
    println!("crash_safety: seed {seed} (replay with CRASH_SEED={seed})");
    let mut rng = XorShift(seed);
    let mut below = |n: u64| {
        let mut word = [0u8; 8];
        rng.fill(&mut word);
        u64::from_le_bytes(word) % n
    };
    let shared_layers: Arc<Vec<Arc<Vec<u8>>>> = Arc::new(
        [
            1_000,
            4_096,
            20_000,
            65_536,
            100_000,
            300_000,
            2 << 20,
            3 << 20,
        ]
        .iter()
        .enumerate()
        .map(|(i, &n)| Arc::new(XorShift::bytes(seed ^ ((i as u64 + 1) << 32), n)))
        .collect(),
    );
    let shared = Shared::default();
    let mut server = TestServer::start();
    // Everything acknowledged so far.
    let mut acked = Ledger::default();
    // Interrupted uploads left for good, with the bytes their session holds.
    let mut abandoned: Vec<(String, OpenUpload, u64)> = Vec::new();
    let mut resumable: Vec<(String, OpenUpload)> = Vec::new();
    for round in 0..ROUNDS {
        let reg = Arc::new(Registry::new(&server));
        let kill_after = Duration::from_millis(50 + below(1_450));
        let mut pushers = Vec::new();
        for p in 0..PUSHERS {
            let pusher = Pusher {
                reg: reg.clone(),
                ledger: shared.clone(),
                rng: XorShift((seed ^ (round << 40) ^ (p << 20)) | 1),
                name: format!("r{round}-p{p}"),
                shared_layers: shared_layers.clone(),
                pushed: 0,
            };
            pushers.push(tokio::spawn(pusher.run(resumable.pop())));
        }
        tokio::time::sleep(kill_after).await;
        let data_dir = server.kill();
        for pusher in pushers {
            pusher.await.expect("a pusher found no fault");
        }
        assert_fsck_clean(data_dir.path(), &format!("after kill {round}"));
        server = TestServer::builder().start_in(data_dir);
        let reg = Registry::new(&server);
        let mut this_round = std::mem::take(&mut *ledger(&shared));
        let open = std::mem::take(&mut this_round.open);
        let left = std::mem::take(&mut resumable);
        for (location, upload) in open.into_iter().chain(left) {
            let (status, headers, body) = call(reg.get(&location)).await.expect("server is up");
            if status == StatusCode::NOT_FOUND {
                // A session ends by the record of its commit (the blob linked),
                // by expiry (a day here), or by a `PATCH` that finds its bytes
                // gone ("start the upload again"), and pushers never `PATCH` a
                // session a kill cut off: they `PUT` the rest, which records a
                // commit the kill left unrecorded. So this one was committed
                // and recorded just before the kill, the `201` lost with it.
                let digest = sha256_digest(&upload.data);
                let head = reg.head(&format!("/v2/{}/blobs/{digest}", upload.repo));
                let (status, _, _) = call(head).await.expect("server is up");
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "an upload gone after a kill was committed"
                );
                continue;
            }
            expect(
                status,
                StatusCode::NO_CONTENT,
                "an acknowledged session survives",
                &body,
            );
            let bytes = held(&headers);
            assert!(upload.acked <= bytes && bytes <= upload.data.len() as u64);
            if below(2) == 0 {
                resumable.push((location, upload));
            } else {
                abandoned.push((location, upload, bytes));
            }
        }
        let checks = abandoned.iter().map(|(location, _, bytes)| {
            let reg = &reg;
            async move {
                let (status, headers, body) = call(reg.get(location)).await.expect("server is up");
                let what = "an abandoned session lives until it expires";
                expect(status, StatusCode::NO_CONTENT, what, &body);
                assert_eq!(
                    held(&headers),
                    *bytes,
                    "an abandoned session keeps its bytes"
                );
            }
        });
        futures_util::stream::iter(checks)
            .buffer_unordered(PARALLEL_CHECKS)
            .collect::<()>()
            .await;
        verify_acked(&reg, &this_round).await;
        acked.blobs.append(&mut this_round.blobs);
        acked.manifests.append(&mut this_round.manifests);
        println!(
            "crash_safety: round {round}: killed after {kill_after:?}; {} blobs and {} manifests acknowledged so far; {} uploads abandoned",
            acked.blobs.len(), acked.manifests.len(), abandoned.len()
        );
    }

    assert!(!abandoned.is_empty(), "some kills cut uploads off");
    assert!(
        upload_files(server.data_dir()) > 0,
        "abandoned uploads hold files"
    );

    // Restarted with a one-second expiry, the server removes every abandoned
    // upload before it listens, and keeps everything acknowledged.
    let data_dir = server.into_data_dir();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let server = TestServer::builder()
        .env("BERTH_UPLOAD_EXPIRY", "1")
        .start_in(data_dir);
    let reg = Registry::new(&server);
    let left = abandoned.iter().map(|(l, _, _)| l);
    for location in left.chain(resumable.iter().map(|(l, _)| l)) {
        let (status, _, body) = call(reg.get(location)).await.expect("server is up");
        expect(
            status,
            StatusCode::NOT_FOUND,
            "an expired upload is gone",
            &body,
        );
    }
    assert_eq!(
        upload_files(server.data_dir()),
        0,
        "expired uploads' bytes are gone"
    );
    verify_acked(&reg, &acked).await;

    // And the periodic sweep (every second with this expiry) removes one
    // abandoned while the server runs.
    let location = reg.start_upload("crash/app0").await;
    // On a machine too busy to send the PATCH within the second, the session
    // has expired by then: refused, it is still there for the sweep.
    let patch = reg
        .patch(&location)
        .header("Content-Range", "0-999")
        .body(vec![7; 1000]);
    let (status, _, body) = call(patch).await.expect("server is up");
    let expired =
        status == StatusCode::NOT_FOUND && String::from_utf8_lossy(&body).contains("expired");
    assert!(
        status == StatusCode::ACCEPTED || expired,
        "PATCH of a fresh upload: {status} {}",
        String::from_utf8_lossy(&body)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while upload_files(server.data_dir()) > 0 {
        assert!(
            Instant::now() < deadline,
            "the sweep removed the idle upload"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, body) = call(reg.get(&location)).await.expect("server is up");
    expect(
        status,
        StatusCode::NOT_FOUND,
        "an expired upload is gone",
        &body,
    );
    let data_dir = server.into_data_dir();
    assert_fsck_clean(data_dir.path(), "after expiry");
    println!(
        "crash_safety: {ROUNDS} kills; {} blobs and {} manifests acknowledged and intact; {} uploads abandoned and expired; {:.1} s",
        acked.blobs.len(),
        acked.manifests.len(),
        abandoned.len() + resumable.len(),
        started.elapsed().as_secs_f64()
    );
}

/// What a kill between committing an upload's blob and recording it leaves:
/// the blob stored (encrypted, under its copy's name for the repository's
/// key), unlinked, and the session open with its bytes gone (they are the
/// blob now). The blob's encrypted bytes come from another upload of the
/// same data in the same repository (so under the same key, with a data key
/// wrapped by it), committed as the commit does; the session's own file goes.
async fn commit_behind_the_session(
    server: &TestServer,
    reg: &Registry,
    repo: &str,
    location: &str,
    data: &[u8],
) {
    use berth::storage::{encrypted, FsBlobStore, UploadState};
    let id_of = |location: &str| {
        let id = location.rsplit('/').next().expect("id");
        id.split('?').next().expect("id").to_owned()
    };
    let twin = reg.start_upload(repo).await;
    let twin = reg.patch_chunk(&twin, 0, data.to_vec()).await;
    let url = format!(
        "sqlite://{}?mode=ro",
        server.data_dir().join("berth.db").display()
    );
    let db = sqlx::SqlitePool::connect(&url)
        .await
        .expect("open berth.db");
    let (size, driver): (i64, String) =
        sqlx::query_as("SELECT size, store_state FROM upload_sessions WHERE id = ?")
            .bind(id_of(&twin))
            .fetch_one(&db)
            .await
            .expect("the twin upload's state");
    db.close().await;
    let state = UploadState {
        size: size as u64,
        driver,
    };
    let key_id = encrypted::upload_header(&state).expect("a header").key_id;
    let object = common::copy_object(&sha256_digest(data), &key_id);
    let object = berth_app::oci::Digest::parse(&object).unwrap();
    let store = FsBlobStore::open(server.data_dir())
        .await
        .expect("the store");
    encrypted::commit_upload(&store, &id_of(&twin), &state, &object)
        .await
        .expect("the committed blob");
    let gone = reg.send(reg.delete(&twin)).await;
    assert_eq!(
        gone.status(),
        StatusCode::NO_CONTENT,
        "the twin session ends"
    );
    let upload = server.data_dir().join("uploads").join(id_of(location));
    std::fs::remove_file(upload).expect("the upload's file");
}

/// Issue 15: a kill caught a `PUT` between its commit and its record; after
/// the restart the client asked where the session stood (`0-0`, or the
/// bytes its `PATCH`es had sent) and sent the `PUT` again. That `PUT` was
/// answered `404 lost its bytes` and the session removed with the blob left
/// unlinked, so when a second kill took the answer, the session and the
/// blob were both gone (`GET` and `HEAD` 404) though nothing was wrong with
/// either. The `PUT` now records the commit the kill left unrecorded: the
/// session's saved bytes and the `PUT`'s hash to the digest, and the store
/// holds that blob.
#[tokio::test]
async fn a_put_again_records_the_commit_a_crash_left_unrecorded() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = "crash/window";
    // (bytes PATCHed before the commit, bytes its PUT carried)
    for (patched, size) in [(0, 3_461), (100_000, 200_000), (200_000, 200_000)] {
        let data = XorShift::bytes(size as u64 + patched as u64, size);
        let digest = sha256_digest(&data);
        let mut location = reg.start_upload(repo).await;
        if patched > 0 {
            location = reg
                .patch_chunk(&location, 0, data[..patched].to_vec())
                .await;
        }
        commit_behind_the_session(&server, &reg, repo, &location, &data).await;

        // The resuming client: where does the session stand, then the rest.
        let (status, headers, body) = call(reg.get(&location)).await.expect("server is up");
        expect(status, StatusCode::NO_CONTENT, "the session is open", &body);
        assert_eq!(crash::held(&headers), patched as u64, "{patched}");
        let put = reg
            .put(&Registry::with_digest(&location, &digest))
            .header("Content-Type", "application/octet-stream")
            .body(data[patched..].to_vec());
        let (status, _, body) = call(put).await.expect("server is up");
        expect(status, StatusCode::CREATED, "the PUT again", &body);

        // Whether or not the client heard that `201`: the session is gone
        // and the blob is there, as a finished upload leaves them.
        let (status, _, body) = call(reg.get(&location)).await.expect("server is up");
        expect(status, StatusCode::NOT_FOUND, "the session is done", &body);
        common::oci::assert_blob_content(&reg, repo, &digest, &data).await;
    }
    let data_dir = server.into_data_dir();
    assert_fsck_clean(data_dir.path(), "after recording");
}

/// The same window, but a client that goes on with a `PATCH` (or a `PUT`
/// whose digest is not the session's) cannot: the bytes it would append to
/// are gone. It is told so with `404 BLOB_UPLOAD_UNKNOWN` (it was a 500 for
/// good), the session is removed, and starting again works.
#[tokio::test]
async fn a_patch_to_an_upload_a_crash_committed_is_unknown_and_can_start_again() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let data = XorShift::bytes(7, 200_000);
    let digest = sha256_digest(&data);
    let location = reg.start_upload("crash/window").await;
    let location = reg
        .patch_chunk(&location, 0, data[..100_000].to_vec())
        .await;
    commit_behind_the_session(&server, &reg, "crash/window", &location, &data).await;
    let patch = reg
        .patch(&location)
        .header("Content-Range", format!("100000-{}", data.len() - 1))
        .body(data[100_000..].to_vec());
    let resp = reg.send(patch).await;
    let error =
        common::oci::expect_error(resp, StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", "PATCH")
            .await;
    assert!(
        error.message.contains("start the upload again"),
        "{}",
        error.message
    );
    let (status, _, body) = call(reg.get(&location)).await.expect("server is up");
    expect(status, StatusCode::NOT_FOUND, "the session is gone", &body);

    // A PUT that does not make the digest it names is refused as any is.
    let other = XorShift::bytes(8, 200_000);
    let location = reg.start_upload("crash/window").await;
    let location = reg
        .patch_chunk(&location, 0, other[..100_000].to_vec())
        .await;
    commit_behind_the_session(&server, &reg, "crash/window", &location, &other).await;
    let put = reg
        .put(&Registry::with_digest(&location, &digest))
        .body(other[100_000..].to_vec());
    common::oci::expect_error(
        reg.send(put).await,
        StatusCode::BAD_REQUEST,
        "DIGEST_INVALID",
        "PUT of another digest",
    )
    .await;

    reg.push_blob("crash/window", &data).await;
    common::oci::assert_blob_content(&reg, "crash/window", &digest, &data).await;
    let data_dir = server.into_data_dir();
    assert_fsck_clean(data_dir.path(), "after starting again");
}

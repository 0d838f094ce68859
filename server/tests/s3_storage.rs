//! Berth's S3 blob store against a real S3 server: a single-node Garage of each
//! test's own (installed by `make test`; these tests fail, never skip, without
//! it). The driver conformance suite, a 200 MiB chunked push stored encrypted
//! and served by Berth although redirects are on, the S3 server dying in the middle of a push,
//! GC and fsck by prefix, and `berth migrate-storage` from the filesystem.
//! The docker and skopeo suites also run on S3: `make test` runs them again
//! with `BERTH_TEST_STORAGE=s3-redirect`.

mod common;

use berth::storage::{conformance, BlobStore, S3BlobStore, S3Settings};
use common::docker::{write_build_context, DockerCli};
use common::garage::{self, Garage};
use common::oci::{header, require_header, sha256_digest, Registry, XorShift};
use common::{unique, TestServer};
use futures_util::StreamExt;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

const MIB: usize = 1 << 20;

/// The S3 settings for a test's Garage, under `prefix`.
fn settings(garage: &Garage, prefix: &str) -> S3Settings {
    S3Settings {
        bucket: garage.bucket.clone(),
        region: garage.region.clone(),
        endpoint: Some(garage.endpoint.clone()),
        path_style: true,
        prefix: prefix.into(),
    }
}

/// Opens the store as Berth does, with the key every test Garage has: the
/// SDK reads it from the environment, and every test sets the same values.
async fn open_store(garage: &Garage, prefix: &str) -> S3BlobStore {
    std::env::set_var("AWS_ACCESS_KEY_ID", garage::KEY_ID);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", garage::SECRET);
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    S3BlobStore::open(&settings(garage, prefix))
        .await
        .expect("open the S3 store")
}

/// A Berth to keep its blobs in `garage`, with extra settings.
fn builder_on(garage: &Garage, extra: &[(&str, &str)]) -> common::TestServerBuilder {
    let mut builder = TestServer::builder();
    for (key, value) in garage.env() {
        builder = builder.env(&key, &value);
    }
    for (key, value) in extra {
        builder = builder.env(key, value);
    }
    builder
}

/// A Berth keeping its blobs in `garage`, with extra settings.
fn server_on(garage: &Garage, extra: &[(&str, &str)]) -> TestServer {
    builder_on(garage, extra).start()
}

/// PATCHes the rest of a blob from `offset`, closes the upload with a PUT,
/// then reads the blob back whole.
async fn finish_push(reg: &Registry, location: &str, offset: usize, data: &[u8], repo: &str) {
    let digest = sha256_digest(data);
    let location = patch(reg, location, offset, &data[offset..]).await;
    let resp = reg
        .send(reg.put(&Registry::with_digest(&location, &digest)))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "the closing PUT");
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(stream_digest(resp).await, (data.len() as u64, digest));
}

/// PATCHes `data` at `offset` and returns the next location.
async fn patch(reg: &Registry, location: &str, offset: usize, data: &[u8]) -> String {
    reg.patch_chunk(location, offset as u64, data.to_vec())
        .await
}

/// Hashes a response body as it streams.
async fn stream_digest(resp: reqwest::Response) -> (u64, String) {
    let mut stream = resp.bytes_stream();
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    while let Some(piece) = stream.next().await {
        let piece = piece.expect("body chunk");
        received += piece.len() as u64;
        hasher.update(&piece);
    }
    (
        received,
        format!("sha256:{}", hex::encode(hasher.finalize())),
    )
}

#[tokio::test]
async fn the_s3_driver_passes_the_conformance_suite() {
    let garage = Garage::start();
    let store = open_store(&garage, "suite/").await;
    conformance::run_suite(&store).await;
    // Everything it stored stayed under its prefix.
    assert!(!store.list_blobs().await.unwrap().is_empty());
    let root = open_store(&garage, "").await;
    assert!(
        root.list_blobs().await.unwrap().is_empty(),
        "no blob outside the prefix"
    );
    assert!(
        root.list_uploads().await.unwrap().is_empty(),
        "no upload outside the prefix"
    );
}

#[tokio::test]
async fn the_s3_driver_conforms_when_commits_copy_in_parts() {
    let garage = Garage::start();
    // Blobs over 6 MiB are copied to their digest with UploadPartCopy in 5 MiB
    // parts, as blobs over 5 GiB are with the real limits.
    let store = open_store(&garage, "copies/")
        .await
        .with_copy_limits(6 * MIB as u64, 5 * MIB as u64);
    conformance::run_suite(&store).await;
}

#[tokio::test]
async fn an_s3_push_continues_after_berth_restarts() {
    let garage = Garage::start();
    let server = server_on(&garage, &[]);
    let reg = Registry::new(&server);
    let repo = unique("restart");
    let data = XorShift::bytes(5, 20 * MIB + 3);
    let location = reg.start_upload(&repo).await;
    // 11 MiB: one 8 MiB part in the multipart upload and a 3 MiB tail.
    let location = patch(&reg, &location, 0, &data[..11 * MIB]).await;

    let server = builder_on(&garage, &[]).start_in(server.into_data_dir());
    let reg = Registry::new(&server);
    let resp = reg.send(reg.get(&location)).await;
    assert_eq!(
        resp.status(),
        StatusCode::NO_CONTENT,
        "the session outlived the restart"
    );
    assert_eq!(
        header(resp.headers(), "Range"),
        Some(format!("0-{}", 11 * MIB - 1))
    );
    finish_push(&reg, &location, 11 * MIB, &data, &repo).await;
}

#[test]
fn an_unreachable_bucket_stops_berth_at_start_with_the_reason() {
    let garage = Garage::start();
    let data = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(common::berth_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .envs(garage.env())
        .env("BERTH_S3_BUCKET", "no-such-bucket")
        .env("BERTH_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
        .output()
        .expect("run berth serve");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "berth started without its bucket");
    assert!(
        stderr.contains("cannot use the blob store") && stderr.contains("no-such-bucket"),
        "the error names the store and the bucket: {stderr}"
    );
}

#[tokio::test]
async fn a_200_mib_chunked_push_lands_in_s3_encrypted_and_berth_serves_it() {
    let garage = Garage::start();
    let server = server_on(&garage, &[("BERTH_STORAGE_REDIRECT", "true")]);
    let reg = Registry::new(&server);
    let repo = unique("big-s3");

    // Uneven chunks: tails under 5 MiB carried between requests, parts of several sizes.
    let total = 201 * MIB + 12_345;
    let sizes = [3 * MIB, 9 * MIB, MIB + 7, 12 * MIB, 4 * MIB];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut hasher = Sha256::new();
    let mut location = reg.start_upload(&repo).await;
    let mut offset = 0;
    let mut probe = Vec::new();
    for size in sizes.iter().cycle() {
        if offset == total {
            break;
        }
        let mut chunk = vec![0u8; (*size).min(total - offset)];
        rng.fill(&mut chunk);
        hasher.update(&chunk);
        if offset <= 8 * MIB && 8 * MIB < offset + chunk.len() {
            probe = chunk[8 * MIB - offset - 10..8 * MIB - offset + 10].to_vec();
        }
        location = patch(&reg, &location, offset, &chunk).await;
        offset += chunk.len();
    }
    let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
    let resp = reg
        .send(reg.put(&Registry::with_digest(&location, &digest)))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "closing PUT is 201");
    assert_eq!(
        require_header(resp.headers(), "Docker-Content-Digest", "closing PUT"),
        digest
    );
    let peak = server.peak_rss();
    println!(
        "server peak RSS after a 201 MiB push to S3: {} MiB",
        peak / MIB as u64
    );
    assert!(
        peak < 200 * MIB as u64,
        "server peak RSS after a 201 MiB push to S3 is {} MiB, over 200 MiB",
        peak / MIB as u64
    );

    // HEAD and GET are answered by Berth, which decrypts: with redirects on,
    // an encrypted blob is not redirected (a presigned URL would serve its
    // ciphertext).
    let path = format!("/v2/{repo}/blobs/{digest}");
    let resp = reg.send(reg.head(&path)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "Content-Length"),
        Some(total.to_string())
    );
    let resp = reg.send(reg.get(&path)).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "an encrypted blob is served by Berth, not redirected"
    );
    assert_eq!(stream_digest(resp).await, (total as u64, digest.clone()));
    let (from, to) = (8 * MIB - 10, 8 * MIB + 9);
    let resp = reg
        .send(reg.get(&path).header("Range", format!("bytes={from}-{to}")))
        .await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        resp.bytes().await.unwrap().to_vec(),
        probe,
        "a range across a part boundary"
    );

    // Nothing of the upload is left in the bucket; the blob is, encrypted,
    // under its copy's name, and nothing is under its digest.
    let store = open_store(&garage, "").await;
    assert_eq!(store.list_uploads().await.unwrap(), Vec::<String>::new());
    let parsed = berth_app::oci::Digest::parse(&digest).unwrap();
    assert_eq!(store.stat(&parsed).await.unwrap(), None);
    let key_id = common::registry_key_id(server.data_dir()).await;
    let object = berth_app::oci::Digest::parse(&common::copy_object(&digest, &key_id)).unwrap();
    assert!(store.stat(&object).await.unwrap().unwrap() > total as u64);

    // GetDownloadUrlForLayer hands out Berth's own signed URL: the blob is encrypted.
    let key = server.admin(&["access-key", "create", "admin", "--json"]);
    assert!(
        key.status.success(),
        "access-key create: {}",
        String::from_utf8_lossy(&key.stderr)
    );
    let key: serde_json::Value = serde_json::from_slice(&key.stdout).expect("access key JSON");
    let aws = aws_cli();
    let output = std::process::Command::new(&aws)
        .args([
            "ecr",
            "get-download-url-for-layer",
            "--repository-name",
            &repo,
            "--layer-digest",
            &digest,
        ])
        .args([
            "--endpoint-url",
            &server.url,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .env("AWS_ACCESS_KEY_ID", key["accessKeyId"].as_str().unwrap())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            key["secretAccessKey"].as_str().unwrap(),
        )
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run the AWS CLI");
    assert!(
        output.status.success(),
        "aws ecr get-download-url-for-layer: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON answer");
    let download = answer["downloadUrl"].as_str().expect("a downloadUrl");
    assert!(
        download.starts_with(&server.url),
        "a URL of Berth's: {download}"
    );
    let resp = reqwest::Client::new()
        .get(download)
        .send()
        .await
        .expect("GET the download URL");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(stream_digest(resp).await, (total as u64, digest));
}

/// The AWS CLI `make test` installs into the tools cache.
fn aws_cli() -> std::path::PathBuf {
    let tools = std::env::var_os("BERTH_TOOLS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/berth-tools")
        });
    let aws = tools.join("venv/bin/aws");
    assert!(
        aws.exists(),
        "the AWS CLI is not installed at {}: run `make test`",
        aws.display()
    );
    aws
}

#[tokio::test]
async fn the_s3_server_dying_mid_push_fails_cleanly_and_the_push_resumes_after() {
    let mut garage = Garage::start();
    let server = server_on(&garage, &[]);
    let reg = Registry::new(&server);
    let repo = unique("fault");
    let data = XorShift::bytes(7, 30 * MIB + 99);
    let digest = sha256_digest(&data);
    let blob = format!("/v2/{repo}/blobs/{digest}");

    let location = reg.start_upload(&repo).await;
    let location = patch(&reg, &location, 0, &data[..12 * MIB]).await;

    garage.stop();
    let resp = reg
        .send(
            reg.patch(&location)
                .header("Content-Range", format!("{}-{}", 12 * MIB, 24 * MIB - 1))
                .body(data[12 * MIB..24 * MIB].to_vec()),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a PATCH while S3 is down"
    );
    let body: serde_json::Value = resp.json().await.expect("an OCI error body");
    assert_eq!(body["errors"][0]["code"], "UNAVAILABLE", "{body}");
    let monolithic = reg
        .send(
            reg.post(&format!(
                "/v2/{repo}/blobs/uploads/?digest={}",
                sha256_digest(b"small")
            ))
            .body(b"small".to_vec()),
        )
        .await;
    assert_eq!(
        monolithic.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a monolithic push while S3 is down"
    );

    // Berth stays up, shows nothing half-written, and kept the upload's progress.
    assert_eq!(
        reg.send(reg.get("/v2/")).await.status(),
        StatusCode::OK,
        "Berth is still serving"
    );
    assert_eq!(
        reg.send(reg.head(&blob)).await.status(),
        StatusCode::NOT_FOUND
    );
    let resp = reg.send(reg.get(&location)).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(resp.headers(), "Range"),
        Some(format!("0-{}", 12 * MIB - 1)),
        "the upload still holds what was stored before the failure"
    );

    garage.resume();
    finish_push(&reg, &location, 12 * MIB, &data, &repo).await;

    // Nothing half-written anywhere: every stored blob is recorded and whole.
    let fsck = server.admin(&["fsck"]);
    let report = String::from_utf8_lossy(&fsck.stdout);
    assert!(
        fsck.status.success(),
        "fsck: {report}{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
    assert!(
        report.contains("0 problem(s), 0 unrecorded blob(s)"),
        "{report}"
    );
}

#[tokio::test]
async fn gc_aborts_abandoned_multipart_uploads_and_deletes_unreferenced_blobs() {
    let garage = Garage::start();
    let server = server_on(&garage, &[]);
    let reg = Registry::new(&server);
    let repo = unique("gc-s3");
    let store = open_store(&garage, "").await;

    // An upload the store holds with no session: what a crash leaves behind.
    let abandoned = "abandoned-by-a-crash";
    store.create_upload(abandoned).await.unwrap();
    let mut writer = store
        .append_upload(abandoned, &berth::storage::UploadState::default())
        .await
        .unwrap();
    writer.write(vec![1u8; 9 * MIB].into()).await.unwrap();
    writer.finish().await.unwrap();
    assert_eq!(
        store.list_uploads().await.unwrap(),
        vec![abandoned.to_string()]
    );

    // A blob pushed, then unlinked: nothing references it any more.
    let bytes = XorShift::bytes(3, 6 * MIB);
    let digest = reg.push_blob(&repo, &bytes).await;
    let resp = reg
        .send(reg.delete(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let key_id = common::registry_key_id(server.data_dir()).await;
    let layer = berth_app::oci::Digest::parse(&common::copy_object(&digest, &key_id)).unwrap();
    assert!(store.stat(&layer).await.unwrap().unwrap() > 6 * MIB as u64);

    let dry = server.admin_at("+2h", &["gc", "--dry-run"]);
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.status.success(), "gc --dry-run: {text}");
    assert!(text.contains("1 leftover upload(s)"), "{text}");
    assert_eq!(
        store.list_uploads().await.unwrap().len(),
        1,
        "the dry run removed nothing"
    );
    assert!(
        store.stat(&layer).await.unwrap().is_some(),
        "the dry run deleted nothing"
    );

    let run = server.admin_at("+2h", &["gc"]);
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "gc: {text}");
    assert!(
        text.contains("Deleted 1 blob(s)") && text.contains("1 leftover upload(s)"),
        "{text}"
    );
    assert_eq!(
        store.list_uploads().await.unwrap(),
        Vec::<String>::new(),
        "the multipart upload is aborted"
    );
    assert_eq!(
        store.stat(&layer).await.unwrap(),
        None,
        "the layer is gone from the bucket"
    );
}

#[tokio::test]
async fn migrate_storage_moves_a_filesystem_registry_to_s3() {
    let garage = Garage::start();
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("moving");
    let images = [
        reg.push_image(&repo, Some("one")).await,
        reg.push_image(&repo, Some("two")).await,
    ];
    let big = XorShift::bytes(11, 12 * MIB + 5);
    let big_digest = reg.push_blob(&repo, &big).await;
    let data_dir = server.into_data_dir();

    let migrate = |expect: &str| {
        let output = std::process::Command::new(common::berth_binary())
            .args([
                "migrate-storage",
                "--from",
                "filesystem",
                "--to",
                "s3",
                "--data-dir",
            ])
            .arg(data_dir.path())
            .envs(
                garage
                    .env()
                    .into_iter()
                    .filter(|(k, _)| k != "BERTH_STORAGE"),
            )
            .output()
            .expect("run berth migrate-storage");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "migrate-storage: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.contains(expect), "expected {expect:?} in: {text}");
    };
    migrate("Done: 5 copied, 0 already there");
    migrate("Done: 0 copied, 5 already there");

    // The filesystem's blobs out of the way: whatever is served now comes from S3.
    std::fs::rename(
        data_dir.path().join("blobs"),
        data_dir.path().join("blobs.moved"),
    )
    .unwrap();
    let server = builder_on(&garage, &[]).start_in(data_dir);
    let reg = Registry::new(&server);
    for image in &images {
        let resp = reg
            .send(
                reg.get(&format!("/v2/{repo}/manifests/{}", image.digest))
                    .header("Accept", "application/vnd.oci.image.manifest.v1+json"),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.bytes().await.unwrap().to_vec(), image.manifest);
        for descriptor in [&image.config].into_iter().chain(&image.layers) {
            let resp = reg
                .send(reg.get(&format!("/v2/{repo}/blobs/{}", descriptor.digest)))
                .await;
            assert_eq!(
                resp.status(),
                StatusCode::OK,
                "{} after the move",
                descriptor.digest
            );
            assert_eq!(stream_digest(resp).await.1, descriptor.digest);
        }
    }
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/blobs/{big_digest}")))
        .await;
    assert_eq!(stream_digest(resp).await, (big.len() as u64, big_digest));
    let fsck = server.admin(&["fsck"]);
    let report = String::from_utf8_lossy(&fsck.stdout);
    assert!(
        fsck.status.success() && report.contains("0 problem(s)"),
        "fsck on S3: {report}"
    );
}

#[test]
fn migrate_storage_refuses_nonsense_by_name() {
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(common::berth_binary())
            .arg("migrate-storage")
            .args(args)
            .arg("--data-dir")
            .arg(data.path())
            .env("BERTH_ADMIN_PASSWORD", common::ADMIN_PASSWORD)
            .output()
            .expect("run berth migrate-storage");
        assert!(
            !output.status.success(),
            "migrate-storage {args:?} succeeded"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(run(&["--from", "tape", "--to", "s3"]).contains("\"tape\" is not a storage kind"));
    assert!(run(&["--from", "s3", "--to", "s3"]).contains("the same store"));
    assert!(run(&["--from", "filesystem", "--to", "s3"]).contains("no S3 bucket is configured"));
}

/// With redirects on, docker still pulls encrypted layers through Berth,
/// which decrypts them (a presigned URL would serve ciphertext).
#[test]
fn docker_pushes_a_200_mib_layer_to_s3_and_pulls_it_decrypted_through_berth() {
    let docker = DockerCli::new();
    let garage = Garage::start();
    let server = server_on(&garage, &[("BERTH_STORAGE_REDIRECT", "true")]);
    docker.login_as_admin(&server);
    let context = tempfile::tempdir().expect("build context dir");
    write_build_context(
        context.path(),
        &[("big.bin", 200 * MIB + 777), ("small.txt", 3000)],
    );
    let reference = format!("{}/s3/big:v1", server.host);

    let built = docker.build(context.path(), &reference);
    docker.push(&reference);
    docker.remove(&[reference.as_str()]);
    let pulled = docker.pull(&reference);

    // The layers are stored encrypted: a presigned URL would have handed
    // docker ciphertext, which fails its digest check.
    assert_eq!(
        pulled, built,
        "the image pulled back from S3 is the one pushed"
    );
}

/// Issue 18 §2 on S3: an encrypted upload in uneven requests (each over the
/// driver's part size, so parts, tails and the multipart upload are all
/// used) never puts its marker in any object of the bucket, mid-upload or
/// after the commit, and reads back byte-identical, whole and in ranges
/// across segment boundaries.
#[tokio::test]
async fn encrypted_uploads_put_no_plaintext_in_the_bucket() {
    use berth::keys::segments::{Header, SEGMENT_SIZE};
    use berth::storage::encrypted;
    const MARKER: &[u8] = b"BERTH-S3-MARKER-51c9";
    let holds_marker = |bytes: &[u8]| bytes.windows(MARKER.len()).any(|w| w == MARKER);
    let garage = Garage::start();
    let store = open_store(&garage, "enc/").await;
    let key = [5u8; 32];
    let mut plain = XorShift::bytes(18, 13 * MIB + 12_345);
    for at in (0..plain.len() - MARKER.len()).step_by(40_000) {
        plain[at..at + MARKER.len()].copy_from_slice(MARKER);
    }

    store.create_upload("enc-1").await.unwrap();
    let mut state = encrypted::new_upload_state(&Header::new("key-1", &[1; 60]));
    let cuts = [0, 3 * MIB + 17, 9 * MIB + 1, plain.len()];
    for pair in cuts.windows(2) {
        let mut writer = encrypted::append_upload(&store, "enc-1", &state, &key)
            .await
            .unwrap();
        for chunk in plain[pair[0]..pair[1]].chunks(256 << 10) {
            writer
                .write(bytes::Bytes::copy_from_slice(chunk))
                .await
                .unwrap();
        }
        state = writer.finish().await.unwrap();
        assert_eq!(state.size as usize, pair[1]);
        for (name, bytes) in garage.objects().await {
            assert!(
                !holds_marker(&bytes),
                "plaintext in object {name} mid-upload"
            );
        }
    }
    let state = encrypted::seal_upload(&store, "enc-1", &state)
        .await
        .unwrap();
    let object = berth_app::oci::Digest::parse(&sha256_digest(b"encrypted object")).unwrap();
    encrypted::commit_upload(&store, "enc-1", &state, &object)
        .await
        .unwrap();
    let objects = garage.objects().await;
    assert!(!objects.is_empty());
    for (name, bytes) in objects {
        assert!(!holds_marker(&bytes), "plaintext in object {name}");
    }

    let (header, _) = encrypted::read_header(&store, &object).await.unwrap();
    let len = plain.len() as u64;
    let seg = u64::from(SEGMENT_SIZE);
    for range in [0..len, seg - 3..3 * seg + 5, len - seg - 1..len, 7..8] {
        let mut stream = encrypted::read(&store, &object, &header, &key, len, range.clone())
            .await
            .unwrap();
        let mut read = Vec::new();
        while let Some(chunk) = stream.next().await {
            read.extend_from_slice(&chunk.unwrap());
        }
        assert!(
            read == plain[range.start as usize..range.end as usize],
            "range {range:?} reads back byte-identical"
        );
    }
}

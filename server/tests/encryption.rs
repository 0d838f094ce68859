//! Encryption at rest (issue 18 §2, tests of §4), against the real server on
//! the filesystem store and on S3 (a Garage of each test's own): layers
//! holding a known marker never put it in any file under the data directory
//! or any object in the bucket (mid-upload either); pulls, whole and in
//! ranges across segment boundaries, are byte-identical; a blob in two
//! repositories under two keys is stored twice, under one key once; a
//! flipped stored byte fails the pull (before any byte of its segment) and
//! `berth fsck`; a disabled key refuses pulls and pushes on `/v2/` and the
//! ECR API.

mod common;

use common::garage::Garage;
use common::oci::{header, sha256_digest, Registry};
use common::TestServer;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

const MARKER: &[u8] = b"BERTH-ENCRYPTION-MARKER-4be1";
const SEGMENT: usize = 64 * 1024;

fn holds_marker(bytes: &[u8]) -> bool {
    bytes.windows(MARKER.len()).any(|w| w == MARKER)
}

/// `len` bytes with the marker every 3,000 bytes; `seed` makes blobs differ.
fn layer(seed: u8, len: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..len)
        .map(|i| (i as u64 * 31 + u64::from(seed) * 7) as u8)
        .collect();
    for at in (0..len - MARKER.len()).step_by(3000) {
        bytes[at..at + MARKER.len()].copy_from_slice(MARKER);
    }
    bytes
}

/// Every file under `root`, with its bytes.
fn files(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

/// Where a test's blobs are stored, to look at them from outside Berth.
enum Stored<'a> {
    Disk(&'a std::path::Path),
    Bucket(&'a Garage),
}

impl Stored<'_> {
    /// Every stored file or object, by name.
    async fn all(&self) -> Vec<(String, Vec<u8>)> {
        match self {
            Stored::Disk(dir) => files(dir)
                .into_iter()
                .map(|(p, b)| (p.display().to_string(), b))
                .collect(),
            Stored::Bucket(garage) => garage.objects().await,
        }
    }

    /// The stored blob objects (named by a digest), by name.
    async fn blobs(&self) -> Vec<(String, Vec<u8>)> {
        self.all()
            .await
            .into_iter()
            .filter(|(name, _)| {
                name.contains("blobs/sha256/")
                    && name
                        .rsplit('/')
                        .next()
                        .is_some_and(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            })
            .collect()
    }

    async fn assert_no_marker(&self, when: &str) {
        for (name, bytes) in self.all().await {
            assert!(!holds_marker(&bytes), "plaintext in {name} {when}");
        }
    }

    /// Flips one byte in the middle of the stored object `name`.
    async fn flip(&self, name: &str) {
        match self {
            Stored::Disk(_) => {
                let mut bytes = std::fs::read(name).unwrap();
                let at = bytes.len() / 2;
                bytes[at] ^= 0x01;
                std::fs::write(name, bytes).unwrap();
            }
            Stored::Bucket(garage) => {
                let (_, mut bytes) = garage
                    .objects()
                    .await
                    .into_iter()
                    .find(|(n, _)| n == name)
                    .unwrap();
                let at = bytes.len() / 2;
                bytes[at] ^= 0x01;
                garage.put_object(name, bytes).await;
            }
        }
    }
}

/// GETs a blob (with an optional range) and returns the status and the
/// bytes received, or the bytes received before the body failed.
async fn pull(
    reg: &Registry,
    repo: &str,
    digest: &str,
    range: Option<&str>,
) -> (StatusCode, Vec<u8>, bool) {
    let mut request = reg.get(&format!("/v2/{repo}/blobs/{digest}"));
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    // A segment that fails before the response's head is out aborts the
    // connection: the pull fails with no bytes.
    let Ok(resp) = request.send().await else {
        return (StatusCode::BAD_GATEWAY, Vec::new(), false);
    };
    let status = resp.status();
    let mut body = resp.bytes_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(_) => return (status, bytes, false),
        }
    }
    (status, bytes, true)
}

/// Pushes `data` in three PATCHes, checking the store between them.
async fn chunked_push(reg: &Registry, stored: &Stored<'_>, repo: &str, data: &[u8]) -> String {
    let digest = sha256_digest(data);
    let mut location = reg.start_upload(repo).await;
    let cuts = [0, 1000, 2 * SEGMENT + 77, data.len()];
    for pair in cuts.windows(2) {
        location = reg
            .patch_chunk(&location, pair[0] as u64, data[pair[0]..pair[1]].to_vec())
            .await;
        stored.assert_no_marker("mid-upload").await;
    }
    let resp = reg
        .send(reg.put(&Registry::with_digest(&location, &digest)))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "the closing PUT");
    digest
}

/// A KMS key made with `berth kms create-key`: its id.
fn create_key(server: &TestServer, alias: &str) -> String {
    let out = server.admin(&["kms", "create-key", "--alias", alias, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
}

async fn ecr(server: &TestServer, operation: &str, body: Value) -> (StatusCode, Value) {
    let resp = common::ecr::call(server, "admin", operation, body.to_string()).await;
    let status = resp.status();
    let json = resp.json().await.unwrap_or(Value::Null);
    (status, json)
}

/// A repository made with CreateRepository, encrypted under a new KMS key
/// with `alias`; the key's id.
async fn kms_repository(server: &TestServer, name: &str, alias: &str) -> String {
    let key = create_key(server, alias);
    let (status, body) = ecr(
        server,
        "CreateRepository",
        json!({"repositoryName": name,
               "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": key}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    key
}

/// The whole flow on one store.
async fn encryption_at_rest(server: &TestServer, stored: Stored<'_>) {
    let reg = Registry::new(server);
    let key = kms_repository(server, "enc/team-b", "enc-team-b").await;

    // An AES256 repository (made on push): encrypted from the first byte.
    let data = layer(1, 5 * SEGMENT + 1234);
    let digest = chunked_push(&reg, &stored, "enc/team-a", &data).await;
    stored.assert_no_marker("after the push").await;
    let blobs = stored.blobs().await;
    assert_eq!(blobs.len(), 1, "one stored copy");
    let resp = reg
        .send(reg.head(&format!("/v2/enc/team-a/blobs/{digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        header(resp.headers(), "Content-Length"),
        Some(data.len().to_string()),
        "HEAD gives the plaintext size"
    );
    let (status, whole, complete) = pull(&reg, "enc/team-a", &digest, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(complete && whole == data, "the pull is byte-identical");
    let len = data.len();
    for (start, end) in [
        (0, 0),
        (SEGMENT - 1, SEGMENT),
        (SEGMENT - 10, 3 * SEGMENT + 10),
        (2 * SEGMENT, 3 * SEGMENT - 1),
        (len - 5, len - 1),
    ] {
        let (status, bytes, complete) = pull(
            &reg,
            "enc/team-a",
            &digest,
            Some(&format!("bytes={start}-{end}")),
        )
        .await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert!(
            complete && bytes == data[start..=end],
            "range {start}-{end} is byte-identical"
        );
    }
    let (_, tail, _) = pull(&reg, "enc/team-a", &digest, Some("bytes=-70000")).await;
    assert!(
        tail == data[len - 70000..],
        "a suffix range is byte-identical"
    );

    // Another AES256 repository: the same key, the same stored copy.
    reg.push_blob("enc/team-a2", &data).await;
    assert_eq!(stored.blobs().await.len(), 1, "one key, one copy");
    // A mount into a repository under another key: a second copy.
    let resp = reg
        .send(
            reg.post(&format!(
                "/v2/enc/team-b/blobs/uploads/?mount={digest}&from=enc/team-a"
            ))
            .header("Content-Length", "0"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "mounted");
    assert_eq!(stored.blobs().await.len(), 2, "two keys, two copies");
    stored.assert_no_marker("after the mount").await;
    let (_, from_b, complete) = pull(&reg, "enc/team-b", &digest, None).await;
    assert!(
        complete && from_b == data,
        "the mounted copy pulls byte-identical"
    );

    // A blob pushed straight into the KMS repository, then an empty one.
    let other = layer(2, 3 * SEGMENT);
    let other_digest = reg.push_blob("enc/team-b", &other).await;
    let (_, back, complete) = pull(&reg, "enc/team-b", &other_digest, None).await;
    assert!(complete && back == other);
    let empty = reg.push_blob("enc/team-b", b"").await;
    let (status, back, complete) = pull(&reg, "enc/team-b", &empty, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        complete && back.is_empty(),
        "an empty blob reads back empty"
    );
    stored.assert_no_marker("after every push").await;

    // A disabled key refuses pulls and pushes of its repositories, on /v2/
    // and the ECR API; the other repositories go on.
    let out = server.admin(&["kms", "disable-key", &key]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resp = reg
        .send(reg.get(&format!("/v2/enc/team-b/blobs/{digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("DENIED") && text.contains("disabled"),
        "{text}"
    );
    let resp = reg
        .send(reg.head(&format!("/v2/enc/team-b/blobs/{digest}")))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "a HEAD is refused too"
    );
    let resp = reg
        .send(
            reg.post("/v2/enc/team-b/blobs/uploads/")
                .header("Content-Length", "0"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "a push is refused");
    let text = resp.text().await.unwrap();
    assert!(text.contains("disabled"), "{text}");
    let (status, body) = ecr(
        server,
        "GetDownloadUrlForLayer",
        json!({"repositoryName": "enc/team-b", "layerDigest": digest}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["__type"], "KmsException", "{body}");
    let (status, body) = ecr(
        server,
        "InitiateLayerUpload",
        json!({"repositoryName": "enc/team-b"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["__type"], "KmsException", "{body}");
    let (_, still, complete) = pull(&reg, "enc/team-a", &digest, None).await;
    assert!(
        complete && still == data,
        "the registry key's copy still reads"
    );
    let out = server.admin(&["kms", "enable-key", &key]);
    assert!(out.status.success());

    // A flipped stored byte: the pull fails before any byte of the bad
    // segment, and fsck names the blob.
    let (name, _) = stored
        .blobs()
        .await
        .into_iter()
        .find(|(name, _)| blobs.iter().any(|(first, _)| first == name))
        .expect("team A's copy");
    stored.flip(&name).await;
    let (_, sent, complete) = pull(&reg, "enc/team-a", &digest, None).await;
    assert!(!complete, "the pull fails");
    assert!(
        sent.len() < data.len() && sent == data[..sent.len()],
        "never wrong bytes"
    );
    assert!(
        sent.len() % SEGMENT == 0,
        "only whole good segments before the bad one"
    );
    let fsck = server.admin(&["fsck"]);
    let report = String::from_utf8_lossy(&fsck.stdout);
    assert!(!fsck.status.success(), "fsck fails: {report}");
    assert!(
        report.contains(&digest) && report.contains("segment"),
        "{report}"
    );
    let (_, from_b, complete) = pull(&reg, "enc/team-b", &digest, None).await;
    assert!(complete && from_b == data, "the other key's copy is intact");
}

#[tokio::test]
async fn blobs_are_encrypted_at_rest_on_the_filesystem() {
    let server = TestServer::start();
    let dir = server.data_dir().to_path_buf();
    encryption_at_rest(&server, Stored::Disk(&dir)).await;
    let logs = server.logs();
    assert!(logs.contains("segment"), "the tampered segment is logged");
}

#[tokio::test]
async fn blobs_are_encrypted_at_rest_on_s3() {
    let garage = Garage::start();
    let mut builder = TestServer::builder();
    for (key, value) in garage.env() {
        builder = builder.env(&key, &value);
    }
    // Presigned redirects on: encrypted blobs are still served by Berth.
    let server = builder.env("BERTH_STORAGE_REDIRECT", "true").start();
    encryption_at_rest(&server, Stored::Bucket(&garage)).await;
}

/// Garbage collection deletes a blob's copy under a key once no repository
/// under that key links it (the copy under the other key stays and pulls),
/// and every copy once nothing links the blob.
#[tokio::test]
async fn garbage_collection_deletes_the_copies_no_key_needs() {
    use common::oci::{image_manifest, to_bytes, Descriptor, OCI_LAYER, OCI_MANIFEST};
    let server = TestServer::start();
    let dir = server.data_dir().to_path_buf();
    let stored = Stored::Disk(&dir);
    let reg = Registry::new(&server);
    kms_repository(&server, "gc/kms", "enc-gc").await;
    let data = layer(3, 2 * SEGMENT + 5);
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let digest = reg.push_blob("gc/aes", &data).await;
    reg.push_blob("gc/aes", config).await;
    let manifest = to_bytes(&image_manifest(
        &Descriptor::of(common::oci::OCI_CONFIG, config),
        &[Descriptor::of(OCI_LAYER, &data)],
    ));
    reg.push_manifest("gc/aes", "v1", OCI_MANIFEST, &manifest)
        .await;
    let resp = reg
        .send(
            reg.post(&format!(
                "/v2/gc/kms/blobs/uploads/?mount={digest}&from=gc/aes"
            ))
            .header("Content-Length", "0"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(stored.blobs().await.len(), 3, "layer twice, config once");

    // The KMS repository drops the layer: its copy goes, the other stays.
    let resp = reg
        .send(reg.delete(&format!("/v2/gc/kms/blobs/{digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let gc = server.admin_at("+2d", &["gc"]);
    let out = String::from_utf8_lossy(&gc.stdout);
    assert!(
        gc.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    assert!(out.contains("1 copy(ies)"), "{out}");
    assert_eq!(stored.blobs().await.len(), 2, "the KMS key's copy is gone");
    let (_, back, complete) = pull(&reg, "gc/aes", &digest, None).await;
    assert!(
        complete && back == data,
        "the registry key's copy still pulls"
    );

    // Nothing links the blobs any more: every copy goes.
    let manifest_digest = sha256_digest(&manifest);
    let resp = reg
        .send(reg.delete(&format!("/v2/gc/aes/manifests/{manifest_digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let gc = server.admin_at("+4d", &["gc"]);
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stdout)
    );
    assert_eq!(stored.blobs().await.len(), 0, "no copy left");
}

/// An installation made before encryption at rest: blobs written by the old
/// path, in the clear under their digest, with links that name no key. The
/// test writes them as that path did (the store's upload committed under the
/// digest, then the `blobs` and `blob_links` rows), with the server stopped,
/// since this version has no way left to store a blob in the clear.
async fn write_plain_blobs(data_dir: &std::path::Path, repository: &str, blobs: &[Vec<u8>]) {
    use berth::storage::{BlobStore, FsBlobStore, UploadState};
    let store = FsBlobStore::open(data_dir).await.unwrap();
    let db =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", data_dir.join("berth.db").display()))
            .await
            .unwrap();
    let repository_id: i64 = sqlx::query_scalar("SELECT id FROM repositories WHERE name = ?")
        .bind(repository)
        .fetch_one(&db)
        .await
        .unwrap();
    for (i, data) in blobs.iter().enumerate() {
        let digest = berth_app::oci::Digest::parse(&sha256_digest(data)).unwrap();
        let id = format!("old-{i}");
        store.create_upload(&id).await.unwrap();
        let mut writer = store
            .append_upload(&id, &UploadState::default())
            .await
            .unwrap();
        writer
            .write(bytes::Bytes::from(data.clone()))
            .await
            .unwrap();
        writer.commit(&digest).await.unwrap();
        sqlx::query("INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, 0)")
            .bind(digest.as_str())
            .bind(data.len() as i64)
            .execute(&db)
            .await
            .unwrap();
        sqlx::query("INSERT INTO blob_links (repository_id, digest, touched_at) VALUES (?, ?, 0)")
            .bind(repository_id)
            .bind(digest.as_str())
            .execute(&db)
            .await
            .unwrap();
    }
    db.close().await;
}

/// The encryption job encrypts an old installation's plain blobs while a
/// client pulls them in a loop: every pull is byte-identical, and afterwards
/// no plaintext remains in any file and the job is listed as succeeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_encryption_job_encrypts_an_old_installation_while_it_is_pulled() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    reg.push_blob("old/app", b"a blob of this version").await;
    let data_dir = server.into_data_dir();
    let blobs: Vec<Vec<u8>> = (0..24).map(|i| layer(10 + i, 2 << 20)).collect();
    write_plain_blobs(data_dir.path(), "old/app", &blobs).await;
    let plain_paths: Vec<std::path::PathBuf> = blobs
        .iter()
        .map(|b| {
            let hex = sha256_digest(b)[7..].to_owned();
            data_dir
                .path()
                .join(format!("blobs/sha256/{}/{hex}", &hex[..2]))
        })
        .collect();
    assert!(plain_paths.iter().all(|p| p.exists()));
    assert!(
        files(data_dir.path()).iter().any(|(_, b)| holds_marker(b)),
        "the old installation holds plaintext"
    );

    let server = TestServer::builder().start_in(data_dir);
    let reg = Registry::new(&server);
    let mut pulls = 0;
    let mut while_plain = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let any_plain = plain_paths.iter().any(|p| p.exists());
        for (i, data) in blobs.iter().enumerate() {
            let (status, bytes, complete) = pull(&reg, "old/app", &sha256_digest(data), None).await;
            assert_eq!(status, StatusCode::OK, "pull {pulls}");
            assert!(
                complete && &bytes == data,
                "pull {pulls} of blob {i} is byte-identical"
            );
            pulls += 1;
            if any_plain {
                while_plain += 1;
            }
        }
        if !any_plain {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job did not finish"
        );
    }
    assert!(while_plain > 0, "pulls ran while the job encrypted");
    let jobs = server.admin(&["jobs", "--kind", "encrypt", "--json"]);
    let listed: Value = serde_json::from_slice(&jobs.stdout).unwrap();
    let job = &listed.as_array().unwrap()[0];
    assert_eq!(job["status"], "succeeded", "{listed}");
    assert!(
        job["summary"]
            .as_str()
            .unwrap()
            .contains("encrypted 24 link(s)"),
        "{listed}"
    );
    Stored::Disk(server.data_dir())
        .assert_no_marker("after the encryption job")
        .await;
    let fsck = server.admin(&["fsck"]);
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
}

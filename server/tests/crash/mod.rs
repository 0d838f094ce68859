//! The crash test's parts: pushers that record what the server acknowledged,
//! and the checks that it all survived (pulls that hash, `berth fsck`).

#![allow(
    dead_code,
    reason = "each test binary uses a different part of these helpers"
)]

use crate::common::berth_binary;
use crate::common::oci::{
    image_index, image_manifest, sha256_digest, to_bytes, Descriptor, Registry, XorShift,
    OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST,
};
use futures_util::StreamExt;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Requests at once when checking what the server acknowledged.
pub(crate) const PARALLEL_CHECKS: usize = 16;
/// Bytes per chunked `PATCH` at least: a session holds 0 bytes or at least this.
pub(crate) const MIN_CHUNK: u64 = 64 << 10;

/// The server went away in the middle of a request.
pub(crate) type Cut = reqwest::Error;

/// A manifest `PUT` the server acknowledged with `201`.
pub(crate) struct AckedManifest {
    pub(crate) repo: String,
    pub(crate) tag: Option<String>,
    pub(crate) digest: String,
    pub(crate) bytes: Vec<u8>,
}

/// An upload whose `POST` was acknowledged and that has not been committed.
#[derive(Clone)]
pub(crate) struct OpenUpload {
    pub(crate) repo: String,
    pub(crate) data: Arc<Vec<u8>>,
    /// Bytes the server acknowledged with `202` to a `PATCH`.
    pub(crate) acked: u64,
}

/// What the server acknowledged, shared by the pushers.
#[derive(Default)]
pub(crate) struct Ledger {
    /// Blob uploads answered `201`: (repository, digest).
    pub(crate) blobs: Vec<(String, String)>,
    pub(crate) manifests: Vec<AckedManifest>,
    /// Uploads in progress, by their relative `Location`.
    pub(crate) open: HashMap<String, OpenUpload>,
}

pub(crate) type Shared = Arc<Mutex<Ledger>>;

pub(crate) fn ledger(shared: &Shared) -> std::sync::MutexGuard<'_, Ledger> {
    shared.lock().expect("ledger lock")
}

/// Sends a request and reads the whole answer.
pub(crate) async fn call(
    request: RequestBuilder,
) -> Result<(StatusCode, HeaderMap, bytes::Bytes), Cut> {
    let response = request.send().await?;
    let (status, headers) = (response.status(), response.headers().clone());
    Ok((status, headers, response.bytes().await?))
}

/// Panics (failing the test) unless a live server answered `want`.
pub(crate) fn expect(got: StatusCode, want: StatusCode, what: &str, body: &[u8]) {
    assert_eq!(got, want, "{what}: {}", String::from_utf8_lossy(body));
}

/// The bytes an upload session holds, from the `Range` of a `GET`/`PATCH`
/// answer. `0-0` is an empty session: every chunk here is `MIN_CHUNK` or more.
pub(crate) fn held(headers: &HeaderMap) -> u64 {
    let range = crate::common::oci::require_header(headers, "Range", "upload status");
    let end: u64 = range
        .strip_prefix("0-")
        .and_then(|e| e.parse().ok())
        .expect("Range is 0-<end>");
    if end == 0 {
        0
    } else {
        end + 1
    }
}

/// One client pushing images until the server goes away.
pub(crate) struct Pusher {
    pub(crate) reg: Arc<Registry>,
    pub(crate) ledger: Shared,
    pub(crate) rng: XorShift,
    pub(crate) name: String,
    /// Layers every pusher uses, some of them MiB-sized.
    pub(crate) shared_layers: Arc<Vec<Arc<Vec<u8>>>>,
    pub(crate) pushed: u64,
}

impl Pusher {
    fn below(&mut self, n: u64) -> u64 {
        let mut word = [0u8; 8];
        self.rng.fill(&mut word);
        u64::from_le_bytes(word) % n
    }

    /// Resumes an interrupted upload first, if given one, then pushes until cut off.
    pub(crate) async fn run(mut self, resume: Option<(String, OpenUpload)>) {
        if let Some((location, upload)) = resume {
            ledger(&self.ledger)
                .open
                .insert(location.clone(), upload.clone());
            let (status, headers, body) = match call(self.reg.get(&location)).await {
                Ok(answer) => answer,
                Err(_) => return,
            };
            expect(
                status,
                StatusCode::NO_CONTENT,
                "status of an interrupted upload",
                &body,
            );
            let offset = held(&headers);
            let upload = OpenUpload {
                acked: offset,
                ..upload
            };
            // The rest goes with the `PUT`, as a resuming client sends it; a
            // kill between the commit and its record left the bytes in their
            // blob, and this `PUT` records it.
            if self.finish_upload(location, upload, offset).await.is_err() {
                return;
            }
        }
        while self.push_one().await.is_ok() {}
    }

    async fn push_one(&mut self) -> Result<(), Cut> {
        let repo = format!("crash/app{}", self.below(4));
        self.pushed += 1;
        let tag = format!("{}-{}", self.name, self.pushed);
        if self.below(10) < 3 {
            let mut children = Vec::new();
            for _ in 0..2 {
                let manifest = self.image(&repo, None).await?;
                children.push(Descriptor::of(OCI_MANIFEST, &manifest));
            }
            let index = to_bytes(&image_index(&children));
            self.manifest(&repo, Some(tag), OCI_INDEX, index).await
        } else {
            self.image(&repo, Some(tag)).await.map(drop)
        }
    }

    /// Pushes a config, 1–3 layers and the manifest (by tag, or by digest).
    async fn image(&mut self, repo: &str, tag: Option<String>) -> Result<Vec<u8>, Cut> {
        let config = to_bytes(&serde_json::json!({
            "architecture": "amd64", "os": "linux", "nonce": self.below(u64::MAX),
        }));
        let mut layers = Vec::new();
        for _ in 0..1 + self.below(3) {
            let data = if self.below(2) == 0 {
                let which = self.below(self.shared_layers.len() as u64) as usize;
                self.shared_layers[which].clone()
            } else {
                let size = if self.below(25) == 0 {
                    (1 << 20) + self.below(1 << 20)
                } else {
                    1 + self.below(64 << 10)
                };
                Arc::new(XorShift::bytes(self.below(u64::MAX) | 1, size as usize))
            };
            layers.push(Descriptor::of(OCI_LAYER, &data));
            self.blob(repo, data).await?;
        }
        let config_descriptor = Descriptor::of(OCI_CONFIG, &config);
        self.blob(repo, Arc::new(config)).await?;
        let manifest = to_bytes(&image_manifest(&config_descriptor, &layers));
        self.manifest(repo, tag, OCI_MANIFEST, manifest.clone())
            .await?;
        Ok(manifest)
    }

    async fn manifest(
        &mut self,
        repo: &str,
        tag: Option<String>,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), Cut> {
        let digest = sha256_digest(&bytes);
        let reference = tag.clone().unwrap_or_else(|| digest.clone());
        let put = self
            .reg
            .put(&format!("/v2/{repo}/manifests/{reference}"))
            .header("Content-Type", media_type)
            .body(bytes.clone());
        let (status, _, body) = call(put).await?;
        expect(status, StatusCode::CREATED, "manifest PUT", &body);
        ledger(&self.ledger).manifests.push(AckedManifest {
            repo: repo.to_owned(),
            tag,
            digest,
            bytes,
        });
        Ok(())
    }

    /// Uploads a blob as a client does: `HEAD` first, then one of the three ways.
    async fn blob(&mut self, repo: &str, data: Arc<Vec<u8>>) -> Result<(), Cut> {
        let digest = sha256_digest(&data);
        let (status, _, _) = call(self.reg.head(&format!("/v2/{repo}/blobs/{digest}"))).await?;
        if status == StatusCode::OK {
            return Ok(());
        }
        assert_eq!(status, StatusCode::NOT_FOUND, "HEAD of a blob");
        let way = self.below(5);
        if way == 0 {
            let post = self
                .reg
                .post(&format!("/v2/{repo}/blobs/uploads/?digest={digest}"))
                .header("Content-Type", "application/octet-stream")
                .body(data.to_vec());
            let (status, _, body) = call(post).await?;
            expect(status, StatusCode::CREATED, "single-POST upload", &body);
            ledger(&self.ledger).blobs.push((repo.to_owned(), digest));
            return Ok(());
        }
        let post = self.reg.post(&format!("/v2/{repo}/blobs/uploads/"));
        let (status, headers, body) = call(post).await?;
        expect(status, StatusCode::ACCEPTED, "upload POST", &body);
        let location = crate::common::oci::require_header(&headers, "Location", "upload POST");
        let upload = OpenUpload {
            repo: repo.to_owned(),
            data,
            acked: 0,
        };
        ledger(&self.ledger)
            .open
            .insert(location.clone(), upload.clone());
        let until = if way <= 2 || (upload.data.len() as u64) < MIN_CHUNK {
            0
        } else {
            upload.data.len() as u64
        };
        self.finish_upload(location, upload, until).await
    }

    /// Sends `upload`'s bytes from `offset` in chunked `PATCH`es up to `until`
    /// (the rest goes with the `PUT`), then the closing `PUT`.
    async fn finish_upload(
        &mut self,
        location: String,
        upload: OpenUpload,
        until: u64,
    ) -> Result<(), Cut> {
        let mut offset = upload.acked;
        let mut location = location;
        while offset < until {
            let end = (offset + MIN_CHUNK + self.below(MIN_CHUNK * 8)).min(until);
            let chunk = upload.data[offset as usize..end as usize].to_vec();
            let patch = self
                .reg
                .patch(&location)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Range", format!("{offset}-{}", end - 1))
                .body(chunk);
            let (status, headers, body) = call(patch).await?;
            expect(status, StatusCode::ACCEPTED, "upload PATCH", &body);
            assert_eq!(held(&headers), end, "Range after a PATCH");
            let next = crate::common::oci::require_header(&headers, "Location", "PATCH");
            let mut ledger = ledger(&self.ledger);
            let mut open = ledger.open.remove(&location).expect("the upload is open");
            open.acked = end;
            ledger.open.insert(next.clone(), open);
            (location, offset) = (next, end);
        }
        let digest = sha256_digest(&upload.data);
        let put = self
            .reg
            .put(&Registry::with_digest(&location, &digest))
            .header("Content-Type", "application/octet-stream")
            .body(upload.data[offset as usize..].to_vec());
        let (status, _, body) = call(put).await?;
        expect(status, StatusCode::CREATED, "upload PUT", &body);
        let mut ledger = ledger(&self.ledger);
        ledger.open.remove(&location);
        ledger.blobs.push((upload.repo, digest));
        Ok(())
    }
}

/// Checks acknowledged manifests (by digest and by tag) and blobs: the same
/// bytes, and blobs (theirs too) that hash to their digest.
pub(crate) async fn verify_acked(reg: &Registry, ledger: &Ledger) {
    let manifests = ledger.manifests.iter().flat_map(|m| {
        let references = std::iter::once(&m.digest).chain(m.tag.as_ref());
        references.map(move |reference| async move {
            let get = reg
                .get(&format!("/v2/{}/manifests/{reference}", m.repo))
                .header("Accept", format!("{OCI_MANIFEST}, {OCI_INDEX}"));
            let (status, headers, body) = call(get).await.expect("server is up");
            expect(
                status,
                StatusCode::OK,
                "GET of an acknowledged manifest",
                &body,
            );
            let pushed = body[..] == m.bytes[..];
            assert!(pushed, "{}:{reference} has the pushed bytes", m.repo);
            let header = crate::common::oci::header(&headers, "Docker-Content-Digest");
            assert_eq!(header.as_deref(), Some(m.digest.as_str()));
        })
    });
    futures_util::stream::iter(manifests)
        .buffer_unordered(PARALLEL_CHECKS)
        .collect::<()>()
        .await;
    let mut blobs: HashSet<(String, String)> = ledger.blobs.iter().cloned().collect();
    for m in &ledger.manifests {
        let value: serde_json::Value = serde_json::from_slice(&m.bytes).expect("JSON");
        let layers = value["layers"].as_array().into_iter().flatten();
        for blob in layers.chain(std::iter::once(&value["config"])) {
            if let Some(digest) = blob["digest"].as_str() {
                blobs.insert((m.repo.clone(), digest.to_owned()));
            }
        }
    }
    let blobs = blobs.into_iter().map(|(repo, digest)| async move {
        let get = reg.get(&format!("/v2/{repo}/blobs/{digest}"));
        let (status, _, body) = call(get).await.expect("server is up");
        expect(status, StatusCode::OK, "GET of an acknowledged blob", &body);
        assert_eq!(sha256_digest(&body), digest, "{repo}@{digest} is whole");
    });
    futures_util::stream::iter(blobs)
        .buffer_unordered(PARALLEL_CHECKS)
        .collect::<()>()
        .await;
}

/// `berth fsck` on a stopped server's data directory: nothing wrong.
pub(crate) fn assert_fsck_clean(data_dir: &Path, when: &str) {
    let out = std::process::Command::new(berth_binary())
        .args(["fsck", "--data-dir"])
        .arg(data_dir)
        .env_remove("BERTH_CONFIG")
        .output()
        .expect("run berth fsck");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(" 0 problem(s)"),
        "fsck {when}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Files under the store's `uploads/` folder.
pub(crate) fn upload_files(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir.join("uploads"))
        .expect("uploads folder")
        .count()
}

//! The OCI distribution calls the workloads make, with Basic auth, failing
//! loudly on any unexpected status (a benchmark of errors measures nothing).

use crate::servers::{Server, PASSWORD, USER};
use base64::Engine as _;
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

/// Media types of the image the workloads push.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// A client for one registry.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

/// Blob bytes with their digest, computed before any clock starts: the
/// benchmark times the server, not the client's hashing.
#[derive(Clone)]
pub struct Blob {
    pub data: Bytes,
    pub digest: String,
}

impl Blob {
    pub fn new(data: Bytes) -> Blob {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&data)));
        Blob { data, digest }
    }

    /// `n` bytes of incompressible data from `seed`.
    pub fn random(seed: u64, n: usize) -> Blob {
        Blob::new(random_bytes(seed, n))
    }
}

/// `n` bytes of incompressible data from `seed` (xorshift64).
fn random_bytes(seed: u64, n: usize) -> Bytes {
    let mut data = vec![0u8; n.div_ceil(8) * 8];
    let mut x = seed | 1;
    for word in data.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        word.copy_from_slice(&x.to_le_bytes());
    }
    data.truncate(n);
    Bytes::from(data)
}

impl Client {
    /// A client with a connection pool large enough for the concurrent workloads.
    pub fn new(server: &Server) -> Client {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        Client {
            http,
            base: server.url.clone(),
        }
    }

    /// A request to `path` (or an absolute URL) with the credentials.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.http
            .request(method, url)
            .basic_auth(USER, Some(PASSWORD))
    }

    async fn expect(
        &self,
        request: reqwest::RequestBuilder,
        want: StatusCode,
        what: &str,
    ) -> reqwest::Response {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        if response.status() != want {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            panic!("{what}: expected {want}, got {status}: {body}");
        }
        response
    }

    /// Starts an upload session; returns its location.
    pub async fn start_upload(&self, repo: &str) -> String {
        let response = self
            .expect(
                self.request(Method::POST, &format!("/v2/{repo}/blobs/uploads/")),
                StatusCode::ACCEPTED,
                "POST upload",
            )
            .await;
        location(&response)
    }

    /// A monolithic push: POST, then one PUT with the whole body.
    pub async fn push_monolithic(&self, repo: &str, blob: &Blob) {
        let location = self.start_upload(repo).await;
        self.expect(
            self.request(Method::PUT, &with_digest(&location, &blob.digest))
                .header("Content-Type", "application/octet-stream")
                .body(blob.data.clone()),
            StatusCode::CREATED,
            "PUT blob",
        )
        .await;
    }

    /// A chunked push: POST, one PATCH per `chunk` bytes, then an empty PUT.
    pub async fn push_chunked(&self, repo: &str, blob: &Blob, chunk: usize) {
        let data = &blob.data;
        let mut location = self.start_upload(repo).await;
        let mut offset = 0;
        while offset < data.len() {
            let end = (offset + chunk).min(data.len());
            let response = self
                .expect(
                    self.request(Method::PATCH, &location)
                        .header("Content-Type", "application/octet-stream")
                        .header("Content-Range", format!("{offset}-{}", end - 1))
                        .body(data.slice(offset..end)),
                    StatusCode::ACCEPTED,
                    "PATCH chunk",
                )
                .await;
            location = self::location(&response);
            offset = end;
        }
        self.expect(
            self.request(Method::PUT, &with_digest(&location, &blob.digest)),
            StatusCode::CREATED,
            "closing PUT",
        )
        .await;
    }

    /// Mounts `digest` from `from` into `repo`.
    pub async fn mount(&self, repo: &str, digest: &str, from: &str) {
        self.expect(
            self.request(
                Method::POST,
                &format!("/v2/{repo}/blobs/uploads/?mount={digest}&from={from}"),
            ),
            StatusCode::CREATED,
            "mount",
        )
        .await;
    }

    /// Pushes a small image (config and one layer) to `repo` and returns the
    /// manifest bytes and the layer's digest; `tag` names it.
    pub async fn push_image(&self, repo: &str, tag: &str, seed: u64) -> (Bytes, String, String) {
        let config = Blob::new(Bytes::from(format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"seed":{seed}}}"#
        )));
        let layer = Blob::random(seed, 4096);
        self.push_monolithic(repo, &config).await;
        self.push_monolithic(repo, &layer).await;
        let manifest = image_manifest(
            &config.digest,
            config.data.len(),
            &layer.digest,
            layer.data.len(),
        );
        self.put_manifest(repo, tag, manifest.clone()).await;
        (manifest, config.digest, layer.digest)
    }

    /// Waits for the first answer to a GET of `path` from a server that is
    /// starting (connections refused until it listens); it must be 200.
    pub async fn first_answer(&self, path: &str) {
        loop {
            match self
                .request(Method::GET, path)
                .header("Accept", OCI_MANIFEST)
                .send()
                .await
            {
                Ok(response) => {
                    assert_eq!(response.status(), StatusCode::OK, "GET {path} once started");
                    return;
                }
                Err(e) if e.is_connect() => {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await
                }
                Err(e) => panic!("GET {path}: {e}"),
            }
        }
    }

    /// PUTs a manifest under `reference`.
    pub async fn put_manifest(&self, repo: &str, reference: &str, manifest: Bytes) {
        self.expect(
            self.request(Method::PUT, &format!("/v2/{repo}/manifests/{reference}"))
                .header("Content-Type", OCI_MANIFEST)
                .body(manifest),
            StatusCode::CREATED,
            "PUT manifest",
        )
        .await;
    }

    /// GETs `path`, expecting 200 or 206, and returns the body's length.
    pub async fn get_len(&self, request: reqwest::RequestBuilder) -> u64 {
        let mut response = request.send().await.expect("GET");
        assert!(
            response.status() == StatusCode::OK || response.status() == StatusCode::PARTIAL_CONTENT,
            "GET answered {}",
            response.status()
        );
        let mut total = 0;
        while let Some(chunk) = response.chunk().await.expect("body") {
            total += chunk.len() as u64;
        }
        total
    }

    /// GETs `path` over a plain socket with 4 MiB reads and returns the body's
    /// length. At several GB/s the HTTP client's own buffering and copying
    /// would be what a whole-blob pull measures, not the server.
    pub async fn get_len_raw(&self, path: &str) -> u64 {
        let host = self.base.trim_start_matches("http://").to_string();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n\
             Connection: close\r\n\r\n"
        );
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut socket = std::net::TcpStream::connect(&host).expect("connect");
            socket
                .write_all(request.as_bytes())
                .expect("send the request");
            let mut buffer = vec![0u8; 4 << 20];
            let mut head = Vec::new();
            let body_start = loop {
                let n = socket.read(&mut buffer).expect("read the head");
                assert!(
                    n > 0,
                    "the connection closed before the response head ended"
                );
                head.extend_from_slice(&buffer[..n]);
                if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                    break end + 4;
                }
            };
            let text = String::from_utf8_lossy(&head[..body_start]).to_ascii_lowercase();
            assert!(text.starts_with("http/1.1 200"), "GET {path}: {text}");
            let length: u64 = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("a Content-Length");
            let mut total = (head.len() - body_start) as u64;
            while total < length {
                let n = socket.read(&mut buffer).expect("read the body");
                assert!(n > 0, "the body ended after {total} of {length} bytes");
                total += n as u64;
            }
            total
        })
        .await
        .expect("raw GET")
    }

    /// Sends a request whose status must be `want`, and drops the body.
    pub async fn call(&self, request: reqwest::RequestBuilder, want: StatusCode) {
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), want, "unexpected status");
        let _ = response.bytes().await;
    }

    /// Every page of a paginated listing (`n` per page, following `Link`);
    /// returns the time each page took.
    pub async fn pages(&self, first: &str) -> Vec<std::time::Duration> {
        let mut times = Vec::new();
        let mut next = Some(first.to_string());
        while let Some(path) = next {
            let started = std::time::Instant::now();
            let response = self
                .expect(
                    self.request(Method::GET, &path),
                    StatusCode::OK,
                    "listing page",
                )
                .await;
            next = response
                .headers()
                .get("Link")
                .and_then(|l| l.to_str().ok())
                .and_then(|l| Some(l.split_once('<')?.1.split_once('>')?.0.to_string()));
            let _ = response.bytes().await.expect("page body");
            times.push(started.elapsed());
        }
        times
    }
}

/// An OCI image manifest for one config and one layer.
pub fn image_manifest(config: &str, config_size: usize, layer: &str, layer_size: usize) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config, "size": config_size},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer, "size": layer_size}],
        })
        .to_string(),
    )
}

/// `manifest` made distinct by an annotation carrying `n`.
pub fn numbered(manifest: &[u8], n: usize) -> Bytes {
    let mut json: serde_json::Value = serde_json::from_slice(manifest).expect("a JSON manifest");
    json["annotations"] = serde_json::json!({ "org.example.bench.n": n.to_string() });
    Bytes::from(json.to_string())
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("Location")
        .and_then(|l| l.to_str().ok())
        .expect("a Location header")
        .to_string()
}

fn with_digest(location: &str, digest: &str) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}digest={digest}")
}

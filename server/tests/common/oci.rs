//! A small OCI Distribution client for the HTTP-level registry tests: an
//! authenticated `reqwest` client bound to a `TestServer`, helpers to push
//! blobs, manifests and images, and assertions for OCI error responses.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{TestServer, ADMIN_PASSWORD};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// The OCI empty descriptor's media type, content and digest.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EMPTY_CONTENT: &[u8] = b"{}";
pub const EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
/// The header every `/v2` response carries.
pub const API_VERSION_HEADER: &str = "Docker-Distribution-API-Version";

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut data = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut data);
    data
}

/// A xorshift64 generator: fast enough in debug builds to make hundreds of
/// MiB of incompressible test data, and repeatable from its seed.
pub struct XorShift(pub u64);

impl XorShift {
    /// Fills `buf` (a multiple of 8 bytes long) with the next bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for word in buf.chunks_exact_mut(8) {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            word.copy_from_slice(&x.to_le_bytes());
        }
    }

    /// `n` bytes from a generator seeded with `seed` (the last `n % 8` are zero).
    pub fn bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut data = vec![0u8; n];
        Self(seed).fill(&mut data);
        data
    }
}

/// A well-formed digest of content that no test uploads.
pub fn absent_digest() -> String {
    sha256_digest(&random_bytes(32))
}

/// A random upload id in UUID form that no server handed out.
pub fn random_upload_id() -> String {
    let h = hex::encode(random_bytes(16));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A header's value as a string, if present (and valid UTF-8).
pub fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A header's value, panicking with `context` if it is missing.
pub fn require_header(headers: &HeaderMap, name: &str, context: &str) -> String {
    header(headers, name)
        .unwrap_or_else(|| panic!("{context}: missing `{name}` header; headers: {headers:?}"))
}

/// A content descriptor.
#[derive(Clone, Debug)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: usize,
}

impl Descriptor {
    pub fn of(media_type: &str, data: &[u8]) -> Self {
        Descriptor {
            media_type: media_type.to_string(),
            digest: sha256_digest(data),
            size: data.len(),
        }
    }

    pub fn empty() -> Self {
        Descriptor::of(EMPTY_MEDIA_TYPE, EMPTY_CONTENT)
    }

    pub fn json(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }
}

/// Serialises a JSON value to the bytes to push.
pub fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("serialise JSON")
}

/// An OCI image manifest body with the given config and layers.
pub fn image_manifest(config: &Descriptor, layers: &[Descriptor]) -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.json(),
        "layers": layers.iter().map(Descriptor::json).collect::<Vec<_>>(),
    })
}

/// An OCI image index body listing the given manifests.
pub fn image_index(manifests: &[Descriptor]) -> Value {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests
            .iter()
            .map(|m| {
                let mut d = m.json();
                d["platform"] = json!({"architecture": "amd64", "os": "linux"});
                d
            })
            .collect::<Vec<_>>(),
    })
}

/// An image that was pushed: its manifest bytes, digest and blobs.
#[derive(Clone, Debug)]
pub struct PushedImage {
    pub repo: String,
    pub manifest: Vec<u8>,
    pub digest: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

impl PushedImage {
    /// The descriptor of the manifest itself.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::of(OCI_MANIFEST, &self.manifest)
    }
}

/// The parsed first error of an OCI error body.
#[derive(Debug)]
pub struct OciError {
    pub code: String,
    pub message: String,
    pub body: Value,
}

/// An authenticated client for one test server.
pub struct Registry {
    pub http: reqwest::Client,
    pub base: String,
}

impl Registry {
    /// A client that sends the admin's credentials.
    pub fn new(server: &TestServer) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("build reqwest client");
        Registry {
            http,
            base: server.url.clone(),
        }
    }

    /// PATCHes `data` as the chunk at `offset` of an upload, checks the 202 and
    /// its `Range`, and returns the next location.
    pub async fn patch_chunk(&self, location: &str, offset: u64, data: Vec<u8>) -> String {
        let end = offset + data.len() as u64 - 1;
        let resp = self
            .send(
                self.patch(location)
                    .header("Content-Type", "application/octet-stream")
                    .header("Content-Range", format!("{offset}-{end}"))
                    .body(data),
            )
            .await;
        let status = resp.status();
        let next = header(resp.headers(), "Location");
        let range = header(resp.headers(), "Range");
        assert_eq!(
            status,
            reqwest::StatusCode::ACCEPTED,
            "PATCH {offset}-{end}: {}",
            resp.text().await.unwrap_or_default()
        );
        assert_eq!(
            range,
            Some(format!("0-{end}")),
            "Range after PATCH {offset}-{end}"
        );
        next.expect("PATCH returns a Location")
    }

    /// The absolute URL of `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request with the admin's credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path)
            .basic_auth("admin", Some(ADMIN_PASSWORD))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn head(&self, path: &str) -> RequestBuilder {
        self.request(Method::HEAD, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> RequestBuilder {
        self.request(Method::PUT, path)
    }

    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.request(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.request(Method::DELETE, path)
    }

    /// Sends a request, panicking on transport errors.
    pub async fn send(&self, request: RequestBuilder) -> Response {
        request.send().await.expect("HTTP request reaches berth")
    }

    /// `POST /v2/<repo>/blobs/uploads/` expecting 202; returns the session's
    /// relative `Location`.
    pub async fn start_upload(&self, repo: &str) -> String {
        let resp = self
            .send(
                self.post(&format!("/v2/{repo}/blobs/uploads/"))
                    .header("Content-Length", "0"),
            )
            .await;
        let status = resp.status();
        let location = header(resp.headers(), "Location");
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "starting an upload in {repo} should return 202; body: {}",
            resp.text().await.unwrap_or_default()
        );
        location.expect("upload start returns a Location")
    }

    /// Appends `location`'s query with `digest=<digest>`.
    pub fn with_digest(location: &str, digest: &str) -> String {
        let sep = if location.contains('?') { '&' } else { '?' };
        format!("{location}{sep}digest={digest}")
    }

    /// Uploads `data` to `repo` (POST, then PUT with the whole body) and
    /// returns the PUT's answer, whatever it is.
    pub async fn try_push_blob(&self, repo: &str, data: &[u8]) -> Response {
        let location = self.start_upload(repo).await;
        self.send(
            self.put(&Self::with_digest(&location, &sha256_digest(data)))
                .header("Content-Type", "application/octet-stream")
                .body(data.to_vec()),
        )
        .await
    }

    /// Uploads `data` to `repo` (POST, then PUT with the whole body) and
    /// returns its digest; asserts 201.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256_digest(data);
        let resp = self.try_push_blob(repo, data).await;
        let status = resp.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "pushing a {}-byte blob to {repo} should return 201; body: {}",
            data.len(),
            resp.text().await.unwrap_or_default()
        );
        digest
    }

    /// `PUT /v2/<repo>/manifests/<reference>` without checking the result.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Response {
        self.send(
            self.put(&format!("/v2/{repo}/manifests/{reference}"))
                .header("Content-Type", media_type)
                .body(body.to_vec()),
        )
        .await
    }

    /// Pushes a manifest and asserts 201; returns its digest.
    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        let resp = self.put_manifest(repo, reference, media_type, body).await;
        let status = resp.status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "pushing a {media_type} manifest to {repo}:{reference} should return 201; body: {}",
            resp.text().await.unwrap_or_default()
        );
        sha256_digest(body)
    }

    /// Pushes a config blob and one random layer, then an OCI image manifest
    /// for them, tagged `tag` or (with `None`) by digest only.
    pub async fn push_image(&self, repo: &str, tag: Option<&str>) -> PushedImage {
        let config_data = to_bytes(&json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": []},
            "nonce": hex::encode(random_bytes(8)),
        }));
        let layer_data = random_bytes(1000);
        self.push_blob(repo, &config_data).await;
        self.push_blob(repo, &layer_data).await;
        let config = Descriptor::of(OCI_CONFIG, &config_data);
        let layers = vec![Descriptor::of(OCI_LAYER, &layer_data)];
        let manifest = to_bytes(&image_manifest(&config, &layers));
        let digest = sha256_digest(&manifest);
        let reference = tag.map_or_else(|| digest.clone(), str::to_string);
        self.push_manifest(repo, &reference, OCI_MANIFEST, &manifest)
            .await;
        PushedImage {
            repo: repo.to_string(),
            manifest,
            digest,
            config,
            layers,
        }
    }

    /// Pushes an artifact manifest (empty config, one small layer) whose
    /// `subject` is `subject`, with the given `artifactType` and annotations.
    /// Returns the manifest bytes and digest.
    pub async fn push_referrer(
        &self,
        repo: &str,
        subject: &Descriptor,
        artifact_type: Option<&str>,
        annotations: Option<Value>,
    ) -> (Vec<u8>, String) {
        self.push_blob(repo, EMPTY_CONTENT).await;
        let layer_data = random_bytes(64);
        self.push_blob(repo, &layer_data).await;
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": Descriptor::empty().json(),
            "layers": [Descriptor::of("application/vnd.example.data", &layer_data).json()],
            "subject": subject.json(),
        });
        if let Some(t) = artifact_type {
            manifest["artifactType"] = json!(t);
        }
        if let Some(a) = annotations {
            manifest["annotations"] = a;
        }
        let body = to_bytes(&manifest);
        let digest = sha256_digest(&body);
        self.push_manifest(repo, &digest, OCI_MANIFEST, &body).await;
        (body, digest)
    }

    /// `GET` of a path, returning the parsed JSON body after asserting 200.
    pub async fn get_json(&self, path: &str) -> (HeaderMap, Value) {
        let resp = self.send(self.get(path)).await;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("read body");
        assert_eq!(
            status,
            StatusCode::OK,
            "GET {path} should be 200; body: {text}"
        );
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("GET {path}: body is not JSON ({e}): {text}"));
        (headers, value)
    }

    /// The tags of `repo` as listed by `GET /v2/<repo>/tags/list`.
    pub async fn tags(&self, repo: &str) -> Vec<String> {
        let (_, body) = self.get_json(&format!("/v2/{repo}/tags/list")).await;
        string_list(&body["tags"], "tags")
    }
}

/// A JSON array of strings as a `Vec<String>`.
pub fn string_list(value: &Value, what: &str) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("`{what}` should be a JSON array, got {value}"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("`{what}` entries should be strings, got {v}"))
                .to_string()
        })
        .collect()
}

/// Asserts that `resp` is an OCI error response with `status` and first
/// error code `code` (JSON body, `Docker-Distribution-API-Version`), and
/// returns the parsed error. `context` names the request in messages.
pub async fn expect_error(
    resp: Response,
    status: StatusCode,
    code: &str,
    context: &str,
) -> OciError {
    let got_status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("read error body");
    assert_eq!(
        got_status, status,
        "{context}: expected HTTP {status} ({code}); body: {text}"
    );
    let error = parse_error(&headers, &text, context);
    assert_eq!(
        error.code, code,
        "{context}: expected error code {code}; body: {text}"
    );
    error
}

/// Checks that a response is a well-formed OCI error (JSON content type,
/// API version header, `errors` array with code and message) and returns
/// its first error.
pub fn parse_error(headers: &HeaderMap, text: &str, context: &str) -> OciError {
    assert_eq!(
        header(headers, API_VERSION_HEADER).as_deref(),
        Some("registry/2.0"),
        "{context}: error responses carry `{API_VERSION_HEADER}: registry/2.0`"
    );
    let content_type = header(headers, "Content-Type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{context}: error Content-Type should be application/json, got {content_type:?}"
    );
    let body: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{context}: error body is not JSON ({e}): {text}"));
    let first = body["errors"]
        .as_array()
        .and_then(|errors| errors.first())
        .unwrap_or_else(|| {
            panic!("{context}: body should have a non-empty `errors` array: {text}")
        });
    let code = first["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{context}: error should have a string `code`: {text}"))
        .to_string();
    let message = first["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{context}: error should have a string `message`: {text}"))
        .to_string();
    assert!(
        first.get("detail").is_some(),
        "{context}: error should have a `detail` member (may be null): {text}"
    );
    OciError {
        code,
        message,
        body,
    }
}

/// Starts an upload and returns `(location, uuid)`.
pub async fn start_session(reg: &Registry, repo: &str) -> (String, String) {
    let resp = reg
        .send(reg.post(&format!("/v2/{repo}/blobs/uploads/")))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "upload start is 202");
    let location = require_header(resp.headers(), "Location", "upload start");
    let uuid = require_header(resp.headers(), "Docker-Upload-UUID", "upload start");
    (location, uuid)
}

/// Asserts the blob `digest` in `repo` is (or is not) there, by HEAD.
pub async fn assert_blob_exists(reg: &Registry, repo: &str, digest: &str, exists: bool) {
    let resp = reg
        .send(reg.head(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    let expected = if exists {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    assert_eq!(
        resp.status(),
        expected,
        "HEAD /v2/{repo}/blobs/{digest} (blob should {}exist)",
        if exists { "" } else { "not " }
    );
}

/// GETs a blob and asserts its content.
pub async fn assert_blob_content(reg: &Registry, repo: &str, digest: &str, data: &[u8]) {
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "GET /v2/{repo}/blobs/{digest} is 200"
    );
    let body = resp.bytes().await.expect("blob body");
    assert_eq!(
        body.len(),
        data.len(),
        "blob {digest} has the pushed length"
    );
    assert!(body[..] == data[..], "blob {digest} has the pushed content");
}

/// Uploads a config and a layer to `repo` and returns their descriptors.
pub async fn push_blobs(reg: &Registry, repo: &str) -> (Descriptor, Descriptor) {
    let config = to_bytes(
        &json!({"architecture": "arm64", "os": "linux", "n": hex::encode(random_bytes(4))}),
    );
    let layer = random_bytes(512);
    reg.push_blob(repo, &config).await;
    reg.push_blob(repo, &layer).await;
    (
        Descriptor::of(OCI_CONFIG, &config),
        Descriptor::of(OCI_LAYER, &layer),
    )
}

/// GETs a manifest and returns `(content type, digest header, body)`.
pub async fn get_manifest(
    reg: &Registry,
    repo: &str,
    reference: &str,
) -> (String, String, Vec<u8>) {
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/manifests/{reference}")))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "GET /v2/{repo}/manifests/{reference} is 200"
    );
    let content_type = header(resp.headers(), "Content-Type").unwrap_or_default();
    let digest = header(resp.headers(), "Docker-Content-Digest").unwrap_or_default();
    let body = resp.bytes().await.expect("manifest body").to_vec();
    (content_type, digest, body)
}

/// Asserts a manifest reference is 404 MANIFEST_UNKNOWN.
pub async fn assert_manifest_unknown(reg: &Registry, repo: &str, reference: &str, context: &str) {
    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/manifests/{reference}")))
        .await;
    expect_error(resp, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", context).await;
}

/// Asserts a blob was created: 201, `Location` is the blob's URL in `repo`,
/// and `Docker-Content-Digest` is its digest.
pub fn expect_blob_created(resp: &Response, repo: &str, digest: &str, context: &str) {
    assert_eq!(resp.status(), StatusCode::CREATED, "{context}: 201");
    assert_eq!(
        header(resp.headers(), "Location"),
        Some(format!("/v2/{repo}/blobs/{digest}")),
        "{context}: Location is the blob URL"
    );
    assert_eq!(
        header(resp.headers(), "Docker-Content-Digest"),
        Some(digest.to_string()),
        "{context}: Docker-Content-Digest is the blob digest"
    );
}

/// An artifact manifest (empty config and layer, `artifactType` a signature)
/// whose `subject` is `subject`.
pub fn signature_manifest(subject: &Descriptor) -> Vec<u8> {
    to_bytes(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.sig",
        "config": Descriptor::empty().json(),
        "layers": [Descriptor::empty().json()],
        "subject": subject.json(),
    }))
}

impl Registry {
    /// Pushes a Docker schema 2 image (config and one layer) tagged `tag`;
    /// returns the manifest bytes and digest.
    pub async fn push_docker_image(&self, repo: &str, tag: &str) -> (Vec<u8>, String) {
        let config = to_bytes(&json!({"architecture": "amd64", "os": "linux"}));
        let layer = random_bytes(300);
        self.push_blob(repo, &config).await;
        self.push_blob(repo, &layer).await;
        let manifest = to_bytes(&json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": Descriptor::of(DOCKER_CONFIG, &config).json(),
            "layers": [Descriptor::of(DOCKER_LAYER, &layer).json()],
        }));
        let digest = self
            .push_manifest(repo, tag, DOCKER_MANIFEST, &manifest)
            .await;
        (manifest, digest)
    }
}

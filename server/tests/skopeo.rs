//! skopeo against a real `berth serve`: a multi-arch OCI image index copied in
//! and out byte for byte, inspected, listed and deleted.
//!
//! The image is an OCI image layout the test writes itself (no network): an
//! index of two image manifests, linux/amd64 and linux/arm64, that share a base
//! layer and each add one of their own. Layers are small uncompressed tars.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{TestServer, ADMIN_PASSWORD};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// The repository every test pushes to (each test has its own server).
const REPO: &str = "multi/arch";

/// One platform's image in the layout.
struct PlatformImage {
    architecture: &'static str,
    manifest: String,
    config: String,
    layers: Vec<String>,
}

/// A multi-arch image written as an OCI image layout, tagged `v1`.
struct MultiArchLayout {
    dir: tempfile::TempDir,
    index: String,
    images: Vec<PlatformImage>,
}

impl MultiArchLayout {
    /// Writes the layout into a new temporary directory.
    fn write() -> Self {
        let dir = tempfile::tempdir().expect("temp OCI layout dir");
        std::fs::create_dir_all(dir.path().join("blobs/sha256")).expect("create blobs dir");
        std::fs::write(
            dir.path().join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .expect("write oci-layout");

        let base = tar_archive("etc/os-release", b"NAME=\"Berth test image\"\n");
        let images: Vec<PlatformImage> = ["amd64", "arm64"]
            .into_iter()
            .map(|architecture| {
                let app = tar_archive(
                    &format!("app/{architecture}.txt"),
                    format!("hello from linux/{architecture}\n").as_bytes(),
                );
                write_platform_image(dir.path(), architecture, &[&base, &app])
            })
            .collect();

        let manifests: Vec<Value> = images
            .iter()
            .map(|image| {
                let mut descriptor = descriptor_of(dir.path(), MANIFEST_TYPE, &image.manifest);
                descriptor["platform"] = json!({"architecture": image.architecture, "os": "linux"});
                descriptor
            })
            .collect();
        let index = json!({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": manifests});
        let index = write_blob(dir.path(), &to_json(&index));

        let mut top = descriptor_of(dir.path(), INDEX_TYPE, &index);
        top["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
        let index_json = json!({"schemaVersion": 2, "manifests": [top]});
        std::fs::write(dir.path().join("index.json"), to_json(&index_json))
            .expect("write index.json");

        MultiArchLayout { dir, index, images }
    }

    /// `oci:DIR:v1`, the layout's image as skopeo names it.
    fn skopeo_name(&self) -> String {
        format!("oci:{}:v1", self.dir.path().display())
    }

    /// The digests of every blob in the layout: index, manifests, configs, layers.
    fn all_digests(&self) -> Vec<&str> {
        let mut digests = vec![self.index.as_str()];
        for image in &self.images {
            digests.push(&image.manifest);
            digests.push(&image.config);
            digests.extend(image.layers.iter().map(String::as_str));
        }
        digests
    }

    /// The image for `architecture`.
    fn image(&self, architecture: &str) -> &PlatformImage {
        self.images
            .iter()
            .find(|image| image.architecture == architecture)
            .unwrap_or_else(|| panic!("no {architecture} image in the layout"))
    }
}

/// Writes a config and a manifest for one platform with the given layers.
fn write_platform_image(dir: &Path, architecture: &'static str, layers: &[&[u8]]) -> PlatformImage {
    let layers: Vec<String> = layers.iter().map(|bytes| write_blob(dir, bytes)).collect();
    let config = json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": architecture,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"]},
        // The layers are uncompressed, so each diff id is the layer's digest.
        "rootfs": {"type": "layers", "diff_ids": layers},
    });
    let config = write_blob(dir, &to_json(&config));
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": descriptor_of(dir, CONFIG_TYPE, &config),
        "layers": layers
            .iter()
            .map(|layer| descriptor_of(dir, LAYER_TYPE, layer))
            .collect::<Vec<_>>(),
    });
    let manifest = write_blob(dir, &to_json(&manifest));
    PlatformImage {
        architecture,
        manifest,
        config,
        layers,
    }
}

/// Pretty JSON bytes: what the layout stores, and what must come back unchanged.
fn to_json(value: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).expect("serialize JSON")
}

/// `sha256:<hex>` of `bytes`.
fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The path of blob `digest` in the layout at `dir`.
fn blob_path(dir: &Path, digest: &str) -> std::path::PathBuf {
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    dir.join("blobs/sha256").join(hex)
}

/// Stores `bytes` as a blob of the layout at `dir` and returns its digest.
fn write_blob(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    std::fs::write(blob_path(dir, &digest), bytes).expect("write blob");
    digest
}

/// An OCI descriptor of the blob `digest` already in the layout at `dir`.
fn descriptor_of(dir: &Path, media_type: &str, digest: &str) -> Value {
    let size = std::fs::metadata(blob_path(dir, digest))
        .expect("blob exists")
        .len();
    json!({"mediaType": media_type, "digest": digest, "size": size})
}

/// A ustar archive holding one regular file.
fn tar_archive(name: &str, contents: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    write_octal(&mut header[100..108], 0o644); // mode
    write_octal(&mut header[108..116], 0); // uid
    write_octal(&mut header[116..124], 0); // gid
    write_octal(&mut header[124..136], contents.len() as u64); // size
    write_octal(&mut header[136..148], 1_700_000_000); // mtime
    header[148..156].fill(b' '); // checksum, counted as spaces
    header[156] = b'0'; // regular file
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    let checksum: u32 = header.iter().map(|&byte| u32::from(byte)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());

    let mut archive = header.to_vec();
    archive.extend_from_slice(contents);
    archive.resize(archive.len().next_multiple_of(512), 0);
    archive.resize(archive.len() + 1024, 0); // two zero blocks end the archive
    archive
}

/// Writes `value` as zero-padded octal followed by a NUL, filling `field`.
fn write_octal(field: &mut [u8], value: u64) {
    let text = format!("{value:0width$o}\0", width = field.len() - 1);
    field.copy_from_slice(text.as_bytes());
}

/// Runs `skopeo --insecure-policy --debug ARGS…` and returns its output.
fn skopeo(args: &[&str]) -> Output {
    Command::new("skopeo")
        .args(["--insecure-policy", "--debug"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("could not run `skopeo {}`: {e}", args.join(" ")))
}

/// Runs skopeo, asserts that it succeeded and returns its stdout.
fn skopeo_ok(args: &[&str]) -> Vec<u8> {
    let output = skopeo(args);
    assert!(
        output.status.success(),
        "`skopeo {}` failed:\n{}",
        args.join(" "),
        describe(&output)
    );
    output.stdout
}

/// A command's exit status, stdout and stderr, for failure messages.
fn describe(output: &Output) -> String {
    format!(
        "exit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `admin:<password>`, for `--creds`, `--src-creds` and `--dest-creds`.
fn admin_creds() -> String {
    format!("admin:{ADMIN_PASSWORD}")
}

/// `docker://HOST/multi/arch[:TAG]`.
fn registry_name(server: &TestServer, tag: Option<&str>) -> String {
    match tag {
        Some(tag) => format!("docker://{}/{REPO}:{tag}", server.host),
        None => format!("docker://{}/{REPO}", server.host),
    }
}

/// Copies the whole layout (index and every platform) to `multi/arch:v1`.
fn push_layout(server: &TestServer, layout: &MultiArchLayout) {
    let creds = admin_creds();
    skopeo_ok(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &layout.skopeo_name(),
        &registry_name(server, Some("v1")),
    ]);
}

/// Runs a read-only skopeo command (`inspect`, `list-tags`, `delete`) on
/// `name` with admin's credentials, and returns its output.
fn skopeo_on_registry(command: &str, extra: &[&str], name: &str) -> Output {
    let creds = admin_creds();
    let mut args = vec![command, "--tls-verify=false", "--creds", &creds];
    args.extend_from_slice(extra);
    args.push(name);
    skopeo(&args)
}

/// Like [`skopeo_on_registry`], asserting success and returning stdout.
fn skopeo_on_registry_ok(command: &str, extra: &[&str], name: &str) -> Vec<u8> {
    let output = skopeo_on_registry(command, extra, name);
    assert!(
        output.status.success(),
        "`skopeo {command} {}` failed:\n{}",
        extra.join(" "),
        describe(&output)
    );
    output.stdout
}

/// The digest `index.json` of the layout at `dir` gives the tag `v1`.
fn tagged_digest(dir: &Path, tag: &str) -> String {
    let index: Value = serde_json::from_slice(
        &std::fs::read(dir.join("index.json")).expect("read the copied index.json"),
    )
    .expect("index.json is JSON");
    index["manifests"]
        .as_array()
        .expect("index.json has a manifests array")
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no {tag} in index.json: {index}"))["digest"]
        .as_str()
        .expect("a string digest")
        .to_string()
}

#[test]
fn copy_all_round_trips_a_multi_arch_index_byte_for_byte() {
    let server = TestServer::start();
    let layout = MultiArchLayout::write();
    push_layout(&server, &layout);

    let copy = tempfile::tempdir().expect("temp dir for the copy back");
    let creds = admin_creds();
    skopeo_ok(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--src-creds",
        &creds,
        &registry_name(&server, Some("v1")),
        &format!("oci:{}:v1", copy.path().display()),
    ]);

    assert_eq!(
        tagged_digest(copy.path(), "v1"),
        layout.index,
        "the copied-back v1 is not the pushed index"
    );
    for digest in layout.all_digests() {
        let original = std::fs::read(blob_path(layout.dir.path(), digest)).expect("original blob");
        let copied = std::fs::read(blob_path(copy.path(), digest))
            .unwrap_or_else(|e| panic!("blob {digest} missing from the copied-back layout: {e}"));
        assert!(
            copied == original,
            "blob {digest} came back with other bytes ({} bytes, was {})",
            copied.len(),
            original.len()
        );
    }
}

#[test]
fn inspect_and_list_tags_show_the_pushed_index() {
    let server = TestServer::start();
    let layout = MultiArchLayout::write();
    push_layout(&server, &layout);
    let v1 = registry_name(&server, Some("v1"));

    let raw = skopeo_on_registry_ok("inspect", &["--raw"], &v1);
    let index = std::fs::read(blob_path(layout.dir.path(), &layout.index)).expect("index blob");
    assert!(
        raw == index,
        "`skopeo inspect --raw` returned other bytes than the pushed index:\n{}",
        String::from_utf8_lossy(&raw)
    );

    let arm64 = layout.image("arm64");
    let inspected = skopeo_ok(&[
        "--override-os",
        "linux",
        "--override-arch",
        "arm64",
        "inspect",
        "--tls-verify=false",
        "--creds",
        &admin_creds(),
        &v1,
    ]);
    let inspected: Value = serde_json::from_slice(&inspected).expect("skopeo inspect prints JSON");
    assert_eq!(
        inspected["Architecture"], "arm64",
        "inspect picked another platform: {inspected}"
    );
    assert_eq!(
        inspected["Os"], "linux",
        "inspect reports another OS: {inspected}"
    );
    assert_eq!(
        inspected["Digest"],
        layout.index.as_str(),
        "inspect reports another top-level digest: {inspected}"
    );
    assert_eq!(
        inspected["Layers"],
        json!(arm64.layers),
        "inspect lists other layers than the arm64 manifest's: {inspected}"
    );
    assert_eq!(
        inspected["RepoTags"],
        json!(["v1"]),
        "inspect lists other tags: {inspected}"
    );

    let listed = skopeo_on_registry_ok("list-tags", &[], &registry_name(&server, None));
    let listed: Value = serde_json::from_slice(&listed).expect("skopeo list-tags prints JSON");
    assert_eq!(
        listed["Tags"],
        json!(["v1"]),
        "list-tags lists other tags: {listed}"
    );
}

#[test]
fn delete_makes_the_manifest_unknown() {
    let server = TestServer::start();
    let layout = MultiArchLayout::write();
    push_layout(&server, &layout);
    let v1 = registry_name(&server, Some("v1"));
    skopeo_on_registry_ok("inspect", &["--raw"], &v1);

    skopeo_on_registry_ok("delete", &[], &v1);

    let output = skopeo_on_registry("inspect", &["--raw"], &v1);
    assert!(
        !output.status.success(),
        "`skopeo inspect` still finds {v1} after `skopeo delete`:\n{}",
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(
        stderr.contains("manifest unknown"),
        "`skopeo inspect` after delete fails without `manifest unknown`:\n{}",
        describe(&output)
    );
}

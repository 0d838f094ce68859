//! A full disk: with Berth's data directory (blobs and SQLite) on a small
//! tmpfs, pushes that no longer fit fail with `507` and an OCI error saying the
//! storage is full, nothing half-written becomes visible, reads go on, and
//! pushes work again once space returns. Needs root (it mounts a tmpfs).

mod common;
mod crash;

use common::console::Console;
use common::oci::{
    assert_blob_content, get_manifest, image_manifest, parse_error, sha256_digest, to_bytes,
    Descriptor, Registry, XorShift, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST,
};
use common::{TestServer, ADMIN_PASSWORD};
use crash::{call, expect};
use reqwest::StatusCode;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// A tmpfs mounted on a temporary directory, unmounted on drop (on panic too).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(mib: u64) -> Self {
        let dir = tempfile::tempdir().expect("mount point");
        Self::run(
            &["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"],
            dir.path(),
        );
        Tmpfs { dir }
    }

    /// Gives the file system `mib` MiB.
    fn resize(&self, mib: u64) {
        Self::run(&["-o", &format!("remount,size={mib}m")], self.dir.path());
    }

    fn run(args: &[&str], dir: &Path) {
        let status = Command::new("mount").args(args).arg(dir).status();
        assert!(
            status.expect("run mount").success(),
            "mount {args:?} (this test runs as root)"
        );
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Pushes `data` as a blob: monolithic (`POST` then `PUT`), chunked (`PATCH`
/// then `PUT`), or in a single `POST`. `Err` holds a failed answer's status and body.
async fn push_blob(
    reg: &Registry,
    repo: &str,
    data: &[u8],
    way: u64,
) -> Result<(), (StatusCode, String)> {
    let digest = sha256_digest(data);
    let failed =
        |(status, headers, body): (StatusCode, reqwest::header::HeaderMap, bytes::Bytes)| {
            let text = String::from_utf8_lossy(&body).into_owned();
            parse_error(&headers, &text, "a failed push");
            (status, text)
        };
    if way % 3 == 2 {
        let post = reg
            .post(&format!("/v2/{repo}/blobs/uploads/?digest={digest}"))
            .body(data.to_vec());
        let answer = call(post).await.expect("server is up");
        return if answer.0 == StatusCode::CREATED {
            Ok(())
        } else {
            Err(failed(answer))
        };
    }
    let answer = call(reg.post(&format!("/v2/{repo}/blobs/uploads/")))
        .await
        .expect("server is up");
    if answer.0 != StatusCode::ACCEPTED {
        return Err(failed(answer));
    }
    let mut location = common::oci::require_header(&answer.1, "Location", "POST");
    let mut rest = data.to_vec();
    if way % 3 == 1 {
        let patch = reg
            .patch(&location)
            .header("Content-Range", format!("0-{}", data.len() - 1))
            .body(std::mem::take(&mut rest));
        let answer = call(patch).await.expect("server is up");
        if answer.0 != StatusCode::ACCEPTED {
            return Err(failed(answer));
        }
        location = common::oci::require_header(&answer.1, "Location", "PATCH");
    }
    let put = reg
        .put(&Registry::with_digest(&location, &digest))
        .body(rest);
    let answer = call(put).await.expect("server is up");
    if answer.0 == StatusCode::CREATED {
        Ok(())
    } else {
        Err(failed(answer))
    }
}

/// A failed push must be the full-storage error.
fn assert_storage_full((status, body): &(StatusCode, String), what: &str) {
    assert_eq!(*status, StatusCode::INSUFFICIENT_STORAGE, "{what}: {body}");
    assert!(
        body.contains("\"UNAVAILABLE\"") && body.contains("storage is full"),
        "{what}: {body}"
    );
}

/// A manifest for the config and layers, padded with an annotation of `pad` bytes.
fn manifest(config: &Descriptor, layers: &[Descriptor], pad: usize) -> Vec<u8> {
    let mut value = image_manifest(config, layers);
    value["annotations"] = serde_json::json!({"pad": "x".repeat(pad)});
    to_bytes(&value)
}

/// Writes zeros to `path` until the file system refuses; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("filler file");
    let mut written = 0;
    for size in [64 << 10, 4 << 10, 512] {
        let zeros = vec![0u8; size];
        while file.write_all(&zeros).is_ok() {
            written += size as u64;
        }
    }
    written
}

#[tokio::test]
async fn a_full_disk_fails_pushes_cleanly_keeps_serving_reads_and_recovers_when_space_returns() {
    let started = Instant::now();
    let tmpfs = Tmpfs::mount(24);
    let data_dir = tempfile::tempdir_in(tmpfs.path()).expect("data dir on the tmpfs");
    let server = TestServer::builder().start_in(data_dir);
    let reg = Registry::new(&server);
    let repo = "full/app";
    let before = reg.push_image(repo, Some("before")).await;
    let console = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;

    // 256 KiB blobs (read whole before they are written) until one does not fit.
    let mut stored = Vec::new();
    let refused = loop {
        let n = stored.len() as u64;
        assert!(n < 200, "24 MiB ran out before 200 blobs of 256 KiB");
        let data = XorShift::bytes(n + 1, 256 << 10);
        match push_blob(&reg, repo, &data, n).await {
            Ok(()) => stored.push(data),
            Err(failure) => {
                assert_storage_full(&failure, "the push that did not fit");
                break data;
            }
        }
    };
    // Then every last byte, so the database cannot grow either.
    let filler = tmpfs.path().join("filler");
    fill(&filler);

    let small = XorShift::bytes(1_000, 100 << 10);
    for way in 0..3 {
        let failure = push_blob(&reg, repo, &small, way)
            .await
            .expect_err("the disk is full");
        assert_storage_full(&failure, &format!("blob push, way {way}"));
    }
    // A manifest only the database holds: 3 MiB in SQLite.
    let layers = before.layers.clone();
    let big = manifest(&before.config, &layers, 3 << 20);
    let put = reg
        .put(&format!("/v2/{repo}/manifests/big"))
        .header("Content-Type", OCI_MANIFEST)
        .body(big.clone());
    let (status, headers, body) = call(put).await.expect("server is up");
    let text = String::from_utf8_lossy(&body).into_owned();
    parse_error(&headers, &text, "manifest PUT on a full disk");
    assert_storage_full(&(status, text), "a 3 MiB manifest on a full disk");

    // The console says so too, with the status the registry API uses. The
    // database may still have free pages to reuse (an upload's saved state
    // holds its sealed partial segment, up to 64 KiB, freed when the session
    // ends), so a few small writes can still fit: the first that does not
    // is the one that must say so.
    let mut answer = console
        .call("create_repository", &[("name", "full/new-repository")])
        .await;
    for n in 0..200 {
        if answer.status != StatusCode::OK {
            break;
        }
        answer = console
            .call("create_repository", &[("name", &format!("full/new-{n}"))])
            .await;
    }
    assert_eq!(
        answer.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "a console write on a full disk: {}",
        answer.body
    );
    assert_eq!(answer.body, serde_json::json!("StorageFull"));

    // Reads go on; nothing that failed is visible, and `fsck` finds nothing wrong.
    let (_, digest, bytes) = get_manifest(&reg, repo, "before").await;
    assert_eq!(
        (digest, bytes),
        (before.digest.clone(), before.manifest.clone())
    );
    for layer in &before.layers {
        let data = call(reg.get(&format!("/v2/{repo}/blobs/{}", layer.digest)))
            .await
            .expect("server is up");
        expect(data.0, StatusCode::OK, "a layer on a full disk", &data.2);
        assert_eq!(sha256_digest(&data.2), layer.digest);
    }
    let last = stored.last().expect("some blobs fit");
    assert_blob_content(&reg, repo, &sha256_digest(last), last).await;
    for data in [&refused, &small] {
        let digest = sha256_digest(data);
        let head = call(reg.head(&format!("/v2/{repo}/blobs/{digest}"))).await;
        assert_eq!(
            head.expect("server is up").0,
            StatusCode::NOT_FOUND,
            "a refused blob"
        );
        let hex = digest.trim_start_matches("sha256:");
        let path = server
            .data_dir()
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(hex);
        assert!(!path.exists(), "no bytes under a refused blob's digest");
    }
    common::oci::assert_manifest_unknown(&reg, repo, "big", "a refused manifest").await;
    let fsck = server.admin(&["fsck"]);
    let report = String::from_utf8_lossy(&fsck.stdout);
    assert!(
        fsck.status.success() && report.contains(" 0 problem(s)"),
        "fsck on a full disk: {report}"
    );

    // Space returns: the same pushes now work, and all of it reads back whole.
    std::fs::remove_file(&filler).expect("remove the filler");
    tmpfs.resize(64);
    for (way, data) in [&refused, &small].into_iter().enumerate() {
        push_blob(&reg, repo, data, way as u64)
            .await
            .expect("a push once space returned");
        assert_blob_content(&reg, repo, &sha256_digest(data), data).await;
    }
    let refused_layer = Descriptor::of(OCI_LAYER, &refused);
    let config = Descriptor::of(OCI_CONFIG, &small);
    let after = manifest(&config, &[refused_layer], 0);
    reg.push_manifest(repo, "after", OCI_MANIFEST, &after).await;
    reg.push_manifest(repo, "big", OCI_MANIFEST, &big).await;
    for (tag, bytes) in [("after", &after), ("big", &big)] {
        assert_eq!(
            &get_manifest(&reg, repo, tag).await.2,
            bytes,
            "{tag} reads back"
        );
    }
    let data_dir = server.into_data_dir();
    crash::assert_fsck_clean(data_dir.path(), "after space returned");
    println!(
        "disk_full: {} blobs of 256 KiB fit in 24 MiB; 5 pushes refused with 507; {:.1} s",
        stored.len(),
        started.elapsed().as_secs_f64()
    );
    drop(data_dir);
}

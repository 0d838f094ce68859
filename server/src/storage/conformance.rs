//! The blob-store conformance suite: every driver runs these same checks.

use super::{BlobStore, ByteStream, FsBlobStore};
use berth_app::oci::{Digest, DigestAlgorithm};
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};

fn digest_of(bytes: &[u8]) -> Digest {
    Digest::from_hash(DigestAlgorithm::Sha256, &Sha256::digest(bytes))
}

/// Runs every check against a fresh store.
pub async fn run_suite(store: &dyn BlobStore) {
    upload_append_commit_read(store).await;
    append_truncates_uncounted_bytes(store).await;
    commit_of_existing_blob_drops_upload(store).await;
    missing_things_are_none_not_errors(store).await;
    delete_upload_and_blob(store).await;
}

async fn upload_append_commit_read(store: &dyn BlobStore) {
    store.create_upload("u1").await.unwrap();
    assert_eq!(store.upload_size("u1").await.unwrap(), Some(0));
    let mut w = store.append_upload("u1", 0).await.unwrap();
    w.write(Bytes::from_static(b"hello ")).await.unwrap();
    w.write(Bytes::from_static(b"world")).await.unwrap();
    w.finish().await.unwrap();
    let mut w = store.append_upload("u1", 11).await.unwrap();
    w.write(Bytes::from_static(b"!")).await.unwrap();
    w.finish().await.unwrap();
    assert_eq!(store.upload_size("u1").await.unwrap(), Some(12));
    assert_eq!(
        collect(store.read_upload("u1").await.unwrap())
            .await
            .unwrap(),
        b"hello world!"
    );
    let digest = digest_of(b"hello world!");
    store.commit_upload("u1", &digest).await.unwrap();
    assert_eq!(
        store.upload_size("u1").await.unwrap(),
        None,
        "upload gone after commit"
    );
    assert_eq!(store.stat(&digest).await.unwrap(), Some(12));
    assert_eq!(
        collect(store.read(&digest, 0..12).await.unwrap())
            .await
            .unwrap(),
        b"hello world!"
    );
    assert_eq!(
        collect(store.read(&digest, 6..11).await.unwrap())
            .await
            .unwrap(),
        b"world"
    );
}

async fn append_truncates_uncounted_bytes(store: &dyn BlobStore) {
    store.create_upload("u2").await.unwrap();
    let mut w = store.append_upload("u2", 0).await.unwrap();
    w.write(Bytes::from_static(b"abcdef")).await.unwrap();
    w.finish().await.unwrap();
    // A later append at offset 3 means only 3 bytes were accepted before.
    let mut w = store.append_upload("u2", 3).await.unwrap();
    w.write(Bytes::from_static(b"XY")).await.unwrap();
    w.finish().await.unwrap();
    assert_eq!(
        collect(store.read_upload("u2").await.unwrap())
            .await
            .unwrap(),
        b"abcXY"
    );
    store.delete_upload("u2").await.unwrap();
}

async fn commit_of_existing_blob_drops_upload(store: &dyn BlobStore) {
    let digest = digest_of(b"same");
    for id in ["u3", "u4"] {
        store.create_upload(id).await.unwrap();
        let mut w = store.append_upload(id, 0).await.unwrap();
        w.write(Bytes::from_static(b"same")).await.unwrap();
        w.finish().await.unwrap();
        store.commit_upload(id, &digest).await.unwrap();
        assert_eq!(store.upload_size(id).await.unwrap(), None);
    }
    assert_eq!(store.stat(&digest).await.unwrap(), Some(4));
}

async fn missing_things_are_none_not_errors(store: &dyn BlobStore) {
    assert_eq!(store.stat(&digest_of(b"never")).await.unwrap(), None);
    assert_eq!(store.upload_size("nope").await.unwrap(), None);
    store.delete_upload("nope").await.unwrap();
    store.delete(&digest_of(b"never")).await.unwrap();
    assert!(
        store.upload_size("../escape").await.is_err(),
        "ids that leave the folder are refused"
    );
}

async fn delete_upload_and_blob(store: &dyn BlobStore) {
    store.create_upload("u5").await.unwrap();
    assert!(store
        .list_uploads()
        .await
        .unwrap()
        .contains(&"u5".to_string()));
    store.delete_upload("u5").await.unwrap();
    assert!(!store
        .list_uploads()
        .await
        .unwrap()
        .contains(&"u5".to_string()));
    let digest = digest_of(b"same");
    store.delete(&digest).await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), None);
}

#[tokio::test]
async fn filesystem_driver_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path()).await.unwrap();
    run_suite(&store).await;
}

/// Collects a stream into memory (tests and small reads only).
async fn collect(mut stream: ByteStream) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

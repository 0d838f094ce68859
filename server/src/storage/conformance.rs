//! The blob-store conformance suite: every driver runs these same checks, the
//! filesystem driver in unit tests and the S3 driver against a real S3 server
//! in `tests/s3_storage.rs`. Each check panics with what went wrong.

use super::{BlobStore, ByteStream, UploadState};
use berth_app::oci::{Digest, DigestAlgorithm};
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};

fn digest_of(bytes: &[u8]) -> Digest {
    Digest::from_hash(DigestAlgorithm::Sha256, &Sha256::digest(bytes))
}

/// Runs every check against a fresh, empty store.
pub async fn run_suite(store: &dyn BlobStore) {
    upload_append_seal_commit_read(store).await;
    resume_ignores_uncounted_bytes(store).await;
    parts_and_tails_across_requests(store).await;
    commit_through_the_writer(store).await;
    empty_blobs(store).await;
    commit_of_existing_blob_drops_upload(store).await;
    missing_things_are_none_not_errors(store).await;
    uploads_are_listed_until_deleted(store).await;
    blobs_are_listed_and_deleted_in_batches(store).await;
    big_blob_in_uneven_requests(store).await;
}

/// Appends `bytes` in one request and returns the new state.
async fn append(store: &dyn BlobStore, id: &str, state: &UploadState, bytes: &[u8]) -> UploadState {
    let mut writer = store.append_upload(id, state).await.unwrap();
    for chunk in bytes.chunks(1 << 20) {
        writer.write(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    writer.finish().await.unwrap()
}

async fn upload_append_seal_commit_read(store: &dyn BlobStore) {
    store.create_upload("u1").await.unwrap();
    let state = UploadState::default();
    let mut writer = store.append_upload("u1", &state).await.unwrap();
    writer.write(Bytes::from_static(b"hello ")).await.unwrap();
    writer.write(Bytes::from_static(b"world")).await.unwrap();
    let state = writer.finish().await.unwrap();
    assert_eq!(state.size, 11);
    let state = append(store, "u1", &state, b"!").await;
    assert_eq!(state.size, 12);
    let sealed = store.seal_upload("u1", &state).await.unwrap();
    assert_eq!(sealed.size, 12);
    assert_eq!(
        collect(store.read_upload("u1", &sealed).await.unwrap()).await,
        b"hello world!"
    );
    let digest = digest_of(b"hello world!");
    store.commit_upload("u1", &sealed, &digest).await.unwrap();
    assert!(
        !store.list_uploads().await.unwrap().contains(&"u1".into()),
        "upload gone after commit"
    );
    assert_eq!(store.stat(&digest).await.unwrap(), Some(12));
    assert_eq!(
        collect(store.read(&digest, 0..12).await.unwrap()).await,
        b"hello world!"
    );
    assert_eq!(
        collect(store.read(&digest, 6..11).await.unwrap()).await,
        b"world"
    );
}

async fn resume_ignores_uncounted_bytes(store: &dyn BlobStore) {
    store.create_upload("u2").await.unwrap();
    let abc = append(store, "u2", &UploadState::default(), b"abc").await;
    // A request that stored "def" but whose new state was never saved (a crash):
    // the next request continues from the saved state.
    let lost = append(store, "u2", &abc, b"def").await;
    assert_eq!(lost.size, 6);
    let state = append(store, "u2", &abc, b"XY").await;
    assert_eq!(state.size, 5);
    let digest = digest_of(b"abcXY");
    store.commit_upload("u2", &state, &digest).await.unwrap();
    assert_eq!(
        collect(store.read(&digest, 0..5).await.unwrap()).await,
        b"abcXY"
    );
}

/// Requests of 3, 3, 9 and 2 MiB, the last committed through its writer: small
/// tails carried between requests, parts of several sizes, one part in flight.
async fn parts_and_tails_across_requests(store: &dyn BlobStore) {
    const MIB: usize = 1 << 20;
    let bytes: Vec<u8> = (0..17 * MIB).map(|i| (i % 251) as u8).collect();
    store.create_upload("u3").await.unwrap();
    let mut state = UploadState::default();
    let mut start = 0;
    for size in [3 * MIB, 3 * MIB, 9 * MIB] {
        state = append(store, "u3", &state, &bytes[start..start + size]).await;
        start += size;
        assert_eq!(state.size, start as u64);
    }
    let digest = digest_of(&bytes);
    let mut writer = store.append_upload("u3", &state).await.unwrap();
    writer
        .write(Bytes::copy_from_slice(&bytes[start..]))
        .await
        .unwrap();
    writer.commit(&digest).await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), Some(bytes.len() as u64));
    let all = collect(store.read(&digest, 0..bytes.len() as u64).await.unwrap()).await;
    assert!(all == bytes, "a blob written in parts reads back whole");
    let (from, to) = (8 * MIB as u64 - 10, 8 * MIB as u64 + 10);
    assert_eq!(
        collect(store.read(&digest, from..to).await.unwrap()).await,
        &bytes[from as usize..to as usize],
        "a range across a part boundary"
    );
    assert!(!store.list_uploads().await.unwrap().contains(&"u3".into()));
}

async fn commit_through_the_writer(store: &dyn BlobStore) {
    store.create_upload("u4").await.unwrap();
    let mut writer = store
        .append_upload("u4", &UploadState::default())
        .await
        .unwrap();
    writer
        .write(Bytes::from_static(b"monolithic"))
        .await
        .unwrap();
    let digest = digest_of(b"monolithic");
    writer.commit(&digest).await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), Some(10));
    assert!(!store.list_uploads().await.unwrap().contains(&"u4".into()));
}

async fn empty_blobs(store: &dyn BlobStore) {
    let digest = digest_of(b"");
    store.create_upload("u5").await.unwrap();
    store
        .commit_upload("u5", &UploadState::default(), &digest)
        .await
        .unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), Some(0));
    assert!(collect(store.read(&digest, 0..0).await.unwrap())
        .await
        .is_empty());
    store.delete(std::slice::from_ref(&digest)).await.unwrap();
    store.create_upload("u6").await.unwrap();
    let writer = store
        .append_upload("u6", &UploadState::default())
        .await
        .unwrap();
    writer.commit(&digest).await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), Some(0));
}

async fn commit_of_existing_blob_drops_upload(store: &dyn BlobStore) {
    let digest = digest_of(b"same");
    for id in ["u7", "u8"] {
        store.create_upload(id).await.unwrap();
        let state = append(store, id, &UploadState::default(), b"same").await;
        store.commit_upload(id, &state, &digest).await.unwrap();
        assert!(!store.list_uploads().await.unwrap().contains(&id.into()));
    }
    assert_eq!(store.stat(&digest).await.unwrap(), Some(4));
}

async fn missing_things_are_none_not_errors(store: &dyn BlobStore) {
    assert_eq!(store.stat(&digest_of(b"never")).await.unwrap(), None);
    store.delete_upload("nope").await.unwrap();
    store.delete(&[digest_of(b"never")]).await.unwrap();
    assert!(
        store
            .append_upload("../escape", &UploadState::default())
            .await
            .is_err(),
        "ids that leave the folder are refused"
    );
    assert!(store.delete_upload("a/b").await.is_err());
}

async fn uploads_are_listed_until_deleted(store: &dyn BlobStore) {
    store.create_upload("u9").await.unwrap();
    append(store, "u9", &UploadState::default(), b"partial").await;
    assert!(store.list_uploads().await.unwrap().contains(&"u9".into()));
    store.delete_upload("u9").await.unwrap();
    assert!(!store.list_uploads().await.unwrap().contains(&"u9".into()));
    // A big upload's multipart upload is aborted too.
    store.create_upload("u10").await.unwrap();
    append(store, "u10", &UploadState::default(), &vec![7u8; 9 << 20]).await;
    assert!(store.list_uploads().await.unwrap().contains(&"u10".into()));
    store.delete_upload("u10").await.unwrap();
    assert!(!store.list_uploads().await.unwrap().contains(&"u10".into()));
}

async fn blobs_are_listed_and_deleted_in_batches(store: &dyn BlobStore) {
    let mut digests = Vec::new();
    for i in 0..5 {
        let bytes = format!("blob number {i}");
        let id = format!("b{i}");
        store.create_upload(&id).await.unwrap();
        let state = append(store, &id, &UploadState::default(), bytes.as_bytes()).await;
        let digest = digest_of(bytes.as_bytes());
        store.commit_upload(&id, &state, &digest).await.unwrap();
        digests.push(digest);
    }
    let listed = store.list_blobs().await.unwrap();
    for digest in &digests {
        let blob = listed.iter().find(|b| &b.digest == digest);
        assert_eq!(blob.map(|b| b.size), Some(13), "{digest} is listed");
    }
    store.delete(&digests).await.unwrap();
    let listed = store.list_blobs().await.unwrap();
    for digest in &digests {
        assert_eq!(store.stat(digest).await.unwrap(), None);
        assert!(!listed.iter().any(|b| &b.digest == digest));
    }
}

/// A blob of many MiB, so that writes, writeback windows, parts and reads all
/// cross their boundaries, sent in requests and chunks of uneven sizes.
async fn big_blob_in_uneven_requests(store: &dyn BlobStore) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let data: Vec<u8> = (0..(21 << 20) + 4321)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let digest = digest_of(&data);
    store.create_upload("big").await.unwrap();
    let mut state = UploadState::default();
    let mut offset: usize = 0;
    for request in [(9 << 20) + 17, (3 << 20) - 5, usize::MAX] {
        let end = offset.saturating_add(request).min(data.len());
        let mut writer = store.append_upload("big", &state).await.unwrap();
        for chunk in data[offset..end].chunks(65_537) {
            writer.write(Bytes::copy_from_slice(chunk)).await.unwrap();
        }
        if end == data.len() {
            writer.commit(&digest).await.unwrap();
        } else {
            state = writer.finish().await.unwrap();
            assert_eq!(state.size, end as u64);
        }
        offset = end;
    }
    let size = data.len() as u64;
    assert_eq!(store.stat(&digest).await.unwrap(), Some(size));
    assert!(collect(store.read(&digest, 0..size).await.unwrap()).await == data);
    let (start, end) = ((1 << 20) - 3, (17 << 20) + 5);
    assert!(
        collect(store.read(&digest, start..end).await.unwrap()).await
            == data[start as usize..end as usize]
    );
}

/// Collects a stream into memory (tests and small reads only).
async fn collect(mut stream: ByteStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("the stream reads"));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::storage::FsBlobStore;

    #[tokio::test]
    async fn filesystem_driver_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).await.unwrap();
        super::run_suite(&store).await;
    }
}

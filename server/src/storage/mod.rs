//! Blob bytes, content-addressed, behind one small trait. Drivers know nothing
//! of repositories, manifests or digests' meaning: the service layer computes
//! and verifies digests and decides what is visible.

#[doc(hidden)]
pub mod conformance;
mod dry_run;
pub mod encrypted;
mod fs;
mod s3;

pub use dry_run::DryRunStore;
pub use fs::FsBlobStore;
pub use s3::{S3BlobStore, S3Settings};

use berth_app::oci::Digest;
use bytes::Bytes;
use futures_util::Stream;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::time::Duration;

/// A stream of blob bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Where an upload stands in the store, kept with the upload session between
/// requests (and across restarts): the bytes it holds, and whatever the driver
/// needs to continue it (for S3, the multipart upload id and part ETags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadState {
    /// Bytes the upload holds.
    pub size: u64,
    /// The driver's own record, opaque to callers (empty for the filesystem).
    pub driver: String,
}

/// A committed blob as a listing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// Its content address.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// Where blob bytes live. Uploads are written under a session id, then
/// committed under their digest in one atomic, durable step.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Where the bytes are, for logs: a directory or a bucket.
    fn describe(&self) -> String;

    /// The size of a committed blob, or `None` if it is not stored.
    async fn stat(&self, digest: &Digest) -> io::Result<Option<u64>>;

    /// Streams the bytes `range` of a committed blob (the range lies within it).
    async fn read(&self, digest: &Digest, range: Range<u64>) -> io::Result<ByteStream>;

    /// A URL that serves the committed blob's bytes without credentials for
    /// `lifetime`, if the driver can hand one out (S3 presigning); `None` otherwise.
    async fn download_url(&self, digest: &Digest, lifetime: Duration)
        -> io::Result<Option<String>>;

    /// Creates an empty upload; its state is [`UploadState::default`].
    async fn create_upload(&self, id: &str) -> io::Result<()>;

    /// Opens an upload to append bytes after the `state.size` it holds; bytes a
    /// failed request wrote past that point are dropped.
    async fn append_upload(
        &self,
        id: &str,
        state: &UploadState,
    ) -> io::Result<Box<dyn UploadWriter>>;

    /// Ends appending: the upload's bytes become readable with [`Self::read_upload`].
    async fn seal_upload(&self, id: &str, state: &UploadState) -> io::Result<UploadState>;

    /// Streams the bytes of an upload [`Self::seal_upload`] sealed.
    async fn read_upload(&self, id: &str, state: &UploadState) -> io::Result<ByteStream>;

    /// Makes the upload's bytes durable and visible as `digest`, atomically; the
    /// upload is gone afterwards. If the blob already exists the upload is dropped.
    async fn commit_upload(&self, id: &str, state: &UploadState, digest: &Digest)
        -> io::Result<()>;

    /// Removes an upload and everything stored for it; no error if it does not exist.
    async fn delete_upload(&self, id: &str) -> io::Result<()>;

    /// Removes committed blobs, in batches where the store allows; no error for
    /// one that does not exist.
    async fn delete(&self, digests: &[Digest]) -> io::Result<()>;

    /// Ids of all uploads that have something stored (to clean up leftovers).
    async fn list_uploads(&self) -> io::Result<Vec<String>>;

    /// Every committed blob (for `fsck` and `migrate-storage`).
    async fn list_blobs(&self) -> io::Result<Vec<StoredBlob>>;
}

/// Appends bytes to one upload.
#[async_trait::async_trait]
pub trait UploadWriter: Send {
    /// Appends `bytes`.
    async fn write(&mut self, bytes: Bytes) -> io::Result<()>;

    /// Stores what was written, to be continued later; returns the new state,
    /// which the caller keeps with the upload session.
    async fn finish(self: Box<Self>) -> io::Result<UploadState>;

    /// Stores what was written and commits the whole upload as `digest`, as
    /// [`BlobStore::commit_upload`] does, without storing the tail separately first.
    async fn commit(self: Box<Self>, digest: &Digest) -> io::Result<()>;
}

/// Whether a store error means "cannot be reached for now" (connection refused,
/// timed out) rather than a fault in the request or the data.
pub fn is_unavailable(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::TimedOut
            | io::ErrorKind::NotConnected
    )
}

/// The path of a blob below a store's root, the same in every driver:
/// `blobs/<algorithm>/<first two hex digits>/<hex>`.
fn blob_path(digest: &Digest) -> String {
    let hex = digest.hex();
    format!("blobs/{}/{}/{hex}", digest.algorithm().name(), &hex[..2])
}

/// The digest a [`blob_path`] names, if it names one.
fn digest_of_path(path: &str) -> Option<Digest> {
    let mut parts = path.rsplit('/');
    let hex = parts.next()?;
    let fan = parts.next()?;
    let algorithm = parts.next()?;
    let digest = Digest::parse(&format!("{algorithm}:{hex}")).ok()?;
    (hex.get(..2) == Some(fan) && parts.next() == Some("blobs")).then_some(digest)
}

/// Upload ids are made by the service (UUIDs); anything else could leave the
/// upload's folder or prefix.
fn check_upload_id(id: &str) -> io::Result<()> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid upload id",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{blob_path, digest_of_path};
    use berth_app::oci::Digest;

    #[test]
    fn blob_paths_name_their_digest_and_nothing_else_does() {
        let digest = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        let path = blob_path(&digest);
        assert_eq!(path, format!("blobs/sha256/ab/{}", "ab".repeat(32)));
        assert_eq!(digest_of_path(&path), Some(digest.clone()));
        assert_eq!(digest_of_path(&format!("prefix/{path}")), Some(digest));
        let wrong_fan = format!("blobs/sha256/cd/{}", "ab".repeat(32));
        assert_eq!(digest_of_path(&wrong_fan), None);
        assert_eq!(digest_of_path("blobs/sha256/ab/abab"), None);
        assert_eq!(digest_of_path("uploads/x/data"), None);
    }
}

//! Blob bytes, content-addressed, behind one small trait. Drivers know nothing
//! of repositories, manifests or digests' meaning: the service layer computes
//! and verifies digests and decides what is visible.

#[cfg(test)]
mod conformance;
mod fs;

pub use fs::FsBlobStore;

use berth_app::oci::Digest;
use bytes::Bytes;
use futures_util::Stream;
use std::io;
use std::ops::Range;
use std::pin::Pin;

/// A stream of blob bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Where blob bytes live. Uploads are written under a session id, then
/// committed under their digest in one atomic, durable step.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// The size of a committed blob, or `None` if it is not stored.
    async fn stat(&self, digest: &Digest) -> io::Result<Option<u64>>;

    /// Streams the bytes `range` of a committed blob (the range lies within it).
    async fn read(&self, digest: &Digest, range: Range<u64>) -> io::Result<ByteStream>;

    /// Creates an empty upload.
    async fn create_upload(&self, id: &str) -> io::Result<()>;

    /// The number of bytes an upload holds, or `None` if it does not exist.
    async fn upload_size(&self, id: &str) -> io::Result<Option<u64>>;

    /// Opens an upload to append bytes at its end, which must be `offset`.
    async fn append_upload(&self, id: &str, offset: u64) -> io::Result<Box<dyn UploadWriter>>;

    /// Streams the bytes an upload holds so far.
    async fn read_upload(&self, id: &str) -> io::Result<ByteStream>;

    /// Makes the upload's bytes durable and visible as `digest`, atomically; the
    /// upload is gone afterwards. If the blob already exists the upload is dropped.
    async fn commit_upload(&self, id: &str, digest: &Digest) -> io::Result<()>;

    /// Removes an upload; no error if it does not exist.
    async fn delete_upload(&self, id: &str) -> io::Result<()>;

    /// Removes a committed blob; no error if it does not exist.
    async fn delete(&self, digest: &Digest) -> io::Result<()>;

    /// Ids of all uploads present (for cleaning up leftovers).
    async fn list_uploads(&self) -> io::Result<Vec<String>>;
}

/// Appends bytes to one upload.
#[async_trait::async_trait]
pub trait UploadWriter: Send {
    /// Appends `bytes`.
    async fn write(&mut self, bytes: Bytes) -> io::Result<()>;

    /// Flushes what was written so that [`BlobStore::upload_size`] counts it.
    async fn finish(self: Box<Self>) -> io::Result<()>;
}

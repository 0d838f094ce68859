//! The blob store a dry run runs against: it reads through to the real store
//! and changes nothing. Deletes (all that garbage collection does to bytes)
//! succeed without touching a byte, so the code that deletes runs unchanged;
//! anything that would write bytes is refused. This, with a private copy of
//! the database (`Db::dry_run_copy`), is the one gate that makes a dry run
//! the real code with its side effects off at the lowest layer.

use super::{BlobStore, ByteStream, StoredBlob, UploadState, UploadWriter};
use berth_app::oci::Digest;
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// A read-through view of a store whose changes go nowhere.
pub struct DryRunStore(pub Arc<dyn BlobStore>);

fn refused() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "a dry run does not write blob bytes",
    )
}

#[async_trait::async_trait]
impl BlobStore for DryRunStore {
    fn describe(&self) -> String {
        format!("{} (dry run: read only)", self.0.describe())
    }

    async fn stat(&self, digest: &Digest) -> io::Result<Option<u64>> {
        self.0.stat(digest).await
    }

    async fn read(&self, digest: &Digest, range: Range<u64>) -> io::Result<ByteStream> {
        self.0.read(digest, range).await
    }

    async fn download_url(
        &self,
        digest: &Digest,
        lifetime: Duration,
    ) -> io::Result<Option<String>> {
        self.0.download_url(digest, lifetime).await
    }

    async fn create_upload(&self, _: &str) -> io::Result<()> {
        Err(refused())
    }

    async fn append_upload(&self, _: &str, _: &UploadState) -> io::Result<Box<dyn UploadWriter>> {
        Err(refused())
    }

    async fn seal_upload(&self, _: &str, _: &UploadState) -> io::Result<UploadState> {
        Err(refused())
    }

    async fn read_upload(&self, id: &str, state: &UploadState) -> io::Result<ByteStream> {
        self.0.read_upload(id, state).await
    }

    async fn commit_upload(&self, _: &str, _: &UploadState, _: &Digest) -> io::Result<()> {
        Err(refused())
    }

    async fn delete_upload(&self, _: &str) -> io::Result<()> {
        Ok(())
    }

    async fn delete(&self, _: &[Digest]) -> io::Result<()> {
        Ok(())
    }

    async fn list_uploads(&self) -> io::Result<Vec<String>> {
        self.0.list_uploads().await
    }

    async fn list_blobs(&self) -> io::Result<Vec<StoredBlob>> {
        self.0.list_blobs().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::FsBlobStore;

    #[tokio::test]
    async fn reads_go_through_and_nothing_is_changed() {
        let dir = tempfile::tempdir().unwrap();
        let real: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(dir.path()).await.unwrap());
        real.create_upload("u").await.unwrap();
        let view = DryRunStore(real.clone());
        assert_eq!(view.list_uploads().await.unwrap(), vec!["u".to_owned()]);
        view.delete_upload("u").await.unwrap();
        assert_eq!(real.list_uploads().await.unwrap(), vec!["u".to_owned()]);
        let digest = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        view.delete(std::slice::from_ref(&digest)).await.unwrap();
        assert_eq!(
            view.create_upload("v").await.unwrap_err().kind(),
            io::ErrorKind::PermissionDenied
        );
        assert_eq!(real.list_uploads().await.unwrap(), vec!["u".to_owned()]);
    }
}

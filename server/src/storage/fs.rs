//! The filesystem driver: `blobs/<alg>/<first two hex>/<hex>` and `uploads/<id>`
//! under one root. Commit is fsync(file) → rename → fsync(directory), so a
//! crash leaves either no blob or a complete one.

use super::{BlobStore, ByteStream, UploadWriter};
use berth_app::oci::Digest;
use bytes::Bytes;
use std::io::{self, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio_util::io::ReaderStream;

/// Read and write buffer size: large enough for disk throughput, small enough for memory.
const IO_BUFFER: usize = 1 << 20;

/// Blobs on a local filesystem.
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// A store rooted at `root` (created if missing).
    pub async fn open(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root.join("blobs")).await?;
        fs::create_dir_all(root.join("uploads")).await?;
        Ok(Self {
            root: root.to_owned(),
        })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(&hex[..2])
            .join(hex)
    }

    fn upload_path(&self, id: &str) -> io::Result<PathBuf> {
        // Ids are made by the service (UUIDs); refuse anything that could leave the folder.
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "invalid upload id",
            ));
        }
        Ok(self.root.join("uploads").join(id))
    }
}

async fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).await?.sync_all().await
}

fn stream_file(file: File, len: u64) -> ByteStream {
    Box::pin(ReaderStream::with_capacity(file.take(len), 256 * 1024))
}

#[async_trait::async_trait]
impl BlobStore for FsBlobStore {
    async fn stat(&self, digest: &Digest) -> io::Result<Option<u64>> {
        match fs::metadata(self.blob_path(digest)).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn read(&self, digest: &Digest, range: Range<u64>) -> io::Result<ByteStream> {
        let mut file = File::open(self.blob_path(digest)).await?;
        if range.start > 0 {
            file.seek(SeekFrom::Start(range.start)).await?;
        }
        Ok(stream_file(file, range.end - range.start))
    }

    async fn create_upload(&self, id: &str) -> io::Result<()> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.upload_path(id)?)
            .await?;
        Ok(())
    }

    async fn upload_size(&self, id: &str) -> io::Result<Option<u64>> {
        match fs::metadata(self.upload_path(id)?).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn append_upload(&self, id: &str, offset: u64) -> io::Result<Box<dyn UploadWriter>> {
        let mut file = OpenOptions::new()
            .write(true)
            .open(self.upload_path(id)?)
            .await?;
        // Truncate anything past `offset` (bytes a failed request wrote but never counted).
        file.set_len(offset).await?;
        file.seek(SeekFrom::Start(offset)).await?;
        Ok(Box::new(FsUploadWriter {
            file: BufWriter::with_capacity(IO_BUFFER, file),
        }))
    }

    async fn read_upload(&self, id: &str) -> io::Result<ByteStream> {
        let file = File::open(self.upload_path(id)?).await?;
        let len = file.metadata().await?.len();
        Ok(stream_file(file, len))
    }

    async fn commit_upload(&self, id: &str, digest: &Digest) -> io::Result<()> {
        let upload = self.upload_path(id)?;
        let target = self.blob_path(digest);
        if fs::try_exists(&target).await? {
            return fs::remove_file(&upload).await;
        }
        File::open(&upload).await?.sync_all().await?;
        let dir = target.parent().expect("blob paths have a parent");
        fs::create_dir_all(dir).await?;
        fs::rename(&upload, &target).await?;
        fsync_dir(dir).await
    }

    async fn delete_upload(&self, id: &str) -> io::Result<()> {
        match fs::remove_file(self.upload_path(id)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn delete(&self, digest: &Digest) -> io::Result<()> {
        match fs::remove_file(self.blob_path(digest)).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn list_uploads(&self) -> io::Result<Vec<String>> {
        let mut entries = fs::read_dir(self.root.join("uploads")).await?;
        let mut ids = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            if let Some(name) = entry.file_name().to_str() {
                ids.push(name.to_owned());
            }
        }
        Ok(ids)
    }
}

struct FsUploadWriter {
    file: BufWriter<File>,
}

#[async_trait::async_trait]
impl UploadWriter for FsUploadWriter {
    async fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.file.write_all(&bytes).await
    }

    async fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.file.flush().await
    }
}

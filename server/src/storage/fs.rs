//! The filesystem driver: `blobs/<alg>/<first two hex>/<hex>` and `uploads/<id>`
//! under one root. Commit is fsync(file) → rename → fsync(directory), so a
//! crash leaves either no blob or a complete one.

use super::{
    blob_path, check_upload_id, digest_of_path, BlobStore, ByteStream, StoredBlob, UploadState,
    UploadWriter,
};
use berth_app::oci::Digest;
use bytes::Bytes;
use std::io::{self, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::fs::{self, File, OpenOptions};
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};

/// Read and write buffer size: large enough for disk throughput, small enough for memory.
const IO_BUFFER: usize = 1 << 20;

/// Bytes per read when streaming a blob out.
const READ_CHUNK: usize = 1 << 20;

/// Chunks read ahead of the socket per download.
const READ_AHEAD: usize = 4;

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
        self.root.join(blob_path(digest))
    }

    fn upload_path(&self, id: &str) -> io::Result<PathBuf> {
        check_upload_id(id)?;
        Ok(self.root.join("uploads").join(id))
    }
}

async fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).await?.sync_all().await
}

/// Streams `len` bytes from the file's position. A blocking thread reads
/// ahead into a small queue, so disk reads overlap with the socket writes
/// instead of waiting for each other (one pool trip per chunk otherwise).
async fn stream_file(file: File, len: u64) -> ByteStream {
    let mut file = file.into_std().await;
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut left = len;
        while left > 0 {
            let mut chunk = vec![0u8; READ_CHUNK.min(left as usize)];
            let read = match file.read(&mut chunk) {
                Ok(0) => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the blob file is shorter than recorded",
                )),
                other => other,
            };
            let item = read.map(|n| {
                chunk.truncate(n);
                left -= n as u64;
                Bytes::from(chunk)
            });
            let failed = item.is_err();
            // A closed queue means the client went away: stop reading.
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Moves a complete upload file to its blob path durably: the first `size`
/// bytes (a failed request may have left more), fsync, rename, fsync the directory.
async fn commit_file(upload: &Path, size: u64, target: &Path) -> io::Result<()> {
    if fs::try_exists(target).await? {
        return fs::remove_file(upload).await;
    }
    let file = OpenOptions::new().write(true).open(upload).await?;
    file.set_len(size).await?;
    file.sync_all().await?;
    let dir = target.parent().expect("blob paths have a parent");
    fs::create_dir_all(dir).await?;
    fs::rename(upload, target).await?;
    fsync_dir(dir).await
}

#[async_trait::async_trait]
impl BlobStore for FsBlobStore {
    fn describe(&self) -> String {
        format!("filesystem at {}", self.root.display())
    }

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
        Ok(stream_file(file, range.end - range.start).await)
    }

    async fn download_url(&self, _: &Digest, _: Duration) -> io::Result<Option<String>> {
        Ok(None)
    }

    async fn create_upload(&self, id: &str) -> io::Result<()> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.upload_path(id)?)
            .await?;
        Ok(())
    }

    async fn append_upload(
        &self,
        id: &str,
        state: &UploadState,
    ) -> io::Result<Box<dyn UploadWriter>> {
        let path = self.upload_path(id)?;
        let mut file = OpenOptions::new().write(true).open(&path).await?;
        // Truncate anything past the state (bytes a failed request wrote but never counted).
        file.set_len(state.size).await?;
        file.seek(SeekFrom::Start(state.size)).await?;
        Ok(Box::new(FsUploadWriter {
            file: BufWriter::with_capacity(IO_BUFFER, file),
            path,
            target: self.root.clone(),
            size: state.size,
        }))
    }

    async fn seal_upload(&self, _: &str, state: &UploadState) -> io::Result<UploadState> {
        Ok(state.clone())
    }

    async fn read_upload(&self, id: &str, state: &UploadState) -> io::Result<ByteStream> {
        let file = File::open(self.upload_path(id)?).await?;
        Ok(stream_file(file, state.size).await)
    }

    async fn commit_upload(
        &self,
        id: &str,
        state: &UploadState,
        digest: &Digest,
    ) -> io::Result<()> {
        commit_file(&self.upload_path(id)?, state.size, &self.blob_path(digest)).await
    }

    async fn delete_upload(&self, id: &str) -> io::Result<()> {
        match fs::remove_file(self.upload_path(id)?).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn delete(&self, digests: &[Digest]) -> io::Result<()> {
        for digest in digests {
            match fs::remove_file(self.blob_path(digest)).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
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

    async fn list_blobs(&self) -> io::Result<Vec<StoredBlob>> {
        let mut blobs = Vec::new();
        let mut dirs = vec![self.root.join("blobs")];
        while let Some(dir) = dirs.pop() {
            let mut entries = fs::read_dir(&dir).await?;
            while let Some(entry) = entries.next_entry().await? {
                let meta = entry.metadata().await?;
                if meta.is_dir() {
                    dirs.push(entry.path());
                    continue;
                }
                let path = entry.path();
                let relative = path.strip_prefix(&self.root).unwrap_or(&path);
                if let Some(digest) = relative.to_str().and_then(digest_of_path) {
                    blobs.push(StoredBlob {
                        digest,
                        size: meta.len(),
                    });
                }
            }
        }
        Ok(blobs)
    }
}

struct FsUploadWriter {
    file: BufWriter<File>,
    path: PathBuf,
    target: PathBuf,
    size: u64,
}

#[async_trait::async_trait]
impl UploadWriter for FsUploadWriter {
    async fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.file.write_all(&bytes).await?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> io::Result<UploadState> {
        self.file.flush().await?;
        Ok(UploadState {
            size: self.size,
            driver: String::new(),
        })
    }

    async fn commit(mut self: Box<Self>, digest: &Digest) -> io::Result<()> {
        self.file.flush().await?;
        let target = self.target.join(blob_path(digest));
        commit_file(&self.path, self.size, &target).await
    }
}

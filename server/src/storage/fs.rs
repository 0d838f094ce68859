//! The filesystem driver: `blobs/<alg>/<first two hex>/<hex>` and `uploads/<id>`
//! under one root. Commit is fsync(file) → rename → fsync(directory), so a
//! crash leaves either no blob or a complete one.
//!
//! Uploads are written in 512 KiB positional writes on a blocking thread, one in
//! flight while the request receives and hashes the next, and the kernel is
//! told to start writing each 8 MiB window back to disk as soon as it is full
//! (`sync_file_range`). The fsync before the `201` then finds almost nothing
//! left to write, instead of the whole blob.

use super::{
    blob_path, check_upload_id, digest_of_path, BlobStore, ByteStream, StoredBlob, UploadState,
    UploadWriter,
};
use berth_app::oci::Digest;
use bytes::Bytes;
use std::collections::HashMap;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::fs::{self, File, OpenOptions};
use tokio::task::JoinHandle;

/// Bytes per disk write: large enough for disk throughput, small enough for memory
/// (an upload holds at most two: one filling, one being written).
const IO_BUFFER: usize = 512 << 10;

/// Uploads start the writeback of each window of this many bytes once it is
/// written, and wait for the one before it, so an upload leaves at most two
/// windows of dirty pages behind it and the final fsync has little to do.
const WRITEBACK_WINDOW: u64 = 8 << 20;

/// Bytes per read when streaming a blob out.
const READ_CHUNK: usize = 1 << 20;

/// Chunks read ahead of the socket per download.
const READ_AHEAD: usize = 4;

/// Blobs on a local filesystem.
pub struct FsBlobStore {
    root: PathBuf,
    /// One gate per upload being written: a write in flight holds it, so a
    /// request that follows one that was dropped mid-write (the client went
    /// away) waits for that write before cutting the file back to its state.
    gates: Gates,
}

type WriteGate = Arc<tokio::sync::Mutex<()>>;
type Gates = Arc<Mutex<HashMap<String, WriteGate>>>;

fn forget_gate(gates: &Gates, id: &str) {
    gates.lock().expect("upload gates lock").remove(id);
}

impl FsBlobStore {
    /// A store rooted at `root` (created if missing).
    pub async fn open(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root.join("blobs")).await?;
        fs::create_dir_all(root.join("uploads")).await?;
        Ok(Self {
            root: root.to_owned(),
            gates: Gates::default(),
        })
    }

    fn gate(&self, id: &str) -> WriteGate {
        let mut gates = self.gates.lock().expect("upload gates lock");
        gates.entry(id.to_owned()).or_default().clone()
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
    let file = file.into_std().await;
    read_ahead(
        move |left| {
            use std::io::Read;
            let mut chunk = Vec::with_capacity(READ_CHUNK.min(left as usize));
            // `read_to_end` fills spare capacity without zeroing it first.
            (&file)
                .take(chunk.capacity() as u64)
                .read_to_end(&mut chunk)?;
            Ok(Bytes::from(chunk))
        },
        len,
    )
}

/// Streams the bytes `range` of a committed blob, `READ_CHUNK` at a time, by
/// positional reads. (Not by mapping the file: Berth never truncates a blob,
/// but if something else does while it is served, a mapping would kill the
/// whole process with SIGBUS, where a read just comes back short.) A short
/// read fails the stream, naming the blob, and is logged.
fn stream_blob(file: std::fs::File, digest: &Digest, range: Range<u64>) -> ByteStream {
    let mut position = range.start;
    let digest = digest.clone();
    read_ahead(
        move |left| {
            use std::os::unix::fs::FileExt;
            let len = READ_CHUNK.min(left as usize);
            let mut chunk = vec![0u8; len];
            let mut filled = 0;
            while filled < len {
                match file.read_at(&mut chunk[filled..], position + filled as u64) {
                    Ok(0) => return Err(shorter_than_recorded(&digest, position + filled as u64)),
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            position += len as u64;
            Ok(Bytes::from(chunk))
        },
        range.end - range.start,
    )
}

/// The error (logged here, naming the blob) for a blob file that ends at
/// `end`, before the bytes recorded for it: damaged on disk behind Berth's back.
fn shorter_than_recorded(digest: &Digest, end: u64) -> io::Error {
    tracing::error!(
        blob = %digest,
        file_ends_at = end,
        "the blob's file is shorter than recorded: it was damaged on disk; `berth fsck` lists \
         what is damaged"
    );
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the file of blob {digest} is shorter than recorded"),
    )
}

/// Streams `len` bytes that `next` produces on a blocking thread, a few chunks
/// ahead of the socket; `next` gets the bytes still to come.
fn read_ahead<F>(mut next: F, len: u64) -> ByteStream
where
    F: FnMut(u64) -> io::Result<Bytes> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut left = len;
        while left > 0 {
            let item = next(left).and_then(|chunk| match chunk.len() {
                0 => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the blob file is shorter than recorded",
                )),
                n => {
                    left -= n as u64;
                    Ok(chunk)
                }
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

/// Refuses an upload file shorter than the bytes its session counts. Appends
/// are not fsynced until the commit, so a power cut can take the last bytes of
/// an upload after its session recorded them; the filesystem then shows a
/// shorter file (ext4 and XFS grow a file's size only with its data), never
/// one padded with garbage. The upload cannot go on: its client starts again.
async fn check_holds(file: &File, size: u64) -> io::Result<()> {
    let held = file.metadata().await?.len();
    if held < size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "the upload file holds {held} bytes but its session counts {size}: \
                 bytes were lost before they reached the disk; the upload must start again"
            ),
        ));
    }
    Ok(())
}

/// Moves a complete upload file to its blob path durably: the first `size`
/// bytes (a failed request may have left more), fsync, rename, fsync the directory.
async fn commit_file(upload: &Path, size: u64, target: &Path) -> io::Result<()> {
    if fs::try_exists(target).await? {
        return fs::remove_file(upload).await;
    }
    let file = OpenOptions::new().write(true).open(upload).await?;
    check_holds(&file, size).await?;
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
        let file = File::open(self.blob_path(digest)).await?;
        let held = file.metadata().await?.len();
        if held < range.end {
            return Err(shorter_than_recorded(digest, held));
        }
        Ok(stream_blob(file.into_std().await, digest, range))
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
        let gate = self.gate(id);
        // A write a dropped request left in flight lands before the cut below.
        drop(gate.lock().await);
        let file = OpenOptions::new().write(true).open(&path).await?;
        check_holds(&file, state.size).await?;
        // Truncate anything past the state (bytes a failed request wrote but never counted).
        file.set_len(state.size).await?;
        Ok(Box::new(FsUploadWriter {
            file: Arc::new(file.into_std().await),
            gate,
            gates: self.gates.clone(),
            id: id.to_owned(),
            buffer: Vec::new(),
            spare: None,
            in_flight: None,
            path,
            target: self.root.clone(),
            size: state.size,
            handed_over: state.size,
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
        commit_file(&self.upload_path(id)?, state.size, &self.blob_path(digest)).await?;
        forget_gate(&self.gates, id);
        Ok(())
    }

    async fn delete_upload(&self, id: &str) -> io::Result<()> {
        let path = self.upload_path(id)?;
        forget_gate(&self.gates, id);
        match fs::remove_file(path).await {
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
    file: Arc<std::fs::File>,
    gate: WriteGate,
    gates: Gates,
    id: String,
    /// Bytes received and not yet handed to a disk write.
    buffer: Vec<u8>,
    /// The buffer of the last disk write, back for reuse: an upload allocates
    /// two buffers for its whole life, never one per write.
    spare: Option<Vec<u8>>,
    /// The disk write in flight, if any; it gives its buffer back.
    in_flight: Option<JoinHandle<io::Result<Vec<u8>>>>,
    path: PathBuf,
    target: PathBuf,
    /// Bytes the upload holds once everything received is written.
    size: u64,
    /// Bytes handed to disk writes so far (the next write's offset).
    handed_over: u64,
}

impl FsUploadWriter {
    /// Waits for the disk write in flight and takes its buffer back.
    async fn settle(&mut self) -> io::Result<()> {
        if let Some(write) = self.in_flight.take() {
            self.spare = Some(write.await.map_err(io::Error::other)??);
        }
        Ok(())
    }

    /// Hands the buffer to a disk write on a blocking thread, once the one
    /// before it is done.
    async fn hand_over(&mut self) -> io::Result<()> {
        self.settle().await?;
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut next = self
            .spare
            .take()
            .unwrap_or_else(|| Vec::with_capacity(IO_BUFFER));
        next.clear();
        let bytes = std::mem::replace(&mut self.buffer, next);
        let offset = self.handed_over;
        self.handed_over += bytes.len() as u64;
        let file = self.file.clone();
        let held = self.gate.clone().lock_owned().await;
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let _held = held;
            file.write_all_at(&bytes, offset)?;
            write_back(&file, offset, offset + bytes.len() as u64)?;
            Ok(bytes)
        }));
        Ok(())
    }

    /// Writes everything received.
    async fn drain(&mut self) -> io::Result<()> {
        self.hand_over().await?;
        self.settle().await
    }
}

/// Once a write reaches the end of a writeback window, starts writing that
/// window back and waits for the window before it (Linux; elsewhere the final
/// fsync does it all).
fn write_back(file: &std::fs::File, start: u64, end: u64) -> io::Result<()> {
    let window = end / WRITEBACK_WINDOW;
    if window == start / WRITEBACK_WINDOW || window == 0 {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let sync = |window: u64, flags| {
            let offset = ((window - 1) * WRITEBACK_WINDOW) as libc::off64_t;
            // SAFETY: a plain syscall on an open descriptor; no memory is passed.
            let done = unsafe {
                libc::sync_file_range(
                    file.as_raw_fd(),
                    offset,
                    WRITEBACK_WINDOW as libc::off64_t,
                    flags,
                )
            };
            if done == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        };
        sync(window, libc::SYNC_FILE_RANGE_WRITE)?;
        if window > 1 {
            sync(
                window - 1,
                libc::SYNC_FILE_RANGE_WAIT_BEFORE
                    | libc::SYNC_FILE_RANGE_WRITE
                    | libc::SYNC_FILE_RANGE_WAIT_AFTER,
            )?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl UploadWriter for FsUploadWriter {
    async fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.size += bytes.len() as u64;
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            if self.buffer.capacity() == 0 {
                self.buffer.reserve_exact(IO_BUFFER);
            }
            let take = (IO_BUFFER - self.buffer.len()).min(rest.len());
            self.buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buffer.len() == IO_BUFFER {
                self.hand_over().await?;
            }
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> io::Result<UploadState> {
        self.drain().await?;
        Ok(UploadState {
            size: self.size,
            driver: String::new(),
        })
    }

    async fn commit(mut self: Box<Self>, digest: &Digest) -> io::Result<()> {
        self.drain().await?;
        let target = self.target.join(blob_path(digest));
        commit_file(&self.path, self.size, &target).await?;
        forget_gate(&self.gates, &self.id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    /// A writeback the kernel refuses (here: not a regular file) is an error
    /// the upload reports, not one it ignores; within a window nothing is asked.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_refused_writeback_is_reported() {
        let device = std::fs::File::open("/dev/null").unwrap();
        assert!(write_back(&device, 0, WRITEBACK_WINDOW - 1).is_ok());
        let err = write_back(&device, 0, WRITEBACK_WINDOW).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ESPIPE), "{err}");
    }

    async fn collect(mut stream: ByteStream) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn a_blob_file_shorter_than_the_range_is_an_error_not_a_fault() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).await.unwrap();
        let digest = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        let path = store.blob_path(&digest);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, vec![7u8; 3 << 20]).unwrap();
        assert_eq!(
            collect(store.read(&digest, 0..3 << 20).await.unwrap())
                .await
                .unwrap()
                .len(),
            3 << 20
        );
        // Damaged on disk: shorter than the record says.
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let error = match store.read(&digest, 0..3 << 20).await {
            Err(error) => error,
            Ok(_) => panic!("a read past the end of the file was accepted"),
        };
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn a_dropped_request_s_writes_land_before_the_next_request_cuts_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(FsBlobStore::open(dir.path()).await.unwrap());
        store.create_upload("u").await.unwrap();
        // A request went away with a disk write still in flight: it holds the gate.
        let in_flight = store.gate("u").lock_owned().await;
        let next = tokio::spawn({
            let store = store.clone();
            async move {
                let mut writer = store.append_upload("u", &UploadState::default()).await?;
                writer.write(Bytes::from_static(b"fresh")).await?;
                writer.finish().await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !next.is_finished(),
            "the next request waits for the write in flight"
        );
        // The late write lands, past the saved state, then lets go.
        std::fs::write(store.upload_path("u").unwrap(), vec![1u8; 3 << 20]).unwrap();
        drop(in_flight);
        let state = next.await.unwrap().unwrap();
        assert_eq!(state.size, 5);
        let bytes = std::fs::read(store.upload_path("u").unwrap()).unwrap();
        assert_eq!(bytes, b"fresh", "nothing of the dropped request is left");
    }

    #[tokio::test]
    async fn an_upload_that_lost_counted_bytes_can_neither_go_on_nor_commit() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).await.unwrap();
        store.create_upload("u").await.unwrap();
        let mut writer = store
            .append_upload("u", &UploadState::default())
            .await
            .unwrap();
        writer.write(Bytes::from(vec![5u8; 100])).await.unwrap();
        let state = writer.finish().await.unwrap();
        // A power cut took the last 40 bytes after the session recorded 100.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(store.upload_path("u").unwrap())
            .unwrap();
        file.set_len(60).unwrap();
        let error = match store.append_upload("u", &state).await {
            Err(error) => error,
            Ok(_) => panic!("an upload short of its counted bytes went on"),
        };
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert!(error.to_string().contains("holds 60 bytes"), "{error}");
        let digest = Digest::parse(&format!("sha256:{}", "cd".repeat(32))).unwrap();
        let error = store.commit_upload("u", &state, &digest).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            store.stat(&digest).await.unwrap(),
            None,
            "nothing was committed"
        );
    }

    #[tokio::test]
    async fn a_request_dropped_mid_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).await.unwrap();
        store.create_upload("u").await.unwrap();
        for _ in 0..5 {
            let mut writer = store
                .append_upload("u", &UploadState::default())
                .await
                .unwrap();
            for _ in 0..3 {
                writer.write(Bytes::from(vec![1u8; 1 << 20])).await.unwrap();
            }
            drop(writer);
            let mut writer = store
                .append_upload("u", &UploadState::default())
                .await
                .unwrap();
            writer.write(Bytes::from_static(b"fresh")).await.unwrap();
            assert_eq!(writer.finish().await.unwrap().size, 5);
            let bytes = std::fs::read(store.upload_path("u").unwrap()).unwrap();
            assert_eq!(bytes, b"fresh");
        }
    }
}

//! Encrypted blobs over any [`BlobStore`] (issue 18 §2): the format of
//! `keys::segments` applied to uploads and reads, with the driver kept
//! bytes-only. The caller (the service) brings the blob's data key in the
//! clear; this module never sees a KMS key.
//!
//! - **Uploads** hold the header and then whole sealed segments in the store.
//!   The plaintext of the partial segment a request ends on is sealed (as a
//!   provisional last segment, under a fresh random nonce) into the upload's
//!   [`UploadState`], which the service keeps with the session, and opened
//!   again when the next request continues: so no upload byte is ever stored
//!   in the clear, in the store or in the metadata, and no stored segment is
//!   ever rewritten. The state's `size` stays the plaintext size the service
//!   counts and reports; the driver's own state travels inside it.
//! - **Reads** fetch only the stored segments that hold the range asked for
//!   and give out a segment's bytes only once it authenticated. A segment
//!   that fails ends the stream with an [`io::ErrorKind::InvalidData`] error
//!   and a log line naming the blob, before any of its bytes.

use super::{BlobStore, ByteStream, UploadState, UploadWriter};
use crate::keys::segments::{
    Header, Layout, RangeDecryptor, SegmentCipher, SegmentError, SegmentWriter, MAX_HEADER_LEN,
    SEGMENT_OVERHEAD,
};
use base64::Engine;
use berth_app::oci::Digest;
use bytes::Bytes;
use futures_util::StreamExt;
use std::io;
use std::ops::Range;

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// What an encrypted upload's [`UploadState::driver`] holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SavedUpload {
    /// The blob's encoded header (base64): the first bytes stored.
    header: String,
    /// Stored bytes of the driver's upload (header and whole segments).
    stored: u64,
    /// The driver's own state.
    driver: String,
    /// The last segment so far (partial, or full until more bytes come),
    /// sealed as the last one (base64); empty before the first append and
    /// once it is in the store.
    tail: String,
    /// Whether the last segment is in the store (the upload was sealed).
    #[serde(default)]
    complete: bool,
}

/// An encrypted upload's state, decoded.
struct Saved {
    header: Vec<u8>,
    inner: UploadState,
    tail: Vec<u8>,
    complete: bool,
}

impl Saved {
    fn load(state: &UploadState) -> io::Result<Self> {
        let saved: SavedUpload = serde_json::from_str(&state.driver)
            .map_err(|e| invalid(format!("an encrypted upload's state is damaged: {e}")))?;
        let b64 = |text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| invalid("an encrypted upload's state is damaged"))
        };
        Ok(Self {
            header: b64(&saved.header)?,
            inner: UploadState {
                size: saved.stored,
                driver: saved.driver,
            },
            tail: b64(&saved.tail)?,
            complete: saved.complete,
        })
    }

    fn save(&self, plain_size: u64) -> UploadState {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let saved = SavedUpload {
            header: b64(&self.header),
            stored: self.inner.size,
            driver: self.inner.driver.clone(),
            tail: b64(&self.tail),
            complete: self.complete,
        };
        UploadState {
            size: plain_size,
            driver: serde_json::to_string(&saved).expect("plain data serializes"),
        }
    }

    fn parsed_header(&self) -> io::Result<Header> {
        Ok(Header::decode(&self.header)
            .map_err(|e| invalid(e.to_string()))?
            .0)
    }

    /// Whole segments stored after the header.
    fn stored_segments(&self, header: &Header) -> io::Result<u64> {
        let body = self.inner.size.saturating_sub(self.header.len() as u64);
        let sealed = u64::from(header.segment_size) + SEGMENT_OVERHEAD;
        if self.inner.size != 0 && !body.is_multiple_of(sealed) {
            return Err(invalid(
                "an encrypted upload holds a partial segment in the store",
            ));
        }
        Ok(body / sealed)
    }
}

/// The state of a new encrypted upload whose blob gets `header`; the store's
/// upload must have been created ([`BlobStore::create_upload`]).
pub fn new_upload_state(header: &Header) -> UploadState {
    Saved {
        header: header.encode(),
        inner: UploadState::default(),
        tail: Vec::new(),
        complete: false,
    }
    .save(0)
}

/// The header of an encrypted upload (to find the key that opens its data key).
pub fn upload_header(state: &UploadState) -> io::Result<Header> {
    Saved::load(state)?.parsed_header()
}

/// Opens an encrypted upload to append plaintext after the `state.size`
/// bytes it holds; `data_key` is the blob's data key in the clear.
pub async fn append_upload(
    store: &dyn BlobStore,
    id: &str,
    state: &UploadState,
    data_key: &[u8; 32],
) -> io::Result<Box<dyn UploadWriter>> {
    let saved = Saved::load(state)?;
    if saved.complete {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the upload is sealed",
        ));
    }
    let header = saved.parsed_header()?;
    let index = saved.stored_segments(&header)?;
    let pending = if saved.tail.is_empty() {
        Vec::new()
    } else {
        let mut tail = saved.tail.clone();
        let cipher = SegmentCipher::new(data_key, &saved.header);
        cipher
            .open(index, true, &mut tail)
            .map_err(|e| invalid(format!("upload {id}: its saved tail does not open: {e}")))?
            .to_vec()
    };
    let plain_size = index * u64::from(header.segment_size) + pending.len() as u64;
    if plain_size != state.size {
        return Err(invalid(format!(
            "upload {id}: its encrypted state holds {plain_size} bytes but the session counts {}",
            state.size
        )));
    }
    let mut inner = store.append_upload(id, &saved.inner).await?;
    if saved.inner.size == 0 {
        inner.write(Bytes::from(saved.header.clone())).await?;
    }
    Ok(Box::new(EncryptingWriter {
        inner,
        segments: SegmentWriter::new(
            SegmentCipher::new(data_key, &saved.header),
            header.segment_size,
            index,
            pending,
        ),
        stored: if saved.inner.size == 0 {
            saved.header.len() as u64
        } else {
            saved.inner.size
        },
        plain_size,
        header: saved.header,
    }))
}

/// Ends appending (as [`BlobStore::seal_upload`] does) for an encrypted
/// upload: its last segment (already sealed, in the state) goes to the store
/// first, so what the store holds is the whole stored blob.
pub async fn seal_upload(
    store: &dyn BlobStore,
    id: &str,
    state: &UploadState,
) -> io::Result<UploadState> {
    let mut saved = Saved::load(state)?;
    if !saved.complete {
        saved.inner = store_tail(store, id, &saved).await?.finish().await?;
        saved.tail.clear();
        saved.complete = true;
    }
    saved.inner = store.seal_upload(id, &saved.inner).await?;
    Ok(saved.save(state.size))
}

/// A writer of the driver's upload that already holds the last segment
/// (sealed in the state), refused for an upload never appended to.
async fn store_tail(
    store: &dyn BlobStore,
    id: &str,
    saved: &Saved,
) -> io::Result<Box<dyn UploadWriter>> {
    if saved.tail.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("encrypted upload {id} was never appended to: it has no last segment yet"),
        ));
    }
    let mut inner = store.append_upload(id, &saved.inner).await?;
    inner.write(Bytes::from(saved.tail.clone())).await?;
    Ok(inner)
}

/// Streams the plaintext of an encrypted upload that [`seal_upload`] sealed.
pub async fn read_upload(
    store: &dyn BlobStore,
    id: &str,
    state: &UploadState,
    data_key: &[u8; 32],
) -> io::Result<ByteStream> {
    let saved = Saved::load(state)?;
    if saved.tail.is_empty() && !saved.complete {
        // Never appended to: nothing stored, nothing to check.
        return Ok(Box::pin(futures_util::stream::empty()));
    }
    let header = saved.parsed_header()?;
    let layout = Layout::new(&header, saved.header.len(), state.size);
    let stored = store.read_upload(id, &saved.inner).await?;
    // The store holds the header and the whole segments; the tail is in the state.
    let tail = futures_util::stream::iter(
        (!saved.tail.is_empty()).then(|| Ok(Bytes::from(saved.tail.clone()))),
    );
    let body = stored.chain(tail);
    let mut skip = saved.header.len();
    let body = body.map(move |chunk| {
        let chunk = chunk?;
        let drop = skip.min(chunk.len());
        skip -= drop;
        Ok(chunk.slice(drop..))
    });
    Ok(decrypting(
        Box::pin(body),
        SegmentCipher::new(data_key, &saved.header),
        layout,
        0..state.size,
        format!("upload {id}"),
    ))
}

/// Appends plaintext to an encrypted upload: whole segments go to the store
/// as they fill; the partial one ends in the state.
struct EncryptingWriter {
    inner: Box<dyn UploadWriter>,
    segments: SegmentWriter,
    header: Vec<u8>,
    /// Stored bytes of the driver's upload once what was handed over lands.
    stored: u64,
    plain_size: u64,
}

#[async_trait::async_trait]
impl UploadWriter for EncryptingWriter {
    async fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        let mut out = Vec::new();
        self.segments.write(&bytes, &mut out);
        self.plain_size += bytes.len() as u64;
        if !out.is_empty() {
            self.stored += out.len() as u64;
            self.inner.write(Bytes::from(out)).await?;
        }
        Ok(())
    }

    async fn finish(self: Box<Self>) -> io::Result<UploadState> {
        let Self {
            inner,
            segments,
            header,
            stored,
            plain_size,
        } = *self;
        // Sealed even when empty, so an empty upload reads back as one.
        let mut tail = Vec::new();
        segments.finish(&mut tail);
        let inner = inner.finish().await?;
        if inner.size != stored {
            return Err(invalid(format!(
                "the store holds {} bytes of an encrypted upload, {stored} were written",
                inner.size
            )));
        }
        Ok(Saved {
            header,
            inner,
            tail,
            complete: false,
        }
        .save(plain_size))
    }

    async fn commit(self: Box<Self>, digest: &Digest) -> io::Result<()> {
        let Self {
            mut inner,
            segments,
            ..
        } = *self;
        let mut last = Vec::new();
        segments.finish(&mut last);
        inner.write(Bytes::from(last)).await?;
        inner.commit(digest).await
    }
}

/// Commits an encrypted upload whose bytes are all appended as the stored
/// object `object` (as [`BlobStore::commit_upload`] does), with its last
/// segment (already sealed: no key is needed).
pub async fn commit_upload(
    store: &dyn BlobStore,
    id: &str,
    state: &UploadState,
    object: &Digest,
) -> io::Result<()> {
    let saved = Saved::load(state)?;
    if saved.complete {
        return store.commit_upload(id, &saved.inner, object).await;
    }
    store_tail(store, id, &saved).await?.commit(object).await
}

/// The header of the stored blob `object`, encoded and parsed.
pub async fn read_header(store: &dyn BlobStore, object: &Digest) -> io::Result<(Vec<u8>, Header)> {
    let size = store.stat(object).await?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("blob {object} is not stored"),
        )
    })?;
    let mut stream = store
        .read(object, 0..size.min(MAX_HEADER_LEN as u64))
        .await?;
    let mut prefix = Vec::new();
    while let Some(chunk) = stream.next().await {
        prefix.extend_from_slice(&chunk?);
        if let Some(len) = Header::stored_len(&prefix) {
            let len = len.map_err(|e| invalid(format!("blob {object}: {e}")))?;
            if prefix.len() >= len {
                let (header, _) =
                    Header::decode(&prefix).map_err(|e| invalid(format!("blob {object}: {e}")))?;
                prefix.truncate(len);
                return Ok((prefix, header));
            }
        }
    }
    Err(invalid(format!(
        "blob {object}: {}",
        SegmentError::BadHeader("cut short")
    )))
}

/// Streams the plaintext bytes `range` of the stored blob `object`, whose
/// plaintext is `plain_len` bytes and whose encoded header is `header`,
/// decrypting only the segments the range touches.
pub async fn read(
    store: &dyn BlobStore,
    object: &Digest,
    header: &[u8],
    data_key: &[u8; 32],
    plain_len: u64,
    range: Range<u64>,
) -> io::Result<ByteStream> {
    let (parsed, header_len) = Header::decode(header).map_err(|e| invalid(e.to_string()))?;
    let layout = Layout::new(&parsed, header_len, plain_len);
    let stored = store.stat(object).await?;
    if stored != Some(layout.stored_len()) {
        let error = invalid(format!(
            "blob {object}: {} bytes are stored, its encryption layout needs {}",
            stored.unwrap_or_default(),
            layout.stored_len()
        ));
        tracing::error!(blob = %object, "{error}; `berth fsck` lists what is damaged");
        return Err(error);
    }
    let fetch = layout.stored_range_for(&range);
    let body = if fetch.is_empty() {
        Box::pin(futures_util::stream::empty()) as ByteStream
    } else {
        store.read(object, fetch).await?
    };
    Ok(decrypting(
        body,
        SegmentCipher::new(data_key, header),
        layout,
        range,
        format!("blob {object}"),
    ))
}

/// Decrypts `stored` (the stored segments that hold `range`) into the
/// plaintext of `range`, ending with an error, logged with `what`, at the
/// first segment that does not authenticate (before any of its bytes).
fn decrypting(
    stored: ByteStream,
    cipher: SegmentCipher,
    layout: Layout,
    range: Range<u64>,
    what: String,
) -> ByteStream {
    struct Reading {
        stored: ByteStream,
        decryptor: RangeDecryptor,
        what: String,
        /// The error to give once the good bytes before it are out.
        failed: Option<io::Error>,
        done: bool,
    }
    let state = Reading {
        stored,
        decryptor: RangeDecryptor::new(cipher, layout, range),
        what,
        failed: None,
        done: false,
    };
    Box::pin(futures_util::stream::unfold(
        state,
        |mut state| async move {
            if let Some(error) = state.failed.take() {
                state.done = true;
                return Some((Err(error), state));
            }
            if state.done {
                return None;
            }
            loop {
                let mut out = Vec::new();
                let result = match state.stored.next().await {
                    Some(Ok(chunk)) => {
                        out.reserve(chunk.len());
                        state.decryptor.feed(&chunk, &mut out)
                    }
                    Some(Err(error)) => {
                        state.done = true;
                        return Some((Err(error), state));
                    }
                    None => {
                        state.done = true;
                        state.decryptor.finish()
                    }
                };
                if let Err(error) = result {
                    tracing::error!(
                        blob = %state.what,
                        "{} stops: {error}; `berth fsck` lists what is damaged",
                        state.what
                    );
                    let error = invalid(format!("{}: {error}", state.what));
                    if out.is_empty() {
                        state.done = true;
                        return Some((Err(error), state));
                    }
                    // The segments that authenticated before the bad one go out first.
                    state.failed = Some(error);
                }
                if !out.is_empty() {
                    return Some((Ok(Bytes::from(out)), state));
                }
                if state.done {
                    return None;
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::FsBlobStore;
    use berth_app::oci::DigestAlgorithm;
    use sha2::{Digest as _, Sha256};

    const KEY: [u8; 32] = [3; 32];
    const MARKER: &[u8] = b"BERTH-MARKER-7f3a";

    fn plaintext(len: usize) -> Vec<u8> {
        let mut bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
        for at in (0..len.saturating_sub(MARKER.len())).step_by(5000) {
            bytes[at..at + MARKER.len()].copy_from_slice(MARKER);
        }
        bytes
    }

    fn header() -> Header {
        Header::new("key-1", &[9; 60])
    }

    async fn collect(mut stream: ByteStream) -> (Vec<u8>, Option<io::Error>) {
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(error) => return (out, Some(error)),
            }
        }
        (out, None)
    }

    /// Every file under `root`, with its bytes.
    fn files(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(files(&path));
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap()));
            }
        }
        out
    }

    fn holds_marker(bytes: &[u8]) -> bool {
        bytes.windows(MARKER.len()).any(|w| w == MARKER)
    }

    /// An upload in uneven requests: no plaintext on disk between requests,
    /// the sealed upload reads back, the committed blob reads back whole and
    /// in ranges across segment boundaries.
    #[tokio::test]
    async fn uploads_and_reads_never_store_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).await.unwrap();
        let plain = plaintext(300_000);
        store.create_upload("u1").await.unwrap();
        let mut state = new_upload_state(&header());
        for chunk in [
            &plain[..1000],
            &plain[1000..70_000],
            &plain[70_000..200_001],
            &plain[200_001..],
        ] {
            let mut writer = append_upload(&store, "u1", &state, &KEY).await.unwrap();
            for piece in chunk.chunks(4099) {
                writer.write(Bytes::copy_from_slice(piece)).await.unwrap();
            }
            state = writer.finish().await.unwrap();
            assert_eq!(
                state.size as usize,
                chunk.as_ptr() as usize - plain.as_ptr() as usize + chunk.len()
            );
            assert!(!holds_marker(state.driver.as_bytes()));
            for (path, bytes) in files(dir.path()) {
                assert!(!holds_marker(&bytes), "plaintext in {}", path.display());
            }
        }
        let sealed = seal_upload(&store, "u1", &state).await.unwrap();
        let (upload_bytes, error) =
            collect(read_upload(&store, "u1", &sealed, &KEY).await.unwrap()).await;
        assert!(error.is_none(), "{error:?}");
        assert_eq!(upload_bytes, plain);

        let object = Digest::from_hash(DigestAlgorithm::Sha256, &Sha256::digest(b"object"));
        commit_upload(&store, "u1", &sealed, &object).await.unwrap();
        for (path, bytes) in files(dir.path()) {
            assert!(!holds_marker(&bytes), "plaintext in {}", path.display());
        }
        let (encoded, parsed) = read_header(&store, &object).await.unwrap();
        assert_eq!(parsed, header());
        let len = plain.len() as u64;
        let seg = u64::from(parsed.segment_size);
        for range in [
            0..len,
            0..1,
            seg - 1..seg + 1,
            seg..2 * seg,
            5..len - 5,
            len - 1..len,
        ] {
            let stream = read(&store, &object, &encoded, &KEY, len, range.clone())
                .await
                .unwrap();
            let (bytes, error) = collect(stream).await;
            assert!(error.is_none(), "{range:?}: {error:?}");
            assert_eq!(
                bytes,
                plain[range.start as usize..range.end as usize],
                "{range:?}"
            );
        }
    }

    /// A flipped byte in the third segment: the segments before it are
    /// sent, then the stream fails, and none of the third's bytes go out.
    #[tokio::test]
    async fn a_flipped_byte_ends_the_read_before_its_segment() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).await.unwrap();
        let plain = plaintext(200_000);
        store.create_upload("u2").await.unwrap();
        let mut writer = append_upload(&store, "u2", &new_upload_state(&header()), &KEY)
            .await
            .unwrap();
        writer.write(Bytes::from(plain.clone())).await.unwrap();
        let object = Digest::from_hash(DigestAlgorithm::Sha256, &Sha256::digest(b"u2"));
        writer.commit(&object).await.unwrap();

        let (encoded, parsed) = read_header(&store, &object).await.unwrap();
        let layout = Layout::new(&parsed, encoded.len(), plain.len() as u64);
        let (path, mut bytes) = files(dir.path())
            .into_iter()
            .find(|(path, _)| path.to_string_lossy().contains(object.hex()))
            .unwrap();
        bytes[layout.stored_range(2).start as usize + 100] ^= 0x20;
        std::fs::write(&path, bytes).unwrap();

        let stream = read(
            &store,
            &object,
            &encoded,
            &KEY,
            plain.len() as u64,
            0..plain.len() as u64,
        )
        .await
        .unwrap();
        let (sent, error) = collect(stream).await;
        let error = error.expect("the read fails");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("segment 2"), "{error}");
        assert_eq!(sent.len(), 2 * 65536, "only the good segments before it");
        assert!(
            sent == plain[..2 * 65536],
            "the good segments are the plaintext"
        );
    }
}

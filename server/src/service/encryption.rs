//! Encryption at rest on the blob path (issue 18 §2): which stored object
//! holds a blob for a repository, and the data keys that open it.
//!
//! Every repository has a KMS key ([`Registry::repository_key`]). A blob is
//! stored once per key that protects a repository linking it: a copy named
//! [`copy_object`]`(digest, key)` in `keys::segments`' format (a header
//! naming the key and the blob's data key wrapped by it, then AES-256-GCM
//! segments of 64 KiB), so deduplication holds within a key. Uploads are
//! encrypted from their first byte (`storage::encrypted`); a blob that
//! reaches a repository under another key (a mount) is re-encrypted from
//! an existing copy's plaintext, its digest verified on the way.
//!
//! A link records the key it reads under (`blob_links.key_id`). Links made
//! before this change have none: their blob is still stored in the clear
//! under its digest, read as it is, until the encryption job
//! (`jobs::encrypt`) makes its copies and removes it.
//!
//! Opening a data key goes through the key service, which refuses a
//! disabled, pending-deletion or deleted key: such a key refuses pushes and
//! pulls alike with [`ServiceError::Kms`].

use super::kms::KeyRef;
use super::{Registry, ServiceError, ServiceResult};
use crate::db::BlobCopy;
use crate::keys::segments::Header;
use crate::storage::{encrypted, BlobStore, ByteStream, UploadState, UploadWriter};
use berth_app::oci::{Digest, DigestAlgorithm};
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256, Sha512};
use std::ops::Range;
use std::sync::Arc;
use zeroize::Zeroizing;

/// The stored object that holds `digest`'s copy under key `key_id`:
/// sha256 of the digest, a NUL and the key id, so one key's copies of a blob
/// share one object and two keys' never do.
pub fn copy_object(digest: &Digest, key_id: &str) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(digest.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(key_id.as_bytes());
    Digest::from_hash(DigestAlgorithm::Sha256, &hasher.finalize())
}

/// One blob's bytes, opened for reading: an encrypted copy with its data key
/// in the clear, or (before the encryption job reached it) the plain blob.
pub struct BlobSource {
    store: Arc<dyn BlobStore>,
    digest: Digest,
    size: u64,
    sealed: Option<SealedCopy>,
}

struct SealedCopy {
    object: Digest,
    header: Vec<u8>,
    data_key: Zeroizing<[u8; 32]>,
}

impl BlobSource {
    /// A blob's plain bytes, as stored before encryption at rest.
    pub(crate) fn plain(store: Arc<dyn BlobStore>, digest: Digest, size: u64) -> Self {
        Self {
            store,
            digest,
            size,
            sealed: None,
        }
    }

    /// The blob's plaintext size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Streams the plaintext bytes `range`, decrypting only the segments it
    /// touches; a segment that does not authenticate ends the stream with an
    /// error (logged, naming the blob) before any of its bytes.
    pub async fn read(&self, range: Range<u64>) -> std::io::Result<ByteStream> {
        match &self.sealed {
            None => self.store.read(&self.digest, range).await,
            Some(copy) => {
                // The store logs the object; these name the blob it holds.
                let digest = self.digest.clone();
                let stream = encrypted::read(
                    &*self.store,
                    &copy.object,
                    &copy.header,
                    &copy.data_key,
                    self.size,
                    range,
                )
                .await
                .inspect_err(|error| {
                    if error.kind() == std::io::ErrorKind::InvalidData {
                        tracing::error!(blob = %digest, "blob {digest} cannot be read: {error}");
                    }
                })?;
                Ok(Box::pin(stream.inspect(move |chunk| {
                    if let Err(error) = chunk {
                        if error.kind() == std::io::ErrorKind::InvalidData {
                            tracing::error!(blob = %digest, "blob {digest} cannot be read: {error}");
                        }
                    }
                })))
            }
        }
    }

    /// The blob's digest.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// Whether the bytes are an encrypted copy.
    pub fn is_encrypted(&self) -> bool {
        self.sealed.is_some()
    }

    /// The digest of the whole plaintext, read through (for checks).
    pub async fn hash(&self) -> std::io::Result<(Digest, u64)> {
        let mut stream = self.read(0..self.size).await?;
        let mut hasher = BlobHasher::new(self.digest.algorithm());
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk?);
        }
        Ok(hasher.finish())
    }
}

/// The digest of bytes read, in the algorithm of the digest they should have.
struct BlobHasher {
    sha256: Option<Sha256>,
    sha512: Option<Sha512>,
    len: u64,
}

impl BlobHasher {
    fn new(algorithm: DigestAlgorithm) -> Self {
        Self {
            sha256: (algorithm == DigestAlgorithm::Sha256).then(Sha256::new),
            sha512: (algorithm == DigestAlgorithm::Sha512).then(Sha512::new),
            len: 0,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if let Some(h) = &mut self.sha256 {
            h.update(bytes);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(bytes);
        }
    }

    /// The digest and the number of bytes hashed.
    fn finish(self) -> (Digest, u64) {
        let digest = match (self.sha256, self.sha512) {
            (Some(h), _) => Digest::from_hash(DigestAlgorithm::Sha256, &h.finalize()),
            (_, Some(h)) => Digest::from_hash(DigestAlgorithm::Sha512, &h.finalize()),
            (None, None) => unreachable!("one hasher is made"),
        };
        (digest, self.len)
    }
}

impl Registry {
    /// Opens a recorded copy: its data key unwrapped by the key its header
    /// names (refused when that key is disabled, pending deletion or deleted).
    pub(super) async fn open_copy(&self, copy: &BlobCopy, size: u64) -> ServiceResult<BlobSource> {
        let digest = parse_recorded(&copy.digest)?;
        let object = parse_recorded(&copy.object)?;
        let (header, _) = Header::decode(&copy.header).map_err(|e| {
            ServiceError::Storage(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("blob {digest}: its recorded encryption header is damaged: {e}"),
            ))
        })?;
        let key = KeyRef {
            key_id: header.key_id.clone(),
        };
        let data_key = self.open_data_key(&key, &header.wrapped_key).await?;
        Ok(BlobSource {
            store: self.store.clone(),
            digest,
            size,
            sealed: Some(SealedCopy {
                object,
                header: copy.header.clone(),
                data_key,
            }),
        })
    }

    /// The plain bytes of a blob pushed before encryption at rest.
    pub(super) fn plain_source(&self, digest: &Digest, size: u64) -> BlobSource {
        BlobSource::plain(self.store.clone(), digest.clone(), size)
    }

    /// Opens `digest` as a link under `key_id` reads it (`None`: the plain
    /// blob of an old installation).
    pub(super) async fn blob_source(
        &self,
        digest: &Digest,
        size: u64,
        key_id: Option<&str>,
    ) -> ServiceResult<BlobSource> {
        let Some(key_id) = key_id else {
            return Ok(self.plain_source(digest, size));
        };
        let copy = self
            .db
            .blob_copy(digest.as_str(), key_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Storage(std::io::Error::other(format!(
                    "blob {digest}: a link reads it under key {key_id}, which has no copy of it"
                )))
            })?;
        self.open_copy(&copy, size).await
    }

    /// A new encrypted upload's state: a fresh data key under the
    /// repository's key (refused when that key cannot be used).
    pub(super) async fn new_encrypted_upload(
        &self,
        repository: &crate::model::Repository,
    ) -> ServiceResult<UploadState> {
        let key = self.repository_key(repository).await?;
        let data_key = self.new_data_key(&key).await?;
        Ok(encrypted::new_upload_state(&Header::new(
            &key.key_id,
            &data_key.wrapped,
        )))
    }

    /// The key an encrypted upload is written under, and its data key.
    pub(super) async fn upload_keys(
        &self,
        id: &str,
        state: &UploadState,
    ) -> ServiceResult<(String, Zeroizing<[u8; 32]>)> {
        // Only a session started before encryption at rest has no
        // encryption header: its bytes are plain, and it cannot go on
        // encrypted, so the client starts again.
        let header =
            encrypted::upload_header(state).map_err(|_| ServiceError::UploadLost(id.to_owned()))?;
        let key = KeyRef {
            key_id: header.key_id.clone(),
        };
        let data_key = self.open_data_key(&key, &header.wrapped_key).await?;
        Ok((header.key_id, data_key))
    }

    /// Opens an encrypted upload to append plaintext.
    pub(super) async fn append_encrypted(
        &self,
        id: &str,
        state: &UploadState,
    ) -> ServiceResult<Result<Box<dyn UploadWriter>, std::io::Error>> {
        let (_, data_key) = self.upload_keys(id, state).await?;
        Ok(encrypted::append_upload(&*self.store, id, state, &data_key).await)
    }

    /// The copy of a committed upload's object as the store holds it: its
    /// header read back from the store, so the record always matches the
    /// bytes (an object committed first by another upload of the same blob
    /// under the same key keeps its own header).
    pub(super) async fn stored_copy(
        &self,
        digest: &Digest,
        key_id: &str,
    ) -> ServiceResult<Option<BlobCopy>> {
        let object = copy_object(digest, key_id);
        if self.store.stat(&object).await?.is_none() {
            return Ok(None);
        }
        let (header, _) = encrypted::read_header(&*self.store, &object).await?;
        Ok(Some(BlobCopy {
            digest: digest.to_string(),
            key_id: key_id.to_owned(),
            object: object.to_string(),
            header,
        }))
    }

    /// Makes (or finds) the copy of a blob under `key`, re-encrypting the
    /// plaintext of `from` (an existing copy or the plain blob) and
    /// verifying its digest before it is committed and recorded.
    pub(super) async fn ensure_copy(
        &self,
        from: &BlobSource,
        key: &KeyRef,
    ) -> ServiceResult<BlobCopy> {
        let digest = &from.digest;
        if let Some(copy) = self.db.blob_copy(digest.as_str(), &key.key_id).await? {
            return Ok(copy);
        }
        let object = copy_object(digest, &key.key_id);
        if self.store.stat(&object).await?.is_none() {
            let data_key = self.new_data_key(key).await?;
            let header = Header::new(&key.key_id, &data_key.wrapped);
            let id = uuid::Uuid::new_v4().to_string();
            self.store.create_upload(&id).await?;
            let written = async {
                let state = encrypted::new_upload_state(&header);
                let mut writer =
                    encrypted::append_upload(&*self.store, &id, &state, &data_key.plaintext)
                        .await?;
                let mut bytes = from.read(0..from.size).await?;
                let mut hasher = BlobHasher::new(digest.algorithm());
                while let Some(chunk) = bytes.next().await {
                    let chunk = chunk?;
                    hasher.update(&chunk);
                    writer.write(chunk).await?;
                }
                let (actual, len) = hasher.finish();
                if &actual != digest || len != from.size {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "blob {digest}: its stored bytes read back as {len} bytes hashing to {actual}; not copied under key {}",
                            key.key_id
                        ),
                    ));
                }
                writer.commit(&object).await
            }
            .await;
            if let Err(error) = written {
                let _ = self.store.delete_upload(&id).await;
                return Err(error.into());
            }
        }
        let copy = self
            .stored_copy(digest, &key.key_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Storage(std::io::Error::other(format!(
                    "blob {digest}: its copy under key {} vanished as it was made",
                    key.key_id
                )))
            })?;
        let mut write = self.db.begin_blob_write().await?;
        if self.store.stat(&object).await?.is_none() {
            return Err(ServiceError::Storage(std::io::Error::other(format!(
                "blob {digest}: its copy under key {} was collected as it was made",
                key.key_id
            ))));
        }
        write.record_copy(&copy).await?;
        let recorded = write.copy(digest.as_str(), &key.key_id).await?;
        write.commit().await?;
        Ok(recorded.unwrap_or(copy))
    }
}

/// What a run of the encryption job did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct EncryptionReport {
    /// Links of old blobs now read through an encrypted copy.
    pub links: usize,
    /// Plain blobs removed once every link read a copy.
    pub plain_removed: usize,
    /// One line per link that could not be encrypted (its key unusable, its
    /// bytes unreadable or not matching their digest); a later run tries again.
    pub problems: Vec<String>,
}

impl EncryptionReport {
    /// One line: what the run did.
    pub fn summary(&self) -> String {
        format!(
            "encrypted {} link(s) of blobs stored in the clear; removed {} plain blob(s); {} problem(s){}",
            self.links,
            self.plain_removed,
            self.problems.len(),
            self.problems
                .first()
                .map(|p| format!(", the first: {p}"))
                .unwrap_or_default()
        )
    }
}

impl Registry {
    /// Whether blobs pushed before encryption at rest are still stored in
    /// the clear (the encryption job has work).
    pub async fn has_plain_blobs(&self) -> ServiceResult<bool> {
        Ok(self.db.any_plain_blob().await?)
    }

    /// Encrypts the blobs an installation stored before encryption at rest:
    /// each link that reads one in the clear gets a copy under its
    /// repository's key (re-encrypted from the plain bytes, digest
    /// verified) and reads it from then on; then the plain bytes no link
    /// reads any more are removed. Readable throughout: a read that finds
    /// the plain bytes gone reads again through its link. Its progress is
    /// the metadata itself, so a run that stops is continued by the next.
    pub async fn encrypt_plain_blobs(&self) -> ServiceResult<EncryptionReport> {
        let mut report = EncryptionReport::default();
        for (name, digest, size) in self.db.unencrypted_links().await? {
            let Ok(digest) = Digest::parse(&digest) else {
                report
                    .problems
                    .push(format!("{name}@{digest}: the recorded digest is malformed"));
                continue;
            };
            match self.encrypt_link(&name, &digest, size as u64).await {
                Ok(()) => report.links += 1,
                Err(error) => report.problems.push(format!("{name}@{digest}: {error}")),
            }
        }
        for digest in self.db.plain_blobs_done().await? {
            let Ok(digest) = Digest::parse(&digest) else {
                continue;
            };
            let mut write = self.db.begin_blob_write().await?;
            if write.forget_plain(digest.as_str()).await? {
                write.commit().await?;
                self.store.delete(std::slice::from_ref(&digest)).await?;
                report.plain_removed += 1;
            }
        }
        Ok(report)
    }

    /// Gives one old link a copy under its repository's key and reads it from there.
    async fn encrypt_link(&self, name: &str, digest: &Digest, size: u64) -> ServiceResult<()> {
        let repo = self.repository(name).await?;
        let key = self.repository_key(&repo).await?;
        self.ensure_copy(&self.plain_source(digest, size), &key)
            .await?;
        let mut write = self.db.begin_blob_write().await?;
        if write.copy(digest.as_str(), &key.key_id).await?.is_some() {
            write
                .set_link_key(repo.id, digest.as_str(), &key.key_id)
                .await?;
        }
        write.commit().await?;
        Ok(())
    }
}

fn parse_recorded(text: &str) -> ServiceResult<Digest> {
    Digest::parse(text).map_err(|_| {
        ServiceError::Storage(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the recorded digest {text:?} is malformed"),
        ))
    })
}

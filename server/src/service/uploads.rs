//! Blob uploads: sessions, streamed and chunked appends with the digest computed
//! on the fly, verification and commit, cross-repository mounts, cancel.
//!
//! Each request loads the session's saved progress (size, SHA-256 state, the
//! blob store's record), appends, and saves the new progress only once the
//! store holds the bytes; so the saved progress always describes stored bytes,
//! and any request, after a restart too, continues from it.
//!
//! A commit stores the blob, then records it (links it, removes the session).
//! A crash between the two leaves the session open with its bytes already in
//! the blob; the client's `PUT` again (after `GET` of the session, as a
//! resuming client does) finds the blob and records it then. Only a `PATCH`,
//! which cannot append to bytes that are gone, is told to start again.
//!
//! Every upload is encrypted from its first byte (`service::encryption`,
//! `storage::encrypted`): its session starts with a fresh data key wrapped by
//! the repository's key, its saved progress holds the sealed partial segment,
//! and its commit stores the blob's copy under that key.

use super::encryption::copy_object;
use super::limits::{check_blob_size, LimitExceeded};
use super::upload_hash::UploadHasher;
use super::{Registry, ServiceError, ServiceResult};
use crate::db::now_millis;
use crate::storage::{encrypted, UploadState, UploadWriter};
use berth_app::oci::{Digest, DigestAlgorithm};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest as _, Sha512};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type UploadLock = Arc<tokio::sync::Mutex<()>>;

/// One lock per upload in progress, so requests on one upload run one at a time.
#[derive(Default)]
pub(super) struct UploadProgressMap(Mutex<HashMap<String, UploadLock>>);

impl UploadProgressMap {
    fn slot(&self, id: &str) -> UploadLock {
        self.0
            .lock()
            .expect("upload map lock")
            .entry(id.to_owned())
            .or_default()
            .clone()
    }

    fn forget(&self, id: &str) {
        self.0.lock().expect("upload map lock").remove(id);
    }
}

/// What streaming a request body into a writer came to: the writer, and on
/// failure why the stream stopped (the body ended early, or the store failed).
type Streamed = Result<Box<dyn UploadWriter>, (Box<dyn UploadWriter>, ServiceError)>;

/// An upload's saved progress.
struct Progress {
    hasher: UploadHasher,
    state: UploadState,
}

/// Where an upload stands.
#[derive(Debug, Clone)]
pub struct UploadStatus {
    /// Session id.
    pub id: String,
    /// Bytes received.
    pub size: u64,
}

/// What a mount request did.
#[derive(Debug)]
pub enum MountOutcome {
    /// The blob is now linked; no upload needed.
    Mounted(Digest),
    /// The blob could not be mounted; an upload session was started instead.
    Started(UploadStatus),
}

/// Who starts an upload: the user whose open uploads it counts against.
#[derive(Debug, Clone, Copy)]
pub struct Uploader<'a> {
    /// The user's row id.
    pub user_id: i64,
    /// The user's name, for messages.
    pub name: &'a str,
}

/// A chunk's position as the client declared it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChunkHeaders {
    /// `Content-Range: start-end` (inclusive).
    pub range: Option<(u64, u64)>,
    /// `Content-Length`.
    pub length: Option<u64>,
}

impl Registry {
    /// Starts an upload session in a repository (creating it on first push),
    /// unless `by` has as many uploads open as [`Limits::uploads_per_user`].
    ///
    /// [`Limits::uploads_per_user`]: super::Limits::uploads_per_user
    pub async fn start_upload(&self, name: &str, by: Uploader<'_>) -> ServiceResult<UploadStatus> {
        let repo = self.repository_for_push(name).await?;
        // The key first: a key that cannot be used refuses the push before
        // anything is made.
        let encrypted = self.new_encrypted_upload(&repo).await?;
        let id = uuid::Uuid::new_v4().to_string();
        // The session first: whatever the store holds for an upload then has a
        // session, or is a leftover (see `expire_uploads`).
        let limit = self.limits.uploads_per_user;
        let created = self
            .db
            .create_upload(&id, repo.id, by.user_id, limit, &UploadHasher::new().save())
            .await?;
        if !created {
            return Err(LimitExceeded::UploadsPerUser {
                user: by.name.to_owned(),
                limit,
            }
            .into());
        }
        if let Err(e) = self.store.create_upload(&id).await {
            self.db.delete_upload(&id).await?;
            return Err(e.into());
        }
        let progress = Progress {
            hasher: UploadHasher::new(),
            state: encrypted,
        };
        if let Err(e) = self.save_progress(&id, &progress).await {
            self.discard(&id).await?;
            return Err(e);
        }
        Ok(UploadStatus { id, size: 0 })
    }

    /// Links `digest` from `from` if that repository has it and blob mounting
    /// (the `BLOB_MOUNTING` account setting) is enabled; otherwise starts a
    /// session, as the OCI spec asks of a mount that is not done.
    pub async fn mount_or_start(
        &self,
        name: &str,
        digest: &Digest,
        from: Option<&str>,
        by: Uploader<'_>,
    ) -> ServiceResult<MountOutcome> {
        let repo = self.repository_for_push(name).await?;
        let from = match self.blob_mounting_enabled().await? {
            true => from,
            false => None,
        };
        if let Some(from) = from.filter(|f| berth_app::oci::validate_repository_name(f).is_ok()) {
            if let Some(source) = self.db.repository(from).await? {
                if self.mount(&repo, source.id, digest).await? {
                    return Ok(MountOutcome::Mounted(digest.clone()));
                }
            }
        }
        Ok(MountOutcome::Started(self.start_upload(name, by).await?))
    }

    /// Links `digest` from the repository `source_id` into `repo`, under
    /// `repo`'s key: a copy under that key is made first if the blob has
    /// none (re-encrypted from the source's copy, its digest verified).
    /// False if the source does not link the blob.
    async fn mount(
        &self,
        repo: &crate::model::Repository,
        source_id: i64,
        digest: &Digest,
    ) -> ServiceResult<bool> {
        let Some(link) = self.db.linked_blob(source_id, digest.as_str()).await? else {
            return Ok(false);
        };
        let key = self.repository_key(repo).await?;
        if link.key_id.as_deref() != Some(key.key_id.as_str()) {
            let from = self
                .blob_source(digest, link.size as u64, link.key_id.as_deref())
                .await?;
            self.ensure_copy(&from, &key).await?;
        }
        let mut write = self.db.begin_blob_write().await?;
        if write.copy(digest.as_str(), &key.key_id).await?.is_none() {
            // Collected since: the client uploads the blob instead.
            return Ok(false);
        }
        let mounted = write
            .mount_blob(repo.id, source_id, digest.as_str(), &key.key_id)
            .await?;
        write.commit().await?;
        Ok(mounted)
    }

    /// The state of an upload session.
    pub async fn upload_status(&self, name: &str, id: &str) -> ServiceResult<UploadStatus> {
        self.check_session(name, id).await?;
        let slot = self.uploads.slot(id);
        let _one_at_a_time = slot.lock().await;
        let progress = self.load_progress(id).await?;
        Ok(UploadStatus {
            id: id.to_owned(),
            size: progress.state.size,
        })
    }

    /// Appends a chunk (or a whole streamed body) to an upload.
    pub async fn append_upload<S, E>(
        &self,
        name: &str,
        id: &str,
        chunk: ChunkHeaders,
        body: S,
    ) -> ServiceResult<UploadStatus>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        self.check_session(name, id).await?;
        let slot = self.uploads.slot(id);
        let _one_at_a_time = slot.lock().await;
        let mut progress = self.load_progress(id).await?;
        check_chunk(chunk, progress.state.size)?;
        self.check_declared_size(chunk, progress.state.size)?;
        if chunk.length != Some(0) {
            let writer = self.open_upload(id, &progress.state).await?;
            let limit = self.limits.blob_size;
            let streamed = stream_into(writer, &mut progress.hasher, body, limit).await;
            self.keep(id, &mut progress, streamed).await?;
        } else {
            self.save_progress(id, &progress).await?;
        }
        Ok(UploadStatus {
            id: id.to_owned(),
            size: progress.state.size,
        })
    }

    /// Appends an optional last chunk, verifies the digest and commits the blob.
    pub async fn finish_upload<S, E>(
        &self,
        name: &str,
        id: &str,
        digest: &Digest,
        chunk: ChunkHeaders,
        body: S,
    ) -> ServiceResult<()>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let repo_id = self.check_session(name, id).await?;
        let slot = self.uploads.slot(id);
        let _one_at_a_time = slot.lock().await;
        let mut progress = self.load_progress(id).await?;
        check_chunk(chunk, progress.state.size)?;
        self.check_declared_size(chunk, progress.state.size)?;
        let (key_id, _) = self.upload_keys(id, &progress.state).await?;
        let object = copy_object(digest, &key_id);
        let mut committed = false;
        if chunk.length != Some(0) {
            let writer = match self.append_encrypted(id, &progress.state).await? {
                Ok(writer) => writer,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    hash_rest(&mut progress.hasher, body, self.limits.blob_size).await?;
                    return self.finish_committed(id, repo_id, digest, &progress).await;
                }
                Err(e) => return Err(e.into()),
            };
            let limit = self.limits.blob_size;
            let streamed = stream_into(writer, &mut progress.hasher, body, limit).await;
            match (streamed, digest.algorithm()) {
                // The common case: the digest is known as the last byte arrives,
                // and the store commits straight from what it holds in memory.
                (Ok(writer), DigestAlgorithm::Sha256) => {
                    let computed = sha256_of(&progress.hasher);
                    if &computed != digest {
                        drop(writer);
                        return Err(self.mismatch(id, digest, computed).await);
                    }
                    writer.commit(&object).await?;
                    progress.state.size = progress.hasher.bytes_hashed();
                    committed = true;
                }
                (streamed, _) => self.keep(id, &mut progress, streamed).await?,
            }
        }
        if !committed {
            if progress.state.size == 0 {
                // An upload never appended to has no last segment yet: an
                // empty writer seals it (an empty blob is one empty segment).
                let writer = self.open_upload(id, &progress.state).await?;
                progress.state = writer.finish().await?;
            }
            let computed = match digest.algorithm() {
                DigestAlgorithm::Sha256 => sha256_of(&progress.hasher),
                DigestAlgorithm::Sha512 => {
                    progress.state =
                        encrypted::seal_upload(&*self.store, id, &progress.state).await?;
                    self.save_progress(id, &progress).await?;
                    self.rehash_sha512(id, &progress.state).await?
                }
            };
            if &computed != digest {
                return Err(self.mismatch(id, digest, computed).await);
            }
            match encrypted::commit_upload(&*self.store, id, &progress.state, &object).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return self.finish_committed(id, repo_id, digest, &progress).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.record_commit(id, repo_id, digest, &key_id, progress.state.size)
            .await
    }

    /// Records a committed upload: its blob linked to the repository, its
    /// session gone. A crash before this leaves the blob stored and the
    /// session open, which [`Registry::finish_committed`] completes.
    async fn record_commit(
        &self,
        id: &str,
        repo_id: i64,
        digest: &Digest,
        key_id: &str,
        size: u64,
    ) -> ServiceResult<()> {
        // The header as stored: an earlier upload of the blob under the same
        // key may have committed the object first, with its own data key.
        let copy = match self.stored_copy(digest, key_id).await {
            Ok(Some(copy)) => copy,
            Ok(None) => {
                self.discard(id).await?;
                return Err(ServiceError::UploadCollected(id.to_owned()));
            }
            Err(error) => return Err(error),
        };
        // The bytes are checked under the lock that garbage collection deletes
        // bytes under: a collection that took this digest's old copy after the
        // commit above has either removed the bytes by now (seen here) or will
        // see the row made here and keep them.
        let mut write = self.db.begin_blob_write().await?;
        let object = copy_object(digest, key_id);
        if self.store.stat(&object).await?.is_none() {
            drop(write);
            self.discard(id).await?;
            return Err(ServiceError::UploadCollected(id.to_owned()));
        }
        let recorded = async {
            write
                .link_blob(repo_id, digest.as_str(), size as i64, &copy)
                .await?;
            write.commit().await
        };
        if let Err(error) = recorded.await {
            self.drop_unrecorded(digest, &object).await;
            return Err(error.into());
        }
        self.db.delete_upload(id).await?;
        self.uploads.forget(id);
        Ok(())
    }

    /// After a commit's record failed (a full disk, most often): removes the
    /// committed bytes unless a blob row names them, as garbage collection
    /// would, under the same lock, so a failed push leaves no bytes behind
    /// and a concurrent push that recorded the same blob keeps them. A
    /// failure here is logged: collection removes the bytes later.
    async fn drop_unrecorded(&self, digest: &Digest, object: &Digest) {
        let cleaned = async {
            let mut write = self.db.begin_blob_write().await?;
            if write
                .recorded_objects(&[object.to_string()])
                .await?
                .is_empty()
            {
                self.store.delete(std::slice::from_ref(object)).await?;
            }
            Ok::<_, ServiceError>(())
        };
        if let Err(error) = cleaned.await {
            tracing::warn!(%digest, %error, "could not remove the bytes of a blob whose record failed; garbage collection will");
        }
    }

    /// Finishes an upload whose bytes are gone from the store, `progress`
    /// holding its saved bytes and the closing request's. Only a crash
    /// between a commit and its record leaves that: the commit moved the
    /// bytes to their blob. So if those bytes hash to `digest` and the store
    /// holds that blob, of that size, the commit happened and is recorded
    /// now, as the client asks again (the blob is the upload's bytes, whoever
    /// stored it). Otherwise the session is removed and the client told to
    /// start again.
    async fn finish_committed(
        &self,
        id: &str,
        repo_id: i64,
        digest: &Digest,
        progress: &Progress,
    ) -> ServiceResult<()> {
        if digest.algorithm() == DigestAlgorithm::Sha256 {
            let computed = sha256_of(&progress.hasher);
            if &computed != digest {
                return Err(self.mismatch(id, digest, computed).await);
            }
            let size = progress.hasher.bytes_hashed();
            let (key_id, _) = self.upload_keys(id, &progress.state).await?;
            if self
                .store
                .stat(&copy_object(digest, &key_id))
                .await?
                .is_some()
            {
                tracing::info!(upload = id, %digest, "recorded an upload a crash committed unrecorded");
                return self.record_commit(id, repo_id, digest, &key_id, size).await;
            }
        }
        Err(self.lost(id).await)
    }

    /// A monolithic push: the whole blob in one request.
    pub async fn upload_monolithic<S, E>(
        &self,
        name: &str,
        by: Uploader<'_>,
        digest: &Digest,
        length: Option<u64>,
        body: S,
    ) -> ServiceResult<()>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let status = self.start_upload(name, by).await?;
        let chunk = ChunkHeaders {
            range: None,
            length,
        };
        let result = self
            .finish_upload(name, &status.id, digest, chunk, body)
            .await;
        if result.is_err() {
            self.discard(&status.id).await?;
        }
        result
    }

    /// Cancels an upload, removing its bytes.
    pub async fn cancel_upload(&self, name: &str, id: &str) -> ServiceResult<()> {
        self.check_session(name, id).await?;
        let slot = self.uploads.slot(id);
        let _one_at_a_time = slot.lock().await;
        self.discard(id).await
    }

    /// Removes upload sessions idle for longer than `max_idle`, and uploads in
    /// the store that have no session (left by a crash, or abandoned S3
    /// multipart uploads). Returns how many were removed.
    pub async fn expire_uploads(&self, max_idle: std::time::Duration) -> ServiceResult<usize> {
        let cutoff = now_millis() - max_idle.as_millis() as i64;
        let mut removed = 0;
        for id in self.db.idle_uploads(cutoff).await? {
            let slot = self.uploads.slot(&id);
            let Ok(_one_at_a_time) = slot.try_lock() else {
                continue;
            };
            self.discard(&id).await?;
            removed += 1;
        }
        removed += self.remove_leftover_uploads().await?;
        Ok(removed)
    }

    /// Removes (or, dry, counts) what the store holds for uploads that have no
    /// session. The store is listed before the sessions are read, and sessions
    /// are created before their uploads: an upload listed without a session
    /// has none and never will.
    pub async fn remove_leftover_uploads(&self) -> ServiceResult<usize> {
        let stored = self.store.list_uploads().await?;
        let live: std::collections::HashSet<String> =
            self.db.all_upload_ids().await?.into_iter().collect();
        let mut removed = 0;
        for id in stored.into_iter().filter(|id| !live.contains(id)) {
            self.store.delete_upload(&id).await?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Opens the upload's bytes in the store to append to them.
    async fn open_upload(
        &self,
        id: &str,
        state: &UploadState,
    ) -> ServiceResult<Box<dyn UploadWriter>> {
        match self.append_encrypted(id, state).await? {
            Ok(writer) => Ok(writer),
            Err(e) => Err(self.unless_lost(id, e).await),
        }
    }

    /// A store error on an upload's bytes; if they are gone, which only a crash
    /// between committing them and recording it leaves (the blob is stored,
    /// unrecorded), the upload cannot go on: see [`Registry::lost`]. (A `PUT`
    /// can still finish it: see [`Registry::finish_committed`].)
    async fn unless_lost(&self, id: &str, error: std::io::Error) -> ServiceError {
        if error.kind() != std::io::ErrorKind::NotFound {
            return error.into();
        }
        self.lost(id).await
    }

    /// An upload whose bytes are gone: the session is removed and the client
    /// told to start again.
    async fn lost(&self, id: &str) -> ServiceError {
        match self.discard(id).await {
            Ok(()) => ServiceError::UploadLost(id.to_owned()),
            Err(e) => e,
        }
    }

    async fn discard(&self, id: &str) -> ServiceResult<()> {
        self.db.delete_upload(id).await?;
        self.store.delete_upload(id).await?;
        self.uploads.forget(id);
        Ok(())
    }

    /// A bad upload is discarded whole: the client must start over.
    async fn mismatch(&self, id: &str, claimed: &Digest, computed: Digest) -> ServiceError {
        if let Err(e) = self.discard(id).await {
            return e;
        }
        ServiceError::DigestMismatch {
            claimed: claimed.to_string(),
            computed: computed.to_string(),
        }
    }

    /// The session's repository id, if the session exists and belongs to `name`.
    async fn check_session(&self, name: &str, id: &str) -> ServiceResult<i64> {
        let repo = self.repository(name).await?;
        match self.db.upload(id).await? {
            Some(row) if row.repository_id == repo.id => {
                let idle = now_millis().saturating_sub(row.updated_at);
                if idle > self.upload_expiry.as_millis() as i64 {
                    return Err(ServiceError::UploadExpired {
                        id: id.to_owned(),
                        expiry: self.upload_expiry,
                    });
                }
                Ok(repo.id)
            }
            _ => Err(ServiceError::UploadUnknown(id.to_owned())),
        }
    }

    /// Refuses a chunk whose declared end lies beyond [`Limits::blob_size`],
    /// before any of it is read.
    ///
    /// [`Limits::blob_size`]: super::Limits::blob_size
    fn check_declared_size(&self, chunk: ChunkHeaders, held: u64) -> ServiceResult<()> {
        let more = match (chunk.range, chunk.length) {
            (Some((start, end)), _) => (end - start).saturating_add(1),
            (None, Some(length)) => length,
            (None, None) => 0,
        };
        Ok(check_blob_size(&self.limits, held, more)?)
    }

    async fn load_progress(&self, id: &str) -> ServiceResult<Progress> {
        let row = self
            .db
            .upload(id)
            .await?
            .ok_or_else(|| ServiceError::UploadUnknown(id.to_owned()))?;
        let hasher = UploadHasher::restore(&row.hash_state)
            .filter(|h| h.bytes_hashed() == row.size as u64)
            .ok_or_else(|| {
                ServiceError::Storage(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("upload {id}: its saved hash state is damaged"),
                ))
            })?;
        Ok(Progress {
            hasher,
            state: UploadState {
                size: row.size as u64,
                driver: row.store_state,
            },
        })
    }

    async fn save_progress(&self, id: &str, progress: &Progress) -> ServiceResult<()> {
        self.db
            .save_upload_progress(
                id,
                progress.state.size as i64,
                &progress.hasher.save(),
                &progress.state.driver,
            )
            .await?;
        Ok(())
    }

    /// Stores what a request streamed and saves the progress, unless the store
    /// failed: then the saved progress stays as it was, still true.
    async fn keep(
        &self,
        id: &str,
        progress: &mut Progress,
        streamed: Streamed,
    ) -> ServiceResult<()> {
        let (writer, body_error) = match streamed {
            Ok(writer) => (writer, None),
            Err((_, error @ ServiceError::Storage(_))) => return Err(error),
            Err((writer, error)) => (writer, Some(error)),
        };
        progress.state = writer.finish().await?;
        if progress.state.size != progress.hasher.bytes_hashed() {
            return Err(ServiceError::Storage(std::io::Error::other(format!(
                "upload {id}: the store holds {} bytes but {} were hashed",
                progress.state.size,
                progress.hasher.bytes_hashed()
            ))));
        }
        self.save_progress(id, progress).await?;
        body_error.map_or(Ok(()), Err)
    }

    async fn rehash_sha512(&self, id: &str, state: &UploadState) -> ServiceResult<Digest> {
        let mut hasher = Sha512::new();
        let (_, data_key) = self.upload_keys(id, state).await?;
        let mut bytes = encrypted::read_upload(&*self.store, id, state, &data_key).await?;
        while let Some(chunk) = bytes.next().await {
            hasher.update(&chunk?);
        }
        Ok(Digest::from_hash(
            DigestAlgorithm::Sha512,
            &hasher.finalize(),
        ))
    }
}

fn sha256_of(hasher: &UploadHasher) -> Digest {
    Digest::from_hash(DigestAlgorithm::Sha256, &hasher.finalize())
}

/// Checks a chunk's declared position against the bytes the upload holds.
pub(crate) fn check_chunk(chunk: ChunkHeaders, size: u64) -> ServiceResult<()> {
    if let Some((start, end)) = chunk.range {
        if start != size {
            return Err(ServiceError::UploadOutOfOrder { size });
        }
        if end < start {
            return Err(ServiceError::UploadInvalid(format!(
                "Content-Range {start}-{end} ends before it starts"
            )));
        }
        if let Some(length) = chunk.length {
            // `0-18446744073709551615` covers 2^64 bytes: more than any length.
            let covers = u128::from(end - start) + 1;
            if u128::from(length) != covers {
                return Err(ServiceError::UploadInvalid(format!(
                    "Content-Range {start}-{end} covers {covers} bytes but Content-Length is {length}"
                )));
            }
        }
    }
    Ok(())
}

/// Hashes a request body without storing it, refusing it (as [`stream_into`]
/// does) once the upload would hold more than `limit` bytes.
async fn hash_rest<S, E>(hasher: &mut UploadHasher, mut body: S, limit: u64) -> ServiceResult<()>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    while let Some(next) = body.next().await {
        hash_chunk(hasher, next, limit)?;
    }
    Ok(())
}

/// One chunk of a request body, hashed onto `hasher`; refused, unhashed,
/// if the body broke off or the upload would then hold more than `limit`
/// bytes.
fn hash_chunk<E: std::fmt::Display>(
    hasher: &mut UploadHasher,
    next: Result<Bytes, E>,
    limit: u64,
) -> ServiceResult<Bytes> {
    let bytes =
        next.map_err(|e| ServiceError::UploadInvalid(format!("request body ended early: {e}")))?;
    if hasher.bytes_hashed().saturating_add(bytes.len() as u64) > limit {
        return Err(LimitExceeded::BlobSize { limit }.into());
    }
    hasher.update(&bytes);
    Ok(bytes)
}

/// Streams a request body into a writer, hashing what it passes on.
/// Stops, writing none of the chunk that would pass it, once the upload would
/// hold more than `limit` bytes: a body without a declared length cannot grow
/// a blob past [`Limits::blob_size`].
///
/// [`Limits::blob_size`]: super::Limits::blob_size
async fn stream_into<S, E>(
    mut writer: Box<dyn UploadWriter>,
    hasher: &mut UploadHasher,
    mut body: S,
    limit: u64,
) -> Streamed
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    while let Some(next) = body.next().await {
        let bytes = match hash_chunk(hasher, next, limit) {
            Ok(bytes) => bytes,
            Err(e) => return Err((writer, e)),
        };
        if let Err(e) = writer.write(bytes).await {
            return Err((writer, ServiceError::Storage(e)));
        }
    }
    Ok(writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(range: (u64, u64), length: u64) -> ChunkHeaders {
        ChunkHeaders {
            range: Some(range),
            length: Some(length),
        }
    }

    #[test]
    fn a_chunk_fits_where_the_upload_stands() {
        assert!(check_chunk(chunk((0, 1023), 1024), 0).is_ok());
        assert!(check_chunk(chunk((1024, 1024), 1), 1024).is_ok());
        assert!(matches!(
            check_chunk(chunk((1, 1), 1), 0),
            Err(ServiceError::UploadOutOfOrder { size: 0 })
        ));
        assert!(matches!(
            check_chunk(chunk((0, 9), 11), 0),
            Err(ServiceError::UploadInvalid(_))
        ));
    }

    /// Found by the `byte_ranges` fuzz target: the range's length overflowed
    /// (a panic in debug builds; in release `Content-Length: 0` matched).
    #[test]
    fn a_range_of_two_to_the_64_bytes_is_refused() {
        for length in [0, 100, u64::MAX] {
            let refused = check_chunk(chunk((0, u64::MAX), length), 0);
            let Err(ServiceError::UploadInvalid(message)) = refused else {
                panic!("Content-Length {length}: {refused:?}");
            };
            assert!(
                message.contains("covers 18446744073709551616 bytes"),
                "{message}"
            );
        }
    }
}

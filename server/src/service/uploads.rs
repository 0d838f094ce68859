//! Blob uploads: sessions, streamed and chunked appends with the digest computed
//! on the fly, verification and commit, cross-repository mounts, cancel.

use super::{Registry, ServiceError, ServiceResult};
use crate::db::now_millis;
use berth_app::oci::{Digest, DigestAlgorithm};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest as _, Sha256, Sha512};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Hash state and size of an upload, kept between requests. Lost on restart and
/// rebuilt from the stored bytes, so the stored bytes stay the single truth.
struct UploadProgress {
    hasher: Sha256,
    size: u64,
}

type ProgressSlot = Arc<tokio::sync::Mutex<Option<UploadProgress>>>;

/// Per-upload progress; each slot's lock also serialises requests on one upload.
#[derive(Default)]
pub(super) struct UploadProgressMap(Mutex<HashMap<String, ProgressSlot>>);

impl UploadProgressMap {
    fn slot(&self, id: &str) -> ProgressSlot {
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

/// A chunk's position as the client declared it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChunkHeaders {
    /// `Content-Range: start-end` (inclusive).
    pub range: Option<(u64, u64)>,
    /// `Content-Length`.
    pub length: Option<u64>,
}

impl Registry {
    /// Starts an upload session in a repository (creating it on first push).
    pub async fn start_upload(&self, name: &str) -> ServiceResult<UploadStatus> {
        let repo = self.repository_for_push(name).await?;
        let id = uuid::Uuid::new_v4().to_string();
        self.store.create_upload(&id).await?;
        self.db.create_upload(&id, repo.id).await?;
        Ok(UploadStatus { id, size: 0 })
    }

    /// Links `digest` from `from` if that repository has it; otherwise starts a session.
    pub async fn mount_or_start(
        &self,
        name: &str,
        digest: &Digest,
        from: Option<&str>,
    ) -> ServiceResult<MountOutcome> {
        let repo = self.repository_for_push(name).await?;
        if let Some(from) = from.filter(|f| berth_app::oci::validate_repository_name(f).is_ok()) {
            if let Some(source) = self.db.repository(from).await? {
                if self
                    .db
                    .mount_blob(repo.id, source.id, digest.as_str())
                    .await?
                    .is_some()
                {
                    return Ok(MountOutcome::Mounted(digest.clone()));
                }
            }
        }
        Ok(MountOutcome::Started(self.start_upload(name).await?))
    }

    /// The state of an upload session.
    pub async fn upload_status(&self, name: &str, id: &str) -> ServiceResult<UploadStatus> {
        self.check_session(name, id).await?;
        let slot = self.uploads.slot(id);
        let mut progress = slot.lock().await;
        let size = self.load_progress(id, &mut progress).await?.size;
        Ok(UploadStatus {
            id: id.to_owned(),
            size,
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
        let mut progress = slot.lock().await;
        self.append_locked(id, &mut progress, chunk, body).await?;
        self.db.touch_upload(id).await?;
        let size = progress.as_ref().map_or(0, |p| p.size);
        Ok(UploadStatus {
            id: id.to_owned(),
            size,
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
        let mut progress = slot.lock().await;
        self.append_locked(id, &mut progress, chunk, body).await?;
        let state = self.load_progress(id, &mut progress).await?;
        let size = state.size;
        let computed = match digest.algorithm() {
            DigestAlgorithm::Sha256 => {
                Digest::from_hash(DigestAlgorithm::Sha256, &state.hasher.clone().finalize())
            }
            DigestAlgorithm::Sha512 => self.rehash_sha512(id).await?,
        };
        if &computed != digest {
            // A bad upload is discarded whole: the client must start over.
            self.discard(id).await?;
            *progress = None;
            return Err(ServiceError::DigestMismatch {
                claimed: digest.to_string(),
                computed: computed.to_string(),
            });
        }
        self.store.commit_upload(id, digest).await?;
        self.db
            .link_blob(repo_id, digest.as_str(), size as i64)
            .await?;
        self.db.delete_upload(id).await?;
        *progress = None;
        self.uploads.forget(id);
        Ok(())
    }

    /// A monolithic push: the whole blob in one request.
    pub async fn upload_monolithic<S, E>(
        &self,
        name: &str,
        digest: &Digest,
        length: Option<u64>,
        body: S,
    ) -> ServiceResult<()>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let status = self.start_upload(name).await?;
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
        let mut progress = slot.lock().await;
        self.discard(id).await?;
        *progress = None;
        Ok(())
    }

    /// Removes upload sessions idle for longer than `max_idle`, and upload files
    /// that have no session (left by a crash). Returns how many were removed.
    pub async fn expire_uploads(&self, max_idle: std::time::Duration) -> ServiceResult<usize> {
        let cutoff = now_millis() - max_idle.as_millis() as i64;
        let mut removed = 0;
        for id in self.db.idle_uploads(cutoff).await? {
            let slot = self.uploads.slot(&id);
            let Ok(mut progress) = slot.try_lock() else {
                continue;
            };
            self.discard(&id).await?;
            *progress = None;
            removed += 1;
        }
        let live: std::collections::HashSet<String> =
            self.db.all_upload_ids().await?.into_iter().collect();
        for id in self.store.list_uploads().await? {
            if !live.contains(&id) {
                self.store.delete_upload(&id).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn discard(&self, id: &str) -> ServiceResult<()> {
        self.db.delete_upload(id).await?;
        self.store.delete_upload(id).await?;
        self.uploads.forget(id);
        Ok(())
    }

    /// The session's repository id, if the session exists and belongs to `name`.
    async fn check_session(&self, name: &str, id: &str) -> ServiceResult<i64> {
        let repo = self.repository(name).await?;
        match self.db.upload(id).await? {
            Some(row) if row.repository_id == repo.id => Ok(repo.id),
            _ => Err(ServiceError::UploadUnknown(id.to_owned())),
        }
    }

    async fn load_progress<'a>(
        &self,
        id: &str,
        progress: &'a mut Option<UploadProgress>,
    ) -> ServiceResult<&'a mut UploadProgress> {
        if progress.is_none() {
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            let mut bytes = self.store.read_upload(id).await?;
            while let Some(chunk) = bytes.next().await {
                let chunk = chunk?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
            }
            *progress = Some(UploadProgress { hasher, size });
        }
        Ok(progress.as_mut().expect("just loaded"))
    }

    async fn append_locked<S, E>(
        &self,
        id: &str,
        progress: &mut Option<UploadProgress>,
        chunk: ChunkHeaders,
        mut body: S,
    ) -> ServiceResult<()>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let state = self.load_progress(id, progress).await?;
        if let Some((start, end)) = chunk.range {
            if start != state.size {
                return Err(ServiceError::UploadOutOfOrder { size: state.size });
            }
            if end < start {
                return Err(ServiceError::UploadInvalid(format!(
                    "Content-Range {start}-{end} ends before it starts"
                )));
            }
            if let Some(length) = chunk.length {
                if length != end - start + 1 {
                    return Err(ServiceError::UploadInvalid(format!(
                        "Content-Range {start}-{end} covers {} bytes but Content-Length is {length}",
                        end - start + 1
                    )));
                }
            }
        }
        if chunk.length == Some(0) {
            return Ok(());
        }
        let mut writer = self.store.append_upload(id, state.size).await?;
        let mut failure = None;
        while let Some(next) = body.next().await {
            match next {
                Ok(bytes) => {
                    if let Err(e) = writer.write(bytes.clone()).await {
                        failure = Some(ServiceError::Storage(e));
                        break;
                    }
                    state.hasher.update(&bytes);
                    state.size += bytes.len() as u64;
                }
                Err(e) => {
                    failure = Some(ServiceError::UploadInvalid(format!(
                        "request body ended early: {e}"
                    )));
                    break;
                }
            }
        }
        let flushed = writer.finish().await;
        if let Err(e) = flushed {
            // What is on disk is no longer what we hashed: rebuild from disk next time.
            *progress = None;
            return Err(ServiceError::Storage(e));
        }
        if matches!(failure, Some(ServiceError::Storage(_))) {
            *progress = None;
        }
        failure.map_or(Ok(()), Err)
    }

    async fn rehash_sha512(&self, id: &str) -> ServiceResult<Digest> {
        let mut hasher = Sha512::new();
        let mut bytes = self.store.read_upload(id).await?;
        while let Some(chunk) = bytes.next().await {
            hasher.update(&chunk?);
        }
        Ok(Digest::from_hash(
            DigestAlgorithm::Sha512,
            &hasher.finalize(),
        ))
    }
}

//! Reading and unlinking blobs through a repository.

use super::encryption::BlobSource;
use super::pulls::link_needs_touch;
use super::{Registry, ServiceError, ServiceResult};
use crate::db::{now_millis, DeleteOutcome, LinkedBlob};
use crate::storage::ByteStream;
use berth_app::oci::Digest;
use std::ops::Range;

/// A blob about to be sent.
pub struct BlobRead {
    /// The blob's whole size.
    pub size: u64,
    /// The bytes sent (the whole blob unless a range was asked).
    pub range: Range<u64>,
    /// The bytes, or `None` for a `HEAD`.
    pub body: Option<ByteStream>,
}

/// A byte range as a client asked for it (`Range: bytes=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `start-end`, inclusive, or `start-` when `end` is `None`.
    From {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: Option<u64>,
    },
    /// `-n`: the last n bytes.
    Suffix(u64),
}

impl ByteRange {
    /// The half-open range within a blob of `size` bytes, or `None` if unsatisfiable.
    pub fn resolve(self, size: u64) -> Option<Range<u64>> {
        match self {
            Self::From { start, end } if start < size => {
                let end = end.map_or(size, |e| e.saturating_add(1).min(size));
                (end > start).then_some(start..end)
            }
            Self::Suffix(n) if n > 0 && size > 0 => Some(size - n.min(size)..size),
            _ => None,
        }
    }
}

impl Registry {
    /// Opens a blob linked to the repository, whole or a range; `with_body` false for `HEAD`.
    pub async fn read_blob(
        &self,
        name: &str,
        digest: &Digest,
        range: Option<ByteRange>,
        with_body: bool,
    ) -> ServiceResult<BlobRead> {
        let repo = self.repository(name).await?;
        let link = self.rely_on_link(repo.id, digest).await?;
        let size = link.size as u64;
        let range = match range {
            None => 0..size,
            Some(r) => r
                .resolve(size)
                .ok_or(ServiceError::RangeNotSatisfiable { size })?,
        };
        // A disabled key refuses every read of what it protects, a HEAD too,
        // and a blob the encryption job has not reached yet. A link reads
        // under its repository's key (pushes, mounts and the encryption job
        // all copy under it), so the repository's key's state is the one to
        // check; a HEAD needs nothing more: no copy row, no data key opened.
        if !with_body || link.key_id.is_none() {
            self.repository_key(&repo).await?;
        }
        if !with_body {
            return Ok(BlobRead {
                size,
                range,
                body: None,
            });
        }
        let source = self
            .blob_source(digest, size, link.key_id.as_deref())
            .await?;
        let body = Some(self.read_source(repo.id, &source, range.clone()).await?);
        Ok(BlobRead { size, range, body })
    }

    /// Streams a range of a blob a link of the repository reads. A plain blob
    /// (an old installation's) the encryption job removed between the link's
    /// read and this one is read again through the link, now under its key.
    async fn read_source(
        &self,
        repository_id: i64,
        source: &BlobSource,
        range: Range<u64>,
    ) -> ServiceResult<ByteStream> {
        match source.read(range.clone()).await {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !source.is_encrypted() => {
                let digest = source.digest();
                let link = self
                    .db
                    .linked_blob(repository_id, digest.as_str())
                    .await?
                    .ok_or_else(|| ServiceError::BlobUnknown(digest.to_string()))?;
                let again = self
                    .blob_source(digest, link.size as u64, link.key_id.as_deref())
                    .await?;
                Ok(again.read(range).await?)
            }
            read => Ok(read?),
        }
    }

    /// Opens a blob linked to the repository `repository_id` for the
    /// server's own reads (scans, signing): decrypted as a pull would be.
    pub(super) async fn linked_source(
        &self,
        repository_id: i64,
        digest: &Digest,
    ) -> ServiceResult<BlobSource> {
        let link = self
            .db
            .linked_blob(repository_id, digest.as_str())
            .await?
            .ok_or_else(|| ServiceError::BlobUnknown(digest.to_string()))?;
        self.blob_source(digest, link.size as u64, link.key_id.as_deref())
            .await
    }

    /// Where a client can download a blob linked to the repository straight
    /// from the store, when blob reads are redirected (see
    /// [`Registry::redirect_blob_reads`]) and the store presigns URLs; `None`
    /// means "serve it through Berth", as every encrypted blob is (a
    /// presigned URL would serve its ciphertext).
    pub async fn blob_redirect(
        &self,
        name: &str,
        digest: &Digest,
    ) -> ServiceResult<Option<String>> {
        let Some(lifetime) = self.redirect_lifetime else {
            return Ok(None);
        };
        let repo = self.repository(name).await?;
        let link = self.rely_on_link(repo.id, digest).await?;
        if link.key_id.is_some() {
            // The store holds only ciphertext: Berth decrypts it as it serves it.
            return Ok(None);
        }
        Ok(self.store.download_url(digest, lifetime).await?)
    }

    /// The size of a blob linked to the repository, once the link's touched
    /// time is recent enough in the metadata that garbage collection (in any
    /// process) spares it while the caller's push goes on: a pusher that sees
    /// the blob exists will reference it soon. The write happens only when the
    /// stored time is older than [`LINK_REFRESH_AGE`](super::LINK_REFRESH_AGE); if it fails, so does the
    /// read, as the answer would promise what the metadata does not hold; if
    /// garbage collection removed the link between the read and the write,
    /// the blob is unknown.
    async fn rely_on_link(&self, repository_id: i64, digest: &Digest) -> ServiceResult<LinkedBlob> {
        let link = self
            .db
            .linked_blob(repository_id, digest.as_str())
            .await?
            .ok_or_else(|| ServiceError::BlobUnknown(digest.to_string()))?;
        let now = now_millis();
        // The write commits before or after a collection's deleting one: if
        // after, the link is gone and the blob is unknown after all.
        if link_needs_touch(link.touched_at, now)
            && !self
                .db
                .touch_link(repository_id, digest.as_str(), now)
                .await?
        {
            return Err(ServiceError::BlobUnknown(digest.to_string()));
        }
        Ok(link)
    }

    /// Removes the repository's link to a blob (its bytes go with garbage
    /// collection), unless one of the repository's images uses it.
    pub async fn delete_blob(&self, name: &str, digest: &Digest) -> ServiceResult<()> {
        let repo = self.repository(name).await?;
        match self.db.unlink_blob(repo.id, digest.as_str()).await? {
            DeleteOutcome::Deleted => Ok(()),
            DeleteOutcome::NotFound => Err(ServiceError::BlobUnknown(digest.to_string())),
            DeleteOutcome::ReferencedBy(manifest) => Err(ServiceError::BlobInUse(manifest)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRange;

    #[test]
    fn ranges_resolve_like_rfc_9110() {
        let from = |start, end| ByteRange::From { start, end };
        assert_eq!(from(0, Some(9)).resolve(100), Some(0..10));
        assert_eq!(from(90, None).resolve(100), Some(90..100));
        assert_eq!(
            from(90, Some(500)).resolve(100),
            Some(90..100),
            "end is clamped"
        );
        assert_eq!(from(100, None).resolve(100), None, "start past the end");
        assert_eq!(from(5, Some(4)).resolve(100), None, "end before start");
        assert_eq!(ByteRange::Suffix(10).resolve(100), Some(90..100));
        assert_eq!(ByteRange::Suffix(500).resolve(100), Some(0..100));
        assert_eq!(ByteRange::Suffix(0).resolve(100), None);
        assert_eq!(
            from(0, None).resolve(0),
            None,
            "nothing to send from an empty blob"
        );
    }
}

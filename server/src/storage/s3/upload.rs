//! One S3 upload: its recorded progress (multipart upload id, parts, tail),
//! the requests on its keys, and the writer that streams a request's bytes
//! into parts.

use super::{is_not_found, other, s3_error, S3BlobStore, MIN_PART_SIZE, PART_SIZE};
use crate::storage::{UploadState, UploadWriter};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use berth_app::oci::Digest;
use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use std::io;
use tokio::task::JoinHandle;

/// One uploaded part of a multipart upload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct Part {
    pub(super) number: i32,
    pub(super) etag: String,
    pub(super) size: u64,
}

/// The bytes after the last part, stored as one small object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct Tail {
    pub(super) offset: u64,
    pub(super) size: u64,
}

/// What the driver keeps in [`UploadState::driver`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(super) struct Progress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) multipart: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) parts: Vec<Part>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) tail: Option<Tail>,
    /// The bytes are complete in `uploads/<id>/data` (see [`BlobStore::seal_upload`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) sealed: bool,
}

impl Progress {
    pub(super) fn load(state: &UploadState) -> io::Result<Self> {
        if state.driver.is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(&state.driver).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the upload's S3 state is damaged: {e}"),
            )
        })
    }

    pub(super) fn save(&self, size: u64) -> UploadState {
        UploadState {
            size,
            driver: serde_json::to_string(self).expect("plain data serializes"),
        }
    }

    pub(super) fn parts_size(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }
}

/// One upload's keys and the requests on them.
#[derive(Clone)]
pub(super) struct S3Upload {
    pub(super) client: Client,
    pub(super) bucket: String,
    /// `<prefix>uploads/<id>/`.
    pub(super) prefix: String,
}

impl S3Upload {
    pub(super) fn data_key(&self) -> String {
        format!("{}data", self.prefix)
    }

    pub(super) fn tail_key(&self, tail: &Tail) -> String {
        format!("{}tail-{}-{}", self.prefix, tail.offset, tail.size)
    }

    pub(super) async fn put(&self, key: &str, bytes: Bytes) -> io::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(bytes.len() as i64)
            .body(S3Body::from(bytes))
            .send()
            .await
            .map_err(|e| s3_error("writing an object", e))?;
        Ok(())
    }

    pub(super) async fn get(&self, key: &str, size: u64) -> io::Result<Bytes> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_error("reading the upload's tail", e))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| other(format!("S3 reading the upload's tail: {e}")))?
            .into_bytes();
        if bytes.len() as u64 != size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the upload's tail holds {} bytes, not the {size} recorded",
                    bytes.len()
                ),
            ));
        }
        Ok(bytes)
    }

    pub(super) async fn start_multipart(&self) -> io::Result<String> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(self.data_key())
            .send()
            .await
            .map_err(|e| s3_error("starting a multipart upload", e))?;
        created
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| other("S3 started a multipart upload without an id".into()))
    }

    /// Completes the multipart upload (the tail becoming its last part) or, with
    /// no parts, writes the tail as the whole object: `data` then holds every byte.
    pub(super) async fn seal(&self, mut progress: Progress) -> io::Result<Progress> {
        if progress.sealed {
            return Ok(progress);
        }
        let data = self.data_key();
        match progress.multipart.take() {
            None => match progress.tail.take() {
                Some(tail) => {
                    let bytes = self.get(&self.tail_key(&tail), tail.size).await?;
                    self.put(&data, bytes).await?;
                }
                None => self.put(&data, Bytes::new()).await?,
            },
            Some(upload_id) => {
                if let Some(tail) = progress.tail.take() {
                    // Through Berth rather than UploadPartCopy: the tail is under
                    // 5 MiB, and some servers (Garage) refuse to copy tiny objects.
                    let bytes = self.get(&self.tail_key(&tail), tail.size).await?;
                    let number = progress.parts.len() as i32 + 1;
                    let part = upload_part(
                        self.client.clone(),
                        self.bucket.clone(),
                        data.clone(),
                        upload_id.clone(),
                        number,
                        bytes,
                    )
                    .await?;
                    progress.parts.push(part);
                }
                complete(
                    &self.client,
                    &self.bucket,
                    &data,
                    &upload_id,
                    &progress.parts,
                )
                .await?;
                progress.parts.clear();
            }
        }
        progress.sealed = true;
        Ok(progress)
    }
}

pub(super) async fn upload_part(
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    number: i32,
    bytes: Bytes,
) -> io::Result<Part> {
    let size = bytes.len() as u64;
    let uploaded = client
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(number)
        .content_length(size as i64)
        .body(S3Body::from(bytes))
        .send()
        .await
        .map_err(|e| s3_error("uploading a part", e))?;
    let etag = uploaded
        .e_tag()
        .ok_or_else(|| other("S3 accepted a part without an ETag".into()))?;
    Ok(Part {
        number,
        etag: etag.to_owned(),
        size,
    })
}

pub(super) async fn complete(
    client: &Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
    parts: &[Part],
) -> io::Result<()> {
    let completed = parts
        .iter()
        .map(|p| {
            CompletedPart::builder()
                .part_number(p.number)
                .e_tag(&p.etag)
                .build()
        })
        .collect();
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .map_err(|e| s3_error("completing a multipart upload", e))?;
    Ok(())
}

/// Aborts a multipart upload, best effort: GC aborts what is left.
pub(super) async fn abort(client: &Client, bucket: &str, key: &str, upload_id: &str) {
    if let Err(e) = client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
    {
        if !is_not_found(&e) {
            tracing::warn!(key, error = %DisplayErrorContext(e), "could not abort a multipart upload");
        }
    }
}

/// Appends to an S3 upload: full parts go up as they fill (one in flight while
/// the next fills), the rest waits in memory until `finish` or `commit`.
pub(super) struct S3UploadWriter {
    pub(super) store: S3BlobStore,
    pub(super) id: String,
    pub(super) upload: S3Upload,
    /// The tail object this writer started from, removed once committed.
    pub(super) loaded_tail: Option<String>,
    pub(super) progress: Progress,
    pub(super) buffer: BytesMut,
    pub(super) in_flight: Option<JoinHandle<io::Result<Part>>>,
}

impl S3UploadWriter {
    /// Bytes the upload holds: parts landed, the stored tail, and the buffer.
    fn size(&self) -> u64 {
        self.progress.parts_size()
            + self.progress.tail.as_ref().map_or(0, |t| t.size)
            + self.buffer.len() as u64
    }

    /// Waits for the part in flight and records it.
    async fn land(&mut self) -> io::Result<()> {
        if let Some(task) = self.in_flight.take() {
            let part = task
                .await
                .map_err(|e| other(format!("S3 part upload stopped: {e}")))??;
            self.progress.parts.push(part);
        }
        Ok(())
    }

    /// Sends the first `len` buffered bytes as the next part, in the background.
    async fn send_part(&mut self, len: usize) -> io::Result<()> {
        self.land().await?;
        let upload_id = match &self.progress.multipart {
            Some(id) => id.clone(),
            None => {
                let id = self.upload.start_multipart().await?;
                self.progress.multipart = Some(id.clone());
                id
            }
        };
        let bytes = self.buffer.split_to(len).freeze();
        let number = self.progress.parts.len() as i32 + 1;
        // Accounted as a part from now on; `land` adds its ETag.
        self.in_flight = Some(tokio::spawn(upload_part(
            self.upload.client.clone(),
            self.upload.bucket.clone(),
            self.upload.data_key(),
            upload_id,
            number,
            bytes,
        )));
        self.land_if_done().await
    }

    async fn land_if_done(&mut self) -> io::Result<()> {
        if self.in_flight.as_ref().is_some_and(JoinHandle::is_finished) {
            self.land().await?;
        }
        Ok(())
    }
}

impl Drop for S3UploadWriter {
    fn drop(&mut self) {
        // A dropped writer's part would be recorded nowhere: stop sending it.
        if let Some(task) = self.in_flight.take() {
            task.abort();
        }
    }
}

#[async_trait::async_trait]
impl UploadWriter for S3UploadWriter {
    async fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.buffer.extend_from_slice(&bytes);
        while self.buffer.len() >= PART_SIZE {
            self.send_part(PART_SIZE).await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> io::Result<UploadState> {
        self.land().await?;
        if self.buffer.len() >= MIN_PART_SIZE {
            let len = self.buffer.len();
            self.send_part(len).await?;
            self.land().await?;
        }
        if !self.buffer.is_empty() {
            let tail = Tail {
                offset: self.progress.parts_size(),
                size: self.buffer.len() as u64,
            };
            let bytes = self.buffer.split().freeze();
            self.upload.put(&self.upload.tail_key(&tail), bytes).await?;
            self.progress.tail = Some(tail);
        }
        let size = self.size();
        Ok(self.progress.save(size))
    }

    async fn commit(mut self: Box<Self>, digest: &Digest) -> io::Result<()> {
        self.land().await?;
        let target = self.store.blob_key(digest);
        if self.progress.multipart.is_none() {
            // Small enough to have stayed in memory: one PutObject, no copy.
            if self.store.exists(&target).await?.is_none() {
                let bytes = self.buffer.split().freeze();
                self.upload.put(&target, bytes).await?;
            }
            // Leftovers of failed requests, if any, go with the upload expiry job.
            return match self.loaded_tail.take() {
                Some(key) => self.store.delete_keys(vec![key]).await,
                None => Ok(()),
            };
        }
        if !self.buffer.is_empty() {
            let len = self.buffer.len();
            self.send_part(len).await?;
            self.land().await?;
        }
        let size = self.size();
        let progress = std::mem::take(&mut self.progress);
        self.store.commit(&self.id, progress, size, digest).await
    }
}

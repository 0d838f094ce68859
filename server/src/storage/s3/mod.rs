//! The S3 driver: blobs at `<prefix>blobs/<alg>/<first two hex>/<hex>`, uploads
//! under `<prefix>uploads/<id>/`.
//!
//! An upload streams into an S3 multipart upload (`uploads/<id>/data`) in parts
//! of [`PART_SIZE`]; bytes short of the 5 MiB part minimum at the end of a
//! request are kept as one small object, the tail (`uploads/<id>/tail-<offset>-<size>`),
//! and read back by the next request. The multipart upload id, the parts'
//! ETags and the tail are the driver's [`UploadState`], kept by the service in
//! the upload session, so any request (after a restart too) can continue.
//! Nothing is ever written under a blob's key until the service has verified
//! the digest; every write there (PutObject, CopyObject, CompleteMultipartUpload)
//! is atomic, so a failed request never leaves a visible blob.

mod upload;

use self::upload::{abort, complete, Part, Progress, S3Upload, S3UploadWriter};
use super::{
    blob_path, check_upload_id, digest_of_path, BlobStore, ByteStream, StoredBlob, UploadState,
    UploadWriter,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use berth_app::oci::Digest;
use bytes::{Bytes, BytesMut};
use std::io;
use std::ops::Range;
use std::time::Duration;

/// Bytes per multipart part while streaming: the memory one upload holds
/// (twice, with one part in flight), and 8 MiB × 10,000 parts = 78 GiB per blob.
const PART_SIZE: usize = 8 << 20;

/// S3's smallest part other than the last.
const MIN_PART_SIZE: usize = 5 << 20;

/// The largest object CopyObject copies in one request; bigger ones are copied
/// with UploadPartCopy in parts of [`COPY_PART_SIZE`].
const COPY_OBJECT_LIMIT: u64 = 5 << 30;

/// Bytes per UploadPartCopy when copying a blob over [`COPY_OBJECT_LIMIT`].
const COPY_PART_SIZE: u64 = 1 << 30;

/// Keys per DeleteObjects request (S3's limit).
const DELETE_BATCH: usize = 1000;

/// Where the S3 store is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// The bucket (it must exist).
    pub bucket: String,
    /// The bucket's region.
    pub region: String,
    /// An S3-compatible endpoint (`http://127.0.0.1:3900`); `None` means AWS.
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need.
    pub path_style: bool,
    /// Prepended to every key, e.g. `registry/`; empty for the bucket's root.
    pub prefix: String,
}

/// Blobs in an S3 bucket.
#[derive(Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
    prefix: String,
    describe: String,
    /// [`COPY_OBJECT_LIMIT`] and [`COPY_PART_SIZE`], lowered by tests.
    copy_limits: (u64, u64),
}

fn s3_error<E>(what: &str, error: SdkError<E>) -> io::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let kind = match &error {
        SdkError::TimeoutError(_) => io::ErrorKind::TimedOut,
        SdkError::DispatchFailure(_) => io::ErrorKind::ConnectionRefused,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("S3 {what}: {}", DisplayErrorContext(error)))
}

fn is_not_found<E: ProvideErrorMetadata>(error: &SdkError<E>) -> bool {
    match error {
        SdkError::ServiceError(e) => {
            e.raw().status().as_u16() == 404
                || matches!(
                    e.err().code(),
                    Some("NoSuchKey" | "NotFound" | "NoSuchUpload")
                )
        }
        _ => false,
    }
}

fn other(message: String) -> io::Error {
    io::Error::other(message)
}

impl S3BlobStore {
    /// Connects to the bucket with credentials from the standard AWS chain
    /// (environment, profile, web identity, container or instance role) and
    /// checks that it can be reached.
    pub async fn open(settings: &S3Settings) -> io::Result<Self> {
        use aws_config::retry::RetryConfig;
        use aws_config::timeout::TimeoutConfig;
        use aws_config::{BehaviorVersion, Region};
        use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
        use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(settings.region.clone()))
            .load()
            .await;
        // Throttling (SlowDown, 503) and transient failures are retried with
        // exponential backoff; a dead endpoint fails within seconds, not minutes.
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.path_style)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(4)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            )
            // Berth verifies every blob's digest itself; S3-compatible servers
            // differ in which extra checksums they accept.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        let client = Client::from_conf(config.build());
        let describe = format!(
            "S3 bucket {}{}{}",
            settings.bucket,
            if settings.prefix.is_empty() {
                String::new()
            } else {
                format!(" under {}", settings.prefix)
            },
            settings
                .endpoint
                .as_ref()
                .map(|e| format!(" at {e}"))
                .unwrap_or_default(),
        );
        client
            .head_bucket()
            .bucket(&settings.bucket)
            .send()
            .await
            .map_err(|e| s3_error(&format!("bucket {} cannot be reached", settings.bucket), e))?;
        Ok(Self {
            client,
            bucket: settings.bucket.clone(),
            prefix: settings.prefix.clone(),
            describe,
            copy_limits: (COPY_OBJECT_LIMIT, COPY_PART_SIZE),
        })
    }

    /// Copies blobs over `object_limit` bytes in parts of `part_size` with
    /// UploadPartCopy, so tests can reach that path without 5 GiB blobs.
    #[doc(hidden)]
    pub fn with_copy_limits(mut self, object_limit: u64, part_size: u64) -> Self {
        self.copy_limits = (object_limit, part_size);
        self
    }

    fn blob_key(&self, digest: &Digest) -> String {
        format!("{}{}", self.prefix, blob_path(digest))
    }

    fn upload_prefix(&self, id: &str) -> io::Result<String> {
        check_upload_id(id)?;
        Ok(format!("{}uploads/{id}/", self.prefix))
    }

    fn upload(&self, id: &str) -> io::Result<S3Upload> {
        Ok(S3Upload {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            prefix: self.upload_prefix(id)?,
        })
    }

    /// Every key under `prefix` with its size.
    async fn list(&self, prefix: &str) -> io::Result<Vec<(String, u64)>> {
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| s3_error("listing objects", e))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    keys.push((key.to_owned(), object.size().unwrap_or(0).max(0) as u64));
                }
            }
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                return Ok(keys);
            }
        }
    }

    /// Multipart uploads in progress under `prefix`: (key, upload id).
    async fn list_multipart(&self, prefix: &str) -> io::Result<Vec<(String, String)>> {
        let mut uploads = Vec::new();
        let (mut key_marker, mut id_marker) = (None, None);
        loop {
            let page = self
                .client
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_key_marker(key_marker)
                .set_upload_id_marker(id_marker)
                .send()
                .await
                .map_err(|e| s3_error("listing multipart uploads", e))?;
            for upload in page.uploads() {
                if let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) {
                    uploads.push((key.to_owned(), id.to_owned()));
                }
            }
            if page.is_truncated() != Some(true) {
                return Ok(uploads);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            id_marker = page.next_upload_id_marker().map(str::to_owned);
        }
    }

    async fn delete_keys(&self, keys: Vec<String>) -> io::Result<()> {
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch
                .iter()
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| other(format!("S3 delete request: {e}")))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| other(format!("S3 delete request: {e}")))?;
            let output = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| s3_error("deleting objects", e))?;
            if let Some(failed) = output.errors().first() {
                return Err(other(format!(
                    "S3 could not delete {}: {}",
                    failed.key().unwrap_or("an object"),
                    failed.message().unwrap_or("no reason given")
                )));
            }
        }
        Ok(())
    }

    async fn exists(&self, key: &str) -> io::Result<Option<u64>> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(head.content_length().unwrap_or(0).max(0) as u64)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(s3_error("reading object metadata", e)),
        }
    }

    /// Removes what an upload stored once it is committed: its objects (the
    /// multipart upload is complete, or was never started).
    async fn clear_objects(&self, id: &str) -> io::Result<()> {
        let keys = self
            .list(&self.upload_prefix(id)?)
            .await?
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        self.delete_keys(keys).await
    }

    /// Copies a complete object to a blob's key, server-side.
    async fn copy_to(&self, source: &str, size: u64, target: &str) -> io::Result<()> {
        let copy_source = format!("{}/{source}", self.bucket);
        let (object_limit, part_size) = self.copy_limits;
        if size <= object_limit {
            self.client
                .copy_object()
                .bucket(&self.bucket)
                .key(target)
                .copy_source(copy_source)
                .send()
                .await
                .map_err(|e| s3_error("copying the upload to its digest", e))?;
            return Ok(());
        }
        let multipart = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(target)
            .send()
            .await
            .map_err(|e| s3_error("starting a multipart copy", e))?;
        let upload_id = multipart
            .upload_id()
            .ok_or_else(|| other("S3 started a multipart copy without an id".into()))?
            .to_owned();
        let result = async {
            let mut parts = Vec::new();
            let mut start = 0;
            while start < size {
                let end = (start + part_size).min(size);
                let number = parts.len() as i32 + 1;
                let copied = self
                    .client
                    .upload_part_copy()
                    .bucket(&self.bucket)
                    .key(target)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .copy_source(&copy_source)
                    .copy_source_range(format!("bytes={start}-{}", end - 1))
                    .send()
                    .await
                    .map_err(|e| s3_error("copying a part of the upload", e))?;
                let etag = copied
                    .copy_part_result()
                    .and_then(|r| r.e_tag())
                    .ok_or_else(|| other("S3 copied a part without an ETag".into()))?;
                parts.push(Part {
                    number,
                    etag: etag.to_owned(),
                    size: end - start,
                });
                start = end;
            }
            complete(&self.client, &self.bucket, target, &upload_id, &parts).await
        }
        .await;
        if result.is_err() {
            abort(&self.client, &self.bucket, target, &upload_id).await;
        }
        result
    }

    /// Seals (if needed) and copies a whole upload to `digest`'s key, then clears the upload.
    async fn commit(
        &self,
        id: &str,
        progress: Progress,
        size: u64,
        digest: &Digest,
    ) -> io::Result<()> {
        let upload = self.upload(id)?;
        let target = self.blob_key(digest);
        if self.exists(&target).await?.is_some() {
            return self.delete_upload(id).await;
        }
        match (&progress.multipart, &progress.tail, progress.sealed) {
            (None, Some(tail), false) => {
                // Everything is in the tail: copy it, nothing goes through Berth.
                self.copy_to(&upload.tail_key(tail), tail.size, &target)
                    .await?;
            }
            (None, None, false) => upload.put(&target, Bytes::new()).await?,
            _ => {
                upload.seal(progress).await?;
                self.copy_to(&upload.data_key(), size, &target).await?;
            }
        }
        self.clear_objects(id).await
    }
}

fn into_byte_stream(body: S3Body) -> ByteStream {
    Box::pin(futures_util::stream::unfold(body, |mut body| async move {
        body.next()
            .await
            .map(|chunk| (chunk.map_err(|e| other(format!("S3 read: {e}"))), body))
    }))
}

#[async_trait::async_trait]
impl BlobStore for S3BlobStore {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    async fn stat(&self, digest: &Digest) -> io::Result<Option<u64>> {
        self.exists(&self.blob_key(digest)).await
    }

    async fn read(&self, digest: &Digest, range: Range<u64>) -> io::Result<ByteStream> {
        if range.is_empty() {
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.blob_key(digest))
            .range(format!("bytes={}-{}", range.start, range.end - 1))
            .send()
            .await
            .map_err(|e| s3_error("reading a blob", e))?;
        Ok(into_byte_stream(object.body))
    }

    async fn download_url(
        &self,
        digest: &Digest,
        lifetime: Duration,
    ) -> io::Result<Option<String>> {
        let config = PresigningConfig::expires_in(lifetime)
            .map_err(|e| other(format!("S3 presigning: {e}")))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.blob_key(digest))
            .presigned(config)
            .await
            .map_err(|e| s3_error("presigning a download", e))?;
        Ok(Some(request.uri().to_owned()))
    }

    async fn create_upload(&self, id: &str) -> io::Result<()> {
        // Nothing to store yet: the multipart upload starts with the first part.
        check_upload_id(id)
    }

    async fn append_upload(
        &self,
        id: &str,
        state: &UploadState,
    ) -> io::Result<Box<dyn UploadWriter>> {
        let mut progress = Progress::load(state)?;
        if progress.sealed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the upload is sealed",
            ));
        }
        let upload = self.upload(id)?;
        // Only bytes the state records count: parts, then the tail.
        let mut buffer = BytesMut::new();
        let mut loaded_tail = None;
        if let Some(tail) = progress.tail.take() {
            let key = upload.tail_key(&tail);
            buffer.extend_from_slice(&upload.get(&key, tail.size).await?);
            loaded_tail = Some(key);
        }
        let stored = progress.parts_size() + buffer.len() as u64;
        if stored != state.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the upload's S3 state holds {stored} bytes, not the {} recorded",
                    state.size
                ),
            ));
        }
        Ok(Box::new(S3UploadWriter {
            store: self.clone(),
            id: id.to_owned(),
            upload,
            loaded_tail,
            progress,
            buffer,
            in_flight: None,
        }))
    }

    async fn seal_upload(&self, id: &str, state: &UploadState) -> io::Result<UploadState> {
        let progress = self.upload(id)?.seal(Progress::load(state)?).await?;
        Ok(progress.save(state.size))
    }

    async fn read_upload(&self, id: &str, state: &UploadState) -> io::Result<ByteStream> {
        if !Progress::load(state)?.sealed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an S3 upload can be read only once sealed",
            ));
        }
        if state.size == 0 {
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.upload(id)?.data_key())
            .send()
            .await
            .map_err(|e| s3_error("reading an upload", e))?;
        Ok(into_byte_stream(object.body))
    }

    async fn commit_upload(
        &self,
        id: &str,
        state: &UploadState,
        digest: &Digest,
    ) -> io::Result<()> {
        self.commit(id, Progress::load(state)?, state.size, digest)
            .await
    }

    async fn delete_upload(&self, id: &str) -> io::Result<()> {
        let prefix = self.upload_prefix(id)?;
        for (key, upload_id) in self.list_multipart(&prefix).await? {
            abort(&self.client, &self.bucket, &key, &upload_id).await;
        }
        self.clear_objects(id).await
    }

    async fn delete(&self, digests: &[Digest]) -> io::Result<()> {
        self.delete_keys(digests.iter().map(|d| self.blob_key(d)).collect())
            .await
    }

    async fn list_uploads(&self) -> io::Result<Vec<String>> {
        let prefix = format!("{}uploads/", self.prefix);
        let id_of = |key: &str| {
            key.strip_prefix(&prefix)
                .and_then(|rest| rest.split_once('/'))
                .map(|(id, _)| id.to_owned())
        };
        let mut ids: Vec<String> = self
            .list(&prefix)
            .await?
            .iter()
            .filter_map(|(key, _)| id_of(key))
            .chain(
                self.list_multipart(&prefix)
                    .await?
                    .iter()
                    .filter_map(|(key, _)| id_of(key)),
            )
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    async fn list_blobs(&self) -> io::Result<Vec<StoredBlob>> {
        let prefix = format!("{}blobs/", self.prefix);
        Ok(self
            .list(&prefix)
            .await?
            .into_iter()
            .filter_map(|(key, size)| {
                let digest = digest_of_path(key.strip_prefix(&self.prefix)?)?;
                Some(StoredBlob { digest, size })
            })
            .collect())
    }
}

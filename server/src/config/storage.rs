//! Where blob bytes live: the storage kind, the S3 bucket's settings and
//! download redirects, and the checks of the `storage.*` settings.

use super::{ConfigError, Layered};

/// Where blob bytes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// Under the data directory.
    Filesystem,
    /// In the S3 bucket of [`super::Settings::s3`].
    S3,
}

impl StorageKind {
    /// `filesystem` or `s3`, as settings and `migrate-storage` name them.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "filesystem" => Some(Self::Filesystem),
            "s3" => Some(Self::S3),
            _ => None,
        }
    }
}

/// The storage settings, checked together.
pub(super) struct Storage {
    pub(super) kind: StorageKind,
    /// Whenever a bucket is named, so `migrate-storage` can reach S3 while the
    /// filesystem is in use.
    pub(super) s3: Option<crate::storage::S3Settings>,
    pub(super) redirect: bool,
}

/// The check of `storage.kind`.
pub(super) fn kind(text: &str) -> Result<(), String> {
    match StorageKind::parse(text) {
        Some(_) => Ok(()),
        None => Err(format!(
            "{text:?} is not a storage kind: use \"filesystem\" or \"s3\""
        )),
    }
}

/// The check of `storage.endpoint`.
pub(super) fn endpoint(text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(()),
        _ => Err(format!("{text:?} must be an http:// or https:// URL")),
    }
}

/// The storage kind, the S3 bucket's settings and whether downloads are redirected.
pub(super) fn load(settings: &Layered) -> Result<Storage, ConfigError> {
    let kind = StorageKind::parse(&settings.storage).ok_or_else(|| ConfigError::Invalid {
        name: "storage.kind",
        message: format!("{:?} is not a storage kind", settings.storage),
    })?;
    let redirect = settings.storage_redirect;
    if redirect && kind != StorageKind::S3 {
        return Err(ConfigError::Invalid {
            name: "storage.redirect",
            message: "redirects need a store that can presign URLs: set storage.kind = \"s3\""
                .into(),
        });
    }
    let Some(bucket) = settings.s3_bucket.clone().filter(|b| !b.is_empty()) else {
        if kind == StorageKind::S3 {
            return Err(ConfigError::Invalid {
                name: "storage.bucket",
                message: "storage.kind is \"s3\", so a bucket must be named (storage.bucket or BERTH_S3_BUCKET)".into(),
            });
        }
        return Ok(Storage {
            kind,
            s3: None,
            redirect,
        });
    };
    let prefix = settings.s3_prefix.as_deref().unwrap_or_default();
    let prefix = prefix.trim_matches('/');
    let s3 = crate::storage::S3Settings {
        bucket,
        region: settings.s3_region.clone(),
        endpoint: settings
            .s3_endpoint
            .as_deref()
            .map(|e| e.trim_end_matches('/').to_owned()),
        path_style: settings.s3_path_style,
        prefix: if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        },
    };
    Ok(Storage {
        kind,
        s3: Some(s3),
        redirect,
    })
}

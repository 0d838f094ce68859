//! Where blob bytes live: the storage kind, the S3 bucket's settings and
//! download redirects, from flags, the `[storage]` table and defaults.

use super::{ConfigError, SettingsArgs};
use serde::Deserialize;

/// The `[storage]` table of the settings file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileStorage {
    kind: Option<String>,
    bucket: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    path_style: Option<bool>,
    prefix: Option<String>,
    redirect: Option<bool>,
}

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

/// Reads the storage settings: the kind, the S3 settings (whenever a bucket is
/// named, so `migrate-storage` can reach S3 while the filesystem is in use),
/// and whether downloads are redirected.
pub(super) fn load_storage(
    args: &SettingsArgs,
    file: FileStorage,
) -> Result<(StorageKind, Option<crate::storage::S3Settings>, bool), ConfigError> {
    let kind = args
        .storage
        .clone()
        .or(file.kind)
        .unwrap_or_else(|| "filesystem".into());
    let kind = StorageKind::parse(&kind).ok_or_else(|| ConfigError::Invalid {
        name: "storage.kind",
        message: format!("{kind:?} is not a storage kind: use \"filesystem\" or \"s3\""),
    })?;
    let redirect = args.storage_redirect.or(file.redirect).unwrap_or(false);
    if redirect && kind != StorageKind::S3 {
        return Err(ConfigError::Invalid {
            name: "storage.redirect",
            message: "redirects need a store that can presign URLs: set storage.kind = \"s3\""
                .into(),
        });
    }
    let bucket = args
        .s3_bucket
        .clone()
        .or(file.bucket)
        .filter(|b| !b.is_empty());
    let Some(bucket) = bucket else {
        if kind == StorageKind::S3 {
            return Err(ConfigError::Invalid {
                name: "storage.bucket",
                message: "storage.kind is \"s3\", so a bucket must be named (storage.bucket or BERTH_S3_BUCKET)".into(),
            });
        }
        return Ok((kind, None, redirect));
    };
    let endpoint = args.s3_endpoint.clone().or(file.endpoint);
    if let Some(url) = &endpoint {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid {
                name: "storage.endpoint",
                message: format!("{url:?} must be an http:// or https:// URL"),
            });
        }
    }
    let region = args
        .s3_region
        .clone()
        .or(file.region)
        .unwrap_or_else(|| "us-east-1".into());
    let prefix = args.s3_prefix.clone().or(file.prefix).unwrap_or_default();
    let prefix = prefix.trim_matches('/');
    let s3 = crate::storage::S3Settings {
        bucket,
        region,
        endpoint: endpoint.map(|e| e.trim_end_matches('/').to_owned()),
        path_style: args.s3_path_style.or(file.path_style).unwrap_or(false),
        prefix: if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        },
    };
    Ok((kind, Some(s3), redirect))
}

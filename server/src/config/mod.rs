//! Settings: command-line flags, `BERTH_*` environment variables, a TOML file
//! and defaults, merged in that order of precedence into one validated struct.

use crate::auth::rate::RateLimit;
use crate::service::Limits;
use clap::Args;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod cli;
mod storage;
#[cfg(test)]
mod tests;

pub use cli::{AccessKeyCommand, Cli, Command, GcArgs, LifecycleCommand, UserCommand};
pub use storage::StorageKind;
use storage::{load_storage, FileStorage};

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for Berth's settings.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A setting has a value Berth cannot use.
    #[error("invalid setting {name}: {message}")]
    Invalid {
        /// The setting's name as written in the config file.
        name: &'static str,
        /// Why.
        message: String,
    },
}

/// Every setting, as given on the command line or in the environment.
/// Each is optional here; [`Settings::load`] fills in the file and the defaults.
#[derive(Debug, Clone, Default, Args)]
pub struct SettingsArgs {
    /// Config file (TOML) with any of the settings below, by their long names with `_`.
    #[arg(long, global = true, env = "BERTH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory that holds the database and the blobs [default: ./data].
    #[arg(long, global = true, env = "BERTH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:5000].
    #[arg(long, global = true, env = "BERTH_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// URL clients and the console call this registry, e.g. https://registry.example.com
    /// [default: http://<listen address>].
    #[arg(long, global = true, env = "BERTH_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Region name reported in ARNs and the ECR API, set at first start [default: us-east-1].
    #[arg(long, global = true, env = "BERTH_REGION")]
    pub region: Option<String>,
    /// Create a repository when an image is pushed to a name that does not exist [default: true].
    #[arg(long, global = true, env = "BERTH_CREATE_ON_PUSH", value_name = "BOOL")]
    pub create_on_push: Option<bool>,
    /// Directory with the console's compiled assets (pkg/) [default: target/site].
    #[arg(long, global = true, env = "BERTH_SITE_ROOT", value_name = "DIR")]
    pub site_root: Option<PathBuf>,
    /// Seconds an idle upload session lives before it is removed [default: 86400].
    #[arg(
        long,
        global = true,
        env = "BERTH_UPLOAD_EXPIRY",
        value_name = "SECONDS"
    )]
    pub upload_expiry: Option<u64>,
    /// Seconds between applications of every repository's lifecycle policy [default: 3600].
    #[arg(
        long,
        global = true,
        env = "BERTH_LIFECYCLE_INTERVAL",
        value_name = "SECONDS"
    )]
    pub lifecycle_interval: Option<u64>,
    /// Seconds after a lifecycle policy is saved before it is applied [default: 300].
    #[arg(
        long,
        global = true,
        env = "BERTH_LIFECYCLE_DELAY_AFTER_SAVE",
        value_name = "SECONDS"
    )]
    pub lifecycle_delay_after_save: Option<u64>,
    /// Seconds between online garbage collections [default: 3600].
    #[arg(long, global = true, env = "BERTH_GC_INTERVAL", value_name = "SECONDS")]
    pub gc_interval: Option<u64>,
    /// Seconds a blob must go untouched and unreferenced before GC deletes it [default: 3600].
    #[arg(long, global = true, env = "BERTH_GC_GRACE", value_name = "SECONDS")]
    pub gc_grace: Option<u64>,
    /// Seconds a console session lives without a request before it signs out [default: 3600].
    #[arg(
        long,
        global = true,
        env = "BERTH_CONSOLE_IDLE_TIMEOUT",
        value_name = "SECONDS"
    )]
    pub console_idle_timeout: Option<u64>,
    /// Seconds a console session lives at most, however busy [default: 43200].
    #[arg(
        long,
        global = true,
        env = "BERTH_CONSOLE_SESSION_LIFETIME",
        value_name = "SECONDS"
    )]
    pub console_session_lifetime: Option<u64>,
    /// Requests a second each user may make, sustained, on the registry and
    /// ECR APIs; over it they get 429 TOOMANYREQUESTS or ThrottlingException.
    /// 0 turns limiting off [default: 200, ECR's quota].
    #[arg(
        long,
        global = true,
        env = "BERTH_RATE_LIMIT",
        value_name = "PER_SECOND"
    )]
    pub rate_limit: Option<u32>,
    /// Requests each user may make at once, above the sustained rate [default: 400].
    #[arg(long, global = true, env = "BERTH_RATE_BURST", value_name = "REQUESTS")]
    pub rate_burst: Option<u32>,
    /// Tags one image may have; another is refused [default: 1000, ECR's quota].
    #[arg(
        long,
        global = true,
        env = "BERTH_MAX_TAGS_PER_IMAGE",
        value_name = "TAGS"
    )]
    pub max_tags_per_image: Option<u32>,
    /// Upload sessions one user may have open at once [default: 1000].
    #[arg(
        long,
        global = true,
        env = "BERTH_MAX_UPLOADS_PER_USER",
        value_name = "UPLOADS"
    )]
    pub max_uploads_per_user: Option<u32>,
    /// Bytes one blob (layer) may hold [default: 54525952000, ECR's 52,000 MiB].
    #[arg(long, global = true, env = "BERTH_MAX_BLOB_SIZE", value_name = "BYTES")]
    pub max_blob_size: Option<u64>,
    /// PEM certificate (chain) to serve HTTPS with; needs --tls-key [default: plain HTTP].
    #[arg(long, global = true, env = "BERTH_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, global = true, env = "BERTH_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Where blob bytes live: `filesystem` (under the data directory) or `s3`
    /// [default: filesystem]. In the config file: `[storage] kind = …`.
    #[arg(long, global = true, env = "BERTH_STORAGE", value_name = "KIND")]
    pub storage: Option<String>,
    /// S3 bucket for blobs (it must exist). Credentials come from the standard
    /// AWS chain: environment, profile, web identity, container or instance role.
    #[arg(long, global = true, env = "BERTH_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// The S3 bucket's region [default: us-east-1].
    #[arg(long, global = true, env = "BERTH_S3_REGION")]
    pub s3_region: Option<String>,
    /// An S3-compatible endpoint, e.g. http://127.0.0.1:3900 [default: AWS].
    #[arg(long, global = true, env = "BERTH_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// Address the bucket in the path (endpoint/bucket/key), as most
    /// S3-compatible servers need [default: false].
    #[arg(long, global = true, env = "BERTH_S3_PATH_STYLE", value_name = "BOOL")]
    pub s3_path_style: Option<bool>,
    /// Key prefix for everything Berth stores in the bucket, e.g. `registry/` [default: none].
    #[arg(long, global = true, env = "BERTH_S3_PREFIX")]
    pub s3_prefix: Option<String>,
    /// Answer blob downloads with a 307 redirect to a short-lived presigned S3
    /// URL instead of streaming them through Berth (S3 only) [default: false].
    #[arg(
        long,
        global = true,
        env = "BERTH_STORAGE_REDIRECT",
        value_name = "BOOL"
    )]
    pub storage_redirect: Option<bool>,
}

/// The settings file: the same names as the long flags, with `_`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    public_url: Option<String>,
    region: Option<String>,
    create_on_push: Option<bool>,
    site_root: Option<PathBuf>,
    upload_expiry: Option<u64>,
    lifecycle_interval: Option<u64>,
    lifecycle_delay_after_save: Option<u64>,
    gc_interval: Option<u64>,
    gc_grace: Option<u64>,
    console_idle_timeout: Option<u64>,
    console_session_lifetime: Option<u64>,
    rate_limit: Option<u32>,
    rate_burst: Option<u32>,
    max_tags_per_image: Option<u32>,
    max_uploads_per_user: Option<u32>,
    max_blob_size: Option<u64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    storage: Option<FileStorage>,
}

/// The validated settings of one installation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database and blobs live here.
    pub data_dir: PathBuf,
    /// Where `serve` listens.
    pub listen: SocketAddr,
    /// What clients call this registry, without a trailing slash; `None` means
    /// "derive it from the address actually bound".
    pub public_url: Option<String>,
    /// Region for a new registry.
    pub region: String,
    /// Whether pushing to an unknown repository creates it.
    pub create_on_push: bool,
    /// Compiled console assets.
    pub site_root: PathBuf,
    /// Idle upload sessions older than this are removed.
    pub upload_expiry: std::time::Duration,
    /// How often lifecycle policies are applied.
    pub lifecycle_interval: std::time::Duration,
    /// How long after a save a lifecycle policy is applied.
    pub lifecycle_delay_after_save: std::time::Duration,
    /// How often garbage is collected.
    pub gc_interval: std::time::Duration,
    /// How long an unreferenced blob is kept before collection.
    pub gc_grace: std::time::Duration,
    /// A console session without requests for this long is signed out.
    pub console_idle_timeout: std::time::Duration,
    /// A console session is signed out this long after sign-in, however busy.
    pub console_session_lifetime: std::time::Duration,
    /// Each user's request-rate limit.
    pub rate_limit: RateLimit,
    /// Limits on tags per image, open uploads per user and blob size.
    pub limits: Limits,
    /// The certificate and key `serve` speaks HTTPS with; `None` means plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Where blob bytes live.
    pub storage: StorageKind,
    /// The S3 bucket, when one is configured (required when `storage` is S3).
    pub s3: Option<crate::storage::S3Settings>,
    /// Whether blob downloads are redirected to presigned store URLs.
    pub storage_redirect: bool,
}

/// A PEM certificate (chain) and its private key, as files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate, followed by any intermediate certificates.
    pub cert: PathBuf,
    /// The certificate's private key.
    pub key: PathBuf,
}

impl Settings {
    /// Merges flags/env (already in `args`), the config file, and defaults, then validates.
    pub fn load(args: &SettingsArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let listen_text = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:5000".into());
        let listen = listen_text
            .parse::<SocketAddr>()
            .map_err(|e| ConfigError::Invalid {
                name: "listen",
                message: format!("{listen_text:?} is not an address like 127.0.0.1:5000 ({e})"),
            })?;
        let public_url = args.public_url.clone().or(file.public_url);
        if let Some(url) = &public_url {
            validate_public_url(url)?;
        }
        let region = args
            .region
            .clone()
            .or(file.region)
            .unwrap_or_else(|| "us-east-1".into());
        validate_region(&region)?;
        let tls =
            match (
                args.tls_cert.clone().or(file.tls_cert),
                args.tls_key.clone().or(file.tls_key),
            ) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                (Some(_), None) => return Err(ConfigError::Invalid {
                    name: "tls_key",
                    message:
                        "tls_cert is set, so tls_key (the certificate's private key) must be too"
                            .into(),
                }),
                (None, Some(_)) => {
                    return Err(ConfigError::Invalid {
                        name: "tls_cert",
                        message: "tls_key is set, so tls_cert (the certificate) must be too".into(),
                    })
                }
            };
        let (storage, s3, storage_redirect) = load_storage(args, file.storage.unwrap_or_default())?;
        Ok(Self {
            storage,
            s3,
            storage_redirect,
            data_dir: args
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            listen,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
            region,
            create_on_push: args.create_on_push.or(file.create_on_push).unwrap_or(true),
            site_root: args
                .site_root
                .clone()
                .or(file.site_root)
                .or_else(|| std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("target/site")),
            upload_expiry: std::time::Duration::from_secs(
                args.upload_expiry.or(file.upload_expiry).unwrap_or(86_400),
            ),
            lifecycle_interval: std::time::Duration::from_secs(
                args.lifecycle_interval
                    .or(file.lifecycle_interval)
                    .unwrap_or(3_600)
                    .max(1),
            ),
            lifecycle_delay_after_save: std::time::Duration::from_secs(
                args.lifecycle_delay_after_save
                    .or(file.lifecycle_delay_after_save)
                    .unwrap_or(300),
            ),
            gc_interval: std::time::Duration::from_secs(
                args.gc_interval
                    .or(file.gc_interval)
                    .unwrap_or(3_600)
                    .max(1),
            ),
            gc_grace: std::time::Duration::from_secs(
                args.gc_grace.or(file.gc_grace).unwrap_or(3_600),
            ),
            console_idle_timeout: std::time::Duration::from_secs(
                args.console_idle_timeout
                    .or(file.console_idle_timeout)
                    .unwrap_or(3_600)
                    .max(1),
            ),
            console_session_lifetime: std::time::Duration::from_secs(
                args.console_session_lifetime
                    .or(file.console_session_lifetime)
                    .unwrap_or(43_200)
                    .max(1),
            ),
            rate_limit: RateLimit {
                per_second: args
                    .rate_limit
                    .or(file.rate_limit)
                    .unwrap_or(RateLimit::DEFAULT.per_second),
                burst: args
                    .rate_burst
                    .or(file.rate_burst)
                    .unwrap_or(RateLimit::DEFAULT.burst)
                    .max(1),
            },
            limits: Limits {
                tags_per_image: positive(
                    "max_tags_per_image",
                    args.max_tags_per_image.or(file.max_tags_per_image),
                    Limits::DEFAULT.tags_per_image,
                )?,
                uploads_per_user: positive(
                    "max_uploads_per_user",
                    args.max_uploads_per_user.or(file.max_uploads_per_user),
                    Limits::DEFAULT.uploads_per_user,
                )?,
                blob_size: positive(
                    "max_blob_size",
                    args.max_blob_size.or(file.max_blob_size),
                    Limits::DEFAULT.blob_size,
                )?,
            },
            tls,
        })
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("berth.db")
    }
}

/// A limit as given, or its default; 0 would refuse everything, so it is an error.
fn positive<T: Default + PartialEq + Copy>(
    name: &'static str,
    given: Option<T>,
    default: T,
) -> Result<T, ConfigError> {
    match given {
        Some(zero) if zero == T::default() => Err(ConfigError::Invalid {
            name,
            message: "must be at least 1".into(),
        }),
        given => Ok(given.unwrap_or(default)),
    }
}

fn read_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn validate_public_url(url: &str) -> Result<(), ConfigError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(host)
            if !host.trim_end_matches('/').is_empty() && !host.contains(char::is_whitespace) =>
        {
            Ok(())
        }
        _ => Err(ConfigError::Invalid {
            name: "public_url",
            message: format!("{url:?} must be an http:// or https:// URL with a host"),
        }),
    }
}

fn validate_region(region: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            name: "region",
            message: format!("{region:?} is not a region name like us-east-1"),
        })
    }
}

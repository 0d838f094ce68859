//! Settings: command-line flags, `BERTH_*` environment variables, a TOML file
//! and defaults, merged in that order of precedence into one validated struct.
//!
//! Each setting is declared once, in the [`settings!`] table below: its flag
//! (the field's name), environment variable, key in the file, default and
//! check. The flags and environment ([`SettingsArgs`], through clap), the file
//! reader, the layering, the defaults and [`SETTINGS`] (which `berth --help`
//! shows and the README's table is tested against) all come from that
//! declaration. Checks that concern two settings at once, and the conversion
//! to [`Settings`], are in [`Settings::load`].

use crate::auth::rate::RateLimit;
use crate::service::Limits;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod cli;
#[macro_use]
mod declare;
mod storage;
#[cfg(test)]
mod tests;
mod vulndb;

pub use cli::{
    AccessKeyCommand, Cli, Command, GcArgs, KmsCommand, KmsKeyArgs, LifecycleCommand,
    SigningKeyCommand, UserCommand, VulndbCommand,
};
pub use declare::SettingInfo;
pub use storage::StorageKind;
pub use vulndb::{default_sources, osv_export_url, SourceList, DEFAULT_SOURCE_ECOSYSTEMS};

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

settings! {
    /// Directory that holds the database, the blobs and `secret.key`.
    data_dir: PathBuf {
        env: "BERTH_DATA_DIR",
        value_name: "DIR",
        file: "data_dir",
        default: "data",
    }
    /// Address to listen on; port 0 picks a free port.
    listen: String {
        env: "BERTH_LISTEN",
        value_name: "ADDR",
        file: "listen",
        default: "127.0.0.1:5000",
        check: socket_address,
    }
    /// Address to serve /metrics on, unauthenticated (with /healthz and
    /// /readyz); when set, the main port does not serve /metrics. Unset:
    /// /metrics is on the main port, for administrators only.
    metrics_listen: String {
        env: "BERTH_METRICS_LISTEN",
        value_name: "ADDR",
        file: "metrics_listen",
        unset: "none (/metrics on the main port, for administrators)",
        check: socket_address,
    }
    /// Log lines as `plain` text or `json` (one object a line), on standard error.
    log_format: String {
        env: "BERTH_LOG_FORMAT",
        value_name: "FORMAT",
        file: "log_format",
        default: "plain",
        check: log_format,
    }
    /// URL clients and the console call this registry, e.g. https://registry.example.com
    /// (scheme, host and port only).
    public_url: String {
        env: "BERTH_PUBLIC_URL",
        value_name: "URL",
        file: "public_url",
        unset: "http://<listen address>",
        check: public_url,
    }
    /// Region name reported in ARNs and the ECR API, set at first start.
    region: String {
        env: "BERTH_REGION",
        file: "region",
        default: "us-east-1",
        check: region,
    }
    /// Create a repository when an image is pushed to a name that does not exist.
    create_on_push: bool {
        env: "BERTH_CREATE_ON_PUSH",
        value_name: "BOOL",
        file: "create_on_push",
        default: "true",
    }
    /// Directory with the console's compiled assets (pkg/); LEPTOS_SITE_ROOT
    /// is used when this is not set.
    site_root: PathBuf {
        env: "BERTH_SITE_ROOT",
        value_name: "DIR",
        file: "site_root",
        default: "target/site",
    }
    /// Seconds an idle upload session lives before it is removed.
    upload_expiry: u64 {
        env: "BERTH_UPLOAD_EXPIRY",
        value_name: "SECONDS",
        file: "upload_expiry",
        default: "86400",
        check: at_least_one,
    }
    /// Seconds between applications of every repository's lifecycle policy.
    lifecycle_interval: u64 {
        env: "BERTH_LIFECYCLE_INTERVAL",
        value_name: "SECONDS",
        file: "lifecycle_interval",
        default: "3600",
        check: at_least_one,
    }
    /// Seconds after a lifecycle policy is saved before it is applied.
    lifecycle_delay_after_save: u64 {
        env: "BERTH_LIFECYCLE_DELAY_AFTER_SAVE",
        value_name: "SECONDS",
        file: "lifecycle_delay_after_save",
        default: "300",
    }
    /// Seconds between online garbage collections.
    gc_interval: u64 {
        env: "BERTH_GC_INTERVAL",
        value_name: "SECONDS",
        file: "gc_interval",
        default: "3600",
        check: at_least_one,
    }
    /// Seconds a blob must go untouched and unreferenced before GC deletes it.
    gc_grace: u64 {
        env: "BERTH_GC_GRACE",
        value_name: "SECONDS",
        file: "gc_grace",
        default: "3600",
    }
    /// Image scans that run at once (each reads one image's layers).
    scan_concurrency: u64 {
        env: "BERTH_SCAN_CONCURRENCY",
        value_name: "SCANS",
        file: "scan_concurrency",
        default: "2",
        check: at_least_one,
    }
    /// Seconds a console session lives without a request before it signs out.
    console_idle_timeout: u64 {
        env: "BERTH_CONSOLE_IDLE_TIMEOUT",
        value_name: "SECONDS",
        file: "console_idle_timeout",
        default: "3600",
        check: at_least_one,
    }
    /// Seconds a console session lives at most, however busy.
    console_session_lifetime: u64 {
        env: "BERTH_CONSOLE_SESSION_LIFETIME",
        value_name: "SECONDS",
        file: "console_session_lifetime",
        default: "43200",
        check: at_least_one,
    }
    /// Requests a second each user may make, sustained, on the registry and
    /// ECR APIs (ECR's quota); over it they get 429 TOOMANYREQUESTS or
    /// ThrottlingException. 0 turns limiting off.
    rate_limit: u32 {
        env: "BERTH_RATE_LIMIT",
        value_name: "PER_SECOND",
        file: "rate_limit",
        default: "200",
    }
    /// Requests each user may make at once, above the sustained rate.
    rate_burst: u32 {
        env: "BERTH_RATE_BURST",
        value_name: "REQUESTS",
        file: "rate_burst",
        default: "400",
        check: at_least_one,
    }
    /// Tags one image may have (ECR's quota); another is refused.
    max_tags_per_image: u32 {
        env: "BERTH_MAX_TAGS_PER_IMAGE",
        value_name: "TAGS",
        file: "max_tags_per_image",
        default: "1000",
        check: at_least_one,
    }
    /// Upload sessions one user may have open at once.
    max_uploads_per_user: u32 {
        env: "BERTH_MAX_UPLOADS_PER_USER",
        value_name: "UPLOADS",
        file: "max_uploads_per_user",
        default: "1000",
        check: at_least_one,
    }
    /// Bytes one blob (layer) may hold (ECR's 52,000 MiB).
    max_blob_size: u64 {
        env: "BERTH_MAX_BLOB_SIZE",
        value_name: "BYTES",
        file: "max_blob_size",
        default: "54525952000",
        check: at_least_one,
    }
    /// PEM certificate (chain) to serve HTTPS with; needs --tls-key.
    tls_cert: PathBuf {
        env: "BERTH_TLS_CERT",
        value_name: "FILE",
        file: "tls_cert",
        unset: "none (plain HTTP)",
    }
    /// PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    tls_key: PathBuf {
        env: "BERTH_TLS_KEY",
        value_name: "FILE",
        file: "tls_key",
        unset: "none",
    }
    /// Where blob bytes live: `filesystem` (under the data directory) or `s3`.
    storage: String {
        env: "BERTH_STORAGE",
        value_name: "KIND",
        file: "storage.kind",
        default: "filesystem",
        check: storage::kind,
    }
    /// S3 bucket for blobs (it must exist). Credentials come from the standard
    /// AWS chain: environment, profile, web identity, container or instance role.
    s3_bucket: String {
        env: "BERTH_S3_BUCKET",
        value_name: "BUCKET",
        file: "storage.bucket",
        unset: "none",
    }
    /// The S3 bucket's region.
    s3_region: String {
        env: "BERTH_S3_REGION",
        value_name: "REGION",
        file: "storage.region",
        default: "us-east-1",
    }
    /// An S3-compatible endpoint, e.g. http://127.0.0.1:3900.
    s3_endpoint: String {
        env: "BERTH_S3_ENDPOINT",
        value_name: "URL",
        file: "storage.endpoint",
        unset: "AWS",
        check: storage::endpoint,
    }
    /// Address the bucket in the path (endpoint/bucket/key), as most
    /// S3-compatible servers need.
    s3_path_style: bool {
        env: "BERTH_S3_PATH_STYLE",
        value_name: "BOOL",
        file: "storage.path_style",
        default: "false",
    }
    /// Key prefix for everything Berth stores in the bucket, e.g. `registry/`.
    s3_prefix: String {
        env: "BERTH_S3_PREFIX",
        value_name: "PREFIX",
        file: "storage.prefix",
        unset: "none",
    }
    /// Answer blob downloads with a 307 redirect to a short-lived presigned S3
    /// URL instead of streaming them through Berth (S3 only).
    storage_redirect: bool {
        env: "BERTH_STORAGE_REDIRECT",
        value_name: "BOOL",
        file: "storage.redirect",
        default: "false",
    }
    /// OSV exports (zip files of OSV JSON records) that `serve` and `berth
    /// vulndb update` download, comma-separated; empty for none (air-gapped
    /// sites import with `berth vulndb import`).
    vulndb_sources: SourceList {
        env: "BERTH_VULNDB_SOURCES",
        value_name: "URLS",
        file: "vulndb_sources",
        unset: "osv.dev's all.zip exports of Debian, Ubuntu, Alpine, Red Hat, Rocky Linux, AlmaLinux, PyPI, npm, Go, crates.io and Maven",
        check: vulndb::check_sources,
    }
    /// Seconds between downloads of the vulnerability database's sources by
    /// `serve`; 0 turns periodic updates off.
    vulndb_interval: u64 {
        env: "BERTH_VULNDB_INTERVAL",
        value_name: "SECONDS",
        file: "vulndb_interval",
        default: "86400",
    }
}

/// The validated settings of one installation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database and blobs live here.
    pub data_dir: PathBuf,
    /// Where `serve` listens.
    pub listen: SocketAddr,
    /// Where `serve` serves `/metrics` unauthenticated; `None`: on the main
    /// port, for administrators.
    pub metrics_listen: Option<SocketAddr>,
    /// How log lines are written.
    pub log_format: LogFormat,
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
    /// How many image scans run at once.
    pub scan_concurrency: usize,
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
    /// The vulnerability database's sources (URLs of OSV exports).
    pub vulndb_sources: Vec<String>,
    /// How often `serve` updates the vulnerability database; `None`: never.
    pub vulndb_interval: Option<std::time::Duration>,
}

/// How log lines are written (the `log_format` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Text, one event a line, fields as `key=value`.
    Plain,
    /// One JSON object a line, fields at its top level.
    Json,
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
            None => SettingsArgs::default(),
        };
        let mut given = args.over(file);
        // cargo-leptos tells a server where its site is; a Berth setting wins.
        if given.site_root.is_none() {
            given.site_root = std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from);
        }
        let s = given.with_defaults()?;
        let storage = storage::load(&s)?;
        let tls =
            match (s.tls_cert, s.tls_key) {
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
        let seconds = std::time::Duration::from_secs;
        Ok(Self {
            storage: storage.kind,
            s3: storage.s3,
            storage_redirect: storage.redirect,
            data_dir: s.data_dir,
            listen: s.listen.parse().map_err(|e| ConfigError::Invalid {
                name: "listen",
                message: format!("{e}"),
            })?,
            metrics_listen: s
                .metrics_listen
                .map(|text| text.parse())
                .transpose()
                .map_err(|e| ConfigError::Invalid {
                    name: "metrics_listen",
                    message: format!("{e}"),
                })?,
            log_format: if s.log_format == "json" {
                LogFormat::Json
            } else {
                LogFormat::Plain
            },
            public_url: s
                .public_url
                .as_deref()
                .map(public_origin)
                .transpose()
                .map_err(|message| ConfigError::Invalid {
                    name: "public_url",
                    message,
                })?,
            region: s.region,
            create_on_push: s.create_on_push,
            site_root: s.site_root,
            upload_expiry: seconds(s.upload_expiry),
            lifecycle_interval: seconds(s.lifecycle_interval),
            lifecycle_delay_after_save: seconds(s.lifecycle_delay_after_save),
            gc_interval: seconds(s.gc_interval),
            gc_grace: seconds(s.gc_grace),
            scan_concurrency: usize::try_from(s.scan_concurrency).unwrap_or(usize::MAX),
            console_idle_timeout: seconds(s.console_idle_timeout),
            console_session_lifetime: seconds(s.console_session_lifetime),
            rate_limit: RateLimit {
                per_second: s.rate_limit,
                burst: s.rate_burst,
            },
            limits: Limits {
                tags_per_image: s.max_tags_per_image,
                uploads_per_user: s.max_uploads_per_user,
                blob_size: s.max_blob_size,
            },
            tls,
            vulndb_sources: s.vulndb_sources.map_or_else(default_sources, |list| list.0),
            vulndb_interval: (s.vulndb_interval > 0).then(|| seconds(s.vulndb_interval)),
        })
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("berth.db")
    }
}

/// Reads the config file: each setting at its key, and nothing else.
fn read_file(path: &Path) -> Result<SettingsArgs, ConfigError> {
    let parse_error = |message: String| ConfigError::Parse {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| parse_error(e.to_string()))?;
    SettingsArgs::from_file(table).map_err(parse_error)
}

/// A limit of 0 would refuse everything.
fn at_least_one<T: Default + PartialEq>(value: &T) -> Result<(), String> {
    if *value == T::default() {
        Err("must be at least 1".into())
    } else {
        Ok(())
    }
}

fn socket_address(text: &str) -> Result<(), String> {
    text.parse::<SocketAddr>()
        .map(drop)
        .map_err(|e| format!("{text:?} is not an address like 127.0.0.1:5000 ({e})"))
}

fn log_format(text: &str) -> Result<(), String> {
    match text {
        "plain" | "json" => Ok(()),
        other => Err(format!("{other:?} is not a log format: use plain or json")),
    }
}

fn public_url(text: &str) -> Result<(), String> {
    public_origin(text).map(drop)
}

/// The public URL as `scheme://host[:port]`, or why it is not one. Repository
/// URIs are `host[:port]/name`, so a path, query or fragment cannot be honoured:
/// it would make every URI Berth shows wrong.
fn public_origin(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text)
        .map_err(|e| format!("{text:?} is not a URL like https://registry.example.com ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(format!(
            "{text:?} must be an http:// or https:// URL with a host"
        ));
    }
    let refuse = |what: &str| {
        Err(format!(
            "{text:?} has {what}; the public URL is the scheme, host and port only \
             (e.g. https://registry.example.com:5000), as registry hosts serve at the root"
        ))
    };
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("a user name or password");
    }
    if url.path() != "/" {
        return refuse(&format!("a path ({})", url.path()));
    }
    if url.query().is_some() {
        return refuse("a query (?…)");
    }
    if url.fragment().is_some() {
        return refuse("a fragment (#…)");
    }
    Ok(url.origin().ascii_serialization())
}

fn region(region: &str) -> Result<(), String> {
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
        Err(format!("{region:?} is not a region name like us-east-1"))
    }
}

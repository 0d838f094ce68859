//! The vulnerability database's settings: where its OSV exports are
//! downloaded from (`vulndb_sources`) and how often (`vulndb_interval`).

use serde::Deserialize;

/// osv.dev's per-ecosystem exports, for the ecosystems Berth's scanner reads
/// (ecosystem names as osv.dev spells them, spaces URL-encoded).
pub const DEFAULT_SOURCE_ECOSYSTEMS: &[&str] = &[
    "Debian",
    "Ubuntu",
    "Alpine",
    "Red Hat",
    "Rocky Linux",
    "AlmaLinux",
    "PyPI",
    "npm",
    "Go",
    "crates.io",
    "Maven",
];

/// The URL of osv.dev's `all.zip` export of one ecosystem.
pub fn osv_export_url(ecosystem: &str) -> String {
    format!(
        "https://osv-vulnerabilities.storage.googleapis.com/{}/all.zip",
        ecosystem.replace(' ', "%20")
    )
}

/// The default `vulndb_sources`: osv.dev's exports of [`DEFAULT_SOURCE_ECOSYSTEMS`].
pub fn default_sources() -> Vec<String> {
    DEFAULT_SOURCE_ECOSYSTEMS
        .iter()
        .map(|e| osv_export_url(e))
        .collect()
}

/// A list of source URLs: on the command line and in the environment
/// separated by commas (or white space), in the config file an array of
/// strings. An empty list means no sources (imports by hand only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceList(pub Vec<String>);

impl std::str::FromStr for SourceList {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let urls: Vec<String> = text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect();
        let list = SourceList(urls);
        check_sources(&list)?;
        Ok(list)
    }
}

impl<'de> Deserialize<'de> for SourceList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            List(Vec<String>),
            One(String),
        }
        match Given::deserialize(deserializer)? {
            Given::List(urls) => Ok(SourceList(urls)),
            Given::One(text) => text.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// Every source must be an http:// or https:// URL with a host.
pub fn check_sources(list: &SourceList) -> Result<(), String> {
    for text in &list.0 {
        let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(format!("{text:?} must be an http:// or https:// URL"));
        }
    }
    Ok(())
}

//! The settings: precedence, defaults, validation, and each setting's errors.

use super::*;

fn args() -> SettingsArgs {
    SettingsArgs::default()
}

#[test]
fn defaults_apply_when_nothing_is_given() {
    let s = Settings::load(&args()).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:5000");
    assert_eq!(s.data_dir, PathBuf::from("data"));
    assert_eq!(s.region, "us-east-1");
    assert!(s.create_on_push);
    assert_eq!(s.public_url, None);
    assert_eq!(s.tls, None, "plain HTTP by default");
}

#[test]
fn storage_is_the_filesystem_unless_s3_is_configured() {
    let s = Settings::load(&args()).unwrap();
    assert_eq!(s.storage, StorageKind::Filesystem);
    assert_eq!(s.s3, None);
    assert!(!s.storage_redirect);
}

#[test]
fn s3_storage_comes_from_the_file_table_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(
        &file,
        "[storage]\nkind = \"s3\"\nbucket = \"layers\"\nregion = \"eu-west-1\"\n\
         endpoint = \"http://127.0.0.1:3900/\"\npath_style = true\nprefix = \"/registry\"\n\
         redirect = true\n",
    )
    .unwrap();
    let mut a = args();
    a.config = Some(file);
    let s = Settings::load(&a).unwrap();
    assert_eq!(s.storage, StorageKind::S3);
    assert_eq!(
        s.s3,
        Some(crate::storage::S3Settings {
            bucket: "layers".into(),
            region: "eu-west-1".into(),
            endpoint: Some("http://127.0.0.1:3900".into()),
            path_style: true,
            prefix: "registry/".into(),
        })
    );
    assert!(s.storage_redirect);
    a.s3_bucket = Some("other".into());
    a.storage = Some("filesystem".into());
    a.storage_redirect = Some(false);
    let s = Settings::load(&a).unwrap();
    assert_eq!(s.storage, StorageKind::Filesystem);
    assert_eq!(
        s.s3.map(|s3| s3.bucket),
        Some("other".into()),
        "kept for migrate-storage"
    );
    assert!(!s.storage_redirect);
}

#[test]
fn bad_storage_settings_are_refused_by_name() {
    let refused = |a: SettingsArgs| match Settings::load(&a) {
        Err(ConfigError::Invalid { name, message }) => (name, message),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let mut a = args();
    a.storage = Some("tape".into());
    assert_eq!(refused(a).0, "storage.kind");
    let mut a = args();
    a.storage = Some("s3".into());
    let (name, message) = refused(a);
    assert_eq!(name, "storage.bucket");
    assert!(message.contains("BERTH_S3_BUCKET"), "{message}");
    let mut a = args();
    a.storage = Some("s3".into());
    a.s3_bucket = Some("b".into());
    a.s3_endpoint = Some("127.0.0.1:3900".into());
    assert_eq!(refused(a).0, "storage.endpoint");
    let mut a = args();
    a.storage_redirect = Some(true);
    assert_eq!(refused(a).0, "storage.redirect");
}

#[test]
fn tls_files_come_from_flags_or_the_file_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(&file, "tls_cert = \"file.crt\"\ntls_key = \"file.key\"\n").unwrap();
    let mut a = args();
    a.config = Some(file);
    let s = Settings::load(&a).unwrap();
    assert_eq!(
        s.tls,
        Some(TlsFiles {
            cert: "file.crt".into(),
            key: "file.key".into()
        }),
        "file beats default"
    );
    a.tls_cert = Some("flag.crt".into());
    let s = Settings::load(&a).unwrap();
    assert_eq!(
        s.tls,
        Some(TlsFiles {
            cert: "flag.crt".into(),
            key: "file.key".into()
        }),
        "flag beats the file"
    );
}

#[test]
fn the_rate_limit_is_ecr_s_quota_unless_set() {
    let s = Settings::load(&args()).unwrap();
    assert_eq!(s.rate_limit, RateLimit::DEFAULT);
    assert_eq!((s.rate_limit.per_second, s.rate_limit.burst), (200, 400));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(
        &file,
        "rate_limit = 50
rate_burst = 80
",
    )
    .unwrap();
    let mut a = args();
    a.config = Some(file);
    let s = Settings::load(&a).unwrap();
    assert_eq!((s.rate_limit.per_second, s.rate_limit.burst), (50, 80));
    a.rate_limit = Some(0);
    let s = Settings::load(&a).unwrap();
    assert!(!s.rate_limit.is_on(), "the flag wins, and 0 turns it off");
}

#[test]
fn the_limits_are_ecr_s_quotas_unless_set_and_never_zero() {
    let s = Settings::load(&args()).unwrap();
    assert_eq!(s.limits, Limits::DEFAULT);
    assert_eq!(s.limits.tags_per_image, 1000);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(
        &file,
        "max_tags_per_image = 3\nmax_uploads_per_user = 4\nmax_blob_size = 5\n",
    )
    .unwrap();
    let mut a = args();
    a.config = Some(file);
    a.max_uploads_per_user = Some(9);
    let s = Settings::load(&a).unwrap();
    let l = s.limits;
    assert_eq!(
        (l.tags_per_image, l.uploads_per_user, l.blob_size),
        (3, 9, 5)
    );

    a.max_blob_size = Some(0);
    let err = Settings::load(&a).unwrap_err().to_string();
    assert!(
        err.contains("max_blob_size") && err.contains("at least 1"),
        "{err}"
    );
}

/// An interval, a timeout or a burst of 0 would mean "all the time" or
/// "never": it is refused by name rather than quietly read as 1.
#[test]
fn intervals_timeouts_and_the_burst_are_never_zero() {
    type Set = fn(&mut SettingsArgs);
    let cases: [(&str, Set); 7] = [
        ("upload_expiry", |a| a.upload_expiry = Some(0)),
        ("lifecycle_interval", |a| a.lifecycle_interval = Some(0)),
        ("gc_interval", |a| a.gc_interval = Some(0)),
        ("console_idle_timeout", |a| a.console_idle_timeout = Some(0)),
        ("console_session_lifetime", |a| {
            a.console_session_lifetime = Some(0)
        }),
        ("rate_burst", |a| a.rate_burst = Some(0)),
        ("scan_concurrency", |a| a.scan_concurrency = Some(0)),
    ];
    for (name, set) in cases {
        let mut a = args();
        set(&mut a);
        let err = Settings::load(&a).unwrap_err().to_string();
        assert!(
            err.contains(name) && err.contains("at least 1"),
            "{name}: {err}"
        );
    }
}

#[test]
fn the_vulnerability_database_downloads_osv_dev_daily_unless_told_otherwise() {
    let s = Settings::load(&args()).unwrap();
    assert_eq!(
        s.vulndb_interval,
        Some(std::time::Duration::from_secs(86_400))
    );
    assert_eq!(s.vulndb_sources.len(), 11);
    assert!(s.vulndb_sources.contains(
        &"https://osv-vulnerabilities.storage.googleapis.com/Red%20Hat/all.zip".to_string()
    ));
    assert!(s.vulndb_sources.contains(
        &"https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip".to_string()
    ));

    // Air-gapped: no sources, no periodic updates, from the file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(&file, "vulndb_sources = []\nvulndb_interval = 0\n").unwrap();
    let mut a = args();
    a.config = Some(file.clone());
    let s = Settings::load(&a).unwrap();
    assert!(s.vulndb_sources.is_empty());
    assert_eq!(s.vulndb_interval, None);

    // A list in the file, a comma-separated one on the command line, which wins.
    std::fs::write(
        &file,
        "vulndb_sources = [\"https://mirror.example/Debian/all.zip\", \"http://mirror.internal/npm.zip\"]\n",
    )
    .unwrap();
    let s = Settings::load(&a).unwrap();
    assert_eq!(
        s.vulndb_sources,
        [
            "https://mirror.example/Debian/all.zip",
            "http://mirror.internal/npm.zip"
        ]
    );
    a.vulndb_sources = Some(
        "https://a.example/1.zip, https://b.example/2.zip"
            .parse()
            .unwrap(),
    );
    let s = Settings::load(&a).unwrap();
    assert_eq!(
        s.vulndb_sources,
        ["https://a.example/1.zip", "https://b.example/2.zip"]
    );

    // Each must be an http(s) URL, in the file too.
    assert!("ftp://mirror.example/all.zip"
        .parse::<SourceList>()
        .unwrap_err()
        .contains("http"));
    std::fs::write(&file, "vulndb_sources = [\"all.zip\"]\n").unwrap();
    a.vulndb_sources = None;
    let error = Settings::load(&a).unwrap_err().to_string();
    assert!(error.contains("vulndb_sources"), "{error}");
}

#[test]
fn tls_cert_and_key_come_together() {
    let mut a = args();
    a.tls_cert = Some("server.crt".into());
    let err = Settings::load(&a).unwrap_err().to_string();
    assert!(err.contains("tls_key"), "{err}");

    let mut a = args();
    a.tls_key = Some("server.key".into());
    let err = Settings::load(&a).unwrap_err().to_string();
    assert!(err.contains("tls_cert"), "{err}");
}

#[test]
fn flags_beat_the_file_and_the_file_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(
        &file,
        "listen = \"0.0.0.0:6000\"\nregion = \"eu-west-1\"\ncreate_on_push = false\n",
    )
    .unwrap();
    let mut a = args();
    a.config = Some(file);
    a.listen = Some("127.0.0.1:7000".into());
    let s = Settings::load(&a).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:7000", "flag wins");
    assert_eq!(s.region, "eu-west-1", "file beats default");
    assert!(!s.create_on_push, "file beats default");
}

#[test]
fn bad_values_name_the_setting() {
    let mut a = args();
    a.listen = Some("nowhere".into());
    let err = Settings::load(&a).unwrap_err().to_string();
    assert!(err.contains("listen"), "{err}");

    let mut a = args();
    a.region = Some("Mars".into());
    assert!(Settings::load(&a)
        .unwrap_err()
        .to_string()
        .contains("region"));

    let mut a = args();
    a.public_url = Some("ftp://x".into());
    assert!(Settings::load(&a)
        .unwrap_err()
        .to_string()
        .contains("public_url"));
}

#[test]
fn unknown_keys_in_the_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(&file, "listn = \"x\"\n").unwrap();
    let mut a = args();
    a.config = Some(file);
    let err = Settings::load(&a).unwrap_err().to_string();
    assert!(err.contains("listn"), "{err}");
}

#[test]
fn a_file_key_that_should_be_a_table_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(&file, "storage = \"s3\"\n").unwrap();
    let mut a = args();
    a.config = Some(file);
    let err = Settings::load(&a).unwrap_err().to_string();
    assert!(err.contains("`storage` must be a table"), "{err}");

    let file = dir.path().join("other.toml");
    std::fs::write(&file, "[storage]\nkind = \"filesystem\"\nbukket = \"b\"\n").unwrap();
    a.config = Some(file);
    let err = Settings::load(&a).unwrap_err().to_string();
    assert!(err.contains("storage.bukket"), "{err}");
}

#[test]
fn every_declared_default_is_a_valid_value() {
    // `Settings::load` with nothing given checks every default; this names the one that fails.
    Settings::load(&args()).unwrap();
    for setting in SETTINGS {
        if let Some(default) = setting.default {
            assert_eq!(default, setting.when_unset, "{}", setting.name);
        }
    }
}

#[test]
fn the_public_url_is_a_scheme_host_and_port_only() {
    let load = |url: &str| {
        let mut a = args();
        a.public_url = Some(url.into());
        Settings::load(&a).map(|s| s.public_url)
    };
    assert_eq!(
        load("https://registry.example.com/").unwrap(),
        Some("https://registry.example.com".into())
    );
    assert_eq!(
        load("http://Registry.Example.com:5000").unwrap(),
        Some("http://registry.example.com:5000".into())
    );
    for (url, why) in [
        ("https://h/x", "a path (/x)"),
        ("https://h/x/", "a path (/x/)"),
        ("https://h/?a=b", "a query"),
        ("https://h/#top", "a fragment"),
        ("https://user:pw@h", "a user name or password"),
        ("ftp://h", "http:// or https://"),
        ("registry.example.com", "not a URL"),
        ("http://", "not a URL"),
    ] {
        match load(url) {
            Err(ConfigError::Invalid { name, message }) => {
                assert_eq!(name, "public_url");
                assert!(message.contains(why), "{url}: {message}");
            }
            other => panic!("{url} was not refused: {other:?}"),
        }
    }
}

/// The rows of the README's settings table: flag, environment, file key, default.
fn readme_rows() -> Vec<[String; 4]> {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .expect("README has a Configuration section");
    section
        .lines()
        .skip_while(|line| !line.starts_with("| flag |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split(" | ")
                .map(|cell| cell.trim().trim_matches('`').to_string())
                .collect();
            [
                cells[0].clone(),
                cells[1].clone(),
                cells[2].clone(),
                cells[3].clone(),
            ]
        })
        .collect()
}

#[test]
fn the_readme_table_lists_every_setting_as_declared() {
    let rows = readme_rows();
    for setting in SETTINGS {
        let expected = [
            setting.flag(),
            setting.env.to_string(),
            setting.file_key.to_string(),
            setting.when_unset.to_string(),
        ];
        assert!(
            rows.contains(&expected),
            "README.md's configuration table needs the row\n| `{}` | `{}` | `{}` | {} | … |\n(defaults in backticks), as declared in config/mod.rs",
            expected[0],
            expected[1],
            expected[2],
            match setting.default {
                Some(value) => format!("`{value}`"),
                None => setting.when_unset.to_string(),
            }
        );
    }
    let flags: Vec<String> = SETTINGS.iter().map(SettingInfo::flag).collect();
    for row in &rows {
        assert!(
            flags.contains(&row[0]) || matches!(row[0].as_str(), "--config" | "–"),
            "README.md lists {}, which is no setting",
            row[0]
        );
    }
}

#[test]
fn metrics_listen_and_log_format_are_optional_and_checked() {
    let s = Settings::load(&args()).unwrap();
    assert_eq!(
        s.metrics_listen, None,
        "/metrics on the main port by default"
    );
    assert_eq!(s.log_format, LogFormat::Plain);

    let mut a = args();
    a.metrics_listen = Some("127.0.0.1:9500".into());
    a.log_format = Some("json".into());
    let s = Settings::load(&a).unwrap();
    assert_eq!(s.metrics_listen.unwrap().to_string(), "127.0.0.1:9500");
    assert_eq!(s.log_format, LogFormat::Json);

    let mut a = args();
    a.metrics_listen = Some("9500".into());
    let err = Settings::load(&a).unwrap_err().to_string();
    assert!(err.contains("metrics_listen"), "{err}");

    let mut a = args();
    a.log_format = Some("xml".into());
    let err = Settings::load(&a).unwrap_err().to_string();
    assert!(
        err.contains("log_format") && err.contains("plain or json"),
        "{err}"
    );
}

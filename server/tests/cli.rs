//! The `berth` command itself: help, settings precedence, first start, admin
//! subcommands against a running server, pull times, and garbage collection.

mod common;

use common::oci::{sha256_digest, Registry};
use common::{berth_binary, TestServer};
use reqwest::StatusCode;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// When a GC that must find garbage runs: late enough that everything the test
/// pushed is past the default grace period (an hour).
const LATER: &str = "+2h";

fn berth(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(berth_binary());
    command
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("BERTH_ADMIN_PASSWORD")
        .env_remove("BERTH_CONFIG")
        .env_remove("BERTH_REGION");
    command
}

async fn sqlite(data_dir: &Path) -> sqlx::SqlitePool {
    let url = format!("sqlite://{}?mode=ro", data_dir.join("berth.db").display());
    sqlx::SqlitePool::connect(&url)
        .await
        .expect("open berth.db")
}

async fn login_status(server: &TestServer, user: &str, password: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/v2/", server.url))
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("GET /v2/")
        .status()
}

#[test]
fn help_explains_every_setting_with_its_environment_variable() {
    let output = Command::new(berth_binary()).arg("--help").output().unwrap();
    let help = text(&output);
    assert!(output.status.success(), "{help}");
    for (flag, env) in [
        ("--listen", "BERTH_LISTEN"),
        ("--data-dir", "BERTH_DATA_DIR"),
        ("--public-url", "BERTH_PUBLIC_URL"),
        ("--config", "BERTH_CONFIG"),
        ("--region", "BERTH_REGION"),
        ("--create-on-push", "BERTH_CREATE_ON_PUSH"),
        ("--site-root", "BERTH_SITE_ROOT"),
        ("--upload-expiry", "BERTH_UPLOAD_EXPIRY"),
    ] {
        assert!(help.contains(flag), "help lacks {flag}:\n{help}");
        assert!(help.contains(env), "help lacks {env}:\n{help}");
    }
    for command in ["serve", "user", "gc"] {
        assert!(help.contains(command), "help lacks {command}:\n{help}");
    }
}

#[tokio::test]
async fn first_start_creates_the_registry_and_an_admin_with_a_password_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = berth(dir.path(), &["migrate"]).output().unwrap();
    let out = text(&first);
    assert!(first.status.success(), "{out}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("Created user 'admin' with password: "))
        .unwrap_or_else(|| panic!("first start prints the admin password:\n{out}"))
        .trim()
        .to_string();
    assert!(
        password.len() >= 20,
        "generated password is long: {password:?}"
    );

    let second = text(&berth(dir.path(), &["user", "list"]).output().unwrap());
    assert!(
        second.contains("NAME"),
        "then admin commands work:\n{second}"
    );
    assert!(
        !second.contains(&password),
        "the password is shown only once:\n{second}"
    );
    assert!(second.contains("admin"), "admin is listed:\n{second}");

    let db = sqlite(dir.path()).await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE name = 'admin'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "stored as argon2id: {hash}");
    assert!(!hash.contains(&password), "never in plain text");
    let (id, region): (String, String) = sqlx::query_as("SELECT registry_id, region FROM registry")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(id.len(), 12, "registry id {id}");
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "registry id {id}");
    assert_eq!(region, "us-east-1");
}

#[tokio::test]
async fn the_admin_password_comes_from_the_environment_when_given() {
    let server = TestServer::start();
    assert_eq!(
        login_status(&server, "admin", common::ADMIN_PASSWORD).await,
        StatusCode::OK
    );
    assert_eq!(
        login_status(&server, "admin", "wrong").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_status(&server, "nobody", "x").await,
        StatusCode::UNAUTHORIZED
    );
}

/// Starts `serve` with the given extra args/env and returns its banner.
fn banner(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = berth(data_dir, &["serve", "--listen", "127.0.0.1:0"]);
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        let line = line.unwrap();
        let done = line.contains("registry id");
        lines.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines.join("\n")
}

/// Extra `serve` arguments, environment, and the region the banner must show.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn settings_come_from_flags_then_environment_then_file_then_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("berth.toml");
    std::fs::write(
        &file,
        "region = \"ap-south-1\"\npublic_url = \"https://registry.example.com\"\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let cases: [Case; 4] = [
        (&[], &[], "us-east-1"),
        (&["--config", file], &[], "ap-south-1"),
        (
            &["--config", file],
            &[("BERTH_REGION", "eu-west-1")],
            "eu-west-1",
        ),
        (
            &["--config", file, "--region", "us-west-2"],
            &[("BERTH_REGION", "eu-west-1")],
            "us-west-2",
        ),
    ];
    for (i, (args, env, region)) in cases.iter().enumerate() {
        let data = dir.path().join(format!("data{i}"));
        let out = banner(&data, args, env);
        assert!(
            out.contains(&format!("in region {region}")),
            "case {i} wants {region}:\n{out}"
        );
    }
    let out = banner(&dir.path().join("data9"), &["--config", file], &[]);
    assert!(
        out.contains("registry.example.com/"),
        "public_url from the file:\n{out}"
    );
    let out = banner(
        &dir.path().join("data10"),
        &["--config", file],
        &[("BERTH_PUBLIC_URL", "http://env.example:5000")],
    );
    assert!(out.contains("env.example:5000"), "env beats file:\n{out}");
}

#[test]
fn invalid_settings_stop_the_start_with_the_setting_named() {
    let dir = tempfile::tempdir().unwrap();
    let output = berth(dir.path(), &["serve", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("listen"), "{}", text(&output));

    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "colour = \"blue\"\n").unwrap();
    let output = berth(dir.path(), &["serve", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("colour"), "{}", text(&output));
}

#[test]
fn a_public_url_with_a_path_query_or_fragment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (url, why) in [
        ("https://registry.example.com/team", "a path (/team)"),
        ("https://registry.example.com/?x=1", "a query"),
        ("https://registry.example.com/#x", "a fragment"),
    ] {
        let data = dir.path().join("data");
        let output = berth(&data, &["serve", "--public-url", url])
            .output()
            .unwrap();
        let out = text(&output);
        assert_eq!(output.status.code(), Some(2), "{url}: {out}");
        assert!(
            out.contains("invalid setting public_url") && out.contains(why),
            "{url}: {out}"
        );
        assert!(!data.exists(), "{url}: nothing is created");
    }
}

#[tokio::test]
async fn user_commands_work_on_a_running_server_and_take_effect_at_once() {
    let server = TestServer::start();
    let run = |args: &[&str], password: Option<&str>| {
        let mut command = berth(server.data_dir(), args);
        if let Some(p) = password {
            command.env("BERTH_USER_PASSWORD", p);
        }
        command.output().unwrap()
    };
    let created = run(&["user", "create", "alice"], Some("alice-password-1"));
    assert!(created.status.success(), "{}", text(&created));
    assert_eq!(
        login_status(&server, "alice", "alice-password-1").await,
        StatusCode::OK
    );

    let again = run(&["user", "create", "alice"], Some("x"));
    assert!(!again.status.success(), "duplicate users are refused");
    assert!(text(&again).contains("already exists"), "{}", text(&again));

    let changed = run(&["user", "set-password", "alice"], Some("alice-password-2"));
    assert!(changed.status.success(), "{}", text(&changed));
    assert_eq!(
        login_status(&server, "alice", "alice-password-2").await,
        StatusCode::OK
    );
    assert_eq!(
        login_status(&server, "alice", "alice-password-1").await,
        StatusCode::UNAUTHORIZED,
        "the old password stops working at once"
    );

    let listed = run(&["user", "list", "--json"], None);
    let users: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON user list");
    let names: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "alice"]);

    let deleted = run(&["user", "delete", "alice"], None);
    assert!(deleted.status.success(), "{}", text(&deleted));
    assert_eq!(
        login_status(&server, "alice", "alice-password-2").await,
        StatusCode::UNAUTHORIZED
    );
    let missing = run(&["user", "delete", "alice"], None);
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("no user named"),
        "{}",
        text(&missing)
    );
}

#[tokio::test]
async fn pulls_record_last_pulled_at_and_heads_do_not() {
    let mut server = TestServer::start();
    let client = Registry::new(&server);
    let pulled = client.push_image("pulls/pulled", Some("v1")).await;
    let headed = client.push_image("pulls/headed", Some("v1")).await;
    let get = client
        .send(client.get("/v2/pulls/pulled/manifests/v1"))
        .await;
    assert_eq!(get.status(), StatusCode::OK);
    let head = client
        .send(client.head("/v2/pulls/headed/manifests/v1"))
        .await;
    assert_eq!(head.status(), StatusCode::OK);
    // A graceful stop writes the coalesced pull times.
    assert!(server.stop().success(), "berth exits cleanly on SIGTERM");
    let db = sqlite(server.data_dir()).await;
    let at = |digest: String| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, Option<i64>>(
                "SELECT last_pulled_at FROM manifests WHERE digest = ?",
            )
            .bind(digest)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    assert!(at(pulled.digest).await.is_some(), "GET records a pull");
    assert!(at(headed.digest).await.is_none(), "HEAD is not a pull");
}

#[tokio::test]
async fn gc_deletes_only_unlinked_blobs_and_its_dry_run_deletes_nothing() {
    let server = TestServer::start();
    let client = Registry::new(&server);
    let image = client.push_image("gc/kept", Some("v1")).await;
    let orphan = client.push_blob("gc/kept", b"orphan layer").await;
    assert_eq!(orphan, sha256_digest(b"orphan layer"));
    let unlink = client
        .send(client.delete(&format!("/v2/gc/kept/blobs/{orphan}")))
        .await;
    assert_eq!(unlink.status(), StatusCode::ACCEPTED);
    let key = common::registry_key_id(server.data_dir()).await;
    let blob_file = |digest: &str| stored_object(server.data_dir(), digest, &key);
    assert!(blob_file(&orphan).exists());
    // An upload the store holds without a session (a crash leaves these).
    let leftover = server.data_dir().join("uploads/0b7c5d6e-leftover");
    std::fs::write(&leftover, b"half an upload").unwrap();

    let before = common::snapshot(server.data_dir());
    let dry = berth(server.data_dir(), &["gc", "--dry-run"])
        .envs(common::clock_moved(LATER))
        .output()
        .unwrap();
    let out = text(&dry);
    assert!(dry.status.success(), "{out}");
    assert!(out.contains(&format!("would delete {orphan}")), "{out}");
    assert!(
        !out.contains(&image.layers[0].digest),
        "blobs of images are kept: {out}"
    );
    assert!(blob_file(&orphan).exists(), "a dry run deletes nothing");
    assert!(leftover.exists(), "a dry run removes no upload");
    assert!(out.contains("1 leftover upload(s)"), "{out}");
    let listed = |out: &str, verb: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.strip_prefix(verb))
            .map(|rest| rest.split(' ').next().unwrap_or_default().to_owned())
            .collect()
    };
    let would = listed(&out, "would delete ");
    assert_eq!(
        before,
        common::snapshot(server.data_dir()),
        "a dry run changes no byte of the database or the data directory"
    );

    let real = berth(server.data_dir(), &["gc"])
        .envs(common::clock_moved(LATER))
        .output()
        .unwrap();
    let out = text(&real);
    assert!(real.status.success(), "{out}");
    assert!(out.contains(&format!("deleted {orphan}")), "{out}");
    assert_eq!(
        listed(&out, "deleted "),
        would,
        "the dry run listed exactly what the real run deleted"
    );
    assert!(out.contains("1 leftover upload(s)"), "{out}");
    assert!(
        !leftover.exists(),
        "the real run removes the leftover upload"
    );
    assert!(!blob_file(&orphan).exists(), "the orphan's bytes are gone");
    assert!(
        blob_file(&image.layers[0].digest).exists(),
        "the image's layer stays"
    );
    let pulled = client
        .send(client.get(&format!("/v2/gc/kept/blobs/{}", image.layers[0].digest)))
        .await;
    assert_eq!(pulled.status(), StatusCode::OK, "the image still pulls");

    let grace = berth(server.data_dir(), &["gc"]).output().unwrap();
    assert!(
        text(&grace).contains("Deleted 0 blob(s)"),
        "{}",
        text(&grace)
    );
}

#[tokio::test]
async fn fsck_passes_a_healthy_installation_and_names_what_is_broken() {
    let server = TestServer::start();
    let client = Registry::new(&server);
    let image = client.push_image("fsck/app", Some("v1")).await;
    let healthy = berth(server.data_dir(), &["fsck"]).output().unwrap();
    assert!(healthy.status.success(), "{}", text(&healthy));
    assert!(
        text(&healthy).contains("0 problem(s)"),
        "{}",
        text(&healthy)
    );

    let key = common::registry_key_id(server.data_dir()).await;
    let object_path = |digest: &str| stored_object(server.data_dir(), digest, &key);
    let blob_path = |digest: &str| {
        let hex = digest.trim_start_matches("sha256:").to_string();
        server
            .data_dir()
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(&hex)
    };
    // A flipped byte in a segment, and in the header of another copy.
    let layer = image.layers[0].digest.clone();
    let mut bytes = std::fs::read(object_path(&layer)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(object_path(&layer), &bytes).unwrap();
    let second = client
        .push_blob("fsck/app", b"a blob whose stored header is altered")
        .await;
    let mut bytes = std::fs::read(object_path(&second)).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(object_path(&second), &bytes).unwrap();
    let config = image.config.digest.clone();
    std::fs::remove_file(object_path(&config)).unwrap();
    // Bytes under a digest no record names: a later push of it would keep them.
    let unrecorded = sha256_digest(b"the whole blob");
    std::fs::create_dir_all(blob_path(&unrecorded).parent().unwrap()).unwrap();
    std::fs::write(blob_path(&unrecorded), b"the whole b").unwrap();

    let broken = berth(server.data_dir(), &["fsck"]).output().unwrap();
    let out = text(&broken);
    assert!(!broken.status.success(), "fsck fails on damage: {out}");
    let copy = |digest: &str| format!("blob {digest} (encrypted copy under key {key})");
    assert!(
        out.contains(&format!("{}: cannot be read:", copy(&layer)))
            && out.contains("failed authentication"),
        "{out}"
    );
    assert!(
        out.contains(&format!("{}: its stored header", copy(&second))),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}: recorded but its bytes are missing",
            copy(&config)
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "blob {unrecorded} (stored, no record): its bytes hash to"
        )),
        "{out}"
    );
}

#[tokio::test]
async fn gc_removes_an_index_children_once_nothing_needs_them() {
    let server = TestServer::start();
    let client = Registry::new(&server);
    let amd = client.push_image("gc/multi", None).await;
    let arm = client.push_image("gc/multi", None).await;
    let alone = client.push_image("gc/multi", None).await;
    let index = common::oci::to_bytes(&common::oci::image_index(&[
        amd.descriptor(),
        arm.descriptor(),
    ]));
    let index_digest = client
        .push_manifest("gc/multi", "v1", common::oci::OCI_INDEX, &index)
        .await;

    let kept = berth(server.data_dir(), &["gc"])
        .envs(common::clock_moved(LATER))
        .output()
        .unwrap();
    assert!(
        !text(&kept).contains("manifest"),
        "children of a live index stay: {}",
        text(&kept)
    );
    let resp = client
        .send(client.delete(&format!("/v2/gc/multi/manifests/{index_digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);

    let before = common::snapshot(server.data_dir());
    let dry = berth(server.data_dir(), &["gc", "--dry-run"])
        .envs(common::clock_moved(LATER))
        .output()
        .unwrap();
    assert_eq!(
        before,
        common::snapshot(server.data_dir()),
        "the dry run writes nothing"
    );
    for child in [&amd.digest, &arm.digest] {
        assert!(
            text(&dry).contains(&format!("would delete manifest {child}")),
            "{}",
            text(&dry)
        );
    }
    assert!(
        !text(&dry).contains(&alone.digest),
        "an image pushed on its own is not a child"
    );

    let real = berth(server.data_dir(), &["gc"])
        .envs(common::clock_moved(LATER))
        .output()
        .unwrap();
    assert!(real.status.success(), "{}", text(&real));
    for child in [&amd.digest, &arm.digest] {
        let resp = client
            .send(client.get(&format!("/v2/gc/multi/manifests/{child}")))
            .await;
        assert_eq!(
            resp.status(),
            StatusCode::NOT_FOUND,
            "child {child} collected"
        );
    }
    let resp = client
        .send(client.get(&format!("/v2/gc/multi/manifests/{}", alone.digest)))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "the untagged image pushed alone stays"
    );

    // The children's layers go at the next collection; the lone image's stay.
    let next = berth(server.data_dir(), &["gc"])
        .envs(common::clock_moved(LATER))
        .output()
        .unwrap();
    assert!(
        text(&next).contains(&format!("deleted {}", amd.layers[0].digest)),
        "{}",
        text(&next)
    );
    assert!(
        !text(&next).contains(&alone.layers[0].digest),
        "{}",
        text(&next)
    );
    let fsck = berth(server.data_dir(), &["fsck"]).output().unwrap();
    assert!(fsck.status.success(), "{}", text(&fsck));
}

/// A blob file cut short behind Berth's back while it is being served breaks
/// off that download instead of killing the server (reads, not mappings);
/// later downloads get an error, the log names the blob, and fsck reports it.
#[tokio::test]
async fn a_blob_truncated_while_served_fails_its_download_not_the_server() {
    let server = TestServer::start();
    let client = Registry::new(&server);
    let repo = "damaged/app";
    let data = common::oci::random_bytes(32 << 20);
    let digest = client.push_blob(repo, &data).await;
    let key = common::registry_key_id(server.data_dir()).await;
    let path = stored_object(server.data_dir(), &digest, &key);
    let hex = path.file_name().unwrap().to_string_lossy().into_owned();

    let mut download = client
        .send(client.get(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    let first = download
        .chunk()
        .await
        .expect("first bytes")
        .expect("a chunk");
    let mut received = first.len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1000)
        .unwrap();
    let broke_off = loop {
        match download.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(
        broke_off && received < data.len(),
        "the download of a truncated blob ended cleanly after {received} bytes"
    );

    let alive = client.send(client.get("/v2/")).await;
    assert_eq!(alive.status(), StatusCode::OK, "the server survived");
    let again = client
        .send(client.get(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    assert_eq!(again.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = again.text().await.unwrap();
    assert!(
        !body.contains(&hex),
        "no file details reach the client: {body}"
    );
    server.logs_once("a line naming the damaged blob", |logs| {
        logs.lines()
            .any(|l| l.contains(&digest) && l.contains("cannot be read"))
    });

    let report = berth(server.data_dir(), &["fsck"]).output().unwrap();
    let out = text(&report);
    assert!(!report.status.success(), "fsck fails on damage: {out}");
    assert!(
        out.contains(&format!(
            "blob {digest} (encrypted copy under key {key}): cannot be read"
        )) && out.contains("1000 bytes are stored"),
        "{out}"
    );
}

/// The file of `digest`'s encrypted copy under key `key_id`.
fn stored_object(data_dir: &Path, digest: &str, key_id: &str) -> std::path::PathBuf {
    let object = common::copy_object(digest, key_id);
    let hex = object.trim_start_matches("sha256:");
    data_dir.join("blobs/sha256").join(&hex[..2]).join(hex)
}

/// The highest migration applied to the installation's database.
async fn schema_version(data_dir: &Path) -> i64 {
    let db = sqlite(data_dir).await;
    let version = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    version
}

/// The migrations this berth has, oldest first, as `(version, file)`.
fn known_migrations() -> Vec<(i64, std::path::PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut all: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let version = name.split('_').next().unwrap().parse().unwrap();
            (version, path)
        })
        .collect();
    all.sort();
    all
}

#[test]
fn admin_commands_on_a_directory_with_no_installation_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    for args in [
        &["user", "list"][..],
        &["user", "create", "alice"],
        &["access-key", "list", "admin"],
        &["gc", "--dry-run"],
        &["fsck"],
        &["lifecycle", "history"],
    ] {
        for data in [dir.path(), missing.as_path()] {
            let output = berth(data, args).output().unwrap();
            let out = text(&output);
            assert!(!output.status.success(), "{args:?}: {out}");
            assert!(
                out.contains("no Berth installation in") && out.contains("berth migrate"),
                "{args:?}: {out}"
            );
        }
    }
    assert!(!missing.exists(), "no directory was created");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was created in the empty directory"
    );
}

#[tokio::test]
async fn admin_commands_refuse_an_older_schema_and_berth_migrate_migrates_it() {
    let dir = tempfile::tempdir().unwrap();
    let known = known_migrations();
    let (latest, _) = *known.last().unwrap();
    let (previous, _) = known[known.len() - 2];
    // A database as the previous release left it: every migration but the last.
    let older = tempfile::tempdir().unwrap();
    for (_, path) in &known[..known.len() - 1] {
        std::fs::copy(path, older.path().join(path.file_name().unwrap())).unwrap();
    }
    {
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("berth.db").display()
        );
        let db = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(older.path())
            .await
            .unwrap()
            .run(&db)
            .await
            .unwrap();
        db.close().await;
    }
    assert_eq!(schema_version(dir.path()).await, previous);

    let output = berth(dir.path(), &["user", "list"]).output().unwrap();
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "schema is at version {previous} and this berth needs version {latest}"
        )) && out.contains("berth migrate"),
        "{out}"
    );
    assert_eq!(
        schema_version(dir.path()).await,
        previous,
        "the admin command did not migrate"
    );

    let output = berth(dir.path(), &["migrate"]).output().unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains(&format!("at schema version {latest}")),
        "{out}"
    );
    assert_eq!(schema_version(dir.path()).await, latest, "migrated");
    let output = berth(dir.path(), &["user", "list"]).output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("admin"), "{}", text(&output));
}

#[tokio::test]
async fn every_command_refuses_a_schema_newer_than_it_knows() {
    let dir = tempfile::tempdir().unwrap();
    let output = berth(dir.path(), &["migrate"]).output().unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let latest = schema_version(dir.path()).await;
    {
        let url = format!("sqlite://{}", dir.path().join("berth.db").display());
        let db = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from a newer berth', TRUE, x'00', 0)",
        )
        .execute(&db)
        .await
        .unwrap();
        db.close().await;
    }
    for args in [
        &["user", "list"][..],
        &["migrate"],
        &["serve", "--listen", "127.0.0.1:0"],
    ] {
        let output = berth(dir.path(), args).output().unwrap();
        let out = text(&output);
        assert!(!output.status.success(), "{args:?}: {out}");
        assert!(
            out.contains(&format!(
                "schema is at version 99990101000000, newer than this berth knows (version {latest})"
            )),
            "{args:?}: {out}"
        );
    }
}

//! The vulnerability database, through the real `berth` binary: `berth vulndb
//! import` of a zip and of a directory of real OSV records (tests/vulndb/),
//! malformed records skipped and counted, `berth vulndb status` in both
//! formats, `berth vulndb update` from a loopback HTTP server (conditional
//! GETs, failing sources keeping their records, atomic replacement), and the
//! periodic updates of `serve`, and the console's "Update now" result.

mod common;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::console::Console;
use common::{TestServer, ADMIN_PASSWORD};
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The four real records (see tests/vulndb/README.md).
const DSA: &str = "DSA-3029-1";
const GHSA: &str = "GHSA-838r-hvwh-24h8";
const PYSEC: &str = "PYSEC-2021-63";
const UBUNTU: &str = "UBUNTU-CVE-2025-38094";

fn records_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vulndb/records")
}

/// The published file of record `id`, as its zip entry.
fn record(id: &str) -> (String, Vec<u8>) {
    let name = format!("{id}.json");
    let bytes = std::fs::read(records_dir().join(&name)).expect("a test record");
    (name, bytes)
}

/// A zip laid out as osv.dev's all.zip: one `<id>.json` per record, flat.
fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).expect("zip entry");
        zip.write_all(bytes).expect("zip entry bytes");
    }
    zip.finish().expect("zip");
    out.into_inner()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn succeeded(output: Output, what: &str) -> String {
    let all = text(&output);
    assert!(output.status.success(), "{what} failed: {all}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `berth vulndb status --json`'s sources, with `sources` as vulndb_sources.
fn status(server: &TestServer, sources: &str) -> Vec<Value> {
    let out = succeeded(
        server.admin(&["vulndb", "status", "--json", "--vulndb-sources", sources]),
        "vulndb status --json",
    );
    let json: Value = serde_json::from_str(&out).expect("status is JSON");
    json["sources"].as_array().expect("sources").clone()
}

fn source<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name} in {list:?}"))
}

/// berth.db of `data_dir`, read-only, and a runtime to query it on.
fn berth_db(data_dir: &Path) -> (tokio::runtime::Runtime, sqlx::SqlitePool) {
    let url = format!("sqlite://{}?mode=ro", data_dir.join("berth.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let pool = runtime
        .block_on(sqlx::SqlitePool::connect(&url))
        .expect("open berth.db");
    (runtime, pool)
}

/// What berth.db holds for the source `name`: the ids of its records in
/// service, and every record row of the source whatever its generation (to
/// show replaced generations are deleted).
fn stored(data_dir: &Path, name: &str) -> (Vec<String>, i64) {
    let (runtime, pool) = berth_db(data_dir);
    runtime.block_on(async {
        let live: Vec<String> = sqlx::query_scalar(
            "SELECT r.record_id FROM vulndb_records r
             JOIN vulndb_generations g ON g.id = r.generation AND g.state = 'live'
             JOIN vulndb_sources s ON s.id = g.source_id
             WHERE s.name = ? ORDER BY r.record_id",
        )
        .bind(name)
        .fetch_all(&pool)
        .await
        .expect("live records");
        let all: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM vulndb_records r
             JOIN vulndb_generations g ON g.id = r.generation
             JOIN vulndb_sources s ON s.id = g.source_id WHERE s.name = ?",
        )
        .bind(name)
        .fetch_one(&pool)
        .await
        .expect("all records");
        pool.close().await;
        (live, all)
    })
}

/// The index by package of the records in service: `(ecosystem, name, id)`.
fn indexed(data_dir: &Path) -> Vec<(String, String, String)> {
    let (runtime, pool) = berth_db(data_dir);
    runtime.block_on(async {
        let rows = sqlx::query_as(
            "SELECT DISTINCT p.ecosystem, p.name, r.record_id FROM vulndb_packages p
             JOIN vulndb_generations g ON g.id = p.generation AND g.state = 'live'
             JOIN vulndb_records r ON r.id = p.record ORDER BY 1, 2, 3",
        )
        .fetch_all(&pool)
        .await
        .expect("package index");
        pool.close().await;
        rows
    })
}

fn ids(list: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    ids.sort();
    ids
}

#[test]
fn a_zip_and_a_directory_of_real_osv_records_are_imported_and_shown_in_status() {
    let server = TestServer::start();
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("all.zip");
    std::fs::write(
        &zip,
        zip_of(&[record(DSA), record(GHSA), record(PYSEC), record(UBUNTU)]),
    )
    .unwrap();

    let out = succeeded(
        server.admin(&["vulndb", "import", zip.to_str().unwrap()]),
        "vulndb import of a zip",
    );
    assert!(
        out.contains("import:all.zip: 4 record(s) in service, 0 malformed record(s) skipped"),
        "{out}"
    );
    let dir = records_dir();
    let out = succeeded(
        server.admin(&[
            "vulndb",
            "import",
            dir.to_str().unwrap(),
            "--source",
            "hand-picked",
        ]),
        "vulndb import of a directory",
    );
    assert!(
        out.contains("hand-picked: 4 record(s) in service, 0 malformed record(s) skipped"),
        "{out}"
    );

    let all = ids(&[DSA, GHSA, PYSEC, UBUNTU]);
    assert_eq!(stored(server.data_dir(), "import:all.zip").0, all);
    assert_eq!(stored(server.data_dir(), "hand-picked").0, all);
    // Each record is found by the packages it names, as the record spells them.
    let index = indexed(server.data_dir());
    for (ecosystem, name, id) in [
        ("Debian:7", "nginx", DSA),
        ("Maven", "org.apache.any23:apache-any23", GHSA),
        ("PyPI", "cryptography", PYSEC),
        ("Ubuntu:Pro:14.04:LTS", "linux", UBUNTU),
    ] {
        assert!(
            index.contains(&(ecosystem.into(), name.into(), id.into())),
            "{id} is not indexed under {ecosystem} {name}: {index:?}"
        );
    }
    assert_eq!(index.len(), 4, "{index:?}");

    // No sources configured: only the two imports, with what they hold.
    let list = status(&server, "");
    assert_eq!(list.len(), 2, "{list:?}");
    for name in ["import:all.zip", "hand-picked"] {
        let s = source(&list, name);
        assert_eq!(s["records"], 4, "{s}");
        assert_eq!(s["skipped"], 0, "{s}");
        assert_eq!(s["configured"], false, "{s}");
        assert!(s["updatedAt"].as_str().unwrap().ends_with(" UTC"), "{s}");
        assert!(s["lastError"].is_null(), "{s}");
    }

    // The table, with a configured source never updated listed too.
    let out = succeeded(
        server.admin(&[
            "vulndb",
            "status",
            "--vulndb-sources",
            "http://127.0.0.1:9/never.zip",
        ]),
        "vulndb status",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("RECORDS") && lines[0].contains("SOURCE"),
        "{out}"
    );
    let row = |name: &str| {
        *lines
            .iter()
            .find(|l| l.ends_with(name))
            .unwrap_or_else(|| panic!("no row for {name}: {out}"))
    };
    assert!(
        row("http://127.0.0.1:9/never.zip").starts_with("never "),
        "{out}"
    );
    let cells: Vec<&str> = row("hand-picked").split_whitespace().collect();
    assert_eq!(cells[3..6], ["4", "0", "-"], "{out}");
}

#[test]
fn malformed_records_are_skipped_counted_and_reported_never_fatal() {
    let server = TestServer::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("export");
    std::fs::create_dir(&dir).unwrap();
    for id in [DSA, GHSA] {
        let (name, bytes) = record(id);
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::write(dir.join("not-json.json"), "<html>502 Bad Gateway</html>").unwrap();
    std::fs::write(
        dir.join("wrong-shape.json"),
        r#"{"id": 42, "affected": "everything"}"#,
    )
    .unwrap();
    // Not a .json file: not part of a directory export.
    std::fs::write(dir.join("README.txt"), "notes").unwrap();

    let out = succeeded(
        server.admin(&["vulndb", "import", dir.to_str().unwrap()]),
        "vulndb import with malformed records",
    );
    assert!(
        out.contains("import:export: 2 record(s) in service, 2 malformed record(s) skipped"),
        "{out}"
    );
    assert!(out.contains("skipped not-json.json: not JSON"), "{out}");
    assert!(
        out.contains("skipped wrong-shape.json: not an OSV record"),
        "{out}"
    );
    assert_eq!(
        stored(server.data_dir(), "import:export").0,
        ids(&[DSA, GHSA])
    );

    // The same in a zip, with a duplicated id: the first copy is kept.
    let zip = work.path().join("all.zip");
    let (_, ghsa) = record(GHSA);
    std::fs::write(
        &zip,
        zip_of(&[
            record(DSA),
            record(GHSA),
            ("copy/GHSA-838r-hvwh-24h8.json".into(), ghsa),
            ("garbage.json".into(), b"\x00\x01 not json".to_vec()),
        ]),
    )
    .unwrap();
    let out = succeeded(
        server.admin(&["vulndb", "import", zip.to_str().unwrap()]),
        "vulndb import of a zip with malformed records",
    );
    assert!(
        out.contains("import:all.zip: 2 record(s) in service, 2 malformed record(s) skipped"),
        "{out}"
    );
    assert!(
        out.contains("skipped copy/GHSA-838r-hvwh-24h8.json: duplicate id GHSA-838r-hvwh-24h8"),
        "{out}"
    );

    let list = status(&server, "");
    let s = source(&list, "import:export");
    assert_eq!(s["records"], 2, "{s}");
    assert_eq!(s["skipped"], 2, "{s}");
    let reasons: Vec<&str> = s["skippedReasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].starts_with("not-json.json: not JSON"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("wrong-shape.json: not an OSV record"),
        "{reasons:?}"
    );
}

/// Writes the first half of `good` to `zip` and imports it: the import
/// must fail, saying the archive cannot be read; what it printed.
fn import_truncated(server: &TestServer, zip: &Path, good: &[u8]) -> Output {
    std::fs::write(zip, &good[..good.len() / 2]).unwrap();
    let out = server.admin(&["vulndb", "import", zip.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "a truncated zip was imported: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("is not a readable zip archive of OSV records"),
        "{}",
        text(&out)
    );
    out
}

#[test]
fn an_unreadable_archive_fails_the_import_and_keeps_the_previous_records() {
    let server = TestServer::start();
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("all.zip");
    let good = zip_of(&[record(DSA), record(GHSA)]);
    std::fs::write(&zip, &good).unwrap();
    succeeded(
        server.admin(&["vulndb", "import", zip.to_str().unwrap()]),
        "first import",
    );
    let out = import_truncated(&server, &zip, &good);
    assert!(
        text(&out).contains("its previous records (2) stay in service"),
        "{}",
        text(&out)
    );
    assert_eq!(
        stored(server.data_dir(), "import:all.zip"),
        (ids(&[DSA, GHSA]), 2)
    );
    let list = status(&server, "");
    let s = source(&list, "import:all.zip");
    assert_eq!(s["records"], 2, "{s}");
    assert!(
        s["lastError"]
            .as_str()
            .unwrap()
            .contains("is not a readable zip archive"),
        "{s}"
    );
    assert!(s["lastErrorAt"].is_string(), "{s}");
}

#[test]
fn a_failed_import_of_a_new_source_does_not_claim_previous_records() {
    let server = TestServer::start();
    let work = tempfile::tempdir().unwrap();
    let zip = work.path().join("new.zip");
    let out = import_truncated(&server, &zip, &zip_of(&[record(DSA), record(GHSA)]));
    assert!(
        text(&out).contains("berth: import:new.zip: "),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("it had no records in service before, and none were added"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("stay in service"), "{}", text(&out));
}

/// How the loopback export server answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The export, with an ETag; 304 to a request that has it.
    Serve,
    /// HTTP 500.
    Fail,
    /// The first half of the export, as a cut download.
    Truncated,
}

struct ExportState {
    mode: Mode,
    body: Vec<u8>,
    etag: String,
    /// Every request's If-None-Match.
    if_none_match: Vec<Option<String>>,
}

/// An HTTP server on a loopback port serving one export at `/all.zip`, on a
/// thread of its own; stopped (its port closed) by [`ExportServer::stop`].
struct ExportServer {
    url: String,
    state: Arc<Mutex<ExportState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ExportServer {
    fn start(body: Vec<u8>) -> Self {
        let state = Arc::new(Mutex::new(ExportState {
            mode: Mode::Serve,
            etag: etag_of(&body),
            body,
            if_none_match: Vec::new(),
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().route(
                    "/all.zip",
                    axum::routing::get(move |headers: HeaderMap| {
                        let state = shared.clone();
                        async move { answer(&state, &headers) }
                    }),
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().expect("export server address");
        ExportServer {
            url: format!("http://{addr}/all.zip"),
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn set(&self, mode: Mode, body: Option<Vec<u8>>) {
        let mut state = self.state.lock().unwrap();
        state.mode = mode;
        if let Some(body) = body {
            state.etag = etag_of(&body);
            state.body = body;
        }
    }

    fn if_none_match(&self) -> Vec<Option<String>> {
        self.state.lock().unwrap().if_none_match.clone()
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("export server thread");
        }
    }
}

impl Drop for ExportServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn etag_of(body: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    format!("\"{}\"", hex::encode(&Sha256::digest(body)[..8]))
}

fn answer(state: &Mutex<ExportState>, headers: &HeaderMap) -> Response {
    let mut state = state.lock().unwrap();
    let asked = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state.if_none_match.push(asked.clone());
    match state.mode {
        Mode::Fail => (StatusCode::INTERNAL_SERVER_ERROR, "storage is down").into_response(),
        Mode::Truncated => {
            let half = state.body[..state.body.len() / 2].to_vec();
            (StatusCode::OK, half).into_response()
        }
        Mode::Serve if asked.as_deref() == Some(state.etag.as_str()) => (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, state.etag.clone())],
        )
            .into_response(),
        Mode::Serve => (
            StatusCode::OK,
            [(header::ETAG, state.etag.clone())],
            state.body.clone(),
        )
            .into_response(),
    }
}

fn update(server: &TestServer, sources: &str) -> Output {
    server.admin(&["vulndb", "update", "--vulndb-sources", sources])
}

#[test]
fn update_downloads_conditionally_and_replaces_a_sources_records_atomically() {
    let server = TestServer::start();
    let first = zip_of(&[record(DSA), record(GHSA), record(UBUNTU)]);
    let export = ExportServer::start(first.clone());
    let url = export.url.clone();

    let out = succeeded(update(&server, &url), "first update");
    assert!(
        out.contains(&format!("{url}: 3 record(s) in service")),
        "{out}"
    );
    assert_eq!(export.if_none_match(), vec![None]);
    let list = status(&server, &url);
    let s = source(&list, &url);
    assert_eq!(
        (s["records"].clone(), s["configured"].clone()),
        (3.into(), true.into()),
        "{s}"
    );
    let updated_at = s["updatedAt"].clone();

    // Unchanged: the second update asks with the ETag and gets 304.
    let out = succeeded(update(&server, &url), "second update");
    assert!(
        out.contains(&format!(
            "{url}: unchanged since the last update (HTTP 304)"
        )),
        "{out}"
    );
    assert_eq!(export.if_none_match(), vec![None, Some(etag_of(&first))]);
    let list = status(&server, &url);
    let s = source(&list, &url);
    assert_eq!(s["records"], 3, "{s}");
    assert_eq!(
        s["updatedAt"], updated_at,
        "a 304 changed the records' time: {s}"
    );

    // A new export replaces the records: those gone from it disappear, new
    // ones appear, and the replaced generation is deleted.
    export.set(Mode::Serve, Some(zip_of(&[record(GHSA), record(PYSEC)])));
    let out = succeeded(update(&server, &url), "update to a new export");
    assert!(
        out.contains(&format!("{url}: 2 record(s) in service")),
        "{out}"
    );
    assert_eq!(stored(server.data_dir(), &url), (ids(&[GHSA, PYSEC]), 2));
    let index = indexed(server.data_dir());
    assert!(
        !index
            .iter()
            .any(|(e, _, _)| e == "Debian:7" || e.starts_with("Ubuntu")),
        "records gone from the export are still indexed: {index:?}"
    );
}

#[test]
fn a_failing_source_keeps_its_previous_records_and_records_the_error() {
    let server = TestServer::start();
    let mut export = ExportServer::start(zip_of(&[record(DSA), record(GHSA)]));
    let url = export.url.clone();
    succeeded(update(&server, &url), "first update");
    let kept = (ids(&[DSA, GHSA]), 2);

    let expect_failure = |needle: &str| {
        let out = update(&server, &url);
        assert!(
            !out.status.success(),
            "the update succeeded: {}",
            text(&out)
        );
        assert!(
            text(&out).contains("its previous records (2) stay in service"),
            "{}",
            text(&out)
        );
        assert_eq!(stored(server.data_dir(), &url), kept);
        let list = status(&server, &url);
        let s = source(&list, &url);
        assert_eq!(s["records"], 2, "{s}");
        let error = s["lastError"].as_str().unwrap_or_default().to_string();
        assert!(
            error.contains(needle),
            "lastError {error:?} lacks {needle:?}"
        );
        assert!(s["lastErrorAt"].is_string(), "{s}");
    };

    // The server fails.
    export.set(Mode::Fail, None);
    expect_failure("answered HTTP 500 Internal Server Error");

    // The download is cut short (new contents, so no 304).
    export.set(
        Mode::Truncated,
        Some(zip_of(&[record(DSA), record(GHSA), record(PYSEC)])),
    );
    expect_failure("is not a readable zip archive of OSV records");

    // The server is gone.
    export.stop();
    expect_failure("Connection refused");

    // A later good update clears the error.
    let mut back = ExportServer::start(zip_of(&[record(PYSEC)]));
    let out = succeeded(update(&server, &back.url), "update of a working source");
    assert!(out.contains("1 record(s) in service"), "{out}");
    let list = status(&server, &back.url);
    assert!(source(&list, &back.url)["lastError"].is_null(), "{list:?}");
    back.stop();

    // An update with no sources says so.
    let out = update(&server, "");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no vulndb_sources are configured"),
        "{}",
        text(&out)
    );
}

#[test]
fn serve_updates_the_database_every_vulndb_interval() {
    let export = ExportServer::start(zip_of(&[record(DSA), record(UBUNTU)]));
    let server = TestServer::builder()
        .env("BERTH_VULNDB_SOURCES", &export.url)
        .env("BERTH_VULNDB_INTERVAL", "1")
        .start();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = status(&server, &export.url);
        if source(&list, &export.url)["records"] == 2 && export.if_none_match().len() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not update twice within 60 s: {list:?}, requests {:?}",
            export.if_none_match()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        stored(server.data_dir(), &export.url).0,
        ids(&[DSA, UBUNTU])
    );
    // The later updates were conditional.
    let asked = export.if_none_match();
    assert_eq!(asked[0], None);
    assert!(asked[1].is_some(), "{asked:?}");
    server.logs_once("the update's log line", |logs| {
        logs.contains("updated the vulnerability database")
    });
}

/// Runs the console's "Update now" and waits for its result: the first
/// source's text.
async fn console_update(console: &Console) -> String {
    console.call("update_vulndb", &[]).await.ok().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = console.call("load_vulndb_status", &[]).await.ok().unwrap();
        let run = &status["run"];
        if run["finished_at"].is_string() {
            return run["results"][0]["text"]
                .as_str()
                .unwrap_or_else(|| panic!("no result text: {status}"))
                .to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the update did not end: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_console_says_which_records_stay_after_a_failed_update() {
    let export = ExportServer::start(zip_of(&[record(DSA), record(GHSA)]));
    export.set(Mode::Fail, None);
    let server = TestServer::builder()
        .env("BERTH_VULNDB_SOURCES", &export.url)
        .env("BERTH_VULNDB_INTERVAL", "0")
        .start();
    let console = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;

    // A source that never had records: none are said to stay.
    let text = console_update(&console).await;
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(
        text.contains("It had no records in service before, and none were added."),
        "{text}"
    );
    assert!(!text.contains("stay in service"), "{text}");

    export.set(Mode::Serve, None);
    let text = console_update(&console).await;
    assert_eq!(text, "Imported 2 records.");

    // Now it has two: a failure says they stay, with their count.
    export.set(Mode::Fail, None);
    let text = console_update(&console).await;
    assert!(
        text.contains("Its previous records (2) stay in service."),
        "{text}"
    );
}

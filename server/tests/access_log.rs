//! The access log and request ids (issue 19 §3): one line per request with
//! its method, route template, status, bytes, duration, user, client and
//! request id, in plain text or JSON (`log_format = "json"`); an
//! `X-Request-Id` kept when sane, made otherwise, returned, and on every line
//! logged while its request is served.

mod common;

use common::oci::Registry;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::Value;

/// The server's log lines that contain `needle`.
fn lines_with(logs: &str, needle: &str) -> Vec<String> {
    logs.lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// Whether `id` looks like the UUID Berth makes.
fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.chars().enumerate().all(|(i, c)| {
            matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit())
        })
}

#[tokio::test]
async fn plain_access_lines_carry_the_request_and_its_id_on_every_line() {
    let server = TestServer::start();
    let registry = Registry::new(&server);
    let repo = common::unique("access-plain");

    // A sane id is kept and returned, and the line names the route template,
    // not the path.
    let answer = registry
        .send(
            registry
                .get(&format!("/v2/{repo}/manifests/missing"))
                .header("X-Request-Id", "client-id-1"),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    assert_eq!(answer.headers()["x-request-id"], "client-id-1");
    let logs = server.logs_once("the access line", |logs| {
        logs.contains("request_id=client-id-1") && logs.contains("request done")
    });
    let line = lines_with(&logs, "request done")
        .into_iter()
        .find(|l| l.contains("request_id=client-id-1"))
        .expect("the access line");
    for field in [
        "method=GET",
        "route=\"GetManifest\"",
        "status=404",
        "bytes_sent=",
        "bytes_received=0",
        "duration_ms=",
        "user=\"admin\"",
        "client=127.0.0.1",
        "face=\"registry\"",
    ] {
        assert!(line.contains(field), "{field} is not in {line}");
    }
    assert!(!line.contains(&repo), "the path is not logged: {line}");

    // No id, or one too long or with a space: a UUID is made and returned.
    for sent in [None, Some("x".repeat(129)), Some("two words".to_owned())] {
        let mut request = reqwest::Client::new().get(format!("{}/healthz", server.url));
        if let Some(id) = &sent {
            request = request.header("X-Request-Id", id);
        }
        let answer = request.send().await.expect("GET /healthz");
        let made = answer.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(is_uuid(&made), "{sent:?} gave {made}");
        server.logs_once("the made id", |logs| {
            logs.contains(&format!("request_id={made}"))
        });
    }

    // A line the request logs on its way (a refusal) carries its id too.
    let mut request = reqwest::Client::new()
        .get(format!("{}/v2/", server.url))
        .header("X-Request-Id", "refused-7");
    for i in 0..70 {
        request = request.header(format!("x-extra-{i}"), "1");
    }
    let answer = request.send().await.expect("GET /v2/ with 71 headers");
    assert_eq!(answer.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(answer.headers()["x-request-id"], "refused-7");
    let logs = server.logs_once("the refusal and its access line", |logs| {
        lines_with(logs, "refused-7").len() >= 2
    });
    let lines = lines_with(&logs, "refused-7");
    assert!(
        lines.iter().any(|l| l.contains("request refused")),
        "the refusal's own line carries the id: {lines:#?}"
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("request done") && l.contains("status=431")));
}

#[tokio::test]
async fn json_access_lines_are_objects_with_every_field() {
    let server = TestServer::builder()
        .env("BERTH_LOG_FORMAT", "json")
        .start();
    let registry = Registry::new(&server);
    let repo = common::unique("access-json");
    let image = registry.push_image(&repo, Some("v1")).await;
    let answer = registry
        .send(
            registry
                .get(&format!("/v2/{repo}/blobs/{}", image.layers[0].digest))
                .header("X-Request-Id", "json-blob-1"),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["x-request-id"], "json-blob-1");
    let size = answer.bytes().await.expect("the layer").len();
    let logs = server.logs_once("the access line", |logs| {
        logs.contains("json-blob-1") && logs.contains("request done")
    });
    let mut found = None;
    for line in logs.lines() {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        if value["message"] == "request done" && value["request_id"] == "json-blob-1" {
            found = Some(value);
        }
    }
    let line = found.expect("the access line");
    assert_eq!(line["target"], "berth::access");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "GetBlob");
    assert_eq!(line["status"], 200);
    assert_eq!(line["bytes_sent"], size as u64);
    assert_eq!(line["user"], "admin");
    assert_eq!(line["client"], "127.0.0.1");
    assert_eq!(line["face"], "registry");
    assert!(line["duration_ms"].as_f64().is_some(), "{line}");
    assert_eq!(line["span"]["request_id"], "json-blob-1", "{line}");
}

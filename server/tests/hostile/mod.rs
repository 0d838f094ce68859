//! The machinery of `tests/hostile_input.rs`: a row (a raw request and the
//! answer it must get), the fixture every row runs against, and the state of
//! the installation that no row may change.

pub mod ecr_rows;
pub mod manifest_rows;
pub mod registry_rows;

use crate::common::ecr::{call_headers, create_access_key, AccessKey};
use crate::common::oci::{PushedImage, Registry};
use crate::common::raw::{send, RawRequest, RawResponse};
use crate::common::{TestServer, ADMIN_PASSWORD};
use base64::Engine;
use std::collections::BTreeMap;
use std::path::Path;

/// Where the rows that cut a body short cut it.
pub const CUT_AT: usize = 1000;

/// What a row must be answered with.
#[derive(Clone, Copy, Debug)]
pub enum Want {
    /// This status and OCI error code (the first of `errors`), with a message.
    Oci(u16, &'static str),
    /// This status and ECR `__type`, with a message.
    Ecr(u16, &'static str),
    /// This status, no error body (a `HEAD`, or a request the server serves
    /// as the protocol says, e.g. a `Range` it must ignore).
    Status(u16),
    /// A body shorter than its `Content-Length`: the server may close without
    /// answering, or answer with a 400 of the protocol's own, never anything else.
    Truncated,
}

/// One bad request and the answer it must get.
pub struct Row {
    /// What the row tries, for failure messages.
    pub what: String,
    /// The request, sent byte for byte.
    pub request: RawRequest,
    /// The answer it must get.
    pub want: Want,
}

/// A row.
pub fn row(what: impl Into<String>, request: RawRequest, want: Want) -> Row {
    Row {
        what: what.into(),
        request,
        want,
    }
}

/// What every row runs against: two repositories, `app` with an image and
/// open upload sessions, `other` with a blob and an image `app` cannot see.
pub struct Fixture {
    /// The server.
    pub server: TestServer,
    /// The admin's access key.
    pub key: AccessKey,
    /// `hostile/app`.
    pub app: String,
    /// `hostile/other`.
    pub other: String,
    /// The image tagged `v1` in `app`.
    pub image: PushedImage,
    /// The image in `other` only.
    pub other_image: PushedImage,
    /// A blob linked to `other` only.
    pub other_blob: String,
    /// Paths of upload sessions open in `app`, with nothing written yet.
    pub uploads: Vec<String>,
}

impl Fixture {
    /// Starts a server and pushes what the rows need.
    pub async fn start() -> Self {
        let server = TestServer::start();
        let key = create_access_key(&server, "admin");
        let registry = Registry::new(&server);
        let (app, other) = ("hostile/app".to_owned(), "hostile/other".to_owned());
        let image = registry.push_image(&app, Some("v1")).await;
        let other_image = registry.push_image(&other, Some("v1")).await;
        let other_blob = registry.push_blob(&other, b"a layer only other has").await;
        let mut uploads = Vec::new();
        for _ in 0..4 {
            let location = registry.start_upload(&app).await;
            let path = location
                .strip_prefix(&server.url)
                .unwrap_or(&location)
                .to_owned();
            uploads.push(path);
        }
        Self {
            server,
            key,
            app,
            other,
            image,
            other_image,
            other_blob,
            uploads,
        }
    }

    /// A `/v2/` request with the admin's Basic credentials.
    pub fn v2(&self, method: &str, path: impl Into<String>) -> RawRequest {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
        RawRequest::new(method, path).header("Authorization", format!("Basic {credentials}"))
    }

    /// A signed ECR call of `operation` with `body`.
    pub fn ecr(&self, operation: &str, body: impl Into<Vec<u8>>) -> RawRequest {
        self.ecr_as(&self.key, operation, body)
    }

    /// An ECR call of `operation` with `body`, signed with `key`.
    pub fn ecr_as(&self, key: &AccessKey, operation: &str, body: impl Into<Vec<u8>>) -> RawRequest {
        let body = body.into();
        let mut request = RawRequest::new("POST", "/").body(body.clone());
        for (name, value) in call_headers(key, &self.server.host, operation, &body) {
            if name != "host" {
                request = request.header(&name, value);
            }
        }
        request
    }

    /// Runs a group of rows: each must get its answer, and together they
    /// must leave the installation as it was. Returns how many rows ran and
    /// what went wrong.
    pub async fn run(&self, group: &str, rows: Vec<Row>) -> (usize, Vec<String>) {
        self.run_resumable(group, rows, &[]).await
    }

    /// The same, but the upload sessions at `resumable` were sent bodies cut
    /// short after [`CUT_AT`] bytes: uploads are resumable (OCI end-13), so
    /// each keeps exactly the bytes that arrived, and says so.
    pub async fn run_resumable(
        &self,
        group: &str,
        rows: Vec<Row>,
        resumable: &[&str],
    ) -> (usize, Vec<String>) {
        let before = State::of(self.server.data_dir()).await;
        let mut wrong = Vec::new();
        for row in &rows {
            let reply = send(&self.server.host, &row.request);
            if let Err(why) = check(row.want, reply.as_ref()) {
                wrong.push(format!("{group}: {}: {why}", row.what));
            }
        }
        let after = State::of(self.server.data_dir()).await;
        let ids: Vec<&str> = resumable
            .iter()
            .filter_map(|p| p.rsplit('/').next())
            .collect();
        wrong.extend(
            before
                .changes(&after)
                .into_iter()
                .filter(|c| !ids.iter().any(|id| c.contains(id)))
                .map(|c| format!("{group} changed {c}")),
        );
        for path in resumable {
            let reply = send(&self.server.host, &self.v2("GET", *path)).expect("an answer");
            let range = format!("0-{}", CUT_AT - 1);
            if reply.status != 204 || reply.header("range") != Some(range.as_str()) {
                wrong.push(format!("{group}: {path} does not hold {range}: {reply:?}"));
            }
        }
        self.still_serves().await;
        (rows.len(), wrong)
    }

    /// The image and the ECR API still answer as before.
    pub async fn still_serves(&self) {
        let path = format!("/v2/{}/manifests/v1", self.app);
        let reply = send(&self.server.host, &self.v2("GET", path)).expect("an answer");
        assert_eq!(reply.status, 200, "the image is still served");
        assert_eq!(reply.body, self.image.manifest, "the same manifest");
        let body = format!(r#"{{"repositoryNames":["{}"]}}"#, self.app);
        let reply =
            send(&self.server.host, &self.ecr("DescribeRepositories", body)).expect("an answer");
        assert_eq!(reply.status, 200, "the ECR API still answers: {reply:?}");
    }
}

/// Checks a reply against what the row wants.
fn check(want: Want, reply: Option<&RawResponse>) -> Result<(), String> {
    let Some(reply) = reply else {
        return match want {
            Want::Truncated => Ok(()),
            _ => Err("the server closed without answering".into()),
        };
    };
    let body = String::from_utf8_lossy(&reply.body);
    let (status, code, message) = match want {
        Want::Status(status) => {
            return (reply.status == status)
                .then_some(())
                .ok_or_else(|| format!("status {} (want {status}): {body}", reply.status));
        }
        Want::Truncated => {
            let json = reply.json();
            let ok = reply.status == 400
                && (json["errors"][0]["code"].is_string() || json["__type"].is_string());
            return ok
                .then_some(())
                .ok_or_else(|| format!("status {}: {body}", reply.status));
        }
        Want::Oci(status, code) => {
            let error = &reply.json()["errors"][0];
            let got = error["code"].as_str().unwrap_or("").to_owned();
            let message = error["message"].as_str().unwrap_or("").to_owned();
            (status, (code, got), message)
        }
        Want::Ecr(status, code) => {
            let json = reply.json();
            let got = json["__type"].as_str().unwrap_or("");
            let got = got.rsplit('#').next().unwrap_or("").to_owned();
            let message = json["message"]
                .as_str()
                .or(json["Message"].as_str())
                .unwrap_or("")
                .to_owned();
            (status, (code, got), message)
        }
    };
    if reply.status != status || code.0 != code.1 || message.trim().is_empty() {
        return Err(format!(
            "got {} {} (want {status} {}): {body}",
            reply.status, code.1, code.0
        ));
    }
    Ok(())
}

/// What a row must not change: every file of the data directory but the
/// database, byte for byte, and every row of every table of the database.
#[derive(Debug, PartialEq)]
pub struct State {
    files: BTreeMap<String, String>,
    tables: BTreeMap<String, Vec<String>>,
}

/// Columns that a served read updates by design (last pulled, last used,
/// GC's touch of a blob link), flushed a few seconds later.
const READ_TIMES: &[&str] = &["touched_at", "last_pulled_at", "last_used_at"];

impl State {
    /// The state of the installation in `dir` now.
    pub async fn of(dir: &Path) -> Self {
        let mut files = crate::common::snapshot(dir);
        files.retain(|name, _| !name.starts_with("berth.db"));
        let url = format!("sqlite://{}?mode=ro", dir.join("berth.db").display());
        let db = sqlx::SqlitePool::connect(&url)
            .await
            .expect("open berth.db");
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        .fetch_all(&db)
        .await
        .expect("table names");
        let mut tables = BTreeMap::new();
        for table in names {
            let columns: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(&db)
                    .await
                    .expect("columns");
            let kept: Vec<String> = columns
                .iter()
                .filter(|c| !READ_TIMES.contains(&c.as_str()))
                .map(|c| format!("quote(\"{c}\")"))
                .collect();
            let sql = format!(
                "SELECT {} FROM \"{table}\" ORDER BY 1",
                kept.join(" || '|' || ")
            );
            let mut rows: Vec<String> =
                sqlx::query_scalar(&sql).fetch_all(&db).await.expect("rows");
            rows.sort();
            tables.insert(table, rows);
        }
        db.close().await;
        Self { files, tables }
    }

    /// What differs in `after`.
    pub fn changes(&self, after: &State) -> Vec<String> {
        let mut changes = Vec::new();
        for (name, hash) in &after.files {
            if self.files.get(name) != Some(hash) {
                changes.push(format!("file {name} is new or changed"));
            }
        }
        for name in self.files.keys() {
            if !after.files.contains_key(name) {
                changes.push(format!("file {name} is gone"));
            }
        }
        for (table, rows) in &after.tables {
            let old = self.tables.get(table).cloned().unwrap_or_default();
            for row in rows.iter().filter(|r| !old.contains(r)) {
                changes.push(format!("{table}: new row {row}"));
            }
            for row in old.iter().filter(|r| !rows.contains(r)) {
                changes.push(format!("{table}: row gone {row}"));
            }
        }
        changes
    }
}

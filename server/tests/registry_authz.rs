//! Authorization on the registry API (`/v2/`): which caller may do what, endpoint
//! by endpoint.
//!
//! The matrix test has one row per endpoint kind and one column per kind of
//! caller. Every cell runs against a freshly seeded repository and checks the
//! status, the OCI error (code, and for 403 the AWS-style sentence naming the
//! action), and the repository's state afterwards: unchanged whenever the
//! request is refused or only reads, changed when an allowed request writes.
//!
//! Then: the catalog lists only repositories the caller may describe, a
//! repository policy can grant one repository to a user without policies,
//! create-on-push needs `ecr:CreateRepository`, and a mount from a repository
//! the caller cannot read starts an upload instead.

mod common;

use common::oci::{random_bytes, sha256_digest, Registry, OCI_MANIFEST};
use common::{berth_binary, unique, TestServer, ADMIN_PASSWORD};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use sqlx::SqlitePool;
use std::fmt::Write as _;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

/// The password of every user these tests create.
const USER_PASSWORD: &str = "authz-user-password-1";

const FULL_ACCESS: &str = "AmazonEC2ContainerRegistryFullAccess";
const POWER_USER: &str = "AmazonEC2ContainerRegistryPowerUser";
const PULL_ONLY: &str = "AmazonEC2ContainerRegistryPullOnly";

const LIST_IMAGES: &str = "ecr:ListImages";
const BATCH_GET_IMAGE: &str = "ecr:BatchGetImage";
const PUT_IMAGE: &str = "ecr:PutImage";
const BATCH_DELETE_IMAGE: &str = "ecr:BatchDeleteImage";
const GET_DOWNLOAD_URL: &str = "ecr:GetDownloadUrlForLayer";
const INITIATE_UPLOAD: &str = "ecr:InitiateLayerUpload";
const UPLOAD_PART: &str = "ecr:UploadLayerPart";
const COMPLETE_UPLOAD: &str = "ecr:CompleteLayerUpload";
const CREATE_REPOSITORY: &str = "ecr:CreateRepository";

/// What every seeded repository's policy denies to bob (a PowerUser).
const PUSH_ACTIONS: [&str; 4] = [PUT_IMAGE, INITIATE_UPLOAD, UPLOAD_PART, COMPLETE_UPLOAD];

// ---------------------------------------------------------------------------
// Callers

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    /// No `Authorization` header.
    Anonymous,
    /// `admin` with a wrong password.
    WrongPassword,
    /// `AWS` and an authorization token of admin's that has expired.
    ExpiredToken,
    /// `nobody`, a user with no policy at all.
    NoPolicy,
    /// `puller`, with AmazonEC2ContainerRegistryPullOnly.
    PullOnly,
    /// `pat`, with AmazonEC2ContainerRegistryPowerUser.
    PowerUser,
    /// `bob`, a PowerUser whose pushes the repository's policy denies.
    PowerUserDeniedByRepo,
    /// `admin` (FullAccess) with its password.
    Admin,
    /// `AWS` and a valid authorization token of admin's.
    AdminToken,
    /// admin's access key id and secret.
    AdminAccessKey,
}

impl Caller {
    const ALL: [Caller; 10] = [
        Caller::Anonymous,
        Caller::WrongPassword,
        Caller::ExpiredToken,
        Caller::NoPolicy,
        Caller::PullOnly,
        Caller::PowerUser,
        Caller::PowerUserDeniedByRepo,
        Caller::Admin,
        Caller::AdminToken,
        Caller::AdminAccessKey,
    ];

    /// The column header in the printed matrix.
    fn label(self) -> &'static str {
        match self {
            Caller::Anonymous => "anon",
            Caller::WrongPassword => "badpw",
            Caller::ExpiredToken => "expired",
            Caller::NoPolicy => "nopolicy",
            Caller::PullOnly => "pullonly",
            Caller::PowerUser => "power",
            Caller::PowerUserDeniedByRepo => "power-rp",
            Caller::Admin => "admin",
            Caller::AdminToken => "token",
            Caller::AdminAccessKey => "akey",
        }
    }

    /// The user the server should name in a refusal.
    fn user(self) -> &'static str {
        match self {
            Caller::NoPolicy => "nobody",
            Caller::PullOnly => "puller",
            Caller::PowerUser => "pat",
            Caller::PowerUserDeniedByRepo => "bob",
            _ => "admin",
        }
    }
}

// ---------------------------------------------------------------------------
// Expectations and requests

/// The answer a cell should get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// The endpoint's success status.
    Allowed,
    /// 403 DENIED because no policy allows the action.
    Denied(&'static str),
    /// 403 DENIED because the repository policy explicitly denies the action.
    DeniedByRepo(&'static str),
    /// 401 UNAUTHORIZED with the Basic challenge.
    Unauthorized,
}

const OK: Expect = Expect::Allowed;

fn deny(action: &'static str) -> Expect {
    Expect::Denied(action)
}

fn repo_deny(action: &'static str) -> Expect {
    Expect::DeniedByRepo(action)
}

/// Whether an allowed request changes the repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Reads,
    Writes,
}

/// An HTTP request, before credentials are added.
struct Req {
    method: Method,
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
}

impl Req {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Req {
            method,
            path: path.into(),
            body: None,
        }
    }

    fn body(mut self, content_type: &'static str, data: &[u8]) -> Self {
        self.body = Some((content_type, data.to_vec()));
        self
    }
}

/// A repository seeded for one cell.
struct Target {
    repo: String,
    /// The manifest tagged `v1`.
    manifest: Vec<u8>,
    manifest_digest: String,
    /// The image's layer.
    layer: String,
    /// A blob linked to the repository that no manifest references.
    loose_blob: String,
    /// The `Location` of an upload session admin opened.
    session: String,
    /// Content that is not in the registry yet, for uploads.
    new_blob: Vec<u8>,
}

/// One row of the matrix: an endpoint kind, how to call it, and the answer
/// each of the four policy-dependent callers gets. Anonymous, wrong-password
/// and expired-token callers always get 401; admin (by password, token or
/// access key) always gets `success`.
struct Endpoint {
    name: &'static str,
    success: StatusCode,
    effect: Effect,
    build: fn(&Target) -> Req,
    no_policy: Expect,
    pull_only: Expect,
    power_user: Expect,
    power_user_denied_by_repo: Expect,
}

impl Endpoint {
    fn new(
        name: &'static str,
        success: StatusCode,
        effect: Effect,
        build: fn(&Target) -> Req,
    ) -> Self {
        Endpoint {
            name,
            success,
            effect,
            build,
            no_policy: OK,
            pull_only: OK,
            power_user: OK,
            power_user_denied_by_repo: OK,
        }
    }

    /// The answers for: no policy, PullOnly, PowerUser, PowerUser denied by the repository policy.
    fn callers(
        mut self,
        no_policy: Expect,
        pull_only: Expect,
        power: Expect,
        power_rp: Expect,
    ) -> Self {
        self.no_policy = no_policy;
        self.pull_only = pull_only;
        self.power_user = power;
        self.power_user_denied_by_repo = power_rp;
        self
    }

    fn expect(&self, caller: Caller) -> Expect {
        match caller {
            Caller::Anonymous | Caller::WrongPassword | Caller::ExpiredToken => {
                Expect::Unauthorized
            }
            Caller::NoPolicy => self.no_policy,
            Caller::PullOnly => self.pull_only,
            Caller::PowerUser => self.power_user,
            Caller::PowerUserDeniedByRepo => self.power_user_denied_by_repo,
            Caller::Admin | Caller::AdminToken | Caller::AdminAccessKey => OK,
        }
    }
}

/// Every `/v2` endpoint kind, with who may call it.
fn endpoints() -> Vec<Endpoint> {
    use Effect::{Reads, Writes};
    use Method as M;
    vec![
        Endpoint::new("GET /v2/", StatusCode::OK, Reads, |_| {
            Req::new(M::GET, "/v2/")
        })
        .callers(OK, OK, OK, OK),
        Endpoint::new("GET catalog", StatusCode::OK, Reads, |_| {
            Req::new(M::GET, "/v2/_catalog")
        })
        .callers(OK, OK, OK, OK),
        Endpoint::new("GET tags/list", StatusCode::OK, Reads, |t| {
            Req::new(M::GET, format!("/v2/{}/tags/list", t.repo))
        })
        .callers(deny(LIST_IMAGES), deny(LIST_IMAGES), OK, OK),
        Endpoint::new("GET manifest", StatusCode::OK, Reads, |t| {
            Req::new(M::GET, format!("/v2/{}/manifests/v1", t.repo))
        })
        .callers(deny(BATCH_GET_IMAGE), OK, OK, OK),
        Endpoint::new("HEAD manifest", StatusCode::OK, Reads, |t| {
            Req::new(M::HEAD, format!("/v2/{}/manifests/v1", t.repo))
        })
        .callers(deny(BATCH_GET_IMAGE), OK, OK, OK),
        Endpoint::new("PUT manifest", StatusCode::CREATED, Writes, |t| {
            Req::new(M::PUT, format!("/v2/{}/manifests/pushed", t.repo))
                .body(OCI_MANIFEST, &t.manifest)
        })
        .callers(deny(PUT_IMAGE), deny(PUT_IMAGE), OK, repo_deny(PUT_IMAGE)),
        Endpoint::new("DELETE manifest", StatusCode::ACCEPTED, Writes, |t| {
            Req::new(
                M::DELETE,
                format!("/v2/{}/manifests/{}", t.repo, t.manifest_digest),
            )
        })
        .callers(
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
        ),
        Endpoint::new("GET blob", StatusCode::OK, Reads, |t| {
            Req::new(M::GET, format!("/v2/{}/blobs/{}", t.repo, t.layer))
        })
        .callers(deny(GET_DOWNLOAD_URL), OK, OK, OK),
        Endpoint::new("HEAD blob", StatusCode::OK, Reads, |t| {
            Req::new(M::HEAD, format!("/v2/{}/blobs/{}", t.repo, t.layer))
        })
        .callers(deny(GET_DOWNLOAD_URL), OK, OK, OK),
        Endpoint::new("DELETE blob", StatusCode::ACCEPTED, Writes, |t| {
            Req::new(M::DELETE, format!("/v2/{}/blobs/{}", t.repo, t.loose_blob))
        })
        .callers(
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
            deny(BATCH_DELETE_IMAGE),
        ),
        Endpoint::new("POST upload", StatusCode::ACCEPTED, Writes, |t| {
            Req::new(M::POST, format!("/v2/{}/blobs/uploads/", t.repo))
        })
        .callers(
            deny(INITIATE_UPLOAD),
            deny(INITIATE_UPLOAD),
            OK,
            repo_deny(INITIATE_UPLOAD),
        ),
        Endpoint::new("POST upload ?digest=", StatusCode::CREATED, Writes, |t| {
            let digest = sha256_digest(&t.new_blob);
            Req::new(
                M::POST,
                format!("/v2/{}/blobs/uploads/?digest={digest}", t.repo),
            )
            .body("application/octet-stream", &t.new_blob)
        })
        .callers(
            deny(INITIATE_UPLOAD),
            deny(INITIATE_UPLOAD),
            OK,
            repo_deny(INITIATE_UPLOAD),
        ),
        Endpoint::new("PATCH upload", StatusCode::ACCEPTED, Writes, |t| {
            Req::new(M::PATCH, t.session.clone()).body("application/octet-stream", &t.new_blob)
        })
        .callers(
            deny(UPLOAD_PART),
            deny(UPLOAD_PART),
            OK,
            repo_deny(UPLOAD_PART),
        ),
        Endpoint::new("GET upload", StatusCode::NO_CONTENT, Reads, |t| {
            Req::new(M::GET, t.session.clone())
        })
        .callers(
            deny(UPLOAD_PART),
            deny(UPLOAD_PART),
            OK,
            repo_deny(UPLOAD_PART),
        ),
        Endpoint::new("PUT upload ?digest=", StatusCode::CREATED, Writes, |t| {
            let digest = sha256_digest(&t.new_blob);
            Req::new(M::PUT, Registry::with_digest(&t.session, &digest))
                .body("application/octet-stream", &t.new_blob)
        })
        .callers(
            deny(COMPLETE_UPLOAD),
            deny(COMPLETE_UPLOAD),
            OK,
            repo_deny(COMPLETE_UPLOAD),
        ),
        Endpoint::new("DELETE upload", StatusCode::NO_CONTENT, Writes, |t| {
            Req::new(M::DELETE, t.session.clone())
        })
        .callers(
            deny(UPLOAD_PART),
            deny(UPLOAD_PART),
            OK,
            repo_deny(UPLOAD_PART),
        ),
        Endpoint::new("GET referrers", StatusCode::OK, Reads, |t| {
            Req::new(
                M::GET,
                format!("/v2/{}/referrers/{}", t.repo, t.manifest_digest),
            )
        })
        .callers(deny(LIST_IMAGES), deny(LIST_IMAGES), OK, OK),
    ]
}

// ---------------------------------------------------------------------------
// The fixture: a server with users, tokens, an access key and its database

/// Milliseconds since the epoch.
fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

fn output_text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `berth ARGS --data-dir D` (with `BERTH_USER_PASSWORD`) and asserts it succeeds.
fn berth(server: &TestServer, args: &[&str]) -> Output {
    let output = Command::new(berth_binary())
        .args(args)
        .arg("--data-dir")
        .arg(server.data_dir())
        .env("BERTH_USER_PASSWORD", USER_PASSWORD)
        .env_remove("BERTH_CONFIG")
        .output()
        .expect("run berth");
    assert!(
        output.status.success(),
        "`berth {}` failed: {}",
        args.join(" "),
        output_text(&output)
    );
    output
}

/// Creates a user with `USER_PASSWORD` and the given managed policies.
fn create_user(server: &TestServer, name: &str, managed: &[&str]) {
    let mut args = vec!["user", "create", name];
    for policy in managed {
        args.extend(["--policy", policy]);
    }
    berth(server, &args);
}

/// Puts an inline identity policy on a user.
fn put_user_policy(server: &TestServer, user: &str, policy_name: &str, document: &Value) {
    let file = tempfile::NamedTempFile::new().expect("temp policy file");
    std::fs::write(file.path(), document.to_string()).expect("write policy file");
    let path = file.path().to_str().expect("UTF-8 temp path");
    berth(
        server,
        &["user", "put-policy", user, policy_name, "--file", path],
    );
}

/// What a repository holds, as far as a request could change it.
#[derive(Debug, PartialEq, Eq)]
struct RepoState {
    exists: bool,
    policy: Option<String>,
    /// (tag, manifest digest).
    tags: Vec<(String, String)>,
    manifests: Vec<String>,
    blob_links: Vec<String>,
    /// (session id, `Range` admin is told).
    uploads: Vec<(String, String)>,
}

impl RepoState {
    /// The fields that differ from `other`, as `field: before -> after` lines.
    fn changes_from(&self, other: &RepoState) -> String {
        let mut out = String::new();
        let mut field = |name: &str, before: String, after: String| {
            if before != after {
                let _ = write!(out, "\n    {name}: {before} -> {after}");
            }
        };
        field(
            "exists",
            format!("{}", other.exists),
            format!("{}", self.exists),
        );
        field(
            "policy",
            format!("{:?}", other.policy),
            format!("{:?}", self.policy),
        );
        field(
            "tags",
            format!("{:?}", other.tags),
            format!("{:?}", self.tags),
        );
        field(
            "manifests",
            format!("{:?}", other.manifests),
            format!("{:?}", self.manifests),
        );
        field(
            "blob links",
            format!("{:?}", other.blob_links),
            format!("{:?}", self.blob_links),
        );
        field(
            "uploads",
            format!("{:?}", other.uploads),
            format!("{:?}", self.uploads),
        );
        out
    }
}

struct Fixture {
    server: TestServer,
    reg: Registry,
    db: SqlitePool,
    registry_id: String,
    region: String,
    expired_token: String,
    valid_token: String,
    access_key_id: String,
    secret_access_key: String,
}

impl Fixture {
    /// A server with the users nobody, puller, pat and bob, two tokens of
    /// admin's (one expired) and an access key of admin's.
    async fn start() -> Self {
        let server = TestServer::start();
        let reg = Registry::new(&server);
        let url = format!("sqlite://{}", server.data_dir().join("berth.db").display());
        let db = SqlitePool::connect(&url).await.expect("open berth.db");
        let registry_id: String = sqlx::query_scalar("SELECT registry_id FROM registry")
            .fetch_one(&db)
            .await
            .expect("registry id");
        let region = std::env::var("BERTH_REGION").unwrap_or_else(|_| "us-east-1".into());

        create_user(&server, "nobody", &[]);
        create_user(&server, "puller", &[PULL_ONLY]);
        create_user(&server, "pat", &[POWER_USER]);
        create_user(&server, "bob", &[POWER_USER]);

        let admin_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE name = 'admin'")
            .fetch_one(&db)
            .await
            .expect("admin's user id");
        let expired_token = hex::encode(random_bytes(24));
        let valid_token = hex::encode(random_bytes(24));
        for (token, expires_at) in [
            (&expired_token, now_millis() - 60_000),
            (&valid_token, now_millis() + 3_600_000),
        ] {
            sqlx::query(
                "INSERT INTO auth_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
            )
            .bind(hex::encode(Sha256::digest(token.as_bytes())))
            .bind(admin_id)
            .bind(expires_at)
            .execute(&db)
            .await
            .expect("insert token");
        }

        let key: Value = serde_json::from_slice(
            &berth(&server, &["access-key", "create", "admin", "--json"]).stdout,
        )
        .expect("access-key create --json prints JSON");
        let access_key_id = key["accessKeyId"]
            .as_str()
            .expect("accessKeyId")
            .to_string();
        let secret_access_key = key["secretAccessKey"]
            .as_str()
            .expect("secretAccessKey")
            .to_string();

        Fixture {
            server,
            reg,
            db,
            registry_id,
            region,
            expired_token,
            valid_token,
            access_key_id,
            secret_access_key,
        }
    }

    fn user_arn(&self, user: &str) -> String {
        format!("arn:aws:iam::{}:user/{user}", self.registry_id)
    }

    fn repository_arn(&self, repo: &str) -> String {
        format!(
            "arn:aws:ecr:{}:{}:repository/{repo}",
            self.region, self.registry_id
        )
    }

    /// A request from `caller`.
    fn request(&self, caller: Caller, method: Method, path: &str) -> RequestBuilder {
        let builder = self.reg.anonymous(method, path);
        match caller {
            Caller::Anonymous => builder,
            Caller::WrongPassword => builder.basic_auth("admin", Some("not-the-admin-password")),
            Caller::ExpiredToken => builder.basic_auth("AWS", Some(&self.expired_token)),
            Caller::AdminToken => builder.basic_auth("AWS", Some(&self.valid_token)),
            Caller::AdminAccessKey => {
                builder.basic_auth(&self.access_key_id, Some(&self.secret_access_key))
            }
            Caller::Admin => builder.basic_auth("admin", Some(ADMIN_PASSWORD)),
            Caller::NoPolicy
            | Caller::PullOnly
            | Caller::PowerUser
            | Caller::PowerUserDeniedByRepo => {
                builder.basic_auth(caller.user(), Some(USER_PASSWORD))
            }
        }
    }

    /// A request from a user created with `USER_PASSWORD`.
    fn request_as(&self, user: &str, method: Method, path: &str) -> RequestBuilder {
        self.reg
            .anonymous(method, path)
            .basic_auth(user, Some(USER_PASSWORD))
    }

    /// Sends `req` as `caller`.
    async fn send(&self, caller: Caller, req: &Req) -> reqwest::Response {
        let mut builder = self.request(caller, req.method.clone(), &req.path);
        if let Some((content_type, data)) = &req.body {
            builder = builder
                .header("Content-Type", *content_type)
                .body(data.clone());
        }
        self.reg.send(builder).await
    }

    /// Writes a repository policy straight into the database.
    async fn set_repository_policy(&self, repo: &str, policy: &Value) {
        let done = sqlx::query("UPDATE repositories SET policy_text = ? WHERE name = ?")
            .bind(policy.to_string())
            .bind(repo)
            .execute(&self.db)
            .await
            .expect("set repository policy");
        assert_eq!(done.rows_affected(), 1, "repository {repo} exists");
    }

    /// A repository policy denying `actions` to `user`.
    fn deny_policy(&self, user: &str, actions: &[&str]) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": format!("Deny{user}"),
                "Effect": "Deny",
                "Principal": {"AWS": self.user_arn(user)},
                "Action": actions,
            }],
        })
    }

    /// A repository with an image tagged `v1`, a loose blob, an open upload
    /// session and a policy that denies bob's pushes.
    async fn seed(&self) -> Target {
        let repo = unique("authz");
        let image = self.reg.push_image(&repo, Some("v1")).await;
        let loose_blob = self.reg.push_blob(&repo, &random_bytes(300)).await;
        let session = self.reg.start_upload(&repo).await;
        self.set_repository_policy(&repo, &self.deny_policy("bob", &PUSH_ACTIONS))
            .await;
        Target {
            repo,
            manifest: image.manifest.clone(),
            manifest_digest: image.digest.clone(),
            layer: image.layers[0].digest.clone(),
            loose_blob,
            session,
            new_blob: random_bytes(200),
        }
    }

    async fn strings(&self, sql: &str, repo: &str) -> Vec<String> {
        sqlx::query_scalar(sql)
            .bind(repo)
            .fetch_all(&self.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The repository's state, from the database (and admin's view of its uploads).
    async fn state(&self, repo: &str) -> RepoState {
        let policies: Vec<Option<String>> =
            sqlx::query_scalar("SELECT policy_text FROM repositories WHERE name = ?")
                .bind(repo)
                .fetch_all(&self.db)
                .await
                .expect("repository row");
        let tags: Vec<(String, String)> = sqlx::query_as(
            "SELECT t.name, m.digest FROM tags t
             JOIN manifests m ON m.id = t.manifest_id
             JOIN repositories r ON r.id = t.repository_id
             WHERE r.name = ? ORDER BY t.name",
        )
        .bind(repo)
        .fetch_all(&self.db)
        .await
        .expect("tags");
        let manifests = self
            .strings(
                "SELECT m.digest FROM manifests m JOIN repositories r ON r.id = m.repository_id
                 WHERE r.name = ? ORDER BY m.digest",
                repo,
            )
            .await;
        let blob_links = self
            .strings(
                "SELECT l.digest FROM blob_links l JOIN repositories r ON r.id = l.repository_id
                 WHERE r.name = ? ORDER BY l.digest",
                repo,
            )
            .await;
        let mut uploads = Vec::new();
        for id in self
            .strings(
                "SELECT u.id FROM upload_sessions u JOIN repositories r ON r.id = u.repository_id
                 WHERE r.name = ? ORDER BY u.id",
                repo,
            )
            .await
        {
            let resp = self
                .reg
                .send(self.reg.get(&format!("/v2/{repo}/blobs/uploads/{id}")))
                .await;
            let range = match resp.status() {
                StatusCode::NO_CONTENT => header_or_empty(resp.headers(), "Range"),
                other => format!("status {other}"),
            };
            uploads.push((id, range));
        }
        RepoState {
            exists: !policies.is_empty(),
            policy: policies.into_iter().next().flatten(),
            tags,
            manifests,
            blob_links,
            uploads,
        }
    }

    /// The status `caller` gets for a request without a body.
    async fn status_as(&self, caller: Caller, method: Method, path: String) -> StatusCode {
        self.reg
            .send(self.request(caller, method, &path))
            .await
            .status()
    }

    /// Whether `repo` links the blob `digest`.
    async fn has_blob(&self, repo: &str, digest: &str) -> bool {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM blob_links l JOIN repositories r ON r.id = l.repository_id
             WHERE r.name = ? AND l.digest = ?",
        )
        .bind(repo)
        .bind(digest)
        .fetch_one(&self.db)
        .await
        .expect("count blob links");
        n == 1
    }

    async fn repository_exists(&self, repo: &str) -> bool {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM repositories WHERE name = ?")
            .bind(repo)
            .fetch_one(&self.db)
            .await
            .expect("count repositories");
        n == 1
    }

    /// `GET /v2/_catalog` (one big page) as `caller`.
    async fn catalog(&self, caller: Caller) -> Vec<String> {
        let resp = self
            .reg
            .send(self.request(caller, Method::GET, "/v2/_catalog?n=1000"))
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "catalog as {caller:?}");
        let body: Value = resp.json().await.expect("catalog JSON");
        body["repositories"]
            .as_array()
            .unwrap_or_else(|| panic!("catalog has a repositories array: {body}"))
            .iter()
            .map(|v| {
                v.as_str()
                    .expect("repository names are strings")
                    .to_string()
            })
            .collect()
    }
}

fn header_or_empty(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The first error of an OCI error body: (code, message).
fn oci_error(headers: &HeaderMap, text: &str) -> Result<(String, String), String> {
    let content_type = header_or_empty(headers, "Content-Type");
    if !content_type.starts_with("application/json") {
        return Err(format!(
            "error Content-Type is {content_type:?}; body: {text}"
        ));
    }
    let body: Value =
        serde_json::from_str(text).map_err(|e| format!("error body is not JSON ({e}): {text}"))?;
    let first = &body["errors"][0];
    match (first["code"].as_str(), first["message"].as_str()) {
        (Some(code), Some(message)) => Ok((code.to_string(), message.to_string())),
        _ => Err(format!("no errors[0].code/message in {text}")),
    }
}

/// Runs one cell on a fresh repository; returns the status it got, or what was wrong.
async fn run_cell(fx: &Fixture, endpoint: &Endpoint, caller: Caller) -> (StatusCode, Vec<String>) {
    let target = fx.seed().await;
    let before = fx.state(&target.repo).await;
    let req = (endpoint.build)(&target);
    let resp = fx.send(caller, &req).await;
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    let after = fx.state(&target.repo).await;

    let mut problems = Vec::new();
    let has_body = req.method != Method::HEAD;
    let expect = endpoint.expect(caller);
    let mut expect_unchanged = true;
    match expect {
        Expect::Allowed => {
            if status != endpoint.success {
                problems.push(format!(
                    "expected {}, got {status}; body: {text}",
                    endpoint.success
                ));
            }
            expect_unchanged = endpoint.effect == Effect::Reads;
        }
        Expect::Unauthorized => {
            if status != StatusCode::UNAUTHORIZED {
                problems.push(format!("expected 401, got {status}; body: {text}"));
            }
            let challenge = header_or_empty(&headers, "WWW-Authenticate");
            if challenge != "Basic realm=\"Berth\"" {
                problems.push(format!("WWW-Authenticate is {challenge:?}"));
            }
            if has_body {
                match oci_error(&headers, &text) {
                    Ok((code, _)) if code == "UNAUTHORIZED" => {}
                    Ok((code, _)) => problems.push(format!("code {code}, not UNAUTHORIZED")),
                    Err(e) => problems.push(e),
                }
            }
        }
        Expect::Denied(action) | Expect::DeniedByRepo(action) => {
            if status != StatusCode::FORBIDDEN {
                problems.push(format!(
                    "expected 403 ({action}), got {status}; body: {text}"
                ));
            }
            if has_body && status == StatusCode::FORBIDDEN {
                match oci_error(&headers, &text) {
                    Ok((code, message)) => {
                        if code != "DENIED" {
                            problems.push(format!("code {code}, not DENIED"));
                        }
                        let sentence = format!(
                            "User: {} is not authorized to perform: {action} on resource: {}",
                            fx.user_arn(caller.user()),
                            fx.repository_arn(&target.repo)
                        );
                        if !message.starts_with(&sentence) {
                            problems.push(format!(
                                "message {message:?} does not start with {sentence:?}"
                            ));
                        }
                        let explicit = matches!(expect, Expect::DeniedByRepo(_));
                        if message.contains("explicit deny") != explicit {
                            problems.push(format!(
                                "message {message:?} should {}mention an explicit deny",
                                if explicit { "" } else { "not " }
                            ));
                        }
                    }
                    Err(e) => problems.push(e),
                }
            }
        }
    }
    if expect_unchanged && after != before {
        problems.push(format!(
            "the repository changed:{}",
            after.changes_from(&before)
        ));
    }
    if !expect_unchanged && after == before {
        problems.push(format!("an allowed write changed nothing: {after:?}"));
    }
    (status, problems)
}

// ---------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn every_endpoint_answers_every_caller_as_its_policies_say() {
    let fx = Fixture::start().await;
    let endpoints = endpoints();
    let mut table = String::new();
    let _ = write!(table, "{:<22}", "");
    for caller in Caller::ALL {
        let _ = write!(table, "{:>9}", caller.label());
    }
    table.push('\n');
    let mut failures = Vec::new();
    for endpoint in &endpoints {
        let _ = write!(table, "{:<22}", endpoint.name);
        for caller in Caller::ALL {
            let (status, problems) = run_cell(&fx, endpoint, caller).await;
            let mark = if problems.is_empty() { ' ' } else { '!' };
            let _ = write!(table, "{:>8}{mark}", status.as_u16());
            for problem in problems {
                failures.push(format!("{} as {caller:?}: {problem}", endpoint.name));
            }
        }
        table.push('\n');
    }
    println!("authorization matrix (status as run; ! marks a failed cell):\n{table}");
    assert!(
        failures.is_empty(),
        "{} cell problem(s):\n{}\n\n{table}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn the_catalog_lists_only_repositories_the_caller_may_describe() {
    let fx = Fixture::start().await;
    let mut repos = vec![unique("cat-a"), unique("cat-b"), unique("cat-c")];
    repos.sort();
    for repo in &repos {
        fx.reg.push_image(repo, Some("v1")).await;
    }
    let visible = &repos[1];
    create_user(&fx.server, "carol", &[PULL_ONLY]);
    put_user_policy(
        &fx.server,
        "carol",
        "DescribeOneRepository",
        &json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["ecr:DescribeRepositories", "ecr:ListImages"],
                "Resource": fx.repository_arn(visible),
            }],
        }),
    );
    let carol = |method: Method, path: &str| fx.request_as("carol", method, path);

    let resp = fx.reg.send(carol(Method::GET, "/v2/_catalog")).await;
    assert_eq!(resp.status(), StatusCode::OK, "carol's catalog");
    let body: Value = resp.json().await.expect("catalog JSON");
    assert_eq!(
        body,
        json!({"repositories": [visible]}),
        "carol (PullOnly + DescribeRepositories on one repository) sees only that one"
    );
    // Pages are filled past the repositories she may not see.
    let resp = fx.reg.send(carol(Method::GET, "/v2/_catalog?n=1")).await;
    assert_eq!(resp.status(), StatusCode::OK, "carol's catalog, n=1");
    let body: Value = resp.json().await.expect("catalog JSON");
    assert_eq!(body["repositories"], json!([visible]), "n=1 page: {body}");

    // Her inline policy is scoped to that repository; PullOnly still works everywhere.
    let resp = fx
        .reg
        .send(carol(Method::GET, &format!("/v2/{visible}/tags/list")))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "carol lists tags of {visible}"
    );
    let other = &repos[0];
    let resp = fx
        .reg
        .send(carol(Method::GET, &format!("/v2/{other}/tags/list")))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "carol lists tags of {other}"
    );
    let body: Value = resp.json().await.expect("error JSON");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "User: {} is not authorized to perform: ecr:ListImages on resource: {}",
            fx.user_arn("carol"),
            fx.repository_arn(other)
        )),
        "{body}"
    );
    let resp = fx
        .reg
        .send(carol(Method::GET, &format!("/v2/{other}/manifests/v1")))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "carol pulls {other} (PullOnly)"
    );

    assert_eq!(fx.catalog(Caller::NoPolicy).await, Vec::<String>::new());
    assert_eq!(
        fx.catalog(Caller::PullOnly).await,
        Vec::<String>::new(),
        "PullOnly has no ecr:DescribeRepositories"
    );
    assert_eq!(fx.catalog(Caller::PowerUser).await, repos);
    assert_eq!(fx.catalog(Caller::Admin).await, repos);
    assert_eq!(fx.catalog(Caller::AdminToken).await, repos);
    assert_eq!(fx.catalog(Caller::AdminAccessKey).await, repos);
}

#[tokio::test]
async fn a_repository_policy_grants_one_repository_to_a_user_without_policies() {
    let fx = Fixture::start().await;
    let granted = unique("granted");
    let other = unique("other");
    let image = fx.reg.push_image(&granted, Some("v1")).await;
    fx.reg.push_image(&other, Some("v1")).await;
    fx.set_repository_policy(
        &granted,
        &json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "LetNobodyPull",
                "Effect": "Allow",
                "Principal": {"AWS": fx.user_arn("nobody")},
                "Action": [
                    "ecr:DescribeRepositories",
                    "ecr:ListImages",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
            }],
        }),
    )
    .await;

    let status = |repo: &str, what: &str| {
        fx.status_as(Caller::NoPolicy, Method::GET, format!("/v2/{repo}/{what}"))
    };
    assert_eq!(status(&granted, "tags/list").await, StatusCode::OK);
    assert_eq!(status(&granted, "manifests/v1").await, StatusCode::OK);
    assert_eq!(
        status(&granted, &format!("blobs/{}", image.layers[0].digest)).await,
        StatusCode::OK
    );
    assert_eq!(status(&other, "tags/list").await, StatusCode::FORBIDDEN);
    assert_eq!(status(&other, "manifests/v1").await, StatusCode::FORBIDDEN);
    assert_eq!(fx.catalog(Caller::NoPolicy).await, vec![granted.clone()]);

    // The policy grants reading, not pushing.
    let resp = fx
        .reg
        .send(fx.request(
            Caller::NoPolicy,
            Method::POST,
            &format!("/v2/{granted}/blobs/uploads/"),
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "nobody pushes to {granted}"
    );
}

#[tokio::test]
async fn pushing_to_a_new_repository_needs_create_repository() {
    let fx = Fixture::start().await;
    let blob = random_bytes(100);
    let digest = sha256_digest(&blob);
    let existing = unique("exists");
    let image = fx.reg.push_image(&existing, Some("v1")).await;

    let new_repo = unique("new");
    let attempts = [
        Req::new(Method::POST, format!("/v2/{new_repo}/blobs/uploads/")),
        Req::new(
            Method::POST,
            format!("/v2/{new_repo}/blobs/uploads/?digest={digest}"),
        )
        .body("application/octet-stream", &blob),
        Req::new(Method::PUT, format!("/v2/{new_repo}/manifests/v1"))
            .body(OCI_MANIFEST, &image.manifest),
    ];
    for req in &attempts {
        let context = format!("PowerUser {} {}", req.method, req.path);
        let resp = fx.send(Caller::PowerUser, req).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{context}");
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("error body");
        let (code, message) =
            oci_error(&headers, &text).unwrap_or_else(|e| panic!("{context}: {e}"));
        assert_eq!(code, "DENIED", "{context}");
        assert!(
            message.starts_with(&format!(
                "User: {} is not authorized to perform: {CREATE_REPOSITORY} on resource: {}",
                fx.user_arn("pat"),
                fx.repository_arn(&new_repo)
            )),
            "{context}: {message}"
        );
        assert!(
            !fx.repository_exists(&new_repo).await,
            "{context}: the repository was not created"
        );
    }
    let resp = fx
        .reg
        .send(fx.reg.get(&format!("/v2/{new_repo}/tags/list")))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::NOT_FOUND,
        "admin sees no {new_repo}"
    );
    assert!(!fx.catalog(Caller::Admin).await.contains(&new_repo));

    // The same PowerUser pushes to a repository that exists.
    let resp = fx
        .send(
            Caller::PowerUser,
            &Req::new(
                Method::POST,
                format!("/v2/{existing}/blobs/uploads/?digest={digest}"),
            )
            .body("application/octet-stream", &blob),
        )
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "PowerUser pushes to {existing}"
    );

    // With ecr:CreateRepository (here: FullAccess) the push creates it.
    create_user(&fx.server, "creator", &[FULL_ACCESS]);
    let resp = fx
        .reg
        .send(fx.request_as(
            "creator",
            Method::POST,
            &format!("/v2/{new_repo}/blobs/uploads/"),
        ))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::ACCEPTED,
        "FullAccess creates on push"
    );
    assert!(fx.repository_exists(&new_repo).await);
}

#[tokio::test]
async fn a_mount_from_a_repository_the_caller_cannot_read_starts_an_upload() {
    let fx = Fixture::start().await;
    let source = unique("mount-src");
    let layer = random_bytes(400);
    let digest = fx.reg.push_blob(&source, &layer).await;
    let dest_of = |who: &str| format!("{source}-to-{who}");

    // dora may do anything, but only in her own repository.
    create_user(&fx.server, "dora", &[]);
    let dora_repo = dest_of("dora");
    fx.reg.push_blob(&dora_repo, b"dora's first blob").await;
    put_user_policy(
        &fx.server,
        "dora",
        "OwnRepository",
        &json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": fx.repository_arn(&dora_repo)}],
        }),
    );
    // bob is a PowerUser, but the source repository's policy denies him reading it.
    fx.set_repository_policy(&source, &fx.deny_policy("bob", &[GET_DOWNLOAD_URL]))
        .await;
    let bob_repo = dest_of("bob");
    fx.reg.push_blob(&bob_repo, b"bob's first blob").await;
    // pat is a PowerUser who may read the source.
    let pat_repo = dest_of("pat");
    fx.reg.push_blob(&pat_repo, b"pat's first blob").await;

    let mount = |user: &str, dest: &str| {
        fx.request_as(
            user,
            Method::POST,
            &format!("/v2/{dest}/blobs/uploads/?mount={digest}&from={source}"),
        )
    };
    let mut dora_upload = String::new();
    for (user, dest) in [("dora", &dora_repo), ("bob", &bob_repo)] {
        let resp = fx.reg.send(mount(user, dest)).await;
        let context = format!("{user} mounts from {source} into {dest}");
        assert_eq!(
            resp.status(),
            StatusCode::ACCEPTED,
            "{context}: an upload starts instead"
        );
        let location = header_or_empty(resp.headers(), "Location");
        assert!(
            location.starts_with(&format!("/v2/{dest}/blobs/uploads/")),
            "{context}: Location {location:?}"
        );
        assert!(
            !fx.has_blob(dest, &digest).await,
            "{context}: nothing was mounted"
        );
        assert!(
            fx.has_blob(&source, &digest).await,
            "{context}: the source keeps its blob"
        );
        if user == "dora" {
            dora_upload = location;
        }
    }

    // The upload dora was given is a real one: she sends the bytes herself.
    let resp = fx
        .reg
        .send(
            fx.request_as(
                "dora",
                Method::PUT,
                &Registry::with_digest(&dora_upload, &digest),
            )
            .header("Content-Type", "application/octet-stream")
            .body(layer.clone()),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "dora uploads the blob");
    assert!(fx.has_blob(&dora_repo, &digest).await);

    // A caller who may read the source mounts.
    let resp = fx.reg.send(mount("pat", &pat_repo)).await;
    assert_eq!(
        resp.status(),
        StatusCode::CREATED,
        "pat mounts from {source}"
    );
    assert_eq!(
        header_or_empty(resp.headers(), "Location"),
        format!("/v2/{pat_repo}/blobs/{digest}")
    );
    assert!(
        fx.has_blob(&pat_repo, &digest).await,
        "pat's repository has the blob"
    );
}

//! The fixture: a server with users, tokens, an access key and its database,
//! and one matrix cell run against it.

use super::*;

// ---------------------------------------------------------------------------
// The fixture: a server with users, tokens, an access key and its database

/// Milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

pub(crate) fn output_text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `berth ARGS --data-dir D` (with `BERTH_USER_PASSWORD`) and asserts it succeeds.
pub(crate) fn berth(server: &TestServer, args: &[&str]) -> Output {
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
pub(crate) fn create_user(server: &TestServer, name: &str, managed: &[&str]) {
    let mut args = vec!["user", "create", name];
    for policy in managed {
        args.extend(["--policy", policy]);
    }
    crate::common::record_secret(USER_PASSWORD);
    berth(server, &args);
}

/// Puts an inline identity policy on a user.
pub(crate) fn put_user_policy(
    server: &TestServer,
    user: &str,
    policy_name: &str,
    document: &Value,
) {
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
pub(crate) struct RepoState {
    pub(crate) exists: bool,
    pub(crate) policy: Option<String>,
    /// (tag, manifest digest).
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) manifests: Vec<String>,
    pub(crate) blob_links: Vec<String>,
    /// (session id, `Range` admin is told).
    pub(crate) uploads: Vec<(String, String)>,
}

impl RepoState {
    /// The fields that differ from `other`, as `field: before -> after` lines.
    pub(crate) fn changes_from(&self, other: &RepoState) -> String {
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

pub(crate) struct Fixture {
    pub(crate) server: TestServer,
    pub(crate) reg: Registry,
    pub(crate) db: SqlitePool,
    pub(crate) registry_id: String,
    pub(crate) region: String,
    pub(crate) expired_token: String,
    pub(crate) valid_token: String,
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
}

impl Fixture {
    /// A server with the users nobody, puller, pat and bob, two tokens of
    /// admin's (one expired) and an access key of admin's.
    pub(crate) async fn start() -> Self {
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

    pub(crate) fn user_arn(&self, user: &str) -> String {
        format!("arn:aws:iam::{}:user/{user}", self.registry_id)
    }

    pub(crate) fn repository_arn(&self, repo: &str) -> String {
        format!(
            "arn:aws:ecr:{}:{}:repository/{repo}",
            self.region, self.registry_id
        )
    }

    /// A request from `caller`.
    pub(crate) fn request(&self, caller: Caller, method: Method, path: &str) -> RequestBuilder {
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
    pub(crate) fn request_as(&self, user: &str, method: Method, path: &str) -> RequestBuilder {
        self.reg
            .anonymous(method, path)
            .basic_auth(user, Some(USER_PASSWORD))
    }

    /// Sends `req` as `caller`.
    pub(crate) async fn send(&self, caller: Caller, req: &Req) -> reqwest::Response {
        let mut builder = self.request(caller, req.method.clone(), &req.path);
        if let Some((content_type, data)) = &req.body {
            builder = builder
                .header("Content-Type", *content_type)
                .body(data.clone());
        }
        self.reg.send(builder).await
    }

    /// Writes a repository policy straight into the database.
    pub(crate) async fn set_repository_policy(&self, repo: &str, policy: &Value) {
        let done = sqlx::query("UPDATE repositories SET policy_text = ? WHERE name = ?")
            .bind(policy.to_string())
            .bind(repo)
            .execute(&self.db)
            .await
            .expect("set repository policy");
        assert_eq!(done.rows_affected(), 1, "repository {repo} exists");
    }

    /// A repository policy denying `actions` to `user`.
    pub(crate) fn deny_policy(&self, user: &str, actions: &[&str]) -> Value {
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
    pub(crate) async fn seed(&self) -> Target {
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

    pub(crate) async fn strings(&self, sql: &str, repo: &str) -> Vec<String> {
        sqlx::query_scalar(sql)
            .bind(repo)
            .fetch_all(&self.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The repository's state, from the database (and admin's view of its uploads).
    pub(crate) async fn state(&self, repo: &str) -> RepoState {
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
    pub(crate) async fn status_as(
        &self,
        caller: Caller,
        method: Method,
        path: String,
    ) -> StatusCode {
        self.reg
            .send(self.request(caller, method, &path))
            .await
            .status()
    }

    /// Whether `repo` links the blob `digest`.
    pub(crate) async fn has_blob(&self, repo: &str, digest: &str) -> bool {
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

    pub(crate) async fn repository_exists(&self, repo: &str) -> bool {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM repositories WHERE name = ?")
            .bind(repo)
            .fetch_one(&self.db)
            .await
            .expect("count repositories");
        n == 1
    }

    /// `GET /v2/_catalog` (one big page) as `caller`.
    pub(crate) async fn catalog(&self, caller: Caller) -> Vec<String> {
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

pub(crate) fn header_or_empty(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The first error of an OCI error body: (code, message).
pub(crate) fn oci_error(headers: &HeaderMap, text: &str) -> Result<(String, String), String> {
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
pub(crate) async fn run_cell(
    fx: &Fixture,
    endpoint: &Endpoint,
    caller: Caller,
) -> (StatusCode, Vec<String>) {
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

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

mod authz;
mod common;

use authz::*;

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

/// GET of a manifest as `user`, and its status.
async fn manifest_status(server: &TestServer, user: &str, path: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}{path}", server.url))
        .basic_auth(user, Some(USER_PASSWORD))
        .header("Accept", OCI_MANIFEST)
        .send()
        .await
        .expect("GET manifest")
        .status()
}

#[tokio::test]
async fn a_policy_changed_beside_the_server_counts_at_its_next_request() {
    // The server keeps parsed policies in memory; a change made by another
    // process (the CLI) must still count from the next request.
    let server = TestServer::start();
    let admin = Registry::new(&server);
    admin.push_image("cached/app", Some("v1")).await;
    let path = "/v2/cached/app/manifests/v1";
    create_user(&server, "carol", &["AmazonEC2ContainerRegistryReadOnly"]);
    assert_eq!(
        manifest_status(&server, "carol", path).await,
        StatusCode::OK
    );

    berth(
        &server,
        &[
            "user",
            "detach-policy",
            "carol",
            "AmazonEC2ContainerRegistryReadOnly",
        ],
    );
    assert_eq!(
        manifest_status(&server, "carol", path).await,
        StatusCode::FORBIDDEN,
        "a detached policy stops counting at once"
    );
    berth(
        &server,
        &[
            "user",
            "attach-policy",
            "carol",
            "AmazonEC2ContainerRegistryReadOnly",
        ],
    );
    assert_eq!(
        manifest_status(&server, "carol", path).await,
        StatusCode::OK
    );
    put_user_policy(
        &server,
        "carol",
        "no-pulls",
        &json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "ecr:BatchGetImage", "Resource": "*"}
        ]}),
    );
    assert_eq!(
        manifest_status(&server, "carol", path).await,
        StatusCode::FORBIDDEN,
        "an inline deny counts at once"
    );
}

//! `berth lifecycle run` against a running server: the dry run changes nothing
//! in the database or the data directory, the real run expires exactly what
//! the dry run reported, and the history shows it.

mod common;

use common::oci::Registry;
use common::{snapshot, TestServer};
use reqwest::StatusCode;

async fn set_policy(server: &TestServer, repository: &str, policy: &str) {
    let url = format!("sqlite://{}", server.data_dir().join("berth.db").display());
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let done = sqlx::query("UPDATE repositories SET lifecycle_policy = ? WHERE name = ?")
        .bind(policy)
        .bind(repository)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    db.close().await;
}

fn run(server: &TestServer, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["lifecycle"];
    all.extend_from_slice(args);
    let output = server.admin(&all);
    assert!(
        output.status.success(),
        "berth {all:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

const KEEP_TWO: &str = r#"{"rules":[{"rulePriority":1,"description":"keep the two newest prod images","selection":{"tagStatus":"tagged","tagPatternList":["prod*"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}"#;

#[tokio::test]
async fn dry_run_changes_nothing_and_the_real_run_expires_what_it_reported() {
    let server = TestServer::start();
    let client = Registry::new(&server);
    let mut pushed = Vec::new();
    for i in 1..=4 {
        pushed.push(client.push_image("lc/app", Some(&format!("prod{i}"))).await);
    }
    let dev = client.push_image("lc/app", Some("dev")).await;
    set_policy(&server, "lc/app", KEEP_TWO).await;

    let before = snapshot(server.data_dir());
    let dry = run(
        &server,
        &["run", "--repository", "lc/app", "--dry-run", "--json"],
    );
    assert_eq!(
        before,
        snapshot(server.data_dir()),
        "a dry run writes nothing"
    );
    let mut would: Vec<&str> = dry["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["imageDigest"].as_str().unwrap())
        .collect();
    would.sort();
    let mut oldest: Vec<&str> = pushed[..2].iter().map(|i| i.digest.as_str()).collect();
    oldest.sort();
    assert_eq!(would, oldest, "the two oldest prod images would expire");
    assert!(dry["images"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["appliedRulePriority"] == 1));

    let real = run(&server, &["run", "--repository", "lc/app", "--json"]);
    assert_eq!(
        real["images"], dry["images"],
        "the real run does what the dry run said"
    );
    for image in &pushed[..2] {
        let resp = client
            .send(client.get(&format!("/v2/lc/app/manifests/{}", image.digest)))
            .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "expired");
    }
    for image in pushed[2..].iter().chain([&dev]) {
        let resp = client
            .send(client.get(&format!("/v2/lc/app/manifests/{}", image.digest)))
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "kept");
    }

    let history = server.admin(&["lifecycle", "history", "--repository", "lc/app", "--json"]);
    let history: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    let mut recorded: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["imageDigest"].as_str().unwrap())
        .collect();
    recorded.sort();
    assert_eq!(recorded, oldest, "every expiration is recorded");
    assert!(history[0]["imageTags"].as_array().unwrap()[0]
        .as_str()
        .unwrap()
        .starts_with("prod"));

    let again = run(&server, &["run", "--repository", "lc/app", "--json"]);
    assert_eq!(
        again["images"],
        serde_json::json!([]),
        "nothing more to expire"
    );
}

#[tokio::test]
async fn a_repository_without_a_policy_expires_nothing_and_unknown_ones_fail() {
    let server = TestServer::start();
    let client = Registry::new(&server);
    client.push_image("lc/none", Some("v1")).await;
    let out = run(&server, &["run", "--json"]);
    assert_eq!(out["images"], serde_json::json!([]));
    let missing = server.admin(&["lifecycle", "run", "--repository", "no/such"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("does not exist"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

const EXPIRE_UNTAGGED: &str = r#"{"rules":[{"rulePriority":1,"description":"expire untagged images a day old","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}"#;

/// `berth lifecycle …` two days from now, when every image is over a day old.
fn run_later(server: &TestServer, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["lifecycle"];
    all.extend_from_slice(args);
    let output = server.admin_at("+2d", &all);
    assert!(
        output.status.success(),
        "berth {all:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn digests(report: &serde_json::Value) -> Vec<String> {
    let mut all: Vec<String> = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["imageDigest"].as_str().unwrap().to_owned())
        .collect();
    all.sort();
    all
}

/// An index and its children, referrers of expiring and of kept images: the
/// dry run runs the real run's deletions in a transaction it rolls back, so
/// it lists exactly what the real run then deletes, and writes nothing.
#[tokio::test]
async fn the_dry_run_lists_exactly_what_the_real_run_deletes_with_indexes_and_referrers() {
    let server = TestServer::start();
    let client = Registry::new(&server);
    let repo = "lc/mixed";
    let amd = client.push_image(repo, None).await;
    let arm = client.push_image(repo, None).await;
    let index = common::oci::to_bytes(&common::oci::image_index(&[
        amd.descriptor(),
        arm.descriptor(),
    ]));
    let index_digest = common::oci::sha256_digest(&index);
    client
        .push_manifest(repo, &index_digest, common::oci::OCI_INDEX, &index)
        .await;
    let lone = client.push_image(repo, None).await;
    let (_, lone_sig) = client
        .push_referrer(
            repo,
            &lone.descriptor(),
            Some("application/vnd.example.sig"),
            None,
        )
        .await;
    let kept = client.push_image(repo, Some("v1")).await;
    let (_, kept_sig) = client
        .push_referrer(
            repo,
            &kept.descriptor(),
            Some("application/vnd.example.sig"),
            None,
        )
        .await;
    set_policy(&server, repo, EXPIRE_UNTAGGED).await;

    let before = snapshot(server.data_dir());
    let dry = run_later(
        &server,
        &["run", "--repository", repo, "--dry-run", "--json"],
    );
    assert_eq!(
        before,
        snapshot(server.data_dir()),
        "a dry run writes nothing"
    );
    let mut expected = vec![index_digest.clone(), lone.digest.clone(), lone_sig.clone()];
    expected.sort();
    assert_eq!(
        digests(&dry),
        expected,
        "the index, the lone image and its signature (with it); not the index's children, \
         nor the signature of the kept image, which goes with its subject and no rule selects"
    );
    let real = run_later(&server, &["run", "--repository", repo, "--json"]);
    assert_eq!(
        digests(&real),
        digests(&dry),
        "the real run deletes what the dry run listed"
    );
    for gone in &expected {
        let resp = client
            .send(client.get(&format!("/v2/{repo}/manifests/{gone}")))
            .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{gone} expired");
    }

    // The children are free now: the next dry run and real run agree again.
    let dry = run_later(
        &server,
        &["run", "--repository", repo, "--dry-run", "--json"],
    );
    let mut children = vec![amd.digest.clone(), arm.digest.clone()];
    children.sort();
    assert_eq!(digests(&dry), children);
    let real = run_later(&server, &["run", "--repository", repo, "--json"]);
    assert_eq!(digests(&real), children);
    let resp = client
        .send(client.get(&format!("/v2/{repo}/manifests/v1")))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "the tagged image stays");
    let resp = client
        .send(client.get(&format!("/v2/{repo}/manifests/{kept_sig}")))
        .await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "so does its signature, though untagged"
    );
}

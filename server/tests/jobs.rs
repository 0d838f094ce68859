//! Long work as persisted jobs: the delayed application of a saved lifecycle
//! policy and every garbage collection are rows with a status, which a
//! restart keeps (and runs when due) and `berth jobs` lists; `/metrics`
//! counts them.

mod common;

use common::oci::Registry;
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

const KEEP_TWO: &str = r#"{"rules":[{"rulePriority":1,"description":"keep the two newest prod images","selection":{"tagStatus":"tagged","tagPatternList":["prod*"],"countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}"#;

fn jobs(server: &TestServer, offset: Option<&str>, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["jobs", "--json"];
    all.extend_from_slice(args);
    let out = match offset {
        Some(offset) => server.admin_at(offset, &all),
        None => server.admin(&all),
    };
    assert!(
        out.status.success(),
        "berth {all:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("JSON")
        .as_array()
        .unwrap()
        .clone()
}

/// PutLifecyclePolicy through the ECR API, signed with an access key.
async fn put_lifecycle_policy(server: &TestServer, repository: &str, policy: &str) {
    let body = json!({"repositoryName": repository, "lifecyclePolicyText": policy}).to_string();
    let resp = common::ecr::call(server, "admin", "PutLifecyclePolicy", body).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "{}",
        resp.text().await.unwrap()
    );
}

/// `/metrics` on the main port, as the admin.
async fn metrics_text(server: &TestServer) -> String {
    reqwest::Client::new()
        .get(format!("{}/metrics", server.url))
        .basic_auth("admin", Some(common::ADMIN_PASSWORD))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics")
}

#[tokio::test]
async fn a_delayed_lifecycle_application_survives_a_restart_and_runs_when_due() {
    let server = TestServer::builder()
        .env("BERTH_LIFECYCLE_DELAY_AFTER_SAVE", "3600")
        .start();
    let client = Registry::new(&server);
    for i in 1..=3 {
        client
            .push_image("jobs/app", Some(&format!("prod{i}")))
            .await;
    }
    put_lifecycle_policy(&server, "jobs/app", KEEP_TWO).await;

    let queued = jobs(&server, None, &["--kind", "lifecycle"]);
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0]["status"], "pending");
    assert_eq!(queued[0]["repositoryName"], "jobs/app");

    // A restart before it is due keeps it queued.
    let server = TestServer::builder()
        .env("BERTH_LIFECYCLE_DELAY_AFTER_SAVE", "3600")
        .start_in(server.into_data_dir());
    let kept = jobs(&server, None, &["--kind", "lifecycle"]);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0]["id"], queued[0]["id"]);
    assert_eq!(kept[0]["status"], "pending");
    // The hourly application at start (lifecycle_interval) is the one that
    // expires prod1, and the metrics count what it deleted.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let metrics = metrics_text(&server).await;
        if metrics
            .lines()
            .any(|l| l == "berth_job_deletions_total{kind=\"lifecycle\"} 1")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no deletion counted:\n{metrics}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Two hours later it is due, and the server runs it.
    let later = TestServer::builder()
        .clock("+2h")
        .start_in(server.into_data_dir());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let done = loop {
        let now = jobs(&later, Some("+2h"), &["--kind", "lifecycle"]);
        if now[0]["status"] != "pending" && now[0]["status"] != "running" {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "the job ran: {now:?}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(done[0]["id"], queued[0]["id"]);
    assert_eq!(done[0]["status"], "succeeded", "{done:?}");
    assert!(done[0]["summary"].as_str().unwrap().starts_with("expired "));
    let client = Registry::new(&later);
    let policy_applied = client
        .send(client.get("/v2/jobs/app/manifests/prod1"))
        .await;
    assert_eq!(
        policy_applied.status(),
        StatusCode::NOT_FOUND,
        "the oldest prod image expired"
    );

    // The metrics count the applications that ran in this process.
    let metrics = metrics_text(&later).await;
    assert!(
        metrics
            .lines()
            .any(|l| l
                .starts_with("berth_job_runs_total{kind=\"lifecycle\",outcome=\"succeeded\"} ")),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_gc_run_is_a_job_the_cli_lists_with_what_it_did() {
    let server = TestServer::start();
    let client = Registry::new(&server);
    let orphan = client.push_blob("jobs/gc", b"an orphan").await;
    let resp = client
        .send(client.delete(&format!("/v2/jobs/gc/blobs/{orphan}")))
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);

    let dry = server.admin_at("+2h", &["gc", "--dry-run"]);
    assert!(dry.status.success());
    let real = server.admin_at("+2h", &["gc"]);
    assert!(real.status.success());
    let refused = server.admin(&["gc", "--grace-seconds", "1"]);
    assert!(!refused.status.success());

    let runs = jobs(&server, None, &["--kind", "gc"]);
    assert_eq!(
        runs.len(),
        1,
        "the real run is a job; the dry run writes nothing and a refused grace starts nothing: {runs:?}"
    );
    assert_eq!(runs[0]["status"], "succeeded");
    assert_eq!(
        runs[0]["summary"],
        "deleted 1 blob(s), 9 bytes; 0 copy(ies) under keys no repository reads them with; 0 stale repository link(s); 0 manifest(s); 0 leftover upload(s)"
    );

    let table = server.admin(&["jobs"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("gc") && text.contains("succeeded") && text.contains("deleted 1 blob(s)"),
        "{text}"
    );
    let bad = server.admin(&["jobs", "--kind", "replication"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("use gc, lifecycle, scan or encrypt"));
}

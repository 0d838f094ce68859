//! Hostile input: a table of bad requests against every endpoint of the
//! registry API (`/v2/`) and the ECR API (`POST /`), each answered with the
//! protocol's own error (status, OCI `code` or ECR `__type`, and a message),
//! none of them changing anything.
//!
//! Requests are written byte for byte on a TCP connection (`common::raw`),
//! because HTTP clients resolve `..` in paths and never send a body shorter
//! than its `Content-Length`. ECR calls are signed with `aws-sigv4`.
//!
//! "Unchanged" is checked after each group of rows, against the state before
//! it: every file of the data directory except the database is compared byte
//! for byte (blobs, upload files, the secret key), and the database is
//! compared by its content — every row of every table, read through SQLite
//! itself — rather than by its files, because SQLite moves pages between
//! `berth.db` and its write-ahead log at checkpoints without any change of
//! content. Three columns are left out: `touched_at`, `last_pulled_at` and
//! `last_used_at`, which a served read updates by design (a `Range` the
//! protocol says to ignore is a whole-blob GET and touches the blob's link).
//!
//! Decisions the rows record:
//! - Duplicate keys anywhere in a manifest are refused (`MANIFEST_INVALID`):
//!   the registry stores the bytes and every client parses them again, and
//!   parsers disagree on which duplicate wins (Go and serde_json's maps keep
//!   the last, serde's structs refuse), so one manifest could name different
//!   blobs to different readers. Distribution accepts them (Go's last wins).
//!   The ECR API refuses them too (`SerializationException`).
//! - An ECR request whose `Content-Type` is neither AWS JSON 1.1 nor JSON is
//!   refused with `SerializationException`; no `Content-Type` is accepted.
//! - A body cut short gets a 400 of the protocol's own or no answer at all.
//!   A manifest or monolithic upload cut short keeps nothing; an open upload
//!   session keeps exactly the bytes that arrived, as uploads are resumable
//!   (the client reads the offset with `GET` and goes on): those rows check
//!   that offset instead of "unchanged".
//! - A `Range` that does not parse, or ends before it starts, is ignored and
//!   the whole blob sent (RFC 9110); one starting past the end is 416
//!   `RANGE_INVALID`. A malformed `Content-Range` is 400
//!   `BLOB_UPLOAD_INVALID`, one that does not start where the upload stands 416.
//! - A mount whose `from` is not a repository name is `NAME_INVALID`, not an
//!   upload session opened instead.

mod common;
mod hostile;

use hostile::{ecr_rows, manifest_rows, registry_rows, Fixture};

#[tokio::test]
async fn bad_requests_get_the_protocols_error_and_change_nothing() {
    let started = std::time::Instant::now();
    let f = Fixture::start().await;
    let groups = [
        ("/v2/ names", registry_rows::names(&f)),
        ("/v2/ references", registry_rows::references(&f)),
        ("/v2/ ranges", registry_rows::ranges(&f)),
        ("/v2/ manifests", manifest_rows::manifests(&f)),
        ("ECR names", ecr_rows::names(&f)),
        ("ECR requests", ecr_rows::requests(&f)),
    ];
    let (mut counts, mut wrong) = (Vec::new(), Vec::new());
    for (group, table) in groups {
        let (n, errors) = f.run(group, table).await;
        counts.push(format!("{group} {n}"));
        wrong.extend(errors);
    }
    let cut = [f.uploads[1].as_str(), f.uploads[2].as_str()];
    let (n, errors) = f
        .run_resumable("/v2/ bodies", registry_rows::bodies(&f), &cut)
        .await;
    counts.push(format!("/v2/ bodies {n}"));
    wrong.extend(errors);
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    manifest_rows::mount_then_push(&f).await;
    let logs = f.server.logs();
    assert!(!logs.contains("panicked"), "the server panicked:\n{logs}");
    println!(
        "hostile input: rows by group: {}; all answered as the protocol says, nothing changed, in {:.1} s",
        counts.join(", "),
        started.elapsed().as_secs_f64()
    );
}

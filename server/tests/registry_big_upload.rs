//! A 1 GiB chunked blob upload and download: the server must stream both
//! ways and keep its peak memory under 200 MiB.

mod common;

use common::oci::{header, require_header, Registry, XorShift};
use common::{unique, TestServer};
use futures_util::StreamExt;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

const TOTAL: u64 = 1024 * 1024 * 1024;
const CHUNK: usize = 8 * 1024 * 1024;
const RSS_LIMIT: u64 = 200 * 1024 * 1024;

#[tokio::test]
async fn one_gib_chunked_upload_streams_with_bounded_memory() {
    let server = TestServer::start();
    let reg = Registry::new(&server);
    let repo = unique("big");
    let mut location = reg.start_upload(&repo).await;

    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; CHUNK];
    let mut offset: u64 = 0;
    while offset < TOTAL {
        rng.fill(&mut chunk);
        hasher.update(&chunk);
        location = reg.patch_chunk(&location, offset, chunk.clone()).await;
        offset += CHUNK as u64;
    }
    let digest = format!("sha256:{}", hex::encode(hasher.finalize()));

    let resp = reg.send(reg.get(&location)).await;
    assert_eq!(
        resp.status(),
        StatusCode::NO_CONTENT,
        "upload status is 204"
    );
    assert_eq!(
        header(resp.headers(), "Range"),
        Some(format!("0-{}", TOTAL - 1)),
        "the session holds 1 GiB"
    );

    let resp = reg
        .send(reg.put(&Registry::with_digest(&location, &digest)))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "closing PUT is 201");
    assert_eq!(
        require_header(resp.headers(), "Docker-Content-Digest", "closing PUT"),
        digest,
        "the server computed the same digest"
    );
    let peak = server.peak_rss();
    println!("server peak RSS after upload: {} MiB", peak / (1024 * 1024));
    assert!(
        peak < RSS_LIMIT,
        "server peak RSS after a 1 GiB upload is {} MiB, over the 200 MiB limit",
        peak / (1024 * 1024)
    );

    let resp = reg
        .send(reg.get(&format!("/v2/{repo}/blobs/{digest}")))
        .await;
    assert_eq!(resp.status(), StatusCode::OK, "blob GET is 200");
    assert_eq!(
        header(resp.headers(), "Content-Length"),
        Some(TOTAL.to_string()),
        "Content-Length is 1 GiB"
    );
    let mut stream = resp.bytes_stream();
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    while let Some(piece) = stream.next().await {
        let piece = piece.expect("blob body chunk");
        received += piece.len() as u64;
        hasher.update(&piece);
    }
    assert_eq!(received, TOTAL, "GET streams back 1 GiB");
    assert_eq!(
        format!("sha256:{}", hex::encode(hasher.finalize())),
        digest,
        "the downloaded blob hashes to its digest"
    );
    let peak = server.peak_rss();
    println!(
        "server peak RSS after download: {} MiB",
        peak / (1024 * 1024)
    );
    assert!(
        peak < RSS_LIMIT,
        "server peak RSS after a 1 GiB download is {} MiB, over the 200 MiB limit",
        peak / (1024 * 1024)
    );
}

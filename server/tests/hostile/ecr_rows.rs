//! Bad requests on the ECR API (`POST /`, SigV4-signed), each with the
//! status and `__type` it must get.

use super::{row, Fixture, Row, Want};
use crate::common::ecr::{AccessKey, CONTENT_TYPE, TARGET_PREFIX};
use crate::common::oci::{image_manifest, sha256_digest, to_bytes, Descriptor, OCI_LAYER};
use crate::common::raw::RawRequest;
use serde_json::{json, Value};

use Want::{Ecr, Truncated};

const INVALID: Want = Ecr(400, "InvalidParameterException");

/// Traversal, odd Unicode and overlong names, tags and digests in the input.
pub fn names(f: &Fixture) -> Vec<Row> {
    let call = |op: &str, body: Value| f.ecr(op, body.to_string());
    let bad_names = [
        ("../ in the name", "hostile/../etc".to_owned()),
        ("a backslash", "hostile\\app".to_owned()),
        ("%2f in the name", "hostile%2fapp".to_owned()),
        ("NUL", "hostile/app\u{0}".to_owned()),
        ("an RTL override", "hostile/app\u{202e}".to_owned()),
        ("fullwidth letters", "hostile/\u{ff41}pp".to_owned()),
        ("a combining accent", "hostile/a\u{301}pp".to_owned()),
        ("a Cyrillic homoglyph", "hostile/\u{430}pp".to_owned()),
        ("257 characters", format!("hostile/{}", "a".repeat(249))),
    ];
    let mut rows = Vec::new();
    for (what, name) in &bad_names {
        rows.extend([
            row(
                format!("CreateRepository, {what}"),
                call("CreateRepository", json!({"repositoryName": name})),
                INVALID,
            ),
            row(
                format!("DescribeImages, {what}"),
                call("DescribeImages", json!({"repositoryName": name})),
                INVALID,
            ),
            row(
                format!("InitiateLayerUpload, {what}"),
                call("InitiateLayerUpload", json!({"repositoryName": name})),
                INVALID,
            ),
        ]);
    }
    let app = &f.app;
    let manifest = String::from_utf8(f.image.manifest.clone()).expect("UTF-8");
    let hex = f.image.digest.trim_start_matches("sha256:");
    for (what, tag) in [
        ("../ in the tag", "../v1".to_owned()),
        ("an RTL override in the tag", "v1\u{202e}".to_owned()),
        ("a NUL in the tag", "v1\u{0}".to_owned()),
        ("a fullwidth tag", "\u{ff56}1".to_owned()),
        ("a tag of 129 characters", "t".repeat(129)),
    ] {
        rows.push(row(
            format!("PutImage, {what}"),
            call(
                "PutImage",
                json!({"repositoryName": app, "imageManifest": manifest, "imageTag": tag}),
            ),
            INVALID,
        ));
    }
    for (what, digest) in [
        ("uppercase hex", format!("sha256:{}", hex.to_uppercase())),
        ("short hex", format!("sha256:{}", &hex[..63])),
        ("md5", "md5:d41d8cd98f00b204e9800998ecf8427e".to_owned()),
        ("traversal", "sha256:../../berth.db".to_owned()),
    ] {
        rows.extend([
            row(
                format!("PutImage, digest with {what}"),
                call(
                    "PutImage",
                    json!({"repositoryName": app, "imageManifest": manifest, "imageDigest": digest}),
                ),
                INVALID,
            ),
            row(
                format!("GetDownloadUrlForLayer, digest with {what}"),
                call(
                    "GetDownloadUrlForLayer",
                    json!({"repositoryName": app, "layerDigest": digest}),
                ),
                INVALID,
            ),
        ]);
    }
    rows.extend([
        row(
            "PutImage with the digest of other bytes",
            call(
                "PutImage",
                json!({"repositoryName": app, "imageManifest": manifest,
                       "imageDigest": sha256_digest(b"other bytes")}),
            ),
            Ecr(400, "ImageDigestDoesNotMatchException"),
        ),
        row(
            "UploadLayerPart to a traversing upload id",
            call(
                "UploadLayerPart",
                json!({"repositoryName": app, "uploadId": "../../berth.db",
                       "partFirstByte": 0, "partLastByte": 0, "layerPartBlob": "eA=="}),
            ),
            Ecr(400, "UploadNotFoundException"),
        ),
        row(
            "CompleteLayerUpload of upload id ..",
            call(
                "CompleteLayerUpload",
                json!({"repositoryName": app, "uploadId": "..",
                       "layerDigests": [sha256_digest(b"x")]}),
            ),
            Ecr(400, "UploadNotFoundException"),
        ),
    ]);
    rows
}

/// Signatures, targets, content types, bodies and JSON the API must refuse,
/// and blobs only another repository has.
pub fn requests(f: &Fixture) -> Vec<Row> {
    let app = &f.app;
    let call = |op: &str, body: Value| f.ecr(op, body.to_string());
    let describe = json!({"repositoryNames": [app]}).to_string();
    let wrong_secret = AccessKey {
        id: f.key.id.clone(),
        secret: "x".repeat(40),
    };
    let unknown_key = AccessKey {
        id: "AKIAAAAAAAAAAAAAAAAA".into(),
        secret: f.key.secret.clone(),
    };
    let other_layer = Descriptor {
        media_type: OCI_LAYER.into(),
        digest: f.other_blob.clone(),
        size: 22,
    };
    let foreign = to_bytes(&image_manifest(&f.image.config, &[other_layer]));
    let big = format!(
        r#"{{"repositoryName":"{app}","x":"{}"}}"#,
        "x".repeat(32 << 20)
    );
    vec![
        row(
            "no signature",
            RawRequest::new("POST", "/")
                .header("Content-Type", CONTENT_TYPE)
                .header(
                    "X-Amz-Target",
                    format!("{TARGET_PREFIX}DescribeRepositories"),
                )
                .body(describe.clone()),
            Ecr(403, "MissingAuthenticationTokenException"),
        ),
        row(
            "signed with the wrong secret",
            f.ecr_as(&wrong_secret, "DescribeRepositories", describe.clone()),
            Ecr(403, "InvalidSignatureException"),
        ),
        row(
            "an unknown access key",
            f.ecr_as(&unknown_key, "DescribeRepositories", describe.clone()),
            Ecr(403, "UnrecognizedClientException"),
        ),
        row(
            "an unknown operation",
            f.ecr_as(&f.key, "../DescribeRepositories", describe.clone()),
            Ecr(400, "UnknownOperationException"),
        ),
        row(
            "a text/plain body",
            with_content_type(f, "text/plain", &describe),
            Ecr(400, "SerializationException"),
        ),
        row(
            "a form body",
            with_content_type(f, "application/x-www-form-urlencoded", &describe),
            Ecr(400, "SerializationException"),
        ),
        row(
            "duplicate repositoryName keys",
            f.ecr(
                "CreateRepository",
                r#"{"repositoryName":"hostile/dup-a","repositoryName":"hostile/dup-b"}"#,
            ),
            Ecr(400, "SerializationException"),
        ),
        row(
            "10k-deep arrays",
            f.ecr(
                "CreateRepository",
                format!(
                    r#"{{"repositoryName":"hostile/deep","tags":{}{}}}"#,
                    "[".repeat(10_000),
                    "]".repeat(10_000)
                ),
            ),
            Ecr(400, "SerializationException"),
        ),
        row(
            "a body over 32 MiB",
            f.ecr("DescribeImages", big),
            Ecr(400, "ValidationException"),
        ),
        row(
            "a body cut short",
            f.ecr(
                "CreateRepository",
                json!({"repositoryName": "hostile/cut"}).to_string(),
            )
            .truncated(10),
            Truncated,
        ),
        row(
            "PutImage with a layer only another repository has",
            call(
                "PutImage",
                json!({"repositoryName": app, "imageTag": "foreign",
                       "imageManifest": String::from_utf8(foreign).expect("UTF-8")}),
            ),
            Ecr(400, "LayersNotFoundException"),
        ),
        row(
            "GetDownloadUrlForLayer of a layer only another repository has",
            call(
                "GetDownloadUrlForLayer",
                json!({"repositoryName": app, "layerDigest": f.other_blob}),
            ),
            Ecr(400, "LayersNotFoundException"),
        ),
    ]
}

/// A DescribeRepositories call sent (and signed) with `content_type`.
fn with_content_type(f: &Fixture, content_type: &str, body: &str) -> RawRequest {
    let mut headers = vec![
        ("host".to_owned(), f.server.host.clone()),
        ("content-type".to_owned(), content_type.to_owned()),
        (
            "x-amz-target".to_owned(),
            format!("{TARGET_PREFIX}DescribeRepositories"),
        ),
    ];
    headers.extend(crate::common::ecr::sign(&f.key, &headers, body.as_bytes()));
    let mut request = RawRequest::new("POST", "/").body(body.as_bytes().to_vec());
    for (name, value) in headers.into_iter().filter(|(n, _)| n != "host") {
        request = request.header(&name, value);
    }
    request
}

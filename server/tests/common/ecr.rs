//! The ECR API from Rust tests: access keys made with `berth access-key
//! create`, and requests signed with SigV4 (service `ecr`) by the `aws-sigv4`
//! crate the AWS SDKs use, so the server sees exactly what boto3 sends.

use super::TestServer;

/// The `X-Amz-Target` prefix of every ECR operation.
pub const TARGET_PREFIX: &str = "AmazonEC2ContainerRegistry_V20150921.";
/// The content type of ECR requests (AWS JSON 1.1).
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An access key: its id and secret.
#[derive(Clone, Debug)]
pub struct AccessKey {
    /// `AKIA…`.
    pub id: String,
    /// The secret access key.
    pub secret: String,
}

/// Makes an access key for `user` with `berth access-key create`.
pub fn create_access_key(server: &TestServer, user: &str) -> AccessKey {
    let output = server.admin(&["access-key", "create", user, "--json"]);
    assert!(output.status.success(), "access-key create: {output:?}");
    let key: serde_json::Value = serde_json::from_slice(&output.stdout).expect("key JSON");
    super::record_secret(key["secretAccessKey"].as_str().unwrap_or_default());
    AccessKey {
        id: key["accessKeyId"].as_str().expect("accessKeyId").to_owned(),
        secret: key["secretAccessKey"]
            .as_str()
            .expect("secretAccessKey")
            .to_owned(),
    }
}

/// The headers that sign `POST /` with `headers` (which must include `host`)
/// and `body` as `key`, now, in `us-east-1`: `authorization` and `x-amz-date`.
pub fn sign(key: &AccessKey, headers: &[(String, String)], body: &[u8]) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let host = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.as_str())
        .expect("a host header to sign");
    let identity =
        aws_credential_types::Credentials::new(&key.id, &key.secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("ecr")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let request = SignableRequest::new(
        "POST",
        format!("http://{host}/"),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .expect("a signable request");
    let (instructions, _signature) = sign(request, &params).expect("signed").into_parts();
    instructions
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The headers of a signed ECR call of `operation` with `body` to `host`.
pub fn call_headers(
    key: &AccessKey,
    host: &str,
    operation: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("host".to_owned(), host.to_owned()),
        ("content-type".to_owned(), CONTENT_TYPE.to_owned()),
        (
            "x-amz-target".to_owned(),
            format!("{TARGET_PREFIX}{operation}"),
        ),
    ];
    let signed = sign(key, &headers, body);
    headers.extend(signed);
    headers
}

/// Calls ECR `operation` with the JSON `body` as `user` (a new access key),
/// signed as the AWS CLI signs it.
pub async fn call(
    server: &TestServer,
    user: &str,
    operation: &str,
    body: String,
) -> reqwest::Response {
    let key = create_access_key(server, user);
    let headers = call_headers(&key, &server.host, operation, body.as_bytes());
    let mut request = reqwest::Client::new()
        .post(format!("{}/", server.url))
        .body(body);
    for (name, value) in headers.iter().filter(|(n, _)| n != "host") {
        request = request.header(name, value);
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{operation}: {e}"))
}

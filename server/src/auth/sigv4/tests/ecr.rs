//! An ECR-shaped request signed by an independent plain signer, session
//! tokens, declared payload hashes, and the Date header.

use super::*;

/// An independent, deliberately plain SigV4 signer, written from AWS's documentation,
/// for requests to `/` with no query. `headers` are (lowercase name, value), all signed.
fn sign_plain(
    method: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    amz_date: &str,
    region: &str,
    service: &str,
    secret: &str,
) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    fn mac(key: &[u8], data: &str) -> Vec<u8> {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    }
    let mut sorted = headers.to_vec();
    sorted.sort();
    let canonical_headers: String = sorted
        .iter()
        .map(|(n, v)| format!("{n}:{}\n", v.trim()))
        .collect();
    let signed: Vec<&str> = sorted.iter().map(|(n, _)| *n).collect();
    let signed = signed.join(";");
    let payload = sorted
        .iter()
        .find(|(n, _)| *n == "x-amz-content-sha256")
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| hex::encode(sha2::Sha256::digest(body)));
    let canonical_request = format!("{method}\n/\n\n{canonical_headers}\n{signed}\n{payload}");
    let day = &amz_date[..8];
    let scope = format!("{day}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(sha2::Sha256::digest(canonical_request.as_bytes()))
    );
    let k = mac(format!("AWS4{secret}").as_bytes(), day);
    let k = mac(&k, region);
    let k = mac(&k, service);
    let k = mac(&k, "aws4_request");
    let signature = hex::encode(mac(&k, &string_to_sign));
    format!("AWS4-HMAC-SHA256 Credential=AKIAECRTEST/{scope}, SignedHeaders={signed}, Signature={signature}")
}

fn header_map(headers: &[(&str, &str)], authorization: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in headers {
        map.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map.insert(
        "authorization",
        HeaderValue::from_str(authorization).unwrap(),
    );
    map
}

const ECR_SECRET: &str = "ecr/secret+key/EXAMPLE";

fn ecr_headers(amz_date: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("content-type", "application/x-amz-json-1.1"),
        ("host", "berth.example.com:5000"),
        ("x-amz-date", amz_date),
        (
            "x-amz-target",
            "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories",
        ),
    ]
}

fn ecr_request<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> RequestToVerify<'a> {
    RequestToVerify {
        method: "POST",
        path: "/",
        query: None,
        headers,
        body,
    }
}

#[test]
fn ecr_describe_repositories_verifies() {
    let signed = ecr_headers("20240102T030405Z");
    let body = b"{}";
    let authorization = sign_plain(
        "POST",
        &signed,
        body,
        "20240102T030405Z",
        "us-east-1",
        "ecr",
        ECR_SECRET,
    );
    let mut headers = header_map(&signed, &authorization);
    // Unsigned headers ride along without affecting the signature.
    headers.insert("user-agent", HeaderValue::from_static("aws-cli/2.15.0"));
    headers.insert("content-length", HeaderValue::from_static("2"));
    let auth = authorization_from_headers(&headers).unwrap();
    assert_eq!(auth.access_key_id, "AKIAECRTEST");
    assert_eq!(auth.region, "us-east-1");
    assert_eq!(auth.service, "ecr");
    assert_eq!(
        auth.signed_headers,
        ["content-type", "host", "x-amz-date", "x-amz-target"]
    );
    let now = from_unix(parse_iso_basic("20240102T031000Z").unwrap());
    assert_eq!(
        verify(&ecr_request(&headers, body), &auth, ECR_SECRET, now),
        Ok(())
    );
    assert_eq!(
        verify(&ecr_request(&headers, b"{ }"), &auth, ECR_SECRET, now),
        Err(SigV4Error::Mismatch)
    );
    let mut other_target = headers.clone();
    other_target.insert(
        "x-amz-target",
        HeaderValue::from_static("AmazonEC2ContainerRegistry_V20150921.DeleteRepository"),
    );
    assert_eq!(
        verify(&ecr_request(&other_target, body), &auth, ECR_SECRET, now),
        Err(SigV4Error::Mismatch)
    );
    assert_eq!(
        verify(
            &ecr_request(&headers, body),
            &auth,
            "ecr/secret+key/EXAMPLf",
            now
        ),
        Err(SigV4Error::Mismatch)
    );
}

#[test]
fn ecr_with_session_token_and_unsigned_payload() {
    let mut signed = ecr_headers("20240102T030405Z");
    signed.push(("x-amz-content-sha256", UNSIGNED_PAYLOAD));
    signed.push(("x-amz-security-token", "FwoGZXIvYXdzEXAMPLE//token=="));
    let authorization = sign_plain(
        "POST",
        &signed,
        b"{}",
        "20240102T030405Z",
        "eu-west-1",
        "ecr",
        ECR_SECRET,
    );
    let headers = header_map(&signed, &authorization);
    let auth = authorization_from_headers(&headers).unwrap();
    let now = from_unix(parse_iso_basic("20240102T030405Z").unwrap());
    // UNSIGNED-PAYLOAD: the body is not covered.
    assert_eq!(
        verify(&ecr_request(&headers, b"{}"), &auth, ECR_SECRET, now),
        Ok(())
    );
    assert_eq!(
        verify(&ecr_request(&headers, b"{\"x\":1}"), &auth, ECR_SECRET, now),
        Ok(())
    );
    let mut other_token = headers.clone();
    other_token.insert("x-amz-security-token", HeaderValue::from_static("other"));
    assert_eq!(
        verify(&ecr_request(&other_token, b"{}"), &auth, ECR_SECRET, now),
        Err(SigV4Error::Mismatch)
    );
}

#[test]
fn declared_content_hash_must_match_body() {
    let body_hash = hex::encode(Sha256::digest(b"{}"));
    let mut signed: Vec<(&str, &str)> = ecr_headers("20240102T030405Z");
    signed.push(("x-amz-content-sha256", &body_hash));
    let authorization = sign_plain(
        "POST",
        &signed,
        b"{}",
        "20240102T030405Z",
        "us-east-1",
        "ecr",
        ECR_SECRET,
    );
    let headers = header_map(&signed, &authorization);
    let auth = authorization_from_headers(&headers).unwrap();
    let now = from_unix(parse_iso_basic("20240102T030405Z").unwrap());
    assert_eq!(
        verify(&ecr_request(&headers, b"{}"), &auth, ECR_SECRET, now),
        Ok(())
    );
    assert_eq!(
        verify(&ecr_request(&headers, b"[]"), &auth, ECR_SECRET, now),
        Err(SigV4Error::Mismatch)
    );
}

#[test]
fn date_header_stands_in_for_x_amz_date() {
    let signed = vec![
        ("content-type", "application/x-amz-json-1.1"),
        ("date", "Tue, 02 Jan 2024 03:04:05 GMT"),
        ("host", "berth.example.com"),
    ];
    let authorization = sign_plain(
        "POST",
        &signed,
        b"{}",
        "20240102T030405Z",
        "us-east-1",
        "ecr",
        ECR_SECRET,
    );
    let headers = header_map(&signed, &authorization);
    let auth = authorization_from_headers(&headers).unwrap();
    let now = from_unix(parse_iso_basic("20240102T030405Z").unwrap());
    assert_eq!(
        verify(&ecr_request(&headers, b"{}"), &auth, ECR_SECRET, now),
        Ok(())
    );
}

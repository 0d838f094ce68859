//! SigV4 (`berth::auth::sigv4`): the `Authorization` header parser and the
//! canonical request the verifier rebuilds from the request's method, path,
//! query, headers, dates and body. Any request is verified or refused with one
//! of AWS's three error codes, never a panic; a request that verifies stops
//! verifying under another secret key.
//!
//! Input: a request in the AWS SigV4 test suite's text format,
//! `METHOD target HTTP/1.1`, then `Name:value` lines, a blank line and the
//! body. It is verified with the test suite's secret key at the suite's
//! signing time (2015-08-30T12:36:00Z), so the suite's vectors verify.
#![no_main]

use berth::auth::sigv4::{
    authorization_from_headers, parse_authorization, verify, RequestToVerify, SigV4Error,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::{fuzz_target, Corpus};
use std::time::{Duration, UNIX_EPOCH};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_UNIX: u64 = 1_440_938_160;

fuzz_target!(|data: &[u8]| -> Corpus {
    let Ok(text) = std::str::from_utf8(data) else {
        return Corpus::Reject; // the method and path are text by the time they are verified
    };
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let (method, target) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    let target = target.strip_suffix(" HTTP/1.1").unwrap_or(target);
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        // What hyper would refuse never reaches the verifier.
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    for value in headers.get_all("authorization") {
        if let Ok(value) = value.to_str() {
            if let Err(e) = parse_authorization(value) {
                check_error(&e);
            }
        }
    }
    let auth = match authorization_from_headers(&headers) {
        Ok(auth) => auth,
        Err(e) => {
            check_error(&e);
            return Corpus::Keep;
        }
    };
    let _ = auth.credential_scope();
    let request = RequestToVerify {
        method,
        path,
        query,
        headers: &headers,
        body: body.as_bytes(),
    };
    let now = UNIX_EPOCH + Duration::from_secs(SUITE_UNIX);
    match verify(&request, &auth, SECRET, now) {
        Ok(()) => assert_eq!(
            verify(&request, &auth, "another secret", now),
            Err(SigV4Error::Mismatch),
            "{text:?} verifies under two secret keys"
        ),
        Err(e) => check_error(&e),
    }
    Corpus::Keep
});

fn check_error(e: &SigV4Error) {
    assert!(matches!(
        e.aws_error_code(),
        "MissingAuthenticationTokenException"
            | "IncompleteSignatureException"
            | "InvalidSignatureException"
    ));
    assert!(!e.to_string().is_empty());
}

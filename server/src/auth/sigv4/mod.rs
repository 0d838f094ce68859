//! AWS Signature Version 4 (AWS4-HMAC-SHA256) verification of incoming requests.
//! Pure: bytes in, verdict out. No I/O and no clock: the caller looks up the secret
//! for the access key id and passes the current time.
//!
//! The canonical request is rebuilt from the request as received:
//!
//! * canonical URI: the received path is already percent-encoded once (that is how it
//!   travelled), so for non-S3 services (ECR) it has dot segments and empty segments
//!   removed and each segment URI-encoded *once more* — the "encode twice" rule seen from
//!   the receiving side (`/a%20b` is signed as `/a%2520b`). A signature over the path
//!   exactly as received (S3's rule: no normalization, no second encoding) is accepted
//!   too; for ECR's JSON API the path is `/` and both rules agree.
//! * canonical query: each `key=value` percent-decoded and re-encoded with only
//!   `A-Z a-z 0-9 - _ . ~` left bare, a missing value as `key=`, sorted by key then value.
//! * canonical headers: the SignedHeaders only, lowercase names sorted, values trimmed
//!   with inner runs of whitespace collapsed to one space, repeated headers joined by `,`.
//! * payload hash: the `x-amz-content-sha256` header if present (`UNSIGNED-PAYLOAD`
//!   included; any other value must equal the body's SHA-256), else the body's SHA-256.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

/// The only signing algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The `x-amz-content-sha256` value that leaves the body out of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far the request time may be from the server's time, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// Bytes left bare by SigV4's URI encoding: `A-Z a-z 0-9 - _ . ~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// The credential scope's terminator.
const TERMINATOR: &str = "aws4_request";
/// Seconds of `MAX_CLOCK_SKEW`, for arithmetic on Unix times.
const SKEW_SECS: i64 = 15 * 60;
/// Unix time of 0001-01-01T00:00:00Z; times are clamped here so they format as 4 digits.
const MIN_UNIX: i64 = -62_135_596_800;
/// Unix time of 9999-12-31T23:59:59Z.
const MAX_UNIX: i64 = 253_402_300_799;

/// What the Authorization header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAuthorization {
    /// The access key id from the credential scope.
    pub access_key_id: String,
    /// The credential scope's date, `YYYYMMDD`.
    pub date: String,
    /// The credential scope's region, e.g. `us-east-1`.
    pub region: String,
    /// The credential scope's service, e.g. `ecr`.
    pub service: String,
    /// The signed header names, lowercase, in the order sent.
    pub signed_headers: Vec<String>,
    /// The signature as sent (hex).
    pub signature: String,
}

impl SignedAuthorization {
    /// The credential scope: `<date>/<region>/<service>/aws4_request`.
    pub fn credential_scope(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// The parts of the request that are signed.
#[derive(Debug, Clone, Copy)]
pub struct RequestToVerify<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The raw path as received, percent-encoded as sent (without the query).
    pub path: &'a str,
    /// The raw query string as received (without the `?`), if any.
    pub query: Option<&'a str>,
    /// The request headers. They must include `host`: for HTTP/2 requests, which carry
    /// the host as the `:authority` pseudo-header, insert the URI's authority first.
    pub headers: &'a HeaderMap,
    /// The request body.
    pub body: &'a [u8],
}

/// Why a request's signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No Authorization header (`MissingAuthenticationTokenException`).
    #[error("Missing Authentication Token")]
    MissingAuthentication,
    /// The Authorization header or the date headers are malformed or inconsistent
    /// (`IncompleteSignatureException`); the text says what is wrong.
    #[error("{0}")]
    Incomplete(String),
    /// The request time is more than 15 minutes from the server's time
    /// (`InvalidSignatureException`).
    #[error("{}", expired_message(.request_time, .server_time))]
    Expired {
        /// When the request says it was signed.
        request_time: SystemTime,
        /// The server's time when it checked.
        server_time: SystemTime,
    },
    /// The signature is not the one the secret key gives (`InvalidSignatureException`).
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch,
}

impl SigV4Error {
    /// The AWS error code (`__type`) to answer with.
    pub fn aws_error_code(&self) -> &'static str {
        match self {
            SigV4Error::MissingAuthentication => "MissingAuthenticationTokenException",
            SigV4Error::Incomplete(_) => "IncompleteSignatureException",
            SigV4Error::Expired { .. } | SigV4Error::Mismatch => "InvalidSignatureException",
        }
    }
}

/// AWS's wording for a request outside the clock-skew window.
fn expired_message(request_time: &SystemTime, server_time: &SystemTime) -> String {
    let request = unix_seconds(*request_time);
    let server = unix_seconds(*server_time);
    if request < server {
        format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            iso_basic(request),
            iso_basic(server - SKEW_SECS),
            iso_basic(server)
        )
    } else {
        format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            iso_basic(request),
            iso_basic(server + SKEW_SECS),
            iso_basic(server)
        )
    }
}

/// Shorthand for an `Incomplete` error.
fn incomplete(message: impl Into<String>) -> SigV4Error {
    SigV4Error::Incomplete(message.into())
}

/// Reads and parses the `Authorization` header; `MissingAuthentication` when there is none.
pub fn authorization_from_headers(headers: &HeaderMap) -> Result<SignedAuthorization, SigV4Error> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(SigV4Error::MissingAuthentication)?;
    let value = value
        .to_str()
        .map_err(|_| incomplete("Authorization header is not valid ASCII."))?;
    parse_authorization(value)
}

/// Parses an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`
/// value. An empty value is `MissingAuthentication`; anything malformed is `Incomplete`.
pub fn parse_authorization(value: &str) -> Result<SignedAuthorization, SigV4Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(SigV4Error::MissingAuthentication);
    }
    let (algorithm, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        let shown: String = algorithm.chars().take(64).collect();
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{shown}'. The only supported algorithm is '{ALGORITHM}'."
        )));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    // Parameters are separated by commas (and usually a space); values never hold either.
    for pair in rest
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            incomplete("Invalid key=value pair (missing equal-sign) in Authorization header.")
        })?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_some() {
            return Err(incomplete(format!(
                "Authorization header has more than one '{key}' parameter."
            )));
        }
        *slot = Some(value);
    }

    let mut missing = Vec::new();
    for (name, found) in [
        ("Credential", &credential),
        ("Signature", &signature),
        ("SignedHeaders", &signed_headers),
    ] {
        if found.is_none_or(str::is_empty) {
            missing.push(format!("Authorization header requires '{name}' parameter."));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(incomplete(missing.join(" ")));
    };
    if !missing.is_empty() {
        return Err(incomplete(missing.join(" ")));
    }

    // <access key id>/<date>/<region>/<service>/aws4_request, split from the right.
    let mut scope = credential.rsplitn(5, '/');
    let terminator = scope.next().unwrap_or_default();
    let service = scope.next().unwrap_or_default();
    let region = scope.next().unwrap_or_default();
    let date = scope.next().unwrap_or_default();
    let access_key_id = scope.next().unwrap_or_default();
    if access_key_id.is_empty() {
        return Err(incomplete(
            "Credential should be of the form '<access key id>/<YYYYMMDD>/<region>/<service>/aws4_request'.",
        ));
    }
    if terminator != TERMINATOR {
        let shown: String = terminator.chars().take(64).collect();
        return Err(incomplete(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{shown}'."
        )));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        let shown: String = date.chars().take(64).collect();
        return Err(incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{shown}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    }
    if region.is_empty() {
        return Err(incomplete("Credential should be scoped to a valid region."));
    }
    if service.is_empty() {
        return Err(incomplete(
            "Credential should be scoped to correct service.",
        ));
    }

    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    if signed_headers.iter().any(String::is_empty) {
        return Err(incomplete(
            "SignedHeaders must be a ';'-separated list of header names with none empty.",
        ));
    }
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }

    Ok(SignedAuthorization {
        access_key_id: access_key_id.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// Verifies the request's signature with the secret key. `now` is the server's time, for
/// the 15-minute clock-skew check against `X-Amz-Date` (or `Date`).
pub fn verify(
    request: &RequestToVerify,
    auth: &SignedAuthorization,
    secret_access_key: &str,
    now: SystemTime,
) -> Result<(), SigV4Error> {
    let request_unix = request_time(request.headers)?;
    let amz_date = iso_basic(request_unix);
    let request_day = amz_date.get(..8).unwrap_or_default();
    if auth.date != request_day {
        return Err(incomplete(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{request_day}', from '{amz_date}'.",
            auth.date
        )));
    }
    let server_unix = unix_seconds(now);
    if (request_unix - server_unix).abs() > SKEW_SECS {
        return Err(SigV4Error::Expired {
            request_time: from_unix(request_unix),
            server_time: now,
        });
    }

    let mut names: Vec<&str> = auth.signed_headers.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    if !names.contains(&"host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    let headers_block = canonical_headers(request.headers, &names)?;
    let payload = payload_hash(request.headers, request.body)?;
    let query = canonical_query(request.query);

    let key = signing_key(secret_access_key, auth);
    let provided = auth.signature.to_ascii_lowercase();
    let scope = auth.credential_scope();
    let mut matched = subtle::Choice::from(0u8);
    for uri in canonical_uri_candidates(request.path) {
        let mut canonical = Vec::with_capacity(256 + headers_block.len());
        canonical.extend_from_slice(request.method.as_bytes());
        canonical.push(b'\n');
        canonical.extend_from_slice(uri.as_bytes());
        canonical.push(b'\n');
        canonical.extend_from_slice(query.as_bytes());
        canonical.push(b'\n');
        canonical.extend_from_slice(&headers_block);
        canonical.push(b'\n');
        canonical.extend_from_slice(names.join(";").as_bytes());
        canonical.push(b'\n');
        canonical.extend_from_slice(payload.as_bytes());

        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(&canonical))
        );
        let computed = hex::encode(hmac(&key, string_to_sign.as_bytes()));
        matched |= computed.as_bytes().ct_eq(provided.as_bytes());
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SigV4Error::Mismatch)
    }
}

/// HMAC-SHA256 of `data` under `key`.
fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; the fallback
    // (an all-zero tag, which matches nothing) only keeps this free of panics.
    match <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// The signing key: HMAC chain from `"AWS4" + secret` over date, region, service, terminator.
fn signing_key(secret_access_key: &str, auth: &SignedAuthorization) -> [u8; 32] {
    let k_date = hmac(
        format!("AWS4{secret_access_key}").as_bytes(),
        auth.date.as_bytes(),
    );
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    hmac(&k_service, TERMINATOR.as_bytes())
}

/// The request time as Unix seconds, from `X-Amz-Date` (basic ISO 8601) or else `Date`.
fn request_time(headers: &HeaderMap) -> Result<i64, SigV4Error> {
    if let Some(value) = headers.get("x-amz-date") {
        return value
            .to_str()
            .ok()
            .and_then(|v| parse_iso_basic(v.trim()))
            .ok_or_else(|| {
                incomplete("X-Amz-Date must be in ISO-8601 'basic format', e.g. 20150830T123600Z.")
            });
    }
    if let Some(value) = headers.get(axum::http::header::DATE) {
        return value
            .to_str()
            .ok()
            .and_then(|v| parse_http_date(v.trim()).or_else(|| parse_iso_basic(v.trim())))
            .ok_or_else(|| {
                incomplete("Date must be an HTTP date, e.g. 'Sun, 30 Aug 2015 12:36:00 GMT'.")
            });
    }
    Err(incomplete(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    ))
}

/// The payload hash line: `x-amz-content-sha256` when sent (checked against the body unless
/// it is `UNSIGNED-PAYLOAD`), else the hex SHA-256 of the body.
fn payload_hash(headers: &HeaderMap, body: &[u8]) -> Result<String, SigV4Error> {
    let body_hash = hex::encode(Sha256::digest(body));
    let Some(declared) = headers.get("x-amz-content-sha256") else {
        return Ok(body_hash);
    };
    let declared = declared.to_str().map_err(|_| SigV4Error::Mismatch)?.trim();
    if declared == UNSIGNED_PAYLOAD || declared.eq_ignore_ascii_case(&body_hash) {
        Ok(declared.to_owned())
    } else {
        // A declared hash the body does not have: the signature would not cover the body.
        Err(SigV4Error::Mismatch)
    }
}

/// `name:value\n` for each signed header (names sorted, lowercase). A signed header the
/// request does not carry cannot match the signature.
fn canonical_headers(headers: &HeaderMap, names: &[&str]) -> Result<Vec<u8>, SigV4Error> {
    let mut out = Vec::new();
    for name in names {
        let mut values = headers.get_all(*name).iter().peekable();
        if values.peek().is_none() {
            return Err(SigV4Error::Mismatch);
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_collapsed(&mut out, value.as_bytes());
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// Appends `value` trimmed, with each inner run of whitespace collapsed to one space.
fn push_collapsed(out: &mut Vec<u8>, value: &[u8]) {
    let mut words = value
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        out.extend_from_slice(first);
        for word in words {
            out.push(b' ');
            out.extend_from_slice(word);
        }
    }
}

/// SigV4 URI encoding of raw bytes: everything but the unreserved set as `%XX`.
fn uri_encode(bytes: &[u8]) -> String {
    percent_encode(bytes, UNRESERVED).to_string()
}

/// The canonical query string: pairs decoded, re-encoded, and sorted by key then value.
fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key: Vec<u8> = percent_decode(key.as_bytes()).collect();
            let value: Vec<u8> = percent_decode(value.as_bytes()).collect();
            (uri_encode(&key), uri_encode(&value))
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The canonical URIs a correct signer may have used for `path` as received: the non-S3
/// rule (normalized, each segment encoded once more) first, then the path verbatim.
fn canonical_uri_candidates(path: &str) -> Vec<String> {
    let normalized = normalized_path(path);
    let mut encoded = String::with_capacity(normalized.len() + 8);
    for (i, segment) in normalized.split('/').enumerate() {
        if i > 0 {
            encoded.push('/');
        }
        encoded.push_str(&uri_encode(segment.as_bytes()));
    }
    let verbatim = if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    };
    if verbatim == encoded {
        vec![encoded]
    } else {
        vec![encoded, verbatim]
    }
}

/// `path` with empty and `.` segments dropped and `..` segments applied, always absolute;
/// a trailing `/` (or a final `.`/`..`) keeps a trailing slash.
fn normalized_path(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let trailing = matches!(path.rsplit('/').next(), Some("" | "." | ".."));
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&kept.join("/"));
    if trailing && !kept.is_empty() {
        out.push('/');
    }
    out
}

/// Unix seconds of `t`, clamped to years 1..=9999.
fn unix_seconds(t: SystemTime) -> i64 {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    secs.clamp(MIN_UNIX, MAX_UNIX)
}

/// The `SystemTime` of Unix seconds `secs`.
fn from_unix(secs: i64) -> SystemTime {
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    let t = if secs >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    t.unwrap_or(UNIX_EPOCH)
}

/// Unix seconds as basic ISO 8601, `YYYYMMDDTHHMMSSZ`.
fn iso_basic(secs: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(secs.clamp(MIN_UNIX, MAX_UNIX))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(ISO_BASIC)
        .expect("a year of four digits formats in basic ISO 8601")
}

/// `X-Amz-Date`'s format, basic ISO 8601 in UTC.
const ISO_BASIC: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

/// Unix seconds of `YYYYMMDDTHHMMSSZ`.
fn parse_iso_basic(value: &str) -> Option<i64> {
    // `time` would also take a sign or more digits for the year; basic ISO 8601 has four.
    if value.len() != 16 || !value.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    time::PrimitiveDateTime::parse(value, ISO_BASIC)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

/// Unix seconds of an HTTP date in any of HTTP's three formats (RFC 9110
/// section 5.6.7: `Sun, 30 Aug 2015 12:36:00 GMT`, the obsolete
/// `Sunday, 30-Aug-15 12:36:00 GMT` and asctime's `Sun Aug 30 12:36:00 2015`),
/// or the first without its weekday, as RFC 5322 allows and Berth always took.
fn parse_http_date(value: &str) -> Option<i64> {
    const WITHOUT_WEEKDAY: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    match httpdate::parse_http_date(value) {
        Ok(t) => Some(unix_seconds(t)),
        Err(_) => time::PrimitiveDateTime::parse(value, WITHOUT_WEEKDAY)
            .ok()
            .map(|t| t.assume_utc().unix_timestamp()),
    }
}

#[cfg(test)]
mod tests;

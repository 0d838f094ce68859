//! Parse errors, date errors, and garbage that must never panic.

use super::*;

fn expect_incomplete(value: &str, needle: &str) {
    match parse_authorization(value) {
        Err(SigV4Error::Incomplete(message)) => {
            assert!(message.contains(needle), "{value:?}: {message}")
        }
        other => panic!("{value:?}: expected Incomplete, got {other:?}"),
    }
}

#[test]
fn parse_errors() {
    let good = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let parsed = parse_authorization(good).unwrap();
    assert_eq!(parsed.date, "20150830");
    assert_eq!(parsed.signed_headers, ["host", "x-amz-date"]);
    // Without spaces after the commas, and with mixed-case header names.
    let tight = good.replace(", ", ",").replace("host;", "Host;");
    assert_eq!(parse_authorization(&tight).unwrap(), parsed);

    assert_eq!(
        parse_authorization(""),
        Err(SigV4Error::MissingAuthentication)
    );
    assert_eq!(
        parse_authorization("  "),
        Err(SigV4Error::MissingAuthentication)
    );
    assert_eq!(
        authorization_from_headers(&HeaderMap::new()),
        Err(SigV4Error::MissingAuthentication)
    );

    expect_incomplete(
        &good.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
        "Unsupported AWS 'algorithm'",
    );
    expect_incomplete("Basic dXNlcjpwYXNz", "Unsupported AWS 'algorithm'");
    expect_incomplete("AWS4-HMAC-SHA256", "requires 'Credential' parameter");
    expect_incomplete(
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
        "requires 'Credential' parameter",
    );
    expect_incomplete(
        "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, Signature=abc",
        "requires 'SignedHeaders' parameter",
    );
    expect_incomplete(
        "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host",
        "requires 'Signature' parameter",
    );
    expect_incomplete(
        "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, SignedHeaders=host, Signature=",
        "requires 'Signature' parameter",
    );
    expect_incomplete(
        &good.replace("Signature=", "Signature"),
        "missing equal-sign",
    );
    expect_incomplete(
        &format!("{good}, Signature=00"),
        "more than one 'Signature'",
    );
    expect_incomplete(
        &good.replace("aws4_request", "aws5_request"),
        "valid terminator",
    );
    expect_incomplete(
        &good.replace("AKIDEXAMPLE/20150830/", "20150830/"),
        "Credential should be of the form",
    );
    expect_incomplete(
        &good.replace("20150830", "2015083"),
        "ISO-8601 'basic format'",
    );
    expect_incomplete(
        &good.replace("20150830", "2015O830"),
        "ISO-8601 'basic format'",
    );
    expect_incomplete(&good.replace("us-east-1", ""), "valid region");
    expect_incomplete(&good.replace("/service/", "//"), "correct service");
    expect_incomplete(&good.replace("host;", ""), "'Host' or ':authority'");
    expect_incomplete(&good.replace("host;", "host;;"), "none empty");
}

#[test]
fn verify_date_errors() {
    let (_, text) = vectors().remove(0);
    let parsed = parse_req(&text);
    let auth = auth_of(&parsed);

    let mut no_date = parsed.clone();
    no_date.headers.remove("x-amz-date");
    assert!(matches!(
        verify(&no_date.request(), &auth, SECRET, suite_time()),
        Err(SigV4Error::Incomplete(m)) if m.contains("'X-Amz-Date' or a 'Date'")
    ));

    let mut bad_date = parsed.clone();
    bad_date.headers.insert(
        "x-amz-date",
        HeaderValue::from_static("2015-08-30T12:36:00Z"),
    );
    assert!(matches!(
        verify(&bad_date.request(), &auth, SECRET, suite_time()),
        Err(SigV4Error::Incomplete(m)) if m.contains("X-Amz-Date")
    ));

    let mut bad_http_date = no_date.clone();
    bad_http_date
        .headers
        .insert("date", HeaderValue::from_static("yesterday"));
    assert!(matches!(
        verify(&bad_http_date.request(), &auth, SECRET, suite_time()),
        Err(SigV4Error::Incomplete(m)) if m.contains("Date must be")
    ));

    let mut other_day = auth.clone();
    other_day.date = "20150831".into();
    assert_eq!(
        verify(&parsed.request(), &other_day, SECRET, suite_time()),
        Err(SigV4Error::Incomplete(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'.".into()
        ))
    );

    let mut no_host = auth.clone();
    no_host.signed_headers.retain(|h| h != "host");
    assert!(matches!(
        verify(&parsed.request(), &no_host, SECRET, suite_time()),
        Err(SigV4Error::Incomplete(m)) if m.contains("'Host'")
    ));
}

/// A small xorshift generator, so the garbage is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, alphabet: &[u8], max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let fragments: &[&str] = &[
        "AWS4-HMAC-SHA256",
        " ",
        ",",
        ", ",
        "=",
        "/",
        ";",
        "Credential=",
        "SignedHeaders=",
        "Signature=",
        "AKID",
        "20150830",
        "us-east-1",
        "service",
        "aws4_request",
        "host",
        "x-amz-date",
        "x-amz-content-sha256",
        "\u{1234}",
        "é",
        "%",
        "%zz",
        "..",
        "\t",
        "Host",
        "my header",
    ];
    let text_alphabet: Vec<u8> = (0x20u8..0x7f).chain([b'\t']).collect();
    let any_byte: Vec<u8> = (0u8..=255).collect();
    let times = [
        UNIX_EPOCH,
        suite_time(),
        UNIX_EPOCH
            .checked_add(Duration::from_secs(1 << 40))
            .unwrap_or(UNIX_EPOCH),
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(1 << 40))
            .unwrap_or(UNIX_EPOCH),
    ];
    let base = vectors();
    for round in 0..4000 {
        // An Authorization value from fragments, sometimes spliced into a real one.
        let mut authz = String::new();
        for _ in 0..rng.below(24) {
            authz.push_str(fragments[rng.below(fragments.len())]);
        }
        if round % 3 == 0 {
            authz = format!(
                "AWS4-HMAC-SHA256 Credential={}/{}/{}/{}/aws4_request, SignedHeaders={}, Signature={}",
                String::from_utf8_lossy(&rng.bytes(&text_alphabet, 8)),
                ["20150830", "99991231", "00000000", "2015"][rng.below(4)],
                String::from_utf8_lossy(&rng.bytes(&text_alphabet, 6)),
                String::from_utf8_lossy(&rng.bytes(&text_alphabet, 6)),
                ["host", "host;x-amz-date", "host;my header;x-amz-date", "host;\u{1234}", "host;date;x-amz-content-sha256"][rng.below(5)],
                String::from_utf8_lossy(&rng.bytes(&text_alphabet, 70)),
            );
        }
        let _ = parse_authorization(&authz);

        // Headers: a real vector's, plus garbage values for interesting names.
        let (_, text) = &base[rng.below(base.len())];
        let mut parsed = parse_req(text);
        for name in [
            "x-amz-date",
            "date",
            "x-amz-content-sha256",
            "host",
            "my-header1",
        ] {
            if rng.below(3) == 0 {
                let value = rng.bytes(&any_byte, 40);
                if let Ok(v) = HeaderValue::from_bytes(&value) {
                    parsed.headers.insert(name, v);
                }
            }
        }
        if rng.below(2) == 0 {
            parsed.path =
                String::from_utf8_lossy(&rng.bytes(b"/.%a\xe1\x88\xb4 ?", 20)).into_owned();
        }
        if rng.below(2) == 0 {
            parsed.query =
                Some(String::from_utf8_lossy(&rng.bytes(b"=&%2Bab+\xe1 ", 20)).into_owned());
        }
        parsed.body = rng.bytes(&any_byte, 16);
        let auth = match parse_authorization(&authz) {
            Ok(auth) => auth,
            Err(_) => auth_of(&parsed),
        };
        let secret = String::from_utf8_lossy(&rng.bytes(&any_byte, 10)).into_owned();
        for now in times {
            let _ = verify(&parsed.request(), &auth, &secret, now);
            let _ = verify(&parsed.request(), &auth, SECRET, now);
        }
        // Hand-built authorizations the parser would refuse must not panic verify either.
        let odd = SignedAuthorization {
            access_key_id: String::new(),
            date: String::from_utf8_lossy(&rng.bytes(&any_byte, 10)).into_owned(),
            region: "\u{1234}".into(),
            service: String::new(),
            signed_headers: vec!["host".into(), "bad header\n".into(), String::new()],
            signature: String::from_utf8_lossy(&rng.bytes(&any_byte, 70)).into_owned(),
        };
        let _ = verify(&parsed.request(), &odd, SECRET, suite_time());
    }
}

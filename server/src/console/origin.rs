//! The console's rule against cross-site request forgery: a request that
//! changes state must come from a page of this console, as the browser
//! reports it (`Sec-Fetch-Site`, then `Origin`, or `Referer` when there is no
//! `Origin`); pages of other sites cannot forge those headers. It is the
//! second lock: the session cookie is also `SameSite=Strict`.

use axum::http::{header, HeaderMap};

/// Why a state-changing request was refused as coming from another site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossSite(pub String);

impl std::fmt::Display for CrossSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a state-changing request comes from a page of this console:
/// a `Sec-Fetch-Site` header, when the browser sends one, must be
/// `same-origin` (or `none`, a user's own action); and the request's `Origin`
/// (or, lacking one, its `Referer`) must name the host it was sent to (`Host`,
/// or `authority`, the URI's authority under HTTP/2), with `https` when the
/// server itself speaks TLS (`tls`). Behind a TLS-terminating proxy the
/// server speaks HTTP and accepts either scheme, as the proxy decides it.
pub fn check(headers: &HeaderMap, authority: Option<&str>, tls: bool) -> Result<(), CrossSite> {
    let text = |name| headers.get(name).and_then(|h| h.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        if !matches!(site, "same-origin" | "none") {
            return Err(CrossSite(format!(
                "the browser sent it from another site (Sec-Fetch-Site: {site})"
            )));
        }
    }
    let Some(host) = text(header::HOST).or(authority) else {
        return Err(CrossSite("it names no Host".into()));
    };
    let Some(source) = text(header::ORIGIN).or_else(|| text(header::REFERER)) else {
        return Err(CrossSite(
            "it carries neither an Origin nor a Referer header".into(),
        ));
    };
    let (scheme, rest) = source.split_once("://").unwrap_or(("", source));
    let source_host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let scheme_ok = match scheme {
        "https" => true,
        "http" => !tls,
        _ => false,
    };
    if !scheme_ok || !source_host.eq_ignore_ascii_case(host) {
        let this = if tls { "https" } else { "http" };
        return Err(CrossSite(format!(
            "it comes from {:?}, not from {this}://{host}",
            source.split(['?', '#']).next().unwrap_or_default()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;
    use axum::http::{HeaderMap, HeaderValue};

    const HOST: (&str, &str) = ("host", "127.0.0.1:5000");

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn plain(pairs: &[(&'static str, &str)]) -> bool {
        check(&headers(pairs), None, false).is_ok()
    }

    #[test]
    fn state_changes_must_come_from_this_site() {
        assert!(plain(&[HOST, ("origin", "http://127.0.0.1:5000")]));
        assert!(
            plain(&[HOST, ("origin", "https://127.0.0.1:5000")]),
            "behind a TLS proxy"
        );
        assert!(plain(&[
            HOST,
            ("referer", "http://127.0.0.1:5000/create-repository?x=1")
        ]));
        assert!(plain(&[
            ("host", "Registry.Example:5000"),
            ("origin", "http://registry.example:5000")
        ]));
        for origin in [
            "http://evil.example",
            "http://127.0.0.1:5001",
            "http://127.0.0.1:5000.evil.example",
            "http://127.0.0.1:5000@evil.example",
            "http://evil.example/?http://127.0.0.1:5000",
            "ftp://127.0.0.1:5000",
            "null",
            "127.0.0.1:5000",
            "",
        ] {
            assert!(!plain(&[HOST, ("origin", origin)]), "{origin}");
            assert!(!plain(&[HOST, ("referer", origin)]), "Referer {origin}");
        }
        // The Origin decides when there is one; a matching Referer does not rescue it.
        assert!(!plain(&[
            HOST,
            ("origin", "http://evil.example"),
            ("referer", "http://127.0.0.1:5000/")
        ]));
        let refused = check(&headers(&[HOST]), None, false).unwrap_err();
        assert_eq!(
            refused.0,
            "it carries neither an Origin nor a Referer header"
        );
        let h2 = headers(&[("origin", "http://127.0.0.1:5000")]);
        assert!(check(&h2, None, false).is_err(), "no Host");
        assert!(
            check(&h2, Some("127.0.0.1:5000"), false).is_ok(),
            "HTTP/2 authority"
        );
    }

    #[test]
    fn the_browser_s_word_on_the_site_is_heeded() {
        let same = ("origin", "http://127.0.0.1:5000");
        assert!(plain(&[HOST, same, ("sec-fetch-site", "same-origin")]));
        assert!(plain(&[HOST, same, ("sec-fetch-site", "none")]));
        for site in ["cross-site", "same-site", "anything-else"] {
            let refused = check(
                &headers(&[HOST, same, ("sec-fetch-site", site)]),
                None,
                false,
            )
            .unwrap_err();
            assert!(refused.0.contains(site), "{refused}");
        }
        // `none` only passes on to the Origin check.
        assert!(!plain(&[
            HOST,
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "none")
        ]));
    }

    #[test]
    fn a_console_served_over_tls_takes_only_https_pages() {
        let tls = |origin| check(&headers(&[HOST, ("origin", origin)]), None, true);
        assert!(tls("https://127.0.0.1:5000").is_ok());
        assert_eq!(
            tls("http://127.0.0.1:5000").unwrap_err().0,
            "it comes from \"http://127.0.0.1:5000\", not from https://127.0.0.1:5000"
        );
    }
}

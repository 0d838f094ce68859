//! A signed-in console session for HTTP tests: server functions called the
//! way the hydrated console calls them (form-encoded, JSON answers), with the
//! session cookie and the console's own Origin.

use super::TestServer;
use reqwest::header::{ACCEPT, COOKIE, ORIGIN, REFERER, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

/// A signed-in console session.
pub struct Console {
    client: reqwest::Client,
    url: String,
    cookie: String,
}

/// A server function's answer: its status and body (JSON, or the text when not).
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// The JSON body.
    pub body: Value,
}

impl Answer {
    /// The body of a success, or of a refusal as `Err`.
    pub fn ok(self) -> Result<Value, Value> {
        if self.status.is_success() {
            Ok(self.body)
        } else {
            Err(self.body)
        }
    }
}

/// The `berth_session=…` pair of a response's Set-Cookie headers.
pub fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("berth_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

impl Console {
    /// Signs in through the sign-in form's post, as a browser without
    /// JavaScript does, and keeps the session cookie.
    pub async fn sign_in(server: &TestServer, user: &str, password: &str) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest client");
        let response = client
            .post(format!("{}/api/sign_in", server.url))
            .header(ACCEPT, "text/html")
            .header(ORIGIN, &server.url)
            .header(REFERER, format!("{}/login", server.url))
            .form(&[("username", user), ("password", password), ("next", "/")])
            .send()
            .await
            .expect("POST /api/sign_in");
        assert_eq!(response.status(), StatusCode::FOUND, "{user} signs in");
        let cookie = session_cookie(&response);
        super::record_secret(password);
        super::record_secret(cookie.trim_start_matches("berth_session="));
        Self {
            client,
            url: server.url.clone(),
            cookie,
        }
    }

    /// The `berth_session=…` cookie this session sends.
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// Calls server function `endpoint` with `form`.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Answer {
        let response = self
            .client
            .post(format!("{}/api/{endpoint}", self.url))
            .header(ACCEPT, "application/json")
            .header(ORIGIN, &self.url)
            .header(COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /api/{endpoint}: {e}"));
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body }
    }
}

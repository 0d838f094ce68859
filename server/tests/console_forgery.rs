//! Cross-site request forgery against the console, over HTTP: a state change
//! that another site's page forges with the victim's session cookie is
//! refused with 403 and changes nothing, whatever the browser's headers say;
//! the same change from the console's own pages (scripted or a plain form)
//! goes through; and the cookie is no credential on the registry or ECR APIs,
//! whose clients the rule leaves alone.

mod common;

use common::console::Console;
use common::oci::{expect_error, Registry};
use common::{TestServer, ADMIN_PASSWORD};
use reqwest::{header, redirect, Client, Method, Response, StatusCode};

/// The start of the 403's message.
const REFUSAL: &str = "This request did not come from a page of this Berth console";

fn client() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// Repository names, as `/v2/_catalog` lists them to the admin.
async fn catalog(server: &TestServer) -> Vec<String> {
    let (_, body) = Registry::new(server).get_json("/v2/_catalog").await;
    body["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

/// POSTs `form` to server function `endpoint` with `cookie` and `headers`.
async fn post(
    server: &TestServer,
    endpoint: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
    headers: &[(&str, String)],
) -> Response {
    let mut request = client()
        .post(format!("{}/api/{endpoint}", server.url))
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}

/// What browsers send with a request another site's page makes (older ones
/// send no `Sec-Fetch-Site`; a page may hide its origin).
fn forgeries(server: &TestServer) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let port: u16 = server.url.rsplit(':').next().unwrap().parse().unwrap();
    // Cookies ignore ports, so SameSite alone lets this one through.
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    let evil = "http://evil.example".to_owned();
    vec![
        (
            "a form on another site",
            vec![
                ("origin", evil.clone()),
                ("sec-fetch-site", "cross-site".into()),
            ],
        ),
        ("the same, from an older browser", vec![("origin", evil)]),
        (
            "a page on another port of this host",
            vec![
                ("origin", other_port),
                ("sec-fetch-site", "same-site".into()),
            ],
        ),
        (
            "a sandboxed frame",
            vec![
                ("origin", "null".into()),
                ("sec-fetch-site", "cross-site".into()),
            ],
        ),
        (
            "a Referer from elsewhere",
            vec![("referer", "http://evil.example/attack.html".into())],
        ),
        ("a page that hides where it is", vec![]),
        (
            "the browser's word against a matching Origin",
            vec![
                ("origin", server.url.clone()),
                ("sec-fetch-site", "cross-site".into()),
            ],
        ),
    ]
}

#[tokio::test]
async fn forged_state_changes_carrying_the_session_cookie_are_refused_and_change_nothing() {
    let server = TestServer::start();
    let console = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    let made = console
        .call("create_repository", &[("name", "forged/keep")])
        .await;
    assert!(made.status.is_success(), "{}", made.body);

    let new_user = [
        ("name", "mallory"),
        ("password", "mallory-password-1"),
        ("password_confirm", "mallory-password-1"),
    ];
    let changes: [(&str, &[(&str, &str)]); 4] = [
        ("create_repository", &[("name", "forged/new")]),
        (
            "delete_repositories",
            &[("names[0]", "forged/keep"), ("confirm", "delete")],
        ),
        ("create_user", &new_user),
        ("sign_out", &[]),
    ];
    for (how, headers) in forgeries(&server) {
        for (endpoint, form) in changes {
            let response = post(&server, endpoint, form, Some(console.cookie()), &headers).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{how}: {endpoint}"
            );
            assert!(
                response.headers().get(header::SET_COOKIE).is_none(),
                "{how}: {endpoint} touched the cookie"
            );
            assert_eq!(response.headers()["x-content-type-options"], "nosniff");
            let text = response.text().await.unwrap();
            assert!(text.starts_with(REFUSAL), "{how}: {endpoint}: {text}");
        }
    }
    // Signing someone in to the attacker's account (login CSRF) is refused too.
    let (_, cross_site) = &forgeries(&server)[0];
    let login = [
        ("username", "admin"),
        ("password", ADMIN_PASSWORD),
        ("next", "/"),
    ];
    let response = post(&server, "sign_in", &login, None, cross_site).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    // A server function is never reached by a GET (which SameSite=Lax would let through).
    let response = client()
        .get(format!(
            "{}/api/create_repository?name=forged/by-get",
            server.url
        ))
        .header(header::COOKIE, console.cookie())
        .send()
        .await
        .unwrap();
    assert!(!response.status().is_success(), "{}", response.status());

    assert_eq!(catalog(&server).await, ["forged/keep"]);
    let users = console.call("list_users", &[]).await.ok().expect("users");
    assert!(!users.to_string().contains("mallory"), "{users}");
    assert!(
        console.call("current_user", &[]).await.body["name"] == "admin",
        "the forged sign-out ended the session"
    );
    server.logs_once("the refused cross-site request", |logs| {
        logs.contains("refused a console request from another site")
            && logs.contains("Sec-Fetch-Site: cross-site")
    });

    // From the console's own pages: the hydrated page's fetch, then a plain
    // form post without JavaScript (answered with a redirect).
    let same_origin = [
        ("origin", server.url.clone()),
        ("sec-fetch-site", "same-origin".into()),
    ];
    let response = post(
        &server,
        "create_repository",
        &[("name", "forged/new")],
        Some(console.cookie()),
        &same_origin,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut form_post = same_origin.to_vec();
    form_post.push(("accept", "text/html".into()));
    form_post.push(("referer", format!("{}/delete-repositories", server.url)));
    let response = post(
        &server,
        "delete_repositories",
        &[("names[0]", "forged/keep"), ("confirm", "delete")],
        Some(console.cookie()),
        &form_post,
    )
    .await;
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(catalog(&server).await, ["forged/new"]);
}

#[tokio::test]
async fn the_console_cookie_is_no_credential_on_the_registry_or_ecr_apis() {
    let server = TestServer::start();
    let console = Console::sign_in(&server, "admin", ADMIN_PASSWORD).await;
    let reg = Registry::new(&server);
    let with_cookie = |method: Method, path: &str| {
        reg.anonymous(method, path)
            .header(header::COOKIE, console.cookie())
            .header(header::ORIGIN, &server.url)
    };
    let response = reg
        .send(with_cookie(Method::POST, "/v2/cookie/v2/blobs/uploads/"))
        .await;
    expect_error(
        response,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "upload by cookie",
    )
    .await;
    let response = reg.send(with_cookie(Method::GET, "/v2/_catalog")).await;
    expect_error(
        response,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
        "catalog by cookie",
    )
    .await;
    let response = reg
        .send(
            with_cookie(Method::POST, "/")
                .header(
                    "x-amz-target",
                    "AmazonEC2ContainerRegistry_V20150921.CreateRepository",
                )
                .header(header::CONTENT_TYPE, "application/x-amz-json-1.1")
                .body(r#"{"repositoryName":"cookie/ecr"}"#),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");

    // Registry clients that send an Origin of their own (a web UI elsewhere,
    // with credentials) are not the console's business.
    let response = reg
        .send(
            reg.post("/v2/cookie/app/blobs/uploads/")
                .header(header::ORIGIN, "http://elsewhere.example")
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let names = catalog(&server).await;
    assert!(
        !names.iter().any(|n| n == "cookie/v2" || n == "cookie/ecr"),
        "{names:?}"
    );
}

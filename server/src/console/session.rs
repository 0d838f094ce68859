//! Console sessions: the cookie's settings (the records are kept by
//! [`crate::service::SessionRecords`]), and the guard every console request passes: same-origin checks
//! for state-changing requests, idle and absolute timeouts, and the redirect
//! of signed-out visitors to the sign-in page.

use crate::service::{SessionRecords, Sessions};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// The session cookie's name.
pub const COOKIE: &str = "berth_session";
/// The session key that holds [`SignedIn`].
const USER_KEY: &str = "user";
/// How often a busy session's idle deadline is pushed back (one write at most).
const REFRESH_EVERY_MS: i64 = 60_000;

/// Who signed in to a session, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// User row id (a user deleted and re-created is not the same user).
    pub user_id: i64,
    /// User name.
    pub name: String,
    /// Sign-in time (ms): the absolute timeout counts from here.
    pub signed_in_at: i64,
    /// The last time the idle deadline was pushed back (ms).
    pub refreshed_at: i64,
}

/// The request's caller, as the guard found it; handlers read it from the
/// request's extensions.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The signed-in user, if any.
    pub user: Option<SignedIn>,
    /// The session, to sign in or out.
    pub session: Session,
}

/// How console sessions behave.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// A session without requests for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, however busy.
    pub lifetime: Duration,
    /// Whether the cookie is `Secure` (the server speaks HTTPS).
    pub secure: bool,
}

/// The session layer: an `HttpOnly`, `SameSite=Strict` cookie (`Secure` under
/// TLS) naming a record in the database that lapses after the idle timeout.
pub fn layer(
    sessions: Sessions,
    settings: &SessionSettings,
) -> SessionManagerLayer<SessionRecords> {
    let idle = time::Duration::try_from(settings.idle_timeout).unwrap_or(time::Duration::HOUR);
    SessionManagerLayer::new(SessionRecords::new(sessions))
        .with_name(COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(settings.secure)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle))
}

/// What the guard needs.
#[derive(Clone)]
pub struct Guard {
    /// Sessions and their users, to end sessions of users deleted since.
    pub sessions: Sessions,
    /// Timeouts.
    pub settings: Arc<SessionSettings>,
}

/// Paths anyone may fetch: the sign-in page, its server function and the
/// static assets.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/api/sign_in"
        || path.starts_with("/pkg/")
        || matches!(path, "/favicon.svg" | "/logo.svg" | "/favicon.ico")
}

/// Runs before every console request: refuses cross-site state changes,
/// resolves the signed-in user (ending sessions past their lifetime or whose
/// user is gone), and sends signed-out visitors of pages to `/login`.
pub async fn guard(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let safe = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let authority = request.uri().authority().map(|a| a.as_str());
        if let Err(reason) =
            super::origin::check(request.headers(), authority, guard.settings.secure)
        {
            tracing::warn!(%method, %path, %reason, "refused a console request from another site");
            let mut response = (
                StatusCode::FORBIDDEN,
                format!(
                    "This request did not come from a page of this Berth console: {reason}. \
                     It was refused so that another site cannot act in your name; \
                     open the console at its own address and try again."
                ),
            )
                .into_response();
            harden(&mut response);
            return response;
        }
    }
    if path.starts_with("/pkg/") {
        return next.run(request).await;
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        tracing::error!("console request without a session layer");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let user = match signed_in_user(&guard, &session).await {
        Ok(user) => user,
        Err(error) => {
            tracing::error!(%error, "could not read the console session");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    if user.is_none() && safe && !path.starts_with("/api/") && !is_public(&path) {
        let target = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    if let Some(user) = &user {
        crate::telemetry::access::note_user(&user.name);
    }
    request.extensions_mut().insert(Caller { user, session });
    let mut response = next.run(request).await;
    // Pages hold what only the signed-in user may see (a new access key's
    // secret, for one): no cache keeps them.
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(header::HeaderValue::from_static("no-store"));
    harden(&mut response);
    response
}

/// No other site may frame the console (clickjacking), browsers take each
/// answer as the type it says it is, and forms post only to this site.
fn harden(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'",
        ),
    );
}

async fn signed_in_user(guard: &Guard, session: &Session) -> Result<Option<SignedIn>, String> {
    let Some(mut user) = session
        .get::<SignedIn>(USER_KEY)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let now = crate::clock::now_millis();
    let lifetime = guard.settings.lifetime.as_millis() as i64;
    let still_there = guard
        .sessions
        .user_exists(user.user_id, &user.name)
        .await
        .map_err(|e| e.to_string())?;
    if now - user.signed_in_at >= lifetime || !still_there {
        tracing::info!(user = %user.name, "console session ended (lifetime reached or user removed)");
        session.flush().await.map_err(|e| e.to_string())?;
        return Ok(None);
    }
    if now - user.refreshed_at >= REFRESH_EVERY_MS {
        // Saving pushes the idle deadline back by the idle timeout.
        user.refreshed_at = now;
        session
            .insert(USER_KEY, &user)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(Some(user))
}

/// Starts a signed-in session for `user` under a new id, so an id planted
/// before sign-in (session fixation) is worthless.
pub async fn start(session: &Session, user_id: i64, name: &str) -> Result<(), String> {
    session.cycle_id().await.map_err(|e| e.to_string())?;
    let now = crate::clock::now_millis();
    session
        .insert(
            USER_KEY,
            SignedIn {
                user_id,
                name: name.to_owned(),
                signed_in_at: now,
                refreshed_at: now,
            },
        )
        .await
        .map_err(|e| e.to_string())
}

/// Ends the session: the record is deleted and the cookie removed.
pub async fn end(session: &Session) -> Result<(), String> {
    session.flush().await.map_err(|e| e.to_string())
}

//! `/healthz`, `/readyz` and `/metrics`.
//!
//! `/healthz` says the process answers (200, always); `/readyz` says whether
//! it can serve: the database answers a query and the blob store a lookup
//! (200), or 503 with the reason. Both are open to anyone on the main port
//! and on `metrics_listen`: they reveal nothing but that.
//!
//! `/metrics` is served unauthenticated only on `metrics_listen`, an address
//! the operator chooses to expose to their Prometheus alone, as Harbor and
//! CNCF Distribution do. On the main port, which registry clients and the
//! internet may reach, per-repository figures and request counts are not for
//! everyone: there it needs the HTTP Basic credentials (password, access key
//! or authorization token) of an administrator, a user allowed
//! [`ADMIN_ACTION`] (Prometheus's `basic_auth`); and once `metrics_listen`
//! is set, the main port does not serve it at all.

use super::metrics::metrics;
use crate::auth::authorize::{Resource, ADMIN_ACTION};
use crate::auth::AuthError;
use crate::service::Registry;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

/// Where `/metrics` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAccess {
    /// On the main port, to administrators (no `metrics_listen`).
    MainPortForAdministrators,
    /// Only on `metrics_listen`, to anyone who reaches it.
    OwnListener,
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".into())
}

/// `GET /readyz`: the database and the blob store answer, or 503 and why not.
pub async fn readyz(State(registry): State<Arc<Registry>>) -> Response {
    match registry.readiness().await {
        Ok(()) => text(StatusCode::OK, "ready\n".into()),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {reason}\n"),
            )
        }
    }
}

/// `GET /metrics` for anyone (on `metrics_listen`).
pub async fn open_metrics(State(registry): State<Arc<Registry>>) -> Response {
    let m = metrics();
    m.refresh_storage(&registry).await;
    (
        [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        m.encode(),
    )
        .into_response()
}

/// `GET /metrics` on the main port when `metrics_listen` is set: not here.
pub async fn metrics_elsewhere() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "/metrics is served on this installation's metrics_listen address, not on this port\n"
            .into(),
    )
}

/// `GET /metrics` on the main port: for administrators only.
pub async fn admin_metrics(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let source = crate::http::source_address(&parts);
    let identity = match state.auth.authenticate(authorization, source).await {
        Ok(identity) => identity,
        Err(AuthError::Database(error)) => {
            tracing::error!(%error, "database failed during authentication");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into());
        }
        Err(error @ AuthError::Throttled(_)) => {
            return text(StatusCode::TOO_MANY_REQUESTS, format!("{error}\n"))
        }
        Err(error) => {
            let mut response = text(
                StatusCode::UNAUTHORIZED,
                format!(
                    "{error}: /metrics on this port needs an administrator's credentials \
                     (HTTP Basic), or set metrics_listen to serve it on an address of its own\n"
                ),
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Berth metrics\""),
            );
            return response;
        }
    };
    super::access::note_user(&identity.name);
    match state
        .authz
        .allows(&identity, ADMIN_ACTION, Resource::Registry)
        .await
    {
        Ok(true) => open_metrics(State(state.registry.clone())).await,
        Ok(false) => text(
            StatusCode::FORBIDDEN,
            format!(
                "user {} is not an administrator (allowed {ADMIN_ACTION}); only administrators \
                 may read /metrics on this port\n",
                identity.name
            ),
        ),
        Err(error) => {
            tracing::error!(%error, "could not authorize a /metrics request");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
        }
    }
}

/// The router of `metrics_listen`: `/metrics`, `/healthz` and `/readyz`,
/// none authenticated, none counted or logged (a scrape every few seconds
/// would drown the access log).
pub fn own_listener_router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/metrics", get(open_metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(registry)
}

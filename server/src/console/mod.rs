//! The server side of the console: answers the `#[server]` functions of the
//! `berth-app` crate through its backend traits, bound per request to the
//! caller's session, using the same service layer and authorization as the
//! registry and ECR APIs.

mod lifecycle;
mod origin;
mod policies;
mod repositories;
pub mod session;
pub mod settings;
mod users;

use crate::auth::authorize::{Authorizer, Resource};
use crate::auth::{AuthError, Authenticator, Identity};
use crate::service::{Registry, ServiceError};
use crate::RegistryInfo;
use berth_app::console::api::session::{RegistryFacts, SessionBackend, SignedInUser};
use berth_app::console::{ConsoleBackend, ConsoleError};
use leptos::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;

/// What every console request can reach.
pub struct Console {
    registry: Arc<Registry>,
    auth: Arc<Authenticator>,
    authz: Arc<Authorizer>,
    info: Arc<RegistryInfo>,
    lifecycle_delay: std::time::Duration,
    operations: settings::Operations,
}

impl Console {
    /// A console over the registry, checking credentials with `auth` and
    /// permissions with `authz`; saved lifecycle policies apply
    /// `lifecycle_delay` after the save, and the settings page shows
    /// `operations`.
    pub fn new(
        registry: Arc<Registry>,
        auth: Arc<Authenticator>,
        authz: Arc<Authorizer>,
        info: Arc<RegistryInfo>,
        lifecycle_delay: std::time::Duration,
        operations: settings::Operations,
    ) -> Self {
        Self {
            registry,
            auth,
            authz,
            info,
            lifecycle_delay,
            operations,
        }
    }
}

/// The console as one request sees it: the shared parts plus the caller.
pub struct ConsoleRequest {
    console: Arc<Console>,
    caller: Option<session::Caller>,
    client: Option<IpAddr>,
}

/// Provides the request's backend as Leptos context. Called by leptos_axum
/// inside each request's reactive owner, after it has provided the request's
/// parts, where the session guard left the caller.
pub fn provide_backend(console: &Arc<Console>) {
    let parts = use_context::<axum::http::request::Parts>();
    let caller = parts
        .as_ref()
        .and_then(|p| p.extensions.get::<session::Caller>().cloned());
    let client = parts
        .as_ref()
        .and_then(|p| {
            p.extensions
                .get::<axum::extract::ConnectInfo<crate::ClientAddr>>()
        })
        .map(|c| c.0 .0.ip());
    let backend: Arc<dyn ConsoleBackend> = Arc::new(ConsoleRequest {
        console: console.clone(),
        caller,
        client,
    });
    provide_context(backend);
}

/// The HTTP status a console error is answered with. Server functions answer
/// every error with 500; this puts the right 4xx on client mistakes, so logs,
/// browsers and tests tell them apart from server failures.
pub fn error_status(error: &ConsoleError) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    match error {
        ConsoleError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ConsoleError::SignedOut => StatusCode::UNAUTHORIZED,
        ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
        ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
        ConsoleError::Conflict(_) => StatusCode::CONFLICT,
        ConsoleError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        ConsoleError::Transport(_) => StatusCode::BAD_REQUEST,
        ConsoleError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Middleware: gives server-function error responses their [`error_status`].
pub async fn set_error_status(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let response = next.run(request).await;
    if !response.headers().contains_key("serverfnerror")
        || response.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        parts.status = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        return axum::response::Response::from_parts(parts, axum::body::Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<ConsoleError>(&bytes) {
        parts.status = error_status(&error);
    }
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Logs an internal failure and hides its details from the browser.
fn internal(error: impl std::fmt::Display) -> ConsoleError {
    tracing::error!(%error, "console request failed");
    ConsoleError::Internal
}

/// A service failure in the console's terms; `field` is the form field that
/// a refused setting belongs beside.
fn from_service(error: ServiceError, field: &str) -> ConsoleError {
    match error {
        ServiceError::RepositoryUnknown { .. } | ServiceError::ManifestUnknown(_) => {
            ConsoleError::NotFound(error.to_string())
        }
        ServiceError::RepositoryExists(_) => ConsoleError::invalid("name", error.to_string()),
        ServiceError::InvalidSetting(message) => ConsoleError::invalid(field, message),
        ServiceError::RepositoryNotEmpty(_) | ServiceError::ManifestReferenced(_) => {
            ConsoleError::Conflict(error.to_string())
        }
        other => internal(other),
    }
}

impl ConsoleRequest {
    /// The signed-in identity, or [`ConsoleError::SignedOut`].
    fn identity(&self) -> Result<Identity, ConsoleError> {
        let user = self
            .caller
            .as_ref()
            .and_then(|c| c.user.as_ref())
            .ok_or(ConsoleError::SignedOut)?;
        Ok(Identity {
            user_id: user.user_id,
            name: user.name.clone(),
        })
    }

    /// The signed-in identity if it may perform `action` on `resource`.
    async fn allowed(
        &self,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<Identity, ConsoleError> {
        let identity = self.identity()?;
        match self
            .console
            .authz
            .authorize(&identity, action, resource)
            .await
            .map_err(internal)?
        {
            Ok(()) => Ok(identity),
            Err(denied) => Err(ConsoleError::Forbidden(denied.0)),
        }
    }

    /// Whether `identity` may perform `action` on `resource` (no error when not).
    async fn may(
        &self,
        identity: &Identity,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<bool, ConsoleError> {
        Ok(self
            .console
            .authz
            .authorize(identity, action, resource)
            .await
            .map_err(internal)?
            .is_ok())
    }
}

/// Console administrators manage users, access keys and registry settings.
/// Managing users can grant anything, so it takes the most powerful registry
/// permission there is: changing the registry policy.
const ADMIN_ACTION: &str = "ecr:PutRegistryPolicy";

#[async_trait::async_trait]
impl SessionBackend for ConsoleRequest {
    async fn current_user(&self) -> Result<Option<SignedInUser>, ConsoleError> {
        let Ok(identity) = self.identity() else {
            return Ok(None);
        };
        let is_admin = self
            .may(&identity, ADMIN_ACTION, Resource::Registry)
            .await?;
        Ok(Some(SignedInUser {
            name: identity.name,
            is_admin,
        }))
    }

    async fn sign_in(
        &self,
        username: &str,
        password: &str,
        next: &str,
    ) -> Result<(), ConsoleError> {
        let caller = self.caller.as_ref().ok_or(ConsoleError::Internal)?;
        let auth = &self.console.auth;
        let result = match auth.throttled(self.client, username) {
            Ok(()) => auth.verify(username, password).await,
            Err(error) => Err(error),
        };
        auth.count(self.client, username, &result);
        let identity = match result {
            Ok(identity) => identity,
            Err(AuthError::Throttled(seconds)) => {
                return Err(ConsoleError::Throttled(format!(
                    "Too many failed sign-ins for this user from your address; try again in {seconds} seconds."
                )))
            }
            Err(AuthError::Invalid) => {
                tracing::warn!(user = username, "console sign-in failed: wrong user name or password");
                return Err(ConsoleError::invalid(
                    "password",
                    "The user name or password is not correct.",
                ));
            }
            Err(other) => return Err(internal(other)),
        };
        session::start(&caller.session, identity.user_id, &identity.name)
            .await
            .map_err(internal)?;
        tracing::info!(user = %identity.name, "signed in to the console");
        leptos_axum::redirect(next);
        Ok(())
    }

    async fn sign_out(&self) -> Result<(), ConsoleError> {
        if let Some(caller) = &self.caller {
            session::end(&caller.session).await.map_err(internal)?;
        }
        leptos_axum::redirect("/login");
        Ok(())
    }

    async fn registry_facts(&self) -> Result<RegistryFacts, ConsoleError> {
        self.identity()?;
        let info = &self.console.info;
        Ok(RegistryFacts {
            registry_id: info.registry_id.clone(),
            region: info.region.clone(),
            host: info.host.clone(),
            endpoint: info.public_url.clone(),
        })
    }
}

/// Formats milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(millis: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    let nanos = i128::from(millis) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_else(|| format!("{millis} ms after 1970-01-01 UTC"))
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn times_format_in_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(1_795_305_600_000), "2026-11-22 00:00:00 UTC");
        assert_eq!(
            format_utc(951_782_400_000 + 3_723_000),
            "2000-02-29 01:02:03 UTC"
        );
    }
}

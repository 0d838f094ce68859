//! The server side of the console: answers the `#[server]` functions of the
//! `berth-app` crate through its backend traits, bound per request to the
//! caller's session, using the same service layer and authorization as the
//! registry and ECR APIs.

mod keys;
mod lifecycle;
mod origin;
mod policies;
mod repositories;
mod scans;
pub mod session;
pub mod settings;
pub mod signing;
mod users;
mod vulndb;

use crate::auth::authorize::{Authorizer, AuthzError, Resource};
use crate::auth::{AuthError, Authenticator, Identity};
use crate::service::{Registry, ServiceError};
use crate::RegistryInfo;
use berth_app::console::api::session::{RegistryFacts, SessionBackend, SignedInUser};
use berth_app::console::api::ErrorResponse;
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
    let client = parts.as_ref().and_then(crate::http::source_address);
    // A form posted without JavaScript is answered with a redirect back to
    // its page (the error in the URL); its status must stay a redirect.
    let plain_form = parts.as_ref().is_some_and(|p| {
        let accepts_html = p
            .headers
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        accepts_html && p.headers.contains_key(axum::http::header::REFERER)
    });
    if let (false, Some(options)) = (plain_form, use_context::<leptos_axum::ResponseOptions>()) {
        provide_context(ErrorResponse(Arc::new(move |error: &ConsoleError| {
            if let Ok(status) = axum::http::StatusCode::from_u16(error.http_status()) {
                options.set_status(status);
            }
        })));
    }
    let backend: Arc<dyn ConsoleBackend> = Arc::new(ConsoleRequest {
        console: console.clone(),
        caller,
        client,
    });
    provide_context(backend);
}

/// A refusal in the console's terms (the authorizer has logged it).
fn from_authz(error: AuthzError) -> ConsoleError {
    match error {
        AuthzError::Denied(denied) => ConsoleError::Forbidden(denied.0),
        AuthzError::Database(_) => ConsoleError::Internal,
    }
}

/// Logs an internal failure and hides its details from the browser.
fn internal(error: impl std::fmt::Display) -> ConsoleError {
    tracing::error!(%error, "console request failed");
    ConsoleError::Internal
}

/// A service failure in the console's terms; `field` is the form field that
/// a refused setting belongs beside.
fn from_service(error: ServiceError, field: &str) -> ConsoleError {
    crate::telemetry::metrics::record_failure(&error);
    if error.is_storage_full() {
        tracing::error!(%error, "the disk is full");
        return ConsoleError::StorageFull;
    }
    match error {
        ServiceError::RepositoryUnknown { .. } | ServiceError::ManifestUnknown(_) => {
            ConsoleError::NotFound(error.to_string())
        }
        ServiceError::RepositoryExists(_) => ConsoleError::invalid("name", error.to_string()),
        ServiceError::InvalidSetting(message) => ConsoleError::invalid(field, message),
        ServiceError::RepositoryNotEmpty(_)
        | ServiceError::ManifestReferenced(_)
        | ServiceError::ImageAlreadyExists(_)
        | ServiceError::TagImmutable { .. }
        | ServiceError::BlobInUse(_) => ConsoleError::Conflict(error.to_string()),
        ServiceError::Limit(limit) => ConsoleError::Limit(limit.to_string()),
        ServiceError::Kms(_) => ConsoleError::Conflict(error.to_string()),
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
        self.console
            .authz
            .check(&identity, action, resource)
            .await
            .map_err(from_authz)?;
        Ok(identity)
    }

    /// Whether `identity` may perform `action` on `resource` (no error when not).
    async fn may(
        &self,
        identity: &Identity,
        action: &str,
        resource: Resource<'_>,
    ) -> Result<bool, ConsoleError> {
        self.console
            .authz
            .allows(identity, action, resource)
            .await
            .map_err(from_authz)
    }
}

/// Console administrators manage users, access keys and registry settings
/// (see [`crate::auth::authorize::ADMIN_ACTION`]).
const ADMIN_ACTION: &str = crate::auth::authorize::ADMIN_ACTION;

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

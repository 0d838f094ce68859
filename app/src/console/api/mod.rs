//! What the console asks of the server: shared DTOs, the typed error, the
//! server functions, and (on the server) the traits that answer them. Each
//! area (session, repositories, …) has its own module and backend trait;
//! [`ConsoleBackend`] is all of them together.

pub mod keys;
pub mod lifecycle;
pub mod policies;
pub mod repositories;
pub mod scans;
pub mod session;
pub mod settings;
pub mod signing;
pub mod users;
pub mod vulndb;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a console request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ConsoleError {
    /// The server-function transport failed (network, encoding).
    #[error("request failed: {0}")]
    Transport(String),
    /// The server failed; details are in its log.
    #[error("the server could not complete the request; see its log")]
    Internal,
    /// No one is signed in, or the session has ended.
    #[error("your session has ended; sign in again")]
    SignedOut,
    /// The signed-in user may not do this; the message names the action.
    #[error("{0}")]
    Forbidden(String),
    /// What the request names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A form field's value is refused; `field` is the form field's name.
    #[error("{message}")]
    Invalid {
        /// The form field the message belongs beside.
        field: String,
        /// What is wrong, in words a user can act on.
        message: String,
    },
    /// The request conflicts with what exists (a name taken, images left).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; try again later.
    #[error("{0}")]
    Throttled(String),
    /// The request would go over one of the registry's limits, which it names.
    #[error("{0}")]
    Limit(String),
    /// The disk holding the registry's data is full; nothing was changed.
    #[error("the registry's storage is full, so nothing was changed; free some space or add storage, then try again")]
    StorageFull,
}

impl ConsoleError {
    /// A refusal of `field`'s value.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The HTTP status the error is answered with: client mistakes get their
    /// 4xx, so logs, browsers and tests tell them apart from server failures.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Transport(_) => 400,
            Self::SignedOut => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Invalid { .. } | Self::Limit(_) => 422,
            Self::Throttled(_) => 429,
            Self::Internal => 500,
            Self::StorageFull => 507,
        }
    }

    /// The message if this error concerns form field `field`.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }

    /// Writes the error into its response; on the server, the response's
    /// status is set from the error here, where the error becomes an answer
    /// (server functions would answer every error with 500).
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        if let Some(hook) = leptos::prelude::use_context::<ErrorResponse>() {
            (hook.0)(self);
        }
        // Every variant is plain data, which JSON always encodes.
        <JsonEncoding as leptos::server_fn::Encodes<Self>>::encode(self)
            .unwrap_or_else(|_| leptos::server_fn::Bytes::from_static(b"\"Internal\""))
    }
}

/// On the server: told of every error a server function answers with, as
/// the error is written into the response, so the server can give the
/// response [`ConsoleError::http_status`]. Provided as Leptos context.
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct ErrorResponse(pub std::sync::Arc<dyn Fn(&ConsoleError) + Send + Sync>);

/// The server side of the console: every area's backend, provided as Leptos
/// context (an `Arc<dyn ConsoleBackend>` bound to the request's session).
#[cfg(feature = "ssr")]
pub trait ConsoleBackend:
    session::SessionBackend
    + repositories::RepositoryBackend
    + lifecycle::LifecycleBackend
    + users::UserBackend
    + policies::PolicyBackend
    + settings::SettingsBackend
    + scans::ScanBackend
    + signing::SigningBackend
    + keys::KeyBackend
    + vulndb::VulndbBackend
    + Send
    + Sync
    + 'static
{
}

#[cfg(feature = "ssr")]
impl<T> ConsoleBackend for T where
    T: session::SessionBackend
        + repositories::RepositoryBackend
        + lifecycle::LifecycleBackend
        + users::UserBackend
        + policies::PolicyBackend
        + settings::SettingsBackend
        + scans::ScanBackend
        + signing::SigningBackend
        + keys::KeyBackend
        + vulndb::VulndbBackend
        + Send
        + Sync
        + 'static
{
}

/// The request's backend, as the server provided it.
#[cfg(feature = "ssr")]
pub(crate) fn backend() -> Result<std::sync::Arc<dyn ConsoleBackend>, ConsoleError> {
    leptos::prelude::use_context::<std::sync::Arc<dyn ConsoleBackend>>()
        .ok_or(ConsoleError::Internal)
}

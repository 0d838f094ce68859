//! What the console asks of the server: shared DTOs, the typed error, the
//! server functions, and (on the server) the traits that answer them. Each
//! area (session, repositories, …) has its own module and backend trait;
//! [`ConsoleBackend`] is all of them together.

pub mod lifecycle;
pub mod policies;
pub mod repositories;
pub mod session;
pub mod settings;
pub mod users;

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
}

impl ConsoleError {
    /// A refusal of `field`'s value.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
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
}

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

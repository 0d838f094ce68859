//! What the console asks of the server: shared DTOs, the typed error, the
//! server functions, and (on the server) the trait that answers them.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// One row of the repositories table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositorySummary {
    /// Repository name, with namespaces (`team-a/web-app`).
    pub name: String,
    /// What `docker push` uses: `<host>/<name>`.
    pub uri: String,
    /// Creation time, RFC 3339 in UTC.
    pub created_at: String,
    /// `MUTABLE`, `IMMUTABLE`, or an exclusion variant.
    pub tag_mutability: String,
    /// Number of images (manifests) stored.
    pub image_count: u64,
}

/// Why a console request failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ConsoleError {
    /// The server-function transport failed (network, encoding).
    #[error("request failed: {0}")]
    Transport(String),
    /// The server failed; details are in its log.
    #[error("the server could not complete the request; see its log")]
    Internal,
}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}

/// The server side of the console, provided as Leptos context by the server.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait ConsoleBackend: Send + Sync + 'static {
    /// All repositories, ordered by name.
    async fn list_repositories(&self) -> Result<Vec<RepositorySummary>, ConsoleError>;
}

#[cfg(feature = "ssr")]
fn backend() -> Result<std::sync::Arc<dyn ConsoleBackend>, ConsoleError> {
    use_context::<std::sync::Arc<dyn ConsoleBackend>>().ok_or(ConsoleError::Internal)
}

/// Lists the registry's repositories.
#[server(endpoint = "list_repositories")]
pub async fn list_repositories() -> Result<Vec<RepositorySummary>, ConsoleError> {
    backend()?.list_repositories().await
}

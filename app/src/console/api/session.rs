//! Signing in and out, who is signed in, and the facts about this
//! installation that pages show (host, region, registry id).

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in user, as pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    /// User name.
    pub name: String,
    /// Whether the user may manage users, access keys and registry settings.
    pub is_admin: bool,
}

/// How this installation names itself: what push commands and URIs use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryFacts {
    /// 12-digit registry (account) id.
    pub registry_id: String,
    /// Region name.
    pub region: String,
    /// `host[:port]` that `docker push` uses.
    pub host: String,
    /// The URL of this server, for `--endpoint-url`.
    pub endpoint: String,
}

/// The server side of this module's functions.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait SessionBackend {
    /// The signed-in user, if any.
    async fn current_user(&self) -> Result<Option<SignedInUser>, ConsoleError>;
    /// Checks the password, starts a new session (a new id, so a planted one
    /// is useless) and redirects to `next`.
    async fn sign_in(&self, username: &str, password: &str, next: &str)
        -> Result<(), ConsoleError>;
    /// Ends the session and redirects to the sign-in page.
    async fn sign_out(&self) -> Result<(), ConsoleError>;
    /// This installation's names (signed-in users only).
    async fn registry_facts(&self) -> Result<RegistryFacts, ConsoleError>;
}

/// Where to go after signing in: `next` when it is a path on this site,
/// otherwise the repositories page (no open redirects).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The signed-in user, or `None`.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SignedInUser>, ConsoleError> {
    super::backend()?.current_user().await
}

/// Signs in with a user name and password, then goes to `next`.
#[server(endpoint = "sign_in")]
pub async fn sign_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), ConsoleError> {
    if username.trim().is_empty() {
        return Err(ConsoleError::invalid("username", "Enter your user name."));
    }
    if password.is_empty() {
        return Err(ConsoleError::invalid("password", "Enter your password."));
    }
    let next = safe_next(next.as_deref());
    super::backend()?
        .sign_in(username.trim(), &password, &next)
        .await
}

/// Signs out.
#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ConsoleError> {
    super::backend()?.sign_out().await
}

/// This installation's names.
#[server(endpoint = "registry_facts")]
pub async fn load_registry_facts() -> Result<RegistryFacts, ConsoleError> {
    super::backend()?.registry_facts().await
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/repositories/team-a/web")),
            "/repositories/team-a/web"
        );
        assert_eq!(safe_next(Some("/?q=web&page=2")), "/?q=web&page=2");
        for hostile in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "/\r\nSet-Cookie: x=y",
            "",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

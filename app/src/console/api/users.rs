//! Users and access keys, for administrators: what `berth user …` and
//! `berth access-key …` do, as server functions. Every function is refused
//! (`Forbidden`) to users who are not administrators, on the server.

use super::ConsoleError;
use crate::accounts::validate_new_password;
use crate::policy::MANAGED_POLICIES;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What anyone but an administrator is told by every page and function here.
pub const ADMINS_ONLY: &str = "You are not allowed to manage users and access keys: only \
    administrators may. Ask an administrator for the change you need.";

/// A policy attached to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedPolicy {
    /// Policy name (a managed policy's, or the inline policy's own).
    pub name: String,
    /// Whether it is an inline policy (its document stored on the user).
    pub inline: bool,
}

/// One row of the users table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// User name.
    pub name: String,
    /// Creation time, `YYYY-MM-DD HH:MM:SS UTC`.
    pub created_at: String,
    /// Attached policies, by name.
    pub policies: Vec<AttachedPolicy>,
    /// Number of access keys.
    pub access_keys: u64,
    /// Whether this is the signed-in administrator (who cannot delete themself).
    pub is_self: bool,
}

/// One of a user's access keys (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeySummary {
    /// `AKIA…`.
    pub id: String,
    /// Creation time, `YYYY-MM-DD HH:MM:SS UTC`.
    pub created_at: String,
    /// When a request last authenticated with it (to the minute), if ever.
    pub last_used_at: Option<String>,
}

/// Everything a user's page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    /// The summary row.
    pub summary: UserSummary,
    /// `arn:aws:iam::<registry id>:user/<name>`, what policies name as principal.
    pub arn: String,
    /// Attached policies with their documents (pretty JSON).
    pub documents: Vec<(AttachedPolicy, String)>,
    /// Access keys, oldest first.
    pub access_keys: Vec<AccessKeySummary>,
}

/// A new access key, shown once: the secret cannot be read again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccessKey {
    /// `AKIA…`.
    pub id: String,
    /// The secret access key.
    pub secret: String,
}

/// The server side of this module's functions. Every method refuses callers
/// who are not administrators.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait UserBackend {
    /// Every user, by name.
    async fn list_users(&self) -> Result<Vec<UserSummary>, ConsoleError>;
    /// One user's policies and access keys.
    async fn user_detail(&self, name: &str) -> Result<UserDetail, ConsoleError>;
    /// Creates a user with a password and, optionally, one managed policy;
    /// then shows the user's page.
    async fn create_user(
        &self,
        name: &str,
        password: &str,
        policy: Option<&str>,
    ) -> Result<(), ConsoleError>;
    /// Deletes a user (never the caller), then shows the list.
    async fn delete_user(&self, name: &str) -> Result<(), ConsoleError>;
    /// Replaces a user's password, then shows the list.
    async fn reset_password(&self, name: &str, password: &str) -> Result<(), ConsoleError>;
    /// Attaches a managed policy.
    async fn attach_policy(&self, name: &str, policy: &str) -> Result<(), ConsoleError>;
    /// Detaches a managed policy or deletes an inline one.
    async fn detach_policy(&self, name: &str, policy: &str) -> Result<(), ConsoleError>;
    /// Makes an access key and keeps its secret, sealed, for the caller's
    /// session to show once ([`UserBackend::take_new_access_key`]); returns its id.
    async fn create_access_key(&self, name: &str) -> Result<String, ConsoleError>;
    /// The access key made last in this session for `name`, once: it is
    /// forgotten as it is returned.
    async fn take_new_access_key(&self, name: &str) -> Result<Option<NewAccessKey>, ConsoleError>;
    /// Deletes one of a user's access keys.
    async fn delete_access_key(&self, name: &str, id: &str) -> Result<(), ConsoleError>;
}

/// The `policy` field of the create-user form: empty for none, else a
/// managed policy's name.
pub fn initial_policy(policy: Option<&str>) -> Result<Option<&str>, ConsoleError> {
    match policy.map(str::trim) {
        None | Some("") => Ok(None),
        Some(name) if MANAGED_POLICIES.contains(&name) => Ok(Some(name)),
        Some(name) => Err(ConsoleError::invalid(
            "policy",
            format!(
                "{name:?} is not a managed policy; choose one of {}.",
                MANAGED_POLICIES.join(", ")
            ),
        )),
    }
}

/// What a managed policy lets its users do, in a sentence.
pub fn managed_policy_summary(name: &str) -> &'static str {
    match name {
        "AmazonEC2ContainerRegistryFullAccess" => {
            "Everything, including managing users and registry settings (an administrator)."
        }
        "AmazonEC2ContainerRegistryPowerUser" => {
            "Push and pull images and read settings; cannot create or delete repositories."
        }
        "AmazonEC2ContainerRegistryReadOnly" => {
            "Pull images and list repositories, images and their settings."
        }
        "AmazonEC2ContainerRegistryPullOnly" => {
            "Pull images only (docker pull); cannot list repositories."
        }
        _ => "An inline policy stored on this user.",
    }
}

/// Checks a password typed twice, with the message beside the field it concerns.
pub fn check_new_password(password: &str, confirm: &str) -> Result<(), ConsoleError> {
    validate_new_password(password, confirm)
        .map_err(|error| ConsoleError::invalid(error.field(), error.message()))
}

/// Lists users.
#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserSummary>, ConsoleError> {
    super::backend()?.list_users().await
}

/// One user's details.
#[server(endpoint = "load_user")]
pub async fn load_user(name: String) -> Result<UserDetail, ConsoleError> {
    super::backend()?.user_detail(&name).await
}

/// Creates a user (the create-user form).
#[server(endpoint = "create_user")]
pub async fn create_user(
    #[server(default)] name: String,
    #[server(default)] password: String,
    #[server(default)] password_confirm: String,
    policy: Option<String>,
) -> Result<(), ConsoleError> {
    let name = name.trim();
    crate::accounts::validate_user_name(name)
        .map_err(|message| ConsoleError::invalid("name", message))?;
    check_new_password(&password, &password_confirm)?;
    let policy = initial_policy(policy.as_deref())?;
    super::backend()?.create_user(name, &password, policy).await
}

/// Deletes a user; `confirm` must repeat the user's name.
#[server(endpoint = "delete_user")]
pub async fn delete_user(
    #[server(default)] name: String,
    #[server(default)] confirm: String,
) -> Result<(), ConsoleError> {
    if confirm.trim() != name {
        return Err(ConsoleError::invalid(
            "confirm",
            format!("To confirm the deletion, type the user name {name} in the field."),
        ));
    }
    super::backend()?.delete_user(&name).await
}

/// Sets a new password for a user.
#[server(endpoint = "reset_password")]
pub async fn reset_password(
    #[server(default)] name: String,
    #[server(default)] password: String,
    #[server(default)] password_confirm: String,
) -> Result<(), ConsoleError> {
    check_new_password(&password, &password_confirm)?;
    super::backend()?.reset_password(&name, &password).await
}

/// Attaches a managed policy to a user.
#[server(endpoint = "attach_user_policy")]
pub async fn attach_user_policy(
    #[server(default)] name: String,
    #[server(default)] policy: String,
) -> Result<(), ConsoleError> {
    match initial_policy(Some(&policy))? {
        Some(policy) => super::backend()?.attach_policy(&name, policy).await,
        None => Err(ConsoleError::invalid(
            "policy",
            "Choose a policy to attach.",
        )),
    }
}

/// Detaches a policy from a user.
#[server(endpoint = "detach_user_policy")]
pub async fn detach_user_policy(
    #[server(default)] name: String,
    #[server(default)] policy: String,
) -> Result<(), ConsoleError> {
    super::backend()?.detach_policy(&name, &policy).await
}

/// Makes an access key for a user; its secret is shown once by [`take_new_access_key`].
#[server(endpoint = "create_access_key")]
pub async fn create_access_key(#[server(default)] name: String) -> Result<String, ConsoleError> {
    super::backend()?.create_access_key(&name).await
}

/// The access key just made for `name` in this session, once.
#[server(endpoint = "take_new_access_key")]
pub async fn take_new_access_key(name: String) -> Result<Option<NewAccessKey>, ConsoleError> {
    super::backend()?.take_new_access_key(&name).await
}

/// Deletes (revokes) one of a user's access keys.
#[server(endpoint = "delete_access_key")]
pub async fn delete_access_key(
    #[server(default)] name: String,
    #[server(default)] id: String,
) -> Result<(), ConsoleError> {
    super::backend()?.delete_access_key(&name, &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_policy_is_none_or_a_managed_one() {
        assert_eq!(initial_policy(None), Ok(None));
        assert_eq!(initial_policy(Some(" ")), Ok(None));
        assert_eq!(
            initial_policy(Some("AmazonEC2ContainerRegistryReadOnly")),
            Ok(Some("AmazonEC2ContainerRegistryReadOnly"))
        );
        let error = initial_policy(Some("AdministratorAccess")).unwrap_err();
        assert_eq!(
            error.for_field("policy").as_deref(),
            Some(
                "\"AdministratorAccess\" is not a managed policy; choose one of \
                 AmazonEC2ContainerRegistryFullAccess, AmazonEC2ContainerRegistryPowerUser, \
                 AmazonEC2ContainerRegistryReadOnly, AmazonEC2ContainerRegistryPullOnly."
            )
        );
    }

    #[test]
    fn every_managed_policy_is_described() {
        for name in MANAGED_POLICIES {
            assert_ne!(
                managed_policy_summary(name),
                managed_policy_summary("my-inline-policy"),
                "{name}"
            );
        }
    }

    #[test]
    fn password_errors_sit_beside_their_field() {
        assert_eq!(
            check_new_password("long enough pw", "long enough pw"),
            Ok(())
        );
        let short = check_new_password("short", "short").unwrap_err();
        assert!(short.for_field("password").is_some(), "{short:?}");
        let mismatch = check_new_password("long enough pw", "long enough pW").unwrap_err();
        assert!(
            mismatch
                .for_field("password_confirm")
                .is_some_and(|m| m.contains("do not match")),
            "{mismatch:?}"
        );
    }
}

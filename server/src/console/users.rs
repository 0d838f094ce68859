//! Users and access keys for the console: administrators only, checked here
//! on every call, through the same [`Accounts`] the CLI uses. A new access
//! key's secret is kept (sealed) in the caller's session until its page shows
//! it once; it is never logged nor stored in plain text.

use super::{internal, ConsoleRequest, ADMIN_ACTION};
use crate::auth::accounts::{AccountError, Accounts};
use crate::auth::authorize::Resource;
use crate::auth::Identity;
use base64::Engine;
use berth_app::console::api::users::{
    AccessKeySummary, AttachedPolicy, NewAccessKey, UserBackend, UserDetail, UserSummary,
    ADMINS_ONLY,
};
use berth_app::console::widgets::query_escape;
use berth_app::console::ConsoleError;
use serde::{Deserialize, Serialize};

/// The session key of the access key made last, until it is shown.
const NEW_KEY: &str = "new_access_key";

/// A new access key waiting in the session to be shown once.
#[derive(Debug, Serialize, Deserialize)]
struct NewKeyFlash {
    /// Whose key it is.
    user: String,
    /// The key's id.
    id: String,
    /// The secret, sealed with the installation's key, base64.
    sealed: String,
}

/// An account failure in the console's terms, beside the field it concerns.
fn from_account(error: AccountError) -> ConsoleError {
    match error {
        AccountError::InvalidName(message) => ConsoleError::invalid("name", message),
        AccountError::NameTaken(name) => {
            ConsoleError::invalid("name", format!("A user named {name} already exists."))
        }
        AccountError::InvalidPassword(message) => ConsoleError::invalid("password", message),
        AccountError::NoSuchUser(name) => {
            ConsoleError::NotFound(format!("There is no user named {name}."))
        }
        AccountError::UnknownPolicy(_)
        | AccountError::ReservedPolicyName(_)
        | AccountError::InvalidPolicy(_) => ConsoleError::invalid("policy", error.to_string()),
        AccountError::NoSuchPolicy { user, policy } => {
            ConsoleError::NotFound(format!("The user {user} has no policy {policy}."))
        }
        AccountError::NoSuchAccessKey { user, id } => {
            ConsoleError::NotFound(format!("The user {user} has no access key {id}."))
        }
        error if error.is_storage_full() => {
            tracing::error!(%error, "the disk is full");
            ConsoleError::StorageFull
        }
        AccountError::Database(error) => internal(error),
    }
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or_else(|_| text.to_owned())
}

impl ConsoleRequest {
    /// The signed-in administrator, or `Forbidden` for anyone else.
    async fn admin(&self) -> Result<Identity, ConsoleError> {
        let identity = self.identity()?;
        if self
            .may(&identity, ADMIN_ACTION, Resource::Registry)
            .await?
        {
            return Ok(identity);
        }
        tracing::warn!(user = %identity.name, "refused user management to a non-administrator");
        Err(ConsoleError::Forbidden(ADMINS_ONLY.to_owned()))
    }

    fn accounts(&self) -> Accounts {
        self.console.auth.accounts()
    }

    fn session(&self) -> Result<&tower_sessions::Session, ConsoleError> {
        self.caller
            .as_ref()
            .map(|c| &c.session)
            .ok_or(ConsoleError::Internal)
    }
}

#[async_trait::async_trait]
impl UserBackend for ConsoleRequest {
    async fn list_users(&self) -> Result<Vec<UserSummary>, ConsoleError> {
        let me = self.admin().await?;
        let users = self.accounts().users().await.map_err(from_account)?;
        Ok(users
            .into_iter()
            .map(|user| UserSummary {
                is_self: user.name == me.name,
                created_at: super::format_utc(user.created_at),
                policies: user
                    .policies
                    .into_iter()
                    .map(|(name, inline)| AttachedPolicy { name, inline })
                    .collect(),
                access_keys: user.access_keys,
                name: user.name,
            })
            .collect())
    }

    async fn user_detail(&self, name: &str) -> Result<UserDetail, ConsoleError> {
        let me = self.admin().await?;
        let accounts = self.accounts();
        let row = accounts.user(name).await.map_err(from_account)?;
        let policies = accounts.policies(name).await.map_err(from_account)?;
        let keys = accounts.access_keys(name).await.map_err(from_account)?;
        let documents: Vec<(AttachedPolicy, String)> = policies
            .into_iter()
            .map(|(policy, document)| {
                let text = match &document {
                    Some(text) => pretty(text),
                    None => berth_app::policy::managed_policy_json(&policy)
                        .unwrap_or_default()
                        .to_owned(),
                };
                let attached = AttachedPolicy {
                    name: policy,
                    inline: document.is_some(),
                };
                (attached, text)
            })
            .collect();
        let arn = self.console.authz.principal_arn(&Identity {
            user_id: row.id,
            name: row.name.clone(),
        });
        Ok(UserDetail {
            summary: UserSummary {
                is_self: row.id == me.user_id,
                created_at: super::format_utc(row.created_at),
                policies: documents.iter().map(|(p, _)| p.clone()).collect(),
                access_keys: keys.len() as u64,
                name: row.name,
            },
            arn,
            documents,
            access_keys: keys
                .into_iter()
                .map(|key| AccessKeySummary {
                    id: key.id,
                    created_at: super::format_utc(key.created_at),
                    last_used_at: key.last_used_at.map(super::format_utc),
                })
                .collect(),
        })
    }

    async fn create_user(
        &self,
        name: &str,
        password: &str,
        policy: Option<&str>,
    ) -> Result<(), ConsoleError> {
        let me = self.admin().await?;
        let policies: Vec<String> = policy.into_iter().map(str::to_owned).collect();
        self.accounts()
            .create_user(name, password, &policies)
            .await
            .map_err(from_account)?;
        tracing::info!(admin = %me.name, user = name, ?policies, "user created in the console");
        leptos_axum::redirect(&format!("/users/{}?created=1", query_escape(name)));
        Ok(())
    }

    async fn delete_user(&self, name: &str) -> Result<(), ConsoleError> {
        let me = self.admin().await?;
        if name == me.name {
            return Err(ConsoleError::invalid(
                "confirm",
                "You cannot delete yourself: ask another administrator to do it.",
            ));
        }
        self.accounts()
            .delete_user(name)
            .await
            .map_err(from_account)?;
        tracing::info!(admin = %me.name, user = name, "user deleted in the console");
        leptos_axum::redirect(&format!("/users?deleted={}", query_escape(name)));
        Ok(())
    }

    async fn reset_password(&self, name: &str, password: &str) -> Result<(), ConsoleError> {
        let me = self.admin().await?;
        self.accounts()
            .set_password(name, password)
            .await
            .map_err(from_account)?;
        tracing::info!(admin = %me.name, user = name, "password reset in the console");
        leptos_axum::redirect(&format!("/users?password_reset={}", query_escape(name)));
        Ok(())
    }

    async fn attach_policy(&self, name: &str, policy: &str) -> Result<(), ConsoleError> {
        let me = self.admin().await?;
        let policy = self
            .accounts()
            .attach_managed_policy(name, policy)
            .await
            .map_err(from_account)?;
        tracing::info!(admin = %me.name, user = name, %policy, "policy attached in the console");
        leptos_axum::redirect(&format!("/users/{}", query_escape(name)));
        Ok(())
    }

    async fn detach_policy(&self, name: &str, policy: &str) -> Result<(), ConsoleError> {
        let me = self.admin().await?;
        self.accounts()
            .detach_policy(name, policy)
            .await
            .map_err(from_account)?;
        tracing::info!(admin = %me.name, user = name, policy, "policy detached in the console");
        leptos_axum::redirect(&format!("/users/{}", query_escape(name)));
        Ok(())
    }

    async fn create_access_key(&self, name: &str) -> Result<String, ConsoleError> {
        let me = self.admin().await?;
        let accounts = self.accounts();
        let key = accounts
            .create_access_key(name)
            .await
            .map_err(from_account)?;
        let flash = NewKeyFlash {
            user: name.to_owned(),
            id: key.id.clone(),
            sealed: base64::engine::general_purpose::STANDARD.encode(accounts.seal(&key.secret)),
        };
        self.session()?
            .insert(NEW_KEY, flash)
            .await
            .map_err(internal)?;
        tracing::info!(admin = %me.name, user = name, access_key = %key.id, "access key created in the console");
        leptos_axum::redirect(&format!("/users/{}", query_escape(name)));
        Ok(key.id)
    }

    async fn take_new_access_key(&self, name: &str) -> Result<Option<NewAccessKey>, ConsoleError> {
        self.admin().await?;
        let session = self.session()?;
        let Some(flash) = session
            .get::<NewKeyFlash>(NEW_KEY)
            .await
            .map_err(internal)?
        else {
            return Ok(None);
        };
        if flash.user != name {
            return Ok(None);
        }
        session
            .remove::<serde_json::Value>(NEW_KEY)
            .await
            .map_err(internal)?;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(&flash.sealed)
            .ok()
            .and_then(|sealed| self.accounts().open(&sealed));
        match secret {
            Some(secret) => Ok(Some(NewAccessKey {
                id: flash.id,
                secret,
            })),
            None => {
                tracing::error!(access_key = %flash.id, "cannot open the new key's sealed secret");
                Err(ConsoleError::Internal)
            }
        }
    }

    async fn delete_access_key(&self, name: &str, id: &str) -> Result<(), ConsoleError> {
        let me = self.admin().await?;
        self.accounts()
            .delete_access_key(name, id)
            .await
            .map_err(from_account)?;
        tracing::info!(admin = %me.name, user = name, access_key = id, "access key deleted in the console");
        leptos_axum::redirect(&format!(
            "/users/{}?revoked={}",
            query_escape(name),
            query_escape(id)
        ));
        Ok(())
    }
}

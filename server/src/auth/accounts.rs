//! Managing accounts: users, their passwords, their identity policies and
//! their access keys. The CLI (`berth user …`, `berth access-key …`) and the
//! console both go through [`Accounts`], so both enforce the same rules
//! (`berth_app::accounts`) and write the same rows; SQL stays in `db`.

use super::secrets::SecretBox;
use super::{hash_password, new_access_key, NewAccessKey};
use crate::db::{AccessKeyRow, Db, DbError, UserRow};
use berth_app::policy::{self, PolicyKind, MANAGED_POLICIES};
use std::sync::Arc;

/// Why an account change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The user name breaks the naming rule.
    #[error("{0}")]
    InvalidName(String),
    /// A user of that name exists.
    #[error("user {0:?} already exists")]
    NameTaken(String),
    /// The password breaks the password rule.
    #[error("{0}")]
    InvalidPassword(String),
    /// No user has that name.
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    /// The name is not a built-in managed policy's.
    #[error("unknown managed policy {0:?}; use one of {list}", list = MANAGED_POLICIES.join(", "))]
    UnknownPolicy(String),
    /// An inline policy may not take a managed policy's name.
    #[error("{0:?} is a managed policy's name; choose another")]
    ReservedPolicyName(String),
    /// An inline policy document is not a valid identity policy.
    #[error("{0}")]
    InvalidPolicy(String),
    /// The user has no policy of that name.
    #[error("user {user:?} has no policy {policy:?}")]
    NoSuchPolicy {
        /// User name.
        user: String,
        /// Policy name.
        policy: String,
    },
    /// The user has no access key of that id.
    #[error("user {user:?} has no access key {id:?}")]
    NoSuchAccessKey {
        /// User name.
        user: String,
        /// Access key id.
        id: String,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] DbError),
}

impl AccountError {
    /// Whether the change failed because the database's disk is full.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::Database(e) if crate::db::is_storage_full(e))
    }
}

/// A user as the users table shows them.
#[derive(Debug, Clone)]
pub struct UserOverview {
    /// Login name.
    pub name: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Attached policies by name, each with whether it is inline.
    pub policies: Vec<(String, bool)>,
    /// Number of access keys.
    pub access_keys: u64,
}

/// Users, passwords, policies and access keys of one installation.
#[derive(Clone)]
pub struct Accounts {
    db: Db,
    secrets: Arc<SecretBox>,
}

/// A managed policy's name, from its name or ARN (`arn:aws:iam::aws:policy/<name>`).
pub fn managed_policy_name(policy: &str) -> Result<String, AccountError> {
    let name = policy.trim_start_matches("arn:aws:iam::aws:policy/");
    if policy::managed_policy(name).is_some() {
        Ok(name.to_owned())
    } else {
        Err(AccountError::UnknownPolicy(policy.to_owned()))
    }
}

/// Hashes off the async workers: argon2id is slow on purpose.
async fn hash(password: &str) -> String {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .expect("hashing does not panic")
}

impl Accounts {
    /// The accounts in `db`, sealing access-key secrets with `secrets`.
    pub fn new(db: Db, secrets: Arc<SecretBox>) -> Self {
        Self { db, secrets }
    }

    /// Every user, by name, with their policies and number of access keys.
    pub async fn users(&self) -> Result<Vec<UserOverview>, AccountError> {
        let rows = self.db.user_overview().await?;
        let mut by_id = std::collections::HashMap::<i64, Vec<(String, bool)>>::new();
        for (user_id, name, inline) in self.db.all_user_policies().await? {
            by_id.entry(user_id).or_default().push((name, inline));
        }
        Ok(rows
            .into_iter()
            .map(|row| UserOverview {
                policies: by_id.remove(&row.id).unwrap_or_default(),
                name: row.name,
                created_at: row.created_at,
                access_keys: row.access_keys.max(0) as u64,
            })
            .collect())
    }

    /// One user.
    pub async fn user(&self, name: &str) -> Result<UserRow, AccountError> {
        self.db
            .user_by_name(name)
            .await?
            .ok_or_else(|| AccountError::NoSuchUser(name.to_owned()))
    }

    /// Creates a user with a password and managed policies (by name or ARN),
    /// all or nothing.
    pub async fn create_user(
        &self,
        name: &str,
        password: &str,
        managed_policies: &[String],
    ) -> Result<UserRow, AccountError> {
        berth_app::accounts::validate_user_name(name).map_err(AccountError::InvalidName)?;
        let managed = managed_policies
            .iter()
            .map(|p| managed_policy_name(p))
            .collect::<Result<Vec<_>, _>>()?;
        if self.db.user_by_name(name).await?.is_some() {
            return Err(AccountError::NameTaken(name.to_owned()));
        }
        berth_app::accounts::validate_password(password).map_err(AccountError::InvalidPassword)?;
        self.db
            .create_user_with_policies(name, &hash(password).await, &managed)
            .await?
            .ok_or_else(|| AccountError::NameTaken(name.to_owned()))
    }

    /// Replaces a user's password; the old one stops working at once.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), AccountError> {
        berth_app::accounts::validate_password(password).map_err(AccountError::InvalidPassword)?;
        if !self
            .db
            .set_password_hash(name, &hash(password).await)
            .await?
        {
            return Err(AccountError::NoSuchUser(name.to_owned()));
        }
        // Whoever signed in with the old password is signed out.
        let user = self.user(name).await?;
        let ended = self.db.end_console_sessions_of(user.id).await?;
        tracing::info!(
            user = name,
            ended,
            "password changed; console sessions ended"
        );
        Ok(())
    }

    /// Deletes a user with their policies, access keys and tokens; their
    /// console sessions end at their next request.
    pub async fn delete_user(&self, name: &str) -> Result<(), AccountError> {
        if self.db.delete_user(name).await? {
            Ok(())
        } else {
            Err(AccountError::NoSuchUser(name.to_owned()))
        }
    }

    /// A user's policies: (name, inline document or `None` for a managed policy).
    pub async fn policies(
        &self,
        name: &str,
    ) -> Result<Vec<(String, Option<String>)>, AccountError> {
        let user = self.user(name).await?;
        Ok(self.db.user_policies(user.id).await?)
    }

    /// Attaches a managed policy (by name or ARN); returns its name.
    pub async fn attach_managed_policy(
        &self,
        name: &str,
        policy: &str,
    ) -> Result<String, AccountError> {
        let policy = managed_policy_name(policy)?;
        let user = self.user(name).await?;
        self.db.attach_user_policy(user.id, &policy, None).await?;
        Ok(policy)
    }

    /// Puts (adds or replaces) an inline identity policy.
    pub async fn put_inline_policy(
        &self,
        name: &str,
        policy_name: &str,
        text: &str,
    ) -> Result<(), AccountError> {
        let doc = policy::parse(text).map_err(|e| AccountError::InvalidPolicy(e.to_string()))?;
        policy::validate(&doc, PolicyKind::Identity)
            .map_err(|e| AccountError::InvalidPolicy(e.to_string()))?;
        if policy::managed_policy(policy_name).is_some() {
            return Err(AccountError::ReservedPolicyName(policy_name.to_owned()));
        }
        let user = self.user(name).await?;
        self.db
            .attach_user_policy(user.id, policy_name, Some(text))
            .await?;
        Ok(())
    }

    /// Detaches a managed policy or deletes an inline one.
    pub async fn detach_policy(&self, name: &str, policy: &str) -> Result<(), AccountError> {
        let user = self.user(name).await?;
        if self.db.detach_user_policy(user.id, policy).await? {
            Ok(())
        } else {
            Err(AccountError::NoSuchPolicy {
                user: name.to_owned(),
                policy: policy.to_owned(),
            })
        }
    }

    /// Makes an access key for a user. The secret is returned to be shown
    /// once; only its sealed form is stored.
    pub async fn create_access_key(&self, name: &str) -> Result<NewAccessKey, AccountError> {
        let user = self.user(name).await?;
        let key = new_access_key();
        self.db
            .create_access_key(&key.id, user.id, &self.seal(&key.secret))
            .await?;
        Ok(key)
    }

    /// A user's access keys (without secrets), oldest first.
    pub async fn access_keys(&self, name: &str) -> Result<Vec<AccessKeyRow>, AccountError> {
        self.user(name).await?;
        Ok(self.db.list_access_keys(name).await?)
    }

    /// Deletes one of a user's access keys; requests signed with it fail at once.
    pub async fn delete_access_key(&self, name: &str, id: &str) -> Result<(), AccountError> {
        if self.db.delete_access_key(name, id).await? {
            Ok(())
        } else {
            Err(AccountError::NoSuchAccessKey {
                user: name.to_owned(),
                id: id.to_owned(),
            })
        }
    }

    /// Seals a secret with the installation's key, for keeping at rest.
    pub fn seal(&self, secret: &str) -> Vec<u8> {
        self.secrets.seal(secret.as_bytes())
    }

    /// Opens what [`Accounts::seal`] sealed; `None` if it was not sealed with this key.
    pub fn open(&self, sealed: &[u8]) -> Option<String> {
        self.secrets
            .open(sealed)
            .and_then(|bytes| String::from_utf8(bytes).ok())
    }
}

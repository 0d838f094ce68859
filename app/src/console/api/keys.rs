//! The key service in the console, for administrators (issue 18 §1): the
//! keys of the KMS stand-in with what `berth kms` does to them (create,
//! enable/disable, yearly rotation, rotate now, schedule and cancel a
//! deletion). Berth's own keys (the registry key and `alias/aws/ecr`) are
//! shown as managed, with no actions.

use super::ConsoleError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A key as the Keys section lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    /// The key id (a UUID), what the forms send back.
    pub id: String,
    /// `arn:aws:kms:<region>:<registry id>:key/<id>`.
    pub arn: String,
    /// Its aliases (`alias/NAME`).
    pub aliases: Vec<String>,
    /// What the administrator wrote about it.
    pub description: String,
    /// `Enabled`, `Disabled`, `PendingDeletion` or `Deleted`.
    pub state: String,
    /// Who manages it, in words ("Customer", "Berth (registry key)", …).
    pub manager: String,
    /// Whether Berth manages it, so the console offers no action.
    pub managed: bool,
    /// When it was made, in UTC.
    pub created_at: String,
    /// Whether yearly automatic rotation is on.
    pub rotation_enabled: bool,
    /// Its rotation in words (on or off, next and last rotation).
    pub rotation: String,
    /// When a key pending deletion is erased, in UTC.
    pub deletion_date: Option<String>,
    /// The repositories whose encryption setting names this key.
    pub repositories: Vec<String>,
}

/// A change to a customer key that needs nothing but the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyChange {
    /// Enables a disabled key.
    Enable,
    /// Disables an enabled key.
    Disable,
    /// Turns yearly rotation on.
    RotationOn,
    /// Turns yearly rotation off.
    RotationOff,
    /// Adds a version of key material now.
    RotateNow,
    /// Cancels a scheduled deletion (the key is then disabled, as in AWS).
    CancelDeletion,
}

/// The server side of this module's functions (administrators only).
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait KeyBackend {
    /// Every key, oldest first.
    async fn keys(&self) -> Result<Vec<KeyView>, ConsoleError>;
    /// Makes a customer key with an optional alias.
    async fn create_key(&self, alias: &str, description: &str) -> Result<(), ConsoleError>;
    /// Applies `change` to the customer key `key`.
    async fn change_key(&self, key: &str, change: KeyChange) -> Result<(), ConsoleError>;
    /// Schedules the customer key `key`'s deletion after `days` days.
    async fn schedule_key_deletion(&self, key: &str, days: u32) -> Result<(), ConsoleError>;
}

/// The keys.
#[server(endpoint = "load_keys")]
pub async fn load_keys() -> Result<Vec<KeyView>, ConsoleError> {
    super::backend()?.keys().await
}

/// "Create key": `alias` may be empty.
#[server(endpoint = "create_key")]
pub async fn create_key(alias: String, description: String) -> Result<(), ConsoleError> {
    super::backend()?.create_key(&alias, &description).await
}

/// The buttons of a key's row.
#[server(endpoint = "change_key")]
pub async fn change_key(key: String, change: KeyChange) -> Result<(), ConsoleError> {
    super::backend()?.change_key(&key, change).await
}

/// "Schedule deletion", once the repositories naming the key were shown.
#[server(endpoint = "schedule_key_deletion")]
pub async fn schedule_key_deletion(key: String, days: u32) -> Result<(), ConsoleError> {
    super::backend()?.schedule_key_deletion(&key, days).await
}

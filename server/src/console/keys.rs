//! The console's Keys section, through `service::kms` (as `berth kms`):
//! administrators list the keys, make customer keys, and enable, disable,
//! rotate and schedule or cancel the deletion of them. Every call re-checks
//! that the caller is an administrator; Berth's own keys are refused by the
//! service, as on the command line.

use super::{format_utc, from_service, ConsoleRequest, ADMIN_ACTION};
use crate::service::kms::{KeyDescription, KmsError};
use crate::service::ServiceError;
use berth_app::console::api::keys::{KeyBackend, KeyChange, KeyView};
use berth_app::console::ConsoleError;

/// A key in the console's words.
fn key_view(description: KeyDescription) -> KeyView {
    let managed = description.is_managed();
    let key = description.key;
    let manager = match key.manager.as_str() {
        "BERTH" => "Berth (the registry key, for AES256 repositories)".to_owned(),
        "AWS" => "Berth (the default key for KMS repositories that name none)".to_owned(),
        _ => "Customer".to_owned(),
    };
    let mut rotation = match (key.rotation_enabled, key.next_rotation_at) {
        (true, Some(next)) => format!("Yearly, next on {}", format_utc(next)),
        (true, None) => "Yearly".to_owned(),
        (false, _) => "Off".to_owned(),
    };
    if let Some(last) = key.last_rotated_at {
        rotation.push_str(&format!("; last rotated on {}", format_utc(last)));
    }
    KeyView {
        id: key.id,
        arn: description.arn,
        aliases: key.aliases,
        description: key.description,
        deletion_date: match key.state.as_str() {
            "Deleted" => key.deleted_at.map(format_utc),
            _ => key.deletion_date.map(format_utc),
        },
        state: key.state,
        manager,
        managed,
        created_at: format_utc(key.created_at),
        rotation_enabled: key.rotation_enabled,
        rotation,
        repositories: description.protects,
    }
}

/// A refusal from the key service, beside `field` when it is about that
/// field's value (a malformed or taken alias, a waiting period out of range),
/// beside the description when that is too long.
fn refused(error: ServiceError, field: &str) -> ConsoleError {
    match error {
        ServiceError::Kms(error @ KmsError::DescriptionTooLong(_)) => {
            ConsoleError::invalid("description", error.to_string())
        }
        ServiceError::Kms(KmsError::Invalid(message)) => ConsoleError::invalid(field, message),
        ServiceError::Kms(error @ KmsError::AlreadyExists(_)) => {
            ConsoleError::invalid(field, error.to_string())
        }
        other => from_service(other, field),
    }
}

#[async_trait::async_trait]
impl KeyBackend for ConsoleRequest {
    async fn keys(&self) -> Result<Vec<KeyView>, ConsoleError> {
        self.settings_admin(ADMIN_ACTION).await?;
        let keys = self
            .console
            .registry
            .kms_keys()
            .await
            .map_err(|e| from_service(e, "key"))?;
        Ok(keys.into_iter().map(key_view).collect())
    }

    async fn create_key(&self, alias: &str, description: &str) -> Result<(), ConsoleError> {
        let identity = self.settings_admin(ADMIN_ACTION).await?;
        let alias = Some(alias.trim()).filter(|a| !a.is_empty());
        let key = self
            .console
            .registry
            .kms_create_key(alias, description)
            .await
            .map_err(|e| refused(e, "alias"))?;
        tracing::info!(user = %identity.name, key = %key.arn, "KMS key created in the console");
        Ok(())
    }

    async fn change_key(&self, key: &str, change: KeyChange) -> Result<(), ConsoleError> {
        let identity = self.settings_admin(ADMIN_ACTION).await?;
        let registry = &self.console.registry;
        let changed = match change {
            KeyChange::Enable => registry.kms_enable_key(key).await,
            KeyChange::Disable => registry.kms_disable_key(key).await,
            KeyChange::RotationOn => registry.kms_set_rotation(key, true).await,
            KeyChange::RotationOff => registry.kms_set_rotation(key, false).await,
            KeyChange::RotateNow => registry.kms_rotate_now(key).await,
            KeyChange::CancelDeletion => registry.kms_cancel_deletion(key).await,
        }
        .map_err(|e| refused(e, "key"))?;
        tracing::info!(user = %identity.name, key = %changed.arn, ?change, "KMS key changed in the console");
        Ok(())
    }

    async fn schedule_key_deletion(&self, key: &str, days: u32) -> Result<(), ConsoleError> {
        let identity = self.settings_admin(ADMIN_ACTION).await?;
        let scheduled = self
            .console
            .registry
            .kms_schedule_deletion(key, Some(days))
            .await
            .map_err(|e| refused(e, "days"))?;
        tracing::info!(user = %identity.name, key = %scheduled.arn, days, "KMS key deletion scheduled in the console");
        Ok(())
    }
}

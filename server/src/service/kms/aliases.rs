//! Aliases: the names users give keys.

use super::{KeyDescription, KmsError};
use crate::service::{Registry, ServiceResult};

/// `alias/NAME` from `NAME` or `alias/NAME`, checked as AWS checks aliases
/// a user makes: 1–250 characters of letters, digits, `/`, `_` and `-`,
/// not under `alias/aws/`.
pub fn normalize_alias(alias: &str) -> Result<String, KmsError> {
    let name = alias.strip_prefix("alias/").unwrap_or(alias);
    let valid = !name.is_empty()
        && name.len() <= 250
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'));
    if !valid {
        return Err(KmsError::Invalid(format!(
            "Alias {alias:?} is not valid: use 1 to 250 letters, digits, '/', '_' and '-' after 'alias/'"
        )));
    }
    if name.starts_with("aws/") {
        return Err(KmsError::Invalid(format!(
            "Alias alias/{name} is reserved: aliases beginning with alias/aws/ are AWS's (and Berth's)"
        )));
    }
    Ok(format!("alias/{name}"))
}

impl Registry {
    /// Gives a key another alias.
    pub async fn kms_create_alias(&self, alias: &str, key: &str) -> ServiceResult<KeyDescription> {
        let alias = normalize_alias(alias)?;
        let key = self.customer_key(key, "given an alias").await?;
        if !self.db.create_kms_alias(&alias, &key.key.id).await? {
            return Err(KmsError::AlreadyExists(alias).into());
        }
        self.kms_key(&key.key.id).await
    }

    /// Removes an alias (not the key).
    pub async fn kms_delete_alias(&self, alias: &str) -> ServiceResult<()> {
        let alias = normalize_alias(alias)?;
        if !self.db.delete_kms_alias(&alias).await? {
            return Err(KmsError::NotFound(alias).into());
        }
        Ok(())
    }
}

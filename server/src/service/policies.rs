//! Repository and registry policies. Every face stores a policy through these
//! calls, which refuse any text that [`berth_app::policy::check`] refuses: the
//! parser and validator that also authorize requests and run in the console.

use super::{Registry, ServiceError, ServiceResult};
use berth_app::policy::{self, PolicyError, PolicyKind};

/// Checks a repository or registry policy text before it is stored.
pub fn check_policy_text(text: &str) -> Result<(), PolicyError> {
    policy::check(text, PolicyKind::Resource).map(|_| ())
}

fn checked(text: Option<&str>) -> ServiceResult<()> {
    match text {
        Some(text) => {
            check_policy_text(text).map_err(|e| ServiceError::InvalidSetting(e.to_string()))
        }
        None => Ok(()),
    }
}

impl Registry {
    /// A repository's policy text.
    pub async fn repository_policy(&self, name: &str) -> ServiceResult<Option<String>> {
        Ok(self.db.repository_policy(name).await?)
    }

    /// Sets (after [`check_policy_text`]) or removes a repository's policy.
    pub async fn set_repository_policy(&self, name: &str, text: Option<&str>) -> ServiceResult<()> {
        checked(text)?;
        let repo = self.repository(name).await?;
        Ok(self.db.set_repository_policy(repo.id, text).await?)
    }

    /// The registry's policy text.
    pub async fn registry_policy(&self) -> ServiceResult<Option<String>> {
        Ok(self.db.registry_policy().await?)
    }

    /// Sets (after [`check_policy_text`]) or removes the registry's policy.
    pub async fn set_registry_policy(&self, text: Option<&str>) -> ServiceResult<()> {
        checked(text)?;
        Ok(self.db.set_registry_policy(text).await?)
    }
}

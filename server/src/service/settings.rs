//! The registry's account settings, as ECR's GetAccountSetting and
//! PutAccountSetting name them. Only settings Berth acts on exist here:
//! `BLOB_MOUNTING` switches cross-repository mounts (see
//! [`Registry::mount_or_start`]) and `REGISTRY_POLICY_SCOPE` decides which
//! actions the registry policy takes part in (see `auth::authorize`).

use super::{Registry, ServiceError, ServiceResult};

/// An account setting Berth acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSetting {
    /// `BLOB_MOUNTING`: `ENABLED` or `DISABLED`.
    BlobMounting,
    /// `REGISTRY_POLICY_SCOPE`: `V1` or `V2`.
    RegistryPolicyScope,
}

impl AccountSetting {
    /// Every setting, in the order they are documented.
    pub const ALL: [AccountSetting; 2] = [Self::BlobMounting, Self::RegistryPolicyScope];

    /// The setting named `name` (ECR's spelling), if Berth has it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// ECR's name of the setting.
    pub fn name(self) -> &'static str {
        match self {
            Self::BlobMounting => "BLOB_MOUNTING",
            Self::RegistryPolicyScope => "REGISTRY_POLICY_SCOPE",
        }
    }

    /// The values the setting takes.
    pub fn values(self) -> &'static [&'static str] {
        match self {
            Self::BlobMounting => &["ENABLED", "DISABLED"],
            Self::RegistryPolicyScope => &["V1", "V2"],
        }
    }
}

impl Registry {
    /// The current value of `setting`.
    pub async fn account_setting(&self, setting: AccountSetting) -> ServiceResult<String> {
        Ok(match setting {
            AccountSetting::BlobMounting => self.db.blob_mounting().await?,
            AccountSetting::RegistryPolicyScope => self.db.registry_policy_scope().await?,
        })
    }

    /// Sets `setting` to `value`, one of [`AccountSetting::values`].
    pub async fn set_account_setting(
        &self,
        setting: AccountSetting,
        value: &str,
    ) -> ServiceResult<()> {
        if !setting.values().contains(&value) {
            return Err(ServiceError::InvalidSetting(format!(
                "{} takes the value {}, not {value:?}",
                setting.name(),
                setting.values().join(" or ")
            )));
        }
        match setting {
            AccountSetting::BlobMounting => self.db.set_blob_mounting(value).await?,
            AccountSetting::RegistryPolicyScope => self.db.set_registry_policy_scope(value).await?,
        }
        Ok(())
    }

    /// Whether `?mount=` requests may link blobs across repositories.
    pub async fn blob_mounting_enabled(&self) -> ServiceResult<bool> {
        Ok(self.db.blob_mounting().await? == "ENABLED")
    }
}

#[cfg(test)]
mod tests {
    use super::AccountSetting;

    #[test]
    fn settings_are_found_by_their_ecr_names_only() {
        for setting in AccountSetting::ALL {
            assert_eq!(AccountSetting::parse(setting.name()), Some(setting));
        }
        assert_eq!(AccountSetting::parse("blob_mounting"), None);
        assert_eq!(AccountSetting::parse("BASIC_SCAN_TYPE_VERSION"), None);
        assert_eq!(
            AccountSetting::BlobMounting.values(),
            ["ENABLED", "DISABLED"]
        );
        assert_eq!(AccountSetting::RegistryPolicyScope.values(), ["V1", "V2"]);
    }
}

//! Account settings: GetAccountSetting, PutAccountSetting. Only the settings
//! Berth acts on are served (`BLOB_MOUNTING`, `REGISTRY_POLICY_SCOPE`); any
//! other name, such as `BASIC_SCAN_TYPE_VERSION`, is refused by name rather
//! than stored and ignored.

use super::wire::{decode, encode};
use super::{Call, EcrError};
use crate::service::settings::AccountSetting;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The setting `name`, or an `InvalidParameterException` naming the ones served.
fn setting(name: &str) -> Result<AccountSetting, EcrError> {
    AccountSetting::parse(name).ok_or_else(|| {
        let served: Vec<&str> = AccountSetting::ALL.iter().map(|s| s.name()).collect();
        EcrError::InvalidParameter(format!(
            "Invalid parameter at 'name': Berth does not have the account setting {name:?}; it has {}",
            served.join(" and ")
        ))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GetAccountSettingInput {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PutAccountSettingInput {
    name: String,
    value: String,
}

/// The output of both operations.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountSettingOutput {
    name: &'static str,
    value: String,
}

/// `GetAccountSetting`.
pub async fn get(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: GetAccountSettingInput = decode(input)?;
    let setting = setting(&input.name)?;
    let value = call.state.registry.account_setting(setting).await?;
    encode(&AccountSettingOutput {
        name: setting.name(),
        value,
    })
}

/// `PutAccountSetting`: `BLOB_MOUNTING` `ENABLED`/`DISABLED` turns
/// cross-repository mounts on `/v2/` on and off; `REGISTRY_POLICY_SCOPE`
/// `V2`/`V1` makes the registry policy take part in every request, or only
/// in `ecr:CreateRepository` (and ECR's other V1 actions).
pub async fn put(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let input: PutAccountSettingInput = decode(input)?;
    let setting = setting(&input.name)?;
    call.state
        .registry
        .set_account_setting(setting, &input.value)
        .await
        .map_err(|e| match e {
            crate::service::ServiceError::InvalidSetting(message) => {
                EcrError::InvalidParameter(format!("Invalid parameter at 'value': {message}"))
            }
            other => other.into(),
        })?;
    encode(&AccountSettingOutput {
        name: setting.name(),
        value: input.value,
    })
}

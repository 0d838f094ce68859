//! Scanning configuration: PutRegistryScanningConfiguration,
//! GetRegistryScanningConfiguration, BatchGetRepositoryScanningConfiguration.
//! Berth records the configuration (validated by `service::scanning`) and
//! reports what applies to each repository; the scanner itself is a later
//! piece of work.

use super::wire::{decode, encode, repository_name, NoInput};
use super::{Call, EcrError};
use crate::service::repositories::wildcard_match;
use crate::service::scanning::{
    self, RegistryScanningConfiguration, RepositoryFilter, ScanningRule,
};
use crate::service::ServiceError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

async fn current(call: &Call<'_>) -> Result<RegistryScanningConfiguration, EcrError> {
    Ok(call.state.registry.scanning_configuration().await?)
}

/// `PutRegistryScanningConfiguration`.
pub async fn put_registry(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Input {
        scan_type: Option<String>,
        rules: Option<Vec<ScanningRule>>,
    }
    let input: Input = decode(input)?;
    let config = RegistryScanningConfiguration {
        scan_type: input.scan_type.unwrap_or_else(|| "BASIC".into()),
        rules: input.rules.unwrap_or_default(),
    };
    scanning::validate(&config).map_err(|e| EcrError::InvalidParameter(e.to_string()))?;
    call.state
        .registry
        .set_scanning_configuration(&config)
        .await?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output {
        registry_scanning_configuration: RegistryScanningConfiguration,
    }
    encode(&Output {
        registry_scanning_configuration: config,
    })
}

/// `GetRegistryScanningConfiguration`.
pub async fn get_registry(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    let NoInput {} = decode(input)?;
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output {
        registry_id: String,
        scanning_configuration: RegistryScanningConfiguration,
    }
    encode(&Output {
        registry_id: call.state.info.registry_id.clone(),
        scanning_configuration: current(call).await?,
    })
}

/// ECR's `RepositoryScanningConfiguration`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryScanningConfiguration<'a> {
    repository_arn: String,
    repository_name: String,
    scan_on_push: bool,
    scan_frequency: &'a str,
    applied_scan_filters: Vec<&'a RepositoryFilter>,
}

/// ECR's `RepositoryScanningConfigurationFailure`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RepositoryScanningConfigurationFailure {
    repository_name: String,
    failure_code: &'static str,
    failure_reason: &'static str,
}

/// `BatchGetRepositoryScanningConfiguration`: what applies to each repository.
pub async fn batch_get_repository(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Input {
        repository_names: Vec<String>,
    }
    let input: Input = decode(input)?;
    if !(1..=25).contains(&input.repository_names.len()) {
        return Err(EcrError::InvalidParameter(
            "repositoryNames must hold 1 to 25 names".into(),
        ));
    }
    let config = current(call).await?;
    let (mut found, mut failures) = (Vec::new(), Vec::new());
    for name in &input.repository_names {
        let name = repository_name(name)?;
        let repo = match call.state.registry.repository(name).await {
            Ok(repo) => repo,
            Err(ServiceError::RepositoryUnknown { .. }) => {
                failures.push(RepositoryScanningConfigurationFailure {
                    repository_name: name.to_owned(),
                    failure_code: "REPOSITORY_NOT_FOUND",
                    failure_reason: "REPOSITORY_NOT_FOUND",
                });
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let matching: Vec<&ScanningRule> = config
            .rules
            .iter()
            .filter(|r| {
                r.repository_filters
                    .iter()
                    .any(|f| wildcard_match(&f.filter, name))
            })
            .collect();
        let frequency = matching
            .iter()
            .map(|r| r.scan_frequency.as_str())
            .find(|f| *f != "MANUAL")
            .unwrap_or(if repo.scan_on_push {
                "SCAN_ON_PUSH"
            } else {
                "MANUAL"
            });
        let filters: Vec<&RepositoryFilter> = matching
            .iter()
            .flat_map(|r| &r.repository_filters)
            .collect();
        found.push(RepositoryScanningConfiguration {
            repository_arn: call.state.info.repository_arn(name),
            repository_name: name.to_owned(),
            scan_on_push: repo.scan_on_push || frequency == "SCAN_ON_PUSH",
            scan_frequency: frequency,
            applied_scan_filters: filters,
        });
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Output<'a> {
        scanning_configurations: Vec<RepositoryScanningConfiguration<'a>>,
        failures: Vec<RepositoryScanningConfigurationFailure>,
    }
    encode(&Output {
        scanning_configurations: found,
        failures,
    })
}

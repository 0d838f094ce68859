//! Scanning configuration: PutRegistryScanningConfiguration,
//! GetRegistryScanningConfiguration, BatchGetRepositoryScanningConfiguration.
//! Berth records the configuration and reports what applies to each
//! repository; the scanner itself is a later piece of work.

use super::wire::{decode, repository_name};
use super::{Call, EcrError};
use crate::service::repositories::wildcard_match;
use crate::service::ServiceError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter {
    filter: String,
    filter_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    scan_frequency: String,
    repository_filters: Vec<Filter>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Configuration {
    scan_type: String,
    rules: Vec<Rule>,
}

impl Default for Configuration {
    fn default() -> Self {
        Self {
            scan_type: "BASIC".into(),
            rules: Vec::new(),
        }
    }
}

fn validate(config: &Configuration) -> Result<(), EcrError> {
    let invalid = |m: String| Err(EcrError::InvalidParameter(m));
    let frequencies: &[&str] = match config.scan_type.as_str() {
        "BASIC" => &["SCAN_ON_PUSH", "MANUAL"],
        "ENHANCED" => &["SCAN_ON_PUSH", "CONTINUOUS_SCAN"],
        other => return invalid(format!("scanType must be BASIC or ENHANCED, got {other:?}")),
    };
    if config.rules.len() > 2 {
        return invalid("a scanning configuration has at most 2 rules".into());
    }
    for (i, rule) in config.rules.iter().enumerate() {
        if !frequencies.contains(&rule.scan_frequency.as_str()) {
            return invalid(format!(
                "rules[{i}].scanFrequency must be one of {} for scan type {}",
                frequencies.join(", "),
                config.scan_type
            ));
        }
        if rule.repository_filters.len() > 100 {
            return invalid(format!("rules[{i}] has more than 100 repository filters"));
        }
        for filter in &rule.repository_filters {
            let ok = filter.filter_type == "WILDCARD"
                && (1..=255).contains(&filter.filter.len())
                && filter
                    .filter
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/*".contains(&b));
            if !ok {
                return invalid(format!(
                    "rules[{i}] filter {:?} must be a WILDCARD of lowercase letters, digits, '.', '_', '-', '/' and '*'",
                    filter.filter
                ));
            }
        }
    }
    Ok(())
}

async fn current(call: &Call<'_>) -> Result<Configuration, EcrError> {
    let stored = call.state.registry.scanning_configuration().await?;
    Ok(stored
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

/// `PutRegistryScanningConfiguration`.
pub async fn put_registry(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Input {
        scan_type: Option<String>,
        rules: Option<Vec<Rule>>,
    }
    let input: Input = decode(input)?;
    let config = Configuration {
        scan_type: input.scan_type.unwrap_or_else(|| "BASIC".into()),
        rules: input.rules.unwrap_or_default(),
    };
    validate(&config)?;
    let text = serde_json::to_string(&config).expect("configuration serializes");
    call.state
        .registry
        .set_scanning_configuration(&text)
        .await?;
    Ok(json!({ "registryScanningConfiguration": config }))
}

/// `GetRegistryScanningConfiguration`.
pub async fn get_registry(call: &Call<'_>, _input: Value) -> Result<Value, EcrError> {
    let config = current(call).await?;
    Ok(json!({
        "registryId": call.state.info.registry_id,
        "scanningConfiguration": config,
    }))
}

/// `BatchGetRepositoryScanningConfiguration`: what applies to each repository.
pub async fn batch_get_repository(call: &Call<'_>, input: Value) -> Result<Value, EcrError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
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
                failures.push(json!({
                    "repositoryName": name,
                    "failureCode": "REPOSITORY_NOT_FOUND",
                    "failureReason": "REPOSITORY_NOT_FOUND",
                }));
                continue;
            }
            Err(other) => return Err(other.into()),
        };
        let matching: Vec<&Rule> = config
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
        let filters: Vec<&Filter> = matching
            .iter()
            .flat_map(|r| &r.repository_filters)
            .collect();
        found.push(json!({
            "repositoryArn": call.state.info.repository_arn(name),
            "repositoryName": name,
            "scanOnPush": repo.scan_on_push || frequency == "SCAN_ON_PUSH",
            "scanFrequency": frequency,
            "appliedScanFilters": filters,
        }));
    }
    Ok(json!({ "scanningConfigurations": found, "failures": failures }))
}

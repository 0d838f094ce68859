//! The registry's scanning configuration (what `aws ecr
//! put-registry-scanning-configuration` sets): one shape and one validation
//! for every face; nothing invalid is stored.

use super::{Registry, ServiceError, ServiceResult};
use serde::{Deserialize, Serialize};

/// The most rules a configuration has.
pub const RULES_MAX: usize = 2;
/// The most repository filters a rule has.
pub const FILTERS_MAX: usize = 100;

/// A repository filter of a scanning rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryFilter {
    /// Wildcard pattern of repository names (`*` matches any characters).
    pub filter: String,
    /// Always `WILDCARD`.
    pub filter_type: String,
}

/// One scanning rule: a frequency for the repositories its filters match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanningRule {
    /// `SCAN_ON_PUSH`, `MANUAL` (basic) or `CONTINUOUS_SCAN` (enhanced).
    pub scan_frequency: String,
    /// The repositories the rule applies to.
    pub repository_filters: Vec<RepositoryFilter>,
}

/// The registry's scanning configuration, as the ECR API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryScanningConfiguration {
    /// `BASIC` or `ENHANCED`.
    pub scan_type: String,
    /// At most [`RULES_MAX`] rules.
    pub rules: Vec<ScanningRule>,
}

impl Default for RegistryScanningConfiguration {
    fn default() -> Self {
        Self {
            scan_type: "BASIC".into(),
            rules: Vec::new(),
        }
    }
}

/// Why a scanning configuration is refused; `rule` is the index in `rules`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanningError {
    /// The scan type is neither `BASIC` nor `ENHANCED`.
    #[error("scanType must be BASIC or ENHANCED, got {0:?}")]
    ScanType(String),
    /// More than [`RULES_MAX`] rules.
    #[error("a scanning configuration has at most {RULES_MAX} rules")]
    TooManyRules,
    /// A frequency the scan type does not offer.
    #[error("rules[{rule}].scanFrequency must be one of {allowed} for scan type {scan_type}")]
    Frequency {
        /// The rule's index.
        rule: usize,
        /// The frequencies the scan type offers, comma-separated.
        allowed: String,
        /// The scan type.
        scan_type: String,
    },
    /// More than [`FILTERS_MAX`] filters in a rule.
    #[error("rules[{rule}] has more than {FILTERS_MAX} repository filters")]
    TooManyFilters {
        /// The rule's index.
        rule: usize,
    },
    /// A filter that is not a wildcard of repository-name characters.
    #[error("rules[{rule}] filter {filter:?} must be a WILDCARD of lowercase letters, digits, '.', '_', '-', '/' and '*'")]
    Filter {
        /// The rule's index.
        rule: usize,
        /// The filter.
        filter: String,
    },
}

/// The frequencies a scan type offers, or `None` for an unknown scan type.
pub fn frequencies(scan_type: &str) -> Option<&'static [&'static str]> {
    match scan_type {
        "BASIC" => Some(&["SCAN_ON_PUSH", "MANUAL"]),
        "ENHANCED" => Some(&["SCAN_ON_PUSH", "CONTINUOUS_SCAN"]),
        _ => None,
    }
}

/// Checks a configuration as ECR does.
pub fn validate(config: &RegistryScanningConfiguration) -> Result<(), ScanningError> {
    let allowed = frequencies(&config.scan_type)
        .ok_or_else(|| ScanningError::ScanType(config.scan_type.clone()))?;
    if config.rules.len() > RULES_MAX {
        return Err(ScanningError::TooManyRules);
    }
    for (rule, r) in config.rules.iter().enumerate() {
        if !allowed.contains(&r.scan_frequency.as_str()) {
            return Err(ScanningError::Frequency {
                rule,
                allowed: allowed.join(", "),
                scan_type: config.scan_type.clone(),
            });
        }
        if r.repository_filters.len() > FILTERS_MAX {
            return Err(ScanningError::TooManyFilters { rule });
        }
        for filter in &r.repository_filters {
            let ok = filter.filter_type == "WILDCARD"
                && (1..=255).contains(&filter.filter.len())
                && filter
                    .filter
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/*".contains(&b));
            if !ok {
                return Err(ScanningError::Filter {
                    rule,
                    filter: filter.filter.clone(),
                });
            }
        }
    }
    Ok(())
}

/// How scanning applies to one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<'a> {
    /// `SCAN_ON_PUSH`, `CONTINUOUS_SCAN` or `MANUAL`.
    pub frequency: &'static str,
    /// The filters of the rules that match the repository.
    pub filters: Vec<&'a RepositoryFilter>,
}

impl Applied<'_> {
    /// Whether a push to the repository is scanned (continuous scanning
    /// scans on push too).
    pub fn scans_on_push(&self) -> bool {
        matches!(self.frequency, "SCAN_ON_PUSH" | "CONTINUOUS_SCAN")
    }

    /// Whether stored inventories are matched again when the database changes.
    pub fn continuous(&self) -> bool {
        self.frequency == "CONTINUOUS_SCAN"
    }
}

/// What applies to repository `name` whose own `scanOnPush` is
/// Whether a scanning rule's repository filter matches `name`, as ECR's
/// "Filter wildcards" say: a filter without `*` matches every name that
/// contains it; with `*`, each `*` stands for zero or more characters of the
/// whole name.
pub fn filter_matches(filter: &str, name: &str) -> bool {
    if filter.contains('*') {
        super::repositories::wildcard_match(filter, name)
    } else {
        name.contains(filter)
    }
}

/// `scan_on_push`, as ECR decides: with enhanced scanning, a matching
/// `CONTINUOUS_SCAN` rule wins over a matching `SCAN_ON_PUSH` rule, and a
/// repository no rule matches is not scanned automatically; with basic
/// scanning, a matching `SCAN_ON_PUSH` rule scans on push, otherwise the
/// repository's own setting decides (on push, or manual).
pub fn applied<'a>(
    config: &'a RegistryScanningConfiguration,
    name: &str,
    scan_on_push: bool,
) -> Applied<'a> {
    let matching: Vec<&ScanningRule> = config
        .rules
        .iter()
        .filter(|r| {
            r.repository_filters
                .iter()
                .any(|f| filter_matches(&f.filter, name))
        })
        .collect();
    let has = |frequency: &str| matching.iter().any(|r| r.scan_frequency == frequency);
    let frequency = if config.scan_type == "ENHANCED" {
        if has("CONTINUOUS_SCAN") {
            "CONTINUOUS_SCAN"
        } else if has("SCAN_ON_PUSH") {
            "SCAN_ON_PUSH"
        } else {
            "MANUAL"
        }
    } else if has("SCAN_ON_PUSH") || scan_on_push {
        "SCAN_ON_PUSH"
    } else {
        "MANUAL"
    };
    Applied {
        frequency,
        filters: matching
            .iter()
            .flat_map(|r| &r.repository_filters)
            .collect(),
    }
}

impl Registry {
    /// The registry's scanning configuration; `BASIC` with no rules until one
    /// is set. Read through the push settings' cache (`push_settings`).
    pub async fn scanning_configuration(&self) -> ServiceResult<RegistryScanningConfiguration> {
        Ok(self.push_settings().await?.scanning.clone())
    }

    /// The scanning configuration as stored.
    pub(super) async fn stored_scanning_configuration(
        &self,
    ) -> ServiceResult<RegistryScanningConfiguration> {
        let stored = self.db.scanning_configuration().await?;
        Ok(stored
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default())
    }

    /// Stores the registry's scanning configuration after [`validate`].
    pub async fn set_scanning_configuration(
        &self,
        config: &RegistryScanningConfiguration,
    ) -> ServiceResult<()> {
        validate(config).map_err(|e| ServiceError::InvalidSetting(e.to_string()))?;
        let text = serde_json::to_string(config).expect("a configuration serializes");
        Ok(self.db.set_scanning_configuration(&text).await?)
    }
}

#[cfg(test)]
mod tests {
    /// The table of ECR's user guide ("Filters to choose which repositories
    /// are scanned"): filters down, repository names across.
    #[test]
    fn filters_match_as_ecrs_table_says() {
        let names = [
            "prod",
            "repo-prod",
            "prod-repo",
            "repo-prod-repo",
            "prodrepo",
        ];
        let table = [
            ("prod", [true, true, true, true, true]),
            ("*prod", [true, true, false, false, false]),
            ("prod*", [true, false, true, false, true]),
            ("*prod*", [true, true, true, true, true]),
            ("prod*repo", [false, false, true, false, true]),
        ];
        for (filter, expected) in table {
            for (name, want) in names.iter().zip(expected) {
                assert_eq!(filter_matches(filter, name), want, "{filter} on {name}");
            }
        }
    }

    use super::*;

    fn config(scan_type: &str, rules: &[(&str, &[&str])]) -> RegistryScanningConfiguration {
        RegistryScanningConfiguration {
            scan_type: scan_type.into(),
            rules: rules
                .iter()
                .map(|(frequency, filters)| ScanningRule {
                    scan_frequency: (*frequency).into(),
                    repository_filters: filters
                        .iter()
                        .map(|f| RepositoryFilter {
                            filter: (*f).into(),
                            filter_type: "WILDCARD".into(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn rules_and_the_repository_setting_combine_as_ecr_documents() {
        let none = RegistryScanningConfiguration::default();
        assert_eq!(applied(&none, "app", true).frequency, "SCAN_ON_PUSH");
        assert_eq!(applied(&none, "app", false).frequency, "MANUAL");
        let basic = config("BASIC", &[("SCAN_ON_PUSH", &["team-*"])]);
        assert_eq!(applied(&basic, "team-a", false).frequency, "SCAN_ON_PUSH");
        assert_eq!(applied(&basic, "other", false).frequency, "MANUAL");
        assert_eq!(applied(&basic, "other", true).frequency, "SCAN_ON_PUSH");
        let enhanced = config(
            "ENHANCED",
            &[("SCAN_ON_PUSH", &["*"]), ("CONTINUOUS_SCAN", &["prod-*"])],
        );
        let prod = applied(&enhanced, "prod-web", false);
        assert_eq!(prod.frequency, "CONTINUOUS_SCAN");
        assert!(prod.scans_on_push() && prod.continuous());
        assert_eq!(applied(&enhanced, "dev", false).frequency, "SCAN_ON_PUSH");
        let only_prod = config("ENHANCED", &[("CONTINUOUS_SCAN", &["prod-*"])]);
        // "Any repositories not matching an enhanced scanning filter will
        // have scanning disabled."
        assert_eq!(applied(&only_prod, "dev", true).frequency, "MANUAL");
    }

    #[test]
    fn validation_names_the_rule_and_the_field() {
        assert_eq!(
            validate(&config("BASIC", &[("SCAN_ON_PUSH", &["team-a/*"])])),
            Ok(())
        );
        assert_eq!(
            validate(&config(
                "ENHANCED",
                &[("CONTINUOUS_SCAN", &["*"]), ("SCAN_ON_PUSH", &["x"])]
            )),
            Ok(())
        );
        assert_eq!(
            validate(&config("FULL", &[])),
            Err(ScanningError::ScanType("FULL".into()))
        );
        assert!(matches!(
            validate(&config(
                "BASIC",
                &[("SCAN_ON_PUSH", &[]), ("CONTINUOUS_SCAN", &["x"])]
            )),
            Err(ScanningError::Frequency { rule: 1, .. })
        ));
        assert_eq!(
            validate(&config("BASIC", &[("MANUAL", &["Team"])])),
            Err(ScanningError::Filter {
                rule: 0,
                filter: "Team".into()
            })
        );
        assert_eq!(
            validate(&config("BASIC", &[("MANUAL", &[] as &[&str]); 3])),
            Err(ScanningError::TooManyRules)
        );
        let many: Vec<&str> = vec!["a"; FILTERS_MAX + 1];
        assert_eq!(
            validate(&config("BASIC", &[("MANUAL", &many)])),
            Err(ScanningError::TooManyFilters { rule: 0 })
        );
    }
}

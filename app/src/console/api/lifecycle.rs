//! A repository's lifecycle policy in the console: the editor's state, the
//! rule builder's model, the server's preview (a dry run), applying the
//! policy, and the history of expirations. The browser evaluates drafts with
//! the same evaluator the server runs ([`crate::lifecycle`]).
// In the browser build `#[server]` turns `test_lifecycle` into a client stub
// that takes the same arguments but not the function's own `allow` below.
#![cfg_attr(
    feature = "hydrate",
    allow(
        clippy::too_many_arguments,
        reason = "a server function's arguments are its form's fields"
    )
)]

use super::ConsoleError;
use crate::lifecycle::{self, Action, ImageFacts, LifecycleDecision};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the lifecycle tab loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleState {
    /// The saved policy, if any.
    pub policy: Option<String>,
    /// The policy of the latest preview (test run), if any.
    pub preview_policy: Option<String>,
    /// The repository's images, as the evaluator sees them.
    pub images: Vec<ImageFacts>,
    /// The server's clock (ms) when it answered; the browser evaluates as of
    /// this moment plus the time elapsed since, so both agree.
    pub now_ms: i64,
    /// When the saved policy was last applied.
    pub evaluated_at: Option<String>,
    /// Past expirations, newest first.
    pub history: Vec<Expiration>,
}

/// One past expiration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiration {
    /// The image's digest.
    pub digest: String,
    /// Its tags when it expired.
    pub tags: Vec<String>,
    /// The rule that expired it.
    pub rule: Option<u32>,
    /// When, `YYYY-MM-DD HH:MM:SS UTC`.
    pub expired_at: String,
}

/// One image's fate under a policy, as the tables show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRow {
    /// Digest.
    pub digest: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Push time (ms).
    pub pushed_at_ms: i64,
    /// Whether the policy expires it.
    pub expire: bool,
    /// The rule that acted on it or protected it.
    pub rule: Option<u32>,
    /// Why, in a sentence.
    pub reason: String,
}

/// The rows for `decisions` over `images`: expiring images first, then kept
/// ones, newest first within each.
pub fn decision_rows(images: &[ImageFacts], decisions: &[LifecycleDecision]) -> Vec<DecisionRow> {
    let mut rows: Vec<DecisionRow> = decisions
        .iter()
        .filter_map(|d| {
            let image = images.iter().find(|i| i.digest == d.digest)?;
            Some(DecisionRow {
                digest: d.digest.clone(),
                tags: image.tags.clone(),
                pushed_at_ms: image.pushed_at_ms,
                expire: d.action == Action::Expire,
                rule: d.rule,
                reason: lifecycle::summarize(d),
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        b.expire
            .cmp(&a.expire)
            .then(b.pushed_at_ms.cmp(&a.pushed_at_ms))
            .then(a.digest.cmp(&b.digest))
    });
    rows
}

/// Evaluates a policy's text against images at `now_ms`: the rows, or the
/// parser's message.
pub fn dry_run(text: &str, images: &[ImageFacts], now_ms: i64) -> Result<Vec<DecisionRow>, String> {
    let policy = lifecycle::parse(text).map_err(|e| e.to_string())?;
    let decisions = lifecycle::evaluate(&policy, images, now_ms);
    Ok(decision_rows(images, &decisions))
}

/// The rule builder's form: one rule in the words of ECR's console.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleDraft {
    /// Rule priority (1 is applied first).
    pub priority: String,
    /// Description.
    pub description: String,
    /// `tagged-wildcard`, `tagged-prefix`, `untagged` or `any`.
    pub status: String,
    /// Tag patterns or prefixes, comma-separated.
    pub tags: String,
    /// `sinceImagePushed` (days since pushed) or `imageCountMoreThan`.
    pub count_type: String,
    /// Days, or the number of images to keep.
    pub count: String,
}

impl RuleDraft {
    /// The rule as ECR's JSON, or a message naming the field (`field`, message).
    pub fn to_rule(&self) -> Result<serde_json::Value, (&'static str, String)> {
        let priority: u32 = self
            .priority
            .trim()
            .parse()
            .ok()
            .filter(|p| *p >= 1)
            .ok_or((
                "rule_priority",
                "Rule priority must be a whole number, 1 or more.".into(),
            ))?;
        let count: u32 = self.count.trim().parse().ok().filter(|c| *c >= 1).ok_or((
            "rule_count",
            "The count must be a whole number, 1 or more.".into(),
        ))?;
        let list: Vec<String> = self
            .tags
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        let mut selection = serde_json::Map::new();
        let status = match self.status.as_str() {
            "tagged-wildcard" | "tagged-prefix" if list.is_empty() => {
                return Err((
                    "rule_tags",
                    "List at least one tag pattern or prefix for a rule on tagged images.".into(),
                ))
            }
            "tagged-wildcard" => {
                selection.insert("tagPatternList".into(), list.into());
                "tagged"
            }
            "tagged-prefix" => {
                selection.insert("tagPrefixList".into(), list.into());
                "tagged"
            }
            "untagged" => "untagged",
            _ => "any",
        };
        selection.insert("tagStatus".into(), status.into());
        if self.count_type == "sinceImagePushed" {
            selection.insert("countType".into(), "sinceImagePushed".into());
            selection.insert("countUnit".into(), "days".into());
        } else {
            selection.insert("countType".into(), "imageCountMoreThan".into());
        }
        selection.insert("countNumber".into(), count.into());
        let mut rule = serde_json::Map::new();
        rule.insert("rulePriority".into(), priority.into());
        if !self.description.trim().is_empty() {
            rule.insert("description".into(), self.description.trim().into());
        }
        rule.insert("selection".into(), selection.into());
        rule.insert("action".into(), serde_json::json!({ "type": "expire" }));
        Ok(rule.into())
    }
}

/// `text` with `draft` added as one more rule, pretty-printed; an empty text
/// starts a new policy. Errors name the form field they belong to.
pub fn add_rule(text: &str, draft: &RuleDraft) -> Result<String, (&'static str, String)> {
    let rule = draft.to_rule()?;
    let mut policy: serde_json::Value = if text.trim().is_empty() {
        serde_json::json!({ "rules": [] })
    } else {
        serde_json::from_str(text)
            .map_err(|e| ("policy", format!("The policy is not valid JSON: {e}")))?
    };
    let rules = policy
        .get_mut("rules")
        .and_then(|r| r.as_array_mut())
        .ok_or(("policy", "The policy has no \"rules\" list.".to_owned()))?;
    rules.push(rule);
    Ok(serde_json::to_string_pretty(&policy).expect("JSON values serialize"))
}

/// The server's answer to "Save and run test": the tested policy and its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewResult {
    /// The policy that was tested (with any rule just added).
    pub policy: String,
    /// Every image's fate.
    pub rows: Vec<DecisionRow>,
}

/// The server side of this module's functions.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait LifecycleBackend {
    /// The tab's state.
    async fn lifecycle_state(&self, name: &str) -> Result<LifecycleState, ConsoleError>;
    /// Runs a preview of `policy` (StartLifecyclePolicyPreview) and returns every image's fate.
    async fn preview_lifecycle(
        &self,
        name: &str,
        policy: &str,
    ) -> Result<PreviewResult, ConsoleError>;
    /// Saves `policy` as the lifecycle policy (PutLifecyclePolicy).
    async fn save_lifecycle(&self, name: &str, policy: &str) -> Result<(), ConsoleError>;
    /// Applies the saved policy now; returns how many images expired.
    async fn run_lifecycle(&self, name: &str) -> Result<u32, ConsoleError>;
}

/// The lifecycle tab's state.
#[server(endpoint = "lifecycle_state")]
pub async fn load_lifecycle(name: String) -> Result<LifecycleState, ConsoleError> {
    super::backend()?.lifecycle_state(&name).await
}

/// "Save and run test": previews `policy` (with the builder's rule added when
/// `add` is set) on the server.
#[server(endpoint = "test_lifecycle")]
// `allow`, not `expect`: the macro copies the attribute onto generated items
// where the lint does not fire.
#[allow(
    clippy::too_many_arguments,
    reason = "a server function's arguments are its form's fields"
)]
pub async fn test_lifecycle(
    name: String,
    #[server(default)] policy: String,
    #[server(default)] add: Option<String>,
    #[server(default)] rule_priority: String,
    #[server(default)] rule_description: String,
    #[server(default)] rule_status: String,
    #[server(default)] rule_tags: String,
    #[server(default)] rule_count_type: String,
    #[server(default)] rule_count: String,
) -> Result<PreviewResult, ConsoleError> {
    let policy = if add.is_some() {
        let draft = RuleDraft {
            priority: rule_priority,
            description: rule_description,
            status: rule_status,
            tags: rule_tags,
            count_type: rule_count_type,
            count: rule_count,
        };
        add_rule(&policy, &draft)
            .map_err(|(field, message)| ConsoleError::invalid(field, message))?
    } else {
        policy
    };
    if let Err(error) = lifecycle::parse(&policy) {
        return Err(ConsoleError::invalid("policy", error.to_string()));
    }
    super::backend()?.preview_lifecycle(&name, &policy).await
}

/// "Apply as lifecycle policy".
#[server(endpoint = "save_lifecycle")]
pub async fn save_lifecycle(name: String, policy: String) -> Result<(), ConsoleError> {
    if let Err(error) = lifecycle::parse(&policy) {
        return Err(ConsoleError::invalid("policy", error.to_string()));
    }
    super::backend()?.save_lifecycle(&name, &policy).await
}

/// "Run now": applies the saved policy.
#[server(endpoint = "run_lifecycle")]
pub async fn run_lifecycle(name: String) -> Result<u32, ConsoleError> {
    super::backend()?.run_lifecycle(&name).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(status: &str, tags: &str, count_type: &str, count: &str) -> RuleDraft {
        RuleDraft {
            priority: "1".into(),
            description: "keep few".into(),
            status: status.into(),
            tags: tags.into(),
            count_type: count_type.into(),
            count: count.into(),
        }
    }

    #[test]
    fn the_builder_writes_ecr_rules() {
        let text = add_rule(
            "",
            &draft("tagged-prefix", "prod, release", "imageCountMoreThan", "3"),
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"rules": [{
                "rulePriority": 1,
                "description": "keep few",
                "selection": {"tagStatus": "tagged", "tagPrefixList": ["prod", "release"], "countType": "imageCountMoreThan", "countNumber": 3},
                "action": {"type": "expire"}
            }]})
        );
        lifecycle::parse(&text).expect("the builder's policy is valid");
        let mut second = draft("untagged", "", "sinceImagePushed", "14");
        second.priority = "2".into();
        second.description.clear();
        let text = add_rule(&text, &second).unwrap();
        let policy = lifecycle::parse(&text).unwrap();
        assert_eq!(policy.rules.len(), 2);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["rules"][1],
            serde_json::json!({"rulePriority": 2, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}, "action": {"type": "expire"}})
        );
        let wildcard = add_rule(
            "",
            &draft("tagged-wildcard", "v*-rc", "imageCountMoreThan", "1"),
        )
        .unwrap();
        assert!(wildcard.contains("tagPatternList"));
    }

    #[test]
    fn the_builder_names_the_field_at_fault() {
        assert_eq!(
            add_rule("", &draft("any", "", "imageCountMoreThan", "0"))
                .unwrap_err()
                .0,
            "rule_count"
        );
        let mut bad = draft("any", "", "imageCountMoreThan", "1");
        bad.priority = "first".into();
        assert_eq!(add_rule("", &bad).unwrap_err().0, "rule_priority");
        assert_eq!(
            add_rule(
                "",
                &draft("tagged-prefix", " , ", "imageCountMoreThan", "1")
            )
            .unwrap_err()
            .0,
            "rule_tags"
        );
        assert_eq!(
            add_rule("{not json", &draft("any", "", "imageCountMoreThan", "1"))
                .unwrap_err()
                .0,
            "policy"
        );
        assert_eq!(
            add_rule("{\"x\": 1}", &draft("any", "", "imageCountMoreThan", "1"))
                .unwrap_err()
                .0,
            "policy"
        );
    }

    #[test]
    fn rows_list_expiring_images_first_with_their_reasons() {
        let image = |digest: &str, tags: &[&str], at: i64| ImageFacts {
            digest: digest.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            pushed_at_ms: at,
            last_pulled_at_ms: None,
            referenced_by_index: false,
            subject: None,
        };
        let images = vec![
            image("sha256:a", &["v1"], 1_000),
            image("sha256:b", &["v2"], 2_000),
            image("sha256:c", &[], 3_000),
        ];
        let text = add_rule(
            "",
            &draft("tagged-wildcard", "v*", "imageCountMoreThan", "1"),
        )
        .unwrap();
        let rows = dry_run(&text, &images, 10_000).unwrap();
        let summary: Vec<(&str, bool, Option<u32>)> = rows
            .iter()
            .map(|r| (r.digest.as_str(), r.expire, r.rule))
            .collect();
        assert_eq!(
            summary,
            [
                ("sha256:a", true, Some(1)),
                ("sha256:c", false, None),
                ("sha256:b", false, Some(1))
            ]
        );
        assert!(
            rows[0]
                .reason
                .starts_with("Expire: rule 1 keeps the newest image"),
            "{}",
            rows[0].reason
        );
        assert!(dry_run("{}", &images, 0).is_err());
    }
}

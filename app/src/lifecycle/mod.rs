//! Amazon ECR lifecycle policies: parsing, validation and evaluation, with
//! ECR's documented semantics (see `shared/reference/lifecycle.md`).
//!
//! This module is pure: no I/O, no clock (callers pass `now`), no async, no
//! global state. The server's lifecycle job, the dry-run preview and the
//! console's policy editor (in the browser, `wasm32-unknown-unknown`) all run
//! this same code.
//!
//! - [`parse`] reads a policy's text: length (100–30,720 characters), JSON
//!   shape ([`parse_document`]) and ECR's constraints ([`validate`]). Every
//!   [`LifecycleError`] names the rule (by `rulePriority`, or by position
//!   when the priority is unknown) and the field.
//! - [`evaluate`] decides every image of a repository: [`Action::Expire`] or
//!   [`Action::Keep`], with the rule that acted on it or protected it.
//! - [`summarize`] turns a decision into a sentence for people.
//!
//! ECR's archive storage class (`storageClass: "archive"`,
//! `sinceImagePulled`, `sinceImageTransitioned`, the `transition` action) is
//! parsed into the same types, then refused by [`validate`] with
//! [`LifecycleErrorKind::Unsupported`]: Berth has no archive tier yet.

mod evaluate;
mod parse;
mod validate;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod validation_tests;

pub use evaluate::{evaluate, pattern_matches, DAY_MS};
pub use parse::{
    parse, parse_document, LifecycleError, LifecycleErrorKind, MAX_TEXT_CHARS, MIN_TEXT_CHARS,
};
pub use validate::{validate, validation_errors, MAX_RULES, MAX_WILDCARDS};

use serde::{Deserialize, Serialize};

/// A lifecycle policy: its rules, in the order the document lists them.
/// [`evaluate`] applies them by ascending `rulePriority`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecyclePolicy {
    pub rules: Vec<Rule>,
}

/// One rule. Serializes to ECR's JSON (camelCase keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Lower numbers are applied first; unique within a policy.
    pub rule_priority: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub selection: Selection,
    pub action: RuleAction,
}

/// Which images a rule selects, and when it acts on them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    pub tag_status: TagStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_pattern_list: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_prefix_list: Option<Vec<String>>,
    /// Absent means `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<StorageClass>,
    pub count_type: CountType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_unit: Option<CountUnit>,
    /// A count of images (`imageCountMoreThan`) or of days (`since*`).
    pub count_number: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageClass {
    Standard,
    Archive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CountType {
    ImageCountMoreThan,
    SinceImagePushed,
    SinceImagePulled,
    SinceImageTransitioned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CountUnit {
    Days,
}

/// What a rule does to the images it acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleAction {
    #[serde(rename = "type")]
    pub kind: ActionType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_storage_class: Option<StorageClass>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionType {
    Expire,
    Transition,
}

impl CountType {
    /// The name used in policy JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CountType::ImageCountMoreThan => "imageCountMoreThan",
            CountType::SinceImagePushed => "sinceImagePushed",
            CountType::SinceImagePulled => "sinceImagePulled",
            CountType::SinceImageTransitioned => "sinceImageTransitioned",
        }
    }

    /// `since*` count types measure days and need `countUnit`.
    pub fn is_since(self) -> bool {
        self != CountType::ImageCountMoreThan
    }
}

impl TagStatus {
    /// The name used in policy JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TagStatus::Tagged => "tagged",
            TagStatus::Untagged => "untagged",
            TagStatus::Any => "any",
        }
    }
}

impl Selection {
    /// The storage class the rule selects (`standard` when omitted).
    pub fn effective_storage_class(&self) -> StorageClass {
        self.storage_class.unwrap_or(StorageClass::Standard)
    }

    /// Whether an image with these tags meets the rule's *tag* requirements
    /// (ECR's "matches the tagging requirements of a rule"), ignoring counts,
    /// ages and storage class.
    ///
    /// `tagged`: the image has a tag, and every entry of the pattern or prefix
    /// list is matched by at least one of the image's tags (different entries
    /// may be matched by different tags, or by the same one; other tags of the
    /// image do not matter). `untagged`: the image has no tag. `any`: always.
    pub fn matches_tags<S: AsRef<str>>(&self, tags: &[S]) -> bool {
        match self.tag_status {
            TagStatus::Any => true,
            TagStatus::Untagged => tags.is_empty(),
            TagStatus::Tagged => {
                if tags.is_empty() {
                    return false;
                }
                let some_tag = |f: &dyn Fn(&str) -> bool| tags.iter().any(|t| f(t.as_ref()));
                match (&self.tag_pattern_list, &self.tag_prefix_list) {
                    (Some(patterns), _) if !patterns.is_empty() => patterns
                        .iter()
                        .all(|p| some_tag(&|t| pattern_matches(p, t))),
                    (_, Some(prefixes)) if !prefixes.is_empty() => prefixes
                        .iter()
                        .all(|p| some_tag(&|t| t.starts_with(p.as_str()))),
                    // An invalid rule (no list) selects nothing.
                    _ => false,
                }
            }
        }
    }
}

/// What [`evaluate`] needs to know about one image (one manifest digest) of
/// the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFacts {
    pub digest: String,
    pub tags: Vec<String>,
    /// Milliseconds since the Unix epoch.
    pub pushed_at_ms: i64,
    /// Milliseconds since the Unix epoch; `None` if never pulled.
    pub last_pulled_at_ms: Option<i64>,
    /// An image index (manifest list) in the repository references this image.
    pub referenced_by_index: bool,
    /// The digest of the manifest this one refers to (OCI `subject`), if any.
    pub subject: Option<String>,
}

/// The decision for one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Expire,
    Keep,
}

/// [`evaluate`]'s answer for one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleDecision {
    pub digest: String,
    pub action: Action,
    /// For `Expire`: the rule that expires it (for a referrer expired with its
    /// subject, the subject's rule). For `Keep`: the highest-priority rule
    /// whose tag selection matches the image — it protects the image from
    /// every lower-priority rule — or `None` if no rule selects it.
    pub rule: Option<u32>,
    pub reason: Reason,
}

/// Why an image is kept or expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Reason {
    /// `imageCountMoreThan`: the image is the `rank`-th newest (from 1) of the
    /// images the rule selects. Expired when `rank > count_number`, kept
    /// (retained by the rule) otherwise.
    #[serde(rename_all = "camelCase")]
    ImageCount { rank: u32, count_number: u32 },
    /// `since*`: the image's age by `basis`. Expired when older than
    /// `count_number` days, kept (retained by the rule) otherwise.
    #[serde(rename_all = "camelCase")]
    ImageAge {
        basis: AgeBasis,
        age_ms: i64,
        count_number: u32,
    },
    /// The rule would expire it, but an image index in the repository
    /// references it: it can go only after the index is gone.
    ReferencedByIndex,
    /// The rule would archive it (`transition`); Berth has no archive tier.
    TransitionUnsupported,
    /// Expired because its subject (`subject`) is expired.
    #[serde(rename_all = "camelCase")]
    SubjectExpired { subject: String },
    /// A referrer whose subject (`subject`) is in the repository: it goes
    /// with its subject, and no rule selects it on its own.
    #[serde(rename_all = "camelCase")]
    FollowsSubject { subject: String },
    /// No rule's tag selection matches the image.
    NotSelected,
}

/// The time an age is measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AgeBasis {
    /// `sinceImagePushed`: the push time.
    Pushed,
    /// `sinceImagePulled`: the last pull, or the push if never pulled.
    Pulled,
}

/// A one-sentence explanation of a decision, for people (console, CLI, logs).
pub fn summarize(decision: &LifecycleDecision) -> String {
    let r = match decision.rule {
        Some(p) => format!("rule {p}"),
        None => "no rule".to_owned(),
    };
    let days = |d: i64| {
        if d == 1 {
            "1 day".to_owned()
        } else {
            format!("{d} days")
        }
    };
    let age = |ms: i64| days(ms.max(0).div_euclid(DAY_MS));
    let newest = |n: u32| {
        if n == 1 {
            "the newest image".to_owned()
        } else {
            format!("the {n} newest images")
        }
    };
    let since = |basis: AgeBasis| match basis {
        AgeBasis::Pushed => "pushed",
        AgeBasis::Pulled => "last pulled (or pushed, if never pulled)",
    };
    const SHIELD: &str = "lower-priority rules cannot expire it.";
    match (decision.action, &decision.reason) {
        (Action::Expire, Reason::ImageCount { rank, count_number }) => format!(
            "Expire: {r} keeps {} it selects, and this is number {rank}.",
            newest(*count_number)
        ),
        (Action::Keep, Reason::ImageCount { rank, count_number }) => format!(
            "Keep: retained by {r}, which keeps {} it selects (this is number {rank}); {SHIELD}",
            newest(*count_number)
        ),
        (
            action,
            Reason::ImageAge {
                basis,
                age_ms,
                count_number,
            },
        ) => {
            let limit = days(i64::from(*count_number));
            let (since, age) = (since(*basis), age(*age_ms));
            if action == Action::Expire {
                format!("Expire: {r} expires images {since} more than {limit} ago; this one: {age} ago.")
            } else {
                format!(
                    "Keep: retained by {r}, which expires images {since} more than {limit} ago \
                     (this one: {age} ago); {SHIELD}"
                )
            }
        }
        (_, Reason::ReferencedByIndex) => format!(
            "Keep: {r} would expire it, but an image index in the repository references it."
        ),
        (_, Reason::TransitionUnsupported) => {
            format!("Keep: {r} would archive it, but Berth has no archive tier yet.")
        }
        (Action::Expire, Reason::SubjectExpired { subject }) => {
            format!("Expire: it refers to {subject}, which is expired ({r}).")
        }
        (Action::Keep, Reason::SubjectExpired { subject }) => {
            format!("Keep: it refers to {subject}.")
        }
        (_, Reason::FollowsSubject { subject }) => format!(
            "Keep: it refers to {subject}, which stays; it goes when {subject} goes, and no rule selects it on its own."
        ),
        (Action::Expire, Reason::NotSelected) => format!("Expire: {r}."),
        (Action::Keep, Reason::NotSelected) => "Keep: no rule selects it.".to_owned(),
    }
}

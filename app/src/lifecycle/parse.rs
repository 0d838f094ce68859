//! Parsing: a policy's text into typed rules, and the error type that
//! parsing and validation share.

use super::*;
use serde_json::{Map, Value};
use std::fmt;

/// The shortest policy text ECR accepts, in characters.
pub const MIN_TEXT_CHARS: usize = 100;
/// The longest policy text ECR accepts, in characters.
pub const MAX_TEXT_CHARS: usize = 30_720;

/// ECR stores `rulePriority` and `countNumber` as 32-bit signed integers.
pub(super) const MAX_INT: i64 = i32::MAX as i64;

const TOP_KEYS: &[&str] = &["rules"];
const RULE_KEYS: &[&str] = &["rulePriority", "description", "selection", "action"];
const SELECTION_KEYS: &[&str] = &[
    "tagStatus",
    "tagPatternList",
    "tagPrefixList",
    "storageClass",
    "countType",
    "countUnit",
    "countNumber",
];
const ACTION_KEYS: &[&str] = &["type", "targetStorageClass"];

/// What kind of problem a [`LifecycleError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LifecycleErrorKind {
    /// The text is not JSON.
    Json,
    /// The text is shorter than 100 or longer than 30,720 characters.
    Length,
    /// A field is missing, unknown, of the wrong type or out of range.
    Shape,
    /// The policy breaks one of ECR's rules.
    Invalid,
    /// Valid for ECR but needs the archive tier, which Berth does not have yet.
    Unsupported,
}

/// A policy ECR (or Berth) refuses, naming the rule and field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleError {
    pub kind: LifecycleErrorKind,
    /// The rule's `rulePriority`, when the error is about one rule whose
    /// priority was read.
    pub rule_priority: Option<u32>,
    /// The rule's position in `rules` (from 0), when about one rule.
    pub rule_index: Option<usize>,
    /// The field's path inside the rule (`selection.countUnit`), or at the top
    /// level (`rules`).
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.rule_priority, self.rule_index) {
            (Some(p), _) => write!(f, "rule {p}")?,
            (None, Some(i)) => write!(f, "rules[{i}]")?,
            (None, None) => {}
        }
        let located = self.rule_priority.is_some() || self.rule_index.is_some();
        match (&self.field, located) {
            (Some(field), true) => write!(f, ", {field}: ")?,
            (Some(field), false) => write!(f, "{field}: ")?,
            (None, true) => write!(f, ": ")?,
            (None, false) => {}
        }
        f.write_str(&self.message)
    }
}

/// Where an error is: the rule (priority if known, index) and field path.
#[derive(Clone, Copy)]
pub(super) struct At<'a> {
    pub(super) priority: Option<u32>,
    pub(super) index: Option<usize>,
    pub(super) field: &'a str,
}

impl At<'_> {
    pub(super) fn err(
        self,
        kind: LifecycleErrorKind,
        message: impl Into<String>,
    ) -> LifecycleError {
        LifecycleError {
            kind,
            rule_priority: self.priority,
            rule_index: self.index,
            field: (!self.field.is_empty()).then(|| self.field.to_owned()),
            message: message.into(),
        }
    }
    pub(super) fn shape(self, message: impl Into<String>) -> LifecycleError {
        self.err(LifecycleErrorKind::Shape, message)
    }
    pub(super) fn invalid(self, message: impl Into<String>) -> LifecycleError {
        self.err(LifecycleErrorKind::Invalid, message)
    }
    pub(super) fn unsupported(self, message: impl Into<String>) -> LifecycleError {
        self.err(LifecycleErrorKind::Unsupported, message)
    }
    pub(super) fn field(self, field: &str) -> At<'_> {
        At { field, ..self }
    }
}

pub(super) fn rule_at<'a>(rule: &Rule, index: usize, field: &'a str) -> At<'a> {
    At {
        priority: Some(rule.rule_priority),
        index: Some(index),
        field,
    }
}

/// Parses and validates a policy's text exactly as `PutLifecyclePolicy`
/// does: length, JSON shape, then ECR's constraints. The first problem found
/// is returned.
pub fn parse(text: &str) -> Result<LifecyclePolicy, LifecycleError> {
    let chars = text.chars().count();
    if !(MIN_TEXT_CHARS..=MAX_TEXT_CHARS).contains(&chars) {
        return Err(LifecycleError {
            kind: LifecycleErrorKind::Length,
            rule_priority: None,
            rule_index: None,
            field: None,
            message: format!(
                "the policy text has {chars} characters; it must have between \
                 {MIN_TEXT_CHARS} and {MAX_TEXT_CHARS}"
            ),
        });
    }
    let policy = parse_document(text)?;
    validate(&policy)?;
    Ok(policy)
}

/// Reads the JSON into typed rules, checking only the shape: known keys,
/// required fields, types, enum values, integer ranges. Use [`validate`] for
/// ECR's constraints.
pub fn parse_document(text: &str) -> Result<LifecyclePolicy, LifecycleError> {
    let top_at = At {
        priority: None,
        index: None,
        field: "",
    };
    let value: Value = serde_json::from_str(text).map_err(|e| {
        top_at.err(
            LifecycleErrorKind::Json,
            format!("the policy is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(top) = value else {
        return Err(top_at.shape("the policy must be a JSON object with a \"rules\" array"));
    };
    check_keys(&top, TOP_KEYS, top_at)?;
    let rules_at = top_at.field("rules");
    let items = match top.get("rules") {
        None => return Err(rules_at.shape("is required")),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(rules_at.shape(format!("must be an array, not {}", type_name(other))))
        }
    };
    let rules = items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_rule(index, item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LifecyclePolicy { rules })
}

fn parse_rule(index: usize, item: &Value) -> Result<Rule, LifecycleError> {
    let mut at = At {
        priority: None,
        index: Some(index),
        field: "",
    };
    let Value::Object(map) = item else {
        return Err(at.shape(format!("a rule must be an object, not {}", type_name(item))));
    };
    let priority = required_int(map, "rulePriority", at)?;
    at.priority = Some(priority);
    check_keys(map, RULE_KEYS, at)?;
    let description = match map.get("description") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(at
                .field("description")
                .shape(format!("must be a string, not {}", type_name(other))))
        }
    };
    let selection_at = at.field("selection");
    let selection = match map.get("selection") {
        Some(Value::Object(s)) => parse_selection(s, at)?,
        Some(other) => {
            return Err(selection_at.shape(format!("must be an object, not {}", type_name(other))))
        }
        None => return Err(selection_at.shape("is required")),
    };
    let action_at = at.field("action");
    let action = match map.get("action") {
        Some(Value::Object(a)) => parse_action(a, at)?,
        Some(other) => {
            return Err(action_at.shape(format!("must be an object, not {}", type_name(other))))
        }
        None => return Err(action_at.shape("is required")),
    };
    Ok(Rule {
        rule_priority: priority,
        description,
        selection,
        action,
    })
}

fn parse_selection(map: &Map<String, Value>, rule: At) -> Result<Selection, LifecycleError> {
    let at = rule.field("selection");
    check_keys(map, SELECTION_KEYS, at)?;
    let tag_status = match required_str(map, "tagStatus", "selection.tagStatus", rule)? {
        "tagged" => TagStatus::Tagged,
        "untagged" => TagStatus::Untagged,
        "any" => TagStatus::Any,
        other => {
            return Err(bad_enum(
                rule,
                "selection.tagStatus",
                other,
                "\"tagged\", \"untagged\" or \"any\"",
            ))
        }
    };
    let storage_class = match optional_str(map, "storageClass", "selection.storageClass", rule)? {
        None => None,
        Some(s) => Some(storage_class(s, rule, "selection.storageClass")?),
    };
    let count_type = match required_str(map, "countType", "selection.countType", rule)? {
        "imageCountMoreThan" => CountType::ImageCountMoreThan,
        "sinceImagePushed" => CountType::SinceImagePushed,
        "sinceImagePulled" => CountType::SinceImagePulled,
        "sinceImageTransitioned" => CountType::SinceImageTransitioned,
        other => {
            return Err(bad_enum(
                rule,
                "selection.countType",
                other,
                "\"imageCountMoreThan\", \"sinceImagePushed\", \"sinceImagePulled\" or \"sinceImageTransitioned\"",
            ))
        }
    };
    let count_unit = match optional_str(map, "countUnit", "selection.countUnit", rule)? {
        None => None,
        Some("days") => Some(CountUnit::Days),
        Some(other) => return Err(bad_enum(rule, "selection.countUnit", other, "\"days\"")),
    };
    Ok(Selection {
        tag_status,
        tag_pattern_list: string_list(map, "tagPatternList", "selection.tagPatternList", rule)?,
        tag_prefix_list: string_list(map, "tagPrefixList", "selection.tagPrefixList", rule)?,
        storage_class,
        count_type,
        count_unit,
        count_number: required_int(map, "countNumber", rule.field("selection.countNumber"))?,
    })
}

fn parse_action(map: &Map<String, Value>, rule: At) -> Result<RuleAction, LifecycleError> {
    check_keys(map, ACTION_KEYS, rule.field("action"))?;
    let kind = match required_str(map, "type", "action.type", rule)? {
        "expire" => ActionType::Expire,
        "transition" => ActionType::Transition,
        other => {
            return Err(bad_enum(
                rule,
                "action.type",
                other,
                "\"expire\" or \"transition\"",
            ))
        }
    };
    let target_storage_class =
        match optional_str(map, "targetStorageClass", "action.targetStorageClass", rule)? {
            None => None,
            Some(s) => Some(storage_class(s, rule, "action.targetStorageClass")?),
        };
    Ok(RuleAction {
        kind,
        target_storage_class,
    })
}

fn check_keys(map: &Map<String, Value>, allowed: &[&str], at: At) -> Result<(), LifecycleError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => {
            let path = if at.field.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", at.field)
            };
            Err(at.field(&path).shape(format!(
                "unknown field {key:?}; allowed here: {}",
                allowed.join(", ")
            )))
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn bad_enum(rule: At, path: &str, got: &str, expected: &str) -> LifecycleError {
    rule.field(path)
        .shape(format!("{got:?} is not allowed; use {expected}"))
}

fn storage_class(s: &str, rule: At, path: &str) -> Result<StorageClass, LifecycleError> {
    match s {
        "standard" => Ok(StorageClass::Standard),
        "archive" => Ok(StorageClass::Archive),
        other => Err(bad_enum(rule, path, other, "\"standard\" or \"archive\"")),
    }
}

/// A required integer in 1..=2^31-1; `at.field` is the full path.
fn required_int(map: &Map<String, Value>, key: &str, at: At) -> Result<u32, LifecycleError> {
    let at = if at.field.is_empty() {
        at.field(key)
    } else {
        at
    };
    let n = match map.get(key) {
        None => return Err(at.shape("is required")),
        Some(Value::Number(n)) => n,
        Some(other) => {
            return Err(at.shape(format!("must be an integer, not {}", type_name(other))))
        }
    };
    let in_range = match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => (1..=MAX_INT).contains(&i),
        (None, Some(_)) => false,
        (None, None) => return Err(at.shape(format!("must be an integer, not {n}"))),
    };
    if !in_range {
        return Err(at.invalid(format!(
            "must be a positive integer (1 to {MAX_INT}), not {n}"
        )));
    }
    Ok(n.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
}

fn required_str<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    path: &str,
    rule: At,
) -> Result<&'v str, LifecycleError> {
    optional_str(map, key, path, rule)?.ok_or_else(|| rule.field(path).shape("is required"))
}

fn optional_str<'v>(
    map: &'v Map<String, Value>,
    key: &str,
    path: &str,
    rule: At,
) -> Result<Option<&'v str>, LifecycleError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(rule
            .field(path)
            .shape(format!("must be a string, not {}", type_name(other)))),
    }
}

fn string_list(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    rule: At,
) -> Result<Option<Vec<String>>, LifecycleError> {
    let at = rule.field(path);
    match map.get(key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(at.shape(format!(
                    "must be an array of strings; found {}",
                    type_name(other)
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(at.shape(format!(
            "must be an array of strings, not {}",
            type_name(other)
        ))),
    }
}

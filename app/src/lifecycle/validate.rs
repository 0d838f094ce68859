//! Validation: ECR's constraints on a parsed lifecycle policy.

use super::parse::{rule_at, At, MAX_INT};
use super::*;
use std::collections::BTreeMap;

/// The most rules a policy may have (ECR quota, not adjustable).
pub const MAX_RULES: usize = 50;
/// The most `*` wildcards one `tagPatternList` entry may have.
pub const MAX_WILDCARDS: usize = 4;
/// Archived images have a minimum storage duration of 90 days.
const MIN_ARCHIVE_DAYS: u32 = 90;

const NO_ARCHIVE: &str = "Berth has no archive tier yet";

/// Checks ECR's constraints; returns the first problem of
/// [`validation_errors`].
pub fn validate(policy: &LifecyclePolicy) -> Result<(), LifecycleError> {
    match validation_errors(policy).into_iter().next() {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// Every problem with the policy, in a fixed order: the number of rules, then
/// each rule's own problems in document order (ECR's constraints first; only
/// a rule ECR accepts is then checked for needing the archive tier), then the
/// problems between rules.
pub fn validation_errors(policy: &LifecyclePolicy) -> Vec<LifecycleError> {
    let mut errors = Vec::new();
    let top = At {
        priority: None,
        index: None,
        field: "rules",
    };
    if policy.rules.is_empty() {
        errors.push(top.invalid("a policy needs at least one rule"));
    }
    if policy.rules.len() > MAX_RULES {
        errors.push(top.invalid(format!(
            "a policy has at most {MAX_RULES} rules; this one has {}",
            policy.rules.len()
        )));
    }
    for (index, rule) in policy.rules.iter().enumerate() {
        let before = errors.len();
        rule_errors(rule, index, &mut errors);
        if errors.len() == before {
            archive_errors(rule, index, &mut errors);
        }
    }
    cross_rule_errors(policy, &mut errors);
    errors
}

fn rule_errors(rule: &Rule, index: usize, errors: &mut Vec<LifecycleError>) {
    let at = |field| rule_at(rule, index, field);
    let s = &rule.selection;
    // `parse_document` checks these ranges; a policy built in code may not.
    for (n, field) in [
        (rule.rule_priority, "rulePriority"),
        (s.count_number, "selection.countNumber"),
    ] {
        if !(1..=MAX_INT).contains(&i64::from(n)) {
            errors.push(at(field).invalid(format!(
                "must be a positive integer (1 to {MAX_INT}), not {n}"
            )));
        }
    }
    match s.tag_status {
        TagStatus::Tagged => match (&s.tag_pattern_list, &s.tag_prefix_list) {
            (Some(_), Some(_)) => errors.push(
                at("selection.tagPrefixList")
                    .invalid("a rule may specify tagPatternList or tagPrefixList, not both"),
            ),
            (None, None) => errors.push(
                at("selection.tagStatus")
                    .invalid("tagStatus \"tagged\" needs a tagPatternList or a tagPrefixList"),
            ),
            _ => {}
        },
        status => {
            for (list, name) in [
                (&s.tag_pattern_list, "selection.tagPatternList"),
                (&s.tag_prefix_list, "selection.tagPrefixList"),
            ] {
                if list.is_some() {
                    errors.push(at(name).invalid(format!(
                        "is only allowed when tagStatus is \"tagged\", not {:?}",
                        status.as_str()
                    )));
                }
            }
        }
    }
    for (list, name, is_pattern) in [
        (&s.tag_pattern_list, "selection.tagPatternList", true),
        (&s.tag_prefix_list, "selection.tagPrefixList", false),
    ] {
        let Some(list) = list else { continue };
        if list.is_empty() {
            errors.push(at(name).invalid("must not be empty"));
        }
        for entry in list {
            if entry.is_empty() {
                errors.push(at(name).invalid("entries must not be empty strings"));
            }
            let stars = entry.matches('*').count();
            if is_pattern && stars > MAX_WILDCARDS {
                errors.push(at(name).invalid(format!(
                    "{entry:?} has {stars} wildcards (*); a pattern may have at most {MAX_WILDCARDS}"
                )));
            }
        }
    }
    match (s.count_type.is_since(), s.count_unit) {
        (true, None) => errors.push(at("selection.countUnit").invalid(format!(
            "is required (\"days\") with countType {:?}",
            s.count_type.as_str()
        ))),
        (false, Some(_)) => errors.push(at("selection.countUnit").invalid(
            "is only allowed with countType sinceImagePushed, sinceImagePulled or sinceImageTransitioned",
        )),
        _ => {}
    }
    // ECR's combinations of storage class, count type and action.
    let class = s.effective_storage_class();
    let transition = rule.action.kind == ActionType::Transition;
    match s.count_type {
        CountType::SinceImageTransitioned => {
            if class != StorageClass::Archive {
                errors
                    .push(at("selection.storageClass").invalid(
                        "countType sinceImageTransitioned needs storageClass \"archive\"",
                    ));
            }
            if transition {
                errors.push(at("action.type").invalid(
                    "countType sinceImageTransitioned can only be used with the expire action",
                ));
            }
            if s.count_number < MIN_ARCHIVE_DAYS {
                errors.push(at("selection.countNumber").invalid(format!(
                    "archived images are kept at least {MIN_ARCHIVE_DAYS} days; \
                     {} is too few",
                    s.count_number
                )));
            }
        }
        CountType::SinceImagePulled if !transition => errors.push(at("action.type").invalid(
            "countType sinceImagePulled can only be used with the transition action \
             (ECR expires by pull time only after archiving)",
        )),
        _ if class == StorageClass::Archive => {
            errors.push(at("selection.storageClass").invalid(format!(
                "with countType {:?} the only storage class is \"standard\"",
                s.count_type.as_str()
            )))
        }
        _ => {}
    }
    match (rule.action.kind, rule.action.target_storage_class) {
        (ActionType::Transition, None) => errors.push(
            at("action.targetStorageClass")
                .invalid("is required (\"archive\") with the transition action"),
        ),
        (ActionType::Transition, Some(StorageClass::Standard)) => errors.push(
            at("action.targetStorageClass").invalid("the only supported value is \"archive\""),
        ),
        (ActionType::Expire, Some(_)) => errors.push(
            at("action.targetStorageClass").invalid("is only allowed with the transition action"),
        ),
        _ => {}
    }
}

/// A rule ECR accepts but that needs the archive tier.
fn archive_errors(rule: &Rule, index: usize, errors: &mut Vec<LifecycleError>) {
    let at = |field| rule_at(rule, index, field);
    let s = &rule.selection;
    let error = if rule.action.kind == ActionType::Transition {
        at("action.type").unsupported(format!(
            "the transition action archives images; {NO_ARCHIVE}"
        ))
    } else if s.count_type == CountType::SinceImagePulled {
        at("selection.countType").unsupported(format!(
            "sinceImagePulled is only allowed with the transition action (archiving); {NO_ARCHIVE}"
        ))
    } else if s.count_type == CountType::SinceImageTransitioned {
        at("selection.countType").unsupported(format!(
            "sinceImageTransitioned selects archived images; {NO_ARCHIVE}"
        ))
    } else if s.storage_class == Some(StorageClass::Archive) {
        at("selection.storageClass").unsupported(format!(
            "storageClass \"archive\" selects archived images; {NO_ARCHIVE}"
        ))
    } else {
        return;
    };
    errors.push(error);
}

fn cross_rule_errors(policy: &LifecyclePolicy, errors: &mut Vec<LifecycleError>) {
    let rules = &policy.rules;
    // Unique priorities.
    let mut by_priority: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        by_priority.entry(r.rule_priority).or_default().push(i);
    }
    for (priority, indices) in &by_priority {
        if let [first, rest @ ..] = indices.as_slice() {
            for &i in rest {
                errors.push(rule_at(&rules[i], i, "rulePriority").invalid(format!(
                    "rulePriority {priority} is also used by rules[{first}]; priorities must be unique"
                )));
            }
        }
    }
    // A rule with tagStatus "any" must have the highest priority number among
    // the rules of its storage class (ECR's own "combining archive and expire
    // rules" example has an `any` rule for each class).
    for (i, r) in rules.iter().enumerate() {
        if r.selection.tag_status != TagStatus::Any {
            continue;
        }
        let class = r.selection.effective_storage_class();
        let later = rules
            .iter()
            .enumerate()
            .filter(|&(j, o)| {
                j != i
                    && o.rule_priority >= r.rule_priority
                    && o.selection.effective_storage_class() == class
            })
            .map(|(_, o)| o.rule_priority)
            .max();
        if let Some(later) = later {
            errors.push(rule_at(r, i, "selection.tagStatus").invalid(format!(
                "a rule with tagStatus \"any\" must have the highest rulePriority and be \
                 evaluated last, but rule {later} is not lower"
            )));
        }
    }
    // Per storage class: one untagged rule, and unique tag filter sets.
    let mut ordered: Vec<usize> = (0..rules.len()).collect();
    ordered.sort_by_key(|&i| (rules[i].rule_priority, i));
    let mut untagged: BTreeMap<StorageClass, u32> = BTreeMap::new();
    let mut filters: BTreeMap<(StorageClass, bool, Vec<&str>), u32> = BTreeMap::new();
    for i in ordered {
        let r = &rules[i];
        let s = &r.selection;
        let class = s.effective_storage_class();
        if s.tag_status == TagStatus::Untagged {
            if let Some(first) = untagged.get(&class) {
                errors.push(rule_at(r, i, "selection.tagStatus").invalid(format!(
                    "only one rule may select untagged images, and rule {first} already does"
                )));
            } else {
                untagged.insert(class, r.rule_priority);
            }
        }
        if s.tag_status != TagStatus::Tagged {
            continue;
        }
        for (list, is_pattern, name) in [
            (&s.tag_pattern_list, true, "selection.tagPatternList"),
            (&s.tag_prefix_list, false, "selection.tagPrefixList"),
        ] {
            let Some(list) = list else { continue };
            let mut set: Vec<&str> = list.iter().map(String::as_str).collect();
            set.sort_unstable();
            set.dedup();
            if let Some(first) = filters.get(&(class, is_pattern, set.clone())) {
                errors.push(rule_at(r, i, name).invalid(format!(
                    "rule {first} already selects the same tags; each rule's set of tag \
                     filters must be unique"
                )));
            } else {
                filters.insert((class, is_pattern, set), r.rule_priority);
            }
        }
    }
}

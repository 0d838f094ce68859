//! Property tests: random valid policies over random repositories.
//!
//! Tags, patterns and push times come from small pools so that rules overlap,
//! images share tags and push times tie often.

use super::tests::NOW;
use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const CASES: u32 = 2_000;

const TAGS: &[&str] = &[
    "prod", "prod-1", "prod-2", "beta-1", "beta-2", "alpha-1", "v1.0", "v1.1", "latest", "ab",
];
const PATTERNS: &[&str] = &["prod*", "*-1", "beta*", "v1.*", "*", "a*b", "latest", "*a*"];
const PREFIXES: &[&str] = &["prod", "beta", "v1", "a", "l", "prod-"];

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(pool).prop_map(str::to_owned)
}

/// A selection's tag part: tagged with patterns or prefixes, or untagged.
fn tag_selection() -> impl Strategy<Value = (TagStatus, Option<Vec<String>>, Option<Vec<String>>)> {
    prop_oneof![
        3 => prop::collection::vec(pick(PATTERNS), 1..3)
            .prop_map(|l| (TagStatus::Tagged, Some(l), None)),
        2 => prop::collection::vec(pick(PREFIXES), 1..3)
            .prop_map(|l| (TagStatus::Tagged, None, Some(l))),
        1 => Just((TagStatus::Untagged, None, None)),
    ]
}

fn count() -> impl Strategy<Value = (CountType, u32)> {
    prop_oneof![
        (1u32..4).prop_map(|n| (CountType::ImageCountMoreThan, n)),
        (1u32..6).prop_map(|n| (CountType::SinceImagePushed, n)),
    ]
}

fn rule(
    priority: u32,
    tags: (TagStatus, Option<Vec<String>>, Option<Vec<String>>),
    count: (CountType, u32),
) -> Rule {
    Rule {
        rule_priority: priority,
        description: Some("a generated rule, long enough for ECR's minimum policy length".into()),
        selection: Selection {
            tag_status: tags.0,
            tag_pattern_list: tags.1,
            tag_prefix_list: tags.2,
            storage_class: None,
            count_type: count.0,
            count_unit: count.0.is_since().then_some(CountUnit::Days),
            count_number: count.1,
        },
        action: RuleAction {
            kind: ActionType::Expire,
            target_storage_class: None,
        },
    }
}

/// Rules that satisfy ECR's constraints: distinct priorities, at most one
/// untagged rule, unique tag filter sets, an optional `any` rule last; the
/// rules are listed in a random order.
fn policy() -> impl Strategy<Value = LifecyclePolicy> {
    (
        prop::collection::vec((tag_selection(), count()), 1..6),
        prop::sample::subsequence((1u32..=30).collect::<Vec<_>>(), 6),
        prop::option::of(count()),
    )
        .prop_map(|(selections, priorities, any)| {
            let mut rules = Vec::new();
            let mut seen_untagged = false;
            let mut seen_sets = BTreeSet::new();
            for ((tags, count), priority) in selections.into_iter().zip(&priorities) {
                let key = (tags.1.clone().map(sorted), tags.2.clone().map(sorted));
                if (tags.0 == TagStatus::Untagged && seen_untagged) || !seen_sets.insert(key) {
                    continue;
                }
                seen_untagged |= tags.0 == TagStatus::Untagged;
                rules.push(rule(*priority, tags, count));
            }
            if let Some(count) = any {
                rules.push(rule(100, (TagStatus::Any, None, None), count));
            }
            LifecyclePolicy { rules }
        })
        .prop_shuffle_rules()
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list.dedup();
    list
}

trait ShuffleRules {
    fn prop_shuffle_rules(self) -> BoxedStrategy<LifecyclePolicy>;
}

impl<S: Strategy<Value = LifecyclePolicy> + 'static> ShuffleRules for S {
    fn prop_shuffle_rules(self) -> BoxedStrategy<LifecyclePolicy> {
        self.prop_flat_map(|p| {
            Just(p.rules)
                .prop_shuffle()
                .prop_map(|rules| LifecyclePolicy { rules })
        })
        .boxed()
    }
}

/// 0–14 images `d00`…, pushed 0–8 days (in 12-hour steps) before [`NOW`],
/// some referenced by an index, some referring to another image.
fn images() -> impl Strategy<Value = Vec<ImageFacts>> {
    prop::collection::vec(
        (
            prop::collection::vec(pick(TAGS), 0..3),
            0i64..=16,
            prop::bool::weighted(0.15),
            prop::option::weighted(0.25, 0usize..14),
        ),
        0..14,
    )
    .prop_map(|specs| {
        let n = specs.len();
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (tags, half_days, in_index, subject))| ImageFacts {
                digest: format!("d{i:02}"),
                tags: sorted(tags),
                pushed_at_ms: NOW - half_days * DAY_MS / 2,
                last_pulled_at_ms: None,
                referenced_by_index: in_index,
                subject: subject
                    .filter(|&s| s < n && s != i)
                    .map(|s| format!("d{s:02}")),
            })
            .collect()
    })
}

fn scenario() -> impl Strategy<Value = (LifecyclePolicy, Vec<ImageFacts>, Vec<ImageFacts>)> {
    (policy(), images()).prop_flat_map(|(policy, images)| {
        let shuffled = Just(images.clone()).prop_shuffle();
        (Just(policy), Just(images), shuffled)
    })
}

/// A second, literal reading of ECR's procedure, for comparison: go through
/// the rules by priority; each marks the images past its count or age among
/// all it selects, skipping those a previous rule already identified; then
/// everything it selected counts as identified.
fn reference_expired(policy: &LifecyclePolicy, images: &[ImageFacts]) -> BTreeMap<String, u32> {
    let mut rules = policy.rules.clone();
    rules.sort_by_key(|r| r.rule_priority);
    let mut identified = BTreeSet::new();
    let mut marked = BTreeMap::new();
    // Referrers whose subject is in the repository go with it: never selected.
    let present: BTreeSet<&str> = images.iter().map(|i| i.digest.as_str()).collect();
    let follows = |i: &ImageFacts| {
        i.subject
            .as_deref()
            .is_some_and(|s| s != i.digest && present.contains(s))
    };
    for r in &rules {
        let s = &r.selection;
        let mut selected: Vec<&ImageFacts> = images
            .iter()
            .filter(|i| !follows(i) && s.matches_tags(&i.tags))
            .collect();
        selected.sort_by(|a, b| {
            b.pushed_at_ms
                .cmp(&a.pushed_at_ms)
                .then(a.digest.cmp(&b.digest))
        });
        for (k, image) in selected.iter().enumerate() {
            let past = match s.count_type {
                CountType::ImageCountMoreThan => k >= s.count_number as usize,
                _ => NOW - image.pushed_at_ms > i64::from(s.count_number) * DAY_MS,
            };
            if past && !identified.contains(&image.digest) {
                marked.insert(image.digest.clone(), r.rule_priority);
            }
        }
        identified.extend(selected.iter().map(|i| i.digest.clone()));
    }
    marked
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// The generator makes policies ECR accepts, and they survive a round
    /// trip through their JSON text.
    #[test]
    fn generated_policies_are_valid(policy in policy()) {
        let text = serde_json::to_string(&policy).unwrap();
        prop_assert_eq!(parse(&text), Ok(policy));
    }

    /// One decision per image, by digest; an image is expired by one rule at
    /// most: exactly the one the literal reading of ECR's procedure names
    /// (before index protection and referrers, which that reading ignores).
    #[test]
    fn each_image_is_expired_by_at_most_one_rule((policy, images, _) in scenario()) {
        let decisions = evaluate(&policy, &images, NOW);
        let digests: Vec<&str> = decisions.iter().map(|d| d.digest.as_str()).collect();
        let mut expected: Vec<&str> = images.iter().map(|i| i.digest.as_str()).collect();
        expected.sort_unstable();
        prop_assert_eq!(digests, expected);
        let reference = reference_expired(&policy, &images);
        for (d, image) in decisions.iter().zip(sorted_by_digest(&images)) {
            let by_rules = !matches!(
                d.reason,
                Reason::SubjectExpired { .. } | Reason::FollowsSubject { .. }
            );
            let want = if image.referenced_by_index { None } else { reference.get(&d.digest).copied() };
            let got = if d.action == Action::Expire { d.rule } else { None };
            if by_rules {
                prop_assert_eq!(got, want, "{:?}", d);
            }
            if d.action == Action::Expire {
                prop_assert!(d.rule.is_some());
            }
        }
    }

    /// A rule never expires an image that a higher-priority rule selects; a
    /// kept image names the highest-priority rule that selects it.
    #[test]
    fn a_claimed_image_is_never_expired_by_a_lower_rule((policy, images, _) in scenario()) {
        let decisions = evaluate(&policy, &images, NOW);
        for (d, image) in decisions.iter().zip(sorted_by_digest(&images)) {
            let first = policy
                .rules
                .iter()
                .filter(|r| r.selection.matches_tags(&image.tags))
                .map(|r| r.rule_priority)
                .min();
            if !matches!(
                d.reason,
                Reason::SubjectExpired { .. } | Reason::FollowsSubject { .. }
            ) {
                prop_assert_eq!(d.rule, first, "{:?}", d);
            }
        }
    }

    /// Shuffling the images (and the rules, see [`policy`]) changes nothing.
    #[test]
    fn results_do_not_depend_on_input_order((policy, images, shuffled) in scenario()) {
        prop_assert_eq!(evaluate(&policy, &shuffled, NOW), evaluate(&policy, &images, NOW));
        let mut reversed = policy.clone();
        reversed.rules.reverse();
        prop_assert_eq!(evaluate(&reversed, &images, NOW), evaluate(&policy, &images, NOW));
    }

    /// No image that an index references is ever expired.
    #[test]
    fn images_referenced_by_an_index_are_never_expired((policy, images, _) in scenario()) {
        let decisions = evaluate(&policy, &images, NOW);
        for (d, image) in decisions.iter().zip(sorted_by_digest(&images)) {
            if image.referenced_by_index {
                prop_assert_eq!(d.action, Action::Keep, "{:?}", d);
            }
        }
    }

    /// An expired subject takes its referrers (not pinned by an index) with
    /// it; a referrer expired that way names its subject and the same rule.
    #[test]
    fn an_expired_subject_takes_its_referrers((policy, images, _) in scenario()) {
        let decisions = evaluate(&policy, &images, NOW);
        let by_digest: BTreeMap<&str, &LifecycleDecision> =
            decisions.iter().map(|d| (d.digest.as_str(), d)).collect();
        for image in &images {
            let Some(subject) = image.subject.as_deref().and_then(|s| by_digest.get(s)) else {
                continue;
            };
            let d = by_digest[image.digest.as_str()];
            if subject.action == Action::Expire && !image.referenced_by_index {
                prop_assert_eq!(d.action, Action::Expire, "{:?} of {:?}", d, subject);
            }
            if let Reason::SubjectExpired { subject: s } = &d.reason {
                prop_assert_eq!(Some(s), image.subject.as_ref());
                prop_assert_eq!(subject.action, Action::Expire);
                prop_assert_eq!(d.rule, subject.rule);
            }
        }
    }
}

fn sorted_by_digest(images: &[ImageFacts]) -> Vec<&ImageFacts> {
    let mut sorted: Vec<&ImageFacts> = images.iter().collect();
    sorted.sort_by(|a, b| a.digest.cmp(&b.digest));
    sorted
}

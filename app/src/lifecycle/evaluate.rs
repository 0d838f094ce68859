//! Evaluation: which images a policy expires, and why each image is kept.
//!
//! ECR's rules, as implemented here:
//!
//! 1. All rules are evaluated against the same set of images; a rule's
//!    *selection* is every image whose tags meet its tag requirements
//!    ([`Selection::matches_tags`]) — including images that a higher-priority
//!    rule selects or expires ("rules can still identify them as if they
//!    haven't been expired"). So an image counts towards every
//!    `imageCountMoreThan` rule that selects it.
//! 2. An image is *claimed* by the highest-priority (lowest `rulePriority`)
//!    rule that selects it. Only that rule may act on it: "an image that
//!    matches the tagging requirements of a rule cannot be expired by a rule
//!    with a lower priority". So each image is acted on by at most one rule.
//! 3. `imageCountMoreThan N` ranks its selection newest first by push time
//!    (equal push times: the smaller digest counts as newer) and acts on the
//!    images after the first N. `sinceImagePushed N` acts on images pushed
//!    more than N × 24 hours before `now` (an image exactly N days old stays).
//! 4. An image that an image index in the repository references is kept (the
//!    index must go first); its claiming rule is reported.
//! 5. A referrer whose `subject` is in the repository (an SBOM, a
//!    signature of an image that is there) goes with its subject, as issue
//!    17 §2 has it: no rule selects it on its own, so it is neither counted
//!    nor expired by rules ([`Reason::FollowsSubject`]). A referrer whose
//!    subject is gone is an image like any other.
//! 6. A referrer of an expired image is expired with it, reported with the
//!    subject's rule — unless an index references it (4 wins). This follows
//!    chains (a signature of an SBOM of an expired image).
//!
//! Rules with storage class `archive` select nothing (Berth has no archived
//! images); a `transition` action never expires.

use super::*;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One day in milliseconds: `since*` rules count days of 24 hours.
pub const DAY_MS: i64 = 86_400_000;

/// Whether `tag` matches a `tagPatternList` entry: `*` matches any run of
/// characters (including none), every other character matches itself, and the
/// whole tag must match (`prod*` matches `prod` and `production`, not
/// `preprod`).
pub fn pattern_matches(pattern: &str, tag: &str) -> bool {
    crate::wildcard::matches(crate::wildcard::Syntax::Star, pattern, tag)
}

/// An image after merging duplicate digests.
struct Image<'a> {
    digest: &'a str,
    tags: Vec<&'a str>,
    pushed_at_ms: i64,
    last_pulled_at_ms: Option<i64>,
    referenced_by_index: bool,
    subject: Option<&'a str>,
}

/// Merges the facts about each digest (should a caller list one twice) in a
/// way that does not depend on their order, and sorts the images by digest.
fn merge(images: &[ImageFacts]) -> Vec<Image<'_>> {
    let mut by_digest: BTreeMap<&str, Image> = BTreeMap::new();
    for f in images {
        let image = by_digest.entry(&f.digest).or_insert_with(|| Image {
            digest: &f.digest,
            tags: Vec::new(),
            pushed_at_ms: f.pushed_at_ms,
            last_pulled_at_ms: None,
            referenced_by_index: false,
            subject: None,
        });
        image.tags.extend(f.tags.iter().map(String::as_str));
        image.pushed_at_ms = image.pushed_at_ms.min(f.pushed_at_ms);
        image.last_pulled_at_ms = image.last_pulled_at_ms.max(f.last_pulled_at_ms);
        image.referenced_by_index |= f.referenced_by_index;
        image.subject = match (image.subject, f.subject.as_deref()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let mut merged: Vec<Image> = by_digest.into_values().collect();
    for image in &mut merged {
        image.tags.sort_unstable();
        image.tags.dedup();
    }
    merged
}

/// What the claiming rule found for one image.
struct Outcome {
    rule: usize,
    beyond: bool,
    reason: Reason,
}

/// Decides every image: see the module documentation for the semantics.
/// Returns one decision per distinct digest, sorted by digest; the result does
/// not depend on the order of `images`, nor (priorities being unique, as
/// [`validate`] requires) on the order of `policy.rules`.
pub fn evaluate(
    policy: &LifecyclePolicy,
    images: &[ImageFacts],
    now_ms: i64,
) -> Vec<LifecycleDecision> {
    let images = merge(images);
    let mut rules: Vec<&Rule> = policy.rules.iter().collect();
    rules.sort_by_key(|r| r.rule_priority);

    // Referrers whose subject is in the repository go with it (5).
    let present: BTreeSet<&str> = images.iter().map(|i| i.digest).collect();
    let follows: Vec<Option<&str>> = images
        .iter()
        .map(|i| i.subject.filter(|s| *s != i.digest && present.contains(s)))
        .collect();
    let mut outcomes: Vec<Option<Outcome>> = images.iter().map(|_| None).collect();
    for (ri, rule) in rules.iter().enumerate() {
        let s = &rule.selection;
        if s.effective_storage_class() != StorageClass::Standard
            || s.count_type == CountType::SinceImageTransitioned
        {
            continue; // selects archived images only: Berth has none
        }
        let mut selected: Vec<usize> = (0..images.len())
            .filter(|&i| follows[i].is_none() && s.matches_tags(&images[i].tags))
            .collect();
        // Newest first; equal push times by digest (images are in digest order).
        selected.sort_by_key(|&i| std::cmp::Reverse(images[i].pushed_at_ms));
        for (position, &i) in selected.iter().enumerate() {
            if outcomes[i].is_some() {
                continue; // claimed by a higher-priority rule, but still counted
            }
            let image = &images[i];
            let n = s.count_number;
            let (beyond, reason) = match s.count_type {
                CountType::ImageCountMoreThan => {
                    let rank = u32::try_from(position + 1).unwrap_or(u32::MAX);
                    (
                        rank > n,
                        Reason::ImageCount {
                            rank,
                            count_number: n,
                        },
                    )
                }
                CountType::SinceImagePushed | CountType::SinceImagePulled => {
                    let (basis, since) = if s.count_type == CountType::SinceImagePushed {
                        (AgeBasis::Pushed, image.pushed_at_ms)
                    } else {
                        let pulled = image.last_pulled_at_ms.unwrap_or(image.pushed_at_ms);
                        (AgeBasis::Pulled, pulled)
                    };
                    let age_ms = now_ms.saturating_sub(since);
                    (
                        age_ms > i64::from(n) * DAY_MS,
                        Reason::ImageAge {
                            basis,
                            age_ms,
                            count_number: n,
                        },
                    )
                }
                CountType::SinceImageTransitioned => unreachable!("skipped above"),
            };
            outcomes[i] = Some(Outcome {
                rule: ri,
                beyond,
                reason,
            });
        }
    }

    let mut decisions: Vec<LifecycleDecision> = images
        .iter()
        .zip(outcomes)
        .zip(&follows)
        .map(|((image, outcome), follows)| {
            let digest = image.digest.to_owned();
            if let Some(subject) = follows {
                return LifecycleDecision {
                    digest,
                    action: Action::Keep,
                    rule: None,
                    reason: Reason::FollowsSubject {
                        subject: (*subject).to_owned(),
                    },
                };
            }
            let Some(Outcome {
                rule,
                beyond,
                reason,
            }) = outcome
            else {
                return LifecycleDecision {
                    digest,
                    action: Action::Keep,
                    rule: None,
                    reason: Reason::NotSelected,
                };
            };
            let rule = rules[rule];
            let (action, reason) = if !beyond {
                (Action::Keep, reason)
            } else if rule.action.kind != ActionType::Expire {
                (Action::Keep, Reason::TransitionUnsupported)
            } else if image.referenced_by_index {
                (Action::Keep, Reason::ReferencedByIndex)
            } else {
                (Action::Expire, reason)
            };
            LifecycleDecision {
                digest,
                action,
                rule: Some(rule.rule_priority),
                reason,
            }
        })
        .collect();

    expire_referrers(&images, &mut decisions);
    decisions
}

/// Expires the referrers of expired images, transitively, breadth first.
fn expire_referrers(images: &[Image], decisions: &mut [LifecycleDecision]) {
    let index: BTreeMap<&str, usize> = images
        .iter()
        .enumerate()
        .map(|(i, image)| (image.digest, i))
        .collect();
    let mut referrers: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, image) in images.iter().enumerate() {
        if let Some(&s) = image.subject.and_then(|s| index.get(s)) {
            if s != i {
                referrers.entry(s).or_default().insert(i);
            }
        }
    }
    let mut queue: VecDeque<usize> = (0..images.len())
        .filter(|&i| decisions[i].action == Action::Expire)
        .collect();
    while let Some(s) = queue.pop_front() {
        let Some(children) = referrers.get(&s) else {
            continue;
        };
        for &r in children {
            if decisions[r].action == Action::Expire || images[r].referenced_by_index {
                continue;
            }
            decisions[r].action = Action::Expire;
            decisions[r].rule = decisions[s].rule;
            decisions[r].reason = Reason::SubjectExpired {
                subject: images[s].digest.to_owned(),
            };
            queue.push_back(r);
        }
    }
}

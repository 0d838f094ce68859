//! Every worked example of ECR's "Examples of lifecycle policies" page
//! (`shared/reference/lifecycle.md` §5), in its current wording and, where
//! it differs, its 2023 wording (tagPrefixList); then the finer points of
//! evaluation that the examples do not show.

use super::*;
use std::collections::BTreeSet;

/// "Now" for every test: 2025-06-15T14:13:20Z.
pub(super) const NOW: i64 = 1_750_000_000_000;
const HOUR_MS: i64 = 3_600_000;

/// An image pushed `ms_ago` milliseconds before [`NOW`]; the digest is a
/// short name (A, B, …), which [`evaluate`] does not need to be a real digest.
pub(super) fn image_ms(digest: &str, tags: &[&str], ms_ago: i64) -> ImageFacts {
    ImageFacts {
        digest: digest.to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        pushed_at_ms: NOW - ms_ago,
        last_pulled_at_ms: None,
        referenced_by_index: false,
        subject: None,
    }
}

pub(super) fn image(digest: &str, tags: &[&str], days_ago: i64) -> ImageFacts {
    image_ms(digest, tags, days_ago * DAY_MS)
}

fn run(text: &str, images: &[ImageFacts]) -> Vec<LifecycleDecision> {
    let policy = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    evaluate(&policy, images, NOW)
}

fn expired(decisions: &[LifecycleDecision]) -> BTreeSet<&str> {
    decisions
        .iter()
        .filter(|d| d.action == Action::Expire)
        .map(|d| d.digest.as_str())
        .collect()
}

fn set<'a>(digests: &[&'a str]) -> BTreeSet<&'a str> {
    digests.iter().copied().collect()
}

fn find<'a>(decisions: &'a [LifecycleDecision], digest: &str) -> &'a LifecycleDecision {
    decisions
        .iter()
        .find(|d| d.digest == digest)
        .unwrap_or_else(|| panic!("no decision for {digest}"))
}

/// Asserts the decision of one image: its action and rule.
fn assert_decision(
    decisions: &[LifecycleDecision],
    digest: &str,
    action: Action,
    rule: Option<u32>,
) {
    let d = find(decisions, digest);
    assert_eq!((d.action, d.rule), (action, rule), "{digest}: {d:?}");
}

/// Builds a one-rule policy text from the `selection` object's members.
fn one_rule(selection: &str) -> String {
    format!(
        r#"{{"rules":[{{"rulePriority":1,"description":"test rule","selection":{{{selection}}},"action":{{"type":"expire"}}}}]}}"#
    )
}

// ----- the policy texts of the examples, as published -----

const AGE_PROD_14_DAYS: &str = r#"{"rules":[{"rulePriority":1,"description":"Expire images older than 14 days","selection":{"tagStatus":"tagged","tagPatternList":["prod*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;
const AGE_UNTAGGED_14_DAYS_2023: &str = r#"{"rules":[{"rulePriority":1,"description":"Expire images older than 14 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;
const NOT_PULLED_90_DAYS: &str = r#"{"rules":[{"rulePriority":1,"description":"Archive images not pulled in 90 days","selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90},"action":{"type":"transition","targetStorageClass":"archive"}}]}"#;
const ARCHIVED_365_DAYS: &str = r#"{"rules":[{"rulePriority":1,"description":"Expire images archived for more than 365 days","selection":{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":365},"action":{"type":"expire"}}]}"#;
const ONE_UNTAGGED: &str = r#"{"rules":[{"rulePriority":1,"description":"Keep only one untagged image, expire all others","selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
const ARCHIVE_PROD_30_DAYS: &str = r#"{"rules":[{"rulePriority":1,"description":"Archive production images older than 30 days","selection":{"tagStatus":"tagged","tagPatternList":["prod*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":30},"action":{"type":"transition","targetStorageClass":"archive"}}]}"#;
const ARCHIVE_THEN_EXPIRE: &str = r#"{"rules":[{"rulePriority":1,"description":"Archive images older than 30 days","selection":{"tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":30},"action":{"type":"transition","targetStorageClass":"archive"}},{"rulePriority":2,"description":"Expire images archived for more than 365 days","selection":{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":365},"action":{"type":"expire"}}]}"#;

/// Two `imageCountMoreThan 1` rules on tagged images; `list` is
/// `tagPatternList` (current wording) or `tagPrefixList` (2023 wording).
fn two_count_rules(list: &str, first: &str, second: &str) -> String {
    format!(
        r#"{{"rules":[{{"rulePriority":1,"description":"Rule 1","selection":{{"tagStatus":"tagged","{list}":[{first}],"countType":"imageCountMoreThan","countNumber":1}},"action":{{"type":"expire"}}}},{{"rulePriority":2,"description":"Rule 2","selection":{{"tagStatus":"tagged","{list}":[{second}],"countType":"imageCountMoreThan","countNumber":1}},"action":{{"type":"expire"}}}}]}}"#
    )
}

fn alpha_beta_rule(list: &str, count: &str) -> String {
    let (a, b) = if list == "tagPatternList" {
        ("alpha*", "beta*")
    } else {
        ("alpha", "beta")
    };
    format!(
        r#"{{"rules":[{{"rulePriority":1,"description":"Rule 1","selection":{{"tagStatus":"tagged","{list}":["{a}","{b}"],{count}}},"action":{{"type":"expire"}}}}]}}"#
    )
}

const ALL_IMAGES_KEEP_ONE: &str = r#"{"rules":[{"rulePriority":1,"description":"Rule 1","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;
const ALL_RULE_TYPES: &str = r#"{"rules":[{"rulePriority":1,"description":"Rule 1","selection":{"tagStatus":"tagged","tagPatternList":["alpha*"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},{"rulePriority":2,"description":"Rule 2","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}},{"rulePriority":3,"description":"Rule 3","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#;

fn multiple_rules_repo() -> Vec<ImageFacts> {
    vec![
        image("A", &["beta-1", "prod-1"], 10),
        image("B", &["beta-2", "prod-2"], 9),
        image("C", &["beta-3"], 8),
    ]
}

// ----- §5.1 Filtering on image age -----

#[test]
fn example_filtering_on_image_age() {
    // The page gives no repository; this one covers the rule's edges.
    let images = [
        image("old-prod", &["prod-1"], 20),
        image("old-production", &["latest", "production"], 15),
        image("exactly-14-days", &["prod-2"], 14),
        image("new-prod", &["prod-3"], 2),
        image("old-preprod", &["preprod"], 30),
        image("old-dev", &["dev-1"], 30),
        image("old-untagged", &[], 30),
    ];
    let d = run(AGE_PROD_14_DAYS, &images);
    assert_eq!(expired(&d), set(&["old-prod", "old-production"]));
    assert_decision(&d, "old-prod", Action::Expire, Some(1));
    assert_decision(&d, "exactly-14-days", Action::Keep, Some(1));
    assert_decision(&d, "old-preprod", Action::Keep, None);
    assert_decision(&d, "old-untagged", Action::Keep, None);
}

#[test]
fn example_filtering_on_image_age_2023_wording() {
    let images = [
        image("old-untagged", &[], 15),
        image("new-untagged", &[], 13),
        image("old-tagged", &["prod-1"], 30),
    ];
    let d = run(AGE_UNTAGGED_14_DAYS_2023, &images);
    assert_eq!(expired(&d), set(&["old-untagged"]));
    assert_decision(&d, "old-untagged", Action::Expire, Some(1));
}

// ----- §5.2, §5.3, §5.11: the archive tier is parsed, then refused -----

fn assert_needs_archive(text: &str, priority: u32, field: &str) {
    parse_document(text).unwrap_or_else(|e| panic!("shape: {e}"));
    let e = parse(text).expect_err("Berth has no archive tier");
    assert_eq!(e.kind, LifecycleErrorKind::Unsupported, "{e}");
    assert_eq!(e.rule_priority, Some(priority), "{e}");
    assert_eq!(e.field.as_deref(), Some(field), "{e}");
    assert!(
        e.to_string().contains("Berth has no archive tier yet"),
        "{e}"
    );
}

#[test]
fn example_filtering_on_last_pulled_time() {
    let p = parse_document(NOT_PULLED_90_DAYS).unwrap();
    let r = &p.rules[0];
    assert_eq!(r.selection.count_type, CountType::SinceImagePulled);
    assert_eq!(r.action.kind, ActionType::Transition);
    assert_eq!(r.action.target_storage_class, Some(StorageClass::Archive));
    assert_needs_archive(NOT_PULLED_90_DAYS, 1, "action.type");
}

#[test]
fn example_filtering_on_archive_transition_time() {
    let p = parse_document(ARCHIVED_365_DAYS).unwrap();
    assert_eq!(
        p.rules[0].selection.storage_class,
        Some(StorageClass::Archive)
    );
    assert_needs_archive(ARCHIVED_365_DAYS, 1, "selection.countType");
}

#[test]
fn example_archiving_images_older_than_a_number_of_days() {
    assert_needs_archive(ARCHIVE_PROD_30_DAYS, 1, "action.type");
}

#[test]
fn example_archiving_images_not_pulled_in_a_number_of_days() {
    assert_needs_archive(NOT_PULLED_90_DAYS, 1, "action.type");
}

#[test]
fn example_combining_archive_and_expire_rules() {
    assert_needs_archive(ARCHIVE_THEN_EXPIRE, 1, "action.type");
    // Valid for ECR (an `any` rule per storage class): only the archive tier
    // is missing, for both rules.
    let errors = validation_errors(&parse_document(ARCHIVE_THEN_EXPIRE).unwrap());
    let found: Vec<_> = errors.iter().map(|e| (e.kind, e.rule_priority)).collect();
    let unsupported = LifecycleErrorKind::Unsupported;
    assert_eq!(
        found,
        [(unsupported, Some(1)), (unsupported, Some(2))],
        "{errors:?}"
    );
}

// ----- §5.4 Filtering on image count -----

#[test]
fn example_filtering_on_image_count() {
    let images = [
        image("untagged-3d", &[], 3),
        image("untagged-2d", &[], 2),
        image("untagged-1d", &[], 1),
        image("tagged-9d", &["v1"], 9),
    ];
    let d = run(ONE_UNTAGGED, &images);
    assert_eq!(expired(&d), set(&["untagged-2d", "untagged-3d"]));
    assert_decision(&d, "untagged-1d", Action::Keep, Some(1));
    assert_decision(&d, "tagged-9d", Action::Keep, None);
}

// ----- §5.5, §5.6 Filtering on multiple rules -----

#[test]
fn example_multiple_rules_a() {
    for (list, prod, beta) in [
        ("tagPatternList", r#""prod*""#, r#""beta*""#),
        ("tagPrefixList", r#""prod""#, r#""beta""#),
    ] {
        let d = run(&two_count_rules(list, prod, beta), &multiple_rules_repo());
        assert_eq!(expired(&d), set(&["A"]), "{list}");
        assert_decision(&d, "A", Action::Expire, Some(1));
        // B would be marked by rule 2, but rule 1 selects it: it protects B.
        assert_decision(&d, "B", Action::Keep, Some(1));
        assert_decision(&d, "C", Action::Keep, Some(2));
    }
}

#[test]
fn example_multiple_rules_b() {
    for (list, prod, beta) in [
        ("tagPatternList", r#""prod*""#, r#""beta*""#),
        ("tagPrefixList", r#""prod""#, r#""beta""#),
    ] {
        let d = run(&two_count_rules(list, beta, prod), &multiple_rules_repo());
        assert_eq!(expired(&d), set(&["A", "B"]), "{list}");
        assert_decision(&d, "A", Action::Expire, Some(1));
        assert_decision(&d, "B", Action::Expire, Some(1));
        assert_decision(&d, "C", Action::Keep, Some(1));
    }
}

// ----- §5.7, §5.8 Filtering on multiple tags in a single rule -----

#[test]
fn example_multiple_tags_a() {
    let images = [
        image("A", &["alpha-1"], 12),
        image("B", &["beta-1"], 11),
        image("C", &["alpha-2", "beta-2"], 10),
        image("D", &["alpha-3"], 4),
        image("E", &["beta-3"], 3),
        image("F", &["alpha-4", "beta-4"], 2),
    ];
    let count = r#""countType":"sinceImagePushed","countNumber":5,"countUnit":"days""#;
    for list in ["tagPatternList", "tagPrefixList"] {
        let d = run(&alpha_beta_rule(list, count), &images);
        assert_eq!(expired(&d), set(&["C"]), "{list}");
        assert_decision(&d, "C", Action::Expire, Some(1));
        assert_decision(&d, "F", Action::Keep, Some(1));
        for unselected in ["A", "B", "D", "E"] {
            assert_decision(&d, unselected, Action::Keep, None);
        }
    }
}

#[test]
fn example_multiple_tags_b() {
    let images = [
        image("A", &["alpha-1", "beta-1", "gamma-1"], 10),
        image("B", &["alpha-2", "beta-2"], 9),
        image("C", &["alpha-3", "beta-3", "gamma-2"], 8),
    ];
    let count = r#""countType":"imageCountMoreThan","countNumber":1"#;
    for list in ["tagPatternList", "tagPrefixList"] {
        let d = run(&alpha_beta_rule(list, count), &images);
        assert_eq!(expired(&d), set(&["A", "B"]), "{list}");
        assert_decision(&d, "C", Action::Keep, Some(1));
    }
}

// ----- §5.9, §5.10 Filtering on all images -----

#[test]
fn example_all_images_a() {
    let images = [
        image("A", &["alpha-1"], 4),
        image("B", &["beta-1"], 3),
        image("C", &[], 2),
        image("D", &["alpha-2"], 1),
    ];
    let d = run(ALL_IMAGES_KEEP_ONE, &images);
    assert_eq!(expired(&d), set(&["A", "B", "C"]));
    assert_decision(&d, "D", Action::Keep, Some(1));
}

#[test]
fn example_all_images_b() {
    // D and E are both "pushed 1 day ago"; the page's result (rule 3 keeps E
    // as the newest and expires D) needs E to be the newer, so D is pushed an
    // hour earlier. E is exactly one day old: rule 2 ("older than one day")
    // leaves it.
    let images = [
        image("A", &["alpha-1", "beta-1"], 4),
        image("B", &[], 3),
        image("C", &["alpha-2"], 2),
        image_ms("D", &["git hash"], DAY_MS + HOUR_MS),
        image("E", &[], 1),
    ];
    let d = run(ALL_RULE_TYPES, &images);
    assert_eq!(expired(&d), set(&["A", "B", "D"]));
    assert_decision(&d, "A", Action::Expire, Some(1));
    assert_decision(&d, "B", Action::Expire, Some(2));
    assert_decision(&d, "D", Action::Expire, Some(3));
    // Rule 3 would mark C and E, but rules 1 and 2 identified them first.
    assert_decision(&d, "C", Action::Keep, Some(1));
    assert_decision(&d, "E", Action::Keep, Some(2));
    assert_eq!(
        find(&d, "D").reason,
        Reason::ImageCount {
            rank: 2,
            count_number: 1
        }
    );
}

// ----- finer points -----

#[test]
fn tag_patterns_match_whole_tags_with_wildcards() {
    for (pattern, tag, expected) in [
        ("prod*", "prod", true),
        ("prod*", "prod1", true),
        ("prod*", "production-team1", true),
        ("prod*", "preprod", false),
        ("*prod*", "repo-production", true),
        ("*prod*", "prod-team", true),
        ("*prod*", "pro-d", false),
        ("prod", "prod", true),
        ("prod", "prod1", false),
        ("*", "anything", true),
        ("*test*1*2*3", "my-test-1-2-3", true),
        ("*test*1*2*3", "my-test-1-2-3-4", false),
        ("a*a", "a", false),
        ("a*a", "aa", true),
        ("a*b*a", "abba", true),
        ("v*-rc*", "v1.2-rc3", true),
        ("Prod*", "prod", false),
    ] {
        assert_eq!(pattern_matches(pattern, tag), expected, "{pattern} ~ {tag}");
    }
}

#[test]
fn every_list_entry_must_match_some_tag_of_the_image() {
    let sel = |patterns: &[&str]| Selection {
        tag_status: TagStatus::Tagged,
        tag_pattern_list: Some(patterns.iter().map(|p| (*p).to_owned()).collect()),
        tag_prefix_list: None,
        storage_class: None,
        count_type: CountType::ImageCountMoreThan,
        count_unit: None,
        count_number: 1,
    };
    assert!(sel(&["alpha*", "beta*"]).matches_tags(&["beta-1", "x", "alpha-1"]));
    assert!(!sel(&["alpha*", "beta*"]).matches_tags(&["alpha-1", "alpha-2"]));
    // One tag may satisfy several entries.
    assert!(sel(&["a*", "*b"]).matches_tags(&["ab"]));
    assert!(!sel(&["*"]).matches_tags::<&str>(&[]));
    let prefixes = Selection {
        tag_pattern_list: None,
        tag_prefix_list: Some(vec!["prod".into(), "v1".into()]),
        ..sel(&[])
    };
    assert!(prefixes.matches_tags(&["production", "v1.2"]));
    assert!(!prefixes.matches_tags(&["production"]));
}

#[test]
fn since_image_pushed_expires_only_strictly_older_images() {
    let text = one_rule(
        r#""tagStatus":"any","countType":"sinceImagePushed","countUnit":"days","countNumber":3"#,
    );
    let images = [
        image_ms("older", &[], 3 * DAY_MS + 1),
        image_ms("exact", &[], 3 * DAY_MS),
        image_ms("future", &[], -DAY_MS),
    ];
    let d = run(&text, &images);
    assert_eq!(expired(&d), set(&["older"]));
}

#[test]
fn equal_push_times_rank_the_smaller_digest_as_newer() {
    let text = one_rule(r#""tagStatus":"any","countType":"imageCountMoreThan","countNumber":1"#);
    let images = [image("sha256:bb", &[], 1), image("sha256:aa", &[], 1)];
    let d = run(&text, &images);
    assert_eq!(expired(&d), set(&["sha256:bb"]));
}

#[test]
fn images_referenced_by_an_index_are_counted_but_kept() {
    let text =
        one_rule(r#""tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1"#);
    let mut child = image("child", &[], 2);
    child.referenced_by_index = true;
    let images = [image("newest", &[], 1), child, image("oldest", &[], 3)];
    let d = run(&text, &images);
    assert_eq!(expired(&d), set(&["oldest"]));
    assert_decision(&d, "child", Action::Keep, Some(1));
    assert_eq!(find(&d, "child").reason, Reason::ReferencedByIndex);
    assert_eq!(
        find(&d, "oldest").reason,
        Reason::ImageCount {
            rank: 3,
            count_number: 1
        }
    );
}

fn referrer(digest: &str, subject: &str, days_ago: i64) -> ImageFacts {
    ImageFacts {
        subject: Some(subject.to_owned()),
        ..image(digest, &[], days_ago)
    }
}

#[test]
fn referrers_are_expired_with_their_subject() {
    let text = one_rule(
        r#""tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1"#,
    );
    let mut pinned = referrer("sig-of-sbom-pinned", "sbom", 1);
    pinned.referenced_by_index = true;
    let images = [
        image("v1", &["v1"], 5),
        image("v2", &["v2"], 4),
        referrer("sbom", "v1", 1),
        referrer("sig-of-sbom", "sbom", 1),
        pinned,
        referrer("sig-of-v2", "v2", 1),
        referrer("dangling", "gone", 1),
    ];
    let d = run(&text, &images);
    assert_eq!(expired(&d), set(&["v1", "sbom", "sig-of-sbom"]));
    assert_decision(&d, "sbom", Action::Expire, Some(1));
    assert_eq!(
        find(&d, "sbom").reason,
        Reason::SubjectExpired {
            subject: "v1".into()
        }
    );
    assert_eq!(
        find(&d, "sig-of-sbom").reason,
        Reason::SubjectExpired {
            subject: "sbom".into()
        }
    );
    assert_decision(&d, "sig-of-sbom-pinned", Action::Keep, None);
    assert_decision(&d, "sig-of-v2", Action::Keep, None);
}

#[test]
fn referrers_go_with_their_subject_and_no_rule_selects_them_on_their_own() {
    // Issue 17 §2: an SBOM or a signature goes with its subject. While the
    // subject is there, an untagged (or `any`) rule neither expires nor
    // counts its referrers; one whose subject is gone is an image like any.
    let d = run(
        ONE_UNTAGGED,
        &[
            image("v1", &["v1"], 5),
            referrer("sig-1", "v1", 3),
            referrer("sig-2", "v1", 2),
            referrer("sbom-of-sig", "sig-1", 2),
            image("old-untagged", &[], 4),
            referrer("orphan", "gone", 1),
        ],
    );
    assert_eq!(expired(&d), set(&["old-untagged"]));
    for (digest, subject) in [("sig-1", "v1"), ("sig-2", "v1"), ("sbom-of-sig", "sig-1")] {
        assert_decision(&d, digest, Action::Keep, None);
        assert_eq!(
            find(&d, digest).reason,
            Reason::FollowsSubject {
                subject: subject.into()
            }
        );
    }
    assert!(summarize(find(&d, "sig-1")).contains("it goes when v1 goes"));
    assert_decision(&d, "orphan", Action::Keep, Some(1));
}

#[test]
fn the_result_does_not_depend_on_input_order_and_merges_duplicates() {
    let images = multiple_rules_repo();
    let text = two_count_rules("tagPatternList", r#""prod*""#, r#""beta*""#);
    let forward = run(&text, &images);
    let mut reversed = images.clone();
    reversed.reverse();
    assert_eq!(run(&text, &reversed), forward);
    let digests: Vec<&str> = forward.iter().map(|d| d.digest.as_str()).collect();
    assert_eq!(digests, ["A", "B", "C"]);
    // The same digest listed twice (say, once per tag) is one image.
    let split = [
        image("A", &["beta-1"], 10),
        image("A", &["prod-1"], 10),
        image("B", &["beta-2", "prod-2"], 9),
        image("C", &["beta-3"], 8),
    ];
    assert_eq!(run(&text, &split), forward);
}

#[test]
fn summaries_explain_each_decision() {
    let images = [
        image("A", &["alpha-1", "beta-1"], 4),
        image("B", &[], 3),
        image("C", &["alpha-2"], 2),
        image_ms("D", &["git hash"], DAY_MS + HOUR_MS),
        image("E", &[], 1),
        referrer("S", "A", 1),
    ];
    let d = run(ALL_RULE_TYPES, &images);
    let summary = |digest| summarize(find(&d, digest));
    assert_eq!(
        summary("A"),
        "Expire: rule 1 keeps the newest image it selects, and this is number 2."
    );
    assert_eq!(
        summary("B"),
        "Expire: rule 2 expires images pushed more than 1 day ago; this one: 3 days ago."
    );
    assert_eq!(
        summary("C"),
        "Keep: retained by rule 1, which keeps the newest image it selects (this is number 1); \
         lower-priority rules cannot expire it."
    );
    assert_eq!(
        summary("E"),
        "Keep: retained by rule 2, which expires images pushed more than 1 day ago (this one: 1 day ago); \
         lower-priority rules cannot expire it."
    );
    assert_eq!(
        summary("S"),
        "Expire: it refers to A, which is expired (rule 1)."
    );
    let mut kept = find(&d, "A").clone();
    kept.action = Action::Keep;
    kept.reason = Reason::ReferencedByIndex;
    assert_eq!(
        summarize(&kept),
        "Keep: rule 1 would expire it, but an image index in the repository references it."
    );
    kept.rule = None;
    kept.reason = Reason::NotSelected;
    assert_eq!(summarize(&kept), "Keep: no rule selects it.");
}

#[test]
fn decisions_serialize_for_the_server_and_the_browser() {
    let decision = LifecycleDecision {
        digest: "sha256:ab".into(),
        action: Action::Expire,
        rule: Some(3),
        reason: Reason::ImageCount {
            rank: 4,
            count_number: 2,
        },
    };
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"digest":"sha256:ab","action":"expire","rule":3,
            "reason":{"kind":"imageCount","rank":4,"countNumber":2}})
    );
    assert_eq!(
        serde_json::from_value::<LifecycleDecision>(json).unwrap(),
        decision
    );
    // A parsed policy serializes back to ECR's JSON and parses to itself.
    let policy = parse(ALL_RULE_TYPES).unwrap();
    let text = serde_json::to_string(&policy).unwrap();
    assert_eq!(parse(&text).unwrap(), policy);
}

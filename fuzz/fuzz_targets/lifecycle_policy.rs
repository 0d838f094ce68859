//! The lifecycle policy parser and evaluator (`berth_app::lifecycle`): any
//! text is accepted or refused without a panic, a valid policy survives a
//! round trip through its JSON, and its evaluation keeps the evaluator's
//! promises (one decision per image, in digest order, independent of the
//! order of the images, naming one of the policy's rules).
//!
//! Input: the policy text, then optionally a NUL byte and bytes that choose
//! the repository's images and the time; without them a fixed repository of
//! tagged, untagged, pulled, indexed and referring images is used.
#![no_main]

use berth_app::lifecycle::{
    evaluate, parse, parse_document, validate, validation_errors, Action, ImageFacts,
    LifecyclePolicy, DAY_MS,
};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::{fuzz_target, Corpus};

/// 2024-06-01T00:00:00Z.
const NOW_MS: i64 = 1_717_200_000_000;
const TAGS: &[&str] = &[
    "latest", "prod", "prod-1", "prod-2", "beta-1", "v1.0", "v1.1", "release", "a", "ab",
];

fuzz_target!(|data: &[u8]| -> Corpus {
    let (text, tail) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return Corpus::Reject; // PutLifecyclePolicy takes a JSON string
    };
    let whole = parse(text);
    let Ok(policy) = parse_document(text) else {
        assert!(whole.is_err());
        return Corpus::Keep;
    };
    let errors = validation_errors(&policy);
    assert_eq!(validate(&policy).is_ok(), errors.is_empty());
    if let Ok(parsed) = &whole {
        assert_eq!(parsed, &policy);
    }
    if !errors.is_empty() {
        return Corpus::Keep;
    }

    // What GetLifecyclePolicy and the console show reads back the same.
    let json = serde_json::to_string(&policy).expect("a policy serializes");
    assert_eq!(
        parse_document(&json).as_ref().ok(),
        Some(&policy),
        "{text} read back from {json}"
    );

    let (images, now) = match tail {
        Some(tail) => match repository(&mut Unstructured::new(tail)) {
            Ok(chosen) => chosen,
            Err(_) => return Corpus::Reject,
        },
        None => (fixed_repository(), NOW_MS),
    };
    check_decisions(&policy, &images, now);
    Corpus::Keep
});

fn check_decisions(policy: &LifecyclePolicy, images: &[ImageFacts], now: i64) {
    let decisions = evaluate(policy, images, now);
    let mut digests: Vec<&str> = images.iter().map(|i| i.digest.as_str()).collect();
    digests.sort_unstable();
    digests.dedup();
    let decided: Vec<&str> = decisions.iter().map(|d| d.digest.as_str()).collect();
    assert_eq!(decided, digests, "one decision per digest, in digest order");
    for decision in &decisions {
        if let Some(rule) = decision.rule {
            assert!(policy.rules.iter().any(|r| r.rule_priority == rule));
        }
        if decision.action == Action::Expire {
            assert!(decision.rule.is_some(), "{decision:?} names no rule");
            let image = images.iter().find(|i| i.digest == decision.digest);
            assert!(
                !image.is_some_and(|i| images
                    .iter()
                    .any(|j| j.digest == i.digest && j.referenced_by_index)),
                "{decision:?}: an image an index references is expired"
            );
        }
    }
    let mut reversed = images.to_vec();
    reversed.reverse();
    assert_eq!(
        evaluate(policy, &reversed, now),
        decisions,
        "the decisions depend on the order of the images"
    );
    let mut rules_reversed = policy.clone();
    rules_reversed.rules.reverse();
    assert_eq!(
        evaluate(&rules_reversed, images, now),
        decisions,
        "the decisions depend on the order of the rules"
    );
}

fn digest(n: u8) -> String {
    format!("sha256:{:064x}", n)
}

/// Images from a small pool of digests and tags, so they collide and overlap.
fn repository(u: &mut Unstructured) -> Result<(Vec<ImageFacts>, i64)> {
    let now = if u.arbitrary()? {
        u.arbitrary()?
    } else {
        NOW_MS + i64::from(u.int_in_range(-30..=30i8)?) * DAY_MS
    };
    let mut images = Vec::new();
    for _ in 0..u.int_in_range(0..=12u8)? {
        let mut tags = Vec::new();
        for _ in 0..u.int_in_range(0..=3u8)? {
            tags.push(if u.ratio(1, 8)? {
                u.arbitrary::<String>()?
            } else {
                (*u.choose(TAGS)?).to_owned()
            });
        }
        let time = |u: &mut Unstructured| -> Result<i64> {
            if u.ratio(1, 16)? {
                u.arbitrary()
            } else {
                Ok(NOW_MS - i64::from(u.int_in_range(0..=40u16)?) * DAY_MS / 2)
            }
        };
        images.push(ImageFacts {
            digest: digest(u.int_in_range(0..=15)?),
            tags,
            pushed_at_ms: time(u)?,
            last_pulled_at_ms: if u.arbitrary()? { Some(time(u)?) } else { None },
            referenced_by_index: u.ratio(1, 6)?,
            subject: if u.ratio(1, 4)? {
                Some(digest(u.int_in_range(0..=15)?))
            } else {
                None
            },
        });
    }
    Ok((images, now))
}

fn fixed_repository() -> Vec<ImageFacts> {
    let image = |n: u8, tags: &[&str], days_old: i64| ImageFacts {
        digest: digest(n),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        pushed_at_ms: NOW_MS - days_old * DAY_MS,
        last_pulled_at_ms: None,
        referenced_by_index: false,
        subject: None,
    };
    let mut images = vec![
        image(1, &["latest", "prod"], 1),
        image(2, &["prod-1"], 10),
        image(3, &["prod-2", "v1.0"], 20),
        image(4, &["beta-1"], 3),
        image(5, &[], 40),
        image(6, &[], 2),
        image(7, &["v1.1"], 100),
        image(8, &[], 50),
        image(9, &[], 50),
    ];
    images[6].last_pulled_at_ms = Some(NOW_MS - DAY_MS);
    images[7].referenced_by_index = true;
    images[8].subject = Some(digest(5));
    images
}

//! The IAM-style policy parser, validator and evaluator (`berth_app::policy`):
//! any text is accepted or refused without a panic, `check` agrees with
//! `parse` then `validate`, and evaluation keeps IAM's rule (an explicit deny
//! wins over any allow, whatever the order of the policies) and names a
//! statement that really has the deciding effect.
//!
//! Input: the policy text, then optionally a NUL byte and bytes that choose
//! more requests to decide; without them a fixed set of requests is used.
#![no_main]

use berth_app::policy::{
    check, evaluate, managed_policy, parse, validate, Decision, Effect, PolicyDocument, PolicyKind,
    Request,
};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::{fuzz_target, Corpus};

const ACCOUNT: &str = "123456789012";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
const REPOSITORY: &str = "arn:aws:ecr:us-east-1:123456789012:repository/team-a/web";
const ACTIONS: &[&str] = &[
    "ecr:BatchGetImage",
    "ecr:PutImage",
    "ecr:GetAuthorizationToken",
    "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy",
    "ecr:InitiateLayerUpload",
];
const RESOURCES: &[&str] = &[
    REPOSITORY,
    "arn:aws:ecr:us-east-1:123456789012:repository/other",
    "*",
];
const PRINCIPALS: &[&str] = &[
    ALICE,
    "arn:aws:iam::123456789012:user/bob",
    "arn:aws:iam::210987654321:user/eve",
];

fuzz_target!(|data: &[u8]| -> Corpus {
    let (text, tail) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &data[..0]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return Corpus::Reject; // policies are JSON strings
    };
    let parsed = parse(text);
    for kind in [PolicyKind::Identity, PolicyKind::Resource] {
        if let Ok(checked) = check(text, kind) {
            assert_eq!(parsed.as_ref().ok(), Some(&checked));
            assert_eq!(validate(&checked, kind), Ok(()));
        }
    }
    let Ok(doc) = parsed else {
        return Corpus::Keep;
    };

    let mut requests: Vec<(String, String, String)> = Vec::new();
    for action in ACTIONS {
        for resource in RESOURCES {
            for principal in PRINCIPALS {
                requests.push((
                    principal.to_string(),
                    action.to_string(),
                    resource.to_string(),
                ));
            }
        }
    }
    let mut u = Unstructured::new(tail);
    while let Ok(true) = u.arbitrary::<bool>() {
        let Ok(request) = u.arbitrary::<(String, String, String)>() else {
            break;
        };
        requests.push(request);
    }

    let full = managed_policy("AmazonEC2ContainerRegistryFullAccess").expect("a managed policy");
    for (principal, action, resource) in &requests {
        let request = Request {
            principal_arn: principal,
            account_id: ACCOUNT,
            action,
            resource_arn: resource,
        };
        for kind in [PolicyKind::Identity, PolicyKind::Resource] {
            let alone = evaluate(&[("fuzzed", kind, &doc)], &request);
            check_names_a_statement(&alone, &doc);
            let with_full = evaluate(
                &[
                    ("fuzzed", kind, &doc),
                    ("full", PolicyKind::Identity, &full),
                ],
                &request,
            );
            let full_first = evaluate(
                &[
                    ("full", PolicyKind::Identity, &full),
                    ("fuzzed", kind, &doc),
                ],
                &request,
            );
            assert_eq!(with_full, full_first, "the order of the policies matters");
            match alone {
                Decision::ExplicitDeny { .. } => assert!(
                    matches!(with_full, Decision::ExplicitDeny { .. }),
                    "{request:?}: another policy's allow overrode a deny"
                ),
                Decision::Allow { .. } => assert!(with_full.is_allowed(), "{request:?}"),
                Decision::ImplicitDeny => {}
            }
        }
    }
    Corpus::Keep
});

/// `by` reads `<kind>:fuzzed statement <index>…`: that statement must have the
/// decision's effect, and an allowing one no `Condition` (Berth ignores none).
fn check_names_a_statement(decision: &Decision, doc: &PolicyDocument) {
    let (by, effect) = match decision {
        Decision::Allow { by } => (by, Effect::Allow),
        Decision::ExplicitDeny { by } => (by, Effect::Deny),
        Decision::ImplicitDeny => return,
    };
    let index: usize = by
        .split(" statement ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{by:?} names no statement"));
    let statement = &doc.statements[index];
    assert_eq!(statement.effect, effect, "{by}");
    if effect == Effect::Allow {
        assert!(
            statement.condition.is_none(),
            "{by} allows under a Condition"
        );
    }
}

//! Evaluation, the managed policies, and order independence.

use super::*;

// ----- evaluation -----

#[test]
fn explicit_deny_beats_allow_across_identity_and_resource_policies() {
    let identity_allow = valid(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#,
        PolicyKind::Identity,
    );
    let repo_deny = valid(
        r#"{"Version":"2012-10-17","Statement":{"Sid":"NoPush","Effect":"Deny","Principal":"*","Action":"ecr:PutImage"}}"#,
        PolicyKind::Resource,
    );
    let identity_deny = valid(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"ecr:DeleteRepository","Resource":"*"}}"#,
        PolicyKind::Identity,
    );
    let repo_allow = valid(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*"}}"#,
        PolicyKind::Resource,
    );
    let policies = [
        ("admin", PolicyKind::Identity, &identity_allow),
        ("repository/team-a/web", PolicyKind::Resource, &repo_deny),
    ];
    assert_eq!(
        decide(&policies, &request(ALICE, "ecr:PutImage", REPO_A)),
        Decision::ExplicitDeny {
            by: "resource:repository/team-a/web statement 0 (\"NoPush\")".into()
        }
    );
    assert_eq!(
        decide(&policies, &request(ALICE, "ecr:BatchGetImage", REPO_A)),
        Decision::Allow {
            by: "identity:admin statement 0".into()
        }
    );
    let policies = [
        ("no-delete", PolicyKind::Identity, &identity_deny),
        ("repository/team-a/web", PolicyKind::Resource, &repo_allow),
    ];
    assert_eq!(
        decide(&policies, &request(ALICE, "ecr:DeleteRepository", REPO_A)),
        Decision::ExplicitDeny {
            by: "identity:no-delete statement 0".into()
        }
    );
    assert!(decide(&policies, &request(ALICE, "ecr:PutImage", REPO_A)).is_allowed());
}

#[test]
fn no_matching_statement_is_implicit_deny() {
    let d = valid(
        r#"{"Statement":{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/team-a/*"}}"#,
        PolicyKind::Identity,
    );
    let p = [("pull-team-a", PolicyKind::Identity, &d)];
    assert!(decide(&p, &request(ALICE, "ecr:BatchGetImage", REPO_A)).is_allowed());
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:BatchGetImage", REPO_B)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:PutImage", REPO_A)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(&[], &request(ALICE, "ecr:PutImage", REPO_A)),
        Decision::ImplicitDeny
    );
}

#[test]
fn not_action_matches_everything_else() {
    let d = valid(
        r#"{"Statement":[{"Effect":"Allow","NotAction":["ecr:Delete*","ecr:Set*"],"Resource":"*"}]}"#,
        PolicyKind::Identity,
    );
    let p = [("most", PolicyKind::Identity, &d)];
    assert!(decide(&p, &request(ALICE, "ecr:PutImage", REPO_A)).is_allowed());
    assert!(decide(&p, &request(ALICE, "ecr:GetAuthorizationToken", "*")).is_allowed());
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:DeleteRepository", REPO_A)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:setrepositorypolicy", REPO_A)),
        Decision::ImplicitDeny
    );
}

#[test]
fn not_resource_matches_everything_else() {
    let d = valid(
        r#"{"Statement":[
            {"Effect":"Allow","Action":"ecr:*","Resource":"*"},
            {"Sid":"OnlyTeamA","Effect":"Deny","Action":"ecr:PutImage","NotResource":"arn:aws:ecr:us-east-1:123456789012:repository/team-a/*"}]}"#,
        PolicyKind::Identity,
    );
    let p = [("team-a-pusher", PolicyKind::Identity, &d)];
    assert!(decide(&p, &request(ALICE, "ecr:PutImage", REPO_A)).is_allowed());
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:PutImage", REPO_B)),
        Decision::ExplicitDeny {
            by: "identity:team-a-pusher statement 1 (\"OnlyTeamA\")".into()
        }
    );
}

#[test]
fn principal_matching() {
    let policy = |principal: &str| {
        valid(
            &format!(
                r#"{{"Statement":{{"Effect":"Allow","Principal":{principal},"Action":"ecr:BatchGetImage"}}}}"#
            ),
            PolicyKind::Resource,
        )
    };
    let cases = [
        (r#""*""#, ALICE, true),
        (r#"{"AWS":"*"}"#, BOB, true),
        (r#"{"AWS":"123456789012"}"#, ALICE, true),
        (r#"{"AWS":"210987654321"}"#, ALICE, false),
        (r#"{"AWS":"arn:aws:iam::123456789012:root"}"#, BOB, true),
        (r#"{"AWS":"arn:aws:iam::210987654321:root"}"#, BOB, false),
        (
            r#"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#,
            ALICE,
            true,
        ),
        (
            r#"{"AWS":"arn:aws:iam::123456789012:user/alice"}"#,
            BOB,
            false,
        ),
        (
            r#"{"AWS":["arn:aws:iam::123456789012:user/carol","arn:aws:iam::123456789012:user/bob"]}"#,
            BOB,
            true,
        ),
        (
            r#"{"AWS":["arn:aws:iam::123456789012:user/carol","arn:aws:iam::123456789012:user/bob"]}"#,
            ALICE,
            false,
        ),
        (r#"{"Service":"codebuild.amazonaws.com"}"#, ALICE, false),
    ];
    for (principal, caller, expected) in cases {
        let d = policy(principal);
        let p = [("repository/team-a/web", PolicyKind::Resource, &d)];
        let got = decide(&p, &request(caller, "ecr:BatchGetImage", REPO_A)).is_allowed();
        assert_eq!(got, expected, "{principal} vs {caller}");
    }
}

#[test]
fn account_principal_uses_request_account() {
    let d = valid(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"210987654321"},"Action":"ecr:*"}}"#,
        PolicyKind::Resource,
    );
    let p = [("r", PolicyKind::Resource, &d)];
    let mut req = request("arn:aws:iam::210987654321:user/eve", "ecr:PutImage", REPO_A);
    assert_eq!(decide(&p, &req), Decision::ImplicitDeny);
    req.account_id = OTHER_ACCOUNT;
    assert!(decide(&p, &req).is_allowed());
}

#[test]
fn not_principal_denies_everyone_else() {
    let d = valid(
        r#"{"Statement":[
            {"Sid":"All","Effect":"Allow","Principal":"*","Action":"ecr:*"},
            {"Sid":"OnlyAlicePushes","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"ecr:PutImage"}]}"#,
        PolicyKind::Resource,
    );
    let p = [("r", PolicyKind::Resource, &d)];
    assert!(decide(&p, &request(ALICE, "ecr:PutImage", REPO_A)).is_allowed());
    assert_eq!(
        decide(&p, &request(BOB, "ecr:PutImage", REPO_A)),
        Decision::ExplicitDeny {
            by: "resource:r statement 1 (\"OnlyAlicePushes\")".into()
        }
    );
    assert!(decide(&p, &request(BOB, "ecr:BatchGetImage", REPO_A)).is_allowed());
}

#[test]
fn resource_policy_without_resource_covers_its_resource() {
    let d = valid(
        r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}}"#,
        PolicyKind::Resource,
    );
    let p = [("repository/team-b/api", PolicyKind::Resource, &d)];
    assert!(decide(&p, &request(BOB, "ecr:BatchGetImage", REPO_B)).is_allowed());
    assert!(decide(&p, &request(BOB, "ecr:GetDownloadUrlForLayer", REPO_B)).is_allowed());
    assert_eq!(
        decide(&p, &request(BOB, "ecr:PutImage", REPO_B)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:BatchGetImage", REPO_B)),
        Decision::ImplicitDeny
    );
}

#[test]
fn resource_policy_with_explicit_resource_is_respected() {
    let d = valid(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/team-a/*"}}"#,
        PolicyKind::Resource,
    );
    let p = [("registry", PolicyKind::Resource, &d)];
    assert!(decide(&p, &request(BOB, "ecr:PutImage", REPO_A)).is_allowed());
    assert_eq!(
        decide(&p, &request(BOB, "ecr:PutImage", REPO_B)),
        Decision::ImplicitDeny
    );
}

#[test]
fn unvalidated_oddities_never_allow_but_still_deny() {
    // Condition: Berth cannot check it, so an Allow never applies and a Deny always does.
    let conditional = doc(r#"{"Statement":[
            {"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
            {"Effect":"Deny","Action":"ecr:DeleteRepository","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}"#);
    let p = [("c", PolicyKind::Identity, &conditional)];
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:PutImage", REPO_A)),
        Decision::ImplicitDeny
    );
    assert!(matches!(
        decide(&p, &request(ALICE, "ecr:DeleteRepository", REPO_A)),
        Decision::ExplicitDeny { .. }
    ));
    // Identity policy without Resource; resource policy without Principal.
    let no_resource = doc(
        r#"{"Statement":[{"Effect":"Allow","Action":"ecr:*"},{"Effect":"Deny","Action":"ecr:DeleteRepository"}]}"#,
    );
    let p = [("n", PolicyKind::Identity, &no_resource)];
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:PutImage", REPO_A)),
        Decision::ImplicitDeny
    );
    assert!(matches!(
        decide(&p, &request(ALICE, "ecr:DeleteRepository", REPO_A)),
        Decision::ExplicitDeny { .. }
    ));
    let p = [("n", PolicyKind::Resource, &no_resource)];
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:PutImage", REPO_A)),
        Decision::ImplicitDeny
    );
    assert!(matches!(
        decide(&p, &request(ALICE, "ecr:DeleteRepository", REPO_A)),
        Decision::ExplicitDeny { .. }
    ));
}

#[test]
fn registry_wide_actions_need_star_resource() {
    let d = valid(
        r#"{"Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:us-east-1:123456789012:repository/*"}]}"#,
        PolicyKind::Identity,
    );
    let p = [("repos-only", PolicyKind::Identity, &d)];
    assert_eq!(
        decide(&p, &request(ALICE, "ecr:GetAuthorizationToken", "*")),
        Decision::ImplicitDeny
    );
    assert!(decide(&p, &request(ALICE, "ecr:PutImage", REPO_A)).is_allowed());
}

// ----- managed policies -----

#[test]
fn managed_policies_parse_and_validate_as_identity_policies() {
    for name in MANAGED_POLICIES {
        let d = managed_policy(name).unwrap_or_else(|| panic!("{name} missing"));
        validate(&d, PolicyKind::Identity).unwrap_or_else(|e| panic!("{name}: {e}"));
        let arn = format!("arn:aws:iam::aws:policy/{name}");
        assert_eq!(managed_policy(&arn), Some(d), "{arn}");
    }
    assert_eq!(managed_policy("AdministratorAccess"), None);
    assert_eq!(managed_policy("amazonec2containerregistryfullaccess"), None);
}

fn managed_allows(name: &str, action: &str) -> bool {
    let d = managed_policy(name).unwrap();
    let resource = if action == "ecr:GetAuthorizationToken" {
        "*"
    } else {
        REPO_A
    };
    let decision = decide(
        &[(name, PolicyKind::Identity, &d)],
        &request(ALICE, action, resource),
    );
    if decision.is_allowed() {
        assert_eq!(
            decision,
            Decision::Allow {
                by: format!("identity:{name} statement 0")
            }
        );
    }
    decision.is_allowed()
}

const PULL: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
];
const READ: &[&str] = &[
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetRepositoryPolicy",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
    "ecr:DescribeImages",
    "ecr:GetLifecyclePolicy",
    "ecr:GetLifecyclePolicyPreview",
    "ecr:ListTagsForResource",
    "ecr:DescribeImageScanFindings",
];
const PUSH: &[&str] = &[
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
];
const ADMIN: &[&str] = &[
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy",
    "ecr:DeleteRepositoryPolicy",
    "ecr:PutLifecyclePolicy",
    "ecr:DeleteLifecyclePolicy",
    "ecr:BatchDeleteImage",
    "ecr:PutImageTagMutability",
    "ecr:TagResource",
    "ecr:PutRegistryPolicy",
];

fn assert_managed(name: &str, allowed: &[&[&str]], denied: &[&[&str]]) {
    for action in allowed.iter().flat_map(|group| group.iter()) {
        assert!(managed_allows(name, action), "{name} should allow {action}");
    }
    for action in denied.iter().flat_map(|group| group.iter()) {
        assert!(
            !managed_allows(name, action),
            "{name} should not allow {action}"
        );
    }
}

#[test]
fn full_access_allows_every_ecr_action() {
    assert_managed(
        "AmazonEC2ContainerRegistryFullAccess",
        &[PULL, READ, PUSH, ADMIN],
        &[],
    );
    assert!(managed_allows(
        "AmazonEC2ContainerRegistryFullAccess",
        "ecr:AnythingNew"
    ));
    assert!(!managed_allows(
        "AmazonEC2ContainerRegistryFullAccess",
        "iam:CreateUser"
    ));
}

#[test]
fn power_user_pushes_but_cannot_delete_repositories_or_change_policies() {
    assert_managed(
        "AmazonEC2ContainerRegistryPowerUser",
        &[PULL, READ, PUSH],
        &[ADMIN],
    );
}

#[test]
fn read_only_reads_but_cannot_push() {
    assert_managed(
        "AmazonEC2ContainerRegistryReadOnly",
        &[PULL, READ],
        &[PUSH, ADMIN],
    );
}

#[test]
fn pull_only_pulls_and_nothing_else() {
    assert_managed(
        "AmazonEC2ContainerRegistryPullOnly",
        &[PULL],
        &[READ, PUSH, ADMIN],
    );
    assert!(managed_allows(
        "AmazonEC2ContainerRegistryPullOnly",
        "ecr:BatchImportUpstreamImage"
    ));
}

// ----- order independence (property-style) -----

fn fixture_policies() -> Vec<(&'static str, PolicyKind, PolicyDocument)> {
    vec![
        (
            "power",
            PolicyKind::Identity,
            managed_policy("AmazonEC2ContainerRegistryPowerUser").unwrap(),
        ),
        (
            "team-a-only",
            PolicyKind::Identity,
            valid(
                r#"{"Statement":[
                    {"Sid":"NoPushOutsideA","Effect":"Deny","Action":["ecr:PutImage","ecr:*LayerUpload"],"NotResource":"arn:aws:ecr:*:*:repository/team-a/*"},
                    {"Sid":"Describe","Effect":"Allow","Action":"ecr:Describe*","Resource":"*"}]}"#,
                PolicyKind::Identity,
            ),
        ),
        (
            "repository/team-a/web",
            PolicyKind::Resource,
            valid(
                r#"{"Statement":[
                    {"Sid":"BobPulls","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/bob"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]},
                    {"Sid":"NobodyDeletes","Effect":"Deny","Principal":"*","Action":"ecr:Delete*"},
                    {"Sid":"AccountTags","Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"ecr:*Tag*"}]}"#,
                PolicyKind::Resource,
            ),
        ),
        (
            "registry",
            PolicyKind::Resource,
            valid(
                r#"{"Statement":[
                    {"Sid":"AliceAdmin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"ecr:*","Resource":"*"},
                    {"Sid":"NoPolicyChangesButAlice","Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"ecr:Set*","Resource":"*"}]}"#,
                PolicyKind::Resource,
            ),
        ),
    ]
}

fn fixture_requests() -> Vec<Request<'static>> {
    let actions = [
        "ecr:PutImage",
        "ecr:BatchGetImage",
        "ecr:DeleteRepository",
        "ecr:SetRepositoryPolicy",
        "ecr:TagResource",
        "ecr:DescribeImages",
        "ecr:InitiateLayerUpload",
        "ecr:GetAuthorizationToken",
        "cloudtrail:LookupEvents",
    ];
    let mut requests = Vec::new();
    for principal in [ALICE, BOB, "arn:aws:iam::123456789012:user/carol"] {
        for action in actions {
            for resource in [REPO_A, REPO_B, "*"] {
                requests.push(request(principal, action, resource));
            }
        }
    }
    requests
}

/// All orderings of `items` (Heap's algorithm).
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    fn heap<T: Clone>(k: usize, items: &mut Vec<T>, out: &mut Vec<Vec<T>>) {
        if k <= 1 {
            out.push(items.clone());
            return;
        }
        for i in 0..k {
            heap(k - 1, items, out);
            let j = if k & 1 == 0 { i } else { 0 };
            items.swap(j, k - 1);
        }
    }
    let mut out = Vec::new();
    heap(items.len(), &mut items.to_vec(), &mut out);
    out
}

#[test]
fn permutations_helper_covers_all_orders() {
    let mut all = permutations(&[1, 2, 3, 4]);
    assert_eq!(all.len(), 24);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 24);
}

#[test]
fn decision_does_not_depend_on_policy_order() {
    let fixtures = fixture_policies();
    let refs: Vec<(&str, PolicyKind, &PolicyDocument)> =
        fixtures.iter().map(|(l, k, d)| (*l, *k, d)).collect();
    let requests = fixture_requests();
    let baseline: Vec<Decision> = requests.iter().map(|r| evaluate(&refs, r)).collect();
    // The fixtures exercise all three outcomes.
    assert!(baseline.iter().any(|d| matches!(d, Decision::Allow { .. })));
    assert!(baseline
        .iter()
        .any(|d| matches!(d, Decision::ExplicitDeny { .. })));
    assert!(baseline.contains(&Decision::ImplicitDeny));
    for order in permutations(&refs) {
        for (req, expected) in requests.iter().zip(&baseline) {
            assert_eq!(&evaluate(&order, req), expected, "{req:?}");
        }
    }
}

#[test]
fn decision_does_not_depend_on_statement_order() {
    let fixtures = fixture_policies();
    let refs: Vec<(&str, PolicyKind, &PolicyDocument)> =
        fixtures.iter().map(|(l, k, d)| (*l, *k, d)).collect();
    let requests = fixture_requests();
    let baseline: Vec<Decision> = requests.iter().map(|r| evaluate(&refs, r)).collect();
    for (target, (label, kind, original)) in fixtures.iter().enumerate() {
        for statements in permutations(&original.statements) {
            let shuffled = PolicyDocument {
                statements,
                ..original.clone()
            };
            let mut policies = refs.clone();
            policies[target] = (label, *kind, &shuffled);
            for (req, expected) in requests.iter().zip(&baseline) {
                let got = evaluate(&policies, req);
                // `by` carries the statement's index, which moves; the outcome must not.
                assert_eq!(
                    std::mem::discriminant(&got),
                    std::mem::discriminant(expected),
                    "{label} shuffled, {req:?}: {got:?} vs {expected:?}"
                );
            }
        }
    }
}

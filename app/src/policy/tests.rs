//! Tests of parsing, validation, evaluation and the managed policies.

use super::*;

const ACCOUNT: &str = "123456789012";
const OTHER_ACCOUNT: &str = "210987654321";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
const BOB: &str = "arn:aws:iam::123456789012:user/bob";
const REPO_A: &str = "arn:aws:ecr:us-east-1:123456789012:repository/team-a/web";
const REPO_B: &str = "arn:aws:ecr:us-east-1:123456789012:repository/team-b/api";

fn request<'a>(principal_arn: &'a str, action: &'a str, resource_arn: &'a str) -> Request<'a> {
    Request {
        principal_arn,
        account_id: ACCOUNT,
        action,
        resource_arn,
    }
}

fn doc(text: &str) -> PolicyDocument {
    parse(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn valid(text: &str, kind: PolicyKind) -> PolicyDocument {
    let d = doc(text);
    validate(&d, kind).unwrap_or_else(|e| panic!("{e}: {text}"));
    d
}

fn decide(policies: &[(&str, PolicyKind, &PolicyDocument)], req: &Request) -> Decision {
    evaluate(policies, req)
}

fn sref(index: usize, sid: Option<&str>) -> StatementRef {
    StatementRef {
        index,
        sid: sid.map(str::to_owned),
    }
}

// ----- parsing -----

#[test]
fn parses_single_statement_object_with_string_fields() {
    let d = doc(
        r#"{"Version":"2012-10-17","Statement":{"Sid":"S","Effect":"Allow","Action":"ecr:PutImage","Resource":"*"}}"#,
    );
    assert_eq!(d.version, PolicyVersion::V2012_10_17);
    assert_eq!(d.statements.len(), 1);
    let s = &d.statements[0];
    assert_eq!(s.sid.as_deref(), Some("S"));
    assert_eq!(s.effect, Effect::Allow);
    assert_eq!(s.actions, Listing::Listed(vec!["ecr:PutImage".to_owned()]));
    assert_eq!(s.resources, Some(Listing::Listed(vec!["*".to_owned()])));
    assert_eq!(s.principals, None);
}

#[test]
fn parses_statement_array_with_array_fields() {
    let d = doc(r#"{"Version":"2008-10-17","Id":"x","Statement":[
        {"Effect":"Allow","Action":["ecr:A","ecr:B"],"Resource":["arn:aws:ecr:r:1:repository/a","*"]},
        {"Effect":"Deny","NotAction":["ecr:C"],"NotResource":"*"}]}"#);
    assert_eq!(d.version, PolicyVersion::V2008_10_17);
    assert_eq!(d.id.as_deref(), Some("x"));
    assert_eq!(d.statements.len(), 2);
    assert_eq!(d.statements[0].actions.entries(), ["ecr:A", "ecr:B"]);
    assert_eq!(d.statements[1].effect, Effect::Deny);
    assert_eq!(
        d.statements[1].actions,
        Listing::AllExcept(vec!["ecr:C".to_owned()])
    );
    assert_eq!(
        d.statements[1].resources,
        Some(Listing::AllExcept(vec!["*".to_owned()]))
    );
}

#[test]
fn missing_version_reads_as_2008() {
    let d = doc(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#);
    assert_eq!(d.version, PolicyVersion::V2008_10_17);
    assert_eq!(d.version.as_str(), "2008-10-17");
}

#[test]
fn parses_principal_forms() {
    let d = doc(r#"{"Statement":[
        {"Effect":"Allow","Principal":"*","Action":"*"},
        {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*"},
        {"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:root"],"Service":"codebuild.amazonaws.com"},"Action":"*"},
        {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"*"}]}"#);
    let p = |i: usize| d.statements[i].principals.clone().unwrap();
    assert_eq!(p(0), Listing::Listed(vec![Principal::Any]));
    assert_eq!(p(1), Listing::Listed(vec![Principal::Any]));
    assert_eq!(
        p(2),
        Listing::Listed(vec![
            Principal::Aws(ACCOUNT.to_owned()),
            Principal::Aws("arn:aws:iam::123456789012:root".to_owned()),
            Principal::Service("codebuild.amazonaws.com".to_owned()),
        ])
    );
    assert_eq!(
        p(3),
        Listing::AllExcept(vec![Principal::Aws(ALICE.to_owned())])
    );
}

#[test]
fn duplicate_keys_are_accepted_last_wins() {
    let d = doc(r#"{"Statement":{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}}"#);
    assert_eq!(d.statements[0].effect, Effect::Allow);
}

#[test]
fn parse_errors_name_statement_and_field() {
    use PolicyError as E;
    let cases: Vec<(&str, PolicyError)> = vec![
        ("nope", E::Json(String::new())),
        ("[]", E::NotAnObject),
        (
            r#"{"Statement":[],"Extra":1}"#,
            E::UnknownTopLevelKey("Extra".into()),
        ),
        (
            r#"{"Version":1,"Statement":[]}"#,
            E::TopLevelType {
                field: "Version",
                expected: "a string",
            },
        ),
        (
            r#"{"Id":1,"Statement":[]}"#,
            E::TopLevelType {
                field: "Id",
                expected: "a string",
            },
        ),
        (
            r#"{"Version":"2020-01-01","Statement":[]}"#,
            E::UnsupportedVersion("2020-01-01".into()),
        ),
        (r#"{"Version":"2012-10-17"}"#, E::MissingStatement),
        (r#"{"Statement":[]}"#, E::EmptyStatement),
        (
            r#"{"Statement":"x"}"#,
            E::TopLevelType {
                field: "Statement",
                expected: "an object or an array of objects",
            },
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*"},3]}"#,
            E::StatementNotObject(1),
        ),
        (
            r#"{"Statement":{"Sid":"S","Effect":"Allow","Action":"*","Actions":"*"}}"#,
            E::UnknownStatementKey {
                statement: sref(0, Some("S")),
                key: "Actions".into(),
            },
        ),
        (
            r#"{"Statement":{"Sid":7,"Effect":"Allow","Action":"*"}}"#,
            E::WrongType {
                statement: sref(0, None),
                field: "Sid",
                expected: "a string",
            },
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*"},{"Action":"*"}]}"#,
            E::MissingField {
                statement: sref(1, None),
                field: "Effect",
            },
        ),
        (
            r#"{"Statement":{"Sid":"S","Effect":"allow","Action":"*"}}"#,
            E::InvalidEffect {
                statement: sref(0, Some("S")),
                value: "allow".into(),
            },
        ),
        (
            r#"{"Statement":{"Effect":true,"Action":"*"}}"#,
            E::WrongType {
                statement: sref(0, None),
                field: "Effect",
                expected: "the string \"Allow\" or \"Deny\"",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow"}}"#,
            E::MissingOneOf {
                statement: sref(0, None),
                field: "Action",
                other: "NotAction",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"*"}}"#,
            E::Conflicting {
                statement: sref(0, None),
                field: "Action",
                other: "NotAction",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}}"#,
            E::Conflicting {
                statement: sref(0, None),
                field: "Resource",
                other: "NotResource",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":"*","NotPrincipal":"*"}}"#,
            E::Conflicting {
                statement: sref(0, None),
                field: "Principal",
                other: "NotPrincipal",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":[]}}"#,
            E::EmptyList {
                statement: sref(0, None),
                field: "Action",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotResource":[1]}}"#,
            E::WrongType {
                statement: sref(0, None),
                field: "NotResource",
                expected: "a string or an array of strings",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":{"a":1}}}"#,
            E::WrongType {
                statement: sref(0, None),
                field: "Action",
                expected: "a string or an array of strings",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":{}}}"#,
            E::EmptyList {
                statement: sref(0, None),
                field: "Principal",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":"123456789012"}}"#,
            E::WrongType {
                statement: sref(0, None),
                field: "Principal",
                expected: "\"*\" or an object like {\"AWS\": \"123456789012\"}",
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotPrincipal":{"Federated":"x"}}}"#,
            E::UnsupportedPrincipalType {
                statement: sref(0, None),
                field: "NotPrincipal",
                key: "Federated".into(),
            },
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Condition":"x"}}"#,
            E::WrongType {
                statement: sref(0, None),
                field: "Condition",
                expected: "an object",
            },
        ),
    ];
    for (text, expected) in cases {
        let err = parse(text).expect_err(text);
        match (&err, &expected) {
            (E::Json(_), E::Json(_)) => {}
            _ => assert_eq!(err, expected, "{text}"),
        }
    }
}

#[test]
fn error_messages_name_statement_and_field() {
    let err = parse(r#"{"Statement":[{"Effect":"Allow","Action":"*"},{"Sid":"Push","Effect":"Allow","Action":"*","Bogus":1}]}"#)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "statement 1 (\"Push\"): unknown key `Bogus`"
    );
    let err = parse(r#"{"Statement":{"Effect":"Allow","Action":[]}}"#).unwrap_err();
    assert_eq!(err.to_string(), "statement 0: Action must not be empty");
    let err = parse(r#"{"Statement":[],"Foo":1}"#).unwrap_err();
    assert!(err.to_string().contains("`Foo`"), "{err}");
}

// ----- validation -----

#[test]
fn validation_errors_name_statement_and_field() {
    use PolicyError as E;
    use PolicyKind::{Identity, Resource};
    let cases: Vec<(&str, PolicyKind, PolicyError, &str)> = vec![
        (
            r#"{"Statement":{"Sid":"C","Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"a"}}}}"#,
            Identity,
            E::ConditionNotSupported {
                statement: sref(0, Some("C")),
            },
            "statement 0 (\"C\"): Condition is not supported by Berth yet",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Allow","Action":"PutImage","Resource":"*"}]}"#,
            Identity,
            E::InvalidAction {
                statement: sref(1, None),
                field: "Action",
                value: "PutImage".into(),
            },
            "statement 1: Action entry \"PutImage\"",
        ),
        (
            r#"{"Statement":{"Effect":"Deny","NotAction":["ecr:*","ecr:"],"Resource":"*"}}"#,
            Identity,
            E::InvalidAction {
                statement: sref(0, None),
                field: "NotAction",
                value: "ecr:".into(),
            },
            "statement 0: NotAction entry \"ecr:\"",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"repository/x"}}"#,
            Identity,
            E::InvalidResource {
                statement: sref(0, None),
                field: "Resource",
                value: "repository/x".into(),
            },
            "statement 0: Resource entry \"repository/x\"",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotResource":"arn:aws:ecr"}}"#,
            Identity,
            E::InvalidResource {
                statement: sref(0, None),
                field: "NotResource",
                value: "arn:aws:ecr".into(),
            },
            "statement 0: NotResource entry",
        ),
        (
            r#"{"Statement":{"Sid":"P","Effect":"Allow","Action":"*","Principal":{"AWS":"alice"}}}"#,
            Resource,
            E::InvalidPrincipal {
                statement: sref(0, Some("P")),
                field: "Principal",
                value: "alice".into(),
            },
            "statement 0 (\"P\"): Principal entry \"alice\"",
        ),
        (
            r#"{"Statement":{"Effect":"Deny","Action":"*","NotPrincipal":{"AWS":"arn:aws:iam::12345:root"}}}"#,
            Resource,
            E::InvalidPrincipal {
                statement: sref(0, None),
                field: "NotPrincipal",
                value: "arn:aws:iam::12345:root".into(),
            },
            "statement 0: NotPrincipal entry",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Principal":{"Service":""}}}"#,
            Resource,
            E::InvalidPrincipal {
                statement: sref(0, None),
                field: "Principal",
                value: String::new(),
            },
            "statement 0: Principal entry \"\"",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}}"#,
            Identity,
            E::PrincipalNotAllowed {
                statement: sref(0, None),
                field: "Principal",
            },
            "statement 0: Principal is not allowed in an identity policy",
        ),
        (
            r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","NotPrincipal":"*"}}"#,
            Identity,
            E::PrincipalNotAllowed {
                statement: sref(0, None),
                field: "NotPrincipal",
            },
            "statement 0: NotPrincipal is not allowed in an identity policy",
        ),
        (
            r#"{"Statement":{"Sid":"R","Effect":"Allow","Action":"ecr:*"}}"#,
            Resource,
            E::PrincipalRequired {
                statement: sref(0, Some("R")),
            },
            "statement 0 (\"R\"): Principal (or NotPrincipal) is required in a resource policy",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*"}}"#,
            Identity,
            E::ResourceRequired {
                statement: sref(0, None),
            },
            "statement 0: Resource (or NotResource) is required in an identity policy",
        ),
        (
            r#"{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"B","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"*","Resource":"*"}]}"#,
            Identity,
            E::DuplicateSid {
                statement: sref(2, Some("A")),
                first: 0,
            },
            "statement 2 (\"A\"): Sid is already used by statement 0",
        ),
    ];
    for (text, kind, expected, message) in cases {
        let err = validate(&doc(text), kind).expect_err(text);
        assert_eq!(err, expected, "{text}");
        assert!(err.to_string().starts_with(message), "{err} / {message}");
    }
}

#[test]
fn validation_accepts_well_formed_policies() {
    valid(
        r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["ecr:Batch*","ecr:Get?ownloadUrlForLayer"],"Resource":"arn:aws:ecr:us-east-1:123456789012:repository/team-a/*"},
            {"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"},
            {"Effect":"Deny","NotAction":"ecr:Describe*","NotResource":"arn:aws:ecr:*:*:repository/public/*"}]}"#,
        PolicyKind::Identity,
    );
    valid(
        r#"{"Version":"2008-10-17","Statement":[
            {"Sid":"Pull","Effect":"Allow","Principal":{"AWS":["210987654321","arn:aws:iam::210987654321:root","arn:aws:iam::123456789012:user/alice","arn:aws:sts::123456789012:assumed-role/r/s"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]},
            {"Sid":"Everyone","Effect":"Allow","Principal":"*","Action":"ecr:DescribeImages"},
            {"Sid":"CodeBuild","Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"ecr:BatchGetImage"}]}"#,
        PolicyKind::Resource,
    );
}

// ----- wildcard matching -----

#[test]
fn action_matching_table() {
    let cases = [
        ("*", "ecr:PutImage", true),
        ("ecr:*", "ecr:PutImage", true),
        ("ecr:*", "cloudtrail:LookupEvents", false),
        ("ECR:putimage", "ecr:PutImage", true),
        ("ecr:PutImage", "ECR:PUTIMAGE", true),
        ("ecr:Batch*", "ecr:BatchGetImage", true),
        ("ecr:Batch*", "ecr:BatchCheckLayerAvailability", true),
        ("ecr:Batch*", "ecr:GetDownloadUrlForLayer", false),
        ("ecr:*Image", "ecr:PutImage", true),
        ("ecr:*Image", "ecr:PutImageScanningConfiguration", false),
        ("ecr:*Image*", "ecr:PutImageScanningConfiguration", true),
        ("ecr:?utImage", "ecr:PutImage", true),
        ("ecr:?utImage", "ecr:utImage", false),
        ("ecr:Put?", "ecr:PutImage", false),
        ("ecr:PutImage", "ecr:PutImageTagMutability", false),
        ("ecr:*a*a*a*b", "ecr:aaaaaaaaaaaaaaaaaaaaaaaaab", true),
        ("ecr:*a*a*a*b", "ecr:aaaaaaaaaaaaaaaaaaaaaaaaaa", false),
        ("**", "", true),
        ("", "ecr:PutImage", false),
    ];
    for (pattern, action, expected) in cases {
        assert_eq!(
            action_matches(pattern, action),
            expected,
            "{pattern} vs {action}"
        );
    }
}

#[test]
fn resource_matching_table() {
    let cases = [
        ("*", REPO_A, true),
        ("*", "*", true),
        (REPO_A, REPO_A, true),
        (
            "arn:aws:ecr:us-east-1:123456789012:repository/team-a/*",
            REPO_A,
            true,
        ),
        (
            "arn:aws:ecr:us-east-1:123456789012:repository/team-a/*",
            REPO_B,
            false,
        ),
        (
            "arn:aws:ecr:us-east-1:123456789012:repository/team-a/*",
            "*",
            false,
        ),
        ("arn:aws:ecr:*:123456789012:repository/*", REPO_B, true),
        ("arn:aws:ecr:*:210987654321:repository/*", REPO_B, false),
        (
            "arn:aws:ecr:us-east-1:123456789012:repository/TEAM-A/*",
            REPO_A,
            false,
        ),
        (
            "arn:aws:ecr:us-east-1:123456789012:repository/team-?/web",
            REPO_A,
            true,
        ),
        (
            "arn:aws:ecr:us-east-1:123456789012:repository/team-?/web",
            REPO_B,
            false,
        ),
        ("arn:aws:ecr:us-east-1:123456789012:*", REPO_A, true),
        (
            "arn:aws:ecr:us-east-1:123456789012:repository/team-a",
            REPO_A,
            false,
        ),
    ];
    for (pattern, arn, expected) in cases {
        assert_eq!(
            resource_matches(pattern, arn),
            expected,
            "{pattern} vs {arn}"
        );
    }
}

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

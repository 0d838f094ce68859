//! Parsing, validation and wildcard matching.

use super::*;

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

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

mod evaluation;
mod parsing;

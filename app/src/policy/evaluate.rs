//! Evaluation: explicit deny wins, then any allow, else deny.

use super::*;

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// Decides a request against labelled policies with IAM's rule: any matching
/// Deny statement in any policy gives [`Decision::ExplicitDeny`]; otherwise
/// any matching Allow in any policy (identity or resource) gives
/// [`Decision::Allow`]; otherwise [`Decision::ImplicitDeny`].
///
/// A statement matches when its action, resource and (for resource policies)
/// principal match. Documents are expected to have passed [`validate`];
/// anything it would refuse is read conservatively: a statement with a
/// `Condition`, or missing the `Resource` of an identity policy or the
/// `Principal` of a resource policy, never allows but still denies.
///
/// When several statements decide, `by` names the one whose description sorts
/// first, so the result does not depend on the order of `policies`. `label`
/// is the policy's bare name; `by` prefixes it with the kind.
pub fn evaluate(policies: &[(&str, PolicyKind, &PolicyDocument)], request: &Request) -> Decision {
    let mut deny: Option<String> = None;
    let mut allow: Option<String> = None;
    for &(label, kind, doc) in policies {
        for (index, statement) in doc.statements.iter().enumerate() {
            if !statement_applies(statement, kind, request) {
                continue;
            }
            let by = format!("{}:{label} {}", kind.as_str(), statement.reference(index));
            let slot = match statement.effect {
                Effect::Deny => &mut deny,
                Effect::Allow => &mut allow,
            };
            keep_first_sorted(slot, by);
        }
    }
    match (deny, allow) {
        (Some(by), _) => Decision::ExplicitDeny { by },
        (None, Some(by)) => Decision::Allow { by },
        (None, None) => Decision::ImplicitDeny,
    }
}

pub(super) fn keep_first_sorted(slot: &mut Option<String>, candidate: String) {
    if slot.as_ref().is_none_or(|current| candidate < *current) {
        *slot = Some(candidate);
    }
}

pub(super) fn statement_applies(
    statement: &Statement,
    kind: PolicyKind,
    request: &Request,
) -> bool {
    let is_deny = statement.effect == Effect::Deny;
    statement
        .actions
        .matches(|pattern| action_matches(pattern, request.action))
        && resource_applies(statement, kind, request)
        && principal_applies(statement, kind, request)
        && (statement.condition.is_none() || is_deny)
}

pub(super) fn resource_applies(statement: &Statement, kind: PolicyKind, request: &Request) -> bool {
    match &statement.resources {
        Some(resources) => {
            resources.matches(|pattern| resource_matches(pattern, request.resource_arn))
        }
        // A resource policy applies to what it is attached to.
        None => kind == PolicyKind::Resource || statement.effect == Effect::Deny,
    }
}

pub(super) fn principal_applies(
    statement: &Statement,
    kind: PolicyKind,
    request: &Request,
) -> bool {
    if kind == PolicyKind::Identity {
        return true;
    }
    match &statement.principals {
        Some(principals) => principals.matches(|p| principal_matches(p, request)),
        None => statement.effect == Effect::Deny,
    }
}

/// Whether a principal named in a policy covers the request's caller: `*`
/// covers everyone; an account id or `arn:aws:iam::<account>:root` covers
/// every principal of `request.account_id`; any other ARN must equal
/// `request.principal_arn` exactly. Service principals cover no Berth caller.
pub fn principal_matches(principal: &Principal, request: &Request) -> bool {
    match principal {
        Principal::Any => true,
        Principal::Service(_) => false,
        Principal::Aws(id) => id == request.principal_arn || names_account(id, request.account_id),
    }
}

pub(super) fn names_account(id: &str, account_id: &str) -> bool {
    if account_id.is_empty() {
        return false;
    }
    let root = id
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.strip_suffix(":root"));
    id == account_id || root == Some(account_id)
}

/// Whether an `Action` pattern covers an action: case-insensitive, with `*`
/// (any run of characters) and `?` (one character), e.g. `ecr:Batch*`.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match(&pattern.to_lowercase(), &action.to_lowercase())
}

/// Whether a `Resource` pattern covers an ARN: case-sensitive, with `*` and
/// `?` matching any characters (including `:` and `/`). A registry-wide
/// request (resource `*`) is covered only by patterns that match the literal
/// `*`, such as `*` itself, as in IAM.
pub fn resource_matches(pattern: &str, arn: &str) -> bool {
    wildcard_match(pattern, arn)
}

/// Glob matching with IAM's `*` and `?`.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    crate::wildcard::matches(crate::wildcard::Syntax::StarAndQuestion, pattern, text)
}

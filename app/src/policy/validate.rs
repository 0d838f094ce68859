//! Validation: what a parsed policy means for its kind.

use super::*;

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// Checks a parsed document's meaning for its kind (see the module docs).
/// Reports the first problem found, in statement order.
pub fn validate(doc: &PolicyDocument, kind: PolicyKind) -> Result<(), PolicyError> {
    for (index, statement) in doc.statements.iter().enumerate() {
        validate_statement(&statement.reference(index), statement, kind)?;
    }
    check_unique_sids(doc)
}

pub(super) fn validate_statement(
    at: &StatementRef,
    statement: &Statement,
    kind: PolicyKind,
) -> Result<(), PolicyError> {
    if statement.condition.is_some() {
        return Err(PolicyError::ConditionNotSupported {
            statement: at.clone(),
        });
    }
    validate_actions(at, &statement.actions)?;
    validate_resources(at, statement.resources.as_ref(), kind)?;
    validate_principals(at, statement.principals.as_ref(), kind)
}

pub(super) fn validate_actions(
    at: &StatementRef,
    actions: &Listing<String>,
) -> Result<(), PolicyError> {
    let field = listing_field(actions, "Action", "NotAction");
    match actions.entries().iter().find(|a| !is_valid_action(a)) {
        Some(bad) => Err(PolicyError::InvalidAction {
            statement: at.clone(),
            field,
            value: bad.clone(),
        }),
        None => Ok(()),
    }
}

pub(super) fn validate_resources(
    at: &StatementRef,
    resources: Option<&Listing<String>>,
    kind: PolicyKind,
) -> Result<(), PolicyError> {
    let Some(resources) = resources else {
        return match kind {
            PolicyKind::Identity => Err(PolicyError::ResourceRequired {
                statement: at.clone(),
            }),
            PolicyKind::Resource => Ok(()),
        };
    };
    let field = listing_field(resources, "Resource", "NotResource");
    match resources.entries().iter().find(|r| !is_valid_resource(r)) {
        Some(bad) => Err(PolicyError::InvalidResource {
            statement: at.clone(),
            field,
            value: bad.clone(),
        }),
        None => Ok(()),
    }
}

pub(super) fn validate_principals(
    at: &StatementRef,
    principals: Option<&Listing<Principal>>,
    kind: PolicyKind,
) -> Result<(), PolicyError> {
    match (kind, principals) {
        (PolicyKind::Identity, None) => Ok(()),
        (PolicyKind::Identity, Some(p)) => Err(PolicyError::PrincipalNotAllowed {
            statement: at.clone(),
            field: listing_field(p, "Principal", "NotPrincipal"),
        }),
        (PolicyKind::Resource, None) => Err(PolicyError::PrincipalRequired {
            statement: at.clone(),
        }),
        (PolicyKind::Resource, Some(p)) => validate_principal_ids(at, p),
    }
}

pub(super) fn validate_principal_ids(
    at: &StatementRef,
    principals: &Listing<Principal>,
) -> Result<(), PolicyError> {
    let field = listing_field(principals, "Principal", "NotPrincipal");
    let bad = principals.entries().iter().find_map(|p| match p {
        Principal::Any => None,
        Principal::Aws(id) => (!is_valid_aws_principal(id)).then_some(id),
        Principal::Service(name) => name.trim().is_empty().then_some(name),
    });
    match bad {
        Some(value) => Err(PolicyError::InvalidPrincipal {
            statement: at.clone(),
            field,
            value: value.clone(),
        }),
        None => Ok(()),
    }
}

pub(super) fn check_unique_sids(doc: &PolicyDocument) -> Result<(), PolicyError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, statement) in doc.statements.iter().enumerate() {
        let Some(sid) = statement.sid.as_deref() else {
            continue;
        };
        if let Some(&first) = seen.get(sid) {
            return Err(PolicyError::DuplicateSid {
                statement: statement.reference(index),
                first,
            });
        }
        seen.insert(sid, index);
    }
    Ok(())
}

/// The name of the element a listing came from.
pub(super) fn listing_field<T>(
    listing: &Listing<T>,
    field: &'static str,
    not_field: &'static str,
) -> &'static str {
    match listing {
        Listing::Listed(_) => field,
        Listing::AllExcept(_) => not_field,
    }
}

/// `*`, or `service:Name` where the service prefix is letters, digits and `-`
/// and the name is letters and digits with `*`/`?` wildcards.
pub(super) fn is_valid_action(action: &str) -> bool {
    if action == "*" {
        return true;
    }
    let Some((service, name)) = action.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
}

/// `*` or an ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`, wildcards allowed).
pub(super) fn is_valid_resource(resource: &str) -> bool {
    resource == "*" || (resource.starts_with("arn:") && resource.split(':').count() >= 6)
}

/// A 12-digit account id, or an IAM/STS ARN such as `arn:aws:iam::<account>:root`.
pub(super) fn is_valid_aws_principal(id: &str) -> bool {
    if is_account_id(id) {
        return true;
    }
    let rest = id
        .strip_prefix("arn:aws:iam::")
        .or_else(|| id.strip_prefix("arn:aws:sts::"));
    match rest.and_then(|r| r.split_once(':')) {
        Some((account, name)) => is_account_id(account) && !name.is_empty(),
        None => false,
    }
}

pub(super) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

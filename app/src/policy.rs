//! IAM-style permission policies as Amazon ECR applies them: parsing,
//! validation and evaluation, plus ECR's AWS managed policies.
//!
//! This module is pure: no I/O, no clock, no async, no global state. The same
//! code authorizes requests in the server and powers the console's policy
//! editor in the browser (it compiles to `wasm32-unknown-unknown`).
//!
//! The work is split in three steps:
//!
//! 1. [`parse`] checks the JSON *shape*: known keys, types, `Effect`, exactly
//!    one of `Action`/`NotAction`, at most one of `Resource`/`NotResource` and
//!    of `Principal`/`NotPrincipal`.
//! 2. [`validate`] checks the *meaning* for a [`PolicyKind`]: identity policies
//!    need a resource and have no principal, resource policies need a
//!    principal; actions, resources and principals are well formed; `Sid`s are
//!    unique; `Condition` is refused because Berth does not evaluate it yet.
//! 3. [`evaluate`] decides a [`Request`] against any number of policies with
//!    IAM's rule: an explicit deny wins, then any allow, else an implicit deny.
//!
//! Duplicate JSON keys are accepted, and the last occurrence wins (serde_json's
//! default behaviour), so `{"Effect":"Deny","Effect":"Allow"}` is an Allow.
//! JSON key names are case-sensitive, as in IAM.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

/// The names of the AWS managed policies Berth provides, for [`managed_policy`].
pub const MANAGED_POLICIES: &[&str] = &[
    "AmazonEC2ContainerRegistryFullAccess",
    "AmazonEC2ContainerRegistryPowerUser",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonEC2ContainerRegistryPullOnly",
];

/// The ARN prefix of AWS managed policies, accepted by [`managed_policy`].
const MANAGED_POLICY_ARN_PREFIX: &str = "arn:aws:iam::aws:policy/";

/// The top-level keys a policy document may have.
const DOCUMENT_KEYS: &[&str] = &["Version", "Id", "Statement"];

/// The keys a statement may have.
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
];

/// A parsed policy document: `Version` and its statements.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    /// The policy language version (`Version`); a missing one is read as 2008-10-17.
    pub version: PolicyVersion,
    /// The optional top-level `Id`.
    pub id: Option<String>,
    /// The statements, in document order (never empty).
    pub statements: Vec<Statement>,
}

/// The policy language versions IAM defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    /// `"2012-10-17"`, the current version.
    V2012_10_17,
    /// `"2008-10-17"`, the original version and the default when `Version` is absent.
    V2008_10_17,
}

impl PolicyVersion {
    /// The version as written in a policy document.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2012_10_17 => "2012-10-17",
            PolicyVersion::V2008_10_17 => "2008-10-17",
        }
    }
}

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The optional statement id (`Sid`).
    pub sid: Option<String>,
    /// Whether a matching statement allows or denies.
    pub effect: Effect,
    /// `Action` (listed) or `NotAction` (all except).
    pub actions: Listing<String>,
    /// `Resource` or `NotResource`; `None` means "the resource the policy is attached to".
    pub resources: Option<Listing<String>>,
    /// `Principal` or `NotPrincipal`; only resource policies have one.
    pub principals: Option<Listing<Principal>>,
    /// The raw `Condition` block, kept so that [`validate`] can refuse it.
    pub condition: Option<Value>,
}

impl Statement {
    /// How messages and decisions name this statement, given its position.
    pub fn reference(&self, index: usize) -> StatementRef {
        StatementRef {
            index,
            sid: self.sid.clone(),
        }
    }
}

/// A statement's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `"Allow"`.
    Allow,
    /// `"Deny"`.
    Deny,
}

/// A statement element and its `Not` twin: `Action`/`NotAction`,
/// `Resource`/`NotResource`, `Principal`/`NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub enum Listing<T> {
    /// The plain element: matches what any entry matches.
    Listed(Vec<T>),
    /// The `Not` element: matches what no entry matches.
    AllExcept(Vec<T>),
}

impl<T> Listing<T> {
    /// Whether the listing covers a value, given how one entry matches it.
    pub fn matches(&self, entry_matches: impl Fn(&T) -> bool) -> bool {
        match self {
            Listing::Listed(entries) => entries.iter().any(entry_matches),
            Listing::AllExcept(entries) => !entries.iter().any(entry_matches),
        }
    }

    /// The entries, whichever way they are listed.
    pub fn entries(&self) -> &[T] {
        match self {
            Listing::Listed(entries) | Listing::AllExcept(entries) => entries,
        }
    }
}

/// One principal named in a `Principal`/`NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    /// `"*"` or `{"AWS": "*"}`: everyone.
    Any,
    /// `{"AWS": "..."}`: a 12-digit account id, `arn:aws:iam::<account>:root`
    /// (both meaning every principal of that account) or a principal's ARN.
    Aws(String),
    /// `{"Service": "..."}`: an AWS service. Accepted so that policies copied
    /// from AWS keep working, but no Berth caller is a service, so it never matches.
    Service(String),
}

/// Which kind of policy a document is, which decides what [`validate`] requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PolicyKind {
    /// Attached to a user: no `Principal`, `Resource` required.
    Identity,
    /// Attached to a repository or the registry: `Principal` required,
    /// `Resource` optional (defaults to the resource the policy is attached to).
    Resource,
}

impl PolicyKind {
    /// The lowercase word used in [`Decision`] descriptions.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity",
            PolicyKind::Resource => "resource",
        }
    }
}

/// How error messages and decisions name a statement: by index, and by `Sid`
/// when it has one, e.g. `statement 2 ("AllowPull")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatementRef {
    /// The statement's zero-based position in the document.
    pub index: usize,
    /// The statement's `Sid`, if any.
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sid {
            Some(sid) => write!(f, "statement {} ({sid:?})", self.index),
            None => write!(f, "statement {}", self.index),
        }
    }
}

/// Why a policy document was refused, naming the statement and field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The text is not JSON.
    #[error("policy is not valid JSON: {0}")]
    Json(String),
    /// The JSON is not an object.
    #[error("policy document must be a JSON object")]
    NotAnObject,
    /// A top-level key other than `Version`, `Id` and `Statement`.
    #[error("unknown top-level key `{0}`: a policy has only Version, Id and Statement")]
    UnknownTopLevelKey(String),
    /// A top-level field has the wrong JSON type.
    #[error("top-level {field} must be {expected}")]
    TopLevelType {
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// `Version` is neither "2012-10-17" nor "2008-10-17".
    #[error("unsupported Version {0:?}: use \"2012-10-17\" or \"2008-10-17\"")]
    UnsupportedVersion(String),
    /// There is no `Statement`.
    #[error("policy has no Statement")]
    MissingStatement,
    /// `Statement` is an empty array.
    #[error("Statement must contain at least one statement")]
    EmptyStatement,
    /// An element of the `Statement` array is not an object.
    #[error("statement {0} must be a JSON object")]
    StatementNotObject(usize),
    /// A statement key IAM does not define.
    #[error("{statement}: unknown key `{key}`")]
    UnknownStatementKey {
        /// The statement.
        statement: StatementRef,
        /// The key.
        key: String,
    },
    /// A statement field has the wrong JSON type.
    #[error("{statement}: {field} must be {expected}")]
    WrongType {
        /// The statement.
        statement: StatementRef,
        /// The field.
        field: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A required statement field is absent.
    #[error("{statement}: {field} is required")]
    MissingField {
        /// The statement.
        statement: StatementRef,
        /// The field.
        field: &'static str,
    },
    /// `Effect` is neither "Allow" nor "Deny".
    #[error("{statement}: Effect must be \"Allow\" or \"Deny\", not {value:?}")]
    InvalidEffect {
        /// The statement.
        statement: StatementRef,
        /// The value found.
        value: String,
    },
    /// Neither of two alternative fields is present (e.g. `Action`/`NotAction`).
    #[error("{statement}: one of {field} or {other} is required")]
    MissingOneOf {
        /// The statement.
        statement: StatementRef,
        /// The plain field.
        field: &'static str,
        /// Its alternative.
        other: &'static str,
    },
    /// Two mutually exclusive fields are both present (e.g. `Action` and `NotAction`).
    #[error("{statement}: {field} and {other} cannot both be present")]
    Conflicting {
        /// The statement.
        statement: StatementRef,
        /// The plain field.
        field: &'static str,
        /// The conflicting field.
        other: &'static str,
    },
    /// A list field is empty.
    #[error("{statement}: {field} must not be empty")]
    EmptyList {
        /// The statement.
        statement: StatementRef,
        /// The field.
        field: &'static str,
    },
    /// A `Principal` type other than `AWS` or `Service`.
    #[error("{statement}: {field} type `{key}` is not supported by Berth (use \"AWS\")")]
    UnsupportedPrincipalType {
        /// The statement.
        statement: StatementRef,
        /// `Principal` or `NotPrincipal`.
        field: &'static str,
        /// The principal type found.
        key: String,
    },
    /// The statement has a `Condition`, which Berth does not evaluate.
    #[error("{statement}: Condition is not supported by Berth yet")]
    ConditionNotSupported {
        /// The statement.
        statement: StatementRef,
    },
    /// An `Action`/`NotAction` entry that is not `service:Name` or `*`.
    #[error("{statement}: {field} entry {value:?} is not an action like \"ecr:PutImage\", \"ecr:Batch*\" or \"*\"")]
    InvalidAction {
        /// The statement.
        statement: StatementRef,
        /// `Action` or `NotAction`.
        field: &'static str,
        /// The entry.
        value: String,
    },
    /// A `Resource`/`NotResource` entry that is neither `*` nor an ARN.
    #[error("{statement}: {field} entry {value:?} must be \"*\" or an ARN like \"arn:aws:ecr:us-east-1:123456789012:repository/name\"")]
    InvalidResource {
        /// The statement.
        statement: StatementRef,
        /// `Resource` or `NotResource`.
        field: &'static str,
        /// The entry.
        value: String,
    },
    /// A principal that is not `*`, a 12-digit account id or an IAM/STS ARN.
    #[error("{statement}: {field} entry {value:?} must be \"*\", a 12-digit account id or an ARN like \"arn:aws:iam::123456789012:user/name\"")]
    InvalidPrincipal {
        /// The statement.
        statement: StatementRef,
        /// `Principal` or `NotPrincipal`.
        field: &'static str,
        /// The entry.
        value: String,
    },
    /// An identity policy statement names a principal.
    #[error("{statement}: {field} is not allowed in an identity policy")]
    PrincipalNotAllowed {
        /// The statement.
        statement: StatementRef,
        /// `Principal` or `NotPrincipal`.
        field: &'static str,
    },
    /// A resource policy statement names no principal.
    #[error("{statement}: Principal (or NotPrincipal) is required in a resource policy")]
    PrincipalRequired {
        /// The statement.
        statement: StatementRef,
    },
    /// An identity policy statement names no resource.
    #[error("{statement}: Resource (or NotResource) is required in an identity policy")]
    ResourceRequired {
        /// The statement.
        statement: StatementRef,
    },
    /// Two statements share a `Sid`.
    #[error("{statement}: Sid is already used by statement {first}")]
    DuplicateSid {
        /// The later statement.
        statement: StatementRef,
        /// The index of the earlier statement with the same `Sid`.
        first: usize,
    },
}

/// One authorization question: may this principal do this action on this resource?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The caller, e.g. `arn:aws:iam::123456789012:user/alice`.
    pub principal_arn: &'a str,
    /// The 12-digit account the caller belongs to (in Berth, the registry id);
    /// principals written as this account id or `arn:aws:iam::<it>:root` match.
    pub account_id: &'a str,
    /// The action, e.g. `ecr:PutImage`.
    pub action: &'a str,
    /// The resource, e.g. `arn:aws:ecr:us-east-1:123456789012:repository/team-a/web`,
    /// or `*` for registry-wide actions such as `ecr:GetAuthorizationToken`.
    pub resource_arn: &'a str,
}

/// The outcome of [`evaluate`], naming the statement that decided it.
///
/// `by` reads `<kind>:<label> statement <index>[ ("<Sid>")]`, e.g.
/// `identity:AmazonEC2ContainerRegistryPowerUser statement 0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Decision {
    /// No statement denies and at least one allows.
    Allow {
        /// The allowing statement.
        by: String,
    },
    /// A statement denies; this wins over every allow.
    ExplicitDeny {
        /// The denying statement.
        by: String,
    },
    /// No statement matches: denied by default.
    ImplicitDeny,
}

impl Decision {
    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Parses a policy document, checking its JSON shape (see the module docs).
/// Use [`validate`] afterwards to check it for a [`PolicyKind`].
pub fn parse(text: &str) -> Result<PolicyDocument, PolicyError> {
    let value: Value = serde_json::from_str(text).map_err(|e| PolicyError::Json(e.to_string()))?;
    let Value::Object(top) = value else {
        return Err(PolicyError::NotAnObject);
    };
    if let Some(key) = top.keys().find(|k| !DOCUMENT_KEYS.contains(&k.as_str())) {
        return Err(PolicyError::UnknownTopLevelKey(key.clone()));
    }
    Ok(PolicyDocument {
        version: parse_version(top.get("Version"))?,
        id: parse_id(top.get("Id"))?,
        statements: parse_statements(top.get("Statement"))?,
    })
}

fn parse_version(value: Option<&Value>) -> Result<PolicyVersion, PolicyError> {
    match value {
        None => Ok(PolicyVersion::V2008_10_17),
        Some(Value::String(s)) if s == "2012-10-17" => Ok(PolicyVersion::V2012_10_17),
        Some(Value::String(s)) if s == "2008-10-17" => Ok(PolicyVersion::V2008_10_17),
        Some(Value::String(s)) => Err(PolicyError::UnsupportedVersion(s.clone())),
        Some(_) => Err(PolicyError::TopLevelType {
            field: "Version",
            expected: "a string",
        }),
    }
}

fn parse_id(value: Option<&Value>) -> Result<Option<String>, PolicyError> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PolicyError::TopLevelType {
            field: "Id",
            expected: "a string",
        }),
    }
}

fn parse_statements(value: Option<&Value>) -> Result<Vec<Statement>, PolicyError> {
    match value {
        None => Err(PolicyError::MissingStatement),
        Some(Value::Object(map)) => Ok(vec![parse_statement(0, map)?]),
        Some(Value::Array(items)) if items.is_empty() => Err(PolicyError::EmptyStatement),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::Object(map) => parse_statement(index, map),
                _ => Err(PolicyError::StatementNotObject(index)),
            })
            .collect(),
        Some(_) => Err(PolicyError::TopLevelType {
            field: "Statement",
            expected: "an object or an array of objects",
        }),
    }
}

fn parse_statement(index: usize, map: &Map<String, Value>) -> Result<Statement, PolicyError> {
    let at = StatementRef {
        index,
        sid: parse_sid(index, map.get("Sid"))?,
    };
    if let Some(key) = map.keys().find(|k| !STATEMENT_KEYS.contains(&k.as_str())) {
        return Err(PolicyError::UnknownStatementKey {
            statement: at,
            key: key.clone(),
        });
    }
    let actions =
        parse_pair(&at, map, ("Action", "NotAction"), parse_strings)?.ok_or_else(|| {
            PolicyError::MissingOneOf {
                statement: at.clone(),
                field: "Action",
                other: "NotAction",
            }
        })?;
    Ok(Statement {
        effect: parse_effect(&at, map.get("Effect"))?,
        actions,
        resources: parse_pair(&at, map, ("Resource", "NotResource"), parse_strings)?,
        principals: parse_pair(&at, map, ("Principal", "NotPrincipal"), parse_principals)?,
        condition: parse_condition(&at, map.get("Condition"))?,
        sid: at.sid,
    })
}

fn parse_sid(index: usize, value: Option<&Value>) -> Result<Option<String>, PolicyError> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PolicyError::WrongType {
            statement: StatementRef { index, sid: None },
            field: "Sid",
            expected: "a string",
        }),
    }
}

fn parse_effect(at: &StatementRef, value: Option<&Value>) -> Result<Effect, PolicyError> {
    match value {
        None => Err(PolicyError::MissingField {
            statement: at.clone(),
            field: "Effect",
        }),
        Some(Value::String(s)) if s == "Allow" => Ok(Effect::Allow),
        Some(Value::String(s)) if s == "Deny" => Ok(Effect::Deny),
        Some(Value::String(s)) => Err(PolicyError::InvalidEffect {
            statement: at.clone(),
            value: s.clone(),
        }),
        Some(_) => Err(PolicyError::WrongType {
            statement: at.clone(),
            field: "Effect",
            expected: "the string \"Allow\" or \"Deny\"",
        }),
    }
}

fn parse_condition(at: &StatementRef, value: Option<&Value>) -> Result<Option<Value>, PolicyError> {
    match value {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(_) => Err(PolicyError::WrongType {
            statement: at.clone(),
            field: "Condition",
            expected: "an object",
        }),
    }
}

/// The signature of the element parsers handed to [`parse_pair`].
type ElementParser<T> = fn(&StatementRef, &'static str, &Value) -> Result<Vec<T>, PolicyError>;

/// Parses an element and its `Not` twin, of which at most one may be present.
fn parse_pair<T>(
    at: &StatementRef,
    map: &Map<String, Value>,
    (field, not_field): (&'static str, &'static str),
    parse_element: ElementParser<T>,
) -> Result<Option<Listing<T>>, PolicyError> {
    match (map.get(field), map.get(not_field)) {
        (Some(_), Some(_)) => Err(PolicyError::Conflicting {
            statement: at.clone(),
            field,
            other: not_field,
        }),
        (Some(v), None) => Ok(Some(Listing::Listed(parse_element(at, field, v)?))),
        (None, Some(v)) => Ok(Some(Listing::AllExcept(parse_element(at, not_field, v)?))),
        (None, None) => Ok(None),
    }
}

/// Parses a string or a non-empty array of strings.
fn parse_strings(
    at: &StatementRef,
    field: &'static str,
    value: &Value,
) -> Result<Vec<String>, PolicyError> {
    let wrong_type = || PolicyError::WrongType {
        statement: at.clone(),
        field,
        expected: "a string or an array of strings",
    };
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => Err(PolicyError::EmptyList {
            statement: at.clone(),
            field,
        }),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong_type))
            .collect(),
        _ => Err(wrong_type()),
    }
}

/// Parses `"*"` or `{"AWS": ..., "Service": ...}`.
fn parse_principals(
    at: &StatementRef,
    field: &'static str,
    value: &Value,
) -> Result<Vec<Principal>, PolicyError> {
    match value {
        Value::String(s) if s == "*" => Ok(vec![Principal::Any]),
        Value::Object(map) if map.is_empty() => Err(PolicyError::EmptyList {
            statement: at.clone(),
            field,
        }),
        Value::Object(map) => {
            let mut principals = Vec::new();
            for (kind, ids) in map {
                principals.extend(parse_principal_ids(at, field, kind, ids)?);
            }
            Ok(principals)
        }
        _ => Err(PolicyError::WrongType {
            statement: at.clone(),
            field,
            expected: "\"*\" or an object like {\"AWS\": \"123456789012\"}",
        }),
    }
}

fn parse_principal_ids(
    at: &StatementRef,
    field: &'static str,
    kind: &str,
    ids: &Value,
) -> Result<Vec<Principal>, PolicyError> {
    let make: fn(String) -> Principal = match kind {
        "AWS" => |id| match id.as_str() {
            "*" => Principal::Any,
            _ => Principal::Aws(id),
        },
        "Service" => Principal::Service,
        _ => {
            return Err(PolicyError::UnsupportedPrincipalType {
                statement: at.clone(),
                field,
                key: kind.to_owned(),
            })
        }
    };
    Ok(parse_strings(at, field, ids)?
        .into_iter()
        .map(make)
        .collect())
}

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

fn validate_statement(
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

fn validate_actions(at: &StatementRef, actions: &Listing<String>) -> Result<(), PolicyError> {
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

fn validate_resources(
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

fn validate_principals(
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

fn validate_principal_ids(
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

fn check_unique_sids(doc: &PolicyDocument) -> Result<(), PolicyError> {
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
fn listing_field<T>(
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
fn is_valid_action(action: &str) -> bool {
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
fn is_valid_resource(resource: &str) -> bool {
    resource == "*" || (resource.starts_with("arn:") && resource.split(':').count() >= 6)
}

/// A 12-digit account id, or an IAM/STS ARN such as `arn:aws:iam::<account>:root`.
fn is_valid_aws_principal(id: &str) -> bool {
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

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

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

fn keep_first_sorted(slot: &mut Option<String>, candidate: String) {
    if slot.as_ref().is_none_or(|current| candidate < *current) {
        *slot = Some(candidate);
    }
}

fn statement_applies(statement: &Statement, kind: PolicyKind, request: &Request) -> bool {
    let is_deny = statement.effect == Effect::Deny;
    statement
        .actions
        .matches(|pattern| action_matches(pattern, request.action))
        && resource_applies(statement, kind, request)
        && principal_applies(statement, kind, request)
        && (statement.condition.is_none() || is_deny)
}

fn resource_applies(statement: &Statement, kind: PolicyKind, request: &Request) -> bool {
    match &statement.resources {
        Some(resources) => {
            resources.matches(|pattern| resource_matches(pattern, request.resource_arn))
        }
        // A resource policy applies to what it is attached to.
        None => kind == PolicyKind::Resource || statement.effect == Effect::Deny,
    }
}

fn principal_applies(statement: &Statement, kind: PolicyKind, request: &Request) -> bool {
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

fn names_account(id: &str, account_id: &str) -> bool {
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

/// Glob matching with `*` and `?`, linear in practice (greedy with one backtrack point).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, from)) => {
                    backtrack = Some((star, from + 1));
                    p = star + 1;
                    t = from + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

// ---------------------------------------------------------------------------
// Managed policies
// ---------------------------------------------------------------------------

/// AmazonEC2ContainerRegistryFullAccess v3, without AWS's second statement
/// (`iam:CreateServiceLinkedRole` under a Condition, meaningless in Berth).
const FULL_ACCESS_JSON: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["ecr:*", "cloudtrail:LookupEvents"],
      "Resource": "*"
    }
  ]
}"#;

/// AmazonEC2ContainerRegistryPowerUser v3, verbatim.
const POWER_USER_JSON: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage"
      ],
      "Resource": "*"
    }
  ]
}"#;

/// AmazonEC2ContainerRegistryReadOnly v3, verbatim.
const READ_ONLY_JSON: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings"
      ],
      "Resource": "*"
    }
  ]
}"#;

/// AmazonEC2ContainerRegistryPullOnly v1 (2024-10-04), verbatim.
const PULL_ONLY_JSON: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchImportUpstreamImage"
      ],
      "Resource": "*"
    }
  ]
}"#;

/// The JSON text of a built-in managed policy, by name or by its AWS ARN
/// (`arn:aws:iam::aws:policy/<name>`), for display in the console.
pub fn managed_policy_json(name: &str) -> Option<&'static str> {
    match name.strip_prefix(MANAGED_POLICY_ARN_PREFIX).unwrap_or(name) {
        "AmazonEC2ContainerRegistryFullAccess" => Some(FULL_ACCESS_JSON),
        "AmazonEC2ContainerRegistryPowerUser" => Some(POWER_USER_JSON),
        "AmazonEC2ContainerRegistryReadOnly" => Some(READ_ONLY_JSON),
        "AmazonEC2ContainerRegistryPullOnly" => Some(PULL_ONLY_JSON),
        _ => None,
    }
}

/// A built-in managed policy (an identity policy), by name or by its AWS ARN;
/// see [`MANAGED_POLICIES`].
pub fn managed_policy(name: &str) -> Option<PolicyDocument> {
    managed_policy_json(name)
        .map(|text| parse(text).expect("built-in managed policies are valid policy documents"))
}

#[cfg(test)]
mod tests {
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
        let d =
            doc(r#"{"Statement":{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}}"#);
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
}

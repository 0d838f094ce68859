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
use serde_json::Value;
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

/// The longest policy text ECR stores (repository and registry policies), in bytes.
pub const POLICY_TEXT_MAX: usize = 10_240;

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
    /// The text is longer than [`POLICY_TEXT_MAX`].
    #[error("policy is {length} bytes long; a policy has at most {max} bytes")]
    TooLong {
        /// The text's length in bytes.
        length: usize,
        /// The limit.
        max: usize,
    },
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

mod check;
mod evaluate;
mod managed;
mod parse;
#[cfg(test)]
mod tests;
mod validate;

pub use check::*;
pub use evaluate::*;
pub use managed::*;
pub use parse::*;
pub use validate::*;

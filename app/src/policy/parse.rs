//! Parsing: the JSON shape of a policy document.

use super::*;
use serde_json::{Map, Value};

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

pub(super) fn parse_version(value: Option<&Value>) -> Result<PolicyVersion, PolicyError> {
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

pub(super) fn parse_id(value: Option<&Value>) -> Result<Option<String>, PolicyError> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PolicyError::TopLevelType {
            field: "Id",
            expected: "a string",
        }),
    }
}

pub(super) fn parse_statements(value: Option<&Value>) -> Result<Vec<Statement>, PolicyError> {
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

pub(super) fn parse_statement(
    index: usize,
    map: &Map<String, Value>,
) -> Result<Statement, PolicyError> {
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

pub(super) fn parse_sid(
    index: usize,
    value: Option<&Value>,
) -> Result<Option<String>, PolicyError> {
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

pub(super) fn parse_effect(
    at: &StatementRef,
    value: Option<&Value>,
) -> Result<Effect, PolicyError> {
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

pub(super) fn parse_condition(
    at: &StatementRef,
    value: Option<&Value>,
) -> Result<Option<Value>, PolicyError> {
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
pub(super) fn parse_pair<T>(
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
pub(super) fn parse_strings(
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
pub(super) fn parse_principals(
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

pub(super) fn parse_principal_ids(
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

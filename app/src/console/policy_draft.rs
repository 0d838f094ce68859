//! The policy editor's pure logic: pretty-printing a policy with its keys in
//! the order people write them, checking a draft as the server will, and the
//! statement builder that appends a statement to a draft. The browser runs it
//! as the user types; the server runs the same code when a form is posted
//! without JavaScript.

use crate::policy::{self, PolicyKind, POLICY_TEXT_MAX};
use serde_json::{Map, Value};

/// The actions the statement builder offers as checkboxes.
pub const COMMON_ACTIONS: [&str; 10] = [
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchCheckLayerAvailability",
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:BatchDeleteImage",
    "ecr:*",
];

/// The order keys are printed in; other keys follow, alphabetically.
const KEY_ORDER: [&str; 12] = [
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// A policy text pretty-printed with two-space indents and the keys in
/// [`KEY_ORDER`]; text that is not JSON is returned unchanged.
pub fn pretty_policy(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let mut out = String::with_capacity(text.len() * 2);
            write_value(&mut out, &value, 0);
            out
        }
        Err(_) => text.to_owned(),
    }
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    let pad = |out: &mut String, depth: usize| out.push_str(&"  ".repeat(depth));
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| {
                (
                    KEY_ORDER
                        .iter()
                        .position(|o| o == k)
                        .unwrap_or(KEY_ORDER.len()),
                    k.as_str(),
                )
            });
            out.push_str("{\n");
            for (i, key) in keys.iter().enumerate() {
                pad(out, depth + 1);
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push_str(": ");
                write_value(out, &map[*key], depth + 1);
                out.push_str(if i + 1 < keys.len() { ",\n" } else { "\n" });
            }
            pad(out, depth);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                pad(out, depth + 1);
                write_value(out, item, depth + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            pad(out, depth);
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// What the server will say about a draft: `None` if it would be stored,
/// else the parser's or validator's message.
pub fn check_draft(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some("Enter a policy, or use Delete policy to remove it.".into());
    }
    policy::check(text, PolicyKind::Resource)
        .err()
        .map(|e| e.to_string())
}

/// The size counter shown under the policy field.
pub fn size_counter(text: &str) -> String {
    format!("{} of {POLICY_TEXT_MAX} bytes", text.len())
}

/// The statement builder's fields, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementDraft {
    /// Statement id; letters and digits, or empty for none.
    pub sid: String,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// `*`, or user names, user ARNs and account ids separated by commas,
    /// spaces or new lines.
    pub principal: String,
    /// The chosen actions.
    pub actions: Vec<String>,
}

/// Why the builder cannot add its statement; `field` is the form field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftError {
    /// `policy`, `sid`, `principal` or `actions`.
    pub field: &'static str,
    /// What to fix.
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> DraftError {
    DraftError {
        field,
        message: message.into(),
    }
}

/// The principal entries the builder writes: `*` stays `*`, ARNs and 12-digit
/// account ids stay as they are, and a user name becomes
/// `arn:aws:iam::<registry id>:user/<name>`.
pub fn principal_entries(input: &str, registry_id: &str) -> Result<Vec<String>, DraftError> {
    let entries: Vec<&str> = input
        .split([',', ' ', '\n', '\t', '\r'])
        .filter(|e| !e.is_empty())
        .collect();
    if entries.is_empty() {
        return Err(refuse(
            "principal",
            "Enter * (everyone) or at least one user name or ARN.",
        ));
    }
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let is_account = entry.len() == 12 && entry.bytes().all(|b| b.is_ascii_digit());
        let written = if entry == "*" || entry.starts_with("arn:") || is_account {
            entry.to_owned()
        } else if (1..=64).contains(&entry.len())
            && entry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        {
            format!("arn:aws:iam::{registry_id}:user/{entry}")
        } else {
            return Err(refuse(
                "principal",
                format!("{entry:?} is neither a user name, an ARN, an account id nor *."),
            ));
        };
        if !out.contains(&written) {
            out.push(written);
        }
    }
    if out.len() > 1 && out.iter().any(|e| e == "*") {
        return Err(refuse(
            "principal",
            "* already means everyone: name either * or users, not both.",
        ));
    }
    Ok(out)
}

/// The builder's statement as JSON.
pub fn statement(draft: &StatementDraft, registry_id: &str) -> Result<Value, DraftError> {
    let sid = draft.sid.trim();
    if !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(refuse("sid", "A Sid has only letters and digits."));
    }
    let effect = match draft.effect.as_str() {
        "Deny" => "Deny",
        _ => "Allow",
    };
    let principals = principal_entries(&draft.principal, registry_id)?;
    if draft.actions.is_empty() {
        return Err(refuse("actions", "Choose at least one action."));
    }
    let mut statement = Map::new();
    if !sid.is_empty() {
        statement.insert("Sid".into(), sid.into());
    }
    statement.insert("Effect".into(), effect.into());
    let principal = match principals.as_slice() {
        [any] if any == "*" => Value::from("*"),
        [one] => serde_json::json!({ "AWS": one }),
        many => serde_json::json!({ "AWS": many }),
    };
    statement.insert("Principal".into(), principal);
    let action = match draft.actions.as_slice() {
        [one] => Value::from(one.as_str()),
        many => Value::from(many.to_vec()),
    };
    statement.insert("Action".into(), action);
    Ok(Value::Object(statement))
}

/// Appends the builder's statement to a draft (an empty draft starts a new
/// policy) and returns the draft, pretty-printed.
pub fn append_statement(
    text: &str,
    draft: &StatementDraft,
    registry_id: &str,
) -> Result<String, DraftError> {
    let mut doc: Value = if text.trim().is_empty() {
        serde_json::json!({ "Version": "2012-10-17", "Statement": [] })
    } else {
        serde_json::from_str(text).map_err(|e| {
            refuse(
                "policy",
                format!("Fix the policy before adding a statement: policy is not valid JSON: {e}"),
            )
        })?
    };
    let Some(object) = doc.as_object_mut() else {
        return Err(refuse(
            "policy",
            "Fix the policy before adding a statement: policy document must be a JSON object",
        ));
    };
    let statements =
        match object.remove("Statement") {
            None => Vec::new(),
            Some(Value::Array(list)) => list,
            Some(single @ Value::Object(_)) => vec![single],
            Some(_) => return Err(refuse(
                "policy",
                "Fix the policy before adding a statement: Statement must be a list of statements",
            )),
        };
    let new = statement(draft, registry_id)?;
    if let Some(sid) = new.get("Sid") {
        if statements.iter().any(|s| s.get("Sid") == Some(sid)) {
            return Err(refuse(
                "sid",
                format!("The policy already has a statement with Sid {sid}."),
            ));
        }
    }
    let mut statements = statements;
    statements.push(new);
    object.insert("Statement".into(), Value::Array(statements));
    object
        .entry("Version")
        .or_insert_with(|| Value::from("2012-10-17"));
    let mut out = String::new();
    write_value(&mut out, &doc, 0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "123456789012";

    fn deny_push(principal: &str) -> StatementDraft {
        StatementDraft {
            sid: "DenyPush".into(),
            effect: "Deny".into(),
            principal: principal.into(),
            actions: vec!["ecr:PutImage".into(), "ecr:InitiateLayerUpload".into()],
        }
    }

    #[test]
    fn pretty_printing_puts_keys_in_the_usual_order() {
        let text = r#"{"Statement":[{"Action":"ecr:*","Principal":"*","Effect":"Allow","Sid":"All"}],"Version":"2012-10-17"}"#;
        assert_eq!(
            pretty_policy(text),
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"All\",\n      \"Effect\": \"Allow\",\n      \"Principal\": \"*\",\n      \"Action\": \"ecr:*\"\n    }\n  ]\n}"
        );
        assert_eq!(pretty_policy("not json"), "not json");
        assert_eq!(
            pretty_policy(r#"{"a":[],"b":{}}"#),
            "{\n  \"a\": [],\n  \"b\": {}\n}"
        );
    }

    #[test]
    fn the_builder_starts_a_policy_and_appends_to_one() {
        let first = append_statement("", &deny_push("alice"), ID).unwrap();
        assert_eq!(check_draft(&first), None, "{first}");
        let doc: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(doc["Version"], "2012-10-17");
        assert_eq!(
            doc["Statement"][0],
            serde_json::json!({
                "Sid": "DenyPush",
                "Effect": "Deny",
                "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
                "Action": ["ecr:PutImage", "ecr:InitiateLayerUpload"],
            })
        );
        let pull = StatementDraft {
            sid: String::new(),
            effect: "Allow".into(),
            principal: "*".into(),
            actions: vec!["ecr:BatchGetImage".into()],
        };
        let second = append_statement(&first, &pull, ID).unwrap();
        let doc: Value = serde_json::from_str(&second).unwrap();
        assert_eq!(
            doc["Statement"][1],
            serde_json::json!({"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"})
        );
        // A single statement object becomes a list.
        let single = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*"}}"#;
        let doc: Value =
            serde_json::from_str(&append_statement(single, &pull, ID).unwrap()).unwrap();
        assert_eq!(doc["Statement"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn principals_become_user_arns() {
        assert_eq!(
            principal_entries(
                "alice, arn:aws:iam::999999999999:user/bob\n111122223333",
                ID
            )
            .unwrap(),
            [
                "arn:aws:iam::123456789012:user/alice",
                "arn:aws:iam::999999999999:user/bob",
                "111122223333"
            ]
        );
        assert_eq!(principal_entries(" * ", ID).unwrap(), ["*"]);
        assert_eq!(principal_entries("", ID).unwrap_err().field, "principal");
        assert_eq!(
            principal_entries("al/ice", ID).unwrap_err().field,
            "principal"
        );
        assert_eq!(
            principal_entries("*, alice", ID).unwrap_err().field,
            "principal"
        );
        let doc = statement(&deny_push("alice bob"), ID).unwrap();
        assert_eq!(
            doc["Principal"]["AWS"],
            serde_json::json!([
                "arn:aws:iam::123456789012:user/alice",
                "arn:aws:iam::123456789012:user/bob"
            ])
        );
    }

    #[test]
    fn the_builder_names_the_field_at_fault() {
        let no_actions = StatementDraft {
            actions: Vec::new(),
            ..deny_push("alice")
        };
        assert_eq!(
            append_statement("", &no_actions, ID).unwrap_err().field,
            "actions"
        );
        let bad_sid = StatementDraft {
            sid: "deny push".into(),
            ..deny_push("alice")
        };
        assert_eq!(append_statement("", &bad_sid, ID).unwrap_err().field, "sid");
        let first = append_statement("", &deny_push("alice"), ID).unwrap();
        let again = append_statement(&first, &deny_push("bob"), ID).unwrap_err();
        assert_eq!(again.field, "sid");
        assert!(again.message.contains("DenyPush"), "{}", again.message);
        let broken = append_statement("{\"Version\":", &deny_push("alice"), ID).unwrap_err();
        assert_eq!(broken.field, "policy");
        assert!(
            broken.message.starts_with("Fix the policy"),
            "{}",
            broken.message
        );
        assert_eq!(
            append_statement("[1]", &deny_push("alice"), ID)
                .unwrap_err()
                .field,
            "policy"
        );
    }

    #[test]
    fn drafts_are_checked_as_the_server_checks_them() {
        assert!(check_draft("  ").unwrap().starts_with("Enter a policy"));
        assert!(check_draft("{")
            .unwrap()
            .starts_with("policy is not valid JSON"));
        let no_principal =
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*"}]}"#;
        assert_eq!(
            check_draft(no_principal).unwrap(),
            "statement 0: Principal (or NotPrincipal) is required in a resource policy"
        );
        assert_eq!(size_counter("{}"), format!("2 of {POLICY_TEXT_MAX} bytes"));
    }
}

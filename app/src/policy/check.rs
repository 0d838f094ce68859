//! The one check a stored policy text passes: its length, then [`parse`],
//! then [`validate`]. The server runs it before storing a policy, the console
//! as the user types.

use super::*;

/// Checks a policy text as it would be stored: at most [`POLICY_TEXT_MAX`]
/// bytes, well-formed, and meaningful for `kind`. Returns the parsed document.
pub fn check(text: &str, kind: PolicyKind) -> Result<PolicyDocument, PolicyError> {
    if text.len() > POLICY_TEXT_MAX {
        return Err(PolicyError::TooLong {
            length: text.len(),
            max: POLICY_TEXT_MAX,
        });
    }
    let doc = parse(text)?;
    validate(&doc, kind)?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_measures_then_parses_then_validates() {
        let good = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}"#;
        assert!(check(good, PolicyKind::Resource).is_ok());
        assert!(matches!(
            check(good, PolicyKind::Identity),
            Err(PolicyError::ResourceRequired { .. })
        ));
        assert!(matches!(
            check("{", PolicyKind::Resource),
            Err(PolicyError::Json(_))
        ));
        let long = format!("{}{}", " ".repeat(POLICY_TEXT_MAX), good);
        assert_eq!(
            check(&long, PolicyKind::Resource),
            Err(PolicyError::TooLong {
                length: long.len(),
                max: POLICY_TEXT_MAX
            })
        );
    }
}

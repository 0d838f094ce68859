//! The rules for user names and passwords, as pure functions: the CLI and the
//! console's server functions enforce them, and the console's forms show them.
//! No I/O here.

/// The shortest user name.
pub const USER_NAME_MIN_CHARS: usize = 2;
/// The longest user name (IAM's limit).
pub const USER_NAME_MAX_CHARS: usize = 64;
/// The shortest password a person may choose.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// The longest password (argon2 hashes anything, but a limit keeps requests small).
pub const PASSWORD_MAX_CHARS: usize = 256;

/// The user-name rule, in words.
pub const USER_NAME_RULE: &str = "2 to 64 characters: lowercase letters and digits, \
    with '.', '_' or '-' between them.";

/// The password rule, in words.
pub const PASSWORD_RULE: &str = "At least 12 characters (at most 256).";

/// Checks a user name: the repository-name grammar of one path component
/// (lowercase letters and digits joined by `.`, `_`, `__` or `-`), 2–64
/// characters, so names are safe in URLs, ARNs and `docker login`, and can
/// never be mistaken for an access key id (`AKIA…`) or the token user `AWS`.
pub fn validate_user_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    if name.is_empty() {
        return Err("Enter a user name.".into());
    }
    if !(USER_NAME_MIN_CHARS..=USER_NAME_MAX_CHARS).contains(&length) {
        return Err(format!(
            "A user name is {USER_NAME_MIN_CHARS} to {USER_NAME_MAX_CHARS} characters long; this one has {length}."
        ));
    }
    if name.contains('/') || crate::oci::validate_repository_name(name).is_err() {
        return Err(format!("Invalid user name {name:?}: use {USER_NAME_RULE}"));
    }
    Ok(())
}

/// Checks a password someone chose (for a new user or a reset).
pub fn validate_password(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if password.is_empty() {
        return Err("Enter a password.".into());
    }
    if length < PASSWORD_MIN_CHARS {
        return Err(format!(
            "The password is too short: use at least {PASSWORD_MIN_CHARS} characters (this one has {length})."
        ));
    }
    if length > PASSWORD_MAX_CHARS {
        return Err(format!(
            "The password is too long: use at most {PASSWORD_MAX_CHARS} characters."
        ));
    }
    Ok(())
}

/// Why a new password from a form (typed twice) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewPasswordError {
    /// The password breaks [`validate_password`]'s rule.
    Password(String),
    /// The second copy differs from the first.
    Mismatch,
}

impl NewPasswordError {
    /// The form field the message belongs beside: `password` or `password_confirm`.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Password(_) => "password",
            Self::Mismatch => "password_confirm",
        }
    }

    /// What is wrong, in words a user can act on.
    pub fn message(&self) -> String {
        match self {
            Self::Password(message) => message.clone(),
            Self::Mismatch => {
                "The two passwords do not match; type the same password twice.".into()
            }
        }
    }
}

/// Checks a password typed twice: the rule first, then that both copies match.
pub fn validate_new_password(password: &str, confirm: &str) -> Result<(), NewPasswordError> {
    validate_password(password).map_err(NewPasswordError::Password)?;
    if password != confirm {
        return Err(NewPasswordError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_one_component_of_the_repository_grammar() {
        for good in ["alice", "e2e-dev", "ci.bot_2", "a1", &"a".repeat(64)] {
            assert_eq!(validate_user_name(good), Ok(()), "{good}");
        }
        assert_eq!(validate_user_name(""), Err("Enter a user name.".into()));
        let short = validate_user_name("a").unwrap_err();
        assert!(
            short.contains("2 to 64 characters long; this one has 1"),
            "{short}"
        );
        assert!(validate_user_name(&"a".repeat(65)).is_err());
        for bad in [
            "Alice",
            "team/alice",
            "-alice",
            "alice-",
            "al ice",
            "AKIAABCDEFGHIJKLMNOP",
            "AWS",
            "al..ice",
            "élise",
        ] {
            let message = validate_user_name(bad).unwrap_err();
            assert!(message.starts_with("Invalid user name"), "{bad}: {message}");
        }
    }

    #[test]
    fn passwords_need_twelve_characters_and_fit_in_256() {
        assert_eq!(validate_password("twelve-chars"), Ok(()));
        assert_eq!(validate_password(&"p".repeat(256)), Ok(()));
        assert_eq!(validate_password(""), Err("Enter a password.".into()));
        let short = validate_password("eleven-char").unwrap_err();
        assert!(
            short.contains("at least 12 characters (this one has 11)"),
            "{short}"
        );
        // Characters, not bytes: 11 two-byte letters are still too short.
        assert!(validate_password(&"é".repeat(11)).is_err());
        assert!(validate_password(&"é".repeat(12)).is_ok());
        assert!(validate_password(&"p".repeat(257))
            .unwrap_err()
            .contains("too long"));
    }

    #[test]
    fn a_new_password_is_checked_before_its_confirmation() {
        assert_eq!(
            validate_new_password("correct horse", "correct horse"),
            Ok(())
        );
        let mismatch = validate_new_password("correct horse", "correct horse!").unwrap_err();
        assert_eq!(mismatch, NewPasswordError::Mismatch);
        assert_eq!(mismatch.field(), "password_confirm");
        assert!(mismatch.message().contains("do not match"));
        // A short password is reported on its own field even when the copies differ.
        let short = validate_new_password("short", "other").unwrap_err();
        assert_eq!(short.field(), "password");
        assert!(short.message().contains("too short"), "{}", short.message());
    }
}

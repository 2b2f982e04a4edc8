//! The subject a user files notes under. It becomes a folder name and a
//! command-line value of the program, so only plain names get through.
use crate::error::{Error, Result};

pub const MAX_SUBJECT_CHARS: usize = 100;
const FIELD: &str = "subject";
const ALLOWED_PUNCTUATION: &str = " .,_-()&+'";

/// Checks a subject; the empty subject means "let the program categorise".
pub fn validate_subject(subject: &str) -> Result<String> {
    let subject = subject.trim();
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(Error::invalid(FIELD, format!("is longer than {MAX_SUBJECT_CHARS} characters")));
    }
    if let Some(bad) = subject.chars().find(|c| !(c.is_alphanumeric() || ALLOWED_PUNCTUATION.contains(*c))) {
        return Err(Error::invalid(
            FIELD,
            format!("may hold letters, digits, spaces and {ALLOWED_PUNCTUATION:?}; found {bad:?}"),
        ));
    }
    if subject.starts_with(['-', '.']) {
        return Err(Error::invalid(FIELD, "must not start with '-' or '.'"));
    }
    if subject.contains("..") {
        return Err(Error::invalid(FIELD, "must not contain '..'"));
    }
    Ok(subject.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_subjects_pass_through_trimmed() {
        assert_eq!(validate_subject("  Machine Learning ").unwrap(), "Machine Learning");
        assert_eq!(validate_subject("Física (II) & C++").unwrap(), "Física (II) & C++");
        assert_eq!(validate_subject("").unwrap(), "");
        assert!(validate_subject(&"a".repeat(MAX_SUBJECT_CHARS)).is_ok());
    }

    #[test]
    fn paths_options_control_characters_and_long_subjects_are_refused() {
        for bad in [
            "../x",
            "a/b",
            "-rf",
            "--subject",
            ".hidden",
            "a..b",
            "tab\there",
            "nul\0",
            "new\nline",
            "semi;colon",
            "$(rm)",
            "back\\slash",
        ] {
            assert!(matches!(validate_subject(bad), Err(Error::InvalidArgument { field: "subject", .. })), "{bad:?}");
        }
        assert!(validate_subject(&"a".repeat(MAX_SUBJECT_CHARS + 1)).is_err());
    }
}

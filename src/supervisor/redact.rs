//! Keeps the secrets videojobs hands the program (its API key) out of all it
//! keeps from the program. Every line is redacted before it is parsed or
//! stored, and so is the attempt's outcome (failure reason, note titles and
//! text), so neither the log tail, the job's error and stage, the notes, the
//! events nor the server's own logs can carry it. Only the exact value can be
//! recognised: a program that encodes or splits the key defeats any redactor.
use std::cmp::Reverse;

use crate::domain::{Failure, NewNote, Outcome};

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The secrets to take out. Its `Debug` shows how many, never which.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another goes whole.
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// Redacts each secret as given and trimmed of surrounding whitespace
    /// (a key read from a file may carry a newline the program drops).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut forms: Vec<String> = Vec::new();
        for secret in secrets {
            for form in [secret, secret.trim()] {
                if !form.is_empty() && !forms.iter().any(|f| f == form) {
                    forms.push(form.to_string());
                }
            }
        }
        forms.sort_by_key(|s| Reverse(s.len()));
        Redactor { secrets: forms }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// How far past its length cap a line reader must read so that a secret
    /// straddling the cap is still seen whole (and redacted) before the cut.
    pub fn lookahead(&self) -> usize {
        self.secrets.first().map_or(0, |longest| longest.len() - 1)
    }

    pub fn text(&self, mut text: String) -> String {
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        text
    }

    /// The outcome with every secret taken out of its reason or notes.
    pub fn outcome(&self, outcome: Outcome) -> Outcome {
        if self.is_empty() {
            return outcome;
        }
        match outcome {
            Outcome::Succeeded(notes) => Outcome::Succeeded(
                notes
                    .into_iter()
                    .map(|note| NewNote { title: self.text(note.title), markdown: self.text(note.markdown), ..note })
                    .collect(),
            ),
            Outcome::Failed(failure) => Outcome::Failed(Failure { reason: self.text(failure.reason), ..failure }),
            Outcome::Stopped => Outcome::Stopped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NoteKind;

    #[test]
    fn every_occurrence_goes_and_nothing_else_changes() {
        let redactor = Redactor::new(["sk-secret-1"]);
        assert_eq!(redactor.text("key=sk-secret-1, again sk-secret-1.".into()), "key=[redacted], again [redacted].");
        assert_eq!(redactor.text("nothing here".into()), "nothing here");
        assert_eq!(redactor.lookahead(), "sk-secret-1".len() - 1);
    }

    #[test]
    fn no_secret_changes_nothing_and_empty_or_padded_secrets_are_handled() {
        let none = Redactor::new([]);
        assert_eq!(none.text("sk-anything".into()), "sk-anything");
        assert_eq!(none.lookahead(), 0);
        let padded = Redactor::new(["", " sk-padded\n"]);
        assert_eq!(padded.text("got sk-padded".into()), "got [redacted]");
        assert_eq!(format!("{padded:?}"), "Redactor(2 secrets)");
    }

    #[test]
    fn a_failure_reason_and_notes_are_redacted() {
        let redactor = Redactor::new(["sk-x1"]);
        let failed = redactor.outcome(Outcome::Failed(Failure::permanent("rejected sk-x1")));
        assert_eq!(failed, Outcome::Failed(Failure::permanent("rejected [redacted]")));
        let note = NewNote { kind: NoteKind::Notes, title: "T sk-x1".into(), markdown: "# sk-x1\nbody".into() };
        let Outcome::Succeeded(notes) = redactor.outcome(Outcome::Succeeded(vec![note])) else { panic!() };
        assert_eq!((notes[0].title.as_str(), notes[0].markdown.as_str()), ("T [redacted]", "# [redacted]\nbody"));
    }
}

//! Why an attempt failed, as a kind a person and the retry rule can act on:
//! a permanent failure is not retried (no attempt can succeed), every other
//! kind is, while attempts remain.
use serde::{Deserialize, Serialize};

/// The kind of a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The program or its report says no attempt can succeed (no
    /// transcript, video private or deleted, …).
    Permanent,
    /// Another attempt may succeed.
    Transient,
    /// The attempt ran out of time and was stopped.
    Timeout,
    /// The program printed nothing for too long and was stopped.
    Stalled,
    /// The program was killed by a signal or exited non-zero (or the node
    /// running it died).
    Crashed,
    /// The program exited 0 without notes and without saying why.
    NoOutput,
    /// Cancelled by a person.
    Cancelled,
}

impl FailureKind {
    pub const ALL: [FailureKind; 7] = [
        FailureKind::Permanent,
        FailureKind::Transient,
        FailureKind::Timeout,
        FailureKind::Stalled,
        FailureKind::Crashed,
        FailureKind::NoOutput,
        FailureKind::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Permanent => "permanent",
            FailureKind::Transient => "transient",
            FailureKind::Timeout => "timeout",
            FailureKind::Stalled => "stalled",
            FailureKind::Crashed => "crashed",
            FailureKind::NoOutput => "no_output",
            FailureKind::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<FailureKind> {
        FailureKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Whether another attempt may help.
    pub fn is_retryable(self) -> bool {
        !matches!(self, FailureKind::Permanent | FailureKind::Cancelled)
    }
}

/// The real program's own rule for a failure no retry can mend
/// (`is_retryable = false` in its `processing_log.json`): its error
/// contains one of these, case-insensitively.
pub const DEFAULT_PERMANENT_PATTERNS: [&str; 7] = [
    "no subtitle",
    "no transcript",
    "video unavailable",
    "video is private",
    "deleted",
    "invalid video id",
    "members-only",
];

/// Tells permanent reasons from transient ones by patterns (substrings,
/// matched case-insensitively).
#[derive(Clone, Debug)]
pub struct PermanentPatterns {
    lowercase: Vec<String>,
}

impl Default for PermanentPatterns {
    fn default() -> PermanentPatterns {
        PermanentPatterns::new(DEFAULT_PERMANENT_PATTERNS)
    }
}

impl PermanentPatterns {
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> PermanentPatterns {
        let lowercase = patterns.into_iter().map(|p| p.as_ref().trim().to_lowercase()).filter(|p| !p.is_empty());
        PermanentPatterns { lowercase: lowercase.collect() }
    }

    /// PERMANENT when `reason` matches a pattern, TRANSIENT otherwise.
    pub fn kind_of(&self, reason: &str) -> FailureKind {
        let reason = reason.to_lowercase();
        if self.lowercase.iter().any(|pattern| reason.contains(pattern.as_str())) {
            FailureKind::Permanent
        } else {
            FailureKind::Transient
        }
    }
}

/// A reason with what varies between occurrences taken out, so failures
/// that differ only in numbers (a video id, a byte count, a time) fall in
/// one group: lower case, digit runs as `#`, spaces collapsed, at most
/// [`REASON_GROUP_MAX`] characters.
pub fn reason_group(reason: &str) -> String {
    let mut group = String::with_capacity(reason.len().min(REASON_GROUP_MAX));
    let (mut last, mut kept) = (' ', 0);
    for ch in reason.trim().chars().flat_map(char::to_lowercase) {
        let ch = if ch.is_ascii_digit() {
            '#'
        } else if ch.is_whitespace() {
            ' '
        } else {
            ch
        };
        if (ch == '#' || ch == ' ') && ch == last {
            continue;
        }
        group.push(ch);
        last = ch;
        kept += 1;
        if kept == REASON_GROUP_MAX {
            break;
        }
    }
    group
}

pub const REASON_GROUP_MAX: usize = 160;

/// Which FAILED jobs a failure listing or a bulk retry concerns; every
/// field narrows, none means any.
#[derive(Clone, Debug, Default)]
pub struct FailureFilter {
    pub kind: Option<FailureKind>,
    pub reason_group: Option<String>,
    pub failed_after: Option<chrono::DateTime<chrono::Utc>>,
    pub failed_before: Option<chrono::DateTime<chrono::Utc>>,
    pub batch_id: Option<uuid::Uuid>,
}

impl FailureFilter {
    /// Whether a failure's reason matches the part of the filter the
    /// database does not check: the reason group.
    pub fn matches_reason(&self, reason: &str) -> bool {
        self.reason_group.as_deref().is_none_or(|wanted| reason_group(reason) == wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_programs_list_makes_a_reason_permanent_whatever_its_case() {
        let patterns = PermanentPatterns::default();
        assert_eq!(patterns.kind_of("Could not get transcript: No transcript found"), FailureKind::Permanent);
        assert_eq!(patterns.kind_of("ERROR: Video unavailable. This video is private"), FailureKind::Permanent);
        assert_eq!(patterns.kind_of("Both Tor and yt-dlp fallback failed"), FailureKind::Transient);
        assert_eq!(PermanentPatterns::new(["quota"]).kind_of("API quota exceeded"), FailureKind::Permanent);
        assert_eq!(PermanentPatterns::new(["quota"]).kind_of("no transcript"), FailureKind::Transient);
    }

    #[test]
    fn reasons_that_differ_only_in_numbers_share_a_group() {
        let group = reason_group("Video  abc123 failed after 3 tries");
        assert_eq!(group, "video abc# failed after # tries");
        assert_eq!(reason_group("VIDEO abc9 failed after 12 tries"), group);
        assert_eq!(reason_group(&"x".repeat(500)).chars().count(), REASON_GROUP_MAX);
    }

    #[test]
    fn only_permanent_and_cancelled_are_not_retried() {
        let kept: Vec<_> = FailureKind::ALL.into_iter().filter(|kind| !kind.is_retryable()).collect();
        assert_eq!(kept, [FailureKind::Permanent, FailureKind::Cancelled]);
        for kind in FailureKind::ALL {
            assert_eq!(FailureKind::parse(kind.as_str()), Some(kind));
        }
    }
}

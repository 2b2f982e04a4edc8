//! Which of the caller's jobs a listing shows: by state, by batch, and by a
//! piece of text in what a person recognises a job by (its URL, video id,
//! subject, stage or failure reason). Validated here; applied by the store.
use uuid::Uuid;

use super::JobState;
use super::limits::parse_id;
use crate::error::{Error, Result};

/// `ListJobsRequest.text`: at most this many characters.
pub const MAX_FILTER_TEXT_CHARS: usize = 200;

/// A validated listing filter; the default shows every job.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Empty: every state.
    pub states: Vec<JobState>,
    pub batch: Option<Uuid>,
    /// Lowercase (ASCII), trimmed, never empty when set.
    pub text: Option<String>,
}

impl JobFilter {
    /// `states` already converted from the wire (their count checked before,
    /// against `MAX_STATE_FILTERS`); `batch_id` and `text` as sent.
    pub fn parse(states: Vec<JobState>, batch_id: &str, text: &str) -> Result<JobFilter> {
        let batch = (!batch_id.is_empty()).then(|| parse_id("batch_id", batch_id)).transpose()?;
        let count = text.chars().count();
        if count > MAX_FILTER_TEXT_CHARS {
            return Err(Error::invalid("text", format!("is {count} characters; at most {MAX_FILTER_TEXT_CHARS}")));
        }
        let text = text.trim();
        let text = (!text.is_empty()).then(|| text.to_ascii_lowercase());
        Ok(JobFilter { states, batch, text })
    }

    /// The text as a LIKE pattern matching it anywhere, its `%`, `_` and
    /// `\` escaped with `\`.
    pub fn like_pattern(&self) -> Option<String> {
        let text = self.text.as_ref()?;
        let mut pattern = String::with_capacity(text.len() + 2);
        pattern.push('%');
        for c in text.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        Some(pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_bounded_trimmed_lowercased_and_escaped_for_like() {
        let filter = JobFilter::parse(vec![], "", "  50%_Off\\ ").unwrap();
        assert_eq!(filter.text.as_deref(), Some("50%_off\\"));
        assert_eq!(filter.like_pattern().as_deref(), Some("%50\\%\\_off\\\\%"));
        assert_eq!(JobFilter::parse(vec![], "", "   ").unwrap(), JobFilter::default());
        assert!(JobFilter::parse(vec![], "", &"é".repeat(MAX_FILTER_TEXT_CHARS)).is_ok());
        let long = JobFilter::parse(vec![], "", &"a".repeat(MAX_FILTER_TEXT_CHARS + 1));
        assert!(matches!(long, Err(Error::InvalidArgument { field: "text", .. })));
        let bad = JobFilter::parse(vec![], "not-an-id", "");
        assert!(matches!(bad, Err(Error::InvalidArgument { field: "batch_id", .. })));
    }
}

//! Bounds on what one request may ask for, so that no request makes the
//! server do unbounded work; a value beyond one is refused with
//! INVALID_ARGUMENT naming the field. The bounds that live beside their own
//! validators: [`MAX_URL_LEN`](super::video_url::MAX_URL_LEN),
//! [`MAX_SUBJECT_CHARS`](super::subject::MAX_SUBJECT_CHARS),
//! [`MAX_BATCH_URLS`](super::batch::MAX_BATCH_URLS),
//! [`MAX_PAGE_SIZE`](super::page::MAX_PAGE_SIZE) and
//! [`MAX_PAGE_TOKEN_LEN`](super::page::MAX_PAGE_TOKEN_LEN); the idempotency
//! key and priority are checked in the `SubmitVideo` handler.
use std::collections::HashSet;

use uuid::Uuid;

use super::JobState;
use crate::error::{Error, Result};

/// The largest request message the server decodes, in bytes (tonic's
/// default, set explicitly). A larger one is refused before it is read with
/// OUT_OF_RANGE "decoded message length too large".
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// `WatchJobsRequest.job_ids`: at most this many entries (duplicates are
/// removed afterwards). Each named job costs a lookup for its snapshot.
pub const MAX_WATCHED_JOB_IDS: usize = 1000;
/// `ListJobsRequest.states`: one entry per state at most.
pub const MAX_STATE_FILTERS: usize = JobState::ALL.len();
/// Any id field: the longest form of a UUID, `urn:uuid:` and 36 characters.
pub const MAX_ID_LEN: usize = 45;

/// Refuses more than `max` entries in the repeated field `field`.
pub fn at_most(field: &'static str, count: usize, max: usize) -> Result<()> {
    if count > max {
        return Err(Error::invalid(field, format!("holds {count} entries; at most {max} are allowed")));
    }
    Ok(())
}

/// Parses an id field, naming it when it is missing, too long or malformed.
pub fn parse_id(field: &'static str, value: &str) -> Result<Uuid> {
    if value.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if value.len() > MAX_ID_LEN {
        return Err(Error::invalid(field, format!("is longer than {MAX_ID_LEN} characters, so not an id")));
    }
    Uuid::parse_str(value).map_err(|_| Error::invalid(field, "is not a valid id"))
}

/// The jobs a watch names: at most [`MAX_WATCHED_JOB_IDS`], each a valid
/// id, duplicates removed (first occurrence kept).
pub fn parse_watched_job_ids(ids: &[String]) -> Result<Vec<Uuid>> {
    const FIELD: &str = "job_ids";
    at_most(FIELD, ids.len(), MAX_WATCHED_JOB_IDS)?;
    let mut seen = HashSet::with_capacity(ids.len());
    let mut distinct = Vec::with_capacity(ids.len());
    for id in ids {
        let id = parse_id(FIELD, id)?;
        if seen.insert(id) {
            distinct.push(id);
        }
    }
    Ok(distinct)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(result: Result<impl std::fmt::Debug>) -> &'static str {
        match result {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("not an invalid argument: {other:?}"),
        }
    }

    #[test]
    fn watched_ids_are_bounded_and_deduplicated() {
        let id = Uuid::now_v7().to_string();
        let other = Uuid::now_v7().to_string();
        let ids = vec![id.clone(), other.clone(), id.clone()];
        let parsed = parse_watched_job_ids(&ids).unwrap();
        assert_eq!(parsed.iter().map(Uuid::to_string).collect::<Vec<_>>(), [id.clone(), other]);
        assert_eq!(parse_watched_job_ids(&vec![id.clone(); MAX_WATCHED_JOB_IDS]).unwrap().len(), 1);
        assert_eq!(field(parse_watched_job_ids(&vec![id; MAX_WATCHED_JOB_IDS + 1])), "job_ids");
        assert_eq!(field(parse_watched_job_ids(&["nope".into()])), "job_ids");
    }

    #[test]
    fn ids_are_required_short_and_well_formed() {
        let id = Uuid::now_v7();
        assert_eq!(parse_id("job_id", &id.to_string()).unwrap(), id);
        assert_eq!(parse_id("job_id", &id.urn().to_string()).unwrap(), id);
        for bad in ["", "not-an-id", "a".repeat(MAX_ID_LEN + 1).as_str()] {
            assert_eq!(field(parse_id("note_id", bad)), "note_id", "{bad:?}");
        }
        assert!(at_most("states", MAX_STATE_FILTERS, MAX_STATE_FILTERS).is_ok());
        assert_eq!(field(at_most("states", MAX_STATE_FILTERS + 1, MAX_STATE_FILTERS)), "states");
    }
}

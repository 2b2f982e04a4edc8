//! `PauseJobs` and `ResumeJobs`: check the target, the reason and the
//! resume time, make one core call, answer the pause. `ListPauses`: the
//! pauses the caller sees.
use super::convert::{pause_to_proto, time_from_proto};
use super::parse_id;
use crate::auth::{Caller, valid_user_id};
use crate::domain::pause::{validate_reason, validate_resume_at};
use crate::error::{Error, Result};
use crate::jobs::{Jobs, PauseOf};
use crate::proto::v1 as pb;

pub async fn pause(jobs: &Jobs, caller: &Caller, body: pb::PauseJobsRequest) -> Result<pb::PauseState> {
    let what = pause_of(caller, &body.batch_id, &body.user_id, body.everything)?;
    let reason = validate_reason(&body.reason)?;
    let resume_at = body.resume_at.map(|at| time_from_proto("resume_at", at)).transpose()?;
    let resume_at = validate_resume_at(resume_at, chrono::Utc::now(), jobs.rules().max_schedule_ahead)?;
    let pause = jobs.pause(&caller.scope(), &caller.user_id, what, reason, resume_at).await?;
    Ok(pause_to_proto(&pause, true))
}

pub async fn resume(jobs: &Jobs, caller: &Caller, body: pb::ResumeJobsRequest) -> Result<pb::PauseState> {
    let what = pause_of(caller, &body.batch_id, &body.user_id, body.everything)?;
    let ended = jobs.resume(&caller.scope(), what.clone()).await?;
    Ok(match ended {
        Some(pause) => pause_to_proto(&pause, false),
        None => match what {
            PauseOf::Batch(id) => pb::PauseState { batch_id: id.to_string(), ..Default::default() },
            PauseOf::User(user_id) => pb::PauseState { user_id, ..Default::default() },
            PauseOf::Everything => pb::PauseState { everything: true, ..Default::default() },
        },
    })
}

pub async fn list(jobs: &Jobs, caller: &Caller) -> Result<pb::ListPausesResponse> {
    let pauses = jobs.pauses(&caller.scope()).await?;
    Ok(pb::ListPausesResponse { pauses: pauses.iter().map(|pause| pause_to_proto(pause, true)).collect() })
}

/// At most one of the three; none: the caller's own work.
fn pause_of(caller: &Caller, batch_id: &str, user_id: &str, everything: bool) -> Result<PauseOf> {
    let named = [!batch_id.is_empty(), !user_id.is_empty(), everything].into_iter().filter(|set| *set).count();
    if named > 1 {
        return Err(Error::invalid("batch_id", "set at most one of batch_id, user_id and everything"));
    }
    if !batch_id.is_empty() {
        return Ok(PauseOf::Batch(parse_id("batch_id", batch_id)?));
    }
    if everything {
        return Ok(PauseOf::Everything);
    }
    if user_id.is_empty() {
        return Ok(PauseOf::User(caller.user_id.clone()));
    }
    if !valid_user_id(user_id) {
        return Err(Error::invalid("user_id", "must be 1 to 128 printable characters"));
    }
    Ok(PauseOf::User(user_id.to_string()))
}

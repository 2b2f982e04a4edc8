//! `pause` and `resume`: a batch (`--batch`), a user's work (`--user`, or
//! the caller's own by default) or everyone's (`--all`, an admin token);
//! `pauses` lists the pauses in force.
use super::args::{PauseArgs, PauseTargetArgs, PausesArgs, ResumeArgs};
use super::connect::connect;
use super::failure::Outcome;
use super::output::{emit, pause_json, pause_line};
use crate::proto::v1 as pb;

pub async fn pause(args: &PauseArgs) -> Outcome {
    let mut client = connect(&args.options).await?.jobs;
    let PauseTargetArgs { batch, user, all } = args.target.clone();
    let request = pb::PauseJobsRequest {
        batch_id: batch.unwrap_or_default(),
        user_id: user.unwrap_or_default(),
        everything: all,
        reason: args.reason.clone(),
        resume_at: args.until.map(|at| prost_types::Timestamp { seconds: at.timestamp(), nanos: 0 }),
    };
    let state = client.pause_jobs(request).await?.into_inner();
    show(&state, args.options.json);
    Ok(())
}

pub async fn resume(args: &ResumeArgs) -> Outcome {
    let mut client = connect(&args.options).await?.jobs;
    let PauseTargetArgs { batch, user, all } = args.target.clone();
    let request = pb::ResumeJobsRequest {
        batch_id: batch.unwrap_or_default(),
        user_id: user.unwrap_or_default(),
        everything: all,
    };
    let state = client.resume_jobs(request).await?.into_inner();
    show(&state, args.options.json);
    Ok(())
}

/// The pauses in force the caller sees, one a line (a JSON object each with
/// `--json`); nothing when none.
pub async fn list(args: &PausesArgs) -> Outcome {
    let mut client = connect(&args.options).await?.jobs;
    let pauses = client.list_pauses(pb::ListPausesRequest {}).await?.into_inner().pauses;
    for state in &pauses {
        show(state, args.options.json);
    }
    Ok(())
}

fn show(state: &pb::PauseState, json: bool) {
    if json { emit(&pause_json(state).to_string()) } else { emit(&pause_line(state)) }
}

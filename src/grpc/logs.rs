//! `GetJobLog` and the conversions of attempts and output lines: requests
//! validated (each bad field named), the caller's own job only (another
//! user's is NOT_FOUND; an admin's scope is everyone), then one call into
//! the core.
use std::time::Duration;

use super::convert::{failure_kind_to_pb, timestamp};
use super::parse_id;
use crate::auth::Caller;
use crate::domain::{AttemptOutcome, AttemptRecord, OutputLine, OutputStream, ProgramExit};
use crate::error::{Error, Result};
use crate::jobs::Jobs;
use crate::proto::v1 as pb;

/// Lines a page holds when the request does not say.
pub const DEFAULT_LOG_PAGE: u64 = 1000;
pub const MAX_LOG_PAGE: u64 = 5000;

pub async fn get(jobs: &Jobs, caller: &Caller, request: pb::GetJobLogRequest) -> Result<pb::GetJobLogResponse> {
    let id = parse_id("job_id", &request.job_id)?;
    let page_size = match request.page_size {
        0 => DEFAULT_LOG_PAGE,
        n if n < 0 || n as u64 > MAX_LOG_PAGE => {
            return Err(Error::invalid("page_size", format!("must be 0..={MAX_LOG_PAGE}, not {n}")));
        }
        n => n as u64,
    };
    let scope = caller.scope();
    let (_, attempt) = jobs.output_target(&scope, id, request.attempt).await?;
    let page = jobs.output_page(&scope, id, attempt, request.after_line, page_size).await?;
    let full = page.lines.len() as u64 == page_size;
    let next_after_line = if full { page.lines.last().map_or(0, |line| line.line) } else { 0 };
    Ok(pb::GetJobLogResponse {
        attempt: page.attempt,
        lines: page.lines.iter().map(|line| line_to_proto(page.attempt, line)).collect(),
        next_after_line,
        attempt_ended: page.ended,
    })
}

pub fn line_to_proto(attempt: u32, line: &OutputLine) -> pb::JobLogLine {
    let stream = match line.stream {
        OutputStream::Stdout => pb::LogStream::Stdout,
        OutputStream::Stderr => pb::LogStream::Stderr,
        OutputStream::Marker => pb::LogStream::Marker,
    };
    pb::JobLogLine { attempt, line: line.line, stream: stream as i32, text: line.text.clone() }
}

pub fn attempt_to_proto(record: &AttemptRecord) -> pb::Attempt {
    let outcome = match record.outcome {
        AttemptOutcome::Succeeded => pb::AttemptOutcome::Succeeded,
        AttemptOutcome::Failed => pb::AttemptOutcome::Failed,
        AttemptOutcome::Interrupted => pb::AttemptOutcome::Interrupted,
        AttemptOutcome::Cancelled => pb::AttemptOutcome::Cancelled,
    };
    let (exit_code, signal) = match record.facts.exit {
        Some(ProgramExit::Code(code)) => (Some(code), None),
        Some(ProgramExit::Signal(signal)) => (None, Some(signal)),
        None => (None, None),
    };
    pb::Attempt {
        attempt: record.attempt,
        node: record.node.clone(),
        started_at: record.started_at.map(timestamp),
        ended_at: Some(timestamp(record.ended_at)),
        outcome: outcome as i32,
        failure_kind: record.failure_kind.map_or(pb::FailureKind::Unspecified, failure_kind_to_pb) as i32,
        reason: record.reason.clone(),
        exit_code,
        signal,
        duration: Some(duration(record.facts.duration)),
        stage_timings: record
            .facts
            .timings
            .iter()
            .map(|timing| pb::StageTiming { stage: timing.stage.clone(), seconds: timing.seconds })
            .collect(),
    }
}

fn duration(elapsed: Duration) -> prost_types::Duration {
    prost_types::Duration { seconds: elapsed.as_secs() as i64, nanos: elapsed.subsec_nanos() as i32 }
}

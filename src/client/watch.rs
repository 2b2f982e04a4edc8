//! `watch`: follows `WatchJobs` with one live progress bar per job (percent,
//! state, stage) on stderr, and one summary line per finished job on stdout.
//! Named jobs are followed until every one has finished — the stream starts
//! with a snapshot of each, so a job that already ended is reported at once —
//! and the exit status says whether all of them COMPLETED. Without names,
//! every job of the caller is followed until Ctrl-C. A watcher told it fell
//! behind (`RESOURCE_EXHAUSTED`) resumes after the last event it saw.
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;
use tonic::Code;

use super::args::WatchArgs;
use super::connect::{JobClient, connect};
use super::failure::{EXIT_FAILURE, Failure, Outcome};
use super::output::{emit, estimate_line, is_final, job_json, job_summary, one_line, state_name, warn};
use crate::proto::v1 as pb;

/// The exit status of a watch of named jobs stopped with Ctrl-C.
const EXIT_INTERRUPTED: i32 = 130;
const BAR_TEMPLATE: &str = "{prefix} {bar:20.cyan/blue} {pos:>3}% {wide_msg}";

pub async fn watch(args: &WatchArgs) -> Outcome {
    let mut client = connect(&args.options).await?.jobs;
    follow(&mut client, args.job_ids.clone(), args.options.json).await
}

/// Follows `job_ids` until all have finished (all of the caller's jobs until
/// Ctrl-C when empty). Fails with status 1 when one did not complete.
pub async fn follow(client: &mut JobClient, job_ids: Vec<String>, json: bool) -> Outcome {
    let named = !job_ids.is_empty();
    let mut pending: Vec<String> = Vec::new();
    for id in job_ids {
        if !pending.contains(&id) {
            pending.push(id);
        }
    }
    let interrupted = ctrl_c();
    let mut view = View::new(json);
    let mut all_completed = true;
    // The last logged event seen (snapshots carry 0), to resume after.
    let mut last_sequence = 0;
    'subscribe: loop {
        let job_ids = if named { pending.clone() } else { Vec::new() };
        let after_sequence = (last_sequence > 0).then_some(last_sequence);
        let request = pb::WatchJobsRequest { job_ids, after_sequence, batch_id: String::new(), estimates: true };
        let response = tokio::select! {
            response = client.watch_jobs(request) => response,
            () = interrupted.cancelled() => return view.interrupted(named),
        };
        let mut stream = match response {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == Code::OutOfRange && last_sequence > 0 => {
                view.note("the events missed are no longer kept; watching from now");
                last_sequence = 0;
                continue 'subscribe;
            }
            Err(status) => return Err(view.fail(status.into())),
        };
        loop {
            let message = tokio::select! {
                message = stream.message() => message,
                () = interrupted.cancelled() => return view.interrupted(named),
            };
            let event = match message {
                Ok(Some(event)) => event,
                Ok(None) => {
                    return Err(
                        view.fail(Failure::other("UNAVAILABLE: the server ended the watch (is it shutting down?)"))
                    );
                }
                Err(status) if status.code() == Code::ResourceExhausted => {
                    view.note("the watch fell behind the server's events; resuming");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue 'subscribe;
                }
                Err(status) => return Err(view.fail(status.into())),
            };
            last_sequence = last_sequence.max(event.sequence);
            if named && !pending.contains(&event.job_id) {
                continue;
            }
            if let Some(job) = view.apply(event) {
                all_completed &= job.state == pb::JobState::Completed as i32;
                pending.retain(|id| *id != job.id);
                if named && pending.is_empty() {
                    break 'subscribe;
                }
            }
        }
    }
    view.clear();
    if all_completed { Ok(()) } else { Err(Failure::silent(EXIT_FAILURE)) }
}

/// Cancelled on Ctrl-C; never, when the handler cannot be installed.
fn ctrl_c() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.cancel();
        }
    });
    token
}

/// The bars on stderr (drawn only on a terminal; elsewhere each change of
/// state becomes a line) and the summaries on stdout.
struct View {
    json: bool,
    multi: MultiProgress,
    style: ProgressStyle,
    bars: HashMap<String, ProgressBar>,
    /// Jobs whose ending was reported, so a repeat of it is not.
    reported: HashSet<String>,
    /// The last state printed per job, when there are no bars.
    last_state: HashMap<String, i32>,
}

impl View {
    fn new(json: bool) -> View {
        let style = ProgressStyle::with_template(BAR_TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▉▊▋▌▍▎▏ ");
        View {
            json,
            multi: MultiProgress::new(),
            style,
            bars: HashMap::new(),
            reported: HashSet::new(),
            last_state: HashMap::new(),
        }
    }

    /// Shows the event; returns the job when this event is its ending.
    fn apply(&mut self, event: pb::JobEvent) -> Option<pb::Job> {
        if let Some(estimate) = &event.estimate {
            self.estimate(&event.job_id, estimate);
            return None;
        }
        let job = event.job?;
        let deleted = event.r#type == pb::JobEventType::Deleted as i32;
        if !(deleted || is_final(job.state)) {
            self.reported.remove(&job.id);
            self.progress(&job);
            return None;
        }
        if let Some(bar) = self.bars.remove(&job.id) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        if !self.reported.insert(job.id.clone()) {
            return None;
        }
        let line = if self.json { job_json(&job).to_string() } else { job_summary(&job) };
        self.multi.suspend(|| emit(&line));
        Some(job)
    }

    fn progress(&mut self, job: &pb::Job) {
        let mut message = format!("{} {}", state_name(job.state), job.stage);
        if job.state == pb::JobState::Retrying as i32 {
            message =
                format!("RETRYING after attempt {} of {}: {}", job.attempt, job.max_attempts, one_line(&job.error));
        }
        if self.multi.is_hidden() {
            if !self.json && self.last_state.insert(job.id.clone(), job.state) != Some(job.state) {
                warn(&format!("{} {}% {}", job.id, job.progress_percent, message.trim_end()));
            }
            return;
        }
        let bar = self.bars.entry(job.id.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(100).with_style(self.style.clone()));
            bar.set_prefix(job.video_id.clone());
            bar
        });
        bar.set_position(u64::from(job.progress_percent.min(100)));
        bar.set_message(message);
    }

    /// A waiting job's new estimate: on its bar, or a line of its own.
    fn estimate(&mut self, job_id: &str, estimate: &pb::JobEstimate) {
        if self.reported.contains(job_id) {
            return;
        }
        // JSON output is one line per finished job: estimates stay out of it.
        if self.json {
            return;
        }
        if let Some(bar) = self.bars.get(job_id) {
            bar.set_message(format!("QUEUED {}", estimate_line(estimate)));
        } else if self.multi.is_hidden() {
            warn(&format!("{job_id} QUEUED {}", estimate_line(estimate)));
        }
    }

    fn note(&self, text: &str) {
        self.multi.suspend(|| warn(text));
    }

    fn clear(&mut self) {
        for (_, bar) in self.bars.drain() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }

    fn fail(&mut self, failure: Failure) -> Failure {
        self.clear();
        failure
    }

    /// Ctrl-C: the end of a watch of everything, an interruption of a watch
    /// of named jobs.
    fn interrupted(&mut self, named: bool) -> Outcome {
        self.clear();
        if named { Err(Failure { exit: EXIT_INTERRUPTED, line: "interrupted".into() }) } else { Ok(()) }
    }
}

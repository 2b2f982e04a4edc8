//! The verdict on an attempt whose program has exited: from its report
//! (`notes/processing_log.json`) when it wrote a usable one, else from its
//! output lines and exit status, never from its exit code alone (it exits 0
//! when a video failed); on success, its notes, the files chosen by the
//! report or by their names.
use std::collections::VecDeque;
use std::path::Path;
use std::process::ExitStatus;

use super::notes::{self, Chosen, Source};
use super::parse::LineParser;
use super::report::{self, ProgramReport};
use super::{Observed, Supervisor};
use crate::domain::{Failure, FailureKind, Job, Outcome};

impl Supervisor {
    /// The attempt's outcome once its program exited with `status`.
    pub(super) async fn verdict(
        &self,
        job: &Job,
        status: ExitStatus,
        parser: LineParser,
        stderr_tail: &VecDeque<String>,
        scratch: &Path,
        observed: &mut Observed,
    ) -> Outcome {
        let by_lines = self.failure_by_lines(status, parser, stderr_tail);
        if !status.success() {
            return Outcome::Failed(by_lines.expect("a non-zero exit is a failure"));
        }
        // One trip to a blocking thread: the report, and the notes if the
        // verdict may be a success.
        let (dir, files, video_id) = (scratch.to_path_buf(), self.config.note_files.clone(), job.video_id.clone());
        let lines_failed = by_lines.is_some();
        let read = tokio::task::spawn_blocking(move || {
            let report = report::read(&dir, &files, &video_id);
            let (succeeded, chosen) = match &report {
                ProgramReport::Found(record) => (record.success, record.chosen()),
                _ => (!lines_failed, Chosen::default()),
            };
            let notes = succeeded.then(|| notes::collect_notes(&dir, &files, &chosen));
            (report, notes)
        });
        let (report, notes) = match read.await {
            Ok(read) => read,
            Err(error) => return Outcome::Failed(Failure::retryable(format!("reading the notes failed: {error}"))),
        };
        let by_lines = match report {
            ProgramReport::Found(record) => {
                tracing::info!(success = record.success, "the program's report decides the verdict");
                observed.timings = record.stage_timings();
                if !record.success {
                    return Outcome::Failed(self.reported_failure(record));
                }
                None
            }
            ProgramReport::Unusable(why) => {
                tracing::warn!(%why, "the program's report is unusable; its output lines decide the verdict");
                by_lines
            }
            ProgramReport::Missing => {
                tracing::info!("no report from the program; its output lines decide the verdict");
                by_lines
            }
        };
        if let Some(failure) = by_lines {
            return Outcome::Failed(failure);
        }
        match notes {
            Some(Ok((notes, source))) => {
                match source {
                    Source::Report => tracing::info!("the program's report names the notes and assessment files"),
                    Source::Names => tracing::info!("the files' names tell the notes from the assessment"),
                    Source::NamesReportUnmatched => tracing::warn!(
                        "the files the program's report names are not in its notes folder; the files' names decide"
                    ),
                }
                Outcome::Succeeded(notes)
            }
            Some(Err(reason)) if reason == notes::NO_NOTES => {
                Outcome::Failed(Failure::new(FailureKind::NoOutput, reason))
            }
            Some(Err(reason)) => Outcome::Failed(Failure::retryable(reason)),
            None => Outcome::Failed(Failure::retryable("the notes were not read")),
        }
    }

    /// What the output lines and the exit status say went wrong, if anything.
    fn failure_by_lines(
        &self,
        status: ExitStatus,
        parser: LineParser,
        stderr_tail: &VecDeque<String>,
    ) -> Option<Failure> {
        if let Some(reason) = parser.failure {
            return Some(Failure::new(self.patterns.permanent.kind_of(&reason), reason));
        }
        if !status.success() {
            let last = stderr_tail
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(": {}", l.trim()))
                .unwrap_or_default();
            return Some(Failure::new(FailureKind::Crashed, format!("the program {}{last}", describe(status))));
        }
        match parser.summary {
            Some((ok, total)) if ok < total || total == 0 => {
                Some(Failure::retryable(format!("the program processed {ok} of {total} videos")))
            }
            _ => None,
        }
    }

    /// A failure the report gives: PERMANENT when it says no retry can
    /// help (or the reason matches a permanent pattern).
    fn reported_failure(&self, record: report::Record) -> Failure {
        let reason = record
            .error
            .filter(|error| !error.trim().is_empty())
            .unwrap_or_else(|| "the program's report says the video failed, without a reason".into());
        let kind = match record.is_retryable {
            Some(false) => FailureKind::Permanent,
            _ => self.patterns.permanent.kind_of(&reason),
        };
        Failure::new(kind, reason)
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => {
            let name = nix::sys::signal::Signal::try_from(signal)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|_| signal.to_string());
            format!("was killed by {name}")
        }
        _ => "ended abnormally".into(),
    }
}

//! Reads the program's log lines: progress (`[i/N] Processing: …`, the seeds'
//! `Processing i/N`), per-video stages, its own failure reason and its closing
//! summary. Every pattern is configuration; these are the defaults.
use std::sync::Arc;

use regex::Regex;

use crate::domain::PermanentPatterns;

/// A stage line and how far through one video it means we are.
#[derive(Clone, Debug)]
pub struct StagePattern {
    pub regex: Regex,
    pub stage: String,
    /// Percent of one video's work done when this line appears.
    pub percent: u32,
}

#[derive(Clone, Debug)]
pub struct OutputPatterns {
    /// Start of item `current` of `total` (named groups).
    pub item_started: Vec<Regex>,
    /// Item `current` of `total` finished (parallel mode, completion order).
    pub item_finished: Vec<Regex>,
    pub stages: Vec<StagePattern>,
    /// The program's own failure line; group `reason`.
    pub failure: Regex,
    /// The closing summary; groups `ok` and `total`.
    pub summary: Regex,
    /// Failure reasons no retry can mend.
    pub permanent: PermanentPatterns,
}

impl Default for OutputPatterns {
    fn default() -> Self {
        let re = |pattern: &str| Regex::new(pattern).expect("default pattern compiles");
        let stage =
            |pattern: &str, stage: &str, percent| StagePattern { regex: re(pattern), stage: stage.into(), percent };
        OutputPatterns {
            item_started: vec![
                re(r"\[(?P<current>\d+)/(?P<total>\d+)\] Processing:"),
                re(r"Processing (?P<current>\d+)/(?P<total>\d+)"),
            ],
            item_finished: vec![re(r"\[(?P<current>\d+)/(?P<total>\d+)\] [✓✗] ")],
            stages: vec![
                stage(r"Fetching transcript", "fetching transcript", 15),
                stage(r"✓ Notes generated", "notes generated", 60),
                stage(r"✓ Notes saved", "notes saved", 80),
                stage(r"✓ Assessment saved", "assessment saved", 95),
            ],
            failure: re(r"✗ Job failed: (?P<reason>.+)$"),
            summary: re(r"COMPLETE: (?P<ok>\d+)/(?P<total>\d+) URL"),
            permanent: PermanentPatterns::default(),
        }
    }
}

/// Stage and overall percent, as a watcher sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub stage: String,
    pub percent: u32,
    /// A per-video stage line: always recorded. Item counters (`[i/N]`)
    /// are not milestones and may be coalesced when they flood.
    pub milestone: bool,
}

/// What the lines said so far.
#[derive(Debug)]
pub struct LineParser {
    /// Shared by every attempt: a regex keeps its search caches, which a
    /// copy per attempt would build again for every job.
    patterns: Arc<OutputPatterns>,
    current: u32,
    total: u32,
    item_percent: u32,
    finished_items: u32,
    last: Progress,
    /// The first failure reason the program gave.
    pub failure: Option<String>,
    /// `(ok, total)` from the closing summary.
    pub summary: Option<(u32, u32)>,
}

/// Progress never reads 100 until the job is verified and stored.
const MAX_RUNNING_PERCENT: u32 = 99;

impl LineParser {
    pub fn new(patterns: impl Into<Arc<OutputPatterns>>) -> LineParser {
        LineParser {
            patterns: patterns.into(),
            current: 1,
            total: 1,
            item_percent: 0,
            finished_items: 0,
            last: Progress { stage: "starting".into(), percent: 0, milestone: true },
            failure: None,
            summary: None,
        }
    }

    /// Feeds one line; returns the new progress if it changed.
    pub fn feed(&mut self, line: &str) -> Option<Progress> {
        let mut stage = None;
        let mut milestone = true;
        if let Some((current, total)) = numbers(&self.patterns.item_started, line, "current", "total") {
            (self.current, self.total, self.item_percent) = (current.max(1), total.max(1), 5);
            stage = Some(format!("processing video {}/{}", self.current, self.total));
            milestone = false;
        } else if let Some((_, total)) = numbers(&self.patterns.item_finished, line, "current", "total") {
            self.total = total.max(1);
            self.finished_items += 1;
            stage = Some(format!("{}/{} videos done", self.finished_items, self.total));
            milestone = false;
        } else if let Some(found) = self.patterns.stages.iter().find(|s| s.regex.is_match(line)) {
            self.item_percent = found.percent;
            stage = Some(found.stage.clone());
        } else if let Some(caps) = self.patterns.failure.captures(line) {
            self.failure.get_or_insert_with(|| caps["reason"].trim().to_string());
            stage = Some("video failed".into());
        } else if let Some((ok, total)) = numbers(std::slice::from_ref(&self.patterns.summary), line, "ok", "total") {
            self.summary = Some((ok, total));
        }
        let stage = stage?;
        let next = Progress { stage, percent: self.percent(), milestone };
        if (&next.stage, next.percent) == (&self.last.stage, self.last.percent) {
            return None;
        }
        self.last = next.clone();
        Some(next)
    }

    fn percent(&self) -> u32 {
        let sequential = (self.current - 1) * 100 + self.item_percent;
        let parallel = self.finished_items * 100;
        let overall = sequential.max(parallel) / self.total;
        overall.clamp(self.last.percent, MAX_RUNNING_PERCENT)
    }
}

fn numbers(patterns: &[Regex], line: &str, first: &str, second: &str) -> Option<(u32, u32)> {
    patterns.iter().find_map(|re| {
        let caps = re.captures(line)?;
        Some((caps.name(first)?.as_str().parse().ok()?, caps.name(second)?.as_str().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "2025-10-24 10:00:00.123 | INFO     | yt_study_buddy.cli:process:120 - ";

    fn feed_all(parser: &mut LineParser, lines: &[&str]) -> Vec<Progress> {
        lines.iter().filter_map(|line| parser.feed(line)).collect()
    }

    #[test]
    fn a_one_video_run_advances_through_every_stage_and_stops_short_of_100() {
        let mut parser = LineParser::new(OutputPatterns::default());
        let seen = feed_all(
            &mut parser,
            &[
                PREFIX,
                "[1/1] Processing: https://www.youtube.com/watch?v=dQw4w9WgXcQ",
                &format!("{PREFIX}[Job 0001] Fetching transcript..."),
                &format!("{PREFIX}✓ Notes generated (5123 chars)"),
                &format!("{PREFIX}[Job 0001] ✓ Notes saved: Lecture.md"),
                &format!("{PREFIX}[Job 0001] ✓ Assessment saved: Assessment_Lecture.md"),
                &format!("{PREFIX}COMPLETE: 1/1 URL(s) processed successfully"),
            ],
        );
        let stages: Vec<_> = seen.iter().map(|p| (p.stage.as_str(), p.percent)).collect();
        assert!(seen[1..].iter().all(|p| p.milestone), "stage lines are milestones");
        assert!(!seen[0].milestone, "an item counter is not");
        assert_eq!(
            stages,
            [
                ("processing video 1/1", 5),
                ("fetching transcript", 15),
                ("notes generated", 60),
                ("notes saved", 80),
                ("assessment saved", 95)
            ]
        );
        assert_eq!(parser.summary, Some((1, 1)));
        assert_eq!(parser.failure, None);
    }

    #[test]
    fn the_seeds_older_progress_form_and_parallel_completion_lines_count() {
        let mut parser = LineParser::new(OutputPatterns::default());
        assert_eq!(parser.feed("Processing 3/10").map(|p| p.percent), Some(20));
        let mut parallel = LineParser::new(OutputPatterns::default());
        assert_eq!(parallel.feed(&format!("{PREFIX}[2/4] ✓ https://youtu.be/x")).map(|p| p.percent), Some(25));
        assert_eq!(parallel.feed(&format!("{PREFIX}[1/4] ✗ https://youtu.be/y")).map(|p| p.percent), Some(50));
    }

    #[test]
    fn the_programs_own_failure_reason_is_kept_and_progress_never_goes_back() {
        let mut parser = LineParser::new(OutputPatterns::default());
        parser.feed("[1/1] Processing: u");
        parser.feed("✓ Notes generated (10 chars)");
        parser.feed(&format!("{PREFIX}✗ Job failed: Transcript unavailable"));
        parser.feed("✗ Job failed: a later, secondary complaint");
        parser.feed("COMPLETE: 0/1 URL(s) processed successfully");
        assert_eq!(parser.failure.as_deref(), Some("Transcript unavailable"));
        assert_eq!(parser.summary, Some((0, 1)));
        assert_eq!(parser.percent(), 60);
    }

    #[test]
    fn unrelated_and_repeated_lines_report_nothing() {
        let mut parser = LineParser::new(OutputPatterns::default());
        assert_eq!(parser.feed("YouTube Study Buddy banner"), None);
        assert!(parser.feed("[Job 1] Fetching transcript...").is_some());
        assert_eq!(parser.feed("[Job 1] Fetching transcript..."), None);
    }
}

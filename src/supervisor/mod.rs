//! Runs one attempt of a job: a fresh scratch directory, the program under
//! the process keeper in its own process group, stdout and stderr read line
//! by line as they come (the API key taken out of each), progress reported as
//! it changes, a timeout and cancellation that end the program and all it
//! started, and a verdict from what the program said and wrote — never from
//! its exit code alone (it exits 0 when a video failed).
pub mod command;
pub mod keeper;
pub mod notes;
pub mod output;
pub mod parse;
mod process;
pub mod redact;
pub mod report;
mod verdict;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::{Failure, FailureKind, Job, Outcome, OutputStream, ProgramExit, StageTiming};
use command::ProgramCommand;
use keeper::{Keepers, NotStarted, Reply};
use notes::NoteFiles;
use output::OutputBuffer;
use parse::{LineParser, OutputPatterns, Progress};
use redact::Redactor;

#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    pub command: ProgramCommand,
    /// Each attempt gets `<scratch_root>/<job id>-<attempt>-<random>`, removed
    /// after (random, since a program may start before its claim commits).
    pub scratch_root: PathBuf,
    pub timeout: Duration,
    /// A program that prints no line for this long is stopped (`None`: never).
    pub stall_timeout: Option<Duration>,
    /// Between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    pub patterns: OutputPatterns,
    pub note_files: NoteFiles,
}

/// What an attempt left: how it ended and the end of its stderr.
#[derive(Debug, PartialEq)]
pub struct Report {
    pub outcome: Outcome,
    /// The last lines of the program's stderr (bounded), kept on the job.
    pub log_tail: String,
    pub observed: Observed,
}

/// What the attempt's history keeps besides its outcome.
#[derive(Debug, Default, PartialEq)]
pub struct Observed {
    /// How the program ended, if it ended by itself (or by a signal).
    pub exit: Option<ProgramExit>,
    /// Seconds per stage, from the program's report.
    pub timings: Vec<StageTiming>,
}

/// Longest line kept; the rest of a longer line is dropped.
const MAX_LINE_BYTES: usize = 16 * 1024;
/// Lines of stderr kept to explain a crash.
const STDERR_TAIL_LINES: usize = 20;
/// Lines read ahead of the parser; a full buffer slows the program's writes.
const LINE_BUFFER: usize = 256;

pub struct Supervisor {
    config: SupervisorConfig,
    /// The patterns every attempt's parser reads with, compiled once.
    patterns: Arc<OutputPatterns>,
    /// The `videojobs-keeper`s programs run under, one per busy worker.
    keepers: Keepers,
    /// Takes the program's API key out of everything kept from it.
    redactor: Arc<Redactor>,
}

enum End {
    Exited(ExitStatus),
    TimedOut,
    Stalled,
    Stopped,
    /// The keeper died or stopped answering mid-attempt.
    KeeperLost,
}

impl Supervisor {
    pub fn new(config: SupervisorConfig) -> Supervisor {
        let patterns = Arc::new(config.patterns.clone());
        let keeper = keeper::keeper_path();
        if !keeper::is_installed(&keeper) {
            tracing::error!(
                keeper = %keeper.display(),
                "the process keeper was not found beside this binary nor on PATH; every attempt will fail \
                 until it is installed (`cargo build --bins` builds it)"
            );
        }
        let redactor = Arc::new(Redactor::new(config.command.secrets()));
        let keepers = Keepers::new(keeper, config.command.env());
        Supervisor { config, patterns, keepers, redactor }
    }

    /// A supervisor whose prerequisites hold: the program and the process
    /// keeper exist and the scratch root can be made. Fails start-up with a
    /// clear message rather than failing every job later.
    pub fn prepare(config: SupervisorConfig) -> anyhow::Result<Supervisor> {
        ensure_program_exists(&config.command.program)?;
        let keeper = keeper::keeper_path();
        anyhow::ensure!(
            keeper::is_installed(&keeper),
            "the process keeper {} was not found beside this binary nor on PATH; build it with `cargo build --bins`",
            keeper.display()
        );
        std::fs::create_dir_all(&config.scratch_root).map_err(|error| {
            anyhow::anyhow!("cannot create the scratch directory {}: {error}", config.scratch_root.display())
        })?;
        Ok(Supervisor::new(config))
    }

    /// Lets the idle process keepers go (at shutdown, once no attempt runs).
    pub async fn close(&self) {
        self.keepers.close().await;
    }

    /// Runs `job`'s current attempt; progress changes go to `progress`,
    /// every output line to `output`.
    pub async fn run(
        &self,
        job: &Job,
        progress: mpsc::Sender<Progress>,
        output: &OutputBuffer,
        stop: CancellationToken,
    ) -> Report {
        let unique: u32 = rand::random();
        let scratch = self.config.scratch_root.join(format!("{}-{}-{unique:08x}", job.id, job.attempt));
        let mut stderr_tail = VecDeque::with_capacity(STDERR_TAIL_LINES);
        let mut observed = Observed::default();
        let lines = Lines { stderr_tail: &mut stderr_tail, output };
        let outcome = self.run_in(job, &scratch, progress, stop, lines, &mut observed).await;
        // Lines were redacted as they came; reasons and notes are redacted here.
        let outcome = self.redactor.outcome(outcome);
        if let Err(error) = tokio::fs::remove_dir_all(&scratch).await {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(job_id = %job.id, %error, "could not remove scratch directory");
            }
        }
        Report { outcome, log_tail: Vec::from(stderr_tail).join("\n"), observed }
    }

    async fn run_in(
        &self,
        job: &Job,
        scratch: &Path,
        progress: mpsc::Sender<Progress>,
        stop: CancellationToken,
        lines_seen: Lines<'_>,
        observed: &mut Observed,
    ) -> Outcome {
        let Lines { stderr_tail, output } = lines_seen;
        if let Err(error) = tokio::fs::create_dir_all(scratch).await {
            return Outcome::Failed(Failure::retryable(format!("could not create a scratch directory: {error}")));
        }
        // Dropping the keeper midway (this task aborted, the node's runtime
        // dropped) closes its socket, and it ends everything it runs.
        let grace = self.config.kill_grace;
        let command = &self.config.command;
        let (mut keeper, started) = match self.keepers.start(&command.program, command.args(job), scratch, grace).await
        {
            Ok(started) => started,
            Err(NotStarted::Program(reason) | NotStarted::Keeper(reason)) => {
                return Outcome::Failed(Failure::retryable(reason));
            }
        };
        let pgid = started.pid;
        let (line_tx, mut lines) = mpsc::channel(LINE_BUFFER);
        let redactor = &self.redactor;
        // Owned by this attempt: dropping the set ends the readers.
        let mut readers = tokio::task::JoinSet::new();
        readers.spawn(read_lines(started.stdout, false, line_tx.clone(), Arc::clone(redactor)));
        readers.spawn(read_lines(started.stderr, true, line_tx, Arc::clone(redactor)));

        let mut parser = LineParser::new(Arc::clone(&self.patterns));
        let deadline = tokio::time::sleep(self.config.timeout);
        tokio::pin!(deadline);
        let stall = self.config.stall_timeout;
        // Fires a stall timeout after the last line it knew of; if a line
        // came since, it is set again from that one (no timer work per line).
        // Without a stall timeout it never fires.
        let mut last_line = tokio::time::Instant::now();
        let silence = tokio::time::sleep(stall.unwrap_or(self.config.timeout));
        tokio::pin!(silence);
        let end = loop {
            tokio::select! {
                _ = stop.cancelled() => break End::Stopped,
                _ = &mut deadline => break End::TimedOut,
                _ = &mut silence, if stall.is_some() => {
                    let quiet_until = last_line + stall.unwrap_or_default();
                    if tokio::time::Instant::now() >= quiet_until {
                        break End::Stalled;
                    }
                    silence.as_mut().reset(quiet_until);
                }
                reply = keeper.reply() => break match reply {
                    Ok(Reply::Ended(exit)) => End::Exited(keeper::exit_status(exit)),
                    _ => End::KeeperLost,
                },
                Some((is_stderr, line)) = lines.recv() => {
                    note_line(&mut parser, stderr_tail, output, is_stderr, line, &progress, redactor).await;
                    last_line = tokio::time::Instant::now();
                }
            }
        };
        // What the program prints while it is being stopped is read as it
        // comes (so it is followed live, and a chatty cleanup never blocks
        // on a full pipe until SIGKILL).
        let keeper_usable = {
            let stopping = async {
                match end {
                    End::Exited(_) => true,
                    End::KeeperLost => {
                        process::sweep(pgid, grace).await;
                        false
                    }
                    End::TimedOut | End::Stalled | End::Stopped => process::terminate(&mut keeper, pgid, grace).await,
                }
            };
            tokio::pin!(stopping);
            loop {
                tokio::select! {
                    usable = &mut stopping => break usable,
                    Some((is_stderr, line)) = lines.recv() => {
                        note_line(&mut parser, stderr_tail, output, is_stderr, line, &progress, redactor).await;
                    }
                }
            }
        };
        if keeper_usable {
            self.keepers.give_back(keeper);
        }
        // Everything the program started is gone, so the pipes are closed:
        // read what is left.
        let drain = async {
            while let Some((is_stderr, line)) = lines.recv().await {
                note_line(&mut parser, stderr_tail, output, is_stderr, line, &progress, redactor).await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;

        match end {
            End::Stopped => Outcome::Stopped,
            End::KeeperLost => Outcome::Failed(Failure::new(
                FailureKind::Crashed,
                "the process keeper ended unexpectedly; the program was stopped",
            )),
            End::TimedOut => Outcome::Failed(Failure::new(
                FailureKind::Timeout,
                format!("timed out after {} s; the program was stopped", self.config.timeout.as_secs_f32()),
            )),
            End::Stalled => Outcome::Failed(Failure::new(
                FailureKind::Stalled,
                format!("printed nothing for {} s; the program was stopped", stall.unwrap_or_default().as_secs_f32()),
            )),
            End::Exited(status) => {
                observed.exit = program_exit(status);
                self.verdict(job, status, parser, stderr_tail, scratch, observed).await
            }
        }
    }
}

/// Where the lines an attempt reads go besides the parser.
struct Lines<'a> {
    stderr_tail: &'a mut VecDeque<String>,
    output: &'a OutputBuffer,
}

async fn note_line(
    parser: &mut LineParser,
    stderr_tail: &mut VecDeque<String>,
    output: &OutputBuffer,
    is_stderr: bool,
    line: String,
    progress: &mpsc::Sender<Progress>,
    redactor: &Redactor,
) {
    if is_stderr {
        if stderr_tail.len() == STDERR_TAIL_LINES {
            stderr_tail.pop_front();
        }
        stderr_tail.push_back(line.chars().take(500).collect());
    }
    if let Some(mut update) = parser.feed(&line) {
        // Stage names come from configuration, but nothing that leaves the
        // supervisor is exempt.
        update.stage = redactor.text(update.stage);
        // A closed receiver means nobody records progress any more; fine.
        let _ = progress.send(update).await;
    }
    output.push(if is_stderr { OutputStream::Stderr } else { OutputStream::Stdout }, line);
}

/// Reads lines as they come, each capped at `MAX_LINE_BYTES` (the rest of a
/// longer line is skipped), decoded leniently, since output is untrusted, and
/// redacted before anything else sees them.
async fn read_lines(
    stream: impl AsyncRead + Unpin,
    is_stderr: bool,
    lines: mpsc::Sender<(bool, String)>,
    redactor: Arc<Redactor>,
) {
    // A secret straddling the cap is read whole, redacted, then cut off.
    let cap = MAX_LINE_BYTES + redactor.lookahead();
    let mut reader = BufReader::new(stream);
    let mut line = Vec::with_capacity(256);
    loop {
        let available = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(bytes) => bytes,
        };
        let (chunk, ends_line) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], Some(at + 1)),
            None => (available, None),
        };
        let room = cap.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = ends_line.unwrap_or(available.len());
        reader.consume(used);
        if ends_line.is_some() {
            let text = String::from_utf8_lossy(&line).trim_end_matches('\r').to_string();
            line.clear();
            if lines.send((is_stderr, redacted_line(text, &redactor))).await.is_err() {
                return;
            }
        }
    }
    if !line.is_empty() {
        let text = String::from_utf8_lossy(&line).into_owned();
        let _ = lines.send((is_stderr, redacted_line(text, &redactor))).await;
    }
}

/// The line without secrets, at most `MAX_LINE_BYTES` long.
fn redacted_line(text: String, redactor: &Redactor) -> String {
    if redactor.is_empty() {
        return text;
    }
    let mut text = redactor.text(text);
    if text.len() > MAX_LINE_BYTES {
        let mut cut = MAX_LINE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

fn program_exit(status: ExitStatus) -> Option<ProgramExit> {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Some(ProgramExit::Code(code)),
        (None, Some(signal)) => Some(ProgramExit::Signal(signal)),
        _ => None,
    }
}

fn ensure_program_exists(program: &Path) -> anyhow::Result<()> {
    let found = if program.components().count() > 1 {
        program.is_file()
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
    };
    anyhow::ensure!(
        found,
        "the note-making program {} was not found; build the bundled stand-in with `cargo build --bins` or set VIDEOJOBS_CLI",
        program.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines_of(output: &str, secret: &str) -> Vec<String> {
        let (tx, mut rx) = mpsc::channel(16);
        read_lines(output.as_bytes(), true, tx, Arc::new(Redactor::new([secret]))).await;
        let mut lines = Vec::new();
        while let Some((_, line)) = rx.recv().await {
            lines.push(line);
        }
        lines
    }

    #[tokio::test]
    async fn a_secret_across_the_line_cap_is_redacted_not_cut_in_half() {
        let secret = "sk-0123456789";
        let long = format!("{}{secret} and more", "x".repeat(MAX_LINE_BYTES - 5));
        let lines = lines_of(&format!("{long}\nkey: {secret}\nlast {secret}"), secret).await;
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].len(), MAX_LINE_BYTES);
        assert!(lines[0].ends_with("xxxxx[reda"), "{}", &lines[0][MAX_LINE_BYTES - 20..]);
        assert_eq!(lines[1..], ["key: [redacted]", "last [redacted]"]);
    }

    #[tokio::test]
    async fn without_a_secret_lines_are_read_as_before() {
        let long = "y".repeat(MAX_LINE_BYTES + 100);
        let lines = lines_of(&format!("a\r\n{long}\nb"), "").await;
        assert_eq!(lines, ["a".to_string(), "y".repeat(MAX_LINE_BYTES), "b".to_string()]);
    }
}

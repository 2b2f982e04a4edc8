//! The terminal client's command line: the options every client subcommand
//! shares (where the server is, how to authenticate, `--json`) and the
//! arguments of `submit`, `jobs`, `watch`, `notes` and `logs`. Every shared option is
//! global, so it may come before or after a nested subcommand.
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::config::{DEFAULT_DATA_DIR, Secret};
use crate::proto::v1 as pb;

pub const DEFAULT_ADDR: &str = "http://127.0.0.1:50051";

/// Where the server is and who the caller is.
#[derive(Debug, Args)]
pub struct ClientOptions {
    /// The server: `http://HOST:PORT`, or `https://…` for TLS.
    #[arg(long, env = "VIDEOJOBS_ADDR", default_value = DEFAULT_ADDR, global = true)]
    pub addr: String,
    /// PEM CA bundle that signed the server's certificate (https only);
    /// default: the system's roots.
    #[arg(long, env = "VIDEOJOBS_CA_CERT", global = true)]
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate for mutual TLS.
    #[arg(long, env = "VIDEOJOBS_CLIENT_CERT", requires = "client_key", global = true)]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `--client-cert`.
    #[arg(long, env = "VIDEOJOBS_CLIENT_KEY", requires = "client_cert", global = true)]
    pub client_key: Option<PathBuf>,
    /// Bearer token. Without one, a token for `$USER` is minted from the
    /// secret in `--data-dir` (or `VIDEOJOBS_JWT_SECRET`), as `token` does.
    #[arg(long, env = "VIDEOJOBS_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<Secret>,
    /// The server's data directory, to mint a token when none is given.
    #[arg(long, env = "VIDEOJOBS_DATA_DIR", default_value = DEFAULT_DATA_DIR, global = true)]
    pub data_dir: PathBuf,
    /// The server's JWT secret, to mint a token when none is given.
    #[arg(long, env = "VIDEOJOBS_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<Secret>,
    /// Print JSON, one object per line for each job or note.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// YouTube video URLs; each becomes a job.
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,
    /// File the notes under this subject; default: the program decides.
    #[arg(long, default_value = "")]
    pub subject: String,
    /// Write notes only, no assessment.
    #[arg(long)]
    pub no_assessments: bool,
    /// Higher runs first, -100..=100.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Not to start before this time (RFC 3339, e.g. 2026-12-24T18:00:00Z);
    /// the jobs wait QUEUED until then.
    #[arg(long, value_name = "TIME")]
    pub not_before: Option<chrono::DateTime<chrono::Utc>>,
    /// Then follow the jobs until they finish, as `watch` does.
    #[arg(long)]
    pub watch: bool,
    #[command(flatten)]
    pub options: ClientOptions,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub command: JobsCommand,
    #[command(flatten)]
    pub options: ClientOptions,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Your jobs, newest first.
    List {
        /// Only jobs in these states (repeatable or comma-separated).
        #[arg(long = "state", value_enum, value_delimiter = ',')]
        states: Vec<StateArg>,
        /// Only the jobs of this batch.
        #[arg(long = "batch", value_name = "BATCH_ID")]
        batch: Option<String>,
        /// Only jobs with this text in their URL, video id, subject, stage or
        /// failure reason (ASCII case ignored).
        #[arg(long)]
        search: Option<String>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
    /// One job in full.
    Get { job_id: String },
    /// Queue a FAILED or CANCELLED job again.
    Retry {
        job_id: String,
        /// Run it at this priority (-100..=100); default: the job's.
        #[arg(long, allow_negative_numbers = true)]
        priority: Option<i32>,
    },
    /// Run a COMPLETED or FAILED job again, optionally changed; its new
    /// notes replace the old once stored.
    Reprocess {
        job_id: String,
        /// File the new notes under this subject.
        #[arg(long)]
        subject: Option<String>,
        /// Write notes only this time, no assessment.
        #[arg(long, conflicts_with = "assessments")]
        no_assessments: bool,
        /// Write an assessment this time.
        #[arg(long)]
        assessments: bool,
        /// Run it at this priority (-100..=100); default: the job's.
        #[arg(long, allow_negative_numbers = true)]
        priority: Option<i32>,
    },
    /// Cancel a waiting or running job.
    Cancel { job_id: String },
    /// Delete a finished job and its notes.
    Delete { job_id: String },
    /// Your FAILED jobs grouped by failure kind and reason, largest first.
    Failures {
        /// Only failures of this kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
    },
    /// Queue again every FAILED job that matches (at most 1,000 a call).
    RetryFailed {
        /// Only failures of this kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Only failures of this reason group, as `jobs failures` prints it.
        #[arg(long)]
        reason_group: Option<String>,
        /// Only the children of this batch.
        #[arg(long)]
        batch: Option<String>,
    },
}

/// A failure kind as typed on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Permanent,
    Transient,
    Timeout,
    Stalled,
    Crashed,
    NoOutput,
    Cancelled,
}

impl From<KindArg> for pb::FailureKind {
    fn from(kind: KindArg) -> pb::FailureKind {
        match kind {
            KindArg::Permanent => pb::FailureKind::Permanent,
            KindArg::Transient => pb::FailureKind::Transient,
            KindArg::Timeout => pb::FailureKind::Timeout,
            KindArg::Stalled => pb::FailureKind::Stalled,
            KindArg::Crashed => pb::FailureKind::Crashed,
            KindArg::NoOutput => pb::FailureKind::NoOutput,
            KindArg::Cancelled => pb::FailureKind::Cancelled,
        }
    }
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Jobs to follow until they finish; none: all of yours, until Ctrl-C.
    #[arg(value_name = "JOB_ID")]
    pub job_ids: Vec<String>,
    #[command(flatten)]
    pub options: ClientOptions,
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    #[command(subcommand)]
    pub command: NodeCommand,
    #[command(flatten)]
    pub options: ClientOptions,
}

/// An operator's calls to the node `--addr` names (an admin token).
#[derive(Debug, Subcommand)]
pub enum NodeCommand {
    /// Whether the node is draining or drained, and what it runs.
    Status,
    /// Drain the node: it takes no new job and finishes what it runs.
    Drain {
        /// Wait until it is drained, then say so.
        #[arg(long)]
        wait: bool,
    },
}

/// What to pause or resume: at most one; none: your own work.
#[derive(Clone, Debug, Args)]
#[group(multiple = false)]
pub struct PauseTargetArgs {
    /// Only this batch.
    #[arg(long, value_name = "BATCH_ID")]
    pub batch: Option<String>,
    /// This user's work (another user's needs an admin token).
    #[arg(long, value_name = "USER_ID")]
    pub user: Option<String>,
    /// Everyone's work (an admin token).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    #[command(flatten)]
    pub target: PauseTargetArgs,
    /// Why; shown on each paused job.
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Resume by itself at this time (RFC 3339, e.g. 2026-12-24T18:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    #[command(flatten)]
    pub options: ClientOptions,
}

#[derive(Debug, Args)]
pub struct PausesArgs {
    #[command(flatten)]
    pub options: ClientOptions,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub target: PauseTargetArgs,
    #[command(flatten)]
    pub options: ClientOptions,
}

#[derive(Debug, Args)]
pub struct NotesArgs {
    #[command(subcommand)]
    pub command: NotesCommand,
    #[command(flatten)]
    pub options: ClientOptions,
}

#[derive(Debug, Subcommand)]
pub enum NotesCommand {
    /// One note's markdown.
    Get {
        note_id: String,
        /// Write the markdown to this file instead of printing it.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Your notes, oldest first (without their text).
    List {
        /// Only the notes of this job.
        #[arg(long = "job", value_name = "JOB_ID")]
        job_id: Option<String>,
        /// At most this many notes.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    pub job_id: String,
    /// Keep following the attempt's output live until it ends.
    #[arg(long, short)]
    pub follow: bool,
    /// Which attempt, from 1; default: the latest.
    #[arg(long, default_value_t = 0)]
    pub attempt: u32,
    #[command(flatten)]
    pub options: ClientOptions,
}

/// A job state as typed on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    Queued,
    Processing,
    Retrying,
    Completed,
    Failed,
    Cancelled,
}

impl From<StateArg> for pb::JobState {
    fn from(state: StateArg) -> pb::JobState {
        match state {
            StateArg::Queued => pb::JobState::Queued,
            StateArg::Processing => pb::JobState::Processing,
            StateArg::Retrying => pb::JobState::Retrying,
            StateArg::Completed => pb::JobState::Completed,
            StateArg::Failed => pb::JobState::Failed,
            StateArg::Cancelled => pb::JobState::Cancelled,
        }
    }
}

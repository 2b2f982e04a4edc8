//! The terminal client in the `videojobs` binary: `submit`, `jobs`, `watch`,
//! `notes`, `logs`, `node`, `pause` and `resume` call a running server over gRPC, as the user named by the
//! token (given, or minted from a local server's data directory). Output is
//! text for people or `--json`, one object per line. A failure is one line on
//! stderr with the gRPC status code and message, and exit status 2 for a
//! usage mistake (`INVALID_ARGUMENT` included) or 1 otherwise; a watch exits
//! 1 when a job it followed did not complete.
mod args;
mod connect;
mod console;
mod failure;
mod jobs;
mod logs;
mod node;
mod notes;
mod output;
mod pause;
mod watch;

pub use args::{
    ClientOptions, DEFAULT_ADDR, JobsArgs, JobsCommand, LogsArgs, NodeArgs, NodeCommand, NotesArgs, NotesCommand,
    PauseArgs, PausesArgs, ResumeArgs, StateArg, SubmitArgs, WatchArgs,
};
pub use console::{ConsoleArgs, link as console_link};
pub use failure::{EXIT_FAILURE, EXIT_USAGE, Failure, Outcome, code_name};

/// `videojobs submit`. Returns only on success; a failure is reported and
/// ends the process with its exit status.
pub async fn submit(args: SubmitArgs) -> anyhow::Result<()> {
    finish(jobs::submit(&args).await)
}

/// `videojobs jobs …`; see [`submit`] for how it ends.
pub async fn jobs(args: JobsArgs) -> anyhow::Result<()> {
    finish(jobs::jobs(&args).await)
}

/// `videojobs watch …`; see [`submit`] for how it ends.
pub async fn watch(args: WatchArgs) -> anyhow::Result<()> {
    finish(watch::watch(&args).await)
}

/// `videojobs node …`; see [`submit`] for how it ends.
pub async fn node(args: NodeArgs) -> anyhow::Result<()> {
    finish(node::node(&args).await)
}

/// `videojobs pause …`; see [`submit`] for how it ends.
pub async fn pause(args: PauseArgs) -> anyhow::Result<()> {
    finish(pause::pause(&args).await)
}

/// `videojobs resume …`; see [`submit`] for how it ends.
pub async fn resume(args: ResumeArgs) -> anyhow::Result<()> {
    finish(pause::resume(&args).await)
}

/// `videojobs pauses`; see [`submit`] for how it ends.
pub async fn pauses(args: PausesArgs) -> anyhow::Result<()> {
    finish(pause::list(&args).await)
}

/// `videojobs notes …`; see [`submit`] for how it ends.
pub async fn notes(args: NotesArgs) -> anyhow::Result<()> {
    finish(notes::notes(&args).await)
}

/// `videojobs logs …`; see [`submit`] for how it ends.
pub async fn logs(args: LogsArgs) -> anyhow::Result<()> {
    finish(logs::logs(&args).await)
}

/// Success returns; a failure prints its line and exits with its status.
fn finish(outcome: Outcome) -> anyhow::Result<()> {
    match outcome {
        Ok(()) => Ok(()),
        Err(failure) => {
            if !failure.line.is_empty() {
                output::warn(&format!("error: {}", failure.line));
            }
            std::process::exit(failure.exit)
        }
    }
}

//! The `videojobs` command line: `serve` and its flags (each with its
//! environment name), `token`, `health`, and the terminal client's
//! subcommands.
mod serve;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{DEFAULT_DATA_DIR, Secret};
pub use serve::ServeArgs;

#[derive(Debug, Parser)]
#[command(name = "videojobs", version, about = "YouTube videos in, study notes out, every step streamed over gRPC.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// `human` or `json`.
    #[arg(long, global = true, env = "VIDEOJOBS_LOG_FORMAT", default_value = "human")]
    pub log_format: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service.
    Serve(Box<ServeArgs>),
    /// Print a bearer token for a user, signed with the configured secret.
    Token(TokenArgs),
    /// Check a running server's gRPC health: the node's and each
    /// dependency's status; exits non-zero when the node cannot serve.
    Health(HealthArgs),
    /// Submit YouTube URLs as jobs; with `--watch`, follow them to the end.
    Submit(crate::client::SubmitArgs),
    /// List, show, retry, cancel or delete your jobs.
    Jobs(crate::client::JobsArgs),
    /// Follow jobs live with progress bars; exits 0 only if all completed.
    Watch(crate::client::WatchArgs),
    /// Read or list the notes your jobs produced.
    Notes(crate::client::NotesArgs),
    /// An operator's view of one node: its status, or drain it (admin token).
    Node(crate::client::NodeArgs),
    /// Pause a batch, your work, or (admin) a user's or everyone's: waiting
    /// jobs do not start until `resume` (or `--until`).
    Pause(crate::client::PauseArgs),
    /// Resume what `pause` paused: its jobs take their turn again.
    Resume(crate::client::ResumeArgs),
    /// List the pauses that hold your work back (an admin token: all).
    Pauses(crate::client::PausesArgs),
    /// Print a link that opens the browser console signed in (a short-lived
    /// token in the URL fragment, never sent to the server).
    Console(crate::client::ConsoleArgs),
    /// Print what the program said in a job's attempt; `--follow` live.
    Logs(crate::client::LogsArgs),
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    #[arg(long, env = "VIDEOJOBS_ADDR", default_value = "http://127.0.0.1:50051")]
    pub addr: String,
    /// A service name, or empty for the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[arg(long)]
    pub user: String,
    #[arg(long, env = "VIDEOJOBS_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    #[arg(long, env = "VIDEOJOBS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// How long the token is valid, in seconds.
    #[arg(long, default_value_t = 24 * 60 * 60)]
    pub ttl_secs: u64,
    /// Give the token the `admin` role: it sees and manages every user's jobs.
    #[arg(long)]
    pub admin: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{JobsCommand, StateArg};

    #[test]
    fn secrets_never_show_in_debug_output() {
        let args = Cli::parse_from([
            "videojobs",
            "serve",
            "--claude-api-key",
            "sk-very-secret",
            "--jwt-secret",
            "jwt-very-secret",
        ]);
        let printed = format!("{args:?}");
        assert!(!printed.contains("very-secret"), "{printed}");
        let Command::Serve(serve) = args.command else { panic!("serve") };
        let config = serve.into_config().unwrap();
        assert!(!format!("{config:?}").contains("very-secret"));
    }

    #[test]
    fn the_cli_setting_is_split_without_a_shell_and_patterns_are_checked() {
        let args = Cli::parse_from([
            "videojobs",
            "serve",
            "--cli",
            "uv run youtube-study-buddy",
            "--stage-pattern",
            "40:thinking=Thinking",
        ]);
        let Command::Serve(serve) = args.command else { panic!("serve") };
        let config = serve.into_config().unwrap();
        assert_eq!(config.supervisor.command.program, PathBuf::from("uv"));
        assert_eq!(config.supervisor.command.leading_args, ["run", "youtube-study-buddy"]);
        assert_eq!(config.supervisor.patterns.stages[0].stage, "thinking");
        assert!(serve::compile_progress(r"(?P<current>\d+)").is_err());
        assert!(serve::parse_stage("nope").is_err());
    }

    #[test]
    fn client_options_go_before_or_after_a_nested_subcommand_and_tokens_stay_hidden() {
        let cli = Cli::parse_from([
            "videojobs",
            "jobs",
            "--token",
            "very-secret-token",
            "list",
            "--state",
            "failed,cancelled",
            "--state",
            "completed",
            "--json",
        ]);
        assert!(!format!("{cli:?}").contains("very-secret-token"));
        let Command::Jobs(args) = cli.command else { panic!("jobs") };
        assert!(args.options.json);
        assert_eq!(args.options.token.unwrap().expose(), "very-secret-token");
        let JobsCommand::List { states, limit, .. } = args.command else { panic!("list") };
        assert_eq!(states, [StateArg::Failed, StateArg::Cancelled, StateArg::Completed]);
        assert_eq!(limit, 50);
    }

    #[test]
    fn submit_takes_several_urls_and_a_negative_priority() {
        let cli = Cli::parse_from(["videojobs", "submit", "u1", "u2", "--priority", "-5", "--no-assessments"]);
        let Command::Submit(args) = cli.command else { panic!("submit") };
        assert_eq!(args.urls, ["u1", "u2"]);
        assert_eq!((args.priority, args.no_assessments, args.watch), (-5, true, false));
        assert!(Cli::try_parse_from(["videojobs", "submit"]).is_err(), "a URL is required");
    }
}

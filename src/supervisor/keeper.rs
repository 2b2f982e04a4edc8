//! The process keeper: every attempt's program runs under `videojobs-keeper`
//! (src/bin/videojobs-keeper/), which makes itself the subreaper of everything
//! the program starts and stops when the node dies. That way nothing outlives
//! its attempt or its node, not even a descendant that called setsid(). This
//! module finds the keeper binary, builds its command line and reads the one
//! failure it reports itself (the program could not be started).
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::Command;

use super::command::ProgramCommand;
use crate::domain::Job;

pub use protocol::*;

/// How the supervisor and the keeper speak: shared word for word with the
/// keeper binary, which includes this file rather than linking the library.
#[path = "keeper_protocol.rs"]
mod protocol;

/// The keeper installed beside this binary (cargo puts every binary of the
/// package in `target/<profile>`, test binaries one level down in `deps`;
/// the Dockerfile copies it beside `videojobs`), else its name on `PATH`.
pub fn keeper_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let dir = exe.parent()?;
            [dir.join(KEEPER_PROGRAM), dir.parent()?.join(KEEPER_PROGRAM)].into_iter().find(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(KEEPER_PROGRAM))
}

/// Whether `keeper` names a file, directly or on `PATH`.
pub fn is_installed(keeper: &Path) -> bool {
    if keeper.components().count() > 1 {
        return keeper.is_file();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(keeper).is_file())
}

/// `keeper --parent-pid <this process> --grace-ms <grace> -- <program> <args>`
/// in `scratch`, the leader of its own process group, with the program's
/// environment and piped output. No shell is involved.
pub fn command(keeper: &Path, program: &ProgramCommand, job: &Job, scratch: &Path, grace: Duration) -> Command {
    let mut command = Command::new(keeper);
    command
        .arg(PARENT_PID_FLAG)
        .arg(std::process::id().to_string())
        .arg(GRACE_MS_FLAG)
        .arg(grace.as_millis().to_string())
        .arg("--")
        .arg(&program.program)
        .args(program.args(job))
        .env_clear()
        .envs(program.env())
        .current_dir(scratch)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Why the keeper could not run the program, when that is how it ended.
pub fn failure(status: ExitStatus, last_stderr_line: Option<&str>) -> Option<String> {
    if status.code() != Some(KEEPER_FAILED) {
        return None;
    }
    last_stderr_line?.strip_prefix(FAILURE_PREFIX).map(String::from)
}

/// Why the keeper itself could not be started.
pub fn start_failure(keeper: &Path, error: &std::io::Error) -> String {
    format!(
        "could not start the process keeper {}: {error} (build it with `cargo build --bins`; it belongs beside videojobs)",
        keeper.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn only_the_keepers_own_status_and_line_make_a_keeper_failure() {
        let failed = ExitStatus::from_raw(KEEPER_FAILED << 8);
        let line = "videojobs-keeper: could not start /x: Permission denied (os error 13)";
        assert_eq!(failure(failed, Some(line)).as_deref(), Some("could not start /x: Permission denied (os error 13)"));
        assert_eq!(failure(failed, Some("something else")), None);
        assert_eq!(failure(ExitStatus::from_raw(1 << 8), Some(line)), None);
        assert_eq!(failure(failed, None), None);
    }
}

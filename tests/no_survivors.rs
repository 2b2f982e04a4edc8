//! Nothing a program starts outlives its attempt or its node — not even a
//! child that left the program's session and process group with setsid()
//! and ignores SIGTERM: not after a cancel, a timeout, a normal exit or a
//! graceful stop of the node, and not after a real `kill -9` of its process. The stand-in's
//! `escape…` (hangs) and `setsid…` (finishes) modes start such a child and
//! record both pids in the state directory.
mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;

/// A process as first seen: its start time tells it from a later process
/// that happens to get the same pid.
#[derive(Clone, Copy, Debug)]
struct Process {
    pid: u32,
    started: u64,
}

struct Stat {
    state: char,
    parent: u32,
    session: u32,
    started: u64,
}

fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which ends at the last ")": state is
    // field 3 of the man page, so index 0 here; ppid 1, session 3, starttime 19.
    let fields: Vec<&str> = text.rsplit_once(") ")?.1.split_ascii_whitespace().collect();
    Some(Stat {
        state: fields[0].chars().next()?,
        parent: fields[1].parse().ok()?,
        session: fields[3].parse().ok()?,
        started: fields[19].parse().ok()?,
    })
}

impl Process {
    fn seen(pid: u32) -> Process {
        let started = stat(pid).unwrap_or_else(|| panic!("process {pid} is not running")).started;
        Process { pid, started }
    }

    /// Gone: no such process any more, or only its zombie, waiting for a
    /// parent that is not this test (whose zombie would be its own fault).
    fn is_gone(&self) -> bool {
        match stat(self.pid) {
            None => true,
            Some(now) if now.started != self.started => true,
            Some(now) => matches!(now.state, 'Z' | 'X') && now.parent != std::process::id(),
        }
    }
}

/// The keeper, the program and the program's setsid child of one job.
#[derive(Debug)]
struct Attempt {
    keeper: Process,
    program: Process,
    escapee: Process,
}

/// Waits for the stand-in to record its pids, and checks the escapee really
/// left the program's session and the program runs under the keeper.
async fn wait_for_attempt(state_dir: &Path, video_id: &str) -> Attempt {
    let file = state_dir.join(format!("{video_id}.pids"));
    let text = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{} was never written", file.display()));
    let pid = |name: &str| -> u32 {
        let line = text.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no {name} in {text:?}"));
        line.trim().parse().unwrap()
    };
    let (program, escapee) = (Process::seen(pid("program ")), Process::seen(pid("escapee ")));
    let program_stat = stat(program.pid).unwrap();
    assert_ne!(stat(escapee.pid).unwrap().session, program_stat.session, "the escapee left the program's session");
    let keeper = Process::seen(program_stat.parent);
    let name = std::fs::read_to_string(format!("/proc/{}/comm", keeper.pid)).unwrap();
    assert!("videojobs-keeper".starts_with(name.trim()), "the program runs under the keeper, not {name:?}");
    Attempt { keeper, program, escapee }
}

/// Waits up to `within` for every process of the attempt to be gone.
async fn assert_all_gone(attempt: &Attempt, within: Duration) {
    let all = [attempt.keeper, attempt.program, attempt.escapee];
    let deadline = tokio::time::Instant::now() + within;
    while !all.iter().all(Process::is_gone) {
        let left: Vec<_> = all.iter().filter(|p| !p.is_gone()).map(|p| p.pid).collect();
        assert!(tokio::time::Instant::now() < deadline, "survived {within:?}: {left:?} of {attempt:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_keeper_found_at_run_time_is_the_one_cargo_built() {
    let found = videojobs::supervisor::keeper::keeper_path().canonicalize().unwrap();
    assert_eq!(found, PathBuf::from(env!("CARGO_BIN_EXE_videojobs-keeper")).canonicalize().unwrap());
}

#[tokio::test]
async fn the_keeper_ends_as_its_program_did() {
    let keeper = env!("CARGO_BIN_EXE_videojobs-keeper");
    let run = |script: &str| {
        std::process::Command::new(keeper).args(["--grace-ms", "100", "--", "sh", "-c", script]).status().unwrap()
    };
    assert_eq!(run("exit 3").code(), Some(3));
    assert_eq!(run("kill -KILL $$").signal(), Some(9));
    assert_eq!(run("kill -TERM $$").signal(), Some(15));
    let missing = std::process::Command::new(keeper).args(["--", "/nonexistent/program"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(videojobs::supervisor::keeper::KEEPER_FAILED));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.starts_with("videojobs-keeper: could not start /nonexistent/program: No such file"), "{said}");
}

#[tokio::test]
async fn cancel_leaves_no_setsid_descendant() {
    let (server, dir) = TestServer::embedded().start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("escape00001")).await.unwrap().into_inner();
    let attempt = wait_for_attempt(&standin_state(dir.path()), "escape00001").await;
    let cancelled = jobs.cancel_job(pb::CancelJobRequest { job_id: job.id }).await.unwrap().into_inner();
    assert_eq!(state(&cancelled), pb::JobState::Cancelled);
    // The escapee ignores SIGTERM: it goes with the SIGKILL after the grace.
    assert_all_gone(&attempt, Duration::from_secs(5)).await;
    assert_no_processes_under(dir.path(), Duration::from_secs(1)).await;
    server.stop().await;
}

#[tokio::test]
async fn a_timeout_leaves_no_setsid_descendant() {
    // Long enough for the stand-in (30 ms stages) to start its escapee first.
    let (server, dir) = TestServer::embedded()
        .with(|c| {
            c.retry.max_attempts = 1;
            c.supervisor.timeout = Duration::from_secs(5);
        })
        .start()
        .await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("escape00002")).await.unwrap().into_inner();
    let attempt = wait_for_attempt(&standin_state(dir.path()), "escape00002").await;
    let failed = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&failed), pb::JobState::Failed);
    assert!(failed.error.contains("timed out after 5 s"), "{}", failed.error);
    assert_all_gone(&attempt, Duration::from_secs(1)).await;
    assert_no_processes_under(dir.path(), Duration::from_secs(1)).await;
    server.stop().await;
}

#[tokio::test]
async fn a_normal_exit_leaves_no_setsid_descendant() {
    let (server, dir) = TestServer::embedded().with(|c| c.retry.max_attempts = 1).start().await;
    let mut jobs = server.jobs("alice").await;
    let job = jobs.submit_video(submit("setsid00001")).await.unwrap().into_inner();
    let attempt = wait_for_attempt(&standin_state(dir.path()), "setsid00001").await;
    let done = wait_final(&mut jobs, &job.id).await;
    assert_eq!(state(&done), pb::JobState::Completed, "{}", done.error);
    assert_eq!(done.note_ids.len(), 2);
    // The attempt ends only once the keeper has ended and reaped them all.
    assert_all_gone(&attempt, Duration::from_millis(200)).await;
    server.stop().await;
}

#[tokio::test]
async fn a_node_stopped_gracefully_leaves_no_setsid_descendant() {
    let (server, dir) = TestServer::embedded().start().await;
    let mut jobs = server.jobs("alice").await;
    jobs.submit_video(submit("escape00004")).await.unwrap();
    let attempt = wait_for_attempt(&standin_state(dir.path()), "escape00004").await;
    server.stop().await;
    // The stop waited for the supervisor, which waited for the keeper.
    assert_all_gone(&attempt, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_node_killed_with_sigkill_leaves_no_program_and_no_setsid_descendant() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = NodeProcess::start(dir.path(), |node| {
        node.args(["--concurrency", "1", "--job-retry-attempts", "1"]);
    });
    let mut jobs = node.jobs("alice").await;
    jobs.submit_video(submit("escape00003")).await.unwrap();
    let attempt = wait_for_attempt(&standin_state(dir.path()), "escape00003").await;
    assert_eq!(stat(attempt.keeper.pid).unwrap().parent, node.process.id().unwrap(), "the node started the keeper");

    node.sigkill().await; // no destructor, no shutdown
    // The keeper gets its parent-death signal, gives the grace (the escapee
    // ignores SIGTERM), then kills and reaps them all.
    assert_all_gone(&attempt, Duration::from_secs(5)).await;
    assert_no_processes_under(dir.path(), Duration::from_secs(1)).await;
}

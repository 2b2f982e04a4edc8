//! Nothing a program starts outlives its attempt or its node — not even a
//! child that left the program's session and process group with setsid()
//! and ignores SIGTERM: not after a cancel, a timeout, a normal exit or a
//! graceful stop of the node, and not after a real `kill -9` of its process. The stand-in's
//! `escape…` (hangs) and `setsid…` (finishes) modes start such a child and
//! record both pids in the state directory.
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use videojobs::proto::v1 as pb;
use videojobs::supervisor::keeper::{Exit, Keeper, Keepers, NotStarted, Reply};

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

impl Attempt {
    /// What the attempt started; its keeper belongs to the worker slot and
    /// serves the next attempt.
    fn started(&self) -> [Process; 2] {
        [self.program, self.escapee]
    }

    fn everything(&self) -> [Process; 3] {
        [self.keeper, self.program, self.escapee]
    }
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

/// Waits up to `within` for every one of `all` to be gone.
async fn assert_all_gone(all: &[Process], within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while !all.iter().all(Process::is_gone) {
        let left: Vec<_> = all.iter().filter(|p| !p.is_gone()).map(|p| p.pid).collect();
        assert!(tokio::time::Instant::now() < deadline, "survived {within:?}: {left:?} of {all:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_keeper_found_at_run_time_is_the_one_cargo_built() {
    let found = videojobs::supervisor::keeper::keeper_path().canonicalize().unwrap();
    assert_eq!(found, PathBuf::from(env!("CARGO_BIN_EXE_videojobs-keeper")).canonicalize().unwrap());
}

/// Runs `sh -c script` under `keeper` and returns how it ended.
async fn run_under(keeper: &mut Keeper, script: &str) -> Exit {
    let dir = std::env::temp_dir();
    let args = vec!["-c".into(), script.into()];
    let Ok(started) = keeper.start(Path::new("sh"), args, &dir, Duration::from_millis(100)).await else {
        panic!("sh did not start");
    };
    drop(started);
    match keeper.reply().await.unwrap() {
        Reply::Ended(exit) => exit,
        other => panic!("expected the end of the program, got {other:?}"),
    }
}

#[tokio::test]
async fn one_keeper_runs_attempt_after_attempt_and_tells_how_each_ended() {
    let env = vec![("PATH".into(), std::env::var_os("PATH").unwrap())];
    let keepers = Keepers::new(PathBuf::from(env!("CARGO_BIN_EXE_videojobs-keeper")), env);
    let mut keeper = keepers.take().unwrap();
    assert_eq!(run_under(&mut keeper, "exit 3").await, Exit::Code(3));
    assert_eq!(run_under(&mut keeper, "kill -KILL $$").await, Exit::Signal(9));
    assert_eq!(run_under(&mut keeper, "kill -TERM $$").await, Exit::Signal(15));
    let missing = keeper.start(Path::new("/nonexistent/program"), vec![], &std::env::temp_dir(), Duration::ZERO).await;
    let Err(NotStarted::Program(reason)) = missing else { panic!("a missing program must not start") };
    assert!(reason.starts_with("could not start /nonexistent/program: No such file"), "{reason}");
    // The same keeper still answers after a program that could not start.
    assert_eq!(run_under(&mut keeper, "exit 0").await, Exit::Code(0));
    keepers.give_back(keeper);
    keepers.close().await;
}

#[tokio::test]
async fn a_worker_slot_keeps_its_keeper_for_the_next_attempt() {
    let (server, dir) = TestServer::embedded().with(|c| c.worker.concurrency = 1).start().await;
    let mut jobs = server.jobs("alice").await;
    let first = jobs.submit_video(submit("setsid00005")).await.unwrap().into_inner();
    let first_attempt = wait_for_attempt(&standin_state(dir.path()), "setsid00005").await;
    assert_eq!(state(&wait_final(&mut jobs, &first.id).await), pb::JobState::Completed);
    assert_all_gone(&first_attempt.started(), Duration::from_millis(200)).await;
    let second = jobs.submit_video(submit("setsid00006")).await.unwrap().into_inner();
    let second_attempt = wait_for_attempt(&standin_state(dir.path()), "setsid00006").await;
    assert_eq!(state(&wait_final(&mut jobs, &second.id).await), pb::JobState::Completed);
    assert_eq!(second_attempt.keeper.pid, first_attempt.keeper.pid, "the second program ran under the same keeper");
    assert_eq!(second_attempt.keeper.started, first_attempt.keeper.started);
    server.stop().await;
    assert_all_gone(&second_attempt.everything(), Duration::from_millis(200)).await;
}

/// An idle keeper killed between two attempts costs the next job nothing:
/// its program starts under a new keeper, on its first attempt.
#[tokio::test]
async fn a_job_after_an_idle_keeper_was_killed_runs_on_its_first_attempt() {
    let (server, dir) = TestServer::embedded().with(|c| c.worker.concurrency = 1).start().await;
    let mut jobs = server.jobs("alice").await;
    let first = jobs.submit_video(submit("setsid00007")).await.unwrap().into_inner();
    let first_attempt = wait_for_attempt(&standin_state(dir.path()), "setsid00007").await;
    assert_eq!(state(&wait_final(&mut jobs, &first.id).await), pb::JobState::Completed);
    let killed = std::process::Command::new("kill").args(["-KILL", &first_attempt.keeper.pid.to_string()]).status();
    assert!(killed.unwrap().success(), "the idle keeper was killed");
    let second = jobs.submit_video(submit("setsid00008")).await.unwrap().into_inner();
    let second_attempt = wait_for_attempt(&standin_state(dir.path()), "setsid00008").await;
    let second = wait_final(&mut jobs, &second.id).await;
    assert_eq!((state(&second), second.attempt), (pb::JobState::Completed, 1), "{}", second.error);
    assert_ne!(second_attempt.keeper.pid, first_attempt.keeper.pid, "a new keeper ran it");
    server.stop().await;
    assert_all_gone(&second_attempt.everything(), Duration::from_millis(200)).await;
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
    assert_all_gone(&attempt.started(), Duration::from_secs(5)).await;
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
    assert_all_gone(&attempt.started(), Duration::from_secs(1)).await;
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
    assert_all_gone(&attempt.started(), Duration::from_millis(200)).await;
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
    assert_all_gone(&attempt.everything(), Duration::from_millis(200)).await;
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
    // The keeper's socket closes with the node (and its parent-death signal
    // comes); it gives the grace (the escapee ignores SIGTERM), then kills
    // and reaps them all, and exits.
    assert_all_gone(&attempt.everything(), Duration::from_secs(5)).await;
    assert_no_processes_under(dir.path(), Duration::from_secs(1)).await;
}

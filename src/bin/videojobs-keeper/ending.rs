//! How the keeper ends: every descendant first (SIGTERM, then SIGKILL after
//! the grace period, reaping until no child is left), then itself, the way
//! the program ended.
use std::collections::HashSet;
use std::time::{Duration, Instant};

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::signal::{SigSet, Signal, kill, raise};
use nix::unistd::{Pid, getpgrp, getpid};

use crate::signals::Signals;
use crate::tree::{self, Exit};

/// Why the keeper is ending the program's processes.
pub enum Cause {
    /// The program exited; what it left behind goes.
    ProgramEnded,
    /// SIGTERM or SIGINT; `group_signalled` when the supervisor sent it to
    /// the whole group, so those in the group already have theirs.
    Stop { group_signalled: bool },
    /// The supervisor died (or was killed) without stopping the program.
    SupervisorGone,
}

/// How often the keeper looks again while waiting for processes to go
/// (a child's end wakes it at once).
const TICK: Duration = Duration::from_millis(10);

/// Ends every descendant of the keeper and reaps until none is left. A
/// descendant seen for the first time gets SIGTERM (and SIGCONT if it is
/// stopped); after `grace`, everything still there gets SIGKILL.
pub fn end_all(signals: &Signals, program: Pid, cause: Cause, grace: Duration, status: &mut Option<Exit>) {
    let deadline = Instant::now() + grace;
    let (me, my_group) = (getpid(), getpgrp());
    let group_signalled = matches!(cause, Cause::Stop { group_signalled: true });
    let mut warned = HashSet::new();
    let mut first_look = true;
    while tree::reap(program, status) {
        let past_grace = Instant::now() >= deadline;
        for process in tree::descendants(me) {
            if past_grace {
                let _ = kill(process.pid, Signal::SIGKILL);
            } else if warned.insert(process.pid) {
                if !(first_look && group_signalled && process.group == my_group) {
                    let _ = kill(process.pid, Signal::SIGTERM);
                }
                if process.stopped {
                    let _ = kill(process.pid, Signal::SIGCONT);
                }
            }
        }
        first_look = false;
        signals.wait(Some(TICK));
    }
}

/// Exits with the program's status, or dies of the signal that killed it.
pub fn exit_as(status: Option<Exit>) -> ! {
    match status {
        Some(Exit::Code(code)) => std::process::exit(code),
        Some(Exit::Signal(signal)) => die_of(signal),
        None => crate::fail("the program's exit status was lost"),
    }
}

fn die_of(signal: Signal) -> ! {
    // The program may have dumped core; the keeper has nothing to add.
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_CORE) {
        let _ = setrlimit(Resource::RLIMIT_CORE, 0, hard);
    }
    let mut only = SigSet::empty();
    only.add(signal);
    let _ = only.thread_unblock();
    let _ = raise(signal);
    // Still alive: the signal is ignored here (SIGPIPE, by Rust's runtime).
    std::process::exit(128 + signal as i32)
}

//! How an attempt ends: every descendant of the keeper gets SIGTERM, then
//! SIGKILL after the grace period, and the keeper reaps until no child is
//! left.
use std::collections::HashSet;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, getpid};

use crate::signals::Signals;
use crate::tree::{self, Exit};

/// How often the keeper looks again while waiting for processes to go
/// (a child's end wakes it at once).
const TICK: Duration = Duration::from_millis(10);

/// Ends every descendant of the keeper and reaps until none is left,
/// keeping the program's status. A descendant seen for the first time gets
/// SIGTERM (and SIGCONT if it is stopped); after `grace`, everything still
/// there gets SIGKILL. Immediate when the program left nothing behind.
pub fn end_all(signals: &Signals, program: Pid, grace: Duration, status: &mut Option<Exit>) {
    let deadline = Instant::now() + grace;
    let me = getpid();
    let mut warned = HashSet::new();
    while tree::reap(program, status) {
        let past_grace = Instant::now() >= deadline;
        for process in tree::descendants(me) {
            if past_grace {
                let _ = kill(process.pid, Signal::SIGKILL);
            } else if warned.insert(process.pid) {
                let _ = kill(process.pid, Signal::SIGTERM);
                if process.stopped {
                    let _ = kill(process.pid, Signal::SIGCONT);
                }
            }
        }
        signals.wait(Some(TICK));
    }
}

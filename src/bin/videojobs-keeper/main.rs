//! `videojobs-keeper [--parent-pid PID]` runs the programs of one worker
//! slot, one attempt at a time, so that nothing a program starts outlives
//! its attempt or the node that supervises it, and needs no privileges to
//! do so. The node starts one keeper per busy worker slot and keeps it for
//! the next attempt, so an attempt costs one spawn, not two.
//!
//! - Its stdin is a `SOCK_SEQPACKET` socket to the supervisor, which sends
//!   "run" (the command line, the working directory, the grace, and the
//!   program's stdout and stderr as descriptors) and "stop"; the keeper
//!   answers "started", "not started" and "ended" (src/supervisor/keeper_protocol.rs).
//! - It makes itself a child subreaper (`PR_SET_CHILD_SUBREAPER`): every
//!   descendant that loses its parent, even one that left the process group
//!   with setsid(), becomes the keeper's child instead of init's. A slot
//!   runs one attempt at a time, so all of them belong to the attempt.
//! - It knows the supervisor is gone when the socket closes (the kernel
//!   closes it when the node dies, however it dies), when its parent-death
//!   signal (`PR_SET_PDEATHSIG`) comes and getppid() no longer names
//!   `--parent-pid`, or when it gets SIGTERM or SIGINT.
//! - It runs the program with no shell: its own process group's leader, the
//!   keeper's environment, no blocked signals.
//! - When the program exits, on "stop", or once the supervisor is gone, it
//!   sends every descendant SIGTERM, SIGKILL to what is left after the
//!   grace period, and reaps until it has no child left; only then does it
//!   answer "ended" (or exit, when the supervisor is gone).
//!
//! Only a SIGKILL of the keeper itself defeats it. It prints nothing but the
//! one line of a failure to keep at all, after the prefix the supervisor knows.
#![deny(unsafe_code)]

mod channel;
mod ending;
/// Shared word for word with the supervisor, without linking its library.
#[path = "../../supervisor/keeper_protocol.rs"]
mod protocol;
mod signals;
mod tree;

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawnp};
use nix::sys::prctl;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{Pid, chdir, getppid};

use channel::{Channel, Received};
use protocol::{FAILURE_PREFIX, KEEPER_FAILED, PARENT_PID_FLAG, Reply, Request};
use signals::{Event, Signals};

const USAGE: &str = "videojobs-keeper [--parent-pid PID] (stdin: the supervisor's socket)";

fn main() {
    let parent =
        parse_args(std::env::args_os().skip(1)).unwrap_or_else(|message| fail(&format!("{message}; usage: {USAGE}")));
    let signals = Signals::listen().unwrap_or_else(|e| fail(&format!("cannot listen for signals: {e}")));
    if let Err(error) = prctl::set_child_subreaper(true) {
        fail(&format!("cannot become a child subreaper: {error}"));
    }
    if let Err(error) = prctl::set_pdeathsig(Signal::SIGHUP) {
        fail(&format!("cannot ask for a signal when the supervisor dies: {error}"));
    }
    let parent = parent.unwrap_or_else(getppid);
    if getppid() != parent {
        fail("the supervisor is gone");
    }
    let channel = Channel::stdin().unwrap_or_else(|e| fail(&format!("cannot read the supervisor's socket: {e}")));
    let keeper = Keeper { signals, channel, parent };
    keeper.serve()
}

fn parse_args(mut args: impl Iterator<Item = OsString>) -> Result<Option<Pid>, String> {
    let mut parent = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some(PARENT_PID_FLAG) => {
                let value = args.next().ok_or(format!("{PARENT_PID_FLAG} needs a value"))?;
                let pid = value.to_str().and_then(|v| v.parse::<i32>().ok()).ok_or("--parent-pid needs a pid")?;
                parent = Some(Pid::from_raw(pid));
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(parent)
}

/// Says why on stderr and exits with the status the supervisor recognises.
fn fail(message: &str) -> ! {
    eprintln!("{FAILURE_PREFIX}{message}");
    std::process::exit(KEEPER_FAILED)
}

struct Keeper {
    signals: Signals,
    channel: Channel,
    parent: Pid,
}

/// What ended the watch over a running program.
enum Cause {
    ProgramEnded,
    /// The supervisor asked for the attempt to end.
    Stop,
    /// The supervisor is gone (or the keeper itself was told to stop).
    SupervisorGone,
}

impl Keeper {
    /// Runs attempts as the supervisor asks, until it is gone.
    fn serve(&self) -> ! {
        loop {
            let (events, readable) = self.signals.wait_with(self.channel.fd());
            if self.supervisor_gone(&events) {
                std::process::exit(0);
            }
            if !readable {
                continue;
            }
            match self.channel.receive() {
                Received::Request(Request::Run { grace, dir, program, args }, fds) => {
                    let Ok([stdout, stderr]) = <[OwnedFd; 2]>::try_from(fds) else {
                        let reason = "the run request did not carry the program's stdout and stderr".to_string();
                        self.channel.send(&Reply::NotStarted { reason });
                        continue;
                    };
                    self.attempt(grace, &dir, &program, &args, stdout, stderr);
                }
                // Nothing runs: there is nothing to stop.
                Received::Request(Request::Stop, _) | Received::Garbled => {}
                Received::Gone => std::process::exit(0),
            }
        }
    }

    /// One attempt: start, watch, end everything, answer.
    fn attempt(
        &self,
        grace: Duration,
        dir: &OsString,
        program: &OsString,
        args: &[OsString],
        stdout: OwnedFd,
        stderr: OwnedFd,
    ) {
        let pid = match spawn(dir, program, args, stdout, stderr) {
            Ok(pid) => pid,
            Err(reason) => return self.channel.send(&Reply::NotStarted { reason }),
        };
        self.channel.send(&Reply::Started { pid: pid.as_raw() });
        let mut status = None;
        let cause = self.watch(pid, &mut status);
        ending::end_all(&self.signals, pid, grace, &mut status);
        if matches!(cause, Cause::SupervisorGone) {
            std::process::exit(0);
        }
        match status {
            Some(exit) => self.channel.send(&Reply::Ended(exit)),
            None => fail("the program's exit status was lost"),
        }
    }

    /// Waits until the program exits, a stop is asked for or the supervisor
    /// is gone, reaping the orphans that end meanwhile.
    fn watch(&self, program: Pid, status: &mut Option<tree::Exit>) -> Cause {
        loop {
            let (events, readable) = self.signals.wait_with(self.channel.fd());
            if self.supervisor_gone(&events) {
                return Cause::SupervisorGone;
            }
            tree::reap(program, status);
            if status.is_some() {
                return Cause::ProgramEnded;
            }
            if readable {
                match self.channel.receive() {
                    Received::Request(Request::Stop, _) => return Cause::Stop,
                    // One attempt at a time: a second run is not answered.
                    Received::Request(Request::Run { .. }, _) | Received::Garbled => {}
                    Received::Gone => return Cause::SupervisorGone,
                }
            }
        }
    }

    /// SIGTERM or SIGINT to the keeper, or a parent-death signal that came
    /// from the parent itself rather than one of its threads.
    fn supervisor_gone(&self, events: &[Event]) -> bool {
        events.iter().any(|event| match event {
            Event::Stop => true,
            Event::ParentMayBeGone => getppid() != self.parent,
            Event::ChildEnded => false,
        })
    }
}

/// Starts the program with posix_spawnp (a name without a slash is looked
/// up in PATH, as `Command` does) in `dir`: its own process group's leader,
/// stdin from /dev/null, the given stdout and stderr, the keeper's
/// environment, none of the signals the keeper blocks, and SIGPIPE back at
/// its default (the keeper's Rust runtime ignores it). One spawn, no unsafe
/// pre-exec hook. The keeper changes into `dir` around the spawn (it has one
/// thread, and nothing else of it uses the working directory).
fn spawn(
    dir: &OsString,
    program: &OsString,
    args: &[OsString],
    stdout: OwnedFd,
    stderr: OwnedFd,
) -> Result<Pid, String> {
    let c_string =
        |value: &OsStr| CString::new(value.as_bytes()).map_err(|_| "an argument holds a NUL byte".to_string());
    let path = c_string(program)?;
    let mut argv = vec![path.clone()];
    for arg in args {
        argv.push(c_string(arg)?);
    }
    let mut environment = Vec::new();
    for (name, value) in std::env::vars_os() {
        let mut pair = name;
        pair.push("=");
        pair.push(value);
        environment.push(c_string(&pair)?);
    }
    let mut attributes = PosixSpawnAttr::init().map_err(|e| e.to_string())?;
    attributes.set_sigmask(&SigSet::empty()).map_err(|e| e.to_string())?;
    let mut defaults = SigSet::empty();
    defaults.add(Signal::SIGPIPE);
    attributes.set_sigdefault(&defaults).map_err(|e| e.to_string())?;
    attributes.set_pgroup(Pid::from_raw(0)).map_err(|e| e.to_string())?;
    let flags = PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK
        | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF
        | PosixSpawnFlags::POSIX_SPAWN_SETPGROUP;
    attributes.set_flags(flags).map_err(|e| e.to_string())?;
    let mut actions = PosixSpawnFileActions::init().map_err(|e| e.to_string())?;
    let nothing = std::fs::File::open("/dev/null").map_err(|e| format!("cannot open /dev/null: {e}"))?;
    actions.add_dup2(nothing.as_raw_fd(), 0).map_err(|e| e.to_string())?;
    actions.add_dup2(stdout.as_raw_fd(), 1).map_err(|e| e.to_string())?;
    actions.add_dup2(stderr.as_raw_fd(), 2).map_err(|e| e.to_string())?;
    let shown = Path::new(program).display();
    chdir(Path::new(dir))
        .map_err(|error| format!("could not start {shown}: cannot enter {dir:?}: {}", error.desc()))?;
    let spawned = posix_spawnp(&path, &actions, &attributes, &argv, &environment);
    let _ = chdir("/");
    spawned.map_err(|errno| format!("could not start {shown}: {}", errno.desc()))
}

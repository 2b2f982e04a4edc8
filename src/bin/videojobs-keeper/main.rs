//! `videojobs-keeper [--parent-pid PID] [--grace-ms MS] -- PROGRAM [ARGS...]`
//! runs one attempt's program so that nothing it starts outlives the attempt
//! or the node that supervises it, and needs no privileges to do so:
//!
//! - It makes itself a child subreaper (`PR_SET_CHILD_SUBREAPER`): every
//!   descendant that loses its parent, even one that left the process group
//!   with setsid(), becomes the keeper's child instead of init's.
//! - It asks for SIGHUP when its parent dies (`PR_SET_PDEATHSIG`) and then
//!   compares getppid() with `--parent-pid`, which also catches a parent that
//!   died before the keeper could ask, and tells a parent that died from one
//!   of the parent's threads that ended (the signal follows the thread).
//! - It runs the program with no shell: the same argv, environment, working
//!   directory and stdio, and none of the keeper's blocked signals.
//! - When the program exits, on SIGTERM or SIGINT (the supervisor's kill of
//!   the group), or once its parent is gone, it sends every descendant
//!   SIGTERM, SIGKILL to what is left after the grace period, and reaps until
//!   it has no child left.
//! - Then it ends as the program did: the same exit status, or the same
//!   signal raised on itself (except SIGPIPE, which Rust programs ignore:
//!   that one ends it with status 141, as a shell reports it).
//!
//! Only a SIGKILL of the keeper itself defeats it. It prints nothing but the
//! one line of a failure to start, after the prefix the supervisor knows.
#![forbid(unsafe_code)]

mod ending;
/// Shared word for word with the supervisor, without linking its library.
#[path = "../../supervisor/keeper_protocol.rs"]
mod protocol;
mod signals;
mod tree;

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawnp};
use nix::sys::prctl;
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{Pid, getppid};

use ending::Cause;
use protocol::{FAILURE_PREFIX, GRACE_MS_FLAG, KEEPER_FAILED, PARENT_PID_FLAG};
use signals::{Event, Signals};
use tree::Exit;

const USAGE: &str = "videojobs-keeper [--parent-pid PID] [--grace-ms MS] -- PROGRAM [ARGS...]";
const DEFAULT_GRACE: Duration = Duration::from_secs(5);

struct Program {
    path: OsString,
    args: Vec<OsString>,
}

struct Invocation {
    parent: Option<Pid>,
    grace: Duration,
    program: Program,
}

fn main() {
    match parse_args(std::env::args_os().skip(1)) {
        Ok(Invocation { parent, grace, program }) => keep(parent, grace, &program),
        Err(message) => fail(&format!("{message}; usage: {USAGE}")),
    }
}

fn parse_args(mut args: impl Iterator<Item = OsString>) -> Result<Invocation, String> {
    let (mut parent, mut grace) = (None, DEFAULT_GRACE);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            value.to_str().and_then(|v| v.parse().ok()).ok_or(format!("{name} needs a number"))
        };
        match arg.to_str() {
            Some(PARENT_PID_FLAG) => {
                let pid = i32::try_from(number(PARENT_PID_FLAG)?).map_err(|_| "--parent-pid is out of range")?;
                parent = Some(Pid::from_raw(pid));
            }
            Some(GRACE_MS_FLAG) => grace = Duration::from_millis(number(GRACE_MS_FLAG)?),
            Some("--") => {
                let path = args.next().ok_or("no program given")?;
                let program = Program { path, args: args.collect() };
                return Ok(Invocation { parent, grace, program });
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Err("no program given".into())
}

/// Says why on stderr, where the supervisor reads it, and exits with the
/// status it recognises.
fn fail(message: &str) -> ! {
    eprintln!("{FAILURE_PREFIX}{message}");
    std::process::exit(KEEPER_FAILED)
}

fn keep(parent: Option<Pid>, grace: Duration, program: &Program) -> ! {
    let signals = Signals::listen().unwrap_or_else(|e| fail(&format!("cannot listen for signals: {e}")));
    if let Err(error) = prctl::set_child_subreaper(true) {
        fail(&format!("cannot become a child subreaper: {error}"));
    }
    if let Err(error) = prctl::set_pdeathsig(Signal::SIGHUP) {
        fail(&format!("cannot ask for a signal when the supervisor dies: {error}"));
    }
    let parent = parent.unwrap_or_else(getppid);
    let pending = signals.take();
    if getppid() != parent {
        fail("the supervisor is gone");
    }
    if pending.iter().any(|event| matches!(event, Event::Stop { .. })) {
        // Stopped before the program started: end as it would have.
        ending::exit_as(Some(Exit::Signal(Signal::SIGTERM)));
    }
    let program_pid = spawn(program)
        .unwrap_or_else(|error| fail(&format!("could not start {}: {error}", Path::new(&program.path).display())));
    let mut status = None;
    let cause = watch(&signals, program_pid, parent, &mut status);
    ending::end_all(&signals, program_pid, cause, grace, &mut status);
    ending::exit_as(status)
}

/// Waits until the program exits, a stop is asked for or the supervisor is
/// gone, reaping the orphans that end meanwhile.
fn watch(signals: &Signals, program: Pid, parent: Pid, status: &mut Option<Exit>) -> Cause {
    loop {
        for event in signals.wait(None) {
            if let Event::Stop { sent_by } = event {
                return Cause::Stop { group_signalled: sent_by == parent };
            }
        }
        tree::reap(program, status);
        if status.is_some() {
            return Cause::ProgramEnded;
        }
        if getppid() != parent {
            return Cause::SupervisorGone;
        }
    }
}

/// Starts the program with posix_spawnp (a name without a slash is looked
/// up in PATH, as `Command` does): the keeper's arguments, environment,
/// working directory and stdio, with none of the signals the keeper blocks
/// and SIGPIPE back at its default (the keeper's Rust runtime ignores it).
/// One spawn, and no unsafe pre-exec hook.
fn spawn(program: &Program) -> Result<Pid, String> {
    let c_string =
        |value: &OsStr| CString::new(value.as_bytes()).map_err(|_| "an argument holds a NUL byte".to_string());
    let path = c_string(&program.path)?;
    let mut argv = vec![path.clone()];
    for arg in &program.args {
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
    let flags = PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF;
    attributes.set_flags(flags).map_err(|e| e.to_string())?;
    let actions = PosixSpawnFileActions::init().map_err(|e| e.to_string())?;
    posix_spawnp(&path, &actions, &attributes, &argv, &environment).map_err(|errno| errno.desc().to_string())
}

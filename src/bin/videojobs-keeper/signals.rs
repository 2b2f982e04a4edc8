//! The signals the keeper acts on, blocked and read from a signalfd, so they
//! are handled in its one loop and never in a signal handler.
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

/// SIGHUP is the keeper's parent-death signal.
const WATCHED: [Signal; 4] = [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP];

pub enum Event {
    ChildEnded,
    /// SIGTERM or SIGINT, and who sent it.
    Stop {
        sent_by: Pid,
    },
    /// SIGHUP: the parent, or the parent's thread that started the keeper,
    /// has ended; getppid() tells which.
    ParentMayBeGone,
}

pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    /// Blocks the watched signals (they stay pending until read here).
    pub fn listen() -> nix::Result<Signals> {
        let mut mask = SigSet::empty();
        for signal in WATCHED {
            mask.add(signal);
        }
        mask.thread_block()?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(Signals { fd })
    }

    /// Waits up to `timeout` (`None`: for as long as it takes) for a signal,
    /// then returns all that have arrived.
    pub fn wait(&self, timeout: Option<Duration>) -> Vec<Event> {
        let timeout = timeout.map_or(PollTimeout::NONE, |t| PollTimeout::try_from(t).unwrap_or(PollTimeout::MAX));
        // EINTR cannot happen with every handled signal blocked; any error
        // just means looking again.
        let _ = poll(&mut [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)], timeout);
        self.take()
    }

    /// The signals that have arrived, without waiting.
    pub fn take(&self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            events.push(match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) => Event::ChildEnded,
                Ok(Signal::SIGHUP) => Event::ParentMayBeGone,
                _ => Event::Stop { sent_by: Pid::from_raw(info.ssi_pid as i32) },
            });
        }
        events
    }
}

//! The signals the keeper acts on, blocked and read from a signalfd, so they
//! are handled in its one loop and never in a signal handler.
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// SIGHUP is the keeper's parent-death signal.
const WATCHED: [Signal; 4] = [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP];

pub enum Event {
    ChildEnded,
    /// SIGTERM or SIGINT: the keeper is told to end.
    Stop,
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

    /// Waits, for as long as it takes, for a signal or for `channel` to be
    /// readable (or closed); returns the signals that arrived and whether
    /// the channel has something to read.
    pub fn wait_with(&self, channel: BorrowedFd<'_>) -> (Vec<Event>, bool) {
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN), PollFd::new(channel, PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::NONE);
        let readable = fds[1].revents().is_some_and(|events| !events.is_empty());
        (self.take(), readable)
    }

    /// The signals that have arrived, without waiting.
    pub fn take(&self) -> Vec<Event> {
        let mut events = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            events.push(match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGCHLD) => Event::ChildEnded,
                Ok(Signal::SIGHUP) => Event::ParentMayBeGone,
                _ => Event::Stop,
            });
        }
        events
    }
}

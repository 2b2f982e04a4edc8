//! The program's output on its way to storage: every line the supervisor
//! reads is numbered and put here without waiting, and the worker takes
//! what has gathered, a group at a time. Memory and storage are bounded per
//! attempt: the first `head_bytes` of output are kept whole; after that a
//! window of the last `tail_bytes` is kept, and lines that fall out of it
//! are dropped — from here if they were not taken yet (never written), or
//! from storage if they were (the taker is told which). So a flood, or a
//! database slower than the program, never slows the program and never
//! grows without bound.
use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::domain::{Dropped, OutputGroup, OutputLine, OutputStream};

/// Counted per line on top of its text, so a flood of empty lines is
/// bounded too (each costs a row and a slot here).
pub const LINE_COST: usize = 32;

/// How much of an attempt's output is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimits {
    pub head_bytes: usize,
    pub tail_bytes: usize,
}

/// What a take hands over: the group of lines to store, and whether the
/// program's output has ended (nothing more will come).
#[derive(Debug, Default, PartialEq)]
pub struct Taken {
    pub group: OutputGroup,
    pub closed: bool,
}

pub struct OutputBuffer {
    limits: OutputLimits,
    /// A std mutex: held for a push or a take, neither of which waits.
    state: Mutex<State>,
    /// Woken on every push and on close; one taker waits on it.
    changed: Notify,
}

#[derive(Default)]
struct State {
    next_line: u64,
    head_used: usize,
    /// Once a line does not fit the head, every later line goes to the tail.
    head_full: bool,
    pending_head: Vec<OutputLine>,
    /// The tail's lines (number, cost), taken or not, oldest first; the
    /// newest `pending_tail.len()` of them are still pending.
    window: VecDeque<(u64, usize)>,
    window_bytes: usize,
    pending_tail: VecDeque<OutputLine>,
    pending_bytes: usize,
    dropped: Option<Dropped>,
    dropped_changed: bool,
    closed: bool,
}

impl OutputBuffer {
    pub fn new(limits: OutputLimits) -> OutputBuffer {
        OutputBuffer { limits, state: Mutex::new(State { next_line: 1, ..State::default() }), changed: Notify::new() }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Numbers the line and keeps it, dropping the oldest of the tail when
    /// the tail is full. Never waits.
    pub fn push(&self, stream: OutputStream, text: String) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        let cost = text.len() + LINE_COST;
        let line = state.next_line;
        state.next_line += 1;
        let output = OutputLine { line, stream, text };
        if !state.head_full && state.head_used + cost <= self.limits.head_bytes {
            state.head_used += cost;
            state.pending_bytes += cost;
            state.pending_head.push(output);
        } else {
            state.head_full = true;
            state.window.push_back((line, cost));
            state.window_bytes += cost;
            state.pending_bytes += cost;
            state.pending_tail.push_back(output);
            while state.window_bytes > self.limits.tail_bytes {
                let still_pending = state.window.len() == state.pending_tail.len();
                let Some((old, old_cost)) = state.window.pop_front() else { break };
                state.window_bytes -= old_cost;
                if still_pending {
                    state.pending_tail.pop_front();
                    state.pending_bytes -= old_cost;
                }
                let dropped = state.dropped.get_or_insert(Dropped { first: old, until: old, bytes: 0 });
                dropped.until = old + 1;
                dropped.bytes += (old_cost - LINE_COST) as u64;
                state.dropped_changed = true;
            }
        }
        drop(state);
        self.changed.notify_one();
    }

    /// No more lines: the taker takes what is left and ends.
    pub fn close(&self) {
        self.state().closed = true;
        self.changed.notify_one();
    }

    /// Waits until at least `bytes` of lines are pending (or a drop is), or
    /// the output has ended.
    pub async fn gathered(&self, bytes: usize) {
        loop {
            {
                let state = self.state();
                if state.closed || state.pending_bytes >= bytes.max(1) || state.dropped_changed {
                    return;
                }
            }
            self.changed.notified().await;
        }
    }

    /// Everything pending, in line order.
    pub fn take(&self) -> Taken {
        let mut state = self.state();
        let mut lines = std::mem::take(&mut state.pending_head);
        lines.extend(state.pending_tail.drain(..));
        state.pending_bytes = 0;
        let dropped = if std::mem::take(&mut state.dropped_changed) { state.dropped } else { None };
        Taken { group: OutputGroup { lines, dropped }, closed: state.closed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(taken: &Taken) -> Vec<(u64, &str)> {
        taken.group.lines.iter().map(|l| (l.line, l.text.as_str())).collect()
    }

    #[test]
    fn the_head_and_the_tail_are_kept_and_the_middle_is_counted_as_dropped() {
        let line = |n: u64| format!("line {n:03}"); // 8 bytes + 32
        let buffer = OutputBuffer::new(OutputLimits { head_bytes: 3 * 40, tail_bytes: 2 * 40 });
        for n in 1..=10 {
            buffer.push(OutputStream::Stderr, line(n));
        }
        let taken = buffer.take();
        assert_eq!(
            texts(&taken),
            [(1, "line 001"), (2, "line 002"), (3, "line 003"), (9, "line 009"), (10, "line 010")]
        );
        assert_eq!(taken.group.dropped, Some(Dropped { first: 4, until: 9, bytes: 5 * 8 }));
        assert!(taken.group.dropped.unwrap().marker().text.contains("5 lines (40 bytes) dropped"));
        // Taken lines that fall out of the tail later are dropped from storage.
        buffer.push(OutputStream::Stdout, line(11));
        let taken = buffer.take();
        assert_eq!(texts(&taken), [(11, "line 011")]);
        assert_eq!(taken.group.dropped, Some(Dropped { first: 4, until: 10, bytes: 6 * 8 }));
        buffer.close();
        assert_eq!(buffer.take(), Taken { group: OutputGroup::default(), closed: true });
    }

    #[test]
    fn a_flood_stays_within_its_limits() {
        let buffer = OutputBuffer::new(OutputLimits { head_bytes: 1024, tail_bytes: 4096 });
        for n in 0..100_000 {
            buffer.push(OutputStream::Stdout, format!("{n}"));
        }
        let taken = buffer.take();
        let kept: usize = taken.group.lines.iter().map(|l| l.text.len() + LINE_COST).sum();
        assert!(kept <= 1024 + 4096, "{kept}");
        assert_eq!(taken.group.lines.last().unwrap().line, 100_000);
        let dropped = taken.group.dropped.unwrap();
        assert_eq!(dropped.until, taken.group.lines.iter().find(|l| l.line > dropped.first).unwrap().line);
    }
}

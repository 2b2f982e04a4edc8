//! The keeper's descendants and children. Descendants are found in
//! /proc/<pid>/stat (parent, state), which every Linux has;
//! /proc/<pid>/task/*/children would be quicker but needs a kernel built
//! with CONFIG_PROC_CHILDREN. Whether any is left is asked of waitpid: as a
//! subreaper the keeper is an ancestor of each, so none is left exactly when
//! it has no child, which no race with a fork can get wrong.
use std::collections::HashMap;

use nix::errno::Errno;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

pub use crate::protocol::Exit;

/// A live process below the keeper.
pub struct Descendant {
    pub pid: Pid,
    /// Stopped (state `T`): it acts on SIGTERM only once continued.
    pub stopped: bool,
}

struct Stat {
    state: char,
    parent: i32,
}

/// Every live process below `root`, read from /proc.
pub fn descendants(root: Pid) -> Vec<Descendant> {
    let mut children: HashMap<i32, Vec<(i32, Stat)>> = HashMap::new();
    let Ok(proc) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in proc.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<i32>().ok()) else {
            continue;
        };
        // A process that ended since the directory was read has no stat.
        let Some(stat) = std::fs::read_to_string(entry.path().join("stat")).ok().and_then(|s| parse_stat(&s)) else {
            continue;
        };
        children.entry(stat.parent).or_default().push((pid, stat));
    }
    let mut found = Vec::new();
    let mut below = vec![root.as_raw()];
    while let Some(parent) = below.pop() {
        for (pid, stat) in children.remove(&parent).unwrap_or_default() {
            below.push(pid);
            if !matches!(stat.state, 'Z' | 'X' | 'x') {
                found.push(Descendant { pid: Pid::from_raw(pid), stopped: stat.state == 'T' });
            }
        }
    }
    found
}

/// `pid (comm) state ppid …`; the command name may hold spaces and
/// parentheses, so fields are counted from its last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(") ")?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some(Stat { state, parent })
}

/// Reaps every child that has ended, keeping the program's status; returns
/// whether any child is left (running, or ended after this look).
pub fn reap(program: Pid, status: &mut Option<Exit>) -> bool {
    loop {
        match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == program => *status = Some(Exit::Code(code)),
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == program => *status = Some(Exit::Signal(signal as i32)),
            Ok(WaitStatus::StillAlive) => return true,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(Errno::ECHILD) => return false,
            Err(_) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let stat = parse_stat("4242 (sleep (x) y) S 17 4242 4242 0 -1 4194560 97 0").unwrap();
        assert_eq!((stat.state, stat.parent), ('S', 17));
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_has_no_descendants_until_it_starts_one() {
        let me = nix::unistd::getpid();
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let found: Vec<_> = descendants(me).iter().map(|d| d.pid.as_raw() as u32).collect();
        assert!(found.contains(&child.id()), "{found:?}");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!descendants(me).iter().any(|d| d.pid.as_raw() as u32 == child.id()));
    }
}

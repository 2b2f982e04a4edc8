//! Process groups: every attempt runs as the leader of its own group, so one
//! signal reaches the program and everything it started.
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;

/// Asks the whole group to stop (SIGTERM), waits up to `grace` for the
/// leader, then kills what is left (SIGKILL).
pub async fn terminate(child: &mut Child, pgid: Pid, grace: Duration) {
    let _ = killpg(pgid, Signal::SIGTERM);
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = child.wait().await;
    }
    sweep(pgid, grace).await;
}

/// Ends whatever the leader left behind in its group: SIGTERM, up to `grace`
/// for them to go, then SIGKILL. Immediate when the group is already empty.
pub async fn sweep(pgid: Pid, grace: Duration) {
    if !group_alive(pgid) {
        return;
    }
    let _ = killpg(pgid, Signal::SIGTERM);
    // These are not our children, so there is no exit notification to wait
    // on; look a few times within the grace period.
    let step = Duration::from_millis(20);
    let mut waited = Duration::ZERO;
    while waited < grace && group_alive(pgid) {
        tokio::time::sleep(step).await;
        waited += step;
    }
    let _ = killpg(pgid, Signal::SIGKILL);
}

fn group_alive(pgid: Pid) -> bool {
    killpg(pgid, None::<Signal>).is_ok()
}

/// Kills the whole group if the run is abandoned midway (its task aborted or
/// its node's runtime dropped), so no program outlives its supervisor.
/// Disarmed once the group has been ended in order.
pub struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    pub fn new(pgid: Pid) -> GroupGuard {
        GroupGuard { pgid: Some(pgid) }
    }

    pub fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, Signal::SIGKILL);
        }
    }
}

//! Process groups: every attempt's keeper leads its own group, with the
//! program in it, so one signal reaches the keeper, the program and all that
//! stayed in the group. What left the group (setsid) the keeper ends itself.
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;

use super::keeper;

/// Asks the whole group to stop (SIGTERM). The keeper then gives the
/// program and all its descendants `grace` before it kills them (SIGKILL)
/// and exits; only a keeper that has not done so within a margin after that
/// is killed with its group from here.
pub async fn terminate(child: &mut Child, pgid: Pid, grace: Duration) {
    let _ = killpg(pgid, Signal::SIGTERM);
    if tokio::time::timeout(grace + keeper::MARGIN, child.wait()).await.is_err() {
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = child.wait().await;
    }
    sweep(pgid, grace).await;
}

/// Ends whatever is left in the group once its leader is gone: SIGTERM, up
/// to `grace` for them to go, then SIGKILL. Immediate when the group is
/// already empty, as it is once the keeper has done its work.
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

/// Stops the group if the run is abandoned midway (its task aborted or its
/// node's runtime dropped), so no program outlives its supervisor. SIGTERM,
/// not SIGKILL: the keeper must live to end the descendants that left the
/// group, which it does within the grace period. Disarmed once the group
/// has been ended in order.
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
            let _ = killpg(pgid, Signal::SIGTERM);
        }
    }
}

//! Ending an attempt's program early: the keeper is asked to end it and
//! everything it started; a keeper that does not answer within the grace
//! and a margin is killed, and the program's process group with it.
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::keeper::{self, Keeper, Reply};

/// Asks the keeper to stop the program: SIGTERM to it and all its
/// descendants, SIGKILL to what is left after `grace`. Returns whether the
/// keeper did so and can keep the next attempt.
pub async fn terminate(keeper: &mut Keeper, pgid: Pid, grace: Duration) -> bool {
    if keeper.stop().await.is_ok() {
        let ended = tokio::time::timeout(grace + keeper::MARGIN, keeper.reply()).await;
        if let Ok(Ok(Reply::Ended(_))) = ended {
            return true;
        }
    }
    keeper.kill();
    let _ = killpg(pgid, Signal::SIGKILL);
    sweep(pgid, grace).await;
    false
}

/// Ends whatever is left in the program's group once its keeper is gone:
/// SIGTERM, up to `grace` for them to go, then SIGKILL. Immediate when the
/// group is already empty.
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

//! The keeper's command line and exit protocol, shared by the supervisor
//! (src/supervisor/keeper.rs) and the keeper (src/bin/videojobs-keeper/).
#![allow(dead_code)] // each side uses its part
use std::time::Duration;

/// The keeper's file name, installed beside `videojobs`.
pub const KEEPER_PROGRAM: &str = "videojobs-keeper";
/// Names the supervising process: the keeper stops once it is gone.
pub const PARENT_PID_FLAG: &str = "--parent-pid";
/// Between the keeper's SIGTERM and its SIGKILL to what is left.
pub const GRACE_MS_FLAG: &str = "--grace-ms";
/// The keeper's exit status when it could not run the program at all (the
/// status env(1) uses for the same); its last stderr line then says why,
/// after [`FAILURE_PREFIX`].
pub const KEEPER_FAILED: i32 = 125;
pub const FAILURE_PREFIX: &str = "videojobs-keeper: ";
/// How much longer than the kill grace the supervisor waits for the keeper,
/// which enforces the grace itself, before it kills the keeper's group.
pub const MARGIN: Duration = Duration::from_secs(2);

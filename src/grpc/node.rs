//! The operators' node calls: `DrainNode` and `GetNodeStatus`, for admins.
use crate::auth::Caller;
use crate::error::{Error, Result};
use crate::jobs::{Jobs, NodeStatus};
use crate::proto::v1 as pb;

pub fn admin_only(caller: &Caller, call: &str) -> Result<()> {
    if caller.admin {
        return Ok(());
    }
    Err(Error::PermissionDenied(format!("{call} needs a token with the admin role")))
}

pub async fn drain(jobs: &Jobs, caller: &Caller, request: pb::DrainNodeRequest) -> Result<pb::NodeStatus> {
    admin_only(caller, "DrainNode")?;
    let status = jobs.drain_node(request.wait).await;
    tracing::info!(by = %caller.user_id, node = %status.node, drained = status.drained, "drain asked for");
    Ok(status_to_proto(status))
}

pub fn status(jobs: &Jobs, caller: &Caller) -> Result<pb::NodeStatus> {
    admin_only(caller, "GetNodeStatus")?;
    Ok(status_to_proto(jobs.node_status()))
}

fn status_to_proto(status: NodeStatus) -> pb::NodeStatus {
    pb::NodeStatus {
        node: status.node,
        draining: status.draining,
        drained: status.drained,
        running: u32::try_from(status.running).unwrap_or(u32::MAX),
    }
}

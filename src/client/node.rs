//! `node status` and `node drain [--wait]`: an operator's calls to one node.
use super::args::{NodeArgs, NodeCommand};
use super::connect::connect;
use super::failure::Outcome;
use super::output::emit;
use crate::proto::v1 as pb;

pub async fn node(args: &NodeArgs) -> Outcome {
    let mut client = connect(&args.options).await?.jobs;
    let status = match args.command {
        NodeCommand::Status => client.get_node_status(pb::GetNodeStatusRequest {}).await?,
        NodeCommand::Drain { wait } => client.drain_node(pb::DrainNodeRequest { wait }).await?,
    }
    .into_inner();
    if args.options.json {
        let value = serde_json::json!({ "node": status.node, "draining": status.draining,
            "drained": status.drained, "running": status.running });
        emit(&value.to_string());
    } else {
        let state = match (status.draining, status.drained) {
            (_, true) => "drained",
            (true, false) => "draining",
            (false, false) => "taking jobs",
        };
        emit(&format!("{}: {state}, {} running", status.node, status.running));
    }
    Ok(())
}

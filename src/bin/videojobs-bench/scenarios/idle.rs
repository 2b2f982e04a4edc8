//! Scenario 6, idle footprint: the resident memory of a node that has started,
//! connected and settled, with nothing to do; on the scaled-out stack and on
//! the embedded default (SQLite, in-process queue).
use std::time::Duration;

use super::Bench;
use crate::node::{Node, NodeOptions};
use crate::report::{Report, Row, Target};
use crate::stats::median;

const SETTLE: Duration = Duration::from_secs(3);

pub async fn run(bench: &Bench, report: &mut Report) -> anyhow::Result<()> {
    for embedded in [false, true] {
        let mut samples = Vec::new();
        for _ in 0..bench.sizes.repeats {
            let node = Node::start(bench, NodeOptions { concurrency: 3, embedded, stage_delay_ms: 0 }).await?;
            tokio::time::sleep(SETTLE).await;
            samples.push(node.rss_bytes()? as f64 / 1e6);
            node.stop().await?;
        }
        let stack = if embedded { "SQLite, in-process queue" } else { "PostgreSQL + Redis" };
        report.add(
            Row::new(format!("6. Idle node, {stack}"), "RSS, MB", median(&samples))
                .decimals(1)
                .target(Target::AtMost(40.0)),
        );
    }
    Ok(())
}

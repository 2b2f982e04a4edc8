//! Draining this node: once asked (an admin's `DrainNode`, or SIGUSR1), its
//! workers take nothing new, finish what they run, write how it ended and
//! stop; the node is drained when the last of them has. Calls are still
//! answered. Draining cannot be undone short of a restart.
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub struct Drain {
    asked: CancellationToken,
    /// Workers still taking jobs or finishing one.
    workers: watch::Sender<usize>,
}

/// Where a node stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    /// `<host>:<process id>`.
    pub node: String,
    pub draining: bool,
    /// Draining, and no worker is left.
    pub drained: bool,
    /// Programs running now.
    pub running: usize,
}

/// Held by a worker while it lives.
pub struct WorkerAlive {
    workers: watch::Sender<usize>,
}

impl Drop for WorkerAlive {
    fn drop(&mut self) {
        self.workers.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Default for Drain {
    fn default() -> Drain {
        Drain { asked: CancellationToken::new(), workers: watch::Sender::new(0) }
    }
}

impl Drain {
    /// Fires once the node is asked to drain; workers stop taking jobs.
    pub fn asked(&self) -> &CancellationToken {
        &self.asked
    }

    pub fn start(&self) {
        if !self.asked.is_cancelled() {
            tracing::info!(workers = *self.workers.borrow(), "draining: taking no new jobs, finishing what runs");
        }
        self.asked.cancel();
    }

    /// Counts a worker as alive until the guard is dropped.
    pub fn worker_alive(&self) -> WorkerAlive {
        self.workers.send_modify(|n| *n += 1);
        WorkerAlive { workers: self.workers.clone() }
    }

    /// Where `node`, running `running` programs, stands.
    pub fn status(&self, node: &str, running: usize) -> NodeStatus {
        let draining = self.asked.is_cancelled();
        NodeStatus { node: node.into(), draining, drained: draining && *self.workers.borrow() == 0, running }
    }

    /// Returns once draining was asked for and every worker has stopped.
    pub async fn drained(&self) {
        self.asked.cancelled().await;
        let mut workers = self.workers.subscribe();
        let _ = workers.wait_for(|n| *n == 0).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_node_is_drained_once_asked_and_its_last_worker_is_gone() {
        let drain = Drain::default();
        let (first, second) = (drain.worker_alive(), drain.worker_alive());
        assert!(!drain.status("here", 0).draining);
        drop(first);
        assert!(!drain.status("here", 0).drained, "not drained before it was asked to");
        drain.start();
        drain.start();
        let status = drain.status("here", 1);
        assert!(status.draining && !status.drained && status.running == 1);
        let waiting = tokio::spawn(async move {
            drain.drained().await;
            drain
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(second);
        let drain = waiting.await.unwrap();
        assert!(drain.status("here", 0).drained);
    }
}

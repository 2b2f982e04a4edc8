//! `WatchJobLogs`: one attempt's output, replayed from storage after the
//! requested line and then followed live until the attempt ends. It
//! subscribes to the job's live output and its owner's events first, then
//! reads storage, so nothing falls in between. Live chunks come from the
//! node that runs the program (through the event transport); a chunk that
//! skips ahead, a lag behind the hub's bounded buffer, or a catch-up signal
//! sends the watcher back to storage from its last line, so a slow watcher
//! is caught up rather than slowing the program or anyone else. A change of
//! the job's state, or the chunk that says the attempt's end is stored, may
//! end the attempt: then storage is read one last time (the attempt's output
//! is all stored with its end) and the stream ends. A cancel ends the job at
//! once but not its attempt: the stream goes on with what the program prints
//! while it is stopped, until that attempt's end is stored (or its node is
//! found lost, by the reaper).
//! While nothing is sent for the keepalive interval a HEARTBEAT line goes out,
//! so proxies keep the idle stream open.
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;
use uuid::Uuid;

use super::logs::line_to_proto;
use super::parse_id;
use crate::auth::Caller;
use crate::domain::{JobEvent, JobEventKind, OutputChunk, OutputLine, OutputStream, Scope};
use crate::error::{Error, Result};
use crate::jobs::Jobs;
use crate::proto::v1 as pb;

pub type LogLineStream = ReceiverStream<Result<pb::JobLogLine, Status>>;

/// Lines buffered per stream between the follower and the network.
const STREAM_BUFFER: usize = 256;
/// Lines read from storage per query when replaying or catching up.
const REPLAY_PAGE: u64 = 1000;

pub async fn watch(
    jobs: Arc<Jobs>,
    caller: &Caller,
    request: pb::WatchJobLogsRequest,
    keepalive: Duration,
    shutdown: CancellationToken,
) -> Result<LogLineStream> {
    let job_id = parse_id("job_id", &request.job_id)?;
    let scope = caller.scope();
    let (job, attempt) = jobs.output_target(&scope, job_id, request.attempt).await?;
    let hub = jobs.event_log().hub();
    // Subscribed before the follower's first read of storage.
    let live = hub.subscribe_output(job_id);
    let events = hub.subscribe(&job.user_id);
    let catch_ups = hub.catch_ups();
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let tracker = jobs.event_log().tracker().clone();
    let idle_since = Instant::now();
    let follower =
        Follower { jobs, scope, job_id, attempt, last: request.after_line, tx, keepalive, idle_since, shutdown };
    tracker.spawn(follower.run(live, events, catch_ups));
    Ok(ReceiverStream::new(rx))
}

struct Follower {
    jobs: Arc<Jobs>,
    scope: Scope,
    job_id: Uuid,
    attempt: u32,
    /// The last line sent (markers aside).
    last: u64,
    tx: mpsc::Sender<Result<pb::JobLogLine, Status>>,
    /// A heartbeat goes out when nothing was sent for this long.
    keepalive: Duration,
    idle_since: Instant,
    shutdown: CancellationToken,
}

/// Why a follower goes back to storage.
enum Next {
    CatchUp,
    Stop,
}

impl Follower {
    async fn run(
        mut self,
        mut live: broadcast::Receiver<Arc<OutputChunk>>,
        mut events: broadcast::Receiver<JobEvent>,
        mut catch_ups: watch::Receiver<u64>,
    ) {
        loop {
            match self.catch_up().await {
                Some(false) => {}
                Some(true) | None => return,
            }
            if let Next::Stop = self.follow(&mut live, &mut events, &mut catch_ups).await {
                return;
            }
        }
    }

    /// Follows live until storage must be read again (or the stream ends).
    async fn follow(
        &mut self,
        live: &mut broadcast::Receiver<Arc<OutputChunk>>,
        events: &mut broadcast::Receiver<JobEvent>,
        catch_ups: &mut watch::Receiver<u64>,
    ) -> Next {
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return Next::Stop,
                _ = self.tx.closed() => return Next::Stop,
                _ = catch_ups.changed() => return Next::CatchUp,
                () = tokio::time::sleep_until(self.idle_since + self.keepalive) => {
                    let heartbeat = pb::JobLogLine {
                        attempt: self.attempt,
                        line: self.last,
                        stream: pb::LogStream::Heartbeat as i32,
                        text: String::new(),
                    };
                    if self.deliver_proto(heartbeat).await.is_none() {
                        return Next::Stop;
                    }
                }
                chunk = live.recv() => match chunk {
                    Ok(chunk) if chunk.attempt == self.attempt => {
                        if let Some(next) = self.deliver(&chunk).await {
                            return next;
                        }
                        if chunk.ended {
                            // Its end is stored: storage has all of it.
                            return Next::CatchUp;
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => return Next::CatchUp,
                    Err(RecvError::Closed) => return Next::Stop,
                },
                event = events.recv() => match event {
                    // The job changed state: the attempt may have ended.
                    Ok(event) if event.job.id == self.job_id && event.kind != JobEventKind::Progress => return Next::CatchUp,
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => return Next::CatchUp,
                    Err(RecvError::Closed) => return Next::Stop,
                },
            }
        }
    }

    /// Sends a live chunk's new lines (and any marker); `Some` when the
    /// chunk skipped ahead of what was sent (storage has the lines between)
    /// or the stream ends.
    async fn deliver(&mut self, chunk: &OutputChunk) -> Option<Next> {
        let first = chunk.lines.iter().filter(|l| l.stream != OutputStream::Marker).map(|l| l.line).min();
        if first.is_some_and(|first| first > self.last + 1) {
            return Some(Next::CatchUp);
        }
        for line in &chunk.lines {
            let fresh = line.stream == OutputStream::Marker || line.line > self.last;
            if fresh && self.send(line).await.is_none() {
                return Some(Next::Stop);
            }
        }
        None
    }

    /// Sends every stored line after the last one sent; `Some(true)` when
    /// the attempt had ended before the read (so that was all of it).
    async fn catch_up(&mut self) -> Option<bool> {
        let ended = match self.jobs.attempt_ended(&self.scope, self.job_id, self.attempt).await {
            Ok(ended) => ended,
            Err(error) => return self.fail(error).await,
        };
        loop {
            let page = match self.jobs.output_page(&self.scope, self.job_id, self.attempt, self.last, REPLAY_PAGE).await
            {
                Ok(page) => page.lines,
                Err(error) => return self.fail(error).await,
            };
            if page.first().is_some_and(|first| first.line > self.last + 1) {
                // Lines were dropped since the last one sent: say so.
                match self.jobs.output_marker(self.job_id, self.attempt).await {
                    Ok(Some(marker)) if marker.line <= self.last => self.send(&marker).await?,
                    Ok(_) => {}
                    Err(error) => return self.fail(error).await,
                }
            }
            for line in &page {
                self.send(line).await?;
            }
            if (page.len() as u64) < REPLAY_PAGE {
                return Some(ended);
            }
        }
    }

    /// Sends one line unless the client left or the node is stopping.
    async fn send(&mut self, line: &OutputLine) -> Option<()> {
        if line.stream != OutputStream::Marker || line.line > self.last {
            self.last = self.last.max(line.line);
        }
        self.deliver_proto(line_to_proto(self.attempt, line)).await
    }

    async fn deliver_proto(&mut self, line: pb::JobLogLine) -> Option<()> {
        self.idle_since = Instant::now();
        tokio::select! {
            sent = self.tx.send(Ok(line)) => sent.ok(),
            _ = self.shutdown.cancelled() => None,
        }
    }

    /// Ends the stream with the error (a job deleted meanwhile: NOT_FOUND).
    async fn fail(&self, error: Error) -> Option<bool> {
        if error.is_storage() {
            tracing::error!(error = %error.detail(), job_id = %self.job_id, "cannot read a job's output for a watcher");
        }
        let _ = self.tx.send(Err(Status::from(error))).await;
        None
    }
}

//! SIGKILLs during a run of submissions, then the log replayed from 0 tells
//! every job's story in order.
//!
//! Three real `videojobs serve` processes share one fresh PostgreSQL
//! database and one fresh Redis prefix. A client submits jobs for three
//! users, round robin over the nodes that are up, while nodes are killed
//! with SIGKILL (no shutdown, nothing flushed) and started again at fixed
//! counts of acknowledged submissions. Short leases let the survivors take
//! over the dead nodes' jobs. Once every job is final, each user's log,
//! replayed with `WatchJobs(after_sequence = 0)`, must hold sequences
//! 1, 2, 3, … with no gap or duplicate, and for every job the client was
//! given (and every other job the user has: a submission whose answer was
//! lost with its node may still have been stored), a story that begins with
//! QUEUED, moves only along the state machine, and ends in the state
//! `GetJob` reports. A job's state and its event commit in one transaction,
//! so no kill can separate them.
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::*;
use pb::JobEventType as Kind;
use pb::JobState as State;
use tokio::task::JoinSet;
use tonic::transport::Channel;
use videojobs::proto::v1 as pb;

const USERS: [&str; 3] = ["ann", "bob", "cy"];
const SUBMISSIONS: usize = 150;
/// Submissions in flight at once, so a kill lands in the middle of some.
const IN_FLIGHT: usize = 6;
/// Every job that fails does so five times, its retries crossing kills.
const FAILING_EVERY: usize = 10;
const EVERYTHING_FINAL_WITHIN: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug)]
enum Step {
    Kill(usize),
    Start(usize),
}

/// After this many acknowledged submissions, this happens to that node (a
/// kill waits until the node runs a program, so it dies mid-job). One
/// node is up at least at every moment (only node 0 between 75 and 85);
/// nodes 1 and 2 are up at the end.
const SCHEDULE: [(usize, Step); 7] = [
    (25, Step::Kill(0)),
    (40, Step::Start(0)),
    (60, Step::Kill(1)),
    (75, Step::Kill(2)),
    (85, Step::Start(1)),
    (105, Step::Kill(0)),
    (120, Step::Start(2)),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkills_during_submissions_leave_a_log_that_tells_every_jobs_story_in_order() {
    let backend = Backend::scaled().await;
    let mut cluster = Cluster::start(backend.clone(), 3).await;

    let acknowledged = submit_all_while_killing(&mut cluster).await;
    let channel = cluster.any_live_channel();
    let jobs = wait_until_all_final(&channel, &acknowledged).await;

    let Backend::Scaled { database_url, .. } = &backend else { unreachable!() };
    let store = videojobs::store::Store::connect(database_url, 2).await.unwrap();
    let mut taken_over = 0;
    for user in USERS {
        // Where the log ends (the API has no call for it): a replay read up
        // to there has seen it all, with no idle timeout to guess.
        let last = store.event_bounds(&user.to_string()).await.unwrap().last;
        let log = replay_from_zero(&channel, user, last).await;
        let sequences: Vec<u64> = log.iter().map(|event| event.sequence).collect();
        assert_eq!(sequences, (1..=last).collect::<Vec<_>>(), "{user}'s log runs 1, 2, 3, … with no gap or duplicate");
        let mut stories: BTreeMap<&str, Vec<&pb::JobEvent>> = BTreeMap::new();
        for event in &log {
            stories.entry(event.job_id.as_str()).or_default().push(event);
        }
        let users_jobs = &jobs[user];
        for id in stories.keys() {
            assert!(
                users_jobs.iter().any(|job| job.id == *id),
                "{user}'s log names job {id}, which {user} does not have"
            );
        }
        let mut client = jobs_client(channel.clone(), user);
        for job in users_jobs {
            let now = client.get_job(pb::GetJobRequest { job_id: job.id.clone() }).await.unwrap().into_inner();
            let story = stories.get(job.id.as_str()).map(Vec::as_slice).unwrap_or_default();
            assert_tells_its_story(&now, story);
            taken_over += usize::from(story.iter().skip(1).any(|event| kind(event) == Kind::Queued));
        }
        let unacknowledged = users_jobs.iter().filter(|job| !acknowledged.iter().any(|(_, id)| *id == job.id)).count();
        eprintln!("{user}: {last} events, {} jobs ({unacknowledged} stored but never acknowledged)", users_jobs.len());
    }
    eprintln!("{taken_over} jobs were handed back from a dead node and run again");
    assert!(taken_over > 0, "the kills hit running jobs, and other nodes took them over");
    store.close().await.unwrap();
    cluster.kill_all().await;
}

/// Submits `SUBMISSIONS` jobs, `IN_FLIGHT` at a time, over the live nodes,
/// following `SCHEDULE`; returns `(user, job id)` of each acknowledged one.
/// A submission that fails (its node died under it) is not retried.
async fn submit_all_while_killing(cluster: &mut Cluster) -> Vec<(&'static str, String)> {
    let mut in_flight = JoinSet::new();
    let (mut sent, mut acknowledged, mut refused) = (0, Vec::new(), Vec::new());
    let mut schedule = SCHEDULE.iter().peekable();
    while sent < SUBMISSIONS || !in_flight.is_empty() {
        while in_flight.len() < IN_FLIGHT && sent < SUBMISSIONS {
            let user = USERS[sent % USERS.len()];
            let mut client = jobs_client(cluster.next_live_channel(), user);
            let request = submit(&video_id(sent));
            in_flight.spawn(async move {
                let answer = tokio::time::timeout(WAIT, client.submit_video(request)).await;
                (user, answer.expect("a submission answers, one way or another"))
            });
            sent += 1;
        }
        let (user, answer) = in_flight.join_next().await.expect("one in flight").unwrap();
        match answer {
            Ok(job) => acknowledged.push((user, job.into_inner().id)),
            Err(status) => refused.push(status),
        }
        while let Some((_, step)) = schedule.next_if(|(after, _)| acknowledged.len() >= *after) {
            cluster.apply(*step).await;
        }
    }
    assert!(schedule.next().is_none(), "every step ran; {} acknowledged, refused: {refused:?}", acknowledged.len());
    eprintln!("{} submissions acknowledged, {} refused while nodes died", acknowledged.len(), refused.len());
    acknowledged
}

/// Most jobs complete; every tenth fails every attempt.
fn video_id(n: usize) -> String {
    if n % FAILING_EVERY == FAILING_EVERY - 1 { format!("fail{n:07}") } else { format!("story{n:06}") }
}

/// Waits until every job of every user is final and every acknowledged one
/// is among them; returns each user's jobs.
async fn wait_until_all_final(
    channel: &Channel,
    acknowledged: &[(&str, String)],
) -> BTreeMap<&'static str, Vec<pb::Job>> {
    let deadline = tokio::time::Instant::now() + EVERYTHING_FINAL_WITHIN;
    loop {
        let mut all = BTreeMap::new();
        for user in USERS {
            let request = pb::ListJobsRequest { page_size: 1000, ..Default::default() };
            let page = jobs_client(channel.clone(), user).list_jobs(request).await.unwrap().into_inner();
            assert!(page.next_page_token.is_empty(), "one page holds them all");
            all.insert(user, page.jobs);
        }
        let has = |user: &str, id: &str| all[user].iter().any(|job: &pb::Job| job.id == id);
        if let Some((user, id)) = acknowledged.iter().find(|(user, id)| !has(user, id)) {
            panic!("acknowledged job {id} of {user} is not listed");
        }
        let unfinished: Vec<_> = all.values().flatten().filter(|job| !is_final(state(job))).collect();
        if unfinished.is_empty() {
            return all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} jobs not final after {EVERYTHING_FINAL_WITHIN:?}: {unfinished:#?}",
            unfinished.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `user`'s whole log, `WatchJobs` from sequence 0 up to `last`.
async fn replay_from_zero(channel: &Channel, user: &str, last: u64) -> Vec<pb::JobEvent> {
    let request = pb::WatchJobsRequest { after_sequence: Some(0), ..Default::default() };
    let mut stream = jobs_client(channel.clone(), user).watch_jobs(request).await.unwrap().into_inner();
    let mut log = Vec::new();
    let replayed = tokio::time::timeout(WAIT, async {
        while log.last().is_none_or(|event: &pb::JobEvent| event.sequence < last) {
            let event = stream.message().await.unwrap().expect("the stream stays open");
            if kind(&event) != Kind::Heartbeat {
                log.push(event);
            }
        }
    })
    .await;
    assert!(replayed.is_ok(), "{user}'s log up to {last} was not replayed within {WAIT:?}");
    log
}

/// The story of one job, from its events in log order: it begins QUEUED,
/// each event moves along the state machine (a claim from QUEUED or
/// RETRYING under the next attempt; progress, completion, failure, a retry
/// or a hand-back only from PROCESSING under the same attempt; a cancel
/// from any unfinished state), nothing follows a final state, and the last
/// event shows the job as `GetJob` does now.
fn assert_tells_its_story(now: &pb::Job, story: &[&pb::JobEvent]) {
    let told: Vec<_> = story.iter().map(|event| (kind(event), event.job.as_ref().map(|j| j.attempt))).collect();
    let context = format!("job {} ({}): its story is {told:?}", now.id, now.video_id);
    let first = story.first().unwrap_or_else(|| panic!("{context}: no event at all"));
    assert_eq!(kind(first), Kind::Queued, "{context}: the first event is QUEUED");
    let mut previous: Option<&pb::Job> = None;
    for event in story {
        let job = event.job.as_ref().unwrap_or_else(|| panic!("{context}: an event without its job"));
        assert_eq!(state(job), state_after(kind(event)), "{context}: a {:?} event shows the job so", kind(event));
        if let Some(before) = previous {
            assert!(!is_final(state(before)), "{context}: nothing follows a final state");
            let (from, attempt) = (state(before), before.attempt);
            let legal = match kind(event) {
                Kind::Processing => matches!(from, State::Queued | State::Retrying) && job.attempt == attempt + 1,
                Kind::Progress | Kind::Completed | Kind::Failed | Kind::Retrying | Kind::Queued => {
                    from == State::Processing && job.attempt == attempt
                }
                Kind::Cancelled => true,
                other => panic!("{context}: a {other:?} event in the log"),
            };
            assert!(legal, "{context}: {:?} cannot follow {from:?} at attempt {attempt}", kind(event));
        }
        previous = Some(job);
    }
    let last = previous.expect("a first event");
    assert!(is_final(state(now)), "{context}: GetJob shows {:?}", state(now));
    let shown = |job: &pb::Job| (state(job), job.attempt, job.error.clone(), job.note_ids.clone());
    assert_eq!(shown(last), shown(now), "{context}: the last event shows the job as GetJob does");
}

/// The state a job is in after an event of `kind`.
fn state_after(kind: Kind) -> State {
    match kind {
        Kind::Queued => State::Queued,
        Kind::Processing | Kind::Progress => State::Processing,
        Kind::Retrying => State::Retrying,
        Kind::Completed => State::Completed,
        Kind::Failed => State::Failed,
        Kind::Cancelled => State::Cancelled,
        other => panic!("a {other:?} event has no place in a job's story"),
    }
}

/// Nodes on one database and Redis prefix, each with a data directory that
/// outlives its processes, so a node starts again where it died.
struct Cluster {
    backend: Backend,
    slots: Vec<Slot>,
    turn: usize,
}

struct Slot {
    dir: tempfile::TempDir,
    up: Option<(NodeProcess, Channel)>,
}

impl Cluster {
    /// Starts `count` nodes one after another, each serving before the next.
    async fn start(backend: Backend, count: usize) -> Cluster {
        let slots = (0..count).map(|_| Slot { dir: tempfile::tempdir().unwrap(), up: None }).collect();
        let mut cluster = Cluster { backend, slots, turn: 0 };
        for index in 0..count {
            cluster.apply(Step::Start(index)).await;
        }
        cluster
    }

    async fn apply(&mut self, step: Step) {
        match step {
            Step::Kill(index) => {
                // Mid-job: one of its programs runs (in a scratch directory of its own).
                wait_for_processes(self.slots[index].dir.path(), 1).await;
                let (node, _) = self.slots[index].up.take().expect("the node to kill is up");
                node.sigkill().await;
                assert!(self.slots.iter().any(|slot| slot.up.is_some()), "one node is up at least");
            }
            Step::Start(index) => {
                assert!(self.slots[index].up.is_none(), "the node to start is down");
                let mut node = start_node(&self.backend, self.slots[index].dir.path());
                let channel = node.serving().await;
                self.slots[index].up = Some((node, channel));
            }
        }
    }

    /// The channel of the next node that is up, round robin.
    fn next_live_channel(&mut self) -> Channel {
        for _ in 0..self.slots.len() {
            self.turn = (self.turn + 1) % self.slots.len();
            if let Some((_, channel)) = &self.slots[self.turn].up {
                return channel.clone();
            }
        }
        panic!("no node is up");
    }

    fn any_live_channel(&self) -> Channel {
        self.slots.iter().find_map(|slot| slot.up.as_ref()).map(|(_, channel)| channel.clone()).expect("a node is up")
    }

    async fn kill_all(mut self) {
        for slot in &mut self.slots {
            if let Some((node, _)) = slot.up.take() {
                node.sigkill().await;
            }
        }
    }
}

/// A node with two workers on `backend`: leases of 1 s, reaped every 200 ms,
/// the queue reconciled with the database every 500 ms, five attempts a job.
fn start_node(backend: &Backend, data_dir: &Path) -> NodeProcess {
    let Backend::Scaled { database_url, redis_url, prefix } = backend else {
        panic!("the nodes share PostgreSQL and Redis");
    };
    NodeProcess::start(data_dir, |node| {
        node.args(["--concurrency", "2", "--job-retry-attempts", "5", "--job-timeout-ms", "20000"])
            .args(["--retry-base-delay-ms", "50", "--retry-max-delay-ms", "200", "--shutdown-grace-ms", "0"])
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis_url)
            .env("REDIS_PREFIX", prefix)
            .env("JOB_LEASE_MS", "1000")
            .env("VIDEOJOBS_REAP_INTERVAL_MS", "200")
            .env("VIDEOJOBS_RECONCILE_INTERVAL_MS", "500");
    })
}

//! One conformance suite for every `JobQueue`: each case runs against the
//! in-process `MemoryQueue` (module `memory`) and against `RedisQueue`
//! (module `redis`) at `REDIS_URL` (default `redis://127.0.0.1:6379`), each
//! test under a fresh key prefix so that tests run in parallel.
//!
//! A few cases must know that a pop is already blocked before they push; no
//! queue reports that, so they give it [`SETTLE`] and then check that it is
//! still waiting.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use fred::interfaces::{ClientLike, KeysInterface};
use fred::types::{ClusterHash, CustomCommand};
use tokio::time::{Instant, timeout};
use uuid::Uuid;
use videojobs::queue::{JobQueue, MemoryQueue, Place, QueueError, QueueItem, RedisQueue, hash_tag};

const CAPACITY: usize = 1000;
/// Time for a spawned pop to reach its blocking wait.
const SETTLE: Duration = Duration::from_millis(200);
/// Far beyond any expected wait: only a broken queue makes a test wait this long.
const PATIENCE: Duration = Duration::from_secs(5);

/// The group of the cases that use one.
const SOLO: &str = "solo";

fn ready(priority: i32) -> QueueItem {
    ready_in(SOLO, priority)
}

fn ready_in(group: &str, priority: i32) -> QueueItem {
    QueueItem { job_id: Uuid::now_v7(), group: group.into(), priority, ready_at: None }
}

fn delayed_until(ready_at: Instant) -> QueueItem {
    QueueItem { job_id: Uuid::now_v7(), group: SOLO.into(), priority: 0, ready_at: Some(ready_at) }
}

async fn pop(queue: &dyn JobQueue) -> Uuid {
    timeout(PATIENCE, queue.pop()).await.expect("a job was waiting, but the pop did not return")
}

async fn pop_all(queue: &dyn JobQueue, count: usize) -> Vec<Uuid> {
    let mut popped = Vec::with_capacity(count);
    for _ in 0..count {
        popped.push(pop(queue).await);
    }
    popped
}

/// A pop running in a task, already blocked on the (empty) queue.
async fn blocked_pop(queue: &Arc<dyn JobQueue>) -> tokio::task::JoinHandle<Uuid> {
    let popper = tokio::spawn({
        let queue = Arc::clone(queue);
        async move { queue.pop().await }
    });
    tokio::time::sleep(SETTLE).await;
    assert!(!popper.is_finished(), "a pop on an empty queue returned");
    popper
}

async fn pops_in_push_order_within_a_priority(queue: Arc<dyn JobQueue>) {
    let mut items: Vec<QueueItem> = (0..50).map(|_| ready(7)).collect();
    items.reverse(); // v7 ids sort by creation: reversed, a sort by id would show
    for item in &items {
        queue.push(item.clone()).await.unwrap();
    }
    let pushed: Vec<Uuid> = items.iter().map(|item| item.job_id).collect();
    assert_eq!(pop_all(&*queue, pushed.len()).await, pushed);
}

async fn pops_higher_priority_first_then_in_push_order(queue: Arc<dyn JobQueue>) {
    let mut items: Vec<QueueItem> = [0, 10, -5, 100, -100, 10, 3, 0, 100, -5].into_iter().map(ready).collect();
    items.reverse(); // v7 ids sort by creation: reversed, a sort by id would show
    for item in &items {
        queue.push(item.clone()).await.unwrap();
    }
    let mut expected = items.clone();
    expected.sort_by_key(|item| -item.priority); // stable: push order within a priority
    let expected: Vec<Uuid> = expected.iter().map(|item| item.job_id).collect();
    assert_eq!(pop_all(&*queue, items.len()).await, expected);
}

async fn holds_a_delayed_item_until_its_time(queue: Arc<dyn JobQueue>) {
    let start = Instant::now();
    let later = delayed_until(start + Duration::from_millis(400));
    let now = ready(-100);
    queue.push(later.clone()).await.unwrap();
    queue.push(now.clone()).await.unwrap();

    assert_eq!(pop(&*queue).await, now.job_id, "the ready item goes first, whatever its priority");
    assert_eq!(queue.waiting().await.unwrap(), 1, "the delayed item still waits");
    assert_eq!(pop(&*queue).await, later.job_id);
    let popped_after = start.elapsed();
    assert!(popped_after >= Duration::from_millis(200), "popped after {popped_after:?}, before its time");
    assert!(popped_after <= Duration::from_millis(400 + 1500), "popped {popped_after:?} after the push");
    assert_eq!(queue.waiting().await.unwrap(), 0);
}

async fn wakes_a_blocked_pop_when_an_item_is_pushed(queue: Arc<dyn JobQueue>) {
    let popper = blocked_pop(&queue).await;
    let item = ready(0);
    let pushed_at = Instant::now();
    queue.push(item.clone()).await.unwrap();
    let popped = timeout(PATIENCE, popper).await.expect("the blocked pop never woke").unwrap();
    assert_eq!(popped, item.job_id);
    assert!(pushed_at.elapsed() < Duration::from_secs(1), "woke {:?} after the push", pushed_at.elapsed());
}

async fn delivers_a_delayed_item_pushed_while_a_pop_is_blocked(queue: Arc<dyn JobQueue>) {
    let popper = blocked_pop(&queue).await;
    let pushed_at = Instant::now();
    let item = delayed_until(pushed_at + Duration::from_millis(300));
    queue.push(item.clone()).await.unwrap();
    let popped = timeout(PATIENCE, popper).await.expect("the blocked pop never got the delayed item").unwrap();
    assert_eq!(popped, item.job_id);
    let waited = pushed_at.elapsed();
    assert!(waited >= Duration::from_millis(200), "popped {waited:?} after the push, before its time");
    assert!(waited <= Duration::from_millis(300 + 1500), "popped {waited:?} after the push");
}

/// Run with a capacity of 3.
async fn refuses_a_push_when_full_counting_delayed_items(queue: Arc<dyn JobQueue>) {
    let first = ready(0);
    queue.push(first.clone()).await.unwrap();
    queue.push(ready(0)).await.unwrap();
    queue.push(delayed_until(Instant::now() + Duration::from_secs(60))).await.unwrap();

    assert_eq!(queue.push(ready(0)).await, Err(QueueError::Full(3)));
    assert_eq!(queue.restore(&[ready(0)]).await, Err(QueueError::Full(3)));
    assert_eq!(queue.waiting().await.unwrap(), 3);

    assert_eq!(pop(&*queue).await, first.job_id);
    queue.push(ready(0)).await.expect("a pop makes room again");
}

async fn restore_adds_only_missing_items_and_twice_changes_nothing(queue: Arc<dyn JobQueue>) {
    let held_ready = ready(0);
    let held_delayed = delayed_until(Instant::now() + Duration::from_millis(100));
    queue.push(held_ready.clone()).await.unwrap();
    queue.push(held_delayed.clone()).await.unwrap();
    let missing = [ready(5), delayed_until(Instant::now() + Duration::from_millis(100))];
    // As the database would list them: every waiting job, held or not.
    let listed = [held_ready, QueueItem { ready_at: None, ..held_delayed }, missing[0].clone(), missing[1].clone()];

    assert_eq!(queue.restore(&listed).await.unwrap(), 2);
    assert_eq!(queue.restore(&listed).await.unwrap(), 0);
    assert_eq!(queue.waiting().await.unwrap(), 4);

    let popped = pop_all(&*queue, 4).await;
    let expected: HashSet<Uuid> = listed.iter().map(|item| item.job_id).collect();
    assert_eq!(popped.iter().copied().collect::<HashSet<_>>(), expected, "each item comes out once: {popped:?}");
    assert_eq!(queue.waiting().await.unwrap(), 0);
}

/// The reconciler's restore: a job a pop took moments ago is being claimed
/// (the database still says it waits), so it stays out; once the grace has
/// passed it is put back (its claim never came). A plain restore, as the
/// core queues a job it hands back, adds it whenever it was taken.
async fn a_restore_leaves_out_what_a_pop_took_within_the_grace(queue: Arc<dyn JobQueue>) {
    let (claiming, handed_back, never_taken) = (ready(0), ready(0), ready(0));
    queue.push(claiming.clone()).await.unwrap();
    queue.push(handed_back.clone()).await.unwrap();
    assert_eq!(pop_all(&*queue, 2).await, [claiming.job_id, handed_back.job_id]);

    let listed = [claiming.clone(), never_taken.clone()];
    assert_eq!(queue.restore_untaken(&listed, Duration::from_secs(10)).await.unwrap(), 1, "only the one never taken");
    assert_eq!(queue.restore(std::slice::from_ref(&handed_back)).await.unwrap(), 1, "a plain restore adds it");
    assert_eq!(queue.waiting().await.unwrap(), 2);

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(queue.restore_untaken(&listed, Duration::from_millis(200)).await.unwrap(), 1, "its claim never came");
    let popped: HashSet<Uuid> = pop_all(&*queue, 3).await.into_iter().collect();
    let expected: HashSet<Uuid> = [claiming.job_id, handed_back.job_id, never_taken.job_id].into();
    assert_eq!(popped, expected);
}

/// More items than one restore script call takes (500).
async fn restore_of_many_items_adds_each_missing_one_once(queue: Arc<dyn JobQueue>) {
    let items: Vec<QueueItem> = (0..1200).map(|n| ready(n % 5)).collect();
    for item in &items[..100] {
        queue.push(item.clone()).await.unwrap();
    }
    assert_eq!(queue.restore(&items).await.unwrap(), 1100);
    assert_eq!(queue.restore(&items).await.unwrap(), 0);
    assert_eq!(queue.waiting().await.unwrap(), 1200);
}

async fn concurrent_consumers_take_each_item_exactly_once(queue: Arc<dyn JobQueue>) {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let consumers: Vec<_> = (0..8)
        .map(|_| {
            let (queue, sender) = (Arc::clone(&queue), sender.clone());
            tokio::spawn(async move {
                loop {
                    if sender.send(queue.pop().await).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    let items: Vec<QueueItem> = (0..300).map(|n| ready(n % 3)).collect();
    for item in &items {
        queue.push(item.clone()).await.unwrap();
    }

    let mut taken = Vec::with_capacity(items.len());
    while taken.len() < items.len() {
        taken.push(timeout(PATIENCE, receiver.recv()).await.expect("consumers stalled").unwrap());
    }
    let distinct: HashSet<Uuid> = taken.iter().copied().collect();
    assert_eq!(distinct.len(), taken.len(), "an item was taken twice");
    assert_eq!(distinct, items.iter().map(|item| item.job_id).collect());
    assert_eq!(queue.waiting().await.unwrap(), 0);
    assert!(timeout(SETTLE, receiver.recv()).await.is_err(), "a consumer took an item nobody pushed");
    consumers.iter().for_each(|consumer| consumer.abort());
}

async fn a_cancelled_pop_takes_nothing(queue: Arc<dyn JobQueue>) {
    let popper = blocked_pop(&queue).await;
    popper.abort();
    assert!(popper.await.unwrap_err().is_cancelled());

    let item = ready(0);
    queue.push(item.clone()).await.unwrap();
    assert_eq!(pop(&*queue).await, item.job_id, "the job went to the cancelled pop");
    assert_eq!(queue.waiting().await.unwrap(), 0);
}

/// User A's batch of 200 does not hold back user B's one job: round-robin
/// takes B's second.
async fn a_big_batch_does_not_hold_back_another_groups_job(queue: Arc<dyn JobQueue>) {
    let batch: Vec<QueueItem> = (0..200).map(|_| ready_in("alice", 0)).collect();
    for item in &batch {
        queue.push(item.clone()).await.unwrap();
    }
    let single = ready_in("bob", 0);
    queue.push(single.clone()).await.unwrap();

    let popped = pop_all(&*queue, batch.len() + 1).await;
    let at = popped.iter().position(|id| *id == single.job_id).expect("bob's job came out");
    assert_eq!(at, 1, "bob's job came out {}th", at + 1);
    let alice: Vec<Uuid> = popped.iter().copied().filter(|id| *id != single.job_id).collect();
    assert_eq!(alice, batch.iter().map(|item| item.job_id).collect::<Vec<_>>(), "alice's in push order");
    assert_eq!(queue.waiting().await.unwrap(), 0);
}

/// Three groups with jobs take turns: A, B, C, A, B, C, … and the group that
/// runs out drops out of the turn.
async fn groups_take_turns_while_each_has_jobs(queue: Arc<dyn JobQueue>) {
    let counts = [("a", 5), ("b", 4), ("c", 3)];
    let mut by_group: Vec<Vec<QueueItem>> = Vec::new();
    for (group, count) in counts {
        let items: Vec<QueueItem> = (0..count).map(|_| ready_in(group, 0)).collect();
        for item in &items {
            queue.push(item.clone()).await.unwrap();
        }
        by_group.push(items);
    }
    let mut expected = Vec::new();
    for turn in 0..5 {
        for items in &by_group {
            if let Some(item) = items.get(turn) {
                expected.push(item.job_id);
            }
        }
    }
    assert_eq!(pop_all(&*queue, expected.len()).await, expected);
}

/// Within a group, higher priority first and push order within a priority,
/// while other groups take their turns in between.
async fn priorities_hold_within_a_group_among_others(queue: Arc<dyn JobQueue>) {
    let a: Vec<QueueItem> = [0, 5, 0, 10, 5].into_iter().map(|priority| ready_in("a", priority)).collect();
    let b: Vec<QueueItem> = [-3, 7, 7].into_iter().map(|priority| ready_in("b", priority)).collect();
    // Interleaved pushes: a0 b0 a1 b1 a2 b2 a3 a4.
    for (index, item) in a.iter().enumerate() {
        queue.push(item.clone()).await.unwrap();
        if let Some(item) = b.get(index) {
            queue.push(item.clone()).await.unwrap();
        }
    }
    let best_first = |items: &[QueueItem]| {
        let mut sorted = items.to_vec();
        sorted.sort_by_key(|item| -item.priority); // stable: push order within a priority
        sorted.into_iter().map(|item| item.job_id).collect::<Vec<_>>()
    };
    let (a_order, b_order) = (best_first(&a), best_first(&b));
    let expected = vec![a_order[0], b_order[0], a_order[1], b_order[1], a_order[2], b_order[2], a_order[3], a_order[4]];
    assert_eq!(pop_all(&*queue, expected.len()).await, expected);
}

/// A delayed job joins its group's turn once due, and a group that emptied
/// and gets a job again joins at the back.
async fn a_due_delayed_job_joins_its_groups_turn(queue: Arc<dyn JobQueue>) {
    let later = QueueItem { group: "b".into(), ..delayed_until(Instant::now() + Duration::from_millis(300)) };
    queue.push(later.clone()).await.unwrap();
    let a: Vec<QueueItem> = (0..4).map(|_| ready_in("a", 0)).collect();
    for item in &a {
        queue.push(item.clone()).await.unwrap();
    }
    assert_eq!(pop(&*queue).await, a[0].job_id);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let rest = pop_all(&*queue, 4).await;
    assert_eq!(rest, vec![a[1].job_id, later.job_id, a[2].job_id, a[3].job_id]);
}

/// A pause's parking: withdrawn ids leave the queue, ready or delayed (and
/// a group left with none leaves the turn); replaced ones come back in the
/// order given, their group at the back of the turn; a replace moves a
/// delayed id it holds to ready.
async fn withdrawn_jobs_leave_and_replaced_ones_rejoin_at_the_back(queue: Arc<dyn JobQueue>) {
    let a: Vec<QueueItem> = (0..3).map(|_| ready_in("a", 0)).collect();
    let a_later = QueueItem { group: "a".into(), ..delayed_until(Instant::now() + Duration::from_secs(60)) };
    let b = ready_in("b", 0);
    for item in a.iter().chain([&a_later, &b]) {
        queue.push(item.clone()).await.unwrap();
    }
    let withdrawn: Vec<Uuid> = a.iter().chain([&a_later]).map(|item| item.job_id).collect();
    assert_eq!(queue.withdraw(&withdrawn).await.unwrap(), 4);
    assert_eq!(queue.withdraw(&withdrawn).await.unwrap(), 0, "withdrawing twice changes nothing");
    assert_eq!(queue.waiting().await.unwrap(), 1);
    let c = ready_in("c", 0);
    queue.push(c.clone()).await.unwrap();
    queue.replace(&[a[1].clone(), a[0].clone()]).await.unwrap();
    assert_eq!(pop_all(&*queue, 4).await, vec![b.job_id, c.job_id, a[1].job_id, a[0].job_id]);

    let d = QueueItem { group: "d".into(), ..delayed_until(Instant::now() + Duration::from_secs(60)) };
    queue.push(d.clone()).await.unwrap();
    queue.replace(&[QueueItem { ready_at: None, ..d.clone() }]).await.unwrap();
    assert_eq!(pop(&*queue).await, d.job_id);
    assert_eq!(queue.waiting().await.unwrap(), 0);
}

/// Every job's place in line is the number of jobs the real pops take
/// before it, across groups of different sizes and priorities, asked about
/// one by one (`places`) and per group (`lines`); a delayed job says when it
/// is due and an unknown one is absent.
async fn places_in_line_match_the_order_pops_take(queue: Arc<dyn JobQueue>) {
    let plan = [("a", vec![0, 5, 0, 10]), ("b", vec![0]), ("c", vec![-3, 7, 7, 0, 0, 0]), ("d", vec![1, 1])];
    let mut items = Vec::new();
    for round in 0..6 {
        for (group, priorities) in &plan {
            if let Some(&priority) = priorities.get(round) {
                let item = ready_in(group, priority);
                queue.push(item.clone()).await.unwrap();
                items.push(item);
            }
        }
    }
    let due = Instant::now() + Duration::from_secs(600);
    let later = QueueItem { group: "b".into(), ..delayed_until(due) };
    queue.push(later.clone()).await.unwrap();
    let stranger = (Uuid::now_v7(), "a".to_string());

    let mut asked: Vec<(Uuid, String)> = items.iter().map(|item| (item.job_id, item.group.clone())).collect();
    asked.push((later.job_id, "b".into()));
    asked.push(stranger);
    let places = queue.places(&asked).await.unwrap();
    let groups: Vec<String> = plan.iter().map(|(group, _)| group.to_string()).chain(["nobody".into()]).collect();
    let lines = queue.lines(&groups, 3).await.unwrap();

    let popped = pop_all(&*queue, items.len()).await;
    for (item, place) in items.iter().zip(&places) {
        let taken_at = popped.iter().position(|id| *id == item.job_id).unwrap() as u64;
        assert_eq!(*place, Place::Ready { ahead: taken_at }, "the place of a job of group {}", item.group);
    }
    let Place::Delayed { until } = places[items.len()] else { panic!("the delayed job: {:?}", places[items.len()]) };
    let in_ten_minutes = chrono::Utc::now() + chrono::Duration::seconds(600);
    assert!((until - in_ten_minutes).num_seconds().abs() <= 5, "due {until}, expected about {in_ten_minutes}");
    assert_eq!(places[items.len() + 1], Place::Absent);
    assert_eq!(lines.len(), 3 + 1 + 3 + 2, "each group's first three: {lines:?}");
    for (group, id, ahead) in &lines {
        let taken_at = popped.iter().position(|popped| popped == id).unwrap() as u64;
        assert_eq!(*ahead, taken_at, "the line of group {group}");
    }
}

/// A Redis queue under a prefix of its own, deleted by `clean_up`.
struct RedisFixture {
    queue: RedisQueue,
}

impl RedisFixture {
    async fn new(capacity: usize) -> RedisFixture {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let prefix = format!("test-{}", Uuid::now_v7());
        // Fewer blocking clients than the 8 consumers: pops share them.
        let queue = RedisQueue::connect(&url, &prefix, capacity, 4)
            .await
            .unwrap_or_else(|error| panic!("{error} (is Redis running? REDIS_URL sets where)"));
        RedisFixture { queue }
    }

    /// Every key the queue stores now, sorted.
    async fn stored_keys(&self) -> Vec<String> {
        let keys = self.queue.keys();
        let slot = fred::util::redis_keyslot(keys.tag().as_bytes());
        let list = CustomCommand::new_static("KEYS", ClusterHash::Custom(slot), false);
        let mut stored: Vec<String> = self.queue.client().custom(list, vec![format!("{}*", keys.tag())]).await.unwrap();
        stored.sort();
        stored
    }

    async fn clean_up(self) {
        let mut keys = self.queue.keys().data_keys();
        keys.extend(self.stored_keys().await);
        let _: () = self.queue.client().del(keys).await.expect("delete the test keys");
        self.queue.close().await;
    }
}

macro_rules! conformance {
    ($($case:ident(capacity = $capacity:expr);)*) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(Arc::new(MemoryQueue::new($capacity))).await;
                }
            )*
        }

        mod redis {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let fixture = RedisFixture::new($capacity).await;
                    super::$case(Arc::new(fixture.queue.clone())).await;
                    fixture.clean_up().await;
                }
            )*
        }
    };
}

conformance! {
    pops_in_push_order_within_a_priority(capacity = CAPACITY);
    pops_higher_priority_first_then_in_push_order(capacity = CAPACITY);
    holds_a_delayed_item_until_its_time(capacity = CAPACITY);
    wakes_a_blocked_pop_when_an_item_is_pushed(capacity = CAPACITY);
    delivers_a_delayed_item_pushed_while_a_pop_is_blocked(capacity = CAPACITY);
    refuses_a_push_when_full_counting_delayed_items(capacity = 3);
    restore_adds_only_missing_items_and_twice_changes_nothing(capacity = CAPACITY);
    restore_of_many_items_adds_each_missing_one_once(capacity = 2000);
    a_restore_leaves_out_what_a_pop_took_within_the_grace(capacity = CAPACITY);
    concurrent_consumers_take_each_item_exactly_once(capacity = CAPACITY);
    a_cancelled_pop_takes_nothing(capacity = CAPACITY);
    a_big_batch_does_not_hold_back_another_groups_job(capacity = CAPACITY);
    groups_take_turns_while_each_has_jobs(capacity = CAPACITY);
    priorities_hold_within_a_group_among_others(capacity = CAPACITY);
    a_due_delayed_job_joins_its_groups_turn(capacity = CAPACITY);
    withdrawn_jobs_leave_and_replaced_ones_rejoin_at_the_back(capacity = CAPACITY);
    places_in_line_match_the_order_pops_take(capacity = CAPACITY);
}

#[tokio::test]
async fn redis_keys_all_share_the_prefix_hash_tag() {
    let fixture = RedisFixture::new(CAPACITY).await;
    let (queue, keys) = (&fixture.queue, fixture.queue.keys().clone());
    let odd_user = "{odd} user:*?\n";
    queue.push(ready(0)).await.unwrap();
    queue.push(ready(0)).await.unwrap();
    queue.push(ready_in(odd_user, 0)).await.unwrap();
    queue.push(delayed_until(Instant::now() + Duration::from_secs(60))).await.unwrap();
    pop(queue).await; // runs the take script

    let stored = fixture.stored_keys().await;
    let mut expected = keys.data_keys();
    expected.extend([keys.group(SOLO), keys.group(odd_user)]);
    expected.sort();
    assert_eq!(stored, expected, "the queue keeps exactly the keys Keys names");

    let slot = fred::util::redis_keyslot(keys.tag().as_bytes());
    let prefix = &keys.tag()[1..keys.tag().len() - 1];
    for name in expected.iter().chain([&keys.events(), &keys.cancels()]) {
        assert_eq!(hash_tag(name), Some(prefix), "{name}");
        assert_eq!(fred::util::redis_keyslot(name.as_bytes()), slot, "{name}");
    }
    let pattern = CustomCommand::new_static("KEYS", ClusterHash::Custom(slot), false);
    let mut groups: Vec<String> = queue.client().custom(pattern, vec![keys.group_pattern()]).await.unwrap();
    groups.sort();
    let mut expected_groups = vec![keys.group(SOLO), keys.group(odd_user)];
    expected_groups.sort();
    assert_eq!(groups, expected_groups);
    fixture.clean_up().await;
}

/// As if a popper died between two steps, or Redis lost a key: the ring
/// lacks a group that has ready jobs, and the reconciler's `restore` (with
/// every waiting job, all of them held) gives the group its turn back.
#[tokio::test]
async fn redis_restore_gives_back_a_lost_turn() {
    let fixture = RedisFixture::new(CAPACITY).await;
    let queue = &fixture.queue;
    let items: Vec<QueueItem> = (0..3).map(|_| ready_in("alice", 0)).collect();
    for item in &items {
        queue.push(item.clone()).await.unwrap();
    }
    let _: () = queue.client().del(queue.keys().groups()).await.unwrap();
    assert!(timeout(SETTLE, queue.pop()).await.is_err(), "the ring is gone: nothing is taken");

    assert_eq!(queue.restore(&items).await.unwrap(), 0, "every job is held");
    assert_eq!(pop_all(queue, 3).await, items.iter().map(|item| item.job_id).collect::<Vec<_>>());
    assert_eq!(queue.waiting().await.unwrap(), 0);
    fixture.clean_up().await;
}

#[tokio::test]
async fn redis_connect_failure_names_the_url_without_its_password() {
    let error = RedisQueue::connect("redis://app:hunter2@127.0.0.1:1", "test", CAPACITY, 1)
        .await
        .err()
        .expect("nothing listens on port 1");
    let QueueError::Unavailable(message) = error else { panic!("{error:?}") };
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

/// As after a Redis restart or failover: the scripts are gone from its cache.
#[tokio::test]
async fn redis_queue_keeps_working_after_redis_forgets_its_scripts() {
    let fixture = RedisFixture::new(CAPACITY).await;
    let flush = CustomCommand::new_static("SCRIPT", ClusterHash::Random, false);
    let _: () = fixture.queue.client().custom(flush, vec!["FLUSH"]).await.unwrap();
    let item = ready(0);
    fixture.queue.push(item.clone()).await.unwrap();
    assert_eq!(pop(&fixture.queue).await, item.job_id);
    fixture.clean_up().await;
}

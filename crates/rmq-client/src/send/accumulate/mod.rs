//! Automatic batching (Java: `ProduceAccumulator`, `DefaultMQProducer.sendByAccumulator` and
//! `canBatch`): single messages of one topic, queue, `WAIT` and tag travel together as one
//! batch request (code 320), and each still gets its own result or error.
//!
//! A message that can be batched (see [`AutoBatch`]) joins its key's *lane*. The lane sends at
//! once while fewer of its requests are out than its depth (two; one for a fixed queue), so a
//! lone message is never delayed; otherwise messages gather into one held batch, which leaves
//! when one of the lane's requests is answered, when it reaches `batch_bytes`, or when its
//! hold time (or half the time left to its most urgent message) comes, whichever is first.
//! Batching thus follows load: sparse traffic goes one message at a time, heavy traffic in
//! batches as large as the round trip lets them grow. Held messages keep their room in
//! flight (the producer's back-pressure budget), so the budget bounds held bytes too; `flush`
//! and `shutdown` send what is held.
//!
//! Batches of a lane reach the broker in the order they left it (see [`Gate`]): for a fixed
//! queue, the next leaves once the last is answered, so one queue's messages keep their
//! order as ordered messaging needs, even when the broker handles requests concurrently.
//!
//! A batch is one send to the broker, made as its messages' senders asked (sync sends batch
//! apart from async ones, with their own retry rules): it is retried as a whole (on another
//! broker, for a batch with no fixed queue) within the earliest deadline of its messages.
//! Its answer is split as Java splits it: message *i* gets its own id, the *i*-th offset
//! message id and the batch's queue offset + *i*.

use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::Mutex;
use rmq_common::namespace::RETRY_PREFIX;
use rmq_common::properties::keys;
use rmq_common::{ByteString, Message, MessageQueue, batch};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::Ready;
use super::budget::Grant;
use super::driver::{Outcome, Sink, launch};
use super::payload::{Failure, Unsent};
use super::prepare::Outgoing;
use crate::hook::SendMode;
use crate::producer::ProducerInner;
use crate::{Error, Result, SendResult};

/// Requests of one lane out at once before its messages start gathering into a batch: two,
/// so the next batch is built while the broker stores the last. A fixed queue's lane has
/// one: its next batch waits for the last one's answer anyway (see [`Gate`]).
const LANE_DEPTH: usize = 2;

/// Java's `batchMaxDelayMs` range.
const HOLD_RANGE: (Duration, Duration) = (Duration::from_millis(1), Duration::from_secs(30));
/// Java's `batchMaxBytes` upper bound.
const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;

/// Automatic batching settings (Java 5.x: `autoBatch`, `batchMaxDelayMs`, `batchMaxBytes`).
/// Turned on with [`ProducerBuilder::auto_batch`](crate::ProducerBuilder::auto_batch); Java's
/// `totalBatchMaxBytes` is the producer's byte budget in flight
/// ([`max_async_in_flight_bytes`](crate::ProducerBuilder::max_async_in_flight_bytes)), which
/// held messages count against.
///
/// Batched: single messages sent with `send`, `send_to_queue`, `send_with_selector` (and
/// their `.submit()` forms), `send_async` and `send_with_callback`, without a `.timeout(..)`
/// of their own (as Java batches only the overloads without one: the messages of a batch
/// share one deadline). Sync sends batch apart from async ones and are retried as sync sends
/// are; a batched sync send holds room in flight as an async send does (it waits for it
/// within its deadline even with `async_fail_fast`), so it counts in
/// [`in_flight`](crate::Producer::in_flight) and `flush` waits for it. Sent alone, as without
/// auto-batching: oneway sends, explicit batches, sends with their own timeout, delayed and
/// timer messages, `%RETRY%` topics, transactional half messages (`PGROUP`), requests
/// (`CORRELATION_ID`), bodies large enough to be compressed (rmq: they keep their
/// compression), and messages larger than `batch_bytes`.
///
/// Messages of one key (topic, queue, `WAIT`, tags) reach the broker in the order they were
/// sent; to one fixed queue (`send_to_queue`, selectors), a batch leaves once the last one
/// is answered, so ordered messages keep their order.
///
/// ```
/// use std::time::Duration;
/// use rmq_client::{AutoBatch, Producer};
///
/// let producer = Producer::builder("clicks")
///     .name_server("127.0.0.1:9876")
///     .auto_batch(AutoBatch::default().with_hold(Duration::from_millis(5)))
///     .build()
///     .unwrap();
/// assert_eq!(producer.config().auto_batch.unwrap().batch_bytes, 32 * 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AutoBatch {
    /// Java `batchMaxDelayMs`: the longest a message waits for others before its batch
    /// leaves (10 ms; 1 ms to 30 s). A message waits only while its lane has requests out.
    pub hold: Duration,
    /// Java `batchMaxBytes`: a batch leaves once its encoded size reaches this (32 KiB; 1 B
    /// to 2 MiB, and at most `max_message_size`).
    pub batch_bytes: usize,
}

impl Default for AutoBatch {
    fn default() -> Self {
        AutoBatch {
            hold: Duration::from_millis(10),
            batch_bytes: 32 * 1024,
        }
    }
}

impl AutoBatch {
    /// The same settings with `hold` as the longest wait.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let batching = rmq_client::AutoBatch::default().with_hold(Duration::from_millis(2));
    /// assert_eq!(batching.hold, Duration::from_millis(2));
    /// ```
    pub fn with_hold(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    /// The same settings with `bytes` as the batch size that sends at once.
    ///
    /// ```
    /// let batching = rmq_client::AutoBatch::default().with_batch_bytes(64 * 1024);
    /// assert_eq!(batching.batch_bytes, 65536);
    /// ```
    pub fn with_batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes;
        self
    }

    /// Checks the ranges Java allows, and that a batch fits `max_message_size`.
    pub(crate) fn validate(&self, max_message_size: usize) -> Result<()> {
        if self.hold < HOLD_RANGE.0 || self.hold > HOLD_RANGE.1 {
            return Err(Error::Config(format!(
                "auto_batch hold {:?} is out of range [1ms, 30s]",
                self.hold
            )));
        }
        if self.batch_bytes == 0 || self.batch_bytes > MAX_BATCH_BYTES {
            return Err(Error::Config(format!(
                "auto_batch batch_bytes {} is out of range [1, {MAX_BATCH_BYTES}]",
                self.batch_bytes
            )));
        }
        if self.batch_bytes > max_message_size {
            return Err(Error::Config(format!(
                "auto_batch batch_bytes {} is larger than max_message_size {max_message_size}",
                self.batch_bytes
            )));
        }
        Ok(())
    }
}

/// What messages travel together: Java's `AggregateKey` (topic, explicit queue, `WAIT`,
/// tags).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// The topic on the wire (namespace included).
    topic: ByteString,
    queue: Option<MessageQueue>,
    wait: bool,
    tags: Option<ByteString>,
    /// Java keeps sync and async batches apart too: each is sent as its senders asked.
    mode: SendMode,
}

impl Key {
    /// Requests out before messages gather.
    fn depth(&self) -> usize {
        if self.queue.is_some() { 1 } else { LANE_DEPTH }
    }
}

/// One message waiting in a held batch or riding in a sent one: where its outcome goes and
/// the room in flight it holds until then.
struct Member {
    /// `None` once delivered.
    sink: Option<Sink>,
    permit: Option<Grant>,
    msg_id: ByteString,
}

impl Member {
    /// Gives its room back, then the outcome: a callback that sends again finds the room.
    fn deliver(mut self, outcome: Outcome, inner: &Arc<ProducerInner>) {
        self.permit = None;
        if let Some(sink) = self.sink.take() {
            sink.deliver(outcome, inner);
        }
    }
}

impl Drop for Member {
    /// Dropped undelivered (its producer and runtime gone while it was held), a callback
    /// still hears once, with [`Error::Shutdown`]; a [`SendFuture`](crate::SendFuture)
    /// learns it from its closed channel.
    fn drop(&mut self) {
        if let Some(Sink::Callback(callback)) = self.sink.take() {
            super::attempt::contain_callback("a send callback", || {
                callback(Err(Failure {
                    error: Error::Shutdown,
                    unsent: Unsent::Batch(Vec::new()),
                }));
            });
        }
    }
}

/// A batch being gathered.
struct Held {
    /// Names this batch for its timer: a timer finding another batch does nothing.
    id: u64,
    outs: Vec<Outgoing>,
    members: Vec<Member>,
    /// Encoded entry bytes so far.
    bytes: usize,
    started: Instant,
    deadline: Instant,
    /// When it leaves at the latest: the earliest its members may leave by.
    leave_at: Instant,
    /// The timer that sends it then, stopped when it leaves earlier.
    timer: Option<AbortHandle>,
}

/// A key's state: its requests out, the batch it gathers meanwhile, and the batches taken to
/// leave, which leave in the order they were taken (so one key's messages keep their order).
#[derive(Default)]
struct Lane {
    sending: usize,
    held: Option<Held>,
    outbox: VecDeque<Leaving>,
    /// Someone is sending the outbox's batches: others only add to it.
    draining: bool,
    /// The last batch sent still holds its [`Gate`]: the next wait, so none overtakes it.
    gated: bool,
}

impl Lane {
    /// Queues `leaving` to be sent, as a request of the lane; `true` if the caller is to send
    /// the outbox (nobody is).
    fn take_off(&mut self, leaving: Leaving) -> bool {
        self.sending += 1;
        self.outbox.push_back(leaving);
        !std::mem::replace(&mut self.draining, true)
    }

    fn idle(&self) -> bool {
        self.sending == 0
            && self.held.is_none()
            && self.outbox.is_empty()
            && !self.draining
            && !self.gated
    }
}

/// The automatic batching of one producer.
pub(crate) struct Accumulator {
    config: AutoBatch,
    lanes: Mutex<Lanes>,
}

#[derive(Default)]
struct Lanes {
    by_key: HashMap<Key, Lane>,
    next_id: u64,
}

/// A batch taken to leave: its messages, made ready, and whose they are.
struct Leaving {
    outs: Vec<Outgoing>,
    members: Vec<Member>,
    started: Instant,
    deadline: Instant,
}

impl std::fmt::Debug for Accumulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accumulator")
            .field("config", &self.config)
            .field("lanes", &self.lanes.lock().by_key.len())
            .finish()
    }
}

impl Accumulator {
    pub(crate) fn new(config: AutoBatch) -> Self {
        Accumulator {
            config,
            lanes: Mutex::default(),
        }
    }

    /// The key `ready`, sent in `mode`, batches under, or `None` if it is sent alone (Java:
    /// `canBatch`, and only the send overloads without a timeout; plus what rmq keeps apart:
    /// compressed or transactional bodies (a batch has no `sysFlag` of its own), requests,
    /// and messages a batch entry could not carry or larger than `batch_bytes`).
    pub(crate) fn key(&self, ready: &Ready, mode: SendMode) -> Option<Key> {
        let out = &ready.out;
        let message = &out.message;
        let props = message.properties();
        let delayed = props
            .get(keys::DELAY)
            .is_some_and(|level| level.trim().parse::<i64>().map_or(true, |l| l > 0));
        let alone = out.batch
            || ready.timed
            || out.sys_flag != 0
            || delayed
            || props.get(keys::TIMER_DELAY_MS).is_some()
            || props.get(keys::TIMER_DELAY_SEC).is_some()
            || props.get(keys::TIMER_DELIVER_MS).is_some()
            || props.get(keys::PGROUP).is_some()
            || props.get(keys::CORRELATION_ID).is_some()
            || message.topic().starts_with(RETRY_PREFIX)
            || out.properties.len() > i16::MAX as usize
            || entry_bytes(out) > self.config.batch_bytes;
        (!alone).then(|| Key {
            topic: message.topic_shared().clone(),
            queue: ready.queue.as_deref().cloned(),
            wait: message.wait_store_msg_ok(),
            tags: props.get_shared(keys::TAGS).cloned(),
            mode,
        })
    }

    /// Takes `ready` into the lane of `key` (its [`key`](Self::key)). The send counts as
    /// accepted (in flight) from here.
    pub(crate) fn offer(
        &self,
        inner: &Arc<ProducerInner>,
        key: Key,
        ready: Ready,
        sink: Sink,
        permit: Grant,
    ) {
        inner.tracker.started();
        inner.meters.async_in_flight(1.0);
        let now = Instant::now();
        let bytes = entry_bytes(&ready.out);
        let member = Member {
            sink: Some(sink),
            permit: Some(permit),
            msg_id: ready.out.msg_id.clone(),
        };
        // A message waits at most its hold, and at most half the time it has left: the rest
        // is for its send.
        let remaining = ready.deadline.saturating_duration_since(now);
        let leave_by = now + self.config.hold.min(remaining / 2);
        let drain = {
            let mut lanes = self.lanes.lock();
            lanes.next_id += 1;
            let id = lanes.next_id;
            let lane = lanes.by_key.entry(key.clone()).or_default();
            if lane.held.is_none() && lane.sending < key.depth() {
                lane.take_off(Leaving::one(ready, member))
            } else {
                let mut drain = false;
                // Full before this one joins: it leaves, this one starts the next.
                if let Some(held) = lane
                    .held
                    .take_if(|held| held.bytes + bytes > self.config.batch_bytes)
                {
                    drain |= lane.take_off(held.leave());
                }
                let held = lane.held.get_or_insert_with(|| Held::new(id, &ready));
                held.join(ready, member, bytes);
                if held.bytes >= self.config.batch_bytes || leave_by <= now {
                    if let Some(held) = lane.held.take() {
                        drain |= lane.take_off(held.leave());
                    }
                } else if leave_by < held.leave_at {
                    // Under the lock, so the timer is known to the batch before it can fire.
                    held.leave_at = leave_by;
                    let timer = self.arm(inner, key.clone(), held.id, leave_by);
                    if let Some(earlier) = held.timer.replace(timer) {
                        earlier.abort();
                    }
                }
                drain
            }
        };
        if drain {
            self.drain(inner, &key);
        }
    }

    /// Sends the lane's outbox, in order, until it is empty or a batch must be waited for.
    /// The lock is not held while a batch is sent: a send that fails at once tells its lane,
    /// which may add to the outbox.
    fn drain(&self, inner: &Arc<ProducerInner>, key: &Key) {
        loop {
            let next = {
                let mut lanes = self.lanes.lock();
                let Some(lane) = lanes.by_key.get_mut(key) else {
                    return;
                };
                if lane.gated {
                    // The gate's opening drains the rest.
                    lane.draining = false;
                    return;
                }
                match lane.outbox.pop_front() {
                    Some(next) => {
                        lane.gated = true;
                        next
                    }
                    None => {
                        lane.draining = false;
                        if lane.idle() {
                            lanes.by_key.remove(key);
                        }
                        return;
                    }
                }
            };
            let gate = Box::new(Gate {
                inner: inner.clone(),
                key: key.clone(),
            });
            // A panic sending one batch (its members hear of it) must not leave the lane
            // marked as drained by nobody.
            let sent = std::panic::catch_unwind(AssertUnwindSafe(|| next.send(inner, key, gate)));
            if let Err(panic) = sent {
                tracing::error!(
                    panic = %super::attempt::panic_message(panic.as_ref()),
                    "sending an automatic batch panicked"
                );
            }
        }
    }

    /// The lane's last batch let its [`Gate`] go: the next may leave.
    fn open(&self, inner: &Arc<ProducerInner>, key: &Key) {
        let drain = {
            let mut lanes = self.lanes.lock();
            let Some(lane) = lanes.by_key.get_mut(key) else {
                return;
            };
            lane.gated = false;
            if lane.draining {
                // Its drainer goes on.
                false
            } else if lane.outbox.is_empty() {
                if lane.idle() {
                    lanes.by_key.remove(key);
                }
                false
            } else {
                lane.draining = true;
                true
            }
        };
        if drain {
            self.drain(inner, key);
        }
    }

    /// Wakes the held batch `id` at `at`, if it is still held then. The timer keeps the
    /// producer alive until then: held messages leave even if the producer is dropped.
    fn arm(&self, inner: &Arc<ProducerInner>, key: Key, id: u64, at: Instant) -> AbortHandle {
        let inner = inner.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            if let Some(accumulator) = inner.accumulator.as_ref() {
                accumulator.expire(&inner, &key, id);
            }
        })
        .abort_handle()
    }

    /// The hold time of batch `id` is over: it leaves if still held.
    fn expire(&self, inner: &Arc<ProducerInner>, key: &Key, id: u64) {
        let drain = {
            let mut lanes = self.lanes.lock();
            let Some(lane) = lanes.by_key.get_mut(key) else {
                return;
            };
            match lane.held.take_if(|held| held.id == id) {
                Some(held) => lane.take_off(held.leave()),
                None => return,
            }
        };
        if drain {
            self.drain(inner, key);
        }
    }

    /// A request of `key`'s lane is done: the batch held meanwhile leaves now, or the lane is
    /// forgotten once idle (keys come and go with topics and tags).
    fn done(&self, inner: &Arc<ProducerInner>, key: &Key) {
        let drain = {
            let mut lanes = self.lanes.lock();
            let Some(lane) = lanes.by_key.get_mut(key) else {
                return;
            };
            lane.sending = lane.sending.saturating_sub(1);
            let mut drain = false;
            if lane.sending < LANE_DEPTH
                && let Some(held) = lane.held.take()
            {
                drain = lane.take_off(held.leave());
            }
            if lane.idle() {
                lanes.by_key.remove(key);
            }
            drain
        };
        if drain {
            self.drain(inner, key);
        }
    }

    /// Sends every held batch now (`flush`, `shutdown`).
    pub(crate) fn flush(&self, inner: &Arc<ProducerInner>) {
        let keys: Vec<Key> = {
            let mut lanes = self.lanes.lock();
            lanes
                .by_key
                .iter_mut()
                .filter_map(|(key, lane)| {
                    let held = lane.held.take()?;
                    lane.take_off(held.leave()).then(|| key.clone())
                })
                .collect()
        };
        for key in keys {
            self.drain(inner, &key);
        }
    }

    /// Fails every held message with [`Error::Shutdown`], handing it back (shutdown's grace
    /// is over).
    pub(crate) fn abort(&self, inner: &Arc<ProducerInner>) {
        let held: Vec<Held> = {
            let mut lanes = self.lanes.lock();
            let held = lanes
                .by_key
                .values_mut()
                .filter_map(|lane| lane.held.take())
                .collect();
            lanes.by_key.retain(|_, lane| !lane.idle());
            held
        };
        for held in held {
            for (mut out, member) in held.outs.into_iter().zip(held.members) {
                let unsent = out.take_unsent(inner);
                member.deliver(
                    Err(Failure {
                        error: Error::Shutdown,
                        unsent,
                    }),
                    inner,
                );
            }
        }
    }
}

/// The bytes `out` takes in a batch body.
fn entry_bytes(out: &Outgoing) -> usize {
    batch::entry_len(out.body.len(), out.properties.len())
}

impl Held {
    fn new(id: u64, first: &Ready) -> Held {
        Held {
            id,
            outs: Vec::new(),
            members: Vec::new(),
            bytes: 0,
            started: first.started,
            // Set as members join.
            deadline: first.deadline,
            leave_at: first.deadline,
            timer: None,
        }
    }

    fn join(&mut self, ready: Ready, member: Member, bytes: usize) {
        self.bytes += bytes;
        self.started = self.started.min(ready.started);
        self.deadline = self.deadline.min(ready.deadline);
        self.outs.push(ready.out);
        self.members.push(member);
    }

    fn leave(self) -> Leaving {
        if let Some(timer) = self.timer {
            timer.abort();
        }
        Leaving {
            outs: self.outs,
            members: self.members,
            started: self.started,
            deadline: self.deadline,
        }
    }
}

impl Leaving {
    fn one(ready: Ready, member: Member) -> Leaving {
        Leaving {
            outs: vec![ready.out],
            members: vec![member],
            started: ready.started,
            deadline: ready.deadline,
        }
    }

    /// Sends the batch (a lone message as itself) as one async send whose outcome is split
    /// among its members; `gate` opens once its request is queued.
    fn send(self, inner: &Arc<ProducerInner>, key: &Key, gate: Box<Gate>) {
        let Leaving {
            mut outs,
            members,
            started,
            deadline,
        } = self;
        let riders = Riders {
            key: key.clone(),
            members,
        };
        let out = match outs.pop() {
            Some(out) if outs.is_empty() => out,
            Some(last) => {
                outs.push(last);
                match inner.assemble_batch(outs, key.wait, key.tags.as_ref()) {
                    Ok(out) => out,
                    // Entries were checked to fit when they joined; should one not, each
                    // message comes back to its sender.
                    Err((error, outs)) => {
                        let messages = outs.into_iter().map(|out| out.into_unsent(inner));
                        let unsent = Unsent::Batch(
                            messages
                                .filter_map(|unsent| match unsent {
                                    Unsent::One(message) => Some(message),
                                    Unsent::Batch(_) => None,
                                })
                                .collect(),
                        );
                        return riders.deliver(Err(Failure { error, unsent }), inner);
                    }
                }
            }
            None => return,
        };
        let ready = Ready {
            out,
            queue: key.queue.clone().map(Box::new),
            started,
            deadline,
            timed: false,
        };
        let sink = Sink::Riders(Box::new(riders));
        launch(inner, None, ready, sink, key.mode, Some(gate));
    }
}

/// Held by a lane's batch so the lane's next batch leaves only after it, and one key's
/// messages reach the broker in the order they were sent: a batch for any queue holds it
/// until its request is queued on its connection (it may first wait for a route or a
/// connection), one for a fixed queue until it is answered (brokers may store concurrent
/// requests in either order, and one queue's order is what ordered messages rely on).
/// Messages to one queue with different tags are different keys, with no order between
/// them.
pub(crate) struct Gate {
    inner: Arc<ProducerInner>,
    key: Key,
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(accumulator) = self.inner.accumulator.as_ref() {
            accumulator.open(&self.inner, &self.key);
        }
    }
}

/// The messages of a sent batch, waiting for its outcome.
pub(crate) struct Riders {
    /// The lane to tell when the batch is done.
    key: Key,
    members: Vec<Member>,
}

impl Riders {
    /// Gives every member its share of the batch's outcome, then lets the lane go on.
    pub(crate) fn deliver(self, outcome: Outcome, inner: &Arc<ProducerInner>) {
        let Riders { key, members } = self;
        let count = members.len();
        match outcome {
            Ok(result) => {
                let offsets = offset_ids(&result, count);
                for (i, member) in members.into_iter().enumerate() {
                    let own = share(&result, i, count, &member.msg_id, offsets.get(i));
                    member.deliver(Ok(own), inner);
                }
            }
            Err(Failure { error, unsent }) => {
                let mut messages = match unsent {
                    Unsent::One(message) => vec![message],
                    Unsent::Batch(messages) => messages,
                }
                .into_iter();
                for member in members {
                    let message = messages
                        .next()
                        .unwrap_or_else(|| Message::new("", bytes::Bytes::new()));
                    member.deliver(
                        Err(Failure {
                            error: error.clone(),
                            unsent: Unsent::One(message),
                        }),
                        inner,
                    );
                }
            }
        }
        if let Some(accumulator) = inner.accumulator.as_ref() {
            accumulator.done(inner, &key);
        }
    }
}

/// The batch's offset message ids, one per member when the broker gave that many.
fn offset_ids(result: &SendResult, count: usize) -> Vec<ByteString> {
    let Some(ids) = result.offset_msg_id.as_ref() else {
        return Vec::new();
    };
    if count == 1 {
        return vec![ids.clone()];
    }
    let parts: Vec<ByteString> = ids.split(',').map(|part| ids.slice_ref(part)).collect();
    if parts.len() == count {
        parts
    } else {
        Vec::new()
    }
}

/// Member `i`'s result (Java: `ProduceAccumulator`'s split): its own id, its offset message
/// id, the batch's queue offset + `i`.
fn share(
    result: &SendResult,
    i: usize,
    count: usize,
    msg_id: &ByteString,
    offset_id: Option<&ByteString>,
) -> SendResult {
    let mut own = result.clone();
    if count > 1 {
        own.msg_id = msg_id.clone();
        own.offset_msg_id = offset_id.cloned();
        own.queue_offset = result.queue_offset.saturating_add(i as i64);
    }
    own
}

impl ProducerInner {
    /// One batch request of messages made ready alone (Java: `MessageBatch.generateFromList`
    /// and `encodeMessages` as the accumulator calls them): each entry reuses the properties
    /// its message encoded when made ready. The batch carries `WAIT` and the key's `TAGS`;
    /// not Java's union of `KEYS` nor a `UNIQ_KEY` of its own, since brokers copy a batch's
    /// properties onto every message in it (Apache appends them, rocketmq-rust overwrites),
    /// which would index each message under every key of its batch and store all under one
    /// id. The messages come back if an entry cannot be encoded (checked when it joined).
    #[allow(
        clippy::result_large_err,
        reason = "the rare failure hands the messages straight back"
    )]
    fn assemble_batch(
        &self,
        outs: Vec<Outgoing>,
        wait: bool,
        tags: Option<&ByteString>,
    ) -> std::result::Result<Outgoing, (Error, Vec<Outgoing>)> {
        let size = outs.iter().map(entry_bytes).sum();
        let mut body = BytesMut::with_capacity(size);
        let mut ids = String::with_capacity(outs.iter().map(|o| o.msg_id.len() + 1).sum());
        for out in &outs {
            let entry = batch::encode_prepared_entry(
                out.message.flag(),
                &out.body,
                &out.properties,
                &mut body,
            );
            if let Err(e) = entry {
                return Err((e.into(), outs));
            }
            if !ids.is_empty() {
                ids.push(',');
            }
            ids.push_str(&out.msg_id);
        }
        let Some(first) = outs.first() else {
            return Err((Error::Batch(rmq_common::BatchError::Empty), outs));
        };
        let user_topic = first.user_topic.clone();
        let body = body.freeze();
        let mut message = Message::new(first.message.topic_shared().clone(), body.clone());
        let props = message.properties_mut();
        props.insert_static(keys::WAIT, if wait { "true" } else { "false" });
        if let Some(tags) = tags {
            props.insert_static(keys::TAGS, tags.clone());
        }
        let messages = outs.into_iter().map(|out| out.message).collect();
        Ok(self.finish(message, body, 0, user_topic, ids.into(), messages))
    }
}

#[cfg(test)]
mod tests;

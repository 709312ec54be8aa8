//! The broker's message store (Java: `DefaultMessageStore`, `CommitLog`, `ConsumeQueue`), kept
//! in memory for inspection.
//!
//! Offsets behave as Java's: one commit log per broker whose offsets advance by each message's
//! stored size, and one logical offset sequence per queue; both keep counting across
//! [`clear`](MessageStore::clear) so message ids never repeat. Only the newest `capacity`
//! messages are retained, so a long-running cluster stays bounded in memory.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::Mutex;
use rmq_common::properties::keys;
use rmq_common::{ByteString, OffsetMessageId, Properties};
use rmq_remoting::SerializeType;
use tokio::sync::watch;
use tokio::time::Instant;

/// Fixed bytes of a stored message with IPv4 hosts, around body, topic and properties
/// (Java 4.9.8: `CommitLog.calMsgLength`).
const STORED_OVERHEAD: usize = 91;

/// A message as a test broker stored it.
///
/// ```no_run
/// # async fn demo(broker: rmq_testkit::TestBroker) -> Result<(), rmq_testkit::TestkitError> {
/// use std::time::Duration;
/// let stored = broker.wait_for_messages("TopicTest", 1, Duration::from_secs(5)).await?;
/// assert_eq!(&stored[0].body[..], b"Hello RocketMQ");
/// assert_eq!(stored[0].tags.as_deref(), Some("TagA"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMessage {
    /// The topic, namespace included.
    pub topic: ByteString,
    /// The queue it was written to.
    pub queue_id: i32,
    /// Its logical offset in that queue.
    pub queue_offset: i64,
    /// Its offset in the broker's commit log.
    pub commit_log_offset: i64,
    /// The broker's id for it: store host `127.0.0.1:port` and commit-log offset
    /// ([`OffsetMessageId`]); what the send response's `msgId` carries.
    pub offset_msg_id: ByteString,
    /// The request's `sysFlag`.
    pub sys_flag: i32,
    /// The producer's timestamp (header `bornTimestamp`).
    pub born_timestamp: i64,
    /// When the broker stored it, in epoch milliseconds.
    pub store_timestamp: i64,
    /// The producer connection's address (`ip:port`).
    pub born_host: ByteString,
    /// The user flag.
    pub flag: i32,
    /// The body, decompressed according to the `sysFlag` type bits when it was compressed.
    pub body: Bytes,
    /// The body exactly as received.
    pub raw_body: Bytes,
    /// The decoded properties.
    pub properties: Properties,
    /// Property `TAGS`.
    pub tags: Option<ByteString>,
    /// Property `KEYS` (several keys are separated by spaces).
    pub keys: Option<ByteString>,
    /// Property `UNIQ_KEY`: the id the producer reports as `msgId`.
    pub uniq_key: Option<ByteString>,
    /// Header `reconsumeTimes` (0 when absent).
    pub reconsume_times: i32,
    /// Header `producerGroup`.
    pub producer_group: ByteString,
    /// The request code: 10, 310 or 320.
    pub request_code: i32,
    /// How the request's header was serialized.
    pub serialize_type: SerializeType,
    /// Whether it arrived in a batch (code 320).
    pub batch: bool,
    /// The broker that stored it.
    pub broker_name: ByteString,
}

impl StoredMessage {
    /// The message as the commit-log record a broker returns (VIEW_MESSAGE_BY_ID,
    /// PULL_MESSAGE, a transaction check): the body as stored, the broker at `store_host`.
    pub fn record(&self, store_host: SocketAddr) -> rmq_common::stored::StoredMessage {
        rmq_common::stored::StoredMessage {
            total_size: 0,
            magic_code: rmq_common::stored::MAGIC_CODE_V1,
            body_crc: rmq_common::stored::body_crc(&self.raw_body),
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            commit_log_offset: self.commit_log_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self
                .born_host
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0))),
            store_timestamp: self.store_timestamp,
            store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: 0,
            body: self.raw_body.clone(),
            topic: self.topic.to_string(),
            properties: self.properties.clone(),
        }
    }
}

impl StoredMessage {
    /// A message parked in a system topic (a half or timer message) as it goes back to its
    /// real topic and queue (Java: `endMessageTransaction`, the timer's dequeue), with
    /// `sys_flag` and the request code it is stored under.
    pub(crate) fn unparked(&self, sys_flag: i32, request_code: i32) -> NewMessage {
        let mut properties = self.properties.clone();
        let topic = properties.remove(keys::REAL_TOPIC).unwrap_or_default();
        let queue_id = properties
            .remove(keys::REAL_QID)
            .and_then(|q| q.parse().ok())
            .unwrap_or(0);
        NewMessage {
            topic,
            queue_id,
            sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host.clone(),
            flag: self.flag,
            body: self.body.clone(),
            raw_body: self.raw_body.clone(),
            properties,
            reconsume_times: self.reconsume_times,
            producer_group: self.producer_group.clone(),
            request_code,
            serialize_type: self.serialize_type,
            batch: false,
        }
    }
}

/// A message about to be stored: everything but what the store assigns.
#[derive(Debug)]
pub(crate) struct NewMessage {
    pub(crate) topic: ByteString,
    pub(crate) queue_id: i32,
    pub(crate) sys_flag: i32,
    pub(crate) born_timestamp: i64,
    pub(crate) born_host: ByteString,
    pub(crate) flag: i32,
    pub(crate) body: Bytes,
    pub(crate) raw_body: Bytes,
    pub(crate) properties: Properties,
    pub(crate) reconsume_times: i32,
    pub(crate) producer_group: ByteString,
    pub(crate) request_code: i32,
    pub(crate) serialize_type: SerializeType,
    pub(crate) batch: bool,
}

impl NewMessage {
    /// Parks the message in queue 0 of `system_topic`, its real topic and queue kept in
    /// `REAL_TOPIC` and `REAL_QID` (Java: `parseHalfMessageInner`, `transformTimerMessage`).
    pub(crate) fn park(&mut self, system_topic: &'static str) {
        self.properties
            .insert_static(keys::REAL_TOPIC, self.topic.clone());
        self.properties
            .insert_static(keys::REAL_QID, self.queue_id.to_string());
        self.topic = ByteString::from_static(system_topic);
        self.queue_id = 0;
    }

    /// Its size in a Java commit log (IPv4 hosts, properties without a trailing separator).
    fn stored_size(&self) -> i64 {
        let properties: usize = self
            .properties
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>()
            .saturating_sub(1);
        let size = STORED_OVERHEAD + self.raw_body.len() + self.topic.len() + properties;
        i64::try_from(size).unwrap_or(i64::MAX)
    }
}

/// What [`MessageStore::append`] assigned.
#[derive(Debug)]
pub(crate) struct Appended {
    /// The queue offset of the first message.
    pub(crate) first_queue_offset: i64,
    /// The offset message id of each message, in order.
    pub(crate) msg_ids: Vec<ByteString>,
}

#[derive(Debug, Default)]
struct Inner {
    log: VecDeque<StoredMessage>,
    next_commit_log_offset: i64,
    queue_offsets: HashMap<(ByteString, i32), i64>,
}

/// One broker's messages.
#[derive(Debug)]
pub(crate) struct MessageStore {
    store_host: SocketAddr,
    broker_name: ByteString,
    capacity: usize,
    inner: Mutex<Inner>,
    /// Bumped on every append so waiters re-check.
    appended: watch::Sender<u64>,
}

impl MessageStore {
    pub(crate) fn new(store_host: SocketAddr, broker_name: ByteString, capacity: usize) -> Self {
        Self {
            store_host,
            broker_name,
            capacity: capacity.max(1),
            inner: Mutex::default(),
            appended: watch::Sender::new(0),
        }
    }

    /// Stores `messages` with consecutive offsets, atomically (Java: `putMessage`,
    /// `putMessages`). Every message of one call must share a topic and queue.
    pub(crate) fn append(&self, messages: Vec<NewMessage>) -> Appended {
        let store_timestamp = now_ms();
        let mut inner = self.inner.lock();
        let mut first_queue_offset = 0;
        let mut msg_ids = Vec::with_capacity(messages.len());
        for (i, msg) in messages.into_iter().enumerate() {
            let commit_log_offset = inner.next_commit_log_offset;
            inner.next_commit_log_offset = commit_log_offset.saturating_add(msg.stored_size());
            let queue_offset = {
                let next = inner
                    .queue_offsets
                    .entry((msg.topic.clone(), msg.queue_id))
                    .or_insert(0);
                let offset = *next;
                *next += 1;
                offset
            };
            if i == 0 {
                first_queue_offset = queue_offset;
            }
            let offset_msg_id = ByteString::from(
                OffsetMessageId {
                    addr: self.store_host,
                    offset: commit_log_offset,
                }
                .encode(),
            );
            msg_ids.push(offset_msg_id.clone());
            let property = |key: &str| msg.properties.get_shared(key).cloned();
            let stored = StoredMessage {
                tags: property("TAGS"),
                keys: property("KEYS"),
                uniq_key: property("UNIQ_KEY"),
                topic: msg.topic,
                queue_id: msg.queue_id,
                queue_offset,
                commit_log_offset,
                offset_msg_id,
                sys_flag: msg.sys_flag,
                born_timestamp: msg.born_timestamp,
                store_timestamp,
                born_host: msg.born_host,
                flag: msg.flag,
                body: msg.body,
                raw_body: msg.raw_body,
                properties: msg.properties,
                reconsume_times: msg.reconsume_times,
                producer_group: msg.producer_group,
                request_code: msg.request_code,
                serialize_type: msg.serialize_type,
                batch: msg.batch,
                broker_name: self.broker_name.clone(),
            };
            if inner.log.len() == self.capacity {
                inner.log.pop_front();
            }
            inner.log.push_back(stored);
        }
        drop(inner);
        self.appended.send_modify(|n| *n = n.wrapping_add(1));
        Appended {
            first_queue_offset,
            msg_ids,
        }
    }

    /// The retained messages `keep` selects, in commit-log order.
    pub(crate) fn select(&self, keep: impl Fn(&StoredMessage) -> bool) -> Vec<StoredMessage> {
        self.inner
            .lock()
            .log
            .iter()
            .filter(|m| keep(m))
            .cloned()
            .collect()
    }

    /// Waits until at least `n` retained messages are on `topic`, then returns them all.
    /// On timeout returns how many there were.
    pub(crate) async fn wait_for(
        &self,
        topic: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<StoredMessage>, usize> {
        let deadline = Instant::now() + timeout;
        // Subscribed before the first check, so no append slips between a check and the wait.
        let mut appended = self.appended.subscribe();
        loop {
            let found = self.select(|m| m.topic == topic);
            if found.len() >= n {
                return Ok(found);
            }
            match tokio::time::timeout_at(deadline, appended.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives as long as `self`, so only the deadline ends the wait.
                Ok(Err(_)) | Err(_) => return Err(found.len()),
            }
        }
    }

    /// Forgets every message; offsets keep counting.
    pub(crate) fn clear(&self) {
        self.inner.lock().log.clear();
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(topic: &str, queue_id: i32, body: &'static str) -> NewMessage {
        NewMessage {
            topic: topic.into(),
            queue_id,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: "127.0.0.1:1".into(),
            flag: 0,
            body: Bytes::from_static(body.as_bytes()),
            raw_body: Bytes::from_static(body.as_bytes()),
            properties: [("WAIT", "true")].into_iter().collect(),
            reconsume_times: 0,
            producer_group: "pg".into(),
            request_code: 310,
            serialize_type: SerializeType::Json,
            batch: false,
        }
    }

    fn store(capacity: usize) -> MessageStore {
        let addr = "127.0.0.1:10911".parse().expect("addr");
        MessageStore::new(addr, "broker-a".into(), capacity)
    }

    #[test]
    fn offsets_follow_java_sizes_and_queues() {
        let store = store(100);
        let first = store.append(vec![message("T", 1, "m1")]);
        assert_eq!(first.first_queue_offset, 0);
        // 91 + body 2 + topic 1 + "WAIT\u{1}true" 9
        assert_eq!(first.msg_ids, ["7F00000100002A9F0000000000000000"]);
        let batch = store.append(vec![message("T", 1, "m2"), message("T", 1, "m3")]);
        assert_eq!(batch.first_queue_offset, 1);
        assert_eq!(
            batch.msg_ids,
            [
                "7F00000100002A9F0000000000000067",
                "7F00000100002A9F00000000000000CE"
            ]
        );
        store.append(vec![message("T", 2, "x"), message("U", 1, "y")]);
        let offsets: Vec<_> = store
            .select(|_| true)
            .iter()
            .map(|m| (m.topic.to_string(), m.queue_id, m.queue_offset))
            .collect();
        assert_eq!(
            offsets,
            [
                ("T".to_owned(), 1, 0),
                ("T".to_owned(), 1, 1),
                ("T".to_owned(), 1, 2),
                ("T".to_owned(), 2, 0),
                ("U".to_owned(), 1, 0)
            ]
        );
    }

    #[test]
    fn retains_only_the_newest_and_clear_keeps_offsets() {
        let store = store(2);
        for body in ["a", "b", "c"] {
            store.append(vec![message("T", 0, body)]);
        }
        let bodies: Vec<_> = store.select(|_| true).into_iter().map(|m| m.body).collect();
        assert_eq!(bodies, ["b", "c"]);
        store.clear();
        assert!(store.select(|_| true).is_empty());
        store.append(vec![message("T", 0, "d")]);
        assert_eq!(store.select(|_| true)[0].queue_offset, 3);
    }

    #[tokio::test]
    async fn wait_for_wakes_on_append_and_times_out() {
        let store = std::sync::Arc::new(store(10));
        let writer = store.clone();
        let task = tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                writer.append(vec![message("T", 0, "m")]);
            }
        });
        let found = store.wait_for("T", 3, Duration::from_secs(5)).await;
        assert_eq!(found.map(|m| m.len()), Ok(3));
        task.await.expect("writer");
        let missing = store.wait_for("T", 4, Duration::from_millis(20)).await;
        assert_eq!(missing.map(|m| m.len()), Err(3));
    }
}

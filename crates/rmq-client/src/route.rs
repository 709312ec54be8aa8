//! Where a topic can be written (Java: `TopicPublishInfo`,
//! `MQClientInstance.topicRouteData2TopicPublishInfo`,
//! `ClientMetadata.topicRouteData2EndpointsForStaticTopic`).
//!
//! Unstable: public only for rmq's own tools (`rmq route`); not part of the API that semver
//! covers, and hidden from the docs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rmq_common::{ByteString, MessageQueue};
use rmq_remoting::body::{
    LOGICAL_QUEUE_MOCK_BROKER_NAME_NOT_EXIST, QueueData, TopicQueueMappingInfo, TopicRouteData,
    mock_broker_name, perm,
};

/// The index that spreads sends over queues (Java: `ThreadLocalIndex`, one per topic).
///
/// Java keeps one per thread; one shared atomic per topic spreads concurrent sends at least as
/// evenly and needs no thread affinity. The value is masked to 31 bits as Java does, so it is
/// never negative.
#[derive(Debug)]
pub struct QueueIndex(AtomicU32);

impl QueueIndex {
    /// An index starting at a random value, so many producers do not all start at queue 0.
    pub fn new() -> Self {
        Self(AtomicU32::new(fastrand::u32(..)))
    }

    /// An index starting at `value` (for tests and reproducible selection).
    pub fn starting_at(value: u32) -> Self {
        Self(AtomicU32::new(value))
    }

    /// Advances and returns the new value, masked to 31 bits (Java: `incrementAndGet() &
    /// Integer.MAX_VALUE`).
    ///
    /// ```
    /// use rmq_client::route::QueueIndex;
    /// assert_eq!(QueueIndex::starting_at(4).next(), 5);
    /// assert_eq!(QueueIndex::starting_at(i32::MAX as u32).next(), 0);
    /// ```
    pub fn next(&self) -> u32 {
        self.0.fetch_add(1, Ordering::Relaxed).wrapping_add(1) & 0x7FFF_FFFF
    }

    /// The current value, masked.
    pub fn current(&self) -> u32 {
        self.0.load(Ordering::Relaxed) & 0x7FFF_FFFF
    }

    /// Jumps to a random position (Java 5.x: `resetIndex`, used before retries).
    pub fn reset(&self) {
        self.0
            .store(fastrand::u32(..i32::MAX as u32), Ordering::Relaxed);
    }
}

impl Default for QueueIndex {
    fn default() -> Self {
        Self::new()
    }
}

/// The most queues a producer accepts for one topic: over all its brokers for an ordinary or
/// ordered topic, over all its scopes' logical queues for a static one.
///
/// A route is data from the network, and Java allocates whatever it says: one reply with
/// `writeQueueNums: 2147483647` would make the producer build some 144 GiB of queue entries
/// (72 bytes each) before sending anything. Real topics stay far below this bound: brokers
/// create 8 or 16 queues per topic by default, large deployments run hundreds to a few
/// thousand, and every queue costs its broker a consume-queue file. 65 536 leaves room for the
/// largest while keeping one topic's publish info under about 7 MiB (queue entries plus, for
/// a static topic, one shared broker name per logical queue), the same order as the client's
/// other bounds (65 535 async send permits, 65 536 queued requests per connection).
pub const MAX_TOPIC_QUEUES: usize = 65_536;

/// Why a route cannot become publish info. The producer keeps the publish info it had and
/// logs the error (Java would try to allocate and fail with an `OutOfMemoryError`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The route gives the topic more than [`MAX_TOPIC_QUEUES`] queues.
    #[error(
        "the route of topic {topic} gives it at least {queues} queues with those of broker \
         {broker}; a producer accepts at most {max}"
    )]
    TooManyQueues {
        /// The topic.
        topic: String,
        /// The broker whose queues take the count past the bound (for a static topic, the
        /// mapping entry with the largest `totalQueues`).
        broker: String,
        /// The count with that broker's queues, negative counts taken as zero.
        queues: u64,
        /// [`MAX_TOPIC_QUEUES`].
        max: usize,
    },
}

/// The logical queues of one scope of a static topic: their made-up broker name and, by
/// logical id, the real broker that leads each (Java: one scope's part of
/// `MQClientInstance.topicEndPointsTable`).
#[derive(Debug)]
struct StaticScope {
    /// [`mock_broker_name`] of the scope, e.g. `__syslo__global__`.
    mock_broker: ByteString,
    /// The real broker of logical queue `i` at index `i`;
    /// [`LOGICAL_QUEUE_MOCK_BROKER_NAME_NOT_EXIST`] when no broker claims it.
    real_brokers: Vec<ByteString>,
}

/// The queues a producer may write for one topic (Java: `TopicPublishInfo`).
#[derive(Debug)]
pub struct TopicPublishInfo {
    /// Whether the queues come from an ordered-topic configuration.
    pub order_topic: bool,
    /// Whether this came from a name server answer (not a placeholder).
    pub have_route: bool,
    /// The writable queues, in Java's order.
    pub queues: Vec<MessageQueue>,
    /// The route they came from.
    pub route: Arc<TopicRouteData>,
    /// The rotating index.
    pub index: QueueIndex,
    /// A static topic's logical queues and their real brokers; empty for any other topic.
    static_scopes: Vec<StaticScope>,
}

impl TopicPublishInfo {
    /// Builds the queue list exactly as Java 5.3.3 does (vectors V45, V46; Java:
    /// `MQClientInstance.topicRouteData2TopicPublishInfo`), trying in turn:
    ///
    /// 1. the ordered-topic path when `orderTopicConf` is non-empty: `num` queues for each
    ///    `broker:num` item, in order;
    /// 2. the static-topic path when `orderTopicConf` is absent and `topicQueueMappingByBroker`
    ///    is non-empty: one queue per logical id, all with the scope's made-up broker name
    ///    (`__syslo__global__`), sorted by id; [`real_broker`](Self::real_broker) names the
    ///    broker that leads each;
    /// 3. otherwise queue data sorted by broker name, writable ones only, brokers with a
    ///    master only, `writeQueueNums` queues each.
    ///
    /// Negative queue counts count as zero. A route that would give the topic more than
    /// [`MAX_TOPIC_QUEUES`] queues is refused with [`RouteError::TooManyQueues`] before
    /// anything is allocated for it.
    ///
    /// ```
    /// use rmq_client::route::TopicPublishInfo;
    /// use rmq_remoting::body::TopicRouteData;
    /// let route = TopicRouteData {
    ///     order_topic_conf: Some("broker-b:2;broker-a:1".into()),
    ///     ..TopicRouteData::default()
    /// };
    /// let info = TopicPublishInfo::from_route("T", route)?;
    /// let queues: Vec<String> = info.queues.iter().map(|q| format!("{}:{}", q.broker_name(), q.queue_id())).collect();
    /// assert_eq!(queues, ["broker-b:0", "broker-b:1", "broker-a:0"]);
    ///
    /// let absurd = TopicRouteData {
    ///     order_topic_conf: Some("broker-a:2147483647".into()),
    ///     ..TopicRouteData::default()
    /// };
    /// assert!(TopicPublishInfo::from_route("T", absurd).is_err());
    /// # Ok::<(), rmq_client::route::RouteError>(())
    /// ```
    pub fn from_route(topic: &str, route: TopicRouteData) -> Result<Self, RouteError> {
        let mut counter = QueueCounter::new(topic);
        let shared_topic = ByteString::from(topic);
        let mut static_scopes = Vec::new();
        let (order_topic, queues) = if let Some(conf) =
            route.order_topic_conf.as_deref().filter(|c| !c.is_empty())
        {
            let items: Vec<(&str, i32)> = conf
                .split(';')
                .filter_map(|item| item.split_once(':'))
                .map(|(broker, nums)| (broker, nums.trim().parse().unwrap_or(0)))
                .collect();
            for (broker, nums) in &items {
                counter.add(broker, *nums)?;
            }
            let mut queues = Vec::with_capacity(counter.total());
            for (broker, nums) in items {
                let broker = ByteString::from(broker);
                queues.extend(
                    (0..nums).map(|id| MessageQueue::new(shared_topic.clone(), broker.clone(), id)),
                );
            }
            (true, queues)
        } else if let Some(mapping) = route
            .topic_queue_mapping_by_broker
            .as_ref()
            .filter(|m| route.order_topic_conf.is_none() && !m.is_empty())
        {
            // Java tests `orderTopicConf == null` here: an empty configuration skips both the
            // ordered and the static path.
            static_scopes = static_endpoints(mapping, &mut counter)?;
            let mut queues = Vec::with_capacity(counter.total());
            for scope in &static_scopes {
                queues.extend((0..scope.real_brokers.len()).map(|id| {
                    // The bound keeps every id within i32.
                    let id = i32::try_from(id).unwrap_or(i32::MAX);
                    MessageQueue::new(shared_topic.clone(), scope.mock_broker.clone(), id)
                }));
            }
            // Java sorts by queue id only; the sort is stable, so scopes keep their order.
            queues.sort_by_key(MessageQueue::queue_id);
            (false, queues)
        } else {
            let mut queue_datas: Vec<&QueueData> = route
                .queue_datas
                .iter()
                .filter(|qd| perm::is_writeable(qd.perm))
                .filter(|qd| {
                    route
                        .broker_datas
                        .iter()
                        .find(|bd| bd.broker_name == qd.broker_name)
                        .is_some_and(|bd| bd.master_addr().is_some())
                })
                .collect();
            // Java sorts with String.compareTo, which for these names is byte order.
            queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for qd in &queue_datas {
                counter.add(&qd.broker_name, qd.write_queue_nums)?;
            }
            let mut queues = Vec::with_capacity(counter.total());
            for qd in queue_datas {
                let broker = ByteString::from(qd.broker_name.as_str());
                queues.extend(
                    (0..qd.write_queue_nums)
                        .map(|id| MessageQueue::new(shared_topic.clone(), broker.clone(), id)),
                );
            }
            (false, queues)
        };
        Ok(Self {
            order_topic,
            have_route: false,
            queues,
            route: Arc::new(route),
            index: QueueIndex::new(),
            static_scopes,
        })
    }

    /// The real broker that leads `queue` when it is a logical queue of a static topic, or
    /// `None` for any other queue, whose own broker name is the one to use (Java:
    /// `MQClientInstance.getBrokerNameFromMessageQueue`).
    ///
    /// A send to a logical queue goes to this broker's master with the queue id unchanged
    /// (the broker maps it to its physical queue), this broker's name in the header's
    /// `bname`/`n` field, and this broker's name in the `SendResult`'s queue. The name may be
    /// [`LOGICAL_QUEUE_MOCK_BROKER_NAME_NOT_EXIST`] (`__syslo__none__`) for a logical queue no
    /// broker claims: no route lists a broker of that name, so the send finds no address, as
    /// in Java.
    ///
    /// Only the broker name and queue id are compared: the info belongs to one topic, and a
    /// caller may hold the queue with or without the producer's namespace.
    ///
    /// ```
    /// use rmq_client::route::TopicPublishInfo;
    /// use rmq_remoting::body::TopicRouteData;
    /// let body = br#"{"topicQueueMappingByBroker":{"broker-a":{"bname":"broker-a","currIdMap":{"0":0},"epoch":1,"scope":"__global__","totalQueues":2}}}"#;
    /// let info = TopicPublishInfo::from_route("T", TopicRouteData::from_json(body).unwrap()).unwrap();
    /// let real: Vec<Option<&str>> = info.queues.iter().map(|q| info.real_broker(q).map(|b| &**b)).collect();
    /// assert_eq!(real, [Some("broker-a"), Some("__syslo__none__")]);
    /// assert_eq!(info.queues[0].broker_name(), "__syslo__global__");
    /// assert_eq!(info.real_broker(&rmq_common::MessageQueue::new("T", "broker-a", 0)), None);
    /// ```
    pub fn real_broker(&self, queue: &MessageQueue) -> Option<&ByteString> {
        let scope = self
            .static_scopes
            .iter()
            .find(|scope| scope.mock_broker == queue.broker_name())?;
        scope
            .real_brokers
            .get(usize::try_from(queue.queue_id()).ok()?)
    }

    /// The queue a send to `queue` names on the wire: for a static topic's logical queue, the
    /// same queue id on the broker that leads it (Java: `getBrokerNameFromMessageQueue` in
    /// `sendKernelImpl`); any other queue as it is. A logical queue no broker leads keeps its
    /// made-up broker name, which has no address, so the send fails with "broker not found"
    /// and retries elsewhere, as in Java.
    ///
    /// ```
    /// use rmq_client::route::TopicPublishInfo;
    /// use rmq_remoting::body::TopicRouteData;
    /// let info = TopicPublishInfo::from_route("T", TopicRouteData::default()).unwrap();
    /// let queue = rmq_common::MessageQueue::new("T", "broker-a", 0);
    /// assert_eq!(info.wire_queue(queue.clone()), queue);
    /// ```
    pub fn wire_queue(&self, queue: MessageQueue) -> MessageQueue {
        match self.real_broker(&queue) {
            Some(broker) => MessageQueue::new(
                queue.topic_shared().clone(),
                broker.clone(),
                queue.queue_id(),
            ),
            None => queue,
        }
    }

    /// Whether the queues are a static topic's logical queues (Java: the topic has a
    /// non-empty `topicEndPointsTable` entry). For such a topic Java fails a send to a queue
    /// that is not one of them (`getBrokerNameFromMessageQueue` gives null, so "The
    /// broker\[null\] not exist"); rmq sends such a queue to the broker it names.
    pub fn is_static_topic(&self) -> bool {
        !self.static_scopes.is_empty()
    }

    /// Whether there is any queue to write (Java: `ok()`).
    pub fn ok(&self) -> bool {
        !self.queues.is_empty()
    }

    /// The next queue in rotation, skipping `last_broker` if another broker has a queue
    /// (Java 4.9.8: `selectOneMessageQueue(lastBrokerName)`; vector V49).
    pub fn select_queue(&self, last_broker: Option<&str>) -> Option<&MessageQueue> {
        if let Some(last) = last_broker
            && let Some(queue) = self.select_filtered(|q| q.broker_name() != last)
        {
            return Some(queue);
        }
        self.select_any()
    }

    /// The next queue in rotation, whatever its broker.
    pub fn select_any(&self) -> Option<&MessageQueue> {
        if self.queues.is_empty() {
            return None;
        }
        let pos = self.index.next() as usize % self.queues.len();
        self.queues.get(pos)
    }

    /// The first queue accepted by `filter`, trying each queue at most once from the next index
    /// (Java 5.x: `selectOneMessageQueue(QueueFilter...)`).
    pub fn select_filtered(&self, filter: impl Fn(&MessageQueue) -> bool) -> Option<&MessageQueue> {
        let n = self.queues.len();
        (0..n)
            .map(|_| &self.queues[self.index.next() as usize % n])
            .find(|q| filter(q))
    }

    /// Writable queues of `broker` in the route (Java: `getQueueIdByBroker`), or `None`.
    pub fn write_queue_nums(&self, broker: &str) -> Option<i32> {
        self.route
            .queue_datas
            .iter()
            .find(|qd| qd.broker_name == broker)
            .map(|qd| qd.write_queue_nums)
    }
}

/// The route to use for a topic the name servers do not know: the `createTopicKey` route
/// (`TBW102`) with every queue count capped at `default_queue_nums`, so the broker creates the
/// topic on first send (Java: `updateTopicRouteInfoFromNameServer(topic, true, producer)`;
/// vector V47).
pub fn default_route_for_auto_create(
    mut route: TopicRouteData,
    default_queue_nums: i32,
) -> TopicRouteData {
    for qd in &mut route.queue_datas {
        let nums = default_queue_nums.min(qd.read_queue_nums);
        qd.read_queue_nums = nums;
        qd.write_queue_nums = nums;
    }
    route
}

/// Adds up a topic's queues, refusing more than [`MAX_TOPIC_QUEUES`].
struct QueueCounter<'a> {
    topic: &'a str,
    total: u64,
}

impl<'a> QueueCounter<'a> {
    fn new(topic: &'a str) -> Self {
        Self { topic, total: 0 }
    }

    /// Counts `broker`'s `nums` queues (negative: none).
    fn add(&mut self, broker: &str, nums: i32) -> Result<(), RouteError> {
        // Non-negative i32s: a u64 sum cannot overflow before the bound stops it.
        self.total += u64::try_from(nums).unwrap_or(0);
        if self.total > MAX_TOPIC_QUEUES as u64 {
            return Err(RouteError::TooManyQueues {
                topic: self.topic.to_owned(),
                broker: broker.to_owned(),
                queues: self.total,
                max: MAX_TOPIC_QUEUES,
            });
        }
        Ok(())
    }

    /// The count so far, at most [`MAX_TOPIC_QUEUES`].
    fn total(&self) -> usize {
        usize::try_from(self.total).unwrap_or(MAX_TOPIC_QUEUES)
    }
}

/// The logical queues of a static topic and the real broker of each, scope by scope (Java:
/// `ClientMetadata.topicRouteData2EndpointsForStaticTopic`):
///
/// - entries without a scope are skipped;
/// - a scope has as many logical queues as its largest `totalQueues` (ids a broker claims
///   beyond that, or below 0, are dropped);
/// - a logical queue belongs to the broker whose entry claims it in `currIdMap` with the
///   highest epoch; on equal epochs, to the one Java meets last, which is the last in
///   `HashMap` iteration order of the broker names (see [`java_hash_map_order`]);
/// - a logical queue nobody claims belongs to [`LOGICAL_QUEUE_MOCK_BROKER_NAME_NOT_EXIST`].
///
/// Java first sorts each scope's entries by epoch, newest first, with the comparator
/// `(int) (o2.epoch - o1.epoch)`. With its replace-when-`old.epoch <= new.epoch` rule the
/// newest claim wins in any processing order, so only ties depend on the order, and a stable
/// sort keeps tied entries in iteration order; processing in iteration order gives the same
/// winner. (When epochs more than 24.8 days apart overflow that comparator, Java's insertion
/// sort may also reorder tied entries; that is not imitated.)
///
/// Scopes come in name order; Java's order of scopes only decides the order of equal ids
/// in different scopes, and every broker registers the global scope anyway.
fn static_endpoints(
    mapping: &BTreeMap<String, TopicQueueMappingInfo>,
    counter: &mut QueueCounter<'_>,
) -> Result<Vec<StaticScope>, RouteError> {
    // Java: `mappingInfosByScope`, a HashMap per scope filled in the iteration order of the
    // route's HashMap, which fastjson filled in the body's order (keys sorted by name, as
    // this BTreeMap is).
    let mut by_scope: BTreeMap<&str, Vec<(&str, &TopicQueueMappingInfo)>> = BTreeMap::new();
    for (broker, info) in java_hash_map_order(mapping.iter().map(|(k, v)| (k.as_str(), v))) {
        if let Some(scope) = info.scope.as_deref() {
            by_scope.entry(scope).or_default().push((broker, info));
        }
    }
    let mut scopes = Vec::with_capacity(by_scope.len());
    for (scope, entries) in by_scope {
        let entries = java_hash_map_order(entries);
        // Java: `maxTotalNums` starts at 0 and takes every larger totalQueues.
        let (widest, total) = entries
            .iter()
            .map(|(broker, info)| (*broker, info.total_queues.max(0)))
            .fold(
                ("", 0),
                |best, entry| if entry.1 > best.1 { entry } else { best },
            );
        counter.add(widest, total)?;
        let total = usize::try_from(total).unwrap_or(0);

        // The winning claim of each logical id: (epoch, index into `names`).
        let mut claims: Vec<Option<(i64, usize)>> = vec![None; total];
        let mut names = Vec::with_capacity(entries.len());
        for (key, info) in &entries {
            // The name server files each entry under its `bname`; fall back to that key
            // should an entry lack one (Java would fail the whole update on the null).
            let real = info.bname.as_deref().unwrap_or(key);
            let name = names.len();
            names.push(ByteString::from(real));
            for logical in info.curr_id_map.keys() {
                let Some(claim) = usize::try_from(*logical)
                    .ok()
                    .and_then(|id| claims.get_mut(id))
                else {
                    continue;
                };
                if claim.is_none_or(|(epoch, _)| epoch <= info.epoch) {
                    *claim = Some((info.epoch, name));
                }
            }
        }
        let nobody = ByteString::from_static(LOGICAL_QUEUE_MOCK_BROKER_NAME_NOT_EXIST);
        let real_brokers = claims
            .into_iter()
            .map(|claim| claim.map_or_else(|| nobody.clone(), |(_, name)| names[name].clone()))
            .collect();
        scopes.push(StaticScope {
            mock_broker: ByteString::from(mock_broker_name(scope)),
            real_brokers,
        });
    }
    Ok(scopes)
}

/// The order in which a Java `HashMap<String, _>`, created empty and filled by `put`s in the
/// order of `entries` (distinct keys), iterates them: by bucket, then in insertion order
/// within a bucket. The table starts at 16 buckets and doubles whenever the size passes three
/// quarters of it; a key's bucket is `(h ^ (h >>> 16)) & (buckets - 1)` with `h` Java's
/// `String.hashCode`. (Java would also resize, or turn a bucket into a tree, once nine keys
/// share one bucket; broker names never come that close.)
fn java_hash_map_order<'a, T>(
    entries: impl IntoIterator<Item = (&'a str, T)>,
) -> Vec<(&'a str, T)> {
    let mut placed: Vec<(usize, &str, T)> = entries
        .into_iter()
        .map(|(key, value)| (0, key, value))
        .collect();
    let mut buckets: usize = 16;
    while placed.len() > buckets / 4 * 3 {
        buckets *= 2;
    }
    for (bucket, key, _) in &mut placed {
        // Java's int hash, reinterpreted as unsigned for `>>>`.
        let h = java_string_hash(key) as u32;
        *bucket = usize::try_from(h ^ (h >> 16)).unwrap_or(0) & (buckets - 1);
    }
    // Stable: keys sharing a bucket keep their insertion order.
    placed.sort_by_key(|(bucket, _, _)| *bucket);
    placed
        .into_iter()
        .map(|(_, key, value)| (key, value))
        .collect()
}

/// Java's `String.hashCode`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, wrapping.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_remoting::body::BrokerData;

    fn broker(name: &str, ids: &[i64]) -> BrokerData {
        BrokerData {
            broker_addrs: ids
                .iter()
                .map(|id| (*id, format!("10.0.0.{id}:10911")))
                .collect(),
            broker_name: name.into(),
            cluster: "c".into(),
            ..BrokerData::default()
        }
    }

    fn queue(name: &str, perm: i32, read: i32, write: i32) -> QueueData {
        QueueData {
            broker_name: name.into(),
            perm,
            read_queue_nums: read,
            write_queue_nums: write,
            topic_sys_flag: 0,
        }
    }

    fn names(info: &TopicPublishInfo) -> Vec<String> {
        info.queues
            .iter()
            .map(|q| format!("{}:{}", q.broker_name(), q.queue_id()))
            .collect()
    }

    #[test]
    fn v45_normal_path() {
        let route = TopicRouteData {
            broker_datas: vec![
                broker("broker-c", &[1]),
                broker("broker-b", &[0]),
                broker("broker-a", &[0, 1]),
                broker("broker-d", &[0]),
            ],
            queue_datas: vec![
                queue("broker-c", 6, 4, 4),
                queue("broker-b", 6, 2, 2),
                queue("broker-a", 6, 4, 3),
                queue("broker-d", 4, 4, 4),
                queue("broker-e", 6, 2, 2),
            ],
            ..TopicRouteData::default()
        };
        let info = TopicPublishInfo::from_route("T", route).expect("route");
        assert_eq!(
            names(&info),
            [
                "broker-a:0",
                "broker-a:1",
                "broker-a:2",
                "broker-b:0",
                "broker-b:1"
            ]
        );
        assert!(!info.order_topic && !info.have_route && info.ok());
        assert_eq!(info.queues[0].topic(), "T");
    }

    #[test]
    fn v46_order_topic_conf() {
        let info = TopicPublishInfo::from_route(
            "T",
            TopicRouteData {
                order_topic_conf: Some("127.0.0.1:4".into()),
                ..TopicRouteData::default()
            },
        )
        .expect("route");
        assert_eq!(
            names(&info),
            ["127.0.0.1:0", "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]
        );
        assert!(info.order_topic);
    }

    #[test]
    fn v47_auto_create_default_route() {
        let tbw = TopicRouteData {
            broker_datas: vec![broker("broker-a", &[0])],
            queue_datas: vec![queue("broker-a", 7, 8, 8)],
            ..TopicRouteData::default()
        };
        let info = TopicPublishInfo::from_route("NewTopic", default_route_for_auto_create(tbw, 4))
            .expect("route");
        assert_eq!(
            names(&info),
            ["broker-a:0", "broker-a:1", "broker-a:2", "broker-a:3"]
        );
        assert_eq!(info.route.queue_datas[0].read_queue_nums, 4);
    }

    fn ab_info(index: u32) -> TopicPublishInfo {
        let mut info = TopicPublishInfo::from_route(
            "T",
            TopicRouteData {
                broker_datas: vec![broker("broker-a", &[0]), broker("broker-b", &[0])],
                queue_datas: vec![queue("broker-a", 6, 3, 3), queue("broker-b", 6, 2, 2)],
                ..TopicRouteData::default()
            },
        )
        .expect("route");
        info.index = QueueIndex::starting_at(index);
        info
    }

    #[test]
    fn v49_selection_avoids_the_last_broker() {
        let info = ab_info(4);
        let q = info.select_queue(Some("broker-a")).expect("a queue");
        assert_eq!((q.broker_name(), q.queue_id()), ("broker-b", 0));
        assert_eq!(info.index.current(), 8);
        let info = ab_info(4);
        let q = info.select_queue(None).expect("a queue");
        assert_eq!((q.broker_name(), q.queue_id()), ("broker-a", 0));
    }

    #[test]
    fn selection_falls_back_when_only_the_last_broker_has_queues() {
        let info = ab_info(0);
        let only_a = TopicPublishInfo {
            queues: info.queues[..3].to_vec(),
            ..info
        };
        assert_eq!(
            only_a
                .select_queue(Some("broker-a"))
                .map(|q| q.broker_name()),
            Some("broker-a")
        );
    }

    #[test]
    fn v53_queue_index() {
        assert_eq!(QueueIndex::starting_at(i32::MAX as u32).next(), 0);
        // Java's first value may be negative: -5 stored, masked on the way out.
        assert_eq!(
            QueueIndex::starting_at((-5i32) as u32).next(),
            2_147_483_644
        );
        assert_eq!(QueueIndex::starting_at(4).next(), 5);
        let i = QueueIndex::new();
        let (a, b) = (i.next(), i.next());
        assert!(b == a + 1 || b == 0);
    }

    #[test]
    fn empty_routes_select_nothing() {
        let info = TopicPublishInfo::from_route("T", TopicRouteData::default()).expect("route");
        assert!(!info.ok());
        assert!(info.select_queue(Some("x")).is_none());
        assert!(info.select_any().is_none());
    }

    /// The research's example (static_topics.md §1): four logical queues, broker-a leading
    /// 0 and 3, broker-b leading 1 and 2.
    const STATIC_BODY: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.10:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false},{"brokerAddrs":{"0":"192.168.0.11:10911"},"brokerName":"broker-b","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2},{"brokerName":"broker-b","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2}],"topicQueueMappingByBroker":{"broker-a":{"bname":"broker-a","currIdMap":{"0":0,"3":1},"dirty":false,"epoch":1718000001000,"scope":"__global__","topic":"StaticTopicTest","totalQueues":4},"broker-b":{"bname":"broker-b","currIdMap":{"1":0,"2":1},"dirty":false,"epoch":1718000001000,"scope":"__global__","topic":"StaticTopicTest","totalQueues":4}}}"#;

    /// `broker:id -> real broker` for every queue.
    fn endpoints(info: &TopicPublishInfo) -> Vec<String> {
        info.queues
            .iter()
            .map(|q| {
                let real = info.real_broker(q).map_or("-", |b| &**b);
                format!("{}:{} -> {real}", q.broker_name(), q.queue_id())
            })
            .collect()
    }

    fn mapping(scope: Option<&str>, epoch: i64, total: i32, ids: &[i32]) -> TopicQueueMappingInfo {
        TopicQueueMappingInfo {
            bname: None,
            curr_id_map: ids
                .iter()
                .enumerate()
                .map(|(p, l)| (*l, p as i32))
                .collect(),
            dirty: false,
            epoch,
            scope: scope.map(str::to_owned),
            topic: Some("T".into()),
            total_queues: total,
        }
    }

    fn static_route(entries: Vec<(&str, TopicQueueMappingInfo)>) -> TopicRouteData {
        TopicRouteData {
            topic_queue_mapping_by_broker: Some(
                entries
                    .into_iter()
                    .map(|(broker, mut info)| {
                        info.bname.get_or_insert_with(|| broker.to_owned());
                        (broker.to_owned(), info)
                    })
                    .collect(),
            ),
            ..TopicRouteData::default()
        }
    }

    const GLOBAL: Option<&str> = Some("__global__");

    #[test]
    fn static_topic_queues_and_real_brokers() {
        let route = TopicRouteData::from_json(STATIC_BODY.as_bytes()).expect("parses");
        let info = TopicPublishInfo::from_route("StaticTopicTest", route).expect("route");
        assert_eq!(
            endpoints(&info),
            [
                "__syslo__global__:0 -> broker-a",
                "__syslo__global__:1 -> broker-b",
                "__syslo__global__:2 -> broker-b",
                "__syslo__global__:3 -> broker-a",
            ]
        );
        assert!(info.queues.iter().all(|q| q.topic() == "StaticTopicTest"));
        assert!(info.is_static_topic() && info.ok() && !info.order_topic && !info.have_route);
        // Ordinary queues, a real broker name, ids outside the list: not static queues.
        for (broker, id) in [
            ("broker-a", 0),
            ("__syslo__global__", 4),
            ("__syslo__global__", -1),
            ("__syslo__zone", 0),
        ] {
            let queue = MessageQueue::new("StaticTopicTest", broker, id);
            assert_eq!(info.real_broker(&queue), None, "{queue}");
        }
        // The topic is not compared: a namespaced producer's callers may hold either form.
        let unwrapped = MessageQueue::new("ns%StaticTopicTest", "__syslo__global__", 1);
        assert_eq!(info.real_broker(&unwrapped).map(|b| &**b), Some("broker-b"));

        // The same route in the legacy dialect gives the same queues.
        let legacy = TopicRouteData::from_json(
            &TopicRouteData::from_json(STATIC_BODY.as_bytes())
                .expect("parses")
                .to_legacy_json(),
        )
        .expect("parses");
        let legacy_info = TopicPublishInfo::from_route("StaticTopicTest", legacy).expect("route");
        assert_eq!(endpoints(&legacy_info), endpoints(&info));

        // Ordinary topics have no real brokers.
        let ordinary = ab_info(0);
        assert!(!ordinary.is_static_topic());
        assert!(
            ordinary
                .queues
                .iter()
                .all(|q| ordinary.real_broker(q).is_none())
        );
    }

    #[test]
    fn static_topic_epochs_gaps_and_totals() {
        let info = TopicPublishInfo::from_route(
            "T",
            static_route(vec![
                // Newer: wins queue 1 from broker-b.
                ("broker-a", mapping(GLOBAL, 2000, 3, &[0, 1])),
                // Widest: five queues in all; 7 and -1 are beyond them and dropped.
                ("broker-b", mapping(GLOBAL, 1000, 5, &[1, 2, 7, -1])),
                // No scope: ignored, however new and wide.
                ("broker-c", mapping(None, 9000, 9, &[3])),
            ]),
        )
        .expect("route");
        assert_eq!(
            endpoints(&info),
            [
                "__syslo__global__:0 -> broker-a",
                "__syslo__global__:1 -> broker-a",
                "__syslo__global__:2 -> broker-b",
                "__syslo__global__:3 -> __syslo__none__",
                "__syslo__global__:4 -> __syslo__none__",
            ]
        );

        // An entry without bname is filed under its key.
        let mut nameless = mapping(GLOBAL, 1, 1, &[0]);
        nameless.bname = None;
        let route = TopicRouteData {
            topic_queue_mapping_by_broker: Some(BTreeMap::from([(
                "broker-x".to_owned(),
                nameless,
            )])),
            ..TopicRouteData::default()
        };
        let info = TopicPublishInfo::from_route("T", route).expect("route");
        assert_eq!(endpoints(&info), ["__syslo__global__:0 -> broker-x"]);

        // Java's unit test: a mapping whose totalQueues is 0 gives no queue, and no fallback
        // to the queue data either.
        let mut empty = static_route(vec![("broker-a", mapping(GLOBAL, 1, 0, &[0]))]);
        empty.queue_datas = vec![queue("broker-a", 6, 4, 4)];
        empty.broker_datas = vec![broker("broker-a", &[0])];
        let info = TopicPublishInfo::from_route("T", empty).expect("route");
        assert!(!info.ok() && info.is_static_topic());
    }

    #[test]
    fn equal_epochs_go_to_the_broker_java_meets_last() {
        // Java iterates HashMap{broker-a, broker-b} as broker-b, broker-a: broker-a wins.
        let info = TopicPublishInfo::from_route(
            "T",
            static_route(vec![
                ("broker-a", mapping(GLOBAL, 5, 1, &[0])),
                ("broker-b", mapping(GLOBAL, 5, 1, &[0])),
            ]),
        )
        .expect("route");
        assert_eq!(endpoints(&info), ["__syslo__global__:0 -> broker-a"]);
        // "Aa" and "BB" share a hash, so a bucket: insertion (name) order, BB last.
        let info = TopicPublishInfo::from_route(
            "T",
            static_route(vec![
                ("Aa", mapping(GLOBAL, 5, 1, &[0])),
                ("BB", mapping(GLOBAL, 5, 1, &[0])),
            ]),
        )
        .expect("route");
        assert_eq!(endpoints(&info), ["__syslo__global__:0 -> BB"]);
    }

    #[test]
    fn java_hash_map_iteration_order() {
        // Printed by Java 17: a HashMap filled in sorted order, copied into a second one by
        // iteration, as the route's map and a scope's map are.
        let cases: [(&[&str], &[&str]); 3] = [
            (&["broker-a", "broker-b"], &["broker-b", "broker-a"]),
            (
                &["broker-a", "broker-b", "broker-c", "broker-d"],
                &["broker-d", "broker-b", "broker-c", "broker-a"],
            ),
            (
                &[
                    "a", "b", "broker-a", "broker-b", "broker-c", "broker-d", "broker-e",
                    "broker-f", "broker-g", "broker-h", "broker-i", "broker-j", "broker-k",
                    "broker-l", "broker-m", "broker-n", "broker-o", "broker-p", "broker-q", "c",
                ],
                &[
                    "broker-j", "a", "broker-k", "b", "broker-h", "broker-i", "c", "broker-f",
                    "broker-g", "broker-d", "broker-e", "broker-p", "broker-q", "broker-n",
                    "broker-o", "broker-l", "broker-m", "broker-b", "broker-c", "broker-a",
                ],
            ),
        ];
        for (inserted, java) in cases {
            let once = java_hash_map_order(inserted.iter().map(|k| (*k, ())));
            let twice = java_hash_map_order(once);
            let order: Vec<&str> = twice.into_iter().map(|(k, ())| k).collect();
            assert_eq!(order, java);
        }
        assert_eq!(java_string_hash("broker-a"), 372_697_965);
        assert_eq!(java_string_hash("Aa"), java_string_hash("BB"));
        assert_eq!(java_string_hash(""), 0);
    }

    #[test]
    fn which_path_a_route_takes() {
        let mut route = TopicRouteData::from_json(STATIC_BODY.as_bytes()).expect("parses");
        // An empty orderTopicConf skips both the ordered and the static path (Java tests
        // `length() > 0` for one and `== null` for the other).
        route.order_topic_conf = Some(String::new());
        let info = TopicPublishInfo::from_route("T", route.clone()).expect("route");
        assert_eq!(
            names(&info),
            ["broker-a:0", "broker-a:1", "broker-b:0", "broker-b:1"]
        );
        assert!(!info.is_static_topic());
        // A real configuration wins over the mapping.
        route.order_topic_conf = Some("broker-b:1".into());
        let info = TopicPublishInfo::from_route("T", route.clone()).expect("route");
        assert_eq!(names(&info), ["broker-b:0"]);
        assert!(info.order_topic && !info.is_static_topic());
        // An empty mapping is not a static topic.
        route.order_topic_conf = None;
        route.topic_queue_mapping_by_broker = Some(BTreeMap::new());
        let info = TopicPublishInfo::from_route("T", route.clone()).expect("route");
        assert_eq!(names(&info).len(), 4);
        // The static path ignores perm and masters.
        let mut route = TopicRouteData::from_json(STATIC_BODY.as_bytes()).expect("parses");
        route.broker_datas.clear();
        route.queue_datas.iter_mut().for_each(|qd| qd.perm = 4);
        let info = TopicPublishInfo::from_route("T", route).expect("route");
        assert_eq!(info.queues.len(), 4);
    }

    #[test]
    fn scopes_share_ids_in_name_order() {
        let info = TopicPublishInfo::from_route(
            "T",
            static_route(vec![
                ("broker-a", mapping(Some("zone"), 1, 2, &[0, 1])),
                ("broker-b", mapping(GLOBAL, 1, 1, &[0])),
            ]),
        )
        .expect("route");
        assert_eq!(
            endpoints(&info),
            [
                "__syslo__global__:0 -> broker-b",
                "__syslo__zone:0 -> broker-a",
                "__syslo__zone:1 -> broker-a",
            ]
        );
    }

    fn too_many(result: Result<TopicPublishInfo, RouteError>) -> (String, u64) {
        match result.map(|info| info.queues.len()) {
            Err(RouteError::TooManyQueues {
                topic,
                broker,
                queues,
                max,
            }) => {
                assert_eq!((topic.as_str(), max), ("T", MAX_TOPIC_QUEUES));
                (broker, queues)
            }
            other => panic!("expected TooManyQueues, got {other:?}"),
        }
    }

    #[test]
    fn absurd_queue_counts_are_refused_before_allocating() {
        // A whole name-server reply: one broker, 2^31 - 1 write queues.
        let body = br#"{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"c"}],"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":2147483647}]}"#;
        let route = TopicRouteData::from_json(body).expect("parses");
        assert_eq!(
            too_many(TopicPublishInfo::from_route("T", route)),
            ("broker-a".to_owned(), 2_147_483_647)
        );
        let err =
            TopicPublishInfo::from_route("T", TopicRouteData::from_json(body).expect("parses"))
                .expect_err("too many");
        assert_eq!(
            err.to_string(),
            "the route of topic T gives it at least 2147483647 queues with those of broker \
             broker-a; a producer accepts at most 65536"
        );

        // The bound is on the topic: many brokers add up.
        let route = TopicRouteData {
            broker_datas: vec![broker("broker-a", &[0]), broker("broker-b", &[0])],
            queue_datas: vec![
                queue("broker-a", 6, 8, 40_000),
                queue("broker-b", 6, 8, 40_000),
            ],
            ..TopicRouteData::default()
        };
        assert_eq!(
            too_many(TopicPublishInfo::from_route("T", route)),
            ("broker-b".to_owned(), 80_000)
        );

        // Ordered topics.
        let ordered = |conf: &str| TopicRouteData {
            order_topic_conf: Some(conf.into()),
            ..TopicRouteData::default()
        };
        assert_eq!(
            too_many(TopicPublishInfo::from_route(
                "T",
                ordered("broker-a:2147483647")
            )),
            ("broker-a".to_owned(), 2_147_483_647)
        );
        assert_eq!(
            too_many(TopicPublishInfo::from_route("T", ordered("a:65536;b:1"))),
            ("b".to_owned(), 65_537)
        );

        // Static topics: the widest entry's totalQueues.
        let route = static_route(vec![
            ("broker-a", mapping(GLOBAL, 1, 4, &[0])),
            ("broker-b", mapping(GLOBAL, 1, i32::MAX, &[1])),
        ]);
        assert_eq!(
            too_many(TopicPublishInfo::from_route("T", route)),
            ("broker-b".to_owned(), 2_147_483_647)
        );
        let route = static_route(vec![
            ("broker-a", mapping(GLOBAL, 1, 40_000, &[0])),
            ("broker-b", mapping(Some("zone"), 1, 40_000, &[1])),
        ]);
        assert_eq!(
            too_many(TopicPublishInfo::from_route("T", route)),
            ("broker-b".to_owned(), 80_000)
        );
    }

    #[test]
    fn the_bound_itself_and_queues_never_written_are_fine() {
        let route = TopicRouteData {
            broker_datas: vec![broker("broker-a", &[0]), broker("broker-b", &[0])],
            queue_datas: vec![
                queue("broker-a", 6, 8, 65_535),
                queue("broker-b", 6, 8, 1),
                // Read-only, or without a master: never allocated, so never counted.
                queue("broker-c", 4, 8, i32::MAX),
                queue("broker-d", 6, 8, i32::MAX),
            ],
            ..TopicRouteData::default()
        };
        let info = TopicPublishInfo::from_route("T", route).expect("at the bound");
        assert_eq!(info.queues.len(), MAX_TOPIC_QUEUES);
        assert_eq!(info.queues[65_535].broker_name(), "broker-b");
        let info = TopicPublishInfo::from_route(
            "T",
            static_route(vec![("broker-a", mapping(GLOBAL, 1, 65_536, &[0]))]),
        )
        .expect("at the bound");
        assert_eq!(info.queues.len(), MAX_TOPIC_QUEUES);
    }

    #[test]
    fn negative_counts_are_zero() {
        let route = TopicRouteData {
            broker_datas: vec![broker("broker-a", &[0]), broker("broker-b", &[0])],
            queue_datas: vec![queue("broker-a", 6, 8, -3), queue("broker-b", 6, 8, 2)],
            ..TopicRouteData::default()
        };
        let info = TopicPublishInfo::from_route("T", route).expect("route");
        assert_eq!(names(&info), ["broker-b:0", "broker-b:1"]);

        let route = TopicRouteData {
            order_topic_conf: Some("broker-a:-5;broker-b:1".into()),
            ..TopicRouteData::default()
        };
        let info = TopicPublishInfo::from_route("T", route).expect("route");
        assert_eq!(names(&info), ["broker-b:0"]);

        let route = static_route(vec![
            ("broker-a", mapping(GLOBAL, 1, -4, &[0])),
            ("broker-b", mapping(GLOBAL, 1, 1, &[0])),
        ]);
        let info = TopicPublishInfo::from_route("T", route).expect("route");
        assert_eq!(endpoints(&info), ["__syslo__global__:0 -> broker-a"]);
    }
}

//! Where a topic can be written (Java: `TopicPublishInfo`,
//! `MQClientInstance.topicRouteData2TopicPublishInfo`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rmq_common::MessageQueue;
use rmq_remoting::body::{QueueData, TopicRouteData, perm};

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
}

impl TopicPublishInfo {
    /// Builds the queue list exactly as Java does (vectors V45, V46): the ordered-topic path
    /// when `orderTopicConf` is set; otherwise queue data sorted by broker name, writable ones
    /// only, brokers with a master only, `writeQueueNums` queues each.
    ///
    /// ```
    /// use rmq_client::route::TopicPublishInfo;
    /// use rmq_remoting::body::TopicRouteData;
    /// let route = TopicRouteData {
    ///     order_topic_conf: Some("broker-b:2;broker-a:1".into()),
    ///     ..TopicRouteData::default()
    /// };
    /// let info = TopicPublishInfo::from_route("T", route);
    /// let queues: Vec<String> = info.queues.iter().map(|q| format!("{}:{}", q.broker_name(), q.queue_id())).collect();
    /// assert_eq!(queues, ["broker-b:0", "broker-b:1", "broker-a:0"]);
    /// ```
    pub fn from_route(topic: &str, route: TopicRouteData) -> Self {
        let mut queues = Vec::new();
        let order_topic = match route.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
            Some(conf) => {
                for item in conf.split(';') {
                    let Some((broker, nums)) = item.split_once(':') else {
                        continue;
                    };
                    let nums: i32 = nums.trim().parse().unwrap_or(0);
                    queues.extend((0..nums).map(|id| MessageQueue::new(topic, broker, id)));
                }
                true
            }
            None => {
                let mut queue_datas: Vec<&QueueData> = route.queue_datas.iter().collect();
                // Java sorts with String.compareTo, which for these names is byte order.
                queue_datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
                for qd in queue_datas {
                    if !perm::is_writeable(qd.perm) {
                        continue;
                    }
                    let has_master = route
                        .broker_datas
                        .iter()
                        .find(|bd| bd.broker_name == qd.broker_name)
                        .is_some_and(|bd| bd.master_addr().is_some());
                    if !has_master {
                        continue;
                    }
                    queues.extend(
                        (0..qd.write_queue_nums)
                            .map(|id| MessageQueue::new(topic, qd.broker_name.as_str(), id)),
                    );
                }
                false
            }
        };
        Self {
            order_topic,
            have_route: false,
            queues,
            route: Arc::new(route),
            index: QueueIndex::new(),
        }
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
        let info = TopicPublishInfo::from_route("T", route);
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
        );
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
        let info = TopicPublishInfo::from_route("NewTopic", default_route_for_auto_create(tbw, 4));
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
        );
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
        let info = TopicPublishInfo::from_route("T", TopicRouteData::default());
        assert!(!info.ok());
        assert!(info.select_queue(Some("x")).is_none());
        assert!(info.select_any().is_none());
    }
}

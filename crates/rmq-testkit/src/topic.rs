//! Topic configurations a test broker holds (Java: `TopicConfig`, `TopicConfigManager`,
//! `TopicQueueMappingManager`).

use std::collections::BTreeMap;

use rmq_remoting::body::{METADATA_SCOPE_GLOBAL, TopicQueueMappingInfo, perm};

/// The topic new topics are created from when a broker auto-creates them (Java:
/// `TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`).
pub const AUTO_CREATE_TOPIC: &str = "TBW102";

/// Queues of [`AUTO_CREATE_TOPIC`] on a broker (Java: `BrokerConfig.defaultTopicQueueNums`).
pub const AUTO_CREATE_TOPIC_QUEUES: u32 = 8;

/// Permission of [`AUTO_CREATE_TOPIC`]: read, write and inherit (`RWX`, 7).
pub const AUTO_CREATE_TOPIC_PERM: i32 = perm::READ | perm::WRITE | perm::INHERIT;

/// Permission of ordinary topics: read and write (`RW-`, 6).
pub const DEFAULT_TOPIC_PERM: i32 = perm::READ | perm::WRITE;

/// The cluster every broker of a [`TestCluster`](crate::TestCluster) belongs to unless
/// configured otherwise (Java: `BrokerConfig.brokerClusterName`).
pub const DEFAULT_CLUSTER: &str = "DefaultCluster";

/// One topic on one broker (Java: `TopicConfig`).
///
/// ```
/// use rmq_testkit::TopicConfig;
/// let config = TopicConfig::new("TopicTest", 4, 6);
/// assert!(config.is_writeable() && !config.is_inherited());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicConfig {
    /// The topic's name.
    pub topic_name: String,
    /// Readable queues.
    pub read_queue_nums: u32,
    /// Writeable queues; sends to a queue id at or above this are refused.
    pub write_queue_nums: u32,
    /// Permission bits ([`rmq_remoting::body::perm`]).
    pub perm: i32,
}

impl TopicConfig {
    /// A topic with `queues` read and write queues.
    pub fn new(topic_name: impl Into<String>, queues: u32, perm: i32) -> Self {
        Self {
            topic_name: topic_name.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            perm,
        }
    }

    /// Whether producers may write to it.
    pub fn is_writeable(&self) -> bool {
        perm::is_writeable(self.perm)
    }

    /// Whether topics may be created from it (the inherit bit, as `TBW102` has).
    pub fn is_inherited(&self) -> bool {
        self.perm & perm::INHERIT == perm::INHERIT
    }
}

/// The logical queues of a static topic that one broker leads (Java: the broker's
/// `TopicQueueMappingDetail`, reduced to the newest `LogicQueueMappingItem` of each logical
/// queue, since a test broker's queues are never remapped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StaticTopic {
    /// Logical queues of the whole topic.
    pub(crate) total_queues: u32,
    /// When the mapping was made, in epoch milliseconds.
    pub(crate) epoch: i64,
    /// Logical id → physical id on this broker, for the logical queues it leads. Physical
    /// ids are 0.. in logical order, as Java's `createTopicConfigMapping` assigns them.
    pub(crate) leads: BTreeMap<i32, i32>,
}

impl StaticTopic {
    /// Leads `logical_ids` (duplicates ignored) of `total_queues`.
    pub(crate) fn new(total_queues: u32, logical_ids: &[u32], epoch: i64) -> Self {
        let mut logical: Vec<i32> = logical_ids.iter().map(|id| to_i32(*id)).collect();
        logical.sort_unstable();
        logical.dedup();
        // The k-th logical queue in order gets physical queue k.
        let leads = logical.into_iter().zip(0..).collect();
        Self {
            total_queues,
            epoch,
            leads,
        }
    }

    /// The physical queues backing it: one per led logical queue.
    pub(crate) fn physical_queues(&self) -> u32 {
        u32::try_from(self.leads.len()).unwrap_or(u32::MAX)
    }

    /// What the broker registers with the name server (Java:
    /// `TopicQueueMappingDetail.cloneAsMappingInfo`: always the global scope, never dirty,
    /// `currIdMap` holding the queues it leads).
    pub(crate) fn mapping_info(&self, topic: &str, broker: &str) -> TopicQueueMappingInfo {
        TopicQueueMappingInfo {
            bname: Some(broker.to_owned()),
            curr_id_map: self.leads.clone(),
            dirty: false,
            epoch: self.epoch,
            scope: Some(METADATA_SCOPE_GLOBAL.to_owned()),
            topic: Some(topic.to_owned()),
            total_queues: to_i32(self.total_queues),
        }
    }
}

/// A queue count as the wire's `int`.
pub(crate) fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

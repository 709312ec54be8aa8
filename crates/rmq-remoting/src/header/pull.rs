//! The pull header (Java: `PullMessageRequestHeader`), for tools and tests that read a
//! queue back; a producer never pulls.

use super::{CommandHeader, HeaderError, optional, put, put_opt, required};
use crate::ExtFields;

/// `PULL_MESSAGE` (11) asks this (Java: `PullSysFlag.FLAG_SUBSCRIPTION`): the subscription
/// comes with the request, so the broker needs no consumer heartbeat.
pub const PULL_FLAG_SUBSCRIPTION: i32 = 0x4;

/// Header of `PULL_MESSAGE` (11): messages of one queue from an offset. The answer's body is
/// the stored records back to back (`rmq_common::stored::decode_stored_messages`).
///
/// ```
/// use rmq_remoting::ExtFields;
/// use rmq_remoting::header::{CommandHeader, PullMessageRequestHeader};
///
/// let header = PullMessageRequestHeader::new("reader", "TopicTest", 2, 0);
/// let mut ext = ExtFields::new();
/// header.write_to(&mut ext);
/// assert_eq!(ext.get("subscription"), Some("*"));
/// assert_eq!(PullMessageRequestHeader::read_from(&ext), Ok(header));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullMessageRequestHeader {
    /// The consumer group (the broker creates it when it does not know it).
    pub consumer_group: String,
    /// The topic.
    pub topic: String,
    /// The queue.
    pub queue_id: i32,
    /// The first offset to read.
    pub queue_offset: i64,
    /// At most this many messages.
    pub max_msg_nums: i32,
    /// `PullSysFlag` bits.
    pub sys_flag: i32,
    /// The offset to commit (0: none).
    pub commit_offset: i64,
    /// How long the broker may hold the request for new messages (0: answer at once).
    pub suspend_timeout_millis: i64,
    /// The subscription expression (`*`: every tag).
    pub subscription: Option<String>,
    /// The subscription's version.
    pub sub_version: i64,
    /// `TAG` or `SQL92`.
    pub expression_type: Option<String>,
}

impl PullMessageRequestHeader {
    /// Up to 32 messages of `topic`'s `queue_id` from `offset`, every tag, answered at once.
    pub fn new(consumer_group: &str, topic: &str, queue_id: i32, offset: i64) -> Self {
        PullMessageRequestHeader {
            consumer_group: consumer_group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: 32,
            sys_flag: PULL_FLAG_SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".to_owned()),
            sub_version: 0,
            expression_type: Some("TAG".to_owned()),
        }
    }
}

impl CommandHeader for PullMessageRequestHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        put(ext, "consumerGroup", self.consumer_group.clone());
        put(ext, "topic", self.topic.clone());
        put(ext, "queueId", self.queue_id.to_string());
        put(ext, "queueOffset", self.queue_offset.to_string());
        put(ext, "maxMsgNums", self.max_msg_nums.to_string());
        put(ext, "sysFlag", self.sys_flag.to_string());
        put(ext, "commitOffset", self.commit_offset.to_string());
        put(
            ext,
            "suspendTimeoutMillis",
            self.suspend_timeout_millis.to_string(),
        );
        put_opt(ext, "subscription", self.subscription.as_ref());
        put(ext, "subVersion", self.sub_version.to_string());
        put_opt(ext, "expressionType", self.expression_type.as_ref());
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        const H: &str = "PullMessageRequestHeader";
        Ok(Self {
            consumer_group: required(ext, H, "consumerGroup")?,
            topic: required(ext, H, "topic")?,
            queue_id: required(ext, H, "queueId")?,
            queue_offset: required(ext, H, "queueOffset")?,
            max_msg_nums: required(ext, H, "maxMsgNums")?,
            sys_flag: required(ext, H, "sysFlag")?,
            commit_offset: required(ext, H, "commitOffset")?,
            suspend_timeout_millis: required(ext, H, "suspendTimeoutMillis")?,
            subscription: optional(ext, H, "subscription")?,
            sub_version: required(ext, H, "subVersion")?,
            expression_type: optional(ext, H, "expressionType")?,
        })
    }
}

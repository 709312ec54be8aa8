//! The request-reply header (Java: `ReplyMessageRequestHeader`).

use super::{CommandHeader, HeaderError, optional, put, put_opt, required};
use crate::ExtFields;

/// Header of `PUSH_REPLY_MESSAGE_TO_CLIENT` (326): a broker handing a reply to the client that
/// sent the request. The body is the reply's body.
///
/// ```
/// use rmq_remoting::ExtFields;
/// use rmq_remoting::header::{CommandHeader, ReplyMessageRequestHeader};
///
/// let header = ReplyMessageRequestHeader {
///     producer_group: "responder".into(),
///     topic: "DefaultCluster_REPLY_TOPIC".into(),
///     default_topic: "TBW102".into(),
///     default_topic_queue_nums: 4,
///     born_host: "127.0.0.1:50000".into(),
///     store_host: "127.0.0.1:10911".into(),
///     ..ReplyMessageRequestHeader::default()
/// };
/// let mut ext = ExtFields::new();
/// header.write_to(&mut ext);
/// assert_eq!(ReplyMessageRequestHeader::read_from(&ext), Ok(header));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyMessageRequestHeader {
    /// The responder's producer group.
    pub producer_group: String,
    /// The reply topic (`<cluster>_REPLY_TOPIC`).
    pub topic: String,
    /// The responder's create-topic key.
    pub default_topic: String,
    /// The responder's default queue count.
    pub default_topic_queue_nums: i32,
    /// The queue the reply was sent to.
    pub queue_id: i32,
    /// The reply's `sysFlag` (compression bits).
    pub sys_flag: i32,
    /// When the responder sent it (ms).
    pub born_timestamp: i64,
    /// The reply's user flag.
    pub flag: i32,
    /// The reply's property string.
    pub properties: Option<String>,
    /// Reconsume count.
    pub reconsume_times: Option<i32>,
    /// Unit mode.
    pub unit_mode: Option<bool>,
    /// The responder's address (`ip:port`).
    pub born_host: String,
    /// The broker's address (`ip:port`).
    pub store_host: String,
    /// When the broker stored the reply (ms).
    pub store_timestamp: i64,
}

impl CommandHeader for ReplyMessageRequestHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        put(ext, "producerGroup", self.producer_group.clone());
        put(ext, "topic", self.topic.clone());
        put(ext, "defaultTopic", self.default_topic.clone());
        put(
            ext,
            "defaultTopicQueueNums",
            self.default_topic_queue_nums.to_string(),
        );
        put(ext, "queueId", self.queue_id.to_string());
        put(ext, "sysFlag", self.sys_flag.to_string());
        put(ext, "bornTimestamp", self.born_timestamp.to_string());
        put(ext, "flag", self.flag.to_string());
        put_opt(ext, "properties", self.properties.as_ref());
        put_opt(ext, "reconsumeTimes", self.reconsume_times.as_ref());
        put_opt(ext, "unitMode", self.unit_mode.as_ref());
        put(ext, "bornHost", self.born_host.clone());
        put(ext, "storeHost", self.store_host.clone());
        put(ext, "storeTimestamp", self.store_timestamp.to_string());
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        const H: &str = "ReplyMessageRequestHeader";
        Ok(Self {
            producer_group: required(ext, H, "producerGroup")?,
            topic: required(ext, H, "topic")?,
            default_topic: required(ext, H, "defaultTopic")?,
            default_topic_queue_nums: required(ext, H, "defaultTopicQueueNums")?,
            queue_id: required(ext, H, "queueId")?,
            sys_flag: required(ext, H, "sysFlag")?,
            born_timestamp: required(ext, H, "bornTimestamp")?,
            flag: required(ext, H, "flag")?,
            properties: optional(ext, H, "properties")?,
            reconsume_times: optional(ext, H, "reconsumeTimes")?,
            unit_mode: optional(ext, H, "unitMode")?,
            born_host: required(ext, H, "bornHost")?,
            store_host: required(ext, H, "storeHost")?,
            store_timestamp: required(ext, H, "storeTimestamp")?,
        })
    }
}

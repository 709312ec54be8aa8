//! The recall headers (Java 5.3.2+: `RecallMessageRequestHeader`,
//! `RecallMessageResponseHeader`).

use super::{CommandHeader, HeaderError, optional, put, put_opt, required};
use crate::ExtFields;

/// Header of `RECALL_MESSAGE` (370): withdraw a timer message before it is delivered.
///
/// ```
/// use rmq_remoting::ExtFields;
/// use rmq_remoting::header::{CommandHeader, RecallMessageRequestHeader};
///
/// let header = RecallMessageRequestHeader {
///     producer_group: Some("pg".into()),
///     topic: "TopicTest".into(),
///     recall_handle: "djEgVG9waWNUZXN0IGJyb2tlci1hIDE3MDAwMDAwMDAwMDAgSUQ=".into(),
///     broker_name: Some("broker-a".into()),
/// };
/// let mut ext = ExtFields::new();
/// header.write_to(&mut ext);
/// assert_eq!(ext.get("bname"), Some("broker-a"));
/// assert_eq!(RecallMessageRequestHeader::read_from(&ext), Ok(header));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecallMessageRequestHeader {
    /// The producer group (namespace applied).
    pub producer_group: Option<String>,
    /// The message's topic (namespace applied).
    pub topic: String,
    /// The handle the send result carried.
    pub recall_handle: String,
    /// `bname`: the broker named in the handle.
    pub broker_name: Option<String>,
}

impl CommandHeader for RecallMessageRequestHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        put_opt(ext, "producerGroup", self.producer_group.as_ref());
        put(ext, "topic", self.topic.clone());
        put(ext, "recallHandle", self.recall_handle.clone());
        put_opt(ext, "bname", self.broker_name.as_ref());
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        const H: &str = "RecallMessageRequestHeader";
        Ok(Self {
            producer_group: optional(ext, H, "producerGroup")?,
            topic: required(ext, H, "topic")?,
            recall_handle: required(ext, H, "recallHandle")?,
            broker_name: optional(ext, H, "bname")?,
        })
    }
}

/// Header of a `RECALL_MESSAGE` answer: the recalled message's id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecallMessageResponseHeader {
    /// The recalled message's `UNIQ_KEY`.
    pub msg_id: String,
}

impl CommandHeader for RecallMessageResponseHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        put(ext, "msgId", self.msg_id.clone());
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        Ok(Self {
            msg_id: required(ext, "RecallMessageResponseHeader", "msgId")?,
        })
    }
}

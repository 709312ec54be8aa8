//! Send headers (Java: `SendMessageRequestHeader`, `SendMessageRequestHeaderV2`,
//! `SendMessageResponseHeader`).

use bytestring::ByteString;

use super::{CommandHeader, FastHeader, HeaderError, boolean, number, optional, put, required};
use crate::ExtFields;
use crate::code::request;

/// Header of a send request (Java: `SendMessageRequestHeader`).
///
/// On the wire it takes one of two shapes: long names for `SEND_MESSAGE` (10) and
/// `SEND_REPLY_MESSAGE` (324), written by this type's [`CommandHeader`] impl; single letters for
/// `SEND_MESSAGE_V2` (310), `SEND_BATCH_MESSAGE` (320) and `SEND_REPLY_MESSAGE_V2` (325), written
/// by [`SendMessageRequestHeaderV2`] in the fixed `FastCodesHeader` order `a..n`.
///
/// ```
/// use rmq_remoting::{ExtFields, header::{CommandHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2}};
///
/// let header = SendMessageRequestHeader {
///     producer_group: "pg".into(),
///     topic: "TopicTest".into(),
///     queue_id: 1,
///     born_timestamp: 1_700_000_000_000,
///     ..SendMessageRequestHeader::default()
/// };
/// let mut ext = ExtFields::new();
/// SendMessageRequestHeaderV2(header.clone()).write_to(&mut ext);
/// assert_eq!(ext.get("b"), Some("TopicTest"));
/// assert_eq!(SendMessageRequestHeaderV2::read_from(&ext).unwrap().0, header);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendMessageRequestHeader {
    /// `producerGroup` / `a`: the producer group, namespace included.
    pub producer_group: ByteString,
    /// `topic` / `b`: the topic, namespace included.
    pub topic: ByteString,
    /// `defaultTopic` / `c`: the topic new topics are created from (`TBW102`).
    pub default_topic: ByteString,
    /// `defaultTopicQueueNums` / `d`: queues of an auto-created topic (4).
    pub default_topic_queue_nums: i32,
    /// `queueId` / `e`: the target queue; negative lets the broker pick.
    pub queue_id: i32,
    /// `sysFlag` / `f`: compression and transaction bits.
    pub sys_flag: i32,
    /// `bornTimestamp` / `g`: client time in epoch milliseconds.
    pub born_timestamp: i64,
    /// `flag` / `h`: the message's user flag.
    pub flag: i32,
    /// `properties` / `i`: the encoded property string.
    pub properties: Option<ByteString>,
    /// `reconsumeTimes` / `j`.
    pub reconsume_times: Option<i32>,
    /// `unitMode` / `k`.
    pub unit_mode: Option<bool>,
    /// `maxReconsumeTimes` / `l`: only for `%RETRY%` topics.
    pub max_reconsume_times: Option<i32>,
    /// `batch` / `m`.
    pub batch: Option<bool>,
    /// `bname` / `n`: the target broker's name.
    pub broker_name: Option<ByteString>,
}

impl Default for SendMessageRequestHeader {
    /// Java's producer defaults: `defaultTopic` `TBW102` with 4 queues, everything else zero.
    fn default() -> Self {
        Self {
            producer_group: ByteString::new(),
            topic: ByteString::new(),
            default_topic: ByteString::from_static("TBW102"),
            default_topic_queue_nums: 4,
            queue_id: 0,
            sys_flag: 0,
            born_timestamp: 0,
            flag: 0,
            properties: None,
            reconsume_times: None,
            unit_mode: None,
            max_reconsume_times: None,
            batch: None,
            broker_name: None,
        }
    }
}

/// Wire names of each field: (V1 long name, V2 letter).
const NAMES: [(&str, &str); 14] = [
    ("producerGroup", "a"),
    ("topic", "b"),
    ("defaultTopic", "c"),
    ("defaultTopicQueueNums", "d"),
    ("queueId", "e"),
    ("sysFlag", "f"),
    ("bornTimestamp", "g"),
    ("flag", "h"),
    ("properties", "i"),
    ("reconsumeTimes", "j"),
    ("unitMode", "k"),
    ("maxReconsumeTimes", "l"),
    ("batch", "m"),
    ("bname", "n"),
];

/// A field's value on its way out: shared text, or a number or flag formatted only where
/// it is written.
enum Value<'a> {
    Text(&'a ByteString),
    Int(i64),
    Bool(bool),
}

/// A visit over a header's fields (one of the `visit` methods).
type Visit<'v> = dyn FnMut(&mut dyn FnMut(&'static str, Value<'_>)) + 'v;

/// Puts the visited fields into a map (text shared, numbers formatted once).
fn put_values(visit: &mut Visit<'_>, ext: &mut ExtFields) {
    visit(&mut |name, value| {
        let value = match value {
            Value::Text(text) => text.clone(),
            Value::Int(n) => number(n),
            Value::Bool(b) => boolean(b),
        };
        put(ext, name, value);
    });
}

/// Writes the visited fields straight out, numbers formatted on the stack.
fn write_values(visit: &mut Visit<'_>, field: &mut dyn FnMut(&str, &str)) {
    let mut digits = itoa::Buffer::new();
    visit(&mut |name, value| match value {
        Value::Text(text) => field(name, text),
        Value::Int(n) => field(name, digits.format(n)),
        Value::Bool(b) => field(name, if b { "true" } else { "false" }),
    });
}

impl SendMessageRequestHeader {
    /// Calls `field` with each present field, in wire order, under its V1 or V2 name.
    fn visit(&self, letters: bool, field: &mut dyn FnMut(&'static str, Value<'_>)) {
        let name = |i: usize| if letters { NAMES[i].1 } else { NAMES[i].0 };
        field(name(0), Value::Text(&self.producer_group));
        field(name(1), Value::Text(&self.topic));
        field(name(2), Value::Text(&self.default_topic));
        field(name(3), Value::Int(self.default_topic_queue_nums.into()));
        field(name(4), Value::Int(self.queue_id.into()));
        field(name(5), Value::Int(self.sys_flag.into()));
        field(name(6), Value::Int(self.born_timestamp));
        field(name(7), Value::Int(self.flag.into()));
        if let Some(properties) = &self.properties {
            field(name(8), Value::Text(properties));
        }
        if let Some(times) = self.reconsume_times {
            field(name(9), Value::Int(times.into()));
        }
        if let Some(unit_mode) = self.unit_mode {
            field(name(10), Value::Bool(unit_mode));
        }
        if let Some(times) = self.max_reconsume_times {
            field(name(11), Value::Int(times.into()));
        }
        if let Some(batch) = self.batch {
            field(name(12), Value::Bool(batch));
        }
        if let Some(broker_name) = &self.broker_name {
            field(name(13), Value::Text(broker_name));
        }
    }

    fn write_with(&self, ext: &mut ExtFields, letters: bool) {
        put_values(&mut |f| self.visit(letters, f), ext);
    }

    fn write_fields_with(&self, letters: bool, field: &mut dyn FnMut(&str, &str)) {
        write_values(&mut |f| self.visit(letters, f), field);
    }

    fn read_with(
        ext: &ExtFields,
        letters: bool,
        header: &'static str,
    ) -> Result<Self, HeaderError> {
        let name = |i: usize| if letters { NAMES[i].1 } else { NAMES[i].0 };
        Ok(Self {
            producer_group: required(ext, header, name(0))?,
            topic: required(ext, header, name(1))?,
            default_topic: required(ext, header, name(2))?,
            default_topic_queue_nums: required(ext, header, name(3))?,
            queue_id: required(ext, header, name(4))?,
            sys_flag: required(ext, header, name(5))?,
            born_timestamp: required(ext, header, name(6))?,
            flag: required(ext, header, name(7))?,
            properties: optional(ext, header, name(8))?,
            reconsume_times: optional(ext, header, name(9))?,
            unit_mode: optional(ext, header, name(10))?,
            max_reconsume_times: optional(ext, header, name(11))?,
            batch: optional(ext, header, name(12))?,
            broker_name: optional(ext, header, name(13))?,
        })
    }

    /// Reads the header in the shape the request `code` uses, as a broker does
    /// (Java: `SendMessageRequestHeader.parseRequestHeader`): letters for 310, 320 and 325,
    /// long names otherwise.
    ///
    /// ```
    /// use rmq_remoting::{ExtFields, code::request, header::{CommandHeader, SendMessageRequestHeader}};
    /// let mut ext = ExtFields::new();
    /// SendMessageRequestHeader { topic: "T".into(), ..Default::default() }.write_to(&mut ext);
    /// let header = SendMessageRequestHeader::read_for_code(request::SEND_MESSAGE, &ext).unwrap();
    /// assert_eq!(header.topic, "T");
    /// ```
    pub fn read_for_code(code: i32, ext: &ExtFields) -> Result<Self, HeaderError> {
        match code {
            request::SEND_MESSAGE_V2
            | request::SEND_BATCH_MESSAGE
            | request::SEND_REPLY_MESSAGE_V2 => {
                SendMessageRequestHeaderV2::read_from(ext).map(|h| h.0)
            }
            _ => Self::read_from(ext),
        }
    }
}

impl FastHeader for SendMessageRequestHeader {
    fn write_fields(&self, field: &mut dyn FnMut(&str, &str)) {
        self.write_fields_with(false, field);
    }
}

impl FastHeader for SendMessageRequestHeaderV2 {
    fn write_fields(&self, field: &mut dyn FnMut(&str, &str)) {
        self.0.write_fields_with(true, field);
    }
}

impl CommandHeader for SendMessageRequestHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        self.write_with(ext, false);
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        Self::read_with(ext, false, "SendMessageRequestHeader")
    }
}

/// The single-letter shape of [`SendMessageRequestHeader`] (Java: `SendMessageRequestHeaderV2`,
/// a `FastCodesHeader`): fields `a..n` in that fixed order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendMessageRequestHeaderV2(pub SendMessageRequestHeader);

impl CommandHeader for SendMessageRequestHeaderV2 {
    fn write_to(&self, ext: &mut ExtFields) {
        self.0.write_with(ext, true);
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        SendMessageRequestHeader::read_with(ext, true, "SendMessageRequestHeaderV2").map(Self)
    }
}

/// Header of a send response (Java: `SendMessageResponseHeader`, plus the plain ext fields
/// `TRACE_ON` and `MSG_REGION` a broker adds).
///
/// Written in the broker's binary order: `msgId, queueId, queueOffset, transactionId,
/// batchUniqId, recallHandle, TRACE_ON, MSG_REGION` (vectors.md V16).
///
/// ```
/// use rmq_remoting::{ExtFields, header::{CommandHeader, SendMessageResponseHeader}};
/// let ext: ExtFields = [("msgId", "C0A8002F00002A9F0000000012345678"), ("queueId", "1"),
///     ("queueOffset", "42")].into_iter().collect();
/// let header = SendMessageResponseHeader::read_from(&ext).unwrap();
/// assert_eq!((header.queue_id, header.queue_offset, header.trace_on), (1, 42, true));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendMessageResponseHeader {
    /// The offset message id the broker assigned (for a batch, comma-joined).
    pub msg_id: ByteString,
    /// The queue actually written.
    pub queue_id: i32,
    /// The logical offset in the queue (for a batch, the first message's).
    pub queue_offset: i64,
    /// Never set by the open-source broker.
    pub transaction_id: Option<ByteString>,
    /// 5.x: the batch's own id when stored as an inner batch.
    pub batch_uniq_id: Option<ByteString>,
    /// 5.x: handle for `RECALL_MESSAGE` of a timer message.
    pub recall_handle: Option<ByteString>,
    /// `MSG_REGION`: the broker's region (`DefaultRegion` when absent or empty).
    pub region_id: Option<ByteString>,
    /// `TRACE_ON`: anything but `"false"` (and absence) is on, as Java reads it.
    pub trace_on: bool,
}

impl SendMessageResponseHeader {
    /// Calls `field` with each present field, in the broker's binary order.
    fn visit(&self, field: &mut dyn FnMut(&'static str, Value<'_>)) {
        field("msgId", Value::Text(&self.msg_id));
        field("queueId", Value::Int(self.queue_id.into()));
        field("queueOffset", Value::Int(self.queue_offset));
        for (name, value) in [
            ("transactionId", &self.transaction_id),
            ("batchUniqId", &self.batch_uniq_id),
            ("recallHandle", &self.recall_handle),
        ] {
            if let Some(value) = value {
                field(name, Value::Text(value));
            }
        }
        field("TRACE_ON", Value::Bool(self.trace_on));
        if let Some(region) = &self.region_id {
            field("MSG_REGION", Value::Text(region));
        }
    }
}

impl FastHeader for SendMessageResponseHeader {
    fn write_fields(&self, field: &mut dyn FnMut(&str, &str)) {
        write_values(&mut |f| self.visit(f), field);
    }
}

impl CommandHeader for SendMessageResponseHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        put_values(&mut |f| self.visit(f), ext);
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        const H: &str = "SendMessageResponseHeader";
        Ok(Self {
            msg_id: required(ext, H, "msgId")?,
            queue_id: required(ext, H, "queueId")?,
            queue_offset: required(ext, H, "queueOffset")?,
            transaction_id: optional(ext, H, "transactionId")?,
            batch_uniq_id: optional(ext, H, "batchUniqId")?,
            recall_handle: optional(ext, H, "recallHandle")?,
            region_id: optional::<ByteString>(ext, H, "MSG_REGION")?.filter(|r| !r.is_empty()),
            trace_on: ext.get("TRACE_ON") != Some("false"),
        })
    }
}

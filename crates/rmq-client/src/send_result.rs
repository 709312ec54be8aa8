//! The outcome of a send (Java: `SendResult`, `SendStatus`).

use std::fmt;

use rmq_common::{ByteString, MessageQueue};

/// How the broker stored the message (Java: `SendStatus`). Anything but `SendOk` was stored
/// but not with the durability asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Stored (code 0).
    SendOk,
    /// Stored, but the disk flush timed out (code 10).
    FlushDiskTimeout,
    /// Stored, but the slave flush timed out (code 12).
    FlushSlaveTimeout,
    /// Stored, but no slave was available (code 11).
    SlaveNotAvailable,
}

impl SendStatus {
    /// The status for a broker response code; `None` for error codes
    /// (Java: `MQClientAPIImpl.processSendResponse`).
    ///
    /// ```
    /// use rmq_client::SendStatus;
    /// assert_eq!(SendStatus::from_response_code(10), Some(SendStatus::FlushDiskTimeout));
    /// assert_eq!(SendStatus::from_response_code(2), None);
    /// ```
    pub fn from_response_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(SendStatus::SendOk),
            10 => Some(SendStatus::FlushDiskTimeout),
            12 => Some(SendStatus::FlushSlaveTimeout),
            11 => Some(SendStatus::SlaveNotAvailable),
            _ => None,
        }
    }

    /// Java's name, e.g. `SEND_OK`.
    pub fn name(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }
}

impl fmt::Display for SendStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of a successful send (Java: `SendResult`).
///
/// `Display` reads like Java's `SendResult.toString()`:
///
/// ```
/// use rmq_client::{SendResult, SendStatus};
/// use rmq_common::MessageQueue;
///
/// let result = SendResult::new(
///     SendStatus::SendOk,
///     "C0A80164123418B4AAC2075BCD150001",
///     MessageQueue::new("TopicTest", "broker-a", 1),
///     42,
/// )
/// .with_offset_msg_id("C0A8002F00002A9F0000000012345678");
/// assert_eq!(
///     result.to_string(),
///     "SendResult [sendStatus=SEND_OK, msgId=C0A80164123418B4AAC2075BCD150001, \
///      offsetMsgId=C0A8002F00002A9F0000000012345678, messageQueue=MessageQueue \
///      [topic=TopicTest, brokerName=broker-a, queueId=1], queueOffset=42]"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendResult {
    /// How it was stored.
    pub status: SendStatus,
    /// The message's `UNIQ_KEY` (for a batch, the inner keys joined by `,`): the id users see.
    pub msg_id: ByteString,
    /// The broker's offset message id (store host + commit-log offset; comma-joined for a
    /// batch).
    pub offset_msg_id: Option<ByteString>,
    /// The queue written, topic without namespace.
    pub queue: MessageQueue,
    /// The message's offset in the queue (a batch's first message).
    pub queue_offset: i64,
    /// The transaction id, if the broker set one.
    pub transaction_id: Option<ByteString>,
    /// The broker's region (`DefaultRegion` when it sent none).
    pub region_id: ByteString,
    /// Whether message tracing is on at the broker.
    pub trace_on: bool,
    /// 5.x: the handle that recalls this timer message before it is due (see
    /// [`Producer::recall`](crate::Producer::recall)); `None` for other messages and brokers.
    pub recall_handle: Option<ByteString>,
}

impl SendResult {
    /// A result as a broker gives it, for tests and fakes: no offset message id or
    /// transaction id, the default region, tracing on. Fields added later (5.x's recall
    /// handle) get their defaults.
    pub fn new(
        status: SendStatus,
        msg_id: impl Into<ByteString>,
        queue: MessageQueue,
        queue_offset: i64,
    ) -> Self {
        SendResult {
            status,
            msg_id: msg_id.into(),
            offset_msg_id: None,
            queue,
            queue_offset,
            transaction_id: None,
            recall_handle: None,
            region_id: ByteString::from_static("DefaultRegion"),
            trace_on: true,
        }
    }

    /// The same result with the broker's offset message id.
    pub fn with_offset_msg_id(mut self, id: impl Into<ByteString>) -> Self {
        self.offset_msg_id = Some(id.into());
        self
    }

    /// The same result with a transaction id.
    pub fn with_transaction_id(mut self, id: impl Into<ByteString>) -> Self {
        self.transaction_id = Some(id.into());
        self
    }
}

impl fmt::Display for SendResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue={}, queueOffset={}]",
            self.status,
            self.msg_id,
            self.offset_msg_id.as_deref().unwrap_or("null"),
            self.queue,
            self.queue_offset
        )
    }
}

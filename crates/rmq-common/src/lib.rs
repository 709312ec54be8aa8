//! The data model shared by every rmq crate: messages and their properties, batches, message
//! queues, `sysFlag` bits, compression, message ids, name validation, namespaces and client ids.
//!
//! Nothing here does I/O; everything is deterministic given its inputs (clock and network
//! interfaces are read only where Java reads them, and can be injected for tests).
//!
//! ```
//! use rmq_common::Message;
//!
//! let msg = Message::builder("TopicTest")
//!     .tags("TagA")
//!     .keys(["OrderID188"])
//!     .body("Hello RocketMQ")
//!     .build()
//!     .unwrap();
//! assert_eq!(msg.tags(), Some("TagA"));
//! assert_eq!(msg.properties().get("WAIT"), Some("true"));
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
// Tests may unwrap: a failed unwrap is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod address;
pub mod batch;
pub mod client_id;
pub mod compression;
pub mod message;
pub mod message_id;
pub mod namespace;
pub mod properties;
pub mod queue;
pub mod recall;
pub mod reply;
pub mod stored;
pub mod sysflag;
pub mod validators;

pub use batch::{BatchEntry, BatchError, MessageBatch};
/// The shared, immutable string type names and ids use (re-exported from `bytestring`).
pub use bytestring::ByteString;
pub use compression::{CompressionError, CompressionType};
pub use message::{Message, MessageBuilder, MessageError};
pub use message_id::{MessageIdError, OffsetMessageId, UniqIdGenerator};
pub use properties::{Properties, PropertyError, SeparatorStyle};
pub use queue::MessageQueue;
pub use validators::ValidationError;

/// Hex text for tests written against the byte vectors of vectors.md.
#[cfg(test)]
mod test_hex {
    /// Upper-case hex of `bytes`.
    pub(crate) fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    /// The bytes of hex text (test input only: panics on malformed text).
    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
            .collect()
    }
}

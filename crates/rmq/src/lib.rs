//! rmq: a RocketMQ producer client for Rust that speaks the RocketMQ remoting protocol byte
//! for byte, so it works unchanged against Apache RocketMQ 4.9.x and 5.x name servers and
//! brokers, and against the rocketmq-rust servers.
//!
//! This is the crate applications depend on. It re-exports the layers below it:
//! - [`Producer`] and everything about sending, from [`client`];
//! - [`common`]: messages, properties, batches, message ids, validators, namespaces,
//!   compression;
//! - [`remoting`]: the remoting protocol, `RemotingCommand`, its codec, client and server.
//!
//! Most programs only need the [`prelude`]:
//!
//! ```
//! use rmq::prelude::*;
//!
//! let msg = Message::builder("TopicTest")
//!     .tags("TagA")
//!     .keys(["OrderID188"])
//!     .body("Hello RocketMQ")
//!     .build()?;
//! assert_eq!(msg.topic(), "TopicTest");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub use rmq_client as client;
pub use rmq_client::blocking;
pub use rmq_client::{
    Error, ErrorKind, LocalTransactionState, Producer, Result, SendAttempt, SendError, SendResult,
    SendStatus, TransactionCheck, TransactionListener, TransactionProducer, TransactionSendResult,
};
pub use rmq_common as common;
pub use rmq_remoting as remoting;

/// The types most programs use, in one import: `use rmq::prelude::*;`.
pub mod prelude {
    pub use rmq_client::{
        Error, ErrorKind, LocalTransactionState, MessageQueueSelector, Producer, SelectByHash,
        SelectByRandom, SelectByRoundRobin, SendError, SendResult, SendStatus, TransactionCheck,
        TransactionListener, TransactionProducer, TransactionSendResult,
    };
    pub use rmq_common::{
        CompressionType, Message, MessageBatch, MessageQueue, OffsetMessageId, UniqIdGenerator,
    };
    pub use rmq_remoting::{RemotingCommand, SerializeType};
}

/// The README's code blocks, compiled and run as doctests so the quick start stays true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

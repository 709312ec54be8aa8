//! The RocketMQ producer (Java: `DefaultMQProducer`, `DefaultMQProducerImpl`,
//! `MQClientInstance`, `MQClientAPIImpl`, `MQFaultStrategy`).
//!
//! ```no_run
//! use rmq_client::Producer;
//! use rmq_common::Message;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let producer = Producer::builder("please_rename_unique_group_name")
//!     .name_server("127.0.0.1:9876")
//!     .build()?;
//! producer.start().await?;
//! let result = producer.send(Message::new("TopicTest", "Hello RocketMQ")).await?;
//! println!("{result}");
//! producer.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod blocking;
mod config;
mod error;
mod fault;
mod hook;
mod instance;
pub mod observe;
mod producer;
mod recall;
mod request;
#[doc(hidden)]
pub mod route;
mod selector;
mod send;
mod send_result;
mod trace;
mod transaction;
mod transport;

pub use config::{DEFAULT_RETRY_RESPONSE_CODES, NAMESRV_ADDR_ENV, ProducerBuilder, ProducerConfig};
pub use error::{Error, ErrorKind, Result, SendAttempt, SendError};
pub use fault::FaultFlavor;
pub use hook::{
    CheckForbiddenContext, CheckForbiddenHook, MessageType, SendContext, SendMessageHook, SendMode,
};
pub use observe::TraceContextInjector;
pub use producer::{Producer, ServiceState};
pub use request::{ReplyRequest, ReplyResult};
pub use selector::{
    JavaHash, MessageQueueSelector, SelectByHash, SelectByRandom, SelectByRoundRobin,
};
pub use send::{
    AsyncRequest, AutoBatch, CallbackRequest, InFlight, OnewayRequest, Payload, SendFuture,
    SendRequest,
};
pub use send_result::{SendResult, SendStatus};
pub use trace::{
    CONTENT_SEPARATOR, DEFAULT_TRACE_TOPIC, PubRecord, RECORD_SEPARATOR, TraceDecodeError,
    TraceMessageType, decode_pub_records,
};
pub use transaction::{
    CheckStats, LocalTransactionState, TransactionCheck, TransactionListener, TransactionProducer,
    TransactionRequest, TransactionSendResult,
};

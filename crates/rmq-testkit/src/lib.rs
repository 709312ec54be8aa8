//! An in-process RocketMQ test cluster: one name server and any number of brokers that answer
//! a producer on the wire as the Java 4.9.8 servers do, built on
//! [`rmq_remoting::RemotingServer`].
//!
//! It is what rmq's tests prove the producer against, and it covers what a real broker cannot
//! do on demand: injected error codes, latency, dropped and refused connections, brokers that
//! stop, restart on the same port or join at run time. Everything listens on `127.0.0.1`.
//!
//! What it emulates (Java class in brackets):
//! - the name server's `GET_ROUTEINFO_BY_TOPIC` in both JSON dialects
//!   (`DefaultRequestProcessor`, `RouteInfoManager`);
//! - the broker's sends, single, V2 and batch, with `TBW102` auto-create
//!   (`SendMessageProcessor`, `TopicConfigManager`), offsets and message ids as a commit log
//!   assigns them (`CommitLog`);
//! - heartbeats and unregistrations (`ClientManageProcessor`);
//! - 5.x static topics: logical queues spread over brokers, listed in the route's
//!   `topicQueueMappingByBroker`, swapped for physical queues on send, and refused with
//!   `NOT_LEADER_FOR_QUEUE` by a broker that does not lead them (Java 5.3.3:
//!   `RouteInfoManager`, `TopicQueueMappingManager`, `SendMessageProcessor`).
//!
//! Brokers register with the name server in-process rather than over `REGISTER_BROKER`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use rmq_remoting::{RemotingClient, RemotingCommand, code::{request, response}};
//! use rmq_remoting::header::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
//! use rmq_testkit::TestCluster;
//!
//! let cluster = TestCluster::builder().brokers(2).topic("TopicTest", 4).start().await?;
//! let broker = cluster.broker("broker-a").expect("started");
//!
//! let client = RemotingClient::builder().build()?;
//! let send = RemotingCommand::request(request::SEND_MESSAGE_V2)
//!     .with_header(SendMessageRequestHeaderV2(SendMessageRequestHeader {
//!         producer_group: "pg".into(),
//!         topic: "TopicTest".into(),
//!         queue_id: 1,
//!         properties: Some("TAGS\u{1}TagA".into()),
//!         ..SendMessageRequestHeader::default()
//!     }))
//!     .with_body("Hello RocketMQ");
//! let answer = client.invoke_sync(&broker.addr(), send, Duration::from_secs(3)).await?;
//! assert_eq!(answer.code(), response::SUCCESS);
//!
//! let stored = broker.wait_for_messages("TopicTest", 1, Duration::from_secs(3)).await?;
//! assert_eq!(stored[0].tags.as_deref(), Some("TagA"));
//! assert_eq!(answer.ext_field("msgId"), Some(&*stored[0].offset_msg_id));
//! cluster.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod acl;
mod broker;
mod client_manage;
mod clients;
mod cluster;
mod error;
mod fault;
mod namesrv;
mod pull;
mod reply;
mod route;
mod send;
mod store;
mod timer;
mod tls;
mod topic;
mod transaction;

pub use broker::TestBroker;
pub use cluster::{DEFAULT_MAX_STORED_MESSAGES, TestCluster, TestClusterBuilder};
pub use error::TestkitError;
pub use store::StoredMessage;
pub use timer::TIMER_TOPIC;
pub use topic::{
    AUTO_CREATE_TOPIC, AUTO_CREATE_TOPIC_PERM, AUTO_CREATE_TOPIC_QUEUES, DEFAULT_CLUSTER,
    DEFAULT_TOPIC_PERM, TopicConfig,
};
pub use transaction::HALF_TOPIC;

//! The RocketMQ remoting protocol: [`RemotingCommand`], its frame codec with both header
//! serializations (JSON and ROCKETMQ), request and response codes, typed headers and JSON
//! bodies; and the transport: [`RemotingClient`] (Java: `NettyRemotingClient`) and
//! [`RemotingServer`] (Java: `NettyRemotingServer`).
//!
//! This crate speaks the wire format byte for byte as the Java peers do (Java:
//! `RemotingCommand`, `RocketMQSerializable`, `RemotingSerializable`, `NettyEncoder`,
//! `NettyDecoder`). It is usable alone for a custom protocol over the same framing.
//!
//! ```
//! use bytes::BytesMut;
//! use tokio_util::codec::{Decoder, Encoder};
//! use rmq_remoting::{FrameCodec, RemotingCommand, SerializeType, code::request};
//! use rmq_remoting::header::GetRouteInfoRequestHeader;
//!
//! let request = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
//!     .with_header(GetRouteInfoRequestHeader::new("TopicTest"))
//!     .with_serialize_type(SerializeType::RocketMq)
//!     .with_opaque(1);
//! let mut buf = BytesMut::new();
//! FrameCodec::default().encode(&request, &mut buf).unwrap();
//! let decoded = FrameCodec::default().decode(&mut buf).unwrap().unwrap();
//! assert_eq!(decoded, request);
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod acl;
pub mod body;
mod client;
pub mod code;
pub mod codec;
mod command;
mod connection;
pub mod deadline;
mod error;
mod ext_fields;
pub mod header;
mod hook;
mod language;
mod processor;
mod reply;
mod server;
pub mod tls;
pub mod version;

pub use client::{CONNECTIONS, ConfigError, RemotingClient, RemotingClientBuilder, ResponseFuture};
pub use codec::{CodecError, FrameCodec};
pub use command::{FLAG_ONEWAY, FLAG_RESPONSE, RemotingCommand, SerializeType};
pub use connection::Channel;
pub use error::{ErrorKind, RemotingError};
pub use ext_fields::ExtFields;
pub use hook::RpcHook;
pub use language::{LanguageCode, UnknownLanguage};
pub use processor::{ProcessFuture, RequestProcessor};
pub use server::{RemotingServer, RemotingServerBuilder, ServerHandle};

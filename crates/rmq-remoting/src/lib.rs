//! The RocketMQ remoting protocol: [`RemotingCommand`], its frame codec with both header
//! serializations (JSON and ROCKETMQ), request and response codes, typed headers and JSON
//! bodies.
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

pub mod body;
pub mod code;
pub mod codec;
mod command;
mod ext_fields;
pub mod header;
mod language;
pub mod version;

pub use codec::{CodecError, FrameCodec};
pub use command::{FLAG_ONEWAY, FLAG_RESPONSE, RemotingCommand, SerializeType};
pub use ext_fields::ExtFields;
pub use language::{LanguageCode, UnknownLanguage};

//! Requests a producer would send, built by hand (no producer exists at this layer).
#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use rmq_common::properties::SeparatorStyle;
use rmq_common::{Message, MessageBatch, Properties};
use rmq_remoting::body::TopicRouteData;
use rmq_remoting::code::request;
use rmq_remoting::header::{
    GetRouteInfoRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader,
};
use rmq_remoting::{RemotingClient, RemotingCommand, RemotingError, SerializeType, version};

pub const TIMEOUT: Duration = Duration::from_secs(3);
pub const BORN: i64 = 1_700_000_000_000;
pub const UNIQ: &str = "C0A80164123418B4AAC2075BCD150001";

pub fn client() -> RemotingClient {
    RemotingClient::builder()
        .connect_timeout(Duration::from_millis(500))
        .build()
        .expect("client")
}

/// The V14 message's properties: KEYS, UNIQ_KEY, WAIT, TAGS in Java order.
pub fn v14_properties() -> String {
    let props: Properties = [
        ("KEYS", "OrderID188"),
        ("UNIQ_KEY", UNIQ),
        ("WAIT", "true"),
        ("TAGS", "TagA"),
    ]
    .into_iter()
    .collect();
    props.encode(SeparatorStyle::NoTrailing)
}

pub fn header(topic: &str, queue_id: i32) -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: topic.into(),
        queue_id,
        born_timestamp: BORN,
        properties: Some(v14_properties().into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        broker_name: Some("broker-a".into()),
        ..SendMessageRequestHeader::default()
    }
}

/// SEND_MESSAGE_V2 (310) with letters.
pub fn send_v2(header: SendMessageRequestHeader, body: impl Into<Bytes>) -> RemotingCommand {
    RemotingCommand::request(request::SEND_MESSAGE_V2)
        .with_version(version::V4_9_8)
        .with_header(SendMessageRequestHeaderV2(header))
        .with_body(body)
}

/// SEND_MESSAGE (10) with long names.
pub fn send_v1(header: SendMessageRequestHeader, body: impl Into<Bytes>) -> RemotingCommand {
    RemotingCommand::request(request::SEND_MESSAGE)
        .with_version(version::V4_9_8)
        .with_header(header)
        .with_body(body)
}

/// SEND_BATCH_MESSAGE (320) of `bodies`, each message tagged with its index.
pub fn send_batch(topic: &str, queue_id: i32, bodies: &[&str]) -> RemotingCommand {
    let messages = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut msg = Message::new(topic, body.as_bytes().to_vec());
            msg.properties_mut()
                .insert("UNIQ_KEY", format!("{}{i}", &UNIQ[..31]));
            msg.properties_mut().insert("TAGS", format!("T{i}"));
            msg
        })
        .collect();
    let batch = MessageBatch::new(messages).expect("batch");
    let header = SendMessageRequestHeader {
        properties: Some(batch.properties().encode(SeparatorStyle::NoTrailing).into()),
        batch: Some(true),
        ..header(topic, queue_id)
    };
    RemotingCommand::request(request::SEND_BATCH_MESSAGE)
        .with_header(SendMessageRequestHeaderV2(header))
        .with_body(batch.encode_body(SeparatorStyle::NoTrailing).expect("body"))
}

pub fn route_query(topic: &str, version: i32) -> RemotingCommand {
    RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
        .with_version(version)
        .with_header(GetRouteInfoRequestHeader::new(topic))
}

pub async fn query_route(
    client: &RemotingClient,
    namesrv: &str,
    request: RemotingCommand,
) -> (RemotingCommand, Option<TopicRouteData>) {
    let response = client
        .invoke_sync(namesrv, request, TIMEOUT)
        .await
        .expect("name server answers");
    let route = (response.code() == 0)
        .then(|| TopicRouteData::from_json(response.body()).expect("route parses"));
    (response, route)
}

pub async fn invoke(
    client: &RemotingClient,
    addr: &str,
    request: RemotingCommand,
) -> Result<RemotingCommand, RemotingError> {
    client.invoke_sync(addr, request, TIMEOUT).await
}

pub fn response_header(response: &RemotingCommand) -> SendMessageResponseHeader {
    response.decode_header().expect("send response header")
}

/// The send response header of a response that must be a success.
pub fn stored_header(response: &RemotingCommand) -> SendMessageResponseHeader {
    assert_eq!(
        response.code(),
        rmq_remoting::code::response::SUCCESS,
        "{:?}",
        response.remark()
    );
    response_header(response)
}

pub fn with_serialization(request: RemotingCommand, kind: SerializeType) -> RemotingCommand {
    request.with_serialize_type(kind)
}

//! Replies (Java 5.x: `ReplyMessageProcessor`): a responder's SEND_REPLY_MESSAGE(_V2) is stored
//! on the reply topic like a send, then pushed (PUSH_REPLY_MESSAGE_TO_CLIENT, a request the
//! client answers) to the connection of the client named in `REPLY_TO_CLIENT`.

use std::sync::Arc;
use std::time::Duration;

use rmq_common::Properties;
use rmq_common::properties::keys;
use rmq_remoting::code::{request, response};
use rmq_remoting::header::{ReplyMessageRequestHeader, SendMessageRequestHeader};
use rmq_remoting::{Channel, ExtFields, RemotingCommand};

use crate::broker::BrokerState;
use crate::send;
use crate::store::now_ms;

/// How long the broker waits for the requester to take a reply: shorter than Java's 10 s
/// (`Broker2Client.callClient`), so a test whose requester is gone fails fast.
const PUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// Answers SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325).
pub(crate) async fn process(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
) -> RemotingCommand {
    let stored = send::process(state, channel, request).await;
    if stored.code() != response::SUCCESS {
        return stored;
    }
    let empty = ExtFields::new();
    let ext = request.ext_fields().unwrap_or(&empty);
    let header = match SendMessageRequestHeader::read_for_code(request.code(), ext) {
        Ok(header) => header,
        Err(e) => {
            return RemotingCommand::response(response::SYSTEM_ERROR).with_remark(e.to_string());
        }
    };
    match push(state, channel, request, &header).await {
        Ok(()) => stored,
        Err(remark) => RemotingCommand::response(response::SYSTEM_ERROR).with_remark(remark),
    }
}

async fn push(
    state: &BrokerState,
    responder: &Channel,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
) -> Result<(), String> {
    let mut properties = Properties::decode(header.properties.as_deref().unwrap_or_default());
    let client = properties
        .get(keys::REPLY_TO_CLIENT)
        .ok_or("the reply has no REPLY_TO_CLIENT")?
        .to_owned();
    let requester = state
        .clients
        .for_client(&client)
        .ok_or_else(|| format!("push reply message to {client} fail: no channel of the client"))?;
    properties.insert_static(keys::PUSH_REPLY_TIME, now_ms().to_string());
    let reply = ReplyMessageRequestHeader {
        producer_group: header.producer_group.to_string(),
        topic: header.topic.to_string(),
        default_topic: header.default_topic.to_string(),
        default_topic_queue_nums: header.default_topic_queue_nums,
        queue_id: header.queue_id,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        flag: header.flag,
        properties: Some(properties.encode(rmq_common::SeparatorStyle::NoTrailing)),
        reconsume_times: header.reconsume_times,
        unit_mode: header.unit_mode,
        born_host: responder.addr().to_owned(),
        store_host: state.addr().to_string(),
        store_timestamp: now_ms(),
    };
    let cmd = RemotingCommand::request(request::PUSH_REPLY_MESSAGE_TO_CLIENT)
        .with_header(reply)
        .with_body(request.body().clone())
        .with_version(rmq_remoting::version::V4_9_8);
    match requester.invoke(cmd, PUSH_TIMEOUT).await {
        Ok(answer) if answer.code() == response::SUCCESS => Ok(()),
        Ok(answer) => Err(format!(
            "push reply message to {client} fail: {}",
            answer.remark().unwrap_or_default()
        )),
        Err(e) => Err(format!("push reply message to {client} fail: {e}")),
    }
}

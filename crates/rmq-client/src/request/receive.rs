//! Replies a broker pushes to this client (Java: `ClientRemotingProcessor.receiveReplyMessage`,
//! `processReplyMessage`; protocol.md §14.4).

use std::sync::Arc;

use bytes::Bytes;
use rmq_common::properties::keys;
use rmq_common::{ByteString, CompressionType, Message, Properties, sysflag};
use rmq_remoting::RemotingCommand;
use rmq_remoting::code::response;
use rmq_remoting::header::ReplyMessageRequestHeader;

use super::table::ReplyTable;
use crate::send::now_millis;

/// The most a compressed reply body may inflate to: bounds a decompression bomb.
const MAX_REPLY_BODY: usize = 64 * 1024 * 1024;

/// Answers PUSH_REPLY_MESSAGE_TO_CLIENT (326): the reply goes to the request waiting for it,
/// and the broker hears SUCCESS whether or not one waits (an unmatched reply is logged).
pub(crate) async fn receive(
    table: Arc<ReplyTable>,
    from: ByteString,
    request: RemotingCommand,
) -> RemotingCommand {
    match reply_message(request).await {
        Ok(reply) => {
            let correlation_id = reply
                .properties()
                .get(keys::CORRELATION_ID)
                .unwrap_or_default()
                .to_owned();
            if !table.deliver(&correlation_id, reply) {
                tracing::warn!(
                    %correlation_id,
                    reply_from = %from,
                    "receive reply message, but not matched any request"
                );
            }
            RemotingCommand::response(response::SUCCESS)
        }
        Err(reason) => {
            tracing::warn!(reply_from = %from, %reason, "unreadable reply message");
            RemotingCommand::response(response::SYSTEM_ERROR)
                .with_remark("process reply message fail")
        }
    }
}

/// The reply as the requester sees it: body decompressed (off the connection's task),
/// properties parsed, `ARRIVE_TIME` set to now.
async fn reply_message(request: RemotingCommand) -> Result<Message, String> {
    let header = request
        .decode_header::<ReplyMessageRequestHeader>()
        .map_err(|e| e.to_string())?;
    let body = if header.sys_flag & sysflag::COMPRESSED_FLAG != 0 {
        let kind = CompressionType::from_sys_flag(header.sys_flag).map_err(|e| e.to_string())?;
        let packed = request.body().clone();
        tokio::task::spawn_blocking(move || kind.decompress(&packed, MAX_REPLY_BODY))
            .await
            .map_err(|e| e.to_string())?
            .map(Bytes::from)
            .map_err(|e| format!("reply body: {e}"))?
    } else {
        request.body().clone()
    };
    let mut reply = Message::new(header.topic, body);
    reply.set_flag(header.flag);
    let mut properties = Properties::decode(header.properties.as_deref().unwrap_or_default());
    properties.insert_static(keys::ARRIVE_TIME, now_millis().to_string());
    *reply.properties_mut() = properties;
    Ok(reply)
}

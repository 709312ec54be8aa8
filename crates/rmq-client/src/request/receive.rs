//! Replies a broker pushes to this client (Java: `ClientRemotingProcessor.receiveReplyMessage`,
//! `processReplyMessage`; protocol.md §14.4).

use bytes::Bytes;
use rmq_common::properties::keys;
use rmq_common::{CompressionType, Message, Properties, sysflag};
use rmq_remoting::RemotingCommand;
use rmq_remoting::code::response;
use rmq_remoting::header::ReplyMessageRequestHeader;

use super::table::ReplyTable;

/// The most a compressed reply body may inflate to (Java bounds bodies at 4 MiB before
/// compression; this leaves room for larger broker settings while bounding a bomb).
const MAX_REPLY_BODY: usize = 64 * 1024 * 1024;

/// Answers PUSH_REPLY_MESSAGE_TO_CLIENT (326): the reply goes to the request waiting for it,
/// and the broker hears SUCCESS whether or not one waits (an unmatched reply is logged).
pub(crate) fn receive(
    table: &ReplyTable,
    from: &str,
    request: &RemotingCommand,
) -> RemotingCommand {
    match reply_message(request) {
        Ok(reply) => {
            let correlation_id = reply
                .properties()
                .get(keys::CORRELATION_ID)
                .unwrap_or_default()
                .to_owned();
            if !table.deliver(&correlation_id, reply) {
                tracing::warn!(
                    %correlation_id,
                    reply_from = from,
                    "receive reply message, but not matched any request"
                );
            }
            RemotingCommand::response(response::SUCCESS)
        }
        Err(reason) => {
            tracing::warn!(reply_from = from, %reason, "unreadable reply message");
            RemotingCommand::response(response::SYSTEM_ERROR)
                .with_remark("process reply message fail")
        }
    }
}

/// The reply as the requester sees it: body decompressed, properties parsed, `ARRIVE_TIME`
/// set to now.
fn reply_message(request: &RemotingCommand) -> Result<Message, String> {
    let header = request
        .decode_header::<ReplyMessageRequestHeader>()
        .map_err(|e| e.to_string())?;
    let body = if header.sys_flag & sysflag::COMPRESSED_FLAG != 0 {
        CompressionType::from_sys_flag(header.sys_flag)
            .and_then(|kind| kind.decompress(request.body(), MAX_REPLY_BODY))
            .map(Bytes::from)
            .map_err(|e| format!("reply body: {e}"))?
    } else {
        request.body().clone()
    };
    let mut reply = Message::new(header.topic, body);
    reply.set_flag(header.flag);
    let mut properties = Properties::decode(header.properties.as_deref().unwrap_or_default());
    properties.insert_static(keys::ARRIVE_TIME, now_ms().to_string());
    *reply.properties_mut() = properties;
    Ok(reply)
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

//! Reading messages back (Java: `PullMessageProcessor`, without subscriptions, filters or
//! long polling): PULL_MESSAGE answers the retained messages of one queue from an offset as
//! commit-log records, so tools and examples read a test broker as they read a real one.

use rmq_remoting::RemotingCommand;
use rmq_remoting::code::response;
use rmq_remoting::header::PullMessageRequestHeader;

use crate::broker::BrokerState;

/// Java: `maxMsgNums` is capped by the broker's `maxTransferCountOnMessageInMemory` (32).
const MAX_MESSAGES: i64 = 32;

/// PULL_MESSAGE (11): up to `maxMsgNums` messages of `topic`/`queueId` from `queueOffset`;
/// PULL_NOT_FOUND when there are none.
pub(crate) fn pull(state: &BrokerState, request: &RemotingCommand) -> RemotingCommand {
    let header = match request.decode_header::<PullMessageRequestHeader>() {
        Ok(header) => header,
        Err(e) => {
            return RemotingCommand::response(response::SYSTEM_ERROR).with_remark(e.to_string());
        }
    };
    let (topic, queue_id, from) = (header.topic.as_str(), header.queue_id, header.queue_offset);
    let max = i64::from(header.max_msg_nums).clamp(1, MAX_MESSAGES);
    let queue = state
        .store
        .select(|m| m.topic == topic && m.queue_id == queue_id);
    let max_offset = queue.last().map_or(0, |m| m.queue_offset + 1);
    let found: Vec<_> = queue
        .iter()
        .filter(|m| m.queue_offset >= from)
        .take(usize::try_from(max).unwrap_or(1))
        .collect();
    let next = found.last().map_or(from, |m| m.queue_offset + 1);
    let answer = if found.is_empty() {
        RemotingCommand::response(response::PULL_NOT_FOUND)
    } else {
        // A record too large for its length fields is left out, as a real store never has one.
        let body: Vec<u8> = found
            .iter()
            .filter_map(|m| m.record(state.addr()).encode().ok())
            .flatten()
            .collect();
        RemotingCommand::response(response::SUCCESS).with_body(body)
    };
    answer
        .with_ext_field("nextBeginOffset", next.to_string())
        .with_ext_field(
            "minOffset",
            queue.first().map_or(0, |m| m.queue_offset).to_string(),
        )
        .with_ext_field("maxOffset", max_offset.to_string())
}

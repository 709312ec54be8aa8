//! Client registration (Java 4.9.8: `ClientManageProcessor.heartBeat` / `unregisterClient`).
//!
//! The broker records what it receives so tests can assert on it, and the connection each
//! client heartbeats on, where transaction checks and replies go.

use rmq_remoting::body::HeartbeatData;
use rmq_remoting::code::response;
use rmq_remoting::header::UnregisterClientRequestHeader;
use rmq_remoting::{Channel, RemotingCommand};

use crate::broker::BrokerState;

/// `HEART_BEAT` (34): records the body and the connection, and answers SUCCESS.
pub(crate) fn heartbeat(
    state: &BrokerState,
    channel: &Channel,
    request: &RemotingCommand,
) -> RemotingCommand {
    match HeartbeatData::from_json(request.body()) {
        Ok(heartbeat) => {
            state.clients.register(channel, &heartbeat);
            state.record_heartbeat(heartbeat);
            RemotingCommand::response(response::SUCCESS)
        }
        Err(e) => RemotingCommand::response(response::SYSTEM_ERROR).with_remark(e.to_string()),
    }
}

/// `UNREGISTER_CLIENT` (35): records the header and answers SUCCESS.
pub(crate) fn unregister(state: &BrokerState, request: &RemotingCommand) -> RemotingCommand {
    match request.decode_header::<UnregisterClientRequestHeader>() {
        Ok(header) => {
            if let Some(group) = &header.producer_group {
                state.clients.unregister(group, &header.client_id);
            }
            state.record_unregister(header);
            RemotingCommand::response(response::SUCCESS)
        }
        Err(e) => RemotingCommand::response(response::SYSTEM_ERROR).with_remark(e.to_string()),
    }
}

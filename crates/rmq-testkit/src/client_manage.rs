//! Client registration (Java 4.9.8: `ClientManageProcessor.heartBeat` / `unregisterClient`).
//!
//! The broker records what it receives so tests can assert on it; nothing else depends on it
//! (there are no consumers and no transaction checks to route).

use rmq_remoting::RemotingCommand;
use rmq_remoting::body::HeartbeatData;
use rmq_remoting::code::response;
use rmq_remoting::header::UnregisterClientRequestHeader;

use crate::broker::BrokerState;

/// `HEART_BEAT` (34): records the body and answers SUCCESS.
pub(crate) fn heartbeat(state: &BrokerState, request: &RemotingCommand) -> RemotingCommand {
    match HeartbeatData::from_json(request.body()) {
        Ok(heartbeat) => {
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
            state.record_unregister(header);
            RemotingCommand::response(response::SUCCESS)
        }
        Err(e) => RemotingCommand::response(response::SYSTEM_ERROR).with_remark(e.to_string()),
    }
}

//! Request and response codes (Java: `RequestCode`, `ResponseCode`, `RemotingSysResponseCode`).
//!
//! Codes are plain `i32` constants so they match on the wire value directly; [`request_name`]
//! and [`response_name`] turn them into Java's names for logs and errors.

/// Generates the constants of one code table plus a name lookup over the same list.
macro_rules! code_table {
    ($(#[$fn_doc:meta])* fn $lookup:ident; $($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        $($(#[$doc])* pub const $name: i32 = $value;)*

        $(#[$fn_doc])*
        pub fn $lookup(code: i32) -> Option<&'static str> {
            match code {
                $($name => Some(stringify!($name)),)*
                _ => None,
            }
        }
    };
}

/// Request codes a producer sends or receives (Java: `RequestCode`; identical in 4.9.8 and 5.x).
pub mod request {
    code_table! {
        /// Java's name for a request code, e.g. `Some("SEND_MESSAGE_V2")` for 310.
        ///
        /// ```
        /// use rmq_remoting::code::request;
        /// assert_eq!(request::name(310), Some("SEND_MESSAGE_V2"));
        /// assert_eq!(request::name(-7), None);
        /// ```
        fn name;
        /// Send with the long-name header (`SendMessageRequestHeader`).
        SEND_MESSAGE = 10;
        /// Read messages of a queue from an offset (a consumer's request; tools read with it).
        PULL_MESSAGE = 11;
        /// Query messages by key.
        QUERY_MESSAGE = 12;
        /// Create or update a topic on a broker.
        UPDATE_AND_CREATE_TOPIC = 17;
        /// Largest offset of a queue (the 5.x fault detector's probe).
        GET_MAX_OFFSET = 30;
        /// Look a message up by its offset id.
        VIEW_MESSAGE_BY_ID = 33;
        /// Client heartbeat with a `HeartbeatData` body.
        HEART_BEAT = 34;
        /// A client leaves a group.
        UNREGISTER_CLIENT = 35;
        /// Commit or roll back a half message (oneway).
        END_TRANSACTION = 37;
        /// Consumers of a group.
        GET_CONSUMER_LIST_BY_GROUP = 38;
        /// Broker asks a producer for a transaction's state (oneway).
        CHECK_TRANSACTION_STATE = 39;
        /// Broker notice that a group's consumers changed (oneway).
        NOTIFY_CONSUMER_IDS_CHANGED = 40;
        /// Check a client's configuration.
        CHECK_CLIENT_CONFIG = 46;
        /// Route of one topic, from a name server.
        GET_ROUTEINFO_BY_TOPIC = 105;
        /// Cluster and broker tables, from a name server.
        GET_BROKER_CLUSTER_INFO = 106;
        /// Broker asks a consumer to reset its offsets.
        RESET_CONSUMER_CLIENT_OFFSET = 220;
        /// Broker asks a consumer for its offsets.
        GET_CONSUMER_STATUS_FROM_CLIENT = 221;
        /// Broker asks a client for consumer running info.
        GET_CONSUMER_RUNNING_INFO = 307;
        /// Broker asks a consumer to consume one message directly.
        CONSUME_MESSAGE_DIRECTLY = 309;
        /// Send with the single-letter header (`SendMessageRequestHeaderV2`).
        SEND_MESSAGE_V2 = 310;
        /// Send a batch (always the V2 header).
        SEND_BATCH_MESSAGE = 320;
        /// Send a reply message with the long-name header.
        SEND_REPLY_MESSAGE = 324;
        /// Send a reply message with the V2 header.
        SEND_REPLY_MESSAGE_V2 = 325;
        /// Broker pushes a reply to the requesting client.
        PUSH_REPLY_MESSAGE_TO_CLIENT = 326;
        /// Recall a delayed message (5.x).
        RECALL_MESSAGE = 370;
    }
}

/// Response codes (Java: `RemotingSysResponseCode`, `ResponseCode`).
pub mod response {
    code_table! {
        /// Java's name for a response code, e.g. `Some("SYSTEM_BUSY")` for 2.
        ///
        /// ```
        /// use rmq_remoting::code::response;
        /// assert_eq!(response::name(2), Some("SYSTEM_BUSY"));
        /// ```
        fn name;
        /// Success.
        SUCCESS = 0;
        /// Generic server error; retryable for sends.
        SYSTEM_ERROR = 1;
        /// Server overloaded; retryable for sends in 5.x.
        SYSTEM_BUSY = 2;
        /// No processor for the request code.
        REQUEST_CODE_NOT_SUPPORTED = 3;
        /// Transaction failed.
        TRANSACTION_FAILED = 4;
        /// Stored, but the disk flush timed out.
        FLUSH_DISK_TIMEOUT = 10;
        /// Stored, but no slave was available.
        SLAVE_NOT_AVAILABLE = 11;
        /// Stored, but the slave flush timed out.
        FLUSH_SLAVE_TIMEOUT = 12;
        /// The message was rejected as illegal.
        MESSAGE_ILLEGAL = 13;
        /// The service is not available; retryable.
        SERVICE_NOT_AVAILABLE = 14;
        /// Version not supported.
        VERSION_NOT_SUPPORTED = 15;
        /// No permission; retryable.
        NO_PERMISSION = 16;
        /// The topic does not exist; retryable.
        TOPIC_NOT_EXIST = 17;
        /// The topic exists already.
        TOPIC_EXIST_ALREADY = 18;
        /// Pull found nothing.
        PULL_NOT_FOUND = 19;
        /// Pull again at once.
        PULL_RETRY_IMMEDIATELY = 20;
        /// Pull offset moved.
        PULL_OFFSET_MOVED = 21;
        /// Query found nothing.
        QUERY_NOT_FOUND = 22;
        /// Subscription expression failed to parse.
        SUBSCRIPTION_PARSE_FAILED = 23;
        /// Subscription does not exist.
        SUBSCRIPTION_NOT_EXIST = 24;
        /// Subscription is not the latest.
        SUBSCRIPTION_NOT_LATEST = 25;
        /// Subscription group does not exist.
        SUBSCRIPTION_GROUP_NOT_EXIST = 26;
        /// Filter data does not exist.
        FILTER_DATA_NOT_EXIST = 27;
        /// Filter data is not the latest.
        FILTER_DATA_NOT_LATEST = 28;
        /// Invalid parameter (5.x).
        INVALID_PARAMETER = 29;
        /// Transaction should commit.
        TRANSACTION_SHOULD_COMMIT = 200;
        /// Transaction should roll back.
        TRANSACTION_SHOULD_ROLLBACK = 201;
        /// Transaction state unknown.
        TRANSACTION_STATE_UNKNOW = 202;
        /// Transaction state group wrong.
        TRANSACTION_STATE_GROUP_WRONG = 203;
        /// No buyer id; retryable.
        NO_BUYER_ID = 204;
        /// Not in the current unit; retryable.
        NOT_IN_CURRENT_UNIT = 205;
        /// Consumer not online.
        CONSUMER_NOT_ONLINE = 206;
        /// Consume timed out.
        CONSUME_MSG_TIMEOUT = 207;
        /// No message.
        NO_MESSAGE = 208;
        /// Flow control.
        FLOW_CONTROL = 215;
        /// Not the leader of the queue (5.x).
        NOT_LEADER_FOR_QUEUE = 501;
        /// Illegal operation (5.x).
        ILLEGAL_OPERATION = 604;
        /// The server is shutting down; retry elsewhere (5.x).
        GO_AWAY = 1500;
    }
}

/// Java's name for a request code, or `"UNKNOWN"`.
///
/// ```
/// assert_eq!(rmq_remoting::code::request_name(105), "GET_ROUTEINFO_BY_TOPIC");
/// ```
pub fn request_name(code: i32) -> &'static str {
    request::name(code).unwrap_or("UNKNOWN")
}

/// Java's name for a response code, or `"UNKNOWN"`.
///
/// ```
/// assert_eq!(rmq_remoting::code::response_name(17), "TOPIC_NOT_EXIST");
/// ```
pub fn response_name(code: i32) -> &'static str {
    response::name(code).unwrap_or("UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve() {
        assert_eq!(
            request_name(request::SEND_BATCH_MESSAGE),
            "SEND_BATCH_MESSAGE"
        );
        assert_eq!(response_name(response::GO_AWAY), "GO_AWAY");
        assert_eq!(response_name(9999), "UNKNOWN");
    }
}

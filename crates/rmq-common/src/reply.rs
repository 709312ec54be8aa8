//! Request-reply messages (Java: `MessageUtil.createReplyMessage`, `MixAll.getReplyTopic`,
//! `MixAll.REPLY_TOPIC_POSTFIX`, `MixAll.REPLY_MESSAGE_FLAG`; protocol.md §14).

use bytes::Bytes;

use crate::Message;
use crate::properties::keys;

/// What ends a cluster's reply topic name (Java: `MixAll.REPLY_TOPIC_POSTFIX`).
pub const REPLY_TOPIC_POSTFIX: &str = "REPLY_TOPIC";

/// The `MSG_TYPE` of a reply (Java: `MixAll.REPLY_MESSAGE_FLAG`); a producer sends such a
/// message with `SEND_REPLY_MESSAGE` (324) or `SEND_REPLY_MESSAGE_V2` (325).
pub const REPLY_MESSAGE_FLAG: &str = "reply";

/// The topic replies travel through in `cluster` (Java: `MixAll.getReplyTopic`).
///
/// ```
/// assert_eq!(rmq_common::reply::reply_topic("DefaultCluster"), "DefaultCluster_REPLY_TOPIC");
/// ```
pub fn reply_topic(cluster: &str) -> String {
    format!("{cluster}_{REPLY_TOPIC_POSTFIX}")
}

/// A request message cannot be replied to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The request lacks `CLUSTER`, which the broker sets when it stores a message: it was
    /// not read from a broker (Java: `ClientErrorCode.CREATE_REPLY_MESSAGE_EXCEPTION`, 10007).
    #[error(
        "create reply message fail, requestMessage error, property[CLUSTER] is null: reply to a request read from a broker"
    )]
    MissingCluster,
}

/// The reply to `request` carrying `body` (Java: `MessageUtil.createReplyMessage`): topic
/// `<cluster>_REPLY_TOPIC`, `MSG_TYPE=reply`, and the request's `CORRELATION_ID`,
/// `REPLY_TO_CLIENT` and `TTL`, which route it back to the requester.
///
/// # Errors
///
/// [`ReplyError::MissingCluster`] if `request` has no `CLUSTER` property.
///
/// ```
/// use rmq_common::Message;
/// use rmq_common::properties::keys;
/// use rmq_common::reply::create_reply_message;
///
/// // As a responder reads it from the broker.
/// let mut request = Message::new("Prices", "EURUSD?");
/// let props = request.properties_mut();
/// props.insert(keys::CLUSTER, "DefaultCluster");
/// props.insert(keys::CORRELATION_ID, "0f8fad5b-d9cb-469f-a165-70867728950e");
/// props.insert(keys::REPLY_TO_CLIENT, "192.168.1.100@12345#1234567890123");
/// props.insert(keys::TTL, "3000");
///
/// let reply = create_reply_message(&request, "1.0842").unwrap();
/// assert_eq!(reply.topic(), "DefaultCluster_REPLY_TOPIC");
/// assert_eq!(reply.properties().get(keys::MSG_TYPE), Some("reply"));
/// assert_eq!(reply.properties().get(keys::TTL), Some("3000"));
/// assert!(create_reply_message(&Message::new("Prices", "?"), "x").is_err());
/// ```
pub fn create_reply_message(
    request: &Message,
    body: impl Into<Bytes>,
) -> Result<Message, ReplyError> {
    let props = request.properties();
    let cluster = props.get(keys::CLUSTER).ok_or(ReplyError::MissingCluster)?;
    let mut reply = Message::new(reply_topic(cluster), body);
    let reply_props = reply.properties_mut();
    reply_props.insert_static(keys::MSG_TYPE, REPLY_MESSAGE_FLAG);
    for key in [keys::CORRELATION_ID, keys::REPLY_TO_CLIENT, keys::TTL] {
        if let Some(value) = props.get_shared(key) {
            reply_props.insert_static(key, value.clone());
        }
    }
    Ok(reply)
}

//! JSON bodies (Java: `RemotingSerializable` subclasses): topic routes and heartbeats.
//!
//! Bodies are fastjson output: properties sorted alphabetically, nulls omitted. Decoding is
//! tolerant: unknown keys are ignored, `null` collections read as empty, and the invalid-JSON
//! route dialect of old name servers (bare integer map keys) is accepted.

mod heartbeat;
mod lenient;
mod route;

pub use heartbeat::{ConsumerData, HeartbeatData, ProducerData};
pub use lenient::{quote_bare_integer_keys, unquote_broker_ids};
pub use route::{
    BrokerData, LOGICAL_QUEUE_MOCK_BROKER_NAME_NOT_EXIST, LOGICAL_QUEUE_MOCK_BROKER_PREFIX,
    MASTER_ID, METADATA_SCOPE_GLOBAL, QueueData, TopicQueueMappingInfo, TopicRouteData,
    mock_broker_name, perm,
};

/// A JSON body that cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[error("malformed {body} JSON body: {source}")]
pub struct BodyError {
    /// Which body, e.g. `"TopicRouteData"`.
    pub body: &'static str,
    /// The parser's complaint, with line and column.
    #[source]
    pub source: serde_json::Error,
}

/// Deserializes `null` as the type's default (fastjson peers may write `null` collections).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

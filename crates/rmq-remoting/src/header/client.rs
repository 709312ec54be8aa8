//! Client registration headers (Java: `UnregisterClientRequestHeader`).

use super::{CommandHeader, HeaderError, optional, put, put_opt, required};
use crate::ExtFields;

/// Header of `UNREGISTER_CLIENT` (35), sent to every broker when a producer shuts down.
///
/// Fields are written in Java's `HashMap` order (`producerGroup`, `clientID`), vectors.md V55.
///
/// ```
/// use rmq_remoting::header::UnregisterClientRequestHeader;
/// let header = UnregisterClientRequestHeader::producer("192.168.1.100@1#2", "pg");
/// assert_eq!(header.consumer_group, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnregisterClientRequestHeader {
    /// The leaving client's id (`ip@instance`).
    pub client_id: String,
    /// The producer group it leaves, if any.
    pub producer_group: Option<String>,
    /// The consumer group it leaves, if any.
    pub consumer_group: Option<String>,
}

impl UnregisterClientRequestHeader {
    /// The header for a producer group leaving.
    pub fn producer(client_id: impl Into<String>, producer_group: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            producer_group: Some(producer_group.into()),
            consumer_group: None,
        }
    }
}

impl CommandHeader for UnregisterClientRequestHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        put_opt(ext, "producerGroup", self.producer_group.as_ref());
        put(ext, "clientID", self.client_id.clone());
        put_opt(ext, "consumerGroup", self.consumer_group.as_ref());
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        const H: &str = "UnregisterClientRequestHeader";
        Ok(Self {
            client_id: required(ext, H, "clientID")?,
            producer_group: optional(ext, H, "producerGroup")?,
            consumer_group: optional(ext, H, "consumerGroup")?,
        })
    }
}

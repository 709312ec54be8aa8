//! Route lookup header (Java: `GetRouteInfoRequestHeader`).

use super::{CommandHeader, HeaderError, optional, put, put_opt, required};
use crate::ExtFields;

/// Header of `GET_ROUTEINFO_BY_TOPIC` (105), sent to a name server.
///
/// ```
/// use rmq_remoting::header::GetRouteInfoRequestHeader;
/// let header = GetRouteInfoRequestHeader::new("TopicTest");
/// assert_eq!(header.accept_standard_json_only, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetRouteInfoRequestHeader {
    /// The topic, namespace included.
    pub topic: String,
    /// Ask a 4.9.4+ name server for standard JSON whatever the request version (5.x field).
    pub accept_standard_json_only: Option<bool>,
}

impl GetRouteInfoRequestHeader {
    /// The header for `topic`.
    pub fn new(topic: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            accept_standard_json_only: None,
        }
    }
}

impl CommandHeader for GetRouteInfoRequestHeader {
    fn write_to(&self, ext: &mut ExtFields) {
        put(ext, "topic", self.topic.clone());
        put_opt(
            ext,
            "acceptStandardJsonOnly",
            self.accept_standard_json_only.as_ref(),
        );
    }

    fn read_from(ext: &ExtFields) -> Result<Self, HeaderError> {
        const H: &str = "GetRouteInfoRequestHeader";
        Ok(Self {
            topic: required(ext, H, "topic")?,
            accept_standard_json_only: optional(ext, H, "acceptStandardJsonOnly")?,
        })
    }
}

//! Heartbeat bodies (Java: `HeartbeatData`, `ProducerData`, `ConsumerData`).

use serde::{Deserialize, Serialize};

use super::{BodyError, null_as_default};

/// The body of `HEART_BEAT` (34) (Java: `HeartbeatData`).
///
/// The 4.9.8 shape has only `clientID`, `consumerDataSet` and `producerDataSet`; 5.x adds
/// `heartbeatFingerprint` and `withoutSub`, written only when set.
///
/// ```
/// use rmq_remoting::body::HeartbeatData;
/// let hb = HeartbeatData::for_producers("192.168.1.100@12345#1234567890123", ["CLIENT_INNER_PRODUCER", "pg"]);
/// assert_eq!(
///     String::from_utf8(hb.to_json()).unwrap(),
///     r#"{"clientID":"192.168.1.100@12345#1234567890123","consumerDataSet":[],"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"},{"groupName":"pg"}]}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatData {
    /// The client id (`ip@instance`).
    #[serde(rename = "clientID", default)]
    pub client_id: String,
    /// The client's consumer groups.
    #[serde(default, deserialize_with = "null_as_default")]
    pub consumer_data_set: Vec<ConsumerData>,
    /// 5.x heartbeat-v2 fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_fingerprint: Option<i64>,
    /// The client's producer groups.
    #[serde(default, deserialize_with = "null_as_default")]
    pub producer_data_set: Vec<ProducerData>,
    /// 5.x: heartbeat without subscriptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub without_sub: Option<bool>,
}

impl HeartbeatData {
    /// A producer-only heartbeat in the 4.9.8 shape.
    pub fn for_producers<G: Into<String>>(
        client_id: impl Into<String>,
        groups: impl IntoIterator<Item = G>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            producer_data_set: groups
                .into_iter()
                .map(|g| ProducerData {
                    group_name: g.into(),
                })
                .collect(),
            ..Self::default()
        }
    }

    /// The body bytes.
    pub fn to_json(&self) -> Vec<u8> {
        // Plain data with string keys only: serialization cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a heartbeat body.
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        serde_json::from_slice(body).map_err(|source| BodyError {
            body: "HeartbeatData",
            source,
        })
    }
}

/// One producer group of a heartbeat (Java: `ProducerData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerData {
    /// The group's name, namespace included.
    pub group_name: String,
}

/// One consumer group of a heartbeat (Java: `ConsumerData`); only the name is kept, the
/// subscription details a consumer sends are skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerData {
    /// The group's name, namespace included.
    #[serde(default)]
    pub group_name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v54_five_x_body_and_round_trip() {
        let mut hb = HeartbeatData::for_producers(
            "192.168.1.100@12345#1234567890123",
            ["CLIENT_INNER_PRODUCER", "pg"],
        );
        hb.heartbeat_fingerprint = Some(0);
        hb.without_sub = Some(false);
        let json = String::from_utf8(hb.to_json()).expect("utf-8");
        assert_eq!(
            json,
            r#"{"clientID":"192.168.1.100@12345#1234567890123","consumerDataSet":[],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"},{"groupName":"pg"}],"withoutSub":false}"#
        );
        assert_eq!(
            HeartbeatData::from_json(json.as_bytes()).expect("parses"),
            hb
        );
    }

    #[test]
    fn consumer_details_are_skipped() {
        let json = br#"{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"t"}],"consumeType":"CONSUME_PASSIVELY"}],"producerDataSet":null}"#;
        let hb = HeartbeatData::from_json(json).expect("parses");
        assert_eq!(hb.consumer_data_set[0].group_name, "g");
        assert!(hb.producer_data_set.is_empty());
    }
}

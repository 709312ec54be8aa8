//! Topic route bodies (Java: `TopicRouteData`, `BrokerData`, `QueueData`, `PermName`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{BodyError, lenient::quote_bare_integer_keys, null_as_default};

/// The broker id of a master in [`BrokerData::broker_addrs`] (Java: `MixAll.MASTER_ID`).
pub const MASTER_ID: i64 = 0;

/// Topic and queue permission bits (Java: `PermName`).
pub mod perm {
    /// Priority.
    pub const PRIORITY: i32 = 8;
    /// Readable.
    pub const READ: i32 = 4;
    /// Writeable.
    pub const WRITE: i32 = 2;
    /// Inherit.
    pub const INHERIT: i32 = 1;

    /// Whether `perm` allows writes.
    ///
    /// ```
    /// assert!(rmq_remoting::body::perm::is_writeable(6));
    /// assert!(!rmq_remoting::body::perm::is_writeable(4));
    /// ```
    pub const fn is_writeable(perm: i32) -> bool {
        perm & WRITE == WRITE
    }

    /// Whether `perm` allows reads.
    pub const fn is_readable(perm: i32) -> bool {
        perm & READ == READ
    }

    /// Java's `perm2String`: `RW-` for 6, `RWX` for 7.
    ///
    /// ```
    /// assert_eq!(rmq_remoting::body::perm::to_string(7), "RWX");
    /// ```
    pub fn to_string(perm: i32) -> String {
        let flag = |bit: i32, c: char| if perm & bit == bit { c } else { '-' };
        [flag(READ, 'R'), flag(WRITE, 'W'), flag(INHERIT, 'X')]
            .into_iter()
            .collect()
    }
}

/// The route of one topic, as a name server returns it (Java: `TopicRouteData`).
///
/// Fields serialize in fastjson's order (alphabetical), with quoted broker-id keys.
///
/// ```
/// use rmq_remoting::body::TopicRouteData;
/// let legacy = br#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911"},"brokerName":"b","cluster":"c"}],"queueDatas":[]}"#;
/// let route = TopicRouteData::from_json(legacy).unwrap();
/// assert_eq!(route.broker_datas[0].master_addr(), Some("127.0.0.1:10911"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRouteData {
    /// The brokers that serve the topic.
    #[serde(default, deserialize_with = "null_as_default")]
    pub broker_datas: Vec<BrokerData>,
    /// Filter servers by broker address (usually empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub filter_server_table: BTreeMap<String, Vec<String>>,
    /// Ordered-topic configuration `brokerName:num;...`, when the name server has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    /// The topic's queues on each broker.
    #[serde(default, deserialize_with = "null_as_default")]
    pub queue_datas: Vec<QueueData>,
    /// 5.x static topics: logical-queue mappings by broker, kept as received (Java:
    /// `topicQueueMappingByBroker`). A producer must route a static topic through these
    /// instead of `queue_datas` (protocol.md §8.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<serde_json::Map<String, serde_json::Value>>,
}

impl TopicRouteData {
    /// Whether the route describes a 5.x static topic (a non-empty queue mapping and no
    /// ordered-topic configuration).
    pub fn is_static_topic(&self) -> bool {
        self.order_topic_conf.is_none()
            && self
                .topic_queue_mapping_by_broker
                .as_ref()
                .is_some_and(|m| !m.is_empty())
    }

    /// Parses a route body in either dialect: standard JSON (4.9.4+ name servers, rocketmq-rust)
    /// or fastjson's bare integer keys (older name servers, or requests with version < 401).
    pub fn from_json(body: &[u8]) -> Result<Self, BodyError> {
        serde_json::from_slice(&quote_bare_integer_keys(body)).map_err(|source| BodyError {
            body: "TopicRouteData",
            source,
        })
    }

    /// Standard JSON, as a 4.9.4+ name server writes it.
    pub fn to_json(&self) -> Vec<u8> {
        // Plain data with string keys only: serialization cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The bare-integer-key dialect, as a name server before 4.9.4 writes it (vector V43).
    pub fn to_legacy_json(&self) -> Vec<u8> {
        super::unquote_broker_ids(&self.to_json())
    }
}

/// One broker group: a master and its slaves (Java: `BrokerData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrokerData {
    /// Addresses by broker id; id [`MASTER_ID`] (0) is the master.
    #[serde(default, deserialize_with = "null_as_default")]
    pub broker_addrs: BTreeMap<i64, String>,
    /// The broker group's name.
    #[serde(default)]
    pub broker_name: String,
    /// The cluster it belongs to.
    #[serde(default)]
    pub cluster: String,
    /// 5.x: whether a slave may act as master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_acting_master: Option<bool>,
    /// 5.x: the zone, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// The master's address, if the group has a master.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&MASTER_ID).map(String::as_str)
    }
}

/// A topic's queues on one broker (Java: `QueueData`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueData {
    /// The broker group's name.
    #[serde(default)]
    pub broker_name: String,
    /// Permission bits (see [`perm`]).
    #[serde(default)]
    pub perm: i32,
    /// Readable queues.
    #[serde(default)]
    pub read_queue_nums: i32,
    /// Topic system flag.
    #[serde(default)]
    pub topic_sys_flag: i32,
    /// Writeable queues.
    #[serde(default)]
    pub write_queue_nums: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    const V13_BODY: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.47:10911","1":"192.168.0.47:10921"},"brokerName":"broker-a","cluster":"TestCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;

    fn v42_expected() -> TopicRouteData {
        TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: [
                    (0, "192.168.0.47:10911".to_owned()),
                    (1, "192.168.0.47:10921".to_owned()),
                ]
                .into_iter()
                .collect(),
                broker_name: "broker-a".into(),
                cluster: "TestCluster".into(),
                enable_acting_master: None,
                zone_name: None,
            }],
            filter_server_table: BTreeMap::new(),
            order_topic_conf: None,
            topic_queue_mapping_by_broker: None,
            queue_datas: vec![QueueData {
                broker_name: "broker-a".into(),
                perm: 6,
                read_queue_nums: 8,
                topic_sys_flag: 0,
                write_queue_nums: 8,
            }],
        }
    }

    #[test]
    fn v42_standard_route_json() {
        let route = TopicRouteData::from_json(V13_BODY.as_bytes()).expect("parses");
        assert_eq!(route, v42_expected());
        assert_eq!(
            route.broker_datas[0].master_addr(),
            Some("192.168.0.47:10911")
        );
        // Serializing gives the name server's exact bytes back.
        assert_eq!(String::from_utf8(route.to_json()).expect("utf-8"), V13_BODY);
    }

    #[test]
    fn v43_legacy_unquoted_keys() {
        let legacy = V13_BODY.replace(r#""0":"#, "0:").replace(r#""1":"#, "1:");
        assert_eq!(legacy.len(), 256);
        let route = TopicRouteData::from_json(legacy.as_bytes()).expect("parses");
        assert_eq!(route, v42_expected());
    }

    #[test]
    fn v44_five_x_route_with_extra_keys() {
        let v5 = V13_BODY.replace(
            r#""cluster":"TestCluster""#,
            r#""cluster":"TestCluster","enableActingMaster":false"#,
        );
        let route = TopicRouteData::from_json(v5.as_bytes()).expect("parses");
        assert_eq!(route.broker_datas[0].enable_acting_master, Some(false));
        let mut expected = v42_expected();
        expected.broker_datas[0].enable_acting_master = Some(false);
        assert_eq!(route, expected);
    }

    #[test]
    fn rocketmq_rust_route_with_nulls() {
        let json = r#"{"orderTopicConf":null,"queueDatas":[{"brokerName":"b","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicSysFlag":0}],"brokerDatas":[{"cluster":"c","brokerName":"b","brokerAddrs":{"0":"127.0.0.1:10911"},"zoneName":null,"enableActingMaster":false}],"filterServerTable":{},"topicQueueMappingInfo":null}"#;
        let route = TopicRouteData::from_json(json.as_bytes()).expect("parses");
        assert_eq!(route.order_topic_conf, None);
        assert_eq!(route.broker_datas[0].zone_name, None);
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    }

    #[test]
    fn colons_and_commas_in_strings_survive_the_legacy_fix() {
        let json = r#"{"brokerDatas":[{"brokerAddrs":{0:"[::1]:10911"},"brokerName":"a,b:{1:x}","cluster":"c"}]}"#;
        let route = TopicRouteData::from_json(json.as_bytes()).expect("parses");
        assert_eq!(route.broker_datas[0].master_addr(), Some("[::1]:10911"));
        assert_eq!(route.broker_datas[0].broker_name, "a,b:{1:x}");
    }

    #[test]
    fn malformed_route_is_a_typed_error() {
        let err = TopicRouteData::from_json(b"{\"brokerDatas\":[").expect_err("malformed");
        assert_eq!(err.body, "TopicRouteData");
        assert!(TopicRouteData::from_json(b"{\"queueDatas\":[{\"perm\":\"x\"}]}").is_err());
    }

    /// V48: permission helpers.
    #[test]
    fn v48_perm_name() {
        for (p, s, w, r) in [
            (6, "RW-", true, true),
            (7, "RWX", true, true),
            (4, "R--", false, true),
            (2, "-W-", true, false),
            (0, "---", false, false),
            (1, "--X", false, false),
        ] {
            assert_eq!(perm::to_string(p), s);
            assert_eq!(perm::is_writeable(p), w);
            assert_eq!(perm::is_readable(p), r);
        }
    }
}

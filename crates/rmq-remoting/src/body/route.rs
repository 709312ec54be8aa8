//! Topic route bodies (Java: `TopicRouteData`, `BrokerData`, `QueueData`, `PermName`,
//! `TopicQueueMappingInfo`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{BodyError, lenient::quote_bare_integer_keys, null_as_default};

/// The broker id of a master in [`BrokerData::broker_addrs`] (Java: `MixAll.MASTER_ID`).
pub const MASTER_ID: i64 = 0;

/// The scope every static-topic mapping a broker registers carries (Java:
/// `MixAll.METADATA_SCOPE_GLOBAL`; `TopicQueueMappingDetail.cloneAsMappingInfo` always uses it).
pub const METADATA_SCOPE_GLOBAL: &str = "__global__";

/// The start of the made-up broker name of a static topic's logical queues (Java:
/// `MixAll.LOGICAL_QUEUE_MOCK_BROKER_PREFIX`).
pub const LOGICAL_QUEUE_MOCK_BROKER_PREFIX: &str = "__syslo__";

/// The broker name a client gives a logical queue that no broker claims (Java:
/// `MixAll.LOGICAL_QUEUE_MOCK_BROKER_NAME_NOT_EXIST`). No route lists a broker of this name,
/// so a send to such a queue finds no address.
pub const LOGICAL_QUEUE_MOCK_BROKER_NAME_NOT_EXIST: &str = "__syslo__none__";

/// The broker name of the logical queues of `scope` (Java:
/// `TopicQueueMappingUtils.getMockBrokerName`): the global scope `__global__` loses its
/// leading `__`, any other scope is appended whole.
///
/// ```
/// use rmq_remoting::body::mock_broker_name;
/// assert_eq!(mock_broker_name("__global__"), "__syslo__global__");
/// assert_eq!(mock_broker_name("zone1"), "__syslo__zone1");
/// ```
pub fn mock_broker_name(scope: &str) -> String {
    let suffix = if scope == METADATA_SCOPE_GLOBAL {
        // Java: `scope.substring(2)`.
        scope.strip_prefix("__").unwrap_or(scope)
    } else {
        scope
    };
    format!("{LOGICAL_QUEUE_MOCK_BROKER_PREFIX}{suffix}")
}

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
    /// 5.x static topics: each broker's logical queues, by broker name (Java:
    /// `topicQueueMappingByBroker`; "it could be null or empty"). A producer routes a static
    /// topic through these instead of `queue_datas` (protocol.md §8.4). Absent (`None`) for
    /// ordinary topics and from name servers before 5.0; written back only when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_queue_mapping_by_broker: Option<BTreeMap<String, TopicQueueMappingInfo>>,
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

    /// The bare-integer-key dialect, as a name server before 4.9.4 writes it (vector V43):
    /// broker ids and the logical queue ids of `currIdMap` unquoted.
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

/// The logical queues of a static topic that one broker leads, as the broker registers them
/// with the name server (Java: `TopicQueueMappingInfo`, written by
/// `TopicQueueMappingDetail.cloneAsMappingInfo`).
///
/// Fields serialize in fastjson's order (alphabetical) with quoted queue-id keys; in the
/// legacy dialect the keys of `currIdMap` are bare integers (`{0:0,3:1}`), which
/// [`TopicRouteData::from_json`] accepts too.
///
/// ```
/// use rmq_remoting::body::TopicQueueMappingInfo;
/// let json = br#"{"bname":"broker-a","currIdMap":{"0":0,"3":1},"dirty":false,"epoch":1718000001000,"scope":"__global__","topic":"T","totalQueues":4}"#;
/// let info: TopicQueueMappingInfo = serde_json::from_slice(json).unwrap();
/// assert_eq!(info.curr_id_map.get(&3), Some(&1));
/// assert_eq!(info.bname.as_deref(), Some("broker-a"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicQueueMappingInfo {
    /// The broker that leads these queues (a real broker name). Java never registers a
    /// mapping without one; kept optional because fastjson omits nulls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bname: Option<String>,
    /// Logical queue id → physical queue id on [`bname`](Self::bname), for the logical
    /// queues this broker leads now. A client uses only the keys: it sends the logical id
    /// and the broker swaps it for the physical one.
    #[serde(default, deserialize_with = "null_as_default")]
    pub curr_id_map: BTreeMap<i32, i32>,
    /// Always false in what brokers register.
    #[serde(default)]
    pub dirty: bool,
    /// When the mapping was made, in epoch milliseconds; the newer entry wins when two
    /// brokers claim one logical queue.
    #[serde(default)]
    pub epoch: i64,
    /// The scope, [`METADATA_SCOPE_GLOBAL`] in everything brokers register; clients skip an
    /// entry without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The topic (redundant: the route is already the topic's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// How many logical queues the topic has in all.
    #[serde(default)]
    pub total_queues: i32,
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

    /// A 5.3.3 name server's route of a static topic (research: static_topics.md §1): four
    /// logical queues, broker-a leading 0 and 3, broker-b leading 1 and 2.
    const STATIC_BODY: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.10:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false},{"brokerAddrs":{"0":"192.168.0.11:10911"},"brokerName":"broker-b","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2},{"brokerName":"broker-b","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2}],"topicQueueMappingByBroker":{"broker-a":{"bname":"broker-a","currIdMap":{"0":0,"3":1},"dirty":false,"epoch":1718000001000,"scope":"__global__","topic":"StaticTopicTest","totalQueues":4},"broker-b":{"bname":"broker-b","currIdMap":{"1":0,"2":1},"dirty":false,"epoch":1718000001000,"scope":"__global__","topic":"StaticTopicTest","totalQueues":4}}}"#;

    /// The same route as plain `encode()` writes it for a client below version 401.
    const STATIC_BODY_LEGACY: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.0.10:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false},{"brokerAddrs":{0:"192.168.0.11:10911"},"brokerName":"broker-b","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2},{"brokerName":"broker-b","perm":6,"readQueueNums":2,"topicSysFlag":0,"writeQueueNums":2}],"topicQueueMappingByBroker":{"broker-a":{"bname":"broker-a","currIdMap":{0:0,3:1},"dirty":false,"epoch":1718000001000,"scope":"__global__","topic":"StaticTopicTest","totalQueues":4},"broker-b":{"bname":"broker-b","currIdMap":{1:0,2:1},"dirty":false,"epoch":1718000001000,"scope":"__global__","topic":"StaticTopicTest","totalQueues":4}}}"#;

    fn mapping(broker: &str, ids: &[(i32, i32)]) -> TopicQueueMappingInfo {
        TopicQueueMappingInfo {
            bname: Some(broker.into()),
            curr_id_map: ids.iter().copied().collect(),
            dirty: false,
            epoch: 1_718_000_001_000,
            scope: Some(METADATA_SCOPE_GLOBAL.into()),
            topic: Some("StaticTopicTest".into()),
            total_queues: 4,
        }
    }

    #[test]
    fn static_topic_route_parses_and_serializes_back() {
        let route = TopicRouteData::from_json(STATIC_BODY.as_bytes()).expect("parses");
        let mappings = route
            .topic_queue_mapping_by_broker
            .as_ref()
            .expect("mapping present");
        assert_eq!(
            mappings,
            &BTreeMap::from([
                (
                    "broker-a".to_owned(),
                    mapping("broker-a", &[(0, 0), (3, 1)])
                ),
                (
                    "broker-b".to_owned(),
                    mapping("broker-b", &[(1, 0), (2, 1)])
                ),
            ])
        );
        assert!(route.is_static_topic());
        assert_eq!(route.queue_datas.len(), 2);
        assert_eq!(
            route.broker_datas[1].master_addr(),
            Some("192.168.0.11:10911")
        );
        // The name server's exact bytes back, in both dialects.
        assert_eq!(
            String::from_utf8(route.to_json()).expect("utf-8"),
            STATIC_BODY
        );
        assert_eq!(
            String::from_utf8(route.to_legacy_json()).expect("utf-8"),
            STATIC_BODY_LEGACY
        );
    }

    #[test]
    fn static_topic_route_in_the_legacy_dialect() {
        let legacy = TopicRouteData::from_json(STATIC_BODY_LEGACY.as_bytes()).expect("parses");
        let standard = TopicRouteData::from_json(STATIC_BODY.as_bytes()).expect("parses");
        assert_eq!(legacy, standard);
        // Whitespace and negative ids, as a hand-written or pretty-printed body may have.
        let spaced = r#"{"topicQueueMappingByBroker": {"b": {"currIdMap": { 7 : 1 , -1 : 2 }, "totalQueues": 8}}}"#;
        let route = TopicRouteData::from_json(spaced.as_bytes()).expect("parses");
        let info = &route.topic_queue_mapping_by_broker.expect("present")["b"];
        assert_eq!(info.curr_id_map, BTreeMap::from([(-1, 2), (7, 1)]));
        assert_eq!(info.total_queues, 8);
    }

    #[test]
    fn absent_null_and_sparse_mappings() {
        // Absent and null both mean "not a static topic", and nothing is written back.
        let route = TopicRouteData::from_json(V13_BODY.as_bytes()).expect("parses");
        assert_eq!(route.topic_queue_mapping_by_broker, None);
        assert!(!route.is_static_topic());
        let null = V13_BODY.replace(
            r#""filterServerTable":{}"#,
            r#""filterServerTable":{},"topicQueueMappingByBroker":null"#,
        );
        let route = TopicRouteData::from_json(null.as_bytes()).expect("parses");
        assert_eq!(route.topic_queue_mapping_by_broker, None);
        assert!(!String::from_utf8_lossy(&route.to_json()).contains("topicQueueMappingByBroker"));

        // Empty: present but not static (Java tests `isEmpty()`).
        let empty = br#"{"topicQueueMappingByBroker":{}}"#;
        let route = TopicRouteData::from_json(empty).expect("parses");
        assert_eq!(route.topic_queue_mapping_by_broker, Some(BTreeMap::new()));
        assert!(!route.is_static_topic());

        // Missing fields take their defaults; a null currIdMap reads as empty; null strings
        // stay absent when written back.
        let sparse = br#"{"topicQueueMappingByBroker":{"b":{"currIdMap":null,"scope":null}}}"#;
        let route = TopicRouteData::from_json(sparse).expect("parses");
        let info = &route
            .topic_queue_mapping_by_broker
            .as_ref()
            .expect("present")["b"];
        assert_eq!(info, &TopicQueueMappingInfo::default());
        assert!(route.is_static_topic());
        assert_eq!(
            String::from_utf8(route.to_json()).expect("utf-8"),
            r#"{"brokerDatas":[],"filterServerTable":{},"queueDatas":[],"topicQueueMappingByBroker":{"b":{"currIdMap":{},"dirty":false,"epoch":0,"totalQueues":0}}}"#
        );

        // An ordered-topic configuration wins over the mapping (Java's branch order).
        let ordered = TopicRouteData {
            order_topic_conf: Some("broker-a:1".into()),
            ..TopicRouteData::from_json(STATIC_BODY.as_bytes()).expect("parses")
        };
        assert!(!ordered.is_static_topic());
    }

    #[test]
    fn malformed_mapping_is_a_typed_error() {
        for body in [
            r#"{"topicQueueMappingByBroker":{"b":{"currIdMap":{"x":1}}}}"#,
            r#"{"topicQueueMappingByBroker":{"b":{"currIdMap":{"1":"one"}}}}"#,
            r#"{"topicQueueMappingByBroker":{"b":{"currIdMap":{"4294967296":1}}}}"#,
            r#"{"topicQueueMappingByBroker":{"b":{"totalQueues":"4"}}}"#,
            r#"{"topicQueueMappingByBroker":[]}"#,
        ] {
            let err = TopicRouteData::from_json(body.as_bytes()).expect_err(body);
            assert_eq!(err.body, "TopicRouteData");
        }
    }

    #[test]
    fn mock_broker_names() {
        assert_eq!(mock_broker_name(METADATA_SCOPE_GLOBAL), "__syslo__global__");
        assert_eq!(mock_broker_name("zone-1"), "__syslo__zone-1");
        assert_eq!(mock_broker_name(""), "__syslo__");
        assert!(mock_broker_name("x").starts_with(LOGICAL_QUEUE_MOCK_BROKER_PREFIX));
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

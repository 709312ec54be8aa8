//! The name server's route table (Java: `RouteInfoManager`) and the legacy route dialect
//! (fastjson's unquoted integer map keys).
//!
//! Brokers register in-process, by writing their topic table here, instead of sending
//! `REGISTER_BROKER`: the wire traffic under test is the client's, not the broker's. A stopped
//! broker is removed at once, as Java does when a broker's channel closes.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use rmq_remoting::body::{BrokerData, MASTER_ID, QueueData, TopicRouteData};

use crate::topic::{TopicConfig, to_i32};

/// What one live broker registered (Java: the `RegisterBrokerRequestHeader` and
/// `TopicConfigSerializeWrapper` of `REGISTER_BROKER`).
#[derive(Clone, Debug)]
pub(crate) struct Registration {
    pub(crate) cluster: String,
    pub(crate) addr: String,
    pub(crate) topics: BTreeMap<String, TopicConfig>,
}

/// Live brokers by name, shared by the name server and every broker of a cluster.
#[derive(Debug, Default)]
pub(crate) struct RouteRegistry {
    brokers: Mutex<BTreeMap<String, Registration>>,
}

impl RouteRegistry {
    /// Adds or replaces `broker_name`'s registration.
    pub(crate) fn register(&self, broker_name: &str, registration: Registration) {
        self.brokers
            .lock()
            .insert(broker_name.to_owned(), registration);
    }

    /// Forgets `broker_name`, so routes no longer list it.
    pub(crate) fn unregister(&self, broker_name: &str) {
        self.brokers.lock().remove(broker_name);
    }

    /// The route of `topic` over every live broker that has it, brokers sorted by name
    /// (Java: `RouteInfoManager.pickupTopicRouteData`); `None` when no broker has it.
    pub(crate) fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let brokers = self.brokers.lock();
        let mut route = TopicRouteData::default();
        for (name, registration) in brokers.iter() {
            let Some(config) = registration.topics.get(topic) else {
                continue;
            };
            route.queue_datas.push(QueueData {
                broker_name: name.clone(),
                perm: config.perm,
                read_queue_nums: to_i32(config.read_queue_nums),
                topic_sys_flag: 0,
                write_queue_nums: to_i32(config.write_queue_nums),
            });
            route.broker_datas.push(BrokerData {
                broker_addrs: BTreeMap::from([(MASTER_ID, registration.addr.clone())]),
                broker_name: name.clone(),
                cluster: registration.cluster.clone(),
                ..BrokerData::default()
            });
        }
        (!route.queue_datas.is_empty()).then_some(route)
    }
}

/// Rewrites standard route JSON into the dialect of name servers before 4.9.4 (and of any
/// 4.9.4+ name server asked with a version below 401): the integer keys of every
/// `brokerAddrs` object lose their quotes, `{"0":"a"}` becoming `{0:"a"}`. Strings are copied
/// untouched, so a name or address that looks like JSON cannot be corrupted.
pub(crate) fn to_legacy_json(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    // After the key `brokerAddrs`, until its `{`; then inside that object until its `}`.
    let mut awaiting_addrs = false;
    let mut in_addrs = false;
    let mut i = 0;
    while i < json.len() {
        let byte = json[i];
        match byte {
            b'"' => {
                let end = string_end(json, i);
                let content = &json[(i + 1).min(end)..end.saturating_sub(1).max(i + 1)];
                let is_key = json.get(skip_whitespace(json, end)) == Some(&b':');
                if in_addrs && is_key && is_integer(content) {
                    out.extend_from_slice(content);
                } else {
                    out.extend_from_slice(&json[i..end]);
                }
                awaiting_addrs = is_key && content == b"brokerAddrs";
                i = end;
                continue;
            }
            b'{' if awaiting_addrs => {
                awaiting_addrs = false;
                in_addrs = true;
            }
            b'}' => in_addrs = false,
            b':' => {}
            _ if byte.is_ascii_whitespace() => {}
            _ => awaiting_addrs = false,
        }
        out.push(byte);
        i += 1;
    }
    out
}

/// The index just past the string that starts with the `"` at `start`.
fn string_end(json: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < json.len() {
        match json[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    json.len()
}

fn skip_whitespace(json: &[u8], mut i: usize) -> usize {
    while json.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// `-?[0-9]+`, the keys fastjson writes bare.
fn is_integer(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V42: &str = r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.47:10911","1":"192.168.0.47:10921"},"brokerName":"broker-a","cluster":"TestCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;
    const V43: &str = r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.0.47:10911",1:"192.168.0.47:10921"},"brokerName":"broker-a","cluster":"TestCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":8,"topicSysFlag":0,"writeQueueNums":8}]}"#;

    #[test]
    fn v43_legacy_form_of_v42() {
        let legacy = to_legacy_json(V42.as_bytes());
        assert_eq!(String::from_utf8_lossy(&legacy), V43);
        assert_eq!(legacy.len(), 256);
    }

    #[test]
    fn strings_that_look_like_keys_survive() {
        let route = TopicRouteData {
            broker_datas: vec![BrokerData {
                broker_addrs: BTreeMap::from([(0, r#"x","brokerAddrs":{"1":"y"#.to_owned())]),
                broker_name: r#"n{"2":3}"#.into(),
                cluster: "c".into(),
                ..BrokerData::default()
            }],
            filter_server_table: BTreeMap::from([("7".to_owned(), vec!["8".to_owned()])]),
            ..TopicRouteData::default()
        };
        let legacy = to_legacy_json(&route.to_json());
        let text = String::from_utf8_lossy(&legacy);
        assert!(
            text.starts_with(r#"{"brokerDatas":[{"brokerAddrs":{0:"x\""#),
            "{text}"
        );
        // Keys outside brokerAddrs keep their quotes.
        assert!(
            text.contains(r#""filterServerTable":{"7":["8"]}"#),
            "{text}"
        );
        assert_eq!(TopicRouteData::from_json(&legacy).ok(), Some(route));
    }

    #[test]
    fn truncated_input_does_not_panic() {
        for json in [
            "",
            "\"",
            "{\"brokerAddrs\"",
            "{\"brokerAddrs\":{\"0",
            "\"\\",
        ] {
            let _ = to_legacy_json(json.as_bytes());
        }
    }

    #[test]
    fn registry_lists_live_brokers_sorted() {
        let registry = RouteRegistry::default();
        let topics = |q| BTreeMap::from([("T".to_owned(), TopicConfig::new("T", q, 6))]);
        for (name, q) in [("broker-b", 2), ("broker-a", 4)] {
            registry.register(
                name,
                Registration {
                    cluster: "DefaultCluster".into(),
                    addr: format!("127.0.0.1:{q}"),
                    topics: topics(q),
                },
            );
        }
        let route = registry.route("T").expect("route");
        let names: Vec<_> = route.queue_datas.iter().map(|q| &*q.broker_name).collect();
        assert_eq!(names, ["broker-a", "broker-b"]);
        assert_eq!(route.broker_datas[0].master_addr(), Some("127.0.0.1:4"));
        assert!(registry.route("U").is_none());
        registry.unregister("broker-a");
        registry.unregister("broker-b");
        assert!(registry.route("T").is_none());
    }
}

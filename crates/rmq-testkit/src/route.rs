//! The name server's route table (Java: `RouteInfoManager`).
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

#[cfg(test)]
mod tests {
    use super::*;

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

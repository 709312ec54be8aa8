//! The name server's route table (Java: `RouteInfoManager`).
//!
//! Brokers register in-process, by writing their topic table here, instead of sending
//! `REGISTER_BROKER`: the wire traffic under test is the client's, not the broker's. A stopped
//! broker is removed at once, as Java does when a broker's channel closes.
//!
//! Static-topic mappings follow Java 5.3.3's `topicQueueMappingInfoTable`: a registration
//! adds or replaces the broker's entry for each static topic it holds, and nothing ever
//! removes one, so a stopped broker's entry stays in the route (and clients keep mapping
//! its logical queues to it, finding no address).

use std::collections::BTreeMap;

use parking_lot::Mutex;
use rmq_remoting::body::{BrokerData, MASTER_ID, QueueData, TopicQueueMappingInfo, TopicRouteData};

use crate::topic::{TopicConfig, to_i32};

/// What one live broker registered (Java: the `RegisterBrokerRequestHeader` and
/// `TopicConfigSerializeWrapper` of `REGISTER_BROKER`).
#[derive(Clone, Debug)]
pub(crate) struct Registration {
    pub(crate) cluster: String,
    pub(crate) addr: String,
    pub(crate) topics: BTreeMap<String, TopicConfig>,
    /// The static-topic mappings it holds, by topic (Java:
    /// `TopicConfigAndMappingSerializeWrapper.topicQueueMappingInfoMap`).
    pub(crate) mappings: BTreeMap<String, TopicQueueMappingInfo>,
}

/// Live brokers by name, shared by the name server and every broker of a cluster.
#[derive(Debug, Default)]
pub(crate) struct RouteRegistry {
    tables: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    brokers: BTreeMap<String, Registration>,
    /// Topic → broker name → mapping (Java: `topicQueueMappingInfoTable`).
    mappings: BTreeMap<String, BTreeMap<String, TopicQueueMappingInfo>>,
}

impl RouteRegistry {
    /// Adds or replaces `broker_name`'s registration.
    pub(crate) fn register(&self, broker_name: &str, registration: Registration) {
        let mut tables = self.tables.lock();
        for (topic, info) in &registration.mappings {
            // Java files the entry under the mapping's own broker name.
            let broker = info.bname.clone().unwrap_or_else(|| broker_name.to_owned());
            tables
                .mappings
                .entry(topic.clone())
                .or_default()
                .insert(broker, info.clone());
        }
        tables.brokers.insert(broker_name.to_owned(), registration);
    }

    /// Forgets `broker_name`, so routes no longer list it (its static-topic mappings stay,
    /// as in Java).
    pub(crate) fn unregister(&self, broker_name: &str) {
        self.tables.lock().brokers.remove(broker_name);
    }

    /// The route of `topic` over every live broker that has it, brokers sorted by name, with
    /// every mapping ever registered for it when it is a static topic (Java:
    /// `RouteInfoManager.pickupTopicRouteData`); `None` when no live broker has it.
    pub(crate) fn route(&self, topic: &str) -> Option<TopicRouteData> {
        let tables = self.tables.lock();
        let mut route = TopicRouteData::default();
        for (name, registration) in tables.brokers.iter() {
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
        if route.queue_datas.is_empty() {
            return None;
        }
        route.topic_queue_mapping_by_broker = tables.mappings.get(topic).cloned();
        Some(route)
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
                    mappings: BTreeMap::new(),
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

    #[test]
    fn static_mappings_outlive_their_brokers() {
        let registry = RouteRegistry::default();
        let register = |name: &str, epoch: i64, ids: &[u32]| {
            let mapping = crate::topic::StaticTopic::new(4, ids, epoch);
            registry.register(
                name,
                Registration {
                    cluster: "DefaultCluster".into(),
                    addr: format!("127.0.0.1:1{}", ids.len()),
                    topics: BTreeMap::from([(
                        "S".to_owned(),
                        TopicConfig::new("S", mapping.physical_queues(), 6),
                    )]),
                    mappings: BTreeMap::from([("S".to_owned(), mapping.mapping_info("S", name))]),
                },
            );
        };
        register("broker-a", 5, &[0, 3]);
        register("broker-b", 5, &[2, 1, 1]);
        let route = registry.route("S").expect("route");
        let mappings = route.topic_queue_mapping_by_broker.expect("static");
        assert_eq!(
            mappings["broker-a"].curr_id_map,
            BTreeMap::from([(0, 0), (3, 1)])
        );
        assert_eq!(
            mappings["broker-b"].curr_id_map,
            BTreeMap::from([(1, 0), (2, 1)])
        );
        assert_eq!(mappings["broker-b"].scope.as_deref(), Some("__global__"));
        assert_eq!(route.queue_datas[1].write_queue_nums, 2);

        // Java never removes a mapping entry: broker-b leaves the route but not the mapping.
        registry.unregister("broker-b");
        let route = registry.route("S").expect("route");
        assert_eq!(route.broker_datas.len(), 1);
        assert_eq!(
            route.topic_queue_mapping_by_broker.expect("static").len(),
            2
        );
        // Re-registering replaces the entry; without live brokers there is no route at all.
        register("broker-a", 6, &[0]);
        let route = registry.route("S").expect("route");
        assert_eq!(
            route.topic_queue_mapping_by_broker.expect("static")["broker-a"].epoch,
            6
        );
        registry.unregister("broker-a");
        assert!(registry.route("S").is_none());
        // Ordinary topics have no mapping.
        register("broker-a", 7, &[0]);
        assert!(registry.route("TBW102").is_none());
    }
}

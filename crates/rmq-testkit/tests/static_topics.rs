//! Static topics (5.x logical queues): the route's `topicQueueMappingByBroker` in both
//! dialects, and sends to logical queues, led here or not.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use rmq_remoting::body::TopicRouteData;
use rmq_remoting::code::response;
use rmq_remoting::{SerializeType, version};
use rmq_testkit::TestCluster;

const TOPIC: &str = "StaticTopicTest";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .try_into()
        .unwrap()
}

/// broker-a leads logical queues 0 and 2, broker-b 1 and 3.
async fn cluster() -> TestCluster {
    TestCluster::builder()
        .brokers(2)
        .topic("Ordinary", 2)
        .static_topic(TOPIC, 4)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn route_lists_each_brokers_logical_queues_in_both_dialects() {
    let before = now_ms();
    let cluster = cluster().await;
    let client = client();
    let ns = cluster.namesrv_addr();

    let (standard, route) = query_route(&client, &ns, route_query(TOPIC, version::V5_3_3)).await;
    assert_eq!(standard.code(), response::SUCCESS);
    let route = route.unwrap();
    assert_eq!(Some(&route), cluster.route(TOPIC).as_ref());
    assert!(route.is_static_topic());

    // Java's broker registers one physical queue per logical queue it leads.
    let queues: Vec<_> = route
        .queue_datas
        .iter()
        .map(|q| {
            (
                q.broker_name.as_str(),
                q.perm,
                q.read_queue_nums,
                q.write_queue_nums,
            )
        })
        .collect();
    assert_eq!(queues, [("broker-a", 6, 2, 2), ("broker-b", 6, 2, 2)]);
    assert_eq!(route.broker_datas.len(), 2);

    let mappings = route.topic_queue_mapping_by_broker.as_ref().unwrap();
    let names: Vec<_> = mappings.keys().map(String::as_str).collect();
    assert_eq!(names, ["broker-a", "broker-b"]);
    let epoch = mappings["broker-a"].epoch;
    assert!((before..=now_ms()).contains(&epoch), "epoch {epoch}");
    for (name, info) in mappings {
        assert_eq!(info.bname.as_deref(), Some(name.as_str()));
        assert_eq!(info.scope.as_deref(), Some("__global__"));
        assert_eq!(info.topic.as_deref(), Some(TOPIC));
        assert_eq!(
            (info.total_queues, info.dirty, info.epoch),
            (4, false, epoch)
        );
    }
    let body = String::from_utf8(standard.body().to_vec()).unwrap();
    let expected_a = format!(
        r#""topicQueueMappingByBroker":{{"broker-a":{{"bname":"broker-a","currIdMap":{{"0":0,"2":1}},"dirty":false,"epoch":{epoch},"scope":"__global__","topic":"StaticTopicTest","totalQueues":4}}"#
    );
    assert!(body.contains(&expected_a), "{body}");
    assert!(body.contains(r#""currIdMap":{"1":0,"3":1}"#), "{body}");

    // An old client gets bare integer keys in currIdMap too, and the same route.
    let (legacy, legacy_route) =
        query_route(&client, &ns, route_query(TOPIC, version::V4_5_2)).await;
    let legacy_body = String::from_utf8(legacy.body().to_vec()).unwrap();
    assert!(
        legacy_body.contains(r#""currIdMap":{0:0,2:1}"#),
        "{legacy_body}"
    );
    assert!(
        legacy_body.contains(r#""brokerAddrs":{0:"127.0.0.1:"#),
        "{legacy_body}"
    );
    assert_eq!(legacy_route.as_ref(), Some(&route));

    // Ordinary topics carry no mapping.
    let (_, ordinary) = query_route(&client, &ns, route_query("Ordinary", version::V5_3_3)).await;
    let ordinary = ordinary.unwrap();
    assert_eq!(ordinary.topic_queue_mapping_by_broker, None);
    cluster.shutdown().await;
}

#[tokio::test]
async fn a_led_logical_queue_is_stored_physically_and_answered_logically() {
    let cluster = cluster().await;
    let client = client();
    let broker_b = cluster.broker("broker-b").unwrap();
    let mapping = broker_b.queue_mapping(TOPIC).unwrap();
    assert_eq!(mapping.curr_id_map, [(1, 0), (3, 1)].into());
    assert_eq!(
        cluster
            .broker("broker-a")
            .unwrap()
            .queue_mapping("Ordinary"),
        None
    );

    // Logical 3 is physical 1 on broker-b; the header's broker name is the real one, as a
    // Java producer sends it.
    let mut header = header(TOPIC, 3);
    header.broker_name = Some("broker-b".into());
    for expected_offset in [0, 1] {
        let response = invoke(&client, &broker_b.addr(), send_v2(header.clone(), "hello"))
            .await
            .unwrap();
        let answer = stored_header(&response);
        assert_eq!((answer.queue_id, answer.queue_offset), (3, expected_offset));
        assert_eq!(response.ext_field("TRACE_ON"), Some("true"));
    }
    let stored = broker_b.messages(TOPIC);
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|m| m.queue_id == 1), "{stored:?}");
    assert_eq!(broker_b.messages_in_queue(TOPIC, 1).len(), 2);

    // Logical 1 is physical 0: its own offsets. V1 headers, the binary serialization and
    // batches take the same path.
    let v1 = with_serialization(send_v1(header_for(1), "v1"), SerializeType::RocketMq);
    let response = invoke(&client, &broker_b.addr(), v1).await.unwrap();
    let answer = stored_header(&response);
    assert_eq!(response.serialize_type(), SerializeType::RocketMq);
    assert_eq!((answer.queue_id, answer.queue_offset), (1, 0));
    let response = invoke(&client, &broker_b.addr(), send_batch(TOPIC, 1, &["x", "y"]))
        .await
        .unwrap();
    let answer = stored_header(&response);
    assert_eq!((answer.queue_id, answer.queue_offset), (1, 1));
    assert_eq!(broker_b.messages_in_queue(TOPIC, 0).len(), 3);

    // A negative id picks the first logical queue the broker leads (Java: the first hosted).
    let broker_a = cluster.broker("broker-a").unwrap();
    let response = invoke(&client, &broker_a.addr(), send_v2(header_for(-1), "any"))
        .await
        .unwrap();
    assert_eq!(stored_header(&response).queue_id, 0);
    assert_eq!(broker_a.messages_in_queue(TOPIC, 0).len(), 1);
    cluster.shutdown().await;
}

fn header_for(queue_id: i32) -> rmq_remoting::header::SendMessageRequestHeader {
    header(TOPIC, queue_id)
}

#[tokio::test]
async fn a_queue_led_elsewhere_is_501() {
    let cluster = cluster().await;
    let client = client();
    let broker_a = cluster.broker("broker-a").unwrap();
    // 1 and 3 are broker-b's; 4 and beyond exist nowhere.
    for logical in [1, 3, 4, 100] {
        for request in [
            send_v2(header_for(logical), "misrouted"),
            send_batch(TOPIC, logical, &["m"]),
        ] {
            let response = invoke(&client, &broker_a.addr(), request).await.unwrap();
            assert_eq!(response.code(), response::NOT_LEADER_FOR_QUEUE);
            assert_eq!(
                response.remark(),
                Some(
                    format!(
                        "{TOPIC}-{logical} does not exit in request process of current broker broker-a"
                    )
                    .as_str()
                )
            );
            // Refused before the send processor adds its fields.
            assert!(response.ext_fields().is_none_or(|e| e.is_empty()));
        }
    }
    assert!(broker_a.messages(TOPIC).is_empty());
    cluster.shutdown().await;
}

#[tokio::test]
async fn remapping_and_stopped_brokers() {
    let cluster = cluster().await;
    let broker_a = cluster.broker("broker-a").unwrap();
    let broker_b = cluster.broker("broker-b").unwrap();
    let first = broker_a.queue_mapping(TOPIC).unwrap().epoch;

    // Spreading again takes a newer epoch, at least 1000 past the last.
    cluster.create_static_topic(TOPIC, 6);
    let mapping = broker_a.queue_mapping(TOPIC).unwrap();
    assert_eq!(mapping.curr_id_map, [(0, 0), (2, 1), (4, 2)].into());
    assert!(mapping.epoch >= first + 1000);
    assert_eq!(mapping.total_queues, 6);
    assert_eq!(broker_b.queue_mapping(TOPIC).unwrap().epoch, mapping.epoch);
    assert_eq!(broker_a.topic_config(TOPIC).unwrap().write_queue_nums, 3);

    // One broker can be given any part, e.g. taking queue 0 over with a newer epoch; the
    // route then shows both claims, and the client decides by epoch.
    broker_b.create_static_topic(TOPIC, 6, &[0, 1, 3, 5], mapping.epoch + 1);
    let route: TopicRouteData = cluster.route(TOPIC).unwrap();
    let mappings = route.topic_queue_mapping_by_broker.unwrap();
    assert_eq!(mappings["broker-a"].curr_id_map.get(&0), Some(&0));
    assert_eq!(mappings["broker-b"].curr_id_map.get(&0), Some(&0));
    assert_eq!(mappings["broker-b"].epoch, mapping.epoch + 1);
    let client = client();
    let response = invoke(&client, &broker_b.addr(), send_v2(header_for(0), "moved"))
        .await
        .unwrap();
    assert_eq!(response_header(&response).queue_id, 0);
    assert_eq!(broker_b.messages_in_queue(TOPIC, 0).len(), 1);

    // A stopped broker leaves the route's queue and broker data but, as with Java's name
    // server, not the mapping.
    broker_b.stop().await;
    let route = cluster.route(TOPIC).unwrap();
    assert_eq!(route.broker_datas.len(), 1);
    assert_eq!(route.queue_datas.len(), 1);
    assert_eq!(route.topic_queue_mapping_by_broker.unwrap().len(), 2);
    broker_b.restart().await.unwrap();
    assert_eq!(cluster.route(TOPIC).unwrap().broker_datas.len(), 2);

    // Re-created as an ordinary topic, the broker takes ids as physical queues again.
    broker_a.create_topic(TOPIC, 2, 6);
    assert_eq!(broker_a.queue_mapping(TOPIC), None);
    let response = invoke(&client, &broker_a.addr(), send_v2(header_for(1), "plain"))
        .await
        .unwrap();
    assert_eq!(stored_header(&response).queue_id, 1);
    assert_eq!(broker_a.messages_in_queue(TOPIC, 1).len(), 1);
    cluster.shutdown().await;
}

//! The name server: route dialects, unknown topics, TBW102, brokers joining and leaving.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use rmq_remoting::code::{request, response};
use rmq_remoting::header::GetRouteInfoRequestHeader;
use rmq_remoting::{RemotingCommand, SerializeType, version};
use rmq_testkit::{TestCluster, TestkitError};

#[tokio::test]
async fn both_dialects_parse_to_the_same_route() {
    let cluster = TestCluster::builder()
        .brokers(2)
        .topic("TopicTest", 4)
        .start()
        .await
        .unwrap();
    let client = client();
    let ns = cluster.namesrv_addr();

    // 4.9.8 client (409): standard JSON with quoted broker ids.
    let (standard, standard_route) =
        query_route(&client, &ns, route_query("TopicTest", version::V4_9_8)).await;
    let standard_body = String::from_utf8(standard.body().to_vec()).unwrap();
    assert!(
        standard_body.contains(r#""brokerAddrs":{"0":"127.0.0.1:"#),
        "{standard_body}"
    );
    assert_eq!(standard.version(), version::V4_9_8);
    assert!(standard.ext_fields().is_none());

    // Go client (317): fastjson's bare integer keys.
    let (legacy, legacy_route) =
        query_route(&client, &ns, route_query("TopicTest", version::V4_5_2)).await;
    let legacy_body = String::from_utf8(legacy.body().to_vec()).unwrap();
    assert!(
        legacy_body.contains(r#""brokerAddrs":{0:"127.0.0.1:"#),
        "{legacy_body}"
    );
    assert_eq!(legacy_body, standard_body.replace(r#""0":"#, "0:"));

    // A 5.x client asking for standard JSON with an old version.
    let accept = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
        .with_version(version::V4_5_2)
        .with_header(GetRouteInfoRequestHeader {
            topic: "TopicTest".into(),
            accept_standard_json_only: Some(true),
        });
    let (accepted, accepted_route) = query_route(&client, &ns, accept).await;
    assert_eq!(accepted.body(), standard.body());

    let expected = cluster.route("TopicTest").unwrap();
    assert_eq!(standard_route.as_ref(), Some(&expected));
    assert_eq!(legacy_route.as_ref(), Some(&expected));
    assert_eq!(accepted_route.as_ref(), Some(&expected));
    let brokers: Vec<_> = expected
        .broker_datas
        .iter()
        .map(|b| b.broker_name.as_str())
        .collect();
    assert_eq!(brokers, ["broker-a", "broker-b"]);
    for (data, broker) in expected.broker_datas.iter().zip(cluster.brokers()) {
        assert_eq!(data.master_addr(), Some(broker.addr().as_str()));
        assert_eq!(data.cluster, "DefaultCluster");
    }
    for queue in &expected.queue_datas {
        assert_eq!(
            (
                queue.perm,
                queue.read_queue_nums,
                queue.write_queue_nums,
                queue.topic_sys_flag
            ),
            (6, 4, 4, 0)
        );
    }
    cluster.shutdown().await;
}

#[tokio::test]
async fn legacy_mode_answers_every_version_with_bare_keys() {
    let cluster = TestCluster::builder()
        .legacy_route_json(true)
        .topic("TopicTest", 2)
        .start()
        .await
        .unwrap();
    let client = client();
    for v in [version::V4_5_2, version::V4_9_8, version::V5_3_3] {
        for serialization in [SerializeType::Json, SerializeType::RocketMq] {
            let query = route_query("TopicTest", v).with_serialize_type(serialization);
            let (response, route) = query_route(&client, &cluster.namesrv_addr(), query).await;
            let body = String::from_utf8(response.body().to_vec()).unwrap();
            assert!(body.contains(r#"{0:"127.0.0.1:"#), "{body}");
            assert_eq!(route, cluster.route("TopicTest"));
            assert_eq!(response.serialize_type(), serialization);
        }
    }
    cluster.shutdown().await;
}

#[tokio::test]
async fn unknown_topic_is_17_and_other_codes_are_3() {
    let cluster = TestCluster::builder().start().await.unwrap();
    let client = client();
    let (response, route) = query_route(
        &client,
        &cluster.namesrv_addr(),
        route_query("Nope", version::V4_9_8),
    )
    .await;
    assert_eq!(response.code(), response::TOPIC_NOT_EXIST);
    assert!(route.is_none());
    assert!(response.body().is_empty());
    let remark = response.remark().unwrap();
    assert!(remark.starts_with("No topic route info in name server for the topic: Nope"));

    let other = RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO);
    let response = invoke(&client, &cluster.namesrv_addr(), other)
        .await
        .unwrap();
    assert_eq!(response.code(), response::REQUEST_CODE_NOT_SUPPORTED);
    cluster.shutdown().await;
}

#[tokio::test]
async fn tbw102_is_advertised_only_with_auto_create() {
    let on = TestCluster::builder().brokers(2).start().await.unwrap();
    let route = on.route("TBW102").unwrap();
    assert_eq!(route.queue_datas.len(), 2);
    for queue in &route.queue_datas {
        assert_eq!(
            (queue.perm, queue.read_queue_nums, queue.write_queue_nums),
            (7, 8, 8)
        );
    }
    let (response, _) = query_route(
        &client(),
        &on.namesrv_addr(),
        route_query("TBW102", version::V4_9_8),
    )
    .await;
    assert_eq!(response.code(), response::SUCCESS);
    on.shutdown().await;

    let off = TestCluster::builder()
        .auto_create_topics(false)
        .start()
        .await
        .unwrap();
    assert!(off.route("TBW102").is_none());
    off.shutdown().await;
}

#[tokio::test]
async fn added_broker_joins_routes_of_topics_created_on_it() {
    let cluster = TestCluster::builder()
        .brokers(1)
        .topic("TopicTest", 4)
        .start()
        .await
        .unwrap();
    let broker_c = cluster.add_broker("broker-c").await.unwrap();
    assert!(matches!(
        cluster.add_broker("broker-c").await,
        Err(TestkitError::DuplicateBroker(name)) if name == "broker-c"
    ));
    // Not on broker-c yet.
    assert_eq!(cluster.route("TopicTest").unwrap().broker_datas.len(), 1);
    broker_c.create_topic("TopicTest", 2, 6);
    let client = client();
    let (_, route) = query_route(
        &client,
        &cluster.namesrv_addr(),
        route_query("TopicTest", version::V4_9_8),
    )
    .await;
    let route = route.unwrap();
    let queues: Vec<_> = route
        .queue_datas
        .iter()
        .map(|q| (q.broker_name.as_str(), q.write_queue_nums))
        .collect();
    assert_eq!(queues, [("broker-a", 4), ("broker-c", 2)]);
    assert_eq!(
        route.broker_datas[1].master_addr(),
        Some(broker_c.addr().as_str())
    );
    assert_eq!(cluster.brokers().len(), 2);
    assert_eq!(cluster.broker("broker-c").unwrap().addr(), broker_c.addr());

    // cluster.create_topic reaches every broker, the added one too.
    cluster.create_topic("Other", 3);
    assert_eq!(cluster.route("Other").unwrap().queue_datas.len(), 2);
    cluster.shutdown().await;
}

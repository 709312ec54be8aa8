//! The broker: every send path stored and answered as Java does, auto-create, heartbeats,
//! unregistrations, both serializations, and hostile input.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::*;
use rmq_common::sysflag::COMPRESSED_FLAG;
use rmq_common::{CompressionType, OffsetMessageId};
use rmq_remoting::body::HeartbeatData;
use rmq_remoting::code::{request, response};
use rmq_remoting::header::{SendMessageRequestHeader, UnregisterClientRequestHeader};
use rmq_remoting::{RemotingCommand, SerializeType, version};
use rmq_testkit::{StoredMessage, TestCluster};

async fn cluster() -> TestCluster {
    TestCluster::builder()
        .brokers(2)
        .topic("TopicTest", 4)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn v2_send_is_stored_with_every_field() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    let mut header = header("TopicTest", 1);
    header.flag = 7;
    header.reconsume_times = Some(2);
    let response = invoke(&client, &broker.addr(), send_v2(header, "Hello RocketMQ"))
        .await
        .unwrap();
    assert_eq!(
        response.code(),
        response::SUCCESS,
        "{:?}",
        response.remark()
    );
    assert_eq!(response.version(), version::V4_9_8);
    assert_eq!(response.serialize_type(), SerializeType::Json);
    let answer = response_header(&response);
    assert_eq!((answer.queue_id, answer.queue_offset), (1, 0));
    assert_eq!(answer.region_id.as_deref(), Some("DefaultRegion"));
    assert!(answer.trace_on);

    let stored = broker.messages("TopicTest");
    assert_eq!(stored.len(), 1);
    let msg: &StoredMessage = &stored[0];
    assert_eq!(answer.msg_id, msg.offset_msg_id);
    let id = OffsetMessageId::decode(&msg.offset_msg_id).unwrap();
    assert_eq!(id.addr, broker.socket_addr());
    assert_eq!(id.offset, msg.commit_log_offset);
    assert_eq!(msg.topic, "TopicTest");
    assert_eq!(
        (msg.queue_id, msg.queue_offset, msg.commit_log_offset),
        (1, 0, 0)
    );
    assert_eq!((msg.sys_flag, msg.flag, msg.reconsume_times), (0, 7, 2));
    assert_eq!(msg.born_timestamp, BORN);
    assert!(msg.store_timestamp > BORN);
    assert!(msg.born_host.starts_with("127.0.0.1:"));
    assert_eq!(&msg.body[..], b"Hello RocketMQ");
    assert_eq!(msg.raw_body, msg.body);
    assert_eq!(msg.tags.as_deref(), Some("TagA"));
    assert_eq!(msg.keys.as_deref(), Some("OrderID188"));
    assert_eq!(msg.uniq_key.as_deref(), Some(UNIQ));
    assert_eq!(msg.properties.get("WAIT"), Some("true"));
    // The broker adds its cluster, as Java's does.
    assert_eq!(msg.properties.get("CLUSTER"), Some("DefaultCluster"));
    assert_eq!(msg.properties.len(), 5);
    assert_eq!(msg.producer_group, "pg");
    assert_eq!(msg.request_code, request::SEND_MESSAGE_V2);
    assert_eq!(msg.serialize_type, SerializeType::Json);
    assert!(!msg.batch);
    assert_eq!(msg.broker_name, "broker-a");

    // The next message in the queue gets the next offset; the other broker saw nothing.
    let response = invoke(&client, &broker.addr(), send_v2(header_for(1), "again"))
        .await
        .unwrap();
    assert_eq!(response_header(&response).queue_offset, 1);
    let second = &broker.messages_in_queue("TopicTest", 1)[1];
    assert!(second.commit_log_offset > 0);
    assert!(
        cluster
            .broker("broker-b")
            .unwrap()
            .all_messages()
            .is_empty()
    );
    cluster.shutdown().await;
}

fn header_for(queue_id: i32) -> SendMessageRequestHeader {
    header("TopicTest", queue_id)
}

#[tokio::test]
async fn v1_send_with_long_names() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-b").unwrap();
    let request = send_v1(header_for(3), "v1").with_serialize_type(SerializeType::RocketMq);
    let response = invoke(&client(), &broker.addr(), request).await.unwrap();
    assert_eq!(
        response.code(),
        response::SUCCESS,
        "{:?}",
        response.remark()
    );
    assert_eq!(response.serialize_type(), SerializeType::RocketMq);
    // The binary header keeps Java's FastCodes order (vectors.md V16).
    let keys: Vec<_> = response
        .ext_fields()
        .unwrap()
        .iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        ["msgId", "queueId", "queueOffset", "TRACE_ON", "MSG_REGION"]
    );
    let stored = broker
        .wait_for_messages("TopicTest", 1, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(stored[0].request_code, request::SEND_MESSAGE);
    assert_eq!(stored[0].serialize_type, SerializeType::RocketMq);
    assert_eq!(stored[0].queue_id, 3);
    assert_eq!(stored[0].broker_name, "broker-b");
    cluster.shutdown().await;
}

#[tokio::test]
async fn batch_of_three_is_stored_as_three() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    // One message first, so the batch starts at queue offset 1.
    invoke(&client, &broker.addr(), send_v2(header_for(2), "first"))
        .await
        .unwrap();
    let response = invoke(
        &client,
        &broker.addr(),
        send_batch("TopicTest", 2, &["m0", "m1", "m2"]),
    )
    .await
    .unwrap();
    assert_eq!(
        response.code(),
        response::SUCCESS,
        "{:?}",
        response.remark()
    );
    let answer = response_header(&response);
    assert_eq!((answer.queue_id, answer.queue_offset), (2, 1));

    let stored: Vec<_> = broker
        .messages_in_queue("TopicTest", 2)
        .into_iter()
        .filter(|m| m.batch)
        .collect();
    assert_eq!(stored.len(), 3);
    let ids: Vec<_> = stored.iter().map(|m| &*m.offset_msg_id).collect();
    assert_eq!(answer.msg_id, ids.join(","));
    for (i, msg) in stored.iter().enumerate() {
        assert_eq!(msg.queue_offset, 1 + i as i64);
        assert_eq!(msg.body, format!("m{i}").as_bytes());
        assert_eq!(msg.tags.as_deref(), Some(format!("T{i}").as_str()));
        assert_eq!(
            msg.uniq_key.as_deref(),
            Some(format!("{}{i}", &UNIQ[..31]).as_str())
        );
        assert_eq!(msg.properties.get("WAIT"), Some("true"));
        assert_eq!(msg.request_code, request::SEND_BATCH_MESSAGE);
        assert_eq!(msg.born_timestamp, BORN);
    }
    cluster.shutdown().await;
}

#[tokio::test]
async fn compressed_bodies_are_stored_decompressed() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    let body: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
    let kinds = [
        CompressionType::Zlib,
        CompressionType::Zstd,
        CompressionType::Lz4,
    ];
    for kind in kinds {
        let packed = Bytes::from(kind.compress(&body, 5).unwrap());
        let mut header = header_for(0);
        header.sys_flag = COMPRESSED_FLAG | kind.compression_flag();
        let response = invoke(&client, &broker.addr(), send_v2(header, packed.clone()))
            .await
            .unwrap();
        assert_eq!(
            response.code(),
            response::SUCCESS,
            "{kind}: {:?}",
            response.remark()
        );
        let msg = broker.messages("TopicTest").pop().unwrap();
        assert_eq!(&msg.body[..], &body[..], "{kind}");
        assert_eq!(msg.raw_body, packed);
        assert_eq!(msg.sys_flag, 0x001 | kind.compression_flag());
    }
    // A body that does not inflate is refused with a remark naming the problem.
    let mut header = header_for(0);
    header.sys_flag = 0x301;
    let response = invoke(&client, &broker.addr(), send_v2(header, "plain text"))
        .await
        .unwrap();
    assert_eq!(response.code(), response::SYSTEM_ERROR);
    assert!(response.remark().unwrap().contains("ZLIB"));
    assert_eq!(broker.messages("TopicTest").len(), kinds.len());
    cluster.shutdown().await;
}

#[tokio::test]
async fn unknown_topic_is_auto_created_from_tbw102() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-b").unwrap();
    assert!(cluster.route("NewTopic").is_none());
    let response = invoke(
        &client(),
        &broker.addr(),
        send_v2(header("NewTopic", 3), "x"),
    )
    .await
    .unwrap();
    assert_eq!(
        response.code(),
        response::SUCCESS,
        "{:?}",
        response.remark()
    );
    // min(defaultTopicQueueNums 4, TBW102's 8) queues, perm 7 without inherit.
    let config = broker.topic_config("NewTopic").unwrap();
    assert_eq!(
        (config.read_queue_nums, config.write_queue_nums, config.perm),
        (4, 4, 6)
    );
    let route = cluster.route("NewTopic").unwrap();
    assert_eq!(route.broker_datas.len(), 1);
    assert_eq!(route.queue_datas[0].broker_name, "broker-b");
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
    assert!(
        cluster
            .broker("broker-a")
            .unwrap()
            .topic_config("NewTopic")
            .is_none()
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn unknown_topic_without_auto_create_is_17() {
    let cluster = TestCluster::builder()
        .auto_create_topics(false)
        .start()
        .await
        .unwrap();
    let broker = cluster.broker("broker-a").unwrap();
    let response = invoke(
        &client(),
        &broker.addr(),
        send_v2(header("NewTopic", 0), "x"),
    )
    .await
    .unwrap();
    assert_eq!(response.code(), response::TOPIC_NOT_EXIST);
    assert!(
        response
            .remark()
            .unwrap()
            .starts_with("topic[NewTopic] not exist, apply first please!")
    );
    // Java's send processor sets these before it checks anything.
    let keys: Vec<_> = response
        .ext_fields()
        .unwrap()
        .iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, ["TRACE_ON", "MSG_REGION"]);
    assert!(broker.all_messages().is_empty());
    cluster.shutdown().await;
}

#[tokio::test]
async fn queue_id_rules() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    // Negative: the broker picks a writeable queue.
    for _ in 0..8 {
        let response = invoke(&client, &broker.addr(), send_v2(header_for(-1), "any"))
            .await
            .unwrap();
        assert_eq!(response.code(), response::SUCCESS);
        assert!((0..4).contains(&response_header(&response).queue_id));
    }
    // Beyond the write queues: SYSTEM_ERROR.
    let response = invoke(&client, &broker.addr(), send_v2(header_for(4), "x"))
        .await
        .unwrap();
    assert_eq!(response.code(), response::SYSTEM_ERROR);
    let remark = response.remark().unwrap();
    assert!(
        remark.starts_with("queueId[4] is illegal, topic:[TopicTest] topicConfig.writeQueueNums:[4] consumer:[127.0.0.1:"),
        "{remark}"
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn oversized_properties_are_13() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let mut header = header_for(0);
    header.properties = Some(format!("k\u{1}{}", "v".repeat(32_767)).into());
    let response = invoke(&client(), &broker.addr(), send_v2(header, "x"))
        .await
        .unwrap();
    assert_eq!(response.code(), response::MESSAGE_ILLEGAL);
    assert!(broker.all_messages().is_empty());
    cluster.shutdown().await;
}

#[tokio::test]
async fn heartbeat_and_unregister_are_recorded() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    let heartbeat = HeartbeatData::for_producers(
        "192.168.1.100@12345#1234567890123",
        ["CLIENT_INNER_PRODUCER", "pg"],
    );
    let request = RemotingCommand::request(request::HEART_BEAT).with_body(heartbeat.to_json());
    let response = invoke(&client, &broker.addr(), request).await.unwrap();
    assert_eq!(response.code(), response::SUCCESS);
    assert_eq!(broker.heartbeats(), [heartbeat]);

    let header = UnregisterClientRequestHeader::producer("192.168.1.100@12345#1234567890123", "pg");
    let request = RemotingCommand::request(request::UNREGISTER_CLIENT).with_header(header.clone());
    let response = invoke(&client, &broker.addr(), request).await.unwrap();
    assert_eq!(response.code(), response::SUCCESS);
    assert_eq!(broker.unregisters(), [header]);

    // Any code counts as a request; unknown ones get REQUEST_CODE_NOT_SUPPORTED.
    let response = invoke(
        &client,
        &broker.addr(),
        RemotingCommand::request(request::GET_MAX_OFFSET),
    )
    .await
    .unwrap();
    assert_eq!(response.code(), response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(broker.requests_seen(), 3);
    broker.clear();
    assert_eq!(broker.requests_seen(), 0);
    assert!(broker.heartbeats().is_empty() && broker.unregisters().is_empty());
    cluster.shutdown().await;
}

#[tokio::test]
async fn json_and_rocketmq_requests_are_answered_in_kind() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    for kind in [SerializeType::Json, SerializeType::RocketMq] {
        let requests = [
            send_v2(header_for(0), "x"),
            send_v1(header_for(0), "x"),
            send_batch("TopicTest", 0, &["a", "b"]),
            RemotingCommand::request(request::HEART_BEAT)
                .with_body(HeartbeatData::for_producers("c", ["pg"]).to_json()),
            route_query("TopicTest", version::V4_9_8),
        ];
        for (i, request) in requests.into_iter().enumerate() {
            let addr = if i == 4 {
                cluster.namesrv_addr()
            } else {
                broker.addr()
            };
            let response = invoke(&client, &addr, with_serialization(request, kind))
                .await
                .unwrap();
            assert_eq!(
                response.code(),
                response::SUCCESS,
                "{kind:?} #{i}: {:?}",
                response.remark()
            );
            assert_eq!(response.serialize_type(), kind, "#{i}");
        }
    }
    let kinds: Vec<_> = broker
        .all_messages()
        .iter()
        .map(|m| m.serialize_type)
        .collect();
    assert_eq!(kinds.len(), 8);
    assert!(kinds[..4].iter().all(|k| *k == SerializeType::Json));
    assert!(kinds[4..].iter().all(|k| *k == SerializeType::RocketMq));
    cluster.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_system_error() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    let addr = broker.addr();
    let cases = [
        // No header at all.
        RemotingCommand::request(request::SEND_MESSAGE_V2).with_body("x"),
        // Long names where letters are due.
        RemotingCommand::request(request::SEND_BATCH_MESSAGE).with_header(header_for(0)),
        // A batch body that ends inside an entry.
        send_batch("TopicTest", 0, &["a"]).with_body(Bytes::from_static(&[0, 0, 0, 40, 0])),
        // A heartbeat that is not JSON.
        RemotingCommand::request(request::HEART_BEAT).with_body("{not json"),
        // An unregister without clientID.
        RemotingCommand::request(request::UNREGISTER_CLIENT),
        // An illegal topic name.
        send_v2(header("bad topic!", 0), "x"),
    ];
    for (i, request) in cases.into_iter().enumerate() {
        let response = invoke(&client, &addr, request).await.unwrap();
        assert_eq!(response.code(), response::SYSTEM_ERROR, "#{i}");
        assert!(response.remark().is_some_and(|r| !r.is_empty()), "#{i}");
    }
    // Forbidden system topic.
    let response = invoke(
        &client,
        &addr,
        send_v2(header("SCHEDULE_TOPIC_XXXX", 0), "x"),
    )
    .await
    .unwrap();
    assert_eq!(response.code(), response::NO_PERMISSION);
    assert!(broker.all_messages().is_empty());
    // The broker still works.
    let response = invoke(&client, &addr, send_v2(header_for(0), "ok"))
        .await
        .unwrap();
    assert_eq!(response.code(), response::SUCCESS);
    cluster.shutdown().await;
}

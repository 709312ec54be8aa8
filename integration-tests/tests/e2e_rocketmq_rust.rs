//! The producer against real rocketmq-rust 1.0.0 servers. Every test is ignored by default;
//! `cargo xtask e2e` installs and starts a name server and a broker, then runs them with
//! `RMQ_E2E_NAMESRV` (and `RMQ_E2E_BROKER`) set.
//!
//! Besides what the producer reports, the tests read messages back from the broker's store
//! with VIEW_MESSAGE_BY_ID (code 33) and check producer registration with
//! GET_PRODUCER_CONNECTION_LIST (code 204); rocketmq-broker 1.0.0 implements both.
#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use std::collections::HashSet;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rmq::client::ProducerBuilder;
use rmq::common::stored::{StoredMessage, decode_stored_message, decode_stored_messages};
use rmq::common::sysflag;
use rmq::prelude::*;
use rmq::remoting::RemotingClient;
use rmq::remoting::body::TopicRouteData;
use rmq::remoting::code::{request, response};
use rmq::remoting::header::{GetRouteInfoRequestHeader, PullMessageRequestHeader};

const TIMEOUT: Duration = Duration::from_secs(10);
/// GET_PRODUCER_CONNECTION_LIST (Java `RequestCode`; an admin request rmq does not send).
const GET_PRODUCER_CONNECTION_LIST: i32 = 204;

fn namesrv() -> String {
    std::env::var("RMQ_E2E_NAMESRV").unwrap_or_else(|_| {
        panic!("RMQ_E2E_NAMESRV is not set; run these tests with `cargo xtask e2e`")
    })
}

/// The broker's address, when the launcher says; otherwise whatever the route names.
fn broker_env() -> Option<SocketAddr> {
    std::env::var("RMQ_E2E_BROKER").ok()?.parse().ok()
}

/// `prefix` plus a per-run suffix, so reruns against long-lived servers get fresh topics and
/// groups.
fn unique(prefix: &str) -> String {
    static RUN: OnceLock<u128> = OnceLock::new();
    let run = RUN.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
    });
    format!("{prefix}_{run}")
}

/// A producer of a fresh group derived from `group`.
fn builder(group: &str) -> ProducerBuilder {
    builder_for(&unique(group))
}

/// A producer of exactly `group`.
fn builder_for(group: &str) -> ProducerBuilder {
    Producer::builder(group)
        .name_server(namesrv())
        .send_timeout(TIMEOUT)
}

async fn started(builder: ProducerBuilder) -> Producer {
    let producer = builder.build().unwrap();
    producer.start().await.unwrap();
    producer
}

fn admin() -> RemotingClient {
    RemotingClient::builder()
        .name_servers([namesrv()])
        .build()
        .unwrap()
}

/// The broker address inside an offset message id (store host + port).
fn store_addr(offset_msg_id: &str) -> SocketAddr {
    OffsetMessageId::decode(offset_msg_id).unwrap().addr
}

/// Reads the message at `offset_msg_id` back from the broker's commit log.
async fn view(client: &RemotingClient, offset_msg_id: &str) -> StoredMessage {
    let id = OffsetMessageId::decode(offset_msg_id).unwrap();
    view_at(client, id.addr, id.offset)
        .await
        .unwrap_or_else(|code| panic!("VIEW_MESSAGE_BY_ID {offset_msg_id} answered code {code}"))
}

/// VIEW_MESSAGE_BY_ID for a commit-log offset: the decoded record, or the response code.
async fn view_at(
    client: &RemotingClient,
    broker: SocketAddr,
    offset: i64,
) -> Result<StoredMessage, i32> {
    let cmd = RemotingCommand::request(request::VIEW_MESSAGE_BY_ID)
        .with_ext_field("offset", offset.to_string());
    let resp = client
        .invoke_sync(&broker.to_string(), cmd, TIMEOUT)
        .await
        .unwrap();
    if resp.code() != response::SUCCESS {
        return Err(resp.code());
    }
    let stored = decode_stored_message(resp.body()).unwrap();
    assert_eq!(stored.commit_log_offset, offset, "the record asked for");
    assert!(stored.body_crc_matches(), "stored body CRC");
    Ok(stored)
}

/// The route the name server has for `topic`, waiting up to [`TIMEOUT`] for it to appear
/// (a topic auto-created by a send is registered by the broker shortly after).
async fn route(client: &RemotingClient, topic: &str) -> TopicRouteData {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let cmd = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
            .with_header(GetRouteInfoRequestHeader::new(topic));
        let resp = client.invoke_name_server(cmd, TIMEOUT).await.unwrap();
        if resp.code() == response::SUCCESS {
            return TopicRouteData::from_json(resp.body()).unwrap();
        }
        assert_eq!(
            resp.code(),
            response::TOPIC_NOT_EXIST,
            "{:?}",
            resp.remark()
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "no route for {topic} after {TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The client ids the broker lists for `group`; empty when it no longer knows the group.
async fn producer_connections(
    client: &RemotingClient,
    broker: SocketAddr,
    group: &str,
) -> Vec<String> {
    let cmd = RemotingCommand::request(GET_PRODUCER_CONNECTION_LIST)
        .with_ext_field("producerGroup", group);
    let resp = client
        .invoke_sync(&broker.to_string(), cmd, TIMEOUT)
        .await
        .unwrap();
    if resp.code() != response::SUCCESS {
        // Java and rocketmq-rust answer SYSTEM_ERROR "the producer group[..] not exist".
        assert_eq!(resp.code(), response::SYSTEM_ERROR, "{:?}", resp.remark());
        return Vec::new();
    }
    let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
    body["connectionSet"]
        .as_array()
        .map(|set| {
            set.iter()
                .filter_map(|c| c["clientId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks a SEND_OK result against what the broker stored; returns the stored record.
async fn check_stored(client: &RemotingClient, sent: &SendResult, msg: &Message) -> StoredMessage {
    assert_eq!(sent.status, SendStatus::SendOk, "{sent}");
    let offset_id = sent.offset_msg_id.as_deref().expect("offsetMsgId");
    let stored = view(client, offset_id).await;
    assert_eq!(stored.topic, msg.topic());
    assert_eq!(stored.queue_id, sent.queue.queue_id());
    assert_eq!(stored.queue_offset, sent.queue_offset);
    assert_eq!(stored.store_host, store_addr(offset_id));
    assert_eq!(stored.properties.get("UNIQ_KEY"), Some(&*sent.msg_id));
    assert_eq!(
        stored.uncompressed_body(1 << 24).unwrap(),
        msg.body(),
        "stored body"
    );
    stored
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn route_exists_after_auto_create() {
    let topic = unique("E2E_Route");
    let client = admin();
    let producer = started(builder("e2e_route")).await;
    let sent = producer
        .send(Message::new(topic.as_str(), "create me"))
        .await
        .unwrap();
    assert_eq!(sent.status, SendStatus::SendOk);

    let queues = producer.publish_queues(&topic).await.unwrap();
    assert!(!queues.is_empty(), "publish queues of {topic}");
    assert!(queues.iter().all(|q| q.topic() == topic));
    assert!(
        queues.contains(&sent.queue),
        "{} among {queues:?}",
        sent.queue
    );

    // The broker created the topic from TBW102 with the producer's 4 default queues and
    // registered it; the name server now routes it to that broker (as Java 4.9.8 does).
    let route = route(&client, &topic).await;
    let broker = route.broker_datas.first().expect("a broker in the route");
    assert_eq!(broker.broker_name, sent.queue.broker_name());
    if let Some(addr) = broker_env() {
        assert_eq!(broker.master_addr(), Some(addr.to_string().as_str()));
    }
    let queue_data = route.queue_datas.first().expect("queue data in the route");
    assert_eq!(queue_data.write_queue_nums, 4, "{route:?}");
    assert_eq!(queue_data.read_queue_nums, 4, "{route:?}");
    // TBW102's perm 7 without PERM_INHERIT (Java `createTopicInSendMessageMethod`).
    assert_eq!(queue_data.perm, 6, "{route:?}");
    producer.shutdown().await;
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn sync_send_is_stored_at_the_offset_id() {
    let topic = unique("E2E_Sync");
    let client = admin();
    let producer = started(builder("e2e_sync")).await;
    let msg = Message::builder(topic.as_str())
        .tags("TagA")
        .keys(["OrderID188"])
        .body("Hello RocketMQ")
        .build()
        .unwrap();
    let sent = producer.send(msg.clone()).await.unwrap();
    assert_eq!(sent.status, SendStatus::SendOk);
    assert_eq!(sent.queue.topic(), topic);
    assert_eq!(sent.msg_id.len(), 32, "UNIQ_KEY {}", sent.msg_id);
    let offset_id = sent.offset_msg_id.as_deref().expect("offsetMsgId");
    let store = store_addr(offset_id);
    if let Some(broker) = broker_env() {
        assert_eq!(store, broker, "offsetMsgId {offset_id} names the broker");
    }

    let stored = check_stored(&client, &sent, &msg).await;
    assert_eq!(stored.properties.get("TAGS"), Some("TagA"));
    assert_eq!(stored.properties.get("KEYS"), Some("OrderID188"));
    assert_eq!(stored.sys_flag & sysflag::COMPRESSED_FLAG, 0);
    assert!(stored.born_host.ip().is_loopback(), "{}", stored.born_host);

    // A second send to the same queue is the next queue offset.
    let again = producer
        .send_to_queue(Message::new(topic.as_str(), "again"), sent.queue.clone())
        .await
        .unwrap();
    assert_eq!(again.queue, sent.queue);
    assert_eq!(again.queue_offset, sent.queue_offset + 1);
    producer.shutdown().await;
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn async_sends_all_succeed() {
    const N: usize = 100;
    let topic = unique("E2E_Async");
    let producer = started(builder("e2e_async")).await;
    // Create the topic first so 100 sends do not all race through TBW102.
    producer
        .send(Message::new(topic.as_str(), "warm up"))
        .await
        .unwrap();

    let mut futures = Vec::with_capacity(N);
    for i in 0..N {
        let msg = Message::new(topic.as_str(), format!("future {i}"));
        futures.push(producer.send_async(msg).await.unwrap());
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..N {
        let tx = tx.clone();
        let msg = Message::new(topic.as_str(), format!("callback {i}"));
        producer
            .send_with_callback(msg, move |result| {
                let _ = tx.send(result);
            })
            .await
            .unwrap();
    }
    drop(tx);

    let mut ids = HashSet::new();
    for future in futures {
        let sent = tokio::time::timeout(TIMEOUT, future)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sent.status, SendStatus::SendOk, "{sent}");
        assert!(ids.insert(sent.msg_id));
    }
    let mut callbacks = 0;
    while let Some(result) = tokio::time::timeout(TIMEOUT, rx.recv()).await.unwrap() {
        let sent = result.unwrap();
        assert_eq!(sent.status, SendStatus::SendOk, "{sent}");
        assert!(ids.insert(sent.msg_id));
        callbacks += 1;
    }
    assert_eq!(callbacks, N, "every callback ran once");
    assert_eq!(ids.len(), 2 * N, "distinct message ids");
    assert_eq!(producer.async_in_flight(), 0);
    producer.shutdown().await;
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn auto_batched_sends_are_each_stored_under_their_own_ids() {
    const N: usize = 300;
    let topic = unique("E2E_AutoBatch");
    let client = admin();
    let producer =
        started(builder("e2e_auto_batch").auto_batch(rmq::client::AutoBatch::default())).await;
    let batches = support::BatchRequests::default();
    producer.register_send_message_hook(batches.clone());
    producer
        .send(Message::new(topic.as_str(), "warm up"))
        .await
        .unwrap();

    let msgs: Vec<Message> = (0..N)
        .map(|i| Message::new(topic.as_str(), format!("auto {i}")))
        .collect();
    let mut futures = Vec::with_capacity(N);
    for msg in &msgs {
        futures.push(producer.send_async(msg.clone()).await.unwrap());
    }
    let mut ids = HashSet::new();
    for (future, msg) in futures.into_iter().zip(&msgs) {
        let sent = tokio::time::timeout(TIMEOUT, future)
            .await
            .unwrap()
            .unwrap();
        assert!(!sent.msg_id.contains(','), "{sent}");
        check_stored(&client, &sent, msg).await;
        assert!(ids.insert(sent.msg_id));
    }
    assert!(batches.count() > 0, "some went in batches");
    producer.shutdown().await;
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn oneway_send_is_stored() {
    let topic = unique("E2E_Oneway");
    let client = admin();
    let producer = started(builder("e2e_oneway")).await;
    producer
        .send_oneway(Message::new(topic.as_str(), "fire and forget"))
        .await
        .unwrap();

    // A oneway send has no result; find it in the append-only commit log after a synchronous
    // anchor on the same queue.
    let anchor_msg = Message::new(topic.as_str(), "anchor");
    let anchor = producer.send(anchor_msg.clone()).await.unwrap();
    let anchor_stored = check_stored(&client, &anchor, &anchor_msg).await;
    let oneway_msg = Message::new(topic.as_str(), "oneway after the anchor");
    producer
        .send_to_queue(oneway_msg.clone(), anchor.queue.clone())
        .oneway()
        .await
        .unwrap();

    let broker = store_addr(anchor.offset_msg_id.as_deref().unwrap());
    let mut next = anchor_stored.commit_log_offset + i64::from(anchor_stored.total_size);
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let stored = loop {
        match view_at(&client, broker, next).await {
            Ok(stored) if stored.body == oneway_msg.body() => break stored,
            // Something else (a broker system message) was appended first: skip over it.
            Ok(other) => next += i64::from(other.total_size),
            Err(code) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "oneway message not stored at {next} (code {code})"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(stored.topic, topic);
    assert_eq!(stored.body, oneway_msg.body());
    assert_eq!(stored.queue_id, anchor.queue.queue_id());
    assert_eq!(stored.queue_offset, anchor.queue_offset + 1);
    assert!(stored.properties.get("UNIQ_KEY").is_some());
    producer.shutdown().await;
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn batch_is_stored_as_consecutive_messages() {
    let topic = unique("E2E_Batch");
    let client = admin();
    let producer = started(builder("e2e_batch")).await;
    let msgs: Vec<Message> = (0..3)
        .map(|i| Message::new(topic.as_str(), format!("batch {i}")))
        .collect();
    let sent = producer.send_batch(msgs.clone()).await.unwrap();
    assert_eq!(sent.status, SendStatus::SendOk, "{sent}");

    let ids: Vec<&str> = sent.msg_id.split(',').collect();
    assert_eq!(ids.len(), 3, "{}", sent.msg_id);
    assert!(ids.iter().all(|id| id.len() == 32), "{}", sent.msg_id);
    let offset_ids: Vec<&str> = sent
        .offset_msg_id
        .as_deref()
        .expect("offsetMsgId")
        .split(',')
        .collect();
    assert_eq!(offset_ids.len(), 3, "{sent}");

    let mut last_commit_log_offset = -1;
    for (i, offset_id) in offset_ids.iter().enumerate() {
        let stored = view(&client, offset_id).await;
        assert_eq!(stored.topic, topic);
        assert_eq!(stored.body, msgs[i].body(), "message {i} in order");
        assert_eq!(stored.queue_id, sent.queue.queue_id());
        assert_eq!(stored.queue_offset, sent.queue_offset + i as i64);
        assert_eq!(stored.properties.get("UNIQ_KEY"), Some(ids[i]));
        assert!(stored.commit_log_offset > last_commit_log_offset);
        last_commit_log_offset = stored.commit_log_offset;
    }
    producer.shutdown().await;
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn compressed_bodies_are_stored_compressed() {
    let client = admin();
    // Compressible and above the 4 KiB threshold.
    let body = Bytes::from("RocketMQ end to end. ".repeat(400));
    for kind in [
        CompressionType::Zlib,
        CompressionType::Zstd,
        CompressionType::Lz4,
    ] {
        let topic = unique(&format!("E2E_Compress_{}", kind.name()));
        let producer =
            started(builder(&format!("e2e_compress_{}", kind.name())).compress_type(kind)).await;
        let msg = Message::new(topic.as_str(), body.clone());
        let sent = producer.send(msg.clone()).await.unwrap();
        let stored = check_stored(&client, &sent, &msg).await;
        assert_ne!(
            stored.sys_flag & sysflag::COMPRESSED_FLAG,
            0,
            "{kind}: sysFlag {:#x}",
            stored.sys_flag
        );
        assert_eq!(
            CompressionType::from_sys_flag(stored.sys_flag).unwrap(),
            kind,
            "sysFlag {:#x}",
            stored.sys_flag
        );
        assert!(
            stored.body.len() < body.len(),
            "{kind}: stored {} bytes of {}",
            stored.body.len(),
            body.len()
        );
        producer.shutdown().await;
    }
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn json_and_rocketmq_headers_both_work() {
    let client = admin();
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let name = format!("{serialize_type:?}");
        let topic = unique(&format!("E2E_Header_{name}"));
        let producer =
            started(builder(&format!("e2e_header_{name}")).serialize_type(serialize_type)).await;
        let msg = Message::builder(topic.as_str())
            .tags("TagA")
            .body(format!("{name} header"))
            .build()
            .unwrap();
        let sent = producer.send(msg.clone()).await.unwrap();
        let stored = check_stored(&client, &sent, &msg).await;
        assert_eq!(stored.properties.get("TAGS"), Some("TagA"), "{name}");

        let batch: Vec<Message> = (0..2)
            .map(|i| Message::new(topic.as_str(), format!("{name} batch {i}")))
            .collect();
        let sent = producer.send_batch(batch).await.unwrap();
        assert_eq!(sent.status, SendStatus::SendOk, "{name}: {sent}");
        assert_eq!(sent.msg_id.split(',').count(), 2, "{name}");

        let sent = producer
            .send_async(Message::new(topic.as_str(), format!("{name} async")))
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(sent.status, SendStatus::SendOk, "{name}: {sent}");
        producer.shutdown().await;
    }
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn ordered_sends_share_a_queue() {
    let topic = unique("E2E_Ordered");
    let client = admin();
    let producer = started(builder("e2e_ordered")).await;
    producer
        .send(Message::new(topic.as_str(), "create"))
        .await
        .unwrap();
    let queues = producer.publish_queues(&topic).await.unwrap();
    let probe = Message::new(topic.as_str(), "probe");
    let expected = SelectByHash.select(&queues, &probe, "order-1").unwrap();

    let mut last: Option<SendResult> = None;
    for step in 0..10 {
        let msg = Message::new(topic.as_str(), format!("order-1 step {step}"));
        let sent = producer
            .send_with_selector(msg.clone(), SelectByHash, "order-1")
            .await
            .unwrap();
        assert_eq!(sent.queue, expected, "step {step}");
        if let Some(prev) = &last {
            assert_eq!(sent.queue_offset, prev.queue_offset + 1, "step {step}");
        }
        check_stored(&client, &sent, &msg).await;
        last = Some(sent);
    }
    producer.shutdown().await;
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn shutdown_unregisters_the_group() {
    let topic = unique("E2E_Unregister");
    let (leaving, staying) = (unique("e2e_unregister_a"), unique("e2e_unregister_b"));
    let client = admin();
    // One client instance (same instance name) for both groups, so its connection to the broker
    // outlives the first shutdown: only UNREGISTER_CLIENT, not a closed channel, can then
    // remove that group.
    let instance = unique("e2e_unregister");
    let member = |group: &str| {
        Producer::builder(group)
            .name_server(namesrv())
            .instance_name(instance.as_str())
            .send_timeout(TIMEOUT)
    };
    let first = started(member(&leaving)).await;
    let second = started(member(&staying)).await;
    let client_id = first.client_id().unwrap();
    assert_eq!(second.client_id().as_deref(), Some(client_id.as_str()));

    // The scheduled heartbeat (the first one second after start) names both groups; route
    // updates heartbeat nobody, as in Java.
    let sent = first
        .send(Message::new(topic.as_str(), "hello"))
        .await
        .unwrap();
    let broker = store_addr(sent.offset_msg_id.as_deref().unwrap());
    for group in [&leaving, &staying] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut connections = producer_connections(&client, broker, group).await;
        while !connections.contains(&client_id) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            connections = producer_connections(&client, broker, group).await;
        }
        assert!(
            connections.contains(&client_id),
            "{client_id} not among {group}'s {connections:?}"
        );
    }

    tokio::time::timeout(Duration::from_secs(5), first.shutdown())
        .await
        .expect("shutdown completes promptly");
    let connections = producer_connections(&client, broker, &leaving).await;
    assert!(
        !connections.contains(&client_id),
        "{client_id} still in {leaving} after shutdown: {connections:?}"
    );
    let connections = producer_connections(&client, broker, &staying).await;
    assert!(
        connections.contains(&client_id),
        "{staying} lost {client_id} when another group left: {connections:?}"
    );
    let sent = second
        .send(Message::new(topic.as_str(), "still here"))
        .await
        .unwrap();
    assert_eq!(sent.status, SendStatus::SendOk);

    tokio::time::timeout(Duration::from_secs(5), second.shutdown())
        .await
        .expect("shutdown completes promptly");
    let connections = producer_connections(&client, broker, &staying).await;
    assert!(
        !connections.contains(&client_id),
        "{client_id} still in {staying} after shutdown: {connections:?}"
    );

    // The group is free again: a new producer with it starts and sends.
    let again = started(builder_for(&leaving)).await;
    let sent = again
        .send(Message::new(topic.as_str(), "hello again"))
        .await
        .unwrap();
    assert_eq!(sent.status, SendStatus::SendOk);
    again.shutdown().await;
    client.shutdown();
}

/// The authenticating cluster's name server and its user's keys.
fn auth_cluster() -> (String, String, String) {
    let var = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is not set; run these tests with `cargo xtask e2e`"))
    };
    (
        var("RMQ_E2E_AUTH_NAMESRV"),
        var("RMQ_E2E_AUTH_ACCESS_KEY"),
        var("RMQ_E2E_AUTH_SECRET_KEY"),
    )
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn an_authenticating_broker_takes_signed_sends_and_refuses_the_rest() {
    let (namesrv, access_key, secret_key) = auth_cluster();
    let topic = unique("E2eAuth");
    let secure = |group: &str| {
        Producer::builder(unique(group))
            .name_server(namesrv.clone())
            .send_timeout(TIMEOUT)
    };

    // Signed: every send mode is stored.
    let producer = started(secure("e2e_auth").credentials(&access_key, &secret_key)).await;
    let sent = producer
        .send(Message::new(topic.as_str(), "signed sync"))
        .await
        .unwrap();
    assert_eq!(sent.status, SendStatus::SendOk);
    let sent = producer
        .send_async(Message::new(topic.as_str(), "signed async"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(sent.status, SendStatus::SendOk);
    producer
        .send_oneway(Message::new(topic.as_str(), "signed oneway"))
        .await
        .unwrap();
    let batch = (0..3).map(|i| Message::new(topic.as_str(), format!("signed {i}")));
    producer.send_batch(batch).await.unwrap();
    producer.shutdown().await;

    // Unsigned, or signed with the wrong secret: refused as a permission problem, named.
    for (label, builder) in [
        ("unsigned", secure("e2e_unsigned")),
        (
            "wrong secret",
            secure("e2e_wrong").credentials(&access_key, "not-the-secret"),
        ),
    ] {
        let producer = started(builder.retry_times_when_send_failed(0)).await;
        let failed = producer
            .send(Message::new(topic.as_str(), label))
            .await
            .expect_err("refused");
        assert_eq!(failed.kind(), ErrorKind::Permission, "{label}: {failed}");
        assert_eq!(
            failed.response_code(),
            Some(response::NO_PERMISSION),
            "{label}"
        );
        assert!(!failed.is_retryable(), "{label}: {failed}");
        assert!(
            !failed.may_have_been_stored(),
            "{label}: refused, not stored"
        );
        assert_eq!(failed.message().body().as_ref(), label.as_bytes());
        producer.shutdown().await;
    }
}

// ---- Transactions, request-reply and recall ------------------------------------------------

/// PULL_MESSAGE (11) of up to 32 messages from `offset` of `topic`'s `queue_id`, without a
/// consumer heartbeat (sysFlag FLAG_SUBSCRIPTION, 0x4, with subscription `*`): the decoded records,
/// none when the queue has nothing there.
async fn pull(
    client: &RemotingClient,
    broker: SocketAddr,
    topic: &str,
    queue_id: i32,
) -> Vec<StoredMessage> {
    let cmd = RemotingCommand::request(request::PULL_MESSAGE).with_header(
        PullMessageRequestHeader::new(&unique("rmq_e2e_reader"), topic, queue_id, 0),
    );
    let resp = client
        .invoke_sync(&broker.to_string(), cmd, TIMEOUT)
        .await
        .unwrap();
    if resp.code() != response::SUCCESS {
        return Vec::new();
    }
    decode_stored_messages(resp.body()).unwrap()
}

/// Every message readable on `topic` (all its queues on the e2e broker).
async fn readable(client: &RemotingClient, topic: &str) -> Vec<StoredMessage> {
    let route = route(client, topic).await;
    let broker: SocketAddr = route.broker_datas[0]
        .master_addr()
        .unwrap()
        .parse()
        .unwrap();
    let queues = route.queue_datas[0].read_queue_nums as i32;
    let mut all = Vec::new();
    for queue in 0..queues {
        all.extend(pull(client, broker, topic, queue).await);
    }
    all
}

/// Waits up to `timeout` for the message with `uniq_key` to be readable on `topic`.
async fn wait_readable(
    client: &RemotingClient,
    topic: &str,
    uniq_key: &str,
    timeout: Duration,
) -> Option<StoredMessage> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let found = readable(client, topic)
            .await
            .into_iter()
            .find(|m| m.properties.get("UNIQ_KEY") == Some(uniq_key));
        if found.is_some() || tokio::time::Instant::now() >= deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Answers local transactions and checks as scripted, counting checks.
struct Decide {
    execute: LocalTransactionState,
    check: LocalTransactionState,
    checks: std::sync::atomic::AtomicUsize,
}

impl TransactionListener for Decide {
    type Arg = ();
    async fn execute(&self, _: &Message, _: ()) -> LocalTransactionState {
        self.execute
    }
    async fn check(&self, _: &TransactionCheck) -> LocalTransactionState {
        self.checks
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.check
    }
}

async fn transactional(
    group: &str,
    execute: LocalTransactionState,
    check: LocalTransactionState,
) -> TransactionProducer<Decide> {
    let producer = builder(group)
        .build_transactional(Decide {
            execute,
            check,
            checks: Default::default(),
        })
        .unwrap();
    producer.start().await.unwrap();
    producer
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn a_committed_transaction_is_readable_and_a_rolled_back_one_never_is() {
    let topic = unique("E2E_Tx");
    let client = admin();
    let commit = transactional(
        "e2e_tx_commit",
        LocalTransactionState::Commit,
        LocalTransactionState::Commit,
    )
    .await;
    let committed = commit
        .send_in_transaction(Message::new(topic.as_str(), "committed"), ())
        .await
        .unwrap();
    assert_eq!(committed.local_state, LocalTransactionState::Commit);
    // The half message is in the half topic, where the send result's offset id points.
    let half = view(
        &client,
        committed.send_result.offset_msg_id.as_deref().unwrap(),
    )
    .await;
    assert_eq!(half.topic, "RMQ_SYS_TRANS_HALF_TOPIC");
    assert_eq!(half.properties.get("REAL_TOPIC"), Some(topic.as_str()));

    let rollback = transactional(
        "e2e_tx_rollback",
        LocalTransactionState::Rollback,
        LocalTransactionState::Rollback,
    )
    .await;
    let rolled_back = rollback
        .send_in_transaction(Message::new(topic.as_str(), "rolled back"), ())
        .await
        .unwrap();
    assert_eq!(rolled_back.local_state, LocalTransactionState::Rollback);

    let delivered = wait_readable(&client, &topic, &committed.send_result.msg_id, TIMEOUT)
        .await
        .expect("the committed message is readable on its topic");
    assert_eq!(&delivered.body[..], b"committed");
    assert!(
        wait_readable(
            &client,
            &topic,
            &rolled_back.send_result.msg_id,
            Duration::from_secs(2)
        )
        .await
        .is_none(),
        "a rolled-back message is never readable"
    );
    commit.shutdown().await;
    rollback.shutdown().await;
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn an_unknown_transaction_is_committed_when_the_broker_checks_back() {
    let topic = unique("E2E_TxCheck");
    let client = admin();
    let producer = transactional(
        "e2e_tx_check",
        LocalTransactionState::Unknown,
        LocalTransactionState::Commit,
    )
    .await;
    let sent = producer
        .send_in_transaction(Message::new(topic.as_str(), "decided by the check"), ())
        .await
        .unwrap();
    assert_eq!(sent.local_state, LocalTransactionState::Unknown);
    // The e2e broker checks undecided half messages every second (transactionCheckInterval).
    let delivered = wait_readable(
        &client,
        &topic,
        &sent.send_result.msg_id,
        Duration::from_secs(30),
    )
    .await
    .expect("committed by the answer to the broker's check");
    assert_eq!(&delivered.body[..], b"decided by the check");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while producer.check_stats().answered == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        producer.check_stats().answered >= 1,
        "{:?}",
        producer.check_stats()
    );
    assert!(
        producer
            .listener()
            .checks
            .load(std::sync::atomic::Ordering::SeqCst)
            >= 1
    );
    producer.shutdown().await;
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn a_request_is_answered_by_a_responder_reading_it_from_the_broker() {
    let topic = unique("E2E_Request");
    let client = admin();
    let requester = started(builder("e2e_requester")).await;
    let responder = started(builder("e2e_responder")).await;

    let request = requester
        .request(Message::new(topic.as_str(), "ping"))
        .timeout(Duration::from_secs(20))
        .into_future();
    let respond = async {
        // Read the request with PULL_MESSAGE and reply to it.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let requests = tokio::time::timeout(Duration::from_secs(1), readable(&client, &topic))
                .await
                .unwrap_or_default();
            if let Some(stored) = requests.into_iter().next() {
                let msg = stored.into_message();
                assert!(
                    msg.properties().get("CLUSTER").is_some(),
                    "the broker names its cluster"
                );
                return responder.send_reply(&msg, "pong").unwrap().await.unwrap();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no request to answer"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let (reply, replied) = tokio::join!(request, respond);
    assert_eq!(replied.status, SendStatus::SendOk);
    let reply = reply.unwrap();
    assert_eq!(&reply.body()[..], b"pong");
    assert_eq!(reply.properties().get("MSG_TYPE"), Some("reply"));
    assert!(reply.properties().get("ARRIVE_TIME").is_some());
    requester.shutdown().await;
    responder.shutdown().await;
    client.shutdown();
}

#[tokio::test]
#[ignore = "needs real servers: cargo xtask e2e"]
async fn a_recalled_timer_message_is_never_delivered() {
    let topic = unique("E2E_Recall");
    let client = admin();
    let producer = started(builder("e2e_recall")).await;
    let timer = |body: &str, secs: i64| {
        let mut msg = Message::new(topic.as_str(), body.to_owned());
        msg.set_delay_time_sec(secs);
        msg
    };
    let recalled = producer.send(timer("recalled", 3)).await.unwrap();
    let kept = producer.send(timer("kept", 3)).await.unwrap();
    let handle = recalled
        .recall_handle
        .as_deref()
        .expect("a 5.x broker gives timer messages a recall handle");
    let id = producer.recall(&topic, handle).await.unwrap();
    assert_eq!(id, &*recalled.msg_id);

    let delivered = wait_readable(&client, &topic, &kept.msg_id, Duration::from_secs(20))
        .await
        .expect("the kept timer message is delivered when due");
    assert_eq!(&delivered.body[..], b"kept");
    assert!(
        wait_readable(&client, &topic, &recalled.msg_id, Duration::from_secs(2))
            .await
            .is_none(),
        "the recalled one never is"
    );
    producer.shutdown().await;
    client.shutdown();
}

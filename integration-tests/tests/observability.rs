//! Message trace against the test broker: the records Java's trace hook and dispatcher would
//! write, read back from the trace topic and compared field by field.

mod support;

use std::time::Duration;

use rmq::client::{PubRecord, TraceMessageType, decode_pub_records};
use rmq::prelude::*;
use rmq::remoting::code::response;
use rmq_testkit::TestBroker;

const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// Every `Pub` record in the trace topic, once there are `n`.
async fn records(broker: &TestBroker, n: usize) -> Vec<PubRecord> {
    let mut found = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        found = broker
            .messages(TRACE_TOPIC)
            .iter()
            .flat_map(|m| {
                let data = std::str::from_utf8(&m.body).expect("UTF-8 trace data");
                decode_pub_records(data).expect("Java-shaped records")
            })
            .collect();
        if found.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_send_leaves_a_java_trace_record() {
    let cluster = support::cluster(1).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let producer = support::started(
        support::builder(&cluster, "g_traced")
            .msg_trace(true)
            .msg_trace_batch_size(1),
    )
    .await;
    assert_eq!(producer.msg_trace_topic(), Some(TRACE_TOPIC));

    let msg = Message::builder("TopicTest")
        .tags("TagA")
        .keys(["K1", "K2"])
        .body("hello trace")
        .build()
        .expect("message");
    let sync = producer.send(msg).await.expect("sync");
    let asynchronous = producer
        .send_async(Message::new("TopicTest", "async"))
        .await
        .expect("accepted")
        .await
        .expect("async");
    producer
        .send_oneway(Message::new("TopicTest", "oneway"))
        .await
        .expect("oneway");
    let batch = producer
        .send_batch((0..3).map(|i| Message::new("TopicTest", format!("b{i}"))))
        .await
        .expect("batch");
    // The three answered sends' records arrive (the trace producer shares the broker, so the
    // refusals below must not meet its sends).
    assert_eq!(records(&broker, 3).await.len(), 3);
    broker.fail_next(response::SYSTEM_BUSY, 3);
    producer
        .send(Message::new("TopicTest", "refused"))
        .await
        .expect_err("busy broker");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let found = records(&broker, 3).await;
    // Java: answered sends only; oneway sends and failures leave none.
    assert_eq!(found.len(), 3, "{found:#?}");
    let by_id = |id: &str| {
        found
            .iter()
            .find(|r| r.msg_id == id)
            .unwrap_or_else(|| panic!("a record for {id}"))
    };

    let record = by_id(&sync.msg_id);
    assert_eq!(record.region_id, "DefaultRegion");
    assert_eq!(record.group, "g_traced");
    assert_eq!(record.topic, "TopicTest");
    assert_eq!(record.tags.as_deref(), Some("TagA"));
    assert_eq!(record.keys.as_deref(), Some("K1 K2"));
    assert_eq!(record.store_host, broker.addr());
    assert_eq!(record.body_length, "hello trace".len());
    assert_eq!(record.msg_type, TraceMessageType::Normal);
    assert_eq!(
        record.offset_msg_id.as_deref(),
        sync.offset_msg_id.as_deref()
    );
    assert!(record.success);
    assert!(record.timestamp > 1_700_000_000_000);

    let record = by_id(&asynchronous.msg_id);
    assert_eq!((record.tags.clone(), record.keys.clone()), (None, None));
    assert_eq!(
        record.offset_msg_id.as_deref(),
        asynchronous.offset_msg_id.as_deref()
    );

    // One record for a whole batch: its ids joined, no tags or keys.
    let record = by_id(&batch.msg_id);
    assert_eq!(record.msg_id.split(',').count(), 3);
    assert_eq!(record.tags, None);

    // The trace messages are found by the message ids and keys.
    let trace_messages = broker.messages(TRACE_TOPIC);
    let keys: Vec<String> = trace_messages
        .iter()
        .filter_map(|m| m.keys.as_deref().map(str::to_owned))
        .collect();
    assert!(
        keys.iter().any(|k| k.split(' ').any(|k| k == "K1")),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.contains(&*sync.msg_id)), "{keys:?}");
    assert_eq!(producer.trace_records_dropped(), 0);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_sends_the_records_still_held() {
    let cluster = support::cluster(1).await;
    let broker = cluster.broker("broker-a").expect("broker");
    // The default batch (10) and flush interval (5 s) would hold these five.
    let producer =
        support::started(support::builder(&cluster, "g_traced_flush").msg_trace(true)).await;
    for i in 0..5 {
        producer
            .send(Message::new("TopicTest", format!("m{i}")))
            .await
            .expect("sent");
    }
    producer.shutdown().await;
    assert_eq!(records(&broker, 5).await.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_context_round_trips_through_message_properties() {
    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let cluster = support::cluster(1).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let producer = support::builder(&cluster, "g_trace_context")
        .trace_context(|set: &mut dyn FnMut(&str, String)| {
            set("traceparent", PARENT.to_owned());
            set("tracestate", "rojo=00f067aa0ba902b7".to_owned());
        })
        .build()
        .expect("config");
    producer.start().await.expect("starts");

    let sent = producer
        .send(Message::new("TopicTest", "traced"))
        .await
        .expect("sent");
    let mut own = Message::new("TopicTest", "its own parent");
    own.put_user_property(
        "traceparent",
        "00-11111111111111111111111111111111-2222222222222222-01",
    )
    .expect("a user property");
    let kept = producer.send(own).await.expect("sent");
    producer
        .send_batch((0..2).map(|i| Message::new("TopicTest", format!("b{i}"))))
        .await
        .expect("batch");

    let stored = support::stored(&cluster, &sent);
    assert_eq!(stored.properties.get("traceparent"), Some(PARENT));
    assert_eq!(
        stored.properties.get("tracestate"),
        Some("rojo=00f067aa0ba902b7")
    );
    // What a consumer reads back parses as the context that was sent.
    let parts: Vec<&str> = stored
        .properties
        .get("traceparent")
        .unwrap_or_default()
        .split('-')
        .collect();
    assert_eq!(
        parts,
        [
            "00",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "00f067aa0ba902b7",
            "01"
        ]
    );
    // A context the caller set stays.
    let stored = support::stored(&cluster, &kept);
    assert_eq!(
        stored.properties.get("traceparent"),
        Some("00-11111111111111111111111111111111-2222222222222222-01")
    );
    // Each message of a batch carries it.
    let batch: Vec<_> = broker
        .messages("TopicTest")
        .into_iter()
        .filter(|m| m.batch)
        .collect();
    assert_eq!(batch.len(), 2);
    assert!(
        batch
            .iter()
            .all(|m| m.properties.get("traceparent") == Some(PARENT))
    );
    producer.shutdown().await;
}

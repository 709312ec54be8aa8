//! Every send mode against the test cluster, checked against what the broker stored.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot_free::Counter;
use rmq::client::{CheckForbiddenContext, CheckForbiddenHook, SendContext, SendMessageHook};
use rmq::common::sysflag;
use rmq::prelude::*;
use rmq::remoting::SerializeType;
use rmq::remoting::code::request;

/// A tiny thread-safe counter without extra dependencies.
mod parking_lot_free {
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Default)]
    pub struct Counter(AtomicUsize);
    impl Counter {
        pub fn bump(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        pub fn get(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_send_is_stored_with_every_field() {
    let cluster = support::cluster(1).await;
    let producer = support::producer(&cluster, "g_sync").await;
    let msg = Message::builder("TopicTest")
        .tags("TagA")
        .keys(["OrderID188", "k2"])
        .user_property("color", "red")
        .body("Hello RocketMQ")
        .build()
        .expect("message");
    let result = producer.send(msg).await.expect("sent");
    assert_eq!(result.status, SendStatus::SendOk);
    assert_eq!(result.queue.topic(), "TopicTest");
    let broker = cluster.broker(result.queue.broker_name()).expect("broker");
    let stored = broker
        .wait_for_messages("TopicTest", 1, SECOND)
        .await
        .expect("stored");
    let m = &stored[0];
    assert_eq!(m.uniq_key.as_deref(), Some(&*result.msg_id));
    assert_eq!(Some(&*m.offset_msg_id), result.offset_msg_id.as_deref());
    assert_eq!(
        (m.queue_id, m.queue_offset),
        (result.queue.queue_id(), result.queue_offset)
    );
    assert_eq!(m.tags.as_deref(), Some("TagA"));
    assert_eq!(m.keys.as_deref(), Some("OrderID188 k2"));
    assert_eq!(m.properties.get("color"), Some("red"));
    assert_eq!(m.properties.get("WAIT"), Some("true"));
    assert_eq!(m.body, Bytes::from("Hello RocketMQ"));
    assert_eq!(m.sys_flag, 0);
    assert_eq!(m.request_code, request::SEND_MESSAGE_V2);
    assert_eq!(m.producer_group, "g_sync");
    assert!(m.born_timestamp > 1_600_000_000_000);
    // Java's SendResult.toString shape.
    assert!(
        result
            .to_string()
            .starts_with("SendResult [sendStatus=SEND_OK, msgId=")
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_future_and_callback_sends() {
    let cluster = support::cluster(2).await;
    let producer = support::producer(&cluster, "g_async").await;
    let mut pending = Vec::new();
    for i in 0..50 {
        pending.push(
            producer
                .send_async(Message::new("TopicTest", format!("future {i}")))
                .await
                .expect("accepted"),
        );
    }
    let mut ids = HashSet::new();
    for f in pending {
        ids.insert(f.await.expect("stored").msg_id);
    }
    assert_eq!(ids.len(), 50);
    let calls = Arc::new(AtomicUsize::new(0));
    for i in 0..20 {
        let calls = calls.clone();
        producer
            .send_with_callback(Message::new("TopicTest", format!("cb {i}")), move |r| {
                assert!(r.is_ok(), "{r:?}");
                calls.fetch_add(1, Ordering::SeqCst);
            })
            .await
            .expect("accepted");
    }
    producer
        .flush(Duration::from_secs(5))
        .await
        .expect("all done");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        20,
        "each callback exactly once"
    );
    let stored: usize = cluster
        .brokers()
        .iter()
        .map(|b| b.messages("TopicTest").len())
        .sum();
    assert_eq!(stored, 70);
    assert_eq!(producer.async_in_flight(), 0);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oneway_to_queue_selector_and_batch() {
    let cluster = support::cluster(2).await;
    let producer = support::producer(&cluster, "g_modes").await;
    producer
        .send_oneway(Message::new("TopicTest", "oneway"))
        .await
        .expect("written");
    assert!(
        support::eventually(SECOND, || cluster
            .brokers()
            .iter()
            .any(|b| b.messages("TopicTest").iter().any(|m| m.body == "oneway")))
        .await
    );

    let queue = MessageQueue::new("TopicTest", "broker-b", 3);
    let r = producer
        .send_to_queue(Message::new("TopicTest", "to queue"), queue.clone())
        .await
        .expect("sent");
    assert_eq!(r.queue, queue);
    let err = producer
        .send_to_queue(Message::new("Other", "x"), queue)
        .await
        .expect_err("topic mismatch");
    assert!(
        matches!(err.error(), rmq::Error::TopicMismatch { .. }),
        "{err}"
    );

    // Same order key, same queue; Java's hash picks the queue.
    let mut queues = HashSet::new();
    for step in 0..6 {
        let r = producer
            .send_with_selector(
                Message::new("TopicTest", format!("step {step}")),
                SelectByHash,
                "order-1",
            )
            .await
            .expect("sent");
        queues.insert(r.queue.clone());
    }
    assert_eq!(queues.len(), 1);

    let batch: Vec<Message> = (0..3)
        .map(|i| Message::new("TopicTest", format!("b{i}")))
        .collect();
    let r = producer.send_batch(batch).await.expect("batch sent");
    let ids: Vec<&str> = r.msg_id.split(',').collect();
    assert_eq!(ids.len(), 3);
    let broker = cluster.broker(r.queue.broker_name()).expect("broker");
    let stored = broker.messages_in_queue("TopicTest", r.queue.queue_id());
    let batch_stored: Vec<_> = stored.iter().filter(|m| m.batch).collect();
    assert_eq!(batch_stored.len(), 3);
    for (i, m) in batch_stored.iter().enumerate() {
        assert_eq!(m.uniq_key.as_deref(), Some(ids[i]));
        assert_eq!(m.queue_offset, r.queue_offset + i as i64);
        assert_eq!(m.request_code, request::SEND_BATCH_MESSAGE);
        assert_eq!(m.sys_flag, 0, "batches are never compressed");
    }
    producer
        .send_oneway(Message::new("TopicTest", "after"))
        .await
        .expect("written");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_compression_type_round_trips() {
    let cluster = support::cluster(1).await;
    for (kind, bits) in [
        (CompressionType::Zlib, 0x301),
        (CompressionType::Zstd, 0x201),
        (CompressionType::Lz4, 0x101),
    ] {
        let group = format!("g_compress_{kind}");
        let producer =
            support::started(support::builder(&cluster, &group).compress_type(kind)).await;
        let body = Bytes::from("compress me ".repeat(500));
        let msg = Message::new("TopicTest", body.clone());
        let r = producer.send(msg).await.expect("sent");
        let m = support::stored(&cluster, &r);
        assert_eq!(m.sys_flag & 0x701, bits, "{kind}");
        assert_eq!(m.body, body, "{kind} decompressed by the broker");
        assert!(m.raw_body.len() < body.len());
        // Just under the threshold stays plain.
        let r = producer
            .send(Message::new("TopicTest", vec![b'x'; 4095]))
            .await
            .expect("sent");
        let m = support::stored(&cluster, &r);
        assert_eq!(m.sys_flag & sysflag::COMPRESSED_FLAG, 0);
        producer.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_wrap_on_the_wire_and_unwrap_in_results() {
    let cluster = support::cluster(1).await;
    let producer =
        support::started(support::builder(&cluster, "pg").namespace("MQ_INST_XXX")).await;
    let r = producer
        .send(Message::new("TopicNs", "hello"))
        .await
        .expect("sent via auto-create");
    assert_eq!(r.queue.topic(), "TopicNs");
    let broker = cluster.broker("broker-a").expect("broker");
    let stored = broker.messages("MQ_INST_XXX%TopicNs");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].producer_group, "MQ_INST_XXX%pg");
    assert_eq!(stored[0].properties.get("INSTANCE_ID"), Some("MQ_INST_XXX"));
    // A topic the caller already namespaced is not wrapped twice, and results never show it.
    let r = producer
        .send(Message::new("MQ_INST_XXX%TopicNs2", "already namespaced"))
        .await
        .expect("sent");
    assert_eq!(r.queue.topic(), "TopicNs2");
    assert_eq!(broker.messages("MQ_INST_XXX%TopicNs2").len(), 1);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_rocketmq_headers_and_the_v1_header() {
    let cluster = support::cluster(1).await;
    for (group, serialize_type, smart, code) in [
        (
            "g_json",
            SerializeType::Json,
            true,
            request::SEND_MESSAGE_V2,
        ),
        (
            "g_binary",
            SerializeType::RocketMq,
            true,
            request::SEND_MESSAGE_V2,
        ),
        ("g_v1", SerializeType::Json, false, request::SEND_MESSAGE),
    ] {
        let producer = support::started(
            support::builder(&cluster, group)
                .serialize_type(serialize_type)
                .send_smart_msg(smart),
        )
        .await;
        let r = producer
            .send(Message::new("TopicTest", group))
            .await
            .expect("sent");
        let m = support::stored(&cluster, &r);
        assert_eq!(
            (m.serialize_type, m.request_code),
            (serialize_type, code),
            "{group}"
        );
        producer.shutdown().await;
    }
}

struct CountingHook(Arc<Counter>, Arc<Counter>);

impl SendMessageHook for CountingHook {
    fn name(&self) -> &str {
        "counting"
    }
    fn send_message_before(&self, ctx: &mut SendContext<'_>) {
        ctx.props.insert("seen".into(), "1".into());
        self.0.bump();
    }
    fn send_message_after(&self, ctx: &SendContext<'_>) {
        assert_eq!(ctx.props.get("seen").map(String::as_str), Some("1"));
        // A oneway send has no result to report, as in Java.
        let oneway = ctx.mode == rmq::client::SendMode::Oneway;
        assert!(oneway || ctx.result.is_some() || ctx.error.is_some());
        self.1.bump();
    }
}

struct NoSecrets;

impl CheckForbiddenHook for NoSecrets {
    fn name(&self) -> &str {
        "no-secrets"
    }
    fn check_forbidden(&self, ctx: &CheckForbiddenContext<'_>) -> Result<(), String> {
        if ctx.message.tags() == Some("secret") {
            Err("secret messages stay home".into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_see_every_send_and_can_forbid() {
    let cluster = support::cluster(1).await;
    let producer = support::producer(&cluster, "g_hooks").await;
    let (before, after) = (Arc::new(Counter::default()), Arc::new(Counter::default()));
    producer.register_send_message_hook(CountingHook(before.clone(), after.clone()));
    producer.register_check_forbidden_hook(NoSecrets);
    producer
        .send(Message::new("TopicTest", "ok"))
        .await
        .expect("sent");
    producer
        .send_oneway(Message::new("TopicTest", "ok"))
        .await
        .expect("sent");
    let secret = Message::builder("TopicTest")
        .tags("secret")
        .body("x")
        .build()
        .expect("msg");
    let err = producer.send(secret).await.expect_err("forbidden");
    // Refused inside its attempt: the one shape of a failed send, the hook's refusal at its root.
    assert!(matches!(err.root(), rmq::Error::Forbidden { .. }), "{err}");
    assert_eq!(err.kind(), rmq::ErrorKind::Hook);
    assert_eq!((before.get(), after.get()), (2, 2));
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_errors_are_typed() {
    let cluster = support::cluster(1).await;
    let producer = support::builder(&cluster, "g_life")
        .build()
        .expect("config");
    let err = producer
        .send(Message::new("TopicTest", "x"))
        .await
        .expect_err("not started");
    assert!(matches!(err.error(), rmq::Error::NotRunning(_)), "{err}");
    producer.start().await.expect("starts");
    assert!(matches!(
        producer.start().await,
        Err(rmq::Error::AlreadyStarted(_))
    ));
    // A second producer of the same group on the same client instance is refused.
    let twin = support::builder(&cluster, "g_life")
        .instance_name("shared")
        .build()
        .expect("config");
    let first =
        support::started(support::builder(&cluster, "g_life2").instance_name("shared")).await;
    let same_group = support::builder(&cluster, "g_life2")
        .instance_name("shared")
        .build()
        .expect("config");
    assert!(matches!(
        same_group.start().await,
        Err(rmq::Error::GroupInUse { .. })
    ));
    twin.start()
        .await
        .expect("another group on the shared instance is fine");
    assert_eq!(twin.client_id(), first.client_id());
    for p in [&producer, &first, &twin] {
        p.shutdown().await;
    }
    let err = producer
        .send(Message::new("TopicTest", "x"))
        .await
        .expect_err("shut down");
    assert!(matches!(err.error(), rmq::Error::NotRunning(_)), "{err}");
    let invalid = Message::new("Topic With Spaces", "x");
    let live = support::producer(&cluster, "g_life3").await;
    let err = live.send(invalid).await.expect_err("invalid topic");
    assert!(matches!(err.error(), rmq::Error::Validation(_)), "{err}");
    let err = live
        .send(Message::new("TopicTest", Bytes::new()))
        .await
        .expect_err("empty body");
    assert_eq!(err.response_code(), Some(13));
    live.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remaining_error_paths_are_typed() {
    let cluster = support::cluster(1).await;
    let producer =
        support::started(support::builder(&cluster, "g_errors").max_async_in_flight(1)).await;
    producer
        .send(Message::new("TopicTest", "warm"))
        .await
        .expect("sent");

    // A selector that picks nothing.
    let none = |_: &[MessageQueue], _: &Message, _: &()| None;
    let err = producer
        .send_with_selector(Message::new("TopicTest", "x"), none, ())
        .await
        .expect_err("no queue");
    assert!(matches!(err.error(), rmq::Error::NoQueueSelected), "{err}");

    // Batch rules: one topic per batch, and no empty batch.
    let mixed = vec![Message::new("TopicTest", "a"), Message::new("Other", "b")];
    let err = producer.send_batch(mixed).await.expect_err("mixed topics");
    assert!(matches!(err.error(), rmq::Error::Batch(_)), "{err}");
    let err = producer
        .send_batch(Vec::new())
        .await
        .expect_err("empty batch");
    assert!(matches!(err.error(), rmq::Error::Batch(_)), "{err}");

    // Room for one async send in flight: a second waits for room until its own deadline.
    cluster
        .broker("broker-a")
        .expect("broker")
        .set_latency(Duration::from_millis(500));
    let first = producer
        .send_async(Message::new("TopicTest", "slow"))
        .await
        .expect("accepted");
    let err = producer
        .send_async(Message::new("TopicTest", "blocked"))
        .timeout(Duration::from_millis(100))
        .await
        .expect_err("no room");
    assert!(
        matches!(
            err.error(),
            rmq::Error::NoRoomInFlight {
                sends: 1,
                max_sends: 1,
                ..
            }
        ),
        "{err}"
    );
    first.await.expect("the first completes");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_topics_carry_reconsume_fields_in_the_header() {
    let cluster = support::cluster(1).await;
    let producer = support::producer(&cluster, "g_retry").await;
    let mut msg = Message::new("%RETRY%consumer_group", "redeliver");
    msg.properties_mut().insert("RECONSUME_TIME", "3");
    msg.properties_mut().insert("MAX_RECONSUME_TIMES", "16");
    let r = producer.send(msg).await.expect("sent");
    let stored = cluster
        .broker(r.queue.broker_name())
        .expect("broker")
        .messages("%RETRY%consumer_group");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].reconsume_times, 3);
    assert_eq!(
        stored[0].properties.get("RECONSUME_TIME"),
        None,
        "moved into the header"
    );
    assert_eq!(stored[0].properties.get("MAX_RECONSUME_TIMES"), None);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_send_futures_still_deliver_and_flush_waits_for_them() {
    let cluster = support::cluster(1).await;
    let producer = support::producer(&cluster, "g_dropped").await;
    producer
        .send(Message::new("TopicTest", "warm"))
        .await
        .expect("sent");
    // Slow answers: the futures are surely unfinished when dropped.
    cluster
        .broker("broker-a")
        .expect("broker")
        .set_latency(Duration::from_millis(200));
    for i in 0..20 {
        let pending = producer
            .send_async(Message::new("TopicTest", format!("dropped {i}")))
            .await
            .expect("accepted");
        drop(pending);
    }
    assert!(
        producer.async_in_flight() > 0,
        "the dropped sends are still in flight"
    );
    producer
        .flush(Duration::from_secs(5))
        .await
        .expect("all completed");
    let delivered = cluster
        .broker("broker-a")
        .expect("broker")
        .messages("TopicTest")
        .iter()
        .filter(|m| m.body.starts_with(b"dropped"))
        .count();
    assert_eq!(delivered, 20);
    producer.shutdown().await;
}

/// Records the code of every request it signs.
struct Signer(Arc<std::sync::Mutex<Vec<i32>>>);

impl rmq::remoting::RpcHook for Signer {
    fn before_request(&self, _addr: &str, request: &mut rmq::remoting::RemotingCommand) {
        request.add_ext_field("Signature", "signed");
        if let Ok(mut codes) = self.0.lock() {
            codes.push(request.code());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_rpc_hooks_see_every_request_from_the_first() {
    let cluster = support::cluster(1).await;
    let codes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let producer = support::builder(&cluster, "g_rpc_hook")
        .rpc_hook(Signer(codes.clone()))
        .build()
        .expect("valid");
    producer.start().await.expect("starts");
    producer
        .send(Message::new("TopicTest", "signed"))
        .await
        .expect("stored");
    producer.shutdown().await;
    let codes = codes.lock().map(|c| c.clone()).unwrap_or_default();
    // The first request of the instance (a route request) was already signed, and so was
    // every send and the unregister at shutdown.
    assert_eq!(
        codes.first(),
        Some(&request::GET_ROUTEINFO_BY_TOPIC),
        "{codes:?}"
    );
    assert!(codes.contains(&request::SEND_MESSAGE_V2), "{codes:?}");
    assert!(codes.contains(&request::UNREGISTER_CLIENT), "{codes:?}");
    cluster.shutdown().await;
}

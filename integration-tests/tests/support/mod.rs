//! Shared set-up for the scenarios: a test cluster and a producer pointed at it.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmq::client::ProducerBuilder;
use rmq::prelude::*;
use rmq_testkit::TestCluster;

/// A cluster with `brokers` brokers and `TopicTest` (4 queues) on each.
pub async fn cluster(brokers: usize) -> TestCluster {
    TestCluster::builder()
        .brokers(brokers)
        .topic("TopicTest", 4)
        .start()
        .await
        .expect("test cluster starts")
}

/// A producer builder for `group` against `cluster`, with quick background refresh.
pub fn builder(cluster: &TestCluster, group: &str) -> ProducerBuilder {
    Producer::builder(group)
        .name_server(cluster.namesrv_addr())
        .poll_name_server_interval(Duration::from_millis(200))
        .heartbeat_interval(Duration::from_millis(500))
}

/// `builder`'s producer, started.
pub async fn started(builder: ProducerBuilder) -> Producer {
    let producer = builder.build().expect("valid config");
    producer.start().await.expect("starts");
    producer
}

/// A started producer for `group` against `cluster`.
pub async fn producer(cluster: &TestCluster, group: &str) -> Producer {
    started(builder(cluster, group)).await
}

/// The message a send stored: found on the result's broker by its `UNIQ_KEY`.
pub fn stored(cluster: &TestCluster, result: &SendResult) -> rmq_testkit::StoredMessage {
    let topic = result.queue.topic();
    cluster
        .broker(result.queue.broker_name())
        .expect("the result's broker")
        .all_messages()
        .into_iter()
        .find(|m| m.uniq_key.as_deref() == Some(&*result.msg_id) && m.topic.ends_with(topic))
        .expect("the sent message is stored")
}

/// Waits until `check` holds or `timeout` passes; returns whether it held.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}

/// A stored message as a consumer reads it: topic, body (as sent), flag and properties.
pub fn as_message(stored: &rmq_testkit::StoredMessage) -> Message {
    let mut msg = Message::new(stored.topic.clone(), stored.body.clone());
    msg.set_flag(stored.flag);
    *msg.properties_mut() = stored.properties.clone();
    msg
}

/// Counts the batch requests a producer sends (a send hook): how a test tells that
/// automatic batching batched.
#[derive(Clone, Default)]
pub struct BatchRequests(Arc<AtomicUsize>);

impl BatchRequests {
    /// Batch requests sent so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl rmq::client::SendMessageHook for BatchRequests {
    fn name(&self) -> &str {
        "batch requests"
    }

    fn send_message_before(&self, ctx: &mut rmq::client::SendContext<'_>) {
        if ctx.message_type == rmq::client::MessageType::Batch {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn send_message_after(&self, _: &rmq::client::SendContext<'_>) {}
}

//! Automatic batching against the test broker: what each message's result names is what the
//! broker stored, and one key's messages keep their order.

mod support;

use std::time::Duration;

use rmq::client::AutoBatch;
use rmq::prelude::*;

async fn batching(
    cluster: &rmq_testkit::TestCluster,
    group: &str,
) -> (Producer, support::BatchRequests) {
    let producer =
        support::started(support::builder(cluster, group).auto_batch(AutoBatch::default())).await;
    let batches = support::BatchRequests::default();
    producer.register_send_message_hook(batches.clone());
    producer.publish_queues("TopicTest").await.expect("route");
    (producer, batches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_batched_message_is_stored_where_its_result_says() {
    let cluster = support::cluster(2).await;
    for broker in ["broker-a", "broker-b"] {
        cluster
            .broker(broker)
            .expect("broker")
            .set_latency(Duration::from_millis(5));
    }
    let (producer, batches) = batching(&cluster, "g_auto_batch_stored").await;

    let mut pending = Vec::new();
    for i in 0..500 {
        let msg = Message::builder("TopicTest")
            .body(format!("auto {i}"))
            .keys([format!("k{i}")])
            .build()
            .expect("message");
        pending.push((i, producer.send_async(msg).await.expect("accepted")));
    }
    for (i, future) in pending {
        let sent = future.await.expect("stored");
        assert!(!sent.msg_id.contains(','), "{sent}");
        let stored = support::stored(&cluster, &sent);
        assert_eq!(stored.body, format!("auto {i}").as_bytes());
        assert_eq!(stored.queue_id, sent.queue.queue_id());
        assert_eq!(stored.queue_offset, sent.queue_offset, "{sent}");
        assert_eq!(sent.offset_msg_id.as_deref(), Some(&*stored.offset_msg_id));
        // Its own key only: the batch adds none of its mates'.
        assert_eq!(
            stored.properties.get("KEYS"),
            Some(format!("k{i}").as_str())
        );
    }
    assert!(batches.count() > 0, "some went in batches");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_sends_keep_their_order_per_queue() {
    let cluster = support::cluster(1).await;
    cluster
        .broker("broker-a")
        .expect("broker")
        .set_latency(Duration::from_millis(3));
    let (producer, batches) = batching(&cluster, "g_auto_batch_order").await;

    let orders = ["order-1", "order-2", "order-3"];
    let mut pending = Vec::new();
    for step in 0..200 {
        for order in orders {
            let msg = Message::new("TopicTest", format!("{order}:{step}"));
            let send = producer
                .send_with_selector(msg, SelectByHash, order)
                .submit();
            pending.push(send.await.expect("accepted"));
        }
    }
    for future in pending {
        future.await.expect("stored");
    }
    let broker = cluster.broker("broker-a").expect("broker");
    for queue in 0..4 {
        let mut next = std::collections::HashMap::new();
        for stored in broker.messages_in_queue("TopicTest", queue) {
            let body = String::from_utf8(stored.body.to_vec()).expect("utf-8");
            let (order, step) = body.split_once(':').expect("order:step");
            let step: u32 = step.parse().expect("step");
            let expected = next.entry(order.to_owned()).or_insert(0);
            assert_eq!(step, *expected, "{order} out of order in queue {queue}");
            *expected += 1;
        }
    }
    assert!(batches.count() > 0, "some went in batches");
    producer.shutdown().await;
}

//! The blocking producer from plain threads, with no async runtime of the caller's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmq::blocking;
use rmq::prelude::*;
use rmq_testkit::TestCluster;

/// A test cluster on a runtime of its own, as a separate server would be.
fn cluster() -> (tokio::runtime::Runtime, TestCluster) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let cluster = runtime
        .block_on(
            TestCluster::builder()
                .brokers(2)
                .topic("TopicTest", 4)
                .start(),
        )
        .expect("test cluster starts");
    (runtime, cluster)
}

#[test]
fn every_send_mode_blocks_until_done() {
    let (runtime, cluster) = cluster();
    let producer = blocking::Producer::start(
        Producer::builder("g_blocking").name_server(cluster.namesrv_addr()),
    )
    .expect("starts");

    let sync = producer
        .send(Message::new("TopicTest", "sync"))
        .expect("stored");
    assert_eq!(sync.status, SendStatus::SendOk);
    let quick = producer
        .send_timeout(Message::new("TopicTest", "quick"), Duration::from_secs(2))
        .expect("stored");
    let aimed = producer
        .send_to_queue(Message::new("TopicTest", "aimed"), quick.queue.clone())
        .expect("stored");
    assert_eq!(aimed.queue, quick.queue);
    let rr = SelectByRoundRobin::default();
    producer
        .send_with_selector(Message::new("TopicTest", "selected"), &rr, ())
        .expect("stored");
    let batch = producer
        .send_batch((0..3).map(|i| Message::new("TopicTest", format!("b{i}"))))
        .expect("stored");
    assert_eq!(batch.msg_id.split(',').count(), 3);
    producer
        .send_oneway(Message::new("TopicTest", "oneway"))
        .expect("written");
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    producer
        .send_with_callback(Message::new("TopicTest", "callback"), move |result| {
            assert!(result.is_ok(), "{result:?}");
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .expect("accepted");
    producer
        .flush(Duration::from_secs(5))
        .expect("nothing pending");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    producer.shutdown();
    assert_eq!(
        producer.async_producer().state(),
        rmq::client::ServiceState::ShutdownAlready
    );
    // Sync, aimed, selected, three batched, oneway (maybe still landing) and callback.
    let stored = || {
        cluster
            .brokers()
            .iter()
            .map(|b| b.messages("TopicTest").len())
            .sum::<usize>()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while stored() < 9 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(stored(), 9);
    runtime.block_on(cluster.shutdown());
}

#[test]
fn calls_from_inside_an_async_runtime_are_refused_not_a_stall() {
    let (runtime, cluster) = cluster();
    let producer = blocking::Producer::start(
        Producer::builder("g_blocking_in_async").name_server(cluster.namesrv_addr()),
    )
    .expect("starts");
    let outcome = runtime.block_on(async { producer.send(Message::new("TopicTest", "x")) });
    let refused = outcome.expect_err("refused");
    assert!(
        matches!(refused.error(), rmq::Error::Config(_)),
        "{refused}"
    );
    assert_eq!(
        refused.message().body().as_ref(),
        b"x",
        "the message comes back"
    );
    // Dropped inside a runtime too: shut down in the background, no panic.
    runtime.block_on(async move { drop(producer) });
    runtime.block_on(cluster.shutdown());
}

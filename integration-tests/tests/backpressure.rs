//! Back-pressure on async sends against the test broker: room by count and by bytes, waiting
//! within the send's timeout or failing fast, limits changed while sends wait.

mod support;

use std::time::Duration;

use rmq::client::InFlight;
use rmq::prelude::*;
use rmq_testkit::TestCluster;
use tokio::time::Instant;

/// A started producer of `group` with `tune`'s limits, the route of `TopicTest` fetched.
async fn bounded(
    cluster: &TestCluster,
    group: &str,
    tune: impl FnOnce(rmq::client::ProducerBuilder) -> rmq::client::ProducerBuilder,
) -> Producer {
    let producer = support::started(tune(support::builder(cluster, group))).await;
    producer.publish_queues("TopicTest").await.expect("route");
    producer
}

/// A broker that answers each send after `latency`.
async fn slow_cluster(latency: Duration) -> TestCluster {
    let cluster = support::cluster(1).await;
    cluster
        .broker("broker-a")
        .expect("broker")
        .set_latency(latency);
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_waits_for_room_by_count_then_proceeds() {
    let cluster = slow_cluster(Duration::from_millis(300)).await;
    let producer = bounded(&cluster, "g_bp_count", |b| b.max_async_in_flight(2)).await;

    let first = producer
        .send_async(Message::new("TopicTest", "1"))
        .await
        .expect("room");
    let second = producer
        .send_async(Message::new("TopicTest", "2"))
        .await
        .expect("room");
    let in_flight = producer.in_flight();
    assert_eq!(
        (in_flight.sends, in_flight.bytes, in_flight.max_sends),
        (2, 2, 2)
    );

    // The third waits until one of the two is answered, then goes.
    let begin = Instant::now();
    let third = producer
        .send_async(Message::new("TopicTest", "3"))
        .await
        .expect("room once one finished");
    assert!(
        begin.elapsed() >= Duration::from_millis(150),
        "{:?}",
        begin.elapsed()
    );
    for pending in [first, second, third] {
        pending.await.expect("stored");
    }
    assert_eq!(producer.in_flight().sends, 0);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_waits_for_room_by_bytes_and_gives_up_at_its_deadline() {
    let cluster = slow_cluster(Duration::from_millis(500)).await;
    let producer = bounded(&cluster, "g_bp_bytes", |b| {
        b.max_async_in_flight_bytes(1000)
    })
    .await;

    let big = producer
        .send_async(Message::new("TopicTest", vec![b'x'; 600]))
        .await
        .expect("room");
    assert_eq!(producer.in_flight().bytes, 600);
    // 600 more do not fit; within 100 ms no room comes.
    let failed = producer
        .send_async(Message::new("TopicTest", vec![b'y'; 600]))
        .timeout(Duration::from_millis(100))
        .await
        .expect_err("no room in time");
    assert_eq!(failed.kind(), ErrorKind::Overloaded);
    assert!(failed.is_retryable() && !failed.may_have_been_stored());
    assert_eq!(failed.message().body().len(), 600, "handed back");
    assert!(failed.to_string().contains("no room"), "{failed}");
    // With a timeout past the first one's answer, it goes.
    let second = producer
        .send_async(Message::new("TopicTest", vec![b'y'; 600]))
        .timeout(Duration::from_secs(5))
        .await
        .expect("room once the first finished");
    big.await.expect("stored");
    second.await.expect("stored");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_refuses_at_once_and_a_body_over_the_limit_is_an_error() {
    let cluster = slow_cluster(Duration::from_millis(300)).await;
    let producer = bounded(&cluster, "g_bp_fast", |b| {
        b.max_async_in_flight(1)
            .max_async_in_flight_bytes(1000)
            .async_fail_fast(true)
    })
    .await;

    let first = producer
        .send_async(Message::new("TopicTest", "1"))
        .await
        .expect("room");
    let begin = Instant::now();
    let failed = producer
        .send_async(Message::new("TopicTest", "2"))
        .await
        .expect_err("full, fail fast");
    assert!(
        begin.elapsed() < Duration::from_millis(250),
        "{:?}",
        begin.elapsed()
    );
    assert_eq!(failed.kind(), ErrorKind::Overloaded);

    // Never fits: an error at once, not a wait (nor a deadlock).
    let too_big = producer
        .send_async(Message::new("TopicTest", vec![b'z'; 1001]))
        .timeout(Duration::from_secs(30))
        .await
        .expect_err("over the byte limit");
    assert_eq!(too_big.kind(), ErrorKind::Invalid);
    assert!(
        begin.elapsed() < Duration::from_millis(250),
        "{:?}",
        begin.elapsed()
    );
    first.await.expect("stored");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raising_the_limits_lets_waiting_sends_in() {
    let cluster = slow_cluster(Duration::from_secs(2)).await;
    let producer = bounded(&cluster, "g_bp_resize", |b| {
        b.max_async_in_flight(1)
            .send_timeout(Duration::from_secs(10))
    })
    .await;

    let first = producer
        .send_async(Message::new("TopicTest", "1"))
        .await
        .expect("room");
    let waiting = tokio::spawn({
        let producer = producer.clone();
        async move { producer.send_async(Message::new("TopicTest", "2")).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished());
    let begin = Instant::now();
    producer.set_max_async_in_flight(4, 100 * 1024 * 1024);
    let second = waiting.await.expect("task").expect("room after the raise");
    assert!(
        begin.elapsed() < Duration::from_millis(500),
        "{:?}",
        begin.elapsed()
    );
    let in_flight: InFlight = producer.in_flight();
    assert_eq!(
        (
            in_flight.sends,
            in_flight.bytes,
            in_flight.max_sends,
            in_flight.max_bytes
        ),
        (2, 2, 4, 100 * 1024 * 1024)
    );
    first.await.expect("stored");
    second.await.expect("stored");
    producer.shutdown().await;
}

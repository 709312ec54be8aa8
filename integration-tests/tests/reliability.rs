//! What the producer guarantees when the network misbehaves in ways the test broker can be
//! told to (issue 17's fault modes): every send resolves within its deadline, what it held in
//! flight comes back, and a message reported stored is in a store.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use rmq::prelude::*;
use rmq_testkit::TestCluster;
use tokio::time::Instant;

/// Slack over a deadline for the runtime to deliver the outcome on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(500);

async fn two_brokers() -> TestCluster {
    support::cluster(2).await
}

/// Every stored message id across the cluster.
fn stored_ids(cluster: &TestCluster) -> HashSet<String> {
    cluster
        .brokers()
        .iter()
        .flat_map(|b| b.messages("TopicTest"))
        .filter_map(|m| m.uniq_key.map(|k| k.to_string()))
        .collect()
}

/// A broker that reads and never answers: a black hole, and what a half-open connection (the
/// peer gone without a FIN) looks like from the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_hole_broker_costs_each_send_at_most_its_deadline() {
    let cluster = two_brokers().await;
    let hole = cluster.broker("broker-a").expect("broker");
    let producer = support::started(
        support::builder(&cluster, "g_black_hole").send_timeout(Duration::from_millis(800)),
    )
    .await;
    producer.publish_queues("TopicTest").await.expect("route");
    hole.black_hole(true);

    let mut pending = Vec::new();
    for i in 0..20 {
        pending.push(
            producer
                .send_async(Message::new("TopicTest", format!("a{i}")))
                .await
                .expect("accepted"),
        );
    }
    let begin = Instant::now();
    let mut ok = Vec::new();
    for send in pending {
        match send.await {
            Ok(sent) => ok.push(sent.msg_id.to_string()),
            Err(failed) => assert!(failed.is_timeout(), "{failed}"),
        }
    }
    assert!(
        begin.elapsed() <= Duration::from_millis(800) + SLACK,
        "{:?}",
        begin.elapsed()
    );
    for i in 0..5 {
        let begin = Instant::now();
        match producer
            .send(Message::new("TopicTest", format!("s{i}")))
            .await
        {
            Ok(sent) => ok.push(sent.msg_id.to_string()),
            Err(failed) => assert!(failed.may_have_been_stored(), "{failed}"),
        }
        assert!(begin.elapsed() <= Duration::from_millis(800) + SLACK);
    }
    // What it held comes back; what it reported stored is stored.
    assert_eq!(producer.in_flight().sends, 0);
    let stored = stored_ids(&cluster);
    assert!(ok.iter().all(|id| stored.contains(id)));
    hole.black_hole(false);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_after_the_deadline_is_a_timeout_and_the_message_may_be_stored() {
    let cluster = support::cluster(1).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let producer = support::started(
        support::builder(&cluster, "g_late").send_timeout(Duration::from_millis(300)),
    )
    .await;
    producer.publish_queues("TopicTest").await.expect("route");
    broker.set_latency(Duration::from_millis(600));

    let begin = Instant::now();
    let failed = producer
        .send(Message::new("TopicTest", "late"))
        .await
        .expect_err("answered too late");
    assert!(begin.elapsed() <= Duration::from_millis(300) + SLACK);
    assert!(
        failed.is_timeout() && failed.may_have_been_stored(),
        "{failed}"
    );
    // It was stored after all, under the id the failure hands back.
    let id = failed.message().uniq_key().expect("an id").to_owned();
    let stored = broker
        .wait_for_messages("TopicTest", 1, Duration::from_secs(5))
        .await
        .expect("stored late");
    assert_eq!(stored[0].uniq_key.as_deref(), Some(id.as_str()));
    assert_eq!(producer.in_flight().sends, 0);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_naming_a_dead_broker_costs_retries_not_messages() {
    let cluster = two_brokers().await;
    let producer = support::started(support::builder(&cluster, "g_dead_in_route")).await;
    producer.publish_queues("TopicTest").await.expect("route");
    // Gone without telling the name server: routes still name it.
    cluster.broker("broker-a").expect("broker").crash().await;

    let mut ids = Vec::new();
    for i in 0..20 {
        let sent = producer
            .send(Message::new("TopicTest", format!("m{i}")))
            .await
            .expect("retried on the live broker");
        assert_eq!(sent.queue.broker_name(), "broker-b");
        ids.push(sent.msg_id.to_string());
    }
    let stored = stored_ids(&cluster);
    assert!(ids.iter().all(|id| stored.contains(id)));
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restarting_mid_run_loses_no_acknowledged_message() {
    let cluster = two_brokers().await;
    let producer = support::started(
        support::builder(&cluster, "g_restart_mid_batch").send_timeout(Duration::from_secs(5)),
    )
    .await;
    producer.publish_queues("TopicTest").await.expect("route");
    let broker = cluster.broker("broker-a").expect("broker");

    let mut pending = Vec::new();
    for i in 0..2000 {
        if i == 1000 {
            broker.restart().await.expect("restarts on its port");
        }
        pending.push(
            producer
                .send_async(Message::new("TopicTest", format!("m{i}")))
                .await
                .expect("accepted"),
        );
        let batch = (0..4).map(|j| Message::new("TopicTest", format!("b{i}.{j}")));
        if i % 100 == 0 {
            let _ = producer.send_batch(batch).await;
        }
    }
    let mut ok = Vec::new();
    let mut failed = 0;
    for send in pending {
        match send.await {
            Ok(sent) => ok.push(sent.msg_id.to_string()),
            Err(e) => {
                assert!(e.may_have_been_stored() || e.is_retryable(), "{e}");
                failed += 1;
            }
        }
    }
    assert_eq!(producer.in_flight().sends, 0);
    let stored = stored_ids(&cluster);
    let missing: Vec<_> = ok.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged but not stored",
        missing.len()
    );
    assert!(
        ok.len() + failed == 2000 && ok.len() >= 1900,
        "{} ok, {failed} failed",
        ok.len()
    );
    producer.shutdown().await;
}

/// Takes over a crashed broker's address (routes still name it) with a raw listener that
/// runs `serve` on each connection: a peer misbehaving below the protocol.
async fn impostor<F, Fut>(
    cluster: &TestCluster,
    broker: &str,
    serve: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let broker = cluster.broker(broker).expect("broker");
    broker.crash().await;
    let listener = tokio::net::TcpListener::bind(broker.socket_addr())
        .await
        .expect("the crashed broker's port");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket));
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_stops_reading_fills_no_unbounded_buffer() {
    let cluster = two_brokers().await;
    let producer = support::started(
        support::builder(&cluster, "g_slow_reader")
            .send_timeout(Duration::from_millis(1500))
            // Sent as they are, so 50 MiB really meet the socket.
            .compress_threshold(usize::MAX),
    )
    .await;
    producer.publish_queues("TopicTest").await.expect("route");
    // Accepts, never reads: the socket's buffers fill, then the client's write buffer.
    let held = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let keep = held.clone();
    let _reader = impostor(&cluster, "broker-a", move |socket| {
        keep.lock().push(socket);
        std::future::ready(())
    })
    .await;

    let body = vec![b'x'; 256 * 1024];
    let begin = Instant::now();
    let mut pending = Vec::new();
    for _ in 0..200 {
        pending.push(
            producer
                .send_async(Message::new("TopicTest", body.clone()))
                .await
                .expect("accepted"),
        );
    }
    let (mut ok, mut timed_out) = (0, 0);
    for send in pending {
        match send.await {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(e.may_have_been_stored() || e.is_retryable(), "{e}");
                timed_out += 1;
            }
        }
    }
    // Every send resolved within its deadline, most on the broker that reads.
    assert!(
        begin.elapsed() <= Duration::from_millis(1500) * 2 + SLACK,
        "{:?}",
        begin.elapsed()
    );
    assert_eq!(ok + timed_out, 200);
    assert!(ok > 0, "the live broker took some");
    // What the sends held in flight (50 MiB of bodies) is all back.
    assert_eq!(producer.in_flight().sends, 0);
    assert_eq!(producer.in_flight().bytes, 0);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_frames_with_long_pauses_are_reassembled_or_time_out() {
    use rmq::remoting::FrameCodec;
    use rmq::remoting::code::{request, response};
    use rmq::remoting::header::SendMessageResponseHeader;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_util::codec::Decoder;

    let cluster = two_brokers().await;
    // Answers every send in two halves 300 ms apart, the fourth stopping halfway; other
    // requests (heartbeats) whole. In place before the producer starts: it never meets the
    // real broker-a.
    let _slow = impostor(&cluster, "broker-a", |mut socket| async move {
        let mut codec = FrameCodec::new(16 * 1024 * 1024);
        let mut buf = bytes::BytesMut::new();
        let mut answered = 0;
        loop {
            let request = loop {
                if let Ok(Some(request)) = codec.decode(&mut buf) {
                    break request;
                }
                if socket.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
            };
            if !matches!(
                request.code(),
                request::SEND_MESSAGE | request::SEND_MESSAGE_V2
            ) {
                let mut whole = RemotingCommand::response(response::SUCCESS)
                    .with_opaque(request.opaque())
                    .with_serialize_type(request.serialize_type());
                whole.mark_response();
                if !request.is_oneway() {
                    let _ = socket
                        .write_all(&whole.encode_to_bytes().expect("encodes"))
                        .await;
                }
                continue;
            }
            let mut answer = RemotingCommand::response(response::SUCCESS)
                .with_opaque(request.opaque())
                .with_serialize_type(request.serialize_type())
                .with_header(SendMessageResponseHeader {
                    msg_id: "7F00000100002A9F0000000000000000".into(),
                    queue_id: 0,
                    queue_offset: answered,
                    transaction_id: None,
                    batch_uniq_id: None,
                    recall_handle: None,
                    region_id: None,
                    trace_on: true,
                });
            answer.mark_response();
            let frame = answer.encode_to_bytes().expect("encodes");
            let half = frame.len() / 2;
            let _ = socket.write_all(&frame[..half]).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            answered += 1;
            if answered > 3 {
                // Never the rest: the client must time out, not wait for ever.
                std::future::pending::<()>().await;
            }
            let _ = socket.write_all(&frame[half..]).await;
        }
    })
    .await;
    let producer = support::started(
        support::builder(&cluster, "g_partial_frames")
            .send_timeout(Duration::from_millis(1000))
            .retry_times_when_send_failed(0),
    )
    .await;
    producer.publish_queues("TopicTest").await.expect("route");
    let queue = MessageQueue::new("TopicTest", "broker-a", 0);
    for i in 0..3 {
        let sent = producer
            .send_to_queue(Message::new("TopicTest", format!("m{i}")), queue.clone())
            .await
            .expect("reassembled across the pause");
        assert_eq!(sent.queue_offset, i);
    }
    let begin = Instant::now();
    let failed = producer
        .send_to_queue(Message::new("TopicTest", "cut"), queue)
        .await
        .expect_err("half a frame, then nothing");
    assert!(
        failed.is_timeout() && failed.may_have_been_stored(),
        "{failed}"
    );
    assert!(begin.elapsed() <= Duration::from_millis(1000) + SLACK);
    // The other broker still takes sends.
    producer
        .send_to_queue(
            Message::new("TopicTest", "elsewhere"),
            MessageQueue::new("TopicTest", "broker-b", 0),
        )
        .await
        .expect("stored on broker-b");
    producer.shutdown().await;
}

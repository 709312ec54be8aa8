//! Scenarios a real broker cannot stage on demand: error codes, dropped and refused
//! connections, brokers stopping mid-load or joining at run time, dead name servers.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmq::prelude::*;
use rmq::remoting::code::response;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);

/// Sends until one lands on `broker`, so a test can aim a failure there.
async fn first_send_on(producer: &Producer, broker: &str) -> SendResult {
    for _ in 0..64 {
        let r = producer
            .send(Message::new("TopicTest", "probe"))
            .await
            .expect("sent");
        if r.queue.broker_name() == broker {
            return r;
        }
    }
    panic!("no send reached {broker}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_busy_broker_is_retried_on_the_other_broker() {
    let cluster = support::cluster(2).await;
    let producer = support::producer(&cluster, "g_busy").await;
    first_send_on(&producer, "broker-a").await;
    let busy = cluster.broker("broker-a").expect("broker");
    busy.fail_next(response::SYSTEM_BUSY, 1000);
    let started = Instant::now();
    for _ in 0..20 {
        let r = producer
            .send(Message::new("TopicTest", "x"))
            .await
            .expect("retried elsewhere");
        assert_eq!(r.queue.broker_name(), "broker-b");
    }
    assert!(started.elapsed() < 5 * SECOND);
    // Not retryable: MESSAGE_ILLEGAL fails at once with the broker's code.
    busy.fail_next(response::MESSAGE_ILLEGAL, 1000);
    cluster
        .broker("broker-b")
        .expect("broker")
        .fail_next(response::MESSAGE_ILLEGAL, 1000);
    let err = producer
        .send(Message::new("TopicTest", "x"))
        .await
        .expect_err("illegal");
    assert_eq!(
        err.response_code(),
        Some(response::MESSAGE_ILLEGAL),
        "{err}"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_are_retried_on_the_other_broker() {
    let cluster = support::cluster(2).await;
    let producer = support::producer(&cluster, "g_drop").await;
    first_send_on(&producer, "broker-a").await;
    let dropping = cluster.broker("broker-a").expect("broker");
    let seen_before = dropping.requests_seen();
    for _ in 0..10 {
        // Armed before every send: whichever request reaches broker-a next loses its
        // connection, so no send can succeed there.
        dropping.drop_connection_after(1);
        let r = producer
            .send(Message::new("TopicTest", "x"))
            .await
            .expect("retried elsewhere");
        assert_eq!(r.queue.broker_name(), "broker-b");
    }
    assert!(
        dropping.requests_seen() > seen_before,
        "some sends did try broker-a"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attempt_is_reported_when_all_fail() {
    let cluster = support::cluster(2).await;
    let producer = support::producer(&cluster, "g_allfail").await;
    for b in cluster.brokers() {
        b.fail_next(response::SYSTEM_ERROR, 1000);
    }
    let err = producer
        .send(Message::new("TopicTest", "x"))
        .await
        .expect_err("all fail");
    match err.error() {
        rmq::Error::AllAttemptsFailed { attempts, .. } => {
            assert_eq!(attempts.len(), 3, "1 + retry_times_when_send_failed");
            assert_ne!(
                attempts[0].broker, attempts[1].broker,
                "the next attempt avoids the last broker"
            );
            assert!(
                attempts
                    .iter()
                    .all(|a| a.response_code() == Some(response::SYSTEM_ERROR))
            );
        }
        other => panic!("expected AllAttemptsFailed, got {other}"),
    }
    assert!(err.to_string().contains("[3]"), "{err}");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_store_ok_results_retry_only_when_asked() {
    let cluster = support::cluster(2).await;
    let plain = support::producer(&cluster, "g_flush").await;
    for b in cluster.brokers() {
        b.fail_next(response::FLUSH_DISK_TIMEOUT, 1);
    }
    let r = plain
        .send(Message::new("TopicTest", "x"))
        .await
        .expect("stored");
    assert_eq!(r.status, SendStatus::FlushDiskTimeout);
    plain.shutdown().await;

    let retrying = support::started(
        support::builder(&cluster, "g_flush2").retry_another_broker_when_not_store_ok(true),
    )
    .await;
    first_send_on(&retrying, "broker-a").await;
    cluster
        .broker("broker-a")
        .expect("broker")
        .fail_next(response::FLUSH_DISK_TIMEOUT, 1000);
    cluster.broker("broker-b").expect("broker").clear();
    let mut saw_ok_on_b = false;
    for _ in 0..6 {
        let r = retrying
            .send(Message::new("TopicTest", "y"))
            .await
            .expect("stored");
        if r.queue.broker_name() == "broker-b" {
            assert_eq!(r.status, SendStatus::SendOk);
            saw_ok_on_b = true;
        }
    }
    assert!(saw_ok_on_b);
    retrying.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_async_sends_with_a_broker_stopped_half_way() {
    let cluster = support::cluster(2).await;
    let producer = support::started(
        support::builder(&cluster, "g_storm")
            .send_timeout(Duration::from_secs(5))
            .max_async_in_flight(512),
    )
    .await;
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let ok_ids = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let stopper = cluster.broker("broker-a").expect("broker");
    for i in 0..10_000 {
        if i == 5_000 {
            stopper.stop().await;
        }
        let (ok, failed, ok_ids) = (ok.clone(), failed.clone(), ok_ids.clone());
        producer
            .send_with_callback(
                Message::new("TopicTest", format!("storm {i}")),
                move |r| match r {
                    Ok(sent) => {
                        ok.fetch_add(1, Ordering::SeqCst);
                        ok_ids.lock().push(sent.msg_id);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                },
            )
            .await
            .expect("accepted");
    }
    producer
        .flush(Duration::from_secs(30))
        .await
        .expect("every send resolved");
    let (ok, failed) = (ok.load(Ordering::SeqCst), failed.load(Ordering::SeqCst));
    assert_eq!(ok + failed, 10_000, "every callback ran exactly once");
    assert!(
        ok > 9_000,
        "async retries move sends to the live broker: {ok} ok, {failed} failed"
    );
    let stored: std::collections::HashSet<String> = cluster
        .brokers()
        .iter()
        .flat_map(|b| b.messages("TopicTest"))
        .filter_map(|m| m.uniq_key.map(String::from))
        .collect();
    for id in ok_ids.lock().iter() {
        assert!(stored.contains(&**id), "an Ok send is in a store: {id}");
    }
    assert_eq!(producer.async_in_flight(), 0);
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_first_name_server_is_skipped() {
    let cluster = support::cluster(1).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        l.local_addr().expect("addr").to_string()
    };
    let producer = Producer::builder("g_ns")
        .namesrv_addr(&format!("{dead};{}", cluster.namesrv_addr()))
        .build()
        .expect("config");
    producer.start().await.expect("starts");
    for _ in 0..5 {
        producer
            .send(Message::new("TopicTest", "x"))
            .await
            .expect("second name server used");
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_added_at_run_time_joins_after_a_route_refresh() {
    let cluster = support::cluster(1).await;
    let producer = support::producer(&cluster, "g_join").await;
    producer
        .send(Message::new("TopicTest", "x"))
        .await
        .expect("sent");
    let joined = cluster.add_broker("broker-z").await.expect("added");
    joined.create_topic("TopicTest", 4, 6);
    assert!(
        support::eventually(5 * SECOND, || !joined.heartbeats().is_empty()).await,
        "the new broker gets a heartbeat once a refresh finds it"
    );
    let mut reached = false;
    for _ in 0..40 {
        let r = producer
            .send(Message::new("TopicTest", "x"))
            .await
            .expect("sent");
        reached |= r.queue.broker_name() == "broker-z";
    }
    assert!(reached, "sends reach the new broker");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_at_start_and_unregister_at_shutdown() {
    let cluster = support::cluster(1).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let producer = support::producer(&cluster, "g_beat").await;
    assert!(
        support::eventually(3 * SECOND, || broker
            .heartbeats()
            .iter()
            .any(|h| h.producer_data_set.iter().any(|p| p.group_name == "g_beat")))
        .await,
        "heartbeat soon after start, before any send"
    );
    let hb = broker.heartbeats().pop().expect("heartbeat");
    assert!(
        hb.producer_data_set
            .iter()
            .any(|p| p.group_name == "CLIENT_INNER_PRODUCER")
    );
    assert_eq!(Some(hb.client_id.clone()), producer.client_id());
    producer.shutdown().await;
    let unregisters = broker.unregisters();
    assert!(
        unregisters
            .iter()
            .any(|u| u.producer_group.as_deref() == Some("g_beat") && u.client_id == hb.client_id),
        "{unregisters:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_are_honoured() {
    let cluster = support::cluster(1).await;
    let producer = support::producer(&cluster, "g_deadline").await;
    producer
        .send(Message::new("TopicTest", "warm"))
        .await
        .expect("sent");
    cluster
        .broker("broker-a")
        .expect("broker")
        .set_latency(Duration::from_secs(2));
    let started = Instant::now();
    let err = producer
        .send(Message::new("TopicTest", "slow"))
        .timeout(Duration::from_millis(300))
        .await
        .expect_err("times out");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(450), "{elapsed:?}: {err}");
    assert!(
        matches!(err.error(), rmq::Error::Timeout { .. }) || err.response_code() == Some(10002),
        "{err}"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_fails_pending_async_sends_through_their_callbacks() {
    let cluster = support::cluster(1).await;
    let producer = support::started(
        support::builder(&cluster, "g_grace")
            .shutdown_grace(Duration::from_millis(200))
            .send_timeout(Duration::from_secs(10)),
    )
    .await;
    producer
        .send(Message::new("TopicTest", "warm"))
        .await
        .expect("sent");
    cluster
        .broker("broker-a")
        .expect("broker")
        .set_latency(Duration::from_secs(5));
    let outcomes = Arc::new(parking_lot::Mutex::new(Vec::new()));
    for i in 0..10 {
        let outcomes = outcomes.clone();
        producer
            .send_with_callback(Message::new("TopicTest", format!("late {i}")), move |r| {
                outcomes.lock().push(r.map(|_| ()));
            })
            .await
            .expect("accepted");
    }
    let started = Instant::now();
    producer.shutdown().await;
    assert!(started.elapsed() < 2 * SECOND);
    let outcomes = outcomes.lock();
    assert_eq!(
        outcomes.len(),
        10,
        "every callback ran before shutdown returned"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(e) if matches!(e.error(), rmq::Error::Shutdown))),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.as_ref().err())
            .all(|e| e.message().body().starts_with(b"late ")),
        "each callback got its message back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_create_and_missing_routes() {
    let cluster = support::cluster(1).await;
    let producer = support::producer(&cluster, "g_auto").await;
    let r = producer
        .send(Message::new("BrandNewTopic", "x"))
        .await
        .expect("auto-created");
    assert_eq!(r.queue.topic(), "BrandNewTopic");
    assert_eq!(
        producer
            .publish_queues("BrandNewTopic")
            .await
            .expect("route")
            .len(),
        4
    );
    producer.shutdown().await;

    let strict = rmq_testkit::TestCluster::builder()
        .auto_create_topics(false)
        .start()
        .await
        .expect("cluster");
    let producer = support::producer(&strict, "g_strict").await;
    let err = producer
        .send(Message::new("Unknown", "x"))
        .await
        .expect_err("no route");
    assert!(matches!(err.error(), rmq::Error::NoRoute { .. }), "{err}");
    assert_eq!(err.response_code(), Some(10005));
    producer.shutdown().await;

    let nowhere = Producer::builder("g_nowhere").build().expect("config");
    nowhere.start().await.expect("starts");
    let err = nowhere
        .send(Message::new("T", "x"))
        .await
        .expect_err("no name server");
    assert!(matches!(err.error(), rmq::Error::NoNameServer), "{err}");
    nowhere.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_name_can_be_reused_right_after_shutdown() {
    let cluster = support::cluster(1).await;
    for round in 0..3 {
        // The old producer's shutdown and the new one's start overlap.
        let old =
            support::started(support::builder(&cluster, "g_reuse_a").instance_name("fixed")).await;
        let new = support::builder(&cluster, "g_reuse_b")
            .instance_name("fixed")
            .build()
            .expect("config");
        let (_, started) = tokio::join!(old.shutdown(), new.start());
        started.expect("starts");
        new.send(Message::new("TopicTest", format!("round {round}")))
            .await
            .expect("the new producer's instance is alive");
        new.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_result_is_not_lost_to_a_later_failed_attempt() {
    let cluster = support::cluster(2).await;
    let producer = support::started(
        support::builder(&cluster, "g_keep").retry_another_broker_when_not_store_ok(true),
    )
    .await;
    producer
        .send(Message::new("TopicTest", "warm"))
        .await
        .expect("sent");
    // broker-a stores with a weak status; broker-b refuses (not retryable).
    cluster
        .broker("broker-a")
        .expect("broker")
        .fail_next(response::FLUSH_DISK_TIMEOUT, 1000);
    cluster
        .broker("broker-b")
        .expect("broker")
        .fail_next(response::MESSAGE_ILLEGAL, 1000);
    let mut stored = 0;
    for _ in 0..12 {
        match producer.send(Message::new("TopicTest", "x")).await {
            Ok(r) => {
                assert_eq!(r.status, SendStatus::FlushDiskTimeout);
                stored += 1;
            }
            // First attempt on broker-b: nothing stored, its error stands (as Java).
            Err(e) => assert_eq!(e.response_code(), Some(response::MESSAGE_ILLEGAL), "{e}"),
        }
    }
    assert!(
        stored > 0,
        "a send stored on broker-a is reported even though broker-b failed next"
    );
    producer.shutdown().await;
}

/// A 5.x static topic: the producer sends each logical queue to the broker that leads it,
/// with the logical id unchanged, and results name the real broker (Java 5.3.3:
/// `topicRouteData2EndpointsForStaticTopic`, `getBrokerNameFromMessageQueue`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_topics_route_logical_queues_to_their_leaders() {
    let cluster = rmq_testkit::TestCluster::builder()
        .brokers(2)
        .static_topic("StaticTopic", 4)
        .start()
        .await
        .expect("test cluster starts");
    let producer = support::producer(&cluster, "g_static").await;
    let queues = producer.publish_queues("StaticTopic").await.expect("route");
    let ids: Vec<i32> = queues.iter().map(MessageQueue::queue_id).collect();
    assert_eq!(ids, [0, 1, 2, 3]);
    assert!(
        queues
            .iter()
            .all(|q| q.broker_name() == "__syslo__global__")
    );
    let mut leaders = std::collections::BTreeMap::new();
    for _ in 0..16 {
        let r = producer
            .send(Message::new("StaticTopic", "logical"))
            .await
            .expect("stored by the leader");
        assert!(r.queue.broker_name().starts_with("broker-"), "{}", r.queue);
        leaders.insert(r.queue.queue_id(), r.queue.broker_name().to_owned());
    }
    // Every logical queue was used, each always on the same broker, which leads it.
    assert_eq!(leaders.len(), 4, "{leaders:?}");
    for (logical, broker) in &leaders {
        let mapping = cluster
            .broker(broker)
            .and_then(|b| b.queue_mapping("StaticTopic"))
            .expect("the leader maps the topic");
        assert!(
            mapping.curr_id_map.contains_key(logical),
            "{broker} leads {logical}"
        );
    }
    // Async sends take the same way.
    let r = producer
        .send_async(Message::new("StaticTopic", "async"))
        .await
        .expect("accepted")
        .await
        .expect("stored by the leader");
    assert_eq!(&leaders[&r.queue.queue_id()], r.queue.broker_name());
    // A logical queue taken from the route works as a target too.
    let r = producer
        .send_to_queue(Message::new("StaticTopic", "aimed"), queues[1].clone())
        .await
        .expect("sent to logical queue 1");
    assert_eq!(r.queue.queue_id(), 1);
    assert_eq!(&leaders[&1], r.queue.broker_name());
    producer.shutdown().await;
    cluster.shutdown().await;
}

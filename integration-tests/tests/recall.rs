//! Recalling timer messages against the test broker (5.3.2+ semantics) and against one that
//! does not know the request (as a 4.x broker).

mod support;

use std::time::Duration;

use rmq::prelude::*;
use rmq::remoting::code::response;
use rmq_testkit::{TIMER_TOPIC, TestCluster};

async fn cluster(recall: bool) -> TestCluster {
    TestCluster::builder()
        .topic("Reminders", 4)
        .recall(recall)
        .start()
        .await
        .expect("cluster")
}

fn timer(body: &str, delay_ms: i64) -> Message {
    let mut msg = Message::new("Reminders", body.to_owned());
    msg.set_delay_time_ms(delay_ms);
    msg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recalled_timer_message_is_never_delivered_and_another_one_is() {
    let cluster = cluster(true).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let producer = support::producer(&cluster, "g_recall").await;

    // Due in a minute: it never needs waiting for, and a slow machine cannot deliver it first.
    let recalled = producer
        .send(timer("cancel me", 60_000))
        .await
        .expect("sent");
    let kept = producer.send(timer("keep me", 500)).await.expect("sent");
    let handle = recalled
        .recall_handle
        .as_deref()
        .expect("a timer message has a handle");
    assert!(kept.recall_handle.is_some());
    assert_eq!(broker.messages(TIMER_TOPIC).len(), 2, "parked until due");
    assert!(broker.messages("Reminders").is_empty());

    let id = producer
        .recall("Reminders", handle)
        .await
        .expect("recalled");
    assert_eq!(id, &*recalled.msg_id);

    let delivered = broker
        .wait_for_messages("Reminders", 1, Duration::from_secs(5))
        .await
        .expect("the kept one is delivered when due");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let delivered_now = broker.messages("Reminders");
    assert_eq!(delivered_now.len(), 1, "{delivered:?}");
    assert_eq!(&delivered_now[0].body[..], b"keep me");

    // Due and delivered: too late to recall.
    let late = producer
        .recall("Reminders", kept.recall_handle.as_deref().expect("handle"))
        .await
        .expect_err("already delivered");
    assert_eq!(late.response_code(), Some(response::ILLEGAL_OPERATION));
    assert!(late.to_string().contains("timestamp invalid"), "{late}");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_messages_have_no_handle_and_a_bad_handle_is_refused_before_sending() {
    let cluster = cluster(true).await;
    let producer = support::producer(&cluster, "g_recall_bad").await;
    let plain = producer
        .send(Message::new("Reminders", "now"))
        .await
        .expect("sent");
    assert!(plain.recall_handle.is_none());
    let err = producer
        .recall("Reminders", "not a handle")
        .await
        .expect_err("invalid");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(
        err.to_string().contains("recall handle is invalid"),
        "{err}"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_without_recall_says_it_does_not_support_it() {
    let cluster = cluster(false).await;
    let producer = support::producer(&cluster, "g_recall_4x").await;
    let sent = producer.send(timer("later", 60_000)).await.expect("sent");
    let handle = sent.recall_handle.expect("the timer still works");
    let err = producer
        .recall("Reminders", &handle)
        .await
        .expect_err("not supported");
    assert_eq!(
        err.response_code(),
        Some(response::REQUEST_CODE_NOT_SUPPORTED)
    );
    assert!(
        err.to_string().contains("not supported by this broker"),
        "{err}"
    );
    producer.shutdown().await;
}

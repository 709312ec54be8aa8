//! Request-reply against the test broker: a responder reads requests from the broker and
//! replies; the requester gets each reply matched to its request.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use rmq::common::properties::keys;
use rmq::prelude::*;
use rmq_testkit::{TestBroker, TestCluster};
use tokio_util::sync::CancellationToken;

/// Answers every request on `topic` with `answer(request body)`, until cancelled.
fn responder(
    broker: TestBroker,
    producer: Producer,
    topic: &'static str,
    answer: fn(&[u8]) -> Vec<u8>,
) -> CancellationToken {
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        let mut answered = HashSet::new();
        while !stopped.is_cancelled() {
            for stored in broker.messages(topic) {
                if !answered.insert(stored.commit_log_offset) {
                    continue;
                }
                let request = support::as_message(&stored);
                let body = answer(&stored.body);
                let producer = producer.clone();
                tokio::spawn(async move {
                    let reply = producer.send_reply(&request, body).expect("a request");
                    reply.await.expect("reply sent");
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    stop
}

fn echo(body: &[u8]) -> Vec<u8> {
    [b"re: ", body].concat()
}

async fn setup() -> (TestCluster, TestBroker, Producer, Producer) {
    let cluster = TestCluster::builder()
        .topic("Prices", 4)
        .start()
        .await
        .expect("cluster");
    let broker = cluster.broker("broker-a").expect("broker");
    let requester = support::producer(&cluster, "g_requester").await;
    let responder = support::producer(&cluster, "g_responder").await;
    (cluster, broker, requester, responder)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_gets_its_reply() {
    let (_cluster, broker, requester, replier) = setup().await;
    let stop = responder(broker.clone(), replier.clone(), "Prices", echo);

    let reply = requester
        .request(Message::new("Prices", "EURUSD?"))
        .timeout(Duration::from_secs(5))
        .await
        .expect("a reply");
    assert_eq!(&reply.body()[..], b"re: EURUSD?");
    assert_eq!(reply.topic(), "DefaultCluster_REPLY_TOPIC");
    let props = reply.properties();
    assert_eq!(props.get(keys::MSG_TYPE), Some("reply"));
    assert!(props.get(keys::ARRIVE_TIME).is_some());
    assert!(props.get(keys::PUSH_REPLY_TIME).is_some());
    assert_eq!(
        props.get(keys::REPLY_TO_CLIENT),
        requester.client_id().as_deref()
    );
    // The request as stored carried Java's three properties.
    let stored = broker.messages("Prices");
    let request = &stored[0].properties;
    assert_eq!(request.get(keys::TTL), Some("5000"));
    assert_eq!(
        request.get(keys::CORRELATION_ID),
        props.get(keys::CORRELATION_ID)
    );
    // The reply went with SEND_REPLY_MESSAGE_V2 and was stored on the reply topic.
    let replies = broker.messages("DefaultCluster_REPLY_TOPIC");
    assert_eq!(replies[0].request_code, 325);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_a_queue_by_selector_and_with_a_callback_get_their_replies() {
    let (_cluster, broker, requester, replier) = setup().await;
    let stop = responder(broker.clone(), replier.clone(), "Prices", echo);

    let queue = MessageQueue::new("Prices", "broker-a", 2);
    let reply = requester
        .request_to_queue(Message::new("Prices", "q"), queue)
        .await
        .expect("reply");
    assert_eq!(&reply.body()[..], b"re: q");
    assert!(broker.messages_in_queue("Prices", 2).len() == 1);

    let reply = requester
        .request_with_selector(Message::new("Prices", "s"), SelectByHash, "acct-7")
        .await
        .expect("reply");
    assert_eq!(&reply.body()[..], b"re: s");

    let (tx, rx) = tokio::sync::oneshot::channel();
    requester
        .request(Message::new("Prices", "cb"))
        .submit_with_callback(move |reply| {
            let _ = tx.send(reply.map(|m| m.body().clone()));
        })
        .await
        .expect("accepted");
    let body = rx.await.expect("called").expect("reply");
    assert_eq!(&body[..], b"re: cb");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_each_get_their_own_reply() {
    let (_cluster, broker, requester, replier) = setup().await;
    let stop = responder(broker.clone(), replier.clone(), "Prices", echo);

    let mut pending = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let requester = requester.clone();
        pending.spawn(async move {
            let body = format!("r{i}");
            let reply = requester
                .request(Message::new("Prices", body.clone()))
                .timeout(Duration::from_secs(20))
                .await
                .expect("a reply");
            assert_eq!(reply.body().as_ref(), format!("re: {body}").as_bytes());
        });
    }
    let mut done = 0;
    while let Some(joined) = pending.join_next().await {
        joined.expect("matched");
        done += 1;
    }
    assert_eq!(done, 1000);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_reply_arrives_decompressed() {
    let (_cluster, broker, requester, replier) = setup().await;
    // 8 KiB: over the responder's 4 KiB threshold, so its producer compresses it.
    let stop = responder(broker.clone(), replier.clone(), "Prices", |_| {
        vec![b'x'; 8192]
    });
    let reply = requester
        .request(Message::new("Prices", "big?"))
        .await
        .expect("reply");
    assert_eq!(reply.body().len(), 8192);
    let stored = broker.messages("DefaultCluster_REPLY_TOPIC");
    assert_eq!(stored[0].sys_flag & 1, 1, "sent compressed");
    assert!(stored[0].raw_body.len() < 8192);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reply_in_time_is_a_request_timeout_with_javas_message() {
    let (_cluster, _broker, requester, _replier) = setup().await;
    // The route known beforehand: the whole timeout is the wait for the reply.
    requester.publish_queues("Prices").await.expect("route");
    let failed = requester
        .request(Message::new("Prices", "anyone?"))
        .timeout(Duration::from_millis(300))
        .await
        .expect_err("nobody answers");
    assert_eq!(failed.kind(), ErrorKind::Timeout);
    assert!(failed.may_have_been_stored());
    assert_eq!(failed.response_code(), Some(10006));
    assert_eq!(
        failed.to_string(),
        "send request message to <Prices> OK, but wait reply message timeout, 300 ms."
    );
    assert_eq!(&failed.message().body()[..], b"anyone?");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmatched_reply_is_acknowledged_and_a_message_from_nowhere_cannot_be_replied_to() {
    let (_cluster, broker, requester, replier) = setup().await;
    // The requester's heartbeat registers its connection with the broker.
    requester
        .send(Message::new("Prices", "warm-up"))
        .await
        .expect("sent");
    let client_id = requester.client_id().expect("started");
    assert!(
        support::eventually(Duration::from_secs(5), || broker
            .heartbeats()
            .iter()
            .any(|h| h.client_id == client_id))
        .await
    );

    let mut stray = Message::new("Prices", "?");
    let props = stray.properties_mut();
    props.insert(keys::CLUSTER, "DefaultCluster");
    props.insert(keys::CORRELATION_ID, "00000000-0000-4000-8000-000000000000");
    props.insert(keys::REPLY_TO_CLIENT, client_id);
    replier
        .send_reply(&stray, "nobody asked")
        .expect("a request shape")
        .await
        .expect("the requester acknowledged it");

    let err = replier
        .send_reply(&Message::new("Prices", "not from a broker"), "x")
        .expect_err("no CLUSTER");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert_eq!(err.response_code(), Some(10007));
}

//! Automatic batching against the fake transport, in paused time.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rmq_common::properties::keys;
use rmq_common::{Message, MessageQueue, batch::decode_body};
use rmq_remoting::ErrorKind as Transport;
use rmq_remoting::code::{request, response};
use tokio::time::Instant;

use crate::send::fake::{A, B, Behaviour, FakeTransport};
use crate::send::tests::producer_with;
use crate::{AutoBatch, ErrorKind, Producer, SendFuture, SendResult};

const TOPIC: &str = "TopicTest";

async fn batching(fake: &Arc<FakeTransport>, batching: AutoBatch) -> Producer {
    producer_with(fake, Producer::builder("pg").auto_batch(batching)).await
}

fn numbered(i: usize) -> Message {
    Message::new(TOPIC, format!("m{i}"))
}

/// Both brokers answering after `delay`.
fn slow(delay: Duration) -> Arc<FakeTransport> {
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Answer(delay));
    fake.set(B, Behaviour::Answer(delay));
    fake
}

async fn submit_all(
    producer: &Producer,
    msgs: impl IntoIterator<Item = Message>,
) -> Vec<SendFuture> {
    let mut pending = Vec::new();
    for msg in msgs {
        pending.push(producer.send_async(msg).await.expect("accepted"));
    }
    pending
}

async fn results(pending: Vec<SendFuture>) -> Vec<SendResult> {
    let mut all = Vec::new();
    for future in pending {
        all.push(future.await.expect("stored"));
    }
    all
}

/// The bodies of every message the fake was sent, request by request.
fn bodies_per_request(fake: &FakeTransport) -> Vec<Vec<Bytes>> {
    fake.sends()
        .into_iter()
        .map(|seen| {
            if seen.code == request::SEND_BATCH_MESSAGE {
                decode_body(&seen.body)
                    .expect("a batch body")
                    .into_iter()
                    .map(|entry| entry.body)
                    .collect()
            } else {
                vec![seen.body]
            }
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_lone_message_leaves_at_once_as_itself() {
    let fake = FakeTransport::new();
    let producer = batching(
        &fake,
        AutoBatch::default().with_hold(Duration::from_secs(1)),
    )
    .await;
    let begin = Instant::now();
    let result = producer.send(numbered(0)).await.expect("stored");
    assert!(
        begin.elapsed() < Duration::from_millis(5),
        "{:?}",
        begin.elapsed()
    );
    let sends = fake.sends();
    assert_eq!(sends.len(), 1);
    assert_ne!(sends[0].code, request::SEND_BATCH_MESSAGE);
    assert!(!result.msg_id.contains(','));
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn messages_sent_while_requests_are_out_share_a_batch_and_split_its_result() {
    let fake = slow(Duration::from_millis(5));
    let producer = batching(&fake, AutoBatch::default()).await;
    let msgs: Vec<Message> = (0..50).map(numbered).collect();
    let sent = results(submit_all(&producer, msgs).await).await;

    // Two went alone (the lane's depth); the other 48 waited for the first answer, together.
    let requests = bodies_per_request(&fake);
    let sizes: Vec<usize> = requests.iter().map(Vec::len).collect();
    assert_eq!(sizes, [1, 1, 48], "{sizes:?}");
    let batch = &fake.sends()[2];
    assert_eq!(batch.code, request::SEND_BATCH_MESSAGE);

    // Each message has its own id (its UNIQ_KEY), offset id and queue offset.
    let entries = decode_body(&batch.body).expect("batch");
    let batched = &sent[2..];
    for (i, (result, entry)) in batched.iter().zip(&entries).enumerate() {
        assert_eq!(Some(&*result.msg_id), entry.properties.get(keys::UNIQ_KEY));
        assert_eq!(result.queue_offset, batched[0].queue_offset + i as i64);
        let offset_id = result.offset_msg_id.as_deref().expect("offset id");
        assert!(!offset_id.contains(','), "{offset_id}");
    }
    let mut offset_ids: Vec<_> = sent.iter().map(|r| r.offset_msg_id.clone()).collect();
    offset_ids.sort();
    offset_ids.dedup();
    assert_eq!(offset_ids.len(), 50);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn what_cannot_be_batched_goes_alone() {
    let fake = slow(Duration::from_millis(5));
    let producer = batching(&fake, AutoBatch::default().with_batch_bytes(2048)).await;
    // Two in flight, so the rest would be held if they could be.
    let mut pending = submit_all(&producer, (0..2).map(numbered)).await;
    let with = |name: &'static str, value: &str| {
        let mut msg = Message::new(TOPIC, name);
        msg.properties_mut().insert(name, value.to_owned());
        Ok(msg)
    };
    let alone = [
        Message::builder(TOPIC)
            .body("delayed")
            .delay_level(3)
            .build(),
        Ok(Message::new(TOPIC, vec![b'x'; 8192])), // compressed
        Ok(Message::new(TOPIC, vec![b'y'; 3000])), // larger than batch_bytes
        Ok(Message::new("%RETRY%pg", "retry")),
        Message::builder(TOPIC)
            .body("timer")
            .delay_time_sec(10)
            .build(),
        Message::builder(TOPIC)
            .body("deliver")
            .deliver_time_ms(4_102_444_800_000)
            .build(),
        with(keys::PGROUP, "pg"),
        with(keys::CORRELATION_ID, "c-1"),
    ];
    let count = alone.len();
    for msg in alone {
        let msg = msg.expect("message");
        pending.push(producer.send_async(msg).await.expect("accepted"));
    }
    producer.send_oneway(numbered(99)).await.expect("written");
    pending.extend(submit_all(&producer, (2..5).map(numbered)).await);
    results(pending).await;

    let requests = bodies_per_request(&fake);
    let batches: Vec<&Vec<Bytes>> = requests.iter().filter(|r| r.len() > 1).collect();
    assert_eq!(batches.len(), 1, "{requests:?}");
    assert_eq!(batches[0], &["m2", "m3", "m4"].map(Bytes::from).to_vec());
    assert_eq!(requests.len(), 2 + count + 1 + 1);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_held_message_waits_no_longer_than_its_hold() {
    let fake = slow(Duration::from_millis(200));
    let hold = Duration::from_millis(10);
    let producer = batching(&fake, AutoBatch::default().with_hold(hold)).await;
    let begin = Instant::now();
    let pending = submit_all(&producer, (0..3).map(numbered)).await;
    tokio::time::sleep(hold - Duration::from_millis(1)).await;
    assert_eq!(fake.sends().len(), 2, "the third is held");
    tokio::time::sleep(Duration::from_millis(2)).await;
    assert_eq!(fake.sends().len(), 3, "the third left at its hold time");
    let sent = results(pending).await;
    assert_eq!(sent.len(), 3);
    // Its answer came one round trip after its hold, not after the others' answers.
    assert!(
        begin.elapsed() < hold + Duration::from_millis(205),
        "{:?}",
        begin.elapsed()
    );
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_held_message_waits_at_most_half_its_time_left() {
    let fake = slow(Duration::from_millis(100));
    let producer = producer_with(
        &fake,
        Producer::builder("pg")
            .send_timeout(Duration::from_millis(50))
            .auto_batch(AutoBatch::default().with_hold(Duration::from_millis(30))),
    )
    .await;
    let begin = Instant::now();
    let pending = submit_all(&producer, (0..3).map(numbered)).await;
    // Held: the hold is 30 ms, but half its 50 ms is 25.
    tokio::time::sleep(Duration::from_millis(24)).await;
    assert_eq!(fake.sends().len(), 2);
    tokio::time::sleep(Duration::from_millis(2)).await;
    assert_eq!(fake.sends().len(), 3);
    for future in pending {
        let failed = future
            .await
            .expect_err("the broker answers after the deadline");
        assert_eq!(failed.kind(), ErrorKind::Timeout, "{failed}");
    }
    assert!(
        begin.elapsed() <= Duration::from_millis(51),
        "{:?}",
        begin.elapsed()
    );
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_send_with_its_own_timeout_goes_alone() {
    let fake = slow(Duration::from_millis(100));
    let producer = batching(&fake, AutoBatch::default()).await;
    let mut pending = submit_all(&producer, (0..2).map(numbered)).await;
    // Java batches only the overloads without a timeout: a batch's messages share one.
    let timed = producer
        .send_async(numbered(2))
        .timeout(Duration::from_secs(1))
        .await
        .expect("accepted");
    assert_eq!(fake.sends().len(), 3, "sent at once");
    pending.push(timed);
    assert_eq!(results(pending).await.len(), 3);
    assert_eq!(fake.count(request::SEND_BATCH_MESSAGE), 0);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_batch_of_sync_sends_is_retried_as_sync_sends_are() {
    let fake = FakeTransport::new();
    // Java retries a sync send on these codes (`retryResponseCodes`), an async one never.
    fake.set(A, Behaviour::Code(response::SYSTEM_BUSY));
    fake.set(B, Behaviour::Answer(Duration::from_millis(5)));
    let producer = Arc::new(batching(&fake, AutoBatch::default()).await);
    let mut syncs = Vec::new();
    for i in 0..12 {
        let producer = producer.clone();
        syncs.push(tokio::spawn(
            async move { producer.send(numbered(i)).await },
        ));
    }
    for sync in syncs {
        let sent = sync.await.expect("joined").expect("retried onto broker B");
        assert_eq!(sent.queue.broker_name(), "broker-b");
    }
    assert!(fake.count(request::SEND_BATCH_MESSAGE) > 0);
    let refused = fake.sends().iter().filter(|s| s.addr == A).count();
    assert!(refused > 0, "some went to the busy broker first");
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_batch_is_retried_whole_on_another_broker() {
    let fake = slow(Duration::from_millis(5));
    let producer = batching(&fake, AutoBatch::default()).await;
    let first = submit_all(&producer, (0..2).map(numbered)).await;
    // Whatever broker the batch picks first fails; the retry goes to the other.
    fake.set(
        A,
        Behaviour::Fail(Transport::ConnectionClosed, Duration::from_millis(1)),
    );
    fake.set(
        B,
        Behaviour::Fail(Transport::ConnectionClosed, Duration::from_millis(1)),
    );
    let held = submit_all(&producer, (2..6).map(numbered)).await;
    tokio::time::sleep(Duration::from_millis(6)).await;
    fake.set(A, Behaviour::Answer(Duration::from_millis(1)));
    fake.set(B, Behaviour::Answer(Duration::from_millis(1)));
    let _ = results(first).await;
    let sent = results(held).await;
    assert_eq!(sent.len(), 4);
    let batches: Vec<_> = fake
        .sends()
        .into_iter()
        .filter(|s| s.code == request::SEND_BATCH_MESSAGE)
        .collect();
    assert!(
        batches.len() >= 2,
        "sent, failed, sent again: {}",
        batches.len()
    );
    assert!(batches.iter().all(|b| b.body == batches[0].body));
    assert_ne!(batches[0].addr, batches[1].addr);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_refused_batch_hands_each_message_back() {
    let fake = slow(Duration::from_millis(5));
    let producer = batching(&fake, AutoBatch::default()).await;
    let first = submit_all(&producer, (0..2).map(numbered)).await;
    fake.set(A, Behaviour::Code(response::MESSAGE_ILLEGAL));
    fake.set(B, Behaviour::Code(response::MESSAGE_ILLEGAL));
    let held = submit_all(&producer, (2..5).map(numbered)).await;
    let _ = results(first).await;
    for (i, future) in held.into_iter().enumerate() {
        let failed = future.await.expect_err("refused");
        assert_eq!(failed.kind(), ErrorKind::BrokerRefused, "{failed}");
        assert_eq!(failed.message().body(), &Bytes::from(format!("m{}", i + 2)));
        assert_eq!(failed.message().topic(), TOPIC);
        assert!(failed.message().properties().get(keys::UNIQ_KEY).is_some());
    }
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn flush_and_shutdown_send_what_is_held() {
    let fake = slow(Duration::from_millis(100));
    let hold = Duration::from_secs(30);
    let producer = Arc::new(batching(&fake, AutoBatch::default().with_hold(hold)).await);
    let first = submit_all(&producer, (0..5).map(numbered)).await;
    assert_eq!(fake.sends().len(), 2);
    let begin = Instant::now();
    let flushing = {
        let producer = producer.clone();
        tokio::spawn(async move { producer.flush(Duration::from_secs(5)).await })
    };
    // Sent at once, not when the first answer comes (100 ms).
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(fake.sends().len(), 3);
    flushing.await.expect("joined").expect("flushed");
    assert!(
        begin.elapsed() < Duration::from_millis(150),
        "{:?}",
        begin.elapsed()
    );
    assert_eq!(results(first).await.len(), 5);

    let second = submit_all(&producer, (5..10).map(numbered)).await;
    assert_eq!(fake.sends().len(), 5);
    let begin = Instant::now();
    let stopping = {
        let producer = producer.clone();
        tokio::spawn(async move { producer.shutdown().await })
    };
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(fake.sends().len(), 6);
    stopping.await.expect("joined");
    // The answers (100 ms), then unregistering from the brokers (100 ms more).
    assert!(
        begin.elapsed() < Duration::from_millis(250),
        "{:?}",
        begin.elapsed()
    );
    assert_eq!(results(second).await.len(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_sync_send_waits_for_its_share_of_a_batch() {
    let fake = slow(Duration::from_millis(5));
    let producer = Arc::new(batching(&fake, AutoBatch::default()).await);
    let pending = submit_all(&producer, (0..2).map(numbered)).await;
    let mut syncs = Vec::new();
    for i in 2..6 {
        let producer = producer.clone();
        syncs.push(tokio::spawn(
            async move { producer.send(numbered(i)).await },
        ));
    }
    for sync in syncs {
        let result = sync.await.expect("joined").expect("stored");
        assert!(!result.msg_id.contains(','));
    }
    results(pending).await;
    assert_eq!(fake.count(request::SEND_BATCH_MESSAGE), 1);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn one_queues_messages_keep_their_order() {
    let fake = slow(Duration::from_millis(3));
    let producer = batching(&fake, AutoBatch::default().with_batch_bytes(512)).await;
    let queue = MessageQueue::new(TOPIC, "broker-a", 1);
    let mut pending = Vec::new();
    for i in 0..300 {
        let send = producer.send_to_queue(numbered(i), queue.clone()).submit();
        pending.push(send.await.expect("accepted"));
        if i % 7 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    for future in pending {
        future.await.expect("stored");
    }
    let order: Vec<Bytes> = bodies_per_request(&fake).into_iter().flatten().collect();
    let expected: Vec<Bytes> = (0..300).map(|i| Bytes::from(format!("m{i}"))).collect();
    assert_eq!(order, expected);
    assert!(fake.count(request::SEND_BATCH_MESSAGE) > 1);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn held_messages_hold_room_in_flight() {
    let fake = slow(Duration::from_millis(50));
    let producer = producer_with(
        &fake,
        Producer::builder("pg")
            .auto_batch(AutoBatch::default())
            .max_async_in_flight(4),
    )
    .await;
    let pending = submit_all(&producer, (0..4).map(numbered)).await;
    assert_eq!(producer.in_flight().sends, 4);
    // The fifth waits for room: the held two count.
    let begin = Instant::now();
    let fifth = producer.send_async(numbered(4)).await.expect("room came");
    assert!(
        begin.elapsed() >= Duration::from_millis(49),
        "{:?}",
        begin.elapsed()
    );
    results(pending).await;
    fifth.await.expect("stored");
    producer.shutdown().await;
}

#[test]
fn settings_out_of_range_are_refused() {
    let build = |batching: AutoBatch| {
        Producer::builder("pg")
            .name_server("127.0.0.1:9876")
            .auto_batch(batching)
            .build()
    };
    assert!(build(AutoBatch::default()).is_ok());
    assert!(build(AutoBatch::default().with_hold(Duration::ZERO)).is_err());
    assert!(build(AutoBatch::default().with_hold(Duration::MAX)).is_err());
    assert!(build(AutoBatch::default().with_batch_bytes(0)).is_err());
    assert!(build(AutoBatch::default().with_batch_bytes(usize::MAX)).is_err());
    let err = Producer::builder("pg")
        .max_message_size(1024)
        .auto_batch(AutoBatch::default())
        .build()
        .expect_err("a batch must fit a message");
    assert!(err.to_string().contains("max_message_size"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_held_message_still_leaves_when_its_producer_is_dropped() {
    let fake = slow(Duration::from_secs(2));
    let hold = Duration::from_millis(10);
    let producer = batching(&fake, AutoBatch::default().with_hold(hold)).await;
    let first = submit_all(&producer, (0..2).map(numbered)).await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    producer
        .send_with_callback(numbered(2), move |outcome| {
            let _ = tx.send(outcome.map(|sent| sent.msg_id));
        })
        .await
        .expect("accepted");
    drop(producer);
    // Its hold timer sends it, long before the first answers.
    tokio::time::sleep(hold + Duration::from_millis(1)).await;
    assert_eq!(fake.sends().len(), 3);
    results(first).await;
    let id = rx.await.expect("called once").expect("stored");
    assert!(!id.is_empty());
}

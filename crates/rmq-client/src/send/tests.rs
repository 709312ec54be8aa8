//! The send path against a fake transport: the driver, the retry loop, shutdown and the odd
//! but legal settings, in milliseconds and (mostly) in paused time.

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rmq_common::properties::keys;
use rmq_common::{Message, MessageQueue, Properties, ValidationError};
use rmq_remoting::ErrorKind;
use rmq_remoting::code::{request, response};
use tokio::time::Instant;

use super::fake::{A, B, Behaviour, FakeTransport};
use crate::config::ProducerBuilder;
use crate::{
    Error, Producer, SelectByRoundRobin, SendContext, SendError, SendMessageHook, SendResult,
    SendStatus,
};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A started producer on `fake`, with its own client instance.
pub(crate) async fn producer_with(fake: &Arc<FakeTransport>, builder: ProducerBuilder) -> Producer {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let config = builder
        .name_server("127.0.0.1:9876")
        .instance_name(format!("fake-{n}"))
        .into_config();
    let producer = Producer::with_transport(config, fake.clone());
    producer.start().await.expect("start");
    producer
}

async fn producer(fake: &Arc<FakeTransport>) -> Producer {
    producer_with(fake, Producer::builder("pg")).await
}

fn message() -> Message {
    Message::new("TopicTest", "hello")
}

#[tokio::test(start_paused = true)]
async fn an_unpolled_send_future_does_not_hold_up_flush() {
    let fake = FakeTransport::new();
    let producer = producer(&fake).await;
    let pending = producer.send_async(message()).await.expect("accepted");
    let begin = Instant::now();
    producer
        .flush(Duration::from_secs(2))
        .await
        .expect("nothing left in flight");
    assert!(
        begin.elapsed() < Duration::from_millis(100),
        "{:?}",
        begin.elapsed()
    );
    // Awaited later, it yields the result.
    let result = pending.await.expect("stored");
    assert_eq!(result.status, SendStatus::SendOk);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_unpolled_send_retries_on_time_on_another_broker() {
    let fake = FakeTransport::new();
    fake.set(
        A,
        Behaviour::Fail(ErrorKind::ConnectionClosed, Duration::from_millis(5)),
    );
    fake.set(
        B,
        Behaviour::Fail(ErrorKind::ConnectionClosed, Duration::from_millis(5)),
    );
    let producer = producer(&fake).await;
    let pending = producer.send_async(message()).await.expect("accepted");
    // Nobody polls `pending`: its three attempts still happen, each right after the last.
    producer.flush(Duration::from_secs(2)).await.expect("done");
    assert_eq!(fake.sends().len(), 3);
    let failed = pending.await.expect_err("failed");
    assert_eq!(
        failed.message().body().as_ref(),
        b"hello",
        "the message comes back"
    );
    let Error::AllAttemptsFailed { attempts, .. } = failed.into_error() else {
        panic!("three failed attempts");
    };
    assert_eq!(attempts.len(), 3);
    // Each attempt's latency is its own, not the time nobody polled.
    assert!(
        attempts
            .iter()
            .all(|a| a.elapsed < Duration::from_millis(50))
    );
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn accepting_a_send_never_waits_on_the_network() {
    let fake = FakeTransport::new();
    fake.set_route_delay(Duration::from_millis(500));
    let producer = producer(&fake).await;
    let begin = Instant::now();
    let pending = producer.send_async(message()).await.expect("accepted");
    assert_eq!(
        begin.elapsed(),
        Duration::ZERO,
        "accepted before the route came"
    );
    let (tx, rx) = tokio::sync::oneshot::channel();
    producer
        .send_with_callback(Message::new("OtherTopic", "x"), move |result| {
            let _ = tx.send(result.map(|r| r.status));
        })
        .await
        .expect("accepted");
    assert_eq!(begin.elapsed(), Duration::ZERO);
    // Each finishes on its own once its route has come.
    assert_eq!(pending.await.expect("sent").status, SendStatus::SendOk);
    assert_eq!(rx.await.expect("called").expect("sent"), SendStatus::SendOk);
    assert!(begin.elapsed() >= Duration::from_millis(500));
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_dropped_send_future_still_completes_and_counts() {
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Answer(Duration::from_millis(200)));
    fake.set(B, Behaviour::Answer(Duration::from_millis(200)));
    let producer = producer(&fake).await;
    for _ in 0..10 {
        drop(producer.send_async(message()).await.expect("accepted"));
    }
    assert_eq!(producer.async_in_flight(), 10);
    producer
        .flush(Duration::from_secs(2))
        .await
        .expect("all done");
    assert_eq!(producer.async_in_flight(), 0);
    assert_eq!(fake.sends().len(), 10);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_fails_what_outlives_its_grace_through_futures_and_callbacks() {
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Silent);
    fake.set(B, Behaviour::Silent);
    let builder = Producer::builder("pg")
        .send_timeout(Duration::from_secs(60))
        .shutdown_grace(Duration::from_millis(50));
    let producer = producer_with(&fake, builder).await;
    let pending = producer.send_async(message()).await.expect("accepted");
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    producer
        .send_with_callback(message(), move |result| {
            let error = result.as_ref().err().map(SendError::error);
            assert!(matches!(error, Some(Error::Shutdown)), "{result:?}");
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .expect("accepted");
    producer.shutdown().await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let failed = pending.await.expect_err("ended by shutdown");
    assert!(matches!(failed.error(), Error::Shutdown), "{failed}");
    assert_eq!(
        failed.message().body().as_ref(),
        b"hello",
        "the message comes back"
    );
    assert_eq!(producer.async_in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_survives_being_dropped_and_concurrent_callers_wait_for_it() {
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Answer(Duration::from_millis(500)));
    fake.set(B, Behaviour::Answer(Duration::from_millis(500)));
    let producer = producer(&fake).await;
    let pending = producer.send_async(message()).await.expect("accepted");
    // Dropped long before the drain (500 ms) is over.
    assert!(
        tokio::time::timeout(Duration::from_millis(10), producer.shutdown())
            .await
            .is_err()
    );
    // Two more callers, concurrently: both return only once the drain is complete.
    let (first, second) = (producer.clone(), producer.clone());
    let begin = Instant::now();
    tokio::join!(first.shutdown(), second.shutdown());
    assert!(begin.elapsed() >= Duration::from_millis(400));
    assert_eq!(producer.async_in_flight(), 0);
    assert!(pending.await.is_ok(), "the send finished within the grace");
    // The group left every broker, and the producer is detached.
    assert!(fake.count(request::UNREGISTER_CLIENT) >= 1);
    assert!(producer.client_id().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_black_holed_broker_does_not_fail_the_first_send_to_a_healthy_one() {
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Silent);
    let producer = producer(&fake).await;
    // The first send fetches the route, which names the black hole too.
    let queue = MessageQueue::new("TopicTest", "broker-b", 0);
    let result = producer
        .send_to_queue(message(), queue)
        .await
        .expect("stored on broker-b");
    assert_eq!(result.queue.broker_name(), "broker-b");
    assert!(fake.sends().iter().all(|s| s.addr == B));
    // Route updates heartbeat nobody; only the scheduled task does.
    assert_eq!(fake.count(request::HEART_BEAT), 0);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn round_robin_rotates_through_the_producer_api() {
    let fake = FakeTransport::new();
    let producer = producer(&fake).await;
    let rr = SelectByRoundRobin::default();
    for _ in 0..8 {
        producer
            .send_with_selector(message(), &rr, ())
            .await
            .expect("stored");
    }
    let shared = SelectByRoundRobin::default();
    for _ in 0..4 {
        producer
            .send_with_selector(message(), shared.clone(), ())
            .await
            .expect("stored");
    }
    let queues: Vec<(String, i32)> = fake
        .sends()
        .iter()
        .filter_map(|s| s.header.as_ref())
        .map(|h| {
            (
                h.broker_name.as_deref().unwrap_or_default().to_owned(),
                h.queue_id,
            )
        })
        .collect();
    let distinct: std::collections::BTreeSet<_> = queues[..8].iter().collect();
    assert_eq!(distinct.len(), 4, "{queues:?}");
    let distinct: std::collections::BTreeSet<_> = queues[8..].iter().collect();
    assert_eq!(distinct.len(), 4, "{queues:?}");
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn the_largest_timeouts_and_retry_counts_are_legal() {
    let fake = FakeTransport::new();
    let builder = Producer::builder("pg")
        .send_timeout(Duration::MAX)
        .client_api_timeout(Duration::MAX)
        .shutdown_grace(Duration::MAX)
        .heartbeat_interval(Duration::MAX)
        .poll_name_server_interval(Duration::MAX)
        .retry_times_when_send_failed(u32::MAX)
        .retry_times_when_send_async_failed(u32::MAX);
    let producer = producer_with(&fake, builder).await;
    producer
        .send(message())
        .timeout(Duration::MAX)
        .await
        .expect("stored");
    let pending = producer
        .send_async(message())
        .timeout(Duration::MAX)
        .await
        .expect("accepted");
    producer.flush(Duration::MAX).await.expect("done");
    pending.await.expect("stored");
    producer.shutdown().await;

    // Retries bounded only by the deadline, and the record stays bounded.
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Code(response::SYSTEM_BUSY));
    fake.set(B, Behaviour::Code(response::SYSTEM_BUSY));
    let builder = Producer::builder("pg").retry_times_when_send_failed(u32::MAX);
    let producer = producer_with(&fake, builder).await;
    let attempts = tokio::time::timeout(
        Duration::from_secs(10),
        producer.send(message()).timeout(Duration::from_millis(20)),
    )
    .await
    .expect("bounded by the send's deadline");
    match attempts.map_err(Error::from) {
        Err(Error::Timeout { attempts, .. } | Error::AllAttemptsFailed { attempts, .. }) => {
            assert!(!attempts.is_empty() && attempts.len() <= 64);
        }
        other => panic!("{other:?}"),
    }
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn async_broker_codes_are_not_retried_and_sync_ones_are() {
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Code(response::SYSTEM_BUSY));
    fake.set(B, Behaviour::Code(response::SYSTEM_BUSY));
    let producer = producer(&fake).await;
    let async_error = producer
        .send_async(message())
        .await
        .expect("accepted")
        .await;
    let async_error = async_error.expect_err("refused");
    assert_eq!(async_error.attempts().len(), 1, "{async_error}");
    assert!(matches!(
        async_error.root(),
        Error::Broker {
            code: response::SYSTEM_BUSY,
            ..
        }
    ));
    assert_eq!(fake.sends().len(), 1);
    let sync_error = producer.send(message()).await.map_err(Error::from);
    assert!(
        matches!(sync_error, Err(Error::AllAttemptsFailed { .. })),
        "{sync_error:?}"
    );
    assert_eq!(fake.sends().len(), 4);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_batch_over_the_size_limit_names_its_size_and_the_limit() {
    let fake = FakeTransport::new();
    let producer = producer_with(&fake, Producer::builder("pg").max_message_size(1000)).await;
    // Each message fits; the encoded batch does not.
    let batch = (0..4).map(|_| Message::new("TopicTest", vec![b'x'; 400]));
    let failed = producer.send_batch(batch).await.expect_err("too large");
    assert_eq!(failed.message().len(), 4, "the batch comes back");
    let error = failed.into_error();
    let Error::Validation(ValidationError::BodyTooLarge { size, max }) = &error else {
        panic!("{error:?}");
    };
    assert!(*size > 1600 && *max == 1000, "{error}");
    assert!(error.to_string().contains("1000"), "{error}");
    assert!(fake.sends().is_empty(), "nothing went to a broker");
    producer.shutdown().await;
}

/// Each message keeps its own `UNIQ_KEY`, and the batch has none that a broker could copy
/// over them (see `prepare_batch`).
#[tokio::test(start_paused = true)]
async fn a_batch_carries_only_its_messages_keys() {
    let fake = FakeTransport::new();
    let producer = producer(&fake).await;
    let batch: Vec<Message> = (0..3).map(|_| message()).collect();
    let result = producer.send_batch(batch).await.expect("stored");
    let sends = fake.sends();
    let header = sends[0].header.as_ref().expect("a send header");
    let properties = Properties::decode(header.properties.as_deref().unwrap_or_default());
    assert_eq!(properties.get(keys::UNIQ_KEY), None);
    let entries = rmq_common::batch::decode_body(&sends[0].body).expect("a batch body");
    let keys: Vec<String> = entries
        .iter()
        .filter_map(|e| e.properties.get(keys::UNIQ_KEY).map(str::to_owned))
        .collect();
    assert_eq!(keys.join(","), *result.msg_id);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn topics_are_validated_with_the_namespace_applied() {
    let fake = FakeTransport::new();
    let producer = producer_with(&fake, Producer::builder("pg").namespace("tenant")).await;
    // 125 characters: legal alone, too long as `tenant%…`.
    let topic = "t".repeat(125);
    let error = producer
        .send(Message::new(topic.as_str(), "x"))
        .await
        .expect_err("the wrapped topic is too long");
    assert!(
        matches!(
            error.error(),
            Error::Validation(ValidationError::TopicTooLong(_))
        ),
        "{error:?}"
    );
    producer.shutdown().await;
}

/// Compressed once, the same bytes on every attempt; a failing compressor sends the body as
/// it is.
#[tokio::test]
async fn bodies_are_compressed_once_and_sent_raw_when_compression_fails() {
    let fake = FakeTransport::new();
    fake.set(
        A,
        Behaviour::Fail(ErrorKind::ConnectionClosed, Duration::ZERO),
    );
    fake.set(
        B,
        Behaviour::Fail(ErrorKind::ConnectionClosed, Duration::ZERO),
    );
    let producer = producer(&fake).await;
    let body = bytes::Bytes::from("compressible ".repeat(30_000));
    let _ = producer.send(Message::new("TopicTest", body.clone())).await;
    let sends = fake.sends();
    assert_eq!(sends.len(), 3);
    assert!(sends[0].body.len() < body.len() / 10, "compressed");
    assert!(sends.iter().all(|s| s.body == sends[0].body));
    assert!(sends.iter().all(|s| {
        s.header
            .as_ref()
            .is_some_and(|h| h.sys_flag & 0x301 == 0x301)
    }));
    producer.shutdown().await;

    // A level the compressor refuses (`build` would have): sent raw, flag clear.
    let fake = FakeTransport::new();
    let producer = producer_with(&fake, Producer::builder("pg").compress_level(42)).await;
    producer
        .send(Message::new("TopicTest", body.clone()))
        .await
        .expect("stored uncompressed");
    let sends = fake.sends();
    assert_eq!(sends[0].body.len(), body.len());
    assert_eq!(sends[0].header.as_ref().map(|h| h.sys_flag), Some(0));
    producer.shutdown().await;
}

struct Panics {
    before: bool,
}

impl SendMessageHook for Panics {
    fn name(&self) -> &str {
        "panics"
    }
    fn send_message_before(&self, _: &mut SendContext<'_>) {
        assert!(!self.before, "before hook panicked");
    }
    fn send_message_after(&self, _: &SendContext<'_>) {
        panic!("after hook panicked");
    }
}

#[tokio::test(start_paused = true)]
async fn panicking_hooks_and_callbacks_are_contained() {
    let fake = FakeTransport::new();
    let producer = producer(&fake).await;
    producer.register_send_message_hook(Panics { before: true });
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    producer
        .send_with_callback(message(), move |result: Result<SendResult, SendError>| {
            let root = result.as_ref().err().map(SendError::root);
            assert!(
                matches!(root, Some(Error::HookPanicked { hook, .. }) if hook == "panics"),
                "{result:?}"
            );
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .expect("accepted");
    producer.flush(Duration::from_secs(1)).await.expect("done");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(fake.sends().is_empty());

    // A panicking `after` hook keeps the outcome: the message was stored.
    let fake = FakeTransport::new();
    let producer = producer_with(&fake, Producer::builder("pg")).await;
    producer.register_send_message_hook(Panics { before: false });
    producer
        .send(message())
        .await
        .expect("stored, whatever the hook did");
    // A panicking callback is logged; the send still counts as finished.
    producer
        .send_with_callback(message(), |_| panic!("callback panicked"))
        .await
        .expect("accepted");
    producer.flush(Duration::from_secs(1)).await.expect("done");
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_final_refusal_after_failed_attempts_lists_every_attempt() {
    let fake = FakeTransport::new();
    fake.set(
        A,
        Behaviour::Fail(ErrorKind::ConnectionClosed, Duration::from_millis(1)),
    );
    fake.set(B, Behaviour::Code(response::MESSAGE_ILLEGAL));
    let producer = producer(&fake).await;
    // The first queue is picked at random: send until the closed broker comes first.
    for _ in 0..32 {
        match producer.send(message()).await.map_err(Error::from) {
            // The same shape either way: one attempt when the refusing broker came first.
            Err(Error::AllAttemptsFailed { attempts, .. }) if attempts.len() == 1 => {
                assert_eq!(attempts[0].response_code(), Some(response::MESSAGE_ILLEGAL));
            }
            Err(Error::AllAttemptsFailed { attempts, .. }) => {
                assert_eq!(attempts.len(), 2, "{attempts:?}");
                assert_eq!(attempts[0].broker, "broker-a");
                assert_eq!(attempts[1].response_code(), Some(response::MESSAGE_ILLEGAL));
                producer.shutdown().await;
                return;
            }
            other => panic!("{other:?}"),
        }
    }
    panic!("the closed broker never came first");
}

/// Polls `future` to its end on this thread, with no runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

#[tokio::test]
async fn an_async_send_outside_a_runtime_is_refused_not_a_panic() {
    let fake = FakeTransport::new();
    let producer = producer(&fake).await;
    let elsewhere = producer.clone();
    let outcome =
        std::thread::spawn(move || block_on(elsewhere.send_async(message()).into_future()))
            .join()
            .expect("no panic");
    let refused = outcome.expect_err("refused");
    assert!(matches!(refused.error(), Error::Config(_)), "{refused:?}");
    assert_eq!(producer.async_in_flight(), 0);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn brokers_hear_from_the_producer_on_the_heartbeat_schedule() {
    let fake = FakeTransport::new();
    let producer = producer(&fake).await;
    producer.send(message()).await.expect("stored");
    // The route named both brokers; neither was sent a heartbeat on the send's path.
    assert_eq!(fake.count(request::HEART_BEAT), 0);
    // The scheduled task's first round, one second after start, reaches both masters.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(fake.count(request::HEART_BEAT), 2);
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn queue_selector_and_batch_sends_have_async_forms() {
    let fake = FakeTransport::new();
    let producer = producer(&fake).await;
    let queue = MessageQueue::new("TopicTest", "broker-b", 1);
    let aimed = producer
        .send_to_queue(message(), queue.clone())
        .submit()
        .await
        .expect("accepted");
    let batch = producer
        .send_batch((0..2).map(|_| message()))
        .submit()
        .await
        .expect("accepted");
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let rr = SelectByRoundRobin::default();
    producer
        .send_with_selector(message(), &rr, ())
        .submit_with_callback(move |result| {
            assert!(result.is_ok(), "{result:?}");
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .await
        .expect("accepted");
    // Nobody awaits yet: they finish on their own.
    producer.flush(Duration::from_secs(1)).await.expect("done");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(aimed.await.expect("stored").queue, queue);
    assert_eq!(batch.await.expect("stored").msg_id.split(',').count(), 2);
    // A mismatched queue is refused at once, not through the future.
    let other = MessageQueue::new("OtherTopic", "broker-b", 1);
    let mismatch = producer.send_to_queue(message(), other).submit().await;
    assert!(matches!(
        mismatch.map_err(Error::from),
        Err(Error::TopicMismatch { .. })
    ));
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn classifiers_tell_a_lost_answer_from_a_request_never_sent() {
    // The connection closed after the write: the broker may have stored the message.
    let fake = FakeTransport::new();
    fake.set(
        A,
        Behaviour::Fail(ErrorKind::ConnectionClosed, Duration::from_millis(1)),
    );
    fake.set(
        B,
        Behaviour::Fail(ErrorKind::ConnectionClosed, Duration::from_millis(1)),
    );
    let producer = producer(&fake).await;
    let lost = producer.send(message()).await.expect_err("no answer");
    assert_eq!(lost.kind(), crate::ErrorKind::Connection, "{lost}");
    assert!(lost.may_have_been_stored() && lost.is_retryable(), "{lost}");
    let lost = producer
        .send_async(message())
        .await
        .expect("accepted")
        .await
        .expect_err("no answer");
    assert!(lost.may_have_been_stored(), "{lost}");
    producer.shutdown().await;

    // Every connect refused: certainly not stored.
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Fail(ErrorKind::Connect, Duration::ZERO));
    fake.set(B, Behaviour::Fail(ErrorKind::Connect, Duration::ZERO));
    let refusing = producer_with(&fake, Producer::builder("pg")).await;
    let refused = refusing.send(message()).await.expect_err("refused");
    assert!(
        !refused.may_have_been_stored() && refused.is_retryable(),
        "{refused}"
    );
    // The broker's refusal: not stored, and not to be sent again as it is.
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Code(response::MESSAGE_ILLEGAL));
    fake.set(B, Behaviour::Code(response::MESSAGE_ILLEGAL));
    let strict = producer_with(&fake, Producer::builder("pg")).await;
    let illegal = strict.send(message()).await.expect_err("refused");
    assert_eq!(illegal.kind(), crate::ErrorKind::BrokerRefused);
    assert!(
        !illegal.may_have_been_stored() && !illegal.is_retryable(),
        "{illegal}"
    );
    refusing.shutdown().await;
    strict.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn running_out_of_permits_is_one_error() {
    let fake = FakeTransport::new();
    fake.set(
        A,
        Behaviour::Fail(ErrorKind::TooManyRequests, Duration::ZERO),
    );
    fake.set(
        B,
        Behaviour::Fail(ErrorKind::TooManyRequests, Duration::ZERO),
    );
    let producer = producer(&fake).await;
    let error = producer.send(message()).await.expect_err("no permit");
    assert!(
        matches!(error.root(), Error::TooManyInFlight(_)),
        "{error:?}"
    );
    assert_eq!(error.kind(), crate::ErrorKind::Overloaded);
    // Local: one attempt, no broker blamed.
    assert_eq!(fake.sends().len(), 1);
    producer.shutdown().await;
}

/// Refuses every send.
struct RefuseAll;

impl crate::hook::CheckForbiddenHook for RefuseAll {
    fn name(&self) -> &str {
        "refuse-all"
    }
    fn check_forbidden(&self, _: &crate::hook::CheckForbiddenContext<'_>) -> Result<(), String> {
        Err("closed for maintenance".into())
    }
}

#[tokio::test(start_paused = true)]
#[allow(
    clippy::await_holding_lock,
    reason = "the point: a caller holding a lock while it sends"
)]
async fn a_callback_is_never_called_on_the_accepting_callers_stack() {
    let fake = FakeTransport::new();
    let producer = producer(&fake).await;
    // Fails inside the first attempt, which runs in the accepting call.
    producer.register_check_forbidden_hook(RefuseAll);
    let lock = Arc::new(parking_lot::Mutex::new(()));
    let (tx, rx) = tokio::sync::oneshot::channel();
    {
        let held = lock.lock();
        let lock = lock.clone();
        producer
            .send_with_callback(message(), move |result| {
                // Inline, this would find the caller's lock held (or deadlock on `lock()`).
                let free = lock.try_lock().is_some();
                let _ = tx.send((free, result));
            })
            .await
            .expect("accepted");
        drop(held);
    }
    let (free, result) = rx.await.expect("called");
    assert!(free, "the callback ran after the accepting call returned");
    let failed = result.expect_err("forbidden");
    assert_eq!(failed.kind(), crate::ErrorKind::Hook);
    assert_eq!(failed.message().body().as_ref(), b"hello");
    producer
        .flush(Duration::from_secs(1))
        .await
        .expect("counted done");
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_send_hands_its_message_back_as_it_was_built() {
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Code(response::MESSAGE_ILLEGAL));
    fake.set(B, Behaviour::Code(response::MESSAGE_ILLEGAL));
    let producer = producer_with(&fake, Producer::builder("pg").namespace("ns")).await;
    // A consumer's retry topic: its counts travel in the request header, not the properties.
    let mut msg = Message::new("%RETRY%pg", "again");
    msg.properties_mut().insert(keys::RECONSUME_TIME, "3");
    msg.properties_mut().insert(keys::MAX_RECONSUME_TIMES, "16");
    let failed = producer.send(msg).await.expect_err("refused");
    let back = failed.into_message();
    assert_eq!(
        back.topic(),
        "%RETRY%pg",
        "the namespace is not left on the topic"
    );
    assert_eq!(back.properties().get(keys::RECONSUME_TIME), Some("3"));
    assert_eq!(back.properties().get(keys::MAX_RECONSUME_TIMES), Some("16"));
    assert!(
        back.properties().get(keys::UNIQ_KEY).is_some(),
        "sent again under its id"
    );
    assert_eq!(back.properties().get(keys::INSTANCE_ID), None);
    producer.shutdown().await;
}

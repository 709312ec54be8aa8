//! What a send tells a subscriber and a metrics recorder, against the fake transport.

use std::fmt::Write as _;
use std::sync::Arc;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use parking_lot::Mutex;
use rmq_common::Message;
use rmq_remoting::code::response;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

use super::*;
use crate::Producer;
use crate::send::fake::{A, B, Behaviour, FakeTransport};
use crate::send::tests::producer_with;

/// Keeps every `rmq` event, and every span's fields when it closes, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields(String::new());
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target().starts_with("rmq") {
            let mut fields = Fields(format!(
                "{} {}:",
                event.metadata().level(),
                event.metadata().target()
            ));
            event.record(&mut fields);
            self.0.lock().push(fields.0);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(fields) = span.extensions().get::<Fields>()
        {
            self.0
                .lock()
                .push(format!("span {}:{}", span.name(), fields.0));
        }
    }
}

impl Capture {
    fn lines(&self, containing: &str) -> Vec<String> {
        self.0
            .lock()
            .iter()
            .filter(|line| line.contains(containing))
            .cloned()
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn a_retried_send_has_a_span_with_an_event_per_attempt() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Code(response::SYSTEM_BUSY));
    fake.set(B, Behaviour::Code(response::SYSTEM_BUSY));
    let producer = producer_with(&fake, Producer::builder("pg")).await;

    let failed = producer
        .send(Message::new("TopicTest", "hello"))
        .await
        .expect_err("both brokers busy");
    let msg_id = failed.message().uniq_key().expect("an id").to_owned();

    let attempts = capture.lines("attempt failed");
    assert_eq!(attempts.len(), 3, "{attempts:#?}");
    assert!(attempts.iter().all(|a| a.starts_with("DEBUG rmq::send:")));
    assert!(
        attempts
            .iter()
            .all(|a| a.contains("code=2") && a.contains("latency_us="))
    );
    assert!(attempts[0].contains("addr=127.0.0.1:"), "{}", attempts[0]);
    assert_eq!(capture.lines("retrying on another broker").len(), 2);
    let span = capture.lines("span send:");
    assert_eq!(span.len(), 1, "{span:#?}");
    for field in [
        "topic=TopicTest".to_owned(),
        "mode=SYNC".to_owned(),
        format!("msg_id={msg_id}"),
        "status=FAILED".to_owned(),
        "attempts=3".to_owned(),
    ] {
        assert!(span[0].contains(&field), "{field} in {}", span[0]);
    }

    // A send that succeeds records where it went.
    fake.set(A, Behaviour::Answer(std::time::Duration::from_millis(1)));
    fake.set(B, Behaviour::Answer(std::time::Duration::from_millis(1)));
    let sent = producer
        .send(Message::new("TopicTest", "again"))
        .await
        .expect("stored");
    let spans = capture.lines("span send:");
    let last = spans.last().expect("a second span");
    assert!(last.contains("status=SEND_OK"), "{last}");
    assert!(
        last.contains(&format!("broker={}", sent.queue.broker_name())),
        "{last}"
    );
    assert!(
        last.contains("attempts=1") && last.contains("elapsed_us="),
        "{last}"
    );
    assert_eq!(capture.lines("attempt stored").len(), 1);
    producer.shutdown().await;
}

/// A metric's name, labels and value.
type Recorded = (String, Vec<(String, String)>, DebugValue);

#[tokio::test(start_paused = true)]
async fn metrics_count_sends_failures_retries_and_bytes() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let fake = FakeTransport::new();
    fake.set(A, Behaviour::Code(response::SYSTEM_BUSY));
    fake.set(B, Behaviour::Code(response::SYSTEM_BUSY));
    let producer = producer_with(&fake, Producer::builder("pg")).await;
    producer
        .send(Message::new("TopicTest", "hello"))
        .await
        .expect_err("both brokers busy");
    fake.set(A, Behaviour::Answer(std::time::Duration::from_millis(1)));
    fake.set(B, Behaviour::Answer(std::time::Duration::from_millis(1)));
    for _ in 0..3 {
        producer
            .send(Message::new("TopicTest", "hello"))
            .await
            .expect("stored");
    }
    producer
        .send_async(Message::new("TopicTest", "hello"))
        .await
        .expect("accepted")
        .await
        .expect("stored");

    let metrics: Vec<Recorded> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (key.name().to_owned(), labels, value)
        })
        .collect();
    let find = |name: &str, label: (&str, &str)| {
        metrics
            .iter()
            .find(|(n, labels, _)| {
                n == name && labels.iter().any(|(k, v)| k == label.0 && v == label.1)
            })
            .map(|(_, labels, value)| (labels.clone(), value))
    };
    let (labels, success) =
        find(SEND_COST_TIME, ("invocation_status", "success")).expect("successes");
    assert!(
        matches!(success, DebugValue::Histogram(v) if v.len() == 4),
        "{success:?}"
    );
    assert!(labels.contains(&("topic".into(), "TopicTest".into())));
    assert!(
        labels
            .iter()
            .any(|(k, v)| k == "client_id" && !v.is_empty())
    );
    let (_, failure) = find(SEND_COST_TIME, ("invocation_status", "failure")).expect("failures");
    assert!(matches!(failure, DebugValue::Histogram(v) if v.len() == 1));
    assert_eq!(
        find(MESSAGES_SENT, ("topic", "TopicTest")).map(|(_, v)| v),
        Some(&DebugValue::Counter(4))
    );
    assert_eq!(
        find(BYTES_SENT, ("topic", "TopicTest")).map(|(_, v)| v),
        Some(&DebugValue::Counter(20))
    );
    assert_eq!(
        find(SEND_FAILURES, ("kind", "brokerrefused")).map(|(_, v)| v),
        Some(&DebugValue::Counter(1))
    );
    assert_eq!(
        find(SEND_RETRIES, ("reason", "brokerrefused")).map(|(_, v)| v),
        Some(&DebugValue::Counter(2))
    );
    assert!(matches!(
        find(ASYNC_IN_FLIGHT, ("group", "pg")).map(|(_, v)| v),
        Some(DebugValue::Gauge(g)) if g.0 == 0.0
    ));
    assert!(find(ROUTE_UPDATES, ("topic", "TopicTest")).is_some());
    producer.shutdown().await;
}

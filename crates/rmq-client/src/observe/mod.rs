//! What a producer tells operators (Java 5.x clients: `MessageMeterInterceptor`,
//! `ClientMeterManager`): a `tracing` span per send, an event per attempt, and metrics through
//! the [`metrics`] facade.
//!
//! Everything here is free when nobody listens: spans and events check their callsite's
//! interest first (one relaxed load without a subscriber), and metric handles are registered
//! once per topic and are no-ops without a recorder. Install the recorder before starting the
//! producer: handles registered before it stay no-ops.
//!
//! Targets and levels: sends and attempts are `DEBUG` on target `rmq::send`; lifecycle
//! events (start, shutdown, route changes, broker isolation, connections) are `INFO`, so a
//! subscriber at `info` is quiet while nothing changes.

mod context;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};
use parking_lot::RwLock;
use rmq_common::ByteString;
use rustc_hash::FxHashMap;
use tracing::Span;
use tracing::field::Empty;

use crate::hook::SendMode;
use crate::send::Outgoing;
use crate::{Error, SendResult};

pub use context::TraceContextInjector;
pub(crate) use context::inject;

/// Send latency, ms, by topic, client and outcome (the 5.x clients' name and labels).
pub const SEND_COST_TIME: &str = "rocketmq_send_cost_time";
/// Messages stored, by topic.
pub const MESSAGES_SENT: &str = "rmq_messages_sent_total";
/// Body bytes of the messages stored (as sent: compressed when compressed), by topic.
pub const BYTES_SENT: &str = "rmq_bytes_sent_total";
/// Sends that failed, by topic and error kind.
pub const SEND_FAILURES: &str = "rmq_send_failures_total";
/// Attempts that failed and were retried, by topic and the failure's kind.
pub const SEND_RETRIES: &str = "rmq_send_retries_total";
/// Async sends accepted and not yet complete, by group.
pub const ASYNC_IN_FLIGHT: &str = "rmq_async_sends_in_flight";
/// Route updates from the name server, by topic and whether the route changed.
pub const ROUTE_UPDATES: &str = "rmq_route_updates_total";
/// Times a broker was isolated by the fault strategy, by broker.
pub const BROKER_ISOLATIONS: &str = "rmq_broker_isolations_total";
/// Message trace records dropped because their queue was full (or after shutdown).
pub const TRACE_RECORDS_DROPPED: &str = "rmq_trace_records_dropped_total";
/// Open client connections (defined by `rmq-remoting`, which opens them).
pub const CONNECTIONS: &str = rmq_remoting::CONNECTIONS;

/// The span of one send: its topic, mode and message id, and once done its outcome.
pub(crate) fn send_span(out: &Outgoing, mode: SendMode) -> Span {
    tracing::debug_span!(
        target: "rmq::send",
        "send",
        topic = %out.user_topic,
        mode = mode.name(),
        msg_id = %out.msg_id,
        status = Empty,
        broker = Empty,
        queue_id = Empty,
        attempts = Empty,
        elapsed_us = Empty,
    )
}

/// Records a send's outcome on `span` (the send's), and in the metrics.
pub(crate) fn send_done(
    meters: &Meters,
    span: &Span,
    out: &Outgoing,
    elapsed: Duration,
    outcome: Result<Option<&SendResult>, &Error>,
) {
    let messages = out.batch_messages.len().max(1) as u64;
    if !span.is_disabled() {
        span.record("elapsed_us", elapsed.as_micros() as u64);
        match outcome {
            Ok(Some(result)) => {
                span.record("status", result.status.name());
                span.record("broker", result.queue.broker_name());
                span.record("queue_id", result.queue.queue_id());
            }
            // Oneway: written, with no answer to tell more.
            Ok(None) => {
                span.record("status", "WRITTEN");
            }
            Err(error) => {
                span.record("status", "FAILED");
                tracing::debug!(target: "rmq::send", parent: span, kind = ?error.kind(), %error, "send failed");
            }
        }
    }
    let topic = meters.topic(&out.user_topic);
    match outcome {
        Ok(_) => {
            topic
                .cost_ok
                .record_many(millis(elapsed), messages as usize);
            topic.messages.increment(messages);
            topic.bytes.increment(out.body.len() as u64);
        }
        Err(error) => {
            topic
                .cost_failed
                .record_many(millis(elapsed), messages as usize);
            rejected(&out.user_topic, error);
        }
    }
}

/// A send that failed, counted by its kind; also those refused before they were accepted
/// (an invalid message, no room in flight).
pub(crate) fn rejected(topic: &str, error: &Error) {
    metrics::counter!(SEND_FAILURES, "topic" => topic.to_owned(), "kind" => kind_label(error))
        .increment(1);
}

/// An attempt's end, as an event in the current span (the send's).
pub(crate) fn attempt_done(
    broker: &str,
    addr: &str,
    queue_id: i32,
    begin: tokio::time::Instant,
    outcome: &Result<Option<SendResult>, Error>,
) {
    // The clock is read only when someone listens.
    if !tracing::enabled!(target: "rmq::send", tracing::Level::DEBUG) {
        return;
    }
    let latency_us = begin.elapsed().as_micros() as u64;
    match outcome {
        Ok(Some(result)) => tracing::debug!(
            target: "rmq::send",
            broker, addr, queue_id, latency_us, status = result.status.name(),
            "attempt stored"
        ),
        Ok(None) => {
            tracing::debug!(target: "rmq::send", broker, addr, queue_id, latency_us, "attempt written")
        }
        Err(error) => tracing::debug!(
            target: "rmq::send",
            broker, addr, queue_id, latency_us,
            code = error.response_code(), kind = ?error.kind(), %error,
            "attempt failed"
        ),
    }
}

/// A failed attempt that the send retries on another broker.
pub(crate) fn retrying(topic: &ByteString, broker: &str, error: &Error, attempt: u32) {
    tracing::debug!(target: "rmq::send", broker, attempt, kind = ?error.kind(), %error, "retrying on another broker");
    metrics::counter!(SEND_RETRIES, "topic" => topic.to_string(), "reason" => kind_label(error))
        .increment(1);
}

fn kind_label(error: &Error) -> &'static str {
    use crate::ErrorKind::*;
    match error.kind() {
        Config => "config",
        NotRunning => "notrunning",
        Invalid => "invalid",
        Hook => "hook",
        NameServer => "nameserver",
        NoRoute => "noroute",
        BrokerRefused => "brokerrefused",
        Permission => "permission",
        Timeout => "timeout",
        Connection => "connection",
        Overloaded => "overloaded",
        Protocol => "protocol",
        Shutdown => "shutdown",
        _ => "internal",
    }
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1000.0
}

/// One producer's metric handles: registered once per topic, so a send costs no lookup in the
/// recorder, and no allocation.
#[derive(Debug, Default)]
pub(crate) struct Meters {
    client_id: OnceLock<String>,
    in_flight: OnceLock<Gauge>,
    topics: RwLock<FxHashMap<ByteString, Arc<TopicMeters>>>,
}

/// The handles of one topic.
#[derive(Debug)]
pub(crate) struct TopicMeters {
    cost_ok: Histogram,
    cost_failed: Histogram,
    messages: Counter,
    bytes: Counter,
}

impl Meters {
    /// Sets the labels of the producer's own metrics (at start).
    pub(crate) fn start(&self, client_id: &str, group: &str) {
        let _ = self.client_id.set(client_id.to_owned());
        let _ = self.in_flight.set(metrics::gauge!(
            ASYNC_IN_FLIGHT,
            "group" => group.to_owned(),
            "client_id" => client_id.to_owned()
        ));
    }

    /// An async send accepted (`1.0`) or complete (`-1.0`).
    pub(crate) fn async_in_flight(&self, change: f64) {
        if let Some(gauge) = self.in_flight.get() {
            gauge.increment(change);
        }
    }

    fn topic(&self, topic: &ByteString) -> Arc<TopicMeters> {
        if let Some(found) = self.topics.read().get(topic) {
            return found.clone();
        }
        let client = self.client_id.get().cloned().unwrap_or_default();
        let labels = |status: &'static str| {
            [
                ("topic", topic.to_string()),
                ("client_id", client.clone()),
                ("invocation_status", status.to_owned()),
            ]
        };
        let by_topic = [("topic", topic.to_string()), ("client_id", client.clone())];
        let meters = Arc::new(TopicMeters {
            cost_ok: metrics::histogram!(SEND_COST_TIME, &labels("success")),
            cost_failed: metrics::histogram!(SEND_COST_TIME, &labels("failure")),
            messages: metrics::counter!(MESSAGES_SENT, &by_topic),
            bytes: metrics::counter!(BYTES_SENT, &by_topic),
        });
        self.topics
            .write()
            .entry(topic.clone())
            .or_insert(meters)
            .clone()
    }
}

#[cfg(test)]
mod tests;

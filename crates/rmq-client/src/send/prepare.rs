//! A message made ready for the wire once, and reused by every attempt (Java: the first half
//! of `sendKernelImpl`, `Validators.checkMessage`, `MessageClientIDSetter.setUniqID`,
//! `tryToCompressMessage`, `DefaultMQProducer.batch`).

use std::time::Duration;

use bytes::Bytes;
use rmq_common::namespace::RETRY_PREFIX;
use rmq_common::properties::keys;
use rmq_common::{ByteString, CompressionType, Message, MessageBatch, sysflag, validators};
use rmq_remoting::deadline::deadline_from;
use tokio::time::Instant;

use super::payload::{Failure, Unsent};
use crate::Error;
use crate::producer::ProducerInner;

/// Bodies at least this large are compressed on the blocking pool, so a large body does not
/// stall the runtime thread that other sends share (zlib runs at roughly 50–100 MB/s).
const BLOCKING_COMPRESSION: usize = 256 * 1024;

/// A message made ready for the wire once, and reused by every attempt.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// Namespaced topic, `UNIQ_KEY` and `INSTANCE_ID` set; for a batch, the batch's own
    /// properties and the encoded batch body. Hooks and selectors see this message.
    pub(crate) message: Message,
    /// The body as it goes on the wire: compressed once here when large enough.
    pub(crate) body: Bytes,
    /// The `sysFlag` of every attempt: compression and transaction bits.
    pub(crate) sys_flag: i32,
    /// The topic as the caller named it.
    pub(crate) user_topic: ByteString,
    pub(crate) batch: bool,
    /// The id the caller sees: the `UNIQ_KEY`, or a batch's keys joined by `,`.
    pub(crate) msg_id: ByteString,
    /// The property string, encoded once.
    pub(crate) properties: ByteString,
    pub(crate) reconsume_times: i32,
    pub(crate) max_reconsume_times: Option<i32>,
    /// A batch's messages, kept to be handed back if the send fails.
    pub(crate) batch_messages: Vec<Message>,
}

impl Outgoing {
    /// What the send carried, as its caller built it (the topic without namespace), with
    /// the `UNIQ_KEY` it was sent under.
    pub(crate) fn into_unsent(mut self, inner: &ProducerInner) -> Unsent {
        self.take_unsent(inner)
    }

    /// [`into_unsent`](Self::into_unsent) for a send that cannot give itself up whole.
    pub(crate) fn take_unsent(&mut self, inner: &ProducerInner) -> Unsent {
        if self.batch {
            let messages = std::mem::take(&mut self.batch_messages);
            return Unsent::Batch(messages.into_iter().map(|m| inner.restore(m)).collect());
        }
        let placeholder = Message::new(ByteString::new(), Bytes::new());
        let mut message = inner.restore(std::mem::replace(&mut self.message, placeholder));
        // A retry topic's counts went into the request header: back into the properties, so
        // a resend keeps them.
        if message.topic().starts_with(RETRY_PREFIX) {
            let props = message.properties_mut();
            props.insert(keys::RECONSUME_TIME, self.reconsume_times.to_string());
            if let Some(max) = self.max_reconsume_times {
                props.insert(keys::MAX_RECONSUME_TIMES, max.to_string());
            }
        }
        Unsent::One(message)
    }
}

impl ProducerInner {
    /// When a send starts, and its deadline: `timeout`, or the producer's send timeout.
    pub(crate) fn send_window(&self, timeout: Option<Duration>) -> (Instant, Instant) {
        let started = Instant::now();
        let timeout = timeout.unwrap_or(self.config.send_timeout);
        (started, deadline_from(started, timeout))
    }

    /// Validates `msg` and makes it ready to send (Java: `checkMessage`, `setUniqID`, the
    /// namespace and `%RETRY%` handling of `sendKernelImpl`, `tryToCompressMessage`).
    ///
    /// As in Java 5.x, the topic is validated with the namespace applied, since that is the
    /// name the broker checks.
    pub(crate) async fn prepare(&self, mut message: Message) -> Result<Outgoing, Failure> {
        if let Some(injector) = self.trace_context.get() {
            crate::observe::inject(&**injector, &mut message);
        }
        // Results name the topic without namespace even if the caller wrote it with one.
        let given = message.topic_shared().clone();
        let user_topic = self.unwrap_topic(&given);
        message.set_topic(self.wrap(&user_topic));
        if let Err(e) = validators::check_message(&message, self.config.max_message_size) {
            message.set_topic(given);
            return Err(Failure {
                error: e.into(),
                unsent: Unsent::One(message),
            });
        }
        let msg_id = self.ensure_uniq_key(&mut message);
        let (body, compressed) = self.compress(message.body()).await;
        Ok(self.finish(message, body, compressed, user_topic, msg_id, Vec::new()))
    }

    /// Validates and encodes a batch (Java: `DefaultMQProducer.batch`): every message is
    /// checked, and the encoded body must fit `max_message_size`.
    ///
    /// Java 5.3.3 also gives the batch a `UNIQ_KEY` of its own, in the request's properties.
    /// rmq does not: the rocketmq-rust 1.0.0 broker copies the batch's properties onto every
    /// message it stores, so each message would be stored under the batch's key, and the ids
    /// the producer reports (its messages' keys) would match no stored message (seen in
    /// `cargo xtask e2e`). Without it every broker stores each message under its own key.
    #[allow(
        clippy::result_large_err,
        reason = "handed straight up to the caller, who gets the batch back"
    )]
    pub(crate) fn prepare_batch(&self, mut messages: Vec<Message>) -> Result<Outgoing, Failure> {
        let fail = |error: Error, messages: Vec<Message>| Failure {
            error,
            unsent: Unsent::Batch(messages.into_iter().map(|m| self.restore(m)).collect()),
        };
        let mut ids = Vec::with_capacity(messages.len());
        for message in &mut messages {
            let topic = self.wrap(message.topic_shared());
            message.set_topic(topic);
            if let Some(injector) = self.trace_context.get() {
                crate::observe::inject(&**injector, message);
            }
        }
        for message in &mut messages {
            if let Err(e) = validators::check_message(message, self.config.max_message_size) {
                return Err(fail(e.into(), messages));
            }
            ids.push(self.ensure_uniq_key(message));
        }
        if let Err(e) = MessageBatch::check(&messages) {
            return Err(fail(e.into(), messages));
        }
        let batch = match MessageBatch::new(messages) {
            Ok(batch) => batch,
            // Checked just above.
            Err(e) => return Err(fail(e.into(), Vec::new())),
        };
        let body = batch
            .encode_body(self.config.property_style)
            .map_err(Error::from)
            .and_then(|body| {
                validators::check_body_size(body.len(), self.config.max_message_size)?;
                Ok(body)
            });
        let body = match body {
            Ok(body) => body,
            Err(e) => return Err(fail(e, batch.into_messages())),
        };
        let mut message = Message::new(batch.topic(), body.clone());
        let user_topic = self.unwrap_topic(message.topic_shared());
        *message.properties_mut() = batch.properties().clone();
        let msg_id = ids.join(",").into();
        Ok(self.finish(message, body, 0, user_topic, msg_id, batch.into_messages()))
    }

    /// A message as its caller built it: the topic without namespace, and without the
    /// `INSTANCE_ID` the namespace added (its `UNIQ_KEY` stays).
    fn restore(&self, mut message: Message) -> Message {
        let topic = self.unwrap_topic(message.topic_shared());
        message.set_topic(topic);
        if self.config.namespace.is_some() {
            message.properties_mut().remove(keys::INSTANCE_ID);
        }
        message
    }

    fn ensure_uniq_key(&self, message: &mut Message) -> ByteString {
        if let Some(id) = message.properties().get_shared(keys::UNIQ_KEY) {
            return id.clone();
        }
        let id = ByteString::from(self.ids.next_id());
        message
            .properties_mut()
            .insert_static(keys::UNIQ_KEY, id.clone());
        id
    }

    /// The body to send and its compression `sysFlag` bits, compressed once per send (Java:
    /// `tryToCompressMessage`). A failure sends the body as it is, as Java does: the broker
    /// and consumers take an uncompressed body whatever the producer's settings.
    async fn compress(&self, body: &Bytes) -> (Bytes, i32) {
        let (kind, level) = (self.config.compress_type, self.config.compress_level);
        if body.len() < self.config.compress_threshold {
            return (body.clone(), 0);
        }
        let packed = if body.len() >= BLOCKING_COMPRESSION {
            let raw = body.clone();
            tokio::task::spawn_blocking(move || kind.compress(&raw, level))
                .await
                .unwrap_or_else(|e| {
                    Err(rmq_common::CompressionError::Compress {
                        kind,
                        source: std::io::Error::other(e.to_string()),
                    })
                })
        } else {
            kind.compress(body, level)
        };
        match packed {
            Ok(packed) => (Bytes::from(packed), compression_bits(kind)),
            Err(e) => {
                tracing::warn!(error = %e, size = body.len(), "compression failed; sending the body uncompressed");
                (body.clone(), 0)
            }
        }
    }

    /// The rest of making a message ready; `batch_messages` is empty unless it is a batch.
    pub(super) fn finish(
        &self,
        mut message: Message,
        body: Bytes,
        compression: i32,
        user_topic: ByteString,
        msg_id: ByteString,
        batch_messages: Vec<Message>,
    ) -> Outgoing {
        if let Some(namespace) = self.config.namespace.as_deref() {
            message
                .properties_mut()
                .insert_static(keys::INSTANCE_ID, namespace);
        }
        // Retry topics carry these in the header, not in the properties.
        let (mut reconsume_times, mut max_reconsume_times) = (0, None);
        if message.topic().starts_with(RETRY_PREFIX) {
            if let Some(v) = message.properties_mut().remove(keys::RECONSUME_TIME) {
                reconsume_times = v.parse().unwrap_or(0);
            }
            max_reconsume_times = message
                .properties_mut()
                .remove(keys::MAX_RECONSUME_TIMES)
                .and_then(|v| v.parse().ok());
        }
        let mut sys_flag = compression;
        if message.properties().get(keys::TRAN_MSG) == Some("true") {
            sys_flag |= sysflag::TRANSACTION_PREPARED_TYPE;
        }
        let properties = ByteString::from(message.properties().encode(self.config.property_style));
        Outgoing {
            message,
            body,
            sys_flag,
            user_topic,
            batch: !batch_messages.is_empty(),
            msg_id,
            properties,
            reconsume_times,
            max_reconsume_times,
            batch_messages,
        }
    }
}

fn compression_bits(kind: CompressionType) -> i32 {
    sysflag::COMPRESSED_FLAG | kind.compression_flag()
}

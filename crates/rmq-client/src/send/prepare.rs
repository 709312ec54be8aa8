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

use crate::Result;
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
    pub(crate) async fn prepare(&self, mut message: Message) -> Result<Outgoing> {
        // Results name the topic without namespace even if the caller wrote it with one.
        let user_topic = self.unwrap_topic(message.topic_shared());
        message.set_topic(self.wrap(&user_topic));
        validators::check_message(&message, self.config.max_message_size)?;
        let msg_id = self.ensure_uniq_key(&mut message);
        let (body, compressed) = self.compress(message.body()).await;
        self.finish(message, body, compressed, user_topic, false, msg_id)
    }

    /// Validates and encodes a batch (Java: `DefaultMQProducer.batch`): every message is
    /// checked, and the encoded body must fit `max_message_size`.
    ///
    /// Java 5.3.3 also gives the batch a `UNIQ_KEY` of its own, in the request's properties.
    /// rmq does not: the rocketmq-rust 1.0.0 broker copies the batch's properties onto every
    /// message it stores, so each message would be stored under the batch's key, and the ids
    /// the producer reports (its messages' keys) would match no stored message (seen in
    /// `cargo xtask e2e`). Without it every broker stores each message under its own key.
    pub(crate) fn prepare_batch(&self, messages: Vec<Message>) -> Result<Outgoing> {
        let mut ids = Vec::with_capacity(messages.len());
        let mut wire = Vec::with_capacity(messages.len());
        for mut message in messages {
            let topic = self.wrap(message.topic_shared());
            message.set_topic(topic);
            validators::check_message(&message, self.config.max_message_size)?;
            ids.push(self.ensure_uniq_key(&mut message));
            wire.push(message);
        }
        let batch = MessageBatch::new(wire)?;
        let body = batch.encode_body(self.config.property_style)?;
        validators::check_body_size(body.len(), self.config.max_message_size)?;
        let mut message = Message::new(batch.topic(), body.clone());
        let user_topic = self.unwrap_topic(message.topic_shared());
        *message.properties_mut() = batch.properties().clone();
        self.finish(message, body, 0, user_topic, true, ids.join(",").into())
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

    fn finish(
        &self,
        mut message: Message,
        body: Bytes,
        compression: i32,
        user_topic: ByteString,
        batch: bool,
        msg_id: ByteString,
    ) -> Result<Outgoing> {
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
        Ok(Outgoing {
            message,
            body,
            sys_flag,
            user_topic,
            batch,
            msg_id,
            properties,
            reconsume_times,
            max_reconsume_times,
        })
    }
}

fn compression_bits(kind: CompressionType) -> i32 {
    sysflag::COMPRESSED_FLAG | kind.compression_flag()
}

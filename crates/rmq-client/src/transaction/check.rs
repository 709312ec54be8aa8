//! Broker checks of undecided transactions (Java: `ClientRemotingProcessor.checkTransactionState`,
//! `DefaultMQProducerImpl.checkTransactionState`, the `checkExecutor` of
//! `TransactionMQProducer`; protocol.md §12.3).
//!
//! A check arrives oneway on a broker connection and is answered with a oneway END_TRANSACTION
//! to the same broker. Checks run on a bounded executor: at most `check_concurrency` listener
//! calls at once, at most `check_backlog` checks waiting; a check beyond that is dropped with a
//! warning and counted. Nothing is lost by dropping one: the broker keeps the half message and
//! asks again at its next check interval.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use parking_lot::Mutex;
use rmq_common::properties::keys;
use rmq_common::stored::{StoredMessage, decode_stored_message};
use rmq_common::{ByteString, Message};
use rmq_remoting::RemotingCommand;
use rmq_remoting::header::CheckTransactionStateRequestHeader;

use super::end;
use super::listener::{CheckListener, guarded};
use crate::instance::ClientInstance;
use crate::producer::ProducerInner;
use crate::send::panic_message;

/// Java: the answer to a check is sent with a 3 s timeout.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// The bodies of waiting checks, at most: with `check_backlog` checks of up to a frame each,
/// a count alone would let a flood of checks pin gigabytes.
const BACKLOG_BYTES: usize = 64 * 1024 * 1024;

/// A half message a broker asks about, as the listener's
/// [`check`](crate::TransactionListener::check) sees it (Java: the `MessageExt` passed to
/// `checkLocalTransaction`).
///
/// ```
/// # fn demo(check: &rmq_client::TransactionCheck) {
/// println!(
///     "{} asks about {:?} (topic {}, offset id {})",
///     check.broker_addr,
///     check.message.transaction_id(),
///     check.message.topic(),
///     check.offset_msg_id,
/// );
/// # }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TransactionCheck {
    /// The half message: its real topic (without namespace), body (decompressed), properties,
    /// and transaction id (its `UNIQ_KEY`).
    pub message: Message,
    /// The broker's id of the half message (store host + commit-log offset).
    pub offset_msg_id: String,
    /// The half message's queue offset.
    pub queue_offset: i64,
    /// The half message's commit-log offset.
    pub commit_log_offset: i64,
    /// When the producer sent it (ms since the epoch).
    pub born_timestamp: i64,
    /// When the broker stored it (ms since the epoch).
    pub store_timestamp: i64,
    /// The broker that asks (`ip:port`).
    pub broker_addr: String,
}

/// How many checks a producer received, answered and dropped.
///
/// ```
/// # fn demo(producer: &rmq_client::TransactionProducer<impl rmq_client::TransactionListener>) {
/// let stats = producer.check_stats();
/// assert!(stats.answered + stats.dropped <= stats.received);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckStats {
    /// Checks that reached this producer.
    pub received: u64,
    /// Checks answered with END_TRANSACTION (including `Unknown` answers).
    pub answered: u64,
    /// Checks dropped because the executor's backlog was full (by count or bytes), or
    /// because their message could not be read.
    pub dropped: u64,
}

/// One check, as it arrived.
struct CheckRequest {
    broker_addr: ByteString,
    header: CheckTransactionStateRequestHeader,
    stored: StoredMessage,
}

/// The check executor of one transaction producer.
pub(crate) struct Checks {
    producer: Weak<ProducerInner>,
    listener: Arc<dyn CheckListener>,
    concurrency: usize,
    backlog: usize,
    listener_timeout: Duration,
    queue: Mutex<Queue>,
    received: AtomicU64,
    answered: AtomicU64,
    dropped: AtomicU64,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<CheckRequest>,
    /// The body bytes of `waiting`.
    waiting_bytes: usize,
    running: usize,
}

impl std::fmt::Debug for Checks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checks")
            .field("concurrency", &self.concurrency)
            .field("backlog", &self.backlog)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Checks {
    pub(crate) fn new(
        producer: Weak<ProducerInner>,
        listener: Arc<dyn CheckListener>,
        concurrency: usize,
        backlog: usize,
        listener_timeout: Duration,
    ) -> Self {
        Checks {
            producer,
            listener,
            concurrency: concurrency.max(1),
            backlog,
            listener_timeout,
            queue: Mutex::default(),
            received: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> CheckStats {
        CheckStats {
            received: self.received.load(Ordering::Relaxed),
            answered: self.answered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    /// Runs `check` now if a slot is free, queues it if the backlog has room, else drops it.
    fn submit(self: &Arc<Self>, check: CheckRequest) {
        let mut queue = self.queue.lock();
        let bytes = check.stored.body.len();
        if queue.running < self.concurrency {
            queue.running += 1;
            drop(queue);
            tokio::spawn(self.clone().work(check));
        } else if queue.waiting.len() < self.backlog
            && queue.waiting_bytes.saturating_add(bytes) <= BACKLOG_BYTES
        {
            queue.waiting_bytes += bytes;
            queue.waiting.push_back(check);
        } else {
            drop(queue);
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // A flood drops thousands a round: the first and then every thousandth are enough.
            if dropped == 1 || dropped.is_multiple_of(1000) {
                tracing::warn!(
                    broker = %check.broker_addr,
                    dropped,
                    backlog = self.backlog,
                    "transaction checks dropped: the check backlog is full; the broker will ask again"
                );
            }
        }
    }

    /// Answers `check`, then whatever waits, until the backlog is empty. A panic in answering
    /// one (the listener's are caught already; this is anything else) costs that check only,
    /// never the slot.
    async fn work(self: Arc<Self>, mut check: CheckRequest) {
        loop {
            if let Err(panic) = AssertUnwindSafe(self.answer(check)).catch_unwind().await {
                tracing::error!(
                    panic = %panic_message(panic.as_ref()),
                    "answering a transaction check panicked"
                );
            }
            let mut queue = self.queue.lock();
            match queue.waiting.pop_front() {
                Some(next) => {
                    queue.waiting_bytes -= next.stored.body.len();
                    check = next;
                }
                None => {
                    queue.running -= 1;
                    return;
                }
            }
        }
    }

    async fn answer(&self, request: CheckRequest) {
        let Some(producer) = self.producer.upgrade() else {
            tracing::debug!("transaction check after the producer was dropped: not answered");
            return;
        };
        let CheckRequest {
            broker_addr,
            header,
            stored,
        } = request;
        let check = match TransactionCheck::new(stored, &producer, &broker_addr) {
            Ok(check) => check,
            Err(reason) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(broker = %broker_addr, %reason, "transaction check with an unreadable message dropped");
                return;
            }
        };
        let listener = &*self.listener;
        let (state, remark) = match guarded(|| listener.check(&check), self.listener_timeout).await
        {
            Ok(state) => (state, None),
            Err(reason) => {
                tracing::warn!(
                    transaction_id = ?check.message.transaction_id(),
                    %reason,
                    "transaction check listener failed; answering UNKNOW"
                );
                let remark = format!("checkLocalTransactionState Exception: {reason}");
                (super::LocalTransactionState::Unknown, Some(remark))
            }
        };
        let msg_id = check
            .message
            .uniq_key()
            .unwrap_or(&check.offset_msg_id)
            .to_owned();
        let end = end::after_check(&producer.group, &header, &msg_id, state);
        let Ok(instance) = producer.attached_instance() else {
            tracing::debug!(broker = %broker_addr, %msg_id, "transaction check during shutdown: not answered");
            return;
        };
        match instance
            .end_transaction(&broker_addr, end, remark, ANSWER_TIMEOUT)
            .await
        {
            Ok(()) => {
                self.answered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(broker = %broker_addr, %msg_id, %state, "transaction check answered");
            }
            Err(error) => {
                tracing::warn!(broker = %broker_addr, %msg_id, %error, "answering a transaction check failed")
            }
        }
    }
}

impl TransactionCheck {
    fn new(
        stored: StoredMessage,
        producer: &ProducerInner,
        broker_addr: &str,
    ) -> Result<Self, String> {
        let body = stored
            .uncompressed_body(producer.config.max_message_size.max(DECOMPRESS_FLOOR))
            .map_err(|e| e.to_string())?;
        let topic = producer.unwrap_topic(&ByteString::from(stored.topic.as_str()));
        let check = TransactionCheck {
            message: Message::new(ByteString::new(), Bytes::new()),
            offset_msg_id: stored.offset_msg_id().encode(),
            queue_offset: stored.queue_offset,
            commit_log_offset: stored.commit_log_offset,
            born_timestamp: stored.born_timestamp,
            store_timestamp: stored.store_timestamp,
            broker_addr: broker_addr.to_owned(),
        };
        let mut message = stored.into_message();
        message.set_topic(topic);
        message.set_body(body);
        if let Some(id) = message.uniq_key().filter(|id| !id.is_empty()) {
            let id = id.to_owned();
            message.set_transaction_id(id);
        }
        Ok(TransactionCheck { message, ..check })
    }
}

/// The least a checked body may inflate to, whatever the producer's `max_message_size`: a
/// producer restarted with a smaller limit must still read back what it sent before.
const DECOMPRESS_FLOOR: usize = 4 * 1024 * 1024;

/// Takes a CHECK_TRANSACTION_STATE from `broker_addr` to the producer of its group (Java:
/// `ClientRemotingProcessor.checkTransactionState`). Nothing is answered to the check itself.
pub(crate) fn receive(
    instance: &ClientInstance,
    broker_addr: &ByteString,
    request: &RemotingCommand,
) {
    let header = match request.decode_header::<CheckTransactionStateRequestHeader>() {
        Ok(header) => header,
        Err(error) => {
            tracing::warn!(broker = %broker_addr, %error, "malformed transaction check ignored");
            return;
        }
    };
    let stored = match decode_stored_message(request.body()) {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(broker = %broker_addr, %error, "transaction check with a malformed message ignored");
            return;
        }
    };
    let Some(group) = stored.properties.get(keys::PGROUP) else {
        tracing::warn!(broker = %broker_addr, "transaction check without a producer group ignored");
        return;
    };
    let Some(producer) = instance.producer(group) else {
        tracing::debug!(broker = %broker_addr, group, "transaction check for a group not here");
        return;
    };
    let Some(checks) = producer.checks.get() else {
        tracing::warn!(broker = %broker_addr, group, "transaction check for a producer that is not transactional");
        return;
    };
    checks.received.fetch_add(1, Ordering::Relaxed);
    checks.submit(CheckRequest {
        broker_addr: broker_addr.clone(),
        header,
        stored,
    });
}

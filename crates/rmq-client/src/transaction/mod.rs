//! Transactional messages (Java: `TransactionMQProducer`,
//! `DefaultMQProducerImpl.sendMessageInTransaction`, `endTransaction`, `checkTransactionState`;
//! protocol.md §12).
//!
//! A transaction producer sends a half message, which the broker stores but does not deliver;
//! runs the local transaction; and tells the broker to commit or roll the half message back
//! (END_TRANSACTION, oneway). A broker that hears nothing asks the producer group later
//! (CHECK_TRANSACTION_STATE), and the listener's `check` answers.

mod check;
mod end;
mod listener;

use std::fmt;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use rmq_common::Message;
use rmq_common::properties::keys;

pub use check::{CheckStats, TransactionCheck};
pub(crate) use check::{Checks, receive};
pub use listener::{LocalTransactionState, TransactionListener};

use crate::transport::BoxFuture;
use crate::{Error, Producer, Result, SendError, SendResult, SendStatus};

/// A producer of transactional messages (Java: `TransactionMQProducer`). Build one with
/// [`ProducerBuilder::build_transactional`](crate::ProducerBuilder::build_transactional); it is
/// a [`Producer`] too ([`producer`](Self::producer)), so it sends plain messages as well.
/// Cheap to clone; clones share everything.
///
/// ```no_run
/// use rmq_client::{LocalTransactionState, Producer, TransactionCheck, TransactionListener};
/// use rmq_common::Message;
///
/// struct Transfers;
/// impl TransactionListener for Transfers {
///     type Arg = ();
///     async fn execute(&self, _msg: &Message, _: ()) -> LocalTransactionState {
///         LocalTransactionState::Commit
///     }
///     async fn check(&self, _check: &TransactionCheck) -> LocalTransactionState {
///         LocalTransactionState::Commit
///     }
/// }
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::builder("transfer_producer")
///     .name_server("127.0.0.1:9876")
///     .build_transactional(Transfers)?;
/// producer.start().await?;
/// let sent = producer.send_in_transaction(Message::new("Transfers", "42 EUR"), ()).await?;
/// println!("{} → {}", sent.send_result.msg_id, sent.local_state);
/// producer.shutdown().await;
/// # Ok(()) }
/// ```
pub struct TransactionProducer<L: TransactionListener> {
    producer: Producer,
    listener: Arc<L>,
    checks: Arc<Checks>,
}

impl<L: TransactionListener> Clone for TransactionProducer<L> {
    fn clone(&self) -> Self {
        TransactionProducer {
            producer: self.producer.clone(),
            listener: self.listener.clone(),
            checks: self.checks.clone(),
        }
    }
}

impl<L: TransactionListener> fmt::Debug for TransactionProducer<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionProducer")
            .field("producer", &self.producer)
            .field("checks", &self.checks)
            .finish_non_exhaustive()
    }
}

/// The outcome of [`TransactionProducer::send_in_transaction`] (Java:
/// `TransactionSendResult`): how the half message was stored, and what the local transaction
/// decided.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionSendResult {
    /// The half message's send result.
    pub send_result: SendResult,
    /// What the transaction was ended with.
    pub local_state: LocalTransactionState,
}

impl fmt::Display for TransactionSendResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, localTransactionState={}",
            self.send_result, self.local_state
        )
    }
}

impl<L: TransactionListener> TransactionProducer<L> {
    pub(crate) fn new(producer: Producer, listener: L) -> Self {
        let listener = Arc::new(listener);
        let config = producer.config();
        let checks = Arc::new(Checks::new(
            Arc::downgrade(&producer.inner),
            listener.clone(),
            config.check_concurrency,
            config.check_backlog,
            config.transaction_listener_timeout,
        ));
        // A fresh producer: nothing else has set it.
        let _ = producer.inner.checks.set(checks.clone());
        TransactionProducer {
            producer,
            listener,
            checks,
        }
    }

    /// The producer underneath, for plain sends and everything else a [`Producer`] does.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// The listener.
    pub fn listener(&self) -> &L {
        &self.listener
    }

    /// Starts the producer (see [`Producer::start`]); from then on brokers can check back.
    pub async fn start(&self) -> Result<()> {
        self.producer.start().await
    }

    /// Stops the producer (see [`Producer::shutdown`]).
    pub async fn shutdown(&self) {
        self.producer.shutdown().await;
    }

    /// How many broker checks arrived, were answered and were dropped.
    pub fn check_stats(&self) -> CheckStats {
        self.checks.stats()
    }

    /// Sends `msg` as a half message, runs the listener's
    /// [`execute`](TransactionListener::execute) with `arg`, and ends the transaction with
    /// what it decided (Java: `sendMessageInTransaction`).
    ///
    /// The half message is sent like a sync [`send`](Producer::send), with retries; its delay
    /// level is cleared (a half message cannot be delayed). The local transaction runs only
    /// if the broker stored it with `SEND_OK`; a store with a weaker status (flush or slave
    /// timeout) is rolled back. The END_TRANSACTION that follows is oneway: if it is lost, the
    /// broker checks back. A failed send hands the message back without the transaction
    /// properties.
    ///
    /// Dropping the returned future after the half message is stored stops the local
    /// transaction where it is, and no END_TRANSACTION is sent: the broker's check decides,
    /// as it does when a producer crashes. So does the listener timeout, which stops `execute`
    /// where it is.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::TransactionProducer<impl rmq_client::TransactionListener<Arg = ()>>) -> rmq_client::Result<()> {
    /// use std::time::Duration;
    /// use rmq_client::LocalTransactionState;
    /// use rmq_common::Message;
    ///
    /// let sent = producer
    ///     .send_in_transaction(Message::new("Transfers", "42 EUR"), ())
    ///     .timeout(Duration::from_secs(5))
    ///     .await?;
    /// if sent.local_state == LocalTransactionState::Unknown {
    ///     println!("{} waits for the broker's check", sent.send_result.msg_id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send_in_transaction(&self, msg: Message, arg: L::Arg) -> TransactionRequest<'_, L> {
        TransactionRequest {
            producer: self,
            msg,
            arg,
            timeout: None,
        }
    }

    /// Ends the transaction of `sent` (Java: `endTransaction`).
    async fn end(
        &self,
        sent: &SendResult,
        message: &Message,
        state: LocalTransactionState,
        remark: Option<String>,
    ) -> Result<()> {
        let inner = &self.producer.inner;
        let wire_topic = inner.wrap(&inner.unwrap_topic(message.topic_shared()));
        let header = end::after_send(&inner.group, sent, &wire_topic, state)?;
        let instance = inner.attached_instance()?;
        let broker = sent.queue.broker_name();
        let addr = instance
            .master_addr(broker)
            .ok_or_else(|| Error::BrokerNotFound {
                broker: broker.to_owned(),
            })?;
        instance
            .end_transaction(&addr, header, remark, inner.config.send_timeout)
            .await
    }
}

/// A transactional send, ready to be awaited (see
/// [`TransactionProducer::send_in_transaction`]).
#[must_use = "a send does nothing until it is awaited"]
pub struct TransactionRequest<'a, L: TransactionListener> {
    producer: &'a TransactionProducer<L>,
    msg: Message,
    arg: L::Arg,
    timeout: Option<Duration>,
}

impl<L: TransactionListener> fmt::Debug for TransactionRequest<'_, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionRequest")
            .field("topic", &self.msg.topic())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<L: TransactionListener> TransactionRequest<'_, L> {
    /// Overrides the producer's send timeout for the half message.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl<'a, L: TransactionListener> IntoFuture for TransactionRequest<'a, L> {
    type Output = std::result::Result<TransactionSendResult, SendError<Message>>;
    type IntoFuture = BoxFuture<'a, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

impl<L: TransactionListener> TransactionRequest<'_, L> {
    async fn run(self) -> std::result::Result<TransactionSendResult, SendError<Message>> {
        let TransactionRequest {
            producer,
            mut msg,
            arg,
            timeout,
        } = self;
        let inner = &producer.producer.inner;
        msg.clear_property(keys::DELAY);
        let props = msg.properties_mut();
        props.insert_static(keys::TRAN_MSG, "true");
        props.insert_static(keys::PGROUP, inner.group.clone());
        if msg.uniq_key().is_none() {
            let id = inner.ids.next_id();
            msg.properties_mut().insert_static(keys::UNIQ_KEY, id);
        }
        // The listener sees the message as sent; the send consumes its own copy.
        let mut local = msg.clone();
        let mut send = producer.producer.send(msg);
        if let Some(timeout) = timeout {
            send = send.timeout(timeout);
        }
        let sent = match send.await {
            Ok(sent) => sent,
            Err(failed) => {
                let (error, mut message) = failed.into_parts();
                message.clear_property(keys::TRAN_MSG);
                message.clear_property(keys::PGROUP);
                return Err(SendError::new(error, message));
            }
        };
        let (state, remark) = if sent.status == SendStatus::SendOk {
            if let Some(id) = &sent.transaction_id {
                local
                    .properties_mut()
                    .insert_static("__transactionId__", id.clone());
            }
            if let Some(id) = local.uniq_key().map(str::to_owned) {
                local.set_transaction_id(id);
            }
            let listener = &*producer.listener;
            let limit = inner.config.transaction_listener_timeout;
            match listener::guarded(|| listener.execute(&local, arg), limit).await {
                Ok(state) => (state, None),
                Err(reason) => {
                    tracing::warn!(
                        msg_id = %sent.msg_id,
                        %reason,
                        "local transaction failed; ending it UNKNOW, the broker will check back"
                    );
                    let remark = format!("executeLocalTransactionBranch exception: {reason}");
                    (LocalTransactionState::Unknown, Some(remark))
                }
            }
        } else {
            (LocalTransactionState::Rollback, None)
        };
        if let Err(error) = producer.end(&sent, &local, state, remark).await {
            tracing::warn!(
                msg_id = %sent.msg_id,
                %state,
                %error,
                "ending the transaction failed; the broker will check back"
            );
        }
        Ok(TransactionSendResult {
            send_result: sent,
            local_state: state,
        })
    }
}

#[cfg(test)]
mod tests;

//! What the application tells a transaction producer (Java: `TransactionListener`,
//! `LocalTransactionState`), and the guard that keeps a misbehaving listener from hurting the
//! producer.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use rmq_common::{Message, sysflag};
use rmq_remoting::deadline::deadline_after;

use super::TransactionCheck;
use crate::send::panic_message;
use crate::transport::BoxFuture;

/// The outcome of a local transaction (Java: `LocalTransactionState`).
///
/// ```
/// use rmq_client::LocalTransactionState;
/// assert_eq!(LocalTransactionState::Commit.to_string(), "COMMIT_MESSAGE");
/// assert_eq!(LocalTransactionState::Unknown.to_string(), "UNKNOW");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LocalTransactionState {
    /// Deliver the half message (END_TRANSACTION 8).
    Commit,
    /// Discard it (END_TRANSACTION 12).
    Rollback,
    /// Not decided yet: the broker asks again later (END_TRANSACTION 0).
    Unknown,
}

impl LocalTransactionState {
    /// The `commitOrRollback` value of END_TRANSACTION (the `sysFlag` transaction types).
    pub(crate) fn wire_value(self) -> i32 {
        match self {
            LocalTransactionState::Commit => sysflag::TRANSACTION_COMMIT_TYPE,
            LocalTransactionState::Rollback => sysflag::TRANSACTION_ROLLBACK_TYPE,
            LocalTransactionState::Unknown => sysflag::TRANSACTION_NOT_TYPE,
        }
    }
}

impl fmt::Display for LocalTransactionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LocalTransactionState::Commit => "COMMIT_MESSAGE",
            LocalTransactionState::Rollback => "ROLLBACK_MESSAGE",
            LocalTransactionState::Unknown => "UNKNOW",
        })
    }
}

/// Runs the local transaction of a half message, and answers the broker's checks of
/// transactions left undecided (Java: `TransactionListener`).
///
/// `execute` runs after the broker has stored the half message, on the task that called
/// [`send_in_transaction`](crate::TransactionProducer::send_in_transaction); `check` runs on
/// the producer's bounded check executor when a broker asks about a half message whose
/// transaction was neither committed nor rolled back (the producer crashed, or `execute`
/// answered [`Unknown`](LocalTransactionState::Unknown)). Both may be called for the same
/// message at once, so `check` should read the outcome `execute` recorded, not redo the work.
///
/// A listener that panics, or takes longer than the producer's
/// [`transaction_listener_timeout`](crate::ProducerBuilder::transaction_listener_timeout),
/// counts as `Unknown`: the broker asks again later.
///
/// The producer keeps its listener for as long as it lives: a listener that holds the
/// producer (or a clone of it) keeps both alive for ever. Give it what it needs instead, or a
/// `Weak` reference. `Arc<L>` is a listener when `L` is, to share one with other code.
///
/// ```
/// use rmq_client::{LocalTransactionState, TransactionCheck, TransactionListener};
/// use rmq_common::Message;
///
/// struct Orders;
/// impl TransactionListener for Orders {
///     /// What `send_in_transaction` hands to `execute`: here, the order's amount.
///     type Arg = u64;
///
///     async fn execute(&self, msg: &Message, amount: u64) -> LocalTransactionState {
///         // Write the order to the database, keyed by the transaction id.
///         let _ = (msg.transaction_id(), amount);
///         LocalTransactionState::Commit
///     }
///
///     async fn check(&self, check: &TransactionCheck) -> LocalTransactionState {
///         // Look the order up by `check.message.transaction_id()`.
///         let _ = check.message.transaction_id();
///         LocalTransactionState::Rollback
///     }
/// }
/// ```
pub trait TransactionListener: Send + Sync + 'static {
    /// What each call of `send_in_transaction` passes to [`execute`](Self::execute) (Java:
    /// the `Object arg`); `()` when there is nothing to pass.
    type Arg: Send;

    /// Runs the local transaction of `msg`, whose half message the broker has stored (Java:
    /// `executeLocalTransaction`). `msg` carries its transaction id (its `UNIQ_KEY`).
    fn execute(
        &self,
        msg: &Message,
        arg: Self::Arg,
    ) -> impl Future<Output = LocalTransactionState> + Send;

    /// Tells the broker what became of a transaction it asks about (Java:
    /// `checkLocalTransaction`).
    fn check(&self, check: &TransactionCheck)
    -> impl Future<Output = LocalTransactionState> + Send;
}

impl<L: TransactionListener> TransactionListener for std::sync::Arc<L> {
    type Arg = L::Arg;

    fn execute(
        &self,
        msg: &Message,
        arg: Self::Arg,
    ) -> impl Future<Output = LocalTransactionState> + Send {
        L::execute(self, msg, arg)
    }

    fn check(
        &self,
        check: &TransactionCheck,
    ) -> impl Future<Output = LocalTransactionState> + Send {
        L::check(self, check)
    }
}

/// The check half of a listener, with its type erased, for the check executor.
pub(crate) trait CheckListener: Send + Sync + 'static {
    fn check<'a>(&'a self, check: &'a TransactionCheck) -> BoxFuture<'a, LocalTransactionState>;
}

impl<L: TransactionListener> CheckListener for L {
    fn check<'a>(&'a self, check: &'a TransactionCheck) -> BoxFuture<'a, LocalTransactionState> {
        Box::pin(TransactionListener::check(self, check))
    }
}

/// Runs a listener call within `limit`: a panic (while making the future or polling it) or
/// the limit passing gives the reason instead of a state.
pub(crate) async fn guarded<F>(
    call: impl FnOnce() -> F,
    limit: Duration,
) -> Result<LocalTransactionState, String>
where
    F: Future<Output = LocalTransactionState>,
{
    let future = std::panic::catch_unwind(AssertUnwindSafe(call))
        .map_err(|panic| format!("panicked: {}", panic_message(panic.as_ref())))?;
    match tokio::time::timeout_at(
        deadline_after(limit),
        AssertUnwindSafe(future).catch_unwind(),
    )
    .await
    {
        Ok(Ok(state)) => Ok(state),
        Ok(Err(panic)) => Err(format!("panicked: {}", panic_message(panic.as_ref()))),
        Err(_) => Err(format!("did not finish within {limit:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_values_are_the_sysflag_types() {
        assert_eq!(LocalTransactionState::Commit.wire_value(), 8);
        assert_eq!(LocalTransactionState::Rollback.wire_value(), 12);
        assert_eq!(LocalTransactionState::Unknown.wire_value(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn guard_turns_panics_and_timeouts_into_reasons() {
        let limit = Duration::from_secs(1);
        let ok = guarded(|| async { LocalTransactionState::Commit }, limit).await;
        assert_eq!(ok, Ok(LocalTransactionState::Commit));

        let eager = guarded(
            || -> std::future::Ready<LocalTransactionState> { panic!("before the future") },
            limit,
        )
        .await;
        assert_eq!(eager, Err("panicked: before the future".into()));

        let polled = guarded(|| async { panic!("inside the future") }, limit).await;
        assert_eq!(polled, Err("panicked: inside the future".into()));

        let slow = guarded(std::future::pending, limit).await;
        assert_eq!(slow, Err("did not finish within 1s".into()));

        let unbounded = guarded(|| async { LocalTransactionState::Rollback }, Duration::MAX).await;
        assert_eq!(unbounded, Ok(LocalTransactionState::Rollback));
    }
}

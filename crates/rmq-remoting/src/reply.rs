//! Where a request's response goes (Java: the `InvokeCallback` of a `ResponseFuture` in
//! `responseTable`).
//!
//! A caller that awaits the response gets it through a channel and keeps its own timer. A
//! callback is kept by the connection task itself, with the request's deadline: the task
//! calls it when the response arrives, when the deadline passes, or when the connection ends.
//! That needs no task, no channel and no timer of the request's own, which is what lets
//! thousands of async requests wait cheaply.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::time::Instant;

use crate::client::AfterHooks;
use crate::{ErrorKind, RemotingCommand, RemotingError};

/// What a request's caller receives.
pub(crate) type Reply = Result<RemotingCommand, RemotingError>;

/// Where a request's response goes.
pub(crate) enum ReplyTo {
    /// A caller awaiting it, with a timer of its own.
    Caller(oneshot::Sender<Reply>),
    /// A continuation the connection task calls: at the latest at the deadline, once the task
    /// has taken the request from its queue (it takes them as they come, up to the queue's
    /// capacity of unwritten requests).
    Callback(ResponseCallback),
}

impl ReplyTo {
    /// Whether nobody will use the response any more (a caller that gave up).
    pub(crate) fn is_abandoned(&self) -> bool {
        match self {
            ReplyTo::Caller(tx) => tx.is_closed(),
            ReplyTo::Callback(_) => false,
        }
    }

    /// Hands over the outcome.
    pub(crate) fn complete(self, reply: Reply) {
        match self {
            ReplyTo::Caller(tx) => {
                let _ = tx.send(reply);
            }
            ReplyTo::Callback(callback) => callback.complete(reply),
        }
    }
}

/// A continuation called exactly once with a request's outcome: the response, a timeout at
/// its deadline, or the error that ended the connection. Dropped uncalled (its connection task
/// ended, or the request never reached one), it is called with a connection error.
pub(crate) struct ResponseCallback {
    deadline: Instant,
    timeout: Duration,
    addr: Arc<str>,
    /// The request's async permit, released before the continuation runs, so it can send again.
    permit: Option<OwnedSemaphorePermit>,
    /// The RPC hooks' `after_response`, run on a response first.
    after: Option<Box<AfterHooks>>,
    call: Option<Box<dyn FnOnce(Reply) + Send>>,
}

impl ResponseCallback {
    pub(crate) fn new(
        addr: Arc<str>,
        deadline: Instant,
        timeout: Duration,
        call: Box<dyn FnOnce(Reply) + Send>,
    ) -> Self {
        Self {
            deadline,
            timeout,
            addr,
            permit: None,
            after: None,
            call: Some(call),
        }
    }

    /// The same callback, holding the request's permit and its hooks' `after_response`.
    pub(crate) fn holding(
        mut self,
        permit: OwnedSemaphorePermit,
        after: Option<Box<AfterHooks>>,
    ) -> Self {
        self.permit = Some(permit);
        self.after = after;
        self
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The error it is called with when its deadline passes first.
    pub(crate) fn timed_out(&self) -> RemotingError {
        RemotingError::new(ErrorKind::Timeout, self.addr.clone()).with_detail(format!(
            "no response within {} ms",
            self.timeout.as_millis()
        ))
    }

    /// Calls the continuation. A panic in it is logged and goes no further: it runs on a
    /// connection's task, which serves every other request too.
    pub(crate) fn complete(mut self, reply: Reply) {
        self.permit = None;
        let reply = match (reply, self.after.take()) {
            (Ok(mut response), Some(after)) => {
                after.run(&self.addr, &mut response);
                Ok(response)
            }
            (reply, _) => reply,
        };
        if let Some(call) = self.call.take() {
            run(call, reply);
        }
    }
}

impl Drop for ResponseCallback {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            self.permit = None;
            let error = RemotingError::new(ErrorKind::ConnectionClosed, self.addr.clone())
                .with_detail("abandoned before the response: its connection ended, or the call was dropped before the request was queued");
            run(call, Err(error));
        }
    }
}

fn run(call: Box<dyn FnOnce(Reply) + Send>, reply: Reply) {
    if catch_unwind(AssertUnwindSafe(|| call(reply))).is_err() {
        tracing::error!("a response callback panicked");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(calls: &Arc<AtomicUsize>, errors: &Arc<AtomicUsize>) -> ResponseCallback {
        let (calls, errors) = (calls.clone(), errors.clone());
        ResponseCallback::new(
            "127.0.0.1:1".into(),
            Instant::now(),
            Duration::from_millis(5),
            Box::new(move |reply| {
                calls.fetch_add(1, Ordering::SeqCst);
                if reply.is_err() {
                    errors.fetch_add(1, Ordering::SeqCst);
                }
            }),
        )
    }

    #[tokio::test]
    async fn called_once_however_it_ends() {
        let (calls, errors) = (Arc::default(), Arc::default());
        counting(&calls, &errors).complete(Ok(RemotingCommand::response(0)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(errors.load(Ordering::SeqCst), 0);

        drop(counting(&calls, &errors));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "a dropped callback is still called"
        );
        assert_eq!(errors.load(Ordering::SeqCst), 1, "with a connection error");
    }

    #[tokio::test]
    async fn a_panicking_callback_goes_no_further() {
        let callback = ResponseCallback::new(
            "127.0.0.1:1".into(),
            Instant::now(),
            Duration::from_millis(5),
            Box::new(|_| panic!("user code")),
        );
        let error = callback.timed_out();
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert!(error.to_string().contains("5 ms"), "{error}");
        callback.complete(Err(error));
    }
}

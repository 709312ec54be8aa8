//! Who finishes an accepted async send (Java: `sendMessageAsync`, its `InvokeCallback` and
//! `onExceptionImpl`, on the callback executor).
//!
//! Once a send is accepted, the rest of it (waiting for the answer, retries within the one
//! deadline, the fault strategy's record of the real latency, hooks, releasing its permit, the
//! in-flight count `flush` and `shutdown` wait on) happens whether or not anyone polls its
//! [`SendFuture`] or keeps it. The future only receives the outcome.
//!
//! An [`AsyncSend`] is the send's whole state between steps, one allocation:
//! - its first attempt runs inside the call that accepts it, as far as it can go without
//!   waiting; usually that is all the way to the request queued on its connection. One that
//!   must wait (a route to fetch, a connection to open) continues in a task of its own;
//! - the request's callback carries the send: the connection's task calls it with the answer
//!   (or a timeout at the deadline, or the connection's end), and it finishes the attempt
//!   there: no task, channel or timer per send;
//! - a retry, the exception, runs in a task of its own from there.
//!
//! docs/performance.md tells the designs measured before this one (a task per send, one
//! driver task per producer).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;
use slab::Slab;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::time::Instant;

use super::Ready;
use super::attempt::{Started, panic_message, remaining};
use super::retry::{Attempt, Retry, Step, timed_out};
use crate::hook::SendMode;
use crate::producer::ProducerInner;
use crate::transport::Reply;
use crate::{Error, Result, SendResult};

/// The callback of [`Producer::send_with_callback`](crate::Producer::send_with_callback).
pub(crate) type Callback = Box<dyn FnOnce(Result<SendResult>) + Send>;

/// Where an accepted send's outcome goes.
pub(crate) enum Sink {
    /// Its [`SendFuture`]. Boxed: the channel holds its value inline for as long as the
    /// send runs.
    Future(oneshot::Sender<Box<Result<SendResult>>>),
    /// Its callback, called exactly once.
    Callback(Callback),
}

impl Sink {
    /// A sink for a [`SendFuture`], and the future.
    pub(crate) fn future() -> (Sink, SendFuture) {
        let (tx, rx) = oneshot::channel();
        (Sink::Future(tx), SendFuture(rx))
    }

    fn deliver(self, result: Result<SendResult>) {
        match self {
            // A dropped future wants no outcome.
            Sink::Future(tx) => drop(tx.send(Box::new(result))),
            Sink::Callback(callback) => {
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| callback(result))) {
                    tracing::error!(
                        panic = %panic_message(panic.as_ref()),
                        "a send callback panicked"
                    );
                }
            }
        }
    }
}

/// Accepted async sends not yet completed: their permits, where their outcomes go (so
/// `shutdown` can fail them), and their count (so `flush` and `shutdown` can wait for them).
#[derive(Debug)]
pub(crate) struct AsyncTracker {
    permits: Arc<Semaphore>,
    capacity: usize,
    /// By the key each send carries. Set `aborted` under this lock, so no send is
    /// registered after shutdown failed the others (their keys are then never reused).
    sinks: Mutex<Slab<Sink>>,
    in_flight: AtomicUsize,
    idle: Notify,
    /// Set once shutdown's grace is over.
    aborted: AtomicBool,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sink::Future(_) => "Future",
            Sink::Callback(_) => "Callback",
        })
    }
}

impl AsyncTracker {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(capacity.min(Semaphore::MAX_PERMITS))),
            capacity,
            sinks: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            aborted: AtomicBool::new(false),
        }
    }

    /// Accepts no more sends, including those waiting for a permit.
    pub(crate) fn close(&self) {
        self.permits.close();
    }

    /// Ends the grace of the sends still in flight: each resolves now with
    /// [`Error::Shutdown`] (callbacks included). Their requests may still be answered; that
    /// answer then goes nowhere.
    pub(crate) fn abort(&self) {
        let sinks: Vec<Sink> = {
            let mut sinks = self.sinks.lock();
            self.aborted.store(true, Ordering::SeqCst);
            sinks.drain().collect()
        };
        for sink in sinks {
            sink.deliver(Err(Error::Shutdown));
            self.finished();
        }
    }

    /// Whether shutdown's grace is over.
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }

    /// Registers where an accepted send's outcome goes; refused once shutdown failed the
    /// sends in flight.
    fn register(&self, sink: Sink) -> Result<usize> {
        let mut sinks = self.sinks.lock();
        if self.is_aborted() {
            return Err(Error::Shutdown);
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Ok(sinks.insert(sink))
    }

    /// Hands a send its outcome, unless shutdown did already.
    fn deliver(&self, key: usize, result: Result<SendResult>) {
        let sink = self.sinks.lock().try_remove(key);
        if let Some(sink) = sink {
            sink.deliver(result);
            // Counted finished only now, so `flush` sees callbacks done.
            self.finished();
        }
    }

    fn finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Accepted async sends not yet completed.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Waits until nothing is in flight or `deadline` passes; returns what is still in flight.
    pub(crate) async fn wait_idle(&self, deadline: Instant) -> usize {
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            let pending = self.in_flight();
            if pending == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.in_flight();
            }
        }
    }
}

/// Accepts one message for async delivery, with no fixed queue: the common async send.
/// The permit comes first (Java 5.x: the back-pressure semaphores before `sendDefaultImpl`),
/// so a send waiting for room holds only its message.
pub(crate) async fn submit_one(
    inner: &Arc<ProducerInner>,
    msg: rmq_common::Message,
    timeout: Option<std::time::Duration>,
    sink: Sink,
) -> Result<()> {
    let (started, deadline) = inner.begin_send(timeout)?;
    let permit = acquire(inner, deadline).await?;
    let ready = Ready {
        out: inner.prepare(msg).await?,
        queue: None,
        started,
        deadline,
    };
    accept(inner, permit, ready, sink)
}

/// Accepts a send made ready, once it has a permit.
pub(crate) async fn submit(inner: &Arc<ProducerInner>, ready: Ready, sink: Sink) -> Result<()> {
    let permit = acquire(inner, ready.deadline).await?;
    accept(inner, permit, ready, sink)
}

/// Registers the send's sink and starts it. The first attempt goes as far as it can here;
/// most reach their connection's queue and need no task. One still waiting (a route, a
/// connection) goes on in a task, so accepting never waits on the network.
fn accept(
    inner: &Arc<ProducerInner>,
    permit: OwnedSemaphorePermit,
    ready: Ready,
    sink: Sink,
) -> Result<()> {
    let key = inner.tracker.register(sink)?;
    let send = Box::new(AsyncSend {
        inner: inner.clone(),
        retry: Retry::new(&inner.config, SendMode::Async),
        ready,
        key: Some(key),
        permit: Some(permit),
    });
    let mut first = Box::pin(send.attempt());
    if first
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending()
    {
        tokio::spawn(first);
    }
    Ok(())
}

async fn acquire(inner: &ProducerInner, deadline: Instant) -> Result<OwnedSemaphorePermit> {
    // Without a wait when a permit is free: no timer, and no room for one in the caller's
    // future.
    match inner.tracker.permits.clone().try_acquire_owned() {
        Ok(permit) => Ok(permit),
        Err(_) => Box::pin(wait_for_permit(inner, deadline)).await,
    }
}

async fn wait_for_permit(inner: &ProducerInner, deadline: Instant) -> Result<OwnedSemaphorePermit> {
    let permits = inner.tracker.permits.clone();
    match tokio::time::timeout_at(deadline, permits.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) => Err(Error::Shutdown),
        Err(_) => Err(Error::TooManyInFlight(inner.tracker.capacity)),
    }
}

/// An accepted async send, from one step to the next: its message, its attempts so far, its
/// permit, and where its outcome goes. Dropped before it has one (its task ended by the
/// runtime's shutdown, say), it still delivers an error.
struct AsyncSend {
    inner: Arc<ProducerInner>,
    ready: Ready,
    retry: Retry,
    /// Its sink in the tracker; `None` once delivered.
    key: Option<usize>,
    permit: Option<OwnedSemaphorePermit>,
}

impl AsyncSend {
    /// Makes the next attempt, up to its request being queued; the answer continues the send
    /// in [`on_reply`](Self::on_reply).
    async fn attempt(mut self: Box<Self>) {
        let inner = self.inner.clone();
        if inner.tracker.is_aborted() {
            return self.finish(Err(Error::Shutdown));
        }
        let instance = match inner.attached_instance() {
            Ok(instance) => instance,
            Err(e) => return self.finish(Err(e)),
        };
        let Ready {
            out,
            queue,
            deadline,
            ..
        } = &self.ready;
        let attempt = match queue {
            // Any queue: the fault strategy picks one, avoiding the last broker.
            None => {
                let info = match inner
                    .find_publish_info(out.message.topic(), &out.user_topic, *deadline)
                    .await
                {
                    Ok(info) => info,
                    Err(e) => return self.finish(Err(e)),
                };
                match inner.next_attempt(&mut self.retry, &info, *deadline) {
                    Some(attempt) => attempt,
                    None => return self.give_up(),
                }
            }
            // The caller's queue: one attempt.
            Some(queue) => match inner.queue_on_wire(out, queue, *deadline).await {
                Ok(target) => Attempt::to(target),
                Err(e) => return self.finish(Err(e)),
            },
        };
        let (started, request) = match inner
            .start_attempt(&instance, out, &attempt.target, SendMode::Async, *deadline)
            .await
        {
            Ok(started) => started,
            Err(e) => return self.after(attempt, Err(e)),
        };
        let timeout = match remaining(out, *deadline) {
            Ok(timeout) => timeout,
            Err(e) => return self.on_outcome(attempt, started, Err(e)),
        };
        let addr = started.addr.clone();
        instance
            .transport()
            .invoke_async_callback(&addr, request, timeout, move |reply| {
                self.on_reply(attempt, started, reply);
            })
            .await;
    }

    /// The attempt's answer (on the connection's task), or why there is none.
    fn on_reply(self: Box<Self>, attempt: Attempt, started: Started, reply: Reply) {
        let outcome = match reply {
            Ok(response) => self
                .inner
                .process_response(&self.ready.out, &attempt.target, &started.addr, &response)
                .map(Some),
            Err(e) => Err(self.inner.transport_error(e, SendMode::Async)),
        };
        self.on_outcome(attempt, started, outcome);
    }

    /// The attempt's end: the send hooks, then what its outcome means for the send.
    fn on_outcome(
        self: Box<Self>,
        attempt: Attempt,
        started: Started,
        outcome: Result<Option<SendResult>>,
    ) {
        let outcome = self.inner.finish_attempt(
            &self.ready.out,
            &attempt.target,
            SendMode::Async,
            started,
            outcome,
        );
        self.after(attempt, outcome);
    }

    fn after(mut self: Box<Self>, attempt: Attempt, outcome: Result<Option<SendResult>>) {
        // A send to the caller's queue has one attempt.
        if self.ready.queue.is_some() {
            let outcome = attempt.only(&self.ready.out, outcome);
            return self.finish(outcome);
        }
        let inner = self.inner.clone();
        match inner.after_attempt(&mut self.retry, attempt, outcome, &self.ready.out) {
            Step::Done(result) => self.finish(result),
            // The exception: a task of its own, so the connection's task never waits on
            // a route or another connection.
            Step::Again => match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(self.attempt())),
                Err(_) => self.finish(Err(Error::Shutdown)),
            },
        }
    }

    fn give_up(mut self: Box<Self>) {
        let Ready {
            out,
            started,
            deadline,
            ..
        } = &self.ready;
        let result = self
            .inner
            .give_up(&mut self.retry, out, *started, *deadline);
        self.finish(result);
    }

    /// Releases the permit and hands over the outcome.
    fn finish(mut self: Box<Self>, result: Result<Option<SendResult>>) {
        let result = match result {
            // An attempt that found the deadline passed reports the send's own figures.
            Err(Error::Timeout { attempts, .. }) => Err(timed_out(
                &self.ready.out,
                self.ready.started,
                self.ready.deadline,
                attempts,
            )),
            // A send that failed because the producer shut down reports that, whatever the
            // transport said (its connections were closed under it).
            Err(_) if self.inner.tracker.is_aborted() => Err(Error::Shutdown),
            // Only oneway sends have no result.
            other => other.and_then(|result| result.ok_or(Error::Shutdown)),
        };
        self.permit = None;
        if let Some(key) = self.key.take() {
            self.inner.tracker.deliver(key, result);
        }
    }
}

impl Drop for AsyncSend {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let error = if std::thread::panicking() {
                Error::Panicked("the send panicked before it had an outcome".into())
            } else {
                Error::Shutdown
            };
            self.permit = None;
            self.inner.tracker.deliver(key, Err(error));
        }
    }
}

/// The result of an accepted async send (see [`Producer::send_async`](crate::Producer::send_async)).
///
/// The send runs to its end whether or not this future is polled or kept: awaiting it only
/// receives the outcome, at any time, and dropping it loses only the outcome. `flush` and
/// `shutdown` wait for the send either way.
#[must_use = "the send runs anyway; await this to learn its result"]
#[derive(Debug)]
pub struct SendFuture(oneshot::Receiver<Box<Result<SendResult>>>);

impl Future for SendFuture {
    type Output = Result<SendResult>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|outcome| match outcome {
            Ok(result) => *result,
            // Its producer is gone.
            Err(_) => Err(Error::Shutdown),
        })
    }
}

#[cfg(test)]
mod footprint {
    /// What every async send in flight holds stays small (a regression here multiplies by
    /// the sends in flight: 10 000 in `rmq bench`'s memory target).
    #[test]
    fn a_send_waiting_for_its_answer_stays_small() {
        let send = std::mem::size_of::<super::AsyncSend>();
        let outgoing = std::mem::size_of::<super::super::prepare::Outgoing>();
        assert!(send <= outgoing + 200, "AsyncSend is {send} bytes");
        assert!(std::mem::size_of::<super::Attempt>() <= 128);
        assert!(std::mem::size_of::<super::Started>() <= 48);
        assert!(std::mem::size_of::<crate::SendFuture>() <= 16);
    }
}

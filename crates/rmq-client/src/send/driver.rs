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
//! - while its request is out, the send waits in the tracker, and the request's callback
//!   carries its key: the connection's task calls it with the answer (or a timeout at the
//!   deadline, or the connection's end), and it finishes the attempt there. No task, channel
//!   or timer per send. Shutdown ends the sends still waiting when its grace is over;
//! - a retry, the exception, runs in a task of its own.
//!
//! docs/performance.md tells the designs measured before this one (a task per send, one
//! driver task per producer).

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;
use rmq_common::Message;
use slab::Slab;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::Ready;
use super::accumulate::{Gate, Riders};
use super::attempt::{Started, remaining};
use super::budget::{Budget, Grant};
use super::payload::{Failure, Payload, Unsent};
use super::retry::{Attempt, Retry, Step, timed_out};
use crate::hook::SendMode;
use crate::observe;
use crate::producer::ProducerInner;
use crate::route::TopicPublishInfo;
use crate::transport::Reply;
use crate::{Error, Result, SendError, SendResult};
use tracing::Span;

/// What an accepted send's sink receives.
pub(crate) type Outcome = std::result::Result<SendResult, Failure>;

/// A callback, already turned to take an [`Outcome`].
type Callback = Box<dyn FnOnce(Outcome) + Send>;

thread_local! {
    /// Set while a send's first attempt runs inside the call that accepts it: a callback due
    /// then is not called on the caller's stack (which may hold a lock the callback takes).
    static ACCEPTING: Cell<bool> = const { Cell::new(false) };
}

/// Where an accepted send's outcome goes.
pub(crate) enum Sink {
    /// Its [`SendFuture`]. Boxed: the channel holds its value inline for as long as the
    /// send runs.
    Future(oneshot::Sender<Box<Outcome>>),
    /// Its callback, called exactly once.
    Callback(Callback),
    /// The messages of an automatic batch, each with a sink of its own.
    Riders(Box<Riders>),
}

impl Sink {
    /// A sink for a [`SendFuture`], and the future.
    pub(crate) fn future<M: Payload>() -> (Sink, SendFuture<M>) {
        let (tx, rx) = oneshot::channel();
        let future = SendFuture {
            rx,
            _payload: PhantomData,
        };
        (Sink::Future(tx), future)
    }

    /// A sink for a user's callback.
    pub(crate) fn callback<M, F>(callback: F) -> Sink
    where
        M: Payload,
        F: FnOnce(std::result::Result<SendResult, SendError<M>>) + Send + 'static,
    {
        Sink::Callback(Box::new(move |outcome: Outcome| {
            callback(outcome.map_err(Failure::into_send_error));
        }))
    }

    /// Hands over the outcome, then counts the send finished (after its callback returned,
    /// so `flush` sees callbacks done). A batch's riders count one by one.
    pub(crate) fn deliver(self, outcome: Outcome, inner: &Arc<ProducerInner>) {
        let callback = match self {
            Sink::Riders(riders) => return (*riders).deliver(outcome, inner),
            Sink::Future(tx) => {
                inner.meters.async_in_flight(-1.0);
                // A dropped future wants no outcome.
                drop(tx.send(Box::new(outcome)));
                return inner.tracker.finished();
            }
            Sink::Callback(callback) => callback,
        };
        inner.meters.async_in_flight(-1.0);
        if ACCEPTING.get()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let inner = inner.clone();
            drop(runtime.spawn(async move {
                call(callback, outcome);
                inner.tracker.finished();
            }));
            return;
        }
        call(callback, outcome);
        inner.tracker.finished();
    }
}

/// Calls a user callback; a panic in it is logged and goes no further.
fn call(callback: Callback, outcome: Outcome) {
    super::attempt::contain_callback("a send callback", || callback(outcome));
}

/// Accepted async sends not yet completed: their permits, the sends waiting for an answer
/// (so `shutdown` can end them), and their count (so `flush` and `shutdown` can wait).
pub(crate) struct AsyncTracker {
    /// Room for sends and bytes in flight (back-pressure).
    budget: Arc<Budget>,
    /// By the key their request's callback carries. `aborted` is set under this lock, so no
    /// send waits here after shutdown ended the others (and no key is reused).
    waiting: Mutex<Slab<Box<AsyncSend>>>,
    in_flight: AtomicUsize,
    idle: Notify,
    /// Set once shutdown's grace is over.
    aborted: AtomicBool,
}

impl std::fmt::Debug for AsyncTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncTracker")
            .field("budget", &self.budget.in_flight())
            .field("in_flight", &self.in_flight())
            .field("aborted", &self.is_aborted())
            .finish()
    }
}

impl AsyncTracker {
    pub(crate) fn new(max_sends: usize, max_bytes: usize) -> Self {
        Self {
            budget: Budget::new(max_sends, max_bytes),
            waiting: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            aborted: AtomicBool::new(false),
        }
    }

    /// Accepts no more sends, including those waiting for room.
    pub(crate) fn close(&self) {
        self.budget.close();
    }

    /// The budget of sends and bytes in flight.
    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Ends the grace of the sends still in flight: those waiting for an answer resolve now
    /// with [`Error::Shutdown`] (callbacks included, their messages handed back); an answer
    /// that comes later goes nowhere. Those between steps see it at their next step.
    pub(crate) fn abort(&self) {
        let sends: Vec<Box<AsyncSend>> = {
            let mut waiting = self.waiting.lock();
            self.aborted.store(true, Ordering::SeqCst);
            waiting.drain().collect()
        };
        for send in sends {
            send.finish(Err(Error::Shutdown));
        }
    }

    /// Whether shutdown's grace is over.
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }

    /// Keeps a send while its request is out; handed back once shutdown has ended the rest.
    fn park(&self, send: Box<AsyncSend>) -> std::result::Result<usize, Box<AsyncSend>> {
        let mut waiting = self.waiting.lock();
        if self.is_aborted() {
            return Err(send);
        }
        Ok(waiting.insert(send))
    }

    /// The send its request's answer is for, unless shutdown ended it.
    fn unpark(&self, key: usize) -> Option<Box<AsyncSend>> {
        self.waiting.lock().try_remove(key)
    }

    pub(crate) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
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
    msg: Message,
    timeout: Option<std::time::Duration>,
    sink: Sink,
) -> std::result::Result<(), Failure> {
    let unsent = |error, msg| Failure {
        error,
        unsent: Unsent::One(msg),
    };
    let (started, deadline) = match inner.begin_send(timeout) {
        Ok(window) => window,
        Err(e) => return Err(unsent(e, msg)),
    };
    let fail_fast = inner.config.async_fail_fast;
    let permit = match acquire(inner, msg.topic(), msg.body().len(), deadline, fail_fast).await {
        Ok(permit) => permit,
        Err(e) => return Err(unsent(e, msg)),
    };
    let ready = Ready {
        out: inner.prepare(msg).await?,
        queue: None,
        started,
        deadline,
        timed: timeout.is_some(),
    };
    accept(inner, permit, ready, sink);
    Ok(())
}

/// Accepts a send made ready, once it has a permit.
pub(crate) async fn submit(
    inner: &Arc<ProducerInner>,
    ready: Ready,
    sink: Sink,
) -> std::result::Result<(), Failure> {
    match acquire(
        inner,
        &ready.out.user_topic,
        ready.out.body.len(),
        ready.deadline,
        inner.config.async_fail_fast,
    )
    .await
    {
        Ok(permit) => {
            accept(inner, permit, ready, sink);
            Ok(())
        }
        Err(error) => Err(Failure {
            error,
            unsent: ready.out.into_unsent(inner),
        }),
    }
}

/// Starts an accepted send, or hands it to the automatic batching when it can travel in a
/// batch.
fn accept(inner: &Arc<ProducerInner>, permit: Grant, ready: Ready, sink: Sink) {
    if let Some(accumulator) = inner.accumulator.as_ref()
        && let Some(key) = accumulator.key(&ready, SendMode::Async)
    {
        return accumulator.offer(inner, key, ready, sink, permit);
    }
    inner.tracker.started();
    inner.meters.async_in_flight(1.0);
    launch(inner, Some(permit), ready, sink, SendMode::Async, None);
}

/// Starts a send counted as accepted. The first attempt goes as far as it can here; most
/// reach their connection's queue and need no task. One still waiting (a route, a
/// connection) goes on in a task, so accepting never waits on the network. `mode` is the
/// caller's (an automatic batch of sync sends is retried as sync sends are); `gate` holds an
/// automatic batch's lane (see [`Gate`]).
pub(crate) fn launch(
    inner: &Arc<ProducerInner>,
    permit: Option<Grant>,
    ready: Ready,
    sink: Sink,
    mode: SendMode,
    gate: Option<Box<Gate>>,
) {
    let span = observe::send_span(&ready.out, mode);
    let span = (!span.is_disabled()).then(|| Box::new(span));
    let send = Box::new(AsyncSend {
        inner: inner.clone(),
        retry: Retry::new(&inner.config, mode),
        info: None,
        ready,
        sink: Some(sink),
        permit,
        span,
        gate,
    });
    let mut first = Box::pin(send.attempt());
    let pending = {
        let _accepting = Accepting::enter();
        first
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    };
    if pending {
        tokio::spawn(first);
    }
}

/// Marks this thread as running a first attempt until dropped (a panic included), then
/// restores what it found (an accept can nest in another's hook).
struct Accepting {
    outer: bool,
}

impl Accepting {
    fn enter() -> Self {
        Accepting {
            outer: ACCEPTING.replace(true),
        }
    }
}

impl Drop for Accepting {
    fn drop(&mut self) {
        ACCEPTING.set(self.outer);
    }
}

/// Room for one send of `bytes` to `topic` (Java 5.x: the back-pressure semaphores), waiting
/// for it until `deadline` unless `fail_fast`; a refusal counts as a failed send.
pub(crate) async fn acquire(
    inner: &ProducerInner,
    topic: &str,
    bytes: usize,
    deadline: Instant,
    fail_fast: bool,
) -> Result<Grant> {
    let granted = inner
        .tracker
        .budget
        .acquire(bytes, deadline, fail_fast)
        .await;
    if let Err(error) = &granted {
        observe::rejected(topic, error);
    }
    granted
}

/// An accepted async send, from one step to the next: its message, its attempts so far, its
/// permit, and where its outcome goes. Dropped before it has one (its task ended by the
/// runtime's shutdown, say), it still delivers an error, with its message.
struct AsyncSend {
    inner: Arc<ProducerInner>,
    ready: Ready,
    retry: Retry,
    /// The topic's publish info, found by the first attempt, for the retries.
    info: Option<Arc<TopicPublishInfo>>,
    /// `None` once delivered.
    sink: Option<Sink>,
    permit: Option<Grant>,
    /// The send's span, when a subscriber wants it (boxed: most sends have none).
    span: Option<Box<Span>>,
    /// An automatic batch's hold on its lane (see [`Gate`]).
    gate: Option<Box<Gate>>,
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
        let attempt = match &self.ready.queue {
            // Any queue: the fault strategy picks one, avoiding the last broker.
            None => {
                let info = match &self.info {
                    Some(info) => info.clone(),
                    None => {
                        let out = &self.ready.out;
                        let found = inner
                            .find_publish_info(
                                out.message.topic(),
                                &out.user_topic,
                                self.ready.deadline,
                            )
                            .await;
                        match found {
                            Ok(info) => self.info.insert(info).clone(),
                            Err(e) => return self.finish(Err(e)),
                        }
                    }
                };
                match inner.next_attempt(&mut self.retry, &info, self.ready.deadline) {
                    Some(attempt) => attempt,
                    None => return self.give_up(),
                }
            }
            // The caller's queue: one attempt.
            Some(queue) => {
                let target = inner
                    .queue_on_wire(&self.ready.out, queue, self.ready.deadline)
                    .await;
                match target {
                    Ok(target) => Attempt::to(target),
                    Err(e) => return self.finish(Err(e)),
                }
            }
        };
        let (out, deadline) = (&self.ready.out, self.ready.deadline);
        let (started, request) = match inner
            .start_attempt(&instance, out, &attempt.target, self.retry.mode(), deadline)
            .await
        {
            Ok(started) => started,
            Err(e) => return self.after(attempt, Err(e)),
        };
        let timeout = match remaining(out, deadline) {
            Ok(timeout) => timeout,
            Err(e) => return self.on_outcome(attempt, started, Err(e)),
        };
        let addr = started.addr.clone();
        // A batch for any queue lets its lane go on once queued; one for a fixed queue only
        // once answered, as brokers may store concurrent requests in either order.
        let gate = if self.ready.queue.is_none() {
            self.gate.take()
        } else {
            None
        };
        // Waits in the tracker while its request is out, so shutdown can end it.
        let key = match inner.tracker.park(self) {
            Ok(key) => key,
            Err(send) => return send.finish(Err(Error::Shutdown)),
        };
        let callback = move |reply| {
            if let Some(send) = inner.tracker.unpark(key) {
                send.on_reply(attempt, started, reply);
            }
        };
        instance
            .transport()
            .invoke_async_callback(&addr, request, timeout, callback)
            .await;
        drop(gate);
    }

    /// The attempt's answer (on the connection's task), or why there is none.
    fn on_reply(self: Box<Self>, attempt: Attempt, started: Started, reply: Reply) {
        let outcome = match reply {
            Ok(response) => self
                .inner
                .process_response(&self.ready.out, &attempt.target, &started.addr, &response)
                .map(Some),
            Err(e) => Err(self.inner.transport_error(e, self.retry.mode())),
        };
        self.on_outcome(attempt, started, outcome);
    }

    /// Runs `work` in the send's span, so its events are the send's; the user's callback,
    /// later, runs outside it.
    fn in_span<T>(&self, work: impl FnOnce() -> T) -> T {
        match self.span.as_deref() {
            Some(span) => span.in_scope(work),
            None => work(),
        }
    }

    /// The attempt's end: the send hooks, then what its outcome means for the send.
    fn on_outcome(
        self: Box<Self>,
        attempt: Attempt,
        started: Started,
        outcome: Result<Option<SendResult>>,
    ) {
        let outcome = self.in_span(|| {
            self.inner.finish_attempt(
                &self.ready.out,
                &attempt.target,
                self.retry.mode(),
                started,
                attempt.begin,
                outcome,
            )
        });
        self.after(attempt, outcome);
    }

    fn after(mut self: Box<Self>, attempt: Attempt, outcome: Result<Option<SendResult>>) {
        // A send to the caller's queue has one attempt.
        if self.ready.queue.is_some() {
            let outcome = attempt.only(&self.ready.out, outcome);
            return self.finish(outcome);
        }
        let inner = self.inner.clone();
        let span = self.span.take();
        let step = {
            let _entered = span.as_deref().map(Span::enter);
            inner.after_attempt(&mut self.retry, attempt, outcome, &self.ready.out)
        };
        self.span = span;
        match step {
            Step::Done(result) => self.finish(result),
            Step::GiveUp => self.give_up(),
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
        self.deliver(result);
    }

    fn deliver(&mut self, result: Result<SendResult>) {
        self.permit = None;
        let Some(sink) = self.sink.take() else {
            return;
        };
        let span = self.span.take().map_or_else(Span::none, |span| *span);
        // A send to the caller's queue makes its one attempt outside the retry loop.
        let attempts = if self.ready.queue.is_some() {
            1
        } else {
            self.retry.made
        };
        span.record("attempts", attempts);
        observe::send_done(
            &self.inner.meters,
            &span,
            &self.ready.out,
            self.ready.started.elapsed(),
            result.as_ref().map(Some),
        );
        let outcome = result.map_err(|error| Failure {
            error,
            unsent: self.ready.out.take_unsent(&self.inner),
        });
        sink.deliver(outcome, &self.inner);
    }
}

impl Drop for AsyncSend {
    fn drop(&mut self) {
        if self.sink.is_some() {
            let error = if std::thread::panicking() {
                Error::Panicked("the send panicked before it had an outcome".into())
            } else {
                Error::Shutdown
            };
            self.deliver(Err(error));
        }
    }
}

/// The result of an accepted async send (see [`Producer::send_async`](crate::Producer::send_async)).
///
/// The send runs to its end whether or not this future is polled or kept: awaiting it only
/// receives the outcome, at any time, and dropping it loses only the outcome. `flush` and
/// `shutdown` wait for the send either way. A failure hands back what the send carried.
#[must_use = "the send runs anyway; await this to learn its result"]
#[derive(Debug)]
pub struct SendFuture<M: Payload = Message> {
    rx: oneshot::Receiver<Box<Outcome>>,
    _payload: PhantomData<fn() -> M>,
}

impl<M: Payload> Future for SendFuture<M> {
    type Output = std::result::Result<SendResult, SendError<M>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|outcome| match outcome {
                Ok(outcome) => outcome.map_err(Failure::into_send_error),
                // Its producer is gone, and the message with it.
                Err(_) => Err(Failure {
                    error: Error::Shutdown,
                    unsent: Unsent::Batch(Vec::new()),
                }
                .into_send_error()),
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

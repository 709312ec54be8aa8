//! Who finishes an accepted async send (Java: the async sender executor and the callback
//! thread of `MQClientAPIImpl.sendMessageAsync`).
//!
//! Once a send is accepted, the rest of it (waiting for the answer, retries within the one
//! deadline, the fault strategy's record of the real latency, hooks, releasing its permit, the
//! in-flight count `flush` and `shutdown` wait on) runs in a task of its own, whether or not
//! anyone polls its [`SendFuture`] or keeps it. The future only receives the outcome.
//!
//! The task is polled where the send waits and nowhere else. Two other designs were built and measured (docs/performance.md): one driver task per
//! producer owning every send in a `FuturesUnordered` serializes all completions on one task
//! (30 % fewer messages per second on the default multi-thread runtime); and polling a send
//! from its waker, in the connection task that delivers its answer, needs no task at all but
//! deadlocks when a waker fires under a lock the send's own poll then needs
//! (`futures::Shared`, behind the shared connect, does exactly that).
//!
//! Acceptance is admission: the message is valid and ready (compressed), and the send holds
//! one of the producer's async permits, which bound what is in flight.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use parking_lot::Mutex;
use rustc_hash::{FxHashMap, FxHashSet};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;

use super::Ready;
use super::attempt::panic_message;
use crate::hook::SendMode;
use crate::producer::ProducerInner;
use crate::{Error, Result, SendResult};

/// The callback of [`Producer::send_with_callback`](crate::Producer::send_with_callback).
pub(crate) type Callback = Box<dyn FnOnce(Result<SendResult>) + Send>;

/// Accepted async sends not yet completed: their permits, their count (so `flush` and
/// `shutdown` can wait for them) and their tasks (so `shutdown` can end them).
#[derive(Debug)]
pub(crate) struct AsyncTracker {
    permits: Arc<Semaphore>,
    capacity: usize,
    in_flight: AtomicUsize,
    idle: Notify,
    /// Set once shutdown's grace is over.
    aborted: AtomicBool,
    /// The running sends' tasks, so shutdown can end them.
    tasks: Mutex<Registry>,
    next_key: AtomicU64,
}

/// The running sends' tasks, by a key of their own.
#[derive(Debug, Default)]
struct Registry {
    running: FxHashMap<u64, AbortHandle>,
    /// Sends that finished before their task was registered (a task can run to its end on
    /// another worker before `spawn` returns): not to be registered.
    finished_early: FxHashSet<u64>,
}

impl AsyncTracker {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(capacity.min(Semaphore::MAX_PERMITS))),
            capacity,
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            aborted: AtomicBool::new(false),
            tasks: Mutex::default(),
            next_key: AtomicU64::new(0),
        }
    }

    /// Accepts no more sends, including those waiting for a permit.
    pub(crate) fn close(&self) {
        self.permits.close();
    }

    /// Ends the grace of the sends still in flight: their tasks are aborted, and each
    /// resolves with [`Error::Shutdown`] (callbacks included).
    pub(crate) fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
        let tasks: Vec<AbortHandle> = self.tasks.lock().running.drain().map(|(_, t)| t).collect();
        for task in tasks {
            task.abort();
        }
    }

    /// Whether shutdown's grace is over.
    pub(crate) fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }

    fn started(&self) {
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

    /// Spawns `work`, the rest of an accepted send, registered so shutdown can end it; the
    /// task unregisters itself when its [`Finished`] drops.
    fn spawn<T: Send + 'static>(
        &self,
        key: u64,
        work: impl Future<Output = T> + Send + 'static,
    ) -> JoinHandle<T> {
        // Not under the registry's lock: tokio drops the future inline when its runtime is
        // shutting down, and the future's `Finished` takes that lock.
        let handle = tokio::spawn(work);
        let mut tasks = self.tasks.lock();
        if tasks.finished_early.remove(&key) {
            return handle;
        }
        // A shutdown that already drained the table ends the task at once.
        if self.is_aborted() {
            handle.abort();
        } else {
            tasks.running.insert(key, handle.abort_handle());
        }
        handle
    }
}

/// What an accepted send holds until it ends, released when dropped, however it ends
/// (answer, error, abort, or a panicking callback): its count in flight and its task's entry.
struct Finished {
    inner: Arc<ProducerInner>,
    key: u64,
}

impl Drop for Finished {
    fn drop(&mut self) {
        let tracker = &self.inner.tracker;
        {
            let mut tasks = tracker.tasks.lock();
            if tasks.running.remove(&self.key).is_none() {
                tasks.finished_early.insert(self.key);
            }
        }
        tracker.finished();
    }
}

/// A send admitted for async delivery: validated, holding its permit, counted in flight.
pub(crate) struct Accepted<F> {
    /// The send itself, to its outcome; boxed once when started, so its task stays small (a
    /// task holding it inline would be an over-aligned allocation of its size).
    send: F,
    finished: Finished,
}

/// Takes an async permit for `ready` (waiting until its deadline for one), counts it in
/// flight and builds the send, not yet polled.
pub(crate) async fn admit(
    inner: &Arc<ProducerInner>,
    ready: Ready,
) -> Result<Accepted<impl Future<Output = Result<SendResult>> + Send + 'static>> {
    let permit = acquire(inner, ready.deadline).await?;
    let tracker = &inner.tracker;
    tracker.started();
    let finished = Finished {
        inner: inner.clone(),
        key: tracker.next_key.fetch_add(1, Ordering::Relaxed),
    };
    let producer = inner.clone();
    // An `async move` block, not an `async fn` taking these by value: the latter would hold
    // them twice in its state.
    let send = async move {
        let result = producer
            .send_ready(&ready, SendMode::Async)
            .await
            .and_then(|r| r.ok_or(Error::Shutdown));
        drop(permit);
        // A send that failed because the producer shut down reports that, whatever the
        // transport said (its connections were closed under it).
        match result {
            Err(_) if producer.tracker.is_aborted() => Err(Error::Shutdown),
            other => other,
        }
    };
    Ok(Accepted { send, finished })
}

async fn acquire(inner: &ProducerInner, deadline: Instant) -> Result<OwnedSemaphorePermit> {
    let permits = inner.tracker.permits.clone();
    // Without a wait when a permit is free: no timer for the common case.
    if let Ok(permit) = permits.clone().try_acquire_owned() {
        return Ok(permit);
    }
    match tokio::time::timeout_at(deadline, permits.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) => Err(Error::Shutdown),
        Err(_) => Err(Error::TooManyInFlight(inner.tracker.capacity)),
    }
}

impl<F: Future<Output = Result<SendResult>> + Send + 'static> Accepted<F> {
    /// Hands the send to a task of its own; the future receives its outcome.
    pub(crate) fn into_future(self) -> SendFuture {
        let Accepted { send, finished } = self;
        let send = Box::pin(send);
        let inner = finished.inner.clone();
        SendFuture(inner.tracker.spawn(finished.key, async move {
            // Boxed: the task's cell is as large as its output, for as long as the send runs.
            let result = Box::new(send.await);
            drop(finished);
            result
        }))
    }

    /// Runs the send in a task of its own that calls `callback` exactly once: with the
    /// outcome, or with [`Error::Shutdown`] when shutdown ends it first.
    pub(crate) fn deliver_to(self, callback: Callback) {
        let Accepted { send, finished } = self;
        let send = Box::pin(send);
        let inner = finished.inner.clone();
        let key = finished.key;
        let delivery = Delivery {
            callback: Some(callback),
            _finished: finished,
        };
        inner.tracker.spawn(key, async move {
            let result = send.await;
            delivery.deliver(result);
        });
    }
}

/// A callback still owed its one call. Dropped without one (shutdown ended the send), it
/// calls the callback with [`Error::Shutdown`]; the send counts as finished only after the
/// callback returned, so `flush` and `shutdown` see callbacks done.
struct Delivery {
    callback: Option<Callback>,
    _finished: Finished,
}

impl Delivery {
    fn deliver(mut self, result: Result<SendResult>) {
        if let Some(callback) = self.callback.take() {
            call(callback, result);
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(callback) = self.callback.take() {
            // Dropped unfinished: by shutdown, or while the send's task unwinds.
            let error = if std::thread::panicking() {
                Error::Panicked("the send's task panicked before it had an outcome".into())
            } else {
                Error::Shutdown
            };
            call(callback, Err(error));
        }
    }
}

/// Calls a user callback; a panic in it is logged and goes no further.
fn call(callback: Callback, result: Result<SendResult>) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| callback(result))) {
        tracing::error!(
            panic = %panic_message(panic.as_ref()),
            "a send callback panicked"
        );
    }
}

/// The result of an accepted async send (see [`Producer::send_async`](crate::Producer::send_async)).
///
/// The send runs to its end in a task of its own whether or not this future is polled or
/// kept: awaiting it only receives the outcome, at any time, and dropping it loses only the
/// outcome. `flush` and `shutdown` wait for the send either way.
#[must_use = "the send runs anyway; await this to learn its result"]
#[derive(Debug)]
pub struct SendFuture(JoinHandle<Box<Result<SendResult>>>);

impl Future for SendFuture {
    type Output = Result<SendResult>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|outcome| match outcome {
            Ok(result) => *result,
            // Aborted at shutdown.
            Err(e) if e.is_cancelled() => Err(Error::Shutdown),
            Err(e) => Err(Error::Panicked(panic_message(&*e.into_panic()))),
        })
    }
}

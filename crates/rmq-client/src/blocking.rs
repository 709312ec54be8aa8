//! A producer for programs without an async runtime: every call blocks until it is done
//! (Java: `DefaultMQProducer`, whose `send` blocks; rdkafka: `BaseProducer`).
//!
//! ```no_run
//! use rmq_client::blocking::Producer;
//! use rmq_common::Message;
//!
//! fn main() -> Result<(), rmq_client::Error> {
//!     let producer = Producer::start(
//!         rmq_client::Producer::builder("order_producer").name_server("127.0.0.1:9876"),
//!     )?;
//!     let result = producer.send(Message::new("TopicTest", "Hello RocketMQ"))?;
//!     println!("{result}");
//!     producer.shutdown();
//!     Ok(())
//! }
//! ```

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use rmq_common::{Message, MessageQueue};
use tokio::runtime::{Handle, Runtime};

use crate::{Error, MessageQueueSelector, Payload, ProducerBuilder, Result, SendError, SendResult};

/// A producer whose calls block (see the [module docs](self)). Cheap to clone; clones share
/// the producer and its runtime.
///
/// It runs the async [`Producer`](crate::Producer) on a runtime of its own (two worker
/// threads), or on one the program hands in with [`start_on`](Self::start_on). Calls from a
/// task of an async runtime are refused with [`Error::Config`]: blocking there would stall the
/// runtime; use the async producer instead.
#[derive(Clone, Debug)]
pub struct Producer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    producer: crate::Producer,
    driver: Driver,
}

/// Where the producer's work runs.
#[derive(Debug)]
enum Driver {
    /// Taken when dropped.
    Owned(Option<Runtime>),
    Shared(Handle),
}

/// What a blocking call blocks on.
enum Blocker<'a> {
    Runtime(&'a Runtime),
    Handle(&'a Handle),
}

impl Blocker<'_> {
    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        match self {
            Blocker::Runtime(runtime) => runtime.block_on(future),
            Blocker::Handle(handle) => handle.block_on(future),
        }
    }
}

impl Driver {
    /// Where a blocking call runs; refused from inside an async runtime, or once the
    /// producer's own runtime is gone.
    fn blocker(&self) -> Result<Blocker<'_>> {
        if Handle::try_current().is_ok() {
            return Err(Error::Config(
                "a blocking producer call from inside an async runtime would stall it; use rmq::Producer there".into(),
            ));
        }
        match self {
            Driver::Owned(Some(runtime)) => Ok(Blocker::Runtime(runtime)),
            Driver::Owned(None) => Err(Error::Shutdown),
            Driver::Shared(handle) => Ok(Blocker::Handle(handle)),
        }
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> Result<F::Output> {
        Ok(self.blocker()?.block_on(future))
    }

    fn spawn(&self, future: impl std::future::Future<Output = ()> + Send + 'static) {
        match self {
            Driver::Owned(Some(runtime)) => drop(runtime.spawn(future)),
            Driver::Owned(None) => {}
            Driver::Shared(handle) => drop(handle.spawn(future)),
        }
    }
}

impl Shared {
    /// Shuts the producer down: blocking where that is allowed, else in the background.
    fn shutdown(&self) {
        if self.driver.block_on(self.producer.shutdown()).is_err() {
            let producer = self.producer.clone();
            self.driver.spawn(async move { producer.shutdown().await });
        }
    }
}

/// The last clone gone without a `shutdown`: the producer is shut down then, so accepted
/// sends get their grace instead of being dropped with the runtime.
impl Drop for Shared {
    fn drop(&mut self) {
        if self.producer.state() == crate::ServiceState::Running {
            self.shutdown();
        }
        // Dropping a runtime blocks, which an async context forbids.
        if let Driver::Owned(runtime) = &mut self.driver
            && let Some(runtime) = runtime.take()
            && Handle::try_current().is_ok()
        {
            runtime.shutdown_background();
        }
    }
}

impl Producer {
    /// Builds and starts a producer on a runtime of its own.
    pub fn start(builder: ProducerBuilder) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("rmq-blocking")
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("could not start the producer's runtime: {e}")))?;
        Self::start_with(builder, Driver::Owned(Some(runtime)))
    }

    /// Builds and starts a producer on the runtime behind `handle` (which must keep running,
    /// on threads of its own, for as long as the producer is used).
    pub fn start_on(builder: ProducerBuilder, handle: Handle) -> Result<Self> {
        Self::start_with(builder, Driver::Shared(handle))
    }

    fn start_with(builder: ProducerBuilder, driver: Driver) -> Result<Self> {
        let producer = driver.block_on(builder.start())??;
        Ok(Self {
            shared: Arc::new(Shared { producer, driver }),
        })
    }

    /// The async producer underneath, for calls this facade does not wrap.
    pub fn async_producer(&self) -> &crate::Producer {
        &self.shared.producer
    }

    /// Runs a send on the producer's runtime; a call refused before it starts hands back
    /// what it would have sent.
    fn blocking<'s, T, M, F>(
        &'s self,
        payload: M,
        send: impl FnOnce(&'s crate::Producer, M) -> F,
    ) -> std::result::Result<T, SendError<M>>
    where
        M: Payload,
        F: std::future::Future<Output = std::result::Result<T, SendError<M>>>,
    {
        match self.shared.driver.blocker() {
            Ok(blocker) => blocker.block_on(send(&self.shared.producer, payload)),
            Err(error) => Err(SendError::new(error, payload)),
        }
    }

    /// Sends `msg` and waits for the broker's answer, with retries (see
    /// [`Producer::send`](crate::Producer::send)). A failure hands the message back.
    pub fn send(&self, msg: Message) -> Result<SendResult, SendError> {
        self.blocking(msg, |producer, msg| producer.send(msg).into_future())
    }

    /// Like [`send`](Self::send) with its own timeout.
    pub fn send_timeout(&self, msg: Message, timeout: Duration) -> Result<SendResult, SendError> {
        self.blocking(msg, |producer, msg| {
            producer.send(msg).timeout(timeout).into_future()
        })
    }

    /// Sends `msg` to `queue` only, one attempt (see
    /// [`Producer::send_to_queue`](crate::Producer::send_to_queue)).
    pub fn send_to_queue(
        &self,
        msg: Message,
        queue: MessageQueue,
    ) -> Result<SendResult, SendError> {
        self.blocking(msg, |producer, msg| {
            producer.send_to_queue(msg, queue).into_future()
        })
    }

    /// Sends `msg` to the queue `selector` picks for `arg` (see
    /// [`Producer::send_with_selector`](crate::Producer::send_with_selector)).
    pub fn send_with_selector<A, S>(
        &self,
        msg: Message,
        selector: S,
        arg: A,
    ) -> Result<SendResult, SendError>
    where
        A: Send,
        S: MessageQueueSelector<A>,
    {
        self.blocking(msg, |producer, msg| {
            producer
                .send_with_selector(msg, selector, arg)
                .into_future()
        })
    }

    /// Sends several messages of one topic as one request (see
    /// [`Producer::send_batch`](crate::Producer::send_batch)); a failure hands them back.
    pub fn send_batch(
        &self,
        msgs: impl IntoIterator<Item = Message>,
    ) -> std::result::Result<SendResult, SendError<Vec<Message>>> {
        let msgs: Vec<Message> = msgs.into_iter().collect();
        self.blocking(msgs, |producer, msgs| {
            producer.send_batch(msgs).into_future()
        })
    }

    /// Sends `msg` without waiting for an answer; returns once it is written (see
    /// [`Producer::send_oneway`](crate::Producer::send_oneway)).
    pub fn send_oneway(&self, msg: Message) -> Result<(), SendError> {
        self.blocking(msg, |producer, msg| producer.send_oneway(msg).into_future())
    }

    /// Accepts `msg` for an async send and returns at once; `callback` is called exactly once,
    /// on a thread of the producer's runtime, with the outcome (see
    /// [`Producer::send_with_callback`](crate::Producer::send_with_callback)).
    pub fn send_with_callback<F>(&self, msg: Message, callback: F) -> Result<(), SendError>
    where
        F: FnOnce(Result<SendResult, SendError>) + Send + 'static,
    {
        self.blocking(msg, |producer, msg| {
            producer.send_with_callback(msg, callback).into_future()
        })
    }

    /// Waits until every accepted async send has completed, or `timeout` passes (then the
    /// error says how many are still pending).
    pub fn flush(&self, timeout: Duration) -> std::result::Result<(), usize> {
        self.shared
            .driver
            .block_on(self.shared.producer.flush(timeout))
            .unwrap_or_else(|_| Err(self.shared.producer.async_in_flight()))
    }

    /// Stops the producer (see [`Producer::shutdown`](crate::Producer::shutdown)). Called
    /// from inside an async runtime it only starts the shutdown.
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }
}

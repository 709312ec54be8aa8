//! The send calls (Java: `DefaultMQProducer.send` overloads, `sendOneway`, `send(msg,
//! callback)`), as builders: await one directly, or set `.timeout(..)` first.
//!
//! The send path, one file a step:
//! - [`prepare`]: the message made ready once (validate, namespace, ids, compression);
//! - [`retry`]: the retry loop and its policy (which error retries, what the fault strategy
//!   records);
//! - [`attempt`]: one request on the wire and its answer, with the hooks around it;
//! - [`driver`]: who finishes an accepted async send, polled or not.

mod accumulate;
mod attempt;
mod budget;
mod driver;
#[cfg(test)]
pub(crate) mod fake;
mod payload;
mod prepare;
mod retry;
#[cfg(test)]
pub(crate) mod tests;

use std::future::IntoFuture;
use std::time::Duration;

use rmq_common::{Message, MessageQueue};

pub(crate) use accumulate::Accumulator;
pub use accumulate::AutoBatch;
pub(crate) use attempt::{contain_callback, now_millis, panic_message};
pub use budget::InFlight;
pub(crate) use driver::AsyncTracker;
pub use driver::SendFuture;
use driver::{Sink, acquire, submit, submit_one};
pub use payload::Payload;
use payload::{Failure, Unsent};

use crate::hook::SendMode;
use crate::observe;
use crate::producer::ProducerInner;
use crate::selector::MessageQueueSelector;
use crate::transport::BoxFuture;
use crate::{Error, Producer, Result, SendError, SendResult};
pub(crate) use prepare::Outgoing;
use tokio::time::Instant;
use tracing::Instrument;

type Selector<'a> = Box<dyn FnOnce(&[MessageQueue], &Message) -> Option<MessageQueue> + Send + 'a>;

/// Where a send goes.
pub(crate) enum Target<'a> {
    /// Any queue, with retries on other brokers.
    Any,
    /// This queue, one attempt.
    Queue(MessageQueue),
    /// The queue a selector picks, one attempt.
    Selected(Selector<'a>),
}

impl<'a> Target<'a> {
    /// The queue `selector` picks for `arg`.
    pub(crate) fn selected<A, S>(selector: S, arg: A) -> Self
    where
        A: Send + 'a,
        S: MessageQueueSelector<A> + 'a,
    {
        Target::Selected(Box::new(move |queues, msg| {
            selector.select(queues, msg, &arg)
        }))
    }
}

impl Producer {
    /// Sends `msg` and waits for the broker's answer (Java: `send(msg)`, SYNC): validate, find
    /// the route, pick a queue, and try up to `1 + retry_times_when_send_failed` times within
    /// the send timeout, moving to another broker after a transport error or a retryable
    /// response code.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use std::time::Duration;
    /// use rmq_common::Message;
    ///
    /// let result = producer.send(Message::new("TopicTest", "hello")).await?;
    /// println!("{result}");
    ///
    /// // Deciding by kind: a failure hands the message back.
    /// match producer
    ///     .send(Message::new("TopicTest", "hello"))
    ///     .timeout(Duration::from_millis(500))
    ///     .await
    /// {
    ///     Ok(sent) => println!("{sent}"),
    ///     Err(failed) if failed.may_have_been_stored() => {
    ///         eprintln!("no answer, may be stored: {}", failed.message().topic())
    ///     }
    ///     Err(failed) if failed.is_retryable() => {
    ///         producer.send(failed.into_message()).await?;
    ///     }
    ///     Err(failed) => return Err(failed.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send(&self, msg: Message) -> SendRequest<'_> {
        SendRequest::new(self, msg, Target::Any)
    }

    /// Sends `msg` to `queue` only, one attempt (Java: `send(msg, mq)`). The queue's topic must
    /// be the message's.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::{Message, MessageQueue};
    /// use rmq_client::ErrorKind;
    /// let queue = MessageQueue::new("TopicTest", "broker-a", 0);
    /// match producer.send_to_queue(Message::new("TopicTest", "hello"), queue).await {
    ///     Ok(sent) => println!("{sent}"),
    ///     // One attempt only: the queue's broker refused or could not be reached.
    ///     Err(failed) if failed.kind() == ErrorKind::Connection => eprintln!("broker down: {failed}"),
    ///     Err(failed) => return Err(failed.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send_to_queue(&self, msg: Message, queue: MessageQueue) -> SendRequest<'_> {
        SendRequest::new(self, msg, Target::Queue(queue))
    }

    /// Sends `msg` to the queue `selector` picks for `arg`, one attempt (Java: `send(msg,
    /// selector, arg)`). Messages with the same `arg` keep their order.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_client::SelectByHash;
    /// use rmq_common::Message;
    /// for step in ["created", "paid", "shipped"] {
    ///     let sent = producer
    ///         .send_with_selector(Message::new("Orders", step), SelectByHash, "order-42")
    ///         .await;
    ///     // Order matters: stop at the first failure rather than skip a step.
    ///     if let Err(failed) = sent {
    ///         eprintln!("{step} failed ({:?}); retry from here later", failed.kind());
    ///         break;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send_with_selector<'a, A, S>(
        &'a self,
        msg: Message,
        selector: S,
        arg: A,
    ) -> SendRequest<'a>
    where
        A: Send + 'a,
        S: MessageQueueSelector<A> + 'a,
    {
        SendRequest::new(self, msg, Target::selected(selector, arg))
    }

    /// Sends several messages of one topic as one request (Java: `send(Collection<Message>)`,
    /// code 320). The result's `msg_id` joins the messages' ids with `,`.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::Message;
    /// use rmq_client::ErrorKind;
    /// let batch = (0..10).map(|i| Message::new("TopicTest", format!("m{i}"))).collect::<Vec<_>>();
    /// match producer.send_batch(batch).await {
    ///     Ok(result) => assert_eq!(result.msg_id.split(',').count(), 10),
    ///     // Too large or mixed: the batch comes back to be split or fixed.
    ///     Err(failed) if failed.kind() == ErrorKind::Invalid => {
    ///         for msg in failed.into_message() {
    ///             producer.send(msg).await?;
    ///         }
    ///     }
    ///     Err(failed) => return Err(failed.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send_batch(
        &self,
        msgs: impl IntoIterator<Item = Message>,
    ) -> SendRequest<'_, Vec<Message>> {
        SendRequest::new(self, msgs.into_iter().collect(), Target::Any)
    }

    /// Sends `msg` without waiting for an answer (Java: `sendOneway`): returns once the request
    /// is written. One attempt.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_client::ErrorKind;
    /// if let Err(failed) = producer.send_oneway(rmq_common::Message::new("Logs", "line")).await {
    ///     // Out of permits, nothing was written: sending it again cannot duplicate it.
    ///     if failed.kind() == ErrorKind::Overloaded {
    ///         producer.send(failed.into_message()).await?;
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send_oneway(&self, msg: Message) -> OnewayRequest<'_> {
        OnewayRequest {
            request: SendRequest::new(self, msg, Target::Any),
        }
    }

    /// Accepts `msg` for sending and returns a future of its result (Java: `send(msg,
    /// callback)`, ASYNC). Resolves once accepted: validated, made ready (compressed) and
    /// holding one of the producer's async permits (waiting up to the send timeout for one);
    /// failures after that (no route, the broker's answer) come through the [`SendFuture`].
    /// From then on the send finishes on its own (the answer, retries of transport failures
    /// on another broker up to `retry_times_when_send_async_failed` times with a fresh request
    /// id, the fault strategy's record, hooks), whether or not the returned [`SendFuture`] is
    /// polled, kept or dropped; awaiting it, now or later, yields the outcome. `flush` and
    /// `shutdown` wait for the send either way. A send that fails, accepted or not, hands the
    /// message back in its [`SendError`].
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::Message;
    /// let pending: Vec<_> = {
    ///     let mut v = Vec::new();
    ///     for i in 0..100 {
    ///         v.push(producer.send_async(Message::new("TopicTest", format!("m{i}"))).await?);
    ///     }
    ///     v
    /// };
    /// for result in pending {
    ///     match result.await {
    ///         Ok(sent) => println!("{sent}"),
    ///         Err(failed) if failed.is_retryable() => {
    ///             producer.send(failed.into_message()).await?;
    ///         }
    ///         Err(failed) => eprintln!("gave up ({:?}): {failed}", failed.kind()),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send_async(&self, msg: Message) -> AsyncRequest<'_> {
        AsyncRequest {
            producer: self,
            msg,
            timeout: None,
        }
    }

    /// Like [`send_async`](Self::send_async), with the result handed to `callback` (Java:
    /// `SendCallback`). If this returns `Ok`, `callback` is called exactly once, with the result
    /// or the error and the message (including [`Error::Shutdown`] if the producer shuts down
    /// first); if it returns `Err`, the message was not accepted, comes back in the error, and
    /// `callback` is never called.
    ///
    /// `callback` runs where the send completes, usually the task of the connection that
    /// delivered the answer (Java runs it on a callback thread pool): keep it short and never
    /// block in it; hand slow work to a task or a channel. A panic in it is logged.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_client::ErrorKind;
    ///
    /// producer
    ///     .send_with_callback(rmq_common::Message::new("TopicTest", "hi"), |result| match result {
    ///         Ok(sent) => println!("{sent}"),
    ///         Err(failed) if failed.kind() == ErrorKind::Overloaded => {
    ///             eprintln!("too busy; parking {:?}", failed.message().body());
    ///         }
    ///         Err(failed) => eprintln!("send failed: {failed}"),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn send_with_callback<F>(&self, msg: Message, callback: F) -> CallbackRequest<'_>
    where
        F: FnOnce(Result<SendResult, SendError<Message>>) + Send + 'static,
    {
        CallbackRequest {
            producer: self,
            msg,
            sink: Sink::callback(callback),
            timeout: None,
        }
    }
}

/// A sync send, ready to be awaited (see [`Producer::send`]); `M` is what it carries and a
/// failure hands back: a [`Message`], or a batch's `Vec<Message>`.
#[must_use = "a send does nothing until it is awaited"]
pub struct SendRequest<'a, M: Payload = Message> {
    producer: &'a Producer,
    payload: M,
    target: Target<'a>,
    timeout: Option<Duration>,
}

impl<M: Payload> std::fmt::Debug for SendRequest<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.target {
            Target::Any => "any queue".to_owned(),
            Target::Queue(queue) => queue.to_string(),
            Target::Selected(_) => "selected queue".to_owned(),
        };
        f.debug_struct("SendRequest")
            .field("messages", &self.payload.len())
            .field("target", &target)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl std::fmt::Debug for CallbackRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackRequest")
            .field("topic", &self.msg.topic())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<'a, M: Payload> SendRequest<'a, M> {
    pub(crate) fn new(producer: &'a Producer, payload: M, target: Target<'a>) -> Self {
        Self {
            producer,
            payload,
            target,
            timeout: None,
        }
    }

    /// Overrides the producer's send timeout for this send (Java: the `timeout` overloads).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends without waiting for an answer (Java: `sendOneway(msg, mq)`,
    /// `sendOneway(msg, selector, arg)`): one attempt, done once written.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::{Message, MessageQueue};
    /// let queue = MessageQueue::new("Logs", "broker-a", 0);
    /// producer.send_to_queue(Message::new("Logs", "line"), queue).oneway().await?;
    /// # Ok(()) }
    /// ```
    pub fn oneway(self) -> OnewayRequest<'a, M> {
        OnewayRequest { request: self }
    }

    /// Accepts the send for async delivery and returns a future of its result (Java:
    /// `send(msg, mq, callback)`, `send(msg, selector, arg, callback)`, the batch callbacks).
    /// The queue is chosen now (a selector runs here); the send then finishes on its own,
    /// like [`Producer::send_async`]'s.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_client::SelectByHash;
    /// use rmq_common::Message;
    /// let pending = producer
    ///     .send_with_selector(Message::new("Orders", "paid"), SelectByHash, "order-42")
    ///     .submit()
    ///     .await?;
    /// match pending.await {
    ///     Ok(sent) => println!("{sent}"),
    ///     Err(failed) if failed.is_retryable() => println!("resend {:?} later", failed.message()),
    ///     Err(failed) => eprintln!("send failed: {failed}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn submit(self) -> Result<SendFuture<M>, SendError<M>> {
        let producer = self.producer;
        let (sink, future) = Sink::future();
        match self.ready().await {
            Ok(ready) => submit(&producer.inner, ready, sink).await,
            Err(failure) => Err(failure),
        }
        .map_err(Failure::into_send_error)?;
        Ok(future)
    }

    /// Like [`submit`](Self::submit), with the outcome handed to `callback`, called exactly
    /// once if this returns `Ok` (Java: the `SendCallback` overloads).
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_client::ErrorKind;
    /// use rmq_common::{Message, MessageQueue};
    /// let queue = MessageQueue::new("Logs", "broker-a", 0);
    /// producer
    ///     .send_to_queue(Message::new("Logs", "line"), queue)
    ///     .submit_with_callback(|result| match result {
    ///         Ok(_) => {}
    ///         Err(failed) if failed.kind() == ErrorKind::Timeout => eprintln!("late: {failed}"),
    ///         Err(failed) => eprintln!("send failed: {failed}"),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_with_callback<F>(self, callback: F) -> Result<(), SendError<M>>
    where
        F: FnOnce(Result<SendResult, SendError<M>>) + Send + 'static,
    {
        let producer = self.producer;
        let sink = Sink::callback(callback);
        match self.ready().await {
            Ok(ready) => submit(&producer.inner, ready, sink).await,
            Err(failure) => Err(failure),
        }
        .map_err(Failure::into_send_error)
    }

    /// The message made ready and its queue chosen, if the send has a fixed one.
    async fn ready(self) -> std::result::Result<Ready, Failure> {
        let inner = &self.producer.inner;
        let (started, deadline) = match inner.begin_send(self.timeout) {
            Ok(window) => window,
            Err(error) => {
                return Err(Failure {
                    error,
                    unsent: self.payload.into_unsent(),
                });
            }
        };
        let (out, original) = match self.payload.into_unsent() {
            Unsent::One(msg) => {
                // Selectors see the message as the caller built it (Java: `userMessage`).
                let original = matches!(self.target, Target::Selected(_)).then(|| msg.clone());
                (inner.prepare(msg).await?, original)
            }
            Unsent::Batch(msgs) => (inner.prepare_batch(msgs)?, None),
        };
        let queue = match self.target {
            Target::Any => Ok(None),
            Target::Queue(queue) if queue.topic() != &*out.user_topic => {
                Err(Error::TopicMismatch {
                    message_topic: out.user_topic.to_string(),
                    queue_topic: queue.topic().to_owned(),
                })
            }
            Target::Queue(queue) => Ok(Some(Box::new(queue))),
            Target::Selected(select) => inner
                .find_publish_info(out.message.topic(), &out.user_topic, deadline)
                .await
                .and_then(|info| {
                    let queues: Vec<MessageQueue> =
                        info.queues.iter().map(|q| inner.unwrap_queue(q)).collect();
                    let msg = original.as_ref().unwrap_or(&out.message);
                    select(&queues, msg).ok_or(Error::NoQueueSelected)
                })
                .map(|queue| Some(Box::new(queue))),
        };
        match queue {
            Ok(queue) => Ok(Ready {
                out,
                queue,
                started,
                deadline,
                timed: self.timeout.is_some(),
            }),
            Err(error) => Err(Failure {
                error,
                unsent: out.into_unsent(inner),
            }),
        }
    }

    async fn run(self, mode: SendMode) -> Result<Option<SendResult>, SendError<M>> {
        let inner = &self.producer.inner;
        let ready = self.ready().await.map_err(Failure::into_send_error)?;
        if mode == SendMode::Sync
            && let Some(accumulator) = inner.accumulator.as_ref()
            && let Some(key) = accumulator.key(&ready, mode)
        {
            // Batched: the caller waits for its share of its batch's outcome (Java: a sync
            // `sendByAccumulator`), holding room in flight meanwhile as async sends do (it
            // waits for room within its deadline even when async sends fail fast).
            let (topic, bytes) = (&ready.out.user_topic, ready.out.body.len());
            let permit = match acquire(inner, topic, bytes, ready.deadline, false).await {
                Ok(permit) => permit,
                Err(error) => {
                    return Err(Failure {
                        error,
                        unsent: ready.out.into_unsent(inner),
                    }
                    .into_send_error());
                }
            };
            let (sink, outcome) = Sink::future::<M>();
            accumulator.offer(inner, key, ready, sink, permit);
            return outcome.await.map(Some);
        }
        let span = observe::send_span(&ready.out, mode);
        let outcome = inner
            .send_ready(&ready, mode)
            .instrument(span.clone())
            .await;
        let elapsed = ready.started.elapsed();
        observe::send_done(
            &inner.meters,
            &span,
            &ready.out,
            elapsed,
            outcome.as_ref().map(Option::as_ref),
        );
        match outcome {
            Ok(result) => Ok(result),
            Err(error) => Err(Failure {
                error,
                unsent: ready.out.into_unsent(inner),
            }
            .into_send_error()),
        }
    }
}

/// A send made ready: its message, and its queue when it has a fixed one (boxed: most sends
/// have none, and an async send keeps this for as long as it runs).
pub(crate) struct Ready {
    pub(crate) out: Outgoing,
    pub(crate) queue: Option<Box<MessageQueue>>,
    pub(crate) started: Instant,
    pub(crate) deadline: Instant,
    /// The caller set its own timeout: sent alone, never batched (Java batches only the
    /// overloads without one, so the messages of a batch share one deadline).
    pub(crate) timed: bool,
}

impl ProducerInner {
    /// Checks that a send can start, and gives its start and deadline.
    pub(crate) fn begin_send(&self, timeout: Option<Duration>) -> Result<(Instant, Instant)> {
        self.instance()?;
        // Sends wait on tokio's timers and tasks: refused here rather than a panic there.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Config(
                "sends run on a tokio runtime; call them from within one (or use rmq::blocking)"
                    .into(),
            ));
        }
        Ok(self.send_window(timeout))
    }

    /// Sends a ready send: with retries when it has no fixed queue, else once to its queue.
    pub(crate) async fn send_ready(
        &self,
        ready: &Ready,
        mode: SendMode,
    ) -> Result<Option<SendResult>> {
        let Ready {
            out,
            queue,
            started,
            deadline,
            ..
        } = ready;
        let outcome = match queue {
            None => self.send_with_retries(out, mode, *deadline, *started).await,
            Some(queue) => self.send_to_queue(out, queue, mode, *deadline).await,
        };
        // An attempt that found the deadline passed reports the send's own figures.
        match outcome {
            Err(Error::Timeout { attempts, .. }) => {
                Err(retry::timed_out(out, *started, *deadline, attempts))
            }
            other => other,
        }
    }
}

impl<'a, M: Payload> IntoFuture for SendRequest<'a, M> {
    type Output = Result<SendResult, SendError<M>>;
    type IntoFuture = BoxFuture<'a, Result<SendResult, SendError<M>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            match self.run(SendMode::Sync).await {
                Ok(Some(result)) => Ok(result),
                // Only oneway sends have no result.
                Ok(None) => Err(Failure {
                    error: Error::Shutdown,
                    unsent: Unsent::Batch(Vec::new()),
                }
                .into_send_error()),
                Err(failed) => Err(failed),
            }
        })
    }
}

/// A oneway send, ready to be awaited (see [`Producer::send_oneway`]).
#[derive(Debug)]
#[must_use = "a send does nothing until it is awaited"]
pub struct OnewayRequest<'a, M: Payload = Message> {
    request: SendRequest<'a, M>,
}

impl<M: Payload> OnewayRequest<'_, M> {
    /// Overrides the producer's send timeout for this send.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.request.timeout = Some(timeout);
        self
    }
}

impl<'a, M: Payload> IntoFuture for OnewayRequest<'a, M> {
    type Output = Result<(), SendError<M>>;
    type IntoFuture = BoxFuture<'a, Result<(), SendError<M>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.request.run(SendMode::Oneway).await.map(|_| ()) })
    }
}

/// An async send to be accepted (see [`Producer::send_async`]).
#[derive(Debug)]
#[must_use = "a send does nothing until it is awaited"]
pub struct AsyncRequest<'a> {
    producer: &'a Producer,
    msg: Message,
    timeout: Option<Duration>,
}

impl AsyncRequest<'_> {
    /// Overrides the producer's send timeout for this send.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl<'a> IntoFuture for AsyncRequest<'a> {
    type Output = Result<SendFuture, SendError<Message>>;
    type IntoFuture = BoxFuture<'a, Result<SendFuture, SendError<Message>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (sink, future) = Sink::future();
            submit_one(&self.producer.inner, self.msg, self.timeout, sink)
                .await
                .map_err(Failure::into_send_error)?;
            Ok(future)
        })
    }
}

/// An async send with a callback, to be accepted (see [`Producer::send_with_callback`]).
#[must_use = "a send does nothing until it is awaited"]
pub struct CallbackRequest<'a> {
    producer: &'a Producer,
    msg: Message,
    sink: Sink,
    timeout: Option<Duration>,
}

impl CallbackRequest<'_> {
    /// Overrides the producer's send timeout for this send.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl<'a> IntoFuture for CallbackRequest<'a> {
    type Output = Result<(), SendError<Message>>;
    type IntoFuture = BoxFuture<'a, Result<(), SendError<Message>>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            submit_one(&self.producer.inner, self.msg, self.timeout, self.sink)
                .await
                .map_err(Failure::into_send_error)
        })
    }
}

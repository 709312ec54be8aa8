//! The send calls (Java: `DefaultMQProducer.send` overloads, `sendOneway`, `send(msg,
//! callback)`), as builders: await one directly, or set `.timeout(..)` first.
//!
//! The send path, one file a step:
//! - [`prepare`]: the message made ready once (validate, namespace, ids, compression);
//! - [`retry`]: the retry loop and its policy (which error retries, what the fault strategy
//!   records);
//! - [`attempt`]: one request on the wire and its answer, with the hooks around it;
//! - [`driver`]: who finishes an accepted async send, polled or not.

mod attempt;
mod driver;
#[cfg(test)]
mod fake;
mod prepare;
mod retry;
#[cfg(test)]
mod tests;

use std::future::IntoFuture;
use std::time::Duration;

use rmq_common::{Message, MessageQueue};

pub(crate) use driver::AsyncTracker;
pub use driver::SendFuture;
use driver::{Callback, Sink, submit, submit_one};

use crate::hook::SendMode;
use crate::producer::ProducerInner;
use crate::selector::MessageQueueSelector;
use crate::transport::BoxFuture;
use crate::{Error, Producer, Result, SendResult};
use prepare::Outgoing;
use tokio::time::Instant;

type Selector<'a> = Box<dyn FnOnce(&[MessageQueue], &Message) -> Option<MessageQueue> + Send + 'a>;

/// What a send carries.
enum Payload {
    One(Message),
    Batch(Vec<Message>),
}

/// Where a send goes.
enum Target<'a> {
    /// Any queue, with retries on other brokers.
    Any,
    /// This queue, one attempt.
    Queue(MessageQueue),
    /// The queue a selector picks, one attempt.
    Selected(Selector<'a>),
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
    /// let quick = producer
    ///     .send(Message::new("TopicTest", "hello"))
    ///     .timeout(Duration::from_millis(500))
    ///     .await?;
    /// println!("{result}\n{quick}");
    /// # Ok(()) }
    /// ```
    pub fn send(&self, msg: Message) -> SendRequest<'_> {
        SendRequest::new(self, Payload::One(msg), Target::Any)
    }

    /// Sends `msg` to `queue` only, one attempt (Java: `send(msg, mq)`). The queue's topic must
    /// be the message's.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::{Message, MessageQueue};
    /// let queue = MessageQueue::new("TopicTest", "broker-a", 0);
    /// producer.send_to_queue(Message::new("TopicTest", "hello"), queue).await?;
    /// # Ok(()) }
    /// ```
    pub fn send_to_queue(&self, msg: Message, queue: MessageQueue) -> SendRequest<'_> {
        SendRequest::new(self, Payload::One(msg), Target::Queue(queue))
    }

    /// Sends `msg` to the queue `selector` picks for `arg`, one attempt (Java: `send(msg,
    /// selector, arg)`). Messages with the same `arg` keep their order.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_client::SelectByHash;
    /// use rmq_common::Message;
    /// for step in ["created", "paid", "shipped"] {
    ///     producer
    ///         .send_with_selector(Message::new("Orders", step), SelectByHash, "order-42")
    ///         .await?;
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
        let select: Selector<'a> = Box::new(move |queues, msg| selector.select(queues, msg, &arg));
        SendRequest::new(self, Payload::One(msg), Target::Selected(select))
    }

    /// Sends several messages of one topic as one request (Java: `send(Collection<Message>)`,
    /// code 320). The result's `msg_id` joins the messages' ids with `,`.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::Message;
    /// let batch = (0..10).map(|i| Message::new("TopicTest", format!("m{i}"))).collect::<Vec<_>>();
    /// let result = producer.send_batch(batch).await?;
    /// assert_eq!(result.msg_id.split(',').count(), 10);
    /// # Ok(()) }
    /// ```
    pub fn send_batch(&self, msgs: impl IntoIterator<Item = Message>) -> SendRequest<'_> {
        SendRequest::new(
            self,
            Payload::Batch(msgs.into_iter().collect()),
            Target::Any,
        )
    }

    /// Sends `msg` without waiting for an answer (Java: `sendOneway`): returns once the request
    /// is written. One attempt.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// producer.send_oneway(rmq_common::Message::new("Logs", "line")).await?;
    /// # Ok(()) }
    /// ```
    pub fn send_oneway(&self, msg: Message) -> OnewayRequest<'_> {
        OnewayRequest {
            request: SendRequest::new(self, Payload::One(msg), Target::Any),
        }
    }

    /// Accepts `msg` for sending and returns a future of its result (Java: `send(msg,
    /// callback)`, ASYNC). Resolves once accepted: validated, made ready (compressed) and
    /// holding one of the producer's async permits (waiting up to the send timeout for one);
    /// failures after that (no route, the broker's answer) come through the [`SendFuture`].
    /// From then on the send finishes in a task of its own (the answer, retries of transport
    /// failures on another broker up to `retry_times_when_send_async_failed` times with a fresh
    /// request id, the fault strategy's record, hooks), whether or not the returned
    /// [`SendFuture`] is polled, kept or dropped; awaiting it, now or later, yields the
    /// outcome. `flush` and `shutdown` wait for the send either way.
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
    ///     println!("{}", result.await?);
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
    /// or the error (including [`Error::Shutdown`] if the producer shuts down first); if it
    /// returns `Err`, the message was not accepted and `callback` is never called.
    ///
    /// `callback` runs where the send completes, usually the task of the connection that
    /// delivered the answer (Java runs it on a callback thread pool): keep it short and never
    /// block in it; hand slow work to a task or a channel. A panic in it is logged.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// producer
    ///     .send_with_callback(rmq_common::Message::new("TopicTest", "hi"), |result| match result {
    ///         Ok(sent) => println!("{sent}"),
    ///         Err(e) => eprintln!("send failed: {e}"),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn send_with_callback<F>(&self, msg: Message, callback: F) -> CallbackRequest<'_>
    where
        F: FnOnce(Result<SendResult>) + Send + 'static,
    {
        CallbackRequest {
            producer: self,
            msg,
            callback: Box::new(callback),
            timeout: None,
        }
    }
}

/// A sync send, ready to be awaited (see [`Producer::send`]).
#[must_use = "a send does nothing until it is awaited"]
pub struct SendRequest<'a> {
    producer: &'a Producer,
    payload: Payload,
    target: Target<'a>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for SendRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, messages) = match &self.payload {
            Payload::One(_) => ("message", 1),
            Payload::Batch(batch) => ("batch", batch.len()),
        };
        let target = match &self.target {
            Target::Any => "any queue".to_owned(),
            Target::Queue(queue) => queue.to_string(),
            Target::Selected(_) => "selected queue".to_owned(),
        };
        f.debug_struct("SendRequest")
            .field("payload", &kind)
            .field("messages", &messages)
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

impl<'a> SendRequest<'a> {
    fn new(producer: &'a Producer, payload: Payload, target: Target<'a>) -> Self {
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
    pub fn oneway(self) -> OnewayRequest<'a> {
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
    ///     Err(e) => eprintln!("send failed: {e}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn submit(self) -> Result<SendFuture> {
        let producer = self.producer;
        let ready = self.ready().await?;
        let (sink, future) = Sink::future();
        submit(&producer.inner, ready, sink).await?;
        Ok(future)
    }

    /// Like [`submit`](Self::submit), with the outcome handed to `callback`, called exactly
    /// once if this returns `Ok` (Java: the `SendCallback` overloads).
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::{Message, MessageQueue};
    /// let queue = MessageQueue::new("Logs", "broker-a", 0);
    /// producer
    ///     .send_to_queue(Message::new("Logs", "line"), queue)
    ///     .submit_with_callback(|result| {
    ///         if let Err(e) = result {
    ///             eprintln!("send failed: {e}");
    ///         }
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_with_callback<F>(self, callback: F) -> Result<()>
    where
        F: FnOnce(Result<SendResult>) + Send + 'static,
    {
        let producer = self.producer;
        let ready = self.ready().await?;
        submit(&producer.inner, ready, Sink::Callback(Box::new(callback))).await
    }

    /// The message made ready and its queue chosen, if the send has a fixed one.
    async fn ready(self) -> Result<Ready> {
        let inner = &self.producer.inner;
        let (started, deadline) = inner.begin_send(self.timeout)?;
        let (out, original) = match self.payload {
            Payload::One(msg) => {
                // Selectors see the message as the caller built it (Java: `userMessage`).
                let original = matches!(self.target, Target::Selected(_)).then(|| msg.clone());
                (inner.prepare(msg).await?, original)
            }
            Payload::Batch(msgs) => (inner.prepare_batch(msgs)?, None),
        };
        let queue = match self.target {
            Target::Any => None,
            Target::Queue(queue) => {
                if queue.topic() != &*out.user_topic {
                    return Err(Error::TopicMismatch {
                        message_topic: out.user_topic.to_string(),
                        queue_topic: queue.topic().to_owned(),
                    });
                }
                Some(Box::new(queue))
            }
            Target::Selected(select) => {
                let info = inner
                    .find_publish_info(out.message.topic(), &out.user_topic, deadline)
                    .await?;
                let queues: Vec<MessageQueue> =
                    info.queues.iter().map(|q| inner.unwrap_queue(q)).collect();
                let msg = original.as_ref().unwrap_or(&out.message);
                Some(Box::new(
                    select(&queues, msg).ok_or(Error::NoQueueSelected)?,
                ))
            }
        };
        Ok(Ready {
            out,
            queue,
            started,
            deadline,
        })
    }

    async fn run(self, mode: SendMode) -> Result<Option<SendResult>> {
        let inner = &self.producer.inner;
        let ready = self.ready().await?;
        inner.send_ready(&ready, mode).await
    }
}

/// A send made ready: its message, and its queue when it has a fixed one (boxed: most sends
/// have none, and an async send keeps this for as long as it runs).
pub(crate) struct Ready {
    pub(crate) out: Outgoing,
    pub(crate) queue: Option<Box<MessageQueue>>,
    pub(crate) started: Instant,
    pub(crate) deadline: Instant,
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

impl<'a> IntoFuture for SendRequest<'a> {
    type Output = Result<SendResult>;
    type IntoFuture = BoxFuture<'a, Result<SendResult>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            match self.run(SendMode::Sync).await? {
                Some(result) => Ok(result),
                // Only oneway sends have no result.
                None => Err(Error::Shutdown),
            }
        })
    }
}

/// A oneway send, ready to be awaited (see [`Producer::send_oneway`]).
#[derive(Debug)]
#[must_use = "a send does nothing until it is awaited"]
pub struct OnewayRequest<'a> {
    request: SendRequest<'a>,
}

impl OnewayRequest<'_> {
    /// Overrides the producer's send timeout for this send.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.request.timeout = Some(timeout);
        self
    }
}

impl<'a> IntoFuture for OnewayRequest<'a> {
    type Output = Result<()>;
    type IntoFuture = BoxFuture<'a, Result<()>>;

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
    type Output = Result<SendFuture>;
    type IntoFuture = BoxFuture<'a, Result<SendFuture>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let (sink, future) = Sink::future();
            submit_one(&self.producer.inner, self.msg, self.timeout, sink).await?;
            Ok(future)
        })
    }
}

/// An async send with a callback, to be accepted (see [`Producer::send_with_callback`]).
#[must_use = "a send does nothing until it is awaited"]
pub struct CallbackRequest<'a> {
    producer: &'a Producer,
    msg: Message,
    callback: Callback,
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
    type Output = Result<()>;
    type IntoFuture = BoxFuture<'a, Result<()>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let sink = Sink::Callback(self.callback);
            submit_one(&self.producer.inner, self.msg, self.timeout, sink).await
        })
    }
}

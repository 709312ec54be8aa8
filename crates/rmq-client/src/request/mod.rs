//! Request-reply (Java: `DefaultMQProducer.request` overloads, `prepareSendRequest`,
//! `RequestResponseFuture`; protocol.md §14).
//!
//! A request is a message sent with a `CORRELATION_ID`, the requester's client id
//! (`REPLY_TO_CLIENT`) and its timeout (`TTL`). A responder reads it from the broker and sends
//! a reply ([`Producer::send_reply`]) to the cluster's reply topic; the broker pushes the reply
//! to the requester's connection (PUSH_REPLY_MESSAGE_TO_CLIENT), where it is matched by its
//! correlation id.

mod receive;
mod table;

use std::fmt;
use std::future::IntoFuture;
use std::time::Duration;

use bytes::Bytes;
use rmq_common::properties::keys;
use rmq_common::reply::create_reply_message;
use rmq_common::{Message, MessageQueue};
use tokio::time::Instant;

pub(crate) use receive::receive;
pub(crate) use table::ReplyTable;
use table::{ReplyWaiter, correlation_id};

use crate::selector::MessageQueueSelector;
use crate::send::{Target, contain_callback};
use crate::transport::BoxFuture;
use crate::{Error, Producer, Result, SendError, SendFuture, SendRequest};

/// What a request resolves to: the reply, or the error with the request message handed back.
pub type ReplyResult = std::result::Result<Message, SendError<Message>>;

impl Producer {
    /// Sends `msg` as a request and waits for its reply (Java: `request(msg, timeout)`): the
    /// message goes out like an async send (retries included) and a responder's
    /// [`send_reply`](Self::send_reply) comes back as the returned message, with its
    /// `ARRIVE_TIME`. The producer's send timeout covers both; set another with
    /// [`timeout`](ReplyRequest::timeout).
    ///
    /// No reply in time is [`Error::RequestTimeout`] (the request itself was stored).
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use std::time::Duration;
    /// use rmq_common::Message;
    ///
    /// let reply = producer
    ///     .request(Message::new("Prices", "EURUSD?"))
    ///     .timeout(Duration::from_secs(3))
    ///     .await?;
    /// println!("{:?}", reply.body());
    /// # Ok(()) }
    /// ```
    pub fn request(&self, msg: Message) -> ReplyRequest<'_> {
        ReplyRequest::new(self, msg, Target::Any)
    }

    /// [`request`](Self::request) through `queue`, one attempt (Java: `request(msg, mq,
    /// timeout)`).
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::{Message, MessageQueue};
    /// let queue = MessageQueue::new("Prices", "broker-a", 0);
    /// let reply = producer.request_to_queue(Message::new("Prices", "EURUSD?"), queue).await?;
    /// # drop(reply); Ok(()) }
    /// ```
    pub fn request_to_queue(&self, msg: Message, queue: MessageQueue) -> ReplyRequest<'_> {
        ReplyRequest::new(self, msg, Target::Queue(queue))
    }

    /// [`request`](Self::request) through the queue `selector` picks for `arg`, one attempt
    /// (Java: `request(msg, selector, arg, timeout)`).
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_client::SelectByHash;
    /// use rmq_common::Message;
    /// let reply = producer
    ///     .request_with_selector(Message::new("Accounts", "balance?"), SelectByHash, "acct-7")
    ///     .await?;
    /// # drop(reply); Ok(()) }
    /// ```
    pub fn request_with_selector<'a, A, S>(
        &'a self,
        msg: Message,
        selector: S,
        arg: A,
    ) -> ReplyRequest<'a>
    where
        A: Send + 'a,
        S: MessageQueueSelector<A> + 'a,
    {
        ReplyRequest::new(self, msg, Target::selected(selector, arg))
    }

    /// Sends the reply to `request` (a request message as a responder read it from the
    /// broker), carrying `body` (Java: `MessageUtil.createReplyMessage`, then `send`): to the
    /// cluster's reply topic, with code SEND_REPLY_MESSAGE_V2. Await it like any send, or make
    /// it oneway or async first.
    ///
    /// # Errors
    ///
    /// [`Error::Reply`] when `request` carries no `CLUSTER` property (it was not read from a
    /// broker).
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer, request: rmq_common::Message) -> rmq_client::Result<()> {
    /// producer.send_reply(&request, "1.0842")?.await?;
    /// # Ok(()) }
    /// ```
    pub fn send_reply(&self, request: &Message, body: impl Into<Bytes>) -> Result<SendRequest<'_>> {
        Ok(self.send(create_reply_message(request, body)?))
    }
}

/// A request, ready to be awaited for its reply (see [`Producer::request`]).
#[must_use = "a request does nothing until it is awaited"]
pub struct ReplyRequest<'a> {
    producer: &'a Producer,
    msg: Message,
    target: Target<'a>,
    timeout: Option<Duration>,
}

impl fmt::Debug for ReplyRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyRequest")
            .field("topic", &self.msg.topic())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<'a> ReplyRequest<'a> {
    fn new(producer: &'a Producer, msg: Message, target: Target<'a>) -> Self {
        ReplyRequest {
            producer,
            msg,
            target,
            timeout: None,
        }
    }

    /// How long to wait for the reply, the send included (the producer's send timeout by
    /// default); it goes to the responder as the request's `TTL`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request and hands its reply, or its failure, to `callback` (Java:
    /// `request(msg, RequestCallback, timeout)`). If this returns `Ok` the request was
    /// accepted and `callback` is called exactly once, whether or not anything else is
    /// awaited: with the reply, or the error when no reply comes in time. If it returns `Err`,
    /// the message comes back in it and `callback` is never called.
    ///
    /// ```no_run
    /// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
    /// use rmq_common::Message;
    /// producer
    ///     .request(Message::new("Prices", "EURUSD?"))
    ///     .submit_with_callback(|reply| match reply {
    ///         Ok(reply) => println!("{:?}", reply.body()),
    ///         Err(failed) => eprintln!("no reply: {failed}"),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn submit_with_callback<F>(
        self,
        callback: F,
    ) -> std::result::Result<(), SendError<Message>>
    where
        F: FnOnce(ReplyResult) + Send + 'static,
    {
        let pending = self.start().await?;
        tokio::spawn(async move {
            let reply = pending.finish().await;
            contain_callback("a request callback", || callback(reply));
        });
        Ok(())
    }

    /// Sends the request: its properties set, its reply awaited from now on.
    async fn start(self) -> std::result::Result<Pending, SendError<Message>> {
        let ReplyRequest {
            producer,
            mut msg,
            target,
            timeout,
        } = self;
        let inner = &producer.inner;
        let timeout = timeout.unwrap_or(inner.config.send_timeout);
        let (_, deadline) = inner.send_window(Some(timeout));
        let instance = match inner.instance() {
            Ok(instance) => instance,
            Err(error) => return Err(SendError::new(error, msg)),
        };
        let correlation = correlation_id();
        let props = msg.properties_mut();
        props.insert_static(keys::CORRELATION_ID, correlation.clone());
        props.insert_static(keys::REPLY_TO_CLIENT, instance.client_id().to_owned());
        props.insert_static(keys::TTL, timeout.as_millis().to_string());

        // Java: a topic met for the first time gets its route, then a heartbeat to every
        // broker, so the broker holding the reply can find this client's connection.
        let user_topic = inner.unwrap_topic(msg.topic_shared());
        let wire_topic = inner.wrap(&user_topic);
        if inner.publish_info(&wire_topic).is_none() {
            if let Err(error) = inner
                .find_publish_info(&wire_topic, &user_topic, deadline)
                .await
            {
                return Err(SendError::new(error, msg));
            }
            // Within the request's deadline: a slow broker must not eat the reply's wait.
            let _ = tokio::time::timeout_at(deadline, instance.heartbeat_all()).await;
        }
        let waiter = match instance.replies().register(correlation) {
            Ok(waiter) => waiter,
            Err(error) => return Err(SendError::new(error, msg)),
        };
        let request = msg.clone();
        let remaining = deadline.saturating_duration_since(Instant::now());
        let sent = SendRequest::new(producer, msg, target)
            .timeout(remaining)
            .submit()
            .await?;
        Ok(Pending {
            sent,
            waiter,
            deadline,
            timeout,
            request,
        })
    }
}

impl<'a> IntoFuture for ReplyRequest<'a> {
    type Output = ReplyResult;
    type IntoFuture = BoxFuture<'a, ReplyResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.start().await?.finish().await })
    }
}

/// A request on its way: its send, then its reply.
struct Pending {
    sent: SendFuture,
    waiter: ReplyWaiter,
    deadline: Instant,
    timeout: Duration,
    /// The request as sent, handed back if no reply comes.
    request: Message,
}

impl Pending {
    async fn finish(self) -> ReplyResult {
        let Pending {
            sent,
            mut waiter,
            deadline,
            timeout,
            request,
        } = self;
        // A failed send fails the request at once (Java: `requestFail`).
        sent.await?;
        match tokio::time::timeout_at(deadline, &mut waiter.rx).await {
            Ok(Ok(reply)) => Ok(reply),
            // The table was cleared: the client instance stopped.
            Ok(Err(_)) => Err(SendError::new(Error::Shutdown, request)),
            Err(_) => {
                let topic = request.topic().to_owned();
                Err(SendError::new(
                    Error::RequestTimeout { topic, timeout },
                    request,
                ))
            }
        }
    }
}

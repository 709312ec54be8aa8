//! The send path (Java: `DefaultMQProducerImpl.sendDefaultImpl`, `sendKernelImpl`,
//! `MQClientAPIImpl.sendMessage`, `processSendResponse`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rmq_common::address::vip_channel_address;
use rmq_common::namespace::RETRY_PREFIX;
use rmq_common::properties::keys;
use rmq_common::{ByteString, Message, MessageBatch, MessageQueue, sysflag, validators};
use rmq_remoting::code::request;
use rmq_remoting::header::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use rmq_remoting::{ErrorKind, RemotingCommand};
use tokio::time::Instant;

use crate::hook::{CheckForbiddenContext, MessageType, SendContext, SendMode};
use crate::instance::ClientInstance;
use crate::producer::{ProducerInner, shared};
use crate::{Error, Result, SendAttempt, SendResult, SendStatus};

/// A message made ready for the wire once, and reused by every attempt.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// Namespaced topic, `UNIQ_KEY` and `INSTANCE_ID` set; for a batch, the batch's own
    /// properties and the encoded batch body.
    pub(crate) message: Message,
    /// The topic as the caller named it.
    pub(crate) user_topic: ByteString,
    pub(crate) batch: bool,
    /// The id the caller sees: the `UNIQ_KEY`, or a batch's keys joined by `,`.
    pub(crate) msg_id: ByteString,
    /// The property string, encoded once.
    properties: ByteString,
    reconsume_times: i32,
    max_reconsume_times: Option<i32>,
    /// Set once an attempt's request is queued on a connection: an async send is "accepted"
    /// from then on.
    pub(crate) queued: Arc<AtomicBool>,
}

impl ProducerInner {
    /// Validates `msg` and makes it ready to send (Java: `checkMessage`, `setUniqID`, the
    /// namespace and `%RETRY%` handling of `sendKernelImpl`).
    pub(crate) fn prepare(&self, mut message: Message) -> Result<Outgoing> {
        validators::check_message(&message, self.config.max_message_size)?;
        // Results name the topic without namespace even if the caller wrote it with one.
        let user_topic = self.unwrap_topic(message.topic_shared());
        message.set_topic(self.wrap(&user_topic));
        let msg_id = self.ensure_uniq_key(&mut message);
        self.finish(message, user_topic, false, msg_id)
    }

    /// Validates and encodes a batch (Java: `DefaultMQProducer.batch`).
    pub(crate) fn prepare_batch(&self, messages: Vec<Message>) -> Result<Outgoing> {
        let mut ids = Vec::with_capacity(messages.len());
        let mut wire = Vec::with_capacity(messages.len());
        for mut message in messages {
            validators::check_message(&message, self.config.max_message_size)?;
            let topic = self.wrap(message.topic_shared());
            message.set_topic(topic);
            ids.push(self.ensure_uniq_key(&mut message));
            wire.push(message);
        }
        let batch = MessageBatch::new(wire)?;
        let body = batch.encode_body(self.config.property_style)?;
        let mut message = Message::new(batch.topic(), body);
        let user_topic = self.unwrap_topic(message.topic_shared());
        *message.properties_mut() = batch.properties().clone();
        self.finish(message, user_topic, true, ids.join(",").into())
    }

    fn ensure_uniq_key(&self, message: &mut Message) -> ByteString {
        if let Some(id) = message.properties().get_shared(keys::UNIQ_KEY) {
            return id.clone();
        }
        let id = ByteString::from(self.ids.next_id());
        message
            .properties_mut()
            .insert_static(keys::UNIQ_KEY, id.clone());
        id
    }

    fn finish(
        &self,
        mut message: Message,
        user_topic: ByteString,
        batch: bool,
        msg_id: ByteString,
    ) -> Result<Outgoing> {
        if let Some(namespace) = self.config.namespace.as_deref() {
            message
                .properties_mut()
                .insert_static(keys::INSTANCE_ID, namespace);
        }
        // Retry topics carry these in the header, not in the properties.
        let (mut reconsume_times, mut max_reconsume_times) = (0, None);
        if message.topic().starts_with(RETRY_PREFIX) {
            if let Some(v) = message.properties_mut().remove(keys::RECONSUME_TIME) {
                reconsume_times = v.parse().unwrap_or(0);
            }
            max_reconsume_times = message
                .properties_mut()
                .remove(keys::MAX_RECONSUME_TIMES)
                .and_then(|v| v.parse().ok());
        }
        let properties = ByteString::from(message.properties().encode(self.config.property_style));
        Ok(Outgoing {
            message,
            user_topic,
            batch,
            msg_id,
            properties,
            reconsume_times,
            max_reconsume_times,
            queued: Arc::default(),
        })
    }

    /// Sends with retries on other brokers within one deadline (Java: `sendDefaultImpl`).
    /// `None` for oneway sends.
    pub(crate) async fn send_with_retries(
        &self,
        out: &Outgoing,
        mode: SendMode,
        deadline: Instant,
        started: Instant,
    ) -> Result<Option<SendResult>> {
        let instance = self.attached_instance()?;
        let info = self
            .find_publish_info(out.message.topic(), &out.user_topic, deadline)
            .await?;
        let total = 1 + match mode {
            SendMode::Sync => self.config.retry_times_when_send_failed,
            SendMode::Async => self.config.retry_times_when_send_async_failed,
            SendMode::Oneway => 0,
        };
        let mut attempts = Vec::new();
        let mut last_broker: Option<ByteString> = None;
        // Boxed: rarely set, and inline it would enlarge every async send in flight.
        let mut last_result: Option<Box<SendResult>> = None;
        for attempt in 0..total {
            let Some(queue) = self
                .fault
                .select_queue(&info, last_broker.as_deref(), attempt > 0)
            else {
                break;
            };
            last_broker = Some(queue.broker_name_shared().clone());
            let begin = Instant::now();
            if begin >= deadline {
                // A message already stored (with a weaker status) is reported, not lost.
                if let Some(result) = last_result {
                    return Ok(Some(*result));
                }
                return Err(self.timeout_error(out, started, deadline, attempts));
            }
            let outcome = self
                .send_kernel(&instance, out, &queue, mode, deadline)
                .await;
            match outcome {
                Ok(result) => {
                    // The clock is read only when something uses the attempt's duration.
                    if self.fault.enabled() {
                        self.fault
                            .update(queue.broker_name(), begin.elapsed(), false, true);
                    }
                    let stored_short = result
                        .as_ref()
                        .is_some_and(|r| r.status != SendStatus::SendOk);
                    if mode == SendMode::Sync
                        && stored_short
                        && self.config.retry_another_broker_when_not_store_ok
                    {
                        let status = result.as_ref().map(|r| r.status.name()).unwrap_or_default();
                        attempts.push(attempt_record(
                            &queue,
                            format!("stored with status {status}"),
                            None,
                            begin.elapsed(),
                        ));
                        last_result = result.map(Box::new);
                        continue;
                    }
                    return Ok(result);
                }
                Err(e) => {
                    let elapsed = begin.elapsed();
                    let verdict = self.classify(&e, mode);
                    self.fault.update(
                        queue.broker_name(),
                        elapsed,
                        verdict.isolation,
                        verdict.reachable,
                    );
                    attempts.push(attempt_record(
                        &queue,
                        e.to_string(),
                        e.response_code(),
                        elapsed,
                    ));
                    tracing::debug!(broker = queue.broker_name(), error = %e, attempt, "send attempt failed");
                    if !verdict.retry {
                        if let Some(result) = last_result {
                            return Ok(Some(*result));
                        }
                        return Err(if attempts.len() == 1 {
                            e
                        } else {
                            Error::AllAttemptsFailed {
                                topic: out.user_topic.to_string(),
                                attempts,
                            }
                        });
                    }
                }
            }
        }
        if let Some(result) = last_result {
            return Ok(Some(*result));
        }
        if Instant::now() >= deadline {
            return Err(self.timeout_error(out, started, deadline, attempts));
        }
        Err(Error::AllAttemptsFailed {
            topic: out.user_topic.to_string(),
            attempts,
        })
    }

    fn timeout_error(
        &self,
        out: &Outgoing,
        started: Instant,
        deadline: Instant,
        attempts: Vec<SendAttempt>,
    ) -> Error {
        Error::Timeout {
            topic: out.user_topic.to_string(),
            elapsed: started.elapsed(),
            timeout: deadline.saturating_duration_since(started),
            attempts,
        }
    }

    /// Whether to try another broker after `e`, and how the fault strategy records it
    /// (Java 5.x `sendDefaultImpl` catch blocks and `MQClientAPIImpl.onExceptionImpl`).
    fn classify(&self, e: &Error, mode: SendMode) -> Verdict {
        match e {
            Error::Remoting(r) => Verdict {
                // 5.x does not retry an async send refused for lack of permits.
                retry: !(mode == SendMode::Async && r.kind() == ErrorKind::TooManyRequests),
                isolation: true,
                reachable: true,
            },
            Error::Broker { code, .. } => Verdict {
                // Async sends never retry broker answers (Java: needRetry = false).
                retry: mode == SendMode::Sync && self.config.retry_response_codes.contains(code),
                isolation: true,
                reachable: false,
            },
            Error::BrokerNotFound { .. }
            | Error::MalformedResponse { .. }
            | Error::NoRoute { .. } => Verdict {
                retry: true,
                isolation: false,
                reachable: true,
            },
            _ => Verdict {
                retry: false,
                isolation: false,
                reachable: true,
            },
        }
    }

    /// One attempt to one queue (Java: `sendKernelImpl` + `MQClientAPIImpl.sendMessage`).
    pub(crate) async fn send_kernel(
        &self,
        instance: &ClientInstance,
        out: &Outgoing,
        queue: &MessageQueue,
        mode: SendMode,
        deadline: Instant,
    ) -> Result<Option<SendResult>> {
        // Everything up to the request being queued runs in its own allocation: that future is
        // large (connecting, permits, hooks), and inline it would stay reserved for as long as
        // an async send waits for its answer, in every send in flight.
        let Started { addr, hooked, sent } =
            Box::pin(self.start_attempt(instance, out, queue, mode, deadline)).await?;
        // Awaited whole: matching out the response future would keep `sent` reserved beside it.
        let outcome = match sent.await {
            Answer::Done(outcome) => outcome,
            Answer::Response(Ok(response)) => self
                .process_response(out, queue, &addr, &response)
                .map(Some),
            Answer::Response(Err(e)) => Err(e.into()),
        };
        if let Some(hooked) = hooked {
            let (result, error) = match &outcome {
                Ok(result) => (result.as_ref(), None),
                Err(e) => (None, Some(e)),
            };
            let Hooked {
                hooks,
                message_type,
                props,
            } = *hooked;
            let ctx = self.context(out, queue, &addr, mode, message_type, result, error, props);
            for hook in hooks.iter() {
                hook.send_message_after(&ctx);
            }
        }
        outcome
    }

    /// The part of an attempt before its request is on a connection: address, compression,
    /// hooks, the request itself. Sync and oneway sends finish here.
    async fn start_attempt(
        &self,
        instance: &ClientInstance,
        out: &Outgoing,
        queue: &MessageQueue,
        mode: SendMode,
        deadline: Instant,
    ) -> Result<Started> {
        let broker = queue.broker_name();
        let addr = match instance.master_addr(broker) {
            Some(addr) => addr,
            None => {
                let refresh = Box::pin(instance.update_route(out.message.topic(), None));
                tokio::time::timeout_at(deadline, refresh)
                    .await
                    .map_err(|_| Error::BrokerNotFound {
                        broker: broker.to_owned(),
                    })??;
                instance
                    .master_addr(broker)
                    .ok_or_else(|| Error::BrokerNotFound {
                        broker: broker.to_owned(),
                    })?
            }
        };
        let addr = shared(
            &addr,
            vip_channel_address(self.config.vip_channel_enabled, &addr),
        );
        let message = &out.message;

        let mut sys_flag = 0;
        let mut body = message.body().clone();
        if !out.batch && body.len() >= self.config.compress_threshold {
            let kind = self.config.compress_type;
            body = Bytes::from(kind.compress(&body, self.config.compress_level)?);
            sys_flag |= sysflag::COMPRESSED_FLAG | kind.compression_flag();
        }
        let half = message.properties().get(keys::TRAN_MSG) == Some("true");
        if half {
            sys_flag |= sysflag::TRANSACTION_PREPARED_TYPE;
        }

        let forbidden = self.forbidden_hooks.read().clone();
        for hook in forbidden.iter() {
            let ctx = CheckForbiddenContext {
                group: self.group(),
                message,
                queue,
                broker_addr: &addr,
                mode,
            };
            hook.check_forbidden(&ctx)
                .map_err(|reason| Error::Forbidden {
                    hook: hook.name().to_owned(),
                    reason,
                })?;
        }
        let hooks = self.send_hooks.read().clone();
        let message_type = if out.batch {
            MessageType::Batch
        } else if half {
            MessageType::TransHalf
        } else if message.delay_level().is_some_and(|l| l > 0) {
            MessageType::Delay
        } else {
            MessageType::Normal
        };
        let hooked = (!hooks.is_empty()).then(|| {
            let mut ctx = self.context(
                out,
                queue,
                &addr,
                mode,
                message_type,
                None,
                None,
                HashMap::new(),
            );
            for hook in hooks.iter() {
                hook.send_message_before(&mut ctx);
            }
            Box::new(Hooked {
                props: ctx.props,
                hooks,
                message_type,
            })
        });

        let sent = self
            .invoke(instance, out, queue, &addr, body, sys_flag, mode, deadline)
            .await;
        Ok(Started { addr, hooked, sent })
    }

    #[allow(clippy::too_many_arguments)]
    fn context<'a>(
        &'a self,
        out: &'a Outgoing,
        queue: &'a MessageQueue,
        addr: &'a str,
        mode: SendMode,
        message_type: MessageType,
        result: Option<&'a SendResult>,
        error: Option<&'a Error>,
        props: HashMap<String, String>,
    ) -> SendContext<'a> {
        SendContext {
            producer_group: self.group(),
            namespace: self.config.namespace.as_deref(),
            message: &out.message,
            queue,
            broker_addr: addr,
            mode,
            message_type,
            result,
            error,
            props,
        }
    }

    /// Builds the request and sends it: to the answer for sync sends, until written for
    /// oneway sends, until queued for async sends.
    #[allow(clippy::too_many_arguments)]
    async fn invoke(
        &self,
        instance: &ClientInstance,
        out: &Outgoing,
        queue: &MessageQueue,
        addr: &str,
        body: Bytes,
        sys_flag: i32,
        mode: SendMode,
        deadline: Instant,
    ) -> Sent {
        let message = &out.message;
        let header = SendMessageRequestHeader {
            producer_group: self.group.clone(),
            topic: message.topic_shared().clone(),
            default_topic: self.default_topic.clone(),
            default_topic_queue_nums: self.config.default_topic_queue_nums,
            queue_id: queue.queue_id(),
            sys_flag,
            born_timestamp: now_millis(),
            flag: message.flag(),
            properties: Some(out.properties.clone()),
            reconsume_times: Some(out.reconsume_times),
            unit_mode: Some(false),
            max_reconsume_times: out.max_reconsume_times,
            batch: Some(out.batch),
            broker_name: Some(queue.broker_name_shared().clone()),
        };
        let reply = message.properties().get(keys::MSG_TYPE) == Some("reply");
        let v2 = self.config.send_smart_msg || out.batch;
        let code = match (out.batch, reply, v2) {
            (true, _, _) => request::SEND_BATCH_MESSAGE,
            (false, true, true) => request::SEND_REPLY_MESSAGE_V2,
            (false, true, false) => request::SEND_REPLY_MESSAGE,
            (false, false, true) => request::SEND_MESSAGE_V2,
            (false, false, false) => request::SEND_MESSAGE,
        };
        let cmd = RemotingCommand::request(code)
            .with_version(self.config.remoting_version)
            .with_language(self.config.language)
            .with_serialize_type(self.config.serialize_type)
            .with_body(body);
        // Written straight into the frame: no header map per send.
        let cmd = if v2 {
            cmd.with_fast_header(SendMessageRequestHeaderV2(header))
        } else {
            cmd.with_fast_header(header)
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Sent::done(Err(Error::Remoting(
                rmq_remoting::RemotingError::new(ErrorKind::Timeout, addr)
                    .with_detail("the send's deadline passed before the request was sent"),
            )));
        }
        let remoting = instance.remoting();
        match mode {
            SendMode::Sync => Sent::done(match remoting.invoke_sync(addr, cmd, remaining).await {
                Ok(response) => self.process_response(out, queue, addr, &response).map(Some),
                Err(e) => Err(e.into()),
            }),
            SendMode::Async => match remoting.invoke_async(addr, cmd, remaining).await {
                Ok(response) => {
                    out.queued.store(true, Ordering::Release);
                    Sent::Awaiting(response)
                }
                Err(e) => Sent::done(Err(e.into())),
            },
            SendMode::Oneway => Sent::done(
                remoting
                    .invoke_oneway(addr, cmd, remaining)
                    .await
                    .map(|()| None)
                    .map_err(Into::into),
            ),
        }
    }

    /// Turns the broker's answer into a result (Java: `processSendResponse`).
    fn process_response(
        &self,
        out: &Outgoing,
        queue: &MessageQueue,
        addr: &str,
        response: &RemotingCommand,
    ) -> Result<SendResult> {
        let Some(status) = SendStatus::from_response_code(response.code()) else {
            return Err(Error::Broker {
                code: response.code(),
                remark: response.remark().unwrap_or_default().to_owned(),
                broker: queue.broker_name().to_owned(),
                addr: addr.to_owned(),
            });
        };
        let header: SendMessageResponseHeader =
            response
                .decode_header()
                .map_err(|e| Error::MalformedResponse {
                    what: "send response header",
                    addr: addr.to_owned(),
                    detail: e.to_string(),
                })?;
        Ok(SendResult {
            status,
            msg_id: out.msg_id.clone(),
            // Results may be kept for long: they get their own copies, not views that would
            // pin the connection's whole read buffer.
            offset_msg_id: Some(detach(&header.msg_id)),
            queue: MessageQueue::new(
                out.user_topic.clone(),
                queue.broker_name_shared().clone(),
                header.queue_id,
            ),
            queue_offset: header.queue_offset,
            transaction_id: header.transaction_id.as_ref().map(detach),
            region_id: match header.region_id.as_deref() {
                None | Some(DEFAULT_REGION) => ByteString::from_static(DEFAULT_REGION),
                Some(region) => ByteString::from(region),
            },
            trace_on: header.trace_on,
        })
    }

    /// Sends to one given queue, once (Java: `send(Message, MessageQueue)` / `sendSelectImpl`).
    pub(crate) async fn send_to_queue(
        &self,
        out: &Outgoing,
        queue: &MessageQueue,
        mode: SendMode,
        deadline: Instant,
    ) -> Result<Option<SendResult>> {
        let instance = self.attached_instance()?;
        let wire = MessageQueue::new(
            self.wrap(queue.topic_shared()),
            queue.broker_name_shared().clone(),
            queue.queue_id(),
        );
        self.send_kernel(&instance, out, &wire, mode, deadline)
            .await
    }
}

/// An attempt whose request has left the send path's large part (see `send_kernel`).
struct Started {
    addr: ByteString,
    /// Present only when there are send hooks.
    hooked: Option<Box<Hooked>>,
    sent: Sent,
}

/// What the send hooks' `send_message_after` needs from the start of the attempt.
struct Hooked {
    hooks: Arc<Vec<Arc<dyn crate::hook::SendMessageHook>>>,
    message_type: MessageType,
    /// What `send_message_before` left in the context's `props`.
    props: HashMap<String, String>,
}

/// Where an attempt's request stands.
enum Sent {
    /// Finished: a sync answer, a oneway write, or an error before or while sending. Boxed:
    /// inline, it would enlarge every async send waiting for its answer.
    Done(Box<Result<Option<SendResult>>>),
    /// An async request, queued on its connection, awaiting the answer.
    Awaiting(rmq_remoting::ResponseFuture),
}

impl Sent {
    fn done(outcome: Result<Option<SendResult>>) -> Self {
        Sent::Done(Box::new(outcome))
    }
}

/// What a [`Sent`] resolves to.
enum Answer {
    Done(Result<Option<SendResult>>),
    Response(std::result::Result<RemotingCommand, rmq_remoting::RemotingError>),
}

impl Future for Sent {
    type Output = Answer;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        match &mut *self {
            Sent::Done(outcome) => Poll::Ready(Answer::Done(std::mem::replace(
                &mut **outcome,
                Err(Error::Shutdown),
            ))),
            Sent::Awaiting(response) => Pin::new(response).poll(cx).map(Answer::Response),
        }
    }
}

struct Verdict {
    retry: bool,
    isolation: bool,
    reachable: bool,
}

fn attempt_record(
    queue: &MessageQueue,
    cause: String,
    code: Option<i32>,
    elapsed: Duration,
) -> SendAttempt {
    SendAttempt {
        broker: queue.broker_name().to_owned(),
        queue_id: queue.queue_id(),
        cause,
        response_code: code,
        elapsed,
    }
}

/// The region a result names when the broker sends none (Java: `MixAll.DEFAULT_REGION`).
const DEFAULT_REGION: &str = "DefaultRegion";

/// A copy of `text` that does not share (and so keep alive) the buffer it was decoded from.
fn detach(text: &ByteString) -> ByteString {
    ByteString::from(&**text)
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
#[cfg(test)]
mod footprint {
    /// What every async send in flight holds stays small (a regression here multiplies by
    /// the sends in flight: 10 000 by default in `rmq bench`'s memory target).
    #[test]
    fn a_send_waiting_for_its_answer_stays_small() {
        assert!(std::mem::size_of::<super::Sent>() <= 96);
        assert!(std::mem::size_of::<super::Started>() <= 128);
        assert!(std::mem::size_of::<crate::request::SendFuture>() <= 64);
        assert!(std::mem::size_of::<rmq_remoting::ResponseFuture>() <= 96);
    }
}

//! One attempt: one request on the wire and its answer (Java: `sendKernelImpl`,
//! `MQClientAPIImpl.sendMessage`, `processSendResponse`).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rmq_common::address::vip_channel_address;
use rmq_common::properties::keys;
use rmq_common::reply::REPLY_MESSAGE_FLAG;
use rmq_common::{ByteString, MessageQueue, sysflag};
use rmq_remoting::RemotingCommand;
use rmq_remoting::body::LOGICAL_QUEUE_MOCK_BROKER_PREFIX;
use rmq_remoting::code::request;
use rmq_remoting::header::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, SendMessageResponseHeader,
};
use tokio::time::Instant;

use super::prepare::Outgoing;
use super::retry::Attempt;
use crate::hook::{CheckForbiddenContext, MessageType, SendContext, SendMode};
use crate::instance::ClientInstance;
use crate::producer::{ProducerInner, shared};
use crate::{Error, Result, SendResult, SendStatus};

impl ProducerInner {
    /// One sync or oneway attempt to one queue (Java: `sendKernelImpl` +
    /// `MQClientAPIImpl.sendMessage`). Async attempts take the same steps, their answer
    /// arriving through a callback (see `driver`).
    pub(crate) async fn send_kernel(
        &self,
        instance: &ClientInstance,
        out: &Outgoing,
        queue: &MessageQueue,
        mode: SendMode,
        deadline: Instant,
        begin: Instant,
    ) -> Result<Option<SendResult>> {
        let (started, request) = self
            .start_attempt(instance, out, queue, mode, deadline)
            .await?;
        let outcome = match remaining(out, deadline) {
            Err(e) => Err(e),
            Ok(timeout) => {
                let transport = instance.transport();
                if mode == SendMode::Oneway {
                    transport
                        .invoke_oneway(&started.addr, request, timeout)
                        .await
                        .map(|()| None)
                        .map_err(|e| self.transport_error(e, mode))
                } else {
                    match transport.invoke_sync(&started.addr, request, timeout).await {
                        Ok(response) => self
                            .process_response(out, queue, &started.addr, &response)
                            .map(Some),
                        Err(e) => Err(self.transport_error(e, mode)),
                    }
                }
            }
        };
        self.finish_attempt(out, queue, mode, started, begin, outcome)
    }

    /// Runs the send hooks' `send_message_after` on an attempt's outcome, which stands
    /// whatever they do.
    pub(crate) fn finish_attempt(
        &self,
        out: &Outgoing,
        queue: &MessageQueue,
        mode: SendMode,
        started: Started,
        begin: Instant,
        outcome: Result<Option<SendResult>>,
    ) -> Result<Option<SendResult>> {
        let Started { addr, hooked } = started;
        crate::observe::attempt_done(
            queue.broker_name(),
            &addr,
            queue.queue_id(),
            begin,
            &outcome,
        );
        if let Ok(Some(result)) = &outcome {
            self.trace_attempt(out, &addr, begin, result);
        }
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
                // The attempt's outcome stands: a stored message reported as failed would be
                // sent again by the caller, a duplicate caused by an observer.
                if let Err(e) = contain(hook.name(), || hook.send_message_after(&ctx)) {
                    tracing::error!(error = %e, "send hook panicked after the attempt; its outcome is kept");
                }
            }
        }
        outcome
    }

    /// The part of an attempt before its request goes out: the broker's address, the
    /// forbidden and before hooks, the request itself.
    pub(crate) async fn start_attempt(
        &self,
        instance: &ClientInstance,
        out: &Outgoing,
        queue: &MessageQueue,
        mode: SendMode,
        deadline: Instant,
    ) -> Result<(Started, RemotingCommand)> {
        let broker = queue.broker_name();
        let addr = match instance.master_addr(broker) {
            Some(addr) => addr,
            // Rare, and its future large: kept out of every send's state.
            None => Box::pin(self.refresh_broker_addr(instance, out, broker, deadline)).await?,
        };
        let addr = shared(
            &addr,
            vip_channel_address(self.config.vip_channel_enabled, &addr),
        );
        let message = &out.message;
        let forbidden = self.forbidden_hooks.read().clone();
        for hook in forbidden.iter() {
            let ctx = CheckForbiddenContext {
                group: self.group(),
                message,
                queue,
                broker_addr: &addr,
                mode,
            };
            contain(hook.name(), || hook.check_forbidden(&ctx))?.map_err(|reason| {
                Error::Forbidden {
                    hook: hook.name().to_owned(),
                    reason,
                }
            })?;
        }
        let hooks = self.send_hooks.read().clone();
        let message_type = if out.batch {
            MessageType::Batch
        } else if out.sys_flag & sysflag::TRANSACTION_PREPARED_TYPE != 0 {
            MessageType::TransHalf
        } else if message.delay_level().is_some_and(|l| l > 0) {
            MessageType::Delay
        } else {
            MessageType::Normal
        };
        let hooked = if hooks.is_empty() {
            None
        } else {
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
                contain(hook.name(), || hook.send_message_before(&mut ctx))?;
            }
            Some(Box::new(Hooked {
                props: ctx.props,
                hooks,
                message_type,
            }))
        };

        let request = self.request(out, queue);
        Ok((Started { addr, hooked }, request))
    }

    /// The master address of `broker` after refreshing the topic's route (Java:
    /// `findBrokerAddressInPublish` after `tryToFindTopicPublishInfo`). As in Java, a name
    /// server failure here is not the broker's: it surfaces as "broker not found", which
    /// retries elsewhere without isolating anyone.
    async fn refresh_broker_addr(
        &self,
        instance: &ClientInstance,
        out: &Outgoing,
        broker: &str,
        deadline: Instant,
    ) -> Result<ByteString> {
        let refresh = Box::pin(instance.update_route(out.message.topic(), None));
        match tokio::time::timeout_at(deadline, refresh).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::debug!(%broker, error = %e, "route refresh for a broker address failed")
            }
            Err(_) => {
                tracing::debug!(%broker, "the send's deadline passed while refreshing the route")
            }
        }
        instance
            .master_addr(broker)
            .ok_or_else(|| Error::BrokerNotFound {
                broker: broker.to_owned(),
            })
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

    /// The send request of one attempt (Java: `MQClientAPIImpl.sendMessage`'s request).
    fn request(&self, out: &Outgoing, queue: &MessageQueue) -> RemotingCommand {
        let message = &out.message;
        let header = SendMessageRequestHeader {
            producer_group: self.group.clone(),
            topic: message.topic_shared().clone(),
            default_topic: self.default_topic.clone(),
            default_topic_queue_nums: self.config.default_topic_queue_nums,
            queue_id: queue.queue_id(),
            sys_flag: out.sys_flag,
            born_timestamp: now_millis(),
            flag: message.flag(),
            properties: Some(out.properties.clone()),
            reconsume_times: Some(out.reconsume_times),
            unit_mode: Some(false),
            max_reconsume_times: out.max_reconsume_times,
            batch: Some(out.batch),
            broker_name: Some(queue.broker_name_shared().clone()),
        };
        let reply = message.properties().get(keys::MSG_TYPE) == Some(REPLY_MESSAGE_FLAG);
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
            .with_body(out.body.clone());
        // Written straight into the frame: no header map per send.
        if v2 {
            cmd.with_fast_header(SendMessageRequestHeaderV2(header))
        } else {
            cmd.with_fast_header(header)
        }
    }

    /// A transport failure as the producer reports it: running out of the remoting client's
    /// permits is the same "too many in flight" as running out of the producer's.
    pub(crate) fn transport_error(
        &self,
        error: rmq_remoting::RemotingError,
        mode: SendMode,
    ) -> Error {
        if error.kind() == rmq_remoting::ErrorKind::TooManyRequests {
            return Error::TooManyInFlight(match mode {
                SendMode::Oneway => self.config.oneway_permits,
                SendMode::Sync | SendMode::Async => self.config.async_permits,
            });
        }
        error.into()
    }

    /// Turns the broker's answer into a result (Java: `processSendResponse`).
    pub(crate) fn process_response(
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
            recall_handle: header.recall_handle.as_ref().map(detach),
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
        tracing::Span::current().record("attempts", 1);
        let attempt = Attempt::to(self.queue_on_wire(out, queue, deadline).await?);
        let outcome = self
            .send_kernel(
                &instance,
                out,
                &attempt.target,
                mode,
                deadline,
                attempt.begin,
            )
            .await;
        attempt.only(out, outcome)
    }

    /// A queue the caller chose, as the broker knows it: the namespaced topic, and for a
    /// static topic's logical queue, the broker that leads it.
    pub(crate) async fn queue_on_wire(
        &self,
        out: &Outgoing,
        queue: &MessageQueue,
        deadline: Instant,
    ) -> Result<MessageQueue> {
        let mut wire = MessageQueue::new(
            self.wrap(queue.topic_shared()),
            queue.broker_name_shared().clone(),
            queue.queue_id(),
        );
        // A static topic's logical queue (from `publish_queues`) names no real broker.
        if queue
            .broker_name()
            .starts_with(LOGICAL_QUEUE_MOCK_BROKER_PREFIX)
        {
            let info = self
                .find_publish_info(wire.topic(), &out.user_topic, deadline)
                .await?;
            wire = info.wire_queue(wire);
        }
        Ok(wire)
    }
}

/// An attempt past its start: what its end (the send hooks' `send_message_after`) needs.
pub(crate) struct Started {
    pub(crate) addr: ByteString,
    /// Present only when there are send hooks.
    hooked: Option<Box<Hooked>>,
}

/// What the send hooks' `send_message_after` needs from the start of the attempt.
struct Hooked {
    hooks: Arc<Vec<Arc<dyn crate::hook::SendMessageHook>>>,
    message_type: MessageType,
    /// What `send_message_before` left in the context's `props`.
    props: HashMap<String, String>,
}

/// The time an attempt has left; none left means nothing is sent, and the retry loop
/// reports the send's timeout without blaming the broker.
pub(crate) fn remaining(out: &Outgoing, deadline: Instant) -> Result<std::time::Duration> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err(Error::Timeout {
            topic: out.user_topic.to_string(),
            elapsed: std::time::Duration::ZERO,
            timeout: std::time::Duration::ZERO,
            attempts: Vec::new(),
        });
    }
    Ok(remaining)
}

/// The region a result names when the broker sends none (Java: `MixAll.DEFAULT_REGION`).
const DEFAULT_REGION: &str = "DefaultRegion";

/// A copy of `text` that does not share (and so keep alive) the buffer it was decoded from.
fn detach(text: &ByteString) -> ByteString {
    ByteString::from(&**text)
}

pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
/// Runs a user hook, turning a panic into an error that names the hook, so one faulty hook
/// fails its send instead of the task that carries it.
pub(crate) fn contain<T>(hook: &str, call: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(call)).map_err(|panic| Error::HookPanicked {
        hook: hook.to_owned(),
        message: panic_message(panic.as_ref()),
    })
}

/// Runs a user callback, logging a panic instead of passing it on: the callback's caller is
/// a connection's or a send's task, which other work shares.
pub(crate) fn contain_callback(what: &str, callback: impl FnOnce()) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(callback)) {
        tracing::error!(
            panic = %panic_message(panic.as_ref()),
            "{what} panicked"
        );
    }
}

/// The text a panic was raised with, when it has one.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

//! Hooks around every send (Java: `SendMessageHook`, `CheckForbiddenHook`,
//! `SendMessageContext`).

use std::collections::HashMap;

use rmq_common::{Message, MessageQueue};

use crate::SendResult;

/// How a send waits for its result (Java: `CommunicationMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SendMode {
    /// The caller waits for the broker's answer.
    Sync,
    /// The caller gets the answer later, through a callback or future.
    Async,
    /// No answer is awaited.
    Oneway,
}

/// What kind of message is sent (Java: `MessageType`), for hooks such as tracing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// An ordinary message.
    Normal,
    /// A transaction half message.
    TransHalf,
    /// A delayed message.
    Delay,
    /// A batch.
    Batch,
}

/// What a send hook sees (Java: `SendMessageContext`).
#[derive(Debug)]
pub struct SendContext<'a> {
    /// The producer group, namespace included.
    pub producer_group: &'a str,
    /// The namespace, if any.
    pub namespace: Option<&'a str>,
    /// The message as it goes on the wire (namespaced topic, `UNIQ_KEY` set).
    pub message: &'a Message,
    /// The target queue.
    pub queue: &'a MessageQueue,
    /// The broker address the request goes to.
    pub broker_addr: &'a str,
    /// How the send waits.
    pub mode: SendMode,
    /// The kind of message.
    pub message_type: MessageType,
    /// The result, in `send_message_after` when the send succeeded.
    pub result: Option<&'a SendResult>,
    /// The failure, in `send_message_after` when the send failed.
    pub error: Option<&'a crate::Error>,
    /// Free-form values a hook may leave for its own `after` call.
    pub props: HashMap<String, String>,
}

impl SendMode {
    /// Java's `CommunicationMode` name.
    ///
    /// ```
    /// assert_eq!(rmq_client::SendMode::Oneway.name(), "ONEWAY");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            SendMode::Sync => "SYNC",
            SendMode::Async => "ASYNC",
            SendMode::Oneway => "ONEWAY",
        }
    }
}

/// Runs before and after every send attempt (Java: `SendMessageHook`).
///
/// ```
/// use rmq_client::{SendContext, SendMessageHook};
///
/// struct Log;
/// impl SendMessageHook for Log {
///     fn name(&self) -> &str { "log" }
///     fn send_message_before(&self, ctx: &mut SendContext<'_>) {
///         println!("sending to {}", ctx.queue);
///     }
///     fn send_message_after(&self, ctx: &SendContext<'_>) {
///         println!("sent: {:?}", ctx.result.map(|r| &r.msg_id));
///     }
/// }
/// ```
pub trait SendMessageHook: Send + Sync + 'static {
    /// The hook's name, for logs.
    fn name(&self) -> &str;
    /// Before the request is sent.
    fn send_message_before(&self, ctx: &mut SendContext<'_>);
    /// After the attempt, with its result or error.
    fn send_message_after(&self, ctx: &SendContext<'_>);
}

/// What a check-forbidden hook sees (Java: `CheckForbiddenContext`).
#[derive(Debug)]
pub struct CheckForbiddenContext<'a> {
    /// The producer group, namespace included.
    pub group: &'a str,
    /// The message as it goes on the wire.
    pub message: &'a Message,
    /// The target queue.
    pub queue: &'a MessageQueue,
    /// The broker address.
    pub broker_addr: &'a str,
    /// How the send waits.
    pub mode: SendMode,
}

/// May refuse a send before it happens (Java: `CheckForbiddenHook`).
///
/// ```
/// use rmq_client::{CheckForbiddenContext, CheckForbiddenHook};
///
/// struct NoTestTopics;
/// impl CheckForbiddenHook for NoTestTopics {
///     fn name(&self) -> &str { "no-test-topics" }
///     fn check_forbidden(&self, ctx: &CheckForbiddenContext<'_>) -> Result<(), String> {
///         if ctx.message.topic().starts_with("test_") { Err("test topics are off".into()) } else { Ok(()) }
///     }
/// }
/// ```
pub trait CheckForbiddenHook: Send + Sync + 'static {
    /// The hook's name, for errors and logs.
    fn name(&self) -> &str;
    /// `Err(reason)` refuses the send.
    fn check_forbidden(&self, ctx: &CheckForbiddenContext<'_>) -> Result<(), String>;
}

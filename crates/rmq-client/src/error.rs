//! Why a producer call failed (Java: `MQClientException`, `MQBrokerException`,
//! `RemotingException` as they reach a producer).

use std::fmt;
use std::time::Duration;

use rmq_common::{BatchError, CompressionError, MessageError, ValidationError};
use rmq_remoting::{RemotingError, code};

/// The result of producer calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed producer call. Match on the variant; [`Error::response_code`] gives Java's code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid (rejected at build or start).
    #[error("invalid producer configuration: {0}")]
    Config(String),
    /// The producer is not running: not started yet, start failed, or shut down.
    #[error("the producer is not running (state {0})")]
    NotRunning(crate::ServiceState),
    /// `start` was called on a producer that is not freshly created.
    #[error("the producer cannot start from state {0}; a producer starts once")]
    AlreadyStarted(crate::ServiceState),
    /// Another producer with this group already runs on this client instance.
    #[error(
        "the producer group [{group}] has been created before on client {client_id}, specify another name please"
    )]
    GroupInUse {
        /// The group, namespace included.
        group: String,
        /// The client id of the shared client instance.
        client_id: String,
    },
    /// The message, topic or group breaks a rule (Java: `Validators`).
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The message could not be built.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The batch breaks a batch rule.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// The body could not be compressed.
    #[error(transparent)]
    Compression(#[from] CompressionError),
    /// A check-forbidden hook refused the message.
    #[error("sending was forbidden by hook {hook}: {reason}")]
    Forbidden {
        /// The hook's name.
        hook: String,
        /// Why.
        reason: String,
    },
    /// No name server address is configured (Java: `NO_NAME_SERVER_EXCEPTION` 10004).
    #[error("no name server address, please set it")]
    NoNameServer,
    /// The name servers know no route for the topic and auto-creation did not give one
    /// (Java: `NOT_FOUND_TOPIC_EXCEPTION` 10005).
    #[error("no route info of this topic: {topic}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NoRoute {
        /// The topic, as the caller named it.
        topic: String,
        /// What the name server said, if anything.
        detail: Option<String>,
    },
    /// No address is known for a broker the route names (Java: `BROKER_NOT_EXIST_EXCEPTION`).
    #[error("the broker[{broker}] not exist")]
    BrokerNotFound {
        /// The broker name.
        broker: String,
    },
    /// The broker answered with an error code (Java: `MQBrokerException`).
    #[error("broker {broker} ({addr}) answered {code} ({}): {remark}", code::response_name(*code))]
    Broker {
        /// The response code.
        code: i32,
        /// The broker's remark.
        remark: String,
        /// The broker name.
        broker: String,
        /// The address the request went to.
        addr: String,
    },
    /// The name server answered a route request with an error code.
    #[error("name server answered {code} ({}): {remark}", code::response_name(*code))]
    NameServer {
        /// The response code.
        code: i32,
        /// The remark.
        remark: String,
    },
    /// A server answer that could not be understood.
    #[error("malformed {what} from {addr}: {detail}")]
    MalformedResponse {
        /// What was being read, e.g. `"route body"`.
        what: &'static str,
        /// Who sent it.
        addr: String,
        /// What was wrong.
        detail: String,
    },
    /// A transport failure (connect, timeout, connection closed, ...).
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// The send's deadline passed before an attempt could be made (Java: `sendDefaultImpl call
    /// timeout`).
    #[error(
        "send of topic {topic} timed out after {elapsed:?} (timeout {timeout:?}){}",
        AttemptList(attempts)
    )]
    Timeout {
        /// The topic.
        topic: String,
        /// Time spent.
        elapsed: Duration,
        /// The send timeout.
        timeout: Duration,
        /// The attempts made before the deadline.
        attempts: Vec<SendAttempt>,
    },
    /// Every attempt failed (Java: `Send [n] times, still failed`).
    #[error("send of topic {topic} failed after {} attempts:{}", attempts.len(), AttemptList(attempts))]
    AllAttemptsFailed {
        /// The topic.
        topic: String,
        /// What happened at each attempt.
        attempts: Vec<SendAttempt>,
    },
    /// A user hook panicked during the send; the send fails and the panic goes no further.
    #[error("hook {hook} panicked: {message}")]
    HookPanicked {
        /// The hook's name.
        hook: String,
        /// The panic's message.
        message: String,
    },
    /// The task running an accepted send panicked (a bug in rmq: please report it).
    #[error("the send's task panicked: {0}")]
    Panicked(String),
    /// The producer shut down before an accepted async send completed.
    #[error("the producer shut down before the send completed")]
    Shutdown,
    /// Too many async sends are in flight and none finished before the deadline.
    #[error("too many async sends in flight ({0}); none finished before the deadline")]
    TooManyInFlight(usize),
    /// The topic of the message and of the target queue differ.
    #[error("message's topic {message_topic} not equal mq's topic {queue_topic}")]
    TopicMismatch {
        /// The message's topic.
        message_topic: String,
        /// The queue's topic.
        queue_topic: String,
    },
    /// A queue selector returned no queue.
    #[error("select message queue return null")]
    NoQueueSelected,
}

impl Error {
    /// Java's response code for this error: the broker's or name server's code, or a
    /// `ClientErrorCode` (10004 no name server, 10005 no route, 10003 broker not found,
    /// 10002 timeout, 10001 connect), or 13 for an illegal message; `None` otherwise.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            Error::Broker { code, .. } | Error::NameServer { code, .. } => Some(*code),
            Error::NoNameServer => Some(10004),
            Error::NoRoute { .. } => Some(10005),
            Error::BrokerNotFound { .. } => Some(10003),
            Error::Timeout { .. } => Some(10002),
            Error::Remoting(e) if e.is_timeout() => Some(10002),
            Error::Remoting(_) => Some(10001),
            Error::Validation(e) => Some(e.response_code()).filter(|c| *c >= 0),
            Error::AllAttemptsFailed { attempts, .. } => {
                attempts.last().and_then(|a| a.response_code)
            }
            _ => None,
        }
    }
}

/// One attempt of a send: where it went, what happened, how long it took.
#[derive(Clone, Debug)]
pub struct SendAttempt {
    /// The broker name.
    pub broker: String,
    /// The queue id.
    pub queue_id: i32,
    /// What went wrong.
    pub cause: String,
    /// Java's response code of the failure, if any.
    pub response_code: Option<i32>,
    /// How long the attempt took.
    pub elapsed: Duration,
}

impl fmt::Display for SendAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} after {} ms: {}",
            self.broker,
            self.queue_id,
            self.elapsed.as_millis(),
            self.cause
        )
    }
}

struct AttemptList<'a>(&'a [SendAttempt]);

impl fmt::Display for AttemptList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, attempt) in self.0.iter().enumerate() {
            write!(f, " [{}] {attempt};", i + 1)?;
        }
        Ok(())
    }
}

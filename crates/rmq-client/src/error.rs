//! Why a producer call failed (Java: `MQClientException`, `MQBrokerException`,
//! `RemotingException` as they reach a producer).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rmq_common::{BatchError, CompressionError, MessageError, ValidationError};
use rmq_remoting::{RemotingError, code};

/// The result of producer calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed producer call.
///
/// Decide what to do with [`kind`](Self::kind), [`is_retryable`](Self::is_retryable) and
/// [`may_have_been_stored`](Self::may_have_been_stored). A send that reached the point of
/// trying a broker fails in one shape whatever the number of attempts,
/// [`AllAttemptsFailed`](Self::AllAttemptsFailed) (or [`Timeout`](Self::Timeout) when its
/// deadline ended it), listing each attempt with its typed error; [`root`](Self::root) is the
/// last attempt's error. [`response_code`](Self::response_code) gives Java's code.
///
/// ```
/// use rmq_client::{Error, ErrorKind};
/// fn what_to_do(err: &Error) -> &'static str {
///     match err.kind() {
///         ErrorKind::Invalid | ErrorKind::Config => "fix the message or the settings",
///         ErrorKind::Permission => "fix the credentials or the ACL",
///         _ if err.may_have_been_stored() => "check before sending again: it may be stored",
///         _ if err.is_retryable() => "send again later",
///         _ => "give up",
///     }
/// }
/// assert_eq!(what_to_do(&Error::NoNameServer), "send again later");
/// ```
#[derive(Clone, Debug, thiserror::Error)]
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
    /// A compression setting is invalid.
    #[error(transparent)]
    Compression(Arc<CompressionError>),
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
    /// The broker answered with an error code (Java: `MQBrokerException`). The message says
    /// what the common codes mean and what to do about them.
    #[error("broker {broker} ({addr}) answered {code} ({}){}{}", code::response_name(*code), Remark(remark), broker_hint(*code))]
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
    /// No name server could be reached, or none answered in time (Java:
    /// `RemotingConnectException` from `getTopicRouteInfoFromNameServer`).
    #[error(
        "no name server could be reached (the last one tried: {0}); check the name server addresses (name_server, or NAMESRV_ADDR) and that they run"
    )]
    NameServerUnreachable(RemotingError),
    /// The name server answered a route request with an error code.
    #[error("name server answered {code} ({}): {remark}; the name servers refused the route request: check their logs (and, on a secured cluster, the producer's credentials)", code::response_name(*code))]
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
    /// Every attempt failed (Java: `Send [n] times, still failed`), whether one attempt was
    /// made or several: each with its typed error. What kind of failure it is, and what to do
    /// about it, is the last attempt's ([`Error::root`]).
    #[error("send of topic {topic} failed after {} attempt{}:{}", attempts.len(), if attempts.len() == 1 { "" } else { "s" }, AttemptList(attempts))]
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
    /// Too many requests in flight at once: the remoting client's async or oneway permits
    /// (`async_permits`, `oneway_permits`), or requests waiting for their replies.
    #[error("too many requests in flight ({0}); none finished before the deadline")]
    TooManyInFlight(usize),
    /// No room in flight for an async send before its deadline, or at once when the producer
    /// fails fast (back-pressure: `max_async_in_flight`, `max_async_in_flight_bytes`).
    #[error(
        "no room for the async send: {sends} sends and {bytes} bytes in flight (limits {max_sends} and {max_bytes}); slow down, or raise the limits"
    )]
    NoRoomInFlight {
        /// Sends in flight when it gave up.
        sends: usize,
        /// Their bytes.
        bytes: usize,
        /// The send limit.
        max_sends: usize,
        /// The byte limit.
        max_bytes: usize,
    },
    /// A body larger than the in-flight byte limit, which could never fit.
    #[error(
        "a body of {bytes} bytes can never fit the {limit} bytes allowed in flight: raise max_async_in_flight_bytes"
    )]
    LargerThanInFlightLimit {
        /// The body's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
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
    /// A request was sent but no reply came before its timeout (Java:
    /// `RequestTimeoutException`, 10006).
    #[error("send request message to <{topic}> OK, but wait reply message timeout, {} ms.", timeout.as_millis())]
    RequestTimeout {
        /// The request's topic.
        topic: String,
        /// The request's timeout.
        timeout: Duration,
    },
    /// A reply cannot be made to this message (Java: `CREATE_REPLY_MESSAGE_EXCEPTION`, 10007).
    #[error(transparent)]
    Reply(#[from] rmq_common::reply::ReplyError),
    /// A recall handle cannot be read.
    #[error(transparent)]
    RecallHandle(#[from] rmq_common::recall::InvalidRecallHandle),
}

/// What kind of failure an [`Error`] is, to decide what to do about it without matching
/// every variant (see [`Error::kind`]).
///
/// ```
/// use rmq_client::{Error, ErrorKind};
/// let err = Error::NoNameServer;
/// assert_eq!(err.kind(), ErrorKind::NameServer);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The producer's settings are invalid: fix the configuration.
    Config,
    /// The producer is not running (not started, start failed, or shut down).
    NotRunning,
    /// The message, batch or target breaks a rule: sent again as it is, it fails again.
    Invalid,
    /// A hook refused the message or panicked.
    Hook,
    /// No name server is configured or none answered.
    NameServer,
    /// No route or broker address for the topic.
    NoRoute,
    /// A broker refused the message with an error code.
    BrokerRefused,
    /// A broker refused the producer's rights (`NO_PERMISSION`): check its credentials, the
    /// ACL, and that the topic and broker accept writes.
    Permission,
    /// The deadline passed.
    Timeout,
    /// A connection failed: connect, write, or closed while waiting.
    Connection,
    /// Too many sends in flight: no permit within the deadline.
    Overloaded,
    /// A server's answer could not be read.
    Protocol,
    /// The producer shut down before the send completed.
    Shutdown,
    /// A bug in rmq (a panicking send task).
    Internal,
}

/// Broker codes that say "later" rather than "never": a busy, failing or moving broker.
const TRANSIENT_BROKER_CODES: [i32; 5] = [
    code::response::SYSTEM_ERROR,
    code::response::SYSTEM_BUSY,
    code::response::SERVICE_NOT_AVAILABLE,
    code::response::NOT_LEADER_FOR_QUEUE,
    code::response::GO_AWAY,
];

impl Error {
    /// What kind of failure this is. For a send that failed after several attempts, the kind
    /// of its last attempt.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_) | Error::GroupInUse { .. } => ErrorKind::Config,
            Error::NotRunning(_) | Error::AlreadyStarted(_) => ErrorKind::NotRunning,
            Error::Validation(_)
            | Error::Message(_)
            | Error::Batch(_)
            | Error::Compression(_)
            | Error::TopicMismatch { .. }
            | Error::NoQueueSelected
            | Error::Reply(_)
            | Error::RecallHandle(_) => ErrorKind::Invalid,
            Error::Forbidden { .. } | Error::HookPanicked { .. } => ErrorKind::Hook,
            // A credential or ACL refusal, whoever answers it.
            Error::NameServer {
                code: code::response::NO_PERMISSION,
                ..
            } => ErrorKind::Permission,
            Error::NoNameServer | Error::NameServerUnreachable(_) | Error::NameServer { .. } => {
                ErrorKind::NameServer
            }
            Error::NoRoute { .. } | Error::BrokerNotFound { .. } => ErrorKind::NoRoute,
            Error::Broker { code, .. } => match *code {
                code::response::NO_PERMISSION => ErrorKind::Permission,
                code::response::TOPIC_NOT_EXIST => ErrorKind::NoRoute,
                _ => ErrorKind::BrokerRefused,
            },
            Error::MalformedResponse { .. } => ErrorKind::Protocol,
            Error::Remoting(e) => match e.kind() {
                rmq_remoting::ErrorKind::Timeout => ErrorKind::Timeout,
                rmq_remoting::ErrorKind::TooManyRequests => ErrorKind::Overloaded,
                rmq_remoting::ErrorKind::Codec => ErrorKind::Protocol,
                rmq_remoting::ErrorKind::NoNameServer => ErrorKind::NameServer,
                rmq_remoting::ErrorKind::Shutdown => ErrorKind::Shutdown,
                rmq_remoting::ErrorKind::Hook => ErrorKind::Hook,
                _ => ErrorKind::Connection,
            },
            Error::Timeout { .. } | Error::RequestTimeout { .. } => ErrorKind::Timeout,
            Error::AllAttemptsFailed { attempts, .. } => attempts
                .last()
                .map_or(ErrorKind::Connection, SendAttempt::kind),
            Error::Shutdown => ErrorKind::Shutdown,
            Error::TooManyInFlight(_) | Error::NoRoomInFlight { .. } => ErrorKind::Overloaded,
            Error::LargerThanInFlightLimit { .. } => ErrorKind::Invalid,
            Error::Panicked(_) => ErrorKind::Internal,
        }
    }

    /// Whether trying again later may succeed: the failure is a connection, a timeout, a
    /// busy, failing or moving broker, too many sends in flight, or no route or name server
    /// yet. Not for a message, setting or permission that must be fixed first.
    ///
    /// A send that [may have been stored](Self::may_have_been_stored) can be stored twice
    /// if sent again.
    pub fn is_retryable(&self) -> bool {
        match self.kind() {
            ErrorKind::Connection
            | ErrorKind::Timeout
            | ErrorKind::Overloaded
            | ErrorKind::NameServer => true,
            // A route may yet come; a topic the broker does not have must be created first.
            ErrorKind::NoRoute => self.response_code() != Some(code::response::TOPIC_NOT_EXIST),
            ErrorKind::BrokerRefused => self
                .response_code()
                .is_some_and(|code| TRANSIENT_BROKER_CODES.contains(&code)),
            _ => false,
        }
    }

    /// Whether the deadline passed.
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::Timeout
    }

    /// Whether the message may be stored although the send failed: a request left and no
    /// answer came back (a timeout while waiting, a connection lost after the write), or an
    /// earlier attempt stored it with a weaker status. `false` means it was certainly not
    /// stored, so sending it again cannot duplicate it.
    pub fn may_have_been_stored(&self) -> bool {
        match self {
            Error::Remoting(e) => matches!(
                e.kind(),
                rmq_remoting::ErrorKind::Timeout
                    | rmq_remoting::ErrorKind::ConnectionClosed
                    | rmq_remoting::ErrorKind::SendRequest
            ),
            Error::Timeout { attempts, .. } | Error::AllAttemptsFailed { attempts, .. } => {
                attempts.iter().any(SendAttempt::may_have_been_stored)
            }
            // Ended by shutdown while waiting for an answer; a request stored, never answered.
            Error::Shutdown | Error::Panicked(_) | Error::RequestTimeout { .. } => true,
            _ => false,
        }
    }

    /// Java's response code for this error: the broker's or name server's code, or a
    /// `ClientErrorCode` (10004 no name server, 10005 no route, 10003 broker not found,
    /// 10002 timeout, 10001 connect, 10006 no reply to a request, 10007 not a request to
    /// reply to), or 13 for an illegal message; `None` otherwise.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            Error::Broker { code, .. } | Error::NameServer { code, .. } => Some(*code),
            Error::NoNameServer => Some(10004),
            Error::NoRoute { .. } => Some(10005),
            Error::BrokerNotFound { .. } => Some(10003),
            Error::Timeout { .. } => Some(10002),
            Error::RequestTimeout { .. } => Some(10006),
            Error::Reply(_) => Some(10007),
            Error::Remoting(e) | Error::NameServerUnreachable(e) if e.is_timeout() => Some(10002),
            Error::Remoting(_) | Error::NameServerUnreachable(_) => Some(10001),
            Error::Validation(e) => Some(e.response_code()).filter(|c| *c >= 0),
            Error::AllAttemptsFailed { attempts, .. } => {
                attempts.last().and_then(SendAttempt::response_code)
            }
            _ => None,
        }
    }

    /// The error that decided the outcome: for a send that failed after attempts, the last
    /// attempt's error; otherwise this error itself.
    ///
    /// ```
    /// use rmq_client::Error;
    /// # fn demo(err: Error) {
    /// if let Error::Broker { code, remark, .. } = err.root() {
    ///     eprintln!("the broker refused it with {code}: {remark}");
    /// }
    /// # }
    /// ```
    pub fn root(&self) -> &Error {
        match self {
            Error::AllAttemptsFailed { attempts, .. } | Error::Timeout { attempts, .. } => {
                attempts.last().map_or(self, |attempt| attempt.error.root())
            }
            _ => self,
        }
    }

    /// Every attempt the send made, each with its own error; empty for a failure before any
    /// attempt (an invalid message, no route, no permit).
    pub fn attempts(&self) -> &[SendAttempt] {
        match self {
            Error::AllAttemptsFailed { attempts, .. } | Error::Timeout { attempts, .. } => attempts,
            _ => &[],
        }
    }
}

/// A send that failed, with what it carried handed back: the [`Message`](rmq_common::Message)
/// (or, for a batch, the `Vec<Message>`) to send again or to park, without a clone up front
/// (rdkafka hands back its `OwnedMessage` the same way).
///
/// The message comes back as the caller built it, with the `UNIQ_KEY` it was sent under: sent
/// again, it keeps its message id, so a consumer can tell the duplicate when the first send
/// [may have been stored](Self::may_have_been_stored). `?` turns it into an [`Error`],
/// dropping the message.
///
/// ```no_run
/// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
/// use rmq_common::Message;
///
/// let mut msg = Message::new("TopicTest", "hello");
/// for _ in 0..3 {
///     match producer.send(msg).await {
///         Ok(sent) => {
///             println!("{sent}");
///             break;
///         }
///         Err(failed) if failed.is_retryable() => msg = failed.into_message(),
///         Err(failed) => return Err(failed.into()),
///     }
/// }
/// # Ok(()) }
/// ```
pub struct SendError<M = rmq_common::Message> {
    /// Boxed: a failure is the exception, and every send's result carries room for it.
    failed: Box<Failed<M>>,
}

struct Failed<M> {
    error: Error,
    message: M,
}

impl<M> SendError<M> {
    pub(crate) fn new(error: Error, message: M) -> Self {
        SendError {
            failed: Box::new(Failed { error, message }),
        }
    }

    /// Why the send failed.
    pub fn error(&self) -> &Error {
        &self.failed.error
    }

    /// What the send carried.
    pub fn message(&self) -> &M {
        &self.failed.message
    }

    /// What the send carried, to send again or to park.
    pub fn into_message(self) -> M {
        self.failed.message
    }

    /// Why the send failed, without the message.
    pub fn into_error(self) -> Error {
        self.failed.error
    }

    /// Both halves.
    pub fn into_parts(self) -> (Error, M) {
        let Failed { error, message } = *self.failed;
        (error, message)
    }

    /// See [`Error::kind`].
    pub fn kind(&self) -> ErrorKind {
        self.error().kind()
    }

    /// See [`Error::is_retryable`].
    pub fn is_retryable(&self) -> bool {
        self.error().is_retryable()
    }

    /// See [`Error::is_timeout`].
    pub fn is_timeout(&self) -> bool {
        self.error().is_timeout()
    }

    /// See [`Error::may_have_been_stored`].
    pub fn may_have_been_stored(&self) -> bool {
        self.error().may_have_been_stored()
    }

    /// See [`Error::response_code`].
    pub fn response_code(&self) -> Option<i32> {
        self.error().response_code()
    }

    /// See [`Error::root`].
    pub fn root(&self) -> &Error {
        self.error().root()
    }

    /// See [`Error::attempts`].
    pub fn attempts(&self) -> &[SendAttempt] {
        self.error().attempts()
    }
}

/// The error only: a message's body can be megabytes.
impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("error", self.error())
            .finish_non_exhaustive()
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error().fmt(f)
    }
}

impl<M> std::error::Error for SendError<M> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.error())
    }
}

impl<M> From<SendError<M>> for Error {
    fn from(failed: SendError<M>) -> Self {
        failed.into_error()
    }
}

impl From<CompressionError> for Error {
    fn from(error: CompressionError) -> Self {
        Error::Compression(Arc::new(error))
    }
}

/// A broker's remark, after a colon when there is one.
struct Remark<'a>(&'a str);

impl fmt::Display for Remark<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, ": {}", self.0)
        }
    }
}

/// What a broker's refusal means and what to do, for the codes a producer meets.
fn broker_hint(code: i32) -> &'static str {
    use code::response::*;
    match code {
        TOPIC_NOT_EXIST => {
            "; the topic does not exist on this broker and it does not create topics: create it (mqadmin updateTopic) or enable autoCreateTopicEnable"
        }
        NO_PERMISSION => {
            "; permission denied: check the producer's credentials and the ACL for this topic and group, and that the broker and topic accept writes (perm)"
        }
        SERVICE_NOT_AVAILABLE => {
            "; the broker is not accepting messages now (its disk may be full, it may be a slave or shutting down): retry on another broker, and check the broker"
        }
        SYSTEM_BUSY => {
            "; the broker is busy (flow control while its store flushes or its queue is full): retry later; if it lasts, slow down or add brokers"
        }
        MESSAGE_ILLEGAL => {
            "; the broker found the message illegal: check its size against the broker's maxMessageSize, its topic and its properties"
        }
        SYSTEM_ERROR => {
            "; the broker failed to store the message: retry, and check the broker's log"
        }
        REQUEST_CODE_NOT_SUPPORTED => {
            "; not supported by this broker: it is older than the request needs (recall needs RocketMQ 5.3.2 or later)"
        }
        _ => "",
    }
}

/// One attempt of a send: where it went, what went wrong, how long it took.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SendAttempt {
    /// The broker name.
    pub broker: String,
    /// The queue id.
    pub queue_id: i32,
    /// How long the attempt took.
    pub elapsed: Duration,
    /// What went wrong.
    pub error: Error,
}

impl SendAttempt {
    /// The record of an attempt on `queue` that failed with `error` after `elapsed`.
    pub(crate) fn failed(
        queue: &rmq_common::MessageQueue,
        error: Error,
        elapsed: Duration,
    ) -> Self {
        SendAttempt {
            broker: queue.broker_name().to_owned(),
            queue_id: queue.queue_id(),
            elapsed,
            error,
        }
    }

    /// What kind of failure it was.
    pub fn kind(&self) -> ErrorKind {
        self.error.kind()
    }

    /// Java's response code of the failure, if any.
    pub fn response_code(&self) -> Option<i32> {
        self.error.response_code()
    }

    /// Whether this attempt may have stored the message (see
    /// [`Error::may_have_been_stored`]).
    pub fn may_have_been_stored(&self) -> bool {
        self.error.may_have_been_stored()
    }
}

impl fmt::Display for SendAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{} after {} ms: {}",
            self.broker,
            self.queue_id,
            self.elapsed.as_millis(),
            self.error
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rmq_common::ValidationError;
    use rmq_remoting::RemotingError;
    use rmq_remoting::code::response;

    use super::*;

    fn remoting(kind: rmq_remoting::ErrorKind) -> Error {
        Error::Remoting(RemotingError::new(kind, "127.0.0.1:10911"))
    }

    fn broker(code: i32) -> Error {
        Error::Broker {
            code,
            remark: String::new(),
            broker: "broker-a".into(),
            addr: "127.0.0.1:10911".into(),
        }
    }

    fn attempt(error: Error) -> SendAttempt {
        let queue = rmq_common::MessageQueue::new("T", "broker-a", 0);
        SendAttempt::failed(&queue, error, Duration::ZERO)
    }

    /// Every error the producer produces, against each classifier: kind, retryable,
    /// timeout, may have been stored.
    #[test]
    fn every_error_is_classified() {
        use rmq_remoting::ErrorKind as R;
        let timed_out = remoting(R::Timeout);
        let refused = remoting(R::Connect);
        let cases: Vec<(Error, ErrorKind, bool, bool, bool)> = vec![
            (
                Error::Config("x".into()),
                ErrorKind::Config,
                false,
                false,
                false,
            ),
            (
                Error::NotRunning(crate::ServiceState::CreateJust),
                ErrorKind::NotRunning,
                false,
                false,
                false,
            ),
            (
                Error::Validation(ValidationError::EmptyBody),
                ErrorKind::Invalid,
                false,
                false,
                false,
            ),
            (
                Error::NoQueueSelected,
                ErrorKind::Invalid,
                false,
                false,
                false,
            ),
            (
                Error::HookPanicked {
                    hook: "h".into(),
                    message: "boom".into(),
                },
                ErrorKind::Hook,
                false,
                false,
                false,
            ),
            (
                Error::NoNameServer,
                ErrorKind::NameServer,
                true,
                false,
                false,
            ),
            (
                Error::NameServerUnreachable(RemotingError::new(R::Connect, "127.0.0.1:9876")),
                ErrorKind::NameServer,
                true,
                false,
                false,
            ),
            (
                Error::NoRoute {
                    topic: "T".into(),
                    detail: None,
                },
                ErrorKind::NoRoute,
                true,
                false,
                false,
            ),
            (
                broker(response::SYSTEM_BUSY),
                ErrorKind::BrokerRefused,
                true,
                false,
                false,
            ),
            (
                broker(response::NO_PERMISSION),
                ErrorKind::Permission,
                false,
                false,
                false,
            ),
            (
                broker(response::TOPIC_NOT_EXIST),
                ErrorKind::NoRoute,
                false,
                false,
                false,
            ),
            (
                broker(response::MESSAGE_ILLEGAL),
                ErrorKind::BrokerRefused,
                false,
                false,
                false,
            ),
            (
                broker(response::SERVICE_NOT_AVAILABLE),
                ErrorKind::BrokerRefused,
                true,
                false,
                false,
            ),
            (remoting(R::Timeout), ErrorKind::Timeout, true, true, true),
            (
                remoting(R::Connect),
                ErrorKind::Connection,
                true,
                false,
                false,
            ),
            (
                remoting(R::ConnectionClosed),
                ErrorKind::Connection,
                true,
                false,
                true,
            ),
            (
                remoting(R::TooManyRequests),
                ErrorKind::Overloaded,
                true,
                false,
                false,
            ),
            (
                Error::TooManyInFlight(10),
                ErrorKind::Overloaded,
                true,
                false,
                false,
            ),
            (remoting(R::Codec), ErrorKind::Protocol, false, false, false),
            (
                Error::Timeout {
                    topic: "T".into(),
                    elapsed: Duration::from_secs(3),
                    timeout: Duration::from_secs(3),
                    attempts: vec![attempt(refused.clone())],
                },
                ErrorKind::Timeout,
                true,
                true,
                false,
            ),
            (
                Error::AllAttemptsFailed {
                    topic: "T".into(),
                    attempts: vec![attempt(timed_out), attempt(refused)],
                },
                ErrorKind::Connection,
                true,
                false,
                true,
            ),
            (Error::Shutdown, ErrorKind::Shutdown, false, false, true),
            (
                Error::Panicked("bug".into()),
                ErrorKind::Internal,
                false,
                false,
                true,
            ),
        ];
        for (error, kind, retryable, timeout, stored) in cases {
            assert_eq!(error.kind(), kind, "{error}");
            assert_eq!(error.is_retryable(), retryable, "retryable: {error}");
            assert_eq!(error.is_timeout(), timeout, "timeout: {error}");
            assert_eq!(error.may_have_been_stored(), stored, "stored: {error}");
        }
    }

    #[test]
    fn one_shape_with_the_last_attempt_at_its_root() {
        let once = Error::AllAttemptsFailed {
            topic: "T".into(),
            attempts: vec![attempt(broker(response::NO_PERMISSION))],
        };
        assert_eq!(once.kind(), ErrorKind::Permission);
        assert_eq!(once.response_code(), Some(response::NO_PERMISSION));
        assert!(matches!(once.root(), Error::Broker { code: 16, .. }));
        assert_eq!(once.attempts().len(), 1);
        let text = once.to_string();
        assert!(text.contains("after 1 attempt:"), "{text}");
        assert!(
            text.contains("permission denied: check the producer's credentials"),
            "{text}"
        );
        assert!(Error::NoNameServer.attempts().is_empty());
        assert!(matches!(Error::NoNameServer.root(), Error::NoNameServer));
    }

    #[test]
    fn broker_refusals_say_what_to_do() {
        for (code, advice) in [
            (response::TOPIC_NOT_EXIST, "create it"),
            (response::NO_PERMISSION, "ACL"),
            (response::SERVICE_NOT_AVAILABLE, "disk may be full"),
            (response::SYSTEM_BUSY, "retry later"),
            (response::MESSAGE_ILLEGAL, "maxMessageSize"),
        ] {
            let text = broker(code).to_string();
            assert!(text.contains(advice), "{code}: {text}");
        }
    }
}

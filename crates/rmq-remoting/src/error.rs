//! Why a remote call failed (Java: `RemotingConnectException`, `RemotingTimeoutException`,
//! `RemotingSendRequestException`, `RemotingTooMuchRequestException`).

use std::fmt;
use std::sync::Arc;

/// What kind of failure a [`RemotingError`] is; match on this rather than on the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The connection could not be made (refused, unreachable, or the connect timed out).
    Connect,
    /// No response arrived before the deadline.
    Timeout,
    /// The request could not be written to the connection.
    SendRequest,
    /// No async or oneway permit became free before the deadline.
    TooManyRequests,
    /// The connection closed while the request was pending; the request may or may not have
    /// reached the peer.
    ConnectionClosed,
    /// The request could not be encoded (the connection stays usable), or the peer sent a frame
    /// that could not be decoded (the connection was closed).
    Codec,
    /// No name server address is configured.
    NoNameServer,
    /// The client or server is shut down.
    Shutdown,
    /// An RPC hook's `before_request` panicked: the request was not sent.
    Hook,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect failed",
            ErrorKind::Timeout => "timed out waiting for the response",
            ErrorKind::SendRequest => "sending the request failed",
            ErrorKind::TooManyRequests => "too many requests in flight",
            ErrorKind::ConnectionClosed => "connection closed",
            ErrorKind::Codec => "codec error",
            ErrorKind::NoNameServer => "no name server address configured",
            ErrorKind::Shutdown => "shut down",
            ErrorKind::Hook => "an RPC hook failed",
        }
    }
}

/// A failed remote call: its [`kind`](Self::kind), the peer address, and the cause.
///
/// Cheap to clone, so one failure (a dead connection) can be handed to every request pending
/// on it.
///
/// ```
/// use rmq_remoting::{ErrorKind, RemotingError};
/// let err = RemotingError::new(ErrorKind::Timeout, "127.0.0.1:10911").with_detail("after 3000 ms");
/// assert!(err.is_timeout());
/// assert_eq!(err.to_string(), "127.0.0.1:10911: timed out waiting for the response (after 3000 ms)");
/// ```
#[derive(Clone)]
pub struct RemotingError {
    kind: ErrorKind,
    addr: Arc<str>,
    detail: Option<Arc<str>>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl RemotingError {
    /// An error of `kind` talking to `addr`.
    pub fn new(kind: ErrorKind, addr: impl Into<Arc<str>>) -> Self {
        Self {
            kind,
            addr: addr.into(),
            detail: None,
            source: None,
        }
    }

    /// Adds a human-readable detail shown after the kind.
    pub fn with_detail(mut self, detail: impl Into<Arc<str>>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The peer address (`ip:port` as configured), or empty when there is no single peer.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether the deadline passed.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// Whether the request surely never reached the peer, so resending cannot duplicate it:
    /// the connect failed, no permit was free, or it could not be encoded.
    pub fn is_not_sent(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Connect | ErrorKind::TooManyRequests | ErrorKind::NoNameServer
        )
    }
}

impl fmt::Display for RemotingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.addr.is_empty() {
            write!(f, "{}: ", self.addr)?;
        }
        f.write_str(self.kind.describe())?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RemotingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemotingError")
            .field("kind", &self.kind)
            .field("addr", &self.addr)
            .field("detail", &self.detail)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for RemotingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

//! The pending response of an async request (Java: `ResponseFuture`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::time::{Instant, Sleep};

use super::AfterHooks;
use crate::reply::Reply;
use crate::{Channel, ErrorKind, RemotingCommand, RemotingError};

/// The response to a request sent with
/// [`RemotingClient::invoke_async`](crate::RemotingClient::invoke_async).
///
/// Resolves to the response, a timeout at the request's deadline, or the connection's error.
/// It holds the request's async permit: the permit is released exactly once, when the future
/// resolves or is dropped, whichever comes first.
#[must_use = "a response future does nothing unless awaited; dropping it abandons the response"]
pub struct ResponseFuture {
    rx: oneshot::Receiver<Reply>,
    sleep: Pin<Box<Sleep>>,
    timeout: Duration,
    permit: Option<OwnedSemaphorePermit>,
    channel: Channel,
    sent: Sent,
}

/// What a response future remembers of its request.
pub(super) struct Sent {
    pub(super) opaque: i32,
    pub(super) code: i32,
    /// Present only when there are hooks to run on the response.
    pub(super) after: Option<Box<AfterHooks>>,
}

impl ResponseFuture {
    pub(super) fn new(
        rx: oneshot::Receiver<Reply>,
        deadline: Instant,
        timeout: Duration,
        permit: OwnedSemaphorePermit,
        channel: Channel,
        sent: Sent,
    ) -> Self {
        Self {
            rx,
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            timeout,
            permit: Some(permit),
            channel,
            sent,
        }
    }

    /// The opaque the request was sent with.
    pub fn opaque(&self) -> i32 {
        self.sent.opaque
    }

    /// The address the request went to.
    pub fn addr(&self) -> &str {
        self.channel.addr()
    }
}

impl Future for ResponseFuture {
    type Output = Result<RemotingCommand, RemotingError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let outcome = match Pin::new(&mut this.rx).poll(cx) {
            Poll::Ready(Ok(reply)) => reply,
            Poll::Ready(Err(_)) => Err(this.channel.error(ErrorKind::ConnectionClosed)),
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Err(this.channel.error(ErrorKind::Timeout).with_detail(
                    format!("no response within {} ms", this.timeout.as_millis()),
                )),
                Poll::Pending => return Poll::Pending,
            },
        };
        this.permit = None;
        Poll::Ready(outcome.map(|mut response| {
            if let Some(after) = &this.sent.after {
                after.run(this.channel.addr(), &mut response);
            }
            response
        }))
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("addr", &self.channel.addr())
            .field("opaque", &self.sent.opaque)
            .field("code", &self.sent.code)
            .finish()
    }
}

//! The seam between the producer and the remoting client (Java: the `RemotingClient`
//! interface `MQClientAPIImpl` calls).
//!
//! Everything the producer asks of the network goes through a [`Link`]: the remoting client
//! itself, or any [`Transport`], so the send path (retries, classification, the driver,
//! shutdown) is tested against a fake in milliseconds.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::TryFutureExt;
use futures_util::future::Either;
use rmq_remoting::{RemotingClient, RemotingCommand, RemotingError, ResponseFuture};

/// A boxed, sendable future.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a remote call returns.
pub(crate) type Reply = Result<RemotingCommand, RemotingError>;

/// The requests a producer makes.
pub(crate) trait Transport: Send + Sync + fmt::Debug + 'static {
    /// Sends `request` to `addr` and waits for the answer (Java: `invokeSync`).
    fn invoke_sync<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Reply>;

    /// Queues `request` on `addr`'s connection; the answer arrives through the returned
    /// [`Pending`] (Java: `invokeAsync`).
    fn invoke_async<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Pending, RemotingError>>;

    /// Writes `request` marked oneway (Java: `invokeOneway`).
    fn invoke_oneway<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), RemotingError>>;

    /// Asks a name server, failing over between them (Java: `invokeSync(null, …)`).
    fn invoke_name_server(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'_, Reply>;

    /// Whether any name server address is known.
    fn has_name_servers(&self) -> bool;

    /// Closes every connection; later calls fail.
    fn shutdown(&self);
}

/// The answer to an async request, still to come.
pub(crate) enum Pending {
    /// From the remoting client: no allocation beyond its own.
    Remote(ResponseFuture),
    /// From any other transport (a test fake).
    #[cfg_attr(not(test), allow(dead_code))]
    Other(BoxFuture<'static, Reply>),
}

impl Future for Pending {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        match &mut *self {
            Pending::Remote(response) => Pin::new(response).poll(cx),
            Pending::Other(response) => response.as_mut().poll(cx),
        }
    }
}

/// Where a client instance's requests go: the remoting client, called directly so the hot
/// path boxes nothing, or any other [`Transport`] (a test's fake) through the trait.
#[derive(Clone, Debug)]
pub(crate) enum Link {
    /// The real thing.
    Remoting(RemotingClient),
    /// Anything else.
    #[cfg_attr(not(test), allow(dead_code))]
    Other(Arc<dyn Transport>),
}

// Plain functions returning the inner future, not `async fn`s: an `async fn` would hold its
// arguments (the request) a second time beside the inner future, in every send in flight.
impl Link {
    pub(crate) fn invoke_sync<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> impl Future<Output = Reply> + Send + 'a {
        match self {
            Link::Remoting(client) => Either::Left(client.invoke_sync(addr, request, timeout)),
            Link::Other(transport) => Either::Right(transport.invoke_sync(addr, request, timeout)),
        }
    }

    pub(crate) fn invoke_async<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> impl Future<Output = Result<Pending, RemotingError>> + Send + 'a {
        match self {
            Link::Remoting(client) => Either::Left(
                client
                    .invoke_async(addr, request, timeout)
                    .map_ok(Pending::Remote),
            ),
            Link::Other(transport) => Either::Right(transport.invoke_async(addr, request, timeout)),
        }
    }

    pub(crate) fn invoke_oneway<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), RemotingError>> + Send + 'a {
        match self {
            Link::Remoting(client) => Either::Left(client.invoke_oneway(addr, request, timeout)),
            Link::Other(transport) => {
                Either::Right(transport.invoke_oneway(addr, request, timeout))
            }
        }
    }

    pub(crate) fn invoke_name_server(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> impl Future<Output = Reply> + Send + '_ {
        match self {
            Link::Remoting(client) => Either::Left(client.invoke_name_server(request, timeout)),
            Link::Other(transport) => Either::Right(transport.invoke_name_server(request, timeout)),
        }
    }

    pub(crate) fn has_name_servers(&self) -> bool {
        match self {
            Link::Remoting(client) => !client.name_servers().is_empty(),
            Link::Other(transport) => transport.has_name_servers(),
        }
    }

    pub(crate) fn shutdown(&self) {
        match self {
            Link::Remoting(client) => client.shutdown(),
            Link::Other(transport) => transport.shutdown(),
        }
    }
}

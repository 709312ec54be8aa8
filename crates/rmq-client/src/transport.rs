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
use std::time::Duration;

use futures_util::future::Either;
use rmq_remoting::{RemotingClient, RemotingCommand, RemotingError};

/// A boxed, sendable future.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a remote call returns.
pub(crate) type Reply = Result<RemotingCommand, RemotingError>;

/// Where an async request's outcome goes.
pub(crate) type ReplyCallback = Box<dyn FnOnce(Reply) + Send>;

/// The requests a producer makes.
pub(crate) trait Transport: Send + Sync + fmt::Debug + 'static {
    /// Sends `request` to `addr` and waits for the answer (Java: `invokeSync`).
    fn invoke_sync<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Reply>;

    /// Queues `request` on `addr`'s connection; `callback` receives its outcome, exactly once
    /// (Java: `invokeAsync` with an `InvokeCallback`).
    fn invoke_async_callback<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
        callback: ReplyCallback,
    ) -> BoxFuture<'a, ()>;

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

    pub(crate) fn invoke_async_callback<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
        callback: impl FnOnce(Reply) + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'a {
        match self {
            Link::Remoting(client) => {
                Either::Left(client.invoke_async_with_callback(addr, request, timeout, callback))
            }
            Link::Other(transport) => Either::Right(transport.invoke_async_callback(
                addr,
                request,
                timeout,
                Box::new(callback),
            )),
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

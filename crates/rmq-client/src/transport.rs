//! The seam between the producer and the remoting client (Java: the `RemotingClient`
//! interface `MQClientAPIImpl` calls).
//!
//! Everything the producer asks of the network goes through [`Transport`], so the send path
//! (retries, classification, the driver, shutdown) is tested against a fake in milliseconds,
//! and the real client is one implementation of it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

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

impl Transport for RemotingClient {
    fn invoke_sync<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Reply> {
        Box::pin(RemotingClient::invoke_sync(self, addr, request, timeout))
    }

    fn invoke_async<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Pending, RemotingError>> {
        Box::pin(async move {
            RemotingClient::invoke_async(self, addr, request, timeout)
                .await
                .map(Pending::Remote)
        })
    }

    fn invoke_oneway<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), RemotingError>> {
        Box::pin(RemotingClient::invoke_oneway(self, addr, request, timeout))
    }

    fn invoke_name_server(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'_, Reply> {
        Box::pin(RemotingClient::invoke_name_server(self, request, timeout))
    }

    fn has_name_servers(&self) -> bool {
        !self.name_servers().is_empty()
    }

    fn shutdown(&self) {
        RemotingClient::shutdown(self);
    }
}

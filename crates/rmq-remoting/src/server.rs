//! The remoting server (Java: `NettyRemotingServer`).
//!
//! Accepts connections and runs each with the same connection task as the client: requests are
//! dispatched to processors by code and answered in the request's serialization; a code with no
//! processor is answered `REQUEST_CODE_NOT_SUPPORTED` unless the request is oneway. It is what
//! rmq's test broker and name server are built on, and what a custom protocol can use alone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::client::connect::configure;
use crate::codec::DEFAULT_MAX_FRAME_LENGTH;
use crate::connection::{self, ConnectionConfig, Stream};
use crate::processor::ProcessorTable;
use crate::tls::ServerTls;
use crate::{Channel, RequestProcessor};

/// A server not yet listening: register processors, then [`bind`](Self::bind).
///
/// ```
/// use rmq_remoting::{Channel, RemotingCommand, RemotingServer, code::response};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let server = RemotingServer::builder().build();
/// server.register_processor(1000, |_: Channel, request: RemotingCommand| async move {
///     Some(RemotingCommand::response(response::SUCCESS).with_body(request.body().clone()))
/// });
/// let handle = server.bind("127.0.0.1:0").await?;
/// println!("listening on {}", handle.local_addr());
/// handle.shutdown(std::time::Duration::from_secs(1)).await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RemotingServer {
    connection: ConnectionConfig,
    tcp_keepalive: Option<Duration>,
    tls: Option<ServerTls>,
    processors: Arc<ProcessorTable>,
}

/// Settings of a [`RemotingServer`].
#[derive(Clone, Debug)]
pub struct RemotingServerBuilder {
    connection: ConnectionConfig,
    tcp_keepalive: Option<Duration>,
    tls: Option<ServerTls>,
}

impl Default for RemotingServerBuilder {
    fn default() -> Self {
        Self {
            connection: ConnectionConfig {
                max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
                queue_capacity: 4096,
                max_inflight_requests: 4096,
            },
            tcp_keepalive: Some(Duration::from_secs(60)),
            tls: None,
        }
    }
}

impl RemotingServerBuilder {
    /// The largest frame accepted or sent, length prefix included (16 MiB).
    pub fn max_frame_length(mut self, bytes: usize) -> Self {
        self.connection.max_frame_length = bytes.max(64);
        self
    }

    /// Requests processed at once per connection; reading pauses at the limit (4096).
    pub fn max_inflight_requests(mut self, limit: usize) -> Self {
        self.connection.max_inflight_requests = limit.max(1);
        self
    }

    /// Requests the server itself may queue per connection (4096).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.connection.queue_capacity = capacity.max(1);
        self
    }

    /// TCP keepalive idle time, or `None` (60 s).
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }

    /// Speaks TLS on every connection; a client whose handshake fails is dropped.
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The server, ready for processors.
    pub fn build(self) -> RemotingServer {
        RemotingServer {
            connection: self.connection,
            tcp_keepalive: self.tcp_keepalive,
            tls: self.tls,
            processors: Arc::default(),
        }
    }
}

impl RemotingServer {
    /// A builder with the defaults.
    pub fn builder() -> RemotingServerBuilder {
        RemotingServerBuilder::default()
    }

    /// Registers the processor for request `code` (Java: `registerProcessor`).
    pub fn register_processor(&self, code: i32, processor: impl RequestProcessor) {
        self.processors.register(code, Arc::new(processor));
    }

    /// Registers the processor for codes without one (Java: `registerDefaultProcessor`).
    pub fn set_default_processor(&self, processor: impl RequestProcessor) {
        self.processors.set_default(Arc::new(processor));
    }

    /// Listens on `addr` (port 0 picks a free one) and starts accepting connections.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> std::io::Result<ServerHandle> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            processors: self.processors,
            channels: Mutex::default(),
            stop_accepting: CancellationToken::new(),
        });
        let accept = tokio::spawn(accept_loop(
            listener,
            shared.clone(),
            self.connection,
            self.tcp_keepalive,
            self.tls,
        ));
        Ok(ServerHandle {
            local_addr,
            shared,
            accept: Some(accept),
        })
    }
}

#[derive(Debug)]
struct Shared {
    processors: Arc<ProcessorTable>,
    channels: Mutex<HashMap<u64, Channel>>,
    stop_accepting: CancellationToken,
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    config: ConnectionConfig,
    keepalive: Option<Duration>,
    tls: Option<ServerTls>,
) {
    loop {
        let accepted = tokio::select! {
            () = shared.stop_accepting.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if let Err(e) = configure(&stream, keepalive) {
            tracing::debug!(%peer, error = %e, "could not set socket options");
        }
        match &tls {
            None => serve(Stream::Plain(stream), peer, &shared, &config),
            // In a task of its own, so a slow or silent client cannot hold up the others.
            Some(tls) => {
                let (tls, shared, config) = (tls.clone(), shared.clone(), config.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve(Stream::Tls(Box::new(stream.into())), peer, &shared, &config);
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "no TLS handshake in time"),
                    }
                });
            }
        }
    }
}

/// How long a client has to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the connection's task and keeps its handle.
fn serve(stream: Stream, peer: SocketAddr, shared: &Arc<Shared>, config: &ConnectionConfig) {
    let weak = Arc::downgrade(shared);
    let spawned = connection::spawn(
        stream,
        Arc::from(peer.to_string()),
        config,
        shared.processors.clone(),
        move |id| {
            if let Some(shared) = weak.upgrade() {
                shared.channels.lock().remove(&id);
            }
        },
    );
    match spawned {
        Ok(channel) => {
            let mut channels = shared.channels.lock();
            // The connection may already have ended and run its removal.
            if !channel.is_closed() {
                channels.insert(channel.id(), channel);
            }
        }
        Err(e) => tracing::debug!(%peer, error = %e, "connection lost before it started"),
    }
}

/// A listening server. Dropping it stops accepting and closes every connection at once;
/// [`shutdown`](Self::shutdown) does so gracefully.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The open connections, e.g. to send a request to a client.
    pub fn channels(&self) -> Vec<Channel> {
        self.shared.channels.lock().values().cloned().collect()
    }

    /// Registers the processor for request `code`; applies to open connections too.
    pub fn register_processor(&self, code: i32, processor: impl RequestProcessor) {
        self.shared.processors.register(code, Arc::new(processor));
    }

    /// Closes the listening socket, so new connections are refused, and keeps serving the
    /// connections already open.
    pub fn stop_accepting(&self) {
        self.shared.stop_accepting.cancel();
    }

    /// Closes every open connection now, without waiting for in-flight requests; the server
    /// keeps accepting new ones unless [`stop_accepting`](Self::stop_accepting) was called.
    pub fn close_connections(&self) {
        for channel in self.channels() {
            channel.close();
        }
    }

    /// Stops accepting, lets every connection finish the requests it has in flight and write
    /// their responses, then closes them; connections still busy after `grace` are closed
    /// anyway.
    pub async fn shutdown(mut self, grace: Duration) {
        self.shared.stop_accepting.cancel();
        if let Some(accept) = self.accept.take() {
            let _ = accept.await;
        }
        let channels = self.channels();
        for channel in &channels {
            channel.drain();
        }
        let all_closed = futures_util::future::join_all(channels.iter().map(Channel::closed));
        if tokio::time::timeout(grace, all_closed).await.is_err() {
            for channel in &channels {
                channel.close();
            }
            futures_util::future::join_all(channels.iter().map(Channel::closed)).await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shared.stop_accepting.cancel();
        for channel in self.shared.channels.lock().values() {
            channel.close();
        }
    }
}

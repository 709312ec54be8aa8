//! The remoting client (Java: `NettyRemotingClient`).
//!
//! One connection per address, opened on first use and shared by every request to that address;
//! requests are pipelined on it and matched to responses by opaque. Every call takes a timeout
//! that bounds the whole call: waiting for a permit, connecting, queueing and the response.

pub(crate) mod connect;
mod name_server;
mod response;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;

use parking_lot::RwLock;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub use connect::CONNECTIONS;
pub use response::ResponseFuture;
use response::Sent;

use self::connect::{ConnectOptions, ConnectionTable};
use self::name_server::NameServers;
use crate::codec::DEFAULT_MAX_FRAME_LENGTH;
use crate::connection::ConnectionConfig;
use crate::processor::ProcessorTable;
use crate::reply::ResponseCallback;
use crate::tls::ClientTls;
use crate::{Channel, ErrorKind, RemotingCommand, RemotingError, RequestProcessor, RpcHook};

/// A configuration value that is out of range.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid remoting configuration: {setting} {problem}")]
pub struct ConfigError {
    /// The setting, e.g. `"async_permits"`.
    pub setting: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// Builds a [`RemotingClient`]; every setting has Java's default.
///
/// ```
/// use std::time::Duration;
/// use rmq_remoting::RemotingClient;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let client = RemotingClient::builder()
///     .name_servers(["127.0.0.1:9876"])
///     .connect_timeout(Duration::from_secs(1))
///     .async_permits(1024)
///     .build()
///     .unwrap();
/// assert_eq!(client.available_async_permits(), 1024);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct RemotingClientBuilder {
    connect_timeout: Duration,
    async_permits: usize,
    oneway_permits: usize,
    close_socket_if_timeout: bool,
    max_frame_length: usize,
    queue_capacity: usize,
    max_inflight_server_requests: usize,
    tcp_keepalive: Option<Duration>,
    name_servers: Vec<String>,
    signer: Option<Arc<dyn RpcHook>>,
    tls: Option<ClientTls>,
}

impl Default for RemotingClientBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(3000),
            async_permits: 65535,
            oneway_permits: 65535,
            close_socket_if_timeout: true,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
            queue_capacity: 65536,
            max_inflight_server_requests: 256,
            tcp_keepalive: Some(Duration::from_secs(60)),
            name_servers: Vec::new(),
            signer: None,
            tls: None,
        }
    }
}

impl RemotingClientBuilder {
    /// How long a connect may take (Java: `connectTimeoutMillis`, 3000 ms).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Async requests in flight at once (Java: `clientAsyncSemaphoreValue`, 65535).
    pub fn async_permits(mut self, permits: usize) -> Self {
        self.async_permits = permits;
        self
    }

    /// Oneway requests not yet written at once (Java: `clientOnewaySemaphoreValue`, 65535).
    pub fn oneway_permits(mut self, permits: usize) -> Self {
        self.oneway_permits = permits;
        self
    }

    /// Close the connection when a sync request times out, so a stuck connection is replaced
    /// (Java: `clientCloseSocketIfTimeout`, true).
    pub fn close_socket_if_timeout(mut self, close: bool) -> Self {
        self.close_socket_if_timeout = close;
        self
    }

    /// The largest frame sent or accepted, length prefix included
    /// (Java: `com.rocketmq.remoting.frameMaxLength`, 16 MiB).
    pub fn max_frame_length(mut self, bytes: usize) -> Self {
        self.max_frame_length = bytes;
        self
    }

    /// Requests queued per connection before callers wait (back-pressure), 65 536. A queued
    /// request holds less memory than a caller waiting to queue it, so the default lets every
    /// async permit's request queue.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Requests a server may have in flight on one connection before reading pauses, 256.
    pub fn max_inflight_server_requests(mut self, limit: usize) -> Self {
        self.max_inflight_server_requests = limit;
        self
    }

    /// TCP keepalive idle time and probe interval, or `None` for no keepalive (60 s).
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }

    /// The name server addresses (`ip:port`); can be changed later with
    /// [`RemotingClient::set_name_servers`].
    pub fn name_servers<S: Into<String>>(mut self, addrs: impl IntoIterator<Item = S>) -> Self {
        self.name_servers = addrs.into_iter().map(Into::into).collect();
        self
    }

    /// Signs every request after every RPC hook has run, so what the hooks add is signed too
    /// (ACL signing: [`AclSigner`](crate::acl::AclSigner)).
    ///
    /// ```
    /// use rmq_remoting::RemotingClient;
    /// use rmq_remoting::acl::AclSigner;
    ///
    /// let signer = AclSigner::new("rocketmq2", "12345678").unwrap();
    /// let client = RemotingClient::builder().request_signer(signer).build().unwrap();
    /// # drop(client);
    /// ```
    pub fn request_signer(mut self, signer: impl RpcHook) -> Self {
        self.signer = Some(Arc::new(signer));
        self
    }

    /// Speaks TLS on every connection, name servers and brokers alike (Java: `useTLS`). A
    /// failed handshake is an [`ErrorKind::Connect`] error naming the address and the reason.
    ///
    /// ```
    /// use rmq_remoting::RemotingClient;
    /// use rmq_remoting::tls::ClientTls;
    ///
    /// let tls = ClientTls::builder().server_name("rocketmq.example.com").build().unwrap();
    /// let client = RemotingClient::builder().tls(tls).build().unwrap();
    /// # drop(client);
    /// ```
    pub fn tls(mut self, tls: ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Checks the settings and builds the client. Nothing connects until the first request.
    pub fn build(self) -> Result<RemotingClient, ConfigError> {
        let positive = |setting: &'static str, value: usize| {
            if value == 0 {
                Err(ConfigError {
                    setting,
                    problem: "must be at least 1".into(),
                })
            } else {
                Ok(())
            }
        };
        positive("async_permits", self.async_permits)?;
        positive("oneway_permits", self.oneway_permits)?;
        positive("queue_capacity", self.queue_capacity)?;
        positive(
            "max_inflight_server_requests",
            self.max_inflight_server_requests,
        )?;
        if self.max_frame_length < 64 {
            return Err(ConfigError {
                setting: "max_frame_length",
                problem: format!("must be at least 64 bytes, got {}", self.max_frame_length),
            });
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError {
                setting: "connect_timeout",
                problem: "must be more than zero".into(),
            });
        }
        // Tokio's semaphore has a maximum; anything near it is unbounded in practice.
        let permits = |n: usize| n.min(Semaphore::MAX_PERMITS);
        let name_servers = NameServers::default();
        name_servers.set(self.name_servers);
        Ok(RemotingClient {
            inner: Arc::new(Inner {
                options: ConnectOptions {
                    connect_timeout: self.connect_timeout,
                    tcp_keepalive: self.tcp_keepalive,
                    connection: ConnectionConfig {
                        max_frame_length: self.max_frame_length,
                        queue_capacity: self.queue_capacity,
                        max_inflight_requests: self.max_inflight_server_requests,
                    },
                    tls: self.tls,
                },
                close_socket_if_timeout: self.close_socket_if_timeout,
                table: Arc::default(),
                name_servers,
                async_capacity: permits(self.async_permits),
                async_permits: Arc::new(Semaphore::new(permits(self.async_permits))),
                oneway_capacity: permits(self.oneway_permits),
                oneway_permits: Arc::new(Semaphore::new(permits(self.oneway_permits))),
                hooks: RwLock::default(),
                signer: self.signer,
                processors: Arc::default(),
            }),
        })
    }
}

/// The remoting client (Java: `NettyRemotingClient`). Cheap to clone; clones share
/// connections, permits, hooks and processors.
///
/// ```no_run
/// use std::time::Duration;
/// use rmq_remoting::{RemotingClient, RemotingCommand, code::request};
/// use rmq_remoting::header::GetRouteInfoRequestHeader;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = RemotingClient::builder().name_servers(["127.0.0.1:9876"]).build()?;
/// let route = client
///     .invoke_name_server(
///         RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
///             .with_header(GetRouteInfoRequestHeader::new("TopicTest")),
///         Duration::from_secs(3),
///     )
///     .await?;
/// println!("route answer: code {}", route.code());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RemotingClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: ConnectOptions,
    close_socket_if_timeout: bool,
    table: Arc<ConnectionTable>,
    name_servers: NameServers,
    async_capacity: usize,
    async_permits: Arc<Semaphore>,
    oneway_capacity: usize,
    oneway_permits: Arc<Semaphore>,
    hooks: RwLock<Arc<Vec<Arc<dyn RpcHook>>>>,
    /// Runs after the hooks (see [`RemotingClientBuilder::request_signer`]).
    signer: Option<Arc<dyn RpcHook>>,
    processors: Arc<ProcessorTable>,
}

impl std::fmt::Debug for dyn RpcHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RpcHook")
    }
}

impl RemotingClient {
    /// A builder with Java's defaults.
    pub fn builder() -> RemotingClientBuilder {
        RemotingClientBuilder::default()
    }

    /// Sends `request` to `addr` and waits for the response (Java: `invokeSync`).
    ///
    /// On timeout the connection is closed when `close_socket_if_timeout` is on, so the next
    /// request gets a fresh one.
    pub async fn invoke_sync(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let deadline = crate::deadline::deadline_after(timeout);
        self.invoke_sync_until(addr, request, deadline, timeout)
            .await
    }

    async fn invoke_sync_until(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        self.check_open(addr)?;
        let channel = self.channel(addr, deadline).await?;
        let hooks = self.before_request(addr, &mut request)?;
        let after = AfterHooks::keep(hooks, &request);
        let (_, rx) = channel.send_request(request, deadline).await?;
        match channel.await_reply(rx, deadline, timeout).await {
            Ok(mut response) => {
                if let Some(after) = &after {
                    after.run(addr, &mut response);
                }
                Ok(response)
            }
            Err(e) => {
                if e.is_timeout() && self.inner.close_socket_if_timeout {
                    channel.close();
                }
                Err(e)
            }
        }
    }

    /// Sends `request` to `addr` and returns once it is queued on the connection; the returned
    /// future resolves to the response (Java: `invokeAsync`).
    ///
    /// Takes an async permit first, waiting for one until the deadline; the permit is held
    /// until the response arrives, the deadline passes, or the future is dropped. Issue many
    /// requests before awaiting any to pipeline them.
    pub async fn invoke_async(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<ResponseFuture, RemotingError> {
        let deadline = crate::deadline::deadline_after(timeout);
        self.check_open(addr)?;
        let permit = self.acquire_async(addr, deadline).await?;
        let channel = self.channel(addr, deadline).await?;
        let hooks = self.before_request(addr, &mut request)?;
        let code = request.code();
        let after = AfterHooks::keep(hooks, &request);
        let (opaque, rx) = channel.send_request(request, deadline).await?;
        let sent = Sent {
            opaque,
            code,
            after,
        };
        Ok(ResponseFuture::new(
            rx, deadline, timeout, permit, channel, sent,
        ))
    }

    /// Sends `request` to `addr` and hands its outcome to `callback`, called exactly once
    /// (Java: `invokeAsync` with an `InvokeCallback`): with the response, with a timeout at
    /// the deadline, or with the error that kept the request from being sent (no permit
    /// before the deadline, no connection, a full queue).
    ///
    /// The request is queued as this is called when an async permit is free and the
    /// connection is open, the common case: the returned future is then already complete.
    /// Otherwise the future waits for them, and must be awaited for the request to go.
    ///
    /// The connection's own task keeps the request and calls `callback` when the answer
    /// arrives: no task, channel or timer per request, so this is the cheapest way to keep
    /// many requests in flight. For that reason `callback` runs on that task: keep it short,
    /// and hand anything slow (or blocking) to a task of its own. A panic in it is logged and
    /// goes no further. Holds an async permit until `callback` is called.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use rmq_remoting::{RemotingClient, RemotingCommand, code::request};
    ///
    /// # async fn demo(client: RemotingClient) {
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// client
    ///     .invoke_async_with_callback(
    ///         "127.0.0.1:10911",
    ///         RemotingCommand::request(request::HEART_BEAT),
    ///         Duration::from_secs(3),
    ///         move |outcome| {
    ///             let _ = tx.send(outcome.map(|response| response.code()));
    ///         },
    ///     )
    ///     .await;
    /// println!("answered: {:?}", rx.await);
    /// # }
    /// ```
    pub fn invoke_async_with_callback<'a, F>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
        callback: F,
    ) -> impl Future<Output = ()> + Send + 'a
    where
        F: FnOnce(Result<RemotingCommand, RemotingError>) + Send + 'static,
    {
        let deadline = crate::deadline::deadline_after(timeout);
        // The fast path holds nothing in the returned future, which every async request in
        // flight would otherwise keep.
        if let Some((permit, channel)) = self.try_ready_async(addr) {
            let callback = ResponseCallback::new(
                channel.addr_arc().clone(),
                deadline,
                timeout,
                Box::new(callback),
            );
            return match self.offer(permit, &channel, request, callback) {
                None => Either::Left(std::future::ready(())),
                Some(item) => Either::Right(Box::pin(async move {
                    channel.wait_to_queue(item, deadline).await;
                })
                    as Pin<Box<dyn Future<Output = ()> + Send + 'a>>),
            };
        }
        // Made before the first wait, so the callback is called even if this future is
        // dropped before the request is queued.
        let callback =
            ResponseCallback::new(Arc::from(addr), deadline, timeout, Box::new(callback));
        Either::Right(Box::pin(async move {
            match self.ready_async(addr, deadline).await {
                Ok((permit, channel)) => {
                    if let Some(item) = self.offer(permit, &channel, request, callback) {
                        channel.wait_to_queue(item, deadline).await;
                    }
                }
                Err(e) => callback.complete(Err(e)),
            }
        }))
    }

    /// Runs the hooks on `request` and offers it to `channel`, `callback` holding its permit
    /// (released before the callback runs) and its hooks' `after_response`. A request the
    /// queue has no room for now is handed back.
    fn offer(
        &self,
        permit: OwnedSemaphorePermit,
        channel: &Channel,
        mut request: RemotingCommand,
        callback: ResponseCallback,
    ) -> Option<Box<crate::connection::Outbound>> {
        let hooks = match self.before_request(channel.addr(), &mut request) {
            Ok(hooks) => hooks,
            Err(e) => {
                callback.complete(Err(e));
                return None;
            }
        };
        let after = AfterHooks::keep(hooks, &request);
        let callback = callback.holding(permit, after);
        channel.offer_with_callback(request, callback).err()
    }

    /// Sends `request` marked oneway and returns once it has been written (Java:
    /// `invokeOneway`). Takes a oneway permit, held until the frame is written.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), RemotingError> {
        let deadline = crate::deadline::deadline_after(timeout);
        self.check_open(addr)?;
        let _permit = acquire(
            &self.inner.oneway_permits,
            self.inner.oneway_capacity,
            "oneway",
            addr,
            deadline,
        )
        .await?;
        let channel = self.channel(addr, deadline).await?;
        // Hooks run before the oneway mark, as in Java.
        self.before_request(addr, &mut request)?;
        request.mark_oneway();
        channel.send_oneway(request, deadline).await
    }

    /// Sends `request` to a name server and waits for the response (Java:
    /// `invokeSync(null, …)`).
    ///
    /// Starts with the name server that last answered (a random one at first) and moves to the
    /// next when one cannot be reached, all within `timeout`.
    pub async fn invoke_name_server(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let deadline = crate::deadline::deadline_after(timeout);
        let candidates = self.inner.name_servers.candidates();
        if candidates.is_empty() {
            return Err(RemotingError::new(ErrorKind::NoNameServer, ""));
        }
        let mut last_error = None;
        for addr in candidates {
            if last_error.is_some() && Instant::now() >= deadline {
                break;
            }
            match self
                .invoke_sync_until(&addr, request.clone(), deadline, timeout)
                .await
            {
                Ok(response) => {
                    self.inner.name_servers.succeeded(&addr);
                    return Ok(response);
                }
                Err(e) => {
                    self.inner.name_servers.failed(&addr);
                    let unreachable = matches!(
                        e.kind(),
                        ErrorKind::Connect | ErrorKind::ConnectionClosed | ErrorKind::SendRequest
                    );
                    if !unreachable {
                        return Err(e);
                    }
                    tracing::debug!(%addr, error = %e, "name server unreachable; trying the next");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| RemotingError::new(ErrorKind::NoNameServer, "")))
    }

    /// Replaces the name server list (Java: `updateNameServerAddressList`).
    pub fn set_name_servers<S: Into<String>>(&self, addrs: impl IntoIterator<Item = S>) {
        self.inner
            .name_servers
            .set(addrs.into_iter().map(Into::into).collect());
    }

    /// The configured name server addresses.
    pub fn name_servers(&self) -> Vec<String> {
        self.inner.name_servers.list()
    }

    /// Registers the processor for requests with `code` that a peer sends (Java:
    /// `registerProcessor`); applies to existing connections too.
    pub fn register_processor(&self, code: i32, processor: impl RequestProcessor) {
        self.inner.processors.register(code, Arc::new(processor));
    }

    /// Registers the processor for request codes with no processor of their own. Without one,
    /// such requests are answered `REQUEST_CODE_NOT_SUPPORTED` (3).
    pub fn set_default_processor(&self, processor: impl RequestProcessor) {
        self.inner.processors.set_default(Arc::new(processor));
    }

    /// Adds a hook run around every request (Java: `registerRPCHook`).
    pub fn register_rpc_hook(&self, hook: impl RpcHook) {
        self.register_shared_rpc_hook(Arc::new(hook));
    }

    /// Adds a hook already shared with others, e.g. one hook signing the requests of several
    /// clients.
    pub fn register_shared_rpc_hook(&self, hook: Arc<dyn RpcHook>) {
        let mut hooks = self.inner.hooks.write();
        let mut updated: Vec<Arc<dyn RpcHook>> = hooks.as_ref().clone();
        updated.push(hook);
        *hooks = Arc::new(updated);
    }

    /// The open connection to `addr`, opening it if needed.
    pub async fn connect(&self, addr: &str, timeout: Duration) -> Result<Channel, RemotingError> {
        self.channel(addr, crate::deadline::deadline_after(timeout))
            .await
    }

    /// The open connections.
    pub fn channels(&self) -> Vec<Channel> {
        self.inner.table.channels()
    }

    /// Closes the connection to `addr`; the next request to it reconnects (Java:
    /// `closeChannel`).
    pub fn close_connection(&self, addr: &str) {
        self.inner.table.close(addr);
    }

    /// Async permits free now; equals the configured count when nothing is in flight.
    pub fn available_async_permits(&self) -> usize {
        self.inner.async_permits.available_permits()
    }

    /// Oneway permits free now; equals the configured count when nothing is in flight.
    pub fn available_oneway_permits(&self) -> usize {
        self.inner.oneway_permits.available_permits()
    }

    /// Closes every connection and refuses further requests with [`ErrorKind::Shutdown`];
    /// requests still pending fail with a connection error.
    pub fn shutdown(&self) {
        self.inner.async_permits.close();
        self.inner.oneway_permits.close();
        self.inner.table.close_all();
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.async_permits.is_closed()
    }

    fn check_open(&self, addr: &str) -> Result<(), RemotingError> {
        if self.is_shutdown() {
            return Err(RemotingError::new(ErrorKind::Shutdown, addr));
        }
        Ok(())
    }

    async fn channel(&self, addr: &str, deadline: Instant) -> Result<Channel, RemotingError> {
        let channel = self
            .inner
            .table
            .get_or_connect(addr, deadline, &self.inner.options, &self.inner.processors)
            .await?;
        // A shutdown that raced the connect must not leave a connection behind.
        if self.is_shutdown() {
            channel.close();
            return Err(RemotingError::new(ErrorKind::Shutdown, addr));
        }
        Ok(channel)
    }

    /// Runs every hook's `before_request`; a hook that panics fails the request, unsent.
    fn before_request(
        &self,
        addr: &str,
        request: &mut RemotingCommand,
    ) -> Result<Arc<Vec<Arc<dyn RpcHook>>>, RemotingError> {
        let hooks = self.inner.hooks.read().clone();
        for hook in hooks.iter() {
            contain(addr, "before_request", || {
                hook.before_request(addr, request)
            })?;
        }
        if let Some(signer) = &self.inner.signer {
            contain(addr, "before_request", || {
                signer.before_request(addr, request)
            })?;
        }
        Ok(hooks)
    }

    /// A free async permit and the open connection to `addr`, if both are there now.
    fn try_ready_async(&self, addr: &str) -> Option<(OwnedSemaphorePermit, Channel)> {
        if self.is_shutdown() {
            return None;
        }
        let channel = self.inner.table.live(addr)?;
        let permit = self.inner.async_permits.clone().try_acquire_owned().ok()?;
        Some((permit, channel))
    }

    /// An async permit and the connection to `addr`, waiting for either until `deadline`.
    async fn ready_async(
        &self,
        addr: &str,
        deadline: Instant,
    ) -> Result<(OwnedSemaphorePermit, Channel), RemotingError> {
        self.check_open(addr)?;
        let permit = self.acquire_async(addr, deadline).await?;
        let channel = self.channel(addr, deadline).await?;
        Ok((permit, channel))
    }

    async fn acquire_async(
        &self,
        addr: &str,
        deadline: Instant,
    ) -> Result<OwnedSemaphorePermit, RemotingError> {
        acquire(
            &self.inner.async_permits,
            self.inner.async_capacity,
            "async",
            addr,
            deadline,
        )
        .await
    }
}

/// What the hooks' `after_response` needs: the hooks and a copy of the request (the request
/// itself goes to the connection, which encodes and drops it).
pub(crate) struct AfterHooks {
    hooks: Arc<Vec<Arc<dyn RpcHook>>>,
    request: RemotingCommand,
}

impl AfterHooks {
    /// Kept only when there are hooks; boxed, so a request without hooks carries one word.
    fn keep(hooks: Arc<Vec<Arc<dyn RpcHook>>>, request: &RemotingCommand) -> Option<Box<Self>> {
        (!hooks.is_empty()).then(|| {
            Box::new(Self {
                hooks,
                request: request.clone(),
            })
        })
    }

    /// Runs every hook's `after_response`. A hook that panics is logged and the response
    /// kept: the peer has acted on the request (a broker stored the message), and reporting a
    /// failure would have the caller send it again.
    pub(crate) fn run(&self, addr: &str, response: &mut RemotingCommand) {
        for hook in self.hooks.iter() {
            if let Err(e) = contain(addr, "after_response", || {
                hook.after_response(addr, &self.request, response);
            }) {
                tracing::error!(error = %e, "RPC hook panicked on a response; the response is kept");
            }
        }
    }
}

/// Runs a user hook; a panic becomes an error naming it, instead of unwinding into the
/// caller (or the connection's task).
fn contain(addr: &str, what: &str, call: impl FnOnce()) -> Result<(), RemotingError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)).map_err(|_| {
        RemotingError::new(ErrorKind::Hook, addr)
            .with_detail(format!("an RPC hook's {what} panicked"))
    })
}

async fn acquire(
    semaphore: &Arc<Semaphore>,
    capacity: usize,
    what: &str,
    addr: &str,
    deadline: Instant,
) -> Result<OwnedSemaphorePermit, RemotingError> {
    if let Ok(permit) = semaphore.clone().try_acquire_owned() {
        return Ok(permit);
    }
    // Waiting for a permit is the exception; its timer stays out of the common path.
    Box::pin(acquire_slow(semaphore, capacity, what, addr, deadline)).await
}

async fn acquire_slow(
    semaphore: &Arc<Semaphore>,
    capacity: usize,
    what: &str,
    addr: &str,
    deadline: Instant,
) -> Result<OwnedSemaphorePermit, RemotingError> {
    match tokio::time::timeout_at(deadline, semaphore.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) => Err(RemotingError::new(ErrorKind::Shutdown, addr)),
        Err(_) => Err(
            RemotingError::new(ErrorKind::TooManyRequests, addr).with_detail(format!(
                "no {what} permit became free before the deadline; {capacity} requests in flight"
            )),
        ),
    }
}

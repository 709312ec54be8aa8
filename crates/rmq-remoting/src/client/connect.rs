//! The table of connections by address, created lazily; concurrent first requests to one
//! address share a single connect (Java: `NettyRemotingClient.channelTables`,
//! `createChannel`).

use rustc_hash::FxHashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use parking_lot::Mutex;
use socket2::{SockRef, TcpKeepalive};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::connection::{self, ConnectionConfig, Stream};
use crate::processor::ProcessorTable;
use crate::tls::ClientTls;
use crate::{Channel, ErrorKind, RemotingError};

/// Open client connections (a gauge, through the `metrics` facade).
pub const CONNECTIONS: &str = "rmq_connections";

type Connecting = Shared<BoxFuture<'static, Result<Channel, RemotingError>>>;

/// How to open connections.
#[derive(Clone, Debug)]
pub(crate) struct ConnectOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) tcp_keepalive: Option<Duration>,
    pub(crate) connection: ConnectionConfig,
    pub(crate) tls: Option<ClientTls>,
}

/// Connections by the address string callers use.
#[derive(Default)]
pub(crate) struct ConnectionTable {
    /// By broker or name-server address (trusted configuration and routes; a fast hash).
    slots: Mutex<FxHashMap<Arc<str>, Connecting>>,
}

impl std::fmt::Debug for ConnectionTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let addrs: Vec<Arc<str>> = self.slots.lock().keys().cloned().collect();
        f.debug_struct("ConnectionTable")
            .field("addrs", &addrs)
            .finish()
    }
}

impl ConnectionTable {
    /// The live connection to `addr`, connecting first if there is none; waits for a connect
    /// another caller started rather than starting a second one.
    pub(crate) async fn get_or_connect(
        self: &Arc<Self>,
        addr: &str,
        deadline: Instant,
        options: &ConnectOptions,
        processors: &Arc<ProcessorTable>,
    ) -> Result<Channel, RemotingError> {
        if let Some(channel) = self.live(addr) {
            return Ok(channel);
        }
        // Connecting is rare and its future large: keep it out of every caller's state.
        Box::pin(self.connect_slow(addr, deadline, options, processors)).await
    }

    /// The open connection to `addr`, if there is one.
    pub(crate) fn live(&self, addr: &str) -> Option<Channel> {
        match self.slots.lock().get(addr)?.peek() {
            Some(Ok(channel)) if !channel.is_closed() => Some(channel.clone()),
            _ => None,
        }
    }

    async fn connect_slow(
        self: &Arc<Self>,
        addr: &str,
        deadline: Instant,
        options: &ConnectOptions,
        processors: &Arc<ProcessorTable>,
    ) -> Result<Channel, RemotingError> {
        let connecting = {
            let mut slots = self.slots.lock();
            // Checked again under the lock: another caller may have connected meanwhile.
            match slots.get(addr).map(|slot| (slot.peek().cloned(), slot)) {
                Some((Some(Ok(channel)), _)) if !channel.is_closed() => return Ok(channel),
                Some((None, slot)) => slot.clone(),
                _ => {
                    let addr: Arc<str> = Arc::from(addr);
                    let slot = connect(
                        addr.clone(),
                        options.clone(),
                        processors.clone(),
                        Arc::downgrade(self),
                    )
                    .boxed()
                    .shared();
                    slots.insert(addr, slot.clone());
                    slot
                }
            }
        };
        match tokio::time::timeout_at(deadline, connecting.clone()).await {
            Ok(Ok(channel)) => Ok(channel),
            Ok(Err(e)) => {
                // Forget the failed attempt so the next request tries again.
                let mut slots = self.slots.lock();
                if slots
                    .get(addr)
                    .is_some_and(|slot| Shared::ptr_eq(slot, &connecting))
                {
                    slots.remove(addr);
                }
                Err(e)
            }
            Err(_) => Err(RemotingError::new(ErrorKind::Connect, addr)
                .with_detail("the request's deadline passed while connecting")),
        }
    }

    /// Forgets the connection to `addr` and closes it.
    pub(crate) fn close(&self, addr: &str) {
        if let Some(slot) = self.slots.lock().remove(addr)
            && let Some(Ok(channel)) = slot.peek()
        {
            channel.close();
        }
    }

    /// Closes every connection.
    pub(crate) fn close_all(&self) {
        for (_, slot) in self.slots.lock().drain() {
            if let Some(Ok(channel)) = slot.peek() {
                channel.close();
            }
        }
    }

    /// The live connections.
    pub(crate) fn channels(&self) -> Vec<Channel> {
        self.slots
            .lock()
            .values()
            .filter_map(|slot| match slot.peek() {
                Some(Ok(channel)) if !channel.is_closed() => Some(channel.clone()),
                _ => None,
            })
            .collect()
    }

    /// Drops the slot of a connection that ended, unless a newer one replaced it.
    fn remove_closed(&self, addr: &str, id: u64) {
        let mut slots = self.slots.lock();
        if slots
            .get(addr)
            .and_then(|slot| slot.peek())
            .is_some_and(|result| matches!(result, Ok(channel) if channel.id() == id))
        {
            slots.remove(addr);
        }
    }
}

async fn connect(
    addr: Arc<str>,
    options: ConnectOptions,
    processors: Arc<ProcessorTable>,
    table: Weak<ConnectionTable>,
) -> Result<Channel, RemotingError> {
    let error = |kind| RemotingError::new(kind, addr.clone());
    let stream =
        match tokio::time::timeout(options.connect_timeout, TcpStream::connect(&*addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(error(ErrorKind::Connect).with_source(e)),
            Err(_) => {
                return Err(error(ErrorKind::Connect).with_detail(format!(
                    "no connection within the connect timeout of {} ms",
                    options.connect_timeout.as_millis()
                )));
            }
        };
    configure(&stream, options.tcp_keepalive)
        .map_err(|e| error(ErrorKind::Connect).with_source(e))?;
    let stream = match &options.tls {
        None => Stream::Plain(stream),
        // The handshake counts against the connect timeout too.
        Some(tls) => {
            match tokio::time::timeout(options.connect_timeout, tls.connect(&addr, stream)).await {
                Ok(Ok(tls)) => Stream::Tls(Box::new(tls.into())),
                Ok(Err(e)) => {
                    return Err(error(ErrorKind::Connect)
                        .with_detail(format!("TLS handshake failed: {e}"))
                        .with_source(e));
                }
                Err(_) => {
                    return Err(error(ErrorKind::Connect).with_detail(format!(
                        "no TLS handshake within the connect timeout of {} ms",
                        options.connect_timeout.as_millis()
                    )));
                }
            }
        }
    };
    let closed_addr = addr.clone();
    let channel = connection::spawn(
        stream,
        addr.clone(),
        &options.connection,
        processors,
        move |id| {
            tracing::info!(addr = %closed_addr, "connection closed");
            metrics::gauge!(CONNECTIONS).decrement(1.0);
            if let Some(table) = table.upgrade() {
                table.remove_closed(&closed_addr, id);
            }
        },
    )
    .map_err(|e| error(ErrorKind::Connect).with_source(e))?;
    tracing::info!(%addr, "connected");
    metrics::gauge!(CONNECTIONS).increment(1.0);
    Ok(channel)
}

/// `TCP_NODELAY` (requests are small and latency-bound) and keepalive, so a peer that vanished
/// without a FIN is eventually noticed even on an idle connection.
pub(crate) fn configure(stream: &TcpStream, keepalive: Option<Duration>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    if let Some(idle) = keepalive {
        let params = TcpKeepalive::new().with_time(idle).with_interval(idle);
        SockRef::from(stream).set_tcp_keepalive(&params)?;
    }
    Ok(())
}

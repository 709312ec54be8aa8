//! One TCP connection and the task that owns it (Java: `NettyRemotingAbstract`'s channel
//! handling: `responseTable`, `processMessageReceived`, `processRequestCommand`).
//!
//! Clients and servers share this. The task alone owns the socket and the table of requests
//! waiting for a response (keyed by opaque), so neither needs a lock. Callers talk to it through
//! a [`Channel`] handle over a bounded queue:
//! - frames queued while a write is in progress are coalesced into the next write, so many
//!   requests go out in one syscall and requests on one connection are pipelined;
//! - reads and writes are driven in the same `select!`, so a peer that stops reading while we
//!   write cannot deadlock us;
//! - when the connection ends for any reason, every waiting request fails at once with the
//!   reason, instead of waiting out its timeout;
//! - requests the peer starts run inline up to their first await (most finish there, and
//!   their responses go straight into the write buffer); those still waiting continue
//!   concurrently in their own tasks, bounded per connection, and reading pauses while the
//!   bound is reached so memory stays bounded;
//! - received frames are handled a chunk at a time, so on a busy connection the answers to the
//!   first ones go out while the rest are handled.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::FutureExt;
use rustc_hash::FxHashMap;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::codec::{Decoder, Encoder};
use tokio_util::sync::CancellationToken;
use tokio_util::time::{DelayQueue, delay_queue};

use crate::code::response;
use crate::processor::ProcessorTable;
use crate::reply::{Reply, ReplyTo, ResponseCallback};
use crate::{ErrorKind, FrameCodec, RemotingCommand, RemotingError, SerializeType};

/// Stop taking new frames from callers while this much is waiting to be written. The socket's
/// own buffer holds more; past this, frames wait in the queue unencoded, which costs less.
const WRITE_HIGH_WATER: usize = 256 * 1024;
/// A write smaller than this waits for one turn of the scheduler first (see `run`).
const COALESCE_BELOW: usize = 64 * 1024;
/// Frames taken from the queue per wake-up.
const BATCH: usize = 256;
/// Received frames handled per turn of the loop. Handling a whole read at once makes the two
/// ends of a busy connection take turns (one works on a big batch while the other waits for
/// it); smaller chunks let the answers to the first frames go out while later ones are still
/// being handled, so both ends work at once.
const DECODE_CHUNK: usize = 32;
/// How often requests whose caller gave up are dropped from the response table
/// (Java scans its `responseTable` every second too).
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// The furthest a callback's timer is set; a later deadline is re-armed when this passes.
/// The timer wheel takes deadlines up to about two years past its last tick.
const LONGEST_TIMER: Duration = Duration::from_secs(24 * 3600);
/// Loop turns between checks of the timers at the top of the loop (see `run`).
const TIMER_CHECK_TURNS: u32 = 32;
/// How often the timer wheel ticks with nothing due, so its clock never lags (it advances
/// only when something fires, and answered requests never do).
const WHEEL_TICK: Duration = Duration::from_secs(60);

/// The process-wide request id counter (Java: `RemotingCommand.requestId`). It wraps to
/// negative after `i32::MAX`, as Java's does.
static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(0);
static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh request id.
pub(crate) fn next_opaque() -> i32 {
    NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed)
}

/// What a oneway caller learns once its frame is written (or could not be encoded).
pub(crate) type Written = Result<(), RemotingError>;

/// Work for the connection task.
pub(crate) enum Outbound {
    /// A request with its opaque set; the task encodes it straight into its write buffer.
    /// `reply` is absent for oneway requests.
    Request {
        request: RemotingCommand,
        reply: Option<ReplyTo>,
        written: Option<oneshot::Sender<Written>>,
    },
}

/// What became of a request offered to the connection's queue without waiting.
enum Enqueued {
    Queued,
    Refused(Refused),
    /// No room now; handed back.
    Full(Outbound),
}

/// A request the connection's queue did not take, handed back with the reason.
pub(crate) struct Refused {
    pub(crate) error: RemotingError,
    pub(crate) item: Outbound,
}

impl Refused {
    /// Tells whoever waits for the request's answer why there will be none.
    fn fail(self) {
        let Outbound::Request { reply, written, .. } = self.item;
        if let Some(reply) = reply {
            reply.complete(Err(self.error));
        } else if let Some(written) = written {
            let _ = written.send(Err(self.error));
        }
    }
}

/// Per-connection settings.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionConfig {
    pub(crate) max_frame_length: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) max_inflight_requests: usize,
}

/// A handle to one connection: what processors receive, and what clients and servers send
/// requests through. Cheap to clone; the connection closes when it fails, when
/// [`close`](Self::close) is called, or when every handle is gone.
///
/// ```no_run
/// # async fn demo(channel: rmq_remoting::Channel) -> Result<(), rmq_remoting::RemotingError> {
/// use std::time::Duration;
/// use rmq_remoting::{RemotingCommand, code::request};
///
/// // A server asking the client on this connection something, as a broker does.
/// let answer = channel
///     .invoke(RemotingCommand::request(request::GET_CONSUMER_RUNNING_INFO), Duration::from_secs(3))
///     .await?;
/// println!("{} answered {}", channel.addr(), answer.code());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Channel {
    shared: Arc<ChannelShared>,
}

struct ChannelShared {
    id: u64,
    addr: Arc<str>,
    /// `addr` again, for callers that keep it per message.
    addr_shared: ByteString,
    remote: SocketAddr,
    tx: mpsc::Sender<Outbound>,
    closed: Arc<CloseSignal>,
    draining: CancellationToken,
}

/// How a connection's end is told: a flag for the checks callers make on every request (a
/// token's own check takes its lock), and a token to wait on.
#[derive(Default)]
struct CloseSignal {
    flag: AtomicBool,
    token: CancellationToken,
}

impl CloseSignal {
    fn close(&self) {
        self.flag.store(true, Ordering::Release);
        self.token.cancel();
    }

    fn is_closed(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }
}

impl Channel {
    /// The peer's address as this side names it (`ip:port`).
    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    /// [`addr`](Self::addr) as a shared string: keeping it (a broker does, per stored message)
    /// costs a reference count, not a copy.
    pub fn addr_shared(&self) -> &ByteString {
        &self.shared.addr_shared
    }

    /// The peer's socket address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.shared.remote
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.is_closed()
    }

    /// Closes the connection now; requests waiting on it fail with a connection error.
    pub fn close(&self) {
        self.shared.closed.close();
    }

    /// Resolves once the connection has ended.
    pub async fn closed(&self) {
        self.shared.closed.token.cancelled().await;
    }

    /// Sends `request` and waits for its response until `timeout`.
    ///
    /// This is the raw channel call: no permits and no hooks (a
    /// [`RemotingClient`](crate::RemotingClient) adds those).
    pub async fn invoke(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let deadline = crate::deadline::deadline_after(timeout);
        let (_, rx) = self.send_request(request, deadline).await?;
        self.await_reply(rx, deadline, timeout).await
    }

    /// Sends `request` marked oneway and returns once it has been written to the socket.
    pub async fn invoke_oneway(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> Result<(), RemotingError> {
        request.mark_oneway();
        let deadline = crate::deadline::deadline_after(timeout);
        self.send_oneway(request, deadline).await
    }

    pub(crate) fn id(&self) -> u64 {
        self.shared.id
    }

    pub(crate) fn error(&self, kind: ErrorKind) -> RemotingError {
        RemotingError::new(kind, self.shared.addr.clone())
    }

    /// Stops reading new requests; the task ends once in-flight work is answered and written.
    pub(crate) fn drain(&self) {
        self.shared.draining.cancel();
    }

    /// The peer's address, shared.
    pub(crate) fn addr_arc(&self) -> &Arc<str> {
        &self.shared.addr
    }

    /// Queues `item` for the connection task, waiting for room until `deadline`; a request
    /// the queue does not take is handed back, so whoever waits for its answer hears why.
    async fn enqueue(&self, item: Outbound, deadline: Instant) -> Result<(), Refused> {
        match self.try_enqueue(item) {
            Enqueued::Queued => Ok(()),
            Enqueued::Refused(refused) => Err(refused),
            // A full queue is back-pressure, the exception: its timer and its future stay out
            // of the common path.
            Enqueued::Full(item) => Box::pin(self.enqueue_slow(item, deadline)).await,
        }
    }

    /// Queues `item` if there is room now.
    fn try_enqueue(&self, item: Outbound) -> Enqueued {
        match self.shared.tx.try_send(item) {
            Ok(()) => Enqueued::Queued,
            Err(mpsc::error::TrySendError::Closed(item)) => {
                Enqueued::Refused(self.closed_refusal(item))
            }
            Err(mpsc::error::TrySendError::Full(item)) => Enqueued::Full(item),
        }
    }

    fn closed_refusal(&self, item: Outbound) -> Refused {
        Refused {
            error: self
                .error(ErrorKind::SendRequest)
                .with_detail("the connection is closed"),
            item,
        }
    }

    /// Waits for room until `deadline`. Room is reserved first, so the request stays ours if
    /// none comes.
    async fn enqueue_slow(&self, item: Outbound, deadline: Instant) -> Result<(), Refused> {
        match tokio::time::timeout_at(deadline, self.shared.tx.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(item);
                Ok(())
            }
            Ok(Err(_)) => Err(self.closed_refusal(item)),
            Err(_) => Err(Refused {
                error: self
                    .error(ErrorKind::Timeout)
                    .with_detail("the connection's send queue stayed full until the deadline"),
                item,
            }),
        }
    }

    /// Assigns an opaque and queues `request`; returns the opaque and where its response
    /// will land (an encoding error lands there too).
    pub(crate) async fn send_request(
        &self,
        mut request: RemotingCommand,
        deadline: Instant,
    ) -> Result<(i32, oneshot::Receiver<Reply>), RemotingError> {
        let opaque = next_opaque();
        request.set_opaque(opaque);
        let (reply, rx) = oneshot::channel();
        self.enqueue(
            Outbound::Request {
                request,
                reply: Some(ReplyTo::Caller(reply)),
                written: None,
            },
            deadline,
        )
        .await
        .map_err(|refused| refused.error)?;
        Ok((opaque, rx))
    }

    /// Assigns an opaque and queues `request` if there is room now; the connection task
    /// calls `callback` with its outcome, and so does this if the connection is closed. With
    /// no room now, the request is handed back for [`wait_to_queue`](Self::wait_to_queue).
    pub(crate) fn offer_with_callback(
        &self,
        mut request: RemotingCommand,
        callback: ResponseCallback,
    ) -> Result<(), Box<Outbound>> {
        request.set_opaque(next_opaque());
        let item = Outbound::Request {
            request,
            reply: Some(ReplyTo::Callback(callback)),
            written: None,
        };
        match self.try_enqueue(item) {
            Enqueued::Queued => Ok(()),
            Enqueued::Refused(refused) => {
                refused.fail();
                Ok(())
            }
            // Boxed: the exception, handed up through the callers' futures.
            Enqueued::Full(item) => Err(Box::new(item)),
        }
    }

    /// Queues a request [`offer_with_callback`](Self::offer_with_callback) handed back once
    /// there is room, or fails its callback at `deadline`.
    pub(crate) async fn wait_to_queue(&self, item: Box<Outbound>, deadline: Instant) {
        if let Err(refused) = self.enqueue_slow(*item, deadline).await {
            refused.fail();
        }
    }

    /// Waits for a reply until `deadline`.
    pub(crate) async fn await_reply(
        &self,
        rx: oneshot::Receiver<Reply>,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err(self.error(ErrorKind::ConnectionClosed)),
            Err(_) => Err(self
                .error(ErrorKind::Timeout)
                .with_detail(format!("no response within {} ms", timeout.as_millis()))),
        }
    }

    /// Queues a oneway `request` and waits until it has been written.
    pub(crate) async fn send_oneway(
        &self,
        mut request: RemotingCommand,
        deadline: Instant,
    ) -> Result<(), RemotingError> {
        request.set_opaque(next_opaque());
        let (written, rx) = oneshot::channel();
        self.enqueue(
            Outbound::Request {
                request,
                reply: None,
                written: Some(written),
            },
            deadline,
        )
        .await
        .map_err(|refused| refused.error)?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(written)) => written,
            Ok(Err(_)) => Err(self
                .error(ErrorKind::SendRequest)
                .with_detail("the connection closed before the request was written")),
            Err(_) => Err(self
                .error(ErrorKind::Timeout)
                .with_detail("the request was not written before the deadline")),
        }
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.shared.id)
            .field("addr", &self.shared.addr)
            .field("remote", &self.shared.remote)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Roughly the memory a decoded request holds: its body plus header strings.
fn approx_size(cmd: &RemotingCommand) -> usize {
    cmd.body().len() + 256
}

/// What a connection runs over.
pub(crate) enum Stream {
    Plain(TcpStream),
    /// Boxed: a TLS session's state is large.
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>),
}

impl Stream {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Stream::Plain(tcp) => tcp.peer_addr(),
            Stream::Tls(tls) => tls.get_ref().0.peer_addr(),
        }
    }
}

/// Starts the task that owns `stream` and returns its handle. `on_close` runs once with the
/// channel's id, when the task ends, after every waiting request has been failed.
pub(crate) fn spawn(
    stream: Stream,
    addr: Arc<str>,
    config: &ConnectionConfig,
    processors: Arc<ProcessorTable>,
    on_close: impl FnOnce(u64) + Send + 'static,
) -> std::io::Result<Channel> {
    let remote = stream.peer_addr()?;
    let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
    let channel = Channel {
        shared: Arc::new(ChannelShared {
            id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
            addr_shared: ByteString::from(&*addr),
            addr,
            remote,
            tx,
            closed: Arc::default(),
            draining: CancellationToken::new(),
        }),
    };
    let task = ConnectionTask {
        id: channel.shared.id,
        closed: channel.shared.closed.clone(),
        draining: channel.shared.draining.clone(),
        addr: channel.shared.addr.clone(),
        // A weak view only: the task must notice when every handle is gone.
        weak: Arc::downgrade(&channel.shared),
        codec: FrameCodec::new(config.max_frame_length),
        processors,
        max_inflight: config.max_inflight_requests.max(1),
        inflight: Arc::new(Semaphore::new(config.max_inflight_requests.max(1))),
        pending: FxHashMap::default(),
        timers: {
            let mut timers = DelayQueue::new();
            timers.insert(Timer::Tick, WHEEL_TICK);
            timers
        },
        backlog: VecDeque::new(),
        backlog_limit: config.queue_capacity.max(1),
        write_acks: VecDeque::new(),
        queued: 0,
        written: 0,
        waiting: VecDeque::new(),
        waiting_bytes: 0,
    };
    let ended = Ended {
        id: task.id,
        closed: task.closed.clone(),
        on_close: Some(on_close),
    };
    tokio::spawn(async move {
        // Dropped however the task ends, a panic included: the channel reads as closed and
        // its owner forgets it, so the next request reconnects.
        let _ended = ended;
        task.run(stream, rx).await;
    });
    Ok(channel)
}

/// Marks the connection closed and tells its owner, when the connection task ends.
struct Ended<F: FnOnce(u64)> {
    id: u64,
    closed: Arc<CloseSignal>,
    on_close: Option<F>,
}

impl<F: FnOnce(u64)> Drop for Ended<F> {
    fn drop(&mut self) {
        self.closed.close();
        if let Some(on_close) = self.on_close.take() {
            on_close(self.id);
        }
    }
}

struct ConnectionTask {
    id: u64,
    closed: Arc<CloseSignal>,
    draining: CancellationToken,
    addr: Arc<str>,
    weak: std::sync::Weak<ChannelShared>,
    codec: FrameCodec,
    processors: Arc<ProcessorTable>,
    max_inflight: usize,
    inflight: Arc<Semaphore>,
    /// Requests waiting for their response, keyed by opaque, which we assign: a fast hash is
    /// safe here. Callbacks have a timer too.
    pending: FxHashMap<i32, (ReplyTo, Option<delay_queue::Key>)>,
    /// The callbacks' deadlines: one timer wheel for them all.
    timers: DelayQueue<Timer>,
    /// Requests taken from the queue while the write buffer is over its high-water mark,
    /// unencoded, oldest first. Taken anyway, so their callbacks' timers run.
    /// Boxed: a queue grown to thousands of slots costs a pointer each, not a request each,
    /// once it drains.
    backlog: VecDeque<Box<Parked>>,
    backlog_limit: usize,
    /// Oneway callers waiting for their frame to be written: (end offset, notify).
    write_acks: VecDeque<(u64, oneshot::Sender<Written>)>,
    /// Bytes appended to the write buffer so far (requests and responses alike).
    queued: u64,
    written: u64,
    /// Decoded peer requests waiting for a slot (or for write room), oldest first.
    waiting: VecDeque<RemotingCommand>,
    /// Approximate bytes held by `waiting`.
    waiting_bytes: usize,
}

/// What the connection's timer wheel holds.
enum Timer {
    /// The deadline (or the furthest timer) of the callback of this opaque.
    Request(i32),
    /// Keeps the wheel's clock current.
    Tick,
}

/// A request waiting in the backlog; its reply, if any, is already in `pending`.
struct Parked {
    request: RemotingCommand,
    awaits_reply: bool,
    written: Option<oneshot::Sender<Written>>,
}

/// Decoded peer requests held while every slot is busy; past this (or `WRITE_HIGH_WATER`
/// bytes) reading pauses, so a peer cannot make us buffer without bound.
const MAX_WAITING_REQUESTS: usize = 1024;

/// What the loop waits for after decoding what was buffered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Awaiting {
    /// More bytes (a partial frame is buffered, and there is room to hold more requests).
    bytes: bool,
    /// A free slot, for the oldest waiting request.
    slot: bool,
    /// Nothing from outside: whole frames are still buffered, to handle next turn
    /// (`DECODE_CHUNK`).
    buffered: bool,
}

impl ConnectionTask {
    async fn run(self, stream: Stream, rx: mpsc::Receiver<Outbound>) {
        match stream {
            // Borrowed halves: no lock between reads and writes.
            Stream::Plain(mut tcp) => {
                let (reader, writer) = tcp.split();
                self.serve(reader, writer, rx).await;
            }
            Stream::Tls(tls) => {
                let (reader, writer) = tokio::io::split(*tls);
                self.serve(reader, writer, rx).await;
            }
        }
    }

    async fn serve<R, W>(mut self, mut reader: R, mut writer: W, mut rx: mpsc::Receiver<Outbound>)
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let (response_tx, mut response_rx) = mpsc::unbounded_channel::<Bytes>();
        let mut rbuf = BytesMut::with_capacity(64 * 1024);
        let mut wbuf = BytesMut::with_capacity(64 * 1024);
        let mut batch = Vec::with_capacity(BATCH);
        let mut sweep = tokio::time::interval(SWEEP_INTERVAL);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut callers_gone = false;
        let mut yielded = false;
        let mut turns: u32 = 0;

        let reason: RemotingError = loop {
            // Take in everything already queued before writing, so one write carries every
            // frame produced since the last one (one syscall per wake-up, not per frame).
            // The timers' branch comes last below; a connection busy every turn checks them
            // here too, so its timeouts are never starved.
            turns = turns.wrapping_add(1);
            if turns.is_multiple_of(TIMER_CHECK_TURNS) {
                self.fire_due_timers().await;
            }
            self.drain_backlog(&mut wbuf);
            while !callers_gone && self.backlog.len() < self.backlog_limit {
                match rx.try_recv() {
                    Ok(item) => self.on_outbound(item, &mut wbuf),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => callers_gone = true,
                }
            }
            while let Ok(frame) = response_rx.try_recv() {
                self.push_response(&mut wbuf, &frame);
            }
            let draining = self.draining.is_cancelled();
            // A processor task sends its response before releasing its permit, so once every
            // permit is home, one more drain sees every response.
            let all_slots_free = self.inflight.available_permits() == self.max_inflight;
            if draining && all_slots_free {
                while let Ok(frame) = response_rx.try_recv() {
                    self.push_response(&mut wbuf, &frame);
                }
                if wbuf.is_empty() && self.backlog.is_empty() {
                    break self
                        .error(ErrorKind::ConnectionClosed)
                        .with_detail("drained");
                }
            }
            if callers_gone && self.pending.is_empty() && self.backlog.is_empty() && wbuf.is_empty()
            {
                break self
                    .error(ErrorKind::ConnectionClosed)
                    .with_detail("no handle left");
            }
            // Frames already buffered are decoded before reading more. Responses go to their
            // callers at once; peer requests run while slots and write room allow and wait in
            // a bounded queue otherwise, where reading pauses (back-pressure).
            let awaiting = if draining {
                Awaiting::default()
            } else {
                match self.on_readable(&mut rbuf, &mut wbuf, &response_tx) {
                    Ok(awaiting) => awaiting,
                    Err(e) => break e,
                }
            };
            if rbuf.capacity() - rbuf.len() < 8 * 1024 {
                rbuf.reserve(64 * 1024);
            }
            // Let the tasks that are ready run before a small write when more frames are
            // coming (other requests of ours await answers, or peer requests are being
            // processed): the callers woken by the responses just decoded queue their next
            // requests, and one write carries them all instead of one write (and one trip
            // through the TCP stack) per request. A lone request is written at once.
            let more_coming =
                self.pending.len() > 1 || self.inflight.available_permits() < self.max_inflight;
            if !wbuf.is_empty() && wbuf.len() < COALESCE_BELOW && !yielded && more_coming {
                yielded = true;
                tokio::task::yield_now().await;
                continue;
            }
            yielded = false;
            let can_read = !draining && awaiting.bytes && !awaiting.buffered;
            // Waiting on a slot: to run the oldest waiting request, or to finish a drain.
            let await_slot = awaiting.slot || (draining && !all_slots_free);
            let inflight = self.inflight.clone();
            tokio::select! {
                biased;
                () = self.closed.token.cancelled() => {
                    break self.error(ErrorKind::ConnectionClosed).with_detail("closed locally");
                }
                // Only wakes the loop so the drain condition above is checked.
                () = self.draining.cancelled(), if !draining => {}
                result = writer.write_buf(&mut wbuf), if !wbuf.is_empty() => match result {
                    Ok(0) => break self.error(ErrorKind::ConnectionClosed).with_detail("peer stopped accepting writes"),
                    Ok(n) => self.on_written(n),
                    Err(e) => break self.error(ErrorKind::ConnectionClosed).with_detail("write failed").with_source(e),
                },
                Some(frame) = response_rx.recv() => self.push_response(&mut wbuf, &frame),
                n = rx.recv_many(&mut batch, BATCH), if !callers_gone && self.backlog.len() < self.backlog_limit => {
                    if n == 0 {
                        callers_gone = true;
                    }
                    for item in batch.drain(..) {
                        self.on_outbound(item, &mut wbuf);
                    }
                }
                // Decoded at the top of the loop.
                result = reader.read_buf(&mut rbuf), if can_read => match result {
                    Ok(0) => break self.error(ErrorKind::ConnectionClosed).with_detail("closed by peer"),
                    Ok(_) => {}
                    Err(e) => break self.error(ErrorKind::ConnectionClosed).with_detail("read failed").with_source(e),
                },
                // A finished request frees a slot; oneway requests produce no response that
                // would wake the loop otherwise.
                _ = inflight.acquire(), if await_slot => {}
                () = std::future::ready(()), if awaiting.buffered => {}
                Some(expired) = std::future::poll_fn(|cx| self.timers.poll_expired(cx)) => {
                    self.on_timer(expired.into_inner());
                }
                _ = sweep.tick() => self.pending.retain(|_, (reply, _)| !reply.is_abandoned()),
            }
        };

        tracing::debug!(addr = %self.addr, %reason, pending = self.pending.len(), "connection ended");
        self.closed.close();
        let _ = writer.shutdown().await;
        for (_, (reply, _)) in self.pending.drain() {
            reply.complete(Err(reason.clone()));
        }
        // Requests never written: their replies were failed above; oneway callers learn it
        // from their dropped senders.
        self.backlog.clear();
        // Oneway callers whose frames were not written learn it from the dropped sender.
        self.write_acks.clear();
    }

    fn error(&self, kind: ErrorKind) -> RemotingError {
        RemotingError::new(kind, self.addr.clone())
    }

    /// Takes a request from the queue: its reply waits in `pending` from now (a callback's
    /// timer running), and it is encoded at once, or after the backlog when the write buffer
    /// is full.
    fn on_outbound(&mut self, item: Outbound, wbuf: &mut BytesMut) {
        let Outbound::Request {
            request,
            reply,
            written,
        } = item;
        let awaits_reply = reply.is_some();
        if let Some(reply) = reply {
            let timer = match &reply {
                // The caller gave up before the frame was written.
                ReplyTo::Caller(tx) if tx.is_closed() => return,
                ReplyTo::Caller(_) => None,
                ReplyTo::Callback(callback) => {
                    let now = Instant::now();
                    // Not sent at all once its time is up: the deadline is the caller's
                    // promise that nothing happens after it.
                    if callback.deadline() <= now {
                        let error = callback.timed_out();
                        reply.complete(Err(error));
                        return;
                    }
                    Some(self.arm(request.opaque(), callback.deadline(), now))
                }
            };
            let opaque = request.opaque();
            if let Some((stale, stale_timer)) = self.pending.insert(opaque, (reply, timer)) {
                self.disarm(stale_timer);
                stale.complete(Err(self
                    .error(ErrorKind::ConnectionClosed)
                    .with_detail("request id reused after wrapping")));
            }
        }
        let parked = Parked {
            request,
            awaits_reply,
            written,
        };
        if self.backlog.is_empty() && wbuf.len() < WRITE_HIGH_WATER {
            // Its reply was registered just above: nothing to check.
            self.encode(parked, wbuf, false);
        } else {
            self.backlog.push_back(Box::new(parked));
        }
    }

    /// Encodes backlogged requests, oldest first, while the write buffer has room.
    fn drain_backlog(&mut self, wbuf: &mut BytesMut) {
        if self.backlog.is_empty() || wbuf.len() >= WRITE_HIGH_WATER {
            return;
        }
        let now = Instant::now();
        while wbuf.len() < WRITE_HIGH_WATER {
            let Some(parked) = self.backlog.pop_front() else {
                break;
            };
            if self.expired_while_parked(&parked, now) {
                continue;
            }
            self.encode(*parked, wbuf, true);
        }
    }

    /// Whether a backlogged request's callback reached its deadline before the request could
    /// be written (its timer may not have fired yet): it times out now, unsent.
    fn expired_while_parked(&mut self, parked: &Parked, now: Instant) -> bool {
        let opaque = parked.request.opaque();
        let expired = matches!(
            self.pending.get(&opaque),
            Some((ReplyTo::Callback(callback), _)) if callback.deadline() <= now
        );
        if expired && let Some((reply, timer)) = self.pending.remove(&opaque) {
            self.disarm(timer);
            if let ReplyTo::Callback(callback) = &reply {
                let error = callback.timed_out();
                reply.complete(Err(error));
            }
        }
        expired
    }

    /// Encodes a request straight into the write buffer; one that `waited` in the backlog is
    /// dropped if nobody waits for it any more (its callback timed out, its caller gave up).
    /// A request that cannot be encoded fails alone.
    fn encode(&mut self, parked: Parked, wbuf: &mut BytesMut, waited: bool) {
        let Parked {
            request,
            awaits_reply,
            written,
        } = parked;
        let opaque = request.opaque();
        if waited && awaits_reply {
            match self.pending.get(&opaque) {
                None => return,
                Some((reply, _)) if reply.is_abandoned() => {
                    self.pending.remove(&opaque);
                    return;
                }
                Some(_) => {}
            }
        }
        // Encoded in place: no frame buffer per request, no copy into this one.
        let start = wbuf.len();
        if let Err(e) = self.codec.encode(&request, wbuf) {
            let error = self.error(ErrorKind::Codec).with_source(e);
            if let Some((reply, timer)) = self.pending.remove(&opaque) {
                self.disarm(timer);
                reply.complete(Err(error));
            } else if let Some(written) = written {
                let _ = written.send(Err(error));
            }
            return;
        }
        self.queued += (wbuf.len() - start) as u64;
        if let Some(written) = written {
            self.write_acks.push_back((self.queued, written));
        }
    }

    /// A timer for `opaque`'s callback: at its deadline, or at the furthest timer the wheel
    /// takes, re-armed then.
    fn arm(&mut self, opaque: i32, deadline: Instant, now: Instant) -> delay_queue::Key {
        self.timers
            .insert_at(Timer::Request(opaque), deadline.min(now + LONGEST_TIMER))
    }

    /// Handles every timer already due, without waiting for one.
    async fn fire_due_timers(&mut self) {
        let due = std::future::poll_fn(|cx| {
            let mut due = Vec::new();
            while let Poll::Ready(Some(expired)) = self.timers.poll_expired(cx) {
                due.push(expired.into_inner());
            }
            Poll::Ready(due)
        })
        .await;
        for timer in due {
            self.on_timer(timer);
        }
    }

    fn disarm(&mut self, timer: Option<delay_queue::Key>) {
        if let Some(key) = timer {
            self.timers.try_remove(&key);
        }
    }

    /// A timer fired: a callback whose deadline has come times out (its request is not sent
    /// if it still waits in the backlog); one with a later deadline is re-armed.
    fn on_timer(&mut self, timer: Timer) {
        let opaque = match timer {
            Timer::Tick => {
                self.timers.insert(Timer::Tick, WHEEL_TICK);
                return;
            }
            Timer::Request(opaque) => opaque,
        };
        let deadline = match self.pending.get(&opaque) {
            Some((ReplyTo::Callback(callback), _)) => callback.deadline(),
            _ => return,
        };
        let now = Instant::now();
        if deadline > now {
            let key = self.arm(opaque, deadline, now);
            if let Some((_, timer)) = self.pending.get_mut(&opaque) {
                *timer = Some(key);
            }
            return;
        }
        if let Some((reply, _)) = self.pending.remove(&opaque) {
            let error = match &reply {
                ReplyTo::Callback(callback) => callback.timed_out(),
                ReplyTo::Caller(_) => self.error(ErrorKind::Timeout),
            };
            reply.complete(Err(error));
        }
    }

    fn on_written(&mut self, n: usize) {
        self.written += n as u64;
        while let Some((end, _)) = self.write_acks.front() {
            if *end > self.written {
                break;
            }
            if let Some((_, ack)) = self.write_acks.pop_front() {
                let _ = ack.send(Ok(()));
            }
        }
    }

    /// Decodes the whole frames in `rbuf`: responses go to their waiting callers at once,
    /// requests run while a slot is free and the write buffer has room, and wait in a bounded
    /// queue otherwise. A decode error ends the connection.
    fn on_readable(
        &mut self,
        rbuf: &mut BytesMut,
        wbuf: &mut BytesMut,
        response_tx: &mpsc::UnboundedSender<Bytes>,
    ) -> Result<Awaiting, RemotingError> {
        let mut decoded = 0;
        loop {
            // Responses a peer does not read must not pile up: no new request runs while the
            // write buffer is over its high-water mark.
            // `slot` records that a request found no free slot. It is not re-read from the
            // semaphore afterwards: a slot freed in between would then go unnoticed, while
            // waiting on the semaphore returns at once if one is already free.
            let mut slot = false;
            while wbuf.len() < WRITE_HIGH_WATER && !self.waiting.is_empty() {
                let Ok(permit) = self.inflight.clone().try_acquire_owned() else {
                    slot = true;
                    break;
                };
                if let Some(request) = self.waiting.pop_front() {
                    self.waiting_bytes = self.waiting_bytes.saturating_sub(approx_size(&request));
                    self.dispatch_request(request, permit, wbuf, response_tx);
                }
            }
            if self.waiting.len() >= MAX_WAITING_REQUESTS || self.waiting_bytes >= WRITE_HIGH_WATER
            {
                return Ok(Awaiting {
                    slot,
                    ..Awaiting::default()
                });
            }
            if decoded == DECODE_CHUNK {
                return Ok(Awaiting {
                    bytes: true,
                    slot,
                    buffered: true,
                });
            }
            decoded += 1;
            let cmd = match self.codec.decode(rbuf) {
                Ok(Some(cmd)) => cmd,
                Ok(None) => {
                    return Ok(Awaiting {
                        bytes: true,
                        slot,
                        buffered: false,
                    });
                }
                Err(e) => {
                    return Err(self
                        .error(ErrorKind::Codec)
                        .with_detail("undecodable frame from peer; connection closed")
                        .with_source(e));
                }
            };
            if cmd.is_response() {
                match self.pending.remove(&cmd.opaque()) {
                    Some((reply, timer)) => {
                        self.disarm(timer);
                        reply.complete(Ok(cmd));
                    }
                    None => tracing::debug!(
                        addr = %self.addr,
                        opaque = cmd.opaque(),
                        "response for no waiting request (timed out or unknown)"
                    ),
                }
            } else {
                // Run at the top of this loop, now or once a slot frees.
                self.waiting_bytes += approx_size(&cmd);
                self.waiting.push_back(cmd);
            }
        }
    }

    /// Appends a response frame; counted in `queued` so oneway write acks stay exact.
    fn push_response(&mut self, wbuf: &mut BytesMut, frame: &[u8]) {
        wbuf.extend_from_slice(frame);
        self.queued += frame.len() as u64;
    }

    /// Runs a peer request's processor up to its first await, right here: most (a broker's
    /// sends, say) finish there, and their responses go straight into the write buffer with no
    /// task, channel or buffer of their own. One that is still waiting continues in its own
    /// task, holding its slot until it answers.
    fn dispatch_request(
        &mut self,
        request: RemotingCommand,
        permit: tokio::sync::OwnedSemaphorePermit,
        wbuf: &mut BytesMut,
        response_tx: &mpsc::UnboundedSender<Bytes>,
    ) {
        let Some(channel) = self.weak.upgrade().map(|shared| Channel { shared }) else {
            return;
        };
        let answer = Answer {
            oneway: request.is_oneway(),
            code: request.code(),
            opaque: request.opaque(),
            serialize_type: request.serialize_type(),
        };
        let mut processing = match self.processors.find(answer.code) {
            // Making the future runs processor code here too: a panic there must cost this
            // request only, as a panic while it runs does.
            Some(processor) => match std::panic::catch_unwind(AssertUnwindSafe(|| {
                processor.process(channel.clone(), request)
            })) {
                Ok(future) => AssertUnwindSafe(future).catch_unwind(),
                Err(_) => {
                    let start = wbuf.len();
                    answer.encode(None, &mut self.codec, wbuf, channel.addr());
                    self.queued += (wbuf.len() - start) as u64;
                    return;
                }
            },
            None => {
                let unsupported = RemotingCommand::response(response::REQUEST_CODE_NOT_SUPPORTED)
                    .with_remark(format!(" request type {} not supported", answer.code));
                let start = wbuf.len();
                answer.encode(
                    Some(Some(unsupported)),
                    &mut self.codec,
                    wbuf,
                    channel.addr(),
                );
                self.queued += (wbuf.len() - start) as u64;
                return;
            }
        };
        // The task that continues a pending processor polls it at once, replacing this waker.
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(outcome) = Pin::new(&mut processing).poll(&mut cx) {
            let start = wbuf.len();
            answer.encode(outcome.ok(), &mut self.codec, wbuf, channel.addr());
            self.queued += (wbuf.len() - start) as u64;
            return;
        }
        let response_tx = response_tx.clone();
        let mut codec = self.codec;
        tokio::spawn(async move {
            let _permit = permit;
            let outcome = processing.await;
            let mut buf = BytesMut::new();
            answer.encode(outcome.ok(), &mut codec, &mut buf, channel.addr());
            if !buf.is_empty() {
                let _ = response_tx.send(buf.freeze());
            }
        });
    }
}

/// What answering a peer request needs to know of it.
#[derive(Clone, Copy)]
struct Answer {
    oneway: bool,
    code: i32,
    opaque: i32,
    serialize_type: SerializeType,
}

impl Answer {
    /// Appends the response frame to `dst`, if one is due: `processed` is what the processor
    /// returned, or `None` when it panicked. Oneway requests are never answered.
    fn encode(
        self,
        processed: Option<Option<RemotingCommand>>,
        codec: &mut FrameCodec,
        dst: &mut BytesMut,
        addr: &str,
    ) {
        let code = self.code;
        let response = match processed {
            Some(response) => response,
            None => {
                tracing::error!(addr, code, "request processor panicked");
                Some(
                    RemotingCommand::response(response::SYSTEM_ERROR)
                        .with_remark(format!("processing request code {code} failed")),
                )
            }
        };
        let Some(mut response) = response else { return };
        if self.oneway {
            return;
        }
        response.set_opaque(self.opaque);
        response.mark_response();
        response.set_serialize_type(self.serialize_type);
        if let Err(e) = codec.encode(&response, dst) {
            tracing::error!(addr, code, error = %e, "response could not be encoded");
            let fallback = RemotingCommand::response(response::SYSTEM_ERROR)
                .with_opaque(self.opaque)
                .with_serialize_type(self.serialize_type)
                .with_remark(format!("response could not be encoded: {e}"));
            // The codec leaves nothing behind on error, so the fallback starts clean.
            let _ = codec.encode(&fallback, dst);
        }
    }
}

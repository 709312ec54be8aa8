//! Handlers for requests a peer starts (Java: `NettyRequestProcessor`, `processorTable`).

use rustc_hash::FxHashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::{Channel, RemotingCommand};

/// The future a [`RequestProcessor`] returns: the response, or `None` to send nothing.
pub type ProcessFuture = Pin<Box<dyn Future<Output = Option<RemotingCommand>> + Send>>;

/// Handles one kind of request that arrives on a connection (Java: `NettyRequestProcessor`).
///
/// Return the response, or `None` to send nothing (a oneway request never gets one). The
/// transport fills in the response's opaque, response flag and serialization from the request,
/// so a processor only sets the code, header, remark and body. A processor that panics is
/// answered with `SYSTEM_ERROR`.
///
/// The connection's own task calls `process` and polls the future once, right where the
/// request was decoded: a processor that finishes without waiting (most do) costs no task of
/// its own, and its response goes straight into the write buffer. One still waiting then runs
/// in its own task, concurrently with the connection's other requests. So keep the work before
/// the first `.await` short; hand blocking or heavy work to `tokio::task::spawn_blocking`.
///
/// Any `Fn(Channel, RemotingCommand) -> impl Future<Output = Option<RemotingCommand>>` is a
/// processor:
///
/// ```
/// use rmq_remoting::{Channel, RemotingCommand, RequestProcessor, code::response};
///
/// fn assert_processor(_: impl RequestProcessor) {}
/// assert_processor(|_channel: Channel, request: RemotingCommand| async move {
///     Some(RemotingCommand::response(response::SUCCESS).with_body(request.body().clone()))
/// });
/// ```
pub trait RequestProcessor: Send + Sync + 'static {
    /// Handles `request`, which arrived on `channel`.
    fn process(&self, channel: Channel, request: RemotingCommand) -> ProcessFuture;
}

impl<F, Fut> RequestProcessor for F
where
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<RemotingCommand>> + Send + 'static,
{
    fn process(&self, channel: Channel, request: RemotingCommand) -> ProcessFuture {
        Box::pin(self(channel, request))
    }
}

/// Processors by request code, plus an optional default (Java: `processorTable`,
/// `defaultRequestProcessor`). Shared by every connection of a client or server, so a
/// registration applies to connections that already exist.
#[derive(Default)]
pub(crate) struct ProcessorTable {
    by_code: RwLock<FxHashMap<i32, Arc<dyn RequestProcessor>>>,
    default: RwLock<Option<Arc<dyn RequestProcessor>>>,
}

impl ProcessorTable {
    pub(crate) fn register(&self, code: i32, processor: Arc<dyn RequestProcessor>) {
        self.by_code.write().insert(code, processor);
    }

    pub(crate) fn set_default(&self, processor: Arc<dyn RequestProcessor>) {
        *self.default.write() = Some(processor);
    }

    pub(crate) fn find(&self, code: i32) -> Option<Arc<dyn RequestProcessor>> {
        self.by_code
            .read()
            .get(&code)
            .cloned()
            .or_else(|| self.default.read().clone())
    }
}

impl std::fmt::Debug for ProcessorTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut codes: Vec<i32> = self.by_code.read().keys().copied().collect();
        codes.sort_unstable();
        f.debug_struct("ProcessorTable")
            .field("codes", &codes)
            .field("default", &self.default.read().is_some())
            .finish()
    }
}

//! The producer and its lifecycle (Java: `DefaultMQProducer`, `DefaultMQProducerImpl.start`,
//! `shutdown`, `ServiceState`).

use rustc_hash::FxHashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rmq_common::client_id::{DEFAULT_INSTANCE_NAME, build_client_id, instance_name_for_pid};
use rmq_common::{ByteString, UniqIdGenerator, address, namespace};
use rmq_remoting::RpcHook;
use rmq_remoting::body::TopicRouteData;
use rmq_remoting::deadline::deadline_after;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{ProducerBuilder, ProducerConfig};
use crate::fault::FaultStrategy;
use crate::hook::{CheckForbiddenHook, SendMessageHook};
use crate::instance::ClientInstance;
use crate::observe::Meters;
use crate::route::TopicPublishInfo;
use crate::send::{Accumulator, AsyncTracker};
use crate::trace::TraceDispatcher;
use crate::transaction::Checks;
use crate::transport::Transport;
use crate::{Error, Result};

/// Where a producer is in its life (Java: `ServiceState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceState {
    /// Built, not started.
    CreateJust,
    /// Started; sends are accepted.
    Running,
    /// `start` failed; the producer cannot be used.
    StartFailed,
    /// Shut down.
    ShutdownAlready,
}

impl fmt::Display for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceState::CreateJust => "CREATE_JUST",
            ServiceState::Running => "RUNNING",
            ServiceState::StartFailed => "START_FAILED",
            ServiceState::ShutdownAlready => "SHUTDOWN_ALREADY",
        })
    }
}

/// A RocketMQ producer (Java: `DefaultMQProducer`). Cheap to clone; clones share everything.
///
/// ```no_run
/// use rmq_client::Producer;
/// use rmq_common::Message;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let producer = Producer::builder("order_producer").name_server("127.0.0.1:9876").build()?;
/// producer.start().await?;
/// let result = producer.send(Message::new("TopicTest", "Hello RocketMQ")).await?;
/// println!("{result}");
/// producer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Producer {
    pub(crate) inner: Arc<ProducerInner>,
}

/// The shared state of a [`Producer`] (Java: `DefaultMQProducerImpl`).
pub(crate) struct ProducerInner {
    pub(crate) config: ProducerConfig,
    /// The group with the namespace applied.
    pub(crate) group: ByteString,
    /// `create_topic_key`, shared by every send header.
    pub(crate) default_topic: ByteString,
    state: Mutex<ServiceState>,
    instance: RwLock<Option<Arc<ClientInstance>>>,
    publish: RwLock<FxHashMap<String, Arc<TopicPublishInfo>>>,
    pub(crate) fault: FaultStrategy,
    pub(crate) send_hooks: RwLock<Arc<Vec<Arc<dyn SendMessageHook>>>>,
    pub(crate) forbidden_hooks: RwLock<Arc<Vec<Arc<dyn CheckForbiddenHook>>>>,
    pub(crate) tracker: AsyncTracker,
    /// Automatic batching, when turned on.
    pub(crate) accumulator: Option<Accumulator>,
    pub(crate) ids: &'static UniqIdGenerator,
    /// RPC hooks from the builder, installed on the client instance before its first request.
    rpc_hooks: Vec<Arc<dyn RpcHook>>,
    /// Where requests go instead of a remoting client (tests' fakes).
    transport: Option<Arc<dyn Transport>>,
    /// Cancelled when shutdown is complete, so every caller of `shutdown` can wait for it.
    shut_down: CancellationToken,
    /// A transaction producer's check executor, where broker checks for this group go.
    pub(crate) checks: OnceLock<Arc<Checks>>,
    /// Metric handles, by topic.
    pub(crate) meters: Meters,
    /// Message trace, once started.
    pub(crate) trace: OnceLock<Arc<TraceDispatcher>>,
    /// Writes the caller's trace context into each message, when set.
    pub(crate) trace_context: OnceLock<Arc<dyn crate::TraceContextInjector>>,
}

impl fmt::Debug for ProducerInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("group", &self.group)
            .field("state", &*self.state.lock())
            .field(
                "client_id",
                &self
                    .instance
                    .read()
                    .as_ref()
                    .map(|i| i.client_id().to_owned()),
            )
            .field("async_in_flight", &self.tracker.in_flight())
            .finish()
    }
}

impl Producer {
    /// A builder for a producer of `group` (Java: `new DefaultMQProducer(group)`).
    pub fn builder(group: impl Into<String>) -> ProducerBuilder {
        ProducerBuilder::new(group)
    }

    pub(crate) fn from_config(config: ProducerConfig, rpc_hooks: Vec<Arc<dyn RpcHook>>) -> Self {
        let group = ByteString::from(match config.namespace.as_deref() {
            Some(ns) => namespace::wrap(ns, &config.group).into_owned(),
            None => config.group.clone(),
        });
        let default_topic = ByteString::from(config.create_topic_key.as_str());
        let fault = FaultStrategy::new(config.send_latency_fault_enable, config.fault_flavor);
        let tracker =
            AsyncTracker::new(config.max_async_in_flight, config.max_async_in_flight_bytes);
        let accumulator = config.auto_batch.map(Accumulator::new);
        Producer {
            inner: Arc::new(ProducerInner {
                config,
                group,
                default_topic,
                state: Mutex::new(ServiceState::CreateJust),
                instance: RwLock::new(None),
                publish: RwLock::default(),
                fault,
                send_hooks: RwLock::default(),
                forbidden_hooks: RwLock::default(),
                tracker,
                accumulator,
                ids: UniqIdGenerator::global(),
                rpc_hooks,
                transport: None,
                shut_down: CancellationToken::new(),
                checks: OnceLock::new(),
                meters: Meters::default(),
                trace: OnceLock::new(),
                trace_context: OnceLock::new(),
            }),
        }
    }

    /// A producer whose requests go to `transport` (the send path's unit tests).
    #[cfg(test)]
    pub(crate) fn with_transport(config: ProducerConfig, transport: Arc<dyn Transport>) -> Self {
        let mut producer = Self::from_config(config, Vec::new());
        if let Some(inner) = Arc::get_mut(&mut producer.inner) {
            inner.transport = Some(transport);
        }
        producer
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// The producer group as it goes on the wire (namespace applied).
    pub fn group(&self) -> &str {
        &self.inner.group
    }

    /// The current state.
    pub fn state(&self) -> ServiceState {
        *self.inner.state.lock()
    }

    /// The client id (`ip@instance`), once started.
    pub fn client_id(&self) -> Option<String> {
        self.inner
            .instance
            .read()
            .as_ref()
            .map(|i| i.client_id().to_owned())
    }

    /// Starts the producer (Java: `start`): joins or creates the client instance for its
    /// client id, registers the group, and starts route refresh and heartbeats.
    ///
    /// Starting twice, or after a failed start or a shutdown, is an error.
    pub async fn start(&self) -> Result<()> {
        {
            // Held throughout, so a concurrent `start` or `shutdown` sees the outcome, never
            // the middle of it.
            let mut state = self.inner.state.lock();
            if *state != ServiceState::CreateJust {
                return Err(Error::AlreadyStarted(*state));
            }
            if let Err(e) = self.start_inner() {
                *state = ServiceState::StartFailed;
                return Err(e);
            }
            *state = ServiceState::Running;
        }
        if self.inner.config.msg_trace {
            self.start_trace().await;
        }
        Ok(())
    }

    /// Starts message trace on a producer of its own; a failure there is logged, never the
    /// producer's (Java: `AsyncTraceDispatcher.start`).
    async fn start_trace(&self) {
        static TRACE_PRODUCERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let config = &self.inner.config;
        let n = TRACE_PRODUCERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        // Java's trace producer: a default producer reaching the same cluster the same way
        // (name servers, namespace, credentials, TLS, RPC hooks), with 5 s sends,
        // 128 000-byte messages and no VIP channel.
        let mut trace_config =
            crate::ProducerBuilder::new(crate::trace::trace_group(&config.group, n))
                .into_config_unchecked();
        trace_config.name_servers = config.name_servers.clone();
        trace_config.namespace = config.namespace.clone();
        trace_config.client_ip = config.client_ip.clone();
        trace_config.credentials = config.credentials.clone();
        trace_config.tls = config.tls.clone();
        trace_config.serialize_type = config.serialize_type;
        trace_config.remoting_version = config.remoting_version;
        trace_config.language = config.language;
        trace_config.send_timeout = Duration::from_secs(5);
        trace_config.max_message_size = 128_000;
        trace_config.vip_channel_enabled = false;
        let producer = Producer::from_config(trace_config, self.inner.rpc_hooks.clone());
        let dispatcher = Arc::new(TraceDispatcher::new(
            producer,
            config.msg_trace_topic.clone(),
            &config.group,
            config.msg_trace_batch_size,
        ));
        match dispatcher.start().await {
            Ok(()) => {
                tracing::info!(topic = dispatcher.topic(), "message trace on");
                let _ = self.inner.trace.set(dispatcher);
            }
            Err(error) => {
                tracing::warn!(%error, "message trace could not start; sending without it")
            }
        }
    }

    /// The topic message trace writes to, when it is on and running.
    pub fn msg_trace_topic(&self) -> Option<&str> {
        self.inner.trace.get().map(|trace| trace.topic())
    }

    /// Trace records dropped because message trace could not keep up (its queue holds 2048).
    pub fn trace_records_dropped(&self) -> u64 {
        self.inner.trace.get().map_or(0, |trace| trace.dropped())
    }

    fn start_inner(&self) -> Result<()> {
        let config = &self.inner.config;
        let instance_name = if config.instance_name == DEFAULT_INSTANCE_NAME {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            instance_name_for_pid(&config.instance_name, std::process::id(), nanos)
        } else {
            config.instance_name.clone()
        };
        let ip = config
            .client_ip
            .clone()
            .unwrap_or_else(address::local_client_ip);
        let client_id = build_client_id(&ip, &instance_name, config.unit_name.as_deref(), false);
        let group = &self.inner.group;
        let instance = ClientInstance::join(
            &client_id,
            config,
            group,
            Arc::downgrade(&self.inner),
            &self.inner.rpc_hooks,
            self.inner.transport.clone(),
        )?;
        self.inner.meters.start(&client_id, group);
        tracing::info!(group = %self.inner.group, %client_id, "producer started");
        *self.inner.instance.write() = Some(instance);
        Ok(())
    }

    /// Stops the producer (Java: `shutdown`), losing nothing silently: accepted async sends get
    /// up to `shutdown_grace` to complete, and those still pending then fail through their
    /// callbacks and futures with [`Error::Shutdown`]. Then the group is unregistered from every
    /// broker and the client instance stops if no other producer uses it.
    ///
    /// The shutdown runs to its end even if this future is dropped; every call, concurrent or
    /// later, returns once it is complete.
    pub async fn shutdown(&self) {
        match self.begin_shutdown() {
            Ok(done) => done.cancelled().await,
            // No runtime to run it on: here, then.
            Err(inner) => drain(inner).await,
        }
    }

    /// Starts the shutdown (once, on a task of its own) and gives what is cancelled when it is
    /// complete; outside a runtime, what the caller must drain itself.
    pub(crate) fn begin_shutdown(
        &self,
    ) -> std::result::Result<CancellationToken, Arc<ProducerInner>> {
        let first = {
            let mut state = self.inner.state.lock();
            let first = *state != ServiceState::ShutdownAlready;
            *state = ServiceState::ShutdownAlready;
            first
        };
        let done = self.inner.shut_down.clone();
        if first {
            let inner = self.inner.clone();
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(drain(inner))),
                Err(_) => return Err(inner),
            }
        }
        Ok(done)
    }

    /// Waits until every accepted async send has completed, or `timeout` passes (then the
    /// error says how many are still pending). Messages held for automatic batching leave
    /// at once.
    pub async fn flush(&self, timeout: Duration) -> std::result::Result<(), usize> {
        if let Some(accumulator) = self.inner.accumulator.as_ref() {
            accumulator.flush(&self.inner);
        }
        match self.inner.tracker.wait_idle(deadline_after(timeout)).await {
            0 => Ok(()),
            pending => Err(pending),
        }
    }

    /// Accepted async sends not yet completed.
    pub fn async_in_flight(&self) -> usize {
        self.inner.tracker.in_flight()
    }

    /// The async sends and body bytes in flight, and their limits (back-pressure).
    pub fn in_flight(&self) -> crate::InFlight {
        self.inner.tracker.budget().in_flight()
    }

    /// Changes the limits on async sends and body bytes in flight while the producer runs
    /// (Java 5.x: `setBackPressureForAsyncSendNum` / `…Size`). Sends already in flight stay;
    /// waiting ones get in as room comes. Values below 1 count as 1.
    ///
    /// ```no_run
    /// # fn demo(producer: &rmq_client::Producer) {
    /// producer.set_max_async_in_flight(4096, 256 * 1024 * 1024);
    /// assert_eq!(producer.in_flight().max_sends, 4096);
    /// # }
    /// ```
    pub fn set_max_async_in_flight(&self, sends: usize, bytes: usize) {
        self.inner.tracker.budget().set_limits(sends, bytes);
    }

    /// Adds a hook run before and after every send attempt (Java:
    /// `registerSendMessageHook`).
    pub fn register_send_message_hook(&self, hook: impl SendMessageHook) {
        let mut hooks = self.inner.send_hooks.write();
        let mut updated = hooks.as_ref().clone();
        updated.push(Arc::new(hook));
        *hooks = Arc::new(updated);
    }

    /// Adds a hook that may refuse sends (Java: `registerCheckForbiddenHook`).
    pub fn register_check_forbidden_hook(&self, hook: impl CheckForbiddenHook) {
        let mut hooks = self.inner.forbidden_hooks.write();
        let mut updated = hooks.as_ref().clone();
        updated.push(Arc::new(hook));
        *hooks = Arc::new(updated);
    }

    /// Adds an RPC hook to every request of this producer's client instance (Java: the
    /// `RPCHook` constructor argument; ACL signing is one).
    pub fn register_rpc_hook(&self, hook: impl rmq_remoting::RpcHook) -> Result<()> {
        let instance = self.inner.instance()?;
        instance.remoting().register_rpc_hook(hook);
        Ok(())
    }

    /// The writable queues of `topic`, fetching its route if needed (Java:
    /// `fetchPublishMessageQueues`); topics without namespace.
    pub async fn publish_queues(&self, topic: &str) -> Result<Vec<rmq_common::MessageQueue>> {
        let wire_topic = self.inner.wrap(&ByteString::from(topic));
        let deadline = deadline_after(self.inner.config.send_timeout);
        let info = self
            .inner
            .find_publish_info(&wire_topic, topic, deadline)
            .await?;
        Ok(info
            .queues
            .iter()
            .map(|q| self.inner.unwrap_queue(q))
            .collect())
    }
}

impl ProducerInner {
    pub(crate) fn group(&self) -> &str {
        &self.group
    }

    pub(crate) fn instance(&self) -> Result<Arc<ClientInstance>> {
        let state = *self.state.lock();
        if state != ServiceState::Running {
            return Err(Error::NotRunning(state));
        }
        self.instance.read().clone().ok_or(Error::NotRunning(state))
    }

    /// The client instance for work already accepted: still usable while `shutdown` drains,
    /// until the instance is detached. New calls check [`instance`](Self::instance) instead.
    pub(crate) fn attached_instance(&self) -> Result<Arc<ClientInstance>> {
        self.instance
            .read()
            .clone()
            .ok_or_else(|| Error::NotRunning(*self.state.lock()))
    }

    /// The topics this producer has publish info for.
    pub(crate) fn topics(&self) -> Vec<String> {
        self.publish.read().keys().cloned().collect()
    }

    /// Installs a fresh publish info for `topic` when the route changed or none is usable
    /// (Java: `updateTopicPublishInfo`).
    pub(crate) fn update_publish_info(
        &self,
        topic: &str,
        route: &Arc<TopicRouteData>,
        changed: bool,
    ) {
        let mut publish = self.publish.write();
        let stale = publish
            .get(topic)
            .is_none_or(|old| !old.have_route || !old.ok());
        if changed || stale {
            match TopicPublishInfo::from_route(topic, (**route).clone()) {
                Ok(mut info) => {
                    info.have_route = true;
                    publish.insert(topic.to_owned(), Arc::new(info));
                }
                // The old queues, if any, are still the best guess; Java likewise keeps them
                // when converting a route throws. The instance records the route as seen, so
                // with old queues this is logged once per route change; without, on every
                // lookup, each of which fails for want of a route.
                Err(error) => tracing::warn!(
                    topic,
                    %error,
                    kept_previous = publish.contains_key(topic),
                    "unusable route; keeping the previous publish info"
                ),
            }
        }
    }

    pub(crate) fn publish_info(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.publish.read().get(topic).cloned()
    }

    /// `topic` with the namespace applied; without a namespace, `topic` itself (not a copy).
    pub(crate) fn wrap(&self, topic: &ByteString) -> ByteString {
        match self.config.namespace.as_deref() {
            Some(ns) => shared(topic, namespace::wrap(ns, topic)),
            None => topic.clone(),
        }
    }

    /// `topic` without the namespace.
    pub(crate) fn unwrap_topic(&self, topic: &ByteString) -> ByteString {
        match self.config.namespace.as_deref() {
            Some(ns) => shared(topic, namespace::without_namespace(topic, ns)),
            None => topic.clone(),
        }
    }

    pub(crate) fn unwrap_queue(
        &self,
        queue: &rmq_common::MessageQueue,
    ) -> rmq_common::MessageQueue {
        rmq_common::MessageQueue::new(
            self.unwrap_topic(queue.topic_shared()),
            queue.broker_name(),
            queue.queue_id(),
        )
    }

    /// The publish info of `topic`, fetching its route, or the create-topic-key route when
    /// the topic is unknown so the broker creates it (Java: `tryToFindTopicPublishInfo`).
    pub(crate) async fn find_publish_info(
        &self,
        wire_topic: &str,
        user_topic: &str,
        deadline: Instant,
    ) -> Result<Arc<TopicPublishInfo>> {
        if let Some(info) = self.publish_info(wire_topic).filter(|i| i.ok()) {
            return Ok(info);
        }
        // Asking a name server is rare and its future large: keep it out of every send's state.
        Box::pin(self.fetch_publish_info(wire_topic, user_topic, deadline)).await
    }

    async fn fetch_publish_info(
        &self,
        wire_topic: &str,
        user_topic: &str,
        deadline: Instant,
    ) -> Result<Arc<TopicPublishInfo>> {
        let instance = self.attached_instance()?;
        let within = |fut| async move {
            tokio::time::timeout_at(deadline, fut)
                .await
                .unwrap_or_else(|_| {
                    Err(Error::NoRoute {
                        topic: user_topic.to_owned(),
                        detail: Some("the send's deadline passed while fetching the route".into()),
                    })
                })
        };
        let found = within(instance.update_route(wire_topic, None)).await?;
        if !found {
            let default = (
                self.config.create_topic_key.as_str(),
                self.config.default_topic_queue_nums,
            );
            within(instance.update_route(wire_topic, Some(default))).await?;
        }
        self.publish_info(wire_topic)
            .filter(|i| i.ok())
            .ok_or_else(|| Error::NoRoute {
                topic: user_topic.to_owned(),
                detail: (!found).then(|| {
                    format!(
                        "the name servers know neither the topic nor {}",
                        self.config.create_topic_key
                    )
                }),
            })
    }
}

impl Drop for ProducerInner {
    /// A producer dropped without `shutdown` still stops its message trace, whose task would
    /// otherwise keep the trace producer alive.
    fn drop(&mut self) {
        if let Some(trace) = self.trace.get() {
            trace.stop();
        }
    }
}

/// `derived` (computed from `original`) as a shared string: `original` itself when unchanged.
pub(crate) fn shared(original: &ByteString, derived: std::borrow::Cow<'_, str>) -> ByteString {
    match derived {
        std::borrow::Cow::Borrowed(text) if text.len() == original.len() => original.clone(),
        other => ByteString::from(other.into_owned()),
    }
}

/// The work of a shutdown, run once whoever awaits it (see [`Producer::shutdown`]).
async fn drain(inner: Arc<ProducerInner>) {
    // Marks the shutdown complete however this ends, so no caller waits for ever.
    let _done = inner.shut_down.clone().drop_guard();
    // No send is accepted from now on, including those waiting for a permit.
    inner.tracker.close();
    if let Some(accumulator) = inner.accumulator.as_ref() {
        accumulator.flush(&inner);
    }
    let pending = inner
        .tracker
        .wait_idle(deadline_after(inner.config.shutdown_grace))
        .await;
    if pending > 0 {
        tracing::warn!(
            pending,
            "async sends still pending at shutdown; failing them"
        );
    }
    inner.tracker.abort();
    if let Some(accumulator) = inner.accumulator.as_ref() {
        accumulator.abort(&inner);
    }
    // Aborted sends resolve promptly; wait so their callbacks have run when we return.
    inner
        .tracker
        .wait_idle(deadline_after(Duration::from_secs(1)))
        .await;
    // The trace records of the sends above go out before the trace producer stops.
    if let Some(trace) = inner.trace.get() {
        trace.shutdown().await;
    }
    let instance = inner.instance.write().take();
    if let Some(instance) = instance {
        instance.unregister_producer(&inner.group).await;
    }
    tracing::info!(group = %inner.group, failed_pending = pending, "producer shut down");
}

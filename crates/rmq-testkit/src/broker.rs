//! A test broker (Java 4.9.8: `BrokerController` with `SendMessageProcessor` and
//! `ClientManageProcessor`) and [`TestBroker`], the handle tests inspect it and inject faults
//! through.
//!
//! The broker's state outlives its listener: [`TestBroker::stop`] closes the socket and every
//! connection but keeps topics and messages, and [`TestBroker::restart`] serves them again on
//! the same port, as a restarted Java broker would from its store.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rmq_remoting::acl::AclSigner;
use rmq_remoting::body::{HeartbeatData, TopicQueueMappingInfo, perm};
use rmq_remoting::code::{request, response};
use rmq_remoting::header::{SendMessageRequestHeader, UnregisterClientRequestHeader};
use rmq_remoting::tls::ServerTls;
use rmq_remoting::{Channel, RemotingCommand, RemotingServer, ServerHandle, version};
use tokio::net::{TcpListener, TcpSocket};
use tokio::time::Instant;

use crate::clients::ClientChannels;
use crate::fault::{self, Admission, Faults};
use crate::route::{Registration, RouteRegistry};
use crate::store::{MessageStore, StoredMessage};
use crate::timer::Timers;
use crate::topic::{
    AUTO_CREATE_TOPIC, AUTO_CREATE_TOPIC_PERM, AUTO_CREATE_TOPIC_QUEUES, DEFAULT_TOPIC_PERM,
    StaticTopic, TopicConfig,
};
use crate::transaction::Transactions;
use crate::{TestkitError, client_manage, pull, reply, send, timer, transaction};

/// Heartbeats and unregistrations kept per broker; older ones are dropped.
const RECORD_LIMIT: usize = 10_000;
/// How long [`TestBroker::restart`] retries binding its port (a closing socket may hold it).
const REBIND_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts to find a free port at first start (another process may take the one picked).
const BIND_ATTEMPTS: usize = 10;

/// What every broker of a cluster shares.
#[derive(Clone, Debug)]
pub(crate) struct BrokerSettings {
    pub(crate) cluster: String,
    pub(crate) auto_create_topics: bool,
    pub(crate) max_stored_messages: usize,
    /// Verifies every request's ACL signature with these credentials.
    pub(crate) acl: Option<AclSigner>,
    pub(crate) tls: Option<ServerTls>,
    /// Check undecided half messages this often (and this old); `None`: never.
    pub(crate) transaction_check_interval: Option<Duration>,
    /// Checks per half message before it is dropped.
    pub(crate) transaction_check_max: u32,
    /// Answer RECALL_MESSAGE (5.3.2+); otherwise the code is unknown, as to a 4.x broker.
    pub(crate) recall: bool,
}

/// Topics and whether the broker is serving; one lock so registration follows both in order.
#[derive(Debug)]
struct Meta {
    topics: BTreeMap<String, TopicConfig>,
    /// The static topics among `topics` (Java: `TopicQueueMappingManager`).
    static_topics: BTreeMap<String, StaticTopic>,
    running: bool,
}

/// Where a send to a queue id goes on this broker (Java:
/// `TopicQueueMappingManager.buildTopicQueueMappingContext`, `rewriteRequestForStaticTopic`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueueTarget {
    /// Not a static topic here: the id is the physical queue.
    Physical,
    /// A logical queue this broker leads, stored in `physical` and answered as `logical`.
    Logical {
        /// The logical queue id (the one asked for, or picked for a negative one).
        logical: i32,
        /// The physical queue behind it.
        physical: i32,
    },
    /// A static topic here, but not a logical queue this broker leads.
    NotLeader,
}

/// Everything the request processors use; survives stop and restart.
#[derive(Debug)]
pub(crate) struct BrokerState {
    name: String,
    cluster: String,
    addr: SocketAddr,
    registry: Arc<RouteRegistry>,
    meta: Mutex<Meta>,
    pub(crate) store: MessageStore,
    pub(crate) faults: Faults,
    heartbeats: Mutex<VecDeque<HeartbeatData>>,
    unregisters: Mutex<VecDeque<UnregisterClientRequestHeader>>,
    requests_seen: AtomicU64,
    acl: Option<AclSigner>,
    tls: Option<ServerTls>,
    recall: bool,
    pub(crate) clients: ClientChannels,
    pub(crate) transactions: Transactions,
    pub(crate) timers: Timers,
}

impl BrokerState {
    fn new(
        name: &str,
        addr: SocketAddr,
        settings: &BrokerSettings,
        registry: Arc<RouteRegistry>,
    ) -> Self {
        let mut topics = BTreeMap::new();
        // Java: `TopicConfigManager` adds TBW102 only when autoCreateTopicEnable is on.
        if settings.auto_create_topics {
            topics.insert(
                AUTO_CREATE_TOPIC.to_owned(),
                TopicConfig::new(
                    AUTO_CREATE_TOPIC,
                    AUTO_CREATE_TOPIC_QUEUES,
                    AUTO_CREATE_TOPIC_PERM,
                ),
            );
        }
        Self {
            name: name.to_owned(),
            cluster: settings.cluster.clone(),
            addr,
            registry,
            meta: Mutex::new(Meta {
                topics,
                static_topics: BTreeMap::new(),
                running: false,
            }),
            store: MessageStore::new(addr, name.into(), settings.max_stored_messages),
            faults: Faults::default(),
            heartbeats: Mutex::default(),
            unregisters: Mutex::default(),
            requests_seen: AtomicU64::new(0),
            acl: settings.acl.clone(),
            tls: settings.tls.clone(),
            recall: settings.recall,
            clients: ClientChannels::default(),
            transactions: Transactions::default(),
            timers: Timers::default(),
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.meta.lock().running
    }

    pub(crate) fn cluster(&self) -> &str {
        &self.cluster
    }

    pub(crate) fn has_topic(&self, topic: &str) -> bool {
        self.meta.lock().topics.contains_key(topic)
    }

    /// The store host: where clients connect.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The broker's name, e.g. `broker-a`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Brings the name server's view in line with `meta` (Java: `registerBrokerAll`, or the
    /// name server dropping a broker whose channel closed).
    fn publish(&self, meta: &Meta) {
        if meta.running {
            self.registry.register(
                &self.name,
                Registration {
                    cluster: self.cluster.clone(),
                    addr: self.addr.to_string(),
                    topics: meta.topics.clone(),
                    mappings: meta
                        .static_topics
                        .iter()
                        .map(|(topic, mapping)| {
                            (topic.clone(), mapping.mapping_info(topic, &self.name))
                        })
                        .collect(),
                },
            );
        } else {
            self.registry.unregister(&self.name);
        }
    }

    fn set_running(&self, running: bool) {
        let mut meta = self.meta.lock();
        meta.running = running;
        self.publish(&meta);
    }

    fn put_topic(&self, config: TopicConfig) {
        let mut meta = self.meta.lock();
        meta.static_topics.remove(&config.topic_name);
        meta.topics.insert(config.topic_name.clone(), config);
        self.publish(&meta);
    }

    /// Makes `topic` a static topic here: one physical queue per led logical queue, perm 6
    /// (Java: what `updateStaticTopic` writes to each broker).
    fn put_static_topic(&self, topic: &str, mapping: StaticTopic) {
        let mut meta = self.meta.lock();
        let config = TopicConfig::new(topic, mapping.physical_queues(), DEFAULT_TOPIC_PERM);
        meta.topics.insert(topic.to_owned(), config);
        meta.static_topics.insert(topic.to_owned(), mapping);
        self.publish(&meta);
    }

    /// Where a send to `queue_id` of `topic` goes (Java:
    /// `TopicQueueMappingManager.buildTopicQueueMappingContext(header, true)`). A negative id
    /// picks the first logical queue the broker hosts, as Java does, which here is the
    /// smallest it leads.
    pub(crate) fn queue_target(&self, topic: &str, queue_id: i32) -> QueueTarget {
        let meta = self.meta.lock();
        let Some(mapping) = meta.static_topics.get(topic) else {
            return QueueTarget::Physical;
        };
        let led = if queue_id < 0 {
            mapping.leads.iter().next()
        } else {
            mapping.leads.get_key_value(&queue_id)
        };
        match led {
            Some((&logical, &physical)) => QueueTarget::Logical { logical, physical },
            None => QueueTarget::NotLeader,
        }
    }

    /// The topic a send goes to, auto-created from the request's default topic when that one
    /// may be inherited (Java: `msgCheck`, `createTopicInSendMessageMethod`).
    pub(crate) fn topic_for_send(
        &self,
        header: &SendMessageRequestHeader,
    ) -> Result<TopicConfig, RemotingCommand> {
        let mut meta = self.meta.lock();
        if let Some(config) = meta.topics.get(&*header.topic) {
            return Ok(config.clone());
        }
        let created = meta
            .topics
            .get(&*header.default_topic)
            .filter(|default| default.is_inherited())
            .map(|default| {
                let asked = u32::try_from(header.default_topic_queue_nums).unwrap_or(0);
                TopicConfig::new(
                    header.topic.to_string(),
                    asked.min(default.write_queue_nums),
                    default.perm & !perm::INHERIT,
                )
            });
        let Some(config) = created else {
            return Err(RemotingCommand::response(response::TOPIC_NOT_EXIST)
                .with_remark(fault::topic_not_exist(&header.topic)));
        };
        tracing::debug!(broker = %self.name, topic = %header.topic, queues = config.write_queue_nums, "auto-created topic");
        meta.topics.insert(header.topic.to_string(), config.clone());
        self.publish(&meta);
        Ok(config)
    }

    pub(crate) fn record_heartbeat(&self, heartbeat: HeartbeatData) {
        push_bounded(&mut self.heartbeats.lock(), heartbeat);
    }

    pub(crate) fn record_unregister(&self, header: UnregisterClientRequestHeader) {
        push_bounded(&mut self.unregisters.lock(), header);
    }
}

fn push_bounded<T>(records: &mut VecDeque<T>, record: T) {
    if records.len() == RECORD_LIMIT {
        records.pop_front();
    }
    records.push_back(record);
}

/// Every request a broker receives goes through here, so all of them count and all of them
/// can trigger an armed connection drop.
async fn handle(
    state: Arc<BrokerState>,
    channel: Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    state.requests_seen.fetch_add(1, Ordering::Relaxed);
    if let Some(refusal) = state
        .acl
        .as_ref()
        .and_then(|acl| crate::acl::check(acl, &request))
    {
        return Some(refusal.with_version(version::V4_9_8));
    }
    if state.faults.black_hole() {
        // Read, never answered, never stored: held until the connection ends or the black
        // hole is turned off (then let go, still unanswered, so it stops holding one of the
        // connection's in-flight slots).
        while state.faults.black_hole() {
            tokio::select! {
                () = channel.closed() => break,
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
        return None;
    }
    let admission = state.faults.admit();
    if admission == Admission::DropConnection {
        tracing::debug!(broker = %state.name, peer = %channel.addr(), "dropping the connection as injected");
        channel.close();
        return None;
    }
    let response = match request.code() {
        request::SEND_MESSAGE | request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE => {
            send::process(&state, &channel, &request).await
        }
        request::SEND_REPLY_MESSAGE | request::SEND_REPLY_MESSAGE_V2 => {
            reply::process(&state, &channel, &request).await
        }
        request::END_TRANSACTION => transaction::end(&state, &request)?,
        request::PULL_MESSAGE => pull::pull(&state, &request),
        request::RECALL_MESSAGE if state.recall => timer::recall(&state, &request),
        request::HEART_BEAT => client_manage::heartbeat(&state, &channel, &request),
        request::UNREGISTER_CLIENT => client_manage::unregister(&state, &request),
        code => RemotingCommand::response(response::REQUEST_CODE_NOT_SUPPORTED)
            .with_remark(format!(" request type {code} not supported")),
    };
    if admission == Admission::ProcessThenDrop {
        tracing::debug!(broker = %state.name, peer = %channel.addr(), "dropping the connection after processing, as injected");
        channel.close();
        return None;
    }
    // Java servers stamp their own version on responses.
    Some(response.with_version(version::V4_9_8))
}

/// Listens on the broker's address with its processors.
async fn bind(state: &Arc<BrokerState>) -> io::Result<ServerHandle> {
    let mut server = RemotingServer::builder();
    if let Some(tls) = &state.tls {
        server = server.tls(tls.clone());
    }
    let server = server.build();
    let shared = state.clone();
    server.set_default_processor(move |channel: Channel, request: RemotingCommand| {
        handle(shared.clone(), channel, request)
    });
    server.bind(state.addr).await
}

/// A handle to one broker of a [`TestCluster`](crate::TestCluster); clones share the broker.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), rmq_testkit::TestkitError> {
/// use std::time::Duration;
/// let cluster = rmq_testkit::TestCluster::builder().brokers(1).start().await?;
/// let broker = cluster.broker("broker-a").expect("broker-a");
/// broker.create_topic("Orders", 2, 6);
/// broker.set_latency(Duration::from_millis(5));
/// broker.fail_next(2, 1); // the next send gets SYSTEM_BUSY
/// assert!(broker.messages("Orders").is_empty());
/// cluster.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TestBroker {
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<BrokerState>,
    server: Mutex<Option<ServerHandle>>,
    /// Serializes stop, restart and refuse so each sees a settled server.
    lifecycle: tokio::sync::Mutex<()>,
}

impl TestBroker {
    /// Starts a broker on a free loopback port and registers it.
    pub(crate) async fn start(
        name: &str,
        settings: &BrokerSettings,
        registry: Arc<RouteRegistry>,
        topics: &[(String, u32)],
    ) -> Result<Self, TestkitError> {
        let mut attempt = 0;
        let (state, server) = loop {
            attempt += 1;
            // The processors need the address before the server binds it: pick a free port,
            // release it, bind it again; retry in the rare case someone else took it.
            let addr = free_loopback_addr()
                .await
                .map_err(|source| bind_error(name, "127.0.0.1:0".into(), source))?;
            let state = Arc::new(BrokerState::new(name, addr, settings, registry.clone()));
            match bind(&state).await {
                Ok(server) => break (state, server),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && attempt < BIND_ATTEMPTS => {}
                Err(e) => return Err(bind_error(name, addr.to_string(), e)),
            }
        };
        for (topic, queues) in topics {
            state.put_topic(TopicConfig::new(
                topic.clone(),
                *queues,
                crate::DEFAULT_TOPIC_PERM,
            ));
        }
        state.set_running(true);
        if let Some(interval) = settings.transaction_check_interval {
            tokio::spawn(transaction::check_periodically(
                Arc::downgrade(&state),
                interval,
                settings.transaction_check_max,
            ));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                state,
                server: Mutex::new(Some(server)),
                lifecycle: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The broker's name, e.g. `broker-a`.
    pub fn name(&self) -> &str {
        &self.inner.state.name
    }

    /// The cluster it belongs to.
    pub fn cluster(&self) -> &str {
        &self.inner.state.cluster
    }

    /// Where clients connect (`127.0.0.1:port`), as routes list it under broker id 0. It stays
    /// the same across [`stop`](Self::stop) and [`restart`](Self::restart).
    pub fn addr(&self) -> String {
        self.inner.state.addr.to_string()
    }

    /// [`addr`](Self::addr) as a socket address.
    pub fn socket_addr(&self) -> SocketAddr {
        self.inner.state.addr
    }

    /// Whether it is serving (not [`stop`](Self::stop)ped).
    pub fn is_running(&self) -> bool {
        self.inner.state.meta.lock().running
    }

    /// Connections open now.
    pub fn connection_count(&self) -> usize {
        self.inner
            .server
            .lock()
            .as_ref()
            .map_or(0, |server| server.channels().len())
    }

    /// Creates or replaces `topic` with `queues` read and write queues and permission `perm`
    /// (6 is read-write), and registers it with the name server. A static topic of that name
    /// becomes an ordinary one here (the name server keeps the mapping it had, as Java's
    /// does).
    pub fn create_topic(&self, topic: &str, queues: u32, perm: i32) {
        self.inner
            .state
            .put_topic(TopicConfig::new(topic, queues, perm));
    }

    /// Makes this broker lead the logical queues `logical_ids` of the static topic `topic`,
    /// which has `total_queues` logical queues in all, with mapping epoch `epoch` (epoch
    /// milliseconds; between brokers claiming one logical queue, clients pick the higher),
    /// and registers it with the name server (Java: the part of `updateStaticTopic` that
    /// reaches one broker, then `registerBrokerAll`).
    ///
    /// The broker gets one physical queue per logical queue, numbered from 0 in logical
    /// order, perm 6. The name server lists what it registers under
    /// `topicQueueMappingByBroker` in the topic's route: `currIdMap` from logical to
    /// physical id, scope `__global__`. Sends to a logical queue it leads are stored in the
    /// physical queue and answered with the logical id; sends to any other queue id of the
    /// topic get `NOT_LEADER_FOR_QUEUE` (501). Replaces whatever the broker had for `topic`.
    /// [`TestCluster::create_static_topic`](crate::TestCluster::create_static_topic) spreads
    /// a topic over every broker.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), rmq_testkit::TestkitError> {
    /// let cluster = rmq_testkit::TestCluster::builder().brokers(2).start().await?;
    /// let a = cluster.broker("broker-a").expect("started");
    /// let b = cluster.broker("broker-b").expect("started");
    /// a.create_static_topic("Static", 4, &[0, 3], 1_718_000_001_000);
    /// b.create_static_topic("Static", 4, &[1, 2], 1_718_000_001_000);
    /// let route = cluster.route("Static").expect("created");
    /// let mapping = route.topic_queue_mapping_by_broker.expect("a static topic");
    /// assert_eq!(mapping["broker-a"].curr_id_map, [(0, 0), (3, 1)].into());
    /// assert_eq!(a.topic_config("Static").map(|c| c.write_queue_nums), Some(2));
    /// cluster.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn create_static_topic(
        &self,
        topic: &str,
        total_queues: u32,
        logical_ids: &[u32],
        epoch: i64,
    ) {
        self.inner
            .state
            .put_static_topic(topic, StaticTopic::new(total_queues, logical_ids, epoch));
    }

    /// What this broker registers for the static topic `topic` (Java:
    /// `TopicQueueMappingInfo`), whose `curr_id_map` translates the physical queue ids of
    /// [`messages`](Self::messages) back to logical ones; `None` for any other topic.
    pub fn queue_mapping(&self, topic: &str) -> Option<TopicQueueMappingInfo> {
        let meta = self.inner.state.meta.lock();
        let mapping = meta.static_topics.get(topic)?;
        Some(mapping.mapping_info(topic, self.name()))
    }

    /// The configuration of `topic`, if the broker has it (auto-created topics included).
    pub fn topic_config(&self, topic: &str) -> Option<TopicConfig> {
        self.inner.state.meta.lock().topics.get(topic).cloned()
    }

    /// Half messages stored and neither committed nor rolled back yet, in the half topic.
    pub fn half_messages(&self) -> Vec<StoredMessage> {
        crate::transaction::undecided(&self.inner.state)
    }

    /// Every END_TRANSACTION header received, oldest first (the last 10 000).
    pub fn end_transactions(&self) -> Vec<rmq_remoting::header::EndTransactionRequestHeader> {
        self.inner.state.transactions.ends_seen()
    }

    /// How many CHECK_TRANSACTION_STATE requests this broker sent.
    pub fn transaction_checks_sent(&self) -> u64 {
        self.inner.state.transactions.checks_sent()
    }

    /// Every topic on the broker, sorted by name.
    pub fn topics(&self) -> Vec<TopicConfig> {
        self.inner
            .state
            .meta
            .lock()
            .topics
            .values()
            .cloned()
            .collect()
    }

    /// The retained messages of `topic`, in the order they were stored.
    pub fn messages(&self, topic: &str) -> Vec<StoredMessage> {
        self.inner.state.store.select(|m| m.topic == topic)
    }

    /// Every retained message, in the order they were stored.
    pub fn all_messages(&self) -> Vec<StoredMessage> {
        self.inner.state.store.select(|_| true)
    }

    /// The retained messages of one queue, by queue offset.
    pub fn messages_in_queue(&self, topic: &str, queue_id: i32) -> Vec<StoredMessage> {
        self.inner
            .state
            .store
            .select(|m| m.topic == topic && m.queue_id == queue_id)
    }

    /// Waits until `topic` holds at least `n` messages and returns all of them; fails with
    /// [`TestkitError::WaitTimeout`] after `timeout`.
    pub async fn wait_for_messages(
        &self,
        topic: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<StoredMessage>, TestkitError> {
        self.inner
            .state
            .store
            .wait_for(topic, n, timeout)
            .await
            .map_err(|found| TestkitError::WaitTimeout {
                broker: self.name().to_owned(),
                topic: topic.to_owned(),
                expected: n,
                found,
                timeout,
            })
    }

    /// The heartbeat bodies received, oldest first (the newest 10 000 are kept).
    pub fn heartbeats(&self) -> Vec<HeartbeatData> {
        self.inner.state.heartbeats.lock().iter().cloned().collect()
    }

    /// The `UNREGISTER_CLIENT` headers received, oldest first (the newest 10 000 are kept).
    pub fn unregisters(&self) -> Vec<UnregisterClientRequestHeader> {
        self.inner
            .state
            .unregisters
            .lock()
            .iter()
            .cloned()
            .collect()
    }

    /// Requests received, of any code, including those answered with an injected failure or
    /// dropped.
    pub fn requests_seen(&self) -> u64 {
        self.inner.state.requests_seen.load(Ordering::Relaxed)
    }

    /// Forgets messages, heartbeats, unregistrations and the request count. Topics, faults
    /// and offsets stay (offsets keep counting, so message ids stay unique).
    pub fn clear(&self) {
        let state = &self.inner.state;
        state.store.clear();
        state.heartbeats.lock().clear();
        state.unregisters.lock().clear();
        state.requests_seen.store(0, Ordering::Relaxed);
    }

    /// Delays every send response by `latency` (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.inner.state.faults.set_latency(latency);
    }

    /// Answers the next `count` send requests with response `code` and the remark a Java
    /// broker gives it, e.g. 2 `[REJECTREQUEST]system busy, start flow control for a while`,
    /// 14, 16 `the broker[127.0.0.1] sending message is forbidden`, 17. The success-like
    /// codes 10, 11 and 12 store the message and answer with the normal send header. Calls
    /// queue up: `fail_next(2, 1); fail_next(14, 1)` fails one send with each.
    pub fn fail_next(&self, code: i32, count: usize) {
        self.inner.state.faults.fail_next(code, count);
    }

    /// Closes the connection that carries the `n`-th request from now, before answering it
    /// (`n` = 1: the next request); once. `n` = 0 closes every open connection at once.
    pub fn drop_connection_after(&self, n: u64) {
        if n == 0 {
            if let Some(server) = self.inner.server.lock().as_ref() {
                server.close_connections();
            }
        } else {
            self.inner.state.faults.drop_connection_after(n, false);
        }
    }

    /// Like [`drop_connection_after`](Self::drop_connection_after) (`n` ≥ 1), but the request
    /// is processed first: a send is stored, then its connection closes before the answer, as
    /// when a broker stores a message and the network fails. The producer cannot tell this
    /// from a request that never arrived.
    pub fn drop_connection_after_storing(&self, n: u64) {
        self.inner
            .state
            .faults
            .drop_connection_after(n.max(1), true);
    }

    /// Removes latency, pending failures, an armed connection drop and a black hole.
    pub fn reset_faults(&self) {
        self.inner.state.faults.reset();
    }

    /// Closes the listening socket, so new connections are refused, and keeps serving the
    /// connections already open; returns once connecting fails. Undo with
    /// [`restart`](Self::restart).
    pub async fn refuse_connections(&self) {
        let _lifecycle = self.inner.lifecycle.lock().await;
        match self.inner.server.lock().as_ref() {
            Some(server) => server.stop_accepting(),
            None => return,
        }
        // The listener closes in the server's accept task, a moment later.
        let deadline = Instant::now() + Duration::from_secs(2);
        while !listener_closed(self.inner.state.addr) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Reads every request and answers none, stores nothing (a black hole, or a peer gone
    /// without closing its connections), until turned off; connections stay open.
    pub fn black_hole(&self, on: bool) {
        self.inner.state.faults.set_black_hole(on);
    }

    /// Dies without the name server noticing: the listener and every connection close at
    /// once, but routes still name the broker (as when its host is lost: a name server drops
    /// a broker when its connection closes, or after two minutes without heartbeats), so
    /// clients meet a dead address. [`is_running`](Self::is_running) still says `true`. Undo
    /// with [`restart`](Self::restart).
    pub async fn crash(&self) {
        let _lifecycle = self.inner.lifecycle.lock().await;
        let server = self.inner.server.lock().take();
        if let Some(server) = server {
            server.shutdown(Duration::ZERO).await;
        }
    }

    /// Stops the broker as if killed: the listener and every connection close at once
    /// (requests in flight get no answer), and the name server's routes no longer list it.
    /// Topics and messages are kept. Does nothing when already stopped.
    pub async fn stop(&self) {
        let _lifecycle = self.inner.lifecycle.lock().await;
        self.stop_locked().await;
    }

    async fn stop_locked(&self) {
        let server = self.inner.server.lock().take();
        // Leave the routes first, as a name server notices a dead broker before its clients.
        self.inner.state.set_running(false);
        if let Some(server) = server {
            server.shutdown(Duration::ZERO).await;
        }
    }

    /// Starts serving again on the same port (stopping first if running) and registers with
    /// the name server again.
    pub async fn restart(&self) -> Result<(), TestkitError> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        self.stop_locked().await;
        let state = &self.inner.state;
        let deadline = Instant::now() + REBIND_TIMEOUT;
        let server = loop {
            match bind(state).await {
                Ok(server) => break server,
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(bind_error(&state.name, state.addr.to_string(), e)),
            }
        };
        *self.inner.server.lock() = Some(server);
        state.set_running(true);
        Ok(())
    }

    /// Closes everything at once without waiting; for dropping a cluster.
    pub(crate) fn kill(&self) {
        let server = self.inner.server.lock().take();
        self.inner.state.set_running(false);
        drop(server);
    }
}

impl fmt::Debug for TestBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestBroker")
            .field("name", &self.name())
            .field("addr", &self.socket_addr())
            .field("running", &self.is_running())
            .finish()
    }
}

fn bind_error(name: &str, addr: String, source: io::Error) -> TestkitError {
    TestkitError::Bind {
        server: format!("broker {name}"),
        addr,
        source,
    }
}

async fn free_loopback_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0").await?.local_addr()
}

/// Whether nothing listens on `addr` any more: binding it (with `SO_REUSEADDR`, which open
/// connections on the port do not block) fails while a listener exists.
fn listener_closed(addr: SocketAddr) -> bool {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    };
    // Without a probe there is nothing to wait for.
    let Ok(socket) = socket else { return true };
    if socket.set_reuseaddr(true).is_err() {
        return true;
    }
    socket.bind(addr).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn probe_sees_the_listener_but_not_open_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        assert!(!listener_closed(addr));
        drop(listener);
        assert!(listener_closed(addr));
        drop((client, server_side));
    }
}

//! Producer settings with Java's names and defaults (Java: `DefaultMQProducer`,
//! `ClientConfig`; protocol.md §10).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rmq_common::CompressionType;
use rmq_common::client_id::DEFAULT_INSTANCE_NAME;
use rmq_common::properties::SeparatorStyle;
use rmq_common::validators::{self, AUTO_CREATE_TOPIC_KEY, DEFAULT_MAX_MESSAGE_SIZE};
use rmq_remoting::acl::{AclError, AclSigner};
use rmq_remoting::code::response;
use rmq_remoting::tls::ClientTls;
use rmq_remoting::{LanguageCode, RpcHook, SerializeType, version};

use crate::fault::FaultFlavor;
use crate::{Error, Result};

/// The response codes a sync send retries on another broker by default (Java 5.x
/// `DefaultMQProducer.retryResponseCodes`): TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE,
/// SYSTEM_ERROR, NO_PERMISSION, NO_BUYER_ID, NOT_IN_CURRENT_UNIT, SYSTEM_BUSY, GO_AWAY.
pub const DEFAULT_RETRY_RESPONSE_CODES: [i32; 8] = [
    response::TOPIC_NOT_EXIST,
    response::SERVICE_NOT_AVAILABLE,
    response::SYSTEM_ERROR,
    response::NO_PERMISSION,
    response::NO_BUYER_ID,
    response::NOT_IN_CURRENT_UNIT,
    response::SYSTEM_BUSY,
    response::GO_AWAY,
];

/// Everything a producer is configured with. Build it with [`ProducerBuilder`]; read it with
/// [`Producer::config`](crate::Producer::config). New settings may be added in minor
/// releases, so it cannot be built or matched field by field outside rmq.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ProducerConfig {
    /// Java `producerGroup`: required; `DEFAULT_PRODUCER` is refused.
    pub group: String,
    /// Java `namesrvAddr`: name server addresses.
    pub name_servers: Vec<String>,
    /// Java `instanceName` (`DEFAULT`, replaced by `pid#nanos` at start).
    pub instance_name: String,
    /// Java `unitName`: appended to the client id when set.
    pub unit_name: Option<String>,
    /// Java `namespace`: prefixes topics and the group (`ns%topic`).
    pub namespace: Option<String>,
    /// Java `clientIP`: the address in the client id (detected by default).
    pub client_ip: Option<String>,
    /// Java `sendMsgTimeout`: the deadline of a whole send, retries included (3 s).
    pub send_timeout: Duration,
    /// Java `retryTimesWhenSendFailed`: extra attempts of a sync send (2).
    pub retry_times_when_send_failed: u32,
    /// Java `retryTimesWhenSendAsyncFailed`: extra attempts of an async send (2).
    pub retry_times_when_send_async_failed: u32,
    /// Java `retryAnotherBrokerWhenNotStoreOK`: retry a sync send stored without the durability
    /// asked for (false).
    pub retry_another_broker_when_not_store_ok: bool,
    /// Java `retryResponseCodes`: broker codes a sync send retries on.
    pub retry_response_codes: BTreeSet<i32>,
    /// Java `maxMessageSize`: largest body, uncompressed (4 MiB).
    pub max_message_size: usize,
    /// Java `compressMsgBodyOverHowmuch`: bodies this large or larger are compressed (4096).
    pub compress_threshold: usize,
    /// Java `compressType` (`ZLIB`).
    pub compress_type: CompressionType,
    /// Java `compressLevel` (5).
    pub compress_level: i32,
    /// Java `defaultTopicQueueNums`: queues of an auto-created topic (4).
    pub default_topic_queue_nums: i32,
    /// Java `createTopicKey`: the topic whose route stands in for unknown topics (`TBW102`).
    pub create_topic_key: String,
    /// Java `vipChannelEnabled`: send to the broker's port − 2 (false).
    pub vip_channel_enabled: bool,
    /// Java `sendLatencyFaultEnable`: avoid slow brokers (false).
    pub send_latency_fault_enable: bool,
    /// Which Java version's fault tables and selection rule to follow (5.x).
    pub fault_flavor: FaultFlavor,
    /// Java `heartbeatBrokerInterval` (30 s).
    pub heartbeat_interval: Duration,
    /// Java `pollNameServerInterval`: route refresh period (30 s).
    pub poll_name_server_interval: Duration,
    /// Java `mqClientApiTimeout`: route, heartbeat and unregister requests (3 s).
    pub client_api_timeout: Duration,
    /// Java `clientAsyncSemaphoreValue`: async requests in flight on the client instance's
    /// remoting client (65535); see also `max_async_in_flight`.
    pub async_permits: usize,
    /// Java `clientOnewaySemaphoreValue` (65535).
    pub oneway_permits: usize,
    /// Java 5.x `backPressureForAsyncSendNum`: async sends in flight at once; more wait for
    /// room within their timeout (10 000, 5.3.3's default). Java applies it only with
    /// `enableBackpressureForAsyncMode`; rmq always does.
    pub max_async_in_flight: usize,
    /// Java 5.x `backPressureForAsyncSendSize`: their body bytes in flight at once (100 MiB).
    pub max_async_in_flight_bytes: usize,
    /// Fail an async send at once when there is no room in flight, instead of waiting for
    /// room within its timeout (false).
    pub async_fail_fast: bool,
    /// Java `sendSmartMsg`: use the single-letter V2 header (code 310) rather than V1 (code 10)
    /// (true).
    pub send_smart_msg: bool,
    /// How command headers are serialized (JSON, as Java's default).
    pub serialize_type: SerializeType,
    /// The remoting version stamped on requests (479, 5.3.3).
    pub remoting_version: i32,
    /// The language reported to servers (JAVA; see docs/protocol-choices.md).
    pub language: LanguageCode,
    /// Property string style: 4.9.8 (no trailing separator, default) or 5.2+ (trailing).
    pub property_style: SeparatorStyle,
    /// How long [`Producer::shutdown`](crate::Producer::shutdown) waits for accepted async sends
    /// before failing them (3 s).
    pub shutdown_grace: Duration,
    /// ACL credentials every request is signed with (see [`ProducerBuilder::credentials`]);
    /// `Debug` never shows the secret.
    pub credentials: Option<AclSigner>,
    /// TLS for every connection (Java: `useTLS`; see [`ProducerBuilder::tls`]).
    pub tls: Option<ClientTls>,
    /// Java `checkThreadPoolMaxSize`: a transaction producer's broker checks run at once (1).
    pub check_concurrency: usize,
    /// Java `checkRequestHoldMax`: broker checks waiting for the listener; more are dropped,
    /// and the broker asks again later (2000).
    pub check_backlog: usize,
    /// How long a transaction listener's `execute` or `check` may take before it counts as
    /// `Unknown` (rmq; Java has no limit) (60 s).
    pub transaction_listener_timeout: Duration,
    /// Java `enableMsgTrace` / `enableTrace`: write a trace record of every answered send to
    /// the trace topic (false).
    pub msg_trace: bool,
    /// Java `customizedTraceTopic` / `traceTopic` (`RMQ_SYS_TRACE_TOPIC`).
    pub msg_trace_topic: String,
    /// Java `traceMsgBatchNum`: records per trace batch, at most 20 (10).
    pub msg_trace_batch_size: usize,
    /// Java 5.x `autoBatch`: single messages travel in batches when load allows (off).
    pub auto_batch: Option<crate::AutoBatch>,
}

/// Builds a [`Producer`](crate::Producer) (Java: `new DefaultMQProducer(group)` plus setters).
///
/// ```
/// use std::time::Duration;
/// use rmq_client::Producer;
///
/// let producer = Producer::builder("order_producer")
///     .name_server("127.0.0.1:9876")
///     .send_timeout(Duration::from_secs(5))
///     .retry_times_when_send_failed(3)
///     .build()
///     .unwrap();
/// assert_eq!(producer.config().retry_times_when_send_failed, 3);
/// ```
#[derive(Clone)]
pub struct ProducerBuilder {
    config: ProducerConfig,
    rpc_hooks: Vec<Arc<dyn RpcHook>>,
    trace_context: Option<Arc<dyn crate::TraceContextInjector>>,
    /// Checked at `build`.
    credentials: Option<Result<AclSigner, AclError>>,
    security_token: Option<String>,
}

impl std::fmt::Debug for ProducerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerBuilder")
            .field("config", &self.config)
            .field("rpc_hooks", &self.rpc_hooks.len())
            .field("credentials", &self.credentials.as_ref().map(|_| "<set>"))
            .finish()
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.$name = value;
            self
        }
    )*};
}

impl ProducerBuilder {
    /// A builder for `group` with every other setting at Java's default.
    pub fn new(group: impl Into<String>) -> Self {
        Self {
            config: ProducerConfig {
                group: group.into(),
                name_servers: Vec::new(),
                instance_name: DEFAULT_INSTANCE_NAME.to_owned(),
                unit_name: None,
                namespace: None,
                client_ip: None,
                send_timeout: Duration::from_millis(3000),
                retry_times_when_send_failed: 2,
                retry_times_when_send_async_failed: 2,
                retry_another_broker_when_not_store_ok: false,
                retry_response_codes: DEFAULT_RETRY_RESPONSE_CODES.into_iter().collect(),
                max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                compress_threshold: 4096,
                compress_type: CompressionType::Zlib,
                compress_level: 5,
                default_topic_queue_nums: 4,
                create_topic_key: AUTO_CREATE_TOPIC_KEY.to_owned(),
                vip_channel_enabled: false,
                send_latency_fault_enable: false,
                fault_flavor: FaultFlavor::Rocketmq5,
                heartbeat_interval: Duration::from_secs(30),
                poll_name_server_interval: Duration::from_secs(30),
                client_api_timeout: Duration::from_millis(3000),
                async_permits: 65535,
                oneway_permits: 65535,
                max_async_in_flight: 10_000,
                max_async_in_flight_bytes: 100 * 1024 * 1024,
                async_fail_fast: false,
                send_smart_msg: true,
                serialize_type: SerializeType::Json,
                remoting_version: version::DEFAULT,
                language: LanguageCode::Java,
                property_style: SeparatorStyle::NoTrailing,
                shutdown_grace: Duration::from_millis(3000),
                credentials: None,
                tls: None,
                check_concurrency: 1,
                check_backlog: 2000,
                transaction_listener_timeout: Duration::from_secs(60),
                msg_trace: false,
                msg_trace_topic: crate::DEFAULT_TRACE_TOPIC.to_owned(),
                msg_trace_batch_size: 10,
                auto_batch: None,
            },
            rpc_hooks: Vec::new(),
            trace_context: None,
            credentials: None,
            security_token: None,
        }
    }

    /// Signs every request of this producer's client instance with ACL credentials, from the
    /// very first (Java: `new DefaultMQProducer(group, new AclClientRPCHook(new
    /// SessionCredentials(accessKey, secretKey)))`), as RocketMQ 4.x plain ACL and 5.x
    /// authentication expect. The signature is computed after every RPC hook has run. Both
    /// keys must be non-empty (checked at `build`); the secret never appears in `Debug`
    /// output or logs. As with [`rpc_hook`](Self::rpc_hook), the producer that creates the
    /// client instance brings its credentials.
    ///
    /// ```
    /// let producer = rmq_client::Producer::builder("order_producer")
    ///     .name_server("127.0.0.1:9876")
    ///     .credentials("rocketmq2", "12345678")
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{:?}", producer.config()).contains("12345678"));
    /// ```
    pub fn credentials(
        mut self,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some(AclSigner::new(access_key, secret_key));
        self
    }

    /// Speaks TLS to the name servers and brokers (Java: `useTLS`), checking their
    /// certificates as `tls` says: the platform's roots by default, or a CA bundle, a server
    /// name for brokers addressed by IP, a client certificate for mutual TLS. A failed
    /// handshake is a connection error that names the address and the reason.
    ///
    /// ```
    /// use rmq_remoting::tls::ClientTls;
    /// let tls = ClientTls::builder().server_name("rocketmq.example.com").build().unwrap();
    /// let producer = rmq_client::Producer::builder("pg").tls(tls).build().unwrap();
    /// # drop(producer);
    /// ```
    pub fn tls(mut self, tls: ClientTls) -> Self {
        self.config.tls = Some(tls);
        self
    }

    /// The security token of temporary ACL credentials, sent with every request (Java:
    /// `SessionCredentials.securityToken`); used with [`credentials`](Self::credentials).
    pub fn security_token(mut self, token: impl Into<String>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// Adds an RPC hook run around every request of this producer's client instance, from
    /// its very first (Java: the `RPCHook` constructor argument; ACL signing is one). As in
    /// Java, the hooks of the producer that creates the instance apply to it; a producer
    /// joining an instance another producer created (same client id) keeps that one's hooks.
    ///
    /// ```
    /// use rmq_remoting::{RemotingCommand, RpcHook};
    ///
    /// struct Tenant;
    /// impl RpcHook for Tenant {
    ///     fn before_request(&self, _addr: &str, request: &mut RemotingCommand) {
    ///         request.add_ext_field("tenant", "blue");
    ///     }
    /// }
    /// let producer = rmq_client::Producer::builder("pg").rpc_hook(Tenant).build().unwrap();
    /// # drop(producer);
    /// ```
    pub fn rpc_hook(mut self, hook: impl RpcHook) -> Self {
        self.rpc_hooks.push(Arc::new(hook));
        self
    }

    /// Adds one name server address (`ip:port`).
    pub fn name_server(mut self, addr: impl Into<String>) -> Self {
        self.config.name_servers.push(addr.into());
        self
    }

    /// Sets the name servers from Java's `namesrvAddr` form: addresses separated by `;`.
    ///
    /// ```
    /// let b = rmq_client::Producer::builder("g").namesrv_addr("127.0.0.1:9876;127.0.0.2:9876");
    /// assert_eq!(b.build().unwrap().config().name_servers.len(), 2);
    /// ```
    pub fn namesrv_addr(mut self, addrs: &str) -> Self {
        self.config.name_servers = name_servers_from_env(Some(addrs));
        self
    }

    /// Java `instanceName`.
    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.config.instance_name = name.into();
        self
    }

    /// Java `unitName`.
    pub fn unit_name(mut self, name: impl Into<String>) -> Self {
        self.config.unit_name = Some(name.into());
        self
    }

    /// Java `namespace`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.config.namespace = Some(namespace.into());
        self
    }

    /// Java `clientIP`.
    pub fn client_ip(mut self, ip: impl Into<String>) -> Self {
        self.config.client_ip = Some(ip.into());
        self
    }

    /// Java `createTopicKey`.
    pub fn create_topic_key(mut self, topic: impl Into<String>) -> Self {
        self.config.create_topic_key = topic.into();
        self
    }

    /// Java `retryResponseCodes`: replaces the set.
    pub fn retry_response_codes(mut self, codes: impl IntoIterator<Item = i32>) -> Self {
        self.config.retry_response_codes = codes.into_iter().collect();
        self
    }

    setters! {
        /// Java `sendMsgTimeout`.
        send_timeout: Duration;
        /// Java `retryTimesWhenSendFailed`.
        retry_times_when_send_failed: u32;
        /// Java `retryTimesWhenSendAsyncFailed`.
        retry_times_when_send_async_failed: u32;
        /// Java `retryAnotherBrokerWhenNotStoreOK`.
        retry_another_broker_when_not_store_ok: bool;
        /// Java `maxMessageSize`.
        max_message_size: usize;
        /// Java `compressMsgBodyOverHowmuch`.
        compress_threshold: usize;
        /// Java `compressType`.
        compress_type: CompressionType;
        /// Java `compressLevel`.
        compress_level: i32;
        /// Java `defaultTopicQueueNums`.
        default_topic_queue_nums: i32;
        /// Java `vipChannelEnabled`.
        vip_channel_enabled: bool;
        /// Java `sendLatencyFaultEnable`.
        send_latency_fault_enable: bool;
        /// The fault strategy's Java version.
        fault_flavor: FaultFlavor;
        /// Java `heartbeatBrokerInterval`.
        heartbeat_interval: Duration;
        /// Java `pollNameServerInterval`.
        poll_name_server_interval: Duration;
        /// Java `mqClientApiTimeout`.
        client_api_timeout: Duration;
        /// Java `clientAsyncSemaphoreValue`.
        async_permits: usize;
        /// Java `clientOnewaySemaphoreValue`.
        oneway_permits: usize;
        /// Java 5.x `backPressureForAsyncSendNum`: async sends in flight at once.
        max_async_in_flight: usize;
        /// Java 5.x `backPressureForAsyncSendSize`: async body bytes in flight at once.
        max_async_in_flight_bytes: usize;
        /// Fail async sends at once when there is no room in flight.
        async_fail_fast: bool;
        /// Java `sendSmartMsg`.
        send_smart_msg: bool;
        /// Header serialization.
        serialize_type: SerializeType;
        /// Remoting version.
        remoting_version: i32;
        /// Reported language.
        language: LanguageCode;
        /// Property string style.
        property_style: SeparatorStyle;
        /// Grace period for async sends at shutdown.
        shutdown_grace: Duration;
        /// Java `checkThreadPoolMaxSize`: broker checks a transaction producer runs at once.
        check_concurrency: usize;
        /// Java `checkRequestHoldMax`: broker checks that may wait; more are dropped.
        check_backlog: usize;
        /// How long a transaction listener call may take before it counts as `Unknown`.
        transaction_listener_timeout: Duration;
        /// Java `enableMsgTrace`: trace records of every answered send, sent in the background
        /// on a producer of their own (see `docs/observability.md`).
        msg_trace: bool;
        /// Java `traceMsgBatchNum`: trace records per batch (1–20).
        msg_trace_batch_size: usize;
    }

    /// Turns automatic batching on (Java 5.x: `setAutoBatch(true)` with its settings): single
    /// messages of one topic, queue, `WAIT` and tag travel together as one batch request
    /// while earlier ones are out, and each still gets its own [`SendResult`](crate::SendResult)
    /// (its own message id, offset message id and queue offset) or its own error. A lone
    /// message is not delayed; see [`AutoBatch`](crate::AutoBatch) for what is batched.
    ///
    /// ```
    /// use rmq_client::{AutoBatch, Producer};
    ///
    /// let producer = Producer::builder("clicks")
    ///     .name_server("127.0.0.1:9876")
    ///     .auto_batch(AutoBatch::default())
    ///     .build()
    ///     .unwrap();
    /// assert!(producer.config().auto_batch.is_some());
    /// ```
    pub fn auto_batch(mut self, batching: crate::AutoBatch) -> Self {
        self.config.auto_batch = Some(batching);
        self
    }

    /// Turns message trace on (Java: `enableMsgTrace`), the records going to `topic`
    /// (Java: `customizedTraceTopic`; `RMQ_SYS_TRACE_TOPIC` by default).
    ///
    /// ```
    /// let producer = rmq_client::Producer::builder("pg")
    ///     .name_server("127.0.0.1:9876")
    ///     .msg_trace_topic("MyTraceTopic")
    ///     .build()
    ///     .unwrap();
    /// assert!(producer.config().msg_trace);
    /// ```
    pub fn msg_trace_topic(mut self, topic: impl Into<String>) -> Self {
        self.config.msg_trace = true;
        self.config.msg_trace_topic = topic.into();
        self
    }

    /// The settings as they stand, unchecked (tests that need a setting `build` refuses).
    #[cfg(test)]
    pub(crate) fn into_config(self) -> ProducerConfig {
        self.config
    }

    /// The settings as they stand, for a producer rmq makes itself (the trace producer).
    pub(crate) fn into_config_unchecked(self) -> ProducerConfig {
        self.config
    }

    /// Checks the settings (Java: `checkConfig`) and builds the producer, not yet started.
    ///
    /// With no name server set, the addresses come from the `NAMESRV_ADDR` environment
    /// variable (`;`-separated), as Java's `ClientConfig` reads them.
    pub fn build(mut self) -> Result<crate::Producer> {
        if self.config.name_servers.is_empty() {
            self.config.name_servers =
                name_servers_from_env(std::env::var(NAMESRV_ADDR_ENV).ok().as_deref());
        }
        self.config.credentials = match (self.credentials, self.security_token) {
            (Some(Ok(signer)), token) => Some(match token {
                Some(token) => signer.with_security_token(token),
                None => signer,
            }),
            (Some(Err(e)), _) => return Err(Error::Config(e.to_string())),
            (None, Some(_)) => {
                return Err(Error::Config(
                    "a security token needs credentials: set them with credentials()".into(),
                ));
            }
            (None, None) => None,
        };
        self.config.validate()?;
        let producer = crate::Producer::from_config(self.config, self.rpc_hooks);
        if let Some(injector) = self.trace_context {
            let _ = producer.inner.trace_context.set(injector);
        }
        Ok(producer)
    }

    /// Writes the sending task's trace context into every message (W3C `traceparent` and
    /// `tracestate` with an OpenTelemetry propagator), so consumers continue the trace; see
    /// [`TraceContextInjector`](crate::TraceContextInjector). Off by default.
    ///
    /// ```
    /// let producer = rmq_client::Producer::builder("pg")
    ///     .name_server("127.0.0.1:9876")
    ///     .trace_context(|set: &mut dyn FnMut(&str, String)| {
    ///         set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into())
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(producer);
    /// ```
    pub fn trace_context(mut self, injector: impl crate::TraceContextInjector) -> Self {
        self.trace_context = Some(Arc::new(injector));
        self
    }

    /// Builds the producer and starts it: one step, for programs that need no producer before
    /// it runs (Java: `new DefaultMQProducer(..)` then `start()`).
    ///
    /// ```no_run
    /// # async fn demo() -> rmq_client::Result<()> {
    /// let producer = rmq_client::Producer::builder("order_producer")
    ///     .name_server("127.0.0.1:9876")
    ///     .start()
    ///     .await?;
    /// producer.send(rmq_common::Message::new("TopicTest", "hi")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn start(self) -> Result<crate::Producer> {
        let producer = self.build()?;
        producer.start().await?;
        Ok(producer)
    }

    /// Builds a transaction producer whose local transactions and broker checks `listener`
    /// handles (Java: `new TransactionMQProducer(group)` plus `setTransactionListener`). The
    /// check executor's sizes are [`check_concurrency`](Self::check_concurrency) and
    /// [`check_backlog`](Self::check_backlog).
    ///
    /// ```
    /// use rmq_client::{LocalTransactionState, Producer, TransactionCheck, TransactionListener};
    ///
    /// struct Undecided;
    /// impl TransactionListener for Undecided {
    ///     type Arg = ();
    ///     async fn execute(&self, _: &rmq_common::Message, _: ()) -> LocalTransactionState {
    ///         LocalTransactionState::Unknown
    ///     }
    ///     async fn check(&self, _: &TransactionCheck) -> LocalTransactionState {
    ///         LocalTransactionState::Commit
    ///     }
    /// }
    /// let producer = Producer::builder("tx_group")
    ///     .name_server("127.0.0.1:9876")
    ///     .check_concurrency(4)
    ///     .build_transactional(Undecided)
    ///     .unwrap();
    /// assert_eq!(producer.producer().config().check_concurrency, 4);
    /// ```
    pub fn build_transactional<L: crate::TransactionListener>(
        self,
        listener: L,
    ) -> Result<crate::TransactionProducer<L>> {
        Ok(crate::TransactionProducer::new(self.build()?, listener))
    }
}

/// The environment variable Java reads name server addresses from (Java:
/// `MixAll.NAMESRV_ADDR_ENV`).
pub const NAMESRV_ADDR_ENV: &str = "NAMESRV_ADDR";

/// Name server addresses from `NAMESRV_ADDR`'s value: `;`-separated, blanks ignored.
fn name_servers_from_env(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ProducerConfig {
    /// Java `checkConfig` plus range checks of the numeric settings.
    pub fn validate(&self) -> Result<()> {
        validators::validate_producer_group(&self.group)?;
        let bad = |what: &str| Err(Error::Config(what.to_owned()));
        if self.send_timeout.is_zero() {
            return bad("send_timeout must be more than zero");
        }
        if self.client_api_timeout.is_zero() {
            return bad("client_api_timeout must be more than zero");
        }
        if self.max_message_size == 0 {
            return bad("max_message_size must be more than zero");
        }
        if self.default_topic_queue_nums <= 0 {
            return bad("default_topic_queue_nums must be positive");
        }
        if self.async_permits == 0 || self.oneway_permits == 0 {
            return bad("async_permits and oneway_permits must be at least 1");
        }
        if self.max_async_in_flight == 0 || self.max_async_in_flight_bytes == 0 {
            return bad("max_async_in_flight and max_async_in_flight_bytes must be at least 1");
        }
        if self.check_concurrency == 0 {
            return bad("check_concurrency must be at least 1");
        }
        if let Some(batching) = &self.auto_batch {
            batching.validate(self.max_message_size)?;
        }
        if self.heartbeat_interval.is_zero() || self.poll_name_server_interval.is_zero() {
            return bad("heartbeat_interval and poll_name_server_interval must be more than zero");
        }
        if self.instance_name.trim().is_empty() {
            return bad("instance_name must not be blank");
        }
        let has_control = |s: &str| s.chars().any(char::is_control);
        if has_control(&self.instance_name)
            || self.unit_name.as_deref().is_some_and(has_control)
            || self.client_ip.as_deref().is_some_and(has_control)
        {
            return bad(
                "instance_name, unit_name and client_ip must not contain control characters",
            );
        }
        if let Some(namespace) = &self.namespace
            && validators::validate_topic(namespace).is_err()
        {
            return bad("namespace may only contain letters, digits, '%', '|', '_' and '-'");
        }
        validators::validate_topic(&self.create_topic_key)?;
        self.compress_type
            .check_level(self.compress_level)
            .map_err(|e| Error::Config(format!("compress_level: {e}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_java_defaults() {
        let c = ProducerBuilder::new("pg").config;
        assert_eq!(c.send_timeout, Duration::from_millis(3000));
        assert_eq!(
            (
                c.retry_times_when_send_failed,
                c.retry_times_when_send_async_failed
            ),
            (2, 2)
        );
        assert_eq!(c.max_message_size, 4 * 1024 * 1024);
        assert_eq!((c.compress_threshold, c.compress_level), (4096, 5));
        assert_eq!(c.create_topic_key, "TBW102");
        assert_eq!(c.default_topic_queue_nums, 4);
        assert!(!c.send_latency_fault_enable && !c.vip_channel_enabled);
        assert!(!c.retry_another_broker_when_not_store_ok);
        assert_eq!(c.retry_response_codes.len(), 8);
        assert!(c.retry_response_codes.contains(&response::GO_AWAY));
        assert!(!c.retry_response_codes.contains(&response::MESSAGE_ILLEGAL));
    }

    #[test]
    fn name_servers_come_from_namesrv_addr_when_unset() {
        assert_eq!(
            name_servers_from_env(Some(" 127.0.0.1:9876;;127.0.0.2:9876 ")),
            ["127.0.0.1:9876", "127.0.0.2:9876"]
        );
        assert!(name_servers_from_env(None).is_empty());
        // Set ones are kept whatever the environment says.
        let p = ProducerBuilder::new("pg")
            .name_server("127.0.0.3:9876")
            .build();
        assert_eq!(
            p.map(|p| p.config().name_servers.clone()).ok(),
            Some(vec!["127.0.0.3:9876".to_owned()])
        );
    }

    #[test]
    fn bad_configuration_is_a_typed_error() {
        for (builder, what) in [
            (ProducerBuilder::new("DEFAULT_PRODUCER"), "DEFAULT_PRODUCER"),
            (ProducerBuilder::new(""), "blank"),
            (ProducerBuilder::new("pg.1"), "illegal characters"),
            (
                ProducerBuilder::new("pg").send_timeout(Duration::ZERO),
                "send_timeout",
            ),
            (ProducerBuilder::new("pg").async_permits(0), "async_permits"),
            (ProducerBuilder::new("pg").namespace("bad ns"), "namespace"),
            (ProducerBuilder::new("pg").instance_name("a\nb"), "control"),
            (
                ProducerBuilder::new("pg").compress_level(10),
                "compress_level",
            ),
            (
                ProducerBuilder::new("pg")
                    .compress_type(CompressionType::Zstd)
                    .compress_level(100),
                "compress_level",
            ),
        ] {
            let err = builder.build().expect_err(what);
            assert!(err.to_string().contains(what), "{what}: {err}");
        }
    }
}

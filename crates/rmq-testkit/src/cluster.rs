//! The cluster: one name server and its brokers on loopback (Java: a `NamesrvStartup` plus
//! `BrokerStartup` deployment, in one process).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rmq_remoting::ServerHandle;
use rmq_remoting::acl::AclSigner;
use rmq_remoting::body::TopicRouteData;

use crate::broker::{BrokerSettings, TestBroker};
use crate::route::RouteRegistry;
use crate::store::now_ms;
use crate::topic::{DEFAULT_CLUSTER, DEFAULT_TOPIC_PERM};
use crate::{TestkitError, namesrv};

/// Messages each broker retains unless configured otherwise.
pub const DEFAULT_MAX_STORED_MESSAGES: usize = 100_000;

/// Settings of a [`TestCluster`]; [`start`](Self::start) launches it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), rmq_testkit::TestkitError> {
/// let cluster = rmq_testkit::TestCluster::builder()
///     .brokers(2)
///     .auto_create_topics(false)
///     .topic("TopicTest", 4)
///     .start()
///     .await?;
/// assert_eq!(cluster.brokers().len(), 2);
/// let route = cluster.route("TopicTest").expect("created on both brokers");
/// assert_eq!(route.queue_datas.len(), 2);
/// assert!(cluster.route("TBW102").is_none());
/// cluster.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TestClusterBuilder {
    brokers: usize,
    legacy_route_json: bool,
    auto_create_topics: bool,
    topics: Vec<(String, u32)>,
    static_topics: Vec<(String, u32)>,
    cluster_name: String,
    namesrv_port: u16,
    max_stored_messages: usize,
    acl: Option<AclSigner>,
    tls: bool,
    transaction_check_interval: Option<Duration>,
    transaction_check_max: u32,
    recall: bool,
}

impl Default for TestClusterBuilder {
    fn default() -> Self {
        Self {
            brokers: 1,
            legacy_route_json: false,
            auto_create_topics: true,
            topics: Vec::new(),
            static_topics: Vec::new(),
            cluster_name: DEFAULT_CLUSTER.to_owned(),
            namesrv_port: 0,
            max_stored_messages: DEFAULT_MAX_STORED_MESSAGES,
            acl: None,
            tls: false,
            transaction_check_interval: None,
            transaction_check_max: crate::transaction::DEFAULT_MAX_CHECKS,
            recall: true,
        }
    }
}

impl TestClusterBuilder {
    /// Brokers to start, named `broker-a`, `broker-b`, … (1).
    pub fn brokers(mut self, n: usize) -> Self {
        self.brokers = n;
        self
    }

    /// Answer every route query in the pre-4.9.4 dialect with unquoted integer keys
    /// (`{0:"addr"}`), whatever the request's version (false: standard JSON for versions
    /// from 401 or with `acceptStandardJsonOnly=true`, as 4.9.8 does).
    pub fn legacy_route_json(mut self, legacy: bool) -> Self {
        self.legacy_route_json = legacy;
        self
    }

    /// Brokers hold `TBW102` (perm 7, 8 queues), so routes for it exist and sends to unknown
    /// topics create them (Java: `autoCreateTopicEnable`) (true).
    pub fn auto_create_topics(mut self, enabled: bool) -> Self {
        self.auto_create_topics = enabled;
        self
    }

    /// Creates `topic` on every initial broker with `queues` read and write queues, perm 6.
    pub fn topic(mut self, topic: impl Into<String>, queues: u32) -> Self {
        self.topics.push((topic.into(), queues));
        self
    }

    /// Creates the static topic `topic` with `logical_queues` logical queues spread over the
    /// initial brokers, as [`TestCluster::create_static_topic`] does.
    pub fn static_topic(mut self, topic: impl Into<String>, logical_queues: u32) -> Self {
        self.static_topics.push((topic.into(), logical_queues));
        self
    }

    /// The brokers' cluster name (`DefaultCluster`).
    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_name = name.into();
        self
    }

    /// A fixed name-server port (0, any free port).
    pub fn namesrv_port(mut self, port: u16) -> Self {
        self.namesrv_port = port;
        self
    }

    /// Messages each broker keeps for inspection; older ones are forgotten (100 000).
    pub fn max_stored_messages(mut self, n: usize) -> Self {
        self.max_stored_messages = n.max(1);
        self
    }

    /// Brokers check every request's ACL signature (Java's plain ACL): it must carry
    /// `access_key` and a signature made with `secret_key`, or it is refused with code 16
    /// (`NO_PERMISSION`) and a remark saying what was wrong. The name server stays open, as
    /// Java 4.9.8's does.
    ///
    /// # Panics
    ///
    /// If either key is empty.
    pub fn acl(mut self, access_key: &str, secret_key: &str) -> Self {
        self.acl = Some(AclSigner::new(access_key, secret_key).expect("non-empty ACL keys"));
        self
    }

    /// The name server and brokers speak TLS only, with a certificate for `127.0.0.1` and
    /// `localhost` from a CA made at start ([`TestCluster::tls_ca_pem`] gives it to clients).
    pub fn tls(mut self, enabled: bool) -> Self {
        self.tls = enabled;
        self
    }

    /// Brokers check half messages left undecided for `interval`, every `interval`, with a
    /// connection of the producer group that sent them (Java: `transactionCheckInterval` and
    /// `transactionTimeOut`), at most 15 times each (off: never).
    pub fn transaction_check_interval(mut self, interval: Duration) -> Self {
        self.transaction_check_interval = Some(interval);
        self
    }

    /// Checks of one half message before it is dropped, never to be delivered (Java:
    /// `transactionCheckMax`, 15).
    pub fn transaction_check_max(mut self, checks: u32) -> Self {
        self.transaction_check_max = checks;
        self
    }

    /// Brokers answer RECALL_MESSAGE as a 5.3.2+ broker does (true); with `false` the request
    /// is unknown to them, as to a 4.x broker (code 3, REQUEST_CODE_NOT_SUPPORTED).
    pub fn recall(mut self, supported: bool) -> Self {
        self.recall = supported;
        self
    }

    /// Starts the name server, then the brokers, all on `127.0.0.1`.
    pub async fn start(self) -> Result<TestCluster, TestkitError> {
        let registry = Arc::new(RouteRegistry::default());
        let certificates = if self.tls {
            Some(crate::tls::Certificates::generate()?)
        } else {
            None
        };
        let server_tls = certificates.as_ref().map(|c| c.server.clone());
        let namesrv = namesrv::start(
            registry.clone(),
            self.legacy_route_json,
            self.namesrv_port,
            server_tls.clone(),
        )
        .await?;
        let settings = BrokerSettings {
            cluster: self.cluster_name,
            auto_create_topics: self.auto_create_topics,
            max_stored_messages: self.max_stored_messages,
            acl: self.acl,
            tls: server_tls,
            transaction_check_interval: self.transaction_check_interval,
            transaction_check_max: self.transaction_check_max,
            recall: self.recall,
        };
        let mut brokers = Vec::with_capacity(self.brokers);
        for i in 0..self.brokers {
            let name = broker_name(i);
            brokers
                .push(TestBroker::start(&name, &settings, registry.clone(), &self.topics).await?);
        }
        let cluster = TestCluster {
            namesrv_addr: namesrv.local_addr(),
            namesrv: Some(namesrv),
            ca_pem: certificates.map(|c| c.ca_pem),
            registry,
            settings,
            brokers: Mutex::new(brokers),
            adding: tokio::sync::Mutex::new(()),
        };
        for (topic, logical_queues) in &self.static_topics {
            cluster.create_static_topic(topic, *logical_queues);
        }
        Ok(cluster)
    }
}

/// `broker-a` … `broker-z`, `broker-aa`, `broker-ab`, …
fn broker_name(mut i: usize) -> String {
    let mut suffix = Vec::new();
    loop {
        suffix.push(char::from(b'a' + (i % 26) as u8));
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    suffix
        .iter()
        .rev()
        .fold(String::from("broker-"), |mut name, c| {
            name.push(*c);
            name
        })
}

/// A running name server and its brokers. Dropping it closes every socket at once;
/// [`shutdown`](Self::shutdown) does the same and waits for it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use rmq_remoting::{RemotingClient, RemotingCommand, code::{request, response}};
/// use rmq_remoting::body::TopicRouteData;
/// use rmq_remoting::header::GetRouteInfoRequestHeader;
///
/// let cluster = rmq_testkit::TestCluster::builder().brokers(2).topic("TopicTest", 4).start().await?;
/// let client = RemotingClient::builder().name_servers([cluster.namesrv_addr()]).build()?;
/// let query = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
///     .with_header(GetRouteInfoRequestHeader::new("TopicTest"));
/// let answer = client.invoke_name_server(query, Duration::from_secs(3)).await?;
/// assert_eq!(answer.code(), response::SUCCESS);
/// let route = TopicRouteData::from_json(answer.body())?;
/// assert_eq!(route.broker_datas.len(), 2);
/// cluster.shutdown().await;
/// # Ok(()) }
/// ```
pub struct TestCluster {
    namesrv: Option<ServerHandle>,
    namesrv_addr: SocketAddr,
    registry: Arc<RouteRegistry>,
    settings: BrokerSettings,
    brokers: Mutex<Vec<TestBroker>>,
    /// Serializes `add_broker`, so two calls cannot start brokers of one name.
    adding: tokio::sync::Mutex<()>,
    ca_pem: Option<String>,
}

impl TestCluster {
    /// A builder: one broker, auto-create on, standard route JSON.
    pub fn builder() -> TestClusterBuilder {
        TestClusterBuilder::default()
    }

    /// The name server's address, `127.0.0.1:port`.
    pub fn namesrv_addr(&self) -> String {
        self.namesrv_addr.to_string()
    }

    /// With [`TestClusterBuilder::tls`], the PEM of the CA that signed the servers'
    /// certificate, for clients to trust.
    pub fn tls_ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Every broker, in the order they were added.
    pub fn brokers(&self) -> Vec<TestBroker> {
        self.brokers.lock().clone()
    }

    /// The broker named `name`.
    pub fn broker(&self, name: &str) -> Option<TestBroker> {
        self.brokers
            .lock()
            .iter()
            .find(|b| b.name() == name)
            .cloned()
    }

    /// Starts another broker in the cluster. It holds `TBW102` when auto-create is on but not
    /// the builder's topics, so it joins a topic's route once the topic is created on it
    /// (by [`create_topic`](Self::create_topic), [`TestBroker::create_topic`] or auto-create).
    pub async fn add_broker(&self, name: &str) -> Result<TestBroker, TestkitError> {
        let _adding = self.adding.lock().await;
        if self.broker(name).is_some() {
            return Err(TestkitError::DuplicateBroker(name.to_owned()));
        }
        let broker = TestBroker::start(name, &self.settings, self.registry.clone(), &[]).await?;
        self.brokers.lock().push(broker.clone());
        Ok(broker)
    }

    /// Creates `topic` on every broker (stopped ones included) with `queues` read and write
    /// queues, perm 6.
    pub fn create_topic(&self, topic: &str, queues: u32) {
        for broker in self.brokers() {
            broker.create_topic(topic, queues, DEFAULT_TOPIC_PERM);
        }
    }

    /// Creates the static topic `topic` (5.x logical queues) with `logical_queues` logical
    /// queues spread round-robin over every broker (stopped ones included) in the order they
    /// were added: logical queue `i` is led by broker `i % n`, so with brokers a and b and 4
    /// queues, a leads 0 and 2 and b leads 1 and 3. Every broker gets one mapping epoch, the
    /// current time in milliseconds, or 1000 past the topic's newest epoch if that is later
    /// (Java: `TopicQueueMappingUtils.createTopicConfigMapping`). Brokers that get no
    /// logical queue are left alone. See [`TestBroker::create_static_topic`] for what each
    /// broker then holds, registers and answers.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), rmq_testkit::TestkitError> {
    /// let cluster = rmq_testkit::TestCluster::builder().brokers(2).start().await?;
    /// cluster.create_static_topic("Static", 4);
    /// let route = cluster.route("Static").expect("created");
    /// let mapping = route.topic_queue_mapping_by_broker.expect("a static topic");
    /// assert_eq!(mapping["broker-a"].curr_id_map, [(0, 0), (2, 1)].into());
    /// assert_eq!(mapping["broker-b"].curr_id_map, [(1, 0), (3, 1)].into());
    /// assert_eq!(mapping["broker-b"].total_queues, 4);
    /// cluster.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn create_static_topic(&self, topic: &str, logical_queues: u32) {
        let brokers = self.brokers();
        if brokers.is_empty() {
            return;
        }
        let newest = brokers
            .iter()
            .filter_map(|b| b.queue_mapping(topic))
            .map(|m| m.epoch)
            .max();
        let epoch = newest.map_or(now_ms(), |e| now_ms().max(e.saturating_add(1000)));
        let n = brokers.len();
        for (i, broker) in brokers.iter().enumerate() {
            let leads: Vec<u32> = (0..logical_queues).skip(i).step_by(n).collect();
            if !leads.is_empty() {
                broker.create_static_topic(topic, logical_queues, &leads, epoch);
            }
        }
    }

    /// The route the name server would answer for `topic` now; `None` when it would answer
    /// `TOPIC_NOT_EXIST`.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        self.registry.route(topic)
    }

    /// The brokers' cluster name.
    pub fn cluster_name(&self) -> &str {
        &self.settings.cluster
    }

    /// Stops every broker, then the name server.
    pub async fn shutdown(mut self) {
        for broker in self.brokers() {
            broker.stop().await;
        }
        if let Some(namesrv) = self.namesrv.take() {
            namesrv.shutdown(Duration::ZERO).await;
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for broker in self.brokers.get_mut().iter() {
            broker.kill();
        }
    }
}

impl fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCluster")
            .field("namesrv_addr", &self.namesrv_addr)
            .field("cluster", &self.settings.cluster)
            .field("brokers", &*self.brokers.lock())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_names_continue_past_z() {
        let names: Vec<_> = [0, 1, 25, 26, 27, 51, 52, 701, 702]
            .into_iter()
            .map(broker_name)
            .collect();
        assert_eq!(
            names,
            [
                "broker-a",
                "broker-b",
                "broker-z",
                "broker-aa",
                "broker-ab",
                "broker-az",
                "broker-ba",
                "broker-zz",
                "broker-aaa"
            ]
        );
    }
}

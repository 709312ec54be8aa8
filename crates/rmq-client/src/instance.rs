//! The client instance producers share (Java: `MQClientInstance`, `MQClientManager`,
//! `MQClientAPIImpl`).
//!
//! Producers with the same client id (`ip@instanceName`) share one instance: one remoting
//! client, one route table, one set of background tasks (route refresh, heartbeats). The
//! instance lives while a producer uses it and stops when the last one shuts down.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rmq_common::ByteString;
use rmq_common::validators::CLIENT_INNER_PRODUCER_GROUP;
use rmq_remoting::body::{HeartbeatData, MASTER_ID, TopicRouteData};
use rmq_remoting::code::{request, response};
use rmq_remoting::header::{
    EndTransactionRequestHeader, GetRouteInfoRequestHeader, UnregisterClientRequestHeader,
};
use rmq_remoting::{Channel, RemotingClient, RemotingCommand, RpcHook};
use rustc_hash::FxHashMap;
use tokio_util::sync::CancellationToken;

use crate::config::ProducerConfig;
use crate::producer::ProducerInner;
use crate::request::ReplyTable;
use crate::transport::{Link, Transport};
use crate::{Error, Result};

/// Instances by client id (Java: `MQClientManager.factoryTable`).
static INSTANCES: LazyLock<Mutex<HashMap<String, Weak<ClientInstance>>>> =
    LazyLock::new(Mutex::default);

/// Settings the instance takes from the first producer that creates it, as Java does.
#[derive(Clone, Debug)]
struct InstanceConfig {
    api_timeout: Duration,
    heartbeat_interval: Duration,
    poll_interval: Duration,
    version: i32,
    language: rmq_remoting::LanguageCode,
    serialize_type: rmq_remoting::SerializeType,
}

/// A client instance (Java: `MQClientInstance`).
#[derive(Debug)]
pub(crate) struct ClientInstance {
    client_id: String,
    config: InstanceConfig,
    remoting: RemotingClient,
    /// Where requests go: `remoting` itself, or a test's fake.
    transport: Link,
    routes: RwLock<FxHashMap<String, Arc<TopicRouteData>>>,
    /// Broker addresses by broker name and id (Java: `brokerAddrTable`).
    /// Broker name → broker id → address; addresses shared, as every send reads one.
    brokers: RwLock<FxHashMap<String, BTreeMap<i64, ByteString>>>,
    producers: Mutex<HashMap<String, Weak<ProducerInner>>>,
    /// Serializes name-server route updates (Java: `lockNamesrv`).
    route_update: tokio::sync::Mutex<()>,
    /// Requests waiting for their replies.
    replies: Arc<ReplyTable>,
    stop: CancellationToken,
}

impl ClientInstance {
    /// Joins the instance for `client_id` (creating and starting it if needed) and registers
    /// `group` on it (Java: `getOrCreateMQClientInstance` + `registerProducer`). Both happen
    /// under the registry lock, so a concurrent last-producer shutdown can never stop an
    /// instance a new producer has just joined.
    pub(crate) fn join(
        client_id: &str,
        config: &ProducerConfig,
        group: &str,
        producer: Weak<ProducerInner>,
        rpc_hooks: &[Arc<dyn RpcHook>],
        transport: Option<Arc<dyn Transport>>,
    ) -> Result<Arc<Self>> {
        let mut instances = INSTANCES.lock();
        let instance = match instances.get(client_id).and_then(Weak::upgrade) {
            Some(instance) if !instance.stop.is_cancelled() => {
                // Java: only the producer that creates the instance brings its RPC hook; a
                // hook added here would also sign the other producers' requests, and stay
                // after this one left.
                if !rpc_hooks.is_empty() || config.credentials.is_some() {
                    tracing::warn!(
                        %client_id,
                        "RPC hooks and credentials of a producer joining an existing client instance are ignored; give each producer its own instance_name to use its own"
                    );
                }
                instance
            }
            _ => {
                let instance = Self::create(client_id, config, rpc_hooks, transport)?;
                instances.retain(|_, weak| weak.strong_count() > 0);
                instances.insert(client_id.to_owned(), Arc::downgrade(&instance));
                instance
            }
        };
        instance.register_producer(group, producer)?;
        Ok(instance)
    }

    fn create(
        client_id: &str,
        config: &ProducerConfig,
        rpc_hooks: &[Arc<dyn RpcHook>],
        transport: Option<Arc<dyn Transport>>,
    ) -> Result<Arc<Self>> {
        let mut builder = RemotingClient::builder()
            .name_servers(config.name_servers.clone())
            .async_permits(config.async_permits)
            .oneway_permits(config.oneway_permits);
        if let Some(signer) = &config.credentials {
            builder = builder.request_signer(signer.clone());
        }
        if let Some(tls) = &config.tls {
            builder = builder.tls(tls.clone());
        }
        let remoting = builder.build().map_err(|e| Error::Config(e.to_string()))?;
        // Installed before the background tasks start, so no request leaves without them.
        for hook in rpc_hooks {
            remoting.register_shared_rpc_hook(hook.clone());
        }
        let transport = match transport {
            Some(other) => Link::Other(other),
            None => Link::Remoting(remoting.clone()),
        };
        let instance = Arc::new(ClientInstance {
            client_id: client_id.to_owned(),
            config: InstanceConfig {
                api_timeout: config.client_api_timeout,
                heartbeat_interval: config.heartbeat_interval,
                poll_interval: config.poll_name_server_interval,
                version: config.remoting_version,
                language: config.language,
                serialize_type: config.serialize_type,
            },
            remoting,
            transport,
            routes: RwLock::default(),
            brokers: RwLock::default(),
            producers: Mutex::default(),
            route_update: tokio::sync::Mutex::new(()),
            replies: Arc::default(),
            stop: CancellationToken::new(),
        });
        instance.register_broker_requests();
        instance.spawn_background_tasks();
        Ok(instance)
    }

    pub(crate) fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    pub(crate) fn transport(&self) -> &Link {
        &self.transport
    }

    /// Requests waiting for their replies.
    pub(crate) fn replies(&self) -> &Arc<ReplyTable> {
        &self.replies
    }

    /// Registers a producer group (Java: `registerProducer`); one per group per instance.
    fn register_producer(&self, group: &str, producer: Weak<ProducerInner>) -> Result<()> {
        let mut producers = self.producers.lock();
        if producers.get(group).is_some_and(|p| p.strong_count() > 0) {
            return Err(Error::GroupInUse {
                group: group.to_owned(),
                client_id: self.client_id.clone(),
            });
        }
        producers.insert(group.to_owned(), producer);
        Ok(())
    }

    /// Unregisters a producer group, tells every broker, and stops the instance when no
    /// producer is left (Java: `unregisterProducer`, `unregisterClient`, `shutdown`).
    ///
    /// Whether this was the last producer is decided under the registry lock, where the
    /// instance is also retired, so no new producer can join it in the meantime.
    pub(crate) async fn unregister_producer(&self, group: &str) {
        let last = {
            let mut instances = INSTANCES.lock();
            let mut producers = self.producers.lock();
            producers.remove(group);
            producers.retain(|_, p| p.strong_count() > 0);
            let last = producers.is_empty();
            if last {
                self.stop.cancel();
                if instances
                    .get(&self.client_id)
                    .is_some_and(|weak| std::ptr::eq(weak.as_ptr(), self))
                {
                    instances.remove(&self.client_id);
                }
            }
            last
        };
        self.unregister_client(group).await;
        if last {
            self.shutdown_transport();
        }
    }

    fn request(&self, code: i32) -> RemotingCommand {
        RemotingCommand::request(code)
            .with_version(self.config.version)
            .with_language(self.config.language)
            .with_serialize_type(self.config.serialize_type)
    }

    /// The route of `topic` from a name server; `None` when the name server does not know the
    /// topic (Java: `getTopicRouteInfoFromNameServer`).
    pub(crate) async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        if !self.transport.has_name_servers() {
            return Err(Error::NoNameServer);
        }
        let cmd = self
            .request(request::GET_ROUTEINFO_BY_TOPIC)
            .with_header(GetRouteInfoRequestHeader::new(topic));
        let response = self
            .transport
            .invoke_name_server(cmd, self.config.api_timeout)
            .await
            .map_err(|e| match e.kind() {
                rmq_remoting::ErrorKind::Connect
                | rmq_remoting::ErrorKind::ConnectionClosed
                | rmq_remoting::ErrorKind::SendRequest
                | rmq_remoting::ErrorKind::Timeout => Error::NameServerUnreachable(e),
                _ => Error::Remoting(e),
            })?;
        match response.code() {
            response::SUCCESS => TopicRouteData::from_json(response.body())
                .map(Some)
                .map_err(|e| Error::MalformedResponse {
                    what: "route body",
                    addr: "name server".into(),
                    detail: e.to_string(),
                }),
            response::TOPIC_NOT_EXIST => Ok(None),
            code => Err(Error::NameServer {
                code,
                remark: response.remark().unwrap_or_default().to_owned(),
            }),
        }
    }

    /// Refreshes `topic` from the name servers, or from `default_from` (the create-topic key,
    /// with queue counts capped) when given; updates every producer's publish info. Returns
    /// whether a route was found (Java: `updateTopicRouteInfoFromNameServer`).
    pub(crate) async fn update_route(
        &self,
        topic: &str,
        default_from: Option<(&str, i32)>,
    ) -> Result<bool> {
        let _guard = self.route_update.lock().await;
        let route = match default_from {
            None => self.fetch_route(topic).await?,
            Some((key, nums)) => self
                .fetch_route(key)
                .await?
                .map(|route| crate::route::default_route_for_auto_create(route, nums)),
        };
        let Some(route) = route else {
            return Ok(false);
        };
        let route = Arc::new(route);
        let changed = self
            .routes
            .read()
            .get(topic)
            .is_none_or(|old| **old != *route);
        metrics::counter!(
            crate::observe::ROUTE_UPDATES,
            "topic" => topic.to_owned(),
            "changed" => if changed { "true" } else { "false" }
        )
        .increment(1);
        if changed {
            tracing::info!(
                topic,
                brokers = route.broker_datas.len(),
                queues = route
                    .queue_datas
                    .iter()
                    .map(|q| q.write_queue_nums)
                    .sum::<i32>(),
                "route changed"
            );
        }
        // Brokers new to this route learn of the producer from the next scheduled heartbeat,
        // as in Java: a route update never waits on a broker.
        self.merge_brokers(&route);
        self.routes.write().insert(topic.to_owned(), route.clone());
        for producer in self.live_producers() {
            producer.update_publish_info(topic, &route, changed);
        }
        Ok(true)
    }

    /// Adds the route's broker addresses (Java: the `brokerAddrTable` update).
    fn merge_brokers(&self, route: &TopicRouteData) {
        let mut brokers = self.brokers.write();
        for bd in &route.broker_datas {
            let addrs = bd
                .broker_addrs
                .iter()
                .map(|(id, addr)| (*id, ByteString::from(addr.as_str())))
                .collect();
            brokers.insert(bd.broker_name.clone(), addrs);
        }
    }

    /// The master address of `broker` (Java: `findBrokerAddressInPublish`).
    pub(crate) fn master_addr(&self, broker: &str) -> Option<ByteString> {
        self.brokers.read().get(broker)?.get(&MASTER_ID).cloned()
    }

    /// The producer of `group` (namespace applied), if it lives here.
    pub(crate) fn producer(&self, group: &str) -> Option<Arc<ProducerInner>> {
        self.producers.lock().get(group).and_then(Weak::upgrade)
    }

    /// Sends a request with `header` to `addr` and waits for the answer.
    pub(crate) async fn invoke(
        &self,
        addr: &str,
        code: i32,
        header: impl rmq_remoting::header::CommandHeader,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        let cmd = self.request(code).with_header(header);
        self.transport
            .invoke_sync(addr, cmd, timeout)
            .await
            .map_err(Error::Remoting)
    }

    /// Sends END_TRANSACTION oneway to `addr` (Java: `MQClientAPIImpl.endTransactionOneway`).
    pub(crate) async fn end_transaction(
        &self,
        addr: &str,
        header: EndTransactionRequestHeader,
        remark: Option<String>,
        timeout: Duration,
    ) -> Result<()> {
        let mut cmd = self.request(request::END_TRANSACTION).with_header(header);
        if let Some(remark) = remark {
            cmd = cmd.with_remark(remark);
        }
        self.transport
            .invoke_oneway(addr, cmd, timeout)
            .await
            .map_err(Error::Remoting)
    }

    fn live_producers(&self) -> Vec<Arc<ProducerInner>> {
        self.producers
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .collect()
    }

    fn heartbeat_data(&self) -> HeartbeatData {
        let mut groups = vec![CLIENT_INNER_PRODUCER_GROUP.to_owned()];
        groups.extend(self.live_producers().iter().map(|p| p.group().to_owned()));
        HeartbeatData::for_producers(self.client_id.clone(), groups)
    }

    async fn heartbeat_to(&self, addr: &str) {
        let body = self.heartbeat_data().to_json();
        let cmd = self.request(request::HEART_BEAT).with_body(body);
        match self
            .transport
            .invoke_sync(addr, cmd, self.config.api_timeout)
            .await
        {
            Ok(r) if r.code() == response::SUCCESS => {}
            Ok(r) => {
                tracing::warn!(%addr, code = r.code(), remark = ?r.remark(), "heartbeat refused")
            }
            Err(e) => tracing::warn!(%addr, error = %e, "heartbeat failed"),
        }
    }

    /// Sends a heartbeat to every master broker (Java: `sendHeartbeatToAllBroker`; a
    /// producer-only client skips slaves).
    pub(crate) async fn heartbeat_all(&self) {
        let masters: Vec<ByteString> = self
            .brokers
            .read()
            .values()
            .filter_map(|addrs| addrs.get(&MASTER_ID).cloned())
            .collect();
        let beats = masters.iter().map(|addr| self.heartbeat_to(addr));
        futures_util::future::join_all(beats).await;
    }

    /// Tells every known broker address that `group` left (Java: `unregisterClient`).
    async fn unregister_client(&self, group: &str) {
        let addrs: Vec<ByteString> = self
            .brokers
            .read()
            .values()
            .flat_map(|addrs| addrs.values().cloned())
            .collect();
        let calls = addrs.iter().map(|addr| async move {
            let cmd = self.request(request::UNREGISTER_CLIENT).with_header(
                UnregisterClientRequestHeader::producer(&self.client_id, group),
            );
            match self
                .transport
                .invoke_sync(addr, cmd, self.config.api_timeout)
                .await
            {
                Ok(r) if r.code() == response::SUCCESS => {}
                Ok(r) => tracing::warn!(%addr, code = r.code(), "unregister refused"),
                Err(e) => tracing::warn!(%addr, error = %e, "unregister failed"),
            }
        });
        futures_util::future::join_all(calls).await;
    }

    /// Refreshes every topic any producer uses, then forgets brokers no route names
    /// (Java: `updateTopicRouteInfoFromNameServer`, `cleanOfflineBroker`).
    ///
    /// As in Java 4.9.8, each producer's create-topic key (`TBW102`) is refreshed too: its
    /// route names every broker that can take new topics, so the scheduled heartbeat (the
    /// first one second after start) reaches them before the producer's first send to them.
    async fn refresh_all_routes(&self) {
        let producers = self.live_producers();
        let topics: HashSet<String> = producers
            .iter()
            .flat_map(|p| {
                let mut topics = p.topics();
                topics.push(p.config.create_topic_key.clone());
                topics
            })
            .collect();
        for topic in &topics {
            if let Err(e) = self.update_route(topic, None).await {
                tracing::debug!(%topic, error = %e, "route refresh failed");
            }
        }
        // Under the route lock (Java: `cleanOfflineBroker` holds `lockNamesrv`): a route
        // installed meanwhile cannot lose the brokers it just added.
        let _guard = self.route_update.lock().await;
        let routes = self.routes.read();
        let named: HashSet<&str> = routes
            .iter()
            .filter(|(topic, _)| topics.contains(*topic))
            .flat_map(|(_, r)| r.broker_datas.iter().map(|b| b.broker_name.as_str()))
            .collect();
        self.brokers
            .write()
            .retain(|name, _| named.contains(name.as_str()));
    }

    fn spawn_background_tasks(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let stop = self.stop.clone();
        let poll = self.config.poll_interval;
        tokio::spawn(periodic(
            weak.clone(),
            stop.clone(),
            Duration::from_millis(10),
            poll,
            |i| Box::pin(async move { i.refresh_all_routes().await }),
        ));
        let beat = self.config.heartbeat_interval;
        tokio::spawn(periodic(weak, stop, Duration::from_secs(1), beat, |i| {
            Box::pin(async move { i.heartbeat_all().await })
        }));
    }

    /// Answers what brokers ask a producer-only client (Java: `ClientRemotingProcessor`).
    fn register_broker_requests(self: &Arc<Self>) {
        let instance = Arc::downgrade(self);
        self.remoting.register_processor(
            request::CHECK_TRANSACTION_STATE,
            move |channel: Channel, req: RemotingCommand| {
                if let Some(instance) = instance.upgrade() {
                    crate::transaction::receive(&instance, channel.addr_shared(), &req);
                }
                std::future::ready(None)
            },
        );
        let replies = self.replies.clone();
        self.remoting.register_processor(
            request::PUSH_REPLY_MESSAGE_TO_CLIENT,
            move |channel: Channel, req: RemotingCommand| {
                let replies = replies.clone();
                async move {
                    let from = channel.addr_shared().clone();
                    Some(crate::request::receive(replies, from, req).await)
                }
            },
        );
        // No consumer lives here; Java answers SYSTEM_ERROR naming the group asked about.
        self.remoting.register_processor(
            request::GET_CONSUMER_RUNNING_INFO,
            |_: Channel, req: RemotingCommand| async move {
                let asked = req
                    .ext_field("consumerGroup")
                    .unwrap_or_default()
                    .to_owned();
                Some(
                    RemotingCommand::response(response::SYSTEM_ERROR).with_remark(format!(
                        "The Consumer Group <{asked}> not exist in this consumer"
                    )),
                )
            },
        );
        // A oneway notice: nothing to do without consumers.
        self.remoting.register_processor(
            request::NOTIFY_CONSUMER_IDS_CHANGED,
            |channel: Channel, req: RemotingCommand| async move {
                tracing::debug!(addr = %channel.addr(), code = req.code(), "ignoring broker notice");
                None
            },
        );
    }
}

/// Runs `work` on the instance every `period`, first after `first`, until it is stopped or
/// dropped.
async fn periodic<F>(
    instance: Weak<ClientInstance>,
    stop: CancellationToken,
    first: Duration,
    period: Duration,
    work: F,
) where
    F: Fn(Arc<ClientInstance>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
{
    let mut delay = first;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        let Some(instance) = instance.upgrade() else {
            return;
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = work(instance) => {}
        }
        delay = period;
    }
}

impl ClientInstance {
    fn shutdown_transport(&self) {
        self.replies.clear();
        self.transport.shutdown();
        if matches!(self.transport, Link::Other(_)) {
            self.remoting.shutdown();
        }
    }
}

impl Drop for ClientInstance {
    fn drop(&mut self) {
        self.stop.cancel();
        self.shutdown_transport();
    }
}

//! A transport that answers from memory, for the send path's unit tests: two brokers whose
//! behaviour each test sets, a name server that knows every topic, and a record of what was
//! asked. Time is tokio's, so tests can pause it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use rmq_remoting::body::{BrokerData, QueueData, TopicRouteData};
use rmq_remoting::code::{request, response};
use rmq_remoting::header::{SendMessageRequestHeader, SendMessageResponseHeader};
use rmq_remoting::{ErrorKind, RemotingCommand, RemotingError};

use crate::transport::{BoxFuture, Reply, ReplyCallback, Transport};

/// Broker A's address.
pub(crate) const A: &str = "127.0.0.1:1";
/// Broker B's address.
pub(crate) const B: &str = "127.0.0.1:2";

/// How a broker answers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Behaviour {
    /// Stores the message and answers after this long.
    Answer(Duration),
    /// Answers this response code after a millisecond.
    Code(i32),
    /// Fails with this kind after this long.
    Fail(ErrorKind, Duration),
    /// Never answers (a black hole): requests time out.
    Silent,
}

/// A request a broker received.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) addr: String,
    pub(crate) code: i32,
    pub(crate) header: Option<SendMessageRequestHeader>,
    pub(crate) ext: Option<rmq_remoting::ExtFields>,
    pub(crate) remark: Option<String>,
    pub(crate) body: Bytes,
}

#[derive(Debug)]
pub(crate) struct FakeTransport {
    brokers: Mutex<BTreeMap<&'static str, Behaviour>>,
    pub(crate) seen: Mutex<Vec<Seen>>,
    offsets: AtomicI32,
    /// How long the name server takes to answer.
    route_delay: Mutex<Duration>,
}

impl FakeTransport {
    /// Both brokers answering at once.
    pub(crate) fn new() -> Arc<Self> {
        let answer = Behaviour::Answer(Duration::from_millis(1));
        Arc::new(Self {
            brokers: Mutex::new([(A, answer), (B, answer)].into_iter().collect()),
            seen: Mutex::default(),
            offsets: AtomicI32::new(0),
            route_delay: Mutex::default(),
        })
    }

    pub(crate) fn set(&self, addr: &'static str, behaviour: Behaviour) {
        self.brokers.lock().insert(addr, behaviour);
    }

    /// Makes the name server take `delay` to answer.
    pub(crate) fn set_route_delay(&self, delay: Duration) {
        *self.route_delay.lock() = delay;
    }

    /// The send requests seen so far.
    pub(crate) fn sends(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .iter()
            .filter(|s| s.header.is_some())
            .cloned()
            .collect()
    }

    /// How many requests of `code` were seen.
    pub(crate) fn count(&self, code: i32) -> usize {
        self.seen.lock().iter().filter(|s| s.code == code).count()
    }

    fn route() -> TopicRouteData {
        let broker = |name: &str, addr: &str| BrokerData {
            broker_addrs: [(0, addr.to_owned())].into_iter().collect(),
            broker_name: name.to_owned(),
            cluster: "DefaultCluster".to_owned(),
            ..BrokerData::default()
        };
        let queues = |name: &str| QueueData {
            broker_name: name.to_owned(),
            perm: 6,
            read_queue_nums: 2,
            write_queue_nums: 2,
            topic_sys_flag: 0,
        };
        TopicRouteData {
            broker_datas: vec![broker("broker-a", A), broker("broker-b", B)],
            queue_datas: vec![queues("broker-a"), queues("broker-b")],
            ..TopicRouteData::default()
        }
    }

    /// Records `cmd` and works out its answer as `addr` would give it.
    fn answer(
        &self,
        addr: &str,
        cmd: &RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'static, Reply> {
        let header = cmd
            .ext_fields()
            .and_then(|ext| SendMessageRequestHeader::read_for_code(cmd.code(), ext).ok());
        let queue_id = header.as_ref().map_or(0, |h| h.queue_id);
        self.seen.lock().push(Seen {
            addr: addr.to_owned(),
            code: cmd.code(),
            header,
            ext: cmd.ext_fields().cloned(),
            remark: cmd.remark().map(str::to_owned),
            body: cmd.body().clone(),
        });
        let behaviour = self.brokers.lock().get(addr).copied();
        // A batch takes an offset per message, and its answer names each (as brokers do).
        let entries = if cmd.code() == request::SEND_BATCH_MESSAGE {
            rmq_common::batch::decode_body(cmd.body()).map_or(1, |e| e.len().max(1))
        } else {
            1
        };
        let offset = self
            .offsets
            .fetch_add(i32::try_from(entries).unwrap_or(1), Ordering::Relaxed);
        let is_send = cmd.code() != request::HEART_BEAT && cmd.code() != request::UNREGISTER_CLIENT;
        let store_host = addr
            .parse()
            .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let addr = addr.to_owned();
        Box::pin(async move {
            let work = async move {
                match behaviour {
                    Some(Behaviour::Answer(delay)) => {
                        tokio::time::sleep(delay).await;
                        if !is_send {
                            return Ok(RemotingCommand::response(response::SUCCESS));
                        }
                        Ok(RemotingCommand::response(response::SUCCESS).with_header(
                            SendMessageResponseHeader {
                                msg_id: (0..entries)
                                    .map(|i| {
                                        rmq_common::OffsetMessageId {
                                            addr: store_host,
                                            offset: i64::from(offset) + i as i64,
                                        }
                                        .encode()
                                    })
                                    .collect::<Vec<_>>()
                                    .join(",")
                                    .into(),
                                queue_id,
                                queue_offset: i64::from(offset),
                                transaction_id: None,
                                batch_uniq_id: None,
                                recall_handle: None,
                                region_id: None,
                                trace_on: true,
                            },
                        ))
                    }
                    Some(Behaviour::Code(code)) => {
                        // Not instant: a retry loop in paused time must let the clock move.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        Ok(RemotingCommand::response(code).with_remark("refused by the fake"))
                    }
                    Some(Behaviour::Fail(kind, delay)) => {
                        tokio::time::sleep(delay).await;
                        Err(RemotingError::new(kind, addr.as_str()))
                    }
                    Some(Behaviour::Silent) => std::future::pending().await,
                    None => Err(RemotingError::new(ErrorKind::Connect, addr.as_str())),
                }
            };
            match tokio::time::timeout(timeout, work).await {
                Ok(reply) => reply,
                Err(_) => Err(RemotingError::new(ErrorKind::Timeout, "fake")),
            }
        })
    }
}

impl Transport for FakeTransport {
    fn invoke_sync<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Reply> {
        self.answer(addr, &request, timeout)
    }

    fn invoke_async_callback<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
        callback: ReplyCallback,
    ) -> BoxFuture<'a, ()> {
        let answer = self.answer(addr, &request, timeout);
        tokio::spawn(async move { callback(answer.await) });
        Box::pin(std::future::ready(()))
    }

    fn invoke_oneway<'a>(
        &'a self,
        addr: &'a str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), RemotingError>> {
        drop(self.answer(addr, &request, timeout));
        Box::pin(async { Ok(()) })
    }

    fn invoke_name_server(
        &self,
        request: RemotingCommand,
        _timeout: Duration,
    ) -> BoxFuture<'_, Reply> {
        let reply = match request.code() {
            request::GET_ROUTEINFO_BY_TOPIC => {
                RemotingCommand::response(response::SUCCESS).with_body(Self::route().to_json())
            }
            _ => RemotingCommand::response(response::REQUEST_CODE_NOT_SUPPORTED),
        };
        let delay = *self.route_delay.lock();
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(reply)
        })
    }

    fn has_name_servers(&self) -> bool {
        true
    }

    fn shutdown(&self) {}
}

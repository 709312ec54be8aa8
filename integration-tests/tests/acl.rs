//! ACL signing end to end: a server that checks every request's signature as a 4.x plain-ACL
//! broker does (`AccessKey`, then HMAC-SHA1 over the sorted ext fields and the body), playing
//! name server and broker at once.

use std::sync::Arc;

use parking_lot::Mutex;
use rmq::prelude::*;
use rmq::remoting::acl::AclSigner;
use rmq::remoting::body::{BrokerData, QueueData, TopicRouteData};
use rmq::remoting::code::{request, response};
use rmq::remoting::header::SendMessageResponseHeader;
use rmq::remoting::{Channel, RemotingServer, ServerHandle};

const ACCESS_KEY: &str = "rocketmq2";
const SECRET_KEY: &str = "12345678";

/// Every request the server saw: its code, and whether its signature held.
type Seen = Arc<Mutex<Vec<(i32, bool)>>>;

async fn verifying_server() -> (ServerHandle, Seen) {
    let seen: Seen = Arc::default();
    let server = RemotingServer::builder().build();
    let addr_slot: Arc<Mutex<String>> = Arc::default();
    let (route_addr, log) = (addr_slot.clone(), seen.clone());
    let checker = AclSigner::new(ACCESS_KEY, SECRET_KEY).expect("credentials");
    server.set_default_processor(move |_: Channel, req: RemotingCommand| {
        let signed = req.ext_field("AccessKey") == Some(ACCESS_KEY)
            && req.ext_field("Signature") == Some(checker.signature(&req).as_str());
        log.lock().push((req.code(), signed));
        let addr = route_addr.lock().clone();
        async move {
            if !signed {
                return Some(
                    RemotingCommand::response(response::NO_PERMISSION)
                        .with_remark("check signature failed"),
                );
            }
            Some(match req.code() {
                request::GET_ROUTEINFO_BY_TOPIC => {
                    let route = TopicRouteData {
                        broker_datas: vec![BrokerData {
                            broker_addrs: [(0, addr)].into_iter().collect(),
                            broker_name: "broker-acl".into(),
                            cluster: "c".into(),
                            ..BrokerData::default()
                        }],
                        queue_datas: vec![QueueData {
                            broker_name: "broker-acl".into(),
                            perm: 6,
                            read_queue_nums: 1,
                            write_queue_nums: 1,
                            topic_sys_flag: 0,
                        }],
                        ..TopicRouteData::default()
                    };
                    RemotingCommand::response(response::SUCCESS).with_body(route.to_json())
                }
                request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE => {
                    RemotingCommand::response(response::SUCCESS).with_header(
                        SendMessageResponseHeader {
                            msg_id: "0A0000010000000000000001".into(),
                            queue_id: 0,
                            queue_offset: 1,
                            transaction_id: None,
                            batch_uniq_id: None,
                            recall_handle: None,
                            region_id: None,
                            trace_on: true,
                        },
                    )
                }
                _ => RemotingCommand::response(response::SUCCESS),
            })
        }
    });
    let handle = server.bind("127.0.0.1:0").await.expect("binds");
    *addr_slot.lock() = handle.local_addr().to_string();
    (handle, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_signed_from_the_first() {
    let (server, seen) = verifying_server().await;
    let producer = Producer::builder("g_acl")
        .name_server(server.local_addr().to_string())
        .credentials(ACCESS_KEY, SECRET_KEY)
        .build()
        .expect("config");
    producer.start().await.expect("starts");
    producer
        .send(Message::new("TopicTest", "sync"))
        .await
        .expect("signed sync send accepted");
    producer
        .send_async(Message::new("TopicTest", "async"))
        .await
        .expect("accepted")
        .await
        .expect("signed async send accepted");
    producer
        .send_oneway(Message::new("TopicTest", "oneway"))
        .await
        .expect("written");
    producer
        .send_batch((0..3).map(|i| Message::new("TopicTest", format!("b{i}"))))
        .await
        .expect("signed batch accepted");
    producer.shutdown().await;

    let seen = seen.lock().clone();
    assert_eq!(seen[0].0, request::GET_ROUTEINFO_BY_TOPIC, "{seen:?}");
    assert!(seen.iter().all(|(_, signed)| *signed), "{seen:?}");
    for code in [
        request::SEND_MESSAGE_V2,
        request::SEND_BATCH_MESSAGE,
        request::UNREGISTER_CLIENT,
    ] {
        assert!(seen.iter().any(|(c, _)| *c == code), "{code} in {seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_a_permission_error_that_says_so() {
    let (server, _) = verifying_server().await;
    let producer = Producer::builder("g_acl_wrong")
        .name_server(server.local_addr().to_string())
        .credentials(ACCESS_KEY, "not-the-secret")
        .send_timeout(std::time::Duration::from_secs(1))
        .build()
        .expect("config");
    producer.start().await.expect("starts");
    let err = producer
        .send(Message::new("TopicTest", "x"))
        .await
        .expect_err("refused");
    // The route request is refused first: the name server's answer, named.
    assert_eq!(err.response_code(), Some(response::NO_PERMISSION), "{err}");
    assert_eq!(err.kind(), ErrorKind::Permission, "{err}");
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("check signature failed"), "{err}");
    producer.shutdown().await;

    let missing = Producer::builder("g_acl_bad").credentials("ak", "").build();
    assert!(matches!(missing, Err(rmq::Error::Config(_))), "{missing:?}");
}

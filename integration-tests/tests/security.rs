//! Secured clusters end to end: ACL signing against a server that checks every request's
//! signature as a 4.x plain-ACL broker does (`AccessKey`, then HMAC-SHA1 over the sorted ext
//! fields and the body), and TLS; one server plays name server and broker at once.

use std::sync::Arc;

use parking_lot::Mutex;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rmq::prelude::*;
use rmq::remoting::acl::AclSigner;
use rmq::remoting::body::{BrokerData, QueueData, TopicRouteData};
use rmq::remoting::code::{request, response};
use rmq::remoting::header::SendMessageResponseHeader;
use rmq::remoting::tls::{ClientTls, ServerTls};
use rmq::remoting::{Channel, RemotingServer, ServerHandle};

const ACCESS_KEY: &str = "rocketmq2";
const SECRET_KEY: &str = "12345678";

/// Every request the server saw: its code, and whether its signature held.
type Seen = Arc<Mutex<Vec<(i32, bool)>>>;

/// A name server and broker in one; with `checker`, requests not signed by it are refused
/// with NO_PERMISSION; with `tls`, it speaks TLS.
async fn fake_cluster(checker: Option<AclSigner>, tls: Option<ServerTls>) -> (ServerHandle, Seen) {
    let seen: Seen = Arc::default();
    let mut builder = RemotingServer::builder();
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    let server = builder.build();
    let addr_slot: Arc<Mutex<String>> = Arc::default();
    let (route_addr, log) = (addr_slot.clone(), seen.clone());
    server.set_default_processor(move |_: Channel, req: RemotingCommand| {
        let signed = checker.as_ref().is_none_or(|checker| {
            req.ext_field("AccessKey") == Some(checker.access_key())
                && req.ext_field("Signature") == Some(checker.signature(&req).as_str())
        });
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

/// A sync, an async, a oneway and a batch send (of 3), all accepted.
async fn send_in_every_mode(producer: &Producer) {
    producer
        .send(Message::new("TopicTest", "sync"))
        .await
        .expect("sync send stored");
    producer
        .send_async(Message::new("TopicTest", "async"))
        .await
        .expect("accepted")
        .await
        .expect("async send stored");
    producer
        .send_oneway(Message::new("TopicTest", "oneway"))
        .await
        .expect("oneway written");
    producer
        .send_batch((0..3).map(|i| Message::new("TopicTest", format!("b{i}"))))
        .await
        .expect("batch stored");
}

fn checker() -> AclSigner {
    AclSigner::new(ACCESS_KEY, SECRET_KEY).expect("credentials")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_signed_from_the_first() {
    let (server, seen) = fake_cluster(Some(checker()), None).await;
    let producer = Producer::builder("g_acl")
        .name_server(server.local_addr().to_string())
        .credentials(ACCESS_KEY, SECRET_KEY)
        .build()
        .expect("config");
    producer.start().await.expect("starts");
    send_in_every_mode(&producer).await;
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
    let (server, _) = fake_cluster(Some(checker()), None).await;
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

/// A CA's PEM, and a certificate for 127.0.0.1 it signed, with its key.
fn certificates() -> (String, String, String) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("key");
    let ca_pem = ca.self_signed(&ca_key).expect("CA").pem();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("signed");
    (ca_pem, cert.pem(), key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_carries_every_send_and_an_untrusted_server_is_named() {
    let (ca, cert, key) = certificates();
    let tls = ServerTls::from_pem(&cert, &key, None).expect("server tls");
    let (server, seen) = fake_cluster(Some(checker()), Some(tls)).await;
    let namesrv = server.local_addr().to_string();

    let trusted = ClientTls::builder()
        .ca_pem(&ca)
        .expect("CA")
        .build()
        .expect("tls");
    let producer = Producer::builder("g_tls")
        .name_server(namesrv.clone())
        .tls(trusted)
        .credentials(ACCESS_KEY, SECRET_KEY)
        .build()
        .expect("config");
    producer.start().await.expect("starts");
    send_in_every_mode(&producer).await;
    producer.shutdown().await;
    assert!(seen.lock().iter().all(|(_, signed)| *signed));

    // A CA that did not sign the server's certificate: a connection error that says why.
    let untrusted = Producer::builder("g_tls_untrusted")
        .name_server(namesrv.clone())
        .tls(
            ClientTls::builder()
                .ca_pem(certificates().0)
                .expect("CA")
                .build()
                .expect("tls"),
        )
        .send_timeout(std::time::Duration::from_secs(1))
        .build()
        .expect("config");
    untrusted.start().await.expect("starts");
    let err = untrusted
        .send(Message::new("TopicTest", "x"))
        .await
        .expect_err("untrusted");
    assert_eq!(err.kind(), ErrorKind::NameServer, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&namesrv) && text.contains("TLS handshake failed"),
        "{text}"
    );
    untrusted.shutdown().await;
}

/// A test cluster whose broker checks signatures, and optionally speaks TLS.
async fn secured_cluster(tls: bool) -> rmq_testkit::TestCluster {
    rmq_testkit::TestCluster::builder()
        .topic("TopicTest", 4)
        .acl(ACCESS_KEY, SECRET_KEY)
        .tls(tls)
        .start()
        .await
        .expect("cluster")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acl_test_broker_takes_signed_sends_in_every_mode_and_refuses_the_rest() {
    let cluster = secured_cluster(false).await;
    let builder = |group: &str| {
        Producer::builder(group)
            .name_server(cluster.namesrv_addr())
            .send_timeout(std::time::Duration::from_secs(2))
    };
    let producer = builder("g_acl_tk")
        .credentials(ACCESS_KEY, SECRET_KEY)
        .build()
        .expect("config");
    producer.start().await.expect("starts");
    send_in_every_mode(&producer).await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    producer
        .send_with_callback(Message::new("TopicTest", "callback"), move |r| {
            let _ = tx.send(r.is_ok());
        })
        .await
        .expect("accepted");
    assert!(rx.await.expect("called"), "callback send");
    producer.shutdown().await;
    let broker = cluster.broker("broker-a").expect("broker");
    assert!(
        broker
            .wait_for_messages("TopicTest", 7, std::time::Duration::from_secs(2))
            .await
            .is_ok(),
        "every signed message is stored"
    );

    for (label, builder) in [
        ("unsigned", builder("g_acl_unsigned")),
        (
            "wrong secret",
            builder("g_acl_wrong2").credentials(ACCESS_KEY, "nope"),
        ),
    ] {
        let producer = builder.build().expect("config");
        producer.start().await.expect("starts");
        let failed = producer
            .send(Message::new("TopicTest", label))
            .await
            .expect_err("refused");
        assert_eq!(failed.kind(), ErrorKind::Permission, "{label}: {failed}");
        assert!(!failed.may_have_been_stored(), "{label}");
        producer.shutdown().await;
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tls_test_cluster_takes_verified_connections_and_refuses_a_stranger_in_time() {
    let cluster = secured_cluster(true).await;
    let ca = cluster.tls_ca_pem().expect("a CA").to_owned();
    let producer = Producer::builder("g_tls_tk")
        .name_server(cluster.namesrv_addr())
        .tls(
            ClientTls::builder()
                .ca_pem(&ca)
                .expect("CA")
                .build()
                .expect("tls"),
        )
        .credentials(ACCESS_KEY, SECRET_KEY)
        .build()
        .expect("config");
    producer.start().await.expect("starts");
    producer
        .send(Message::new("TopicTest", "over TLS"))
        .await
        .expect("sent over TLS");
    producer.shutdown().await;

    let timeout = std::time::Duration::from_secs(1);
    let stranger = Producer::builder("g_tls_stranger")
        .name_server(cluster.namesrv_addr())
        .tls(
            ClientTls::builder()
                .ca_pem(certificates().0)
                .expect("CA")
                .build()
                .expect("tls"),
        )
        .send_timeout(timeout)
        .build()
        .expect("config");
    stranger.start().await.expect("starts");
    let started = tokio::time::Instant::now();
    let failed = stranger
        .send(Message::new("TopicTest", "x"))
        .await
        .expect_err("untrusted");
    assert!(started.elapsed() <= timeout + std::time::Duration::from_millis(500));
    assert!(
        failed.to_string().contains("TLS handshake failed"),
        "{failed}"
    );
    stranger.shutdown().await;
    cluster.shutdown().await;
}

//! Every failure a producer meets, as the test broker and name servers answer it: what kind it
//! is, whether trying again may help, whether the message may be stored, and what the message
//! tells the user to do.

mod support;

use std::time::Duration;

use rmq::prelude::*;
use rmq::remoting::code::{request, response};
use rmq::remoting::{Channel, RemotingCommand, RemotingServer};

/// What a failed send is expected to say of itself.
struct Expected {
    kind: ErrorKind,
    retryable: bool,
    advice: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_refusals_name_their_cause_in_every_send_mode() {
    let cluster = support::cluster(1).await;
    let producer = support::producer(&cluster, "g_refusals").await;
    let broker = cluster.broker("broker-a").expect("broker");
    let cases = [
        (
            response::TOPIC_NOT_EXIST,
            Expected {
                kind: ErrorKind::NoRoute,
                retryable: false,
                advice: "create it",
            },
        ),
        (
            response::NO_PERMISSION,
            Expected {
                kind: ErrorKind::Permission,
                retryable: false,
                advice: "sending message is forbidden; permission denied",
            },
        ),
        (
            response::SERVICE_NOT_AVAILABLE,
            Expected {
                kind: ErrorKind::BrokerRefused,
                retryable: true,
                advice: "disk may be full",
            },
        ),
        (
            response::SYSTEM_BUSY,
            Expected {
                kind: ErrorKind::BrokerRefused,
                retryable: true,
                advice: "retry later",
            },
        ),
        (
            response::MESSAGE_ILLEGAL,
            Expected {
                kind: ErrorKind::BrokerRefused,
                retryable: false,
                advice: "maxMessageSize",
            },
        ),
    ];
    for (code, expected) in cases {
        // Enough refusals for every attempt of each of the three sends.
        broker.fail_next(code, 9);
        let sync = producer
            .send(Message::new("TopicTest", "x"))
            .await
            .expect_err("refused");
        let future = producer
            .send_async(Message::new("TopicTest", "x"))
            .await
            .expect("accepted")
            .await
            .expect_err("refused");
        let (tx, rx) = tokio::sync::oneshot::channel();
        producer
            .send_with_callback(Message::new("TopicTest", "x"), move |result| {
                let _ = tx.send(result);
            })
            .await
            .expect("accepted");
        let callback = rx.await.expect("called").expect_err("refused");
        broker.reset_faults();
        for (mode, err) in [("sync", sync), ("future", future), ("callback", callback)] {
            let text = err.to_string();
            assert_eq!(err.kind(), expected.kind, "{mode} {code}: {text}");
            assert_eq!(err.is_retryable(), expected.retryable, "{mode}: {text}");
            assert!(
                !err.may_have_been_stored(),
                "{mode}: refused, so not stored"
            );
            assert_eq!(err.response_code(), Some(code), "{mode}: {text}");
            assert!(text.contains(expected.advice), "{mode}: {text}");
            assert!(
                matches!(err.root(), rmq::Error::Broker { code: c, .. } if *c == code),
                "{mode}: {text}"
            );
        }
    }
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_stored_before_the_connection_dropped_may_have_been_stored() {
    let cluster = support::cluster(1).await;
    let producer = support::started(
        support::builder(&cluster, "g_stored_then_dropped").retry_times_when_send_failed(0),
    )
    .await;
    let broker = cluster.broker("broker-a").expect("broker");
    producer
        .send(Message::new("TopicTest", "warm-up"))
        .await
        .expect("sent");

    broker.drop_connection_after_storing(1);
    let msg = Message::new("TopicTest", "stored, unanswered");
    let err = producer.send(msg).await.expect_err("no answer");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.may_have_been_stored(), "{err}");
    assert!(err.is_retryable(), "{err}");
    let stored = broker.messages("TopicTest");
    assert!(
        stored.iter().any(|m| &m.body[..] == b"stored, unanswered"),
        "the broker did store it: sending it again would duplicate it"
    );

    // A broker that cannot be reached at all certainly stored nothing.
    broker.stop().await;
    let err = producer
        .send(Message::new("TopicTest", "nowhere"))
        .await
        .expect_err("unreachable");
    assert!(!err.may_have_been_stored(), "{err}");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_server_failures_say_which_and_what_to_do() {
    // Nothing listens: no name server can be reached.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let nobody = closed.local_addr().expect("addr").to_string();
    drop(closed);
    let err = send_through(&nobody).await;
    assert_eq!(err.kind(), ErrorKind::NameServer, "{err}");
    assert!(err.is_retryable(), "{err}");
    assert!(!err.may_have_been_stored(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&nobody) && text.contains("NAMESRV_ADDR"),
        "{text}"
    );

    // A name server that answers every route request with an error.
    let server = RemotingServer::builder().build();
    server.register_processor(
        request::GET_ROUTEINFO_BY_TOPIC,
        |_: Channel, _: RemotingCommand| async move {
            Some(
                RemotingCommand::response(response::SYSTEM_ERROR)
                    .with_remark("name server overloaded"),
            )
        },
    );
    let refusing = server.bind("127.0.0.1:0").await.expect("binds");
    let err = send_through(&refusing.local_addr().to_string()).await;
    assert_eq!(err.kind(), ErrorKind::NameServer, "{err}");
    let text = err.to_string();
    assert!(text.contains("name server overloaded"), "{text}");
}

/// The error of one send through a producer whose name server is `namesrv`.
async fn send_through(namesrv: &str) -> rmq::SendError {
    let producer = support::started(
        Producer::builder("g_namesrv_failures")
            .name_server(namesrv)
            .send_timeout(Duration::from_secs(1)),
    )
    .await;
    let err = producer
        .send(Message::new("TopicTest", "x"))
        .await
        .expect_err("the name server fails it");
    producer.shutdown().await;
    err
}

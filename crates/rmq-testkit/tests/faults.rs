//! Fault injection and broker lifecycle: error codes, latency, dropped and refused
//! connections, stop and restart on the same port.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use rmq_remoting::code::{request, response};
use rmq_remoting::{ErrorKind, RemotingCommand};
use rmq_testkit::{TestCluster, TestkitError};

async fn cluster() -> TestCluster {
    TestCluster::builder()
        .brokers(2)
        .topic("TopicTest", 4)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn fail_next_system_busy_twice_then_success() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    broker.fail_next(response::SYSTEM_BUSY, 2);
    for _ in 0..2 {
        let response = invoke(
            &client,
            &broker.addr(),
            send_v2(header("TopicTest", 0), "x"),
        )
        .await
        .unwrap();
        assert_eq!(response.code(), response::SYSTEM_BUSY);
        assert_eq!(
            response.remark(),
            Some("[REJECTREQUEST]system busy, start flow control for a while")
        );
        assert!(response.ext_fields().is_none());
    }
    let response = invoke(
        &client,
        &broker.addr(),
        send_v2(header("TopicTest", 0), "x"),
    )
    .await
    .unwrap();
    assert_eq!(response.code(), response::SUCCESS);
    assert_eq!(broker.messages("TopicTest").len(), 1);
    assert_eq!(broker.requests_seen(), 3);
    cluster.shutdown().await;
}

#[tokio::test]
async fn injected_codes_carry_java_remarks_and_success_like_codes_store() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    let send = || send_v2(header("TopicTest", 1), "x");

    broker.fail_next(response::NO_PERMISSION, 1);
    broker.fail_next(response::SERVICE_NOT_AVAILABLE, 1);
    let forbidden = invoke(&client, &broker.addr(), send()).await.unwrap();
    assert_eq!(forbidden.code(), response::NO_PERMISSION);
    assert_eq!(
        forbidden.remark(),
        Some("the broker[127.0.0.1] sending message is forbidden")
    );
    assert_eq!(forbidden.ext_field("MSG_REGION"), Some("DefaultRegion"));
    let unavailable = invoke(&client, &broker.addr(), send()).await.unwrap();
    assert_eq!(unavailable.code(), response::SERVICE_NOT_AVAILABLE);
    assert!(broker.all_messages().is_empty());

    for code in [
        response::FLUSH_DISK_TIMEOUT,
        response::SLAVE_NOT_AVAILABLE,
        response::FLUSH_SLAVE_TIMEOUT,
    ] {
        broker.fail_next(code, 1);
        let response = invoke(&client, &broker.addr(), send()).await.unwrap();
        assert_eq!(response.code(), code);
        let answer = response_header(&response);
        let stored = broker.messages("TopicTest").pop().unwrap();
        assert_eq!(answer.msg_id, stored.offset_msg_id);
        assert_eq!(answer.queue_offset, stored.queue_offset);
    }
    assert_eq!(broker.messages("TopicTest").len(), 3);
    // Only sends are failed; other requests pass.
    broker.fail_next(response::SYSTEM_BUSY, 1);
    let heartbeat = RemotingCommand::request(request::HEART_BEAT).with_body("{}");
    assert_eq!(
        invoke(&client, &broker.addr(), heartbeat)
            .await
            .unwrap()
            .code(),
        0
    );
    broker.reset_faults();
    assert_eq!(
        invoke(&client, &broker.addr(), send())
            .await
            .unwrap()
            .code(),
        0
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn latency_delays_send_answers() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    broker.set_latency(Duration::from_millis(300));
    let started = Instant::now();
    let response = invoke(
        &client,
        &broker.addr(),
        send_v2(header("TopicTest", 0), "x"),
    )
    .await
    .unwrap();
    assert_eq!(response.code(), response::SUCCESS);
    assert!(started.elapsed() >= Duration::from_millis(300));
    broker.set_latency(Duration::ZERO);
    let started = Instant::now();
    invoke(
        &client,
        &broker.addr(),
        send_v2(header("TopicTest", 0), "x"),
    )
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_millis(300));
    cluster.shutdown().await;
}

#[tokio::test]
async fn drop_connection_after_closes_on_the_nth_request() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let client = client();
    let send = || send_v2(header("TopicTest", 0), "x");
    broker.drop_connection_after(2);
    assert_eq!(
        invoke(&client, &broker.addr(), send())
            .await
            .unwrap()
            .code(),
        0
    );
    let err = invoke(&client, &broker.addr(), send()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionClosed, "{err}");
    assert_eq!(broker.messages("TopicTest").len(), 1);
    assert_eq!(broker.requests_seen(), 2);
    // Once only: the client reconnects and is served.
    assert_eq!(
        invoke(&client, &broker.addr(), send())
            .await
            .unwrap()
            .code(),
        0
    );

    // 0 closes the open connections at once.
    assert_eq!(broker.connection_count(), 1);
    let channel = client.channels().pop().unwrap();
    broker.drop_connection_after(0);
    tokio::time::timeout(TIMEOUT, channel.closed())
        .await
        .unwrap();
    cluster.shutdown().await;
}

#[tokio::test]
async fn refused_connections_keep_existing_ones() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let connected = client();
    let send = || send_v2(header("TopicTest", 0), "x");
    assert_eq!(
        invoke(&connected, &broker.addr(), send())
            .await
            .unwrap()
            .code(),
        0
    );
    broker.refuse_connections().await;

    let newcomer = client();
    let err = invoke(&newcomer, &broker.addr(), send()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert_eq!(
        invoke(&connected, &broker.addr(), send())
            .await
            .unwrap()
            .code(),
        0
    );
    // Still routed: the broker is alive, it just takes no new clients.
    assert!(cluster.route("TopicTest").unwrap().broker_datas.len() == 2);

    broker.restart().await.unwrap();
    assert_eq!(
        invoke(&newcomer, &broker.addr(), send())
            .await
            .unwrap()
            .code(),
        0
    );
    cluster.shutdown().await;
}

#[tokio::test]
async fn stop_and_restart_on_the_same_port() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-a").unwrap();
    let addr = broker.addr();
    let client = client();
    let send = || send_v2(header("TopicTest", 0), "x");
    assert_eq!(invoke(&client, &addr, send()).await.unwrap().code(), 0);

    broker.stop().await;
    assert!(!broker.is_running());
    let route = cluster.route("TopicTest").unwrap();
    let names: Vec<_> = route
        .queue_datas
        .iter()
        .map(|q| q.broker_name.as_str())
        .collect();
    assert_eq!(names, ["broker-b"]);
    let (_, wire_route) = query_route(
        &client,
        &cluster.namesrv_addr(),
        route_query("TopicTest", rmq_remoting::version::V4_9_8),
    )
    .await;
    assert_eq!(wire_route.as_ref(), Some(&route));
    let err = invoke(&client, &addr, send()).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Connect | ErrorKind::ConnectionClosed),
        "{err}"
    );
    // Stopping twice is harmless; state is kept.
    broker.stop().await;
    assert_eq!(broker.messages("TopicTest").len(), 1);

    broker.restart().await.unwrap();
    assert!(broker.is_running());
    assert_eq!(broker.addr(), addr);
    assert_eq!(cluster.route("TopicTest").unwrap().broker_datas.len(), 2);
    let response = invoke(&client, &addr, send()).await.unwrap();
    assert_eq!(response.code(), response::SUCCESS);
    assert_eq!(response_header(&response).queue_offset, 1);
    // Restarting a running broker bounces it: open connections close.
    let channel = client
        .channels()
        .into_iter()
        .find(|c| c.addr() == addr)
        .unwrap();
    broker.restart().await.unwrap();
    tokio::time::timeout(TIMEOUT, channel.closed())
        .await
        .unwrap();
    assert_eq!(invoke(&client, &addr, send()).await.unwrap().code(), 0);
    cluster.shutdown().await;
}

#[tokio::test]
async fn wait_for_messages_times_out_with_a_count() {
    let cluster = cluster().await;
    let broker = cluster.broker("broker-b").unwrap();
    invoke(
        &client(),
        &broker.addr(),
        send_v2(header("TopicTest", 0), "x"),
    )
    .await
    .unwrap();
    let err = broker
        .wait_for_messages("TopicTest", 2, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        TestkitError::WaitTimeout {
            expected: 2,
            found: 1,
            ..
        }
    ));
    cluster.shutdown().await;
}

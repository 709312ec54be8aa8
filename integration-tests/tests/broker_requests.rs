//! Requests a broker starts, answered by a producer as Java's `ClientRemotingProcessor` does:
//! GET_CONSUMER_RUNNING_INFO gets SYSTEM_ERROR, oneway notices get nothing, unknown codes get
//! REQUEST_CODE_NOT_SUPPORTED.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rmq::prelude::*;
use rmq::remoting::body::{BrokerData, QueueData, TopicRouteData};
use rmq::remoting::code::{request, response};
use rmq::remoting::{Channel, RemotingServer};

/// What the fake broker heard back from the producer.
#[derive(Debug, Default)]
struct Heard {
    running_info: Option<(i32, Option<String>)>,
    unknown: Option<i32>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_answers_broker_initiated_requests() {
    let heard = Arc::new(Mutex::new(Heard::default()));
    // One server plays name server and broker: the route points back at itself.
    let server = RemotingServer::builder().build();
    let addr_slot: Arc<Mutex<String>> = Arc::default();
    let route_addr = addr_slot.clone();
    server.register_processor(
        request::GET_ROUTEINFO_BY_TOPIC,
        move |_: Channel, _: RemotingCommand| {
            let addr = route_addr.lock().clone();
            async move {
                let route = TopicRouteData {
                    broker_datas: vec![BrokerData {
                        broker_addrs: [(0, addr)].into_iter().collect(),
                        broker_name: "broker-x".into(),
                        cluster: "c".into(),
                        ..BrokerData::default()
                    }],
                    queue_datas: vec![QueueData {
                        broker_name: "broker-x".into(),
                        perm: 6,
                        read_queue_nums: 1,
                        write_queue_nums: 1,
                        topic_sys_flag: 0,
                    }],
                    ..TopicRouteData::default()
                };
                Some(RemotingCommand::response(response::SUCCESS).with_body(route.to_json()))
            }
        },
    );
    let on_heartbeat = heard.clone();
    server.register_processor(
        request::HEART_BEAT,
        move |channel: Channel, _: RemotingCommand| {
            let heard = on_heartbeat.clone();
            async move {
                // Ask the producer things over the connection it just used, as a broker does.
                tokio::spawn(async move {
                    let timeout = Duration::from_secs(2);
                    let ask = RemotingCommand::request(request::GET_CONSUMER_RUNNING_INFO)
                        .with_ext_field("consumerGroup", "cg")
                        .with_ext_field("clientId", "x");
                    if let Ok(answer) = channel.invoke(ask, timeout).await {
                        heard.lock().running_info =
                            Some((answer.code(), answer.remark().map(str::to_owned)));
                    }
                    let notice = RemotingCommand::request(request::NOTIFY_CONSUMER_IDS_CHANGED);
                    let _ = channel.invoke_oneway(notice, timeout).await;
                    if let Ok(answer) = channel
                        .invoke(RemotingCommand::request(9999), timeout)
                        .await
                    {
                        heard.lock().unknown = Some(answer.code());
                    }
                });
                Some(RemotingCommand::response(response::SUCCESS))
            }
        },
    );
    let handle = server.bind("127.0.0.1:0").await.expect("binds");
    *addr_slot.lock() = handle.local_addr().to_string();

    let producer = Producer::builder("g_broker_requests")
        .name_server(handle.local_addr().to_string())
        .build()
        .expect("config");
    producer.start().await.expect("starts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while (heard.lock().running_info.is_none() || heard.lock().unknown.is_none())
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (running_info, unknown) = {
        let heard = heard.lock();
        (heard.running_info.clone(), heard.unknown)
    };
    producer.shutdown().await;
    assert_eq!(
        running_info,
        Some((
            response::SYSTEM_ERROR,
            Some("The Consumer Group <cg> not exist in this consumer".to_owned())
        ))
    );
    assert_eq!(unknown, Some(response::REQUEST_CODE_NOT_SUPPORTED));
}

//! Request-reply: a requester sends a request and waits for the reply a responder sends back
//! through the broker.
//!
//! rmq is a producer, so the responder here reads requests with the raw PULL_MESSAGE request
//! through `rmq::remoting`; in production a RocketMQ consumer in any language delivers them,
//! and the responder replies with [`Producer::send_reply`], as below.
//!
//! `cargo run -p rmq --example request_reply`

mod support;

use std::collections::HashMap;
use std::time::Duration;

use rmq::common::stored::decode_stored_messages;
use rmq::prelude::*;
use rmq::remoting::RemotingClient;
use rmq::remoting::body::TopicRouteData;
use rmq::remoting::code::{request, response};
use rmq::remoting::header::{GetRouteInfoRequestHeader, PullMessageRequestHeader};

const TOPIC: &str = "Prices";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (namesrv, _cluster) = support::name_server().await?;
    let requester = Producer::builder("example_requester")
        .name_server(namesrv.clone())
        .start()
        .await?;
    let responder = Producer::builder("example_responder")
        .name_server(namesrv.clone())
        .start()
        .await?;
    tokio::spawn(async move {
        if let Err(e) = respond(namesrv, responder).await {
            eprintln!("the responder stopped: {e}");
        }
    });

    for pair in ["EURUSD", "GBPUSD", "USDJPY"] {
        let reply = requester
            .request(Message::new(TOPIC, pair))
            .timeout(Duration::from_secs(10))
            .await?;
        println!("{pair}: {}", String::from_utf8_lossy(reply.body()));
    }
    requester.shutdown().await;
    Ok(())
}

/// Replies to every request on [`TOPIC`] with a made-up price.
async fn respond(
    namesrv: String,
    responder: Producer,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let client = RemotingClient::builder().name_servers([namesrv]).build()?;
    // Next offset to read, per broker and queue.
    let mut next: HashMap<(String, i32), i64> = HashMap::new();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Some(route) = route(&client).await else {
            continue; // The first request creates the topic.
        };
        for queues in &route.queue_datas {
            let Some(addr) = route
                .broker_datas
                .iter()
                .find(|b| b.broker_name == queues.broker_name)
                .and_then(|b| b.master_addr())
            else {
                continue;
            };
            for queue_id in 0..queues.read_queue_nums {
                let offset = next.entry((addr.to_owned(), queue_id)).or_insert(0);
                let pull = RemotingCommand::request(request::PULL_MESSAGE).with_header(
                    PullMessageRequestHeader::new("example_responder", TOPIC, queue_id, *offset),
                );
                let answer = client
                    .invoke_sync(addr, pull, Duration::from_secs(3))
                    .await?;
                if answer.code() != response::SUCCESS {
                    continue;
                }
                for stored in decode_stored_messages(answer.body())? {
                    *offset = stored.queue_offset + 1;
                    let asked = String::from_utf8_lossy(&stored.body).into_owned();
                    let price = format!("{asked} = 1.{:04}", price_digits());
                    responder.send_reply(&stored.into_message(), price)?.await?;
                }
            }
        }
    }
}

async fn route(client: &RemotingClient) -> Option<TopicRouteData> {
    let query = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
        .with_header(GetRouteInfoRequestHeader::new(TOPIC));
    let answer = client
        .invoke_name_server(query, Duration::from_secs(3))
        .await
        .ok()?;
    (answer.code() == response::SUCCESS)
        .then(|| TopicRouteData::from_json(answer.body()).ok())
        .flatten()
}

/// Four digits from the clock: a price that changes.
fn price_digits() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_micros() % 10_000)
}

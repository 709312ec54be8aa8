//! Sync sends: wait for each broker answer (Java: `producer.send(msg)`).
//!
//! `cargo run -p rmq --example sync` (set `NAMESRV_ADDR` to use a real cluster).

mod support;

use std::time::Duration;

use rmq::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (namesrv, _cluster) = support::name_server().await?;
    let producer = Producer::builder("example_sync")
        .name_server(namesrv)
        .build()?;
    producer.start().await?;
    for i in 0..5 {
        let msg = Message::builder("TopicTest")
            .tags("TagA")
            .keys([format!("OrderID{i}")])
            .body(format!("Hello RocketMQ {i}"))
            .build()?;
        let result = producer.send(msg).timeout(Duration::from_secs(3)).await?;
        println!("{result}");
    }
    producer.shutdown().await;
    Ok(())
}

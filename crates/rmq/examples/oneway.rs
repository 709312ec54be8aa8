//! Oneway sends: fire and forget, done once written (Java: `producer.sendOneway(msg)`).
//!
//! `cargo run -p rmq --example oneway`

mod support;

use rmq::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (namesrv, _cluster) = support::name_server().await?;
    let producer = Producer::builder("example_oneway")
        .name_server(namesrv)
        .build()?;
    producer.start().await?;
    for i in 0..10 {
        producer
            .send_oneway(Message::new("Logs", format!("log line {i}")))
            .await?;
    }
    println!("10 oneway messages written");
    producer.shutdown().await;
    Ok(())
}

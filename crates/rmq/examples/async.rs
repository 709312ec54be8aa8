//! Async sends: many in flight at once, results through futures or callbacks
//! (Java: `producer.send(msg, callback)`).
//!
//! `cargo run -p rmq --example async`

mod support;

use std::time::Duration;

use rmq::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (namesrv, _cluster) = support::name_server().await?;
    let producer = Producer::builder("example_async")
        .name_server(namesrv)
        .build()?;
    producer.start().await?;

    // Futures: accept 100 sends, then collect the results.
    let mut pending = Vec::new();
    for i in 0..100 {
        pending.push(
            producer
                .send_async(Message::new("TopicTest", format!("async {i}")))
                .await?,
        );
    }
    let mut ok = 0;
    for result in pending {
        if result.await?.status == SendStatus::SendOk {
            ok += 1;
        }
    }
    println!("{ok}/100 async sends stored");

    // Callbacks: each is called exactly once.
    for i in 0..3 {
        producer
            .send_with_callback(
                Message::new("TopicTest", format!("callback {i}")),
                |result| match result {
                    Ok(sent) => println!("callback: {sent}"),
                    Err(e) => eprintln!("callback: send failed: {e}"),
                },
            )
            .await?;
    }
    if let Err(pending) = producer.flush(Duration::from_secs(5)).await {
        eprintln!("{pending} sends still pending");
    }
    producer.shutdown().await;
    Ok(())
}

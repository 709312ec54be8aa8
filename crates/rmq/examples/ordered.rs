//! Ordered sends: every step of one order goes to the same queue (Java:
//! `producer.send(msg, new SelectMessageQueueByHash(), orderId)`).
//!
//! `cargo run -p rmq --example ordered`

mod support;

use rmq::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (namesrv, _cluster) = support::name_server().await?;
    let producer = Producer::builder("example_ordered")
        .name_server(namesrv)
        .build()?;
    producer.start().await?;
    for order in ["order-1", "order-2"] {
        for step in ["created", "paid", "shipped"] {
            let msg = Message::builder("Orders")
                .keys([order])
                .body(format!("{order} {step}"))
                .build()?;
            let result = producer
                .send_with_selector(msg, SelectByHash, order)
                .await?;
            println!("{order} {step:<8} -> {}", result.queue);
        }
    }
    producer.shutdown().await;
    Ok(())
}

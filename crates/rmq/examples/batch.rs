//! Batch sends: several messages of one topic in one request (Java: `producer.send(list)`).
//!
//! `cargo run -p rmq --example batch`

mod support;

use rmq::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (namesrv, _cluster) = support::name_server().await?;
    let producer = Producer::builder("example_batch")
        .name_server(namesrv)
        .build()?;
    producer.start().await?;
    let batch: Vec<Message> = (0..10)
        .map(|i| {
            Message::builder("TopicTest")
                .tags("batch")
                .body(format!("item {i}"))
                .build()
        })
        .collect::<Result<_, _>>()?;
    let result = producer.send_batch(batch).await?;
    println!("{result}");
    println!(
        "{} ids, first queue offset {}",
        result.msg_id.split(',').count(),
        result.queue_offset
    );
    producer.shutdown().await;
    Ok(())
}

//! Automatic batching (Java 5.x `autoBatch`): many small async sends travel in few batch
//! requests while the broker is busy, and each message still gets its own result.
//!
//! `cargo run -p rmq --example auto_batch`

mod support;

use std::time::Duration;

use rmq::client::AutoBatch;
use rmq::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (namesrv, _cluster) = support::name_server().await?;
    let producer = Producer::builder("example_auto_batch")
        .name_server(namesrv)
        // Java's defaults (10 ms, 32 KiB), with a shorter hold.
        .auto_batch(AutoBatch::default().with_hold(Duration::from_millis(5)))
        .start()
        .await?;

    // A lone message leaves at once, as itself.
    let first = producer.send(Message::new("TopicTest", "alone")).await?;
    println!("{first}");

    // Sent while earlier ones are out, the rest share batch requests.
    let mut pending = Vec::new();
    for i in 0..1000 {
        let msg = Message::new("TopicTest", format!("click {i}"));
        pending.push(producer.send_async(msg).await?);
    }
    let mut offsets = Vec::new();
    for result in pending {
        match result.await {
            // Its own message id, offset message id and queue offset.
            Ok(sent) => offsets.push((sent.queue.clone(), sent.queue_offset)),
            Err(failed) => eprintln!("{} failed: {failed}", failed.message().topic()),
        }
    }
    println!("{} messages stored, each under its own id", offsets.len());
    producer.shutdown().await;
    Ok(())
}

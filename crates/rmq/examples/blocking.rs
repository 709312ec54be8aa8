//! A plain `fn main` with no async runtime: the blocking producer (Java: `producer.send(msg)`).
//!
//! `cargo run -p rmq --example blocking` (set `NAMESRV_ADDR` to use a real cluster).

mod support;

use std::time::Duration;

use rmq::blocking;
use rmq::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Only the embedded test cluster (when NAMESRV_ADDR is unset) needs an async runtime.
    let cluster_runtime = tokio::runtime::Runtime::new()?;
    let (namesrv, cluster) = cluster_runtime.block_on(support::name_server())?;

    let producer =
        blocking::Producer::start(Producer::builder("example_blocking").name_server(namesrv))?;
    for i in 0..3 {
        match producer.send(Message::new("TopicTest", format!("blocking {i}"))) {
            Ok(result) => println!("{result}"),
            Err(e) => eprintln!("send {i} failed: {e}"),
        }
    }
    producer.send_with_callback(Message::new("TopicTest", "callback"), |result| {
        println!("callback: {result:?}");
    })?;
    if let Err(pending) = producer.flush(Duration::from_secs(3)) {
        eprintln!("{pending} sends still pending");
    }
    producer.shutdown();

    if let Some(cluster) = cluster {
        cluster_runtime.block_on(cluster.shutdown());
    }
    Ok(())
}

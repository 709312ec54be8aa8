//! `rmq request`: sends a request and prints the reply a responder sends back.

use std::time::Duration;

use anyhow::Result;
use rmq::prelude::*;

use crate::cli::{Common, RequestArgs};
use crate::target::Target;

/// Runs `rmq request`.
pub async fn run(common: &Common, target: &Target, args: &RequestArgs) -> Result<()> {
    let producer = target
        .security
        .producer(Producer::builder(&common.group))
        .namesrv_addr(&target.namesrv)
        .serialize_type(common.serialization.into())
        .build()?;
    producer.start().await?;
    let reply = producer
        .request(Message::new(common.topic.as_str(), args.body.clone()))
        .timeout(Duration::from_millis(args.timeout_ms))
        .await;
    producer.shutdown().await;
    let reply = reply?;
    println!(
        "reply on {}: {}",
        reply.topic(),
        String::from_utf8_lossy(reply.body())
    );
    for (key, value) in reply.properties().iter() {
        println!("  {key}={value}");
    }
    Ok(())
}

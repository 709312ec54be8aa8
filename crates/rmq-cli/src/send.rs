//! `rmq send`: sends messages and prints each result as Java's `SendResult.toString()`.

use anyhow::{Context, Result};
use bytes::Bytes;
use rmq::prelude::*;

use crate::cli::{Common, SendArgs, SendMode};
use crate::target::Target;

/// Runs `rmq send` against `namesrv`.
pub async fn run(common: &Common, target: &Target, args: &SendArgs) -> Result<()> {
    let body: Bytes = match (&args.body, &args.body_file) {
        (_, Some(path)) => std::fs::read(path)
            .with_context(|| format!("cannot read the body file {}", path.display()))?
            .into(),
        (Some(text), None) => Bytes::from(text.clone()),
        (None, None) => Bytes::from_static(b"Hello RocketMQ"),
    };
    let producer = target
        .security
        .producer(Producer::builder(&common.group))
        .namesrv_addr(&target.namesrv)
        .serialize_type(common.serialization.into())
        .build()?;
    producer.start().await?;
    let result = send_all(&producer, common, args, body).await;
    producer.shutdown().await;
    result
}

async fn send_all(
    producer: &Producer,
    common: &Common,
    args: &SendArgs,
    body: Bytes,
) -> Result<()> {
    let message = || -> Result<Message> {
        let mut builder = Message::builder(common.topic.as_str()).body(body.clone());
        if let Some(tags) = &args.tags {
            builder = builder.tags(tags.as_str());
        }
        if !args.keys.is_empty() {
            builder = builder.keys(args.keys.iter().cloned());
        }
        Ok(builder.build()?)
    };
    match args.mode {
        SendMode::Sync => {
            for _ in 0..args.count {
                println!("{}", producer.send(message()?).await?);
            }
        }
        SendMode::Async => {
            let mut pending = Vec::new();
            for _ in 0..args.count {
                pending.push(producer.send_async(message()?).await?);
            }
            for result in pending {
                match result.await {
                    Ok(sent) => println!("{sent}"),
                    Err(e) => println!("send failed: {e}"),
                }
            }
        }
        SendMode::Oneway => {
            for i in 0..args.count {
                producer.send_oneway(message()?).await?;
                println!("oneway message {} written", i + 1);
            }
        }
    }
    Ok(())
}

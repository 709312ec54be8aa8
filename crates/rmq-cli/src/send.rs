//! `rmq send`: sends messages, plain or in transactions, and prints each result as Java's
//! `SendResult.toString()` (`TransactionSendResult` for transactions).

use anyhow::{Context, Result};
use bytes::Bytes;
use rmq::prelude::*;

use crate::cli::{Common, SendArgs, SendMode, TransactionOutcome};
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
    let builder = target
        .security
        .producer(Producer::builder(&common.group))
        .namesrv_addr(&target.namesrv)
        .serialize_type(common.serialization.into())
        .msg_trace(args.msg_trace);
    if let Some(outcome) = args.transaction {
        let listener = Decide {
            execute: state(outcome),
            check: state(args.on_check),
        };
        return send_in_transactions(builder.build_transactional(listener)?, common, args, body)
            .await;
    }
    let producer = builder.build()?;
    producer.start().await?;
    if let Some(topic) = producer.msg_trace_topic() {
        println!("message trace: records go to {topic}");
    }
    let result = send_all(&producer, common, args, body).await;
    producer.shutdown().await;
    result
}

/// The CLI's transaction listener: ends every local transaction and answers every check as
/// the command line says.
struct Decide {
    execute: LocalTransactionState,
    check: LocalTransactionState,
}

impl TransactionListener for Decide {
    type Arg = ();

    async fn execute(&self, _: &Message, _: ()) -> LocalTransactionState {
        self.execute
    }

    async fn check(&self, check: &TransactionCheck) -> LocalTransactionState {
        println!(
            "check from {} for {}: answering {}",
            check.broker_addr,
            check.message.transaction_id().unwrap_or("?"),
            self.check
        );
        self.check
    }
}

fn state(outcome: TransactionOutcome) -> LocalTransactionState {
    match outcome {
        TransactionOutcome::Commit => LocalTransactionState::Commit,
        TransactionOutcome::Rollback => LocalTransactionState::Rollback,
        TransactionOutcome::Unknown => LocalTransactionState::Unknown,
    }
}

async fn send_in_transactions(
    producer: TransactionProducer<Decide>,
    common: &Common,
    args: &SendArgs,
    body: Bytes,
) -> Result<()> {
    producer.start().await?;
    let result = async {
        for _ in 0..args.count {
            let msg = message(common, args, &body)?;
            println!("{}", producer.send_in_transaction(msg, ()).await?);
        }
        if args.wait_checks > 0 {
            tokio::time::sleep(std::time::Duration::from_secs(args.wait_checks)).await;
            let stats = producer.check_stats();
            println!(
                "checks: {} received, {} answered, {} dropped",
                stats.received, stats.answered, stats.dropped
            );
        }
        anyhow::Ok(())
    }
    .await;
    producer.shutdown().await;
    result
}

fn message(common: &Common, args: &SendArgs, body: &Bytes) -> Result<Message> {
    let mut builder = Message::builder(common.topic.as_str()).body(body.clone());
    if let Some(tags) = &args.tags {
        builder = builder.tags(tags.as_str());
    }
    if !args.keys.is_empty() {
        builder = builder.keys(args.keys.iter().cloned());
    }
    Ok(builder.build()?)
}

async fn send_all(
    producer: &Producer,
    common: &Common,
    args: &SendArgs,
    body: Bytes,
) -> Result<()> {
    let message = || message(common, args, &body);
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

//! `cargo xtask demo [--real | --namesrv HOST:PORT] [--seconds N]`: the main job, end to end.
//!
//! Starts rmq's in-process test cluster (or, with `--real`, the rocketmq-rust 1.0.0 name server
//! and broker; or uses the cluster `--namesrv` names), sends messages in every mode printing
//! each result as Java's `SendResult.toString()` reads, runs a 10-second benchmark with a live
//! progress line, and stops what it started.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use rmq::prelude::*;
use rmq_cli::bench::{BenchTarget, run as bench};
use rmq_cli::cli::{BenchArgs, BenchMode};
use rmq_cli::target::EmbeddedCluster;

const TOPIC: &str = "DemoTopic";

pub fn run(args: &[String]) -> Result<()> {
    let mut namesrv = None;
    let mut real = false;
    let mut seconds = 10;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--namesrv" => {
                namesrv = Some(args.next().context("--namesrv needs HOST:PORT")?.clone())
            }
            "--real" => real = true,
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .context("--seconds needs a number")?;
            }
            other => {
                bail!(
                    "unknown demo option {other:?} (use --real, --namesrv HOST:PORT, --seconds N)"
                )
            }
        }
    }
    if real && namesrv.is_some() {
        bail!("--real starts its own servers; it cannot be combined with --namesrv");
    }
    // Stopped on drop, however the demo ends.
    let servers = if real {
        let servers = crate::e2e::RealServers::start()?;
        println!(
            "started the rocketmq-rust 1.0.0 name server and broker: {}",
            servers.namesrv()
        );
        namesrv = Some(servers.namesrv());
        Some(servers)
    } else {
        None
    };
    let outcome = tokio::runtime::Runtime::new()?.block_on(demo(namesrv, seconds));
    if servers.is_some() {
        println!("stopping the rocketmq-rust servers");
    }
    drop(servers);
    outcome
}

async fn demo(namesrv: Option<String>, seconds: u64) -> Result<()> {
    // The embedded cluster runs on its own runtime thread, as `rmq bench --embedded` does, so
    // the benchmark's CPU figure is the client's alone.
    let cluster = match namesrv {
        Some(_) => None,
        None => Some(EmbeddedCluster::start(TOPIC, None, &Default::default()).await?),
    };
    let namesrv = match (&cluster, namesrv) {
        (Some(cluster), _) => {
            println!(
                "started the embedded test cluster: name server {}",
                cluster.namesrv_addr()
            );
            for (name, addr) in cluster.brokers() {
                println!("  broker {name} at {addr}");
            }
            cluster.namesrv_addr().to_owned()
        }
        (None, Some(addr)) => addr,
        (None, None) => unreachable!("a cluster is started when no name server is given"),
    };
    let outcome = every_mode(&namesrv).await;
    let outcome = match outcome {
        Ok(()) => benchmark(&namesrv, cluster.as_ref(), seconds).await,
        Err(e) => Err(e),
    };
    if let Some(cluster) = cluster {
        cluster.stop().await;
        println!("stopped the embedded test cluster");
    }
    outcome
}

async fn every_mode(namesrv: &str) -> Result<()> {
    let producer = Producer::builder("demo_producer")
        .namesrv_addr(namesrv)
        .build()?;
    producer.start().await?;
    println!(
        "\nproducer started, client id {}",
        producer.client_id().unwrap_or_default()
    );

    let msg = |text: &str| {
        Message::builder(TOPIC)
            .tags("TagA")
            .keys([format!("key-{text}")])
            .body(format!("Hello RocketMQ, {text}"))
            .build()
    };
    println!("\n== sync");
    for i in 0..3 {
        println!("{}", producer.send(msg(&format!("sync {i}"))?).await?);
    }
    println!("\n== async (futures)");
    let mut pending = Vec::new();
    for i in 0..3 {
        pending.push(producer.send_async(msg(&format!("async {i}"))?).await?);
    }
    for result in pending {
        println!("{}", result.await?);
    }
    println!("\n== async (callback)");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..3 {
        let tx = tx.clone();
        producer
            .send_with_callback(msg(&format!("callback {i}"))?, move |r| {
                let _ = tx.send(r);
            })
            .await?;
    }
    drop(tx);
    while let Some(result) = rx.recv().await {
        println!("{}", result?);
    }
    println!("\n== oneway");
    producer.send_oneway(msg("oneway")?).await?;
    println!("oneway message written (no result by design)");
    println!("\n== ordered (same key, same queue)");
    for step in ["created", "paid", "shipped"] {
        let r = producer
            .send_with_selector(msg(&format!("order-7 {step}"))?, SelectByHash, "order-7")
            .await?;
        println!("{r}");
    }
    println!("\n== to one queue");
    let queue = producer
        .publish_queues(TOPIC)
        .await?
        .into_iter()
        .next()
        .context("the topic has no queue")?;
    println!("{}", producer.send_to_queue(msg("to queue")?, queue).await?);
    println!("\n== batch of 4");
    let batch = (0..4)
        .map(|i| msg(&format!("batch {i}")))
        .collect::<Result<Vec<_>, _>>()?;
    println!("{}", producer.send_batch(batch).await?);
    println!("\n== compressed (8 KiB body, zlib, sysFlag 0x301)");
    println!(
        "{}",
        producer.send(Message::new(TOPIC, "x".repeat(8192))).await?
    );

    producer.flush(Duration::from_secs(5)).await.ok();
    producer.shutdown().await;
    Ok(())
}

async fn benchmark(namesrv: &str, embedded: Option<&EmbeddedCluster>, seconds: u64) -> Result<()> {
    println!("\n== benchmark: async sends, 1 KiB, 64 in flight, {seconds} s");
    let security = Default::default();
    let target = BenchTarget {
        namesrv,
        group: "demo_bench",
        topic: TOPIC,
        serialize_type: rmq::remoting::SerializeType::RocketMq,
        embedded,
        security: &security,
    };
    let args = BenchArgs {
        mode: BenchMode::Async,
        concurrency: 64,
        size: 1024,
        duration: seconds,
        batch: 16,
        ..BenchArgs::defaults()
    };
    let report = bench(&target, &args).await?;
    if report.failed > 0 {
        bail!("{} benchmark sends failed", report.failed);
    }
    println!("\ndemo: ok");
    Ok(())
}

//! `cargo xtask chaos [SECONDS] [--seed N]`: async and sync sends against a two-broker test
//! cluster while faults are injected at random (seeded, printed, reproducible), then a
//! reconciliation that counts every message: every send resolved, every acknowledged message
//! in a store, duplicates (at-least-once) counted, failures by reason.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use parking_lot::Mutex;
use rmq::prelude::*;
use rmq::remoting::code::response;
use rmq_testkit::{TestBroker, TestCluster};

const TOPIC: &str = "ChaosTopic";
/// Async sends each worker keeps going.
const ASYNC_WORKERS: usize = 32;
const SYNC_WORKERS: usize = 2;

/// How long a send may take to resolve before it counts as never resolved: its timeout, a
/// retry's, and room for a busy machine.
const RESOLVE_WITHIN: Duration = Duration::from_secs(10);

/// Where an acknowledged message was stored: message id, broker, queue, offset.
type Receipt = (String, String, i32, i64);

/// What happened to the sends.
#[derive(Default)]
struct Ledger {
    issued: u64,
    ok: Vec<Receipt>,
    failed: BTreeMap<String, u64>,
    unresolved: u64,
}

pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = 10;
    let mut seed = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => {
                let value = args.next().context("--seed takes a number")?;
                seed = Some(value.parse().with_context(|| format!("--seed {value:?}"))?);
            }
            n => {
                seconds = n
                    .parse()
                    .with_context(|| format!("chaos takes SECONDS, not {n:?}"))?
            }
        }
    }
    let seed = seed.unwrap_or_else(|| fastrand::u64(..));
    println!(
        "chaos: seed {seed}, {seconds} s (reproduce with `cargo xtask chaos {seconds} --seed {seed}`)"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(chaos(Duration::from_secs(seconds), seed))
}

async fn chaos(length: Duration, seed: u64) -> Result<()> {
    let cluster = TestCluster::builder()
        .brokers(2)
        .topic(TOPIC, 4)
        .max_stored_messages(10_000_000)
        .start()
        .await?;
    let producer = Producer::builder("chaos_producer")
        .name_server(cluster.namesrv_addr())
        .send_timeout(Duration::from_secs(3))
        .heartbeat_interval(Duration::from_millis(500))
        .poll_name_server_interval(Duration::from_millis(500))
        .build()?;
    producer.start().await?;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..ASYNC_WORKERS + SYNC_WORKERS {
        let (producer, ledger, stop) = (producer.clone(), ledger.clone(), stop.clone());
        let sync = w >= ASYNC_WORKERS;
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let msg = Message::new(TOPIC, format!("w{w}-{n}"));
                ledger.lock().issued += 1;
                let send = async {
                    if sync {
                        producer.send(msg).await.map_err(|e| e.into_error())
                    } else {
                        match producer.send_async(msg).await {
                            Ok(pending) => pending.await.map_err(|e| e.into_error()),
                            Err(e) => Err(e.into_error()),
                        }
                    }
                };
                let outcome = tokio::time::timeout(RESOLVE_WITHIN, send).await;
                let mut ledger = ledger.lock();
                match outcome {
                    Ok(Ok(sent)) => ledger.ok.push((
                        sent.msg_id.to_string(),
                        sent.queue.broker_name().to_owned(),
                        sent.queue.queue_id(),
                        sent.queue_offset,
                    )),
                    Ok(Err(e)) => *ledger.failed.entry(format!("{:?}", e.kind())).or_default() += 1,
                    Err(_) => ledger.unresolved += 1,
                }
            }
        }));
    }
    let brokers = cluster.brokers();
    let mut rng = fastrand::Rng::with_seed(seed);
    let end = tokio::time::Instant::now() + length;
    let mut injected: BTreeMap<&str, u64> = BTreeMap::new();
    while tokio::time::Instant::now() < end {
        let broker = &brokers[rng.usize(..brokers.len())];
        let fault = inject(&mut rng, broker).await?;
        *injected.entry(fault).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(rng.u64(100..600))).await;
    }
    // Calm: every fault off, every broker up, then the sends still out finish.
    for broker in &brokers {
        broker.reset_faults();
        broker.black_hole(false);
        if !broker.is_running() || !serving(broker).await {
            broker.restart().await?;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        // Each send is bounded above, so a worker that does not end is a hang to report.
        tokio::time::timeout(RESOLVE_WITHIN * 2, worker)
            .await
            .context("a sender never finished")??;
    }
    let left = producer.flush(Duration::from_secs(30)).await;
    // Recovered: every broker takes sends again.
    for broker in &brokers {
        let queue = MessageQueue::new(TOPIC, broker.name(), 0);
        producer
            .send_to_queue(Message::new(TOPIC, "after the storm"), queue)
            .await
            .map_err(|e| anyhow::anyhow!("{} did not recover: {e}", broker.name()))?;
    }
    producer.shutdown().await;
    reconcile(&cluster, &ledger.lock(), &injected, left.err().unwrap_or(0))
}

/// Whether the broker answers: a crashed one is registered but not listening.
async fn serving(broker: &TestBroker) -> bool {
    let connect = tokio::net::TcpStream::connect(broker.socket_addr());
    matches!(
        tokio::time::timeout(Duration::from_millis(200), connect).await,
        Ok(Ok(_))
    )
}

/// One fault, picked at random; its name.
async fn inject(rng: &mut fastrand::Rng, broker: &TestBroker) -> Result<&'static str> {
    // A black hole is short: one left on would hold the run's sends to their timeouts.
    broker.black_hole(false);
    Ok(match rng.u8(..8) {
        0 => {
            broker.set_latency(Duration::from_millis(rng.u64(50..800)));
            "latency"
        }
        1 => {
            let code = [
                response::SYSTEM_BUSY,
                response::SYSTEM_ERROR,
                response::FLUSH_DISK_TIMEOUT,
            ][rng.usize(..3)];
            broker.fail_next(code, rng.usize(1..20));
            "error codes"
        }
        2 => {
            broker.drop_connection_after(rng.u64(1..50));
            "dropped connection"
        }
        3 => {
            broker.drop_connection_after_storing(rng.u64(1..50));
            "dropped after storing"
        }
        4 => {
            broker.black_hole(true);
            "black hole"
        }
        5 => {
            broker.restart().await?;
            "restart"
        }
        6 => {
            broker.crash().await;
            "crash (still routed)"
        }
        _ => {
            broker.reset_faults();
            broker.black_hole(false);
            if !serving(broker).await {
                broker.restart().await?;
            }
            "recovery"
        }
    })
}

fn reconcile(
    cluster: &TestCluster,
    ledger: &Ledger,
    injected: &BTreeMap<&str, u64>,
    unresolved: usize,
) -> Result<()> {
    // Every stored copy, and what is at each (broker, queue, offset).
    let mut copies: HashMap<String, u64> = HashMap::new();
    let mut at: HashMap<(String, i32, i64), String> = HashMap::new();
    for broker in cluster.brokers() {
        for stored in broker.messages(TOPIC) {
            if let Some(id) = stored.uniq_key {
                *copies.entry(id.to_string()).or_default() += 1;
                at.insert(
                    (
                        broker.name().to_owned(),
                        stored.queue_id,
                        stored.queue_offset,
                    ),
                    id.to_string(),
                );
            }
        }
    }
    let failed: u64 = ledger.failed.values().sum();
    let resolved = ledger.ok.len() as u64 + failed + ledger.unresolved;
    // An acknowledgement names where the message went: exactly there, not just somewhere.
    let missing = ledger
        .ok
        .iter()
        .filter(|(id, broker, queue, offset)| {
            at.get(&(broker.clone(), *queue, *offset)) != Some(id)
        })
        .count();
    let duplicates: u64 = copies.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    println!("chaos: faults injected {injected:?}");
    println!(
        "chaos: {} sends, {} acknowledged, {failed} failed {:?}, {} stored, {duplicates} duplicates, {missing} acknowledged but not where reported, {} unresolved",
        ledger.issued,
        ledger.ok.len(),
        ledger.failed,
        copies.len(),
        ledger.unresolved + unresolved as u64,
    );
    if resolved != ledger.issued || ledger.unresolved > 0 || unresolved > 0 {
        bail!(
            "{} sends never resolved",
            ledger.unresolved + unresolved as u64 + ledger.issued.saturating_sub(resolved)
        );
    }
    if ledger.ok.is_empty() {
        bail!("no send was acknowledged");
    }
    if missing > 0 {
        bail!("{missing} acknowledged messages are not where their results say");
    }
    println!("chaos: ok");
    Ok(())
}

//! `cargo xtask soak [MINUTES] [--rate N]`: steady async load at a fixed offered rate against
//! an in-process two-broker test cluster whose brokers restart every minute, with the
//! process's RSS and open file descriptors sampled every 10 s. Passes when, at the end, RSS is
//! within 10 % of RSS after warm-up (the first fifth, at least a minute) and the descriptors
//! are back where they were: nothing leaked.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rmq::prelude::*;
use rmq_testkit::TestCluster;
use tokio::time::{Instant, MissedTickBehavior};

const TOPIC: &str = "SoakTopic";
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const RESTART_EVERY: Duration = Duration::from_secs(60);

pub fn run(args: &[String]) -> Result<()> {
    let mut minutes: u64 = 1;
    let mut rate: u64 = 5_000;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rate" => {
                let value = args.next().context("--rate takes messages per second")?;
                rate = value.parse().with_context(|| format!("--rate {value:?}"))?;
            }
            n => {
                minutes = n
                    .parse()
                    .with_context(|| format!("soak takes MINUTES, not {n:?}"))?
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(soak(Duration::from_secs(minutes * 60), rate.max(1)))
}

/// (RSS in KiB, open descriptors) of this process.
fn sample() -> Result<(u64, usize)> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm.split_whitespace().nth(1).context("statm")?.parse()?;
    let fds = std::fs::read_dir("/proc/self/fd")?.count();
    Ok((pages * 4, fds))
}

async fn soak(length: Duration, rate: u64) -> Result<()> {
    // Bounded retention: the brokers' memory stays flat, so RSS tells the client's story.
    let cluster = TestCluster::builder()
        .brokers(2)
        .topic(TOPIC, 4)
        .max_stored_messages(20_000)
        .start()
        .await?;
    let producer = Producer::builder("soak_producer")
        .name_server(cluster.namesrv_addr())
        .poll_name_server_interval(Duration::from_secs(5))
        .heartbeat_interval(Duration::from_secs(5))
        .build()?;
    producer.start().await?;
    println!(
        "soak: {} min at {rate} msg/s offered, brokers restarted every {} s, RSS and descriptors every {} s",
        length.as_secs() / 60,
        RESTART_EVERY.as_secs(),
        SAMPLE_EVERY.as_secs()
    );
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let start = Instant::now();
    let warm_up = (length / 5).max(Duration::from_secs(60)).min(length);
    let mut ticks = tokio::time::interval(Duration::from_millis(10));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let per_tick = (rate / 100).max(1);
    let (mut next_sample, mut next_restart) = (start + SAMPLE_EVERY, start + RESTART_EVERY);
    let mut samples = Vec::new();
    let mut warm = None;
    let brokers = cluster.brokers();
    let mut restarts = 0;
    while start.elapsed() < length {
        ticks.tick().await;
        for _ in 0..per_tick {
            let (done, lost) = (ok.clone(), failed.clone());
            let accepted = producer
                .send_with_callback(Message::new(TOPIC, "soak soak soak soak"), move |r| {
                    let counter = if r.is_ok() { &done } else { &lost };
                    counter.fetch_add(1, Ordering::Relaxed);
                })
                .await;
            if accepted.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        let now = Instant::now();
        if now >= next_restart {
            let broker = &brokers[restarts % brokers.len()];
            broker.restart().await?;
            restarts += 1;
            next_restart += RESTART_EVERY;
        }
        if now >= next_sample {
            let (rss, fds) = sample()?;
            println!(
                "soak: {:>5} s  RSS {:>7} KiB  fds {:>4}  ok {:>9}  failed {:>6}  in flight {}",
                start.elapsed().as_secs(),
                rss,
                fds,
                ok.load(Ordering::Relaxed),
                failed.load(Ordering::Relaxed),
                producer.in_flight().sends
            );
            samples.push((rss, fds));
            if warm.is_none() && start.elapsed() >= warm_up {
                warm = Some((rss, fds));
            }
            next_sample += SAMPLE_EVERY;
        }
    }
    let left = producer.flush(Duration::from_secs(30)).await;
    let (rss, fds) = sample()?;
    let (warm_rss, warm_fds) = warm.unwrap_or((rss, fds));
    println!(
        "soak: end  RSS {rss} KiB (after warm-up {warm_rss}), fds {fds} (after warm-up {warm_fds}), ok {}, failed {}, restarts {restarts}",
        ok.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    producer.shutdown().await;
    if let Err(pending) = left {
        bail!("{pending} sends still pending after the load stopped");
    }
    if rss as f64 > warm_rss as f64 * 1.10 {
        bail!("RSS grew from {warm_rss} KiB to {rss} KiB (more than 10 %)");
    }
    // Connections come and go with the restarts; a leak grows past a handful.
    if fds > warm_fds + 8 {
        bail!("open descriptors grew from {warm_fds} to {fds}");
    }
    println!("soak: ok");
    Ok(())
}

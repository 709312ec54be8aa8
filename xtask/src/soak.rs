//! `cargo xtask soak [MINUTES] [--rate N]`: steady async load at a fixed offered rate against
//! an in-process two-broker test cluster whose brokers restart every minute, with the
//! process's RSS and open file descriptors sampled every 10 s. Passes when the median RSS of
//! the last fifth is within 10 % of the median after warm-up (the first fifth, at least a
//! minute), the descriptors are back where they were, brokers did restart, and at most 1 % of
//! sends failed: nothing leaked, and the load was real.

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
    let mut minutes: u64 = 5;
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
    if minutes < 2 {
        bail!("a soak needs at least 2 minutes: a warm-up, then time to grow");
    }
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
    // (seconds since the start, RSS KiB, open descriptors)
    let mut samples: Vec<(u64, u64, usize)> = Vec::new();
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
            samples.push((start.elapsed().as_secs(), rss, fds));
            next_sample += SAMPLE_EVERY;
        }
    }
    let left = producer.flush(Duration::from_secs(30)).await;
    producer.shutdown().await;
    // Under load both times: the fifth after warm-up, and the last fifth.
    let fifth = length.as_secs() / 5;
    let warm_from = warm_up.as_secs();
    let window = |from: u64, to: u64| -> (u64, usize) {
        let mut rss: Vec<u64> = Vec::new();
        let mut fds = 0;
        for (at, r, f) in &samples {
            if (from..to).contains(at) {
                rss.push(*r);
                fds = fds.max(*f);
            }
        }
        rss.sort_unstable();
        (rss.get(rss.len() / 2).copied().unwrap_or(0), fds)
    };
    let (warm_rss, warm_fds) = window(warm_from, warm_from + fifth.max(10));
    let (end_rss, end_fds) = window(length.as_secs().saturating_sub(fifth), u64::MAX);
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "soak: end  median RSS {end_rss} KiB (after warm-up {warm_rss}), fds {end_fds} (after warm-up {warm_fds}), ok {ok}, failed {failed}, restarts {restarts}"
    );
    if let Err(pending) = left {
        bail!("{pending} sends still pending after the load stopped");
    }
    if warm_rss == 0 || end_rss == 0 || restarts == 0 {
        bail!("too short to judge: no sample after warm-up, or no broker restart");
    }
    if failed * 100 > ok {
        bail!("{failed} of {} sends failed: more than 1 %", ok + failed);
    }
    if end_rss as f64 > warm_rss as f64 * 1.10 {
        bail!("RSS grew from {warm_rss} KiB to {end_rss} KiB (more than 10 %)");
    }
    // Connections come and go with the restarts; a leak grows past a handful.
    if end_fds > warm_fds + 8 {
        bail!("open descriptors grew from {warm_fds} to {end_fds}");
    }
    println!("soak: ok");
    Ok(())
}

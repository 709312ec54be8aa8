//! `rmq bench`: drives a producer flat out for a while and reports throughput and latency, in
//! the manner of Java's `benchmark.Producer` (one line each second, then a summary).
//!
//! `--concurrency N` sends in flight: async mode keeps N from one task (each answer's callback
//! makes room for the next); the other modes run N workers, each with one send (sync or
//! oneway) or one batch of `--batch` messages out. Latency is measured per send, from the
//! call (or, with `--rate`, from the time it was due) to its result.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use rmq::common::ByteString;
use rmq::prelude::*;
use rmq::remoting::SerializeType;
use serde_json::json;

use crate::cli::{BenchArgs, BenchMode};
use crate::resources;
use crate::stats::{Latency, Stats, micros};
use crate::target::EmbeddedCluster;

/// The outcome of a run; `--json` prints it as the last line of stdout.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchReport {
    /// `sync`, `async`, `oneway` or `batch`.
    pub mode: &'static str,
    /// Whether single messages were batched automatically.
    pub auto_batch: bool,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// Body size in bytes.
    pub size: usize,
    /// Measured seconds.
    pub seconds: f64,
    /// Messages acknowledged (oneway: written).
    pub ok: u64,
    /// Messages failed.
    pub failed: u64,
    /// Acknowledged messages per second.
    pub tps: f64,
    /// Latency per send, µs.
    pub lat_us: Latency,
    /// CPU time of this process per acknowledged message, µs (the embedded cluster's excluded).
    pub cpu_us_per_msg: f64,
    /// Peak resident memory of this process, KiB.
    pub max_rss_kib: u64,
}

impl BenchReport {
    /// The one-line JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "mode": self.mode,
            "auto_batch": self.auto_batch,
            "concurrency": self.concurrency,
            "size": self.size,
            "seconds": self.seconds,
            "ok": self.ok,
            "failed": self.failed,
            "tps": self.tps,
            "lat_us": {
                "avg": self.lat_us.avg,
                "p50": self.lat_us.p50,
                "p90": self.lat_us.p90,
                "p99": self.lat_us.p99,
                "p999": self.lat_us.p999,
                "max": self.lat_us.max,
            },
            "cpu_us_per_msg": self.cpu_us_per_msg,
            "max_rss_kib": self.max_rss_kib,
        })
    }
}

/// What a run needs besides the flags.
#[derive(Clone, Debug)]
pub struct BenchTarget<'a> {
    /// Name server addresses.
    pub namesrv: &'a str,
    /// Producer group.
    pub group: &'a str,
    /// Topic.
    pub topic: &'a str,
    /// Header serialization.
    pub serialize_type: SerializeType,
    /// The embedded cluster serving the run, whose CPU time is left out of the figures.
    pub embedded: Option<&'a EmbeddedCluster>,
    /// ACL signing and TLS.
    pub security: &'a crate::security::Security,
}

/// Runs the benchmark, printing a line each second and a summary.
pub async fn run(target: &BenchTarget<'_>, args: &BenchArgs) -> Result<BenchReport> {
    let concurrency = args.concurrency.max(1);
    let mut builder = target
        .security
        .producer(Producer::builder(target.group))
        .namesrv_addr(target.namesrv)
        .serialize_type(target.serialize_type)
        .async_permits(concurrency.max(1024))
        // Every worker's send in flight at once: the benchmark sets the load, not the limit.
        .max_async_in_flight(concurrency.max(10_000));
    if let Some(kind) = args.compress {
        builder = builder.compress_type(kind.into()).compress_threshold(1);
    }
    if args.msg_trace {
        builder = builder.msg_trace(true);
    }
    if let Some(batching) = args.auto_batch() {
        builder = builder.auto_batch(batching);
    }
    if let Some(addr) = args.metrics {
        // Before the producer starts, so its handles record.
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        eprintln!("metrics on http://{addr}/metrics");
    }
    let producer = builder.build()?;
    producer.start().await?;
    let body = Bytes::from(vec![b'a'; args.size]);
    // Warm up: fetch the route (and create the topic) outside the measurement.
    producer
        .send(Message::new(target.topic, body.clone()))
        .await?;

    let topic = ByteString::from(target.topic);
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let server_cpu = || {
        target
            .embedded
            .map(EmbeddedCluster::cpu)
            .unwrap_or_default()
    };
    // Sends are scheduled from `origin`; the figures count from `started`, after the warm-up.
    let origin = Instant::now();
    let target = Arc::new(SendTarget {
        producer: producer.clone(),
        topic,
        body,
    });
    // With a rate, worker `i` sends at start + (i + k × workers) / rate, for k = 0, 1, …
    let every = args
        .rate
        .map(|rate| Duration::from_secs_f64(concurrency as f64 / rate.get() as f64));
    let run = Run {
        stats: stats.clone(),
        stop: stop.clone(),
        target: target.clone(),
    };
    let workers: Vec<_> = match args.mode {
        // One task keeps every async send in flight: a task per send would weigh more than
        // the send, and a user with many sends in flight issues them from few tasks.
        BenchMode::Async => vec![tokio::spawn(run.window(concurrency, every, origin))],
        mode => (0..concurrency)
            .map(|i| {
                let worker = Worker {
                    run: run.clone(),
                    schedule: every.map(|every| Schedule {
                        next: origin + every.mul_f64(i as f64 / concurrency as f64),
                        every,
                    }),
                };
                // One loop per mode, so each worker task holds only its own mode's future.
                match mode {
                    BenchMode::Sync => worker.spawn(SyncSend),
                    BenchMode::Oneway => worker.spawn(OnewaySend),
                    _ => worker.spawn(BatchSend(args.batch.max(1))),
                }
            })
            .collect(),
    };

    if args.warmup > 0 {
        tokio::time::sleep(Duration::from_secs(args.warmup)).await;
        stats.reset();
    }
    let (usage_before, server_before) = (resources::now(), server_cpu());
    let started = Instant::now();
    let reporter = {
        let (stats, duration) = (stats.clone(), args.duration);
        tokio::task::spawn_blocking(move || report_each_second(&stats, duration, started))
    };
    let reported = reporter.await.context("the reporting thread failed");
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (usage_after, server_after) = (resources::now(), server_cpu());
    stats.take_interval();
    producer.shutdown().await;
    reported?;

    let (lat_us, histogram) = stats.total();
    let ok = stats.ok();
    let cpu = usage_after
        .cpu
        .saturating_sub(usage_before.cpu)
        .saturating_sub(server_after.saturating_sub(server_before));
    let report = BenchReport {
        mode: args.mode.name(),
        auto_batch: args.auto_batch,
        concurrency,
        size: args.size,
        seconds,
        ok,
        failed: stats.failed(),
        tps: ok as f64 / seconds.max(f64::EPSILON),
        lat_us,
        cpu_us_per_msg: cpu.as_secs_f64() * 1e6 / ok.max(1) as f64,
        max_rss_kib: usage_after.max_rss_kib,
    };
    print_summary(&report, &histogram);
    if args.json {
        println!("{}", report.to_json());
    }
    Ok(report)
}

/// Where every send goes.
struct SendTarget {
    producer: Producer,
    /// Shared: each message holds the topic without copying it.
    topic: ByteString,
    body: Bytes,
}

impl SendTarget {
    fn message(&self) -> Message {
        Message::new(self.topic.clone(), self.body.clone())
    }
}

/// One send (or batch) in one mode; resolves to how many messages it carried.
trait SendOnce: Send + Sync + 'static {
    fn send<'a>(
        &'a self,
        target: &'a SendTarget,
    ) -> impl Future<Output = (u64, rmq::Result<()>)> + Send + 'a;
}

struct SyncSend;
struct OnewaySend;
/// Batches of this many messages.
struct BatchSend(usize);

impl SendOnce for SyncSend {
    async fn send(&self, target: &SendTarget) -> (u64, rmq::Result<()>) {
        let outcome = target.producer.send(target.message()).await;
        (1, outcome.map(drop).map_err(rmq::Error::from))
    }
}

impl SendOnce for OnewaySend {
    async fn send(&self, target: &SendTarget) -> (u64, rmq::Result<()>) {
        let outcome = target.producer.send_oneway(target.message()).await;
        (1, outcome.map_err(rmq::Error::from))
    }
}

impl SendOnce for BatchSend {
    async fn send(&self, target: &SendTarget) -> (u64, rmq::Result<()>) {
        let messages: Vec<Message> = (0..self.0).map(|_| target.message()).collect();
        let outcome = target.producer.send_batch(messages).await;
        let outcome = outcome.map(drop).map_err(rmq::Error::from);
        (self.0 as u64, outcome)
    }
}

/// What every sender shares: where sends go, where results go, and when to stop.
#[derive(Clone)]
struct Run {
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    target: Arc<SendTarget>,
}

impl Run {
    /// Async mode: keeps up to `window` sends in flight, each answer (through its callback)
    /// making room for the next. With a rate, `every` is a worker's interval: sends are due
    /// at `started + k × every / window` and their latency counts from then, a send due while
    /// the window is full waiting (the queueing a fixed load meets).
    async fn window(self, window: usize, every: Option<Duration>, started: Instant) {
        let (room_tx, mut room) = tokio::sync::mpsc::unbounded_channel::<()>();
        let interval = every.map(|every| every.div_f64(window as f64));
        let mut free = window;
        let mut due = started;
        while !self.stop.load(Ordering::Relaxed) {
            while let Ok(()) = room.try_recv() {
                free += 1;
            }
            if free == 0 {
                // Rechecks the stop flag at least every 100 ms.
                let wait = Duration::from_millis(100);
                if let Ok(Some(())) = tokio::time::timeout(wait, room.recv()).await {
                    free += 1;
                }
                continue;
            }
            let begin = match interval {
                Some(interval) => {
                    let at = due;
                    due += interval;
                    pace(at).await;
                    at
                }
                None => Instant::now(),
            };
            let (stats, room_tx) = (self.stats.clone(), room_tx.clone());
            let accepted = self
                .target
                .producer
                .send_with_callback(self.target.message(), move |outcome| {
                    match outcome {
                        Ok(_) => stats.record_ok(1, begin.elapsed().as_micros() as u64),
                        Err(_) => stats.record_failed(1),
                    }
                    let _ = room_tx.send(());
                })
                .await;
            match accepted {
                Ok(()) => free -= 1,
                Err(_) => self.stats.record_failed(1),
            }
        }
        // The sends still out finish before the run's figures are taken.
        while free < window {
            match tokio::time::timeout(Duration::from_secs(10), room.recv()).await {
                Ok(Some(())) => free += 1,
                _ => break,
            }
        }
    }
}

/// Waits until `at`: on tokio's timer (which ticks each millisecond) until the last
/// millisecond, then by yielding, so a paced send leaves within microseconds of its time.
async fn pace(at: Instant) {
    let coarse = at.checked_sub(Duration::from_millis(1));
    if let Some(coarse) = coarse.filter(|c| *c > Instant::now()) {
        tokio::time::sleep_until(coarse.into()).await;
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

/// A sync, oneway or batch sender: one send after another until stopped; with a fixed rate,
/// its own schedule.
struct Worker {
    run: Run,
    schedule: Option<Schedule>,
}

/// When a worker's next send is due, at a fixed offered rate.
struct Schedule {
    next: Instant,
    every: Duration,
}

impl Worker {
    /// Runs sends one after another until stopped; with a schedule, each at its due time,
    /// its latency counted from then (a send due while the previous one was out waited, and
    /// that wait is the queueing a fixed load meets).
    fn spawn(mut self, mode: impl SendOnce) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let Run {
                stats,
                stop,
                target,
            } = self.run;
            while !stop.load(Ordering::Relaxed) {
                let begin = match &mut self.schedule {
                    Some(schedule) => {
                        let due = schedule.next;
                        schedule.next += schedule.every;
                        pace(due).await;
                        due
                    }
                    None => Instant::now(),
                };
                let (messages, outcome) = mode.send(&target).await;
                match outcome {
                    Ok(()) => stats.record_ok(messages, begin.elapsed().as_micros() as u64),
                    Err(_) => stats.record_failed(messages),
                }
            }
        })
    }
}

/// Prints a line each second under a live progress bar until the run's duration is over.
/// Runs on a thread of its own: summing a second's histogram takes about a millisecond, which
/// on the runtime's thread would stall the sends it measures (and show in their latency).
fn report_each_second(stats: &Stats, duration: u64, started: Instant) {
    let progress = ProgressBar::new(duration);
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len}s {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut last_ok = 0;
    for second in 1..=duration {
        let due = started + Duration::from_secs(second);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let (ok, failed) = (stats.ok(), stats.failed());
        let lat = stats.take_interval();
        let line = format!(
            "[{second:>4}s] send TPS {:>8} | ok {:>10} | failed {:>6} | avg {:>8} p50 {:>8} p99 {:>8} max {:>8}",
            ok - last_ok,
            ok,
            failed,
            micros(lat.avg),
            micros(lat.p50 as f64),
            micros(lat.p99 as f64),
            micros(lat.max as f64),
        );
        last_ok = ok;
        if progress.is_hidden() {
            println!("{line}");
        } else {
            progress.println(&line);
        }
        progress.set_position(second);
        progress.set_message(format!(
            "{:.0} msg/s overall, {failed} failed",
            ok as f64 / started.elapsed().as_secs_f64()
        ));
    }
    progress.finish_and_clear();
}

fn print_summary(report: &BenchReport, histogram: &hdrhistogram::Histogram<u64>) {
    println!(
        "\n{}{} x{} {} B: {} ok, {} failed in {:.1} s = {:.0} msg/s",
        report.mode,
        if report.auto_batch {
            " (auto-batch)"
        } else {
            ""
        },
        report.concurrency,
        report.size,
        report.ok,
        report.failed,
        report.seconds,
        report.tps
    );
    println!(
        "client: {:.2} µs CPU per message, max RSS {} KiB",
        report.cpu_us_per_msg, report.max_rss_kib
    );
    println!(
        "latency percentiles (HDR histogram, {} samples):",
        histogram.len()
    );
    for quantile in [0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0] {
        println!(
            "  {:>8.4}%  {:>10}",
            quantile * 100.0,
            micros(histogram.value_at_quantile(quantile) as f64)
        );
    }
}

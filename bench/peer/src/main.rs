//! `rmq-peer-bench`: rocketmq-client-rust 1.0.0 driven exactly as `rmq bench` drives rmq
//! (same modes, workers, body size and duration), printing the same JSON object as its last
//! line, so `cargo xtask bench` can put the two clients side by side.
//!
//! `rmq-peer-bench --namesrv HOST:PORT --topic T --mode sync|async|oneway|batch
//!  --concurrency N --size BYTES --duration SECS [--batch N]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use rocketmq_client_rust::{ClientRuntime, ClientRuntimeConfig, DefaultMQProducer};
use rocketmq_model::common::message::message_single::Message;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

const TIMEOUT_MS: u64 = 3000;

struct Args {
    namesrv: String,
    topic: String,
    mode: String,
    concurrency: usize,
    size: usize,
    duration: u64,
    batch: usize,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        namesrv: "127.0.0.1:9876".into(),
        topic: "BenchTopic".into(),
        mode: "async".into(),
        concurrency: 64,
        size: 1024,
        duration: 10,
        batch: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} needs a number"))
        };
        match flag.as_str() {
            "--namesrv" => args.namesrv = value,
            "--topic" => args.topic = value,
            "--mode" => args.mode = value,
            "--concurrency" => args.concurrency = number()? as usize,
            "--size" => args.size = number()? as usize,
            "--duration" => args.duration = number()?,
            "--batch" => args.batch = number()? as usize,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn cpu_and_rss() -> (Duration, u64) {
    use nix::sys::resource::{UsageWho, getrusage};
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let d = |tv: nix::sys::time::TimeVal| {
                Duration::new(
                    tv.tv_sec().max(0) as u64,
                    (tv.tv_usec().max(0) as u32) * 1000,
                )
            };
            (
                d(u.user_time()) + d(u.system_time()),
                u.max_rss().max(0) as u64,
            )
        }
        Err(_) => (Duration::ZERO, 0),
    }
}

fn message(topic: &str, body: &Bytes) -> Message {
    Message::builder()
        .topic(topic)
        .body(body.clone())
        .build_unchecked()
}

/// One send (or batch) in `mode`; how many messages it carried and whether it succeeded.
async fn send_once(producer: &DefaultMQProducer, args: &Args, body: &Bytes) -> (u64, bool) {
    match args.mode.as_str() {
        "sync" => {
            let ok = producer
                .send_with_timeout(message(&args.topic, body), TIMEOUT_MS)
                .await;
            (1, matches!(ok, Ok(Some(_))))
        }
        "async" => {
            let (tx, rx) = tokio::sync::oneshot::channel::<bool>();
            let tx = std::sync::Mutex::new(Some(tx));
            let accepted = producer
                .send_with_callback_timeout(
                    message(&args.topic, body),
                    move |result, error| {
                        if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                            let _ = tx.send(result.is_some() && error.is_none());
                        }
                    },
                    TIMEOUT_MS,
                )
                .await;
            let ok = accepted.is_ok() && rx.await.unwrap_or(false);
            (1, ok)
        }
        "oneway" => (
            1,
            producer
                .send_oneway(message(&args.topic, body))
                .await
                .is_ok(),
        ),
        _ => {
            let batch: Vec<Message> = (0..args.batch)
                .map(|_| message(&args.topic, body))
                .collect();
            let ok = producer
                .send_batch_with_timeout(batch, TIMEOUT_MS)
                .await
                .is_ok();
            (args.batch as u64, ok)
        }
    }
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        // The last stdout line is what `cargo xtask bench` records, failures included.
        println!("{}", serde_json::json!({ "error": e }));
        std::process::exit(1);
    }
}

/// The error's code, e.g. `core.serialization.failed`; the peer redacts everything else.
fn code(e: &impl std::fmt::Debug) -> String {
    let text = format!("{e:?}");
    match text
        .split_once("ErrorCode(\"")
        .and_then(|(_, rest)| rest.split_once('"'))
    {
        Some((code, _)) => code.to_owned(),
        None => text.chars().take(160).collect(),
    }
}

async fn run() -> Result<(), String> {
    let args = Arc::new(parse()?);
    let owner = RuntimeOwner::plan(RuntimeConfig {
        thread_name: "rmq-peer-bench".into(),
        ..Default::default()
    })
    .map_err(|e| format!("runtime plan: {e:?}"))?
    .build()
    .map_err(|e| format!("runtime: {e:?}"))?;
    let telemetry = rocketmq_observability::install_global(
        &rocketmq_observability::TelemetryBootstrapConfig::default(),
    )
    .map_err(|e| format!("telemetry: {e:?}"))?;
    let client_runtime: Arc<ClientRuntime> = ClientRuntime::try_new(
        owner.root_context().component("client"),
        ClientRuntimeConfig::default(),
        telemetry.handle(),
    )
    .map_err(|e| format!("client runtime: {e:?}"))?;
    let mut producer = DefaultMQProducer::builder(client_runtime)
        .producer_group("rmq_peer_bench")
        .name_server_addr(args.namesrv.clone())
        .build();
    producer
        .start()
        .await
        .map_err(|e| format!("start: {}", code(&e)))?;
    let body = Bytes::from(vec![b'a'; args.size]);
    // Warm up: route and topic creation outside the measurement.
    producer
        .send_with_timeout(message(&args.topic, &body), TIMEOUT_MS)
        .await
        .map_err(|e| format!("first send: {}", code(&e)))?;

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).map_err(|e| e.to_string())?,
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let (cpu_before, _) = cpu_and_rss();
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency.max(1))
        .map(|_| {
            let (producer, args, body) = (producer.clone(), args.clone(), body.clone());
            let (ok, failed, latencies, stop) =
                (ok.clone(), failed.clone(), latencies.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let begin = Instant::now();
                    let (messages, success) = send_once(&producer, &args, &body).await;
                    if success {
                        ok.fetch_add(messages, Ordering::Relaxed);
                        let us = (begin.elapsed().as_micros() as u64).clamp(1, 3_600_000_000);
                        if let Ok(mut h) = latencies.lock() {
                            let _ = h.record(us);
                        }
                    } else {
                        failed.fetch_add(messages, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (cpu_after, rss) = cpu_and_rss();
    producer.shutdown().await;
    let ok = ok.load(Ordering::Relaxed);
    let h = latencies
        .lock()
        .map_err(|_| "histogram lock poisoned".to_string())?
        .clone();
    let q = |x: f64| {
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(x)
        }
    };
    let report = serde_json::json!({
        "mode": args.mode,
        "concurrency": args.concurrency,
        "size": args.size,
        "seconds": seconds,
        "ok": ok,
        "failed": failed.load(Ordering::Relaxed),
        "tps": ok as f64 / seconds.max(f64::EPSILON),
        "lat_us": {
            "avg": if h.is_empty() { 0.0 } else { h.mean() },
            "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999),
            "max": if h.is_empty() { 0 } else { h.max() },
        },
        "cpu_us_per_msg": cpu_after.saturating_sub(cpu_before).as_secs_f64() * 1e6 / ok.max(1) as f64,
        "max_rss_kib": rss,
    });
    println!("{report}");
    Ok(())
}

//! Pipelined async round trips of 1 KiB requests over loopback, client against this crate's
//! server: messages per second and CPU per message on each side.
//!
//! `cargo bench -p rmq-remoting --bench pipeline [-- SECONDS]` (or `cargo xtask bench`).
//! Client and server each run a single-threaded runtime on their own thread, so each side's
//! CPU time is read from that thread alone (`/proc/thread-self/stat`; Linux).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rmq_remoting::code::response;
use rmq_remoting::{Channel, RemotingClient, RemotingCommand, RemotingServer, SerializeType};

const CODE: i32 = 310;
const WINDOW: usize = 256;

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // Linux reports in USER_HZ, 100 per second on every mainstream configuration.
    Duration::from_millis(ticks * 10)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

struct Run {
    messages: u64,
    wall: Duration,
    client_cpu: Duration,
    server_cpu: Duration,
}

fn run(serialize_type: SerializeType, seconds: u64) -> Run {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (cpu_tx, cpu_rx) = mpsc::channel();
    let server = std::thread::spawn(move || {
        runtime().block_on(async move {
            let server = RemotingServer::builder().build();
            server.register_processor(CODE, |_: Channel, _req: RemotingCommand| async move {
                Some(RemotingCommand::response(response::SUCCESS).with_ext_field("queueId", "1"))
            });
            let handle = server.bind("127.0.0.1:0").await.expect("binds");
            let start = thread_cpu();
            addr_tx
                .send(handle.local_addr().to_string())
                .expect("send addr");
            let _ = stop_rx.await;
            cpu_tx.send(thread_cpu() - start).expect("send cpu");
        })
    });
    let addr = addr_rx.recv().expect("server address");

    let body = Bytes::from(vec![b'x'; 1024]);
    let result = std::thread::spawn(move || {
        runtime().block_on(async move {
            let client = RemotingClient::builder().build().expect("client");
            let request = RemotingCommand::request(CODE)
                .with_ext_field("b", "TopicTest")
                .with_ext_field("e", "1")
                .with_body(body)
                .with_serialize_type(serialize_type);
            client
                .connect(&addr, Duration::from_secs(3))
                .await
                .expect("connects");
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let cpu_start = thread_cpu();
            let started = Instant::now();
            let mut in_flight = FuturesUnordered::new();
            let mut messages = 0u64;
            loop {
                while in_flight.len() < WINDOW && Instant::now() < deadline {
                    let pending = client
                        .invoke_async(&addr, request.clone(), Duration::from_secs(10))
                        .await
                        .expect("queued");
                    in_flight.push(pending);
                }
                match in_flight.next().await {
                    Some(response) => {
                        response.expect("response");
                        messages += 1;
                    }
                    None => break,
                }
            }
            (messages, started.elapsed(), thread_cpu() - cpu_start)
        })
    })
    .join()
    .expect("client thread");
    let _ = stop_tx.send(());
    let server_cpu = cpu_rx.recv().expect("server cpu");
    server.join().expect("server thread");
    Run {
        messages: result.0,
        wall: result.1,
        client_cpu: result.2,
        server_cpu,
    }
}

fn main() {
    let seconds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    println!("pipelined async round trips, 1 KiB body, {WINDOW} in flight, {seconds} s per run");
    for (name, serialize_type) in [
        ("ROCKETMQ", SerializeType::RocketMq),
        ("JSON", SerializeType::Json),
    ] {
        let r = run(serialize_type, seconds);
        let per_msg = |d: Duration| d.as_secs_f64() * 1e6 / r.messages.max(1) as f64;
        println!(
            "{name:<8} {:>9.0} msg/s  client CPU {:>5.2} µs/msg  server CPU {:>5.2} µs/msg  ({} messages)",
            r.messages as f64 / r.wall.as_secs_f64(),
            per_msg(r.client_cpu),
            per_msg(r.server_cpu),
            r.messages
        );
    }
}

//! The end-to-end benchmark matrix of `cargo xtask bench`: `rmq bench` in every mode at
//! concurrency 1, 8, 64 and 256, against rmq's test broker run as its own process (so the
//! client's CPU and memory are the client's alone) and against the rocketmq-rust servers;
//! the results become `docs/benchmarks.md`.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::root;

const MODES: [&str; 4] = ["sync", "async", "oneway", "batch"];
const CONCURRENCY: [u32; 4] = [1, 8, 64, 256];

/// One `rmq bench --json` result.
struct Row {
    target: &'static str,
    report: Value,
}

/// Kills the test broker however the run ends.
struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(seconds: u64, real: bool) -> Result<()> {
    crate::run(
        "cargo",
        &["build", "--release", "-p", "rmq-cli", "-p", "rmq-testkit"],
        &[],
    )?;
    let bin = root().join("target").join("release");
    let mut rows = Vec::new();

    let port = free_port()?;
    let broker = Broker(
        Command::new(bin.join("rmq-testkit"))
            .args([
                "--brokers",
                "1",
                "--namesrv-port",
                &port.to_string(),
                "--topic",
                "BenchTopic:8",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("could not start rmq-testkit")?,
    );
    let namesrv = format!("127.0.0.1:{port}");
    wait_for_port(port)?;
    for mode in MODES {
        for concurrency in CONCURRENCY {
            rows.push(Row {
                target: "rmq-testkit",
                report: bench(&bin.join("rmq"), &namesrv, mode, concurrency, seconds)?,
            });
        }
    }
    drop(broker);

    if real {
        let servers = crate::e2e::RealServers::start()?;
        for mode in MODES {
            for concurrency in CONCURRENCY {
                rows.push(Row {
                    target: "rocketmq-rust 1.0.0",
                    report: bench(
                        &bin.join("rmq"),
                        &servers.namesrv(),
                        mode,
                        concurrency,
                        seconds,
                    )?,
                });
            }
        }
    }
    let doc = render(&rows, seconds)?;
    let path = root().join("docs").join("benchmarks.md");
    std::fs::write(&path, doc)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn bench(rmq: &Path, namesrv: &str, mode: &str, concurrency: u32, seconds: u64) -> Result<Value> {
    println!("$ rmq bench --mode {mode} --concurrency {concurrency} ({namesrv})");
    let out = Command::new(rmq)
        .args([
            "--namesrv",
            namesrv,
            "--topic",
            "BenchTopic",
            "--serialization",
            "rocketmq",
        ])
        .args([
            "bench",
            "--mode",
            mode,
            "--concurrency",
            &concurrency.to_string(),
        ])
        .args([
            "--duration",
            &seconds.to_string(),
            "--size",
            "1024",
            "--json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("could not run rmq bench")?;
    if !out.status.success() {
        bail!("rmq bench failed with {}", out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().context("rmq bench printed nothing")?;
    serde_json::from_str(last).with_context(|| format!("rmq bench's last line is not JSON: {last}"))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("rmq-testkit did not listen on port {port}")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {rustc}")
}

fn render(rows: &[Row], seconds: u64) -> Result<String> {
    let mut doc = String::new();
    writeln!(doc, "# Benchmarks\n")?;
    writeln!(
        doc,
        "Generated by `cargo xtask bench`; do not edit by hand. Machine: {}.\n",
        machine()
    )?;
    writeln!(
        doc,
        "Each row is `rmq bench --mode M --concurrency C --size 1024 --duration {seconds} \
         --serialization rocketmq --json` against a name server and one broker on loopback: \
         rmq's test broker (`rmq-testkit`, in-memory, its own process) or the rocketmq-rust \
         1.0.0 servers. Client CPU and peak RSS are the `rmq` process's own (getrusage). \
         The peer comparison with rocketmq-client-rust is not in this table yet.\n"
    )?;
    writeln!(
        doc,
        "| broker | mode | concurrency | msg/s | p50 µs | p99 µs | max µs | client CPU µs/msg | RSS KiB | failed |"
    )?;
    writeln!(doc, "|---|---|---|---|---|---|---|---|---|---|")?;
    for row in rows {
        let r = &row.report;
        let lat = &r["lat_us"];
        writeln!(
            doc,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {:.2} | {} | {} |",
            row.target,
            r["mode"].as_str().unwrap_or("?"),
            r["concurrency"],
            r["tps"].as_f64().unwrap_or(0.0),
            lat["p50"],
            lat["p99"],
            lat["max"],
            r["cpu_us_per_msg"].as_f64().unwrap_or(0.0),
            r["max_rss_kib"],
            r["failed"],
        )?;
    }
    Ok(doc)
}

//! The end-to-end benchmark matrix of `cargo xtask bench`: `rmq bench` in every mode at
//! concurrency 1, 8, 64 and 256, against rmq's test broker run as its own process (so the
//! client's CPU and memory are the client's alone) and against the rocketmq-rust servers; and
//! the same runs of the peer, rocketmq-client-rust 1.0.0, through `bench/peer` (built apart
//! from the workspace, into the e2e cache). The results become `docs/benchmarks.md`, which
//! opens with the four targets of the project, each measured by its own `rmq bench` run.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::root;

const MODES: [&str; 4] = ["sync", "async", "oneway", "batch"];
const CONCURRENCY: [u32; 4] = [1, 8, 64, 256];

/// One run: which client against which broker, and its JSON report or why it failed.
struct Row {
    client: &'static str,
    target: &'static str,
    mode: &'static str,
    concurrency: u32,
    report: Result<Value, String>,
}

const RMQ: &str = "rmq";
const PEER: &str = "rocketmq-client-rust 1.0.0";

/// Kills the test broker however the run ends.
struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(seconds: u64, real: bool, peer: bool) -> Result<()> {
    crate::run(
        "cargo",
        &["build", "--release", "-p", "rmq-cli", "-p", "rmq-testkit"],
        &[],
    )?;
    let bin = root().join("target").join("release");
    let mut clients: Vec<(&'static str, PathBuf)> = vec![(RMQ, bin.join("rmq"))];
    if peer {
        clients.push((PEER, build_peer()?));
    }
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
    wait_for_port(port)?;
    let testkit_namesrv = format!("127.0.0.1:{port}");
    let targets = measure_targets(&bin.join("rmq"), &testkit_namesrv, seconds);
    let observability = measure_observability(&bin.join("rmq"), seconds);
    let mut pipeline = crate::pipeline::measure(&bin.join("rmq"), &testkit_namesrv, seconds);
    run_all(
        &clients,
        "rmq-testkit",
        &testkit_namesrv,
        seconds,
        &mut rows,
    );
    drop(broker);

    if real {
        let servers = crate::e2e::RealServers::start()?;
        pipeline.measure_real(&bin.join("rmq"), &servers.namesrv(), seconds);
        run_all(
            &clients,
            "rocketmq-rust 1.0.0",
            &servers.namesrv(),
            seconds,
            &mut rows,
        );
    }
    let docs = root().join("docs");
    let panels: Vec<(&str, Vec<crate::plot::Series>)> = ["rmq-testkit", "rocketmq-rust 1.0.0"]
        .into_iter()
        .map(|target| (target, series(&rows, target)))
        .collect();
    crate::plot::write(&docs.join("benchmarks.svg"), &panels)?;
    let doc = render(&targets, &observability, &pipeline, &rows, seconds)?;
    let path = docs.join("benchmarks.md");
    std::fs::write(&path, doc)?;
    println!("wrote {} and benchmarks.svg", path.display());
    Ok(())
}

/// One chart line per client and mode against `target`.
fn series(rows: &[Row], target: &str) -> Vec<crate::plot::Series> {
    let mut out = Vec::new();
    for client in [RMQ, PEER] {
        for mode in MODES {
            let points: Vec<(u32, &Value)> = rows
                .iter()
                .filter(|r| r.client == client && r.target == target && r.mode == mode)
                .filter_map(|r| r.report.as_ref().ok().map(|v| (r.concurrency, v)))
                .collect();
            if points.is_empty() {
                continue;
            }
            out.push(crate::plot::Series {
                label: format!("{} {mode}", if client == RMQ { "rmq" } else { "peer" }),
                tps: points
                    .iter()
                    .map(|(c, v)| (*c, v["tps"].as_f64().unwrap_or(0.0)))
                    .collect(),
                p99_us: points
                    .iter()
                    .map(|(c, v)| (*c, v["lat_us"]["p99"].as_f64().unwrap_or(0.0)))
                    .collect(),
            });
        }
    }
    out
}

/// Builds the peer driver into the e2e cache, outside the workspace's target.
fn build_peer() -> Result<PathBuf> {
    let target = crate::e2e::cache_dir()?.join("target");
    let manifest = root().join("bench").join("peer").join("Cargo.toml");
    let (manifest, target_dir) = (manifest.to_string_lossy(), target.to_string_lossy());
    crate::run(
        "cargo",
        &[
            "build",
            "--release",
            "--locked",
            "--manifest-path",
            &manifest,
            "--target-dir",
            &target_dir,
        ],
        &[],
    )?;
    Ok(target.join("release").join("rmq-peer-bench"))
}

fn run_all(
    clients: &[(&'static str, PathBuf)],
    target: &'static str,
    namesrv: &str,
    seconds: u64,
    rows: &mut Vec<Row>,
) {
    for (client, bin) in clients {
        for mode in MODES {
            for concurrency in CONCURRENCY {
                let report = bench(client, bin, namesrv, mode, concurrency, seconds);
                if let Err(e) = &report {
                    println!("  {client} {mode} x{concurrency} against {target}: {e}");
                }
                rows.push(Row {
                    client,
                    target,
                    mode,
                    concurrency,
                    report,
                });
            }
        }
    }
}

fn bench(
    client: &str,
    bin: &Path,
    namesrv: &str,
    mode: &str,
    concurrency: u32,
    seconds: u64,
) -> Result<Value, String> {
    println!("$ {client} bench --mode {mode} --concurrency {concurrency} ({namesrv})");
    let (concurrency, seconds) = (concurrency.to_string(), seconds.to_string());
    let mut cmd = Command::new(bin);
    if client == RMQ {
        cmd.args([
            "--namesrv",
            namesrv,
            "--topic",
            "BenchTopic",
            "--serialization",
            "rocketmq",
        ])
        .args(["bench", "--mode", mode, "--concurrency", &concurrency])
        .args(["--duration", &seconds, "--size", "1024", "--json"]);
    } else {
        cmd.args([
            "--namesrv",
            namesrv,
            "--topic",
            "BenchTopic",
            "--mode",
            mode,
        ])
        .args([
            "--concurrency",
            &concurrency,
            "--duration",
            &seconds,
            "--size",
            "1024",
        ]);
    }
    report_of(cmd, seconds.parse().unwrap_or(5))
}

/// Runs a benchmark command and parses the JSON object on its last line.
pub(crate) fn report_of(cmd: Command, seconds: u64) -> Result<Value, String> {
    // A client that cannot talk to a server is a result to record, not a reason to stop; the
    // time limit keeps one that hangs from stalling the matrix.
    let out = run_with_limit(cmd, Duration::from_secs(seconds + 60))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let report: Option<Value> = serde_json::from_str(last).ok();
    if let Some(error) = report.as_ref().and_then(|r| r["error"].as_str()) {
        return Err(format!("failed: {error}"));
    }
    match report {
        Some(report) if out.status.success() => Ok(report),
        _ => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let reason = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            Err(format!("failed ({}): {reason}", out.status))
        }
    }
}

fn run_with_limit(mut cmd: Command, limit: Duration) -> Result<std::process::Output, String> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start: {e}"))?;
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                break;
            }
        }
    }
    child
        .wait_with_output()
        .map_err(|e| format!("could not collect output: {e}"))
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

fn render(
    targets: &[Target],
    observability: &[Observed],
    pipeline: &crate::pipeline::Pipeline,
    rows: &[Row],
    seconds: u64,
) -> Result<String> {
    let mut doc = String::new();
    writeln!(doc, "# Benchmarks\n")?;
    writeln!(
        doc,
        "Generated by `cargo xtask bench`; do not edit by hand. Machine: {}.\n",
        machine()
    )?;
    render_targets(&mut doc, targets, seconds)?;
    render_observability(&mut doc, observability)?;
    crate::pipeline::render(&mut doc, pipeline)?;
    writeln!(doc, "## Every mode and concurrency\n")?;
    writeln!(
        doc,
        "Each row drives a client for {seconds} s with 1 KiB bodies in one mode with C sends in \
         flight, against a name server and one broker on loopback: rmq's test broker \
         (`rmq-testkit`, in-memory, its own process) or the rocketmq-rust 1.0.0 servers. rmq \
         runs `rmq bench --serialization rocketmq --json`; the peer, rocketmq-client-rust 1.0.0, \
         runs `bench/peer` with the same modes, concurrency and size. Client CPU and peak RSS are \
         the client process's own (getrusage). A client that could not send records why; \
         rocketmq-client-rust 1.0.0 cannot read 4.9.x-style routes (its `BrokerData` requires \
         `enableActingMaster`, which only 5.x name servers send), so it fails against the test \
         broker, which answers as a 4.9.8 name server does.\n"
    )?;
    writeln!(
        doc,
        "![throughput and p99 latency against concurrency, per broker](benchmarks.svg)\n"
    )?;
    writeln!(
        doc,
        "| client | broker | mode | C | msg/s | p50 µs | p99 µs | max µs | CPU µs/msg | RSS KiB | failed |"
    )?;
    writeln!(doc, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    for row in rows {
        match &row.report {
            Ok(r) => {
                let lat = &r["lat_us"];
                writeln!(
                    doc,
                    "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {:.2} | {} | {} |",
                    row.client,
                    row.target,
                    row.mode,
                    row.concurrency,
                    r["tps"].as_f64().unwrap_or(0.0),
                    lat["p50"],
                    lat["p99"],
                    lat["max"],
                    r["cpu_us_per_msg"].as_f64().unwrap_or(0.0),
                    r["max_rss_kib"],
                    r["failed"],
                )?;
            }
            Err(e) => writeln!(
                doc,
                "| {} | {} | {} | {} | – | – | – | – | – | – | {} |",
                row.client,
                row.target,
                row.mode,
                row.concurrency,
                e.replace('|', "/")
            )?,
        }
    }
    let ratios: Vec<String> = rows
        .iter()
        .filter(|r| r.client == RMQ)
        .filter_map(|ours| {
            let theirs = rows.iter().find(|p| {
                p.client == PEER
                    && p.target == ours.target
                    && p.mode == ours.mode
                    && p.concurrency == ours.concurrency
            })?;
            let (ours_r, theirs_r) = (ours.report.as_ref().ok()?, theirs.report.as_ref().ok()?);
            let tps = |r: &Value| r["tps"].as_f64().unwrap_or(0.0);
            let cpu = |r: &Value| r["cpu_us_per_msg"].as_f64().unwrap_or(0.0);
            Some(format!(
                "| {} | {} | {} | {:.2} | {:.2} |",
                ours.target,
                ours.mode,
                ours.concurrency,
                tps(ours_r) / tps(theirs_r).max(f64::EPSILON),
                cpu(ours_r) / cpu(theirs_r).max(f64::EPSILON),
            ))
        })
        .collect();
    if !ratios.is_empty() {
        writeln!(doc, "\n## rmq / rocketmq-client-rust\n")?;
        writeln!(
            doc,
            "Above 1 means rmq sends more messages per second; below 1 means rmq spends less CPU per message.\n"
        )?;
        writeln!(doc, "| broker | mode | C | msg/s ratio | CPU/msg ratio |")?;
        writeln!(doc, "|---|---|---|---|---|")?;
        for line in ratios {
            writeln!(doc, "{line}")?;
        }
    }
    Ok(doc)
}

/// One of the project's targets and the run that measures it.
struct Target {
    goal: &'static str,
    command: String,
    measured: Result<(f64, &'static str), String>,
    met: bool,
}

/// What a target reads from its run's report, and the bound it must stay within.
struct Goal {
    goal: &'static str,
    /// Flags before `bench` (which cluster, which runtime).
    setup: &'static [&'static str],
    mode: &'static str,
    concurrency: u32,
    read: fn(&Value) -> Option<f64>,
    unit: &'static str,
    /// The bound, and whether the measure must stay at or above it (else at or below).
    bound: f64,
    at_least: bool,
}

const EMBEDDED_OWN: &[&str] = &["--embedded", "--threads", "1"];
const EMBEDDED_SHARED: &[&str] = &["--embedded", "--embedded-shared", "--threads", "1"];
/// `rmq-testkit` in its own process: the only way RSS is the client's alone.
const TESTKIT: &[&str] = &["--threads", "1"];

const GOALS: [Goal; 5] = [
    Goal {
        goal: "async, 1 KiB, 256 in flight, embedded broker: >= 300 000 msg/s",
        setup: EMBEDDED_OWN,
        mode: "async",
        concurrency: 256,
        read: |r| r["tps"].as_f64(),
        unit: "msg/s",
        bound: 300_000.0,
        at_least: true,
    },
    Goal {
        goal: "sync, 1 in flight, embedded broker: p50 <= 40 µs",
        setup: EMBEDDED_SHARED,
        mode: "sync",
        concurrency: 1,
        read: |r| r["lat_us"]["p50"].as_f64(),
        unit: "µs",
        bound: 40.0,
        at_least: false,
    },
    Goal {
        goal: "client CPU <= 3 µs per acknowledged message (async, 256 in flight)",
        setup: EMBEDDED_OWN,
        mode: "async",
        concurrency: 256,
        read: |r| r["cpu_us_per_msg"].as_f64(),
        unit: "µs/msg",
        bound: 3.0,
        at_least: false,
    },
    Goal {
        goal: "client CPU <= 3 µs per acknowledged message (batches of 16, 64 in flight)",
        setup: EMBEDDED_OWN,
        mode: "batch",
        concurrency: 64,
        read: |r| r["cpu_us_per_msg"].as_f64(),
        unit: "µs/msg",
        bound: 3.0,
        at_least: false,
    },
    Goal {
        goal: "client RSS <= 30 MiB with 10 000 in flight (async)",
        setup: TESTKIT,
        mode: "async",
        concurrency: 10_000,
        read: |r| r["max_rss_kib"].as_f64().map(|kib| kib / 1024.0),
        unit: "MiB",
        bound: 30.0,
        at_least: false,
    },
];

/// One run of the observability table: what was on, the command, and its report.
struct Observed {
    label: &'static str,
    command: String,
    report: Result<Value, String>,
}

/// The cost of observability: the async ×256 embedded run with nothing listening, with a
/// `tracing` subscriber at `info`, and with message trace on.
fn measure_observability(rmq: &Path, seconds: u64) -> Vec<Observed> {
    let base = format!(
        "--embedded --threads 1 --topic BenchTopic --serialization rocketmq bench --mode async \
         --concurrency 256 --duration {seconds} --size 1024 --json"
    );
    [
        (
            "nothing listening (the default)",
            String::new(),
            String::new(),
        ),
        (
            "a `tracing` subscriber at info",
            "--log info ".to_owned(),
            String::new(),
        ),
        ("message trace on", String::new(), " --msg-trace".to_owned()),
    ]
    .into_iter()
    .map(|(label, before, after)| {
        let line = format!("{before}{base}{after}");
        let command = format!("rmq {line}");
        println!("$ {command}");
        let mut cmd = Command::new(rmq);
        cmd.args(line.split(' ')).env_remove("RUST_LOG");
        // The subscriber writes to stderr, which the benchmark leaves alone.
        Observed {
            label,
            command,
            report: report_of(cmd, seconds),
        }
    })
    .collect()
}

fn render_observability(doc: &mut String, runs: &[Observed]) -> Result<()> {
    writeln!(doc, "## What observability costs\n")?;
    writeln!(
        doc,
        "The async ×256 target's run with nothing listening, with a `tracing` subscriber at \
         `info` (sends and attempts are `debug`, so it prints nothing while they succeed), and \
         with Java-compatible message trace on (a trace record per send, sent on a producer of \
         its own). Metrics cost nothing without a recorder; see [observability.md](observability.md).\n"
    )?;
    writeln!(doc, "| with | msg/s | client CPU µs/msg | command |")?;
    writeln!(doc, "|---|---|---|---|")?;
    for run in runs {
        let (tps, cpu) = match &run.report {
            Ok(report) => (
                report["tps"]
                    .as_f64()
                    .map_or("?".to_owned(), |v| format!("{v:.0}")),
                report["cpu_us_per_msg"]
                    .as_f64()
                    .map_or("?".to_owned(), |v| format!("{v:.2}")),
            ),
            Err(e) => (e.replace('|', "/"), String::new()),
        };
        writeln!(doc, "| {} | {tps} | {cpu} | `{}` |", run.label, run.command)?;
    }
    writeln!(doc)?;
    Ok(())
}

/// Runs each goal's `rmq bench`; `testkit` is the name server of the separate test broker.
fn measure_targets(rmq: &Path, testkit: &str, seconds: u64) -> Vec<Target> {
    // Goals that read the same run (the async x256 one gives throughput and CPU) share it.
    let mut reports: HashMap<String, Vec<Result<Value, String>>> = HashMap::new();
    GOALS
        .iter()
        .map(|goal| {
            let mut args: Vec<String> = goal.setup.iter().map(|a| (*a).to_owned()).collect();
            if goal.setup == TESTKIT {
                args.extend(["--namesrv".to_owned(), testkit.to_owned()]);
            }
            args.extend(
                [
                    "--topic",
                    "BenchTopic",
                    "--serialization",
                    "rocketmq",
                    "bench",
                    "--mode",
                    goal.mode,
                ]
                .map(str::to_owned),
            );
            args.extend([
                "--concurrency".to_owned(),
                goal.concurrency.to_string(),
                "--duration".to_owned(),
                seconds.to_string(),
                "--size".to_owned(),
                "1024".to_owned(),
                "--json".to_owned(),
            ]);
            let command = format!("rmq {}", args.join(" "));
            let runs = reports.entry(command.clone()).or_insert_with(|| {
                (0..TARGET_RUNS)
                    .map(|_| {
                        println!("$ {command}");
                        let mut cmd = Command::new(rmq);
                        cmd.args(&args);
                        report_of(cmd, seconds)
                    })
                    .collect()
            });
            let measured = median(runs, goal.read).map(|value| (value, goal.unit));
            let met = measured.as_ref().is_ok_and(|(value, _)| {
                if goal.at_least {
                    *value >= goal.bound
                } else {
                    *value <= goal.bound
                }
            });
            Target {
                goal: goal.goal,
                command,
                measured,
                met,
            }
        })
        .collect()
}

/// Runs of each target's command: single runs on this machine vary by 10 to 20 %, so a
/// target reads the median of three.
const TARGET_RUNS: usize = 3;

/// The median of what `read` finds in the runs that reported it; the first error if none did.
fn median(runs: &[Result<Value, String>], read: fn(&Value) -> Option<f64>) -> Result<f64, String> {
    let mut values: Vec<f64> = runs
        .iter()
        .filter_map(|run| run.as_ref().ok().and_then(read))
        .collect();
    values.sort_by(f64::total_cmp);
    match values.get(values.len() / 2) {
        Some(median) => Ok(*median),
        None => Err(runs
            .iter()
            .find_map(|run| run.as_ref().err().cloned())
            .unwrap_or_else(|| "the report lacks the figure".to_owned())),
    }
}

fn render_targets(doc: &mut String, targets: &[Target], seconds: u64) -> Result<()> {
    writeln!(doc, "## Targets\n")?;
    writeln!(
        doc,
        "Each target is the median of three {seconds}-second `rmq bench` runs of its command \
         (targets with the same command share them). `--embedded` runs \
         rmq's test cluster (two brokers) in the same process on its own one-thread runtime, and \
         its CPU is left out of the client's; `--embedded-shared` puts it on the client's \
         runtime, so a round trip wakes no other thread. RSS is measured against `rmq-testkit` \
         in its own process, so it is the client's alone. Where the time and memory go, and \
         what the missed targets would take: [performance.md](performance.md).\n"
    )?;
    writeln!(doc, "| target | measured | verdict | command |")?;
    writeln!(doc, "|---|---|---|---|")?;
    for target in targets {
        let measured = match &target.measured {
            Ok((value, unit)) if *value >= 100.0 => format!("{value:.0} {unit}"),
            Ok((value, unit)) => format!("{value:.2} {unit}"),
            Err(e) => e.replace('|', "/"),
        };
        writeln!(
            doc,
            "| {} | {} | {} | `{}` |",
            target.goal,
            measured,
            if target.met { "met" } else { "missed" },
            target.command
        )?;
    }
    writeln!(doc)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_reads_the_median_of_the_runs_that_reported() {
        let run = |tps: f64| Ok(serde_json::json!({ "tps": tps }));
        let read: fn(&Value) -> Option<f64> = |r| r["tps"].as_f64();
        let runs = [run(3.0), Err("failed".to_owned()), run(1.0), run(2.0)];
        assert_eq!(median(&runs, read), Ok(2.0));
        assert_eq!(
            median(&[Err("down".to_owned())], read),
            Err("down".to_owned())
        );
    }
}

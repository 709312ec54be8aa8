//! The async pipeline section of `cargo xtask bench` (issue 16): automatic batching against
//! the embedded broker and the rocketmq-rust servers, latency under a fixed offered load of
//! 25, 50 and 90 % of the most the client sends, and memory with 10 000 and 65 535 sends in
//! flight. Every figure comes with the `rmq` command that measured it.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Result;
use serde_json::Value;

use crate::matrix::report_of;

/// The embedded cluster on its own one-thread runtime, the client on another.
const EMBEDDED: &str = "--embedded --threads 1";
/// The embedded cluster on the client's one-thread runtime: no other busy thread of the
/// process competes for the machine's two cores.
const EMBEDDED_SHARED: &str = "--embedded --embedded-shared --threads 1";
const COMMON: &str = "--topic BenchTopic --serialization rocketmq bench --mode async";

/// Rows the targets read.
const AUTO_100: &str = "100 B, auto-batch";
const SINGLE: &str = "single sends";
const AUTO: &str = "auto-batch";

/// One `rmq bench` run: what it shows, its command line, and its report.
pub struct Run {
    label: String,
    command: String,
    report: Result<Value, String>,
}

impl Run {
    fn figure(&self, read: impl Fn(&Value) -> Option<f64>) -> Option<f64> {
        self.report.as_ref().ok().and_then(read)
    }

    fn tps(&self) -> Option<f64> {
        self.figure(|r| r["tps"].as_f64())
    }
}

/// Everything the section shows.
pub struct Pipeline {
    batching: Vec<Run>,
    real: Vec<Run>,
    /// Per set-up: its most (a run flat out), then its runs at shares of it.
    load: Vec<Load>,
    memory: Vec<Run>,
}

/// Latency at fixed shares of the most one set-up sends.
struct Load {
    setup: &'static str,
    max: Run,
    shares: Vec<(u32, Run)>,
}

/// Runs `rmq <setup> <COMMON> <args> --duration S --json`.
fn run(rmq: &Path, label: &str, setup: &str, args: &str, seconds: u64) -> Run {
    let line = format!("{setup} {COMMON} {args} --duration {seconds} --json");
    let command = format!("rmq {line}");
    println!("$ {command}");
    let mut cmd = Command::new(rmq);
    cmd.args(line.split_whitespace());
    Run {
        label: label.to_owned(),
        command,
        report: report_of(cmd, seconds),
    }
}

/// Measures the section but its rocketmq-rust rows: `testkit` is the separate test broker's
/// name server (memory is the client's alone there).
pub fn measure(rmq: &Path, testkit: &str, seconds: u64) -> Pipeline {
    let batching: Vec<Run> = [
        ("1 KiB, single sends", "--concurrency 256 --size 1024"),
        (
            "1 KiB, auto-batch",
            "--concurrency 256 --size 1024 --auto-batch",
        ),
        ("100 B, single sends", "--concurrency 256 --size 100"),
        (AUTO_100, "--concurrency 256 --size 100 --auto-batch"),
        (
            "100 B, auto-batch, 1 024 in flight",
            "--concurrency 1024 --size 100 --auto-batch",
        ),
    ]
    .into_iter()
    .map(|(label, args)| run(rmq, label, EMBEDDED, args, seconds))
    .collect();

    // The most the client sends with the default settings, then fixed shares of it.
    let load = [
        ("broker on the client's thread", EMBEDDED_SHARED),
        ("broker on its own thread", EMBEDDED),
    ]
    .into_iter()
    .map(|(label, setup)| {
        let flat_out = "--concurrency 256 --size 1024 --warmup 1";
        let max = run(rmq, label, setup, flat_out, seconds);
        let shares = match max.tps() {
            Some(most) if most > 0.0 => [25, 50, 90]
                .into_iter()
                .map(|share| {
                    let rate = (most * f64::from(share) / 100.0).round() as u64;
                    let args = format!("--concurrency 256 --size 1024 --rate {rate} --warmup 1");
                    let label = format!("{share} % ({rate} msg/s offered)");
                    (share, run(rmq, &label, setup, &args, seconds))
                })
                .collect(),
            _ => Vec::new(),
        };
        Load {
            setup: label,
            max,
            shares,
        }
    })
    .collect();

    let setup = format!("--threads 1 --namesrv {testkit}");
    let memory = [10_000, 65_535]
        .into_iter()
        .map(|in_flight| {
            let args = format!("--concurrency {in_flight} --size 1024");
            let label = format!("{in_flight} in flight");
            run(rmq, &label, &setup, &args, seconds)
        })
        .collect();
    Pipeline {
        batching,
        real: Vec::new(),
        load,
        memory,
    }
}

impl Pipeline {
    /// Adds the rows against the rocketmq-rust servers whose name server is `namesrv`.
    pub fn measure_real(&mut self, rmq: &Path, namesrv: &str, seconds: u64) {
        let setup = format!("--namesrv {namesrv}");
        self.real = [
            (SINGLE, "--concurrency 256 --size 1024"),
            (AUTO, "--concurrency 256 --size 1024 --auto-batch"),
        ]
        .into_iter()
        .map(|(label, args)| run(rmq, label, &setup, args, seconds))
        .collect();
    }
}

fn cell(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "missed" }
}

/// Writes the section.
pub fn render(doc: &mut String, pipeline: &Pipeline) -> Result<()> {
    writeln!(doc, "## The async pipeline\n")?;
    writeln!(
        doc,
        "Async sends with and without automatic batching (`--auto-batch`: Java 5.x's \
         `autoBatch` defaults, 10 ms hold and 32 KiB batches, a lone message sent at once), \
         with the producer's default settings but for the room in flight, which `rmq bench` \
         sets to at least its concurrency (10 000 sends by default). \
         [performance.md](performance.md) says where the time goes.\n"
    )?;

    let tps_of = |runs: &[Run], label: &str| {
        runs.iter()
            .find(|run| run.label == label)
            .and_then(Run::tps)
    };
    let auto_100 = tps_of(&pipeline.batching, AUTO_100);
    let single_real = tps_of(&pipeline.real, SINGLE);
    let auto_real = tps_of(&pipeline.real, AUTO);
    let p99_half = pipeline
        .load
        .first()
        .and_then(|load| load.shares.iter().find(|(share, _)| *share == 50))
        .and_then(|(_, run)| run.figure(|r| r["lat_us"]["p99"].as_f64()));
    let rss = |i: usize| {
        pipeline
            .memory
            .get(i)
            .and_then(|run| run.figure(|r| r["max_rss_kib"].as_f64()))
            .map(|kib| kib / 1024.0)
    };
    writeln!(doc, "| target | measured | verdict |")?;
    writeln!(doc, "|---|---|---|")?;
    writeln!(
        doc,
        "| auto-batched async, 100 B, 256 in flight, embedded broker: ≥ 1 000 000 msg/s | {} msg/s | {} |",
        cell(auto_100, 0),
        verdict(auto_100.is_some_and(|v| v >= 1_000_000.0))
    )?;
    if let (Some(single), Some(auto)) = (single_real, auto_real) {
        writeln!(
            doc,
            "| rocketmq-rust 1.0.0: auto-batched async ≥ 10 × single-message async | {:.1} × ({single:.0} to {auto:.0} msg/s) | {} |",
            auto / single.max(f64::EPSILON),
            verdict(auto >= 10.0 * single)
        )?;
    }
    writeln!(
        doc,
        "| async p99 at 50 % of the most offered, embedded broker (on the client's thread): ≤ 2 ms | {} µs | {} |",
        cell(p99_half, 0),
        verdict(p99_half.is_some_and(|p99| p99 <= 2000.0))
    )?;
    writeln!(
        doc,
        "| client RSS with 10 000 async sends in flight: ≤ 30 MiB | {} MiB | {} |",
        cell(rss(0), 1),
        verdict(rss(0).is_some_and(|mib| mib <= 30.0))
    )?;
    writeln!(
        doc,
        "| client RSS with 65 535 async sends in flight: bounded (reported) | {} MiB | reported |\n",
        cell(rss(1), 1)
    )?;

    writeln!(doc, "### Automatic batching\n")?;
    table(
        doc,
        &pipeline.batching,
        "embedded broker, 256 in flight unless said",
    )?;
    if !pipeline.real.is_empty() {
        writeln!(
            doc,
            "Against the rocketmq-rust 1.0.0 servers, 1 KiB bodies:\n"
        )?;
        table(doc, &pipeline.real, "rocketmq-rust 1.0.0")?;
    }

    writeln!(doc, "### Latency under a fixed offered load\n")?;
    writeln!(
        doc,
        "`--rate` offers a fixed number of messages a second, whatever the answers do, and \
         counts each send's latency from the time it was due, so a send that waited behind a \
         full window counts its wait (no coordinated omission). Sends are paced to within \
         microseconds of their time; the first second (connections and buffers growing) is \
         sent but not counted. Each set-up's most is its own flat-out run. With the broker on \
         a thread of its own, the client's pacing thread and the broker's keep both cores of \
         this machine busy, and any third thread (the report, the kernel) preempts one of \
         them for a scheduler slice: its tail is milliseconds of waiting for a core, not of \
         the client.\n"
    )?;
    writeln!(
        doc,
        "| set-up | offered | msg/s sent | p50 µs | p99 µs | p99.9 µs | max µs | command |"
    )?;
    writeln!(doc, "|---|---|---|---|---|---|---|---|")?;
    for load in &pipeline.load {
        let rows = std::iter::once(&load.max).chain(load.shares.iter().map(|(_, run)| run));
        for run in rows {
            let lat = |q: &str| cell(run.figure(|r| r["lat_us"][q].as_f64()), 0);
            let offered = if std::ptr::eq(run, &load.max) {
                "flat out (the most)"
            } else {
                run.label.as_str()
            };
            writeln!(
                doc,
                "| {} | {offered} | {} | {} | {} | {} | {} | `{}` |",
                load.setup,
                cell(run.tps(), 0),
                lat("p50"),
                lat("p99"),
                lat("p999"),
                lat("max"),
                run.command
            )?;
        }
    }
    writeln!(doc)?;

    writeln!(doc, "### Memory with many sends in flight\n")?;
    writeln!(
        doc,
        "Against `rmq-testkit` in its own process, so the peak RSS is the client's alone.\n"
    )?;
    table(doc, &pipeline.memory, "rmq-testkit")?;
    Ok(())
}

fn table(doc: &mut String, runs: &[Run], against: &str) -> Result<()> {
    writeln!(
        doc,
        "| {against} | msg/s | client CPU µs/msg | p50 µs | p99 µs | RSS MiB | failed | command |"
    )?;
    writeln!(doc, "|---|---|---|---|---|---|---|---|")?;
    for run in runs {
        match &run.report {
            Ok(r) => writeln!(
                doc,
                "| {} | {} | {} | {} | {} | {} | {} | `{}` |",
                run.label,
                cell(r["tps"].as_f64(), 0),
                cell(r["cpu_us_per_msg"].as_f64(), 2),
                cell(r["lat_us"]["p50"].as_f64(), 0),
                cell(r["lat_us"]["p99"].as_f64(), 0),
                cell(r["max_rss_kib"].as_f64().map(|kib| kib / 1024.0), 1),
                r["failed"],
                run.command
            )?,
            Err(e) => writeln!(
                doc,
                "| {} | {} | | | | | | `{}` |",
                run.label,
                e.replace('|', "/"),
                run.command
            )?,
        }
    }
    writeln!(doc)?;
    Ok(())
}

//! Project automation: `cargo xtask <command>`.
//!
//! - `ci`: every check CI runs (format, clippy, tests, doctests, docs, fuzz, chaos, then `e2e`).
//! - `demo [--real | --namesrv HOST:PORT] [--seconds N]`: the main job, end to end.
//! - `e2e`: the producer against real rocketmq-rust 1.0.0 servers (installs them once).
//! - `bench [SECONDS] [--no-real] [--no-peer] [--no-criterion]`: micro-benchmarks, the transport benchmark,
//!   and the `rmq bench` matrix written to docs/benchmarks.md.
//! - `fuzz [SECONDS]`: every fuzz target in turn, SECONDS each (installs cargo-fuzz).
//! - `chaos [SECONDS] [--seed N]`: sends under random faults, then every message counted.
//! - `soak [MINUTES] [--rate N]`: steady load with broker restarts; RSS and descriptors must
//!   stay flat.

mod chaos;
mod demo;
mod e2e;
mod matrix;
mod pipeline;
mod plot;
mod scratch;
mod soak;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <ci | demo [--real | --namesrv HOST:PORT] [--seconds N] | e2e | bench [SECONDS] [--no-real] [--no-peer] [--no-criterion] | fuzz [SECONDS] | chaos [SECONDS] [--seed N] | soak [MINUTES] [--rate N]>";

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "ci" => ci(),
        "demo" => demo::run(&rest),
        "e2e" => e2e::run(),
        "bench" => bench(&rest),
        "fuzz" => fuzz(&rest),
        "chaos" => chaos::run(&rest),
        "soak" => soak::run(&rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

/// The workspace root (the parent of this crate's manifest directory).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs a command from the workspace root, echoing it, and fails if it fails.
fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    println!("$ {program} {}", args.join(" "));
    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root())
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    println!("  ok in {:.1}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn has_cargo_subcommand(name: &str) -> bool {
    Command::new("cargo")
        .args([name, "--version"])
        .output()
        .is_ok_and(|out| out.status.success())
}

fn ci() -> Result<()> {
    let started = Instant::now();
    run("cargo", &["fmt", "--all", "--", "--check"], &[])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    if has_cargo_subcommand("nextest") {
        run(
            "cargo",
            &["nextest", "run", "--workspace", "--no-fail-fast"],
            &[],
        )?;
    } else {
        println!("cargo-nextest not found; running the tests with cargo test");
        run(
            "cargo",
            &["test", "--workspace", "--lib", "--bins", "--tests"],
            &[],
        )?;
    }
    run("cargo", &["test", "--workspace", "--doc"], &[])?;
    run(
        "cargo",
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // Every decoder of a peer's bytes, briefly: seeds and what earlier runs found replay, and
    // a few seconds of new inputs each (`cargo xtask fuzz SECONDS` for a campaign).
    fuzz(&[FUZZ_SECONDS_IN_CI.to_string()])?;
    // Sends under random faults, every message counted.
    chaos::run(&[CHAOS_SECONDS_IN_CI.to_string()])?;
    // Last, since it may first install the servers: the proof against a real broker.
    e2e::run()?;
    println!(
        "ci: all checks passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo xtask bench [SECONDS] [--no-real] [--no-peer] [--no-criterion]`: the criterion benches, the
/// pipelined transport run, then the `rmq bench` matrix written to docs/benchmarks.md.
fn bench(args: &[String]) -> Result<()> {
    let mut seconds = 5;
    let mut real = true;
    let mut peer = true;
    let mut criterion = true;
    for arg in args {
        match arg.as_str() {
            "--no-real" => real = false,
            "--no-peer" => peer = false,
            "--no-criterion" => criterion = false,
            n => {
                seconds = n.parse().with_context(|| {
                    format!("bench takes SECONDS, --no-real, --no-peer, --no-criterion; not {n:?}")
                })?;
            }
        }
    }
    if criterion {
        run(
            "cargo",
            &["bench", "-p", "rmq-common", "--bench", "common"],
            &[],
        )?;
        run(
            "cargo",
            &["bench", "-p", "rmq-remoting", "--bench", "codec"],
            &[],
        )?;
    }
    let secs = seconds.to_string();
    run(
        "cargo",
        &[
            "bench",
            "-p",
            "rmq-remoting",
            "--bench",
            "pipeline",
            "--",
            &secs,
        ],
        &[],
    )?;
    matrix::run(seconds, real, peer)
}

fn fuzz(args: &[String]) -> Result<()> {
    let seconds: u64 = match args.first() {
        Some(s) => s
            .parse()
            .with_context(|| format!("SECONDS must be a number, not {s:?}"))?,
        None => 60,
    };
    if !has_cargo_subcommand("fuzz") {
        run("cargo", &["install", "cargo-fuzz", "--locked"], &[])?;
    }
    let max_time = format!("-max_total_time={seconds}");
    let fuzz_dir = root().join("fuzz");
    for target in FUZZ_TARGETS {
        // New finds go to the (ignored) corpus; the seeds, made from the protocol vectors, are
        // read only.
        let corpus = fuzz_dir.join("corpus").join(target);
        let seeds = fuzz_dir.join("seeds").join(target);
        std::fs::create_dir_all(&corpus)?;
        let corpus = corpus.to_string_lossy().into_owned();
        let seeds = seeds.to_string_lossy().into_owned();
        let mut args = vec!["+nightly", "fuzz", "run", target, corpus.as_str()];
        if std::path::Path::new(&seeds).is_dir() {
            args.push(seeds.as_str());
        }
        args.extend(["--", max_time.as_str(), "-rss_limit_mb=2048"]);
        run("cargo", &args, &[])?;
    }
    Ok(())
}

/// How long `cargo xtask ci` runs `chaos`.
const CHAOS_SECONDS_IN_CI: u64 = 10;

/// How long `cargo xtask ci` fuzzes each target.
const FUZZ_SECONDS_IN_CI: u64 = 10;

/// Every decoder that reads bytes from a peer (fuzz/fuzz_targets), run in turn.
const FUZZ_TARGETS: [&str; 10] = [
    "frame_decoder",
    "command_roundtrip",
    "typed_headers",
    "route_body",
    "heartbeat_body",
    "properties",
    "batch_body",
    "stored_message",
    "decompress",
    "trace_records",
];

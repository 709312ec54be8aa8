//! The `rmq` command: send messages (plain or in transactions), make requests, show routes,
//! and benchmark producers.
//!
//! The benchmark engine is a library so `cargo xtask demo` and `cargo xtask bench` run the
//! very code the command runs.
#![deny(missing_docs)]

pub mod bench;
pub mod cli;
pub mod request;
pub mod resources;
pub mod route;
pub mod runtime;
pub mod security;
pub mod send;
pub mod stats;
pub mod target;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::target::Target;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    if let Some(filter) = &cli.common.log {
        // A filter that does not parse (perhaps a `RUST_LOG` meant for another program) costs
        // the logs, not the command.
        match tracing_subscriber::EnvFilter::try_new(filter) {
            Ok(filter) => {
                // A second install (a test calling `run` twice) keeps the first.
                let _ = tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .with_writer(std::io::stderr)
                    .try_init();
            }
            Err(e) => eprintln!("warning: not logging: --log / RUST_LOG {filter:?}: {e}"),
        }
    }
    let target = Target::resolve(&cli.common).await?;
    if let Some(cluster) = &target.embedded {
        eprintln!(
            "embedded test cluster: name server {}",
            cluster.namesrv_addr()
        );
    }
    let outcome = match &cli.command {
        Command::Send(args) => send::run(&cli.common, &target, args).await,
        Command::Request(args) => request::run(&cli.common, &target, args).await,
        Command::Route => route::run(&cli.common, &target).await,
        Command::Bench(args) => {
            let bench_target = bench::BenchTarget {
                namesrv: &target.namesrv,
                group: &cli.common.group,
                topic: &cli.common.topic,
                serialize_type: cli.common.serialization.into(),
                embedded: target.embedded.as_ref(),
                security: &target.security,
            };
            bench::run(&bench_target, args).await.map(drop)
        }
    };
    target.stop().await;
    outcome
}

//! `rmq`: see `rmq --help`.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = rmq_cli::cli::Cli::parse();
    let outcome = rmq_cli::runtime::build(cli.common.threads, "rmq", || {})
        .map_err(anyhow::Error::new)
        .and_then(|runtime| runtime.block_on(rmq_cli::run(cli)));
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

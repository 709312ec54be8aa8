//! `rmq-testkit`: runs a test cluster on loopback until Ctrl-C, for demos and manual tests.
//!
//! ```text
//! rmq-testkit [--brokers N] [--namesrv-port P] [--topic NAME[:QUEUES]]...
//!             [--static-topic NAME[:QUEUES]]... [--legacy-route-json] [--no-auto-create]
//!             [--threads N] [--acl ACCESS_KEY:SECRET_KEY] [--tls]
//! ```
//!
//! With `--tls`, the CA's certificate is written to `rmq-testkit-ca.pem` in the working
//! directory, for clients to trust.

use std::process::ExitCode;

use rmq_testkit::{TestCluster, TestClusterBuilder};

const USAGE: &str = "usage: rmq-testkit [--brokers N] [--namesrv-port P] [--topic NAME[:QUEUES]]... [--static-topic NAME[:QUEUES]]... [--legacy-route-json] [--no-auto-create] [--threads N] [--acl ACCESS_KEY:SECRET_KEY] [--tls]";

/// What the command line asks for.
struct Options {
    cluster: TestClusterBuilder,
    /// Runtime worker threads; 1 is a current-thread runtime, `None` one worker per CPU.
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(problem) => {
            eprintln!("{problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut runtime = match options.threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(serve(options.cluster)),
        Err(e) => {
            eprintln!("rmq-testkit: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(builder: TestClusterBuilder) -> ExitCode {
    let cluster = match builder.start().await {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("rmq-testkit: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("NAMESRV_ADDR={}", cluster.namesrv_addr());
    if let Some(ca) = cluster.tls_ca_pem() {
        let path = "rmq-testkit-ca.pem";
        match std::fs::write(path, ca) {
            Ok(()) => println!("TLS: trust the CA in {path}"),
            Err(e) => eprintln!("rmq-testkit: cannot write {path}: {e}"),
        }
    }
    for broker in cluster.brokers() {
        println!("{} {} ({})", broker.name(), broker.addr(), broker.cluster());
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("rmq-testkit: cannot wait for Ctrl-C: {e}");
    }
    cluster.shutdown().await;
    ExitCode::SUCCESS
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut builder = TestCluster::builder();
    let mut threads = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        builder = match arg.as_str() {
            "--brokers" => builder.brokers(number(&value("--brokers")?)?),
            "--namesrv-port" => builder.namesrv_port(number(&value("--namesrv-port")?)?),
            "--topic" => {
                let spec = value("--topic")?;
                match spec.split_once(':') {
                    Some((topic, queues)) => builder.topic(topic, number(queues)?),
                    None => builder.topic(spec, 4),
                }
            }
            "--static-topic" => {
                let spec = value("--static-topic")?;
                match spec.split_once(':') {
                    Some((topic, queues)) => builder.static_topic(topic, number(queues)?),
                    None => builder.static_topic(spec, 4),
                }
            }
            "--legacy-route-json" => builder.legacy_route_json(true),
            "--no-auto-create" => builder.auto_create_topics(false),
            "--acl" => {
                let spec = value("--acl")?;
                match spec.split_once(':') {
                    Some((ak, sk)) if !ak.is_empty() && !sk.is_empty() => builder.acl(ak, sk),
                    _ => return Err("--acl takes ACCESS_KEY:SECRET_KEY".into()),
                }
            }
            "--tls" => builder.tls(true),
            "--threads" => match number(&value("--threads")?)? {
                0 => return Err("--threads must be at least 1".into()),
                n => {
                    threads = Some(n);
                    builder
                }
            },
            "-h" | "--help" => return Err("an in-process RocketMQ name server and brokers".into()),
            other => return Err(format!("unknown argument {other}")),
        };
    }
    Ok(Options {
        cluster: builder,
        threads,
    })
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("not a valid number: {text}"))
}

//! `rmq-testkit`: runs a test cluster on loopback until Ctrl-C, for demos and manual tests.
//!
//! ```text
//! rmq-testkit [--brokers N] [--namesrv-port P] [--topic NAME[:QUEUES]]... [--legacy-route-json] [--no-auto-create]
//! ```

use std::process::ExitCode;

use rmq_testkit::{TestCluster, TestClusterBuilder};

const USAGE: &str = "usage: rmq-testkit [--brokers N] [--namesrv-port P] [--topic NAME[:QUEUES]]... [--legacy-route-json] [--no-auto-create]";

#[tokio::main]
async fn main() -> ExitCode {
    let builder = match parse(std::env::args().skip(1)) {
        Ok(builder) => builder,
        Err(problem) => {
            eprintln!("{problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cluster = match builder.start().await {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("rmq-testkit: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("NAMESRV_ADDR={}", cluster.namesrv_addr());
    for broker in cluster.brokers() {
        println!("{} {} ({})", broker.name(), broker.addr(), broker.cluster());
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("rmq-testkit: cannot wait for Ctrl-C: {e}");
    }
    cluster.shutdown().await;
    ExitCode::SUCCESS
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<TestClusterBuilder, String> {
    let mut builder = TestCluster::builder();
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
            "--legacy-route-json" => builder.legacy_route_json(true),
            "--no-auto-create" => builder.auto_create_topics(false),
            "-h" | "--help" => return Err("an in-process RocketMQ name server and brokers".into()),
            other => return Err(format!("unknown argument {other}")),
        };
    }
    Ok(builder)
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("not a valid number: {text}"))
}

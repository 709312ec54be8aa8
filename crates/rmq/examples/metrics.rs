//! Metrics in Prometheus' text format: rmq records through the `metrics` facade, and any
//! recorder exports them; here `metrics-exporter-prometheus`. (`rmq bench --metrics ADDR`
//! serves the same over HTTP while it runs.)
//!
//! `cargo run -p rmq --example metrics`

mod support;

use metrics_exporter_prometheus::PrometheusBuilder;
use rmq::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Installed before the producer starts: handles registered earlier would record nothing.
    let prometheus = PrometheusBuilder::new()
        // The 5.x clients' buckets for send latency, in ms.
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Full("rocketmq_send_cost_time".into()),
            &[1.0, 5.0, 10.0, 20.0, 50.0, 200.0, 500.0],
        )?
        .install_recorder()?;

    let (namesrv, _cluster) = support::name_server().await?;
    let producer = Producer::builder("example_metrics")
        .name_server(namesrv)
        .start()
        .await?;
    for i in 0..100 {
        producer
            .send(Message::new("TopicTest", format!("m{i}")))
            .await?;
    }
    producer.shutdown().await;

    // What a Prometheus server scrapes.
    print!("{}", prometheus.render());
    Ok(())
}

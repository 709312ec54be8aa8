//! W3C trace context in messages: with `.trace_context(..)`, each message carries the sending
//! task's `traceparent` (and `tracestate`), so a consumer in any language continues the trace.
//! Here the context comes from OpenTelemetry, through `tracing-opentelemetry`.
//!
//! `cargo run -p rmq --example trace_context`

mod support;

use std::future::IntoFuture;

use opentelemetry::global;
use opentelemetry::propagation::Injector;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use rmq::prelude::*;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::prelude::*;

/// OpenTelemetry's propagators write through an `Injector`; rmq hands them a setter.
struct Setter<'a>(&'a mut dyn FnMut(&str, String));

impl Injector for Setter<'_> {
    fn set(&mut self, key: &str, value: String) {
        (self.0)(key, value);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // OpenTelemetry behind `tracing` (an exporter would go on the provider).
    let provider = SdkTracerProvider::builder().build();
    global::set_text_map_propagator(TraceContextPropagator::new());
    tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("rmq-example")))
        .init();

    let (namesrv, cluster) = support::name_server().await?;
    let producer = Producer::builder("example_trace_context")
        .name_server(namesrv)
        .trace_context(|set: &mut dyn FnMut(&str, String)| {
            let context = tracing::Span::current().context();
            global::get_text_map_propagator(|p| p.inject_context(&context, &mut Setter(set)));
        })
        .build()?;
    producer.start().await?;

    let sent = producer
        .send(Message::new("Orders", "order 42 paid"))
        .into_future()
        .instrument(tracing::info_span!("checkout"))
        .await?;
    println!("{sent}");

    // The stored message carries the trace context (on the embedded cluster, read it back).
    if let Some(cluster) = &cluster {
        for stored in cluster
            .broker(sent.queue.broker_name())
            .into_iter()
            .flat_map(|b| b.messages("Orders"))
        {
            println!("traceparent: {:?}", stored.properties.get("traceparent"));
        }
    }
    producer.shutdown().await;
    Ok(())
}

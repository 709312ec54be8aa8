//! Trace context in messages (beyond the other RocketMQ clients): an opt-in that writes the
//! caller's W3C trace context (`traceparent`, `tracestate`) into each message's user
//! properties, so a consumer in any language can continue the trace.

use rmq_common::Message;

/// Writes the current trace context of the sending task into a message (see
/// [`ProducerBuilder::trace_context`](crate::ProducerBuilder::trace_context)). It is called
/// with a setter for each header, as an OpenTelemetry propagator's `Injector` is; the
/// headers become user properties, unless the message already has them.
///
/// Any `Fn(&mut dyn FnMut(&str, String))` is an injector. With OpenTelemetry and
/// `tracing-opentelemetry` (see `crates/rmq/examples/trace_context.rs`):
///
/// ```ignore
/// use opentelemetry::global;
/// use tracing_opentelemetry::OpenTelemetrySpanExt;
///
/// struct Setter<'a>(&'a mut dyn FnMut(&str, String));
/// impl opentelemetry::propagation::Injector for Setter<'_> {
///     fn set(&mut self, key: &str, value: String) { (self.0)(key, value) }
/// }
/// let builder = rmq_client::Producer::builder("pg").trace_context(|set: &mut dyn FnMut(&str, String)| {
///     let context = tracing::Span::current().context();
///     global::get_text_map_propagator(|p| p.inject_context(&context, &mut Setter(set)));
/// });
/// ```
pub trait TraceContextInjector: Send + Sync + 'static {
    /// Calls `set` with each header of the current context (none when there is none).
    fn inject(&self, set: &mut dyn FnMut(&str, String));
}

impl<F> TraceContextInjector for F
where
    F: Fn(&mut dyn FnMut(&str, String)) + Send + Sync + 'static,
{
    fn inject(&self, set: &mut dyn FnMut(&str, String)) {
        self(set);
    }
}

/// Writes `injector`'s headers into `message`, keeping any the caller set. An injector that
/// panics is logged, and the message goes without (part of) its context.
pub(crate) fn inject(injector: &dyn TraceContextInjector, message: &mut Message) {
    crate::send::contain_callback("the trace context injector", || {
        injector.inject(&mut |key, value| {
            let props = message.properties_mut();
            if props.get(key).is_none() {
                props.insert(key.to_owned(), value);
            }
        });
    });
}

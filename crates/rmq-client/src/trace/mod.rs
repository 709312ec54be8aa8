//! Message trace compatible with Java's (Java: `SendMessageTraceHookImpl`,
//! `AsyncTraceDispatcher`, `TraceDataEncoder`): with
//! [`enable_msg_trace`](crate::ProducerBuilder::enable_msg_trace), every send attempt the
//! broker answers becomes a `Pub` record in the trace topic (`RMQ_SYS_TRACE_TOPIC` by
//! default), which the RocketMQ dashboard and `mqadmin queryMsgTraceById` read.
//!
//! As in Java, attempts without an answer (oneway sends, failures) leave no record, nor do
//! brokers that turn tracing off (`TRACE_ON=false`).

mod dispatcher;
mod record;

use rmq_common::ByteString;
use rmq_common::properties::keys;
use rmq_common::sysflag;
use tokio::time::Instant;

pub(crate) use dispatcher::TraceDispatcher;
pub use record::{
    CONTENT_SEPARATOR, PubRecord, RECORD_SEPARATOR, TraceDecodeError, TraceMessageType,
    decode_pub_records,
};

use crate::SendResult;
use crate::producer::ProducerInner;
use crate::send::{Outgoing, now_millis};

/// The default trace topic (Java: `TopicValidator.RMQ_SYS_TRACE_TOPIC`).
pub const DEFAULT_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// The group of a producer's trace producer (Java: `genGroupNameForTrace`).
pub(crate) fn trace_group(group: &str, n: u64) -> String {
    format!("_INNER_TRACE_PRODUCER-{group}-PRODUCE-{n}")
}

impl ProducerInner {
    /// Records an attempt the broker answered (Java: `SendMessageTraceHookImpl`).
    pub(crate) fn trace_attempt(
        &self,
        out: &Outgoing,
        addr: &ByteString,
        begin: Instant,
        result: &SendResult,
    ) {
        let Some(trace) = self.trace.get() else {
            return;
        };
        if !result.trace_on || *out.user_topic == *trace.topic() {
            return;
        }
        let cost = begin.elapsed();
        let props = out.message.properties();
        let msg_type = if out.sys_flag & sysflag::TRANSACTION_PREPARED_TYPE != 0 {
            TraceMessageType::TransHalf
        } else if props.get(keys::DELAY).is_some() || props.get(keys::STARTDELIVERTIME).is_some() {
            TraceMessageType::Delay
        } else {
            TraceMessageType::Normal
        };
        // Shared strings only: a record costs no copy of its text.
        trace.append(PubRecord {
            timestamp: now_millis() - i64::try_from(cost.as_millis()).unwrap_or(0),
            region_id: result.region_id.clone(),
            group: trace.group().clone(),
            topic: out.user_topic.clone(),
            msg_id: result.msg_id.clone(),
            tags: props.get_shared(keys::TAGS).cloned(),
            keys: props.get_shared(keys::KEYS).cloned(),
            store_host: addr.clone(),
            body_length: out.body.len(),
            cost_ms: i64::try_from(cost.as_millis()).unwrap_or(i64::MAX),
            msg_type,
            offset_msg_id: result.offset_msg_id.clone(),
            success: result.status == crate::SendStatus::SendOk,
        });
    }
}

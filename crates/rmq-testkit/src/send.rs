//! Send processing (Java 4.9.8: `SendMessageProcessor.sendMessage` / `sendBatchMessage`,
//! `AbstractSendMessageProcessor.msgCheck`, `TopicConfigManager.createTopicInSendMessageMethod`,
//! the size checks of `DefaultMessageStore` and `CommitLog`; Java 5.3.3 for static topics:
//! `TopicQueueMappingManager.rewriteRequestForStaticTopic`,
//! `SendMessageProcessor.rewriteResponseForStaticTopic`).

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use bytes::Bytes;
use rmq_common::batch::decode_body;
use rmq_common::properties::keys;
use rmq_common::sysflag::COMPRESSED_FLAG;
use rmq_common::validators::{is_not_allowed_send_topic, validate_topic};
use rmq_common::{ByteString, CompressionType, OffsetMessageId, Properties};
use rmq_remoting::code::{request, response};
use rmq_remoting::header::{SendMessageRequestHeader, SendMessageResponseHeader};
use rmq_remoting::{Channel, ExtFields, RemotingCommand, SerializeType};

use crate::broker::{BrokerState, QueueTarget};
use crate::store::{Appended, NewMessage, now_ms};
use crate::{fault, timer, transaction};

/// Java: `MessageStoreConfig.maxMessageSize` (4 MiB).
const MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// The most a compressed body may inflate to here; bounds memory against bombs.
const MAX_DECOMPRESSED_SIZE: usize = 64 * 1024 * 1024;
/// Java: the properties length is an int16 in the commit log.
const MAX_PROPERTIES_LENGTH: usize = i16::MAX as usize;
/// Java: a batch's topic length is an int8 in the commit log.
const MAX_BATCH_TOPIC_LENGTH: usize = i8::MAX as usize;
/// Java: `BrokerConfig.regionId` default.
const REGION: &str = "DefaultRegion";

/// A response that ends processing early.
type Refusal = RemotingCommand;

/// Answers a send request (codes 10, 310, 320), after the configured latency.
pub(crate) async fn process(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
) -> RemotingCommand {
    let latency = state.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    send(state, channel, request).unwrap_or_else(|refusal| refusal)
}

fn send(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let code = request.code();
    let header = match request.ext_fields() {
        Some(ext) => SendMessageRequestHeader::read_for_code(code, ext),
        None => SendMessageRequestHeader::read_for_code(code, &ExtFields::new()),
    }
    .map_err(|e| refuse(response::SYSTEM_ERROR, e.to_string()))?;

    // Injected failures come first. SYSTEM_BUSY is the transport's [REJECTREQUEST], answered
    // before any processor runs; the others are answered by the processor, so like every
    // refusal from here on they carry its MSG_REGION and TRACE_ON. Codes that mean "stored" go
    // through normal processing and only replace the final code.
    let injected = state.faults.take_failure();
    if let Some(code) = injected.filter(|c| !fault::is_stored_status(*c)) {
        let ip = state.addr().ip().to_string();
        let refusal = refuse(code, fault::remark(code, &ip, &header.topic));
        return Err(if code == response::SYSTEM_BUSY {
            refusal
        } else {
            with_broker_ext(refusal)
        });
    }

    // Java 5.x swaps a static topic's logical queue id for the physical one before anything
    // else; a queue the broker does not lead is refused there, so without the send
    // processor's MSG_REGION and TRACE_ON. The `lo` header, which can turn this off, is
    // ignored: producers never send it.
    let (queue_id, logical) = match state.queue_target(&header.topic, header.queue_id) {
        QueueTarget::Physical => (header.queue_id, None),
        QueueTarget::Logical { logical, physical } => (physical, Some(logical)),
        QueueTarget::NotLeader => {
            return Err(refuse(
                response::NOT_LEADER_FOR_QUEUE,
                format!(
                    "{}-{} does not exit in request process of current broker {}",
                    header.topic,
                    header.queue_id,
                    state.name()
                ),
            ));
        }
    };
    let target = Target { queue_id, logical };
    store(state, channel, request, &header, target, injected).map_err(with_broker_ext)
}

/// The queue a send asks for, after a static topic's logical id is swapped.
#[derive(Clone, Copy, Debug)]
struct Target {
    /// The queue to check and store in: the header's, or the physical queue behind a
    /// logical one.
    queue_id: i32,
    /// The logical queue, for a static topic: the response carries it instead.
    logical: Option<i32>,
}

/// Java's `msgCheck`, then the store; `injected` is a success-like code to answer with.
fn store(
    state: &Arc<BrokerState>,
    channel: &Channel,
    request: &RemotingCommand,
    header: &SendMessageRequestHeader,
    target: Target,
    injected: Option<i32>,
) -> Result<RemotingCommand, Refusal> {
    let code = request.code();
    check_topic_name(&header.topic)?;
    let batch = code == request::SEND_BATCH_MESSAGE;
    if batch {
        check_batch_topic(&header.topic)?;
    }
    let topic = state.topic_for_send(header)?;
    let queue_id = match target.queue_id {
        id if id < 0 => random_queue(topic.write_queue_nums).ok_or_else(|| {
            refuse(
                response::SYSTEM_ERROR,
                format!("topic[{}] has no writeable queue", header.topic),
            )
        })?,
        id if i64::from(id) >= i64::from(topic.write_queue_nums) => {
            return Err(refuse(
                response::SYSTEM_ERROR,
                format!(
                    "queueId[{id}] is illegal, topic:[{}] topicConfig.writeQueueNums:[{}] consumer:[{}]",
                    header.topic,
                    topic.write_queue_nums,
                    channel.addr()
                ),
            ));
        }
        id => id,
    };

    let template = Template {
        header,
        queue_id,
        born_host: channel.addr_shared(),
        request_code: code,
        serialize_type: request.serialize_type(),
        batch,
        cluster: state.cluster(),
    };
    let mut messages = if batch {
        template.batch_messages(request.body())?
    } else {
        vec![template.single_message(request.body())?]
    };
    // Java 5.x: a half message waits in the half topic, a timer message in the timer topic.
    let mut timer = None;
    if let (false, [msg]) = (batch, messages.as_mut_slice()) {
        if msg.properties.get(keys::TRAN_MSG) == Some("true") {
            transaction::to_half(msg);
        } else if let Some(due) = timer::due_at(&msg.properties, now_ms())? {
            timer = Some((due, timer::to_timer(state, msg, due)));
        }
    }
    let appended = state.store.append(messages);
    let recall_handle = timer.map(|(due, handle)| {
        // The store made this id; it always decodes.
        if let Some(id) = appended
            .msg_ids
            .first()
            .and_then(|id| OffsetMessageId::decode(id).ok())
        {
            timer::schedule(Arc::downgrade(state), id.offset, due);
        }
        handle
    });
    let status = injected.unwrap_or(response::SUCCESS);
    // Java's `rewriteResponseForStaticTopic` answers with the logical queue and its
    // `computeStaticQueueOffsetLoosely` offset, which for a queue never remapped (logic and
    // start offsets 0, as every test broker's are) is the physical offset itself.
    Ok(send_response(
        status,
        target.logical.unwrap_or(queue_id),
        appended,
        recall_handle,
        request.serialize_type(),
    ))
}

fn refuse(code: i32, remark: impl Into<String>) -> Refusal {
    RemotingCommand::response(code).with_remark(remark.into())
}

/// The fields Java's send processor adds to its response before checking anything, in
/// `HashMap` order (the same in both serializations, as no header field is set).
fn with_broker_ext(refusal: Refusal) -> Refusal {
    refusal
        .with_ext_field(keys::TRACE_ON, "true")
        .with_ext_field(keys::MSG_REGION, REGION)
}

/// Java: `TopicValidator.validateTopic` and `isNotAllowedSendTopic` in `msgCheck`.
fn check_topic_name(topic: &str) -> Result<(), Refusal> {
    validate_topic(topic).map_err(|e| refuse(response::SYSTEM_ERROR, e.to_string()))?;
    if is_not_allowed_send_topic(topic) {
        return Err(refuse(
            response::NO_PERMISSION,
            format!("Sending message to topic[{topic}] is forbidden."),
        ));
    }
    Ok(())
}

/// Java: the extra checks of `sendBatchMessage`.
fn check_batch_topic(topic: &str) -> Result<(), Refusal> {
    if topic.len() > MAX_BATCH_TOPIC_LENGTH {
        return Err(refuse(
            response::MESSAGE_ILLEGAL,
            format!("message topic length too long {}", topic.len()),
        ));
    }
    if topic.starts_with(rmq_common::namespace::RETRY_PREFIX) {
        return Err(refuse(
            response::MESSAGE_ILLEGAL,
            format!("batch request does not support retry group {topic}"),
        ));
    }
    Ok(())
}

/// Java: `randomQueueId`, a uniformly random writeable queue; `None` without any.
fn random_queue(write_queue_nums: u32) -> Option<i32> {
    if write_queue_nums == 0 {
        return None;
    }
    let random = RandomState::new().hash_one(std::time::Instant::now());
    i32::try_from(random % u64::from(write_queue_nums)).ok()
}

/// What every message of one request shares.
struct Template<'a> {
    header: &'a SendMessageRequestHeader,
    queue_id: i32,
    born_host: &'a ByteString,
    request_code: i32,
    serialize_type: SerializeType,
    batch: bool,
    cluster: &'a str,
}

impl Template<'_> {
    fn message(
        &self,
        flag: i32,
        body: Bytes,
        raw_body: Bytes,
        mut properties: Properties,
    ) -> NewMessage {
        // Java: every stored message names its cluster (responders build replies from it).
        properties.insert_static(keys::CLUSTER, self.cluster.to_owned());
        NewMessage {
            topic: self.header.topic.clone(),
            queue_id: self.queue_id,
            sys_flag: self.header.sys_flag,
            born_timestamp: self.header.born_timestamp,
            born_host: self.born_host.clone(),
            flag,
            body,
            raw_body,
            properties,
            reconsume_times: self.header.reconsume_times.unwrap_or(0),
            producer_group: self.header.producer_group.clone(),
            request_code: self.request_code,
            serialize_type: self.serialize_type,
            batch: self.batch,
        }
    }

    fn single_message(&self, raw_body: &Bytes) -> Result<NewMessage, Refusal> {
        let properties = self.header.properties.clone().unwrap_or_default();
        if properties.len() > MAX_PROPERTIES_LENGTH || raw_body.len() > MAX_MESSAGE_SIZE {
            return Err(refuse(response::MESSAGE_ILLEGAL, fault::ILLEGAL_MESSAGE));
        }
        let body = decompress(self.header.sys_flag, raw_body)?;
        Ok(self.message(
            self.header.flag,
            body,
            raw_body.clone(),
            Properties::decode_shared(&properties),
        ))
    }

    /// Java stores each entry with the header's topic, queue, sysFlag and born timestamp, and
    /// the entry's own flag, body and properties. Batches are never compressed.
    fn batch_messages(&self, body: &Bytes) -> Result<Vec<NewMessage>, Refusal> {
        let entries = decode_body(body)
            .map_err(|e| refuse(response::SYSTEM_ERROR, format!("malformed batch body: {e}")))?;
        if entries.is_empty() {
            return Err(refuse(
                response::SYSTEM_ERROR,
                "the batch body holds no message",
            ));
        }
        if entries.iter().any(|e| e.body.len() > MAX_MESSAGE_SIZE) {
            return Err(refuse(response::MESSAGE_ILLEGAL, fault::ILLEGAL_MESSAGE));
        }
        Ok(entries
            .into_iter()
            .map(|e| self.message(e.flag, e.body.clone(), e.body, e.properties))
            .collect())
    }
}

/// The body as the producer meant it. Java's broker stores compressed bodies as they are and
/// leaves inflating to consumers; here a body that does not inflate is refused, so a broken
/// producer fails its test instead of its consumers.
fn decompress(sys_flag: i32, raw: &Bytes) -> Result<Bytes, Refusal> {
    if sys_flag & COMPRESSED_FLAG == 0 {
        return Ok(raw.clone());
    }
    let broken = |problem: String| {
        refuse(
            response::SYSTEM_ERROR,
            format!("the message body is flagged compressed (sysFlag {sys_flag:#x}) but {problem}"),
        )
    };
    let kind = CompressionType::from_sys_flag(sys_flag).map_err(|e| broken(e.to_string()))?;
    kind.decompress(raw, MAX_DECOMPRESSED_SIZE)
        .map(Bytes::from)
        .map_err(|e| broken(format!("does not decompress as {kind}: {e}")))
}

/// The send response (Java: `SendMessageResponseHeader` plus `MSG_REGION` and `TRACE_ON`).
fn send_response(
    status: i32,
    queue_id: i32,
    appended: Appended,
    recall_handle: Option<String>,
    serialize_type: SerializeType,
) -> RemotingCommand {
    let msg_id = match appended.msg_ids.as_slice() {
        [one] => one.clone(),
        ids => ids.join(",").into(),
    };
    let header = SendMessageResponseHeader {
        msg_id,
        queue_id,
        queue_offset: appended.first_queue_offset,
        transaction_id: None,
        batch_uniq_id: None,
        recall_handle: recall_handle.map(ByteString::from),
        region_id: Some(ByteString::from_static(REGION)),
        trace_on: true,
    };
    let response = RemotingCommand::response(status);
    match serialize_type {
        // FastCodes order: the header's fields, then TRACE_ON, MSG_REGION (vectors.md V16).
        SerializeType::RocketMq => response.with_fast_header(header),
        // JSON puts everything in one HashMap, iterated in bucket order (vectors.md V17).
        SerializeType::Json => {
            let mut ext: ExtFields = [
                ("queueId", header.queue_id.to_string()),
                (keys::TRACE_ON, "true".to_owned()),
                (keys::MSG_REGION, REGION.to_owned()),
                ("msgId", header.msg_id.to_string()),
                ("queueOffset", header.queue_offset.to_string()),
            ]
            .into_iter()
            .collect();
            if let Some(handle) = &header.recall_handle {
                ext.insert("recallHandle", handle.clone());
            }
            response.with_ext_fields(ext)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appended() -> Appended {
        Appended {
            first_queue_offset: 42,
            msg_ids: vec!["C0A8002F00002A9F0000000012345678".into()],
        }
    }

    #[test]
    fn v16_v17_response_field_order() {
        fn keys(response: &RemotingCommand) -> Vec<&str> {
            response
                .ext_fields()
                .into_iter()
                .flat_map(|e| e.iter())
                .map(|(k, _)| k)
                .collect()
        }
        let binary = send_response(0, 1, appended(), None, SerializeType::RocketMq);
        assert_eq!(
            keys(&binary),
            ["msgId", "queueId", "queueOffset", "TRACE_ON", "MSG_REGION"]
        );
        let json = send_response(0, 1, appended(), None, SerializeType::Json);
        assert_eq!(
            keys(&json),
            ["queueId", "TRACE_ON", "MSG_REGION", "msgId", "queueOffset"]
        );
        for response in [binary, json] {
            let header: SendMessageResponseHeader = response.decode_header().expect("header");
            assert_eq!((header.queue_id, header.queue_offset), (1, 42));
            assert_eq!(header.region_id.as_deref(), Some("DefaultRegion"));
            assert!(header.trace_on);
        }
    }

    /// The whole response frame, as the server finishes it, equals a 4.9.8 broker's.
    #[test]
    fn v16_v17_response_frames() {
        let frame = |kind| {
            let mut response = send_response(0, 1, appended(), None, kind)
                .with_version(rmq_remoting::version::V4_9_8)
                .with_opaque(3)
                .with_serialize_type(kind);
            response.mark_response();
            response.encode_to_bytes().expect("encodes")
        };
        let v16 = "000000940100009000000001990000000300000001000000000000007B00056D736749640000002043304138303032463030303032413946303030303030303031323334353637380007717565756549640000000131000B71756575654F6666736574000000023432000854524143455F4F4E0000000474727565000A4D53475F524547494F4E0000000D44656661756C74526567696F6E";
        let hex: String = frame(SerializeType::RocketMq)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(hex, v16);
        let v17 = r#"{"code":0,"extFields":{"queueId":"1","TRACE_ON":"true","MSG_REGION":"DefaultRegion","msgId":"C0A8002F00002A9F0000000012345678","queueOffset":"42"},"flag":1,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":409}"#;
        let json = frame(SerializeType::Json);
        assert_eq!(String::from_utf8_lossy(&json[8..]), v17);
    }

    #[test]
    fn random_queue_stays_in_range() {
        assert_eq!(random_queue(0), None);
        assert_eq!(random_queue(1), Some(0));
        assert!((0..100).all(|_| random_queue(4).is_some_and(|q| (0..4).contains(&q))));
    }

    #[test]
    fn decompress_by_type_bits() {
        let body = b"hello hello hello hello".to_vec();
        for kind in [
            CompressionType::Zlib,
            CompressionType::Zstd,
            CompressionType::Lz4,
        ] {
            let packed = Bytes::from(kind.compress(&body, 5).expect("compress"));
            let flag = COMPRESSED_FLAG | kind.compression_flag();
            assert_eq!(decompress(flag, &packed).ok().as_deref(), Some(&body[..]));
        }
        // Old producers set bit 0 only: zlib.
        let zlib = Bytes::from(CompressionType::Zlib.compress(&body, 5).expect("compress"));
        assert_eq!(
            decompress(COMPRESSED_FLAG, &zlib).ok().as_deref(),
            Some(&body[..])
        );
        let refused =
            decompress(COMPRESSED_FLAG, &Bytes::from_static(b"not zlib")).expect_err("corrupt");
        assert_eq!(refused.code(), response::SYSTEM_ERROR);
        assert!(refused.remark().is_some_and(|r| r.contains("ZLIB")));
        assert!(decompress(0x401, &zlib).is_err());
    }
}

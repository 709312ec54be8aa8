//! The property names of `MessageConst` and the reserved-name set (`STRING_HASH_SET`).
//!
//! Java: `MessageConst`. The reserved set is the one of `develop` HEAD (5.x), so the timer keys
//! are reserved while `__STARTDELIVERTIME` and `__transactionId__` are not.

/// `KEYS`: Business keys of the message, several joined by one space. Reserved.
///
/// Java: `MessageConst.PROPERTY_KEYS`
pub const KEYS: &str = "KEYS";
/// `TAGS`: The message tag, used for broker-side filtering. Reserved.
///
/// Java: `MessageConst.PROPERTY_TAGS`
pub const TAGS: &str = "TAGS";
/// `WAIT`: `"true"`/`"false"`: whether the send waits for the store to succeed. Reserved.
///
/// Java: `MessageConst.PROPERTY_WAIT_STORE_MSG_OK`
pub const WAIT: &str = "WAIT";
/// `DELAY`: Delay level, 1–18 with the broker's default table. Reserved.
///
/// Java: `MessageConst.PROPERTY_DELAY_TIME_LEVEL`
pub const DELAY: &str = "DELAY";
/// `RETRY_TOPIC`: Set by the broker on retried messages. Reserved.
///
/// Java: `MessageConst.PROPERTY_RETRY_TOPIC`
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
/// `REAL_TOPIC`: Set by the broker: the original topic of a delayed or half message. Reserved.
///
/// Java: `MessageConst.PROPERTY_REAL_TOPIC`
pub const REAL_TOPIC: &str = "REAL_TOPIC";
/// `REAL_QID`: Set by the broker: the original queue id of a delayed or half message. Reserved.
///
/// Java: `MessageConst.PROPERTY_REAL_QUEUE_ID`
pub const REAL_QID: &str = "REAL_QID";
/// `TRAN_MSG`: `"true"` on transaction half messages. Reserved.
///
/// Java: `MessageConst.PROPERTY_TRANSACTION_PREPARED`
pub const TRAN_MSG: &str = "TRAN_MSG";
/// `PGROUP`: Producer group of a transaction half message. Reserved.
///
/// Java: `MessageConst.PROPERTY_PRODUCER_GROUP`
pub const PGROUP: &str = "PGROUP";
/// `MIN_OFFSET`: Set by the broker on pulled messages. Reserved.
///
/// Java: `MessageConst.PROPERTY_MIN_OFFSET`
pub const MIN_OFFSET: &str = "MIN_OFFSET";
/// `MAX_OFFSET`: Set by the broker on pulled messages. Reserved.
///
/// Java: `MessageConst.PROPERTY_MAX_OFFSET`
pub const MAX_OFFSET: &str = "MAX_OFFSET";
/// `BUYER_ID`: Legacy. Reserved.
///
/// Java: `MessageConst.PROPERTY_BUYER_ID`
pub const BUYER_ID: &str = "BUYER_ID";
/// `ORIGIN_MESSAGE_ID`: Legacy: id of the message a retry copies. Reserved.
///
/// Java: `MessageConst.PROPERTY_ORIGIN_MESSAGE_ID`
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
/// `TRANSFER_FLAG`: Legacy. Reserved.
///
/// Java: `MessageConst.PROPERTY_TRANSFER_FLAG`
pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
/// `CORRECTION_FLAG`: Legacy. Reserved.
///
/// Java: `MessageConst.PROPERTY_CORRECTION_FLAG`
pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
/// `MQ2_FLAG`: Legacy. Reserved.
///
/// Java: `MessageConst.PROPERTY_MQ2_FLAG`
pub const MQ2_FLAG: &str = "MQ2_FLAG";
/// `RECONSUME_TIME`: Consumer send-back: reconsume count. Reserved.
///
/// Java: `MessageConst.PROPERTY_RECONSUME_TIME`
pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
/// `MSG_REGION`: Region of the broker that stored the message. Reserved.
///
/// Java: `MessageConst.PROPERTY_MSG_REGION`
pub const MSG_REGION: &str = "MSG_REGION";
/// `TRACE_ON`: Whether message tracing is on for the broker. Reserved.
///
/// Java: `MessageConst.PROPERTY_TRACE_SWITCH`
pub const TRACE_ON: &str = "TRACE_ON";
/// `UNIQ_KEY`: The client-generated message id users see as `msgId`. Reserved.
///
/// Java: `MessageConst.PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX`
pub const UNIQ_KEY: &str = "UNIQ_KEY";
/// `EXTEND_UNIQ_INFO`: 5.x: extra unique information. Reserved.
///
/// Java: `MessageConst.PROPERTY_EXTEND_UNIQ_INFO`
pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
/// `MAX_RECONSUME_TIMES`: Consumer send-back: maximum reconsume count. Reserved.
///
/// Java: `MessageConst.PROPERTY_MAX_RECONSUME_TIMES`
pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
/// `CONSUME_START_TIME`: Set by the consumer when consumption starts. Reserved.
///
/// Java: `MessageConst.PROPERTY_CONSUME_START_TIMESTAMP`
pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
/// `INNER_NUM`: 5.x broker: number of messages in an inner batch. Not reserved.
///
/// Java: `MessageConst.PROPERTY_INNER_NUM`
pub const INNER_NUM: &str = "INNER_NUM";
/// `INNER_BASE`: 5.x broker: base offset of an inner batch. Not reserved.
///
/// Java: `MessageConst.PROPERTY_INNER_BASE`
pub const INNER_BASE: &str = "INNER_BASE";
/// `DUP_INFO`: 5.x: duplication information. Reserved.
///
/// Java: `MessageConst.DUP_INFO`
pub const DUP_INFO: &str = "DUP_INFO";
/// `CHECK_IMMUNITY_TIME_IN_SECONDS`: Seconds before the broker first checks a half message. Not reserved.
///
/// Java: `MessageConst.PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS`
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// `TRAN_PREPARED_QUEUE_OFFSET`: Queue offset of a prepared transaction message. Reserved.
///
/// Java: `MessageConst.PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET`
pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
/// `__transactionId__`: User property holding `sendResult.transactionId` (a literal string in 4.9.8). Not reserved.
///
/// Java: `MessageConst.PROPERTY_TRANSACTION_ID`
pub const TRANSACTION_ID: &str = "__transactionId__";
/// `TRANSACTION_CHECK_TIMES`: How many times the broker checked a half message. Not reserved.
///
/// Java: `MessageConst.PROPERTY_TRANSACTION_CHECK_TIMES`
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// `INSTANCE_ID`: The namespace, set on every send when one is configured. Reserved.
///
/// Java: `MessageConst.PROPERTY_INSTANCE_ID`
pub const INSTANCE_ID: &str = "INSTANCE_ID";
/// `CORRELATION_ID`: Request-reply: the UUID pairing a request with its reply. Reserved.
///
/// Java: `MessageConst.PROPERTY_CORRELATION_ID`
pub const CORRELATION_ID: &str = "CORRELATION_ID";
/// `REPLY_TO_CLIENT`: Request-reply: the requester's clientId. Reserved.
///
/// Java: `MessageConst.PROPERTY_MESSAGE_REPLY_TO_CLIENT`
pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// `TTL`: Request-reply: request timeout in ms, decimal. Reserved.
///
/// Java: `MessageConst.PROPERTY_MESSAGE_TTL`
pub const TTL: &str = "TTL";
/// `ARRIVE_TIME`: Request-reply: set by the client when the reply arrives. Reserved.
///
/// Java: `MessageConst.PROPERTY_REPLY_MESSAGE_ARRIVE_TIME`
pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
/// `PUSH_REPLY_TIME`: Request-reply: when the broker pushed the reply. Reserved.
///
/// Java: `MessageConst.PROPERTY_PUSH_REPLY_TIME`
pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
/// `CLUSTER`: Set by the broker: cluster name, used for the reply topic `<cluster>_REPLY_TOPIC`. Reserved.
///
/// Java: `MessageConst.PROPERTY_CLUSTER`
pub const CLUSTER: &str = "CLUSTER";
/// `MSG_TYPE`: Request-reply: `"reply"` on reply messages. Reserved.
///
/// Java: `MessageConst.PROPERTY_MESSAGE_TYPE`
pub const MSG_TYPE: &str = "MSG_TYPE";
/// `POP_CK`: 5.x pop consumption checkpoint. Reserved.
///
/// Java: `MessageConst.PROPERTY_POP_CK`
pub const POP_CK: &str = "POP_CK";
/// `POP_CK_OFFSET`: 5.x pop consumption checkpoint offset. Reserved.
///
/// Java: `MessageConst.PROPERTY_POP_CK_OFFSET`
pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
/// `1ST_POP_TIME`: 5.x: time of the first pop. Reserved.
///
/// Java: `MessageConst.PROPERTY_FIRST_POP_TIME`
pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
/// `__SHARDINGKEY`: 5.x: sharding key of ordered messages. Not reserved.
///
/// Java: `MessageConst.PROPERTY_SHARDING_KEY`
pub const SHARDING_KEY: &str = "__SHARDINGKEY";
/// `PROPERTY_FORWARD_QUEUE_ID`: 5.x: forwarded queue id. Not reserved.
///
/// Java: `MessageConst.PROPERTY_FORWARD_QUEUE_ID`
pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
/// `REDIRECT`: 5.x: redirect marker. Not reserved.
///
/// Java: `MessageConst.PROPERTY_REDIRECT`
pub const REDIRECT: &str = "REDIRECT";
/// `INNER_MULTI_DISPATCH`: Light message queue (LMQ) dispatch targets; 5.x `Validators` refuses a `/` in it. Not reserved.
///
/// Java: `MessageConst.PROPERTY_INNER_MULTI_DISPATCH`
pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
/// `INNER_MULTI_QUEUE_OFFSET`: Set by the broker: LMQ queue offsets. Reserved.
///
/// Java: `MessageConst.PROPERTY_INNER_MULTI_QUEUE_OFFSET`
pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
/// `TRACE_CONTEXT`: 5.x: tracing context. Not reserved.
///
/// Java: `MessageConst.PROPERTY_TRACE_CONTEXT`
pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
/// `TIMER_DELAY_SEC`: 5.x timer: relative delay in seconds (takes precedence over the other timer keys). Reserved.
///
/// Java: `MessageConst.PROPERTY_TIMER_DELAY_SEC`
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
/// `TIMER_DELAY_MS`: 5.x timer: relative delay in milliseconds. Reserved.
///
/// Java: `MessageConst.PROPERTY_TIMER_DELAY_MS`
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
/// `TIMER_DELIVER_MS`: 5.x timer: absolute delivery time in epoch milliseconds. Reserved.
///
/// Java: `MessageConst.PROPERTY_TIMER_DELIVER_MS`
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
/// `TIMER_ENQUEUE_MS`: 5.x broker timer bookkeeping. Reserved.
///
/// Java: `MessageConst.PROPERTY_TIMER_ENQUEUE_MS`
pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
/// `TIMER_DEQUEUE_MS`: 5.x broker timer bookkeeping. Reserved.
///
/// Java: `MessageConst.PROPERTY_TIMER_DEQUEUE_MS`
pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
/// `TIMER_ROLL_TIMES`: 5.x broker timer bookkeeping. Reserved.
///
/// Java: `MessageConst.PROPERTY_TIMER_ROLL_TIMES`
pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
/// `TIMER_OUT_MS`: 5.x broker timer bookkeeping. Reserved.
///
/// Java: `MessageConst.PROPERTY_TIMER_OUT_MS`
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
/// `TIMER_DEL_UNIQKEY`: 5.x broker timer bookkeeping. Reserved.
///
/// Java: `MessageConst.PROPERTY_TIMER_DEL_UNIQKEY`
pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
/// `TIMER_DELAY_LEVEL`: 5.x broker timer bookkeeping. Reserved.
///
/// Java: `MessageConst.PROPERTY_TIMER_DELAY_LEVEL`
pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
/// `__BORNHOST`: 5.x broker: born host. Reserved.
///
/// Java: `MessageConst.PROPERTY_BORN_HOST`
pub const BORN_HOST: &str = "__BORNHOST";
/// `BORN_TIMESTAMP`: 5.x broker: born timestamp. Reserved.
///
/// Java: `MessageConst.PROPERTY_BORN_TIMESTAMP`
pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
/// `DLQ_ORIGIN_TOPIC`: 5.x broker: topic of a message moved to the DLQ. Reserved.
///
/// Java: `MessageConst.PROPERTY_DLQ_ORIGIN_TOPIC`
pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
/// `DLQ_ORIGIN_MESSAGE_ID`: 5.x broker: id of a message moved to the DLQ. Reserved.
///
/// Java: `MessageConst.PROPERTY_DLQ_ORIGIN_MESSAGE_ID`
pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
/// `__CRC32#`: 5.2.0+ broker: commit-log CRC. Reserved.
///
/// Java: `MessageConst.PROPERTY_CRC32`
pub const CRC32: &str = "__CRC32#";
/// `__STARTDELIVERTIME`: Only classifies a message as `Delay_Msg` in send hooks; the open-source broker ignores it. Not reserved.
///
/// Java: literal `"__STARTDELIVERTIME"`
pub const STARTDELIVERTIME: &str = "__STARTDELIVERTIME";

/// Prefix of transient properties, which the broker does not persist.
///
/// Java: `MessageConst.PROPERTY_TRANSIENT_PREFIX`
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";

/// Whether `name` is reserved for the client or broker, so `putUserProperty` refuses it.
///
/// Java: `MessageConst.STRING_HASH_SET.contains` (HEAD set)
///
/// ```
/// use rmq_common::properties::is_reserved;
///
/// assert!(is_reserved("KEYS"));
/// assert!(is_reserved("TIMER_DELIVER_MS"));
/// assert!(!is_reserved("__STARTDELIVERTIME"));
/// assert!(!is_reserved("__transactionId__"));
/// ```
pub fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        KEYS | TAGS
            | WAIT
            | DELAY
            | RETRY_TOPIC
            | REAL_TOPIC
            | REAL_QID
            | TRAN_MSG
            | PGROUP
            | MIN_OFFSET
            | MAX_OFFSET
            | BUYER_ID
            | ORIGIN_MESSAGE_ID
            | TRANSFER_FLAG
            | CORRECTION_FLAG
            | MQ2_FLAG
            | RECONSUME_TIME
            | MSG_REGION
            | TRACE_ON
            | UNIQ_KEY
            | EXTEND_UNIQ_INFO
            | MAX_RECONSUME_TIMES
            | CONSUME_START_TIME
            | DUP_INFO
            | TRAN_PREPARED_QUEUE_OFFSET
            | INSTANCE_ID
            | CORRELATION_ID
            | REPLY_TO_CLIENT
            | TTL
            | ARRIVE_TIME
            | PUSH_REPLY_TIME
            | CLUSTER
            | MSG_TYPE
            | POP_CK
            | POP_CK_OFFSET
            | FIRST_POP_TIME
            | INNER_MULTI_QUEUE_OFFSET
            | TIMER_DELAY_SEC
            | TIMER_DELAY_MS
            | TIMER_DELIVER_MS
            | TIMER_ENQUEUE_MS
            | TIMER_DEQUEUE_MS
            | TIMER_ROLL_TIMES
            | TIMER_OUT_MS
            | TIMER_DEL_UNIQKEY
            | TIMER_DELAY_LEVEL
            | BORN_HOST
            | BORN_TIMESTAMP
            | DLQ_ORIGIN_TOPIC
            | DLQ_ORIGIN_MESSAGE_ID
            | CRC32
    )
}

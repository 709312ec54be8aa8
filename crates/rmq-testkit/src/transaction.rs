//! Transactional messages on the test broker (Java: `TransactionalMessageBridge.parseHalfMessageInner`,
//! `EndTransactionProcessor`, `TransactionalMessageCheckService`,
//! `AbstractTransactionalMessageCheckListener.sendCheckMessage`).
//!
//! A half message is stored in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 with its real topic and queue
//! in `REAL_TOPIC` / `REAL_QID`, so it is in the store but not on its topic. END_TRANSACTION
//! commits it (a copy goes to the real topic) or rolls it back. With a check interval set,
//! half messages left undecided for that long are checked with one of their group's
//! connections, at most 15 times by default (Java: `transactionCheckMax`), then dropped.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Weak;
use std::time::Duration;

use parking_lot::Mutex;
use rmq_common::properties::keys;
use rmq_common::sysflag::{self, reset_transaction_value};
use rmq_remoting::code::{request, response};
use rmq_remoting::header::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use rmq_remoting::{Channel, RemotingCommand};

use crate::broker::BrokerState;
use crate::store::{NewMessage, StoredMessage, now_ms};

/// Where half messages wait (Java: `TopicValidator.RMQ_SYS_TRANS_HALF_TOPIC`).
pub const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Java: `BrokerConfig.transactionCheckMax`.
pub(crate) const DEFAULT_MAX_CHECKS: u32 = 15;
/// END_TRANSACTION headers kept for tests.
const RECORD_LIMIT: usize = 10_000;

/// The broker's transaction records.
#[derive(Debug, Default)]
pub(crate) struct Transactions {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Half messages decided (by commit-log offset): 8 committed, 12 rolled back or dropped.
    ended: BTreeMap<i64, i32>,
    /// Checks sent per half message.
    checks: BTreeMap<i64, u32>,
    ends_seen: VecDeque<EndTransactionRequestHeader>,
    checks_sent: u64,
}

impl Transactions {
    pub(crate) fn ends_seen(&self) -> Vec<EndTransactionRequestHeader> {
        self.inner.lock().ends_seen.iter().cloned().collect()
    }

    pub(crate) fn checks_sent(&self) -> u64 {
        self.inner.lock().checks_sent
    }

    pub(crate) fn is_ended(&self, commit_log_offset: i64) -> bool {
        self.inner.lock().ended.contains_key(&commit_log_offset)
    }
}

/// Makes `msg` a half message (Java: `parseHalfMessageInner`).
pub(crate) fn to_half(msg: &mut NewMessage) {
    msg.park(HALF_TOPIC);
    msg.sys_flag = reset_transaction_value(msg.sys_flag, sysflag::TRANSACTION_NOT_TYPE);
}

/// The half messages not yet decided.
pub(crate) fn undecided(state: &BrokerState) -> Vec<StoredMessage> {
    state
        .store
        .select(|m| m.topic == HALF_TOPIC && !state.transactions.is_ended(m.commit_log_offset))
}

/// END_TRANSACTION (37). Java answers nothing to UNKNOW; the producer sends it oneway anyway.
pub(crate) fn end(state: &BrokerState, request: &RemotingCommand) -> Option<RemotingCommand> {
    let header = match request.decode_header::<EndTransactionRequestHeader>() {
        Ok(header) => header,
        Err(e) => {
            return Some(
                RemotingCommand::response(response::SYSTEM_ERROR).with_remark(e.to_string()),
            );
        }
    };
    {
        let mut inner = state.transactions.inner.lock();
        if inner.ends_seen.len() == RECORD_LIMIT {
            inner.ends_seen.pop_front();
        }
        inner.ends_seen.push_back(header.clone());
    }
    let state_value = header.commit_or_rollback;
    if state_value != sysflag::TRANSACTION_COMMIT_TYPE
        && state_value != sysflag::TRANSACTION_ROLLBACK_TYPE
    {
        return None;
    }
    let offset = header.commit_log_offset;
    let refuse = |remark: &str| {
        Some(RemotingCommand::response(response::SYSTEM_ERROR).with_remark(remark.to_owned()))
    };
    let half = state
        .store
        .select(|m| m.topic == HALF_TOPIC && m.commit_log_offset == offset)
        .into_iter()
        .next();
    let Some(half) = half else {
        return refuse("Find prepared transaction message failed");
    };
    if half.properties.get(keys::PGROUP) != Some(header.producer_group.as_str()) {
        return refuse("The producer group wrong");
    }
    if half.queue_offset != header.tran_state_table_offset {
        return refuse("The transaction state table offset wrong");
    }
    {
        let mut inner = state.transactions.inner.lock();
        // Decided once: a late second END_TRANSACTION (a check's answer racing the first)
        // changes nothing.
        if inner.ended.contains_key(&offset) {
            return Some(RemotingCommand::response(response::SUCCESS));
        }
        inner.ended.insert(offset, state_value);
    }
    if state_value == sysflag::TRANSACTION_COMMIT_TYPE {
        // Java: `endMessageTransaction`.
        let sys_flag = reset_transaction_value(half.sys_flag, sysflag::TRANSACTION_COMMIT_TYPE);
        let committed = half.unparked(sys_flag, request::END_TRANSACTION);
        state.store.append(vec![committed]);
    }
    Some(RemotingCommand::response(response::SUCCESS))
}

/// Checks undecided half messages every `interval` while the broker lives (Java:
/// `TransactionalMessageCheckService`, with `transactionTimeOut` = `interval`).
pub(crate) async fn check_periodically(
    state: Weak<BrokerState>,
    interval: Duration,
    max_checks: u32,
) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(state) = state.upgrade() else {
            return;
        };
        if state.is_running() {
            check_once(&state, interval, max_checks);
        }
    }
}

fn check_once(state: &BrokerState, older_than: Duration, max_checks: u32) {
    let cutoff = now_ms() - i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    for half in undecided(state) {
        if half.store_timestamp > cutoff {
            continue;
        }
        let offset = half.commit_log_offset;
        {
            let mut inner = state.transactions.inner.lock();
            let checks = inner.checks.entry(offset).or_insert(0);
            if *checks >= max_checks {
                // Java discards it: it will never be delivered.
                inner
                    .ended
                    .insert(offset, sysflag::TRANSACTION_ROLLBACK_TYPE);
                continue;
            }
        }
        let group = half.properties.get(keys::PGROUP).unwrap_or_default();
        let Some(channel) = state.clients.for_group(group) else {
            continue;
        };
        {
            let mut inner = state.transactions.inner.lock();
            *inner.checks.entry(offset).or_insert(0) += 1;
            inner.checks_sent += 1;
        }
        send_check(state, &half, channel);
    }
}

/// CHECK_TRANSACTION_STATE (39), oneway: the 5.x header, and the half message with its real
/// topic and queue as the body.
fn send_check(state: &BrokerState, half: &StoredMessage, channel: Channel) {
    let uniq = half.uniq_key.as_ref().map(ToString::to_string);
    let header = CheckTransactionStateRequestHeader {
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: half.commit_log_offset,
        msg_id: uniq.clone(),
        transaction_id: uniq,
        offset_msg_id: Some(half.offset_msg_id.to_string()),
        topic: Some(HALF_TOPIC.to_owned()),
        broker_name: Some(state.name().to_owned()),
    };
    let body = match as_record(state.addr(), half).encode() {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, "half message cannot be sent in a check");
            return;
        }
    };
    let cmd = RemotingCommand::request(request::CHECK_TRANSACTION_STATE)
        .with_header(header)
        .with_body(body)
        .with_version(rmq_remoting::version::V4_9_8);
    tokio::spawn(async move {
        if let Err(e) = channel.invoke_oneway(cmd, Duration::from_secs(3)).await {
            tracing::debug!(error = %e, "transaction check not sent");
        }
    });
}

/// The half message as a commit-log record, topic and queue set back to the real ones.
fn as_record(store_host: SocketAddr, half: &StoredMessage) -> rmq_common::stored::StoredMessage {
    let mut record = half.record(store_host);
    if let Some(topic) = half.properties.get(keys::REAL_TOPIC) {
        record.topic = topic.to_owned();
    }
    if let Some(queue_id) = half
        .properties
        .get(keys::REAL_QID)
        .and_then(|q| q.parse().ok())
    {
        record.queue_id = queue_id;
    }
    record
}

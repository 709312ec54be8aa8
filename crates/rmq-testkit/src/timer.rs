//! Timer messages and their recall (Java 5.x: `HookUtils.handleScheduleMessage`,
//! `TimerMessageStore`, `SendMessageProcessor.attachRecallHandle`, `RecallMessageProcessor`).
//!
//! A message with `TIMER_DELAY_SEC`, `TIMER_DELAY_MS` or `TIMER_DELIVER_MS` due in the future is
//! stored in `rmq_sys_wheel_timer` and moved to its real topic when due, unless recalled
//! first. Its send result carries the recall handle.

use std::collections::HashSet;
use std::sync::Weak;
use std::time::Duration;

use parking_lot::Mutex;
use rmq_common::Properties;
use rmq_common::properties::keys;
use rmq_common::recall::RecallHandle;
use rmq_remoting::RemotingCommand;
use rmq_remoting::code::response;
use rmq_remoting::header::{RecallMessageRequestHeader, RecallMessageResponseHeader};

use crate::broker::BrokerState;
use crate::store::{NewMessage, now_ms};

/// Where timer messages wait (Java: `TimerMessageStore.TIMER_TOPIC`).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Java: `MessageStoreConfig.timerMaxDelaySec`, 3 days.
const MAX_DELAY_MS: i64 = 3 * 24 * 3600 * 1000;

/// Timer messages recalled, by `topic + "+" + UNIQ_KEY` (Java: `TIMER_DEL_UNIQKEY`).
#[derive(Debug, Default)]
pub(crate) struct Timers {
    recalled: Mutex<HashSet<String>>,
}

fn key(topic: &str, msg_id: &str) -> String {
    format!("{topic}+{msg_id}")
}

/// When a message is due, if it is a timer message due later; `Err` with the refusal when its
/// timer properties are illegal. Transactional and delay-level messages are not timer
/// messages.
pub(crate) fn due_at(props: &Properties, now: i64) -> Result<Option<i64>, RemotingCommand> {
    if props.get(keys::TRAN_MSG) == Some("true") || props.get(keys::DELAY).is_some_and(|d| d != "0")
    {
        return Ok(None);
    }
    let parse = |key| -> Result<Option<i64>, RemotingCommand> {
        props
            .get(key)
            .map(|v| v.parse::<i64>().map_err(|_| illegal()))
            .transpose()
    };
    let due = if let Some(sec) = parse(keys::TIMER_DELAY_SEC)? {
        now.saturating_add(sec.saturating_mul(1000))
    } else if let Some(ms) = parse(keys::TIMER_DELAY_MS)? {
        now.saturating_add(ms)
    } else if let Some(at) = parse(keys::TIMER_DELIVER_MS)? {
        at
    } else {
        return Ok(None);
    };
    if due > now.saturating_add(MAX_DELAY_MS) {
        return Err(illegal());
    }
    Ok((due > now).then_some(due))
}

fn illegal() -> RemotingCommand {
    RemotingCommand::response(response::MESSAGE_ILLEGAL).with_remark(format!(
        "timer message illegal, the delay time should not be bigger than the max delay {MAX_DELAY_MS}ms; or if set del msg, the delay time should be bigger than the current time"
    ))
}

/// Parks `msg` in the timer topic until `due`, and returns its recall handle.
pub(crate) fn to_timer(state: &BrokerState, msg: &mut NewMessage, due: i64) -> String {
    let real_topic = msg.topic.clone();
    msg.park(TIMER_TOPIC);
    msg.properties
        .insert_static(keys::TIMER_OUT_MS, due.to_string());
    RecallHandle {
        topic: real_topic.to_string(),
        broker_name: state.name().to_owned(),
        // Java: TIMER_OUT_MS + 1, "consider of floor".
        timestamp: (due + 1).to_string(),
        msg_id: msg
            .properties
            .get(keys::UNIQ_KEY)
            .unwrap_or_default()
            .to_owned(),
    }
    .encode()
}

/// Moves the timer message stored at `commit_log_offset` to its real topic when `due`, unless
/// it was recalled.
pub(crate) fn schedule(state: Weak<BrokerState>, commit_log_offset: i64, due: i64) {
    let wait = Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0));
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        let Some(state) = state.upgrade() else {
            return;
        };
        let parked = state
            .store
            .select(|m| m.topic == TIMER_TOPIC && m.commit_log_offset == commit_log_offset)
            .into_iter()
            .next();
        let Some(parked) = parked else {
            return;
        };
        let mut due = parked.unparked(parked.sys_flag, parked.request_code);
        due.properties.remove(keys::TIMER_OUT_MS);
        let uniq = parked.uniq_key.as_deref().unwrap_or_default();
        if state.timers.recalled.lock().remove(&key(&due.topic, uniq)) {
            return;
        }
        state.store.append(vec![due]);
    });
}

/// RECALL_MESSAGE (370), with Java 5.3.3's checks and remarks.
pub(crate) fn recall(state: &BrokerState, request: &RemotingCommand) -> RemotingCommand {
    let refuse = |code, remark: String| RemotingCommand::response(code).with_remark(remark);
    let header = match request.decode_header::<RecallMessageRequestHeader>() {
        Ok(header) => header,
        Err(e) => return refuse(response::SYSTEM_ERROR, e.to_string()),
    };
    if !state.has_topic(&header.topic) {
        return refuse(
            response::TOPIC_NOT_EXIST,
            format!("recall failed, the topic[{}] not exist", header.topic),
        );
    }
    let Ok(handle) = RecallHandle::decode(&header.recall_handle) else {
        return refuse(
            response::ILLEGAL_OPERATION,
            "recall handle is invalid".into(),
        );
    };
    if handle.topic != header.topic {
        return refuse(
            response::ILLEGAL_OPERATION,
            "recall failed, topic not match".into(),
        );
    }
    if handle.broker_name != state.name() {
        return refuse(
            response::ILLEGAL_OPERATION,
            "recall failed, broker service not available".into(),
        );
    }
    let left = handle
        .timestamp
        .parse::<i64>()
        .unwrap_or(-1)
        .saturating_sub(now_ms());
    if left <= 0 || left >= MAX_DELAY_MS {
        return refuse(
            response::ILLEGAL_OPERATION,
            "recall failed, timestamp invalid".into(),
        );
    }
    state
        .timers
        .recalled
        .lock()
        .insert(key(&handle.topic, &handle.msg_id));
    RemotingCommand::response(response::SUCCESS).with_header(RecallMessageResponseHeader {
        msg_id: handle.msg_id,
    })
}

//! Fault injection: what a real broker cannot be made to do on demand (slow answers, error
//! codes, dropped connections).
//!
//! The remarks of injected failures are the ones a Java 4.9.8 broker writes for the same code
//! (`NettyRemotingAbstract.processRequestCommand`, `SendMessageProcessor.handlePutMessageResult`,
//! `AbstractSendMessageProcessor.msgCheck`), so a client's error text matches production.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::Mutex;
use rmq_remoting::code::response;

/// What happens to the next requests.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    latency: Duration,
    /// Response codes still to inject, as (code, remaining sends).
    failures: VecDeque<(i32, usize)>,
    /// Requests still to let through before closing the connection of the next one.
    drop_after: Option<u64>,
    /// Whether that request is processed (a message stored) before its connection closes.
    drop_after_processing: bool,
    /// Requests are read and never answered.
    black_hole: bool,
}

/// Whether a request may be processed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Process it.
    Process,
    /// Close its connection without answering.
    DropConnection,
    /// Process it (store the message), then close its connection without answering.
    ProcessThenDrop,
}

impl Faults {
    pub(crate) fn set_latency(&self, latency: Duration) {
        self.state.lock().latency = latency;
    }

    pub(crate) fn latency(&self) -> Duration {
        self.state.lock().latency
    }

    /// Queues `count` sends answered with `code`, after those already queued.
    pub(crate) fn fail_next(&self, code: i32, count: usize) {
        if count > 0 {
            self.state.lock().failures.push_back((code, count));
        }
    }

    /// The code to inject into this send, if any; consumes it.
    pub(crate) fn take_failure(&self) -> Option<i32> {
        let mut state = self.state.lock();
        let (code, remaining) = state.failures.front_mut()?;
        let code = *code;
        *remaining -= 1;
        if *remaining == 0 {
            state.failures.pop_front();
        }
        Some(code)
    }

    /// Arms the connection drop: the `n`-th request from now closes its connection, before
    /// it is processed or, with `processed`, after.
    pub(crate) fn drop_connection_after(&self, n: u64, processed: bool) {
        let mut state = self.state.lock();
        state.drop_after = Some(n);
        state.drop_after_processing = processed;
    }

    /// Counts a request against the armed drop, if any.
    pub(crate) fn admit(&self) -> Admission {
        let mut state = self.state.lock();
        match state.drop_after {
            Some(n) if n <= 1 => {
                state.drop_after = None;
                if state.drop_after_processing {
                    Admission::ProcessThenDrop
                } else {
                    Admission::DropConnection
                }
            }
            Some(n) => {
                state.drop_after = Some(n - 1);
                Admission::Process
            }
            None => Admission::Process,
        }
    }

    pub(crate) fn set_black_hole(&self, on: bool) {
        self.state.lock().black_hole = on;
    }

    pub(crate) fn black_hole(&self) -> bool {
        self.state.lock().black_hole
    }

    /// Removes every injected fault.
    pub(crate) fn reset(&self) {
        *self.state.lock() = State::default();
    }
}

/// Codes a broker answers after storing the message (Java: `PutMessageStatus` values other
/// than `PUT_OK` that still count as sent): the response carries the usual send header.
pub(crate) fn is_stored_status(code: i32) -> bool {
    matches!(
        code,
        response::FLUSH_DISK_TIMEOUT
            | response::SLAVE_NOT_AVAILABLE
            | response::FLUSH_SLAVE_TIMEOUT
    )
}

/// The remark a Java broker gives `code` when refusing a send to `topic`; `broker_ip` is
/// what Java prints as `brokerIP1`.
pub(crate) fn remark(code: i32, broker_ip: &str, topic: &str) -> String {
    match code {
        response::SYSTEM_ERROR => "create mapped file failed, server is busy or broken.".into(),
        response::SYSTEM_BUSY => "[REJECTREQUEST]system busy, start flow control for a while".into(),
        response::MESSAGE_ILLEGAL => ILLEGAL_MESSAGE.into(),
        response::SERVICE_NOT_AVAILABLE => "service not available now. It may be caused by one of the following reasons: the broker's disk is full, messages are put to the slave, message store has been shut down, etc.".into(),
        response::NO_PERMISSION => format!("the broker[{broker_ip}] sending message is forbidden"),
        response::TOPIC_NOT_EXIST => topic_not_exist(topic),
        other => format!(
            "injected failure {other} ({})",
            rmq_remoting::code::response_name(other)
        ),
    }
}

/// Java's remark for `MESSAGE_ILLEGAL` and `PROPERTIES_SIZE_EXCEEDED`.
pub(crate) const ILLEGAL_MESSAGE: &str = "the message is illegal, maybe msg body or properties length not matched. msg body length limit 128k, msg properties length limit 32k.";

/// Java's remark when a send names a topic the broker does not have and cannot create.
pub(crate) fn topic_not_exist(topic: &str) -> String {
    format!(
        "topic[{topic}] not exist, apply first please!{}",
        crate::namesrv::APPLY_TOPIC_SUGGESTION
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_consumed_in_order() {
        let faults = Faults::default();
        faults.fail_next(2, 2);
        faults.fail_next(14, 1);
        faults.fail_next(16, 0);
        let taken: Vec<_> = std::iter::from_fn(|| faults.take_failure()).collect();
        assert_eq!(taken, [2, 2, 14]);
    }

    #[test]
    fn drop_fires_once_on_the_nth_request() {
        let faults = Faults::default();
        faults.drop_connection_after(3, false);
        let admissions: Vec<_> = (0..5).map(|_| faults.admit()).collect();
        assert_eq!(
            admissions,
            [
                Admission::Process,
                Admission::Process,
                Admission::DropConnection,
                Admission::Process,
                Admission::Process
            ]
        );
        faults.drop_connection_after(1, true);
        assert_eq!(faults.admit(), Admission::ProcessThenDrop);
        faults.drop_connection_after(1, false);
        faults.reset();
        assert_eq!(faults.admit(), Admission::Process);
    }

    #[test]
    fn remarks_match_java() {
        assert_eq!(
            remark(16, "127.0.0.1", "T"),
            "the broker[127.0.0.1] sending message is forbidden"
        );
        assert!(remark(17, "", "T").starts_with("topic[T] not exist, apply first please!"));
        assert_eq!(remark(215, "", "T"), "injected failure 215 (FLOW_CONTROL)");
        assert!(is_stored_status(10) && is_stored_status(11) && is_stored_status(12));
        assert!(!is_stored_status(0) && !is_stored_status(13));
    }
}

//! The retry loop and its policy: which error retries, which broker next, what the fault
//! strategy records (Java 5.3.3: `DefaultMQProducerImpl.sendDefaultImpl` and its catch blocks,
//! `MQClientAPIImpl.onExceptionImpl`).

use std::collections::BTreeSet;
use std::time::Duration;

use rmq_common::{ByteString, MessageQueue};
use rmq_remoting::ErrorKind;
use tokio::time::Instant;

use super::prepare::Outgoing;
use crate::hook::SendMode;
use crate::producer::ProducerInner;
use crate::route::TopicPublishInfo;
use crate::{Error, Result, SendAttempt, SendResult, SendStatus};

/// At most this many attempts are recorded in an error: with `u32::MAX` retries a send that
/// fails fast could otherwise grow its record without bound before its deadline.
const RECORDED_ATTEMPTS: usize = 64;

/// What to do after a failed attempt, and what the fault strategy records about the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Try again (on another broker if there is one).
    pub(crate) retry: bool,
    /// Record the failure as a long latency, so the broker is avoided for a while.
    pub(crate) isolation: bool,
    /// Whether the broker still counts as reachable (5.x).
    pub(crate) reachable: bool,
}

impl Verdict {
    /// A failure that says nothing about the broker: recorded as reachable, not isolated.
    const fn local(retry: bool) -> Self {
        Verdict {
            retry,
            isolation: false,
            reachable: true,
        }
    }
}

/// Classifies a failed attempt by the error's kind and where it arose (Java 5.3.3):
///
/// | error | sync / oneway | async |
/// |---|---|---|
/// | transport, after the request may have left (connect, write, closed, timeout) | retry, isolate, reachable | retry, isolate, reachable |
/// | broker answered an error code | retry if in `retry_codes`; isolate, unreachable | no retry; isolate, reachable |
/// | broker address unknown, unreadable answer (Java: `MQClientException`) | retry; not isolated | retry; not isolated |
/// | local: no permit, encoding, deadline before sending, shutdown, validation, hooks | no retry; not isolated | no retry; not isolated |
///
/// Two choices differ from Java on purpose: running out of local permits and failing to encode
/// a request say nothing about the broker, so neither isolates it (Java isolates on any
/// `RemotingException`); and an encoding failure is not retried, since every broker would get
/// the same bytes.
pub(crate) fn classify(error: &Error, mode: SendMode, retry_codes: &BTreeSet<i32>) -> Verdict {
    match error {
        Error::Remoting(e) => match e.kind() {
            ErrorKind::Connect
            | ErrorKind::SendRequest
            | ErrorKind::ConnectionClosed
            | ErrorKind::Timeout => Verdict {
                retry: true,
                isolation: true,
                reachable: true,
            },
            // Local (no permit, encoding, shut down): says nothing about the broker.
            _ => Verdict::local(false),
        },
        Error::Broker { code, .. } => match mode {
            SendMode::Async => Verdict {
                retry: false,
                isolation: true,
                reachable: true,
            },
            SendMode::Sync | SendMode::Oneway => Verdict {
                retry: retry_codes.contains(code),
                isolation: true,
                reachable: false,
            },
        },
        Error::BrokerNotFound { .. } | Error::MalformedResponse { .. } => Verdict::local(true),
        _ => Verdict::local(false),
    }
}

/// One attempt of a send: where it goes and when it began.
pub(crate) struct Attempt {
    /// The queue as the broker knows it (a static topic's logical queue mapped to its leader).
    pub(crate) target: MessageQueue,
    /// The name the fault strategy knows the broker by: the queue's own (for a static topic,
    /// its logical broker, as Java's sync path does).
    broker: ByteString,
    pub(crate) begin: Instant,
}

impl Attempt {
    /// The one attempt of a send to the caller's queue.
    pub(crate) fn to(target: MessageQueue) -> Self {
        Attempt {
            broker: target.broker_name_shared().clone(),
            begin: Instant::now(),
            target,
        }
    }

    /// The outcome of a send whose only attempt this was: a failure in the same shape as a
    /// send with retries, unless nothing was sent for want of time.
    pub(crate) fn only(
        self,
        out: &Outgoing,
        outcome: Result<Option<SendResult>>,
    ) -> Result<Option<SendResult>> {
        outcome.map_err(|error| match error {
            Error::Timeout { .. } => error,
            error => Error::AllAttemptsFailed {
                topic: out.user_topic.to_string(),
                attempts: vec![SendAttempt::failed(
                    &self.target,
                    error,
                    self.begin.elapsed(),
                )],
            },
        })
    }
}

/// A send's attempts so far (Java: the loop state of `sendDefaultImpl`). The sync loop keeps
/// it on its stack; an async send carries it from one answer to the next attempt.
pub(crate) struct Retry {
    mode: SendMode,
    /// Attempts allowed in all, and made so far.
    total: u32,
    pub(crate) made: u32,
    attempts: Vec<SendAttempt>,
    last_broker: Option<ByteString>,
    /// A message stored with a weaker status, kept while another broker is tried. Boxed:
    /// rarely set, and inline it would enlarge every async send in flight.
    last_result: Option<Box<SendResult>>,
}

/// What a send does after an attempt.
#[allow(
    clippy::large_enum_variant,
    reason = "returned and matched at once, never stored"
)]
pub(crate) enum Step {
    /// It has its outcome.
    Done(Result<Option<SendResult>>),
    /// It tries again, if attempts and time are left.
    Again,
    /// No time is left for another attempt: see [`ProducerInner::give_up`].
    GiveUp,
}

impl Retry {
    /// No attempt made yet; `1 + retries` allowed (the retries of `mode`).
    pub(crate) fn new(config: &crate::ProducerConfig, mode: SendMode) -> Self {
        let retries = match mode {
            SendMode::Sync => config.retry_times_when_send_failed,
            SendMode::Async => config.retry_times_when_send_async_failed,
            SendMode::Oneway => 0,
        };
        Retry {
            mode,
            total: retries.saturating_add(1),
            made: 0,
            attempts: Vec::new(),
            last_broker: None,
            last_result: None,
        }
    }

    /// How the send waits: what its attempts tell hooks, and which retry rules apply.
    pub(crate) fn mode(&self) -> SendMode {
        self.mode
    }
}

impl ProducerInner {
    /// Sends with retries on other brokers within one deadline (Java: `sendDefaultImpl`).
    /// `None` for oneway sends. Async sends take the same steps from their callbacks (see
    /// `driver`).
    pub(crate) async fn send_with_retries(
        &self,
        out: &Outgoing,
        mode: SendMode,
        deadline: Instant,
        started: Instant,
    ) -> Result<Option<SendResult>> {
        let instance = self.attached_instance()?;
        let info = self
            .find_publish_info(out.message.topic(), &out.user_topic, deadline)
            .await?;
        let mut retry = Retry::new(&self.config, mode);
        let outcome = loop {
            let Some(attempt) = self.next_attempt(&mut retry, &info, deadline) else {
                break self.give_up(&mut retry, out, started, deadline);
            };
            let outcome = self
                .send_kernel(
                    &instance,
                    out,
                    &attempt.target,
                    mode,
                    deadline,
                    attempt.begin,
                )
                .await;
            match self.after_attempt(&mut retry, attempt, outcome, out) {
                Step::Done(result) => break result,
                Step::Again => {}
                Step::GiveUp => break self.give_up(&mut retry, out, started, deadline),
            }
        };
        tracing::Span::current().record("attempts", retry.made);
        outcome
    }

    /// The next attempt: a queue the fault strategy picks, avoiding the last broker. `None`
    /// once the attempts or the time are used up.
    pub(crate) fn next_attempt(
        &self,
        retry: &mut Retry,
        info: &TopicPublishInfo,
        deadline: Instant,
    ) -> Option<Attempt> {
        if retry.made >= retry.total {
            return None;
        }
        let queue = self
            .fault
            .select_queue(info, retry.last_broker.as_deref(), retry.made > 0)?;
        retry.made += 1;
        let broker = queue.broker_name_shared().clone();
        retry.last_broker = Some(broker.clone());
        let begin = Instant::now();
        if begin >= deadline {
            return None;
        }
        Some(Attempt {
            target: info.wire_queue(queue),
            broker,
            begin,
        })
    }

    /// What an attempt's outcome means: the fault strategy's record of the broker, and
    /// whether the send is done (Java: the catch blocks of `sendDefaultImpl`).
    pub(crate) fn after_attempt(
        &self,
        retry: &mut Retry,
        attempt: Attempt,
        outcome: Result<Option<SendResult>>,
        out: &Outgoing,
    ) -> Step {
        let Attempt {
            target,
            broker,
            begin,
        } = attempt;
        let mode = retry.mode;
        match outcome {
            Ok(result) => {
                // The clock is read only when something uses the attempt's duration.
                if self.fault.enabled() {
                    self.fault.update(&broker, begin.elapsed(), false, true);
                }
                let stored_short = result
                    .as_ref()
                    .is_some_and(|r| r.status != SendStatus::SendOk);
                // Stored, but not as well as asked: another broker is tried, and this
                // result stands unless a later attempt does better.
                if mode == SendMode::Sync
                    && stored_short
                    && self.config.retry_another_broker_when_not_store_ok
                {
                    retry.last_result = result.map(Box::new);
                    return Step::Again;
                }
                Step::Done(Ok(result))
            }
            // Nothing was sent: the deadline had passed.
            Err(Error::Timeout { .. }) => Step::GiveUp,
            Err(e) => {
                let elapsed = begin.elapsed();
                let verdict = classify(&e, mode, &self.config.retry_response_codes);
                self.fault
                    .update(&broker, elapsed, verdict.isolation, verdict.reachable);
                if verdict.retry && retry.made < retry.total {
                    crate::observe::retrying(&out.user_topic, target.broker_name(), &e, retry.made);
                }
                if !verdict.retry
                    && let Some(result) = retry.last_result.take()
                {
                    return Step::Done(Ok(Some(*result)));
                }
                record(&mut retry.attempts, &target, e, elapsed);
                if !verdict.retry {
                    return Step::Done(Err(Error::AllAttemptsFailed {
                        topic: out.user_topic.to_string(),
                        attempts: std::mem::take(&mut retry.attempts),
                    }));
                }
                Step::Again
            }
        }
    }

    /// The outcome of a send with no attempt left.
    pub(crate) fn give_up(
        &self,
        retry: &mut Retry,
        out: &Outgoing,
        started: Instant,
        deadline: Instant,
    ) -> Result<Option<SendResult>> {
        // A message already stored (with a weaker status) is reported, not lost.
        if let Some(result) = retry.last_result.take() {
            return Ok(Some(*result));
        }
        let attempts = std::mem::take(&mut retry.attempts);
        if Instant::now() >= deadline {
            return Err(timed_out(out, started, deadline, attempts));
        }
        Err(Error::AllAttemptsFailed {
            topic: out.user_topic.to_string(),
            attempts,
        })
    }
}

/// The send's deadline passed (Java: `sendDefaultImpl call timeout`).
pub(crate) fn timed_out(
    out: &Outgoing,
    started: Instant,
    deadline: Instant,
    attempts: Vec<SendAttempt>,
) -> Error {
    Error::Timeout {
        topic: out.user_topic.to_string(),
        elapsed: started.elapsed(),
        timeout: deadline.saturating_duration_since(started),
        attempts,
    }
}

/// Records a failed attempt, keeping the most recent [`RECORDED_ATTEMPTS`].
fn record(attempts: &mut Vec<SendAttempt>, queue: &MessageQueue, error: Error, elapsed: Duration) {
    if attempts.len() == RECORDED_ATTEMPTS {
        attempts.remove(0);
    }
    attempts.push(SendAttempt::failed(queue, error, elapsed));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_RETRY_RESPONSE_CODES;
    use rmq_common::ValidationError;
    use rmq_remoting::RemotingError;
    use rmq_remoting::code::response;

    fn remoting(kind: ErrorKind) -> Error {
        Error::Remoting(RemotingError::new(kind, "127.0.0.1:10911"))
    }

    fn broker(code: i32) -> Error {
        Error::Broker {
            code,
            remark: String::new(),
            broker: "broker-a".into(),
            addr: "127.0.0.1:10911".into(),
        }
    }

    /// Every error a send attempt can end with, in every send mode, against the policy table.
    #[test]
    fn every_error_kind_in_every_mode() {
        use SendMode::{Async, Oneway, Sync};
        let codes: BTreeSet<i32> = DEFAULT_RETRY_RESPONSE_CODES.into_iter().collect();
        let v = |retry, isolation, reachable| Verdict {
            retry,
            isolation,
            reachable,
        };
        let network = v(true, true, true);
        let local = v(false, false, true);
        let retry_elsewhere = v(true, false, true);
        let cases: Vec<(&str, Error, [Verdict; 3])> = vec![
            ("connect", remoting(ErrorKind::Connect), [network; 3]),
            ("write", remoting(ErrorKind::SendRequest), [network; 3]),
            (
                "closed",
                remoting(ErrorKind::ConnectionClosed),
                [network; 3],
            ),
            ("timeout", remoting(ErrorKind::Timeout), [network; 3]),
            (
                "no permit",
                remoting(ErrorKind::TooManyRequests),
                [local; 3],
            ),
            ("encoding", remoting(ErrorKind::Codec), [local; 3]),
            (
                "client shut down",
                remoting(ErrorKind::Shutdown),
                [local; 3],
            ),
            (
                "no name server",
                remoting(ErrorKind::NoNameServer),
                [local; 3],
            ),
            (
                "retryable code",
                broker(response::SYSTEM_BUSY),
                [
                    v(true, true, false),
                    v(false, true, true),
                    v(true, true, false),
                ],
            ),
            (
                "other code",
                broker(response::MESSAGE_ILLEGAL),
                [
                    v(false, true, false),
                    v(false, true, true),
                    v(false, true, false),
                ],
            ),
            (
                "broker not found",
                Error::BrokerNotFound {
                    broker: "broker-a".into(),
                },
                [retry_elsewhere; 3],
            ),
            (
                "unreadable answer",
                Error::MalformedResponse {
                    what: "send response header",
                    addr: "127.0.0.1:10911".into(),
                    detail: "missing queueId".into(),
                },
                [retry_elsewhere; 3],
            ),
            (
                "validation",
                Error::Validation(ValidationError::EmptyBody),
                [local; 3],
            ),
            (
                "forbidden",
                Error::Forbidden {
                    hook: "h".into(),
                    reason: "no".into(),
                },
                [local; 3],
            ),
            (
                "hook panicked",
                Error::HookPanicked {
                    hook: "h".into(),
                    message: "boom".into(),
                },
                [local; 3],
            ),
            ("shutdown", Error::Shutdown, [local; 3]),
        ];
        for (what, error, expected) in cases {
            for (mode, want) in [Sync, Async, Oneway].into_iter().zip(expected) {
                assert_eq!(classify(&error, mode, &codes), want, "{what} in {mode:?}");
            }
        }
    }

    #[test]
    fn the_record_keeps_the_latest_attempts() {
        let queue = MessageQueue::new("T", "broker-a", 0);
        let mut attempts = Vec::new();
        for i in 0..RECORDED_ATTEMPTS + 10 {
            let error = Error::Config(i.to_string());
            record(&mut attempts, &queue, error, Duration::ZERO);
        }
        assert_eq!(attempts.len(), RECORDED_ATTEMPTS);
        let first = attempts[0].error.to_string();
        assert!(first.ends_with(": 10"), "{first}");
    }
}

//! The transaction producer against the fake transport: the half message, END_TRANSACTION
//! after the local transaction, and broker checks through the bounded executor.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rmq_common::properties::keys;
use rmq_common::{ByteString, Message};
use rmq_remoting::RemotingCommand;
use rmq_remoting::code::request;
use tokio::sync::Notify;

use super::*;
use crate::send::fake::{A, B, FakeTransport, Seen};

/// vectors.md V57: the stored half message a 4.9.8 broker sends with its check (`PGROUP=pg`).
const V57_BODY: &str = "000000BDDAA320A769C865ED0000000100000000000000000000002A0000000012345678000000000000018BCFE56800C0A801640000D4310000018BCFE5687BC0A8002F00002A9F0000000000000000000000000000000E48656C6C6F20526F636B65744D5109546F70696354657374004B5452414E5F4D5347017472756502554E49515F4B4559014330413830313634313233343138423441414332303735424344313530303031025047524F555001706702574149540174727565";
const V57_EXT: [(&str, &str); 4] = [
    ("msgId", "C0A80164123418B4AAC2075BCD150001"),
    ("tranStateTableOffset", "42"),
    ("offsetMsgId", "C0A8002F00002A9F0000000012345678"),
    ("transactionId", "C0A80164123418B4AAC2075BCD150001"),
];
const UNIQ_KEY: &str = "C0A80164123418B4AAC2075BCD150001";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A scripted listener that records what it was given.
#[derive(Default)]
struct Script {
    execute: Mutex<Option<LocalTransactionState>>,
    check: Mutex<Option<LocalTransactionState>>,
    executed: Mutex<Vec<Message>>,
    checked: Mutex<Vec<TransactionCheck>>,
    /// Checks wait for this before answering, when set.
    gate: Option<Arc<Notify>>,
    running: AtomicUsize,
    most_running: AtomicUsize,
}

impl TransactionListener for Script {
    type Arg = &'static str;

    async fn execute(&self, msg: &Message, arg: &'static str) -> LocalTransactionState {
        assert_eq!(arg, "the arg");
        self.executed.lock().push(msg.clone());
        let state = *self.execute.lock();
        match state {
            Some(state) => state,
            None => panic!("no local transaction scripted"),
        }
    }

    async fn check(&self, check: &TransactionCheck) -> LocalTransactionState {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            gate.notified().await;
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.checked.lock().push(check.clone());
        let state = *self.check.lock();
        match state {
            Some(state) => state,
            None => std::future::pending().await,
        }
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

async fn transactional(
    fake: &Arc<FakeTransport>,
    script: &Arc<Script>,
    builder: crate::ProducerBuilder,
) -> TransactionProducer<Arc<Script>> {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let config = builder
        .name_server("127.0.0.1:9876")
        .instance_name(format!("tx-{n}"))
        .into_config();
    let producer = TransactionProducer::new(
        Producer::with_transport(config, fake.clone()),
        script.clone(),
    );
    producer.start().await.expect("start");
    producer
}

fn ends(fake: &FakeTransport) -> Vec<Seen> {
    fake.seen
        .lock()
        .iter()
        .filter(|s| s.code == request::END_TRANSACTION)
        .cloned()
        .collect()
}

fn ext<'a>(seen: &'a Seen, key: &str) -> Option<&'a str> {
    seen.ext.as_ref().and_then(|e| e.get(key))
}

#[tokio::test(start_paused = true)]
async fn a_committed_transaction_sends_a_half_message_then_commits_it_where_it_was_stored() {
    let fake = FakeTransport::new();
    let script = Arc::new(Script::default());
    *script.execute.lock() = Some(LocalTransactionState::Commit);
    let producer = transactional(&fake, &script, Producer::builder("pg")).await;

    let mut msg = Message::new("TopicTest", "hello");
    msg.set_delay_level(3);
    let sent = producer
        .send_in_transaction(msg, "the arg")
        .await
        .expect("sent");
    assert_eq!(sent.local_state, LocalTransactionState::Commit);

    let sends = fake.sends();
    assert_eq!(sends.len(), 1);
    let half = sends[0].header.as_ref().expect("send header");
    assert_eq!(half.sys_flag & 0x4, 0x4, "TRANSACTION_PREPARED_TYPE");
    let props = rmq_common::Properties::decode(half.properties.as_deref().unwrap_or_default());
    assert_eq!(props.get(keys::TRAN_MSG), Some("true"));
    assert_eq!(props.get(keys::PGROUP), Some("pg"));
    assert_eq!(
        props.get(keys::DELAY),
        None,
        "a half message is never delayed"
    );

    // The listener saw the message with its transaction id.
    let executed = script.executed.lock().clone();
    assert_eq!(executed.len(), 1);
    assert_eq!(
        executed[0].transaction_id(),
        Some(&*sent.send_result.msg_id)
    );
    assert_eq!(executed[0].topic(), "TopicTest");

    let ends = ends(&fake);
    assert_eq!(ends.len(), 1);
    let end = &ends[0];
    assert_eq!(
        end.addr, sends[0].addr,
        "ended on the broker that stored it"
    );
    assert_eq!(ext(end, "commitOrRollback"), Some("8"));
    assert_eq!(ext(end, "fromTransactionCheck"), Some("false"));
    assert_eq!(ext(end, "producerGroup"), Some("pg"));
    assert_eq!(ext(end, "msgId"), Some(&*sent.send_result.msg_id));
    assert_eq!(
        ext(end, "tranStateTableOffset"),
        Some(sent.send_result.queue_offset.to_string().as_str())
    );
    let offset_id = sent
        .send_result
        .offset_msg_id
        .as_deref()
        .expect("offset id");
    let offset = rmq_common::OffsetMessageId::decode(offset_id).expect("offset id");
    assert_eq!(
        ext(end, "commitLogOffset"),
        Some(offset.offset.to_string().as_str())
    );
    assert_eq!(ext(end, "topic"), Some("TopicTest"));
    assert!(end.remark.is_none());
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_panicking_local_transaction_ends_unknown_with_a_remark() {
    let fake = FakeTransport::new();
    // No scripted state: `execute` panics.
    let script = Arc::new(Script::default());
    let producer = transactional(&fake, &script, Producer::builder("pg")).await;
    let sent = producer
        .send_in_transaction(Message::new("TopicTest", "hello"), "the arg")
        .await
        .expect("the half message was stored");
    assert_eq!(sent.local_state, LocalTransactionState::Unknown);
    let ends = ends(&fake);
    assert_eq!(ext(&ends[0], "commitOrRollback"), Some("0"));
    let remark = ends[0].remark.as_deref().unwrap_or_default();
    assert!(
        remark.starts_with(
            "executeLocalTransactionBranch exception: panicked: no local transaction scripted"
        ),
        "{remark}"
    );
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_half_message_comes_back_without_transaction_properties_and_runs_nothing() {
    let fake = FakeTransport::new();
    fake.set(
        A,
        crate::send::fake::Behaviour::Code(rmq_remoting::code::response::NO_PERMISSION),
    );
    fake.set(
        B,
        crate::send::fake::Behaviour::Code(rmq_remoting::code::response::NO_PERMISSION),
    );
    let script = Arc::new(Script::default());
    let producer = transactional(&fake, &script, Producer::builder("pg")).await;
    let failed = producer
        .send_in_transaction(Message::new("TopicTest", "hello"), "the arg")
        .await
        .expect_err("refused");
    assert_eq!(failed.kind(), crate::ErrorKind::Permission);
    let msg = failed.message();
    assert_eq!(msg.properties().get(keys::TRAN_MSG), None);
    assert_eq!(msg.properties().get(keys::PGROUP), None);
    assert!(msg.uniq_key().is_some(), "the id it was sent under stays");
    assert!(script.executed.lock().is_empty());
    assert!(ends(&fake).is_empty());
    producer.shutdown().await;
}

/// Hands a V57 check from `addr` to the producer's client instance, as its processor does.
fn deliver_check(producer: &TransactionProducer<Arc<Script>>, addr: &str, commit_log_offset: i64) {
    let instance = producer
        .producer()
        .inner
        .attached_instance()
        .expect("started");
    let mut ext: rmq_remoting::ExtFields = V57_EXT.into_iter().collect();
    ext.insert("commitLogOffset", commit_log_offset.to_string());
    let mut cmd =
        RemotingCommand::request(request::CHECK_TRANSACTION_STATE).with_body(unhex(V57_BODY));
    *cmd.ext_fields_mut() = ext;
    receive(&instance, &ByteString::from(addr), &cmd);
}

#[tokio::test(start_paused = true)]
async fn a_check_is_answered_with_the_listeners_state_to_the_broker_that_asked() {
    let fake = FakeTransport::new();
    let script = Arc::new(Script::default());
    *script.check.lock() = Some(LocalTransactionState::Commit);
    let producer = transactional(&fake, &script, Producer::builder("pg")).await;

    deliver_check(&producer, B, 305_419_896);
    tokio::time::sleep(Duration::from_millis(10)).await;

    let checked = script.checked.lock().clone();
    assert_eq!(checked.len(), 1);
    let check = &checked[0];
    assert_eq!(check.message.topic(), "TopicTest");
    assert_eq!(check.message.body().as_ref(), b"Hello RocketMQ");
    assert_eq!(check.message.transaction_id(), Some(UNIQ_KEY));
    assert_eq!(check.offset_msg_id, "C0A8002F00002A9F0000000012345678");
    assert_eq!(check.queue_offset, 42);
    assert_eq!(check.broker_addr, B);

    let ends = ends(&fake);
    assert_eq!(ends.len(), 1);
    let end = &ends[0];
    assert_eq!(end.addr, B);
    assert_eq!(ext(end, "commitOrRollback"), Some("8"));
    assert_eq!(ext(end, "fromTransactionCheck"), Some("true"));
    assert_eq!(ext(end, "producerGroup"), Some("pg"));
    assert_eq!(ext(end, "tranStateTableOffset"), Some("42"));
    assert_eq!(ext(end, "commitLogOffset"), Some("305419896"));
    assert_eq!(ext(end, "msgId"), Some(UNIQ_KEY));
    assert_eq!(ext(end, "transactionId"), Some(UNIQ_KEY));
    assert_eq!(ext(end, "bname"), None);
    assert_eq!(
        producer.check_stats(),
        CheckStats {
            received: 1,
            answered: 1,
            dropped: 0
        }
    );
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_check_flood_runs_within_the_executor_and_drops_the_excess_counted() {
    let fake = FakeTransport::new();
    let gate = Arc::new(Notify::new());
    let script = Arc::new(Script {
        gate: Some(gate.clone()),
        ..Script::default()
    });
    *script.check.lock() = Some(LocalTransactionState::Rollback);
    let builder = Producer::builder("pg")
        .check_concurrency(2)
        .check_backlog(3);
    let producer = transactional(&fake, &script, builder).await;

    for offset in 0..20 {
        deliver_check(&producer, A, offset);
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    let stats = producer.check_stats();
    assert_eq!((stats.received, stats.dropped, stats.answered), (20, 15, 0));
    assert_eq!(script.running.load(Ordering::SeqCst), 2);

    // Released one at a time, the five kept are all answered, never more than two at once.
    for _ in 0..5 {
        gate.notify_one();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = producer.check_stats();
    assert_eq!((stats.received, stats.dropped, stats.answered), (20, 15, 5));
    assert_eq!(script.most_running.load(Ordering::SeqCst), 2);
    let answered: Vec<i64> = ends(&fake)
        .iter()
        .filter_map(|e| ext(e, "commitLogOffset").and_then(|v| v.parse().ok()))
        .collect();
    let mut sorted = answered.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        vec![0, 1, 2, 3, 4],
        "the first five, none lost silently"
    );
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_check_listener_that_hangs_is_answered_unknown_at_the_timeout() {
    let fake = FakeTransport::new();
    // No scripted state: the check never finishes.
    let script = Arc::new(Script::default());
    let builder = Producer::builder("pg").transaction_listener_timeout(Duration::from_secs(5));
    let producer = transactional(&fake, &script, builder).await;
    deliver_check(&producer, A, 7);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(ends(&fake).is_empty());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ends = ends(&fake);
    assert_eq!(ends.len(), 1);
    assert_eq!(ext(&ends[0], "commitOrRollback"), Some("0"));
    let remark = ends[0].remark.as_deref().unwrap_or_default();
    assert!(
        remark.starts_with("checkLocalTransactionState Exception: did not finish within 5s"),
        "{remark}"
    );
    producer.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn checks_for_other_groups_or_plain_producers_are_ignored() {
    let fake = FakeTransport::new();
    let script = Arc::new(Script::default());
    *script.check.lock() = Some(LocalTransactionState::Commit);
    // Group "other": the V57 check names "pg".
    let producer = transactional(&fake, &script, Producer::builder("other")).await;
    deliver_check(&producer, A, 1);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(ends(&fake).is_empty());
    assert_eq!(producer.check_stats().received, 0);
    producer.shutdown().await;
}

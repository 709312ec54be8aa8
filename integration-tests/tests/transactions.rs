//! Transactional messages against the test broker: commit, rollback, an undecided transaction
//! decided by a check-back, a check flood through the bounded executor, and listeners that
//! panic.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rmq::prelude::*;
use rmq_testkit::{HALF_TOPIC, TestCluster};

/// Local transactions and checks answer what the test says.
struct Scripted {
    execute: LocalTransactionState,
    check: LocalTransactionState,
    /// Checks wait until this is set.
    open: Arc<AtomicBool>,
    checks: AtomicUsize,
    panic_in_execute: bool,
}

impl Scripted {
    fn new(execute: LocalTransactionState, check: LocalTransactionState) -> Self {
        Scripted {
            execute,
            check,
            open: Arc::new(AtomicBool::new(true)),
            checks: AtomicUsize::new(0),
            panic_in_execute: false,
        }
    }
}

impl TransactionListener for Scripted {
    type Arg = ();

    async fn execute(&self, _msg: &Message, _: ()) -> LocalTransactionState {
        if self.panic_in_execute {
            panic!("the local transaction blew up");
        }
        self.execute
    }

    async fn check(&self, _check: &TransactionCheck) -> LocalTransactionState {
        while !self.open.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.check
    }
}

async fn cluster(check_interval: Option<Duration>) -> TestCluster {
    // No check limit: a slow machine must not run a test's transactions out of checks.
    let mut builder = TestCluster::builder()
        .topic("TopicTest", 4)
        .transaction_check_max(u32::MAX);
    if let Some(interval) = check_interval {
        builder = builder.transaction_check_interval(interval);
    }
    builder.start().await.expect("test cluster starts")
}

async fn transactional(
    cluster: &TestCluster,
    group: &str,
    listener: Scripted,
    tune: impl FnOnce(rmq::client::ProducerBuilder) -> rmq::client::ProducerBuilder,
) -> TransactionProducer<Scripted> {
    let producer = tune(support::builder(cluster, group))
        .build_transactional(listener)
        .expect("valid config");
    producer.start().await.expect("starts");
    producer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_half_message_reaches_its_topic() {
    let cluster = cluster(None).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let listener = Scripted::new(LocalTransactionState::Commit, LocalTransactionState::Commit);
    let producer = transactional(&cluster, "g_tx_commit", listener, |b| b).await;

    let sent = producer
        .send_in_transaction(Message::new("TopicTest", "debit 42"), ())
        .await
        .expect("sent");
    assert_eq!(sent.local_state, LocalTransactionState::Commit);
    assert_eq!(sent.send_result.status, SendStatus::SendOk);

    let delivered = broker
        .wait_for_messages("TopicTest", 1, Duration::from_secs(5))
        .await
        .expect("committed onto the topic");
    assert_eq!(&delivered[0].body[..], b"debit 42");
    assert_eq!(
        delivered[0].uniq_key.as_deref(),
        Some(&*sent.send_result.msg_id)
    );
    assert_eq!(delivered[0].sys_flag & 0xC, 0x8, "TRANSACTION_COMMIT_TYPE");
    assert!(broker.half_messages().is_empty());
    let ends = broker.end_transactions();
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0].commit_or_rollback, 8);
    assert_eq!(ends[0].from_transaction_check, Some(false));
    assert_eq!(ends[0].producer_group, "g_tx_commit");
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_half_message_never_reaches_its_topic() {
    let cluster = cluster(None).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let listener = Scripted::new(
        LocalTransactionState::Rollback,
        LocalTransactionState::Rollback,
    );
    let producer = transactional(&cluster, "g_tx_rollback", listener, |b| b).await;

    let sent = producer
        .send_in_transaction(Message::new("TopicTest", "debit 42"), ())
        .await
        .expect("sent");
    assert_eq!(sent.local_state, LocalTransactionState::Rollback);
    assert!(
        support::eventually(Duration::from_secs(5), || broker.end_transactions().len()
            == 1)
        .await
    );
    assert_eq!(broker.end_transactions()[0].commit_or_rollback, 12);
    assert!(broker.half_messages().is_empty(), "decided");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(broker.messages("TopicTest").is_empty());
    assert_eq!(
        broker.messages(HALF_TOPIC).len(),
        1,
        "kept, as Java keeps it"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_transaction_is_committed_by_the_check_back() {
    let cluster = cluster(Some(Duration::from_secs(1))).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let listener = Scripted::new(
        LocalTransactionState::Unknown,
        LocalTransactionState::Commit,
    );
    let producer = transactional(&cluster, "g_tx_check", listener, |b| b).await;

    let sent = producer
        .send_in_transaction(Message::new("TopicTest", "decided later"), ())
        .await
        .expect("sent");
    assert_eq!(sent.local_state, LocalTransactionState::Unknown);
    assert_eq!(broker.half_messages().len(), 1);

    let delivered = broker
        .wait_for_messages("TopicTest", 1, Duration::from_secs(10))
        .await
        .expect("the check's answer commits it");
    assert_eq!(&delivered[0].body[..], b"decided later");
    assert!(broker.transaction_checks_sent() >= 1);
    let answer = broker
        .end_transactions()
        .into_iter()
        .find(|e| e.from_transaction_check == Some(true))
        .expect("an answer to the check");
    assert_eq!(answer.commit_or_rollback, 8);
    assert_eq!(
        answer.transaction_id.as_deref(),
        Some(&*sent.send_result.msg_id)
    );
    assert!(producer.listener().checks.load(Ordering::SeqCst) >= 1);
    // Counted once the answer is written, which may be just after the broker committed.
    assert!(
        support::eventually(Duration::from_secs(5), || producer.check_stats().answered
            >= 1)
        .await
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_flood_is_bounded_and_every_transaction_is_still_decided() {
    let cluster = cluster(Some(Duration::from_millis(100))).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let listener = Scripted::new(
        LocalTransactionState::Unknown,
        LocalTransactionState::Commit,
    );
    let gate = listener.open.clone();
    gate.store(false, Ordering::SeqCst);
    let producer = transactional(&cluster, "g_tx_flood", listener, |b| {
        b.check_concurrency(1).check_backlog(2)
    })
    .await;

    const N: usize = 30;
    for i in 0..N {
        producer
            .send_in_transaction(Message::new("TopicTest", format!("t{i}")), ())
            .await
            .expect("sent");
    }
    // With the listener held, at most three checks are taken at a time; the rest are dropped
    // and counted.
    assert!(
        support::eventually(Duration::from_secs(5), || producer.check_stats().dropped
            >= 27)
        .await,
        "{:?}",
        producer.check_stats()
    );
    gate.store(true, Ordering::SeqCst);
    // The broker asks again about the dropped ones, so every transaction is decided.
    let delivered = broker
        .wait_for_messages("TopicTest", N, Duration::from_secs(20))
        .await
        .expect("every transaction committed");
    assert_eq!(delivered.len(), N);
    // Each transaction was decided by an answered check; none was dropped unrecorded.
    assert!(
        support::eventually(Duration::from_secs(5), || producer.check_stats().answered
            >= N as u64)
        .await,
        "{:?}",
        producer.check_stats()
    );
    let stats = producer.check_stats();
    assert!(
        stats.answered + stats.dropped <= stats.received,
        "{stats:?}"
    );
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_local_transaction_is_unknown_then_decided_by_its_check() {
    let cluster = cluster(Some(Duration::from_millis(200))).await;
    let broker = cluster.broker("broker-a").expect("broker");
    let mut listener = Scripted::new(
        LocalTransactionState::Commit,
        LocalTransactionState::Rollback,
    );
    listener.panic_in_execute = true;
    let producer = transactional(&cluster, "g_tx_panic", listener, |b| b).await;

    let sent = producer
        .send_in_transaction(Message::new("TopicTest", "boom"), ())
        .await
        .expect("the panic stays in the listener");
    assert_eq!(sent.local_state, LocalTransactionState::Unknown);
    // END_TRANSACTION is oneway: the broker may not have read it yet.
    assert!(
        support::eventually(Duration::from_secs(5), || !broker
            .end_transactions()
            .is_empty())
        .await
    );
    assert_eq!(broker.end_transactions()[0].commit_or_rollback, 0);
    assert!(
        support::eventually(Duration::from_secs(10), || broker
            .half_messages()
            .is_empty())
        .await,
        "rolled back by the check"
    );
    assert!(broker.messages("TopicTest").is_empty());
    // The producer still works.
    producer
        .producer()
        .send(Message::new("TopicTest", "plain"))
        .await
        .expect("plain send");
    producer.shutdown().await;
}

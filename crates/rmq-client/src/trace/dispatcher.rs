//! Trace records sent in the background, on a producer of their own (Java:
//! `AsyncTraceDispatcher`, 5.3.3 behaviour).
//!
//! Records wait in a bounded queue (2048, Java's); a full queue drops the record and counts
//! it, so tracing never slows or fails a send. A task sends them in batches of
//! `msg_trace_batch_size` (Java's `traceMsgBatchNum`, 10), or whatever waits every 5 seconds,
//! one trace message per business topic, each up to 128 000 bytes of records.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rmq_common::{ByteString, Message};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::record::PubRecord;
use crate::Producer;

/// Java: the dispatcher's `ArrayBlockingQueue(2048)`.
const QUEUE_CAPACITY: usize = 2048;
/// Java: `flushTraceInterval`.
const FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// Java: a trace message is sent once its records reach 128 000 bytes.
const MAX_DATA: usize = 128_000;
/// How long shutdown waits for the last trace messages to be stored.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(5);

/// One producer's trace dispatcher.
#[derive(Debug)]
pub(crate) struct TraceDispatcher {
    queue: Mutex<VecDeque<PubRecord>>,
    batch: usize,
    wake: Notify,
    dropped: AtomicU64,
    topic: String,
    /// The traced producer's group, without namespace, as every record carries it.
    group: ByteString,
    producer: Producer,
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl TraceDispatcher {
    pub(crate) fn new(producer: Producer, topic: String, group: &str, batch: usize) -> Self {
        TraceDispatcher {
            queue: Mutex::new(VecDeque::new()),
            batch: batch.clamp(1, 20),
            wake: Notify::new(),
            dropped: AtomicU64::new(0),
            topic,
            group: ByteString::from(group),
            producer,
            stop: CancellationToken::new(),
            task: Mutex::new(None),
        }
    }

    /// The topic trace messages go to.
    pub(crate) fn topic(&self) -> &str {
        &self.topic
    }

    /// The traced producer's group.
    pub(crate) fn group(&self) -> &ByteString {
        &self.group
    }

    /// Records dropped because the queue was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Starts the trace producer and the sending task.
    pub(crate) async fn start(self: &Arc<Self>) -> crate::Result<()> {
        // Boxed: a trace producer is a producer, whose start could start a trace producer.
        Box::pin(self.producer.start()).await?;
        *self.task.lock() = Some(tokio::spawn(self.clone().run()));
        Ok(())
    }

    /// Queues a record; a full queue drops it (Java: `append`, which counts `discardCount`).
    pub(crate) fn append(&self, record: PubRecord) {
        let mut queue = self.queue.lock();
        if queue.len() >= QUEUE_CAPACITY {
            drop(queue);
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped == 1 || dropped.is_multiple_of(1000) {
                tracing::warn!(dropped, "message trace queue full: trace records dropped");
            }
            metrics::counter!(crate::observe::TRACE_RECORDS_DROPPED).increment(1);
            return;
        }
        if self.stop.is_cancelled() {
            // Shut down: nobody sends it any more.
            drop(queue);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(crate::observe::TRACE_RECORDS_DROPPED).increment(1);
            return;
        }
        queue.push_back(record);
        // A full batch goes now; the first record starts the flush interval's wait.
        if queue.len() >= self.batch || queue.len() == 1 {
            self.wake.notify_one();
        }
    }

    /// Stops the sending task (a producer dropped without `shutdown`): it sends what waits,
    /// then ends, and with it the trace producer.
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }

    /// Sends what waits, then stops the trace producer.
    pub(crate) async fn shutdown(&self) {
        self.stop.cancel();
        let task = self.task.lock().take();
        if let Some(task) = task {
            let _ = task.await;
        }
        let _ = self.producer.flush(SHUTDOWN_FLUSH).await;
        // Not `shutdown().await`: that would make a producer's shutdown future contain itself.
        // The dispatcher runs on a runtime, so the shutdown gets a task of its own.
        if let Ok(done) = self.producer.begin_shutdown() {
            done.cancelled().await;
        }
    }

    async fn run(self: Arc<Self>) {
        let mut last_flush = Instant::now();
        loop {
            // The flush interval's timer runs only while records wait: an idle producer's
            // dispatcher sleeps until a record comes.
            let waiting = !self.queue.lock().is_empty();
            let flush_due = async {
                if waiting {
                    tokio::time::sleep_until(last_flush + FLUSH_INTERVAL).await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            let stopping = tokio::select! {
                () = self.stop.cancelled() => true,
                () = self.wake.notified() => false,
                () = flush_due => false,
            };
            loop {
                let records: Vec<PubRecord> = {
                    let mut queue = self.queue.lock();
                    let due = stopping
                        || queue.len() >= self.batch
                        || last_flush.elapsed() >= FLUSH_INTERVAL;
                    if queue.is_empty() || !due {
                        break;
                    }
                    let n = queue.len().min(self.batch);
                    queue.drain(..n).collect()
                };
                self.send(records).await;
                last_flush = Instant::now();
            }
            if stopping {
                return;
            }
        }
    }

    /// One trace message per business topic, split at 128 000 bytes (Java: `sendTraceData`,
    /// `flushData`).
    async fn send(&self, records: Vec<PubRecord>) {
        let mut by_topic: BTreeMap<&str, Vec<&PubRecord>> = BTreeMap::new();
        for record in &records {
            by_topic.entry(&*record.topic).or_default().push(record);
        }
        for records in by_topic.into_values() {
            let mut data = String::new();
            let mut keys = Vec::new();
            for record in records {
                record.encode_into(&mut data);
                record.keys_into(&mut keys);
                if data.len() >= MAX_DATA {
                    self.send_one(std::mem::take(&mut data), std::mem::take(&mut keys))
                        .await;
                }
            }
            if !data.is_empty() {
                self.send_one(data, keys).await;
            }
        }
    }

    async fn send_one(&self, data: String, mut keys: Vec<String>) {
        keys.sort_unstable();
        keys.dedup();
        let mut message = Message::new(self.topic.as_str(), data);
        message.set_keys(keys);
        let accepted = self
            .producer
            .send_with_callback(message, |result| {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "sending message trace data failed");
                }
            })
            .await;
        if let Err(e) = accepted {
            tracing::warn!(error = %e, "sending message trace data failed");
        }
    }
}

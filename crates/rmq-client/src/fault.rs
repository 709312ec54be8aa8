//! Broker fault avoidance (Java: `MQFaultStrategy`, `LatencyFaultToleranceImpl`, `FaultItem`).
//!
//! After each send attempt the producer records the broker's latency; a slow or failing broker
//! is "not available" for a while, and queue selection prefers available brokers. Off by default,
//! as in Java (`sendLatencyFaultEnable`).

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use rmq_common::MessageQueue;
use tokio::time::Instant;

use crate::route::{QueueIndex, TopicPublishInfo};

/// Which Java version's fault strategy to follow: its latency tables and its selection rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultFlavor {
    /// 5.x: short isolation (2–30 s), the last broker avoided, reachability tracked.
    #[default]
    Rocketmq5,
    /// 4.9.8: long isolation (30 s–10 min); the available-broker scan ignores the last broker.
    Rocketmq4,
}

impl FaultFlavor {
    /// Latency thresholds in ms (Java: `latencyMax`).
    pub fn latency_max(self) -> &'static [u64; 7] {
        match self {
            FaultFlavor::Rocketmq5 => &[50, 100, 550, 1800, 3000, 5000, 15000],
            FaultFlavor::Rocketmq4 => &[50, 100, 550, 1000, 2000, 3000, 15000],
        }
    }

    /// Isolation in ms for each threshold (Java: `notAvailableDuration`).
    pub fn not_available_duration(self) -> &'static [u64; 7] {
        match self {
            FaultFlavor::Rocketmq5 => &[0, 0, 2000, 5000, 6000, 10000, 30000],
            FaultFlavor::Rocketmq4 => &[0, 0, 30000, 60000, 120000, 180000, 600000],
        }
    }

    /// The latency an isolating failure counts as (Java: 30000 in 4.9.8, 10000 in 5.x).
    pub fn isolation_latency(self) -> u64 {
        match self {
            FaultFlavor::Rocketmq5 => 10_000,
            FaultFlavor::Rocketmq4 => 30_000,
        }
    }

    /// How long a broker with this latency is avoided (Java:
    /// `computeNotAvailableDuration`; vector V51).
    ///
    /// ```
    /// use std::time::Duration;
    /// use rmq_client::FaultFlavor;
    /// assert_eq!(FaultFlavor::Rocketmq5.not_available_for(550), Duration::from_secs(2));
    /// assert_eq!(FaultFlavor::Rocketmq4.not_available_for(550), Duration::from_secs(30));
    /// ```
    pub fn not_available_for(self, latency_ms: u64) -> Duration {
        let max = self.latency_max();
        let duration = (0..max.len())
            .rev()
            .find(|&i| latency_ms >= max[i])
            .map_or(0, |i| self.not_available_duration()[i]);
        Duration::from_millis(duration)
    }
}

/// One broker's record (Java: `FaultItem`).
#[derive(Clone, Debug)]
pub struct FaultItem {
    /// The broker name.
    pub name: String,
    /// The last latency recorded, ms.
    pub current_latency: u64,
    /// Until when the broker is avoided.
    pub available_at: Instant,
    /// Whether the last failure left the broker reachable (5.x).
    pub reachable: bool,
    /// Isolated, and not yet seen available again (for the recovery event).
    isolated: bool,
}

impl FaultItem {
    fn is_available(&self, now: Instant) -> bool {
        now >= self.available_at
    }
}

/// Latency records by broker (Java: `LatencyFaultToleranceImpl`).
#[derive(Debug, Default)]
pub struct LatencyFaultTolerance {
    items: Mutex<HashMap<String, FaultItem>>,
    worst: QueueIndex,
}

impl LatencyFaultTolerance {
    /// Records `latency` for `broker` and avoids it for `not_available` (5.x only extends an
    /// isolation that is already longer, 4.9.8 overwrites it). Returns whether this isolated
    /// a broker that was available.
    pub fn update(
        &self,
        broker: &str,
        latency_ms: u64,
        not_available: Duration,
        reachable: bool,
        extend_only: bool,
    ) -> bool {
        let now = Instant::now();
        let until = now + not_available;
        let mut items = self.items.lock();
        // Looked up first: the broker's name is copied only the first time it is seen.
        if !items.contains_key(broker) {
            items.insert(
                broker.to_owned(),
                FaultItem {
                    name: broker.to_owned(),
                    current_latency: latency_ms,
                    available_at: now,
                    reachable: true,
                    isolated: false,
                },
            );
        }
        let Some(item) = items.get_mut(broker) else {
            return false;
        };
        let was_available = item.available_at <= now;
        item.current_latency = latency_ms;
        if !extend_only || (!not_available.is_zero() && until > item.available_at) {
            item.available_at = until;
        }
        item.reachable = reachable;
        let isolated = was_available && item.available_at > now;
        item.isolated |= isolated;
        isolated
    }

    /// Whether `broker` may be used now; unknown brokers are available. The first time an
    /// isolated broker is found available again, that is logged.
    pub fn is_available(&self, broker: &str) -> bool {
        let mut items = self.items.lock();
        let Some(item) = items.get_mut(broker) else {
            return true;
        };
        let available = item.is_available(Instant::now());
        if available && item.isolated {
            item.isolated = false;
            tracing::info!(broker, "broker available again after its isolation");
        }
        available
    }

    /// Whether `broker` was reachable at its last failure; unknown brokers are.
    pub fn is_reachable(&self, broker: &str) -> bool {
        self.items
            .lock()
            .get(broker)
            .is_none_or(|item| item.reachable)
    }

    /// Forgets `broker`.
    pub fn remove(&self, broker: &str) {
        self.items.lock().remove(broker);
    }

    /// The broker to try when none is available (Java 4.9.8 `pickOneAtLeast`; vector V52):
    /// available first, then lowest latency, then soonest available; one of the better half.
    pub fn pick_one_at_least(&self) -> Option<String> {
        let now = Instant::now();
        let mut items: Vec<FaultItem> = self.items.lock().values().cloned().collect();
        if items.is_empty() {
            return None;
        }
        items.sort_by(|a, b| {
            b.is_available(now)
                .cmp(&a.is_available(now))
                .then(a.current_latency.cmp(&b.current_latency))
                .then(a.available_at.cmp(&b.available_at))
        });
        let half = items.len() / 2;
        let index = if half == 0 {
            0
        } else {
            self.worst.next() as usize % half
        };
        items.get(index).map(|item| item.name.clone())
    }
}

/// Queue selection with fault avoidance (Java: `MQFaultStrategy`).
#[derive(Debug, Default)]
pub struct FaultStrategy {
    enabled: bool,
    flavor: FaultFlavor,
    tolerance: LatencyFaultTolerance,
}

impl FaultStrategy {
    /// A strategy; with `enabled` false it only avoids the last broker, as Java does.
    pub fn new(enabled: bool, flavor: FaultFlavor) -> Self {
        Self {
            enabled,
            flavor,
            tolerance: LatencyFaultTolerance::default(),
        }
    }

    /// Whether latency-based avoidance is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Picks the queue for the next attempt. `retry` is true after a failed attempt.
    pub fn select_queue(
        &self,
        info: &TopicPublishInfo,
        last_broker: Option<&str>,
        retry: bool,
    ) -> Option<MessageQueue> {
        if !self.enabled {
            return info.select_queue(last_broker).cloned();
        }
        match self.flavor {
            FaultFlavor::Rocketmq5 => self.select_v5(info, last_broker, retry),
            FaultFlavor::Rocketmq4 => self.select_v4(info, last_broker),
        }
    }

    /// Java 5.x: available and not the last broker; else reachable and not the last broker;
    /// else any.
    fn select_v5(
        &self,
        info: &TopicPublishInfo,
        last_broker: Option<&str>,
        retry: bool,
    ) -> Option<MessageQueue> {
        if retry {
            info.index.reset();
        }
        let not_last = |q: &MessageQueue| last_broker.is_none_or(|last| q.broker_name() != last);
        info.select_filtered(|q| self.tolerance.is_available(q.broker_name()) && not_last(q))
            .or_else(|| {
                info.select_filtered(|q| {
                    self.tolerance.is_reachable(q.broker_name()) && not_last(q)
                })
            })
            .or_else(|| info.select_any())
            .cloned()
    }

    /// Java 4.9.8: the first available broker (the last broker is not avoided here), else the
    /// best of the unavailable ones, else any (vector V50).
    fn select_v4(
        &self,
        info: &TopicPublishInfo,
        last_broker: Option<&str>,
    ) -> Option<MessageQueue> {
        let n = info.queues.len();
        if n > 0 {
            let mut index = info.index.next();
            for _ in 0..n {
                let queue = &info.queues[index as usize % n];
                index = index.wrapping_add(1) & 0x7FFF_FFFF;
                if self.tolerance.is_available(queue.broker_name()) {
                    return Some(queue.clone());
                }
            }
        }
        if let Some(broker) = self.tolerance.pick_one_at_least() {
            match info.write_queue_nums(&broker) {
                Some(nums) if nums > 0 => {
                    let queue_id = (info.index.next() % nums as u32) as i32;
                    let topic = info
                        .queues
                        .first()
                        .map(MessageQueue::topic)
                        .unwrap_or_default();
                    return Some(MessageQueue::new(topic, broker, queue_id));
                }
                _ => self.tolerance.remove(&broker),
            }
        }
        info.select_queue(last_broker).cloned()
    }

    /// Records an attempt's outcome (Java: `updateFaultItem`). `isolation` marks a failure that
    /// should keep the broker out for the isolation period.
    pub fn update(&self, broker: &str, latency: Duration, isolation: bool, reachable: bool) {
        if !self.enabled {
            return;
        }
        let latency_ms = if isolation {
            self.flavor.isolation_latency()
        } else {
            latency.as_millis().min(u128::from(u64::MAX)) as u64
        };
        let not_available = self.flavor.not_available_for(latency_ms);
        let extend_only = self.flavor == FaultFlavor::Rocketmq5;
        let isolated =
            self.tolerance
                .update(broker, latency_ms, not_available, reachable, extend_only);
        if isolated {
            // Once per isolation, not per send: a steady slow broker logs once a period.
            tracing::info!(
                broker,
                latency_ms,
                isolated_for_ms = not_available.as_millis() as u64,
                reachable,
                "broker isolated by the fault strategy"
            );
            metrics::counter!(crate::observe::BROKER_ISOLATIONS, "broker" => broker.to_owned())
                .increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmq_remoting::body::{BrokerData, QueueData, TopicRouteData};

    fn info(brokers: &[(&str, i32)], index: u32) -> TopicPublishInfo {
        let route = TopicRouteData {
            broker_datas: brokers
                .iter()
                .map(|(name, _)| BrokerData {
                    broker_addrs: [(0, format!("{name}:10911"))].into_iter().collect(),
                    broker_name: (*name).into(),
                    ..BrokerData::default()
                })
                .collect(),
            queue_datas: brokers
                .iter()
                .map(|(name, n)| QueueData {
                    broker_name: (*name).into(),
                    perm: 6,
                    read_queue_nums: *n,
                    write_queue_nums: *n,
                    topic_sys_flag: 0,
                })
                .collect(),
            ..TopicRouteData::default()
        };
        let mut info = TopicPublishInfo::from_route("T", route).expect("route");
        info.index = QueueIndex::starting_at(index);
        info
    }

    #[test]
    fn v51_not_available_durations() {
        let rows = [
            (0, 0, 0),
            (99, 0, 0),
            (100, 0, 0),
            (549, 0, 0),
            (550, 30000, 2000),
            (999, 30000, 2000),
            (1000, 60000, 2000),
            (1800, 60000, 5000),
            (2000, 120000, 5000),
            (3000, 180000, 6000),
            (5000, 180000, 10000),
            (14999, 180000, 10000),
            (15000, 600000, 30000),
        ];
        for (latency, v4, v5) in rows {
            assert_eq!(
                FaultFlavor::Rocketmq4
                    .not_available_for(latency)
                    .as_millis(),
                v4,
                "{latency}"
            );
            assert_eq!(
                FaultFlavor::Rocketmq5
                    .not_available_for(latency)
                    .as_millis(),
                v5,
                "{latency}"
            );
        }
        let v4 = FaultFlavor::Rocketmq4;
        assert_eq!(
            v4.not_available_for(v4.isolation_latency()).as_millis(),
            600000
        );
        let v5 = FaultFlavor::Rocketmq5;
        assert_eq!(
            v5.not_available_for(v5.isolation_latency()).as_millis(),
            10000
        );
    }

    #[test]
    fn v50_four_nine_eight_ignores_the_last_broker_when_scanning() {
        let strategy = FaultStrategy::new(true, FaultFlavor::Rocketmq4);
        strategy.update("broker-a", Duration::from_millis(0), true, false);
        let info = info(&[("broker-a", 2), ("broker-b", 2)], 0);
        let q = strategy
            .select_queue(&info, Some("broker-b"), true)
            .expect("queue");
        assert_eq!((q.broker_name(), q.queue_id()), ("broker-b", 0));
    }

    #[test]
    fn five_x_avoids_unavailable_and_last_brokers() {
        let strategy = FaultStrategy::new(true, FaultFlavor::Rocketmq5);
        strategy.update("broker-a", Duration::ZERO, true, true);
        let info = info(&[("broker-a", 2), ("broker-b", 2), ("broker-c", 2)], 0);
        for _ in 0..20 {
            let q = strategy
                .select_queue(&info, Some("broker-b"), false)
                .expect("queue");
            assert_eq!(q.broker_name(), "broker-c");
        }
        // Nothing available but the last broker's peers that are unreachable: reachable ones win.
        strategy.update("broker-c", Duration::ZERO, true, false);
        let q = strategy
            .select_queue(&info, Some("broker-b"), true)
            .expect("queue");
        assert_eq!(q.broker_name(), "broker-a");
    }

    #[test]
    fn disabled_strategy_only_avoids_the_last_broker_and_records_nothing() {
        let strategy = FaultStrategy::new(false, FaultFlavor::Rocketmq5);
        strategy.update("broker-a", Duration::from_secs(20), true, false);
        assert!(strategy.tolerance.is_available("broker-a"));
        let info = info(&[("broker-a", 2), ("broker-b", 2)], 0);
        let q = strategy
            .select_queue(&info, Some("broker-a"), true)
            .expect("queue");
        assert_eq!(q.broker_name(), "broker-b");
    }

    #[tokio::test(start_paused = true)]
    async fn v52_pick_one_at_least_and_update_fault_item() {
        let t = LatencyFaultTolerance::default();
        t.update("BrokerA", 1000, Duration::from_millis(3000), true, false);
        assert_eq!(t.pick_one_at_least().as_deref(), Some("BrokerA"));
        t.update("BrokerB", 1001, Duration::from_millis(3000), true, false);
        assert_eq!(t.pick_one_at_least().as_deref(), Some("BrokerA"));
        t.update("BrokerA", 3000, Duration::from_millis(3000), true, false);
        t.update("BrokerB", 0, Duration::ZERO, true, false);
        assert!(!t.is_available("BrokerA"));
        assert!(t.is_available("BrokerB"));
        tokio::time::advance(Duration::from_millis(3001)).await;
        assert!(t.is_available("BrokerA"));
        // 5.x reachability.
        t.update("BrokerC", 10, Duration::ZERO, false, true);
        assert!(!t.is_reachable("BrokerC"));
        assert!(t.is_reachable("unknown"));
    }

    #[tokio::test(start_paused = true)]
    async fn five_x_only_extends_isolation() {
        let t = LatencyFaultTolerance::default();
        t.update("B", 10_000, Duration::from_secs(10), true, true);
        t.update("B", 10, Duration::ZERO, true, true);
        assert!(
            !t.is_available("B"),
            "a fast success does not end a running isolation"
        );
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(t.is_available("B"));
    }

    /// What the model does to a broker, or asks of the strategy.
    #[derive(Clone, Debug)]
    enum Op {
        /// An attempt's outcome.
        Update {
            broker: usize,
            latency_ms: u64,
            isolation: bool,
            reachable: bool,
        },
        /// Time passes.
        Advance(u64),
        /// The next attempt's queue, after a failure on `last` if given.
        Select { last: Option<usize> },
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (0..3usize, 0..20_000u64, any::<bool>(), any::<bool>()).prop_map(
                |(broker, latency_ms, isolation, reachable)| Op::Update {
                    broker,
                    latency_ms,
                    isolation,
                    reachable,
                }
            ),
            (0..700_000u64).prop_map(Op::Advance),
            proptest::option::of(0..3usize).prop_map(|last| Op::Select { last }),
        ]
    }

    const BROKERS: [&str; 3] = ["broker-a", "broker-b", "broker-c"];

    /// Replays `ops` against the strategy and against a model of when each broker is
    /// available again (the flavour's table, 4.9.8 overwriting, 5.x only extending), checking
    /// every selection; then lets every isolation end and checks all brokers are back.
    fn replay(flavor: FaultFlavor, ops: &[Op]) -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let strategy = FaultStrategy::new(true, flavor);
            let info = info(&[("broker-a", 2), ("broker-b", 2), ("broker-c", 2)], 0);
            let mut available_at = [Instant::now(); 3];
            for op in ops {
                match *op {
                    Op::Update {
                        broker,
                        latency_ms,
                        isolation,
                        reachable,
                    } => {
                        strategy.update(
                            BROKERS[broker],
                            Duration::from_millis(latency_ms),
                            isolation,
                            reachable,
                        );
                        let latency = if isolation {
                            flavor.isolation_latency()
                        } else {
                            latency_ms
                        };
                        let out = flavor.not_available_for(latency);
                        let until = Instant::now() + out;
                        let extends = !out.is_zero() && until > available_at[broker];
                        if flavor == FaultFlavor::Rocketmq4 || extends {
                            available_at[broker] = until;
                        }
                    }
                    Op::Advance(ms) => tokio::time::advance(Duration::from_millis(ms)).await,
                    Op::Select { last } => {
                        let now = Instant::now();
                        let healthy: Vec<usize> =
                            (0..3).filter(|b| available_at[*b] <= now).collect();
                        for (b, name) in BROKERS.iter().enumerate() {
                            if strategy.tolerance.is_available(name) != healthy.contains(&b) {
                                return Err(format!("{flavor:?}: {name} availability differs"));
                            }
                        }
                        let picked = strategy
                            .select_queue(&info, last.map(|b| BROKERS[b]), last.is_some())
                            .ok_or("no queue selected")?;
                        let picked = BROKERS
                            .iter()
                            .position(|b| *b == picked.broker_name())
                            .ok_or("an unknown broker")?;
                        // 5.x also avoids the broker that just failed; 4.9.8 does not.
                        let wanted: Vec<usize> = match flavor {
                            FaultFlavor::Rocketmq5 => healthy
                                .iter()
                                .copied()
                                .filter(|b| Some(*b) != last)
                                .collect(),
                            FaultFlavor::Rocketmq4 => healthy,
                        };
                        if !wanted.is_empty() && !wanted.contains(&picked) {
                            return Err(format!(
                                "{flavor:?} picked {} while {:?} were healthy",
                                BROKERS[picked],
                                wanted.iter().map(|b| BROKERS[*b]).collect::<Vec<_>>()
                            ));
                        }
                    }
                }
            }
            // The longest isolation (600 s) ends: every broker is back and gets sends.
            tokio::time::advance(Duration::from_secs(601)).await;
            let mut seen = [false; 3];
            for _ in 0..12 {
                let picked = strategy
                    .select_queue(&info, None, false)
                    .ok_or("no queue selected")?;
                if let Some(b) = BROKERS.iter().position(|b| *b == picked.broker_name()) {
                    seen[b] = true;
                }
            }
            if seen != [true; 3] {
                return Err(format!("{flavor:?}: not every broker recovered: {seen:?}"));
            }
            Ok(())
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn selection_never_picks_an_isolated_broker_while_a_healthy_one_exists(
            ops in proptest::collection::vec(op(), 1..60),
        ) {
            for flavor in [FaultFlavor::Rocketmq5, FaultFlavor::Rocketmq4] {
                if let Err(e) = replay(flavor, &ops) {
                    return Err(proptest::test_runner::TestCaseError::fail(e));
                }
            }
        }
    }
}

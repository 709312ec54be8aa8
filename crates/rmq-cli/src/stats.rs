//! Latency and throughput bookkeeping for `rmq bench` (HDR histograms).

use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Latencies are recorded in microseconds, up to one hour, with 3 significant digits.
const MAX_LATENCY_US: u64 = 3_600_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant histogram bounds are valid")
}

/// Shared counters the workers update and the reporter reads.
#[derive(Debug)]
pub struct Stats {
    ok: AtomicU64,
    failed: AtomicU64,
    interval: Mutex<Histogram<u64>>,
    total: Mutex<Histogram<u64>>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            interval: Mutex::new(histogram()),
            total: Mutex::new(histogram()),
        }
    }
}

/// Latency figures in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    /// Mean.
    pub avg: f64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            avg: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

impl Stats {
    /// Records `messages` acknowledged after `latency_us`.
    pub fn record_ok(&self, messages: u64, latency_us: u64) {
        self.ok.fetch_add(messages, Ordering::Relaxed);
        // Clamped into the histogram's range, so recording cannot fail.
        let _ = self
            .interval
            .lock()
            .record(latency_us.clamp(1, MAX_LATENCY_US));
    }

    /// Records `messages` failed.
    pub fn record_failed(&self, messages: u64) {
        self.failed.fetch_add(messages, Ordering::Relaxed);
    }

    /// Messages acknowledged so far.
    pub fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// Messages failed so far.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// Forgets everything recorded so far (the end of a warm-up).
    pub fn reset(&self) {
        self.ok.store(0, Ordering::Relaxed);
        self.failed.store(0, Ordering::Relaxed);
        let (mut interval, mut total) = (histogram(), histogram());
        std::mem::swap(&mut *self.interval.lock(), &mut interval);
        std::mem::swap(&mut *self.total.lock(), &mut total);
    }

    /// The latencies since the last call; folds them into the run's total.
    pub fn take_interval(&self) -> Latency {
        // Swapped for an empty one made beforehand: recorders wait for a pointer swap, not
        // for a copy of the histogram's buckets.
        let mut interval = histogram();
        std::mem::swap(&mut *self.interval.lock(), &mut interval);
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.total.lock().add(&interval);
        Latency::of(&interval)
    }

    /// The latencies of the whole run (call after the last `take_interval`).
    pub fn total(&self) -> (Latency, Histogram<u64>) {
        let h = self.total.lock().clone();
        (Latency::of(&h), h)
    }
}

/// `1234` µs as `1.23ms`, `87` as `87µs`.
pub fn micros(us: f64) -> String {
    if us >= 1_000_000.0 {
        format!("{:.2}s", us / 1_000_000.0)
    } else if us >= 1000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{us:.0}µs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_fold_into_the_total() {
        let stats = Stats::default();
        for us in [100, 200, 300] {
            stats.record_ok(1, us);
        }
        stats.record_failed(2);
        assert_eq!(stats.take_interval().max, 300);
        stats.record_ok(4, 1000);
        let second = stats.take_interval();
        assert_eq!((second.p50, second.max), (1000, 1000));
        let (total, h) = stats.total();
        assert_eq!((h.len(), total.max), (4, 1000));
        assert_eq!((stats.ok(), stats.failed()), (7, 2));
        assert_eq!(micros(87.0), "87µs");
        assert_eq!(micros(1234.0), "1.23ms");
    }
}

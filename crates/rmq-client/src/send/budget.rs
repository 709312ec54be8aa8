//! Back-pressure for async sends: a budget of sends and body bytes in flight (Java 5.x:
//! `enableBackpressureForAsyncMode`, `semaphoreAsyncSendNum`, `semaphoreAsyncSendSize`,
//! `BackpressureSendCallBack`).
//!
//! An async send takes one send and its body's bytes before it is accepted, waiting in line
//! (first come, first served, like Java's fair semaphores) until its deadline, or failing at
//! once when the producer is set to fail fast; its completion gives them back. The limits can
//! change while sends wait. A body larger than the byte limit could never fit: it is refused
//! at once instead of waiting for ever.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::Error;

/// The sends and bytes in flight, and their limits.
///
/// ```
/// # fn demo(producer: &rmq_client::Producer) {
/// let in_flight = producer.in_flight();
/// println!("{} sends, {} bytes in flight", in_flight.sends, in_flight.bytes);
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InFlight {
    /// Accepted async sends not yet complete.
    pub sends: usize,
    /// Their body bytes.
    pub bytes: usize,
    /// The most sends in flight at once.
    pub max_sends: usize,
    /// The most body bytes in flight at once.
    pub max_bytes: usize,
}

/// The budget of one producer.
#[derive(Debug)]
pub(crate) struct Budget {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    sends: usize,
    bytes: usize,
    max_sends: usize,
    max_bytes: usize,
    /// Sends waiting for room, in arrival order.
    waiting: VecDeque<Waiter>,
    next_id: u64,
    closed: bool,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    bytes: usize,
    /// `true` once it has room; `false` when it never can (the byte limit fell below it).
    granted: oneshot::Sender<bool>,
}

impl State {
    fn fits(&self, bytes: usize) -> bool {
        self.sends < self.max_sends && self.bytes.saturating_add(bytes) <= self.max_bytes
    }

    fn take(&mut self, bytes: usize) {
        self.sends += 1;
        self.bytes += bytes;
    }

    /// Lets in the waiting sends that fit now, in order.
    fn admit(&mut self) {
        while let Some(next) = self.waiting.front() {
            if !self.fits(next.bytes) {
                return;
            }
            let Some(next) = self.waiting.pop_front() else {
                return;
            };
            // A waiter that gave up meanwhile takes nothing.
            if next.granted.send(true).is_ok() {
                self.take(next.bytes);
            }
        }
    }

    /// Turns away the waiting sends larger than the byte limit: they could never get in, and
    /// would hold up the line behind them.
    fn refuse_oversized(&mut self) {
        let max = self.max_bytes;
        let (refused, kept): (VecDeque<Waiter>, VecDeque<Waiter>) =
            std::mem::take(&mut self.waiting)
                .into_iter()
                .partition(|w| w.bytes > max);
        self.waiting = kept;
        for waiter in refused {
            let _ = waiter.granted.send(false);
        }
    }
}

/// A send waiting in line. Dropped (its wait over, however it ended), it leaves the line, and
/// gives back room granted to it that it never took up.
struct Queued<'a> {
    budget: &'a Budget,
    id: u64,
    bytes: usize,
    granted: oneshot::Receiver<bool>,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        // Under the lock, so no grant comes between the two checks. Ids grow in line order,
        // so the line is searched, not scanned.
        let mut state = self.budget.state.lock();
        if let Ok(at) = state.waiting.binary_search_by_key(&self.id, |w| w.id) {
            state.waiting.remove(at);
            // Its leaving may let the next ones in.
            state.admit();
        } else if self.granted.try_recv() == Ok(true) {
            state.sends -= 1;
            state.bytes -= self.bytes;
            state.admit();
        }
    }
}

/// One send's share of the budget, given back when dropped.
#[derive(Debug)]
pub(crate) struct Grant {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Drop for Grant {
    fn drop(&mut self) {
        let mut state = self.budget.state.lock();
        state.sends -= 1;
        state.bytes -= self.bytes;
        state.admit();
    }
}

impl Budget {
    pub(crate) fn new(max_sends: usize, max_bytes: usize) -> Arc<Self> {
        Arc::new(Budget {
            state: Mutex::new(State {
                sends: 0,
                bytes: 0,
                max_sends: max_sends.max(1),
                max_bytes: max_bytes.max(1),
                waiting: VecDeque::new(),
                next_id: 0,
                closed: false,
            }),
        })
    }

    /// One send of `bytes`: at once if it fits and nobody waits; else, unless `fail_fast`,
    /// once room comes, before `deadline`.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        bytes: usize,
        deadline: Instant,
        fail_fast: bool,
    ) -> Result<Grant, Error> {
        let (id, granted) = {
            let mut state = self.state.lock();
            if state.closed {
                return Err(Error::Shutdown);
            }
            if bytes > state.max_bytes {
                return Err(Error::LargerThanInFlightLimit {
                    bytes,
                    limit: state.max_bytes,
                });
            }
            if state.waiting.is_empty() && state.fits(bytes) {
                state.take(bytes);
                return Ok(self.grant(bytes));
            }
            if fail_fast {
                return Err(no_room(&state));
            }
            let id = state.next_id;
            state.next_id += 1;
            let (tx, rx) = oneshot::channel();
            state.waiting.push_back(Waiter {
                id,
                bytes,
                granted: tx,
            });
            (id, rx)
        };
        // Whatever ends the wait (room, the deadline, a dropped future), the line forgets it.
        let mut queued = Queued {
            budget: self,
            id,
            bytes,
            granted,
        };
        // Boxed: the wait is the exception, and the caller's future should not carry a timer.
        let waited = Box::pin(tokio::time::timeout_at(deadline, &mut queued.granted)).await;
        drop(queued);
        match waited {
            Ok(Ok(true)) => Ok(self.grant(bytes)),
            Ok(Ok(false)) => Err(Error::LargerThanInFlightLimit {
                bytes,
                limit: self.state.lock().max_bytes,
            }),
            Ok(Err(_)) => Err(Error::Shutdown),
            Err(_) => Err(no_room(&self.state.lock())),
        }
    }

    fn grant(self: &Arc<Self>, bytes: usize) -> Grant {
        Grant {
            budget: self.clone(),
            bytes,
        }
    }

    /// Changes the limits; sends already in flight stay, waiting ones get in as room comes.
    pub(crate) fn set_limits(&self, max_sends: usize, max_bytes: usize) {
        let mut state = self.state.lock();
        state.max_sends = max_sends.max(1);
        state.max_bytes = max_bytes.max(1);
        state.refuse_oversized();
        state.admit();
    }

    /// What is in flight, and the limits.
    pub(crate) fn in_flight(&self) -> InFlight {
        let state = self.state.lock();
        InFlight {
            sends: state.sends,
            bytes: state.bytes,
            max_sends: state.max_sends,
            max_bytes: state.max_bytes,
        }
    }

    /// Takes no more sends; those waiting fail with [`Error::Shutdown`].
    pub(crate) fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        state.waiting.clear();
    }
}

fn no_room(state: &State) -> Error {
    Error::NoRoomInFlight {
        sends: state.sends,
        bytes: state.bytes,
        max_sends: state.max_sends,
        max_bytes: state.max_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn later(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[tokio::test(start_paused = true)]
    async fn a_send_waits_for_room_by_count_then_proceeds() {
        let budget = Budget::new(2, 1000);
        let a = budget.acquire(10, later(100), false).await.expect("room");
        let _b = budget.acquire(10, later(100), false).await.expect("room");
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.acquire(10, later(1000), false).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(a);
        let c = waiting.await.expect("task").expect("room after a finished");
        assert_eq!(budget.in_flight().sends, 2);
        drop(c);
        assert_eq!(budget.in_flight().sends, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_send_waits_for_room_by_bytes_and_times_out_without_it() {
        let budget = Budget::new(100, 100);
        let _big = budget.acquire(80, later(100), false).await.expect("room");
        let err = budget
            .acquire(30, later(100), false)
            .await
            .expect_err("no room in time");
        assert!(
            matches!(err, Error::NoRoomInFlight { bytes: 80, .. }),
            "{err}"
        );
        assert_eq!(err.kind(), crate::ErrorKind::Overloaded);
        // The one that gave up left no trace.
        assert_eq!(budget.in_flight().bytes, 80);
        assert!(budget.acquire(20, later(100), false).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn fail_fast_refuses_at_once_and_too_large_is_an_error_not_a_wait() {
        let budget = Budget::new(1, 100);
        let _one = budget.acquire(1, later(100), true).await.expect("room");
        let begin = Instant::now();
        let err = budget
            .acquire(1, later(10_000), true)
            .await
            .expect_err("full");
        assert!(matches!(err, Error::NoRoomInFlight { .. }));
        assert_eq!(begin.elapsed(), Duration::ZERO);
        let err = budget
            .acquire(101, later(10_000), false)
            .await
            .expect_err("never fits");
        assert!(matches!(
            err,
            Error::LargerThanInFlightLimit {
                bytes: 101,
                limit: 100
            }
        ));
        assert_eq!(begin.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn limits_change_at_run_time_and_waiters_go_in_order() {
        let budget = Budget::new(1, 1000);
        let _first = budget.acquire(1, later(100), false).await.expect("room");
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for n in 0..3 {
            let (budget, order) = (budget.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let grant = budget.acquire(1, later(10_000), false).await;
                order.lock().push(n);
                grant
            }));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        budget.set_limits(3, 1000);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(*order.lock(), [0, 1]);
        assert_eq!(budget.in_flight().max_sends, 3);
        budget.set_limits(10, 1000);
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(*order.lock(), [0, 1, 2]);
        // A waiting send the byte limit falls below is turned away, not left in the way.
        let _full = budget.acquire(990, later(100), false).await;
        let big = tokio::spawn({
            let budget = budget.clone();
            async move { budget.acquire(500, later(10_000), false).await }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        budget.set_limits(10, 400);
        let refused = big.await.expect("task").expect_err("can never fit");
        assert!(matches!(
            refused,
            Error::LargerThanInFlightLimit {
                bytes: 500,
                limit: 400
            }
        ));
        budget.close();
        let err = budget
            .acquire(1, later(100), false)
            .await
            .expect_err("closed");
        assert!(matches!(err, Error::Shutdown));
        for task in waiting {
            assert!(task.await.expect("task").is_ok());
        }
    }
}

//! Deadlines from caller-given timeouts, which may be anything up to `Duration::MAX`.
//!
//! `Instant + Duration` panics on overflow, so a timeout such as `Duration::MAX` ("wait for
//! ever") would panic inside the transport or the producer. Every deadline is computed here
//! instead, capped at a far future that no send outlives.

use std::time::Duration;

use tokio::time::Instant;

/// The longest wait a deadline stands for: about 30 years, as tokio's own "far future".
pub const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The instant `timeout` after `start`, capped at [`FAR_FUTURE`] after it.
///
/// ```
/// use std::time::Duration;
/// use rmq_remoting::deadline::{FAR_FUTURE, deadline_from};
/// let start = tokio::time::Instant::now();
/// assert_eq!(deadline_from(start, Duration::from_secs(3)), start + Duration::from_secs(3));
/// assert_eq!(deadline_from(start, Duration::MAX), start + FAR_FUTURE);
/// ```
pub fn deadline_from(start: Instant, timeout: Duration) -> Instant {
    start + timeout.min(FAR_FUTURE)
}

/// The instant `timeout` from now, capped at [`FAR_FUTURE`] from now.
///
/// ```
/// use std::time::Duration;
/// let deadline = rmq_remoting::deadline::deadline_after(Duration::MAX);
/// assert!(deadline > tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
/// ```
pub fn deadline_after(timeout: Duration) -> Instant {
    deadline_from(Instant::now(), timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_largest_timeouts_make_a_deadline_without_panicking() {
        for timeout in [Duration::MAX, Duration::from_secs(u64::MAX), FAR_FUTURE * 2] {
            let deadline = deadline_after(timeout);
            assert!(deadline > Instant::now() + FAR_FUTURE - Duration::from_secs(1));
            // tokio accepts it as a timer.
            let slept =
                tokio::time::timeout(Duration::from_millis(5), tokio::time::sleep_until(deadline))
                    .await;
            assert!(slept.is_err());
        }
    }
}

//! CPU time and peak memory of this process (`getrusage(RUSAGE_SELF)`).

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};

/// A snapshot of the process's resource use.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Peak resident set size in KiB (Linux reports `ru_maxrss` in KiB).
    pub max_rss_kib: u64,
}

/// This process's resource use now; zero if the OS refuses to say.
pub fn now() -> Usage {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(usage) => {
            let to_duration = |tv: nix::sys::time::TimeVal| {
                Duration::new(
                    tv.tv_sec().max(0) as u64,
                    (tv.tv_usec().max(0) as u32) * 1000,
                )
            };
            Usage {
                cpu: to_duration(usage.user_time()) + to_duration(usage.system_time()),
                max_rss_kib: usage.max_rss().max(0) as u64,
            }
        }
        Err(_) => Usage::default(),
    }
}

//! CPU time and peak memory of this process (`getrusage(RUSAGE_SELF)`), and CPU time of
//! chosen threads (Linux `/proc/self/task/<tid>/stat`).

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

/// The calling thread's id, as `/proc/self/task` names it (Linux; 0 elsewhere, where
/// [`threads_cpu`] reads nothing).
pub fn thread_id() -> i32 {
    #[cfg(target_os = "linux")]
    return nix::unistd::gettid().as_raw();
    #[cfg(not(target_os = "linux"))]
    return 0;
}

/// Clock ticks per second of `/proc` CPU times (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time used so far by the threads `tids` of this process, at clock-tick precision (10 ms);
/// threads that have ended count as zero.
///
/// ```
/// let mine = rmq_cli::resources::threads_cpu(&[rmq_cli::resources::thread_id()]);
/// assert!(mine <= rmq_cli::resources::now().cpu + std::time::Duration::from_millis(20));
/// ```
pub fn threads_cpu(tids: &[i32]) -> Duration {
    let ticks: u64 = tids
        .iter()
        .filter_map(|tid| std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok())
        .filter_map(|stat| stat_ticks(&stat))
        .sum();
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// `utime + stime` of a `stat` line. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last `)`.
fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the name: state is field 3, utime field 14, stime field 15.
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_ticks_skip_a_name_with_spaces_and_parentheses() {
        let stat = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20";
        assert_eq!(stat_ticks(stat), Some(280));
        assert_eq!(stat_ticks("garbage"), None);
    }
}

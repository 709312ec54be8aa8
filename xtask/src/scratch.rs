//! Where the real servers' throwaway directories live.
//!
//! The rocketmq-rust broker measures its disk as `(total - available) / total` and refuses to
//! start when that passes 90 % (and reclaims files above 75 %). Filesystems that reserve many
//! blocks for root read far fuller by that measure than `df` shows, and a workspace `target/`
//! of tens of gigabytes does the rest, so the directory goes where there is room: the system
//! temp dir, else `/dev/shm` (memory: the servers' files are removed when they stop), unless
//! `$RMQ_E2E_DIR` names a place.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

/// Above this share used (the broker's measure) a candidate is passed over: the broker's own
/// reclaim threshold, so a run never starts in a state where the broker deletes files.
const MAX_USED: f64 = 0.75;
/// Above this the broker may not start: its warning level is 90 %, and the run writes.
const START_USED: f64 = 0.87;
/// At least this much must be free: the broker preallocates 64 MiB commit-log files and the
/// consume queues of every queue it writes.
const MIN_AVAILABLE: u64 = 2 << 30;

/// A fresh directory named `<prefix>-<pid>-<nanos>` under `$RMQ_E2E_DIR` if set (created if
/// need be, used as asked), else under the first of the temp dir and `/dev/shm` with room,
/// else the least used of them the broker still starts on.
pub(crate) fn fresh_dir(prefix: &str) -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("{prefix}-{}-{nanos}", std::process::id());
    let create = |root: &Path| {
        let dir = root.join(&name);
        fs::create_dir_all(&dir).with_context(|| format!("could not create {}", dir.display()))?;
        Ok(dir)
    };
    if let Some(root) = std::env::var_os("RMQ_E2E_DIR").filter(|d| !d.is_empty()) {
        let root = PathBuf::from(root);
        let dir = create(&root)?;
        if let Some(usage) = Usage::of(&root).filter(|usage| !usage.has_room()) {
            println!("e2e: warning: $RMQ_E2E_DIR {} is {usage}", root.display());
        }
        return Ok(dir);
    }
    let mut measured = Vec::new();
    for root in [std::env::temp_dir(), PathBuf::from("/dev/shm")] {
        if !root.is_dir() {
            continue;
        }
        match Usage::of(&root) {
            Some(usage) if !usage.has_room() => measured.push((root, usage)),
            // Room, or a platform that cannot say: the broker will tell.
            _ => return create(&root),
        }
    }
    // None is comfortable: the least used one the broker still starts on (it reclaims files
    // there, which a short run does not notice).
    measured.sort_by(|a, b| a.1.used().total_cmp(&b.1.used()));
    if let Some((root, usage)) = measured.first().filter(|(_, usage)| usage.will_start()) {
        println!("e2e: warning: {} is {usage}", root.display());
        return create(root);
    }
    let refused: Vec<String> = measured
        .iter()
        .map(|(root, usage)| format!("{} ({usage})", root.display()))
        .collect();
    bail!(
        "no directory has room for the broker's store: {}; the rocketmq-rust broker refuses to \
         start above 90 % used, counted as (total - available) / total; free some space (a \
         large target/ is the usual cause) or point $RMQ_E2E_DIR at a roomier filesystem",
        refused.join(", ")
    )
}

/// A filesystem's size and what an unprivileged writer may still use, in bytes.
struct Usage {
    total: u64,
    available: u64,
}

impl Usage {
    // The statvfs field types differ between platforms (u32 on some), hence the conversions.
    #[cfg(unix)]
    #[allow(clippy::useless_conversion)]
    fn of(path: &Path) -> Option<Usage> {
        let stat = nix::sys::statvfs::statvfs(path).ok()?;
        let block = u64::from(stat.fragment_size());
        Some(Usage {
            total: u64::from(stat.blocks()).saturating_mul(block),
            available: u64::from(stat.blocks_available()).saturating_mul(block),
        })
        .filter(|usage| usage.total > 0)
    }

    #[cfg(not(unix))]
    fn of(_path: &Path) -> Option<Usage> {
        None
    }

    fn used(&self) -> f64 {
        self.total.saturating_sub(self.available) as f64 / self.total as f64
    }

    fn has_room(&self) -> bool {
        self.used() <= MAX_USED && self.available >= MIN_AVAILABLE
    }

    /// Whether the broker starts here at all (below its 90 % warning level, with a margin).
    fn will_start(&self) -> bool {
        self.used() <= START_USED && self.available >= MIN_AVAILABLE / 2
    }
}

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} % used by the broker's measure, {:.1} GiB available",
            self.used() * 100.0,
            self.available as f64 / f64::from(1u32 << 30)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_needs_both_a_low_share_and_enough_bytes() {
        let gib = 1u64 << 30;
        assert!(
            Usage {
                total: 100 * gib,
                available: 30 * gib
            }
            .has_room()
        );
        assert!(
            !Usage {
                total: 100 * gib,
                available: 20 * gib
            }
            .has_room()
        );
        assert!(
            !Usage {
                total: 2 * gib,
                available: gib
            }
            .has_room()
        );
    }
}

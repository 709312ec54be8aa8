//! Which name server to ask (Java: `NettyRemotingClient.getAndCreateNameserverChannel`,
//! `namesrvAddrChoosed`, `namesrvIndex`).
//!
//! Start from a random one so many clients spread out; move to the next on failure; stay with
//! the one that answered.

use std::sync::Arc;

use parking_lot::RwLock;

/// The configured name servers and the one in use.
#[derive(Debug, Default)]
pub(crate) struct NameServers {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    addrs: Vec<Arc<str>>,
    /// The index to try first: the one that last worked, else the next untried one.
    next: usize,
}

impl NameServers {
    /// Replaces the list; keeps the current choice if it is still listed.
    pub(crate) fn set(&self, addrs: Vec<String>) {
        let mut state = self.state.write();
        let current = state.addrs.get(state.next).cloned();
        let addrs: Vec<Arc<str>> = addrs
            .into_iter()
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .map(Arc::from)
            .collect();
        state.next = match current.and_then(|c| addrs.iter().position(|a| *a == c)) {
            Some(i) => i,
            None if addrs.is_empty() => 0,
            None => fastrand::usize(..addrs.len()),
        };
        state.addrs = addrs;
    }

    /// The configured addresses.
    pub(crate) fn list(&self) -> Vec<String> {
        self.state
            .read()
            .addrs
            .iter()
            .map(|a| a.to_string())
            .collect()
    }

    /// Every address once, starting with the preferred one.
    pub(crate) fn candidates(&self) -> Vec<Arc<str>> {
        let state = self.state.read();
        let n = state.addrs.len();
        (0..n)
            .map(|i| state.addrs[(state.next + i) % n].clone())
            .collect()
    }

    /// `addr` answered: prefer it from now on.
    pub(crate) fn succeeded(&self, addr: &str) {
        let mut state = self.state.write();
        if let Some(i) = state.addrs.iter().position(|a| &**a == addr) {
            state.next = i;
        }
    }

    /// `addr` failed: prefer the one after it, unless another call already moved on.
    pub(crate) fn failed(&self, addr: &str) {
        let mut state = self.state.write();
        let n = state.addrs.len();
        if n > 0 && &*state.addrs[state.next % n] == addr {
            state.next = (state.next + 1) % n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_on_failure_and_sticks_on_success() {
        let ns = NameServers::default();
        ns.set(vec!["a:1".into(), " b:2 ".into(), "".into(), "c:3".into()]);
        assert_eq!(ns.list(), ["a:1", "b:2", "c:3"]);
        let first = ns.candidates();
        assert_eq!(first.len(), 3);
        ns.failed(&first[0]);
        assert_eq!(ns.candidates()[0], first[1]);
        ns.succeeded(&first[2]);
        assert_eq!(ns.candidates()[0], first[2]);
        // A stale failure report for an address no longer preferred changes nothing.
        ns.failed(&first[0]);
        assert_eq!(ns.candidates()[0], first[2]);
        // Updating the list keeps the working choice.
        ns.set(vec!["z:9".into(), first[2].to_string()]);
        assert_eq!(&*ns.candidates()[0], &*first[2]);
    }

    #[test]
    fn empty_list_has_no_candidates() {
        let ns = NameServers::default();
        assert!(ns.candidates().is_empty());
        ns.failed("x");
        ns.set(Vec::new());
        assert!(ns.candidates().is_empty());
    }
}

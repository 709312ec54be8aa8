//! Requests waiting for their replies (Java: `RequestFutureHolder`, `RequestResponseFuture`).
//!
//! Java keeps a table that a housekeeping thread sweeps every second for expired requests.
//! Here each waiting request owns its deadline and removes its entry when it ends, by reply,
//! timeout or drop, so an entry never outlives its request, and the table is bounded.

use std::sync::Arc;

use parking_lot::Mutex;
use rmq_common::Message;
use rustc_hash::FxHashMap;
use tokio::sync::oneshot;

use crate::Error;

/// Requests that may wait for replies at once, per client instance.
pub(crate) const MAX_PENDING_REQUESTS: usize = 65_536;

/// Waiting requests by correlation id.
#[derive(Debug, Default)]
pub(crate) struct ReplyTable {
    waiting: Mutex<FxHashMap<String, oneshot::Sender<Message>>>,
}

impl ReplyTable {
    /// Registers a request under `correlation_id`; its reply goes to the returned waiter.
    pub(crate) fn register(self: &Arc<Self>, correlation_id: String) -> Result<ReplyWaiter, Error> {
        let (tx, rx) = oneshot::channel();
        let mut waiting = self.waiting.lock();
        if waiting.len() >= MAX_PENDING_REQUESTS {
            return Err(Error::TooManyInFlight(waiting.len()));
        }
        waiting.insert(correlation_id.clone(), tx);
        Ok(ReplyWaiter {
            rx,
            _entry: Entry {
                table: self.clone(),
                correlation_id,
            },
        })
    }

    /// Hands `reply` to the request it answers; `false` if none waits for it.
    pub(crate) fn deliver(&self, correlation_id: &str, reply: Message) -> bool {
        let waiting = self.waiting.lock().remove(correlation_id);
        waiting.is_some_and(|tx| tx.send(reply).is_ok())
    }

    /// Ends every wait (the instance stops): each waiter sees the producer shut down.
    pub(crate) fn clear(&self) {
        self.waiting.lock().clear();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.waiting.lock().len()
    }
}

/// A request's wait for its reply; dropping it forgets the request.
#[derive(Debug)]
pub(crate) struct ReplyWaiter {
    pub(crate) rx: oneshot::Receiver<Message>,
    /// Removes the request from the table when the wait ends.
    _entry: Entry,
}

#[derive(Debug)]
struct Entry {
    table: Arc<ReplyTable>,
    correlation_id: String,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.table.waiting.lock().remove(&self.correlation_id);
    }
}

/// A random (version 4) UUID, as Java's `CorrelationIdUtil.createCorrelationId` makes.
pub(crate) fn correlation_id() -> String {
    let mut bytes = fastrand::u128(..).to_be_bytes();
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_version_4_uuids() {
        let id = correlation_id();
        assert_eq!(id.len(), 36);
        let groups: Vec<&str> = id.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'));
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(id, correlation_id());
    }

    #[test]
    fn an_entry_lives_exactly_as_long_as_its_waiter() {
        let table = Arc::new(ReplyTable::default());
        let waiter = table.register("a".into()).expect("room");
        let dropped = table.register("b".into()).expect("room");
        assert_eq!(table.len(), 2);
        drop(dropped);
        assert_eq!(table.len(), 1);
        assert!(!table.deliver("b", Message::new("T", "late")));
        assert!(table.deliver("a", Message::new("T", "reply")));
        assert_eq!(table.len(), 0);
        let mut rx = waiter.rx;
        assert_eq!(rx.try_recv().expect("delivered").body().as_ref(), b"reply");
        assert!(!table.deliver("a", Message::new("T", "twice")));
    }
}

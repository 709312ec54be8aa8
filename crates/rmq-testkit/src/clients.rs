//! Client connections by producer group and by client id (Java: `ProducerManager`): where a
//! broker sends transaction checks (to one connection of the group) and replies (to the
//! connection of the client named in the reply).

use std::collections::BTreeMap;

use parking_lot::Mutex;
use rmq_remoting::Channel;
use rmq_remoting::body::HeartbeatData;

/// The connections clients heartbeat on.
#[derive(Debug, Default)]
pub(crate) struct ClientChannels {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_group: BTreeMap<String, Vec<Channel>>,
    by_client: BTreeMap<String, Channel>,
    /// Round-robin position for groups (Java: `getAvailableChannel` picks among them).
    next: usize,
}

fn same(a: &Channel, b: &Channel) -> bool {
    a.remote_addr() == b.remote_addr()
}

impl ClientChannels {
    /// Records that `heartbeat`'s client and producer groups are reachable on `channel`.
    pub(crate) fn register(&self, channel: &Channel, heartbeat: &HeartbeatData) {
        let mut inner = self.inner.lock();
        for producer in &heartbeat.producer_data_set {
            let channels = inner
                .by_group
                .entry(producer.group_name.clone())
                .or_default();
            channels.retain(|c| !c.is_closed() && !same(c, channel));
            channels.push(channel.clone());
        }
        if !heartbeat.client_id.is_empty() {
            inner.by_client.retain(|_, c| !c.is_closed());
            inner
                .by_client
                .insert(heartbeat.client_id.clone(), channel.clone());
        }
    }

    /// Forgets `client_id`'s connection for `group` (Java: `unregisterProducer`).
    pub(crate) fn unregister(&self, group: &str, client_id: &str) {
        let mut inner = self.inner.lock();
        let Some(channel) = inner.by_client.get(client_id).cloned() else {
            return;
        };
        if let Some(channels) = inner.by_group.get_mut(group) {
            channels.retain(|c| !same(c, &channel));
        }
    }

    /// An open connection of a producer of `group`, taking turns.
    pub(crate) fn for_group(&self, group: &str) -> Option<Channel> {
        let mut inner = self.inner.lock();
        let next = inner.next;
        let channels = inner.by_group.get_mut(group)?;
        channels.retain(|c| !c.is_closed());
        let channel = channels.get(next % channels.len().max(1)).cloned();
        inner.next = next.wrapping_add(1);
        channel
    }

    /// The open connection of `client_id` (Java: `findChannel`).
    pub(crate) fn for_client(&self, client_id: &str) -> Option<Channel> {
        self.inner
            .lock()
            .by_client
            .get(client_id)
            .filter(|c| !c.is_closed())
            .cloned()
    }
}

//! Choosing a queue for ordered sends (Java: `MessageQueueSelector`,
//! `SelectMessageQueueByHash`, `SelectMessageQueueByRandom`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmq_common::properties::java_string_hash;
use rmq_common::{Message, MessageQueue};

/// Picks the queue for a message from the topic's writable queues (Java:
/// `MessageQueueSelector`). Messages that must stay in order share an `arg` (an order id) and
/// so a queue.
///
/// Any `Fn(&[MessageQueue], &Message, &A) -> Option<MessageQueue>` is a selector:
///
/// ```
/// use rmq_client::MessageQueueSelector;
/// use rmq_common::{Message, MessageQueue};
///
/// fn assert_selector<A: ?Sized>(_: &impl MessageQueueSelector<A>) {}
/// let first = |queues: &[MessageQueue], _: &Message, _: &u64| queues.first().cloned();
/// assert_selector(&first);
/// ```
pub trait MessageQueueSelector<A: ?Sized>: Send + Sync {
    /// The queue for `msg`, or `None` to fail the send.
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &A) -> Option<MessageQueue>;
}

impl<A: ?Sized, F> MessageQueueSelector<A> for F
where
    F: Fn(&[MessageQueue], &Message, &A) -> Option<MessageQueue> + Send + Sync,
{
    fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &A) -> Option<MessageQueue> {
        self(queues, msg, arg)
    }
}

/// A value hashed as Java hashes it, so [`SelectByHash`] picks the queue a Java client picks
/// for the same argument (Java: `Object.hashCode` of `String`, `Integer`, `Long`).
pub trait JavaHash {
    /// Java's `hashCode()` of the equivalent Java value.
    fn java_hash(&self) -> i32;
}

impl JavaHash for str {
    fn java_hash(&self) -> i32 {
        java_string_hash(self)
    }
}

impl JavaHash for String {
    fn java_hash(&self) -> i32 {
        java_string_hash(self)
    }
}

impl JavaHash for i32 {
    fn java_hash(&self) -> i32 {
        *self
    }
}

impl JavaHash for i64 {
    /// `Long.hashCode`: the two halves XORed.
    fn java_hash(&self) -> i32 {
        (*self ^ (*self >> 32)) as i32
    }
}

impl JavaHash for u32 {
    fn java_hash(&self) -> i32 {
        *self as i32
    }
}

impl JavaHash for u64 {
    fn java_hash(&self) -> i32 {
        (*self as i64).java_hash()
    }
}

impl<T: JavaHash + ?Sized> JavaHash for &T {
    fn java_hash(&self) -> i32 {
        (**self).java_hash()
    }
}

/// `queues[|arg.hashCode() % n|]` (Java: `SelectMessageQueueByHash`).
///
/// ```
/// use rmq_client::{MessageQueueSelector, SelectByHash};
/// use rmq_common::{Message, MessageQueue};
///
/// let queues: Vec<MessageQueue> = (0..4).map(|i| MessageQueue::new("T", "broker-a", i)).collect();
/// let msg = Message::new("T", "x");
/// // Java: "order-1".hashCode() == -1207111310, and |-1207111310 % 4| == 2.
/// assert_eq!(SelectByHash.select(&queues, &msg, "order-1").map(|q| q.queue_id()), Some(2));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SelectByHash;

impl<A: JavaHash + ?Sized> MessageQueueSelector<A> for SelectByHash {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, arg: &A) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        // Java: `int value = hashCode % size; if (value < 0) value = Math.abs(value);`
        let len = i32::try_from(queues.len()).unwrap_or(i32::MAX);
        let index = (arg.java_hash() % len).unsigned_abs() as usize;
        queues.get(index).cloned()
    }
}

/// A uniformly random queue (Java: `SelectMessageQueueByRandom`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SelectByRandom;

impl<A: ?Sized> MessageQueueSelector<A> for SelectByRandom {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, _arg: &A) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        queues.get(fastrand::usize(..queues.len())).cloned()
    }
}

/// Each queue in turn, whatever the argument.
///
/// The rotation lives in the selector, so keep one and pass it by reference, or clone it:
/// clones share one rotation.
///
/// ```no_run
/// # async fn demo(producer: rmq_client::Producer) -> rmq_client::Result<()> {
/// use rmq_client::SelectByRoundRobin;
/// use rmq_common::Message;
/// let rr = SelectByRoundRobin::default();
/// for i in 0..8 {
///     producer.send_with_selector(Message::new("Logs", format!("line {i}")), &rr, ()).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct SelectByRoundRobin(Arc<AtomicUsize>);

impl<A: ?Sized> MessageQueueSelector<A> for SelectByRoundRobin {
    fn select(&self, queues: &[MessageQueue], _msg: &Message, _arg: &A) -> Option<MessageQueue> {
        if queues.is_empty() {
            return None;
        }
        let next = self.0.fetch_add(1, Ordering::Relaxed);
        queues.get(next % queues.len()).cloned()
    }
}

/// The built-in selectors by reference too, so one selector (and its state) serves many
/// sends. (A blanket impl for every `&S` would overlap the closures' impl.)
macro_rules! by_reference {
    ($($selector:ty: $($bound:path)?;)*) => {$(
        impl<A: ?Sized $(+ $bound)?> MessageQueueSelector<A> for &$selector {
            fn select(&self, queues: &[MessageQueue], msg: &Message, arg: &A) -> Option<MessageQueue> {
                (**self).select(queues, msg, arg)
            }
        }
    )*};
}

by_reference! {
    SelectByHash: JavaHash;
    SelectByRandom: ;
    SelectByRoundRobin: ;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n).map(|i| MessageQueue::new("T", "b", i)).collect()
    }

    #[test]
    fn hash_matches_java() {
        let msg = Message::new("T", "x");
        let q = queues(3);
        // Java: "order-1".hashCode() = -1207111310; % 3 = -2 -> abs -> 2.
        assert_eq!("order-1".java_hash(), -1_207_111_310);
        assert_eq!(
            SelectByHash
                .select(&q, &msg, "order-1")
                .map(|q| q.queue_id()),
            Some(2)
        );
        assert_eq!(
            SelectByHash.select(&q, &msg, &7i32).map(|q| q.queue_id()),
            Some(1)
        );
        assert_eq!(
            SelectByHash.select(&q, &msg, &-7i32).map(|q| q.queue_id()),
            Some(1)
        );
        // Long.hashCode(1L << 32) = 1.
        assert_eq!((1i64 << 32).java_hash(), 1);
        assert_eq!(
            SelectByHash
                .select(&q, &msg, &i32::MIN)
                .map(|q| q.queue_id()),
            Some(2)
        );
        assert!(SelectByHash.select(&[], &msg, "k").is_none());
    }

    #[test]
    fn same_key_same_queue_and_round_robin_cycles() {
        let msg = Message::new("T", "x");
        let q = queues(8);
        let first = SelectByHash.select(&q, &msg, "order-42");
        for _ in 0..10 {
            assert_eq!(SelectByHash.select(&q, &msg, "order-42"), first);
        }
        let rr = SelectByRoundRobin::default();
        let ids: Vec<i32> = (0..9)
            .filter_map(|_| {
                MessageQueueSelector::<()>::select(&rr, &q, &msg, &()).map(|q| q.queue_id())
            })
            .collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6, 7, 0]);
        let random = MessageQueueSelector::<()>::select(&SelectByRandom, &q, &msg, &());
        assert!(random.is_some_and(|q| (0..8).contains(&q.queue_id())));
    }
}

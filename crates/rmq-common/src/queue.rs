//! The address of one queue: topic, broker name and queue id.
//!
//! Java: `MessageQueue`

use std::fmt;

use bytestring::ByteString;

/// One queue of a topic on one broker.
///
/// Ordering compares the topic, then the broker name, then the queue id, as Java's
/// `compareTo` does (topics and broker names are ASCII, so byte order equals UTF-16 order).
/// Names are shared [`ByteString`]s: a queue taken from a route and put into a result or a
/// request header is cloned without copying.
///
/// Java: `org.apache.rocketmq.common.message.MessageQueue`
///
/// ```
/// use rmq_common::MessageQueue;
///
/// let mq = MessageQueue::new("TopicTest", "broker-a", 1);
/// assert_eq!(mq.to_string(), "MessageQueue [topic=TopicTest, brokerName=broker-a, queueId=1]");
/// assert!(mq < MessageQueue::new("TopicTest", "broker-b", 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageQueue {
    topic: ByteString,
    broker_name: ByteString,
    queue_id: i32,
}

impl MessageQueue {
    /// A queue of `topic` on `broker_name`.
    ///
    /// ```
    /// let mq = rmq_common::MessageQueue::new("T", "b", 0);
    /// assert_eq!(mq.queue_id(), 0);
    /// ```
    pub fn new(
        topic: impl Into<ByteString>,
        broker_name: impl Into<ByteString>,
        queue_id: i32,
    ) -> Self {
        MessageQueue {
            topic: topic.into(),
            broker_name: broker_name.into(),
            queue_id,
        }
    }

    /// The topic.
    ///
    /// ```
    /// assert_eq!(rmq_common::MessageQueue::new("T", "b", 0).topic(), "T");
    /// ```
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The broker name (not its address).
    ///
    /// ```
    /// assert_eq!(rmq_common::MessageQueue::new("T", "b", 0).broker_name(), "b");
    /// ```
    pub fn broker_name(&self) -> &str {
        &self.broker_name
    }

    /// The queue id within the broker.
    ///
    /// ```
    /// assert_eq!(rmq_common::MessageQueue::new("T", "b", 3).queue_id(), 3);
    /// ```
    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// The topic as a shared string, for headers that carry it without copying.
    ///
    /// ```
    /// let mq = rmq_common::MessageQueue::new("T", "b", 0);
    /// assert_eq!(mq.topic_shared(), "T");
    /// ```
    pub fn topic_shared(&self) -> &ByteString {
        &self.topic
    }

    /// The broker name as a shared string.
    ///
    /// ```
    /// let mq = rmq_common::MessageQueue::new("T", "b", 0);
    /// assert_eq!(mq.broker_name_shared(), "b");
    /// ```
    pub fn broker_name_shared(&self) -> &ByteString {
        &self.broker_name
    }
}

impl fmt::Display for MessageQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MessageQueue [topic={}, brokerName={}, queueId={}]",
            self.topic, self.broker_name, self.queue_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_java_to_string() {
        let mq = MessageQueue::new("TopicTest", "broker-a", 1);
        assert_eq!(
            mq.to_string(),
            "MessageQueue [topic=TopicTest, brokerName=broker-a, queueId=1]"
        );
    }

    #[test]
    fn ordering_is_topic_then_broker_then_queue() {
        let mut queues = vec![
            MessageQueue::new("B", "a", 0),
            MessageQueue::new("A", "b", 0),
            MessageQueue::new("A", "a", 2),
            MessageQueue::new("A", "a", -1),
        ];
        queues.sort();
        assert_eq!(
            queues,
            [
                MessageQueue::new("A", "a", -1),
                MessageQueue::new("A", "a", 2),
                MessageQueue::new("A", "b", 0),
                MessageQueue::new("B", "a", 0),
            ]
        );
    }
}

//! The message a producer sends: topic, flag, body and properties, plus a checked builder.
//!
//! Java: `Message`

use bytes::Bytes;
use bytestring::ByteString;

use crate::properties::{
    self, KEY_SEPARATOR, Properties, PropertyError, check_separators, keys, validate_entry,
};

/// Why [`MessageBuilder::build`] refused a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// A user property, the tags or the keys were refused.
    #[error(transparent)]
    Property(#[from] PropertyError),
    /// A delay level must be positive (the broker ignores levels ≤ 0).
    #[error("the delay level must be greater than 0, got {0}")]
    InvalidDelayLevel(i32),
}

/// A message to send.
///
/// Java: `org.apache.rocketmq.common.message.Message`
///
/// ```
/// use rmq_common::Message;
///
/// let msg = Message::new("TopicTest", "Hello RocketMQ");
/// assert_eq!(msg.topic(), "TopicTest");
/// assert_eq!(msg.properties().get("WAIT"), Some("true"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    topic: ByteString,
    flag: i32,
    properties: Properties,
    body: Bytes,
    transaction_id: Option<String>,
}

impl Message {
    /// A message with properties `{WAIT: "true"}`, like Java's `new Message(topic, body)`.
    ///
    /// ```
    /// let msg = rmq_common::Message::new("T", vec![1u8, 2]);
    /// assert_eq!(msg.body().as_ref(), &[1, 2]);
    /// assert!(msg.wait_store_msg_ok());
    /// ```
    pub fn new(topic: impl Into<ByteString>, body: impl Into<Bytes>) -> Self {
        // `WAIT`, and the `UNIQ_KEY` a producer adds: a message with no other property (most
        // of them) holds only these, and one with more grows as before.
        let mut properties = Properties::with_capacity(2);
        properties.insert_static(keys::WAIT, ByteString::from_static("true"));
        Message {
            topic: topic.into(),
            flag: 0,
            properties,
            body: body.into(),
            transaction_id: None,
        }
    }

    /// Starts a checked builder for a message on `topic`.
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").tags("TagA").body("x").build().unwrap();
    /// assert_eq!(msg.tags(), Some("TagA"));
    /// ```
    pub fn builder(topic: impl Into<ByteString>) -> MessageBuilder {
        MessageBuilder::new(topic.into())
    }

    /// The topic.
    ///
    /// ```
    /// assert_eq!(rmq_common::Message::new("T", "b").topic(), "T");
    /// ```
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The topic as a shared string (cloning it does not copy).
    ///
    /// ```
    /// assert_eq!(rmq_common::Message::new("T", "b").topic_shared(), "T");
    /// ```
    pub fn topic_shared(&self) -> &ByteString {
        &self.topic
    }

    /// The user flag, opaque to RocketMQ.
    ///
    /// ```
    /// assert_eq!(rmq_common::Message::new("T", "b").flag(), 0);
    /// ```
    pub fn flag(&self) -> i32 {
        self.flag
    }

    /// The body.
    ///
    /// ```
    /// assert_eq!(rmq_common::Message::new("T", "b").body().as_ref(), b"b");
    /// ```
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// All properties, system and user.
    ///
    /// ```
    /// assert_eq!(rmq_common::Message::new("T", "b").properties().len(), 1);
    /// ```
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// Raw, unchecked access to the properties, for client internals (UNIQ_KEY, TRAN_MSG,
    /// INSTANCE_ID, …), like Java's package-private `putProperty`. User code should prefer
    /// [`Message::put_user_property`].
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.properties_mut().insert("UNIQ_KEY", "C0A80164123418B4AAC2075BCD150001");
    /// assert!(msg.uniq_key().is_some());
    /// ```
    pub fn properties_mut(&mut self) -> &mut Properties {
        &mut self.properties
    }

    /// The `TAGS` property.
    ///
    /// Java: `Message.getTags`
    ///
    /// ```
    /// assert_eq!(rmq_common::Message::new("T", "b").tags(), None);
    /// ```
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(keys::TAGS)
    }

    /// The raw `KEYS` property (keys joined by one space).
    ///
    /// Java: `Message.getKeys`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_keys(["k1", "k2"]);
    /// assert_eq!(msg.keys(), Some("k1 k2"));
    /// ```
    pub fn keys(&self) -> Option<&str> {
        self.properties.get(keys::KEYS)
    }

    /// The individual keys of the `KEYS` property.
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_keys(["k1", "k2"]);
    /// assert_eq!(msg.keys_iter().collect::<Vec<_>>(), ["k1", "k2"]);
    /// ```
    pub fn keys_iter(&self) -> impl Iterator<Item = &str> {
        self.keys()
            .unwrap_or_default()
            .split(KEY_SEPARATOR)
            .filter(|k| !k.is_empty())
    }

    /// The `DELAY` level, if present and numeric.
    ///
    /// Java: `Message.getDelayTimeLevel` (which reads an absent level as 0)
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_delay_level(3);
    /// assert_eq!(msg.delay_level(), Some(3));
    /// ```
    pub fn delay_level(&self) -> Option<i32> {
        self.properties.get(keys::DELAY)?.parse().ok()
    }

    /// Whether the send waits for the store; `true` when `WAIT` is absent, and otherwise
    /// `Boolean.parseBoolean` semantics (case-insensitive `"true"`).
    ///
    /// Java: `Message.isWaitStoreMsgOK`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_wait_store_msg_ok(false);
    /// assert!(!msg.wait_store_msg_ok());
    /// ```
    pub fn wait_store_msg_ok(&self) -> bool {
        self.properties
            .get(keys::WAIT)
            .is_none_or(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Any property by name (Java does not restrict the getter to user properties).
    ///
    /// Java: `Message.getUserProperty`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.put_user_property("a", "1").unwrap();
    /// assert_eq!(msg.user_property("a"), Some("1"));
    /// ```
    pub fn user_property(&self, name: &str) -> Option<&str> {
        self.properties.get(name)
    }

    /// The transaction id recorded by the transaction producer (not a property).
    ///
    /// Java: `Message.getTransactionId`
    ///
    /// ```
    /// assert_eq!(rmq_common::Message::new("T", "b").transaction_id(), None);
    /// ```
    pub fn transaction_id(&self) -> Option<&str> {
        self.transaction_id.as_deref()
    }

    /// The client message id (`UNIQ_KEY`), once the producer has assigned one.
    ///
    /// Java: `MessageClientIDSetter.getUniqID`
    ///
    /// ```
    /// assert_eq!(rmq_common::Message::new("T", "b").uniq_key(), None);
    /// ```
    pub fn uniq_key(&self) -> Option<&str> {
        self.properties.get(keys::UNIQ_KEY)
    }

    /// Replaces the topic.
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_topic("U");
    /// assert_eq!(msg.topic(), "U");
    /// ```
    pub fn set_topic(&mut self, topic: impl Into<ByteString>) {
        self.topic = topic.into();
    }

    /// Replaces the body.
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_body("c");
    /// assert_eq!(msg.body().as_ref(), b"c");
    /// ```
    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = body.into();
    }

    /// Replaces the user flag.
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_flag(7);
    /// assert_eq!(msg.flag(), 7);
    /// ```
    pub fn set_flag(&mut self, flag: i32) {
        self.flag = flag;
    }

    /// Sets `TAGS` (even when empty, as Java's setter does; separators are caught by
    /// `validators::check_message` before sending).
    ///
    /// Java: `Message.setTags`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_tags("TagA");
    /// assert_eq!(msg.tags(), Some("TagA"));
    /// ```
    pub fn set_tags(&mut self, tags: impl Into<ByteString>) {
        self.properties.insert_static(keys::TAGS, tags);
    }

    /// Sets `KEYS` to the keys joined by one space.
    ///
    /// Java: `Message.setKeys(Collection<String>)`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_keys(["k1", "k2"]);
    /// assert_eq!(msg.keys(), Some("k1 k2"));
    /// ```
    pub fn set_keys<I>(&mut self, keys: I)
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.properties.insert_static(keys::KEYS, join_keys(keys));
    }

    /// Sets the `DELAY` level without checks, like Java.
    ///
    /// Java: `Message.setDelayTimeLevel`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_delay_level(2);
    /// assert_eq!(msg.properties().get("DELAY"), Some("2"));
    /// ```
    pub fn set_delay_level(&mut self, level: i32) {
        self.properties
            .insert_static(keys::DELAY, level.to_string());
    }

    /// Sets `TIMER_DELIVER_MS`: deliver at this absolute epoch time (5.x brokers).
    ///
    /// Java: `Message.setDeliverTimeMs`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_deliver_time_ms(1_700_000_000_000);
    /// assert_eq!(msg.properties().get("TIMER_DELIVER_MS"), Some("1700000000000"));
    /// ```
    pub fn set_deliver_time_ms(&mut self, epoch_ms: i64) {
        self.properties
            .insert_static(keys::TIMER_DELIVER_MS, epoch_ms.to_string());
    }

    /// Sets `TIMER_DELAY_MS`: deliver after this many milliseconds (5.x brokers).
    ///
    /// Java: `Message.setDelayTimeMs`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_delay_time_ms(1500);
    /// assert_eq!(msg.properties().get("TIMER_DELAY_MS"), Some("1500"));
    /// ```
    pub fn set_delay_time_ms(&mut self, delay_ms: i64) {
        self.properties
            .insert_static(keys::TIMER_DELAY_MS, delay_ms.to_string());
    }

    /// Sets `TIMER_DELAY_SEC`: deliver after this many seconds (5.x brokers).
    ///
    /// Java: `Message.setDelayTimeSec`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_delay_time_sec(10);
    /// assert_eq!(msg.properties().get("TIMER_DELAY_SEC"), Some("10"));
    /// ```
    pub fn set_delay_time_sec(&mut self, delay_sec: i64) {
        self.properties
            .insert_static(keys::TIMER_DELAY_SEC, delay_sec.to_string());
    }

    /// Sets `WAIT` to `"true"` or `"false"`.
    ///
    /// Java: `Message.setWaitStoreMsgOK`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_wait_store_msg_ok(false);
    /// assert_eq!(msg.properties().get("WAIT"), Some("false"));
    /// ```
    pub fn set_wait_store_msg_ok(&mut self, wait: bool) {
        self.properties
            .insert_static(keys::WAIT, ByteString::from_static(bool_str(wait)));
    }

    /// Adds a user property after the checks of [`properties::validate_entry`].
    ///
    /// Java: `Message.putUserProperty`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// assert!(msg.put_user_property("a", "1").is_ok());
    /// assert!(msg.put_user_property("KEYS", "x").is_err());
    /// ```
    pub fn put_user_property(
        &mut self,
        name: impl Into<ByteString>,
        value: impl Into<ByteString>,
    ) -> Result<(), PropertyError> {
        let (name, value) = (name.into(), value.into());
        validate_entry(&name, &value)?;
        self.properties.insert(name, value);
        Ok(())
    }

    /// Records the transaction id.
    ///
    /// Java: `Message.setTransactionId`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// msg.set_transaction_id("tx");
    /// assert_eq!(msg.transaction_id(), Some("tx"));
    /// ```
    pub fn set_transaction_id(&mut self, transaction_id: impl Into<String>) {
        self.transaction_id = Some(transaction_id.into());
    }

    /// Removes a property (any name) and returns its value.
    ///
    /// Java: `Message.clearProperty`
    ///
    /// ```
    /// let mut msg = rmq_common::Message::new("T", "b");
    /// assert_eq!(msg.clear_property("WAIT").as_deref(), Some("true"));
    /// ```
    pub fn clear_property(&mut self, name: &str) -> Option<ByteString> {
        self.properties.remove(name)
    }
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn join_keys<I>(keys: I) -> String
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    let mut joined = String::new();
    for key in keys {
        if !joined.is_empty() {
            joined.push_str(KEY_SEPARATOR);
        }
        joined.push_str(&key.into());
    }
    joined
}

/// Builds a [`Message`] and checks it once, at [`MessageBuilder::build`].
///
/// Properties are written in the order of Java's full constructor (TAGS, KEYS, WAIT), then
/// DELAY and the timer keys, then user properties in call order; that order decides ties in
/// the Java `HashMap` order of the wire string.
///
/// Java: `Message(topic, tags, keys, flag, body, waitStoreMsgOK)` plus setters
///
/// ```
/// use rmq_common::Message;
///
/// let msg = Message::builder("TopicTest")
///     .keys(["k1", "k2"])
///     .delay_level(3)
///     .user_property("region", "eu")
///     .body("payload")
///     .build()
///     .unwrap();
/// assert_eq!(msg.keys(), Some("k1 k2"));
/// assert_eq!(msg.delay_level(), Some(3));
/// assert_eq!(msg.user_property("region"), Some("eu"));
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct MessageBuilder {
    topic: ByteString,
    flag: i32,
    body: Bytes,
    tags: Option<ByteString>,
    keys: Option<String>,
    wait_store_msg_ok: bool,
    delay_level: Option<i32>,
    timers: Vec<(&'static str, i64)>,
    user_properties: Vec<(ByteString, ByteString)>,
}

impl MessageBuilder {
    fn new(topic: ByteString) -> Self {
        MessageBuilder {
            topic,
            flag: 0,
            body: Bytes::new(),
            tags: None,
            keys: None,
            wait_store_msg_ok: true,
            delay_level: None,
            timers: Vec::new(),
            user_properties: Vec::new(),
        }
    }

    /// Sets the body.
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").body(vec![1u8]).build().unwrap();
    /// assert_eq!(msg.body().as_ref(), &[1]);
    /// ```
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the tags; an empty string is not stored, as in Java's constructor.
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").tags("").body("b").build().unwrap();
    /// assert_eq!(msg.tags(), None);
    /// ```
    pub fn tags(mut self, tags: impl Into<ByteString>) -> Self {
        self.tags = Some(tags.into());
        self
    }

    /// Sets the keys, joined by one space; an empty result is not stored.
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").keys(["a", "b"]).body("b").build().unwrap();
    /// assert_eq!(msg.keys(), Some("a b"));
    /// ```
    pub fn keys<I>(mut self, keys: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.keys = Some(join_keys(keys));
        self
    }

    /// Sets the user flag.
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").flag(9).body("b").build().unwrap();
    /// assert_eq!(msg.flag(), 9);
    /// ```
    pub fn flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Sets the `DELAY` level; [`MessageBuilder::build`] refuses levels ≤ 0.
    ///
    /// ```
    /// assert!(rmq_common::Message::builder("T").delay_level(0).build().is_err());
    /// ```
    pub fn delay_level(mut self, level: i32) -> Self {
        self.delay_level = Some(level);
        self
    }

    /// Sets `TIMER_DELIVER_MS` (absolute epoch ms; 5.x brokers with the timer wheel).
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").deliver_time_ms(5).build().unwrap();
    /// assert_eq!(msg.properties().get("TIMER_DELIVER_MS"), Some("5"));
    /// ```
    pub fn deliver_time_ms(mut self, epoch_ms: i64) -> Self {
        self.timers
            .push((properties::keys::TIMER_DELIVER_MS, epoch_ms));
        self
    }

    /// Sets `TIMER_DELAY_MS` (relative, in milliseconds; 5.x brokers).
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").delay_time_ms(5).build().unwrap();
    /// assert_eq!(msg.properties().get("TIMER_DELAY_MS"), Some("5"));
    /// ```
    pub fn delay_time_ms(mut self, delay_ms: i64) -> Self {
        self.timers
            .push((properties::keys::TIMER_DELAY_MS, delay_ms));
        self
    }

    /// Sets `TIMER_DELAY_SEC` (relative, in seconds; 5.x brokers).
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").delay_time_sec(5).build().unwrap();
    /// assert_eq!(msg.properties().get("TIMER_DELAY_SEC"), Some("5"));
    /// ```
    pub fn delay_time_sec(mut self, delay_sec: i64) -> Self {
        self.timers
            .push((properties::keys::TIMER_DELAY_SEC, delay_sec));
        self
    }

    /// Sets `WAIT` (default `true`; always written, as Java's constructors do).
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").wait_store_msg_ok(false).build().unwrap();
    /// assert_eq!(msg.properties().get("WAIT"), Some("false"));
    /// ```
    pub fn wait_store_msg_ok(mut self, wait: bool) -> Self {
        self.wait_store_msg_ok = wait;
        self
    }

    /// Adds a user property, checked at build time like `putUserProperty`.
    ///
    /// ```
    /// assert!(rmq_common::Message::builder("T").user_property("TAGS", "x").build().is_err());
    /// ```
    pub fn user_property(
        mut self,
        name: impl Into<ByteString>,
        value: impl Into<ByteString>,
    ) -> Self {
        self.user_properties.push((name.into(), value.into()));
        self
    }

    /// Checks everything and builds the message.
    ///
    /// # Errors
    ///
    /// [`MessageError::Property`] for a refused user property or tags/keys containing a
    /// separator, [`MessageError::InvalidDelayLevel`] for a delay level ≤ 0.
    ///
    /// ```
    /// let msg = rmq_common::Message::builder("T").body("b").build().unwrap();
    /// assert_eq!(msg.properties().get("WAIT"), Some("true"));
    /// ```
    pub fn build(self) -> Result<Message, MessageError> {
        let mut properties = Properties::new();
        if let Some(tags) = self.tags.filter(|t| !t.is_empty()) {
            check_separators(keys::TAGS, &tags)?;
            properties.insert_static(keys::TAGS, tags);
        }
        if let Some(joined) = self.keys.filter(|k| !k.is_empty()) {
            check_separators(keys::KEYS, &joined)?;
            properties.insert_static(keys::KEYS, joined);
        }
        properties.insert_static(
            keys::WAIT,
            ByteString::from_static(bool_str(self.wait_store_msg_ok)),
        );
        if let Some(level) = self.delay_level {
            if level <= 0 {
                return Err(MessageError::InvalidDelayLevel(level));
            }
            properties.insert_static(keys::DELAY, level.to_string());
        }
        for (name, value) in self.timers {
            properties.insert(name, value.to_string());
        }
        for (name, value) in self.user_properties {
            validate_entry(&name, &value)?;
            properties.insert(name, value);
        }
        Ok(Message {
            topic: self.topic,
            flag: self.flag,
            properties,
            body: self.body,
            transaction_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::SeparatorStyle;

    #[test]
    fn v32_default_properties() {
        let m = Message::new("T", "body");
        assert_eq!(
            m.properties().iter().collect::<Vec<_>>(),
            [("WAIT", "true")]
        );

        let m = Message::builder("T")
            .tags("TagA")
            .body("body")
            .build()
            .unwrap();
        assert_eq!(
            m.properties().iter().collect::<Vec<_>>(),
            [("TAGS", "TagA"), ("WAIT", "true")]
        );

        let m = Message::builder("T")
            .tags("")
            .keys(Vec::<String>::new())
            .flag(0)
            .body("body")
            .wait_store_msg_ok(false)
            .build()
            .unwrap();
        assert_eq!(
            m.properties().iter().collect::<Vec<_>>(),
            [("WAIT", "false")]
        );

        let mut m = Message::new("T", "body");
        m.set_keys(["k1", "k2"]);
        assert_eq!(m.keys(), Some("k1 k2"));
    }

    #[test]
    fn v33_transaction_half_properties() {
        let mut m = Message::new("TopicTest", "Hello RocketMQ");
        m.properties_mut().insert_static(keys::TRAN_MSG, "true");
        m.properties_mut().insert_static(keys::PGROUP, "pg");
        m.properties_mut()
            .insert_static(keys::UNIQ_KEY, "C0A80164123418B4AAC2075BCD150001");
        let s = m.properties().encode(SeparatorStyle::NoTrailing);
        assert_eq!(
            s,
            "TRAN_MSG\u{1}true\u{2}UNIQ_KEY\u{1}C0A80164123418B4AAC2075BCD150001\u{2}WAIT\u{1}true\u{2}PGROUP\u{1}pg"
        );
        let hex: String = s.bytes().map(|b| format!("{b:02X}")).collect();
        assert_eq!(
            hex,
            "5452414E5F4D5347017472756502554E49515F4B455901433041383031363431323334313842344141433230373542434431353030303102574149540174727565025047524F5550017067"
        );
    }

    #[test]
    fn v34_request_reply_properties() {
        let mut m = Message::new("TopicTest", "Hello RocketMQ");
        let p = m.properties_mut();
        p.insert_static(keys::CORRELATION_ID, "0f8fad5b-d9cb-469f-a165-70867728950e");
        p.insert_static(keys::REPLY_TO_CLIENT, "192.168.1.100@12345#1234567890123");
        p.insert_static(keys::TTL, "3000");
        p.insert_static(keys::UNIQ_KEY, "C0A80164123418B4AAC2075BCD150001");
        assert_eq!(
            m.properties().encode(SeparatorStyle::NoTrailing),
            "REPLY_TO_CLIENT\u{1}192.168.1.100@12345#1234567890123\u{2}\
             UNIQ_KEY\u{1}C0A80164123418B4AAC2075BCD150001\u{2}WAIT\u{1}true\u{2}TTL\u{1}3000\u{2}\
             CORRELATION_ID\u{1}0f8fad5b-d9cb-469f-a165-70867728950e"
        );
    }

    #[test]
    fn v35_namespace_property() {
        let mut m = Message::new("TopicTest", "Hello RocketMQ");
        m.properties_mut()
            .insert_static(keys::UNIQ_KEY, "C0A80164123418B4AAC2075BCD150001");
        m.properties_mut()
            .insert_static(keys::INSTANCE_ID, "MQ_INST_XXX");
        assert_eq!(
            m.properties().encode(SeparatorStyle::NoTrailing),
            "UNIQ_KEY\u{1}C0A80164123418B4AAC2075BCD150001\u{2}WAIT\u{1}true\u{2}INSTANCE_ID\u{1}MQ_INST_XXX"
        );
    }

    #[test]
    fn v29_builder_matches_java_constructor_order() {
        let mut m = Message::builder("TopicTest")
            .tags("TagA")
            .keys(["OrderID188"])
            .body("Hello RocketMQ")
            .build()
            .unwrap();
        m.properties_mut()
            .insert_static(keys::UNIQ_KEY, "C0A80164123418B4AAC2075BCD150001");
        assert_eq!(
            m.properties().encode(SeparatorStyle::NoTrailing),
            "KEYS\u{1}OrderID188\u{2}UNIQ_KEY\u{1}C0A80164123418B4AAC2075BCD150001\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA"
        );
    }

    #[test]
    fn v31_put_user_property() {
        let mut m = Message::new("T", "b");
        let err = m.put_user_property("KEYS", "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "The Property<KEYS> is used by system, input another please"
        );
        assert_eq!(m.put_user_property("a", " "), Err(PropertyError::Blank));
        assert_eq!(m.put_user_property("a", "1"), Ok(()));
        assert_eq!(m.put_user_property("__STARTDELIVERTIME", "1"), Ok(()));
        assert!(m.put_user_property("TIMER_DELIVER_MS", "1").is_err());
    }

    #[test]
    fn builder_errors() {
        assert_eq!(
            Message::builder("T").delay_level(-1).build(),
            Err(MessageError::InvalidDelayLevel(-1))
        );
        assert!(matches!(
            Message::builder("T").user_property("UNIQ_KEY", "x").build(),
            Err(MessageError::Property(PropertyError::Reserved { .. }))
        ));
        assert!(matches!(
            Message::builder("T").tags("a\u{2}b").build(),
            Err(MessageError::Property(
                PropertyError::IllegalCharacter { .. }
            ))
        ));
        assert!(matches!(
            Message::builder("T").keys(["a\u{1}"]).build(),
            Err(MessageError::Property(
                PropertyError::IllegalCharacter { .. }
            ))
        ));
    }

    #[test]
    fn builder_writes_delay_and_timers() {
        let m = Message::builder("T")
            .delay_level(18)
            .deliver_time_ms(1)
            .delay_time_ms(2)
            .delay_time_sec(3)
            .build()
            .unwrap();
        assert_eq!(m.delay_level(), Some(18));
        assert_eq!(m.properties().get(keys::TIMER_DELIVER_MS), Some("1"));
        assert_eq!(m.properties().get(keys::TIMER_DELAY_MS), Some("2"));
        assert_eq!(m.properties().get(keys::TIMER_DELAY_SEC), Some("3"));
    }

    #[test]
    fn wait_store_msg_ok_follows_parse_boolean() {
        let mut m = Message::new("T", "b");
        m.clear_property(keys::WAIT);
        assert!(m.wait_store_msg_ok());
        m.properties_mut().insert_static(keys::WAIT, "TRUE");
        assert!(m.wait_store_msg_ok());
        m.properties_mut().insert_static(keys::WAIT, "yes");
        assert!(!m.wait_store_msg_ok());
    }

    #[test]
    fn keys_iter_skips_empty_parts() {
        let mut m = Message::new("T", "b");
        assert_eq!(m.keys_iter().count(), 0);
        m.properties_mut().insert_static(keys::KEYS, "a  b");
        assert_eq!(m.keys_iter().collect::<Vec<_>>(), ["a", "b"]);
    }
}

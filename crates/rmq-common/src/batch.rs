//! Batch messages: the constraints on a batch and the body that carries its messages.
//! Batches are never compressed (`tryToCompressMessage` skips them).
//!
//! Java: `MessageBatch.generateFromList`, `MessageDecoder.encodeMessage` /
//! `encodeMessages` / `decodeMessages`

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::message::Message;
use crate::namespace::RETRY_PREFIX;
use crate::properties::{Properties, SeparatorStyle, keys};

/// Fixed bytes of one entry: totalSize, magic, bodyCRC, flag, bodyLen (5 × 4) + propsLen (2).
const ENTRY_OVERHEAD: usize = 22;

/// Why a batch could not be built, encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The message list is empty.
    #[error("the message list of a batch must not be empty")]
    Empty,
    /// A message has `DELAY > 0`.
    #[error("TimeDelayLevel is not supported for batching")]
    DelayNotSupported,
    /// A message targets a `%RETRY%` topic.
    #[error("Retry Group is not supported for batching")]
    RetryTopic,
    /// The messages do not all share one topic.
    #[error("The topic of the messages in one batch should be the same")]
    TopicMismatch,
    /// The messages do not all share one `WAIT` value.
    #[error("The waitStoreMsgOK of the messages in one batch should the same")]
    WaitStoreMsgOkMismatch,
    /// An entry's properties do not fit the int16 length field.
    #[error("the properties of a batch entry are {len} bytes, more than {max}", max = i16::MAX)]
    PropertiesTooLong {
        /// Encoded length of the properties.
        len: usize,
    },
    /// An entry does not fit the int32 size field.
    #[error("a batch entry of {len} bytes does not fit an int32 size")]
    EntryTooLarge {
        /// Size the entry would have.
        len: usize,
    },
    /// The body ends inside an entry.
    #[error("batch body truncated in the entry starting at byte {offset}")]
    Truncated {
        /// Byte offset of the entry.
        offset: usize,
    },
    /// An entry's length fields are negative or disagree with its total size.
    #[error("invalid lengths in the batch entry starting at byte {offset}")]
    InvalidLength {
        /// Byte offset of the entry.
        offset: usize,
    },
}

/// A list of messages sent in one request (code 320): same topic, same `WAIT`, no delay
/// level, no retry topic.
///
/// Java: `MessageBatch`
///
/// ```
/// use rmq_common::{Message, MessageBatch};
/// use rmq_common::batch::decode_body;
/// use rmq_common::properties::SeparatorStyle;
///
/// let batch = MessageBatch::new(vec![Message::new("T", "m1"), Message::new("T", "m2")]).unwrap();
/// assert_eq!(batch.topic(), "T");
/// let body = batch.encode_body(SeparatorStyle::NoTrailing).unwrap();
/// assert_eq!(decode_body(&body).unwrap().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MessageBatch {
    messages: Vec<Message>,
    properties: Properties,
}

impl MessageBatch {
    /// Checks the constraints and builds the batch. Its own properties start as
    /// `{WAIT: <first message's value>}`.
    ///
    /// Java: `MessageBatch.generateFromList`
    ///
    /// # Errors
    ///
    /// [`BatchError::Empty`], [`BatchError::DelayNotSupported`], [`BatchError::RetryTopic`],
    /// [`BatchError::TopicMismatch`] or [`BatchError::WaitStoreMsgOkMismatch`], checked
    /// message by message in Java's order.
    ///
    /// ```
    /// use rmq_common::{BatchError, Message, MessageBatch};
    ///
    /// let err = MessageBatch::new(vec![Message::new("A", "x"), Message::new("B", "y")]).unwrap_err();
    /// assert_eq!(err, BatchError::TopicMismatch);
    /// ```
    pub fn new(messages: Vec<Message>) -> Result<Self, BatchError> {
        Self::check(&messages)?;
        let mut properties = Properties::new();
        let wait = if messages.first().is_some_and(Message::wait_store_msg_ok) {
            "true"
        } else {
            "false"
        };
        properties.insert_static(keys::WAIT, wait);
        Ok(MessageBatch {
            messages,
            properties,
        })
    }

    /// Whether `messages` can form a batch, as [`new`](Self::new) checks it, without taking
    /// them: a caller keeps its messages when they cannot.
    ///
    /// ```
    /// use rmq_common::{BatchError, Message, MessageBatch};
    ///
    /// let messages = vec![Message::new("A", "x"), Message::new("B", "y")];
    /// assert_eq!(MessageBatch::check(&messages), Err(BatchError::TopicMismatch));
    /// assert_eq!(messages.len(), 2);
    /// ```
    pub fn check(messages: &[Message]) -> Result<(), BatchError> {
        let first = messages.first().ok_or(BatchError::Empty)?;
        for msg in messages {
            if msg.delay_level().is_some_and(|level| level > 0) {
                return Err(BatchError::DelayNotSupported);
            }
            if msg.topic().starts_with(RETRY_PREFIX) {
                return Err(BatchError::RetryTopic);
            }
            if msg.topic() != first.topic() {
                return Err(BatchError::TopicMismatch);
            }
            if msg.wait_store_msg_ok() != first.wait_store_msg_ok() {
                return Err(BatchError::WaitStoreMsgOkMismatch);
            }
        }
        Ok(())
    }

    /// The messages, in send order.
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// let batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// assert_eq!(batch.messages()[0].body().as_ref(), b"m1");
    /// ```
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Mutable access to the messages, for client internals (UNIQ_KEY, namespace). Keep the
    /// batch constraints when changing them: the topic is read from the first message.
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// let mut batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// batch.messages_mut()[0].properties_mut().insert("UNIQ_KEY", "X");
    /// assert_eq!(batch.messages()[0].uniq_key(), Some("X"));
    /// ```
    pub fn messages_mut(&mut self) -> &mut [Message] {
        &mut self.messages
    }

    /// Consumes the batch, returning its messages.
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// let batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// assert_eq!(batch.into_messages().len(), 1);
    /// ```
    pub fn into_messages(self) -> Vec<Message> {
        self.messages
    }

    /// The number of messages (at least 1).
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// let batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// assert_eq!(batch.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Always `false`: a batch is never empty. Present for the `len`/`is_empty` pair.
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// let batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// assert!(!batch.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The topic shared by all messages.
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// let batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// assert_eq!(batch.topic(), "T");
    /// ```
    pub fn topic(&self) -> &str {
        self.messages.first().map_or("", Message::topic)
    }

    /// The batch's `WAIT` value (that of its first message when built).
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// let batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// assert!(batch.wait_store_msg_ok());
    /// ```
    pub fn wait_store_msg_ok(&self) -> bool {
        self.properties
            .get(keys::WAIT)
            .is_none_or(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The batch's own properties, sent in the request header (`i`), not in the body.
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// use rmq_common::properties::SeparatorStyle;
    ///
    /// let batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// assert_eq!(batch.properties().encode(SeparatorStyle::NoTrailing), "WAIT\u{1}true");
    /// ```
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// Mutable access to the batch's own properties (5.x adds a `UNIQ_KEY`; a namespace adds
    /// `INSTANCE_ID`).
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// let mut batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// batch.properties_mut().insert("INSTANCE_ID", "ns");
    /// assert_eq!(batch.properties().len(), 2);
    /// ```
    pub fn properties_mut(&mut self) -> &mut Properties {
        &mut self.properties
    }

    /// Encodes all messages as the batch body: one entry per message, in order.
    ///
    /// Java: `MessageDecoder.encodeMessages`
    ///
    /// # Errors
    ///
    /// [`BatchError::PropertiesTooLong`] or [`BatchError::EntryTooLarge`].
    ///
    /// ```
    /// # use rmq_common::{Message, MessageBatch};
    /// use rmq_common::properties::SeparatorStyle;
    ///
    /// let batch = MessageBatch::new(vec![Message::new("T", "m1")]).unwrap();
    /// let body = batch.encode_body(SeparatorStyle::NoTrailing).unwrap();
    /// assert_eq!(body.len(), 22 + 2 + "WAIT\u{1}true".len());
    /// ```
    pub fn encode_body(&self, style: SeparatorStyle) -> Result<Bytes, BatchError> {
        let estimate: usize = self
            .messages
            .iter()
            .map(|m| ENTRY_OVERHEAD + m.body().len() + 64)
            .sum();
        let mut buf = BytesMut::with_capacity(estimate);
        let mut scratch = String::new();
        for msg in &self.messages {
            encode_entry_with(msg, style, &mut buf, &mut scratch)?;
        }
        Ok(buf.freeze())
    }
}

/// Decodes a batch body into its entries, for test brokers. Hostile input yields an error,
/// never a panic, and nothing is allocated beyond the input's size.
///
/// Java: `MessageDecoder.decodeMessages`
///
/// # Errors
///
/// [`BatchError::Truncated`] or [`BatchError::InvalidLength`].
///
/// ```
/// use rmq_common::BatchError;
/// use rmq_common::batch::decode_body;
///
/// assert_eq!(decode_body(&[]).unwrap(), vec![]);
/// assert_eq!(decode_body(&[0, 0]), Err(BatchError::Truncated { offset: 0 }));
/// ```
pub fn decode_body(body: &[u8]) -> Result<Vec<BatchEntry>, BatchError> {
    let mut entries = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let offset = body.len() - rest.len();
        let (entry, consumed) = decode_entry(rest, offset)?;
        entries.push(entry);
        rest = &rest[consumed..];
    }
    Ok(entries)
}

/// Appends one batch entry for `msg` to `buf`.
///
/// Java: `MessageDecoder.encodeMessage`
///
/// # Errors
///
/// [`BatchError::PropertiesTooLong`] when the properties exceed 32 767 bytes (4.9.8 throws;
/// 5.x silently truncates the length), [`BatchError::EntryTooLarge`] past `i32::MAX`.
///
/// ```
/// use bytes::BytesMut;
/// use rmq_common::{Message, batch::encode_entry};
/// use rmq_common::properties::SeparatorStyle;
///
/// let mut buf = BytesMut::new();
/// encode_entry(&Message::new("T", "m1"), SeparatorStyle::Trailing, &mut buf).unwrap();
/// assert_eq!(&buf[..4], &[0, 0, 0, 34]); // 22 + "m1" + "WAIT\u{1}true\u{2}"
/// ```
pub fn encode_entry(
    msg: &Message,
    style: SeparatorStyle,
    buf: &mut BytesMut,
) -> Result<(), BatchError> {
    encode_entry_with(msg, style, buf, &mut String::new())
}

fn encode_entry_with(
    msg: &Message,
    style: SeparatorStyle,
    buf: &mut BytesMut,
    scratch: &mut String,
) -> Result<(), BatchError> {
    scratch.clear();
    msg.properties().encode_into(style, scratch);
    encode_prepared_entry(msg.flag(), msg.body(), scratch, buf)
}

/// Appends one batch entry made of a message's parts, its properties already encoded: what
/// a producer that encoded them once for other uses writes without encoding them again.
///
/// Java: `MessageDecoder.encodeMessage`
///
/// # Errors
///
/// As [`encode_entry`].
///
/// ```
/// use bytes::BytesMut;
/// use rmq_common::{Message, batch::{encode_entry, encode_prepared_entry}};
/// use rmq_common::properties::SeparatorStyle;
///
/// let msg = Message::new("T", "m1");
/// let (mut whole, mut parts) = (BytesMut::new(), BytesMut::new());
/// encode_entry(&msg, SeparatorStyle::Trailing, &mut whole).unwrap();
/// let properties = msg.properties().encode(SeparatorStyle::Trailing);
/// encode_prepared_entry(msg.flag(), msg.body(), &properties, &mut parts).unwrap();
/// assert_eq!(whole, parts);
/// ```
pub fn encode_prepared_entry(
    flag: i32,
    body: &[u8],
    properties: &str,
    buf: &mut BytesMut,
) -> Result<(), BatchError> {
    let props_len = i16::try_from(properties.len()).map_err(|_| BatchError::PropertiesTooLong {
        len: properties.len(),
    })?;
    let len = entry_len(body.len(), properties.len());
    let too_large = || BatchError::EntryTooLarge { len };
    let total = i32::try_from(len).map_err(|_| too_large())?;
    let body_len = i32::try_from(body.len()).map_err(|_| too_large())?;

    buf.reserve(len);
    buf.put_i32(total);
    buf.put_i32(0); // magic code
    buf.put_i32(0); // body CRC
    buf.put_i32(flag);
    buf.put_i32(body_len);
    buf.put_slice(body);
    buf.put_i16(props_len);
    buf.put_slice(properties.as_bytes());
    Ok(())
}

/// The bytes a batch entry of this body and encoded-properties length takes.
///
/// ```
/// assert_eq!(rmq_common::batch::entry_len(2, 10), 34);
/// ```
pub fn entry_len(body: usize, properties: usize) -> usize {
    ENTRY_OVERHEAD
        .saturating_add(body)
        .saturating_add(properties)
}

/// One message decoded from a batch body (the topic is not stored per entry).
///
/// Java: the `Message`s returned by `MessageDecoder.decodeMessages`
#[derive(Debug, Clone, PartialEq)]
pub struct BatchEntry {
    /// The user flag.
    pub flag: i32,
    /// The body.
    pub body: Bytes,
    /// The properties, parsed with Java's lenient rules.
    pub properties: Properties,
}

/// Decodes the entry at the start of `input`, returning it and the bytes it used.
fn decode_entry(input: &[u8], offset: usize) -> Result<(BatchEntry, usize), BatchError> {
    let truncated = BatchError::Truncated { offset };
    let invalid = BatchError::InvalidLength { offset };
    let mut cur = input;
    if cur.remaining() < 20 {
        return Err(truncated);
    }
    let total = cur.get_i32();
    let _magic = cur.get_i32();
    let _body_crc = cur.get_i32();
    let flag = cur.get_i32();
    let body_len = usize::try_from(cur.get_i32()).map_err(|_| invalid.clone())?;
    if cur.remaining() < body_len {
        return Err(truncated);
    }
    let body = Bytes::copy_from_slice(&cur[..body_len]);
    cur.advance(body_len);
    if cur.remaining() < 2 {
        return Err(truncated);
    }
    let props_len = usize::try_from(cur.get_i16()).map_err(|_| invalid.clone())?;
    if cur.remaining() < props_len {
        return Err(truncated);
    }
    let used = ENTRY_OVERHEAD + body_len + props_len;
    if usize::try_from(total).ok() != Some(used) {
        return Err(invalid);
    }
    // Java decodes with `new String(bytes, UTF_8)`, which replaces invalid sequences.
    let props = String::from_utf8_lossy(&cur[..props_len]);
    let entry = BatchEntry {
        flag,
        body,
        properties: Properties::decode(&props),
    };
    Ok((entry, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_hex::hex;
    use proptest::prelude::*;

    fn with_uniq(mut msg: Message, counter: u32) -> Message {
        msg.properties_mut().insert(
            keys::UNIQ_KEY,
            format!("C0A80164123418B4AAC2075BCD15{counter:04X}"),
        );
        msg
    }

    fn v36_messages() -> Vec<Message> {
        let m1 = with_uniq(Message::new("TopicTest", "m1"), 2);
        let m2 = Message::builder("TopicTest")
            .tags("TagA")
            .body("m2")
            .build()
            .unwrap();
        // Java's (topic, tags, body) constructor inserts TAGS before WAIT.
        let m2 = with_uniq(m2, 3);
        vec![m1, m2]
    }

    const ENTRY1: &str = "0000004B000000000000000000000000000000026D310033554E49515F4B455901433041383031363431323334313842344141433230373542434431353030303202574149540174727565";
    const ENTRY2: &str = "00000055000000000000000000000000000000026D32003D554E49515F4B45590143304138303136343132333431384234414143323037354243443135303030330257414954017472756502544147530154616741";

    #[test]
    fn v36_batch_entries() {
        let messages = v36_messages();
        let mut buf = BytesMut::new();
        encode_entry(&messages[0], SeparatorStyle::NoTrailing, &mut buf).unwrap();
        assert_eq!(hex(&buf), ENTRY1);
        let mut buf = BytesMut::new();
        encode_entry(&messages[1], SeparatorStyle::NoTrailing, &mut buf).unwrap();
        assert_eq!(hex(&buf), ENTRY2);

        let batch = MessageBatch::new(messages).unwrap();
        let body = batch.encode_body(SeparatorStyle::NoTrailing).unwrap();
        assert_eq!(body.len(), 160);
        assert_eq!(hex(&body), format!("{ENTRY1}{ENTRY2}"));

        let decoded = decode_body(&body).unwrap();
        assert_eq!(decoded.len(), 2);
        for (entry, msg) in decoded.iter().zip(batch.messages()) {
            assert_eq!(entry.flag, msg.flag());
            assert_eq!(&entry.body, msg.body());
            assert_eq!(&entry.properties, msg.properties());
        }
    }

    #[test]
    fn v36_head_trailing_separator() {
        let mut buf = BytesMut::new();
        encode_entry(&v36_messages()[0], SeparatorStyle::Trailing, &mut buf).unwrap();
        assert_eq!(
            hex(&buf),
            "0000004C000000000000000000000000000000026D310034554E49515F4B45590143304138303136343132333431384234414143323037354243443135303030320257414954017472756502"
        );
    }

    #[test]
    fn v37_batch_constraints() {
        assert!(MessageBatch::new(vec![Message::new("T", "a"), Message::new("T", "b")]).is_ok());
        let err =
            MessageBatch::new(vec![Message::new("A", "a"), Message::new("B", "b")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The topic of the messages in one batch should be the same"
        );
        let mut no_wait = Message::new("T", "b");
        no_wait.set_wait_store_msg_ok(false);
        let err = MessageBatch::new(vec![Message::new("T", "a"), no_wait]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The waitStoreMsgOK of the messages in one batch should the same"
        );
        let mut delayed = Message::new("T", "b");
        delayed.set_delay_level(1);
        let err = MessageBatch::new(vec![Message::new("T", "a"), delayed]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "TimeDelayLevel is not supported for batching"
        );
        let err = MessageBatch::new(vec![Message::new("%RETRY%g", "a")]).unwrap_err();
        assert_eq!(err.to_string(), "Retry Group is not supported for batching");
        assert_eq!(MessageBatch::new(Vec::new()), Err(BatchError::Empty));
        // Delay level 0 is "no delay".
        let mut zero = Message::new("T", "b");
        zero.set_delay_level(0);
        assert!(MessageBatch::new(vec![zero]).is_ok());
    }

    #[test]
    fn v38_batch_header_properties() {
        let mut batch = MessageBatch::new(v36_messages()).unwrap();
        assert_eq!(
            batch.properties().encode(SeparatorStyle::NoTrailing),
            "WAIT\u{1}true"
        );
        batch
            .properties_mut()
            .insert_static(keys::UNIQ_KEY, "C0A80164123418B4AAC2075BCD150004");
        assert_eq!(
            batch.properties().encode(SeparatorStyle::Trailing),
            "UNIQ_KEY\u{1}C0A80164123418B4AAC2075BCD150004\u{2}WAIT\u{1}true\u{2}"
        );
        let ids: Vec<&str> = batch
            .messages()
            .iter()
            .filter_map(Message::uniq_key)
            .collect();
        assert_eq!(
            ids.join(","),
            "C0A80164123418B4AAC2075BCD150002,C0A80164123418B4AAC2075BCD150003"
        );
    }

    #[test]
    fn batch_wait_follows_first_message() {
        let mut m = Message::new("T", "a");
        m.set_wait_store_msg_ok(false);
        let batch = MessageBatch::new(vec![m]).unwrap();
        assert!(!batch.wait_store_msg_ok());
        assert_eq!(batch.properties().get(keys::WAIT), Some("false"));
    }

    #[test]
    fn properties_longer_than_i16_are_refused() {
        let mut m = Message::new("T", "a");
        m.properties_mut().insert("big", "x".repeat(40_000));
        let mut buf = BytesMut::new();
        assert!(matches!(
            encode_entry(&m, SeparatorStyle::Trailing, &mut buf),
            Err(BatchError::PropertiesTooLong { .. })
        ));
        assert!(buf.is_empty());
    }

    #[test]
    fn hostile_bodies_are_errors() {
        let body = MessageBatch::new(v36_messages())
            .unwrap()
            .encode_body(SeparatorStyle::NoTrailing)
            .unwrap();
        for cut in 1..body.len() {
            let result = decode_body(&body[..cut]);
            if cut == 75 {
                assert_eq!(result.map(|e| e.len()), Ok(1));
            } else {
                assert!(result.is_err(), "cut at {cut}");
            }
        }
        // Negative body length.
        let mut bad = body.to_vec();
        bad[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            decode_body(&bad),
            Err(BatchError::InvalidLength { offset: 0 })
        );
        // Huge body length must not allocate.
        bad[16..20].copy_from_slice(&i32::MAX.to_be_bytes());
        assert_eq!(decode_body(&bad), Err(BatchError::Truncated { offset: 0 }));
        // Total size disagreeing with the parts.
        let mut bad = body.to_vec();
        bad[75..79].copy_from_slice(&86i32.to_be_bytes());
        assert_eq!(
            decode_body(&bad),
            Err(BatchError::InvalidLength { offset: 75 })
        );
        // Negative properties length.
        let mut bad = body.to_vec();
        bad[22..24].copy_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(
            decode_body(&bad),
            Err(BatchError::InvalidLength { offset: 0 })
        );
    }

    fn message() -> impl Strategy<Value = Message> {
        let entry = ("[^\u{1}\u{2}]{1,8}", "[^\u{1}\u{2}]{1,8}");
        (
            any::<i32>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(entry, 0..8),
        )
            .prop_map(|(flag, body, props)| {
                let mut msg = Message::new("T", body);
                msg.set_flag(flag);
                msg.properties_mut().extend(props);
                // Keep the batch's WAIT constraint satisfiable.
                msg.set_wait_store_msg_ok(true);
                msg
            })
    }

    proptest! {
        #[test]
        fn prop_batch_round_trip(
            messages in proptest::collection::vec(message(), 1..8),
            trailing in any::<bool>(),
        ) {
            let messages: Vec<Message> = messages
                .into_iter()
                .map(|mut m| { m.clear_property(keys::DELAY); m })
                .collect();
            let batch = MessageBatch::new(messages).unwrap();
            let style = if trailing { SeparatorStyle::Trailing } else { SeparatorStyle::NoTrailing };
            let body = batch.encode_body(style).unwrap();
            let decoded = decode_body(&body).unwrap();
            prop_assert_eq!(decoded.len(), batch.len());
            for (entry, msg) in decoded.iter().zip(batch.messages()) {
                prop_assert_eq!(entry.flag, msg.flag());
                prop_assert_eq!(&entry.body, msg.body());
                prop_assert_eq!(&entry.properties, msg.properties());
            }
        }

        #[test]
        fn prop_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_body(&bytes);
        }
    }
}

//! Client-side checks of topic names, group names and outgoing messages, with Java's texts.
//!
//! Java: `Validators`, `TopicValidator`, `DefaultMQProducerImpl.checkConfig`

use crate::message::Message;
use crate::properties::{has_separator, keys};

/// Longest topic name the client accepts (UTF-16 units).
///
/// Java: `Validators.TOPIC_MAX_LENGTH`
pub const TOPIC_MAX_LENGTH: usize = 127;

/// Longest group name the 5.x client accepts (4.9.8 allowed 255), leaving room for
/// `%RETRY%group_topic`.
///
/// Java: `Validators.CHARACTER_MAX_LENGTH` (HEAD `GROUP_MAX_LENGTH`)
pub const GROUP_MAX_LENGTH: usize = 120;

/// The topic whose route brokers serve for auto-created topics.
///
/// Java: `TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

/// The placeholder producer group a real producer may not use.
///
/// Java: `MixAll.DEFAULT_PRODUCER_GROUP`
pub const DEFAULT_PRODUCER_GROUP: &str = "DEFAULT_PRODUCER";

/// The internal producer group every client instance registers.
///
/// Java: `MixAll.CLIENT_INNER_PRODUCER_GROUP`
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// Default largest message body, 4 MiB.
///
/// Java: `DefaultMQProducer.maxMessageSize`
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// Prefix of system topics.
///
/// Java: `TopicValidator.SYSTEM_TOPIC_PREFIX`
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

/// The legal-character pattern, as quoted in error messages.
const VALID_PATTERN: &str = "^[%|a-zA-Z0-9_-]+$";

/// `ResponseCode.MESSAGE_ILLEGAL`, carried by message-body errors.
const MESSAGE_ILLEGAL: i32 = 13;

/// Topics a client may not send to.
///
/// Java: `TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`
const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// System topics besides the not-allowed ones.
///
/// Java: `TopicValidator.SYSTEM_TOPIC_SET`
const OTHER_SYSTEM_TOPICS: [&str; 4] = [
    AUTO_CREATE_TOPIC_KEY,
    "BenchmarkTest",
    "RMQ_SYS_TRACE_TOPIC",
    "CHECKPOINT_TOPIC",
];

/// Why a name or message was refused. `Display` gives Java's message text.
///
/// Java: the `MQClientException`s thrown by `Validators`
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The topic is empty or whitespace.
    #[error("The specified topic is blank")]
    BlankTopic,
    /// The topic is longer than [`TOPIC_MAX_LENGTH`].
    #[error("The specified topic is longer than topic max length {TOPIC_MAX_LENGTH}.")]
    TopicTooLong(String),
    /// The topic has a character outside `^[%|a-zA-Z0-9_-]+$`.
    #[error("The specified topic[{0}] contains illegal characters, allowing only {VALID_PATTERN}")]
    IllegalTopic(String),
    /// The topic is reserved for the broker.
    #[error("Sending message to topic[{0}] is forbidden.")]
    ForbiddenTopic(String),
    /// The topic is a system topic and may not be created.
    #[error("The topic[{0}] is conflict with system topic.")]
    SystemTopic(String),
    /// The group is empty or whitespace.
    #[error("the specified group is blank")]
    BlankGroup,
    /// The group is longer than [`GROUP_MAX_LENGTH`].
    #[error("the specified group[{0}] is longer than group max length: {GROUP_MAX_LENGTH}.")]
    GroupTooLong(String),
    /// The group has a character outside `^[%|a-zA-Z0-9_-]+$`.
    #[error("the specified group[{0}] contains illegal characters, allowing only {VALID_PATTERN}")]
    IllegalGroup(String),
    /// The producer group is the placeholder [`DEFAULT_PRODUCER_GROUP`].
    #[error("producerGroup can not equal DEFAULT_PRODUCER, please specify another one.")]
    DefaultProducerGroup,
    /// The body is empty.
    #[error("the message body length is zero")]
    EmptyBody,
    /// The body is larger than the configured maximum.
    #[error("the message body size over max value, MAX: {max} (the body has {size} bytes)")]
    BodyTooLarge {
        /// The body's size in bytes (for a batch, the encoded batch body).
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// `INNER_MULTI_DISPATCH` contains the file separator `/` (5.x).
    #[error("INNER_MULTI_DISPATCH {0} can not contains / character")]
    IllegalMultiDispatch(String),
    /// A property name or value contains U+0001 or U+0002 and would corrupt the wire string.
    #[error("the property {0:?} contains a separator character (U+0001 or U+0002)")]
    IllegalProperty(String),
}

impl ValidationError {
    /// The `MQClientException` response code: 13 (`MESSAGE_ILLEGAL`) for message errors, −1
    /// for name errors.
    ///
    /// ```
    /// use rmq_common::ValidationError;
    ///
    /// assert_eq!(ValidationError::EmptyBody.response_code(), 13);
    /// assert_eq!(ValidationError::BlankTopic.response_code(), -1);
    /// ```
    pub fn response_code(&self) -> i32 {
        match self {
            ValidationError::EmptyBody
            | ValidationError::BodyTooLarge { .. }
            | ValidationError::IllegalMultiDispatch(_)
            | ValidationError::IllegalProperty(_) => MESSAGE_ILLEGAL,
            _ => -1,
        }
    }
}

/// ASCII characters allowed in topic and group names: `%`, `|`, letters, digits, `_`, `-`.
const LEGAL_CHARS: [bool; 128] = {
    let mut table = [false; 128];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        table[c] = b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-');
        c += 1;
    }
    table
};

/// Whether any character falls outside `^[%|a-zA-Z0-9_-]+$` (non-ASCII is always illegal).
///
/// Java: `TopicValidator.isTopicOrGroupIllegal`
fn has_illegal_chars(name: &str) -> bool {
    name.bytes()
        .any(|b| !LEGAL_CHARS.get(usize::from(b)).copied().unwrap_or(false))
}

/// Java `UtilAll.isBlank`: empty or only `Character.isWhitespace` characters.
pub(crate) fn is_blank(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\u{1C}'..='\u{1F}')
            || (c.is_whitespace() && !matches!(c, '\u{85}' | '\u{A0}' | '\u{2007}' | '\u{202F}'))
    })
}

/// Java measures names in UTF-16 code units.
fn java_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// Checks a topic name: not blank, at most 127 characters, legal characters (in that order).
///
/// Java: `Validators.checkTopic`
///
/// # Errors
///
/// [`ValidationError::BlankTopic`], [`ValidationError::TopicTooLong`] or
/// [`ValidationError::IllegalTopic`].
///
/// ```
/// use rmq_common::validators::validate_topic;
///
/// assert!(validate_topic("%RETRY%Hello").is_ok());
/// assert_eq!(
///     validate_topic("TOPIC&*^").unwrap_err().to_string(),
///     "The specified topic[TOPIC&*^] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
/// );
/// ```
pub fn validate_topic(topic: &str) -> Result<(), ValidationError> {
    if is_blank(topic) {
        return Err(ValidationError::BlankTopic);
    }
    if java_len(topic) > TOPIC_MAX_LENGTH {
        return Err(ValidationError::TopicTooLong(topic.to_owned()));
    }
    if has_illegal_chars(topic) {
        return Err(ValidationError::IllegalTopic(topic.to_owned()));
    }
    Ok(())
}

/// Checks a group name with the 5.x limit of 120 characters.
///
/// Java: `Validators.checkGroup`
///
/// # Errors
///
/// [`ValidationError::BlankGroup`], [`ValidationError::GroupTooLong`] or
/// [`ValidationError::IllegalGroup`].
///
/// ```
/// use rmq_common::validators::validate_group;
///
/// assert!(validate_group("pg").is_ok());
/// assert!(validate_group("pg.1").is_err());
/// ```
pub fn validate_group(group: &str) -> Result<(), ValidationError> {
    if is_blank(group) {
        return Err(ValidationError::BlankGroup);
    }
    if java_len(group) > GROUP_MAX_LENGTH {
        return Err(ValidationError::GroupTooLong(group.to_owned()));
    }
    if has_illegal_chars(group) {
        return Err(ValidationError::IllegalGroup(group.to_owned()));
    }
    Ok(())
}

/// Checks a producer group: [`validate_group`], and not [`DEFAULT_PRODUCER_GROUP`].
///
/// Java: `DefaultMQProducerImpl.checkConfig`
///
/// # Errors
///
/// Any error of [`validate_group`], or [`ValidationError::DefaultProducerGroup`].
///
/// ```
/// use rmq_common::validators::validate_producer_group;
///
/// assert_eq!(
///     validate_producer_group("DEFAULT_PRODUCER").unwrap_err().to_string(),
///     "producerGroup can not equal DEFAULT_PRODUCER, please specify another one."
/// );
/// ```
pub fn validate_producer_group(group: &str) -> Result<(), ValidationError> {
    validate_group(group)?;
    if group == DEFAULT_PRODUCER_GROUP {
        return Err(ValidationError::DefaultProducerGroup);
    }
    Ok(())
}

/// Whether clients are forbidden to send to `topic` (broker-internal topics).
///
/// Java: `TopicValidator.isNotAllowedSendTopic`
///
/// ```
/// assert!(rmq_common::validators::is_not_allowed_send_topic("SCHEDULE_TOPIC_XXXX"));
/// assert!(!rmq_common::validators::is_not_allowed_send_topic("TBW102"));
/// ```
pub fn is_not_allowed_send_topic(topic: &str) -> bool {
    NOT_ALLOWED_SEND_TOPICS.contains(&topic)
}

/// Refuses topics clients may not send to.
///
/// Java: `Validators.isNotAllowedSendTopic`
///
/// # Errors
///
/// [`ValidationError::ForbiddenTopic`].
///
/// ```
/// use rmq_common::validators::check_not_allowed_send_topic;
///
/// assert_eq!(
///     check_not_allowed_send_topic("SELF_TEST_TOPIC").unwrap_err().to_string(),
///     "Sending message to topic[SELF_TEST_TOPIC] is forbidden."
/// );
/// ```
pub fn check_not_allowed_send_topic(topic: &str) -> Result<(), ValidationError> {
    if is_not_allowed_send_topic(topic) {
        return Err(ValidationError::ForbiddenTopic(topic.to_owned()));
    }
    Ok(())
}

/// Whether `topic` is a system topic (named in the system set or prefixed `rmq_sys_`).
///
/// Java: `TopicValidator.isSystemTopic`
///
/// ```
/// assert!(rmq_common::validators::is_system_topic("TBW102"));
/// assert!(rmq_common::validators::is_system_topic("rmq_sys_anything"));
/// assert!(!rmq_common::validators::is_system_topic("TopicTest"));
/// ```
pub fn is_system_topic(topic: &str) -> bool {
    topic.starts_with(SYSTEM_TOPIC_PREFIX)
        || NOT_ALLOWED_SEND_TOPICS.contains(&topic)
        || OTHER_SYSTEM_TOPICS.contains(&topic)
}

/// Refuses system topics, as `createTopic` does.
///
/// Java: `Validators.checkTopic` + `TopicValidator.isSystemTopic` in `MQAdminImpl.createTopic`
///
/// # Errors
///
/// [`ValidationError::SystemTopic`].
///
/// ```
/// assert_eq!(
///     rmq_common::validators::check_system_topic("TBW102").unwrap_err().to_string(),
///     "The topic[TBW102] is conflict with system topic."
/// );
/// ```
pub fn check_system_topic(topic: &str) -> Result<(), ValidationError> {
    if is_system_topic(topic) {
        return Err(ValidationError::SystemTopic(topic.to_owned()));
    }
    Ok(())
}

/// Checks a message before sending: topic, not-allowed topic, body, `INNER_MULTI_DISPATCH`,
/// and (beyond Java) separator characters in any property.
///
/// Java: `Validators.checkMessage` (HEAD)
///
/// # Errors
///
/// The topic errors, [`ValidationError::EmptyBody`], [`ValidationError::BodyTooLarge`],
/// [`ValidationError::IllegalMultiDispatch`] or [`ValidationError::IllegalProperty`].
///
/// ```
/// use rmq_common::{Message, validators::{check_message, DEFAULT_MAX_MESSAGE_SIZE}};
///
/// assert!(check_message(&Message::new("TopicTest", "x"), DEFAULT_MAX_MESSAGE_SIZE).is_ok());
/// assert_eq!(
///     check_message(&Message::new("TopicTest", ""), DEFAULT_MAX_MESSAGE_SIZE)
///         .unwrap_err()
///         .response_code(),
///     13
/// );
/// ```
pub fn check_message(msg: &Message, max_message_size: usize) -> Result<(), ValidationError> {
    validate_topic(msg.topic())?;
    check_not_allowed_send_topic(msg.topic())?;
    let body_len = msg.body().len();
    if body_len == 0 {
        return Err(ValidationError::EmptyBody);
    }
    check_body_size(body_len, max_message_size)?;
    if let Some(path) = msg.properties().get(keys::INNER_MULTI_DISPATCH)
        && path.contains('/')
    {
        return Err(ValidationError::IllegalMultiDispatch(path.to_owned()));
    }
    if let Some((name, _)) = msg
        .properties()
        .iter()
        .find(|(name, value)| has_separator(name) || has_separator(value))
    {
        return Err(ValidationError::IllegalProperty(name.to_owned()));
    }
    Ok(())
}

/// [`ValidationError::BodyTooLarge`] when a body of `size` bytes is over `max_message_size`;
/// for a batch, Java checks the encoded batch body (Java: `Validators.checkMessage(msgBatch)`).
///
/// ```
/// use rmq_common::validators::check_body_size;
/// assert!(check_body_size(4, 4).is_ok());
/// let err = check_body_size(5, 4).unwrap_err();
/// assert_eq!(err.to_string(), "the message body size over max value, MAX: 4 (the body has 5 bytes)");
/// ```
pub fn check_body_size(size: usize, max_message_size: usize) -> Result<(), ValidationError> {
    if size > max_message_size {
        return Err(ValidationError::BodyTooLarge {
            size,
            max: max_message_size,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v63_topic_validation() {
        for ok in [
            "Hello",
            "%RETRY%Hello",
            "_%RETRY%Hello",
            "-%RETRY%Hello",
            "223-%RETRY%Hello",
            "a|b",
            "TBW102",
            "rmq_sys_anything",
        ] {
            assert_eq!(validate_topic(ok), Ok(()), "{ok}");
        }
        assert_eq!(validate_topic(&"a".repeat(127)), Ok(()));

        assert_eq!(
            validate_topic("TOPIC&*^").unwrap_err().to_string(),
            "The specified topic[TOPIC&*^] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        );
        assert!(
            validate_topic("")
                .unwrap_err()
                .to_string()
                .starts_with("The specified topic is blank")
        );
        assert_eq!(validate_topic(" \t"), Err(ValidationError::BlankTopic));
        let long = format!("{:_<128}", "TooLongTopic");
        assert_eq!(long.len(), 128);
        assert_eq!(
            validate_topic(&long).unwrap_err().to_string(),
            "The specified topic is longer than topic max length 127."
        );
        for bad in ["Topic.Test", "a b", "主题"] {
            assert!(
                matches!(validate_topic(bad), Err(ValidationError::IllegalTopic(_))),
                "{bad}"
            );
        }
        // Length is measured in UTF-16 units and checked before characters.
        assert!(matches!(
            validate_topic(&"主".repeat(100)),
            Err(ValidationError::IllegalTopic(_))
        ));
        assert!(matches!(
            validate_topic(&"主".repeat(128)),
            Err(ValidationError::TopicTooLong(_))
        ));
    }

    #[test]
    fn v63_not_allowed_and_system_topics() {
        for topic in NOT_ALLOWED_SEND_TOPICS {
            assert_eq!(
                check_not_allowed_send_topic(topic).unwrap_err().to_string(),
                format!("Sending message to topic[{topic}] is forbidden.")
            );
            assert!(is_system_topic(topic));
        }
        for topic in [
            "TBW102",
            "BenchmarkTest",
            "RMQ_SYS_TRACE_TOPIC",
            "rmq_sys_anything",
            "CHECKPOINT_TOPIC",
        ] {
            assert_eq!(check_not_allowed_send_topic(topic), Ok(()));
            assert_eq!(
                check_system_topic(topic).unwrap_err().to_string(),
                format!("The topic[{topic}] is conflict with system topic.")
            );
        }
        assert_eq!(check_system_topic("TopicTest"), Ok(()));
    }

    #[test]
    fn v64_group_validation() {
        assert_eq!(
            validate_group("").unwrap_err().to_string(),
            "the specified group is blank"
        );
        assert_eq!(validate_group(&"g".repeat(120)), Ok(()));
        let long = "g".repeat(121);
        assert_eq!(
            validate_group(&long).unwrap_err().to_string(),
            format!("the specified group[{long}] is longer than group max length: 120.")
        );
        assert!(matches!(
            validate_group(&"g".repeat(255)),
            Err(ValidationError::GroupTooLong(_))
        ));
        assert!(matches!(
            validate_group(&"g".repeat(256)),
            Err(ValidationError::GroupTooLong(_))
        ));
        assert_eq!(
            validate_group("pg.1").unwrap_err().to_string(),
            "the specified group[pg.1] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        );
        assert_eq!(
            validate_producer_group(DEFAULT_PRODUCER_GROUP)
                .unwrap_err()
                .to_string(),
            "producerGroup can not equal DEFAULT_PRODUCER, please specify another one."
        );
        assert_eq!(validate_producer_group("pg"), Ok(()));
        assert_eq!(validate_producer_group(CLIENT_INNER_PRODUCER_GROUP), Ok(()));
    }

    #[test]
    fn check_message_rules() {
        let max = DEFAULT_MAX_MESSAGE_SIZE;
        assert_eq!(check_message(&Message::new("TopicTest", "x"), max), Ok(()));
        assert_eq!(
            check_message(&Message::new("Topic.Test", "x"), max),
            Err(ValidationError::IllegalTopic("Topic.Test".into()))
        );
        assert_eq!(
            check_message(&Message::new("SCHEDULE_TOPIC_XXXX", "x"), max),
            Err(ValidationError::ForbiddenTopic(
                "SCHEDULE_TOPIC_XXXX".into()
            ))
        );
        let empty = check_message(&Message::new("T", ""), max).unwrap_err();
        assert_eq!(empty.to_string(), "the message body length is zero");
        assert_eq!(empty.response_code(), 13);

        let exact = Message::new("T", vec![0u8; 16]);
        assert_eq!(check_message(&exact, 16), Ok(()));
        let too_big = check_message(&exact, 15).unwrap_err();
        // Java's text, then the size it refused.
        assert_eq!(
            too_big.to_string(),
            "the message body size over max value, MAX: 15 (the body has 16 bytes)"
        );
        assert_eq!(too_big.response_code(), 13);

        let mut lmq = Message::new("T", "x");
        lmq.properties_mut()
            .insert(keys::INNER_MULTI_DISPATCH, "%LMQ%a/b");
        assert_eq!(
            check_message(&lmq, max).unwrap_err().to_string(),
            "INNER_MULTI_DISPATCH %LMQ%a/b can not contains / character"
        );

        let mut sep = Message::new("T", "x");
        sep.set_tags("a\u{2}b");
        assert_eq!(
            check_message(&sep, max),
            Err(ValidationError::IllegalProperty("TAGS".into()))
        );
    }
}

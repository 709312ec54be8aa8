//! Recall handles (Java 5.3.2+: `RecallMessageHandle`, `RecallMessageHandle.HandleV1`).
//!
//! A 5.x broker returns a handle in the send result of a timer message; the producer hands it
//! back in `RECALL_MESSAGE` to withdraw the message before it is delivered. The handle is the
//! URL-safe Base64 (with padding) of `"v1 <topic> <brokerName> <deliverMs> <msgId>"`.

use base64::Engine;
use base64::alphabet::URL_SAFE as URL_SAFE_ALPHABET;
use base64::engine::general_purpose::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Java's URL decoder takes handles with or without padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE_ALPHABET,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded recall handle (Java: `RecallMessageHandle.HandleV1`).
///
/// ```
/// use rmq_common::recall::RecallHandle;
///
/// let handle = RecallHandle {
///     topic: "TopicTest".into(),
///     broker_name: "broker-a".into(),
///     timestamp: "1700000001001".into(),
///     msg_id: "C0A80164123418B4AAC2075BCD150001".into(),
/// };
/// let text = handle.encode();
/// assert_eq!(RecallHandle::decode(&text), Ok(handle));
/// assert!(RecallHandle::decode("not a handle").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecallHandle {
    /// The message's topic (namespace applied).
    pub topic: String,
    /// The broker holding the timer message.
    pub broker_name: String,
    /// When it is due, in ms since the epoch, as the broker wrote it.
    pub timestamp: String,
    /// The message's `UNIQ_KEY`.
    pub msg_id: String,
}

/// A recall handle that cannot be read (Java: `DecoderException("recall handle is invalid")`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("recall handle is invalid: {reason}")]
pub struct InvalidRecallHandle {
    reason: &'static str,
}

impl RecallHandle {
    /// The handle's text (Java: `HandleV1.buildHandle`).
    pub fn encode(&self) -> String {
        let plain = format!(
            "v1 {} {} {} {}",
            self.topic, self.broker_name, self.timestamp, self.msg_id
        );
        URL_SAFE.encode(plain)
    }

    /// Reads a handle (Java: `RecallMessageHandle.decodeHandle`): Base64 of at least five
    /// space-separated items, the first `v1`; items after the fifth are ignored.
    ///
    /// # Errors
    ///
    /// [`InvalidRecallHandle`] when it is empty, not Base64, not UTF-8, or not a v1 handle.
    pub fn decode(handle: &str) -> Result<Self, InvalidRecallHandle> {
        let invalid = |reason| InvalidRecallHandle { reason };
        if handle.is_empty() {
            return Err(invalid("empty"));
        }
        let bytes = LENIENT
            .decode(handle)
            .map_err(|_| invalid("not URL-safe Base64"))?;
        let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8"))?;
        // Java's `split(" ")` drops trailing empty items.
        let mut items: Vec<&str> = text.split(' ').collect();
        while items.last().is_some_and(|item| item.is_empty()) {
            items.pop();
        }
        match items.as_slice() {
            ["v1", topic, broker_name, timestamp, msg_id, ..] => Ok(RecallHandle {
                topic: (*topic).to_owned(),
                broker_name: (*broker_name).to_owned(),
                timestamp: (*timestamp).to_owned(),
                msg_id: (*msg_id).to_owned(),
            }),
            ["v1", ..] => Err(invalid("fewer than five items")),
            _ => Err(invalid("not a v1 handle")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_layout_and_rejections() {
        // Java: Base64.getUrlEncoder() of "v1 TopicTest broker-a 1700000001001 ID".
        let text = URL_SAFE.encode("v1 TopicTest broker-a 1700000001001 ID");
        let handle = RecallHandle::decode(&text).unwrap();
        assert_eq!(handle.broker_name, "broker-a");
        assert_eq!(handle.encode(), text);
        assert!(RecallHandle::decode(&URL_SAFE.encode("v1 a b c d extra")).is_ok());
        // Unpadded, as Java's decoder also takes.
        let unpadded = URL_SAFE
            .encode("v1 a b c de")
            .trim_end_matches('=')
            .to_owned();
        assert_eq!(RecallHandle::decode(&unpadded).unwrap().msg_id, "de");
        // Trailing spaces leave fewer than five items, as in Java.
        assert!(RecallHandle::decode(&URL_SAFE.encode("v1 a b c ")).is_err());
        for bad in [
            String::new(),
            "%%%".into(),
            URL_SAFE.encode("v2 a b c d"),
            URL_SAFE.encode("v1 a b c"),
        ] {
            assert!(RecallHandle::decode(&bad).is_err(), "{bad}");
        }
    }
}

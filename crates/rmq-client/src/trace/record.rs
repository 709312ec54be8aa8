//! One message trace record, as Java encodes it (Java: `TraceBean`, `TraceContext`,
//! `TraceDataEncoder.encoderFromContextBean`, `TraceConstants`).

use std::fmt::Write as _;

use rmq_common::ByteString;

/// Between the fields of a record (Java: `TraceConstants.CONTENT_SPLITOR`, `(char) 1`).
pub const CONTENT_SEPARATOR: char = '\u{1}';
/// After each record (Java: `TraceConstants.FIELD_SPLITOR`, `(char) 2`).
pub const RECORD_SEPARATOR: char = '\u{2}';

/// Java's `MessageType`, whose ordinal a trace record carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceMessageType {
    /// `Normal_Msg` (0).
    Normal = 0,
    /// `Trans_Msg_Half` (1).
    TransHalf = 1,
    /// `Trans_msg_Commit` (2).
    TransCommit = 2,
    /// `Delay_Msg` (3).
    Delay = 3,
    /// `Order_Msg` (4).
    Order = 4,
}

impl TraceMessageType {
    fn from_ordinal(ordinal: &str) -> Option<Self> {
        Some(match ordinal {
            "0" => TraceMessageType::Normal,
            "1" => TraceMessageType::TransHalf,
            "2" => TraceMessageType::TransCommit,
            "3" => TraceMessageType::Delay,
            "4" => TraceMessageType::Order,
            _ => return None,
        })
    }
}

/// What a `Pub` record says of one send attempt that the broker answered (Java: a
/// `TraceContext` of type `Pub` with its one `TraceBean`). Read the trace topic's messages
/// with [`decode_pub_records`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PubRecord {
    /// When the attempt began, ms since the epoch.
    pub timestamp: i64,
    /// The broker's region (`MSG_REGION` of its answer).
    pub region_id: ByteString,
    /// The producer group, without namespace.
    pub group: ByteString,
    /// The topic, without namespace.
    pub topic: ByteString,
    /// The message id (`UNIQ_KEY`; a batch's ids joined by `,`).
    pub msg_id: ByteString,
    /// `TAGS`, if any (Java writes `null` when there are none).
    pub tags: Option<ByteString>,
    /// `KEYS`, if any, space-separated (`null` when none).
    pub keys: Option<ByteString>,
    /// The broker address the attempt went to.
    pub store_host: ByteString,
    /// The body length as sent (compressed when compressed).
    pub body_length: usize,
    /// The attempt's duration, ms (Java computes it from wall-clock time, so a record may
    /// carry a negative one).
    pub cost_ms: i64,
    /// The message's type.
    pub msg_type: TraceMessageType,
    /// The broker's offset message id, if it gave one.
    pub offset_msg_id: Option<ByteString>,
    /// Whether the broker answered `SEND_OK`.
    pub success: bool,
}

impl PubRecord {
    /// Appends the record, separator included (Java: `encoderFromContextBean`, case `Pub`).
    pub fn encode_into(&self, out: &mut String) {
        let c = CONTENT_SEPARATOR;
        let null = |v: &Option<ByteString>| v.clone().unwrap_or(ByteString::from_static("null"));
        let _ = write!(
            out,
            "Pub{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{c}{}{RECORD_SEPARATOR}",
            self.timestamp,
            self.region_id,
            self.group,
            self.topic,
            self.msg_id,
            null(&self.tags),
            null(&self.keys),
            self.store_host,
            self.body_length,
            self.cost_ms,
            self.msg_type as i32,
            null(&self.offset_msg_id),
            self.success,
        );
    }

    /// The keys the trace message is found by (Java: `TraceTransferBean.transKey`): the
    /// message id and each of the message's keys.
    pub(crate) fn keys_into(&self, keys: &mut Vec<String>) {
        keys.push(self.msg_id.to_string());
        if let Some(own) = &self.keys {
            keys.extend(own.split(' ').filter(|k| !k.is_empty()).map(str::to_owned));
        }
    }
}

/// A trace record that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed Pub trace record: {0}")]
pub struct TraceDecodeError(String);

/// Reads the `Pub` records of a trace message's body, skipping other record types (Java:
/// `TraceDataEncoder.decoderFromTraceDataString`): records end with [`RECORD_SEPARATOR`],
/// fields are separated by [`CONTENT_SEPARATOR`]; 13 fields is the format before
/// `offsetMsgId`, 14 the current one, a 15th (a client host) is ignored.
///
/// # Errors
///
/// A `Pub` record with too few fields or a number that does not parse.
///
/// ```
/// let data = "Pub\u{1}1700000000000\u{1}DefaultRegion\u{1}pg\u{1}TopicTest\u{1}ID\u{1}null\u{1}null\u{1}127.0.0.1:10911\u{1}5\u{1}1\u{1}0\u{1}OFFSETID\u{1}true\u{2}";
/// let records = rmq_client::decode_pub_records(data).unwrap();
/// assert_eq!(records[0].topic, "TopicTest");
/// assert_eq!(records[0].tags, None);
/// assert!(records[0].success);
/// ```
pub fn decode_pub_records(data: &str) -> Result<Vec<PubRecord>, TraceDecodeError> {
    let mut records = Vec::new();
    for record in data.split(RECORD_SEPARATOR) {
        let mut line: Vec<&str> = record.split(CONTENT_SEPARATOR).collect();
        // Java's `split` drops trailing empty strings.
        while line.last().is_some_and(|f| f.is_empty()) {
            line.pop();
        }
        if line.first() != Some(&"Pub") {
            continue;
        }
        let bad = |what: &str| TraceDecodeError(format!("{what} in {record:?}"));
        if line.len() < 13 {
            return Err(bad("fewer than 13 fields"));
        }
        let (offset_msg_id, success) = match line.len() {
            13 => (None, line[12]),
            _ => (Some(line[12]), line[13]),
        };
        let text = |f: &str| (f != "null").then(|| ByteString::from(f));
        records.push(PubRecord {
            timestamp: line[1].parse().map_err(|_| bad("timestamp"))?,
            region_id: ByteString::from(line[2]),
            group: ByteString::from(line[3]),
            topic: ByteString::from(line[4]),
            msg_id: ByteString::from(line[5]),
            tags: text(line[6]),
            keys: text(line[7]),
            store_host: ByteString::from(line[8]),
            body_length: line[9].parse().map_err(|_| bad("body length"))?,
            cost_ms: line[10].parse().map_err(|_| bad("cost time"))?,
            msg_type: TraceMessageType::from_ordinal(line[11])
                .ok_or_else(|| bad("message type"))?,
            offset_msg_id: offset_msg_id.and_then(text),
            success: success.eq_ignore_ascii_case("true"),
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn java_example() -> PubRecord {
        PubRecord {
            timestamp: 1_700_000_000_000,
            region_id: "DefaultRegion".into(),
            group: "ProducerGroupA".into(),
            topic: "TopicTest".into(),
            msg_id: "AC11000100A418B4AAC2869C1D8E0000".into(),
            tags: Some("TagA".into()),
            keys: Some("K1 K2".into()),
            store_host: "192.168.0.10:10911".into(),
            body_length: 11,
            cost_ms: 3,
            msg_type: TraceMessageType::Normal,
            offset_msg_id: Some("C0A8000A00002A9F0000000000000F2C".into()),
            success: true,
        }
    }

    /// The record Java 4.9.8 and 5.3.3 encode for these values (worked from
    /// `TraceDataEncoder.encoderFromContextBean`, and the layout `TraceDataEncoderTest`
    /// builds).
    #[test]
    fn records_decode_as_javas_decoder_reads_them() {
        let mut out = String::new();
        java_example().encode_into(&mut out);
        java_example().encode_into(&mut out);
        assert_eq!(
            decode_pub_records(&out).expect("decodes"),
            [java_example(), java_example()]
        );
        // The format before `offsetMsgId`: 13 fields.
        let old =
            "Pub\u{1}1\u{1}R\u{1}G\u{1}T\u{1}ID\u{1}A\u{1}K\u{1}H\u{1}5\u{1}1\u{1}0\u{1}false\u{2}";
        let decoded = decode_pub_records(old).expect("decodes");
        assert_eq!(
            (decoded[0].offset_msg_id.clone(), decoded[0].success),
            (None, false)
        );
        // Other record types are skipped; broken ones are errors, never panics.
        assert!(
            decode_pub_records("SubBefore\u{1}x\u{2}")
                .expect("skipped")
                .is_empty()
        );
        for bad in [
            "Pub\u{1}1\u{2}",
            "Pub\u{1}x\u{1}R\u{1}G\u{1}T\u{1}ID\u{1}A\u{1}K\u{1}H\u{1}5\u{1}1\u{1}0\u{1}true\u{2}",
        ] {
            assert!(decode_pub_records(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pub_record_is_javas() {
        let mut out = String::new();
        java_example().encode_into(&mut out);
        assert_eq!(
            out,
            "Pub\u{1}1700000000000\u{1}DefaultRegion\u{1}ProducerGroupA\u{1}TopicTest\u{1}\
             AC11000100A418B4AAC2869C1D8E0000\u{1}TagA\u{1}K1 K2\u{1}192.168.0.10:10911\u{1}11\
             \u{1}3\u{1}0\u{1}C0A8000A00002A9F0000000000000F2C\u{1}true\u{2}"
        );
        let mut keys = Vec::new();
        java_example().keys_into(&mut keys);
        assert_eq!(keys, ["AC11000100A418B4AAC2869C1D8E0000", "K1", "K2"]);
    }

    #[test]
    fn missing_tags_keys_and_offset_id_are_javas_null() {
        let mut record = java_example();
        record.tags = None;
        record.keys = None;
        record.offset_msg_id = None;
        record.msg_type = TraceMessageType::TransHalf;
        record.success = false;
        let mut out = String::new();
        record.encode_into(&mut out);
        assert!(out.contains("\u{1}null\u{1}null\u{1}"), "{out:?}");
        let decoded = decode_pub_records(&out).expect("decodes");
        assert_eq!(decoded, [record.clone()]);
        let mut keys = Vec::new();
        record.keys_into(&mut keys);
        assert_eq!(keys, ["AC11000100A418B4AAC2869C1D8E0000"]);
    }
}

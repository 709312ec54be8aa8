//! Messages as a broker stores and returns them: the commit-log record that `VIEW_MESSAGE_BY_ID`
//! answers with and `CHECK_TRANSACTION_STATE` carries (protocol.md §5.3).
//!
//! Java: `MessageDecoder.decode` / `MessageDecoder.encode`, `CommitLog` record layout.
//!
//! The input comes off the network, so decoding checks every length against the bytes that
//! are there and against the record's own declared size, and never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;

use crate::compression::{CompressionError, CompressionType};
use crate::message_id::OffsetMessageId;
use crate::properties::Properties;
use crate::sysflag;

/// `MESSAGE_MAGIC_CODE`: a one-byte topic length.
pub const MAGIC_CODE_V1: u32 = 0xDAA3_20A7;
/// `MESSAGE_MAGIC_CODE_V2`: a two-byte topic length (5.x, for topics over 127 bytes).
pub const MAGIC_CODE_V2: u32 = 0xDAA3_20AB;

/// Why a stored message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoredMessageError {
    /// The input ends inside a field.
    #[error("stored message truncated in {field}: need {need} bytes at {at}, have {have}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Where the field starts.
        at: usize,
        /// The bytes the field needs.
        need: usize,
        /// The bytes the record has.
        have: usize,
    },
    /// The magic code is neither V1 nor V2.
    #[error("unknown stored message magic code {0:#010X}")]
    BadMagic(u32),
    /// TOTALSIZE disagrees with the input or with the fields it frames.
    #[error("stored message declares {declared} bytes but {actual} were found")]
    SizeMismatch {
        /// TOTALSIZE.
        declared: i64,
        /// The input length, or where the last field ended.
        actual: usize,
    },
    /// A length field is negative.
    #[error("negative {field} length {len}")]
    NegativeLength {
        /// The field.
        field: &'static str,
        /// The value found.
        len: i32,
    },
    /// A field is longer than its length field can say (encoding).
    #[error("{field} is {len} bytes, more than a stored message can hold")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// The topic or the properties are not UTF-8.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// A host's port is outside 0–65535.
    #[error("invalid port {port} in {field}")]
    InvalidPort {
        /// BORNHOST or STOREHOST.
        field: &'static str,
        /// The value found.
        port: i32,
    },
}

/// One stored message, fields in record order (Java: `MessageExt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// TOTALSIZE: the record's length in bytes, this field included.
    pub total_size: i32,
    /// MAGICCODE ([`MAGIC_CODE_V1`] or [`MAGIC_CODE_V2`]).
    pub magic_code: u32,
    /// BODYCRC: `CRC32(body) & 0x7FFFFFFF`, of the body as stored.
    pub body_crc: i32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG: the user flag.
    pub flag: i32,
    /// QUEUEOFFSET: the message's offset in its consume queue.
    pub queue_offset: i64,
    /// PHYSICALOFFSET: the record's commit-log offset.
    pub commit_log_offset: i64,
    /// SYSFLAG (compression, transaction, IPv6 hosts).
    pub sys_flag: i32,
    /// BORNTIMESTAMP in ms.
    pub born_timestamp: i64,
    /// BORNHOST: the producer's address as the broker saw it.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP in ms.
    pub store_timestamp: i64,
    /// STOREHOST: the broker's address.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED_TRANSACTION_OFFSET.
    pub prepared_transaction_offset: i64,
    /// The body exactly as stored: compressed when `sys_flag` says so.
    pub body: Bytes,
    /// The topic.
    pub topic: String,
    /// The properties (UNIQ_KEY, TAGS, KEYS, ...).
    pub properties: Properties,
}

impl StoredMessage {
    /// The broker-side id of this message: store host plus commit-log offset (Java:
    /// `MessageExt.msgId` as `MessageDecoder.decode` sets it).
    pub fn offset_msg_id(&self) -> OffsetMessageId {
        OffsetMessageId {
            addr: self.store_host,
            offset: self.commit_log_offset,
        }
    }

    /// Whether `body_crc` matches the stored body.
    pub fn body_crc_matches(&self) -> bool {
        body_crc(&self.body) == self.body_crc
    }

    /// The body as the producer handed it over: decompressed when the compressed flag is set,
    /// with the algorithm from the `sysFlag` type bits; never more than `max_len` bytes.
    ///
    /// # Errors
    ///
    /// An unknown algorithm, corrupt data, or a body over `max_len`.
    pub fn uncompressed_body(&self, max_len: usize) -> Result<Bytes, CompressionError> {
        if self.sys_flag & sysflag::COMPRESSED_FLAG == 0 {
            return Ok(self.body.clone());
        }
        let kind = CompressionType::from_sys_flag(self.sys_flag)?;
        kind.decompress(&self.body, max_len).map(Bytes::from)
    }
}

impl StoredMessage {
    /// The record as a broker writes it (Java: `MessageDecoder.encode`): TOTALSIZE from the
    /// fields, the V1 magic code unless the topic needs V2's two-byte length, the host
    /// flags of `sys_flag` set from the addresses, properties without a trailing separator.
    /// `total_size` and `magic_code` are recomputed; `body_crc` is written as it is.
    ///
    /// # Errors
    ///
    /// [`StoredMessageError::TooLong`] for a topic over 32 767 bytes, properties over 32 767
    /// bytes, or a record over 2 GiB: their length fields cannot say so.
    ///
    /// ```
    /// use rmq_common::stored::{StoredMessage, decode_stored_message};
    /// # fn demo(msg: StoredMessage) -> Result<(), rmq_common::stored::StoredMessageError> {
    /// let bytes = msg.encode()?;
    /// assert_eq!(decode_stored_message(&bytes)?.body, msg.body);
    /// # Ok(()) }
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, StoredMessageError> {
        let mut sys_flag =
            self.sys_flag & !(sysflag::BORNHOST_V6_FLAG | sysflag::STOREHOSTADDRESS_V6_FLAG);
        if self.born_host.is_ipv6() {
            sys_flag |= sysflag::BORNHOST_V6_FLAG;
        }
        if self.store_host.is_ipv6() {
            sys_flag |= sysflag::STOREHOSTADDRESS_V6_FLAG;
        }
        let properties = self
            .properties
            .encode(crate::properties::SeparatorStyle::NoTrailing);
        let topic = self.topic.as_bytes();
        let too_long = |field, len| StoredMessageError::TooLong { field, len };
        let topic_len = i16::try_from(topic.len()).map_err(|_| too_long("TOPIC", topic.len()))?;
        let properties_len = i16::try_from(properties.len())
            .map_err(|_| too_long("PROPERTIES", properties.len()))?;
        let body_len =
            i32::try_from(self.body.len()).map_err(|_| too_long("BODY", self.body.len()))?;
        let v2 = topic.len() > i8::MAX as usize;
        let mut out = Vec::with_capacity(128 + self.body.len() + topic.len() + properties.len());
        out.extend_from_slice(&0i32.to_be_bytes());
        let magic = if v2 { MAGIC_CODE_V2 } else { MAGIC_CODE_V1 };
        out.extend_from_slice(&magic.to_be_bytes());
        for field in [self.body_crc, self.queue_id, self.flag] {
            out.extend_from_slice(&field.to_be_bytes());
        }
        out.extend_from_slice(&self.queue_offset.to_be_bytes());
        out.extend_from_slice(&self.commit_log_offset.to_be_bytes());
        out.extend_from_slice(&sys_flag.to_be_bytes());
        out.extend_from_slice(&self.born_timestamp.to_be_bytes());
        put_host(&mut out, self.born_host);
        out.extend_from_slice(&self.store_timestamp.to_be_bytes());
        put_host(&mut out, self.store_host);
        out.extend_from_slice(&self.reconsume_times.to_be_bytes());
        out.extend_from_slice(&self.prepared_transaction_offset.to_be_bytes());
        out.extend_from_slice(&body_len.to_be_bytes());
        out.extend_from_slice(&self.body);
        if v2 {
            out.extend_from_slice(&topic_len.to_be_bytes());
        } else {
            // At most 127: the V1 layout's one-byte length.
            out.push(topic.len() as u8);
        }
        out.extend_from_slice(topic);
        out.extend_from_slice(&properties_len.to_be_bytes());
        out.extend_from_slice(properties.as_bytes());
        let total = i32::try_from(out.len()).map_err(|_| too_long("record", out.len()))?;
        out[..4].copy_from_slice(&total.to_be_bytes());
        Ok(out)
    }

    /// The message as a consumer reads it: topic, body as stored (see
    /// [`uncompressed_body`](Self::uncompressed_body)), flag and properties.
    ///
    /// ```
    /// # fn demo(stored: rmq_common::stored::StoredMessage) {
    /// let msg = stored.into_message();
    /// println!("{} {:?}", msg.topic(), msg.uniq_key());
    /// # }
    /// ```
    pub fn into_message(self) -> crate::Message {
        let mut msg = crate::Message::new(self.topic, self.body);
        msg.set_flag(self.flag);
        *msg.properties_mut() = self.properties;
        msg
    }
}

/// Decodes the records a broker sends back to back (PULL_MESSAGE and QUERY_MESSAGE bodies),
/// each framed by its TOTALSIZE.
///
/// Java: `MessageDecoder.decodes`
///
/// # Errors
///
/// The first record that does not decode, or a TOTALSIZE that is negative or runs past the
/// input.
///
/// ```
/// use rmq_common::stored::decode_stored_messages;
/// assert_eq!(decode_stored_messages(&[]).unwrap().len(), 0);
/// assert!(decode_stored_messages(&[0, 0, 0, 99]).is_err());
/// ```
pub fn decode_stored_messages(mut buf: &[u8]) -> Result<Vec<StoredMessage>, StoredMessageError> {
    let mut records = Vec::new();
    while !buf.is_empty() {
        let mut r = Reader { buf, pos: 0 };
        let size = r.i32("TOTALSIZE")?;
        let len = usize::try_from(size)
            .ok()
            .filter(|len| *len <= buf.len())
            .ok_or(StoredMessageError::SizeMismatch {
                declared: i64::from(size),
                actual: buf.len(),
            })?;
        records.push(decode_stored_message(&buf[..len])?);
        buf = &buf[len..];
    }
    Ok(records)
}

/// BODYCRC of `body` as a broker computes it: `CRC32(body) & 0x7FFFFFFF` (Java:
/// `UtilAll.crc32`).
///
/// ```
/// // vectors.md V57.
/// assert_eq!(rmq_common::stored::body_crc(b"Hello RocketMQ"), 1_774_740_973);
/// ```
pub fn body_crc(body: &[u8]) -> i32 {
    let mut crc = flate2::Crc::new();
    crc.update(body);
    (crc.sum() & 0x7FFF_FFFF) as i32
}

fn put_host(out: &mut Vec<u8>, host: SocketAddr) {
    match host.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&i32::from(host.port()).to_be_bytes());
}

/// A bounds-checked big-endian reader over one record.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], StoredMessageError> {
        let truncated = StoredMessageError::Truncated {
            field,
            at: self.pos,
            need: n,
            have: self.buf.len(),
        };
        let end = self.pos.checked_add(n).ok_or(truncated.clone())?;
        let slice = self.buf.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], StoredMessageError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, StoredMessageError> {
        self.array(field).map(i32::from_be_bytes)
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, StoredMessageError> {
        self.array(field).map(i64::from_be_bytes)
    }

    fn len(&mut self, field: &'static str, width: usize) -> Result<usize, StoredMessageError> {
        let len = match width {
            1 => i32::from(i8::from_be_bytes(self.array(field)?)),
            2 => i32::from(i16::from_be_bytes(self.array(field)?)),
            _ => self.i32(field)?,
        };
        usize::try_from(len).map_err(|_| StoredMessageError::NegativeLength { field, len })
    }

    fn host(&mut self, field: &'static str, v6: bool) -> Result<SocketAddr, StoredMessageError> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>(field)?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>(field)?))
        };
        let port = self.i32(field)?;
        let port =
            u16::try_from(port).map_err(|_| StoredMessageError::InvalidPort { field, port })?;
        Ok(SocketAddr::new(ip, port))
    }
}

/// Decodes one stored message. `buf` must hold exactly one record: TOTALSIZE must equal both
/// `buf.len()` and the end of the last field.
///
/// Java: `MessageDecoder.decode(byteBuffer, readBody = true, deCompressBody = false)`
///
/// # Errors
///
/// [`StoredMessageError`] for a truncated or inconsistent record; nothing is trusted beyond
/// the bytes given.
///
/// ```
/// use rmq_common::stored::{StoredMessageError, decode_stored_message};
/// assert!(matches!(
///     decode_stored_message(&[0, 0, 0, 8, 0xDA, 0xA3, 0x20, 0xA7]),
///     Err(StoredMessageError::Truncated { field: "BODYCRC", .. })
/// ));
/// ```
pub fn decode_stored_message(buf: &[u8]) -> Result<StoredMessage, StoredMessageError> {
    let mut r = Reader { buf, pos: 0 };
    let total_size = r.i32("TOTALSIZE")?;
    if usize::try_from(total_size).ok() != Some(buf.len()) {
        return Err(StoredMessageError::SizeMismatch {
            declared: i64::from(total_size),
            actual: buf.len(),
        });
    }
    let magic_code = u32::from_be_bytes(r.array("MAGICCODE")?);
    let topic_len_width = match magic_code {
        MAGIC_CODE_V1 => 1,
        MAGIC_CODE_V2 => 2,
        other => return Err(StoredMessageError::BadMagic(other)),
    };
    let body_crc = r.i32("BODYCRC")?;
    let queue_id = r.i32("QUEUEID")?;
    let flag = r.i32("FLAG")?;
    let queue_offset = r.i64("QUEUEOFFSET")?;
    let commit_log_offset = r.i64("PHYSICALOFFSET")?;
    let sys_flag = r.i32("SYSFLAG")?;
    let born_timestamp = r.i64("BORNTIMESTAMP")?;
    let born_host = r.host("BORNHOST", sys_flag & sysflag::BORNHOST_V6_FLAG != 0)?;
    let store_timestamp = r.i64("STORETIMESTAMP")?;
    let store_host = r.host(
        "STOREHOST",
        sys_flag & sysflag::STOREHOSTADDRESS_V6_FLAG != 0,
    )?;
    let reconsume_times = r.i32("RECONSUMETIMES")?;
    let prepared_transaction_offset = r.i64("PREPARED_TRANSACTION_OFFSET")?;
    let body_len = r.len("BODY length", 4)?;
    let body = Bytes::copy_from_slice(r.take("BODY", body_len)?);
    let topic_len = r.len("TOPIC length", topic_len_width)?;
    let topic = std::str::from_utf8(r.take("TOPIC", topic_len)?)
        .map_err(|_| StoredMessageError::InvalidUtf8("TOPIC"))?
        .to_owned();
    let properties_len = r.len("PROPERTIES length", 2)?;
    let properties = std::str::from_utf8(r.take("PROPERTIES", properties_len)?)
        .map_err(|_| StoredMessageError::InvalidUtf8("PROPERTIES"))?;
    if r.pos != buf.len() {
        return Err(StoredMessageError::SizeMismatch {
            declared: i64::from(total_size),
            actual: r.pos,
        });
    }
    Ok(StoredMessage {
        total_size,
        magic_code,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties: Properties::decode(properties),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_hex::unhex;

    /// vectors.md V57: the CHECK_TRANSACTION_STATE body of a 4.9.8 broker.
    const V57: &str = "000000BDDAA320A769C865ED0000000100000000000000000000002A0000000012345678000000000000018BCFE56800C0A801640000D4310000018BCFE5687BC0A8002F00002A9F0000000000000000000000000000000E48656C6C6F20526F636B65744D5109546F70696354657374004B5452414E5F4D5347017472756502554E49515F4B4559014330413830313634313233343138423441414332303735424344313530303031025047524F555001706702574149540174727565";

    #[test]
    fn encode_gives_back_v57() {
        let bytes = unhex(V57);
        let msg = decode_stored_message(&bytes).unwrap();
        assert_eq!(msg.encode().unwrap(), bytes);
        let two = [bytes.clone(), bytes.clone()].concat();
        assert_eq!(decode_stored_messages(&two).unwrap().len(), 2);
        let mut long = msg.clone();
        long.topic = "t".repeat(40_000);
        assert!(matches!(
            long.encode(),
            Err(StoredMessageError::TooLong { field: "TOPIC", .. })
        ));
    }

    #[test]
    fn decodes_v57() {
        let m = decode_stored_message(&unhex(V57)).unwrap();
        assert_eq!(m.total_size, 189);
        assert_eq!(m.magic_code, MAGIC_CODE_V1);
        assert_eq!(m.body_crc, 1_774_740_973);
        assert!(m.body_crc_matches());
        assert_eq!((m.queue_id, m.flag, m.queue_offset), (1, 0, 42));
        assert_eq!(m.commit_log_offset, 305_419_896);
        assert_eq!(m.sys_flag, 0);
        assert_eq!(m.born_timestamp, 1_700_000_000_000);
        assert_eq!(m.born_host.to_string(), "192.168.1.100:54321");
        assert_eq!(m.store_timestamp, 1_700_000_000_123);
        assert_eq!(m.store_host.to_string(), "192.168.0.47:10911");
        assert_eq!((m.reconsume_times, m.prepared_transaction_offset), (0, 0));
        assert_eq!(&m.body[..], b"Hello RocketMQ");
        assert_eq!(m.topic, "TopicTest");
        assert_eq!(
            m.properties.get("UNIQ_KEY"),
            Some("C0A80164123418B4AAC2075BCD150001")
        );
        assert_eq!(m.properties.get("PGROUP"), Some("pg"));
        assert_eq!(m.properties.get("TRAN_MSG"), Some("true"));
        assert_eq!(m.properties.get("WAIT"), Some("true"));
        assert_eq!(
            m.offset_msg_id().encode(),
            "C0A8002F00002A9F0000000012345678"
        );
        assert_eq!(&m.uncompressed_body(1024).unwrap()[..], b"Hello RocketMQ");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let full = unhex(V57);
        for len in 0..full.len() {
            let mut cut = full[..len].to_vec();
            // Keep TOTALSIZE consistent so the field checks, not the size check, are reached.
            if len >= 4 {
                cut[..4].copy_from_slice(&(len as i32).to_be_bytes());
            }
            assert!(decode_stored_message(&cut).is_err(), "{len} bytes decoded");
        }
    }

    #[test]
    fn inconsistent_records_are_refused() {
        let full = unhex(V57);
        let mut longer = full.clone();
        longer.push(0);
        assert!(matches!(
            decode_stored_message(&longer),
            Err(StoredMessageError::SizeMismatch {
                declared: 189,
                actual: 190
            })
        ));
        longer[..4].copy_from_slice(&190i32.to_be_bytes());
        assert!(matches!(
            decode_stored_message(&longer),
            Err(StoredMessageError::SizeMismatch { actual: 189, .. })
        ));
        let mut magic = full.clone();
        magic[7] = 0;
        assert_eq!(
            decode_stored_message(&magic),
            Err(StoredMessageError::BadMagic(0xDAA3_2000))
        );
        let mut body_len = full.clone();
        body_len[84..88].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(matches!(
            decode_stored_message(&body_len),
            Err(StoredMessageError::NegativeLength { len: -1, .. })
        ));
        body_len[84..88].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(
            decode_stored_message(&body_len),
            Err(StoredMessageError::Truncated { field: "BODY", .. })
        ));
        let mut port = full;
        port[52..56].copy_from_slice(&70_000i32.to_be_bytes());
        assert!(matches!(
            decode_stored_message(&port),
            Err(StoredMessageError::InvalidPort { port: 70_000, .. })
        ));
    }

    #[test]
    fn compressed_body_is_inflated_with_its_algorithm() {
        let original = b"stored stored stored stored".repeat(100);
        let mut record = unhex(V57);
        let packed = CompressionType::Zstd.compress(&original, 3).unwrap();
        // Rebuild the record around the new body: header up to BODY, body, then the rest.
        let tail = record.split_off(88 + 14);
        record.truncate(84);
        record.extend_from_slice(&(packed.len() as i32).to_be_bytes());
        record.extend_from_slice(&packed);
        record.extend_from_slice(&tail);
        let size = record.len() as i32;
        record[..4].copy_from_slice(&size.to_be_bytes());
        let flag = sysflag::COMPRESSED_FLAG | CompressionType::Zstd.compression_flag();
        record[36..40].copy_from_slice(&flag.to_be_bytes());
        let m = decode_stored_message(&record).unwrap();
        assert_eq!(&m.uncompressed_body(1 << 20).unwrap()[..], &original[..]);
        assert!(m.uncompressed_body(10).is_err());
    }
}

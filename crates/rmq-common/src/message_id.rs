//! Message identifiers: the client-side `UNIQ_KEY` (the "msgId" users see) and the
//! broker-side offset message id.
//!
//! Java: `MessageClientIDSetter`, `MessageDecoder.createMessageId` / `decodeMessageId`,
//! `UtilAll.bytes2string` / `string2bytes`.

use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Datelike, Local, NaiveDate, TimeZone, Utc};

use crate::address;

/// Why a message id could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageIdError {
    /// The id is neither 32 (IPv4) nor 56 (IPv6) hex characters long.
    #[error("a message id must be 32 or 56 hex characters, got {len}")]
    InvalidLength {
        /// The length that was found.
        len: usize,
    },
    /// A character is not a hex digit.
    #[error("invalid hex character at index {index} of a message id")]
    InvalidHex {
        /// Byte index of the offending character.
        index: usize,
    },
    /// The port field of an offset message id is outside 0–65535.
    #[error("invalid port {0} in an offset message id")]
    InvalidPort(i32),
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `bytes` as upper-case hex, like `UtilAll.bytes2string`.
fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 0x0F)]));
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decodes hex of either case into `out`, whose length must be half of `s`'s.
fn decode_hex(s: &str, out: &mut [u8]) -> Result<(), MessageIdError> {
    for (i, (pair, byte)) in s.as_bytes().chunks_exact(2).zip(out.iter_mut()).enumerate() {
        let hi = hex_value(pair[0]).ok_or(MessageIdError::InvalidHex { index: 2 * i })?;
        let lo = hex_value(pair[1]).ok_or(MessageIdError::InvalidHex { index: 2 * i + 1 })?;
        *byte = (hi << 4) | lo;
    }
    Ok(())
}

fn ip_octets(ip: IpAddr) -> ([u8; 16], usize) {
    let mut buf = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => {
            buf[..4].copy_from_slice(&v4.octets());
            (buf, 4)
        }
        IpAddr::V6(v6) => (v6.octets(), 16),
    }
}

/// An address from 4 (IPv4) or 16 (IPv6) bytes; callers pass one of those two lengths.
fn ip_from(bytes: &[u8]) -> IpAddr {
    match <[u8; 16]>::try_from(bytes) {
        Ok(v6) => IpAddr::V6(Ipv6Addr::from(v6)),
        Err(_) => {
            let mut v4 = [0u8; 4];
            let n = bytes.len().min(4);
            v4[..n].copy_from_slice(&bytes[..n]);
            IpAddr::V4(Ipv4Addr::from(v4))
        }
    }
}

/// The time field: `(int)(now − month start)`, with a small negative diff (an NTP step back
/// of under 1000 s) clamped to 0, then read as the unsigned 32 bits written on the wire.
fn time_diff(month_start_ms: i64, now_ms: i64) -> u32 {
    let mut diff = now_ms.wrapping_sub(month_start_ms) as i32;
    if diff < 0 && diff > -1_000_000 {
        diff = 0;
    }
    diff as u32
}

/// Writes `ip | pid | hash` in hex: the fixed prefix of every id (`FIX_STRING`).
fn uniq_prefix(ip: IpAddr, pid: u16, class_loader_hash: u32) -> String {
    let (octets, len) = ip_octets(ip);
    let mut prefix = String::with_capacity(2 * (len + 6));
    push_hex(&mut prefix, &octets[..len]);
    push_hex(&mut prefix, &pid.to_be_bytes());
    push_hex(&mut prefix, &class_loader_hash.to_be_bytes());
    prefix
}

fn uniq_id_from_prefix(prefix: &str, diff: u32, counter: u32) -> String {
    let mut id = String::with_capacity(prefix.len() + 12);
    id.push_str(prefix);
    push_hex(&mut id, &diff.to_be_bytes());
    // Java writes the low 16 bits of its int counter.
    push_hex(&mut id, &(counter as u16).to_be_bytes());
    id
}

/// Builds one `UNIQ_KEY` from explicit parts: the deterministic core of
/// [`UniqIdGenerator::next_id`].
///
/// Java: `MessageClientIDSetter.createUniqID`
///
/// ```
/// use std::net::{IpAddr, Ipv4Addr};
/// use rmq_common::message_id::encode_uniq_id;
///
/// let ip = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 100));
/// let start = 1_709_251_200_000;
/// let id = encode_uniq_id(ip, 0x1234, 0x18B4_AAC2, start, start + 123_456_789, 1);
/// assert_eq!(id, "C0A80164123418B4AAC2075BCD150001");
/// ```
pub fn encode_uniq_id(
    ip: IpAddr,
    pid: u16,
    class_loader_hash: u32,
    month_start_ms: i64,
    now_ms: i64,
    counter: u32,
) -> String {
    let prefix = uniq_prefix(ip, pid, class_loader_hash);
    uniq_id_from_prefix(&prefix, time_diff(month_start_ms, now_ms), counter)
}

/// The current time in epoch milliseconds (0 if the clock is before 1970).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Start of the month containing `now_ms` and start of the next month, in epoch ms, for the
/// time zone `tz` (day 1, 00:00:00.000 local time, like `Calendar`).
pub(crate) fn month_bounds<Tz: TimeZone>(tz: &Tz, now_ms: i64) -> Option<(i64, i64)> {
    let local = tz.timestamp_millis_opt(now_ms).earliest()?.naive_local();
    let first = NaiveDate::from_ymd_opt(local.year(), local.month(), 1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let to_ms = |date: NaiveDate| -> Option<i64> {
        let midnight = date.and_hms_opt(0, 0, 0)?;
        // A midnight skipped by a DST change does not exist; Java's lenient Calendar then
        // lands on the end of the gap, which is 01:00 for the usual one-hour gap.
        let instant = tz.from_local_datetime(&midnight).earliest().or_else(|| {
            let after_gap = midnight.checked_add_signed(chrono::TimeDelta::hours(1))?;
            tz.from_local_datetime(&after_gap).earliest()
        })?;
        Some(instant.timestamp_millis())
    };
    Some((to_ms(first)?, to_ms(next)?))
}

/// Local-time month bounds with a UTC fallback, and a last resort that keeps ids flowing.
fn local_month_bounds(now_ms: i64) -> (i64, i64) {
    month_bounds(&Local, now_ms)
        .or_else(|| month_bounds(&Utc, now_ms))
        .unwrap_or((now_ms, i64::MAX))
}

/// Bits of a packed month that hold its length in seconds (up to 194 days).
const MONTH_LEN_BITS: u32 = 24;

/// Packs month bounds into one word, so they are read and written atomically together: the
/// start in epoch seconds in the high 40 bits (signed), the length in seconds in the low 24.
/// `None` for bounds that do not fit (never for real clocks); those are then not cached.
fn pack_month(start_ms: i64, next_ms: i64) -> Option<i64> {
    if start_ms % 1000 != 0 || next_ms % 1000 != 0 {
        return None;
    }
    let start = start_ms / 1000;
    let len = next_ms.checked_sub(start_ms)? / 1000;
    let fits_start = start.unsigned_abs() < 1 << (63 - MONTH_LEN_BITS);
    let fits_len = (0..1 << MONTH_LEN_BITS).contains(&len);
    (fits_start && fits_len).then_some((start << MONTH_LEN_BITS) | len)
}

/// The inverse of [`pack_month`]: `(month start, next month start)` in epoch ms.
fn unpack_month(packed: i64) -> (i64, i64) {
    let start = (packed >> MONTH_LEN_BITS) * 1000;
    let len = (packed & ((1 << MONTH_LEN_BITS) - 1)) * 1000;
    (start, start + len)
}

/// Generates `UNIQ_KEY` ids: `ip | pid | classLoaderHash | timeDiff | counter` in upper-case
/// hex (32 characters for IPv4, 56 for IPv6).
///
/// Lock-free: the month bounds are cached in one atomic word (recomputed when the clock
/// passes the next month start) and the counter is an atomic that wraps in its low 16 bits.
///
/// Java: `MessageClientIDSetter`
///
/// ```
/// use rmq_common::UniqIdGenerator;
///
/// let id = UniqIdGenerator::global().next_id();
/// assert!(id.len() == 32 || id.len() == 56);
/// assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()));
/// ```
#[derive(Debug)]
pub struct UniqIdGenerator {
    prefix: String,
    /// The cached month, see [`pack_month`].
    month: AtomicI64,
    counter: AtomicU32,
}

impl UniqIdGenerator {
    /// A generator for this process: the IP from [`address::unique_id_ip`], the pid truncated
    /// to 16 bits, and a random per-process value in place of the JVM class-loader hash.
    ///
    /// Java uses `MessageClientIDSetter.class.getClassLoader().hashCode()`, an identity hash
    /// with no meaning to readers; a per-process random value keeps two processes with the
    /// same IP and (truncated) pid from producing the same ids.
    ///
    /// ```
    /// let generator = rmq_common::UniqIdGenerator::new();
    /// assert_ne!(generator.next_id(), generator.next_id());
    /// ```
    pub fn new() -> Self {
        let hash = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
        Self::with_parts(
            address::unique_id_ip(),
            std::process::id() as u16,
            hash as u32,
        )
    }

    /// A generator with fixed parts, for tests and embedding.
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use rmq_common::UniqIdGenerator;
    ///
    /// let generator = UniqIdGenerator::with_parts(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 100)), 0x1234, 0x18B4_AAC2);
    /// assert!(generator.next_id().starts_with("C0A80164123418B4AAC2"));
    /// ```
    pub fn with_parts(ip: IpAddr, pid: u16, class_loader_hash: u32) -> Self {
        UniqIdGenerator {
            prefix: uniq_prefix(ip, pid, class_loader_hash),
            // An empty month in the distant past: the first call computes the real one.
            month: AtomicI64::new(i64::MIN),
            counter: AtomicU32::new(0),
        }
    }

    /// The process-wide generator, created on first use.
    ///
    /// ```
    /// let a = rmq_common::UniqIdGenerator::global();
    /// assert!(std::ptr::eq(a, rmq_common::UniqIdGenerator::global()));
    /// ```
    pub fn global() -> &'static UniqIdGenerator {
        static GLOBAL: OnceLock<UniqIdGenerator> = OnceLock::new();
        GLOBAL.get_or_init(UniqIdGenerator::new)
    }

    /// The fixed `ip | pid | hash` hex prefix shared by all ids of this generator.
    ///
    /// ```
    /// let generator = rmq_common::UniqIdGenerator::global();
    /// assert!(generator.next_id().starts_with(generator.prefix()));
    /// ```
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A new id for the current time.
    ///
    /// Java: `MessageClientIDSetter.createUniqID`
    ///
    /// ```
    /// let id = rmq_common::UniqIdGenerator::global().next_id();
    /// assert!(rmq_common::message_id::decode_uniq_id(&id).is_ok());
    /// ```
    pub fn next_id(&self) -> String {
        self.next_id_at(now_ms())
    }

    /// A new id as if the clock read `now_ms` (month bounds in the local time zone).
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    ///
    /// let generator = rmq_common::UniqIdGenerator::with_parts(IpAddr::V4(Ipv4Addr::LOCALHOST), 1, 2);
    /// let a = generator.next_id_at(1_709_251_200_000);
    /// let b = generator.next_id_at(1_709_251_200_000);
    /// assert_eq!(a[..a.len() - 4], b[..b.len() - 4]);
    /// assert_ne!(a, b);
    /// ```
    pub fn next_id_at(&self, now_ms: i64) -> String {
        let (mut month_start, next_month_start) = unpack_month(self.month.load(Ordering::Relaxed));
        // Like Java, recompute only once the clock passes the next month start. Threads racing
        // here each store a whole month, so readers never mix the bounds of two months.
        if now_ms >= next_month_start {
            let (start, next) = local_month_bounds(now_ms);
            if let Some(packed) = pack_month(start, next) {
                self.month.store(packed, Ordering::Relaxed);
            }
            month_start = start;
        }
        let counter = self.counter.fetch_add(1, Ordering::Relaxed);
        uniq_id_from_prefix(&self.prefix, time_diff(month_start, now_ms), counter)
    }
}

impl Default for UniqIdGenerator {
    fn default() -> Self {
        Self::new()
    }
}

/// The parts of a `UNIQ_KEY`.
///
/// Java: `MessageClientIDSetter.getIPFromID`, `getPidFromID`, `getNearlyTimeFromID`
///
/// ```
/// use rmq_common::message_id::decode_uniq_id;
///
/// let id = decode_uniq_id("C0A80164123418B4AAC2075BCD150001").unwrap();
/// assert_eq!(id.ip.to_string(), "192.168.1.100");
/// assert_eq!(id.pid, 4660);
/// assert_eq!(id.time_diff, 123_456_789);
/// assert_eq!(id.counter, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecodedUniqId {
    /// The producer's address (IPv6 when the id is 56 characters long).
    pub ip: IpAddr,
    /// The producer's pid, truncated to 16 bits.
    pub pid: u16,
    /// The class-loader hash (any per-process value for non-Java clients).
    pub class_loader_hash: u32,
    /// Milliseconds since the start of the producer's month, unsigned.
    pub time_diff: u32,
    /// The low 16 bits of the producer's counter.
    pub counter: u16,
}

impl DecodedUniqId {
    /// The approximate creation time: the current month start plus the time field, or the
    /// previous month start plus it when that would not be in the past.
    ///
    /// Java: `MessageClientIDSetter.getNearlyTimeFromID`
    ///
    /// ```
    /// use rmq_common::message_id::decode_uniq_id;
    ///
    /// let id = decode_uniq_id("C0A80164123418B4AAC2075BCD150001").unwrap();
    /// let (prev, start) = (1_706_745_600_000, 1_709_251_200_000);
    /// assert_eq!(id.nearly_time_ms(start + 200_000_000, start, prev), start + 123_456_789);
    /// assert_eq!(id.nearly_time_ms(start + 1_000, start, prev), prev + 123_456_789);
    /// ```
    pub fn nearly_time_ms(
        &self,
        now_ms: i64,
        month_start_ms: i64,
        prev_month_start_ms: i64,
    ) -> i64 {
        let span = i64::from(self.time_diff);
        if month_start_ms.saturating_add(span) >= now_ms {
            prev_month_start_ms.saturating_add(span)
        } else {
            month_start_ms.saturating_add(span)
        }
    }

    /// [`DecodedUniqId::nearly_time_ms`] with the month bounds of the local time zone, which
    /// is what a Java reader assumes.
    ///
    /// ```
    /// use rmq_common::message_id::decode_uniq_id;
    ///
    /// let id = decode_uniq_id("C0A80164123418B4AAC2000000000000").unwrap();
    /// let now = 1_709_251_200_000 + 86_400_000 * 3;
    /// assert!(id.nearly_time_local_ms(now) <= now);
    /// ```
    pub fn nearly_time_local_ms(&self, now_ms: i64) -> i64 {
        let (start, _) = local_month_bounds(now_ms);
        let (prev, _) = local_month_bounds(start.saturating_sub(1));
        self.nearly_time_ms(now_ms, start, prev)
    }
}

/// Decodes a `UNIQ_KEY` of either hex case (the Go client writes lower case).
///
/// Java: `UtilAll.string2bytes` plus the `MessageClientIDSetter` getters
///
/// # Errors
///
/// [`MessageIdError::InvalidLength`] unless 32 or 56 characters,
/// [`MessageIdError::InvalidHex`] for a non-hex character.
///
/// ```
/// use rmq_common::message_id::decode_uniq_id;
///
/// let id = decode_uniq_id("c0a80164123418b4aac2075bcd150001").unwrap();
/// assert_eq!(id.counter, 1);
/// assert!(decode_uniq_id("C0A8").is_err());
/// ```
pub fn decode_uniq_id(id: &str) -> Result<DecodedUniqId, MessageIdError> {
    let ip_len = match id.len() {
        32 => 4,
        56 => 16,
        len => return Err(MessageIdError::InvalidLength { len }),
    };
    let mut buf = [0u8; 28];
    let bytes = &mut buf[..id.len() / 2];
    decode_hex(id, bytes)?;
    let (ip, rest) = bytes.split_at(ip_len);
    Ok(DecodedUniqId {
        ip: ip_from(ip),
        pid: u16::from_be_bytes([rest[0], rest[1]]),
        class_loader_hash: u32::from_be_bytes([rest[2], rest[3], rest[4], rest[5]]),
        time_diff: u32::from_be_bytes([rest[6], rest[7], rest[8], rest[9]]),
        counter: u16::from_be_bytes([rest[10], rest[11]]),
    })
}

/// The broker's message id: store host address and commit-log offset.
///
/// Java: `MessageDecoder.createMessageId` / `decodeMessageId` (`MessageId`)
///
/// ```
/// use rmq_common::OffsetMessageId;
///
/// let id = OffsetMessageId::decode("C0A8002F00002A9F0000000012345678").unwrap();
/// assert_eq!(id.addr.to_string(), "192.168.0.47:10911");
/// assert_eq!(id.offset, 0x1234_5678);
/// assert_eq!(id.encode(), "C0A8002F00002A9F0000000012345678");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OffsetMessageId {
    /// The store host (IPv4 or IPv6) and port.
    pub addr: SocketAddr,
    /// The commit-log offset.
    pub offset: i64,
}

impl OffsetMessageId {
    /// `ip(4 or 16) | port(int32) | offset(int64)` as upper-case hex.
    ///
    /// Java: `MessageDecoder.createMessageId`
    ///
    /// ```
    /// use rmq_common::OffsetMessageId;
    ///
    /// let id = OffsetMessageId { addr: "127.0.0.1:9103".parse().unwrap(), offset: 123456 };
    /// assert_eq!(id.encode(), "7F0000010000238F000000000001E240");
    /// ```
    pub fn encode(&self) -> String {
        let (octets, len) = ip_octets(self.addr.ip());
        let mut out = String::with_capacity(2 * (len + 12));
        push_hex(&mut out, &octets[..len]);
        push_hex(&mut out, &i32::from(self.addr.port()).to_be_bytes());
        push_hex(&mut out, &self.offset.to_be_bytes());
        out
    }

    /// Decodes a 32-character (IPv4) or 56-character (IPv6) id of either hex case.
    ///
    /// Java: `MessageDecoder.decodeMessageId`
    ///
    /// # Errors
    ///
    /// [`MessageIdError::InvalidLength`], [`MessageIdError::InvalidHex`], or
    /// [`MessageIdError::InvalidPort`] when the port field is outside 0–65535.
    ///
    /// ```
    /// use rmq_common::OffsetMessageId;
    ///
    /// let id = OffsetMessageId::decode("645100FA00002A9F000000489A3AA09E").unwrap();
    /// assert_eq!(id.addr.to_string(), "100.81.0.250:10911");
    /// assert_eq!(id.offset, 311_825_178_782);
    /// ```
    pub fn decode(id: &str) -> Result<Self, MessageIdError> {
        let ip_len = match id.len() {
            32 => 4,
            56 => 16,
            len => return Err(MessageIdError::InvalidLength { len }),
        };
        let mut buf = [0u8; 28];
        let bytes = &mut buf[..id.len() / 2];
        decode_hex(id, bytes)?;
        let (ip, rest) = bytes.split_at(ip_len);
        let port = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let port = u16::try_from(port).map_err(|_| MessageIdError::InvalidPort(port))?;
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&rest[4..12]);
        Ok(OffsetMessageId {
            addr: SocketAddr::new(ip_from(ip), port),
            offset: i64::from_be_bytes(offset),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    const START: i64 = 1_709_251_200_000;
    const HASH: u32 = 0x18B4_AAC2;

    fn v4() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 168, 1, 100))
    }

    fn v6() -> IpAddr {
        "2408:4004:180:8100:3faa:1dde:2b3f:898a".parse().unwrap()
    }

    #[test]
    fn v20_uniq_key_ipv4() {
        let id = encode_uniq_id(v4(), 0x1234, HASH, START, START + 123_456_789, 1);
        assert_eq!(id, "C0A80164123418B4AAC2075BCD150001");
    }

    #[test]
    fn v21_counter_wraps_to_16_bits() {
        let now = START + 123_456_789;
        assert_eq!(
            encode_uniq_id(v4(), 0x1234, HASH, START, now, 65535),
            "C0A80164123418B4AAC2075BCD15FFFF"
        );
        assert_eq!(
            encode_uniq_id(v4(), 0x1234, HASH, START, now, 65536),
            "C0A80164123418B4AAC2075BCD150000"
        );
    }

    #[test]
    fn v22_time_field_overflows_late_in_month() {
        let id = encode_uniq_id(v4(), 0x1234, HASH, START, START + 2_500_000_000, 7);
        assert_eq!(id, "C0A80164123418B4AAC29502F9000007");
        let decoded = decode_uniq_id(&id).unwrap();
        assert_eq!(decoded.time_diff, 2_500_000_000);
        let prev = START - 29 * 86_400_000;
        assert_eq!(
            decoded.nearly_time_ms(START + 2_600_000_000, START, prev),
            START + 2_500_000_000
        );
    }

    #[test]
    fn v23_small_negative_diff_clamps_to_zero() {
        let id = encode_uniq_id(v4(), 0x1234, HASH, START, START - 500, 7);
        assert_eq!(id, "C0A80164123418B4AAC2000000000007");
        // Exactly −1 000 000 ms is outside the clamp.
        assert_eq!(time_diff(START, START - 1_000_000), (-1_000_000i32) as u32);
        assert_eq!(time_diff(START, START - 999_999), 0);
    }

    #[test]
    fn v24_pid_truncated_to_short() {
        let generator = UniqIdGenerator::with_parts(v4(), 70000u32 as u16, HASH);
        assert_eq!(generator.prefix(), "C0A80164117018B4AAC2");
        let id = encode_uniq_id(v4(), 70000u32 as u16, HASH, START, START, 0);
        assert_eq!(id, "C0A80164117018B4AAC2000000000000");
        assert_eq!(decode_uniq_id(&id).unwrap().pid, 4464);
    }

    #[test]
    fn v25_uniq_key_ipv6() {
        let id = encode_uniq_id(v6(), 0x1234, HASH, START, START + 123_456_789, 1);
        assert_eq!(
            id,
            "24084004018081003FAA1DDE2B3F898A123418B4AAC2075BCD150001"
        );
        assert_eq!(id.len(), 56);
    }

    #[test]
    fn v26_uniq_key_decode() {
        let id = decode_uniq_id("C0A80164123418B4AAC2075BCD150001").unwrap();
        assert_eq!(id.ip, v4());
        assert_eq!(id.pid, 4660);
        assert_eq!(id.class_loader_hash, HASH);
        assert_eq!(id.counter, 1);
        assert_eq!(
            id.nearly_time_ms(START + 200_000_000, START, START - 1),
            START + 123_456_789
        );
        let lower = decode_uniq_id("c0a80164123418b4aac2075bcd150001").unwrap();
        assert_eq!(lower, id);
        let id6 =
            decode_uniq_id("24084004018081003FAA1DDE2B3F898A123418B4AAC2075BCD150001").unwrap();
        assert_eq!(id6.ip, v6());
        assert_eq!(id6.time_diff, 123_456_789);
    }

    #[test]
    fn decode_rejects_bad_ids() {
        assert_eq!(
            decode_uniq_id("C0A8"),
            Err(MessageIdError::InvalidLength { len: 4 })
        );
        assert_eq!(
            decode_uniq_id("C0A80164123418B4AAC2075BCD15000G"),
            Err(MessageIdError::InvalidHex { index: 31 })
        );
        // Multi-byte characters never panic on the pair split.
        assert!(decode_uniq_id("ééééééééééééééééC0A8016412341234").is_err());
    }

    #[test]
    fn v27_offset_msg_id_create() {
        let id = OffsetMessageId {
            addr: "127.0.0.1:9103".parse().unwrap(),
            offset: 123456,
        };
        assert_eq!(id.encode(), "7F0000010000238F000000000001E240");
        assert_eq!(OffsetMessageId::decode(&id.encode()).unwrap(), id);

        let id6 = OffsetMessageId {
            addr: "[::1]:0".parse().unwrap(),
            offset: 123456,
        };
        assert_eq!(
            id6.encode(),
            "0000000000000000000000000000000100000000000000000001E240"
        );
        assert_eq!(OffsetMessageId::decode(&id6.encode()).unwrap(), id6);
    }

    #[test]
    fn v28_offset_msg_id_decode() {
        let rows = [
            (
                "645100FA00002A9F000000489A3AA09E",
                "100.81.0.250:10911",
                311_825_178_782,
            ),
            (
                "24084004018081003FAA1DDE2B3F898A00002A9F0000000000000CA0",
                "[2408:4004:180:8100:3faa:1dde:2b3f:898a]:10911",
                3232,
            ),
            (
                "C0A8002F00002A9F0000000012345678",
                "192.168.0.47:10911",
                305_419_896,
            ),
        ];
        for (input, addr, offset) in rows {
            let id = OffsetMessageId::decode(input).unwrap();
            assert_eq!(id.addr, addr.parse::<SocketAddr>().unwrap());
            assert_eq!(id.offset, offset);
            assert_eq!(id.encode(), input);
        }
        assert_eq!(
            OffsetMessageId::decode("C0A8002FFFFFFFFF0000000012345678"),
            Err(MessageIdError::InvalidPort(-1))
        );
        assert!(OffsetMessageId::decode("").is_err());
    }

    #[test]
    fn packed_month_round_trips() {
        let next = 1_711_929_600_000;
        let packed = pack_month(START, next).unwrap();
        assert_eq!(unpack_month(packed), (START, next));
        let (start, end) = unpack_month(i64::MIN);
        assert_eq!(start, end);
        assert!(end < -500_000_000_000_000); // about 15 000 BC
        assert_eq!(pack_month(START + 1, next), None);
        assert_eq!(pack_month(START, i64::MAX), None);
        assert_eq!(pack_month(next, START), None);
    }

    #[test]
    fn month_bounds_in_utc() {
        // 2024-03-01T00:00:00Z .. 2024-04-01T00:00:00Z
        assert_eq!(
            month_bounds(&Utc, START + 123_456_789),
            Some((START, 1_711_929_600_000))
        );
        assert_eq!(month_bounds(&Utc, START), Some((START, 1_711_929_600_000)));
        // December rolls over into January of the next year.
        let dec = 1_733_011_200_000; // 2024-12-01T00:00:00Z
        assert_eq!(month_bounds(&Utc, dec + 5), Some((dec, 1_735_689_600_000)));
    }

    #[test]
    fn month_bounds_in_fixed_offset() {
        let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        // 2024-03-01T00:00:00+08:00 is 2024-02-29T16:00:00Z.
        let start = START - 8 * 3_600_000;
        assert_eq!(month_bounds(&tz, START).map(|b| b.0), Some(start));
    }

    #[test]
    fn generator_uses_local_month_and_counter() {
        let generator = UniqIdGenerator::with_parts(v4(), 0x1234, HASH);
        let (start, _) = local_month_bounds(START + 123_456_789);
        let first = generator.next_id_at(START + 123_456_789);
        assert_eq!(
            first,
            encode_uniq_id(v4(), 0x1234, HASH, start, START + 123_456_789, 0)
        );
        let second = generator.next_id_at(START + 123_456_789);
        assert!(second.ends_with("0001"));
        // Crossing into the next month recomputes the bounds.
        let (_, next) = local_month_bounds(START + 123_456_789);
        let later = generator.next_id_at(next + 5);
        assert_eq!(decode_uniq_id(&later).unwrap().time_diff, 5);
    }

    #[test]
    fn generator_is_thread_safe_and_unique() {
        let generator = Arc::new(UniqIdGenerator::with_parts(v4(), 1, 2));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let generator = Arc::clone(&generator);
                std::thread::spawn(move || {
                    (0..1000)
                        .map(|_| generator.next_id_at(START))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for handle in handles {
            for id in handle.join().unwrap() {
                assert!(seen.insert(id));
            }
        }
        assert_eq!(seen.len(), 4000);
    }

    #[test]
    fn real_generator_round_trips() {
        let generator = UniqIdGenerator::new();
        let id = generator.next_id();
        let decoded = decode_uniq_id(&id).unwrap();
        assert_eq!(decoded.pid, std::process::id() as u16);
        // Java's reader picks the previous month when start + diff >= now, so read a bit later.
        let now = now_ms() + 1_000;
        let approx = decoded.nearly_time_local_ms(now);
        assert!((0..60_000).contains(&(now - approx)), "{now} vs {approx}");
    }
}

//! The ROCKETMQ binary header (Java: `RocketMQSerializable`).
//!
//! ```text
//! int16 code | int8 language | int16 version | int32 opaque | int32 flag
//! int32 remarkLen, remark | int32 extLen, { int16 keyLen, key, int32 valLen, value }*
//! ```
//!
//! A zero length is `null` (so empty strings cannot be carried), and no length may exceed the
//! header. Ext entries are written in the map's order, which for the send headers is the fixed
//! `FastCodesHeader` order.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use super::CodecError;
use crate::{ExtFields, LanguageCode, RemotingCommand, SerializeType};

/// Appends the binary header of `cmd`, in one pass over its fields: the ext-length word is
/// patched in afterwards, so a [`FastHeader`](crate::header::FastHeader) formats its fields
/// once.
pub(super) fn encode_header(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
    let code = to_i16("code", cmd.code())?;
    let version = to_i16("version", cmd.version())?;
    let remark = cmd.remark().unwrap_or_default().as_bytes();
    let remark_len = to_i32("remark length", remark.len())?;

    let start = dst.len();
    // Room for a send header without regrowing.
    dst.reserve(FIXED_LEN + remark.len() + 512);
    let mut fixed = [0u8; FIXED_LEN - 4];
    fixed[0..2].copy_from_slice(&code.to_be_bytes());
    fixed[2] = cmd.language().code();
    fixed[3..5].copy_from_slice(&version.to_be_bytes());
    fixed[5..9].copy_from_slice(&cmd.opaque().to_be_bytes());
    fixed[9..13].copy_from_slice(&cmd.flag().to_be_bytes());
    fixed[13..17].copy_from_slice(&remark_len.to_be_bytes());
    dst.extend_from_slice(&fixed);
    dst.extend_from_slice(remark);
    let ext_len_at = dst.len();
    dst.extend_from_slice(&[0; 4]);

    let mut too_long = None;
    if let Some(ext) = cmd.ext_fields() {
        ext.for_each_present(|key, value| {
            if key.len() > i16::MAX as usize {
                too_long.get_or_insert(("ext key length", key.len(), "int16"));
                return;
            }
            if value.len() > i32::MAX as usize {
                too_long.get_or_insert(("ext value length", value.len(), "int32"));
                return;
            }
            append_field(dst, key.as_bytes(), value.as_bytes());
        });
    }
    if let Some((field, len, width)) = too_long {
        dst.truncate(start);
        return Err(CodecError::ValueOutOfRange {
            field,
            value: len as i64,
            width,
        });
    }
    let ext_len = match to_i32("ext length", dst.len() - ext_len_at - 4) {
        Ok(len) => len,
        Err(e) => {
            dst.truncate(start);
            return Err(e);
        }
    };
    dst[ext_len_at..ext_len_at + 4].copy_from_slice(&ext_len.to_be_bytes());
    Ok(())
}

/// Appends one ext entry (lengths already range-checked).
#[inline]
fn append_field(dst: &mut BytesMut, key: &[u8], value: &[u8]) {
    dst.extend_from_slice(&(key.len() as i16).to_be_bytes());
    dst.extend_from_slice(key);
    dst.extend_from_slice(&(value.len() as i32).to_be_bytes());
    dst.extend_from_slice(value);
}

/// The header's fixed part: code, language, version, opaque, flag, remark and ext lengths.
const FIXED_LEN: usize = 2 + 1 + 2 + 4 + 4 + 4 + 4;

fn to_i16(field: &'static str, value: i32) -> Result<i16, CodecError> {
    i16::try_from(value).map_err(|_| CodecError::ValueOutOfRange {
        field,
        value: i64::from(value),
        width: "int16",
    })
}

fn to_i32(field: &'static str, value: usize) -> Result<i32, CodecError> {
    i32::try_from(value).map_err(|_| CodecError::ValueOutOfRange {
        field,
        value: value as i64,
        width: "int32",
    })
}

/// A bounds-checked reader over the header bytes.
struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn need(&self, field: &'static str, needed: usize) -> Result<(), CodecError> {
        if self.remaining() < needed {
            return Err(CodecError::Truncated {
                field,
                needed,
                remaining: self.remaining(),
            });
        }
        Ok(())
    }

    fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], CodecError> {
        self.need(field, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(out)
    }

    fn i16(&mut self, field: &'static str) -> Result<i16, CodecError> {
        self.fixed::<2>(field).map(i16::from_be_bytes)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, CodecError> {
        self.fixed::<4>(field).map(i32::from_be_bytes)
    }

    /// A length-prefixed string; zero length is `null`, as Java's `readStr`.
    fn string(&mut self, field: &'static str, len: i32) -> Result<Option<ByteString>, CodecError> {
        let len =
            usize::try_from(len).map_err(|_| CodecError::NegativeLength { field, length: len })?;
        if len == 0 {
            return Ok(None);
        }
        self.need(field, len)?;
        let bytes = self.buf.slice(self.pos..self.pos + len);
        self.pos += len;
        ByteString::try_from(bytes)
            .map(Some)
            .map_err(|_| CodecError::InvalidUtf8 { field })
    }
}

/// How many entries the encoded ext fields hold, counted from their lengths alone, so the map
/// is allocated once at its size (a guess from the byte length over-allocates the usual
/// header several times). Stops at the first inconsistent length, which decoding reports.
/// Entries without a key are not kept, so not counted, and the count is capped: a hostile
/// header cannot make the decoder reserve more than a usual one would.
pub(super) fn count_entries(buf: &[u8]) -> usize {
    let mut pos = 0;
    let mut count = 0;
    // `pos` stays below the buffer's length, so the sums below cannot overflow.
    while pos < buf.len() {
        let Some(key_len) = buf.get(pos..pos + 2) else {
            break;
        };
        let key_len = usize::from(u16::from_be_bytes([key_len[0], key_len[1]]) & 0x7FFF);
        let Some(value_len) = buf.get(pos + 2 + key_len..pos + 6 + key_len) else {
            break;
        };
        let value_len =
            i32::from_be_bytes([value_len[0], value_len[1], value_len[2], value_len[3]]);
        let Ok(value_len) = usize::try_from(value_len) else {
            break;
        };
        pos = pos + 6 + key_len + value_len;
        if key_len > 0 {
            count += 1;
            if count == MAX_RESERVED_ENTRIES {
                break;
            }
        }
    }
    count
}

/// The most entries reserved up front; a longer header grows its map as it decodes.
const MAX_RESERVED_ENTRIES: usize = 64;

/// Decodes a binary header; strings are shared with `header`'s buffer.
pub(super) fn decode_header(header: &Bytes) -> Result<RemotingCommand, CodecError> {
    let mut r = Reader {
        buf: header,
        pos: 0,
    };
    let code = i32::from(r.i16("code")?);
    let [language] = r.fixed::<1>("language")?;
    let version = i32::from(r.i16("version")?);
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = r.i32("remark length")?;
    let remark = r.string("remark", remark_len)?;
    let ext_len = r.i32("ext length")?;
    // Java reads ext fields only when the length is positive; zero or less means none.
    let ext_fields = match usize::try_from(ext_len) {
        Ok(ext_len) if ext_len > 0 => {
            r.need("ext fields", ext_len)?;
            let ext_buf = header.slice(r.pos..r.pos + ext_len);
            Some(decode_ext(&ext_buf)?)
        }
        _ => None,
    };
    Ok(RemotingCommand::from_parts(
        code,
        LanguageCode::from_code(language).unwrap_or(LanguageCode::Other),
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        SerializeType::RocketMq,
    ))
}

fn decode_ext(buf: &Bytes) -> Result<ExtFields, CodecError> {
    let mut r = Reader { buf, pos: 0 };
    let mut ext = ExtFields::with_capacity(count_entries(buf));
    while r.remaining() > 0 {
        let key_len = i32::from(r.i16("ext key length")?);
        let key = r.string("ext key", key_len)?;
        let value_len = r.i32("ext value length")?;
        let value = r.string("ext value", value_len)?;
        // Java would map a zero-length (null) key; nothing meaningful can be looked up by it.
        if let Some(key) = key {
            ext.push_decoded(key, value);
        }
    }
    ext.finish_decode();
    Ok(ext)
}

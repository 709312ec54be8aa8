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

/// Appends the binary header of `cmd`.
///
/// The size is computed first so the header is written into place with plain slice copies: a
/// `BytesMut::put_*` per field costs a non-inlined call and a capacity check each.
pub(super) fn encode_header(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
    let code = to_i16("code", cmd.code())?;
    let version = to_i16("version", cmd.version())?;
    let remark = cmd.remark().unwrap_or_default().as_bytes();
    let remark_len = to_i32("remark length", remark.len())?;
    let mut ext_len = 0usize;
    let mut too_long = None;
    if let Some(ext) = cmd.ext_fields() {
        ext.for_each_present(|key, value| {
            if key.len() > i16::MAX as usize {
                too_long = Some(("ext key length", key.len(), "int16"));
            } else if value.len() > i32::MAX as usize {
                too_long = Some(("ext value length", value.len(), "int32"));
            }
            ext_len += 2 + key.len() + 4 + value.len();
        });
    }
    if let Some((field, len, width)) = too_long {
        return Err(CodecError::ValueOutOfRange {
            field,
            value: len as i64,
            width,
        });
    }
    let ext_len_word = to_i32("ext length", ext_len)?;

    let start = dst.len();
    dst.resize(start + FIXED_LEN + remark.len() + ext_len, 0);
    let mut w = SliceWriter {
        buf: &mut dst[start..],
        pos: 0,
        overflow: false,
    };
    w.put_array(code.to_be_bytes());
    w.put_array([cmd.language().code()]);
    w.put_array(version.to_be_bytes());
    w.put_array(cmd.opaque().to_be_bytes());
    w.put_array(cmd.flag().to_be_bytes());
    w.put_array(remark_len.to_be_bytes());
    w.put(remark);
    w.put_array(ext_len_word.to_be_bytes());
    if let Some(ext) = cmd.ext_fields() {
        ext.for_each_present(|key, value| {
            // Both lengths were range-checked above. A held header that wrote other fields
            // this time is caught below, not written past the space sized for it.
            w.put_array((key.len() as i16).to_be_bytes());
            w.put(key.as_bytes());
            w.put_array((value.len() as i32).to_be_bytes());
            w.put(value.as_bytes());
        });
    }
    if w.overflow || w.pos != w.buf.len() {
        dst.truncate(start);
        return Err(CodecError::UnstableHeader);
    }
    Ok(())
}

/// The header's fixed part: code, language, version, opaque, flag, remark and ext lengths.
const FIXED_LEN: usize = 2 + 1 + 2 + 4 + 4 + 4 + 4;

/// Writes into a buffer already sized to fit; what does not fit is noted, not written.
struct SliceWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
    overflow: bool,
}

impl SliceWriter<'_> {
    /// A fixed-size field: a plain store, where a slice of unknown length costs a `memcpy`
    /// call (a send header has 28 length words).
    #[inline]
    fn put_array<const N: usize>(&mut self, src: [u8; N]) {
        match self.buf.get_mut(self.pos..self.pos + N) {
            Some(dst) => {
                dst.copy_from_slice(&src);
                self.pos += N;
            }
            None => self.overflow = true,
        }
    }

    #[inline]
    fn put(&mut self, src: &[u8]) {
        match self.buf.get_mut(self.pos..self.pos + src.len()) {
            Some(dst) => {
                dst.copy_from_slice(src);
                self.pos += src.len();
            }
            None => self.overflow = true,
        }
    }
}

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
        count += 1;
    }
    count
}

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

//! The JSON header (Java: `RemotingSerializable`, fastjson 1.x `JSON.toJSONString` / `parseObject`).
//!
//! Encoding reproduces fastjson's bytes: properties in alphabetical order
//! (`code, extFields, flag, language, opaque, remark, serializeTypeCurrentRPC, version`), nulls
//! omitted, every ext value a string, fastjson's escapes. `serializeTypeCurrentRPC` is always
//! written: the rocketmq-rust servers close the connection on a header without it.
//!
//! Decoding is tolerant like fastjson: keys in any order, unknown keys ignored, `null` remark or
//! extFields, a missing field left at its default, numbers or booleans where a string is due.

use std::borrow::Cow;
use std::fmt;

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::{CodecError, share_str};
use crate::{ExtFields, LanguageCode, RemotingCommand, SerializeType};

/// How each byte is written inside a JSON string: 0 as is, 1 as a two-character escape,
/// 2 as `\u00XX`. fastjson also escapes U+007F..U+009F and U+2028/U+2029: those are
/// multi-byte in UTF-8 (`C2 80`..`C2 9F`, `E2 80 A8`/`E2 80 A9`) and handled where their lead
/// byte is seen (classes 3 and 4).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = 2;
        b += 1;
    }
    table[0x08] = 1;
    table[0x09] = 1;
    table[0x0A] = 1;
    table[0x0C] = 1;
    table[0x0D] = 1;
    table[b'"' as usize] = 1;
    table[b'\\' as usize] = 1;
    table[0x7F] = 2;
    table[0xC2] = 3;
    table[0xE2] = 4;
    table
};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `s` as a JSON string literal, escaped exactly as fastjson escapes it.
pub(super) fn write_json_string(dst: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    dst.reserve(bytes.len() + 2);
    dst.push(b'"');
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // (code point, UTF-8 width) of a character to write as `\uXXXX`.
        let unicode = match ESCAPE[usize::from(b)] {
            0 => None,
            1 => {
                dst.extend_from_slice(&bytes[run_start..i]);
                let escaped = match b {
                    0x08 => b'b',
                    0x09 => b't',
                    0x0A => b'n',
                    0x0C => b'f',
                    0x0D => b'r',
                    other => other,
                };
                dst.extend_from_slice(&[b'\\', escaped]);
                i += 1;
                run_start = i;
                continue;
            }
            2 => Some((u32::from(b), 1)),
            // U+0080..U+009F: the code point is the continuation byte's value.
            3 => match bytes.get(i + 1) {
                Some(&next @ 0x80..=0x9F) => Some((u32::from(next), 2)),
                _ => None,
            },
            _ => match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(0x80), Some(&last @ (0xA8 | 0xA9))) => {
                    Some((0x2000 | u32::from(last & 0x3F), 3))
                }
                _ => None,
            },
        };
        let Some((ch, width)) = unicode else {
            i += 1;
            continue;
        };
        dst.extend_from_slice(&bytes[run_start..i]);
        dst.extend_from_slice(&[
            b'\\',
            b'u',
            HEX_UPPER[(ch >> 12) as usize & 0xF],
            HEX_UPPER[(ch >> 8) as usize & 0xF],
            HEX_UPPER[(ch >> 4) as usize & 0xF],
            HEX_UPPER[ch as usize & 0xF],
        ]);
        i += width;
        run_start = i;
    }
    dst.extend_from_slice(&bytes[run_start..]);
    dst.push(b'"');
}

fn write_int(dst: &mut Vec<u8>, n: i32) {
    let mut buf = [0u8; 11];
    let mut pos = buf.len();
    let negative = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        pos -= 1;
        buf[pos] = b'-';
    }
    dst.extend_from_slice(&buf[pos..]);
}

/// Appends the JSON header of `cmd`.
///
/// Built in a local `Vec` and appended once: `Vec` writes inline, while each
/// `BytesMut::put_*` is a non-inlined call with its own capacity check.
pub(super) fn encode_header(cmd: &RemotingCommand, dst: &mut BytesMut) {
    let ext_len = cmd
        .ext_fields()
        .map_or(0, |ext| ext.text_len_hint() + 6 * 16);
    let mut out = Vec::with_capacity(160 + ext_len);
    out.extend_from_slice(b"{\"code\":");
    write_int(&mut out, cmd.code());
    if let Some(ext) = cmd.ext_fields() {
        out.extend_from_slice(b",\"extFields\":{");
        let mut first = true;
        ext.for_each_present(|key, value| {
            if !first {
                out.push(b',');
            }
            first = false;
            write_json_string(&mut out, key);
            out.push(b':');
            write_json_string(&mut out, value);
        });
        out.push(b'}');
    }
    out.extend_from_slice(b",\"flag\":");
    write_int(&mut out, cmd.flag());
    out.extend_from_slice(b",\"language\":\"");
    out.extend_from_slice(cmd.language().name().as_bytes());
    out.extend_from_slice(b"\",\"opaque\":");
    write_int(&mut out, cmd.opaque());
    if let Some(remark) = cmd.remark() {
        out.extend_from_slice(b",\"remark\":");
        write_json_string(&mut out, remark);
    }
    out.extend_from_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    write_int(&mut out, cmd.version());
    out.push(b'}');
    dst.extend_from_slice(&out);
}

/// Decodes a JSON header; strings without escapes are shared with `header`'s buffer.
pub(super) fn decode_header(header: &Bytes) -> Result<RemotingCommand, CodecError> {
    let mut de = serde_json::Deserializer::from_slice(header);
    let cmd = HeaderSeed { buf: header }
        .deserialize(&mut de)
        .map_err(CodecError::Json)?;
    de.end().map_err(CodecError::Json)?;
    Ok(cmd)
}

/// A string that borrows from the input when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v)))
    }
}

/// An ext value: a string, or (tolerated, as fastjson does) a number or boolean turned into
/// its text; `null` is a key without value.
struct ExtValue<'de>(Option<Cow<'de, str>>);

impl<'de> de::Deserialize<'de> for ExtValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ExtValueVisitor)
    }
}

struct ExtValueVisitor;

impl<'de> Visitor<'de> for ExtValueVisitor {
    type Value = ExtValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null ext field value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ExtValue(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ExtValue(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(ExtValue(Some(Cow::Owned(v))))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(ExtValue(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(ExtValue(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(ExtValue(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(ExtValue(Some(Cow::Borrowed(if v {
            "true"
        } else {
            "false"
        }))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ExtValue(None))
    }
}

fn to_byte_string(buf: &Bytes, text: Cow<'_, str>) -> ByteString {
    match text {
        Cow::Borrowed(s) => share_str(buf, s),
        Cow::Owned(s) => ByteString::from(s),
    }
}

/// `extFields`: an object, or `null`.
struct ExtSeed<'a> {
    buf: &'a Bytes,
}

impl<'de> DeserializeSeed<'de> for ExtSeed<'_> {
    type Value = Option<ExtFields>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ExtSeed<'_> {
    type Value = Option<ExtFields>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an extFields object or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // serde_json gives no size hint; 8 holds a response header without growing.
        let mut ext = ExtFields::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let ExtValue(value) = map.next_value::<ExtValue<'de>>()?;
            ext.push_decoded(
                to_byte_string(self.buf, key),
                value.map(|v| to_byte_string(self.buf, v)),
            );
        }
        ext.finish_decode();
        Ok(Some(ext))
    }
}

/// `language`: an enum name (unknown names decode as `OTHER`) or, tolerated, its number.
struct LanguageValue(LanguageCode);

impl<'de> de::Deserialize<'de> for LanguageValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LanguageValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a language name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LanguageValue(
                    LanguageCode::from_name(v).unwrap_or(LanguageCode::Other),
                ))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                let code = u8::try_from(v).ok().and_then(LanguageCode::from_code);
                Ok(LanguageValue(code.unwrap_or(LanguageCode::Other)))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LanguageValue(LanguageCode::Other))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(LanguageValue(LanguageCode::default()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The whole header object.
struct HeaderSeed<'a> {
    buf: &'a Bytes,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = RemotingCommand;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = RemotingCommand;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a RemotingCommand header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut code = 0;
        let mut language = LanguageCode::default();
        let mut version = 0;
        let mut opaque = 0;
        let mut flag = 0;
        let mut remark = None;
        let mut ext_fields = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match &*key {
                "code" => code = map.next_value::<Option<i32>>()?.unwrap_or_default(),
                "language" => language = map.next_value::<LanguageValue>()?.0,
                "version" => version = map.next_value::<Option<i32>>()?.unwrap_or_default(),
                "opaque" => opaque = map.next_value::<Option<i32>>()?.unwrap_or_default(),
                "flag" => flag = map.next_value::<Option<i32>>()?.unwrap_or_default(),
                "remark" => {
                    remark = map
                        .next_value::<Option<Text<'de>>>()?
                        .map(|Text(text)| to_byte_string(self.buf, text));
                }
                "extFields" => ext_fields = map.next_value_seed(ExtSeed { buf: self.buf })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(RemotingCommand::from_parts(
            code,
            language,
            version,
            opaque,
            flag,
            remark,
            ext_fields,
            SerializeType::Json,
        ))
    }
}

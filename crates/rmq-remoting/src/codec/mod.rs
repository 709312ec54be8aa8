//! Framing (Java: `NettyEncoder`, `NettyDecoder`, `RemotingCommand.encode/decode`).
//!
//! ```text
//! | int32 length | int32 (serializeType << 24 | headerLen) | header | body |
//! length = 4 + headerLen + bodyLen (it does not count itself)
//! ```
//!
//! [`FrameCodec`] is a `tokio_util` [`Decoder`]/[`Encoder`]; it does no I/O of its own, so it
//! tests without sockets. Decoding never allocates more than the configured maximum frame
//! length: a larger length prefix is an error before any buffer grows.

mod binary;
mod error;
mod json;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

pub use error::CodecError;

use crate::{RemotingCommand, SerializeType};

/// Java's default maximum frame length, 16 MiB, length prefix included
/// (Java: `com.rocketmq.remoting.frameMaxLength`).
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 16 * 1024 * 1024;

/// The largest header the 24-bit header-length field can describe.
pub const MAX_HEADER_LENGTH: usize = 0x00FF_FFFF;

/// Encodes and decodes whole frames (Java: `NettyEncoder` / `NettyDecoder`).
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::{Decoder, Encoder};
/// use rmq_remoting::{FrameCodec, RemotingCommand, code::request};
///
/// let mut codec = FrameCodec::default();
/// let mut buf = BytesMut::new();
/// codec.encode(RemotingCommand::request(request::HEART_BEAT).with_opaque(5), &mut buf).unwrap();
/// let cmd = codec.decode(&mut buf).unwrap().unwrap();
/// assert_eq!(cmd.opaque(), 5);
/// assert!(buf.is_empty());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct FrameCodec {
    max_frame_length: usize,
}

impl FrameCodec {
    /// A codec that rejects frames larger than `max_frame_length` bytes, length prefix
    /// included, on both decode and encode.
    pub fn new(max_frame_length: usize) -> Self {
        Self { max_frame_length }
    }

    /// The maximum frame length, length prefix included.
    pub fn max_frame_length(&self) -> usize {
        self.max_frame_length
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_LENGTH)
    }
}

impl Decoder for FrameCodec {
    type Item = RemotingCommand;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<RemotingCommand>, CodecError> {
        let Some(length) = src.get(..4) else {
            return Ok(None);
        };
        let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
        if length < 4 {
            return Err(CodecError::FrameTooShort(length));
        }
        // `length` is positive here, so widening it is lossless.
        let total = 4 + length as u64;
        if total > self.max_frame_length as u64 {
            return Err(CodecError::FrameTooLarge {
                length: total,
                max: self.max_frame_length,
            });
        }
        let total = total as usize;
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(total);
        frame.advance(4);
        decode_frame(frame.freeze()).map(Some)
    }
}

impl Encoder<RemotingCommand> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, cmd: RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.encode(&cmd, dst)
    }
}

impl Encoder<&RemotingCommand> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
        let start = dst.len();
        encode_frame(cmd, dst)?;
        let written = dst.len() - start;
        if written > self.max_frame_length {
            dst.truncate(start);
            return Err(CodecError::FrameTooLarge {
                length: written as u64,
                max: self.max_frame_length,
            });
        }
        Ok(())
    }
}

/// Appends `cmd` as a whole frame, length prefix included.
pub(crate) fn encode_frame(cmd: &RemotingCommand, dst: &mut BytesMut) -> Result<(), CodecError> {
    let start = dst.len();
    // Length and header-length words are patched in once the header's size is known, so the
    // header is serialized straight into the output buffer with no intermediate copy.
    dst.reserve(8 + 256 + cmd.body().len());
    dst.put_u64(0);
    let result = match cmd.serialize_type() {
        SerializeType::Json => {
            json::encode_header(cmd, dst);
            Ok(())
        }
        SerializeType::RocketMq => binary::encode_header(cmd, dst),
    };
    if let Err(e) = result {
        dst.truncate(start);
        return Err(e);
    }
    let header_len = dst.len() - start - 8;
    if header_len > MAX_HEADER_LENGTH {
        dst.truncate(start);
        return Err(CodecError::HeaderTooLarge(header_len));
    }
    let length = 4 + header_len + cmd.body().len();
    let Ok(length) = i32::try_from(length) else {
        dst.truncate(start);
        return Err(CodecError::FrameTooLarge {
            length: length as u64 + 4,
            max: i32::MAX as usize,
        });
    };
    // header_len fits 24 bits (checked above), so the shift cannot overflow.
    let word = (u32::from(cmd.serialize_type().code()) << 24) | header_len as u32;
    dst[start..start + 4].copy_from_slice(&length.to_be_bytes());
    dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
    dst.extend_from_slice(cmd.body());
    Ok(())
}

/// Decodes a frame without its length prefix.
pub(crate) fn decode_frame(mut frame: Bytes) -> Result<RemotingCommand, CodecError> {
    if frame.len() < 4 {
        return Err(CodecError::FrameTooShort(frame.len() as i32));
    }
    let word = frame.get_u32();
    let header_len = (word & MAX_HEADER_LENGTH as u32) as usize;
    let type_code = (word >> 24) as u8;
    if header_len > frame.len() {
        return Err(CodecError::HeaderTooLong {
            header_len,
            available: frame.len(),
        });
    }
    let header = frame.split_to(header_len);
    let mut cmd = match SerializeType::from_code(type_code) {
        Some(SerializeType::Json) => json::decode_header(&header)?,
        Some(SerializeType::RocketMq) => binary::decode_header(&header)?,
        None => return Err(CodecError::UnknownSerializeType(type_code)),
    };
    cmd.set_body(frame);
    Ok(cmd)
}

/// Shares a string slice of `buf` without copying when it lies inside `buf`, else copies it.
fn share_str(buf: &Bytes, s: &str) -> bytestring::ByteString {
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let start = s.as_ptr() as usize;
    if range.contains(&start) && start + s.len() <= range.end {
        match bytestring::ByteString::try_from(buf.slice_ref(s.as_bytes())) {
            Ok(shared) => shared,
            Err(_) => bytestring::ByteString::from(s),
        }
    } else {
        bytestring::ByteString::from(s)
    }
}

#[cfg(test)]
pub(crate) mod tests;

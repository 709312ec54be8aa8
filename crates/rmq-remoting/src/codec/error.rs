//! Why a frame could not be encoded or decoded.

/// A frame that cannot be encoded or decoded. After a decode error the connection's byte
/// stream is out of sync, so the connection must be closed (Java closes the channel too).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The length prefix announces a frame larger than the configured maximum.
    #[error("frame of {length} bytes exceeds the maximum frame length {max}")]
    FrameTooLarge {
        /// The frame's size including its 4-byte length prefix.
        length: u64,
        /// The configured maximum (Java: `com.rocketmq.remoting.frameMaxLength`).
        max: usize,
    },
    /// The length prefix is too small to hold even the header-length word.
    #[error("frame length {0} is too short: a frame holds at least a 4-byte header-length word")]
    FrameTooShort(i32),
    /// The header claims more bytes than the frame has.
    #[error("header length {header_len} exceeds the {available} bytes left in the frame")]
    HeaderTooLong {
        /// The header length from the header-length word.
        header_len: usize,
        /// The bytes the frame has after the header-length word.
        available: usize,
    },
    /// The header-length word names a serialization that does not exist.
    #[error("unknown header serialize type {0} (0 is JSON, 1 is ROCKETMQ)")]
    UnknownSerializeType(u8),
    /// A JSON header that is not valid JSON or has fields of the wrong type.
    #[error("malformed JSON header: {0}")]
    Json(#[source] serde_json::Error),
    /// A ROCKETMQ header that ends before one of its fields does.
    #[error("truncated ROCKETMQ header: {field} needs {needed} bytes but {remaining} remain")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the header.
        remaining: usize,
    },
    /// A ROCKETMQ header length field that is negative.
    #[error("negative length {length} for {field} in a ROCKETMQ header")]
    NegativeLength {
        /// The field being read.
        field: &'static str,
        /// The length found.
        length: i32,
    },
    /// A header string that is not UTF-8.
    #[error("{field} in the header is not valid UTF-8")]
    InvalidUtf8 {
        /// The field being read.
        field: &'static str,
    },
    /// A value that does not fit its binary field when encoding (e.g. code outside int16).
    #[error("{field} value {value} does not fit the ROCKETMQ header's {width}")]
    ValueOutOfRange {
        /// The field being written.
        field: &'static str,
        /// The value that does not fit.
        value: i64,
        /// The field's width, e.g. `"int16"`.
        width: &'static str,
    },
    /// An encoded header longer than the 24 bits of the header-length word allow.
    #[error("encoded header of {0} bytes exceeds the 16 MiB - 1 limit of the header-length word")]
    HeaderTooLarge(usize),
    /// I/O failure of the underlying transport (needed by `tokio_util`'s codec traits).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

//! Body compression: the three algorithms a producer may use, their `sysFlag` bits, and
//! bounded decompression.
//!
//! Java: `CompressionType`, `ZlibCompressor`, `Lz4Compressor`, `ZstdCompressor`,
//! `MessageSysFlag.getCompressionType`.

use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use crate::sysflag::{COMPRESSED_FLAG, COMPRESSION_TYPE_MASK};

/// The default compression level (system property `rocketmq.message.compressLevel`).
///
/// Java: `DefaultMQProducer.compressLevel`
pub const DEFAULT_COMPRESS_LEVEL: i32 = 5;

/// Bodies of at least this many bytes are compressed (the test is `>=`).
///
/// Java: `DefaultMQProducer.compressMsgBodyOverHowmuch`
pub const DEFAULT_COMPRESS_THRESHOLD: usize = 4096;

/// Why compressing, decompressing or naming an algorithm failed.
#[derive(Debug, thiserror::Error)]
pub enum CompressionError {
    /// The `sysFlag` type bits hold a value no client knows.
    #[error("Unknown compress type value: {0}")]
    UnknownType(i32),
    /// The algorithm name is not LZ4, ZSTD or ZLIB.
    #[error("Unsupported compress type name: {0}")]
    UnsupportedName(String),
    /// The level is outside what the algorithm accepts.
    #[error("invalid {kind} compression level {level}")]
    InvalidLevel {
        /// The algorithm.
        kind: CompressionType,
        /// The refused level.
        level: i32,
    },
    /// Decompression would produce more than the allowed number of bytes.
    #[error("decompressed data exceeds the limit of {max} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        max: usize,
    },
    /// The compressed input is malformed or truncated.
    #[error("corrupt {kind} data: {source}")]
    Corrupt {
        /// The algorithm.
        kind: CompressionType,
        /// What the decoder reported.
        #[source]
        source: io::Error,
    },
    /// The compressor itself failed.
    #[error("{kind} compression failed: {source}")]
    Compress {
        /// The algorithm.
        kind: CompressionType,
        /// What the encoder reported.
        #[source]
        source: io::Error,
    },
}

/// A body compression algorithm. The default is ZLIB, as in Java.
///
/// Java: `org.apache.rocketmq.common.compression.CompressionType`
///
/// ```
/// use rmq_common::CompressionType;
///
/// let kind: CompressionType = "zstd".parse().unwrap();
/// assert_eq!(kind, CompressionType::Zstd);
/// assert_eq!(kind.compression_flag(), 0x200);
/// let packed = kind.compress(b"hello hello hello", 5).unwrap();
/// assert_eq!(kind.decompress(&packed, 1024).unwrap(), b"hello hello hello");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CompressionType {
    /// RFC 1950 zlib stream (`java.util.zip.Deflater`).
    #[default]
    Zlib,
    /// Standard zstd frame (zstd-jni `ZstdOutputStream`).
    Zstd,
    /// LZ4 frame format (lz4-java `LZ4FrameOutputStream`); the level is ignored.
    Lz4,
}

impl CompressionType {
    /// The type value stored in `sysFlag` bits 8–10: LZ4 1, ZSTD 2, ZLIB 3.
    ///
    /// Java: `CompressionType.getValue`
    ///
    /// ```
    /// assert_eq!(rmq_common::CompressionType::Zlib.value(), 3);
    /// ```
    pub fn value(self) -> i32 {
        match self {
            CompressionType::Lz4 => 1,
            CompressionType::Zstd => 2,
            CompressionType::Zlib => 3,
        }
    }

    /// The `sysFlag` bits of this type: `value << 8`.
    ///
    /// Java: `CompressionType.getCompressionFlag`
    ///
    /// ```
    /// assert_eq!(rmq_common::CompressionType::Zlib.compression_flag(), 0x300);
    /// ```
    pub fn compression_flag(self) -> i32 {
        self.value() << 8
    }

    /// The type for a `sysFlag` type value; 0 means ZLIB (older producers set only bit 0).
    ///
    /// Java: `CompressionType.findByValue`
    ///
    /// # Errors
    ///
    /// [`CompressionError::UnknownType`] for values other than 0–3.
    ///
    /// ```
    /// use rmq_common::CompressionType;
    ///
    /// assert_eq!(CompressionType::from_value(0).unwrap(), CompressionType::Zlib);
    /// assert!(CompressionType::from_value(4).is_err());
    /// ```
    pub fn from_value(value: i32) -> Result<Self, CompressionError> {
        match value {
            1 => Ok(CompressionType::Lz4),
            2 => Ok(CompressionType::Zstd),
            0 | 3 => Ok(CompressionType::Zlib),
            other => Err(CompressionError::UnknownType(other)),
        }
    }

    /// The type encoded in bits 8–10 of `sys_flag`.
    ///
    /// Java: `MessageSysFlag.getCompressionType`
    ///
    /// # Errors
    ///
    /// [`CompressionError::UnknownType`] when the bits hold 4–7.
    ///
    /// ```
    /// use rmq_common::CompressionType;
    ///
    /// assert_eq!(CompressionType::from_sys_flag(0x101).unwrap(), CompressionType::Lz4);
    /// assert_eq!(
    ///     CompressionType::from_sys_flag(0x401).unwrap_err().to_string(),
    ///     "Unknown compress type value: 4"
    /// );
    /// ```
    pub fn from_sys_flag(sys_flag: i32) -> Result<Self, CompressionError> {
        Self::from_value((sys_flag & COMPRESSION_TYPE_MASK) >> 8)
    }

    /// The Java enum name: `ZLIB`, `ZSTD` or `LZ4`.
    ///
    /// ```
    /// assert_eq!(rmq_common::CompressionType::Lz4.name(), "LZ4");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            CompressionType::Zlib => "ZLIB",
            CompressionType::Zstd => "ZSTD",
            CompressionType::Lz4 => "LZ4",
        }
    }

    /// Whether the algorithm accepts `level`: ZLIB −1 to 9, ZSTD its own range, LZ4 any.
    ///
    /// ```
    /// use rmq_common::CompressionType;
    /// assert!(CompressionType::Zlib.check_level(9).is_ok());
    /// assert!(CompressionType::Zlib.check_level(10).is_err());
    /// assert!(CompressionType::Lz4.check_level(100).is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// [`CompressionError::InvalidLevel`] for a level the algorithm refuses.
    pub fn check_level(self, level: i32) -> Result<(), CompressionError> {
        let valid = match self {
            CompressionType::Zlib => (-1..=9).contains(&level),
            CompressionType::Zstd => zstd::compression_level_range().contains(&level),
            CompressionType::Lz4 => true,
        };
        if valid {
            Ok(())
        } else {
            Err(CompressionError::InvalidLevel { kind: self, level })
        }
    }

    /// Compresses `data` at `level`.
    ///
    /// ZLIB accepts −1 (default, 6) to 9 like `Deflater`; ZSTD accepts its own range; LZ4
    /// ignores the level.
    ///
    /// # Errors
    ///
    /// [`CompressionError::InvalidLevel`] for a level the algorithm refuses,
    /// [`CompressionError::Compress`] if the encoder fails.
    ///
    /// ```
    /// let packed = rmq_common::CompressionType::Zlib.compress(b"Hello RocketMQ", 5).unwrap();
    /// assert_eq!(packed[0], 0x78); // RFC 1950: deflate, 32 KiB window
    /// ```
    pub fn compress(self, data: &[u8], level: i32) -> Result<Vec<u8>, CompressionError> {
        self.check_level(level)?;
        let failed = |source| CompressionError::Compress { kind: self, source };
        match self {
            CompressionType::Zlib => {
                let level = match level {
                    -1 => flate2::Compression::default(),
                    _ => flate2::Compression::new(level.unsigned_abs()),
                };
                let out = Vec::with_capacity(data.len() / 2 + 16);
                let mut encoder = flate2::write::ZlibEncoder::new(out, level);
                encoder.write_all(data).map_err(failed)?;
                encoder.finish().map_err(failed)
            }
            CompressionType::Zstd => zstd::bulk::compress(data, level).map_err(failed),
            CompressionType::Lz4 => {
                // Independent blocks without checksums, like lz4-java's LZ4FrameOutputStream.
                let info = lz4_flex::frame::FrameInfo::new()
                    .block_mode(lz4_flex::frame::BlockMode::Independent);
                let out = Vec::with_capacity(data.len() / 2 + 32);
                let mut encoder = lz4_flex::frame::FrameEncoder::with_frame_info(info, out);
                encoder.write_all(data).map_err(failed)?;
                encoder.finish().map_err(|e| failed(e.into()))
            }
        }
    }

    /// Compresses a single (never a batch) message body when it reaches `threshold` bytes,
    /// returning the new body and the bits to OR into `sysFlag`
    /// (`COMPRESSED_FLAG | compression_flag()`, e.g. `0x301` for ZLIB), or `None` when the
    /// body is sent as is. Like Java, the compressed body is used even if it is larger.
    ///
    /// Java: `DefaultMQProducerImpl.tryToCompressMessage`
    ///
    /// # Errors
    ///
    /// Those of [`CompressionType::compress`]; Java then sends the body uncompressed.
    ///
    /// ```
    /// use rmq_common::CompressionType;
    /// use rmq_common::compression::DEFAULT_COMPRESS_THRESHOLD;
    ///
    /// let zlib = CompressionType::Zlib;
    /// assert!(zlib.compress_body(&[0; 4095], DEFAULT_COMPRESS_THRESHOLD, 5).unwrap().is_none());
    /// let (_, flag) = zlib.compress_body(&[0; 4096], DEFAULT_COMPRESS_THRESHOLD, 5).unwrap().unwrap();
    /// assert_eq!(flag, 0x301);
    /// ```
    pub fn compress_body(
        self,
        body: &[u8],
        threshold: usize,
        level: i32,
    ) -> Result<Option<(Vec<u8>, i32)>, CompressionError> {
        if body.len() < threshold {
            return Ok(None);
        }
        let packed = self.compress(body, level)?;
        Ok(Some((packed, COMPRESSED_FLAG | self.compression_flag())))
    }

    /// Decompresses `data`, refusing to produce (or allocate for) more than `max_len` bytes,
    /// so a decompression bomb yields [`CompressionError::TooLarge`].
    ///
    /// # Errors
    ///
    /// [`CompressionError::TooLarge`] past `max_len`, [`CompressionError::Corrupt`] for
    /// malformed or truncated input.
    ///
    /// ```
    /// use rmq_common::{CompressionError, CompressionType};
    ///
    /// let packed = CompressionType::Lz4.compress(&[0u8; 10_000], 0).unwrap();
    /// assert_eq!(CompressionType::Lz4.decompress(&packed, 10_000).unwrap().len(), 10_000);
    /// assert!(matches!(
    ///     CompressionType::Lz4.decompress(&packed, 9_999),
    ///     Err(CompressionError::TooLarge { max: 9_999 })
    /// ));
    /// ```
    pub fn decompress(self, data: &[u8], max_len: usize) -> Result<Vec<u8>, CompressionError> {
        let hint = data.len().saturating_mul(4);
        match self {
            CompressionType::Zlib => {
                read_bounded(self, flate2::read::ZlibDecoder::new(data), hint, max_len)
            }
            CompressionType::Zstd => {
                let mut decoder = zstd::stream::read::Decoder::with_buffer(data)
                    .map_err(|source| CompressionError::Corrupt { kind: self, source })?;
                // A frame may demand a window of up to 2^27 bytes whatever its content size;
                // cap it near the output limit so a 20-byte frame cannot take 128 MiB. 2^23
                // covers every compression level below zstd's "ultra" range.
                let window_log = usize::BITS - max_len.max(1).leading_zeros();
                decoder
                    .window_log_max(window_log.clamp(23, 27))
                    .map_err(|source| CompressionError::Corrupt { kind: self, source })?;
                read_bounded(self, decoder, hint, max_len)
            }
            CompressionType::Lz4 => read_bounded(
                self,
                lz4_flex::frame::FrameDecoder::new(data),
                hint,
                max_len,
            ),
        }
    }
}

/// Reads `reader` to its end, never holding more than `max_len + 1` bytes.
fn read_bounded(
    kind: CompressionType,
    mut reader: impl Read,
    hint: usize,
    max_len: usize,
) -> Result<Vec<u8>, CompressionError> {
    // One byte past the limit is enough to tell "exactly max_len" from "too large".
    let limit = max_len.saturating_add(1);
    let mut out = vec![0u8; hint.clamp(64, 64 * 1024).min(limit)];
    let mut filled = 0;
    loop {
        if filled == out.len() {
            if filled >= limit {
                return Err(CompressionError::TooLarge { max: max_len });
            }
            let grown = filled.saturating_mul(2).min(limit);
            out.resize(grown, 0);
        }
        match reader.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => return Err(CompressionError::Corrupt { kind, source }),
        }
    }
    if filled > max_len {
        return Err(CompressionError::TooLarge { max: max_len });
    }
    out.truncate(filled);
    Ok(out)
}

impl fmt::Display for CompressionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CompressionType {
    type Err = CompressionError;

    /// Java: `CompressionType.of` (trimmed, case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        [
            CompressionType::Lz4,
            CompressionType::Zstd,
            CompressionType::Zlib,
        ]
        .into_iter()
        .find(|kind| kind.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| CompressionError::UnsupportedName(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_hex::unhex;
    use proptest::prelude::*;

    const ALL: [CompressionType; 3] = [
        CompressionType::Zlib,
        CompressionType::Zstd,
        CompressionType::Lz4,
    ];

    #[test]
    fn v39_zlib_level_5() {
        let rows = [
            (
                vec![b'A'; 4096],
                "785EEDC1010D000000C2A06CEF5FCA1E0E28000000E0DD00FFAD103D",
            ),
            (
                b"Hello RocketMQ".to_vec(),
                "785EF348CDC9C95708CA4FCE4E2DF10D04002626051B",
            ),
        ];
        for (input, java_hex) in rows {
            let packed = CompressionType::Zlib.compress(&input, 5).unwrap();
            // flate2 runs on C zlib, the library Java bundles, so the bytes are Java's exactly.
            assert_eq!(packed, unhex(java_hex));
            assert_eq!(
                CompressionType::Zlib
                    .decompress(&packed, input.len())
                    .unwrap(),
                input
            );
            // Java's bytes must decode to the same input.
            assert_eq!(
                CompressionType::Zlib
                    .decompress(&unhex(java_hex), input.len())
                    .unwrap(),
                input
            );
        }
    }

    #[test]
    fn v40_compression_threshold() {
        let threshold = DEFAULT_COMPRESS_THRESHOLD;
        let zlib = CompressionType::Zlib;
        assert!(
            zlib.compress_body(&[7; 4095], threshold, 5)
                .unwrap()
                .is_none()
        );
        let (packed, flag) = zlib
            .compress_body(&[7; 4096], threshold, 5)
            .unwrap()
            .unwrap();
        assert_eq!(flag, 0x301);
        assert_eq!(flag, 769);
        assert_eq!(zlib.decompress(&packed, 4096).unwrap(), vec![7; 4096]);
        let (_, lz4) = CompressionType::Lz4
            .compress_body(&[7; 4096], threshold, 5)
            .unwrap()
            .unwrap();
        assert_eq!(lz4, 0x101);
        // A batch is never compressed: `MessageBatch` has no compression path at all.
    }

    #[test]
    fn v41_type_values_and_names() {
        assert_eq!(CompressionType::default(), CompressionType::Zlib);
        assert_eq!(CompressionType::Lz4.value(), 1);
        assert_eq!(CompressionType::Zstd.value(), 2);
        assert_eq!(CompressionType::Zlib.value(), 3);
        for (s, kind) in [
            ("zlib", CompressionType::Zlib),
            ("ZLIB", CompressionType::Zlib),
            (" lz4 ", CompressionType::Lz4),
            ("Zstd", CompressionType::Zstd),
        ] {
            assert_eq!(s.parse::<CompressionType>().unwrap(), kind);
        }
        assert_eq!(
            "snappy".parse::<CompressionType>().unwrap_err().to_string(),
            "Unsupported compress type name: snappy"
        );
        for kind in ALL {
            assert_eq!(kind.to_string().parse::<CompressionType>().unwrap(), kind);
            assert_eq!(CompressionType::from_value(kind.value()).unwrap(), kind);
        }
        for bad in [4, 5, 6, 7, -1] {
            assert!(matches!(
                CompressionType::from_value(bad),
                Err(CompressionError::UnknownType(v)) if v == bad
            ));
        }
    }

    #[test]
    fn invalid_levels_are_refused() {
        assert!(matches!(
            CompressionType::Zlib.compress(b"x", 10),
            Err(CompressionError::InvalidLevel { level: 10, .. })
        ));
        assert!(matches!(
            CompressionType::Zstd.compress(b"x", 1000),
            Err(CompressionError::InvalidLevel { level: 1000, .. })
        ));
        assert!(CompressionType::Zlib.compress(b"x", -1).is_ok());
        assert!(CompressionType::Lz4.compress(b"x", 1000).is_ok());
    }

    #[test]
    fn bombs_are_bounded() {
        let big = vec![0u8; 1 << 20];
        for kind in ALL {
            let packed = kind.compress(&big, 5).unwrap();
            assert!(matches!(
                kind.decompress(&packed, 4096),
                Err(CompressionError::TooLarge { max: 4096 })
            ));
            assert_eq!(kind.decompress(&packed, big.len()).unwrap(), big);
        }
    }

    #[test]
    fn zstd_frames_demanding_a_huge_window_are_refused() {
        use std::io::Write;
        // A streamed frame (no content size) that declares a 2^27-byte window.
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        encoder.window_log(27).unwrap();
        encoder.long_distance_matching(true).unwrap();
        encoder.write_all(b"tiny").unwrap();
        let frame = encoder.finish().unwrap();
        assert!(frame.len() < 64);
        assert!(CompressionType::Zstd.decompress(&frame, 1024).is_err());
        // Ordinary frames still decode.
        let packed = CompressionType::Zstd.compress(&[7u8; 100_000], 19).unwrap();
        assert_eq!(
            CompressionType::Zstd
                .decompress(&packed, 100_000)
                .unwrap()
                .len(),
            100_000
        );
    }

    #[test]
    fn corrupt_and_truncated_input_is_an_error() {
        let data: Vec<u8> = (0..5000u32).flat_map(|i| i.to_le_bytes()).collect();
        for kind in ALL {
            let packed = kind.compress(&data, 5).unwrap();
            let truncated = &packed[..packed.len() / 2];
            assert!(
                matches!(
                    kind.decompress(truncated, 1 << 20),
                    Err(CompressionError::Corrupt { .. })
                ),
                "{kind} truncated"
            );
            assert!(
                kind.decompress(b"definitely not compressed", 1 << 20)
                    .is_err(),
                "{kind} garbage"
            );
        }
    }

    #[test]
    fn empty_input_round_trips() {
        for kind in ALL {
            let packed = kind.compress(b"", 5).unwrap();
            assert_eq!(kind.decompress(&packed, 0).unwrap(), b"");
        }
    }

    proptest! {
        #[test]
        fn prop_round_trip(data in proptest::collection::vec(any::<u8>(), 0..8192), level in 1..=9i32) {
            for kind in ALL {
                let packed = kind.compress(&data, level).unwrap();
                prop_assert_eq!(kind.decompress(&packed, data.len()).unwrap(), data.clone());
            }
        }
    }
}

//! A compressed body in each algorithm: decompressing never panics and never produces more
//! than the limit (a zip bomb is an error, not an allocation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_common::CompressionType;

const LIMIT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    for kind in [
        CompressionType::Zlib,
        CompressionType::Zstd,
        CompressionType::Lz4,
    ] {
        if let Ok(out) = kind.decompress(data, LIMIT) {
            assert!(out.len() <= LIMIT);
        }
    }
});

//! A batch body (what a broker splits into messages): decoding never panics or allocates
//! past what the input can hold.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = rmq_common::batch::decode_body(data) {
        assert!(entries.len() <= data.len());
    }
});

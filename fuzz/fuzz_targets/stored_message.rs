//! A stored message (a transaction check-back's body, VIEW_MESSAGE_BY_ID's answer): decoding
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rmq_common::stored::decode_stored_message(data);
});

//! A heartbeat body (what a broker or test broker reads): decoding never panics, and what
//! decodes re-encodes to a body that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_remoting::body::HeartbeatData;

fuzz_target!(|data: &[u8]| {
    let Ok(heartbeat) = HeartbeatData::from_json(data) else {
        return;
    };
    let again = HeartbeatData::from_json(&heartbeat.to_json()).expect("re-encoded body decodes");
    assert_eq!(again, heartbeat);
});

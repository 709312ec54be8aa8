//! Message trace data as a trace topic's consumer reads it: any bytes, as text, through the
//! `Pub` record decoder; what decodes encodes back to records that decode the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(records) = rmq_client::decode_pub_records(&text) else {
        return;
    };
    let mut again = String::new();
    for record in &records {
        record.encode_into(&mut again);
    }
    let decoded = rmq_client::decode_pub_records(&again).expect("re-encoded records decode");
    assert_eq!(decoded.len(), records.len());
});

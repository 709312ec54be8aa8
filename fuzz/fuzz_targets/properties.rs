//! A message's property string: decoding never panics, and a decoded map's encoding decodes
//! to the same map in both separator styles.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rmq_common::Properties;
use rmq_common::properties::SeparatorStyle;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let props = Properties::decode(&text);
    for style in [SeparatorStyle::NoTrailing, SeparatorStyle::Trailing] {
        let encoded = props.encode(style);
        let again = Properties::decode(&encoded);
        assert_eq!(again.encode(style), encoded);
    }
});

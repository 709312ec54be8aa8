//! Structured: any command rmq can build survives its own encoding in both serializations,
//! decode(encode(x)) == x, field by field (keys without a value are not sent, as in Java).
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use rmq_remoting::{LanguageCode, RemotingCommand, SerializeType};

#[derive(Arbitrary, Debug)]
struct Command {
    code: i32,
    language: u8,
    version: i32,
    opaque: i32,
    flag: i32,
    remark: Option<String>,
    ext: Vec<(String, String)>,
    body: Vec<u8>,
    binary: bool,
}

fuzz_target!(|c: Command| {
    let serialize_type = if c.binary {
        SerializeType::RocketMq
    } else {
        SerializeType::Json
    };
    let mut cmd = RemotingCommand::request(c.code)
        .with_language(LanguageCode::from_code(c.language % 14).unwrap_or_default())
        .with_version(c.version)
        .with_opaque(c.opaque)
        .with_flag(c.flag)
        .with_body(c.body.clone())
        .with_serialize_type(serialize_type);
    if let Some(remark) = &c.remark {
        cmd = cmd.with_remark(remark.as_str());
    }
    for (key, value) in &c.ext {
        cmd.add_ext_field(key.as_str(), value.as_str());
    }
    // Too large for a frame, or not encodable in this serialization: an error, never a panic.
    let Ok(frame) = cmd.encode_to_bytes() else {
        return;
    };
    let back = RemotingCommand::decode_frame(frame.slice(4..)).expect("an encoded frame decodes");
    assert_eq!(back.code(), cmd.code());
    assert_eq!(back.version(), cmd.version());
    assert_eq!(back.opaque(), cmd.opaque());
    assert_eq!(back.flag(), cmd.flag());
    assert_eq!(back.serialize_type(), serialize_type);
    // The ROCKETMQ layout carries an empty remark as none (Java reads length 0 as null).
    let remark = match serialize_type {
        SerializeType::RocketMq => cmd.remark().filter(|r| !r.is_empty()),
        _ => cmd.remark(),
    };
    assert_eq!(back.remark(), remark, "{serialize_type:?}");
    assert_eq!(back.body(), cmd.body());
    let sent: Vec<(String, String)> = cmd
        .ext_fields()
        .map(|ext| {
            ext.present()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    for (key, value) in &sent {
        // The ROCKETMQ layout reads a zero length as null, as Java's `readStr` does (V08): an
        // empty value comes back without a value, an entry with an empty key is dropped.
        let expected = match serialize_type {
            SerializeType::RocketMq if key.is_empty() || value.is_empty() => None,
            _ => Some(value.as_str()),
        };
        assert_eq!(back.ext_field(key), expected, "{key:?} {serialize_type:?}");
    }
});

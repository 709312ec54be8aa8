//! Byte-exact vectors (vectors.md section A and the header vectors of G), hostile frames, and
//! property-based round trips.

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

use super::*;
use crate::code::{request, response};
use crate::header::{
    CheckTransactionStateRequestHeader, CommandHeader, EndTransactionRequestHeader,
    GetRouteInfoRequestHeader, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader, UnregisterClientRequestHeader,
};
use crate::{ExtFields, LanguageCode, RemotingCommand, SerializeType, version};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn encode(cmd: &RemotingCommand) -> Vec<u8> {
    cmd.encode_to_bytes().expect("encodes").to_vec()
}

/// Decodes exactly one whole frame through the codec.
fn decode(frame: &[u8]) -> RemotingCommand {
    let mut buf = BytesMut::from(frame);
    let cmd = FrameCodec::default()
        .decode(&mut buf)
        .expect("decodes")
        .expect("whole frame");
    assert!(buf.is_empty());
    cmd
}

/// The header bytes of a binary-serialized command.
fn binary_header(cmd: &RemotingCommand) -> String {
    let frame = encode(&cmd.clone().with_serialize_type(SerializeType::RocketMq));
    let header_len = u32::from_be_bytes([0, frame[5], frame[6], frame[7]]) as usize;
    to_hex(&frame[8..8 + header_len])
}

fn json_header(frame: &[u8]) -> &str {
    let header_len = u32::from_be_bytes([0, frame[5], frame[6], frame[7]]) as usize;
    std::str::from_utf8(&frame[8..8 + header_len]).expect("utf-8")
}

const UNIQ_KEY: &str = "C0A80164123418B4AAC2075BCD150001";

/// The V14 message's send header (4.9.8 property encoding).
pub(crate) fn v14_header() -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: "TopicTest".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 1,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(
            format!(
                "KEYS\u{1}OrderID188\u{2}UNIQ_KEY\u{1}{UNIQ_KEY}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA"
            )
            .into(),
        ),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: Some("broker-a".into()),
    }
}

fn v14_request() -> RemotingCommand {
    RemotingCommand::request(request::SEND_MESSAGE_V2)
        .with_header(SendMessageRequestHeaderV2(v14_header()))
        .with_opaque(3)
        .with_version(version::V4_9_8)
        .with_body(&b"Hello RocketMQ"[..])
}

#[test]
fn v01_v02_v03_header_length_word() {
    let word = |t: SerializeType, len: u32| (u32::from(t.code()) << 24) | (len & 0xFF_FFFF);
    assert_eq!(word(SerializeType::Json, 261), 0x0000_0105);
    assert_eq!(word(SerializeType::RocketMq, 0xFF_FFFF), 0x01FF_FFFF);
    for (w, t, len) in [
        (0x0100_00F2u32, 1u8, 242u32),
        (0x0000_0083, 0, 131),
        (0x0000_016F, 0, 367),
    ] {
        assert_eq!((w >> 24) as u8, t);
        assert_eq!(w & 0xFF_FFFF, len);
    }
}

fn v04_base() -> RemotingCommand {
    RemotingCommand::request(103).with_version(2333)
}

#[test]
fn v04_binary_header_without_remark_and_ext() {
    let header = binary_header(&v04_base());
    assert_eq!(header, "006700091D00000000000000000000000000000000");
    assert_eq!(header.len() / 2, 21);
    let back = decode(&encode(
        &v04_base().with_serialize_type(SerializeType::RocketMq),
    ));
    assert_eq!(back.remark(), None);
    assert_eq!(back.ext_fields(), None);
    assert_eq!((back.code(), back.version()), (103, 2333));
}

#[test]
fn v05_binary_header_with_remark() {
    let cmd = v04_base().with_remark("Sample Remark");
    assert_eq!(
        binary_header(&cmd),
        "006700091D00000000000000000000000D53616D706C652052656D61726B00000000"
    );
}

#[test]
fn v06_binary_header_with_ext() {
    let cmd = v04_base().with_ext_field("key", "value");
    assert_eq!(
        binary_header(&cmd),
        "006700091D0000000000000000000000000000000E00036B65790000000576616C7565"
    );
}

#[test]
fn v07_fast_encode_round_trip() {
    let cmd = RemotingCommand::request(1)
        .with_version(99)
        .with_opaque(1001)
        .with_flag(3)
        .with_remark("remark")
        .with_ext_field("str", "s1")
        .with_ext_field("num", "100");
    assert_eq!(
        binary_header(&cmd),
        "0001000063000003E9000000030000000672656D61726B00000017000373747200000002733100036E756D00000003313030"
    );
    let back = decode(&encode(&cmd.with_serialize_type(SerializeType::RocketMq)));
    assert_eq!(
        (back.code(), back.opaque(), back.version(), back.flag()),
        (1, 1001, 99, 3)
    );
    assert_eq!(back.remark(), Some("remark"));
    assert_eq!(back.ext_field("str"), Some("s1"));
    assert_eq!(back.ext_field("num"), Some("100"));
}

#[test]
fn v08_empty_strings_decode_as_null() {
    let cmd = RemotingCommand::response(response::SUCCESS)
        .with_version(409)
        .with_opaque(5)
        .with_remark("")
        .with_ext_field("x", "");
    let header = binary_header(&cmd);
    assert_eq!(
        header,
        "00000001990000000500000001000000000000000700017800000000"
    );
    let back = decode(&encode(&cmd.with_serialize_type(SerializeType::RocketMq)));
    assert_eq!(back.remark(), None);
    let ext = back.ext_fields().expect("ext map");
    assert!(ext.contains_key("x"));
    assert_eq!(ext.get("x"), None);
}

#[test]
fn v09_utf8_remark() {
    let cmd = RemotingCommand::response(1)
        .with_version(409)
        .with_opaque(2)
        .with_remark("错误");
    assert_eq!(
        binary_header(&cmd),
        "0001000199000000020000000100000006E99499E8AFAF00000000"
    );
    let back = decode(&encode(&cmd.with_serialize_type(SerializeType::RocketMq)));
    assert_eq!(back.remark(), Some("错误"));
}

fn route_request(opaque: i32, version: i32) -> RemotingCommand {
    RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
        .with_header(GetRouteInfoRequestHeader::new("TopicTest"))
        .with_opaque(opaque)
        .with_version(version)
}

#[test]
fn v10_route_request_json() {
    let frame = encode(&route_request(0, version::V4_9_8));
    assert_eq!(
        json_header(&frame),
        r#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":0,"serializeTypeCurrentRPC":"JSON","version":409}"#
    );
    assert_eq!(
        to_hex(&frame),
        "00000087000000837B22636F6465223A3130352C226578744669656C6473223A7B22746F706963223A22546F70696354657374227D2C22666C6167223A302C226C616E6775616765223A224A415641222C226F7061717565223A302C2273657269616C697A655479706543757272656E74525043223A224A534F4E222C2276657273696F6E223A3430397D"
    );
    assert_eq!(decode(&frame), route_request(0, version::V4_9_8));
}

#[test]
fn v11_route_request_binary() {
    let cmd = route_request(0, version::V4_9_8).with_serialize_type(SerializeType::RocketMq);
    let frame = encode(&cmd);
    assert_eq!(
        to_hex(&frame),
        "0000002D010000290069000199000000000000000000000000000000140005746F70696300000009546F70696354657374"
    );
    assert_eq!(decode(&frame), cmd);
}

#[test]
fn v12_route_request_head_client() {
    let frame = encode(&route_request(7, version::V5_3_3));
    assert_eq!(
        json_header(&frame),
        r#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#
    );
}

#[test]
fn v13_route_response_frame() {
    let frame = hex(
        "000001670000005F7B22636F6465223A302C22666C6167223A312C226C616E6775616765223A224A415641222C226F7061717565223A302C2273657269616C697A655479706543757272656E74525043223A224A534F4E222C2276657273696F6E223A3430397D7B2262726F6B65724461746173223A5B7B2262726F6B65724164647273223A7B2230223A223139322E3136382E302E34373A3130393131222C2231223A223139322E3136382E302E34373A3130393231227D2C2262726F6B65724E616D65223A2262726F6B65722D61222C22636C7573746572223A2254657374436C7573746572227D5D2C2266696C7465725365727665725461626C65223A7B7D2C2271756575654461746173223A5B7B2262726F6B65724E616D65223A2262726F6B65722D61222C227065726D223A362C227265616451756575654E756D73223A382C22746F706963537973466C6167223A302C22777269746551756575654E756D73223A387D5D7D",
    );
    let cmd = decode(&frame);
    assert!(cmd.is_response());
    assert_eq!((cmd.code(), cmd.opaque(), cmd.version()), (0, 0, 409));
    assert_eq!(cmd.ext_fields(), None);
    assert_eq!(cmd.remark(), None);
    assert_eq!(cmd.body().len(), 260);
    // Re-encoding reproduces the name server's bytes exactly.
    assert_eq!(encode(&cmd), frame);
}

#[test]
fn v14_send_message_v2_json() {
    let frame = encode(&v14_request());
    assert_eq!(
        json_header(&frame),
        r#"{"code":310,"extFields":{"a":"pg","b":"TopicTest","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","i":"KEYS\u0001OrderID188\u0002UNIQ_KEY\u0001C0A80164123418B4AAC2075BCD150001\u0002WAIT\u0001true\u0002TAGS\u0001TagA","j":"0","k":"false","m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":409}"#
    );
    assert_eq!(
        to_hex(&frame),
        "000001810000016F7B22636F6465223A3331302C226578744669656C6473223A7B2261223A227067222C2262223A22546F70696354657374222C2263223A22544257313032222C2264223A2234222C2265223A2231222C2266223A2230222C2267223A2231373030303030303030303030222C2268223A2230222C2269223A224B4559535C75303030314F7264657249443138385C7530303032554E49515F4B45595C753030303143304138303136343132333431384234414143323037354243443135303030315C7530303032574149545C7530303031747275655C7530303032544147535C753030303154616741222C226A223A2230222C226B223A2266616C7365222C226D223A2266616C7365222C226E223A2262726F6B65722D61227D2C22666C6167223A302C226C616E6775616765223A224A415641222C226F7061717565223A332C2273657269616C697A655479706543757272656E74525043223A224A534F4E222C2276657273696F6E223A3430397D48656C6C6F20526F636B65744D51"
    );
    let back = decode(&frame);
    assert_eq!(back, v14_request());
    let header: SendMessageRequestHeaderV2 = back.decode_header().expect("header");
    assert_eq!(header.0, v14_header());
}

#[test]
fn v15_send_message_v2_binary_fast_codes_order() {
    let cmd = v14_request().with_serialize_type(SerializeType::RocketMq);
    let frame = encode(&cmd);
    assert_eq!(
        to_hex(&frame),
        "00000104010000F20136000199000000030000000000000000000000DD00016100000002706700016200000009546F70696354657374000163000000065442573130320001640000000134000165000000013100016600000001300001670000000D3137303030303030303030303000016800000001300001690000004D4B455953014F72646572494431383802554E49515F4B4559014330413830313634313233343138423441414332303735424344313530303031025741495401747275650254414753015461674100016A000000013000016B0000000566616C736500016D0000000566616C736500016E0000000862726F6B65722D6148656C6C6F20526F636B65744D51"
    );
    let back = decode(&frame);
    assert_eq!(back, cmd);
    assert_eq!(
        SendMessageRequestHeader::read_for_code(back.code(), back.ext_fields().expect("ext"))
            .expect("header"),
        v14_header()
    );
}

fn v16_response_header() -> SendMessageResponseHeader {
    SendMessageResponseHeader {
        msg_id: "C0A8002F00002A9F0000000012345678".into(),
        queue_id: 1,
        queue_offset: 42,
        transaction_id: None,
        batch_uniq_id: None,
        recall_handle: None,
        region_id: Some("DefaultRegion".into()),
        trace_on: true,
    }
}

#[test]
fn v16_send_response_binary() {
    let frame = hex(
        "000000940100009000000001990000000300000001000000000000007B00056D736749640000002043304138303032463030303032413946303030303030303031323334353637380007717565756549640000000131000B71756575654F6666736574000000023432000854524143455F4F4E0000000474727565000A4D53475F524547494F4E0000000D44656661756C74526567696F6E",
    );
    let cmd = decode(&frame);
    assert!(cmd.is_response());
    assert_eq!((cmd.code(), cmd.opaque(), cmd.version()), (0, 3, 409));
    let header: SendMessageResponseHeader = cmd.decode_header().expect("header");
    assert_eq!(header, v16_response_header());
    // A broker built on rmq answers with the same bytes.
    let ours = RemotingCommand::response_to(&v14_request(), response::SUCCESS)
        .with_version(version::V4_9_8)
        .with_header(v16_response_header())
        .with_serialize_type(SerializeType::RocketMq);
    assert_eq!(to_hex(&encode(&ours)), to_hex(&frame));
}

#[test]
fn v17_send_response_json() {
    let json = r#"{"code":0,"extFields":{"queueId":"1","TRACE_ON":"true","MSG_REGION":"DefaultRegion","msgId":"C0A8002F00002A9F0000000012345678","queueOffset":"42"},"flag":1,"language":"JAVA","opaque":3,"serializeTypeCurrentRPC":"JSON","version":409}"#;
    let mut frame = BytesMut::new();
    frame.put_i32(4 + json.len() as i32);
    frame.put_i32(json.len() as i32);
    frame.put_slice(json.as_bytes());
    let cmd = decode(&frame);
    let header: SendMessageResponseHeader = cmd.decode_header().expect("header");
    assert_eq!(header, v16_response_header());
    // Re-encoding keeps the received order, so the bytes round-trip.
    assert_eq!(encode(&cmd), frame.to_vec());
}

#[test]
fn v54_heartbeat_header_json() {
    let cmd = RemotingCommand::request(request::HEART_BEAT)
        .with_opaque(5)
        .with_version(version::V4_9_8)
        .with_body(
            crate::body::HeartbeatData::for_producers(
                "192.168.1.100@12345#1234567890123",
                ["CLIENT_INNER_PRODUCER", "pg"],
            )
            .to_json(),
        );
    assert_eq!(
        to_hex(&encode(&cmd)),
        "000000F6000000607B22636F6465223A33342C22666C6167223A302C226C616E6775616765223A224A415641222C226F7061717565223A352C2273657269616C697A655479706543757272656E74525043223A224A534F4E222C2276657273696F6E223A3430397D7B22636C69656E744944223A223139322E3136382E312E3130304031323334352331323334353637383930313233222C22636F6E73756D657244617461536574223A5B5D2C2270726F647563657244617461536574223A5B7B2267726F75704E616D65223A22434C49454E545F494E4E45525F50524F4455434552227D2C7B2267726F75704E616D65223A227067227D5D7D"
    );
    // A 5.x client sends an empty (not absent) ext map.
    let mut head = cmd.with_version(version::V5_3_3);
    head.ext_fields_mut();
    let frame = encode(&head);
    assert_eq!(
        json_header(&frame),
        r#"{"code":34,"extFields":{},"flag":0,"language":"JAVA","opaque":5,"serializeTypeCurrentRPC":"JSON","version":479}"#
    );
}

#[test]
fn v55_unregister_client_json() {
    let cmd = RemotingCommand::request(request::UNREGISTER_CLIENT)
        .with_header(UnregisterClientRequestHeader::producer(
            "192.168.1.100@12345#1234567890123",
            "pg",
        ))
        .with_opaque(11)
        .with_version(version::V4_9_8);
    assert_eq!(
        json_header(&encode(&cmd)),
        r#"{"code":35,"extFields":{"producerGroup":"pg","clientID":"192.168.1.100@12345#1234567890123"},"flag":0,"language":"JAVA","opaque":11,"serializeTypeCurrentRPC":"JSON","version":409}"#
    );
}

#[test]
fn v56_end_transaction_json() {
    let header = EndTransactionRequestHeader {
        producer_group: "pg".into(),
        tran_state_table_offset: 42,
        commit_log_offset: 305_419_896,
        commit_or_rollback: 8,
        from_transaction_check: Some(false),
        msg_id: UNIQ_KEY.into(),
        transaction_id: None,
        broker_name: Some("broker-a".into()),
        topic: None,
    };
    let mut cmd = RemotingCommand::request(request::END_TRANSACTION)
        .with_header(header.clone())
        .with_opaque(9)
        .with_version(version::V4_9_8);
    cmd.mark_oneway();
    let frame = encode(&cmd);
    assert_eq!(
        json_header(&frame),
        r#"{"code":37,"extFields":{"producerGroup":"pg","bname":"broker-a","commitLogOffset":"305419896","msgId":"C0A80164123418B4AAC2075BCD150001","tranStateTableOffset":"42","commitOrRollback":"8","fromTransactionCheck":"false"},"flag":2,"language":"JAVA","opaque":9,"serializeTypeCurrentRPC":"JSON","version":409}"#
    );
    assert_eq!(
        decode(&frame).decode_header::<EndTransactionRequestHeader>(),
        Ok(header)
    );
}

#[test]
fn v57_check_transaction_state_json() {
    let json = r#"{"code":39,"extFields":{"commitLogOffset":"305419896","msgId":"C0A80164123418B4AAC2075BCD150001","tranStateTableOffset":"42","offsetMsgId":"C0A8002F00002A9F0000000012345678","transactionId":"C0A80164123418B4AAC2075BCD150001"},"flag":2,"language":"JAVA","opaque":100,"serializeTypeCurrentRPC":"JSON","version":409}"#;
    let header = CheckTransactionStateRequestHeader {
        tran_state_table_offset: 42,
        commit_log_offset: 305_419_896,
        msg_id: Some(UNIQ_KEY.into()),
        transaction_id: Some(UNIQ_KEY.into()),
        offset_msg_id: Some("C0A8002F00002A9F0000000012345678".into()),
        topic: None,
        broker_name: None,
    };
    let mut cmd = RemotingCommand::request(request::CHECK_TRANSACTION_STATE)
        .with_header(header.clone())
        .with_opaque(100)
        .with_version(version::V4_9_8);
    cmd.mark_oneway();
    let frame = encode(&cmd);
    assert_eq!(json_header(&frame), json);
    let back = decode(&frame);
    assert!(back.is_oneway());
    assert_eq!(
        back.decode_header::<CheckTransactionStateRequestHeader>(),
        Ok(header)
    );
}

#[test]
fn v69_json_decode_tolerance() {
    let json = r#"{"code":105,"extFields":{"topic":"TopicTest"},"language":"DOTNET","opaque":1,"serializeTypeCurrentRPC":"JSON","version":373,"remark":"route please"}"#;
    let mut frame = BytesMut::new();
    frame.put_i32(4 + json.len() as i32);
    frame.put_i32(json.len() as i32);
    frame.put_slice(json.as_bytes());
    let cmd = decode(&frame);
    assert_eq!(cmd.code(), 105);
    assert_eq!(cmd.language(), LanguageCode::DotNet);
    assert_eq!((cmd.opaque(), cmd.flag(), cmd.version()), (1, 0, 373));
    assert_eq!(cmd.remark(), Some("route please"));
    assert_eq!(cmd.ext_field("topic"), Some("TopicTest"));
}

fn json_frame(json: &str) -> BytesMut {
    let mut frame = BytesMut::new();
    frame.put_i32(4 + json.len() as i32);
    frame.put_i32(json.len() as i32);
    frame.put_slice(json.as_bytes());
    frame
}

#[test]
fn json_decoder_accepts_nulls_unknown_keys_and_non_string_values() {
    let cmd = decode(&json_frame(
        r#"{"remark":null,"extFields":null,"unknown":{"deep":[1,2]},"code":17,"language":"RUST","flag":1}"#,
    ));
    assert_eq!((cmd.code(), cmd.language()), (17, LanguageCode::Rust));
    assert_eq!(cmd.remark(), None);
    assert_eq!(cmd.ext_fields(), None);
    let cmd = decode(&json_frame(
        r#"{"code":0,"extFields":{"n":42,"b":true,"z":null,"s":"a\"b\u0001"},"language":"SWIFT"}"#,
    ));
    assert_eq!(cmd.language(), LanguageCode::Other);
    assert_eq!(cmd.ext_field("n"), Some("42"));
    assert_eq!(cmd.ext_field("b"), Some("true"));
    assert!(cmd.ext_fields().expect("ext").contains_key("z"));
    assert_eq!(cmd.ext_field("s"), Some("a\"b\u{1}"));
    // Duplicate keys: the last value wins, as fastjson's HashMap.put.
    let cmd = decode(&json_frame(r#"{"extFields":{"k":"1","k":"2"}}"#));
    assert_eq!(cmd.ext_field("k"), Some("2"));
}

#[test]
fn json_escapes_like_fastjson() {
    let mut dst = Vec::new();
    json::write_json_string(
        &mut dst,
        "q\"b\\\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}\u{80}\u{9f}\u{a0}é/\u{2028}\u{2029}\u{2027}",
    );
    assert_eq!(
        std::str::from_utf8(&dst).expect("utf-8"),
        "\"q\\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001F\\u007F\\u0080\\u009F\u{a0}é/\\u2028\\u2029\u{2027}\""
    );
}

fn expect_err(frame: &[u8]) -> CodecError {
    let mut buf = BytesMut::from(frame);
    match FrameCodec::default().decode(&mut buf) {
        Err(e) => e,
        Ok(other) => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn hostile_frames_are_typed_errors() {
    // Length over the maximum: rejected from the prefix alone, nothing reserved.
    let mut buf = BytesMut::from(&[0x7F, 0xFF, 0xFF, 0xFF][..]);
    let err = FrameCodec::default()
        .decode(&mut buf)
        .expect_err("too large");
    assert!(matches!(err, CodecError::FrameTooLarge { .. }), "{err}");
    assert!(buf.capacity() < 1024);
    assert!(matches!(
        expect_err(&hex("FFFFFFFF")),
        CodecError::FrameTooShort(-1)
    ));
    assert!(matches!(
        expect_err(&hex("00000002AAAA")),
        CodecError::FrameTooShort(2)
    ));
    // Header length larger than the frame.
    assert!(matches!(
        expect_err(&hex("0000000800000010AAAAAAAA")),
        CodecError::HeaderTooLong {
            header_len: 16,
            available: 4
        }
    ));
    assert!(matches!(
        expect_err(&hex("0000000502000001AA")),
        CodecError::UnknownSerializeType(2)
    ));
    assert!(matches!(
        expect_err(&json_frame("{\"code\":")),
        CodecError::Json(_)
    ));
    assert!(matches!(
        expect_err(&json_frame("[1,2]")),
        CodecError::Json(_)
    ));
    assert!(matches!(
        expect_err(&json_frame("{\"code\":1} trailing")),
        CodecError::Json(_)
    ));
    assert!(matches!(
        expect_err(&json_frame("{\"code\":99999999999}")),
        CodecError::Json(_)
    ));
    // Invalid UTF-8 in a JSON header and in a binary remark.
    let mut bad = json_frame("{\"remark\":\"xx\"}");
    let at = bad.len() - 3;
    bad[at] = 0xFF;
    assert!(matches!(expect_err(&bad), CodecError::Json(_)));
    let bad_remark = hex("0000001B01000017000100019900000000000000010000000200FF00000000");
    let err = expect_err(&bad_remark[..bad_remark.len()]);
    assert!(
        matches!(err, CodecError::InvalidUtf8 { field: "remark" }),
        "{err}"
    );
}

#[test]
fn truncated_binary_headers_are_typed_errors() {
    let full = encode(&v14_request().with_serialize_type(SerializeType::RocketMq));
    let header_len = u32::from_be_bytes([0, full[5], full[6], full[7]]) as usize;
    // Cut the header short at every position and re-frame it so the frame itself is whole.
    for cut in 0..header_len {
        let mut frame = BytesMut::new();
        frame.put_i32(4 + cut as i32);
        frame.put_i32(0x0100_0000 | cut as i32);
        frame.put_slice(&full[8..8 + cut]);
        let err = expect_err(&frame);
        assert!(
            matches!(
                err,
                CodecError::Truncated { .. } | CodecError::NegativeLength { .. }
            ),
            "cut {cut}: {err}"
        );
    }
    // A negative ext length means no ext fields, as Java reads it.
    let neg = hex("0000001901000015000100019900000000000000000000000080000000");
    assert_eq!(decode(&neg).ext_fields(), None);
}

#[test]
fn partial_frames_wait_for_more_bytes() {
    let frame = encode(&v14_request());
    let mut codec = FrameCodec::default();
    let mut buf = BytesMut::new();
    for (i, byte) in frame.iter().enumerate() {
        buf.put_u8(*byte);
        let out = codec.decode(&mut buf).expect("no error");
        assert_eq!(out.is_some(), i == frame.len() - 1);
    }
}

#[test]
fn max_frame_length_is_enforced_both_ways() {
    let mut codec = FrameCodec::new(64);
    let big = RemotingCommand::request(1).with_body(vec![0u8; 100]);
    let mut dst = BytesMut::new();
    assert!(matches!(
        codec.encode(&big, &mut dst),
        Err(CodecError::FrameTooLarge { .. })
    ));
    assert!(dst.is_empty());
    let frame = encode(&big);
    let mut buf = BytesMut::from(&frame[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(CodecError::FrameTooLarge { .. })
    ));
}

#[test]
fn binary_encode_rejects_values_outside_int16() {
    let cmd = RemotingCommand::request(40_000).with_serialize_type(SerializeType::RocketMq);
    assert!(matches!(
        cmd.encode_to_bytes(),
        Err(CodecError::ValueOutOfRange { field: "code", .. })
    ));
}

#[test]
fn decoded_strings_share_the_frame_buffer() {
    let frame = Bytes::from(encode(&v14_request()));
    let cmd = RemotingCommand::decode_frame(frame.slice(4..)).expect("decodes");
    let topic = cmd.ext_field("b").expect("topic");
    let range = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
    assert!(range.contains(&(topic.as_ptr() as usize)));
}

fn arb_text() -> impl Strategy<Value = String> {
    // Includes control characters, quotes, backslashes and non-ASCII; never empty, since the
    // binary format cannot carry empty strings.
    proptest::string::string_regex("[\\x00-\\x7F\\u{80}-\\u{10FFFF}]{1,24}").expect("regex")
}

fn arb_command() -> impl Strategy<Value = RemotingCommand> {
    (
        any::<i16>(),
        0u8..14,
        any::<i16>(),
        any::<i32>(),
        0i32..4,
        proptest::option::of(arb_text()),
        proptest::option::of(proptest::collection::vec((arb_text(), arb_text()), 1..8)),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(code, lang, version, opaque, flag, remark, ext, body)| {
            let mut cmd = RemotingCommand::request(i32::from(code))
                .with_language(LanguageCode::from_code(lang).unwrap_or_default())
                .with_version(i32::from(version))
                .with_opaque(opaque)
                .with_flag(flag)
                .with_body(body);
            cmd.set_remark(remark);
            if let Some(ext) = ext {
                cmd.set_ext_fields(Some(ext.into_iter().collect::<ExtFields>()));
            }
            cmd
        })
}

proptest! {
    #[test]
    fn json_round_trip(cmd in arb_command()) {
        let back = decode(&encode(&cmd));
        prop_assert_eq!(back, cmd);
    }

    #[test]
    fn binary_round_trip(cmd in arb_command()) {
        let cmd = cmd.with_serialize_type(SerializeType::RocketMq);
        let back = decode(&encode(&cmd));
        prop_assert_eq!(back, cmd);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut codec = FrameCodec::new(1024);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
    }

    #[test]
    fn mutated_frames_never_panic(index in 0usize..400, byte in any::<u8>(), binary in any::<bool>()) {
        let cmd = if binary { v14_request().with_serialize_type(SerializeType::RocketMq) } else { v14_request() };
        let mut frame = encode(&cmd);
        let i = index % frame.len();
        frame[i] = byte;
        let mut buf = BytesMut::from(&frame[..]);
        let _ = FrameCodec::default().decode(&mut buf);
    }
}

#[test]
fn unused_header_trait_methods_compile() {
    let mut ext = ExtFields::new();
    SendMessageRequestHeader::default().write_to(&mut ext);
    assert_eq!(ext.get("defaultTopic"), Some("TBW102"));
}

#[test]
fn ext_entries_are_counted_before_decoding_and_bad_lengths_stop_the_count() {
    let mut ext = BytesMut::new();
    for (key, value) in [("a", "pg"), ("b", "TopicTest"), ("k", "")] {
        ext.put_i16(key.len() as i16);
        ext.put_slice(key.as_bytes());
        ext.put_i32(value.len() as i32);
        ext.put_slice(value.as_bytes());
    }
    assert_eq!(binary::count_entries(&ext), 3);
    assert_eq!(
        binary::count_entries(&ext[..ext.len() - 1]),
        2,
        "nor is a truncated entry"
    );
    assert_eq!(
        binary::count_entries(&ext[..4]),
        0,
        "a truncated key length does not"
    );
    let mut negative = BytesMut::new();
    negative.put_i16(1);
    negative.put_u8(b'a');
    negative.put_i32(-5);
    assert_eq!(binary::count_entries(&negative), 0);
    assert_eq!(
        binary::count_entries(&[0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF]),
        0
    ); // Keyless entries are dropped by the decoder, so they reserve nothing; and no header
    // reserves more than a usual one would.
    assert_eq!(binary::count_entries(&[0u8; 6 * 1000]), 0);
    let many: Vec<u8> = (0..1000).flat_map(|_| [0, 1, b'k', 0, 0, 0, 0]).collect();
    assert_eq!(binary::count_entries(&many), 64);
}

fn send_header() -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: "TopicTest".into(),
        queue_id: 3,
        sys_flag: 1,
        born_timestamp: 1_700_000_000_123,
        properties: Some("UNIQ_KEY\u{1}AB\u{2}WAIT\u{1}true\u{2}".into()),
        reconsume_times: Some(0),
        batch: Some(false),
        broker_name: Some("broker-a".into()),
        ..SendMessageRequestHeader::default()
    }
}

#[test]
fn fast_headers_encode_as_their_maps_do_in_both_shapes_and_serializations() {
    for serialize_type in [SerializeType::Json, SerializeType::RocketMq] {
        let cmd = || {
            RemotingCommand::request(request::SEND_MESSAGE_V2)
                .with_opaque(9)
                .with_serialize_type(serialize_type)
                .with_body(Bytes::from_static(b"body"))
        };
        let v2 = SendMessageRequestHeaderV2(send_header());
        assert_eq!(
            cmd()
                .with_fast_header(v2.clone())
                .encode_to_bytes()
                .expect("encodes"),
            cmd().with_header(v2).encode_to_bytes().expect("encodes"),
        );
        assert_eq!(
            cmd()
                .with_fast_header(send_header())
                .encode_to_bytes()
                .expect("encodes"),
            cmd()
                .with_header(send_header())
                .encode_to_bytes()
                .expect("encodes"),
        );
    }
}

#[test]
fn a_fast_header_becomes_entries_when_read_or_changed() {
    let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2)
        .with_fast_header(SendMessageRequestHeaderV2(send_header()));
    let clone = cmd.clone();
    assert_eq!(cmd.ext_field("g"), Some("1700000000123"));
    assert_eq!(
        cmd.decode_header::<SendMessageRequestHeaderV2>()
            .expect("reads back")
            .0,
        send_header()
    );
    // A hook adding a field: the header's fields keep their order, the new one follows.
    cmd.add_ext_field("AccessKey", "ak");
    let keys: Vec<&str> = cmd
        .ext_fields()
        .expect("a map")
        .iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        [
            "a",
            "b",
            "c",
            "d",
            "e",
            "f",
            "g",
            "h",
            "i",
            "j",
            "m",
            "n",
            "AccessKey"
        ]
    );
    assert_eq!(
        clone.ext_fields().map(ExtFields::len),
        Some(12),
        "clones are unaffected"
    );
    assert_ne!(clone, cmd);
    // A fast header over an existing map merges into it, as `with_header` does.
    let merged = RemotingCommand::request(request::SEND_MESSAGE_V2)
        .with_ext_field("b", "old")
        .with_ext_field("x", "1")
        .with_fast_header(SendMessageRequestHeaderV2(send_header()));
    assert_eq!(merged.ext_field("b"), Some("TopicTest"));
    assert_eq!(merged.ext_field("x"), Some("1"));
}

//! Field parsing rules shared by every typed header.

use super::*;
use crate::ExtFields;

#[test]
fn missing_and_invalid_fields_name_the_header_and_field() {
    let ext: ExtFields = [("msgId", "X"), ("queueId", "one")].into_iter().collect();
    let err = SendMessageResponseHeader::read_from(&ext).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "SendMessageResponseHeader: field queueId has the invalid value \"one\""
    );
    let ext: ExtFields = [("msgId", "X"), ("queueId", "1")].into_iter().collect();
    let err = SendMessageResponseHeader::read_from(&ext).expect_err("missing");
    assert_eq!(
        err,
        HeaderError::Missing {
            header: "SendMessageResponseHeader",
            field: "queueOffset"
        }
    );
}

#[test]
fn booleans_follow_java_parse_boolean() {
    let ext: ExtFields = [("a", "TRUE"), ("b", "yes"), ("c", "false")]
        .into_iter()
        .collect();
    assert_eq!(optional::<bool>(&ext, "H", "a"), Ok(Some(true)));
    assert_eq!(optional::<bool>(&ext, "H", "b"), Ok(Some(false)));
    assert_eq!(optional::<bool>(&ext, "H", "c"), Ok(Some(false)));
}

#[test]
fn trace_on_and_region_follow_process_send_response() {
    let base = [("msgId", "X"), ("queueId", "1"), ("queueOffset", "2")];
    let read = |extra: &[(&'static str, &'static str)]| {
        let ext: ExtFields = base.iter().chain(extra).copied().collect();
        SendMessageResponseHeader::read_from(&ext).expect("reads")
    };
    assert!(read(&[]).trace_on);
    assert!(read(&[("TRACE_ON", "garbage")]).trace_on);
    assert!(!read(&[("TRACE_ON", "false")]).trace_on);
    assert_eq!(read(&[("MSG_REGION", "")]).region_id, None);
    assert_eq!(
        read(&[("MSG_REGION", "r1")]).region_id.as_deref(),
        Some("r1")
    );
}

#[test]
fn v1_and_v2_send_headers_round_trip_through_each_shape() {
    let header = SendMessageRequestHeader {
        producer_group: "pg".into(),
        topic: "%RETRY%g".into(),
        queue_id: -1,
        properties: Some("a\u{1}b".into()),
        reconsume_times: Some(3),
        max_reconsume_times: Some(16),
        unit_mode: Some(false),
        batch: Some(true),
        broker_name: Some("broker-a".into()),
        ..SendMessageRequestHeader::default()
    };
    let mut v1 = ExtFields::new();
    header.write_to(&mut v1);
    assert_eq!(v1.get("maxReconsumeTimes"), Some("16"));
    assert_eq!(v1.get("bname"), Some("broker-a"));
    assert_eq!(SendMessageRequestHeader::read_from(&v1), Ok(header.clone()));
    let mut v2 = ExtFields::new();
    SendMessageRequestHeaderV2(header.clone()).write_to(&mut v2);
    let letters: String = v2.iter().map(|(k, _)| k).collect();
    assert_eq!(letters, "abcdefghijklmn");
    assert_eq!(
        SendMessageRequestHeaderV2::read_from(&v2).map(|h| h.0),
        Ok(header)
    );
}

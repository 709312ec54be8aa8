//! Typed headers read from a received frame's ext fields (send, send response, route query,
//! unregister, end transaction, check transaction state): reading never panics.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rmq_remoting::FrameCodec;
use rmq_remoting::header::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader, GetRouteInfoRequestHeader,
    RecallMessageRequestHeader, RecallMessageResponseHeader, ReplyMessageRequestHeader,
    SendMessageRequestHeader, SendMessageResponseHeader, UnregisterClientRequestHeader,
};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    let Ok(Some(cmd)) = FrameCodec::new(64 * 1024).decode(&mut buf) else {
        return;
    };
    let _ = cmd.decode_header::<SendMessageResponseHeader>();
    let _ = cmd.decode_header::<GetRouteInfoRequestHeader>();
    let _ = cmd.decode_header::<UnregisterClientRequestHeader>();
    let _ = cmd.decode_header::<EndTransactionRequestHeader>();
    let _ = cmd.decode_header::<ReplyMessageRequestHeader>();
    let _ = cmd.decode_header::<RecallMessageRequestHeader>();
    let _ = cmd.decode_header::<RecallMessageResponseHeader>();
    let _ = cmd.decode_header::<CheckTransactionStateRequestHeader>();
    if let Some(ext) = cmd.ext_fields() {
        let _ = SendMessageRequestHeader::read_for_code(cmd.code(), ext);
    }
});
